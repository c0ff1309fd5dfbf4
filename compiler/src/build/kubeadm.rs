//! `kubeadm init` and `kubeadm join`: their configuration files and commands.
//!
//! Both run under a bounded `retry`; a failed attempt is undone with
//! `kubeadm reset -f` so the next one starts clean. `kubeadm reset` empties
//! `/etc/kubernetes/pki`, so the first control plane keeps a copy of its pre-seeded
//! PKI and restores it before every attempt: a retry must sign with the same CA the
//! other hosts' discovery hash pins. There is never a second `kubeadm init` for a
//! cluster: once it succeeded a marker says so, and a re-created first machine that
//! finds the cluster already serving joins it as a control plane instead.

use crate::emit::SpecError;
use crate::emit::shell::{command, quote};
use crate::emit::yaml::to_yaml_stream;
use crate::model::{Etcd, Host};

use super::kubeadm_config::{self, Api};
use super::{Context, HostFile, Rendered, control_plane, keeper, paths, waits};

/// Upper bound of one `kubeadm init` or `join` run (its own phases time out earlier;
/// this catches a hang).
const KUBEADM_ATTEMPT_SECONDS: u32 = 30 * 60;
/// How often (5 s apart) a rebooted first control plane asks its restarting API
/// server who has joined before it resets an interrupted `init`: three minutes
/// covers the kubelet restarting etcd and the API server from their manifests.
const IN_USE_PROBES: u32 = 36;
/// Before a first `kubeadm init`, the first control plane asks this often, this many
/// seconds apart, whether a cluster already answers, through the endpoint and every
/// other control plane's own address: one failed probe (DNS not ready, a VIP moving)
/// must not make a re-created machine initialise a second cluster.
const CLUSTER_PROBES: u32 = 6;
const CLUSTER_PROBE_PAUSE_SECONDS: u32 = 10;
const INIT_ATTEMPTS: u32 = 3;
const JOIN_ATTEMPTS: u32 = 5;
const BACKOFF_SECONDS: u32 = 30;

pub fn init(context: &Context<'_>, host: &Host, upload_certs: bool) -> Result<Rendered, SpecError> {
    let secrets = context.secrets;
    let ca = secrets.cluster_ca();
    let mut seeded = vec![
        HostFile::public(paths::CLUSTER_CA_CERT, ca.certificate_pem()),
        HostFile::private(paths::CLUSTER_CA_KEY, ca.private_key_pem().expose()),
    ];
    if matches!(context.cluster.etcd, Etcd::External { .. }) {
        let etcd = secrets.etcd().ok_or_else(|| {
            SpecError::new("the cluster uses external etcd but the secrets bundle has no etcd PKI")
                .with_help("run `hac build` again so the secrets bundle is completed")
        })?;
        let client = etcd.apiserver_etcd_client();
        seeded.push(HostFile::public(
            paths::ETCD_CA_CERT,
            etcd.ca().certificate_pem(),
        ));
        seeded.push(HostFile::public(
            paths::APISERVER_ETCD_CLIENT_CERT,
            client.certificate_pem(),
        ));
        seeded.push(HostFile::private(
            paths::APISERVER_ETCD_CLIENT_KEY,
            client.private_key_pem().expose(),
        ));
    }

    let init_config = to_yaml_stream(&kubeadm_config::init_documents(context, host)?)?;
    let join_config = to_yaml_stream(&[kubeadm_config::join_document(context, host, true)?])?;
    let mut files = seeded.clone();
    files.push(waits::cluster_ca(context));
    let index = context
        .cluster
        .controlplanes
        .iter()
        .position(|cp| cp.name.value == host.name.value)
        .unwrap_or_default();
    let turn = waits::render(
        context,
        &host.name.value,
        &[crate::plan::Wait {
            condition: crate::plan::control_plane_turn(context.cluster, index),
            interval_seconds: crate::plan::POLL_INTERVAL_SECONDS,
            timeout_seconds: crate::plan::CONTROL_PLANE_JOIN_SECONDS,
        }],
    )?;
    files.extend(turn.files);
    let certificates = certificates_wait(context, host)?;
    files.extend(certificates.files);
    files.extend(control_plane::files(context.cluster, context.secrets)?);
    files.push(HostFile::private(paths::KUBEADM_CONFIG, init_config));
    files.push(HostFile::private(paths::KUBEADM_JOIN_CONFIG, join_config));

    let mut body = vec![
        "# kubeadm reset empties the PKI directory: keep the pre-seeded files to restore"
            .to_owned(),
        "# them before every attempt (a new CA would not match the hosts' discovery hash)."
            .to_owned(),
        format!("if [[ ! -d {} ]]; then", quote(paths::PKI_SEED_DIR)?),
        format!(
            "  rm -rf {}",
            quote(&format!("{}.tmp", paths::PKI_SEED_DIR))?
        ),
    ];
    for (index, file) in seeded.iter().enumerate() {
        body.push(format!(
            "  install -D -m 0600 {} {}",
            quote(&file.path)?,
            quote(&format!("{}.tmp/{index}", paths::PKI_SEED_DIR))?
        ));
    }
    body.push(format!(
        "  mv {} {}",
        quote(&format!("{}.tmp", paths::PKI_SEED_DIR))?,
        quote(paths::PKI_SEED_DIR)?
    ));
    body.push("fi".to_owned());
    body.push("hac_restore_pki() {".to_owned());
    for (index, file) in seeded.iter().enumerate() {
        body.push(format!(
            "  install -D -m {:04o} {} {}",
            file.permissions,
            quote(&format!("{}/{index}", paths::PKI_SEED_DIR))?,
            quote(&file.path)?
        ));
    }
    body.push("}".to_owned());
    body.extend(attempt_function(host)?);

    let mut init_words = vec!["kubeadm", "init", "--config", paths::KUBEADM_CONFIG];
    if upload_certs {
        init_words.push("--upload-certs");
    }
    let mut urls = vec![format!("https://{}/readyz", context.plan.endpoint)];
    urls.extend(
        context
            .cluster
            .controlplanes
            .iter()
            .filter(|cp| cp.name.value != host.name.value)
            .map(|cp| {
                format!(
                    "https://{}:{}/readyz",
                    kubeadm_config::url_host(cp),
                    crate::plan::API_SERVER_PORT
                )
            }),
    );
    let quoted: Vec<String> = urls
        .iter()
        .map(|url| quote(url))
        .collect::<Result<_, _>>()?;
    body.push(format!("hac_cluster_urls=({})", quoted.join(" ")));
    body.extend(cluster_answers_function()?);
    body.extend([
        format!("if [[ -e {} ]]; then", quote(paths::KUBEADM_DONE_MARKER)?),
        "  log 'kubeadm already brought this host into the cluster; not running it again'"
            .to_owned(),
        format!(
            "elif [[ ! -e {} ]] && hac_cluster_answers {CLUSTER_PROBES} {CLUSTER_PROBE_PAUSE_SECONDS}; then",
            quote(paths::MANIFEST_KUBE_APISERVER)?,
        ),
        format!(
            "  log {}",
            quote(
                "the cluster already answers with this cluster's CA: this machine was re-created, so it joins as a control plane instead of initialising the cluster a second time"
            )?
        ),
    ]);
    body.extend(turn.body.iter().map(|line| format!("  {line}")));
    body.extend(certificates.body.iter().map(|line| format!("  {line}")));
    body.extend([
        format!(
            "  retry {JOIN_ATTEMPTS} {BACKOFF_SECONDS} {}",
            command(&[
                "hac_kubeadm_attempt",
                "join",
                "--config",
                paths::KUBEADM_JOIN_CONFIG
            ])?
        ),
        format!("  hac_timestamp >{}", quote(paths::KUBEADM_DONE_MARKER)?),
        "else".to_owned(),
    ]);
    if Api::of(context.cluster) == Api::V1beta4 {
        // A typo would only be a warning to `kubeadm init`; `config validate` refuses it.
        body.push(format!(
            "  {} || hac_fail kubeadm-config-invalid {}",
            command(&[
                "kubeadm",
                "config",
                "validate",
                "--config",
                paths::KUBEADM_CONFIG
            ])?,
            quote(&format!(
                "kubeadm refuses the generated {}: its output is in the log above; report it with the output of `hac build`",
                paths::KUBEADM_CONFIG
            ))?
        ));
    }
    body.extend([
        format!(
            "  retry 5 15 {}",
            command(&[
                "kubeadm",
                "config",
                "images",
                "pull",
                "--config",
                paths::KUBEADM_CONFIG
            ])?
        ),
        format!(
            "  retry {INIT_ATTEMPTS} {BACKOFF_SECONDS} hac_kubeadm_attempt {}",
            command(&init_words[1..])?
        ),
        format!("  hac_timestamp >{}", quote(paths::KUBEADM_DONE_MARKER)?),
        "fi".to_owned(),
    ]);
    body.extend(root_kubeconfig()?);
    files.extend(keeper::files(context, host)?);
    body.push(keeper::enable());
    Ok(Rendered::new(files, body))
}

pub fn join(
    context: &Context<'_>,
    host: &Host,
    control_plane: bool,
) -> Result<Rendered, SpecError> {
    let config = to_yaml_stream(&[kubeadm_config::join_document(context, host, control_plane)?])?;
    let mut files = vec![HostFile::private(paths::KUBEADM_CONFIG, config)];
    let mut body = vec!["hac_restore_pki() { :; }".to_owned()];
    body.extend(attempt_function(host)?);
    body.extend([
        format!("if [[ -e {} ]]; then", quote(paths::KUBEADM_DONE_MARKER)?),
        "  log 'kubeadm already joined this host; not running it again'".to_owned(),
        "else".to_owned(),
    ]);
    if control_plane {
        files.extend(control_plane::files(context.cluster, context.secrets)?);
        let certificates = certificates_wait(context, host)?;
        files.extend(certificates.files);
        body.extend(certificates.body.iter().map(|line| format!("  {line}")));
    }
    body.extend([
        format!(
            "  retry {JOIN_ATTEMPTS} {BACKOFF_SECONDS} {}",
            command(&[
                "hac_kubeadm_attempt",
                "join",
                "--config",
                paths::KUBEADM_CONFIG
            ])?
        ),
        format!("  hac_timestamp >{}", quote(paths::KUBEADM_DONE_MARKER)?),
        "fi".to_owned(),
    ]);
    if control_plane {
        body.extend(root_kubeconfig()?);
        files.extend(keeper::files(context, host)?);
        body.push(keeper::enable());
    }
    Ok(Rendered::new(files, body))
}

/// `hac_kubeadm_attempt init|join ARG...`: one bounded kubeadm run on a clean node.
/// State a previous attempt (or an interrupted boot) left behind is reset first; a
/// failed run is reset at once, so the node is clean whatever happens next. The one
/// exception: a cluster this node initialised that other nodes have already joined is
/// never reset, since that would pull it from under them. That happens when a late
/// phase of `init` fails, and when the machine reboots in the middle of `init`: other
/// control planes start joining once the first one is marked, before `init` returns,
/// so after such a reboot the local API server (which the kubelet restarts from the
/// manifests) is given a few minutes to answer who has joined before anything is
/// reset. The marker stops every further attempt and says why.
fn attempt_function(host: &Host) -> Result<Vec<String>, SpecError> {
    let in_use = quote(paths::KUBEADM_INIT_IN_USE_MARKER)?;
    Ok(vec![
        "# hac_other_nodes [TRIES]: the nodes other than this one the cluster knows (none if".to_owned(),
        "# it cannot tell), asking up to TRIES times 5 s apart while the API does not answer.".to_owned(),
        "hac_other_nodes() {".to_owned(),
        "  local tries=${1:-1} nodes".to_owned(),
        format!("  [[ -e {} ]] || return 0", quote(paths::ADMIN_KUBECONFIG)?),
        "  while true; do".to_owned(),
        format!(
            "    if nodes=$(kubectl --kubeconfig {} --request-timeout=10s get nodes -o name 2>/dev/null); then",
            quote(paths::ADMIN_KUBECONFIG)?
        ),
        format!(
            "      grep -vxF {} <<<\"$nodes\" || true",
            quote(&format!("node/{}", host.name.value))?
        ),
        "      return 0".to_owned(),
        "    fi".to_owned(),
        "    tries=$((tries - 1))".to_owned(),
        "    ((tries > 0)) || return 0".to_owned(),
        "    hac_sleep 5".to_owned(),
        "  done".to_owned(),
        "}".to_owned(),
        "# hac_keep_cluster_in_use NODES: records that NODES use the cluster this node initialised.".to_owned(),
        "hac_keep_cluster_in_use() {".to_owned(),
        format!("  printf '%s\\n' \"$1\" >{in_use}"),
        "}".to_owned(),
        "hac_kubeadm_attempt() {".to_owned(),
        "  local status=0 others".to_owned(),
        format!("  if [[ -e {in_use} ]]; then"),
        format!(
            "    hac_fail init-failed-in-use \"kubeadm init failed after $(tr '\\n' ' ' <{in_use})had joined: hac does not reset a cluster in use; finish it by hand (kubeadm init phase ...), then remove {in_use}, create {} and run hac-bootstrap again\"",
            paths::KUBEADM_DONE_MARKER
        ),
        "  fi".to_owned(),
        format!(
            "  if [[ -e {} || -e {} ]]; then",
            quote(paths::KUBELET_KUBECONFIG)?,
            quote(paths::MANIFEST_KUBE_APISERVER)?
        ),
        "    if [[ $1 == init ]]; then".to_owned(),
        format!("      others=$(hac_other_nodes {IN_USE_PROBES})"),
        "      if [[ -n $others ]]; then".to_owned(),
        "        hac_keep_cluster_in_use \"$others\"".to_owned(),
        "        hac_fail init-failed-in-use \"an interrupted kubeadm init left a cluster that $(tr '\\n' ' ' <<<\"$others\")joined: hac does not reset a cluster in use; finish it by hand (kubeadm init phase ...), then create /var/lib/hac/kubeadm.done and run hac-bootstrap again\"".to_owned(),
        "      fi".to_owned(),
        "    fi".to_owned(),
        "    log \"an earlier kubeadm run left state on this node: kubeadm reset -f before kubeadm $1\"".to_owned(),
        "    kubeadm reset -f".to_owned(),
        "  fi".to_owned(),
        "  if [[ $1 == init ]] && hac_cluster_answers 1 0; then".to_owned(),
        "    log 'another control plane answers: hac never runs kubeadm init while one does (the step runs again and joins instead)'".to_owned(),
        "    return 1".to_owned(),
        "  fi".to_owned(),
        "  hac_restore_pki".to_owned(),
        format!("  timeout --kill-after=30 {KUBEADM_ATTEMPT_SECONDS} kubeadm \"$@\" || status=$?"),
        "  if ((status != 0)); then".to_owned(),
        "    others=$(hac_other_nodes)".to_owned(),
        "    if [[ $1 == init && -n $others ]]; then".to_owned(),
        "      hac_keep_cluster_in_use \"$others\"".to_owned(),
        format!("      hac_fail init-failed-in-use \"kubeadm init failed with status $status after $(tr '\\n' ' ' <<<\"$others\")joined: hac does not reset a cluster in use; finish it by hand (kubeadm init phase ...), then remove {in_use}, create {} and run hac-bootstrap again\"", paths::KUBEADM_DONE_MARKER),
        "    fi".to_owned(),
        "    log \"kubeadm $1 failed with status $status: kubeadm reset -f before the next attempt\"".to_owned(),
        "    kubeadm reset -f || log 'kubeadm reset -f failed as well'".to_owned(),
        "    return \"$status\"".to_owned(),
        "  fi".to_owned(),
        "}".to_owned(),
    ])
}

/// `hac_cluster_answers TRIES PAUSE`: some API server of this cluster (the endpoint or
/// another control plane's own address, all in `hac_cluster_urls`) answers `/readyz`
/// with this cluster's CA, asking up to TRIES rounds PAUSE seconds apart.
fn cluster_answers_function() -> Result<Vec<String>, SpecError> {
    Ok(vec![
        "hac_cluster_answers() {".to_owned(),
        "  local tries=$1 pause=$2 url".to_owned(),
        "  while true; do".to_owned(),
        "    for url in \"${hac_cluster_urls[@]}\"; do".to_owned(),
        format!(
            "      if hac_api_ready \"$url\" {}; then",
            quote(paths::CLUSTER_CA_PUBLIC)?
        ),
        "        log \"$url answers: this cluster already runs\"".to_owned(),
        "        return 0".to_owned(),
        "      fi".to_owned(),
        "    done".to_owned(),
        "    tries=$((tries - 1))".to_owned(),
        "    ((tries > 0)) || return 1".to_owned(),
        "    hac_sleep \"$pause\"".to_owned(),
        "  done".to_owned(),
        "}".to_owned(),
    ])
}

/// A control plane joining after kubeadm deleted the uploaded certificates (2 h
/// after `init`, or after the keepers' last upload) asks for them: it creates a
/// CertificateSigningRequest for hac's signer as its bootstrap token (the
/// bootstrappers may create CSRs), which the keeper on a serving control plane
/// answers by uploading the certificates again and deleting the request; the join
/// starts once `kube-system/kubeadm-certs` exists. The CSR's key is thrown away:
/// the request is only a signal, nothing is ever signed for it.
pub fn certificates_wait(context: &Context<'_>, host: &Host) -> Result<Rendered, SpecError> {
    let endpoint = &context.plan.endpoint;
    let files = vec![waits::cluster_ca(context), waits::token_header(context)];
    let body = vec![format!(
        "wait_until 'the control-plane certificates to be uploaded' forever 5 {}",
        command(&[
            "hac_certificates_uploaded",
            &format!("https://{endpoint}"),
            paths::CLUSTER_CA_PUBLIC,
            paths::BOOTSTRAP_TOKEN_HEADER,
            &host.name.value,
        ])?
    )];
    Ok(Rendered::new(files, body))
}

/// root's kubectl talks to the cluster as admin (control planes only).
fn root_kubeconfig() -> Result<Vec<String>, SpecError> {
    Ok(vec![
        format!("install -d -m 0700 {}", quote(paths::ROOT_KUBECONFIG_DIR)?),
        format!(
            "install -m 0600 {} {}",
            quote(paths::ADMIN_KUBECONFIG)?,
            quote(paths::ROOT_KUBECONFIG)?
        ),
    ])
}
