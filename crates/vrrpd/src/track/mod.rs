//! Tracked objects: `vrrp_script`, `track_file`, `vrrp_track_process` and `track_interface`.
//!
//! Each submodule is independent: it is configured from the parsed keepalived model
//! ([`crate::config::model`]), runs as a tokio task where it needs one, and reports through a
//! [`tokio::sync::mpsc`] channel of [`TrackerUpdate`]s, sent only when the state changes (plus
//! the first state). The runtime maps the names onto the `vrrp_core::track::Tracker`s of each
//! router and feeds the states to vrrp-core.
//!
//! [`exec`] holds what the script runner and the notifier share: keepalived's command-line
//! splitting, user resolution, script security checks and running a command in its own process
//! group with a timeout.

pub mod exec;
pub mod file;
pub mod interface;
pub mod process;
pub mod script;

pub use vrrp_core::TrackState;

/// A change of state of one tracked object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrackerUpdate {
    /// The object's name: the `vrrp_script` / `track_file` / `vrrp_track_process` block name, or
    /// the interface name for `track_interface`.
    pub name: String,
    /// The new state.
    pub state: TrackState,
    /// Why, for logs and status output (e.g. `"exited with status 1 (1 of fall 3)"`).
    pub detail: String,
}
