//! Where a place in the file sits in the cluster schema: which attribute set of
//! [`crate::model::schema`] an attribute set describes, and the values an attribute
//! takes when they are a fixed list.

use crate::model::schema::{self, Attribute};
use crate::model::{AuditLevel, Cni, Os};

use super::syntax::Segment;

/// What an attribute holds, as far as navigation is concerned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Shape {
    Set(&'static str),
    ListOf(&'static str),
    Leaf,
}

/// Attributes whose value is (or contains) another schema set.
fn child(set: &str, name: &str) -> Shape {
    match (set, name) {
        ("cluster", "network") => Shape::Set("network"),
        ("cluster", "etcd") => Shape::Set("etcd"),
        ("cluster", "loadbalancer") => Shape::Set("loadbalancer"),
        ("cluster", "controlplanes" | "workers")
        | ("etcd", "external")
        | ("loadbalancer", "hosts") => Shape::ListOf("host"),
        ("cluster" | "host", "files") => Shape::ListOf("file"),
        ("cluster" | "host", "commands") => Shape::Set("commands"),
        ("cluster" | "host", "kubelet") => Shape::Set("kubelet"),
        ("cluster", "ssh") => Shape::Set("ssh"),
        ("cluster", "bootstrap") => Shape::Set("bootstrap"),
        ("cluster", "containerd") => Shape::Set("containerd"),
        ("cluster", "packages") => Shape::Set("packages"),
        ("cluster", "controlplane") => Shape::Set("controlplane"),
        ("controlplane", "apiserver") => Shape::Set("apiserver"),
        ("controlplane", "controllermanager") => Shape::Set("controllermanager"),
        ("controlplane", "scheduler") => Shape::Set("scheduler"),
        ("controlplane", "audit") => Shape::Set("audit"),
        ("audit", "rules") => Shape::ListOf("auditrule"),
        ("auditrule", "resources") => Shape::ListOf("auditresources"),
        _ => Shape::Leaf,
    }
}

/// The schema set (an id of [`schema::SETS`]) that the attribute set at `path`
/// describes.
pub fn set_at(path: &[Segment]) -> Option<&'static str> {
    let mut shape = Shape::Set("cluster");
    for segment in path {
        shape = match (shape, segment) {
            (Shape::Set(set), Segment::Attr(name)) => {
                schema::lookup(set, name)?;
                child(set, name)
            }
            (Shape::ListOf(set), Segment::Item) => Shape::Set(set),
            _ => return None,
        };
    }
    match shape {
        Shape::Set(set) => Some(set),
        _ => None,
    }
}

/// The schema attribute at `path` (its last segment is the attribute's name).
pub fn attribute_at(path: &[Segment]) -> Option<&'static Attribute> {
    let (Segment::Attr(name), parent) = path.split_last()? else {
        return None;
    };
    schema::lookup(set_at(parent)?, name)
}

/// The values a string attribute may take, when they are a fixed list.
pub fn enum_values(attribute: &Attribute) -> Option<Vec<&'static str>> {
    match (attribute.set, attribute.name) {
        ("network", "cni") => Some(Cni::ALL.map(Cni::as_str).to_vec()),
        ("cluster", "os") => Some(Os::ALL.map(Os::as_str).to_vec()),
        ("cluster", "etcd") => Some(vec!["stacked"]),
        ("cluster", "loadbalancer") => Some(vec!["external", "none"]),
        ("audit" | "auditrule", "level") => Some(AuditLevel::ALL.map(AuditLevel::as_str).to_vec()),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn attr(name: &str) -> Segment {
        Segment::Attr(name.to_owned())
    }

    #[test]
    fn navigates_sets_and_lists() {
        assert_eq!(set_at(&[]), Some("cluster"));
        assert_eq!(set_at(&[attr("network")]), Some("network"));
        assert_eq!(
            set_at(&[attr("controlplanes"), Segment::Item]),
            Some("host")
        );
        assert_eq!(
            set_at(&[
                attr("etcd"),
                attr("external"),
                Segment::Item,
                attr("files"),
                Segment::Item
            ]),
            Some("file")
        );
        assert_eq!(set_at(&[attr("netwrk")]), None);
        assert_eq!(set_at(&[attr("name")]), None);
        assert_eq!(
            attribute_at(&[attr("network"), attr("cni")]).map(|a| a.name),
            Some("cni")
        );
    }
}
