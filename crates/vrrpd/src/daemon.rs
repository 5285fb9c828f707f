//! The daemon runtime entry point (to be wired by the runtime work).

use std::process::ExitCode;

use crate::cli::Cli;
use crate::config::Loaded;

/// Runs the daemon with the parsed command line and the loaded, error-free configuration
/// (`loaded.warnings` holds the diagnostics that did not prevent loading; they have already
/// been printed). Returns the process exit code, with keepalived's meanings: 0 clean stop,
/// 1 fatal, 2 configuration error, 4 permission problem.
///
/// Logs go to the systemd journal (with keepalived's `Keepalived_vrrp` identifier) unless `-l`
/// or `-G` is given or no journal runs; otherwise to stderr. `-D` raises the detail,
/// `RUST_LOG` overrides the filter.
pub fn run_daemon(opts: &Cli, loaded: Loaded) -> ExitCode {
    init_logging(opts);
    let runtime_opts = crate::runtime::RuntimeOptions {
        vip_lease: opts
            .vip_lease
            .map(|s| std::time::Duration::from_secs(u64::from(s))),
    };
    crate::runtime::run(opts, loaded, runtime_opts)
}

fn init_logging(opts: &Cli) {
    let default = match opts.log_detail {
        0 => "info",
        1 => "debug",
        _ => "trace",
    };
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    let journald = !opts.log_console && !opts.no_syslog && journald_available();
    if journald {
        if let Ok(layer) = tracing_journald::layer() {
            use tracing_subscriber::layer::SubscriberExt;
            use tracing_subscriber::util::SubscriberInitExt;
            let layer = layer.with_syslog_identifier("Keepalived_vrrp".into());
            let _ = tracing_subscriber::registry()
                .with(filter)
                .with(layer)
                .try_init();
            return;
        }
    }
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_target(false)
        .try_init();
}

/// True when the systemd journal's socket exists.
fn journald_available() -> bool {
    std::path::Path::new("/run/systemd/journal/socket").exists()
}
