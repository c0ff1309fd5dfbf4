//! The plan's wait conditions as bash: each becomes one `wait_until` call of the
//! bootstrap library (bounded, polled at the plan's interval) around a probe that
//! answers once and quickly.

use crate::emit::SpecError;
use crate::emit::shell::{command, quote};
use crate::plan::{Condition, PlanRole, Wait};

use super::{Context, HostFile, Rendered, paths};

/// The waits of one step, in order, with the files their probes read.
pub fn render(context: &Context<'_>, host: &str, waits: &[Wait]) -> Result<Rendered, SpecError> {
    let mut rendered = Rendered::default();
    for wait in waits {
        let (description, probe) = probe(context, host, &wait.condition, &mut rendered.files)?;
        if matches!(wait.condition, Condition::TcpAccepts { .. }) {
            // `$1` and `$2` are the inner bash's arguments, single-quoted on purpose.
            rendered.body.push("# shellcheck disable=SC2016".to_owned());
        }
        rendered.body.push(format!(
            "wait_until {} {} {} {probe}",
            quote(&description)?,
            wait.timeout_seconds,
            wait.interval_seconds,
        ));
    }
    Ok(rendered)
}

/// `(description, probe command)`; the probe's files are added to `files`.
fn probe(
    context: &Context<'_>,
    host: &str,
    condition: &Condition,
    files: &mut Vec<HostFile>,
) -> Result<(String, String), SpecError> {
    match condition {
        Condition::TcpAccepts { address } => {
            let (name, port) = split_host_port(address)?;
            let probe = command(&["hac_tcp_accepts", name, port])?;
            Ok((format!("{address} to accept TCP connections"), probe))
        }
        Condition::EtcdHealthy { endpoints, quorum } => {
            let (cert, key) = if host_has_role(context, host, PlanRole::EtcdMember) {
                (
                    paths::ETCD_HEALTHCHECK_CLIENT_CERT,
                    paths::ETCD_HEALTHCHECK_CLIENT_KEY,
                )
            } else {
                (
                    paths::APISERVER_ETCD_CLIENT_CERT,
                    paths::APISERVER_ETCD_CLIENT_KEY,
                )
            };
            let mut words = vec![
                "hac_etcd_quorum".to_owned(),
                quorum.to_string(),
                paths::ETCD_CA_CERT.to_owned(),
                cert.to_owned(),
                key.to_owned(),
            ];
            words.extend(endpoints.iter().cloned());
            Ok((
                format!(
                    "etcd quorum ({quorum} of {} members healthy)",
                    endpoints.len()
                ),
                command(&words)?,
            ))
        }
        Condition::ApiReady { url } => {
            files.push(cluster_ca(context));
            Ok((
                format!("{url} to answer ok"),
                command(&["hac_api_ready", url.as_str(), paths::CLUSTER_CA_PUBLIC])?,
            ))
        }
        Condition::ControlPlaneJoined {
            host: previous,
            url,
        } => {
            files.push(cluster_ca(context));
            files.push(token_header(context));
            let node_url = format!("https://{}/api/v1/nodes/{previous}", context.plan.endpoint);
            Ok((
                format!("control plane {previous} to be registered and serving"),
                command(&[
                    "hac_control_plane_joined",
                    node_url.as_str(),
                    url.as_str(),
                    paths::CLUSTER_CA_PUBLIC,
                    paths::BOOTSTRAP_TOKEN_HEADER,
                ])?,
            ))
        }
    }
}

/// Probe functions the waits call; added to every bootstrap script that waits.
pub const PROBES: &str = r#"
# hac_tcp_accepts HOST PORT: HOST accepts TCP connections on PORT. bash opens the
# connection itself (no netcat variant to depend on), bounded by a timeout; HOST
# and PORT reach the inner bash as arguments, never as code.
hac_tcp_accepts() {
  # shellcheck disable=SC2016
  timeout 10 bash -c 'exec 3<>"/dev/tcp/$1/$2"' _ "$1" "$2"
}
# hac_api_ready URL CA: the API server at URL answers `ok`, verified against CA.
hac_api_ready() {
  local answer
  answer=$(curl --silent --show-error --fail --max-time 10 --cacert "$2" "$1") || return 1
  [[ $answer == ok ]]
}

# hac_control_plane_joined NODE_URL READYZ_URL CA HEADER_FILE: the node is registered
# with the control-plane role (asked as the bootstrap token, which kubeadm's
# kubeadm:get-nodes role allows) and its own API server is ready.
hac_control_plane_joined() {
  local node
  node=$(curl --silent --show-error --fail --max-time 10 --cacert "$3" -H "@$4" "$1") || return 1
  [[ $node == *'"node-role.kubernetes.io/control-plane"'* ]] || return 1
  hac_api_ready "$2" "$3"
}

# hac_etcd_quorum QUORUM CA CERT KEY ENDPOINT...: at least QUORUM members report
# themselves healthy over TLS with the client certificate.
hac_etcd_quorum() {
  local quorum=$1 ca=$2 cert=$3 key=$4 healthy=0 endpoint answer
  shift 4
  for endpoint in "$@"; do
    if answer=$(curl --silent --fail --max-time 5 --cacert "$ca" --cert "$cert" --key "$key" "$endpoint/health") &&
      [[ $answer == *'"health":"true"'* ]]; then
      healthy=$((healthy + 1))
    fi
  done
  log "etcd: $healthy of $# members healthy, $quorum needed"
  ((healthy >= quorum))
}
"#;

fn host_has_role(context: &Context<'_>, host: &str, role: PlanRole) -> bool {
    context
        .plan
        .hosts
        .iter()
        .any(|h| h.name == host && h.roles.contains(&role))
}

/// The cluster CA certificate, public, where every probe finds it.
pub fn cluster_ca(context: &Context<'_>) -> HostFile {
    HostFile::public(
        paths::CLUSTER_CA_PUBLIC,
        context.secrets.cluster_ca().certificate_pem(),
    )
}

fn token_header(context: &Context<'_>) -> HostFile {
    HostFile::private(
        paths::BOOTSTRAP_TOKEN_HEADER,
        format!(
            "Authorization: Bearer {}\n",
            context.secrets.bootstrap_token().token().expose()
        ),
    )
}

/// `host:port` or `[v6]:port` → (`host`, `port`).
fn split_host_port(address: &str) -> Result<(&str, &str), SpecError> {
    let invalid = || SpecError::new(format!("`{address}` is not `host:port`"));
    let (name, port) = address.rsplit_once(':').ok_or_else(invalid)?;
    let name = name
        .strip_prefix('[')
        .and_then(|n| n.strip_suffix(']'))
        .unwrap_or(name);
    if name.is_empty() || port.parse::<u16>().is_err() {
        return Err(invalid());
    }
    Ok((name, port))
}

#[cfg(test)]
mod tests {
    use super::split_host_port;

    #[test]
    fn host_port_pairs_split_with_and_without_brackets() {
        assert_eq!(
            split_host_port("10.0.0.1:6443").unwrap(),
            ("10.0.0.1", "6443")
        );
        assert_eq!(
            split_host_port("[fd00::1]:8443").unwrap(),
            ("fd00::1", "8443")
        );
        assert_eq!(
            split_host_port("api.example.com:443").unwrap(),
            ("api.example.com", "443")
        );
        assert!(split_host_port("10.0.0.1").is_err());
        assert!(split_host_port(":6443").is_err());
        assert!(split_host_port("host:99999").is_err());
    }
}
