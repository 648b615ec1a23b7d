//! Runs the Rust examples of `examples/`, so that each keeps working as the API changes.

#[path = "../examples/typed.rs"]
mod typed;

#[test]
fn typed_example_runs() {
    typed::main().expect("the typed example succeeds");
}
