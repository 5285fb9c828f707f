//! Sync groups (keepalived's `vrrp_sync_group`) and [`Node`], a set of routers driven together.
//!
//! Members of a sync group change state together:
//! - when a member becomes Active, every Backup member becomes Active;
//! - when an Active member falls back to Backup, every Active member becomes Backup;
//! - while any member has a Fault of its own (link, weight-0 tracker), every other member is
//!   held in Fault too, and all leave Fault when the last such condition clears.
//!
//! Each forced change carries [`Reason::SyncGroup`] naming the group and the member it follows.

use std::sync::Arc;

use crate::action::{Action, Reason, State};
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
#[derive(Clone, Debug, Default)]
pub struct Node {
    routers: Vec<Router>,
    groups: Vec<SyncGroup>,
    /// For each router, its group index.
    group_of: Vec<Option<usize>>,
    /// Round-robin cursor for [`Node::poll_action`].
    cursor: usize,
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
        RouterId(self.routers.len() - 1)
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
        let before = self.routers[id.0].state();
        self.routers[id.0].reconfigure(now, cfg)?;
        self.after_event(now, id, before);
        Ok(())
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
        let before = self.routers[id.0].state();
        self.routers[id.0].handle(now, input);
        self.after_event(now, id, before);
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
        let before = self.routers[i].state();
        let result = self.routers[i].handle_advert(now, adv);
        self.after_event(now, RouterId(i), before);
        Some(result)
    }

    /// Feeds an advert to a router the caller already selected (by interface, family and VRID).
    pub fn handle_advert_for(
        &mut self,
        now: Instant,
        id: RouterId,
        adv: &Advert<'_>,
    ) -> Result<(), PolicyError> {
        let before = self.routers[id.0].state();
        let result = self.routers[id.0].handle_advert(now, adv);
        self.after_event(now, id, before);
        result
    }

    /// Counts a codec error against a router the caller attributed it to.
    pub fn handle_rx_error_for(&mut self, id: RouterId, err: &crate::packet::RxError) {
        self.routers[id.0].handle_rx_error(err);
    }

    /// Registers a tracked object on one router.
    pub fn add_tracker(
        &mut self,
        id: RouterId,
        tracker: crate::track::Tracker,
    ) -> crate::track::TrackerId {
        self.routers[id.0].add_tracker(tracker)
    }

    /// Replaces a router's tracked objects (see [`Router::set_trackers`]).
    pub fn set_trackers(
        &mut self,
        now: Instant,
        id: RouterId,
        trackers: Vec<(crate::track::Tracker, crate::track::TrackState)>,
    ) {
        let before = self.routers[id.0].state();
        self.routers[id.0].set_trackers(now, trackers);
        self.after_event(now, id, before);
    }

    /// Serves every router's expired timers.
    pub fn handle_timeout(&mut self, now: Instant) {
        for i in 0..self.routers.len() {
            if self.routers[i].poll_timeout().is_some_and(|t| t <= now) {
                let before = self.routers[i].state();
                self.routers[i].handle_timeout(now);
                self.after_event(now, RouterId(i), before);
            }
        }
    }

    /// The earliest deadline of any router.
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.routers.iter().filter_map(Router::poll_timeout).min()
    }

    /// The next action of any router.
    pub fn poll_action(&mut self) -> Option<(RouterId, Action)> {
        let n = self.routers.len();
        for k in 0..n {
            let i = (self.cursor + k) % n;
            if let Some(a) = self.routers[i].poll_action() {
                self.cursor = i;
                return Some((RouterId(i), a));
            }
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
        }
    }
}

/// The reason carried by a forced change, for tests and logs.
pub fn is_sync_reason(reason: &Reason) -> bool {
    matches!(reason, Reason::SyncGroup { .. })
}
