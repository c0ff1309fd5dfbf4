//! Evaluator tests. Programs run through `analyze` with an in-memory loader.

use std::collections::HashMap;
use std::io;
use std::path::{Path, PathBuf};

use super::{Limits, analyze};
use crate::codes;
use crate::diagnostic::{Diagnostic, Severity};
use crate::loader::Loader;
use crate::value::{Value, ValueKind};

/// Files served from memory.
#[derive(Default)]
struct MemLoader {
    files: HashMap<PathBuf, String>,
}

impl MemLoader {
    fn with(files: &[(&str, &str)]) -> MemLoader {
        MemLoader {
            files: files
                .iter()
                .map(|(p, t)| (PathBuf::from(p), t.to_string()))
                .collect(),
        }
    }
}

impl Loader for MemLoader {
    fn read(&self, path: &Path) -> io::Result<String> {
        self.files
            .get(path)
            .cloned()
            .ok_or_else(|| io::Error::new(io::ErrorKind::NotFound, "No such file or directory"))
    }

    fn exists(&self, path: &Path) -> bool {
        self.files.contains_key(path)
    }
}

/// The directory the Nix expectations below were produced in.
const MAIN: &str = "/tmp/nxc/t/main.hac";

fn run_files(files: &[(&str, &str)], limits: &Limits) -> super::Analysis {
    analyze(&MemLoader::with(files), Path::new(files[0].0), limits)
}

/// The JSON text of `src`'s value, or the first error, from the plain copy of the
/// value; checks that the text written straight from the evaluated value (what
/// `hac eval` prints) is the same, or fails the same way.
fn json_of(src: &str) -> Result<String, Diagnostic> {
    let analysis = run_files(&[(MAIN, src)], &Limits::default());
    let from_copy = match analysis.diagnostics.iter().find(|d| d.is_error()) {
        Some(err) => Err(err.clone()),
        None => crate::json::to_json(analysis.value.as_ref().expect("a value")),
    };
    let direct = json_written_directly(src, &Limits::default());
    assert_eq!(
        format!("{from_copy:?}"),
        format!("{direct:?}"),
        "{src}: the JSON written from the evaluated value differs from the copy's"
    );
    from_copy
}

/// `src`'s JSON text as `hac eval` makes it ([`super::Output::Json`]), or the
/// first error.
fn json_written_directly(src: &str, limits: &Limits) -> Result<String, Diagnostic> {
    json_written_as(src, limits, super::Output::Json)
}

fn json_written_as(
    src: &str,
    limits: &Limits,
    output: super::Output,
) -> Result<String, Diagnostic> {
    let analysis = super::analyze_for(
        &MemLoader::with(&[(MAIN, src)]),
        Path::new(MAIN),
        limits,
        &std::sync::atomic::AtomicBool::new(false),
        output,
    );
    assert!(analysis.value.is_none(), "{src}: no plain copy is made");
    match analysis.diagnostics.iter().find(|d| d.is_error()) {
        Some(err) => Err(err.clone()),
        None => Ok(analysis.json.expect("the JSON text")),
    }
}

/// The command's output, which leaves the values unfreed, is the same text (or
/// error) as the freeing one's. (Few and small programs: what they leave is never
/// freed, and the memory budget of later tests reads the process's memory.)
#[test]
fn json_left_unfreed_at_exit_is_the_same() {
    for src in [
        r#"[ (x: x) (throw "later") ]"#,
        r#"{ a = { __toString = s: "text${toString s.n}"; n = 4; }; }"#,
        "let t = { x = [ 1 2 ]; }; in { a = t; b = [ t t ]; c = { }; d = [ ]; }",
        "let a = { b = a; }; in a",
        "rec { f = n: if n == 0 then [ ] else [ n ] ++ f (n - 1); l = f 20; }.l",
        r#"{ a.b = [ 1 (abort "deep") ]; }"#,
    ] {
        let freed = json_written_as(src, &Limits::default(), super::Output::Json);
        let left = json_written_as(src, &Limits::default(), super::Output::JsonAtExit);
        assert_eq!(format!("{freed:?}"), format!("{left:?}"), "{src}");
    }
}

#[test]
fn json_written_from_the_value_is_the_copys() {
    for src in [
        // A function fails only when no evaluation error comes after it.
        r#"[ (x: x) (throw "later") ]"#,
        r#"[ 1 { f = builtins.map; } ]"#,
        // Stand-ins: `__toString` and `outPath` (its siblings never evaluated).
        r#"{ a = { __toString = s: "text${toString s.n}"; n = 4; }; }"#,
        r#"[ { outPath = { outPath = "/p"; }; b = throw "never"; } ]"#,
        // Escapes, numbers, paths, nesting, shared parts.
        r#"[ (builtins.fromJSON "\"\\u0001\\u001f\"") "\t\n\r\"\\ é/" (-9223372036854775807 - 1) ./a/../b null true ]"#,
        "let t = { x = [ 1 2 ]; }; in { a = t; b = [ t t ]; c = { }; d = [ ]; }",
        // Errors while forcing, with the attribute's context.
        r#"{ a.b = [ 1 (abort "deep") ]; }"#,
        "let a = { b = a; }; in a",
    ] {
        let _ = json_of(src);
    }
}

#[test]
fn the_json_texts_error_comes_after_the_evaluations_diagnostics() {
    // As when the copy was printed: the trace (later in the file) first.
    let analysis = super::analyze_for(
        &MemLoader::with(&[(
            MAIN,
            "let f = x: x; in { b = f; a = builtins.trace \"hi\" 1; }",
        )]),
        Path::new(MAIN),
        &Limits::default(),
        &std::sync::atomic::AtomicBool::new(false),
        super::Output::Json,
    );
    let codes: Vec<_> = analysis.diagnostics.iter().map(|d| d.code).collect();
    assert_eq!(codes, [codes::TRACE, codes::NOT_REPRESENTABLE]);
    assert!(analysis.json.is_none());
}

#[test]
fn json_written_from_the_value_counts_against_the_memory_budget() {
    // Small values, a long text: each control character is six characters of JSON.
    let src = r#"let c = builtins.fromJSON "\"\\u0001\"";
      s = builtins.concatStringsSep "" (builtins.genList (j: c) 1000); in
      builtins.genList (i: s) 100"#;
    let limits = Limits {
        max_bytes: 400_000,
        ..Limits::default()
    };
    let err = json_written_directly(src, &limits).unwrap_err();
    assert_eq!(err.code, codes::BUDGET_EXCEEDED, "{err:?}");
    assert!(err.message.contains("JSON text"), "{err:?}");
    assert_eq!(
        json_written_directly(src, &Limits::default())
            .unwrap()
            .len(),
        600_301
    );
}

#[track_caller]
fn ok(src: &str) -> String {
    match json_of(src) {
        Ok(json) => json,
        Err(err) => panic!("{src}\nfailed: {err:?}"),
    }
}

/// Evaluates `src`, expects an error with `code`, and returns it with the text
/// under its primary label.
#[track_caller]
fn fails_with(src: &str, code: &str) -> (Diagnostic, String) {
    fails_with_limits(src, code, &Limits::default())
}

#[track_caller]
fn fails_with_limits(src: &str, code: &str, limits: &Limits) -> (Diagnostic, String) {
    let analysis = run_files(&[(MAIN, src)], limits);
    let Some(err) = analysis.diagnostics.iter().find(|d| d.is_error()) else {
        panic!("{src}\nsucceeded: {:?}", analysis.value);
    };
    assert_eq!(err.code, code, "{src}\n{err:?}");
    let text = err
        .primary()
        .map(|l| {
            analysis
                .sources
                .get(l.origin.file)
                .slice(l.origin.span)
                .to_owned()
        })
        .unwrap_or_default();
    (err.clone(), text)
}

/// Expected outputs were produced by running each program with
/// `nix-instantiate --eval --strict --json` (Nix 2.8.0) in `/tmp/nxc/t/`.
const NIX_AGREES: &[(&str, &str)] = &[
    (r#"1 + 2 * 3 - 4 / 2"#, r#"5"#),
    (
        r#"[ (7 / 2) ((-7) / 2) (7 / (-2)) (-(3)) ]"#,
        r#"[3,-3,-3,-3]"#,
    ),
    (r#""a" + "b" + "c""#, r#""abc""#),
    (r#"let x = "world"; in "hello ${x}!""#, r#""hello world!""#),
    (r#"let a = b + 1; b = 2; in a"#, r#"3"#),
    (
        r#"rec { a = 1; b = a + 1; c = { d = b; }; }"#,
        r#"{"a":1,"b":2,"c":{"d":2}}"#,
    ),
    (
        r#"{ a.b.c = 1; a.b.d = 2; a.e = 3; }"#,
        r#"{"a":{"b":{"c":1,"d":2},"e":3}}"#,
    ),
    (r#"{ a = { x = 1; }; a.y = 2; }"#, r#"{"a":{"x":1,"y":2}}"#),
    (r#"let f = x: y: x * y; in f 3 4"#, r#"12"#),
    (
        r#"let f = { a, b ? a + 1, ... }@args: [ a b (args ? c) ]; in f { a = 1; c = 2; }"#,
        r#"[1,2,true]"#,
    ),
    (
        r#"let f = args@{ a, ... }: args; in f { a = 1; b = 2; }"#,
        r#"{"a":1,"b":2}"#,
    ),
    (
        r#"[ ({ a = 1; } ? a) ({ a = 1; } ? b) ({ a.b = 1; } ? a.b) (1 ? a) ]"#,
        r#"[true,false,true,false]"#,
    ),
    (
        r#"[ ({ a = 1; }.b or 5) ({ a = 1; }.a or 5) (let x = 1; in x.a or 6) ]"#,
        r#"[5,1,6]"#,
    ),
    (
        r#"let s = { a = { b = { c = 42; }; }; }; in s.a.b.c"#,
        r#"42"#,
    ),
    (
        r#"let n = "b"; in { a = 1; ${n} = 2; "c d" = 3; ${null} = 4; }"#,
        r#"{"a":1,"b":2,"c d":3}"#,
    ),
    (r#"{ x = throw "unused"; y = 1; }.y"#, r#"1"#),
    (r#"builtins.length [ (throw "a") (throw "b") ]"#, r#"2"#),
    (
        r#"let x = { inherit (y) a; }; y = { a = 5; b = 6; }; in x"#,
        r#"{"a":5}"#,
    ),
    (
        r#"let a = 1; b = 2; in { inherit a b; }"#,
        r#"{"a":1,"b":2}"#,
    ),
    (
        r#"let a = 1; in rec { a = 2; b = { inherit a; }; }"#,
        r#"{"a":2,"b":{"a":2}}"#,
    ),
    (
        r#"[ (1 == 1) (1 == 2) ("a" == "a") ([1 [2]] == [1 [2]]) ({ a = 1; } == { a = 1; }) (null == null) (1 == "1") ({ } == [ ]) ]"#,
        r#"[true,false,true,true,true,true,false,false]"#,
    ),
    (
        r#"let f = x: x; in [ ([ f ] == [ f ]) (f == f) ({ a = f; } == { a = f; }) ]"#,
        r#"[true,false,true]"#,
    ),
    (
        r#"[ (1 < 2) (2 <= 2) (3 > 4) (4 >= 4) ("a" < "b") ("B" < "a") ([ 1 2 ] < [ 1 3 ]) ([ 1 ] < [ 1 0 ]) ([ ] < [ ]) ]"#,
        r#"[true,true,false,true,true,true,true,true,false]"#,
    ),
    (
        r#"[ (true && false) (true || false) (false -> false) (!true) (false && throw "x") (true || throw "x") (false -> throw "x") ]"#,
        r#"[false,true,true,false,false,true,true]"#,
    ),
    (r#"[ 1 2 ] ++ [ 3 ] ++ [ ]"#, r#"[1,2,3]"#),
    (
        r#"{ a = 1; b = 2; } // { b = 3; c = 4; }"#,
        r#"{"a":1,"b":3,"c":4}"#,
    ),
    (r#"if 1 < 2 then "yes" else "no""#, r#""yes""#),
    (r#"assert 1 == 1; "ok""#, r#""ok""#),
    (r#"map (x: x * 2) [ 1 2 3 ]"#, r#"[2,4,6]"#),
    (
        r#"map (builtins.elemAt [ 10 20 30 ]) [ 2 0 1 ]"#,
        r#"[30,10,20]"#,
    ),
    (
        r#"[ (toString 1) (toString true) (toString false) (toString null) (toString "s") (toString [ 1 [ 2 3 ] null [ ] "x" ]) (toString (-5)) ]"#,
        r#"["1","1","","","s","1 2 3  x","-5"]"#,
    ),
    (
        r#"[ (isNull null) (isNull 1) (builtins.isString "a") (builtins.isInt 1) (builtins.isBool true) (builtins.isList [ ]) (builtins.isAttrs { }) (builtins.isFunction (x: x)) (builtins.isFunction map) (builtins.isPath ./a) (builtins.isString ./a) ]"#,
        r#"[true,false,true,true,true,true,true,true,true,true,false]"#,
    ),
    (
        r#"map builtins.typeOf [ 1 "a" true null [ ] { } (x: x) map (map (x: x)) ./p ]"#,
        r#"["int","string","bool","null","list","set","lambda","lambda","lambda","path"]"#,
    ),
    (
        r#"removeAttrs { a = 1; b = 2; c = 3; } [ "a" "c" "z" ]"#,
        r#"{"b":2}"#,
    ),
    (
        r#"[ (baseNameOf "/a/b/c.hac") (baseNameOf "/a/b/") (baseNameOf "c") (baseNameOf ./x/y.nix) ]"#,
        r#"["c.hac","b","c","y.nix"]"#,
    ),
    (
        r#"[ (builtins.head [ 1 2 ]) (builtins.tail [ 1 2 3 ]) (builtins.elemAt [ 1 2 3 ] 1) (builtins.length [ 1 2 ]) ]"#,
        r#"[1,[2,3],2,2]"#,
    ),
    (
        r#"[ (builtins.elem 2 [ 1 2 ]) (builtins.elem 3 [ 1 2 ]) (builtins.elem [ 1 ] [ [ 1 ] ]) ]"#,
        r#"[true,false,true]"#,
    ),
    (r#"builtins.filter (x: x > 1) [ 1 2 3 0 5 ]"#, r#"[2,3,5]"#),
    (r#"builtins.genList (i: i * i) 5"#, r#"[0,1,4,9,16]"#),
    (
        r#"builtins.foldl' (acc: x: acc + x) 0 [ 1 2 3 4 ]"#,
        r#"10"#,
    ),
    (
        r#"builtins.foldl' (acc: x: acc ++ [ x ]) [ ] [ 1 2 3 ]"#,
        r#"[1,2,3]"#,
    ),
    (
        r#"builtins.concatLists [ [ 1 ] [ ] [ 2 3 ] ]"#,
        r#"[1,2,3]"#,
    ),
    (r#"builtins.concatMap (x: [ x x ]) [ 1 2 ]"#, r#"[1,1,2,2]"#),
    (
        r#"builtins.concatStringsSep ", " [ "a" "b" "c" ]"#,
        r#""a, b, c""#,
    ),
    (r#"builtins.concatStringsSep "-" [ ]"#, r#""""#),
    (
        r#"[ (builtins.attrNames { b = 1; a = 2; C = 3; }) (builtins.attrValues { b = 1; a = 2; C = 3; }) ]"#,
        r#"[["C","a","b"],[3,2,1]]"#,
    ),
    (
        r#"[ (builtins.hasAttr "a" { a = 1; }) (builtins.hasAttr "b" { a = 1; }) (builtins.getAttr "a" { a = 7; }) ]"#,
        r#"[true,false,7]"#,
    ),
    (
        r#"builtins.listToAttrs [ { name = "a"; value = 1; } { name = "b"; value = 2; } { name = "a"; value = 3; } ]"#,
        r#"{"a":1,"b":2}"#,
    ),
    (
        r#"builtins.mapAttrs (name: value: name + toString value) { a = 1; b = 2; }"#,
        r#"{"a":"a1","b":"b2"}"#,
    ),
    (
        r#"[ (builtins.replaceStrings [ "a" "b" ] [ "x" "yy" ] "abcab") (builtins.replaceStrings [ "" ] [ "-" ] "abc") (builtins.replaceStrings [ "aa" "a" ] [ "1" "2" ] "aaa") (builtins.replaceStrings [ ] [ ] "q") ]"#,
        r#"["xyycxyy","-a-b-c-","12","q"]"#,
    ),
    (
        r#"[ (builtins.stringLength "") (builtins.stringLength "abc") (builtins.stringLength "é") ]"#,
        r#"[0,3,2]"#,
    ),
    (
        r#"[ (builtins.substring 0 2 "abcd") (builtins.substring 1 100 "abcd") (builtins.substring 10 2 "abcd") (builtins.substring 1 (-1) "abcd") (builtins.substring 0 0 "abcd") ]"#,
        r#"["ab","bcd","","bcd",""]"#,
    ),
    (
        r#"builtins.toJSON { b = [ 1 "two" null true ]; a = { c = "q\"\\\n\t"; }; }"#,
        r#""{\"a\":{\"c\":\"q\\\"\\\\\\n\\t\"},\"b\":[1,\"two\",null,true]}""#,
    ),
    (
        r#"builtins.fromJSON ''{"a": [1, -2, true, false, null, "x\u00e9\n"], "b": {"c": "d"}, "": 0}''"#,
        r#"{"":0,"a":[1,-2,true,false,null,"xé\n"],"b":{"c":"d"}}"#,
    ),
    (
        r#"[ (builtins.pathExists ./nope) (builtins.seq 1 2) (builtins.deepSeq [ 1 ] 2) (builtins.seq [ (throw "no") ] 3) ]"#,
        r#"[false,2,2,3]"#,
    ),
    (
        r#"[ (builtins.all (x: x > 0) [ 1 2 ]) (builtins.all (x: x > 1) [ 1 2 ]) (builtins.any (x: x > 1) [ 1 2 ]) (builtins.any (x: x) [ ]) (builtins.all (x: x) [ ]) ]"#,
        r#"[true,false,true,false,true]"#,
    ),
    (
        r#"[ (builtins.lessThan 1 2) (builtins.lessThan "b" "a") ]"#,
        r#"[true,false]"#,
    ),
    (
        r#"builtins.sort (a: b: a < b) [ 5 3 9 1 3 2 8 7 6 4 0 11 10 ]"#,
        r#"[0,1,2,3,3,4,5,6,7,8,9,10,11]"#,
    ),
    (
        r#"builtins.sort (a: b: a.k < b.k) [ { k = 2; v = "a"; } { k = 1; v = "b"; } { k = 2; v = "c"; } { k = 1; v = "d"; } { k = 0; v = "e"; } { k = 2; v = "f"; } { k = 1; v = "g"; } { k = 2; v = "h"; } { k = 0; v = "i"; } { k = 1; v = "j"; } ]"#,
        r#"[{"k":0,"v":"e"},{"k":0,"v":"i"},{"k":1,"v":"b"},{"k":1,"v":"d"},{"k":1,"v":"g"},{"k":1,"v":"j"},{"k":2,"v":"a"},{"k":2,"v":"c"},{"k":2,"v":"f"},{"k":2,"v":"h"}]"#,
    ),
    (
        r#"builtins.sort builtins.lessThan [ "b" "a" "c" ]"#,
        r#"["a","b","c"]"#,
    ),
    (
        r#"[ (builtins.hashString "sha256" "hello") (builtins.hashString "sha512" "") ]"#,
        r#"["2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824","cf83e1357eefb8bdf1542850d66d8007d620e4050b5715dc83f4a921d36ce9ce47d0d13c5d85f2b0ff8318d2877eec2f63b931bd47417a81a538327af927da3e"]"#,
    ),
    (
        r#"[ (builtins.add 1 2) (builtins.sub 1 5) (builtins.mul 3 4) (builtins.div 7 2) (builtins.div (-7) 2) ]"#,
        r#"[3,-4,12,3,-3]"#,
    ),
    (
        r#"builtins.catAttrs "a" [ { a = 1; } { b = 2; } { a = 3; } ]"#,
        r#"[1,3]"#,
    ),
    (
        r#"builtins.groupBy (s: builtins.substring 0 1 s) [ "apple" "avocado" "banana" "cherry" "blue" ]"#,
        r#"{"a":["apple","avocado"],"b":["banana","blue"],"c":["cherry"]}"#,
    ),
    (
        r#"builtins.intersectAttrs { a = 0; c = 0; } { a = 1; b = 2; c = 3; }"#,
        r#"{"a":1,"c":3}"#,
    ),
    (
        r#"builtins.partition (x: x > 2) [ 1 2 3 4 ]"#,
        r#"{"right":[3,4],"wrong":[1,2]}"#,
    ),
    (
        r#"builtins.zipAttrsWith (name: values: values) [ { a = 1; b = 2; } { a = 3; } { c = 4; } ]"#,
        r#"{"a":[1,3],"b":[2],"c":[4]}"#,
    ),
    (
        r#"builtins.zipAttrsWith (name: values: name) [ { a = 1; } ]"#,
        r#"{"a":"a"}"#,
    ),
    (
        r#"[ builtins.true builtins.false builtins.null ]"#,
        r#"[true,false,null]"#,
    ),
    (r#"builtins.trace "hello" 5"#, r#"5"#),
    (
        r#"let fib = n: if n < 2 then n else fib (n - 1) + fib (n - 2); in fib 15"#,
        r#"610"#,
    ),
    (
        r#"let xs = builtins.genList (i: i) 1000; in builtins.foldl' (a: b: a + b) 0 xs"#,
        r#"499500"#,
    ),
    (
        r#"let f = n: if n == 0 then 0 else 1 + f (n - 1); in f 500"#,
        r#"500"#,
    ),
    (
        r#"''
  line one
    indented ${"x"}
  end
''"#,
        r#""line one\n  indented x\nend\n""#,
    ),
    (
        r#""tab\there \"quoted\" back\\slash dollar \${x}""#,
        r#""tab\there \"quoted\" back\\slash dollar ${x}""#,
    ),
    (
        r#"{ "a b" = 1; "" = 2; "é" = 3; }"#,
        r#"{"":2,"a b":1,"é":3}"#,
    ),
    (
        r#"let s = { __toString = self: "S"; }; in [ "${s}" (toString s) ]"#,
        r#"["S","S"]"#,
    ),
    (r#"toString { outPath = "/out"; }"#, r#""/out""#),
    (r#""${{ outPath = "o"; }}""#, r#""o""#),
    (
        r#"({ __functor = self: x: x + self.n; n = 10; }) 5"#,
        r#"15"#,
    ),
    (
        r#"[ (let x = 1; in x) (let x = 1; y = x; in y) ]"#,
        r#"[1,1]"#,
    ),
    (
        r#"let a = { x = 1; }; b = a // { y = 2; }; in [ a b ]"#,
        r#"[{"x":1},{"x":1,"y":2}]"#,
    ),
    (
        r#"let l = [ 1 2 3 ]; in [ (builtins.elemAt l 0) (builtins.length (l ++ l)) ]"#,
        r#"[1,6]"#,
    ),
    (r#"builtins.toJSON [ 1 "é" (-3) ]"#, r#""[1,\"é\",-3]""#),
    (r#"builtins.fromJSON "[]""#, r#"[]"#),
    (
        r#"builtins.attrNames (builtins.fromJSON "{\"b\":1,\"a\":2}")"#,
        r#"["a","b"]"#,
    ),
    (
        r#"let f = { a ? 1 }: a; in [ (f { }) (f { a = 2; }) ]"#,
        r#"[1,2]"#,
    ),
    (r#"(x: { inherit x; }) 3"#, r#"{"x":3}"#),
    (r#"let x = { a = 1; }; in x.a + x.a"#, r#"2"#),
    (
        r#"builtins.map (f: f 2) [ (x: x + 1) (x: x * 10) ]"#,
        r#"[3,20]"#,
    ),
    (
        r#"[ (builtins.typeOf (builtins.add 1)) (builtins.isFunction (builtins.add 1)) ]"#,
        r#"["lambda",true]"#,
    ),
    (
        r#"let x = 9223372036854775807; in x"#,
        r#"9223372036854775807"#,
    ),
    (r#"-9223372036854775807 - 1"#, r#"-9223372036854775808"#),
    (
        r#"toString (-9223372036854775807 - 1)"#,
        r#""-9223372036854775808""#,
    ),
    (
        r#"builtins.sort (a: b: a > b) [ [ 1 2 ] [ 1 ] [ 2 ] [ ] ]"#,
        r#"[[2],[1,2],[1],[]]"#,
    ),
    (r#""${"a"}${"b"}" + "c""#, r#""abc""#),
    (r#""a" + toString ./x"#, r#""a/tmp/nxc/t/x""#),
    (r#"./x + "/y" == ./x/y"#, r#"true"#),
    (r#"toString (./x + "y")"#, r#""/tmp/nxc/t/xy""#),
    (r#"toString (./a/b/.. + "/c")"#, r#""/tmp/nxc/t/a/c""#),
    (r#"[ (baseNameOf ./.) ]"#, r#"["t"]"#),
];

#[test]
fn matches_nix_output() {
    let mut failures = Vec::new();
    for (src, expected) in NIX_AGREES {
        match json_of(src) {
            Ok(json) if json == *expected => {}
            Ok(json) => failures.push(format!("{src}\n  nix: {expected}\n  hac: {json}")),
            Err(err) => failures.push(format!("{src}\n  nix: {expected}\n  hac: {err:?}")),
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} differ:\n{}",
        failures.len(),
        NIX_AGREES.len(),
        failures.join("\n")
    );
}

// ---- laziness and recursion -------------------------------------------------

#[test]
fn unused_values_are_not_evaluated() {
    assert_eq!(ok(r#"let a = throw "no"; b = 1; in b"#), "1");
    assert_eq!(ok(r#"builtins.length [ (throw "a") (abort "b") ]"#), "2");
    assert_eq!(ok(r#"(x: 1) (throw "no")"#), "1");
    assert_eq!(ok(r#"builtins.attrNames { a = throw "x"; }"#), r#"["a"]"#);
    assert_eq!(ok(r#"({ a ? throw "d" }: 2) { }"#), "2");
    assert_eq!(ok(r#"builtins.length (map (x: throw "m") [ 1 2 ])"#), "2");
}

#[test]
fn thunks_are_evaluated_once() {
    let analysis = run_files(
        &[(MAIN, r#"let x = builtins.trace "once" 1; in x + x + x"#)],
        &Limits::default(),
    );
    let traces: Vec<_> = analysis
        .diagnostics
        .iter()
        .filter(|d| d.code == codes::TRACE)
        .collect();
    assert_eq!(traces.len(), 1);
    assert_eq!(traces[0].severity, Severity::Advice);
    assert_eq!(traces[0].message, "once");
    assert_eq!(analysis.value.unwrap().kind, ValueKind::Int(3));
}

#[test]
fn let_and_rec_are_recursive_in_any_order() {
    assert_eq!(ok("let a = b; b = c; c = 3; in a"), "3");
    assert_eq!(ok("rec { x = y; y = z; z = 1; }"), r#"{"x":1,"y":1,"z":1}"#);
    assert_eq!(
        ok(
            "let even = n: if n == 0 then true else odd (n - 1); odd = n: if n == 0 then false else even (n - 1); in even 10"
        ),
        "true"
    );
}

#[test]
fn self_dependency_is_infinite_recursion() {
    let (err, text) = fails_with("let x = x; in x", codes::INFINITE_RECURSION);
    assert_eq!(text, "x");
    assert_eq!(err.primary().unwrap().origin.span.start, 8);
    let (err, _) = fails_with("let a = b + 1; b = a + 1; in a", codes::INFINITE_RECURSION);
    assert!(err.labels.len() >= 2, "{err:?}");
    fails_with("rec { a = a; }", codes::INFINITE_RECURSION);
    // A value that uses itself inside: one label, on the use.
    let (err, text) = fails_with(r#"rec { e = "${e}:6443"; }"#, codes::INFINITE_RECURSION);
    assert_eq!(text, "e");
    assert_eq!(err.primary().unwrap().origin.span.start, 13);
    assert!(
        !err.labels.iter().any(|l| l.message == "needed again here"),
        "{err:?}"
    );
}

// ---- errors at the right place ------------------------------------------------

#[test]
fn type_errors_name_types_and_point_at_the_operand() {
    let (err, text) = fails_with(r#"1 + "a""#, codes::TYPE_MISMATCH);
    assert_eq!(err.message, "cannot add a string to an integer");
    assert_eq!(text, r#""a""#);
    let (err, text) = fails_with(r#"[ 1 ] ++ { }"#, codes::TYPE_MISMATCH);
    assert_eq!(err.message, "value is a set while a list was expected");
    assert_eq!(text, "{ }");
    let (err, text) = fails_with(r#""x${1}""#, codes::TYPE_MISMATCH);
    assert_eq!(err.message, "cannot coerce an integer to a string");
    assert_eq!(text, "1");
    let (err, _) = fails_with(r#"if 1 then 2 else 3"#, codes::TYPE_MISMATCH);
    assert_eq!(
        err.message,
        "value is an integer while a Boolean was expected"
    );
    let (err, _) = fails_with(r#"1 < "a""#, codes::TYPE_MISMATCH);
    assert_eq!(err.message, "cannot compare an integer with a string");
    let (err, text) = fails_with("let f = x: x + 1; in f true", codes::TYPE_MISMATCH);
    assert_eq!(text, "x");
    // The value's own origin is a secondary label.
    assert!(
        err.labels
            .iter()
            .any(|l| !l.primary && l.origin.span.start == 23),
        "{err:?}"
    );
    fails_with(r#"-"a""#, codes::TYPE_MISMATCH);
    fails_with(r#"!1"#, codes::TYPE_MISMATCH);
    fails_with(r#"{ } // [ ]"#, codes::TYPE_MISMATCH);
    fails_with(r#"null.x"#, codes::TYPE_MISMATCH);
    fails_with(r#"true && 1"#, codes::TYPE_MISMATCH);
    fails_with(r#""a" - "b""#, codes::TYPE_MISMATCH);
    fails_with(r#"toString { }"#, codes::TYPE_MISMATCH);
}

#[test]
fn missing_attribute_suggests_and_points_at_the_set() {
    let (err, text) = fails_with(
        "let s = { workers = 1; }; in s.wokers",
        codes::MISSING_ATTRIBUTE,
    );
    assert_eq!(err.message, "attribute `wokers` missing");
    assert_eq!(text, "wokers");
    assert_eq!(err.help.as_deref(), Some("did you mean `workers`?"));
    assert!(
        err.labels
            .iter()
            .any(|l| !l.primary && l.origin.span.start == 8)
    );
    fails_with(r#"builtins.getAttr "x" { }"#, codes::MISSING_ATTRIBUTE);
}

#[test]
fn call_errors() {
    let (err, text) = fails_with("let x = 1; in x 2", codes::NOT_A_FUNCTION);
    assert_eq!(text, "x 2");
    assert!(err.message.contains("an integer"));
    let (err, text) = fails_with("({ a, b }: a) { a = 1; }", codes::MISSING_ARGUMENT);
    assert_eq!(text, "({ a, b }: a) { a = 1; }");
    assert!(err.message.contains("`b`"));
    assert!(
        err.labels
            .iter()
            .any(|l| !l.primary && l.origin.span.start == 6)
    );
    let (err, text) = fails_with(
        "({ name }: name) { nmae = 1; name = 2; }",
        codes::UNEXPECTED_ARGUMENT,
    );
    assert_eq!(text, "nmae");
    assert_eq!(err.help.as_deref(), Some("did you mean `name`?"));
    // A misspelt required argument is one mistake: the misspelling is what is reported.
    let (err, text) = fails_with(
        "({ name, address }: name) { name = 1; addres = 2; }",
        codes::UNEXPECTED_ARGUMENT,
    );
    assert_eq!(text, "addres");
    assert_eq!(err.help.as_deref(), Some("did you mean `address`?"));
    let (_, text) = fails_with(
        "({ name, address }: name) { name = 1; port = 2; }",
        codes::MISSING_ARGUMENT,
    );
    assert_eq!(text, "({ name, address }: name) { name = 1; port = 2; }");
    let (_, text) = fails_with("({ a }: a) 5", codes::TYPE_MISMATCH);
    assert_eq!(text, "({ a }: a) 5");
}

#[test]
fn assert_throw_abort() {
    let (_, text) = fails_with("assert 1 == 2; 3", codes::ASSERTION_FAILED);
    assert_eq!(text, "1 == 2");
    let (err, text) = fails_with(r#"{ a = throw "bad value"; }"#, codes::THROW);
    assert_eq!(err.message, "bad value");
    assert_eq!(text, r#"throw "bad value""#);
    assert!(
        err.labels
            .iter()
            .any(|l| l.message == "while evaluating the attribute `a`")
    );
    let (err, _) = fails_with(r#"abort "stop""#, codes::ABORT);
    assert!(err.message.contains("stop"));
}

#[test]
fn arithmetic_errors() {
    let (_, text) = fails_with("1 / (1 - 1)", codes::DIVISION_BY_ZERO);
    assert_eq!(text, "1 - 1");
    fails_with("9223372036854775807 + 1", codes::INTEGER_OVERFLOW);
    fails_with("(-9223372036854775807 - 1) / (-1)", codes::INTEGER_OVERFLOW);
    fails_with("-(-9223372036854775807 - 1)", codes::INTEGER_OVERFLOW);
    fails_with("9223372036854775807 * 2", codes::INTEGER_OVERFLOW);
    fails_with("builtins.div 1 0", codes::DIVISION_BY_ZERO);
}

#[test]
fn builtin_argument_errors() {
    fails_with("builtins.elemAt [ 1 ] 3", codes::INDEX_OUT_OF_BOUNDS);
    fails_with("builtins.head [ ]", codes::INDEX_OUT_OF_BOUNDS);
    fails_with("builtins.tail [ ]", codes::INDEX_OUT_OF_BOUNDS);
    fails_with("builtins.genList (x: x) (-1)", codes::INVALID_ARGUMENT);
    fails_with(r#"builtins.fromJSON "1.5""#, codes::INVALID_ARGUMENT);
    fails_with(r#"builtins.fromJSON "[1, 2""#, codes::INVALID_ARGUMENT);
    fails_with(r#"builtins.hashString "foo" "a""#, codes::INVALID_ARGUMENT);
    fails_with(r#"builtins.substring (-1) 1 "a""#, codes::INVALID_ARGUMENT);
    fails_with(
        r#"builtins.replaceStrings [ "a" ] [ ] "a""#,
        codes::INVALID_ARGUMENT,
    );
    fails_with(r#"builtins.toJSON (x: x)"#, codes::NOT_REPRESENTABLE);
    fails_with(r#"map 1 [ 1 ]"#, codes::NOT_A_FUNCTION);
    fails_with(r#"builtins.filter 1 [ ]"#, codes::TYPE_MISMATCH);
    assert_eq!(ok(r#"map 1 [ ]"#), "[]");
    assert_eq!(ok(r#"{ a = throw "lazy"; } ? a"#), "true");
}

/// A wrong argument of a builtin is underlined where it is written, and a wrong
/// element of a list argument at the element, not over the whole call.
#[test]
fn builtin_type_errors_point_at_the_argument_or_element() {
    let cases: &[(&str, &str, &str)] = &[
        (
            r#"builtins.length "abc""#,
            r#""abc""#,
            "value is a string while a list was expected",
        ),
        (
            r#"builtins.concatStringsSep "," [ "a" 1 ]"#,
            "1",
            "cannot coerce an integer to a string",
        ),
        (
            r#"builtins.concatStringsSep 1 [ ]"#,
            "1",
            "value is an integer while a string was expected",
        ),
        (
            "builtins.map (x: x) 1",
            "1",
            "value is an integer while a list was expected",
        ),
        (
            "builtins.filter 1 [ ]",
            "1",
            "value is an integer while a function was expected",
        ),
        (
            r#"builtins.attrNames [ "a" ]"#,
            r#"[ "a" ]"#,
            "value is a list while a set was expected",
        ),
        (
            r#"builtins.elemAt [ 1 ] "0""#,
            r#""0""#,
            "value is a string while an integer was expected",
        ),
        (
            r#"builtins.head { }"#,
            "{ }",
            "value is a set while a list was expected",
        ),
        (
            r#"builtins.stringLength [ ]"#,
            "[ ]",
            "cannot coerce a list to a string",
        ),
        (
            r#"builtins.substring 0 "1" "abc""#,
            r#""1""#,
            "value is a string while an integer was expected",
        ),
        (
            r#"builtins.concatLists [ [ 1 ] 2 ]"#,
            "2",
            "value is an integer while a list was expected",
        ),
        (
            r#"builtins.catAttrs "a" [ { a = 1; } 2 ]"#,
            "2",
            "value is an integer while a set was expected",
        ),
        (
            r#"builtins.listToAttrs [ { name = 1; value = 2; } ]"#,
            "1",
            "value is an integer while a string was expected",
        ),
        (
            r#"builtins.listToAttrs [ 3 ]"#,
            "3",
            "value is an integer while a set was expected",
        ),
        (
            r#"builtins.removeAttrs { } [ "a" 1 ]"#,
            "1",
            "value is an integer while a string was expected",
        ),
        (
            r#"builtins.replaceStrings [ "a" 1 ] [ "b" "c" ] "a""#,
            "1",
            "value is an integer while a string was expected",
        ),
        (
            r#"builtins.replaceStrings [ "a" ] [ null ] "a""#,
            "null",
            "value is null while a string was expected",
        ),
        (
            r#"builtins.zipAttrsWith (n: v: v) [ { } 1 ]"#,
            "1",
            "value is an integer while a set was expected",
        ),
        (
            r#"builtins.add 1 "2""#,
            r#""2""#,
            "value is a string while an integer was expected",
        ),
        (
            r#"builtins.hasAttr 1 { }"#,
            "1",
            "value is an integer while a string was expected",
        ),
        (
            r#"builtins.toString (x: x)"#,
            "x: x",
            "cannot coerce a function to a string",
        ),
        (
            r#"let f = builtins.length; in f "abc""#,
            r#""abc""#,
            "value is a string while a list was expected",
        ),
    ];
    for (src, underlined, message) in cases {
        let (err, text) = fails_with(src, codes::TYPE_MISMATCH);
        assert_eq!(
            (text.as_str(), err.message.as_str()),
            (*underlined, *message),
            "{src}"
        );
    }
    // Written elsewhere: the argument is underlined, and the value's origin shown.
    let (err, text) = fails_with(
        r#"let s = "abc"; in builtins.length s"#,
        codes::TYPE_MISMATCH,
    );
    assert_eq!(text, "s");
    assert!(
        err.labels
            .iter()
            .any(|l| !l.primary && l.origin.span.start == 8),
        "{err:?}"
    );
    // An element of a list written elsewhere: the element, with the list as context.
    let (err, text) = fails_with(
        r#"let xs = [ "a" 1 ]; in builtins.concatStringsSep "," xs"#,
        codes::TYPE_MISMATCH,
    );
    assert_eq!(text, "1");
    assert!(
        err.labels.iter().any(|l| !l.primary
            && l.message == "an element of this list"
            && l.origin.span.start == 53),
        "{err:?}"
    );
}

#[test]
fn partial_application_of_builtins() {
    assert_eq!(
        ok("let add2 = builtins.add 2; in map add2 [ 1 2 ]"),
        "[3,4]"
    );
    assert_eq!(ok(r#"builtins.foldl' builtins.add 0 [ 1 2 3 ]"#), "6");
    assert_eq!(
        ok(r#"map (builtins.replaceStrings [ "a" ] [ "b" ]) [ "a" "aa" ]"#),
        r#"["b","bb"]"#
    );
}

// ---- values and origins ---------------------------------------------------------

fn value_of(files: &[(&str, &str)]) -> (Value, super::Analysis) {
    let analysis = run_files(files, &Limits::default());
    assert!(!analysis.has_errors(), "{:?}", analysis.diagnostics);
    (analysis.value.clone().unwrap(), analysis)
}

#[test]
fn origins_follow_values_through_functions_and_lets() {
    let src = "let port = 80; mk = p: { inherit p; }; in mk port";
    let (value, analysis) = value_of(&[(MAIN, src)]);
    let attrs = value.as_attrs().unwrap();
    let p = attrs.get("p").unwrap();
    let text = |o: crate::span::Origin| analysis.sources.get(o.file).slice(o.span).to_owned();
    assert_eq!(text(p.value.origin), "80");
    assert_eq!(text(p.name_origin), "p");
    assert_eq!(
        p.name_origin.span.start,
        src.find("inherit p").unwrap() as u32 + 8
    );
    assert_eq!(text(value.origin), "{ inherit p; }");
}

#[test]
fn origins_of_builtin_made_attributes() {
    let src = r#"builtins.listToAttrs [ { name = "k"; value = 1; } ]"#;
    let (value, analysis) = value_of(&[(MAIN, src)]);
    let attr = value.as_attrs().unwrap().get("k").unwrap();
    let o = attr.name_origin;
    assert_eq!(analysis.sources.get(o.file).slice(o.span), r#""k""#);
    let src = r#"builtins.mapAttrs (n: v: v + 1) { a = 1; }"#;
    let (value, analysis) = value_of(&[(MAIN, src)]);
    let attr = value.as_attrs().unwrap().get("a").unwrap();
    let o = attr.name_origin;
    assert_eq!(analysis.sources.get(o.file).slice(o.span), "a");
}

// ---- imports ----------------------------------------------------------------------

#[test]
fn imports_resolve_relative_to_the_importing_file_and_are_cached() {
    let files = [
        (
            "/p/main.hac",
            r#"let a = import ./lib/a.hac; in [ a.x (import ./lib/a.hac).x (import "/p/lib/a.hac").y ]"#,
        ),
        (
            "/p/lib/a.hac",
            r#"{ x = builtins.trace "loaded" 1; y = import ./b.hac; }"#,
        ),
        ("/p/lib/b.hac", "2"),
    ];
    let (value, analysis) = value_of(&files);
    assert_eq!(crate::json::to_json(&value).unwrap(), "[1,1,2]");
    assert_eq!(analysis.sources.len(), 3);
    let traces = analysis
        .diagnostics
        .iter()
        .filter(|d| d.code == codes::TRACE)
        .count();
    assert_eq!(traces, 1);
    // Origins point into the imported file.
    let first = &value.as_list().unwrap()[0];
    assert_eq!(
        analysis.sources.get(first.origin.file).path,
        Path::new("/p/lib/a.hac")
    );
}

#[test]
fn import_cycle_names_the_chain() {
    let files = [
        ("/p/a.hac", "import ./b.hac"),
        ("/p/b.hac", "{ x = import ./a.hac; }.x"),
    ];
    let analysis = run_files(&files, &Limits::default());
    let err = analysis.diagnostics.iter().find(|d| d.is_error()).unwrap();
    assert_eq!(err.code, codes::IMPORT_CYCLE);
    assert_eq!(err.message, "import cycle: a.hac → b.hac → a.hac");
    // Lazily cyclic imports are fine, as in Nix.
    let files = [
        ("/p/a.hac", "{ x = 1; y = (import ./b.hac).z; }"),
        ("/p/b.hac", "{ z = (import ./a.hac).x + 1; }"),
    ];
    let (value, _) = value_of(&files);
    assert_eq!(crate::json::to_json(&value).unwrap(), r#"{"x":1,"y":2}"#);
}

#[test]
fn missing_import_is_reported_at_the_path() {
    let (err, text) = fails_with("import ./nope.hac", codes::FILE_NOT_FOUND);
    assert_eq!(text, "./nope.hac");
    // Named as the importing file would, not by an absolute path.
    assert_eq!(err.message, "cannot read `./nope.hac`: no such file");
    let (err, _) = fails_with("builtins.readFile ../etc/nope", codes::FILE_NOT_FOUND);
    assert_eq!(err.message, "cannot read `../etc/nope`: no such file");
    let files = [
        (
            "/p/main.hac",
            r#"[ (builtins.readFile ./data.txt) (builtins.pathExists ./data.txt) ]"#,
        ),
        ("/p/data.txt", "hi\n"),
    ];
    let (value, _) = value_of(&files);
    assert_eq!(crate::json::to_json(&value).unwrap(), r#"["hi\n",true]"#);
}

// ---- limits -------------------------------------------------------------------------

#[test]
fn deep_recursion_is_a_diagnostic() {
    fails_with(
        "let f = n: if n == 0 then 0 else 1 + f (n - 1); in f 1000000",
        codes::RECURSION_TOO_DEEP,
    );
    let (err, _) = {
        let analysis = run_files(&[(MAIN, "let f = x: f x; in f 1")], &Limits::default());
        let err = analysis
            .diagnostics
            .into_iter()
            .find(|d| d.is_error())
            .unwrap();
        (err, ())
    };
    assert!(
        err.code == codes::RECURSION_TOO_DEEP || err.code == codes::BUDGET_EXCEEDED,
        "{err:?}"
    );
    // A value that contains itself cannot be printed; the report says where it loops.
    let (err, text) = fails_with("let x = { a = x; }; in x", codes::INFINITE_RECURSION);
    assert_eq!(err.message, "the set contains itself at `a`");
    assert_eq!(text, "{ a = x; }");
    let (err, _) = fails_with("let l = [ 1 { b = l; } ]; in l", codes::INFINITE_RECURSION);
    assert_eq!(err.message, "the list contains itself at `[1].b`");
    // But `deepSeq` stops at values it has seen, like Nix.
    assert_eq!(ok("let x = { a = x; }; in builtins.deepSeq x 1"), "1");
}

#[test]
fn budgets_stop_runaway_programs() {
    fails_with("builtins.genList (x: x) 100000000", codes::BUDGET_EXCEEDED);
    fails_with(
        r#"let s = n: if n == 0 then "x" else (s (n - 1)) + (s (n - 1)); in s 40"#,
        codes::BUDGET_EXCEEDED,
    );
    let small = Limits {
        max_steps: 1000,
        ..Limits::default()
    };
    fails_with_limits(
        "let f = n: if n == 0 then 0 else f (n - 1); in f 100000",
        codes::BUDGET_EXCEEDED,
        &small,
    );
    let tiny = Limits {
        max_bytes: 1000,
        ..Limits::default()
    };
    fails_with_limits(
        r#"builtins.concatStringsSep "" (builtins.genList (x: "aaaaaaaaaa") 200)"#,
        codes::BUDGET_EXCEEDED,
        &tiny,
    );
    let shallow = Limits {
        max_depth: 50,
        ..Limits::default()
    };
    fails_with_limits(
        "let f = n: if n == 0 then 0 else 1 + f (n - 1); in f 100",
        codes::RECURSION_TOO_DEEP,
        &shallow,
    );
    assert_eq!(
        json_of("let f = n: if n == 0 then 0 else 1 + f (n - 1); in f 100").unwrap(),
        "100"
    );
}

#[test]
fn paths_are_absolute() {
    let (value, _) = value_of(&[("/p/q/main.hac", "[ ./x ../y /abs/./z ]")]);
    let paths: Vec<_> = value
        .as_list()
        .unwrap()
        .iter()
        .map(|v| match &v.kind {
            ValueKind::Path(p) => p.display().to_string(),
            other => panic!("{other:?}"),
        })
        .collect();
    assert_eq!(paths, ["/p/q/x", "/p/y", "/abs/z"]);
}

#[test]
fn syntax_errors_in_imported_files_carry_their_file() {
    let files = [
        ("/p/main.hac", "import ./bad.hac"),
        ("/p/bad.hac", "{ a = ; }"),
    ];
    let analysis = run_files(&files, &Limits::default());
    let err = analysis.diagnostics.iter().find(|d| d.is_error()).unwrap();
    assert_eq!(err.primary().unwrap().origin.file, crate::span::FileId(1));
    assert!(analysis.value.is_none());
}

#[test]
fn long_value_chains_are_freed_without_overflowing_the_stack() {
    let src = "let chain = builtins.foldl' (acc: x: { next = acc; }) { } (builtins.genList (x: x) 1000000); in builtins.seq chain 1";
    assert_eq!(ok(src), "1");
    // Closures that hold the previous closure, and lists that hold the previous list.
    let src = "let chain = builtins.foldl' (acc: x: y: acc) (y: 0) (builtins.genList (x: x) 300000); in builtins.seq chain 1";
    assert_eq!(ok(src), "1");
    let src = "let chain = builtins.foldl' (acc: x: [ acc ]) [ ] (builtins.genList (x: x) 300000); in builtins.seq chain 1";
    assert_eq!(ok(src), "1");
}

#[test]
fn comparisons_count_steps() {
    let small = Limits {
        max_steps: 100_000,
        ..Limits::default()
    };
    let doubling = "let s = n: if n == 0 then [ 1 ] else let t = s (n - 1); in [ t t ];";
    for op in ["==", "!=", "<", ">=", "<="] {
        fails_with_limits(
            &format!("{doubling} x = s 40; y = s 40; in x {op} y"),
            codes::BUDGET_EXCEEDED,
            &small,
        );
    }
    // Small comparisons stay within the same budget.
    let program = format!("{doubling} x = s 10; y = s 10; in x == y");
    let analysis = run_files(&[(MAIN, &program)], &small);
    assert!(
        analysis.diagnostics.is_empty(),
        "{:?}",
        analysis.diagnostics
    );
    assert_eq!(
        crate::json::to_json(analysis.value.as_ref().expect("a value")).unwrap(),
        "true"
    );
}

#[test]
fn plain_copies_of_shared_values_are_refused_before_they_are_built() {
    let sets = "let s = n: if n == 0 then { } else let t = s (n - 1); in { a = t; b = t; };";
    for program in [
        format!("{sets} in s 40"),
        format!("{sets} in builtins.toJSON (s 40)"),
    ] {
        let analysis = run_files(&[(MAIN, &program)], &Limits::default());
        let err = analysis.diagnostics.first().expect("an error");
        assert_eq!(err.code, codes::BUDGET_EXCEEDED, "{program}");
        assert!(
            err.message.contains("would allocate more than 1 GiB"),
            "{}",
            err.message
        );
    }
}

#[test]
fn substring_never_splits_a_character() {
    // Nix 2.8 returns the bytes (`stringLength` 1); hac strings stay valid UTF-8.
    let (err, text) = fails_with(
        r#"builtins.stringLength (builtins.substring 0 1 "éa")"#,
        codes::INVALID_ARGUMENT,
    );
    assert_eq!(
        err.message,
        "`substring` would split the UTF-8 character `é` at byte 1"
    );
    assert_eq!(text, r#"builtins.substring 0 1 "éa""#);
    let (err, _) = fails_with(r#"builtins.substring 2 5 "aéb""#, codes::INVALID_ARGUMENT);
    assert!(err.message.contains("`é` at byte 2"), "{}", err.message);
    let (err, _) = fails_with(r#"builtins.substring 1 2 "a€b""#, codes::INVALID_ARGUMENT);
    assert!(err.message.contains("`€` at byte 3"), "{}", err.message);
    // Cuts between characters are fine, counted in bytes as in Nix.
    assert_eq!(
        ok(
            r#"[ (builtins.substring 1 2 "aéb") (builtins.substring 0 100 "é") (builtins.substring 2 (-1) "é") ]"#
        ),
        r#"["é","é",""]"#
    );
}

#[test]
fn from_json_integers_are_exact() {
    // Nix 2.8 wraps 2^63 to -2^63 and reads -2^63 - 1 and 2^64 as floats.
    for text in [
        "9223372036854775808",
        "-9223372036854775809",
        "18446744073709551615",
        "18446744073709551616",
        "[ 1, { \\\"a\\\": 99999999999999999999 } ]",
    ] {
        let (err, label) = fails_with(
            &format!("let big = \"{text}\"; in builtins.fromJSON big"),
            codes::INTEGER_OVERFLOW,
        );
        assert_eq!(label, format!("\"{text}\""), "{err:?}");
    }
    // `-0` is the integer 0, as in Nix; the limits themselves are fine.
    assert_eq!(
        ok(
            r#"builtins.fromJSON "[ -0, 9223372036854775807, -9223372036854775808, { \"-0.5\": -0 } ]""#
        ),
        r#"[0,9223372036854775807,-9223372036854775808,{"-0.5":0}]"#
    );
    // A fraction anywhere is still a float, which hac does not have.
    fails_with(
        r#"builtins.fromJSON "[ -0, -0.0 ]""#,
        codes::INVALID_ARGUMENT,
    );
    fails_with(r#"builtins.fromJSON "1e3""#, codes::INVALID_ARGUMENT);
}

#[test]
fn the_memory_budget_counts_memory_in_use_not_every_allocation() {
    // Each step copies the set: about 2 GB allocated over the fold, little of it at once.
    assert_eq!(
        ok(
            r#"builtins.length (builtins.attrNames (builtins.foldl' (acc: i: acc // { "k${toString i}" = i; }) { } (builtins.genList (i: i) 10000)))"#
        ),
        "10000"
    );
    // 50,000 steps of string building: 1.25 GB allocated, 50 KB kept.
    assert_eq!(
        ok(
            r#"builtins.stringLength (builtins.foldl' (s: i: s + "x") "" (builtins.genList (i: i) 50000))"#
        ),
        "50000"
    );
    // What is kept still counts: a list of 1,000 strings of 2 MB each is refused.
    fails_with(
        r#"let big = builtins.concatStringsSep "" (builtins.genList (i: "x") 2000000); in builtins.genList (i: big + toString i) 1000"#,
        codes::BUDGET_EXCEEDED,
    );
}

#[test]
fn recursion_reaches_twenty_thousand_levels_and_more() {
    for depth in [20_000, 45_000] {
        assert_eq!(
            ok(&format!(
                "let f = n: if n == 0 then 0 else 1 + f (n - 1); in f {depth}"
            )),
            depth.to_string()
        );
    }
    // A chain of 10,000 thunks, each forcing the previous one through a call and a
    // builtin (several levels each).
    assert_eq!(
        ok(
            "let xs = builtins.genList (i: if i == 0 then 0 else builtins.elemAt xs (i - 1) + 1) 10000; in builtins.elemAt xs 9999"
        ),
        "9999"
    );
}

/// The fewest steps `src` evaluates within (found by bisection of `max_steps`).
fn steps_needed(src: &str) -> u64 {
    let succeeds = |max_steps: u64| {
        let limits = Limits {
            max_steps,
            ..Limits::default()
        };
        let analysis = run_files(&[(MAIN, src)], &limits);
        !analysis.diagnostics.iter().any(Diagnostic::is_error)
    };
    assert!(succeeds(10_000_000), "{src} fails");
    let (mut low, mut high) = (0, 10_000_000);
    while high - low > 1 {
        let mid = (low + high) / 2;
        if succeeds(mid) { high = mid } else { low = mid }
    }
    high
}

/// Programs whose functions are evaluated without a frame (plain bodies), with the
/// values they print and the steps they took when every call made a frame.
const PLAIN_CALLS: &[(&str, &str, u64)] = &[
    ("(x: x + 1) 2", "3", 5),
    (
        "map (x: if x < 2 then -x else !(x == 3)) [ 1 2 3 ]",
        "[-1,true,false]",
        31,
    ),
    (
        "builtins.sort (a: b: a < b) [ 3 1 2 5 4 ]",
        "[1,2,3,4,5]",
        35,
    ),
    (
        "builtins.foldl' (acc: x: acc + x) 0 (builtins.genList (i: i * i) 10)",
        "285",
        79,
    ),
    ("let f = (a: b: a - b) 10; in [ (f 1) (f 2) ]", "[9,8]", 15),
    (
        "let k = 7; f = a: b: a * k + b; in f 2 3 + builtins.foldl' f 1 [ 2 ]",
        "26",
        25,
    ),
    (
        "builtins.filter (x: x - (x / 2) * 2 == 0 && true) (builtins.genList (i: i) 9)",
        "[0,2,4,6,8]",
        121,
    ),
    ("(a: b: c: a + b + c) 1 2 3", "6", 11),
    ("builtins.genList (i: \"s\") 2", "[\"s\",\"s\"]", 6),
    // A call of a function already evaluated, written as an argument: its thunk
    // holds the function and its argument, not the frame.
    (
        "let compose = f: g: x: f (g x); inc = x: x + 1; double = x: x * 2; in map (compose inc double) [ 1 2 3 ]",
        "[3,5,7]",
        43,
    ),
    (
        "let compose = f: g: x: f (g x); inc = x: x + 1; in compose inc inc 1",
        "3",
        19,
    ),
    (
        "let g = x: x * 3; in builtins.foldl' (acc: x: acc + g (g x)) 0 [ 1 2 3 ]",
        "54",
        47,
    ),
    ("let twice = f: x: f (f x); in twice (x: x + 1) 5", "7", 16),
    // Strings with interpolations.
    (
        "builtins.genList (i: \"item-${toString i}\") 3",
        "[\"item-0\",\"item-1\",\"item-2\"]",
        13,
    ),
    (
        "map (x: \"${x}-${toString (builtins.stringLength x)}\") [ \"a\" \"bc\" ]",
        "[\"a-1\",\"bc-2\"]",
        18,
    ),
    (
        "let f = n: \"n=${toString n}\"; in f 1 + f 2",
        "\"n=1n=2\"",
        13,
    ),
    // `toString x` in an interpolation, appended without a string of its own.
    (
        "let host = i: { name = \"w${toString i}\"; }; in map (h: h.name) (builtins.genList host 3)",
        "[\"w0\",\"w1\",\"w2\"]",
        27,
    ),
    (
        "let f = x: { v = \"a${toString x}-${toString (x * 2)}\"; }; in (f 4).v",
        "\"a4-8\"",
        14,
    ),
    // A set pattern given a set written at the call: the set is not made.
    ("({ a, b ? 2 }: a + b) { a = 1; }", "3", 7),
    (
        "let pick = { a, b ? a, ... }: a * b; in map (i: pick { a = i; c = 0; }) [ 1 2 3 ]",
        "[1,4,9]",
        27,
    ),
    (
        "let f = p: { n, m ? 1 }: p + n * m; in [ (f 1 { n = 2; }) (f 2 { n = 3; m = 4; }) ]",
        "[3,14]",
        24,
    ),
];

#[test]
fn plain_bodies_give_the_values_and_count_the_steps_of_calls_with_frames() {
    for (src, json, steps) in PLAIN_CALLS {
        assert_eq!(ok(src), *json, "{src}");
        assert_eq!(steps_needed(src), *steps, "{src}");
    }
}

/// A diagnostic's labels: message, start and end.
type Labels = &'static [(&'static str, u32, u32)];

/// Every program of `cases` fails with its code, and with exactly its labels (message,
/// start, end), in order.
fn assert_labels(cases: &[(&str, &str, Labels)]) {
    for (src, code, labels) in cases {
        let (err, _) = fails_with(src, code);
        let found: Vec<_> = err
            .labels
            .iter()
            .map(|l| (l.message.as_str(), l.origin.span.start, l.origin.span.end))
            .collect();
        assert_eq!(found, *labels, "{src}");
    }
}

/// Errors raised in plain bodies, with the labels they had when every call made a
/// frame.
const PLAIN_ERRORS: &[(&str, &str, Labels)] = &[
    (
        "map (x: x * 2) [ 1 \"a\" ]",
        codes::TYPE_MISMATCH,
        &[
            ("expected an integer, found a string", 8, 9),
            ("the value comes from here", 19, 22),
        ],
    ),
    (
        "(x: x * 2) \"a\"",
        codes::TYPE_MISMATCH,
        &[
            ("expected an integer, found a string", 4, 5),
            ("the value comes from here", 11, 14),
        ],
    ),
    (
        "builtins.sort (a: b: a < b) [ 1 \"b\" ]",
        codes::TYPE_MISMATCH,
        &[
            ("in this comparison", 21, 26),
            ("this is a string", 32, 35),
            ("this is an integer", 30, 31),
        ],
    ),
    (
        "let f = a: b: a < b; in f 1 \"b\"",
        codes::TYPE_MISMATCH,
        &[
            ("in this comparison", 14, 19),
            ("this is an integer", 26, 27),
            ("this is a string", 28, 31),
            ("while calling this function", 24, 31),
        ],
    ),
    (
        "(x: if x then 1 else 2) 3",
        codes::TYPE_MISMATCH,
        &[
            ("expected a Boolean, found an integer", 7, 8),
            ("the value comes from here", 24, 25),
        ],
    ),
    (
        "let x = x; in (y: y + 1) x",
        codes::INFINITE_RECURSION,
        &[
            ("this value needs itself here", 8, 9),
            ("needed again here", 18, 19),
            ("while calling this function", 14, 26),
        ],
    ),
    (
        "(x: -x) (-9223372036854775807 - 1)",
        codes::INTEGER_OVERFLOW,
        &[("the result does not fit in 64 bits", 4, 6)],
    ),
];

#[test]
fn errors_in_plain_bodies_are_those_of_calls_with_frames() {
    assert_labels(PLAIN_ERRORS);
    // An argument a plain body never reads is never evaluated.
    assert_eq!(ok("(a: b: a) 1 (throw \"unused\")"), "1");
}

/// Programs passing arithmetic as arguments, with their values and the steps they
/// took when every such argument was a thunk evaluated when needed (plus those of
/// an argument computed at the call and never used).
const ARITHMETIC_ARGUMENTS: &[(&str, &str, u64)] = &[
    (
        "let fib = n: if n < 2 then n else fib (n - 1) + fib (n - 2); in fib 15",
        "610",
        21702,
    ),
    ("let f = n: [ (n * 2) (n + 1) ]; in f 3", "[6,4]", 11),
    (
        "let n = 4; in { a = n * n; b = n - 9; }",
        "{\"a\":16,\"b\":-5}",
        9,
    ),
    ("(x: 1) (9223372036854775807 + 1)", "1", 3),
    ("let f = n: g (n * 3); g = m: m; in f 5", "15", 11),
    // Never used: its three steps were not counted; now they are, at the call.
    ("let f = n: (x: 1) (n + 1); in f 2", "1", 7 + 3),
];

#[test]
fn arithmetic_arguments_give_the_values_and_count_the_steps_of_thunks() {
    // An argument that overflows is left for later and fails only when used.
    let (_, text) = fails_with("(x: x) (9223372036854775807 + 1)", codes::INTEGER_OVERFLOW);
    assert_eq!(text, "9223372036854775807 + 1");
    for (src, json, steps) in ARITHMETIC_ARGUMENTS {
        assert_eq!(ok(src), *json, "{src}");
        assert_eq!(steps_needed(src), *steps, "{src}");
    }
}

/// Elements `map` and `genList` leave for later, with their values and the steps
/// they took when each was a boxed deferred call.
const DEFERRED_CALLS: &[(&str, &str, u64)] = &[
    (
        "builtins.genList (i: { v = i; }) 3",
        "[{\"v\":0},{\"v\":1},{\"v\":2}]",
        7,
    ),
    ("map (x: [ x x ]) [ 1 2 ]", "[[1,1],[2,2]]", 6),
    (
        "builtins.length (map (x: throw \"unused\") [ 1 2 ])",
        "2",
        7,
    ),
    (
        "let l = map (x: y: x + y) [ 1 2 ]; in builtins.elemAt l 1 5",
        "7",
        14,
    ),
];

#[test]
fn deferred_calls_of_functions_give_the_values_steps_and_errors_of_boxed_ones() {
    for (src, json, steps) in DEFERRED_CALLS {
        assert_eq!(ok(src), *json, "{src}");
        assert_eq!(steps_needed(src), *steps, "{src}");
    }
    let errors: &[(&str, &str, Labels)] = &[
        (
            "builtins.elemAt (map (x: x.a) [ 1 ]) 0",
            codes::TYPE_MISMATCH,
            &[
                ("this is an integer, so `a` cannot be selected", 25, 26),
                ("the value comes from here", 32, 33),
            ],
        ),
        (
            "builtins.elemAt (builtins.genList (i: i + \"s\") 2) 1",
            codes::TYPE_MISMATCH,
            &[("this is a string", 42, 45), ("this is an integer", 38, 39)],
        ),
        (
            "let l = builtins.genList (i: builtins.elemAt l i) 2; in builtins.elemAt l 0",
            codes::INFINITE_RECURSION,
            &[("this value depends on itself", 8, 51)],
        ),
    ];
    assert_labels(errors);
}

#[test]
fn a_deferred_call_of_a_function_fits_in_the_thunk() {
    // Holding it in the thunk must not make every thunk larger.
    assert_eq!(std::mem::size_of::<super::runtime::ThunkState>(), 40);
    assert_eq!(std::mem::size_of::<super::runtime::ThunkCell>(), 48);
}

/// Plain bodies that call functions with variables and constants, with the values
/// they print and the steps they took when every call made a frame.
const PLAIN_BODIES_WITH_CALLS: &[(&str, &str, u64)] = &[
    (
        "builtins.foldl' (acc: i: acc + (x: y: x - y) i 1) 0 [ 1 2 3 ]",
        "3",
        36,
    ),
    (
        "let inc = x: x + 1; f = x: inc x * 2; in map f [ 1 2 ]",
        "[4,6]",
        21,
    ),
    (
        "let inc = x: x + 1; f = xs: map inc xs; in f [ 1 2 ]",
        "[2,3]",
        15,
    ),
    (
        "let g = a: b: a * b + k; k = 1; f = x: g x 3 - g 2 x; in f 5",
        "5",
        25,
    ),
    (
        "let f = n: if n == 0 then 0 else g n; g = n: f (n - 1); in f 50",
        "0",
        611,
    ),
    (
        "(a: b: (c: d: c + d + a) b \"x\") \"y\" \"z\"",
        "\"zxy\"",
        13,
    ),
];

#[test]
fn plain_bodies_with_calls_give_the_values_and_count_the_steps_of_calls_with_frames() {
    for (src, json, steps) in PLAIN_BODIES_WITH_CALLS {
        assert_eq!(ok(src), *json, "{src}");
        assert_eq!(steps_needed(src), *steps, "{src}");
    }
}

/// Errors raised in calls made by plain bodies, with the labels they had when
/// every call made a frame.
const PLAIN_CALL_ERRORS: &[(&str, &str, Labels)] = &[
    (
        "let f = x: g x; g = y: y * 2; in f \"a\"",
        codes::TYPE_MISMATCH,
        &[
            ("expected an integer, found a string", 23, 24),
            ("the value comes from here", 35, 38),
            ("while calling this function", 11, 14),
        ],
    ),
    (
        "let f = x: (a: b: a * b) x \"s\"; in f 1",
        codes::TYPE_MISMATCH,
        &[
            ("expected an integer, found a string", 22, 23),
            ("the value comes from here", 27, 30),
            ("while calling this function", 35, 38),
        ],
    ),
    (
        "let f = x: x 1; in f 2",
        codes::NOT_A_FUNCTION,
        &[
            ("an integer is called here", 11, 14),
            ("the value comes from here", 21, 22),
            ("while calling this function", 19, 22),
        ],
    ),
    (
        "let f = x: y: x + y 1; in builtins.foldl' f 0 [ 1 ]",
        codes::NOT_A_FUNCTION,
        &[
            ("an integer is called here", 18, 21),
            ("the value comes from here", 48, 49),
            ("while calling this function", 26, 51),
        ],
    ),
];

#[test]
fn errors_in_calls_from_plain_bodies_are_those_of_calls_with_frames() {
    assert_labels(PLAIN_CALL_ERRORS);
    // A call that would recurse without end stops at the depth limit.
    let (err, _) = fails_with("let f = x: f x; in f 1", codes::RECURSION_TOO_DEEP);
    assert_eq!(err.labels[0].message, "too deep here");
}
