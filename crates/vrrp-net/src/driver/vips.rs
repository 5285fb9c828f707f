//! Virtual addresses on the host: adding and removing them for the routers' actions, the set
//! of VIPs this driver installed (the only ones it ever removes), kernel leases and their
//! renewal, VIPs someone else removed, and VIPs an earlier run left behind.

use std::collections::{HashMap, HashSet};
use std::net::IpAddr;
use std::time::Duration as StdDuration;

use vrrp_core::{Action, Input, RouterId, State};

use super::instance::vip_spec_of;
use super::Driver;
use crate::error::Error;
use crate::netlink::{AddressInfo, VipSpec};

/// Most VIP additions in flight at once ([`Driver::add_vips_ahead`]).
const ADDS_IN_FLIGHT: usize = 64;

/// A VIP on an interface: (ifindex, address).
type VipKey = (u32, IpAddr);

/// The VIPs a driver installed and the lease they are installed with.
#[derive(Debug)]
pub(super) struct VipBook {
    /// Kernel lifetime of installed VIPs (`None`: permanent).
    pub(super) lease: Option<StdDuration>,
    /// VIPs this driver installed (the only ones it removes), with their prefix length.
    owned: HashMap<VipKey, u8>,
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

impl Driver {
    /// The options `addr` of router `id` is installed with, lease included.
    fn vip_spec(&self, id: RouterId, addr: IpAddr) -> VipSpec {
        let mut spec = vip_spec_of(&self.places[id.0].vips, addr)
            .cloned()
            .unwrap_or_else(|| VipSpec::new(addr, 32));
        if let Some(lease) = self.vips.lease {
            let secs = lease.as_secs().max(1) as u32;
            spec = spec.with_lifetime(secs, secs);
        }
        spec
    }

    /// [`vrrp_core::Action::AddVip`]: installs the address, unless someone else did.
    pub(super) async fn add_vip(&mut self, id: RouterId, addr: IpAddr) {
        let ifindex = self.places[id.0].vip_ifindex;
        let spec = self.vip_spec(id, addr);
        let added = self.netlink.add_address(ifindex, &spec).await;
        self.record_add(ifindex, &spec, added);
    }

    /// Carries out the `AddVip` actions of a batch ahead of its other actions, with their
    /// netlink requests pipelined ([`ADDS_IN_FLIGHT`] at a time), and returns the
    /// positions of the actions it carried out (empty if the batch adds fewer than two VIPs:
    /// then nothing is gained).
    ///
    /// One request and its ack at a time cost ~0.2 ms per address, so a takeover of 1,000
    /// virtual routers placed its last VIP ~100 ms after its adverts. An add is never moved
    /// above a `RemoveVip` of the same address earlier in the batch, and the accept-mode table
    /// already covers the batch's VIPs when this runs; the announcements follow in the
    /// batch's order, after the addresses are in place.
    pub(super) async fn add_vips_ahead(&mut self, batch: &[(RouterId, Action)]) -> Vec<usize> {
        let adds = batch
            .iter()
            .filter(|(_, a)| matches!(a, Action::AddVip(_)))
            .count();
        if adds < 2 {
            return Vec::new();
        }
        let mut removed: HashSet<VipKey> = HashSet::new();
        let mut ahead = Vec::with_capacity(adds);
        let mut specs = Vec::with_capacity(adds);
        for (k, (id, action)) in batch.iter().enumerate() {
            let ifindex = self.places[id.0].vip_ifindex;
            match *action {
                Action::RemoveVip(addr) => {
                    removed.insert((ifindex, addr));
                }
                Action::AddVip(addr) if !removed.contains(&(ifindex, addr)) => {
                    ahead.push(k);
                    specs.push((ifindex, self.vip_spec(*id, addr)));
                }
                _ => {}
            }
        }
        let mut results = Vec::with_capacity(specs.len());
        for chunk in specs.chunks(ADDS_IN_FLIGHT) {
            let mut adds = Vec::with_capacity(chunk.len());
            for (ifindex, spec) in chunk {
                adds.push(self.netlink.add_address(*ifindex, spec));
            }
            results.extend(futures::future::join_all(adds).await);
        }
        for ((ifindex, spec), added) in specs.iter().zip(results) {
            self.record_add(*ifindex, spec, added);
        }
        ahead
    }

    /// Books the outcome of adding `spec` on `ifindex`.
    fn record_add(&mut self, ifindex: u32, spec: &VipSpec, added: crate::error::Result<()>) {
        let addr = spec.addr;
        match added {
            Ok(()) => {
                self.vips.owned.insert((ifindex, addr), spec.prefix_len);
                self.vips.expect_removed.remove(&(ifindex, addr));
            }
            Err(Error::AddressExists { .. }) if self.vips.owns(ifindex, addr) => {}
            Err(Error::AddressExists { .. }) => {
                tracing::warn!(%addr, ifindex, "VIP already present on the interface; left alone");
            }
            Err(e) => tracing::error!(%addr, ifindex, error = %e, "VIP not added"),
        }
    }

    /// [`vrrp_core::Action::RemoveVip`]: removes the address if this driver installed it.
    pub(super) async fn remove_vip(&mut self, id: RouterId, addr: IpAddr) {
        let ifindex = self.places[id.0].vip_ifindex;
        let Some(prefix) = self.vips.owned.remove(&(ifindex, addr)) else {
            return;
        };
        match self.netlink.del_address(ifindex, addr, prefix).await {
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
            let Some(i) = self.active_holder(ifindex) else {
                continue;
            };
            let spec = self.vip_spec(RouterId(i), addr);
            if let Err(e) = self.netlink.renew_address(ifindex, &spec).await {
                tracing::warn!(%addr, ifindex, error = %e, "VIP lease not renewed");
            }
        }
    }

    /// The first live Active instance whose VIPs live on `ifindex`.
    fn active_holder(&self, ifindex: u32) -> Option<usize> {
        (0..self.places.len()).find(|&i| {
            !self.places[i].removed
                && self.places[i].vip_ifindex == ifindex
                && self.node.router(RouterId(i)).state() == State::Active
        })
    }

    /// An address removal seen on netlink: ours as expected, or an owned VIP someone else
    /// removed, which the routers on that interface are told about.
    pub(super) fn on_addr_removed(&mut self, now: vrrp_core::Instant, ifindex: u32, addr: IpAddr) {
        if self.vips.expect_removed.remove(&(ifindex, addr)) {
            return;
        }
        if self.vips.owned.remove(&(ifindex, addr)).is_none() {
            return;
        }
        for i in 0..self.places.len() {
            if !self.places[i].removed && self.places[i].vip_ifindex == ifindex {
                tracing::warn!(instance = %self.node.router(RouterId(i)).config().name,
                    interface = %self.places[i].ifname, %addr,
                    "VIP removed by someone else");
                self.node.handle(now, RouterId(i), Input::VipLost(addr));
            }
        }
    }

    /// Removes VIPs an earlier life of this daemon left behind (marked by the crate's
    /// address-protocol marker) on the instances' interfaces, and says so in the log. One
    /// address dump for all interfaces. Runs before the routers start, so that it never
    /// removes a VIP they add (an owner re-adding a leftover VIP gets a fresh address).
    pub(super) async fn remove_leftovers(&mut self) {
        let ifindexes: HashSet<u32> = self
            .places
            .iter()
            .filter(|p| !p.removed)
            .flat_map(|p| [p.ifindex, p.vip_ifindex])
            .collect();
        let leftovers: Vec<AddressInfo> = match self.netlink.list_all_addresses().await {
            Ok(all) => all
                .into_iter()
                .filter(|a| a.is_vrrpd() && ifindexes.contains(&a.ifindex))
                .collect(),
            Err(e) => {
                tracing::warn!(error = %e, "could not list addresses");
                return;
            }
        };
        for a in leftovers {
            let ifindex = a.ifindex;
            tracing::warn!(ifindex, addr = %a.addr, "removing a VIP left behind by an earlier run");
            if let Err(e) = self
                .netlink
                .del_address(ifindex, a.addr, a.prefix_len)
                .await
            {
                tracing::warn!(ifindex, addr = %a.addr, error = %e, "leftover VIP not removed");
            }
        }
    }
}
