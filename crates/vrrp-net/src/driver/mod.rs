//! The tokio driver: runs any number of vrrp-core routers on this host's interfaces.
//!
//! One task owns a [`vrrp_core::Node`] and every kernel resource: one raw VRRP socket per
//! (interface, family) shared by all routers on it and demultiplexed by VRID, one send-only
//! AF_PACKET socket for announcements, a netlink handle and a link/address watcher. It sleeps
//! until the earliest of the routers' deadlines ([`vrrp_core::Router::poll_timeout`]), a packet,
//! a netlink event or a command: no per-router task, no busy polling. The deadline is a
//! timerfd (microseconds), not tokio's millisecond timer.
//!
//! Embedding: [`start`] returns a [`Handle`] to subscribe to [`Event`]s (every state change
//! with its reason), read [`vrrp_core::Status`], change tracked objects and priorities, and
//! [`Handle::shutdown`] (priority-0 adverts, addresses removed).
//!
//! # Reconfiguration (reload)
//!
//! A running driver can be changed without a restart:
//!
//! * [`Handle::reconfigure`] applies a new [`InstanceSpec`] to a running instance with
//!   [`vrrp_core::Router::reconfigure`]: the state, timers and statistics are kept, the VIP list
//!   is diffed (an Active removes the dropped addresses and adds and announces the new ones;
//!   unchanged addresses are not touched), trackers identical to a current one keep their
//!   state. The interface, the VMAC settings, the unicast/multicast choice, the VRID and the
//!   family cannot change this way (remove and add the instance instead).
//! * [`Handle::add_instance`] builds a new instance (sockets, VMAC) and starts it as at
//!   [`start`]; it returns the new instance's index.
//! * [`Handle::remove_instance`] stops one instance (priority-0 advert and VIPs released if it
//!   was Active, VMAC deleted). **Indexes are stable**: a removed instance leaves a dead slot,
//!   which keeps its index (never reused), reports [`State::Initialize`] in
//!   [`Handle::status`] and ignores inputs; new instances get the next index.
//! * [`Handle::set_sync_groups`] replaces the sync groups.
//!
//! Tracker ids given to [`Handle::set_tracker`] are always the positions in the instance's
//! current [`InstanceSpec::trackers`]; the driver maps them to the router's own trackers.
//!
//! # Accept_Mode
//!
//! While a router is Active with `accept_mode` false and is not the address owner, its VIPs
//! are listed in one nftables table per driver ([`Handle::accept_table`], see [`crate::nft`])
//! that drops packets addressed to them (IPv6 ND excepted). The table is extended *before* a
//! VIP is added and shrunk *after* it is removed; it is deleted when no router needs it, on
//! shutdown, and (best effort) when the driver is dropped. If any instance needs it, [`start`]
//! first checks that `nft` is installed ([`DriverConfig::nft_program`], looked up without
//! running it) and fails clearly otherwise. The table is first written with the routers'
//! first actions, after their first adverts (which never wait for `nft`) and, as every
//! update, before any VIP is added; it then holds the VIPs of every filtered router, so a
//! later takeover does not run `nft`. If `nft` fails then (no `CAP_NET_ADMIN`, no
//! nf_tables), the error is logged and the update retried at the next change, as any failed
//! update.
//!
//! # Virtual MAC ([`InstanceSpec::vmac`], keepalived `use_vmac`)
//!
//! At start the driver creates a macvlan on the instance's interface with the virtual MAC
//! 00:00:5e:00:01:VRID (IPv6: 00:00:5e:00:02:VRID), `addrgenmode none`, keepalived's
//! sysctls ([`crate::sysctl::vmac_settings`], restored on exit), and deletes it on shutdown,
//! on start errors and (blocking netlink) on drop. VIPs are installed on it and gratuitous
//! ARPs / NAs leave from it with the VMAC as source. Adverts leave from a socket bound to it
//! (source MAC = VMAC, RFC 9568 §7.2) with the *parent's* primary IPv4 or IPv6 link-local as
//! the IP source.
//!
//! * **P5 / tie-break**: the IPv6 source is the parent's link-local (sent with
//!   `IPV6_FREEBIND`), never an address of the macvlan: a VMAC-derived EUI-64 link-local is the
//!   same on every router (the tie-break fails, both go Active) and a random one changes on
//!   every restart and must first pass DAD. The macvlan has no link-local of its own at all
//!   (`addrgenmode none`), so a Backup's VMAC never transmits (no DAD, MLD or RS with the
//!   shared MAC that would pull the switch's FDB entry away from the Active).
//! * **Receive**: in [`MacvlanMode::Private`] (the default, as keepalived) the kernel hands a
//!   multicast frame whose source MAC is the local VMAC (a peer's advert, sent from the same
//!   virtual MAC) to the macvlan only, never to the parent, while frames from other sources
//!   reach both. Private-mode routers therefore receive their adverts on the VMAC's own socket
//!   (joined to the group), which sees every advert exactly once. In
//!   [`MacvlanMode::Bridge`]/[`MacvlanMode::Vepa`], and with unicast peers, adverts are
//!   received on the parent's socket as without a VMAC.
//! * **Unicast peers**: adverts are sent from the parent (keepalived's `vmac_xmit_base`): a
//!   peer with its own private VMAC would swallow our ARP requests sent from the same MAC.
//!
//! # Discarded adverts
//!
//! Every advert a router discards is logged at TRACE ("advert discarded", with the reason).
//! Those that point at a misconfiguration or a misbehaving peer (a router's policy said no:
//! version, authentication, TTL, unicast/multicast mismatch, ...; or the codec rejected a
//! packet addressed to one of our VRIDs) are also logged at WARN ("adverts discarded"), at
//! most once per minute per instance and reason, with the `count` of discards suppressed
//! since the previous warning (RFC 9568: "MUST discard, SHOULD log", rate-limited). Loops of
//! our own adverts, adverts while not running and VRRPv2 adverts of a router that also sends
//! VRRPv3 (normal in v2/v3 mode) stay at TRACE.
//!
//! # Modules
//!
//! | Module | What it holds |
//! |---|---|
//! | `config` | The public specifications: [`DriverConfig`], [`InstanceSpec`], [`VmacSpec`]. |
//! | `handle` | [`Handle`] and the commands it sends to the driver task. |
//! | this one | [`start`], [`Event`] and the driver's state. |
//! | `event_loop` | The task: the select loop, action execution, link and address events. |
//! | `instance` | Building one instance: its router, where it lives (`Placement`), its sockets. |
//! | `sockets` | The shared raw VRRP sockets and their reader tasks. |
//! | `adverts` | Adverts out (encode, send) and in (parse, demultiplex, hand to the router). |
//! | `discards` | The rate limit of the warnings about discarded adverts. |
//! | `vips` | VIP add/remove, leases, leftovers of earlier runs, the set of VIPs we own. |
//! | `vmac` | The VMAC macvlan of an instance: creation, sysctls, advert routing, deletion. |
//! | `accept` | Accept_Mode: the VIPs the nftables table must hold, and keeping it in sync. |
//! | `announce` | Gratuitous ARPs and unsolicited NAs, paced per interface. |
//! | `reconfig` | Reconfiguration, adding and removing instances, sync groups. |
//! | `cleanup` | The kernel state to undo on exit (VMACs, sysctls, the nftables table). |
//!
//! [`MacvlanMode::Private`]: crate::netlink::MacvlanMode::Private
//! [`MacvlanMode::Bridge`]: crate::netlink::MacvlanMode::Bridge
//! [`MacvlanMode::Vepa`]: crate::netlink::MacvlanMode::Vepa

mod accept;
mod adverts;
mod announce;
mod cleanup;
mod config;
mod discards;
mod event_loop;
mod handle;
mod instance;
mod reconfig;
mod sockets;
mod timer;
mod vips;
mod vmac;

use std::collections::HashMap;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;

use tokio::sync::{broadcast, mpsc};
use tokio::time::Instant as TokioInstant;
use vrrp_core::packet::Family;
use vrrp_core::{Action, Node, Reason, RouterId, State};

use crate::error::Result;
use crate::netlink::Netlink;
use crate::watch::Watcher;
use crate::AnnounceSocket;

use accept::AcceptMode;
use announce::Announcer;
use cleanup::Cleanup;
use discards::DiscardLog;
use instance::{Parts, Placement};
use sockets::SocketSet;
use vips::VipBook;

pub use config::{DriverConfig, InstanceSpec, VmacSpec, DEFAULT_LABEL_SUFFIX};
pub use handle::Handle;

/// Something that happened, for subscribers.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Event {
    /// A router changed state.
    StateChanged {
        /// Index of the instance in [`DriverConfig::instances`].
        instance: usize,
        /// Instance name.
        name: Arc<str>,
        /// Previous state.
        from: State,
        /// New state.
        to: State,
        /// Why.
        reason: Reason,
        /// The router's effective priority when the driver reported the change (what a
        /// notify script is given), so that a listener need not ask for [`Handle::status`].
        priority: u8,
    },
    /// A router's effective priority changed.
    PriorityChanged {
        /// Instance index.
        instance: usize,
        /// Instance name.
        name: Arc<str>,
        /// Previous priority.
        from: u8,
        /// New priority.
        to: u8,
        /// Why.
        cause: vrrp_core::Cause,
    },
}

/// Distinguishes the accept-mode tables of several drivers in one process.
static DRIVER_SEQ: AtomicU32 = AtomicU32::new(0);

/// Starts the driver on the current tokio runtime (current-thread is fine). Fails if an
/// interface is missing, a socket cannot be opened (permission), a VMAC cannot be created,
/// `nft` is not installed while an instance needs Accept_Mode enforcement, or a config is
/// invalid; whatever was created before the failure is removed again.
pub async fn start(cfg: DriverConfig) -> Result<Handle> {
    let seq = DRIVER_SEQ.fetch_add(1, Ordering::Relaxed);
    let table_id = format!("drv{}_{seq}", std::process::id());
    if cfg.instances.iter().any(InstanceSpec::needs_accept_filter) {
        accept::find_nft(&cfg.nft_program, &table_id)?;
    }
    let netlink = Netlink::new()?;
    let mut cleanup = Cleanup::default();
    let started = async {
        // The watcher subscribes before any interface is looked up, so that no link change
        // after a lookup goes unreported.
        let watcher = Watcher::new().await?;
        let parts = instance::setup(&cfg, &netlink, &mut cleanup).await?;
        let announce = AnnounceSocket::open()?;
        Ok((parts, watcher, announce))
    };
    let (parts, watcher, announce) = match started.await {
        Ok(started) => started,
        Err(e) => {
            cleanup.release(&netlink).await;
            return Err(e);
        }
    };
    let Parts {
        node,
        places,
        sockets,
        pkt_rx,
    } = parts;
    let (cmd_tx, cmd_rx) = mpsc::channel(64);
    let (ev_tx, _) = broadcast::channel(1024);
    let accept = AcceptMode::new(&places, cfg.nft_program.clone(), table_id);
    let accept_table = accept.table_name();
    let mut driver = Driver {
        node,
        places,
        sockets,
        netlink,
        announcer: Announcer::new(Arc::new(announce), &cfg),
        vips: VipBook::new(cfg.vip_lease),
        accept,
        cleanup,
        discards: DiscardLog::default(),
        epoch: TokioInstant::now(),
        events: ev_tx.clone(),
        batch: Vec::new(),
        rx_index: HashMap::new(),
    };
    driver.rebuild_rx_index();
    if cfg.remove_leftovers {
        driver.remove_leftovers().await;
    }
    let task = tokio::spawn(driver.run(pkt_rx, cmd_rx, watcher));
    Ok(Handle::new(cmd_tx, ev_tx, task, accept_table))
}

/// The driver task's state: the routers, where each lives, and every kernel resource.
struct Driver {
    /// The routers, indexed by instance (removed ones stay as dead slots).
    node: Node,
    /// Where each router lives, by instance index.
    places: Vec<Placement>,
    /// The raw VRRP sockets and their readers.
    sockets: SocketSet,
    netlink: Netlink,
    /// Gratuitous ARP / unsolicited NA sending.
    announcer: Announcer,
    /// The VIPs this driver installed.
    vips: VipBook,
    /// Accept_Mode enforcement.
    accept: AcceptMode,
    /// Kernel state to undo on exit.
    cleanup: Cleanup,
    /// Rate limit of the discarded-advert warnings.
    discards: DiscardLog,
    /// Time zero of the routers' clock.
    epoch: TokioInstant,
    events: broadcast::Sender<Event>,
    /// Reused buffer of the actions of one input.
    batch: Vec<(RouterId, Action)>,
    /// Which live router a received advert is for: (receiving ifindex, family, VRID). Rebuilt
    /// when instances are added or removed, so a packet costs one lookup, not a scan.
    rx_index: HashMap<(u32, Family, u8), RouterId>,
}

impl Drop for Driver {
    fn drop(&mut self) {
        self.sockets.abort_readers();
    }
}
