#!/usr/bin/env python3
"""Whole-program comparison: the same C programs run natively, by `wasmz run`, `wasmtime run` and `wasmi_cli`.

Called by benches/compare.sh, which installs the peers and builds wasmz first. Builds every workload to
wasm32-wasi with clang -O2 and natively with gcc -O2, runs each through every runtime several times
(interleaved: every round runs each runtime once, in a rotating order), checks that every output equals the
native program's, and prints the medians and ratios as a Markdown table. Also times compiling SQLite ahead
of time (`wasmz-aot compile` against `wasmtime compile`).
"""

import argparse
import glob
import math
import os
import platform
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent
WASI_C = REPO / "crates" / "wasi" / "tests" / "c"


def crate_source(name):
    """The unpacked sources of a crate in cargo's registry (the highest version), as the WASI tests use."""
    home = Path(os.environ.get("CARGO_HOME", Path.home() / ".cargo"))
    found = glob.glob(str(home / "registry" / "src" / "*" / f"{name}-[0-9]*"))
    if not found:
        sys.exit(f"no {name} sources in the cargo registry: run `cargo fetch` in {REPO}")

    def version(path):
        return [int(p) if p.isdigit() else 0 for p in path.rsplit(f"{name}-", 1)[1].replace("+", ".").split(".")]

    return Path(max(found, key=version))


def zlib_sources():
    zlib = crate_source("libz-sys") / "src" / "zlib"
    names = ["adler32", "compress", "crc32", "deflate", "gzclose", "gzlib", "gzread", "gzwrite", "infback",
             "inffast", "inflate", "inftrees", "trees", "uncompr", "zutil"]
    return [zlib / f"{n}.c" for n in names] + [WASI_C / "zlib_roundtrip.c"], [f"-I{zlib}", "-DZ_HAVE_UNISTD_H"]


def sqlite_sources():
    sqlite = crate_source("libsqlite3-sys") / "sqlite3"
    flags = [f"-I{sqlite}", "-DSQLITE_THREADSAFE=0", "-DSQLITE_OMIT_LOAD_EXTENSION", "-DSQLITE_OMIT_WAL",
             "-DSQLITE_OMIT_SHARED_CACHE", "-DSQLITE_OMIT_RANDOMNESS"]
    return [sqlite / "sqlite3.c", WASI_C / "sqlite_driver.c"], flags


SQLITE_WASI_FLAGS = ["-DSQLITE_NOHAVE_SYSTEM", "-D_WASI_EMULATED_MMAN", "-D_WASI_EMULATED_GETPID",
                     "-D_WASI_EMULATED_SIGNAL", "-D_WASI_EMULATED_PROCESS_CLOCKS", "-lwasi-emulated-mman",
                     "-lwasi-emulated-getpid", "-lwasi-emulated-signal", "-lwasi-emulated-process-clocks"]


def quickjs_sources():
    quickjs = crate_source("rquickjs-sys") / "quickjs"
    sources = [quickjs / f"{n}.c" for n in ["quickjs", "libregexp", "libunicode", "dtoa"]]
    return sources + [HERE / "c" / "quickjs_bench.c"], [f"-I{quickjs}", "-D_GNU_SOURCE"]


QUICKJS_WASI_FLAGS = ["-D_WASI_EMULATED_PROCESS_CLOCKS", "-D_WASI_EMULATED_SIGNAL",
                      "-lwasi-emulated-process-clocks", "-lwasi-emulated-signal"]


def workloads():
    """(name, sources, common flags, wasm-only flags, arguments, needs a data directory)."""
    c = HERE / "c"
    simple = [
        ("fib(30)", "fib", ["30"]),
        ("fib(36)", "fib", ["36"]),
        ("nbody", "nbody", ["2000000"]),
        ("sieve", "sieve", ["10000000", "8"]),
        ("matmul", "matmul", ["400", "4"]),
        ("sha256", "sha256", ["64"]),
        ("sort", "sort", ["2000000"]),
        ("hashtable", "hashtable", ["1500000"]),
    ]
    out = [(name, [c / f"{src}.c"], [], [], args, False) for name, src, args in simple]
    sources, flags = sqlite_sources()
    out.append(("sqlite", sources, flags, SQLITE_WASI_FLAGS, ["100000"], True))
    sources, flags = zlib_sources()
    out.append(("zlib", sources, flags, [], [], True))
    sources, flags = quickjs_sources()
    out.append(("quickjs", sources, flags, QUICKJS_WASI_FLAGS, ["400"], False))
    return out


def build(workload, build_dir, data_dir):
    """Builds the wasm and the native program; returns their paths."""
    name, sources, flags, wasm_flags, _, _ = workload
    stem = name.replace("(", "").replace(")", "")
    wasm = build_dir / f"{stem}.wasm"
    native = build_dir / stem
    srcs = [str(s) for s in sources]
    if not wasm.exists():
        subprocess.run(["clang-16", "--target=wasm32-wasi", "--sysroot=/usr", "-O2", f'-DDATA_DIR="{data_dir}"',
                        *flags, *srcs, "-o", str(wasm), *wasm_flags, "-lm"], check=True)
    if not native.exists():
        subprocess.run(["gcc", "-O2", f'-DDATA_DIR="{data_dir}"', *flags, *srcs, "-o", str(native), "-lm",
                        "-lpthread"], check=True)
    return wasm, native


def make_input(data_dir):
    """The zlib workload's input: 16 MB of compressible but not trivial bytes."""
    state = 12345
    chunk = bytearray()
    words = [b"wasm ", b"cranelift ", b"runtime ", b"compile ", b"native ", b"0123456789 ", b"\n"]
    while len(chunk) < 1 << 20:
        state = (state * 1103515245 + 12345) & 0x7FFFFFFF
        chunk += words[(state >> 16) % len(words)]
        if state % 7 == 0:
            chunk += bytes([(state >> 8) & 0xFF])
    (data_dir / "input.bin").write_bytes(bytes(chunk) * 16)


def reset_data(data_dir):
    for f in ["test.db", "input.bin.gz", "output.bin"]:
        (data_dir / f).unlink(missing_ok=True)


def commands(runtime, tools, wasm, native, args, data_dir, cache_dir):
    # Every program finds its data under the same absolute path natively and in wasm: wasmi's --dir
    # cannot rename a directory, and SQLite checks every component of a database's path, so the guest
    # gets the host's root directory.
    dir_arg = "/"
    if runtime == "native":
        return [str(native), *args]
    if runtime in ("wasmz", "wasmz-lazy"):
        cache = ["--cache", str(cache_dir)] if cache_dir else []
        lazy = ["--lazy"] if runtime == "wasmz-lazy" else []
        return [tools["wasmz"], "run", *cache, *lazy, "--dir", dir_arg, str(wasm), *args]
    if runtime == "wasmtime":
        cache = "cache=y" if cache_dir else "cache=n"
        return [tools["wasmtime"], "run", "-C", cache, "--dir", dir_arg, str(wasm), *args]
    if runtime == "wasmi":
        return [tools["wasmi"], "run", "--dir", dir_arg, str(wasm), *args]
    raise ValueError(runtime)


def timed(cmd):
    start = time.perf_counter()
    result = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    elapsed = time.perf_counter() - start
    return elapsed, result


def geomean(values):
    return math.exp(sum(math.log(v) for v in values) / len(values)) if values else float("nan")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5, help="runs of each program by each runtime")
    parser.add_argument("--wasmz", required=True)
    parser.add_argument("--wasmz-aot", required=True)
    parser.add_argument("--wasmtime", required=True)
    parser.add_argument("--wasmi", required=True)
    parser.add_argument("--work", required=True, help="directory for builds and data")
    parser.add_argument("--only", help="comma-separated workload names")
    parser.add_argument("--skip-wasmi", action="store_true", help="leave the interpreter out (it is slow)")
    parser.add_argument("--lazy", action="store_true", help="also run `wasmz run --lazy`")
    parser.add_argument("--cache", action="store_true",
                        help="let wasmz and wasmtime cache compiled code (warm runs); default: both compile every run")
    opts = parser.parse_args()

    tools = {"wasmz": opts.wasmz, "wasmtime": opts.wasmtime, "wasmi": opts.wasmi}
    work = Path(opts.work)
    build_dir = work / "build"
    data_dir = work / "data"
    build_dir.mkdir(parents=True, exist_ok=True)
    data_dir.mkdir(parents=True, exist_ok=True)
    make_input(data_dir)
    runtimes = ["native", "wasmz"] + (["wasmz-lazy"] if opts.lazy else []) + ["wasmtime"]
    runtimes += [] if opts.skip_wasmi else ["wasmi"]
    cache_dir = work / "wasmz-cache" if opts.cache else None

    rows = []
    failures = []
    selected = [w for w in workloads() if not opts.only or w[0] in opts.only.split(",")]
    for workload in selected:
        name, _, _, _, args, _ = workload
        wasm, native = build(workload, build_dir, data_dir)
        times = {r: [] for r in runtimes}
        expected = None
        for round_ in range(opts.runs):
            order = runtimes[round_ % len(runtimes):] + runtimes[:round_ % len(runtimes)]
            # The native program runs first in every round so its output is the reference.
            order = ["native"] + [r for r in order if r != "native"]
            for runtime in order:
                reset_data(data_dir)
                elapsed, result = timed(commands(runtime, tools, wasm, native, args, data_dir, cache_dir))
                output = result.stdout
                if runtime == "native":
                    expected = output
                if result.returncode != 0 or output != expected:
                    failures.append(f"{name} under {runtime}: exit {result.returncode}, output "
                                    f"{output[:200]!r} (native: {expected[:200]!r}) {result.stderr[-300:]!r}")
                times[runtime].append(elapsed)
            print(f"  {name} round {round_ + 1}: " +
                  ", ".join(f"{r} {times[r][-1] * 1000:.0f} ms" for r in runtimes), file=sys.stderr)
        rows.append((name, {r: statistics.median(t) for r, t in times.items()}))

    mode = "cached compiled code (warm)" if opts.cache else "compiling on every run (no cache)"
    print(f"\nWhole-program times, {mode}, median of {opts.runs} runs, {time.strftime('%Y-%m-%d')}, "
          f"{platform.machine()}, {os.cpu_count()} CPUs:\n")
    columns = runtimes + ["wasmz / wasmtime"] + (["wasmz-lazy / wasmtime"] if opts.lazy else [])
    columns += ["wasmz / native"] + ([] if opts.skip_wasmi else ["wasmi / wasmz"])
    print("| program | " + " | ".join(columns) + " |")
    print("|---" * (len(columns) + 1) + "|")
    ratios = {"wasmz": [], "wasmz-lazy": []}
    for name, med in rows:
        cells = [name] + [f"{med[r] * 1000:.0f} ms" for r in runtimes]
        for variant in ["wasmz"] + (["wasmz-lazy"] if opts.lazy else []):
            ratio = med[variant] / med["wasmtime"]
            ratios[variant].append(ratio)
            cells.append(f"{ratio:.2f}")
        cells.append(f"{med['wasmz'] / med['native']:.2f}")
        if not opts.skip_wasmi:
            cells.append(f"{med['wasmi'] / med['wasmz']:.1f}")
        print("| " + " | ".join(cells) + " |")
    for variant in ["wasmz"] + (["wasmz-lazy"] if opts.lazy else []):
        r = ratios[variant]
        print(f"\nGeometric mean of {variant} / wasmtime: {geomean(r):.3f}; highest: {max(r):.2f} "
              f"({rows[r.index(max(r))][0]})")

    sqlite_wasm = build_dir / "sqlite.wasm"
    if sqlite_wasm.exists():
        size = sqlite_wasm.stat().st_size
        compile_times = {"wasmz-aot compile": [], "wasmtime compile": []}
        for round_ in range(opts.runs):
            for tool, cmd in [("wasmz-aot compile", [opts.wasmz_aot, "compile", str(sqlite_wasm), "-o",
                                                      str(work / "sqlite.cwasm")]),
                              ("wasmtime compile", [opts.wasmtime, "compile", str(sqlite_wasm), "-o",
                                                    str(work / "sqlite.wasmtime.cwasm")])]:
                elapsed, result = timed(cmd)
                if result.returncode != 0:
                    failures.append(f"{tool}: {result.stderr[-300:]!r}")
                compile_times[tool].append(elapsed)
        ours = statistics.median(compile_times["wasmz-aot compile"])
        theirs = statistics.median(compile_times["wasmtime compile"])
        print(f"\nCompiling sqlite.wasm ({size / 1e6:.2f} MB) ahead of time, median of {opts.runs}: "
              f"wasmz-aot {ours * 1000:.0f} ms, wasmtime {theirs * 1000:.0f} ms, ratio {ours / theirs:.2f}")

    if failures:
        print("\nFAILURES:", *failures, sep="\n  ")
        sys.exit(1)


if __name__ == "__main__":
    main()
