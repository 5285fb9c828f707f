//! Received adverts: the receive checks (R24..R33 and keepalived's policies), the log-only
//! checks, and what a Backup (R14..R17) and an Active (R21..R23) do with an accepted advert.

use core::net::IpAddr;

use super::{advert_interval, DownCause, Router, CHECKSUM_SWITCH_GAP};
use crate::auth_hmac::{Accepted, Binding, Outcome, Rejected};
use crate::config::{VersionMode, OWNER_PRIORITY};
use crate::output::{Event, Notice, Reason, State};
use crate::packet::{self, Advert, Version};
use crate::stats::PolicyError;
use crate::time::{Duration, Instant};
use crate::timer::Timer;

impl Router {
    /// Handles a received, parsed advert. `Err` says why it was discarded (already counted).
    pub fn handle_advert(&mut self, now: Instant, adv: &Advert<'_>) -> Result<(), PolicyError> {
        if let Err(e) = self.check_policy(now, adv) {
            self.stats.count_policy_error(&e);
            return Err(e);
        }
        if let Err(outcome) = self.authenticate(now, adv) {
            let e = PolicyError::AuthHmac(outcome);
            self.stats.count_policy_error(&e);
            self.flush_notices();
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
        if adv.meta.src == self.primary_addr {
            return Err(PolicyError::Own);
        }
        if self.is_owner() && self.cfg.owner_ignore_adverts {
            return Err(PolicyError::OwnerIgnoresAdverts);
        }
        if !self.cfg.version.accepts(adv.version) {
            return Err(PolicyError::Version);
        }
        if self.cfg.refuse_old_unicast_checksum
            && adv.checksum_form == Some(packet::ChecksumForm::OldUnicast)
        {
            return Err(PolicyError::OldUnicastChecksum);
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

    /// `auth_hmac` (after the header checks, before any field reaches the state machine, as
    /// keepalived): counts the outcome, raises a rate-limited notice for a rejection or a
    /// clock skew past half the window.
    fn authenticate(&mut self, now: Instant, adv: &Advert<'_>) -> Result<(), Outcome> {
        let wall = self.wall_at(now);
        let Some(auth) = self.hmac.as_mut() else {
            return Ok(());
        };
        let from = adv.meta.src;
        let binding = Binding::new(adv.version, adv.vrid, from);
        match auth.verify(wall, &binding, adv.message(), adv.trailer()) {
            Ok(Accepted::Unsigned) => {
                self.stats.auth_hmac_unsigned += 1;
                Ok(())
            }
            Ok(Accepted::Verified { skew, .. }) => {
                self.stats.auth_hmac_verified += 1;
                let window = auth.config().time_window;
                if let Some(skew) = skew.filter(|s| s.approaching(window)) {
                    let notice = Notice::AuthClockSkew {
                        from,
                        skew_secs: skew.secs(),
                        window_secs: window.secs(),
                    };
                    self.notice(now, notice);
                }
                Ok(())
            }
            Err(rejected) => {
                let outcome = rejected.outcome();
                let notice = Notice::AuthRejected {
                    from,
                    outcome,
                    key_id: match rejected {
                        Rejected::UnknownKey { key_id } => Some(key_id),
                        _ => None,
                    },
                    skew_secs: match rejected {
                        Rejected::Stale { skew, .. } => Some(skew.secs()),
                        _ => None,
                    },
                };
                self.notice(now, notice);
                Err(outcome)
            }
        }
    }

    fn check_destination(&self, adv: &Advert<'_>) -> Result<(), PolicyError> {
        let multicast = adv.meta.dst.is_multicast();
        if self.cfg.unicast_peers.is_empty() {
            if !multicast || adv.meta.dst != self.cfg.multicast_group() {
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
                packet::ChecksumForm::OldUnicast => self.stats.checksum_old_unicast_rx += 1,
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
        // keepalived's skip_check_adv_addr: a Backup compares only the count of the addresses
        // in the adverts of the Active it already follows.
        let skip = self.cfg.skip_check_adv_addr
            && self.state == State::Backup
            && self.master_src == Some(from);
        let mismatch = if skip {
            adv.addrs.len() != self.cfg.vips.len()
        } else {
            !self.same_addresses(adv)
        };
        if mismatch {
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
        self.master_src = Some(from);
        // In maintenance the router is no candidate: it follows any Active (R15).
        let lower = self.preempts() && !self.maintenance && adv.priority < self.effective;
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
            self.heard_active(from, adv.priority);
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
        let loses = adv.priority > ours || (adv.priority == ours && from > self.primary_addr);
        if loses {
            // R22: yield to the better router.
            if self.cfg.higher_prio_send_advert {
                self.push_adverts(now, ours);
            }
            self.active_adver_interval = advert_interval(adv);
            self.heard_active(from, adv.priority);
            let reason = Reason::HigherPriority {
                from,
                their_priority: adv.priority,
                our_priority: ours,
            };
            self.release_active(now, State::Backup, reason, false);
            self.timers
                .set(Timer::ActiveDown, now + self.active_down_interval());
            self.down_cause = DownCause::Silent(Some(from));
            return;
        }
        self.out.event(Event::LowerPriorityAdvert {
            from,
            priority: adv.priority,
        });
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

    /// Remembers the Active this Backup follows.
    fn heard_active(&mut self, from: IpAddr, priority: u8) {
        self.last_active = Some(from);
        self.last_active_priority = Some(priority);
    }
}
