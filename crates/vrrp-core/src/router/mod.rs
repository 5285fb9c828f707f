//! One virtual router: the RFC 9568 state machine (§6.4) plus keepalived's Fault state.
//!
//! Inputs carry `now`; outputs are drained by kind ([`crate::output`]): [`Router::poll_transmit`],
//! [`Router::poll_command`], [`Router::poll_event`]. The next deadline comes from
//! [`Router::poll_timeout`] and is served by [`Router::handle_timeout`], which is harmless when
//! called early, late or repeatedly. The configuration never changes but through
//! [`Router::reconfigure`]; values that inputs change (base priority, primary address) are
//! router state. Requirement numbers (R8..R23) refer to `rfc9568-checklist.md`.

mod input;
mod receive;
mod status;

use core::net::IpAddr;
use std::sync::Arc;

use crate::announce::{self, AnnounceSchedule};
use crate::auth_hmac::{Authenticator, Binding, ReplayGuard, WallClock, TRAILER_LEN};
use crate::config::{ConfigError, RouterConfig, VersionMode, OWNER_PRIORITY};
use crate::output::{Cause, Command, Event, Notice, Outputs, Reason, State, Transmit};
use crate::packet::{self, Advert, AdvertSpec, Family, RxError, Version};
use crate::stats::Stats;
use crate::time::{Duration, Instant};
use crate::timer::{Timer, TimerTable};
use crate::track::{self, TrackState, Tracker, TrackerId};

pub use input::{Input, SyncCommand};
pub use status::{Status, TrackerStatus};

/// Minimum time between two notices of the same kind.
const NOTICE_GAP: Duration = Duration::from_secs(10);
/// Minimum time between two switches of the sent checksum form.
const CHECKSUM_SWITCH_GAP: Duration = Duration::from_secs(60);
/// How much earlier than one interval after the previous advert the next may leave. Adverts are
/// scheduled from the previous *deadline*, not from the moment the previous one left, so a
/// wake-up's lateness does not accumulate and the long-run rate is the configured one; a send
/// later than this re-anchors the schedule, so no gap between two scheduled adverts is shorter
/// than the interval minus this (docs/decisions/0004-advert-schedule.md).
pub const ADVERT_SLACK: Duration = Duration::from_millis(1);

/// Why the Active_Down_Timer is running: the reason given when it fires.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum DownCause {
    Silent(Option<IpAddr>),
    Left(IpAddr),
    Preempting { from: IpAddr, priority: u8 },
}

/// One virtual router.
#[derive(Clone, Debug)]
pub struct Router {
    /// As configured; replaced only by [`Router::reconfigure`].
    cfg: RouterConfig,
    trackers: Vec<(Tracker, TrackState)>,
    state: State,
    /// When `state` was entered.
    since: Option<Instant>,
    running: bool,
    link_up: bool,
    sync_fault: Option<(Arc<str>, Arc<str>)>,
    /// The source address is present (`Input::SourceAddress`).
    source_present: bool,
    /// The base priority in use: the configured one, or one set at runtime.
    base_priority: u8,
    /// The advert source and tie-breaker in use.
    primary_addr: IpAddr,
    effective: u8,
    active_adver_interval: Duration,
    timers: TimerTable,
    announce: AnnounceSchedule,
    preempt_until: Option<Instant>,
    down_cause: DownCause,
    last_active: Option<IpAddr>,
    last_active_priority: Option<u8>,
    last_v3_sender: Option<(IpAddr, Instant)>,
    /// The source of the last advert a Backup took for the Active's (keepalived's
    /// `master_saddr`): `skip_check_adv_addr` skips the address check of its next ones.
    master_src: Option<IpAddr>,
    /// The checksum form sent now, and when it last changed.
    send_form: packet::ChecksumForm,
    send_form_changed: Option<Instant>,
    notice_at: [Option<Instant>; Notice::KINDS],
    /// Notices raised while handling one input, queued after its other events.
    pending_notices: [Option<Notice>; Notice::KINDS],
    out: Outputs,
    stats: Stats,
    /// In maintenance ([`Input::Maintenance`]): never Active.
    maintenance: bool,
    /// `auth_hmac`: the keys, the send sequence and the senders' replay marks.
    hmac: Option<Authenticator>,
    /// The last [`Input::WallClock`]: the wall clock read at that `now`.
    wall: Option<(Instant, WallClock)>,
}

impl Router {
    /// A router in Initialize. Fails if the configuration is invalid.
    pub fn new(cfg: RouterConfig) -> Result<Router, ConfigError> {
        cfg.validate()?;
        Ok(Router {
            effective: cfg.priority,
            base_priority: cfg.priority,
            primary_addr: cfg.primary_addr,
            active_adver_interval: cfg.advert_interval(),
            trackers: Vec::new(),
            state: State::Initialize,
            since: None,
            running: false,
            link_up: true,
            sync_fault: None,
            source_present: true,
            timers: TimerTable::default(),
            announce: AnnounceSchedule::default(),
            preempt_until: None,
            down_cause: DownCause::Silent(None),
            last_active: None,
            last_active_priority: None,
            last_v3_sender: None,
            master_src: None,
            send_form: cfg.checksum_form,
            send_form_changed: None,
            notice_at: [None; Notice::KINDS],
            pending_notices: [None; Notice::KINDS],
            out: Outputs::default(),
            stats: Stats::default(),
            maintenance: false,
            hmac: cfg
                .auth_hmac
                .clone()
                .map(|c| Authenticator::new(c, replay_guard(&cfg))),
            wall: None,
            cfg,
        })
    }

    /// Registers a tracked object (state [`TrackState::Unknown`] until reported).
    pub fn add_tracker(&mut self, tracker: Tracker) -> TrackerId {
        self.trackers.push((tracker, TrackState::Unknown));
        TrackerId((self.trackers.len() - 1) as u16)
    }

    /// Replaces every tracked object at once (a reload), each with its current state; the
    /// effective priority and Fault are recomputed once, so no intermediate priority is seen.
    /// Tracker ids become the positions in `trackers`.
    pub fn set_trackers(&mut self, now: Instant, trackers: Vec<(Tracker, TrackState)>) {
        self.trackers = trackers;
        self.recompute_priority(now, Cause::Reconfigured);
        self.reevaluate_fault(now, "configuration reloaded");
    }

    /// The configuration, as given to [`Router::new`] or [`Router::reconfigure`].
    pub fn config(&self) -> &RouterConfig {
        &self.cfg
    }

    /// Current state.
    pub fn state(&self) -> State {
        self.state
    }

    /// Effective priority (base plus tracking; 255 for the owner).
    pub fn effective_priority(&self) -> u8 {
        self.effective
    }

    /// The base priority in use (the configured one unless set with [`Input::SetPriority`]).
    pub fn base_priority(&self) -> u8 {
        self.base_priority
    }

    /// The advert source and tie-breaker in use.
    pub fn primary_addr(&self) -> IpAddr {
        self.primary_addr
    }

    /// Counters.
    pub fn stats(&self) -> &Stats {
        &self.stats
    }

    /// The registered trackers and their last states.
    pub fn trackers(&self) -> impl Iterator<Item = (&Tracker, TrackState)> {
        self.trackers.iter().map(|(t, s)| (t, *s))
    }

    /// The Active_Adver_Interval in use (learned from the Active while Backup; R4, R15).
    pub fn active_adver_interval(&self) -> Duration {
        self.active_adver_interval
    }

    /// Skew_Time for our effective priority and the current Active_Adver_Interval (R3).
    pub fn skew_time(&self) -> Duration {
        skew_time(self.cfg.version, self.effective, self.active_adver_interval)
    }

    /// Active_Down_Interval (R3): `down_timer_adverts` intervals plus Skew_Time.
    pub fn active_down_interval(&self) -> Duration {
        self.active_adver_interval
            .saturating_mul(u64::from(self.cfg.down_timer_adverts))
            + self.skew_time()
    }

    /// The earliest deadline at which [`Router::handle_timeout`] has work.
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.timers.next_deadline()
    }

    /// Writes the next advert into `buf` (cleared and resized to the message) and says where
    /// it goes; `None` when no advert is queued. Drain before [`Router::poll_command`].
    pub fn poll_transmit(&mut self, buf: &mut Vec<u8>) -> Option<Transmit> {
        loop {
            let queued = self.out.adverts.front_mut()?;
            let dst = self.cfg.advert_destination(queued.next_dst);
            let (version, priority, trailer) = (queued.version, queued.priority, queued.trailer);
            queued.next_dst += 1;
            if self.cfg.advert_destination(queued.next_dst).is_none() {
                self.out.adverts.pop_front();
            }
            let Some(dst) = dst else { continue };
            let len = self.encode_advert(version, priority, dst, trailer, buf);
            return Some(Transmit {
                src: self.primary_addr,
                dst,
                len,
                version,
                priority,
            });
        }
    }

    /// The next kernel command: address changes first, then announcements
    /// ([`crate::output`]). Drain after [`Router::poll_transmit`].
    pub fn poll_command(&mut self) -> Option<Command> {
        self.poll_address_change().or_else(|| self.poll_announce())
    }

    /// The next application event. Drain after [`Router::poll_command`].
    pub fn poll_event(&mut self) -> Option<Event> {
        self.out.pop_event()
    }

    /// The next address change only (for [`crate::Node`]'s ordering across routers).
    pub(crate) fn poll_address_change(&mut self) -> Option<Command> {
        self.out.pop_address()
    }

    /// The next announcement only. Counted when handed out: one of an address removed before
    /// it was drained is never sent.
    pub(crate) fn poll_announce(&mut self) -> Option<Command> {
        let announce = self.out.pop_announce()?;
        if matches!(announce, Command::Announce(_)) {
            self.stats.announcements += 1;
        }
        Some(announce)
    }

    /// True when no output of any kind is queued.
    pub(crate) fn is_drained(&self) -> bool {
        self.out.is_empty()
    }

    /// The kinds of output queued (bits, see [`crate::output`]).
    pub(crate) fn output_kinds(&self) -> u8 {
        self.out.kinds()
    }

    /// Encodes an advert into `buf`; returns its length.
    fn encode_advert(
        &self,
        version: Version,
        priority: u8,
        dst: IpAddr,
        trailer: Option<[u8; TRAILER_LEN]>,
        buf: &mut Vec<u8>,
    ) -> usize {
        let spec = self.advert_spec(version, priority);
        buf.clear();
        buf.resize(packet::advert_len(&spec, self.cfg.family) + TRAILER_LEN, 0);
        // A validated configuration always builds: one family, 1..255 addresses, v2 on IPv4.
        let len = match trailer {
            Some(t) => packet::build_with_trailer(&spec, self.primary_addr, dst, |_| t, buf),
            None => packet::build(&spec, self.primary_addr, dst, buf),
        }
        .expect("a validated configuration builds its advert");
        buf.truncate(len);
        len
    }

    /// The `auth_hmac` trailer of an advert decided at `now`, or `None` when the router does
    /// not sign.
    fn sign_advert(
        &mut self,
        now: Instant,
        version: Version,
        priority: u8,
    ) -> Option<[u8; TRAILER_LEN]> {
        if !self.hmac.as_ref()?.config().mode.signs() {
            return None;
        }
        let wall = self.wall_at(now);
        let spec = self.advert_spec(version, priority);
        let mut message = vec![0; packet::advert_len(&spec, self.cfg.family)];
        // The HMAC reads the checksum as zero, so any destination gives the same trailer.
        let dst = self.cfg.multicast_group();
        let len = packet::build(&spec, self.primary_addr, dst, &mut message)
            .expect("a validated configuration builds its advert");
        let binding = Binding::new(version, self.cfg.vrid, self.primary_addr);
        let trailer = self.hmac.as_mut()?.sign(wall, &binding, &message[..len]);
        if trailer.is_some() {
            self.stats.auth_hmac_signed_tx += 1;
        }
        trailer
    }

    /// What an advert of `version` at `priority` carries.
    fn advert_spec(&self, version: Version, priority: u8) -> AdvertSpec<'_> {
        let (auth_type, auth_data) = self.cfg.auth.wire();
        AdvertSpec {
            version,
            vrid: self.cfg.vrid,
            priority,
            interval_cs: self.cfg.advert_interval_cs,
            addrs: &self.cfg.vips,
            checksum_form: self.send_form,
            auth_type,
            auth_data,
        }
    }

    /// Resets every counter to zero (keepalived's `STATS_CLEAR` signal). State, timers and
    /// everything else are untouched.
    pub fn clear_stats(&mut self) {
        self.stats = Stats::default();
    }

    /// Counts a codec error for a packet the data plane attributed to this router.
    pub fn handle_rx_error(&mut self, err: &RxError) {
        self.stats.count_rx_error(err);
    }

    /// Handles an input other than an advert.
    pub fn handle(&mut self, now: Instant, input: Input) {
        match input {
            Input::Startup => self.startup(now),
            Input::Shutdown => self.shutdown(now),
            Input::LinkUp => {
                self.link_up = true;
                self.reevaluate_fault(now, "interface up");
            }
            Input::LinkDown => {
                self.link_up = false;
                self.reevaluate_fault(now, "interface down");
            }
            Input::Tracker(id, state) => self.set_tracker(now, id, state),
            Input::SetPriority(p) => self.set_base_priority(now, p),
            Input::PrimaryAddress(addr) if Family::of(addr) == self.cfg.family => {
                self.primary_addr = addr;
            }
            Input::PrimaryAddress(_) => {}
            Input::VipLost(addr) => self.vip_lost(addr),
            Input::SourceAddress(present) => {
                self.source_present = present;
                self.reevaluate_fault(now, "source address");
            }
            Input::Sync(cmd) => self.sync(now, cmd),
            Input::Maintenance(on) => self.set_maintenance(now, on),
            Input::Announce => self.announce_now(now),
            Input::AddressConflict { addr, mac } => self.address_conflict(now, addr, mac),
            Input::WallClock(wall) => self.wall = Some((now, wall)),
        }
    }

    /// [`Input::Announce`]: a burst of every address, as at takeover.
    fn announce_now(&mut self, now: Instant) {
        if self.state != State::Active {
            return;
        }
        let rounds = self.announce.addresses_added(&self.cfg.announce, now);
        self.push_announce_rounds(rounds);
        self.arm_announce_timer();
    }

    /// The wall-clock time at `now`, from the last [`Input::WallClock`] (the Unix epoch plus
    /// `now` before the first).
    fn wall_at(&self, now: Instant) -> WallClock {
        match self.wall {
            Some((at, wall)) => wall.plus(now.saturating_since(at)),
            None => WallClock::new(0, 0).plus(now.saturating_since(Instant::ZERO)),
        }
    }

    /// The `auth_hmac` state: keys, send sequence, the senders' replay marks and skews.
    pub fn auth_hmac(&self) -> Option<&Authenticator> {
        self.hmac.as_ref()
    }

    /// Whether the router is in maintenance ([`Input::Maintenance`]).
    pub fn in_maintenance(&self) -> bool {
        self.maintenance
    }

    fn set_maintenance(&mut self, now: Instant, on: bool) {
        if self.maintenance == on {
            return;
        }
        self.maintenance = on;
        match (on, self.state) {
            (true, State::Active) => {
                self.release_active(now, State::Backup, Reason::Maintenance, true);
                self.timers
                    .set(Timer::ActiveDown, now + self.active_down_interval());
                self.down_cause = DownCause::Silent(None);
            }
            // As configured again: the Active is heard within its down interval, or this
            // router takes over (the owner at once).
            (false, State::Backup) if self.is_owner() => {
                self.become_active(now, Reason::MaintenanceOff);
            }
            (false, State::Backup) => {
                self.timers
                    .set(Timer::ActiveDown, now + self.active_down_interval());
            }
            _ => {}
        }
    }

    /// Another MAC claims `addr`: counted and re-announced at once (rate-limited) when it is
    /// an address of this Active router.
    fn address_conflict(&mut self, now: Instant, addr: IpAddr, mac: [u8; 6]) {
        if self.state != State::Active || !self.cfg.installed_addresses().any(|a| a == addr) {
            return;
        }
        self.stats.address_conflicts += 1;
        let count = self.announce.conflict_seen(&self.cfg.announce, now, addr);
        if count == 0 {
            return;
        }
        for _ in 0..count {
            self.push_announce(addr);
        }
        self.out.event(Event::AddressConflict { addr, mac });
    }

    /// Replaces the configuration while keeping state (reload). Virtual addresses are diffed:
    /// an Active router removes the dropped ones and adds and announces the new ones. A changed
    /// configured priority or primary address replaces the one in use; a changed advert
    /// interval applies at once (an Active advertises with it now).
    pub fn reconfigure(&mut self, now: Instant, cfg: RouterConfig) -> Result<(), ConfigError> {
        cfg.validate()?;
        let old = core::mem::replace(&mut self.cfg, cfg);
        self.reconfigure_auth_hmac(&old);
        if old.checksum_form != self.cfg.checksum_form {
            self.send_form = self.cfg.checksum_form;
            self.send_form_changed = None;
        }
        if old.primary_addr != self.cfg.primary_addr {
            self.primary_addr = self.cfg.primary_addr;
        }
        if self.state == State::Active {
            self.reconfigure_vips(now, &old);
            if old.advert_interval() != self.cfg.advert_interval() {
                self.active_adver_interval = self.cfg.advert_interval();
                self.send_advert_now(now);
            }
        }
        if self.cfg.priority != old.priority {
            self.base_priority = self.cfg.priority;
            self.recompute_priority(now, Cause::Reconfigured);
        }
        Ok(())
    }

    /// `auth_hmac` after a reload: new keys and mode take effect at once, the send sequence
    /// and the replay marks are kept (the marks are reset only when the unicast peers change).
    fn reconfigure_auth_hmac(&mut self, old: &RouterConfig) {
        let Some(config) = self.cfg.auth_hmac.clone() else {
            self.hmac = None;
            return;
        };
        let peers_changed = old.unicast_peers.iter().map(|p| p.addr).ne(self
            .cfg
            .unicast_peers
            .iter()
            .map(|p| p.addr));
        match &mut self.hmac {
            Some(auth) => {
                auth.reconfigure(config);
                if peers_changed {
                    auth.replace_replay(replay_guard(&self.cfg));
                }
            }
            None => self.hmac = Some(Authenticator::new(config, replay_guard(&self.cfg))),
        }
    }

    /// An Active's addresses after a reload: dropped ones removed, new ones added and
    /// announced.
    fn reconfigure_vips(&mut self, now: Instant, old: &RouterConfig) {
        let before: Vec<IpAddr> = old.installed_addresses().collect();
        let after: Vec<IpAddr> = self.cfg.installed_addresses().collect();
        for vip in before.iter().filter(|v| !after.contains(v)) {
            self.out.remove_vip(*vip);
        }
        let added: Vec<IpAddr> = after.into_iter().filter(|v| !before.contains(v)).collect();
        for vip in &added {
            self.out.add_vip(*vip);
        }
        if added.is_empty() {
            return;
        }
        let rounds = self.announce.addresses_added(&self.cfg.announce, now);
        for _ in 0..rounds {
            for vip in &added {
                self.push_announce(*vip);
            }
        }
        self.arm_announce_timer();
    }

    fn startup(&mut self, now: Instant) {
        if self.running {
            return;
        }
        self.running = true;
        self.recompute_effective_silently();
        if let Some(reason) = self.fault_reason() {
            self.transition(now, State::Fault, reason);
        } else if self.is_owner() {
            self.become_active(now, Reason::Startup);
        } else {
            self.become_backup(now, Reason::Startup);
        }
    }

    fn shutdown(&mut self, now: Instant) {
        if !self.running {
            return;
        }
        self.running = false;
        match self.state {
            State::Active => self.release_active(now, State::Initialize, Reason::Shutdown, true),
            _ => {
                self.timers.stop_all();
                self.transition(now, State::Initialize, Reason::Shutdown);
            }
        }
    }

    /// Serves every expired timer. Harmless when nothing is due.
    pub fn handle_timeout(&mut self, now: Instant) {
        if self.timers.is_expired(Timer::ActiveDown, now) {
            self.timers.stop(Timer::ActiveDown);
            if self.state == State::Backup {
                let reason = match self.down_cause {
                    DownCause::Silent(last_active) => Reason::ActiveSilent { last_active },
                    DownCause::Left(from) => Reason::ActiveLeft { from },
                    DownCause::Preempting { from, priority } => Reason::Preempted {
                        from,
                        their_priority: priority,
                        our_priority: self.effective,
                    },
                };
                self.become_active(now, reason); // R13
            }
        }
        if let Some(due) = self.timers.get(Timer::Adver).filter(|&t| t <= now) {
            if self.state == State::Active {
                self.send_scheduled_advert(now, due); // R20
            } else {
                self.timers.stop(Timer::Adver);
            }
        }
        if self.timers.is_expired(Timer::Announce, now) {
            let addresses = self.cfg.vips.len() + self.cfg.excluded_vips.len();
            let due = self.announce.poll_due(&self.cfg.announce, now, addresses);
            self.push_announce_rounds(due.rounds);
            if due.extra {
                for i in 0..self.cfg.extra_announce.len() {
                    self.push_announce(self.cfg.extra_announce[i]);
                }
            }
            if let Some(index) = due.probe {
                if let Some(addr) = self.cfg.installed_addresses().nth(index) {
                    self.out.probe(addr);
                }
            }
            if let Some((index, count)) = due.refresh {
                let addr = self.cfg.installed_addresses().nth(index);
                if let Some(addr) = addr {
                    for _ in 0..count {
                        self.push_announce(addr);
                    }
                }
            }
            self.arm_announce_timer();
        }
        self.flush_notices();
    }

    fn become_active(&mut self, now: Instant, reason: Reason) {
        if self.maintenance {
            // Never Active in maintenance: stay (or become) Backup, watching the Active.
            if self.state == State::Backup {
                self.timers
                    .set(Timer::ActiveDown, now + self.active_down_interval());
            } else {
                self.become_backup(now, Reason::Maintenance);
            }
            return;
        }
        self.timers.stop(Timer::ActiveDown);
        self.active_adver_interval = self.cfg.advert_interval();
        self.preempt_until = None;
        self.push_adverts(now, self.effective);
        for i in 0..self.cfg.vips.len() {
            self.out.add_vip(self.cfg.vips[i]);
        }
        for i in 0..self.cfg.excluded_vips.len() {
            self.out.add_vip(self.cfg.excluded_vips[i]);
        }
        if self.cfg.state_routes {
            self.out.routes(true);
        }
        let addresses = self.cfg.vips.len() + self.cfg.excluded_vips.len();
        let phase = announce::refresh_phase(self.cfg.vrid, self.cfg.installed_addresses().next());
        let rounds = self
            .announce
            .start(&self.cfg.announce, now, addresses, phase);
        self.push_announce_rounds(rounds);
        self.arm_announce_timer();
        self.timers
            .set(Timer::Adver, now + self.cfg.advert_interval());
        self.stats.became_active += 1;
        self.transition(now, State::Active, reason);
    }

    fn become_backup(&mut self, now: Instant, reason: Reason) {
        self.active_adver_interval = self.cfg.advert_interval();
        self.timers
            .set(Timer::ActiveDown, now + self.active_down_interval());
        self.down_cause = DownCause::Silent(None);
        self.preempt_until = None;
        self.transition(now, State::Backup, reason);
    }

    /// Leaves Active: optional priority-0 advert, addresses removed.
    fn release_active(&mut self, now: Instant, to: State, reason: Reason, priority_zero: bool) {
        self.timers.stop_all();
        self.announce.stop();
        if priority_zero {
            self.push_adverts(now, 0);
        }
        if self.cfg.state_routes {
            self.out.routes(false);
        }
        for i in 0..self.cfg.vips.len() {
            self.out.remove_vip(self.cfg.vips[i]);
        }
        for i in 0..self.cfg.excluded_vips.len() {
            self.out.remove_vip(self.cfg.excluded_vips[i]);
        }
        self.stats.released_active += 1;
        self.transition(now, to, reason);
    }

    fn transition(&mut self, now: Instant, to: State, reason: Reason) {
        let from = self.state;
        self.state = to;
        self.since = Some(now);
        self.stats.transitions += 1;
        if from == State::Fault && to != State::Initialize && !self.cfg.unicast_peers.is_empty() {
            // keepalived: a unicast router leaving Fault announces its own source address,
            // so that the Active, which may have dropped it from its neighbour cache, can send
            // it adverts at once instead of resolving it first (and it is not taken over for
            // want of adverts meanwhile).
            self.push_announce(self.cfg.primary_addr);
        }
        self.out.event(Event::StateChanged { from, to, reason });
    }

    /// An advert out of schedule (a priority change, R21, R23): the schedule restarts from it.
    fn send_advert_now(&mut self, now: Instant) {
        self.push_adverts(now, self.effective);
        self.timers
            .set(Timer::Adver, now + self.cfg.advert_interval());
    }

    /// The advert due at `due`, served at `now`: the next is due one interval after `due`, or,
    /// if this one is more than [`ADVERT_SLACK`] late, one interval minus the slack after now.
    fn send_scheduled_advert(&mut self, now: Instant, due: Instant) {
        let interval = self.cfg.advert_interval();
        if let Some(since_last_advert) = self.expired_backup(now, due, interval) {
            let reason = Reason::TimerExpired { since_last_advert };
            self.release_active(now, State::Backup, reason, false);
            self.timers
                .set(Timer::ActiveDown, now + self.active_down_interval());
            self.down_cause = DownCause::Silent(None);
            return;
        }
        self.push_adverts(now, self.effective);
        let next = (due + interval).max(now + interval - ADVERT_SLACK);
        self.timers.set(Timer::Adver, next);
    }

    /// keepalived's `timer_expired_backup`: without preemption, the time since our previous
    /// advert (scheduled one interval before `due`), if a router of the configured priority
    /// would have taken over meanwhile.
    fn expired_backup(&self, now: Instant, due: Instant, interval: Duration) -> Option<Duration> {
        let other = self.cfg.timer_expired_backup?;
        if self.preempts() {
            return None;
        }
        let since = now.saturating_since(due - interval);
        let takeover = interval.saturating_mul(u64::from(self.cfg.down_timer_adverts))
            + skew_time(self.cfg.version, other, interval);
        (since >= takeover).then_some(since)
    }

    fn push_adverts(&mut self, now: Instant, priority: u8) {
        let versions: &[Version] = match self.cfg.version {
            VersionMode::V2 => &[Version::V2],
            VersionMode::V3 => &[Version::V3],
            VersionMode::V2V3 => &[Version::V3, Version::V2],
        };
        for &version in versions {
            let trailer = self.sign_advert(now, version, priority);
            self.out.advert(version, priority, trailer);
            self.stats.adverts_tx += 1;
            if priority == 0 {
                self.stats.priority_zero_tx += 1;
            }
        }
    }

    fn push_announce_rounds(&mut self, rounds: u32) {
        for _ in 0..rounds {
            for i in 0..self.cfg.vips.len() {
                self.push_announce(self.cfg.vips[i]);
            }
            for i in 0..self.cfg.excluded_vips.len() {
                self.push_announce(self.cfg.excluded_vips[i]);
            }
        }
    }

    fn push_announce(&mut self, vip: IpAddr) {
        self.out.announce(vip);
    }

    fn arm_announce_timer(&mut self) {
        match self.announce.next_due() {
            Some(t) => self.timers.set(Timer::Announce, t),
            None => self.timers.stop(Timer::Announce),
        }
    }

    fn vip_lost(&mut self, addr: IpAddr) {
        let ours = self.cfg.installed_addresses().any(|a| a == addr);
        if self.state == State::Active && ours {
            self.out.add_vip(addr);
            self.push_announce(addr);
        }
    }

    fn set_tracker(&mut self, now: Instant, id: TrackerId, state: TrackState) {
        let Some(slot) = self.trackers.get_mut(usize::from(id.0)) else {
            return;
        };
        if slot.1 == state {
            return;
        }
        let first_report = slot.1 == TrackState::Unknown && slot.0.weight == 0;
        slot.1 = state;
        let name = slot.0.name.clone();
        self.recompute_priority(now, Cause::Tracker(name.clone()));
        self.reevaluate_fault(now, &name);
        // keepalived holds an instance in its init state until every weight-0 tracker has
        // reported; coming up from there is like leaving Fault (see `transition`).
        let initialised =
            !(self.trackers.iter()).any(|(t, s)| t.weight == 0 && *s == TrackState::Unknown);
        if first_report
            && initialised
            && matches!(self.state, State::Backup | State::Active)
            && !self.cfg.unicast_peers.is_empty()
        {
            self.push_announce(self.cfg.primary_addr);
        }
    }

    fn set_base_priority(&mut self, now: Instant, priority: u8) {
        if self.is_owner() || priority == 0 || priority == OWNER_PRIORITY {
            return;
        }
        self.base_priority = priority;
        self.recompute_priority(now, Cause::BasePriority);
    }

    fn recompute_effective_silently(&mut self) {
        self.effective = self.compute_effective().priority;
    }

    fn compute_effective(&self) -> track::Effective {
        let trackers = self.trackers.iter().map(|(t, s)| (t, *s));
        track::effective_priority(self.base_priority, trackers)
    }

    fn recompute_priority(&mut self, now: Instant, cause: Cause) {
        let new = self.compute_effective().priority;
        let old = self.effective;
        if new == old {
            return;
        }
        self.effective = new;
        self.out.event(Event::PriorityChanged {
            from: old,
            to: new,
            cause,
            state: self.state,
        });
        if self.state == State::Active {
            // Tell the Backups at once rather than at the next interval.
            self.send_advert_now(now);
        }
    }

    fn fault_reason(&self) -> Option<Reason> {
        if !self.link_up {
            return Some(Reason::InterfaceDown);
        }
        if !self.source_present {
            return Some(Reason::NoSourceAddress);
        }
        if self.cfg.fault_without_peers && self.cfg.unicast_peers.is_empty() {
            return Some(Reason::NoUnicastPeer);
        }
        if let Some(TrackerId(i)) = self.compute_effective().fault {
            let tracker = self.trackers[usize::from(i)].0.name.clone();
            return Some(Reason::TrackerFault { tracker });
        }
        if let Some((group, member)) = &self.sync_fault {
            let (group, member) = (group.clone(), member.clone());
            return Some(Reason::SyncGroup { group, member });
        }
        None
    }

    /// True when this router's own conditions (link, trackers) demand Fault, ignoring any Fault
    /// imposed by its sync group.
    pub fn has_own_fault(&self) -> bool {
        self.fault_reason()
            .is_some_and(|r| !matches!(r, Reason::SyncGroup { .. }))
    }

    fn reevaluate_fault(&mut self, now: Instant, cause: &str) {
        if !self.running {
            return;
        }
        match (self.fault_reason(), self.state) {
            (Some(_), State::Fault) | (None, State::Active | State::Backup) => {}
            (Some(reason), State::Active) => self.release_active(now, State::Fault, reason, true),
            (Some(reason), _) => {
                self.timers.stop_all();
                self.transition(now, State::Fault, reason);
            }
            (None, _) => {
                let reason = Reason::Recovered {
                    cause: Arc::from(cause),
                };
                if self.is_owner() {
                    self.become_active(now, reason);
                } else {
                    self.become_backup(now, reason);
                }
            }
        }
    }

    fn sync(&mut self, now: Instant, cmd: SyncCommand) {
        match cmd {
            SyncCommand::BecomeActive { group, member } if self.state == State::Backup => {
                self.become_active(now, Reason::SyncGroup { group, member });
            }
            SyncCommand::BecomeBackup { group, member } if self.state == State::Active => {
                let reason = Reason::SyncGroup { group, member };
                self.release_active(now, State::Backup, reason, false);
                self.timers
                    .set(Timer::ActiveDown, now + self.active_down_interval());
                self.down_cause = DownCause::Silent(self.last_active);
            }
            SyncCommand::Fault { group, member } => {
                let imposed = member.clone().map(|m| (group.clone(), m));
                if imposed == self.sync_fault {
                    return;
                }
                let cause = match &member {
                    Some(m) => format!("sync group {group} member {m}"),
                    None => format!("sync group {group}"),
                };
                self.sync_fault = member.map(|m| (group, m));
                self.reevaluate_fault(now, &cause);
            }
            _ => {}
        }
    }

    fn is_owner(&self) -> bool {
        self.cfg.is_owner()
    }

    /// Preempt_Mode; the owner always preempts (R5).
    fn preempts(&self) -> bool {
        self.cfg.preempt || self.is_owner()
    }

    fn notice(&mut self, now: Instant, notice: Notice) {
        let kind = notice.kind();
        let last = &mut self.notice_at[kind];
        if last.is_some_and(|t| now.saturating_since(t) < NOTICE_GAP) {
            return;
        }
        *last = Some(now);
        self.pending_notices[kind] = Some(notice);
    }

    fn flush_notices(&mut self) {
        for slot in &mut self.pending_notices {
            if let Some(n) = slot.take() {
                self.out.event(Event::Notice(n));
            }
        }
    }
}

/// The replay state for `cfg`: one slot per unicast peer, or the multicast slots.
fn replay_guard(cfg: &RouterConfig) -> ReplayGuard {
    if cfg.unicast_peers.is_empty() {
        ReplayGuard::multicast()
    } else {
        ReplayGuard::unicast(cfg.unicast_peers.iter().map(|p| p.addr))
    }
}

/// The interval an advert announces, as a [`Duration`].
fn advert_interval(adv: &Advert<'_>) -> Duration {
    Duration::from_centis(u64::from(adv.interval_cs))
}

/// Skew_Time (R3): VRRPv3 `((256 - priority) * interval) / 256`, exact to the microsecond;
/// VRRPv2 (RFC 3768) `(256 - priority) / 256` seconds.
pub fn skew_time(version: VersionMode, priority: u8, interval: Duration) -> Duration {
    let weight = 256 - u64::from(priority);
    match version {
        VersionMode::V2 => Duration::from_micros(weight * 1_000_000 / 256),
        _ => Duration::from_micros(weight * interval.as_micros() / 256),
    }
}
