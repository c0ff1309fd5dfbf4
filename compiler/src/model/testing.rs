//! Test support: builds evaluated values from JSON literals, giving every value and
//! every attribute name its own span so tests can check where a diagnostic points.

use hac_lang::{Attr, Attrs, FileId, Origin, Span, Value, ValueKind};

/// Converts JSON to a value; spans are unique, increasing, in file 0.
pub fn value(json: serde_json::Value) -> Value {
    let mut next = 0;
    build(&json, &mut next)
}

fn fresh(next: &mut usize) -> Origin {
    *next += 2;
    Origin::new(FileId(0), Span::new(*next, *next + 1))
}

fn build(json: &serde_json::Value, next: &mut usize) -> Value {
    let origin = fresh(next);
    let kind = match json {
        serde_json::Value::Null => ValueKind::Null,
        serde_json::Value::Bool(b) => ValueKind::Bool(*b),
        serde_json::Value::Number(n) => ValueKind::Int(n.as_i64().expect("integers only")),
        serde_json::Value::String(s) => ValueKind::String(s.clone()),
        serde_json::Value::Array(items) => {
            ValueKind::List(items.iter().map(|i| build(i, next)).collect())
        }
        serde_json::Value::Object(map) => {
            let mut attrs = Attrs::new();
            for (name, item) in map {
                let name_origin = fresh(next);
                attrs.insert(
                    name.clone(),
                    Attr {
                        name_origin,
                        value: build(item, next),
                    },
                );
            }
            ValueKind::Attrs(attrs)
        }
    };
    Value { kind, origin }
}

/// The value at a dotted path (`controlplanes.0.name`).
pub fn at<'v>(value: &'v Value, path: &str) -> &'v Value {
    path.split('.')
        .filter(|p| !p.is_empty())
        .fold(value, |v, part| match &v.kind {
            ValueKind::List(items) => &items[part.parse::<usize>().expect("index")],
            ValueKind::Attrs(attrs) => {
                &attrs
                    .get(part)
                    .unwrap_or_else(|| panic!("no `{part}`"))
                    .value
            }
            _ => panic!("cannot descend into `{part}`"),
        })
}

/// Where the attribute name at the end of `path` was written.
pub fn name_at(value: &Value, path: &str) -> Origin {
    let (parent, name) = path.rsplit_once('.').unwrap_or(("", path));
    at(value, parent)
        .as_attrs()
        .expect("a set")
        .get(name)
        .expect("the attribute")
        .name_origin
}

/// A correct three-control-plane cluster with two load balancers and a VIP.
/// sha256 of the empty file, as `sha256sum /dev/null` prints it.
pub const EMPTY_SHA256: &str = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

pub fn base() -> serde_json::Value {
    serde_json::json!({
        "name": "prod",
        "kubernetes": "1.36.1",
        "endpoint": "api.prod.example.com:6443",
        "loadbalancer": {
            "hosts": [
                { "name": "lb1", "address": "10.0.0.5" },
                { "name": "lb2", "address": "10.0.0.6" }
            ],
            "vip": "10.0.0.100"
        },
        "controlplanes": [
            { "name": "cp1", "address": "10.0.0.11" },
            { "name": "cp2", "address": "10.0.0.12" },
            { "name": "cp3", "address": "10.0.0.13" }
        ],
        "workers": [
            { "name": "w1", "address": "10.0.0.21" },
            { "name": "w2", "address": "10.0.0.22" }
        ],
        // hac knows no published digest of the flannel and Calico manifests, so a
        // cluster using them gives one. This stands for a digest the user checked (it
        // is sha256 of nothing): the tests never fetch the files.
        "versions": {
            "flannel": { "sha256": EMPTY_SHA256 },
            "calico": { "sha256": { "crds": EMPTY_SHA256, "operator": EMPTY_SHA256 } }
        }
    })
}

/// Sets the value at a dotted path in JSON (creating sets, replacing list elements).
pub fn set(json: &mut serde_json::Value, path: &str, new: serde_json::Value) {
    let mut parts: Vec<&str> = path.split('.').collect();
    let last = parts.pop().expect("a path");
    let mut target = json;
    for part in parts {
        target = match target {
            serde_json::Value::Array(items) => &mut items[part.parse::<usize>().expect("index")],
            other => other
                .as_object_mut()
                .expect("a set")
                .entry(part)
                .or_insert_with(|| serde_json::json!({})),
        };
    }
    match target {
        serde_json::Value::Array(items) => items[last.parse::<usize>().expect("index")] = new,
        other => {
            other
                .as_object_mut()
                .expect("a set")
                .insert(last.to_owned(), new);
        }
    }
}

/// Removes the attribute at a dotted path.
pub fn remove(json: &mut serde_json::Value, path: &str) {
    let (parent, name) = path.rsplit_once('.').unwrap_or(("", path));
    let mut target = json;
    for part in parent.split('.').filter(|p| !p.is_empty()) {
        target = match target {
            serde_json::Value::Array(items) => &mut items[part.parse::<usize>().expect("index")],
            other => other.get_mut(part).expect("the path"),
        };
    }
    target.as_object_mut().expect("a set").remove(name);
}

/// Where attribute `name` (which may contain dots) of the set at `parent` was written.
pub fn name_in(value: &Value, parent: &str, name: &str) -> Origin {
    at(value, parent)
        .as_attrs()
        .expect("a set")
        .get(name)
        .expect("the attribute")
        .name_origin
}
