//! The tokio driver: runs any number of vrrp-core routers on this host's interfaces.
//!
//! One task owns a [`vrrp_core::Node`] and every kernel resource: one raw VRRP socket per
//! (interface, family) shared by all routers on it and demultiplexed by VRID, one send-only
//! AF_PACKET socket for announcements, a netlink handle and a link/address watcher. It sleeps
//! until the earliest of the routers' deadlines ([`vrrp_core::Router::poll_timeout`]), a packet,
//! a netlink event or a command: no per-router task, no busy polling.
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
//! first checks that `nft` runs ([`DriverConfig::nft_program`]) and fails clearly otherwise.
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

use std::collections::{BTreeSet, HashMap, HashSet};
use std::net::IpAddr;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;
use std::time::Duration as StdDuration;

use tokio::sync::{broadcast, mpsc, oneshot};
use tokio::task::JoinHandle;
use tokio::time::Instant as TokioInstant;
use vrrp_core::packet::{self, Family, RxMeta};
use vrrp_core::{
    Action, Input, Node, Reason, Router, RouterConfig, RouterId, State, Status, TrackState,
    Tracker, TrackerId,
};

use crate::announce::{build_garp, build_unsolicited_na, GarpForm, Pacer};
use crate::error::{Error, Result};
use crate::netlink::{
    AddressInfo, InterfaceInfo, MacvlanMode, Netlink, VipSpec, VmacAddrGen, VmacFamily,
};
use crate::nft::AcceptModeFilter;
use crate::socket::{OpenOptions, VrrpSocket};
use crate::sysctl;
use crate::watch::{AddrEvent, LinkEvent, NetEvent, Watcher};
use crate::AnnounceSocket;

/// Label prefix that marks IPv4 VIPs installed by the driver when no label is configured.
pub const DEFAULT_LABEL_SUFFIX: &str = "vrrp";

/// One virtual router to run.
#[derive(Clone, Debug)]
pub struct InstanceSpec {
    /// The protocol configuration. An unspecified `primary_addr` (0.0.0.0 or ::) is replaced
    /// by the interface's primary IPv4 address or IPv6 link-local at start.
    pub router: RouterConfig,
    /// Interface the router runs on.
    pub interface: String,
    /// Data-plane options of each virtual address, in the order of `router.vips`. Missing
    /// entries get a host prefix (/32, /128 for IPv6 non-link-local, /64 for link-local).
    pub vips: Vec<VipSpec>,
    /// Tracked objects, in registration order (their ids are 0, 1, ...).
    pub trackers: Vec<Tracker>,
    /// Run with a virtual MAC macvlan (keepalived `use_vmac`); `None`: the interface's MAC.
    pub vmac: Option<VmacSpec>,
}

impl InstanceSpec {
    /// An instance on `interface` with default VIP options, no trackers and no VMAC.
    pub fn new(router: RouterConfig, interface: impl Into<String>) -> Self {
        InstanceSpec {
            router,
            interface: interface.into(),
            vips: Vec::new(),
            trackers: Vec::new(),
            vmac: None,
        }
    }

    /// Whether the driver must enforce Accept_Mode for this instance (drop traffic to its
    /// VIPs while Active): `accept_mode` off and not the address owner.
    pub fn needs_accept_filter(&self) -> bool {
        !self.router.accept_mode && !self.router.is_owner()
    }
}

/// The virtual MAC macvlan of one instance (keepalived `use_vmac`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct VmacSpec {
    /// Device name; `None`: keepalived's `vrrp.<VRID>` (IPv6 instances: `vrrp6.<VRID>`).
    /// Two instances with one VRID on different interfaces need explicit names.
    pub name: Option<String>,
    /// Macvlan mode: [`MacvlanMode::Private`] by default, as keepalived.
    pub mode: MacvlanMode,
}

impl VmacSpec {
    /// keepalived's defaults: generated name, private mode.
    pub fn new() -> Self {
        VmacSpec::default()
    }

    /// Sets the device name (at most 15 bytes).
    pub fn named(mut self, name: impl Into<String>) -> Self {
        self.name = Some(name.into());
        self
    }

    /// Sets the macvlan mode.
    pub fn with_mode(mut self, mode: MacvlanMode) -> Self {
        self.mode = mode;
        self
    }

    /// The device name for a router with `vrid` of `family`.
    pub fn ifname(&self, vrid: u8, family: Family) -> String {
        match (&self.name, family) {
            (Some(n), _) => n.clone(),
            (None, Family::V4) => format!("vrrp.{vrid}"),
            (None, Family::V6) => format!("vrrp6.{vrid}"),
        }
    }
}

/// Settings shared by every router of a driver.
#[derive(Clone, Debug)]
pub struct DriverConfig {
    /// The routers.
    pub instances: Vec<InstanceSpec>,
    /// Sync groups: a name and member indexes into `instances`.
    pub sync_groups: Vec<(String, Vec<usize>)>,
    /// Minimum spacing of gratuitous ARPs per interface (keepalived `garp_interval`).
    pub garp_interval: StdDuration,
    /// Minimum spacing of unsolicited NAs per interface (keepalived `gna_interval`).
    pub gna_interval: StdDuration,
    /// Gratuitous ARP form.
    pub garp_form: GarpForm,
    /// Install VIPs with this kernel lifetime, renewed while Active, so that a crashed
    /// daemon's VIPs disappear by themselves (`None`: permanent, as keepalived).
    pub vip_lease: Option<StdDuration>,
    /// Remove VIPs an earlier run left behind on the configured interfaces at start.
    pub remove_leftovers: bool,
    /// The `nft` program used for Accept_Mode enforcement (a path, or a name looked up in
    /// `PATH`; default `nft`). Only run when an instance has `accept_mode` off.
    pub nft_program: PathBuf,
}

impl DriverConfig {
    /// A config for `instances` with keepalived's defaults (no pacing, no lease).
    pub fn new(instances: Vec<InstanceSpec>) -> Self {
        DriverConfig {
            instances,
            sync_groups: Vec::new(),
            garp_interval: StdDuration::ZERO,
            gna_interval: StdDuration::ZERO,
            garp_form: GarpForm::default(),
            vip_lease: None,
            remove_leftovers: true,
            nft_program: PathBuf::from(crate::nft::NFT),
        }
    }
}

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

enum Command {
    Status(oneshot::Sender<Vec<Status>>),
    Input(usize, Input),
    Shutdown(oneshot::Sender<()>),
    Reconfigure(usize, Box<InstanceSpec>, oneshot::Sender<Result<()>>),
    AddInstance(Box<InstanceSpec>, oneshot::Sender<Result<usize>>),
    RemoveInstance(usize, oneshot::Sender<Result<()>>),
    SyncGroups(Vec<(String, Vec<usize>)>, oneshot::Sender<Result<()>>),
}

/// A running driver.
#[derive(Debug)]
pub struct Handle {
    commands: mpsc::Sender<Command>,
    events: broadcast::Sender<Event>,
    task: JoinHandle<Result<()>>,
    accept_table: String,
}

impl std::fmt::Debug for Command {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Command")
    }
}

impl Handle {
    /// The name of this driver's Accept_Mode nftables table (`inet <name>`); it exists only
    /// while some Active router has `accept_mode` off.
    pub fn accept_table(&self) -> &str {
        &self.accept_table
    }

    /// Subscribes to events (state and priority changes).
    pub fn subscribe(&self) -> broadcast::Receiver<Event> {
        self.events.subscribe()
    }

    /// A status snapshot of every router, in instance order.
    pub async fn status(&self) -> Result<Vec<Status>> {
        let (tx, rx) = oneshot::channel();
        self.send(Command::Status(tx)).await?;
        rx.await.map_err(|_| stopped())
    }

    /// Reports a tracked object's state to one instance; `id` is the tracker's position in
    /// the instance's current [`InstanceSpec::trackers`].
    pub async fn set_tracker(
        &self,
        instance: usize,
        id: TrackerId,
        state: TrackState,
    ) -> Result<()> {
        self.send(Command::Input(instance, Input::Tracker(id, state)))
            .await
    }

    /// Changes an instance's base priority at runtime.
    pub async fn set_priority(&self, instance: usize, priority: u8) -> Result<()> {
        self.send(Command::Input(instance, Input::SetPriority(priority)))
            .await
    }

    /// Feeds any other input to an instance.
    pub async fn input(&self, instance: usize, input: Input) -> Result<()> {
        self.send(Command::Input(instance, input)).await
    }

    /// Applies a new specification to a running instance, keeping its state (see the module
    /// documentation, "Reconfiguration"). Returns once the resulting actions (VIPs removed,
    /// added and announced) are carried out. Fails, changing nothing, if the instance does not
    /// exist or was removed, if the interface, VMAC, unicast/multicast choice, VRID or family
    /// differ from the running ones, or if the router configuration is invalid.
    pub async fn reconfigure(&self, instance: usize, spec: InstanceSpec) -> Result<()> {
        let (tx, rx) = oneshot::channel();
        self.send(Command::Reconfigure(instance, Box::new(spec), tx))
            .await?;
        rx.await.map_err(|_| stopped())?
    }

    /// Adds and starts an instance (Initialize, then Backup, or Active for the address owner),
    /// as [`start`] does. Returns its index, used by every other call and in [`Event`]s. On
    /// failure whatever was created for it (VMAC) is removed again.
    pub async fn add_instance(&self, spec: InstanceSpec) -> Result<usize> {
        let (tx, rx) = oneshot::channel();
        self.send(Command::AddInstance(Box::new(spec), tx)).await?;
        rx.await.map_err(|_| stopped())?
    }

    /// Stops an instance for good: an Active sends priority 0 and releases its VIPs, the
    /// instance leaves its sync group and its VMAC is deleted. Returns once that is done. The
    /// index stays allocated (a dead slot; see the module documentation).
    pub async fn remove_instance(&self, instance: usize) -> Result<()> {
        let (tx, rx) = oneshot::channel();
        self.send(Command::RemoveInstance(instance, tx)).await?;
        rx.await.map_err(|_| stopped())?
    }

    /// Replaces every sync group: names and member indexes (see
    /// [`vrrp_core::Node::set_sync_groups`]). Fails if a member does not exist or was removed.
    pub async fn set_sync_groups(&self, groups: Vec<(String, Vec<usize>)>) -> Result<()> {
        let (tx, rx) = oneshot::channel();
        self.send(Command::SyncGroups(groups, tx)).await?;
        rx.await.map_err(|_| stopped())?
    }

    /// Stops every router (priority-0 adverts from Actives, VIPs removed) and waits for the
    /// driver to finish.
    pub async fn shutdown(self) -> Result<()> {
        let (tx, rx) = oneshot::channel();
        if self.commands.send(Command::Shutdown(tx)).await.is_ok() {
            let _ = rx.await;
        }
        self.task.await.map_err(|e| Error::Invalid {
            context: "driver task".into(),
            message: e.to_string(),
        })?
    }

    async fn send(&self, cmd: Command) -> Result<()> {
        self.commands.send(cmd).await.map_err(|_| stopped())
    }
}

fn stopped() -> Error {
    Error::Invalid {
        context: "driver".into(),
        message: "the driver has stopped".into(),
    }
}

/// Where one router lives.
struct Placement {
    /// The configured (parent) interface: link state, primary address.
    ifindex: u32,
    /// Its name, for logs.
    ifname: Arc<str>,
    /// Where the VIPs live and announcements leave: the VMAC, or the interface.
    vip_ifindex: u32,
    /// Source MAC of announcements (the VMAC, or the interface's MAC).
    mac: [u8; 6],
    /// Interface whose socket sends this router's adverts.
    tx_ifindex: u32,
    /// Interface whose socket receives this router's adverts.
    rx_ifindex: u32,
    /// The VMAC's ifindex, if any.
    vmac: Option<u32>,
    /// Accept_Mode enforcement needed while Active.
    filtered: bool,
    vips: HashMap<IpAddr, VipSpec>,
    /// The configured interface name, VMAC and unicast choice, which a reconfiguration must
    /// keep.
    spec_interface: String,
    vmac_spec: Option<VmacSpec>,
    unicast: bool,
    /// The router's tracker id for each position of the spec's trackers.
    trackers: Vec<TrackerId>,
    /// Removed ([`Handle::remove_instance`]): a dead slot.
    removed: bool,
}

/// Kernel state the driver created and must undo: VMACs, sysctls, the nftables table.
/// Released explicitly ([`Cleanup::release`]) on shutdown and start errors; `Drop` is the
/// blocking fallback (panic, runtime dropped without shutdown).
#[derive(Debug, Default)]
struct Cleanup {
    vmacs: Vec<(u32, String)>,
    sysctls: Vec<sysctl::Setting>,
    filter: Option<AcceptModeFilter>,
}

impl Cleanup {
    async fn release(&mut self, netlink: &Netlink) {
        if let Some(f) = self.filter.take() {
            let table = f.table().to_string();
            if let Err(e) = f.remove() {
                tracing::warn!(%table, error = %e, "accept-mode table not removed");
            }
        }
        sysctl::restore(&std::mem::take(&mut self.sysctls));
        for (ifindex, name) in std::mem::take(&mut self.vmacs) {
            match netlink.delete_link(ifindex).await {
                Ok(()) | Err(Error::InterfaceNotFound(_)) => {}
                Err(e) => tracing::warn!(interface = %name, error = %e, "VMAC not deleted"),
            }
        }
    }
}

impl Drop for Cleanup {
    fn drop(&mut self) {
        // The filter removes its table in its own Drop.
        sysctl::restore(&std::mem::take(&mut self.sysctls));
        for (ifindex, name) in std::mem::take(&mut self.vmacs) {
            if let Err(e) = crate::netlink::delete_link_blocking(ifindex) {
                tracing::warn!(interface = %name, error = %e, "VMAC not deleted");
            }
        }
    }
}

/// Distinguishes the accept-mode tables of several drivers in one process.
static DRIVER_SEQ: AtomicU32 = AtomicU32::new(0);

struct Packet {
    ifindex: u32,
    meta: RxMeta,
    len: usize,
    buf: [u8; 1500],
}

/// Starts the driver on the current tokio runtime (current-thread is fine). Fails if an
/// interface is missing, a socket cannot be opened (permission), a VMAC cannot be created,
/// `nft` is unusable while an instance needs Accept_Mode enforcement, or a config is
/// invalid; whatever was created before the failure is removed again.
pub async fn start(cfg: DriverConfig) -> Result<Handle> {
    let seq = DRIVER_SEQ.fetch_add(1, Ordering::Relaxed);
    let table_id = format!("drv{}_{seq}", std::process::id());
    let accept_table = crate::nft::table_name(&table_id);
    if cfg.instances.iter().any(InstanceSpec::needs_accept_filter) {
        let program = cfg.nft_program.clone();
        let id = table_id.clone();
        tokio::task::spawn_blocking(move || AcceptModeFilter::probe(&program, &id))
            .await
            .map_err(|e| Error::Invalid {
                context: "checking nft".into(),
                message: e.to_string(),
            })??;
    }
    let netlink = Netlink::new()?;
    let mut cleanup = Cleanup::default();
    let parts = match setup(&cfg, &netlink, &mut cleanup).await {
        Ok(p) => p,
        Err(e) => {
            cleanup.release(&netlink).await;
            return Err(e);
        }
    };
    let Parts {
        node,
        places,
        sockets,
        readers,
        pkt_tx,
        pkt_rx,
    } = parts;
    let watcher = match Watcher::new().await {
        Ok(w) => w,
        Err(e) => {
            cleanup.release(&netlink).await;
            return Err(e);
        }
    };
    let announce = match AnnounceSocket::open() {
        Ok(a) => Arc::new(a),
        Err(e) => {
            cleanup.release(&netlink).await;
            return Err(e);
        }
    };
    let (cmd_tx, cmd_rx) = mpsc::channel(64);
    let (ev_tx, _) = broadcast::channel(1024);
    let filtering = places.iter().any(|p| p.filtered);
    let mut driver = Driver {
        node,
        places,
        sockets,
        netlink,
        announce,
        garp_pacer: Pacer::new(cfg.garp_interval),
        na_pacer: Pacer::new(cfg.gna_interval),
        garp_form: cfg.garp_form,
        lease: cfg.vip_lease,
        owned: HashMap::new(),
        epoch: TokioInstant::now(),
        events: ev_tx.clone(),
        readers,
        cleanup,
        filtering,
        filtered_vips: BTreeSet::new(),
        nft_program: cfg.nft_program.clone(),
        table_id,
        batch: Vec::new(),
        pkt_tx,
        expect_removed: HashSet::new(),
    };
    if cfg.remove_leftovers {
        driver.remove_leftovers().await;
    }
    let task = tokio::spawn(driver.run(pkt_rx, cmd_rx, watcher));
    Ok(Handle {
        commands: cmd_tx,
        events: ev_tx,
        task,
        accept_table,
    })
}

struct Parts {
    node: Node,
    places: Vec<Placement>,
    sockets: HashMap<(u32, Family), Arc<VrrpSocket>>,
    readers: HashMap<(u32, Family), JoinHandle<()>>,
    pkt_tx: mpsc::Sender<Box<Packet>>,
    pkt_rx: mpsc::Receiver<Box<Packet>>,
}

/// The sockets of a driver and their reader tasks, keyed by (ifindex, family).
struct Sockets<'a> {
    sockets: &'a mut HashMap<(u32, Family), Arc<VrrpSocket>>,
    readers: &'a mut HashMap<(u32, Family), JoinHandle<()>>,
    pkt_tx: &'a mpsc::Sender<Box<Packet>>,
}

impl Sockets<'_> {
    /// Opens the socket of (ifindex, family) unless it is open, with a reader if it receives.
    fn open(
        &mut self,
        ifindex: u32,
        ifname: &str,
        family: Family,
        opts: OpenOptions,
    ) -> Result<()> {
        if let std::collections::hash_map::Entry::Vacant(e) = self.sockets.entry((ifindex, family))
        {
            let sock = Arc::new(VrrpSocket::open_with(
                ifindex,
                ifname,
                family == Family::V6,
                opts,
            )?);
            if opts.receive {
                self.readers.insert(
                    (ifindex, family),
                    tokio::spawn(read_loop(sock.clone(), self.pkt_tx.clone())),
                );
            }
            e.insert(sock);
        }
        Ok(())
    }
}

/// What [`place_instance`] built: the router (not started), where it lives, and the kernel
/// state to undo later (VMAC, sysctls).
struct Placed {
    router: Router,
    place: Placement,
    vmac: Option<(u32, String)>,
    sysctls: Vec<sysctl::Setting>,
}

/// Builds the routers, VMACs and sockets; everything to undo goes into `cleanup`.
async fn setup(cfg: &DriverConfig, netlink: &Netlink, cleanup: &mut Cleanup) -> Result<Parts> {
    let mut node = Node::new();
    let mut places = Vec::new();
    let mut sockets: HashMap<(u32, Family), Arc<VrrpSocket>> = HashMap::new();
    let mut readers = HashMap::new();
    let (pkt_tx, pkt_rx) = mpsc::channel::<Box<Packet>>(1024);
    for spec in &cfg.instances {
        let mut socks = Sockets {
            sockets: &mut sockets,
            readers: &mut readers,
            pkt_tx: &pkt_tx,
        };
        let placed = place_instance(spec, netlink, &mut socks, vrrp_core::Instant::ZERO).await;
        let placed = match placed {
            Ok(p) => p,
            Err(e) => {
                for r in readers.values() {
                    r.abort();
                }
                return Err(e);
            }
        };
        cleanup.vmacs.extend(placed.vmac);
        cleanup.sysctls.extend(placed.sysctls);
        node.add_router(placed.router);
        places.push(placed.place);
    }
    for (name, members) in &cfg.sync_groups {
        node.add_sync_group(name, members.iter().map(|&i| RouterId(i)).collect());
    }
    Ok(Parts {
        node,
        places,
        sockets,
        readers,
        pkt_tx,
        pkt_rx,
    })
}

/// Builds one instance: its router (with trackers, not started), sockets and VMAC. On error
/// the VMAC and sysctls it created are undone; sockets it opened stay (shared, pruned later).
async fn place_instance(
    spec: &InstanceSpec,
    netlink: &Netlink,
    socks: &mut Sockets<'_>,
    now: vrrp_core::Instant,
) -> Result<Placed> {
    let info = netlink.interface_by_name(&spec.interface).await?;
    let router_cfg = with_primary(spec.router.clone(), &info)?;
    let family = router_cfg.family;
    let vrid = router_cfg.vrid;
    let mut router = Router::new(router_cfg).map_err(|e| Error::Invalid {
        context: format!("instance {} on {}", spec.router.name, spec.interface),
        message: e.to_string(),
    })?;
    let trackers = spec
        .trackers
        .iter()
        .map(|t| router.add_tracker(t.clone()))
        .collect();
    if !info.is_usable() {
        router.handle(now, Input::LinkDown);
    }
    let unicast = !spec.router.unicast_peers.is_empty();
    socks.open(info.index, &info.name, family, OpenOptions::default())?;
    let mut place = Placement {
        ifindex: info.index,
        ifname: Arc::from(info.name.as_str()),
        vip_ifindex: info.index,
        mac: info.mac.unwrap_or([0; 6]),
        tx_ifindex: info.index,
        rx_ifindex: info.index,
        vmac: None,
        filtered: spec.needs_accept_filter(),
        vips: vip_specs(spec),
        spec_interface: spec.interface.clone(),
        vmac_spec: spec.vmac.clone(),
        unicast,
        trackers,
        removed: false,
    };
    let Some(vmac) = &spec.vmac else {
        return Ok(Placed {
            router,
            place,
            vmac: None,
            sysctls: Vec::new(),
        });
    };
    let name = vmac.ifname(vrid, family);
    let vfam = match family {
        Family::V4 => VmacFamily::V4,
        Family::V6 => VmacFamily::V6,
    };
    let idx = create_vmac(netlink, &info, &name, vrid, vfam, vmac.mode).await?;
    let mut sysctls = Vec::new();
    let mut build = || -> Result<()> {
        sysctls = sysctl::apply(&sysctl::vmac_settings(&name, &info.name))?;
        // See the module docs for where adverts are sent and received.
        let rx_on_vmac = !unicast && matches!(vmac.mode, MacvlanMode::Private);
        if !unicast {
            let opts = OpenOptions {
                join_group: rx_on_vmac,
                receive: rx_on_vmac,
                nonlocal_source: true,
            };
            socks.open(idx, &name, family, opts)?;
            place.tx_ifindex = idx;
        }
        if rx_on_vmac {
            place.rx_ifindex = idx;
        }
        Ok(())
    };
    if let Err(e) = build() {
        sysctl::restore(&sysctls);
        if let Err(e) = netlink.delete_link(idx).await {
            tracing::warn!(vmac = %name, error = %e, "VMAC not deleted");
        }
        return Err(e);
    }
    place.vip_ifindex = idx;
    place.mac = vfam.mac(vrid);
    place.vmac = Some(idx);
    tracing::info!(instance = %spec.router.name, vrid, ?family, interface = %info.name,
        vmac = %name, mode = ?vmac.mode, "VMAC ready");
    Ok(Placed {
        router,
        place,
        vmac: Some((idx, name)),
        sysctls,
    })
}

/// Creates a VMAC; a macvlan of that name left behind by an earlier run (same parent, same
/// MAC) is deleted and created afresh, anything else with the name is an error.
async fn create_vmac(
    netlink: &Netlink,
    parent: &InterfaceInfo,
    name: &str,
    vrid: u8,
    family: VmacFamily,
    mode: MacvlanMode,
) -> Result<u32> {
    let create =
        || netlink.create_vmac_with(parent.index, name, vrid, family, mode, VmacAddrGen::None);
    match create().await {
        Err(Error::LinkExists { context }) => {
            let old = netlink.interface_by_name(name).await?;
            let ours = old.kind.as_deref() == Some("macvlan")
                && old.parent == Some(parent.index)
                && old.mac == Some(family.mac(vrid));
            if !ours {
                return Err(Error::LinkExists { context });
            }
            tracing::warn!(interface = %parent.name, vmac = name, vrid,
                "removing a VMAC left behind by an earlier run");
            netlink.delete_link(old.index).await?;
            create().await
        }
        other => other,
    }
}

fn with_primary(mut cfg: RouterConfig, info: &InterfaceInfo) -> Result<RouterConfig> {
    if !cfg.primary_addr.is_unspecified() {
        return Ok(cfg);
    }
    let found = match cfg.family {
        Family::V4 => info.primary_ipv4.map(|(a, _)| IpAddr::V4(a)),
        Family::V6 => info.ipv6_link_local.map(IpAddr::V6),
    };
    cfg.primary_addr = found.ok_or_else(|| Error::Invalid {
        context: format!("instance {} on {}", cfg.name, info.name),
        message: format!("interface has no {:?} source address", cfg.family),
    })?;
    Ok(cfg)
}

fn vip_specs(spec: &InstanceSpec) -> HashMap<IpAddr, VipSpec> {
    let mut map: HashMap<IpAddr, VipSpec> = spec.vips.iter().map(|v| (v.addr, v.clone())).collect();
    for addr in &spec.router.vips {
        map.entry(*addr).or_insert_with(|| {
            let len = match addr {
                IpAddr::V4(_) => 32,
                IpAddr::V6(v6) if packet::is_link_local(*v6) => 64,
                IpAddr::V6(_) => 128,
            };
            VipSpec::new(*addr, len)
        });
    }
    map
}

async fn read_loop(sock: Arc<VrrpSocket>, tx: mpsc::Sender<Box<Packet>>) {
    let mut buf = [0u8; 1500];
    loop {
        let received = match sock.recv(&mut buf).await {
            Ok(r) => r,
            Err(e) => {
                tracing::warn!(ifindex = sock.ifindex(), error = %e, "VRRP receive failed");
                tokio::time::sleep(StdDuration::from_millis(100)).await;
                continue;
            }
        };
        let mut pkt = Box::new(Packet {
            ifindex: received.ifindex,
            meta: RxMeta {
                src: received.src,
                dst: received.dst,
                ttl: received.ttl_or_hoplimit,
                ifindex: received.ifindex,
            },
            len: received.payload.len().min(1500),
            buf: [0; 1500],
        });
        pkt.buf[..pkt.len].copy_from_slice(&received.payload[..pkt.len]);
        if tx.send(pkt).await.is_err() {
            return;
        }
    }
}

struct Driver {
    node: Node,
    places: Vec<Placement>,
    sockets: HashMap<(u32, Family), Arc<VrrpSocket>>,
    netlink: Netlink,
    announce: Arc<AnnounceSocket>,
    garp_pacer: Pacer,
    na_pacer: Pacer,
    garp_form: GarpForm,
    lease: Option<StdDuration>,
    /// VIPs this driver installed (the only ones it removes), with their prefix length.
    owned: HashMap<(u32, IpAddr), u8>,
    /// VIPs this driver removed whose netlink removal event has not been seen yet (so that
    /// the event is not taken for someone else's removal).
    expect_removed: HashSet<(u32, IpAddr)>,
    epoch: TokioInstant,
    events: broadcast::Sender<Event>,
    readers: HashMap<(u32, Family), JoinHandle<()>>,
    cleanup: Cleanup,
    /// Some instance needs Accept_Mode enforcement.
    filtering: bool,
    /// The VIPs currently in the accept-mode table.
    filtered_vips: BTreeSet<IpAddr>,
    nft_program: PathBuf,
    table_id: String,
    /// Reused buffer of the actions of one input.
    batch: Vec<(RouterId, Action)>,
    /// Where the reader tasks of sockets opened later send packets.
    pkt_tx: mpsc::Sender<Box<Packet>>,
}

impl Drop for Driver {
    fn drop(&mut self) {
        for r in self.readers.values() {
            r.abort();
        }
    }
}

impl Driver {
    fn now(&self) -> vrrp_core::Instant {
        vrrp_core::Instant::from_micros(self.epoch.elapsed().as_micros() as u64)
    }

    fn deadline(&self) -> Option<TokioInstant> {
        self.node
            .poll_timeout()
            .map(|t| self.epoch + StdDuration::from_micros(t.as_micros()))
    }

    async fn run(
        mut self,
        mut packets: mpsc::Receiver<Box<Packet>>,
        mut commands: mpsc::Receiver<Command>,
        mut watcher: Watcher,
    ) -> Result<()> {
        let now = self.now();
        self.node.handle_all(now, Input::Startup);
        self.execute().await;
        let renew_every = self
            .lease
            .map(|l| l / 3)
            .unwrap_or(StdDuration::from_secs(3600));
        let mut renew = tokio::time::interval(renew_every.max(StdDuration::from_millis(100)));
        loop {
            let deadline = self.deadline();
            tokio::select! {
                _ = sleep_until_opt(deadline) => {
                    let now = self.now();
                    self.node.handle_timeout(now);
                }
                Some(pkt) = packets.recv() => self.on_packet(&pkt),
                Some(ev) = watcher.next() => self.on_net_event(ev),
                _ = renew.tick(), if self.lease.is_some() => self.renew_leases().await,
                cmd = commands.recv() => match cmd {
                    Some(Command::Status(tx)) => {
                        let _ = tx.send(self.node.routers().map(|(_, r)| r.status()).collect());
                    }
                    Some(Command::Input(i, input)) => self.input(i, input),
                    Some(Command::Reconfigure(i, spec, done)) => {
                        let r = self.reconfigure(i, *spec).await;
                        let _ = done.send(r);
                    }
                    Some(Command::AddInstance(spec, done)) => {
                        let r = self.add_instance(*spec).await;
                        let _ = done.send(r);
                    }
                    Some(Command::RemoveInstance(i, done)) => {
                        let r = self.remove_instance(i).await;
                        let _ = done.send(r);
                    }
                    Some(Command::SyncGroups(groups, done)) => {
                        let r = self.set_sync_groups(groups).await;
                        let _ = done.send(r);
                    }
                    Some(Command::Shutdown(done)) => {
                        self.stop().await;
                        let _ = done.send(());
                        return Ok(());
                    }
                    None => {
                        self.stop().await;
                        return Ok(());
                    }
                },
            }
            self.execute().await;
        }
    }

    async fn stop(&mut self) {
        let now = self.now();
        self.node.handle_all(now, Input::Shutdown);
        self.execute().await;
        for (_, r) in self.readers.drain() {
            r.abort();
        }
        self.sockets.clear();
        self.cleanup.release(&self.netlink).await;
    }

    fn on_packet(&mut self, pkt: &Packet) {
        let payload = &pkt.buf[..pkt.len];
        let now = self.now();
        let family = Family::of(pkt.meta.src);
        let vrid = payload.get(1).copied().unwrap_or(0);
        let target = self.find_router(pkt.ifindex, family, vrid);
        match packet::parse(payload, pkt.meta) {
            Ok(adv) => match target {
                Some(id) => {
                    if let Err(e) = self.node.handle_advert_for(now, id, &adv) {
                        tracing::trace!(vrid, from = %pkt.meta.src, reason = %e, "advert discarded");
                    }
                }
                None => tracing::trace!(vrid, from = %pkt.meta.src, "advert for an unknown VRID"),
            },
            Err(e) => {
                if let Some(id) = target {
                    self.node.handle_rx_error_for(id, &e);
                }
                tracing::debug!(vrid, from = %pkt.meta.src, error = %e, "malformed VRRP packet dropped");
            }
        }
    }

    fn find_router(&self, ifindex: u32, family: Family, vrid: u8) -> Option<RouterId> {
        self.node.routers().find_map(|(id, r)| {
            let c = r.config();
            let place = &self.places[id.0];
            (!place.removed && place.rx_ifindex == ifindex && c.family == family && c.vrid == vrid)
                .then_some(id)
        })
    }

    fn on_net_event(&mut self, ev: NetEvent) {
        let now = self.now();
        match ev {
            NetEvent::Link(LinkEvent::Up { ifindex, .. }) => {
                self.link_input(now, ifindex, Input::LinkUp)
            }
            NetEvent::Link(
                LinkEvent::Down { ifindex, .. } | LinkEvent::CarrierLost { ifindex, .. },
            ) => self.link_input(now, ifindex, Input::LinkDown),
            NetEvent::Link(LinkEvent::Deleted { ifindex, name }) => {
                self.link_input(now, ifindex, Input::LinkDown);
                // A VMAC deleted under us: its routers cannot work any more (keepalived: FAULT).
                for i in 0..self.places.len() {
                    if !self.places[i].removed && self.places[i].vmac == Some(ifindex) {
                        tracing::error!(instance = %self.node.router(RouterId(i)).config().name,
                            vmac = %name, "VMAC deleted by someone else");
                        self.node.handle(now, RouterId(i), Input::LinkDown);
                    }
                }
            }
            NetEvent::Addr(AddrEvent::Removed { ifindex, addr, .. })
                if self.expect_removed.remove(&(ifindex, addr)) => {}
            NetEvent::Addr(AddrEvent::Removed { ifindex, addr, .. })
                if self.owned.remove(&(ifindex, addr)).is_some() =>
            {
                for i in 0..self.places.len() {
                    if !self.places[i].removed && self.places[i].vip_ifindex == ifindex {
                        tracing::warn!(instance = %self.node.router(RouterId(i)).config().name,
                            interface = %self.places[i].ifname, %addr,
                            "VIP removed by someone else");
                        self.node.handle(now, RouterId(i), Input::VipLost(addr));
                    }
                }
            }
            _ => {}
        }
    }

    /// The placement of a live instance, or why there is none.
    fn live(&self, i: usize) -> Result<&Placement> {
        match self.places.get(i) {
            Some(p) if !p.removed => Ok(p),
            Some(_) => Err(Error::Invalid {
                context: format!("instance {i}"),
                message: "the instance was removed".into(),
            }),
            None => Err(Error::Invalid {
                context: format!("instance {i}"),
                message: "no such instance".into(),
            }),
        }
    }

    /// An input from the handle: ignored for unknown or removed instances; tracker ids are
    /// translated to the router's.
    fn input(&mut self, i: usize, input: Input) {
        let Ok(place) = self.live(i) else { return };
        let input = match input {
            Input::Tracker(id, state) => match place.trackers.get(usize::from(id.0)) {
                Some(&rid) => Input::Tracker(rid, state),
                None => return,
            },
            other => other,
        };
        let now = self.now();
        self.node.handle(now, RouterId(i), input);
    }

    /// [`Handle::reconfigure`].
    async fn reconfigure(&mut self, i: usize, spec: InstanceSpec) -> Result<()> {
        let place = self.live(i)?;
        let current = self.node.router(RouterId(i)).config();
        let context = || format!("instance {} on {}", spec.router.name, spec.interface);
        let unicast = !spec.router.unicast_peers.is_empty();
        let fixed = [
            (spec.interface != place.spec_interface, "the interface"),
            (spec.vmac != place.vmac_spec, "the VMAC settings"),
            (unicast != place.unicast, "unicast or multicast"),
            (spec.router.vrid != current.vrid, "the VRID"),
            (spec.router.family != current.family, "the family"),
        ];
        if let Some((_, what)) = fixed.iter().find(|(changed, _)| *changed) {
            return Err(Error::Invalid {
                context: context(),
                message: format!("{what} cannot change on a running instance; remove and add it"),
            });
        }
        let info = self.netlink.interface_by_name(&spec.interface).await?;
        let cfg = with_primary(spec.router.clone(), &info)?;
        cfg.validate().map_err(|e| Error::Invalid {
            context: context(),
            message: e.to_string(),
        })?;
        let new_vips = vip_specs(&spec);
        let place = &self.places[i];
        for (addr, old) in &place.vips {
            let changed = new_vips.get(addr).is_some_and(|new| new != old);
            if changed && self.owned.contains_key(&(place.vip_ifindex, *addr)) {
                tracing::warn!(instance = %spec.router.name, %addr,
                    "VIP options changed: applied when the address is next added");
            }
        }
        let now = self.now();
        let place = &mut self.places[i];
        place.vips = new_vips;
        place.filtered = spec.needs_accept_filter();
        self.filtering |= place.filtered;
        self.node
            .reconfigure(now, RouterId(i), cfg)
            .map_err(|e| Error::Invalid {
                context: context(),
                message: e.to_string(),
            })?;
        self.retrack(now, i, &spec.trackers);
        self.execute().await;
        if self.filtering {
            // Accept_Mode may have changed without any VIP or state action.
            self.sync_filter(false).await;
        }
        Ok(())
    }

    /// Brings an instance's trackers in line with `new`, in one step: each new tracker starts
    /// from the state of an identical current tracker, else of a current one with the same
    /// name and kind, else Unknown; the priority is recomputed once.
    fn retrack(&mut self, now: vrrp_core::Instant, i: usize, new: &[Tracker]) {
        let id = RouterId(i);
        let current: Vec<(Tracker, TrackState)> = self
            .node
            .router(id)
            .trackers()
            .map(|(t, s)| (t.clone(), s))
            .collect();
        let state_for = |t: &Tracker| {
            let known = |(c, s): &&(Tracker, TrackState)| *s != TrackState::Unknown && *c == *t;
            let same_name = |(c, s): &&(Tracker, TrackState)| {
                *s != TrackState::Unknown && c.name == t.name && c.kind == t.kind
            };
            (current.iter().find(known))
                .or_else(|| current.iter().find(same_name))
                .map_or(TrackState::Unknown, |(_, s)| *s)
        };
        let list: Vec<(Tracker, TrackState)> =
            new.iter().map(|t| (t.clone(), state_for(t))).collect();
        self.places[i].trackers = (0..list.len()).map(|k| TrackerId(k as u16)).collect();
        self.node.set_trackers(now, id, list);
    }

    /// [`Handle::add_instance`].
    async fn add_instance(&mut self, spec: InstanceSpec) -> Result<usize> {
        if spec.needs_accept_filter() && !self.filtering {
            let program = self.nft_program.clone();
            let id = self.table_id.clone();
            tokio::task::spawn_blocking(move || AcceptModeFilter::probe(&program, &id))
                .await
                .map_err(|e| Error::Invalid {
                    context: "checking nft".into(),
                    message: e.to_string(),
                })??;
        }
        let now = self.now();
        let mut socks = Sockets {
            sockets: &mut self.sockets,
            readers: &mut self.readers,
            pkt_tx: &self.pkt_tx,
        };
        let placed = place_instance(&spec, &self.netlink, &mut socks, now).await;
        let placed = match placed {
            Ok(p) => p,
            Err(e) => {
                self.prune_sockets();
                return Err(e);
            }
        };
        self.cleanup.vmacs.extend(placed.vmac);
        self.cleanup.sysctls.extend(placed.sysctls);
        self.filtering |= placed.place.filtered;
        let id = self.node.add_router(placed.router);
        self.places.push(placed.place);
        self.node.handle(now, id, Input::Startup);
        self.execute().await;
        Ok(id.0)
    }

    /// [`Handle::remove_instance`].
    async fn remove_instance(&mut self, i: usize) -> Result<()> {
        self.live(i)?;
        let now = self.now();
        let id = RouterId(i);
        self.node.handle(now, id, Input::Shutdown);
        self.execute().await;
        let groups: Vec<(String, Vec<RouterId>)> = self
            .node
            .sync_groups()
            .iter()
            .map(|g| {
                let members = g.members.iter().copied().filter(|&m| m != id).collect();
                (g.name.to_string(), members)
            })
            .collect();
        if self
            .node
            .sync_groups()
            .iter()
            .any(|g| g.members.contains(&id))
        {
            self.node.set_sync_groups(now, groups);
            self.execute().await;
        }
        let place = &mut self.places[i];
        place.removed = true;
        if let Some(idx) = place.vmac {
            // The VMAC's own sysctls go with it; the parent's are restored at exit.
            match self.netlink.delete_link(idx).await {
                Ok(()) | Err(Error::InterfaceNotFound(_)) => {}
                Err(e) => tracing::warn!(ifindex = idx, error = %e, "VMAC not deleted"),
            }
            self.cleanup.vmacs.retain(|(x, _)| *x != idx);
        }
        self.prune_sockets();
        Ok(())
    }

    /// [`Handle::set_sync_groups`].
    async fn set_sync_groups(&mut self, groups: Vec<(String, Vec<usize>)>) -> Result<()> {
        let mut ids = Vec::with_capacity(groups.len());
        for (name, members) in groups {
            for &m in &members {
                self.live(m).map_err(|e| Error::Invalid {
                    context: format!("sync group {name}"),
                    message: e.to_string(),
                })?;
            }
            ids.push((name, members.into_iter().map(RouterId).collect()));
        }
        let now = self.now();
        self.node.set_sync_groups(now, ids);
        self.execute().await;
        Ok(())
    }

    /// Closes the sockets (and stops the readers) no live instance uses any more.
    fn prune_sockets(&mut self) {
        let used: HashSet<(u32, Family)> = self
            .node
            .routers()
            .filter(|(id, _)| !self.places[id.0].removed)
            .flat_map(|(id, r)| {
                let p = &self.places[id.0];
                let f = r.config().family;
                [(p.ifindex, f), (p.tx_ifindex, f), (p.rx_ifindex, f)]
            })
            .collect();
        self.sockets.retain(|k, _| used.contains(k));
        self.readers.retain(|k, r| {
            let keep = used.contains(k);
            if !keep {
                r.abort();
            }
            keep
        });
    }

    fn routers_on(&self, ifindex: u32) -> Vec<usize> {
        (0..self.places.len())
            .filter(|&i| !self.places[i].removed && self.places[i].ifindex == ifindex)
            .collect()
    }

    fn link_input(&mut self, now: vrrp_core::Instant, ifindex: u32, input: Input) {
        for i in self.routers_on(ifindex) {
            self.node.handle(now, RouterId(i), input.clone());
        }
    }

    /// Carries out every queued action, in order. The accept-mode table grows before the
    /// actions (so that it covers a VIP before the VIP is added) and shrinks after them (once
    /// released VIPs are gone).
    async fn execute(&mut self) {
        let mut batch = std::mem::take(&mut self.batch);
        while let Some(item) = self.node.poll_action() {
            batch.push(item);
        }
        let sync = self.filtering
            && batch.iter().any(|(_, a)| {
                matches!(
                    a,
                    Action::AddVip(_) | Action::RemoveVip(_) | Action::StateChanged { .. }
                )
            });
        if sync {
            self.sync_filter(true).await;
        }
        for (id, action) in batch.drain(..) {
            self.act(id, action).await;
        }
        if sync {
            self.sync_filter(false).await;
        }
        self.batch = batch;
    }

    /// The VIPs that must be filtered now: those of Active routers without Accept_Mode.
    fn wanted_filter(&self) -> BTreeSet<IpAddr> {
        self.node
            .routers()
            .filter(|(id, r)| self.places[id.0].filtered && r.state() == State::Active)
            .flat_map(|(_, r)| r.config().vips.iter().copied())
            .collect()
    }

    /// Brings the accept-mode table in line with [`Driver::wanted_filter`] (`grow_only`: add
    /// what is missing, remove nothing). An empty set deletes the table. On error the old
    /// state is kept and the next change retries.
    async fn sync_filter(&mut self, grow_only: bool) {
        let mut want = self.wanted_filter();
        if grow_only {
            want.extend(self.filtered_vips.iter().copied());
        }
        if want == self.filtered_vips {
            return;
        }
        let vips: Vec<IpAddr> = want.iter().copied().collect();
        let mut filter = self.cleanup.filter.take();
        let program = self.nft_program.clone();
        let id = self.table_id.clone();
        let job = tokio::task::spawn_blocking(move || {
            let r = match (&mut filter, vips.is_empty()) {
                (Some(_), true) => filter.take().map_or(Ok(()), AcceptModeFilter::remove),
                (Some(f), false) => f.update(&vips),
                (None, true) => Ok(()),
                (None, false) => {
                    AcceptModeFilter::install_with(&program, &id, &vips).map(|f| filter = Some(f))
                }
            };
            (filter, r)
        });
        match job.await {
            Ok((filter, Ok(()))) => {
                self.cleanup.filter = filter;
                tracing::info!(table = %crate::nft::table_name(&self.table_id),
                    vips = want.len(), "accept-mode filter updated");
                self.filtered_vips = want;
            }
            Ok((filter, Err(e))) => {
                self.cleanup.filter = filter;
                tracing::error!(table = %crate::nft::table_name(&self.table_id), error = %e,
                    "accept-mode filter not updated: traffic to the VIPs is not enforced");
            }
            Err(e) => tracing::error!(error = %e, "accept-mode filter task failed"),
        }
    }

    async fn act(&mut self, id: RouterId, action: Action) {
        let name = self.node.router(id).config().name.clone();
        match action {
            Action::SendAdvert { version, priority } => {
                self.send_advert(id, version, priority).await
            }
            Action::AddVip(addr) => self.add_vip(id, addr).await,
            Action::RemoveVip(addr) => self.remove_vip(id, addr).await,
            Action::Announce(addr) => self.announce(id, addr).await,
            // The kernel joins a VIP's solicited-node group when the address is added.
            Action::JoinSolicitedNode(_) | Action::LeaveSolicitedNode(_) => {}
            Action::StateChanged { from, to, reason } => {
                let c = self.node.router(id).config();
                tracing::info!(instance = %name, vrid = c.vrid, family = ?c.family,
                    interface = %self.places[id.0].ifname, %from, %to, %reason, "state changed");
                let _ = self.events.send(Event::StateChanged {
                    instance: id.0,
                    name,
                    from,
                    to,
                    reason,
                });
            }
            Action::PriorityChanged { from, to, cause } => {
                let c = self.node.router(id).config();
                tracing::info!(instance = %name, vrid = c.vrid, family = ?c.family,
                    interface = %self.places[id.0].ifname, from, to, %cause, "priority changed");
                let _ = self.events.send(Event::PriorityChanged {
                    instance: id.0,
                    name,
                    from,
                    to,
                    cause,
                });
            }
            Action::Notice(notice) => tracing::warn!(instance = %name, ?notice, "notice"),
        }
    }

    async fn send_advert(&mut self, id: RouterId, version: vrrp_core::Version, priority: u8) {
        let router = self.node.router(id);
        let cfg = router.config();
        let Some(sock) = self
            .sockets
            .get(&(self.places[id.0].tx_ifindex, cfg.family))
        else {
            return;
        };
        let mut buf = [0u8; 1500];
        for dst in router.advert_destinations() {
            match router.encode_advert(version, priority, dst, &mut buf) {
                Ok(n) => {
                    if let Err(e) = sock.send_from(&buf[..n], cfg.primary_addr, dst).await {
                        tracing::warn!(instance = %cfg.name, vrid = cfg.vrid, family = ?cfg.family,
                            interface = %self.places[id.0].ifname, %dst, error = %e, "advert not sent");
                    }
                }
                Err(e) => tracing::error!(instance = %cfg.name, error = %e, "advert not built"),
            }
        }
    }

    fn vip_spec(&self, id: RouterId, addr: IpAddr) -> VipSpec {
        let mut spec = self.places[id.0]
            .vips
            .get(&addr)
            .cloned()
            .unwrap_or_else(|| VipSpec::new(addr, 32));
        if let Some(lease) = self.lease {
            let secs = lease.as_secs().max(1) as u32;
            spec = spec.with_lifetime(secs, secs);
        }
        spec
    }

    async fn add_vip(&mut self, id: RouterId, addr: IpAddr) {
        let ifindex = self.places[id.0].vip_ifindex;
        let spec = self.vip_spec(id, addr);
        match self.netlink.add_address(ifindex, &spec).await {
            Ok(()) => {
                self.owned.insert((ifindex, addr), spec.prefix_len);
                self.expect_removed.remove(&(ifindex, addr));
            }
            Err(Error::AddressExists { .. }) if self.owned.contains_key(&(ifindex, addr)) => {}
            Err(Error::AddressExists { .. }) => {
                tracing::warn!(%addr, ifindex, "VIP already present on the interface; left alone");
            }
            Err(e) => tracing::error!(%addr, ifindex, error = %e, "VIP not added"),
        }
    }

    async fn remove_vip(&mut self, id: RouterId, addr: IpAddr) {
        let ifindex = self.places[id.0].vip_ifindex;
        let Some(prefix) = self.owned.remove(&(ifindex, addr)) else {
            return;
        };
        match self.netlink.del_address(ifindex, addr, prefix).await {
            Ok(()) => {
                self.expect_removed.insert((ifindex, addr));
            }
            Err(e) => tracing::warn!(%addr, ifindex, error = %e, "VIP not removed"),
        }
    }

    async fn renew_leases(&mut self) {
        let owned: Vec<(u32, IpAddr)> = self.owned.keys().copied().collect();
        for (ifindex, addr) in owned {
            let Some(i) = (0..self.places.len()).find(|&i| {
                !self.places[i].removed
                    && self.places[i].vip_ifindex == ifindex
                    && self.node.router(RouterId(i)).state() == State::Active
            }) else {
                continue;
            };
            let spec = self.vip_spec(RouterId(i), addr);
            if let Err(e) = self.netlink.renew_address(ifindex, &spec).await {
                tracing::warn!(%addr, ifindex, error = %e, "VIP lease not renewed");
            }
        }
    }

    async fn announce(&mut self, id: RouterId, addr: IpAddr) {
        let place = &self.places[id.0];
        let (ifindex, mac) = (place.vip_ifindex, place.mac);
        let mut frame = [0u8; 128];
        let (built, pacer) = match addr {
            IpAddr::V4(v4) => (
                build_garp(&mut frame, mac, v4, self.garp_form),
                &mut self.garp_pacer,
            ),
            IpAddr::V6(v6) => (
                build_unsolicited_na(&mut frame, mac, v6, true),
                &mut self.na_pacer,
            ),
        };
        let len = match built {
            Ok(n) => n,
            Err(e) => return tracing::error!(%addr, error = %e, "announcement not built"),
        };
        let at = pacer.reserve(ifindex, TokioInstant::now());
        let sock = self.announce.clone();
        let frame = frame[..len].to_vec();
        if at <= TokioInstant::now() {
            if let Err(e) = sock.send(ifindex, &frame).await {
                tracing::warn!(%addr, ifindex, error = %e, "announcement not sent");
            }
        } else {
            tokio::spawn(async move {
                tokio::time::sleep_until(at).await;
                if let Err(e) = sock.send(ifindex, &frame).await {
                    tracing::warn!(%addr, ifindex, error = %e, "announcement not sent");
                }
            });
        }
    }

    /// Removes VIPs an earlier life of this daemon left behind (marked by the crate's
    /// address-protocol marker), and says so in the log.
    async fn remove_leftovers(&mut self) {
        let ifindexes: HashSet<u32> = self
            .places
            .iter()
            .filter(|p| !p.removed)
            .flat_map(|p| [p.ifindex, p.vip_ifindex])
            .collect();
        for ifindex in ifindexes {
            let leftovers: Vec<AddressInfo> =
                match self.netlink.find_leftover_vips(ifindex, "").await {
                    Ok(l) => l,
                    Err(e) => {
                        tracing::warn!(ifindex, error = %e, "could not list addresses");
                        continue;
                    }
                };
            for a in leftovers {
                tracing::warn!(ifindex, addr = %a.addr, "removing a VIP left behind by an earlier run");
                if let Err(e) = self
                    .netlink
                    .del_address(ifindex, a.addr, a.prefix_len)
                    .await
                {
                    tracing::warn!(ifindex, addr = %a.addr, error = %e, "leftover VIP not removed");
                }
            }
        }
    }
}

async fn sleep_until_opt(deadline: Option<TokioInstant>) {
    match deadline {
        Some(t) => tokio::time::sleep_until(t).await,
        None => std::future::pending().await,
    }
}
