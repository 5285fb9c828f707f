//! Received adverts: parsed in the driver's receive buffer, demultiplexed by interface,
//! family and VRID, handed to the router; discards logged (see [`super::discards`]).

use std::fmt::Display;
use std::net::IpAddr;

use vrrp_core::packet::{self, Family};
use vrrp_core::RouterId;

use super::discards::DiscardReason;
use super::plane::{DataPlane, RxPacket};
use super::Driver;

impl<D: DataPlane> Driver<D> {
    /// Reads and serves up to `max` queued packets without waiting, and up to `max` queued
    /// address claims ([`super::conflicts`]); true if any was served.
    pub(super) fn serve_queued(&mut self, max: usize) -> bool {
        let mut buf = std::mem::take(&mut self.rx_buf);
        let mut served = false;
        for _ in 0..max {
            let Some(pkt) = self.plane.try_recv(&mut buf) else {
                break;
            };
            self.on_packet(pkt, &buf[..pkt.len]);
            served = true;
        }
        self.rx_buf = buf;
        self.serve_claims(max) || served
    }

    /// One received packet: parsed and handed to the router it is for, if any.
    pub(super) fn on_packet(&mut self, pkt: RxPacket, payload: &[u8]) {
        let now = self.now();
        self.feed_wall_clock(now, false);
        let from = pkt.meta.src;
        let family = Family::of(from);
        let vrid = payload.get(1).copied().unwrap_or(0);
        let target = self.rx_index.get(&(pkt.ifindex, family, vrid)).copied();
        if target.is_none() && self.log_unknown_vrids && payload.len() >= packet::HEADER_LEN {
            // keepalived logs each one (before any check of the message), not rate-limited.
            let interface = self.interface_name(pkt.ifindex);
            tracing::info!(vrid, %interface, %from,
                "Unknown VRID({vrid}) received on interface({interface}). ignoring...");
        }
        match packet::parse(payload, pkt.meta) {
            Ok(adv) => match target {
                Some(id) => {
                    if let Err(e) = self.node.handle_advert_for(now, id, &adv) {
                        tracing::trace!(vrid, %from, reason = %e, "advert discarded");
                        if let Some(reason) = DiscardReason::of_policy(&e) {
                            self.warn_discarded(id, from, reason, &e);
                        }
                    }
                }
                None => tracing::trace!(vrid, %from, "advert for an unknown VRID"),
            },
            Err(e) => {
                tracing::trace!(vrid, %from, error = %e, "malformed VRRP packet dropped");
                if let Some(id) = target {
                    self.node.handle_rx_error_for(id, &e);
                    self.warn_discarded(id, from, DiscardReason::of_codec(&e), &e);
                }
            }
        }
    }

    /// The name of interface `ifindex` as a live instance knows it (its interface or VMAC),
    /// else the index.
    fn interface_name(&self, ifindex: u32) -> String {
        let mut names = self
            .live_places()
            .flat_map(|(_, p)| [(p.ifindex, &p.ifname), (p.vip_ifindex, &p.vip_ifname)]);
        names
            .find(|(i, _)| *i == ifindex)
            .map_or_else(|| ifindex.to_string(), |(_, n)| n.to_string())
    }

    /// Recomputes [`Driver::rx_index`] from the live instances.
    pub(super) fn rebuild_rx_index(&mut self) {
        self.rx_index = self
            .node
            .routers()
            .filter_map(|(id, r)| {
                let c = r.config();
                Some(((self.place(id)?.rx_ifindex, c.family, c.vrid), id))
            })
            .collect();
    }

    /// The rate-limited warning about an advert router `id` discarded (see
    /// [`super::discards`]).
    fn warn_discarded(
        &mut self,
        id: RouterId,
        from: IpAddr,
        reason: DiscardReason,
        why: &dyn Display,
    ) {
        let now = self.now();
        let Some(count) = self.discards.record(id.0, reason, now) else {
            return;
        };
        if let Some(place) = self.place(id) {
            tracing::warn!(parent: &place.span, %from, reason = %why, count, "adverts discarded");
        }
    }
}
