//! The daemon runtime: configuration plan, data-plane driver, trackers, notifications,
//! signals, pid files and systemd integration, on one current-thread tokio runtime.
//!
//! - SIGTERM / SIGINT: every Active sends priority 0 and releases its addresses, STOP notifies
//!   run, the process exits.
//! - SIGHUP: the configuration is re-read; a configuration with errors is refused and the
//!   running one kept ([`reload`]).
//! - SIGUSR1 / SIGUSR2 / SIGRTMIN+2: keepalived's data, stats and JSON dump files.
//! - systemd: `READY=1` once the routers run, `RELOADING=1` / `STOPPING=1`, and `WATCHDOG=1`
//!   from the event loop itself, so a hung loop is noticed.

mod dumps;
pub mod host;
mod interfaces;
pub mod plan;
pub mod trackers;

use std::collections::HashMap;
use std::process::ExitCode;
use std::time::Duration;

use tokio::signal::unix::{signal, SignalKind};
use vrrp_net::driver::{self, Event, Handle};

use crate::cli::Cli;
use crate::config::Loaded;
use crate::convert::{self, InstancePlan, SyncGroupPlan};
use crate::notify::{Notifier, NotifierConfig, NotifyState, Subject};
use crate::pidfile::{PidFile, PidPaths, PidSettings};
use crate::track::exec::ScriptPolicy;

pub use plan::RuntimeOptions;

/// keepalived's exit codes.
const EXIT_FATAL: u8 = 1;
const EXIT_CONFIG: u8 = 2;
const EXIT_PERMISSION: u8 = 4;

/// Runs the daemon until it is told to stop. Blocks the calling thread.
pub fn run(cli: &Cli, loaded: Loaded, opts: RuntimeOptions) -> ExitCode {
    let rt = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            tracing::error!(error = %e, "cannot start the event loop");
            return ExitCode::from(EXIT_FATAL);
        }
    };
    rt.block_on(serve(cli, loaded, opts))
}

/// What the runtime keeps about the running configuration.
struct Running {
    loaded: Loaded,
    plans: Vec<InstancePlan>,
    groups: Vec<SyncGroupPlan>,
    handle: Handle,
}

async fn serve(cli: &Cli, loaded: Loaded, opts: RuntimeOptions) -> ExitCode {
    let _pids = match pid_files(cli) {
        Ok(p) => p,
        Err(e) => {
            tracing::error!(error = %e, "cannot write the pid files");
            return ExitCode::from(EXIT_FATAL);
        }
    };
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
    let code = event_loop(cli, running).await;
    tracing::info!("Stopped vrrpd");
    code
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
    let cfg = plan::driver_config(&plans, &groups, opts).map_err(|e| {
        tracing::error!(error = %e, "configuration cannot run");
        ExitCode::from(EXIT_CONFIG)
    })?;
    let handle = driver::start(cfg).await.map_err(|e| {
        tracing::error!(error = %e, "cannot start the VRRP instances");
        exit_for(&e)
    })?;
    Ok(Running {
        loaded,
        plans,
        groups,
        handle,
    })
}

fn exit_for(e: &vrrp_net::Error) -> ExitCode {
    if e.is_permission_denied() {
        ExitCode::from(EXIT_PERMISSION)
    } else {
        ExitCode::from(EXIT_FATAL)
    }
}

async fn event_loop(cli: &Cli, running: Running) -> ExitCode {
    let mut events = running.handle.subscribe();
    let signals = (
        signal(SignalKind::terminate()),
        signal(SignalKind::interrupt()),
        signal(SignalKind::hangup()),
        signal(SignalKind::user_defined1()),
        signal(SignalKind::user_defined2()),
        signal(SignalKind::from_raw(libc_sigrtmin() + 2)),
    );
    let (Ok(mut term), Ok(mut int), Ok(mut hup), Ok(mut usr1), Ok(mut usr2), Ok(mut json)) =
        signals
    else {
        tracing::error!("cannot install signal handlers");
        return ExitCode::from(EXIT_FATAL);
    };
    let policy = ScriptPolicy::from_global(&running.loaded.config.global_defs)
        .unwrap_or_else(|_| ScriptPolicy::current_user());
    let notifier = Notifier::start(NotifierConfig::from_config(&running.loaded.config, policy));
    let mut trackers = trackers::start(&running.loaded.config, &running.plans);
    let mut links = interfaces::LinkTracker::start(&trackers).await;
    let mut groups = GroupStates::new(&running.groups);
    let watchdog = systemd_watchdog();
    let mut watchdog_tick = tokio::time::interval(watchdog.unwrap_or(Duration::from_secs(3600)));
    systemd_notify(&[sd_notify::NotifyState::Ready]);
    loop {
        tokio::select! {
            _ = term.recv() => break,
            _ = int.recv(), if !cli.ignore_sigint => break,
            _ = hup.recv() => {
                systemd_notify(&[sd_notify::NotifyState::Reloading]);
                tracing::info!("Reloading: SIGHUP received");
                tracing::warn!("reload keeps the running configuration: live reconfiguration is not implemented yet");
                systemd_notify(&[sd_notify::NotifyState::Ready]);
            }
            _ = usr1.recv() => dumps::write(&running, dumps::Kind::Data).await,
            _ = usr2.recv() => dumps::write(&running, dumps::Kind::Stats).await,
            _ = json.recv() => dumps::write(&running, dumps::Kind::Json).await,
            _ = watchdog_tick.tick(), if watchdog.is_some() => {
                systemd_notify(&[sd_notify::NotifyState::Watchdog]);
            }
            Some((kind, update)) = trackers.updates.recv() => {
                for &(instance, id) in trackers.targets(kind, &update.name) {
                    tracing::info!(
                        instance = %running.plans[instance].router.name,
                        tracker = %update.name,
                        state = ?update.state,
                        detail = %update.detail,
                        "tracked object changed"
                    );
                    let _ = running.handle.set_tracker(instance, id, update.state).await;
                }
            }
            Some(update) = links.next() => {
                let _ = trackers.interface_tx.send(update).await;
            }
            ev = events.recv() => match ev {
                Ok(ev) => on_event(&running, &notifier, &mut groups, ev).await,
                Err(tokio::sync::broadcast::error::RecvError::Lagged(n)) => {
                    tracing::warn!(missed = n, "event subscriber lagged");
                }
                Err(_) => break,
            },
        }
    }
    systemd_notify(&[sd_notify::NotifyState::Stopping]);
    tracing::info!("Stopping");
    let result = running.handle.shutdown().await;
    for (i, plan) in running.plans.iter().enumerate() {
        let _ = i;
        notifier.notify(Subject::Instance, &plan.router.name, NotifyState::Stop, 0);
    }
    for g in &running.groups {
        notifier.notify(Subject::Group, &g.name, NotifyState::Stop, 0);
    }
    notifier.shutdown(Duration::from_secs(2)).await;
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!(error = %e, "unclean shutdown");
            ExitCode::from(EXIT_FATAL)
        }
    }
}

/// The numeric SIGRTMIN of the C library (glibc: 34), for keepalived's JSON signal.
fn libc_sigrtmin() -> i32 {
    nix::libc::SIGRTMIN()
}

/// Logs a driver event in keepalived's words and runs the notifications it calls for.
async fn on_event(running: &Running, notifier: &Notifier, groups: &mut GroupStates, ev: Event) {
    match ev {
        Event::StateChanged {
            instance,
            name,
            to,
            reason,
            ..
        } => {
            tracing::info!(
                "({name}) Entering {} STATE ({reason})",
                to.keepalived_name()
            );
            let priority = current_priority(running, instance).await;
            if let Some(state) = notify_state(to) {
                notifier.notify(Subject::Instance, &name, state, priority);
            }
            for (group, state) in groups.on_change(instance, to) {
                tracing::info!(
                    "VRRP_Group({group}) Syncing instances to {}",
                    state.as_str()
                );
                notifier.notify(Subject::Group, &group, state, 0);
            }
        }
        Event::PriorityChanged {
            instance,
            name,
            from,
            to,
            cause,
        } => {
            tracing::info!("({name}) Changing effective priority from {from} to {to} ({cause})");
            if running.plans[instance].notify.priority_changes {
                let state = match groups.instance_state(instance) {
                    Some(vrrp_core::State::Active) => NotifyState::MasterPriority,
                    _ => NotifyState::BackupPriority,
                };
                notifier.notify(Subject::Instance, &name, state, to);
            }
        }
    }
}

async fn current_priority(running: &Running, instance: usize) -> u8 {
    match running.handle.status().await {
        Ok(all) => all.get(instance).map_or(0, |s| s.effective_priority),
        Err(_) => 0,
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

/// The last state of each instance and of each sync group, to notify a group once when all
/// its members have reached a state (keepalived's group notifications).
struct GroupStates {
    members: Vec<(String, Vec<usize>)>,
    instance: HashMap<usize, vrrp_core::State>,
    group: HashMap<String, vrrp_core::State>,
}

impl GroupStates {
    fn new(groups: &[SyncGroupPlan]) -> Self {
        GroupStates {
            members: groups
                .iter()
                .map(|g| (g.name.clone(), g.members.clone()))
                .collect(),
            instance: HashMap::new(),
            group: HashMap::new(),
        }
    }

    fn instance_state(&self, instance: usize) -> Option<vrrp_core::State> {
        self.instance.get(&instance).copied()
    }

    /// Records a member's new state; returns the groups that just reached a state together.
    fn on_change(&mut self, instance: usize, to: vrrp_core::State) -> Vec<(String, NotifyState)> {
        self.instance.insert(instance, to);
        let mut out = Vec::new();
        for (name, members) in &self.members {
            if !members.contains(&instance) {
                continue;
            }
            let all = members.iter().all(|m| self.instance.get(m) == Some(&to));
            let group_state = if to == vrrp_core::State::Fault {
                true
            } else {
                all
            };
            if group_state && self.group.get(name) != Some(&to) {
                self.group.insert(name.clone(), to);
                if let Some(state) = notify_state(to) {
                    out.push((name.clone(), state));
                }
            }
        }
        out
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
