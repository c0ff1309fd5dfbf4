//! haproxy and keepalived on load-balancer hosts (dedicated or colocated).
//!
//! The configurations travel in `write_files`; the steps check them with the
//! installed programs before anything is (re)started, so a broken file fails the
//! step that wrote it, with the program's own message in the log.
//!
//! keepalived runs two checks against haproxy's local monitor endpoint (see
//! [`keepalived`]): whether haproxy answers at all (200 or 503), and whether it
//! sees a healthy API server (200). Both only lower the priority, so someone always
//! holds the address, and a host that is merely blind (haproxy up, every API server
//! down) outranks one whose haproxy is dead. That matters while the cluster boots:
//! a colocated first control plane reaches its own API only through the virtual
//! IP while `kubeadm init` runs, when every haproxy still answers 503.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use sha2::{Digest, Sha256};

use crate::emit::shell::{command, quote};
use crate::emit::{SpecError, haproxy, keepalived};
use crate::model::Host;
use crate::plan::{Action, Backend, HostPlan};

use super::{Context, HostFile, Rendered, paths};

/// haproxy's local monitor endpoint (HTTP, loopback only).
const MONITOR_PORT: u16 = 8404;
/// Seconds the start step waits for haproxy's frontend to accept connections.
const FRONTEND_TIMEOUT_SECONDS: u32 = 120;
const FRONTEND_POLL_SECONDS: u32 = 2;

pub fn configure_haproxy(
    _context: &Context<'_>,
    host: &Host,
    port: u16,
    backends: &[Backend],
) -> Result<Rendered, SpecError> {
    let spec = haproxy_spec(host, port, backends)?;
    let config = haproxy::config(&spec)?;
    let file = quote(paths::HAPROXY_CONFIG)?;
    Ok(Rendered::new(
        vec![HostFile::public(paths::HAPROXY_CONFIG, config)],
        vec![format!("haproxy -c -f {file}")],
    ))
}

fn haproxy_spec(
    host: &Host,
    port: u16,
    backends: &[Backend],
) -> Result<haproxy::HaproxySpec, SpecError> {
    let any = if host_ip(host).is_some_and(|ip| ip.is_ipv6()) {
        IpAddr::V6(Ipv6Addr::UNSPECIFIED)
    } else {
        IpAddr::V4(Ipv4Addr::UNSPECIFIED)
    };
    let backends = backends
        .iter()
        .map(|backend| {
            let (address, server_port) = ip_and_port(&backend.address).ok_or_else(|| {
                SpecError::new(format!(
                    "haproxy needs the IP address of control plane `{}`, not `{}`",
                    backend.name, backend.address
                ))
                .with_help("give every control plane an IP `address`: haproxy must not depend on DNS at start")
            })?;
            Ok(haproxy::HaproxyBackend {
                name: backend.name.clone(),
                address,
                port: server_port,
            })
        })
        .collect::<Result<Vec<_>, SpecError>>()?;
    Ok(haproxy::HaproxySpec {
        frontend_bind: SocketAddr::new(any, port),
        backends,
        health_bind: SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), MONITOR_PORT),
    })
}

pub fn configure_keepalived(
    context: &Context<'_>,
    host: &Host,
    vip: &str,
    priority: u8,
    check_weight: u8,
    peers: &[String],
    interface: Option<&str>,
) -> Result<Rendered, SpecError> {
    let vip: IpAddr = vip
        .parse()
        .map_err(|_| SpecError::new(format!("the virtual IP `{vip}` is not an IP address")))?;
    let source = host_ip(host).ok_or_else(|| {
        SpecError::new(format!(
            "keepalived on `{}` needs the host's IP address",
            host.name.value
        ))
        .with_help(
            "give every load balancer an IP `address`: VRRP adverts go to the peers' addresses",
        )
    })?;
    let peers = peers
        .iter()
        .map(|peer| {
            parse_ip(peer).ok_or_else(|| {
                SpecError::new(format!("the VRRP peer `{peer}` is not an IP address"))
                    .with_help("give every load balancer an IP `address`")
            })
        })
        .collect::<Result<Vec<_>, SpecError>>()?;
    let health_url = format!("http://127.0.0.1:{MONITOR_PORT}{}", haproxy::HEALTH_PATH);
    let spec = keepalived::KeepalivedSpec {
        vip,
        vip_prefix: if vip.is_ipv4() { 32 } else { 128 },
        virtual_router_id: virtual_router_id(context),
        auth_pass: vrrp_password(context),
        priority,
        check_weight,
        source,
        peers,
        interface: interface.map(str::to_owned),
        check_script: paths::KEEPALIVED_CHECK_SCRIPT.to_owned(),
    };
    let config = keepalived::config_with_interface_file(&spec, keepalived::INTERFACE_FILE)?;
    // A given interface is written into the configuration; only without one does
    // the host look for the interface carrying its address.
    let mut body = if interface.is_some() {
        Vec::new()
    } else {
        keepalived::interface_discovery(source, keepalived::INTERFACE_FILE)?
    };
    body.push(command(&[
        "keepalived",
        "-t",
        "-f",
        paths::KEEPALIVED_CONFIG,
    ])?);
    Ok(Rendered::new(
        vec![
            HostFile::public(paths::KEEPALIVED_CONFIG, config),
            HostFile::executable(
                paths::KEEPALIVED_CHECK_SCRIPT,
                keepalived::check_script(&health_url)?,
            ),
        ],
        body,
    ))
}

/// The same on every peer, and different for clusters with different names.
fn virtual_router_id(context: &Context<'_>) -> u8 {
    let digest = Sha256::digest(format!("hac-vrrp-id:{}", context.plan.cluster));
    digest[0] % 254 + 1
}

/// VRRP's `PASS` travels in clear text in every advert, so it only keeps clusters
/// on one network apart; it is derived from public facts (the cluster's name and
/// CA certificate), never from a secret.
fn vrrp_password(context: &Context<'_>) -> String {
    let digest = Sha256::digest(format!(
        "hac-vrrp-pass:{}:{}",
        context.plan.cluster,
        context.secrets.cluster_ca().certificate_pem()
    ));
    digest[..4].iter().map(|b| format!("{b:02x}")).collect()
}

/// Enables and restarts haproxy (and keepalived), then waits until haproxy's
/// frontend accepts connections on this host.
pub fn start(
    _context: &Context<'_>,
    host: &Host,
    plan_host: &HostPlan,
    keepalived: bool,
) -> Result<Rendered, SpecError> {
    let port = plan_host
        .steps
        .iter()
        .find_map(|step| match step.action {
            Action::ConfigureHaproxy { port, .. } => Some(port),
            _ => None,
        })
        .ok_or_else(|| {
            SpecError::new(format!(
                "`{}` starts a load balancer it never configured",
                host.name.value
            ))
        })?;
    let mut body = vec![
        "systemctl enable haproxy".to_owned(),
        "systemctl restart haproxy".to_owned(),
    ];
    if keepalived {
        body.push("systemctl enable keepalived".to_owned());
        body.push("systemctl restart keepalived".to_owned());
    }
    let local = if host_ip(host).is_some_and(|ip| ip.is_ipv6()) {
        "::1"
    } else {
        "127.0.0.1"
    };
    body.push(format!(
        "wait_until {} {FRONTEND_TIMEOUT_SECONDS} {FRONTEND_POLL_SECONDS} hac_tcp_accepts {} {port}",
        quote(&format!("haproxy to accept connections on port {port}"))?,
        quote(local)?,
    ));
    Ok(Rendered::new(Vec::new(), body))
}

fn host_ip(host: &Host) -> Option<IpAddr> {
    host.address.as_ref().and_then(|a| a.value.ip())
}

/// `1.2.3.4` or `[fd00::1]` (the plan's URL form) → the address.
fn parse_ip(text: &str) -> Option<IpAddr> {
    let bare = text
        .strip_prefix('[')
        .and_then(|t| t.strip_suffix(']'))
        .unwrap_or(text);
    bare.parse().ok()
}

/// `1.2.3.4:6443` or `[fd00::1]:6443` → (address, port).
fn ip_and_port(text: &str) -> Option<(IpAddr, u16)> {
    let (host, port) = text.rsplit_once(':')?;
    Some((parse_ip(host)?, port.parse().ok()?))
}

#[cfg(test)]
mod tests;
