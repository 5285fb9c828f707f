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

pub mod host;
pub mod plan;

use std::collections::HashMap;
use std::process::ExitCode;
use std::time::Duration;

use tokio::signal::unix::{signal, SignalKind};
use vrrp_net::driver::{self, Event, Handle};

use crate::cli::Cli;
use crate::config::Loaded;
use crate::convert::{self, InstancePlan, SyncGroupPlan};

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
    plans: Vec<InstancePlan>,
    groups: Vec<SyncGroupPlan>,
    handle: Handle,
}

async fn serve(cli: &Cli, loaded: Loaded, opts: RuntimeOptions) -> ExitCode {
    let running = match start(&loaded, &opts).await {
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

async fn start(loaded: &Loaded, opts: &RuntimeOptions) -> Result<Running, ExitCode> {
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
    let (Ok(mut term), Ok(mut int), Ok(mut hup)) = (
        signal(SignalKind::terminate()),
        signal(SignalKind::interrupt()),
        signal(SignalKind::hangup()),
    ) else {
        tracing::error!("cannot install signal handlers");
        return ExitCode::from(EXIT_FATAL);
    };
    let watchdog = systemd_watchdog();
    let mut watchdog_tick = tokio::time::interval(watchdog.unwrap_or(Duration::from_secs(3600)));
    systemd_notify(&[sd_notify::NotifyState::Ready]);
    let names: HashMap<usize, String> = running
        .plans
        .iter()
        .enumerate()
        .map(|(i, p)| (i, p.router.name.to_string()))
        .collect();
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
            _ = watchdog_tick.tick(), if watchdog.is_some() => {
                systemd_notify(&[sd_notify::NotifyState::Watchdog]);
            }
            ev = events.recv() => match ev {
                Ok(Event::StateChanged { instance, to, reason, .. }) => {
                    let name = names.get(&instance).map(String::as_str).unwrap_or("?");
                    tracing::info!("(VRRP_Instance({name})) Entering {} STATE ({reason})", to.keepalived_name());
                }
                Ok(Event::PriorityChanged { .. }) => {}
                Err(tokio::sync::broadcast::error::RecvError::Lagged(n)) => {
                    tracing::warn!(missed = n, "event subscriber lagged");
                }
                Err(_) => break,
            },
        }
    }
    systemd_notify(&[sd_notify::NotifyState::Stopping]);
    tracing::info!("Stopping");
    match running.handle.shutdown().await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!(error = %e, "unclean shutdown");
            ExitCode::from(EXIT_FATAL)
        }
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
