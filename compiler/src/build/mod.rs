//! `hac build`: one cloud-init user-data document per host, rendered from the boot
//! plan. The plan decides what every host does and in which order; this module only
//! says how each step is done on a machine: every plan step becomes one step of the
//! host's bootstrap script (its waits first, then its action) plus the files the
//! action needs, which cloud-init writes before the script starts.
//!
//! Each kind of action has its own module; [`render_step`] is the only place that
//! maps plan steps to them.

pub mod cni;
pub mod containerd;
pub mod control_plane;
pub mod download;
pub mod endpoint_hosts;
pub mod etcd;
pub mod gzip;
pub mod keeper;
pub mod kubeadm;
pub mod kubeadm_config;
pub mod loadbalancer;
pub mod node;
pub mod output;
pub mod paths;
pub mod previous;
pub mod providers;
pub mod proxy;
pub mod registry_logins;
pub mod replace;
pub mod sizes;
pub mod user;
pub mod userdata;
pub mod versions;
pub mod waits;

#[cfg(test)]
pub(crate) mod fixture;
#[cfg(test)]
mod kube_tests;

use std::collections::HashMap;

use rayon::prelude::*;

use crate::emit::SpecError;
use crate::emit::{bootstrap, yaml};
use crate::model::{Cluster, Host};
use crate::plan::{Action, BootPlan, HostPlan, PlanRole, Step};
use crate::secrets::{BootstrapToken, Bundle};
use time::OffsetDateTime;

/// The time a build is made at (`hac build --at`, or now).
pub type BuildTime = OffsetDateTime;

/// Everything a host's user-data is made from.
#[derive(Clone, Copy)]
pub struct Context<'a> {
    pub cluster: &'a Cluster,
    pub plan: &'a BootPlan,
    pub secrets: &'a Bundle,
    /// The build time (`hac build --at` or the clock): it picks the join token every
    /// host carries.
    pub built_at: OffsetDateTime,
}

impl<'a> Context<'a> {
    /// The join token the hosts of this build carry.
    pub fn join_token(&self) -> BootstrapToken {
        self.secrets.join_token(self.built_at)
    }

    /// The model's host of a plan host (every plan host comes from the model).
    pub fn host(&self, name: &str) -> Result<&'a Host, SpecError> {
        self.cluster
            .hosts()
            .into_iter()
            .map(|(host, _)| host)
            .find(|host| host.name.value == name)
            .ok_or_else(|| missing_host(name))
    }
}

/// A file cloud-init writes (`write_files`) before the bootstrap script runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostFile {
    /// Absolute path on the host.
    pub path: String,
    pub content: String,
    /// Mode bits, e.g. `0o644`; files holding secrets are `0o600`.
    pub permissions: u32,
    /// `user` or `user:group`.
    pub owner: String,
}

impl HostFile {
    /// A root-owned file readable by everybody.
    pub fn public(path: impl Into<String>, content: impl Into<String>) -> Self {
        HostFile {
            path: path.into(),
            content: content.into(),
            permissions: 0o644,
            owner: "root:root".to_owned(),
        }
    }

    /// A root-owned file only root can read (keys, tokens, configurations with secrets).
    pub fn private(path: impl Into<String>, content: impl Into<String>) -> Self {
        HostFile {
            permissions: 0o600,
            ..HostFile::public(path, content)
        }
    }

    /// A root-owned executable.
    pub fn executable(path: impl Into<String>, content: impl Into<String>) -> Self {
        HostFile {
            permissions: 0o755,
            ..HostFile::public(path, content)
        }
    }
}

/// What one plan step needs on a host: files written before the script starts, and
/// the bash lines of its action (run under `set -euo pipefail`, output to the log).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Rendered {
    pub files: Vec<HostFile>,
    pub body: Vec<String>,
}

impl Rendered {
    pub fn new(files: Vec<HostFile>, body: Vec<String>) -> Self {
        Rendered { files, body }
    }
}

/// One host's build result.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostOutput {
    pub name: String,
    pub roles: Vec<PlanRole>,
    /// The host's stage in the boot plan (0: waits for no other host).
    pub stage: u32,
    /// Plan step ids, in the order the bootstrap script runs them.
    pub steps: Vec<String>,
    /// Every file in the user-data's `write_files`, the bootstrap script included.
    pub files: Vec<HostFile>,
    /// The user-data as data: what a YAML 1.1 reader must get back from `user_data`.
    pub document: serde_json::Value,
    /// The complete `#cloud-config` document.
    pub user_data: String,
}

/// Renders every host of the plan, in plan order. Fails, naming the host and the
/// step, if any generator refuses its input; nothing is partially rendered.
pub fn build(context: &Context<'_>) -> Result<Vec<HostOutput>, SpecError> {
    build_each(context, |output| output)
}

/// [`build`], handing each host's result to `finish` on the thread that rendered it
/// (hosts are rendered in parallel), so a caller keeps only what it needs of each
/// host. The results are in plan order; the error is the first host's in plan order.
pub fn build_each<T: Send>(
    context: &Context<'_>,
    finish: impl Fn(HostOutput) -> T + Sync,
) -> Result<Vec<T>, SpecError> {
    let mut hosts: HashMap<&str, &Host> = HashMap::new();
    for (host, _) in context.cluster.hosts() {
        hosts.entry(host.name.value.as_str()).or_insert(host);
    }
    let results: Vec<Result<T, SpecError>> = context
        .plan
        .hosts
        .par_iter()
        .map(|plan_host| {
            let host = hosts
                .get(plan_host.name.as_str())
                .ok_or_else(|| missing_host(&plan_host.name))?;
            build_host(context, host, plan_host, yaml::to_cloud_config_spliced).map(&finish)
        })
        .collect();
    results.into_iter().collect()
}

/// The straightforward build, one host after another in plan order, each looked up
/// in the cluster by name and its whole document written by the YAML serializer:
/// what [`build`] computes in parallel (copying the bulk of each document line by
/// line), kept as the reference the parallel build is tested against.
pub fn build_sequentially(context: &Context<'_>) -> Result<Vec<HostOutput>, SpecError> {
    context
        .plan
        .hosts
        .iter()
        .map(|plan_host| {
            let host = context.host(&plan_host.name)?;
            build_host(context, host, plan_host, yaml::to_cloud_config)
        })
        .collect()
}

fn missing_host(name: &str) -> SpecError {
    SpecError::new(format!(
        "host `{name}` is in the plan but not in the cluster"
    ))
}

fn build_host(
    context: &Context<'_>,
    host: &Host,
    plan_host: &HostPlan,
    write: userdata::Writer,
) -> Result<HostOutput, SpecError> {
    let mut files = Vec::new();
    let mut script_steps = Vec::new();
    for step in &plan_host.steps {
        let rendered = render_step(context, host, plan_host, step).map_err(|err| SpecError {
            message: format!(
                "host `{}`, step `{}`: {}",
                plan_host.name, step.id, err.message
            ),
            help: err.help,
        })?;
        let waited = waits::render(context, &plan_host.name, &step.waits_for)?;
        let mut body = waited.body;
        body.extend(rendered.body);
        files.extend(waited.files);
        files.extend(rendered.files);
        script_steps.push(bootstrap::Step::new(step.id, body));
    }
    let script = bootstrap::script_with_library(&script_steps, waits::PROBES)?;
    let assembled = userdata::assemble(context, host, files, script, write)?;
    Ok(HostOutput {
        name: plan_host.name.clone(),
        roles: plan_host.roles.clone(),
        stage: plan_host.stage,
        steps: plan_host.steps.iter().map(|s| s.id.to_owned()).collect(),
        files: assembled.files,
        document: assembled.document,
        user_data: assembled.user_data,
    })
}

/// The one place where plan actions meet their renderers.
fn render_step(
    context: &Context<'_>,
    host: &Host,
    plan_host: &HostPlan,
    step: &Step,
) -> Result<Rendered, SpecError> {
    match &step.action {
        Action::WriteFiles { paths } => user::write_files(context, host, paths),
        Action::RunCommands { commands } => user::run_commands(commands),
        Action::PinSandboxImage {
            kubernetes,
            image_repository,
        } => containerd::pin_sandbox_image(
            kubernetes,
            image_repository.as_deref(),
            download::needs_containerd_2(context.cluster),
        ),
        Action::InstallPackages { packages } => {
            node::install_packages(context, host, plan_host, packages)
        }
        Action::ConfigureHaproxy { port, backends } => {
            loadbalancer::configure_haproxy(context, host, *port, backends)
        }
        Action::ConfigureKeepalived {
            vip,
            priority,
            check_weight,
            peers,
            interface,
        } => loadbalancer::configure_keepalived(
            context,
            host,
            vip,
            *priority,
            *check_weight,
            peers,
            interface.as_deref(),
        ),
        Action::StartLoadBalancer { keepalived } => {
            loadbalancer::start(context, host, plan_host, *keepalived)
        }
        Action::StartEtcd {
            member,
            initial_cluster,
        } => etcd::start_member(context, host, member, initial_cluster),
        Action::ConfirmEtcdQuorum => etcd::confirm_quorum(context, host),
        Action::KubeadmInit { upload_certs } => kubeadm::init(context, host, *upload_certs),
        Action::InstallCni { cni, pods } => cni::install(context, cni, pods),
        Action::KubeadmJoin { control_plane } => kubeadm::join(context, host, *control_plane),
    }
}
