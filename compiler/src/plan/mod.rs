//! The boot plan: what every host does at boot, in which order, and what each step
//! waits for. It is data (serialisable), independent of cloud-init: the emitter turns
//! it into scripts, and `hac plan` shows it to people.
//!
//! Every wait is a condition a script can poll, with an interval and an upper bound;
//! nothing waits for a fixed time.

pub mod render;

#[cfg(test)]
mod tests;

use std::collections::{BTreeMap, HashMap};

use serde::Serialize;

use crate::build::download::{self, Download};
use crate::model::{Cluster, Cni, Etcd, Host, LoadBalancer};

/// The step that pins containerd's sandbox image, on every host that runs a kubelet.
pub const SANDBOX_STEP: &str = "pin-sandbox-image";

/// Port kube-apiserver binds on every control plane.
pub const API_SERVER_PORT: u16 = 6443;
/// Port etcd serves clients on.
pub const ETCD_CLIENT_PORT: u16 = 2379;
/// How often every condition is polled at first; the pause doubles up to a minute
/// while the wait goes on.
pub const POLL_INTERVAL_SECONDS: u32 = 5;
/// Bound for waits on hosts that boot at the same time (load balancers, etcd).
pub const PEER_BOOT_TIMEOUT_SECONDS: u32 = 30 * 60;
/// Bound for the first join's wait on the API; later control planes get
/// [`CONTROL_PLANE_JOIN_SECONDS`] more for each control plane ahead of them.
pub const API_READY_TIMEOUT_SECONDS: u32 = 30 * 60;
/// Upper bound of one control-plane join (kubeadm's own phases stay well inside it).
pub const CONTROL_PLANE_JOIN_SECONDS: u32 = 15 * 60;
/// How long a joining control plane waits for an earlier-listed control plane that
/// has not registered before it passes it (cp3 joins with cp1 alone if cp2 never
/// comes): two normal joins.
pub const PASS_UNREGISTERED_SECONDS: u32 = 2 * CONTROL_PLANE_JOIN_SECONDS;
/// Bound for workers' wait on the API: the first control plane must boot and initialise.
pub const WORKER_API_TIMEOUT_SECONDS: u32 = 45 * 60;
/// keepalived priority of the last-listed load balancer; the others count up from it.
pub const KEEPALIVED_BASE_PRIORITY: u8 = 100;

/// keepalived priority of the load balancer at `rank` (0 = listed first, preferred)
/// among `count`: `KEEPALIVED_BASE_PRIORITY + count - 1 - rank`, so healthy hosts
/// span `count` consecutive values (101/100 for two). Saturates at 255, which the
/// emitter refuses (keepalived reserves it for the address owner).
pub fn keepalived_priority(rank: usize, count: usize) -> u8 {
    let priority = usize::from(KEEPALIVED_BASE_PRIORITY) + count.saturating_sub(1 + rank);
    u8::try_from(priority).unwrap_or(u8::MAX)
}

/// What each of the two failing keepalived checks ("haproxy answers", "an API
/// server is healthy through haproxy") subtracts from a host's priority among
/// `count` load balancers: `count`. A host whose haproxy is dead fails both
/// checks, one whose haproxy sees no API server ("blind") fails the second. With
/// priorities `100..=99 + count` (see [`keepalived_priority`]) and `w = count`:
///
/// - healthy: `100 ..= 99 + w`;
/// - blind: `100 - w ..= 99`, all below the lowest healthy host (100);
/// - dead: `100 - 2w ..= 99 - w`, all below the lowest blind host (`100 - w`).
///
/// Two hosts: healthy 101/100, blind 99/98, dead 97/96. Three: healthy
/// 102/101/100, blind 99/98/97, dead 96/95/94. So the address goes to a healthy
/// host when there is one, and a holder whose haproxy is up while every API server
/// is still booting keeps it against a peer whose haproxy is dead. The lowest
/// value, `100 - 2 × count`, stays a valid priority (at least 1) up to 49 load
/// balancers; the emitter refuses more. Saturates at 255.
pub fn keepalived_check_weight(count: usize) -> u8 {
    u8::try_from(count).unwrap_or(u8::MAX)
}

/// How long the certificates `kubeadm init --upload-certs` uploads stay in the
/// `kubeadm-certs` secret (kubeadm's `DefaultCertTokenDuration`); a control plane that
/// joins later cannot fetch them.
pub const UPLOADED_CERTIFICATES_SECONDS: u32 = 2 * 60 * 60;

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BootPlan {
    pub cluster: String,
    pub kubernetes: String,
    pub endpoint: String,
    /// Every host once, in boot order (by stage, then role, then declaration).
    pub hosts: Vec<HostPlan>,
    /// The boot-order graph: `to` waits for something `from` provides.
    pub edges: Vec<Edge>,
    /// Every release file a host downloads, with its digest and the hosts that fetch it.
    pub downloads: Vec<Download>,
}

impl BootPlan {
    /// Every host that runs `kubeadm join`, in boot order, with the longest bound of the
    /// join's waits: how long after the host starts waiting the join may still begin.
    pub fn join_bounds(&self) -> Vec<(&HostPlan, u32)> {
        self.hosts
            .iter()
            .filter_map(|host| {
                let join = host
                    .steps
                    .iter()
                    .find(|s| matches!(s.action, Action::KubeadmJoin { .. }))?;
                let bound = join.waits_for.iter().map(|w| w.timeout_seconds).max()?;
                Some((host, bound))
            })
            .collect()
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct HostPlan {
    pub name: String,
    pub address: Option<String>,
    pub roles: Vec<PlanRole>,
    /// Length of the longest chain of hosts this one waits on (0: waits for no host).
    pub stage: u32,
    pub steps: Vec<Step>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum PlanRole {
    LoadBalancer,
    EtcdMember,
    /// The first control plane: runs `kubeadm init`.
    InitControlPlane,
    /// A further control plane: joins when the control planes before it have joined
    /// or stayed away too long.
    ControlPlane,
    Worker,
}

impl PlanRole {
    pub fn as_str(self) -> &'static str {
        match self {
            PlanRole::LoadBalancer => "load balancer",
            PlanRole::EtcdMember => "etcd member",
            PlanRole::InitControlPlane => "first control plane",
            PlanRole::ControlPlane => "control plane",
            PlanRole::Worker => "worker",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Step {
    /// Stable within a host, e.g. `kubeadm-init`.
    pub id: &'static str,
    pub action: Action,
    /// Polled in order before the action runs; all must hold.
    pub waits_for: Vec<Wait>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum Action {
    /// Write the cluster's and the host's extra files.
    WriteFiles {
        paths: Vec<String>,
    },
    /// Install packages (exact versions for Kubernetes), hold them, prepare the kernel.
    InstallPackages {
        packages: Vec<String>,
    },
    /// Point containerd's sandbox (pause) image at the one kubeadm of `kubernetes`
    /// expects from `image_repository` (kubeadm's default registry when `None`),
    /// asking the installed kubeadm for it, before anything starts a pod.
    PinSandboxImage {
        kubernetes: String,
        image_repository: Option<String>,
    },
    /// The user's `commands.before` or `commands.after`.
    RunCommands {
        commands: Vec<String>,
    },
    /// haproxy: TCP frontend on `port`, health-checked backends.
    ConfigureHaproxy {
        port: u16,
        backends: Vec<Backend>,
    },
    /// keepalived: VRRP for the VIP; the highest priority holds it while healthy.
    /// The emitter writes these numbers as they are: `hac plan` shows what the
    /// hosts run.
    ConfigureKeepalived {
        vip: String,
        /// From [`keepalived_priority`].
        priority: u8,
        /// Subtracted by each failing check, from [`keepalived_check_weight`].
        check_weight: u8,
        /// The other load balancers' addresses, in declaration order.
        peers: Vec<String>,
        /// The network interface for the VIP; `None`: the one carrying the host's
        /// address, found at boot.
        interface: Option<String>,
    },
    StartLoadBalancer {
        keepalived: bool,
    },
    /// Start this member of the external etcd cluster with every member as initial peer.
    StartEtcd {
        member: String,
        initial_cluster: Vec<String>,
    },
    /// Confirm the etcd cluster has formed (the waits are the point of this step).
    ConfirmEtcdQuorum,
    /// `kubeadm init --upload-certs` with the pre-seeded token and certificate key.
    KubeadmInit {
        upload_certs: bool,
    },
    InstallCni {
        cni: String,
        pods: String,
    },
    KubeadmJoin {
        control_plane: bool,
    },
}

/// A backend server of the generated haproxy.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Backend {
    pub name: String,
    /// `host:port`.
    pub address: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Wait {
    pub condition: Condition,
    /// The first pause between polls; it doubles up to a minute while the wait goes on.
    pub interval_seconds: u32,
    /// How long the condition takes at most when every host boots together. The
    /// script keeps waiting past it, since what it waits for (another host) can
    /// still come; the figure is what the lints compare with the cluster's windows.
    pub timeout_seconds: u32,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum Condition {
    /// A TCP connection to `host:port` is accepted (the load balancer is listening).
    TcpAccepts { address: String },
    /// At least `quorum` of the etcd members answer `/health` with `"health":"true"`.
    EtcdHealthy {
        endpoints: Vec<String>,
        quorum: usize,
    },
    /// `GET url` (an API server's `/readyz`, anonymous) answers 200.
    ApiReady { url: String },
    /// The cluster accepts this host's bootstrap token (`GET /api/v1/nodes/<host>` as
    /// the token answers 200 or 404, not 401). A token it keeps refusing for
    /// `refused_for_seconds` is one the cluster will never know: the host needs a
    /// person (a rebuilt user-data).
    TokenAccepted {
        endpoint: String,
        host: String,
        refused_for_seconds: u32,
    },
    /// It is this control plane's turn to join: every other control plane that has
    /// registered is serving (its own `/readyz` answers, so its etcd member is no
    /// longer a learner and adding one more keeps quorum), none is half-way through its
    /// join, and every earlier-listed one has registered or stayed away for
    /// `pass_after_seconds` since this host started waiting.
    ControlPlaneTurn {
        endpoint: String,
        peers: Vec<Peer>,
        pass_after_seconds: u32,
    },
}

/// Another control plane, as a joining control plane sees it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Peer {
    pub host: String,
    /// Its own API server's `/readyz`.
    pub url: String,
    /// Listed before the joining host: waited for (a bounded time) even before it
    /// registers.
    pub earlier: bool,
}

impl Condition {
    /// The hosts that must act for the condition to hold (for the boot graph).
    fn providers(&self, plan: &Context) -> Vec<String> {
        match self {
            Condition::TcpAccepts { .. } => plan.lb_providers.clone(),
            Condition::EtcdHealthy { .. } => plan.etcd_members.clone(),
            Condition::ApiReady { .. } => plan.first_control_plane.iter().cloned().collect(),
            Condition::TokenAccepted { .. } => plan.first_control_plane.iter().cloned().collect(),
            Condition::ControlPlaneTurn { peers, .. } => peers
                .iter()
                .filter(|p| p.earlier)
                .map(|p| p.host.clone())
                .collect(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Edge {
    pub from: String,
    pub to: String,
    /// What `to` waits for, e.g. `API ready`.
    pub reason: String,
}

/// The hosts each kind of condition depends on.
struct Context {
    lb_providers: Vec<String>,
    etcd_members: Vec<String>,
    first_control_plane: Option<String>,
}

fn wait(condition: Condition, timeout_seconds: u32) -> Wait {
    Wait {
        condition,
        interval_seconds: POLL_INTERVAL_SECONDS,
        timeout_seconds,
    }
}

fn url_host(host: &Host) -> String {
    host.address
        .as_ref()
        .map_or_else(|| host.name.value.clone(), |a| a.value.url_host())
}

/// How long a host's token may be refused by an answering API server before the host
/// gives up on it: the keepers make every token hac hands out within a minute or two of
/// a control plane serving, so an hour of refusals means the cluster will never know it.
pub const TOKEN_REFUSED_SECONDS: u32 = 60 * 60;

fn token_accepted(endpoint: &str, host: &Host, timeout_seconds: u32) -> Wait {
    wait(
        Condition::TokenAccepted {
            endpoint: endpoint.to_owned(),
            host: host.name.value.clone(),
            refused_for_seconds: TOKEN_REFUSED_SECONDS,
        },
        timeout_seconds,
    )
}

/// The turn of the control plane at `index` (see [`Condition::ControlPlaneTurn`]).
pub fn control_plane_turn(cluster: &Cluster, index: usize) -> Condition {
    Condition::ControlPlaneTurn {
        endpoint: cluster.endpoint.value.to_string(),
        peers: cluster
            .controlplanes
            .iter()
            .enumerate()
            .filter(|&(i, _)| i != index)
            .map(|(i, cp)| Peer {
                host: cp.name.value.clone(),
                url: format!("https://{}:{API_SERVER_PORT}/readyz", url_host(cp)),
                earlier: i < index,
            })
            .collect(),
        pass_after_seconds: PASS_UNREGISTERED_SECONDS,
    }
}

/// Computes the boot plan of a valid cluster (one [`crate::model::check_cluster`] returned).
pub fn plan(cluster: &Cluster) -> BootPlan {
    let endpoint = cluster.endpoint.value.to_string();
    let readyz = format!("https://{endpoint}/readyz");
    let version = cluster.kubernetes.value.to_string();
    let kubernetes_packages = vec![
        "containerd".to_owned(),
        format!("kubelet={version}"),
        format!("kubeadm={version}"),
        format!("kubectl={version}"),
    ];
    let colocated = matches!(cluster.loadbalancer, LoadBalancer::Colocated { .. });
    let context = Context {
        lb_providers: match &cluster.loadbalancer {
            LoadBalancer::Dedicated { hosts, .. } => {
                hosts.iter().map(|h| h.name.value.clone()).collect()
            }
            _ => Vec::new(),
        },
        etcd_members: match &cluster.etcd {
            Etcd::External { members, .. } => {
                members.iter().map(|h| h.name.value.clone()).collect()
            }
            Etcd::Stacked => Vec::new(),
        },
        first_control_plane: cluster.controlplanes.first().map(|h| h.name.value.clone()),
    };

    let mut hosts: Vec<(HostPlan, &Host)> = Vec::new();
    let frame = |host: &Host, role: PlanRole, packages: Vec<String>, main: Vec<Step>| {
        let mut steps = Vec::new();
        let paths: Vec<String> = cluster
            .files
            .iter()
            .chain(&host.files)
            .map(|f| f.path.clone())
            .collect();
        if !paths.is_empty() {
            steps.push(Step {
                id: "write-files",
                action: Action::WriteFiles { paths },
                waits_for: Vec::new(),
            });
        }
        let runs_kubelet = packages.iter().any(|p| p.starts_with("kubeadm="));
        steps.push(Step {
            id: "install-packages",
            action: Action::InstallPackages { packages },
            waits_for: Vec::new(),
        });
        if runs_kubelet {
            steps.push(Step {
                id: SANDBOX_STEP,
                action: Action::PinSandboxImage {
                    kubernetes: version.clone(),
                    image_repository: cluster
                        .packages
                        .image_repository
                        .as_ref()
                        .map(|r| r.value.clone()),
                },
                waits_for: Vec::new(),
            });
        }
        let before: Vec<String> = cluster
            .commands
            .before
            .iter()
            .chain(&host.commands.before)
            .cloned()
            .collect();
        if !before.is_empty() {
            steps.push(Step {
                id: "commands-before",
                action: Action::RunCommands { commands: before },
                waits_for: Vec::new(),
            });
        }
        steps.extend(main);
        let after: Vec<String> = cluster
            .commands
            .after
            .iter()
            .chain(&host.commands.after)
            .cloned()
            .collect();
        if !after.is_empty() {
            steps.push(Step {
                id: "commands-after",
                action: Action::RunCommands { commands: after },
                waits_for: Vec::new(),
            });
        }
        let mut roles = vec![role];
        if colocated && matches!(role, PlanRole::InitControlPlane | PlanRole::ControlPlane) {
            roles.push(PlanRole::LoadBalancer);
        }
        HostPlan {
            name: host.name.value.clone(),
            address: host.address.as_ref().map(|a| a.value.to_string()),
            roles,
            stage: 0,
            steps,
        }
    };

    let lb_steps = |index: usize, peers: &[Host]| -> Vec<Step> {
        let Some(port) = cluster.loadbalancer.port() else {
            return Vec::new();
        };
        let backends = cluster
            .controlplanes
            .iter()
            .map(|cp| Backend {
                name: cp.name.value.clone(),
                address: format!("{}:{API_SERVER_PORT}", url_host(cp)),
            })
            .collect();
        let mut steps = vec![Step {
            id: "configure-haproxy",
            action: Action::ConfigureHaproxy {
                port: port.value,
                backends,
            },
            waits_for: Vec::new(),
        }];
        let vip = cluster.loadbalancer.vip();
        if let Some(vip) = vip {
            steps.push(Step {
                id: "configure-keepalived",
                action: Action::ConfigureKeepalived {
                    vip: vip.value.to_string(),
                    priority: keepalived_priority(index, peers.len()),
                    check_weight: keepalived_check_weight(peers.len()),
                    peers: peers
                        .iter()
                        .enumerate()
                        .filter(|&(i, _)| i != index)
                        .map(|(_, h)| url_host(h))
                        .collect(),
                    interface: cluster
                        .loadbalancer
                        .interface()
                        .map(|name| name.value.clone()),
                },
                waits_for: Vec::new(),
            });
        }
        steps.push(Step {
            id: "start-load-balancer",
            action: Action::StartLoadBalancer {
                keepalived: vip.is_some(),
            },
            waits_for: Vec::new(),
        });
        steps
    };
    let lb_packages = |vip: bool| -> Vec<String> {
        let mut packages = vec!["haproxy".to_owned()];
        if vip {
            packages.push("keepalived".to_owned());
        }
        packages
    };

    if let LoadBalancer::Dedicated {
        hosts: lbs, vip, ..
    } = &cluster.loadbalancer
    {
        for (i, host) in lbs.iter().enumerate() {
            hosts.push((
                frame(
                    host,
                    PlanRole::LoadBalancer,
                    lb_packages(vip.is_some()),
                    lb_steps(i, lbs),
                ),
                host,
            ));
        }
    }

    let etcd_endpoints: Vec<String> = match &cluster.etcd {
        Etcd::External { members, .. } => members
            .iter()
            .map(|m| format!("https://{}:{ETCD_CLIENT_PORT}", url_host(m)))
            .collect(),
        Etcd::Stacked => Vec::new(),
    };
    let etcd_quorum = || {
        wait(
            Condition::EtcdHealthy {
                endpoints: etcd_endpoints.clone(),
                quorum: etcd_endpoints.len() / 2 + 1,
            },
            PEER_BOOT_TIMEOUT_SECONDS,
        )
    };
    if let Etcd::External { members, .. } = &cluster.etcd {
        let initial_cluster: Vec<String> = members
            .iter()
            .map(|m| format!("{}=https://{}:2380", m.name.value, url_host(m)))
            .collect();
        for member in members {
            let steps = vec![
                Step {
                    id: "start-etcd",
                    action: Action::StartEtcd {
                        member: member.name.value.clone(),
                        initial_cluster: initial_cluster.clone(),
                    },
                    waits_for: Vec::new(),
                },
                Step {
                    id: "etcd-quorum",
                    action: Action::ConfirmEtcdQuorum,
                    waits_for: vec![etcd_quorum()],
                },
            ];
            // kubeadm runs etcd as a static pod under the kubelet; kubectl is not needed.
            let packages = kubernetes_packages
                .iter()
                .filter(|p| !p.starts_with("kubectl"))
                .cloned()
                .collect();
            hosts.push((frame(member, PlanRole::EtcdMember, packages, steps), member));
        }
    }

    let mut control_plane_packages = kubernetes_packages.clone();
    if colocated {
        control_plane_packages.extend(lb_packages(cluster.loadbalancer.vip().is_some()));
    }
    for (index, cp) in cluster.controlplanes.iter().enumerate() {
        let mut steps = if colocated {
            lb_steps(index, &cluster.controlplanes)
        } else {
            Vec::new()
        };
        if index == 0 {
            let mut waits = Vec::new();
            if !etcd_endpoints.is_empty() {
                waits.push(etcd_quorum());
            }
            if cluster.loadbalancer.is_generated() {
                waits.push(wait(
                    Condition::TcpAccepts {
                        address: endpoint.clone(),
                    },
                    PEER_BOOT_TIMEOUT_SECONDS,
                ));
            }
            steps.push(Step {
                id: "kubeadm-init",
                action: Action::KubeadmInit { upload_certs: true },
                waits_for: waits,
            });
            if cluster.network.cni.value != Cni::None {
                steps.push(Step {
                    id: "install-cni",
                    action: Action::InstallCni {
                        cni: cluster.network.cni.value.as_str().to_owned(),
                        pods: cluster.network.pods.value.to_string(),
                    },
                    waits_for: vec![wait(
                        Condition::ApiReady {
                            url: format!("https://{}:{API_SERVER_PORT}/readyz", url_host(cp)),
                        },
                        API_READY_TIMEOUT_SECONDS,
                    )],
                });
            }
            hosts.push((
                frame(
                    cp,
                    PlanRole::InitControlPlane,
                    control_plane_packages.clone(),
                    steps,
                ),
                cp,
            ));
        } else {
            let ahead = u32::try_from(index - 1).unwrap_or(u32::MAX);
            let bound = API_READY_TIMEOUT_SECONDS
                .saturating_add(CONTROL_PLANE_JOIN_SECONDS.saturating_mul(ahead));
            steps.push(Step {
                id: "kubeadm-join",
                action: Action::KubeadmJoin {
                    control_plane: true,
                },
                waits_for: vec![
                    wait(
                        Condition::ApiReady {
                            url: readyz.clone(),
                        },
                        bound,
                    ),
                    token_accepted(&endpoint, cp, bound),
                    wait(control_plane_turn(cluster, index), bound),
                ],
            });
            hosts.push((
                frame(
                    cp,
                    PlanRole::ControlPlane,
                    control_plane_packages.clone(),
                    steps,
                ),
                cp,
            ));
        }
    }
    for worker in &cluster.workers {
        let steps = vec![Step {
            id: "kubeadm-join",
            action: Action::KubeadmJoin {
                control_plane: false,
            },
            waits_for: vec![
                wait(
                    Condition::ApiReady {
                        url: readyz.clone(),
                    },
                    WORKER_API_TIMEOUT_SECONDS,
                ),
                token_accepted(&endpoint, worker, WORKER_API_TIMEOUT_SECONDS),
            ],
        }];
        hosts.push((
            frame(worker, PlanRole::Worker, kubernetes_packages.clone(), steps),
            worker,
        ));
    }

    let edges = edges(&hosts.iter().map(|(h, _)| h).collect::<Vec<_>>(), &context);
    let mut hosts: Vec<HostPlan> = hosts.into_iter().map(|(h, _)| h).collect();
    assign_stages(&mut hosts, &edges);
    // Stable sort: within a stage, declaration order (load balancers, etcd, control planes, workers).
    hosts.sort_by_key(|h| h.stage);
    let downloads = plan_downloads(cluster, &hosts);
    BootPlan {
        cluster: cluster.name.value.clone(),
        kubernetes: version,
        endpoint,
        hosts,
        edges,
        downloads,
    }
}

/// The release files of the cluster, each with the hosts whose step fetches it: the
/// containerd tarball where `install-packages` installs containerd, the CNI's files
/// on the host that installs the CNI.
fn plan_downloads(cluster: &Cluster, hosts: &[HostPlan]) -> Vec<Download> {
    download::artefacts(cluster)
        .into_iter()
        .flat_map(|(artefact, step)| {
            let fetching: Vec<String> = hosts
                .iter()
                .filter(|host| {
                    host.steps.iter().any(|s| {
                        s.id == step
                            && match &s.action {
                                Action::InstallPackages { packages } => {
                                    packages.iter().any(|p| p == "containerd")
                                }
                                _ => true,
                            }
                    })
                })
                .map(|host| host.name.clone())
                .collect();
            download::downloads(cluster, artefact, step, fetching)
        })
        .filter(|d| !d.hosts.is_empty())
        .collect()
}

fn reason(condition: &Condition) -> &'static str {
    match condition {
        Condition::TcpAccepts { .. } => "endpoint accepts TCP",
        Condition::EtcdHealthy { .. } => "etcd quorum",
        Condition::ApiReady { .. } => "API ready",
        Condition::TokenAccepted { .. } => "token accepted",
        Condition::ControlPlaneTurn { .. } => "control plane turn",
    }
}

/// One edge per (provider, waiter) pair, reasons merged, in host order.
fn edges(hosts: &[&HostPlan], context: &Context) -> Vec<Edge> {
    let mut merged: BTreeMap<(usize, usize), Vec<&'static str>> = BTreeMap::new();
    let index = |name: &str| hosts.iter().position(|h| h.name == name);
    for (to, host) in hosts.iter().enumerate() {
        for step in &host.steps {
            for wait in &step.waits_for {
                for provider in wait.condition.providers(context) {
                    let Some(from) = index(&provider) else {
                        continue;
                    };
                    // A host never waits on itself in the graph (colocated haproxy, local API).
                    // Members that form quorum together start together: no order among them.
                    let peers = hosts[from].roles.contains(&PlanRole::EtcdMember)
                        && host.roles.contains(&PlanRole::EtcdMember);
                    if from == to || peers {
                        continue;
                    }
                    let reasons = merged.entry((from, to)).or_default();
                    if !reasons.contains(&reason(&wait.condition)) {
                        reasons.push(reason(&wait.condition));
                    }
                }
            }
        }
    }
    merged
        .into_iter()
        .map(|((from, to), reasons)| Edge {
            from: hosts[from].name.clone(),
            to: hosts[to].name.clone(),
            reason: reasons.join(", "),
        })
        .collect()
}

/// Longest-path depth of every host; the graph is acyclic by construction (edges go
/// from load balancers and etcd to control planes in order, then to workers).
fn assign_stages(hosts: &mut [HostPlan], edges: &[Edge]) {
    // Each edge's ends as positions (the first host of that name), found once: a
    // search per edge and pass made thousands of workers quadratic.
    let mut positions: HashMap<&str, usize> = HashMap::with_capacity(hosts.len());
    for (position, host) in hosts.iter().enumerate() {
        positions.entry(host.name.as_str()).or_insert(position);
    }
    let ends: Vec<(Option<usize>, Option<usize>)> = edges
        .iter()
        .map(|edge| {
            (
                positions.get(edge.from.as_str()).copied(),
                positions.get(edge.to.as_str()).copied(),
            )
        })
        .collect();
    drop(positions);
    for _ in 0..hosts.len() {
        let mut changed = false;
        for &(from, to) in &ends {
            let from = from.map_or(0, |from| hosts[from].stage);
            if let Some(to) = to.map(|to| &mut hosts[to])
                && to.stage < from + 1
            {
                to.stage = from + 1;
                changed = true;
            }
        }
        if !changed {
            break;
        }
    }
}
