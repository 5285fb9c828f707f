//! What happened on a segment, as decoded from a capture: who advertised when, with which
//! priority and checksum form, who was Active when, and what the announcements were.
//!
//! Active is derived from the wire only: a router is Active from its first advert with
//! priority > 0 until its last advert before a gap longer than the Active_Down_Interval its
//! own adverts imply (3 x interval + skew, plus [`SLACK`]), or until it sends priority 0.
//! An interval whose last advert is recent enough at the end of the capture is open.
//! Routers are named by the lab host the frame came from (mapped through the name table
//! given to [`Timeline::build`]), falling back to the source address.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fmt;
use std::net::IpAddr;
use std::path::Path;
use std::time::{Duration, SystemTime};

use crate::capture::Frame;
use crate::error::{Error, Result};
use crate::lab::Lab;
use crate::router::{down_interval, Checksum};
use crate::util::format_mac;

/// Scheduling slack added to every Active_Down_Interval before a gap counts as silence.
pub const SLACK: Duration = Duration::from_millis(60);

/// One advertisement seen on the wire (valid under vrrp-core's codec).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AdvertEvent {
    /// Time since the timeline's origin.
    pub t: Duration,
    /// Router (or host, or source address) that sent it.
    pub router: String,
    /// Ethernet source MAC.
    pub eth_src: [u8; 6],
    /// IP source.
    pub src: IpAddr,
    /// VRID.
    pub vrid: u8,
    /// Priority.
    pub priority: u8,
    /// Max Advertise Interval (cs).
    pub interval_cs: u16,
    /// VRRP version (2 or 3).
    pub version: u8,
    /// Checksum form that verified (IPv4 v3 only).
    pub checksum_form: Option<Checksum>,
    /// IP TTL / hop limit.
    pub ttl: u8,
}

impl AdvertEvent {
    /// Whether it was sent over IPv6.
    pub fn is_ipv6(&self) -> bool {
        self.src.is_ipv6()
    }
}

/// A protocol-112 packet that vrrp-core's codec rejects (checksum under neither form, ...).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvalidPacket {
    /// Time since origin.
    pub t: Duration,
    /// Sender.
    pub router: String,
    /// IP source.
    pub src: IpAddr,
    /// The codec's reason.
    pub error: String,
}

/// A gratuitous ARP or an unsolicited Neighbor Advertisement.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Announcement {
    /// Time since origin.
    pub t: Duration,
    /// Sender.
    pub router: String,
    /// The announced address.
    pub ip: IpAddr,
    /// The MAC announced for it.
    pub mac: [u8; 6],
}

/// Why an Active interval ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EndReason {
    /// The router sent a priority-0 advert.
    PriorityZero,
    /// It stopped advertising for longer than its Active_Down_Interval.
    Silence,
    /// Still Active at the end of the capture.
    Open,
}

/// A period during which a router advertised as Active for one VRID and family.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ActiveInterval {
    /// The router.
    pub router: String,
    /// VRID.
    pub vrid: u8,
    /// IPv6 (true) or IPv4.
    pub ipv6: bool,
    /// First advert with priority > 0.
    pub start: Duration,
    /// Last advert (or the priority-0 advert, or the end of the capture when open).
    pub end: Duration,
    /// Why it ended.
    pub ended_by: EndReason,
}

/// A change of a router's Active status.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transition {
    /// When.
    pub t: Duration,
    /// Who.
    pub router: String,
    /// VRID.
    pub vrid: u8,
    /// true: became Active; false: stopped being Active.
    pub active: bool,
    /// For `active == false`: why.
    pub reason: Option<EndReason>,
}

/// Overlapping Active intervals of different routers for the same VRID and family.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DualActive {
    /// Start of the overlap.
    pub start: Duration,
    /// End of the overlap.
    pub end: Duration,
    /// VRID.
    pub vrid: u8,
    /// The routers Active together.
    pub routers: Vec<String>,
}

/// The decoded history of a segment. Build it with [`Timeline::build`].
#[derive(Debug, Clone, Default)]
pub struct Timeline {
    /// Wall-clock origin; every `t` is relative to it.
    pub origin: Option<SystemTime>,
    /// End of observation, relative to the origin.
    pub end: Duration,
    /// Every valid advert, in time order.
    pub adverts: Vec<AdvertEvent>,
    /// Packets the codec rejects.
    pub invalid: Vec<InvalidPacket>,
    /// Gratuitous ARPs and unsolicited NAs.
    pub announcements: Vec<Announcement>,
    /// Derived Active intervals, sorted by start.
    pub intervals: Vec<ActiveInterval>,
}

fn since(origin: SystemTime, ts: SystemTime) -> Duration {
    ts.duration_since(origin).unwrap_or_default()
}

impl Timeline {
    /// Decodes `frames` (from [`crate::Capture::frames`]). `origin` is time zero, `end` the
    /// end of observation (usually now). `names` maps lab host names to router names; frames
    /// from unmapped hosts are named by host, frames of unknown origin by source address.
    pub fn build(
        frames: &[Frame],
        origin: SystemTime,
        end: SystemTime,
        names: &HashMap<String, String>,
    ) -> Timeline {
        let mut tl = Timeline {
            origin: Some(origin),
            end: since(origin, end),
            ..Timeline::default()
        };
        let name_of = |f: &Frame, fallback: String| -> String {
            match &f.from_host {
                Some(h) => names.get(h).cloned().unwrap_or_else(|| h.clone()),
                None => fallback,
            }
        };
        for f in frames {
            let t = since(origin, f.ts);
            if let Some(raw) = f.vrrp() {
                let router = name_of(f, raw.src.to_string());
                match raw.decode() {
                    Ok(a) => tl.adverts.push(AdvertEvent {
                        t,
                        router,
                        eth_src: a.eth_src,
                        src: a.src,
                        vrid: a.vrid,
                        priority: a.priority,
                        interval_cs: a.interval_cs,
                        version: match a.version {
                            vrrp_core::Version::V2 => 2,
                            vrrp_core::Version::V3 => 3,
                        },
                        checksum_form: a.checksum_form.map(Checksum::from_core),
                        ttl: a.ttl,
                    }),
                    Err(e) => tl.invalid.push(InvalidPacket {
                        t,
                        router,
                        src: raw.src,
                        error: e.to_string(),
                    }),
                }
            } else if let Some(arp) = f.arp() {
                if arp.is_gratuitous() {
                    tl.announcements.push(Announcement {
                        t,
                        router: name_of(f, arp.sender_ip.to_string()),
                        ip: arp.sender_ip.into(),
                        mac: arp.sender_mac,
                    });
                }
            } else if let Some(na) = f.neighbor_advert() {
                if !na.solicited {
                    tl.announcements.push(Announcement {
                        t,
                        router: name_of(f, na.src.to_string()),
                        ip: na.target.into(),
                        mac: na.target_mac.unwrap_or(na.eth_src),
                    });
                }
            }
        }
        tl.adverts.sort_by_key(|a| a.t);
        tl.derive_intervals();
        tl
    }

    fn derive_intervals(&mut self) {
        let mut groups: BTreeMap<(String, u8, bool), Vec<&AdvertEvent>> = BTreeMap::new();
        for a in &self.adverts {
            groups
                .entry((a.router.clone(), a.vrid, a.is_ipv6()))
                .or_default()
                .push(a);
        }
        let mut out = Vec::new();
        for ((router, vrid, ipv6), ads) in groups {
            let mut cur: Option<(Duration, &AdvertEvent)> = None; // (start, last)
            let close = |start: Duration, end: Duration, why: EndReason| ActiveInterval {
                router: router.clone(),
                vrid,
                ipv6,
                start,
                end,
                ended_by: why,
            };
            for a in ads {
                if let Some((start, last)) = cur {
                    let gap = a.t.saturating_sub(last.t);
                    if gap > down_interval(last.priority, last.interval_cs) + SLACK {
                        out.push(close(start, last.t, EndReason::Silence));
                        cur = None;
                    }
                }
                if a.priority == 0 {
                    if let Some((start, _)) = cur.take() {
                        out.push(close(start, a.t, EndReason::PriorityZero));
                    }
                    continue;
                }
                cur = match cur {
                    Some((start, _)) => Some((start, a)),
                    None => Some((a.t, a)),
                };
            }
            if let Some((start, last)) = cur {
                let quiet = self.end.saturating_sub(last.t);
                if quiet > down_interval(last.priority, last.interval_cs) + SLACK {
                    out.push(close(start, last.t, EndReason::Silence));
                } else {
                    out.push(close(start, self.end.max(last.t), EndReason::Open));
                }
            }
        }
        out.sort_by_key(|i| i.start);
        self.intervals = out;
    }

    /// Every router that sent at least one advert, sorted.
    pub fn routers(&self) -> Vec<String> {
        let set: BTreeSet<&String> = self.adverts.iter().map(|a| &a.router).collect();
        set.into_iter().cloned().collect()
    }

    /// The adverts `router` sent.
    pub fn adverts_from<'a>(&'a self, router: &'a str) -> impl Iterator<Item = &'a AdvertEvent> {
        self.adverts.iter().filter(move |a| a.router == router)
    }

    /// Routers Active at `t` (any VRID / family), sorted.
    pub fn active_at(&self, t: Duration) -> Vec<String> {
        let set: BTreeSet<&String> = self
            .intervals
            .iter()
            .filter(|i| i.start <= t && t <= i.end)
            .map(|i| &i.router)
            .collect();
        set.into_iter().cloned().collect()
    }

    /// Routers Active at the end of the observation (open intervals).
    pub fn active_now(&self) -> Vec<String> {
        let set: BTreeSet<&String> = self
            .intervals
            .iter()
            .filter(|i| i.ended_by == EndReason::Open)
            .map(|i| &i.router)
            .collect();
        set.into_iter().cloned().collect()
    }

    /// When `router` last became Active (start of its latest interval), if ever.
    pub fn active_since(&self, router: &str) -> Option<Duration> {
        self.intervals
            .iter()
            .filter(|i| i.router == router)
            .map(|i| i.start)
            .max()
    }

    /// Becoming Active / ceasing to be Active, in time order.
    pub fn transitions(&self) -> Vec<Transition> {
        let mut v = Vec::new();
        for i in &self.intervals {
            v.push(Transition {
                t: i.start,
                router: i.router.clone(),
                vrid: i.vrid,
                active: true,
                reason: None,
            });
            if i.ended_by != EndReason::Open {
                v.push(Transition {
                    t: i.end,
                    router: i.router.clone(),
                    vrid: i.vrid,
                    active: false,
                    reason: Some(i.ended_by),
                });
            }
        }
        v.sort_by_key(|t| t.t);
        v
    }

    /// Periods when more than one router was Active for the same VRID and family.
    pub fn dual_active(&self) -> Vec<DualActive> {
        let mut out = Vec::new();
        let mut points: Vec<Duration> = self
            .intervals
            .iter()
            .flat_map(|i| [i.start, i.end])
            .collect();
        points.sort();
        points.dedup();
        let keys: BTreeSet<(u8, bool)> = self.intervals.iter().map(|i| (i.vrid, i.ipv6)).collect();
        for (vrid, ipv6) in keys {
            let mut cur: Option<DualActive> = None;
            for w in points.windows(2) {
                let (a, b) = (w[0], w[1]);
                let mid = a + (b - a) / 2;
                let who: BTreeSet<&String> = self
                    .intervals
                    .iter()
                    .filter(|i| i.vrid == vrid && i.ipv6 == ipv6 && i.start <= mid && mid <= i.end)
                    .map(|i| &i.router)
                    .collect();
                if who.len() > 1 {
                    let routers: Vec<String> = who.into_iter().cloned().collect();
                    match &mut cur {
                        Some(d) if d.routers == routers && d.end == a => d.end = b,
                        _ => {
                            if let Some(d) = cur.take() {
                                out.push(d);
                            }
                            cur = Some(DualActive {
                                start: a,
                                end: b,
                                vrid,
                                routers,
                            });
                        }
                    }
                } else if let Some(d) = cur.take() {
                    out.push(d);
                }
            }
            if let Some(d) = cur {
                out.push(d);
            }
        }
        out.sort_by_key(|d| d.start);
        out
    }

    /// Checks that over `[from, to]` exactly one router was Active at every moment, per VRID
    /// and family seen; returns the Active router(s) (one per VRID/family) or why not.
    pub fn exactly_one_active_between(
        &self,
        from: Duration,
        to: Duration,
    ) -> std::result::Result<Vec<String>, String> {
        let keys: BTreeSet<(u8, bool)> =
            self.adverts.iter().map(|a| (a.vrid, a.is_ipv6())).collect();
        if keys.is_empty() {
            return Err("no adverts at all".into());
        }
        let mut winners = Vec::new();
        for (vrid, ipv6) in keys {
            let fam = if ipv6 { "IPv6" } else { "IPv4" };
            let ivs: Vec<&ActiveInterval> = self
                .intervals
                .iter()
                .filter(|i| i.vrid == vrid && i.ipv6 == ipv6 && i.end >= from && i.start <= to)
                .collect();
            let mut points: Vec<Duration> = vec![from, to];
            for i in &ivs {
                for p in [i.start, i.end] {
                    if p > from && p < to {
                        points.push(p);
                    }
                }
            }
            points.sort();
            points.dedup();
            let mut seen = BTreeSet::new();
            for w in points.windows(2) {
                let mid = w[0] + (w[1] - w[0]) / 2;
                let who: Vec<&str> = ivs
                    .iter()
                    .filter(|i| i.start <= mid && mid <= i.end)
                    .map(|i| i.router.as_str())
                    .collect();
                if who.len() != 1 {
                    return Err(format!(
                        "VRID {vrid} {fam}: {} Active between {} and {}{}",
                        who.len(),
                        ms(w[0]),
                        ms(w[1]),
                        if who.is_empty() {
                            String::new()
                        } else {
                            format!(" ({})", who.join(", "))
                        }
                    ));
                }
                seen.insert(who[0].to_string());
            }
            if seen.len() != 1 {
                return Err(format!(
                    "VRID {vrid} {fam}: the Active changed within the window: {}",
                    seen.into_iter().collect::<Vec<_>>().join(" -> ")
                ));
            }
            winners.extend(seen);
        }
        Ok(winners)
    }

    /// [`Timeline::exactly_one_active_between`] from `within` after the origin to the end.
    pub fn exactly_one_active_within(
        &self,
        within: Duration,
    ) -> std::result::Result<Vec<String>, String> {
        self.exactly_one_active_between(within, self.end)
    }

    /// The first advert at or after `t`, from `router` if given.
    pub fn first_advert_after(&self, t: Duration, router: Option<&str>) -> Option<&AdvertEvent> {
        self.adverts
            .iter()
            .find(|a| a.t >= t && router.is_none_or(|r| a.router == r))
    }

    /// The first gratuitous ARP / unsolicited NA at or after `t`, from `router` if given.
    pub fn first_garp_after(&self, t: Duration, router: Option<&str>) -> Option<&Announcement> {
        self.announcements
            .iter()
            .find(|a| a.t >= t && router.is_none_or(|r| a.router == r))
    }

    /// For each router, how many of its adverts verified under each checksum form
    /// (`rfc9568`, `pseudo-header`, or `ipv6/v2` where the form does not apply).
    pub fn checksum_forms(&self) -> BTreeMap<String, BTreeMap<String, usize>> {
        let mut m: BTreeMap<String, BTreeMap<String, usize>> = BTreeMap::new();
        for a in &self.adverts {
            let k = a
                .checksum_form
                .map(|c| c.name().to_string())
                .unwrap_or_else(|| "ipv6/v2".into());
            *m.entry(a.router.clone()).or_default().entry(k).or_default() += 1;
        }
        m
    }

    /// For each sender, how many of its protocol-112 packets the codec rejected.
    pub fn invalid_by_sender(&self) -> BTreeMap<String, usize> {
        let mut m = BTreeMap::new();
        for p in &self.invalid {
            *m.entry(p.router.clone()).or_default() += 1;
        }
        m
    }

    /// The time `t` after the origin as a wall-clock instant.
    pub fn at(&self, t: Duration) -> Option<SystemTime> {
        self.origin.map(|o| o + t)
    }
}

/// Formats a duration as seconds with milliseconds (`1.234s`).
pub fn ms(d: Duration) -> String {
    format!("{}.{:03}s", d.as_secs(), d.subsec_millis())
}

impl fmt::Display for Timeline {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "timeline (observed for {}):", ms(self.end))?;
        for r in self.routers() {
            let ads: Vec<&AdvertEvent> = self.adverts_from(&r).collect();
            let prios: BTreeSet<u8> = ads.iter().map(|a| a.priority).collect();
            let macs: BTreeSet<String> = ads.iter().map(|a| format_mac(&a.eth_src)).collect();
            let srcs: BTreeSet<String> = ads.iter().map(|a| a.src.to_string()).collect();
            let forms = self.checksum_forms().remove(&r).unwrap_or_default();
            writeln!(
                f,
                "  {r}: {} adverts, priorities {:?}, src {}, mac {}, checksum {:?}",
                ads.len(),
                prios,
                srcs.into_iter().collect::<Vec<_>>().join(","),
                macs.into_iter().collect::<Vec<_>>().join(","),
                forms
            )?;
        }
        for t in self.transitions() {
            let what = if t.active {
                "becomes Active".to_string()
            } else {
                format!(
                    "stops being Active ({:?})",
                    t.reason.unwrap_or(EndReason::Open)
                )
            };
            writeln!(f, "  {:>9} VRID {} {} {what}", ms(t.t), t.vrid, t.router)?;
        }
        for i in self
            .intervals
            .iter()
            .filter(|i| i.ended_by == EndReason::Open)
        {
            writeln!(
                f,
                "  {:>9} VRID {} {} still Active",
                ms(self.end),
                i.vrid,
                i.router
            )?;
        }
        for d in self.dual_active() {
            writeln!(
                f,
                "  dual Active {}..{} VRID {}: {}",
                ms(d.start),
                ms(d.end),
                d.vrid,
                d.routers.join(", ")
            )?;
        }
        let mut garps: BTreeMap<(String, IpAddr), (usize, Duration)> = BTreeMap::new();
        for a in &self.announcements {
            let e = garps.entry((a.router.clone(), a.ip)).or_insert((0, a.t));
            e.0 += 1;
        }
        for ((r, ip), (n, first)) in garps {
            writeln!(f, "  announcements: {r} {ip} x{n} (first at {})", ms(first))?;
        }
        for (r, n) in self.invalid_by_sender() {
            let first = self.invalid.iter().find(|p| p.router == r);
            writeln!(
                f,
                "  invalid: {r} {n} packets ({})",
                first.map(|p| p.error.as_str()).unwrap_or("")
            )?;
        }
        Ok(())
    }
}

/// Which lab hosts answer for `vip` right now, asked from host `client`: for IPv4 an ARP
/// request (`arping`), for IPv6 a ping that triggers Neighbor Solicitation. The answers are
/// read from `frames_after` (a capture running on the client's segment), so that replies
/// carrying the same virtual MAC from different hosts are told apart.
pub fn vip_answerers(
    lab: &Lab,
    capture: &crate::capture::Capture,
    client: &str,
    vip: IpAddr,
) -> Result<Vec<String>> {
    let c = lab
        .try_host(client)
        .ok_or_else(|| Error::Invalid(format!("no client {client:?}")))?;
    let before = SystemTime::now();
    c.flush_neighbors()?;
    match vip {
        IpAddr::V4(v4) => {
            c.arping(v4, 2)?;
        }
        IpAddr::V6(_) => {
            let _ = c.ping(vip)?;
        }
    }
    std::thread::sleep(Duration::from_millis(100));
    let mut hosts = BTreeSet::new();
    for f in capture.frames().iter().filter(|f| f.ts >= before) {
        let Some(h) = &f.from_host else { continue };
        if h == client {
            continue;
        }
        let answers = match vip {
            IpAddr::V4(v4) => f
                .arp()
                .is_some_and(|a| !a.is_request() && a.sender_ip == v4),
            IpAddr::V6(v6) => f
                .neighbor_advert()
                .is_some_and(|n| n.solicited && n.target == v6),
        };
        if answers {
            hosts.insert(h.clone());
        }
    }
    Ok(hosts.into_iter().collect())
}

/// Asks for `vip` from `client` (see [`vip_answerers`]) and returns the one MAC that
/// answered, or an error naming all of them. Uses `arping`, so IPv4 only.
pub fn vip_answered_by_one_mac(
    lab: &Lab,
    client: &str,
    vip: std::net::Ipv4Addr,
) -> Result<[u8; 6]> {
    let macs = lab.arping(client, vip)?;
    match macs.as_slice() {
        [one] => Ok(*one),
        _ => Err(Error::Invalid(format!(
            "{vip} answered by {} MACs: {}",
            macs.len(),
            macs.iter().map(format_mac).collect::<Vec<_>>().join(", ")
        ))),
    }
}

/// Whether host `host`'s neighbour table maps `vip` to `mac`.
pub fn client_arp_points_at(lab: &Lab, host: &str, vip: IpAddr, mac: [u8; 6]) -> Result<bool> {
    Ok(lab.host(host).neighbor(vip)? == Some(mac))
}

/// What tshark's VRRP dissector says about one advert's checksum.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TsharkVerdict {
    /// 1-based frame number in the pcap.
    pub frame: usize,
    /// The sender (as named in the timeline).
    pub router: String,
    /// The form vrrp-core says verified (`None` for IPv6 / v2 / invalid).
    pub form: Option<Checksum>,
    /// IPv6?
    pub ipv6: bool,
    /// tshark's `vrrp.checksum.status`: `good`, `bad`, `unverified`, or the raw value.
    pub status: String,
}

/// Writes `frames` as a pcap to `path` and asks tshark (`-Y vrrp -e vrrp.checksum.status`)
/// for its checksum verdict on every VRRP frame, next to vrrp-core's decoded form.
pub fn tshark_verdicts(
    frames: &[Frame],
    names: &HashMap<String, String>,
    path: &Path,
) -> Result<Vec<TsharkVerdict>> {
    {
        let f = std::fs::File::create(path)
            .map_err(|e| Error::io(format!("create {}", path.display()), e))?;
        let mut w = std::io::BufWriter::new(f);
        crate::capture::write_pcap_to(&mut w, frames)
            .map_err(|e| Error::io(format!("write {}", path.display()), e))?;
        std::io::Write::flush(&mut w).map_err(|e| Error::io("flush pcap", e))?;
    }
    let p = path.display().to_string();
    let out = std::process::Command::new("tshark")
        .args([
            "-n",
            "-r",
            &p,
            "-Y",
            "vrrp",
            "-T",
            "fields",
            "-e",
            "frame.number",
            "-e",
            "vrrp.checksum.status",
        ])
        .output()
        .map_err(|e| Error::MissingTool {
            tool: "tshark".into(),
            hint: format!("apt-get install -y tshark ({e})"),
        })?;
    if !out.status.success() {
        return Err(Error::Command {
            cmd: format!("tshark -r {p} -Y vrrp"),
            status: out.status.to_string(),
            stderr: String::from_utf8_lossy(&out.stderr).trim().to_string(),
        });
    }
    let mut v = Vec::new();
    for line in String::from_utf8_lossy(&out.stdout).lines() {
        let mut it = line.split('\t');
        let (Some(n), st) = (
            it.next().and_then(|n| n.trim().parse::<usize>().ok()),
            it.next(),
        ) else {
            continue;
        };
        let Some(frame) = frames.get(n.wrapping_sub(1)) else {
            continue;
        };
        let raw = frame.vrrp();
        let router = match &frame.from_host {
            Some(h) => names.get(h).cloned().unwrap_or_else(|| h.clone()),
            None => raw.as_ref().map(|r| r.src.to_string()).unwrap_or_default(),
        };
        let form = raw
            .as_ref()
            .and_then(|r| r.decode().ok())
            .and_then(|a| a.checksum_form)
            .map(Checksum::from_core);
        let status = match st.map(str::trim).unwrap_or("") {
            "0" => "bad".to_string(),
            "1" => "good".to_string(),
            "2" | "" => "unverified".to_string(),
            s => s.to_string(),
        };
        v.push(TsharkVerdict {
            frame: n,
            router,
            form,
            ipv6: raw.as_ref().is_some_and(|r| r.src.is_ipv6()),
            status,
        });
    }
    Ok(v)
}

/// Summarises verdicts as `router (form, family): status xN` lines.
pub fn summarize_tshark(v: &[TsharkVerdict]) -> Vec<String> {
    let mut m: BTreeMap<(String, String, String), usize> = BTreeMap::new();
    for x in v {
        let form = match (x.ipv6, x.form) {
            (true, _) => "IPv6".to_string(),
            (false, Some(f)) => format!("IPv4 {f}"),
            (false, None) => "IPv4 invalid/v2".to_string(),
        };
        *m.entry((x.router.clone(), form, x.status.clone()))
            .or_default() += 1;
    }
    m.into_iter()
        .map(|((r, form, st), n)| format!("{r} ({form}): tshark says {st} x{n}"))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v1_frame(ts_ms: u64, host: &str, prio: u8, csum: [u8; 2]) -> Frame {
        // Checklist V1 (VRID 1, interval 100 cs, VIP 192.0.2.1, src 192.0.2.10); the
        // checksum is only right for priority 100, others are "invalid" on purpose.
        let mut d = hex("01005e00001200005e0001010800");
        d.extend(hex("45c0002000000000ff701891c000020ae0000012"));
        d.extend([
            0x31, 0x01, prio, 0x01, 0x00, 0x64, csum[0], csum[1], 0xc0, 0, 2, 1,
        ]);
        Frame {
            ts: SystemTime::UNIX_EPOCH + Duration::from_millis(ts_ms),
            from_host: Some(host.into()),
            data: d,
        }
    }

    fn hex(s: &str) -> Vec<u8> {
        (0..s.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
            .collect()
    }

    #[test]
    fn intervals_gaps_and_forms() {
        let mut frames = Vec::new();
        // r1 advertises every second from 0 to 5 s (both forms of V1), goes silent.
        for i in 0..=5u64 {
            let c = if i % 2 == 0 {
                [0xa8, 0x97]
            } else {
                [0x05, 0xfe]
            };
            frames.push(v1_frame(i * 1000, "r1", 100, c));
        }
        // r2 from 8 s on.
        for i in 8..=10u64 {
            frames.push(v1_frame(i * 1000, "r2", 100, [0xa8, 0x97]));
        }
        frames.push(v1_frame(10_500, "r2", 100, [0xa8, 0x96])); // I1: bad checksum
        let origin = SystemTime::UNIX_EPOCH;
        let names = HashMap::from([("r1".to_string(), "one".to_string())]);
        let tl = Timeline::build(
            &frames,
            origin,
            origin + Duration::from_millis(10_200),
            &names,
        );
        assert_eq!(tl.intervals.len(), 2);
        assert_eq!(tl.intervals[0].router, "one");
        assert_eq!(tl.intervals[0].ended_by, EndReason::Silence);
        assert_eq!(tl.intervals[0].end, Duration::from_secs(5));
        assert_eq!(tl.intervals[1].ended_by, EndReason::Open);
        assert_eq!(tl.active_now(), vec!["r2".to_string()]);
        assert_eq!(
            tl.active_at(Duration::from_secs(3)),
            vec!["one".to_string()]
        );
        assert!(tl.active_at(Duration::from_secs(7)).is_empty());
        let forms = tl.checksum_forms();
        assert_eq!(forms["one"]["rfc9568"], 3);
        assert_eq!(forms["one"]["pseudo-header"], 3);
        assert_eq!(tl.invalid_by_sender()["r2"], 1);
        assert!(tl
            .exactly_one_active_between(Duration::from_secs(8), tl.end)
            .is_ok());
        assert!(tl.exactly_one_active_within(Duration::ZERO).is_err());
        assert!(tl.dual_active().is_empty());
        assert_eq!(
            tl.first_advert_after(Duration::from_millis(7000), None)
                .unwrap()
                .router,
            "r2"
        );
    }

    #[test]
    fn priority_zero_ends_and_overlap_is_dual() {
        let mut frames = Vec::new();
        for i in 0..5u64 {
            frames.push(v1_frame(i * 1000, "a", 100, [0xa8, 0x97]));
            frames.push(v1_frame(i * 1000 + 10, "b", 100, [0xa8, 0x97]));
        }
        // a leaves with priority 0 (checksum not valid for prio 0 -> use a valid one).
        let mut z = v1_frame(5000, "a", 0, [0, 0]);
        let n = z.data.len();
        let msg = &mut z.data[n - 12..];
        let sum = vrrp_core::checksum::finish(vrrp_core::checksum::sum_words(0, msg));
        msg[6..8].copy_from_slice(&sum.to_be_bytes());
        frames.push(z);
        let origin = SystemTime::UNIX_EPOCH;
        let tl = Timeline::build(
            &frames,
            origin,
            origin + Duration::from_millis(5500),
            &HashMap::new(),
        );
        let a = tl.intervals.iter().find(|i| i.router == "a").unwrap();
        assert_eq!(a.ended_by, EndReason::PriorityZero);
        let d = tl.dual_active();
        assert_eq!(d.len(), 1);
        assert_eq!(d[0].routers, vec!["a".to_string(), "b".to_string()]);
        assert_eq!(tl.active_now(), vec!["b".to_string()]);
    }
}
