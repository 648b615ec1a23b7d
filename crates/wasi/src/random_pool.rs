//! Random bytes for `random_get`: the host's `getrandom`, fetched a page at a time.
//!
//! A `getrandom` system call costs about as much for 16 bytes as for a few kilobytes (mostly the
//! kernel setting up its generator's state for the call), and programs ask for a few bytes at a
//! time (`getentropy` for a seed, a nonce, a UUID). Small requests are therefore served from a page
//! of the kernel's output:
//!
//! - every byte is handed out once and zeroed in the page as it is, so what the guest got does not
//!   stay behind in host memory;
//! - the page is `MADV_WIPEONFORK`: a process forked from the embedder's finds it empty and fetches
//!   its own bytes instead of repeating the parent's; and `MADV_DONTDUMP`, so core dumps do not
//!   hold bytes not yet handed out;
//! - where the page cannot be set up that way (an old kernel), every request goes to `getrandom`.
//!
//! The count of bytes left lives in the page itself, so that wiping the page on fork empties the
//! pool. A `pthread_atfork` handler also counts forks, and a pool whose bytes were fetched before
//! the last fork fetches new ones: where `MADV_WIPEONFORK` is accepted but not honoured (QEMU's user
//! mode, for one, ignores such advice), a child still does not repeat its parent's bytes.

use crate::clocks::fill_random;
use crate::errno::WasiResult;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, Ordering};

/// How many times the process, or an ancestor since the first pool, forked into the one running:
/// incremented in each child by a `pthread_atfork` handler.
static FORKS: AtomicU64 = AtomicU64::new(0);

extern "C" fn count_fork_in_child() {
    FORKS.fetch_add(1, Ordering::Relaxed);
}

/// Registers the fork counter once per process; whether it is registered.
fn count_forks() -> bool {
    static REGISTERED: OnceLock<bool> = OnceLock::new();
    // SAFETY: registers a handler that only increments an atomic, which is async-signal-safe as a
    // child handler must be.
    *REGISTERED
        .get_or_init(|| unsafe { libc::pthread_atfork(None, None, Some(count_fork_in_child)) == 0 })
}

/// Bytes of the page, a header of 8 bytes (the count of bytes left) then the pooled bytes.
const PAGE: usize = 4096;
const HEADER: usize = 8;

/// Requests of at most this many bytes are served from the pool; larger ones go to `getrandom`.
pub(crate) const MAX_POOLED: usize = 256;

/// One store's pool of random bytes (see the module documentation).
pub(crate) struct RandomPool {
    page: Page,
    /// [`FORKS`] when the page's bytes were fetched.
    forks: u64,
}

/// The pool's page.
#[derive(Clone, Copy)]
enum Page {
    /// Not mapped yet: mapped on the first small request.
    Unmapped,
    /// Mapped, `PAGE` bytes.
    Mapped(std::ptr::NonNull<u8>),
    /// Could not be set up: every request goes to `getrandom`.
    Unavailable,
}

impl RandomPool {
    /// An empty pool; it maps its page on first use.
    pub(crate) fn new() -> RandomPool {
        RandomPool {
            page: Page::Unmapped,
            forks: 0,
        }
    }

    /// Fills `buf` with bytes from the host's cryptographically secure generator.
    pub(crate) fn fill(&mut self, buf: &mut [u8]) -> WasiResult<()> {
        if buf.len() > MAX_POOLED {
            return fill_random(buf);
        }
        if let Page::Unmapped = self.page {
            self.page = if count_forks() {
                map_page().map_or(Page::Unavailable, Page::Mapped)
            } else {
                Page::Unavailable
            };
        }
        let Page::Mapped(page) = self.page else {
            return fill_random(buf);
        };
        // SAFETY: `page` is a private read-write mapping of `PAGE` bytes that this pool owns and
        // unmaps only when dropped; nothing else refers to it, and `&mut self` makes this the only
        // access now.
        let page = unsafe { std::slice::from_raw_parts_mut(page.as_ptr(), PAGE) };
        let (header, bytes) = page.split_at_mut(HEADER);
        let mut left = usize::try_from(u64::from_ne_bytes(
            header.try_into().expect("an 8-byte header"),
        ))
        .unwrap_or(0)
        .min(bytes.len());
        let forks = FORKS.load(Ordering::Relaxed);
        if left < buf.len() || forks != self.forks {
            fill_random(bytes)?;
            left = bytes.len();
            self.forks = forks;
        }
        let start = bytes.len() - left;
        let taken = &mut bytes[start..start + buf.len()];
        buf.copy_from_slice(taken);
        taken.fill(0);
        left -= buf.len();
        header.copy_from_slice(&(left as u64).to_ne_bytes());
        Ok(())
    }
}

impl Drop for RandomPool {
    fn drop(&mut self) {
        if let Page::Mapped(page) = self.page {
            // SAFETY: `page` was mapped by `map_page` with length `PAGE` and is unmapped once, here;
            // no reference into it outlives `fill`.
            unsafe { libc::munmap(page.as_ptr().cast(), PAGE) };
        }
    }
}

/// Maps the pool's page: private, zeroed, wiped in forked children and left out of core dumps.
fn map_page() -> Option<std::ptr::NonNull<u8>> {
    // SAFETY: an anonymous private mapping at an address of the kernel's choosing touches no
    // existing memory.
    let page = unsafe {
        libc::mmap(
            std::ptr::null_mut(),
            PAGE,
            libc::PROT_READ | libc::PROT_WRITE,
            libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
            -1,
            0,
        )
    };
    if page == libc::MAP_FAILED {
        return None;
    }
    #[cfg(any(target_os = "linux", target_os = "android"))]
    // SAFETY: `page` is the mapping just made, of `PAGE` bytes; advice changes no contents now.
    let advised = unsafe {
        libc::madvise(page, PAGE, libc::MADV_WIPEONFORK) == 0
            && libc::madvise(page, PAGE, libc::MADV_DONTDUMP) == 0
    };
    #[cfg(not(any(target_os = "linux", target_os = "android")))]
    let advised = false;
    if !advised {
        // SAFETY: the mapping just made, unmapped once, never used.
        unsafe { libc::munmap(page, PAGE) };
        return None;
    }
    std::ptr::NonNull::new(page.cast())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bytes_are_handed_out_once_and_zeroed_behind() {
        let mut pool = RandomPool::new();
        let mut seen = std::collections::HashSet::new();
        // Far more than one page's worth, in requests that do not divide the page evenly.
        for _ in 0..2000 {
            let mut buf = [0u8; 24];
            pool.fill(&mut buf).unwrap();
            assert!(seen.insert(buf), "a 24-byte output repeated");
        }
        let Page::Mapped(page) = pool.page else {
            panic!("the page was not set up on this host");
        };
        // SAFETY: the pool's page, read while the pool is not in use.
        let page = unsafe { std::slice::from_raw_parts(page.as_ptr(), PAGE) };
        let left = u64::from_ne_bytes(page[..HEADER].try_into().unwrap()) as usize;
        let used = PAGE - HEADER - left;
        assert!(page[HEADER..HEADER + used].iter().all(|&b| b == 0));
        assert!(page[HEADER + used..].iter().any(|&b| b != 0));
    }

    #[test]
    fn large_requests_and_requests_past_the_pool_are_filled() {
        let mut pool = RandomPool::new();
        let mut small = [0u8; MAX_POOLED];
        for _ in 0..40 {
            pool.fill(&mut small).unwrap();
            assert!(small.iter().any(|&b| b != 0));
        }
        let mut large = vec![0u8; 10_000];
        pool.fill(&mut large).unwrap();
        assert!(large.iter().filter(|&&b| b == 0).count() < 200);
    }

    #[test]
    fn bytes_fetched_before_a_fork_are_not_handed_out_after_it() {
        let mut pool = RandomPool::new();
        let mut first = [0u8; 16];
        pool.fill(&mut first).unwrap();
        let Page::Mapped(page) = pool.page else {
            panic!("the page was not set up on this host");
        };
        // The bytes the pool would hand out next, as a child whose page was not wiped would.
        // SAFETY: the pool's page, read while the pool is not in use.
        let page = unsafe { std::slice::from_raw_parts(page.as_ptr(), PAGE) };
        let left = u64::from_ne_bytes(page[..HEADER].try_into().unwrap()) as usize;
        let start = PAGE - left;
        let stale: [u8; 16] = page[start..start + 16].try_into().unwrap();
        // What the fork handler does in a child (here without forking).
        count_fork_in_child();
        let mut next = [0u8; 16];
        pool.fill(&mut next).unwrap();
        assert_ne!(next, stale, "bytes from before the fork were handed out");
        // The pool goes on from its new bytes.
        let mut after = [0u8; 16];
        pool.fill(&mut after).unwrap();
        assert_ne!(after, next);
    }

    #[test]
    fn a_forked_child_does_not_repeat_the_parents_bytes() {
        let mut pool = RandomPool::new();
        let mut first = [0u8; 32];
        pool.fill(&mut first).unwrap();
        let mut pipe = [0; 2];
        // SAFETY: `pipe` has room for the two descriptors.
        assert_eq!(unsafe { libc::pipe(pipe.as_mut_ptr()) }, 0);
        // SAFETY: the child only fills a stack buffer from the pool (whose page the fork wiped),
        // writes it to the pipe and leaves with `_exit`, running no destructors or atexit handlers.
        let child = unsafe { libc::fork() };
        assert!(child >= 0);
        if child == 0 {
            let mut next = [0u8; 32];
            let ok = pool.fill(&mut next).is_ok();
            // SAFETY: writes from a live buffer to the pipe this process owns, then exits.
            unsafe {
                if ok {
                    libc::write(pipe[1], next.as_ptr().cast(), next.len());
                }
                libc::_exit(0);
            }
        }
        let mut parent_next = [0u8; 32];
        pool.fill(&mut parent_next).unwrap();
        let mut child_next = [0u8; 32];
        // SAFETY: reads into a live buffer from the pipe; waits for the child made above.
        let read = unsafe {
            libc::close(pipe[1]);
            let n = libc::read(pipe[0], child_next.as_mut_ptr().cast(), child_next.len());
            libc::close(pipe[0]);
            libc::waitpid(child, std::ptr::null_mut(), 0);
            n
        };
        assert_eq!(read, 32, "the child could not fill its buffer");
        assert_ne!(
            child_next, parent_next,
            "the child repeated the parent's next bytes"
        );
        assert_ne!(child_next, first);
    }
}
