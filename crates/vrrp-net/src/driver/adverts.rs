//! VRRP adverts out (encoded by the router, sent from its send socket with its primary address
//! as the source, to every destination) and in (parsed, demultiplexed by interface, family and
//! VRID, handed to the router; discards logged, see [`super::discards`]).

use std::fmt::Display;
use std::net::IpAddr;

use tokio::time::Instant as TokioInstant;
use vrrp_core::packet::{self, Family};
use vrrp_core::RouterId;

use super::discards::DiscardReason;
use super::sockets::Packet;
use super::Driver;

impl Driver {
    /// [`vrrp_core::Action::SendAdvert`]: sends router `id`'s advert to each destination.
    pub(super) async fn send_advert(
        &mut self,
        id: RouterId,
        version: vrrp_core::Version,
        priority: u8,
    ) {
        let router = self.node.router(id);
        let cfg = router.config();
        let place = &self.places[id.0];
        let Some(sock) = self.sockets.get(place.tx_ifindex, cfg.family) else {
            return;
        };
        let mut buf = [0u8; 1500];
        for dst in router.advert_destinations() {
            match router.encode_advert(version, priority, dst, &mut buf) {
                Ok(n) => {
                    if let Err(e) = sock.send_from(&buf[..n], cfg.primary_addr, dst).await {
                        tracing::warn!(instance = %cfg.name, vrid = cfg.vrid, family = ?cfg.family,
                            interface = %place.ifname, %dst, error = %e, "advert not sent");
                    }
                }
                Err(e) => tracing::error!(instance = %cfg.name, error = %e, "advert not built"),
            }
        }
    }

    /// A packet from a reader: parsed and handed to the router it is for, if any.
    pub(super) fn on_packet(&mut self, pkt: &Packet) {
        let payload = pkt.payload();
        let now = self.now();
        let from = pkt.meta.src;
        let family = Family::of(from);
        let vrid = payload.get(1).copied().unwrap_or(0);
        let target = self.find_router(pkt.ifindex, family, vrid);
        match packet::parse(payload, pkt.meta) {
            Ok(adv) => match target {
                Some(id) => {
                    if let Err(e) = self.node.handle_advert_for(now, id, &adv) {
                        tracing::trace!(vrid, from = %from, reason = %e, "advert discarded");
                        if let Some(reason) = DiscardReason::of_policy(&e) {
                            self.warn_discarded(id, from, reason, &e);
                        }
                    }
                }
                None => tracing::trace!(vrid, from = %from, "advert for an unknown VRID"),
            },
            Err(e) => {
                if let Some(id) = target {
                    self.node.handle_rx_error_for(id, &e);
                }
                tracing::debug!(vrid, from = %from, error = %e, "malformed VRRP packet dropped");
                if let Some(id) = target {
                    self.warn_discarded(id, from, DiscardReason::of_codec(&e), &e);
                }
            }
        }
    }

    /// The live router receiving adverts of `family` and `vrid` on `ifindex`.
    fn find_router(&self, ifindex: u32, family: Family, vrid: u8) -> Option<RouterId> {
        self.rx_index.get(&(ifindex, family, vrid)).copied()
    }

    /// Recomputes [`Driver::rx_index`] from the live instances.
    pub(super) fn rebuild_rx_index(&mut self) {
        self.rx_index = self
            .node
            .routers()
            .filter(|(id, _)| !self.places[id.0].removed)
            .map(|(id, r)| {
                let c = r.config();
                ((self.places[id.0].rx_ifindex, c.family, c.vrid), id)
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
        let Some(count) = self.discards.record(id.0, reason, TokioInstant::now()) else {
            return;
        };
        let c = self.node.router(id).config();
        tracing::warn!(instance = %c.name, vrid = c.vrid, family = ?c.family,
            interface = %self.places[id.0].ifname, %from, reason = %why, count,
            "adverts discarded");
    }
}
