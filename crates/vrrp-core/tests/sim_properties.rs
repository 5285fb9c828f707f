//! Property tests on the deterministic simulator ([`vrrp_core::sim`]): random segments of 2-5
//! routers (IPv4 or IPv6, random priorities with ties and sometimes an owner, one interval of
//! 1..4095 cs per run, Preempt_Mode on or off per router, one tracker each) under random fault
//! schedules (loss, delay and jitter, two-way and one-way partitions, crashes, restarts,
//! shutdowns, priority, tracker and link changes).
//!
//! Time is virtual, so 40.95 s intervals cost nothing: each property runs 256 cases in well
//! under a second in debug mode.

mod sim_common;

use proptest::prelude::*;
use sim_common::*;
use vrrp_core::sim::{Fault, Sim, SimId, TraceEvent};
use vrrp_core::{Duration, Input, Instant, State, TrackState, Tracker, TrackerId};

/// One router of a generated segment.
#[derive(Clone, Debug)]
struct RouterSpec {
    priority: u8,
    preempt: bool,
    /// Weight of the router's one binary tracker (-50, +30, or 0 = Fault while down).
    tracker_weight: i32,
    /// keepalived's preempt_delay, in thousandths of the interval (usually 0).
    preempt_delay_permille: u64,
    /// Start time, in thousandths of the advertisement interval (0..2000: staggered).
    start_permille: u64,
}

/// A fault at a time given in thousandths of the fault window `T`.
#[derive(Clone, Debug)]
enum FaultSpec {
    /// Loss probability, percent.
    Loss(u8),
    /// Delay and jitter, each in thousandths of the interval (at most 100 = I/10).
    Delay(u16, u16),
    /// Partition: routers whose bit is set against the others.
    Partition(u8),
    /// One-way cut from one router to another (stable dual Actives: the deaf one is Active,
    /// the other hears it and answers every advert, R23).
    Block(usize, usize),
    Heal,
    Crash(usize),
    Restart(usize),
    Shutdown(usize),
    SetPriority(usize, u8),
    /// The router's tracker goes up or down.
    Track(usize, bool),
    /// The router's interface goes up or down (down = Fault).
    Link(usize, bool),
}

#[derive(Clone, Debug)]
struct Spec {
    v6: bool,
    interval_cs: u16,
    /// Host byte of each router's primary address (a permutation, so that address order is
    /// independent of priority order).
    hosts: Vec<u8>,
    routers: Vec<RouterSpec>,
    /// Fault window `T`, in intervals.
    window: u64,
    faults: Vec<(u64, FaultSpec)>,
    seed: u64,
}

fn interval() -> impl Strategy<Value = u16> {
    prop_oneof![1u16..=10, 10u16..=300, 300u16..=4095]
}

fn priority() -> impl Strategy<Value = u8> {
    prop_oneof![6 => 1u8..=254, 2 => Just(100u8), 1 => Just(254u8), 1 => Just(255u8)]
}

fn router_spec() -> impl Strategy<Value = RouterSpec> {
    (
        priority(),
        prop::bool::weighted(0.8),
        prop::sample::select(vec![-50, 30, 0]),
        prop_oneof![4 => Just(0u64), 1 => 0u64..=3000],
        0u64..2000,
    )
        .prop_map(
            |(priority, preempt, tracker_weight, preempt_delay_permille, start_permille)| {
                RouterSpec {
                    priority,
                    preempt,
                    tracker_weight,
                    preempt_delay_permille,
                    start_permille,
                }
            },
        )
}

fn fault_spec(n: usize) -> impl Strategy<Value = FaultSpec> {
    prop_oneof![
        (0u8..=50).prop_map(FaultSpec::Loss),
        (0u16..=100, 0u16..=100).prop_map(|(d, j)| FaultSpec::Delay(d, j)),
        any::<u8>().prop_map(FaultSpec::Partition),
        (0..n, 0..n).prop_map(|(a, b)| FaultSpec::Block(a, b)),
        Just(FaultSpec::Heal),
        (0..n).prop_map(FaultSpec::Crash),
        (0..n).prop_map(FaultSpec::Restart),
        (0..n).prop_map(FaultSpec::Shutdown),
        (0..n, 1u8..=254).prop_map(|(i, p)| FaultSpec::SetPriority(i, p)),
        (0..n, any::<bool>()).prop_map(|(i, up)| FaultSpec::Track(i, up)),
        (0..n, any::<bool>()).prop_map(|(i, up)| FaultSpec::Link(i, up)),
    ]
}

/// A segment with a fault schedule (`max_faults` 0 gives a clean network).
fn spec(max_faults: usize) -> impl Strategy<Value = Spec> {
    (
        2usize..=5,
        any::<bool>(),
        interval(),
        3u64..=20,
        any::<u64>(),
    )
        .prop_flat_map(move |(n, v6, interval_cs, window, seed)| {
            let hosts: Vec<u8> = (0..n as u8).map(|i| 10 + 7 * i).collect();
            (
                Just(hosts).prop_shuffle(),
                prop::collection::vec(router_spec(), n),
                prop::collection::vec((0u64..1000, fault_spec(n)), 0..=max_faults),
            )
                .prop_map(move |(hosts, mut routers, mut faults)| {
                    // At most one address owner (R46).
                    let mut owner_seen = false;
                    for r in &mut routers {
                        if r.priority == 255 {
                            if owner_seen {
                                r.priority = 254;
                            }
                            owner_seen = true;
                        }
                    }
                    faults.sort_by_key(|f| f.0);
                    Spec {
                        v6,
                        interval_cs,
                        hosts,
                        routers,
                        window,
                        faults,
                        seed,
                    }
                })
        })
}

/// The simulator built from a spec, with every startup and fault scheduled, plus figures
/// derived from the schedule.
struct Built {
    sim: Sim,
    ids: Vec<SimId>,
    /// End of the fault window: everything is healed and loss is 0 from here on.
    t_end: Instant,
    /// The largest one-way delay any packet can get.
    max_delay: Duration,
    /// The lowest priority any router ever has (gives the longest Active_Down_Interval).
    min_priority: u8,
    /// The longest preempt_delay configured.
    max_preempt_delay: Duration,
}

fn build(spec: &Spec) -> Built {
    let iv = interval_us(spec.interval_cs);
    let mut sim = Sim::new(spec.seed);
    let mut ids = Vec::new();
    for (k, r) in spec.routers.iter().enumerate() {
        let mut cfg = config(
            &format!("r{k}"),
            spec.v6,
            spec.hosts[k],
            r.priority,
            spec.interval_cs,
        );
        cfg.preempt = r.preempt;
        cfg.preempt_delay = Duration::from_micros(r.preempt_delay_permille * iv / 1000);
        let id = sim.add_router(cfg);
        sim.add_tracker(id, Tracker::binary("chk", r.tracker_weight, false));
        ids.push(id);
    }
    for (k, r) in spec.routers.iter().enumerate() {
        let at = Instant::from_micros(r.start_permille * iv / 1000);
        sim.schedule(at, Fault::Input(ids[k], Input::Startup));
    }
    let t_end = Instant::from_micros(spec.window * iv);
    let mut max_delay = Duration::ZERO;
    // The lowest effective priority possible: lowest base or runtime priority, minus a
    // negative tracker weight (clamped to 1).
    let negative = spec.routers.iter().any(|r| r.tracker_weight < 0);
    let lowest = |p: u8| {
        if negative {
            p.saturating_sub(50).max(1)
        } else {
            p
        }
    };
    let mut min_priority = lowest(spec.routers.iter().map(|r| r.priority).min().unwrap());
    for (permille, f) in &spec.faults {
        let at = Instant::from_micros(permille * spec.window * iv / 1000);
        let fault = match *f {
            FaultSpec::Loss(pct) => Fault::SetLoss(f64::from(pct) / 100.0),
            FaultSpec::Delay(d, j) => {
                let base = Duration::from_micros(u64::from(d) * iv / 1000);
                let jitter = Duration::from_micros(u64::from(j) * iv / 1000);
                max_delay = max_delay.max(base + jitter);
                Fault::SetDelay(base, jitter)
            }
            FaultSpec::Partition(mask) => {
                let (a, b): (Vec<SimId>, Vec<SimId>) =
                    ids.iter().partition(|id| mask & (1 << id.0) != 0);
                Fault::Partition(a, b)
            }
            FaultSpec::Block(a, b) => Fault::Block(vec![ids[a]], vec![ids[b]]),
            FaultSpec::Heal => Fault::Heal,
            FaultSpec::Crash(i) => Fault::Crash(ids[i]),
            FaultSpec::Restart(i) => Fault::Restart(ids[i]),
            FaultSpec::Shutdown(i) => Fault::Shutdown(ids[i]),
            FaultSpec::SetPriority(i, p) => {
                min_priority = min_priority.min(lowest(p));
                Fault::Input(ids[i], Input::SetPriority(p))
            }
            FaultSpec::Track(i, up) => {
                let state = if up { TrackState::Up } else { TrackState::Down };
                Fault::Input(ids[i], Input::Tracker(TrackerId(0), state))
            }
            FaultSpec::Link(i, true) => Fault::Input(ids[i], Input::LinkUp),
            FaultSpec::Link(i, false) => Fault::Input(ids[i], Input::LinkDown),
        };
        sim.schedule(at, fault);
    }
    // The network is stable from t_end: partitions healed, no loss, links up. Delay stays (it
    // is below I/5), crashed routers stay crashed, shut-down routers stay in Initialize, and
    // trackers keep their last state (a weight-0 tracker down keeps its router in Fault).
    sim.schedule(t_end, Fault::Heal);
    sim.schedule(t_end, Fault::SetLoss(0.0));
    for &id in &ids {
        sim.schedule(t_end, Fault::Input(id, Input::LinkUp));
    }
    let max_preempt_delay = spec
        .routers
        .iter()
        .map(|r| Duration::from_micros(r.preempt_delay_permille * iv / 1000))
        .max()
        .unwrap();
    Built {
        sim,
        ids,
        t_end,
        max_delay,
        min_priority,
        max_preempt_delay,
    }
}

/// Routers that take part at the end: alive, started and not in Fault.
fn running(sim: &Sim, ids: &[SimId]) -> Vec<SimId> {
    ids.iter()
        .copied()
        .filter(|&id| {
            sim.is_alive(id) && matches!(sim.router(id).state(), State::Backup | State::Active)
        })
        .collect()
}

fn preempts(sim: &Sim, id: SimId) -> bool {
    let cfg = sim.router(id).config();
    cfg.preempt || cfg.priority == 255
}

/// Checks "exactly one Active, the right one" over `[settle, now]` and that nothing changes
/// state in `(settle, now]`.
fn check_stable(sim: &Sim, ids: &[SimId], settle: Instant) -> Result<(), TestCaseError> {
    let late: Vec<_> = sim
        .history()
        .changes_after(settle + Duration::from_micros(1))
        .collect();
    prop_assert!(
        late.is_empty(),
        "state changes after settling at {settle}: {late:?}"
    );
    let live = running(sim, ids);
    let actives = sim.actives();
    if live.is_empty() {
        prop_assert!(actives.is_empty());
        return Ok(());
    }
    prop_assert_eq!(actives.len(), 1, "actives {:?} among {:?}", actives, live);
    prop_assert_eq!(sim.history().active_count_at(settle), 1);
    let active = actives[0];
    let top = live
        .iter()
        .map(|&id| sim.router(id).effective_priority())
        .max()
        .unwrap();
    let tops: Vec<SimId> = live
        .iter()
        .copied()
        .filter(|&id| sim.router(id).effective_priority() == top)
        .collect();
    // With Preempt_Mode on (or the owner) a top-priority Backup discards lower adverts and its
    // down timer preempts; with it off, a lower Active legitimately keeps the role.
    if tops.iter().any(|&id| preempts(sim, id)) {
        prop_assert_eq!(
            sim.router(active).effective_priority(),
            top,
            "Active {} is not of the highest priority; tops {:?}",
            active,
            tops
        );
        // A unique top router must be the one. With ties, RFC 9568 only breaks the tie by
        // address when two Actives meet (R22): a tied Backup accepts the Active's adverts
        // (R15, priority >= ours) and never takes over, so the earlier starter keeps it.
        if tops.len() == 1 {
            prop_assert_eq!(active, tops[0]);
        }
    }
    Ok(())
}

/// Time for a network that is stable from `t_end` to settle: every Backup that is going to
/// preempt does so within one Active_Down_Interval (its timer was armed at the latest by an
/// advert still in flight at `t_end`), and its first advert needs one more delay to demote the
/// others. The longest Active_Down_Interval belongs to the lowest priority. A router with a
/// preempt_delay accepts lower adverts, and so re-arms its timer, for that long from the first
/// lower advert it hears: that advert comes at the latest from an Active that appears one
/// Active_Down_Interval (plus a delay) after `t_end`.
fn settle_time(b: &Built, interval_cs: u16) -> Instant {
    let longest_down = down(b.min_priority, interval_cs);
    let delay_start = if b.max_preempt_delay > Duration::ZERO {
        longest_down + b.max_delay
    } else {
        Duration::ZERO
    };
    b.t_end + delay_start + b.max_preempt_delay + b.max_delay + longest_down + b.max_delay
}

/// 256 cases per property (override with `PROPTEST_CASES` for a longer soak).
fn config_proptest() -> ProptestConfig {
    let cases = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(256);
    ProptestConfig {
        cases,
        max_shrink_iters: 2000,
        ..ProptestConfig::default()
    }
}

proptest! {
    #![proptest_config(config_proptest())]

    /// After the faults end and one settling time passes, there is exactly one Active, and
    /// (when a top-priority router preempts) it has the highest effective priority.
    #[test]
    fn stable_network_converges_to_exactly_one_active_of_highest_priority(spec in spec(8)) {
        let mut b = build(&spec);
        let settle = settle_time(&b, spec.interval_cs);
        let end = settle + Duration::from_micros(6 * interval_us(spec.interval_cs));
        b.sim.run_until(end);
        check_causes(&b.sim, spec.interval_cs).map_err(|e| TestCaseError::fail(format!("{e}\n{}", dump(&b.sim))))?;
        check_stable(&b.sim, &b.ids, settle)
            .map_err(|e| TestCaseError::fail(format!("{e}\n{}", dump(&b.sim))))?;
    }

    /// Every state change in a faulty run (loss up to 50 %, delay, jitter, partitions, crashes,
    /// restarts, shutdowns, priority changes) has a cause the trace explains: see
    /// [`check_causes`].
    #[test]
    fn no_state_change_without_a_cause(spec in spec(12), dup in prop::bool::weighted(0.3)) {
        let mut b = build(&spec);
        if dup {
            b.sim.set_duplicate(0.2);
        }
        let end = settle_time(&b, spec.interval_cs) + Duration::from_micros(2 * interval_us(spec.interval_cs));
        b.sim.run_until(end);
        check_causes(&b.sim, spec.interval_cs).map_err(|e| TestCaseError::fail(format!("{e}\n{}", dump(&b.sim))))?;
    }

    /// A crash of the Active (no priority 0) is followed by a new Active between
    /// Active_Down_Interval - Advertisement_Interval and Active_Down_Interval after the crash,
    /// computed for the highest-priority Backup, which is the one that takes over.
    ///
    /// Exact bounds, zero delay and loss: every Backup accepted each advert of the Active
    /// (otherwise the network had not converged), the last one sent at `t_last` in
    /// `[t_crash - I, t_crash]` (the crash runs before a timer due at the same instant), so the
    /// new Active appears at `t_last + Active_Down_Interval`. The only slack is microsecond
    /// rounding: Skew_Time = (256 - p) * I / 256 is not a whole number of microseconds in
    /// general and the router's timer (like any µs clock) rounds it down, so the observed
    /// interval is the exact one minus its fractional part, `((256 - p) * I_us mod 256) / 256`
    /// µs (< 1 µs). That fraction is allowed on the lower bound only; the upper bound is exact.
    #[test]
    fn crash_of_the_active_gives_a_new_active_within_the_down_interval(
        spec in spec(0),
        offset_permille in 0u64..=1000,
    ) {
        let mut b = build(&spec);
        let iv = interval_us(spec.interval_cs);
        let converged = settle_time(&b, spec.interval_cs) + Duration::from_micros(2 * iv);
        b.sim.run_until(converged);
        check_stable(&b.sim, &b.ids, settle_time(&b, spec.interval_cs))?;
        let active = b.sim.actives()[0];
        let t_crash = converged + Duration::from_micros(offset_permille * iv / 1000);
        b.sim.schedule(t_crash, Fault::Crash(active));
        b.sim.run_until(t_crash + down(1, spec.interval_cs) + Duration::from_micros(2 * iv));

        let backups: Vec<SimId> = b.ids.iter().copied().filter(|&id| id != active).collect();
        let p = backups.iter().map(|&id| b.sim.router(id).effective_priority()).max().unwrap();
        let (t_new, new) = b.sim.history().first_active_after(t_crash + Duration::from_micros(1))
            .ok_or_else(|| TestCaseError::fail(format!("no new Active\n{}", dump(&b.sim))))?;
        prop_assert_eq!(b.sim.router(new).effective_priority(), p);
        let elapsed_256 = 256 * (t_new - t_crash).as_micros();
        let upper = down_256(p, spec.interval_cs);
        let rounding = skew_256(p, spec.interval_cs) % 256;
        let lower = upper - 256 * iv - rounding;
        prop_assert!(
            (lower..=upper).contains(&elapsed_256),
            "new Active {} after {} (x256: {} not in {}..={})\n{}",
            new, t_new - t_crash, elapsed_256, lower, upper, dump(&b.sim)
        );
        check_causes(&b.sim, spec.interval_cs).map_err(|e| TestCaseError::fail(format!("{e}\n{}", dump(&b.sim))))?;
        // And the survivors settle on one Active again.
        prop_assert_eq!(b.sim.actives().len(), 1);
    }

    /// A graceful shutdown of the Active (priority 0, R19) hands over within Skew_Time of the
    /// new Active's priority plus the propagation delay (R14), and never sooner than Skew_Time
    /// plus the base delay. Without jitter the new Active is the highest-priority Backup (with
    /// jitter a lower one may hear the priority 0 sooner by more than the skew difference).
    #[test]
    fn priority_zero_handover_within_skew_time(
        spec in spec(0),
        delay_permille in 0u64..=100,
        jitter_permille in 0u64..=100,
        offset_permille in 0u64..=1000,
    ) {
        let mut b = build(&spec);
        let iv = interval_us(spec.interval_cs);
        let base = Duration::from_micros(delay_permille * iv / 1000);
        let jitter = Duration::from_micros(jitter_permille * iv / 1000);
        b.sim.set_delay(base, jitter);
        b.max_delay = base + jitter;
        let converged = settle_time(&b, spec.interval_cs) + Duration::from_micros(2 * iv);
        b.sim.run_until(converged);
        check_stable(&b.sim, &b.ids, settle_time(&b, spec.interval_cs))?;
        let active = b.sim.actives()[0];
        // Shut down while none of the Active's adverts is in flight: jitter reorders, and a
        // periodic advert overtaking the priority-0 one re-arms the full Active_Down_Interval
        // (R15; see the scenario `reordered_advert_after_priority_zero_...`). Its adverts go out
        // every I exactly in a stable network, so pick a time in [next + max delay, next + I].
        let last_sent = b.sim.trace().iter().rev().find_map(|e| match e {
            TraceEvent::AdvertSent { at, router, .. } if *router == active => Some(*at),
            _ => None,
        }).unwrap();
        let next_sent = last_sent + Duration::from_micros(iv);
        prop_assert!(next_sent >= b.sim.now());
        let quiet = iv - b.max_delay.as_micros();
        let t_shut = next_sent + b.max_delay + Duration::from_micros(offset_permille * quiet / 1000);
        b.sim.schedule(t_shut, Fault::Shutdown(active));
        b.sim.run_until(t_shut + down(1, spec.interval_cs) + Duration::from_micros(4 * iv));

        let (t_new, new) = b.sim.history().first_active_after(t_shut + Duration::from_micros(1))
            .ok_or_else(|| TestCaseError::fail(format!("no new Active\n{}", dump(&b.sim))))?;
        let p_new = b.sim.router(new).effective_priority();
        let elapsed = t_new - t_shut;
        let s = skew(p_new, spec.interval_cs);
        prop_assert!(
            elapsed >= s + base && elapsed <= s + base + jitter,
            "new Active {} (priority {}) after {}, Skew_Time {}, delay {}+{}\n{}",
            new, p_new, elapsed, s, base, jitter, dump(&b.sim)
        );
        if jitter == Duration::ZERO {
            let p_max = b.ids.iter().filter(|&&id| id != active)
                .map(|&id| b.sim.router(id).effective_priority()).max().unwrap();
            prop_assert_eq!(p_new, p_max);
        }
        check_causes(&b.sim, spec.interval_cs).map_err(|e| TestCaseError::fail(format!("{e}\n{}", dump(&b.sim))))?;
        prop_assert_eq!(b.sim.actives().len(), 1);
    }

    /// Calling handle_timeout spuriously (at random times, at deadlines right after they were
    /// served, several times in a row) never changes behaviour: the same seed with and without
    /// the extra calls gives the same trace, event for event.
    #[test]
    fn spurious_handle_timeout_never_changes_behaviour(spec in spec(10), gap_permille in 20u64..=500) {
        let mut plain = build(&spec);
        let mut noisy = build(&spec);
        let iv = interval_us(spec.interval_cs);
        noisy.sim.set_spurious_timeouts(Some(Duration::from_micros((gap_permille * iv / 1000).max(1))));
        let end = settle_time(&plain, spec.interval_cs) + Duration::from_micros(2 * iv);
        plain.sim.run_until(end);
        noisy.sim.run_until(end);
        prop_assert!(noisy.sim.spurious_calls() > 0 || running(&noisy.sim, &noisy.ids).is_empty());
        prop_assert_eq!(plain.sim.trace().len(), noisy.sim.trace().len());
        for (k, (a, b)) in plain.sim.trace().iter().zip(noisy.sim.trace()).enumerate() {
            prop_assert_eq!(a, b, "traces differ at event #{}", k);
        }
    }
}
