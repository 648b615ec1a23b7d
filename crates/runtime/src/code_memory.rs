//! Executable memory for a code image, and the process-wide registry of published code that the signal
//! handler consults to tell wasm faults from host crashes.

use crate::code_arena::CodeArena;
use memmap2::{Mmap, MmapMut};
use std::collections::BTreeMap;
use std::sync::{Arc, RwLock};
use wasmz_environ::{CodeImage, TrapCode};

/// A code image published into executable memory. Unregistered when dropped.
pub struct CodeMemory {
    /// The memory holding the code.
    backing: Backing,
    /// Address of the code's first byte.
    start: usize,
    /// Length of the code (the memory holds at least one byte).
    len: usize,
    image: Arc<CodeImage>,
}

/// Where a [`CodeMemory`]'s code lives.
enum Backing {
    /// A mapping of its own.
    Mapping(Mmap),
    /// A range of a shared arena, kept alive while the code is.
    Arena(Arc<CodeArena>),
}

/// Registered code ranges: start address → (end address, image metadata).
static REGISTRY: RwLock<Registry> = RwLock::new(BTreeMap::new());

impl CodeMemory {
    /// Copies `image`'s code into fresh memory, makes it executable and registers it.
    ///
    /// # Errors
    /// When the memory cannot be mapped or protected.
    ///
    /// # Safety
    /// The code becomes executable: it must be machine code that wasmz's compiler produced for this
    /// host, with `image`'s metadata (function ranges, trampolines, trap sites, handlers, stack maps)
    /// describing it as the compiler laid it out. Anything else is arbitrary native code.
    pub unsafe fn publish(image: CodeImage) -> std::io::Result<CodeMemory> {
        let image = Arc::new(image);
        // SAFETY: passed on to the caller.
        unsafe { CodeMemory::publish_parts(image.clone(), &image.code, 0) }
    }

    /// Copies `code` into fresh memory, makes it executable and registers it with the metadata of `image`
    /// (whose own `code` may be empty: loading an ahead-of-time artifact copies the code straight from
    /// the file).
    ///
    /// # Errors
    /// When the memory cannot be mapped or protected.
    ///
    /// # Safety
    /// As [`CodeMemory::publish`], for `code` described by `image`.
    pub unsafe fn publish_with_code(image: CodeImage, code: &[u8]) -> std::io::Result<CodeMemory> {
        // SAFETY: passed on to the caller.
        unsafe { CodeMemory::publish_parts(Arc::new(image), code, 0) }
    }

    /// Maps the `len` bytes of code at `offset` in `file` executable and read-only, in place of copying
    /// them, and registers them with the metadata of `image`. Pages are read from the file (usually the
    /// page cache) as the code first touches them, so a large module starts without copying all its
    /// code. `offset` must be a multiple of the host's page size.
    ///
    /// On aarch64 the kernel makes the instruction cache coherent for the file pages it maps
    /// executable, as it does for any program's text, so no cache maintenance is done here.
    ///
    /// # Errors
    /// When the file cannot be mapped (an offset not aligned to the page size among the causes).
    ///
    /// # Safety
    /// As [`CodeMemory::publish`], for the code in the file described by `image`; moreover, nothing may
    /// modify or truncate that part of the file while the returned memory lives: the mapping shows
    /// the file's current bytes.
    pub unsafe fn publish_from_file(
        image: CodeImage,
        file: &std::fs::File,
        offset: u64,
        len: usize,
    ) -> std::io::Result<CodeMemory> {
        if len == 0 {
            // SAFETY: no code at all.
            return unsafe { CodeMemory::publish_with_code(image, &[]) };
        }
        // SAFETY: the caller guarantees the file's bytes at `offset..offset + len` are wasmz code for
        // this host described by `image` and are not changed while mapped; the mapping is read-only.
        let map = unsafe {
            memmap2::MmapOptions::new()
                .offset(offset)
                .len(len)
                .map_exec(file)?
        };
        let begin = map.as_ptr();
        Ok(CodeMemory::register(
            Backing::Mapping(map),
            begin,
            len,
            Arc::new(image),
        ))
    }

    /// As [`CodeMemory::publish_with_code`], for one small lazily compiled function or trampoline:
    /// appended to `arena` when there is one with room, else in a mapping of its own; either way it
    /// starts `phase` bytes past a 64-byte line boundary (the compiler's choice for its loop). Successive
    /// mappings of their own start their code at different 64-byte lines of the page: were every
    /// function at offset 0 of its page, all their entries would compete for the same few sets of the
    /// (virtually indexed) level-1 instruction cache and evict each other in a call-heavy loop.
    ///
    /// # Errors
    /// When the memory cannot be mapped, protected or written.
    ///
    /// # Safety
    /// As [`CodeMemory::publish`], for `code` described by `image`.
    pub(crate) unsafe fn publish_function(
        arena: Option<&Arc<CodeArena>>,
        image: CodeImage,
        code: &[u8],
        phase: u32,
    ) -> std::io::Result<CodeMemory> {
        const LINE: usize = 64;
        let phase = phase as usize % LINE;
        if let Some(arena) = arena {
            // SAFETY: passed on to the caller.
            if let Some(begin) = unsafe { arena.append(code, phase) }? {
                let backing = Backing::Arena(arena.clone());
                return Ok(CodeMemory::register(
                    backing,
                    begin,
                    code.len(),
                    Arc::new(image),
                ));
            }
        }
        static NEXT_LINE: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        const LINES_PER_PAGE: usize = 4096 / LINE;
        let line = NEXT_LINE.fetch_add(1, std::sync::atomic::Ordering::Relaxed) % LINES_PER_PAGE;
        // SAFETY: passed on to the caller.
        unsafe { CodeMemory::publish_parts(Arc::new(image), code, line * LINE + phase) }
    }

    /// Maps `start + code.len()` bytes, copies `code` to offset `start`, makes the mapping executable and
    /// registers the code's range.
    ///
    /// # Safety
    /// As [`CodeMemory::publish`], for `code` described by `image`.
    unsafe fn publish_parts(
        image: Arc<CodeImage>,
        code: &[u8],
        start: usize,
    ) -> std::io::Result<CodeMemory> {
        let len = code.len().max(1);
        let mut map = MmapMut::map_anon(start + len)?;
        map[start..start + code.len()].copy_from_slice(code);
        let map = map.make_exec()?;
        let begin = map.as_ptr().wrapping_add(start);
        flush_instruction_cache(begin, len);
        Ok(CodeMemory::register(
            Backing::Mapping(map),
            begin,
            code.len(),
            image,
        ))
    }

    /// Registers the `len` bytes of code at `begin` in `backing`, described by `image` (and names
    /// them in the perf map when one is written).
    fn register(
        backing: Backing,
        begin: *const u8,
        len: usize,
        image: Arc<CodeImage>,
    ) -> CodeMemory {
        let start = begin as usize;
        crate::perfmap::record(start, len, &image);
        // The registered range is never empty: a lookup at `start` must find the code.
        let end = start + len.max(1);
        with_registry_written(|registry| registry.insert(start, (end, image.clone())));
        CodeMemory {
            backing,
            start,
            len,
            image,
        }
    }

    /// The published machine code (read back from the executable mapping).
    pub fn code(&self) -> &[u8] {
        match &self.backing {
            Backing::Mapping(map) => {
                let offset = self.start - map.as_ptr() as usize;
                &map[offset..offset + self.len]
            }
            Backing::Arena(arena) => arena.bytes(self.start as *const u8, self.len),
        }
    }

    /// Address of the byte at `offset` in the image.
    pub fn at(&self, offset: u32) -> *const u8 {
        // `offset` comes from the image's own metadata, so it lies inside the code.
        (self.start as *const u8).wrapping_add(offset as usize)
    }

    /// The image's metadata. Its `code` is empty when the memory was published with
    /// [`CodeMemory::publish_with_code`]; [`CodeMemory::code`] always has the code.
    pub fn image(&self) -> &CodeImage {
        &self.image
    }
}

impl Drop for CodeMemory {
    fn drop(&mut self) {
        with_registry_written(|registry| registry.remove(&self.start));
    }
}

/// Makes freshly written code at `start..start + len` visible to instruction fetch.
///
/// On x86-64 the instruction cache is coherent with data writes and there is nothing to do. On aarch64
/// it is not: the written lines are cleaned from the data cache to the point of unification and the
/// matching instruction-cache lines invalidated (both broadcast to every core of the inner shareable
/// domain), then this core's pipeline is resynchronized, and every other core running a thread of the
/// process (see [`crate::pipeline_sync`]). The bytes are fresh (a new mapping, or a range of
/// an arena never written before), so no other thread has run them yet; whatever stale lines any core
/// holds for the addresses (a previously unmapped image, or the zeros of an arena's unwritten range) are
/// invalidated here.
#[cfg(target_arch = "aarch64")]
pub(crate) fn flush_instruction_cache(start: *const u8, len: usize) {
    let ctr: u64;
    // SAFETY: reading CTR_EL0 (cache type register) is allowed at EL0 on Linux and has no side effect.
    unsafe { core::arch::asm!("mrs {}, ctr_el0", out(reg) ctr, options(nomem, nostack)) };
    // DminLine (bits 16..20) and IminLine (bits 0..4) are log2 of the smallest line in 4-byte words.
    let dline = 4usize << ((ctr >> 16) & 0xf);
    let iline = 4usize << (ctr & 0xf);
    let begin = start as usize;
    let end = begin + len;
    let mut addr = begin & !(dline - 1);
    while addr < end {
        // SAFETY: `addr` lies in (the line of) the readable mapping just written; `dc cvau` only cleans
        // the cache line, it does not change memory.
        unsafe { core::arch::asm!("dc cvau, {}", in(reg) addr, options(nostack)) };
        addr += dline;
    }
    // SAFETY: a data barrier orders the cleans before the invalidations; no memory is accessed.
    unsafe { core::arch::asm!("dsb ish", options(nostack)) };
    let mut addr = begin & !(iline - 1);
    while addr < end {
        // SAFETY: as above; `ic ivau` only invalidates instruction-cache lines.
        unsafe { core::arch::asm!("ic ivau, {}", in(reg) addr, options(nostack)) };
        addr += iline;
    }
    // SAFETY: barriers complete the invalidations and resynchronize this core's instruction fetch.
    unsafe { core::arch::asm!("dsb ish", "isb", options(nostack)) };
    // Other threads may branch to the code without an `isb` of their own: resynchronize them too.
    crate::pipeline_sync::sync_all_threads();
}

/// Makes freshly written code visible to instruction fetch: nothing to do on this architecture, whose
/// instruction cache is coherent with data writes.
#[cfg(not(target_arch = "aarch64"))]
pub(crate) fn flush_instruction_cache(_start: *const u8, _len: usize) {}

/// What the registry knows of a code address.
pub struct CodeLookup {
    /// The image holding the address.
    pub image: Arc<CodeImage>,
    /// Offset of the address inside the image.
    pub offset: u32,
}

type Registry = BTreeMap<usize, (usize, Arc<CodeImage>)>;

thread_local! {
    /// Set while this thread holds the registry's write lock.
    static WRITING_REGISTRY: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// Runs `f` with the registry locked for writing, marked on this thread so that a signal arriving
/// meanwhile does not wait for the lock this thread holds.
fn with_registry_written<R>(f: impl FnOnce(&mut Registry) -> R) -> R {
    let mut registry = REGISTRY.write().unwrap_or_else(|e| e.into_inner());
    WRITING_REGISTRY.with(|w| w.set(true));
    let result = f(&mut registry);
    WRITING_REGISTRY.with(|w| w.set(false));
    result
}

/// Looks up `pc` among the published images.
pub fn lookup_code(pc: usize) -> Option<CodeLookup> {
    // A thread that holds the write lock runs no wasm code: a signal interrupting it there is not
    // a wasm fault, and waiting for the lock would deadlock.
    if WRITING_REGISTRY.with(|w| w.get()) {
        return None;
    }
    // A blocking read otherwise: a writer on another thread (publishing or dropping code) finishes
    // soon.
    let registry = REGISTRY.read().unwrap_or_else(|e| e.into_inner());
    let (start, (end, image)) = registry.range(..=pc).next_back()?;
    if pc >= *end {
        return None;
    }
    Some(CodeLookup {
        image: image.clone(),
        offset: u32::try_from(pc - start).ok()?,
    })
}

/// The trap code recorded at `pc`, if `pc` is a trap site of published wasm code.
pub fn trap_code_at(pc: usize) -> Option<TrapCode> {
    let l = lookup_code(pc)?;
    l.image.lookup_trap(l.offset)
}

/// Whether `pc` lies in published wasm code.
pub fn is_wasm_pc(pc: usize) -> bool {
    lookup_code(pc).is_some()
}

/// The host's page size (4 KiB where the system does not say).
pub fn page_size() -> usize {
    static PAGE: std::sync::OnceLock<usize> = std::sync::OnceLock::new();
    *PAGE.get_or_init(|| {
        // SAFETY: `sysconf` has no preconditions.
        let page = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
        usize::try_from(page)
            .ok()
            .filter(|&p| p > 0)
            .unwrap_or(4096)
    })
}
