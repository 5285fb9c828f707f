//! `vrrp_track_process`: count the processes matching a name (and parameters) and report Up
//! while the count is within `[quorum, quorum_max]`.
//!
//! keepalived follows process starts and exits with the kernel's proc connector (netlink, needs
//! CAP_NET_ADMIN and a kernel option). This module instead scans `/proc` every poll interval
//! ([`DEFAULT_POLL`]); one scan serves every tracked process. It is simpler, works in any
//! container, and a drop is detected at most one poll interval late (the `delay` is added on
//! top).
//!
//! Matching, as keepalived:
//! * without `full_command`, the name is compared with the process's `comm` (the kernel
//!   truncates it to 15 bytes, so only the first 15 bytes of the configured name count);
//!   with `full_command`, with argv\[0\] as found in `/proc/PID/cmdline`;
//! * with no parameters configured, any parameters match; otherwise the configured parameters
//!   and the process's argv\[1..\] are compared as NUL-separated strings: exactly (default),
//!   as a prefix (`param_match initial`) or as a substring (`param_match partial`);
//! * zombies are not counted.
//!
//! Delays, as keepalived: when the count leaves the quorum, Down is reported only once it has
//! stayed out for `terminate_delay`; when it enters it, Up only once it has stayed in for
//! `fork_delay` (`delay` sets both). A change back within the delay is never reported
//! (keepalived cancels the timer). The first count is reported at once. A delay ends at the
//! first scan after it ([`Debounce`]).

use std::fs;
use std::time::Duration;

use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio::time::{Instant, MissedTickBehavior};
use tracing::info;

use super::{TrackState, TrackerUpdate};
use crate::config::model::TrackProcess;

/// How often `/proc` is scanned by default.
pub const DEFAULT_POLL: Duration = Duration::from_millis(500);

/// The kernel's limit on `comm` (TASK_COMM_LEN - 1).
pub const COMM_LEN: usize = 15;

/// Why a `vrrp_track_process` cannot be set up.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProcessError {
    /// No `process` line.
    #[error("vrrp_track_process {0}: no process configured")]
    NoProcess(String),
    /// Unknown `param_match` value.
    #[error(
        "vrrp_track_process {name}: unknown param_match {value:?} (expected initial or partial)"
    )]
    BadParamMatch {
        /// Block name.
        name: String,
        /// The value.
        value: String,
    },
    /// `quorum_max` below `quorum`.
    #[error("vrrp_track_process {name}: quorum_max {max} is below quorum {min}")]
    BadQuorum {
        /// Block name.
        name: String,
        /// quorum.
        min: u32,
        /// quorum_max.
        max: u32,
    },
}

/// How configured parameters are compared with a process's.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ParamMatch {
    /// All parameters, exactly.
    #[default]
    Exact,
    /// The configured parameters are the first ones of the process.
    Initial,
    /// The configured parameters appear anywhere in the process's.
    Partial,
}

/// A tracked process as the scanner needs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProcessSpec {
    /// Block name.
    pub name: String,
    /// Process name (or path, with `full_command`).
    pub process: String,
    /// Parameters to match (empty: any).
    pub params: Vec<String>,
    /// How parameters are compared.
    pub param_match: ParamMatch,
    /// Compare `process` with argv\[0\] instead of `comm`.
    pub full_command: bool,
    /// Minimum matching processes for Up (default 1).
    pub quorum: u32,
    /// Maximum matching processes for Up (default: no limit).
    pub quorum_max: u32,
    /// How long a drop out of the quorum must last before Down is reported
    /// (`terminate_delay`).
    pub terminate_delay: Duration,
    /// How long a return into the quorum must last before Up is reported (`fork_delay`).
    pub fork_delay: Duration,
}

impl ProcessSpec {
    /// From the parsed block.
    pub fn from_config(block: &TrackProcess) -> Result<Self, ProcessError> {
        let (process, params) = block
            .process
            .split_first()
            .ok_or_else(|| ProcessError::NoProcess(block.name.clone()))?;
        let param_match = match block.param_match.as_deref() {
            None => ParamMatch::Exact,
            Some("initial") => ParamMatch::Initial,
            Some("partial") => ParamMatch::Partial,
            Some(other) => {
                return Err(ProcessError::BadParamMatch {
                    name: block.name.clone(),
                    value: other.to_owned(),
                })
            }
        };
        let quorum = block.quorum.unwrap_or(1);
        let quorum_max = block.quorum_max.unwrap_or(u32::MAX);
        if quorum_max < quorum {
            return Err(ProcessError::BadQuorum {
                name: block.name.clone(),
                min: quorum,
                max: quorum_max,
            });
        }
        Ok(ProcessSpec {
            name: block.name.clone(),
            process: process.clone(),
            params: params.to_vec(),
            param_match,
            full_command: block.full_command,
            quorum,
            quorum_max,
            terminate_delay: Duration::from_micros(
                block.terminate_delay_us.or(block.delay_us).unwrap_or(0),
            ),
            fork_delay: Duration::from_micros(block.fork_delay_us.or(block.delay_us).unwrap_or(0)),
        })
    }

    /// Whether a process with this `comm` and raw `/proc/PID/cmdline` matches.
    pub fn matches(&self, comm: &str, cmdline: &[u8]) -> bool {
        let mut argv = cmdline
            .strip_suffix(b"\0")
            .unwrap_or(cmdline)
            .split(|b| *b == 0);
        let argv0 = argv.next().unwrap_or_default();
        let name_ok = if self.full_command {
            argv0 == self.process.as_bytes()
        } else {
            let want = self.process.as_bytes();
            comm.as_bytes() == &want[..want.len().min(COMM_LEN)]
        };
        if !name_ok {
            return false;
        }
        if self.params.is_empty() {
            return true;
        }
        let want = self.params.join("\0");
        let want = want.as_bytes();
        let have: Vec<u8> = argv.collect::<Vec<_>>().join(&0u8);
        match self.param_match {
            ParamMatch::Exact => have == want,
            ParamMatch::Initial => have.starts_with(want),
            ParamMatch::Partial => have.windows(want.len().max(1)).any(|w| w == want),
        }
    }

    /// Whether `count` matching processes mean Up.
    pub fn quorum_ok(&self, count: u32) -> bool {
        (self.quorum..=self.quorum_max).contains(&count)
    }
}

/// One process seen in `/proc`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProcInfo {
    /// `comm`.
    pub comm: String,
    /// Raw `cmdline` (NUL-separated).
    pub cmdline: Vec<u8>,
}

/// Lists the live (non-zombie) processes in `/proc`.
pub fn scan_proc() -> Vec<ProcInfo> {
    let Ok(dir) = fs::read_dir("/proc") else {
        return Vec::new();
    };
    dir.flatten()
        .filter(|e| {
            e.file_name()
                .to_string_lossy()
                .bytes()
                .all(|b| b.is_ascii_digit())
        })
        .filter_map(|e| {
            let path = e.path();
            let stat = fs::read_to_string(path.join("stat")).ok()?;
            // pid (comm) S ...: comm may contain spaces and parentheses.
            let close = stat.rfind(')')?;
            let open = stat.find('(')?;
            let comm = stat.get(open + 1..close)?.to_owned();
            let state = stat.get(close + 2..close + 3)?;
            if state == "Z" || state == "X" {
                return None;
            }
            let cmdline = fs::read(path.join("cmdline")).ok()?;
            Some(ProcInfo { comm, cmdline })
        })
        .collect()
}

/// Counts the processes matching `spec` in a scan.
pub fn count(spec: &ProcessSpec, procs: &[ProcInfo]) -> u32 {
    procs
        .iter()
        .filter(|p| spec.matches(&p.comm, &p.cmdline))
        .count() as u32
}

/// Running process trackers; dropping the handle stops them.
#[derive(Debug)]
pub struct ProcessHandle {
    task: JoinHandle<()>,
}

impl ProcessHandle {
    /// Stops the scanner.
    pub fn stop(self) {}
}

impl Drop for ProcessHandle {
    fn drop(&mut self) {
        self.task.abort();
    }
}

struct Tracked {
    spec: ProcessSpec,
    debounce: Debounce,
}

/// The reported state of one tracked process, with keepalived's `terminate_delay` and
/// `fork_delay` (see the module documentation).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Debounce {
    /// What was last reported (`None`: nothing yet).
    reported: Option<bool>,
    /// Since when the count has been on the other side of the quorum than reported.
    changed_since: Option<Instant>,
}

impl Debounce {
    /// Takes one count's verdict (`ok`: within the quorum) at `now`; returns the state to
    /// report, if one is due.
    pub fn step(&mut self, ok: bool, now: Instant, spec: &ProcessSpec) -> Option<bool> {
        match self.reported {
            Some(r) if r == ok => {
                // Back within the delay: the change is never reported.
                self.changed_since = None;
                None
            }
            Some(_) => {
                let delay = if ok {
                    spec.fork_delay
                } else {
                    spec.terminate_delay
                };
                let since = *self.changed_since.get_or_insert(now);
                if now.duration_since(since) < delay {
                    return None;
                }
                self.reported = Some(ok);
                self.changed_since = None;
                Some(ok)
            }
            None => {
                self.reported = Some(ok);
                Some(ok)
            }
        }
    }
}

/// Starts one task scanning `/proc` every `poll` for all `specs`, on the current tokio runtime.
pub fn spawn(
    specs: Vec<ProcessSpec>,
    poll: Duration,
    tx: mpsc::Sender<TrackerUpdate>,
) -> ProcessHandle {
    let task = tokio::spawn(async move {
        let mut tracked: Vec<Tracked> = specs
            .into_iter()
            .map(|spec| Tracked {
                spec,
                debounce: Debounce::default(),
            })
            .collect();
        let mut ticker = tokio::time::interval(poll);
        ticker.set_missed_tick_behavior(MissedTickBehavior::Delay);
        loop {
            ticker.tick().await;
            let procs = tokio::task::spawn_blocking(scan_proc)
                .await
                .unwrap_or_default();
            let now = Instant::now();
            for t in &mut tracked {
                let n = count(&t.spec, &procs);
                let Some(ok) = t.debounce.step(t.spec.quorum_ok(n), now, &t.spec) else {
                    continue;
                };
                let quorum = if t.spec.quorum_max == u32::MAX {
                    format!("quorum {}", t.spec.quorum)
                } else {
                    format!("quorum {}..{}", t.spec.quorum, t.spec.quorum_max)
                };
                let detail = format!(
                    "{n} matching process{} ({quorum})",
                    if n == 1 { "" } else { "es" }
                );
                info!(track_process = %t.spec.name, "Track process {}: {}", t.spec.name, detail);
                let update = TrackerUpdate {
                    name: t.spec.name.clone(),
                    state: if ok { TrackState::Up } else { TrackState::Down },
                    detail,
                };
                if tx.send(update).await.is_err() {
                    return;
                }
            }
        }
    });
    ProcessHandle { task }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(process: &str, params: &[&str], m: ParamMatch, full: bool) -> ProcessSpec {
        ProcessSpec {
            name: "p".into(),
            process: process.into(),
            params: params.iter().map(|s| s.to_string()).collect(),
            param_match: m,
            full_command: full,
            quorum: 1,
            quorum_max: u32::MAX,
            terminate_delay: Duration::ZERO,
            fork_delay: Duration::ZERO,
        }
    }

    #[test]
    fn delays_hold_back_each_direction_and_a_quick_return_is_never_reported() {
        let mut s = spec("x", &[], ParamMatch::Exact, false);
        s.terminate_delay = Duration::from_secs(2);
        s.fork_delay = Duration::from_secs(1);
        let t0 = Instant::now();
        let at = |ms| t0 + Duration::from_millis(ms);
        let mut d = Debounce::default();
        assert_eq!(d.step(true, at(0), &s), Some(true), "first count at once");
        // Lost, back after 1.5 s (< terminate_delay): nothing reported.
        assert_eq!(d.step(false, at(100), &s), None);
        assert_eq!(d.step(false, at(1600), &s), None);
        assert_eq!(d.step(true, at(1700), &s), None);
        // Lost for good: Down 2 s after the loss was first seen.
        assert_eq!(d.step(false, at(2000), &s), None);
        assert_eq!(d.step(false, at(3900), &s), None);
        assert_eq!(d.step(false, at(4000), &s), Some(false));
        // Back for 0.5 s (< fork_delay), lost again: nothing reported.
        assert_eq!(d.step(true, at(4100), &s), None);
        assert_eq!(d.step(false, at(4600), &s), None);
        // Back for good: Up 1 s after.
        assert_eq!(d.step(true, at(5000), &s), None);
        assert_eq!(d.step(true, at(6000), &s), Some(true));
        // Zero delays: at once.
        let mut z = Debounce::default();
        let s0 = spec("x", &[], ParamMatch::Exact, false);
        assert_eq!(z.step(false, at(0), &s0), Some(false));
        assert_eq!(z.step(true, at(1), &s0), Some(true));
        assert_eq!(z.step(false, at(2), &s0), Some(false));
    }

    #[test]
    fn name_and_params() {
        let cmd = b"/usr/sbin/haproxy\0-f\0/etc/h.cfg\0-p\0/run/h.pid\0";
        assert!(spec("haproxy", &[], ParamMatch::Exact, false).matches("haproxy", cmd));
        assert!(!spec("haproxy", &[], ParamMatch::Exact, true).matches("haproxy", cmd));
        assert!(spec("/usr/sbin/haproxy", &[], ParamMatch::Exact, true).matches("haproxy", cmd));
        assert!(
            !spec("haproxy", &["-f", "/etc/h.cfg"], ParamMatch::Exact, false)
                .matches("haproxy", cmd)
        );
        assert!(
            spec("haproxy", &["-f", "/etc/h.cfg"], ParamMatch::Initial, false)
                .matches("haproxy", cmd)
        );
        assert!(spec(
            "haproxy",
            &["-f", "/etc/h.cfg", "-p", "/run/h.pid"],
            ParamMatch::Exact,
            false
        )
        .matches("haproxy", cmd));
        assert!(
            spec("haproxy", &["-p", "/run/h.pid"], ParamMatch::Partial, false)
                .matches("haproxy", cmd)
        );
        assert!(
            !spec("haproxy", &["-p", "/run/h.pid"], ParamMatch::Initial, false)
                .matches("haproxy", cmd)
        );
        // comm is truncated to 15 bytes by the kernel.
        assert!(
            spec("a-very-long-process-name", &[], ParamMatch::Exact, false)
                .matches("a-very-long-pro", b"x\0")
        );
    }

    #[test]
    fn quorum_range() {
        let mut s = spec("x", &[], ParamMatch::Exact, false);
        s.quorum = 2;
        s.quorum_max = 3;
        assert!(!s.quorum_ok(1));
        assert!(s.quorum_ok(2) && s.quorum_ok(3));
        assert!(!s.quorum_ok(4));
    }
}
