//! The tokio driver: runs any number of vrrp-core routers on this host's interfaces.
//!
//! One task owns a [`vrrp_core::Node`] and the host's data plane: one raw VRRP socket per
//! (interface, family) shared by all routers on it and demultiplexed by VRID, one send-only
//! AF_PACKET socket for announcements, a netlink handle and a link/address watcher. It sleeps
//! until the earliest of the routers' deadlines ([`vrrp_core::Node::poll_timeout`]), a packet,
//! a netlink event or a command: no per-router task, no busy polling, and no reader task
//! either: the driver task reads the sockets itself when they are readable. The deadline is a
//! timerfd (microseconds), not tokio's millisecond timer.
//!
//! Embedding: [`start`] returns a [`Handle`] to subscribe to [`Event`]s (every state change
//! with its reason), read [`vrrp_core::Status`], change tracked objects and priorities, and
//! [`Handle::shutdown`] (priority-0 adverts, addresses removed).
//!
//! # What the driver does with a router's outputs
//!
//! After every input the driver drains the node in vrrp-core's order ([`vrrp_core::output`])
//! and carries each output out in that order: adverts first (a takeover's first advert never
//! waits for the kernel), then address changes, a run of consecutive additions pipelined (64
//! netlink requests in flight: a takeover of 1,000 virtual routers places its last VIP
//! milliseconds, not a hundred, after its adverts), then announcements, then events for
//! subscribers. The data plane is behind a trait (`plane::DataPlane`), so this logic is
//! tested from recorded operations without root (`crates/vrrp-net/tests/golden/`).
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
//!   was Active, VMAC deleted). **Indexes are stable**: they are the node's router ids, never
//!   reused; a removed instance is gone from [`Handle::status`] and ignores inputs.
//! * [`Handle::set_sync_groups`] replaces the sync groups.
//!
//! Tracker ids given to [`Handle::set_tracker`] are the positions in the instance's current
//! [`InstanceSpec::trackers`]. Trackers listed in [`InstanceSpec::tracked_interfaces`] are fed
//! by the driver itself from its link watcher.
//!
//! # Accept_Mode
//!
//! While a router is Active with `accept_mode` false and is not the address owner, its VIPs
//! are listed in one nftables table per driver ([`Handle::accept_table`], see [`crate::nft`])
//! that drops packets addressed to them (IPv6 ND excepted). The table holds the VIPs of every
//! such router whatever its state (the rules sit in the input hook, so they only match while
//! this host holds the address), so a takeover never runs `nft`; it is updated when the
//! instances change, growing before any VIP is added and shrinking after VIPs are removed,
//! and deleted on shutdown. If any instance needs it, [`start`] first checks that `nft` is
//! installed ([`DriverConfig::nft_program`], looked up without running it) and fails clearly
//! otherwise. The table is first written after the routers' first adverts (which never wait
//! for `nft`) and before any VIP is added. If `nft` fails then (no `CAP_NET_ADMIN`, no
//! nf_tables), the error is logged and the update retried at the next change.
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
//! # Address conflicts
//!
//! While a router is Active, the interfaces its addresses are probed from are watched for
//! other hosts' claims of them (gratuitous ARPs, ARP replies and requests, NAs, filtered in
//! the kernel: [`crate::conflict`]); a claim from a MAC not the router's own goes to the
//! router as [`vrrp_core::Input::AddressConflict`], which re-announces the address at once
//! (rate-limited) and is logged at WARN ("address conflict", with `instance`, `vrid`,
//! `family`, `address`, `mac`; per address at once, then at most every 10 s with the count
//! `suppressed`). The router's [`vrrp_core::Command::Probe`]s leave from the
//! same interface with its own MAC. See docs/decisions/0007-conflict-detection.md.
//!
//! # Logs
//!
//! Each instance has a span (`instance`, `vrid`, `family`, `interface`) that its log lines
//! carry. The driver logs state changes at DEBUG: the embedding program reports them (vrrpd
//! in keepalived's words), so each change is one line at INFO.
//!
//! # Modules
//!
//! | Module | What it holds |
//! |---|---|
//! | `config` | The public specifications: [`DriverConfig`], [`InstanceSpec`], [`VmacSpec`]. |
//! | `handle` | [`Handle`] and the commands it sends to the driver task. |
//! | `plane` | The data-plane trait: every operation on the host. |
//! | `linux` | Its Linux implementation: sockets, netlink, watcher, AF_PACKET, sysctls, nft. |
//! | this one | [`start`], [`Event`] and the driver's state. |
//! | `event_loop` | The task: the select loop, link and address events, commands. |
//! | `execute` | Carrying out the routers' outputs in order. |
//! | `instance` | Building one instance: its router, where it lives (`Placement`), its sockets. |
//! | `adverts` | Adverts out (send) and in (parse, demultiplex, hand to the router). |
//! | `conflicts` | Address conflicts: the claim watches, claims served, probes, the warning. |
//! | `discards` | The rate limit of the warnings about discarded adverts. |
//! | `vips` | VIP add/remove, leases, leftovers of earlier runs, the set of VIPs we own. |
//! | `vmac` | The VMAC macvlan of an instance: creation, sysctls, advert routing, deletion. |
//! | `accept` | Accept_Mode: the VIPs the nftables table must hold, and keeping it in sync. |
//! | `reconfig` | Reconfiguration, adding and removing instances, sync groups. |
//! | `timer` | The deadline timer (timerfd). |
//!
//! [`MacvlanMode::Private`]: crate::netlink::MacvlanMode::Private
//! [`MacvlanMode::Bridge`]: crate::netlink::MacvlanMode::Bridge
//! [`MacvlanMode::Vepa`]: crate::netlink::MacvlanMode::Vepa

mod accept;
mod adverts;
mod config;
mod conflicts;
mod discards;
mod event_loop;
mod execute;
mod handle;
mod instance;
mod linux;
mod plane;
mod reconfig;
#[cfg(test)]
mod recording;
mod routes;
mod timer;
mod vips;
mod vmac;

use std::collections::HashMap;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;
use std::time::SystemTime;

use tokio::sync::{broadcast, mpsc};
use vrrp_core::packet::Family;
use vrrp_core::{Command, Input, Node, Notice, Reason, RouterId, State};

use crate::error::Result;
use crate::socket::RECV_BUFFER_SIZE;

use accept::AcceptMode;
use discards::DiscardLog;
use instance::Placement;
use linux::LinuxPlane;
use plane::DataPlane;
use vips::VipBook;

pub use config::{DriverConfig, InstanceSpec, VmacSpec, DEFAULT_LABEL_SUFFIX};
pub use handle::{DriverStatus, GroupStatus, Handle, InstanceStatus};

/// Something that happened, for subscribers.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Event {
    /// A router changed state.
    StateChanged {
        /// The instance's index (see [`Handle::add_instance`]).
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
        /// The router's state when it changed.
        state: State,
    },
    /// A sync group's state changed (see [`vrrp_core::Node::sync_group_state`]).
    GroupStateChanged {
        /// The group.
        group: Arc<str>,
        /// Its previous state.
        from: State,
        /// Its new state.
        to: State,
    },
    /// As Active, a router heard an advert with a lower priority than its own (keepalived's
    /// `notify_master_rx_lower_pri`).
    LowerPriorityAdvert {
        /// Instance index.
        instance: usize,
        /// Instance name.
        name: Arc<str>,
        /// The sender.
        from: std::net::IpAddr,
        /// Its priority.
        their_priority: u8,
        /// Our effective priority.
        priority: u8,
    },
    /// A router noticed something worth logging (rate-limited by the router).
    Notice {
        /// Instance index.
        instance: usize,
        /// Instance name.
        name: Arc<str>,
        /// What.
        notice: Notice,
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
    let plane = LinuxPlane::open(&cfg, table_id.clone()).await?;
    let (ev_tx, _) = broadcast::channel(1024);
    let mut driver = Driver::new(plane, &cfg, ev_tx.clone(), table_id);
    if let Err(e) = driver.setup(&cfg).await {
        driver.plane.release().await;
        return Err(e);
    }
    if cfg.remove_leftovers {
        driver.remove_leftovers().await;
    }
    let accept_table = driver.accept.table_name();
    let (cmd_tx, cmd_rx) = mpsc::channel(64);
    let task = tokio::spawn(driver.run(cmd_rx));
    Ok(Handle::new(cmd_tx, ev_tx, task, accept_table))
}

/// The driver's state: the routers, where each lives, and the data plane.
struct Driver<D> {
    node: Node,
    /// Where each router lives, by router id (`None` once removed).
    places: Vec<Option<Placement>>,
    plane: D,
    /// The VIPs this driver installed.
    vips: VipBook,
    /// Accept_Mode enforcement.
    accept: AcceptMode,
    /// Rate limit of the discarded-advert warnings.
    discards: DiscardLog,
    /// The addresses of the Active routers, by the interface watched for their claims.
    claims: conflicts::ClaimIndex,
    /// States or instances changed: the claim watches are brought up to date after the pass.
    claims_dirty: bool,
    /// Rate limit of the address-conflict warnings, per (instance, address).
    conflict_log: discards::WarnLog<std::net::IpAddr>,
    events: broadcast::Sender<Event>,
    /// Which live router a received advert is for: (receiving ifindex, family, VRID). Rebuilt
    /// when instances are added or removed, so a packet costs one lookup, not a scan.
    rx_index: HashMap<(u32, Family, u8), RouterId>,
    /// Reused buffer of the adverts written by the node.
    tx_buf: Vec<u8>,
    /// Reused receive buffer.
    rx_buf: Box<[u8]>,
    /// Reused list of the commands of one pass.
    commands: Vec<(RouterId, Command)>,
    /// The static addresses, routes and rules installed at start.
    statics: routes::Statics,
    /// How long the routers wait before they start (`vrrp_startup_delay`).
    startup_delay: std::time::Duration,
    /// The prefix of default VMAC names.
    vmac_prefix: String,
    /// Log adverts for unknown VRIDs (`log_unknown_vrids`).
    log_unknown_vrids: bool,
    /// When each router entered its current state, on the wall clock as read when the
    /// change was reported (so that every status reports the same time, as keepalived's
    /// `last_transition`).
    entered: HashMap<RouterId, SystemTime>,
    /// When every router last got the wall clock ([`Driver::feed_wall_clock`]).
    wall_fed: Option<vrrp_core::Instant>,
}

impl<D: DataPlane> Driver<D> {
    /// A driver with no instances yet on `plane`.
    fn new(
        plane: D,
        cfg: &DriverConfig,
        events: broadcast::Sender<Event>,
        table_id: String,
    ) -> Self {
        Driver {
            node: Node::new(),
            places: Vec::new(),
            plane,
            vips: VipBook::new(cfg.vip_lease),
            accept: AcceptMode::new(cfg.nft_program.clone(), table_id),
            discards: DiscardLog::default(),
            claims: conflicts::ClaimIndex::new(),
            claims_dirty: false,
            conflict_log: discards::WarnLog::new(conflicts::CONFLICT_WARN_INTERVAL),
            events,
            rx_index: HashMap::new(),
            tx_buf: Vec::with_capacity(64),
            rx_buf: vec![0u8; RECV_BUFFER_SIZE].into_boxed_slice(),
            commands: Vec::new(),
            statics: routes::Statics::default(),
            startup_delay: cfg.startup_delay,
            vmac_prefix: cfg.vmac_prefix.clone(),
            log_unknown_vrids: cfg.log_unknown_vrids,
            entered: HashMap::new(),
            wall_fed: None,
        }
    }

    /// The routers' clock.
    fn now(&self) -> vrrp_core::Instant {
        self.plane.now()
    }

    /// Gives every router the wall clock ([`vrrp_core::Input::WallClock`], for `auth_hmac`)
    /// when it last did more than [`WALL_CLOCK_REFRESH`] ago, or with `force`: the routers
    /// follow a step of the clock within that time.
    fn feed_wall_clock(&mut self, now: vrrp_core::Instant, force: bool) {
        let due = self
            .wall_fed
            .is_none_or(|t| now.saturating_since(t) >= WALL_CLOCK_REFRESH);
        if force || due {
            self.wall_fed = Some(now);
            let wall = self.plane.wall_clock();
            self.node.handle_all(now, Input::WallClock(wall));
        }
    }

    /// The placement of a live router.
    fn place(&self, id: RouterId) -> Option<&Placement> {
        self.places.get(id.0).and_then(Option::as_ref)
    }

    /// Router instant `t` on the wall clock, against one reading of both clocks now.
    fn wall_time(&self, t: vrrp_core::Instant) -> SystemTime {
        wall_time_at(t, self.now(), SystemTime::now())
    }

    /// Records when router `id` entered its current state (see `entered`).
    fn record_state_change(&mut self, id: RouterId) {
        if let Some(since) = self.node.get(id).and_then(|r| r.status().since) {
            let at = self.wall_time(since);
            self.entered.insert(id, at);
        }
    }

    /// A status snapshot. The state-entry times are those recorded at each change; the
    /// deadlines are put on the wall clock against one reading of both clocks.
    fn status(&self) -> DriverStatus {
        let (now, wall_now) = (self.now(), SystemTime::now());
        let wall = |t: vrrp_core::Instant| wall_time_at(t, now, wall_now);
        let instances = (self.node.routers())
            .filter_map(|(id, r)| {
                let place = self.place(id)?;
                let router = r.status();
                Some(InstanceStatus {
                    index: id.0,
                    interface: place.ifname.clone(),
                    vip_interface: place.vip_ifname.clone(),
                    since: (self.entered.get(&id).copied()).or_else(|| router.since.map(wall)),
                    next_timeout: r.poll_timeout().map(wall),
                    own_fault: r.has_own_fault(),
                    installed_vips: (place.vips.iter())
                        .filter(|v| self.vips.owns(place.vip_ifindex, v.addr))
                        .map(|v| v.addr)
                        .collect(),
                    router,
                })
            })
            .collect();
        let sync_groups = (self.node.sync_groups().iter())
            .map(|g| GroupStatus {
                name: g.name.clone(),
                members: g.members.iter().map(|m| m.0).collect(),
                state: g.state,
            })
            .collect();
        DriverStatus {
            instances,
            sync_groups,
        }
    }

    /// The live routers' placements, with their ids.
    fn live_places(&self) -> impl Iterator<Item = (RouterId, &Placement)> {
        (self.places.iter().enumerate()).filter_map(|(i, p)| p.as_ref().map(|p| (RouterId(i), p)))
    }
}

/// How often the driver reads the wall clock for the routers at most (see
/// [`Driver::feed_wall_clock`]).
const WALL_CLOCK_REFRESH: vrrp_core::Duration = vrrp_core::Duration::from_secs(1);

/// Router instant `t` on the wall clock, given one reading of both: `now` and `wall_now`.
fn wall_time_at(
    t: vrrp_core::Instant,
    now: vrrp_core::Instant,
    wall_now: SystemTime,
) -> SystemTime {
    let ago = std::time::Duration::from(now.saturating_since(t));
    let ahead = std::time::Duration::from(t.saturating_since(now));
    (wall_now.checked_sub(ago))
        .and_then(|w| w.checked_add(ahead))
        .unwrap_or(wall_now)
}
