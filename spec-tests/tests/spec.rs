//! Runs the WebAssembly spec test suite against wasmz (see the `wasmz_spec_tests` crate docs).

fn main() -> std::process::ExitCode {
    wasmz_spec_tests::cli::main()
}
