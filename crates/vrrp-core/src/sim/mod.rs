//! A deterministic simulated L2 segment for tests and property checks (feature `sim`).
//!
//! [`Sim`] runs hosts on virtual time; each host is a [`Node`] with one or more routers and
//! its sync groups, as a daemon runs them. [`Sim::add_router`] adds a host with one router,
//! [`Sim::add_host`] one with several (and sync groups). Hosts exchange real encoded bytes:
//! every [`Transmit`] a node writes is parsed again with [`packet::parse`] (source = the
//! sender's primary address, TTL 255) and fed to the matching router (VRID and family) of every
//! other host, so the codec is exercised on every hop.
//!
//! The segment is impaired the way Linux `netem` would: per directed link between hosts a loss
//! probability, a base delay plus uniform jitter (which reorders), and an optional duplication
//! probability, all drawn from a seeded PRNG written here ([`SimRng`], splitmix64). On top of
//! that come partitions (two-way or one-way), crashes (the host vanishes as with `kill -9` of
//! its daemon: no priority-0 advert, its pending packets and timers are dropped), restarts (a
//! fresh node plus [`Input::Startup`]), graceful shutdowns ([`Input::Shutdown`], which does
//! send priority 0) and any other [`Input`] (priority and tracker changes). Faults can be
//! applied at once or scheduled for later. Faults and links name routers ([`SimId`]) and act on
//! their hosts.
//!
//! # Event loop
//! Like str0m's netem and quinn-proto's `Pair`, the loop always advances to whichever is
//! earliest: a scheduled fault, a node's [`Node::poll_timeout`], or a packet's delivery time.
//! Time only moves forward. Events at the same instant run in a fixed order, so a seed fully
//! determines a run:
//!
//! 1. scheduled faults, in the order they were scheduled;
//! 2. expired timers, lowest host first;
//! 3. packet deliveries, in the order they were sent;
//! 4. spurious `handle_timeout` calls (see [`Sim::set_spurious_timeouts`]).
//!
//! After each, the host's outputs are drained in the documented order ([`crate::output`]).
//!
//! # Records
//! Everything observable goes into the [`Sim::trace`] ([`TraceEvent`]): state changes with their
//! reasons, adverts sent, timers served, every delivery with the receiver's state and priority,
//! drops, crashes, restarts, inputs, commands, events and sync-group changes. [`Sim::history`]
//! answers the questions tests ask: who was Active at `t`, how many Actives, when a router
//! became Active, and which intervals had more than one Active.
//!
//! ```
//! use vrrp_core::sim::Sim;
//! use vrrp_core::{Duration, RouterConfig, State};
//!
//! let mut sim = Sim::new(7);
//! let vip = "192.0.2.1".parse().unwrap();
//! let mut low = RouterConfig::new("low", 1, "192.0.2.10".parse().unwrap(), vec![vip]);
//! low.priority = 100;
//! let mut high = low.clone();
//! high.name = "high".into();
//! high.primary_addr = "192.0.2.20".parse().unwrap();
//! high.priority = 200;
//! let (a, b) = (sim.add_router(low), sim.add_router(high));
//! sim.start_all();
//! sim.run_for(Duration::from_secs(10));
//! assert_eq!(sim.actives(), vec![b]);
//! assert_eq!(sim.router(a).state(), State::Backup);
//! ```

mod fault;
mod rng;
mod trace;

use core::fmt;
use core::net::IpAddr;
use std::collections::{BTreeMap, BTreeSet};

use crate::config::RouterConfig;
use crate::node::{Node, RouterId};
use crate::output::{Event, State};
use crate::packet::{self, RxMeta};
use crate::router::{Input, Router};
use crate::time::{Duration, Instant};
use crate::track::{Tracker, TrackerId};

pub use fault::{DropReason, Fault, LinkParams};
pub use rng::SimRng;
pub use trace::{Change, History, TraceEvent};

/// Events processed at one instant before the simulator declares a livelock and panics.
const LIVELOCK_LIMIT: u64 = 1_000_000;

/// Index of a router in a [`Sim`] (over all hosts).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SimId(pub usize);

impl fmt::Display for SimId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "r{}", self.0)
    }
}

/// Index of a host in a [`Sim`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct HostId(pub usize);

/// One simulated host: its routers' configurations, trackers and sync groups (what a restart
/// rebuilds from), and the live node.
#[derive(Clone, Debug)]
struct Host {
    cfgs: Vec<RouterConfig>,
    trackers: Vec<Vec<Tracker>>,
    /// Sync groups, members as local indexes.
    groups: Vec<(String, Vec<usize>)>,
    node: Node,
    /// Local index -> the node's router id.
    ids: Vec<RouterId>,
    /// Local index -> the global id.
    sim_ids: Vec<SimId>,
    alive: bool,
}

impl Host {
    /// The local index of the node's router `rid`.
    fn local(&self, rid: RouterId) -> usize {
        self.ids
            .iter()
            .position(|&x| x == rid)
            .expect("every router of a host has a local index")
    }

    /// A fresh node from the configurations, trackers and groups (not started).
    fn rebuild(&mut self) {
        let mut node = Node::new();
        let mut ids = Vec::with_capacity(self.cfgs.len());
        for (cfg, trackers) in self.cfgs.iter().zip(&self.trackers) {
            let mut router = Router::new(cfg.clone())
                .expect("the configuration was valid when the router was added");
            for t in trackers {
                router.add_tracker(t.clone());
            }
            ids.push(node.add_router(router));
        }
        for (name, members) in &self.groups {
            node.add_sync_group(name, members.iter().map(|&m| ids[m]).collect());
        }
        self.node = node;
        self.ids = ids;
    }
}

/// A packet on the wire.
#[derive(Clone, Debug)]
struct Packet {
    from: usize,
    to: usize,
    sender: SimId,
    src: IpAddr,
    dst: IpAddr,
    bytes: Vec<u8>,
}

/// A simulated L2 segment of VRRP hosts on virtual time. See the [module docs](self).
#[derive(Clone, Debug)]
pub struct Sim {
    now: Instant,
    rng: SimRng,
    hosts: Vec<Host>,
    /// Global router id -> (host, local index).
    routers: Vec<(usize, usize)>,
    default_link: LinkParams,
    links: BTreeMap<(usize, usize), LinkParams>,
    blocked: BTreeSet<(usize, usize)>,
    faults: BTreeMap<(Instant, u64), Fault>,
    packets: BTreeMap<(Instant, u64), Packet>,
    spurious: BTreeMap<(Instant, u64), usize>,
    spurious_rng: SimRng,
    spurious_gap: Option<Duration>,
    spurious_calls: u64,
    spurious_seq: u64,
    seq: u64,
    instant_events: u64,
    trace: Vec<TraceEvent>,
    history: History,
    buf: Vec<u8>,
}

impl Sim {
    /// An empty segment at time zero, with perfect links, whose randomness derives from `seed`.
    pub fn new(seed: u64) -> Self {
        Sim {
            now: Instant::ZERO,
            rng: SimRng::new(seed),
            hosts: Vec::new(),
            routers: Vec::new(),
            default_link: LinkParams::default(),
            links: BTreeMap::new(),
            blocked: BTreeSet::new(),
            faults: BTreeMap::new(),
            packets: BTreeMap::new(),
            spurious: BTreeMap::new(),
            spurious_rng: SimRng::new(seed ^ 0x5EED_0F5E_ED0F),
            spurious_gap: None,
            spurious_calls: 0,
            spurious_seq: 0,
            seq: 0,
            instant_events: 0,
            trace: Vec::new(),
            history: History::default(),
            buf: Vec::new(),
        }
    }

    /// Attaches a host with one router (in Initialize; start it with [`Sim::start`]).
    ///
    /// # Panics
    /// If the configuration is invalid ([`RouterConfig::validate`]).
    pub fn add_router(&mut self, cfg: RouterConfig) -> SimId {
        self.add_host(vec![cfg], Vec::new()).1[0]
    }

    /// Attaches a host running several routers, with sync groups (names and members as
    /// indexes into `cfgs`). Returns the host and its routers' ids, in `cfgs` order.
    ///
    /// # Panics
    /// If a configuration is invalid or a group names a router that is not in `cfgs`.
    pub fn add_host(
        &mut self,
        cfgs: Vec<RouterConfig>,
        groups: Vec<(String, Vec<usize>)>,
    ) -> (HostId, Vec<SimId>) {
        for cfg in &cfgs {
            if let Err(e) = cfg.validate() {
                panic!("invalid router configuration {}: {e}", cfg.name);
            }
        }
        assert!(
            groups.iter().flat_map(|(_, m)| m).all(|&m| m < cfgs.len()),
            "a sync group names a router the host does not have"
        );
        let h = self.hosts.len();
        let sim_ids: Vec<SimId> = (0..cfgs.len())
            .map(|k| SimId(self.routers.len() + k))
            .collect();
        for k in 0..cfgs.len() {
            self.routers.push((h, k));
        }
        let mut host = Host {
            trackers: vec![Vec::new(); cfgs.len()],
            cfgs,
            groups,
            node: Node::new(),
            ids: Vec::new(),
            sim_ids: sim_ids.clone(),
            alive: true,
        };
        host.rebuild();
        self.hosts.push(host);
        self.history.routers = self.routers.len();
        for &id in &sim_ids {
            self.history.push(self.now, id, Some(State::Initialize));
        }
        if self.spurious.is_empty() {
            self.schedule_spurious();
        }
        (HostId(h), sim_ids)
    }

    /// Registers a tracked object on a router; it is registered again on every restart.
    pub fn add_tracker(&mut self, id: SimId, tracker: Tracker) -> TrackerId {
        let (h, k) = self.routers[id.0];
        let host = &mut self.hosts[h];
        host.trackers[k].push(tracker.clone());
        let rid = host.ids[k];
        host.node
            .add_tracker(rid, tracker)
            .expect("a simulated router is never removed")
    }

    /// The router's live state machine (its last state if crashed).
    pub fn router(&self, id: SimId) -> &Router {
        let (h, k) = self.routers[id.0];
        let host = &self.hosts[h];
        host.node.router(host.ids[k])
    }

    /// The node of a host.
    pub fn node(&self, host: HostId) -> &Node {
        &self.hosts[host.0].node
    }

    /// The host a router runs on.
    pub fn host_of(&self, id: SimId) -> HostId {
        HostId(self.routers[id.0].0)
    }

    /// The configuration a restart uses.
    pub fn config(&self, id: SimId) -> &RouterConfig {
        let (h, k) = self.routers[id.0];
        &self.hosts[h].cfgs[k]
    }

    /// Replaces the configuration used by later restarts (the running router is unchanged).
    pub fn set_config(&mut self, id: SimId, cfg: RouterConfig) {
        let (h, k) = self.routers[id.0];
        self.hosts[h].cfgs[k] = cfg;
    }

    /// False while the router's host is crashed.
    pub fn is_alive(&self, id: SimId) -> bool {
        self.hosts[self.routers[id.0].0].alive
    }

    /// Every router id.
    pub fn ids(&self) -> impl Iterator<Item = SimId> {
        (0..self.routers.len()).map(SimId)
    }

    /// Number of routers (over all hosts).
    pub fn len(&self) -> usize {
        self.routers.len()
    }

    /// True when no router is attached.
    pub fn is_empty(&self) -> bool {
        self.routers.is_empty()
    }

    /// Current virtual time.
    pub fn now(&self) -> Instant {
        self.now
    }

    /// The live routers currently Active.
    pub fn actives(&self) -> Vec<SimId> {
        self.ids()
            .filter(|&id| self.is_alive(id) && self.router(id).state() == State::Active)
            .collect()
    }

    /// Everything that happened, in processing order.
    pub fn trace(&self) -> &[TraceEvent] {
        &self.trace
    }

    /// Every router's state over time.
    pub fn history(&self) -> &History {
        &self.history
    }

    /// Number of spurious `handle_timeout` calls made so far.
    pub fn spurious_calls(&self) -> u64 {
        self.spurious_calls
    }

    /// The default impairments, used by links without an override.
    pub fn link_defaults(&self) -> LinkParams {
        self.default_link
    }

    /// The impairments of the directed link from `from`'s host to `to`'s.
    pub fn link(&self, from: SimId, to: SimId) -> LinkParams {
        self.host_link(self.routers[from.0].0, self.routers[to.0].0)
    }

    fn host_link(&self, from: usize, to: usize) -> LinkParams {
        self.links
            .get(&(from, to))
            .copied()
            .unwrap_or(self.default_link)
    }

    /// Sets the loss probability of every link.
    pub fn set_loss(&mut self, p: f64) {
        self.apply(Fault::SetLoss(p));
    }

    /// Sets the base delay and jitter of every link.
    pub fn set_delay(&mut self, base: Duration, jitter: Duration) {
        self.apply(Fault::SetDelay(base, jitter));
    }

    /// Sets the duplication probability of every link.
    pub fn set_duplicate(&mut self, p: f64) {
        self.apply(Fault::SetDuplicate(p));
    }

    /// Overrides the impairments of the directed link `from -> to` (`None` restores defaults).
    pub fn set_link(&mut self, from: SimId, to: SimId, params: Option<LinkParams>) {
        self.apply(Fault::SetLink(from, to, params));
    }

    /// Cuts the hosts of `a` off from the hosts of `b` (both directions).
    pub fn partition(&mut self, a: &[SimId], b: &[SimId]) {
        self.apply(Fault::Partition(a.to_vec(), b.to_vec()));
    }

    /// Cuts the direction `from -> to` only (see [`Fault::Block`]).
    pub fn block(&mut self, from: &[SimId], to: &[SimId]) {
        self.apply(Fault::Block(from.to_vec(), to.to_vec()));
    }

    /// Removes every partition and one-way cut.
    pub fn heal(&mut self) {
        self.apply(Fault::Heal);
    }

    /// True when `from`'s host currently cannot reach `to`'s.
    pub fn is_blocked(&self, from: SimId, to: SimId) -> bool {
        let (a, b) = (self.routers[from.0].0, self.routers[to.0].0);
        self.blocked.contains(&(a, b))
    }

    /// Crashes a router's host now (see [`Fault::Crash`]).
    pub fn crash(&mut self, id: SimId) {
        self.apply(Fault::Crash(id));
    }

    /// Restarts a router's host now (see [`Fault::Restart`]).
    pub fn restart(&mut self, id: SimId) {
        self.apply(Fault::Restart(id));
    }

    /// Shuts a router down gracefully now ([`Input::Shutdown`]).
    pub fn shutdown(&mut self, id: SimId) {
        self.apply(Fault::Shutdown(id));
    }

    /// Gives an input to a router now (ignored while its host is crashed).
    pub fn input(&mut self, id: SimId, input: Input) {
        self.apply(Fault::Input(id, input));
    }

    /// Starts a router now ([`Input::Startup`]).
    pub fn start(&mut self, id: SimId) {
        self.input(id, Input::Startup);
    }

    /// Starts every router now, in id order.
    pub fn start_all(&mut self) {
        for i in 0..self.routers.len() {
            self.start(SimId(i));
        }
    }

    /// Schedules a fault at `at` (at `now` if `at` is in the past). Faults scheduled for the
    /// same instant run in the order they were scheduled, before anything else at that instant.
    pub fn schedule(&mut self, at: Instant, fault: Fault) {
        let at = at.max(self.now);
        let seq = self.next_seq();
        self.faults.insert((at, seq), fault);
    }

    /// Makes the simulator call `handle_timeout` spuriously: at random times about `mean_gap`
    /// apart, on a random host (skipped while crashed), one to three times in a row; a quarter
    /// of the calls land exactly on the host's next deadline, right after it was served. These
    /// calls use their own PRNG, so the rest of the run draws the same numbers as without
    /// them, and they are not traced: a correct router behaves identically (compare
    /// [`Sim::trace`]s). `None` turns them off.
    pub fn set_spurious_timeouts(&mut self, mean_gap: Option<Duration>) {
        self.spurious_gap = mean_gap.filter(|g| *g > Duration::ZERO);
        self.spurious.clear();
        self.schedule_spurious();
    }

    /// The time of the next event, if any.
    pub fn next_event_time(&self) -> Option<Instant> {
        let fault = self.faults.keys().next().map(|k| k.0);
        let packet = self.packets.keys().next().map(|k| k.0);
        let spurious = self.spurious.keys().next().map(|k| k.0);
        let timer = self.next_timer().map(|(t, _)| t);
        [fault, timer, packet, spurious].into_iter().flatten().min()
    }

    /// Processes the earliest event (advancing time to it). Returns false when nothing is
    /// pending at all (never while spurious timeouts are on: use [`Sim::run_until`]).
    ///
    /// # Panics
    /// If more than a million events happen at one instant (a livelock in the routers).
    pub fn step(&mut self) -> bool {
        let Some(t) = self.next_event_time() else {
            return false;
        };
        if t > self.now {
            self.now = t;
            self.history.now = t;
            self.instant_events = 0;
        }
        self.instant_events += 1;
        assert!(
            self.instant_events < LIVELOCK_LIMIT,
            "livelock: more than {LIVELOCK_LIMIT} events at {}",
            self.now
        );
        if let Some(entry) = self.faults.first_entry() {
            if entry.key().0 <= t {
                let fault = entry.remove();
                self.apply(fault);
                return true;
            }
        }
        if let Some((deadline, h)) = self.next_timer() {
            if deadline <= t {
                self.serve_timers(h, t);
                return true;
            }
        }
        if let Some(entry) = self.packets.first_entry() {
            if entry.key().0 <= t {
                let packet = entry.remove();
                self.deliver(packet);
                return true;
            }
        }
        if let Some(entry) = self.spurious.first_entry() {
            if entry.key().0 <= t {
                let h = entry.remove();
                self.spurious_call(h);
                self.schedule_spurious();
            }
        }
        true
    }

    /// Processes every event up to and including `t`, then sets the clock to `t` (if later).
    pub fn run_until(&mut self, t: Instant) {
        while self.next_event_time().is_some_and(|next| next <= t) {
            self.step();
        }
        if t > self.now {
            self.now = t;
            self.history.now = t;
            self.instant_events = 0;
        }
    }

    /// Runs for `d` of virtual time.
    pub fn run_for(&mut self, d: Duration) {
        self.run_until(self.now + d);
    }

    fn next_seq(&mut self) -> u64 {
        self.seq += 1;
        self.seq
    }

    /// The earliest deadline of any live host, and the host.
    fn next_timer(&self) -> Option<(Instant, usize)> {
        self.hosts
            .iter()
            .enumerate()
            .filter(|(_, h)| h.alive)
            .filter_map(|(i, h)| h.node.poll_timeout().map(|t| (t, i)))
            .min()
    }

    /// Serves host `h`'s expired timers at `t`, tracing each router that was due.
    fn serve_timers(&mut self, h: usize, t: Instant) {
        let host = &self.hosts[h];
        for (k, &rid) in host.ids.iter().enumerate() {
            let due = host.node.get(rid).and_then(Router::poll_timeout);
            if due.is_some_and(|d| d <= t) {
                self.trace.push(TraceEvent::Timeout {
                    at: t,
                    router: host.sim_ids[k],
                });
            }
        }
        self.hosts[h].node.handle_timeout(t);
        self.drain(h);
    }

    /// The hosts of a set of routers.
    fn hosts_of(&self, ids: &[SimId]) -> Vec<usize> {
        ids.iter().map(|id| self.routers[id.0].0).collect()
    }

    fn apply(&mut self, fault: Fault) {
        match fault {
            Fault::Crash(id) => self.crash_now(self.routers[id.0].0),
            Fault::Restart(id) => self.restart_now(self.routers[id.0].0),
            Fault::Shutdown(id) => self.input_now(id, Input::Shutdown),
            Fault::Input(id, input) => self.input_now(id, input),
            Fault::Partition(a, b) => {
                let (a, b) = (self.hosts_of(&a), self.hosts_of(&b));
                for &x in &a {
                    for &y in &b {
                        if x != y {
                            self.blocked.insert((x, y));
                            self.blocked.insert((y, x));
                        }
                    }
                }
            }
            Fault::Block(from, to) => {
                let (from, to) = (self.hosts_of(&from), self.hosts_of(&to));
                for &x in &from {
                    for &y in &to {
                        if x != y {
                            self.blocked.insert((x, y));
                        }
                    }
                }
            }
            Fault::Heal => self.blocked.clear(),
            Fault::SetLoss(p) => {
                self.default_link.loss = p;
                self.links.values_mut().for_each(|l| l.loss = p);
            }
            Fault::SetDelay(base, jitter) => {
                self.default_link.delay = base;
                self.default_link.jitter = jitter;
                self.links.values_mut().for_each(|l| {
                    l.delay = base;
                    l.jitter = jitter;
                });
            }
            Fault::SetDuplicate(p) => {
                self.default_link.duplicate = p;
                self.links.values_mut().for_each(|l| l.duplicate = p);
            }
            Fault::SetLink(a, b, params) => {
                let key = (self.routers[a.0].0, self.routers[b.0].0);
                match params {
                    Some(params) => self.links.insert(key, params),
                    None => self.links.remove(&key),
                };
            }
        }
    }

    fn restart_now(&mut self, h: usize) {
        if self.hosts[h].alive {
            self.crash_now(h);
        }
        let now = self.now;
        let host = &mut self.hosts[h];
        host.rebuild();
        host.alive = true;
        for &id in &host.sim_ids {
            self.trace.push(TraceEvent::Restarted {
                at: now,
                router: id,
            });
            self.history.push(now, id, Some(State::Initialize));
        }
        for id in self.hosts[h].sim_ids.clone() {
            self.input_now(id, Input::Startup);
        }
    }

    fn crash_now(&mut self, h: usize) {
        let host = &mut self.hosts[h];
        if !host.alive {
            return;
        }
        host.alive = false;
        // Whatever it had queued dies with it.
        while host.node.poll_transmit(&mut self.buf).is_some() {}
        while host.node.poll_command().is_some() {}
        while host.node.poll_event().is_some() {}
        while host.node.poll_group_event().is_some() {}
        self.packets.retain(|_, p| p.from != h && p.to != h);
        for &id in &self.hosts[h].sim_ids {
            self.trace.push(TraceEvent::Crashed {
                at: self.now,
                router: id,
            });
            self.history.push(self.now, id, None);
        }
    }

    fn input_now(&mut self, id: SimId, input: Input) {
        let (h, k) = self.routers[id.0];
        if !self.hosts[h].alive {
            return;
        }
        self.trace.push(TraceEvent::Input {
            at: self.now,
            router: id,
            input: input.clone(),
        });
        let rid = self.hosts[h].ids[k];
        self.hosts[h].node.handle(self.now, rid, input);
        self.drain(h);
    }

    /// Drains a host's outputs in the documented order: adverts go on the wire, everything
    /// is traced.
    fn drain(&mut self, h: usize) {
        let now = self.now;
        let mut buf = core::mem::take(&mut self.buf);
        while let Some((rid, tx)) = self.hosts[h].node.poll_transmit(&mut buf) {
            let router = self.sim_id(h, rid);
            if tx.dst == self.first_destination(router) {
                self.trace.push(TraceEvent::AdvertSent {
                    at: now,
                    router,
                    priority: tx.priority,
                    version: tx.version,
                });
            }
            self.transmit(h, router, tx.src, tx.dst, &buf[..tx.len]);
        }
        self.buf = buf;
        while let Some((rid, command)) = self.hosts[h].node.poll_command() {
            let router = self.sim_id(h, rid);
            self.trace.push(TraceEvent::Command {
                at: now,
                router,
                command,
            });
        }
        while let Some((rid, event)) = self.hosts[h].node.poll_event() {
            let router = self.sim_id(h, rid);
            match event {
                Event::StateChanged { from, to, reason } => {
                    let priority = self.router(router).effective_priority();
                    self.trace.push(TraceEvent::StateChanged {
                        at: now,
                        router,
                        from,
                        to,
                        reason,
                        priority,
                    });
                    self.history.push(now, router, Some(to));
                }
                event => self.trace.push(TraceEvent::Event {
                    at: now,
                    router,
                    event,
                }),
            }
        }
        while let Some(g) = self.hosts[h].node.poll_group_event() {
            self.trace.push(TraceEvent::GroupChanged {
                at: now,
                host: HostId(h),
                group: g.group,
                from: g.from,
                to: g.to,
            });
        }
    }

    fn sim_id(&self, h: usize, rid: RouterId) -> SimId {
        let host = &self.hosts[h];
        host.sim_ids[host.local(rid)]
    }

    /// The first destination of a router's adverts (an advert is traced once, there).
    fn first_destination(&self, id: SimId) -> IpAddr {
        self.router(id)
            .config()
            .advert_destination(0)
            .expect("every router has a destination")
    }

    /// Puts copies of one advert on the wire: to every other live host for multicast, to the
    /// hosts with a router whose primary address is `dst` for unicast.
    fn transmit(&mut self, h: usize, sender: SimId, src: IpAddr, dst: IpAddr, bytes: &[u8]) {
        for j in 0..self.hosts.len() {
            if j == h || !self.hosts[j].alive {
                continue;
            }
            let reaches = dst.is_multicast()
                || (self.hosts[j].node.routers()).any(|(_, r)| r.primary_addr() == dst);
            if reaches {
                self.send_copy(h, j, sender, src, dst, bytes);
            }
        }
    }

    fn send_copy(
        &mut self,
        from: usize,
        to: usize,
        sender: SimId,
        src: IpAddr,
        dst: IpAddr,
        bytes: &[u8],
    ) {
        let link = self.host_link(from, to);
        // Always the same draws per copy, whatever the parameters, so that changing one
        // impairment does not shift every later random number.
        let lost = self.rng.chance(link.loss);
        let delay = link.delay + Duration::from_micros(self.rng.below(link.jitter.as_micros() + 1));
        let dup = self.rng.chance(link.duplicate);
        let dup_delay =
            link.delay + Duration::from_micros(self.rng.below(link.jitter.as_micros() + 1));
        let now = self.now;
        let to_id = self.hosts[to].sim_ids[0];
        let reason = if self.blocked.contains(&(from, to)) {
            Some(DropReason::Partition)
        } else if lost {
            Some(DropReason::Loss)
        } else {
            None
        };
        if let Some(reason) = reason {
            self.trace.push(TraceEvent::Dropped {
                at: now,
                from: sender,
                to: to_id,
                reason,
            });
            return;
        }
        let copies: &[Duration] = if dup { &[delay, dup_delay] } else { &[delay] };
        for &d in copies {
            let seq = self.next_seq();
            let packet = Packet {
                from,
                to,
                sender,
                src,
                dst,
                bytes: bytes.to_vec(),
            };
            self.packets.insert((now + d, seq), packet);
        }
    }

    fn deliver(&mut self, p: Packet) {
        let now = self.now;
        if !self.hosts[p.to].alive {
            return;
        }
        if self.blocked.contains(&(p.from, p.to)) {
            self.trace.push(TraceEvent::Dropped {
                at: now,
                from: p.sender,
                to: self.hosts[p.to].sim_ids[0],
                reason: DropReason::Partition,
            });
            return;
        }
        let meta = RxMeta {
            src: p.src,
            dst: p.dst,
            ttl: packet::VRRP_TTL,
            ifindex: 1,
        };
        let adv = match packet::parse(&p.bytes, meta) {
            Ok(adv) => adv,
            Err(error) => {
                let to = self.hosts[p.to].sim_ids[0];
                self.trace.push(TraceEvent::RxError {
                    at: now,
                    from: p.sender,
                    to,
                    error,
                });
                return;
            }
        };
        let host = &self.hosts[p.to];
        let target = host.node.routers().find_map(|(rid, r)| {
            let c = r.config();
            (c.vrid == adv.vrid && c.family == adv.family()).then_some(rid)
        });
        let Some(rid) = target else {
            return;
        };
        let to = host.sim_ids[host.local(rid)];
        let receiver = host.node.router(rid);
        let (receiver_state, receiver_priority) = (receiver.state(), receiver.effective_priority());
        let result = self.hosts[p.to].node.handle_advert_for(now, rid, &adv);
        self.trace.push(TraceEvent::Delivered {
            at: now,
            from: p.sender,
            to,
            src: p.src,
            priority: adv.priority,
            interval_cs: adv.interval_cs,
            receiver_state,
            receiver_priority,
            result,
        });
        self.drain(p.to);
    }

    fn schedule_spurious(&mut self) {
        let Some(gap) = self.spurious_gap else {
            return;
        };
        if self.hosts.is_empty() {
            return;
        }
        let rng = &mut self.spurious_rng;
        let h = rng.below(self.hosts.len() as u64) as usize;
        let at_deadline = rng.chance(0.25);
        let random_at = self.now + Duration::from_micros(1 + rng.below(2 * gap.as_micros()));
        let host = &self.hosts[h];
        let at = match host.node.poll_timeout() {
            Some(deadline) if at_deadline && deadline >= self.now && host.alive => deadline,
            _ => random_at,
        };
        let seq = self.next_spurious_seq();
        self.spurious.insert((at, seq), h);
    }

    /// Spurious events get their own sequence numbers so that the packet sequence numbers (and
    /// therefore same-instant delivery order) are identical with and without them.
    fn next_spurious_seq(&mut self) -> u64 {
        self.spurious_seq += 1;
        self.spurious_seq
    }

    fn spurious_call(&mut self, h: usize) {
        if !self.hosts[h].alive {
            return;
        }
        let times = 1 + self.spurious_rng.below(3);
        for _ in 0..times {
            self.spurious_calls += 1;
            self.hosts[h].node.handle_timeout(self.now);
            self.drain(h);
        }
    }
}
