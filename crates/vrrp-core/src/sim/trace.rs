//! What the simulator records: the trace of every event and the state history.

use core::net::IpAddr;
use std::sync::Arc;

use super::fault::DropReason;
use super::{HostId, SimId};
use crate::output::{Command, Event, Reason, State};
use crate::packet::{RxError, Version};
use crate::router::Input;
use crate::stats::PolicyError;
use crate::time::Instant;

/// One entry of the [`Sim::trace`].
#[derive(Clone, Debug, PartialEq)]
pub enum TraceEvent {
    /// A router changed state.
    StateChanged {
        /// When.
        at: Instant,
        /// Which router.
        router: SimId,
        /// Previous state.
        from: State,
        /// New state.
        to: State,
        /// Why, as the router said.
        reason: Reason,
        /// The router's effective priority right after the change.
        priority: u8,
    },
    /// A router sent an advert (one entry per advert decided, whatever its destinations).
    AdvertSent {
        /// When.
        at: Instant,
        /// Sender.
        router: SimId,
        /// Advertised priority (0 when leaving).
        priority: u8,
        /// Protocol version.
        version: Version,
    },
    /// The simulator served a router's expired timer (its host's `handle_timeout` at the
    /// router's `poll_timeout` deadline). Spurious calls are not traced.
    Timeout {
        /// When (the deadline).
        at: Instant,
        /// Which router.
        router: SimId,
    },
    /// An advert was parsed and handed to a router.
    Delivered {
        /// When.
        at: Instant,
        /// Sender.
        from: SimId,
        /// Receiver.
        to: SimId,
        /// IP source the receiver saw (the sender's primary address at send time).
        src: IpAddr,
        /// Advertised priority.
        priority: u8,
        /// Advertised interval in centiseconds.
        interval_cs: u16,
        /// The receiver's state before handling it.
        receiver_state: State,
        /// The receiver's effective priority before handling it.
        receiver_priority: u8,
        /// What `handle_advert` returned.
        result: Result<(), PolicyError>,
    },
    /// A packet arrived but did not parse (never expected: the sim sends what routers build).
    RxError {
        /// When.
        at: Instant,
        /// Sender.
        from: SimId,
        /// Receiver.
        to: SimId,
        /// The codec's verdict.
        error: RxError,
    },
    /// A packet was lost or cut off.
    Dropped {
        /// When (send time for loss, send or delivery time for partitions).
        at: Instant,
        /// Sender.
        from: SimId,
        /// Intended receiver.
        to: SimId,
        /// Why.
        reason: DropReason,
    },
    /// A router crashed (with every router of its host).
    Crashed {
        /// When.
        at: Instant,
        /// Which router.
        router: SimId,
    },
    /// A router was recreated (before its `Startup`).
    Restarted {
        /// When.
        at: Instant,
        /// Which router.
        router: SimId,
    },
    /// An input was given to a router.
    Input {
        /// When.
        at: Instant,
        /// Which router.
        router: SimId,
        /// The input.
        input: Input,
    },
    /// A kernel command (address change or announcement).
    Command {
        /// When.
        at: Instant,
        /// Which router.
        router: SimId,
        /// The command.
        command: Command,
    },
    /// Any other event (priority changes, notices).
    Event {
        /// When.
        at: Instant,
        /// Which router.
        router: SimId,
        /// The event.
        event: Event,
    },
    /// A sync group's state changed.
    GroupChanged {
        /// When.
        at: Instant,
        /// The host.
        host: HostId,
        /// The group.
        group: Arc<str>,
        /// Its previous state.
        from: State,
        /// Its new state.
        to: State,
    },
}

impl TraceEvent {
    /// When the event happened.
    pub fn at(&self) -> Instant {
        match self {
            TraceEvent::StateChanged { at, .. }
            | TraceEvent::AdvertSent { at, .. }
            | TraceEvent::Timeout { at, .. }
            | TraceEvent::Delivered { at, .. }
            | TraceEvent::RxError { at, .. }
            | TraceEvent::Dropped { at, .. }
            | TraceEvent::Crashed { at, .. }
            | TraceEvent::Restarted { at, .. }
            | TraceEvent::Input { at, .. }
            | TraceEvent::Command { at, .. }
            | TraceEvent::Event { at, .. }
            | TraceEvent::GroupChanged { at, .. } => *at,
        }
    }

    /// The router the event is about (the receiver for packets); `None` for a group change.
    pub fn router(&self) -> Option<SimId> {
        Some(match self {
            TraceEvent::StateChanged { router, .. }
            | TraceEvent::AdvertSent { router, .. }
            | TraceEvent::Timeout { router, .. }
            | TraceEvent::Crashed { router, .. }
            | TraceEvent::Restarted { router, .. }
            | TraceEvent::Input { router, .. }
            | TraceEvent::Command { router, .. }
            | TraceEvent::Event { router, .. } => *router,
            TraceEvent::Delivered { to, .. }
            | TraceEvent::RxError { to, .. }
            | TraceEvent::Dropped { to, .. } => *to,
            TraceEvent::GroupChanged { .. } => return None,
        })
    }
}

/// One change in a router's simulated state: a protocol state, or `None` once crashed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Change {
    /// When.
    pub at: Instant,
    /// Which router.
    pub router: SimId,
    /// The new state; `None` while the router is crashed.
    pub state: Option<State>,
}

/// The state history of every router, in processing order.
///
/// Several changes can share an instant (with zero delay a router can become Active and be
/// demoted at the same `t`); queries "at `t`" see the state after every change at `t`.
#[derive(Clone, Debug, Default)]
pub struct History {
    changes: Vec<Change>,
    pub(super) routers: usize,
    pub(super) now: Instant,
}

impl History {
    /// Every change, in processing order.
    pub fn changes(&self) -> &[Change] {
        &self.changes
    }

    /// The time the history extends to (the simulator's `now`).
    pub fn now(&self) -> Instant {
        self.now
    }

    /// A router's state at `t` (after every change at `t`); `None` if crashed or not yet added.
    pub fn state_at(&self, id: SimId, t: Instant) -> Option<State> {
        self.changes
            .iter()
            .take_while(|c| c.at <= t)
            .filter(|c| c.router == id)
            .last()
            .and_then(|c| c.state)
    }

    /// The routers that were Active at `t`.
    pub fn actives_at(&self, t: Instant) -> Vec<SimId> {
        (0..self.routers)
            .map(SimId)
            .filter(|&id| self.state_at(id, t) == Some(State::Active))
            .collect()
    }

    /// How many routers were Active at `t`.
    pub fn active_count_at(&self, t: Instant) -> usize {
        self.actives_at(t).len()
    }

    /// The first time at or after `t0` when router `id` became Active.
    pub fn became_active_after(&self, id: SimId, t0: Instant) -> Option<Instant> {
        self.changes
            .iter()
            .find(|c| c.router == id && c.at >= t0 && c.state == Some(State::Active))
            .map(|c| c.at)
    }

    /// The first time at or after `t0` when any router became Active, and which.
    pub fn first_active_after(&self, t0: Instant) -> Option<(Instant, SimId)> {
        self.changes
            .iter()
            .find(|c| c.at >= t0 && c.state == Some(State::Active))
            .map(|c| (c.at, c.router))
    }

    /// The changes at or after `t0`.
    pub fn changes_after(&self, t0: Instant) -> impl Iterator<Item = &Change> {
        self.changes.iter().filter(move |c| c.at >= t0)
    }

    /// Every interval `[start, end)` during which more than one router was Active. An interval
    /// still open is closed at [`History::now`]. Zero-length intervals (two Actives that settle
    /// within one instant) are included.
    pub fn multi_active_intervals(&self) -> Vec<(Instant, Instant)> {
        let mut state: Vec<Option<State>> = vec![None; self.routers];
        let mut out = Vec::new();
        let mut open: Option<Instant> = None;
        for c in &self.changes {
            state[c.router.0] = c.state;
            let n = state.iter().filter(|s| **s == Some(State::Active)).count();
            match (open, n > 1) {
                (None, true) => open = Some(c.at),
                (Some(start), false) => {
                    out.push((start, c.at));
                    open = None;
                }
                _ => {}
            }
        }
        if let Some(start) = open {
            out.push((start, self.now));
        }
        out
    }

    pub(super) fn push(&mut self, at: Instant, router: SimId, state: Option<State>) {
        self.changes.push(Change { at, router, state });
    }
}
