//! Documentation of builtins, taken from their sections in `docs/language.md`, which
//! is the one place they are written.

const LANGUAGE_DOCS: &str = include_str!("../../../docs/language.md");

/// The section of `docs/language.md` for `builtins.<name>` (or `builtins` itself),
/// without its heading.
pub fn builtin_doc(name: &str) -> Option<&'static str> {
    let heading = if name == "builtins" {
        "\n### builtins\n".to_owned()
    } else {
        format!("\n### builtins.{name}\n")
    };
    let start = LANGUAGE_DOCS.find(&heading)? + heading.len();
    let rest = &LANGUAGE_DOCS[start..];
    let end = rest
        .find("\n## ")
        .into_iter()
        .chain(rest.find("\n### "))
        .min();
    Some(rest[..end.unwrap_or(rest.len())].trim())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_builtin_and_global_is_documented() {
        for name in hac_lang::names::BUILTINS
            .iter()
            .chain(hac_lang::names::GLOBALS)
        {
            let doc = builtin_doc(name).unwrap_or_else(|| panic!("no docs for `{name}`"));
            assert!(!doc.is_empty() && !doc.contains("\n### "), "{name}: {doc}");
        }
        assert!(
            builtin_doc("length")
                .unwrap()
                .starts_with("`builtins.length")
        );
        assert_eq!(builtin_doc("fetchurl"), None);
    }
}
