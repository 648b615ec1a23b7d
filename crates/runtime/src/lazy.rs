//! Lazy compilation: a module whose functions and trampolines are compiled on first use.
//!
//! The runtime does not know how to compile; the embedder gives a [`LazyModule`] a [`LazyCompiler`] that
//! turns one [`LazyItem`] into machine code. Each item gets code once per module: a thread that needs
//! it compiles it unless it has code already. A thread that needs a function another thread is
//! compiling waits for that code until a few times the function's compile time after that thread
//! started (see `patience`), and only then compiles it too (the first code stored is used by all,
//! the other is dropped unused): the program's thread then never redoes the work of a background
//! thread that started first, yet never waits long on one that gets no processor. Its code is
//! appended to the module's code arena (see `code_arena`; a fresh mapping of its own where there is
//! none), never written again, so other threads may run it while more code is added. Each piece of
//! code is registered with the code registry like a whole module's image, so trap codes and
//! backtrace names work the same for lazily compiled code.
//!
//! Until a function has code, its instances' `VMFuncRef`s point to its compile-on-call stub (see
//! `lazy_stubs`), so calls between the functions of a module need no check. A `VMFuncRef` copied into an
//! importing instance starts null instead: calls of imports and of table elements check for null and
//! ask for the code through the `LazyCompile` builtin; host calls do the same through
//! [`resolve_funcref`] before entering wasm.

use crate::code_arena::CodeArena;
use crate::code_memory::CodeMemory;
use crate::instance::Instance;
use crate::lazy_stubs::LazyStubs;
use crate::thread_cpu::ThreadClock;
use crate::vmcontext::VMFuncRef;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex, OnceLock, PoisonError};
use std::time::{Duration, Instant};
use wasmz_environ::{CodeImage, ModuleInfo, TrapCode};

/// Something a lazily compiled module compiles on demand.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LazyItem {
    /// A defined function, by its index in the module's function index space.
    Function(u32),
    /// The entry trampoline (host → wasm) of a type of the type section.
    EntryTrampoline(u32),
    /// The host trampoline (wasm → host function) of a type of the type section.
    HostTrampoline(u32),
}

/// The machine code of one [`LazyItem`]: position independent, with no relocations left.
#[derive(Debug, Clone, Default)]
pub struct LazyCode {
    /// The machine code.
    pub code: Vec<u8>,
    /// Trap sites (offsets into `code`), sorted by offset.
    pub traps: Vec<(u32, TrapCode)>,
    /// Exception handlers of the calls inside `try_table`s: (return address, handler, frame pointer
    /// minus stack pointer), offsets into `code`, sorted by return address.
    pub handlers: Vec<(u32, u32, u32)>,
    /// Stack maps of the calls with live GC references: (return address, slots as distances below
    /// the frame pointer), sorted by return address.
    pub stack_maps: Vec<(u32, Vec<u32>)>,
    /// The address map: (code offset, wasm module offset), sorted (see `CodeImage::address_map`).
    pub address_map: Vec<(u32, u32)>,
    /// Where the code should start past a 64-byte line boundary (0 for most code): the compiler's
    /// choice that keeps its innermost loop inside one fetch window.
    pub start_phase: u32,
}

/// Compiles the items of one module on demand (implemented by the embedder, which owns the compiler).
///
/// # Safety
/// What [`LazyCompiler::compile`] returns is published as executable code and called by wasm code and
/// by the host: it must be machine code that wasmz's compiler produced for this host and for `item` of
/// the module described by `info`, with its metadata (trap sites, handlers, stack maps) as the
/// compiler laid it out. Anything else is arbitrary native code.
pub unsafe trait LazyCompiler: Send + Sync {
    /// Compiles `item` of the module described by `info`.
    ///
    /// # Errors
    /// A message saying why the item cannot be compiled.
    fn compile(&self, info: &ModuleInfo, item: LazyItem) -> Result<LazyCode, String>;
}

type Slot = OnceLock<Result<CodeMemory, String>>;

/// The lazily compiled code of one module, shared by all its instances on every thread.
pub struct LazyModule {
    compiler: Box<dyn LazyCompiler>,
    /// One slot per defined function.
    functions: Box<[Slot]>,
    /// Per defined function: 0 until some thread starts compiling it; then, in the low 32 bits, 1 plus
    /// the milliseconds from `created` to that start and, in the high 32 bits, that thread's
    /// processor-time clock (0 where there is none; see [`LazyModule::compile_ahead`] and
    /// [`patience`]).
    claimed: Box<[AtomicU64]>,
    /// When the module was made: the origin of the times in `claimed`.
    created: Instant,
    /// One slot per type for entry trampolines.
    entry: Box<[Slot]>,
    /// One slot per type for host trampolines.
    host: Box<[Slot]>,
    /// Bytes of machine code compiled so far.
    code_bytes: AtomicUsize,
    /// The compile-on-call stub of each defined function.
    stubs: LazyStubs,
    /// Where compiled code goes, made at the first compilation (`None` if it could not be made).
    arena: OnceLock<Option<Arc<CodeArena>>>,
    /// Signalled (with `stored_lock` held) whenever an item's code is stored, for threads waiting for
    /// an item that another thread is compiling.
    stored: Condvar,
    stored_lock: Mutex<()>,
}

/// How long after another thread started compiling function `func` a thread that needs it stops
/// waiting for that code and compiles the function itself: 2 ms plus 2 µs per byte of its body, two
/// to four times what compiling it takes when the compiling thread runs (0.5 to 1 µs per byte on the
/// development machine). It stops sooner when, after [`STARVED_AFTER`] of waiting, the compiling
/// thread has had less than a quarter of a processor since the wait began: a background thread runs
/// at nice 19, and on a busy machine it hardly runs at all.
fn patience(info: &ModuleInfo, func: u32) -> Duration {
    let body = func
        .checked_sub(info.num_imported_funcs)
        .and_then(|d| info.bodies.get(d as usize))
        .map_or(0, |b| b.end - b.start);
    Duration::from_millis(2) + Duration::from_micros(body.saturating_mul(2))
}

/// How long a thread waits before it judges whether the thread it waits for runs (and how often it
/// looks again after that).
const STARVED_AFTER: Duration = Duration::from_millis(2);

/// Bytes of address space to reserve for the code of the module described by `info`: generously more
/// than compiled code takes (a few bytes of machine code per byte of wasm, plus trampolines). Code that
/// does not fit goes into mappings of its own.
fn arena_capacity(info: &ModuleInfo) -> usize {
    let wasm_bytes: u64 = info.bodies.iter().map(|b| b.end - b.start).sum();
    let bytes = wasm_bytes
        .saturating_mul(16)
        .saturating_add(info.types.len() as u64 * 1024)
        .saturating_add(1 << 20);
    usize::try_from(bytes.min(1 << 32)).unwrap_or(1 << 32)
}

fn slots(n: usize) -> Box<[Slot]> {
    (0..n).map(|_| OnceLock::new()).collect()
}

impl LazyModule {
    /// A module described by `info` with nothing compiled yet.
    ///
    /// # Errors
    /// When the memory for the functions' compile-on-call stubs cannot be mapped.
    pub fn new(info: &ModuleInfo, compiler: Box<dyn LazyCompiler>) -> std::io::Result<LazyModule> {
        Ok(LazyModule {
            compiler,
            functions: slots(info.functions.len() - info.num_imported_funcs as usize),
            claimed: (info.num_imported_funcs as usize..info.functions.len())
                .map(|_| AtomicU64::new(0))
                .collect(),
            created: Instant::now(),
            entry: slots(info.types.len()),
            host: slots(info.types.len()),
            code_bytes: AtomicUsize::new(0),
            stubs: LazyStubs::new(info)?,
            arena: OnceLock::new(),
            stored: Condvar::new(),
            stored_lock: Mutex::new(()),
        })
    }

    /// The code arena of the module described by `info`, made on first use.
    fn arena(&self, info: &ModuleInfo) -> Option<&Arc<CodeArena>> {
        self.arena
            .get_or_init(|| CodeArena::new(arena_capacity(info)).ok().map(Arc::new))
            .as_ref()
    }

    /// The functions' compile-on-call stubs.
    pub(crate) fn stubs(&self) -> &LazyStubs {
        &self.stubs
    }

    /// The code of defined function `func` (in the function index space) if it has been compiled,
    /// else its compile-on-call stub; null if there is no such function.
    pub fn code_or_stub(&self, info: &ModuleInfo, func: u32) -> *const u8 {
        let code = self.get(info, LazyItem::Function(func));
        if !code.is_null() {
            return code;
        }
        self.stubs.stub(func).unwrap_or(std::ptr::null())
    }

    /// Whether `code` is one of the module's compile-on-call stubs.
    pub fn is_stub(&self, code: *const u8) -> bool {
        self.stubs.contains(code)
    }

    /// Bytes of machine code compiled so far (each item starts on a 64-byte line, and arenas are
    /// filled a page at a time, so the memory used is larger).
    pub fn code_bytes(&self) -> usize {
        self.code_bytes.load(Ordering::Relaxed)
    }

    /// How many defined functions have been compiled (successfully or not) so far.
    pub fn compiled_functions(&self) -> usize {
        self.functions.iter().filter(|s| s.get().is_some()).count()
    }

    fn slot(&self, item: LazyItem, info: &ModuleInfo) -> Option<&Slot> {
        match item {
            LazyItem::Function(f) => self
                .functions
                .get(f.checked_sub(info.num_imported_funcs)? as usize),
            LazyItem::EntryTrampoline(t) => self.entry.get(t as usize),
            LazyItem::HostTrampoline(t) => self.host.get(t as usize),
        }
    }

    fn claim(&self, info: &ModuleInfo, item: LazyItem) -> Option<&AtomicU64> {
        match item {
            LazyItem::Function(f) => self
                .claimed
                .get(f.checked_sub(info.num_imported_funcs)? as usize),
            _ => None,
        }
    }

    /// Compiles defined function `func` (an index in the function index space) unless some thread has
    /// compiled it or is compiling it: for threads that compile ahead of the program, which should
    /// move on to the next function rather than compile one that the program's thread is compiling
    /// because it is about to call it. (A thread that needs the code waits for it in
    /// [`LazyModule::ensure`], within limits, when another thread is compiling it.)
    pub fn compile_ahead(&self, info: &ModuleInfo, func: u32) {
        let item = LazyItem::Function(func);
        let (Some(claim), Some(slot)) = (self.claim(info, item), self.slot(item, info)) else {
            return;
        };
        if self.stake(claim).is_none() && slot.get().is_none() {
            // A function that fails to compile traps at its first call, with this message; nothing
            // to report here.
            self.compile_into(info, item, slot);
        }
    }

    /// The code of `item` if it has been compiled already, else null.
    pub fn get(&self, info: &ModuleInfo, item: LazyItem) -> *const u8 {
        match self.slot(item, info).and_then(OnceLock::get) {
            Some(Ok(code)) => code.at(0),
            _ => std::ptr::null(),
        }
    }

    /// The code of `item`, compiling it first if no thread has yet; if another thread is compiling it,
    /// waiting for that code first (see `patience`).
    ///
    /// # Errors
    /// Why the item could not be compiled (the same message every time it is asked for).
    pub fn ensure(&self, info: &ModuleInfo, item: LazyItem) -> Result<*const u8, String> {
        let slot = self
            .slot(item, info)
            .ok_or_else(|| format!("{item:?} does not exist in the module"))?;
        if slot.get().is_none() {
            let elsewhere = self.claim(info, item).and_then(|claim| self.stake(claim));
            if let (Some((started, clock)), LazyItem::Function(func)) = (elsewhere, item) {
                self.wait_for(slot, started + patience(info, func), clock);
            }
            if slot.get().is_none() {
                self.compile_into(info, item, slot);
            }
        }
        let result = slot.get().expect("set above");
        match result {
            Ok(code) => Ok(code.at(0)),
            Err(e) => Err(e.clone()),
        }
    }

    /// Compiles `item` and stores its code (or why it could not be compiled) in `slot` unless another
    /// thread stored it first, then wakes the threads waiting for code.
    fn compile_into(&self, info: &ModuleInfo, item: LazyItem, slot: &Slot) {
        let compiled = self.compile(info, item);
        let len = compiled.as_ref().map_or(0, |(_, len)| *len);
        if slot.set(compiled.map(|(code, _)| code)).is_ok() {
            self.code_bytes.fetch_add(len, Ordering::Relaxed);
        }
        // Taking the lock orders this wake-up after any waiter's last look at its slot.
        let _held = self
            .stored_lock
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        self.stored.notify_all();
    }

    /// Milliseconds since the module was made.
    fn millis(&self) -> u32 {
        u32::try_from(self.created.elapsed().as_millis()).unwrap_or(u32::MAX - 1)
    }

    /// Records in `claim` that this thread starts compiling its function now, unless another thread
    /// did first: then returns when that thread started, and its processor-time clock.
    fn stake(&self, claim: &AtomicU64) -> Option<(Instant, Option<ThreadClock>)> {
        let millis = self.millis();
        let clock = ThreadClock::current().map_or(0, ThreadClock::to_bits);
        let word = u64::from(clock) << 32 | u64::from(millis + 1);
        match claim.compare_exchange(0, word, Ordering::AcqRel, Ordering::Acquire) {
            Ok(_) => None,
            Err(theirs) => {
                let started = Duration::from_millis(u64::from(theirs as u32) - 1);
                Some((
                    self.created + started,
                    ThreadClock::from_bits((theirs >> 32) as u32),
                ))
            }
        }
    }

    /// Waits until `slot` holds code, `deadline` has passed, or the thread compiling it (whose
    /// processor-time clock is `clock`) has run less than a quarter of the time since the wait began,
    /// judged from [`STARVED_AFTER`] on.
    fn wait_for(&self, slot: &Slot, deadline: Instant, clock: Option<ThreadClock>) {
        let began = Instant::now();
        if began >= deadline {
            // Most often on a busy machine, where the other thread claimed the function long ago:
            // no need to read its clock.
            return;
        }
        let used = || clock.and_then(ThreadClock::used);
        let used_before = used();
        let mut held = self
            .stored_lock
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        while slot.get().is_none() {
            let now = Instant::now();
            if now >= deadline {
                return;
            }
            let waited = now - began;
            if waited >= STARVED_AFTER
                && let (Some(before), Some(after)) = (used_before, used())
                && after.saturating_sub(before) * 4 < waited
            {
                return;
            }
            let nap = (deadline - now).min(STARVED_AFTER / 2);
            held = self
                .stored
                .wait_timeout(held, nap)
                .unwrap_or_else(PoisonError::into_inner)
                .0;
        }
    }

    /// Compiles and publishes `item`: its code and the code's size in bytes.
    fn compile(&self, info: &ModuleInfo, item: LazyItem) -> Result<(CodeMemory, usize), String> {
        // The compiler runs inside a builtin called by wasm code, which must not unwind.
        let compiled = crate::panics::catch_panic(|| self.compiler.compile(info, item))
            .unwrap_or_else(|what| Err(format!("internal compiler error: {what}")))?;
        let len =
            u32::try_from(compiled.code.len()).map_err(|_| format!("{item:?} is too large"))?;
        let mut traps = compiled.traps;
        traps.sort_by_key(|(offset, _)| *offset);
        let mut image = CodeImage {
            traps: traps.into_iter().collect(),
            handlers: compiled.handlers,
            stack_maps: compiled.stack_maps,
            address_map: compiled.address_map.into_iter().collect(),
            ..CodeImage::default()
        };
        image.stack_maps.sort_by_key(|(offset, _)| *offset);
        image.handlers.sort_by_key(|(offset, _, _)| *offset);
        match item {
            LazyItem::Function(f) => {
                image.functions = std::iter::once(0..len).collect();
                image.num_imported_funcs = f;
                if let Some(name) = info.func_names.get(&f) {
                    image.func_names = vec![(f, name.clone())];
                }
            }
            LazyItem::EntryTrampoline(_) => image.entry_trampolines = vec![0],
            LazyItem::HostTrampoline(_) => image.host_trampolines = vec![0],
        }
        // SAFETY: the code comes from the `LazyCompiler`, whose contract is that it is what wasmz's
        // compiler produced for `item`, described by `image`.
        let code = unsafe {
            CodeMemory::publish_function(
                self.arena(info),
                image,
                &compiled.code,
                compiled.start_phase,
            )
        }
        .map_err(|e| format!("cannot map code memory: {e}"))?;
        Ok((code, compiled.code.len()))
    }
}

/// Makes sure the function behind `funcref` has code: compiles it when its code pointer is null and stores
/// the code pointer into `*funcref`. Returns the code pointer.
///
/// # Safety
/// `funcref` must point to a live `VMFuncRef` of the calling thread's store (a vmctx slot, or a copy of
/// one in an importing instance's vmctx), not accessed by anything else during the call.
///
/// # Errors
/// Why the function could not be compiled.
pub unsafe fn resolve_funcref(funcref: *mut VMFuncRef) -> Result<*const u8, String> {
    // SAFETY: valid and unaliased per the caller's contract.
    let f = unsafe { &mut *funcref };
    if !f.wasm_call.is_null() {
        return Ok(f.wasm_call);
    }
    if f.func_index == VMFuncRef::HOST {
        return Err("a host function reference has no code".into());
    }
    // SAFETY: a wasm function's `VMFuncRef` holds its defining instance's vmctx, alive as long as the
    // store that owns the reference.
    let instance = unsafe { Instance::from_vmctx(f.vmctx.cast()) };
    let module = instance.module();
    let lazy = module
        .lazy
        .as_ref()
        .ok_or_else(|| format!("function {} has no code", f.func_index))?;
    let code = lazy
        .ensure(&module.info, LazyItem::Function(f.func_index))
        .map_err(|e| format!("function {} failed to compile: {e}", f.func_index))?;
    f.wasm_call = code;
    Ok(code)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::mpsc;

    /// A module of one defined function `() -> ()` whose body the tests pretend is `body_len` bytes
    /// long (which sets how long a thread waits for another's compilation of it).
    fn one_function(body_len: u64) -> ModuleInfo {
        let wasm = [
            0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00, // magic, version
            0x01, 0x04, 0x01, 0x60, 0x00, 0x00, // types: () -> ()
            0x03, 0x02, 0x01, 0x00, // functions: one of type 0
            0x0a, 0x04, 0x01, 0x02, 0x00, 0x0b, // code: an empty body
        ];
        let mut info =
            wasmz_environ::parse_module(&wasm, wasmz_environ::wasmparser::WasmFeatures::default())
                .expect("valid module");
        info.bodies[0] = 0..body_len;
        info
    }

    /// Fails every compilation with the number of the call; the first call returns only when
    /// `release` says so, meanwhile spinning (a compiling thread that runs) or blocked (one that gets
    /// no processor).
    struct Numbered {
        calls: AtomicUsize,
        spins: bool,
        started: Mutex<mpsc::Sender<()>>,
        release: Mutex<mpsc::Receiver<()>>,
    }

    // SAFETY: it never returns code.
    unsafe impl LazyCompiler for Numbered {
        fn compile(&self, _: &ModuleInfo, _: LazyItem) -> Result<LazyCode, String> {
            let call = self.calls.fetch_add(1, Ordering::SeqCst) + 1;
            if call == 1 {
                let _ = self.started.lock().unwrap().send(());
                let release = self.release.lock().unwrap();
                if self.spins {
                    while let Err(mpsc::TryRecvError::Empty) = release.try_recv() {
                        std::hint::spin_loop();
                    }
                } else {
                    let _ = release.recv();
                }
            }
            Err(format!("call {call}"))
        }
    }

    /// A module whose first compilation blocks until the returned sender sends (or is dropped), with
    /// a receiver that hears when that compilation has started.
    fn blocking_module(
        body_len: u64,
        spins: bool,
    ) -> (
        ModuleInfo,
        Arc<LazyModule>,
        mpsc::Receiver<()>,
        mpsc::Sender<()>,
    ) {
        let info = one_function(body_len);
        let (started_tx, started_rx) = mpsc::channel();
        let (release_tx, release_rx) = mpsc::channel();
        let compiler = Numbered {
            calls: AtomicUsize::new(0),
            spins,
            started: Mutex::new(started_tx),
            release: Mutex::new(release_rx),
        };
        let lazy = Arc::new(LazyModule::new(&info, Box::new(compiler)).expect("stubs"));
        (info, lazy, started_rx, release_tx)
    }

    #[test]
    fn a_thread_that_needs_a_function_waits_for_the_thread_compiling_it() {
        // A large body: the second thread waits for seconds before it would compile on its own, as
        // long as the first one runs.
        let (info, lazy, started, release) = blocking_module(1 << 20, true);
        let ahead = {
            let (info, lazy) = (info.clone(), lazy.clone());
            std::thread::spawn(move || lazy.compile_ahead(&info, 0))
        };
        started.recv().expect("the first compilation starts");
        // Whether the compiling thread gets its share of a processor depends on the machine's load
        // (tests run side by side): forget its clock, so that only the deadline ends the wait here.
        lazy.claimed[0].fetch_and(u64::from(u32::MAX), Ordering::AcqRel);
        let needs = {
            let (info, lazy) = (info.clone(), lazy.clone());
            std::thread::spawn(move || lazy.ensure(&info, LazyItem::Function(0)).map(|_| ()))
        };
        std::thread::sleep(Duration::from_millis(20));
        release.send(()).expect("the first compilation is waiting");
        ahead.join().unwrap();
        // The waiting thread got the first compilation's result and compiled nothing itself.
        assert_eq!(needs.join().unwrap(), Err("call 1".to_string()));
        assert_eq!(
            lazy.ensure(&info, LazyItem::Function(0)).map(|_| ()),
            Err("call 1".to_string())
        );
    }

    /// Starts a first compilation that runs (`spins`) or not, then asks for the code from this
    /// thread and returns the result and how long that took.
    fn ensure_during_first_compilation(
        body_len: u64,
        spins: bool,
    ) -> (Result<(), String>, Duration) {
        let (info, lazy, started, release) = blocking_module(body_len, spins);
        let ahead = {
            let (info, lazy) = (info.clone(), lazy.clone());
            std::thread::spawn(move || lazy.compile_ahead(&info, 0))
        };
        started.recv().expect("the first compilation starts");
        let asked = Instant::now();
        let result = lazy.ensure(&info, LazyItem::Function(0)).map(|_| ());
        let took = asked.elapsed();
        release.send(()).expect("the first compilation is waiting");
        ahead.join().unwrap();
        // The code stored first stays.
        assert_eq!(
            lazy.ensure(&info, LazyItem::Function(0)).map(|_| ()),
            result
        );
        (result, took)
    }

    #[test]
    fn a_thread_compiles_itself_when_the_other_compilation_takes_far_too_long() {
        // An empty body: the second thread waits until 2 ms after the first compilation started,
        // then compiles the function itself although the first one runs.
        let (result, _) = ensure_during_first_compilation(0, true);
        // The first compilation was still going: this result can only be this thread's own.
        assert_eq!(result, Err("call 2".to_string()));
    }

    #[test]
    fn a_thread_does_not_wait_for_a_compilation_that_gets_no_processor() {
        // A large body (seconds of patience), but the first compilation does not run: the second
        // thread stops waiting after a few milliseconds and compiles the function itself.
        let (result, took) = ensure_during_first_compilation(1 << 20, false);
        assert_eq!(result, Err("call 2".to_string()));
        assert!(took < Duration::from_secs(1), "waited {took:?}");
    }
}
