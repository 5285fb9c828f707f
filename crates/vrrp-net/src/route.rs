//! Routes and policy rules the way keepalived installs them (`virtual_routes`,
//! `virtual_rules`, `static_routes`, `static_rules`): typed specifications and their netlink
//! messages. Both carry keepalived's route protocol, [`RTPROT_KEEPALIVED`] (18, `proto
//! keepalived` in `ip route`), unless another is given.

use std::fmt;
use std::net::IpAddr;

use rtnetlink::packet_route::route::{
    RouteAddress, RouteAttribute, RouteFlags, RouteHeader, RouteMessage, RouteNextHop,
    RouteNextHopFlags, RouteProtocol, RouteScope, RouteType,
};
use rtnetlink::packet_route::rule::{RuleAction, RuleAttribute, RuleFlags, RuleMessage};
use rtnetlink::packet_route::AddressFamily;

/// keepalived's route protocol number (`RTPROT_KEEPALIVED`).
pub const RTPROT_KEEPALIVED: u8 = 18;
/// The main routing table.
pub const RT_TABLE_MAIN: u32 = 254;

/// The kind of a route (`ip route`'s TYPE).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RouteKind {
    /// A gateway or direct route.
    Unicast,
    /// A local address route.
    Local,
    /// A broadcast route.
    Broadcast,
    /// Silently discard.
    Blackhole,
    /// Discard with ICMP unreachable.
    Unreachable,
    /// Discard with ICMP prohibited.
    Prohibit,
    /// Rejected without lookup in the next table (`throw`).
    Throw,
}

impl RouteKind {
    /// The kind named `word` in `ip route` syntax.
    pub fn from_word(word: &str) -> Option<RouteKind> {
        Some(match word {
            "unicast" => RouteKind::Unicast,
            "local" => RouteKind::Local,
            "broadcast" => RouteKind::Broadcast,
            "blackhole" => RouteKind::Blackhole,
            "unreachable" => RouteKind::Unreachable,
            "prohibit" => RouteKind::Prohibit,
            "throw" => RouteKind::Throw,
            _ => return None,
        })
    }

    fn netlink(self) -> RouteType {
        match self {
            RouteKind::Unicast => RouteType::Unicast,
            RouteKind::Local => RouteType::Local,
            RouteKind::Broadcast => RouteType::Broadcast,
            RouteKind::Blackhole => RouteType::BlackHole,
            RouteKind::Unreachable => RouteType::Unreachable,
            RouteKind::Prohibit => RouteType::Prohibit,
            RouteKind::Throw => RouteType::Throw,
        }
    }
}

/// A route, as keepalived's `virtual_routes` / `static_routes` lines describe it.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct RouteSpec {
    /// Destination address and prefix length (`default` is the all-zero prefix).
    pub dst: (IpAddr, u8),
    /// The route's kind.
    pub kind: RouteKind,
    /// Gateway (`via`, `gw`).
    pub via: Option<IpAddr>,
    /// Output interface (`dev`, `oif`), by name.
    pub dev: Option<String>,
    /// Preferred source address (`src`).
    pub src: Option<IpAddr>,
    /// Table (`table`; default main).
    pub table: u32,
    /// Metric (`metric`, `priority`, `preference`).
    pub metric: Option<u32>,
    /// Scope (`scope`): 0 global/universe, 200 site, 253 link, 254 host.
    pub scope: Option<u8>,
    /// Protocol (`protocol`; default keepalived's 18).
    pub protocol: u8,
    /// TOS (`tos`, `dsfield`).
    pub tos: Option<u8>,
    /// `onlink`.
    pub onlink: bool,
    /// The paths of a multipath route (`nexthop ...`, or keepalived's deprecated `via A or
    /// B`); empty for a single-path route.
    pub nexthops: Vec<NextHop>,
}

/// One path of a multipath route: `nexthop via ADDR dev DEV weight N onlink`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct NextHop {
    /// Gateway (`via`).
    pub via: Option<IpAddr>,
    /// Output interface (`dev`), by name.
    pub dev: Option<String>,
    /// Weight, 1..=256 (`weight`; default 1).
    pub weight: u16,
    /// `onlink`.
    pub onlink: bool,
}

impl NextHop {
    /// A path through gateway `via`, weight 1.
    pub fn via(via: IpAddr) -> NextHop {
        NextHop {
            via: Some(via),
            dev: None,
            weight: 1,
            onlink: false,
        }
    }
}

/// A route with its interfaces resolved to indexes: what goes into a netlink message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResolvedRoute {
    /// The route.
    pub spec: RouteSpec,
    /// The index of [`RouteSpec::dev`].
    pub oif: Option<u32>,
    /// The index of each next hop's `dev`, in order.
    pub nexthop_oifs: Vec<Option<u32>>,
}

impl RouteSpec {
    /// A unicast route to `dst` in the main table, keepalived's protocol.
    pub fn new(dst: IpAddr, prefix_len: u8) -> RouteSpec {
        RouteSpec {
            dst: (dst, prefix_len),
            kind: RouteKind::Unicast,
            via: None,
            dev: None,
            src: None,
            table: RT_TABLE_MAIN,
            metric: None,
            scope: None,
            protocol: RTPROT_KEEPALIVED,
            tos: None,
            onlink: false,
            nexthops: Vec::new(),
        }
    }

    /// The interfaces the route names: its `dev` and those of its next hops.
    pub fn devices(&self) -> impl Iterator<Item = &str> {
        (self
            .dev
            .iter()
            .chain(self.nexthops.iter().filter_map(|n| n.dev.as_ref())))
        .map(String::as_str)
    }

    /// Resolves the interfaces the route names with `index`.
    pub fn resolve<E>(&self, index: impl Fn(&str) -> Result<u32, E>) -> Result<ResolvedRoute, E> {
        let oif = self.dev.as_deref().map(&index).transpose()?;
        let nexthop_oifs = (self.nexthops.iter())
            .map(|n| n.dev.as_deref().map(&index).transpose())
            .collect::<Result<_, E>>()?;
        Ok(ResolvedRoute {
            spec: self.clone(),
            oif,
            nexthop_oifs,
        })
    }

    /// The scope sent to the kernel: the configured one, else universe, as keepalived
    /// does (`ip route` would pick link for a direct route and host for a local one).
    pub fn effective_scope(&self) -> u8 {
        self.scope.unwrap_or(0)
    }
}

impl ResolvedRoute {
    /// The netlink message for this route.
    pub fn to_message(&self) -> RouteMessage {
        let (route, oif) = (&self.spec, self.oif);
        let mut msg = RouteMessage::default();
        let (dst, len) = route.dst;
        let h = &mut msg.header;
        h.address_family = family(dst);
        h.destination_prefix_length = len;
        h.tos = route.tos.unwrap_or(0);
        if route.table < 256 {
            h.table = route.table as u8;
        } else {
            h.table = RouteHeader::RT_TABLE_UNSPEC;
        }
        h.protocol = RouteProtocol::from(route.protocol);
        h.scope = RouteScope::from(route.effective_scope());
        h.kind = route.kind.netlink();
        if route.onlink {
            h.flags |= RouteFlags::Onlink;
        }
        let a = &mut msg.attributes;
        a.push(RouteAttribute::Table(route.table));
        if len > 0 {
            a.push(RouteAttribute::Destination(RouteAddress::from(dst)));
        }
        if let Some(via) = route.via {
            a.push(RouteAttribute::Gateway(RouteAddress::from(via)));
        }
        if let Some(src) = route.src {
            a.push(RouteAttribute::PrefSource(RouteAddress::from(src)));
        }
        if let Some(oif) = oif {
            a.push(RouteAttribute::Oif(oif));
        }
        if let Some(m) = route.metric {
            a.push(RouteAttribute::Priority(m));
        }
        if !route.nexthops.is_empty() {
            let hops = (route.nexthops.iter().zip(&self.nexthop_oifs))
                .map(|(n, oif)| next_hop(n, *oif))
                .collect();
            a.push(RouteAttribute::MultiPath(hops));
        }
        msg
    }
}

impl fmt::Display for RouteSpec {
    /// `ip route` syntax.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.kind != RouteKind::Unicast {
            write!(f, "{:?} ", self.kind)?;
        }
        write!(f, "{}/{}", self.dst.0, self.dst.1)?;
        if let Some(v) = self.via {
            write!(f, " via {v}")?;
        }
        if let Some(d) = &self.dev {
            write!(f, " dev {d}")?;
        }
        if let Some(s) = self.src {
            write!(f, " src {s}")?;
        }
        if self.table != RT_TABLE_MAIN {
            write!(f, " table {}", self.table)?;
        }
        if let Some(m) = self.metric {
            write!(f, " metric {m}")?;
        }
        for n in &self.nexthops {
            f.write_str(" nexthop")?;
            if let Some(v) = n.via {
                write!(f, " via {v}")?;
            }
            if let Some(d) = &n.dev {
                write!(f, " dev {d}")?;
            }
            write!(f, " weight {}", n.weight)?;
        }
        Ok(())
    }
}

/// What a rule does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RuleKind {
    /// Look up a table (`table`, `lookup`).
    Lookup(u32),
    /// Go to another rule (`goto`).
    Goto(u32),
    /// Do nothing (`nop`).
    Nop,
    /// Discard silently.
    Blackhole,
    /// Discard with ICMP unreachable.
    Unreachable,
    /// Discard with ICMP prohibited.
    Prohibit,
}

/// A policy rule, as keepalived's `virtual_rules` / `static_rules` lines describe it.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct RuleSpec {
    /// IPv6 (else IPv4).
    pub ipv6: bool,
    /// Source prefix (`from`).
    pub from: Option<(IpAddr, u8)>,
    /// Destination prefix (`to`).
    pub to: Option<(IpAddr, u8)>,
    /// The action.
    pub kind: RuleKind,
    /// Preference (`priority`, `preference`, `order`).
    pub priority: u32,
    /// Input interface (`iif`, `dev`).
    pub iif: Option<String>,
    /// Output interface (`oif`).
    pub oif: Option<String>,
    /// Firewall mark and optional mask (`fwmark N[/M]`).
    pub fwmark: Option<(u32, Option<u32>)>,
    /// TOS (`tos`, `dsfield`).
    pub tos: Option<u8>,
    /// `not`: invert the selector.
    pub invert: bool,
    /// Protocol (keepalived's 18 by default).
    pub protocol: u8,
}

impl RuleSpec {
    /// The netlink message for this rule.
    pub fn to_message(&self) -> RuleMessage {
        let mut msg = RuleMessage::default();
        let h = &mut msg.header;
        h.family = if self.ipv6 {
            AddressFamily::Inet6
        } else {
            AddressFamily::Inet
        };
        h.tos = self.tos.unwrap_or(0);
        if self.invert {
            h.flags |= RuleFlags::Invert;
        }
        let a = &mut msg.attributes;
        h.action = match self.kind {
            RuleKind::Lookup(t) => {
                h.table = if t < 256 { t as u8 } else { 0 };
                a.push(RuleAttribute::Table(t));
                RuleAction::ToTable
            }
            RuleKind::Goto(p) => {
                a.push(RuleAttribute::Goto(p));
                RuleAction::Goto
            }
            RuleKind::Nop => RuleAction::Nop,
            RuleKind::Blackhole => RuleAction::Blackhole,
            RuleKind::Unreachable => RuleAction::Unreachable,
            RuleKind::Prohibit => RuleAction::Prohibit,
        };
        if let Some((addr, len)) = self.from {
            h.src_len = len;
            a.push(RuleAttribute::Source(addr));
        }
        if let Some((addr, len)) = self.to {
            h.dst_len = len;
            a.push(RuleAttribute::Destination(addr));
        }
        a.push(RuleAttribute::Priority(self.priority));
        if let Some(i) = &self.iif {
            a.push(RuleAttribute::Iifname(i.clone()));
        }
        if let Some(o) = &self.oif {
            a.push(RuleAttribute::Oifname(o.clone()));
        }
        if let Some((mark, mask)) = self.fwmark {
            a.push(RuleAttribute::FwMark(mark));
            if let Some(m) = mask {
                a.push(RuleAttribute::FwMask(m));
            }
        }
        a.push(RuleAttribute::Protocol(RouteProtocol::from(self.protocol)));
        msg
    }
}

impl fmt::Display for RuleSpec {
    /// `ip rule` syntax.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.priority)?;
        if self.invert {
            f.write_str(" not")?;
        }
        if let Some((a, l)) = self.from {
            write!(f, " from {a}/{l}")?;
        }
        if let Some((a, l)) = self.to {
            write!(f, " to {a}/{l}")?;
        }
        match self.kind {
            RuleKind::Lookup(t) => write!(f, " lookup {t}"),
            RuleKind::Goto(p) => write!(f, " goto {p}"),
            other => write!(f, " {other:?}"),
        }
    }
}

/// One `rtnexthop` of `RTA_MULTIPATH` (its `hops` is the weight minus one).
fn next_hop(n: &NextHop, oif: Option<u32>) -> RouteNextHop {
    let mut hop = RouteNextHop::default();
    hop.hops = u8::try_from(n.weight.clamp(1, 256) - 1).unwrap_or(u8::MAX);
    hop.interface_index = oif.unwrap_or(0);
    if n.onlink {
        hop.flags |= RouteNextHopFlags::Onlink;
    }
    if let Some(via) = n.via {
        hop.attributes
            .push(RouteAttribute::Gateway(RouteAddress::from(via)));
    }
    hop
}

fn family(a: IpAddr) -> AddressFamily {
    if a.is_ipv4() {
        AddressFamily::Inet
    } else {
        AddressFamily::Inet6
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_direct_route_with_a_device_keeps_universe_scope_and_keepalived_protocol() {
        let mut r = RouteSpec::new("198.51.100.0".parse().unwrap(), 24);
        r.dev = Some("eth1".into());
        r.table = 1;
        let m = r.resolve(|_| Ok::<_, ()>(3)).unwrap().to_message();
        assert_eq!(m.header.scope, RouteScope::Universe);
        assert_eq!(m.header.protocol, RouteProtocol::from(18u8));
        assert_eq!(m.header.table, 1);
        assert!(m.attributes.contains(&RouteAttribute::Oif(3)));
        assert!(m.attributes.contains(&RouteAttribute::Table(1)));
    }

    #[test]
    fn a_default_route_has_no_destination_attribute_and_universe_scope() {
        let mut r = RouteSpec::new("0.0.0.0".parse().unwrap(), 0);
        r.via = Some("198.51.100.129".parse().unwrap());
        let m = r.resolve(|_| Err(())).unwrap().to_message();
        assert_eq!(m.header.scope, RouteScope::Universe);
        assert!(!m
            .attributes
            .iter()
            .any(|a| matches!(a, RouteAttribute::Destination(_))));
        assert_eq!(r.to_string(), "0.0.0.0/0 via 198.51.100.129");
    }

    #[test]
    fn a_multipath_route_carries_one_next_hop_per_path_with_weight_minus_one() {
        let mut r = RouteSpec::new("203.0.113.224".parse().unwrap(), 28);
        r.nexthops = vec![
            NextHop::via("192.0.2.251".parse().unwrap()),
            NextHop {
                dev: Some("eth1".into()),
                weight: 3,
                ..NextHop::via("192.0.2.252".parse().unwrap())
            },
        ];
        let resolved = r.resolve(|d| if d == "eth1" { Ok(4) } else { Err(()) });
        let m = resolved.unwrap().to_message();
        assert_eq!(m.header.scope, RouteScope::Universe);
        let hops = m
            .attributes
            .iter()
            .find_map(|a| match a {
                RouteAttribute::MultiPath(h) => Some(h.clone()),
                _ => None,
            })
            .expect("RTA_MULTIPATH");
        assert_eq!(hops.len(), 2);
        assert_eq!((hops[0].hops, hops[0].interface_index), (0, 0));
        assert_eq!((hops[1].hops, hops[1].interface_index), (2, 4));
        assert!(hops[1]
            .attributes
            .contains(&RouteAttribute::Gateway(RouteAddress::from(
                "192.0.2.252".parse::<IpAddr>().unwrap()
            ))));
        assert_eq!(
            r.to_string(),
            "203.0.113.224/28 nexthop via 192.0.2.251 weight 1 nexthop via 192.0.2.252 dev eth1 weight 3"
        );
    }

    #[test]
    fn a_rule_carries_its_selectors_table_priority_and_protocol() {
        let r = RuleSpec {
            ipv6: false,
            from: Some(("198.51.100.10".parse().unwrap(), 32)),
            to: None,
            kind: RuleKind::Lookup(1),
            priority: 100,
            iif: None,
            oif: None,
            fwmark: None,
            tos: None,
            invert: false,
            protocol: RTPROT_KEEPALIVED,
        };
        let m = r.to_message();
        assert_eq!(m.header.src_len, 32);
        assert_eq!(m.header.action, RuleAction::ToTable);
        assert!(m.attributes.contains(&RuleAttribute::Priority(100)));
        assert_eq!(r.to_string(), "100 from 198.51.100.10/32 lookup 1");
    }
}
