//! Labs: L2 segments (a bridge in its own namespace) with hosts attached by veth pairs.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::time::Duration;

use serde::Deserialize;

use crate::error::{Error, Result};
use crate::netns::{validate_name, Netns};
use crate::util::{format_mac, new_id, parse_mac, wait_until, PREFIX};

/// The bridge device name inside every segment namespace.
pub const BRIDGE: &str = "vnbr";
/// The host-side interface name inside every host namespace.
pub const HOST_IFACE: &str = "eth0";

const LOSS_TABLE: &str = "vrrp_netns_loss";
const PART_TABLE: &str = "vrrp_netns_partition";

/// Whether a host plays a router (runs vrrpd) or a client. Only informational: both are set up
/// the same way.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HostKind {
    /// A VRRP router.
    Router,
    /// A plain host on the segment.
    Client,
}

/// Which direction of a host's traffic a loss rule applies to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    /// Packets the host receives.
    In,
    /// Packets the host sends.
    Out,
    /// Both.
    Both,
}

/// One L2 segment: a bridge ([`BRIDGE`]) living in its own namespace.
#[derive(Debug)]
pub struct Segment {
    /// The segment's name as given to [`LabBuilder::segment`].
    pub name: String,
    /// 1-based segment number `S` (used in MACs and IPv6 prefixes).
    pub index: u8,
    /// The namespace holding the bridge and the bridge-side veth ends.
    pub netns: Netns,
    /// The bridge device name inside `netns`.
    pub bridge: String,
    /// The IPv4 network (192.0.2.0, 198.51.100.0 or 203.0.113.0), prefix length 24.
    pub ipv4_net: Ipv4Addr,
    /// The IPv6 network `2001:db8:S::`, prefix length 64.
    pub ipv6_net: Ipv6Addr,
    /// Names of the hosts attached, in order (host `N` is `hosts[N-1]`).
    pub hosts: Vec<String>,
    /// (bridge port, host name) pairs.
    pub(crate) ports: Vec<(String, String)>,
}

/// A host (router or client) in its own namespace with one veth (`eth0`) into a segment bridge.
///
/// Addressing for host `N` on segment `S`: MAC `02:00:00:00:SS:NN`, IPv4 `<segment net>.N/24`,
/// IPv6 `2001:db8:S::N/64` and link-local `fe80::N/64` (no DAD; `addrgenmode none`, so no other
/// link-local). `lo` is up, IPv6 forwarding off, `accept_dad` 0, and `keep_addr_on_down` 1 on
/// `eth0`, so link flaps keep the addresses.
#[derive(Debug)]
pub struct Host {
    /// The host's name as given to the builder.
    pub name: String,
    /// Router or client.
    pub kind: HostKind,
    /// The host's namespace.
    pub netns: Netns,
    /// Interface name inside the namespace: always `eth0`.
    pub iface: String,
    /// The MAC of `eth0`.
    pub mac: [u8; 6],
    /// Primary IPv4 address.
    pub ipv4: Ipv4Addr,
    /// IPv4 prefix length (24).
    pub prefix4: u8,
    /// Global IPv6 address (`2001:db8:S::N`).
    pub ipv6: Ipv6Addr,
    /// IPv6 prefix length (64).
    pub prefix6: u8,
    /// IPv6 link-local address (`fe80::N`).
    pub link_local: Ipv6Addr,
    /// Name of the segment the host is attached to.
    pub segment: String,
    /// Host number `N` on its segment (1-based).
    pub index: u8,
    /// Name of the bridge-side veth end (in the segment namespace).
    pub bridge_port: String,
    bridge_ns: String,
}

/// An address as reported by `ip -j addr`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IfAddr {
    /// Interface name.
    pub ifname: String,
    /// The address.
    pub addr: IpAddr,
    /// Prefix length.
    pub prefix: u8,
    /// Whether it is still tentative (DAD not finished).
    pub tentative: bool,
}

/// A lab: one or more L2 segments with hosts. Everything is torn down on drop (hosts first,
/// then bridges), including on panic.
#[derive(Debug)]
pub struct Lab {
    // Dropped first: delay relays stop and restore the wiring before anything is deleted.
    pub(crate) delays: std::sync::Mutex<Vec<crate::delay::DelayRelay>>,
    id: String,
    // Field order matters: hosts are dropped (and their namespaces deleted) before segments.
    hosts: Vec<Host>,
    segments: Vec<Segment>,
}

#[derive(Debug, Clone)]
struct SegSpec {
    name: String,
    hosts: Vec<(String, HostKind)>,
}

/// Builder for [`Lab`]. Hosts are added to the most recently declared segment; if none was
/// declared, a default segment `lan` is created.
#[derive(Debug, Clone, Default)]
#[must_use]
pub struct LabBuilder {
    segments: Vec<SegSpec>,
    snooping: bool,
}

impl LabBuilder {
    /// Starts a new segment (bridge). The first segment is the default.
    pub fn segment(mut self, name: &str) -> Self {
        self.segments.push(SegSpec {
            name: name.to_string(),
            hosts: Vec::new(),
        });
        self
    }

    fn add(mut self, name: &str, kind: HostKind) -> Self {
        if self.segments.is_empty() {
            self = self.segment("lan");
        }
        self.segments
            .last_mut()
            .expect("a segment exists")
            .hosts
            .push((name.to_string(), kind));
        self
    }

    /// Adds a router host on the current segment.
    pub fn router(self, name: &str) -> Self {
        self.add(name, HostKind::Router)
    }

    /// Adds a client host on the current segment.
    pub fn client(self, name: &str) -> Self {
        self.add(name, HostKind::Client)
    }

    /// Enables bridge multicast snooping on all segments (default off). With snooping on and
    /// no querier, IPv6 link-local groups such as ff02::12 are only forwarded to ports that
    /// sent an MLD report, as on real snooping switches.
    pub fn multicast_snooping(mut self, on: bool) -> Self {
        self.snooping = on;
        self
    }

    fn validate(&self) -> Result<()> {
        if self.segments.len() > 250 {
            return Err(Error::Invalid("at most 250 segments".into()));
        }
        let mut names = std::collections::HashSet::new();
        for seg in &self.segments {
            validate_name("segment", &seg.name)?;
            if !names.insert(format!("br-{}", seg.name)) {
                return Err(Error::Invalid(format!("duplicate segment {:?}", seg.name)));
            }
            if seg.hosts.len() > 250 {
                return Err(Error::Invalid(format!(
                    "segment {:?} has more than 250 hosts",
                    seg.name
                )));
            }
        }
        for seg in &self.segments {
            for (h, _) in &seg.hosts {
                validate_name("host", h)?;
                if !names.insert(h.clone()) {
                    return Err(Error::Invalid(format!(
                        "duplicate host name {h:?} (or it clashes with a segment namespace br-<segment>)"
                    )));
                }
            }
        }
        Ok(())
    }

    /// Creates all namespaces, bridges, veths and addresses, and waits until every host's
    /// `eth0` is operationally up. On error, whatever was created is removed again.
    pub fn build(self) -> Result<Lab> {
        self.validate()?;
        crate::util::check_root()?;
        let id = new_id();
        let mut lab = Lab {
            delays: std::sync::Mutex::new(Vec::new()),
            id: id.clone(),
            hosts: Vec::new(),
            segments: Vec::new(),
        };
        for (si, spec) in self.segments.iter().enumerate() {
            let s = (si + 1) as u8;
            let netns = Netns::create_exact(format!("{PREFIX}{id}-br-{}", spec.name))?;
            netns.sysctl("net/ipv6/conf/all/disable_ipv6", "1")?;
            netns.sysctl("net/ipv6/conf/default/disable_ipv6", "1")?;
            let snoop = if self.snooping { "1" } else { "0" };
            netns.ip(&[
                "link",
                "add",
                BRIDGE,
                "type",
                "bridge",
                "stp_state",
                "0",
                "mcast_snooping",
                snoop,
            ])?;
            netns.ip(&["link", "set", BRIDGE, "up"])?;
            let ipv4_net = match s {
                1 => Ipv4Addr::new(192, 0, 2, 0),
                2 => Ipv4Addr::new(198, 51, 100, 0),
                _ => Ipv4Addr::new(203, 0, 113, 0),
            };
            let ipv6_net = Ipv6Addr::new(0x2001, 0xdb8, s as u16, 0, 0, 0, 0, 0);
            lab.segments.push(Segment {
                name: spec.name.clone(),
                index: s,
                netns,
                bridge: BRIDGE.to_string(),
                ipv4_net,
                ipv6_net,
                hosts: Vec::new(),
                ports: Vec::new(),
            });
            for (hi, (hname, kind)) in spec.hosts.iter().enumerate() {
                let n = (hi + 1) as u8;
                let host = build_host(
                    &id,
                    lab.segments.last().expect("just pushed"),
                    hname,
                    *kind,
                    n,
                )?;
                let seg = lab.segments.last_mut().expect("just pushed");
                seg.hosts.push(hname.clone());
                seg.ports.push((host.bridge_port.clone(), hname.clone()));
                lab.hosts.push(host);
            }
        }
        for h in &lab.hosts {
            if !wait_until(Duration::from_secs(5), || h.oper_up().unwrap_or(false)) {
                return Err(Error::Timeout(format!(
                    "eth0 of host {} did not come up",
                    h.name
                )));
            }
        }
        Ok(lab)
    }
}

/// Creates a veth pair: `port` in the segment namespace `seg`, its peer `peer` in the
/// namespace named `host_ns`.
pub(crate) fn add_veth(seg: &Netns, port: &str, peer: &str, host_ns: &str) -> Result<()> {
    seg.ip(&[
        "link", "add", port, "type", "veth", "peer", "name", peer, "netns", host_ns,
    ])
    .map(drop)
}

fn build_host(id: &str, seg: &Segment, name: &str, kind: HostKind, n: u8) -> Result<Host> {
    let s = seg.index;
    let netns = Netns::create_exact(format!("{PREFIX}{id}-{name}"))?;
    for key in [
        "net/ipv6/conf/all/accept_dad",
        "net/ipv6/conf/default/accept_dad",
        "net/ipv6/conf/all/forwarding",
        "net/ipv4/ip_forward",
    ] {
        netns.sysctl(key, "0")?;
    }
    let port = if name.len() <= 11 {
        format!("{PREFIX}p-{name}")
    } else {
        format!("{PREFIX}p{n}")
    };
    add_veth(&seg.netns, &port, HOST_IFACE, netns.name())?;
    let mac = [0x02, 0, 0, 0, s, n];
    let o = seg.ipv4_net.octets();
    let ipv4 = Ipv4Addr::new(o[0], o[1], o[2], n);
    let ipv6 = Ipv6Addr::new(0x2001, 0xdb8, s as u16, 0, 0, 0, 0, n as u16);
    let link_local = Ipv6Addr::new(0xfe80, 0, 0, 0, 0, 0, 0, n as u16);
    netns.ip(&[
        "link",
        "set",
        HOST_IFACE,
        "address",
        &format_mac(&mac),
        "addrgenmode",
        "none",
    ])?;
    netns.sysctl("net/ipv6/conf/eth0/keep_addr_on_down", "1")?;
    netns.sysctl("net/ipv6/conf/eth0/accept_dad", "0")?;
    netns.ip(&["addr", "add", &format!("{ipv4}/24"), "dev", HOST_IFACE])?;
    netns.ip(&[
        "addr",
        "add",
        &format!("{ipv6}/64"),
        "dev",
        HOST_IFACE,
        "nodad",
    ])?;
    netns.ip(&[
        "addr",
        "add",
        &format!("{link_local}/64"),
        "dev",
        HOST_IFACE,
        "nodad",
    ])?;
    netns.ip(&["link", "set", HOST_IFACE, "up"])?;
    seg.netns
        .ip(&["link", "set", &port, "master", BRIDGE, "up"])?;
    Ok(Host {
        name: name.to_string(),
        kind,
        netns,
        iface: HOST_IFACE.to_string(),
        mac,
        ipv4,
        prefix4: 24,
        ipv6,
        prefix6: 64,
        link_local,
        segment: seg.name.clone(),
        index: n,
        bridge_port: port,
        bridge_ns: seg.netns.name().to_string(),
    })
}

impl Lab {
    /// A new [`LabBuilder`].
    pub fn builder() -> LabBuilder {
        LabBuilder::default()
    }

    /// The lab's unique id (`<pid>_<tag>`); every namespace is named `vn<id>-...`.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// The host with this name.
    ///
    /// # Panics
    /// If there is no such host (a test bug); see [`Lab::try_host`].
    pub fn host(&self, name: &str) -> &Host {
        self.try_host(name)
            .unwrap_or_else(|| panic!("lab {} has no host {name:?}", self.id))
    }

    /// The host with this name, if any.
    pub fn try_host(&self, name: &str) -> Option<&Host> {
        self.hosts.iter().find(|h| h.name == name)
    }

    /// All hosts, in the order they were declared.
    pub fn hosts(&self) -> impl Iterator<Item = &Host> {
        self.hosts.iter()
    }

    /// The segment with this name.
    ///
    /// # Panics
    /// If there is no such segment; see [`Lab::try_segment`].
    pub fn segment(&self, name: &str) -> &Segment {
        self.try_segment(name)
            .unwrap_or_else(|| panic!("lab {} has no segment {name:?}", self.id))
    }

    /// The segment with this name, if any.
    pub fn try_segment(&self, name: &str) -> Option<&Segment> {
        self.segments.iter().find(|s| s.name == name)
    }

    /// All segments in declaration order.
    pub fn segments(&self) -> impl Iterator<Item = &Segment> {
        self.segments.iter()
    }

    /// The first (default) segment.
    ///
    /// # Panics
    /// If the lab has no segment.
    pub fn default_segment(&self) -> &Segment {
        self.segments.first().expect("lab has a segment")
    }

    /// Cuts L2 connectivity between every host in `a` and every host in `b` (both
    /// directions), with nftables `bridge` rules on the bridge ports. Hosts within `a` (or
    /// within `b`) still reach each other. Calls accumulate; [`Lab::heal`] removes them all.
    /// Hosts on different segments are already separated and are ignored.
    pub fn partition(&self, a: &[&str], b: &[&str]) -> Result<()> {
        for name in a.iter().chain(b) {
            if self.try_host(name).is_none() {
                return Err(Error::Invalid(format!(
                    "no host {name:?} in lab {}",
                    self.id
                )));
            }
        }
        for seg in &self.segments {
            let ports = |side: &[&str]| -> Vec<String> {
                side.iter()
                    .map(|n| self.host(n))
                    .filter(|h| h.segment == seg.name)
                    // The relay port too, so the rule holds while a delay is set (or later).
                    .flat_map(|h| {
                        [
                            format!("\"{}\"", h.bridge_port),
                            format!("\"{}\"", crate::delay::relay_port_name(h)),
                        ]
                    })
                    .collect()
            };
            let (pa, pb) = (ports(a), ports(b));
            if pa.is_empty() || pb.is_empty() {
                continue;
            }
            let (sa, sb) = (pa.join(", "), pb.join(", "));
            let rules = format!(
                "add table bridge {PART_TABLE}\n\
                 add chain bridge {PART_TABLE} forward {{ type filter hook forward priority 0; policy accept; }}\n\
                 add rule bridge {PART_TABLE} forward iifname {{ {sa} }} oifname {{ {sb} }} counter drop\n\
                 add rule bridge {PART_TABLE} forward iifname {{ {sb} }} oifname {{ {sa} }} counter drop\n"
            );
            seg.netns
                .exec_with_input("nft", &["-f", "-"], rules.as_bytes())?;
        }
        Ok(())
    }

    /// Removes every partition made with [`Lab::partition`].
    pub fn heal(&self) -> Result<()> {
        for seg in &self.segments {
            let rules =
                format!("add table bridge {PART_TABLE}\ndelete table bridge {PART_TABLE}\n");
            seg.netns
                .exec_with_input("nft", &["-f", "-"], rules.as_bytes())?;
        }
        Ok(())
    }

    /// Sends ARP requests for `ip` from host `from` (using the `arping` tool) and returns the
    /// distinct MACs that answered, in order of first answer. Empty if none answered.
    pub fn arping(&self, from: &str, ip: Ipv4Addr) -> Result<Vec<[u8; 6]>> {
        self.host(from).arping(ip, 3)
    }

    /// Takes the bridge-side end of `host`'s veth down; see [`Host::unplug`].
    pub fn unplug(&self, host: &str) -> Result<()> {
        self.host(host).unplug()
    }

    /// Undoes [`Lab::unplug`].
    pub fn plug(&self, host: &str) -> Result<()> {
        self.host(host).plug()
    }
}

#[derive(Deserialize)]
struct JsonNeigh {
    #[serde(default)]
    lladdr: Option<String>,
    #[serde(default)]
    state: Vec<String>,
}

#[derive(Deserialize)]
struct JsonLink {
    ifname: String,
    #[serde(default)]
    operstate: Option<String>,
    #[serde(default)]
    addr_info: Vec<JsonAddr>,
}

#[derive(Deserialize)]
struct JsonAddr {
    local: String,
    prefixlen: u8,
    #[serde(default)]
    tentative: Option<bool>,
}

fn parse_json<T: for<'de> Deserialize<'de>>(what: &str, s: &str) -> Result<T> {
    let s = if s.trim().is_empty() { "[]" } else { s };
    serde_json::from_str(s).map_err(|e| Error::Parse {
        what: what.to_string(),
        detail: e.to_string(),
    })
}

impl Host {
    /// Shorthand for `self.netns.exec_ok(program, args)`.
    pub fn exec_ok(&self, program: &str, args: &[&str]) -> Result<String> {
        self.netns.exec_ok(program, args)
    }

    /// Shorthand for `self.netns.run(f)`.
    pub fn run<F, R>(&self, f: F) -> Result<R>
    where
        F: FnOnce() -> R + Send,
        R: Send,
    {
        self.netns.run(f)
    }

    /// `ping -c1 -W1` (or `ping -6` for IPv6) from this host; true if answered.
    pub fn ping(&self, ip: IpAddr) -> Result<bool> {
        let ip_s = ip.to_string();
        let mut args = vec!["-c1", "-W1", "-n", "-q"];
        if ip.is_ipv6() {
            args.insert(0, "-6");
            if let IpAddr::V6(v6) = ip {
                if v6.segments()[0] & 0xffc0 == 0xfe80 {
                    args.extend(["-I", HOST_IFACE]);
                }
            }
        }
        args.push(&ip_s);
        Ok(self.netns.exec("ping", &args)?.status.success())
    }

    fn oper_up(&self) -> Result<bool> {
        let out = self.netns.ip(&["-j", "link", "show", "dev", HOST_IFACE])?;
        let links: Vec<JsonLink> = parse_json("ip -j link", &out)?;
        Ok(links
            .iter()
            .any(|l| l.ifname == HOST_IFACE && l.operstate.as_deref() == Some("UP")))
    }

    /// Whether `eth0` is operationally up (carrier and admin up).
    pub fn is_up(&self) -> Result<bool> {
        self.oper_up()
    }

    /// Takes the bridge-side end of the host's veth down: the host sees carrier loss (as if
    /// the cable were pulled) while its own `eth0` stays administratively up.
    pub fn unplug(&self) -> Result<()> {
        crate::util::ip(&[
            "-n",
            &self.bridge_ns,
            "link",
            "set",
            &self.bridge_port,
            "down",
        ])
        .map(drop)
    }

    /// Undoes [`Host::unplug`].
    pub fn plug(&self) -> Result<()> {
        crate::util::ip(&[
            "-n",
            &self.bridge_ns,
            "link",
            "set",
            &self.bridge_port,
            "up",
        ])
        .map(drop)
    }

    /// Sets the host's `eth0` administratively down. IPv4 and global IPv6 addresses are kept;
    /// the link-local goes until [`Host::link_up`].
    pub fn link_down(&self) -> Result<()> {
        self.netns
            .ip(&["link", "set", HOST_IFACE, "down"])
            .map(drop)
    }

    /// Sets the host's `eth0` up again and restores the link-local `fe80::N` (the kernel
    /// removes link-local addresses on admin down even with `keep_addr_on_down`, and
    /// `addrgenmode none` does not regenerate one).
    pub fn link_up(&self) -> Result<()> {
        self.netns.ip(&["link", "set", HOST_IFACE, "up"])?;
        self.netns
            .ip(&[
                "addr",
                "replace",
                &format!("{}/64", self.link_local),
                "dev",
                HOST_IFACE,
                "nodad",
            ])
            .map(drop)
    }

    /// Drops `percent` % (0..=100) of VRRP packets (IP protocol 112, IPv4 and IPv6) this host
    /// sends and receives, with an nftables `numgen random mod 100 < p` rule in the host's
    /// namespace. Replaces any earlier loss setting.
    pub fn set_loss(&self, percent: u8) -> Result<()> {
        self.set_loss_dir(percent, Direction::Both)
    }

    /// Like [`Host::set_loss`] for one direction only. 0 % removes the rules.
    pub fn set_loss_dir(&self, percent: u8, dir: Direction) -> Result<()> {
        if percent > 100 {
            return Err(Error::Invalid(format!("loss {percent}% > 100%")));
        }
        if percent == 0 {
            return self.clear_loss();
        }
        let rule = if percent >= 100 {
            "meta l4proto 112 counter drop".to_string()
        } else {
            format!("meta l4proto 112 numgen random mod 100 < {percent} counter drop")
        };
        let mut nft = format!(
            "add table inet {LOSS_TABLE}\ndelete table inet {LOSS_TABLE}\ntable inet {LOSS_TABLE} {{\n"
        );
        if matches!(dir, Direction::In | Direction::Both) {
            nft += &format!(
                "  chain input {{ type filter hook input priority -300; policy accept; {rule}; }}\n"
            );
        }
        if matches!(dir, Direction::Out | Direction::Both) {
            nft += &format!(
                "  chain output {{ type filter hook output priority -300; policy accept; {rule}; }}\n"
            );
        }
        nft += "}\n";
        self.netns
            .exec_with_input("nft", &["-f", "-"], nft.as_bytes())
            .map(drop)
    }

    /// Removes the loss rules.
    pub fn clear_loss(&self) -> Result<()> {
        let nft = format!("add table inet {LOSS_TABLE}\ndelete table inet {LOSS_TABLE}\n");
        self.netns
            .exec_with_input("nft", &["-f", "-"], nft.as_bytes())
            .map(drop)
    }

    /// How many packets the loss rules have dropped so far (0 if none are installed).
    pub fn loss_drops(&self) -> Result<u64> {
        let out = self
            .netns
            .exec("nft", &["-j", "list", "table", "inet", LOSS_TABLE])?;
        if !out.status.success() {
            return Ok(0);
        }
        let v: serde_json::Value =
            parse_json("nft -j list table", &String::from_utf8_lossy(&out.stdout))?;
        Ok(sum_counters(&v))
    }

    /// The MAC in this host's neighbour table for `ip` on `eth0`, if there is a usable entry
    /// (not `FAILED`/`INCOMPLETE`).
    pub fn neighbor(&self, ip: IpAddr) -> Result<Option<[u8; 6]>> {
        let ip_s = ip.to_string();
        let out = self
            .netns
            .ip(&["-j", "neigh", "show", "to", &ip_s, "dev", HOST_IFACE])?;
        let entries: Vec<JsonNeigh> = parse_json("ip -j neigh", &out)?;
        Ok(entries.iter().find_map(|e| {
            let bad = e.state.iter().any(|s| s == "FAILED" || s == "INCOMPLETE");
            if bad {
                None
            } else {
                e.lladdr.as_deref().and_then(parse_mac)
            }
        }))
    }

    /// Flushes the neighbour table of `eth0`.
    pub fn flush_neighbors(&self) -> Result<()> {
        self.netns
            .ip(&["neigh", "flush", "dev", HOST_IFACE])
            .map(drop)
    }

    /// Every address on every interface in the host's namespace (including `lo` and devices
    /// created later, such as VRRP macvlans).
    pub fn addresses(&self) -> Result<Vec<IfAddr>> {
        let out = self.netns.ip(&["-j", "addr", "show"])?;
        let links: Vec<JsonLink> = parse_json("ip -j addr", &out)?;
        let mut res = Vec::new();
        for l in links {
            for a in l.addr_info {
                let addr = a.local.parse().map_err(|_| Error::Parse {
                    what: "ip -j addr".into(),
                    detail: format!("bad address {:?}", a.local),
                })?;
                res.push(IfAddr {
                    ifname: l.ifname.clone(),
                    addr,
                    prefix: a.prefixlen,
                    tentative: a.tentative.unwrap_or(false),
                });
            }
        }
        Ok(res)
    }

    /// Whether any interface in the host's namespace carries `ip`.
    pub fn has_address(&self, ip: IpAddr) -> Result<bool> {
        Ok(self.addresses()?.iter().any(|a| a.addr == ip))
    }

    /// Sends `count` ARP requests for `ip` out of `eth0` with the `arping` tool and returns the
    /// distinct MACs that answered, in order of first answer.
    pub fn arping(&self, ip: Ipv4Addr, count: u32) -> Result<Vec<[u8; 6]>> {
        let flavour = arping_flavour()?;
        let ip_s = ip.to_string();
        let count_s = count.max(1).to_string();
        let args: Vec<&str> = match flavour {
            ArpingFlavour::Habets => vec!["-i", HOST_IFACE, "-c", &count_s, "-W", "0.2", &ip_s],
            ArpingFlavour::Iputils => vec!["-I", HOST_IFACE, "-c", &count_s, "-w", "2", &ip_s],
        };
        let out = self.netns.exec("arping", &args)?;
        let mut macs = Vec::new();
        for line in String::from_utf8_lossy(&out.stdout).lines() {
            if line.starts_with("ARPING") {
                continue;
            }
            for tok in line.split(|c: char| c.is_whitespace() || c == '[' || c == ']') {
                if let Some(m) = parse_mac(tok) {
                    if m != self.mac && !macs.contains(&m) {
                        macs.push(m);
                    }
                }
            }
        }
        Ok(macs)
    }
}

fn sum_counters(v: &serde_json::Value) -> u64 {
    match v {
        serde_json::Value::Object(m) => {
            let here = m
                .get("counter")
                .and_then(|c| c.get("packets"))
                .and_then(|p| p.as_u64())
                .unwrap_or(0);
            here + m
                .iter()
                .filter(|(k, _)| k.as_str() != "counter")
                .map(|(_, v)| sum_counters(v))
                .sum::<u64>()
        }
        serde_json::Value::Array(a) => a.iter().map(sum_counters).sum(),
        _ => 0,
    }
}

#[derive(Clone, Copy)]
enum ArpingFlavour {
    Habets,
    Iputils,
}

fn arping_flavour() -> Result<ArpingFlavour> {
    let out = std::process::Command::new("arping")
        .arg("--help")
        .output()
        .map_err(|e| Error::MissingTool {
            tool: "arping".into(),
            hint: format!("install the `arping` (or `iputils-arping`) package ({e})"),
        })?;
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    Ok(if text.contains("Habets") {
        ArpingFlavour::Habets
    } else {
        ArpingFlavour::Iputils
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counters_are_summed() {
        let v: serde_json::Value = serde_json::from_str(
            r#"{"nftables":[{"rule":{"expr":[{"counter":{"packets":3,"bytes":9}},{"drop":null}]}},
                {"rule":{"expr":[{"counter":{"packets":4,"bytes":9}}]}}]}"#,
        )
        .unwrap();
        assert_eq!(sum_counters(&v), 7);
    }

    #[test]
    fn builder_rejects_duplicates() {
        let b = Lab::builder().router("a").router("a");
        assert!(matches!(b.validate(), Err(Error::Invalid(_))));
        let b = Lab::builder().segment("x").router("br-x");
        assert!(b.validate().is_err());
        let b = Lab::builder().router("bad/name");
        assert!(b.validate().is_err());
        assert!(Lab::builder().router("r1").client("c").validate().is_ok());
    }
}
