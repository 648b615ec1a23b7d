//! Linear memories reuse address-space reservations of dropped ones: a new instance must still see a
//! memory of its declared size, zeroed apart from its data segments, trapping beyond its end.

use wasmz::{Engine, ExecResult, Instance, Linker, Module, RawVal, Store};

const WAT: &str = r#"
(module
  (memory (export "memory") 1 4)
  (data (i32.const 8) "seed")
  (func (export "load") (param i32) (result i32) (i32.load8_u (local.get 0)))
  (func (export "store") (param i32 i32) (i32.store8 (local.get 0) (local.get 1)))
  (func (export "grow") (param i32) (result i32) (memory.grow (local.get 0))))
"#;

fn value(r: ExecResult) -> i32 {
    r.values().expect("no trap")[0].read_as::<i32>()
}

#[test]
fn reused_memories_start_at_their_minimum_size_zeroed() {
    let engine = Engine::default();
    let module = Module::compile(&engine, WAT).expect("compiles");
    for round in 0..8 {
        let mut store = Store::new(&engine);
        let mut instance =
            Instance::new(&mut store, &module, &Linker::new()).expect("instantiates");
        let memory = instance.memory("memory").expect("exported");
        assert_eq!(memory.size_pages(), 1, "round {round}");
        let mut bytes = vec![0xffu8; 4 * 65536];
        memory.read(0, &mut bytes[..65536]).expect("in bounds");
        assert_eq!(&bytes[8..12], b"seed");
        bytes[8..12].fill(0);
        assert!(
            bytes[..65536].iter().all(|b| *b == 0),
            "round {round}: memory not zeroed"
        );
        // One past the initial size traps (the guard region is back in place).
        let r = instance.call("load", &[RawVal::from(65536)]).expect("call");
        assert!(matches!(r, ExecResult::Trap(_)), "round {round}");
        // Dirty everything and grow to the maximum before dropping the store.
        assert_eq!(
            value(instance.call("grow", &[RawVal::from(3)]).expect("call")),
            1
        );
        memory.write(0, &vec![0xa5; 4 * 65536]).expect("in bounds");
        instance
            .call("store", &[RawVal::from(4 * 65536 - 1), RawVal::from(7)])
            .expect("call")
            .values()
            .expect("no trap");
        assert_eq!(
            value(
                instance
                    .call("load", &[RawVal::from(4 * 65536 - 1)])
                    .expect("call")
            ),
            7
        );
        drop(instance);
        drop(memory);
        drop(store);
    }
}
