//! The hot paths allocate nothing: receiving an advert in a steady Backup, an Active's
//! advertisement timer (expiry, draining the `SendAdvert`, encoding it), and any takeover after
//! a router's first (its action queue keeps the capacity the first one gave it).
//!
//! A counting global allocator wraps the system one. Only allocations made by the current
//! thread while its `COUNTING` flag is set are counted, so the test harness's other threads
//! (and the other test in this file) cannot disturb a measurement.

use core::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

use vrrp_core::packet::{self, AdvertSpec, ChecksumForm, RxMeta, Version};
use vrrp_core::{Duration, Input, Instant, Router, RouterConfig, State, VersionMode};

/// Drains every output of `router`, adverts written into `buf` (reused); returns the number
/// of adverts.
/// Drains every output; returns the adverts and commands (announcements...) there were.
fn drain_all(router: &mut Router, buf: &mut Vec<u8>) -> u64 {
    let mut sent = 0;
    while let Some(tx) = router.poll_transmit(buf) {
        std::hint::black_box(&buf[..tx.len]);
        sent += 1;
    }
    while let Some(c) = router.poll_command() {
        std::hint::black_box(c);
        sent += 1;
    }
    while let Some(e) = router.poll_event() {
        std::hint::black_box(e);
    }
    sent
}

thread_local! {
    // `const` initialisers without destructors: reading them never allocates.
    static COUNTING: Cell<bool> = const { Cell::new(false) };
    static ALLOCATIONS: Cell<u64> = const { Cell::new(0) };
}

struct CountingAlloc;

fn note_allocation() {
    // `try_with`: the allocator may run while thread-locals are being torn down.
    let _ = COUNTING.try_with(|on| {
        if on.get() {
            let _ = ALLOCATIONS.try_with(|n| n.set(n.get() + 1));
        }
    });
}

// SAFETY: every call is forwarded unchanged to `System`, which upholds the `GlobalAlloc`
// contract; the bookkeeping only touches thread-local `Cell`s and never allocates. vrrp-core's
// `forbid(unsafe_code)` covers the library, not this test crate.
unsafe impl GlobalAlloc for CountingAlloc {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        note_allocation();
        unsafe { System.alloc(layout) }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        note_allocation();
        unsafe { System.alloc_zeroed(layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        note_allocation();
        unsafe { System.realloc(ptr, layout, new_size) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static GLOBAL: CountingAlloc = CountingAlloc;

/// Runs `f` and returns how many allocations (alloc, alloc_zeroed, realloc) this thread made.
fn allocations_in(f: impl FnOnce()) -> u64 {
    ALLOCATIONS.with(|n| n.set(0));
    COUNTING.with(|on| on.set(true));
    f();
    COUNTING.with(|on| on.set(false));
    ALLOCATIONS.with(Cell::get)
}

const ITERATIONS: u64 = 10_000;

#[test]
fn the_counter_sees_allocations() {
    let n = allocations_in(|| {
        std::hint::black_box(vec![1u8; 16]);
    });
    assert_eq!(n, 1);
}

fn v4(last: u8) -> IpAddr {
    IpAddr::V4(Ipv4Addr::new(192, 0, 2, last))
}

fn v6(ll: bool, last: u16) -> IpAddr {
    let first = if ll { 0xfe80 } else { 0x2001 };
    IpAddr::V6(Ipv6Addr::new(first, 0, 0, 0, 0, 0, 0, last))
}

/// Parse + handle_advert of a higher-priority advert in a steady Backup.
/// A priority-200 advert from `peer` for `cfg`'s virtual router, built into `buf`: its length
/// and the metadata it arrives with.
fn peer_advert(
    cfg: &RouterConfig,
    version: Version,
    peer: IpAddr,
    buf: &mut [u8; 128],
) -> (usize, RxMeta) {
    let dst = cfg.family.multicast_group();
    let (auth_type, auth_data) = cfg.auth.wire();
    let spec = AdvertSpec {
        version,
        vrid: cfg.vrid,
        priority: 200,
        interval_cs: cfg.advert_interval_cs,
        addrs: &cfg.vips,
        checksum_form: ChecksumForm::Rfc9568,
        auth_type,
        auth_data,
    };
    let len = packet::build(&spec, peer, dst, buf).unwrap();
    let meta = RxMeta {
        src: peer,
        dst,
        ttl: packet::VRRP_TTL,
        ifindex: 1,
    };
    (len, meta)
}

fn steady_backup(cfg: RouterConfig, peer: IpAddr, version: Version) {
    let mut router = Router::new(cfg.clone()).unwrap();
    let mut now = Instant::from_micros(1_000_000);
    let mut out = Vec::new();
    router.handle(now, Input::Startup);
    drain_all(&mut router, &mut out);
    assert_eq!(router.state(), State::Backup);

    let mut buf = [0u8; 128];
    let (len, meta) = peer_advert(&cfg, version, peer, &mut buf);
    let step = Duration::from_millis(10);
    let mut round = |now: Instant| {
        let adv = packet::parse(&buf[..len], meta).unwrap();
        router.handle_advert(now, &adv).unwrap();
        drain_all(&mut router, &mut out);
    };
    // Warm-up: the first adverts emit notices (checksum form) and learn the Active.
    for _ in 0..100 {
        now += step;
        round(now);
    }
    let n = allocations_in(|| {
        for _ in 0..ITERATIONS {
            now += step;
            round(now);
        }
    });
    assert_eq!(
        n, 0,
        "{n} allocations in {ITERATIONS} parse + handle_advert rounds"
    );
    assert_eq!(router.state(), State::Backup);
    assert_eq!(router.stats().adverts_rx, 100 + ITERATIONS);
}

#[test]
fn parse_and_handle_advert_in_backup_do_not_allocate() {
    steady_backup(
        RouterConfig::new("v4", 1, v4(10), vec![v4(1)]),
        v4(20),
        Version::V3,
    );
    steady_backup(
        RouterConfig::new("v6", 2, v6(true, 10), vec![v6(true, 1), v6(false, 1)]),
        v6(true, 20),
        Version::V3,
    );
    let mut v2 = RouterConfig::new("v2", 3, v4(10), vec![v4(1), v4(2)]);
    v2.version = VersionMode::V2;
    v2.auth = vrrp_core::Auth::password("secret");
    steady_backup(v2, v4(20), Version::V2);
}

/// An owner's Adver timer: handle_timeout at the deadline, drain, each advert written into a
/// reused buffer.
fn active_timer(cfg: RouterConfig) {
    let mut router = Router::new(cfg).unwrap();
    let mut buf = Vec::new();
    router.handle(Instant::ZERO, Input::Startup);
    drain_all(&mut router, &mut buf);
    assert_eq!(router.state(), State::Active);
    let mut sent = 0u64;
    let mut round = |router: &mut Router| {
        let now = router.poll_timeout().unwrap();
        router.handle_timeout(now);
        sent += drain_all(router, &mut buf);
    };
    // A short warm-up, so that the default second announcement burst (5 s after becoming
    // Active) and the periodic refresh fall inside the measured region. Every round sends an
    // advert or an announcement.
    for _ in 0..2 {
        round(&mut router);
    }
    let n = allocations_in(|| {
        for _ in 0..ITERATIONS {
            round(&mut router);
        }
    });
    assert_eq!(n, 0, "{n} allocations in {ITERATIONS} timer rounds");
    assert!(sent >= 2 + ITERATIONS);
    assert_eq!(router.state(), State::Active);
}

#[test]
fn active_timer_expiry_and_encoding_do_not_allocate() {
    let mut v4_cfg = RouterConfig::new("v4", 1, v4(10), vec![v4(1), v4(2)]);
    v4_cfg.priority = 255;
    active_timer(v4_cfg);

    let mut v6_cfg = RouterConfig::new("v6", 2, v6(true, 10), vec![v6(true, 1), v6(false, 1)]);
    v6_cfg.priority = 255;
    active_timer(v6_cfg);

    let mut both = RouterConfig::new("v2v3", 3, v4(10), vec![v4(1)]);
    both.priority = 255;
    both.version = VersionMode::V2V3;
    both.unicast_peers = vec![
        vrrp_core::UnicastPeer::new(v4(20)),
        vrrp_core::UnicastPeer::new(v4(30)),
    ];
    active_timer(both);
}

/// The action queue is not sized up front: it grows on a router's first takeover (adverts,
/// VIPs, the announcement burst) and keeps that capacity, so that a later takeover, after
/// losing to a higher priority, does not allocate either.
#[test]
fn a_second_takeover_does_not_allocate() {
    let cfg = RouterConfig::new("v6", 2, v6(true, 10), vec![v6(true, 1), v6(false, 1)]);
    let mut router = Router::new(cfg.clone()).unwrap();
    let mut out = Vec::new();
    let drain = |router: &mut Router, out: &mut Vec<u8>| {
        drain_all(router, out);
    };
    let take_over = |router: &mut Router, out: &mut Vec<u8>| {
        let now = router.poll_timeout().unwrap();
        router.handle_timeout(now);
        drain(router, out);
        assert_eq!(router.state(), State::Active);
        now
    };
    let mut now = Instant::from_micros(1_000_000);
    router.handle(now, Input::Startup);
    drain(&mut router, &mut out);
    assert_eq!(router.state(), State::Backup);
    now = take_over(&mut router, &mut out);

    // A higher-priority Active appears: back to Backup.
    let peer = v6(true, 20);
    let mut buf = [0u8; 128];
    let (len, meta) = peer_advert(&cfg, Version::V3, peer, &mut buf);
    now += Duration::from_millis(10);
    let adv = packet::parse(&buf[..len], meta).unwrap();
    router.handle_advert(now, &adv).unwrap();
    drain(&mut router, &mut out);
    assert_eq!(router.state(), State::Backup);

    // It goes silent: the second takeover.
    let n = allocations_in(|| {
        take_over(&mut router, &mut out);
    });
    assert_eq!(n, 0, "{n} allocations in the second takeover");
}
