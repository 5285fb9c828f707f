//! The control socket: a Unix socket on which `vrrpctl` (or any program) asks the running
//! daemon for its status and history and tells it to reload, one JSON request per line
//! (`docs/control-protocol.md`).
//!
//! - [`protocol`]: the messages, versioned;
//! - [`server`]: the listener, which hands each request to the runtime's event loop (the
//!   runtime owns the running configuration and the history) and writes the answer;
//! - [`view`]: the protocol's views of the library's typed status and history;
//! - [`client`]: a blocking client.

pub mod client;
pub mod protocol;
pub mod server;
pub mod view;

/// Where the daemon listens unless told otherwise (`--control-socket`).
pub const DEFAULT_SOCKET: &str = "/run/vrrpd/control.sock";
