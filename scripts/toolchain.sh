# shellcheck shell=bash
# Sourced by scripts/test and scripts/hac: makes sure cargo, rustfmt and clippy of a
# recent enough Rust are on PATH, installing the toolchain with rustup when they are
# missing (a fresh Debian or Ubuntu machine has none, and their packaged Rust is
# older than the workspace's rust-version).

hac_required_rust=$(sed -n 's/^rust-version = "\(.*\)"$/\1/p' "$(dirname "${BASH_SOURCE[0]}")/../Cargo.toml")

hac_rust_is_recent() {
  local version
  version=$(cargo --version 2>/dev/null | awk '{print $2}') || return 1
  [[ -n $version ]] || return 1
  [[ $(printf '%s\n%s\n' "$hac_required_rust" "$version" | sort -V | head -n1) == "$hac_required_rust" ]]
}

hac_ensure_rust() {
  if [[ -x $HOME/.cargo/bin/cargo ]]; then
    PATH="$HOME/.cargo/bin:$PATH"
  fi
  if hac_rust_is_recent && cargo fmt --version >/dev/null 2>&1 && cargo clippy --version >/dev/null 2>&1; then
    return 0
  fi
  echo "==> installing Rust (rustup, minimal profile with rustfmt and clippy; needs Rust >= $hac_required_rust)"
  if ! command -v curl >/dev/null 2>&1; then
    if [[ $(id -u) -ne 0 ]]; then
      echo "error: curl is missing; run as root or install curl first" >&2
      exit 2
    fi
    DEBIAN_FRONTEND=noninteractive apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends curl ca-certificates gcc libc6-dev >/dev/null
  fi
  if command -v rustup >/dev/null 2>&1; then
    rustup toolchain install stable --profile minimal --component rustfmt,clippy
    rustup default stable
  else
    # rustup-init straight from the Rust project's distribution server, which is
    # what the sh.rustup.rs script downloads too.
    # It must keep its name: rustup-init tells what to do from it.
    local dir
    dir=$(mktemp -d)
    curl --proto '=https' --tlsv1.2 -sSf -o "$dir/rustup-init" \
      "https://static.rust-lang.org/rustup/dist/$(uname -m)-unknown-linux-gnu/rustup-init"
    chmod +x "$dir/rustup-init"
    "$dir/rustup-init" -y --no-modify-path --profile minimal --component rustfmt,clippy
    rm -rf "$dir"
  fi
  PATH="$HOME/.cargo/bin:$PATH"
  hac_rust_is_recent || {
    echo "error: cargo $(cargo --version) is older than Rust $hac_required_rust" >&2
    exit 2
  }
}
