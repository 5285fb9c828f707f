//! The daemon runtime: configuration plan, data-plane driver, trackers, notifications,
//! signals, pid files and systemd integration, on one current-thread tokio runtime.
//!
//! - SIGTERM / SIGINT: every Active sends priority 0 and releases its addresses, STOP notifies
//!   run, the process exits.
//! - SIGHUP: the configuration is re-read as at startup and applied live ([`reload`]): a
//!   configuration with errors is refused and the running one kept; instances are matched as
//!   keepalived matches them (VRID, family, interface, unicast or multicast) and matched ones
//!   keep their state, VIPs and trackers (the VIP lists are diffed, with no state change and
//!   no priority-0 advert); removed instances are released and notified DELETED (FAULT
//!   without `notify_deleted`); new ones start as at startup; tracked objects keep their
//!   state; the notifier takes the new notify configuration after the notifications of the
//!   removed instances are queued.
//! - SIGUSR1 / SIGUSR2 / SIGRTMAX-1 / SIGRTMIN+2: keepalived's data, stats, stats-and-clear
//!   and JSON dump files ([`dumps`]).
//! - Every other catchable signal is logged and ignored ([`signals`]), from the start of the
//!   runtime on.
//! - systemd: `READY=1` once the routers run, `RELOADING=1` / `STOPPING=1`, and `WATCHDOG=1`
//!   from the event loop itself, so a hung loop is noticed.

mod dumps;
mod fifo_states;
pub mod host;
pub mod plan;
pub mod reload;
pub mod reload_file;
pub mod signals;
pub mod start_stop;
pub mod trackers;

use std::collections::BTreeMap;
use std::process::ExitCode;
use std::time::{Duration, SystemTime};

use tokio::sync::{broadcast, mpsc};
use vrrp_net::driver::{self, Event, Handle};
use vrrp_net::history::History;

use crate::cli::Cli;
use crate::config::Loaded;
use crate::control::protocol::{
    Command, DaemonStatus, ErrorKind, HistoryEntry, ReloadReply, Response,
};
use crate::control::server::{ControlSocket, Query};
use crate::control::view;
use crate::convert::{self, InstancePlan, SyncGroupPlan};
use crate::metrics::server::MetricsListener;
use crate::metrics::{MetricsQuery, ReasonCount, Snapshot};
use crate::notify::{Notifier, NotifierConfig, NotifyState, Subject};
use crate::pidfile::{PidFile, PidPaths, PidSettings};
use crate::track::exec::ScriptPolicy;
use crate::tuning::{ProcessSettings, Tuner};
use reload::Next;

pub use plan::RuntimeOptions;

/// keepalived's exit codes.
const EXIT_FATAL: u8 = 1;
const EXIT_CONFIG: u8 = 2;
const EXIT_PERMISSION: u8 = 4;

/// How long the routers must go without a state change before the heap's free memory is
/// handed back to the kernel ([`crate::heap::release_free_memory`]): a takeover of many
/// routers leaves freed buffers behind in the middle of the heap.
const SETTLE: Duration = Duration::from_secs(5);

/// Runs the daemon until it is told to stop. Blocks the calling thread.
pub fn run(cli: &Cli, loaded: Loaded, opts: RuntimeOptions) -> ExitCode {
    crate::heap::configure();
    // The process settings: applied once the signal handlers are installed (serve), and by
    // the thread-start hook to every thread the runtime starts later.
    let tuner = Tuner::new();
    let hook = tuner.clone();
    let rt = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .on_thread_start(move || hook.thread_started())
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            tracing::error!(error = %e, "cannot start the event loop");
            return ExitCode::from(EXIT_FATAL);
        }
    };
    rt.block_on(serve(cli, loaded, opts, tuner))
}

/// What the runtime keeps about the running configuration.
struct Running {
    /// The running configuration, without its `vrrp_instance` blocks once the notifier and
    /// the trackers are built from it ([`shed`]).
    loaded: Loaded,
    plans: Vec<InstancePlan>,
    /// The driver index of each plan (`None`: it could not be started by a reload). Driver
    /// indexes are stable: a removed instance's index is never reused.
    slots: Vec<Option<usize>>,
    groups: Vec<SyncGroupPlan>,
    handle: Handle,
}

impl Running {
    /// The plan running in driver slot `slot`.
    fn plan_at(&self, slot: usize) -> Option<&InstancePlan> {
        let i = self.slots.iter().position(|s| *s == Some(slot))?;
        self.plans.get(i)
    }

    /// The sync groups with driver indexes as members.
    fn driver_groups(&self) -> Vec<(String, Vec<usize>)> {
        self.groups
            .iter()
            .map(|g| {
                let members = g.members.iter().filter_map(|&m| self.slots[m]).collect();
                (g.name.clone(), members)
            })
            .collect()
    }
}

/// The services around the driver that a reload updates.
struct Services {
    notifier: Notifier,
    trackers: trackers::Trackers,
    /// The transitions and priority changes the control socket reports.
    history: History,
    /// The control socket's `events` stream.
    events: broadcast::Sender<HistoryEntry>,
    /// Transitions by (driver index, reason label) since the start, for the metrics.
    reasons: BTreeMap<(usize, &'static str), u64>,
}

/// Events kept for a slow `events` client before it is told it lagged.
const EVENT_STREAM_CAPACITY: usize = 1024;

/// What a reload did: instances kept, added and removed; or why it was refused.
type ReloadOutcome = Result<(usize, usize, usize), Vec<String>>;

async fn serve(cli: &Cli, loaded: Loaded, opts: RuntimeOptions, tuner: Tuner) -> ExitCode {
    // First of all: from here on no stray signal ends the process.
    let mut signals = match signals::Signals::install(cli.ignore_sigint) {
        Ok(s) => s,
        Err(e) => {
            tracing::error!(error = %e, "cannot install signal handlers");
            return ExitCode::from(EXIT_FATAL);
        }
    };
    // Then the process settings (SIGXCPU, which RLIMIT_RTTIME sends, is handled now).
    tuner.start(&ProcessSettings::of(&loaded.config.global_defs));
    // keepalived removes the reload file once it has read the configuration.
    reload_file::remove(&loaded.config.global_defs, cli);
    let _pids = match pid_files(cli) {
        Ok(p) => p,
        Err(e) => {
            tracing::error!(error = %e, "cannot write the pid files");
            return ExitCode::from(EXIT_FATAL);
        }
    };
    // keepalived's parent runs the startup script before it starts the VRRP process.
    if !run_startup_script(&loaded, &mut signals).await {
        start_stop::run(&loaded.config.global_defs, start_stop::Which::Shutdown).await;
        tracing::info!("Stopped vrrpd");
        return ExitCode::SUCCESS;
    }
    let running = match start(loaded, &opts).await {
        Ok(r) => r,
        Err(code) => return code,
    };
    tracing::info!(
        instances = running.plans.len(),
        sync_groups = running.groups.len(),
        "Starting VRRP child process, vrrpd {}",
        env!("CARGO_PKG_VERSION")
    );
    // Subscribed before the driver task first runs, so that no startup state change is
    // missed; then the task runs first (this runtime has one thread): the routers start and
    // the first adverts leave before the services below are set up.
    let events = running.handle.subscribe();
    tokio::task::yield_now().await;
    let code = event_loop(cli, running, events, signals, tuner).await;
    tracing::info!("Stopped vrrpd");
    code
}

/// Runs `startup_script` (if any) to its end or timeout while serving signals: `false` when a
/// stop was asked for meanwhile (the script is then killed). Reloads and dumps asked for
/// meanwhile are ignored: there is nothing running to reload or dump yet.
async fn run_startup_script(loaded: &Loaded, signals: &mut signals::Signals) -> bool {
    let script = start_stop::run(&loaded.config.global_defs, start_stop::Which::Startup);
    tokio::pin!(script);
    loop {
        tokio::select! {
            () = &mut script => return true,
            request = signals.recv() => match request {
                signals::Request::Stop => {
                    tracing::info!("Stopping while the startup script runs: it is killed");
                    return false;
                }
                other => tracing::info!(?other, "ignored while the startup script runs"),
            },
        }
    }
}

/// Writes keepalived's two pid files (one process: both hold our pid); removed on drop.
fn pid_files(cli: &Cli) -> Result<(PidFile, PidFile), crate::pidfile::PidFileError> {
    let text = std::fs::read_to_string(&cli.use_file).unwrap_or_default();
    let paths = PidPaths::resolve(
        &PidSettings::scan(&text),
        cli.pid.as_deref(),
        cli.vrrp_pid.as_deref(),
    );
    Ok((PidFile::create(&paths.main)?, PidFile::create(&paths.vrrp)?))
}

async fn start(loaded: Loaded, opts: &RuntimeOptions) -> Result<Running, ExitCode> {
    refuse_unimplemented(&loaded)?;
    let facts = match host::host_facts(&loaded.config).await {
        Ok(f) => f,
        Err(e) => {
            tracing::error!(error = %e, "cannot read the host's interfaces");
            return Err(exit_for(&e));
        }
    };
    let plans = convert::router_configs(&loaded.config, &facts).map_err(|e| {
        tracing::error!(error = %e, "configuration cannot run");
        ExitCode::from(EXIT_CONFIG)
    })?;
    let groups = convert::sync_group_plans(&loaded.config);
    let cfg = plan::driver_config(&loaded.config, &plans, &groups, opts).map_err(|e| {
        tracing::error!(error = %e, "configuration cannot run");
        ExitCode::from(EXIT_CONFIG)
    })?;
    let handle = driver::start(cfg).await.map_err(|e| {
        tracing::error!(error = %e, "cannot start the VRRP instances");
        exit_for(&e)
    })?;
    Ok(Running {
        loaded,
        slots: (0..plans.len()).map(Some).collect(),
        plans,
        groups,
        handle,
    })
}

/// Refuses to start with a keyword vrrpd deliberately does not implement and must not ignore
/// (the keyword tables' statuses, [`crate::config::usage`]). Every other keyword it does not
/// act on was warned about, with its position, among the configuration's diagnostics.
fn refuse_unimplemented(loaded: &Loaded) -> Result<(), ExitCode> {
    let refusals = crate::config::usage::start_refusals(&loaded.not_acted_on);
    for refusal in &refusals {
        tracing::error!("{refusal}");
    }
    if refusals.is_empty() {
        Ok(())
    } else {
        Err(ExitCode::from(EXIT_CONFIG))
    }
}

fn exit_for(e: &vrrp_net::Error) -> ExitCode {
    if e.is_permission_denied() {
        ExitCode::from(EXIT_PERMISSION)
    } else {
        ExitCode::from(EXIT_FATAL)
    }
}

/// Serves signals, trackers and driver `events` (subscribed before the driver started)
/// until told to stop, then stops the driver.
async fn event_loop(
    cli: &Cli,
    mut running: Running,
    mut events: broadcast::Receiver<Event>,
    mut signals: signals::Signals,
    tuner: Tuner,
) -> ExitCode {
    let watcher = tokio::spawn(tuner.clone().watch_event_loop());
    let notifier = Notifier::start(notifier_config(&running.loaded));
    let trackers = trackers::start(&running.loaded.config, &running.plans, &running.slots);
    shed(&mut running.loaded);
    crate::heap::release_free_memory();
    let mut svc = Services {
        notifier,
        trackers,
        history: History::default(),
        events: broadcast::channel(EVENT_STREAM_CAPACITY).0,
        reasons: BTreeMap::new(),
    };
    let (query_tx, mut queries) = mpsc::channel::<Query>(16);
    let _control = control_socket(cli, query_tx, svc.events.clone());
    let (metrics_tx, mut metrics_queries) = mpsc::channel::<MetricsQuery>(16);
    let _metrics = metrics_listener(cli, metrics_tx).await;
    let watchdog = systemd_watchdog();
    let mut watchdog_tick = tokio::time::interval(watchdog.unwrap_or(Duration::from_secs(3600)));
    systemd_notify(&[sd_notify::NotifyState::Ready]);
    let settle = tokio::time::sleep(SETTLE);
    tokio::pin!(settle);
    let mut settling = false;
    loop {
        tokio::select! {
            request = signals.recv() => match request {
                signals::Request::Stop => break,
                signals::Request::Reload => {
                    systemd_notify(&[sd_notify::NotifyState::Reloading]);
                    tracing::info!("Reloading: SIGHUP received");
                    let _ = reload(cli, &mut running, &mut svc, &mut events, &tuner).await;
                    systemd_notify(&[sd_notify::NotifyState::Ready]);
                }
                signals::Request::Dump(kind) => dumps::write(&running, &svc.trackers, kind).await,
            },
            _ = watchdog_tick.tick(), if watchdog.is_some() => {
                systemd_notify(&[sd_notify::NotifyState::Watchdog]);
            }
            Some((kind, update)) = svc.trackers.updates.recv() => {
                let targets = svc.trackers.record(kind, &update).to_vec();
                for (slot, id) in targets {
                    let name = running.plan_at(slot).map(|p| p.router.name.clone());
                    if svc.events.receiver_count() > 0 {
                        let _ = svc.events.send(view::other_event(
                            SystemTime::now(),
                            name.as_deref().unwrap_or("?"),
                            "tracker",
                            &format!("{:?}", update.state).to_lowercase(),
                            format!("{}: {}", update.name, update.detail),
                        ));
                    }
                    tracing::info!(
                        instance = %name.as_deref().unwrap_or("?"),
                        tracker = %update.name,
                        state = ?update.state,
                        detail = %update.detail,
                        "tracked object changed"
                    );
                    let _ = running.handle.set_tracker(slot, id, update.state).await;
                }
            }
            Some(query) = queries.recv() => {
                let response = answer(cli, &mut running, &mut svc, &mut events, &tuner, query.command).await;
                let _ = query.reply.send(response);
            }
            Some(query) = metrics_queries.recv() => {
                if let Some(snapshot) = metrics_snapshot(cli, &running, &svc).await {
                    let _ = query.reply.send(snapshot);
                }
            }
            ev = events.recv() => {
                match ev {
                    Ok(ev) => record_event(&running, &mut svc, ev),
                    Err(broadcast::error::RecvError::Lagged(n)) => {
                        tracing::warn!(missed = n, "event subscriber lagged");
                    }
                    Err(_) => break,
                }
                settle.as_mut().reset(tokio::time::Instant::now() + SETTLE);
                settling = true;
            }
            _ = &mut settle, if settling => {
                settling = false;
                crate::heap::release_free_memory();
            }
        }
    }
    systemd_notify(&[sd_notify::NotifyState::Stopping]);
    tracing::info!("Stopping");
    watcher.abort();
    // keepalived's first step: its scripts are killed, so FIFO scripts never see STOP lines.
    svc.notifier.signal_fifo_scripts();
    // keepalived gives STOP notifications the effective priority the instance had.
    let priorities: Vec<(usize, u8)> = match running.handle.status().await {
        Ok(status) => (status.instances.iter())
            .map(|i| (i.index, i.router.effective_priority))
            .collect(),
        Err(_) => Vec::new(),
    };
    let result = running.handle.shutdown().await;
    let Services { notifier, .. } = svc;
    for (plan, slot) in running.plans.iter().zip(&running.slots) {
        if let Some(slot) = slot {
            let priority = (priorities.iter())
                .find(|(i, _)| i == slot)
                .map_or(plan.router.priority, |(_, p)| *p);
            notifier.notify(
                Subject::Instance,
                &plan.router.name,
                NotifyState::Stop,
                priority,
            );
        }
    }
    for g in &running.groups {
        notifier.notify(Subject::Group, &g.name, NotifyState::Stop, 0);
    }
    notifier.shutdown(Duration::from_secs(2)).await;
    // keepalived's parent runs the shutdown script once its VRRP process has exited.
    start_stop::run(
        &running.loaded.config.global_defs,
        start_stop::Which::Shutdown,
    )
    .await;
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!(error = %e, "unclean shutdown");
            ExitCode::from(EXIT_FATAL)
        }
    }
}

/// Drops what the running configuration no longer needs once the plans, the notifier and the
/// trackers are built from it: the `vrrp_instance` blocks (the plans hold what the runtime
/// uses of them; about 2 KiB per instance) and the warnings (logged at load).
fn shed(loaded: &mut Loaded) {
    loaded.config.vrrp_instances = Vec::new();
    loaded.warnings = Vec::new();
}

fn notifier_config(loaded: &Loaded) -> NotifierConfig {
    let policy = ScriptPolicy::from_global(&loaded.config.global_defs)
        .unwrap_or_else(|_| ScriptPolicy::current_user());
    NotifierConfig::from_config(&loaded.config, policy)
}

/// Handles the driver events already emitted, with the running configuration's mapping.
async fn drain_events(
    running: &Running,
    svc: &mut Services,
    events: &mut broadcast::Receiver<Event>,
) {
    loop {
        match events.try_recv() {
            Ok(ev) => record_event(running, svc, ev),
            Err(broadcast::error::TryRecvError::Lagged(n)) => {
                tracing::warn!(missed = n, "event subscriber lagged");
            }
            Err(_) => return,
        }
    }
}

/// Opens the control socket unless `--no-control-socket`; a failure is logged and the daemon
/// runs without one.
fn control_socket(
    cli: &Cli,
    queries: mpsc::Sender<Query>,
    events: broadcast::Sender<HistoryEntry>,
) -> Option<ControlSocket> {
    if cli.no_control_socket {
        return None;
    }
    match ControlSocket::start(
        &cli.control_socket,
        cli.control_group.as_deref(),
        queries,
        events,
    ) {
        Ok(socket) => Some(socket),
        Err(e) => {
            tracing::warn!(error = %e, "running without a control socket");
            None
        }
    }
}

/// Opens the metrics listener if `--metrics-listen` asks for one; a failure is logged and the
/// daemon runs without it.
async fn metrics_listener(
    cli: &Cli,
    queries: mpsc::Sender<MetricsQuery>,
) -> Option<MetricsListener> {
    let addr = cli.metrics_listen?;
    match MetricsListener::start(addr, queries).await {
        Ok(listener) => Some(listener),
        Err(e) => {
            tracing::error!(error = %e, "running without the metrics listener");
            None
        }
    }
}

/// What a scrape exposes: the control socket's status of every instance and the transitions
/// by reason (`None`: the data plane did not answer).
async fn metrics_snapshot(cli: &Cli, running: &Running, svc: &Services) -> Option<Snapshot> {
    let status = match running.handle.status().await {
        Ok(s) => s,
        Err(e) => {
            tracing::warn!(error = %e, "no status for the metrics");
            return None;
        }
    };
    let by_reason = (svc.reasons.iter())
        .filter_map(|(&(slot, reason), &count)| {
            let live = status.instances.iter().find(|i| i.index == slot)?;
            Some(ReasonCount {
                instance: live.router.name.to_string(),
                vrid: live.router.vrid,
                family: view::family(live.router.family).into(),
                reason,
                count,
            })
        })
        .collect();
    let reply = view::status_reply(
        &status,
        &running.plans,
        &running.slots,
        daemon_status(cli),
        None,
    );
    Some(Snapshot {
        status: reply,
        by_reason,
    })
}

fn daemon_status(cli: &Cli) -> DaemonStatus {
    DaemonStatus {
        version: env!("CARGO_PKG_VERSION").into(),
        pid: std::process::id(),
        config_file: cli.use_file.display().to_string(),
    }
}

/// Answers a control-socket request.
async fn answer(
    cli: &Cli,
    running: &mut Running,
    svc: &mut Services,
    events: &mut broadcast::Receiver<Event>,
    tuner: &Tuner,
    command: Command,
) -> Response {
    match command {
        Command::Status { instance } => {
            let status = match running.handle.status().await {
                Ok(s) => s,
                Err(e) => {
                    return Response::error(ErrorKind::Unavailable, format!("no status: {e}"))
                }
            };
            if let Some(name) = instance.as_deref().filter(|n| !view::is_known(&status, n)) {
                return unknown_instance(name);
            }
            Response::status(view::status_reply(
                &status,
                &running.plans,
                &running.slots,
                daemon_status(cli),
                instance.as_deref(),
            ))
        }
        Command::History { instance, limit } => {
            if let Some(name) = instance.as_deref() {
                let configured = (running.plans.iter()).any(|p| &*p.router.name == name)
                    || running.groups.iter().any(|g| g.name == name);
                if !configured && svc.history.entries(Some(name)).next().is_none() {
                    return unknown_instance(name);
                }
            }
            Response::history(view::history_reply(
                &svc.history,
                instance.as_deref(),
                limit,
            ))
        }
        // The server streams events itself.
        Command::Events => Response::error(ErrorKind::BadRequest, "events is a stream"),
        Command::Garp { instance, all } => garp(running, instance.as_deref(), all).await,
        Command::Maintenance { instance, all, on } => {
            maintenance(running, svc, instance.as_deref(), all, on).await
        }
        Command::Reload => {
            systemd_notify(&[sd_notify::NotifyState::Reloading]);
            tracing::info!("Reloading: requested on the control socket");
            let outcome = reload(cli, running, svc, events, tuner).await;
            systemd_notify(&[sd_notify::NotifyState::Ready]);
            Response::reload(match outcome {
                Ok((kept, added, removed)) => ReloadReply {
                    applied: true,
                    kept,
                    added,
                    removed,
                    errors: Vec::new(),
                },
                Err(errors) => ReloadReply {
                    applied: false,
                    kept: 0,
                    added: 0,
                    removed: 0,
                    errors,
                },
            })
        }
    }
}

/// Maintenance on or off for the instance named (every family of it) or every instance.
async fn maintenance(
    running: &Running,
    svc: &mut Services,
    instance: Option<&str>,
    all: bool,
    on: bool,
) -> Response {
    let targets: Vec<(usize, String)> = (running.plans.iter().zip(&running.slots))
        .filter(|(p, _)| all || instance == Some(&*p.router.name))
        .filter_map(|(p, slot)| Some(((*slot)?, p.router.name.to_string())))
        .collect();
    match (instance, all) {
        (None, false) => {
            return Response::error(
                ErrorKind::BadRequest,
                "maintenance needs an instance, or all: true",
            )
        }
        (Some(name), _) if targets.is_empty() => return unknown_instance(name),
        _ => {}
    }
    let mut names: Vec<String> = Vec::new();
    for (slot, name) in targets {
        if let Err(e) = running
            .handle
            .input(slot, vrrp_core::Input::Maintenance(on))
            .await
        {
            return Response::error(ErrorKind::Unavailable, format!("({name}): {e}"));
        }
        if !names.contains(&name) {
            tracing::info!(instance = %name, on, "({name}) maintenance {}", if on { "on" } else { "off" });
            svc.history.record_maintenance(SystemTime::now(), &name, on);
            if let Some(last) = svc.history.last() {
                let _ = svc.events.send(view::entry(last));
            }
            names.push(name);
        }
    }
    Response::maintenance(names)
}

/// `garp`: a burst for the named instance (every family of it that is Active) or every
/// Active instance.
async fn garp(running: &Running, instance: Option<&str>, all: bool) -> Response {
    if instance.is_none() && !all {
        return Response::error(
            ErrorKind::BadRequest,
            "garp needs an instance, or all: true",
        );
    }
    let status = match running.handle.status().await {
        Ok(s) => s,
        Err(e) => return Response::error(ErrorKind::Unavailable, format!("no status: {e}")),
    };
    if let Some(name) = instance.filter(|n| !view::is_known(&status, n)) {
        return unknown_instance(name);
    }
    let active = (status.instances.iter())
        .filter(|i| all || instance == Some(&*i.router.name))
        .filter(|i| i.router.state == vrrp_core::State::Active);
    let mut names: Vec<String> = Vec::new();
    for i in active {
        if let Err(e) = running
            .handle
            .input(i.index, vrrp_core::Input::Announce)
            .await
        {
            return Response::error(ErrorKind::Unavailable, format!("({}): {e}", i.router.name));
        }
        let name = i.router.name.to_string();
        tracing::info!(instance = %name, "({name}) re-announcing its addresses (control socket)");
        if !names.contains(&name) {
            names.push(name);
        }
    }
    match (instance, names.is_empty()) {
        (Some(name), true) => Response::error(
            ErrorKind::NotActive,
            format!("({name}) is not Active on this node: nothing to announce"),
        ),
        _ => Response::announced(names),
    }
}

fn unknown_instance(name: &str) -> Response {
    Response::error(
        ErrorKind::UnknownInstance,
        format!("no instance or sync group named {name:?} runs here"),
    )
}

/// Records a driver event in the history and the event stream, then acts on it
/// ([`on_event`]).
fn record_event(running: &Running, svc: &mut Services, ev: Event) {
    let now = SystemTime::now();
    if let Event::StateChanged {
        instance, reason, ..
    } = &ev
    {
        let label = crate::metrics::reason_label(reason);
        *svc.reasons.entry((*instance, label)).or_default() += 1;
    }
    let recorded = svc.history.record(now, &ev);
    if svc.events.receiver_count() > 0 {
        let line = match (&ev, recorded) {
            (_, true) => svc.history.last().map(view::entry),
            (Event::Notice { name, notice, .. }, false) => Some(view::other_event(
                now,
                name,
                "notice",
                "",
                describe_notice(notice),
            )),
            (
                Event::LowerPriorityAdvert {
                    name,
                    from,
                    their_priority,
                    ..
                },
                false,
            ) => Some(view::other_event(
                now,
                name,
                "notice",
                "",
                format!("lower-priority advert from {from} (priority {their_priority})"),
            )),
            _ => None,
        };
        if let Some(line) = line {
            let _ = svc.events.send(line);
        }
    }
    on_event(running, &svc.notifier, ev);
}

/// SIGHUP: re-reads the configuration and applies it (see the module documentation), the
/// process settings included.
async fn reload(
    cli: &Cli,
    running: &mut Running,
    svc: &mut Services,
    events: &mut broadcast::Receiver<Event>,
    tuner: &Tuner,
) -> ReloadOutcome {
    let next = match reload::prepare(cli).await {
        Ok(next) => next,
        Err(refused) => {
            let mut errors = Vec::new();
            for d in refused.diagnostics() {
                tracing::error!("{d}");
                errors.push(d.to_string());
            }
            tracing::error!(reason = %refused, "reload refused, running configuration kept");
            errors.push(format!("reload refused: {refused}"));
            return Err(errors);
        }
    };
    // Events already emitted belong to the running configuration.
    drain_events(running, svc, events).await;
    let diff = reload::diff(&running.plans, &next.plans);
    let handle = &running.handle;

    // 1. Removed instances: released (priority 0 if Active), then notified DELETED.
    let mut deleted = Vec::new();
    for &o in &diff.removed {
        let name = running.plans[o].router.name.clone();
        let Some(slot) = running.slots[o] else {
            continue;
        };
        tracing::info!("({name}) removed by reload");
        if let Err(e) = handle.remove_instance(slot).await {
            tracing::error!(instance = %name, error = %e, "instance not removed cleanly");
        }
        deleted.push(name);
    }
    // Their last state changes (to Initialize) are handled with the old mapping.
    drain_events(running, svc, events).await;
    for name in &deleted {
        svc.notifier
            .notify(Subject::Instance, name, NotifyState::Deleted, 0);
    }

    // 2. Kept instances: every VIP any of them drops is released before any is added.
    let mut slots: Vec<Option<usize>> = vec![None; next.plans.len()];
    for &(o, n) in &diff.kept {
        slots[n] = running.slots[o];
        let (Some(slot), Some(step)) = (
            running.slots[o],
            reload::release_step(&running.plans[o], &next.specs[n]),
        ) else {
            continue;
        };
        if let Err(e) = handle.reconfigure(slot, step).await {
            tracing::error!(instance = %next.plans[n].router.name, error = %e, "VIPs not released");
        }
    }
    for &(o, n) in &diff.kept {
        let Some(slot) = running.slots[o] else {
            continue;
        };
        let (old, new) = (&running.plans[o].router.name, &next.plans[n].router.name);
        if old != new {
            tracing::info!("({old}) renamed to ({new}) by reload; state kept");
            svc.notifier.rename(Subject::Instance, old, new);
            svc.history.rename(old, new);
        }
        if let Err(e) = handle.reconfigure(slot, next.specs[n].clone()).await {
            tracing::error!(instance = %new, error = %e, "instance not reconfigured");
        }
    }

    // 3. New instances (and kept ones an earlier reload could not start).
    let retry = diff
        .kept
        .iter()
        .filter(|&&(o, _)| running.slots[o].is_none());
    let added: Vec<usize> = diff
        .added
        .iter()
        .copied()
        .chain(retry.map(|&(_, n)| n))
        .collect();
    for &n in &added {
        let name = &next.plans[n].router.name;
        match handle.add_instance(next.specs[n].clone()).await {
            Ok(slot) => {
                tracing::info!("({name}) added by reload");
                slots[n] = Some(slot);
            }
            Err(e) => tracing::error!(instance = %name, error = %e, "instance not started"),
        }
    }

    // 4. The new configuration is the running one.
    let groups_before: Vec<String> = running.groups.iter().map(|g| g.name.clone()).collect();
    let kept_slots: Vec<Option<usize>> = {
        let mut kept = vec![None; next.plans.len()];
        for &(o, n) in &diff.kept {
            kept[n] = running.slots[o];
        }
        kept
    };
    let Next {
        loaded,
        plans,
        groups,
        specs,
        statics,
    } = next;
    drop(specs);
    if let Err(e) = running.handle.set_statics(statics).await {
        tracing::error!(error = %e, "static addresses, routes and rules not updated");
    }
    running.loaded = loaded;
    running.plans = plans;
    running.slots = slots;
    running.groups = groups;
    let driver_groups = running.driver_groups();
    if let Err(e) = running.handle.set_sync_groups(driver_groups.clone()).await {
        tracing::error!(error = %e, "sync groups not updated");
    }
    svc.notifier.reload(notifier_config(&running.loaded));

    // 5. Trackers: kept objects keep their state, sent to the new (instance, tracker) pairs.
    let resend = svc
        .trackers
        .reload(&running.loaded.config, &running.plans, &running.slots);
    let write_states = running
        .loaded
        .config
        .global_defs
        .fifo_write_vrrp_states_on_reload;
    shed(&mut running.loaded);
    for (slot, id, state) in resend {
        let _ = running.handle.set_tracker(slot, id, state).await;
    }
    // 6. The process settings (keepalived's restore_priority).
    tuner.reload(&ProcessSettings::of(&running.loaded.config.global_defs));

    // 7. `fifo_write_vrrp_states_on_reload`: the kept states on the FIFOs.
    if write_states {
        match running.handle.status().await {
            Ok(status) => {
                let instances: Vec<(String, Option<usize>)> = (running.plans.iter())
                    .zip(kept_slots)
                    .map(|(p, slot)| (p.router.name.to_string(), slot))
                    .collect();
                let lines = fifo_states::lines(&status, &groups_before, &instances);
                svc.notifier.write_fifo_states(&lines);
            }
            Err(e) => tracing::error!(error = %e, "states not written to the FIFOs"),
        }
    }
    tracing::info!(
        kept = diff.kept.len(),
        added = diff.added.len(),
        removed = diff.removed.len(),
        "Reload finished"
    );
    crate::heap::release_free_memory();
    Ok((diff.kept.len(), diff.added.len(), diff.removed.len()))
}

/// Logs a driver event in keepalived's words and runs the notifications it calls for. The
/// driver logs state changes at DEBUG only, so each is one line at INFO, this one.
fn on_event(running: &Running, notifier: &Notifier, ev: Event) {
    match ev {
        Event::StateChanged {
            name,
            from,
            to,
            reason,
            priority,
            ..
        } => {
            tracing::info!(instance = %name, %from, %to, %reason,
                "({name}) Entering {} STATE ({reason})", to.keepalived_name());
            if let Some(state) = notify_state(to) {
                notifier.notify(Subject::Instance, &name, state, priority);
            }
        }
        Event::GroupStateChanged { group, to, .. } => {
            if let Some(state) = notify_state(to) {
                tracing::info!(group = %group, "VRRP_Group({group}) Syncing instances to {}",
                    state.as_str());
                notifier.notify(Subject::Group, &group, state, 0);
            }
        }
        Event::PriorityChanged {
            instance,
            name,
            from,
            to,
            cause,
            state,
        } => {
            tracing::info!(instance = %name, from, to, %cause,
                "({name}) Changing effective priority from {from} to {to} ({cause})");
            if running
                .plan_at(instance)
                .is_some_and(|p| p.notify.priority_changes)
            {
                let state = match state {
                    vrrp_core::State::Active => NotifyState::MasterPriority,
                    _ => NotifyState::BackupPriority,
                };
                notifier.notify(Subject::Instance, &name, state, to);
            }
        }
        Event::LowerPriorityAdvert { name, priority, .. } => {
            notifier.notify(
                Subject::Instance,
                &name,
                NotifyState::MasterRxLowerPri,
                priority,
            );
        }
        Event::Notice { name, notice, .. } => {
            tracing::warn!(instance = %name, ?notice, "({name}) {}", describe_notice(&notice));
        }
    }
}

/// A notice in words.
fn describe_notice(notice: &vrrp_core::Notice) -> String {
    use vrrp_core::Notice;
    match notice {
        Notice::IntervalMismatch {
            from,
            theirs_cs,
            ours_cs,
        } => format!("advert interval mismatch: {from} sends {theirs_cs} cs, ours is {ours_cs} cs"),
        Notice::AddressListMismatch { from } => {
            format!("the address list advertised by {from} differs from ours")
        }
        Notice::AnotherOwner { from } => format!("{from} also claims to be the address owner"),
        Notice::EqualPriority { from } => format!("{from} has the same priority as ours"),
        Notice::DualActive {
            from,
            their_priority,
        } => format!(
            "another Active ({from}, priority {their_priority}) seen: answered and re-announced"
        ),
        Notice::ChecksumForm { from, theirs } => {
            format!("{from} uses the {theirs:?} IPv4 checksum form: following it")
        }
        Notice::AuthRejected { .. } | Notice::AuthClockSkew { .. } => {
            notice.auth_message().unwrap_or_default()
        }
    }
}

fn notify_state(state: vrrp_core::State) -> Option<NotifyState> {
    match state {
        vrrp_core::State::Active => Some(NotifyState::Master),
        vrrp_core::State::Backup => Some(NotifyState::Backup),
        vrrp_core::State::Fault => Some(NotifyState::Fault),
        vrrp_core::State::Initialize => None,
    }
}

/// The watchdog period to ping at (half of systemd's `WatchdogSec`), if enabled.
fn systemd_watchdog() -> Option<Duration> {
    sd_notify::watchdog_enabled().map(|d| d / 2)
}

fn systemd_notify(state: &[sd_notify::NotifyState]) {
    if std::env::var_os("NOTIFY_SOCKET").is_some() {
        if let Err(e) = sd_notify::notify(state) {
            tracing::warn!(error = %e, "systemd notification failed");
        }
    }
}
