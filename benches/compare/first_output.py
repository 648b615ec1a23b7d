"""Time to first output: large programs that print a line as soon as they are initialized and then work
for a while (SQLite, QuickJS, Lua), run with empty caches by `wasmz run --eager`, `wasmz run --lazy`,
`wasmz run` (background compilation) and `wasmtime run -C cache=n`, and natively for reference.

For each runtime: the median, over interleaved runs, of the time from starting the process to the first
byte on its stdout (a pipe read as the bytes come), and of the time until it exits. Every output must
equal the native program's.
"""

import sys
import time

from measure import median, ms, print_table, ratio, rounds, run
from runtimes import command
from workloads import build, first_output_workloads, reset_data, select

LABELS = {"native": "native", "wasmz-eager": "wasmz --eager", "wasmz-lazy": "wasmz --lazy",
          "wasmz": "wasmz (background)", "wasmtime": "wasmtime -C cache=n"}


def report(opts, tools, work, failures):
    build_dir, data_dir = work / "build", work / "data"
    modes = ["native", "wasmz-eager", "wasmz-lazy", "wasmz"] + (["wasmtime"] if tools["wasmtime"] else [])
    peer = "wasmtime" if tools["wasmtime"] else None
    table = []
    for workload in select(first_output_workloads(), opts.only):
        wasm, native = build(workload, build_dir, data_dir)
        reset_data(data_dir)
        reference = run([native, *workload.args])
        if reference.failure():
            failures.append(f"{workload.name} natively: {reference.failure()}")
            continue
        first = {m: [] for m in modes}
        total = {m: [] for m in modes}
        for round_, order in rounds(modes, opts.runs):
            for mode in order:
                reset_data(data_dir)
                result = run(command(mode, tools, wasm, native, workload.args), watch_first_output=True)
                problem = result.failure(reference.stdout)
                if problem:
                    failures.append(f"{workload.name} under {mode}: {problem}")
                    continue
                first[mode].append(result.first_output)
                total[mode].append(result.elapsed)
            print(f"  {workload.name} round {round_ + 1} (first output / total): " +
                  ", ".join(f"{m} {ms(first[m][-1])} / {ms(total[m][-1])}" for m in modes if first[m]),
                  file=sys.stderr)
        first = {m: median(v) for m, v in first.items()}
        total = {m: median(v) for m, v in total.items()}
        for mode in modes:
            row = [workload.name, LABELS[mode], ms(first[mode]), ratio(first[mode], first["wasmz-eager"])]
            row += [ratio(first[mode], first[peer])] if peer else []
            row += [ms(total[mode]), ratio(total[mode], total["wasmz-eager"])]
            row += [ratio(total[mode], total[peer])] if peer else []
            table.append(row)

    print(f"\nTime to first output and total time, empty caches, median of {opts.runs} interleaved runs, "
          f"{time.strftime('%Y-%m-%d')}:\n")
    vs_peer = ["/ wasmtime"] if peer else []
    print_table(["program", "runtime", "first output", "/ eager", *vs_peer, "total", "/ eager", *vs_peer], table)
