//! The bundle file: a TOML document, version 1 (described in docs/secrets.md).
//!
//! Writing is done by hand so that the output is canonical: the same bundle always gives
//! the same bytes. Reading goes through the `toml` parser and then a strict walk that
//! rejects unknown keys, missing keys and wrong types by name, never quoting a value.

use std::collections::BTreeSet;
use std::fmt::Write;
use std::path::Path;

use toml::{Table, Value};

use super::algorithm::KeyAlgorithm;
use super::bundle::{self, Bundle, EtcdMemberPki, EtcdPki, RegistryLogin};
use super::encryption::{EncryptionKey, EncryptionKeys};
use super::error::SecretsError;
use super::pki::{self, CertificateAndKey};
use super::random;
use super::secret::Secret;
use super::spec::{self, EtcdMember};

pub const FORMAT_VERSION: i64 = 1;

const HEADER: &str = "\
# hac secrets bundle: the join seed, certificate key and private keys of one cluster.
# Anyone holding this file can join machines to the cluster or impersonate it.
# Keep it readable by its owner only (mode 0600) and out of version control.
# Format: version 1, described in docs/secrets.md.
";

/// Whether `start`, the first bytes of a file, begins like a bundle hac wrote (under
/// whatever name): the sandbox refuses such a file to descriptions.
pub fn starts_like_bundle(start: &[u8]) -> bool {
    let first_line = HEADER.split(':').next().unwrap_or(HEADER);
    start.starts_with(first_line.as_bytes())
}

pub fn serialize(bundle: &Bundle) -> String {
    let mut out = String::from(HEADER);
    out.push('\n');
    let _ = writeln!(out, "version = {FORMAT_VERSION}");
    if let Some(cluster) = &bundle.cluster {
        write_string(&mut out, "cluster", cluster);
    }
    if let Some(id) = &bundle.cluster_id {
        write_string(&mut out, "cluster-id", id);
    }
    write_string(
        &mut out,
        "key-algorithm",
        bundle.key_algorithm.kubeadm_name(),
    );
    write_string(&mut out, "join-seed", bundle.join_seed.expose());
    let _ = writeln!(out, "token-generation = {}", bundle.token_generation);
    write_string(&mut out, "certificate-key", bundle.certificate_key.expose());
    if let Some(keys) = &bundle.encryption {
        for key in keys.in_provider_order() {
            out.push_str("\n[[encryption-keys]]\n");
            let _ = writeln!(out, "number = {}", key.number);
            write_string(&mut out, "secret", key.secret.expose());
        }
    }
    for (name, login) in &bundle.registry_logins {
        // Names are DNS labels: a bare TOML key.
        let _ = writeln!(out, "\n[registry-logins.{name}]");
        write_string(&mut out, "username", &login.username);
        write_string(&mut out, "password", login.password.expose());
    }
    write_pair(&mut out, "cluster-ca", &bundle.cluster_ca);
    if let Some(etcd) = &bundle.etcd {
        write_pair(&mut out, "etcd.ca", &etcd.ca);
        write_pair(
            &mut out,
            "etcd.healthcheck-client",
            &etcd.healthcheck_client,
        );
        write_pair(
            &mut out,
            "etcd.apiserver-etcd-client",
            &etcd.apiserver_etcd_client,
        );
        for member in &etcd.members {
            out.push_str("\n[[etcd.members]]\n");
            write_string(&mut out, "name", &member.name);
            write_string(&mut out, "address", &member.address);
            write_pair(&mut out, "etcd.members.server", &member.server);
            write_pair(&mut out, "etcd.members.peer", &member.peer);
        }
    }
    out
}

fn write_pair(out: &mut String, table: &str, pair: &CertificateAndKey) {
    let _ = writeln!(out, "\n[{table}]");
    write_multiline(out, "certificate", pair.certificate_pem());
    write_multiline(out, "private-key", pair.private_key_pem().expose());
}

/// PEM text holds only base64, `-`, spaces and letters, so a multi-line basic string
/// needs no escapes; a leading newline right after `"""` is dropped by TOML.
fn write_multiline(out: &mut String, key: &str, pem: &str) {
    let _ = write!(out, "{key} = \"\"\"\n{pem}\"\"\"\n");
}

fn write_string(out: &mut String, key: &str, value: &str) {
    let _ = write!(out, "{key} = \"");
    for c in value.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if c.is_control() => {
                let _ = write!(out, "\\u{:04X}", u32::from(c));
            }
            c => out.push(c),
        }
    }
    out.push_str("\"\n");
}

/// Whether `text` is meant to be a bundle (though it may be an invalid one): TOML with
/// a top-level `version`, or a file that starts with the header hac writes. A cluster
/// description is neither.
pub fn looks_like_bundle(text: &str) -> bool {
    text.starts_with(HEADER.lines().next().unwrap_or_default())
        || text
            .parse::<Table>()
            .is_ok_and(|table| table.contains_key("version"))
}

/// A value that replaces one field while reading: the field is then not checked, so a
/// rotation can repair a bundle in which exactly that field is broken.
pub enum Replacement {
    /// The next token generation (and a new seed if the one there is malformed).
    NextTokenGeneration,
    CertificateKey(Secret),
}

pub fn parse(path: &Path, text: &str) -> Result<Bundle, SecretsError> {
    parse_with(path, text, None)
}

/// Reads a bundle with `replacement` in place of the field it names, whatever that
/// field holds (or whether it is there at all). Every other field is checked as usual.
pub fn parse_replacing(
    path: &Path,
    text: &str,
    replacement: Replacement,
) -> Result<Bundle, SecretsError> {
    parse_with(path, text, Some(replacement))
}

fn parse_with(
    path: &Path,
    text: &str,
    replacement: Option<Replacement>,
) -> Result<Bundle, SecretsError> {
    let table: Table = text.parse().map_err(|e: toml::de::Error| {
        let line = e.span().map(|span| {
            let before = &text.as_bytes()[..span.start.min(text.len())];
            before.iter().filter(|&&b| b == b'\n').count() + 1
        });
        SecretsError::Malformed {
            path: path.to_path_buf(),
            line,
            message: format!("not valid TOML: {}", e.message().trim_end()),
            help: None,
        }
    })?;
    Reader { path }.bundle(&table, replacement)
}

struct Reader<'a> {
    path: &'a Path,
}

impl Reader<'_> {
    fn error(&self, message: String, help: Option<String>) -> SecretsError {
        SecretsError::Malformed {
            path: self.path.to_path_buf(),
            line: None,
            message,
            help,
        }
    }

    /// Rejects keys of `table` (at `at`, e.g. `etcd.ca`) that are not in `known`.
    fn only_known(&self, table: &Table, at: &str, known: &[&str]) -> Result<(), SecretsError> {
        for key in table.keys() {
            if !known.contains(&key.as_str()) {
                let help = hac_lang::diagnostic::did_you_mean(key, known.iter().copied())
                    .map(|k| format!("did you mean `{k}`?"))
                    .or_else(|| {
                        Some(format!(
                            "the keys allowed here are {}",
                            known
                                .iter()
                                .map(|k| format!("`{k}`"))
                                .collect::<Vec<_>>()
                                .join(", ")
                        ))
                    });
                return Err(self.error(format!("unknown key `{}`", join(at, key)), help));
            }
        }
        Ok(())
    }

    fn required<'t>(
        &self,
        table: &'t Table,
        at: &str,
        key: &str,
    ) -> Result<&'t Value, SecretsError> {
        table
            .get(key)
            .ok_or_else(|| self.error(format!("missing key `{}`", join(at, key)), None))
    }

    fn string<'t>(&self, table: &'t Table, at: &str, key: &str) -> Result<&'t str, SecretsError> {
        match self.required(table, at, key)? {
            Value::String(s) => Ok(s),
            other => Err(self.type_error(at, key, "a string", other)),
        }
    }

    fn optional_string<'t>(
        &self,
        table: &'t Table,
        key: &str,
    ) -> Result<Option<&'t str>, SecretsError> {
        match table.get(key) {
            None => Ok(None),
            Some(Value::String(s)) => Ok(Some(s)),
            Some(other) => Err(self.type_error("", key, "a string", other)),
        }
    }

    fn table<'t>(&self, table: &'t Table, at: &str, key: &str) -> Result<&'t Table, SecretsError> {
        match self.required(table, at, key)? {
            Value::Table(t) => Ok(t),
            other => Err(self.type_error(at, key, "a table", other)),
        }
    }

    fn type_error(&self, at: &str, key: &str, expected: &str, found: &Value) -> SecretsError {
        self.error(
            format!(
                "`{}` must be {expected}, not {}",
                join(at, key),
                found.type_str()
            ),
            None,
        )
    }

    fn bundle(
        &self,
        root: &Table,
        replacement: Option<Replacement>,
    ) -> Result<Bundle, SecretsError> {
        // The version is checked first so that a newer file gets a version error rather
        // than complaints about keys this hac does not know.
        match self.required(root, "", "version")? {
            Value::Integer(FORMAT_VERSION) => {}
            Value::Integer(found) => {
                return Err(SecretsError::UnsupportedVersion {
                    path: self.path.to_path_buf(),
                    found: *found,
                });
            }
            other => return Err(self.type_error("", "version", "an integer", other)),
        }
        self.only_known(
            root,
            "",
            &[
                "version",
                "cluster",
                "cluster-id",
                "key-algorithm",
                "join-seed",
                "token-generation",
                // Bundles made before join seeds: the token is no longer used.
                "bootstrap-token",
                "certificate-key",
                "cluster-ca",
                "etcd",
                "encryption-keys",
                "registry-logins",
            ],
        )?;
        let cluster = self.optional_string(root, "cluster")?;
        if let Some(name) = cluster
            && !spec::is_dns_label(name)
        {
            return Err(self.error(
                "`cluster` must be a cluster name (a lowercase DNS-1123 label)".to_owned(),
                None,
            ));
        }
        let cluster_id = self.optional_string(root, "cluster-id")?;
        if let Some(id) = cluster_id
            && !is_cluster_id(id)
        {
            return Err(self.error(
                "`cluster-id` must be 32 lowercase hexadecimal characters".to_owned(),
                None,
            ));
        }
        let algorithm_name = self.string(root, "", "key-algorithm")?;
        let key_algorithm: KeyAlgorithm = algorithm_name
            .parse()
            .map_err(|e: super::algorithm::UnknownKeyAlgorithm| {
                self.error(
                    format!("`key-algorithm`: {e}"),
                    Some("the key algorithm cannot change once the bundle exists; re-create it with `hac secrets init --force`".to_owned()),
                )
            })?;
        let (join_seed, token_generation, join_seed_added, certificate_key) = match replacement {
            Some(Replacement::NextTokenGeneration) => {
                let certificate_key =
                    self.certificate_key(self.string(root, "", "certificate-key")?)?;
                match (
                    self.join_seed(root).ok().flatten(),
                    self.token_generation(root),
                ) {
                    (Some(seed), Ok(generation)) => (
                        seed,
                        generation.checked_add(1).ok_or_else(|| {
                            self.error("`token-generation` cannot go higher".to_owned(), None)
                        })?,
                        false,
                        certificate_key,
                    ),
                    _ => (random::certificate_key()?, 0, true, certificate_key),
                }
            }
            Some(Replacement::CertificateKey(key)) => {
                let (seed, generation, added) = self.join(root)?;
                (seed, generation, added, key)
            }
            None => {
                let (seed, generation, added) = self.join(root)?;
                let key = self.certificate_key(self.string(root, "", "certificate-key")?)?;
                (seed, generation, added, key)
            }
        };
        let cluster_ca = self.ca(
            root,
            "",
            "cluster-ca",
            key_algorithm,
            pki::CLUSTER_CA_COMMON_NAME,
        )?;
        let etcd = match root.get("etcd") {
            None => None,
            Some(_) => Some(self.etcd(self.table(root, "", "etcd")?, key_algorithm)?),
        };
        let encryption = self.encryption_keys(root)?;
        let registry_logins = self.registry_logins(root)?;
        Ok(Bundle {
            encryption,
            registry_logins,
            cluster: cluster.map(str::to_owned),
            cluster_id: cluster_id.map(str::to_owned),
            key_algorithm,
            join_seed,
            token_generation,
            join_seed_added,
            certificate_key,
            cluster_ca,
            etcd,
        })
    }

    /// The join seed and token generation. A bundle made before join seeds (it has a
    /// `bootstrap-token` instead) gets a new seed, generation 0, marked as added so
    /// that `hac build` writes it back.
    fn join(&self, root: &Table) -> Result<(Secret, u32, bool), SecretsError> {
        match self.join_seed(root)? {
            Some(seed) => Ok((seed, self.token_generation(root)?, false)),
            None if root.contains_key("bootstrap-token") => {
                Ok((random::certificate_key()?, 0, true))
            }
            None => Err(self.error("missing key `join-seed`".to_owned(), None)),
        }
    }

    fn join_seed(&self, root: &Table) -> Result<Option<Secret>, SecretsError> {
        if !root.contains_key("join-seed") {
            return Ok(None);
        }
        let seed = self.string(root, "", "join-seed")?;
        if seed.len() == 64 && seed.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')) {
            Ok(Some(Secret::new(seed.to_owned())))
        } else {
            Err(self.error(
                "`join-seed` must be 64 lowercase hexadecimal characters".to_owned(),
                Some("make a new one with `hac secrets rotate token` (then rebuild every host: the control planes' keepers must know it)".to_owned()),
            ))
        }
    }

    /// `[[encryption-keys]]`: one or two keys, the one that writes first.
    fn encryption_keys(&self, root: &Table) -> Result<Option<EncryptionKeys>, SecretsError> {
        let values = match root.get("encryption-keys") {
            None => return Ok(None),
            Some(Value::Array(values)) => values,
            Some(other) => {
                return Err(self.type_error("", "encryption-keys", "an array of tables", other));
            }
        };
        let mut keys = Vec::with_capacity(values.len());
        for (index, value) in values.iter().enumerate() {
            let at = format!("encryption-keys[{index}]");
            let Value::Table(table) = value else {
                return Err(self.error(format!("`{at}` must be a table"), None));
            };
            self.only_known(table, &at, &["number", "secret"])?;
            let number = match self.required(table, &at, "number")? {
                Value::Integer(n) => u32::try_from(*n).ok().filter(|n| *n > 0),
                other => return Err(self.type_error(&at, "number", "an integer", other)),
            }
            .ok_or_else(|| {
                self.error(
                    format!("`{at}.number` must be a whole number from 1 to 4294967295"),
                    None,
                )
            })?;
            let secret = self.string(table, &at, "secret")?;
            if !EncryptionKey::is_valid_secret(secret) {
                return Err(self.error(
                    format!("`{at}.secret` must be 32 bytes in base64 (44 characters)"),
                    None,
                ));
            }
            keys.push(EncryptionKey {
                number,
                secret: Secret::new(secret.to_owned()),
            });
        }
        let mut keys = keys.into_iter();
        match (keys.next(), keys.next(), keys.next()) {
            (Some(write), other, None) => {
                if other.as_ref().is_some_and(|o| o.number == write.number) {
                    return Err(self.error(
                        "the two `encryption-keys` must have different numbers".to_owned(),
                        None,
                    ));
                }
                Ok(Some(EncryptionKeys { write, other }))
            }
            _ => Err(self.error(
                "`encryption-keys` must hold one or two keys".to_owned(),
                Some("a rotation keeps at most the key that writes and one other (see docs/secrets.md)".to_owned()),
            )),
        }
    }

    /// `[registry-logins.NAME]`: a `username` and a `password` each. Errors name the
    /// login and the key, never a value.
    fn registry_logins(
        &self,
        root: &Table,
    ) -> Result<std::collections::BTreeMap<String, RegistryLogin>, SecretsError> {
        let mut logins = std::collections::BTreeMap::new();
        if !root.contains_key("registry-logins") {
            return Ok(logins);
        }
        let table = self.table(root, "", "registry-logins")?;
        for name in table.keys() {
            if !bundle::is_registry_login_name(name) {
                return Err(self.error(
                    "every `registry-logins` name must be a lowercase DNS-1123 label".to_owned(),
                    None,
                ));
            }
            let at = format!("registry-logins.{name}");
            let login = self.table(table, "registry-logins", name)?;
            self.only_known(login, &at, &["username", "password"])?;
            let username = self.string(login, &at, "username")?;
            let password = Secret::new(self.string(login, &at, "password")?.to_owned());
            let login = RegistryLogin::new(username, password).map_err(|why| {
                self.error(
                    format!("`{at}`: {why}"),
                    Some(format!(
                        "set it again with `hac secrets set-registry-login {name} --username USER`"
                    )),
                )
            })?;
            logins.insert(name.clone(), login);
        }
        Ok(logins)
    }

    fn token_generation(&self, root: &Table) -> Result<u32, SecretsError> {
        match self.required(root, "", "token-generation")? {
            Value::Integer(n) => u32::try_from(*n).map_err(|_| {
                self.error(
                    "`token-generation` must be a whole number from 0 to 4294967295".to_owned(),
                    None,
                )
            }),
            other => Err(self.type_error("", "token-generation", "an integer", other)),
        }
    }

    fn certificate_key(&self, key: &str) -> Result<Secret, SecretsError> {
        if key.len() == 64 && key.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')) {
            Ok(Secret::new(key.to_owned()))
        } else {
            Err(self.error(
                "`certificate-key` must be 64 lowercase hexadecimal characters".to_owned(),
                Some("make a new one with `hac secrets rotate certificate-key`".to_owned()),
            ))
        }
    }

    fn pair(
        &self,
        parent: &Table,
        at: &str,
        key: &str,
        algorithm: KeyAlgorithm,
    ) -> Result<CertificateAndKey, SecretsError> {
        let here = join(at, key);
        let table = self.table(parent, at, key)?;
        self.only_known(table, &here, &["certificate", "private-key"])?;
        let certificate = self.string(table, &here, "certificate")?;
        let private_key = Secret::new(self.string(table, &here, "private-key")?.to_owned());
        CertificateAndKey::from_pem(certificate, &private_key, algorithm)
            .map_err(|detail| self.error(format!("`{here}`: {detail}"), None))
    }

    fn ca(
        &self,
        parent: &Table,
        at: &str,
        key: &str,
        algorithm: KeyAlgorithm,
        common_name: &str,
    ) -> Result<CertificateAndKey, SecretsError> {
        let ca = self.pair(parent, at, key, algorithm)?;
        let here = join(at, key);
        let info = ca.info();
        if !info.is_ca || !info.is_issued_by(info) {
            return Err(self.error(
                format!("`{here}` is not a self-signed CA certificate"),
                None,
            ));
        }
        if info.common_name.as_deref() != Some(common_name) {
            return Err(self.error(
                format!("`{here}` must have the common name `{common_name}`"),
                None,
            ));
        }
        Ok(ca)
    }

    /// A leaf that must be signed by `ca` and carry `common_name`.
    fn leaf(
        &self,
        parent: &Table,
        at: &str,
        key: &str,
        algorithm: KeyAlgorithm,
        ca: &CertificateAndKey,
        common_name: &str,
    ) -> Result<CertificateAndKey, SecretsError> {
        let leaf = self.pair(parent, at, key, algorithm)?;
        let here = join(at, key);
        if !leaf.info().is_issued_by(ca.info()) {
            return Err(self.error(
                format!("`{here}` is not signed by the etcd CA"),
                Some(
                    "remove the `etcd` tables and run `hac build` to issue a new etcd PKI"
                        .to_owned(),
                ),
            ));
        }
        if leaf.info().common_name.as_deref() != Some(common_name) {
            return Err(self.error(
                format!("`{here}` must have the common name `{common_name}`"),
                None,
            ));
        }
        Ok(leaf)
    }

    fn etcd(&self, etcd: &Table, algorithm: KeyAlgorithm) -> Result<EtcdPki, SecretsError> {
        self.only_known(
            etcd,
            "etcd",
            &[
                "ca",
                "healthcheck-client",
                "apiserver-etcd-client",
                "members",
            ],
        )?;
        let ca = self.ca(etcd, "etcd", "ca", algorithm, pki::ETCD_CA_COMMON_NAME)?;
        let healthcheck_client = self.leaf(
            etcd,
            "etcd",
            "healthcheck-client",
            algorithm,
            &ca,
            pki::HEALTHCHECK_CLIENT_COMMON_NAME,
        )?;
        let apiserver_etcd_client = self.leaf(
            etcd,
            "etcd",
            "apiserver-etcd-client",
            algorithm,
            &ca,
            pki::APISERVER_ETCD_CLIENT_COMMON_NAME,
        )?;
        let member_values: &[Value] = match etcd.get("members") {
            None => &[],
            Some(Value::Array(members)) => members,
            Some(other) => {
                return Err(self.type_error("etcd", "members", "an array of tables", other));
            }
        };
        let mut members = Vec::with_capacity(member_values.len());
        let mut names = BTreeSet::new();
        for (index, value) in member_values.iter().enumerate() {
            let at = format!("etcd.members[{index}]");
            let Value::Table(table) = value else {
                return Err(self.error(format!("`{at}` must be a table"), None));
            };
            let member = self.member(table, &at, algorithm, &ca)?;
            if !names.insert(member.name.clone()) {
                return Err(
                    self.error(format!("etcd member `{}` appears twice", member.name), None)
                );
            }
            members.push(member);
        }
        members.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(EtcdPki {
            ca,
            healthcheck_client,
            apiserver_etcd_client,
            members,
        })
    }

    fn member(
        &self,
        table: &Table,
        at: &str,
        algorithm: KeyAlgorithm,
        ca: &CertificateAndKey,
    ) -> Result<EtcdMemberPki, SecretsError> {
        self.only_known(table, at, &["name", "address", "server", "peer"])?;
        let declared = EtcdMember {
            name: self.string(table, at, "name")?.to_owned(),
            address: self.string(table, at, "address")?.to_owned(),
        };
        spec::check_member(&declared)
            .map_err(|message| self.error(format!("`{at}`: {message}"), None))?;
        let server = self.member_leaf(table, at, "server", algorithm, ca, &declared)?;
        let peer = self.member_leaf(table, at, "peer", algorithm, ca, &declared)?;
        Ok(EtcdMemberPki {
            name: declared.name,
            address: declared.address,
            server,
            peer,
        })
    }

    /// A member's server or peer certificate, which must cover the member's name and
    /// address: reconciling trusts the recorded address, so it must be the real one.
    fn member_leaf(
        &self,
        table: &Table,
        at: &str,
        kind: &str,
        algorithm: KeyAlgorithm,
        ca: &CertificateAndKey,
        member: &EtcdMember,
    ) -> Result<CertificateAndKey, SecretsError> {
        let pair = self.leaf(table, at, kind, algorithm, ca, &member.name)?;
        let (dns_names, ip_addresses) = spec::member_alt_names(member);
        let info = pair.info();
        let covers = dns_names.iter().all(|n| info.dns_names.contains(n))
            && ip_addresses.iter().all(|a| info.ip_addresses.contains(a));
        if !covers {
            return Err(self.error(
                format!(
                    "the {kind} certificate of etcd member `{}` does not cover its name and address `{}`",
                    member.name, member.address
                ),
                Some(format!(
                    "remove this `[[etcd.members]]` entry and run `hac build` to issue new certificates for `{}`",
                    member.name
                )),
            ));
        }
        Ok(pair)
    }
}

/// Whether `id` has the form of a cluster id: 32 lowercase hexadecimal characters.
pub fn is_cluster_id(id: &str) -> bool {
    id.len() == 32 && id.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

fn join(at: &str, key: &str) -> String {
    if at.is_empty() {
        key.to_owned()
    } else {
        format!("{at}.{key}")
    }
}
