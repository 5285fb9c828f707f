//! Announcements of a VIP that became ours: a gratuitous ARP (IPv4) or an unsolicited NA
//! (IPv6) from the instance's VIP interface and MAC, paced per interface
//! ([`DriverConfig::garp_interval`] / [`DriverConfig::gna_interval`]): sent at once when the
//! pacer allows, else from a task that sleeps until then.

use std::net::IpAddr;
use std::sync::Arc;

use tokio::time::Instant as TokioInstant;
use vrrp_core::RouterId;

use super::{Driver, DriverConfig};
use crate::announce::{build_garp, build_unsolicited_na, GarpForm, Pacer};
use crate::AnnounceSocket;

/// The announcement sender of a driver.
pub(super) struct Announcer {
    socket: Arc<AnnounceSocket>,
    garp_pacer: Pacer,
    na_pacer: Pacer,
    garp_form: GarpForm,
}

impl Announcer {
    /// Sends on `socket`, paced and formed as `cfg` says.
    pub(super) fn new(socket: Arc<AnnounceSocket>, cfg: &DriverConfig) -> Self {
        Announcer {
            socket,
            garp_pacer: Pacer::new(cfg.garp_interval),
            na_pacer: Pacer::new(cfg.gna_interval),
            garp_form: cfg.garp_form,
        }
    }

    /// Announces `addr` from interface `ifindex` with source MAC `mac`.
    async fn announce(&mut self, ifindex: u32, mac: [u8; 6], addr: IpAddr) {
        let mut frame = [0u8; 128];
        let (built, pacer) = match addr {
            IpAddr::V4(v4) => (
                build_garp(&mut frame, mac, v4, self.garp_form),
                &mut self.garp_pacer,
            ),
            IpAddr::V6(v6) => (
                build_unsolicited_na(&mut frame, mac, v6, true),
                &mut self.na_pacer,
            ),
        };
        let len = match built {
            Ok(n) => n,
            Err(e) => return tracing::error!(%addr, error = %e, "announcement not built"),
        };
        let at = pacer.reserve(ifindex, TokioInstant::now());
        let sock = self.socket.clone();
        let frame = frame[..len].to_vec();
        if at <= TokioInstant::now() {
            send(&sock, ifindex, &frame, addr).await;
        } else {
            tokio::spawn(async move {
                tokio::time::sleep_until(at).await;
                send(&sock, ifindex, &frame, addr).await;
            });
        }
    }
}

/// Sends one announcement frame; failures are logged.
async fn send(sock: &AnnounceSocket, ifindex: u32, frame: &[u8], addr: IpAddr) {
    if let Err(e) = sock.send(ifindex, frame).await {
        tracing::warn!(%addr, ifindex, error = %e, "announcement not sent");
    }
}

impl Driver {
    /// [`vrrp_core::Action::Announce`]: announces `addr` of router `id`.
    pub(super) async fn announce(&mut self, id: RouterId, addr: IpAddr) {
        let place = &self.places[id.0];
        let (ifindex, mac) = (place.vip_ifindex, place.mac);
        self.announcer.announce(ifindex, mac, addr).await;
    }
}
