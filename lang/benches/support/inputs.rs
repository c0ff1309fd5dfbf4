//! The generated programs the benchmarks run on, built deterministically so runs are
//! comparable. Shared by `parse_eval` and the compiler's `versus_nix` benchmark.

/// A cluster of `hosts` machines made with `genList`, with roles, addresses,
/// per-zone grouping and overrides.
fn cluster(hosts: usize) -> String {
    format!(
        r#"let
  zones = [ "a" "b" "c" ];
  defaults = {{ cpu = 4; memoryGiB = 16; disk = {{ size = 100; type = "ssd"; }}; }};
  overrides = {{ host-7 = {{ cpu = 32; }}; host-42 = {{ memoryGiB = 256; }}; }};
  mkHost = i: let name = "host-${{toString i}}"; in defaults // {{
    inherit name;
    role = if i < 3 then "control" else "worker";
    zone = builtins.elemAt zones (i - builtins.div i 3 * 3);
    address = "10.${{toString (builtins.div i 65536)}}.${{toString (builtins.div i 256 - builtins.div i 65536 * 256)}}.${{toString (i - builtins.div i 256 * 256)}}";
    labels = {{ "topology.kubernetes.io/zone" = "zone-${{toString i}}"; }};
  }} // (overrides.${{name}} or {{ }});
  hosts = builtins.genList mkHost {hosts};
in
{{
  hosts = builtins.listToAttrs (map (h: {{ name = h.name; value = h; }}) hosts);
  byZone = builtins.mapAttrs (zone: hs: map (h: h.name) hs) (builtins.groupBy (h: h.zone) hosts);
  totalCpu = builtins.foldl' (sum: h: sum + h.cpu) 0 hosts;
  workers = builtins.length (builtins.filter (h: h.role == "worker") hosts);
}}
"#
    )
}

/// One attribute per line: nested keys, strings, lists and arithmetic.
fn flat_attrs(lines: usize) -> String {
    let mut text = String::from("{\n");
    for i in 0..lines {
        match i % 4 {
            0 => text.push_str(&format!("  key{i} = {i};\n")),
            1 => text.push_str(&format!("  nested{i}.value = \"line {i}\";\n")),
            2 => text.push_str(&format!("  list{i} = [ {i} {} \"x\" ];\n", i + 1)),
            _ => text.push_str(&format!("  sum{i} = {i} * 2 + 1;\n")),
        }
    }
    text.push_str("}\n");
    text
}

/// A chain of `let` bindings, each depending on the one before, plus nested lets.
fn let_chain(length: usize) -> String {
    let mut text = String::from("let\n  v0 = 1;\n");
    for i in 1..length {
        text.push_str(&format!("  v{i} = v{} + {i};\n", i - 1));
    }
    text.push_str("in\n");
    for i in 0..100 {
        text.push_str(&format!("let n{i} = {i}; in "));
    }
    text.push_str(&format!("v{} + n99\n", length - 1));
    text
}

/// Many interpolations building one large text.
fn interpolation(lines: usize) -> String {
    format!(
        r#"let
  render = i: "server-${{toString i}}.example.com:${{toString (8000 + i)}} weight=${{toString (i * 3)}} tag=${{if i < 10 then "low" else "high"}}";
  block = i: ''
    upstream u${{toString i}} {{
      ${{render i}}
    }}
  '';
in
builtins.concatStringsSep "\n" (builtins.genList block {lines})
"#
    )
}

pub fn inputs() -> Vec<(&'static str, String)> {
    vec![
        ("cluster_1000_hosts", cluster(1000)),
        ("attrs_1000_lines", flat_attrs(1000)),
        ("let_chain_1000", let_chain(1000)),
        ("interpolation_1000", interpolation(1000)),
    ]
}
