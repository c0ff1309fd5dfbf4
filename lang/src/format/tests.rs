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
