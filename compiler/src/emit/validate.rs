//! Validation of generated documents against the schemas kept in
//! `compiler/schemas/` (provenance in `compiler/schemas/SOURCES.md`).
//!
//! * cloud-config: the newest upstream schema (draft-04, top-level
//!   `additionalProperties: false`) or the schema of Debian 12's cloud-init
//!   22.4.2. The Debian 12 schema lets unknown top-level keys pass (cloud-init
//!   22.4 ignores them silently); hac treats them as errors with both schemas.
//! * kubeadm, kubelet and kube-proxy configuration kinds: strict schemas in
//!   which unknown fields are errors at every level (as `kubeadm config
//!   validate`), plus the format rules JSON Schema expresses badly (bootstrap
//!   token, certificate key, CA certificate hashes, subnets).
//!
//! Every function returns the problems as one-line messages, `path: message`
//! with a dotted path (`write_files.0.permissions`), empty when valid.

use std::collections::BTreeSet;
use std::net::IpAddr;
use std::sync::OnceLock;

use jsonschema::error::ValidationErrorKind;
use jsonschema::{Draft, ValidationError, Validator};
use serde_json::Value;

/// Which cloud-config schema to validate against.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Schema {
    /// Upstream cloud-init's newest schema.
    Newest,
    /// The schema of Debian 12's `cloud-init 22.4.2-1+deb12u4`.
    Debian12,
}

const NEWEST_SCHEMA: &str = include_str!("../../schemas/cloud-config-v1.json");
const DEBIAN12_SCHEMA: &str = include_str!("../../schemas/cloud-config-v1-debian12-22.4.2.json");

/// The kubeadm-family kinds hac can validate: (apiVersion, kind, schema text).
const KUBEADM_SCHEMAS: &[(&str, &str, &str)] = &[
    (
        "kubeadm.k8s.io/v1beta4",
        "InitConfiguration",
        include_str!("../../schemas/kubeadm/InitConfiguration.kubeadm.k8s.io_v1beta4.json"),
    ),
    (
        "kubeadm.k8s.io/v1beta4",
        "ClusterConfiguration",
        include_str!("../../schemas/kubeadm/ClusterConfiguration.kubeadm.k8s.io_v1beta4.json"),
    ),
    (
        "kubeadm.k8s.io/v1beta4",
        "JoinConfiguration",
        include_str!("../../schemas/kubeadm/JoinConfiguration.kubeadm.k8s.io_v1beta4.json"),
    ),
    (
        "kubeadm.k8s.io/v1beta4",
        "ResetConfiguration",
        include_str!("../../schemas/kubeadm/ResetConfiguration.kubeadm.k8s.io_v1beta4.json"),
    ),
    (
        "kubeadm.k8s.io/v1beta4",
        "UpgradeConfiguration",
        include_str!("../../schemas/kubeadm/UpgradeConfiguration.kubeadm.k8s.io_v1beta4.json"),
    ),
    (
        "kubelet.config.k8s.io/v1beta1",
        "KubeletConfiguration",
        include_str!(
            "../../schemas/kubeadm/KubeletConfiguration.kubelet.config.k8s.io_v1beta1.json"
        ),
    ),
    (
        "kubeproxy.config.k8s.io/v1alpha1",
        "KubeProxyConfiguration",
        include_str!(
            "../../schemas/kubeadm/KubeProxyConfiguration.kubeproxy.config.k8s.io_v1alpha1.json"
        ),
    ),
];

/// The (apiVersion, kind) pairs [`kubeadm`] knows.
pub fn kubeadm_kinds() -> impl Iterator<Item = (&'static str, &'static str)> {
    KUBEADM_SCHEMAS
        .iter()
        .map(|(version, kind, _)| (*version, *kind))
}

/// The problems of a cloud-config document (the YAML as JSON, without the
/// `#cloud-config` header) under `schema`.
pub fn cloud_config(doc: &Value, schema: Schema) -> Vec<String> {
    static NEWEST: OnceLock<Result<Compiled, String>> = OnceLock::new();
    static DEBIAN12: OnceLock<Result<Compiled, String>> = OnceLock::new();
    let compiled = match schema {
        Schema::Newest => NEWEST.get_or_init(|| Compiled::new(NEWEST_SCHEMA, Draft::Draft4)),
        Schema::Debian12 => DEBIAN12.get_or_init(|| Compiled::new(DEBIAN12_SCHEMA, Draft::Draft4)),
    };
    let compiled = match compiled {
        Ok(compiled) => compiled,
        Err(error) => return vec![error.clone()],
    };
    let Some(map) = doc.as_object() else {
        return vec!["-: a cloud-config document must be a mapping".to_string()];
    };
    let mut problems = Vec::new();
    // Reported here for both schemas, in one wording, instead of through the
    // newest schema's `additionalProperties`.
    for key in map.keys() {
        if !compiled.top_level_keys.contains(key) {
            problems.push(format!(
                "{}: unknown top-level key (cloud-init {} it)",
                display_key(key),
                match schema {
                    Schema::Newest => "rejects",
                    Schema::Debian12 => "22.4 silently ignores",
                }
            ));
        }
    }
    problems.extend(
        compiled
            .validator
            .iter_errors(doc)
            .filter(|error| !is_top_level_additional_properties(error))
            .map(|error| describe(&error)),
    );
    problems
}

/// The problems of a kubeadm, kubelet or kube-proxy configuration document of
/// the given kind. `key: null` counts as absent (as in kubeadm's decoder).
pub fn kubeadm(kind: &str, api_version: &str, doc: &Value) -> Vec<String> {
    static COMPILED: OnceLock<Vec<Result<Compiled, String>>> = OnceLock::new();
    let compiled = COMPILED.get_or_init(|| {
        KUBEADM_SCHEMAS
            .iter()
            .map(|(_, _, text)| Compiled::new(text, Draft::Draft202012))
            .collect()
    });
    let Some(index) = KUBEADM_SCHEMAS
        .iter()
        .position(|(version, known_kind, _)| *version == api_version && *known_kind == kind)
    else {
        let known: Vec<String> = kubeadm_kinds().map(|(v, k)| format!("{v} {k}")).collect();
        return vec![format!(
            "-: no schema for `{kind}` in `{api_version}` (known: {})",
            known.join(", ")
        )];
    };
    let compiled = match &compiled[index] {
        Ok(compiled) => compiled,
        Err(error) => return vec![error.clone()],
    };
    let doc = without_nulls(doc);
    let mut problems = Vec::new();
    for (field, expected) in [("apiVersion", api_version), ("kind", kind)] {
        match doc.get(field).and_then(Value::as_str) {
            Some(found) if found != expected => {
                problems.push(format!("{field}: is `{found}`, expected `{expected}`"));
            }
            _ => {}
        }
    }
    problems.extend(
        compiled
            .validator
            .iter_errors(&doc)
            .map(|error| describe(&error)),
    );
    problems.extend(kubeadm_formats(kind, &doc));
    problems
}

/// A compiled schema and the keys its top level allows.
struct Compiled {
    validator: Validator,
    top_level_keys: BTreeSet<String>,
}

impl Compiled {
    fn new(text: &str, draft: Draft) -> Result<Self, String> {
        let schema: Value = serde_json::from_str(text)
            .map_err(|error| format!("-: bundled schema is not JSON: {error}"))?;
        let mut top_level_keys = BTreeSet::new();
        collect_property_names(&schema, &schema, &mut top_level_keys, 0);
        let validator = jsonschema::options()
            .with_draft(draft)
            .build(&schema)
            .map_err(|error| format!("-: bundled schema does not compile: {error}"))?;
        Ok(Compiled {
            validator,
            top_level_keys,
        })
    }
}

/// The property names `node` allows: its own `properties` and those of every
/// `allOf` member, following local `#/$defs/...` references (the cloud-config
/// schemas list each module's keys in a `$defs` entry joined by `allOf`).
fn collect_property_names(root: &Value, node: &Value, names: &mut BTreeSet<String>, depth: usize) {
    const MAX_REFERENCE_DEPTH: usize = 16;
    if depth > MAX_REFERENCE_DEPTH {
        return;
    }
    let node = match node.get("$ref").and_then(Value::as_str) {
        Some(reference) => match reference
            .strip_prefix("#/$defs/")
            .and_then(|name| root["$defs"].get(name))
        {
            Some(target) => target,
            None => return,
        },
        None => node,
    };
    if let Some(properties) = node.get("properties").and_then(Value::as_object) {
        names.extend(properties.keys().cloned());
    }
    for member in node
        .get("allOf")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        collect_property_names(root, member, names, depth + 1);
    }
}

fn is_top_level_additional_properties(error: &ValidationError) -> bool {
    matches!(
        error.kind(),
        ValidationErrorKind::AdditionalProperties { .. }
    ) && error.instance_path().as_str().is_empty()
}

/// `path: message` for one schema error. For `anyOf`/`oneOf` the reason from the
/// alternative that got furthest into the value is added, which is usually the
/// one the author meant.
fn describe(error: &ValidationError) -> String {
    let path = dotted(error.instance_path().as_str());
    let mut message = match error.kind() {
        ValidationErrorKind::AdditionalProperties { unexpected } => {
            let names: Vec<String> = unexpected.iter().map(|name| format!("`{name}`")).collect();
            format!(
                "unknown field{} {}",
                if names.len() == 1 { "" } else { "s" },
                names.join(", ")
            )
        }
        _ => error.to_string(),
    };
    if let ValidationErrorKind::AnyOf { context } | ValidationErrorKind::OneOfNotValid { context } =
        error.kind()
        && let Some(closest) = closest_alternative(context)
    {
        message = format!("{message}; closest: {}", describe(closest));
    }
    format!("{path}: {message}")
}

fn closest_alternative<'a>(
    context: &'a [Vec<ValidationError<'static>>],
) -> Option<&'a ValidationError<'static>> {
    context
        .iter()
        .flatten()
        .max_by_key(|error| error.instance_path().as_str().matches('/').count())
}

/// `/write_files/0/permissions` → `write_files.0.permissions`; the root is `-`.
fn dotted(pointer: &str) -> String {
    if pointer.is_empty() {
        return "-".to_string();
    }
    pointer
        .trim_start_matches('/')
        .split('/')
        .map(|segment| segment.replace("~1", "/").replace("~0", "~"))
        .collect::<Vec<_>>()
        .join(".")
}

fn display_key(key: &str) -> String {
    format!("`{}`", key.escape_debug())
}

fn without_nulls(value: &Value) -> Value {
    match value {
        Value::Object(map) => Value::Object(
            map.iter()
                .filter(|(_, value)| !value.is_null())
                .map(|(key, value)| (key.clone(), without_nulls(value)))
                .collect(),
        ),
        Value::Array(items) => Value::Array(items.iter().map(without_nulls).collect()),
        other => other.clone(),
    }
}

// Format rules from kubeadm's validation (kubernetes/kubernetes
// cmd/kubeadm/app/apis/kubeadm/validation/validation.go and the cluster-bootstrap
// token helpers).

fn kubeadm_formats(kind: &str, doc: &Value) -> Vec<String> {
    let mut problems = Vec::new();
    let mut at = |path: &str, problem: Option<String>| {
        if let Some(problem) = problem {
            problems.push(format!("{path}: {problem}"));
        }
    };
    match kind {
        "InitConfiguration" => {
            if let Some(tokens) = doc.get("bootstrapTokens").and_then(Value::as_array) {
                for (index, token) in tokens.iter().enumerate() {
                    if let Some(text) = token.get("token").and_then(Value::as_str) {
                        at(
                            &format!("bootstrapTokens.{index}.token"),
                            bootstrap_token_problem(text),
                        );
                    }
                }
            }
            if let Some(key) = doc.get("certificateKey").and_then(Value::as_str) {
                at("certificateKey", certificate_key_problem(key));
            }
        }
        "JoinConfiguration" => {
            let discovery = doc.get("discovery");
            let token = discovery.and_then(|d| d.get("bootstrapToken"));
            let file = discovery.and_then(|d| d.get("file"));
            if token.is_some() == file.is_some() {
                at(
                    "discovery",
                    Some("exactly one of `bootstrapToken` and `file` must be set".to_string()),
                );
            }
            if let Some(token) = token {
                if let Some(text) = token.get("token").and_then(Value::as_str) {
                    at(
                        "discovery.bootstrapToken.token",
                        bootstrap_token_problem(text),
                    );
                }
                let hashes = token.get("caCertHashes").and_then(Value::as_array);
                let unsafe_skip = token
                    .get("unsafeSkipCAVerification")
                    .and_then(Value::as_bool)
                    == Some(true);
                if hashes.is_none_or(|hashes| hashes.is_empty()) && !unsafe_skip {
                    at(
                        "discovery.bootstrapToken",
                        Some(
                            "`caCertHashes` is required unless `unsafeSkipCAVerification` is true"
                                .to_string(),
                        ),
                    );
                }
                for (index, hash) in hashes.into_iter().flatten().enumerate() {
                    if let Some(text) = hash.as_str() {
                        at(
                            &format!("discovery.bootstrapToken.caCertHashes.{index}"),
                            ca_cert_hash_problem(text),
                        );
                    }
                }
            }
            if let Some(key) = doc
                .get("controlPlane")
                .and_then(|c| c.get("certificateKey"))
                .and_then(Value::as_str)
            {
                at("controlPlane.certificateKey", certificate_key_problem(key));
            }
        }
        "ClusterConfiguration" => {
            let networking = doc.get("networking");
            for field in ["podSubnet", "serviceSubnet"] {
                if let Some(text) = networking
                    .and_then(|n| n.get(field))
                    .and_then(Value::as_str)
                {
                    at(&format!("networking.{field}"), subnets_problem(text));
                }
            }
            let etcd = doc.get("etcd");
            if etcd.and_then(|e| e.get("local")).is_some()
                && etcd.and_then(|e| e.get("external")).is_some()
            {
                at(
                    "etcd",
                    Some("`local` and `external` are mutually exclusive".to_string()),
                );
            }
        }
        _ => {}
    }
    problems
}

/// `[a-z0-9]{6}.[a-z0-9]{16}` (cluster-bootstrap's `BootstrapTokenPattern`).
fn bootstrap_token_problem(token: &str) -> Option<String> {
    let lower_alnum = |part: &str, len: usize| {
        part.len() == len
            && part
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
    };
    match token.split_once('.') {
        Some((id, secret)) if lower_alnum(id, 6) && lower_alnum(secret, 16) => None,
        _ => Some("a bootstrap token is `[a-z0-9]{6}.[a-z0-9]{16}`".to_string()),
    }
}

fn is_hex(text: &str, len: usize) -> bool {
    text.len() == len && text.bytes().all(|b| b.is_ascii_hexdigit())
}

/// 32 bytes as 64 hex characters.
fn certificate_key_problem(key: &str) -> Option<String> {
    (!is_hex(key, 64))
        .then(|| "a certificate key is 64 hexadecimal characters (32 bytes)".to_string())
}

/// `sha256:` and 64 hex characters.
fn ca_cert_hash_problem(hash: &str) -> Option<String> {
    match hash.split_once(':') {
        Some(("sha256", hex)) if is_hex(hex, 64) => None,
        _ => Some(
            "a CA certificate hash is `sha256:` followed by 64 hexadecimal characters".to_string(),
        ),
    }
}

/// One CIDR, or two of different families separated by a comma (dual stack).
fn subnets_problem(text: &str) -> Option<String> {
    let parts: Vec<&str> = text.split(',').collect();
    let mut families = Vec::new();
    for part in &parts {
        match parse_cidr(part) {
            Some(ip) => families.push(ip.is_ipv4()),
            None => return Some(format!("`{part}` is not a CIDR such as 10.244.0.0/16")),
        }
    }
    match families.as_slice() {
        [_] => None,
        [a, b] if a != b => None,
        _ => Some(
            "expected one CIDR, or one IPv4 and one IPv6 CIDR separated by a comma".to_string(),
        ),
    }
}

fn parse_cidr(text: &str) -> Option<IpAddr> {
    let (address, prefix_text) = text.split_once('/')?;
    let address: IpAddr = address.parse().ok()?;
    // Plain decimal without sign or leading zero, as Go's net.ParseCIDR wants.
    let decimal = prefix_text.bytes().all(|b| b.is_ascii_digit())
        && (prefix_text.len() == 1 || !prefix_text.starts_with('0'));
    let prefix: u8 = prefix_text.parse().ok()?;
    let max = if address.is_ipv4() { 32 } else { 128 };
    (decimal && prefix <= max).then_some(address)
}
