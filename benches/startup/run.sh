#!/usr/bin/env bash
# Builds benches/startup/sqlite_first.c over the SQLite amalgamation that the libsqlite3-sys crate
# ships (a dev-dependency of crates/wasi, so `cargo fetch` brings it) for wasm32-wasi with clang-16,
# then measures `wasmz run` eager, --lazy and --background with startup.py.
# usage: benches/startup/run.sh [ROUNDS] [ROWS]
set -euo pipefail
cd "$(dirname "$0")/../.."
rounds=${1:-7}
rows=${2:-50000}
src=$(ls -d "${CARGO_HOME:-$HOME/.cargo}"/registry/src/*/libsqlite3-sys-*/sqlite3 | sort -V | tail -1)
out=target/startup
mkdir -p "$out"
if [ ! -f "$out/sqlite_first.wasm" ]; then
    clang-16 --target=wasm32-wasi --sysroot=/usr -O2 -I"$src" \
        -DSQLITE_THREADSAFE=0 -DSQLITE_OMIT_LOAD_EXTENSION -DSQLITE_OMIT_WAL \
        -DSQLITE_OMIT_SHARED_CACHE -DSQLITE_OMIT_RANDOMNESS -DSQLITE_NOHAVE_SYSTEM \
        -D_WASI_EMULATED_MMAN -D_WASI_EMULATED_GETPID -D_WASI_EMULATED_SIGNAL \
        -D_WASI_EMULATED_PROCESS_CLOCKS \
        "$src/sqlite3.c" benches/startup/sqlite_first.c -o "$out/sqlite_first.wasm" \
        -lwasi-emulated-mman -lwasi-emulated-getpid -lwasi-emulated-signal \
        -lwasi-emulated-process-clocks
fi
cargo build --release -q -p wasmz-cli
python3 benches/startup/startup.py target/release/wasmz "$out/sqlite_first.wasm" "$rounds" -- "$rows"
