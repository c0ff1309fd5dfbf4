//! Any text parses to a tree plus diagnostics whose spans lie inside the text.

#![no_main]

use hac_lang::{FileId, syntax};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let parse = syntax::parse(FileId(0), text);
    for diagnostic in &parse.diagnostics {
        for label in &diagnostic.labels {
            let span = label.origin.span.range();
            assert!(span.start <= span.end && span.end <= text.len());
            assert!(text.is_char_boundary(span.start) && text.is_char_boundary(span.end));
        }
    }
});
