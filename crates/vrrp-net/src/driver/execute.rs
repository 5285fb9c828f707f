//! Carrying out the routers' outputs, in vrrp-core's order ([`vrrp_core::output`]): adverts,
//! then address changes (runs of additions pipelined), then announcements, then events for
//! subscribers. The Accept_Mode table, when the instances changed, grows after the adverts
//! and before any address is added, and shrinks once the removals are done.

use std::net::IpAddr;

use vrrp_core::{Command, Event as CoreEvent, RouterId, Transmit};

use super::plane::DataPlane;
use super::{Driver, Event};

/// Commands whose room the list keeps between passes (the steady state's are fewer).
const COMMANDS_KEPT: usize = 256;

impl<D: DataPlane> Driver<D> {
    /// Carries out every output the routers queued.
    pub(super) async fn execute(&mut self) {
        self.send_adverts().await;
        let filter = self.accept.dirty;
        if filter {
            self.sync_filter(true).await;
        }
        self.run_commands().await;
        if filter {
            self.sync_filter(false).await;
            self.accept.dirty = false;
        }
        self.report_events();
        if self.claims_dirty {
            self.sync_claim_watches();
        }
    }

    /// Sends every queued advert.
    async fn send_adverts(&mut self) {
        let mut buf = std::mem::take(&mut self.tx_buf);
        while let Some((id, tx)) = self.node.poll_transmit(&mut buf) {
            self.send_advert(id, tx, &buf[..tx.len]).await;
        }
        self.tx_buf = buf;
    }

    /// Sends one advert of router `id` from its send socket.
    async fn send_advert(&mut self, id: RouterId, tx: Transmit, payload: &[u8]) {
        let (Some(place), Some(router)) = (self.place(id), self.node.get(id)) else {
            return;
        };
        let key = (place.tx_ifindex, router.config().family);
        let span = place.span.clone();
        let ttl = place.unicast_ttl.filter(|_| !tx.dst.is_multicast());
        if let Err(e) = (self.plane)
            .send_advert(key, payload, tx.src, tx.dst, ttl)
            .await
        {
            tracing::warn!(parent: &span, dst = %tx.dst, error = %e, "advert not sent");
        }
    }

    /// Carries out the queued commands in order, a run of consecutive `AddVip`s at once.
    async fn run_commands(&mut self) {
        let mut commands = std::mem::take(&mut self.commands);
        commands.extend(std::iter::from_fn(|| self.node.poll_command()));
        let mut k = 0;
        while k < commands.len() {
            let (id, command) = commands[k];
            match command {
                Command::AddVip(_) => {
                    let run: Vec<(RouterId, IpAddr)> = commands[k..]
                        .iter()
                        .map_while(|&(id, c)| match c {
                            Command::AddVip(addr) => Some((id, addr)),
                            _ => None,
                        })
                        .collect();
                    k += run.len();
                    self.add_vips(&run).await;
                    continue;
                }
                Command::RemoveVip(addr) => self.remove_vip(id, addr).await,
                Command::Announce(addr) => self.announce(id, addr).await,
                Command::Probe(addr) => self.probe(id, addr).await,
                Command::AddRoutes => self.add_routes(id).await,
                Command::RemoveRoutes => self.remove_routes(id).await,
            }
            k += 1;
        }
        commands.clear();
        commands.shrink_to(COMMANDS_KEPT);
        self.commands = commands;
    }

    /// Announces `addr` of router `id` from its VIP interface and MAC; its own source address
    /// from the configured interface and that interface's MAC.
    async fn announce(&mut self, id: RouterId, addr: IpAddr) {
        let Some(place) = self.place(id) else { return };
        let source = self.node.get(id).map(|r| r.primary_addr()) == Some(addr);
        let (ifindex, mac) = if source {
            (place.ifindex, place.base_mac)
        } else {
            place.home_of(addr)
        };
        self.plane.announce(ifindex, mac, addr).await;
    }

    /// Logs the routers' events and publishes them to subscribers.
    fn report_events(&mut self) {
        while let Some((id, event)) = self.node.poll_event() {
            let Some(router) = self.node.get(id) else {
                continue;
            };
            let name = router.config().name.clone();
            let priority = router.effective_priority();
            let span = self
                .place(id)
                .map(|p| p.span.clone())
                .unwrap_or_else(tracing::Span::none);
            let instance = id.0;
            let event = match event {
                CoreEvent::StateChanged { from, to, reason } => {
                    tracing::debug!(parent: &span, %from, %to, %reason, "state changed");
                    self.record_state_change(id);
                    self.claims_dirty = true;
                    Event::StateChanged {
                        instance,
                        name,
                        from,
                        to,
                        reason,
                        priority,
                    }
                }
                CoreEvent::PriorityChanged {
                    from,
                    to,
                    cause,
                    state,
                } => {
                    tracing::debug!(parent: &span, from, to, %cause, "priority changed");
                    Event::PriorityChanged {
                        instance,
                        name,
                        from,
                        to,
                        cause,
                        state,
                    }
                }
                CoreEvent::LowerPriorityAdvert {
                    from,
                    priority: their_priority,
                } => {
                    tracing::debug!(parent: &span, %from, their_priority,
                        "lower-priority advert as Active");
                    Event::LowerPriorityAdvert {
                        instance,
                        name,
                        from,
                        their_priority,
                        priority,
                    }
                }
                CoreEvent::AddressConflict { addr, mac } => {
                    self.warn_conflict(id, addr, mac);
                    continue;
                }
                CoreEvent::Notice(notice) => {
                    tracing::warn!(parent: &span, ?notice, "notice");
                    Event::Notice {
                        instance,
                        name,
                        notice,
                    }
                }
            };
            let _ = self.events.send(event);
        }
        while let Some(g) = self.node.poll_group_event() {
            tracing::debug!(group = %g.group, from = %g.from, to = %g.to, "sync group state changed");
            let _ = self.events.send(Event::GroupStateChanged {
                group: g.group,
                from: g.from,
                to: g.to,
            });
        }
    }
}
