//! A [`DataPlane`] that writes every operation down instead of touching the kernel, on a
//! virtual clock, and the golden tests that drive the real [`Driver`] with it: a scenario
//! file in `crates/vrrp-net/tests/golden/` holds the input events (`> ` lines) and, under
//! each, the operations and events they caused. The test replays the inputs and compares;
//! `UPDATE_GOLDEN=1 cargo test -p vrrp-net golden` rewrites the files (review the diff).
//!
//! Script lines:
//!
//! | line | what |
//! |---|---|
//! | `interface NAME index=N mac=MAC [ipv4=A] [ipv6=A] [down]` | a host interface |
//! | `instance NAME IF vrid=N [prio=N] vips=A,B [excluded=A,B] [vipdev=A@IF] [route=DST/LEN@IF] [rule=FROM/LEN>TABLE] [accept=off] [vmac] [peers=A,B] [interval=CS] [garp=N] [track=IF] [dont_track_primary]` | before `start`: configured; after: added |
//! | `reconfigure NAME ...` (as `instance`) | [`super::Handle::reconfigure`] |
//! | `remove NAME` | [`super::Handle::remove_instance`] |
//! | `groups G:A,B ...` | before `start`: configured; after: [`super::Handle::set_sync_groups`] |
//! | `start` / `stop` | the driver starts (setup, first outputs) / shuts down |
//! | `run SECS` | virtual time advances to SECS, serving every deadline on the way |
//! | `packet IF from=A vrid=N prio=N [vips=A,B] [interval=CS]` | a VRRPv3 advert arrives |
//! | `link IF up\|down\|deleted` | a link event |
//! | `vip-removed IF A` | someone else removed address A |
//! | `claim IF addr=A mac=MAC` | a frame claiming address A from MAC arrives on a claim watch |

use std::collections::{BTreeSet, HashMap, HashSet, VecDeque};
use std::fmt::Write as _;
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::task::{Context, Poll};

use tokio::sync::broadcast;
use vrrp_core::packet::{self, AdvertSpec, AuthType, ChecksumForm, Family, RxMeta, Version};
use vrrp_core::{Instant, RouterConfig, Tracker, UnicastPeer};

use super::plane::{DataPlane, PlaneInput, RxPacket, SocketKey};
use super::{Driver, DriverConfig, Event, InstanceSpec, VmacSpec};
use crate::conflict::Claim;
use crate::error::{Error, Result};
use crate::netlink::{
    fmt_mac, AddressInfo, InterfaceInfo, MacvlanMode, OperState, VipSpec, VmacFamily,
};
use crate::route::{ResolvedRoute, RouteSpec, RuleSpec};
use crate::socket::OpenOptions;
use crate::sysctl::Setting;

/// The recording data plane.
pub(super) struct RecordingPlane {
    now: Instant,
    interfaces: HashMap<String, InterfaceInfo>,
    /// Every interface name ever seen, by index (deleted VMACs included).
    names: HashMap<u32, String>,
    /// The driver's events, written into the log in the order they were sent relative to
    /// the operations.
    events: broadcast::Receiver<Event>,
    /// Operations since the last [`RecordingPlane::take_log`].
    log: Vec<String>,
    sockets: Vec<SocketKey>,
    /// Packets waiting to be read.
    inbox: VecDeque<(RxPacket, Vec<u8>)>,
    /// Addresses added and not removed.
    addresses: BTreeSet<(u32, IpAddr)>,
    /// The claim watches open.
    watches: BTreeSet<(u32, Family)>,
    /// Claims waiting to be read.
    claims: VecDeque<(u32, Claim)>,
    next_vmac_index: u32,
}

impl RecordingPlane {
    fn new(events: broadcast::Receiver<Event>) -> Self {
        RecordingPlane {
            now: Instant::ZERO,
            interfaces: HashMap::new(),
            names: HashMap::new(),
            events,
            log: Vec::new(),
            sockets: Vec::new(),
            inbox: VecDeque::new(),
            addresses: BTreeSet::new(),
            watches: BTreeSet::new(),
            claims: VecDeque::new(),
            next_vmac_index: 0,
        }
    }

    fn add_interface(&mut self, info: InterfaceInfo) {
        self.names.insert(info.index, info.name.clone());
        self.interfaces.insert(info.name.clone(), info);
    }

    fn name_of(&self, ifindex: u32) -> String {
        self.names
            .get(&ifindex)
            .cloned()
            .unwrap_or_else(|| format!("if{ifindex}"))
    }

    /// Writes an operation down, after the events sent before it.
    fn record(&mut self, line: String) {
        self.drain_events();
        self.log.push(line);
    }

    fn drain_events(&mut self) {
        while let Ok(ev) = self.events.try_recv() {
            self.log.push(describe(ev));
        }
    }

    fn take_log(&mut self) -> Vec<String> {
        self.drain_events();
        std::mem::take(&mut self.log)
    }
}

/// An event as a log line.
fn describe(ev: Event) -> String {
    match ev {
        Event::StateChanged {
            name,
            from,
            to,
            reason,
            priority,
            ..
        } => {
            format!("event {name} {from} -> {to} priority {priority} ({reason})")
        }
        Event::PriorityChanged {
            name,
            from,
            to,
            cause,
            ..
        } => {
            format!("event {name} priority {from} -> {to} ({cause})")
        }
        Event::GroupStateChanged { group, from, to } => {
            format!("event group {group} {from} -> {to}")
        }
        Event::Notice { name, notice, .. } => format!("event {name} notice {notice:?}"),
        Event::LowerPriorityAdvert {
            name,
            from,
            their_priority,
            ..
        } => {
            format!("event {name} lower-priority advert from {from} ({their_priority})")
        }
    }
}

fn family_name(f: Family) -> &'static str {
    match f {
        Family::V4 => "ipv4",
        Family::V6 => "ipv6",
    }
}

impl DataPlane for RecordingPlane {
    fn now(&self) -> Instant {
        self.now
    }

    fn poll_input(&mut self, _cx: &mut Context<'_>) -> Poll<PlaneInput> {
        if self.inbox.is_empty() && self.claims.is_empty() {
            Poll::Pending
        } else {
            Poll::Ready(PlaneInput::Readable)
        }
    }

    fn try_recv(&mut self, buf: &mut [u8]) -> Option<RxPacket> {
        let (pkt, bytes) = self.inbox.pop_front()?;
        buf[..bytes.len()].copy_from_slice(&bytes);
        Some(pkt)
    }

    async fn interfaces(&mut self, names: &[&str]) -> Result<HashMap<String, InterfaceInfo>> {
        Ok(names
            .iter()
            .filter_map(|n| self.interfaces.get(*n).map(|i| (n.to_string(), i.clone())))
            .collect())
    }

    fn open_socket(&mut self, key: SocketKey, ifname: &str, opts: OpenOptions) -> Result<()> {
        if !self.sockets.contains(&key) {
            self.sockets.push(key);
            let mode = match (opts.join_group, opts.receive) {
                (true, true) => "join+receive",
                (false, false) => "send-only",
                _ => "receive",
            };
            let free = if opts.nonlocal_source {
                " freebind"
            } else {
                ""
            };
            self.record(format!(
                "socket open {ifname} {} {mode}{free}",
                family_name(key.1)
            ));
        }
        Ok(())
    }

    fn join_group(&mut self, key: SocketKey, group: IpAddr) -> Result<()> {
        let name = self.name_of(key.0);
        self.record(format!("socket {name} {} join {group}", family_name(key.1)));
        Ok(())
    }

    fn set_receive_buffer(&mut self, key: SocketKey, bytes: usize) -> Result<()> {
        let name = self.name_of(key.0);
        self.record(format!(
            "socket {name} {} receive buffer {bytes}",
            family_name(key.1)
        ));
        Ok(())
    }

    fn retain_sockets(&mut self, used: &HashSet<SocketKey>) {
        let gone: Vec<SocketKey> = self
            .sockets
            .iter()
            .filter(|k| !used.contains(k))
            .copied()
            .collect();
        self.sockets.retain(|k| used.contains(k));
        for key in gone {
            let name = self.name_of(key.0);
            self.record(format!("socket close {name} {}", family_name(key.1)));
        }
    }

    async fn send_advert(
        &mut self,
        key: SocketKey,
        payload: &[u8],
        src: IpAddr,
        dst: IpAddr,
        ttl: Option<u8>,
    ) -> Result<()> {
        let meta = RxMeta {
            src,
            dst,
            ttl: ttl.unwrap_or(255),
            ifindex: key.0,
        };
        let adv = packet::parse(payload, meta).expect("the driver sends valid adverts");
        let addrs: Vec<String> = adv.addrs.iter().map(|a| a.to_string()).collect();
        let ttl = ttl.map(|t| format!(" ttl {t}")).unwrap_or_default();
        let line = format!(
            "advert {} v{} vrid {} prio {} interval {}cs {src} -> {dst}{ttl} [{}]",
            self.name_of(key.0),
            if adv.version == Version::V3 { 3 } else { 2 },
            adv.vrid,
            adv.priority,
            adv.interval_cs,
            addrs.join(" "),
        );
        self.record(line);
        Ok(())
    }

    async fn add_addresses(&mut self, adds: &[(u32, VipSpec)]) -> Vec<Result<()>> {
        let mut results = Vec::new();
        let mut text = Vec::new();
        for (ifindex, spec) in adds {
            let fresh = self.addresses.insert((*ifindex, spec.addr));
            let label = spec
                .label
                .as_deref()
                .map(|l| format!(" label {l}"))
                .unwrap_or_default();
            text.push(format!(
                "{}/{} dev {}{label}",
                spec.addr,
                spec.prefix_len,
                self.name_of(*ifindex)
            ));
            results.push(if fresh {
                Ok(())
            } else {
                Err(Error::AddressExists {
                    context: spec.addr.to_string(),
                })
            });
        }
        let line = match text.len() {
            1 => format!("address add {}", text[0]),
            n => format!("address add {n} pipelined: {}", text.join(", ")),
        };
        self.record(line);
        results
    }

    async fn del_address(
        &mut self,
        ifindex: u32,
        addr: IpAddr,
        prefix_len: u8,
        peer: Option<IpAddr>,
    ) -> Result<()> {
        self.addresses.remove(&(ifindex, addr));
        let peer = peer.map(|p| format!(" peer {p}")).unwrap_or_default();
        let line = format!(
            "address del {addr}/{prefix_len}{peer} dev {}",
            self.name_of(ifindex)
        );
        self.record(line);
        Ok(())
    }

    async fn renew_address(&mut self, ifindex: u32, vip: &VipSpec) -> Result<()> {
        let line = format!("address renew {} dev {}", vip.addr, self.name_of(ifindex));
        self.record(line);
        Ok(())
    }

    async fn list_addresses(&mut self) -> Result<Vec<AddressInfo>> {
        Ok(Vec::new())
    }

    async fn add_route(&mut self, route: &ResolvedRoute) -> Result<()> {
        let dev = (route.oif)
            .map(|i| format!(" (oif {})", self.name_of(i)))
            .unwrap_or_default();
        self.record(format!("route add {}{dev}", route.spec));
        Ok(())
    }

    async fn del_route(&mut self, route: &ResolvedRoute) -> Result<()> {
        self.record(format!("route del {}", route.spec));
        Ok(())
    }

    async fn add_rule(&mut self, rule: &RuleSpec) -> Result<()> {
        self.record(format!("rule add {rule}"));
        Ok(())
    }

    async fn del_rule(&mut self, rule: &RuleSpec) -> Result<()> {
        self.record(format!("rule del {rule}"));
        Ok(())
    }

    async fn create_vmac(
        &mut self,
        parent: &InterfaceInfo,
        name: &str,
        vrid: u8,
        family: VmacFamily,
        mode: MacvlanMode,
    ) -> Result<u32> {
        self.next_vmac_index += 1;
        let index = 100 + self.next_vmac_index;
        let mac = family.mac(vrid);
        self.add_interface(InterfaceInfo {
            index,
            name: name.to_string(),
            mac: Some(mac),
            parent: Some(parent.index),
            kind: Some("macvlan".into()),
            ..parent.clone()
        });
        self.record(format!(
            "vmac create {name} on {} mac {} {mode:?}",
            parent.name,
            fmt_mac(&mac)
        ));
        Ok(index)
    }

    async fn delete_vmac(&mut self, ifindex: u32) -> Result<()> {
        let name = self.name_of(ifindex);
        self.interfaces.remove(&name);
        self.record(format!("vmac delete {name}"));
        Ok(())
    }

    fn apply_sysctls(&mut self, settings: &[Setting]) -> Result<()> {
        let text: Vec<String> = settings
            .iter()
            .map(|s| format!("{}.{}={}", s.ifname, s.key, s.value))
            .collect();
        self.record(format!("sysctl {}", text.join(" ")));
        Ok(())
    }

    async fn announce(&mut self, ifindex: u32, mac: [u8; 6], addr: IpAddr) {
        let kind = if addr.is_ipv4() { "garp" } else { "na" };
        let line = format!(
            "announce {kind} {addr} dev {} mac {}",
            self.name_of(ifindex),
            fmt_mac(&mac)
        );
        self.record(line);
    }

    fn watch_claims(&mut self, watched: &HashSet<SocketKey>) {
        let want: BTreeSet<(u32, Family)> = watched.iter().copied().collect();
        let gone: Vec<_> = self.watches.difference(&want).copied().collect();
        let new: Vec<_> = want.difference(&self.watches).copied().collect();
        for (ifindex, family) in gone {
            let line = format!(
                "claim watch close {} {}",
                self.name_of(ifindex),
                family_name(family)
            );
            self.record(line);
        }
        for (ifindex, family) in new {
            let line = format!(
                "claim watch open {} {}",
                self.name_of(ifindex),
                family_name(family)
            );
            self.record(line);
        }
        self.watches = want;
    }

    fn try_recv_claim(&mut self) -> Option<(u32, Claim)> {
        self.claims.pop_front()
    }

    async fn probe(&mut self, ifindex: u32, mac: [u8; 6], addr: IpAddr) {
        let kind = if addr.is_ipv4() { "arp" } else { "ns" };
        let line = format!(
            "probe {kind} {addr} dev {} mac {}",
            self.name_of(ifindex),
            fmt_mac(&mac)
        );
        self.record(line);
    }

    async fn set_filter(&mut self, vips: &BTreeSet<IpAddr>) -> Result<()> {
        let list: Vec<String> = vips.iter().map(|a| a.to_string()).collect();
        let line = if list.is_empty() {
            "filter removed".to_string()
        } else {
            format!("filter drop to [{}]", list.join(" "))
        };
        self.record(line);
        Ok(())
    }

    async fn release(&mut self) {
        self.sockets.clear();
        self.record("release".into());
    }
}

/// A scenario run: the driver on the recording plane, the configuration before `start`, the
/// instance names, and the events subscribed to.
struct Scenario {
    driver: Driver<RecordingPlane>,
    cfg: DriverConfig,
    started: bool,
    names: Vec<(String, usize)>,
}

/// A MAC written `02:00:00:00:00:0a`.
fn parse_mac(m: &str) -> [u8; 6] {
    let b: Vec<u8> = m
        .split(':')
        .map(|x| u8::from_str_radix(x, 16).unwrap())
        .collect();
    [b[0], b[1], b[2], b[3], b[4], b[5]]
}

/// `key=value` words of a script line.
fn kv<'a>(words: &'a [&'a str], key: &str) -> Option<&'a str> {
    words
        .iter()
        .find_map(|w| w.strip_prefix(key)?.strip_prefix('='))
}

fn flag(words: &[&str], name: &str) -> bool {
    words.contains(&name)
}

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap_or_else(|_| panic!("bad address {s}"))
}

fn ips(s: &str) -> Vec<IpAddr> {
    s.split(',').map(ip).collect()
}

fn num<T: std::str::FromStr>(words: &[&str], key: &str, default: T) -> T {
    kv(words, key).map_or(default, |v| {
        v.parse().unwrap_or_else(|_| panic!("bad {key}={v}"))
    })
}

/// An instance from `instance NAME IF ...` words (after the keyword).
fn instance_spec(words: &[&str]) -> InstanceSpec {
    let (name, ifname) = (words[0], words[1]);
    let vips = ips(kv(words, "vips").expect("vips="));
    let family = Family::of(vips[0]);
    let unspecified = match family {
        Family::V4 => ip("0.0.0.0"),
        Family::V6 => ip("::"),
    };
    let mut cfg = RouterConfig::new(name, num(words, "vrid", 1), unspecified, vips);
    cfg.priority = num(words, "prio", 100);
    cfg.advert_interval_cs = num(words, "interval", 100);
    cfg.accept_mode = kv(words, "accept") != Some("off");
    cfg.announce.burst_count = num(words, "garp", 5);
    cfg.require_link_local_first = false;
    if let Some(peers) = kv(words, "peers") {
        cfg.unicast_peers = ips(peers).into_iter().map(UnicastPeer::new).collect();
    }
    if let Some(ex) = kv(words, "excluded") {
        cfg.excluded_vips = ips(ex);
    }
    let mut spec = InstanceSpec::new(cfg, ifname);
    for w in words.iter().filter_map(|w| w.strip_prefix("vipdev=")) {
        let (addr, dev) = w.split_once('@').expect("vipdev=ADDR@DEV");
        spec.vip_interfaces.push((ip(addr), dev.to_string()));
    }
    for w in words.iter().filter_map(|w| w.strip_prefix("route=")) {
        let (dst, dev) = w.split_once('@').expect("route=DST/LEN@DEV");
        let (a, l) = dst.split_once('/').expect("DST/LEN");
        let mut r = RouteSpec::new(ip(a), l.parse().unwrap());
        r.dev = Some(dev.to_string());
        spec.routes.push(r);
    }
    for w in words.iter().filter_map(|w| w.strip_prefix("rule=")) {
        let (from, table) = w.split_once('>').expect("rule=FROM/LEN>TABLE");
        let (a, l) = from.split_once('/').expect("FROM/LEN");
        spec.rules.push(crate::route::RuleSpec {
            ipv6: ip(a).is_ipv6(),
            from: Some((ip(a), l.parse().unwrap())),
            to: None,
            kind: crate::route::RuleKind::Lookup(table.parse().unwrap()),
            priority: 100,
            iif: None,
            oif: None,
            fwmark: None,
            tos: None,
            invert: false,
            protocol: crate::route::RTPROT_KEEPALIVED,
        });
    }
    spec.track_link = !flag(words, "dont_track_primary");
    if flag(words, "vmac") {
        spec.vmac = Some(VmacSpec::new());
    }
    if let Some(track) = kv(words, "track") {
        spec.trackers
            .push(Tracker::binary(&format!("interface {track}"), 0, false));
        spec.tracked_interfaces.push((0, track.to_string()));
    }
    spec
}

impl Scenario {
    fn new() -> Self {
        let (tx, rx) = broadcast::channel(1024);
        let cfg = DriverConfig::new(Vec::new());
        Scenario {
            driver: Driver::new(RecordingPlane::new(rx), &cfg, tx, "golden".into()),
            cfg,
            started: false,
            names: Vec::new(),
        }
    }

    fn index(&self, name: &str) -> usize {
        self.names
            .iter()
            .find(|(n, _)| n == name)
            .unwrap_or_else(|| panic!("no instance {name}"))
            .1
    }

    /// Runs one script line; returns what it caused.
    async fn step(&mut self, line: &str) -> Vec<String> {
        let words: Vec<&str> = line.split_whitespace().collect();
        let (verb, args) = words.split_first().expect("empty script line");
        let mut out = Vec::new();
        match *verb {
            "interface" => self.interface(args),
            "instance" if !self.started => {
                self.names
                    .push((args[0].to_string(), self.cfg.instances.len()));
                self.cfg.instances.push(instance_spec(args));
            }
            "instance" => match self.driver.add_instance(instance_spec(args)).await {
                Ok(i) => self.names.push((args[0].to_string(), i)),
                Err(e) => out.push(format!("error: {e}")),
            },
            "reconfigure" => {
                let i = self.index(args[0]);
                if let Err(e) = self.driver.reconfigure(i, instance_spec(args)).await {
                    out.push(format!("error: {e}"));
                }
            }
            "remove" => {
                let i = self.index(args[0]);
                if let Err(e) = self.driver.remove_instance(i).await {
                    out.push(format!("error: {e}"));
                }
            }
            "groups" => {
                let groups: Vec<(String, Vec<usize>)> = (args.iter())
                    .map(|g| {
                        let (name, members) = g.split_once(':').expect("G:A,B");
                        let members = members.split(',').map(|m| self.index(m)).collect();
                        (name.to_string(), members)
                    })
                    .collect();
                if self.started {
                    if let Err(e) = self.driver.set_sync_groups(groups).await {
                        out.push(format!("error: {e}"));
                    }
                } else {
                    self.cfg.sync_groups = groups;
                }
            }
            "start" => {
                self.started = true;
                if let Err(e) = self.driver.setup(&self.cfg.clone()).await {
                    out.push(format!("error: {e}"));
                }
                self.driver.start_routers().await;
            }
            "stop" => self.driver.stop().await,
            "run" => self.run_until(args[0].parse().expect("run SECS")).await,
            "packet" => {
                self.packet(args);
                self.driver.serve_queued(64);
                self.driver.execute().await;
            }
            "link" => {
                let info = self.driver.plane.interfaces[args[0]].clone();
                let (ifindex, name) = (info.index, info.name.clone());
                let ev = match args[1] {
                    "up" => crate::watch::LinkEvent::Up { ifindex, name },
                    "down" => crate::watch::LinkEvent::Down { ifindex, name },
                    "deleted" => crate::watch::LinkEvent::Deleted { ifindex, name },
                    other => panic!("link {other}?"),
                };
                self.driver.on_net_event(crate::watch::NetEvent::Link(ev));
                self.driver.execute().await;
            }
            "vip-removed" => {
                let ifindex = self.driver.plane.interfaces[args[0]].index;
                let addr = ip(args[1]);
                self.driver.plane.addresses.remove(&(ifindex, addr));
                let ev = crate::watch::AddrEvent::Removed {
                    ifindex,
                    addr,
                    prefix_len: 32,
                };
                self.driver.on_net_event(crate::watch::NetEvent::Addr(ev));
                self.driver.execute().await;
            }
            "claim" => {
                let info = &self.driver.plane.interfaces[args[0]];
                let addr = ip(kv(args, "addr").expect("addr="));
                let mac = parse_mac(kv(args, "mac").expect("mac="));
                self.driver
                    .plane
                    .claims
                    .push_back((info.index, Claim { addr, mac }));
                self.driver.serve_queued(64);
                self.driver.execute().await;
            }
            other => panic!("unknown script line: {other}"),
        }
        out.extend(self.driver.plane.take_log());
        out
    }

    fn interface(&mut self, args: &[&str]) {
        let name = args[0].to_string();
        let mac = kv(args, "mac").map(parse_mac);
        let up = !flag(args, "down");
        let info = InterfaceInfo {
            index: num(args, "index", 2),
            name: name.clone(),
            mac,
            up,
            lower_up: up,
            running: up,
            noarp: false,
            oper_state: OperState::Up,
            mtu: Some(1500),
            parent: None,
            kind: Some("veth".into()),
            primary_ipv4: kv(args, "ipv4").map(|a| (a.parse().unwrap(), 24)),
            ipv6_link_local: kv(args, "ipv6").map(|a| a.parse().unwrap()),
            addresses: (kv(args, "ipv4").into_iter().chain(kv(args, "ipv6")))
                .map(ip)
                .collect(),
        };
        self.driver.plane.add_interface(info);
    }

    /// Queues a VRRPv3 advert from a peer.
    fn packet(&mut self, args: &[&str]) {
        let info = &self.driver.plane.interfaces[args[0]];
        let src = ip(kv(args, "from").expect("from="));
        let vips = kv(args, "vips").map_or_else(|| vec![ip("192.0.2.1")], ips);
        let dst = if Family::of(src) == Family::V4 {
            IpAddr::V4(packet::MCAST_V4)
        } else {
            IpAddr::V6(packet::MCAST_V6)
        };
        let spec = AdvertSpec {
            version: Version::V3,
            vrid: num(args, "vrid", 1),
            priority: num(args, "prio", 100),
            interval_cs: num(args, "interval", 100),
            addrs: &vips,
            checksum_form: ChecksumForm::Rfc9568,
            auth_type: AuthType::None,
            auth_data: [0; 8],
        };
        let mut buf = vec![0u8; 4096];
        let len = packet::build(&spec, src, dst, &mut buf).expect("a valid advert");
        buf.truncate(len);
        let meta = RxMeta {
            src,
            dst,
            ttl: 255,
            ifindex: info.index,
        };
        let pkt = RxPacket {
            ifindex: info.index,
            meta,
            len,
        };
        self.driver.plane.inbox.push_back((pkt, buf));
    }

    /// Advances virtual time to `secs`, serving each deadline at its instant.
    async fn run_until(&mut self, secs: f64) {
        let end = Instant::from_micros((secs * 1e6).round() as u64);
        while let Some(t) = self.driver.node.poll_timeout().filter(|&t| t <= end) {
            self.driver.plane.now = t;
            self.driver.node.handle_timeout(t);
            self.driver.plane.drain_events();
            let before = self.driver.plane.log.len();
            self.driver.execute().await;
            self.driver.plane.drain_events();
            if self.driver.plane.log.len() > before {
                let at = format!("@{:.6}", t.as_micros() as f64 / 1e6);
                self.driver.plane.log.insert(before, at);
            }
        }
        self.driver.plane.now = self.driver.plane.now.max(end);
    }
}

/// Runs the script of a golden file and renders the file it should be.
async fn render(text: &str) -> String {
    let mut scenario = Scenario::new();
    let mut out = String::new();
    for line in text.lines() {
        if let Some(comment) = line.strip_prefix('#') {
            let _ = writeln!(out, "#{comment}");
            continue;
        }
        let Some(input) = line.strip_prefix("> ") else {
            continue;
        };
        let _ = writeln!(out, "> {input}");
        for op in scenario.step(input).await {
            let _ = writeln!(out, "    {op}");
        }
    }
    out
}

fn golden_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden")
}

#[test]
fn golden_recorded_operations_match() {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let update = std::env::var_os("UPDATE_GOLDEN").is_some();
    let mut files: Vec<PathBuf> = std::fs::read_dir(golden_dir())
        .expect("crates/vrrp-net/tests/golden exists")
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "txt"))
        .collect();
    files.sort();
    assert!(!files.is_empty(), "no golden scenarios");
    let mut failed = Vec::new();
    for path in &files {
        let text = std::fs::read_to_string(path).unwrap();
        let got = rt.block_on(render(&text));
        if got != text {
            if update {
                std::fs::write(path, &got).unwrap();
            } else {
                failed.push(format!(
                    "{}: differs; expected (as recorded now):\n{got}",
                    path.display()
                ));
            }
        }
    }
    assert!(failed.is_empty(), "{}", failed.join("\n"));
}

/// [`Driver::status`] reports when the state was entered (put on the wall clock when the
/// change happened) and the next deadline on the wall clock, the VIPs the driver holds and
/// whether a Fault is the router's own.
#[test]
fn status_reports_wall_times_installed_vips_and_own_fault() {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let mut s = Scenario::new();
        for line in [
            "interface eth0 index=2 mac=02:00:00:00:00:0a ipv4=192.0.2.10",
            "instance VI_1 eth0 vrid=1 prio=100 vips=192.0.2.1,192.0.2.2",
            "start",
            "run 10",
        ] {
            s.step(line).await;
        }
        let before = std::time::SystemTime::now();
        let st = s.driver.status();
        let after = std::time::SystemTime::now();
        let i = &st.instances[0];
        assert_eq!(i.router.state, vrrp_core::State::Active);
        assert_eq!(i.installed_vips, ips("192.0.2.1,192.0.2.2"));
        assert!(!i.own_fault);
        // Active since the end of Master_Down_Interval (about 3.6 s); now is 10 s.
        let since = i.router.since.expect("a transition happened");
        let ago = std::time::Duration::from(s.driver.now().saturating_since(since));
        assert!(ago > std::time::Duration::from_secs(6), "{ago:?}");
        // Put on the wall clock when the change was reported (the virtual clock stood at
        // the change then, so here: the real time of that step), the same in every snapshot.
        let wall = i.since.expect("a wall time");
        assert!(wall <= before && wall + std::time::Duration::from_secs(60) > before);
        assert_eq!(s.driver.status().instances[0].since, Some(wall), "stable");
        // The next advert is due within the advert interval.
        let next = i.next_timeout.expect("an advert timer runs");
        assert!(next >= before && next <= after + std::time::Duration::from_secs(1));

        s.step("link eth0 down").await;
        let i = &s.driver.status().instances[0];
        assert_eq!(i.router.state, vrrp_core::State::Fault);
        assert!(i.own_fault);
        assert!(i.installed_vips.is_empty());
    });
}
