//! Sync groups (keepalived's `vrrp_sync_group`) and [`Node`], a set of routers driven together.
//!
//! Members of a sync group change state together:
//! - when a member becomes Active, every Backup member becomes Active;
//! - when an Active member falls back to Backup, every Active member becomes Backup;
//! - while any member has a Fault of its own (link, weight-0 tracker), every other member is
//!   held in Fault too, and all leave Fault when the last such condition clears.
//!
//! Each forced change carries [`Reason::SyncGroup`] naming the group and the member it follows.

use std::collections::VecDeque;
use std::sync::Arc;

use crate::action::{Action, Reason, State};
use crate::deadlines::Deadlines;
use crate::packet::Advert;
use crate::router::{Input, Router, SyncCommand};
use crate::stats::PolicyError;
use crate::time::Instant;

/// Index of a router in a [`Node`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RouterId(pub usize);

/// A named group of routers that change state together.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SyncGroup {
    /// Group name.
    pub name: Arc<str>,
    /// Its members.
    pub members: Vec<RouterId>,
}

/// Every virtual router of one host, with their sync groups.
///
/// Events cost O(log n) in the number of routers, not O(n): the node files each router's
/// next deadline in a heap and queues the routers that may hold actions, every time it hands
/// a router an input. [`Node::poll_timeout`] reads the earliest deadline, [`Node::poll_action`]
/// drains the queued routers in the order they were touched, and [`Node::handle_timeout`]
/// serves only the routers whose deadline has passed.
#[derive(Clone, Debug, Default)]
pub struct Node {
    routers: Vec<Router>,
    groups: Vec<SyncGroup>,
    /// For each router, its group index.
    group_of: Vec<Option<usize>>,
    /// Each router's next deadline, earliest first.
    deadlines: Deadlines,
    /// Routers that may hold actions, in the order they were touched.
    pending: VecDeque<usize>,
    /// For each router, whether it is in `pending`.
    queued: Vec<bool>,
    /// Reused list of the routers due in one [`Node::handle_timeout`].
    due: Vec<usize>,
}

impl Node {
    /// An empty node.
    pub fn new() -> Self {
        Node::default()
    }

    /// Adds a router and returns its id.
    pub fn add_router(&mut self, router: Router) -> RouterId {
        self.routers.push(router);
        self.group_of.push(None);
        self.queued.push(false);
        let n = self.routers.len();
        self.deadlines.grow_to(n);
        self.pending.reserve(n - self.pending.len().min(n));
        self.due.reserve(n - self.due.len().min(n));
        self.touch(n - 1);
        RouterId(n - 1)
    }

    /// Records that router `i` was handed an input: files its deadline and queues it for
    /// [`Node::poll_action`]. Every mutable access to a router goes through here.
    fn touch(&mut self, i: usize) {
        self.deadlines.set(i, self.routers[i].poll_timeout());
        if !self.queued[i] {
            self.queued[i] = true;
            self.pending.push_back(i);
        }
    }

    /// Hands router `i` an input through `f`, then applies its sync group's rules.
    fn with_router<T>(&mut self, now: Instant, i: usize, f: impl FnOnce(&mut Router) -> T) -> T {
        let before = self.routers[i].state();
        let result = f(&mut self.routers[i]);
        self.touch(i);
        self.after_event(now, RouterId(i), before);
        result
    }

    /// Declares a sync group. A router belongs to at most one group; a later group wins.
    pub fn add_sync_group(&mut self, name: &str, members: Vec<RouterId>) {
        let idx = self.groups.len();
        for m in &members {
            if let Some(slot) = self.group_of.get_mut(m.0) {
                *slot = Some(idx);
            }
        }
        self.groups.push(SyncGroup {
            name: Arc::from(name),
            members,
        });
    }

    /// Replaces every sync group (configuration reload), keeping the routers and their
    /// states. Members that leave their group are released from a Fault the old group held
    /// them in; the new groups' Fault rule is applied at once. A state change forced by a
    /// group is not replayed: the members change together from their next change on.
    pub fn set_sync_groups(&mut self, now: Instant, groups: Vec<(String, Vec<RouterId>)>) {
        let old_of = core::mem::replace(&mut self.group_of, vec![None; self.routers.len()]);
        self.groups.clear();
        for (name, members) in groups {
            let members = members
                .into_iter()
                .filter(|m| m.0 < self.routers.len())
                .collect();
            self.add_sync_group(&name, members);
        }
        for (i, old) in old_of.into_iter().enumerate() {
            if old.is_some() && self.group_of[i].is_none() {
                let cmd = SyncCommand::Fault {
                    group: Arc::from(""),
                    member: None,
                };
                self.routers[i].handle(now, Input::Sync(cmd));
                self.touch(i);
            }
        }
        for g in 0..self.groups.len() {
            self.sync_faults(now, g);
        }
    }

    /// The sync groups, in declaration order.
    pub fn sync_groups(&self) -> &[SyncGroup] {
        &self.groups
    }

    /// Applies a new configuration to one router with [`Router::reconfigure`] (state, timers
    /// and trackers kept; virtual addresses diffed), then its sync group's rules.
    pub fn reconfigure(
        &mut self,
        now: Instant,
        id: RouterId,
        cfg: crate::config::RouterConfig,
    ) -> Result<(), crate::config::ConfigError> {
        self.with_router(now, id.0, |r| r.reconfigure(now, cfg))
    }

    /// The router with this id.
    pub fn router(&self, id: RouterId) -> &Router {
        &self.routers[id.0]
    }

    /// All routers, in id order.
    pub fn routers(&self) -> impl Iterator<Item = (RouterId, &Router)> {
        self.routers
            .iter()
            .enumerate()
            .map(|(i, r)| (RouterId(i), r))
    }

    /// Number of routers.
    pub fn len(&self) -> usize {
        self.routers.len()
    }

    /// True when there is no router.
    pub fn is_empty(&self) -> bool {
        self.routers.is_empty()
    }

    /// Feeds an input to one router, then applies its sync group's rules.
    pub fn handle(&mut self, now: Instant, id: RouterId, input: Input) {
        self.with_router(now, id.0, |r| r.handle(now, input));
    }

    /// Feeds the same input to every router (startup, shutdown).
    pub fn handle_all(&mut self, now: Instant, input: Input) {
        for i in 0..self.routers.len() {
            self.handle(now, RouterId(i), input.clone());
        }
    }

    /// Feeds an advert to the router with its VRID and family. Returns `None` if no router
    /// matches (R29: the caller counts it against the interface).
    pub fn handle_advert(
        &mut self,
        now: Instant,
        adv: &Advert<'_>,
    ) -> Option<Result<(), PolicyError>> {
        let i = self
            .routers
            .iter()
            .position(|r| r.config().vrid == adv.vrid && r.config().family == adv.family())?;
        Some(self.with_router(now, i, |r| r.handle_advert(now, adv)))
    }

    /// Feeds an advert to a router the caller already selected (by interface, family and VRID).
    pub fn handle_advert_for(
        &mut self,
        now: Instant,
        id: RouterId,
        adv: &Advert<'_>,
    ) -> Result<(), PolicyError> {
        self.with_router(now, id.0, |r| r.handle_advert(now, adv))
    }

    /// Counts a codec error against a router the caller attributed it to.
    pub fn handle_rx_error_for(&mut self, id: RouterId, err: &crate::packet::RxError) {
        self.routers[id.0].handle_rx_error(err);
        self.touch(id.0);
    }

    /// Registers a tracked object on one router.
    pub fn add_tracker(
        &mut self,
        id: RouterId,
        tracker: crate::track::Tracker,
    ) -> crate::track::TrackerId {
        let tracker = self.routers[id.0].add_tracker(tracker);
        self.touch(id.0);
        tracker
    }

    /// Replaces a router's tracked objects (see [`Router::set_trackers`]).
    pub fn set_trackers(
        &mut self,
        now: Instant,
        id: RouterId,
        trackers: Vec<(crate::track::Tracker, crate::track::TrackState)>,
    ) {
        self.with_router(now, id.0, |r| r.set_trackers(now, trackers));
    }

    /// Serves the expired timers of every router whose deadline is not after `now`. Harmless
    /// when called early, late or twice.
    pub fn handle_timeout(&mut self, now: Instant) {
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

    /// The next action of any router: the actions of the router touched first, in order,
    /// then those of the next.
    pub fn poll_action(&mut self) -> Option<(RouterId, Action)> {
        while let Some(&i) = self.pending.front() {
            if let Some(a) = self.routers[i].poll_action() {
                return Some((RouterId(i), a));
            }
            self.pending.pop_front();
            self.queued[i] = false;
        }
        None
    }

    fn after_event(&mut self, now: Instant, id: RouterId, before: State) {
        let Some(g) = self.group_of[id.0] else {
            return;
        };
        self.sync_faults(now, g);
        let after = self.routers[id.0].state();
        if after == before {
            return;
        }
        let group = self.groups[g].name.clone();
        let member = self.routers[id.0].config().name.clone();
        let cmd = match (before, after) {
            (_, State::Active) => SyncCommand::BecomeActive { group, member },
            (State::Active, State::Backup) => SyncCommand::BecomeBackup { group, member },
            _ => return,
        };
        for m in self.groups[g].members.clone() {
            if m != id {
                self.routers[m.0].handle(now, Input::Sync(cmd.clone()));
                self.touch(m.0);
            }
        }
    }

    /// Holds every member in Fault while another member has a Fault of its own.
    fn sync_faults(&mut self, now: Instant, g: usize) {
        let group = self.groups[g].name.clone();
        let members = self.groups[g].members.clone();
        for &m in &members {
            let faulty = members
                .iter()
                .find(|&&o| o != m && self.routers[o.0].has_own_fault())
                .map(|o| self.routers[o.0].config().name.clone());
            let cmd = SyncCommand::Fault {
                group: group.clone(),
                member: faulty,
            };
            self.routers[m.0].handle(now, Input::Sync(cmd));
            self.touch(m.0);
        }
    }
}

/// The reason carried by a forced change, for tests and logs.
pub fn is_sync_reason(reason: &Reason) -> bool {
    matches!(reason, Reason::SyncGroup { .. })
}
