//! Values as JSON, exactly as `nix-instantiate --eval --strict --json` and
//! `builtins.toJSON` print them: compact, keys sorted byte-wise, Nix's escaping.

use crate::codes;
use crate::diagnostic::Diagnostic;
use crate::value::{Value, ValueKind};

/// The JSON text of `value`. Functions have no JSON form.
///
/// A path prints as its absolute path. Nix would first copy the file into its store
/// and print the store path; hac never copies files, so it prints the real path.
pub fn to_json(value: &Value) -> Result<String, Diagnostic> {
    to_json_within(value, u64::MAX)
}

/// [`to_json`], refusing with a `budget_exceeded` diagnostic (at the value that
/// does not fit) to build a text longer than `max_len` bytes.
pub fn to_json_within(value: &Value, max_len: u64) -> Result<String, Diagnostic> {
    let mut out = String::new();
    write_value(&mut out, value, max_len)?;
    Ok(out)
}

fn too_long(value: &Value, max_len: u64) -> Diagnostic {
    too_long_at(value.origin, max_len)
}

/// The diagnostic for a JSON text that passed `max_len` bytes at the value made at
/// `origin`.
pub(crate) fn too_long_at(origin: crate::span::Origin, max_len: u64) -> Diagnostic {
    Diagnostic::error(
        codes::BUDGET_EXCEEDED,
        format!(
            "the JSON text of the value does not fit in the memory budget (about {} left)",
            crate::eval::about_bytes(max_len)
        ),
    )
    .with_primary(origin.file, origin.span, "the text was this long by here")
    .with_help("look for a value that repeats a large part many times; the limit keeps a runaway file from exhausting memory")
}

fn write_value(out: &mut String, value: &Value, max_len: u64) -> Result<(), Diagnostic> {
    if out.len() as u64 > max_len {
        return Err(too_long(value, max_len));
    }
    match &value.kind {
        ValueKind::Null => out.push_str("null"),
        ValueKind::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        ValueKind::Int(i) => write_int(out, *i),
        ValueKind::String(s) => write_string(out, s),
        ValueKind::Path(p) => write_string(out, &p.to_string_lossy()),
        ValueKind::List(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_value(out, item, max_len)?;
            }
            out.push(']');
        }
        ValueKind::Attrs(attrs) => {
            // Like Nix, a set with `outPath` stands for that path.
            if let Some(out_path) = attrs.get("outPath") {
                return write_value(out, &out_path.value, max_len);
            }
            out.push('{');
            for (i, (name, attr)) in attrs.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_string(out, name);
                out.push(':');
                write_value(out, &attr.value, max_len)?;
            }
            out.push('}');
        }
        ValueKind::Function => return Err(function_at(value.origin)),
    }
    if out.len() as u64 > max_len {
        return Err(too_long(value, max_len));
    }
    Ok(())
}

/// The diagnostic for a function met in a value printed as JSON.
pub(crate) fn function_at(origin: crate::span::Origin) -> Diagnostic {
    Diagnostic::error(
        codes::NOT_REPRESENTABLE,
        "cannot convert a function to JSON",
    )
    .with_primary(origin.file, origin.span, "this function has no JSON form")
    .with_help("call the function, or remove it from the value")
}

pub(crate) fn write_int(out: &mut String, i: i64) {
    crate::eval::push_int(out, i);
}

/// Nix escapes `"`, `\`, newline, carriage return and tab by name and every other
/// control character as `\u00XX`; everything else, including non-ASCII, is literal.
pub(crate) fn write_string(out: &mut String, text: &str) {
    out.push('"');
    // Runs of characters that need no escape are copied whole.
    let mut plain = 0;
    for (at, byte) in text.bytes().enumerate() {
        let escaped = match byte {
            b'"' => "\\\"",
            b'\\' => "\\\\",
            b'\n' => "\\n",
            b'\r' => "\\r",
            b'\t' => "\\t",
            0..0x20 => "",
            _ => continue,
        };
        out.push_str(&text[plain..at]);
        if escaped.is_empty() {
            use std::fmt::Write;
            let _ = write!(out, "\\u{byte:04x}");
        } else {
            out.push_str(escaped);
        }
        plain = at + 1;
    }
    out.push_str(&text[plain..]);
    out.push('"');
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::span::Origin;
    use crate::value::{Attr, Attrs};

    fn v(kind: ValueKind) -> Value {
        Value {
            kind,
            origin: Origin::default(),
        }
    }

    #[test]
    fn refuses_text_longer_than_the_budget() {
        let s = v(ValueKind::String("\t".repeat(600)));
        let list = v(ValueKind::List(vec![s.clone(), s]));
        assert_eq!(to_json_within(&list, 2_500).unwrap().len(), 2_407);
        let err = to_json_within(&list, 2_000).unwrap_err();
        assert_eq!(err.code, codes::BUDGET_EXCEEDED);
    }

    #[test]
    fn escapes_like_nix() {
        // From `nix-instantiate --eval --strict --json` on a string holding these bytes.
        let s = v(ValueKind::String("a\u{1}b\u{7f}c\u{1f}\"\\\n\r\té/".into()));
        assert_eq!(
            to_json(&s).unwrap(),
            "\"a\\u0001b\u{7f}c\\u001f\\\"\\\\\\n\\r\\té/\""
        );
    }

    #[test]
    fn sorts_keys_and_is_compact() {
        let mut attrs = Attrs::new();
        for (name, n) in [("b", 1), ("a", 2), ("B", 3)] {
            attrs.insert(
                name.into(),
                Attr {
                    name_origin: Origin::default(),
                    value: v(ValueKind::Int(n)),
                },
            );
        }
        let list = v(ValueKind::List(vec![
            v(ValueKind::Attrs(attrs)),
            v(ValueKind::Null),
            v(ValueKind::Bool(false)),
            v(ValueKind::Int(-5)),
            v(ValueKind::Path("/a/b".into())),
        ]));
        assert_eq!(
            to_json(&list).unwrap(),
            r#"[{"B":3,"a":2,"b":1},null,false,-5,"/a/b"]"#
        );
    }

    #[test]
    fn functions_are_not_representable() {
        let err = to_json(&v(ValueKind::List(vec![v(ValueKind::Function)]))).unwrap_err();
        assert_eq!(err.code, codes::NOT_REPRESENTABLE);
    }
}
