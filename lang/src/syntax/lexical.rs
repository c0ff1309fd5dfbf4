//! Token recognisers: what the next token is and how long it is, following the
//! rules of Nix's lexer (longest match wins, so `a/b` is a path and `x:x` a URI).
//!
//! These are plain nom parsers over `&str`; they never record diagnostics. The
//! grammar in [`super::parser`] decides what an unexpected token means.

use nom::branch::alt;
use nom::bytes::complete::{tag, take_while, take_while1};
use nom::character::complete::{char, satisfy};
use nom::combinator::{opt, recognize};
use nom::multi::{many0_count, many1_count};
use nom::sequence::{pair, preceded};
use nom::{IResult, Parser};

/// Nix's keywords (`with` included: the grammar parses it to report it).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Keyword {
    If,
    Then,
    Else,
    Assert,
    Let,
    In,
    Rec,
    Inherit,
    Or,
    With,
}

impl Keyword {
    fn from_name(name: &str) -> Option<Keyword> {
        Some(match name {
            "if" => Keyword::If,
            "then" => Keyword::Then,
            "else" => Keyword::Else,
            "assert" => Keyword::Assert,
            "let" => Keyword::Let,
            "in" => Keyword::In,
            "rec" => Keyword::Rec,
            "inherit" => Keyword::Inherit,
            "or" => Keyword::Or,
            "with" => Keyword::With,
            _ => return None,
        })
    }
}

/// What kind of token starts the input.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tok {
    Eof,
    Ident,
    Keyword(Keyword),
    Int,
    /// `1.5`, `.5`, `1e3`: Nix has floats, hac does not.
    Float,
    /// `./x`, `a/b`, `/abs`.
    Path,
    /// A path token ending in `/` (`./a/`), which Nix rejects.
    PathTrailingSlash,
    /// `./a/${x}`: the text up to and including `${`.
    PathInterpolation,
    /// `~/x`.
    HomePath,
    /// `<nixpkgs>`.
    SearchPath,
    /// `http://example.org`, and also `x:x` (no space after the colon).
    Uri,
    /// `"`.
    StrOpen,
    /// `''`.
    IndStrOpen,
    /// Operators and punctuation, by their text.
    Punct(&'static str),
    /// A character that starts no token.
    Unknown,
}

/// The token at the start of some input: its kind and its text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Token<'a> {
    pub tok: Tok,
    pub text: &'a str,
}

type Res<'a, T> = IResult<&'a str, T>;

pub fn is_ident_start(c: char) -> bool {
    c.is_ascii_alphabetic() || c == '_'
}

pub fn is_ident_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '_' | '\'' | '-')
}

fn is_path_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-' | '+')
}

fn is_uri_scheme_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.')
}

fn is_uri_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || "%/?:@&=+$,-_.!~*'".contains(c)
}

pub fn ident(i: &str) -> Res<'_, &str> {
    recognize(pair(satisfy(is_ident_start), take_while(is_ident_char))).parse(i)
}

/// `[a-zA-Z][a-zA-Z0-9+.-]*:[uri chars]+`
fn uri(i: &str) -> Res<'_, &str> {
    recognize((
        satisfy(|c| c.is_ascii_alphabetic()),
        take_while(is_uri_scheme_char),
        char(':'),
        take_while1(is_uri_char),
    ))
    .parse(i)
}

/// `<a/b>`
fn search_path(i: &str) -> Res<'_, &str> {
    recognize((
        char('<'),
        take_while1(is_path_char),
        many0_count(preceded(char('/'), take_while1(is_path_char))),
        char('>'),
    ))
    .parse(i)
}

/// `~/a/b`, with an optional trailing slash.
fn home_path(i: &str) -> Res<'_, &str> {
    recognize((
        char('~'),
        many1_count(preceded(char('/'), take_while1(is_path_char))),
        opt(char('/')),
    ))
    .parse(i)
}

/// `[path chars]*(/[path chars]+)+`
fn path(i: &str) -> Res<'_, &str> {
    recognize(pair(
        take_while(is_path_char),
        many1_count(preceded(char('/'), take_while1(is_path_char))),
    ))
    .parse(i)
}

/// Path text directly followed by `${`: `./a/${`, `a${` after `./x/`, `./${`.
fn path_interpolation(i: &str) -> Res<'_, &str> {
    recognize((
        take_while(is_path_char),
        many1_count(preceded(char('/'), take_while(is_path_char))),
        tag("${"),
    ))
    .parse(i)
}

/// Numbers: an integer, or anything Nix would read as a float (plus `1e3`, which
/// Nix reads as `1` applied to `e3`, almost certainly meant as a float).
///
/// Nix's float is `(([1-9][0-9]*\.[0-9]*)|(0?\.[0-9]+))([Ee][+-]?[0-9]+)?`: `1.` and
/// `0.5` are floats, but `0.` is the integer `0` followed by `.` (so `0.a or true`
/// is `true`), and `01.5` is `01` followed by `.5`.
fn number(i: &str) -> Res<'_, (Tok, &str)> {
    let digits = || take_while1(|c: char| c.is_ascii_digit());
    let exponent = || {
        (
            alt((char('e'), char('E'))),
            opt(alt((char('+'), char('-')))),
            digits(),
        )
    };
    alt((
        recognize((
            satisfy(|c: char| matches!(c, '1'..='9')),
            take_while(|c: char| c.is_ascii_digit()),
            char('.'),
            take_while(|c: char| c.is_ascii_digit()),
            opt(exponent()),
        ))
        .map(|s| (Tok::Float, s)),
        recognize((opt(char('0')), char('.'), digits(), opt(exponent()))).map(|s| (Tok::Float, s)),
        recognize(pair(digits(), exponent())).map(|s| (Tok::Float, s)),
        digits().map(|s| (Tok::Int, s)),
    ))
    .parse(i)
}

const PUNCTUATION: &[&str] = &[
    "...", "${", "==", "!=", "<=", ">=", "&&", "||", "->", "//", "++", "{", "}", "[", "]", "(",
    ")", ";", ":", ",", "=", "@", "?", ".", "+", "-", "*", "/", "<", ">", "!",
];

fn punct(i: &str) -> Option<&'static str> {
    PUNCTUATION.iter().copied().find(|p| i.starts_with(p))
}

/// Classifies the token at the start of `i` (which must not start with trivia).
///
/// `plain` is a hint from the caller: when it knows that no path or URI token can
/// start here (see [`path_run`]), those recognisers are skipped. This keeps long runs
/// like `a.b.c.…` linear instead of quadratic.
pub fn token(i: &str, plain: bool) -> Token<'_> {
    let make = |tok, len: usize| Token {
        tok,
        text: &i[..len],
    };
    let Some(first) = i.chars().next() else {
        return make(Tok::Eof, 0);
    };
    if i.starts_with("''") {
        return make(Tok::IndStrOpen, 2);
    }
    if first == '"' {
        return make(Tok::StrOpen, 1);
    }
    if !plain && let Ok((_, text)) = uri(i) {
        return make(Tok::Uri, text.len());
    }
    if first == '~'
        && let Ok((_, text)) = home_path(i)
    {
        return make(Tok::HomePath, text.len());
    }
    if first == '<'
        && let Ok((_, text)) = search_path(i)
    {
        return make(Tok::SearchPath, text.len());
    }
    if !plain && (is_path_char(first) || first == '/') {
        if let Ok((_, text)) = path_interpolation(i) {
            return make(Tok::PathInterpolation, text.len());
        }
        if let Ok((rest, text)) = path(i) {
            if rest.starts_with('/') {
                return make(Tok::PathTrailingSlash, text.len() + 1);
            }
            return make(Tok::Path, text.len());
        }
    }
    if let Ok((_, (tok, text))) = number(i) {
        return make(tok, text.len());
    }
    if let Ok((_, text)) = ident(i) {
        return match Keyword::from_name(text) {
            Some(keyword) => make(Tok::Keyword(keyword), text.len()),
            None => make(Tok::Ident, text.len()),
        };
    }
    if let Some(p) = punct(i) {
        return make(Tok::Punct(p), p.len());
    }
    make(Tok::Unknown, first.len_utf8())
}

/// The length of the run of path characters and slashes at the start of `i`, and
/// whether a path or URI token could start inside it. Neither can when the run has
/// no `/` and is not followed by `:` (URI schemes are made of path characters).
pub fn path_run(i: &str) -> (usize, bool) {
    let len = i
        .find(|c: char| !(is_path_char(c) || c == '/'))
        .unwrap_or(i.len());
    (len, i[..len].contains('/') || i[len..].starts_with(':'))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kind(text: &str) -> (Tok, &str) {
        let t = token(text, false);
        (t.tok, t.text)
    }

    #[test]
    fn longest_match_like_nix() {
        assert_eq!(kind("a/b c"), (Tok::Path, "a/b"));
        assert_eq!(kind("./a/b.hac;"), (Tok::Path, "./a/b.hac"));
        assert_eq!(kind("../x"), (Tok::Path, "../x"));
        assert_eq!(kind("/abs/x"), (Tok::Path, "/abs/x"));
        assert_eq!(kind("./a/ "), (Tok::PathTrailingSlash, "./a/"));
        assert_eq!(kind("./a/${x}"), (Tok::PathInterpolation, "./a/${"));
        assert_eq!(kind("./${x}"), (Tok::PathInterpolation, "./${"));
        assert_eq!(kind("x:x"), (Tok::Uri, "x:x"));
        assert_eq!(kind("x: x"), (Tok::Ident, "x"));
        assert_eq!(kind("https://a.b/c d"), (Tok::Uri, "https://a.b/c"));
        assert_eq!(kind("<nixpkgs> x"), (Tok::SearchPath, "<nixpkgs>"));
        assert_eq!(kind("< b"), (Tok::Punct("<"), "<"));
        assert_eq!(kind("~/x"), (Tok::HomePath, "~/x"));
        assert_eq!(kind("1.5"), (Tok::Float, "1.5"));
        assert_eq!(kind(".5"), (Tok::Float, ".5"));
        assert_eq!(kind("1e3"), (Tok::Float, "1e3"));
        assert_eq!(kind("1."), (Tok::Float, "1."));
        assert_eq!(kind("10.e3"), (Tok::Float, "10.e3"));
        assert_eq!(kind("0.5"), (Tok::Float, "0.5"));
        // As in Nix: `0.` is not a float, and a float never starts with `00` or `01`.
        assert_eq!(kind("0.a"), (Tok::Int, "0"));
        assert_eq!(kind("0. "), (Tok::Int, "0"));
        assert_eq!(kind("01.5"), (Tok::Int, "01"));
        assert_eq!(kind("00.5"), (Tok::Int, "00"));
        assert_eq!(kind("12 "), (Tok::Int, "12"));
        assert_eq!(kind("a-b'c"), (Tok::Ident, "a-b'c"));
        assert_eq!(kind("or"), (Tok::Keyword(Keyword::Or), "or"));
        assert_eq!(kind("order"), (Tok::Ident, "order"));
        assert_eq!(kind("a.b"), (Tok::Ident, "a"));
        assert_eq!(kind("//"), (Tok::Punct("//"), "//"));
        assert_eq!(kind("...}"), (Tok::Punct("..."), "..."));
        assert_eq!(kind("é"), (Tok::Unknown, "é"));
        assert_eq!(kind(""), (Tok::Eof, ""));
    }

    #[test]
    fn path_runs() {
        assert_eq!(path_run("a.b.c d"), (5, false));
        assert_eq!(path_run("a.b/c d"), (5, true));
        assert_eq!(path_run("a.b:c d"), (3, true));
    }
}
