//! Changing a running driver (see the driver's module documentation, "Reconfiguration"):
//! [`super::Handle::reconfigure`], [`super::Handle::add_instance`],
//! [`super::Handle::remove_instance`] and [`super::Handle::set_sync_groups`].

use vrrp_core::{Input, RouterId, TrackState, Tracker};

use std::collections::HashMap;

use super::instance::{
    homes, route_devs, tracked_interfaces, vip_spec_of, vip_specs, with_primary,
};
use super::plane::DataPlane;
use super::{Driver, InstanceSpec};
use crate::error::{Error, Result};
use crate::netlink::InterfaceInfo;

impl<D: DataPlane> Driver<D> {
    /// Looks up every interface `spec` names; its own must exist.
    async fn interfaces_of(
        &mut self,
        spec: &InstanceSpec,
    ) -> Result<(InterfaceInfo, HashMap<String, InterfaceInfo>)> {
        let mut names: Vec<&str> = spec.interface_names().collect();
        names.sort_unstable();
        names.dedup();
        let infos = self.plane.interfaces(&names).await?;
        let info = infos
            .get(&spec.interface)
            .cloned()
            .ok_or_else(|| Error::InterfaceNotFound(spec.interface.clone()))?;
        Ok((info, infos))
    }

    /// [`super::Handle::reconfigure`].
    pub(super) async fn reconfigure(&mut self, i: usize, spec: InstanceSpec) -> Result<()> {
        self.claims_dirty = true;
        let id = RouterId(i);
        let context = || format!("instance {} on {}", spec.router.name, spec.interface);
        self.check_fixed(id, &spec)?;
        let (info, infos) = self.interfaces_of(&spec).await?;
        let homes = homes(&spec, &infos)?;
        let routes = route_devs(&spec, &infos)?;
        let mut cfg = with_primary(spec.router.clone(), &info)?;
        cfg.state_routes = !spec.routes.is_empty() || !spec.rules.is_empty();
        cfg.validate().map_err(|e| Error::Invalid {
            context: context(),
            message: e.to_string(),
        })?;
        let new_vips = vip_specs(&spec);
        let place = self.place(id).expect("checked live");
        for old in &place.vips {
            let addr = &old.addr;
            let changed = vip_spec_of(&new_vips, *addr).is_some_and(|new| new != old);
            if changed && self.vips.owns(place.vip_ifindex, *addr) {
                tracing::warn!(parent: &place.span, %addr,
                    "VIP options changed: applied when the address is next added");
            }
        }
        let now = self.now();
        let filtered = spec.needs_accept_filter();
        let place = self.places[i].as_mut().expect("checked live");
        place.vips = new_vips;
        place.filtered = filtered;
        place.tracked_interfaces = tracked_interfaces(&spec);
        place.homes = homes;
        place.track_link = spec.track_link;
        place.track_source = spec.track_source;
        place.unicast_ttl = spec.unicast_ttl;
        self.accept.filtering |= filtered;
        self.accept.dirty = self.accept.filtering;
        self.node
            .reconfigure(now, id, cfg)
            .map_err(|e| Error::Invalid {
                context: context(),
                message: e.to_string(),
            })?;
        self.retrack(now, id, &spec.trackers);
        self.seed_link_trackers(now, id, &infos);
        self.execute().await;
        self.reconfigure_routes(id, routes, spec.rules.clone())
            .await;
        Ok(())
    }

    /// Fails if instance `id` is not live, or `spec` changes what a running instance must
    /// keep: interface, VMAC, unicast/multicast, VRID, family.
    fn check_fixed(&self, id: RouterId, spec: &InstanceSpec) -> Result<()> {
        let (Some(place), Some(current)) = (self.place(id), self.node.get(id)) else {
            return Err(gone(id.0));
        };
        let current = current.config();
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
    fn retrack(&mut self, now: vrrp_core::Instant, id: RouterId, new: &[Tracker]) {
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
        self.node.set_trackers(now, id, list);
    }

    /// [`super::Handle::add_instance`].
    pub(super) async fn add_instance(&mut self, spec: InstanceSpec) -> Result<usize> {
        self.claims_dirty = true;
        if spec.needs_accept_filter() {
            self.accept.probe_before_first().await?;
        }
        let now = self.now();
        let (info, infos) = match self.interfaces_of(&spec).await {
            Ok(found) => found,
            Err(e) => return Err(e),
        };
        let id = match self.place_instance(&spec, &info, &infos, now).await {
            Ok(id) => id,
            Err(e) => {
                self.prune_sockets();
                return Err(e);
            }
        };
        self.accept.dirty = self.accept.filtering;
        self.rebuild_rx_index();
        let mut names: Vec<&str> = spec
            .tracked_interfaces
            .iter()
            .map(|(_, n)| n.as_str())
            .collect();
        names.dedup();
        if !names.is_empty() {
            if let Ok(infos) = self.plane.interfaces(&names).await {
                self.seed_link_trackers(now, id, &infos);
            }
        }
        let wall = self.plane.wall_clock();
        self.node.handle(now, id, Input::WallClock(wall));
        self.node.handle(now, id, Input::Startup);
        self.execute().await;
        Ok(id.0)
    }

    /// [`super::Handle::remove_instance`].
    pub(super) async fn remove_instance(&mut self, i: usize) -> Result<()> {
        self.claims_dirty = true;
        let id = RouterId(i);
        if self.place(id).is_none() || !self.node.contains(id) {
            return Err(gone(i));
        }
        let now = self.now();
        self.node.remove_router(now, id);
        self.accept.dirty = self.accept.filtering;
        // The priority-0 advert and the VIP removals need the placement: it goes after.
        self.execute().await;
        let place = self.places[i].take().expect("checked live");
        self.rebuild_rx_index();
        self.delete_vmac(&place).await;
        self.discards.forget(i);
        self.conflict_log.forget(i);
        self.entered.remove(&id);
        self.prune_sockets();
        Ok(())
    }

    /// [`super::Handle::set_sync_groups`].
    pub(super) async fn set_sync_groups(
        &mut self,
        groups: Vec<(String, Vec<usize>)>,
    ) -> Result<()> {
        let mut ids = Vec::with_capacity(groups.len());
        for (name, members) in groups {
            if let Some(&m) = members.iter().find(|&&m| !self.node.contains(RouterId(m))) {
                return Err(Error::Invalid {
                    context: format!("sync group {name}"),
                    message: gone(m).to_string(),
                });
            }
            ids.push((name, members.into_iter().map(RouterId).collect()));
        }
        let now = self.now();
        self.node.set_sync_groups(now, ids);
        self.execute().await;
        Ok(())
    }
}

/// The error for an instance index that is not (or no longer) running.
fn gone(i: usize) -> Error {
    Error::Invalid {
        context: format!("instance {i}"),
        message: "no such instance (never added, or removed)".into(),
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
