//! Every diagnostic code the language can produce, in one auditable table.
//!
//! Codes are stable: tools and editors match on them. Each one has an entry in
//! `docs/diagnostics.md` and at least one UI test under `tests/ui/`; a test checks both.

macro_rules! codes {
    ($( $(#[$doc:meta])* $name:ident = $code:literal : $summary:literal; )*) => {
        $( $(#[$doc])* pub const $name: &str = $code; )*
        /// `(code, one-line summary)` for every code above, in declaration order.
        pub const ALL: &[(&str, &str)] = &[ $( ($code, $summary) ),* ];
    };
}

codes! {
    // Syntax: produced by the parser, which recovers and reports every independent error.
    UNEXPECTED_TOKEN = "hac::parse::unexpected_token": "a token that cannot appear here";
    MISSING_TOKEN = "hac::parse::missing_token": "a required token (`;`, `}`, `in`, `then`…) is missing";
    UNTERMINATED_STRING = "hac::parse::unterminated_string": "a string or indented string has no closing quote";
    UNTERMINATED_COMMENT = "hac::parse::unterminated_comment": "a `/*` comment has no closing `*/`";
    INVALID_ESCAPE = "hac::parse::invalid_escape": "an escape sequence the language does not define";
    FLOAT_UNSUPPORTED = "hac::parse::float_unsupported": "a floating-point literal; hac has integers only";
    WITH_UNSUPPORTED = "hac::parse::with_unsupported": "a `with` expression, deliberately not supported";
    UNSUPPORTED_SYNTAX = "hac::parse::unsupported_syntax": "Nix syntax outside hac's subset (search paths, URIs, `~/` paths…)";
    INTEGER_TOO_LARGE = "hac::parse::integer_too_large": "an integer literal that does not fit in 64 bits";
    NESTING_TOO_DEEP = "hac::parse::nesting_too_deep": "expressions nested deeper than the parser allows";

    // Static checks on the syntax tree, before evaluation.
    DUPLICATE_ATTRIBUTE = "hac::check::duplicate_attribute": "the same attribute defined twice in one set";
    REC_SET_MERGE = "hac::check::rec_set_merge": "attributes merged into a `rec` set from outside its braces";
    DUPLICATE_PARAMETER = "hac::check::duplicate_parameter": "a function pattern names the same argument twice";
    UNDEFINED_VARIABLE = "hac::check::undefined_variable": "a name that no `let`, argument or builtin defines";

    // Evaluation: the first error stops evaluation, as in Nix.
    TYPE_MISMATCH = "hac::eval::type_mismatch": "a value of the wrong type for an operation";
    MISSING_ATTRIBUTE = "hac::eval::missing_attribute": "selecting an attribute the set does not have";
    NOT_A_FUNCTION = "hac::eval::not_a_function": "calling something that is not a function";
    MISSING_ARGUMENT = "hac::eval::missing_argument": "a function called without an argument it requires";
    UNEXPECTED_ARGUMENT = "hac::eval::unexpected_argument": "a function called with an argument it does not accept";
    INFINITE_RECURSION = "hac::eval::infinite_recursion": "a value that depends on itself";
    IMPORT_CYCLE = "hac::eval::import_cycle": "files that import each other in a cycle";
    FILE_NOT_FOUND = "hac::eval::file_not_found": "`import` or `readFile` of a file that cannot be read";
    FILE_REFUSED = "hac::eval::file_refused": "`import` or `readFile` of a file outside the project, a secret or a kernel interface";
    ASSERTION_FAILED = "hac::eval::assertion_failed": "an `assert` whose condition is false";
    THROW = "hac::eval::throw": "`throw` called with the user's message";
    ABORT = "hac::eval::abort": "`abort` called with the user's message";
    INTEGER_OVERFLOW = "hac::eval::integer_overflow": "integer arithmetic outside the 64-bit range";
    DIVISION_BY_ZERO = "hac::eval::division_by_zero": "division by zero";
    INDEX_OUT_OF_BOUNDS = "hac::eval::index_out_of_bounds": "a list index or `head`/`tail` of an empty list";
    INVALID_ARGUMENT = "hac::eval::invalid_argument": "a builtin given a value it cannot work with";
    NOT_REPRESENTABLE = "hac::eval::not_representable": "a function where a plain value (JSON, string) is needed";
    RECURSION_TOO_DEEP = "hac::eval::recursion_too_deep": "evaluation nested deeper than the depth limit";
    BUDGET_EXCEEDED = "hac::eval::budget_exceeded": "evaluation took more steps or memory than allowed";
    TRACE = "hac::eval::trace": "a message from `builtins.trace` (advice)";

    // Not about the file: hac itself failed.
    INTERNAL_ERROR = "hac::internal_error": "a bug in hac itself, not in the file; please report it";
}

#[cfg(test)]
mod tests {
    #[test]
    fn codes_are_unique_and_well_formed() {
        let mut seen = std::collections::HashSet::new();
        for (code, summary) in super::ALL {
            assert!(seen.insert(code), "{code} twice");
            assert!(code.starts_with("hac::"), "{code}");
            assert!(!summary.is_empty());
        }
    }
}
