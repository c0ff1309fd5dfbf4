//! The keeper: a small script every control plane runs from a systemd timer, so the
//! cluster keeps accepting the hosts hac builds, at any time, with no one logging in.
//!
//! When its own API server serves, each run:
//! - makes the join tokens of the honoured generations exist for the previous and
//!   current window, and for the next one within a day of the boundary, each
//!   expiring when [`crate::secrets::join`] says (at most 14 days after it is made);
//! - notices a host that bootstrapped with the next generation's token (its kubelet's
//!   CSR is made by `system:bootstrap:<token-id>`) and records that generation in the
//!   ConfigMap `kube-system/hac-join`, which every keeper reads: older generations are
//!   no longer honoured and their tokens are deleted (the revocation `hac secrets
//!   rotate token` asks for);
//! - deletes hac's tokens that have expired;
//! - answers a control plane's request for the certificates (a CSR for
//!   [`UPLOAD_CERTS_SIGNER`]) with `kubeadm init phase upload-certs` and deletes it.
//!
//! Honoured generations: from `max(own, recorded)` to one more, so hosts built after a
//! rotation join before any keeper was rebuilt. Every action checks first and treats
//! "already there" and "already gone" as done, so several keepers running at once,
//! or one run cut short, leave the same state. Each action is one line in the
//! journal and `/var/log/hac-keeper.log`; tokens are written to the API through stdin,
//! never on a command line, and the seed is read from a root-only file.

use crate::emit::SpecError;
use crate::emit::bootstrap::{CLOCK_LIBRARY, push_without_comments};
use crate::emit::shell::quote;
use crate::emit::yaml::to_yaml_stream;
use crate::model::Host;
use crate::plan::API_SERVER_PORT;
use crate::secrets::join::{EARLY_SECONDS, GRACE_SECONDS, WINDOW_SECONDS};

use super::kubeadm_config::{self, DEFAULT_NODE_TOKEN_GROUP};
use super::{Context, HostFile, paths};

/// The signer name of the CSR a joining control plane makes to ask for the
/// certificates. Nothing signs it: it is a request the keepers answer and delete.
pub const UPLOAD_CERTS_SIGNER: &str = "hac.local/upload-certs";
/// How many generations before the honoured ones the keeper looks for tokens to
/// delete (older ones have expired long ago).
const REVOKED_GENERATIONS: u32 = 4;

/// The keeper's files on a control plane, and the line that starts its timer once the
/// host is a control plane.
pub fn files(context: &Context<'_>, host: &Host) -> Result<Vec<HostFile>, SpecError> {
    let secrets = context.secrets;
    let upload_config = to_yaml_stream(&[
        serde_json::json!({
            "apiVersion": kubeadm_config::Api::of(context.cluster).api_version(),
            "kind": "InitConfiguration",
            "certificateKey": secrets.certificate_key().expose(),
        }),
        kubeadm_config::cluster_document(context),
    ])?;
    Ok(vec![
        HostFile::private(
            paths::KEEPER_JOIN_FILE,
            format!(
                "seed={}\ngeneration={}\n",
                secrets.join_seed().expose(),
                secrets.token_generation()
            ),
        ),
        HostFile::private(paths::KEEPER_KUBEADM_CONFIG, upload_config),
        HostFile {
            permissions: 0o700,
            ..HostFile::public(paths::KEEPER_SCRIPT, script(host)?)
        },
        HostFile::public(paths::KEEPER_SERVICE, service()),
        HostFile::public(paths::KEEPER_TIMER, timer()),
    ])
}

/// Started at the end of the kubeadm step: the keeper has work only on a control plane.
pub fn enable() -> String {
    "systemctl enable --now hac-keeper.timer".to_owned()
}

fn service() -> String {
    format!(
        "[Unit]\n\
         Description=hac keeper: keeps the join tokens and certificates hac's hosts need\n\
         After=network-online.target\n\
         \n\
         [Service]\n\
         Type=oneshot\n\
         ExecStart={}\n\
         TimeoutStartSec=10min\n",
        paths::KEEPER_SCRIPT
    )
}

fn timer() -> String {
    "[Unit]\n\
     Description=hac keeper, every minute\n\
     \n\
     [Timer]\n\
     OnBootSec=1min\n\
     OnUnitInactiveSec=1min\n\
     AccuracySec=10s\n\
     \n\
     [Install]\n\
     WantedBy=timers.target\n"
        .to_owned()
}

/// The keeper script of `host`.
pub fn script(host: &Host) -> Result<String, SpecError> {
    let readyz = format!(
        "https://{}:{API_SERVER_PORT}/readyz",
        kubeadm_config::url_host(host)
    );
    script_asking(&readyz)
}

/// The keeper script of the control plane whose own API answers at `readyz`.
fn script_asking(readyz: &str) -> Result<String, SpecError> {
    let mut out = String::from(PREAMBLE);
    out.push_str(&format!(
        "HAC_KEEPER_JOIN_FILE=${{HAC_KEEPER_JOIN_FILE:-{}}}\n\
         HAC_KEEPER_LOG=${{HAC_KEEPER_LOG:-{}}}\n\
         HAC_KEEPER_ADMIN_CONF=${{HAC_KEEPER_ADMIN_CONF:-/etc/kubernetes/admin.conf}}\n\
         HAC_KEEPER_LOCK=${{HAC_KEEPER_LOCK:-/run/hac-keeper.lock}}\n\
         HAC_KEEPER_READYZ={}\n\
         HAC_KEEPER_CA={}\n\
         HAC_KEEPER_KUBEADM_CONFIG={}\n\
         HAC_UPLOAD_CERTS_SIGNER={}\n\
         HAC_TOKEN_GROUP={}\n\
         HAC_WINDOW_SECONDS={WINDOW_SECONDS}\n\
         HAC_GRACE_SECONDS={GRACE_SECONDS}\n\
         HAC_EARLY_SECONDS={EARLY_SECONDS}\n\
         HAC_REVOKED_GENERATIONS={REVOKED_GENERATIONS}\n",
        quote(paths::KEEPER_JOIN_FILE)?,
        quote(paths::KEEPER_LOG)?,
        quote(readyz)?,
        quote(paths::CLUSTER_CA_PUBLIC)?,
        quote(paths::KEEPER_KUBEADM_CONFIG)?,
        quote(UPLOAD_CERTS_SIGNER)?,
        quote(DEFAULT_NODE_TOKEN_GROUP)?,
    ));
    push_without_comments(&mut out, CLOCK_LIBRARY);
    push_without_comments(&mut out, DERIVATION);
    push_without_comments(&mut out, ACTIONS);
    out.push_str("\nhac_keeper_main \"$@\"\n");
    Ok(out)
}

const PREAMBLE: &str = r#"#!/bin/bash
# hac-keeper: keeps the join tokens and the uploaded control-plane certificates that
# hac's hosts need, on a serving control plane. Generated by hac; run by
# hac-keeper.timer. Safe to run at any time and on several control planes at once.
# shellcheck disable=SC2317
set -Eeuo pipefail
"#;

/// The token derivation of [`crate::secrets::join`] in bash, with builtins and
/// `sha256sum` only, so the seed never appears on a command line.
pub const DERIVATION: &str = r#"
# hac_hmac KEY_HEX MESSAGE: HMAC-SHA256 (RFC 2104) of MESSAGE as hex.
hac_hmac() {
  local key=$1 message=$2 i byte ipad="" opad="" inner bytes=""
  for ((i = 0; i < 64; i++)); do
    byte=0
    if ((i < ${#key} / 2)); then
      byte=$((16#${key:i*2:2}))
    fi
    printf -v ipad '%s\\x%02x' "$ipad" $((byte ^ 0x36))
    printf -v opad '%s\\x%02x' "$opad" $((byte ^ 0x5c))
  done
  inner=$({ printf '%b' "$ipad"; printf '%s' "$message"; } | sha256sum)
  for ((i = 0; i < 64; i += 2)); do
    bytes+="\\x${inner:i:2}"
  done
  { printf '%b' "$opad"; printf '%b' "$bytes"; } | sha256sum | cut -d ' ' -f 1
}

# hac_token_chars HEX LENGTH: LENGTH characters of [a-z0-9] from the digest HEX; bytes
# below 252 first (unbiased), then, should they not suffice, every byte.
hac_token_chars() {
  local hex=$1 length=$2 out="" i byte alphabet=abcdefghijklmnopqrstuvwxyz0123456789
  for ((i = 0; i < 64 && ${#out} < length; i += 2)); do
    byte=$((16#${hex:i:2}))
    if ((byte < 252)); then
      out+=${alphabet:byte%36:1}
    fi
  done
  for ((i = 0; i < 64 && ${#out} < length; i += 2)); do
    byte=$((16#${hex:i:2}))
    out+=${alphabet:byte%36:1}
  done
  printf '%s' "$out"
}

# hac_join_token SEED GENERATION WINDOW: "ID SECRET" of that generation's token of WINDOW.
hac_join_token() {
  local id secret
  id=$(hac_token_chars "$(hac_hmac "$1" "hac-join-token id $2 $3")" 6)
  secret=$(hac_token_chars "$(hac_hmac "$1" "hac-join-token secret $2 $3")" 16)
  printf '%s %s\n' "$id" "$secret"
}
"#;

const ACTIONS: &str = r#"
# log MESSAGE...: one line in the keeper's log and the journal.
log() {
  local line
  line="$(hac_timestamp) $*"
  printf '%s\n' "$line" >>"$HAC_KEEPER_LOG"
  printf '%s\n' "$line" >&2
}

hac_kubectl() {
  kubectl --kubeconfig "$HAC_KEEPER_ADMIN_CONF" --request-timeout=10s "$@"
}

# hac_token_exists ID: the bootstrap token ID is in the cluster.
hac_token_exists() {
  hac_kubectl -n kube-system get secret "bootstrap-token-$1" -o name >/dev/null 2>&1
}

# hac_make_token SEED GENERATION WINDOW NOW: that token exists, expiring at the end of
# WINDOW plus the grace. Written through stdin: the secret is never an argument.
hac_make_token() {
  local id secret expires expiration
  read -r id secret < <(hac_join_token "$1" "$2" "$3")
  expires=$(((($3 + 1) * HAC_WINDOW_SECONDS) + HAC_GRACE_SECONDS))
  if hac_token_exists "$id" || (($4 >= expires)); then
    return 0
  fi
  expiration=$(date -u -d "@$expires" +%Y-%m-%dT%H:%M:%SZ)
  if hac_kubectl create -f - >/dev/null <<EOF
{"apiVersion":"v1","kind":"Secret","type":"bootstrap.kubernetes.io/token",
 "metadata":{"name":"bootstrap-token-$id","namespace":"kube-system","labels":{"hac.local/join-token":"true"}},
 "stringData":{"description":"hac join token, generation $2, window $3","token-id":"$id","token-secret":"$secret",
  "expiration":"$expiration","usage-bootstrap-authentication":"true","usage-bootstrap-signing":"true",
  "auth-extra-groups":"$HAC_TOKEN_GROUP"}}
EOF
  then
    log "created join token $id (generation $2, window $3), valid until $expiration"
  elif hac_token_exists "$id"; then
    log "join token $id (generation $2, window $3) was created by another keeper meanwhile"
  else
    log "could not create join token $id (generation $2, window $3)"
    return 1
  fi
}

# hac_drop_token SEED GENERATION WINDOW WHY: that token is not in the cluster.
hac_drop_token() {
  local id
  read -r id _ < <(hac_join_token "$1" "$2" "$3")
  if hac_token_exists "$id"; then
    if hac_kubectl -n kube-system delete secret "bootstrap-token-$id" --ignore-not-found >/dev/null; then
      log "deleted join token $id (generation $2, window $3): $4"
    else
      log "could not delete join token $id (generation $2, window $3)"
      return 1
    fi
  fi
}

# hac_recorded_generation: the newest generation a host joined with, from
# kube-system/hac-join (0 when nobody recorded one yet).
hac_recorded_generation() {
  local value
  value=$(hac_kubectl -n kube-system get configmap hac-join -o 'jsonpath={.data.generation}' 2>/dev/null) || value=""
  if [[ $value =~ ^[0-9]+$ ]]; then
    printf '%s\n' "$value"
  else
    printf '0\n'
  fi
}

# hac_record_generation GENERATION: raises kube-system/hac-join to GENERATION.
hac_record_generation() {
  if hac_kubectl -n kube-system create configmap hac-join --from-literal="generation=$1" >/dev/null 2>&1 ||
    hac_kubectl -n kube-system patch configmap hac-join --type merge -p "{\"data\":{\"generation\":\"$1\"}}" >/dev/null; then
    log "a host joined with a token of generation $1: recorded it in kube-system/hac-join; older generations are revoked"
  else
    log "could not record generation $1 in kube-system/hac-join"
    return 1
  fi
}

# hac_upload_certs: answers the control planes that asked for the certificates.
hac_upload_certs() {
  local requests name
  requests=$(hac_kubectl get csr -o "jsonpath={range .items[?(@.spec.signerName==\"$HAC_UPLOAD_CERTS_SIGNER\")]}{.metadata.name}{\"\\n\"}{end}") || return 1
  [[ -n $requests ]] || return 0
  if ! kubeadm init phase upload-certs --upload-certs --config "$HAC_KEEPER_KUBEADM_CONFIG" >/dev/null 2>&1; then
    log "could not upload the control-plane certificates for $(tr '\n' ' ' <<<"$requests")"
    return 1
  fi
  log "uploaded the control-plane certificates (kube-system/kubeadm-certs, valid 2 h) for $(tr '\n' ' ' <<<"$requests")"
  while read -r name; do
    hac_kubectl delete csr "$name" --ignore-not-found >/dev/null || true
  done <<<"$requests"
}

hac_keeper_main() {
  exec 9>>"$HAC_KEEPER_LOCK"
  flock -n 9 || exit 0
  [[ -e $HAC_KEEPER_ADMIN_CONF ]] || exit 0
  if ! curl --silent --fail --max-time 10 --cacert "$HAC_KEEPER_CA" "$HAC_KEEPER_READYZ" >/dev/null; then
    exit 0
  fi
  local seed own recorded low high now window next generation w usernames id status=0
  seed=$(sed -n 's/^seed=//p' "$HAC_KEEPER_JOIN_FILE")
  own=$(sed -n 's/^generation=//p' "$HAC_KEEPER_JOIN_FILE")
  recorded=$(hac_recorded_generation)
  low=$((own > recorded ? own : recorded))
  high=$((low + 1))
  now=$(hac_now)
  window=$((now / HAC_WINDOW_SECONDS))
  next=$(((window + 1) * HAC_WINDOW_SECONDS))

  # A kubelet that bootstrapped with the next generation's token: rotation is done.
  usernames=$(hac_kubectl get csr -o 'jsonpath={range .items[*]}{.spec.username}{"\n"}{end}') || usernames=""
  for ((w = window - 1; w <= window + 1; w++)); do
    read -r id _ < <(hac_join_token "$seed" "$high" "$w")
    if grep -qxF "system:bootstrap:$id" <<<"$usernames"; then
      hac_record_generation "$high" || status=1
      low=$high
      high=$((low + 1))
      break
    fi
  done

  for ((generation = low; generation <= high; generation++)); do
    hac_make_token "$seed" "$generation" "$((window - 1))" "$now" || status=1
    hac_make_token "$seed" "$generation" "$window" "$now" || status=1
    if ((now >= next - HAC_EARLY_SECONDS)); then
      hac_make_token "$seed" "$generation" "$((window + 1))" "$now" || status=1
    fi
    hac_drop_token "$seed" "$generation" "$((window - 2))" "expired" || status=1
  done
  for ((generation = low - 1; generation >= 0 && generation >= low - HAC_REVOKED_GENERATIONS; generation--)); do
    for ((w = window - 1; w <= window + 1; w++)); do
      hac_drop_token "$seed" "$generation" "$w" "generation $generation is revoked" || status=1
    done
  done
  hac_upload_certs || status=1
  return "$status"
}
"#;

#[cfg(test)]
mod tests {
    use super::DERIVATION;
    use crate::secrets::Secret;
    use crate::secrets::join;

    /// kubectl, kubeadm and curl as stubs over a directory: secrets and the ConfigMap
    /// are files, every change is a line in `actions`.
    const STUBS: &[(&str, &str)] = &[
        (
            "kubectl",
            r#"#!/bin/bash
shift 3
store=$STORE
case "$*" in
  "-n kube-system get secret "*) [[ -e $store/secret-$5 ]] ;;
  "create -f -")
    body=$(cat)
    name=$(grep -o '"name":"bootstrap-token-[a-z0-9]*"' <<<"$body" | cut -d '"' -f 4)
    [[ ! -e $store/secret-$name ]] || exit 1
    printf '%s
' "$body" >"$store/secret-$name"
    echo "create $name" >>"$store/actions" ;;
  "-n kube-system delete secret "*) rm -f "$store/secret-$5"; echo "delete $5" >>"$store/actions" ;;
  "-n kube-system get configmap hac-join "*) cat "$store/generation" 2>/dev/null ;;
  "-n kube-system create configmap hac-join "*)
    [[ ! -e $store/generation ]] || exit 1
    echo -n "${6#--from-literal=generation=}" >"$store/generation"; echo "record $(cat "$store/generation")" >>"$store/actions" ;;
  "-n kube-system patch configmap hac-join "*) exit 1 ;;
  "get csr -o jsonpath={range .items[*]}"*) cat "$store/usernames" 2>/dev/null || true ;;
  "get csr -o jsonpath={range .items[?("*) cat "$store/upload-requests" 2>/dev/null || true ;;
  "delete csr "*) sed -i "/^$3\$/d" "$store/upload-requests"; echo "delete csr $3" >>"$store/actions" ;;
  *) echo "unexpected kubectl $*" >&2; exit 2 ;;
esac
"#,
        ),
        (
            "kubeadm",
            "#!/bin/bash
echo \"kubeadm $*\" >>\"$STORE/actions\"\n",
        ),
        (
            "curl",
            "#!/bin/bash
exit 0\n",
        ),
        (
            "clock",
            "#!/bin/bash
[[ $1 == now ]] && cat \"$STORE/now\"\n",
        ),
    ];

    struct Keeper {
        dir: tempfile::TempDir,
        seed: Secret,
    }

    impl Keeper {
        fn new() -> Keeper {
            let dir = tempfile::tempdir().unwrap();
            for (name, text) in STUBS {
                let path = dir.path().join(name);
                std::fs::write(&path, text).unwrap();
                std::fs::set_permissions(
                    &path,
                    std::os::unix::fs::PermissionsExt::from_mode(0o755),
                )
                .unwrap();
            }
            let seed = Secret::new("7a".repeat(32));
            std::fs::write(
                dir.path().join("join"),
                format!("seed={}\ngeneration=0\n", seed.expose()),
            )
            .unwrap();
            std::fs::write(dir.path().join("admin.conf"), "").unwrap();
            Keeper { dir, seed }
        }

        fn id(&self, generation: u32, window: i64) -> String {
            format!(
                "bootstrap-token-{}",
                join::token(&self.seed, generation, window).id()
            )
        }

        /// Runs the keeper at `now`; returns the actions it took.
        fn run(&self, now: i64) -> Vec<String> {
            let dir = self.dir.path();
            std::fs::write(dir.join("now"), now.to_string()).unwrap();
            let _ = std::fs::remove_file(dir.join("actions"));
            let script = super::script_asking("https://10.0.0.11:6443/readyz").unwrap();
            let output = std::process::Command::new("bash")
                .arg("-c")
                .arg(&script)
                .env("PATH", format!("{}:/usr/bin:/bin", dir.display()))
                .env("STORE", dir)
                .env("HAC_CLOCK", dir.join("clock"))
                .env("HAC_KEEPER_JOIN_FILE", dir.join("join"))
                .env("HAC_KEEPER_LOG", dir.join("log"))
                .env("HAC_KEEPER_ADMIN_CONF", dir.join("admin.conf"))
                .env("HAC_KEEPER_LOCK", dir.join("lock"))
                .output()
                .unwrap();
            assert!(
                output.status.success(),
                "{}",
                String::from_utf8_lossy(&output.stderr)
            );
            std::fs::read_to_string(dir.join("actions"))
                .unwrap_or_default()
                .lines()
                .map(str::to_owned)
                .collect()
        }
    }

    #[test]
    fn the_keeper_keeps_the_tokens_revokes_old_generations_and_uploads_on_request() {
        let keeper = Keeper::new();
        let w = 2969;
        let start = w * join::WINDOW_SECONDS;
        // A day into window w: the previous and current windows, generations 0 and 1.
        let mut first = keeper.run(start + 86_400);
        first.sort();
        let mut expected: Vec<String> = [(0, w - 1), (0, w), (1, w - 1), (1, w)]
            .iter()
            .map(|&(g, w)| format!("create {}", keeper.id(g, w)))
            .collect();
        expected.sort();
        assert_eq!(first, expected);
        // The expiration is the window's end plus 6 days.
        let made = std::fs::read_to_string(
            keeper
                .dir
                .path()
                .join(format!("secret-{}", keeper.id(0, w))),
        )
        .unwrap();
        assert!(
            made.contains("\"expiration\":\"2026-12-09T00:00:00Z\""),
            "{made}"
        );
        assert!(
            made.contains(
                "\"auth-extra-groups\":\"system:bootstrappers:kubeadm:default-node-token\""
            )
        );
        // Idempotent: nothing to do a minute later.
        assert_eq!(keeper.run(start + 86_460), Vec::<String>::new());

        // A host built after `hac secrets rotate token` bootstrapped with generation 1.
        let id = join::token(&keeper.seed, 1, w).id().to_owned();
        std::fs::write(
            keeper.dir.path().join("usernames"),
            format!("system:node:cp2\nsystem:bootstrap:{id}\n"),
        )
        .unwrap();
        let mut rotated = keeper.run(start + 86_520);
        rotated.sort();
        let mut expected = vec![
            "record 1".to_owned(),
            format!("create {}", keeper.id(2, w - 1)),
            format!("create {}", keeper.id(2, w)),
            format!("delete {}", keeper.id(0, w - 1)),
            format!("delete {}", keeper.id(0, w)),
        ];
        expected.sort();
        assert_eq!(rotated, expected);

        // A control plane asks for the certificates.
        std::fs::write(
            keeper.dir.path().join("upload-requests"),
            "hac-upload-certs-cp4\n",
        )
        .unwrap();
        assert_eq!(
            keeper.run(start + 86_580),
            [
                "kubeadm init phase upload-certs --upload-certs --config /etc/hac/keeper-kubeadm.yaml",
                "delete csr hac-upload-certs-cp4",
            ]
        );

        // Within a day of the next window, its tokens are made too; w-1's are kept until
        // they expire, and the tokens of w-2 are gone once w+1 begins.
        let mut early = keeper.run(start + join::WINDOW_SECONDS - 3600);
        early.sort();
        let mut expected = vec![
            format!("create {}", keeper.id(1, w + 1)),
            format!("create {}", keeper.id(2, w + 1)),
        ];
        expected.sort();
        assert_eq!(early, expected);
        let mut next = keeper.run(start + join::WINDOW_SECONDS + 60);
        next.sort();
        let mut expected = vec![
            format!("delete {}", keeper.id(1, w - 1)),
            format!("delete {}", keeper.id(2, w - 1)),
        ];
        expected.sort();
        assert_eq!(next, expected);
        let log = std::fs::read_to_string(keeper.dir.path().join("log")).unwrap();
        assert!(
            log.contains("uploaded the control-plane certificates"),
            "{log}"
        );
        assert!(log.contains("recorded it in kube-system/hac-join"), "{log}");
    }

    #[test]
    fn the_keeper_derives_the_tokens_hac_build_hands_out() {
        let seeds = [
            "00".repeat(32),
            "36".repeat(32),
            "5c".repeat(32),
            "0123456789abcdeffedcba98765432100f1e2d3c4b5a69788796a5b4c3d2e1f0".to_owned(),
        ];
        for seed in &seeds {
            for (generation, window) in [(0u32, 2900i64), (1, 2901), (17, 0), (3, 123_456)] {
                let script = format!(
                    "set -Eeuo pipefail\n{DERIVATION}\nhac_join_token {seed} {generation} {window}\n"
                );
                let output = std::process::Command::new("bash")
                    .arg("-c")
                    .arg(&script)
                    .output()
                    .expect("bash runs");
                assert!(
                    output.status.success(),
                    "{}",
                    String::from_utf8_lossy(&output.stderr)
                );
                let expected = join::token(&Secret::new(seed.clone()), generation, window);
                assert_eq!(
                    String::from_utf8_lossy(&output.stdout),
                    format!("{} {}\n", expected.id(), expected.secret().expose()),
                    "seed {seed}, generation {generation}, window {window}"
                );
            }
        }
    }

    /// `hac join-info` prints a token the keepers have made and keep valid at that
    /// moment: with the keepers' own generation, and after one `hac secrets rotate
    /// token` they were not rebuilt for.
    #[test]
    fn the_token_join_info_prints_is_one_the_keeper_keeps() {
        let cluster = crate::model::check_cluster(&crate::model::testing::value(
            crate::model::testing::base(),
        ))
        .0
        .unwrap();
        for generation in [0, 1] {
            let keeper = Keeper::new();
            let spec = crate::cli::secrets_spec(&cluster, None);
            let mut bundle = crate::secrets::reconcile(None, &spec).unwrap().0;
            bundle.join_seed = keeper.seed.clone();
            bundle.token_generation = generation;
            let start = 2969 * join::WINDOW_SECONDS;
            for now in [
                start + 60,
                start + 3 * 86_400,
                start + join::WINDOW_SECONDS - 3_600,
                start + join::WINDOW_SECONDS + 60,
                start + 2 * join::WINDOW_SECONDS + 120,
            ] {
                keeper.run(now);
                let at = time::OffsetDateTime::from_unix_timestamp(now).unwrap();
                let printed = crate::day2::join_info::render(&cluster, &bundle, false, at);
                let token = printed
                    .lines()
                    .find_map(|l| l.strip_prefix("token: "))
                    .unwrap();
                let (id, secret) = token.split_once('.').unwrap();
                let made = std::fs::read_to_string(
                    keeper
                        .dir
                        .path()
                        .join(format!("secret-bootstrap-token-{id}")),
                )
                .unwrap_or_else(|_| panic!("generation {generation}, {now}: no token {id}"));
                assert!(made.contains(secret), "the same secret");
                let expiration = made
                    .split("\"expiration\":\"")
                    .nth(1)
                    .and_then(|rest| rest.split('"').next())
                    .unwrap();
                let expires = time::OffsetDateTime::parse(
                    expiration,
                    &time::format_description::well_known::Rfc3339,
                )
                .unwrap();
                assert!(expires > at + time::Duration::days(6), "{expiration}");
                assert!(printed.contains(&format!("token-expires: {expiration}")));
            }
        }
    }
}
