//! JSON output of values (implemented on the evaluator branch).
use crate::diagnostic::Diagnostic;
use crate::value::Value;

pub fn to_json(value: &Value) -> Result<String, Diagnostic> {
    let _ = value;
    Ok(String::new())
}
