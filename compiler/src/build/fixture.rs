//! What a build step needs in tests: a checked cluster, its plan and a fresh secrets
//! bundle made for it (etcd members' certificates included), from JSON that stands
//! for an evaluated `.hac` file.

use serde_json::Value;

use crate::model::testing::value;
use crate::model::{Cluster, check_cluster};
use crate::plan::{BootPlan, plan};
use crate::secrets::{Bundle, reconcile};

use super::Context;

/// The build time of every test build: 2026-11-29T00:53:20Z (in join-token window 2969).
pub fn build_time() -> time::OffsetDateTime {
    time::OffsetDateTime::from_unix_timestamp(1_795_913_600).expect("a valid time")
}

pub struct Fixture {
    pub cluster: Cluster,
    pub plan: BootPlan,
    pub bundle: Bundle,
}

impl Fixture {
    pub fn new(json: Value) -> Fixture {
        let (cluster, diagnostics) = check_cluster(&value(json));
        let cluster = cluster.unwrap_or_else(|| panic!("invalid test cluster: {diagnostics:#?}"));
        let spec = crate::cli::secrets_spec(&cluster, None);
        let (bundle, _) = reconcile(None, &spec).expect("a secrets bundle");
        let plan = plan(&cluster);
        Fixture {
            cluster,
            plan,
            bundle,
        }
    }

    pub fn context(&self) -> Context<'_> {
        Context {
            cluster: &self.cluster,
            plan: &self.plan,
            secrets: &self.bundle,
            built_at: build_time(),
        }
    }
}
