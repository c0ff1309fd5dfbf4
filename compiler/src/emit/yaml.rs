//! YAML for cloud-init. cloud-init reads user-data with PyYAML's `safe_load`, a
//! YAML 1.1 loader: plain `on`, `no`, `0644`, `12:30` or `2024-01-01` come back as
//! booleans, numbers and dates. The emitter quotes every string that a YAML 1.1
//! reader could take for anything but that string (serde-saphyr's default), writes
//! multi-line strings as `|` block literals so scripts and configuration files stay
//! readable in the user-data, and never folds long lines.
//!
//! Keys come out in a fixed order: the cloud-config keys in the order cloud-init
//! runs them, `path`/`owner`/`permissions` before `content` in `write_files`, the
//! rest alphabetically. The output is a pure function of the document.

use serde::ser::{Serialize, SerializeMap, SerializeSeq, Serializer};
use serde_json::Value;

use super::SpecError;

/// The first line cloud-init requires of a cloud-config document.
pub const CLOUD_CONFIG_HEADER: &str = "#cloud-config\n";

/// Deeper documents are refused: nothing hac writes comes close, and the
/// serializer recurses once per level.
const MAX_DEPTH: usize = 64;

/// Keys written before all others, in this order (boot order for the top level,
/// then the identifying fields of list items).
const FIRST_KEYS: &[&str] = &[
    "hostname",
    "fqdn",
    "prefer_fqdn_over_hostname",
    "manage_etc_hosts",
    "users",
    "ssh_authorized_keys",
    "ssh_pwauth",
    "bootcmd",
    "write_files",
    "apt",
    "package_update",
    "package_upgrade",
    "package_reboot_if_required",
    "packages",
    "runcmd",
    "power_state",
    "final_message",
    "name",
    "path",
    "owner",
    "permissions",
    "encoding",
    "append",
    "defer",
    "source",
];

/// Keys written after all others: the bulky payloads.
const LAST_KEYS: &[&str] = &["content", "key"];

/// `#cloud-config` followed by `doc` as YAML that PyYAML's `safe_load` turns back
/// into exactly `doc`. The top level must be a mapping (cloud-init ignores
/// anything else).
pub fn to_cloud_config(doc: &Value) -> Result<String, SpecError> {
    if !doc.is_object() {
        return Err(SpecError::new(format!(
            "a cloud-config document must be a mapping, not {}",
            kind_of(doc)
        )));
    }
    Ok(format!("{CLOUD_CONFIG_HEADER}{}", to_yaml(doc)?))
}

/// `doc` as a YAML 1.1-safe document without a header (for files that are YAML
/// themselves, such as kubeadm configurations).
pub fn to_yaml(doc: &Value) -> Result<String, SpecError> {
    let depth = depth_of(doc);
    if depth > MAX_DEPTH {
        return Err(SpecError::new(format!(
            "document nests {depth} levels deep, more than the {MAX_DEPTH} the emitter writes"
        )));
    }
    let mut options = serde_saphyr::SerializerOptions::default();
    // Folded (`>`) scalars are never used: a single long line stays one line.
    options.folded_wrap_chars = usize::MAX;
    serde_saphyr::to_string_with_options(&Ordered(doc), options)
        .map_err(|error| SpecError::new(format!("cannot write the document as YAML: {error}")))
}

/// Several documents as one YAML stream, separated by `---` (kubeadm reads its
/// configuration kinds from one file like this).
pub fn to_yaml_stream(docs: &[Value]) -> Result<String, SpecError> {
    let mut out = String::new();
    for (index, doc) in docs.iter().enumerate() {
        if index > 0 {
            out.push_str("---\n");
        }
        out.push_str(&to_yaml(doc)?);
    }
    Ok(out)
}

fn kind_of(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "a mapping",
    }
}

fn depth_of(value: &Value) -> usize {
    // Iterative, so a hostile document cannot exhaust the stack here either.
    let mut deepest = 0;
    let mut pending = vec![(value, 1)];
    while let Some((value, depth)) = pending.pop() {
        deepest = deepest.max(depth);
        match value {
            Value::Array(items) => pending.extend(items.iter().map(|item| (item, depth + 1))),
            Value::Object(map) => pending.extend(map.values().map(|item| (item, depth + 1))),
            _ => {}
        }
    }
    deepest
}

fn key_rank(key: &str) -> (u8, usize) {
    if let Some(position) = FIRST_KEYS.iter().position(|first| *first == key) {
        (0, position)
    } else if let Some(position) = LAST_KEYS.iter().position(|last| *last == key) {
        (2, position)
    } else {
        (1, 0)
    }
}

/// A JSON value serialized with mapping keys in the emitter's order.
struct Ordered<'a>(&'a Value);

impl Serialize for Ordered<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self.0 {
            Value::Array(items) => {
                let mut seq = serializer.serialize_seq(Some(items.len()))?;
                for item in items {
                    seq.serialize_element(&Ordered(item))?;
                }
                seq.end()
            }
            Value::Object(map) => {
                let mut entries: Vec<(&String, &Value)> = map.iter().collect();
                entries.sort_by(|(a, _), (b, _)| key_rank(a).cmp(&key_rank(b)).then(a.cmp(b)));
                let mut out = serializer.serialize_map(Some(entries.len()))?;
                for (key, value) in entries {
                    out.serialize_entry(key, &Ordered(value))?;
                }
                out.end()
            }
            scalar => scalar.serialize(serializer),
        }
    }
}
