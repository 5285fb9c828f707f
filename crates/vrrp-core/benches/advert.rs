//! Hot-path benchmarks of vrrp-core: receiving an advert, parsing, encoding, serving the
//! advertisement timer, one tick of a node with 1,000 Active routers, and one advert received
//! by a node of 1,000 Backups.
//!
//! Run with `cargo bench -p vrrp-core --bench advert`.

use core::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::hint::black_box;
use std::time::Duration as StdDuration;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use vrrp_core::packet::{self, AdvertSpec, AuthType, ChecksumForm, RxMeta, Version};
use vrrp_core::{AnnounceConfig, Duration, Input, Instant, Node, Router, RouterConfig, State};

const PEER_V4: IpAddr = IpAddr::V4(Ipv4Addr::new(192, 0, 2, 20));
const OURS_V4: IpAddr = IpAddr::V4(Ipv4Addr::new(192, 0, 2, 10));
const VIP_V4: IpAddr = IpAddr::V4(Ipv4Addr::new(192, 0, 2, 1));
const PEER_V6: IpAddr = IpAddr::V6(Ipv6Addr::new(0xfe80, 0, 0, 0, 0, 0, 0, 0x20));
const VIP_V6_LL: IpAddr = IpAddr::V6(Ipv6Addr::new(0xfe80, 0, 0, 0, 0, 0, 0, 1));
const VIP_V6: IpAddr = IpAddr::V6(Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 1));

/// An IPv4 VRRPv3 advert from the peer for VRID 1, VIP 192.0.2.1, priority 200.
fn advert_v4(buf: &mut [u8]) -> (usize, RxMeta) {
    advert_v4_for(1, buf)
}

/// An IPv4 VRRPv3 advert from the peer for `vrid`, VIP 192.0.2.1, priority 200.
fn advert_v4_for(vrid: u8, buf: &mut [u8]) -> (usize, RxMeta) {
    let dst = IpAddr::V4(packet::MCAST_V4);
    let spec = AdvertSpec {
        version: Version::V3,
        vrid,
        priority: 200,
        interval_cs: 100,
        addrs: &[VIP_V4],
        checksum_form: ChecksumForm::PseudoHeader,
        auth_type: AuthType::None,
        auth_data: [0; 8],
    };
    let len = packet::build(&spec, PEER_V4, dst, buf).unwrap();
    let meta = RxMeta {
        src: PEER_V4,
        dst,
        ttl: packet::VRRP_TTL,
        ifindex: 1,
    };
    (len, meta)
}

/// An IPv6 advert with a link-local and a global VIP.
fn advert_v6(buf: &mut [u8]) -> (usize, RxMeta) {
    let dst = IpAddr::V6(packet::MCAST_V6);
    let spec = AdvertSpec {
        version: Version::V3,
        vrid: 1,
        priority: 200,
        interval_cs: 100,
        addrs: &[VIP_V6_LL, VIP_V6],
        checksum_form: ChecksumForm::PseudoHeader,
        auth_type: AuthType::None,
        auth_data: [0; 8],
    };
    let len = packet::build(&spec, PEER_V6, dst, buf).unwrap();
    let meta = RxMeta {
        src: PEER_V6,
        dst,
        ttl: packet::VRRP_TTL,
        ifindex: 1,
    };
    (len, meta)
}

/// Drains every output of a router, adverts written into `buf`; returns the number of
/// adverts.
fn drain_into(router: &mut Router, buf: &mut Vec<u8>) -> usize {
    let mut n = 0;
    while let Some(tx) = router.poll_transmit(buf) {
        black_box(&buf[..tx.len]);
        n += 1;
    }
    while let Some(c) = router.poll_command() {
        black_box(c);
    }
    while let Some(e) = router.poll_event() {
        black_box(e);
    }
    n
}

fn drain(router: &mut Router) -> usize {
    drain_into(router, &mut Vec::new())
}

/// Drains every output of a node, adverts written into `buf`; returns the number of adverts.
fn drain_node(node: &mut Node, buf: &mut Vec<u8>) -> usize {
    let mut n = 0;
    while let Some((_, tx)) = node.poll_transmit(buf) {
        black_box(&buf[..tx.len]);
        n += 1;
    }
    while let Some(c) = node.poll_command() {
        black_box(c);
    }
    while let Some(e) = node.poll_event() {
        black_box(e);
    }
    n
}

fn parse_handle_backup(c: &mut Criterion) {
    let cfg = RouterConfig::new("bench", 1, OURS_V4, vec![VIP_V4]);
    let mut router = Router::new(cfg).unwrap();
    let mut now = Instant::from_micros(1_000_000);
    router.handle(now, Input::Startup);
    drain(&mut router);
    assert_eq!(router.state(), State::Backup);
    let mut buf = [0u8; 64];
    let (len, meta) = advert_v4(&mut buf);
    let pkt = &buf[..len];
    let step = Duration::from_micros(1_000);
    let mut out = Vec::new();

    let mut group = c.benchmark_group("advert");
    group.throughput(Throughput::Elements(1));
    group.bench_function("parse_handle_backup", |b| {
        b.iter(|| {
            now += step;
            let adv = packet::parse(black_box(pkt), meta).unwrap();
            router.handle_advert(now, &adv).unwrap();
            drain_into(&mut router, &mut out);
        })
    });
    group.finish();
    assert_eq!(router.state(), State::Backup);
    // The advert re-armed the Active_Down_Timer every time: it lies ahead of the last `now`.
    assert!(router.poll_timeout().unwrap() > now);
}

fn parse_only(c: &mut Criterion) {
    let mut group = c.benchmark_group("advert");
    group.throughput(Throughput::Elements(1));
    let mut buf4 = [0u8; 64];
    let (len4, meta4) = advert_v4(&mut buf4);
    group.bench_function("parse_only/v4", |b| {
        b.iter(|| {
            packet::parse(black_box(&buf4[..len4]), black_box(meta4))
                .unwrap()
                .priority
        })
    });
    let mut buf6 = [0u8; 64];
    let (len6, meta6) = advert_v6(&mut buf6);
    group.bench_function("parse_only/v6", |b| {
        b.iter(|| {
            packet::parse(black_box(&buf6[..len6]), black_box(meta6))
                .unwrap()
                .priority
        })
    });
    group.finish();
}

fn encode_advert(c: &mut Criterion) {
    let mut vips = vec![VIP_V4];
    vips.extend((2..=4).map(|i| IpAddr::V4(Ipv4Addr::new(192, 0, 2, i))));
    let spec = AdvertSpec {
        version: Version::V3,
        vrid: 1,
        priority: 100,
        interval_cs: 100,
        addrs: &vips,
        checksum_form: ChecksumForm::PseudoHeader,
        auth_type: AuthType::None,
        auth_data: [0; 8],
    };
    let dst = IpAddr::V4(packet::MCAST_V4);
    let mut buf = [0u8; 64];
    let mut group = c.benchmark_group("advert");
    group.throughput(Throughput::Elements(1));
    group.bench_function("encode_advert", |b| {
        b.iter(|| packet::build(black_box(&spec), OURS_V4, black_box(dst), &mut buf).unwrap())
    });
    group.finish();
}

/// An owner (priority 255) with announcements off, so only the Adver timer runs.
fn owner_config(name: &str, vrid: u8, primary: IpAddr, vip: IpAddr) -> RouterConfig {
    let mut vips = vec![vip];
    if vip.is_ipv6() {
        vips.insert(0, VIP_V6_LL);
    }
    let mut cfg = RouterConfig::new(name, vrid, primary, vips);
    cfg.priority = 255;
    cfg.announce = AnnounceConfig {
        burst_count: 0,
        second_burst_delay: None,
        ..AnnounceConfig::default()
    };
    cfg
}

fn timer_expiry(c: &mut Criterion) {
    let mut router = Router::new(owner_config("bench", 1, OURS_V4, VIP_V4)).unwrap();
    router.handle(Instant::ZERO, Input::Startup);
    drain(&mut router);
    assert_eq!(router.state(), State::Active);
    let mut group = c.benchmark_group("advert");
    group.throughput(Throughput::Elements(1));
    let mut out = Vec::new();
    group.bench_function("timer_expiry", |b| {
        b.iter(|| {
            let now = router.poll_timeout().unwrap();
            router.handle_timeout(now);
            drain_into(&mut router, &mut out);
        })
    });
    group.finish();
    assert_eq!(router.state(), State::Active);
}

/// 1,000 independent Active routers: VRIDs 1..=255 on IPv4 eth0, eth1, eth2 and IPv6 eth0.
fn thousand_routers() -> Node {
    let mut node = Node::new();
    let mut n = 0;
    'outer: for iface in 0u8..4 {
        for vrid in 1..=255u8 {
            if n == 1_000 {
                break 'outer;
            }
            let cfg = if iface < 3 {
                let primary = IpAddr::V4(Ipv4Addr::new(10, iface, 0, 1));
                let vip = IpAddr::V4(Ipv4Addr::new(10, iface, 1, vrid));
                owner_config(&format!("v4-{iface}-{vrid}"), vrid, primary, vip)
            } else {
                let primary = IpAddr::V6(Ipv6Addr::new(0xfe80, 0, 0, 0, 0, 0, 0, 0x10));
                let vip = IpAddr::V6(Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, u16::from(vrid)));
                owner_config(&format!("v6-{vrid}"), vrid, primary, vip)
            };
            node.add_router(Router::new(cfg).unwrap());
            n += 1;
        }
    }
    node.handle_all(Instant::ZERO, Input::Startup);
    drain_node(&mut node, &mut Vec::new());
    assert_eq!(node.len(), 1_000);
    assert!(node.routers().all(|(_, r)| r.state() == State::Active));
    node
}

fn node_tick_1000(c: &mut Criterion) {
    let mut node = thousand_routers();
    let interval = Duration::from_secs(1);
    let mut now = Instant::ZERO;
    let mut group = c.benchmark_group("advert");
    group.throughput(Throughput::Elements(1_000));
    let mut buf = Vec::new();
    group.bench_function("node_tick_1000", |b| {
        b.iter(|| {
            now += interval;
            node.handle_timeout(now);
            assert_eq!(drain_node(&mut node, &mut buf), 1_000);
        })
    });
    group.finish();
}

/// Receiving one advert in a node of 1,000 Backups, as the driver does per packet: hand it to
/// its router, drain the node's actions, read the node's next deadline.
fn node_advert_1000(c: &mut Criterion) {
    let mut node = Node::new();
    for i in 0..1_000u32 {
        let vrid = 1 + (i % 255) as u8;
        let cfg = RouterConfig::new(&format!("b-{i}"), vrid, OURS_V4, vec![VIP_V4]);
        node.add_router(Router::new(cfg).unwrap());
    }
    let mut now = Instant::from_micros(1_000_000);
    node.handle_all(now, Input::Startup);
    let mut buf = Vec::new();
    drain_node(&mut node, &mut buf);
    let mut meta = None;
    let adverts: Vec<Vec<u8>> = (1..=255u8)
        .map(|vrid| {
            let mut buf = [0u8; 64];
            let (len, m) = advert_v4_for(vrid, &mut buf);
            meta = Some(m);
            buf[..len].to_vec()
        })
        .collect();
    let meta = meta.unwrap();
    let step = Duration::from_micros(1);
    let mut k = 0usize;
    let mut group = c.benchmark_group("advert");
    group.throughput(Throughput::Elements(1));
    group.bench_function("node_advert_1000", |b| {
        b.iter(|| {
            now += step;
            let id = vrrp_core::RouterId(k % 1_000);
            let adv = packet::parse(black_box(&adverts[k % 1_000 % 255]), meta).unwrap();
            node.handle_advert_for(now, id, &adv).unwrap();
            drain_node(&mut node, &mut buf);
            black_box(node.poll_timeout());
            k += 1;
        })
    });
    group.finish();
    assert!(node.routers().all(|(_, r)| r.state() == State::Backup));
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .measurement_time(StdDuration::from_secs(2))
        .warm_up_time(StdDuration::from_millis(500));
    targets = parse_handle_backup, parse_only, encode_advert, timer_expiry, node_tick_1000, node_advert_1000
}
criterion_main!(benches);
