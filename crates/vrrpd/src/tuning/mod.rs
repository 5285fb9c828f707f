//! The VRRP process's settings from `global_defs`, acted on as keepalived acts on them:
//! `vrrp_priority` (nice), `vrrp_no_swap` (memory locking), `vrrp_rt_priority` (SCHED_RR)
//! with `vrrp_rlimit_rttime` (RLIMIT_RTTIME), `vrrp_cpu_affinity`, `max_auto_priority` and
//! `min_auto_priority_delay`.
//!
//! keepalived's VRRP process has one thread; vrrpd's has the runtime's thread and, at times,
//! the blocking pool's. Scheduling policy, nice value and CPU affinity belong to a thread on
//! Linux, so [`Tuner::start`] applies them to every thread of `/proc/self/task` as the runtime
//! starts (before it has started any thread but its own), and [`Tuner::thread_started`] (the
//! runtime's thread-start hook) to every thread created later; a reload and an automatic
//! priority rise apply them to every thread again.
//!
//! As in keepalived: realtime scheduling is `SCHED_RR | SCHED_RESET_ON_FORK` (scripts start as
//! `SCHED_OTHER`), and with it the nice value is not set; RLIMIT_RTTIME (soft half of the
//! hard limit) is set only once realtime scheduling is; a failing call is logged and the
//! daemon goes on without the setting.

mod sys;

use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use nix::sched::CpuSet;
use nix::sys::resource::{setrlimit, Resource};
use nix::unistd::Pid;

use crate::config::model::GlobalDefs;

/// The lowest SCHED_RR priority (`sched_get_priority_min(SCHED_RR)` on Linux).
const RR_MIN: u8 = 1;

/// The process settings of a configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProcessSettings {
    /// `vrrp_priority` (0: unchanged).
    pub nice: i8,
    /// `vrrp_no_swap`.
    pub no_swap: bool,
    /// `vrrp_rt_priority` (0: not realtime).
    pub realtime_priority: u8,
    /// `vrrp_cpu_affinity` (empty: unchanged).
    pub cpus: Vec<usize>,
    /// `vrrp_rlimit_rttime` in µs (0: no limit set).
    pub rlimit_rttime_us: u32,
    /// `max_auto_priority` (0: no automatic rise; -1: none, and no startup notice).
    pub max_auto_priority: i32,
    /// `min_auto_priority_delay`.
    pub min_auto_priority_delay: Duration,
}

impl ProcessSettings {
    /// The settings of `global_defs`.
    pub fn of(g: &GlobalDefs) -> Self {
        Self {
            nice: g.vrrp_process_priority,
            no_swap: g.vrrp_no_swap,
            realtime_priority: g.vrrp_realtime_priority,
            cpus: g.vrrp_cpu_affinity.clone(),
            rlimit_rttime_us: g.vrrp_rlimit_rttime_us,
            max_auto_priority: g.max_auto_priority.unwrap_or(0),
            min_auto_priority_delay: Duration::from_micros(u64::from(g.min_auto_priority_delay_us)),
        }
    }
}

/// What every thread gets.
#[derive(Debug, Clone, Default)]
struct ThreadSettings {
    /// SCHED_RR priority (0: SCHED_OTHER, left alone).
    rt_priority: u8,
    /// The nice value to set (when not realtime).
    nice: Option<i32>,
    /// The CPU set.
    cpus: Option<CpuSet>,
}

/// keepalived's process-priority state (its `lib/process.c` statics).
#[derive(Debug, Default)]
struct State {
    thread: ThreadSettings,
    /// The nice value the process started with.
    orig_nice: i32,
    /// The nice value set (0: none).
    cur_nice: i32,
    /// The RLIMIT_RTTIME hard limit set (0: none).
    cur_rlimit: u32,
    /// The limit an automatic rise to realtime sets.
    default_rlimit: u32,
    /// Memory locked.
    locked: bool,
    /// `max_auto_priority` in effect (0: no automatic rise).
    max_rt: u8,
    /// How late the event loop must be for a rise (zero: not watched).
    auto_delay: Duration,
}

/// The process tuning in effect; cloned into the runtime's thread-start hook.
#[derive(Debug, Clone)]
pub struct Tuner {
    state: Arc<Mutex<State>>,
}

impl Default for Tuner {
    fn default() -> Self {
        Self::new()
    }
}

impl Tuner {
    /// No settings applied yet: the process's as it started (the thread-start hook can be
    /// installed before [`Tuner::start`]).
    pub fn new() -> Self {
        let orig_nice = sys::nice(Pid::from_raw(0)).unwrap_or(0);
        Tuner {
            state: Arc::new(Mutex::new(State {
                orig_nice,
                ..State::default()
            })),
        }
    }

    /// Applies `settings` to the process and its threads at startup (keepalived's
    /// `set_process_priorities` then `set_process_cpu_affinity`). Called once the signal
    /// handlers are installed: SIGXCPU (RLIMIT_RTTIME's soft limit) must not end the process.
    pub fn start(&self, settings: &ProcessSettings) {
        if settings.max_auto_priority == 0 {
            tracing::info!(
                "NOTICE: setting config option max_auto_priority should result in better keepalived performance"
            );
        }
        {
            let mut st = self.lock();
            st.max_rt = max_rt(settings.max_auto_priority);
            if settings.realtime_priority > 0 {
                set_realtime(
                    &mut st,
                    settings.realtime_priority,
                    settings.rlimit_rttime_us,
                );
            } else {
                if settings.nice != 0 {
                    set_nice(&mut st, i32::from(settings.nice));
                }
                st.default_rlimit = settings.rlimit_rttime_us;
            }
            st.auto_delay = settings.min_auto_priority_delay;
            if settings.no_swap {
                lock_memory(&mut st);
            }
            set_affinity(&mut st, &settings.cpus);
        }
    }

    /// A reload's settings (keepalived's `restore_priority`), applied to every thread. As in
    /// keepalived, a realtime process stays realtime unless both `vrrp_rt_priority` and
    /// `max_auto_priority` are gone (`max_auto_priority -1`), and its priority only rises.
    pub fn reload(&self, settings: &ProcessSettings) {
        let mut st = self.lock();
        let rt = settings.realtime_priority;
        if st.thread.rt_priority > 0 {
            if rt == 0 && settings.max_auto_priority == -1 {
                // keepalived passes the nice value as the SCHED_OTHER priority, which the
                // kernel refuses unless it is 0: then the process stays realtime.
                if settings.nice == 0 {
                    st.thread.rt_priority = 0;
                    st.thread.nice = None;
                    each_thread(true, "cannot reset realtime scheduling", |tid| {
                        sys::set_scheduler(tid, false, 0, false)
                    });
                }
            } else {
                let cur = st.thread.rt_priority;
                let new = if settings.max_auto_priority != -1
                    && st.cur_nice > settings.max_auto_priority
                {
                    // keepalived compares the nice value with the maximum here.
                    max_rt(settings.max_auto_priority)
                } else {
                    cur.max(rt)
                };
                if new > 0 {
                    set_realtime(&mut st, new, settings.rlimit_rttime_us);
                } else {
                    // keepalived's set_process_priorities with no realtime priority.
                    st.default_rlimit = settings.rlimit_rttime_us;
                }
            }
        } else if rt > 0 {
            set_realtime(&mut st, rt, settings.rlimit_rttime_us);
        } else if i32::from(settings.nice) != st.cur_nice {
            set_nice(&mut st, i32::from(settings.nice));
        }
        st.max_rt = max_rt(settings.max_auto_priority);
        st.auto_delay = settings.min_auto_priority_delay;
        if settings.no_swap {
            lock_memory(&mut st);
        } else if st.locked {
            if let Err(e) = sys::unlock_all_memory() {
                tracing::info!(error = %e, "Unable to unlock process memory - {e}");
            }
            st.locked = false;
        }
        set_affinity(&mut st, &settings.cpus);
    }

    /// The runtime's thread-start hook: gives the calling (new) thread the settings. A
    /// thread created by a realtime thread starts as `SCHED_OTHER` (reset on fork).
    pub fn thread_started(&self) {
        let st = self.lock();
        if let Err(e) = apply(&st.thread, Pid::from_raw(0)) {
            tracing::warn!(error = %e, "new thread: process settings not applied - {e}");
        }
    }

    /// How late the event loop must be before the priority rises; `None` when it is not
    /// watched (`min_auto_priority_delay` spent by a rise, as in keepalived).
    pub fn auto_delay(&self) -> Option<Duration> {
        let d = self.lock().auto_delay;
        (!d.is_zero()).then_some(d)
    }

    /// The event loop ran `late` after a timer was due, more than the delay: keepalived's
    /// `increment_process_priority` (realtime at the lowest priority, or one step higher, up
    /// to `max_auto_priority`). Like keepalived, a rise spends the delay: the loop is not
    /// watched again until a reload.
    pub fn event_loop_late(&self, late: Duration) {
        tracing::info!(
            late_us = late.as_micros() as u64,
            "A thread timer expired {}.{:06} seconds ago",
            late.as_secs(),
            late.subsec_micros()
        );
        let mut st = self.lock();
        if st.max_rt == 0 {
            return;
        }
        let cur = st.thread.rt_priority;
        let new = if cur > 0 {
            if cur >= st.max_rt {
                return;
            }
            cur + 1
        } else {
            RR_MIN
        };
        let rlimit = if st.cur_rlimit > 0 {
            0
        } else {
            st.default_rlimit
        };
        set_realtime(&mut st, new, rlimit);
        st.auto_delay = Duration::ZERO;
        tracing::info!(priority = new, "Set realtime priority {new}");
    }

    /// Watches the event loop (runs forever on the runtime): a timer that fires later than
    /// the delay raises the priority ([`Tuner::event_loop_late`]).
    pub async fn watch_event_loop(self) {
        loop {
            let Some(delay) = self.auto_delay() else {
                // Not watched: a reload may restore the delay.
                tokio::time::sleep(Duration::from_secs(1)).await;
                continue;
            };
            // A timer is always pending, as keepalived's advert timers are.
            let period = delay.clamp(Duration::from_millis(10), Duration::from_secs(1));
            let due = tokio::time::Instant::now() + period;
            tokio::time::sleep_until(due).await;
            let late = tokio::time::Instant::now().saturating_duration_since(due);
            if late > delay {
                self.event_loop_late(late);
            }
        }
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// `max_auto_priority` as a priority (0: no rise).
fn max_rt(max_auto_priority: i32) -> u8 {
    u8::try_from(max_auto_priority.clamp(0, 99)).unwrap_or(0)
}

/// SCHED_RR at `priority` on every thread, then RLIMIT_RTTIME (`rlimit` µs hard, half soft;
/// 0: unchanged) once that worked.
fn set_realtime(st: &mut State, priority: u8, rlimit: u32) {
    let previous = st.thread.clone();
    st.thread.rt_priority = priority;
    st.thread.nice = None;
    if !for_each_thread(&st.thread, true, "cannot raise priority") {
        st.thread.rt_priority = previous.rt_priority;
        st.thread.nice = previous.nice;
        return;
    }
    if rlimit > 0 {
        let (soft, hard) = (u64::from(rlimit / 2), u64::from(rlimit));
        match setrlimit(Resource::RLIMIT_RTTIME, soft, hard) {
            Ok(()) => st.cur_rlimit = rlimit,
            Err(e) => {
                tracing::warn!(error = %e, soft, hard, "cannot set realtime rlimit - {e}")
            }
        }
    }
}

/// The nice value on every thread.
fn set_nice(st: &mut State, nice: i32) {
    st.thread.nice = Some(nice);
    if for_each_thread(&st.thread, false, "Unable to set process priority") {
        st.cur_nice = nice;
    } else {
        st.thread.nice = (st.cur_nice != st.orig_nice).then_some(st.cur_nice);
    }
}

/// Locks the process's memory.
fn lock_memory(st: &mut State) {
    if st.locked {
        return;
    }
    match sys::lock_all_memory() {
        Ok(()) => st.locked = true,
        Err(e) => tracing::info!(error = %e, "Unable to lock process in memory - {e}"),
    }
}

/// The CPU set on every thread (an empty list: unchanged).
fn set_affinity(st: &mut State, cpus: &[usize]) {
    if cpus.is_empty() {
        return;
    }
    let mut set = CpuSet::new();
    for &cpu in cpus {
        if let Err(e) = set.set(cpu) {
            tracing::warn!(cpu, error = %e, "unable to set cpu affinity to vrrp process ({e})");
            return;
        }
    }
    let previous = st.thread.cpus.replace(set);
    if !for_each_thread(
        &st.thread,
        true,
        "unable to set cpu affinity to vrrp process",
    ) {
        st.thread.cpus = previous;
    }
}

/// Applies the thread settings to every thread of the process (see [`each_thread`]).
fn for_each_thread(thread: &ThreadSettings, warn: bool, what: &str) -> bool {
    each_thread(warn, what, |tid| apply(thread, tid))
}

/// Runs `call` for the calling thread (tid 0) and every other thread of `/proc/self/task`;
/// logs `what` with the first error (a warning if `warn`, else information) and returns
/// false if the call failed for the calling thread. A thread that ended meanwhile is no error.
fn each_thread(warn: bool, what: &str, call: impl Fn(Pid) -> nix::Result<()>) -> bool {
    let mut first: Option<(i32, nix::Error)> = None;
    let own = match call(Pid::from_raw(0)) {
        Ok(()) => true,
        Err(e) => {
            first = Some((nix::unistd::gettid().as_raw(), e));
            false
        }
    };
    let me = nix::unistd::gettid();
    for tid in thread_ids().into_iter().filter(|t| *t != me) {
        match call(tid) {
            Ok(()) | Err(nix::Error::ESRCH) => {}
            Err(e) => {
                first.get_or_insert((tid.as_raw(), e));
            }
        }
    }
    if let Some((tid, e)) = first {
        if warn {
            tracing::warn!(tid, error = %e, "{what} - {e}");
        } else {
            tracing::info!(tid, error = %e, "{what} - {e}");
        }
    }
    own
}

/// The process's threads (`/proc/self/task`).
fn thread_ids() -> Vec<Pid> {
    std::fs::read_dir("/proc/self/task")
        .map(|dir| {
            dir.filter_map(|e| e.ok()?.file_name().to_str()?.parse().ok())
                .map(Pid::from_raw)
                .collect()
        })
        .unwrap_or_default()
}

/// Applies the settings to thread `tid` (0: the calling thread), stopping at the first error.
fn apply(thread: &ThreadSettings, tid: Pid) -> nix::Result<()> {
    if thread.rt_priority > 0 {
        sys::set_scheduler(tid, true, i32::from(thread.rt_priority), true)?;
    } else if let Some(nice) = thread.nice {
        if nice < 0 {
            // As keepalived's scripts do not keep a raised priority: children (and threads,
            // which the thread-start hook gives the value again) start at nice 0.
            sys::set_scheduler(tid, false, 0, true)?;
        }
        sys::set_nice(tid, nice)?;
    }
    if let Some(cpus) = &thread.cpus {
        nix::sched::sched_setaffinity(tid, cpus)?;
    }
    Ok(())
}
