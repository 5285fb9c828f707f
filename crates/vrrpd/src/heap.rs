//! The C allocator's settings for a long-running daemon, and the crate's only `unsafe` code:
//! two one-line calls into glibc's malloc, which have no safe form (no-ops on other C
//! libraries).
//!
//! - [`configure`] (before any thread starts): one malloc arena. The runtime is single-threaded;
//!   without this, the blocking threads tokio starts now and then (`nft`, reloads, tracker
//!   reads) each get an arena of their own that stays resident after the thread is gone.
//!   (glibc's mmap and trim thresholds are left dynamic: fixing them at 128 KiB showed no
//!   gain once [`release_free_memory`] runs, and would turn every transient block of more
//!   than 128 KiB, such as a status list of 1,000 routers, into an mmap/munmap pair.)
//! - [`release_free_memory`] (after start-up, after a reload, and once the routers have gone
//!   a few seconds without a state change): returns the free pages inside the heap to the
//!   kernel. Parsing and mapping the configuration, and a takeover of many routers at once,
//!   leave ~1 KiB per virtual router of freed memory in the middle of the heap, which glibc
//!   only trims from the top; with 1,000 virtual routers that is about a fifth of the
//!   daemon's resident heap.

/// One malloc arena for the whole process. Call before any thread is started.
#[allow(unsafe_code)]
pub fn configure() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        // SAFETY: mallopt only changes a setting of the allocator and validates its argument
        // (M_ARENA_MAX takes any positive count); it may be called at any time.
        let _ = unsafe { nix::libc::mallopt(nix::libc::M_ARENA_MAX, 1) };
    }
}

/// Hands the free pages of the heap back to the kernel (glibc `malloc_trim(0)`).
#[allow(unsafe_code)]
pub fn release_free_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        // SAFETY: malloc_trim only releases memory the allocator holds free; it takes the
        // arena locks itself and leaves every live allocation in place.
        let _ = unsafe { nix::libc::malloc_trim(0) };
    }
}
