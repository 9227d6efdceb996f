# Shared by scripts/run and scripts/test: install what is missing, idempotently,
# from the registries this product may use (crates.io, npm, Debian's apt).
# Every step is skipped when its result is already in place.

set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$ROOT"
export PATH="$HOME/.cargo/bin:$ROOT/node_modules/.bin:$PATH"
export TRUNK_SKIP_VERSION_CHECK=true
export CARGO_TERM_COLOR="${CARGO_TERM_COLOR:-auto}"

TRUNK_VERSION="0.21.14"

log() { printf '\033[1;36m==> %s\033[0m\n' "$*" >&2; }
die() { printf '\033[1;31merror: %s\033[0m\n' "$*" >&2; exit 1; }

# Runs a command as root (directly, or through sudo when available).
as_root() {
  if [ "$(id -u)" -eq 0 ]; then "$@"
  elif command -v sudo >/dev/null 2>&1; then sudo "$@"
  else die "need root to run: $*"
  fi
}

APT_UPDATED=""
apt_install() {
  command -v apt-get >/dev/null 2>&1 || die "apt-get not found: install $* by hand"
  if [ -z "$APT_UPDATED" ]; then
    log "apt-get update"
    as_root apt-get update -qq
    APT_UPDATED=1
  fi
  log "apt-get install $*"
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null
}

# The wasm-bindgen version Cargo.lock pins; the CLI and Trunk.toml must match.
wasm_bindgen_version() {
  awk '/^name = "wasm-bindgen"$/ {getline; gsub(/version = |"/,""); print; exit}' Cargo.lock
}

ensure_rust() {
  command -v cargo >/dev/null 2>&1 || die "cargo not found: install Rust with rustup (https://rustup.rs)"
  if ! rustup target list --installed 2>/dev/null | grep -qx wasm32-unknown-unknown; then
    log "rustup target add wasm32-unknown-unknown"
    rustup target add wasm32-unknown-unknown
  fi
}

ensure_trunk() {
  if [ "$(trunk --version 2>/dev/null)" != "trunk $TRUNK_VERSION" ]; then
    log "cargo install trunk $TRUNK_VERSION (a few minutes, once)"
    cargo install --locked "trunk@$TRUNK_VERSION"
  fi
}

ensure_wasm_bindgen() {
  local v
  v="$(wasm_bindgen_version)"
  [ -n "$v" ] || die "no wasm-bindgen in Cargo.lock"
  grep -q "^wasm_bindgen = \"$v\"" Trunk.toml ||
    die "Trunk.toml pins another wasm-bindgen than Cargo.lock ($v): update [tools] wasm_bindgen"
  if [ "$(wasm-bindgen --version 2>/dev/null)" != "wasm-bindgen $v" ]; then
    log "cargo install wasm-bindgen-cli $v (once)"
    # Not --locked: its own lock file pins a crate version the registry lacks.
    cargo install --force wasm-bindgen-cli --version "$v"
  fi
}

ensure_npm_packages() {
  command -v npm >/dev/null 2>&1 || apt_install nodejs npm
  if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
    log "npm ci (lightweight-charts, binaryen's wasm-opt)"
    npm ci --no-audit --no-fund --loglevel=error
  fi
}

ensure_client_toolchain() {
  ensure_rust
  ensure_trunk
  ensure_wasm_bindgen
  ensure_npm_packages
}

build_client() {
  log "trunk build --release (the page, into dist/)"
  trunk build --release
}
