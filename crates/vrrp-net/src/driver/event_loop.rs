//! The driver task: sleeps until the earliest router deadline, a readable socket, a link or
//! address event, a lease renewal or a command; feeds the routers; then carries out their
//! outputs ([`Driver::execute`]).

use std::future::poll_fn;

use tokio::sync::mpsc;
use vrrp_core::{Input, RouterId, TrackState};

use super::handle::Command;
use super::linux::LinuxPlane;
use super::plane::{DataPlane, PlaneInput};
use super::timer::DeadlineTimer;
use super::Driver;
use crate::error::Result;
use crate::watch::{AddrEvent, LinkEvent, NetEvent};

/// Most packets served between two passes over the routers' outputs.
const PACKET_BATCH: usize = 64;

/// Most packets served before timers that are due (about a socket queue's worth).
const PACKET_QUEUE: usize = 1024;

/// Whether the task goes on after a command.
pub(super) enum Flow {
    Continue,
    Stop,
}

/// What woke the task.
enum Wake {
    Deadline,
    Plane(PlaneInput),
    Renew,
    Command(Option<Command>),
}

impl Driver<LinuxPlane> {
    /// The task: starts every router, then serves inputs until shutdown or until every
    /// [`super::Handle`] is gone.
    pub(super) async fn run(mut self, mut commands: mpsc::Receiver<Command>) -> Result<()> {
        if let Flow::Stop = self.startup_delay(&mut commands).await {
            return Ok(());
        }
        self.start_routers().await;
        let mut renew = tokio::time::interval(self.vips.renew_interval());
        let mut timer = DeadlineTimer::new();
        let leases = self.vips.lease.is_some();
        loop {
            let deadline = self
                .node
                .poll_timeout()
                .map(|t| self.plane.tokio_instant(t));
            let plane = &mut self.plane;
            let wake = tokio::select! {
                _ = timer.sleep_until(deadline) => Wake::Deadline,
                input = poll_fn(|cx| plane.poll_input(cx)) => Wake::Plane(input),
                _ = renew.tick(), if leases => Wake::Renew,
                cmd = commands.recv() => Wake::Command(cmd),
            };
            match wake {
                Wake::Deadline => {
                    // Adverts already queued arrived before the deadline: they count first,
                    // so a driver that was busy (a slow `nft`, netlink) does not let a
                    // Backup's Active_Down_Timer win over a live Active's advert.
                    self.serve_queued(PACKET_QUEUE);
                    let now = self.now();
                    self.feed_wall_clock(now, false);
                    self.node.handle_timeout(now);
                }
                // Under load one pass over the outputs and one deadline per batch, not per
                // packet.
                Wake::Plane(PlaneInput::Readable) => {
                    self.serve_queued(PACKET_BATCH);
                }
                Wake::Plane(PlaneInput::Net(ev)) => self.on_net_event(ev),
                Wake::Plane(PlaneInput::WatcherClosed) => {
                    tracing::error!("the link watcher stopped: link changes are not seen any more");
                }
                Wake::Renew => self.renew_leases().await,
                Wake::Command(cmd) => {
                    if let Flow::Stop = self.on_command(cmd).await {
                        return Ok(());
                    }
                }
            }
            self.execute().await;
        }
    }
}

impl Driver<LinuxPlane> {
    /// keepalived's `vrrp_startup_delay`: the routers stay in Initialize, silent, while
    /// commands are served (a shutdown meanwhile stops the driver).
    async fn startup_delay(&mut self, commands: &mut mpsc::Receiver<Command>) -> Flow {
        if self.startup_delay.is_zero() {
            return Flow::Continue;
        }
        tracing::info!(delay = ?self.startup_delay, "vrrp_startup_delay: the routers start later");
        let until = tokio::time::Instant::now() + self.startup_delay;
        loop {
            tokio::select! {
                _ = tokio::time::sleep_until(until) => return Flow::Continue,
                cmd = commands.recv() => {
                    if let Flow::Stop = self.on_command(cmd).await {
                        return Flow::Stop;
                    }
                }
            }
        }
    }
}

impl<D: DataPlane> Driver<D> {
    /// Starts every router and carries out their first outputs: the first adverts leave
    /// before anything runs `nft` (the Accept_Mode table is written next, before any VIP is
    /// added). Adverts that came in meanwhile are then served before any deadline, so that a
    /// Backup does not take over from a live Active just because starting took long.
    pub(super) async fn start_routers(&mut self) {
        let now = self.now();
        self.feed_wall_clock(now, true);
        self.node.handle_all(now, Input::Startup);
        self.execute().await;
        if self.serve_queued(PACKET_QUEUE) {
            self.execute().await;
        }
    }

    /// Serves one command (`None`: every handle is gone, which stops the driver).
    pub(super) async fn on_command(&mut self, cmd: Option<Command>) -> Flow {
        match cmd {
            Some(Command::Status(tx)) => {
                let _ = tx.send(self.status());
            }
            Some(Command::ClearStats(done)) => {
                self.node.clear_stats();
                let _ = done.send(());
            }
            Some(Command::Input(i, input)) => {
                let now = self.now();
                self.node.handle(now, RouterId(i), input);
            }
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
            Some(Command::Statics(cfg, done)) => {
                let r = self.reconfigure_statics(&cfg).await;
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

    /// Stops every router (priority-0 adverts, VIPs removed) and undoes the kernel state.
    pub(super) async fn stop(&mut self) {
        let now = self.now();
        self.node.handle_all(now, Input::Shutdown);
        self.execute().await;
        self.remove_statics().await;
        self.plane.release().await;
    }

    /// A link or address change.
    pub(super) fn on_net_event(&mut self, ev: NetEvent) {
        let now = self.now();
        match ev {
            NetEvent::Link(LinkEvent::Up { ifindex, name }) => {
                self.link_input(now, ifindex, Input::LinkUp);
                self.link_trackers(now, &name, TrackState::Up);
            }
            NetEvent::Link(
                LinkEvent::Down { ifindex, name } | LinkEvent::CarrierLost { ifindex, name },
            ) => {
                self.link_input(now, ifindex, Input::LinkDown);
                self.link_trackers(now, &name, TrackState::Down);
            }
            NetEvent::Link(LinkEvent::Deleted { ifindex, name }) => {
                self.link_input(now, ifindex, Input::LinkDown);
                self.on_vmac_deleted(now, ifindex, &name);
                self.link_trackers(now, &name, TrackState::Down);
            }
            NetEvent::Link(LinkEvent::Renamed { old, .. }) => {
                self.link_trackers(now, &old, TrackState::Down);
            }
            NetEvent::Addr(AddrEvent::Removed { ifindex, addr, .. }) => {
                self.source_address(now, ifindex, addr, false);
                self.on_addr_removed(now, ifindex, addr)
            }
            NetEvent::Addr(AddrEvent::Added { ifindex, addr, .. }) => {
                self.source_address(now, ifindex, addr, true);
            }
            _ => {}
        }
    }

    /// Tells the instances on `ifindex` that track their source address (`track_src_ip`)
    /// that `addr`, if it is theirs, came or went.
    fn source_address(
        &mut self,
        now: vrrp_core::Instant,
        ifindex: u32,
        addr: std::net::IpAddr,
        present: bool,
    ) {
        let hit: Vec<RouterId> = (self.live_places())
            .filter(|(id, p)| {
                p.track_source
                    && p.ifindex == ifindex
                    && self.node.get(*id).is_some_and(|r| r.primary_addr() == addr)
            })
            .map(|(id, _)| id)
            .collect();
        for id in hit {
            self.node.handle(now, id, Input::SourceAddress(present));
        }
    }

    /// Feeds a link input to every instance configured on `ifindex` that tracks its link
    /// (not `dont_track_primary`).
    fn link_input(&mut self, now: vrrp_core::Instant, ifindex: u32, input: Input) {
        let on: Vec<RouterId> = (self.live_places())
            .filter(|(_, p)| p.ifindex == ifindex && p.track_link)
            .map(|(id, _)| id)
            .collect();
        for id in on {
            self.node.handle(now, id, input.clone());
        }
    }

    /// Feeds the trackers of interface `name` (keepalived's `track_interface`).
    fn link_trackers(&mut self, now: vrrp_core::Instant, name: &str, state: TrackState) {
        let inputs: Vec<(RouterId, Input)> = (self.live_places())
            .flat_map(|(id, p)| {
                (p.tracked_interfaces.iter())
                    .filter(|(_, n)| n == name)
                    .map(move |(t, _)| (id, Input::Tracker(*t, state)))
            })
            .collect();
        for (id, input) in inputs {
            self.node.handle(now, id, input);
        }
    }
}
