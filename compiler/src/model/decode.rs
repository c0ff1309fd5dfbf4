//! Reads an evaluated [`Value`] into the typed [`Cluster`], reporting every shape and
//! format problem at the span of the value (or attribute name) the user wrote.
//!
//! Each reader returns `None` after reporting; the cluster is built only when nothing
//! failed, but every field is still read so one run reports every mistake.

use std::collections::BTreeMap;
use std::net::IpAddr;

use hac_lang::diagnostic::did_you_mean;
use hac_lang::{Attr, Attrs, Diagnostic, Origin, Value, ValueKind};

use super::cidr::{Cidr, CidrError};
use super::codes;
use super::formats;
use super::schema;
use super::types::*;
use super::version::{KubernetesVersion, VersionError};
use crate::build::versions::{self, Artefact};

/// The smallest MTU an IPv4 host must accept (RFC 791), and the largest jumbo frame
/// common NICs and clouds carry.
pub const MIN_MTU: u32 = 576;
pub const MAX_MTU: u32 = 9216;

/// Reads `value` into a cluster; `None` when any diagnostic was an error.
pub fn decode(value: &Value) -> (Option<Cluster>, Vec<Diagnostic>) {
    let mut reader = Reader::default();
    let cluster = reader.cluster(value);
    let failed = reader.diagnostics.iter().any(Diagnostic::is_error);
    (cluster.filter(|_| !failed), reader.diagnostics)
}

#[derive(Default)]
struct Reader {
    diagnostics: Vec<Diagnostic>,
}

/// An attribute set being read, with its schema set and its path for messages.
struct SetView<'v> {
    schema: &'static str,
    attrs: &'v Attrs,
    origin: Origin,
    /// `network`, `controlplanes[0]`, or empty for the cluster itself.
    path: String,
}

impl<'v> SetView<'v> {
    fn get(&self, name: &'static str) -> Option<&'v Attr> {
        debug_assert!(
            schema::lookup(self.schema, name).is_some(),
            "`{name}` is not in schema set `{}`",
            self.schema
        );
        self.attrs
            .get(name)
            .filter(|attr| !matches!(attr.value.kind, ValueKind::Null))
    }

    fn path_of(&self, name: &str) -> String {
        if self.path.is_empty() {
            name.to_owned()
        } else {
            format!("{}.{name}", self.path)
        }
    }
}

fn described_type(value: &Value) -> &'static str {
    match value.kind {
        ValueKind::Null => "null",
        ValueKind::Bool(_) => "a boolean",
        ValueKind::Int(_) => "an integer",
        ValueKind::String(_) => "a string",
        ValueKind::Path(_) => "a path",
        ValueKind::List(_) => "a list",
        ValueKind::Attrs(_) => "an attribute set",
        ValueKind::Function => "a function",
    }
}

/// Splits "VERDICT: EXPLANATION" at the first `: ` outside backticks, when the verdict
/// says something on its own (not just "`value`").
fn split_explanation(reason: &str) -> Option<(&str, &str)> {
    let mut in_code = false;
    for (at, c) in reason.char_indices() {
        match c {
            '`' => in_code = !in_code,
            ':' if !in_code && reason[at..].starts_with(": ") => {
                let verdict = &reason[..at];
                let bare_value = verdict.starts_with('`')
                    && verdict.ends_with('`')
                    && verdict.matches('`').count() == 2;
                return (!bare_value).then(|| (verdict, &reason[at + 2..]));
            }
            _ => {}
        }
    }
    None
}

/// The first character of `origin`: where a set that lacks something starts, so the
/// report shows one line rather than the whole (possibly file-long) set.
fn start_of(origin: Origin) -> Origin {
    let start = origin.span.start as usize;
    let end = (start + 1).min(origin.span.end as usize);
    Origin::new(origin.file, hac_lang::Span::new(start, end))
}

fn primary(diagnostic: Diagnostic, origin: Origin, label: impl Into<String>) -> Diagnostic {
    diagnostic.with_primary(origin.file, origin.span, label)
}

impl Reader {
    fn error(
        &mut self,
        code: &'static str,
        origin: Origin,
        message: String,
        label: impl Into<String>,
        help: Option<String>,
    ) {
        let mut diagnostic = primary(Diagnostic::error(code, message), origin, label);
        diagnostic.help = help;
        self.diagnostics.push(diagnostic);
    }

    fn wrong_type(&mut self, value: &Value, path: &str, expected: &str) {
        self.error(
            codes::WRONG_TYPE,
            value.origin,
            format!(
                "expected {expected} for `{path}`, found {}",
                described_type(value)
            ),
            format!("expected {expected}"),
            None,
        );
    }

    fn invalid(
        &mut self,
        code: &'static str,
        origin: Origin,
        path: &str,
        reason: String,
        help: Option<String>,
    ) {
        // A long reason such as "`x` is not a taint: `key=value:Effect` or …" keeps its
        // verdict in the message and moves the explanation to the help.
        let (reason, help) = match (help, split_explanation(&reason)) {
            (None, Some((verdict, explanation))) if reason.len() > 60 => {
                (verdict.to_owned(), Some(explanation.to_owned()))
            }
            (help, _) => (reason, help),
        };
        self.error(
            code,
            origin,
            format!("invalid `{path}`: {reason}"),
            "invalid value",
            help,
        );
    }

    /// Opens an attribute set and reports the attributes the schema does not define.
    fn open<'v>(
        &mut self,
        value: &'v Value,
        schema: &'static str,
        path: String,
    ) -> Option<SetView<'v>> {
        let Some(attrs) = value.as_attrs() else {
            let what = if path.is_empty() {
                "the cluster".to_owned()
            } else {
                format!("`{path}`")
            };
            self.error(
                codes::WRONG_TYPE,
                value.origin,
                format!(
                    "expected an attribute set for {what}, found {}",
                    described_type(value)
                ),
                "expected an attribute set",
                (path.is_empty()).then(|| {
                    "a `.hac` file must evaluate to `{ name = …; kubernetes = …; … }`".to_owned()
                }),
            );
            return None;
        };
        let known: Vec<&'static str> = schema::attributes(schema).map(|a| a.name).collect();
        for (name, attr) in attrs.iter() {
            if known.contains(&name) {
                continue;
            }
            let help = match did_you_mean(name, known.iter().copied()) {
                Some(suggestion) => format!("did you mean `{suggestion}`?"),
                None => format!(
                    "{} has: {}",
                    schema::set(schema).title,
                    known
                        .iter()
                        .map(|k| format!("`{k}`"))
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            };
            let within = if path.is_empty() {
                "the cluster".to_owned()
            } else {
                format!("`{path}`")
            };
            self.error(
                codes::UNKNOWN_ATTRIBUTE,
                attr.name_origin,
                format!("unknown attribute `{name}` in {within}"),
                "not in the cluster schema",
                Some(help),
            );
        }
        Some(SetView {
            schema,
            attrs,
            origin: value.origin,
            path,
        })
    }

    /// Reads a required attribute, reporting it missing on the set that lacks it.
    fn required<T>(
        &mut self,
        view: &SetView,
        name: &'static str,
        read: impl FnOnce(&mut Self, &Value, &str) -> Option<T>,
    ) -> Option<T> {
        let path = view.path_of(name);
        match view.get(name) {
            Some(attr) => read(self, &attr.value, &path),
            None => {
                // `contolplanes` for `controlplanes` is reported once, as a misspelling.
                let misspelt = view.attrs.iter().any(|(present, _)| {
                    schema::lookup(view.schema, present).is_none()
                        && did_you_mean(present, [name]).is_some()
                });
                if misspelt {
                    return None;
                }
                let doc = schema::lookup(view.schema, name).map_or("", |a| a.doc);
                let within = if view.path.is_empty() {
                    "the cluster".to_owned()
                } else {
                    format!("`{}`", view.path)
                };
                let message = if view.attrs.contains(name) {
                    format!("`{path}` is null but required")
                } else {
                    format!("missing attribute `{name}` in {within}")
                };
                self.error(
                    codes::MISSING_ATTRIBUTE,
                    start_of(view.origin),
                    message,
                    format!("this set needs `{name}`"),
                    Some(format!("add `{name} = …;`: {}", lowercase_first(doc))),
                );
                None
            }
        }
    }

    /// Reads an optional attribute (absent or `null` means the default).
    fn optional<T>(
        &mut self,
        view: &SetView,
        name: &'static str,
        read: impl FnOnce(&mut Self, &Value, &str) -> Option<T>,
        default: impl FnOnce() -> T,
    ) -> Option<T> {
        match view.get(name) {
            Some(attr) => read(self, &attr.value, &view.path_of(name)),
            None => Some(default()),
        }
    }

    fn string(&mut self, value: &Value, path: &str) -> Option<Located<String>> {
        match value.as_str() {
            Some(text) => Some(Located::new(text.to_owned(), value.origin)),
            None => {
                self.wrong_type(value, path, "a string");
                None
            }
        }
    }

    /// A string checked (and converted) by `parse`; failures are reported with `code`.
    fn formatted<T>(
        &mut self,
        value: &Value,
        path: &str,
        code: &'static str,
        parse: impl FnOnce(&str) -> Result<T, String>,
    ) -> Option<Located<T>> {
        let text = self.string(value, path)?;
        match parse(&text.value) {
            Ok(parsed) => Some(Located::new(parsed, value.origin)),
            Err(reason) => {
                self.invalid(code, value.origin, path, reason, None);
                None
            }
        }
    }

    fn bool(&mut self, value: &Value, path: &str) -> Option<bool> {
        let read = value.as_bool();
        if read.is_none() {
            self.wrong_type(value, path, "a boolean");
        }
        read
    }

    fn list<'v>(&mut self, value: &'v Value, path: &str, expected: &str) -> Option<&'v [Value]> {
        let read = value.as_list();
        if read.is_none() {
            self.wrong_type(value, path, expected);
        }
        read
    }

    /// Reads every element, reporting each bad one; `None` if any failed.
    fn each<T>(
        &mut self,
        value: &Value,
        path: &str,
        expected: &str,
        mut read: impl FnMut(&mut Self, &Value, String) -> Option<T>,
    ) -> Option<Vec<T>> {
        let items = self.list(value, path, expected)?;
        let results: Vec<Option<T>> = items
            .iter()
            .enumerate()
            .map(|(i, item)| read(self, item, format!("{path}[{i}]")))
            .collect();
        results.into_iter().collect()
    }

    fn strings(
        &mut self,
        value: &Value,
        path: &str,
        check: fn(&str) -> Result<(), String>,
    ) -> Option<Vec<String>> {
        self.each(value, path, "a list of strings", |reader, item, path| {
            reader
                .formatted(item, &path, codes::INVALID_VALUE, |s| {
                    check(s).map(|()| s.to_owned())
                })
                .map(|l| l.value)
        })
    }

    fn cluster(&mut self, value: &Value) -> Option<Cluster> {
        let view = self.open(value, "cluster", String::new())?;
        let name = self.required(&view, "name", |r, v, p| {
            r.formatted(v, p, codes::INVALID_NAME, |s| {
                formats::dns_label(s).map(|()| s.to_owned())
            })
        });
        let kubernetes = self.required(&view, "kubernetes", |r, v, p| r.kubernetes(v, p));
        let os = self.optional(
            &view,
            "os",
            |r, v, p| r.os(v, p),
            || Located::new(Os::DEFAULT, view.origin),
        );
        let endpoint = self.required(&view, "endpoint", |r, v, p| {
            r.formatted(v, p, codes::INVALID_ENDPOINT, formats::endpoint)
        });
        let network = self.network(
            view.get("network").map(|attr| &attr.value),
            "network",
            view.origin,
        );
        let etcd = self.optional(&view, "etcd", |r, v, p| r.etcd(v, p), || Etcd::Stacked);
        let endpoint_port = endpoint.as_ref().map(|e| e.value.port);
        let loadbalancer = self.optional(
            &view,
            "loadbalancer",
            |r, v, p| r.loadbalancer(v, p, endpoint_port),
            || LoadBalancer::None,
        );
        let controlplanes = self.required(&view, "controlplanes", |r, v, p| {
            r.hosts(v, p).map(|hosts| (hosts, v.origin))
        });
        let workers = self.optional(
            &view,
            "workers",
            |r, v, p| r.hosts(v, p).map(|hosts| (hosts, v.origin)),
            || (Vec::new(), start_of(view.origin)),
        );
        let ssh = self.optional(&view, "ssh", |r, v, p| r.ssh(v, p), Ssh::default);
        let files = self.optional(&view, "files", |r, v, p| r.files(v, p), Vec::new);
        let commands = self.optional(
            &view,
            "commands",
            |r, v, p| r.commands(v, p),
            Commands::default,
        );
        let bootstrap = self.optional(
            &view,
            "bootstrap",
            |r, v, p| r.bootstrap(v, p),
            || Bootstrap {
                token_ttl: Located::new(DEFAULT_TOKEN_TTL, view.origin),
            },
        );
        let containerd = self.optional(
            &view,
            "containerd",
            |r, v, p| r.containerd(v, p),
            default_containerd,
        );
        let packages = self.optional(
            &view,
            "packages",
            |r, v, p| r.packages(v, p),
            || Packages {
                mirror: DEFAULT_PACKAGE_MIRROR.to_owned(),
                mirror_origin: view.origin,
                releases: None,
                image_repository: None,
                offline: None,
                origin: view.origin,
            },
        );
        let versions = self.optional(
            &view,
            "versions",
            |r, v, p| r.versions(v, p),
            Versions::default,
        );
        let proxy = self.optional(&view, "proxy", |r, v, p| r.proxy(v, p).map(Some), || None);
        let kubelet = self.optional(
            &view,
            "kubelet",
            |r, v, p| r.kubelet(v, p),
            Kubelet::default,
        );
        let cloud = self.optional(
            &view,
            "cloud",
            |r, v, p| {
                r.choice(v, p, &Cloud::ALL.map(Cloud::as_str), "hac knows no cloud")
                    .map(|(text, origin)| {
                        Some(CloudSetting {
                            cloud: Cloud::parse(text).expect("a listed cloud"),
                            origin,
                            source: CloudSource::Attribute,
                        })
                    })
            },
            || None,
        );
        let controlplane = self.optional(
            &view,
            "controlplane",
            |r, v, p| r.controlplane(v, p),
            ControlPlane::default,
        );
        let (controlplanes, controlplanes_origin) = controlplanes?;
        let (workers, workers_origin) = workers?;
        Some(Cluster {
            origin: view.origin,
            name: name?,
            kubernetes: kubernetes?,
            os: os?,
            endpoint: endpoint?,
            network: network?,
            etcd: etcd?,
            loadbalancer: loadbalancer?,
            controlplanes_origin,
            controlplanes,
            workers_origin,
            workers,
            ssh: ssh?,
            files: files?,
            commands: commands?,
            bootstrap: bootstrap?,
            containerd: containerd?,
            packages: packages?,
            kubelet: kubelet?,
            cloud: cloud?,
            controlplane: controlplane?,
            versions: versions?,
            proxy: proxy?,
        })
    }

    /// One of `names`, with a suggestion for a near miss.
    fn choice<'n>(
        &mut self,
        value: &Value,
        path: &str,
        names: &[&'n str],
        unknown: &str,
    ) -> Option<(&'n str, Origin)> {
        let text = self.string(value, path)?;
        if let Some(name) = names.iter().find(|n| **n == text.value.as_str()) {
            return Some((*name, value.origin));
        }
        let help = match did_you_mean(&text.value, names.iter().copied()) {
            Some(suggestion) => format!("did you mean `{suggestion}`?"),
            None => format!(
                "choose one of {}",
                names
                    .iter()
                    .map(|n| format!("`{n}`"))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        };
        self.invalid(
            codes::INVALID_VALUE,
            value.origin,
            path,
            format!("{unknown} `{}`", text.value.escape_debug()),
            Some(help),
        );
        None
    }

    fn kubernetes(&mut self, value: &Value, path: &str) -> Option<Located<KubernetesVersion>> {
        let text = self.string(value, path)?;
        match KubernetesVersion::parse(&text.value) {
            Ok(version) => Some(Located::new(version, value.origin)),
            Err(error) => {
                let (reason, help) = match error {
                    VersionError::Syntax => (
                        format!("`{}` is not a release `X.Y.Z`", text.value.escape_debug()),
                        "write the full release, e.g. `\"1.36.1\"`: every host installs exactly that patch".to_owned(),
                    ),
                    VersionError::LeadingV => (
                        format!("`{}` is not a release `X.Y.Z`", text.value.escape_debug()),
                        format!("drop the `v`: write `\"{}\"`; hac pins the package version, which has no `v`", text.value[1..].escape_debug()),
                    ),
                    VersionError::UnknownMajor(major) => (format!("Kubernetes {major}.x does not exist"), "write a 1.x release such as `\"1.36.1\"`".to_owned()),
                    VersionError::TooOld(version) => (
                        format!("Kubernetes {version} is older than pkgs.k8s.io serves"),
                        format!("pkgs.k8s.io has packages from 1.{} on; use a supported release such as `\"1.36.1\"`", super::version::OLDEST_PACKAGED_MINOR),
                    ),
                };
                self.invalid(
                    codes::INVALID_VERSION,
                    value.origin,
                    path,
                    reason,
                    Some(help),
                );
                None
            }
        }
    }

    fn os(&mut self, value: &Value, path: &str) -> Option<Located<Os>> {
        let text = self.string(value, path)?;
        if let Some(os) = Os::parse(&text.value) {
            return Some(Located::new(os, value.origin));
        }
        let names = Os::ALL.map(Os::as_str);
        let help = match did_you_mean(&text.value, names) {
            Some(suggestion) => format!("did you mean `{suggestion}`?"),
            None => format!(
                "hac supports {}",
                names.map(|n| format!("`{n}`")).join(", ")
            ),
        };
        self.error(
            codes::UNSUPPORTED_OS,
            value.origin,
            format!("unsupported `os` `{}`", text.value.escape_debug()),
            "hac has no setup for this system",
            Some(help),
        );
        None
    }

    /// `value` is `None` when `network` is absent: every default applies.
    fn network(
        &mut self,
        value: Option<&Value>,
        path: &str,
        cluster_origin: Origin,
    ) -> Option<Network> {
        let view = match value {
            Some(value) => Some(self.open(value, "network", path.to_owned())?),
            None => None,
        };
        let origin = view.as_ref().map_or(cluster_origin, |v| v.origin);
        let default_cidr =
            |text: &str| Located::new(text.parse::<Cidr>().expect("default CIDR"), origin);
        let Some(view) = view else {
            return Some(Network {
                cni: Located::new(Cni::Flannel, origin),
                pods: default_cidr(DEFAULT_PODS),
                services: default_cidr(DEFAULT_SERVICES),
                domain: Located::new(DEFAULT_DOMAIN.to_owned(), origin),
                encapsulation: None,
                mtu: None,
                resolve_endpoint: Located::new(EndpointResolution::Dns, origin),
            });
        };
        let cni = self.optional(
            &view,
            "cni",
            |r, v, p| r.cni(v, p),
            || Located::new(Cni::Flannel, origin),
        );
        let pods = self.optional(
            &view,
            "pods",
            |r, v, p| r.cidr(v, p),
            || default_cidr(DEFAULT_PODS),
        );
        let services = self.optional(
            &view,
            "services",
            |r, v, p| r.cidr(v, p),
            || default_cidr(DEFAULT_SERVICES),
        );
        let domain = self.optional(
            &view,
            "domain",
            |r, v, p| {
                r.formatted(v, p, codes::INVALID_VALUE, |s| {
                    formats::dns_name(s).map(|()| s.to_owned())
                })
            },
            || Located::new(DEFAULT_DOMAIN.to_owned(), origin),
        );
        let encapsulation = self.optional(
            &view,
            "encapsulation",
            |r, v, p| {
                r.choice(
                    v,
                    p,
                    &Encapsulation::ALL.map(Encapsulation::as_str),
                    "hac knows no encapsulation",
                )
                .map(|(text, origin)| {
                    Some(Located::new(
                        Encapsulation::parse(text).expect("a listed encapsulation"),
                        origin,
                    ))
                })
            },
            || None,
        );
        let mtu = self.optional(&view, "mtu", |r, v, p| r.mtu(v, p).map(Some), || None);
        let resolve_endpoint = self.optional(
            &view,
            "resolveEndpoint",
            |r, v, p| {
                r.choice(
                    v,
                    p,
                    &EndpointResolution::ALL.map(EndpointResolution::as_str),
                    "hac knows no way to resolve the endpoint called",
                )
                .map(|(text, origin)| {
                    Located::new(
                        EndpointResolution::parse(text).expect("a listed resolution"),
                        origin,
                    )
                })
            },
            || Located::new(EndpointResolution::Dns, origin),
        );
        Some(Network {
            cni: cni?,
            pods: pods?,
            services: services?,
            domain: domain?,
            encapsulation: encapsulation?,
            mtu: mtu?,
            resolve_endpoint: resolve_endpoint?,
        })
    }

    fn cni(&mut self, value: &Value, path: &str) -> Option<Located<Cni>> {
        let text = self.string(value, path)?;
        if let Some(cni) = Cni::parse(&text.value) {
            return Some(Located::new(cni, value.origin));
        }
        let names = Cni::ALL.map(Cni::as_str);
        let help = match did_you_mean(&text.value, names) {
            Some(suggestion) => format!("did you mean `{suggestion}`?"),
            None => format!(
                "choose one of {}",
                names.map(|n| format!("`{n}`")).join(", ")
            ),
        };
        self.invalid(
            codes::INVALID_VALUE,
            value.origin,
            path,
            format!("hac does not know the CNI `{}`", text.value.escape_debug()),
            Some(help),
        );
        None
    }

    /// The hosts' network MTU: what Ethernet and jumbo frames allow.
    fn mtu(&mut self, value: &Value, path: &str) -> Option<Located<u32>> {
        let Some(number) = value.as_int() else {
            self.wrong_type(value, path, "an integer");
            return None;
        };
        match u32::try_from(number) {
            Ok(mtu) if (MIN_MTU..=MAX_MTU).contains(&mtu) => Some(Located::new(mtu, value.origin)),
            _ => {
                self.invalid(
                    codes::INVALID_VALUE,
                    value.origin,
                    path,
                    format!("{number} is not a network MTU"),
                    Some(format!("write the MTU of the hosts' interfaces, from {MIN_MTU} (the IPv4 minimum) to {MAX_MTU} (jumbo frames), e.g. 1500")),
                );
                None
            }
        }
    }

    fn cidr(&mut self, value: &Value, path: &str) -> Option<Located<Cidr>> {
        if let Some(items) = value.as_list() {
            // `[ v4 v6 ]`: dual-stack, which hac does not build yet.
            self.error(
                codes::DUAL_STACK_UNSUPPORTED,
                value.origin,
                format!("`{path}` is a list: dual-stack clusters are not supported"),
                format!("{} ranges", items.len()),
                Some("hac builds single-stack clusters: give one range, IPv4 or IPv6, of the hosts' family; docs/networking.md#dual-stack says what dual-stack support would take".to_owned()),
            );
            return None;
        }
        let text = self.string(value, path)?;
        match text.value.parse::<Cidr>() {
            Ok(cidr) => Some(Located::new(cidr, value.origin)),
            Err(error) => {
                let help = match &error {
                    CidrError::HostBitsSet { network } => {
                        Some(format!("did you mean `\"{network}\"`?"))
                    }
                    _ => None,
                };
                self.invalid(
                    codes::INVALID_CIDR,
                    value.origin,
                    path,
                    format!("`{}` {error}", text.value.escape_debug()),
                    help,
                );
                None
            }
        }
    }

    fn etcd(&mut self, value: &Value, path: &str) -> Option<Etcd> {
        if let Some(text) = value.as_str() {
            if text == "stacked" {
                return Some(Etcd::Stacked);
            }
            self.invalid(
                codes::INVALID_VALUE,
                value.origin,
                path,
                format!("`{}` is not an etcd topology", text.escape_debug()),
                Some(
                    "write `etcd = \"stacked\";` or `etcd = { external = [ host… ]; };`".to_owned(),
                ),
            );
            return None;
        }
        if value.as_attrs().is_none() {
            self.wrong_type(value, path, "`\"stacked\"` or an attribute set");
            return None;
        }
        let view = self.open(value, "etcd", path.to_owned())?;
        let (members, members_origin) = self.required(&view, "external", |r, v, p| {
            r.hosts(v, p).map(|hosts| (hosts, v.origin))
        })?;
        Some(Etcd::External {
            members,
            origin: view.origin,
            members_origin,
        })
    }

    fn loadbalancer(
        &mut self,
        value: &Value,
        path: &str,
        endpoint_port: Option<u16>,
    ) -> Option<LoadBalancer> {
        if let Some(text) = value.as_str() {
            return match text {
                "external" => Some(LoadBalancer::External {
                    origin: value.origin,
                    vip: None,
                }),
                "none" => Some(LoadBalancer::None),
                _ => {
                    self.invalid(
                        codes::INVALID_VALUE,
                        value.origin,
                        path,
                        format!("`{}` is not a load-balancer kind", text.escape_debug()),
                        Some("write `\"external\"`, `\"none\"`, `{ hosts = [ host… ]; }` or `{ colocated = true; }`".to_owned()),
                    );
                    None
                }
            };
        }
        if value.as_attrs().is_none() {
            self.wrong_type(
                value,
                path,
                "`\"external\"`, `\"none\"` or an attribute set",
            );
            return None;
        }
        let view = self.open(value, "loadbalancer", path.to_owned())?;
        let colocated = self.optional(&view, "colocated", |r, v, p| r.bool(v, p), || false);
        let external = self.optional(&view, "external", |r, v, p| r.bool(v, p), || false);
        let vip = self.optional(&view, "vip", |r, v, p| r.vip(v, p).map(Some), || None);
        let port = self.optional(&view, "port", |r, v, p| r.port(v, p).map(Some), || None);
        let interface = self.optional(
            &view,
            "interface",
            |r, v, p| r.interface(v, p).map(Some),
            || None,
        );
        let hosts_attr = view.get("hosts");
        // Read before anything can fail, so a bad `vip` hides no mistake in the hosts.
        let hosts = hosts_attr.map(|attr| {
            let hosts = self.hosts(&attr.value, &view.path_of("hosts"));
            hosts.map(|hosts| (hosts, attr.value.origin))
        });
        let (colocated, external, vip, port, interface) =
            (colocated?, external?, vip?, port?, interface?);
        let port = port.or_else(|| endpoint_port.map(|p| Located::new(p, view.origin)));
        let conflict = |reader: &mut Self, what: &str| {
            let origin = hosts_attr.map_or(view.origin, |a| a.name_origin);
            reader.invalid(
                codes::INVALID_VALUE,
                origin,
                path,
                format!("a {what} load balancer has no `hosts`"),
                Some(format!(
                    "remove `hosts`, or remove `{what} = true;` to run haproxy on the listed hosts"
                )),
            );
        };
        if external {
            if colocated {
                self.invalid(
                    codes::INVALID_VALUE,
                    view.origin,
                    path,
                    "`external` and `colocated` exclude each other".to_owned(),
                    Some("keep one of them".to_owned()),
                );
                return None;
            }
            if hosts_attr.is_some() {
                conflict(self, "external");
                return None;
            }
            if let Some(interface) = &interface {
                self.invalid(
                    codes::INVALID_VALUE,
                    interface.origin,
                    &view.path_of("interface"),
                    "hac runs no keepalived for an external load balancer".to_owned(),
                    Some("remove `interface`".to_owned()),
                );
                return None;
            }
            return Some(LoadBalancer::External {
                origin: view.origin,
                vip,
            });
        }
        // Without a VIP there is no keepalived to give the interface to; saying so
        // beats ignoring a setting the user believes in.
        if let (Some(interface), None) = (&interface, &vip) {
            self.invalid(
                codes::INVALID_VALUE,
                interface.origin,
                &view.path_of("interface"),
                "keepalived puts the VIP on this interface, but there is no `vip`".to_owned(),
                Some("add `vip`, or remove `interface`".to_owned()),
            );
            return None;
        }
        if colocated {
            if hosts_attr.is_some() {
                conflict(self, "colocated");
                return None;
            }
            return Some(LoadBalancer::Colocated {
                origin: view.origin,
                vip,
                interface,
                port: port?,
            });
        }
        let (hosts, hosts_origin) = match hosts {
            Some(read) => read?,
            // Absent (or null): reported as missing.
            None => self.required(&view, "hosts", |_, _, _| None)?,
        };
        Some(LoadBalancer::Dedicated {
            origin: view.origin,
            hosts,
            hosts_origin,
            vip,
            interface,
            port: port?,
        })
    }

    fn vip(&mut self, value: &Value, path: &str) -> Option<Located<IpAddr>> {
        self.formatted(value, path, codes::INVALID_VALUE, |text| {
            text.parse::<IpAddr>().map_err(|_| {
                format!(
                    "`{}` is not an IP address (keepalived moves an IP, not a name)",
                    text.escape_debug()
                )
            })
        })
    }

    fn interface(&mut self, value: &Value, path: &str) -> Option<Located<String>> {
        self.formatted(value, path, codes::INVALID_VALUE, |text| {
            formats::interface_name(text).map(|()| text.to_owned())
        })
    }

    fn port(&mut self, value: &Value, path: &str) -> Option<Located<u16>> {
        let Some(number) = value.as_int() else {
            self.wrong_type(value, path, "an integer");
            return None;
        };
        match formats::port(number) {
            Ok(port) => Some(Located::new(port, value.origin)),
            Err(reason) => {
                self.invalid(codes::INVALID_VALUE, value.origin, path, reason, None);
                None
            }
        }
    }

    fn hosts(&mut self, value: &Value, path: &str) -> Option<Vec<Host>> {
        self.each(value, path, "a list of hosts", |reader, item, path| {
            reader.host(item, path)
        })
    }

    fn host(&mut self, value: &Value, path: String) -> Option<Host> {
        let view = self.open(value, "host", path)?;
        let name = self.required(&view, "name", |r, v, p| {
            r.formatted(v, p, codes::INVALID_NAME, |s| {
                formats::dns_label(s).map(|()| s.to_owned())
            })
        });
        let address = self.optional(
            &view,
            "address",
            |r, v, p| {
                r.formatted(v, p, codes::INVALID_VALUE, formats::address)
                    .map(Some)
            },
            || None,
        );
        let labels = self.optional(&view, "labels", |r, v, p| r.labels(v, p), BTreeMap::new);
        let taints = self.optional(
            &view,
            "taints",
            |r, v, p| {
                r.each(v, p, "a list of strings", |r, item, p| {
                    r.formatted(item, &p, codes::INVALID_VALUE, formats::taint)
                        .map(|t| t.value)
                })
                .map(Some)
            },
            || None,
        );
        let files = self.optional(&view, "files", |r, v, p| r.files(v, p), Vec::new);
        let commands = self.optional(
            &view,
            "commands",
            |r, v, p| r.commands(v, p),
            Commands::default,
        );
        let kubelet = self.optional(
            &view,
            "kubelet",
            |r, v, p| r.kubelet(v, p),
            Kubelet::default,
        );
        Some(Host {
            origin: view.origin,
            name: name?,
            address: address?,
            labels: labels?,
            taints: taints?,
            files: files?,
            commands: commands?,
            kubelet: kubelet?,
        })
    }

    /// An attribute set whose names are checked by `check_name` and whose values are
    /// read by `read`.
    fn map<T>(
        &mut self,
        value: &Value,
        path: &str,
        expected: &str,
        check_name: fn(&str) -> Result<(), String>,
        mut read: impl FnMut(&mut Self, &Value, String) -> Option<T>,
    ) -> Option<BTreeMap<String, T>> {
        let Some(attrs) = value.as_attrs() else {
            self.wrong_type(value, path, expected);
            return None;
        };
        let mut out = BTreeMap::new();
        let mut failed = false;
        for (name, attr) in attrs.iter() {
            let entry_path = format!("{path}.\"{name}\"");
            if let Err(reason) = check_name(name) {
                self.invalid(
                    codes::INVALID_VALUE,
                    attr.name_origin,
                    &entry_path,
                    reason,
                    None,
                );
                failed = true;
            }
            match read(self, &attr.value, entry_path) {
                Some(item) => {
                    out.insert(name.to_owned(), item);
                }
                None => failed = true,
            }
        }
        (!failed).then_some(out)
    }

    fn labels(&mut self, value: &Value, path: &str) -> Option<BTreeMap<String, String>> {
        self.map(
            value,
            path,
            "an attribute set of strings",
            formats::node_label_key,
            |r, v, p| {
                r.formatted(v, &p, codes::INVALID_VALUE, |s| {
                    formats::label_value(s).map(|()| s.to_owned())
                })
                .map(|l| l.value)
            },
        )
    }

    fn kubelet(&mut self, value: &Value, path: &str) -> Option<Kubelet> {
        let view = self.open(value, "kubelet", path.to_owned())?;
        let extra_args = self.optional(
            &view,
            "extraArgs",
            |r, v, p| {
                r.map(
                    v,
                    p,
                    "an attribute set of strings",
                    formats::kubelet_flag,
                    |r, v, p| {
                        // Flags are text on the command line; numbers and booleans read naturally.
                        let text = match &v.kind {
                            ValueKind::Int(i) => i.to_string(),
                            ValueKind::Bool(b) => b.to_string(),
                            _ => r.string(v, &p)?.value,
                        };
                        match formats::kubelet_arg_value(&text) {
                            Ok(()) => Some(text),
                            Err(reason) => {
                                r.invalid(codes::INVALID_VALUE, v.origin, &p, reason, None);
                                None
                            }
                        }
                    },
                )
            },
            BTreeMap::new,
        );
        Some(Kubelet {
            extra_args: extra_args?,
        })
    }

    fn controlplane(&mut self, value: &Value, path: &str) -> Option<ControlPlane> {
        let view = self.open(value, "controlplane", path.to_owned())?;
        let component = |reader: &mut Self, name: &'static str, component| {
            reader.optional(
                &view,
                name,
                |r, v, p| r.component(v, p, component),
                ComponentArgs::default,
            )
        };
        let apiserver = component(self, "apiserver", formats::Component::ApiServer);
        let controller_manager = component(
            self,
            "controllermanager",
            formats::Component::ControllerManager,
        );
        let scheduler = component(self, "scheduler", formats::Component::Scheduler);
        let audit = self.optional(&view, "audit", |r, v, p| r.audit(v, p), Audit::default);
        let encrypt_secrets =
            self.optional(&view, "encryptSecrets", |r, v, p| r.bool(v, p), || false);
        Some(ControlPlane {
            apiserver: apiserver?,
            controller_manager: controller_manager?,
            scheduler: scheduler?,
            audit: audit?,
            encrypt_secrets: encrypt_secrets?,
        })
    }

    /// `{ extraArgs = { … }; }` of one control-plane component.
    fn component(
        &mut self,
        value: &Value,
        path: &str,
        component: formats::Component,
    ) -> Option<ComponentArgs> {
        let schema = match component {
            formats::Component::ApiServer => "apiserver",
            formats::Component::ControllerManager => "controllermanager",
            formats::Component::Scheduler => "scheduler",
        };
        let view = self.open(value, schema, path.to_owned())?;
        let extra_args = self.optional(
            &view,
            "extraArgs",
            |r, v, p| r.component_args(v, p, component),
            BTreeMap::new,
        );
        Some(ComponentArgs {
            extra_args: extra_args?,
        })
    }

    fn component_args(
        &mut self,
        value: &Value,
        path: &str,
        component: formats::Component,
    ) -> Option<BTreeMap<String, String>> {
        let Some(attrs) = value.as_attrs() else {
            self.wrong_type(value, path, "an attribute set of strings");
            return None;
        };
        let mut out = BTreeMap::new();
        let mut failed = false;
        for (name, attr) in attrs.iter() {
            let entry_path = format!("{path}.\"{name}\"");
            if let Err(reason) = formats::component_flag(component, name) {
                self.invalid(
                    codes::INVALID_VALUE,
                    attr.name_origin,
                    &entry_path,
                    reason,
                    None,
                );
                failed = true;
                continue;
            }
            let v = &attr.value;
            // Flags are text on the command line; numbers and booleans read naturally.
            let text = match &v.kind {
                ValueKind::Int(i) => i.to_string(),
                ValueKind::Bool(b) => b.to_string(),
                _ => match self.string(v, &entry_path) {
                    Some(text) => text.value,
                    None => {
                        failed = true;
                        continue;
                    }
                },
            };
            match formats::component_arg_value(component, name, &text) {
                Ok(()) => {
                    out.insert(name.to_owned(), text);
                }
                Err(reason) => {
                    self.invalid(codes::INVALID_VALUE, v.origin, &entry_path, reason, None);
                    failed = true;
                }
            }
        }
        (!failed).then_some(out)
    }

    fn audit(&mut self, value: &Value, path: &str) -> Option<Audit> {
        let view = self.open(value, "audit", path.to_owned())?;
        let defaults = Audit::default();
        let level = self.optional(
            &view,
            "level",
            |r, v, p| {
                r.formatted(v, p, codes::INVALID_VALUE, |s| {
                    AuditLevel::parse(s).ok_or_else(|| {
                        format!(
                            "`{}` is not an audit level: {}",
                            s.escape_debug(),
                            AuditLevel::ALL
                                .map(|l| format!("`{}`", l.as_str()))
                                .join(", ")
                        )
                    })
                })
                .map(|l| l.value)
            },
            || defaults.level,
        );
        let count = |reader: &mut Self, name: &'static str, default: u32, max: u32| {
            reader.optional(
                &view,
                name,
                |r, v, p| match v.as_int() {
                    Some(n) if (1..=i64::from(max)).contains(&n) => u32::try_from(n).ok(),
                    Some(_) => {
                        r.invalid(
                            codes::INVALID_VALUE,
                            v.origin,
                            p,
                            format!("must be from 1 to {max}"),
                            None,
                        );
                        None
                    }
                    None => {
                        r.wrong_type(v, p, "an integer");
                        None
                    }
                },
                || default,
            )
        };
        let rules = self.optional(
            &view,
            "rules",
            |r, v, p| {
                r.each(v, p, "a list of audit rules", |r, item, p| {
                    r.audit_rule(item, &p)
                })
                .map(Some)
            },
            || None,
        );
        if let (Some(AuditLevel::None), Some(Some(_)), Some(level)) =
            (level, &rules, view.get("level"))
        {
            self.invalid(
                codes::INVALID_VALUE,
                level.value.origin,
                &view.path_of("level"),
                "`None` turns the audit log off, but `rules` are given".to_owned(),
                Some("remove `level` to log with the rules, or remove `rules`".to_owned()),
            );
            return None;
        }
        let max_age_days = count(self, "maxAge", defaults.max_age_days, 3650);
        let max_backups = count(self, "maxBackups", defaults.max_backups, 1000);
        let max_size_mb = count(self, "maxSize", defaults.max_size_mb, 100_000);
        Some(Audit {
            level: level?,
            rules: rules?,
            max_age_days: max_age_days?,
            max_backups: max_backups?,
            max_size_mb: max_size_mb?,
        })
    }

    /// One audit.k8s.io/v1 `PolicyRule`, as the JSON the policy file holds.
    fn audit_rule(&mut self, value: &Value, path: &str) -> Option<serde_json::Value> {
        use serde_json::Value as Json;
        let view = self.open(value, "auditrule", path.to_owned())?;
        let mut rule = serde_json::Map::new();
        let mut failed = false;
        let level = self.required(&view, "level", |r, v, p| {
            r.formatted(v, p, codes::INVALID_VALUE, |s| {
                AuditLevel::parse(s).ok_or_else(|| {
                    format!(
                        "`{}` is not an audit level: {}",
                        s.escape_debug(),
                        AuditLevel::ALL
                            .map(|l| format!("`{}`", l.as_str()))
                            .join(", ")
                    )
                })
            })
        });
        match level {
            Some(level) => {
                rule.insert("level".into(), Json::from(level.value.as_str()));
            }
            None => failed = true,
        }
        for name in [
            "users",
            "userGroups",
            "verbs",
            "namespaces",
            "nonResourceURLs",
            "omitStages",
        ] {
            if let Some(attr) = view.get(name) {
                match self.strings(&attr.value, &view.path_of(name), formats::single_line) {
                    Some(items) => {
                        rule.insert(name.into(), Json::from(items));
                    }
                    None => failed = true,
                }
            }
        }
        if let Some(attr) = view.get("omitManagedFields") {
            match self.bool(&attr.value, &view.path_of("omitManagedFields")) {
                Some(omit) => {
                    rule.insert("omitManagedFields".into(), Json::from(omit));
                }
                None => failed = true,
            }
        }
        if let Some(attr) = view.get("resources") {
            let path = view.path_of("resources");
            let groups = self.each(
                &attr.value,
                &path,
                "a list of resource groups",
                |r, v, p| {
                    let view = r.open(v, "auditresources", p)?;
                    let mut group = serde_json::Map::new();
                    let name = r.optional(
                        &view,
                        "group",
                        |r, v, p| r.string(v, p).map(|l| l.value),
                        String::new,
                    );
                    let mut ok = name.is_some();
                    group.insert("group".into(), Json::from(name.unwrap_or_default()));
                    for list in ["resources", "resourceNames"] {
                        if let Some(attr) = view.get(list) {
                            match r.strings(&attr.value, &view.path_of(list), formats::single_line)
                            {
                                Some(items) => {
                                    group.insert(list.into(), Json::from(items));
                                }
                                None => ok = false,
                            }
                        }
                    }
                    ok.then_some(Json::Object(group))
                },
            );
            match groups {
                Some(groups) => {
                    rule.insert("resources".into(), Json::Array(groups));
                }
                None => failed = true,
            }
        }
        (!failed).then_some(Json::Object(rule))
    }

    fn files(&mut self, value: &Value, path: &str) -> Option<Vec<FileSpec>> {
        self.each(value, path, "a list of files", |reader, item, path| {
            reader.file(item, path)
        })
    }

    fn file(&mut self, value: &Value, path: String) -> Option<FileSpec> {
        let view = self.open(value, "file", path)?;
        let file_path = self.required(&view, "path", |r, v, p| {
            r.formatted(v, p, codes::INVALID_VALUE, |s| {
                formats::file_path(s).map(|()| s.to_owned())
            })
        });
        let content = self.required(&view, "content", |r, v, p| {
            r.formatted(v, p, codes::INVALID_VALUE, |s| {
                formats::text(s).map(|()| s.to_owned())
            })
        });
        let permissions = self.optional(
            &view,
            "permissions",
            |r, v, p| {
                r.formatted(v, p, codes::INVALID_VALUE, formats::permissions)
                    .map(|l| l.value)
            },
            || 0o644,
        );
        let owner = self.optional(
            &view,
            "owner",
            |r, v, p| {
                r.formatted(v, p, codes::INVALID_VALUE, |s| {
                    formats::owner(s).map(|()| s.to_owned())
                })
                .map(|l| l.value)
            },
            || "root:root".to_owned(),
        );
        Some(FileSpec {
            path: file_path?.value,
            content: content?.value,
            permissions: permissions?,
            owner: owner?,
        })
    }

    fn commands(&mut self, value: &Value, path: &str) -> Option<Commands> {
        let view = self.open(value, "commands", path.to_owned())?;
        let before = self.optional(
            &view,
            "before",
            |r, v, p| r.strings(v, p, formats::text),
            Vec::new,
        );
        let after = self.optional(
            &view,
            "after",
            |r, v, p| r.strings(v, p, formats::text),
            Vec::new,
        );
        Some(Commands {
            before: before?,
            after: after?,
        })
    }

    fn ssh(&mut self, value: &Value, path: &str) -> Option<Ssh> {
        let view = self.open(value, "ssh", path.to_owned())?;
        let keys = self.optional(
            &view,
            "authorizedKeys",
            |r, v, p| r.strings(v, p, formats::ssh_public_key),
            Vec::new,
        );
        Some(Ssh {
            authorized_keys: keys?,
        })
    }

    fn bootstrap(&mut self, value: &Value, path: &str) -> Option<Bootstrap> {
        let view = self.open(value, "bootstrap", path.to_owned())?;
        let ttl = self.optional(
            &view,
            "tokenTTL",
            |r, v, p| match v.kind {
                ValueKind::Int(0) => Some(Located::new(0, v.origin)),
                ValueKind::Int(_) => {
                    r.invalid(codes::INVALID_VALUE, v.origin, p, "a number has no unit".to_owned(), Some("write a duration string such as `\"24h\"`, or `0` for the longest hac allows (13 days)".to_owned()));
                    None
                }
                _ => r.formatted(v, p, codes::INVALID_VALUE, formats::duration),
            },
            || Located::new(DEFAULT_TOKEN_TTL, view.origin),
        );
        Some(Bootstrap { token_ttl: ttl? })
    }

    fn containerd(&mut self, value: &Value, path: &str) -> Option<Containerd> {
        let view = self.open(value, "containerd", path.to_owned())?;
        let systemd_cgroup = self.optional(&view, "systemdCgroup", |r, v, p| r.bool(v, p), || true);
        let mirrors = self.optional(
            &view,
            "registryMirrors",
            |r, v, p| {
                r.map(
                    v,
                    p,
                    "an attribute set of lists of URLs",
                    formats::registry_host,
                    |r, v, p| r.strings(v, &p, formats::url),
                )
            },
            BTreeMap::new,
        );
        let logins = self.optional(
            &view,
            "registryLogins",
            |r, v, p| {
                r.map(
                    v,
                    p,
                    "an attribute set of login names",
                    formats::registry_host,
                    |r, v, p| {
                        r.formatted(v, &p, codes::INVALID_VALUE, |s| {
                            formats::registry_login(s).map(|()| s.to_owned())
                        })
                    },
                )
            },
            BTreeMap::new,
        );
        let mirror_values = view.get("registryMirrors").map(|attr| &attr.value);
        self.plain_http_mirrors(&view, mirror_values, "containerd")?;
        Some(Containerd {
            systemd_cgroup: systemd_cgroup?,
            registry_mirrors: mirrors?,
            registry_logins: logins?,
        })
    }

    /// An address that others are appended to (a mirror, an image repository), checked
    /// by `check` and kept without its trailing `/`.
    fn base_address(
        &mut self,
        value: &Value,
        path: &str,
        check: fn(&str) -> Result<(), String>,
    ) -> Option<Located<String>> {
        self.formatted(value, path, codes::INVALID_VALUE, |s| {
            check(s).map(|()| s.trim_end_matches('/').to_owned())
        })
    }

    fn packages(&mut self, value: &Value, path: &str) -> Option<Packages> {
        let view = self.open(value, "packages", path.to_owned())?;
        let mirror = self.optional(
            &view,
            "mirror",
            |r, v, p| r.base_address(v, p, formats::url).map(|l| l.value),
            || DEFAULT_PACKAGE_MIRROR.to_owned(),
        );
        let releases = self.optional(
            &view,
            "releases",
            |r, v, p| r.base_address(v, p, formats::url).map(Some),
            || None,
        );
        let image_repository = self.optional(
            &view,
            "imageRepository",
            |r, v, p| r.base_address(v, p, formats::image_repository).map(Some),
            || None,
        );
        let offline = self.optional(
            &view,
            "offline",
            |r, v, p| r.bool(v, p).map(|b| Some(Located::new(b, v.origin))),
            || None,
        );
        let mirror_origin = view.get("mirror").map_or(view.origin, |a| a.value.origin);
        let mirror_values: Vec<&Value> = ["mirror", "releases"]
            .into_iter()
            .filter_map(|name| view.get(name).map(|attr| &attr.value))
            .collect();
        for value in mirror_values {
            self.plain_http_mirrors(&view, Some(value), "packages")?;
        }
        Some(Packages {
            mirror: mirror?,
            mirror_origin,
            releases: releases?,
            image_repository: image_repository?,
            offline: offline?,
            origin: view.origin,
        })
    }

    fn versions(&mut self, value: &Value, path: &str) -> Option<Versions> {
        let view = self.open(value, "versions", path.to_owned())?;
        let mut overrides = BTreeMap::new();
        let mut failed = false;
        for artefact in Artefact::ALL {
            let name = artefact.name();
            let Some(attr) = view.get(name) else { continue };
            match self.release(&attr.value, &view.path_of(name), artefact) {
                Some(release) => {
                    overrides.insert(name.to_owned(), release);
                }
                None => failed = true,
            }
        }
        (!failed).then_some(Versions { overrides })
    }

    fn release(
        &mut self,
        value: &Value,
        path: &str,
        artefact: Artefact,
    ) -> Option<VersionOverride> {
        let view = self.open(value, "release", path.to_owned())?;
        let version = self.optional(
            &view,
            "version",
            |r, v, p| {
                r.formatted(v, p, codes::INVALID_VALUE, |s| {
                    versions::check_release_version(s).map(|()| s.to_owned())
                })
                .map(Some)
            },
            || None,
        );
        let sha256 = self.optional(
            &view,
            "sha256",
            |r, v, p| r.digests(v, p, artefact),
            BTreeMap::new,
        );
        let unverified = self.optional(
            &view,
            "unverified",
            |r, v, p| r.bool(v, p).map(|b| Some(Located::new(b, v.origin))),
            || None,
        );
        Some(VersionOverride {
            origin: view.origin,
            version: version?,
            sha256: sha256?,
            unverified: unverified?,
        })
    }

    /// `sha256`: one string (the artefact's default part) or a set keyed by part.
    fn digests(
        &mut self,
        value: &Value,
        path: &str,
        artefact: Artefact,
    ) -> Option<BTreeMap<String, Located<String>>> {
        let parts = artefact.parts();
        let listed = parts
            .iter()
            .map(|p| format!("`{p}`"))
            .collect::<Vec<_>>()
            .join(", ");
        let digest = |r: &mut Self, v: &Value, p: &str| {
            r.formatted(v, p, codes::INVALID_VALUE, |s| {
                let lower = s.to_ascii_lowercase();
                if versions::is_sha256(&lower) {
                    Ok(lower)
                } else {
                    Err(format!(
                        "`{}` is not a sha256 digest: 64 hexadecimal digits, as `sha256sum FILE` prints them",
                        s.escape_debug()
                    ))
                }
            })
        };
        if value.as_str().is_some() {
            let Some(part) = artefact.default_part() else {
                self.invalid(
                    codes::INVALID_VALUE,
                    value.origin,
                    path,
                    format!("{} has several files", artefact.name()),
                    Some(format!(
                        "give one digest per file: `sha256 = {{ {} }};`",
                        parts
                            .iter()
                            .map(|p| format!("{p} = \"…\";"))
                            .collect::<Vec<_>>()
                            .join(" ")
                    )),
                );
                return None;
            };
            return digest(self, value, path).map(|d| BTreeMap::from([(part.to_owned(), d)]));
        }
        let Some(attrs) = value.as_attrs() else {
            self.wrong_type(value, path, "a string or an attribute set of strings");
            return None;
        };
        let mut out = BTreeMap::new();
        let mut failed = false;
        for (name, attr) in attrs.iter() {
            let entry = format!("{path}.{name}");
            if !parts.contains(&name) {
                self.error(
                    codes::UNKNOWN_ATTRIBUTE,
                    attr.name_origin,
                    format!("`{name}` is not a file of {}", artefact.name()),
                    "no such file",
                    Some(format!("{} has: {listed}", artefact.name())),
                );
                failed = true;
                continue;
            }
            match digest(self, &attr.value, &entry) {
                Some(d) => {
                    out.insert(name.to_owned(), d);
                }
                None => failed = true,
            }
        }
        (!failed).then_some(out)
    }

    fn proxy(&mut self, value: &Value, path: &str) -> Option<Proxy> {
        let view = self.open(value, "proxy", path.to_owned())?;
        let url = |r: &mut Self, v: &Value, p: &str| {
            r.formatted(v, p, codes::INVALID_VALUE, |s| {
                formats::url(s).map(|()| s.to_owned())
            })
            .map(Some)
        };
        let http = self.optional(&view, "http", url, || None);
        let https = self.optional(&view, "https", url, || None);
        let no_proxy = self.optional(
            &view,
            "noProxy",
            |r, v, p| r.strings(v, p, formats::no_proxy_entry),
            Vec::new,
        );
        let (http, https) = (http?, https?);
        if http.is_none() && https.is_none() {
            self.error(
                codes::INVALID_VALUE,
                view.origin,
                format!("`{path}` names no proxy"),
                "neither `http` nor `https`",
                Some("set `http = \"http://proxy.example.com:3128\";` and/or `https`, or remove `proxy`".to_owned()),
            );
            return None;
        }
        Some(Proxy {
            origin: view.origin,
            http,
            https,
            no_proxy: no_proxy?,
        })
    }

    /// Plain-HTTP mirrors let anyone on the network path choose what every node runs
    /// as root: each is an error unless the set says `insecure = true`, and then each
    /// build warns. `None` when `insecure` is not a boolean.
    fn plain_http_mirrors(
        &mut self,
        view: &SetView,
        mirrors: Option<&Value>,
        set: &str,
    ) -> Option<()> {
        let allowed = self.optional(view, "insecure", |r, v, p| r.bool(v, p), || false)?;
        let insecure_origin = view.get("insecure").map(|attr| attr.value.origin);
        let mut plain = Vec::new();
        if let Some(value) = mirrors {
            plain_http_urls(value, &mut plain);
        }
        for (url, origin) in plain {
            let shown = url.escape_debug();
            if allowed {
                let mut warning = Diagnostic::warning(
                    codes::INSECURE_MIRROR_ALLOWED,
                    format!("`{shown}` is fetched over plain HTTP: anyone on the network path can change what the nodes install"),
                )
                .with_primary(origin.file, origin.span, "plain HTTP");
                if let Some(at) = insecure_origin {
                    warning = warning.with_label(at, "allowed here");
                }
                warning.help = Some(format!(
                    "use an `https://` mirror and remove `{set}.insecure`"
                ));
                self.diagnostics.push(warning);
            } else {
                self.error(
                    codes::INSECURE_MIRROR,
                    origin,
                    format!("`{shown}` is a plain `http://` mirror: anyone on the network path could replace what the nodes install as root"),
                    "plain HTTP",
                    Some(format!(
                        "use an `https://` mirror; if this network has no TLS, set `{set}.insecure = true;` (every build then warns)"
                    )),
                );
            }
        }
        Some(())
    }
}

pub const DEFAULT_PODS: &str = "10.244.0.0/16";
pub const DEFAULT_SERVICES: &str = "10.96.0.0/12";
pub const DEFAULT_DOMAIN: &str = "cluster.local";
/// kubeadm's default join-token lifetime.
pub const DEFAULT_TOKEN_TTL: u64 = 24 * 3600;

fn default_containerd() -> Containerd {
    Containerd {
        systemd_cgroup: true,
        registry_mirrors: BTreeMap::new(),
        registry_logins: BTreeMap::new(),
    }
}

/// Every string in `value` (a string, or lists and sets of them) that is a plain
/// `http://` URL, with where it was written.
fn plain_http_urls<'v>(value: &'v Value, out: &mut Vec<(&'v str, Origin)>) {
    match &value.kind {
        ValueKind::String(text) if text.to_ascii_lowercase().starts_with("http://") => {
            out.push((text, value.origin));
        }
        ValueKind::List(items) => items.iter().for_each(|item| plain_http_urls(item, out)),
        ValueKind::Attrs(attrs) => attrs
            .iter()
            .for_each(|(_, attr)| plain_http_urls(&attr.value, out)),
        _ => {}
    }
}

/// "The control-plane hosts." → "the control-plane hosts", to continue a sentence.
fn lowercase_first(text: &str) -> String {
    let text = text.trim_end_matches('.');
    let mut chars = text.chars();
    match chars.next() {
        Some(first) => first.to_lowercase().chain(chars).collect(),
        None => String::new(),
    }
}
