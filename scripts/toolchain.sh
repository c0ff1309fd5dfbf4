# shellcheck shell=bash
# Sourced by scripts/test and scripts/hac: finds a cargo recent enough for the
# workspace's rust-version, and for the tests rustfmt and clippy beside it. It never
# downloads a toolchain: the machines hac is built on may reach only the package
# registries, so a missing or old Rust is reported with what to install instead.

hac_required_rust=$(sed -n 's/^rust-version = "\(.*\)"$/\1/p' "$(dirname "${BASH_SOURCE[0]}")/../Cargo.toml")

hac_rust_is_recent() {
  local version
  version=$(cargo --version 2>/dev/null | awk '{print $2}') || return 1
  [[ -n $version ]] || return 1
  [[ $(printf '%s\n%s\n' "$hac_required_rust" "$version" | sort -V | head -n1) == "$hac_required_rust" ]]
}

hac_rust_install_help() {
  cat >&2 <<HELP
Install Rust $hac_required_rust or newer, for example with rustup (https://rustup.rs):
  curl --proto '=https' --tlsv1.2 -sSf https://sh.rustup.rs | sh -s -- -y --profile minimal --component rustfmt,clippy
or with your distribution's packages if they are recent enough, then run this again.
HELP
}

# hac_ensure_cargo: cargo >= rust-version on PATH (enough to build and run hac).
hac_ensure_cargo() {
  if [[ -x $HOME/.cargo/bin/cargo ]]; then
    PATH="$HOME/.cargo/bin:$PATH"
  fi
  if ! command -v cargo >/dev/null 2>&1; then
    echo "error: cargo is not installed" >&2
    hac_rust_install_help
    exit 2
  fi
  if ! hac_rust_is_recent; then
    echo "error: $(cargo --version) is older than Rust $hac_required_rust, which hac needs" >&2
    hac_rust_install_help
    exit 2
  fi
}

# hac_ensure_rust: cargo as above, with rustfmt and clippy (the test run checks both).
hac_ensure_rust() {
  hac_ensure_cargo
  local component
  for component in fmt clippy; do
    if ! cargo "$component" --version >/dev/null 2>&1; then
      echo "error: cargo $component is missing; with rustup: rustup component add ${component/fmt/rustfmt}" >&2
      exit 2
    fi
  done
}
