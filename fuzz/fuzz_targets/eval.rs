//! Any text analyses to a value or an error, within small limits, and any value
//! either prints as JSON or reports why it cannot.

#![no_main]

use std::io;
use std::path::Path;

use hac_lang::{Limits, Loader, analyze};
use libfuzzer_sys::fuzz_target;

const ROOT: &str = "/fuzz/main.hac";

/// Serves only the fuzzed text; every other file is missing.
struct OneFile<'a>(&'a str);

impl Loader for OneFile<'_> {
    fn read(&self, path: &Path) -> io::Result<String> {
        if path == Path::new(ROOT) {
            Ok(self.0.to_string())
        } else {
            Err(io::Error::new(io::ErrorKind::NotFound, "not in the fuzz input"))
        }
    }

    fn exists(&self, path: &Path) -> bool {
        path == Path::new(ROOT)
    }
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let limits = Limits {
        max_depth: 500,
        max_steps: 100_000,
        max_bytes: 16 << 20,
    };
    let analysis = analyze(&OneFile(text), Path::new(ROOT), &limits);
    assert!(analysis.value.is_some() != analysis.has_errors());
    if let Some(value) = &analysis.value {
        let _ = hac_lang::json::to_json(value);
    }
});
