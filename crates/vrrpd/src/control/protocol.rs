//! The control protocol's messages (version 1, `docs/control-protocol.md`): one JSON object per
//! line each way, a request then its response.

use std::net::IpAddr;

use serde::{Deserialize, Serialize};

/// The protocol version this build speaks.
pub const PROTOCOL_VERSION: u32 = 1;

/// The longest request line accepted, newline included.
pub const MAX_REQUEST_LINE: usize = 64 * 1024;

/// A request: `{"version":1,"command":"status","instance":"VI_1"}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Request {
    /// The protocol version the client speaks (must be [`PROTOCOL_VERSION`]).
    pub version: u32,
    /// What is asked.
    #[serde(flatten)]
    pub command: Command,
}

impl Command {
    /// Whether the command changes the daemon (refused to read-only clients).
    pub fn changes_state(&self) -> bool {
        matches!(
            self,
            Command::Reload | Command::Maintenance { .. } | Command::Garp { .. }
        )
    }
}

/// What a request asks for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "command", rename_all = "snake_case", deny_unknown_fields)]
pub enum Command {
    /// Every virtual router (or the one named) and sync group, now.
    Status {
        /// Only this instance.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        instance: Option<String>,
    },
    /// The last transitions and priority changes, oldest first.
    History {
        /// Only this instance (or sync group).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        instance: Option<String>,
        /// At most this many (the newest).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        limit: Option<usize>,
    },
    /// Re-read the configuration and apply it, as SIGHUP does; a configuration with errors is
    /// refused (the running one kept) and the errors are returned.
    Reload,
    /// Re-announce the addresses of one instance (every family of it that is Active here) or,
    /// with `all`, of every Active instance now: a gratuitous ARP / unsolicited NA burst as at
    /// takeover.
    Garp {
        /// The instance (absent with `all`).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        instance: Option<String>,
        /// Every Active instance.
        #[serde(default)]
        all: bool,
    },
    /// A live stream of changes: after the response (`events: "streaming"`), one line per
    /// event (`{"event": {...}}`, the fields of a history entry) until the client closes;
    /// `{"lagged": N}` when the client fell N events behind.
    Events,
    /// Maintenance on or off for one instance (every family of it) or, with `all`, every
    /// instance: on, an Active leaves gracefully (priority-0 advert) and the instance stays
    /// Backup, never Active, until off; it survives reloads that keep the instance.
    Maintenance {
        /// The instance (absent with `all`).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        instance: Option<String>,
        /// Every instance.
        #[serde(default)]
        all: bool,
        /// On or off.
        on: bool,
    },
}

/// A response: `ok` and the result of the command, or `error`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Response {
    /// [`PROTOCOL_VERSION`].
    pub version: u32,
    /// Whether the command succeeded.
    pub ok: bool,
    /// The result of `status`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<StatusReply>,
    /// The result of `history`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub history: Option<Vec<HistoryEntry>>,
    /// The result of `reload`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reload: Option<ReloadReply>,
    /// The result of `garp`: the instances that announced.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub announced: Option<Vec<String>>,
    /// `streaming` in the answer to `events`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub events: Option<String>,
    /// The result of `maintenance`: the instances switched.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub maintenance: Option<Vec<String>>,
    /// Why the command failed (`ok` is false).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<ErrorReply>,
}

impl Response {
    fn new() -> Response {
        Response {
            version: PROTOCOL_VERSION,
            ok: true,
            status: None,
            history: None,
            reload: None,
            maintenance: None,
            announced: None,
            events: None,
            error: None,
        }
    }

    /// A successful `garp`.
    pub fn announced(instances: Vec<String>) -> Response {
        Response {
            announced: Some(instances),
            ..Response::new()
        }
    }

    /// The answer to `events`, before the stream.
    pub fn streaming() -> Response {
        Response {
            events: Some("streaming".into()),
            ..Response::new()
        }
    }

    /// A successful `status`.
    pub fn status(status: StatusReply) -> Response {
        Response {
            status: Some(status),
            ..Response::new()
        }
    }

    /// A successful `history`.
    pub fn history(history: Vec<HistoryEntry>) -> Response {
        Response {
            history: Some(history),
            ..Response::new()
        }
    }

    /// The outcome of `reload` (`ok` is false when the configuration was refused).
    pub fn reload(reload: ReloadReply) -> Response {
        Response {
            ok: reload.applied,
            reload: Some(reload),
            ..Response::new()
        }
    }

    /// A successful `maintenance`.
    pub fn maintenance(instances: Vec<String>) -> Response {
        Response {
            maintenance: Some(instances),
            ..Response::new()
        }
    }

    /// A failure.
    pub fn error(kind: ErrorKind, message: impl Into<String>) -> Response {
        Response {
            ok: false,
            error: Some(ErrorReply {
                kind,
                message: message.into(),
            }),
            ..Response::new()
        }
    }
}

/// Why a request failed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorReply {
    /// The kind, for programs.
    pub kind: ErrorKind,
    /// What is wrong, for people.
    pub message: String,
}

/// The kinds of failure.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorKind {
    /// The line is not a request of this protocol (bad JSON, unknown command or field).
    BadRequest,
    /// The request line is longer than [`MAX_REQUEST_LINE`].
    RequestTooLong,
    /// The client speaks another protocol version.
    UnsupportedVersion,
    /// No instance (or sync group) has that name.
    UnknownInstance,
    /// Too many clients are connected; try again.
    Busy,
    /// The daemon could not answer (it is stopping, or the data plane did not reply).
    Unavailable,
    /// `garp` for an instance that is not Active on this node.
    NotActive,
    /// The client may only read (a member of `--control-group`, not root): `reload` and
    /// `maintenance` are refused.
    ReadOnly,
}

/// The daemon and every virtual router.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StatusReply {
    /// The daemon.
    pub daemon: DaemonStatus,
    /// The virtual routers, in configuration order.
    pub instances: Vec<InstanceStatus>,
    /// The sync groups.
    pub sync_groups: Vec<GroupStatus>,
}

/// The daemon itself.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DaemonStatus {
    /// vrrpd's version.
    pub version: String,
    /// Its process id.
    pub pid: u32,
    /// The configuration file it runs.
    pub config_file: String,
}

/// One virtual router (one instance, one family).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct InstanceStatus {
    /// The instance name.
    pub name: String,
    /// VRID.
    pub vrid: u8,
    /// `ipv4` or `ipv6`.
    pub family: String,
    /// The interface it runs on.
    pub interface: String,
    /// The interface its VIPs are installed on (a VMAC interface with `use_vmac`).
    pub vip_interface: String,
    /// The sync group it belongs to.
    pub sync_group: Option<String>,
    /// In maintenance (`vrrpctl maintenance`): Backup, never Active.
    pub maintenance: bool,
    /// `MASTER`, `BACKUP`, `FAULT` or `INIT` (keepalived's names; MASTER is RFC 9568's Active).
    pub state: String,
    /// When it entered that state (RFC 3339, UTC).
    pub since: Option<String>,
    /// The configured (base) priority.
    pub base_priority: u8,
    /// The priority it advertises, trackers included.
    pub effective_priority: u8,
    /// Each tracked object and what it does to the priority.
    pub trackers: Vec<TrackerStatus>,
    /// The router it advertises from.
    pub address: IpAddr,
    /// The Active as this router knows it: itself when Active, else the last one heard.
    pub active: Option<ActiveRouter>,
    /// Active_Adver_Interval in use, milliseconds.
    pub advert_interval_ms: f64,
    /// Skew_Time, milliseconds.
    pub skew_ms: f64,
    /// Active_Down_Interval, milliseconds.
    pub down_interval_ms: f64,
    /// The configured virtual addresses.
    pub vips: Vec<IpAddr>,
    /// The virtual addresses installed on this node now.
    pub installed_vips: Vec<IpAddr>,
    /// The IPv4 VRRPv3 checksum form it sends (`pseudo_header`, `rfc9568`, or keepalived 1.3.6's `old_unicast`; IPv6: unused).
    pub checksum_form: String,
    /// The counters (RFC 6527's statistics and vrrpd's own).
    pub counters: vrrp_core::Stats,
}

/// A tracked object of an instance.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TrackerStatus {
    /// The `vrrp_script` name or `interface IF`, ...
    pub name: String,
    /// Its weight (0: a failure means FAULT).
    pub weight: i32,
    /// `up`, `down`, `unknown` (not reported yet) or the value of a `track_file`.
    pub state: String,
    /// What it adds to the priority now.
    pub contribution: i32,
    /// Whether it holds the instance in FAULT.
    pub fault: bool,
}

/// The Active router of a virtual router.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ActiveRouter {
    /// Its address.
    pub address: IpAddr,
    /// The priority it advertised.
    pub priority: u8,
    /// Whether it is this node.
    pub this_node: bool,
}

/// A sync group.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GroupStatus {
    /// Its name.
    pub name: String,
    /// Its state (keepalived's names).
    pub state: String,
    /// Its member instances.
    pub members: Vec<String>,
}

/// A line of the `events` stream after its response.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StreamLine {
    /// Something happened.
    Event(HistoryEntry),
    /// The client was too slow: this many events were dropped for it.
    Lagged(u64),
}

/// One transition, priority change, maintenance switch or (in the `events` stream) tracker
/// result or notice.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HistoryEntry {
    /// When (RFC 3339, UTC, milliseconds).
    pub at: String,
    /// The instance, or the sync group for `group`.
    pub instance: String,
    /// `state`, `priority`, `group` or `maintenance`; in the `events` stream also `tracker`
    /// (`to`: its new state) and `notice` (dual Active, interval mismatch, ...).
    pub kind: String,
    /// The old state or priority.
    pub from: String,
    /// The new state or priority.
    pub to: String,
    /// Why, in words ("preempted 192.0.2.12: its priority 100 < ours 150").
    pub reason: String,
}

/// The outcome of a reload.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReloadReply {
    /// Whether the new configuration runs (false: refused, the running one kept).
    pub applied: bool,
    /// Instances kept, added and removed (when applied).
    pub kept: usize,
    /// Instances added.
    pub added: usize,
    /// Instances removed.
    pub removed: usize,
    /// Why it was refused, and the configuration's errors (`file:line: ...`).
    pub errors: Vec<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_read_as_documented() {
        let r: Request =
            serde_json::from_str(r#"{"version":1,"command":"status","instance":"VI_1"}"#).unwrap();
        assert_eq!(
            r.command,
            Command::Status {
                instance: Some("VI_1".into())
            }
        );
        let r: Request =
            serde_json::from_str(r#"{"version":1,"command":"history","limit":5}"#).unwrap();
        assert_eq!(
            r.command,
            Command::History {
                instance: None,
                limit: Some(5)
            }
        );
        assert!(serde_json::from_str::<Request>(r#"{"version":1,"command":"shutdown"}"#).is_err());
        assert!(
            serde_json::from_str::<Request>(r#"{"version":1,"command":"status","bogus":1}"#)
                .is_err()
        );
    }

    #[test]
    fn errors_carry_a_kind_and_a_message() {
        let text =
            serde_json::to_string(&Response::error(ErrorKind::UnknownInstance, "no VI_9")).unwrap();
        assert_eq!(
            text,
            r#"{"version":1,"ok":false,"error":{"kind":"unknown_instance","message":"no VI_9"}}"#
        );
    }
}
