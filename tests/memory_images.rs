//! Memory images: the data segments of memory 0 laid out page by page and mapped copy-on-write into
//! each instance, from an artifact file, from bytes, or from the memory file of a module compiled in
//! the process; and large artifacts' checksums.

mod common;

use anyhow::{Context, Result, bail};
use std::path::PathBuf;
use wasmz::{
    ArtifactError, ArtifactInfo, BoundsChecks, Config, Engine, Error, Instance, Linker, Module,
    RawVal, Store, Val, ValType,
};

/// A small module with a memory and a data segment (no image).
const SMALL: &str = r#"(module (memory 1) (data (i32.const 16) "small"))"#;

fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("wasmz-images-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("temporary directory");
    dir
}

/// An instance of `module` with no imports, in a store of its own.
fn instantiate(engine: &Engine, module: &Module) -> Result<Instance> {
    Ok(Instance::new(
        &mut Store::new(engine),
        module,
        &Linker::new(),
    )?)
}

/// The artifact error of a load that must fail.
fn expect_artifact_error(result: Result<Module, Error>, what: &str) -> ArtifactError {
    match result {
        Err(Error::Artifact(err)) => err,
        Err(other) => panic!("{what}: expected an artifact error, got {other}"),
        Ok(_) => panic!("{what}: loaded"),
    }
}

/// The byte at index `i` of [`big_data_module`]'s large segment.
fn pattern(i: usize) -> u8 {
    (i * 7 % 251) as u8
}

/// A module with 1.2 MB of active data in memory 0 (enough for a memory image), a small active
/// segment after it and a passive one; `extra` goes inside the module (imports come first).
fn big_data_module(imports: &str, extra: &str) -> String {
    let mut data = String::with_capacity(4 << 20);
    for i in 0..1_200_000 {
        data.push_str(&format!("\\{:02x}", pattern(i)));
    }
    format!(
        r#"(module {imports}
          (memory (export "mem") 64)
          (data (i32.const 0x10010) "{data}")
          (data $passive "passive!")
          (data (i32.const 0x200000) "tail")
          (func (export "load8") (param i32) (result i32) (i32.load8_u (local.get 0)))
          (func (export "store8") (param i32 i32) (i32.store8 (local.get 0) (local.get 1)))
          (func (export "init") (param i32) (memory.init $passive (local.get 0) (i32.const 0) (i32.const 8)))
          {extra})"#
    )
}

/// Checks the initial contents of [`big_data_module`]'s memory through `inst` (sampled, and both ends).
fn check_big_data(inst: &mut Instance) -> Result<()> {
    let load8 = |inst: &mut Instance, addr: i32| -> Result<i32> {
        Ok(inst
            .call("load8", &[RawVal::from(addr)])?
            .values()
            .context("no trap")?[0]
            .read_as::<i32>())
    };
    for i in (0..1_200_000).step_by(4099).chain([1, 1_199_999]) {
        assert_eq!(
            load8(inst, 0x10010 + i as i32)?,
            i32::from(pattern(i)),
            "{i}"
        );
    }
    assert_eq!(load8(inst, 0x1000f)?, 0);
    assert_eq!(load8(inst, 0x10010 + 1_200_000)?, 0);
    let tail: Vec<i32> = (0..4)
        .map(|k| load8(inst, 0x200000 + k))
        .collect::<Result<_>>()?;
    assert_eq!(tail, [116, 97, 105, 108]);
    // The passive segment is untouched by the image.
    inst.call("init", &[RawVal::from(0x30_0000i32)])?;
    assert_eq!(load8(inst, 0x30_0000 + 7)?, i32::from(b'!'));
    Ok(())
}

#[test]
fn large_data_is_mapped_copy_on_write_from_the_artifact() -> Result<()> {
    let engine = Engine::default();
    let artifact = engine.precompile(big_data_module("", ""))?;
    let info = ArtifactInfo::parse(&artifact)?;
    assert!(info.memory_image_size >= 1_200_000, "{info:?}");
    assert_eq!(info.memory_image_offset % (64 * 1024), 0);
    assert_eq!(
        ArtifactInfo::parse(&engine.precompile(SMALL)?)?.memory_image_size,
        0
    );
    let dir = temp_dir("image");
    let path = dir.join("data.cwasm");
    std::fs::write(&path, &artifact)?;
    let module = common::deserialize_file(&engine, &path)?;
    let mut first = Instance::new(&mut Store::new(&engine), &module, &Linker::new())?;
    // Memory 0 starts with a private, writable mapping of the file.
    let canonical = path.canonicalize()?;
    let maps = std::fs::read_to_string("/proc/self/maps")?;
    assert!(
        maps.lines()
            .any(|l| l.ends_with(canonical.to_str().unwrap())
                && l.split_whitespace().nth(1) == Some("rw-p")),
        "no copy-on-write mapping of {}:\n{maps}",
        canonical.display()
    );
    check_big_data(&mut first)?;
    // Writes stay in their memory: a second instance, and the file, see the original bytes.
    first.call("store8", &[RawVal::from(0x10010i32), RawVal::from(0xeei32)])?;
    let mut second = Instance::new(&mut Store::new(&engine), &module, &Linker::new())?;
    check_big_data(&mut second)?;
    assert_eq!(std::fs::read(&path)?, artifact);
    // Loaded from bytes the image is copied, with the same contents; serializing either gives the
    // same artifact back.
    let copied = common::deserialize(&engine, &artifact)?;
    check_big_data(&mut instantiate(&engine, &copied)?)?;
    assert_eq!(module.serialize()?, artifact);
    assert_eq!(copied.serialize()?, artifact);
    // Memories made later, in the same place of the address space or not, start zeroed.
    drop((first, second, module));
    let plain = Module::compile(
        &engine,
        r#"(module (memory (export "mem") 64)
             (func (export "load8") (param i32) (result i32) (i32.load8_u (local.get 0))))"#,
    )?;
    for _ in 0..4 {
        let mut inst = Instance::new(&mut Store::new(&engine), &plain, &Linker::new())?;
        for addr in [0x10010, 0x10011, 0x100000, 0x200000] {
            let v = inst
                .call("load8", &[RawVal::from(addr)])?
                .values()
                .context("ok")?[0]
                .read_as::<i32>();
            assert_eq!(v, 0, "{addr:#x}");
        }
    }
    std::fs::remove_dir_all(&dir)?;
    Ok(())
}

#[test]
fn a_failed_instantiation_keeps_the_image_segments_for_memory_init() -> Result<()> {
    // The first element segment puts `$first4` into the imported table, the second is out of bounds:
    // instantiation fails before any data segment is applied, so `memory.init` of the image's
    // segment still copies its bytes.
    let extra = r#"
      (func $first4 (result i32)
        (memory.init 0 (i32.const 0) (i32.const 0) (i32.const 4))
        (i32.load (i32.const 0)))
      (elem (table $t) (i32.const 0) func $first4)
      (elem (table $t) (i32.const 5) func $first4)"#;
    let text = big_data_module(r#"(import "host" "t" (table $t 2 funcref))"#, extra);
    let engine = Engine::default();
    let artifact = engine.precompile(&text)?;
    let dir = temp_dir("image-failed");
    let path = dir.join("failed.cwasm");
    std::fs::write(&path, &artifact)?;
    for module in [
        common::deserialize_file(&engine, &path)?,
        common::deserialize(&engine, &artifact)?,
        Module::compile(&engine, &text)?,
    ] {
        let mut store = Store::new(&engine);
        let table = wasmz::Table::new(
            &mut store,
            wasmz::TableType {
                element: ValType::FuncRef,
                limits: wasmz::Limits { min: 2, max: None },
                table64: false,
            },
            Val::FuncRef(None),
        )?;
        let mut linker = Linker::new();
        linker.define_table("host", "t", table.clone())?;
        let err = Instance::new(&mut store, &module, &linker).expect_err("out of bounds");
        assert!(matches!(err, Error::Trap(_)), "{err}");
        let Some(Val::FuncRef(Some(f))) = table.get(0) else {
            bail!("no function in the table");
        };
        let mut out = [RawVal::default()];
        f.call(&[], &mut out)?.map_err(|t| anyhow::anyhow!("{t}"))?;
        let expected = i32::from_le_bytes([pattern(0), pattern(1), pattern(2), pattern(3)]);
        assert_eq!(out[0].read_as::<i32>(), expected);
    }
    std::fs::remove_dir_all(&dir)?;
    Ok(())
}

/// A module with one memory of `pages` pages and one active data segment of `len` bytes at 0, built
/// byte by byte (a text module of that size would take long to parse).
fn module_with_data(pages: u32, len: usize) -> Vec<u8> {
    module_with_data_at(pages, len, false, 0)
}

/// As [`module_with_data`], the segment at `at`, in a 64-bit memory when `memory64`.
fn module_with_data_at(pages: u32, len: usize, memory64: bool, at: u32) -> Vec<u8> {
    fn leb(mut v: u64, out: &mut Vec<u8>) {
        loop {
            let byte = (v & 0x7f) as u8;
            v >>= 7;
            out.push(if v == 0 { byte } else { byte | 0x80 });
            if v == 0 {
                return;
            }
        }
    }
    let mut wasm = b"\0asm\x01\0\0\0".to_vec();
    let mut memory = vec![1, if memory64 { 4 } else { 0 }];
    leb(u64::from(pages), &mut memory);
    wasm.push(5);
    leb(memory.len() as u64, &mut wasm);
    wasm.extend(memory);
    // Export the memory as "mem".
    wasm.extend([7, 7, 1, 3, b'm', b'e', b'm', 2, 0]);
    let mut data = vec![1, 0, if memory64 { 0x42 } else { 0x41 }];
    // A signed LEB128 of `at` (non-negative, below 2^31).
    let mut v = u64::from(at);
    loop {
        let byte = (v & 0x7f) as u8;
        v >>= 7;
        if v == 0 && byte & 0x40 == 0 {
            data.push(byte);
            break;
        }
        data.push(byte | 0x80);
    }
    data.push(0x0b);
    leb(len as u64, &mut data);
    data.extend((0..len).map(|i| (i % 253) as u8));
    wasm.push(11);
    leb(data.len() as u64, &mut wasm);
    wasm.extend(data);
    wasm
}

#[test]
fn a_flipped_byte_anywhere_in_a_large_artifact_is_refused() -> Result<()> {
    let engine = Engine::default();
    let artifact = engine.precompile(module_with_data(200, 10 << 20))?;
    assert!(artifact.len() > 10 << 20);
    common::deserialize(&engine, &artifact)?;
    for at in [
        100,
        artifact.len() / 3,
        artifact.len() / 2,
        artifact.len() - 17,
    ] {
        let mut bad = artifact.clone();
        bad[at] ^= 0x04;
        let err = expect_artifact_error(common::deserialize(&engine, &bad), "flipped");
        assert!(
            matches!(err, ArtifactError::ChecksumMismatch),
            "{at}: {err:?}"
        );
    }
    Ok(())
}

#[test]
fn memory_images_fill_64_bit_and_explicitly_checked_memories() -> Result<()> {
    let dir = temp_dir("image-kinds");
    let len = (1 << 20) + 4321;
    for (memory64, bounds) in [
        (false, BoundsChecks::Explicit),
        (true, BoundsChecks::GuardPages),
        (true, BoundsChecks::Explicit),
    ] {
        let engine = Engine::new(Config::new().bounds_checks(bounds))?;
        let at = 3 * 65536 + 100;
        let artifact = engine.precompile(module_with_data_at(40, len, memory64, at))?;
        let path = dir.join(format!("m{memory64}-{bounds:?}.cwasm"));
        std::fs::write(&path, &artifact)?;
        for module in [
            common::deserialize_file(&engine, &path)?,
            common::deserialize(&engine, &artifact)?,
        ] {
            let inst = Instance::new(&mut Store::new(&engine), &module, &Linker::new())?;
            let mem = inst.memory("mem").context("memory export")?;
            let mut bytes = vec![0u8; len + 200];
            mem.read(u64::from(at) - 100, &mut bytes)?;
            assert!(
                bytes[..100].iter().all(|&b| b == 0),
                "{memory64} {bounds:?}"
            );
            assert!(
                bytes[len + 100..].iter().all(|&b| b == 0),
                "{memory64} {bounds:?}"
            );
            for (i, &b) in bytes[100..len + 100].iter().enumerate() {
                assert_eq!(b, (i % 253) as u8, "{memory64} {bounds:?} byte {i}");
            }
        }
    }
    std::fs::remove_dir_all(&dir)?;
    Ok(())
}

#[test]
fn compiled_modules_map_their_memory_image_from_a_memory_file() -> Result<()> {
    let text = big_data_module("", "");
    for config in [
        Config::new(),
        Config::new().lazy_compilation(true).clone(),
        Config::new().background_compilation(true).clone(),
    ] {
        let engine = Engine::new(&config)?;
        let module = Module::compile(&engine, &text)?;
        let mut first = Instance::new(&mut Store::new(&engine), &module, &Linker::new())?;
        let maps = std::fs::read_to_string("/proc/self/maps")?;
        assert!(
            maps.lines().any(|l| l.contains("memfd:wasmz-memory-image")
                && l.split_whitespace().nth(1) == Some("rw-p")),
            "no copy-on-write mapping of the memory file:\n{maps}"
        );
        check_big_data(&mut first)?;
        first.call("store8", &[RawVal::from(0x10010i32), RawVal::from(0xeei32)])?;
        check_big_data(&mut Instance::new(
            &mut Store::new(&engine),
            &module,
            &Linker::new(),
        )?)?;
        // Its artifact holds the same image.
        let artifact = module.serialize()?;
        check_big_data(&mut instantiate(
            &engine,
            &common::deserialize(&engine, &artifact)?,
        )?)?;
    }
    Ok(())
}

#[test]
fn an_empty_segment_outside_the_image_loads_and_applies() -> Result<()> {
    let engine = Engine::default();
    let artifact = engine.precompile(big_data_module("", r#"(data (i32.const 0) "")"#))?;
    assert!(ArtifactInfo::parse(&artifact)?.memory_image_size > 0);
    let dir = temp_dir("image-empty");
    let path = dir.join("empty.cwasm");
    std::fs::write(&path, &artifact)?;
    for module in [
        common::deserialize_file(&engine, &path)?,
        common::deserialize(&engine, &artifact)?,
    ] {
        check_big_data(&mut instantiate(&engine, &module)?)?;
    }
    std::fs::remove_dir_all(&dir)?;
    Ok(())
}

#[test]
fn the_cache_keeps_the_memory_image() -> Result<()> {
    let dir = temp_dir("image-cache");
    let mut config = Config::new();
    // SAFETY: a directory of this test's own, which only wasmz writes.
    unsafe { config.cache_dir(Some(dir.clone())) };
    let engine = Engine::new(&config)?;
    let text = big_data_module("", "");
    // Compiled and written to the cache, then loaded from it.
    for _ in 0..2 {
        let module = Module::compile(&engine, &text)?;
        check_big_data(&mut instantiate(&engine, &module)?)?;
    }
    let entries: Vec<_> = std::fs::read_dir(&dir)?.collect::<Result<_, _>>()?;
    assert_eq!(entries.len(), 1, "{entries:?}");
    let entry = std::fs::read(entries[0].path())?;
    // An entry is the artifact followed by its 32-byte cache key.
    let info = ArtifactInfo::parse(&entry[..entry.len() - 32])?;
    assert!(info.memory_image_size >= 1_200_000, "{info:?}");
    std::fs::remove_dir_all(&dir)?;
    Ok(())
}
