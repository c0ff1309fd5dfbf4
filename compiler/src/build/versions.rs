//! Every third-party release the hosts download at boot, pinned in one place.
//!
//! To update one: pick the release on its project's release page
//! (github.com/flannel-io/flannel/releases, github.com/projectcalico/calico/releases,
//! github.com/cilium/cilium/releases with github.com/cilium/cilium-cli/releases,
//! github.com/containerd/containerd/releases), check that it supports the Kubernetes
//! minors hac knows (`model::version::KNOWN_MINORS`), change the constant here, run
//! the tests (they check the URLs built from these) and boot a test cluster with it.
//! Kubernetes itself is not pinned here: the cluster names its exact version.

/// flannel: the release's `kube-flannel.yml`.
pub const FLANNEL: &str = "v0.27.4";
/// Calico: the Tigera operator and its CRDs from the release's `manifests/`.
pub const CALICO: &str = "v3.30.3";
/// Cilium, installed by the cilium CLI of [`CILIUM_CLI`].
pub const CILIUM: &str = "1.18.2";
pub const CILIUM_CLI: &str = "v0.18.7";
/// containerd 2, only where the OS packages 1.x and the Kubernetes release needs 2.x.
pub const CONTAINERD: &str = "2.1.4";
