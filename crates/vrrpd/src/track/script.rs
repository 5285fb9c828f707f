//! `vrrp_script`: run a check every `interval` and turn its results into GOOD/BAD with
//! keepalived's rise/fall counter.
//!
//! How the command is run (argv splitting, no shell except `</...`, user, process group,
//! environment, security checks) is described in [`super::exec`]. Per run:
//!
//! * exit status 0 is a success; a non-zero status, a signal, a failure to start or a timeout
//!   is a failure;
//! * the timeout (default: the interval) sends SIGTERM to the script's process group and
//!   SIGKILL 2 s later; the run is logged as "timed out";
//! * a script still running when the next interval comes is **not** started again (logged at
//!   warning level), as in keepalived.
//!
//! Rise/fall ([`RiseFall`]): a counter in `[0, rise+fall-1]`, GOOD iff it is `>= rise`. Starting
//! at `rise-1`, the first result decides either way; with `init_fail` it starts at 0 and the
//! script is reported BAD at once, needing `rise` successes. Then `rise` consecutive successes
//! flip BAD to GOOD (the counter jumps to its maximum) and `fall` consecutive failures flip GOOD
//! to BAD (the counter drops to 0); an opposite result restarts the streak.
//!
//! [`spawn`] starts a tokio task that sends a [`TrackerUpdate`] (state [`TrackState::Up`] for
//! GOOD, [`TrackState::Down`] for BAD) on the first verdict and on every change;
//! [`ScriptHandle::progress`] tells the counter and whether a run is in progress (the dump
//! files' `Result` and `State`).

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{mpsc, oneshot, watch};
use tokio::task::JoinHandle;
use tokio::time::MissedTickBehavior;
use tracing::{info, warn};

use super::exec::{self, ExecError, KillPolicy, Outcome, PreparedCommand, ScriptPolicy};
use super::{TrackState, TrackerUpdate};
use crate::config::model::{RunAs, VrrpScript};

/// Why a `vrrp_script` cannot run; the script is then disabled (the message says why).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ScriptError {
    /// The block has no `script` line.
    #[error("vrrp_script {0}: no script configured")]
    NoCommand(String),
    /// `interval` is zero.
    #[error("vrrp_script {0}: interval must be positive")]
    ZeroInterval(String),
    /// The command cannot be run (missing, not executable, insecure, unknown user...).
    #[error("vrrp_script {name} disabled: {source}")]
    Exec {
        /// The script's name.
        name: String,
        /// What is wrong.
        #[source]
        source: ExecError,
    },
}

/// A `vrrp_script` as the runner needs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScriptSpec {
    /// Block name.
    pub name: String,
    /// The command line as configured.
    pub command: String,
    /// Per-script `user [group]` (else the policy's default user).
    pub run_as: Option<RunAs>,
    /// Time between starts.
    pub interval: Duration,
    /// Time a run may take.
    pub timeout: Duration,
    /// Consecutive successes to become GOOD (at least 1).
    pub rise: u32,
    /// Consecutive failures to become BAD (at least 1).
    pub fall: u32,
    /// `init_fail`: BAD until `rise` successes.
    pub init_fail: bool,
}

impl ScriptSpec {
    /// From the parsed block (timeout defaults to the interval).
    pub fn from_config(script: &VrrpScript) -> Result<Self, ScriptError> {
        let command = script
            .script
            .clone()
            .filter(|c| !c.trim().is_empty())
            .ok_or_else(|| ScriptError::NoCommand(script.name.clone()))?;
        if script.interval_ms == 0 {
            return Err(ScriptError::ZeroInterval(script.name.clone()));
        }
        let interval = Duration::from_millis(script.interval_ms);
        Ok(ScriptSpec {
            name: script.name.clone(),
            command,
            run_as: script.run_as.clone(),
            interval,
            timeout: script
                .timeout_ms
                .filter(|t| *t > 0)
                .map_or(interval, Duration::from_millis),
            rise: script.rise.max(1),
            fall: script.fall.max(1),
            init_fail: script.init_fail,
        })
    }

    /// Checks the command (see [`exec::prepare`]).
    pub fn prepare(&self, policy: &ScriptPolicy) -> Result<PreparedCommand, ScriptError> {
        exec::prepare(&self.command, self.run_as.as_ref(), policy).map_err(|source| {
            ScriptError::Exec {
                name: self.name.clone(),
                source,
            }
        })
    }
}

/// keepalived's rise/fall counter (see the module documentation).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RiseFall {
    rise: u32,
    fall: u32,
    counter: u32,
    verdict: Option<bool>,
}

impl RiseFall {
    /// A new counter: at `rise-1` with no verdict, or with `init_fail` at 0 and BAD.
    pub fn new(rise: u32, fall: u32, init_fail: bool) -> Self {
        let rise = rise.max(1);
        RiseFall {
            rise,
            fall: fall.max(1),
            counter: if init_fail { 0 } else { rise - 1 },
            verdict: if init_fail { Some(false) } else { None },
        }
    }

    fn max(&self) -> u32 {
        self.rise + self.fall - 1
    }

    /// Records one result; returns the new verdict (`true` = GOOD) if it changed or is the
    /// first one.
    pub fn record(&mut self, success: bool) -> Option<bool> {
        if success {
            if self.counter < self.rise - 1 {
                self.counter += 1;
            } else {
                self.counter = self.max();
            }
        } else if self.counter > self.rise {
            self.counter -= 1;
        } else {
            self.counter = 0;
        }
        let good = self.counter >= self.rise;
        if self.verdict == Some(good) {
            None
        } else {
            self.verdict = Some(good);
            Some(good)
        }
    }

    /// The counter, in `[0, rise+fall-1]`.
    pub fn counter(&self) -> u32 {
        self.counter
    }

    /// The current verdict (`None` before the first result).
    pub fn verdict(&self) -> Option<bool> {
        self.verdict
    }
}

/// Where a script's runner stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Progress {
    /// The rise/fall counter ([`RiseFall::counter`]).
    pub counter: u32,
    /// True while a run is in progress.
    pub running: bool,
}

/// A running `vrrp_script`. Dropping it aborts the task and SIGKILLs a running script's process
/// group; [`ScriptHandle::stop`] does the same and waits for it.
#[derive(Debug)]
pub struct ScriptHandle {
    name: String,
    stop: Option<oneshot::Sender<()>>,
    progress: watch::Receiver<Progress>,
    task: JoinHandle<()>,
}

impl ScriptHandle {
    /// The script's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The counter and whether a run is in progress, now.
    pub fn progress(&self) -> Progress {
        *self.progress.borrow()
    }

    /// Stops the runner; a running script gets SIGTERM, then SIGKILL after 2 s.
    pub async fn stop(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        let _ = (&mut self.task).await;
    }
}

impl Drop for ScriptHandle {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Checks the script and starts its runner on the current tokio runtime. Updates go to `tx`;
/// the runner ends when `tx`'s receiver is dropped or the handle is stopped or dropped.
pub fn spawn(
    spec: ScriptSpec,
    policy: &ScriptPolicy,
    tx: mpsc::Sender<TrackerUpdate>,
) -> Result<ScriptHandle, ScriptError> {
    let cmd = spec.prepare(policy)?;
    let (stop_tx, stop_rx) = oneshot::channel();
    let counter = RiseFall::new(spec.rise, spec.fall, spec.init_fail);
    let (progress_tx, progress) = watch::channel(Progress {
        counter: counter.counter(),
        running: false,
    });
    let name = spec.name.clone();
    let task = tokio::spawn(run_loop(
        spec,
        Arc::new(cmd),
        (counter, progress_tx),
        tx,
        stop_rx,
    ));
    Ok(ScriptHandle {
        name,
        stop: Some(stop_tx),
        progress,
        task,
    })
}

async fn run_loop(
    spec: ScriptSpec,
    cmd: Arc<PreparedCommand>,
    (mut counter, progress): (RiseFall, watch::Sender<Progress>),
    tx: mpsc::Sender<TrackerUpdate>,
    mut stop: oneshot::Receiver<()>,
) {
    let report = |counter: &RiseFall, running: bool| {
        progress.send_replace(Progress {
            counter: counter.counter(),
            running,
        });
    };
    if spec.init_fail {
        let update = TrackerUpdate {
            name: spec.name.clone(),
            state: TrackState::Down,
            detail: format!(
                "init_fail: failed until {} successful run{}",
                spec.rise,
                if spec.rise == 1 { "" } else { "s" }
            ),
        };
        if tx.send(update).await.is_err() {
            return;
        }
    }
    let policy = KillPolicy::check(spec.timeout);
    let mut ticker = tokio::time::interval(spec.interval);
    ticker.set_missed_tick_behavior(MissedTickBehavior::Delay);
    // The current run: its own task, so the loop keeps ticking (and logging) while it runs.
    // Dropping it (the runner is aborted) aborts the run, whose `GroupChild` then SIGKILLs the
    // script's process group.
    let mut running: Option<(AbortOnDrop, oneshot::Sender<()>)> = None;
    loop {
        tokio::select! {
            _ = &mut stop => {
                if let Some((mut task, cancel)) = running.take() {
                    let _ = cancel.send(());
                    let _ = (&mut task.0).await;
                }
                return;
            }
            _ = ticker.tick() => {
                if running.is_some() {
                    warn!(
                        script = %spec.name,
                        "VRRP_Script({}) is still running, not starting it again (interval {:?}, timeout {:?})",
                        spec.name, spec.interval, spec.timeout
                    );
                    continue;
                }
                let (cancel_tx, cancel_rx) = oneshot::channel();
                let task = tokio::spawn(run_once(cmd.clone(), policy, cancel_rx));
                running = Some((AbortOnDrop(task), cancel_tx));
                report(&counter, true);
            }
            result = async { (&mut running.as_mut().expect("guarded").0 .0).await }, if running.is_some() => {
                running = None;
                let outcome = result.unwrap_or_else(|e| Outcome::SpawnFailed(format!("runner task failed: {e}")));
                let success = outcome.success();
                if !success {
                    // Every failure is logged (keepalived only logs verdict changes, which hides
                    // flapping checks): at info level, so users can see what a check does.
                    info!(script = %spec.name, "VRRP_Script({}) {}", spec.name, outcome);
                }
                let verdict = counter.record(success);
                report(&counter, false);
                let Some(good) = verdict else { continue };
                let detail = if good {
                    format!("succeeded (rise {})", spec.rise)
                } else {
                    format!("{outcome} (fall {})", spec.fall)
                };
                if good {
                    info!(script = %spec.name, "VRRP_Script({}) succeeded", spec.name);
                } else {
                    warn!(script = %spec.name, "VRRP_Script({}) failed: {}", spec.name, detail);
                }
                let update = TrackerUpdate {
                    name: spec.name.clone(),
                    state: if good { TrackState::Up } else { TrackState::Down },
                    detail,
                };
                if tx.send(update).await.is_err() {
                    return;
                }
            }
        }
    }
}

/// A run's task, aborted when dropped.
struct AbortOnDrop(JoinHandle<Outcome>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// One run; on `cancel`, SIGTERM/SIGKILL the group as on a timeout.
async fn run_once(
    cmd: Arc<PreparedCommand>,
    policy: KillPolicy,
    cancel: oneshot::Receiver<()>,
) -> Outcome {
    let mut child = match exec::GroupChild::spawn(&cmd) {
        Ok(c) => c,
        Err(e) => return Outcome::SpawnFailed(e.to_string()),
    };
    tokio::select! {
        r = tokio::time::timeout(policy.timeout, child.wait()) => match r {
            Ok(Ok(status)) => Outcome::from_status(status),
            Ok(Err(e)) => Outcome::SpawnFailed(format!("wait failed: {e}")),
            Err(_) => {
                child.terminate(policy.term_grace).await;
                Outcome::TimedOut(policy.timeout)
            }
        },
        _ = cancel => {
            child.terminate(policy.term_grace).await;
            Outcome::SpawnFailed("stopped".into())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn feed(rf: &mut RiseFall, results: &str) -> Vec<Option<bool>> {
        results.chars().map(|c| rf.record(c == '+')).collect()
    }

    #[test]
    fn first_result_decides() {
        let mut rf = RiseFall::new(3, 2, false);
        assert_eq!(rf.counter(), 2);
        assert_eq!(feed(&mut rf, "+"), [Some(true)]);
        assert_eq!(rf.counter(), 4);
        let mut rf = RiseFall::new(3, 2, false);
        assert_eq!(feed(&mut rf, "-"), [Some(false)]);
        assert_eq!(rf.counter(), 0);
    }

    #[test]
    fn rise_and_fall_streaks() {
        let mut rf = RiseFall::new(2, 3, false);
        // GOOD; two failures are not enough, a success restarts the streak.
        assert_eq!(
            feed(&mut rf, "+--+---"),
            [Some(true), None, None, None, None, None, Some(false)]
        );
        assert_eq!(feed(&mut rf, "+-++"), [None, None, None, Some(true)]);
    }

    #[test]
    fn init_fail_needs_rise_successes() {
        let mut rf = RiseFall::new(2, 1, true);
        assert_eq!(rf.verdict(), Some(false));
        assert_eq!(feed(&mut rf, "-++-"), [None, None, Some(true), Some(false)]);
    }
}
