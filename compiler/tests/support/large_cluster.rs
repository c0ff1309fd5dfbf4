//! A valid cluster description of about 1,000 lines, written the way people write
//! them (hosts spelled out, with labels and taints), for editor-latency measurements.

/// The text, `lines` lines long or a little more.
pub fn large_cluster(lines: usize) -> String {
    let mut out = String::from(
        r#"# A large cluster: every worker written out.
let
  host = name: octet: {
    inherit name;
    address = "10.0.0.${toString octet}";
  };
in
{
  name = "large";
  kubernetes = "1.36.1";
  os = "ubuntu-24.04";
  endpoint = "api.large.example.com:6443";
  network = {
    cni = "calico";
    pods = "10.128.0.0/9";
    services = "10.96.0.0/12";
    resolveEndpoint = "hosts";
  };
  loadbalancer = {
    hosts = [ (host "lb1" 5) (host "lb2" 6) ];
    vip = "10.0.0.100";
  };
  controlplanes = [ (host "cp1" 11) (host "cp2" 12) (host "cp3" 13) ];
  workers = [
"#,
    );
    let mut index = 0;
    while out.lines().count() + 3 < lines {
        index += 1;
        out.push_str(&format!(
            r#"    {{
      name = "worker{index}";
      address = "10.1.{}.{}";
      labels = {{ "node.kubernetes.io/pool" = "pool{}"; }};
      taints = [ "dedicated=pool{}:NoSchedule" ];
    }}
"#,
            index / 250,
            index % 250 + 1,
            index % 4,
            index % 4,
        ));
    }
    out.push_str(
        "  ];\n  versions.calico.unverified = true; # hac: allow unverified_download_allowed\n}\n",
    );
    out
}
