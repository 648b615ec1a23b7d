#!/usr/bin/env bash
# Whole-program comparison of wasmz with Wasmtime, the wasmi interpreter and native code.
#
#   benches/compare.sh [--runs N] [--only fib(30),sqlite] [--skip-wasmi] [--eager] [--lazy] [--cache]
#   benches/compare.sh --first-output [--runs N] [--only sqlite-first,quickjs,lua]
#   benches/compare.sh --big [--runs N]
#
# Installs the peers once into $PEERS_DIR (default: target/peers; about 30 minutes of building the first
# time, cached after), builds wasmz's CLIs with the `dist` profile (the build to ship: release with
# LTO) and the C workloads of benches/compare/c (plus SQLite, zlib, QuickJS and Lua, whose sources
# come from the cargo registry) with clang-16 for wasm32-wasi and gcc natively, then runs
# benches/compare/compare.py (see there for the reports). Needs clang-16, lld-16, wasi-libc, gcc and
# python3 (3.10 or later); --big also npm. Not part of CI.
set -euo pipefail
repo="$(cd "$(dirname "$0")/.." && pwd)"
peers="${PEERS_DIR:-$repo/target/peers}"
work="${COMPARE_DIR:-$repo/target/compare}"
bin="${CARGO_TARGET_DIR:-$repo/target}/dist"

if [[ ! -x "$peers/bin/wasmtime" || ! -x "$peers/bin/wasmi" ]]; then
    echo "installing wasmtime-cli 48.0.8 and wasmi_cli 2.0.0 into $peers" >&2
    cargo install --locked --root "$peers" wasmtime-cli@48.0.8 wasmi_cli@2.0.0
fi
(cd "$repo" && cargo fetch --quiet && cargo build --profile dist --quiet -p wasmz-cli)
# QuickJS's and Lua's sources come from the rquickjs-sys and lua-src crates, which nothing in the
# workspace depends on: fetch them through a throwaway package.
mkdir -p "$work/fetch/src"
cat > "$work/fetch/Cargo.toml" <<'TOML'
[package]
name = "compare-fetch"
version = "0.0.0"
edition = "2021"
[dependencies]
rquickjs-sys = "=0.14.0"
lua-src = "=551.1.0"
[workspace]
TOML
echo 'fn main() {}' > "$work/fetch/src/main.rs"
(cd "$work/fetch" && cargo fetch --quiet)
# Builds are cached in $work/build; a new checkout of a workload's sources needs a fresh one.
rm -rf "$work/build"
exec python3 "$repo/benches/compare/compare.py" \
    --wasmz "$bin/wasmz" \
    --wasmz-aot "$bin/wasmz-aot" \
    --wasmtime "$peers/bin/wasmtime" \
    --wasmi "$peers/bin/wasmi" \
    --work "$work" "$@"
