//! The schedule of gratuitous ARP / unsolicited NA announcements of an Active router.
//!
//! vrrp-core decides *when* each round of announcements is due; the data plane builds the
//! frames and paces them per interface (keepalived's `garp_interval` / `gna_interval`).
//! A round is one [`crate::Action::Announce`] per virtual address.
//!
//! - On becoming Active: a burst of `burst_count` rounds, `burst_spacing` apart (the first at
//!   once, so the first GARP leaves with the state change).
//! - keepalived's second burst `second_burst_delay` later (`garp_master_delay`, default 5 s).
//! - Periodic refresh (`garp_master_refresh`): `refresh_count` rounds every `refresh_interval`,
//!   the first at `second_burst_delay + refresh_interval` as keepalived does.
//! - A re-announcement burst (`lower_prio_count` rounds) when an Active hears a lower-priority
//!   advert from another router that thinks it is Active: the dual-Active case that leaves ARP
//!   caches pointing at the loser. Rate-limited to one per `lower_prio_min_gap`.

use crate::time::{Duration, Instant};

/// Announcement settings (keepalived's `garp_master_*` family).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct AnnounceConfig {
    /// Rounds in the burst on becoming Active (`garp_master_repeat`, default 5). 0 disables.
    pub burst_count: u32,
    /// Spacing of the burst's rounds (default 0: all due at once, paced by the data plane).
    pub burst_spacing: Duration,
    /// Delay of the second burst (`garp_master_delay`, default 5 s; `None` = no second burst).
    pub second_burst_delay: Option<Duration>,
    /// Refresh period (`garp_master_refresh`, default off).
    pub refresh_interval: Option<Duration>,
    /// Rounds per refresh (`garp_master_refresh_repeat`, default 1).
    pub refresh_count: u32,
    /// Rounds sent when winning over another Active (`garp_lower_prio_repeat`, default 5).
    pub lower_prio_count: u32,
    /// Minimum time between two such re-announcements.
    pub lower_prio_min_gap: Duration,
}

impl Default for AnnounceConfig {
    fn default() -> Self {
        AnnounceConfig {
            burst_count: 5,
            burst_spacing: Duration::ZERO,
            second_burst_delay: Some(Duration::from_secs(5)),
            refresh_interval: None,
            refresh_count: 1,
            lower_prio_count: 5,
            lower_prio_min_gap: Duration::from_secs(1),
        }
    }
}

/// Where an Active router is in its announcement schedule.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct AnnounceSchedule {
    /// Rounds left in the current burst, and when the next is due.
    burst_left: u32,
    burst_next: Option<Instant>,
    /// The keepalived-style second burst.
    second_burst_at: Option<Instant>,
    /// The next refresh.
    refresh_at: Option<Instant>,
    /// Last dual-Active re-announcement, for rate limiting.
    last_lower_prio: Option<Instant>,
}

impl AnnounceSchedule {
    /// Starts the schedule on becoming Active at `now`. Returns rounds due immediately.
    pub fn start(&mut self, cfg: &AnnounceConfig, now: Instant) -> u32 {
        *self = AnnounceSchedule::default();
        self.second_burst_at = cfg.second_burst_delay.map(|d| now + d);
        // The burst below already announces; a dual-Active re-announcement right after it
        // (the old Active's last advert as it yields) would only repeat it.
        self.last_lower_prio = Some(now);
        let refresh_base = now + cfg.second_burst_delay.unwrap_or(Duration::ZERO);
        self.refresh_at = cfg.refresh_interval.map(|r| refresh_base + r);
        self.begin_burst(cfg, now, cfg.burst_count)
    }

    /// Stops everything (leaving Active).
    pub fn stop(&mut self) {
        *self = AnnounceSchedule::default();
    }

    /// Called when an Active router wins over another Active. Returns rounds due now.
    pub fn lower_priority_seen(&mut self, cfg: &AnnounceConfig, now: Instant) -> u32 {
        if let Some(last) = self.last_lower_prio {
            if now.saturating_since(last) < cfg.lower_prio_min_gap {
                return 0;
            }
        }
        self.last_lower_prio = Some(now);
        self.begin_burst(cfg, now, cfg.lower_prio_count)
    }

    /// Called when a reload gives an Active router new addresses: a burst (`burst_count`
    /// rounds, as keepalived's `garp_master_repeat` for added addresses). Returns rounds due now.
    pub fn addresses_added(&mut self, cfg: &AnnounceConfig, now: Instant) -> u32 {
        self.begin_burst(cfg, now, cfg.burst_count)
    }

    fn begin_burst(&mut self, cfg: &AnnounceConfig, now: Instant, count: u32) -> u32 {
        if count == 0 {
            return 0;
        }
        if cfg.burst_spacing == Duration::ZERO {
            self.burst_left = 0;
            self.burst_next = None;
            return count;
        }
        self.burst_left = count - 1;
        self.burst_next = (self.burst_left > 0).then(|| now + cfg.burst_spacing);
        1
    }

    /// Rounds that are due at `now`; advances the schedule. Harmless when nothing is due.
    pub fn poll_due(&mut self, cfg: &AnnounceConfig, now: Instant) -> u32 {
        let mut rounds = 0;
        if self.burst_next.is_some_and(|t| t <= now) {
            rounds += 1;
            self.burst_left -= 1;
            self.burst_next = (self.burst_left > 0).then(|| now + cfg.burst_spacing);
        }
        if self.second_burst_at.is_some_and(|t| t <= now) {
            self.second_burst_at = None;
            rounds += self.begin_burst(cfg, now, cfg.burst_count);
        }
        if let (Some(t), Some(period)) = (self.refresh_at, cfg.refresh_interval) {
            if t <= now {
                self.refresh_at = Some(now + period);
                rounds += cfg.refresh_count;
            }
        }
        rounds
    }

    /// The next instant something is due.
    pub fn next_due(&self) -> Option<Instant> {
        [self.burst_next, self.second_burst_at, self.refresh_at]
            .into_iter()
            .flatten()
            .min()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(ms: u64) -> Instant {
        Instant::from_micros(ms * 1000)
    }

    #[test]
    fn burst_then_second_burst_then_refresh() {
        let cfg = AnnounceConfig {
            burst_count: 3,
            burst_spacing: Duration::from_millis(100),
            second_burst_delay: Some(Duration::from_secs(5)),
            refresh_interval: Some(Duration::from_secs(60)),
            refresh_count: 2,
            ..AnnounceConfig::default()
        };
        let mut s = AnnounceSchedule::default();
        assert_eq!(s.start(&cfg, at(0)), 1);
        assert_eq!(s.next_due(), Some(at(100)));
        assert_eq!(s.poll_due(&cfg, at(50)), 0, "early poll is harmless");
        assert_eq!(s.poll_due(&cfg, at(100)), 1);
        assert_eq!(s.poll_due(&cfg, at(200)), 1);
        assert_eq!(s.next_due(), Some(at(5_000)));
        assert_eq!(s.poll_due(&cfg, at(5_000)), 1);
        assert_eq!(s.poll_due(&cfg, at(5_100)), 1);
        assert_eq!(s.poll_due(&cfg, at(5_200)), 1);
        assert_eq!(s.next_due(), Some(at(65_000)));
        assert_eq!(s.poll_due(&cfg, at(65_000)), 2);
        assert_eq!(s.next_due(), Some(at(125_000)));
    }

    #[test]
    fn zero_spacing_makes_the_whole_burst_due_at_once() {
        let cfg = AnnounceConfig::default();
        let mut s = AnnounceSchedule::default();
        assert_eq!(s.start(&cfg, at(0)), 5);
        assert_eq!(s.next_due(), Some(at(5_000)));
    }

    #[test]
    fn lower_priority_reannouncement_is_rate_limited() {
        let cfg = AnnounceConfig::default();
        let mut s = AnnounceSchedule::default();
        s.start(&cfg, at(0));
        assert_eq!(
            s.lower_priority_seen(&cfg, at(10)),
            0,
            "just announced on becoming Active"
        );
        assert_eq!(s.lower_priority_seen(&cfg, at(1_010)), 5);
        assert_eq!(s.lower_priority_seen(&cfg, at(1_500)), 0);
        assert_eq!(s.lower_priority_seen(&cfg, at(2_020)), 5);
    }
}
