//! The daemon runtime entry point (to be wired by the runtime work).

use std::process::ExitCode;

use crate::cli::Cli;
use crate::config::Loaded;

/// Runs the daemon with the parsed command line and the loaded, error-free configuration
/// (`loaded.warnings` holds the diagnostics that did not prevent loading; they have already
/// been printed). Returns the process exit code, with keepalived's meanings: 0 clean stop,
/// 1 fatal, 2 configuration error, 4 permission problem.
///
/// Logs go to stderr (keepalived's `-l` console form); `-D` raises the detail, `RUST_LOG`
/// overrides the filter.
pub fn run_daemon(opts: &Cli, loaded: Loaded) -> ExitCode {
    init_logging(opts);
    crate::runtime::run(opts, loaded, crate::runtime::RuntimeOptions::default())
}

fn init_logging(opts: &Cli) {
    let default = match opts.log_detail {
        0 => "info",
        1 => "debug",
        _ => "trace",
    };
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_target(false)
        .try_init();
}
