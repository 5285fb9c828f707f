//! Virtual addresses on the host: adding and removing them for the routers' commands, the set
//! of VIPs this driver installed (the only ones it ever removes), kernel leases and their
//! renewal, VIPs someone else removed, and VIPs an earlier run left behind.

use std::collections::{HashMap, HashSet};
use std::net::IpAddr;
use std::time::Duration as StdDuration;

use vrrp_core::{Input, RouterId, State};

use super::instance::vip_spec_of;
use super::plane::DataPlane;
use super::Driver;
use crate::error::Error;
use crate::netlink::{AddressInfo, VipSpec};

/// A VIP on an interface: (ifindex, address).
type VipKey = (u32, IpAddr);

/// The VIPs a driver installed and the lease they are installed with.
#[derive(Debug)]
pub(super) struct VipBook {
    /// Kernel lifetime of installed VIPs (`None`: permanent).
    pub(super) lease: Option<StdDuration>,
    /// VIPs this driver installed (the only ones it removes), with their prefix length and
    /// point-to-point peer.
    owned: HashMap<VipKey, (u8, Option<IpAddr>)>,
    /// VIPs this driver removed whose netlink removal event has not been seen yet (so that
    /// the event is not taken for someone else's removal).
    expect_removed: HashSet<VipKey>,
}

impl VipBook {
    /// No VIPs installed yet.
    pub(super) fn new(lease: Option<StdDuration>) -> Self {
        VipBook {
            lease,
            owned: HashMap::new(),
            expect_removed: HashSet::new(),
        }
    }

    /// Whether this driver installed `addr` on `ifindex`.
    pub(super) fn owns(&self, ifindex: u32, addr: IpAddr) -> bool {
        self.owned.contains_key(&(ifindex, addr))
    }

    /// How often leases are renewed: a third of the lease (an hour without one, never used),
    /// at least every 100 ms.
    pub(super) fn renew_interval(&self) -> StdDuration {
        let every = self
            .lease
            .map(|l| l / 3)
            .unwrap_or(StdDuration::from_secs(3600));
        every.max(StdDuration::from_millis(100))
    }
}

impl<D: DataPlane> Driver<D> {
    /// The interface router `id`'s VIPs live on, and the options `addr` is installed with,
    /// lease included.
    fn vip_target(&self, id: RouterId, addr: IpAddr) -> Option<(u32, VipSpec)> {
        let place = self.place(id)?;
        let mut spec = vip_spec_of(&place.vips, addr)
            .cloned()
            .unwrap_or_else(|| VipSpec::new(addr, 32));
        if let Some(lease) = self.vips.lease {
            let secs = lease.as_secs().max(1) as u32;
            spec = spec.with_lifetime(secs, secs);
        }
        Some((place.home_of(addr).0, spec))
    }

    /// Adds VIPs of the routers' `AddVip` commands (a run of consecutive ones, pipelined by the
    /// plane), unless someone else installed them.
    pub(super) async fn add_vips(&mut self, adds: &[(RouterId, IpAddr)]) {
        let specs: Vec<(u32, VipSpec)> = (adds.iter())
            .filter_map(|&(id, addr)| self.vip_target(id, addr))
            .collect();
        let results = self.plane.add_addresses(&specs).await;
        for ((ifindex, spec), added) in specs.iter().zip(results) {
            self.record_add(*ifindex, spec, added);
        }
    }

    /// Books the outcome of adding `spec` on `ifindex`.
    fn record_add(&mut self, ifindex: u32, spec: &VipSpec, added: crate::error::Result<()>) {
        let addr = spec.addr;
        match added {
            Ok(()) => {
                (self.vips.owned).insert((ifindex, addr), (spec.prefix_len, spec.peer));
                self.vips.expect_removed.remove(&(ifindex, addr));
            }
            Err(Error::AddressExists { .. }) if self.vips.owns(ifindex, addr) => {}
            Err(Error::AddressExists { .. }) => {
                tracing::warn!(%addr, ifindex, "VIP already present on the interface; left alone");
            }
            Err(e) => tracing::error!(%addr, ifindex, error = %e, "VIP not added"),
        }
    }

    /// A `RemoveVip` command: removes the address if this driver installed it.
    pub(super) async fn remove_vip(&mut self, id: RouterId, addr: IpAddr) {
        let Some(ifindex) = self.place(id).map(|p| p.home_of(addr).0) else {
            return;
        };
        let Some((prefix, peer)) = self.vips.owned.remove(&(ifindex, addr)) else {
            return;
        };
        match self.plane.del_address(ifindex, addr, prefix, peer).await {
            Ok(()) => {
                self.vips.expect_removed.insert((ifindex, addr));
            }
            Err(e) => tracing::warn!(%addr, ifindex, error = %e, "VIP not removed"),
        }
    }

    /// Renews the lease of every owned VIP an Active router holds.
    pub(super) async fn renew_leases(&mut self) {
        let owned: Vec<VipKey> = self.vips.owned.keys().copied().collect();
        for (ifindex, addr) in owned {
            let Some(id) = self.active_holder(ifindex) else {
                continue;
            };
            let Some((_, spec)) = self.vip_target(id, addr) else {
                continue;
            };
            if let Err(e) = self.plane.renew_address(ifindex, &spec).await {
                tracing::warn!(%addr, ifindex, error = %e, "VIP lease not renewed");
            }
        }
    }

    /// The first live Active router whose VIPs live on `ifindex`.
    fn active_holder(&self, ifindex: u32) -> Option<RouterId> {
        self.live_places()
            .find(|(id, p)| {
                p.vip_ifindex == ifindex && self.node.router(*id).state() == State::Active
            })
            .map(|(id, _)| id)
    }

    /// An address removal seen on netlink: ours as expected, or an owned VIP someone else
    /// removed, which the routers on that interface are told about (unless the VIP is
    /// `no_track`: then it stays removed, as in keepalived).
    pub(super) fn on_addr_removed(&mut self, now: vrrp_core::Instant, ifindex: u32, addr: IpAddr) {
        if self.vips.expect_removed.remove(&(ifindex, addr)) {
            return;
        }
        if self.vips.owned.remove(&(ifindex, addr)).is_none() {
            return;
        }
        let hit: Vec<RouterId> = (self.live_places())
            .filter(|(_, p)| p.home_of(addr).0 == ifindex)
            .filter_map(|(id, p)| {
                if vip_spec_of(&p.vips, addr).is_some_and(|s| s.no_track) {
                    // keepalived: a no_track VIP's removal changes nothing (it stays gone).
                    tracing::info!(parent: &p.span, %addr, "no_track VIP removed by someone else, left alone");
                    return None;
                }
                tracing::warn!(parent: &p.span, %addr, "VIP removed by someone else");
                Some(id)
            })
            .collect();
        for id in hit {
            self.node.handle(now, id, Input::VipLost(addr));
        }
    }

    /// Removes VIPs an earlier life of this daemon left behind (marked by the crate's
    /// address-protocol marker) on the instances' interfaces, and says so in the log. One
    /// address dump for all interfaces. Runs before the routers start, so that it never
    /// removes a VIP they add (an owner re-adding a leftover VIP gets a fresh address).
    pub(super) async fn remove_leftovers(&mut self) {
        let ifindexes: HashSet<u32> = self
            .live_places()
            .flat_map(|(_, p)| {
                let homes = p.homes.iter().map(|h| h.ifindex);
                [p.ifindex, p.vip_ifindex].into_iter().chain(homes)
            })
            .collect();
        let leftovers: Vec<AddressInfo> = match self.plane.list_addresses().await {
            Ok(all) => all
                .into_iter()
                .filter(|a| a.is_vrrpd() && ifindexes.contains(&a.ifindex))
                // The static addresses were just installed, before the routers start.
                .filter(|a| !self.statics.has_address(a.ifindex, a.addr))
                .collect(),
            Err(e) => {
                tracing::warn!(error = %e, "could not list addresses");
                return;
            }
        };
        for a in leftovers {
            let ifindex = a.ifindex;
            tracing::warn!(ifindex, addr = %a.addr, "removing a VIP left behind by an earlier run");
            if let Err(e) = (self.plane)
                .del_address(ifindex, a.addr, a.prefix_len, a.peer)
                .await
            {
                tracing::warn!(ifindex, addr = %a.addr, error = %e, "leftover VIP not removed");
            }
        }
    }
}
