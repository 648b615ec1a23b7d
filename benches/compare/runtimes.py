"""The command lines that run a program natively and under each runtime."""

# `wasmz run` flags of each wasmz variant. Plain `wasmz run` compiles in the background without a cache
# and eagerly with one.
WASMZ_VARIANTS = {"wasmz": [], "wasmz-eager": ["--eager"], "wasmz-lazy": ["--lazy"]}


def command(runtime, tools, wasm, native, args, cache_dir=None):
    """The command line running a program. Every program finds its data under the same absolute path
    natively and in wasm: wasmi's --dir cannot rename a directory, and SQLite checks every component of a
    database's path, so the guest gets the host's root directory."""
    dir_arg = "/"
    if runtime == "native":
        return [native, *args]
    if runtime in WASMZ_VARIANTS:
        cache = ["--cache", cache_dir] if cache_dir else []
        return [tools["wasmz"], "run", *cache, *WASMZ_VARIANTS[runtime], "--dir", dir_arg, wasm, *args]
    if runtime == "wasmtime":
        cache = "cache=y" if cache_dir else "cache=n"
        return [tools["wasmtime"], "run", "-C", cache, "--dir", dir_arg, wasm, *args]
    if runtime == "wasmi":
        return [tools["wasmi"], "run", "--dir", dir_arg, wasm, *args]
    raise ValueError(runtime)
