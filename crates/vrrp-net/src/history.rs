//! The recent history of a set of virtual routers: state transitions and priority changes with
//! their wall-clock time and reason, for status APIs ("why did the VIP move?").
//!
//! [`History`] is fed the driver's [`Event`]s by whoever subscribes to them (the daemon's event
//! loop) and keeps the last [`History::capacity`] entries; older ones are dropped first.

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::SystemTime;

use vrrp_core::{Cause, Reason, State};

use crate::driver::Event;

/// What changed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Change {
    /// A router changed state.
    State {
        /// The state it left.
        from: State,
        /// The state it entered.
        to: State,
        /// Why.
        reason: Reason,
        /// Its effective priority after the change.
        priority: u8,
    },
    /// A router's effective priority changed.
    Priority {
        /// The old effective priority.
        from: u8,
        /// The new one.
        to: u8,
        /// What changed it.
        cause: Cause,
        /// The router's state then.
        state: State,
    },
    /// A sync group changed state.
    Group {
        /// The state it left.
        from: State,
        /// The state it entered.
        to: State,
    },
    /// Maintenance switched on or off ([`vrrp_core::Input::Maintenance`]).
    Maintenance {
        /// On or off.
        on: bool,
    },
}

/// One entry of the history.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Entry {
    /// When it was recorded.
    pub at: SystemTime,
    /// The instance (or, for [`Change::Group`], the sync group) it is about.
    pub name: Arc<str>,
    /// What changed.
    pub change: Change,
}

/// The last entries, oldest first.
#[derive(Clone, Debug)]
pub struct History {
    entries: VecDeque<Entry>,
    capacity: usize,
}

impl History {
    /// The default number of entries kept.
    pub const DEFAULT_CAPACITY: usize = 512;

    /// An empty history keeping at most `capacity` entries (at least 1).
    pub fn new(capacity: usize) -> History {
        History {
            entries: VecDeque::new(),
            capacity: capacity.max(1),
        }
    }

    /// How many entries are kept at most.
    pub fn capacity(&self) -> usize {
        self.capacity
    }

    /// Records `event` if it is a change this history keeps (state, priority, sync group);
    /// returns whether it did.
    pub fn record(&mut self, at: SystemTime, event: &Event) -> bool {
        let (name, change) = match event {
            Event::StateChanged {
                name,
                from,
                to,
                reason,
                priority,
                ..
            } => (
                name.clone(),
                Change::State {
                    from: *from,
                    to: *to,
                    reason: reason.clone(),
                    priority: *priority,
                },
            ),
            Event::PriorityChanged {
                name,
                from,
                to,
                cause,
                state,
                ..
            } => (
                name.clone(),
                Change::Priority {
                    from: *from,
                    to: *to,
                    cause: cause.clone(),
                    state: *state,
                },
            ),
            Event::GroupStateChanged { group, from, to } => (
                group.clone(),
                Change::Group {
                    from: *from,
                    to: *to,
                },
            ),
            Event::LowerPriorityAdvert { .. } | Event::Notice { .. } => return false,
        };
        self.push(Entry { at, name, change });
        true
    }

    /// Records that maintenance of instance `name` was switched on or off.
    pub fn record_maintenance(&mut self, at: SystemTime, name: &str, on: bool) {
        self.push(Entry {
            at,
            name: Arc::from(name),
            change: Change::Maintenance { on },
        });
    }

    fn push(&mut self, entry: Entry) {
        if self.entries.len() == self.capacity {
            self.entries.pop_front();
        }
        self.entries.push_back(entry);
    }

    /// The newest entry.
    pub fn last(&self) -> Option<&Entry> {
        self.entries.back()
    }

    /// The entries about `name` (every entry with `None`), oldest first.
    pub fn entries<'a>(&'a self, name: Option<&'a str>) -> impl Iterator<Item = &'a Entry> + 'a {
        self.entries
            .iter()
            .filter(move |e| name.is_none_or(|n| &*e.name == n))
    }

    /// Renames the entries of an instance (a reload renamed it and kept its state).
    pub fn rename(&mut self, from: &str, to: &str) {
        let to: Arc<str> = Arc::from(to);
        for e in self.entries.iter_mut().filter(|e| &*e.name == from) {
            e.name = to.clone();
        }
    }
}

impl Default for History {
    fn default() -> Self {
        History::new(History::DEFAULT_CAPACITY)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn state_change(name: &str, to: State) -> Event {
        Event::StateChanged {
            instance: 0,
            name: Arc::from(name),
            from: State::Backup,
            to,
            reason: Reason::Startup,
            priority: 100,
        }
    }

    #[test]
    fn keeps_the_last_entries_oldest_first() {
        let mut h = History::new(2);
        let t = SystemTime::UNIX_EPOCH;
        assert!(h.record(t, &state_change("A", State::Active)));
        assert!(h.record(t, &state_change("B", State::Active)));
        assert!(h.record(t, &state_change("A", State::Backup)));
        let names: Vec<&str> = h.entries(None).map(|e| &*e.name).collect();
        assert_eq!(names, ["B", "A"]);
        let a: Vec<&Change> = h.entries(Some("A")).map(|e| &e.change).collect();
        assert!(matches!(
            a[..],
            [Change::State {
                to: State::Backup,
                ..
            }]
        ));
    }

    #[test]
    fn renames_follow_a_reload() {
        let mut h = History::default();
        h.record(SystemTime::UNIX_EPOCH, &state_change("A", State::Active));
        h.rename("A", "B");
        assert_eq!(h.entries(Some("B")).count(), 1);
        assert_eq!(h.entries(Some("A")).count(), 0);
    }
}
