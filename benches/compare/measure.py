"""Running one process and measuring it, and the statistics and tables the reports share."""

import math
import os
import statistics
import subprocess
import tempfile
import time
from dataclasses import dataclass


@dataclass
class Run:
    cmd: list
    code: int          # exit status (negative: killed by that signal)
    elapsed: float     # seconds from just before the process was started until it was reaped
    first_output: float | None   # seconds until the first byte on stdout, when watched
    stdout: bytes
    stderr: bytes
    peak_kb: int       # the process's peak resident set size (ru_maxrss), kilobytes

    def failure(self, expected=None):
        """None when the process exited 0 (and printed `expected`, when given), else a description."""
        if self.code == 0 and (expected is None or self.stdout == expected):
            return None
        wanted = "" if expected is None else f" (expected {expected[:200]!r})"
        return (f"`{' '.join(map(str, self.cmd))}`: exit {self.code}, output {self.stdout[:200]!r}{wanted}, "
                f"stderr {self.stderr[-300:]!r}")


def run(cmd, watch_first_output=False):
    """Runs cmd to completion: a whole process, timed from outside.

    Output goes to temporary files, or with watch_first_output stdout to a pipe read at once, so that the
    time of its first byte is known. The child is reaped with wait4, which gives its own peak RSS.
    """
    cmd = [str(c) for c in cmd]
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        start = time.perf_counter()
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE if watch_first_output else out, stderr=err)
        first_at = None
        if watch_first_output:
            first = proc.stdout.read(1)
            if first:
                first_at = time.perf_counter() - start
            stdout = first + proc.stdout.read()
            proc.stdout.close()
        _, status, usage = os.wait4(proc.pid, 0)
        elapsed = time.perf_counter() - start
        proc.returncode = os.waitstatus_to_exitcode(status)
        if not watch_first_output:
            out.seek(0)
            stdout = out.read()
        err.seek(0)
        return Run(cmd, proc.returncode, elapsed, first_at, stdout, err.read(), usage.ru_maxrss)


def rounds(names, count):
    """Yields (round, order) for count rounds: every round has every name once, in a rotating order."""
    for r in range(count):
        k = r % len(names)
        yield r, names[k:] + names[:k]


def interleaved(cmds, count, failures):
    """Runs each command of cmds (name -> command) count times in rotating order; returns name -> the
    successful Runs, and appends a description of each failed run to failures."""
    results = {name: [] for name in cmds}
    for _, order in rounds(list(cmds), count):
        for name in order:
            result = run(cmds[name])
            problem = result.failure()
            if problem:
                failures.append(problem)
                continue
            results[name].append(result)
    return results


def median(values):
    return statistics.median(values) if values else float("nan")


def geomean(values):
    return math.exp(sum(math.log(v) for v in values) / len(values)) if values else float("nan")


def ms(seconds):
    return f"{seconds * 1000:.0f} ms"


def ratio(a, b, digits=2):
    """a / b with `digits` decimals, or two significant digits when that would show less."""
    if not b or math.isnan(a) or math.isnan(b):
        return "-"
    r = a / b
    return f"{r:.{digits}f}" if r == 0 or r >= 10 ** (1 - digits) else f"{r:.2g}"


def print_table(header, rows):
    """A Markdown table."""
    print("| " + " | ".join(header) + " |")
    print("|---" * len(header) + "|")
    for row in rows:
        print("| " + " | ".join(str(c) for c in row) + " |")
