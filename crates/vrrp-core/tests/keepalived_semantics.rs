//! keepalived behaviours the core implements beyond the RFC: Fault, tracking with reasons,
//! preempt_delay, unicast peers, the announcement schedule, sync groups and reload.

mod common;

use std::sync::Arc;

use common::*;
use vrrp_core::UnicastPeer;
use vrrp_core::{
    Cause, Duration, Input, Node, PolicyError, Reason, Router, State, TrackState, Tracker, Version,
};

#[test]
fn weight_zero_tracker_failure_puts_active_in_fault_with_priority_zero_and_its_name() {
    let mut cfg = v4_config(100);
    cfg.announce.second_burst_delay = None;
    let mut r = Router::new(cfg).unwrap();
    let chk = r.add_tracker(Tracker::binary("chk_haproxy", 0, false));
    r.handle(ms(0), Input::Startup);
    r.handle_timeout(r.poll_timeout().unwrap());
    drain(&mut r);
    r.handle(ms(5000), Input::Tracker(chk, TrackState::Down));
    let actions = drain(&mut r);
    assert_eq!(
        actions,
        vec![
            mcast_advert(Version::V3, 0),
            Out::RemoveVip(ip("192.0.2.1")),
            Out::StateChanged {
                from: State::Active,
                to: State::Fault,
                reason: Reason::TrackerFault {
                    tracker: Arc::from("chk_haproxy")
                }
            },
        ]
    );
    assert_eq!(r.poll_timeout(), None, "no timers in Fault");
    assert_eq!(
        Adv::v4("192.0.2.20", 50).feed(&mut r, ms(5100)),
        Err(PolicyError::NotRunning)
    );
    r.handle(ms(6000), Input::Tracker(chk, TrackState::Up));
    let actions = drain(&mut r);
    assert_eq!(
        transitions(&actions),
        vec![(State::Fault, State::Backup)],
        "leaving Fault goes to Backup"
    );
    assert!(
        matches!(&actions[0], Out::StateChanged { reason: Reason::Recovered { cause }, .. } if &**cause == "chk_haproxy")
    );
}

#[test]
fn interface_down_is_fault_and_owner_recovers_straight_to_active() {
    let mut r = started(v4_config(255), ms(0));
    r.handle(ms(10), Input::LinkDown);
    let actions = drain(&mut r);
    assert_eq!(adverts(&actions), vec![0]);
    assert_eq!(r.state(), State::Fault);
    r.handle(ms(20), Input::LinkUp);
    let actions = drain(&mut r);
    assert_eq!(transitions(&actions), vec![(State::Fault, State::Active)]);
}

#[test]
fn startup_with_a_failed_tracker_enters_fault_directly() {
    let mut r = Router::new(v4_config(100)).unwrap();
    let t = r.add_tracker(Tracker::binary("eth1", 0, false));
    r.handle(ms(0), Input::Tracker(t, TrackState::Down));
    r.handle(ms(0), Input::Startup);
    assert_eq!(
        transitions(&drain(&mut r)),
        vec![(State::Initialize, State::Fault)]
    );
}

#[test]
fn weighted_tracker_changes_priority_with_cause_and_active_advertises_at_once() {
    let mut cfg = v4_config(40);
    cfg.announce.second_burst_delay = None;
    let mut r = Router::new(cfg).unwrap();
    let lb = r.add_tracker(Tracker::binary("chk_ocp_lb", 20, false));
    r.handle(ms(0), Input::Startup);
    r.handle(ms(0), Input::Tracker(lb, TrackState::Up));
    assert_eq!(r.effective_priority(), 60);
    r.handle_timeout(r.poll_timeout().unwrap());
    drain(&mut r);
    r.handle(ms(4000), Input::Tracker(lb, TrackState::Down));
    let actions = drain(&mut r);
    assert_eq!(
        actions,
        vec![
            mcast_advert(Version::V3, 40),
            Out::PriorityChanged {
                from: 60,
                to: 40,
                cause: Cause::Tracker(Arc::from("chk_ocp_lb"))
            },
        ]
    );
}

#[test]
fn openshift_bootstrap_at_70_keeps_the_vip_against_a_healthy_master_at_68() {
    let mut node = Router::new(v4_config(40)).unwrap();
    for (name, w) in [("chk_ocp_lb", 20), ("chk_ocp_both", 5), ("chk_mcs", 3)] {
        let id = node.add_tracker(Tracker::binary(name, w, false));
        node.handle(ms(0), Input::Tracker(id, TrackState::Up));
    }
    node.handle(ms(0), Input::Startup);
    assert_eq!(node.effective_priority(), 68);
    let armed = node.poll_timeout().unwrap();
    Adv::v4("192.0.2.20", 70).feed(&mut node, ms(100)).unwrap();
    assert!(
        node.poll_timeout().unwrap() > armed,
        "bootstrap's 70 beats 68: advert accepted"
    );
}

#[test]
fn preempt_delay_accepts_lower_priority_until_it_expires_then_preempts() {
    let mut cfg = v4_config(100);
    cfg.preempt_delay = Duration::from_secs(10);
    let mut r = started(cfg, ms(0));
    // A lower-priority Active keeps advertising every second.
    let mut t = 500;
    while r.state() == State::Backup {
        Adv::v4("192.0.2.20", 50).feed(&mut r, ms(t)).unwrap();
        if let Some(due) = r.poll_timeout().filter(|d| *d <= ms(t + 1000)) {
            r.handle_timeout(due);
        }
        t += 1000;
        assert!(t < 30_000, "never preempted");
    }
    let actions = drain(&mut r);
    let when = t - 1000;
    assert!(
        (10_000..=14_000).contains(&when),
        "preempted at {when} ms, expected after the 10 s delay"
    );
    assert!(actions.iter().any(|a| matches!(
        a,
        Out::StateChanged {
            reason: Reason::Preempted { .. },
            ..
        }
    )));
}

#[test]
fn preempt_delay_holds_down_a_recovered_check() {
    let mut cfg = v4_config(90);
    cfg.preempt_delay = Duration::from_secs(20);
    let mut r = Router::new(cfg).unwrap();
    let chk = r.add_tracker(Tracker::binary("chk", 20, false));
    r.handle(ms(0), Input::Startup);
    // Wait out the startup delay while a priority-100 Active advertises.
    let mut t = 0;
    while t < 25_000 {
        Adv::v4("192.0.2.20", 100).feed(&mut r, ms(t)).unwrap();
        t += 1000;
    }
    r.handle(ms(t), Input::Tracker(chk, TrackState::Up)); // 90 + 20 = 110 > 100
    for k in 0..15 {
        Adv::v4("192.0.2.20", 100)
            .feed(&mut r, ms(t + k * 1000))
            .unwrap();
    }
    assert_eq!(
        r.state(),
        State::Backup,
        "still held down 15 s after the check recovered"
    );
    // The delay counts from the first lower advert after the rise: it preempts after 20 s
    // plus the down interval from the last advert it accepted.
    let rise = t;
    let mut k = 15;
    while r.state() == State::Backup {
        let now = ms(rise + k * 1000);
        if let Some(due) = r.poll_timeout().filter(|d| *d < now) {
            r.handle_timeout(due);
            continue;
        }
        Adv::v4("192.0.2.20", 100).feed(&mut r, now).unwrap();
        k += 1;
        assert!(k < 40, "never preempted");
    }
    let took_over = rise + (k - 1) * 1000;
    assert!(
        (rise + 20_000..=rise + 25_000).contains(&took_over),
        "took over {} ms after the rise",
        took_over - rise
    );
}

#[test]
fn preempt_delay_restarts_when_an_equal_or_higher_advert_is_heard() {
    let mut cfg = v4_config(100);
    cfg.preempt_delay = Duration::from_secs(10);
    let mut r = started(cfg, ms(0));
    // 8 s of lower adverts, one higher advert, then lower ones again: the count restarts, so
    // at 15 s (7 s after the restart) lower adverts are still accepted.
    for t in (0..8_000).step_by(1000) {
        Adv::v4("192.0.2.20", 50).feed(&mut r, ms(t)).unwrap();
    }
    Adv::v4("192.0.2.20", 150).feed(&mut r, ms(8_000)).unwrap();
    for t in (9_000..=15_000).step_by(1000) {
        Adv::v4("192.0.2.20", 50).feed(&mut r, ms(t)).unwrap();
    }
    assert_eq!(
        r.poll_timeout(),
        Some(ms(15_000) + r.active_down_interval()),
        "still accepted"
    );
}

#[test]
fn unicast_router_checks_source_ttl_window_and_destination_kind() {
    let mut cfg = v4_config(100);
    cfg.unicast_peers = vec![UnicastPeer {
        addr: ip("192.0.2.20"),
        min_ttl: Some(250),
        max_ttl: None,
    }];
    cfg.check_unicast_src = true;
    let mut r = started(cfg, ms(0));
    assert_eq!(r.config().advert_destination(0), Some(ip("192.0.2.20")));
    assert_eq!(r.config().advert_destination(1), None);
    let mut adv = Adv::v4("192.0.2.20", 200);
    adv.dst = ip("192.0.2.10");
    adv.ttl = 252;
    assert_eq!(
        adv.feed(&mut r, ms(1)),
        Ok(()),
        "unicast TTL below 255 is fine inside the window"
    );
    adv.ttl = 64;
    assert_eq!(adv.feed(&mut r, ms(2)), Err(PolicyError::Ttl(64)));
    let mut stranger = Adv::v4("192.0.2.99", 200);
    stranger.dst = ip("192.0.2.10");
    assert_eq!(
        stranger.feed(&mut r, ms(3)),
        Err(PolicyError::UnknownUnicastSource)
    );
    let multicast = Adv::v4("192.0.2.20", 200);
    assert_eq!(
        multicast.feed(&mut r, ms(4)),
        Err(PolicyError::DestinationMismatch)
    );
}

#[test]
fn unicast_advert_checksum_is_built_per_peer_destination() {
    let mut cfg = v4_config(100);
    cfg.unicast_peers = vec![
        UnicastPeer::new(ip("192.0.2.20")),
        UnicastPeer::new(ip("192.0.2.30")),
    ];
    let (mut r, t) = active(cfg);
    r.handle(t, Input::SetPriority(120));
    let (mut a, mut b) = (Vec::new(), Vec::new());
    let ta = r.poll_transmit(&mut a).unwrap();
    let tb = r.poll_transmit(&mut b).unwrap();
    assert!(
        r.poll_transmit(&mut Vec::new()).is_none(),
        "one advert per peer"
    );
    assert_eq!((ta.dst, tb.dst), (ip("192.0.2.20"), ip("192.0.2.30")));
    assert_eq!(a[..2], b[..2]);
    assert_ne!(a[6..8], b[6..8], "pseudo-header uses the real destination");
}

#[test]
fn second_burst_and_refresh_follow_garp_master_delay_and_refresh() {
    let mut cfg = v4_config(255);
    cfg.announce.burst_count = 2;
    cfg.announce.refresh_interval = Some(Duration::from_secs(60));
    let mut r = Router::new(cfg).unwrap();
    r.handle(ms(0), Input::Startup);
    let count = |a: &[Out]| a.iter().filter(|x| matches!(x, Out::Announce(_))).count();
    assert_eq!(count(&drain(&mut r)), 2);
    let mut announced_at = Vec::new();
    while let Some(t) = r.poll_timeout() {
        if t > ms(130_000) {
            break;
        }
        r.handle_timeout(t);
        let n = count(&drain(&mut r));
        if n > 0 {
            announced_at.push((t.as_micros() / 1_000, n));
        }
    }
    // The second burst at garp_master_delay; the refresh every 60 s, the first within one
    // interval of becoming Active (in the second half of it: the router's phase).
    assert_eq!(announced_at.len(), 3, "{announced_at:?}");
    assert_eq!(announced_at[0], (5_000, 2));
    let (first, n) = announced_at[1];
    assert!(
        (30_000..60_000).contains(&first) && n == 1,
        "{announced_at:?}"
    );
    assert_eq!(announced_at[2], (first + 60_000, 1));
}

/// The default schedule re-announces periodically (vrrpd's default; keepalived's
/// `garp_master_refresh` is off by default), each address in its own slot; `refresh_interval`
/// `None` (`garp_master_refresh 0`) turns it off.
#[test]
fn by_default_every_address_is_re_announced_within_the_default_interval() {
    let count_until = |cfg: vrrp_core::RouterConfig, end_ms: u64| {
        let mut r = Router::new(cfg).unwrap();
        r.handle(ms(0), Input::Startup);
        drain(&mut r);
        let mut seen = Vec::new();
        while let Some(t) = r.poll_timeout().filter(|t| *t <= ms(end_ms)) {
            r.handle_timeout(t);
            for o in drain(&mut r) {
                if let Out::Announce(a) = o {
                    seen.push((t.as_micros() / 1000, a));
                }
            }
        }
        seen
    };
    let mut cfg = v4_config(255);
    cfg.vips = vec![ip("192.0.2.1"), ip("192.0.2.2"), ip("192.0.2.3")];
    cfg.announce.second_burst_delay = None;
    let interval = vrrp_core::DEFAULT_REFRESH_INTERVAL.as_millis();
    let seen = count_until(cfg.clone(), interval);
    let mut addrs: Vec<_> = seen.iter().map(|(_, a)| *a).collect();
    addrs.sort();
    assert_eq!(addrs, cfg.vips, "each once within the interval: {seen:?}");
    let times: Vec<u64> = seen.iter().map(|(t, _)| *t).collect();
    assert!(
        times.windows(2).all(|w| w[1] > w[0]),
        "one at a time: {seen:?}"
    );
    cfg.announce.refresh_interval = None;
    assert_eq!(count_until(cfg, 10 * interval), vec![], "switched off");
}

#[test]
fn winning_over_another_active_reannounces_the_addresses() {
    let mut cfg = v4_config(200);
    cfg.announce.second_burst_delay = None;
    let (mut r, t) = active(cfg);
    Adv::v4("192.0.2.20", 100)
        .feed(&mut r, t + cs(150))
        .unwrap();
    let actions = drain(&mut r);
    let announces = actions
        .iter()
        .filter(|a| matches!(a, Out::Announce(_)))
        .count();
    assert_eq!(
        announces, 5,
        "garp_lower_prio_repeat defaults to the burst count"
    );
    assert_eq!(r.stats().dual_active, 1);
}

#[test]
fn vip_removed_by_someone_else_is_restored_and_announced_while_active() {
    let (mut r, t) = active(v4_config(100));
    r.handle(t, Input::VipLost(ip("192.0.2.1")));
    assert_eq!(
        drain(&mut r),
        vec![Out::AddVip(ip("192.0.2.1")), Out::Announce(ip("192.0.2.1"))]
    );
    let mut b = started(v4_config(100), ms(0));
    b.handle(ms(1), Input::VipLost(ip("192.0.2.1")));
    assert!(drain(&mut b).is_empty(), "a Backup does not re-add");
}

#[test]
fn reload_diffs_virtual_addresses_without_a_state_change() {
    let (mut r, t) = active(v4_config(100));
    let mut cfg = r.config().clone();
    cfg.vips = vec![ip("192.0.2.1"), ip("192.0.2.2")];
    r.reconfigure(t, cfg).unwrap();
    let actions = drain(&mut r);
    // Only the new address, announced garp_master_repeat (5) times as keepalived does.
    let mut expected = vec![Out::AddVip(ip("192.0.2.2"))];
    expected.extend(std::iter::repeat_n(Out::Announce(ip("192.0.2.2")), 5));
    assert_eq!(actions, expected);
    let mut cfg = r.config().clone();
    cfg.vips = vec![ip("192.0.2.2")];
    r.reconfigure(t, cfg).unwrap();
    assert_eq!(drain(&mut r), vec![Out::RemoveVip(ip("192.0.2.1"))]);
    assert_eq!(r.state(), State::Active);
    let mut bad = r.config().clone();
    bad.advert_interval_cs = 0;
    assert!(r.reconfigure(t, bad).is_err());
    assert_eq!(
        r.config().advert_interval_cs,
        100,
        "a bad config keeps the running one"
    );
}

#[test]
fn higher_prio_send_advert_sends_one_advert_before_yielding() {
    let mut cfg = v4_config(100);
    cfg.higher_prio_send_advert = true;
    let (mut r, t) = active(cfg);
    Adv::v4("192.0.2.20", 200).feed(&mut r, t + cs(1)).unwrap();
    let actions = drain(&mut r);
    assert_eq!(adverts(&actions), vec![100]);
    assert_eq!(r.state(), State::Backup);
}

fn sync_node() -> (Node, [vrrp_core::RouterId; 2]) {
    let mut node = Node::new();
    let a = node.add_router(Router::new(v4_config(100)).unwrap());
    let mut cfg_b = v6_config(100);
    cfg_b.name = Arc::from("VI_6");
    let b = node.add_router(Router::new(cfg_b).unwrap());
    node.add_sync_group("G", vec![a, b]);
    (node, [a, b])
}

#[test]
fn sync_group_members_become_active_together() {
    let (mut node, [a, b]) = sync_node();
    node.handle_all(ms(0), Input::Startup);
    // Keep b's down timer running longer with adverts from a peer; a times out first.
    let first = node.router(a).poll_timeout().unwrap();
    node.handle_timeout(first);
    assert_eq!(node.router(a).state(), State::Active);
    assert_eq!(node.router(b).state(), State::Active);
    let reasons: Vec<_> = drain_node(&mut node)
        .into_iter()
        .filter_map(|(id, a)| match a {
            Out::StateChanged {
                to: State::Active,
                reason,
                ..
            } => Some((id, reason)),
            _ => None,
        })
        .collect();
    assert!(
        reasons.iter().any(|(id, r)| *id == b && r.is_sync_group()),
        "{reasons:?}"
    );
}

#[test]
fn sync_group_member_fault_holds_the_whole_group_in_fault() {
    let (mut node, [a, b]) = sync_node();
    node.handle_all(ms(0), Input::Startup);
    node.handle(ms(10), a, Input::LinkDown);
    assert_eq!(node.router(a).state(), State::Fault);
    assert_eq!(node.router(b).state(), State::Fault);
    node.handle(ms(20), a, Input::LinkUp);
    assert_eq!(node.router(a).state(), State::Backup);
    assert_eq!(node.router(b).state(), State::Backup);
}

#[test]
fn sync_group_active_member_yielding_takes_the_group_to_backup() {
    let (mut node, [a, b]) = sync_node();
    node.handle_all(ms(0), Input::Startup);
    node.handle_timeout(node.poll_timeout().unwrap());
    assert_eq!(node.router(b).state(), State::Active);
    let bytes = Adv::v4("192.0.2.20", 200).bytes();
    let adv = vrrp_core::packet::parse(&bytes, Adv::v4("192.0.2.20", 200).meta()).unwrap();
    node.handle_advert(ms(5000), &adv).unwrap().unwrap();
    assert_eq!(node.router(a).state(), State::Backup);
    assert_eq!(node.router(b).state(), State::Backup);
}

#[test]
fn reload_replaces_trackers_with_one_priority_change() {
    let (mut r, t) = active(v4_config(100));
    let a = r.add_tracker(Tracker::binary("chk_a", 10, false));
    r.handle(t, Input::Tracker(a, TrackState::Up));
    drain(&mut r);
    // The weight of chk_a changes and chk_b appears, already down with -30.
    r.set_trackers(
        t,
        vec![
            (Tracker::binary("chk_a", 20, false), TrackState::Up),
            (Tracker::binary("chk_b", -30, false), TrackState::Down),
        ],
    );
    let changes: Vec<_> = drain(&mut r)
        .into_iter()
        .filter(|a| matches!(a, Out::PriorityChanged { .. }))
        .collect();
    assert_eq!(
        changes,
        vec![Out::PriorityChanged {
            from: 110,
            to: 90,
            cause: Cause::Reconfigured
        }]
    );
}

#[test]
fn virtual_ipaddress_excluded_is_installed_and_announced_but_not_advertised() {
    let mut cfg = v4_config(100);
    cfg.excluded_vips = vec![ip("198.51.100.1"), ip("2001:db8::1")];
    cfg.announce.burst_count = 1;
    cfg.announce.second_burst_delay = None;
    let mut r = started(cfg, ms(0));
    r.handle_timeout(r.poll_timeout().unwrap());
    let out = drain(&mut r);
    let adds: Vec<&Out> = out.iter().filter(|o| matches!(o, Out::AddVip(_))).collect();
    assert_eq!(
        adds,
        [
            &Out::AddVip(ip("192.0.2.1")),
            &Out::AddVip(ip("198.51.100.1")),
            &Out::AddVip(ip("2001:db8::1"))
        ]
    );
    assert!(out.contains(&Out::Announce(ip("2001:db8::1"))));
    // The advert carries the VIPs only.
    let mut buf = Vec::new();
    r.handle(ms(5000), Input::SetPriority(110));
    let tx = r.poll_transmit(&mut buf).unwrap();
    let meta = vrrp_core::RxMeta {
        src: tx.src,
        dst: tx.dst,
        ttl: 255,
        ifindex: 1,
    };
    let adv = vrrp_core::packet::parse(&buf[..tx.len], meta).unwrap();
    assert_eq!(adv.addrs.iter().collect::<Vec<_>>(), [ip("192.0.2.1")]);
    drain(&mut r);
    r.handle(ms(6000), Input::Shutdown);
    let removed: Vec<Out> = drain(&mut r)
        .into_iter()
        .filter(|o| matches!(o, Out::RemoveVip(_)))
        .collect();
    assert_eq!(removed.len(), 3, "every installed address is released");
}

#[test]
fn virtual_routes_go_in_after_the_addresses_and_out_before_them() {
    let mut cfg = v4_config(255);
    cfg.state_routes = true;
    cfg.announce.burst_count = 0;
    cfg.announce.second_burst_delay = None;
    let mut r = Router::new(cfg).unwrap();
    r.handle(ms(0), Input::Startup);
    let out = drain(&mut r);
    let pos = |o: &Out| out.iter().position(|x| x == o).unwrap();
    assert!(pos(&Out::AddVip(ip("192.0.2.1"))) < pos(&Out::AddRoutes));
    r.handle(ms(10), Input::LinkDown);
    let out = drain(&mut r);
    let pos = |o: &Out| out.iter().position(|x| x == o).unwrap();
    assert!(pos(&Out::RemoveRoutes) < pos(&Out::RemoveVip(ip("192.0.2.1"))));
    // Without state routes, no such command.
    let mut plain = started(v4_config(255), ms(0));
    plain.handle(ms(10), Input::LinkDown);
    assert!(!drain(&mut plain).contains(&Out::RemoveRoutes));
}

#[test]
fn owner_ignore_adverts_discards_every_advert_as_owner_only() {
    let mut cfg = v4_config(255);
    cfg.owner_ignore_adverts = true;
    let mut r = started(cfg.clone(), ms(0));
    assert_eq!(
        Adv::v4("192.0.2.20", 255).feed(&mut r, ms(10)),
        Err(PolicyError::OwnerIgnoresAdverts)
    );
    assert_eq!(r.state(), State::Active);
    cfg.priority = 100;
    let mut backup = started(cfg, ms(0));
    assert_eq!(Adv::v4("192.0.2.20", 200).feed(&mut backup, ms(10)), Ok(()));
}

#[test]
fn unicast_fault_no_peer_holds_the_router_in_fault_until_a_peer_is_configured() {
    let mut cfg = v4_config(100);
    cfg.fault_without_peers = true;
    let mut r = Router::new(cfg.clone()).unwrap();
    r.handle(ms(0), Input::Startup);
    assert_eq!(r.state(), State::Fault);
    assert!(drain(&mut r).iter().any(|o| matches!(
        o,
        Out::StateChanged {
            reason: Reason::NoUnicastPeer,
            ..
        }
    )));
    cfg.unicast_peers = vec![UnicastPeer::new(ip("192.0.2.20"))];
    r.reconfigure(ms(10), cfg).unwrap();
    r.handle(ms(10), Input::LinkUp);
    assert_eq!(r.state(), State::Backup, "a peer lifts the fault");
}

#[test]
fn track_src_ip_source_address_gone_means_fault_and_back_means_backup() {
    let (mut r, t) = active(v4_config(100));
    r.handle(t, Input::SourceAddress(false));
    let out = drain(&mut r);
    assert_eq!(adverts(&out), vec![0], "leaves with priority 0");
    assert_eq!(r.state(), State::Fault);
    assert!(out.iter().any(|o| matches!(
        o,
        Out::StateChanged {
            reason: Reason::NoSourceAddress,
            ..
        }
    )));
    r.handle(t, Input::SourceAddress(true));
    assert_eq!(r.state(), State::Backup);
}

#[test]
fn timer_expired_backup_yields_when_served_later_than_a_takeover_without_preempt() {
    let mut cfg = v4_config(100);
    cfg.preempt = false;
    cfg.timer_expired_backup = Some(254);
    cfg.announce.second_burst_delay = None;
    let (mut r, t) = active(cfg.clone());
    let due = r.poll_timeout().unwrap();
    // 3 s + skew(254) ≈ 3.008 s since the previous advert: a 254 router would be Active.
    r.handle_timeout(due + Duration::from_secs(3));
    let out = drain(&mut r);
    assert_eq!(r.state(), State::Backup);
    assert!(
        adverts(&out).is_empty(),
        "no advert from a router that may have lost"
    );
    assert!(out.iter().any(|o| matches!(
        o,
        Out::StateChanged {
            reason: Reason::TimerExpired { .. },
            ..
        }
    )));
    // A little late is fine; with preemption it never yields.
    let (mut r, _) = active(cfg.clone());
    let due = r.poll_timeout().unwrap();
    r.handle_timeout(due + Duration::from_millis(500));
    assert_eq!(r.state(), State::Active);
    cfg.preempt = true;
    let (mut r, _) = active(cfg);
    let due = r.poll_timeout().unwrap();
    r.handle_timeout(due + Duration::from_secs(5));
    assert_eq!(r.state(), State::Active);
    let _ = t;
}

#[test]
fn notify_master_rx_lower_pri_every_lower_priority_advert_as_active_is_an_event() {
    let (mut r, t) = active(v4_config(100));
    for k in 0..3 {
        Adv::v4("192.0.2.20", 50)
            .feed(&mut r, t + Duration::from_millis(k))
            .unwrap();
        let out = drain(&mut r);
        assert!(
            out.contains(&Out::LowerPriorityAdvert {
                from: ip("192.0.2.20"),
                priority: 50
            }),
            "advert {k}: {out:?}"
        );
    }
}

/// keepalived: a unicast router leaving Fault announces its own source address once (a
/// gratuitous ARP / unsolicited NA), so that the Active can reach it at once; a multicast
/// router does not.
#[test]
fn a_unicast_router_leaving_fault_announces_its_source_address() {
    for unicast in [true, false] {
        let mut cfg = v4_config(100);
        if unicast {
            cfg.unicast_peers = vec![UnicastPeer::new(ip("192.0.2.20"))];
        }
        let source = cfg.primary_addr;
        let mut r = Router::new(cfg).unwrap();
        let chk = r.add_tracker(Tracker::binary("chk", 0, false));
        r.handle(ms(0), Input::Tracker(chk, TrackState::Down));
        r.handle(ms(0), Input::Startup);
        assert_eq!(r.state(), State::Fault);
        drain(&mut r);
        r.handle(ms(100), Input::Tracker(chk, TrackState::Up));
        assert_eq!(r.state(), State::Backup);
        let announced: Vec<Out> = (drain(&mut r).into_iter())
            .filter(|o| matches!(o, Out::Announce(_)))
            .collect();
        let want = if unicast {
            vec![Out::Announce(source)]
        } else {
            vec![]
        };
        assert_eq!(announced, want, "unicast: {unicast}");
    }
}

/// keepalived holds an instance in init until its weight-0 trackers have reported: the first
/// good report of the last one announces the unicast source address, as leaving Fault does.
#[test]
fn a_unicast_router_announces_its_source_address_when_its_fault_trackers_first_report() {
    let mut cfg = v4_config(100);
    cfg.unicast_peers = vec![UnicastPeer::new(ip("192.0.2.20"))];
    let source = cfg.primary_addr;
    let mut r = Router::new(cfg).unwrap();
    let a = r.add_tracker(Tracker::binary("a", 0, false));
    let b = r.add_tracker(Tracker::binary("b", 0, false));
    let weighted = r.add_tracker(Tracker::binary("w", 10, false));
    r.handle(ms(0), Input::Startup);
    assert_eq!(r.state(), State::Backup);
    drain(&mut r);
    let announces = |r: &mut Router| {
        (drain(r).into_iter())
            .filter(|o| matches!(o, Out::Announce(_)))
            .collect::<Vec<_>>()
    };
    r.handle(ms(10), Input::Tracker(weighted, TrackState::Up));
    r.handle(ms(10), Input::Tracker(a, TrackState::Up));
    assert_eq!(announces(&mut r), vec![], "b has not reported yet");
    r.handle(ms(20), Input::Tracker(b, TrackState::Up));
    assert_eq!(announces(&mut r), vec![Out::Announce(source)]);
    r.handle(ms(30), Input::Tracker(b, TrackState::Down));
    r.handle(ms(40), Input::Tracker(b, TrackState::Up));
    assert_eq!(
        announces(&mut r),
        vec![Out::Announce(source)],
        "leaving Fault, once"
    );
}

/// `old_unicast_checksum`: a unicast router follows a peer sending keepalived 1.3.6's form (as
/// keepalived's automatic detection), sends it when configured, and with `never` discards
/// such adverts as bad checksums.
#[test]
fn old_unicast_checksum_is_followed_sent_or_refused() {
    let unicast = || {
        let mut cfg = v4_config(100);
        cfg.unicast_peers = vec![UnicastPeer::new(ip("192.0.2.20"))];
        cfg
    };
    let mut adv = Adv::v4("192.0.2.20", 200);
    adv.dst = ip("192.0.2.10");
    adv.form = vrrp_core::ChecksumForm::OldUnicast;

    let mut r = started(unicast(), ms(0));
    assert_eq!(adv.feed(&mut r, ms(1)), Ok(()));
    assert_eq!(r.stats().checksum_old_unicast_rx, 1);
    assert_eq!(
        r.status().checksum_form,
        vrrp_core::ChecksumForm::OldUnicast,
        "detected and followed"
    );

    let mut cfg = unicast();
    cfg.checksum_form = vrrp_core::ChecksumForm::OldUnicast;
    cfg.checksum_follow_peer = false;
    let mut r = started(cfg, ms(0));
    assert_eq!(
        r.status().checksum_form,
        vrrp_core::ChecksumForm::OldUnicast
    );
    let mut new = Adv::v4("192.0.2.20", 200);
    new.dst = ip("192.0.2.10");
    assert_eq!(
        new.feed(&mut r, ms(1)),
        Ok(()),
        "the other form is accepted"
    );
    assert_eq!(
        r.status().checksum_form,
        vrrp_core::ChecksumForm::OldUnicast,
        "and not followed"
    );

    let mut cfg = unicast();
    cfg.refuse_old_unicast_checksum = true;
    let mut r = started(cfg, ms(0));
    assert_eq!(
        adv.feed(&mut r, ms(1)),
        Err(PolicyError::OldUnicastChecksum)
    );
    assert_eq!(r.stats().rx_checksum_errors, 1);
    assert_eq!(
        r.status().checksum_form,
        vrrp_core::ChecksumForm::PseudoHeader
    );
}

/// `skip_check_adv_addr`: a Backup compares the addresses of the first advert of an Active
/// only; later adverts of the same Active are not checked (their count still is), and a new
/// Active is checked again.
#[test]
fn skip_check_adv_addr_checks_the_addresses_of_a_new_active_only() {
    let other = [ip("192.0.2.9")];
    let run = |skip: bool| {
        let mut cfg = v4_config(100);
        cfg.skip_check_adv_addr = skip;
        let mut r = started(cfg, ms(0));
        for (i, src) in ["192.0.2.20", "192.0.2.20", "192.0.2.20", "192.0.2.30"]
            .iter()
            .enumerate()
        {
            let mut adv = Adv::v4(src, 200);
            adv.addrs = &other;
            adv.feed(&mut r, ms(10 * (i as u64 + 1))).unwrap();
        }
        let mut two = Adv::v4("192.0.2.30", 200);
        let both = [ip("192.0.2.1"), ip("192.0.2.9")];
        two.addrs = &both;
        two.feed(&mut r, ms(100)).unwrap();
        r.stats().address_list_mismatch
    };
    assert_eq!(run(false), 5, "every advert checked");
    assert_eq!(
        run(true),
        3,
        "the first advert of each Active, and a count that differs"
    );
}
