//! Conflict-driven re-announcement (issue #19 item 3, docs/decisions/0007-conflict-detection.md):
//! an Active router told that another MAC claims one of its addresses counts it and
//! re-announces that address at once, at most once per address per second; and it probes
//! each of its addresses once per refresh interval.

mod common;

use common::*;
use proptest::prelude::*;
use vrrp_core::{Duration, Input, Instant, Router, State};

const MAC: [u8; 6] = [0x02, 0, 0, 0, 0, 0x99];

fn conflict(r: &mut Router, at: Instant, addr: &str) -> Vec<Out> {
    r.handle(
        at,
        Input::AddressConflict {
            addr: ip(addr),
            mac: MAC,
        },
    );
    drain(r)
}

fn announces(out: &[Out]) -> usize {
    out.iter().filter(|o| matches!(o, Out::Announce(_))).count()
}

#[test]
fn a_conflict_as_active_is_counted_reported_and_re_announced_at_once_once_per_second() {
    let mut cfg = v4_config(100);
    cfg.vips.push(ip("192.0.2.2"));
    let (mut r, t) = active(cfg);
    let out = conflict(&mut r, t + cs(1), "192.0.2.1");
    let mut want = vec![Out::Announce(ip("192.0.2.1")); 5];
    want.push(Out::AddressConflict {
        addr: ip("192.0.2.1"),
        mac: MAC,
    });
    assert_eq!(
        out, want,
        "garp_lower_prio_repeat announcements of that address only"
    );
    assert_eq!(r.stats().address_conflicts, 1);
    assert_eq!(
        conflict(&mut r, t + cs(50), "192.0.2.1"),
        vec![],
        "rate-limited"
    );
    assert_eq!(r.stats().address_conflicts, 2, "counted all the same");
    assert_eq!(
        announces(&conflict(&mut r, t + cs(50), "192.0.2.2")),
        5,
        "per address"
    );
    assert_eq!(
        announces(&conflict(&mut r, t + cs(101), "192.0.2.1")),
        5,
        "a second later"
    );
    assert_eq!(r.stats().address_conflicts, 4);
}

#[test]
fn conflicts_are_ignored_unless_active_and_for_an_address_of_the_router() {
    let mut r = started(v4_config(100), Instant::ZERO);
    assert_eq!(r.state(), State::Backup);
    assert_eq!(
        conflict(&mut r, ms(10), "192.0.2.1"),
        vec![],
        "a Backup does not hold it"
    );
    let (mut r, t) = active(v4_config(100));
    assert_eq!(
        conflict(&mut r, t + cs(1), "192.0.2.77"),
        vec![],
        "not ours"
    );
    assert_eq!(
        conflict(&mut r, t + cs(1), "192.0.2.10"),
        vec![],
        "the primary address is the interface's, not a VIP"
    );
    assert_eq!(r.stats().address_conflicts, 0);
    r.handle(t + cs(2), Input::Shutdown);
    drain(&mut r);
    assert_eq!(
        conflict(&mut r, t + cs(3), "192.0.2.1"),
        vec![],
        "after shutdown"
    );
    assert_eq!(r.stats().address_conflicts, 0);
}

/// Probes of every address, once per refresh interval, staggered like the refresh, each
/// address's first within one interval of becoming Active, the very first within half a slot; a spurious or repeated `handle_timeout` adds
/// none; none after leaving Active, none with the refresh off.
#[test]
fn every_address_is_probed_once_per_refresh_interval_while_active() {
    let mut cfg = v6_config(100);
    cfg.announce.refresh_interval = Some(Duration::from_secs(2));
    let vips = cfg.vips.clone();
    let mut r = started(cfg.clone(), Instant::ZERO);
    let takeover = r.poll_timeout().unwrap();
    let mut probes: Vec<(Instant, std::net::IpAddr)> = Vec::new();
    let serve = |r: &mut Router, t: Instant, probes: &mut Vec<(Instant, std::net::IpAddr)>| {
        r.handle_timeout(t);
        r.handle_timeout(t); // twice: harmless
        for o in drain(r) {
            if let Out::Probe(a) = o {
                probes.push((t, a));
            }
        }
    };
    serve(&mut r, takeover, &mut probes);
    let end = takeover + Duration::from_secs(10);
    while let Some(t) = r.poll_timeout().filter(|t| *t <= end) {
        serve(&mut r, t, &mut probes);
        // A spurious early wake-up in between.
        serve(&mut r, t + Duration::from_micros(1), &mut probes);
    }
    for vip in &vips {
        let at: Vec<Instant> = (probes.iter().filter(|p| p.1 == *vip))
            .map(|p| p.0)
            .collect();
        assert!(
            at[0].saturating_since(takeover) < Duration::from_secs(2),
            "{vip}: first probe {:?} after takeover",
            at[0].saturating_since(takeover)
        );
        assert_eq!(
            at.len(),
            5,
            "{vip}: once per interval over 10 s: {probes:?}"
        );
        for w in at.windows(2) {
            let gap = w[1].saturating_since(w[0]);
            assert!(
                gap >= Duration::from_millis(1_999) && gap <= Duration::from_millis(2_001),
                "{vip}: {gap}"
            );
        }
    }
    let first = probes[0].0.saturating_since(takeover);
    assert!(first >= vrrp_core::PROBE_SETTLE && first < Duration::from_millis(500));
    assert_ne!(probes[0].0, probes[1].0, "staggered, not at once");
    r.handle(end, Input::Shutdown);
    drain(&mut r);
    assert_eq!(
        r.poll_timeout(),
        None,
        "no probe timer after leaving Active"
    );

    cfg.announce.refresh_interval = None;
    let (mut r, t) = active(cfg);
    let mut none = Vec::new();
    while let Some(at) = r
        .poll_timeout()
        .filter(|at| *at <= t + Duration::from_secs(30))
    {
        serve(&mut r, at, &mut none);
    }
    assert_eq!(none, vec![], "garp_master_refresh 0: no probes");
}

proptest! {
    /// Whatever the conflicts' times and addresses: each one is counted, and two
    /// re-announcements of one address are never less than a second apart.
    #[test]
    fn re_announcements_of_an_address_are_at_least_a_second_apart(
        events in proptest::collection::vec((0u64..5_000, 0usize..3), 1..60)
    ) {
        let mut cfg = v4_config(100);
        cfg.vips = vec![ip("192.0.2.1"), ip("192.0.2.2"), ip("192.0.2.3")];
        cfg.announce.refresh_interval = None;
        cfg.announce.second_burst_delay = None;
        let (mut r, t) = active(cfg.clone());
        let mut times: Vec<u64> = events.iter().map(|e| e.0).collect();
        times.sort();
        let mut last: [Option<u64>; 3] = [None; 3];
        for (k, at) in times.iter().enumerate() {
            let i = events[k].1;
            let addr = cfg.vips[i];
            r.handle(t + Duration::from_millis(*at), Input::AddressConflict { addr, mac: MAC });
            let out = drain(&mut r);
            let burst = out.iter().filter(|o| **o == Out::Announce(addr)).count();
            prop_assert_eq!(burst, announces(&out), "only that address");
            if burst > 0 {
                prop_assert_eq!(burst, 5);
                if let Some(prev) = last[i] {
                    prop_assert!(at - prev >= 1_000, "{} then {}", prev, at);
                }
                last[i] = Some(*at);
            } else {
                prop_assert!(last[i].is_some_and(|p| at - p < 1_000), "missed at {}", at);
            }
        }
        prop_assert_eq!(r.stats().address_conflicts, times.len() as u64);
    }
}
