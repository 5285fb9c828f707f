//! The C allocator's settings for a long-running daemon, and the crate's only `unsafe` code:
//! two one-line calls into glibc's malloc, which have no safe form (no-ops on other C
//! libraries).
//!
//! - [`configure`] (before any thread starts): one malloc arena. The runtime is single-threaded;
//!   without this, the blocking threads tokio starts now and then (`nft`, reloads, tracker
//!   reads) each get an arena of their own that stays resident after the thread is gone. And
//!   fixed mmap and trim thresholds (128 KiB, glibc's defaults, which it otherwise raises up
//!   to 32 MiB as large blocks are freed): large blocks (the routers, the plans, the
//!   configuration being parsed) always get their own mapping, returned on free instead of
//!   leaving a hole in the heap, and free memory at the top of the heap is returned promptly.
//! - [`release_free_memory`] (after start-up and after a reload): returns the free pages
//!   inside the heap to the kernel. Parsing and mapping the configuration leaves ~1 KiB per
//!   virtual router of freed memory in the middle of the heap, which glibc only trims from the
//!   top; with 1,000 virtual routers that is about a fifth of the daemon's resident heap.

/// One malloc arena and fixed thresholds for the whole process. Call before any thread is
/// started.
pub fn configure() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        use nix::libc::{M_ARENA_MAX, M_MMAP_THRESHOLD, M_TRIM_THRESHOLD};
        const THRESHOLD: i32 = 128 * 1024;
        for (param, value) in [
            (M_ARENA_MAX, 1),
            (M_MMAP_THRESHOLD, THRESHOLD),
            (M_TRIM_THRESHOLD, THRESHOLD),
        ] {
            mallopt(param, value);
        }
    }
}

#[cfg(all(target_os = "linux", target_env = "gnu"))]
#[allow(unsafe_code)]
fn mallopt(param: i32, value: i32) {
    // SAFETY: mallopt only changes a setting of the allocator and validates its arguments
    // (these are in range); it takes the allocator's lock and may be called at any time.
    let _ = unsafe { nix::libc::mallopt(param, value) };
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
