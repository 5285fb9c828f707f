//! The crate's error type.

use std::io;

/// Everything that can go wrong in the harness. Each variant says what failed; command failures
/// carry the full command line and its stderr.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The process is not root (euid 0); namespaces cannot be created.
    #[error("vrrp-netns needs root (euid 0), running as euid {euid}")]
    NotRoot {
        /// The effective uid we run as.
        euid: u32,
    },
    /// A required external tool is missing.
    #[error("required tool `{tool}` is not available: {hint}")]
    MissingTool {
        /// The program name.
        tool: String,
        /// What to install or why it failed.
        hint: String,
    },
    /// A command could not be started at all.
    #[error("failed to start `{cmd}`: {source}")]
    Spawn {
        /// The command line.
        cmd: String,
        /// The OS error.
        #[source]
        source: io::Error,
    },
    /// A command ran and exited unsuccessfully.
    #[error("`{cmd}` failed ({status}): {stderr}")]
    Command {
        /// The command line.
        cmd: String,
        /// Exit status as text.
        status: String,
        /// Its standard error (trimmed).
        stderr: String,
    },
    /// An I/O operation failed.
    #[error("{what}: {source}")]
    Io {
        /// What we were doing.
        what: String,
        /// The OS error.
        #[source]
        source: io::Error,
    },
    /// A system call through nix failed.
    #[error("{what}: {source}")]
    Sys {
        /// What we were doing.
        what: String,
        /// The errno.
        #[source]
        source: nix::Error,
    },
    /// Output of a tool could not be parsed.
    #[error("cannot parse output of `{what}`: {detail}")]
    Parse {
        /// The command or data that was parsed.
        what: String,
        /// Why it failed.
        detail: String,
    },
    /// The lab description or an argument is invalid.
    #[error("invalid argument: {0}")]
    Invalid(String),
    /// A router implementation cannot do what the description asks (for example FRR as the
    /// address owner, priority 255). Scenarios can expect this error with `start_fails`.
    #[error("{kind} does not support {what}")]
    Unsupported {
        /// The router implementation (`keepalived`, `frr`, `vrrpd`).
        kind: String,
        /// What it cannot do, and why.
        what: String,
    },
    /// A condition was not reached in time.
    #[error("timed out: {0}")]
    Timeout(String),
}

impl Error {
    pub(crate) fn io(what: impl Into<String>, source: io::Error) -> Self {
        Error::Io {
            what: what.into(),
            source,
        }
    }
    pub(crate) fn sys(what: impl Into<String>, source: nix::Error) -> Self {
        Error::Sys {
            what: what.into(),
            source,
        }
    }
}

/// Shorthand for `Result<T, vrrp_netns::Error>`.
pub type Result<T, E = Error> = std::result::Result<T, E>;
