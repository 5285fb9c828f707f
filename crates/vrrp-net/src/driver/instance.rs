//! Building an instance: its router (with trackers, not started), where it lives on this host
//! ([`Placement`]: interfaces, MAC, sockets, the spec parts a reconfiguration must keep), and
//! its sockets; and building every instance of a [`DriverConfig`] at start.

use std::collections::{HashMap, HashSet};
use std::net::IpAddr;
use std::sync::Arc;

use vrrp_core::packet::{self, Family};
use vrrp_core::{Input, Router, RouterConfig, RouterId, TrackState, TrackerId};

use super::plane::{DataPlane, SocketKey};
use super::{vmac, Driver, DriverConfig, InstanceSpec, VmacSpec};
use crate::error::{Error, Result};
use crate::netlink::{InterfaceInfo, VipSpec};
use crate::route::{ResolvedRoute, RouteSpec, RuleSpec};
use crate::socket::OpenOptions;
use crate::sysctl::{Family as SysFamily, Setting};

/// An address that lives on its own interface.
#[derive(Clone, Debug)]
pub(super) struct VipHome {
    pub(super) addr: IpAddr,
    pub(super) ifindex: u32,
    pub(super) mac: [u8; 6],
}

/// Where one router lives.
pub(super) struct Placement {
    /// The configured (parent) interface: link state, primary address.
    pub(super) ifindex: u32,
    /// Its name, for logs.
    pub(super) ifname: Arc<str>,
    /// Where the VIPs live and announcements leave: the VMAC, or the interface.
    pub(super) vip_ifindex: u32,
    /// Its name.
    pub(super) vip_ifname: Arc<str>,
    /// Source MAC of announcements (the VMAC, or the interface's MAC).
    pub(super) mac: [u8; 6],
    /// The configured interface's own MAC (announcements of the router's source address).
    pub(super) base_mac: [u8; 6],
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
    /// Trackers fed from the link watcher: tracker id and interface name.
    pub(super) tracked_interfaces: Vec<(TrackerId, String)>,
    /// Addresses on another interface than `vip_ifindex` (keepalived's `dev`).
    pub(super) homes: Vec<VipHome>,
    /// Routes installed while Active, with the index of their `dev`.
    pub(super) routes: Vec<ResolvedRoute>,
    /// Rules installed while Active.
    pub(super) rules: Vec<RuleSpec>,
    /// The routes and rules are installed.
    pub(super) routes_installed: bool,
    /// Link state matters (not `dont_track_primary`).
    pub(super) track_link: bool,
    /// Fault while the source address is missing (`track_src_ip`).
    pub(super) track_source: bool,
    /// TTL of unicast adverts (`unicast_ttl`); `None`: the socket's 255.
    pub(super) unicast_ttl: Option<u8>,
    /// The span the instance's log lines carry.
    pub(super) span: tracing::Span,
}

impl Placement {
    /// An instance of `spec` directly on interface `info` (no VMAC yet); `infos` holds every
    /// other interface it names.
    fn on_interface(
        spec: &InstanceSpec,
        cfg: &RouterConfig,
        info: &InterfaceInfo,
        infos: &HashMap<String, InterfaceInfo>,
    ) -> Result<Self> {
        let span = tracing::info_span!("instance", instance = %cfg.name, vrid = cfg.vrid,
            family = ?cfg.family, interface = %info.name);
        Ok(Placement {
            homes: homes(spec, infos)?,
            routes: route_devs(spec, infos)?,
            rules: spec.rules.clone(),
            routes_installed: false,
            track_link: spec.track_link,
            track_source: spec.track_source,
            unicast_ttl: spec.unicast_ttl,
            ifindex: info.index,
            ifname: Arc::from(info.name.as_str()),
            vip_ifindex: info.index,
            vip_ifname: Arc::from(info.name.as_str()),
            mac: info.mac.unwrap_or([0; 6]),
            base_mac: info.mac.unwrap_or([0; 6]),
            tx_ifindex: info.index,
            rx_ifindex: info.index,
            vmac: None,
            filtered: spec.needs_accept_filter(),
            vips: vip_specs(spec),
            spec_interface: spec.interface.clone(),
            vmac_spec: spec.vmac.clone(),
            unicast: !spec.router.unicast_peers.is_empty(),
            tracked_interfaces: tracked_interfaces(spec),
            span,
        })
    }

    /// Where `addr` lives: its own interface (keepalived's `dev`), else the VIP interface.
    pub(super) fn home_of(&self, addr: IpAddr) -> (u32, [u8; 6]) {
        match self.homes.iter().find(|h| h.addr == addr) {
            Some(h) => (h.ifindex, h.mac),
            None => (self.vip_ifindex, self.mac),
        }
    }

    /// Where the conflict probe of `addr` leaves and its answers are watched for: the
    /// interface of an address with its own `dev`, else the configured (parent) interface,
    /// with that interface's own MAC (a VMAC's parent sees every broadcast and multicast
    /// claim and the unicast answers to its own MAC).
    pub(super) fn probe_from(&self, addr: IpAddr) -> (u32, [u8; 6]) {
        match self.homes.iter().find(|h| h.addr == addr) {
            Some(h) => (h.ifindex, h.mac),
            None => (self.ifindex, self.base_mac),
        }
    }

    /// True for a MAC of this router's: its VMAC, its interface's, an address interface's.
    pub(super) fn owns_mac(&self, mac: [u8; 6]) -> bool {
        mac == self.mac || mac == self.base_mac || self.homes.iter().any(|h| h.mac == mac)
    }

    /// The sockets this placement uses for `family`: receive, send, and the parent's.
    pub(super) fn socket_keys(&self, family: Family) -> [SocketKey; 3] {
        [
            (self.ifindex, family),
            (self.tx_ifindex, family),
            (self.rx_ifindex, family),
        ]
    }
}

/// The addresses of `spec` with their own interface.
pub(super) fn homes(
    spec: &InstanceSpec,
    infos: &HashMap<String, InterfaceInfo>,
) -> Result<Vec<VipHome>> {
    (spec.vip_interfaces.iter())
        .filter(|(_, dev)| *dev != spec.interface)
        .map(|(addr, dev)| {
            let info = infos
                .get(dev)
                .ok_or_else(|| Error::InterfaceNotFound(dev.clone()))?;
            Ok(VipHome {
                addr: *addr,
                ifindex: info.index,
                mac: info.mac.unwrap_or([0; 6]),
            })
        })
        .collect()
}

/// The routes of `spec` with the index of their `dev`.
pub(super) fn route_devs(
    spec: &InstanceSpec,
    infos: &HashMap<String, InterfaceInfo>,
) -> Result<Vec<ResolvedRoute>> {
    let index = |dev: &str| {
        (infos.get(dev))
            .map(|i| i.index)
            .ok_or_else(|| Error::InterfaceNotFound(dev.to_string()))
    };
    spec.routes.iter().map(|r| r.resolve(index)).collect()
}

/// The trackers of `spec` fed from the link watcher, with their router ids.
pub(super) fn tracked_interfaces(spec: &InstanceSpec) -> Vec<(TrackerId, String)> {
    (spec.tracked_interfaces.iter())
        .filter(|(i, _)| *i < spec.trackers.len())
        .map(|(i, name)| (TrackerId(*i as u16), name.clone()))
        .collect()
}

/// The router of `spec` on `info`, with its trackers (router ids = positions in the spec),
/// Down if the link is.
fn build_router(
    spec: &InstanceSpec,
    info: &InterfaceInfo,
    now: vrrp_core::Instant,
) -> Result<Router> {
    let mut router_cfg = with_primary(spec.router.clone(), info)?;
    router_cfg.state_routes = !spec.routes.is_empty() || !spec.rules.is_empty();
    let mut router = Router::new(router_cfg).map_err(|e| Error::Invalid {
        context: format!("instance {} on {}", spec.router.name, spec.interface),
        message: e.to_string(),
    })?;
    for t in &spec.trackers {
        router.add_tracker(t.clone());
    }
    if spec.track_link && !info.is_usable() {
        router.handle(now, Input::LinkDown);
    }
    // `track_src_ip` acts on address removals only: like keepalived, a source address that
    // is missing at start does not fault the router (its adverts go out from it anyway).
    let src = router.config().primary_addr;
    if !spec.router.primary_addr.is_unspecified() && !info.addresses.contains(&src) {
        tracing::warn!(instance = %spec.router.name, interface = %info.name, %src,
            "the configured source address is not on the interface; adverts are sent from it anyway");
    }
    Ok(router)
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
    for addr in spec.router.installed_addresses() {
        let addr = &addr;
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

impl<D: DataPlane> Driver<D> {
    /// Builds every instance of `cfg` (routers not started), their sockets and VMACs, and the
    /// sync groups. The interfaces are looked up once, all together. On error the caller
    /// releases the plane (VMACs and sysctls created so far).
    pub(super) async fn setup(&mut self, cfg: &DriverConfig) -> Result<()> {
        let mut names: Vec<&str> = (cfg.instances.iter())
            .flat_map(InstanceSpec::interface_names)
            .collect();
        names.extend(cfg.static_addresses.iter().map(|(n, _)| n.as_str()));
        names.extend(cfg.static_routes.iter().flat_map(RouteSpec::devices));
        names.sort_unstable();
        names.dedup();
        let infos = self.plane.interfaces(&names).await?;
        let now = self.now();
        for spec in &cfg.instances {
            let info = infos
                .get(&spec.interface)
                .ok_or_else(|| Error::InterfaceNotFound(spec.interface.clone()))?;
            let id = self.place_instance(spec, info, &infos, now).await?;
            self.seed_link_trackers(now, id, &infos);
        }
        for (name, members) in &cfg.sync_groups {
            self.node
                .add_sync_group(name, members.iter().map(|&i| RouterId(i)).collect());
        }
        self.install_statics(cfg, &infos).await?;
        self.accept.dirty = self.accept.filtering;
        self.rebuild_rx_index();
        Ok(())
    }

    /// Builds one instance on its interface `info`: its router (with trackers, not started),
    /// sockets and VMAC, and adds it to the node. On error the VMAC and sysctls it created
    /// stay with the plane (released at exit or by the caller); sockets it opened stay
    /// (shared, pruned later).
    pub(super) async fn place_instance(
        &mut self,
        spec: &InstanceSpec,
        info: &InterfaceInfo,
        infos: &HashMap<String, InterfaceInfo>,
        now: vrrp_core::Instant,
    ) -> Result<RouterId> {
        let router = build_router(spec, info, now)?;
        let family = router.config().family;
        self.plane
            .open_socket((info.index, family), &info.name, OpenOptions::default())?;
        let mut place = Placement::on_interface(spec, router.config(), info, infos)?;
        if let Some(vmac) = &spec.vmac {
            let name = self.vmac_name(vmac, router.config()).await?;
            vmac::attach(
                &mut self.plane,
                &mut place,
                router.config(),
                vmac,
                name,
                info,
            )
            .await?;
        }
        if spec.promote_secondaries && spec.vmac.is_none() {
            // keepalived: an interface that already has it is left alone (and not reset).
            let s = Setting::new(SysFamily::Ipv4, &info.name, "promote_secondaries", 1);
            self.plane.apply_sysctls(&[s])?;
        }
        let rx = (place.rx_ifindex, family);
        if let Some(group) = router.config().mcast_group {
            if router.config().unicast_peers.is_empty() {
                self.plane.join_group(rx, group)?;
            }
        }
        if let Some(bytes) = spec.receive_buffer {
            self.plane.set_receive_buffer(rx, bytes)?;
        }
        self.accept.filtering |= place.filtered;
        let id = self.node.add_router(router);
        if self.places.len() <= id.0 {
            self.places.resize_with(id.0 + 1, || None);
        }
        self.places[id.0] = Some(place);
        Ok(id)
    }

    /// Gives the link trackers of router `id` their states from interface lookups `infos`
    /// (a missing interface is Down).
    pub(super) fn seed_link_trackers(
        &mut self,
        now: vrrp_core::Instant,
        id: RouterId,
        infos: &HashMap<String, InterfaceInfo>,
    ) {
        let Some(place) = self.place(id) else { return };
        let inputs: Vec<Input> = (place.tracked_interfaces.iter())
            .map(|(t, name)| Input::Tracker(*t, link_state(infos.get(name))))
            .collect();
        for input in inputs {
            self.node.handle(now, id, input);
        }
    }

    /// Closes the sockets no live instance uses any more.
    pub(super) fn prune_sockets(&mut self) {
        let used: HashSet<SocketKey> = self
            .node
            .routers()
            .filter_map(|(id, r)| Some(self.place(id)?.socket_keys(r.config().family)))
            .flatten()
            .collect();
        self.plane.retain_sockets(&used);
    }
}

/// A tracked interface's state from its lookup: Up when usable, Down when not or missing.
fn link_state(info: Option<&InterfaceInfo>) -> TrackState {
    match info {
        Some(i) if i.is_usable() => TrackState::Up,
        _ => TrackState::Down,
    }
}
