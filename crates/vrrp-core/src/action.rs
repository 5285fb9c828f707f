//! What a router tells its driver: [`Action`]s, with the [`State`]s and [`Reason`]s they carry.
//!
//! # Order
//! Actions produced by one input are queued in this order, which tests check:
//!
//! 1. `PriorityChanged` (the cause comes before its effect),
//! 2. `SendAdvert`,
//! 3. `AddVip` / `RemoveVip`,
//! 4. `JoinSolicitedNode` (IPv6, before the NAs) / `LeaveSolicitedNode`,
//! 5. `Announce`,
//! 6. `StateChanged` (with its reason),
//! 7. `Notice` (log-worthy observations, rate-limited). Counters in [`crate::Stats`] are
//!    updated by the time the input returns.
//!
//! On leaving Active the order is: priority-0 `SendAdvert`, `RemoveVip`s,
//! `LeaveSolicitedNode`s, `StateChanged`.

use core::fmt;
use core::net::{IpAddr, Ipv6Addr};
use std::sync::Arc;

use crate::packet::{ChecksumForm, Version};

/// Protocol state of a virtual router (RFC 9568 §6.4 plus keepalived's Fault).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub enum State {
    /// Not started, or shut down.
    #[default]
    Initialize,
    /// Monitoring the Active router.
    Backup,
    /// Forwarding for the virtual addresses (keepalived's MASTER).
    Active,
    /// A tracked object with weight 0 failed or the interface is down (keepalived's FAULT).
    Fault,
}

impl State {
    /// keepalived's name of the state (used in notify scripts and dumps).
    pub fn keepalived_name(self) -> &'static str {
        match self {
            State::Initialize => "INIT",
            State::Backup => "BACKUP",
            State::Active => "MASTER",
            State::Fault => "FAULT",
        }
    }
}

impl fmt::Display for State {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            State::Initialize => "Initialize",
            State::Backup => "Backup",
            State::Active => "Active",
            State::Fault => "Fault",
        })
    }
}

/// Why a state changed. Every transition carries one.
#[derive(Clone, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub enum Reason {
    /// Startup: a non-owner goes Backup (R9), the owner goes Active (R8).
    Startup,
    /// Shutdown (R12, R19).
    Shutdown,
    /// No advertisement from the Active for Active_Down_Interval (R13).
    ActiveSilent {
        /// The last Active heard, if any.
        last_active: Option<IpAddr>,
    },
    /// The Active announced it is leaving (priority 0; R14) and Skew_Time passed.
    ActiveLeft {
        /// The router that left.
        from: IpAddr,
    },
    /// Preemption: the Active advertises a lower priority than ours (R16).
    Preempted {
        /// The lower-priority Active.
        from: IpAddr,
        /// Its advertised priority.
        their_priority: u8,
        /// Our effective priority.
        our_priority: u8,
    },
    /// An advert with a higher priority, or equal priority from a higher address (R22).
    HigherPriority {
        /// The winner.
        from: IpAddr,
        /// Its priority.
        their_priority: u8,
        /// Our effective priority.
        our_priority: u8,
    },
    /// A tracked object with weight 0 failed (or, with `reverse`, came up).
    TrackerFault {
        /// The tracked object.
        tracker: Arc<str>,
    },
    /// The interface went down or lost carrier.
    InterfaceDown,
    /// Every Fault condition cleared.
    Recovered {
        /// The tracked object or event whose recovery cleared the last Fault condition.
        cause: Arc<str>,
    },
    /// Another member of a sync group changed state.
    SyncGroup {
        /// The group.
        group: Arc<str>,
        /// The member whose change this follows.
        member: Arc<str>,
    },
}

impl fmt::Display for Reason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Reason::Startup => f.write_str("startup"),
            Reason::Shutdown => f.write_str("shutdown"),
            Reason::ActiveSilent {
                last_active: Some(a),
            } => {
                write!(
                    f,
                    "no advertisement from active {a} within the down interval"
                )
            }
            Reason::ActiveSilent { last_active: None } => {
                f.write_str("no active router heard within the down interval")
            }
            Reason::ActiveLeft { from } => write!(f, "active {from} left (priority 0)"),
            Reason::Preempted {
                from,
                their_priority,
                our_priority,
            } => write!(
                f,
                "preempted {from}: its priority {their_priority} < ours {our_priority}"
            ),
            Reason::HigherPriority {
                from,
                their_priority,
                our_priority,
            } => write!(
                f,
                "advert from {from} with priority {their_priority} beats ours {our_priority}"
            ),
            Reason::TrackerFault { tracker } => write!(f, "tracked object {tracker} failed"),
            Reason::InterfaceDown => f.write_str("interface down"),
            Reason::Recovered { cause } => write!(f, "fault cleared ({cause})"),
            Reason::SyncGroup { group, member } => {
                write!(f, "sync group {group} follows member {member}")
            }
        }
    }
}

/// What changed a router's effective priority.
#[derive(Clone, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub enum Cause {
    /// A tracked object changed state.
    Tracker(Arc<str>),
    /// The base priority was changed at runtime.
    BasePriority,
    /// The configuration was reloaded (base priority or tracked objects changed).
    Reconfigured,
}

impl fmt::Display for Cause {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Cause::Tracker(name) => write!(f, "tracked object {name}"),
            Cause::BasePriority => f.write_str("base priority changed"),
            Cause::Reconfigured => f.write_str("configuration reloaded"),
        }
    }
}

/// A log-worthy observation (the RFC's SHOULD-log items). Rate-limited per kind by the router.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub enum Notice {
    /// A peer advertises a different interval (R34): logged, never dropped (v3).
    IntervalMismatch {
        /// The peer.
        from: IpAddr,
        /// Its interval in centiseconds.
        theirs_cs: u16,
        /// Ours.
        ours_cs: u16,
    },
    /// A peer advertises a different address list (R35).
    AddressListMismatch {
        /// The peer.
        from: IpAddr,
    },
    /// Another router advertises priority 255 on our VRID while we are the owner (R30, R46).
    AnotherOwner {
        /// The other owner.
        from: IpAddr,
    },
    /// A peer has the same priority as ours (R46 MAY log).
    EqualPriority {
        /// The peer.
        from: IpAddr,
    },
    /// We are Active and heard another Active with a lower priority: we sent an advert (R23)
    /// and re-announced the addresses.
    DualActive {
        /// The other Active.
        from: IpAddr,
        /// Its priority.
        their_priority: u8,
    },
    /// A peer's IPv4 VRRPv3 checksum uses the other form than ours (P1).
    ChecksumForm {
        /// The peer.
        from: IpAddr,
        /// The form it uses.
        theirs: ChecksumForm,
    },
}

/// An output of the state machine, drained with [`crate::Router::poll_action`].
#[derive(Clone, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub enum Action {
    /// Send an advertisement with this priority to every destination
    /// ([`crate::Router::advert_destinations`]); build it with [`crate::Router::encode_advert`].
    SendAdvert {
        /// Version to send (two actions in v2/v3 mode).
        version: Version,
        /// Priority to advertise (0 when leaving).
        priority: u8,
    },
    /// Install a virtual address.
    AddVip(IpAddr),
    /// Remove a virtual address.
    RemoveVip(IpAddr),
    /// Join the solicited-node multicast group of an IPv6 virtual address.
    JoinSolicitedNode(Ipv6Addr),
    /// Leave that group.
    LeaveSolicitedNode(Ipv6Addr),
    /// Send one gratuitous ARP (IPv4) or unsolicited NA (IPv6) for this address.
    Announce(IpAddr),
    /// The protocol state changed.
    StateChanged {
        /// Previous state.
        from: State,
        /// New state.
        to: State,
        /// Why.
        reason: Reason,
    },
    /// The effective priority changed.
    PriorityChanged {
        /// Previous effective priority.
        from: u8,
        /// New effective priority.
        to: u8,
        /// Why.
        cause: Cause,
    },
    /// Something worth logging.
    Notice(Notice),
}
