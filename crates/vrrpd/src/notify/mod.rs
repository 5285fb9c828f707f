//! State-change notifications: `notify_*` scripts, `notify` and `notify_fifo`.
//!
//! For each event of an instance or sync group, as keepalived:
//!
//! 1. the state's own script (`notify_master`, `notify_backup`, `notify_fault`, `notify_stop`,
//!    `notify_deleted`, `notify_master_rx_lower_pri`) with only its configured arguments;
//! 2. the `notify` script with four arguments appended: `INSTANCE` or `GROUP`, the name, the
//!    state (`MASTER`, `BACKUP`, `FAULT`, `STOP`, `DELETED`) and the priority (0 for groups);
//! 3. a line on every FIFO (`notify_fifo`, `vrrp_notify_fifo`): `INSTANCE "VI_1" MASTER 100\n`,
//!    `GROUP "G" BACKUP 0\n` ([`fifo_line`]).
//!
//! A `DELETED` event of a target without `notify_deleted` is reported as `FAULT` (keepalived's
//! rule). `MASTER_RX_LOWER_PRI` runs its own script and writes the FIFO line but not `notify`;
//! `MASTER_PRIORITY`/`BACKUP_PRIORITY` (for `notify_priority_changes`) are FIFO-only.
//!
//! **Ordering** (the difference from keepalived, see `docs/notify-ordering.md`): each instance
//! and each sync group has a queue worker that runs its scripts one at a time, in the order the
//! events were passed to [`Notifier::notify`], each after the previous one has exited or has run
//! for [`ORDER_WAIT`] (0.5 s), so a hung script cannot delay later notifications by more than
//! that; different targets run in parallel.
//! A script that runs longer than [`NotifierConfig::script_timeout`] (default 30 s) gets SIGTERM
//! on its process group and SIGKILL 2 s later, and the queue moves on; STOP scripts get
//! [`NotifierConfig::stop_timeout`] (1 s, keepalived's rule) and then SIGKILL. FIFO lines are
//! written synchronously by [`Notifier::notify`] itself, so the FIFO carries every event of every
//! target in event order without waiting for scripts (as in keepalived, where the line is
//! written right after the scripts are forked).
//!
//! The FIFO is created with mode 0644 if missing and opened read-write and non-blocking, so
//! writing never blocks, with or without a reader; a full pipe drops the line (logged). A
//! `*_fifo_script` is started once with the FIFO path appended to its arguments. On shutdown it
//! gets SIGTERM first, before the STOP events ([`Notifier::signal_fifo_scripts`]), as keepalived
//! (2.2.7 and 2.4.3) kills its scripts before anything else: a FIFO script never reads the STOP
//! lines, which stay in the FIFO for a reader of its own; [`Notifier::shutdown`] reaps it.

use std::collections::{HashMap, HashSet};
use std::fmt;
use std::fs::{self, File, OpenOptions};
use std::io;
use std::os::unix::fs::{FileTypeExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::Duration;

use nix::fcntl::OFlag;
use nix::sys::signal::Signal;
use nix::sys::stat::Mode;
use tokio::runtime::Handle;
use tokio::sync::mpsc;
use tokio::task::{JoinHandle, JoinSet};
use tracing::{debug, error, info, warn};

mod fifo_states;
pub use fifo_states::StateLine;

use crate::config::model::{Config, NotifyFifo, NotifyScripts, ScriptCommand};
use crate::track::exec::{
    self, Credentials, ExecError, GroupChild, KillPolicy, PreparedCommand, ScriptPolicy,
};

/// What a notification is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Subject {
    /// A `vrrp_instance`.
    Instance,
    /// A `vrrp_sync_group`.
    Group,
}

impl Subject {
    /// `INSTANCE` or `GROUP`.
    pub fn as_str(self) -> &'static str {
        match self {
            Subject::Instance => "INSTANCE",
            Subject::Group => "GROUP",
        }
    }
}

impl fmt::Display for Subject {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The state being notified.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum NotifyState {
    /// Became MASTER.
    Master,
    /// Became BACKUP.
    Backup,
    /// Entered FAULT.
    Fault,
    /// The daemon stops.
    Stop,
    /// Removed by a reload (`FAULT` unless `notify_deleted` is configured).
    Deleted,
    /// A master heard a lower priority advert (`notify_master_rx_lower_pri`, FIFO).
    MasterRxLowerPri,
    /// A master's priority changed (`notify_priority_changes`, FIFO only).
    MasterPriority,
    /// A backup's priority changed (`notify_priority_changes`, FIFO only).
    BackupPriority,
}

impl NotifyState {
    /// The word used in arguments and FIFO lines.
    pub fn as_str(self) -> &'static str {
        match self {
            NotifyState::Master => "MASTER",
            NotifyState::Backup => "BACKUP",
            NotifyState::Fault => "FAULT",
            NotifyState::Stop => "STOP",
            NotifyState::Deleted => "DELETED",
            NotifyState::MasterRxLowerPri => "MASTER_RX_LOWER_PRI",
            NotifyState::MasterPriority => "MASTER_PRIORITY",
            NotifyState::BackupPriority => "BACKUP_PRIORITY",
        }
    }
}

impl fmt::Display for NotifyState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// keepalived's FIFO line: `INSTANCE "VI_1" MASTER 100\n`.
pub fn fifo_line(subject: Subject, name: &str, state: NotifyState, priority: u8) -> String {
    format!("{subject} \"{name}\" {state} {priority}\n")
}

/// Problems found while setting up notifications; the affected script or FIFO is disabled.
#[derive(Debug, thiserror::Error)]
pub enum NotifyError {
    /// A notify script cannot run.
    #[error("{subject} {name}: {keyword} disabled: {source}")]
    Script {
        /// Instance or group.
        subject: Subject,
        /// Its name.
        name: String,
        /// The keyword (`notify_master`, ...).
        keyword: &'static str,
        /// What is wrong.
        #[source]
        source: ExecError,
    },
    /// A FIFO cannot be created or opened.
    #[error("notify FIFO {path:?} disabled: {source}")]
    Fifo {
        /// The FIFO.
        path: PathBuf,
        /// The error.
        #[source]
        source: io::Error,
    },
    /// The path exists and is not a FIFO.
    #[error("notify FIFO {0:?} disabled: the path exists and is not a FIFO")]
    NotAFifo(PathBuf),
    /// The FIFO's owner does not exist.
    #[error("notify FIFO {path:?}: {source}")]
    FifoOwner {
        /// The FIFO.
        path: PathBuf,
        /// What is wrong.
        #[source]
        source: ExecError,
    },
    /// A FIFO script cannot run.
    #[error("FIFO script for {path:?} disabled: {source}")]
    FifoScript {
        /// The FIFO.
        path: PathBuf,
        /// What is wrong.
        #[source]
        source: ExecError,
    },
    /// A FIFO script could not be started.
    #[error("FIFO script for {path:?} could not be started: {source}")]
    FifoScriptSpawn {
        /// The FIFO.
        path: PathBuf,
        /// The error.
        #[source]
        source: io::Error,
    },
}

/// A FIFO and its optional reader script.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FifoSpec {
    /// The FIFO.
    pub fifo: NotifyFifo,
    /// `*_fifo_script`: started with the FIFO path appended.
    pub script: Option<ScriptCommand>,
}

/// Everything the notifier needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NotifierConfig {
    /// Script user and security.
    pub policy: ScriptPolicy,
    /// `notify_fifo` and `vrrp_notify_fifo`.
    pub fifos: Vec<FifoSpec>,
    /// Instances' notify scripts, by name.
    pub instances: Vec<(String, NotifyScripts)>,
    /// Sync groups' notify scripts, by name.
    pub groups: Vec<(String, NotifyScripts)>,
    /// How long a notify script may run before its process group is killed (default 30 s).
    pub script_timeout: Duration,
    /// How long a STOP script may run before its process group gets SIGKILL (default 1 s).
    pub stop_timeout: Duration,
}

impl NotifierConfig {
    /// Default script timeout.
    pub const SCRIPT_TIMEOUT: Duration = Duration::from_secs(30);
    /// keepalived's limit for STOP scripts.
    pub const STOP_TIMEOUT: Duration = Duration::from_secs(1);

    /// An empty configuration with the default timeouts.
    pub fn new(policy: ScriptPolicy) -> Self {
        NotifierConfig {
            policy,
            fifos: Vec::new(),
            instances: Vec::new(),
            groups: Vec::new(),
            script_timeout: Self::SCRIPT_TIMEOUT,
            stop_timeout: Self::STOP_TIMEOUT,
        }
    }

    /// From a parsed configuration: every instance's and group's scripts, `notify_fifo` and
    /// `vrrp_notify_fifo` (the same path given twice is used once).
    pub fn from_config(config: &Config, policy: ScriptPolicy) -> Self {
        let g = &config.global_defs;
        let mut cfg = Self::new(policy);
        for (fifo, script) in [
            (&g.notify_fifo, &g.notify_fifo_script),
            (&g.vrrp_notify_fifo, &g.vrrp_notify_fifo_script),
        ] {
            if let Some(fifo) = fifo {
                if !cfg.fifos.iter().any(|f| f.fifo.path == fifo.path) {
                    cfg.fifos.push(FifoSpec {
                        fifo: fifo.clone(),
                        script: script.clone(),
                    });
                }
            }
        }
        cfg.instances = config
            .vrrp_instances
            .iter()
            .map(|i| (i.name.clone(), i.notify.clone()))
            .collect();
        cfg.groups = config
            .vrrp_sync_groups
            .iter()
            .map(|g| (g.name.clone(), g.notify.clone()))
            .collect();
        cfg
    }
}

/// The checked scripts of one target.
#[derive(Debug, Default)]
struct Scripts {
    master: Option<PreparedCommand>,
    backup: Option<PreparedCommand>,
    fault: Option<PreparedCommand>,
    stop: Option<PreparedCommand>,
    deleted: Option<PreparedCommand>,
    notify: Option<PreparedCommand>,
    master_rx_lower_pri: Option<PreparedCommand>,
    /// `notify_deleted` is configured (with or without a script).
    notify_deleted: bool,
}

impl Scripts {
    /// No script and no `notify_deleted`: the same as no entry at all.
    fn is_empty(&self) -> bool {
        let Scripts {
            master,
            backup,
            fault,
            stop,
            deleted,
            notify,
            master_rx_lower_pri,
            notify_deleted,
        } = self;
        !notify_deleted
            && [
                master,
                backup,
                fault,
                stop,
                deleted,
                notify,
                master_rx_lower_pri,
            ]
            .iter()
            .all(|s| s.is_none())
    }
}

/// One script run of a job.
#[derive(Debug)]
struct Step {
    keyword: &'static str,
    cmd: PreparedCommand,
    policy: KillPolicy,
}

type Key = (Subject, String);

struct Worker {
    tx: mpsc::UnboundedSender<Vec<Step>>,
    task: JoinHandle<()>,
}

/// Delivers notifications; see the module documentation.
pub struct Notifier {
    runtime: Handle,
    /// What the FIFOs were opened and their scripts started with (compared on reload).
    fifo_config: (Vec<FifoSpec>, ScriptPolicy),
    /// The targets with at least one script or `notify_deleted`; a target that is not here
    /// has none (most instances: an entry per instance would cost ~2 KiB each).
    targets: HashMap<Key, Scripts>,
    fifos: Vec<(PathBuf, File)>,
    fifo_scripts: Mutex<Vec<(PathBuf, GroupChild)>>,
    /// `None` after shutdown.
    workers: Mutex<Option<HashMap<Key, Worker>>>,
    script_timeout: Duration,
    stop_timeout: Duration,
    problems: Vec<NotifyError>,
}

impl fmt::Debug for Notifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Notifier")
            .field("targets", &self.targets.len())
            .field("fifos", &self.fifos.len())
            .finish_non_exhaustive()
    }
}

impl Notifier {
    /// Checks every script, creates and opens the FIFOs and starts the FIFO scripts. Must be
    /// called within a tokio runtime (workers are spawned on it). Problems do not stop it: the
    /// script or FIFO concerned is disabled, logged, and listed by [`Notifier::problems`].
    pub fn start(config: NotifierConfig) -> Notifier {
        let mut problems = Vec::new();
        let targets = prepare_targets(&config, &mut problems);
        let (fifos, fifo_scripts) = open_fifos(&config, &mut problems);
        for p in &problems {
            error!("{p}");
        }
        Notifier {
            runtime: Handle::current(),
            fifo_config: (config.fifos, config.policy),
            targets,
            fifos,
            fifo_scripts: Mutex::new(fifo_scripts),
            workers: Mutex::new(Some(HashMap::new())),
            script_timeout: config.script_timeout,
            stop_timeout: config.stop_timeout,
            problems,
        }
    }

    /// Applies a new configuration (reload) without losing or reordering notifications
    /// already given to [`Notifier::notify`]:
    ///
    /// * every target's scripts are checked again and replace the old ones for the events
    ///   notified from now on; what is already queued runs as it was configured when queued;
    /// * the queues of targets that remain keep running; those of targets no longer configured
    ///   run what they hold and end;
    /// * FIFOs and FIFO scripts are kept if their configuration (and the script policy) is
    ///   unchanged; otherwise the old FIFO scripts are stopped (SIGTERM, SIGKILL 1 s later),
    ///   the old FIFOs closed and the new ones opened and started.
    ///
    /// [`Notifier::problems`] then lists the new configuration's problems.
    pub fn reload(&mut self, config: NotifierConfig) {
        let mut problems = Vec::new();
        self.targets = prepare_targets(&config, &mut problems);
        if self.fifo_config != (config.fifos.clone(), config.policy.clone()) {
            let (fifos, scripts) = open_fifos(&config, &mut problems);
            self.fifos = fifos;
            let old = std::mem::replace(
                &mut *self.fifo_scripts.lock().unwrap_or_else(|e| e.into_inner()),
                scripts,
            );
            for (path, mut child) in old {
                debug!("stopping FIFO script for {path:?}");
                self.runtime.spawn(async move {
                    child.terminate(Some(Duration::from_secs(1))).await;
                });
            }
            self.fifo_config = (config.fifos, config.policy);
        }
        self.script_timeout = config.script_timeout;
        self.stop_timeout = config.stop_timeout;
        let mut workers = self.workers.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(workers) = workers.as_mut() {
            // Dropping the sender lets the worker finish its queue and end.
            let configured: HashSet<(Subject, &str)> = [
                (Subject::Instance, &config.instances),
                (Subject::Group, &config.groups),
            ]
            .into_iter()
            .flat_map(|(subject, list)| list.iter().map(move |(name, _)| (subject, name.as_str())))
            .collect();
            workers.retain(|(subject, name), _| configured.contains(&(*subject, name.as_str())));
        }
        for p in &problems {
            error!("{p}");
        }
        self.problems = problems;
    }

    /// Moves a target's queue to a new name (an instance renamed by a reload), so that its
    /// notifications stay in order across the rename.
    pub fn rename(&self, subject: Subject, from: &str, to: &str) {
        let mut workers = self.workers.lock().unwrap_or_else(|e| e.into_inner());
        let Some(workers) = workers.as_mut() else {
            return;
        };
        if let Some(w) = workers.remove(&(subject, from.to_owned())) {
            workers.insert((subject, to.to_owned()), w);
        }
    }

    /// What was disabled at start, and why.
    pub fn problems(&self) -> &[NotifyError] {
        &self.problems
    }

    /// Notifies a state change. Returns at once: the FIFO lines are written (non-blocking) and
    /// the scripts are queued behind the target's earlier notifications. `priority` is the
    /// effective priority (groups always report 0). Ignored after [`Notifier::shutdown`].
    pub fn notify(&self, subject: Subject, name: &str, state: NotifyState, priority: u8) {
        let priority = if subject == Subject::Group {
            0
        } else {
            priority
        };
        let key = (subject, name.to_owned());
        let scripts = self.targets.get(&key);
        let state = match state {
            NotifyState::Deleted if !scripts.is_some_and(|s| s.notify_deleted) => {
                NotifyState::Fault
            }
            s => s,
        };
        let mut steps = Vec::new();
        if let Some(s) = scripts {
            let policy = if state == NotifyState::Stop {
                KillPolicy {
                    timeout: self.stop_timeout,
                    term_grace: None,
                }
            } else {
                KillPolicy::check(self.script_timeout)
            };
            let (keyword, specific, generic) = match state {
                NotifyState::Master => ("notify_master", &s.master, true),
                NotifyState::Backup => ("notify_backup", &s.backup, true),
                NotifyState::Fault => ("notify_fault", &s.fault, true),
                NotifyState::Stop => ("notify_stop", &s.stop, true),
                NotifyState::Deleted => ("notify_deleted", &s.deleted, true),
                NotifyState::MasterRxLowerPri => {
                    ("notify_master_rx_lower_pri", &s.master_rx_lower_pri, false)
                }
                NotifyState::MasterPriority | NotifyState::BackupPriority => ("", &None, false),
            };
            if let Some(cmd) = specific {
                steps.push(Step {
                    keyword,
                    cmd: cmd.clone(),
                    policy,
                });
            }
            if let (true, Some(cmd)) = (generic, &s.notify) {
                steps.push(Step {
                    keyword: "notify",
                    cmd: cmd.with_args([
                        subject.as_str().to_owned(),
                        name.to_owned(),
                        state.as_str().to_owned(),
                        priority.to_string(),
                    ]),
                    policy,
                });
            }
        }
        // Held while writing the FIFO lines too, so that FIFO order is queue order.
        let mut workers = self.workers.lock().unwrap_or_else(|e| e.into_inner());
        self.write_fifos(&fifo_line(subject, name, state, priority));
        debug!(
            "{subject} {name} {state} {priority}: {} script(s) queued",
            steps.len()
        );
        if steps.is_empty() {
            return;
        }
        let Some(workers) = workers.as_mut() else {
            warn!("{subject} {name} {state}: notifier shut down, scripts not run");
            return;
        };
        let worker = workers.entry(key).or_insert_with(|| {
            let (tx, rx) = mpsc::unbounded_channel();
            let task = self.runtime.spawn(worker(subject, name.to_owned(), rx));
            Worker { tx, task }
        });
        if worker.tx.send(steps).is_err() {
            warn!("{subject} {name} {state}: notify worker gone, scripts not run");
        }
    }

    /// Sends SIGTERM to every FIFO script's process group, at the start of a shutdown: the
    /// STOP events written after it are not read by them (keepalived's order; see the module
    /// documentation). [`Notifier::shutdown`] then reaps them (SIGKILL 1 s later if needed).
    pub fn signal_fifo_scripts(&self) {
        let scripts = self.fifo_scripts.lock().unwrap_or_else(|e| e.into_inner());
        for (path, child) in scripts.iter() {
            debug!("stopping FIFO script for {path:?}");
            child.signal_group(Signal::SIGTERM);
        }
    }

    /// Stops accepting notifications, lets the queues drain for at most `bound` (then kills
    /// what still runs), and stops the FIFO scripts (SIGTERM, SIGKILL 1 s later).
    pub async fn shutdown(self, bound: Duration) {
        let deadline = tokio::time::Instant::now() + bound;
        let workers = self
            .workers
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .take()
            .unwrap_or_default();
        for ((subject, name), Worker { tx, mut task }) in workers {
            drop(tx);
            if tokio::time::timeout_at(deadline, &mut task).await.is_err() {
                warn!("{subject} {name}: notify scripts still running at shutdown, killed");
                task.abort();
                let _ = task.await;
            }
        }
        let scripts =
            std::mem::take(&mut *self.fifo_scripts.lock().unwrap_or_else(|e| e.into_inner()));
        for (path, mut child) in scripts {
            debug!("stopping FIFO script for {path:?}");
            child.terminate(Some(Duration::from_secs(1))).await;
        }
    }
}

/// How long a notify script may hold back the next script of its target: after this, the next
/// one starts although the previous one still runs (it keeps its own timeout). A script that
/// finishes in time keeps the strict order; a hung one delays later notifications by at most this.
pub const ORDER_WAIT: Duration = Duration::from_millis(500);

/// Runs a target's scripts in queue order, each after the previous one has exited or has run
/// for [`ORDER_WAIT`]. Scripts still running when the queue closes are awaited (each is bounded
/// by its kill policy); aborting the worker drops the set, which kills their process groups.
async fn worker(subject: Subject, name: String, mut rx: mpsc::UnboundedReceiver<Vec<Step>>) {
    let mut running: JoinSet<()> = JoinSet::new();
    while let Some(steps) = rx.recv().await {
        for step in steps {
            let keyword = step.keyword;
            let command = step.cmd.display.clone();
            debug!("{subject} {name}: running {keyword} {command:?}");
            let id = running.spawn(run_step(subject, name.clone(), step)).id();
            if !wait_for(&mut running, id, ORDER_WAIT).await {
                warn!(
                    "{subject} {name}: {keyword} script {command:?} still running after {} ms: \
                     the next notification does not wait for it",
                    ORDER_WAIT.as_millis()
                );
            }
        }
    }
    while running.join_next().await.is_some() {}
}

/// Waits up to `bound` for task `id` of `set` to end, reaping any other task that ends meanwhile.
/// Returns whether `id` ended.
async fn wait_for(set: &mut JoinSet<()>, id: tokio::task::Id, bound: Duration) -> bool {
    let deadline = tokio::time::Instant::now() + bound;
    loop {
        match tokio::time::timeout_at(deadline, set.join_next_with_id()).await {
            Ok(Some(Ok((ended, ())))) if ended == id => return true,
            Ok(Some(Err(e))) if e.id() == id => return true,
            Ok(Some(_)) => {}
            Ok(None) => return true,
            Err(_) => return false,
        }
    }
}

/// Runs one script to completion (or its kill policy) and logs a failure.
async fn run_step(subject: Subject, name: String, step: Step) {
    match exec::run(&step.cmd, step.policy).await {
        exec::Outcome::Exited(0) => {}
        outcome @ exec::Outcome::TimedOut(_) => warn!(
            "{subject} {name}: {} script {:?} {outcome}; its process group was killed",
            step.keyword, step.cmd.display
        ),
        outcome => warn!(
            "{subject} {name}: {} script {:?} {outcome}",
            step.keyword, step.cmd.display
        ),
    }
}

/// Checks every instance's and group's scripts.
fn prepare_targets(
    config: &NotifierConfig,
    problems: &mut Vec<NotifyError>,
) -> HashMap<Key, Scripts> {
    let mut targets = HashMap::new();
    for (subject, list) in [
        (Subject::Instance, &config.instances),
        (Subject::Group, &config.groups),
    ] {
        for (name, scripts) in list {
            let scripts = prepare_scripts(subject, name, scripts, &config.policy, problems);
            if !scripts.is_empty() {
                targets.insert((subject, name.clone()), scripts);
            }
        }
    }
    targets
}

/// Running FIFO scripts, by FIFO.
type FifoScripts = Vec<(PathBuf, GroupChild)>;

/// Opens the FIFOs and starts their scripts.
fn open_fifos(
    config: &NotifierConfig,
    problems: &mut Vec<NotifyError>,
) -> (Vec<(PathBuf, File)>, FifoScripts) {
    let mut fifos = Vec::new();
    let mut fifo_scripts = Vec::new();
    for spec in &config.fifos {
        let path = PathBuf::from(&spec.fifo.path);
        match open_fifo(&spec.fifo) {
            Ok(file) => fifos.push((path.clone(), file)),
            Err(e) => {
                problems.push(e);
                continue;
            }
        }
        let Some(script) = &spec.script else { continue };
        let prepared = exec::prepare(&script.command, script.run_as.as_ref(), &config.policy)
            .map(|c| c.with_args([spec.fifo.path.clone()]));
        match prepared {
            Err(source) => problems.push(NotifyError::FifoScript {
                path: path.clone(),
                source,
            }),
            Ok(cmd) => match GroupChild::spawn(&cmd) {
                Ok(child) => {
                    info!("started FIFO script {:?} for {:?}", cmd.display, path);
                    fifo_scripts.push((path.clone(), child));
                }
                Err(source) => problems.push(NotifyError::FifoScriptSpawn {
                    path: path.clone(),
                    source,
                }),
            },
        }
    }
    (fifos, fifo_scripts)
}

fn prepare_scripts(
    subject: Subject,
    name: &str,
    scripts: &NotifyScripts,
    policy: &ScriptPolicy,
    problems: &mut Vec<NotifyError>,
) -> Scripts {
    let mut prep = |keyword: &'static str, script: &Option<ScriptCommand>| {
        let script = script.as_ref().filter(|s| !s.command.trim().is_empty())?;
        exec::prepare(&script.command, script.run_as.as_ref(), policy)
            .map_err(|source| {
                problems.push(NotifyError::Script {
                    subject,
                    name: name.to_owned(),
                    keyword,
                    source,
                })
            })
            .ok()
    };
    Scripts {
        master: prep("notify_master", &scripts.master),
        backup: prep("notify_backup", &scripts.backup),
        fault: prep("notify_fault", &scripts.fault),
        stop: prep("notify_stop", &scripts.stop),
        deleted: prep("notify_deleted", &scripts.deleted),
        notify: prep("notify", &scripts.notify),
        master_rx_lower_pri: prep("notify_master_rx_lower_pri", &scripts.master_rx_lower_pri),
        notify_deleted: scripts.deleted.is_some(),
    }
}

/// Creates the FIFO (mode 0644, owned by its `run_as` user if given) unless it exists, and opens
/// it read-write and non-blocking.
fn open_fifo(spec: &NotifyFifo) -> Result<File, NotifyError> {
    let path = Path::new(&spec.path);
    let fifo_err = |source| NotifyError::Fifo {
        path: path.to_owned(),
        source,
    };
    match fs::symlink_metadata(path) {
        Ok(m) if m.file_type().is_fifo() => {}
        Ok(_) => return Err(NotifyError::NotAFifo(path.to_owned())),
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            nix::unistd::mkfifo(path, Mode::from_bits_truncate(0o644))
                .map_err(|e| fifo_err(io::Error::from(e)))?;
            fs::set_permissions(path, fs::Permissions::from_mode(0o644)).map_err(fifo_err)?;
            if let Some(run_as) = &spec.run_as {
                let creds =
                    Credentials::resolve(run_as).map_err(|source| NotifyError::FifoOwner {
                        path: path.to_owned(),
                        source,
                    })?;
                nix::unistd::chown(
                    path,
                    Some(nix::unistd::Uid::from_raw(creds.uid)),
                    Some(nix::unistd::Gid::from_raw(creds.gid)),
                )
                .map_err(|e| fifo_err(io::Error::from(e)))?;
            }
        }
        Err(e) => return Err(fifo_err(e)),
    }
    OpenOptions::new()
        .read(true)
        .write(true)
        .custom_flags(OFlag::O_NONBLOCK.bits())
        .open(path)
        .map_err(fifo_err)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fifo_lines() {
        assert_eq!(
            fifo_line(Subject::Instance, "VI_1", NotifyState::Master, 100),
            "INSTANCE \"VI_1\" MASTER 100\n"
        );
        assert_eq!(
            fifo_line(Subject::Group, "G", NotifyState::Backup, 0),
            "GROUP \"G\" BACKUP 0\n"
        );
    }
}
