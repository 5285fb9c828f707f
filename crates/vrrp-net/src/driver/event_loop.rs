//! The driver task: sleeps until the earliest router deadline, a packet, a link or address
//! event, a lease renewal or a command; feeds the routers; then carries out the actions they
//! queued ([`Driver::execute`]).

use std::time::Duration as StdDuration;

use tokio::sync::mpsc;
use tokio::time::Instant as TokioInstant;
use vrrp_core::{Action, Input, RouterId};

use super::handle::Command;
use super::instance::Placement;
use super::sockets::Packet;
use super::timer::DeadlineTimer;
use super::{Driver, Event};
use crate::error::{Error, Result};
use crate::watch::{AddrEvent, LinkEvent, NetEvent, Watcher};

/// Most packets served between two passes over the routers' actions.
const PACKET_BATCH: usize = 64;

/// Most packets served before timers that are due: the capacity of the packet queue.
const PACKET_QUEUE: usize = super::sockets::PACKET_QUEUE;

/// Actions whose room the batch keeps between passes (the steady state's batches are smaller).
const BATCH_KEPT: usize = 256;

/// Whether the task goes on after a command.
enum Flow {
    Continue,
    Stop,
}

impl Driver {
    /// The routers' clock: time since the driver started.
    pub(super) fn now(&self) -> vrrp_core::Instant {
        vrrp_core::Instant::from_micros(self.epoch.elapsed().as_micros() as u64)
    }

    /// The earliest router deadline, on the tokio clock.
    fn deadline(&self) -> Option<TokioInstant> {
        self.node
            .poll_timeout()
            .map(|t| self.epoch + StdDuration::from_micros(t.as_micros()))
    }

    /// The task: starts every router, then serves inputs until shutdown or until every
    /// [`super::Handle`] is gone.
    pub(super) async fn run(
        mut self,
        mut packets: mpsc::Receiver<Box<Packet>>,
        mut commands: mpsc::Receiver<Command>,
        mut watcher: Watcher,
    ) -> Result<()> {
        let now = self.now();
        self.node.handle_all(now, Input::Startup);
        // The first adverts leave before anything runs `nft` (the Accept_Mode table is first
        // written here, as `execute` always does: after the adverts, before any VIP is added).
        self.execute().await;
        // Every filtered router's VIPs in the table now, if the startup actions did not put
        // them there, so that a takeover does not wait for `nft`.
        if self.accept.filtering {
            self.sync_filter(false).await;
        }
        // Adverts that came in the meantime are served before the loop can see an
        // Active_Down_Timer that expired while `nft` ran (with a short interval, it can take
        // longer than the Active_Down_Interval): a Backup does not take over from a live
        // Active just because the driver was busy starting.
        if self.serve_queued(&mut packets, PACKET_QUEUE) {
            self.execute().await;
        }
        let mut renew = tokio::time::interval(self.vips.renew_interval());
        let mut timer = DeadlineTimer::new();
        loop {
            let deadline = self.deadline();
            tokio::select! {
                _ = timer.sleep_until(deadline) => {
                    // Adverts already queued arrived before the deadline: they count first,
                    // so a driver that was busy (a slow `nft`, netlink) does not let a
                    // Backup's Active_Down_Timer win over a live Active's advert.
                    self.serve_queued(&mut packets, PACKET_QUEUE);
                    let now = self.now();
                    self.node.handle_timeout(now);
                }
                Some(pkt) = packets.recv() => {
                    self.on_packet(&pkt);
                    // Under load, serve what else is queued before acting: one pass over
                    // the actions and one deadline computation per batch, not per packet.
                    self.serve_queued(&mut packets, PACKET_BATCH - 1);
                }
                Some(ev) = watcher.next() => self.on_net_event(ev),
                _ = renew.tick(), if self.vips.lease.is_some() => self.renew_leases().await,
                cmd = commands.recv() => {
                    if let Flow::Stop = self.on_command(cmd).await {
                        return Ok(());
                    }
                }
            }
            self.execute().await;
        }
    }

    /// Serves up to `max` packets that are already queued, without waiting.
    fn serve_queued(&mut self, packets: &mut mpsc::Receiver<Box<Packet>>, max: usize) -> bool {
        let mut served = false;
        for _ in 0..max {
            let Ok(pkt) = packets.try_recv() else { break };
            self.on_packet(&pkt);
            served = true;
        }
        served
    }

    /// Serves one command (`None`: every handle is gone, which stops the driver).
    async fn on_command(&mut self, cmd: Option<Command>) -> Flow {
        match cmd {
            Some(Command::Status(tx)) => {
                let _ = tx.send(self.node.routers().map(|(_, r)| r.status()).collect());
            }
            Some(Command::Input(i, input)) => self.input(i, input),
            Some(Command::Reconfigure(i, spec, done)) => {
                let r = self.reconfigure(i, *spec).await;
                let _ = done.send(r);
            }
            Some(Command::AddInstance(spec, done)) => {
                let r = self.add_instance(*spec).await;
                let _ = done.send(r);
            }
            Some(Command::RemoveInstance(i, done)) => {
                let r = self.remove_instance(i).await;
                let _ = done.send(r);
            }
            Some(Command::SyncGroups(groups, done)) => {
                let r = self.set_sync_groups(groups).await;
                let _ = done.send(r);
            }
            Some(Command::Shutdown(done)) => {
                self.stop().await;
                let _ = done.send(());
                return Flow::Stop;
            }
            None => {
                self.stop().await;
                return Flow::Stop;
            }
        }
        Flow::Continue
    }

    /// Stops every router (priority-0 adverts, VIPs removed), closes the sockets and undoes
    /// the kernel state.
    async fn stop(&mut self) {
        let now = self.now();
        self.node.handle_all(now, Input::Shutdown);
        self.execute().await;
        self.sockets.close_all();
        self.cleanup.release(&self.netlink).await;
    }

    /// A link or address change.
    fn on_net_event(&mut self, ev: NetEvent) {
        let now = self.now();
        match ev {
            NetEvent::Link(LinkEvent::Up { ifindex, .. }) => {
                self.link_input(now, ifindex, Input::LinkUp)
            }
            NetEvent::Link(
                LinkEvent::Down { ifindex, .. } | LinkEvent::CarrierLost { ifindex, .. },
            ) => self.link_input(now, ifindex, Input::LinkDown),
            NetEvent::Link(LinkEvent::Deleted { ifindex, name }) => {
                self.link_input(now, ifindex, Input::LinkDown);
                self.on_vmac_deleted(now, ifindex, &name);
            }
            NetEvent::Addr(AddrEvent::Removed { ifindex, addr, .. }) => {
                self.on_addr_removed(now, ifindex, addr)
            }
            _ => {}
        }
    }

    /// The live instances configured on interface `ifindex`.
    fn routers_on(&self, ifindex: u32) -> Vec<usize> {
        (0..self.places.len())
            .filter(|&i| !self.places[i].removed && self.places[i].ifindex == ifindex)
            .collect()
    }

    /// Feeds a link input to every instance on `ifindex`.
    fn link_input(&mut self, now: vrrp_core::Instant, ifindex: u32, input: Input) {
        for i in self.routers_on(ifindex) {
            self.node.handle(now, RouterId(i), input.clone());
        }
    }

    /// The placement of a live instance, or why there is none.
    pub(super) fn live(&self, i: usize) -> Result<&Placement> {
        match self.places.get(i) {
            Some(p) if !p.removed => Ok(p),
            Some(_) => Err(Error::Invalid {
                context: format!("instance {i}"),
                message: "the instance was removed".into(),
            }),
            None => Err(Error::Invalid {
                context: format!("instance {i}"),
                message: "no such instance".into(),
            }),
        }
    }

    /// An input from the handle: ignored for unknown or removed instances; tracker ids are
    /// translated to the router's.
    fn input(&mut self, i: usize, input: Input) {
        let Ok(place) = self.live(i) else { return };
        let input = match input {
            Input::Tracker(id, state) => match place.trackers.get(usize::from(id.0)) {
                Some(&rid) => Input::Tracker(rid, state),
                None => return,
            },
            other => other,
        };
        let now = self.now();
        self.node.handle(now, RouterId(i), input);
    }

    /// Carries out every queued action, in order. The accept-mode table grows before the
    /// actions (so that it covers a VIP before the VIP is added) and shrinks after them (once
    /// released VIPs are gone).
    pub(super) async fn execute(&mut self) {
        let mut batch = std::mem::take(&mut self.batch);
        while let Some(item) = self.node.poll_action() {
            batch.push(item);
        }
        // Adverts go out first: they do not depend on the Accept_Mode filter, whose update
        // runs `nft` (tens of milliseconds) and would otherwise delay a takeover's first advert.
        for (id, action) in batch.iter() {
            if let Action::SendAdvert { version, priority } = *action {
                self.send_advert(*id, version, priority).await;
            }
        }
        let sync = self.accept.filtering && batch.iter().any(|(_, a)| changes_filter(a));
        if sync {
            self.sync_filter(true).await;
        }
        // Many VIPs (a start or a takeover of many routers) are added together, ahead of the
        // rest; `done` holds their positions, in order.
        let done = self.add_vips_ahead(&batch).await;
        let mut done = done.iter().peekable();
        for (k, (id, action)) in batch.drain(..).enumerate() {
            if done.next_if_eq(&&k).is_some() || matches!(action, Action::SendAdvert { .. }) {
                continue;
            }
            self.act(id, action).await;
        }
        if sync {
            self.sync_filter(false).await;
        }
        // A start or a takeover of many routers grows the batch to thousands of actions; the
        // steady state needs a few. Keep room for those, not the peak.
        batch.shrink_to(BATCH_KEPT);
        self.batch = batch;
    }

    /// Carries out one action of router `id`.
    async fn act(&mut self, id: RouterId, action: Action) {
        match action {
            Action::SendAdvert { version, priority } => {
                self.send_advert(id, version, priority).await
            }
            Action::AddVip(addr) => self.add_vip(id, addr).await,
            Action::RemoveVip(addr) => self.remove_vip(id, addr).await,
            Action::Announce(addr) => self.announce(id, addr).await,
            // The kernel joins a VIP's solicited-node group when the address is added.
            Action::JoinSolicitedNode(_) | Action::LeaveSolicitedNode(_) => {}
            Action::StateChanged { from, to, reason } => {
                let router = self.node.router(id);
                let priority = router.effective_priority();
                let c = router.config();
                let name = c.name.clone();
                tracing::info!(instance = %name, vrid = c.vrid, family = ?c.family,
                    interface = %self.places[id.0].ifname, %from, %to, %reason, "state changed");
                let _ = self.events.send(Event::StateChanged {
                    instance: id.0,
                    name,
                    from,
                    to,
                    reason,
                    priority,
                });
            }
            Action::PriorityChanged { from, to, cause } => {
                let c = self.node.router(id).config();
                let name = c.name.clone();
                tracing::info!(instance = %name, vrid = c.vrid, family = ?c.family,
                    interface = %self.places[id.0].ifname, from, to, %cause, "priority changed");
                let _ = self.events.send(Event::PriorityChanged {
                    instance: id.0,
                    name,
                    from,
                    to,
                    cause,
                });
            }
            Action::Notice(notice) => {
                let name = &self.node.router(id).config().name;
                tracing::warn!(instance = %name, ?notice, "notice")
            }
        }
    }
}

/// Whether an action may change the VIPs the accept-mode table must hold.
fn changes_filter(action: &Action) -> bool {
    matches!(
        action,
        Action::AddVip(_) | Action::RemoveVip(_) | Action::StateChanged { .. }
    )
}
