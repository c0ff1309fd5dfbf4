//! Parser tests. Trees are compared through a compact S-expression rendering so that
//! precedence and associativity are visible at a glance.

use super::*;
use crate::ast::{AttrName, Binding, ExprKind, Param, StrPart, UnaryOp};
use crate::codes;
use crate::span::Span;

pub(crate) fn sexp(e: &Expr) -> String {
    match &e.kind {
        ExprKind::Int(n) => n.to_string(),
        ExprKind::Str { parts, .. } => {
            let rendered: Vec<String> = parts
                .iter()
                .map(|p| match p {
                    StrPart::Literal(text) => format!("{text:?}"),
                    StrPart::Interpolation(e) => format!("${{{}}}", sexp(e)),
                })
                .collect();
            format!("(str {})", rendered.join(" "))
        }
        ExprKind::Path(p) => format!("(path {p})"),
        ExprKind::Var(ident) => ident.name.clone(),
        ExprKind::Paren(e) => format!("(paren {})", sexp(e)),
        ExprKind::List(items) => {
            let items: Vec<String> = items.iter().map(sexp).collect();
            format!("[{}]", items.join(" "))
        }
        ExprKind::AttrSet {
            recursive,
            bindings,
        } => format!(
            "({}{})",
            if *recursive { "rec" } else { "set" },
            render_bindings(bindings)
        ),
        ExprKind::Let { bindings, body } => {
            format!("(let{} in {})", render_bindings(bindings), sexp(body))
        }
        ExprKind::Select {
            expr,
            path,
            default,
        } => match default {
            Some(d) => format!("(. {} {} or {})", sexp(expr), render_path(path), sexp(d)),
            None => format!("(. {} {})", sexp(expr), render_path(path)),
        },
        ExprKind::HasAttr { expr, path } => format!("(? {} {})", sexp(expr), render_path(path)),
        ExprKind::Apply { func, arg } => format!("(app {} {})", sexp(func), sexp(arg)),
        ExprKind::Lambda { param, body } => {
            let param = match param {
                Param::Ident(ident) => ident.name.clone(),
                Param::Pattern {
                    entries,
                    ellipsis,
                    bind,
                    ..
                } => {
                    let mut names: Vec<String> = entries
                        .iter()
                        .map(|e| match &e.default {
                            Some(d) => format!("{}?{}", e.name.name, sexp(d)),
                            None => e.name.name.clone(),
                        })
                        .collect();
                    if *ellipsis {
                        names.push("...".into());
                    }
                    let bind = bind
                        .as_ref()
                        .map_or(String::new(), |b| format!("{}@", b.name));
                    format!("{bind}{{{}}}", names.join(","))
                }
            };
            format!("(fn {param} {})", sexp(body))
        }
        ExprKind::If { cond, then, else_ } => {
            format!("(if {} {} {})", sexp(cond), sexp(then), sexp(else_))
        }
        ExprKind::Assert { cond, body } => format!("(assert {} {})", sexp(cond), sexp(body)),
        ExprKind::Unary { op, expr, .. } => {
            let op = match op {
                UnaryOp::Neg => "neg",
                UnaryOp::Not => "!",
            };
            format!("({op} {})", sexp(expr))
        }
        ExprKind::Binary { op, lhs, rhs, .. } => {
            format!("({} {} {})", op.symbol(), sexp(lhs), sexp(rhs))
        }
        ExprKind::Error => "<error>".to_string(),
    }
}

fn render_path(path: &[AttrName]) -> String {
    path.iter()
        .map(|name| match name {
            AttrName::Ident(ident) => ident.name.clone(),
            AttrName::Str(e) => sexp(e),
            AttrName::Dynamic(e) => format!("${{{}}}", sexp(e)),
        })
        .collect::<Vec<_>>()
        .join(".")
}

fn render_bindings(bindings: &[Binding]) -> String {
    bindings
        .iter()
        .map(|b| match b {
            Binding::Attr { path, value, .. } => {
                format!(" {}={}", render_path(path), sexp(value))
            }
            Binding::Inherit { from, names, .. } => {
                let names: Vec<&str> = names.iter().map(|n| n.name.as_str()).collect();
                match from {
                    Some(from) => format!(" inherit({}) {}", sexp(from), names.join(" ")),
                    None => format!(" inherit {}", names.join(" ")),
                }
            }
        })
        .collect()
}

fn parse_text(text: &str) -> Parse {
    parse(FileId(0), text)
}

/// Parses `text`, asserting it has no diagnostics, and renders the tree.
#[track_caller]
fn ok(text: &str) -> String {
    let parse = parse_text(text);
    assert!(
        parse.diagnostics.is_empty(),
        "unexpected diagnostics for {text:?}: {:#?}",
        parse.diagnostics
    );
    check_spans(text, &parse.expr);
    sexp(&parse.expr)
}

/// `(code, primary span text, primary span)` for every diagnostic.
fn errors(text: &str) -> Vec<(&'static str, String, Span)> {
    let parse = parse_text(text);
    parse
        .diagnostics
        .iter()
        .map(|d| {
            let label = d.primary().expect("every diagnostic has a primary label");
            let span = label.origin.span;
            (d.code, text[span.range()].to_string(), span)
        })
        .collect()
}

fn codes_of(text: &str) -> Vec<&'static str> {
    errors(text).into_iter().map(|(code, ..)| code).collect()
}

/// Spans never include leading or trailing whitespace and nest properly.
fn check_spans(text: &str, e: &Expr) {
    let covered = &text[e.span.range()];
    assert_eq!(covered.trim(), covered, "span {:?} has trivia", e.span);
}

#[test]
fn literals_and_variables() {
    assert_eq!(ok("42"), "42");
    assert_eq!(ok("  x  "), "x");
    assert_eq!(ok("9223372036854775807"), "9223372036854775807");
    assert_eq!(ok("./a/b.hac"), "(path ./a/b.hac)");
    assert_eq!(ok("a/b"), "(path a/b)");
    assert_eq!(ok("/abs/x"), "(path /abs/x)");
    assert_eq!(ok("../x"), "(path ../x)");
    assert_eq!(ok("true"), "true");
    assert_eq!(ok("a-b'"), "a-b'");
}

#[test]
fn spans_are_exact() {
    let parse = parse_text("  f  (a.b)  # c\n");
    assert_eq!(parse.expr.span, Span::new(2, 10));
    let ExprKind::Apply { func, arg } = &parse.expr.kind else {
        panic!()
    };
    assert_eq!(func.span, Span::new(2, 3));
    assert_eq!(arg.span, Span::new(5, 10));
    let ExprKind::Paren(inner) = &arg.kind else {
        panic!()
    };
    assert_eq!(inner.span, Span::new(6, 9));
    assert_eq!(parse.comments.len(), 1);
    assert_eq!(parse.comments[0].span, Span::new(12, 15));
}

#[test]
fn precedence_matches_nix() {
    // Each expectation was checked against `nix-instantiate --parse` (Nix 2.8).
    assert_eq!(ok("a - -1"), "(- a (neg 1))");
    assert_eq!(ok("-a.b"), "(neg (. a b))");
    assert_eq!(ok("!a == b"), "(== (! a) b)");
    assert_eq!(ok("f -1"), "(- f 1)");
    assert_eq!(ok("a: b: c"), "(fn a (fn b c))");
    assert_eq!(ok("x ? y.z"), "(? x y.z)");
    assert_eq!(ok("a.b or c d"), "(app (. a b or c) d)");
    assert_eq!(ok("!a + b"), "(! (+ a b))");
    assert_eq!(ok("-a ? b"), "(? (neg a) b)");
    assert_eq!(ok("!a ? b"), "(! (? a b))");
    assert_eq!(ok("a ++ b ? c"), "(++ a (? b c))");
    assert_eq!(ok("- - a"), "(neg (neg a))");
    assert_eq!(ok("a -> b -> c"), "(-> a (-> b c))");
    assert_eq!(ok("a ? b ? c"), "(? (? a b) c)");
    assert_eq!(ok("a + b * c - d"), "(- (+ a (* b c)) d)");
    assert_eq!(ok("a ++ b ++ c"), "(++ a (++ b c))");
    assert_eq!(ok("a // b // c"), "(// a (// b c))");
    assert_eq!(ok("a || b && c"), "(|| a (&& b c))");
    assert_eq!(ok("a == b && c != d"), "(&& (== a b) (!= c d))");
    assert_eq!(ok("a < b == c"), "(== (< a b) c)");
    assert_eq!(ok("a // b == c"), "(== (// a b) c)");
    assert_eq!(ok("!a // b"), "(// (! a) b)");
    assert_eq!(ok("a / b * c"), "(* (/ a b) c)");
    assert_eq!(ok("f a b"), "(app (app f a) b)");
    assert_eq!(ok("f a.b c"), "(app (app f (. a b)) c)");
    assert_eq!(ok("-f x"), "(neg (app f x))");
    assert_eq!(ok("a.b.c"), "(. a b.c)");
    assert_eq!(ok("a.\"x y\".${z}"), "(. a (str \"x y\").${z})");
    assert_eq!(ok("a.or"), "(. a or)");
    assert_eq!(ok("a -> b || c"), "(-> a (|| b c))");
    assert_eq!(ok("!!a"), "(! (! a))");
    assert_eq!(ok("-a * b"), "(* (neg a) b)");
    assert_eq!(ok("a ++ -b"), "(++ a (neg b))");
    assert_eq!(ok("a.b or c.d or e"), "(. a b or (. c d or e))");
    assert_eq!(ok("!a && b"), "(&& (! a) b)");
    assert_eq!(ok("-a - b"), "(- (neg a) b)");
    assert_eq!(ok("a - b - c"), "(- (- a b) c)");
    assert_eq!(ok("!a.b ? c"), "(! (? (. a b) c))");
    assert_eq!(ok("f a ? b"), "(? (app f a) b)");
    assert_eq!(ok("-f a.b"), "(neg (app f (. a b)))");
    assert_eq!(ok("a // b ? c"), "(// a (? b c))");
    assert_eq!(ok("!a -> b"), "(-> (! a) b)");
    assert_eq!(ok("a -> !b || c"), "(-> a (|| (! b) c))");
    assert_eq!(ok("a < b + c"), "(< a (+ b c))");
    assert_eq!(ok("a == !b"), "(== a (! b))");
    assert_eq!(ok("a ++ b * c"), "(* (++ a b) c)");
    assert_eq!(ok("a * -b"), "(* a (neg b))");
    assert_eq!(ok("-a ++ b"), "(++ (neg a) b)");
    assert_eq!(ok("f a.b or c"), "(app f (. a b or c))");
    assert_eq!(ok("{ a = 1; }.a or 2"), "(. (set a=1) a or 2)");
    assert_eq!(ok("\"x\".y"), "(. (str \"x\") y)");
    assert_eq!(ok("a//b"), "(// a b)");
    assert_eq!(ok("a+b/c"), "(path a+b/c)");
}

#[test]
fn compound_expressions() {
    assert_eq!(ok("if a then b else c + d"), "(if a b (+ c d))");
    assert_eq!(ok("assert a; b"), "(assert a b)");
    assert_eq!(ok("let a = 1; b.c = 2; in a"), "(let a=1 b.c=2 in a)");
    assert_eq!(ok("x: x + 1"), "(fn x (+ x 1))");
    assert_eq!(ok("{ a, b ? 1, ... }: a"), "(fn {a,b?1,...} a)");
    assert_eq!(ok("args@{ a, ... }: a"), "(fn args@{a,...} a)");
    assert_eq!(ok("{ a }@args: a"), "(fn args@{a} a)");
    assert_eq!(ok("{ }: 1"), "(fn {} 1)");
    assert_eq!(ok("{ ... }: 1"), "(fn {...} 1)");
    assert_eq!(ok("{}"), "(set)");
    assert_eq!(ok("{ a = 1; }"), "(set a=1)");
    assert_eq!(
        ok(
            "{ a = 1; b.c = 2; \"quoted key\" = 3; ${dyn} = 4; \"a${x}\" = 5; inherit x; inherit (e) y z; }"
        ),
        "(set a=1 b.c=2 (str \"quoted key\")=3 ${dyn}=4 (str \"a\" ${x})=5 inherit x inherit(e) y z)"
    );
    assert_eq!(ok("rec { a = 1; b = a; }"), "(rec a=1 b=a)");
    assert_eq!(ok("[ a b (f x) ]"), "[a b (paren (app f x))]");
    assert_eq!(ok("[ f x ]"), "[f x]");
    assert_eq!(ok("[ a.b or c ]"), "[(. a b or c)]");
    assert_eq!(ok("[]"), "[]");
    assert_eq!(ok("e ? a.b"), "(? e a.b)");
    assert_eq!(ok("{ or = 1; }.or"), "(. (set or=1) or)");
    assert_eq!(ok("{ ${\"a\"} = 1; }"), "(set (str \"a\")=1)");
    assert_eq!(ok("{ inherit \"a\" b; }"), "(set inherit a b)");
    assert_eq!(ok("let in 1"), "(let in 1)");
    assert_eq!(ok("f { a = 1; } [ 2 ]"), "(app (app f (set a=1)) [2])");
    assert_eq!(ok("{ a = x: x; }"), "(set a=(fn x x))");
}

#[test]
fn strings() {
    assert_eq!(ok(r#""a\n\t\r\\\"\$b""#), r#"(str "a\n\t\r\\\"$b")"#);
    assert_eq!(ok(r#""$${x}""#), r#"(str "$${x}")"#);
    assert_eq!(ok(r#""a${b}c""#), r#"(str "a" ${b} "c")"#);
    assert_eq!(ok(r#""${ f "x" }""#), r#"(str ${(app f (str "x"))})"#);
    assert_eq!(ok(r#""$""#), r#"(str "$")"#);
    assert_eq!(ok(r#""a$""#), r#"(str "a$")"#);
    assert_eq!(ok(r#""""#), "(str )");
    assert_eq!(ok("\"a\r\nb\rc\""), r#"(str "a\nb\nc")"#);
    assert_eq!(ok("\"é${x}ü\""), "(str \"é\" ${x} \"ü\")");
}

#[test]
fn string_interpolation_spans() {
    let parse = parse_text("\"a${ b }\"");
    let ExprKind::Str { parts, .. } = &parse.expr.kind else {
        panic!()
    };
    let StrPart::Interpolation(inner) = &parts[1] else {
        panic!()
    };
    assert_eq!(inner.span, Span::new(5, 6));
    assert_eq!(parse.expr.span, Span::new(0, 9));
}

/// Renders a string literal whose interpolations are all the variable `x`, standing
/// for the string "X".
fn render_with_x(e: &Expr) -> String {
    let ExprKind::Str { parts, .. } = &e.kind else {
        panic!("not a string: {}", sexp(e))
    };
    parts
        .iter()
        .map(|p| match p {
            StrPart::Literal(text) => text.clone(),
            StrPart::Interpolation(Expr {
                kind: ExprKind::Var(v),
                ..
            }) if v.name == "x" => "X".to_string(),
            StrPart::Interpolation(other) => panic!("unexpected {}", sexp(other)),
        })
        .collect()
}

#[test]
fn indented_strings_match_nix() {
    // Expectations obtained from Nix 2.8 with
    // `nix-instantiate --eval --strict --json` on `let x = "X"; in <case>`.
    let cases = [
        ("''\n  a\n   b\n  ''", "a\n b\n"),
        ("''\n  a\n\n    b\n''", "a\n\n  b\n"),
        ("''  \n  a\n  b''", "a\nb"),
        ("''a\n  b\n  c''", "a\n  b\n  c"),
        ("''\n    ${x}\n  b\n  ''", "  X\nb\n"),
        ("''\n  ${x} a\n    b\n  ''", "X a\n  b\n"),
        (
            "''\n  ''$x ''' ''\\n ''\\t ''\\q\n  y\n''",
            "$x '' \n\t q\ny\n",
        ),
        ("''\n    ''\\ a\n   b\n''", "  a\nb\n"),
        ("''\n  $${x} $$ $''", "$${x} $$ $"),
        ("''\n  a'b '${x}\n  ''", "a'b 'X\n"),
        ("''\n\ta\n\tb\n''", "\ta\n\tb\n"),
        ("''\n  a\n  ''\\n\n  ''", "a\n\n\n"),
        ("''\n  a\n  ${x}''", "a\nX"),
        ("''   ''", ""),
        ("''\n''", ""),
        ("''''", ""),
        ("''\n  a\n    \n  b\n    ''", "a\n  \nb\n"),
        ("''\n  a \n  b  ''", "a \nb  "),
        ("'' a\n    b''", "a\n   b"),
        ("''\r\n  a\r\n  b\r\n''", "\r\n  a\r\n  b\r\n"),
        ("''\n  x\n   ${x}\n  ''", "x\n X\n"),
        ("''\n      ''${x}\n    y\n''", "  ${x}\ny\n"),
    ];
    for (text, expected) in cases {
        let parse = parse_text(text);
        assert!(
            parse.diagnostics.is_empty(),
            "{text:?}: {:?}",
            parse.diagnostics
        );
        assert_eq!(render_with_x(&parse.expr), expected, "for {text:?}");
        assert_eq!(parse.expr.span, Span::new(0, text.len()), "for {text:?}");
    }
}

fn deep_inputs() -> Vec<(String, String)> {
    let n = 100_000;
    vec![
        ("brackets".into(), "[".repeat(n)),
        (
            "closed brackets".into(),
            format!("{}{}", "[".repeat(n), "]".repeat(n)),
        ),
        ("parens".into(), "(".repeat(n)),
        (
            "closed parens".into(),
            format!("{}1{}", "(".repeat(n), ")".repeat(n)),
        ),
        ("sets".into(), "{ a = ".repeat(n)),
        ("lets".into(), "let a = ".repeat(n)),
        ("lambdas".into(), "x: ".repeat(n)),
        ("ifs".into(), "if a then ".repeat(n)),
        ("strings".into(), "\"${".repeat(n)),
        ("indented strings".into(), "''${".repeat(n)),
        ("interpolated keys".into(), "{ ${".repeat(n)),
        ("negations".into(), "-".repeat(2 * n)),
        ("nots".into(), "!".repeat(2 * n)),
        ("sums".into(), format!("1{}", "+1".repeat(2 * n))),
        ("concats".into(), format!("[]{}", " ++ []".repeat(2 * n))),
        ("applications".into(), format!("f{}", " x".repeat(2 * n))),
        ("has attrs".into(), format!("a{}", " ? b".repeat(2 * n))),
        ("defaults".into(), format!("a{}", ".b or c".repeat(2 * n))),
        ("selects".into(), format!("a{}", ".b".repeat(2 * n))),
    ]
}

#[test]
fn deep_nesting_is_reported_not_overflowed() {
    // Runs in a test thread (2 MiB stack by default), smaller than a main thread.
    for (name, text) in deep_inputs() {
        let parse = parse_text(&text);
        let deep = parse
            .diagnostics
            .iter()
            .filter(|d| d.code == codes::NESTING_TOO_DEEP)
            .count();
        if name == "selects" {
            // A long attribute path is flat, not nested.
            assert_eq!(deep, 0, "{name}");
        } else {
            assert_eq!(deep, 1, "{name}: {:?}", parse.diagnostics.first());
        }
        crate::check::check(FileId(0), &parse.expr);
    }
}

#[test]
fn literal_diagnostics() {
    assert_eq!(
        errors("1.5"),
        vec![(codes::FLOAT_UNSUPPORTED, "1.5".into(), Span::new(0, 3))]
    );
    assert_eq!(codes_of(".5"), vec![codes::FLOAT_UNSUPPORTED]);
    // An unquoted address or version is one mistake, not several floats.
    assert_eq!(
        errors("{ address = 10.0.0.21; v = 1.36.1; }"),
        vec![
            (
                codes::FLOAT_UNSUPPORTED,
                "10.0.0.21".into(),
                Span::new(12, 21)
            ),
            (codes::FLOAT_UNSUPPORTED, "1.36.1".into(), Span::new(27, 33)),
        ]
    );
    assert_eq!(codes_of("1e3"), vec![codes::FLOAT_UNSUPPORTED]);
    assert_eq!(
        errors("9223372036854775808"),
        vec![(
            codes::INTEGER_TOO_LARGE,
            "9223372036854775808".into(),
            Span::new(0, 19)
        )]
    );
    // As in Nix, `-9223372036854775808` negates a literal that is out of range.
    assert_eq!(
        errors("-9223372036854775808"),
        vec![(
            codes::INTEGER_TOO_LARGE,
            "9223372036854775808".into(),
            Span::new(1, 20)
        )]
    );
    assert_eq!(
        errors(r#""a\qb""#),
        vec![(codes::INVALID_ESCAPE, r"\q".into(), Span::new(2, 4))]
    );
    assert_eq!(
        errors("\"abc"),
        vec![(codes::UNTERMINATED_STRING, "\"".into(), Span::new(0, 1))]
    );
    // When an earlier string ran on past its line, that one likely lost its quote.
    let text = "{ a = \"x;\n  b = \"y\"; }";
    let parse = parse_text(text);
    assert_eq!(
        errors(text),
        vec![(codes::UNTERMINATED_STRING, "\"".into(), Span::new(18, 19))]
    );
    let hint = &parse.diagnostics[0].labels[1];
    assert_eq!(&text[hint.origin.span.range()], "\"x;");
    assert_eq!(
        errors("x ''abc"),
        vec![(codes::UNTERMINATED_STRING, "''".into(), Span::new(2, 4))]
    );
    assert_eq!(
        errors("1 /* abc"),
        vec![(codes::UNTERMINATED_COMMENT, "/*".into(), Span::new(2, 4))]
    );
    assert_eq!(
        errors("<nixpkgs>"),
        vec![(
            codes::UNSUPPORTED_SYNTAX,
            "<nixpkgs>".into(),
            Span::new(0, 9)
        )]
    );
    assert_eq!(codes_of("~/x"), vec![codes::UNSUPPORTED_SYNTAX]);
    assert_eq!(
        codes_of("http://example.org/x"),
        vec![codes::UNSUPPORTED_SYNTAX]
    );
    assert_eq!(codes_of("x:x"), vec![codes::UNSUPPORTED_SYNTAX]);
    assert_eq!(
        errors("./a/${x}/b"),
        vec![(
            codes::UNSUPPORTED_SYNTAX,
            "./a/${x}/b".into(),
            Span::new(0, 10)
        )]
    );
    assert_eq!(codes_of("./a/"), vec![codes::UNEXPECTED_TOKEN]);
    assert_eq!(
        errors("__curPos"),
        vec![(
            codes::UNSUPPORTED_SYNTAX,
            "__curPos".into(),
            Span::new(0, 8)
        )]
    );
    assert_eq!(
        errors("let { body = 1; }"),
        vec![(codes::UNSUPPORTED_SYNTAX, "let".into(), Span::new(0, 3))]
    );
}

#[test]
fn with_is_reported_and_becomes_an_error_node() {
    let parse = parse_text("with e; a + b");
    assert_eq!(parse.diagnostics.len(), 1);
    let d = &parse.diagnostics[0];
    assert_eq!(d.code, codes::WITH_UNSUPPORTED);
    assert_eq!(d.primary().unwrap().origin.span, Span::new(0, 4));
    assert!(d.help.as_ref().unwrap().contains("inherit"));
    assert_eq!(parse.expr.kind, ExprKind::Error);
    assert_eq!(parse.expr.span, Span::new(0, 13));
    // Errors inside the body are still found.
    assert_eq!(
        codes_of("with e; [ 1.5 ]"),
        vec![codes::WITH_UNSUPPORTED, codes::FLOAT_UNSUPPORTED]
    );
}

fn binding_names(e: &Expr) -> Vec<String> {
    let (ExprKind::AttrSet { bindings, .. } | ExprKind::Let { bindings, .. }) = &e.kind else {
        panic!("not a set: {}", sexp(e))
    };
    bindings
        .iter()
        .flat_map(|b| match b {
            Binding::Attr { path, .. } => vec![render_path(path)],
            Binding::Inherit { names, .. } => names.iter().map(|n| n.name.clone()).collect(),
        })
        .collect()
}

#[test]
fn recovery_reports_every_independent_error() {
    let text = "{ a = ; b = 2 c = 3; }";
    let parse = parse_text(text);
    assert_eq!(
        errors(text),
        vec![
            (codes::MISSING_TOKEN, String::new(), Span::at(5)),
            (codes::MISSING_TOKEN, String::new(), Span::at(13)),
        ]
    );
    assert_eq!(
        parse.diagnostics[1].message,
        "expected `;` after the value of `b`"
    );
    assert_eq!(binding_names(&parse.expr), ["a", "b", "c"]);
    assert_eq!(sexp(&parse.expr), "(set a=<error> b=2 c=3)");

    let text = "{\n  a = 1\n  b.c = 2;\n  \"d\" = 3\n  inherit e;\n  f = [ 1 2 3;\n  g = 4;\n}";
    let parse = parse_text(text);
    assert_eq!(
        codes_of(text),
        [
            codes::MISSING_TOKEN,
            codes::MISSING_TOKEN,
            codes::MISSING_TOKEN
        ]
    );
    assert_eq!(
        binding_names(&parse.expr),
        ["a", "b.c", "(str \"d\")", "e", "f", "g"]
    );
    // Each missing `;` is reported right after the value it follows.
    let spans: Vec<Span> = errors(text).into_iter().map(|(_, _, s)| s).collect();
    assert_eq!(spans[0], Span::at(text.find("1\n").unwrap() + 1));
    assert_eq!(spans[1], Span::at(text.find("3\n").unwrap() + 1));
    assert_eq!(spans[2], Span::at(text.find("3;").unwrap() + 1));

    // One syntax error per place: a missing value does not also lack a `;`.
    let text = "{ a = = 1; b = [ { c = 1; }} ]; }";
    assert_eq!(
        errors(text),
        vec![
            (codes::MISSING_TOKEN, String::new(), Span::at(5)),
            (codes::MISSING_TOKEN, String::new(), Span::at(27)),
            (codes::UNEXPECTED_TOKEN, "]".into(), Span::new(29, 30)),
        ]
    );

    // A stray token in a binding list skips to the next `;` only.
    let text = "{ a = 1; ) b = 2; c = 3; }";
    assert_eq!(codes_of(text), [codes::UNEXPECTED_TOKEN]);
    assert_eq!(binding_names(&parse_text(text).expr), ["a", "c"]);

    // Independent errors in different places are all reported.
    let text = "let a = 1.5; b = [ 1, 2 ]; c = \"\\q\"; in { x = ; }";
    assert_eq!(
        codes_of(text),
        [
            codes::FLOAT_UNSUPPORTED,
            codes::UNEXPECTED_TOKEN,
            codes::INVALID_ESCAPE,
            codes::MISSING_TOKEN
        ]
    );
}

#[test]
fn missing_tokens_are_reported_where_expected() {
    let cases: &[(&str, usize, &str)] = &[
        ("{ a = 1 }", 7, "expected `;` after the value of `a`"),
        ("[ 1 2", 5, "expected `]`, found end of file"),
        ("(1 + 2", 6, "expected `)`"),
        (
            "let a = 1; a",
            10,
            "expected `in` after the bindings of `let`, found `a`",
        ),
        ("let a = 1 in a", 9, "expected `;` after the value of `a`"),
        ("if a then b", 11, "expected `else`, found end of file"),
        ("if a b else c", 6, "expected `then`, found `else`"),
        ("{ a, b }", 8, "expected `:` after the argument pattern"),
        ("(1 + )", 4, "expected an expression after `+`"),
        ("x:", 2, "expected the function body after `:`"),
        (
            "assert a b",
            10,
            "expected `;` after the condition of `assert`",
        ),
        ("{ a.b. = 1; }", 6, "expected an attribute name after `.`"),
        ("a.b or", 6, "expected a default value after `or`"),
        ("{ x = 1;", 8, "expected `}`, found end of file"),
        ("", 0, "expected an expression"),
        ("# just a comment\n", 0, "expected an expression"),
        ("\"${a;}\"", 4, "expected `}` to close `${`"),
        (
            "{ a, b ? }: a",
            8,
            "expected a default value for `b` after `?`",
        ),
        ("rec a", 3, "expected `{` after `rec`, found `a`"),
    ];
    for &(text, at, message) in cases {
        let parse = parse_text(text);
        let first = parse
            .diagnostics
            .first()
            .unwrap_or_else(|| panic!("no diagnostic for {text:?}"));
        assert_eq!(first.code, codes::MISSING_TOKEN, "{text:?}: {first:?}");
        assert_eq!(first.message, message, "{text:?}");
        assert_eq!(
            first.primary().unwrap().origin.span,
            Span::at(at),
            "{text:?}"
        );
    }
}

#[test]
fn unexpected_tokens() {
    assert_eq!(
        errors("{ a = 1; } }"),
        [(codes::UNEXPECTED_TOKEN, "}".into(), Span::new(11, 12))]
    );
    let parse = parse_text("1 2 )");
    assert_eq!(
        parse.diagnostics[0].message,
        "expected end of file, found `)`"
    );
    assert_eq!(
        errors("a == b == c"),
        [(codes::UNEXPECTED_TOKEN, "==".into(), Span::new(7, 9))]
    );
    assert_eq!(codes_of("a < b > c"), [codes::UNEXPECTED_TOKEN]);
    assert_eq!(
        errors("[ 1 + 2 ]"),
        [(codes::UNEXPECTED_TOKEN, "+".into(), Span::new(4, 5))]
    );
    assert_eq!(
        errors("1 + let a = 1; in a"),
        [(codes::UNEXPECTED_TOKEN, "let".into(), Span::new(4, 7))]
    );
    assert_eq!(
        errors("[ if a then 1 else 2 ]"),
        [(codes::UNEXPECTED_TOKEN, "if".into(), Span::new(2, 4))]
    );
    // `a or` applies `a` to the variable `or`, as in Nix; `b` is then the next
    // argument. `or` cannot start an expression.
    assert_eq!(errors("a or b"), []);
    assert_eq!(
        errors("[ or ]"),
        [(codes::UNEXPECTED_TOKEN, "or".into(), Span::new(2, 4))]
    );
    assert_eq!(
        errors("{ = 1; b = 2; }"),
        [(codes::UNEXPECTED_TOKEN, "=".into(), Span::new(2, 3))]
    );
    assert_eq!(codes_of("{ a, ..., b }: a"), [codes::UNEXPECTED_TOKEN]);
    assert_eq!(codes_of("{ a = 1; } ; "), [codes::UNEXPECTED_TOKEN]);
    assert_eq!(codes_of("[ -1 ]"), [codes::UNEXPECTED_TOKEN]);
    assert_eq!(codes_of("let ${a} = 1; in a"), [codes::UNSUPPORTED_SYNTAX]);
    assert_eq!(codes_of("{ inherit ${a}; }"), [codes::UNSUPPORTED_SYNTAX]);
    assert_eq!(
        errors("\u{1F600} 1"),
        [(codes::UNEXPECTED_TOKEN, "\u{1F600}".into(), Span::new(0, 4))]
    );
}

/// A sample using every construct, for the prefix and performance tests.
const SAMPLE: &str = r#"# A cluster description.
{ lib ? import ./lib.hac, name ? "demo", ... }@args:
let
  /* block comment */
  nodes = [ "a" "b" (lib.node { cpus = 2; }) ];
  count = builtins.length nodes * 2 - -1;
  text = ''
    hello ${name}
      ''${not} '''quoted''' ''\t
  '';
  merged = { a.b = 1; a.c = 2; } // { "x y" = 3; ${name} = 4; };
  inherit (lib) map filter;
  check = assert count > 0 && !(count == 3) || true -> false; count;
  f = x: { y ? x, ... }: if x ? y.z then x.y.z or 0 else [ x y ];
in rec {
  inherit name text merged;
  all = map (n: "${n}-${toString count}") nodes ++ [ check ];
  paths = [ ./a/b.hac ../c /abs/d ];
  nested = f 1 { } != null;
}
"#;

#[test]
fn sample_parses_cleanly() {
    let parse = parse_text(SAMPLE);
    assert!(parse.diagnostics.is_empty(), "{:#?}", parse.diagnostics);
    assert_eq!(parse.comments.len(), 2);
    assert!(crate::check::check(FileId(0), &parse.expr).is_empty());
}

#[test]
fn no_panic_on_any_prefix_or_suffix() {
    let boundaries = (0..=SAMPLE.len()).filter(|&i| SAMPLE.is_char_boundary(i));
    for cut in boundaries {
        for text in [&SAMPLE[..cut], &SAMPLE[cut..]] {
            let parse = parse_text(text);
            check_spans_in_bounds(text, &parse);
            crate::check::check(FileId(0), &parse.expr);
        }
    }
}

fn check_spans_in_bounds(text: &str, parse: &Parse) {
    assert!(parse.expr.span.end as usize <= text.len());
    for d in &parse.diagnostics {
        for label in &d.labels {
            let span = label.origin.span;
            assert!(span.start <= span.end && span.end as usize <= text.len());
            assert!(
                text.is_char_boundary(span.start as usize),
                "{text:?}: {d:?}"
            );
            assert!(text.is_char_boundary(span.end as usize), "{text:?}: {d:?}");
        }
    }
}

#[test]
fn long_flat_input_parses_in_linear_time() {
    // About 1 MB each. A quadratic parser takes hours on these; this one takes a
    // few seconds in a debug build, hence the generous bound.
    let bindings: String = (0..40_000)
        .map(|i| format!("  a{i} = [ {i} \"s\" ];\n"))
        .collect();
    let inputs = [
        format!("{{\n{bindings}}}"),
        format!("[ {} ]", "x ".repeat(500_000)),
        format!("a{}", ".b".repeat(500_000)),
        format!("\"{}\"", "a".repeat(1_000_000)),
        format!("''\n{}''", "  line\n".repeat(150_000)),
        "a.b.c.d.e.f.g.h.i.j ".repeat(50_000),
        format!("# {}\n1", "c".repeat(1_000_000)),
    ];
    for text in &inputs {
        let started = std::time::Instant::now();
        let parse = parse_text(text);
        crate::check::check(FileId(0), &parse.expr);
        assert!(
            started.elapsed() < std::time::Duration::from_secs(60),
            "took {:?} for input starting {:?}",
            started.elapsed(),
            &text[..20]
        );
    }
}

#[test]
fn depth_limit_fits_a_main_thread_stack_without_the_parser_stack() {
    std::thread::Builder::new()
        .stack_size(8 << 20)
        .spawn(move || {
            for (name, text) in deep_inputs() {
                let parse = super::parse_here(FileId(0), &text);
                let deep = parse
                    .diagnostics
                    .iter()
                    .any(|d| d.code == codes::NESTING_TOO_DEEP);
                assert_eq!(deep, name != "selects", "{name}");
            }
        })
        .unwrap()
        .join()
        .unwrap();
}

#[test]
fn nesting_just_under_the_limit_is_accepted() {
    let depth = MAX_DEPTH / 3;
    let text = format!("{}1{}", "[ (".repeat(depth), ") ]".repeat(depth));
    let parse = parse_text(&text);
    assert!(
        parse.diagnostics.is_empty(),
        "{:?}",
        parse.diagnostics.first()
    );
    let chain = format!("1{}", " + 1".repeat(MAX_DEPTH / 2));
    assert!(parse_text(&chain).diagnostics.is_empty());
}

mod fuzz {
    use super::*;
    use proptest::prelude::*;

    const PIECES: &[&str] = &[
        "a",
        "b",
        "or",
        "let",
        "in",
        "rec",
        "inherit",
        "if",
        "then",
        "else",
        "assert",
        "with",
        "1",
        "1.5",
        "9999999999999999999",
        "\"",
        "\"s\"",
        "''",
        "''x''",
        "${",
        "}",
        "{",
        "[",
        "]",
        "(",
        ")",
        ";",
        ":",
        ",",
        "=",
        "@",
        "?",
        ".",
        "...",
        "+",
        "-",
        "*",
        "/",
        "//",
        "++",
        "==",
        "!",
        "->",
        "&&",
        "||",
        "<",
        ">=",
        "./p",
        "a/b",
        "~/h",
        "<n>",
        "x:y",
        "#c\n",
        "/*",
        "*/",
        "\\",
        "$",
        "''$",
        "'''",
        "é",
        "\n",
        " ",
    ];

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2000))]
        #[test]
        fn token_soup_never_panics(indices in proptest::collection::vec(0..PIECES.len(), 0..40)) {
            let text: String = indices.iter().map(|&i| PIECES[i]).collect::<Vec<_>>().join(" ");
            let parsed = parse(FileId(0), &text);
            check_spans_in_bounds(&text, &parsed);
            crate::check::check(FileId(0), &parsed.expr);
            let glued: String = indices.iter().map(|&i| PIECES[i]).collect();
            let parsed = parse(FileId(0), &glued);
            check_spans_in_bounds(&glued, &parsed);
        }

        #[test]
        fn valid_programs_have_no_errors_after_a_round_trip(n in 0i64..1000, s in "[a-z ]{0,8}") {
            let text = format!("{{ x = {n}; y = \"{s}\"; z = [ x y ]; }}");
            let parsed = parse(FileId(0), &text);
            prop_assert!(parsed.diagnostics.is_empty());
        }
    }
}
