//! The plan's wait conditions as bash: each becomes one `wait_until … forever` call
//! of the bootstrap library around a probe that answers once and quickly. A plan wait
//! is for something another host provides, which can still come however late: the
//! wait goes on with a capped back-off and says in the log every few minutes what it
//! is waiting for. Only a probe that finds a fact no waiting can change (a token the
//! cluster refuses for an hour) stops the host with `hac_fail`.

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
            "wait_until {} forever {} {probe}",
            quote(&description)?,
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
        Condition::TokenAccepted {
            endpoint,
            host: name,
            refused_for_seconds,
        } => {
            files.push(cluster_ca(context));
            files.push(token_header(context));
            let node_url = format!("https://{endpoint}/api/v1/nodes/{name}");
            Ok((
                "the cluster to accept this host's bootstrap token".to_owned(),
                command(&[
                    "hac_token_accepted",
                    node_url.as_str(),
                    paths::CLUSTER_CA_PUBLIC,
                    paths::BOOTSTRAP_TOKEN_HEADER,
                    &refused_for_seconds.to_string(),
                    &token_advice(context),
                ])?,
            ))
        }
        Condition::ControlPlaneTurn {
            endpoint,
            peers,
            pass_after_seconds,
        } => {
            files.push(cluster_ca(context));
            files.push(token_header(context));
            let mut words = vec![
                "hac_control_plane_turn".to_owned(),
                format!("https://{endpoint}/api/v1/nodes/"),
                paths::CLUSTER_CA_PUBLIC.to_owned(),
                paths::BOOTSTRAP_TOKEN_HEADER.to_owned(),
                pass_after_seconds.to_string(),
            ];
            for peer in peers {
                words.push(peer.host.clone());
                words.push(peer.url.clone());
                words.push(if peer.earlier { "earlier" } else { "later" }.to_owned());
            }
            Ok((
                "this control plane's turn to join".to_owned(),
                command(&words)?,
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

# hac_node_status URL CA HEADER_FILE: the HTTP status of GET URL asked as this
# host's bootstrap token (kubeadm's kubeadm:get-nodes role lets it get nodes); 000
# when nothing answered.
hac_node_status() {
  curl --silent --output /dev/null --write-out '%{http_code}' --max-time 10 --cacert "$2" -H "@$3" "$1" || true
}

# hac_token_accepted NODE_URL CA HEADER_FILE REFUSED_FOR ADVICE: the API server knows
# this host's token (200 or 404 for its own node). A refusal (401) is remembered in
# $HAC_STATE_DIR/token-refused-since; refusals for REFUSED_FOR seconds in a row, by
# a server that answers, mean the cluster will never know the token: the host needs
# a person, and ADVICE says what to do.
hac_token_accepted() {
  local code since now refused="$HAC_STATE_DIR/token-refused-since"
  code=$(hac_node_status "$1" "$2" "$3")
  case $code in
    200 | 404)
      rm -f "$refused"
      return 0
      ;;
    401)
      now=$(hac_now)
      [[ -e $refused ]] || printf '%s\n' "$now" >"$refused"
      since=$(<"$refused")
      log "the cluster refuses this host's bootstrap token (HTTP 401) for $((now - since))s; giving up after ${4}s"
      if ((now - since >= $4)); then
        hac_fail token-unknown "$5"
      fi
      return 1
      ;;
    *)
      return 1
      ;;
  esac
}

# hac_control_plane_turn NODES_URL CA HEADER_FILE PASS_AFTER [NAME READYZ earlier|later]...:
# every other control plane that has registered serves its own API (so adding one
# more etcd member keeps quorum and no other join is half-way), and every earlier
# one has registered or stayed away PASS_AFTER seconds since this host first asked
# (remembered in $HAC_STATE_DIR/turn-since, so a reboot does not start over).
hac_control_plane_turn() {
  local nodes=$1 ca=$2 header=$3 pass_after=$4 since now name url order code
  shift 4
  [[ -e $HAC_STATE_DIR/turn-since ]] || hac_now >"$HAC_STATE_DIR/turn-since"
  since=$(<"$HAC_STATE_DIR/turn-since")
  while (($# >= 3)); do
    name=$1 url=$2 order=$3
    shift 3
    code=$(hac_node_status "$nodes$name" "$ca" "$header")
    case $code in
      200)
        if ! hac_api_ready "$url" "$ca"; then
          log "control plane $name is registered but $url does not answer: it is joining or down; waiting for it"
          return 1
        fi
        ;;
      404)
        now=$(hac_now)
        if [[ $order == earlier ]] && ((now - since < pass_after)); then
          log "control plane $name, listed before this one, has not registered; waiting for it up to $((pass_after - now + since))s more"
          return 1
        fi
        ;;
      *)
        log "cannot tell whether control plane $name is registered (HTTP $code)"
        return 1
        ;;
    esac
  done
}

# hac_certificates_uploaded API CA HEADER_FILE NAME: kube-system/kubeadm-certs exists
# (kubeadm lets the bootstrap token read it). If not, asks the keepers for an upload
# with a CSR hac-upload-certs-NAME for hac's signer (the bootstrappers may create
# CSRs); the key is thrown away, nothing is signed.
hac_certificates_uploaded() {
  local code request
  code=$(hac_node_status "$1/api/v1/namespaces/kube-system/secrets/kubeadm-certs" "$2" "$3")
  case $code in
    200) return 0 ;;
    404) ;;
    *) return 1 ;;
  esac
  request=$(openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout /dev/null -subj "/CN=hac-upload-certs:$4" 2>/dev/null | base64 -w 0) || return 1
  code=$(curl --silent --output /dev/null --write-out '%{http_code}' --max-time 10 --cacert "$2" -H "@$3" -H 'Content-Type: application/json' --data-binary @- "$1/apis/certificates.k8s.io/v1/certificatesigningrequests" <<EOF || true
{"apiVersion":"certificates.k8s.io/v1","kind":"CertificateSigningRequest","metadata":{"name":"hac-upload-certs-$4"},"spec":{"signerName":"hac.local/upload-certs","usages":["client auth"],"request":"$request"}}
EOF
  )
  case $code in
    201) log "asked the keepers to upload the control-plane certificates (CSR hac-upload-certs-$4)" ;;
    409) ;;
    *) log "could not ask the keepers for the control-plane certificates (HTTP $code)" ;;
  esac
  return 1
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

/// What a host whose token the cluster refuses must have done to it.
pub fn token_advice(context: &Context<'_>) -> String {
    use crate::secrets::join::{WINDOW_SECONDS, expiry_of, window_of};
    let token = context.join_token();
    let window = window_of(context.built_at);
    // The week, not the build's second: the output of a build must not change with it.
    let start = time::OffsetDateTime::from_unix_timestamp(window * WINDOW_SECONDS)
        .unwrap_or(time::OffsetDateTime::UNIX_EPOCH);
    format!(
        "the cluster refuses this host's bootstrap token {} (generation {}): this user-data was built between {} and {} and its token was valid until {} at most (hac's tokens last at most 14 days), or the control planes' keepers know another join seed or a newer generation; rebuild this host's user-data with `hac build` from the cluster's secrets bundle and re-create the host",
        token.id(),
        context.secrets.token_generation(),
        crate::secrets::format_time(start),
        crate::secrets::format_time(start + time::Duration::seconds(WINDOW_SECONDS)),
        crate::secrets::format_time(expiry_of(window)),
    )
}

pub fn token_header(context: &Context<'_>) -> HostFile {
    HostFile::private(
        paths::BOOTSTRAP_TOKEN_HEADER,
        format!(
            "Authorization: Bearer {}\n",
            context.join_token().token().expose()
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
    use super::{PROBES, split_host_port};

    /// Runs `calls` after the probes, with curl answering from `codes` (`URL CODE`
    /// lines; `/readyz` answers `ok` for 200) and the clock at `now`. Returns the
    /// exit status of the last call and the output.
    fn probe(codes: &str, now: u64, state: &tempfile::TempDir, call: &str) -> (i32, String) {
        std::fs::write(state.path().join("codes"), codes).unwrap();
        std::fs::write(state.path().join("now"), now.to_string()).unwrap();
        let script = format!(
            r#"set -Eeuo pipefail
HAC_STATE_DIR={dir}
log() {{ printf 'LOG %s\n' "$*"; }}
hac_now() {{ cat "$HAC_STATE_DIR/now"; }}
hac_fail() {{ printf 'FAILED(%s) %s\n' "$1" "$2"; exit 3; }}
curl() {{
  local url=${{!#}} code
  code=$(awk -v u="$url" '$1 == u {{ print $2 }}' "$HAC_STATE_DIR/codes")
  code=${{code:-000}}
  if [[ " $* " == *" --write-out "* ]]; then
    printf '%s' "$code"
    [[ $code != 000 ]]
  else
    [[ $code == 200 ]] && printf ok
  fi
}}
{PROBES}
status=0
({call}) || status=$?
echo "STATUS $status"
"#,
            dir = state.path().display()
        );
        let output = std::process::Command::new("bash")
            .arg("-c")
            .arg(&script)
            .output()
            .expect("bash runs");
        let text = String::from_utf8_lossy(&output.stdout).into_owned()
            + &String::from_utf8_lossy(&output.stderr);
        let status = text
            .lines()
            .find_map(|l| l.strip_prefix("STATUS "))
            .map_or(-1, |s| s.parse().unwrap());
        (status, text)
    }

    const NODE: &str = "https://api:6443/api/v1/nodes/w1";
    const ACCEPTED: &str =
        "hac_token_accepted https://api:6443/api/v1/nodes/w1 ca header 3600 'rebuild me'";

    #[test]
    fn a_token_refused_for_its_bound_needs_a_person_and_not_before() {
        let state = tempfile::tempdir().unwrap();
        for code in ["200", "404"] {
            let (status, out) = probe(&format!("{NODE} {code}\n"), 1000, &state, ACCEPTED);
            assert_eq!(status, 0, "{out}");
        }
        // Nothing answers: keep waiting, the refusal clock does not start.
        let (status, out) = probe("", 1000, &state, ACCEPTED);
        assert_eq!(status, 1, "{out}");
        assert!(!state.path().join("token-refused-since").exists());
        let (status, out) = probe(&format!("{NODE} 401\n"), 1000, &state, ACCEPTED);
        assert_eq!(status, 1, "{out}");
        let (status, out) = probe(&format!("{NODE} 401\n"), 4599, &state, ACCEPTED);
        assert_eq!(status, 1, "{out}");
        assert!(!out.contains("FAILED"), "{out}");
        let (status, out) = probe(&format!("{NODE} 401\n"), 4600, &state, ACCEPTED);
        assert_eq!(status, 3, "{out}");
        assert!(out.contains("FAILED(token-unknown) rebuild me"), "{out}");
        // An accepted token forgets earlier refusals.
        probe(&format!("{NODE} 200\n"), 5000, &state, ACCEPTED);
        let (status, out) = probe(&format!("{NODE} 401\n"), 9000, &state, ACCEPTED);
        assert_eq!(status, 1, "{out}");
    }

    const TURN: &str = "hac_control_plane_turn https://api:6443/api/v1/nodes/ ca header 1800 \
        cp1 https://cp1:6443/readyz earlier cp2 https://cp2:6443/readyz earlier cp4 https://cp4:6443/readyz later";

    fn codes(lines: &[(&str, &str)]) -> String {
        lines
            .iter()
            .map(|(url, code)| format!("{url} {code}\n"))
            .collect()
    }

    #[test]
    fn a_control_plane_joins_when_registered_ones_serve_and_earlier_ones_came_or_stayed_away() {
        let state = tempfile::tempdir().unwrap();
        let nodes = |name: &str| format!("https://api:6443/api/v1/nodes/{name}");
        let (cp1, cp2, cp4) = (nodes("cp1"), nodes("cp2"), nodes("cp4"));
        // Everyone before it has joined and serves; cp4 (later) has not registered.
        let all_in = codes(&[
            (&cp1, "200"),
            ("https://cp1:6443/readyz", "200"),
            (&cp2, "200"),
            ("https://cp2:6443/readyz", "200"),
            (&cp4, "404"),
        ]);
        let (status, out) = probe(&all_in, 100, &state, TURN);
        assert_eq!(status, 0, "{out}");
        // cp2 is registered but does not serve yet: it is half-way through its join.
        let mid_join = codes(&[
            (&cp1, "200"),
            ("https://cp1:6443/readyz", "200"),
            (&cp2, "200"),
            (&cp4, "404"),
        ]);
        let (status, out) = probe(&mid_join, 100, &state, TURN);
        assert_eq!(status, 1, "{out}");
        assert!(out.contains("control plane cp2 is registered but"), "{out}");
        // A later control plane mid-join blocks as well (quorum).
        let later_mid_join = codes(&[
            (&cp1, "200"),
            ("https://cp1:6443/readyz", "200"),
            (&cp2, "200"),
            ("https://cp2:6443/readyz", "200"),
            (&cp4, "200"),
        ]);
        assert_eq!(probe(&later_mid_join, 100, &state, TURN).0, 1);
        // cp2 never comes: waited for until 30 minutes after the first ask (at 100).
        let cp2_absent = codes(&[
            (&cp1, "200"),
            ("https://cp1:6443/readyz", "200"),
            (&cp2, "404"),
            (&cp4, "404"),
        ]);
        let (status, out) = probe(&cp2_absent, 1899, &state, TURN);
        assert_eq!(status, 1, "{out}");
        assert!(
            out.contains("cp2, listed before this one, has not registered"),
            "{out}"
        );
        let (status, out) = probe(&cp2_absent, 1900, &state, TURN);
        assert_eq!(status, 0, "cp3 joins with cp1 alone: {out}");
        // An API that cannot say: wait.
        let (status, out) = probe("", 5000, &state, TURN);
        assert_eq!(status, 1, "{out}");
    }

    #[test]
    fn a_control_plane_asks_the_keepers_for_the_certificates_until_they_are_there() {
        let state = tempfile::tempdir().unwrap();
        let secret = "https://api:6443/api/v1/namespaces/kube-system/secrets/kubeadm-certs";
        let csr = "https://api:6443/apis/certificates.k8s.io/v1/certificatesigningrequests";
        let call = "hac_certificates_uploaded https://api:6443 ca header cp3";
        let (status, out) = probe(&format!("{secret} 200\n"), 0, &state, call);
        assert_eq!(status, 0, "{out}");
        if std::process::Command::new("openssl")
            .arg("version")
            .output()
            .is_err()
        {
            return;
        }
        let (status, out) = probe(&format!("{secret} 404\n{csr} 201\n"), 0, &state, call);
        assert_eq!(status, 1, "{out}");
        assert!(
            out.contains("asked the keepers to upload the control-plane certificates (CSR hac-upload-certs-cp3)"),
            "{out}"
        );
        let (status, out) = probe(&format!("{secret} 404\n{csr} 409\n"), 0, &state, call);
        assert_eq!(status, 1, "{out}");
        assert!(!out.contains("could not ask"), "{out}");
    }

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
