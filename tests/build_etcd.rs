//! The external etcd members' generated files read back as cloud-init and the
//! kubelet read them: each member's static pod manifest and standalone kubelet
//! configuration, taken from its user-data with PyYAML, are exactly the documents
//! hac meant (no string turned into a number or a boolean, nothing lost).

#[path = "build_common.rs"]
mod build_common;
#[path = "emit_common.rs"]
mod emit_common;

use emit_common::pyyaml_load;
use hac::plan::Action;

const MANIFEST: &str = "/etc/kubernetes/manifests/etcd.yaml";
const KUBELET_CONFIG: &str = "/etc/hac/etcd-kubelet.yaml";

#[test]
fn every_members_manifest_and_kubelet_configuration_read_back_as_meant() {
    let mut checked = 0;
    for example in ["external-etcd", "loopback-external-etcd"] {
        let path = hac_tests::repo_root()
            .join("examples")
            .join(format!("{example}.hac"));
        let (cluster, plan) = build_common::cluster_and_plan(&path);
        let bundle = build_common::fixture_bundle(example);
        let context = hac::build::Context {
            cluster: &cluster,
            plan: &plan,
            secrets: &bundle,
            built_at: hac_tests::build_time(),
        };
        let outputs = hac::build::build(&context).expect("the example builds");
        for plan_host in &plan.hosts {
            let Some((member, initial_cluster)) =
                plan_host.steps.iter().find_map(|step| match &step.action {
                    Action::StartEtcd {
                        member,
                        initial_cluster,
                    } => Some((member, initial_cluster)),
                    _ => None,
                })
            else {
                continue;
            };
            let host = context.host(&plan_host.name).unwrap();
            let expected_manifest =
                hac::build::etcd::static_pod_manifest(&context, host, member, initial_cluster)
                    .unwrap();
            let output = outputs.iter().find(|o| o.name == plan_host.name).unwrap();
            let user_data = &pyyaml_load(std::slice::from_ref(&output.user_data))[0];
            let content = |path: &str| -> String {
                user_data["write_files"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .find(|f| f["path"] == path)
                    .unwrap_or_else(|| panic!("{example}/{}: no {path}", plan_host.name))["content"]
                    .as_str()
                    .unwrap()
                    .to_owned()
            };
            let read = pyyaml_load(&[content(MANIFEST), content(KUBELET_CONFIG)]);
            assert_eq!(
                read[0], expected_manifest,
                "{example}/{}: the manifest reads back differently",
                plan_host.name
            );
            assert_eq!(
                read[1],
                hac::build::etcd::kubelet_configuration(),
                "{example}/{}: the kubelet configuration reads back differently",
                plan_host.name
            );
            let problems = hac::emit::validate::kubeadm(
                "KubeletConfiguration",
                "kubelet.config.k8s.io/v1beta1",
                &read[1],
            );
            assert!(problems.is_empty(), "{problems:#?}");
            checked += 1;
        }
    }
    assert_eq!(checked, 6, "three members in each of the two examples");
}
