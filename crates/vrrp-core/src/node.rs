//! [`Node`]: every virtual router of one host, driven together, with keepalived's sync groups
//! (`vrrp_sync_group`).
//!
//! Members of a sync group change state together:
//! - when a member becomes Active, every Backup member becomes Active;
//! - when an Active member falls back to Backup, every Active member becomes Backup;
//! - while any member has a Fault of its own (link, weight-0 tracker), every other member is
//!   held in Fault too, and all leave Fault when the last such condition clears.
//!
//! Each forced change carries [`Reason::SyncGroup`] naming the group and the member it follows.
//! The group's own state ([`Node::sync_group_state`], changes from [`Node::poll_group_event`])
//! is Fault while any member is in Fault, otherwise the state all members share; while the
//! members disagree (a group starting up) it keeps its previous state.

use std::collections::VecDeque;
use std::sync::Arc;

use crate::config::{ConfigError, RouterConfig};
use crate::deadlines::Deadlines;
use crate::output::{Command, Event, State, Transmit};
use crate::output::{KINDS, KIND_ADDRESSES as ADDRESSES, KIND_ANNOUNCES as ANNOUNCES};
use crate::output::{KIND_EVENTS as EVENTS, KIND_TRANSMITS as TRANSMITS};
use crate::packet::{Advert, RxError};
use crate::router::{Input, Router, SyncCommand};
use crate::stats::PolicyError;
use crate::time::Instant;
use crate::track::{TrackState, Tracker, TrackerId};

/// Identity of a router in a [`Node`]; never reused, also after [`Node::remove_router`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RouterId(pub usize);

/// A named group of routers that change state together.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SyncGroup {
    /// Group name.
    pub name: Arc<str>,
    /// Its members.
    pub members: Vec<RouterId>,
    /// The group's state (see the module documentation).
    pub state: State,
}

/// A sync group's state changed (drained with [`Node::poll_group_event`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GroupEvent {
    /// The group.
    pub group: Arc<str>,
    /// Its previous state.
    pub from: State,
    /// Its new state.
    pub to: State,
}

/// A router's place in the node.
#[derive(Clone, Debug, Default)]
struct Slot {
    /// `None` once a removed router's outputs are drained.
    router: Option<Router>,
    /// Removed: takes no more input; kept until its outputs are drained.
    removed: bool,
    /// Its sync group.
    group: Option<usize>,
    /// Bit `k` set while the router is in output queue `k`.
    queued: u8,
}

/// Every virtual router of one host, with their sync groups.
///
/// Events cost O(log n) in the number of routers, not O(n): the node files each router's
/// next deadline in a heap and queues the routers that hold outputs, every time it hands a
/// router an input. [`Node::poll_timeout`] reads the earliest deadline, the `poll_*` methods
/// drain the queued routers in the order they were touched ([`crate::output`] gives the order
/// of the kinds), and [`Node::handle_timeout`] serves only the routers whose deadline has passed.
#[derive(Clone, Debug, Default)]
pub struct Node {
    slots: Vec<Slot>,
    groups: Vec<SyncGroup>,
    /// Each router's next deadline, earliest first.
    deadlines: Deadlines,
    /// For each output kind, the routers that may hold outputs of it, in the order touched.
    pending: [VecDeque<usize>; KINDS],
    /// Group state changes not yet drained.
    group_events: VecDeque<GroupEvent>,
    /// Removed routers whose slots are freed once their outputs are drained.
    removing: Vec<usize>,
    /// Reused list of the routers due in one [`Node::handle_timeout`].
    due: Vec<usize>,
    /// Number of routers not removed.
    live: usize,
}

impl Node {
    /// An empty node.
    pub fn new() -> Self {
        Node::default()
    }

    /// Adds a router and returns its id.
    pub fn add_router(&mut self, router: Router) -> RouterId {
        self.reap();
        self.slots.push(Slot {
            router: Some(router),
            ..Slot::default()
        });
        self.live += 1;
        let i = self.slots.len() - 1;
        self.deadlines.grow_to(i + 1);
        self.due.reserve(self.live.saturating_sub(self.due.len()));
        self.touch(i);
        RouterId(i)
    }

    /// Removes a router for good: it shuts down (an Active sends priority 0 and releases its
    /// addresses: drain the outputs as after any input), leaves its sync group and takes no
    /// more input. Its id is never reused. Returns false if it was not in the node.
    pub fn remove_router(&mut self, now: Instant, id: RouterId) -> bool {
        if !self.contains(id) {
            return false;
        }
        self.with_router(now, id.0, |r| r.handle(now, Input::Shutdown));
        if let Some(g) = self.slots[id.0].group {
            self.groups[g].members.retain(|&m| m != id);
            self.slots[id.0].group = None;
            self.sync_faults(now, g);
            self.update_group_state(g);
        }
        self.slots[id.0].removed = true;
        self.deadlines.set(id.0, None);
        self.removing.push(id.0);
        self.live -= 1;
        true
    }

    /// Frees the slots of removed routers whose outputs are drained.
    fn reap(&mut self) {
        let slots = &mut self.slots;
        self.removing.retain(|&i| {
            let slot = &mut slots[i];
            let drained = slot.queued == 0 && slot.router.as_ref().is_none_or(Router::is_drained);
            if drained {
                slot.router = None;
            }
            !drained
        });
    }

    /// True when `id` is a router of this node (not removed).
    pub fn contains(&self, id: RouterId) -> bool {
        self.slots
            .get(id.0)
            .is_some_and(|s| !s.removed && s.router.is_some())
    }

    /// The router with this id: a live one, or a removed one whose outputs are not yet
    /// drained.
    pub fn get(&self, id: RouterId) -> Option<&Router> {
        self.slots.get(id.0).and_then(|s| s.router.as_ref())
    }

    /// The router with this id. Panics if there is none (see [`Node::get`]).
    pub fn router(&self, id: RouterId) -> &Router {
        self.get(id).expect("no router with this id")
    }

    /// The live routers, in id order.
    pub fn routers(&self) -> impl Iterator<Item = (RouterId, &Router)> {
        self.slots.iter().enumerate().filter_map(|(i, s)| match s {
            Slot {
                router: Some(r),
                removed: false,
                ..
            } => Some((RouterId(i), r)),
            _ => None,
        })
    }

    /// Number of live routers.
    pub fn len(&self) -> usize {
        self.live
    }

    /// True when there is no live router.
    pub fn is_empty(&self) -> bool {
        self.live == 0
    }

    /// Records that router `i` was handed an input: files its deadline and queues it for the
    /// output kinds it now holds. Every mutable access to a router goes through here.
    fn touch(&mut self, i: usize) {
        let slot = &mut self.slots[i];
        let Some(router) = slot.router.as_ref() else {
            return;
        };
        if !slot.removed {
            self.deadlines.set(i, router.poll_timeout());
        }
        let held = router.output_kinds();
        for (k, queue) in self.pending.iter_mut().enumerate() {
            let bit = 1 << k;
            if held & bit != 0 && slot.queued & bit == 0 {
                slot.queued |= bit;
                queue.push_back(i);
            }
        }
    }

    /// Hands live router `i` an input through `f`, then applies its sync group's rules.
    /// `None` if the router is not live.
    fn with_router<T>(
        &mut self,
        now: Instant,
        i: usize,
        f: impl FnOnce(&mut Router) -> T,
    ) -> Option<T> {
        if !self.contains(RouterId(i)) {
            return None;
        }
        let router = self.slots[i].router.as_mut()?;
        let before = router.state();
        let result = f(router);
        self.touch(i);
        self.after_event(now, i, before);
        Some(result)
    }

    /// Declares a sync group. A router belongs to at most one group; a later group wins.
    pub fn add_sync_group(&mut self, name: &str, members: Vec<RouterId>) {
        self.insert_group(name, members, State::Initialize);
    }

    /// Adds a group in `state`, then brings the state in line with its members.
    fn insert_group(&mut self, name: &str, members: Vec<RouterId>, state: State) {
        let g = self.groups.len();
        let members: Vec<RouterId> = members.into_iter().filter(|m| self.contains(*m)).collect();
        for m in &members {
            if let Some(old) = self.slots[m.0].group.replace(g) {
                self.groups[old].members.retain(|x| x != m);
            }
        }
        self.groups.push(SyncGroup {
            name: Arc::from(name),
            members,
            state,
        });
        self.update_group_state(g);
    }

    /// Replaces every sync group (configuration reload), keeping the routers and their
    /// states. Members that leave their group are released from a Fault the old group held
    /// them in; the new groups' Fault rule is applied at once. A state change forced by a
    /// group is not replayed: the members change together from their next change on. A group
    /// keeps its state when its name is kept.
    pub fn set_sync_groups(&mut self, now: Instant, groups: Vec<(String, Vec<RouterId>)>) {
        self.reap();
        let old_groups = core::mem::take(&mut self.groups);
        let old_of: Vec<Option<usize>> = self.slots.iter_mut().map(|s| s.group.take()).collect();
        for (name, members) in groups {
            let kept = old_groups.iter().find(|o| *o.name == *name);
            let state = kept.map_or(State::Initialize, |o| o.state);
            self.insert_group(&name, members, state);
        }
        for (i, old) in old_of.into_iter().enumerate() {
            if old.is_some() && self.slots[i].group.is_none() && self.contains(RouterId(i)) {
                let cmd = SyncCommand::Fault {
                    group: Arc::from(""),
                    member: None,
                };
                if let Some(r) = self.slots[i].router.as_mut() {
                    r.handle(now, Input::Sync(cmd));
                }
                self.touch(i);
            }
        }
        for g in 0..self.groups.len() {
            self.sync_faults(now, g);
            self.update_group_state(g);
        }
    }

    /// The sync groups, in declaration order.
    pub fn sync_groups(&self) -> &[SyncGroup] {
        &self.groups
    }

    /// The state of sync group `index` (see the module documentation).
    pub fn sync_group_state(&self, index: usize) -> Option<State> {
        self.groups.get(index).map(|g| g.state)
    }

    /// Applies a new configuration to one router with [`Router::reconfigure`] (state, timers
    /// and trackers kept; virtual addresses diffed), then its sync group's rules. A removed
    /// router is left alone.
    pub fn reconfigure(
        &mut self,
        now: Instant,
        id: RouterId,
        cfg: RouterConfig,
    ) -> Result<(), ConfigError> {
        self.reap();
        self.with_router(now, id.0, |r| r.reconfigure(now, cfg))
            .unwrap_or(Ok(()))
    }

    /// Feeds an input to one router, then applies its sync group's rules. Ignored for a
    /// removed router.
    pub fn handle(&mut self, now: Instant, id: RouterId, input: Input) {
        self.reap();
        self.with_router(now, id.0, |r| r.handle(now, input));
    }

    /// Feeds the same input to every live router (startup, shutdown).
    pub fn handle_all(&mut self, now: Instant, input: Input) {
        self.reap();
        for i in 0..self.slots.len() {
            self.with_router(now, i, |r| r.handle(now, input.clone()));
        }
    }

    /// Feeds an advert to the first live router with its VRID and family. Returns `None` if
    /// no router matches (R29: the caller counts it against the interface). A driver that
    /// knows the receiving interface selects the router itself ([`Node::handle_advert_for`]).
    pub fn handle_advert(
        &mut self,
        now: Instant,
        adv: &Advert<'_>,
    ) -> Option<Result<(), PolicyError>> {
        let id = self.routers().find_map(|(id, r)| {
            let c = r.config();
            (c.vrid == adv.vrid && c.family == adv.family()).then_some(id)
        })?;
        Some(self.handle_advert_for(now, id, adv))
    }

    /// Feeds an advert to a router the caller already selected (by interface, family and
    /// VRID). A removed router discards it as not running.
    pub fn handle_advert_for(
        &mut self,
        now: Instant,
        id: RouterId,
        adv: &Advert<'_>,
    ) -> Result<(), PolicyError> {
        self.reap();
        self.with_router(now, id.0, |r| r.handle_advert(now, adv))
            .unwrap_or(Err(PolicyError::NotRunning))
    }

    /// Counts a codec error against a router the caller attributed it to.
    pub fn handle_rx_error_for(&mut self, id: RouterId, err: &RxError) {
        if let Some(r) = self.slots.get_mut(id.0).and_then(|s| s.router.as_mut()) {
            r.handle_rx_error(err);
        }
    }

    /// Resets the counters of every router ([`Router::clear_stats`]).
    pub fn clear_stats(&mut self) {
        for r in self.slots.iter_mut().filter_map(|s| s.router.as_mut()) {
            r.clear_stats();
        }
    }

    /// Registers a tracked object on one live router.
    pub fn add_tracker(&mut self, id: RouterId, tracker: Tracker) -> Option<TrackerId> {
        if !self.contains(id) {
            return None;
        }
        let tracker = self.slots[id.0].router.as_mut()?.add_tracker(tracker);
        self.touch(id.0);
        Some(tracker)
    }

    /// Replaces a router's tracked objects (see [`Router::set_trackers`]).
    pub fn set_trackers(
        &mut self,
        now: Instant,
        id: RouterId,
        trackers: Vec<(Tracker, TrackState)>,
    ) {
        self.reap();
        self.with_router(now, id.0, |r| r.set_trackers(now, trackers));
    }

    /// Serves the expired timers of every router whose deadline is not after `now`. Harmless
    /// when called early, late or twice.
    pub fn handle_timeout(&mut self, now: Instant) {
        self.reap();
        let mut due = core::mem::take(&mut self.due);
        while let Some(i) = self.deadlines.pop_due(now) {
            due.push(i);
        }
        for &i in &due {
            self.with_router(now, i, |r| r.handle_timeout(now));
        }
        due.clear();
        self.due = due;
    }

    /// The earliest deadline of any router.
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.deadlines.peek().map(|(t, _)| t)
    }

    /// The next advert of any router, written into `buf` (see [`Router::poll_transmit`]).
    pub fn poll_transmit(&mut self, buf: &mut Vec<u8>) -> Option<(RouterId, Transmit)> {
        self.next_output(TRANSMITS, |r| r.poll_transmit(buf))
    }

    /// The next kernel command of any router: every address change of every queued router
    /// first, then the announcements ([`crate::output`]).
    pub fn poll_command(&mut self) -> Option<(RouterId, Command)> {
        self.next_output(ADDRESSES, Router::poll_address_change)
            .or_else(|| self.next_output(ANNOUNCES, Router::poll_announce))
    }

    /// The next event of any router.
    pub fn poll_event(&mut self) -> Option<(RouterId, Event)> {
        self.next_output(EVENTS, Router::poll_event)
    }

    /// The next sync group state change. Drain after [`Node::poll_event`].
    pub fn poll_group_event(&mut self) -> Option<GroupEvent> {
        self.group_events.pop_front()
    }

    /// The next output of `kind` from the routers queued for it, in the order touched.
    fn next_output<T>(
        &mut self,
        kind: usize,
        mut poll: impl FnMut(&mut Router) -> Option<T>,
    ) -> Option<(RouterId, T)> {
        while let Some(&i) = self.pending[kind].front() {
            let slot = &mut self.slots[i];
            if let Some(out) = slot.router.as_mut().and_then(&mut poll) {
                return Some((RouterId(i), out));
            }
            self.pending[kind].pop_front();
            slot.queued &= !(1 << kind);
        }
        None
    }

    fn member_state(&self, id: RouterId) -> Option<State> {
        self.slots[id.0].router.as_ref().map(Router::state)
    }

    fn after_event(&mut self, now: Instant, i: usize, before: State) {
        let Some(g) = self.slots[i].group else {
            return;
        };
        self.sync_faults(now, g);
        let after = self.member_state(RouterId(i)).unwrap_or(before);
        if after != before {
            let group = self.groups[g].name.clone();
            let member = self.router(RouterId(i)).config().name.clone();
            let cmd = match (before, after) {
                (_, State::Active) => Some(SyncCommand::BecomeActive { group, member }),
                (State::Active, State::Backup) => Some(SyncCommand::BecomeBackup { group, member }),
                _ => None,
            };
            if let Some(cmd) = cmd {
                for m in self.groups[g].members.clone() {
                    if m.0 != i {
                        self.command_member(now, m, cmd.clone());
                    }
                }
            }
        }
        self.update_group_state(g);
    }

    /// Sends a sync command to one member (no group rules applied in turn).
    fn command_member(&mut self, now: Instant, m: RouterId, cmd: SyncCommand) {
        if let Some(r) = self.slots[m.0].router.as_mut() {
            r.handle(now, Input::Sync(cmd));
            self.touch(m.0);
        }
    }

    /// Holds every member in Fault while another member has a Fault of its own.
    fn sync_faults(&mut self, now: Instant, g: usize) {
        let group = self.groups[g].name.clone();
        let members = self.groups[g].members.clone();
        for &m in &members {
            let faulty = members
                .iter()
                .find(|&&o| o != m && self.router(o).has_own_fault())
                .map(|o| self.router(*o).config().name.clone());
            let cmd = SyncCommand::Fault {
                group: group.clone(),
                member: faulty,
            };
            self.command_member(now, m, cmd);
        }
    }

    /// Recomputes group `g`'s state and queues a [`GroupEvent`] if it changed.
    fn update_group_state(&mut self, g: usize) {
        let states: Vec<State> = (self.groups[g].members.iter())
            .filter_map(|&m| self.member_state(m))
            .collect();
        let from = self.groups[g].state;
        let to = group_state(&states, from);
        if to != from {
            self.groups[g].state = to;
            self.group_events.push_back(GroupEvent {
                group: self.groups[g].name.clone(),
                from,
                to,
            });
        }
    }
}

/// A sync group's state from its members' states and its previous state: Fault while any
/// member is in Fault, else the state every member shares, else (members disagree) unchanged.
fn group_state(members: &[State], previous: State) -> State {
    if members.contains(&State::Fault) {
        return State::Fault;
    }
    match members.split_first() {
        Some((first, rest)) if rest.iter().all(|s| s == first) => *first,
        _ => previous,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn group_state_is_fault_if_any_member_is_else_the_shared_state_else_unchanged() {
        use State::*;
        assert_eq!(group_state(&[Active, Fault], Active), Fault);
        assert_eq!(group_state(&[Active, Active], Backup), Active);
        assert_eq!(group_state(&[Active, Backup], Backup), Backup);
        assert_eq!(group_state(&[Active, Backup], Active), Active);
        assert_eq!(group_state(&[], Initialize), Initialize);
    }
}
