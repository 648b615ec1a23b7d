//! Builds the small C helper that brackets a wasm call with `sigsetjmp` (see `src/traphandlers/helpers.c`).

fn main() {
    println!("cargo:rerun-if-changed=src/traphandlers/helpers.c");
    cc::Build::new()
        .file("src/traphandlers/helpers.c")
        .warnings(true)
        .compile("wasmz_trap_helpers");
}
