//! What a router asks of its driver, in three kinds drained separately (the quinn-proto and
//! str0m shape): [`Transmit`]s written into the caller's buffer, kernel [`Command`]s, and
//! application [`Event`]s.
//!
//! # Order
//!
//! After every input, drain `poll_transmit` until `None`, then `poll_command` until `None`,
//! then `poll_event` until `None` ([`crate::Router`] and [`crate::Node`] alike). Carried out in
//! that order, the outputs are always correct; a driver never reorders them:
//!
//! 1. **Transmissions** first: a takeover's first advert never waits for the kernel, and a
//!    leaving Active's priority-0 advert leaves before its addresses go.
//! 2. **Commands**: every address change ([`Command::AddVip`], [`Command::RemoveVip`]) in the
//!    order decided (a removal comes before a later add of the same address), then every
//!    [`Command::Announce`], so an announcement always follows its address. A [`crate::Node`]
//!    yields the address changes of *all* routers before any announcement, so a driver may
//!    pipeline a run of consecutive adds. An announcement of an address removed in the same
//!    round is dropped.
//! 3. **Events**, once the kernel work is done: a listener that runs a notify script on
//!    [`Event::StateChanged`] to Active finds the addresses in place. A
//!    [`Event::PriorityChanged`] comes before the state change it caused.
//!
//! Counters in [`crate::Stats`] are updated by the time the input returns.

use core::fmt;
use core::net::IpAddr;
use std::collections::VecDeque;
use std::sync::Arc;

use crate::auth_hmac::{Outcome, TRAILER_LEN};
use crate::packet::{ChecksumForm, Version};

/// One advert to send, written by `poll_transmit` into the caller's buffer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Transmit {
    /// The IP source (the interface's primary IPv4 address or IPv6 link-local).
    pub src: IpAddr,
    /// The IP destination: the multicast group or one unicast peer.
    pub dst: IpAddr,
    /// Length of the VRRP message written at the start of the buffer.
    pub len: usize,
    /// Its version.
    pub version: Version,
    /// Its priority (0 when leaving).
    pub priority: u8,
}

/// A change the data plane makes to the kernel for a router.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub enum Command {
    /// Install a virtual address.
    AddVip(IpAddr),
    /// Remove a virtual address.
    RemoveVip(IpAddr),
    /// Send one gratuitous ARP (IPv4) or unsolicited NA (IPv6) for this address.
    Announce(IpAddr),
    /// Ask the segment who else holds this address: an RFC 5227 ARP probe (sender IP
    /// 0.0.0.0, target the address) or, for IPv6, a Neighbor Solicitation from `::` to the
    /// address's solicited-node group. A host that answers with another MAC is reported back
    /// with [`crate::Input::AddressConflict`] (docs/decisions/0007-conflict-detection.md).
    Probe(IpAddr),
    /// Install the routes and rules that follow this router's state (after its addresses;
    /// only with [`crate::RouterConfig::state_routes`]).
    AddRoutes,
    /// Remove them (before the addresses go).
    RemoveRoutes,
}

/// Something that happened, for the application (logs, notify scripts, status).
#[derive(Clone, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub enum Event {
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
        /// The router's state when it changed (keepalived's `MASTER_PRIORITY` or
        /// `BACKUP_PRIORITY` notification).
        state: State,
    },
    /// Something worth logging (rate-limited per kind).
    Notice(Notice),
    /// As Active, another MAC claimed one of our addresses (a gratuitous ARP, an ARP reply,
    /// an NA, or an answer to a [`Command::Probe`]), and the address was re-announced at once
    /// (at most once per address per second; conflicts inside that second are only counted in
    /// [`crate::Stats::address_conflicts`]).
    AddressConflict {
        /// The address.
        addr: IpAddr,
        /// The MAC that claimed it.
        mac: [u8; 6],
    },
    /// As Active, an advert with a lower priority than ours arrived (keepalived's
    /// `notify_master_rx_lower_pri`); every one, not rate-limited.
    LowerPriorityAdvert {
        /// The sender.
        from: IpAddr,
        /// Its priority.
        priority: u8,
    },
}

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
    /// The source address the router sends from is gone (keepalived's `track_src_ip`).
    NoSourceAddress,
    /// Unicast without any peer (keepalived's `unicast_fault_no_peer`).
    NoUnicastPeer,
    /// An advert was served so late that another router may have taken over (keepalived's
    /// `timer_expired_backup`).
    TimerExpired {
        /// How late, since the previous advert.
        since_last_advert: crate::time::Duration,
    },
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
    /// Maintenance was switched on ([`crate::Input::Maintenance`]): the router left Active,
    /// or it would have become Active and stays Backup.
    Maintenance,
    /// Maintenance was switched off and the router is the address owner (R8).
    MaintenanceOff,
}

impl Reason {
    /// True for a change forced by a sync group.
    pub fn is_sync_group(&self) -> bool {
        matches!(self, Reason::SyncGroup { .. })
    }
}

impl fmt::Display for Reason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Reason::Startup => f.write_str("startup"),
            Reason::Maintenance => f.write_str("maintenance"),
            Reason::MaintenanceOff => f.write_str("maintenance off, address owner"),
            Reason::Shutdown => f.write_str("shutdown"),
            Reason::ActiveSilent {
                last_active: Some(a),
            } => write!(
                f,
                "no advertisement from active {a} within the down interval"
            ),
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
            Reason::NoSourceAddress => f.write_str("source address gone"),
            Reason::NoUnicastPeer => f.write_str("unicast without peers"),
            Reason::TimerExpired { since_last_advert } => write!(
                f,
                "advert timer expired {since_last_advert} after the previous advert: another \
                 router may have taken over"
            ),
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
    /// An advert failed `auth_hmac` authentication and was dropped (rate-limited per kind).
    AuthRejected {
        /// The claimed sender.
        from: IpAddr,
        /// Why.
        outcome: Outcome,
        /// The key id of the trailer ([`Outcome::UnknownKey`] only).
        key_id: Option<u8>,
        /// The receiver's clock minus the trailer's time, in seconds ([`Outcome::Stale`] only).
        skew_secs: Option<i32>,
    },
    /// An authenticated advert's clock skew passed half the window: fix the clocks before
    /// adverts turn stale.
    AuthClockSkew {
        /// The sender.
        from: IpAddr,
        /// The receiver's clock minus the trailer's time, in seconds.
        skew_secs: i32,
        /// The window, in seconds.
        window_secs: u16,
    },
}

impl Notice {
    /// The log line of an `auth_hmac` notice ([`Notice::AuthRejected`],
    /// [`Notice::AuthClockSkew`]) in keepalived 2.4.3's words, so that log watchers match
    /// both; `None` for the other notices.
    pub fn auth_message(&self) -> Option<String> {
        let text = match *self {
            Notice::AuthRejected {
                from,
                outcome: Outcome::UnknownKey,
                key_id: Some(id),
                ..
            } => format!("unknown authentication key id {id} from {from}"),
            Notice::AuthRejected {
                from,
                outcome: Outcome::NotAPeer,
                ..
            } => format!("unicast source address {from} not a unicast peer"),
            Notice::AuthRejected {
                from,
                outcome: Outcome::Stale,
                skew_secs: Some(skew),
                ..
            } => format!(
                "stale authentication trailer from {from}, clock skew {skew} sec exceeds the window"
            ),
            Notice::AuthRejected { from, outcome, .. } => format!("{outcome} from {from}"),
            Notice::AuthClockSkew {
                from,
                skew_secs,
                window_secs,
            } => format!(
                "authentication clock skew {skew_secs} sec from {from} approaching window {window_secs} sec"
            ),
            _ => return None,
        };
        Some(text)
    }

    /// Number of kinds, for per-kind rate limits.
    pub(crate) const KINDS: usize = 7 + Outcome::ALL.len();

    /// The kind's index, below [`Notice::KINDS`].
    pub(crate) fn kind(&self) -> usize {
        match self {
            Notice::IntervalMismatch { .. } => 0,
            Notice::AddressListMismatch { .. } => 1,
            Notice::AnotherOwner { .. } => 2,
            Notice::EqualPriority { .. } => 3,
            Notice::DualActive { .. } => 4,
            Notice::ChecksumForm { .. } => 5,
            Notice::AuthClockSkew { .. } => 6,
            Notice::AuthRejected { outcome, .. } => 7 + outcome.index(),
        }
    }
}

/// Bit positions of the output kinds, in drain order.
pub(crate) const KIND_TRANSMITS: usize = 0;
pub(crate) const KIND_ADDRESSES: usize = 1;
pub(crate) const KIND_ANNOUNCES: usize = 2;
pub(crate) const KIND_EVENTS: usize = 3;
/// Number of output kinds.
pub(crate) const KINDS: usize = 4;

/// An advert decided but not yet written: `next_dst` counts the destinations done.
#[derive(Clone, Copy, Debug)]
pub(crate) struct QueuedAdvert {
    pub(crate) version: Version,
    pub(crate) priority: u8,
    /// The `auth_hmac` trailer, signed when the advert was decided (one for every copy).
    pub(crate) trailer: Option<[u8; TRAILER_LEN]>,
    pub(crate) next_dst: usize,
}

/// The outputs of one router not yet drained, by kind. Each queue starts unallocated and keeps
/// the largest capacity one input needed (typically the first takeover), so the steady state
/// does not allocate.
#[derive(Clone, Debug, Default)]
pub(crate) struct Outputs {
    pub(crate) adverts: VecDeque<QueuedAdvert>,
    addresses: VecDeque<Command>,
    /// [`Command::Announce`]s and [`Command::Probe`]s.
    announces: VecDeque<Command>,
    events: VecDeque<Event>,
}

impl Outputs {
    pub(crate) fn advert(
        &mut self,
        version: Version,
        priority: u8,
        trailer: Option<[u8; TRAILER_LEN]>,
    ) {
        self.adverts.push_back(QueuedAdvert {
            version,
            priority,
            trailer,
            next_dst: 0,
        });
    }

    pub(crate) fn add_vip(&mut self, addr: IpAddr) {
        self.addresses.push_back(Command::AddVip(addr));
    }

    /// A removal also drops the announcements of `addr` still queued.
    pub(crate) fn remove_vip(&mut self, addr: IpAddr) {
        self.announces
            .retain(|c| !matches!(c, Command::Announce(a) | Command::Probe(a) if *a == addr));
        self.addresses.push_back(Command::RemoveVip(addr));
    }

    pub(crate) fn routes(&mut self, add: bool) {
        let c = if add {
            Command::AddRoutes
        } else {
            Command::RemoveRoutes
        };
        self.addresses.push_back(c);
    }

    pub(crate) fn announce(&mut self, addr: IpAddr) {
        self.announces.push_back(Command::Announce(addr));
    }

    pub(crate) fn probe(&mut self, addr: IpAddr) {
        self.announces.push_back(Command::Probe(addr));
    }

    pub(crate) fn event(&mut self, event: Event) {
        self.events.push_back(event);
    }

    pub(crate) fn pop_address(&mut self) -> Option<Command> {
        self.addresses.pop_front()
    }

    pub(crate) fn pop_announce(&mut self) -> Option<Command> {
        self.announces.pop_front()
    }

    pub(crate) fn pop_event(&mut self) -> Option<Event> {
        self.events.pop_front()
    }

    /// The kinds of output queued, one bit per kind ([`KIND_TRANSMITS`] ...).
    pub(crate) fn kinds(&self) -> u8 {
        u8::from(!self.adverts.is_empty()) << KIND_TRANSMITS
            | u8::from(!self.addresses.is_empty()) << KIND_ADDRESSES
            | u8::from(!self.announces.is_empty()) << KIND_ANNOUNCES
            | u8::from(!self.events.is_empty()) << KIND_EVENTS
    }

    /// True when nothing of any kind is queued.
    pub(crate) fn is_empty(&self) -> bool {
        self.adverts.is_empty()
            && self.addresses.is_empty()
            && self.announces.is_empty()
            && self.events.is_empty()
    }
}
