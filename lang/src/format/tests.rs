use super::*;

fn fmt(text: &str) -> String {
    match format(FileId(0), text) {
        Ok(formatted) => formatted,
        Err(errors) => panic!("{text:?} does not parse: {errors:?}"),
    }
}

#[test]
fn short_one_line_collections_stay_on_one_line() {
    assert_eq!(fmt("{a=1;b=[1 2];}"), "{ a = 1; b = [ 1 2 ]; }\n");
    assert_eq!(fmt("[  ]"), "[ ]\n");
    assert_eq!(fmt("{}"), "{ }\n");
}

#[test]
fn collections_written_on_several_lines_stay_so() {
    assert_eq!(fmt("{ a = 1;\n b = 2; }"), "{\n  a = 1;\n  b = 2;\n}\n");
}

#[test]
fn long_lists_break_one_item_per_line() {
    let item = format!("\"{}\"", "x".repeat(40));
    let text = format!("[ {item} {item} {item} ]");
    assert_eq!(fmt(&text), format!("[\n  {item}\n  {item}\n  {item}\n]\n"));
}

#[test]
fn let_is_always_broken() {
    assert_eq!(fmt("let a = 1; in a"), "let\n  a = 1;\nin\na\n");
}

#[test]
fn operators_and_functions_are_spaced() {
    assert_eq!(
        fmt("x:{a?1,...}@args: x+ -1*2 ++[(!true)]"),
        "x: { a ? 1, ... }@args: x + -1 * 2 ++ [ (!true) ]\n"
    );
    assert_eq!(fmt("a.b.\"c d\" or 3"), "a.b.\"c d\" or 3\n");
    assert_eq!(fmt("x ? a.b"), "x ? a.b\n");
}

#[test]
fn comments_keep_their_places() {
    let text = "# head\n\n{\n  a = 1; # after a\n\n\n  # before b\n  b /* odd */ = 2;\n  # last\n}\n# tail\n";
    assert_eq!(
        fmt(text),
        "# head\n\n{\n  a = 1; # after a\n\n  # before b\n  b /* odd */ = 2;\n  # last\n}\n# tail\n"
    );
}

#[test]
fn comments_after_code_stay_after_it() {
    assert_eq!(fmt("f # first\n 1"), "f # first\n  1\n");
    assert_eq!(fmt("{ a, ... }: /* c */ (a)"), "{ a, ... }: /* c */ (a)\n");
    assert_eq!(fmt("x: y: # c\n x"), "x: y: # c\n  x\n");
}

#[test]
fn long_curried_parameters_break_one_per_line() {
    let name = |c: char| c.to_string().repeat(25);
    let (a, b, c, d) = (name('a'), name('b'), name('c'), name('d'));
    assert_eq!(
        fmt(&format!("{a}: {b}: {c}: {d}: [ {a} ]")),
        format!("{a}:\n  {b}:\n  {c}:\n  {d}: [ {a} ]\n")
    );
    assert_eq!(
        fmt(&format!("{a}: {b}: {c}: {d}: {{\n x = {a}; }}")),
        format!("{a}:\n  {b}:\n  {c}:\n  {d}: {{\n    x = {a};\n  }}\n")
    );
}

#[test]
fn strings_are_kept_byte_for_byte() {
    let text = "{\n  s = ''\n      a\n    b ${ \"x\" }\n  '';\n  p = ./a/b.hac;\n}\n";
    assert_eq!(fmt(text), text);
}

#[test]
fn syntax_errors_are_returned() {
    let errors = format(FileId(0), "{ a = ; }").unwrap_err();
    assert!(!errors.is_empty());
    assert!(errors.iter().all(Diagnostic::is_error));
}

mod generated {
    //! Random programs, with comments and line breaks between any two tokens, stay
    //! the same program when formatted, keep their comments (each still first on its
    //! line, or still after code), and format idempotently.

    use proptest::prelude::*;

    use super::*;
    use crate::syntax;

    /// Whitespace or a comment between two tokens.
    fn trivia() -> impl Strategy<Value = &'static str> {
        prop_oneof![
            6 => Just(" "),
            2 => Just("\n  "),
            1 => Just("\n\n"),
            1 => Just(" # line\n"),
            1 => Just("\n# own line\n"),
            1 => Just(" /* block */ "),
            1 => Just("/*\n multi-line block\n*/"),
        ]
    }

    fn leaf() -> impl Strategy<Value = String> {
        prop_oneof![
            (0..1000i64).prop_map(|n| n.to_string()),
            prop::sample::select(vec!["a", "b", "x1", "true", "null"]).prop_map(String::from),
            Just("\"s${a}t\"".to_string()),
            Just("''\n    ind ${b}\n  ''".to_string()),
            Just("./p/q.hac".to_string()),
        ]
    }

    /// Joins tokens with random trivia.
    fn tokens(parts: Vec<String>) -> impl Strategy<Value = String> {
        let count = parts.len();
        prop::collection::vec(trivia(), count).prop_map(move |gaps| {
            let mut text = String::new();
            for (part, gap) in parts.iter().zip(gaps) {
                text.push_str(part);
                text.push_str(gap);
            }
            text
        })
    }

    fn expr() -> impl Strategy<Value = String> {
        leaf().prop_recursive(4, 40, 4, |inner| {
            let p = move || inner.clone().prop_map(|e| format!("({e})"));
            let s = |t: &str| t.to_string();
            prop_oneof![
                prop::collection::vec(p(), 0..4).prop_flat_map(move |items| {
                    let mut parts = vec![s("[")];
                    parts.extend(items);
                    parts.push(s("]"));
                    tokens(parts)
                }),
                (p(), p()).prop_flat_map(move |(a, b)| {
                    tokens(vec![
                        s("{"),
                        s("a"),
                        s("="),
                        a,
                        s(";"),
                        s("b"),
                        s("."),
                        s("c"),
                        s("="),
                        b,
                        s(";"),
                        s("inherit"),
                        s("x"),
                        s(";"),
                        s("}"),
                    ])
                }),
                (p(), p()).prop_flat_map(move |(a, b)| {
                    tokens(vec![s("let"), s("a"), s("="), a, s(";"), s("in"), b])
                }),
                (
                    p(),
                    p(),
                    prop::sample::select(vec!["+", "++", "//", "==", "&&", "-"])
                )
                    .prop_flat_map(move |(a, b, op)| tokens(vec![a, s(op), b])),
                (p(), p()).prop_flat_map(move |(a, b)| tokens(vec![a, b])),
                p().prop_flat_map(move |a| tokens(vec![s("x"), s(":"), a])),
                p().prop_flat_map(move |a| tokens(vec![s("x"), s(":"), s("y"), s(":"), a])),
                (p(), p()).prop_flat_map(move |(a, b)| {
                    tokens(vec![
                        s("{"),
                        s("a"),
                        s(","),
                        s("b"),
                        s("?"),
                        a,
                        s(","),
                        s("..."),
                        s("}"),
                        s(":"),
                        b,
                    ])
                }),
                (p(), p(), p()).prop_flat_map(move |(a, b, c)| {
                    tokens(vec![s("if"), a, s("then"), b, s("else"), c])
                }),
                (p(), p())
                    .prop_flat_map(move |(a, b)| { tokens(vec![a, s("."), s("k"), s("or"), b]) }),
                p().prop_flat_map(move |a| tokens(vec![a, s("?"), s("k")])),
                p().prop_flat_map(move |a| tokens(vec![s("-"), a])),
                (p(), p()).prop_flat_map(move |(a, b)| { tokens(vec![s("assert"), a, s(";"), b]) }),
            ]
        })
    }

    /// Each comment's text and whether it is first on its line: a comment that
    /// followed code still follows code, one that started a line still starts one.
    fn comment_texts(text: &str) -> Vec<(String, bool)> {
        syntax::parse(FileId(0), text)
            .comments
            .iter()
            .map(|c| {
                let before = &text[..c.span.start as usize];
                let line_start = before.rfind('\n').map_or(0, |n| n + 1);
                let first_on_line = before[line_start..].trim().is_empty();
                (text[c.span.range()].trim_end().to_string(), first_on_line)
            })
            .collect()
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(300))]

        #[test]
        fn formatting_keeps_the_program(body in expr(), lead in trivia(), tail in trivia()) {
            let text = format!("{lead}{body}{tail}");
            let parse = syntax::parse(FileId(0), &text);
            prop_assume!(parse.diagnostics.is_empty());
            let formatted = format(FileId(0), &text).expect("it parses");
            let reparsed = syntax::parse(FileId(0), &formatted);
            prop_assert!(reparsed.diagnostics.is_empty(), "{formatted}");
            prop_assert_eq!(without_spans(&reparsed.expr), without_spans(&parse.expr));
            prop_assert_eq!(comment_texts(&formatted), comment_texts(&text));
            prop_assert_eq!(format(FileId(0), &formatted).expect("it parses"), formatted);
        }
    }
}
