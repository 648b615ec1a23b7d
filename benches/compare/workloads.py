"""The C programs of the comparison and how to build them natively and for wasm32-wasi."""

import glob
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent
C = HERE / "c"
WASI_C = REPO / "crates" / "wasi" / "tests" / "c"


@dataclass
class Workload:
    name: str
    sources: list
    args: list
    flags: tuple = ()        # for both compilers
    wasm_flags: tuple = ()   # for clang --target=wasm32-wasi only

    @property
    def stem(self):
        return self.name.replace("(", "").replace(")", "")


def crate_source(name):
    """The unpacked sources of a crate in cargo's registry (the highest version), as the WASI tests use."""
    home = Path(os.environ.get("CARGO_HOME", Path.home() / ".cargo"))
    found = glob.glob(str(home / "registry" / "src" / "*" / f"{name}-[0-9]*"))
    if not found:
        sys.exit(f"no {name} sources in the cargo registry: run benches/compare.sh, which fetches them")

    def version(path):
        return [int(p) if p.isdigit() else 0 for p in path.rsplit(f"{name}-", 1)[1].replace("+", ".").split(".")]

    return Path(max(found, key=version))


def zlib():
    src = crate_source("libz-sys") / "src" / "zlib"
    names = ["adler32", "compress", "crc32", "deflate", "gzclose", "gzlib", "gzread", "gzwrite", "infback",
             "inffast", "inflate", "inftrees", "trees", "uncompr", "zutil"]
    return Workload("zlib", [src / f"{n}.c" for n in names] + [WASI_C / "zlib_roundtrip.c"], [],
                    (f"-I{src}", "-DZ_HAVE_UNISTD_H"))


SQLITE_WASI_FLAGS = ("-DSQLITE_NOHAVE_SYSTEM", "-D_WASI_EMULATED_MMAN", "-D_WASI_EMULATED_GETPID",
                     "-D_WASI_EMULATED_SIGNAL", "-D_WASI_EMULATED_PROCESS_CLOCKS", "-lwasi-emulated-mman",
                     "-lwasi-emulated-getpid", "-lwasi-emulated-signal", "-lwasi-emulated-process-clocks")


def sqlite(name, driver, args):
    src = crate_source("libsqlite3-sys") / "sqlite3"
    flags = (f"-I{src}", "-DSQLITE_THREADSAFE=0", "-DSQLITE_OMIT_LOAD_EXTENSION", "-DSQLITE_OMIT_WAL",
             "-DSQLITE_OMIT_SHARED_CACHE", "-DSQLITE_OMIT_RANDOMNESS")
    return Workload(name, [src / "sqlite3.c", driver], args, flags, SQLITE_WASI_FLAGS)


def quickjs():
    src = crate_source("rquickjs-sys") / "quickjs"
    sources = [src / f"{n}.c" for n in ["quickjs", "libregexp", "libunicode", "dtoa"]]
    return Workload("quickjs", sources + [C / "quickjs_bench.c"], ["400"], (f"-I{src}", "-D_GNU_SOURCE"),
                    ("-D_WASI_EMULATED_PROCESS_CLOCKS", "-D_WASI_EMULATED_SIGNAL", "-lwasi-emulated-process-clocks",
                     "-lwasi-emulated-signal"))


def lua():
    """Lua 5.4 from the lua-src crate, without its standalone interpreter and compiler (lua.c, luac.c,
    which that crate leaves out anyway). c/lua/config.h replaces setjmp/longjmp, which wasi-libc lacks."""
    src = max(crate_source("lua-src").glob("lua-5.4.*"))
    sources = sorted(p for p in src.glob("*.c") if p.name not in ("lua.c", "luac.c"))
    flags = (f"-I{src}", "-w", "-include", str(C / "lua" / "config.h"))
    return Workload("lua", sources + [C / "lua_bench.c"], ["6"], flags,
                    (f"-I{C / 'lua' / 'wasi'}", "-D_WASI_EMULATED_SIGNAL", "-lwasi-emulated-signal"))


def workloads():
    """The programs of the whole-program comparison, with arguments for 0.2-2 s under a wasm runtime."""
    simple = [
        ("fib(30)", "fib", ["30"]),
        ("fib(36)", "fib", ["36"]),
        ("nbody", "nbody", ["2000000"]),
        ("sieve", "sieve", ["10000000", "8"]),
        ("matmul", "matmul", ["400", "4"]),
        ("sha256", "sha256", ["64"]),
        ("sort", "sort", ["2000000"]),
        ("hashtable", "hashtable", ["1500000"]),
        ("tak", "tak", ["150"]),
        ("strhash", "strhash", ["300000"]),
        ("hostcalls", "hostcalls", ["3000000"]),
    ]
    out = [Workload(name, [C / f"{src}.c"], args) for name, src, args in simple]
    return out + [sqlite("sqlite", WASI_C / "sqlite_driver.c", ["100000"]), zlib(), quickjs(), lua()]


def first_output_workloads():
    """Large programs that print a line as soon as they are initialized, then work for a while."""
    return [sqlite("sqlite-first", C / "sqlite_first.c", ["50000"]), quickjs(), lua()]


def select(candidates, only):
    """The workloads named in the comma-separated list `only` (all when it is empty)."""
    if not only:
        return candidates
    names = only.split(",")
    unknown = set(names) - {w.name for w in candidates}
    if unknown:
        sys.exit(f"unknown workloads {sorted(unknown)}; known: {', '.join(w.name for w in candidates)}")
    return [w for w in candidates if w.name in names]


def build(workload, build_dir, data_dir):
    """Builds the wasm and the native program (once per build directory); returns their paths."""
    wasm = build_dir / f"{workload.stem}.wasm"
    native = build_dir / workload.stem
    srcs = [str(s) for s in workload.sources]
    data = f'-DDATA_DIR="{data_dir}"'
    if not wasm.exists():
        subprocess.run(["clang-16", "--target=wasm32-wasi", "--sysroot=/usr", "-O2", data, *workload.flags, *srcs,
                        "-o", str(wasm), *workload.wasm_flags, "-lm"], check=True)
    if not native.exists():
        subprocess.run(["gcc", "-O2", data, *workload.flags, *srcs, "-o", str(native), "-lm", "-lpthread"],
                       check=True)
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
    """Removes what a previous run wrote, so that every run starts from the same files."""
    for f in ["test.db", "startup.db", "input.bin.gz", "output.bin"]:
        (data_dir / f).unlink(missing_ok=True)
