//! Tracked objects and effective priority, with keepalived's exact arithmetic.
//!
//! Each tracked object (script, interface, file, process, ...) has a weight and a `reverse` flag.
//! Its state moves the router's effective priority:
//!
//! | weight | object OK | object failed |
//! |---|---|---|
//! | `w > 0` | `+w` (`reverse`: `-w`) | 0 |
//! | `w < 0` | 0 | `-|w|` (`reverse`: `+|w|`) |
//! | `0` | nothing | Fault (`reverse`: OK means Fault) |
//!
//! A value tracker (keepalived's `track_file`) contributes `value * weight` (negated by
//! `reverse`): at or below -254 it means Fault, otherwise it adds at most 253; with weight 0 any
//! non-zero value means Fault. The sum is added to the base priority and clamped to 1..254; the
//! owner's 255 never changes.

use std::sync::Arc;

use crate::config::OWNER_PRIORITY;

/// Index of a tracked object in its router.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct TrackerId(pub u16);

/// How a tracked object reports.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub enum TrackKind {
    /// OK or failed (scripts, interfaces, processes).
    Binary,
    /// An integer value (keepalived's `track_file`).
    Value,
}

/// The last reported state of a tracked object.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub enum TrackState {
    /// Not yet reported: contributes nothing and causes no Fault.
    Unknown,
    /// The object is OK.
    Up,
    /// The object failed.
    Down,
    /// A value (for [`TrackKind::Value`]).
    Value(i64),
}

/// A tracked object as configured on a router.
#[derive(Clone, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct Tracker {
    /// Name shown in reasons (e.g. the `vrrp_script` name, or `interface eth1`).
    pub name: Arc<str>,
    /// Weight, -254..254 (keepalived clamps scripts to ±253); values outside are clamped.
    pub weight: i32,
    /// keepalived's `reverse`.
    pub reverse: bool,
    /// Binary or value.
    pub kind: TrackKind,
}

impl Tracker {
    /// A binary tracker.
    pub fn binary(name: &str, weight: i32, reverse: bool) -> Self {
        Tracker {
            name: Arc::from(name),
            weight,
            reverse,
            kind: TrackKind::Binary,
        }
    }

    /// A value tracker (keepalived's `track_file`).
    pub fn value(name: &str, weight: i32, reverse: bool) -> Self {
        Tracker {
            name: Arc::from(name),
            weight,
            reverse,
            kind: TrackKind::Value,
        }
    }

    /// What this tracker does to the priority in `state`.
    pub fn effect(&self, state: TrackState) -> Effect {
        match (self.kind, state) {
            (_, TrackState::Unknown) => Effect::Adjust(0),
            (TrackKind::Binary, TrackState::Up) => self.binary_effect(true),
            (TrackKind::Binary, TrackState::Down) => self.binary_effect(false),
            (TrackKind::Binary, TrackState::Value(v)) => self.binary_effect(v == 0),
            (TrackKind::Value, TrackState::Value(v)) => self.value_effect(v),
            (TrackKind::Value, TrackState::Up) => self.value_effect(0),
            (TrackKind::Value, TrackState::Down) => self.value_effect(1),
        }
    }

    fn binary_effect(&self, ok: bool) -> Effect {
        let w = self.weight.clamp(-254, 254);
        let sign = if self.reverse { -1 } else { 1 };
        match w.cmp(&0) {
            core::cmp::Ordering::Equal if ok != self.reverse => Effect::Adjust(0),
            core::cmp::Ordering::Equal => Effect::Fault,
            core::cmp::Ordering::Greater if ok => Effect::Adjust(sign * w),
            core::cmp::Ordering::Less if !ok => Effect::Adjust(sign * w),
            _ => Effect::Adjust(0),
        }
    }

    fn value_effect(&self, value: i64) -> Effect {
        if self.weight == 0 {
            return if value != 0 {
                Effect::Fault
            } else {
                Effect::Adjust(0)
            };
        }
        let sign = if self.reverse { -1 } else { 1 };
        let x = value
            .saturating_mul(i64::from(self.weight.clamp(-254, 254)))
            .saturating_mul(sign);
        if x <= -254 {
            Effect::Fault
        } else {
            Effect::Adjust(x.min(253) as i32)
        }
    }
}

/// The effect of one tracker.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub enum Effect {
    /// Add this to the priority.
    Adjust(i32),
    /// The router must be in Fault.
    Fault,
}

/// The result of combining a base priority with every tracker.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Effective {
    /// The effective priority (1..254, or 255 for the owner).
    pub priority: u8,
    /// The first tracker demanding Fault, if any.
    pub fault: Option<TrackerId>,
}

/// Combines `base` with each tracker's state (keepalived's arithmetic, see the module docs).
pub fn effective_priority<'a>(
    base: u8,
    trackers: impl IntoIterator<Item = (&'a Tracker, TrackState)>,
) -> Effective {
    let mut sum: i64 = 0;
    let mut fault = None;
    for (i, (tracker, state)) in trackers.into_iter().enumerate() {
        match tracker.effect(state) {
            Effect::Adjust(d) => sum += i64::from(d),
            Effect::Fault => {
                fault.get_or_insert(TrackerId(i as u16));
            }
        }
    }
    let priority = if base == OWNER_PRIORITY {
        OWNER_PRIORITY
    } else {
        (i64::from(base) + sum).clamp(1, 254) as u8
    };
    Effective { priority, fault }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn eff(base: u8, t: &[(Tracker, TrackState)]) -> Effective {
        effective_priority(base, t.iter().map(|(t, s)| (t, *s)))
    }

    #[test]
    fn positive_weight_adds_while_up_and_reverse_subtracts() {
        let t = Tracker::binary("chk", 20, false);
        assert_eq!(eff(40, &[(t.clone(), TrackState::Up)]).priority, 60);
        assert_eq!(eff(40, &[(t, TrackState::Down)]).priority, 40);
        let r = Tracker::binary("chk", 20, true);
        assert_eq!(eff(40, &[(r.clone(), TrackState::Up)]).priority, 20);
        assert_eq!(eff(40, &[(r, TrackState::Down)]).priority, 40);
    }

    #[test]
    fn negative_weight_subtracts_while_down_and_reverse_adds() {
        let t = Tracker::binary("chk", -30, false);
        assert_eq!(eff(100, &[(t.clone(), TrackState::Up)]).priority, 100);
        assert_eq!(eff(100, &[(t, TrackState::Down)]).priority, 70);
        let r = Tracker::binary("chk", -30, true);
        assert_eq!(eff(100, &[(r, TrackState::Down)]).priority, 130);
    }

    #[test]
    fn weight_zero_faults_when_down_or_up_with_reverse() {
        let t = Tracker::binary("chk", 0, false);
        assert_eq!(
            eff(100, &[(t.clone(), TrackState::Down)]).fault,
            Some(TrackerId(0))
        );
        assert_eq!(eff(100, &[(t, TrackState::Up)]).fault, None);
        let r = Tracker::binary("chk", 0, true);
        assert_eq!(eff(100, &[(r, TrackState::Up)]).fault, Some(TrackerId(0)));
    }

    #[test]
    fn result_is_clamped_and_owner_is_fixed() {
        let up = Tracker::binary("a", 200, false);
        let down = Tracker::binary("b", -200, false);
        assert_eq!(eff(100, &[(up.clone(), TrackState::Up)]).priority, 254);
        assert_eq!(eff(100, &[(down.clone(), TrackState::Down)]).priority, 1);
        assert_eq!(eff(255, &[(down, TrackState::Down)]).priority, 255);
        assert_eq!(eff(255, &[(up, TrackState::Up)]).priority, 255);
    }

    #[test]
    fn value_tracker_follows_track_file_rules() {
        let f = Tracker::value("file", 10, false);
        assert_eq!(eff(100, &[(f.clone(), TrackState::Value(3))]).priority, 130);
        assert_eq!(eff(100, &[(f.clone(), TrackState::Value(-3))]).priority, 70);
        assert_eq!(
            eff(100, &[(f.clone(), TrackState::Value(-26))]).fault,
            Some(TrackerId(0))
        );
        assert_eq!(eff(100, &[(f, TrackState::Value(100))]).priority, 254);
        let z = Tracker::value("file", 0, false);
        assert_eq!(
            eff(100, &[(z.clone(), TrackState::Value(1))]).fault,
            Some(TrackerId(0))
        );
        assert_eq!(eff(100, &[(z, TrackState::Value(0))]).fault, None);
        let r = Tracker::value("file", 10, true);
        assert_eq!(eff(100, &[(r, TrackState::Value(2))]).priority, 80);
    }

    #[test]
    fn openshift_priority_arithmetic_stays_below_bootstrap() {
        // Base 40 with weights 20/5/3 all up gives 68 < the bootstrap's 70.
        let ts = [
            (Tracker::binary("chk_ocp_lb", 20, false), TrackState::Up),
            (Tracker::binary("chk_ocp_both", 5, false), TrackState::Up),
            (Tracker::binary("chk_mcs", 3, false), TrackState::Up),
        ];
        assert_eq!(eff(40, &ts).priority, 68);
        let mut lb_down = ts.clone();
        lb_down[0].1 = TrackState::Down;
        assert_eq!(eff(40, &lb_down).priority, 48);
    }

    #[test]
    fn unknown_state_contributes_nothing() {
        let t = Tracker::binary("chk", 0, false);
        assert_eq!(
            eff(100, &[(t, TrackState::Unknown)]),
            Effective {
                priority: 100,
                fault: None
            }
        );
    }
}
