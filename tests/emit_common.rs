//! Helpers shared by the `emit_*` test suites: finding the real Debian tools
//! they drive, and reading YAML back with PyYAML.
#![allow(dead_code)]

use std::io::Write;
use std::path::Path;
use std::process::{Command, Output, Stdio};

use serde_json::Value;

/// Debian's Python, which has PyYAML when `python3-yaml` is installed (a
/// `python3` earlier on PATH may be another one without it).
pub const DEBIAN_PYTHON: &str = "/usr/bin/python3";

/// `program` (an absolute path or a name on PATH), or a failure that says
/// which Debian package provides it.
pub fn require(program: &str, package: &str) -> String {
    let found = if program.contains('/') {
        Path::new(program).is_file()
    } else {
        Command::new("sh")
            .args(["-c", "command -v \"$1\" >/dev/null", "sh", program])
            .status()
            .is_ok_and(|status| status.success())
    };
    assert!(
        found,
        "`{program}` is missing: install the Debian package `{package}` (scripts/test installs it)"
    );
    program.to_string()
}

/// Runs `program args…` with `stdin` as input.
pub fn run_with_input(program: &str, args: &[&str], stdin: &[u8]) -> Output {
    let mut child = Command::new(program)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|error| panic!("cannot start `{program}`: {error}"));
    child
        .stdin
        .take()
        .expect("stdin is piped")
        .write_all(stdin)
        .expect("write stdin");
    child.wait_with_output().expect("wait for the child")
}

pub fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// Loads every YAML text with PyYAML's `yaml.safe_load` (what cloud-init uses)
/// and returns the results as JSON. Values JSON cannot express (dates, NaN,
/// infinities, byte strings) come back as `{"python": "<repr>"}`, so they can
/// never be mistaken for the intended value.
pub fn pyyaml_load(texts: &[String]) -> Vec<Value> {
    const LOADER: &str = r#"
import json, math, sys
try:
    import yaml
except ImportError:
    sys.exit("PyYAML is missing: install the Debian package python3-yaml")

def plain(value):
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return value
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else {"python": repr(value)}
    if isinstance(value, list):
        return [plain(item) for item in value]
    if isinstance(value, dict):
        if not all(isinstance(key, str) for key in value):
            return {"python": repr(value)}
        return {key: plain(item) for key, item in value.items()}
    return {"python": repr(value)}

texts = json.load(sys.stdin)
json.dump([plain(yaml.safe_load(text)) for text in texts], sys.stdout)
"#;
    let python = require(DEBIAN_PYTHON, "python3");
    let input = serde_json::to_vec(texts).expect("texts as JSON");
    let output = run_with_input(&python, &["-c", LOADER], &input);
    assert!(
        output.status.success(),
        "PyYAML could not load the YAML: {}",
        text(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).expect("the loader prints JSON")
}
