//! Address conflicts (docs/decisions/0007-conflict-detection.md): the interfaces watched for
//! other hosts' claims of our addresses (those where a router is Active), the claims served
//! (one hash lookup each; the router decides, see [`vrrp_core::Input::AddressConflict`]), the
//! probes sent, and the warning logged when a router re-announces: at once for an address's
//! first conflict, then at most once per [`CONFLICT_WARN_INTERVAL`] per address with the count
//! of re-announcements not logged meanwhile (two Actives that go on claiming an address
//! re-announce it once a second each; the log says so every ten seconds, not every second).

use std::collections::{HashMap, HashSet};
use std::net::IpAddr;

use vrrp_core::packet::Family;
use vrrp_core::{Input, RouterId, State};

use super::plane::{DataPlane, SocketKey};
use super::Driver;
use crate::conflict::Claim;
use crate::netlink::fmt_mac;

/// The shortest time between two conflict warnings about one (instance, address).
pub(super) const CONFLICT_WARN_INTERVAL: vrrp_core::Duration = vrrp_core::Duration::from_secs(10);

/// Which Active router holds an address on an interface: (watched ifindex, address).
pub(super) type ClaimIndex = HashMap<(u32, IpAddr), RouterId>;

impl<D: DataPlane> Driver<D> {
    /// Watches exactly the interfaces and families where a router is Active, and indexes
    /// their addresses by the interface they are probed from. Run when states or instances
    /// changed, not per packet.
    pub(super) fn sync_claim_watches(&mut self) {
        let mut index = ClaimIndex::new();
        let mut watched: HashSet<SocketKey> = HashSet::new();
        for (id, router) in self.node.routers() {
            if router.state() != State::Active {
                continue;
            }
            let Some(place) = self.place(id) else {
                continue;
            };
            for addr in router.config().installed_addresses() {
                let (ifindex, _) = place.probe_from(addr);
                watched.insert((ifindex, Family::of(addr)));
                index.insert((ifindex, addr), id);
            }
        }
        self.claims = index;
        self.claims_dirty = false;
        self.plane.watch_claims(&watched);
    }

    /// Serves up to `max` queued claims; true if any was read.
    pub(super) fn serve_claims(&mut self, max: usize) -> bool {
        let mut served = false;
        for _ in 0..max {
            let Some((ifindex, claim)) = self.plane.try_recv_claim() else {
                break;
            };
            self.on_claim(ifindex, claim);
            served = true;
        }
        served
    }

    /// One claim seen on `ifindex`: handed to the Active router holding the address there,
    /// unless it comes from one of that router's own MACs.
    pub(super) fn on_claim(&mut self, ifindex: u32, claim: Claim) {
        let Some(&id) = self.claims.get(&(ifindex, claim.addr)) else {
            return;
        };
        if self.place(id).is_none_or(|p| p.owns_mac(claim.mac)) {
            return;
        }
        let now = self.now();
        let input = Input::AddressConflict {
            addr: claim.addr,
            mac: claim.mac,
        };
        self.node.handle(now, id, input);
    }

    /// Sends the conflict probe of `addr` for router `id`.
    pub(super) async fn probe(&mut self, id: RouterId, addr: IpAddr) {
        let Some(place) = self.place(id) else { return };
        let (ifindex, mac) = place.probe_from(addr);
        self.plane.probe(ifindex, mac, addr).await;
    }

    /// The warning of a conflict a router re-announces (rate-limited, see the module).
    pub(super) fn warn_conflict(&mut self, id: RouterId, addr: IpAddr, mac: [u8; 6]) {
        let now = self.now();
        let Some(suppressed) = self.conflict_log.record(id.0, addr, now) else {
            return;
        };
        let (Some(router), Some(place)) = (self.node.get(id), self.place(id)) else {
            return;
        };
        let cfg = router.config();
        let (name, mac) = (&cfg.name, fmt_mac(&mac));
        tracing::warn!(instance = %name, vrid = cfg.vrid, family = ?Family::of(addr),
            address = %addr, %mac, interface = %place.ifname,
            conflicts = router.stats().address_conflicts, suppressed,
            "({name}) address conflict: {mac} claims virtual address {addr}; re-announcing it");
    }
}
