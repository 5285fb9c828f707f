//! The crate's error type.
//!
//! Every variant names what was being done and on which interface, so that a
//! log line or a CLI message is self-explanatory:
//! `interface eth7 not found`, `adding 192.0.2.10/24 to eth0: address already present`,
//! `permission denied: opening the IPv4 VRRP socket on eth0: needs CAP_NET_RAW and CAP_NET_ADMIN`.

use std::io;

/// Result alias for this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Errors from the data-plane building blocks.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The named (or numbered) interface does not exist in this network namespace.
    #[error("interface {0} not found")]
    InterfaceNotFound(String),
    /// The address being added is already on the interface (`EEXIST`).
    #[error("{context}: address already present")]
    AddressExists {
        /// What was being done, e.g. "adding 192.0.2.10/24 to eth0".
        context: String,
    },
    /// The address being removed is not on the interface (`EADDRNOTAVAIL`).
    #[error("{context}: address not present")]
    AddressNotFound {
        /// What was being done.
        context: String,
    },
    /// The route or rule being added exists already (`EEXIST`).
    #[error("{context}: already present")]
    RouteExists {
        /// What was being done.
        context: String,
    },
    /// The route or rule being removed is not there (`ESRCH`, `ENOENT`).
    #[error("{context}: not present")]
    RouteNotFound {
        /// What was being done.
        context: String,
    },
    /// A link with that name already exists (`EEXIST` on link creation).
    #[error("{context}: link already exists")]
    LinkExists {
        /// What was being done.
        context: String,
    },
    /// `EPERM`/`EACCES`: the process lacks the capabilities.
    #[error("permission denied: {context}: needs CAP_NET_RAW and CAP_NET_ADMIN")]
    PermissionDenied {
        /// What was being done.
        context: String,
    },
    /// The kernel refused a netlink request with this errno.
    #[error("{context}: kernel refused: {source}")]
    Netlink {
        /// What was being done.
        context: String,
        /// Positive errno from the netlink error message.
        errno: i32,
        /// The errno as an `io::Error`.
        #[source]
        source: io::Error,
    },
    /// A system call failed.
    #[error("{context}: {source}")]
    Io {
        /// What was being done.
        context: String,
        /// The underlying error.
        #[source]
        source: io::Error,
    },
    /// The `nft` command failed.
    #[error("{context}: nft failed: {stderr}")]
    Nft {
        /// What was being done.
        context: String,
        /// nft's standard error (trimmed).
        stderr: String,
    },
    /// A program the operation needs (such as `nft`) is not installed or not in `PATH`.
    #[error("{context}: the program `{program}` was not found; install it or fix PATH")]
    MissingProgram {
        /// What was being done.
        context: String,
        /// The program, as it was looked up.
        program: String,
    },
    /// A malformed message from the kernel or an invalid argument.
    #[error("{context}: {message}")]
    Invalid {
        /// What was being done.
        context: String,
        /// What was wrong.
        message: String,
    },
}

impl Error {
    /// Maps an `io::Error` from a system call, turning `EPERM`/`EACCES` into
    /// [`Error::PermissionDenied`] and `ENODEV` into [`Error::InterfaceNotFound`].
    pub fn io(context: impl Into<String>, iface: &str, source: io::Error) -> Self {
        let context = context.into();
        match source.raw_os_error() {
            Some(libc::EPERM) | Some(libc::EACCES) => Error::PermissionDenied { context },
            Some(libc::ENODEV) => Error::InterfaceNotFound(iface.to_string()),
            _ => Error::Io { context, source },
        }
    }

    /// The errno behind this error, when there is one.
    pub fn errno(&self) -> Option<i32> {
        match self {
            Error::AddressExists { .. } | Error::LinkExists { .. } | Error::RouteExists { .. } => {
                Some(libc::EEXIST)
            }
            Error::RouteNotFound { .. } => Some(libc::ESRCH),
            Error::AddressNotFound { .. } => Some(libc::EADDRNOTAVAIL),
            Error::PermissionDenied { .. } => Some(libc::EPERM),
            Error::InterfaceNotFound(_) => Some(libc::ENODEV),
            Error::Netlink { errno, .. } => Some(*errno),
            Error::Io { source, .. } => source.raw_os_error(),
            Error::MissingProgram { .. } => Some(libc::ENOENT),
            Error::Nft { .. } | Error::Invalid { .. } => None,
        }
    }

    /// True for [`Error::PermissionDenied`].
    pub fn is_permission_denied(&self) -> bool {
        matches!(self, Error::PermissionDenied { .. })
    }
}
