//! The errors of the tasks.

/// Why a task failed.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// System packages or tools are missing and could not be installed here.
    #[error("missing:\n{what}\n{how}")]
    Missing {
        /// What is missing, one item a line.
        what: String,
        /// How to install it.
        how: String,
    },
    /// The task needs root.
    #[error("{why}: run it as root (e.g. `sudo -E env PATH=\"$PATH\" cargo xtask ...`)")]
    NotRoot {
        /// What needs root.
        why: &'static str,
    },
    /// A command could not be started.
    #[error("cannot run {cmd}: {source}")]
    Spawn {
        /// The command line.
        cmd: String,
        /// The error from exec.
        source: std::io::Error,
    },
    /// A command failed.
    #[error("{cmd} failed ({status}){detail}")]
    Failed {
        /// The command line.
        cmd: String,
        /// Its exit status.
        status: std::process::ExitStatus,
        /// Its stderr, or more context, prefixed with a newline (may be empty).
        detail: String,
    },
    /// A file could not be read or written.
    #[error("{what}: {source}")]
    Io {
        /// What was being done.
        what: String,
        /// The I/O error.
        source: std::io::Error,
    },
}
