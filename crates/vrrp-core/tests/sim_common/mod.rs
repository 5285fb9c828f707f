//! Helpers shared by the simulator tests: configurations, the RFC 9568 timer formulas computed
//! independently of the router, and a trace checker that every state change has a cause.
#![allow(dead_code)]

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use vrrp_core::sim::{Sim, SimId, TraceEvent};
use vrrp_core::{Duration, Input, Instant, Reason, RouterConfig, State};

/// The primary address of host `h` on the test segment.
pub fn primary(v6: bool, h: u8) -> IpAddr {
    if v6 {
        IpAddr::V6(Ipv6Addr::new(0xfe80, 0, 0, 0, 0, 0, 0, u16::from(h)))
    } else {
        IpAddr::V4(Ipv4Addr::new(192, 0, 2, h))
    }
}

/// The virtual addresses: 192.0.2.1, or fe80::1 (link-local first, R7) and 2001:db8::1.
pub fn vips(v6: bool) -> Vec<IpAddr> {
    if v6 {
        vec!["fe80::1".parse().unwrap(), "2001:db8::1".parse().unwrap()]
    } else {
        vec!["192.0.2.1".parse().unwrap()]
    }
}

/// A VRID 1 router config.
pub fn config(name: &str, v6: bool, host: u8, priority: u8, interval_cs: u16) -> RouterConfig {
    let mut cfg = RouterConfig::new(name, 1, primary(v6, host), vips(v6));
    cfg.priority = priority;
    cfg.advert_interval_cs = interval_cs;
    cfg
}

/// Advertisement_Interval in microseconds.
pub fn interval_us(interval_cs: u16) -> u64 {
    u64::from(interval_cs) * 10_000
}

/// Skew_Time (R3) in 1/256 microseconds: exact, no rounding.
pub fn skew_256(priority: u8, interval_cs: u16) -> u64 {
    (256 - u64::from(priority)) * interval_us(interval_cs)
}

/// Active_Down_Interval (R3) in 1/256 microseconds: exact, no rounding.
pub fn down_256(priority: u8, interval_cs: u16) -> u64 {
    3 * 256 * interval_us(interval_cs) + skew_256(priority, interval_cs)
}

/// Skew_Time on a microsecond clock: the exact value rounded down (a timer cannot fire at a
/// fraction of a microsecond; the router floors).
pub fn skew(priority: u8, interval_cs: u16) -> Duration {
    Duration::from_micros(skew_256(priority, interval_cs) / 256)
}

/// Active_Down_Interval on a microsecond clock (3 x interval is whole; only the skew is floored).
pub fn down(priority: u8, interval_cs: u16) -> Duration {
    Duration::from_micros(down_256(priority, interval_cs) / 256)
}

/// The trace, one line per event, for failure messages.
pub fn dump(sim: &Sim) -> String {
    let mut out = String::new();
    for e in sim.trace() {
        if matches!(e, TraceEvent::Command { .. } | TraceEvent::Event { .. }) {
            continue;
        }
        out.push_str(&format!("{e:?}\n"));
    }
    out
}

/// What a Backup last heard, which decides the reason its Active_Down_Timer gives.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Heard {
    /// Nothing since entering Backup (the reason then names this router, if any).
    Entered(Option<IpAddr>),
    /// An advert it accepted (R15).
    Accepted(IpAddr),
    /// A priority-0 advert (R14).
    Left(IpAddr),
    /// A lower-priority advert it discarded to preempt (R16).
    Lower(IpAddr, u8),
}

/// How the Active_Down_Timer was last armed.
#[derive(Clone, Copy, Debug)]
struct Armed {
    at: Instant,
    /// Skew_Time only (after priority 0) instead of Active_Down_Interval.
    skew_only: bool,
    /// Our effective priority when armed (the interval uses it).
    priority: u8,
}

#[derive(Clone, Debug, Default)]
struct Track {
    armed: Option<Armed>,
    heard: Option<Heard>,
    preempt_until: Option<Instant>,
}

/// Checks that every state change in the trace has a cause consistent with what the trace shows,
/// and that every advert reaching a running router had the effect RFC 9568 requires:
///
/// - Startup: `Initialize -> Backup` (non-owner, R9) or `-> Active` (owner, R8), only in
///   answer to `Input::Startup`; Shutdown only in answer to `Input::Shutdown`, an Active sending
///   priority 0 first (R19). Fault only on a tracker or link input (an Active sending priority
///   0), and leaving it only on one (`Recovered`: Backup, or Active for the owner).
/// - `Backup -> Active` only when a timer was served, exactly at Active_Down_Interval (or
///   Skew_Time after a priority 0) after the last event that armed the Active_Down_Timer:
///   entering Backup, an accepted advert (R15: priority >= ours, or Preempt_Mode off, or within
///   preempt_delay of the first lower advert), or a priority-0 advert (R14). Adverts discarded for preemption (R16) do not
///   re-arm it. The reason must match the last advert heard: `ActiveSilent` (naming the last
///   accepted sender), `ActiveLeft` (priority 0), `Preempted` (a lower priority, ours higher).
/// - `Active -> Backup` only on an advert with a higher priority, or an equal one from a higher
///   address (R22), with `HigherPriority` naming it; conversely every such advert demotes.
/// - An Active receiving priority 0 (R21) or a losing advert (R23) answers with an advert at once.
/// - A Backup never changes state on an advert.
/// - Every advert a router builds parses again ([`TraceEvent::RxError`] is a failure).
pub fn check_causes(sim: &Sim, interval_cs: u16) -> Result<(), String> {
    let trace = sim.trace();
    let mut tracks: Vec<Track> = vec![Track::default(); sim.len()];
    let mut i = 0;
    while i < trace.len() {
        let cause = &trace[i];
        let Some(r) = cause.router() else {
            i += 1;
            continue;
        };
        let at = cause.at();
        // The effects of a cause are the events the router queued in answer, which the
        // simulator records right after it.
        let mut j = i + 1;
        while j < trace.len() && is_effect_of(&trace[j], r, at) {
            j += 1;
        }
        let effects = &trace[i + 1..j];
        check_one(sim, interval_cs, cause, effects, &mut tracks[r.0])
            .map_err(|e| format!("event #{i} {cause:?}: {e}"))?;
        // Update the per-router bookkeeping with the state changes among the effects.
        for e in effects {
            if let TraceEvent::StateChanged {
                at,
                to: State::Backup,
                reason,
                priority,
                ..
            } = e
            {
                let t = &mut tracks[r.0];
                t.armed = Some(Armed {
                    at: *at,
                    skew_only: false,
                    priority: *priority,
                });
                t.heard = Some(Heard::Entered(match reason {
                    Reason::HigherPriority { from, .. } => Some(*from),
                    _ => None,
                }));
                t.preempt_until = None;
            } else if let TraceEvent::StateChanged { .. } = e {
                tracks[r.0] = Track::default();
            }
        }
        i = j;
    }
    Ok(())
}

fn is_effect_of(e: &TraceEvent, r: SimId, at: Instant) -> bool {
    match e {
        TraceEvent::AdvertSent { .. }
        | TraceEvent::StateChanged { .. }
        | TraceEvent::Command { .. }
        | TraceEvent::Event { .. } => e.router() == Some(r) && e.at() == at,
        TraceEvent::Dropped { from, .. } => *from == r && e.at() == at,
        _ => false,
    }
}

fn state_changes(effects: &[TraceEvent]) -> Vec<(State, State, Reason)> {
    effects
        .iter()
        .filter_map(|e| match e {
            TraceEvent::StateChanged {
                from, to, reason, ..
            } => Some((*from, *to, reason.clone())),
            _ => None,
        })
        .collect()
}

fn adverts(effects: &[TraceEvent]) -> Vec<u8> {
    effects
        .iter()
        .filter_map(|e| match e {
            TraceEvent::AdvertSent { priority, .. } => Some(*priority),
            _ => None,
        })
        .collect()
}

fn check_one(
    sim: &Sim,
    interval_cs: u16,
    cause: &TraceEvent,
    effects: &[TraceEvent],
    track: &mut Track,
) -> Result<(), String> {
    let changes = state_changes(effects);
    match cause {
        TraceEvent::Input { router, input, .. } => {
            let owner = sim.config(*router).priority == 255;
            for (from, to, reason) in &changes {
                let fault_reason =
                    matches!(reason, Reason::TrackerFault { .. } | Reason::InterfaceDown);
                let fault_input =
                    matches!(input, Input::Tracker(..) | Input::LinkDown | Input::LinkUp);
                let ok = match (input, from, to, reason) {
                    (Input::Startup, State::Initialize, State::Backup, Reason::Startup) => !owner,
                    (Input::Startup, State::Initialize, State::Active, Reason::Startup) => owner,
                    (Input::Startup, State::Initialize, State::Fault, _) => fault_reason,
                    // An Active entering Fault leaves with priority 0 (like R19).
                    (_, State::Active, State::Fault, _) => {
                        fault_input && fault_reason && adverts(effects) == vec![0]
                    }
                    (_, State::Backup, State::Fault, _) => {
                        fault_input && fault_reason && adverts(effects).is_empty()
                    }
                    (_, State::Fault, State::Backup, Reason::Recovered { .. }) => {
                        fault_input && !owner
                    }
                    (_, State::Fault, State::Active, Reason::Recovered { .. }) => {
                        fault_input && owner
                    }
                    (Input::Shutdown, State::Active, State::Initialize, Reason::Shutdown) => {
                        adverts(effects) == vec![0]
                    }
                    (Input::Shutdown, _, State::Initialize, Reason::Shutdown) => {
                        adverts(effects).is_empty()
                    }
                    _ => false,
                };
                if !ok {
                    return Err(format!(
                        "{from} -> {to} ({reason}) is not explained by {input:?}"
                    ));
                }
            }
            Ok(())
        }
        TraceEvent::Timeout { at, router } => {
            for (from, to, reason) in &changes {
                if (*from, *to) != (State::Backup, State::Active) {
                    return Err(format!("a timer cannot cause {from} -> {to}"));
                }
                let armed = track.armed.ok_or("Backup without an armed down timer")?;
                let deadline = armed.at
                    + if armed.skew_only {
                        skew(armed.priority, interval_cs)
                    } else {
                        down(armed.priority, interval_cs)
                    };
                if *at != deadline {
                    return Err(format!(
                        "took over at {at}, but the down timer armed at {} (priority {}, \
                         skew only {}) expires at {deadline}",
                        armed.at, armed.priority, armed.skew_only
                    ));
                }
                let now_priority = sim_priority_after(effects);
                let expected = match track.heard.ok_or("Backup with nothing heard")? {
                    Heard::Entered(last_active) => Reason::ActiveSilent { last_active },
                    Heard::Accepted(a) => Reason::ActiveSilent {
                        last_active: Some(a),
                    },
                    Heard::Left(from) => Reason::ActiveLeft { from },
                    Heard::Lower(from, their_priority) => Reason::Preempted {
                        from,
                        their_priority,
                        our_priority: now_priority,
                    },
                };
                if *reason != expected {
                    return Err(format!(
                        "reason {reason:?}, but the trace implies {expected:?} for {router}"
                    ));
                }
            }
            Ok(())
        }
        TraceEvent::Delivered {
            at,
            to,
            src,
            priority,
            receiver_state,
            receiver_priority,
            result,
            ..
        } => {
            let cfg = sim.config(*to);
            let running = matches!(receiver_state, State::Backup | State::Active);
            if result.is_ok() != running {
                return Err(format!(
                    "handle_advert returned {result:?} in {receiver_state}"
                ));
            }
            match receiver_state {
                State::Backup => {
                    if !changes.is_empty() {
                        return Err("a Backup changed state on an advert".into());
                    }
                    let preempts = cfg.preempt || cfg.priority == 255;
                    // keepalived's preempt_delay: counted from the first lower advert, reset
                    // by an equal or higher one (priority 0 leaves it alone).
                    let lower = *priority > 0 && preempts && *priority < *receiver_priority;
                    if *priority > 0 && !lower {
                        track.preempt_until = None;
                    } else if lower
                        && cfg.preempt_delay > Duration::ZERO
                        && track.preempt_until.is_none()
                    {
                        track.preempt_until = Some(*at + cfg.preempt_delay);
                    }
                    let delaying = track.preempt_until.is_some_and(|t| *at < t);
                    if *priority == 0 {
                        track.armed = Some(Armed {
                            at: *at,
                            skew_only: true,
                            priority: *receiver_priority,
                        });
                        track.heard = Some(Heard::Left(*src));
                    } else if !preempts || *priority >= *receiver_priority || delaying {
                        track.armed = Some(Armed {
                            at: *at,
                            skew_only: false,
                            priority: *receiver_priority,
                        });
                        track.heard = Some(Heard::Accepted(*src));
                    } else {
                        track.heard = Some(Heard::Lower(*src, *priority));
                    }
                    Ok(())
                }
                State::Active => {
                    let ours = *receiver_priority;
                    let ours_addr = sim.router(*to).config().primary_addr;
                    let loses = *priority > ours || (*priority == ours && *src > ours_addr);
                    if *priority > 0 && loses {
                        let expected = Reason::HigherPriority {
                            from: *src,
                            their_priority: *priority,
                            our_priority: ours,
                        };
                        if changes != vec![(State::Active, State::Backup, expected.clone())] {
                            return Err(format!(
                                "expected one change to Backup for {expected:?}, got {changes:?}"
                            ));
                        }
                    } else {
                        if !changes.is_empty() {
                            return Err(format!("an Active that wins changed state: {changes:?}"));
                        }
                        if !cfg.lower_prio_no_advert && adverts(effects) != vec![ours] {
                            return Err(format!(
                                "an Active hearing priority {priority} must answer at once \
                                 (R21/R23), sent {:?}",
                                adverts(effects)
                            ));
                        }
                    }
                    Ok(())
                }
                _ => Ok(()),
            }
        }
        TraceEvent::RxError { error, .. } => Err(format!(
            "an advert built by a router failed to parse ({error}): codec asymmetry"
        )),
        _ => {
            if changes.is_empty() {
                Ok(())
            } else {
                Err(format!("state change without a cause: {changes:?}"))
            }
        }
    }
}

/// The effective priority recorded with the (last) state change among the effects.
fn sim_priority_after(effects: &[TraceEvent]) -> u8 {
    effects
        .iter()
        .rev()
        .find_map(|e| match e {
            TraceEvent::StateChanged { priority, .. } => Some(*priority),
            _ => None,
        })
        .unwrap_or(0)
}
