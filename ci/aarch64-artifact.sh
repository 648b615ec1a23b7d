#!/usr/bin/env bash
# Builds the SQLite and zlib WASI programs of crates/wasi/tests, compiles them ahead of time on x86-64
# for aarch64 (`wasmz-aot compile --target aarch64-unknown-linux-gnu`), runs the artifacts with the
# aarch64 `wasmz` under QEMU and the modules with the x86-64 `wasmz`, and requires equal output and
# equal files. Called by ci/aarch64.sh, which sets up the cross toolchain and QEMU.
set -euo pipefail
cd "$(dirname "$0")/.."
target=aarch64-unknown-linux-gnu
x86_dir=${X86_TARGET_DIR:-target}
RUSTC=/usr/bin/rustc cargo build --release -p wasmz-cli --target $target
(unset RUSTC CARGO_TARGET_DIR; CARGO_TARGET_DIR=$x86_dir cargo build --release -p wasmz-cli)
x86=$x86_dir/release
a64=$CARGO_TARGET_DIR/$target/release
runner=${CARGO_TARGET_AARCH64_UNKNOWN_LINUX_GNU_RUNNER:-qemu-aarch64 -L /}

# The C library sources that cargo downloaded for crates/wasi's dev-dependencies.
cargo fetch -q
registry=${CARGO_HOME:-$HOME/.cargo}/registry/src
newest() { ls -d "$registry"/*/"$1"-[0-9]* | sort -V | tail -1; }
sqlite=$(newest libsqlite3-sys)/sqlite3
zlib=$(newest libz-sys)/src/zlib

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cc="clang-16 --target=wasm32-wasi --sysroot=/usr -O2"
$cc -I"$sqlite" -DSQLITE_THREADSAFE=0 -DSQLITE_OMIT_LOAD_EXTENSION -DSQLITE_OMIT_WAL \
    -DSQLITE_OMIT_SHARED_CACHE -DSQLITE_OMIT_RANDOMNESS -DSQLITE_NOHAVE_SYSTEM \
    -D_WASI_EMULATED_MMAN -D_WASI_EMULATED_GETPID -D_WASI_EMULATED_SIGNAL \
    -D_WASI_EMULATED_PROCESS_CLOCKS "$sqlite/sqlite3.c" crates/wasi/tests/c/sqlite_driver.c \
    -lwasi-emulated-mman -lwasi-emulated-getpid -lwasi-emulated-signal \
    -lwasi-emulated-process-clocks -o "$work/sqlite.wasm"
zsrc=()
for f in adler32 compress crc32 deflate gzclose gzlib gzread gzwrite infback inffast inflate inftrees \
    trees uncompr zutil; do zsrc+=("$zlib/$f.c"); done
$cc -I"$zlib" -DZ_HAVE_UNISTD_H "${zsrc[@]}" crates/wasi/tests/c/zlib_roundtrip.c -o "$work/zlib.wasm"

status=0
for prog in sqlite zlib; do
    $x86/wasmz-aot compile --target $target "$work/$prog.wasm" -o "$work/$prog.cwasm"
    for arch in x86_64 aarch64; do
        d="$work/$prog-$arch"
        mkdir -p "$d"
        if [ $prog = zlib ]; then
            for i in 1 2 3 4 5 6 7 8; do cat README.md "$work/zlib.wasm"; done >"$d/input.bin"
        fi
        # The SQLite driver queries row 77777, so it needs at least that many.
        code=0
        if [ $arch = x86_64 ]; then
            $x86/wasmz run --dir "$d::/data" "$work/$prog.wasm" 80000 >"$work/$prog-$arch.out" || code=$?
        else
            $runner $a64/wasmz run --allow-precompiled --dir "$d::/data" "$work/$prog.cwasm" 80000 \
                >"$work/$prog-$arch.out" || code=$?
        fi
        echo "exit status $code" >>"$work/$prog-$arch.out"
    done
    if grep -qx "exit status 0" "$work/$prog-x86_64.out" &&
        cmp -s "$work/$prog-x86_64.out" "$work/$prog-aarch64.out" &&
        diff -r "$work/$prog-x86_64" "$work/$prog-aarch64" >/dev/null; then
        echo "artifact $prog: aarch64 output equals x86-64's ($(wc -l <"$work/$prog-x86_64.out") lines)"
    else
        echo "artifact $prog: aarch64 output differs from x86-64's" >&2
        diff "$work/$prog-x86_64.out" "$work/$prog-aarch64.out" >&2 || true
        status=1
    fi
done
exit $status
