//! `hac init`: a commented cluster description to start from, one per topology.
//! The templates are ordinary `.hac` files beside this module; tests check that
//! each passes `hac check` without a warning and is formatted.

use std::io::Write;
use std::path::Path;

use clap::ValueEnum;

/// How the cluster is laid out: where etcd runs and what balances the API.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Topology {
    /// etcd on the three control planes; haproxy and keepalived on two hosts of their own
    Stacked,
    /// etcd on three hosts of its own; haproxy and keepalived on two more
    ExternalEtcd,
    /// Three machines: haproxy and keepalived on the control planes themselves
    Colocated,
    /// Behind a cloud provider's load balancer: no haproxy, no keepalived
    CloudLb,
}

impl Topology {
    pub const ALL: [Topology; 4] = [
        Topology::Stacked,
        Topology::ExternalEtcd,
        Topology::Colocated,
        Topology::CloudLb,
    ];

    /// The starting file's text.
    pub fn template(self) -> &'static str {
        match self {
            Topology::Stacked => include_str!("init/stacked.hac"),
            Topology::ExternalEtcd => include_str!("init/external-etcd.hac"),
            Topology::Colocated => include_str!("init/colocated.hac"),
            Topology::CloudLb => include_str!("init/cloud-lb.hac"),
        }
    }

    /// The `--topology` value.
    pub fn name(self) -> &'static str {
        match self {
            Topology::Stacked => "stacked",
            Topology::ExternalEtcd => "external-etcd",
            Topology::Colocated => "colocated",
            Topology::CloudLb => "cloud-lb",
        }
    }
}

/// Writes `topology`'s template to a new file at `path`; an existing file (or link)
/// is never replaced.
pub fn write_new(path: &Path, topology: Topology) -> std::io::Result<()> {
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(path)?;
    file.write_all(topology.template().as_bytes())?;
    file.sync_all()
}
