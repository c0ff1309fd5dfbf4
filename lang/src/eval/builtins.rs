//! The builtin functions, curried like Nix's primops, with Nix's semantics.

use std::path::Path;
use std::rc::Rc;

use sha2::Digest;

use crate::codes;
use crate::diagnostic::Diagnostic;
use crate::span::Origin;

use super::machine::{Evaluator, R, error, help, prim_value, with_value_origin};
use super::runtime::{
    AttrSet, AttrSlot, Deferred, Kind, Slots, Thunk, ThunkState, Val, done, pending,
};

macro_rules! prims {
    ($( $variant:ident = $name:literal / $arity:literal, )*) => {
        #[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
        pub(crate) enum Prim { $( $variant, )* }

        const ALL_PRIMS: &[Prim] = &[ $( Prim::$variant, )* ];

        impl Prim {
            pub fn name(self) -> &'static str {
                match self { $( Prim::$variant => $name, )* }
            }

            pub fn arity(self) -> usize {
                match self { $( Prim::$variant => $arity, )* }
            }
        }
    };
}

prims! {
    Abort = "abort" / 1,
    Add = "add" / 2,
    All = "all" / 2,
    Any = "any" / 2,
    AttrNames = "attrNames" / 1,
    AttrValues = "attrValues" / 1,
    BaseNameOf = "baseNameOf" / 1,
    CatAttrs = "catAttrs" / 2,
    ConcatLists = "concatLists" / 1,
    ConcatMap = "concatMap" / 2,
    ConcatStringsSep = "concatStringsSep" / 2,
    DeepSeq = "deepSeq" / 2,
    Div = "div" / 2,
    Elem = "elem" / 2,
    ElemAt = "elemAt" / 2,
    Filter = "filter" / 2,
    FoldlStrict = "foldl'" / 3,
    FromJson = "fromJSON" / 1,
    GenList = "genList" / 2,
    GetAttr = "getAttr" / 2,
    GroupBy = "groupBy" / 2,
    HasAttr = "hasAttr" / 2,
    HashString = "hashString" / 2,
    Head = "head" / 1,
    Import = "import" / 1,
    IntersectAttrs = "intersectAttrs" / 2,
    IsAttrs = "isAttrs" / 1,
    IsBool = "isBool" / 1,
    IsFunction = "isFunction" / 1,
    IsInt = "isInt" / 1,
    IsList = "isList" / 1,
    IsNull = "isNull" / 1,
    IsPath = "isPath" / 1,
    IsString = "isString" / 1,
    Length = "length" / 1,
    LessThan = "lessThan" / 2,
    ListToAttrs = "listToAttrs" / 1,
    Map = "map" / 2,
    MapAttrs = "mapAttrs" / 2,
    Mul = "mul" / 2,
    Partition = "partition" / 2,
    PathExists = "pathExists" / 1,
    ReadFile = "readFile" / 1,
    RemoveAttrs = "removeAttrs" / 2,
    ReplaceStrings = "replaceStrings" / 3,
    Seq = "seq" / 2,
    Sort = "sort" / 2,
    StringLength = "stringLength" / 1,
    Sub = "sub" / 2,
    Substring = "substring" / 3,
    Tail = "tail" / 1,
    Throw = "throw" / 1,
    ToJson = "toJSON" / 1,
    ToString = "toString" / 1,
    Trace = "trace" / 2,
    TypeOf = "typeOf" / 1,
    ZipAttrsWith = "zipAttrsWith" / 2,
}

impl Prim {
    pub fn from_name(name: &str) -> Option<Prim> {
        ALL_PRIMS.iter().copied().find(|p| p.name() == name)
    }
}

/// The `builtins` set. Its attribute names point at the `builtins` reference that
/// first created it; there is no better place in the user's source.
pub(crate) fn builtins_set(origin: Origin) -> Val {
    let mut entries: Vec<(Rc<str>, AttrSlot)> = ALL_PRIMS
        .iter()
        .map(|&prim| {
            (
                prim.name().into(),
                slot(done(prim_value(prim, origin)), origin),
            )
        })
        .collect();
    for (name, kind) in [
        ("true", Kind::Bool(true)),
        ("false", Kind::Bool(false)),
        ("null", Kind::Null),
    ] {
        entries.push((name.into(), slot(done(Val::new(kind, origin)), origin)));
    }
    // `builtins.builtins` is the set itself, as in Nix. The cycle is broken when the
    // evaluator is dropped (see [`unlink_builtins`]).
    let itself = done(Val::new(Kind::Null, origin));
    entries.push(("builtins".into(), slot(itself.clone(), origin)));
    let set = Val::new(
        Kind::Attrs(Rc::new(AttrSet::from_unsorted(entries))),
        origin,
    );
    *itself.state.borrow_mut() = ThunkState::Done(set.clone());
    set
}

/// Frees the set made by [`builtins_set`] by breaking its cycle.
pub(crate) fn unlink_builtins(set: &Val) {
    if let Kind::Attrs(attrs) = &set.kind
        && let Some(slot) = attrs.get("builtins")
    {
        *slot.thunk.state.borrow_mut() = ThunkState::Done(Val::new(Kind::Null, set.origin));
    }
}

fn slot(thunk: Thunk, name_origin: Origin) -> AttrSlot {
    AttrSlot { thunk, name_origin }
}

/// Memory a deferred call (one element of `map`, `genList`…) takes, roughly.
const DEFERRED_CALL_BYTES: usize = 160;

fn deferred_call(func: &Val, mut args: Slots, site: Origin) -> Thunk {
    if let Kind::Lambda(closure) = &func.kind
        && args.len() == 1
        && let Some(arg) = args.pop()
    {
        return pending(ThunkState::Call {
            closure: closure.clone(),
            arg,
            site,
        });
    }
    pending(ThunkState::Apply(Box::new(Deferred {
        func: func.clone(),
        args,
        site,
    })))
}

fn string_val(text: impl Into<Rc<str>>, origin: Origin) -> Val {
    Val::new(Kind::Str(text.into()), origin)
}

fn list_val(items: Vec<Thunk>, origin: Origin) -> Val {
    Val::new(Kind::List(Rc::new(items)), origin)
}

fn set_val(set: AttrSet, origin: Origin) -> Val {
    Val::new(Kind::Attrs(Rc::new(set)), origin)
}

fn invalid(message: impl Into<String>, site: Origin, label: impl Into<String>) -> Box<Diagnostic> {
    error(codes::INVALID_ARGUMENT, message, site, label)
}

/// An error about an element of the list argument written at `list_site`: reported
/// at the element, with the list as context when it is written elsewhere.
fn in_list<T>(result: R<T>, list_site: Origin) -> R<T> {
    result.map_err(|mut err| {
        super::machine::add_context(&mut err, list_site, "an element of this list");
        err
    })
}

fn out_of_bounds(message: String, site: Origin) -> Box<Diagnostic> {
    error(codes::INDEX_OUT_OF_BOUNDS, message, site, "out of bounds")
}

pub(crate) fn call(
    ev: &mut Evaluator<'_>,
    prim: Prim,
    args: &[Thunk],
    sites: &[Origin],
    site: Origin,
) -> R<Val> {
    let bool_val = |b: bool| Val::new(Kind::Bool(b), site);
    match prim {
        Prim::Abort => {
            let msg = ev.coerce_arg(&args[0], sites[0])?;
            Err(error(
                codes::ABORT,
                format!("evaluation aborted: {msg}"),
                site,
                "aborted here",
            ))
        }
        Prim::Throw => {
            let msg = ev.coerce_arg(&args[0], sites[0])?;
            Err(error(codes::THROW, msg, site, "thrown here"))
        }
        Prim::Add | Prim::Sub | Prim::Mul | Prim::Div => {
            let a = ev.int_arg(&args[0], sites[0])?;
            let b = ev.int_arg(&args[1], sites[1])?;
            let (result, symbol) = match prim {
                Prim::Add => (a.checked_add(b), "+"),
                Prim::Sub => (a.checked_sub(b), "-"),
                Prim::Mul => (a.checked_mul(b), "*"),
                _ => {
                    if b == 0 {
                        return Err(error(
                            codes::DIVISION_BY_ZERO,
                            "division by zero",
                            site,
                            "divided by zero here",
                        ));
                    }
                    (a.checked_div(b), "/")
                }
            };
            match result {
                Some(n) => Ok(Val::new(Kind::Int(n), site)),
                None => Err(super::machine::overflow(format!("{a} {symbol} {b}"), site)),
            }
        }
        Prim::All | Prim::Any => {
            let func = ev.function_arg(&args[0], sites[0])?;
            let list = ev.list_arg(&args[1], sites[1])?;
            let want = prim == Prim::Any;
            for item in list.iter() {
                let result = ev.call(func.clone(), item.clone(), site)?;
                if ev.expect_bool(&result, site)? == want {
                    return Ok(bool_val(want));
                }
            }
            Ok(bool_val(!want))
        }
        Prim::AttrNames => {
            let set = ev.attrs_arg(&args[0], sites[0])?;
            ev.charge(set.len() * 16, site)?;
            let names = set
                .entries
                .iter()
                .map(|(name, slot)| done(string_val(name.clone(), slot.name_origin)))
                .collect();
            Ok(list_val(names, site))
        }
        Prim::AttrValues => {
            let set = ev.attrs_arg(&args[0], sites[0])?;
            ev.charge(set.len() * 16, site)?;
            Ok(list_val(
                set.entries.iter().map(|(_, s)| s.thunk.clone()).collect(),
                site,
            ))
        }
        Prim::BaseNameOf => {
            let val = ev.force(&args[0])?;
            let mut text = String::new();
            ev.coerce_into(&mut text, &val, sites[0], false)?;
            let trimmed = text.strip_suffix('/').unwrap_or(&text);
            let base = trimmed.rsplit('/').next().unwrap_or(trimmed);
            Ok(string_val(base, site))
        }
        Prim::CatAttrs => {
            let name = ev.str_arg(&args[0], sites[0])?;
            let list = ev.list_arg(&args[1], sites[1])?;
            let mut out = Vec::new();
            for item in list.iter() {
                let val = ev.force(item)?;
                let set = in_list(ev.expect_attrs(&val, val.origin), sites[1])?;
                if let Some(slot) = set.get(&name) {
                    out.push(slot.thunk.clone());
                }
            }
            ev.charge(out.len() * 16, site)?;
            Ok(list_val(out, site))
        }
        Prim::ConcatLists => {
            let list = ev.list_arg(&args[0], sites[0])?;
            let mut lists = Vec::with_capacity(list.len());
            for item in list.iter() {
                let val = ev.force(item)?;
                lists.push(in_list(ev.expect_list(&val, val.origin), sites[0])?);
            }
            ev.concat_lists(&lists, site)
        }
        Prim::ConcatMap => {
            let func = ev.function_arg(&args[0], sites[0])?;
            let list = ev.list_arg(&args[1], sites[1])?;
            let mut lists = Vec::with_capacity(list.len());
            for item in list.iter() {
                let val = ev.call(func.clone(), item.clone(), site)?;
                lists.push(ev.expect_list(&val, site)?);
            }
            ev.concat_lists(&lists, site)
        }
        Prim::ConcatStringsSep => {
            let sep = ev.str_arg(&args[0], sites[0])?;
            let list = ev.list_arg(&args[1], sites[1])?;
            let text = super::strings::build(|out| {
                for (i, item) in list.iter().enumerate() {
                    if i > 0 {
                        out.push_str(&sep);
                    }
                    let val = ev.force(item)?;
                    in_list(ev.coerce_into(out, &val, val.origin, false), sites[1])?;
                }
                Ok(())
            })?;
            ev.charge(text.len(), site)?;
            Ok(string_val(text, site))
        }
        Prim::DeepSeq => {
            let val = ev.force(&args[0])?;
            ev.deep_force(&val, site)?;
            ev.force(&args[1])
        }
        Prim::Seq => {
            ev.force(&args[0])?;
            ev.force(&args[1])
        }
        Prim::Elem => {
            let list = ev.list_arg(&args[1], sites[1])?;
            for item in list.iter() {
                if ev.thunks_equal(&args[0], item, site)? {
                    return Ok(bool_val(true));
                }
            }
            Ok(bool_val(false))
        }
        Prim::ElemAt => {
            let list = ev.list_arg(&args[0], sites[0])?;
            let index = ev.int_arg(&args[1], sites[1])?;
            match usize::try_from(index).ok().and_then(|i| list.get(i)) {
                Some(item) => ev.force(&item.clone()),
                None => Err(out_of_bounds(
                    format!(
                        "list index {index} is out of bounds for a list of length {}",
                        list.len()
                    ),
                    site,
                )),
            }
        }
        Prim::Head => {
            let list = ev.list_arg(&args[0], sites[0])?;
            match list.first() {
                Some(item) => ev.force(&item.clone()),
                None => Err(out_of_bounds(
                    "`head` called on an empty list".to_owned(),
                    site,
                )),
            }
        }
        Prim::Tail => {
            let list = ev.list_arg(&args[0], sites[0])?;
            if list.is_empty() {
                return Err(out_of_bounds(
                    "`tail` called on an empty list".to_owned(),
                    site,
                ));
            }
            ev.charge(list.len() * 16, site)?;
            Ok(list_val(list[1..].to_vec(), site))
        }
        Prim::Filter => {
            let func = ev.function_arg(&args[0], sites[0])?;
            let list = ev.list_arg(&args[1], sites[1])?;
            let mut out = Vec::new();
            for item in list.iter() {
                let keep = ev.call(func.clone(), item.clone(), site)?;
                if ev.expect_bool(&keep, site)? {
                    out.push(item.clone());
                }
            }
            if out.len() == list.len() {
                return Ok(Val::new(Kind::List(list), site));
            }
            ev.charge(out.len() * 16, site)?;
            Ok(list_val(out, site))
        }
        Prim::FoldlStrict => {
            let func = ev.function_arg(&args[0], sites[0])?;
            let list = ev.list_arg(&args[2], sites[2])?;
            let mut acc = args[1].clone();
            for item in list.iter() {
                let next = ev.call2(&func, acc, item.clone(), site)?;
                acc = done(next);
            }
            ev.force(&acc)
        }
        Prim::FromJson => {
            let text = ev.str_arg(&args[0], sites[0])?;
            // Nix's JSON reader skips a byte-order mark at the start.
            let json_text = text.strip_prefix('\u{feff}').unwrap_or(&text);
            let json: serde_json::Value = serde_json::from_str(json_text).map_err(|err| {
                invalid(
                    format!("invalid JSON: {err}"),
                    site,
                    "this string is not valid JSON",
                )
            })?;
            let source = ev.force(&args[0])?.origin;
            let context = JsonContext {
                site,
                source,
                has_fractions: has_fraction_or_exponent(&text),
            };
            from_json(ev, &json, &context)
        }
        Prim::GenList => {
            // Like Nix, the function is only checked when an element is used.
            let func = ev.force(&args[0])?;
            let len = ev.int_arg(&args[1], sites[1])?;
            let Ok(len) = usize::try_from(len) else {
                return Err(invalid(
                    format!("`genList` cannot create a list of length {len}"),
                    site,
                    "negative length",
                ));
            };
            ev.charge(len.saturating_mul(DEFERRED_CALL_BYTES), site)?;
            let items = (0..len)
                .map(|i| {
                    let index = done(Val::new(Kind::Int(i as i64), site));
                    deferred_call(&func, smallvec::smallvec![index], site)
                })
                .collect();
            Ok(list_val(items, site))
        }
        Prim::GetAttr => {
            let name = ev.str_arg(&args[0], sites[0])?;
            let set = ev.attrs_arg(&args[1], sites[1])?;
            match set.get(&name) {
                Some(slot) => ev.force(&slot.thunk.clone()),
                None => {
                    let mut diag = Diagnostic::error(
                        codes::MISSING_ATTRIBUTE,
                        format!("attribute `{name}` missing"),
                    )
                    .with_primary(site.file, site.span, "no such attribute");
                    if let Some(close) = crate::diagnostic::did_you_mean(&name, set.names()) {
                        diag = diag.with_help(format!("did you mean `{close}`?"));
                    }
                    Err(Box::new(diag))
                }
            }
        }
        Prim::GroupBy => {
            let func = ev.function_arg(&args[0], sites[0])?;
            let list = ev.list_arg(&args[1], sites[1])?;
            let mut groups: Vec<(Rc<str>, Vec<Thunk>)> = Vec::new();
            let mut index: std::collections::HashMap<Rc<str>, usize> = Default::default();
            for item in list.iter() {
                let key = ev.call(func.clone(), item.clone(), site)?;
                let key = ev.expect_str(&key, site)?;
                match index.get(&key) {
                    Some(&i) => groups[i].1.push(item.clone()),
                    None => {
                        index.insert(key.clone(), groups.len());
                        groups.push((key, vec![item.clone()]));
                    }
                }
            }
            ev.charge(list.len() * 16 + groups.len() * 40, site)?;
            let entries = groups
                .into_iter()
                .map(|(name, items)| (name, slot(done(list_val(items, site)), site)))
                .collect();
            Ok(set_val(AttrSet::from_unsorted(entries), site))
        }
        Prim::HasAttr => {
            let name = ev.str_arg(&args[0], sites[0])?;
            let set = ev.attrs_arg(&args[1], sites[1])?;
            Ok(bool_val(set.get(&name).is_some()))
        }
        Prim::HashString => {
            let algorithm = ev.str_arg(&args[0], sites[0])?;
            let text = ev.str_arg(&args[1], sites[1])?;
            let digest: Vec<u8> = match &*algorithm {
                "sha256" => sha2::Sha256::digest(text.as_bytes()).to_vec(),
                "sha512" => sha2::Sha512::digest(text.as_bytes()).to_vec(),
                _ => {
                    return Err(help(
                        invalid(
                            format!("unknown hash algorithm `{algorithm}`"),
                            site,
                            "unsupported algorithm",
                        ),
                        "hac supports `sha256` and `sha512`",
                    ));
                }
            };
            let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
            Ok(string_val(hex, site))
        }
        Prim::Import => {
            let target = ev.force(&args[0])?;
            let path = ev.path_of(&target, site)?;
            ev.import(&path, target.origin, site)
        }
        Prim::ReadFile => {
            let target = ev.force(&args[0])?;
            let path = ev.path_of(&target, site)?;
            match ev.loader.read(Path::new(&path)) {
                Ok(text) => {
                    ev.charge(text.len(), site)?;
                    Ok(string_val(text, site))
                }
                Err(err) => {
                    let (code, label, help) = super::machine::unreadable_code(&err);
                    let message = ev.unreadable(Path::new(&path), &err, Some(target.origin));
                    Err(Box::new(
                        (*error(code, message, target.origin, label)).with_help(help),
                    ))
                }
            }
        }
        Prim::PathExists => {
            let target = ev.force(&args[0])?;
            let path = ev.path_of(&target, site)?;
            Ok(bool_val(ev.loader.exists(Path::new(&path))))
        }
        Prim::IntersectAttrs => {
            let left = ev.attrs_arg(&args[0], sites[0])?;
            let right = ev.attrs_arg(&args[1], sites[1])?;
            let entries: Vec<_> = right
                .entries
                .iter()
                .filter(|(name, _)| left.get(name).is_some())
                .cloned()
                .collect();
            ev.charge(entries.len() * 40, site)?;
            Ok(set_val(AttrSet { entries }, site))
        }
        Prim::IsAttrs
        | Prim::IsBool
        | Prim::IsFunction
        | Prim::IsInt
        | Prim::IsList
        | Prim::IsNull
        | Prim::IsPath
        | Prim::IsString => {
            let val = ev.force(&args[0])?;
            let result = match prim {
                Prim::IsAttrs => matches!(val.kind, Kind::Attrs(_)),
                Prim::IsBool => matches!(val.kind, Kind::Bool(_)),
                Prim::IsFunction => matches!(val.kind, Kind::Lambda(_) | Kind::Prim(_)),
                Prim::IsInt => matches!(val.kind, Kind::Int(_)),
                Prim::IsList => matches!(val.kind, Kind::List(_)),
                Prim::IsNull => matches!(val.kind, Kind::Null),
                Prim::IsPath => matches!(val.kind, Kind::Path(_)),
                _ => matches!(val.kind, Kind::Str(_)),
            };
            Ok(bool_val(result))
        }
        Prim::Length => {
            let list = ev.list_arg(&args[0], sites[0])?;
            Ok(Val::new(Kind::Int(list.len() as i64), site))
        }
        Prim::LessThan => {
            let a = ev.force(&args[0])?;
            let b = ev.force(&args[1])?;
            Ok(bool_val(ev.less_than(&a, &b, site)?))
        }
        Prim::ListToAttrs => {
            let list = ev.list_arg(&args[0], sites[0])?;
            let mut entries = Vec::with_capacity(list.len());
            for item in list.iter() {
                let val = ev.force(item)?;
                let set = in_list(ev.expect_attrs(&val, val.origin), sites[0])?;
                let Some(name_slot) = set.get("name") else {
                    return Err(with_value_origin(
                        error(
                            codes::MISSING_ATTRIBUTE,
                            "attribute `name` missing",
                            site,
                            "in this call to `listToAttrs`",
                        ),
                        &val,
                    ));
                };
                let name = ev.force(&name_slot.thunk.clone())?;
                let name_origin = name.origin;
                let name = in_list(ev.expect_str(&name, name_origin), sites[0])?;
                let Some(value_slot) = set.get("value") else {
                    return Err(with_value_origin(
                        error(
                            codes::MISSING_ATTRIBUTE,
                            "attribute `value` missing",
                            site,
                            "in this call to `listToAttrs`",
                        ),
                        &val,
                    ));
                };
                entries.push((name, slot(value_slot.thunk.clone(), name_origin)));
            }
            ev.charge(entries.len() * 40, site)?;
            Ok(set_val(AttrSet::from_unsorted(entries), site))
        }
        Prim::Map => {
            // Like Nix, the function is only checked when an element is used.
            let func = ev.force(&args[0])?;
            let list = ev.list_arg(&args[1], sites[1])?;
            ev.charge(list.len() * DEFERRED_CALL_BYTES, site)?;
            let items = list
                .iter()
                .map(|item| deferred_call(&func, smallvec::smallvec![item.clone()], site))
                .collect();
            Ok(list_val(items, site))
        }
        Prim::MapAttrs => {
            // Like Nix, the function is only checked when an element is used.
            let func = ev.force(&args[0])?;
            let set = ev.attrs_arg(&args[1], sites[1])?;
            ev.charge(set.len() * (DEFERRED_CALL_BYTES + 40), site)?;
            let entries = set
                .entries
                .iter()
                .map(|(name, s)| {
                    let name_thunk = done(string_val(name.clone(), s.name_origin));
                    let thunk = deferred_call(
                        &func,
                        smallvec::smallvec![name_thunk, s.thunk.clone()],
                        site,
                    );
                    (name.clone(), slot(thunk, s.name_origin))
                })
                .collect();
            Ok(set_val(AttrSet { entries }, site))
        }
        Prim::Partition => {
            let func = ev.function_arg(&args[0], sites[0])?;
            let list = ev.list_arg(&args[1], sites[1])?;
            let (mut right, mut wrong) = (Vec::new(), Vec::new());
            for item in list.iter() {
                let keep = ev.call(func.clone(), item.clone(), site)?;
                if ev.expect_bool(&keep, site)? {
                    right.push(item.clone());
                } else {
                    wrong.push(item.clone());
                }
            }
            ev.charge(list.len() * 16 + 80, site)?;
            let entries = vec![
                ("right".into(), slot(done(list_val(right, site)), site)),
                ("wrong".into(), slot(done(list_val(wrong, site)), site)),
            ];
            Ok(set_val(AttrSet { entries }, site))
        }
        Prim::RemoveAttrs => {
            let set = ev.attrs_arg(&args[0], sites[0])?;
            let names = ev.list_arg(&args[1], sites[1])?;
            let mut remove = std::collections::HashSet::new();
            for name in names.iter() {
                let name = ev.force(name)?;
                remove.insert(in_list(ev.expect_str(&name, name.origin), sites[1])?);
            }
            let entries: Vec<_> = set
                .entries
                .iter()
                .filter(|(name, _)| !remove.contains(name))
                .cloned()
                .collect();
            ev.charge(entries.len() * 40, site)?;
            Ok(set_val(AttrSet { entries }, site))
        }
        Prim::ReplaceStrings => {
            let from = ev.list_arg(&args[0], sites[0])?;
            let to = ev.list_arg(&args[1], sites[1])?;
            let text = ev.str_arg(&args[2], sites[2])?;
            if from.len() != to.len() {
                return Err(invalid(
                    "the `from` and `to` arguments of `replaceStrings` have different lengths",
                    site,
                    "lists of different lengths",
                ));
            }
            let mut patterns = Vec::with_capacity(from.len());
            for item in from.iter() {
                let val = ev.force(item)?;
                patterns.push(in_list(ev.expect_str(&val, val.origin), sites[0])?);
            }
            let mut replacements = Vec::with_capacity(to.len());
            for item in to.iter() {
                let val = ev.force(item)?;
                replacements.push(in_list(ev.expect_str(&val, val.origin), sites[1])?);
            }
            let result = replace_strings(&text, &patterns, &replacements).map_err(|cut| {
                let (character, first, last) = character_at(&text, cut);
                help(
                    invalid(
                        format!(
                            "`replaceStrings` with an empty pattern would split the UTF-8 character `{character}` at byte {cut}"
                        ),
                        site,
                        format!("the empty pattern would insert its replacement inside `{character}` (bytes {first} to {last})"),
                    ),
                    "Nix inserts an empty pattern's replacement between every two bytes, and hac strings must stay valid UTF-8: replace in text without non-ASCII characters, or use a non-empty pattern",
                )
            })?;
            ev.charge(result.len(), site)?;
            Ok(string_val(result, site))
        }
        Prim::Sort => {
            let func = ev.function_arg(&args[0], sites[0])?;
            let list = ev.list_arg(&args[1], sites[1])?;
            let mut items: Vec<Thunk> = list.to_vec();
            for item in &items {
                ev.force(item)?;
            }
            ev.charge(items.len() * 32, site)?;
            merge_sort(&mut items, &mut |a: &Thunk, b: &Thunk| {
                let result = ev.call2(&func, a.clone(), b.clone(), site)?;
                ev.expect_bool(&result, site)
            })?;
            Ok(list_val(items, site))
        }
        Prim::StringLength => {
            let text = ev.string_like_arg(&args[0], sites[0])?;
            Ok(Val::new(Kind::Int(text.len() as i64), site))
        }
        Prim::Substring => {
            let start = ev.int_arg(&args[0], sites[0])?;
            let len = ev.int_arg(&args[1], sites[1])?;
            let text = ev.string_like_arg(&args[2], sites[2])?;
            if start < 0 {
                return Err(invalid(
                    "negative start position in `substring`",
                    site,
                    "negative start",
                ));
            }
            let bytes = text.as_bytes();
            let start = (start as u64).min(bytes.len() as u64) as usize;
            let end = if len < 0 {
                bytes.len()
            } else {
                start.saturating_add(len as usize).min(bytes.len())
            };
            // Nix counts bytes and would return part of a character; hac strings are
            // always valid UTF-8, so that is an error rather than a different value.
            if let Some(cut) = [start, end]
                .into_iter()
                .find(|&at| !text.is_char_boundary(at))
            {
                let (character, first, last) = character_at(&text, cut);
                return Err(help(
                    invalid(
                        format!(
                            "`substring` would split the UTF-8 character `{character}` at byte {cut}"
                        ),
                        site,
                        format!("this would cut `{character}` (bytes {first} to {last})"),
                    ),
                    "positions and lengths in `substring` count bytes, and hac strings must stay valid UTF-8: start and end the substring between characters",
                ));
            }
            ev.charge(end - start, site)?;
            Ok(string_val(text[start..end].to_owned(), site))
        }
        Prim::ToJson => {
            let val = ev.force(&args[0])?;
            let public = ev.deep_value(&val, &mut Default::default())?;
            let text = match crate::json::to_json_within(&public, ev.measured_remaining_bytes()) {
                Ok(text) => text,
                Err(err) if err.code == crate::codes::BUDGET_EXCEEDED => {
                    return Err(ev.out_of_memory(site));
                }
                Err(err) => return Err(Box::new(err)),
            };
            ev.charge(text.len(), site)?;
            Ok(string_val(text, site))
        }
        Prim::ToString => {
            let val = ev.force(&args[0])?;
            let text = match &val.kind {
                // The same text: shared, not copied.
                Kind::Str(text) => text.clone(),
                _ => super::strings::build(|out| ev.coerce_into(out, &val, sites[0], true))?,
            };
            ev.charge(text.len(), site)?;
            Ok(string_val(text, site))
        }
        Prim::Trace => {
            let message = ev.force(&args[0])?;
            let text = match &message.kind {
                Kind::Str(s) => s.to_string(),
                _ => ev.show(&message),
            };
            ev.diagnostics.push(
                Diagnostic::new(crate::diagnostic::Severity::Advice, codes::TRACE, text)
                    .with_primary(site.file, site.span, "traced here"),
            );
            ev.force(&args[1])
        }
        Prim::TypeOf => {
            let val = ev.force(&args[0])?;
            Ok(string_val(val.type_name(), site))
        }
        Prim::ZipAttrsWith => {
            let func = ev.function_arg(&args[0], sites[0])?;
            let list = ev.list_arg(&args[1], sites[1])?;
            let mut groups: Vec<(Rc<str>, Origin, Vec<Thunk>)> = Vec::new();
            let mut index: std::collections::HashMap<Rc<str>, usize> = Default::default();
            for item in list.iter() {
                let val = ev.force(item)?;
                let set = in_list(ev.expect_attrs(&val, val.origin), sites[1])?;
                for (name, s) in &set.entries {
                    match index.get(name) {
                        Some(&i) => groups[i].2.push(s.thunk.clone()),
                        None => {
                            index.insert(name.clone(), groups.len());
                            groups.push((name.clone(), s.name_origin, vec![s.thunk.clone()]));
                        }
                    }
                }
            }
            ev.charge(groups.len() * 160, site)?;
            let entries = groups
                .into_iter()
                .map(|(name, name_origin, values)| {
                    let name_thunk = done(string_val(name.clone(), name_origin));
                    let values = done(list_val(values, site));
                    (
                        name,
                        slot(
                            deferred_call(&func, smallvec::smallvec![name_thunk, values], site),
                            name_origin,
                        ),
                    )
                })
                .collect();
            Ok(set_val(AttrSet::from_unsorted(entries), site))
        }
    }
}

/// Nix's `replaceStrings`: at each position the first matching pattern wins; an
/// empty pattern matches between every two characters.
/// Nix's `replaceStrings`: at each position the first pattern that matches is
/// replaced; an empty pattern matches everywhere, its replacement inserted before
/// the byte at that position. Byte by byte, as Nix works, so an empty pattern
/// reaching the middle of a multi-byte character would split it: that position is
/// the error. (A non-empty pattern is valid UTF-8 and only ever matches, and ends,
/// between characters.)
/// The character byte `cut` falls inside, with the positions of its first and last
/// bytes: what the error of a cut through a UTF-8 character shows.
fn character_at(text: &str, cut: usize) -> (char, usize, usize) {
    let first = (0..cut)
        .rev()
        .find(|&at| text.is_char_boundary(at))
        .unwrap_or(0);
    let character = text[first..].chars().next().unwrap_or_default();
    (character, first, first + character.len_utf8() - 1)
}

fn replace_strings(text: &str, from: &[Rc<str>], to: &[Rc<str>]) -> Result<String, usize> {
    let bytes = text.as_bytes();
    let mut out = String::with_capacity(text.len());
    let mut pos = 0;
    while pos <= bytes.len() {
        let found = from
            .iter()
            .zip(to)
            .find(|(pattern, _)| bytes[pos..].starts_with(pattern.as_bytes()));
        let next = match found {
            Some((pattern, replacement)) if !pattern.is_empty() => {
                out.push_str(replacement);
                pos += pattern.len();
                continue;
            }
            Some((_, replacement)) => {
                out.push_str(replacement);
                let next = text[pos..].chars().next();
                // Inside the character no other pattern can match, so the empty
                // one would, at its second byte.
                if next.is_some_and(|c| c.len_utf8() > 1) {
                    return Err(pos + 1);
                }
                next
            }
            None => text[pos..].chars().next(),
        };
        match next {
            Some(c) => {
                out.push(c);
                pos += c.len_utf8();
            }
            None => pos += 1,
        }
    }
    Ok(out)
}

/// A stable merge sort with a comparator that may fail (it calls user code).
fn merge_sort<T: Clone>(items: &mut [T], less: &mut dyn FnMut(&T, &T) -> R<bool>) -> R<()> {
    let len = items.len();
    if len <= 1 {
        return Ok(());
    }
    // Insertion sort for short runs keeps comparator calls low.
    if len <= 8 {
        for i in 1..len {
            let mut j = i;
            while j > 0 && less(&items[j], &items[j - 1])? {
                items.swap(j, j - 1);
                j -= 1;
            }
        }
        return Ok(());
    }
    let mid = len / 2;
    merge_sort(&mut items[..mid], less)?;
    merge_sort(&mut items[mid..], less)?;
    let left = items[..mid].to_vec();
    let right = items[mid..].to_vec();
    let (mut i, mut j, mut k) = (0, 0, 0);
    while i < left.len() && j < right.len() {
        // Take from the right only when strictly less, to keep equal items in order.
        if less(&right[j], &left[i])? {
            items[k] = right[j].clone();
            j += 1;
        } else {
            items[k] = left[i].clone();
            i += 1;
        }
        k += 1;
    }
    for item in left[i..].iter().chain(&right[j..]) {
        items[k] = item.clone();
        k += 1;
    }
    Ok(())
}

struct JsonContext {
    /// The `fromJSON` call.
    site: Origin,
    /// The string argument.
    source: Origin,
    /// Whether some number in the text is written with a fraction or an exponent.
    has_fractions: bool,
}

/// Whether a number outside the strings of JSON `text` has a `.`, `e` or `E`: only
/// then is a number Nix reads as a float. serde_json reads `-0` and integers past
/// 64 bits as floats, which Nix does not.
fn has_fraction_or_exponent(text: &str) -> bool {
    let mut in_string = false;
    let mut escaped = false;
    let mut in_number = false;
    for c in text.chars() {
        if in_string {
            match (escaped, c) {
                (true, _) => escaped = false,
                (false, '\\') => escaped = true,
                (false, '"') => in_string = false,
                _ => {}
            }
            continue;
        }
        match c {
            '"' => {
                in_string = true;
                in_number = false;
            }
            '-' | '0'..='9' => in_number = true,
            '.' | 'e' | 'E' if in_number => return true,
            '+' if in_number => {}
            _ => in_number = false,
        }
    }
    false
}

fn from_json(ev: &mut Evaluator<'_>, json: &serde_json::Value, context: &JsonContext) -> R<Val> {
    let site = context.site;
    ev.check_stack(site)?;
    let kind = match json {
        serde_json::Value::Null => Kind::Null,
        serde_json::Value::Bool(b) => Kind::Bool(*b),
        serde_json::Value::Number(n) => {
            if let Some(i) = n.as_i64() {
                Kind::Int(i)
            } else if n.as_f64() == Some(0.0) && !context.has_fractions {
                // `-0`, which Nix reads as the integer 0.
                Kind::Int(0)
            } else if n.is_u64() || !context.has_fractions {
                // An integer written without fraction or exponent that does not fit
                // in 64 bits: Nix 2.8 wraps it or makes it a float.
                return Err(help(
                    error(
                        codes::INTEGER_OVERFLOW,
                        match n.as_u64() {
                            Some(n) => format!("integer overflow in the JSON number `{n}`"),
                            None => "integer overflow in a JSON number".to_owned(),
                        },
                        context.source,
                        "this JSON has a number that does not fit in 64 bits",
                    ),
                    "integers range from -9223372036854775808 to 9223372036854775807; write a larger number as a string",
                ));
            } else {
                return Err(help(
                    invalid(
                        format!("JSON number `{n}` is not an integer"),
                        site,
                        "in this JSON",
                    ),
                    "hac has integers only",
                ));
            }
        }
        serde_json::Value::String(s) => {
            ev.charge(s.len(), site)?;
            Kind::Str(s.as_str().into())
        }
        serde_json::Value::Array(items) => {
            ev.charge(items.len() * 16, site)?;
            let mut out = Vec::with_capacity(items.len());
            for item in items {
                out.push(done(from_json(ev, item, context)?));
            }
            Kind::List(Rc::new(out))
        }
        serde_json::Value::Object(map) => {
            ev.charge(map.len() * 40, site)?;
            let mut entries = Vec::with_capacity(map.len());
            for (name, item) in map {
                entries.push((
                    name.as_str().into(),
                    slot(done(from_json(ev, item, context)?), site),
                ));
            }
            Kind::Attrs(Rc::new(AttrSet::from_unsorted(entries)))
        }
    };
    Ok(Val::new(kind, site))
}

impl Evaluator<'_> {
    fn int_arg(&mut self, arg: &Thunk, site: Origin) -> R<i64> {
        let val = self.force(arg)?;
        self.expect_int(&val, site)
    }

    fn str_arg(&mut self, arg: &Thunk, site: Origin) -> R<Rc<str>> {
        let val = self.force(arg)?;
        self.expect_str(&val, site)
    }

    /// A string argument that may also be a path or a set with `outPath` (Nix
    /// coerces those for `stringLength` and `substring`).
    fn string_like_arg(&mut self, arg: &Thunk, site: Origin) -> R<Rc<str>> {
        let val = self.force(arg)?;
        if let Kind::Str(s) = &val.kind {
            return Ok(s.clone());
        }
        let mut out = String::new();
        self.coerce_into(&mut out, &val, site, false)?;
        Ok(out.into())
    }

    fn coerce_arg(&mut self, arg: &Thunk, site: Origin) -> R<String> {
        let val = self.force(arg)?;
        let mut out = String::new();
        self.coerce_into(&mut out, &val, site, false)?;
        Ok(out)
    }

    fn list_arg(&mut self, arg: &Thunk, site: Origin) -> R<Rc<Vec<Thunk>>> {
        let val = self.force(arg)?;
        self.expect_list(&val, site)
    }

    fn attrs_arg(&mut self, arg: &Thunk, site: Origin) -> R<Rc<AttrSet>> {
        let val = self.force(arg)?;
        self.expect_attrs(&val, site)
    }

    fn function_arg(&mut self, arg: &Thunk, site: Origin) -> R<Val> {
        let val = self.force(arg)?;
        self.expect_function(&val, site)?;
        Ok(val)
    }

    /// The absolute path `import`, `readFile` and `pathExists` accept: a path, or a
    /// string holding an absolute path.
    fn path_of(&mut self, val: &Val, site: Origin) -> R<String> {
        let mut text = String::new();
        self.coerce_into(&mut text, val, site, false)?;
        if !text.starts_with('/') {
            return Err(with_value_origin(
                invalid(
                    format!("string `{text}` does not represent an absolute path"),
                    site,
                    "not an absolute path",
                ),
                val,
            ));
        }
        Ok(super::ops::canonical_path(&text).to_string())
    }
}
