//! keepalived's route and rule lines (`virtual_routes`, `static_routes`, `virtual_rules`,
//! `static_rules`: `ip route` / `ip rule` syntax) into [`RouteSpec`] / [`RuleSpec`].
//!
//! The words keepalived accepts that change nothing a data plane needs to install here are
//! accepted and ignored (`no_track`, `add`, `prepend`, `append`); words it accepts that vrrpd
//! does not install (nexthop groups, encapsulation, route metrics such as `mtu`, `realms`,
//! `track_group`, ...) are refused with an error naming the word, so no route is ever
//! installed differently from what the line asks.

use std::net::IpAddr;

use vrrp_net::route::{NextHop, RouteKind, RouteSpec, RuleKind, RuleSpec, RTPROT_KEEPALIVED};

/// Why a line does not parse.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LineError {
    /// A word vrrpd does not understand, or does not install.
    #[error("`{word}` is not supported in a {what} line")]
    Unsupported {
        /// The word.
        word: String,
        /// "route" or "rule".
        what: &'static str,
    },
    /// A keyword without its value.
    #[error("`{0}` needs a value")]
    MissingValue(String),
    /// A value that does not parse.
    #[error("invalid {what} `{value}`")]
    Invalid {
        /// What was expected.
        what: &'static str,
        /// The value.
        value: String,
    },
    /// No destination (routes) or nothing at all (rules).
    #[error("{0}")]
    Incomplete(&'static str),
    /// IPv4 and IPv6 addresses in one line.
    #[error("IPv4 and IPv6 addresses mixed in one line")]
    MixedFamilies,
}

/// A prefix `ADDR[/LEN]`, `default` or `all` (`default_family` for those two).
fn prefix(word: &str, ipv6: bool) -> Result<(IpAddr, u8), LineError> {
    if word == "default" || word == "all" {
        return Ok(if ipv6 {
            ("::".parse().expect("literal"), 0)
        } else {
            ("0.0.0.0".parse().expect("literal"), 0)
        });
    }
    let bad = || LineError::Invalid {
        what: "prefix",
        value: word.to_string(),
    };
    let (addr, len) = match word.split_once('/') {
        Some((a, l)) => (a, Some(l)),
        None => (word, None),
    };
    let addr: IpAddr = addr.parse().map_err(|_| bad())?;
    let max = if addr.is_ipv4() { 32 } else { 128 };
    let len = match len {
        Some(l) => l.parse::<u8>().ok().filter(|l| *l <= max).ok_or_else(bad)?,
        None => max,
    };
    Ok((addr, len))
}

fn address(word: &str) -> Result<IpAddr, LineError> {
    word.parse().map_err(|_| LineError::Invalid {
        what: "address",
        value: word.to_string(),
    })
}

fn number<T: std::str::FromStr>(what: &'static str, word: &str) -> Result<T, LineError> {
    let w = word.strip_prefix("0x");
    let parsed = match w {
        Some(hex) => u64::from_str_radix(hex, 16)
            .ok()
            .and_then(|v| v.to_string().parse().ok()),
        None => word.parse().ok(),
    };
    parsed.ok_or_else(|| LineError::Invalid {
        what,
        value: word.to_string(),
    })
}

/// A routing table by number or by name (`main`, `local`, `default`, or a name in
/// iproute2's `rt_tables`).
fn table(word: &str) -> Result<u32, LineError> {
    match word {
        "main" => return Ok(254),
        "local" => return Ok(255),
        "default" => return Ok(253),
        _ => {}
    }
    if let Ok(n) = word.parse() {
        return Ok(n);
    }
    for path in ["/etc/iproute2/rt_tables", "/usr/share/iproute2/rt_tables"] {
        let Ok(text) = std::fs::read_to_string(path) else {
            continue;
        };
        for line in text.lines() {
            let mut w = line.split_whitespace();
            if let (Some(n), Some(name)) = (w.next(), w.next()) {
                if name == word && !n.starts_with('#') {
                    if let Ok(n) = n.parse() {
                        return Ok(n);
                    }
                }
            }
        }
    }
    Err(LineError::Invalid {
        what: "routing table",
        value: word.to_string(),
    })
}

fn scope(word: &str) -> Result<u8, LineError> {
    Ok(match word {
        "global" | "universe" => 0,
        "site" => 200,
        "link" => 253,
        "host" => 254,
        "nowhere" => 255,
        n => number("scope", n)?,
    })
}

/// Takes the value after keyword `words[*i]`.
fn value<'a>(words: &[&'a str], i: &mut usize) -> Result<&'a str, LineError> {
    let key = words[*i];
    *i += 1;
    words
        .get(*i)
        .copied()
        .ok_or_else(|| LineError::MissingValue(key.to_string()))
}

/// Parses one route line.
pub fn parse_route(line: &str) -> Result<RouteSpec, LineError> {
    let words: Vec<&str> = line.split_whitespace().collect();
    let mut family: Option<bool> = None; // Some(true): IPv6
    let mut set_family = |ipv6: bool| match family {
        Some(f) if f != ipv6 => Err(LineError::MixedFamilies),
        _ => {
            family = Some(ipv6);
            Ok(())
        }
    };
    let mut dst: Option<&str> = None;
    let mut kind = RouteKind::Unicast;
    let mut r = RouteSpec::new("0.0.0.0".parse().expect("literal"), 0);
    let mut tracked = true;
    let mut i = 0;
    while i < words.len() {
        let w = words[i];
        match w {
            "inet" => set_family(false)?,
            "inet6" => set_family(true)?,
            "via" | "gw" => {
                let mut v = value(&words, &mut i)?;
                if v == "inet" || v == "inet6" {
                    v = value(&words, &mut i)?;
                }
                let a = address(v)?;
                set_family(a.is_ipv6())?;
                r.via = Some(a);
            }
            "src" => {
                let a = address(value(&words, &mut i)?)?;
                set_family(a.is_ipv6())?;
                r.src = Some(a);
            }
            "dev" | "oif" => r.dev = Some(value(&words, &mut i)?.to_string()),
            "table" => r.table = table(value(&words, &mut i)?)?,
            "metric" | "priority" | "preference" => {
                r.metric = Some(number("metric", value(&words, &mut i)?)?)
            }
            "scope" => r.scope = Some(scope(value(&words, &mut i)?)?),
            "protocol" | "proto" => {
                let v = value(&words, &mut i)?;
                r.protocol = match v {
                    "keepalived" => RTPROT_KEEPALIVED,
                    "static" => 4,
                    "boot" => 3,
                    "kernel" => 2,
                    n => number("protocol", n)?,
                };
            }
            "tos" | "dsfield" => r.tos = Some(number("tos", value(&words, &mut i)?)?),
            "onlink" => r.onlink = true,
            "no_track" => tracked = false,
            "add" | "prepend" | "append" => {}
            // keepalived's deprecated alternative gateway: the `via` address and this one
            // become the two paths of a multipath route.
            "or" => {
                let alt = address(value(&words, &mut i)?)?;
                set_family(alt.is_ipv6())?;
                if r.nexthops.is_empty() {
                    let first = r.via.take().ok_or(LineError::Incomplete(
                        "`or` needs a `via` gateway before it",
                    ))?;
                    r.nexthops = vec![NextHop::via(first), NextHop::via(alt)];
                }
            }
            "nexthop" => {
                if !r.nexthops.is_empty() {
                    return Err(LineError::Incomplete(
                        "`nexthop` cannot follow an `or` route",
                    ));
                }
                r.nexthops = next_hops(&words[i..], &mut set_family)?;
                break;
            }
            "to" => {
                let v = value(&words, &mut i)?;
                match RouteKind::from_word(v) {
                    Some(k) => {
                        kind = k;
                        dst = Some(value(&words, &mut i)?);
                    }
                    None => dst = Some(v),
                }
            }
            _ => {
                if let Some(k) = RouteKind::from_word(w) {
                    kind = k;
                    dst = Some(value(&words, &mut i)?);
                } else if dst.is_none()
                    && (w == "default" || w.parse::<IpAddr>().is_ok() || w.contains('/'))
                {
                    dst = Some(w);
                } else {
                    return Err(LineError::Unsupported {
                        word: w.to_string(),
                        what: "route",
                    });
                }
            }
        }
        i += 1;
    }
    let dst = dst.ok_or(LineError::Incomplete("a route needs a destination"))?;
    if dst != "default" {
        set_family(prefix(dst, false)?.0.is_ipv6())?;
    }
    let ipv6 = family.unwrap_or(false);
    r.dst = prefix(dst, ipv6)?;
    r.kind = kind;
    if tracked {
        // keepalived recognises its tracked routes by their protocol.
        r.protocol = RTPROT_KEEPALIVED;
    }
    Ok(r)
}

/// The `nexthop via ADDR dev DEV weight N onlink` groups ending a route line (`words`
/// starts at the first `nexthop`).
fn next_hops(
    words: &[&str],
    set_family: &mut impl FnMut(bool) -> Result<(), LineError>,
) -> Result<Vec<NextHop>, LineError> {
    let mut hops: Vec<NextHop> = Vec::new();
    let mut i = 0;
    while i < words.len() {
        let w = words[i];
        if w == "nexthop" {
            hops.push(NextHop {
                via: None,
                dev: None,
                weight: 1,
                onlink: false,
            });
            i += 1;
            continue;
        }
        let hop = hops.last_mut().expect("starts with nexthop");
        match w {
            "via" => {
                let mut v = value(words, &mut i)?;
                if v == "inet" || v == "inet6" {
                    v = value(words, &mut i)?;
                }
                let a = address(v)?;
                set_family(a.is_ipv6())?;
                hop.via = Some(a);
            }
            "dev" => hop.dev = Some(value(words, &mut i)?.to_string()),
            "weight" => {
                let v = value(words, &mut i)?;
                hop.weight = number::<u16>("weight", v)
                    .ok()
                    .filter(|w| (1..=256).contains(w))
                    .ok_or_else(|| LineError::Invalid {
                        what: "weight (1 to 256)",
                        value: v.to_string(),
                    })?;
            }
            "onlink" => hop.onlink = true,
            other => {
                return Err(LineError::Unsupported {
                    word: other.to_string(),
                    what: "nexthop",
                })
            }
        }
        i += 1;
    }
    if hops.iter().any(|h| h.via.is_none() && h.dev.is_none()) {
        return Err(LineError::Incomplete("a nexthop needs `via` or `dev`"));
    }
    Ok(hops)
}

/// keepalived's configuration warnings for a route line that parses: deprecated words and
/// a protocol it resets (a tracked route must carry keepalived's protocol).
pub fn route_warnings(line: &str) -> Vec<&'static str> {
    let words: Vec<&str> = line.split_whitespace().collect();
    let mut out = Vec::new();
    if words.contains(&"gw") {
        out.push("\"gw\" for routes is deprecated, expected \"via\"");
    }
    if words.contains(&"or") {
        out.push("\"or\" for routes is deprecated, expected \"nexthop\"");
    }
    let protocol = (words.windows(2))
        .find(|w| matches!(w[0], "protocol" | "proto"))
        .map(|w| w[1]);
    if !words.contains(&"no_track") && protocol.is_some_and(|p| p != "keepalived" && p != "18") {
        out.push("a tracked route must have protocol keepalived (18), reset; expected no_track to keep another protocol");
    }
    out
}

/// Parses one rule line. `next_priority` gives the preference of a rule without one
/// (keepalived counts down from 16384 per family, with a warning).
pub fn parse_rule(
    line: &str,
    next_priority: &mut impl FnMut(bool) -> u32,
) -> Result<(RuleSpec, bool), LineError> {
    let words: Vec<&str> = line.split_whitespace().collect();
    if words.is_empty() {
        return Err(LineError::Incomplete("an empty rule"));
    }
    let mut ipv6: Option<bool> = None;
    let mut set_family = |v6: bool| match ipv6 {
        Some(f) if f != v6 => Err(LineError::MixedFamilies),
        _ => {
            ipv6 = Some(v6);
            Ok(())
        }
    };
    let mut from = None;
    let mut to = None;
    let mut kind = None;
    let mut priority = None;
    let mut r = RuleSpec {
        ipv6: false,
        from: None,
        to: None,
        kind: RuleKind::Lookup(254),
        priority: 0,
        iif: None,
        oif: None,
        fwmark: None,
        tos: None,
        invert: false,
        protocol: RTPROT_KEEPALIVED,
    };
    let mut i = 0;
    while i < words.len() {
        match words[i] {
            "inet" => set_family(false)?,
            "inet6" => set_family(true)?,
            "from" => from = Some(value(&words, &mut i)?),
            "to" => to = Some(value(&words, &mut i)?),
            "table" | "lookup" => kind = Some(RuleKind::Lookup(table(value(&words, &mut i)?)?)),
            "goto" => {
                kind = Some(RuleKind::Goto(number(
                    "goto target",
                    value(&words, &mut i)?,
                )?))
            }
            "nop" => kind = Some(RuleKind::Nop),
            "blackhole" => kind = Some(RuleKind::Blackhole),
            "unreachable" => kind = Some(RuleKind::Unreachable),
            "prohibit" => kind = Some(RuleKind::Prohibit),
            "not" => r.invert = true,
            "preference" | "order" | "priority" => {
                priority = Some(number("preference", value(&words, &mut i)?)?)
            }
            "tos" | "dsfield" => r.tos = Some(number("tos", value(&words, &mut i)?)?),
            "fwmark" => {
                let v = value(&words, &mut i)?;
                r.fwmark = Some(match v.split_once('/') {
                    Some((m, k)) => (number("fwmark", m)?, Some(number("fwmask", k)?)),
                    None => (number("fwmark", v)?, None),
                });
            }
            "dev" | "iif" => r.iif = Some(value(&words, &mut i)?.to_string()),
            "oif" => r.oif = Some(value(&words, &mut i)?.to_string()),
            "no_track" => {}
            w => {
                return Err(LineError::Unsupported {
                    word: w.to_string(),
                    what: "rule",
                })
            }
        }
        i += 1;
    }
    for p in [from, to].into_iter().flatten() {
        if p != "all" && p != "default" {
            set_family(prefix(p, false)?.0.is_ipv6())?;
        }
    }
    let v6 = ipv6.unwrap_or(false);
    r.ipv6 = v6;
    let specific = |p: &str| -> Result<Option<(IpAddr, u8)>, LineError> {
        match p {
            "all" | "default" => Ok(None),
            p => prefix(p, v6).map(Some),
        }
    };
    r.from = from.map(specific).transpose()?.flatten();
    r.to = to.map(specific).transpose()?.flatten();
    r.kind = kind.unwrap_or(RuleKind::Lookup(254));
    let defaulted = priority.is_none();
    r.priority = priority.unwrap_or_else(|| next_priority(v6));
    Ok((r, defaulted))
}

/// keepalived's preference for rules without one: from 16384 down, per family, in the
/// order the rules appear in the configuration.
#[derive(Debug, Clone)]
pub struct RulePriorities {
    v4: u32,
    v6: u32,
}

impl Default for RulePriorities {
    fn default() -> Self {
        RulePriorities {
            v4: 16384,
            v6: 16384,
        }
    }
}

impl RulePriorities {
    /// The next preference for a rule of the family.
    pub fn next(&mut self, ipv6: bool) -> u32 {
        let p = if ipv6 { &mut self.v6 } else { &mut self.v4 };
        let n = *p;
        *p = p.saturating_sub(1);
        n
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn neutron_and_octavia_routes_parse() {
        let r = parse_route("0.0.0.0/0 via 198.51.100.129 dev qg-9a8b7c6d-5e").unwrap();
        assert_eq!(r.dst, (ip("0.0.0.0"), 0));
        assert_eq!(r.via, Some(ip("198.51.100.129")));
        assert_eq!(r.dev.as_deref(), Some("qg-9a8b7c6d-5e"));
        let r = parse_route("::/0 via fe80::fe dev qg-9a8b7c6d-5e").unwrap();
        assert_eq!(r.dst, (ip("::"), 0));
        let r =
            parse_route("198.51.100.0/24 dev eth1 src 198.51.100.10 scope link table 1").unwrap();
        assert_eq!(
            (r.table, r.scope, r.src),
            (1, Some(253), Some(ip("198.51.100.10")))
        );
        let r = parse_route("blackhole 203.0.113.0/24").unwrap();
        assert_eq!(r.kind, RouteKind::Blackhole);
        let r = parse_route("default via 192.0.2.1").unwrap();
        assert_eq!(r.dst, (ip("0.0.0.0"), 0));
        // A tracked route keeps keepalived's protocol; no_track keeps the configured one.
        let r = parse_route("to 192.0.2.64/26 dev eth0 metric 10 protocol static").unwrap();
        assert_eq!((r.metric, r.protocol), (Some(10), RTPROT_KEEPALIVED));
        let r = parse_route("192.0.2.64/26 dev eth0 protocol static no_track").unwrap();
        assert_eq!(r.protocol, 4);
    }

    #[test]
    fn routes_with_unsupported_words_or_mixed_families_are_refused() {
        assert!(matches!(
            parse_route("192.0.2.0/24 dev eth0 mtu 1400"),
            Err(LineError::Unsupported { word, .. }) if word == "mtu"
        ));
        assert_eq!(
            parse_route("192.0.2.0/24 via 2001:db8::1"),
            Err(LineError::MixedFamilies)
        );
        assert_eq!(
            parse_route("dev eth0"),
            Err(LineError::Incomplete("a route needs a destination"))
        );
        assert!(parse_route("192.0.2.0/33").is_err());
    }

    #[test]
    fn or_and_nexthop_routes_parse_into_paths() {
        let r = parse_route("203.0.113.224/28 via 192.0.2.251 or 192.0.2.252").unwrap();
        assert_eq!(r.via, None);
        assert_eq!(
            r.nexthops,
            vec![
                NextHop::via(ip("192.0.2.251")),
                NextHop::via(ip("192.0.2.252"))
            ]
        );
        let r = parse_route(
            "2001:db8:1::/64 nexthop via 2001:db8::1 dev eth1 weight 2 nexthop via 2001:db8::2",
        )
        .unwrap();
        assert_eq!(r.dst, (ip("2001:db8:1::"), 64));
        assert_eq!(r.nexthops.len(), 2);
        assert_eq!(r.nexthops[0].dev.as_deref(), Some("eth1"));
        assert_eq!((r.nexthops[0].weight, r.nexthops[1].weight), (2, 1));
        assert!(parse_route("192.0.2.0/24 nexthop via 192.0.2.1 weight 0").is_err());
        assert!(parse_route("192.0.2.0/24 nexthop via 192.0.2.1 realms 3").is_err());
        assert!(parse_route("192.0.2.0/24 nexthop weight 2").is_err());
        assert_eq!(
            parse_route("192.0.2.0/24 nexthop via 2001:db8::1"),
            Err(LineError::MixedFamilies)
        );
    }

    #[test]
    fn rules_parse_with_keepalived_default_preferences() {
        let mut p = RulePriorities::default();
        let mut next = |v6| p.next(v6);
        let (r, defaulted) =
            parse_rule("from 198.51.100.10/32 table 1 priority 100", &mut next).unwrap();
        assert!(!defaulted);
        assert_eq!(
            (r.from, r.kind, r.priority),
            (Some((ip("198.51.100.10"), 32)), RuleKind::Lookup(1), 100)
        );
        let (r, defaulted) = parse_rule("from all iif eth0 lookup 201", &mut next).unwrap();
        assert!(defaulted);
        assert_eq!(
            (r.from, r.iif.as_deref(), r.priority),
            (None, Some("eth0"), 16384)
        );
        let (r, _) = parse_rule("to 2001:db8::/32 lookup main", &mut next).unwrap();
        assert!(r.ipv6);
        assert_eq!(r.priority, 16384, "each family counts down on its own");
        let (r, _) = parse_rule("fwmark 0x10/0xff table 5 preference 7", &mut next).unwrap();
        assert_eq!(r.fwmark, Some((16, Some(255))));
        assert!(parse_rule("from 192.0.2.1 uidrange 1-2", &mut next).is_err());
    }
}
