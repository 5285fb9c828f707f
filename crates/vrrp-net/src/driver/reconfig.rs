//! Changing a running driver (see the driver's module documentation, "Reconfiguration"):
//! [`super::Handle::reconfigure`], [`super::Handle::add_instance`],
//! [`super::Handle::remove_instance`] and [`super::Handle::set_sync_groups`].

use std::collections::HashSet;

use vrrp_core::{RouterId, TrackState, Tracker, TrackerId};

use super::instance::{place_instance, vip_spec_of, vip_specs, with_primary};
use super::{Driver, InstanceSpec};
use crate::error::{Error, Result};

impl Driver {
    /// [`super::Handle::reconfigure`].
    pub(super) async fn reconfigure(&mut self, i: usize, spec: InstanceSpec) -> Result<()> {
        let context = || format!("instance {} on {}", spec.router.name, spec.interface);
        self.check_fixed(i, &spec)?;
        let info = self.netlink.interface_by_name(&spec.interface).await?;
        let cfg = with_primary(spec.router.clone(), &info)?;
        cfg.validate().map_err(|e| Error::Invalid {
            context: context(),
            message: e.to_string(),
        })?;
        let new_vips = vip_specs(&spec);
        let place = &self.places[i];
        for old in &place.vips {
            let addr = &old.addr;
            let changed = vip_spec_of(&new_vips, *addr).is_some_and(|new| new != old);
            if changed && self.vips.owns(place.vip_ifindex, *addr) {
                tracing::warn!(instance = %spec.router.name, %addr,
                    "VIP options changed: applied when the address is next added");
            }
        }
        let now = self.now();
        let place = &mut self.places[i];
        place.vips = new_vips;
        place.filtered = spec.needs_accept_filter();
        self.accept.filtering |= place.filtered;
        self.node
            .reconfigure(now, RouterId(i), cfg)
            .map_err(|e| Error::Invalid {
                context: context(),
                message: e.to_string(),
            })?;
        self.retrack(now, i, &spec.trackers);
        self.execute().await;
        if self.accept.filtering {
            // Accept_Mode may have changed without any VIP or state action.
            self.sync_filter(false).await;
        }
        Ok(())
    }

    /// Fails if instance `i` does not exist, was removed, or `spec` changes what a running
    /// instance must keep: interface, VMAC, unicast/multicast, VRID, family.
    fn check_fixed(&self, i: usize, spec: &InstanceSpec) -> Result<()> {
        let place = self.live(i)?;
        let current = self.node.router(RouterId(i)).config();
        let unicast = !spec.router.unicast_peers.is_empty();
        let fixed = [
            (spec.interface != place.spec_interface, "the interface"),
            (spec.vmac != place.vmac_spec, "the VMAC settings"),
            (unicast != place.unicast, "unicast or multicast"),
            (spec.router.vrid != current.vrid, "the VRID"),
            (spec.router.family != current.family, "the family"),
        ];
        match fixed.iter().find(|(changed, _)| *changed) {
            Some((_, what)) => Err(Error::Invalid {
                context: format!("instance {} on {}", spec.router.name, spec.interface),
                message: format!("{what} cannot change on a running instance; remove and add it"),
            }),
            None => Ok(()),
        }
    }

    /// Brings an instance's trackers in line with `new`, in one step: each new tracker starts
    /// from the state of an identical current tracker, else of a current one with the same
    /// name and kind, else Unknown; the priority is recomputed once.
    fn retrack(&mut self, now: vrrp_core::Instant, i: usize, new: &[Tracker]) {
        let id = RouterId(i);
        let current: Vec<(Tracker, TrackState)> = self
            .node
            .router(id)
            .trackers()
            .map(|(t, s)| (t.clone(), s))
            .collect();
        let list: Vec<(Tracker, TrackState)> = new
            .iter()
            .map(|t| (t.clone(), inherited_state(&current, t)))
            .collect();
        self.places[i].trackers = (0..list.len()).map(|k| TrackerId(k as u16)).collect();
        self.node.set_trackers(now, id, list);
    }

    /// [`super::Handle::add_instance`].
    pub(super) async fn add_instance(&mut self, spec: InstanceSpec) -> Result<usize> {
        if spec.needs_accept_filter() {
            self.accept.probe_before_first().await?;
        }
        let now = self.now();
        let placed = match self.netlink.interface_by_name(&spec.interface).await {
            Ok(info) => place_instance(&spec, &info, &self.netlink, &mut self.sockets, now).await,
            Err(e) => Err(e),
        };
        let placed = match placed {
            Ok(p) => p,
            Err(e) => {
                self.prune_sockets();
                return Err(e);
            }
        };
        self.cleanup.adopt(placed.vmac, placed.sysctls);
        self.accept.filtering |= placed.place.filtered;
        let id = self.node.add_router(placed.router);
        self.places.push(placed.place);
        self.rebuild_rx_index();
        self.node.handle(now, id, vrrp_core::Input::Startup);
        self.execute().await;
        Ok(id.0)
    }

    /// [`super::Handle::remove_instance`].
    pub(super) async fn remove_instance(&mut self, i: usize) -> Result<()> {
        self.live(i)?;
        let now = self.now();
        let id = RouterId(i);
        self.node.handle(now, id, vrrp_core::Input::Shutdown);
        self.execute().await;
        self.leave_sync_groups(now, id).await;
        self.places[i].removed = true;
        self.rebuild_rx_index();
        self.delete_vmac(i).await;
        self.discards.forget(i);
        self.prune_sockets();
        Ok(())
    }

    /// Takes router `id` out of its sync group, if it is in one.
    async fn leave_sync_groups(&mut self, now: vrrp_core::Instant, id: RouterId) {
        let groups = self.node.sync_groups();
        if !groups.iter().any(|g| g.members.contains(&id)) {
            return;
        }
        let without: Vec<(String, Vec<RouterId>)> = groups
            .iter()
            .map(|g| {
                let members = g.members.iter().copied().filter(|&m| m != id).collect();
                (g.name.to_string(), members)
            })
            .collect();
        self.node.set_sync_groups(now, without);
        self.execute().await;
    }

    /// [`super::Handle::set_sync_groups`].
    pub(super) async fn set_sync_groups(
        &mut self,
        groups: Vec<(String, Vec<usize>)>,
    ) -> Result<()> {
        let mut ids = Vec::with_capacity(groups.len());
        for (name, members) in groups {
            for &m in &members {
                self.live(m).map_err(|e| Error::Invalid {
                    context: format!("sync group {name}"),
                    message: e.to_string(),
                })?;
            }
            ids.push((name, members.into_iter().map(RouterId).collect()));
        }
        let now = self.now();
        self.node.set_sync_groups(now, ids);
        self.execute().await;
        Ok(())
    }

    /// Closes the sockets (and stops the readers) no live instance uses any more.
    fn prune_sockets(&mut self) {
        let used: HashSet<(u32, vrrp_core::Family)> = self
            .node
            .routers()
            .filter(|(id, _)| !self.places[id.0].removed)
            .flat_map(|(id, r)| self.places[id.0].socket_keys(r.config().family))
            .collect();
        self.sockets.retain(&used);
    }
}

/// The state a new tracker `t` starts from: that of an identical current tracker, else of a
/// current one with the same name and kind, else Unknown.
fn inherited_state(current: &[(Tracker, TrackState)], t: &Tracker) -> TrackState {
    let known = |(c, s): &&(Tracker, TrackState)| *s != TrackState::Unknown && *c == *t;
    let same_name = |(c, s): &&(Tracker, TrackState)| {
        *s != TrackState::Unknown && c.name == t.name && c.kind == t.kind
    };
    (current.iter().find(known))
        .or_else(|| current.iter().find(same_name))
        .map_or(TrackState::Unknown, |(_, s)| *s)
}
