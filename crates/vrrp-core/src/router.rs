//! One virtual router: the RFC 9568 state machine (§6.4) plus keepalived's Fault state.
//!
//! Inputs carry `now`; outputs are drained with [`Router::poll_action`]; the next deadline comes
//! from [`Router::poll_timeout`] and is served by [`Router::handle_timeout`], which is harmless
//! when called early, late or repeatedly. Requirement numbers (R8..R23) refer to
//! `rfc9568-checklist.md`.

use core::net::IpAddr;
use std::collections::VecDeque;
use std::sync::Arc;

use crate::action::{Action, Cause, Notice, Reason, State};
use crate::announce::AnnounceSchedule;
use crate::config::{ConfigError, RouterConfig, VersionMode, OWNER_PRIORITY};
use crate::packet::{self, Advert, AdvertSpec, BuildError, Family, RxError, Version};
use crate::stats::{PolicyError, Stats};
use crate::time::{Duration, Instant};
use crate::timer::{Timer, TimerTable};
use crate::track::{self, TrackState, Tracker, TrackerId};

/// Minimum time between two notices of the same kind.
const NOTICE_GAP: Duration = Duration::from_secs(10);
/// Minimum time between two switches of the sent checksum form.
const CHECKSUM_SWITCH_GAP: Duration = Duration::from_secs(60);
/// Number of [`Notice`] kinds (for rate limiting).
const NOTICE_KINDS: usize = 6;

/// An input other than a received advert or a timeout.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Input {
    /// Start the router (leaves Initialize; R8, R9).
    Startup,
    /// Stop the router (R12, R19): an Active sends priority 0 and releases its addresses.
    Shutdown,
    /// The interface is up with carrier.
    LinkUp,
    /// The interface went down or lost carrier: Fault.
    LinkDown,
    /// A tracked object reported a new state.
    Tracker(TrackerId, TrackState),
    /// Change the base priority at runtime (1..254; ignored for the owner).
    SetPriority(u8),
    /// The interface's primary address (advert source, tie-breaker) changed.
    PrimaryAddress(IpAddr),
    /// A virtual address disappeared from the interface (someone else removed it).
    VipLost(IpAddr),
    /// A command from this router's sync group.
    Sync(SyncCommand),
}

/// What a sync group asks of a member (see [`crate::sync`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SyncCommand {
    /// Become Active with the group (from Backup).
    BecomeActive {
        /// The group.
        group: Arc<str>,
        /// The member that went first.
        member: Arc<str>,
    },
    /// Become Backup with the group (from Active).
    BecomeBackup {
        /// The group.
        group: Arc<str>,
        /// The member that went first.
        member: Arc<str>,
    },
    /// Set or clear the Fault imposed by another member's Fault.
    Fault {
        /// The group.
        group: Arc<str>,
        /// The faulty member, or `None` when no member is faulty any more.
        member: Option<Arc<str>>,
    },
}

/// Why the Active_Down_Timer is running: the reason given when it fires.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum DownCause {
    Silent(Option<IpAddr>),
    Left(IpAddr),
    Preempting { from: IpAddr, priority: u8 },
}

/// A point-in-time view of a router, for status APIs and dumps.
#[derive(Clone, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct Status {
    /// Instance name.
    pub name: Arc<str>,
    /// VRID.
    pub vrid: u8,
    /// Family.
    pub family: Family,
    /// Current state.
    pub state: State,
    /// Configured priority.
    pub base_priority: u8,
    /// Effective priority.
    pub effective_priority: u8,
    /// Active_Adver_Interval in use.
    pub active_adver_interval: Duration,
    /// Skew_Time for our priority.
    pub skew_time: Duration,
    /// Active_Down_Interval.
    pub active_down_interval: Duration,
    /// The last Active heard (Backup), if any.
    pub last_active: Option<IpAddr>,
    /// The IPv4 VRRPv3 checksum form sent now (it may follow a peer's, see
    /// [`RouterConfig::checksum_follow_peer`]).
    pub checksum_form: packet::ChecksumForm,
    /// Counters.
    pub stats: Stats,
}

/// One virtual router.
#[derive(Clone, Debug)]
pub struct Router {
    cfg: RouterConfig,
    trackers: Vec<(Tracker, TrackState)>,
    state: State,
    running: bool,
    link_up: bool,
    sync_fault: Option<(Arc<str>, Arc<str>)>,
    effective: u8,
    active_adver_interval: Duration,
    timers: TimerTable,
    announce: AnnounceSchedule,
    preempt_until: Option<Instant>,
    down_cause: DownCause,
    last_active: Option<IpAddr>,
    last_v3_sender: Option<(IpAddr, Instant)>,
    /// The checksum form sent now, and when it last changed.
    send_form: packet::ChecksumForm,
    send_form_changed: Option<Instant>,
    notice_at: [Option<Instant>; NOTICE_KINDS],
    /// Notices raised while handling one input, queued after its other actions.
    pending_notices: [Option<Notice>; NOTICE_KINDS],
    /// Actions not yet drained. Starts unallocated and grows to the largest batch one input
    /// has produced (typically the first takeover: adverts, every VIP, the announcement burst),
    /// then keeps that capacity: later inputs of the same kind, and the steady state (an
    /// advert or two per interval), do not allocate. Sizing it up front for the worst case
    /// cost ~2-3 KiB per router, most of a daemon's heap with 1,000 virtual routers.
    actions: VecDeque<Action>,
    stats: Stats,
}

impl Router {
    /// A router in Initialize. Fails if the configuration is invalid.
    pub fn new(cfg: RouterConfig) -> Result<Router, ConfigError> {
        cfg.validate()?;
        Ok(Router {
            effective: cfg.priority,
            active_adver_interval: cfg.advert_interval(),
            trackers: Vec::new(),
            state: State::Initialize,
            running: false,
            link_up: true,
            sync_fault: None,
            timers: TimerTable::default(),
            announce: AnnounceSchedule::default(),
            preempt_until: None,
            down_cause: DownCause::Silent(None),
            last_active: None,
            last_v3_sender: None,
            send_form: cfg.checksum_form,
            send_form_changed: None,
            notice_at: [None; NOTICE_KINDS],
            pending_notices: [None; NOTICE_KINDS],
            actions: VecDeque::new(),
            stats: Stats::default(),
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

    /// The configuration.
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

    /// Counters.
    pub fn stats(&self) -> &Stats {
        &self.stats
    }

    /// Mutable counters, for codec errors counted by the data plane.
    pub fn stats_mut(&mut self) -> &mut Stats {
        &mut self.stats
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

    /// A snapshot for status APIs.
    pub fn status(&self) -> Status {
        Status {
            name: self.cfg.name.clone(),
            vrid: self.cfg.vrid,
            family: self.cfg.family,
            state: self.state,
            base_priority: self.cfg.priority,
            effective_priority: self.effective,
            active_adver_interval: self.active_adver_interval,
            skew_time: self.skew_time(),
            active_down_interval: self.active_down_interval(),
            last_active: self.last_active,
            checksum_form: self.send_form,
            stats: self.stats,
        }
    }

    /// The next action, in the documented order ([`crate::action`]). Drain until `None`.
    pub fn poll_action(&mut self) -> Option<Action> {
        self.actions.pop_front()
    }

    /// The earliest deadline at which [`Router::handle_timeout`] has work.
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.timers.next_deadline()
    }

    /// Where adverts go: the family's multicast group, or each unicast peer.
    pub fn advert_destinations(&self) -> impl Iterator<Item = IpAddr> + '_ {
        let group = self
            .cfg
            .unicast_peers
            .is_empty()
            .then(|| self.cfg.family.multicast_group());
        group
            .into_iter()
            .chain(self.cfg.unicast_peers.iter().map(|p| p.addr))
    }

    /// Writes the advert a [`Action::SendAdvert`] asks for, addressed to `dst`, into `buf`.
    pub fn encode_advert(
        &self,
        version: Version,
        priority: u8,
        dst: IpAddr,
        buf: &mut [u8],
    ) -> Result<usize, BuildError> {
        let (auth_type, auth_data) = self.cfg.auth.wire();
        let spec = AdvertSpec {
            version,
            vrid: self.cfg.vrid,
            priority,
            interval_cs: self.cfg.advert_interval_cs,
            addrs: &self.cfg.vips,
            checksum_form: self.send_form,
            auth_type,
            auth_data,
        };
        packet::build(&spec, self.cfg.primary_addr, dst, buf)
    }

    /// Counts a codec error for a packet the data plane attributed to this router.
    pub fn handle_rx_error(&mut self, err: &RxError) {
        self.stats.count_rx_error(err);
    }

    /// Handles an input other than an advert.
    pub fn handle(&mut self, now: Instant, input: Input) {
        match input {
            Input::Startup => self.startup(now),
            Input::Shutdown => self.shutdown(),
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
                self.cfg.primary_addr = addr;
            }
            Input::PrimaryAddress(_) => {}
            Input::VipLost(addr) => self.vip_lost(addr),
            Input::Sync(cmd) => self.sync(now, cmd),
        }
    }

    /// Replaces the configuration while keeping state (reload). Virtual addresses are diffed:
    /// an Active router removes the dropped ones and adds and announces the new ones.
    pub fn reconfigure(&mut self, now: Instant, cfg: RouterConfig) -> Result<(), ConfigError> {
        cfg.validate()?;
        let old = core::mem::replace(&mut self.cfg, cfg);
        if old.checksum_form != self.cfg.checksum_form {
            self.send_form = self.cfg.checksum_form;
            self.send_form_changed = None;
        }
        if self.state == State::Active {
            for vip in old.vips.iter().filter(|v| !self.cfg.vips.contains(v)) {
                self.actions.push_back(Action::RemoveVip(*vip));
                if let IpAddr::V6(v6) = vip {
                    self.actions.push_back(Action::LeaveSolicitedNode(*v6));
                }
            }
            let added: Vec<IpAddr> = (self.cfg.vips.iter())
                .filter(|v| !old.vips.contains(v))
                .copied()
                .collect();
            for vip in &added {
                self.actions.push_back(Action::AddVip(*vip));
                if let IpAddr::V6(v6) = vip {
                    self.actions.push_back(Action::JoinSolicitedNode(*v6));
                }
            }
            for vip in &added {
                self.push_announce(*vip);
            }
            self.active_adver_interval = self.cfg.advert_interval();
        }
        if self.cfg.priority != old.priority {
            self.recompute_priority(now, Cause::Reconfigured);
        }
        Ok(())
    }

    fn startup(&mut self, now: Instant) {
        if self.running {
            return;
        }
        self.running = true;
        self.recompute_effective_silently();
        if let Some(reason) = self.fault_reason() {
            self.transition(State::Fault, reason);
        } else if self.is_owner() {
            self.become_active(now, Reason::Startup);
        } else {
            self.become_backup(now, Reason::Startup);
        }
    }

    fn shutdown(&mut self) {
        if !self.running {
            return;
        }
        self.running = false;
        match self.state {
            State::Active => self.release_active(State::Initialize, Reason::Shutdown, true),
            _ => {
                self.timers.stop_all();
                self.transition(State::Initialize, Reason::Shutdown);
            }
        }
    }

    /// Handles a received, parsed advert. `Err` says why it was discarded (already counted).
    pub fn handle_advert(&mut self, now: Instant, adv: &Advert<'_>) -> Result<(), PolicyError> {
        if let Err(e) = self.check_policy(now, adv) {
            self.stats.count_policy_error(&e);
            return Err(e);
        }
        self.note_received(now, adv);
        match self.state {
            State::Backup => self.backup_receive(now, adv),
            State::Active => self.active_receive(now, adv),
            State::Initialize | State::Fault => {}
        }
        self.flush_notices();
        Ok(())
    }

    fn check_policy(&self, now: Instant, adv: &Advert<'_>) -> Result<(), PolicyError> {
        if !self.running || self.state == State::Fault {
            return Err(PolicyError::NotRunning);
        }
        if adv.vrid != self.cfg.vrid {
            return Err(PolicyError::Vrid(adv.vrid));
        }
        if adv.family() != self.cfg.family {
            return Err(PolicyError::Family);
        }
        if adv.meta.src == self.cfg.primary_addr {
            return Err(PolicyError::Own);
        }
        if !self.cfg.version.accepts(adv.version) {
            return Err(PolicyError::Version);
        }
        if let (true, Some(IpAddr::V6(first))) =
            (self.cfg.require_link_local_first, adv.addrs.get(0))
        {
            if !packet::is_link_local(first) {
                return Err(PolicyError::FirstAddressNotLinkLocal);
            }
        }
        self.check_destination(adv)?;
        if adv.version == Version::V2 {
            self.check_v2(now, adv)?;
        }
        Ok(())
    }

    fn check_destination(&self, adv: &Advert<'_>) -> Result<(), PolicyError> {
        let multicast = adv.meta.dst.is_multicast();
        if self.cfg.unicast_peers.is_empty() {
            if !multicast {
                return Err(PolicyError::DestinationMismatch);
            }
            if adv.meta.ttl != packet::VRRP_TTL {
                return Err(PolicyError::Ttl(adv.meta.ttl));
            }
            return Ok(());
        }
        if multicast {
            return Err(PolicyError::DestinationMismatch);
        }
        match self
            .cfg
            .unicast_peers
            .iter()
            .find(|p| p.addr == adv.meta.src)
        {
            Some(peer) if !peer.ttl_ok(adv.meta.ttl) => Err(PolicyError::Ttl(adv.meta.ttl)),
            None if self.cfg.check_unicast_src => Err(PolicyError::UnknownUnicastSource),
            _ => Ok(()),
        }
    }

    fn check_v2(&self, now: Instant, adv: &Advert<'_>) -> Result<(), PolicyError> {
        if (adv.auth_type, adv.auth_data) != self.cfg.auth.wire() {
            return Err(PolicyError::Auth);
        }
        if self.cfg.version == VersionMode::V2 {
            let ours = u16::from(packet::v2_interval_secs(self.cfg.advert_interval_cs));
            if adv.interval_cs != ours * 100 {
                return Err(PolicyError::V2Interval(adv.interval_cs / 100));
            }
        }
        if let Some((src, at)) = self.last_v3_sender {
            let recent = now.saturating_since(at) <= self.active_down_interval();
            if src == adv.meta.src && recent {
                return Err(PolicyError::V2FromV3Sender);
            }
        }
        Ok(())
    }

    /// Counters and log-only checks (R34, R35, R46, P1) for an accepted advert.
    fn note_received(&mut self, now: Instant, adv: &Advert<'_>) {
        let from = adv.meta.src;
        self.stats.adverts_rx += 1;
        if adv.priority == 0 {
            self.stats.priority_zero_rx += 1;
        }
        if adv.version == Version::V3 {
            self.last_v3_sender = Some((from, now));
        }
        if let Some(form) = adv.checksum_form {
            match form {
                packet::ChecksumForm::Rfc9568 => self.stats.checksum_rfc9568_rx += 1,
                packet::ChecksumForm::PseudoHeader => self.stats.checksum_pseudo_header_rx += 1,
            }
            if form != self.send_form {
                self.notice(now, Notice::ChecksumForm { from, theirs: form });
                self.follow_checksum_form(now, form);
            }
        }
        if adv.version == Version::V3 && adv.interval_cs != self.cfg.advert_interval_cs {
            self.stats.interval_mismatch += 1;
            let (theirs_cs, ours_cs) = (adv.interval_cs, self.cfg.advert_interval_cs);
            self.notice(
                now,
                Notice::IntervalMismatch {
                    from,
                    theirs_cs,
                    ours_cs,
                },
            );
        }
        if !self.same_addresses(adv) {
            self.stats.address_list_mismatch += 1;
            self.notice(now, Notice::AddressListMismatch { from });
        }
        if adv.priority == OWNER_PRIORITY && self.is_owner() {
            self.notice(now, Notice::AnotherOwner { from });
        } else if adv.priority == self.effective {
            self.notice(now, Notice::EqualPriority { from });
        }
    }

    /// P1: adopt the peer's checksum form so that a peer verifying only its own accepts us.
    fn follow_checksum_form(&mut self, now: Instant, form: packet::ChecksumForm) {
        let recently = self
            .send_form_changed
            .is_some_and(|t| now.saturating_since(t) < CHECKSUM_SWITCH_GAP);
        if self.cfg.checksum_follow_peer && !recently {
            self.send_form = form;
            self.send_form_changed = Some(now);
        }
    }

    fn same_addresses(&self, adv: &Advert<'_>) -> bool {
        adv.addrs.equals(&self.cfg.vips)
            || (adv.addrs.len() == self.cfg.vips.len()
                && adv.addrs.iter().all(|a| self.cfg.vips.contains(&a)))
    }

    fn backup_receive(&mut self, now: Instant, adv: &Advert<'_>) {
        let from = adv.meta.src;
        if adv.priority == 0 {
            // R14: the Active leaves; take over after Skew_Time, no preempt test.
            self.timers.set(Timer::ActiveDown, now + self.skew_time());
            self.down_cause = DownCause::Left(from);
            return;
        }
        let lower = self.preempts() && adv.priority < self.effective;
        if !lower {
            self.preempt_until = None;
        } else if self.cfg.preempt_delay > Duration::ZERO && self.preempt_until.is_none() {
            // keepalived's preempt_delay counts from the first lower-priority advert.
            self.preempt_until = Some(now + self.cfg.preempt_delay);
        }
        let delaying = self.preempt_until.is_some_and(|t| now < t);
        if !lower || delaying {
            // R15: adopt the Active's interval, recompute skew and down interval, re-arm.
            self.active_adver_interval = advert_interval(adv);
            self.timers
                .set(Timer::ActiveDown, now + self.active_down_interval());
            self.down_cause = DownCause::Silent(Some(from));
            self.last_active = Some(from);
        } else {
            // R16: discard; the running Active_Down_Timer is not reset, its expiry preempts.
            self.down_cause = DownCause::Preempting {
                from,
                priority: adv.priority,
            };
        }
    }

    fn active_receive(&mut self, now: Instant, adv: &Advert<'_>) {
        let from = adv.meta.src;
        if adv.priority == 0 {
            // R21: answer at once and stay Active.
            self.send_advert_now(now);
            return;
        }
        let ours = self.effective;
        let loses = adv.priority > ours || (adv.priority == ours && from > self.cfg.primary_addr);
        if loses {
            // R22: yield to the better router.
            if self.cfg.higher_prio_send_advert {
                self.push_adverts(ours);
            }
            self.active_adver_interval = advert_interval(adv);
            self.last_active = Some(from);
            let reason = Reason::HigherPriority {
                from,
                their_priority: adv.priority,
                our_priority: ours,
            };
            self.release_active(State::Backup, reason, false);
            self.timers
                .set(Timer::ActiveDown, now + self.active_down_interval());
            self.down_cause = DownCause::Silent(Some(from));
            return;
        }
        // R23: discard, but answer at once so the other Active learns of us; and since it
        // thinks it is Active, re-announce our addresses (dual-Active healing).
        if !self.cfg.lower_prio_no_advert {
            self.send_advert_now(now);
        }
        self.stats.dual_active += 1;
        let rounds = self.announce.lower_priority_seen(&self.cfg.announce, now);
        self.push_announce_rounds(rounds);
        self.arm_announce_timer();
        let their_priority = adv.priority;
        self.notice(
            now,
            Notice::DualActive {
                from,
                their_priority,
            },
        );
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
        if self.timers.is_expired(Timer::Adver, now) {
            if self.state == State::Active {
                self.send_advert_now(now); // R20
            } else {
                self.timers.stop(Timer::Adver);
            }
        }
        if self.timers.is_expired(Timer::Announce, now) {
            let rounds = self.announce.poll_due(&self.cfg.announce, now);
            self.push_announce_rounds(rounds);
            self.arm_announce_timer();
        }
    }

    fn become_active(&mut self, now: Instant, reason: Reason) {
        self.timers.stop(Timer::ActiveDown);
        self.active_adver_interval = self.cfg.advert_interval();
        self.preempt_until = None;
        self.push_adverts(self.effective);
        for vip in &self.cfg.vips {
            self.actions.push_back(Action::AddVip(*vip));
        }
        for vip in &self.cfg.vips {
            if let IpAddr::V6(v6) = vip {
                self.actions.push_back(Action::JoinSolicitedNode(*v6));
            }
        }
        let rounds = self.announce.start(&self.cfg.announce, now);
        self.push_announce_rounds(rounds);
        self.arm_announce_timer();
        self.timers
            .set(Timer::Adver, now + self.cfg.advert_interval());
        self.stats.became_active += 1;
        self.transition(State::Active, reason);
    }

    fn become_backup(&mut self, now: Instant, reason: Reason) {
        self.active_adver_interval = self.cfg.advert_interval();
        self.timers
            .set(Timer::ActiveDown, now + self.active_down_interval());
        self.down_cause = DownCause::Silent(None);
        self.preempt_until = None;
        self.transition(State::Backup, reason);
    }

    /// Leaves Active: optional priority-0 advert, addresses removed, groups left.
    fn release_active(&mut self, to: State, reason: Reason, send_priority_zero: bool) {
        self.timers.stop_all();
        self.announce.stop();
        if send_priority_zero {
            self.push_adverts(0);
        }
        for vip in &self.cfg.vips {
            self.actions.push_back(Action::RemoveVip(*vip));
        }
        for vip in &self.cfg.vips {
            if let IpAddr::V6(v6) = vip {
                self.actions.push_back(Action::LeaveSolicitedNode(*v6));
            }
        }
        self.stats.released_active += 1;
        self.transition(to, reason);
    }

    fn transition(&mut self, to: State, reason: Reason) {
        let from = self.state;
        self.state = to;
        self.stats.transitions += 1;
        self.actions
            .push_back(Action::StateChanged { from, to, reason });
    }

    fn send_advert_now(&mut self, now: Instant) {
        self.push_adverts(self.effective);
        self.timers
            .set(Timer::Adver, now + self.cfg.advert_interval());
    }

    fn push_adverts(&mut self, priority: u8) {
        let versions: &[Version] = match self.cfg.version {
            VersionMode::V2 => &[Version::V2],
            VersionMode::V3 => &[Version::V3],
            VersionMode::V2V3 => &[Version::V3, Version::V2],
        };
        for &version in versions {
            self.actions
                .push_back(Action::SendAdvert { version, priority });
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
        }
    }

    fn push_announce(&mut self, vip: IpAddr) {
        self.stats.announcements += 1;
        self.actions.push_back(Action::Announce(vip));
    }

    fn arm_announce_timer(&mut self) {
        match self.announce.next_due() {
            Some(t) => self.timers.set(Timer::Announce, t),
            None => self.timers.stop(Timer::Announce),
        }
    }

    fn vip_lost(&mut self, addr: IpAddr) {
        if self.state == State::Active && self.cfg.vips.contains(&addr) {
            self.actions.push_back(Action::AddVip(addr));
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
        slot.1 = state;
        let name = slot.0.name.clone();
        self.recompute_priority(now, Cause::Tracker(name.clone()));
        self.reevaluate_fault(now, &name);
    }

    fn set_base_priority(&mut self, now: Instant, priority: u8) {
        if self.is_owner() || priority == 0 || priority == OWNER_PRIORITY {
            return;
        }
        self.cfg.priority = priority;
        self.recompute_priority(now, Cause::BasePriority);
    }

    fn recompute_effective_silently(&mut self) {
        self.effective = self.compute_effective().priority;
    }

    fn compute_effective(&self) -> track::Effective {
        track::effective_priority(
            self.cfg.priority,
            self.trackers.iter().map(|(t, s)| (t, *s)),
        )
    }

    fn recompute_priority(&mut self, now: Instant, cause: Cause) {
        let new = self.compute_effective().priority;
        let old = self.effective;
        if new == old {
            return;
        }
        self.effective = new;
        self.actions.push_back(Action::PriorityChanged {
            from: old,
            to: new,
            cause,
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
        !self.link_up || self.compute_effective().fault.is_some()
    }

    fn reevaluate_fault(&mut self, now: Instant, cause: &str) {
        if !self.running {
            return;
        }
        match (self.fault_reason(), self.state) {
            (Some(_), State::Fault) | (None, State::Active | State::Backup) => {}
            (Some(reason), State::Active) => self.release_active(State::Fault, reason, true),
            (Some(reason), _) => {
                self.timers.stop_all();
                self.transition(State::Fault, reason);
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
                self.release_active(State::Backup, Reason::SyncGroup { group, member }, false);
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
        let kind = match notice {
            Notice::IntervalMismatch { .. } => 0,
            Notice::AddressListMismatch { .. } => 1,
            Notice::AnotherOwner { .. } => 2,
            Notice::EqualPriority { .. } => 3,
            Notice::DualActive { .. } => 4,
            Notice::ChecksumForm { .. } => 5,
        };
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
                self.actions.push_back(Action::Notice(n));
            }
        }
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
