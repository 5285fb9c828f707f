//! Timers as absolute deadlines in a table (the quinn-proto model).
//!
//! A timer is either unset or holds the [`Instant`] it expires at. Expiry is decided by comparing
//! with `now`, so a late, early or repeated `handle_timeout` does exactly the right thing and no
//! generation counter is needed: a cancelled timer is simply `None`.

use crate::time::Instant;

/// The timers of one virtual router.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Timer {
    /// Active: when to send the next advertisement (Adver_Timer).
    Adver = 0,
    /// Backup: when to take over (Active_Down_Timer).
    ActiveDown = 1,
    /// Active: the next announcement (GARP/NA) round that is due.
    Announce = 2,
}

const COUNT: usize = 3;

/// Absolute deadlines, one slot per [`Timer`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct TimerTable {
    deadlines: [Option<Instant>; COUNT],
}

impl TimerTable {
    /// Arms `timer` to expire at `at` (replacing any earlier deadline).
    pub fn set(&mut self, timer: Timer, at: Instant) {
        self.deadlines[timer as usize] = Some(at);
    }

    /// Cancels `timer`.
    pub fn stop(&mut self, timer: Timer) {
        self.deadlines[timer as usize] = None;
    }

    /// Cancels every timer.
    pub fn stop_all(&mut self) {
        self.deadlines = [None; COUNT];
    }

    /// The deadline of `timer`, if armed.
    pub fn get(&self, timer: Timer) -> Option<Instant> {
        self.deadlines[timer as usize]
    }

    /// True when `timer` is armed and its deadline is not after `now`.
    pub fn is_expired(&self, timer: Timer, now: Instant) -> bool {
        self.get(timer).is_some_and(|t| t <= now)
    }

    /// The earliest armed deadline.
    pub fn next_deadline(&self) -> Option<Instant> {
        self.deadlines.iter().flatten().min().copied()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn next_deadline_is_the_minimum_and_stop_removes() {
        let mut t = TimerTable::default();
        assert_eq!(t.next_deadline(), None);
        t.set(Timer::Adver, Instant::from_micros(50));
        t.set(Timer::ActiveDown, Instant::from_micros(20));
        assert_eq!(t.next_deadline(), Some(Instant::from_micros(20)));
        assert!(!t.is_expired(Timer::ActiveDown, Instant::from_micros(19)));
        assert!(t.is_expired(Timer::ActiveDown, Instant::from_micros(20)));
        t.stop(Timer::ActiveDown);
        assert_eq!(t.next_deadline(), Some(Instant::from_micros(50)));
    }
}
