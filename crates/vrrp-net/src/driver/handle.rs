//! [`Handle`], the embedding API of a running driver: each call is a [`Command`] sent to the
//! driver task over a channel, most with a one-shot channel for the answer.

use std::net::IpAddr;
use std::sync::Arc;
use std::time::SystemTime;

use tokio::sync::{broadcast, mpsc, oneshot};
use tokio::task::JoinHandle;
use vrrp_core::{Input, State, Status, TrackState, TrackerId};

use super::{DriverConfig, Event, InstanceSpec};
use crate::error::{Error, Result};

/// A snapshot of a running driver ([`Handle::status`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DriverStatus {
    /// The live instances, by index.
    pub instances: Vec<InstanceStatus>,
    /// The sync groups, in declaration order.
    pub sync_groups: Vec<GroupStatus>,
}

/// One live instance.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InstanceStatus {
    /// Its index (see [`Handle::add_instance`]).
    pub index: usize,
    /// The interface it runs on.
    pub interface: Arc<str>,
    /// The interface its VIPs live on (the VMAC, or `interface`).
    pub vip_interface: Arc<str>,
    /// The router's view.
    pub router: Status,
    /// When the current state was entered ([`Status::since`]), on the wall clock as read
    /// when the change happened, so the same in every snapshot (`None` before the first
    /// transition).
    pub since: Option<SystemTime>,
    /// The router's next deadline ([`vrrp_core::Router::poll_timeout`]: advert or
    /// Active_Down timer) on the wall clock; `None` when no timer runs (Fault, stopped).
    pub next_timeout: Option<SystemTime>,
    /// True when the router's own conditions (link, trackers) demand Fault
    /// ([`vrrp_core::Router::has_own_fault`]); false while only its sync group holds it there.
    pub own_fault: bool,
    /// The router's VIPs this driver installed and still holds, in configuration order.
    pub installed_vips: Vec<IpAddr>,
}

/// One sync group.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GroupStatus {
    /// Its name.
    pub name: Arc<str>,
    /// Its members' instance indexes.
    pub members: Vec<usize>,
    /// Its state ([`vrrp_core::Node::sync_group_state`]).
    pub state: State,
}

/// What a [`Handle`] asks the driver task to do.
pub(super) enum Command {
    /// Answer a status snapshot.
    Status(oneshot::Sender<DriverStatus>),
    /// Reset every router's counters.
    ClearStats(oneshot::Sender<()>),
    /// Feed an input to one instance.
    Input(usize, Input),
    /// Stop every router and end the task.
    Shutdown(oneshot::Sender<()>),
    /// [`Handle::reconfigure`].
    Reconfigure(usize, Box<InstanceSpec>, oneshot::Sender<Result<()>>),
    /// [`Handle::add_instance`].
    AddInstance(Box<InstanceSpec>, oneshot::Sender<Result<usize>>),
    /// [`Handle::remove_instance`].
    RemoveInstance(usize, oneshot::Sender<Result<()>>),
    /// [`Handle::set_sync_groups`].
    SyncGroups(Vec<(String, Vec<usize>)>, oneshot::Sender<Result<()>>),
    /// [`Handle::set_statics`].
    Statics(Box<DriverConfig>, oneshot::Sender<Result<()>>),
}

/// A running driver.
#[derive(Debug)]
pub struct Handle {
    commands: mpsc::Sender<Command>,
    events: broadcast::Sender<Event>,
    task: JoinHandle<Result<()>>,
    accept_table: String,
}

impl std::fmt::Debug for Command {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Command")
    }
}

impl Handle {
    /// The handle of the driver task `task`, which reads `commands` and publishes on `events`.
    pub(super) fn new(
        commands: mpsc::Sender<Command>,
        events: broadcast::Sender<Event>,
        task: JoinHandle<Result<()>>,
        accept_table: String,
    ) -> Self {
        Handle {
            commands,
            events,
            task,
            accept_table,
        }
    }

    /// The name of this driver's Accept_Mode nftables table (`inet <name>`); it exists only
    /// while some Active router has `accept_mode` off.
    pub fn accept_table(&self) -> &str {
        &self.accept_table
    }

    /// Subscribes to events (state and priority changes).
    pub fn subscribe(&self) -> broadcast::Receiver<Event> {
        self.events.subscribe()
    }

    /// A status snapshot of every live instance, in index order, and of the sync groups.
    pub async fn status(&self) -> Result<DriverStatus> {
        let (tx, rx) = oneshot::channel();
        self.send(Command::Status(tx)).await?;
        rx.await.map_err(|_| stopped())
    }

    /// Resets every router's counters (keepalived's `STATS_CLEAR`); returns once done, so a
    /// status read before this call holds the counters as they were.
    pub async fn clear_stats(&self) -> Result<()> {
        let (tx, rx) = oneshot::channel();
        self.send(Command::ClearStats(tx)).await?;
        rx.await.map_err(|_| stopped())
    }

    /// Reports a tracked object's state to one instance; `id` is the tracker's position in
    /// the instance's current [`InstanceSpec::trackers`]. Ignored for a removed instance.
    pub async fn set_tracker(
        &self,
        instance: usize,
        id: TrackerId,
        state: TrackState,
    ) -> Result<()> {
        self.send(Command::Input(instance, Input::Tracker(id, state)))
            .await
    }

    /// Changes an instance's base priority at runtime.
    pub async fn set_priority(&self, instance: usize, priority: u8) -> Result<()> {
        self.send(Command::Input(instance, Input::SetPriority(priority)))
            .await
    }

    /// Feeds any other input to an instance.
    pub async fn input(&self, instance: usize, input: Input) -> Result<()> {
        self.send(Command::Input(instance, input)).await
    }

    /// Applies a new specification to a running instance, keeping its state (see the module
    /// documentation, "Reconfiguration"). Returns once the resulting actions (VIPs removed,
    /// added and announced) are carried out. Fails, changing nothing, if the instance does not
    /// exist or was removed, if the interface, VMAC, unicast/multicast choice, VRID or family
    /// differ from the running ones, or if the router configuration is invalid.
    pub async fn reconfigure(&self, instance: usize, spec: InstanceSpec) -> Result<()> {
        let (tx, rx) = oneshot::channel();
        self.send(Command::Reconfigure(instance, Box::new(spec), tx))
            .await?;
        rx.await.map_err(|_| stopped())?
    }

    /// Adds and starts an instance (Initialize, then Backup, or Active for the address owner),
    /// as [`start`](super::start) does. Returns its index, used by every other call and in
    /// [`Event`]s. On failure whatever was created for it (VMAC) is removed again.
    pub async fn add_instance(&self, spec: InstanceSpec) -> Result<usize> {
        let (tx, rx) = oneshot::channel();
        self.send(Command::AddInstance(Box::new(spec), tx)).await?;
        rx.await.map_err(|_| stopped())?
    }

    /// Stops an instance for good: an Active sends priority 0 and releases its VIPs, the
    /// instance leaves its sync group and its VMAC is deleted. Returns once that is done. The
    /// index is never given to another instance.
    pub async fn remove_instance(&self, instance: usize) -> Result<()> {
        let (tx, rx) = oneshot::channel();
        self.send(Command::RemoveInstance(instance, tx)).await?;
        rx.await.map_err(|_| stopped())?
    }

    /// Replaces every sync group: names and member indexes (see
    /// [`vrrp_core::Node::set_sync_groups`]). Fails if a member does not exist or was removed.
    pub async fn set_sync_groups(&self, groups: Vec<(String, Vec<usize>)>) -> Result<()> {
        let (tx, rx) = oneshot::channel();
        self.send(Command::SyncGroups(groups, tx)).await?;
        rx.await.map_err(|_| stopped())?
    }

    /// Replaces the static addresses, routes and rules with the `static_*` fields of `cfg`
    /// (its other fields are not used): the dropped ones are removed, the new ones added, the
    /// unchanged ones left alone (a reload). Fails, changing nothing, if an interface they
    /// name is missing.
    pub async fn set_statics(&self, cfg: DriverConfig) -> Result<()> {
        let (tx, rx) = oneshot::channel();
        self.send(Command::Statics(Box::new(cfg), tx)).await?;
        rx.await.map_err(|_| stopped())?
    }

    /// Stops every router (priority-0 adverts from Actives, VIPs removed) and waits for the
    /// driver to finish.
    pub async fn shutdown(self) -> Result<()> {
        let (tx, rx) = oneshot::channel();
        if self.commands.send(Command::Shutdown(tx)).await.is_ok() {
            let _ = rx.await;
        }
        self.task.await.map_err(|e| Error::Invalid {
            context: "driver task".into(),
            message: e.to_string(),
        })?
    }

    async fn send(&self, cmd: Command) -> Result<()> {
        self.commands.send(cmd).await.map_err(|_| stopped())
    }
}

fn stopped() -> Error {
    Error::Invalid {
        context: "driver".into(),
        message: "the driver has stopped".into(),
    }
}
