#!/usr/bin/env python3
"""Time to first result and total time of `wasmz run` in its compilation modes.

Runs the same WASI program with eager compilation, `--lazy` and `--background`, interleaved, ROUNDS
times each, and prints per mode the median time until the first byte of stdout and until exit,
with ratios to eager. An empty cache is implied: no `--cache` is given.

usage: startup.py WASMZ PROGRAM.wasm [ROUNDS] [-- ARGS...]
The program runs with a fresh empty directory preopened as /data.
"""
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

MODES = [("eager", []), ("lazy", ["--lazy"]), ("background", ["--background"])]


def run_once(wasmz, program, flags, args):
    data = tempfile.mkdtemp(prefix="wasmz-startup-")
    try:
        cmd = [wasmz, "run", *flags, "--dir", f"{data}::/data", program, *args]
        start = time.perf_counter()
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
        first = proc.stdout.read(1)
        first_at = time.perf_counter() - start
        rest = proc.stdout.read()
        code = proc.wait()
        total = time.perf_counter() - start
        if code != 0 or not first:
            raise SystemExit(f"{' '.join(cmd)} failed with {code}")
        return first_at, total, first + rest
    finally:
        shutil.rmtree(data, ignore_errors=True)


def main():
    argv = sys.argv[1:]
    args = []
    if "--" in argv:
        i = argv.index("--")
        argv, args = argv[:i], argv[i + 1:]
    if len(argv) < 2:
        raise SystemExit(__doc__)
    wasmz, program = argv[0], argv[1]
    rounds = int(argv[2]) if len(argv) > 2 else 5
    results = {name: ([], []) for name, _ in MODES}
    expected = None
    for _ in range(rounds):
        for name, flags in MODES:
            first, total, out = run_once(wasmz, program, flags, args)
            if expected is None:
                expected = out
            elif out != expected:
                raise SystemExit(f"{name}: output differs from the first run")
            results[name][0].append(first)
            results[name][1].append(total)
    base_first = statistics.median(results["eager"][0])
    base_total = statistics.median(results["eager"][1])
    print(f"{os.path.basename(program)} {' '.join(args)}: medians of {rounds} interleaved runs")
    print(f"{'mode':<12}{'first output':>14}{'ratio':>8}{'total':>12}{'ratio':>8}")
    for name, _ in MODES:
        first = statistics.median(results[name][0])
        total = statistics.median(results[name][1])
        print(f"{name:<12}{first * 1000:>11.1f} ms{first / base_first:>8.2f}"
              f"{total * 1000:>9.1f} ms{total / base_total:>8.2f}")


if __name__ == "__main__":
    main()
