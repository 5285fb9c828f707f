//! Building an instance: its router (with trackers, not started), where it lives on this host
//! ([`Placement`]: interfaces, MAC, sockets, the spec parts a reconfiguration must keep), and
//! its sockets; and building every instance of a [`DriverConfig`] at start.

use std::net::IpAddr;
use std::sync::Arc;

use tokio::sync::mpsc;
use vrrp_core::packet::{self, Family};
use vrrp_core::{Input, Node, Router, RouterConfig, RouterId, TrackerId};

use super::cleanup::Cleanup;
use super::sockets::{Packet, SocketSet};
use super::{vmac, DriverConfig, InstanceSpec, VmacSpec};
use crate::error::{Error, Result};
use crate::netlink::{InterfaceInfo, Netlink, VipSpec};
use crate::socket::OpenOptions;
use crate::sysctl;

/// Where one router lives.
pub(super) struct Placement {
    /// The configured (parent) interface: link state, primary address.
    pub(super) ifindex: u32,
    /// Its name, for logs.
    pub(super) ifname: Arc<str>,
    /// Where the VIPs live and announcements leave: the VMAC, or the interface.
    pub(super) vip_ifindex: u32,
    /// Source MAC of announcements (the VMAC, or the interface's MAC).
    pub(super) mac: [u8; 6],
    /// Interface whose socket sends this router's adverts.
    pub(super) tx_ifindex: u32,
    /// Interface whose socket receives this router's adverts.
    pub(super) rx_ifindex: u32,
    /// The VMAC's ifindex, if any.
    pub(super) vmac: Option<u32>,
    /// Accept_Mode enforcement needed while Active.
    pub(super) filtered: bool,
    /// The data-plane options of each VIP, one entry per address (a list: an instance has
    /// one or a few, and a map costs ~350 bytes per instance).
    pub(super) vips: Vec<VipSpec>,
    /// The configured interface name, VMAC and unicast choice, which a reconfiguration must
    /// keep.
    pub(super) spec_interface: String,
    pub(super) vmac_spec: Option<VmacSpec>,
    pub(super) unicast: bool,
    /// The router's tracker id for each position of the spec's trackers.
    pub(super) trackers: Vec<TrackerId>,
    /// Removed ([`super::Handle::remove_instance`]): a dead slot.
    pub(super) removed: bool,
}

impl Placement {
    /// An instance of `spec` directly on interface `info` (no VMAC yet).
    fn on_interface(spec: &InstanceSpec, info: &InterfaceInfo, trackers: Vec<TrackerId>) -> Self {
        Placement {
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
            unicast: !spec.router.unicast_peers.is_empty(),
            trackers,
            removed: false,
        }
    }

    /// The sockets this placement uses for `family`: receive, send, and the parent's.
    pub(super) fn socket_keys(&self, family: Family) -> [(u32, Family); 3] {
        [
            (self.ifindex, family),
            (self.tx_ifindex, family),
            (self.rx_ifindex, family),
        ]
    }
}

/// What [`place_instance`] built: the router (not started), where it lives, and the kernel
/// state to undo later (VMAC, sysctls).
pub(super) struct Placed {
    pub(super) router: Router,
    pub(super) place: Placement,
    pub(super) vmac: Option<(u32, String)>,
    pub(super) sysctls: Vec<sysctl::Setting>,
}

/// Builds one instance on its interface `info`: its router (with trackers, not started),
/// sockets and VMAC. On error the VMAC and sysctls it created are undone; sockets it opened
/// stay (shared, pruned later).
pub(super) async fn place_instance(
    spec: &InstanceSpec,
    info: &InterfaceInfo,
    netlink: &Netlink,
    sockets: &mut SocketSet,
    now: vrrp_core::Instant,
) -> Result<Placed> {
    let (router, trackers) = build_router(spec, info, now)?;
    let family = router.config().family;
    sockets.open(info.index, &info.name, family, OpenOptions::default())?;
    let mut placed = Placed {
        router,
        place: Placement::on_interface(spec, info, trackers),
        vmac: None,
        sysctls: Vec::new(),
    };
    if let Some(vmac) = &spec.vmac {
        vmac::attach(&mut placed, vmac, info, netlink, sockets).await?;
    }
    Ok(placed)
}

/// The router of `spec` on `info`, with its trackers (their router ids in spec order), Down
/// if the link is.
fn build_router(
    spec: &InstanceSpec,
    info: &InterfaceInfo,
    now: vrrp_core::Instant,
) -> Result<(Router, Vec<TrackerId>)> {
    let router_cfg = with_primary(spec.router.clone(), info)?;
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
    Ok((router, trackers))
}

/// `cfg` with an unspecified primary address replaced by the interface's primary IPv4
/// address or IPv6 link-local.
pub(super) fn with_primary(mut cfg: RouterConfig, info: &InterfaceInfo) -> Result<RouterConfig> {
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

/// The options of every VIP of `spec`, one per address: the configured ones (the last one
/// given for an address wins), else a host prefix.
pub(super) fn vip_specs(spec: &InstanceSpec) -> Vec<VipSpec> {
    let mut list: Vec<VipSpec> = Vec::with_capacity(spec.router.vips.len().max(spec.vips.len()));
    for v in &spec.vips {
        match list.iter_mut().find(|s| s.addr == v.addr) {
            Some(s) => *s = v.clone(),
            None => list.push(v.clone()),
        }
    }
    for addr in &spec.router.vips {
        if list.iter().all(|s| s.addr != *addr) {
            let len = match addr {
                IpAddr::V4(_) => 32,
                IpAddr::V6(v6) if packet::is_link_local(*v6) => 64,
                IpAddr::V6(_) => 128,
            };
            list.push(VipSpec::new(*addr, len));
        }
    }
    list.shrink_to_fit();
    list
}

/// The options of `addr` in a [`vip_specs`] list.
pub(super) fn vip_spec_of(list: &[VipSpec], addr: IpAddr) -> Option<&VipSpec> {
    list.iter().find(|s| s.addr == addr)
}

/// Every instance of a config, built: what the driver task starts from.
pub(super) struct Parts {
    pub(super) node: Node,
    pub(super) places: Vec<Placement>,
    pub(super) sockets: SocketSet,
    /// Where the reader tasks send packets.
    pub(super) pkt_rx: mpsc::Receiver<Box<Packet>>,
}

/// Builds the routers, VMACs and sockets; everything to undo goes into `cleanup`. The
/// interfaces are looked up once each, all together ([`Netlink::interfaces_by_name`]), not
/// once per instance.
pub(super) async fn setup(
    cfg: &DriverConfig,
    netlink: &Netlink,
    cleanup: &mut Cleanup,
) -> Result<Parts> {
    let mut names: Vec<&str> = cfg.instances.iter().map(|s| s.interface.as_str()).collect();
    names.sort_unstable();
    names.dedup();
    let infos = netlink.interfaces_by_name(&names).await?;
    let mut node = Node::new();
    let mut places = Vec::new();
    let (pkt_tx, pkt_rx) = mpsc::channel::<Box<Packet>>(super::sockets::PACKET_QUEUE);
    let mut sockets = SocketSet::new(pkt_tx);
    for spec in &cfg.instances {
        let placed = match infos.get(&spec.interface) {
            Some(info) => {
                place_instance(spec, info, netlink, &mut sockets, vrrp_core::Instant::ZERO).await
            }
            None => Err(Error::InterfaceNotFound(spec.interface.clone())),
        };
        let placed = match placed {
            Ok(p) => p,
            Err(e) => {
                sockets.abort_readers();
                return Err(e);
            }
        };
        cleanup.adopt(placed.vmac, placed.sysctls);
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
        pkt_rx,
    })
}
