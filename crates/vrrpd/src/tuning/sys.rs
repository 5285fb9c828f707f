//! The system calls of process tuning that neither nix nor the standard library wrap: the
//! crate's `unsafe` code besides the allocator calls of [`crate::heap`]. Each wrapper passes
//! plain integers to one libc call and turns its `-1` into the `errno` it set.

use nix::errno::Errno;
use nix::libc;
use nix::unistd::Pid;

/// `sched_setscheduler(tid, SCHED_RR | SCHED_RESET_ON_FORK, priority)` (`priority` 0 with
/// `realtime` false: `SCHED_OTHER`). Reset-on-fork makes children (scripts, and threads a
/// realtime thread creates) start as `SCHED_OTHER` with a non-negative nice value, as
/// keepalived's do.
pub fn set_scheduler(
    tid: Pid,
    realtime: bool,
    priority: i32,
    reset_on_fork: bool,
) -> nix::Result<()> {
    let mut policy = if realtime {
        libc::SCHED_RR
    } else {
        libc::SCHED_OTHER
    };
    if reset_on_fork {
        policy |= libc::SCHED_RESET_ON_FORK;
    }
    let param = libc::sched_param {
        sched_priority: priority,
    };
    // SAFETY: `param` is a valid, initialised sched_param that outlives the call; the kernel
    // only reads it.
    #[allow(unsafe_code)]
    let rc = unsafe { libc::sched_setscheduler(tid.as_raw(), policy, &param) };
    Errno::result(rc).map(drop)
}

/// `setpriority(PRIO_PROCESS, tid, nice)`: on Linux this sets the nice value of one thread.
pub fn set_nice(tid: Pid, nice: i32) -> nix::Result<()> {
    // SAFETY: integer arguments only.
    #[allow(unsafe_code)]
    let rc = unsafe { libc::setpriority(libc::PRIO_PROCESS, tid.as_raw() as libc::id_t, nice) };
    Errno::result(rc).map(drop)
}

/// `getpriority(PRIO_PROCESS, tid)`: the nice value of one thread.
pub fn nice(tid: Pid) -> nix::Result<i32> {
    Errno::clear();
    // SAFETY: integer arguments only.
    #[allow(unsafe_code)]
    let n = unsafe { libc::getpriority(libc::PRIO_PROCESS, tid.as_raw() as libc::id_t) };
    // -1 is a valid nice value: only errno tells an error.
    match Errno::last_raw() {
        0 => Ok(n),
        _ if n != -1 => Ok(n),
        e => Err(Errno::from_raw(e)),
    }
}

/// `mlockall(MCL_CURRENT | MCL_FUTURE | MCL_ONFAULT)`: every page of the process, mapped now
/// or later, stays in memory once touched (keepalived's flags: on-fault locking does not
/// populate reserved but unused mappings, such as thread stacks).
pub fn lock_all_memory() -> nix::Result<()> {
    // SAFETY: flags only; locking memory does not affect Rust's memory model.
    #[allow(unsafe_code)]
    let rc = unsafe { libc::mlockall(libc::MCL_CURRENT | libc::MCL_FUTURE | libc::MCL_ONFAULT) };
    Errno::result(rc).map(drop)
}

/// `munlockall()`.
pub fn unlock_all_memory() -> nix::Result<()> {
    // SAFETY: no arguments.
    #[allow(unsafe_code)]
    let rc = unsafe { libc::munlockall() };
    Errno::result(rc).map(drop)
}
