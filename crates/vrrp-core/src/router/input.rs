//! The inputs of a router other than received adverts and timeouts.

use core::net::IpAddr;
use std::sync::Arc;

use crate::auth_hmac::WallClock;
use crate::track::{TrackState, TrackerId};

/// An input other than a received advert or a timeout.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Input {
    /// Start the router (leaves Initialize; R8, R9).
    Startup,
    /// Stop the router (R12, R19): an Active sends priority 0 and releases its addresses.
    Shutdown,
    /// The interface is up with carrier.
    LinkUp,
    /// The interface went down or lost carrier: Fault.
    LinkDown,
    /// A tracked object reported a new state.
    Tracker(TrackerId, TrackState),
    /// Change the base priority at runtime (1..254; ignored for the owner).
    SetPriority(u8),
    /// The interface's primary address (advert source, tie-breaker) changed.
    PrimaryAddress(IpAddr),
    /// A virtual address disappeared from the interface (someone else removed it).
    VipLost(IpAddr),
    /// The configured source address is present on the interface, or gone (keepalived's
    /// `track_src_ip`: Fault while it is gone).
    SourceAddress(bool),
    /// The data plane saw another MAC claim `addr` on the segment: a gratuitous ARP, an ARP
    /// reply or request with `addr` as sender, an NA for `addr`, or an answer to a
    /// [`crate::Command::Probe`]. The data plane leaves out frames from the router's own MACs
    /// (its interface's, or its virtual MAC). An Active router that holds `addr` counts it
    /// ([`crate::Stats::address_conflicts`]) and re-announces `addr` at once, at most once per
    /// address per [`crate::AnnounceConfig::lower_prio_min_gap`], with an
    /// [`crate::Event::AddressConflict`]; otherwise it is ignored.
    AddressConflict {
        /// The claimed address.
        addr: IpAddr,
        /// The claimant's MAC.
        mac: [u8; 6],
    },
    /// A command from this router's sync group (sent by [`crate::Node`]).
    Sync(SyncCommand),
    /// Maintenance on or off. On: an Active leaves gracefully (priority-0 advert, so a Backup
    /// takes over after its Skew_Time, R14) and the router stays Backup, watching the Active,
    /// never becoming Active (not by preemption, a silent Active, its sync group, nor as the
    /// owner) until maintenance is off again; then it behaves as configured.
    Maintenance(bool),
    /// Re-announce every address now (gratuitous ARP / unsolicited NA), a burst as at
    /// takeover (`vrrpctl garp`); ignored unless Active.
    Announce,
    /// The wall clock (UTC) read at this input's `now`. The router keeps the offset and
    /// derives the wall-clock time of later inputs from their `now`, for the `auth_hmac`
    /// sequences it sends and the freshness of those it receives
    /// ([`crate::RouterConfig::auth_hmac`]). Feed it at startup and whenever the clock may
    /// have stepped (the driver can feed it with every input; it is cheap). Before the first
    /// one, the router counts from the Unix epoch, so with `anti_replay time` its adverts are
    /// stale to peers and theirs stale to it.
    WallClock(WallClock),
}

/// What a sync group asks of a member (see [`crate::Node`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SyncCommand {
    /// Become Active with the group (from Backup).
    BecomeActive {
        /// The group.
        group: Arc<str>,
        /// The member that went first.
        member: Arc<str>,
    },
    /// Become Backup with the group (from Active).
    BecomeBackup {
        /// The group.
        group: Arc<str>,
        /// The member that went first.
        member: Arc<str>,
    },
    /// Set or clear the Fault imposed by another member's Fault.
    Fault {
        /// The group.
        group: Arc<str>,
        /// The faulty member, or `None` when no member is faulty any more.
        member: Option<Arc<str>>,
    },
}
