//! Labs with several interfaces per router, many-instance keepalived.conf generation, and
//! capture analysis shared by the benchmarks.
//!
//! A `MultiLab` has `ifaces` segments `s0`, `s1`, ...; every router has one interface on
//! each: `eth0` on `s0` and `eth<k>` on `s<k>`. The lab builder gives each host one
//! interface, so the lab is built with helper hosts `<router>-s<k>` on the other segments and
//! their `eth0` is renamed to `eth<k>` and moved into the router's namespace (with the same
//! addresses). Frames entering a bridge from a helper's port are named after the router.

use std::collections::{BTreeMap, HashMap};
use std::fmt::Write as _;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::time::{Duration, SystemTime};

use crate::capture::{Capture, Frame};
use crate::error::{Error, Result};
use crate::lab::{Host, Lab};
use crate::util::wait_until;

/// A lab of routers each attached to `ifaces` segments.
#[derive(Debug)]
pub(crate) struct MultiLab {
    pub lab: Lab,
    pub ifaces: usize,
    /// Helper host name -> router name (also router -> router).
    pub alias: HashMap<String, String>,
}

impl MultiLab {
    /// Builds the lab: `routers` on `ifaces` (1..=250) segments.
    pub fn build(routers: &[&str], ifaces: usize) -> Result<MultiLab> {
        if ifaces == 0 || ifaces > 250 {
            return Err(Error::Invalid(format!("{ifaces} interfaces: 1..=250")));
        }
        let mut b = Lab::builder();
        let mut alias = HashMap::new();
        for k in 0..ifaces {
            b = b.segment(&format!("s{k}"));
            for r in routers {
                let name = helper(r, k);
                alias.insert(name.clone(), r.to_string());
                b = b.router(&name);
            }
        }
        let lab = b.build()?;
        for k in 1..ifaces {
            let dev = format!("eth{k}");
            for r in routers {
                let h = lab.host(&helper(r, k));
                let target = lab.host(r);
                h.netns.ip(&["link", "set", "eth0", "down"])?;
                h.netns.ip(&["link", "set", "eth0", "name", &dev])?;
                h.netns
                    .ip(&["link", "set", &dev, "netns", target.netns.name()])?;
                let t = &target.netns;
                t.ip(&["link", "set", &dev, "addrgenmode", "none"])?;
                t.sysctl(&format!("net/ipv6/conf/{dev}/accept_dad"), "0")?;
                t.sysctl(&format!("net/ipv6/conf/{dev}/keep_addr_on_down"), "1")?;
                t.ip(&["addr", "add", &format!("{}/24", h.ipv4), "dev", &dev])?;
                for a in [h.ipv6, h.link_local] {
                    t.ip(&["addr", "add", &format!("{a}/64"), "dev", &dev, "nodad"])?;
                }
                t.ip(&["link", "set", &dev, "up"])?;
            }
        }
        for r in routers {
            let t = lab.host(r);
            for k in 1..ifaces {
                let dev = format!("eth{k}");
                let up = wait_until(Duration::from_secs(5), || {
                    t.netns
                        .ip(&["-o", "link", "show", "dev", &dev])
                        .is_ok_and(|s| s.contains("state UP"))
                });
                if !up {
                    return Err(Error::Timeout(format!("{dev} of {r} did not come up")));
                }
            }
        }
        Ok(MultiLab { lab, ifaces, alias })
    }

    /// The router's host.
    pub fn host(&self, router: &str) -> &Host {
        self.lab.host(router)
    }

    /// One capture per segment, in interface order.
    pub fn captures(&self) -> Result<Vec<Capture>> {
        (0..self.ifaces)
            .map(|k| self.lab.segment(&format!("s{k}")).capture())
            .collect()
    }
}

fn helper(router: &str, k: usize) -> String {
    if k == 0 {
        router.to_string()
    } else {
        format!("{router}-s{k}")
    }
}

/// One virtual router of a many-instance configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Vr {
    /// Interface index `k` (`eth<k>`, segment `s<k>`).
    pub iface: usize,
    /// VRID (unique per interface and family).
    pub vrid: u8,
    /// Virtual addresses (IPv6: a link-local first, then a global one).
    pub vips: Vec<IpAddr>,
    /// Index of the router meant to be Active.
    pub intended: usize,
}

impl Vr {
    /// Whether the instance is IPv6.
    pub fn ipv6(&self) -> bool {
        self.vips[0].is_ipv6()
    }
}

/// IPv4 VIPs from the documentation ranges, avoiding the hosts' own addresses (.1 .. .9):
/// 198.51.100.10-254, 203.0.113.10-254, 192.0.2.10-254 (735 addresses).
fn v4_pool(i: usize) -> Option<Ipv4Addr> {
    let (net, j) = match i {
        0..245 => ([198, 51, 100], i),
        245..490 => ([203, 0, 113], i - 245),
        490..735 => ([192, 0, 2], i - 490),
        _ => return None,
    };
    Some(Ipv4Addr::new(net[0], net[1], net[2], (j + 10) as u8))
}

/// At most this many IPv4 instances; the rest are IPv6.
pub(crate) const MAX_V4: usize = 700;

/// `n` virtual routers spread round-robin over `ifaces` interfaces (VRID `i / ifaces + 1`),
/// IPv4 for the first [`MAX_V4`], IPv6 (link-local `fe80::1:VRID` and
/// `2001:db8:1<k>::VRID`) after that. Router `i` is meant to be Active on router
/// `i % routers` (`routers` = 1: all on the first).
pub(crate) fn plan(n: usize, ifaces: usize, routers: usize) -> Result<Vec<Vr>> {
    if n.div_ceil(ifaces) > 255 {
        return Err(Error::Invalid(format!(
            "{n} virtual routers on {ifaces} interfaces: more than 255 per interface"
        )));
    }
    Ok((0..n)
        .map(|i| {
            let iface = i % ifaces;
            let vrid = (i / ifaces + 1) as u8;
            let vips = if i < MAX_V4 {
                vec![IpAddr::V4(v4_pool(i).expect("MAX_V4 < pool size"))]
            } else {
                vec![
                    IpAddr::V6(Ipv6Addr::new(0xfe80, 0, 0, 0, 0, 0, 1, u16::from(vrid))),
                    IpAddr::V6(Ipv6Addr::new(
                        0x2001,
                        0xdb8,
                        0x100 + iface as u16,
                        0,
                        0,
                        0,
                        0,
                        u16::from(vrid),
                    )),
                ]
            };
            Vr {
                iface,
                vrid,
                vips,
                intended: i % routers.max(1),
            }
        })
        .collect())
}

/// Settings of a generated many-instance configuration.
#[derive(Debug, Clone, Copy)]
pub(crate) struct ConfOpts {
    /// Advertisement interval (centiseconds).
    pub interval_cs: u16,
    /// Priority of the intended Active.
    pub prio_active: u8,
    /// Priority of the others.
    pub prio_backup: u8,
    /// Preempt mode.
    pub preempt: bool,
}

/// The keepalived.conf (read by both keepalived and vrrpd) of router number `me` for `vrs`:
/// one `vrrp_instance` per virtual router, VRRPv3, `state BACKUP`, `no_accept`.
pub(crate) fn config(me: usize, router: &str, vrs: &[Vr], o: ConfOpts) -> String {
    let mut s = String::new();
    let _ = writeln!(s, "# generated by vrrp-netns bench for {router}");
    let _ = writeln!(
        s,
        "global_defs {{\n    router_id {router}\n    vrrp_version 3\n}}\n"
    );
    for (i, vr) in vrs.iter().enumerate() {
        let prio = if vr.intended == me {
            o.prio_active
        } else {
            o.prio_backup
        };
        let state = if prio == 255 { "MASTER" } else { "BACKUP" };
        let _ = writeln!(s, "vrrp_instance VI_{i} {{");
        let _ = writeln!(s, "    state {state}");
        let _ = writeln!(s, "    interface eth{}", vr.iface);
        let _ = writeln!(s, "    virtual_router_id {}", vr.vrid);
        let _ = writeln!(s, "    priority {prio}");
        let _ = writeln!(
            s,
            "    advert_int {}.{:02}",
            o.interval_cs / 100,
            o.interval_cs % 100
        );
        let _ = writeln!(s, "    version 3");
        if !o.preempt {
            let _ = writeln!(s, "    nopreempt");
        }
        let _ = writeln!(s, "    no_accept");
        let _ = writeln!(s, "    virtual_ipaddress {{");
        for v in &vr.vips {
            let len = match v {
                IpAddr::V4(_) => 32,
                IpAddr::V6(a) if vrrp_core::packet::is_link_local(*a) => 64,
                IpAddr::V6(_) => 128,
            };
            let _ = writeln!(s, "        {v}/{len} dev eth{}", vr.iface);
        }
        let _ = writeln!(s, "    }}\n}}");
    }
    s
}

/// One advert seen on a segment (valid under vrrp-core's codec).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Adv {
    pub ts: SystemTime,
    /// The router (helper hosts mapped to their router).
    pub router: String,
    pub vrid: u8,
    pub ipv6: bool,
    pub priority: u8,
}

/// What a set of frames holds: valid adverts, rejected protocol-112 packets, announcements.
#[derive(Debug, Clone, Default)]
pub(crate) struct Seen {
    pub adverts: Vec<Adv>,
    /// (time, sender, codec error).
    pub invalid: Vec<(SystemTime, String, String)>,
    /// Gratuitous ARPs and unsolicited NAs: (time, sender).
    pub garps: Vec<(SystemTime, String)>,
}

impl Seen {
    /// Decodes the frames at or after `since` (frames are in arrival order).
    pub fn decode(frames: &[Frame], since: SystemTime, alias: &HashMap<String, String>) -> Seen {
        let from = frames.partition_point(|f| f.ts < since);
        let mut s = Seen::default();
        for f in &frames[from..] {
            let host = f.from_host.clone().unwrap_or_default();
            let router = alias.get(&host).cloned().unwrap_or(host);
            if let Some(raw) = f.vrrp() {
                match raw.decode() {
                    Ok(a) => s.adverts.push(Adv {
                        ts: f.ts,
                        router,
                        vrid: a.vrid,
                        ipv6: a.src.is_ipv6(),
                        priority: a.priority,
                    }),
                    Err(e) => s.invalid.push((f.ts, router, e.to_string())),
                }
            } else if f.arp().is_some_and(|a| a.is_gratuitous())
                || f.neighbor_advert().is_some_and(|n| !n.solicited)
            {
                s.garps.push((f.ts, router));
            }
        }
        s
    }

    /// Routers that sent adverts with priority > 0, with their count and last time.
    pub fn advertisers(&self) -> BTreeMap<String, (usize, SystemTime)> {
        let mut m: BTreeMap<String, (usize, SystemTime)> = BTreeMap::new();
        for a in self.adverts.iter().filter(|a| a.priority > 0) {
            let e = m.entry(a.router.clone()).or_insert((0, a.ts));
            e.0 += 1;
            e.1 = e.1.max(a.ts);
        }
        m
    }

    /// Per (interface, VRID, family): the routers that advertised with priority > 0.
    pub fn per_vr(&self, iface: usize) -> BTreeMap<(usize, u8, bool), BTreeMap<String, usize>> {
        let mut m: BTreeMap<(usize, u8, bool), BTreeMap<String, usize>> = BTreeMap::new();
        for a in self.adverts.iter().filter(|a| a.priority > 0) {
            *m.entry((iface, a.vrid, a.ipv6))
                .or_default()
                .entry(a.router.clone())
                .or_default() += 1;
        }
        m
    }
}

/// Checks that in `seen` (one per interface) every virtual router of `vrs` was advertised by
/// its intended router `names[intended]` only, and nothing was rejected. Returns the problems.
pub(crate) fn check_steady(vrs: &[Vr], names: &[&str], seen: &[Seen]) -> Vec<String> {
    let mut per: BTreeMap<(usize, u8, bool), BTreeMap<String, usize>> = BTreeMap::new();
    let mut problems = Vec::new();
    for (k, s) in seen.iter().enumerate() {
        per.extend(s.per_vr(k));
        if !s.invalid.is_empty() {
            problems.push(format!(
                "{} rejected VRRP packets on eth{k} (first: {} from {})",
                s.invalid.len(),
                s.invalid[0].2,
                s.invalid[0].1
            ));
        }
    }
    let mut missing = 0;
    let mut wrong = 0;
    for vr in vrs {
        match per.get(&(vr.iface, vr.vrid, vr.ipv6())) {
            None => missing += 1,
            Some(who) => {
                if who.len() != 1 || !who.contains_key(names[vr.intended]) {
                    wrong += 1;
                }
            }
        }
    }
    if missing > 0 {
        problems.push(format!("{missing} virtual routers not advertised at all"));
    }
    if wrong > 0 {
        problems.push(format!(
            "{wrong} virtual routers advertised by a router other than (or besides) the intended one"
        ));
    }
    problems
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plan_spreads_and_stays_unique() {
        let p = plan(1000, 4, 2).unwrap();
        assert_eq!(p.len(), 1000);
        let mut keys = std::collections::HashSet::new();
        let mut vips = std::collections::HashSet::new();
        for vr in &p {
            assert!(keys.insert((vr.iface, vr.vrid, vr.ipv6())));
            for v in &vr.vips {
                if !matches!(v, IpAddr::V6(a) if vrrp_core::packet::is_link_local(*a)) {
                    assert!(vips.insert(*v), "duplicate {v}");
                }
            }
            assert!(vr.vrid >= 1);
        }
        assert_eq!(p.iter().filter(|v| v.ipv6()).count(), 300);
        assert!(plan(1021, 4, 2).is_err());
        let c = config(
            0,
            "r1",
            &p[..2],
            ConfOpts {
                interval_cs: 100,
                prio_active: 200,
                prio_backup: 100,
                preempt: true,
            },
        );
        assert!(c.contains("interface eth1") && c.contains("priority 100"));
    }
}
