//! A deterministic simulated L2 segment for tests and property checks (feature `sim`).
//!
//! [`Sim`] runs N [`Router`]s on virtual time. Routers exchange real encoded bytes: every
//! [`Action::SendAdvert`] is built with [`Router::encode_advert`] for each of the router's
//! [`Router::advert_destinations`], and each copy is parsed again with [`packet::parse`] (source
//! = the sender's primary address, TTL 255) and fed to [`Router::handle_advert`] of every other
//! attached router, so the codec is exercised on every hop.
//!
//! The segment is impaired the way Linux `netem` would: per directed link a loss probability,
//! a base delay plus uniform jitter (which reorders), and an optional duplication probability,
//! all drawn from a seeded PRNG written here ([`SimRng`], splitmix64). On top of that come
//! partitions (two-way or one-way), crashes (the router vanishes as with `kill -9`: no priority-0 advert, its pending
//! packets and timers are dropped), restarts (a fresh [`Router::new`] plus [`Input::Startup`]),
//! graceful shutdowns ([`Input::Shutdown`], which does send priority 0) and any other [`Input`]
//! (priority and tracker changes). Faults can be applied at once or scheduled for later.
//!
//! # Event loop
//! Like str0m's netem and quinn-proto's `Pair`, the loop always advances to whichever is
//! earliest: a scheduled fault, a router's [`Router::poll_timeout`], or a packet's delivery
//! time. Time only moves forward. Events at the same instant run in a fixed order, so a seed
//! fully determines a run:
//!
//! 1. scheduled faults, in the order they were scheduled;
//! 2. expired router timers, lowest [`SimId`] first;
//! 3. packet deliveries, in the order they were sent;
//! 4. spurious [`Router::handle_timeout`] calls (see [`Sim::set_spurious_timeouts`]).
//!
//! # Records
//! Everything observable goes into the [`Sim::trace`] ([`TraceEvent`]): state changes with their
//! reasons, adverts sent, timers served, every delivery with the receiver's state and priority, drops, crashes,
//! restarts, inputs and all other actions. [`Sim::history`] answers the questions tests ask:
//! who was Active at `t`, how many Actives, when a router became Active, and which intervals had
//! more than one Active.
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

use core::fmt;
use core::net::IpAddr;
use std::collections::{BTreeMap, BTreeSet};

use crate::action::{Action, Reason, State};
use crate::config::RouterConfig;
use crate::packet::{self, RxError, RxMeta, Version};
use crate::router::{Input, Router};
use crate::stats::PolicyError;
use crate::time::{Duration, Instant};
use crate::track::{Tracker, TrackerId};

/// Events processed at one instant before the simulator declares a livelock and panics.
const LIVELOCK_LIMIT: u64 = 1_000_000;
/// Large enough for any advert (8 + 255 x 16 bytes, plus the VRRPv2 trailer).
const BUF_LEN: usize = 4200;

/// Index of a router in a [`Sim`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SimId(pub usize);

impl fmt::Display for SimId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "r{}", self.0)
    }
}

/// A small seeded PRNG (splitmix64): deterministic, no dependency.
#[derive(Clone, Debug)]
pub struct SimRng(u64);

impl SimRng {
    /// A generator seeded with `seed`.
    pub fn new(seed: u64) -> Self {
        SimRng(seed)
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A uniform float in `[0, 1)`.
    pub fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    /// A uniform integer in `0..n` (0 when `n` is 0).
    pub fn below(&mut self, n: u64) -> u64 {
        ((u128::from(self.next_u64()) * u128::from(n)) >> 64) as u64
    }

    /// True with probability `p`.
    pub fn chance(&mut self, p: f64) -> bool {
        self.unit() < p
    }
}

/// netem-style impairments of one directed link.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct LinkParams {
    /// Probability that a packet is lost, 0..1.
    pub loss: f64,
    /// Fixed one-way delay.
    pub delay: Duration,
    /// Extra delay drawn uniformly from `0..=jitter` per packet; reorders packets.
    pub jitter: Duration,
    /// Probability that a packet is delivered twice (each copy with its own delay), 0..1.
    pub duplicate: f64,
}

impl LinkParams {
    /// The largest delay a packet can get on this link.
    pub fn max_delay(&self) -> Duration {
        self.delay + self.jitter
    }
}

/// Something that happens to the segment or a router, now or at a scheduled time.
#[derive(Clone, Debug, PartialEq)]
pub enum Fault {
    /// The router vanishes (`kill -9`): it sends no priority 0, its timers stop, its queued
    /// actions are discarded, and every packet in flight from or to it is dropped. Inputs to
    /// it are ignored until a [`Fault::Restart`].
    Crash(SimId),
    /// A fresh [`Router::new`] from the router's configuration (and trackers), then
    /// [`Input::Startup`]. A running router is crashed first.
    Restart(SimId),
    /// Graceful shutdown: [`Input::Shutdown`] (an Active sends priority 0).
    Shutdown(SimId),
    /// Any other input to one router (startup, priority or tracker change, ...).
    Input(SimId, Input),
    /// Routers of the first set cannot hear those of the second, in both directions.
    /// Cumulative with earlier partitions.
    Partition(Vec<SimId>, Vec<SimId>),
    /// One-way cut: routers of the first set cannot reach those of the second, while the
    /// reverse direction still works (a unidirectional link failure). Cumulative.
    Block(Vec<SimId>, Vec<SimId>),
    /// Removes every partition and one-way cut.
    Heal,
    /// Sets the loss probability of every link, overridden ones included.
    SetLoss(f64),
    /// Sets the base delay and jitter of every link, overridden ones included.
    SetDelay(Duration, Duration),
    /// Sets the duplication probability of every link, overridden ones included.
    SetDuplicate(f64),
    /// Overrides (or with `None` restores) the impairments of one directed link.
    SetLink(SimId, SimId, Option<LinkParams>),
}

/// Why a packet was not delivered.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DropReason {
    /// The link's loss probability struck.
    Loss,
    /// A partition separated sender and receiver (at send or at delivery time).
    Partition,
}

/// One entry of the [`Sim::trace`].
#[derive(Clone, Debug, PartialEq)]
pub enum TraceEvent {
    /// A router changed state.
    StateChanged {
        /// When.
        at: Instant,
        /// Which router.
        router: SimId,
        /// Previous state.
        from: State,
        /// New state.
        to: State,
        /// Why, as the router said.
        reason: Reason,
        /// The router's effective priority right after the change.
        priority: u8,
    },
    /// A router sent an advert (one entry per [`Action::SendAdvert`]).
    AdvertSent {
        /// When.
        at: Instant,
        /// Sender.
        router: SimId,
        /// Advertised priority (0 when leaving).
        priority: u8,
        /// Protocol version.
        version: Version,
    },
    /// The simulator served a router's expired timer ([`Router::handle_timeout`] at its
    /// [`Router::poll_timeout`] deadline). Spurious calls are not traced.
    Timeout {
        /// When (the deadline).
        at: Instant,
        /// Which router.
        router: SimId,
    },
    /// An advert was parsed and handed to a router.
    Delivered {
        /// When.
        at: Instant,
        /// Sender.
        from: SimId,
        /// Receiver.
        to: SimId,
        /// IP source the receiver saw (the sender's primary address at send time).
        src: IpAddr,
        /// Advertised priority.
        priority: u8,
        /// Advertised interval in centiseconds.
        interval_cs: u16,
        /// The receiver's state before handling it.
        receiver_state: State,
        /// The receiver's effective priority before handling it.
        receiver_priority: u8,
        /// What [`Router::handle_advert`] returned.
        result: Result<(), PolicyError>,
    },
    /// A packet arrived but did not parse (never expected: the sim sends what routers build).
    RxError {
        /// When.
        at: Instant,
        /// Sender.
        from: SimId,
        /// Receiver.
        to: SimId,
        /// The codec's verdict.
        error: RxError,
    },
    /// A packet was lost or cut off.
    Dropped {
        /// When (send time for loss, send or delivery time for partitions).
        at: Instant,
        /// Sender.
        from: SimId,
        /// Intended receiver.
        to: SimId,
        /// Why.
        reason: DropReason,
    },
    /// A router crashed.
    Crashed {
        /// When.
        at: Instant,
        /// Which router.
        router: SimId,
    },
    /// A router was recreated (before its `Startup`).
    Restarted {
        /// When.
        at: Instant,
        /// Which router.
        router: SimId,
    },
    /// An input was given to a router.
    Input {
        /// When.
        at: Instant,
        /// Which router.
        router: SimId,
        /// The input.
        input: Input,
    },
    /// Any other action (addresses, announcements, priority changes, notices).
    Action {
        /// When.
        at: Instant,
        /// Which router.
        router: SimId,
        /// The action.
        action: Action,
    },
}

impl TraceEvent {
    /// When the event happened.
    pub fn at(&self) -> Instant {
        match self {
            TraceEvent::StateChanged { at, .. }
            | TraceEvent::AdvertSent { at, .. }
            | TraceEvent::Timeout { at, .. }
            | TraceEvent::Delivered { at, .. }
            | TraceEvent::RxError { at, .. }
            | TraceEvent::Dropped { at, .. }
            | TraceEvent::Crashed { at, .. }
            | TraceEvent::Restarted { at, .. }
            | TraceEvent::Input { at, .. }
            | TraceEvent::Action { at, .. } => *at,
        }
    }

    /// The router the event is about (the receiver for packets).
    pub fn router(&self) -> SimId {
        match self {
            TraceEvent::StateChanged { router, .. }
            | TraceEvent::AdvertSent { router, .. }
            | TraceEvent::Timeout { router, .. }
            | TraceEvent::Crashed { router, .. }
            | TraceEvent::Restarted { router, .. }
            | TraceEvent::Input { router, .. }
            | TraceEvent::Action { router, .. } => *router,
            TraceEvent::Delivered { to, .. }
            | TraceEvent::RxError { to, .. }
            | TraceEvent::Dropped { to, .. } => *to,
        }
    }
}

/// One change in a router's simulated state: a protocol state, or `None` once crashed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Change {
    /// When.
    pub at: Instant,
    /// Which router.
    pub router: SimId,
    /// The new state; `None` while the router is crashed.
    pub state: Option<State>,
}

/// The state history of every router, in processing order.
///
/// Several changes can share an instant (with zero delay a router can become Active and be
/// demoted at the same `t`); queries "at `t`" see the state after every change at `t`.
#[derive(Clone, Debug, Default)]
pub struct History {
    changes: Vec<Change>,
    routers: usize,
    now: Instant,
}

impl History {
    /// Every change, in processing order.
    pub fn changes(&self) -> &[Change] {
        &self.changes
    }

    /// The time the history extends to (the simulator's `now`).
    pub fn now(&self) -> Instant {
        self.now
    }

    /// A router's state at `t` (after every change at `t`); `None` if crashed or not yet added.
    pub fn state_at(&self, id: SimId, t: Instant) -> Option<State> {
        self.changes
            .iter()
            .take_while(|c| c.at <= t)
            .filter(|c| c.router == id)
            .last()
            .and_then(|c| c.state)
    }

    /// The routers that were Active at `t`.
    pub fn actives_at(&self, t: Instant) -> Vec<SimId> {
        (0..self.routers)
            .map(SimId)
            .filter(|&id| self.state_at(id, t) == Some(State::Active))
            .collect()
    }

    /// How many routers were Active at `t`.
    pub fn active_count_at(&self, t: Instant) -> usize {
        self.actives_at(t).len()
    }

    /// The first time at or after `t0` when router `id` became Active.
    pub fn became_active_after(&self, id: SimId, t0: Instant) -> Option<Instant> {
        self.changes
            .iter()
            .find(|c| c.router == id && c.at >= t0 && c.state == Some(State::Active))
            .map(|c| c.at)
    }

    /// The first time at or after `t0` when any router became Active, and which.
    pub fn first_active_after(&self, t0: Instant) -> Option<(Instant, SimId)> {
        self.changes
            .iter()
            .find(|c| c.at >= t0 && c.state == Some(State::Active))
            .map(|c| (c.at, c.router))
    }

    /// The changes at or after `t0`.
    pub fn changes_after(&self, t0: Instant) -> impl Iterator<Item = &Change> {
        self.changes.iter().filter(move |c| c.at >= t0)
    }

    /// Every interval `[start, end)` during which more than one router was Active. An interval
    /// still open is closed at [`History::now`]. Zero-length intervals (two Actives that settle
    /// within one instant) are included.
    pub fn multi_active_intervals(&self) -> Vec<(Instant, Instant)> {
        let mut state: Vec<Option<State>> = vec![None; self.routers];
        let mut out = Vec::new();
        let mut open: Option<Instant> = None;
        for c in &self.changes {
            state[c.router.0] = c.state;
            let n = state.iter().filter(|s| **s == Some(State::Active)).count();
            match (open, n > 1) {
                (None, true) => open = Some(c.at),
                (Some(start), false) => {
                    out.push((start, c.at));
                    open = None;
                }
                _ => {}
            }
        }
        if let Some(start) = open {
            out.push((start, self.now));
        }
        out
    }

    fn push(&mut self, at: Instant, router: SimId, state: Option<State>) {
        self.changes.push(Change { at, router, state });
    }
}

/// One simulated router: its configuration, trackers and live state machine.
#[derive(Clone, Debug)]
struct Slot {
    cfg: RouterConfig,
    trackers: Vec<Tracker>,
    router: Router,
    alive: bool,
}

/// A packet on the wire.
#[derive(Clone, Debug)]
struct Packet {
    from: usize,
    to: usize,
    src: IpAddr,
    dst: IpAddr,
    bytes: Vec<u8>,
}

/// A simulated L2 segment of VRRP routers on virtual time. See the [module docs](self).
#[derive(Clone, Debug)]
pub struct Sim {
    now: Instant,
    rng: SimRng,
    slots: Vec<Slot>,
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
            slots: Vec::new(),
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
            buf: vec![0; BUF_LEN],
        }
    }

    /// Attaches a router (in Initialize; start it with [`Sim::start`]).
    ///
    /// # Panics
    /// If the configuration is invalid ([`RouterConfig::validate`]).
    pub fn add_router(&mut self, cfg: RouterConfig) -> SimId {
        let router = match Router::new(cfg.clone()) {
            Ok(r) => r,
            Err(e) => panic!("invalid router configuration {}: {e}", cfg.name),
        };
        self.slots.push(Slot {
            cfg,
            trackers: Vec::new(),
            router,
            alive: true,
        });
        let id = SimId(self.slots.len() - 1);
        self.history.routers = self.slots.len();
        self.history.push(self.now, id, Some(State::Initialize));
        if self.spurious.is_empty() {
            self.schedule_spurious();
        }
        id
    }

    /// Registers a tracked object on a router; it is registered again on every restart.
    pub fn add_tracker(&mut self, id: SimId, tracker: Tracker) -> TrackerId {
        let slot = &mut self.slots[id.0];
        slot.trackers.push(tracker.clone());
        slot.router.add_tracker(tracker)
    }

    /// The router's live state machine (its last state if crashed).
    pub fn router(&self, id: SimId) -> &Router {
        &self.slots[id.0].router
    }

    /// The configuration a restart uses.
    pub fn config(&self, id: SimId) -> &RouterConfig {
        &self.slots[id.0].cfg
    }

    /// Replaces the configuration used by later restarts (the running router is unchanged).
    pub fn set_config(&mut self, id: SimId, cfg: RouterConfig) {
        self.slots[id.0].cfg = cfg;
    }

    /// False while the router is crashed.
    pub fn is_alive(&self, id: SimId) -> bool {
        self.slots[id.0].alive
    }

    /// Every router id.
    pub fn ids(&self) -> impl Iterator<Item = SimId> {
        (0..self.slots.len()).map(SimId)
    }

    /// Number of routers.
    pub fn len(&self) -> usize {
        self.slots.len()
    }

    /// True when no router is attached.
    pub fn is_empty(&self) -> bool {
        self.slots.is_empty()
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

    /// Number of spurious [`Router::handle_timeout`] calls made so far.
    pub fn spurious_calls(&self) -> u64 {
        self.spurious_calls
    }

    /// The default impairments, used by links without an override.
    pub fn link_defaults(&self) -> LinkParams {
        self.default_link
    }

    /// The impairments of the directed link `from -> to`.
    pub fn link(&self, from: SimId, to: SimId) -> LinkParams {
        self.links
            .get(&(from.0, to.0))
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

    /// Cuts every router of `a` off from every router of `b` (both directions).
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

    /// True when `from` currently cannot reach `to`.
    pub fn is_blocked(&self, from: SimId, to: SimId) -> bool {
        self.blocked.contains(&(from.0, to.0))
    }

    /// Crashes a router now (see [`Fault::Crash`]).
    pub fn crash(&mut self, id: SimId) {
        self.apply(Fault::Crash(id));
    }

    /// Restarts a router now (see [`Fault::Restart`]).
    pub fn restart(&mut self, id: SimId) {
        self.apply(Fault::Restart(id));
    }

    /// Shuts a router down gracefully now ([`Input::Shutdown`]).
    pub fn shutdown(&mut self, id: SimId) {
        self.apply(Fault::Shutdown(id));
    }

    /// Gives an input to a router now (ignored while it is crashed).
    pub fn input(&mut self, id: SimId, input: Input) {
        self.apply(Fault::Input(id, input));
    }

    /// Starts a router now ([`Input::Startup`]).
    pub fn start(&mut self, id: SimId) {
        self.input(id, Input::Startup);
    }

    /// Starts every router now, in id order.
    pub fn start_all(&mut self) {
        for i in 0..self.slots.len() {
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

    /// Makes the simulator call [`Router::handle_timeout`] spuriously: at random times about
    /// `mean_gap` apart, on a random router (skipped while crashed), one to three times in a
    /// row; a quarter of the calls land exactly on some router's deadline, right after it was
    /// served. These calls use their own PRNG, so the rest of the run draws the same numbers as
    /// without them, and they are not traced: a correct router behaves identically (compare
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
        if let Some((deadline, i)) = self.next_timer() {
            if deadline <= t {
                self.trace.push(TraceEvent::Timeout {
                    at: t,
                    router: SimId(i),
                });
                self.slots[i].router.handle_timeout(t);
                self.drain(i);
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
                let i = entry.remove();
                self.spurious_call(i);
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

    fn next_timer(&self) -> Option<(Instant, usize)> {
        self.slots
            .iter()
            .enumerate()
            .filter(|(_, s)| s.alive)
            .filter_map(|(i, s)| s.router.poll_timeout().map(|t| (t, i)))
            .min()
    }

    fn apply(&mut self, fault: Fault) {
        let now = self.now;
        match fault {
            Fault::Crash(id) => self.crash_now(id),
            Fault::Restart(id) => {
                if self.slots[id.0].alive {
                    self.crash_now(id);
                }
                let slot = &mut self.slots[id.0];
                let mut router = Router::new(slot.cfg.clone())
                    .expect("the configuration was valid when the router was added");
                for t in &slot.trackers {
                    router.add_tracker(t.clone());
                }
                slot.router = router;
                slot.alive = true;
                self.trace.push(TraceEvent::Restarted {
                    at: now,
                    router: id,
                });
                self.history.push(now, id, Some(State::Initialize));
                self.input_now(id, Input::Startup);
            }
            Fault::Shutdown(id) => self.input_now(id, Input::Shutdown),
            Fault::Input(id, input) => self.input_now(id, input),
            Fault::Partition(a, b) => {
                for x in &a {
                    for y in &b {
                        if x != y {
                            self.blocked.insert((x.0, y.0));
                            self.blocked.insert((y.0, x.0));
                        }
                    }
                }
            }
            Fault::Block(from, to) => {
                for x in &from {
                    for y in &to {
                        if x != y {
                            self.blocked.insert((x.0, y.0));
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
            Fault::SetLink(a, b, Some(params)) => {
                self.links.insert((a.0, b.0), params);
            }
            Fault::SetLink(a, b, None) => {
                self.links.remove(&(a.0, b.0));
            }
        }
    }

    fn crash_now(&mut self, id: SimId) {
        let slot = &mut self.slots[id.0];
        if !slot.alive {
            return;
        }
        slot.alive = false;
        // Whatever it had queued dies with it.
        while slot.router.poll_action().is_some() {}
        self.packets.retain(|_, p| p.from != id.0 && p.to != id.0);
        self.trace.push(TraceEvent::Crashed {
            at: self.now,
            router: id,
        });
        self.history.push(self.now, id, None);
    }

    fn input_now(&mut self, id: SimId, input: Input) {
        if !self.slots[id.0].alive {
            return;
        }
        self.trace.push(TraceEvent::Input {
            at: self.now,
            router: id,
            input: input.clone(),
        });
        self.slots[id.0].router.handle(self.now, input);
        self.drain(id.0);
    }

    /// Drains a router's actions: adverts go on the wire, everything is traced.
    fn drain(&mut self, i: usize) {
        let now = self.now;
        let router = SimId(i);
        while let Some(action) = self.slots[i].router.poll_action() {
            match action {
                Action::SendAdvert { version, priority } => {
                    self.trace.push(TraceEvent::AdvertSent {
                        at: now,
                        router,
                        priority,
                        version,
                    });
                    self.transmit(i, version, priority);
                }
                Action::StateChanged { from, to, reason } => {
                    let priority = self.slots[i].router.effective_priority();
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
                action => self.trace.push(TraceEvent::Action {
                    at: now,
                    router,
                    action,
                }),
            }
        }
    }

    fn transmit(&mut self, i: usize, version: Version, priority: u8) {
        let sender = &self.slots[i].router;
        let src = sender.config().primary_addr;
        let dsts: Vec<IpAddr> = sender.advert_destinations().collect();
        for dst in dsts {
            let len =
                match self.slots[i]
                    .router
                    .encode_advert(version, priority, dst, &mut self.buf)
                {
                    Ok(len) => len,
                    Err(e) => panic!("router {i} cannot encode its advert: {e}"),
                };
            let bytes = self.buf[..len].to_vec();
            for j in 0..self.slots.len() {
                if j == i || !self.slots[j].alive {
                    continue;
                }
                let unicast_to_other =
                    !dst.is_multicast() && self.slots[j].router.config().primary_addr != dst;
                if unicast_to_other {
                    continue;
                }
                self.send_copy(i, j, src, dst, &bytes);
            }
        }
    }

    fn send_copy(&mut self, from: usize, to: usize, src: IpAddr, dst: IpAddr, bytes: &[u8]) {
        let link = self.link(SimId(from), SimId(to));
        // Always the same draws per copy, whatever the parameters, so that changing one
        // impairment does not shift every later random number.
        let lost = self.rng.chance(link.loss);
        let delay = link.delay + Duration::from_micros(self.rng.below(link.jitter.as_micros() + 1));
        let dup = self.rng.chance(link.duplicate);
        let dup_delay =
            link.delay + Duration::from_micros(self.rng.below(link.jitter.as_micros() + 1));
        let (now, from_id, to_id) = (self.now, SimId(from), SimId(to));
        if self.blocked.contains(&(from, to)) {
            let reason = DropReason::Partition;
            self.trace.push(TraceEvent::Dropped {
                at: now,
                from: from_id,
                to: to_id,
                reason,
            });
            return;
        }
        if lost {
            let reason = DropReason::Loss;
            self.trace.push(TraceEvent::Dropped {
                at: now,
                from: from_id,
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
                src,
                dst,
                bytes: bytes.to_vec(),
            };
            self.packets.insert((now + d, seq), packet);
        }
    }

    fn deliver(&mut self, p: Packet) {
        let (now, from, to) = (self.now, SimId(p.from), SimId(p.to));
        if !self.slots[p.to].alive {
            return;
        }
        if self.blocked.contains(&(p.from, p.to)) {
            let reason = DropReason::Partition;
            self.trace.push(TraceEvent::Dropped {
                at: now,
                from,
                to,
                reason,
            });
            return;
        }
        let meta = RxMeta {
            src: p.src,
            dst: p.dst,
            ttl: packet::VRRP_TTL,
            ifindex: 1,
        };
        let router = &mut self.slots[p.to].router;
        match packet::parse(&p.bytes, meta) {
            Ok(adv) => {
                let receiver_state = router.state();
                let receiver_priority = router.effective_priority();
                let result = router.handle_advert(now, &adv);
                self.trace.push(TraceEvent::Delivered {
                    at: now,
                    from,
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
            Err(error) => {
                router.handle_rx_error(&error);
                self.trace.push(TraceEvent::RxError {
                    at: now,
                    from,
                    to,
                    error,
                });
            }
        }
    }

    fn schedule_spurious(&mut self) {
        let Some(gap) = self.spurious_gap else {
            return;
        };
        if self.slots.is_empty() {
            return;
        }
        let rng = &mut self.spurious_rng;
        let i = rng.below(self.slots.len() as u64) as usize;
        let at_deadline = rng.chance(0.25);
        let random_at = self.now + Duration::from_micros(1 + rng.below(2 * gap.as_micros()));
        let at = match self.slots[i].router.poll_timeout() {
            Some(deadline) if at_deadline && deadline >= self.now && self.slots[i].alive => {
                deadline
            }
            _ => random_at,
        };
        let seq = self.next_spurious_seq();
        self.spurious.insert((at, seq), i);
    }

    /// Spurious events get their own sequence numbers so that the packet sequence numbers (and
    /// therefore same-instant delivery order) are identical with and without them.
    fn next_spurious_seq(&mut self) -> u64 {
        self.spurious_seq += 1;
        self.spurious_seq
    }

    fn spurious_call(&mut self, i: usize) {
        if !self.slots[i].alive {
            return;
        }
        let times = 1 + self.spurious_rng.below(3);
        for _ in 0..times {
            self.spurious_calls += 1;
            self.slots[i].router.handle_timeout(self.now);
            self.drain(i);
        }
    }
}
