#!/usr/bin/env bash
# Builds wasmz for aarch64-unknown-linux-gnu and runs its tests and the spec suite under QEMU user mode
# on an x86-64 Debian 12 host. Installs what it needs when missing (root, apt).
#
#   ci/aarch64.sh            every workspace test but the C API's, then the whole spec suite
#   ci/aarch64.sh quick      the trap, lazy-compilation, atomics and artifact tests and the core
#                            and simd spec groups (what .ci/run runs)
#   ci/aarch64.sh artifact   an x86-64-compiled aarch64 artifact of SQLite and zlib programs runs on
#                            aarch64 with the same output as on x86-64
#
# Not run on aarch64: the C API tests (crates/c-api), which compile C programs with the native gcc and
# run them under valgrind (valgrind cannot run under QEMU). QEMU timings say nothing about speed.
set -euo pipefail
cd "$(dirname "$0")/.."
mode=${1:-all}
target=aarch64-unknown-linux-gnu
export CARGO_TERM_COLOR=never

# --- toolchain -------------------------------------------------------------------------------------
need=()
command -v qemu-aarch64 >/dev/null || need+=(qemu-user qemu-user-binfmt)
command -v aarch64-linux-gnu-gcc >/dev/null || need+=(gcc-aarch64-linux-gnu libc6-dev-arm64-cross)
[ -x /usr/bin/rustc ] && /usr/bin/rustc --print target-libdir --target $target >/dev/null 2>&1 &&
    [ -d "$(/usr/bin/rustc --print target-libdir --target $target)" ] || need+=(rustc-web cargo-web libstd-rust-web-dev:arm64)
command -v clang-16 >/dev/null || need+=(clang-16 lld-16 libclang-rt-16-dev-wasm32 wasi-libc)
dpkg -s libsqlite3-dev:arm64 >/dev/null 2>&1 || need+=(libsqlite3-dev:arm64)
dpkg -s zlib1g-dev:arm64 >/dev/null 2>&1 || need+=(zlib1g-dev:arm64)
if [ ${#need[@]} -gt 0 ]; then
    dpkg --print-foreign-architectures | grep -qx arm64 || dpkg --add-architecture arm64
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
fi

# Debian's aarch64 Rust standard library pulls in the arm64 glibc (libc6:arm64, under /lib), and the
# host's ld.so cache then lists it. `qemu-aarch64 -L /usr/aarch64-linux-gnu` would start the cross
# package's ld.so with that libc.so.6: two builds of glibc whose private data disagree, and the first
# pthread_create loops forever walking the thread-stack cache. Running with the root as prefix uses
# the arm64 ld.so and libc of one build; without libc6:arm64 the cross sysroot is consistent.
if [ -e /lib/ld-linux-aarch64.so.1 ]; then sysroot=/; else sysroot=/usr/aarch64-linux-gnu; fi
export QEMU_LD_PREFIX=$sysroot
# Tests start other aarch64 programs (the CLI tests run the wasmz binaries, the spec runner isolates
# each script in a child process): register QEMU for aarch64 ELF files unless it already is.
if [ ! -e /proc/sys/fs/binfmt_misc/qemu-aarch64 ]; then
    [ -e /proc/sys/fs/binfmt_misc/register ] ||
        mount -t binfmt_misc binfmt_misc /proc/sys/fs/binfmt_misc
    cat /usr/lib/binfmt.d/qemu-aarch64.conf >/proc/sys/fs/binfmt_misc/register
fi

# The x86-64 build (for the artifact step) stays where it was.
export X86_TARGET_DIR=${X86_TARGET_DIR:-${CARGO_TARGET_DIR:-target}}
export RUSTC=/usr/bin/rustc
# Doctests are built for aarch64 too: with Debian's rustdoc, which has the aarch64 standard library.
export RUSTDOC=/usr/bin/rustdoc
export CARGO_TARGET_DIR=${AARCH64_TARGET_DIR:-${CARGO_TARGET_DIR:-target}-aarch64-cross}
export CARGO_TARGET_AARCH64_UNKNOWN_LINUX_GNU_LINKER=aarch64-linux-gnu-gcc
export CARGO_TARGET_AARCH64_UNKNOWN_LINUX_GNU_RUNNER="qemu-aarch64 -L $sysroot"
export CC_aarch64_unknown_linux_gnu=aarch64-linux-gnu-gcc
export PKG_CONFIG_ALLOW_CROSS=1
export PKG_CONFIG_aarch64_unknown_linux_gnu=/usr/bin/aarch64-linux-gnu-pkg-config
command -v aarch64-linux-gnu-pkg-config >/dev/null ||
    export PKG_CONFIG_LIBDIR_aarch64_unknown_linux_gnu=/usr/lib/aarch64-linux-gnu/pkgconfig
cargo_a64() { cargo "$1" --release --target $target "${@:2}"; }

log=$(mktemp)
trap 'rm -f "$log"' EXIT
counts() {
    awk '/^test result:/ { p += $4; f += $6; i += $8 } END { printf "aarch64 cargo test: %d passed, %d failed, %d ignored\n", p, f, i }' "$log"
}

start=$(date +%s)
case $mode in
quick)
    cargo_a64 test --no-fail-fast -p wasmz --test traps --test trap_reporting --test threads_atomics --test lazy --test lazy_fork --test aot --test memory_images --test loop_alignment 2>&1 | tee "$log"
    counts
    WASMZ_SPEC_GROUP=core,simd cargo_a64 test -p wasmz-spec-tests 2>&1 | tee -a "$log"
    ;;
artifact)
    ci/aarch64-artifact.sh
    ;;
all)
    status=0
    cargo_a64 test --no-fail-fast --workspace --exclude wasmz-c-api --exclude wasmz-spec-tests 2>&1 | tee "$log" || status=1
    counts
    cargo_a64 test -p wasmz-spec-tests 2>&1 | tee -a "$log" || status=1
    ci/aarch64-artifact.sh || status=1
    [ $status -eq 0 ] || exit $status
    ;;
*)
    echo "usage: $0 [all|quick|artifact]" >&2
    exit 2
    ;;
esac
echo "aarch64 step ($mode): $(($(date +%s) - start)) s"
