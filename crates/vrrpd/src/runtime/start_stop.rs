//! `startup_script` and `shutdown_script` (`global_defs`), run as keepalived's parent process
//! runs them:
//!
//! - the startup script runs once, before any VRRP instance starts (after the pid files are
//!   written); the instances start when it has ended, whatever its exit status, or when it was
//!   stopped at its timeout. A reload does not run it again.
//! - the shutdown script runs at the end of a stop, once every instance has stopped, released
//!   its addresses and routes and its STOP notifications have run; the process exits (and
//!   removes its pid files) when the script has ended or was stopped at its timeout. The
//!   shutdown script of the configuration running at the time (after reloads) is the one run.
//! - `startup_script_timeout` / `shutdown_script_timeout` (default 10 s): at the timeout the
//!   script's process group gets SIGTERM, then SIGKILL 2 s later, as keepalived does.
//! - they are checked and run like notify scripts ([`crate::track::exec`]): `script_user` (or the
//!   user written after the script), `enable_script_security`; a script that fails the checks
//!   is logged and not run, as keepalived disables it.

use std::time::Duration;

use crate::config::model::{GlobalDefs, ScriptCommand};
use crate::track::exec::{self, KillPolicy, Outcome, ScriptPolicy};

/// keepalived's timeout of both scripts when none is configured.
pub const DEFAULT_TIMEOUT_SECS: u32 = 10;

/// Which of the two scripts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Which {
    /// `startup_script`.
    Startup,
    /// `shutdown_script`.
    Shutdown,
}

impl Which {
    fn name(self) -> &'static str {
        match self {
            Which::Startup => "startup",
            Which::Shutdown => "shutdown",
        }
    }

    fn script(self, global: &GlobalDefs) -> Option<&ScriptCommand> {
        match self {
            Which::Startup => global.startup_script.as_ref(),
            Which::Shutdown => global.shutdown_script.as_ref(),
        }
    }

    fn timeout(self, global: &GlobalDefs) -> Duration {
        let secs = match self {
            Which::Startup => global.startup_script_timeout_secs,
            Which::Shutdown => global.shutdown_script_timeout_secs,
        };
        Duration::from_secs(secs.unwrap_or(DEFAULT_TIMEOUT_SECS).into())
    }
}

/// Runs the configured script of kind `which`, if any, to its end or its timeout; logs why it
/// was not run or how it ended. Cancel safe: dropping the future kills the script's process
/// group.
pub async fn run(global: &GlobalDefs, which: Which) {
    let Some(script) = which.script(global) else {
        return;
    };
    let kind = which.name();
    let prepared = ScriptPolicy::from_global(global)
        .and_then(|policy| exec::prepare(&script.command, script.run_as.as_ref(), &policy));
    let cmd = match prepared {
        Ok(cmd) => cmd,
        Err(e) => {
            tracing::error!(script = %script.command, error = %e,
                "{kind} script disabled: {e}");
            return;
        }
    };
    let timeout = which.timeout(global);
    tracing::info!(script = %script.command, timeout = ?timeout, "Running {kind} script");
    match exec::run(&cmd, KillPolicy::check(timeout)).await {
        Outcome::Exited(0) => {
            tracing::info!(script = %script.command, "{kind} script succeeded");
        }
        Outcome::TimedOut(t) => {
            tracing::warn!(script = %script.command, timeout = ?t, "{kind} script timed out");
        }
        outcome => {
            tracing::warn!(script = %script.command, %outcome, "{kind} script {outcome}");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timeouts_default_to_keepalived_s_ten_seconds() {
        let mut g = GlobalDefs::default();
        assert_eq!(Which::Startup.timeout(&g), Duration::from_secs(10));
        g.shutdown_script_timeout_secs = Some(3);
        assert_eq!(Which::Shutdown.timeout(&g), Duration::from_secs(3));
        assert_eq!(Which::Startup.timeout(&g), Duration::from_secs(10));
    }
}
