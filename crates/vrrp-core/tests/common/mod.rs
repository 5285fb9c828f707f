//! Helpers shared by the vrrp-core integration tests.
#![allow(dead_code)]

use std::net::IpAddr;

use vrrp_core::packet::{self, AdvertSpec, AuthType, ChecksumForm, RxMeta, Version};
use vrrp_core::{Cause, Command, Duration, Event, Input, Instant, Notice, Reason, State};
use vrrp_core::{Router, RouterConfig};

/// One output of a router, of any kind, in the order [`drain`] takes them (transmissions,
/// commands, events): what the tests assert on.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Out {
    /// An advert, one per destination.
    SendAdvert {
        version: Version,
        priority: u8,
        dst: IpAddr,
    },
    AddVip(IpAddr),
    RemoveVip(IpAddr),
    Announce(IpAddr),
    Probe(IpAddr),
    AddRoutes,
    RemoveRoutes,
    LowerPriorityAdvert {
        from: IpAddr,
        priority: u8,
    },
    StateChanged {
        from: State,
        to: State,
        reason: Reason,
    },
    PriorityChanged {
        from: u8,
        to: u8,
        cause: Cause,
    },
    Notice(Notice),
    AddressConflict {
        addr: IpAddr,
        mac: [u8; 6],
    },
}

impl From<Command> for Out {
    fn from(c: Command) -> Out {
        match c {
            Command::AddVip(a) => Out::AddVip(a),
            Command::RemoveVip(a) => Out::RemoveVip(a),
            Command::Announce(a) => Out::Announce(a),
            Command::Probe(a) => Out::Probe(a),
            Command::AddRoutes => Out::AddRoutes,
            Command::RemoveRoutes => Out::RemoveRoutes,
        }
    }
}

impl From<Event> for Out {
    fn from(e: Event) -> Out {
        match e {
            Event::StateChanged { from, to, reason } => Out::StateChanged { from, to, reason },
            Event::PriorityChanged {
                from, to, cause, ..
            } => Out::PriorityChanged { from, to, cause },
            Event::Notice(n) => Out::Notice(n),
            Event::AddressConflict { addr, mac } => Out::AddressConflict { addr, mac },
            Event::LowerPriorityAdvert { from, priority } => {
                Out::LowerPriorityAdvert { from, priority }
            }
        }
    }
}

/// Decodes a hex string (no spaces).
pub fn hex(s: &str) -> Vec<u8> {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

/// Splits a full IPv4 or IPv6 packet into its VRRP payload and metadata.
pub fn split_ip(pkt: &[u8]) -> (Vec<u8>, RxMeta) {
    match pkt[0] >> 4 {
        4 => {
            let ihl = usize::from(pkt[0] & 0x0f) * 4;
            let total = usize::from(u16::from_be_bytes([pkt[2], pkt[3]]));
            let src = IpAddr::from([pkt[12], pkt[13], pkt[14], pkt[15]]);
            let dst = IpAddr::from([pkt[16], pkt[17], pkt[18], pkt[19]]);
            let meta = RxMeta {
                src,
                dst,
                ttl: pkt[8],
                ifindex: 1,
            };
            (pkt[ihl..total].to_vec(), meta)
        }
        6 => {
            let plen = usize::from(u16::from_be_bytes([pkt[4], pkt[5]]));
            let src: [u8; 16] = pkt[8..24].try_into().unwrap();
            let dst: [u8; 16] = pkt[24..40].try_into().unwrap();
            let meta = RxMeta {
                src: IpAddr::from(src),
                dst: IpAddr::from(dst),
                ttl: pkt[7],
                ifindex: 1,
            };
            (pkt[40..40 + plen].to_vec(), meta)
        }
        v => panic!("not an IP packet (version {v})"),
    }
}

/// Parses an IP address literal.
pub fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

/// Instant at `ms` milliseconds.
pub fn ms(ms: u64) -> Instant {
    Instant::from_micros(ms * 1_000)
}

/// An IPv4 router config: VRID 1, VIP 192.0.2.1, primary 192.0.2.10.
pub fn v4_config(priority: u8) -> RouterConfig {
    let mut cfg = RouterConfig::new("VI_1", 1, ip("192.0.2.10"), vec![ip("192.0.2.1")]);
    cfg.priority = priority;
    cfg
}

/// An IPv6 router config: VRID 1, addresses fe80::1 and 2001:db8::1, primary fe80::10.
pub fn v6_config(priority: u8) -> RouterConfig {
    let mut cfg = RouterConfig::new(
        "VI_6",
        1,
        ip("fe80::10"),
        vec![ip("fe80::1"), ip("2001:db8::1")],
    );
    cfg.priority = priority;
    cfg
}

/// A started router, with its startup actions drained.
pub fn started(cfg: RouterConfig, now: Instant) -> Router {
    let mut r = Router::new(cfg).unwrap();
    r.handle(now, Input::Startup);
    drain(&mut r);
    r
}

/// A router driven to Active (non-owner: through the down timer), actions drained.
pub fn active(cfg: RouterConfig) -> (Router, Instant) {
    let mut r = started(cfg, Instant::ZERO);
    let t = r.poll_timeout().unwrap();
    r.handle_timeout(t);
    drain(&mut r);
    assert_eq!(r.state(), vrrp_core::State::Active);
    (r, t)
}

/// Drains every pending output in the documented order: transmissions (each advert is also
/// parsed back, so every one is a valid message), commands, events.
pub fn drain(r: &mut Router) -> Vec<Out> {
    let mut out = Vec::new();
    for (bytes, meta, tx) in transmits(r) {
        let adv = packet::parse(&bytes, meta).expect("a router's advert parses");
        assert_eq!((adv.version, adv.priority), (tx.version, tx.priority));
        out.push(Out::SendAdvert {
            version: tx.version,
            priority: tx.priority,
            dst: tx.dst,
        });
    }
    out.extend(std::iter::from_fn(|| r.poll_command()).map(Out::from));
    out.extend(std::iter::from_fn(|| r.poll_event()).map(Out::from));
    out
}

/// Drains the adverts only: each one's bytes, its metadata as a peer receives it (TTL 255) and
/// the transmit.
pub fn transmits(r: &mut Router) -> Vec<(Vec<u8>, RxMeta, vrrp_core::Transmit)> {
    let mut out = Vec::new();
    let mut buf = Vec::new();
    while let Some(tx) = r.poll_transmit(&mut buf) {
        let meta = RxMeta {
            src: tx.src,
            dst: tx.dst,
            ttl: 255,
            ifindex: 1,
        };
        out.push((buf[..tx.len].to_vec(), meta, tx));
    }
    out
}

/// Description of an advert to feed a router.
#[derive(Clone, Copy)]
pub struct Adv<'a> {
    pub version: Version,
    pub vrid: u8,
    pub priority: u8,
    pub interval_cs: u16,
    pub src: IpAddr,
    pub dst: IpAddr,
    pub ttl: u8,
    pub addrs: &'a [IpAddr],
    pub form: ChecksumForm,
    pub auth_type: AuthType,
    pub auth_data: [u8; 8],
}

impl<'a> Adv<'a> {
    /// A valid IPv4 v3 advert from `src` with `priority` for VRID 1 and VIP 192.0.2.1.
    pub fn v4(src: &str, priority: u8) -> Adv<'static> {
        static VIPS: std::sync::OnceLock<Vec<IpAddr>> = std::sync::OnceLock::new();
        let addrs = VIPS.get_or_init(|| vec![ip("192.0.2.1")]);
        Adv {
            version: Version::V3,
            vrid: 1,
            priority,
            interval_cs: 100,
            src: ip(src),
            dst: ip("224.0.0.18"),
            ttl: 255,
            addrs,
            form: ChecksumForm::PseudoHeader,
            auth_type: AuthType::None,
            auth_data: [0; 8],
        }
    }

    /// A valid IPv6 advert for VRID 1 with fe80::1, 2001:db8::1.
    pub fn v6(src: &str, priority: u8) -> Adv<'static> {
        static VIPS: std::sync::OnceLock<Vec<IpAddr>> = std::sync::OnceLock::new();
        let addrs = VIPS.get_or_init(|| vec![ip("fe80::1"), ip("2001:db8::1")]);
        Adv {
            dst: ip("ff02::12"),
            addrs,
            ..Adv::v4(src, priority)
        }
    }

    /// Encodes the advert.
    pub fn bytes(&self) -> Vec<u8> {
        let spec = AdvertSpec {
            version: self.version,
            vrid: self.vrid,
            priority: self.priority,
            interval_cs: self.interval_cs,
            addrs: self.addrs,
            checksum_form: self.form,
            auth_type: self.auth_type,
            auth_data: self.auth_data,
        };
        let mut buf = [0u8; 1024];
        let n = packet::build(&spec, self.src, self.dst, &mut buf).unwrap();
        buf[..n].to_vec()
    }

    /// The metadata it arrives with.
    pub fn meta(&self) -> RxMeta {
        RxMeta {
            src: self.src,
            dst: self.dst,
            ttl: self.ttl,
            ifindex: 1,
        }
    }

    /// Encodes, parses and hands the advert to `r`; returns the policy verdict.
    pub fn feed(&self, r: &mut Router, now: Instant) -> Result<(), vrrp_core::PolicyError> {
        let bytes = self.bytes();
        let adv = packet::parse(&bytes, self.meta()).expect("advert parses");
        r.handle_advert(now, &adv)
    }
}

/// Microseconds of a centisecond count.
pub fn cs(n: u64) -> Duration {
    Duration::from_centis(n)
}

/// The state changes among `actions`.
pub fn transitions(actions: &[Out]) -> Vec<(vrrp_core::State, vrrp_core::State)> {
    actions
        .iter()
        .filter_map(|a| match a {
            Out::StateChanged { from, to, .. } => Some((*from, *to)),
            _ => None,
        })
        .collect()
}

/// The priorities of the adverts among `actions`.
pub fn adverts(actions: &[Out]) -> Vec<u8> {
    actions
        .iter()
        .filter_map(|a| match a {
            Out::SendAdvert { priority, .. } => Some(*priority),
            _ => None,
        })
        .collect()
}

/// An IPv4 advert to the VRRP group, as [`drain`] reports it.
pub fn mcast_advert(version: Version, priority: u8) -> Out {
    Out::SendAdvert {
        version,
        priority,
        dst: ip("224.0.0.18"),
    }
}

/// Drains every pending output of a node in the documented order, with the router of each.
pub fn drain_node(node: &mut vrrp_core::Node) -> Vec<(vrrp_core::RouterId, Out)> {
    let mut out = Vec::new();
    let mut buf = Vec::new();
    while let Some((id, tx)) = node.poll_transmit(&mut buf) {
        let (version, priority, dst) = (tx.version, tx.priority, tx.dst);
        out.push((
            id,
            Out::SendAdvert {
                version,
                priority,
                dst,
            },
        ));
    }
    out.extend(std::iter::from_fn(|| node.poll_command()).map(|(id, c)| (id, Out::from(c))));
    out.extend(std::iter::from_fn(|| node.poll_event()).map(|(id, e)| (id, Out::from(e))));
    out
}
