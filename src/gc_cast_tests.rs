//! Casts against struct and array types on stand-in objects: without allocating, they check that
//! compiled casts read the canonical type id in the first 4 bytes of an object and follow declared
//! subtyping.

use crate::{Engine, Instance, Linker, Module, RawVal, Store};

/// Casts to struct and array types read the canonical type id in the first 4 bytes of an object.
/// There is no GC heap to allocate from here, so the objects are stand-ins: 8-byte aligned
/// buffers holding just that header.
#[test]
fn casts_read_the_canonical_type_id_of_objects() {
    let engine = Engine::default();
    let module = Module::compile(
        &engine,
        r#"(module
          (type $t0 (sub (struct)))
          (type $t1 (sub $t0 (struct (field i32))))
          (type $t2 (sub final $t1 (struct (field i32 i32))))
          (type $a (array i8))
          (func (export "t0") (param anyref) (result i32) (ref.test (ref $t0) (local.get 0)))
          (func (export "t1") (param anyref) (result i32) (ref.test (ref $t1) (local.get 0)))
          (func (export "t2") (param anyref) (result i32) (ref.test (ref $t2) (local.get 0)))
          (func (export "a") (param anyref) (result i32) (ref.test (ref $a) (local.get 0)))
          (func (export "struct") (param anyref) (result i32) (ref.test (ref struct) (local.get 0)))
          (func (export "array") (param anyref) (result i32) (ref.test (ref array) (local.get 0)))
          (func (export "eq") (param anyref) (result i32) (ref.test (ref eq) (local.get 0)))
          (func (export "i31") (param anyref) (result i32) (ref.test (ref i31) (local.get 0))))"#,
    )
    .expect("compiles");
    let ids = module.runtime.type_ids.clone();
    let mut inst =
        Instance::new(&mut Store::new(&engine), &module, &Linker::new()).expect("instance");
    let names = ["t0", "t1", "t2", "a", "struct", "array", "eq", "i31"];
    for (type_index, expected) in [
        (0, [1, 0, 0, 0, 1, 0, 1, 0]),
        (1, [1, 1, 0, 0, 1, 0, 1, 0]),
        (2, [1, 1, 1, 0, 1, 0, 1, 0]),
        (3, [0, 0, 0, 1, 0, 1, 1, 0]),
    ] {
        let object: Box<[u64; 2]> = Box::new([u64::from(ids[type_index]), 0]);
        // Passed as a raw word: the functions only test it, and allocate nothing.
        let word = RawVal::from_u64(object.as_ptr() as u64);
        for (name, want) in names.iter().zip(expected) {
            let got = inst
                .call(name, &[word])
                .expect("call")
                .into_result()
                .expect("no trap");
            assert_eq!(
                got[0].read_as::<i32>(),
                want,
                "object of type {type_index}, {name}"
            );
        }
    }
}
