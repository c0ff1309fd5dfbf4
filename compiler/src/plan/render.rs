//! The boot plan for people (text), tools (JSON) and pictures (Graphviz DOT, Mermaid).

use std::fmt::Write;

use super::{Action, BootPlan, Condition, HostPlan, PlanRole, Step, Wait};

/// Hosts in boot order, each with its roles, steps, and what each step waits for.
pub fn text(plan: &BootPlan) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "Boot plan for cluster `{}`: Kubernetes {}, endpoint {}",
        plan.cluster, plan.kubernetes, plan.endpoint
    );
    let mut stage = None;
    for host in &plan.hosts {
        if stage != Some(host.stage) {
            stage = Some(host.stage);
            let _ = writeln!(
                out,
                "\nStage {}{}",
                host.stage,
                if host.stage == 0 {
                    " (waits for no other host)"
                } else {
                    ""
                }
            );
        }
        let address = host
            .address
            .as_deref()
            .map(|a| format!(" ({a})"))
            .unwrap_or_default();
        let _ = writeln!(out, "  {}{address}: {}", host.name, roles(host));
        for (number, step) in host.steps.iter().enumerate() {
            let _ = writeln!(out, "    {}. {}", number + 1, describe_step(step));
            for wait in &step.waits_for {
                let _ = writeln!(out, "       waits until {}", describe_wait(wait));
            }
        }
    }
    if !plan.edges.is_empty() {
        let _ = writeln!(out, "\nOrder");
        for edge in &plan.edges {
            let _ = writeln!(out, "  {} -> {}: {}", edge.from, edge.to, edge.reason);
        }
    }
    out
}

/// The plan as pretty-printed JSON.
pub fn json(plan: &BootPlan) -> String {
    let mut out =
        serde_json::to_string_pretty(plan).expect("the plan has only strings, numbers and lists");
    out.push('\n');
    out
}

/// The boot-order graph for Graphviz (`dot -Tsvg`).
pub fn dot(plan: &BootPlan) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "digraph boot {{");
    let _ = writeln!(
        out,
        "  label=\"{}\";",
        dot_escape(&format!("boot order of {}", plan.cluster))
    );
    let _ = writeln!(out, "  rankdir=LR;");
    let _ = writeln!(out, "  node [shape=box, style=rounded];");
    for host in &plan.hosts {
        let _ = writeln!(
            out,
            "  \"{}\" [label=\"{}\\n{}\"];",
            dot_escape(&host.name),
            dot_escape(&host.name),
            dot_escape(&roles(host))
        );
    }
    for edge in &plan.edges {
        let _ = writeln!(
            out,
            "  \"{}\" -> \"{}\" [label=\"{}\"];",
            dot_escape(&edge.from),
            dot_escape(&edge.to),
            dot_escape(&edge.reason)
        );
    }
    let _ = writeln!(out, "}}");
    out
}

/// The boot-order graph as a Mermaid `flowchart`.
pub fn mermaid(plan: &BootPlan) -> String {
    let mut out = String::from("flowchart LR\n");
    for host in &plan.hosts {
        let _ = writeln!(
            out,
            "  {}[\"{}<br/>{}\"]",
            mermaid_id(&host.name),
            mermaid_text(&host.name),
            mermaid_text(&roles(host))
        );
    }
    for edge in &plan.edges {
        let _ = writeln!(
            out,
            "  {} -->|{}| {}",
            mermaid_id(&edge.from),
            mermaid_text(&edge.reason),
            mermaid_id(&edge.to)
        );
    }
    out
}

fn roles(host: &HostPlan) -> String {
    host.roles
        .iter()
        .map(|r: &PlanRole| r.as_str())
        .collect::<Vec<_>>()
        .join(" + ")
}

fn describe_step(step: &Step) -> String {
    match &step.action {
        Action::WriteFiles { paths } => format!("write files: {}", paths.join(", ")),
        Action::InstallPackages { packages } => {
            format!("install packages: {}", packages.join(", "))
        }
        Action::PinSandboxImage {
            kubernetes,
            image_repository,
        } => format!(
            "pin containerd's sandbox image to kubeadm {kubernetes}'s pause image from {}",
            image_repository.as_deref().unwrap_or("registry.k8s.io")
        ),
        Action::RunCommands { commands } => {
            let when = if step.id == "commands-after" {
                "after"
            } else {
                "before"
            };
            format!(
                "run {} `commands.{when}` command{}",
                commands.len(),
                if commands.len() == 1 { "" } else { "s" }
            )
        }
        Action::ConfigureHaproxy { port, backends } => format!(
            "configure haproxy on port {port} for {}",
            backends
                .iter()
                .map(|b| format!("{} ({})", b.name, b.address))
                .collect::<Vec<_>>()
                .join(", ")
        ),
        Action::ConfigureKeepalived {
            vip,
            priority,
            check_weight,
            peers,
            interface,
        } => {
            let peers = if peers.is_empty() {
                "no peers".to_owned()
            } else {
                format!("peers {}", peers.join(", "))
            };
            let interface = match interface {
                Some(name) => format!("interface {name}"),
                None => "interface found at boot".to_owned(),
            };
            format!(
                "configure keepalived for VIP {vip} (priority {priority}, -{check_weight} per failing check, {peers}, {interface})"
            )
        }
        Action::StartLoadBalancer { keepalived } => {
            if *keepalived {
                "start haproxy and keepalived".to_owned()
            } else {
                "start haproxy".to_owned()
            }
        }
        Action::StartEtcd {
            member,
            initial_cluster,
        } => format!(
            "start etcd member {member} (initial cluster {})",
            initial_cluster.join(",")
        ),
        Action::ConfirmEtcdQuorum => "confirm etcd quorum".to_owned(),
        Action::KubeadmInit { upload_certs } => {
            if *upload_certs {
                "kubeadm init --upload-certs".to_owned()
            } else {
                "kubeadm init".to_owned()
            }
        }
        Action::InstallCni { cni, pods } => format!("install {cni} for pods {pods}"),
        Action::KubeadmJoin { control_plane } => {
            if *control_plane {
                "kubeadm join as control plane".to_owned()
            } else {
                "kubeadm join as worker".to_owned()
            }
        }
    }
}

fn describe_wait(wait: &Wait) -> String {
    let what = match &wait.condition {
        Condition::TcpAccepts { address } => format!("{address} accepts TCP connections"),
        Condition::EtcdHealthy { endpoints, quorum } => format!(
            "etcd has quorum: {quorum} of {} members healthy ({})",
            endpoints.len(),
            endpoints.join(", ")
        ),
        Condition::ApiReady { url } => format!("{url} answers 200"),
        Condition::TokenAccepted {
            endpoint,
            host,
            refused_for_seconds,
        } => format!(
            "https://{endpoint} accepts {host}'s bootstrap token (refused for {}: needs a person)",
            duration(*refused_for_seconds)
        ),
        Condition::ControlPlaneTurn {
            peers,
            pass_after_seconds,
            ..
        } => {
            let earlier: Vec<&str> = peers
                .iter()
                .filter(|p| p.earlier)
                .map(|p| p.host.as_str())
                .collect();
            format!(
                "its turn: every registered control plane serving, none mid-join, earlier ones ({}) registered or passed after {}",
                earlier.join(", "),
                duration(*pass_after_seconds)
            )
        }
    };
    format!(
        "{what} (polled every {} at first, normally within {}, then keeps waiting)",
        duration(wait.interval_seconds),
        duration(wait.timeout_seconds)
    )
}

fn duration(seconds: u32) -> String {
    match (seconds / 60, seconds % 60) {
        (0, s) => format!("{s}s"),
        (m, 0) => format!("{m}m"),
        (m, s) => format!("{m}m{s}s"),
    }
}

fn dot_escape(text: &str) -> String {
    text.replace('\\', "\\\\").replace('"', "\\\"")
}

/// Host names are DNS labels; the prefix keeps Mermaid keywords (`end`, `graph`) from
/// being read as syntax, and `_` (absent from labels) replaces `-`.
fn mermaid_id(name: &str) -> String {
    format!("h_{}", name.replace('-', "_"))
}

fn mermaid_text(text: &str) -> String {
    text.replace('"', "#quot;").replace('|', "#124;")
}
