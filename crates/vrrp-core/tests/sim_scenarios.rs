//! Deterministic scenarios on the simulator ([`vrrp_core::sim`]), each named for what it proves.
//! Intervals are the default 100 cs unless stated; delays are zero unless stated, so every
//! instant is exact: Active_Down_Interval = 3 s + (256 - p) / 256 s, rounded down to the µs.

mod sim_common;

use sim_common::*;
use vrrp_core::sim::{Fault, Sim, SimId, TraceEvent};
use vrrp_core::{Command, Duration, Event, Input, Instant, Reason, RouterConfig, State};

const IV: u16 = 100;

fn secs(s: f64) -> Instant {
    Instant::from_micros((s * 1e6) as u64)
}

fn checked(sim: &Sim) {
    if let Err(e) = check_causes(sim, IV) {
        panic!("{e}\n{}", dump(sim));
    }
}

/// The last advert `id` sent at or before `t`.
fn last_advert(sim: &Sim, id: SimId, t: Instant) -> Option<Instant> {
    sim.trace().iter().rev().find_map(|e| match e {
        TraceEvent::AdvertSent { at, router, .. } if *router == id && *at <= t => Some(*at),
        _ => None,
    })
}

fn pair(v6: bool, (p_a, h_a): (u8, u8), (p_b, h_b): (u8, u8)) -> (Sim, SimId, SimId) {
    let mut sim = Sim::new(1);
    let a = sim.add_router(config("a", v6, h_a, p_a, IV));
    let b = sim.add_router(config("b", v6, h_b, p_b, IV));
    (sim, a, b)
}

#[test]
fn two_routers_elect_the_higher_priority() {
    for v6 in [false, true] {
        let (mut sim, low, high) = pair(v6, (100, 20), (200, 10));
        sim.start_all();
        sim.run_for(Duration::from_secs(30));
        assert_eq!(sim.actives(), vec![high]);
        // Nobody advertised, so the higher priority's shorter Active_Down_Interval fires
        // first (R13), and its advert keeps the other Backup (R15).
        assert_eq!(
            sim.history().first_active_after(Instant::ZERO),
            Some((Instant::ZERO + down(200, IV), high))
        );
        assert_eq!(sim.history().became_active_after(low, Instant::ZERO), None);
        assert!(sim.history().multi_active_intervals().is_empty());
        checked(&sim);
    }
}

#[test]
fn higher_priority_started_later_preempts_after_its_own_down_interval() {
    let (mut sim, low, high) = pair(false, (100, 20), (200, 10));
    sim.start(low);
    sim.schedule(secs(10.0), Fault::Input(high, Input::Startup));
    sim.run_for(Duration::from_secs(30));
    assert_eq!(sim.actives(), vec![high]);
    // R16: the lower Active's adverts are discarded without re-arming the timer, so the
    // takeover comes exactly one Active_Down_Interval after startup.
    let t = sim
        .history()
        .became_active_after(high, Instant::ZERO)
        .unwrap();
    assert_eq!(t, secs(10.0) + down(200, IV));
    let demoted = sim.trace().iter().find_map(|e| match e {
        TraceEvent::StateChanged {
            router,
            to: State::Backup,
            reason,
            at,
            ..
        } if *router == low && *at > secs(10.0) => Some((*at, reason.clone())),
        _ => None,
    });
    let (at, reason) = demoted.unwrap();
    assert_eq!(
        at, t,
        "zero delay: demoted at the instant the first advert arrives (R22)"
    );
    assert!(matches!(
        reason,
        Reason::HigherPriority {
            their_priority: 200,
            our_priority: 100,
            ..
        }
    ));
    checked(&sim);
}

#[test]
fn equal_priority_elects_the_higher_address() {
    for v6 in [false, true] {
        // Started together, both time out at the same instant and meet as Actives; the higher
        // primary address wins the tie (R22, unsigned network-order compare).
        let (mut sim, low_addr, high_addr) = pair(v6, (100, 10), (100, 20));
        sim.start_all();
        sim.run_for(Duration::from_secs(30));
        assert_eq!(sim.actives(), vec![high_addr], "v6 {v6}");
        let t = Instant::ZERO + down(100, IV);
        // Two Actives for zero time: both took over at t and the loser yielded at t.
        assert_eq!(sim.history().multi_active_intervals(), vec![(t, t)]);
        assert!(sim.trace().iter().any(|e| matches!(e,
            TraceEvent::StateChanged { router, at, reason: Reason::HigherPriority { their_priority: 100, our_priority: 100, .. }, .. }
                if *router == low_addr && *at == t)));
        checked(&sim);
    }
}

#[test]
fn equal_priority_backup_does_not_take_over_from_an_established_lower_address() {
    // Why the property tests only demand "highest priority" under ties: a Backup accepts an
    // equal-priority advert (R15, priority >= ours) and re-arms, so the address tie-break only
    // applies when two Actives meet (R22).
    let (mut sim, low_addr, high_addr) = pair(false, (100, 10), (100, 20));
    sim.start(low_addr);
    sim.schedule(secs(10.0), Fault::Input(high_addr, Input::Startup));
    sim.run_for(Duration::from_secs(60));
    assert_eq!(sim.actives(), vec![low_addr]);
    checked(&sim);
}

/// Partitions two converged routers, waits for both to be Active, and heals just after one of
/// them sent, so that the other (the loser if `first_after_heal_is_loser`) speaks first.
fn partition_and_heal(
    loser_cfg: impl FnOnce(&mut RouterConfig),
    first_after_heal_is_loser: bool,
) -> (Sim, SimId, SimId, Instant) {
    let mut sim = Sim::new(3);
    // Without the periodic refresh, so that only the dual-Active announcements are counted.
    let mut winner_cfg = config("winner", false, 10, 200, IV);
    winner_cfg.announce.refresh_interval = None;
    let winner = sim.add_router(winner_cfg);
    let mut cfg = config("loser", false, 20, 100, IV);
    cfg.announce.refresh_interval = None;
    loser_cfg(&mut cfg);
    let loser = sim.add_router(cfg);
    sim.start_all();
    sim.run_until(secs(10.0));
    assert_eq!(sim.actives(), vec![winner]);
    sim.partition(&[winner], &[loser]);
    sim.run_until(secs(20.0));
    assert_eq!(
        sim.actives(),
        vec![winner, loser],
        "the partition gives two Actives"
    );
    // Each sends every second; heal right after the one that should speak second.
    let quiet = if first_after_heal_is_loser {
        winner
    } else {
        loser
    };
    let t_heal = last_advert(&sim, quiet, sim.now()).unwrap()
        + Duration::from_secs(1)
        + Duration::from_micros(1);
    sim.run_until(t_heal);
    sim.heal();
    sim.run_for(Duration::from_secs(10));
    (sim, winner, loser, t_heal)
}

fn announces_after(sim: &Sim, id: SimId, t: Instant) -> usize {
    sim.trace()
        .iter()
        .filter(|e| {
            matches!(e, TraceEvent::Command { router, at, command: Command::Announce(_) }
                if *router == id && *at >= t)
        })
        .count()
}

#[test]
fn partition_gives_two_actives_and_heal_returns_to_one_and_the_winner_reannounces() {
    let (sim, winner, loser, t_heal) = partition_and_heal(|_| {}, true);
    assert_eq!(sim.actives(), vec![winner]);
    let dual = sim.history().multi_active_intervals();
    assert_eq!(dual.len(), 1);
    assert!(
        dual[0].1 > t_heal,
        "two Actives until the first advert after the heal"
    );
    assert_eq!(
        sim.history().state_at(loser, sim.now()),
        Some(State::Backup)
    );
    // The loser's advert reached the winner first: the winner answered at once (R23) and
    // re-announced its addresses (the dual-Active burst, 5 rounds x 1 VIP), and again
    // garp_lower_prio_delay (5 s) later.
    assert_eq!(announces_after(&sim, winner, t_heal), 10);
    assert_eq!(
        announces_after(&sim, winner, t_heal + Duration::from_secs(4)),
        5,
        "the second burst 5 s later"
    );
    assert!(sim.trace().iter().any(|e| matches!(e,
        TraceEvent::Event { router, event: Event::Notice(vrrp_core::Notice::DualActive { their_priority: 100, .. }), .. }
            if *router == winner)));
    checked(&sim);
}

#[test]
fn partition_heal_with_higher_prio_send_advert_reannounces_even_when_the_winner_speaks_first() {
    let (sim, winner, _, t_heal) = partition_and_heal(|c| c.higher_prio_send_advert = true, false);
    assert_eq!(sim.actives(), vec![winner]);
    assert_eq!(announces_after(&sim, winner, t_heal), 10);
    checked(&sim);
}

#[test]
fn partition_heal_when_the_winner_speaks_first_demotes_the_loser_without_reannouncement() {
    // keepalived's default (higher_prio_send_advert off, plain RFC R22): the loser yields
    // silently, so the winner never hears a lower advert and has no reason to re-announce.
    // The winner's own adverts (sent from the VMAC) still refresh the bridges. vrrp-core's
    // default turns the option on (see the scenario above).
    let (sim, winner, _, t_heal) = partition_and_heal(|c| c.higher_prio_send_advert = false, false);
    assert_eq!(sim.actives(), vec![winner]);
    assert_eq!(announces_after(&sim, winner, t_heal), 0);
    checked(&sim);
}

#[test]
fn nopreempt_keeps_a_lower_active() {
    let mut sim = Sim::new(4);
    let low = sim.add_router(config("low", false, 10, 100, IV));
    let mut cfg = config("high", false, 20, 200, IV);
    cfg.preempt = false;
    let high = sim.add_router(cfg);
    sim.start(low);
    sim.schedule(secs(10.0), Fault::Input(high, Input::Startup));
    sim.run_for(Duration::from_secs(120));
    assert_eq!(sim.actives(), vec![low]);
    assert_eq!(sim.history().became_active_after(high, Instant::ZERO), None);
    // It takes over once the lower Active goes away, and keeps the role when that one returns
    // (a lower priority accepts the higher adverts, R15).
    sim.crash(low);
    let t_crash = sim.now();
    sim.run_for(Duration::from_secs(10));
    assert_eq!(sim.actives(), vec![high]);
    assert!(sim.history().became_active_after(high, t_crash).unwrap() <= t_crash + down(200, IV));
    sim.restart(low);
    sim.run_for(Duration::from_secs(30));
    assert_eq!(sim.actives(), vec![high]);
    checked(&sim);
}

#[test]
fn preempt_delay_delays_preemption_by_the_configured_time() {
    let delay = Duration::from_secs(10);
    let mut takeovers = Vec::new();
    for preempt_delay in [Duration::ZERO, delay] {
        let mut sim = Sim::new(5);
        let low = sim.add_router(config("low", false, 10, 100, IV));
        let mut cfg = config("high", false, 20, 200, IV);
        cfg.preempt_delay = preempt_delay;
        let high = sim.add_router(cfg);
        sim.start(low);
        let t_start = secs(10.0);
        sim.schedule(t_start, Fault::Input(high, Input::Startup));
        sim.run_for(Duration::from_secs(60));
        assert_eq!(sim.actives(), vec![high]);
        let t = sim
            .history()
            .became_active_after(high, Instant::ZERO)
            .unwrap();
        // keepalived's preempt_delay counts from the first lower advert heard: until then plus
        // the delay the lower Active's adverts are accepted and re-arm the timer (R15); from
        // then on they are discarded (R16). So the takeover comes one Active_Down_Interval
        // after the last advert heard before the delay ended.
        let first_heard = sim
            .trace()
            .iter()
            .find_map(|e| match e {
                TraceEvent::Delivered { at, to, .. } if *to == high && *at >= t_start => Some(*at),
                _ => None,
            })
            .expect("the higher router hears the lower Active");
        let accepted_until = first_heard + preempt_delay;
        let last_accepted = sim
            .trace()
            .iter()
            .rev()
            .find_map(|e| match e {
                TraceEvent::Delivered { at, to, .. } if *to == high && *at < accepted_until => {
                    Some(*at)
                }
                _ => None,
            })
            .unwrap_or(t_start)
            .max(t_start);
        assert_eq!(
            t,
            last_accepted + down(200, IV),
            "preempt_delay {preempt_delay}"
        );
        assert!(t >= first_heard + preempt_delay);
        let reason = sim.trace().iter().find_map(|e| match e {
            TraceEvent::StateChanged {
                router,
                to: State::Active,
                reason,
                ..
            } if *router == high => Some(reason.clone()),
            _ => None,
        });
        assert!(matches!(
            reason,
            Some(Reason::Preempted {
                their_priority: 100,
                our_priority: 200,
                ..
            })
        ));
        checked(&sim);
        takeovers.push(t);
    }
    // Without the delay: one Active_Down_Interval after startup. With it: delayed by about the
    // configured time (minus up to one advert interval of phase).
    assert_eq!(takeovers[0], secs(10.0) + down(200, IV));
    let extra = takeovers[1] - takeovers[0];
    assert!(
        extra > delay - Duration::from_secs(1) && extra <= delay,
        "extra {extra}"
    );
}

#[test]
fn crash_is_silent_but_shutdown_sends_priority_zero() {
    for graceful in [false, true] {
        let (mut sim, active, backup) = pair(false, (200, 10), (100, 20));
        sim.start_all();
        sim.run_until(secs(10.0));
        assert_eq!(sim.actives(), vec![active]);
        let last = last_advert(&sim, active, sim.now()).unwrap();
        let t = sim.now();
        if graceful {
            sim.shutdown(active);
        } else {
            sim.crash(active);
        }
        sim.run_for(Duration::from_secs(10));
        let took_over = sim.history().became_active_after(backup, t).unwrap();
        if graceful {
            // R19 then R14: one priority-0 advert, the Backup waits only Skew_Time.
            assert_eq!(took_over, t + skew(100, IV));
            assert_eq!(sim.router(active).stats().priority_zero_tx, 1);
        } else {
            // Nothing was sent: the Backup waits a whole Active_Down_Interval from the last
            // advert it heard.
            assert_eq!(took_over, last + down(100, IV));
            assert_eq!(sim.router(active).stats().priority_zero_tx, 0);
            assert_eq!(sim.history().state_at(active, sim.now()), None);
        }
        checked(&sim);
    }
}

#[test]
fn reordered_advert_after_priority_zero_falls_back_to_the_down_interval() {
    // RFC 9568 has no sequence numbers: if the Active's last periodic advert is overtaken by
    // its priority-0 advert (possible with netem jitter, not on a plain Ethernet segment), the
    // Backup accepts the stale advert after the priority 0 (R15) and re-arms the whole
    // Active_Down_Interval. This is why the handover property shuts down while no advert is in
    // flight.
    let (mut sim, active, backup) = pair(false, (200, 10), (100, 20));
    sim.start_all();
    sim.run_until(secs(10.0));
    let next = last_advert(&sim, active, sim.now()).unwrap() + Duration::from_secs(1);
    let slow = vrrp_core::sim::LinkParams {
        delay: Duration::from_millis(50),
        ..Default::default()
    };
    sim.set_link(active, backup, Some(slow));
    sim.run_until(next); // the periodic advert leaves with 50 ms of delay
    sim.set_link(active, backup, None);
    sim.run_until(next + Duration::from_millis(1));
    sim.shutdown(active); // the priority 0 arrives at once, before it
    sim.run_for(Duration::from_secs(10));
    let took_over = sim.history().became_active_after(backup, next).unwrap();
    let stale = next + Duration::from_millis(50);
    assert_eq!(took_over, stale + down(100, IV));
    checked(&sim);
}

#[test]
fn one_way_cut_gives_stable_dual_actives_and_the_hearing_one_answers_every_advert() {
    // r23 and r21 on the wire: `deaf` cannot hear `high`, so it is Active too; `high` hears each
    // of its lower adverts and answers at once (R23). When `deaf` shuts down, `high` answers its
    // priority 0 at once as well and stays Active (R21).
    let (mut sim, high, deaf) = pair(false, (200, 10), (100, 20));
    sim.block(&[high], &[deaf]);
    sim.start_all();
    sim.run_until(secs(20.0));
    assert_eq!(sim.actives(), vec![high, deaf]);
    let answers = |sim: &Sim, from: Instant| {
        sim.trace()
            .windows(2)
            .filter(|w| {
                matches!(
                    (&w[0], &w[1]),
                    (
                        TraceEvent::Delivered { to, at, .. },
                        TraceEvent::AdvertSent { router, at: sent, priority: 200, .. },
                    ) if *to == high && router == to && at == sent && *at >= from
                )
            })
            .count()
    };
    let heard = sim
        .trace()
        .iter()
        .filter(|e| matches!(e, TraceEvent::Delivered { to, receiver_state: State::Active, .. } if *to == high))
        .count();
    assert!(heard >= 10);
    assert_eq!(
        answers(&sim, Instant::ZERO),
        heard,
        "every lower advert is answered (R23)"
    );
    let t = sim.now();
    sim.shutdown(deaf);
    sim.run_for(Duration::from_secs(1));
    assert!(sim.trace().iter().any(|e| matches!(e,
        TraceEvent::Delivered { to, priority: 0, receiver_state: State::Active, at, .. } if *to == high && *at == t)));
    assert_eq!(
        answers(&sim, t),
        1,
        "the priority 0 is answered at once (R21)"
    );
    assert_eq!(sim.actives(), vec![high]);
    checked(&sim);
}

#[test]
fn two_owners_settle_by_address() {
    // Erratum 8298: an owner processes another owner's adverts, so the two settle like any
    // equal-priority pair (R22): both start Active (R8), the lower address yields.
    let (mut sim, low_addr, high_addr) = pair(false, (255, 10), (255, 20));
    sim.start_all();
    assert_eq!(sim.actives(), vec![low_addr, high_addr]);
    sim.run_until(Instant::ZERO); // the zero-delay adverts cross at once
    assert_eq!(sim.actives(), vec![high_addr]);
    let zero = Instant::ZERO;
    assert_eq!(sim.history().multi_active_intervals(), vec![(zero, zero)]);
    sim.run_for(Duration::from_secs(30));
    assert_eq!(sim.actives(), vec![high_addr]);
    assert_eq!(
        sim.history().state_at(low_addr, sim.now()),
        Some(State::Backup)
    );
    checked(&sim);
}

/// Two hosts, each running VRIDs 1 and 2 in sync group "G": host a at priority 200, host b
/// at 100.
fn two_hosts_with_sync_groups() -> (Sim, [SimId; 2], [SimId; 2]) {
    let mut sim = Sim::new(5);
    let host = |name: &str, h: u8, p: u8| {
        (1..=2u8)
            .map(|vrid| {
                let mut cfg = config(&format!("{name}{vrid}"), false, h, p, IV);
                cfg.vrid = vrid;
                cfg.vips = vec![format!("192.0.2.{}", 100 + vrid).parse().unwrap()];
                cfg
            })
            .collect::<Vec<_>>()
    };
    let group = vec![("G".to_string(), vec![0, 1])];
    let (_, a) = sim.add_host(host("a", 10, 200), group.clone());
    let (_, b) = sim.add_host(host("b", 20, 100), group);
    (sim, [a[0], a[1]], [b[0], b[1]])
}

#[test]
fn sync_groups_of_two_hosts_fail_over_together_when_the_active_host_crashes() {
    let (mut sim, a, b) = two_hosts_with_sync_groups();
    sim.start_all();
    sim.run_for(Duration::from_secs(10));
    assert_eq!(sim.actives(), a.to_vec());
    let t_crash = sim.now();
    sim.crash(a[0]); // the whole host, both routers
    assert!(!sim.is_alive(a[1]));
    sim.run_for(Duration::from_secs(10));
    assert_eq!(sim.actives(), b.to_vec());
    let took_over: Vec<Instant> = b
        .iter()
        .map(|&id| sim.history().became_active_after(id, t_crash).unwrap())
        .collect();
    assert_eq!(took_over[0], took_over[1], "the group moves in one step");
    let b_host = sim.host_of(b[0]);
    let b_group: Vec<(State, State)> = sim
        .trace()
        .iter()
        .filter_map(|e| match e {
            TraceEvent::GroupChanged { host, from, to, .. } if *host == b_host => {
                Some((*from, *to))
            }
            _ => None,
        })
        .collect();
    assert_eq!(
        b_group,
        [
            (State::Initialize, State::Backup),
            (State::Backup, State::Active)
        ]
    );
    // The member that did not time out itself follows its group.
    let forced = sim.trace().iter().any(|e| {
        matches!(e, TraceEvent::StateChanged { router, to: State::Active, reason, .. }
            if b.contains(router) && reason.is_sync_group())
    });
    assert!(forced, "one member went Active because the group did");
    checked_sync(&sim);
}

#[test]
fn a_restarted_host_rebuilds_its_routers_and_sync_group_and_preempts() {
    let (mut sim, a, b) = two_hosts_with_sync_groups();
    sim.start_all();
    sim.run_for(Duration::from_secs(10));
    sim.crash(a[0]);
    sim.run_for(Duration::from_secs(10));
    assert_eq!(sim.actives(), b.to_vec());
    sim.restart(a[1]);
    sim.run_for(Duration::from_secs(10));
    assert_eq!(
        sim.actives(),
        a.to_vec(),
        "the higher host preempts with its group"
    );
    assert_eq!(
        sim.node(sim.host_of(a[0])).sync_group_state(0),
        Some(State::Active)
    );
    assert_eq!(
        sim.node(sim.host_of(b[0])).sync_group_state(0),
        Some(State::Backup)
    );
}

/// At no recorded instant is a VRID Active on two hosts.
fn checked_sync(sim: &Sim) {
    let h = sim.history();
    for c in h.changes() {
        for vrid in [1u8, 2] {
            let actives: Vec<SimId> = h
                .actives_at(c.at)
                .into_iter()
                .filter(|&id| sim.config(id).vrid == vrid)
                .collect();
            assert!(
                actives.len() <= 1,
                "VRID {vrid} Active on {actives:?} at {}",
                c.at
            );
        }
    }
}
