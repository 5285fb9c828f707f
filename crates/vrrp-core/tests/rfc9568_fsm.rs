//! State-machine conformance: RFC 9568 §6 requirements R1-R23, R29-R30, R34-R35, R46-R47,
//! each test named after the requirement it proves (see rfc9568-checklist.md).

mod common;

use common::*;
use vrrp_core::packet::{AuthType, Version};
use vrrp_core::skew_time;
use vrrp_core::{
    ConfigError, Duration, Input, Instant, Notice, PolicyError, Reason, Router, RouterConfig,
    State, VersionMode, ADVERT_SLACK,
};

#[test]
fn r1_vrid_and_priority_ranges_and_default_priority_100() {
    let cfg = v4_config(100);
    assert_eq!(
        RouterConfig::new("x", 1, ip("192.0.2.10"), vec![ip("192.0.2.1")]).priority,
        100
    );
    assert_eq!(
        Router::new(RouterConfig {
            vrid: 0,
            ..cfg.clone()
        })
        .unwrap_err(),
        ConfigError::Vrid
    );
    assert_eq!(
        Router::new(RouterConfig {
            priority: 0,
            ..cfg.clone()
        })
        .unwrap_err(),
        ConfigError::Priority
    );
    assert!(Router::new(RouterConfig {
        vrid: 255,
        priority: 255,
        ..cfg
    })
    .is_ok());
}

#[test]
fn r2_interval_outside_1_to_4095_cs_is_rejected_and_default_is_100() {
    let cfg = v4_config(100);
    assert_eq!(cfg.advert_interval_cs, 100);
    for bad in [0, 4096] {
        let err = Router::new(RouterConfig {
            advert_interval_cs: bad,
            ..cfg.clone()
        })
        .unwrap_err();
        assert_eq!(err, ConfigError::Interval(bad));
    }
    assert!(Router::new(RouterConfig {
        advert_interval_cs: 4095,
        ..cfg.clone()
    })
    .is_ok());
    assert!(Router::new(RouterConfig {
        advert_interval_cs: 1,
        ..cfg
    })
    .is_ok());
}

#[test]
fn r3_skew_and_down_interval_match_the_checklist_table() {
    // (priority, interval cs, skew cs, down cs), integer centiseconds.
    let table = [
        (100, 100, 60, 360),
        (200, 100, 21, 321),
        (254, 100, 0, 300),
        (1, 100, 99, 399),
        (100, 4095, 2495, 14780),
        (1, 4095, 4079, 16364),
        (100, 1, 0, 3),
    ];
    for (prio, interval, skew, down) in table {
        let mut cfg = v4_config(prio);
        cfg.advert_interval_cs = interval;
        let r = Router::new(cfg).unwrap();
        assert_eq!(
            r.skew_time().as_centis(),
            skew,
            "skew prio {prio} int {interval}"
        );
        assert_eq!(
            r.active_down_interval().as_centis(),
            down,
            "down prio {prio} int {interval}"
        );
    }
    // Exact value: 156 * 100 cs / 256 = 60.9375 cs.
    assert_eq!(
        skew_time(VersionMode::V3, 100, cs(100)),
        Duration::from_micros(609_375)
    );
    // VRRPv2 skew is (256 - p) / 256 seconds whatever the interval.
    assert_eq!(
        skew_time(VersionMode::V2, 100, cs(300)),
        Duration::from_micros(609_375)
    );
}

#[test]
fn r4_active_adver_interval_starts_equal_to_advertisement_interval() {
    let mut cfg = v4_config(100);
    cfg.advert_interval_cs = 50;
    let r = started(cfg, ms(0));
    assert_eq!(r.active_adver_interval(), cs(50));
}

#[test]
fn r5_preempt_defaults_true_and_the_owner_preempts_even_with_preempt_off() {
    assert!(v4_config(100).preempt);
    // An owner forced into Backup by a higher-addressed owner, then hearing a lower priority,
    // preempts even though Preempt_Mode is off.
    let mut cfg = v4_config(255);
    cfg.preempt = false;
    let mut r = started(cfg, ms(0));
    assert_eq!(r.state(), State::Active);
    Adv::v4("192.0.2.20", 255).feed(&mut r, ms(10)).unwrap();
    drain(&mut r);
    assert_eq!(
        r.state(),
        State::Backup,
        "equal priority, higher address wins (R22)"
    );
    let armed = r.poll_timeout();
    Adv::v4("192.0.2.30", 100).feed(&mut r, ms(20)).unwrap();
    assert_eq!(
        r.poll_timeout(),
        armed,
        "lower priority discarded: the owner preempts"
    );
}

#[test]
fn r5_preempt_mode_is_ignored_in_active() {
    let mut cfg = v4_config(100);
    cfg.preempt = false;
    let (mut r, t) = active(cfg);
    Adv::v4("192.0.2.20", 50).feed(&mut r, t + cs(1)).unwrap();
    assert_eq!(r.state(), State::Active);
}

#[test]
fn r6_accept_mode_defaults_to_false() {
    assert!(!v4_config(100).accept_mode);
}

#[test]
fn r7_ipv6_address_list_must_start_with_link_local() {
    let mut cfg = v6_config(100);
    cfg.vips = vec![ip("2001:db8::1"), ip("fe80::1")];
    assert_eq!(
        Router::new(cfg).unwrap_err(),
        ConfigError::Ipv6FirstNotLinkLocal(ip("2001:db8::1"))
    );
}

#[test]
fn r8_owner_startup_sends_advert_announces_each_vip_and_goes_active() {
    let mut cfg = v4_config(255);
    cfg.vips = vec![ip("192.0.2.1"), ip("192.0.2.2")];
    cfg.announce.burst_count = 1;
    let mut r = Router::new(cfg).unwrap();
    r.handle(ms(0), Input::Startup);
    let actions = drain(&mut r);
    assert_eq!(
        actions,
        vec![
            mcast_advert(Version::V3, 255),
            Out::AddVip(ip("192.0.2.1")),
            Out::AddVip(ip("192.0.2.2")),
            Out::Announce(ip("192.0.2.1")),
            Out::Announce(ip("192.0.2.2")),
            Out::StateChanged {
                from: State::Initialize,
                to: State::Active,
                reason: Reason::Startup
            },
        ]
    );
    assert_eq!(
        r.poll_timeout(),
        Some(ms(1000)),
        "Adver_Timer = Advertisement_Interval"
    );
}

#[test]
fn r8_owner_startup_on_ipv6_adds_each_address_before_announcing_it() {
    // The kernel joins an address's solicited-node group when the address is added, so the
    // add coming first is what puts the join before the NA.
    let mut cfg = v6_config(255);
    cfg.announce.burst_count = 1;
    let mut r = Router::new(cfg).unwrap();
    r.handle(ms(0), Input::Startup);
    let actions = drain(&mut r);
    let pos = |a: &Out| actions.iter().position(|b| b == a).unwrap();
    for vip in ["fe80::1", "2001:db8::1"] {
        assert!(pos(&Out::AddVip(ip(vip))) < pos(&Out::Announce(ip(vip))));
    }
}

#[test]
fn r9_non_owner_startup_goes_backup_with_down_timer_and_never_active() {
    let mut r = Router::new(v4_config(254)).unwrap();
    r.handle(ms(0), Input::Startup);
    let actions = drain(&mut r);
    assert_eq!(
        actions,
        vec![Out::StateChanged {
            from: State::Initialize,
            to: State::Backup,
            reason: Reason::Startup
        }]
    );
    let down = r.poll_timeout().unwrap() - ms(0);
    assert_eq!(
        down.as_centis(),
        300,
        "priority 254: skew 0 cs (7.8 ms exact), down 300 cs"
    );
}

#[test]
fn r12_backup_shutdown_cancels_timer_sends_nothing_and_initializes() {
    let mut r = started(v4_config(100), ms(0));
    r.handle(ms(10), Input::Shutdown);
    let actions = drain(&mut r);
    assert!(adverts(&actions).is_empty());
    assert_eq!(
        transitions(&actions),
        vec![(State::Backup, State::Initialize)]
    );
    assert_eq!(r.poll_timeout(), None);
}

#[test]
fn r13_down_timer_expiry_sends_advert_announces_and_goes_active() {
    let mut cfg = v4_config(100);
    cfg.announce.burst_count = 2;
    let mut r = started(cfg, ms(0));
    let t = r.poll_timeout().unwrap();
    r.handle_timeout(t);
    let actions = drain(&mut r);
    assert_eq!(
        actions,
        vec![
            mcast_advert(Version::V3, 100),
            Out::AddVip(ip("192.0.2.1")),
            Out::Announce(ip("192.0.2.1")),
            Out::Announce(ip("192.0.2.1")),
            Out::StateChanged {
                from: State::Backup,
                to: State::Active,
                reason: Reason::ActiveSilent { last_active: None }
            },
        ]
    );
    assert_eq!(r.poll_timeout(), Some(t + cs(100)));
}

#[test]
fn r14_priority_zero_sets_down_timer_to_skew_without_preempt_test() {
    let mut r = started(v4_config(50), ms(0));
    Adv::v4("192.0.2.20", 200).feed(&mut r, ms(100)).unwrap();
    Adv::v4("192.0.2.20", 0).feed(&mut r, ms(200)).unwrap();
    assert_eq!(
        r.poll_timeout(),
        Some(ms(200) + skew_time(VersionMode::V3, 50, cs(100)))
    );
    r.handle_timeout(r.poll_timeout().unwrap());
    let actions = drain(&mut r);
    assert!(actions.contains(&Out::StateChanged {
        from: State::Backup,
        to: State::Active,
        reason: Reason::ActiveLeft {
            from: ip("192.0.2.20")
        }
    }));
}

#[test]
fn r15_accepted_advert_adopts_interval_recomputes_skew_and_rearms() {
    let mut r = started(v4_config(100), ms(0));
    let mut adv = Adv::v4("192.0.2.20", 200);
    adv.interval_cs = 200;
    adv.feed(&mut r, ms(100)).unwrap();
    assert_eq!(r.active_adver_interval(), cs(200));
    // RFC 9568 recomputes Skew from the new interval: 156 * 200 / 256 = 121.875 cs.
    assert_eq!(r.skew_time(), Duration::from_micros(1_218_750));
    assert_eq!(
        r.poll_timeout(),
        Some(ms(100) + cs(600) + Duration::from_micros(1_218_750))
    );
}

#[test]
fn r15_nopreempt_backup_accepts_lower_priority_adverts() {
    let mut cfg = v4_config(100);
    cfg.preempt = false;
    let mut r = started(cfg, ms(0));
    Adv::v4("192.0.2.20", 50).feed(&mut r, ms(100)).unwrap();
    assert_eq!(r.poll_timeout(), Some(ms(100) + r.active_down_interval()));
}

#[test]
fn r16_lower_priority_advert_is_discarded_and_down_timer_not_reset() {
    let mut r = started(v4_config(100), ms(0));
    let armed = r.poll_timeout().unwrap();
    for t in [500, 1500, 2500, 3500] {
        Adv::v4("192.0.2.20", 50).feed(&mut r, ms(t)).unwrap();
        assert_eq!(r.poll_timeout(), Some(armed), "timer untouched at {t} ms");
    }
    r.handle_timeout(armed);
    let actions = drain(&mut r);
    assert!(actions.contains(&Out::StateChanged {
        from: State::Backup,
        to: State::Active,
        reason: Reason::Preempted {
            from: ip("192.0.2.20"),
            their_priority: 50,
            our_priority: 100
        }
    }));
}

#[test]
fn r19_active_shutdown_sends_priority_zero_and_initializes() {
    let (mut r, t) = active(v4_config(100));
    r.handle(t + cs(10), Input::Shutdown);
    let actions = drain(&mut r);
    assert_eq!(
        actions,
        vec![
            mcast_advert(Version::V3, 0),
            Out::RemoveVip(ip("192.0.2.1")),
            Out::StateChanged {
                from: State::Active,
                to: State::Initialize,
                reason: Reason::Shutdown
            },
        ]
    );
    assert_eq!(r.poll_timeout(), None, "Adver_Timer cancelled");
    assert_eq!(r.stats().priority_zero_tx, 1);
}

#[test]
fn r20_adver_timer_sends_advert_and_resets() {
    let mut cfg = v4_config(100);
    cfg.announce.second_burst_delay = None;
    let (mut r, t) = active(cfg);
    for k in 1..=3 {
        let due = t + cs(100 * k);
        assert_eq!(r.poll_timeout(), Some(due));
        r.handle_timeout(due);
        assert_eq!(adverts(&drain(&mut r)), vec![100]);
    }
}

#[test]
fn handle_timeout_early_late_or_repeated_is_harmless() {
    let mut cfg = v4_config(100);
    cfg.announce.second_burst_delay = None;
    let (mut r, t) = active(cfg);
    let due = t + cs(100);
    r.handle_timeout(due - Duration::from_micros(1));
    assert!(drain(&mut r).is_empty(), "early call does nothing");
    r.handle_timeout(due + cs(30));
    assert_eq!(adverts(&drain(&mut r)), vec![100], "late call fires once");
    r.handle_timeout(due + cs(30));
    assert!(drain(&mut r).is_empty(), "repeated call does nothing");
    // Served 300 ms late, beyond the slack: the schedule re-anchors on the late advert.
    assert_eq!(r.poll_timeout(), Some(due + cs(130) - ADVERT_SLACK));
}

#[test]
fn r20_adverts_keep_the_configured_rate_when_every_wakeup_is_late() {
    // 10 ms adverts served 0.4 ms late each time: the deadlines stay on the schedule, so
    // 1,000 adverts take exactly 10 s; no gap between two sends is below interval - slack.
    let mut cfg = v4_config(100);
    cfg.advert_interval_cs = 1;
    cfg.announce.second_burst_delay = None;
    let (mut r, t) = active(cfg);
    let late = Duration::from_micros(400);
    let mut last_sent = t;
    for k in 1..=1000u64 {
        let due = r.poll_timeout().unwrap();
        assert_eq!(due, t + cs(k), "advert {k} is due on the schedule");
        let sent = due + late;
        r.handle_timeout(sent);
        assert_eq!(adverts(&drain(&mut r)), vec![100]);
        assert!(
            sent - last_sent >= cs(1) - ADVERT_SLACK,
            "gap {:?}",
            sent - last_sent
        );
        last_sent = sent;
    }
}

#[test]
fn r20_an_advert_later_than_the_slack_reanchors_and_the_next_gap_stays_above_the_interval_minus_slack(
) {
    let mut cfg = v4_config(100);
    cfg.advert_interval_cs = 1;
    cfg.announce.second_burst_delay = None;
    let (mut r, t) = active(cfg);
    let due = r.poll_timeout().unwrap();
    let stalled = due + Duration::from_millis(37); // a daemon stall
    r.handle_timeout(stalled);
    assert_eq!(
        adverts(&drain(&mut r)),
        vec![100],
        "one advert, no catch-up burst"
    );
    let next = r.poll_timeout().unwrap();
    assert_eq!(next, stalled + cs(1) - ADVERT_SLACK);
    assert!(
        next > t + cs(2),
        "no advert is sent to catch up with the schedule"
    );
}

#[test]
fn r21_active_answers_priority_zero_with_an_advert_and_stays() {
    let mut cfg = v4_config(100);
    cfg.announce.second_burst_delay = None;
    let (mut r, t) = active(cfg);
    Adv::v4("192.0.2.20", 0).feed(&mut r, t + cs(40)).unwrap();
    assert_eq!(adverts(&drain(&mut r)), vec![100]);
    assert_eq!(r.state(), State::Active);
    assert_eq!(r.poll_timeout(), Some(t + cs(140)), "Adver_Timer reset");
}

#[test]
fn r22_higher_priority_advert_makes_active_yield_and_adopt_interval() {
    let mut cfg = v4_config(100);
    cfg.higher_prio_send_advert = false; // the RFC behaviour; our default adds one advert
    let (mut r, t) = active(cfg);
    let mut adv = Adv::v4("192.0.2.20", 150);
    adv.interval_cs = 50;
    adv.feed(&mut r, t + cs(10)).unwrap();
    let actions = drain(&mut r);
    assert_eq!(
        actions,
        vec![
            Out::RemoveVip(ip("192.0.2.1")),
            Out::StateChanged {
                from: State::Active,
                to: State::Backup,
                reason: Reason::HigherPriority {
                    from: ip("192.0.2.20"),
                    their_priority: 150,
                    our_priority: 100
                }
            },
            Out::Notice(Notice::IntervalMismatch {
                from: ip("192.0.2.20"),
                theirs_cs: 50,
                ours_cs: 100
            }),
        ]
    );
    assert_eq!(r.active_adver_interval(), cs(50));
    assert_eq!(
        r.poll_timeout(),
        Some(t + cs(10) + cs(150) + skew_time(VersionMode::V3, 100, cs(50)))
    );
}

#[test]
fn r22_equal_priority_higher_address_wins_by_unsigned_compare() {
    let (mut r, t) = active(v4_config(100)); // primary 192.0.2.10
    Adv::v4("192.0.2.9", 100).feed(&mut r, t + cs(1)).unwrap();
    assert_eq!(r.state(), State::Active, "lower address loses");
    Adv::v4("192.0.2.200", 100).feed(&mut r, t + cs(2)).unwrap();
    assert_eq!(
        r.state(),
        State::Backup,
        "higher address (200 > 10 unsigned) wins"
    );
}

#[test]
fn r22_ipv6_tie_break_compares_link_local_sources() {
    let (mut r, t) = active(v6_config(100)); // primary fe80::10
    Adv::v6("fe80::f", 100).feed(&mut r, t + cs(1)).unwrap();
    assert_eq!(r.state(), State::Active);
    Adv::v6("fe80::11", 100).feed(&mut r, t + cs(2)).unwrap();
    assert_eq!(r.state(), State::Backup);
}

#[test]
fn r23_active_answers_lower_priority_advert_immediately() {
    let mut cfg = v4_config(100);
    cfg.announce.second_burst_delay = None;
    let (mut r, t) = active(cfg);
    Adv::v4("192.0.2.20", 50).feed(&mut r, t + cs(30)).unwrap();
    let actions = drain(&mut r);
    assert_eq!(actions[0], mcast_advert(Version::V3, 100));
    assert_eq!(r.state(), State::Active);
    assert_eq!(r.poll_timeout(), Some(t + cs(130)));
}

#[test]
fn r23_lower_prio_no_advert_restores_pre_9568_behaviour() {
    let mut cfg = v4_config(100);
    cfg.lower_prio_no_advert = true;
    let (mut r, t) = active(cfg);
    Adv::v4("192.0.2.20", 50).feed(&mut r, t + cs(30)).unwrap();
    assert!(adverts(&drain(&mut r)).is_empty());
}

#[test]
fn r29_advert_for_another_vrid_is_discarded() {
    let mut r = started(v4_config(100), ms(0));
    let mut adv = Adv::v4("192.0.2.20", 200);
    adv.vrid = 2;
    assert_eq!(adv.feed(&mut r, ms(1)), Err(PolicyError::Vrid(2)));
}

#[test]
fn r30_erratum_8298_owner_processes_adverts_and_two_owners_settle_by_address() {
    let (mut low, t) = active(v4_config(255)); // 192.0.2.10
    Adv::v4("192.0.2.20", 255)
        .feed(&mut low, t + cs(1))
        .unwrap();
    let actions = drain(&mut low);
    assert_eq!(low.state(), State::Backup);
    assert!(
        actions.contains(&Out::Notice(Notice::AnotherOwner {
            from: ip("192.0.2.20")
        })),
        "R46 logs it"
    );
    let mut high_cfg = v4_config(255);
    high_cfg.primary_addr = ip("192.0.2.20");
    let (mut high, t) = active(high_cfg);
    Adv::v4("192.0.2.10", 255)
        .feed(&mut high, t + cs(1))
        .unwrap();
    assert_eq!(high.state(), State::Active);
}

#[test]
fn r34_interval_mismatch_is_logged_never_dropped() {
    let mut r = started(v4_config(100), ms(0));
    let mut adv = Adv::v4("192.0.2.20", 200);
    adv.interval_cs = 300;
    assert_eq!(adv.feed(&mut r, ms(5)), Ok(()));
    assert!(
        drain(&mut r).contains(&Out::Notice(Notice::IntervalMismatch {
            from: ip("192.0.2.20"),
            theirs_cs: 300,
            ours_cs: 100
        }))
    );
    assert_eq!(r.stats().interval_mismatch, 1);
    assert_eq!(r.active_adver_interval(), cs(300));
}

#[test]
fn r35_address_list_mismatch_is_logged_only() {
    let mut r = started(v4_config(100), ms(0));
    let other = [ip("192.0.2.99")];
    let mut adv = Adv::v4("192.0.2.20", 200);
    adv.addrs = &other;
    assert_eq!(adv.feed(&mut r, ms(5)), Ok(()));
    assert!(
        drain(&mut r).contains(&Out::Notice(Notice::AddressListMismatch {
            from: ip("192.0.2.20")
        }))
    );
    assert_eq!(r.stats().address_list_mismatch, 1);
}

#[test]
fn r46_equal_priority_is_logged_and_notices_are_rate_limited() {
    let mut r = started(v4_config(100), ms(0));
    Adv::v4("192.0.2.20", 100).feed(&mut r, ms(5)).unwrap();
    Adv::v4("192.0.2.20", 100).feed(&mut r, ms(1005)).unwrap();
    let notices = drain(&mut r)
        .into_iter()
        .filter(|a| matches!(a, Out::Notice(Notice::EqualPriority { .. })))
        .count();
    assert_eq!(notices, 1);
    Adv::v4("192.0.2.20", 100).feed(&mut r, ms(11_000)).unwrap();
    assert_eq!(drain(&mut r).len(), 1, "again after the gap");
}

fn v2v3_config(priority: u8) -> RouterConfig {
    let mut cfg = v4_config(priority);
    cfg.version = VersionMode::V2V3;
    cfg
}

#[test]
fn r47_v2v3_active_sends_both_versions_at_the_configured_rate() {
    let mut cfg = v2v3_config(100);
    cfg.advert_interval_cs = 50;
    let (mut r, t) = active(cfg);
    r.handle_timeout(t + cs(50));
    let mut buf = Vec::new();
    let v3 = r.poll_transmit(&mut buf).unwrap();
    assert_eq!((v3.version, buf[0]), (Version::V3, 0x31));
    let v2 = r.poll_transmit(&mut buf).unwrap();
    assert_eq!(
        (v2.version, buf[0], buf[5], v2.len),
        (Version::V2, 0x21, 1, 20),
        "v2 interval rounds to whole seconds, at least 1"
    );
    assert_eq!(r.poll_transmit(&mut buf), None, "one advert per version");
}

#[test]
fn r47_v2v3_backup_times_out_on_v2_rate_in_centiseconds() {
    let mut r = started(v2v3_config(100), ms(0));
    let mut adv = Adv::v4("192.0.2.20", 200);
    adv.version = Version::V2;
    adv.interval_cs = 200;
    adv.feed(&mut r, ms(10)).unwrap();
    assert_eq!(r.active_adver_interval(), cs(200));
}

#[test]
fn r47_v2v3_ignores_v2_from_an_active_that_also_sends_v3() {
    let mut r = started(v2v3_config(100), ms(0));
    Adv::v4("192.0.2.20", 200).feed(&mut r, ms(10)).unwrap();
    let mut v2 = Adv::v4("192.0.2.20", 200);
    v2.version = Version::V2;
    assert_eq!(v2.feed(&mut r, ms(20)), Err(PolicyError::V2FromV3Sender));
}

#[test]
fn vrrpv2_router_checks_password_and_interval() {
    let mut cfg = v4_config(100);
    cfg.version = VersionMode::V2;
    cfg.auth = vrrp_core::Auth::password("secret");
    let mut r = started(cfg, ms(0));
    let mut adv = Adv::v4("192.0.2.20", 200);
    adv.version = Version::V2;
    adv.auth_type = AuthType::Password;
    adv.auth_data = vrrp_core::packet::password_field(b"secret");
    assert_eq!(adv.feed(&mut r, ms(1)), Ok(()));
    let mut wrong = adv;
    wrong.auth_data = vrrp_core::packet::password_field(b"guess");
    assert_eq!(wrong.feed(&mut r, ms(2)), Err(PolicyError::Auth));
    let mut slow = adv;
    slow.interval_cs = 300;
    assert_eq!(slow.feed(&mut r, ms(3)), Err(PolicyError::V2Interval(3)));
    let mut v3 = adv;
    v3.version = Version::V3;
    assert_eq!(
        v3.feed(&mut r, ms(4)),
        Err(PolicyError::Version),
        "P4: v3 on a v2 router"
    );
    assert_eq!(r.stats().rx_auth_errors, 1);
}

#[test]
fn own_advert_looped_back_is_ignored() {
    let mut r = started(v4_config(100), ms(0));
    assert_eq!(
        Adv::v4("192.0.2.10", 200).feed(&mut r, ms(1)),
        Err(PolicyError::Own)
    );
}

#[test]
fn adverts_before_startup_are_counted_no_ops() {
    let mut r = Router::new(v4_config(100)).unwrap();
    assert_eq!(
        Adv::v4("192.0.2.20", 200).feed(&mut r, ms(1)),
        Err(PolicyError::NotRunning)
    );
    assert!(drain(&mut r).is_empty());
    assert_eq!(r.state(), State::Initialize);
    r.handle_timeout(Instant::from_micros(u64::MAX));
    assert!(drain(&mut r).is_empty());
}

#[test]
fn p1_checksum_form_of_each_peer_is_counted_and_a_mismatch_noticed() {
    let mut r = started(v4_config(100), ms(0)); // sends the pseudo-header form
    let mut adv = Adv::v4("192.0.2.20", 200);
    adv.form = vrrp_core::ChecksumForm::Rfc9568;
    adv.feed(&mut r, ms(1)).unwrap();
    assert_eq!(r.stats().checksum_rfc9568_rx, 1);
    assert!(drain(&mut r).contains(&Out::Notice(Notice::ChecksumForm {
        from: ip("192.0.2.20"),
        theirs: vrrp_core::ChecksumForm::Rfc9568
    })));
    Adv::v4("192.0.2.20", 200).feed(&mut r, ms(2)).unwrap();
    assert_eq!(r.stats().checksum_pseudo_header_rx, 1);
}

#[test]
fn config_rejects_duplicate_vips_and_a_zero_refresh_period() {
    let mut cfg = v4_config(100);
    cfg.vips = vec![ip("192.0.2.1"), ip("192.0.2.1")];
    assert_eq!(
        Router::new(cfg).unwrap_err(),
        ConfigError::DuplicateVip(ip("192.0.2.1"))
    );
    let mut cfg = v4_config(100);
    cfg.announce.refresh_interval = Some(Duration::ZERO);
    assert_eq!(Router::new(cfg).unwrap_err(), ConfigError::ZeroRefresh);
}

#[test]
fn p1_sent_checksum_form_follows_a_peer_that_uses_the_other_form() {
    let (mut r, t) = active(v4_config(100)); // sends the pseudo-header form
    let mut adv = Adv::v4("192.0.2.20", 50);
    adv.form = vrrp_core::ChecksumForm::Rfc9568;
    adv.feed(&mut r, t + Duration::from_millis(1)).unwrap();
    assert_eq!(r.status().checksum_form, vrrp_core::ChecksumForm::Rfc9568);
    // The lower priority is answered at once (R23), in the peer's form.
    let mut buf = Vec::new();
    let tx = r.poll_transmit(&mut buf).unwrap();
    let meta = vrrp_core::RxMeta {
        src: tx.src,
        dst: tx.dst,
        ttl: 255,
        ifindex: 1,
    };
    let sent = vrrp_core::packet::parse(&buf[..tx.len], meta).unwrap();
    assert_eq!(sent.checksum_form, Some(vrrp_core::ChecksumForm::Rfc9568));
    drain(&mut r);
    // A second peer with the other form within a minute does not flip it back.
    Adv::v4("192.0.2.30", 200)
        .feed(&mut r, t + Duration::from_secs(2))
        .unwrap();
    assert_eq!(r.status().checksum_form, vrrp_core::ChecksumForm::Rfc9568);
}

#[test]
fn p1_an_explicit_checksum_form_is_kept() {
    let mut cfg = v4_config(100);
    cfg.checksum_follow_peer = false;
    let mut r = started(cfg, ms(0));
    let mut adv = Adv::v4("192.0.2.20", 200);
    adv.form = vrrp_core::ChecksumForm::Rfc9568;
    adv.feed(&mut r, ms(1)).unwrap();
    assert_eq!(
        r.status().checksum_form,
        vrrp_core::ChecksumForm::PseudoHeader
    );
}
