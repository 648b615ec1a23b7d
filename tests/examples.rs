//! Runs the Rust examples of `examples/`, so that each keeps working as the API changes.

#[path = "../examples/typed.rs"]
mod typed;

#[path = "../examples/host_callbacks.rs"]
mod host_callbacks;

#[path = "../examples/pre_instantiate.rs"]
mod pre_instantiate;

#[path = "../examples/limits.rs"]
mod limits;

#[path = "../examples/readable_traps.rs"]
mod readable_traps;

#[path = "../examples/host_funcref.rs"]
mod host_funcref;

#[path = "../examples/errors.rs"]
mod errors;

#[test]
fn typed_example_runs() {
    typed::main().expect("the typed example succeeds");
}

#[test]
fn host_callbacks_example_runs() {
    host_callbacks::main().expect("the host callbacks example succeeds");
}

#[test]
fn pre_instantiate_example_runs() {
    pre_instantiate::main().expect("the pre-instantiation example succeeds");
}

#[test]
fn limits_example_runs() {
    limits::main().expect("the limits example succeeds");
}

#[test]
fn readable_traps_example_runs() {
    readable_traps::main().expect("the readable traps example succeeds");
}

#[test]
fn host_funcref_example_runs() {
    host_funcref::main().expect("the host funcref example succeeds");
}

#[test]
fn errors_example_runs() {
    errors::main().expect("the errors example succeeds");
}
