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

/// Exactly [`to_cloud_config`]'s text, written faster for the documents `hac build`
/// makes: the top-level keys before and after `write_files` and every `write_files`
/// entry but its `content` go through the serializer as before; a `content` the
/// serializer writes as a plain `|` block literal (multi-line, one final newline, no
/// indentation indicator needed, only characters a block scalar may hold) is copied
/// line by line at the indentation the serializer chose for a one-line stand-in of
/// the same form. Anything else falls back to the serializer for the whole entry or
/// document. The per-line copy is what a host's bootstrap script costs: a plain copy
/// instead of the serializer's per-character checks.
pub fn to_cloud_config_spliced(doc: &Value) -> Result<String, SpecError> {
    let (Value::Object(map), Some(Value::Array(entries))) = (doc, doc.get(WRITE_FILES)) else {
        return to_cloud_config(doc);
    };
    if entries.is_empty() || depth_of(doc) > MAX_DEPTH {
        return to_cloud_config(doc);
    }
    let split = key_rank(WRITE_FILES);
    let mut before = serde_json::Map::new();
    let mut after = serde_json::Map::new();
    for (key, value) in map {
        match key_rank(key).cmp(&split) {
            std::cmp::Ordering::Less => before.insert(key.clone(), value.clone()),
            std::cmp::Ordering::Greater => after.insert(key.clone(), value.clone()),
            std::cmp::Ordering::Equal => None,
        };
    }
    let mut out = String::with_capacity(
        entries
            .iter()
            .filter_map(|entry| entry.get(CONTENT).and_then(Value::as_str))
            .map(|content| content.len() + content.len() / 8)
            .sum::<usize>()
            + 4096,
    );
    out.push_str(CLOUD_CONFIG_HEADER);
    if !before.is_empty() {
        out.push_str(&to_yaml(&Value::Object(before))?);
    }
    out.push_str(WRITE_FILES);
    out.push_str(":\n");
    for entry in entries {
        if !push_write_files_entry(&mut out, entry)? {
            return to_cloud_config(doc);
        }
    }
    if !after.is_empty() {
        out.push_str(&to_yaml(&Value::Object(after))?);
    }
    // Thousands of hosts' texts are kept until they are written: no spare room (an
    // allocator may keep a shrunk block whole, so this is a copy of exact size).
    if out.capacity() > out.len() {
        out = out.as_str().to_owned();
    }
    Ok(out)
}

const WRITE_FILES: &str = "write_files";
const CONTENT: &str = "content";

/// Appends `entry` as the serializer writes it as an item of the top-level
/// `write_files` list; false when the serializer's text does not have the expected
/// form (the caller then writes the whole document through the serializer).
fn push_write_files_entry(out: &mut String, entry: &Value) -> Result<bool, SpecError> {
    let list_item = |entry: Value| -> Result<Option<String>, SpecError> {
        let mut doc = serde_json::Map::new();
        doc.insert(WRITE_FILES.to_owned(), Value::Array(vec![entry]));
        let text = to_yaml(&Value::Object(doc))?;
        Ok(text
            .strip_prefix(concat!("write_files", ":\n"))
            .map(str::to_owned))
    };
    // Only keys the serializer writes before `content`: its block ends the entry.
    let content_last = entry
        .as_object()
        .is_some_and(|map| map.keys().all(|key| key_rank(key) <= key_rank(CONTENT)));
    let literal = entry
        .get(CONTENT)
        .and_then(Value::as_str)
        .filter(|content| content_last && is_plain_literal(content));
    let Some(content) = literal else {
        return Ok(match list_item(entry.clone())? {
            Some(text) => {
                out.push_str(&text);
                true
            }
            None => false,
        });
    };
    // The same entry with a one-line content of the same block form: the serializer
    // decides its keys' order, quoting and the content's indentation.
    let stand_in = entry.as_object().map(|map| {
        map.iter()
            .map(|(key, value)| match key.as_str() {
                CONTENT => (key.clone(), Value::String("x\n".to_owned())),
                _ => (key.clone(), value.clone()),
            })
            .collect::<serde_json::Map<_, _>>()
    });
    let Some(stand_in) = stand_in else {
        return Ok(false);
    };
    let Some(text) = list_item(Value::Object(stand_in))? else {
        return Ok(false);
    };
    let Some(head) = text.strip_suffix("x\n") else {
        return Ok(false);
    };
    let indent_start = head.trim_end_matches(' ').len();
    let (head, indent) = head.split_at(indent_start);
    if !head.ends_with(": |\n") || indent.is_empty() {
        return Ok(false);
    }
    out.push_str(head);
    for line in content[..content.len() - 1].split('\n') {
        if !line.is_empty() {
            out.push_str(indent);
            out.push_str(line);
        }
        out.push('\n');
    }
    Ok(true)
}

/// Only newlines, tabs and printable ASCII: a block scalar holds them all. Checks
/// every byte without stopping early, which the compiler turns into vector code.
fn is_printable_ascii(text: &str) -> bool {
    text.bytes()
        .map(|b| u8::from(b != b'\n' && b != b'\t' && !(0x20..=0x7E).contains(&b)))
        .fold(0, |found, bad| found | bad)
        == 0
}

/// True when the serializer writes `content` as a `|` block literal without an
/// indentation indicator or a chomping indicator, exactly as it writes `"x\n"`: more
/// than one newline-free character, one final newline and no other trailing ones, a
/// first non-empty line that starts without a space, and only characters a block
/// scalar may hold.
fn is_plain_literal(content: &str) -> bool {
    let Some(body) = content.strip_suffix('\n') else {
        return false;
    };
    !body.is_empty()
        && !body.ends_with('\n')
        && !body
            .split('\n')
            .find(|line| !line.is_empty())
            .is_some_and(|line| line.starts_with(' '))
        && (is_printable_ascii(content)
            || content.chars().all(|c| match c {
                '\n' | '\t' => true,
                '\r' | '\u{0085}' | '\u{2028}' | '\u{2029}' | '\u{FEFF}' => false,
                c => matches!(
                    c as u32,
                    0x20..=0x7E | 0xA0..=0xD7FF | 0xE000..=0xFFFD | 0x10000..=0x0010_FFFF
                ),
            }))
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

#[cfg(test)]
mod tests {
    use serde_json::{Value, json};

    use super::{to_cloud_config, to_cloud_config_spliced};

    fn entry(content: &str) -> Value {
        json!({
            "path": "/etc/x",
            "owner": "root:root",
            "permissions": "0644",
            "content": content,
        })
    }

    /// Contents on both sides of every condition of the line-by-line copy: each must
    /// come out as the serializer writes it, copied or not.
    #[test]
    fn the_spliced_document_is_the_serializers() {
        let contents = [
            "",
            "x",
            "x\n",
            "\n",
            "\n\n",
            "a\nb",
            "a\nb\n",
            "a\nb\n\n",
            "\na\n",
            "\n  a\n",
            "  indented\nb\n",
            "a\n\n\nb\n",
            "a\n  b\n\tc\n",
            "tab\tinside\n",
            "trailing space \nx\n",
            "carriage\r\nreturn\n",
            "bom\u{feff}\n",
            "nel\u{85}\n",
            "control\u{7}\n",
            "é ünïcödé\n✓\n",
            "key: value\n# not a comment\n- not a list\n",
            "---\n...\n",
            "'quoted' \"double\"\n",
            "yes\nno\non\n",
        ];
        let mut documents = Vec::new();
        for content in contents {
            documents.push(json!({
                "hostname": "h1",
                "write_files": [entry(content), entry("plain\n")],
                "runcmd": [["true"]],
            }));
        }
        documents.push(json!({ "write_files": [entry("a\nb\n")] }));
        documents.push(json!({ "write_files": [] }));
        documents.push(json!({ "hostname": "h1", "zzz": 1, "write_files": [entry("a\n")] }));
        documents.push(json!({
            "write_files": [{ "path": "/k", "content": "a\n", "key": "b\nx\n" }],
        }));
        documents.push(json!({
            "write_files": [{ "path": "/p", "content": "a\nb\n", "append": true, "defer": true }],
        }));
        documents.push(json!({ "write_files": ["not a mapping", entry("a\nb\n")] }));
        documents.push(json!({ "write_files": [entry("a\n")], "bootcmd": [["a", "b"]], "ssh_authorized_keys": ["k"] }));
        for document in &documents {
            assert_eq!(
                to_cloud_config_spliced(document),
                to_cloud_config(document),
                "{document}"
            );
        }
        assert!(to_cloud_config_spliced(&json!([1])).is_err());
    }
}
