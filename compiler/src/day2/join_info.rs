//! `hac join-info CLUSTER`: what a person needs to join a machine to the running
//! cluster by hand with `kubeadm join`: the endpoint, a join token the control planes'
//! keepers keep valid now, and the hash that pins the cluster CA.
//!
//! The token is a secret (anyone holding it can add machines until it expires), so
//! this command prints it, on purpose, and no other command does. The token is the
//! one of the present week and of the bundle's token generation: the keepers make it
//! (see [`crate::secrets::join`]) as long as they honour that generation, which they
//! do when it is theirs or one more (one `hac secrets rotate token` since they were
//! built).

use std::path::PathBuf;

use hac_lang::Loader;
use time::OffsetDateTime;

use crate::build::paths;
use crate::cli::{EXIT_OK, Io};
use crate::secrets::{self, format_time};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The cluster description (the endpoint and the bundle come from it)
    #[arg(value_name = "CLUSTER")]
    cluster: PathBuf,
    /// Also print the certificate key a control plane joins with (a secret as well)
    #[arg(long)]
    control_plane: bool,
    /// The secrets bundle [default: CLUSTER with the extension `.secrets`]
    #[arg(long = "secrets", value_name = "PATH")]
    secrets: Option<PathBuf>,
    /// The project root: imports and `readFile` may read only files below it
    #[arg(long = "root", value_name = "DIR")]
    root: Option<PathBuf>,
}

pub fn run(args: &Args, loader: &dyn Loader, io: &mut Io<'_>) -> u8 {
    let built = match super::load(
        &args.cluster,
        args.secrets.as_deref(),
        args.root.as_deref(),
        loader,
        io,
    ) {
        Ok(built) => built,
        Err(status) => return status,
    };
    let text = render(
        &built.cluster,
        &built.bundle,
        args.control_plane,
        OffsetDateTime::now_utc(),
    );
    let _ = io.stdout.write_all(text.as_bytes());
    EXIT_OK
}

/// The text `hac join-info` prints at `now`.
pub fn render(
    cluster: &crate::model::Cluster,
    bundle: &secrets::Bundle,
    control_plane: bool,
    now: OffsetDateTime,
) -> String {
    let endpoint = cluster.endpoint.value.to_string();
    let window = secrets::join::window_of(now);
    let token = bundle.join_token(now).token();
    let expires = format_time(secrets::join::expiry_of(window));
    let hash = bundle.discovery_hash();
    let mut out = format!(
        "# Joining a machine to cluster `{name}` by hand. The token is a secret: anyone holding\n\
         # it can add machines to the cluster until it expires.\n\
         endpoint: {endpoint}\n\
         token: {token}\n\
         token-expires: {expires}\n\
         discovery-token-ca-cert-hash: {hash}\n\
         \n\
         # A worker (after installing containerd, kubeadm and the kubelet as hac's hosts do):\n\
         kubeadm join {endpoint} --token {token} --discovery-token-ca-cert-hash {hash}\n",
        name = cluster.name.value,
        token = token.expose(),
    );
    if control_plane {
        out.push_str(&format!(
            "\n# A control plane also needs the control-plane certificates. kubeadm deletes them\n\
             # from the cluster 2 hours after they were uploaded; upload them again first, as\n\
             # root on a running control plane (hac's keeper does the same when a host asks):\n\
             #   kubeadm init phase upload-certs --upload-certs --config {keeper_config}\n\
             certificate-key: {key}\n\
             kubeadm join {endpoint} --token {token} --discovery-token-ca-cert-hash {hash} --control-plane --certificate-key {key}\n",
            keeper_config = paths::KEEPER_KUBEADM_CONFIG,
            key = bundle.certificate_key().expose(),
            token = token.expose(),
        ));
    } else {
        out.push_str(
            "\n# A control plane also needs the certificate key: `hac join-info --control-plane`.\n",
        );
    }
    out
}
