//! From a keepalived.conf to the namespace it needs: every interface the file names, with
//! documentation addresses, built on the [`Lab`] machinery (one segment per interface).
//!
//! Interfaces are taken from `interface`, `track_interface`, `dev` (addresses and routes),
//! `iif` / `oif` (routes and rules) and `unicast_src_ip` / `mcast_src_ip` (which need the
//! address on the instance's interface). `lo` and the VMACs the daemon creates itself
//! (`use_vmac NAME`, default `vrrp.VRID`) are left out. `eth0` is the lab's own interface
//! (segment `lan`, `192.0.2.N/24`, `2001:db8:1::N/64`, `fe80::N`); every other interface is
//! a veth into a bridge of its own (segment `ifK`, `K` = 1, 2, ... in order of first mention)
//! with MAC `02:00:00:00:S:N`, `203.0.113.(16(K-1)+N)/28`, `2001:db8:(100+K)::N/64` and
//! `fe80::N/64` (no kernel-generated IPv6 address: `addrgenmode none`), where `N` is the
//! host's number (1, or 2 for the second node of a pair).
//!
//! Addresses a file needs beyond those are added: `unicast_src_ip` / `mcast_src_ip` (as /24
//! or /64 on the instance's interface) and, for every route gateway (`via` / `gw` / `or`)
//! not on a connected subnet of its device, `.253` of the gateway's /24 (or `::fd` of its
//! /64) on that device. So corpus files should keep their VIPs out of 203.0.113.0/24.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::time::Duration;

use super::conf::Node;
use crate::error::{Error, Result};
use crate::lab::{add_veth, Host, Lab, HOST_IFACE};
use crate::util::format_mac;

/// One interface the configuration needs, with the addresses a host `N` gets on it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IfacePlan {
    /// The interface name, as the configuration spells it.
    pub name: String,
    /// 0 for `eth0` (the lab's), else the extra segment number `K` (1-based).
    pub k: u8,
    /// Addresses the configuration needs on top of the standard ones (prefix length given).
    pub extra: Vec<(IpAddr, u8)>,
}

/// Timing and names of one `vrrp_instance`, for settling.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InstanceFacts {
    /// The instance name.
    pub name: String,
    /// Its advertisement interval.
    pub advert: Duration,
}

/// What a configuration needs from the lab and how long it may take to settle.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Topology {
    /// Interfaces in order of first mention (`eth0` only if named; it always exists).
    pub ifaces: Vec<IfacePlan>,
    /// The instances.
    pub instances: Vec<InstanceFacts>,
    /// `vrrp_startup_delay` (global).
    pub startup_delay: Duration,
    /// Interfaces whose carrier the harness takes away after wiring (`# diff-down: IF`).
    pub down: Vec<String>,
    /// Addresses the harness must not add although the file uses them as a source
    /// (`# diff-no-address: IP`), e.g. to test `track_src_ip`.
    pub no_address: Vec<IpAddr>,
    /// Addresses the configuration itself puts on a device (VIPs, excluded, static), which
    /// make a gateway reachable once they are in place.
    config_addrs: Vec<(String, IpAddr, u8)>,
}

/// The directive that takes an interface's carrier away: `# diff-down: eth1`.
pub const DOWN_DIRECTIVE: &str = "# diff-down:";
/// The directive that keeps the harness from adding a source address: `# diff-no-address: IP`.
pub const NO_ADDRESS_DIRECTIVE: &str = "# diff-no-address:";

/// The most extra interfaces a file may name (the /28 blocks of 203.0.113.0/24).
pub const MAX_EXTRA_IFACES: usize = 15;

fn strip(w: &str) -> &str {
    w.trim_matches('"')
}

/// Seconds as keepalived writes them (`1`, `0.5`) to a duration; `None` if not a number.
fn seconds(w: &str) -> Option<Duration> {
    let s: f64 = strip(w).parse().ok()?;
    (s.is_finite() && s >= 0.0).then(|| Duration::from_secs_f64(s))
}

/// The address part of `a.b.c.d/len` or `a.b.c.d`.
fn addr_of(w: &str) -> Option<IpAddr> {
    strip(w).split('/').next()?.parse().ok()
}

/// The word after `key` in `words`.
fn after<'a>(words: &'a [String], key: &str) -> Option<&'a str> {
    let i = words.iter().position(|w| w == key)?;
    words.get(i + 1).map(String::as_str)
}

impl Topology {
    /// Reads what the configuration `text` (parsed as `top`, see [`super::conf::parse`])
    /// needs, with the harness directives in its comments.
    pub fn from_config(text: &str, top: &[Node]) -> Result<Topology> {
        let mut t = Topology::default();
        for l in text.lines().map(str::trim_start) {
            if let Some(rest) = l.strip_prefix(DOWN_DIRECTIVE) {
                t.down.extend(rest.split_whitespace().map(str::to_string));
            } else if let Some(rest) = l.strip_prefix(NO_ADDRESS_DIRECTIVE) {
                for w in rest.split_whitespace() {
                    let a = addr_of(w).ok_or_else(|| {
                        Error::Invalid(format!("{NO_ADDRESS_DIRECTIVE} {w:?} is not an address"))
                    })?;
                    t.no_address.push(a);
                }
            }
        }
        let mut names: Vec<String> = Vec::new();
        let mut vmacs: Vec<String> = Vec::new();
        // (interface, address, prefix) the file needs; (device, gateway) of routes.
        let mut needs: Vec<(String, IpAddr, u8)> = Vec::new();
        let mut gateways: Vec<(String, IpAddr)> = Vec::new();
        for node in top {
            match node.keyword() {
                "global_defs" => {
                    if let Some(d) = node.child_arg("vrrp_startup_delay").and_then(seconds) {
                        t.startup_delay = d;
                    }
                }
                "vrrp_instance" => {
                    let iface = node
                        .child_arg("interface")
                        .unwrap_or(HOST_IFACE)
                        .to_string();
                    push_unique(&mut names, &iface);
                    let vrid = node.child_arg("virtual_router_id").unwrap_or("0");
                    if let Some(v) = node.child("use_vmac") {
                        vmacs.push(v.arg().map_or(format!("vrrp.{vrid}"), |a| strip(a).into()));
                    }
                    for key in ["unicast_src_ip", "mcast_src_ip"] {
                        if let Some(a) = node.child_arg(key).and_then(addr_of) {
                            needs.push((iface.clone(), a, if a.is_ipv4() { 24 } else { 64 }));
                        }
                    }
                    t.instances.push(InstanceFacts {
                        name: node.arg().unwrap_or("").to_string(),
                        advert: node
                            .child_arg("advert_int")
                            .and_then(seconds)
                            .unwrap_or(Duration::from_secs(1)),
                    });
                    for c in &node.children {
                        if c.keyword() == "track_interface" {
                            for ti in &c.children {
                                push_unique(&mut names, ti.keyword());
                            }
                        }
                    }
                    collect_devices(node, &iface, &mut names, &mut gateways, &mut t.config_addrs);
                }
                _ => collect_devices(
                    node,
                    HOST_IFACE,
                    &mut names,
                    &mut gateways,
                    &mut t.config_addrs,
                ),
            }
        }
        names.retain(|n| n != "lo" && !vmacs.contains(n));
        let mut k = 0u8;
        for n in names {
            validate_ifname(&n)?;
            let this_k = if n == HOST_IFACE {
                0
            } else {
                k += 1;
                k
            };
            t.ifaces.push(IfacePlan {
                name: n,
                k: this_k,
                extra: Vec::new(),
            });
        }
        if usize::from(k) > MAX_EXTRA_IFACES {
            return Err(Error::Invalid(format!(
                "the configuration names {k} interfaces besides eth0; the harness gives at most \
                 {MAX_EXTRA_IFACES} their own segment"
            )));
        }
        for (iface, addr, len) in needs {
            if t.no_address.contains(&addr) {
                continue;
            }
            if let Some(p) = t.ifaces.iter_mut().find(|p| p.name == iface) {
                if !p.extra.iter().any(|(a, _)| *a == addr) {
                    p.extra.push((addr, len));
                }
            }
        }
        for (dev, gw) in gateways {
            t.cover_gateway(&dev, gw);
        }
        Ok(t)
    }

    /// Adds an address on `dev` whose subnet holds `gw`, unless one (standard or extra, for
    /// host 1 or 2) already does.
    fn cover_gateway(&mut self, dev: &str, gw: IpAddr) {
        let Some(i) = self.ifaces.iter().position(|p| p.name == dev) else {
            return;
        };
        let p = &self.ifaces[i];
        let covered = [1u8, 2]
            .iter()
            .flat_map(|&n| standard_addrs(p.k, n))
            .chain(p.extra.iter().copied())
            .chain(
                self.config_addrs
                    .iter()
                    .filter(|(d, _, _)| d == dev)
                    .map(|&(_, a, len)| (a, len)),
            )
            .any(|(a, len)| same_subnet(a, gw, len));
        if covered {
            return;
        }
        let own = match gw {
            IpAddr::V4(g) => {
                let o = g.octets();
                let host = if o[3] == 253 { 252 } else { 253 };
                (IpAddr::V4(Ipv4Addr::new(o[0], o[1], o[2], host)), 24)
            }
            IpAddr::V6(g) => {
                let mut s = g.segments();
                let host = if s[7] == 0xfd { 0xfc } else { 0xfd };
                s[4..].copy_from_slice(&[0, 0, 0, host]);
                (IpAddr::V6(Ipv6Addr::from(s)), 64)
            }
        };
        self.ifaces[i].extra.push(own);
    }

    /// The longest time the instances may need to reach their state with no peer: the
    /// startup delay plus four advert intervals (three plus skew), plus 2 s of slack.
    pub fn settle_deadline(&self) -> Duration {
        let advert = self
            .instances
            .iter()
            .map(|i| i.advert)
            .max()
            .unwrap_or(Duration::from_secs(1));
        self.startup_delay + advert * 4 + Duration::from_secs(2)
    }

    /// The number of extra segments (interfaces other than `eth0`).
    pub fn extra_segments(&self) -> u8 {
        self.ifaces.iter().map(|p| p.k).max().unwrap_or(0)
    }

    /// A lab with hosts `hosts` (numbered 1, 2, ...) on `lan` plus one empty segment per
    /// extra interface; [`Topology::wire`] then plugs the interfaces in.
    pub fn build_lab(&self, hosts: &[&str]) -> Result<Lab> {
        let mut b = Lab::builder().segment("lan");
        for h in hosts {
            b = b.router(h);
        }
        for k in 1..=self.extra_segments() {
            b = b.segment(&format!("if{k}"));
        }
        b.build()
    }

    /// Creates and addresses every interface of the plan in `host` (number `n`), each one a
    /// veth whose other end joins the bridge of its segment, and adds the extra addresses.
    pub fn wire(&self, lab: &Lab, host: &Host) -> Result<()> {
        let n = host.index;
        for p in &self.ifaces {
            if p.k > 0 {
                let seg = lab.segment(&format!("if{}", p.k));
                let port = format!("vnx{}h{n}", p.k);
                add_veth(&seg.netns, &port, &p.name, host.netns.name())?;
                let mac = format_mac(&[0x02, 0, 0, 0, seg.index, n]);
                host.netns.ip(&[
                    "link",
                    "set",
                    &p.name,
                    "address",
                    &mac,
                    "addrgenmode",
                    "none",
                ])?;
                ipv6_conf(host, &p.name, "keep_addr_on_down", "1")?;
                ipv6_conf(host, &p.name, "accept_dad", "0")?;
                for (a, len) in standard_addrs(p.k, n) {
                    add_addr(host, &p.name, a, len)?;
                }
                host.netns.ip(&["link", "set", &p.name, "up"])?;
                // A carrier-less interface never gets one: its bridge port stays down, so
                // that IPv6 never sees the link ready (whether it did, briefly, decided
                // whether the kernel's ff00::/8 route was there: a flaky difference).
                let state = if self.down.contains(&p.name) {
                    "down"
                } else {
                    "up"
                };
                seg.netns
                    .ip(&["link", "set", &port, "master", &seg.bridge, state])?;
            }
            if p.k == 0 && self.down.contains(&p.name) {
                host.unplug()?;
            }
            for &(a, len) in &p.extra {
                let standard = standard_addrs(p.k, n).into_iter().any(|(s, _)| s == a);
                if !standard {
                    add_addr(host, &p.name, a, len)?;
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
impl Topology {
    fn from_config_text(text: &str) -> Result<Topology> {
        Topology::from_config(text, &super::conf::parse(text))
    }
}

fn push_unique(names: &mut Vec<String>, n: &str) {
    let n = strip(n).to_string();
    if !names.contains(&n) {
        names.push(n);
    }
}

/// Writes `net/ipv6/conf/DEV/KEY` in the host's namespace (the device name may contain dots,
/// which [`crate::Netns::sysctl`] would read as separators).
fn ipv6_conf(host: &Host, dev: &str, key: &str, value: &str) -> Result<()> {
    let path = format!("/proc/sys/net/ipv6/conf/{dev}/{key}");
    host.netns
        .run(|| std::fs::write(&path, value))?
        .map_err(|e| Error::io(format!("write {value} to {path}"), e))
}

fn add_addr(host: &Host, dev: &str, a: IpAddr, len: u8) -> Result<()> {
    let cidr = format!("{a}/{len}");
    let mut args = vec!["addr", "add", &cidr, "dev", dev];
    if a.is_ipv6() {
        args.push("nodad");
    }
    host.netns.ip(&args).map(drop)
}

/// The standard addresses of host `n` on extra segment `k` (none for `eth0`, which the lab
/// addresses itself).
fn standard_addrs(k: u8, n: u8) -> Vec<(IpAddr, u8)> {
    if k == 0 {
        return vec![
            (IpAddr::V4(Ipv4Addr::new(192, 0, 2, n)), 24),
            (
                IpAddr::V6(Ipv6Addr::new(0x2001, 0xdb8, 1, 0, 0, 0, 0, n.into())),
                64,
            ),
        ];
    }
    vec![
        (IpAddr::V4(Ipv4Addr::new(203, 0, 113, 16 * (k - 1) + n)), 28),
        (
            IpAddr::V6(Ipv6Addr::new(
                0x2001,
                0xdb8,
                0x100 + u16::from(k),
                0,
                0,
                0,
                0,
                n.into(),
            )),
            64,
        ),
        (
            IpAddr::V6(Ipv6Addr::new(0xfe80, 0, 0, 0, 0, 0, 0, n.into())),
            64,
        ),
    ]
}

fn same_subnet(a: IpAddr, b: IpAddr, len: u8) -> bool {
    match (a, b) {
        (IpAddr::V4(a), IpAddr::V4(b)) => {
            let mask = u32::MAX
                .checked_shl(32 - u32::from(len.min(32)))
                .unwrap_or(0);
            u32::from(a) & mask == u32::from(b) & mask
        }
        (IpAddr::V6(a), IpAddr::V6(b)) => {
            let mask = u128::MAX
                .checked_shl(128 - u32::from(len.min(128)))
                .unwrap_or(0);
            u128::from(a) & mask == u128::from(b) & mask
        }
        _ => false,
    }
}

fn validate_ifname(n: &str) -> Result<()> {
    let ok = !n.is_empty()
        && n.len() <= 15
        && n != "."
        && n != ".."
        && n.bytes()
            .all(|b| b.is_ascii_graphic() && b != b'/' && b != b':');
    if ok {
        Ok(())
    } else {
        Err(Error::Invalid(format!(
            "interface name {n:?} is not a valid Linux interface name (1-15 characters, no '/' \
             or ':')"
        )))
    }
}

/// Devices and gateways named in `node`'s address, route and rule lines (any depth);
/// `default_dev` is where a route without `dev` goes.
fn collect_devices(
    node: &Node,
    default_dev: &str,
    names: &mut Vec<String>,
    gateways: &mut Vec<(String, IpAddr)>,
    addrs: &mut Vec<(String, IpAddr, u8)>,
) {
    for block in node.walk() {
        let kw = block.keyword();
        let is_addr = matches!(
            kw,
            "virtual_ipaddress" | "virtual_ipaddress_excluded" | "static_ipaddress"
        );
        let is_route = matches!(kw, "virtual_routes" | "static_routes");
        let is_rule = matches!(kw, "virtual_rules" | "static_rules");
        if !(is_addr || is_route || is_rule) {
            continue;
        }
        for line in &block.children {
            let w = &line.words;
            for key in ["dev", "oif", "iif"] {
                if let Some(d) = after(w, key) {
                    push_unique(names, d);
                }
            }
            if is_addr {
                let dev = after(w, "dev").map(strip).unwrap_or(default_dev);
                if let Some(a) = w.first().and_then(|a| addr_of(a)) {
                    let len = w[0]
                        .split_once('/')
                        .and_then(|(_, l)| l.parse().ok())
                        .unwrap_or(if a.is_ipv4() { 32 } else { 128 });
                    addrs.push((dev.to_string(), a, len));
                }
            }
            if is_route {
                let dev = after(w, "dev").map(strip).unwrap_or(default_dev);
                for key in ["via", "gw", "or"] {
                    let mut rest = &w[..];
                    while let Some(i) = rest.iter().position(|x| x == key) {
                        if let Some(g) = rest.get(i + 1).and_then(|g| addr_of(g)) {
                            gateways.push((dev.to_string(), g));
                        }
                        rest = &rest[i + 1..];
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn interfaces_in_order_of_mention_without_vmacs() {
        let t = Topology::from_config_text(
            "global_defs { vrrp_startup_delay 2.5 }\n\
             static_routes {\n 198.51.100.0/24 via 198.51.100.1 dev qg-1\n}\n\
             vrrp_instance VR_1 {\n interface ha-1\n use_vmac\n virtual_router_id 7\n \
             advert_int 2\n track_interface {\n  eth0\n  qr-1 weight -10\n }\n \
             unicast_src_ip 169.254.192.1\n virtual_ipaddress {\n  169.254.0.7/24 dev ha-1\n  \
             192.0.2.9/24 dev vrrp.7\n }\n virtual_rules {\n  from 192.0.2.9 table 1 iif qr-1\n }\n}\n",
        )
        .unwrap();
        let names: Vec<_> = t.ifaces.iter().map(|p| (p.name.as_str(), p.k)).collect();
        assert_eq!(names, [("qg-1", 1), ("ha-1", 2), ("eth0", 0), ("qr-1", 3)]);
        assert_eq!(t.startup_delay, Duration::from_millis(2500));
        assert_eq!(t.instances[0].advert, Duration::from_secs(2));
        assert_eq!(
            t.settle_deadline(),
            Duration::from_millis(2500 + 8000 + 2000)
        );
        // The gateway is on qg-1's own /24: .253 is added; unicast_src_ip on ha-1.
        assert_eq!(t.ifaces[0].extra, [("198.51.100.253".parse().unwrap(), 24)]);
        assert_eq!(t.ifaces[1].extra, [("169.254.192.1".parse().unwrap(), 24)]);
    }

    #[test]
    fn gateways_on_a_connected_subnet_need_nothing() {
        let t = Topology::from_config_text(
            "vrrp_instance V {\n interface eth0\n virtual_routes {\n  0.0.0.0/0 via 192.0.2.254\n  \
             2001:db8:1::/48 via 2001:db8:1::fd\n }\n}\n",
        )
        .unwrap();
        assert_eq!(t.ifaces.len(), 1);
        assert!(t.ifaces[0].extra.is_empty());
    }

    #[test]
    fn bad_interface_names_are_refused() {
        let e = Topology::from_config_text("vrrp_instance V {\n interface a/b\n}\n");
        assert!(matches!(e, Err(Error::Invalid(_))));
    }
}
