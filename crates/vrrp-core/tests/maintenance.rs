//! Maintenance ([`Input::Maintenance`], issue #13): an Active leaves gracefully and the router
//! stays Backup, never Active, until maintenance is off; then it behaves as configured.

mod common;

use common::*;
use vrrp_core::{Duration, Input, Reason, Router, State, Version};

#[test]
fn maintenance_on_an_active_sends_priority_zero_releases_and_stays_backup() {
    let (mut r, t) = active(v4_config(150));
    r.handle(t + cs(10), Input::Maintenance(true));
    let actions = drain(&mut r);
    assert_eq!(
        actions,
        vec![
            mcast_advert(Version::V3, 0),
            Out::RemoveVip(ip("192.0.2.1")),
            Out::StateChanged {
                from: State::Active,
                to: State::Backup,
                reason: Reason::Maintenance
            },
        ]
    );
    assert!(r.in_maintenance() && r.status().maintenance);
    // No Active is heard: its down timer fires again and again, and it stays Backup.
    for _ in 0..5 {
        let now = r.poll_timeout().expect("the down timer runs");
        r.handle_timeout(now);
        assert!(transitions(&drain(&mut r)).is_empty(), "never Active");
    }
    assert_eq!(r.state(), State::Backup);
}

#[test]
fn a_backup_in_maintenance_neither_preempts_nor_takes_over_from_a_leaving_active() {
    let mut r = started(v4_config(200), ms(0));
    r.handle(ms(10), Input::Maintenance(true));
    assert!(drain(&mut r).is_empty(), "a Backup has nothing to do");
    // A lower priority Active: a preempting router would take over after the down timer.
    Adv::v4("192.0.2.20", 100).feed(&mut r, ms(100)).unwrap();
    // The Active leaves.
    Adv::v4("192.0.2.20", 0).feed(&mut r, ms(200)).unwrap();
    let mut now = ms(200);
    for _ in 0..3 {
        now = r.poll_timeout().unwrap();
        r.handle_timeout(now);
    }
    assert!(transitions(&drain(&mut r)).is_empty());
    assert_eq!(r.state(), State::Backup);
    assert_eq!(
        r.status().last_active,
        Some(ip("192.0.2.20")),
        "it follows the Active"
    );

    // Off: as configured again, no Active heard, so it takes over after its down interval.
    r.handle(now, Input::Maintenance(false));
    let down = r.poll_timeout().unwrap();
    assert!(down > now, "the down interval restarts from the command");
    r.handle_timeout(down);
    assert_eq!(
        transitions(&drain(&mut r)),
        vec![(State::Backup, State::Active)]
    );
}

#[test]
fn maintenance_off_with_an_active_heard_follows_preemption_as_configured() {
    let mut cfg = v4_config(200);
    cfg.preempt = false;
    let mut r = started(cfg, ms(0));
    r.handle(ms(10), Input::Maintenance(true));
    Adv::v4("192.0.2.20", 100).feed(&mut r, ms(100)).unwrap();
    r.handle(ms(150), Input::Maintenance(false));
    // Adverts keep coming: no preemption (off), it stays Backup.
    for t in (300..3000).step_by(100) {
        Adv::v4("192.0.2.20", 100).feed(&mut r, ms(t)).unwrap();
        if r.poll_timeout().is_some_and(|d| d <= ms(t)) {
            r.handle_timeout(ms(t));
        }
    }
    assert!(transitions(&drain(&mut r)).is_empty());
}

#[test]
fn the_owner_in_maintenance_stays_backup_and_takes_over_at_once_when_it_ends() {
    let mut r = Router::new(v4_config(255)).unwrap();
    r.handle(ms(0), Input::Maintenance(true));
    r.handle(ms(0), Input::Startup);
    assert_eq!(
        transitions(&drain(&mut r)),
        vec![(State::Initialize, State::Backup)],
        "the owner starts Backup in maintenance"
    );
    r.handle(ms(500), Input::Maintenance(false));
    let actions = drain(&mut r);
    assert_eq!(transitions(&actions), vec![(State::Backup, State::Active)]);
    assert!(actions.iter().any(|a| matches!(
        a,
        Out::StateChanged {
            reason: Reason::MaintenanceOff,
            ..
        }
    )));
}

#[test]
fn announce_on_request_bursts_every_address_of_an_active_and_nothing_otherwise() {
    let mut cfg = v4_config(150);
    cfg.announce.burst_spacing = Duration::ZERO;
    cfg.announce.burst_count = 3;
    let (mut r, t) = active(cfg);
    r.handle(t + cs(100), Input::Announce);
    let actions = drain(&mut r);
    assert_eq!(
        actions,
        vec![Out::Announce(ip("192.0.2.1")); 3],
        "a burst of garp_master_repeat rounds"
    );
    let mut b = started(v4_config(100), ms(0));
    b.handle(ms(10), Input::Announce);
    assert!(drain(&mut b).is_empty(), "a Backup announces nothing");
}
