//! The schedule of gratuitous ARP / unsolicited NA announcements of an Active router.
//!
//! vrrp-core decides *when* each announcement is due; the data plane builds the frames and
//! paces them per interface (keepalived's `garp_interval` / `gna_interval`). A round is one
//! [`crate::Command::Announce`] per installed address.
//!
//! - On becoming Active: a burst of `burst_count` rounds, `burst_spacing` apart (the first at
//!   once, so the first GARP leaves with the state change).
//! - keepalived's second burst `second_burst_delay` later (`garp_master_delay`, default 5 s).
//! - Periodic refresh, on by default ([`DEFAULT_REFRESH_INTERVAL`]; keepalived's
//!   `garp_master_refresh`, which keepalived leaves off): every address is announced
//!   `refresh_count` times once per `refresh_interval`, the first time within one interval of
//!   becoming Active. The addresses take turns, one per `refresh_interval / n` slot, and each
//!   router starts at its own phase in its first slot (see [`refresh_phase`]), so that many
//!   addresses or routers that became Active together do not announce in the same instant.
//!   See docs/decisions/0006-periodic-reannouncement.md.
//! - A re-announcement burst (`lower_prio_count` rounds, keepalived's
//!   `garp_lower_prio_repeat`) when an Active hears a lower-priority advert from another router
//!   that thinks it is Active: the dual-Active case that leaves ARP caches pointing at the
//!   loser; and the same burst again `lower_prio_delay` later (`garp_lower_prio_delay`), in
//!   case the first was lost. Rate-limited to one per `lower_prio_min_gap`.

use crate::time::{Duration, Instant};

/// The refresh interval when none is configured: every address of an Active router is
/// re-announced at least this often (docs/decisions/0006-periodic-reannouncement.md).
pub const DEFAULT_REFRESH_INTERVAL: Duration = Duration::from_secs(20);

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
    /// Refresh period (`garp_master_refresh`; default [`DEFAULT_REFRESH_INTERVAL`], `None`:
    /// no refresh).
    pub refresh_interval: Option<Duration>,
    /// Announcements of each address per refresh (`garp_master_refresh_repeat`, default 1).
    pub refresh_count: u32,
    /// Rounds sent when winning over another Active (`garp_lower_prio_repeat`, default 5).
    pub lower_prio_count: u32,
    /// Delay of the second such burst (`garp_lower_prio_delay`, default 5 s, as keepalived's
    /// default `garp_master_delay`; `None`: none).
    pub lower_prio_delay: Option<Duration>,
    /// Minimum time between two such re-announcements.
    pub lower_prio_min_gap: Duration,
    /// Period of the announcements of [`crate::RouterConfig::extra_announce`]
    /// (keepalived's `garp_extra_if`; default none); the first comes `second_burst_delay`
    /// plus one period after becoming Active, as keepalived sends it.
    pub extra_interval: Option<Duration>,
}

impl Default for AnnounceConfig {
    fn default() -> Self {
        AnnounceConfig {
            burst_count: 5,
            burst_spacing: Duration::ZERO,
            second_burst_delay: Some(Duration::from_secs(5)),
            refresh_interval: Some(DEFAULT_REFRESH_INTERVAL),
            refresh_count: 1,
            lower_prio_count: 5,
            lower_prio_delay: Some(Duration::from_secs(5)),
            lower_prio_min_gap: Duration::from_secs(1),
            extra_interval: None,
        }
    }
}

/// What is due at one instant.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Due {
    /// Rounds of every address.
    pub rounds: u32,
    /// A refresh: the index of the address (in installation order) and how many times.
    pub refresh: Option<(usize, u32)>,
    /// The extra-interface announcements.
    pub extra: bool,
}

/// Where an Active router is in its announcement schedule.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct AnnounceSchedule {
    /// Rounds left in the current burst, and when the next is due.
    burst_left: u32,
    burst_next: Option<Instant>,
    /// The keepalived-style second burst.
    second_burst_at: Option<Instant>,
    /// The second dual-Active re-announcement.
    lower_prio_again_at: Option<Instant>,
    /// The next refresh slot, and the address it is for.
    refresh_at: Option<Instant>,
    refresh_cursor: usize,
    /// The next extra-interface announcement.
    extra_at: Option<Instant>,
    /// Last dual-Active re-announcement, for rate limiting.
    last_lower_prio: Option<Instant>,
}

/// The length of one refresh slot: `interval` shared by `addresses` (at least 1 µs).
fn slot(interval: Duration, addresses: usize) -> Duration {
    let n = u64::try_from(addresses.max(1)).unwrap_or(u64::MAX);
    Duration::from_micros((interval.as_micros() / n).max(1))
}

impl AnnounceSchedule {
    /// Starts the schedule on becoming Active at `now`, for `addresses` addresses, with the
    /// router's refresh `phase` (per mille, see [`refresh_phase`]). Returns rounds due now.
    pub fn start(
        &mut self,
        cfg: &AnnounceConfig,
        now: Instant,
        addresses: usize,
        phase: u16,
    ) -> u32 {
        *self = AnnounceSchedule::default();
        self.second_burst_at = cfg.second_burst_delay.map(|d| now + d);
        // The burst below already announces; a dual-Active re-announcement right after it
        // (the old Active's last advert as it yields) would only repeat it.
        self.last_lower_prio = Some(now);
        self.extra_at = (cfg.extra_interval)
            .map(|period| now + cfg.second_burst_delay.unwrap_or(Duration::ZERO) + period);
        let refresh = cfg.refresh_interval.filter(|_| cfg.refresh_count > 0);
        self.refresh_at = refresh.map(|interval| {
            let slot = slot(interval, addresses);
            now + Duration::from_micros(slot.as_micros() * u64::from(phase.min(1000)) / 1000)
        });
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
        if cfg.lower_prio_count > 0 {
            self.lower_prio_again_at = cfg.lower_prio_delay.map(|d| now + d);
        }
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

    /// What is due at `now` for a router with `addresses` addresses; advances the schedule.
    /// Harmless when nothing is due.
    pub fn poll_due(&mut self, cfg: &AnnounceConfig, now: Instant, addresses: usize) -> Due {
        let mut due = Due::default();
        if self.burst_next.is_some_and(|t| t <= now) {
            due.rounds += 1;
            self.burst_left -= 1;
            self.burst_next = (self.burst_left > 0).then(|| now + cfg.burst_spacing);
        }
        if self.second_burst_at.is_some_and(|t| t <= now) {
            self.second_burst_at = None;
            due.rounds += self.begin_burst(cfg, now, cfg.burst_count);
        }
        if self.lower_prio_again_at.is_some_and(|t| t <= now) {
            self.lower_prio_again_at = None;
            due.rounds += self.begin_burst(cfg, now, cfg.lower_prio_count);
        }
        if let (Some(t), Some(period)) = (self.extra_at, cfg.extra_interval) {
            if t <= now {
                due.extra = true;
                let next = t + period;
                self.extra_at = Some(if next <= now { now + period } else { next });
            }
        }
        if let (Some(t), Some(interval)) = (self.refresh_at, cfg.refresh_interval) {
            if t <= now {
                if addresses > 0 && cfg.refresh_count > 0 {
                    let index = self.refresh_cursor % addresses;
                    due.refresh = Some((index, cfg.refresh_count));
                    self.refresh_cursor = (index + 1) % addresses;
                }
                // The next slot follows this one; if that is already past (a stalled host),
                // it follows now, without catching up on the missed slots.
                let slot = slot(interval, addresses);
                let next = t + slot;
                self.refresh_at = Some(if next <= now { now + slot } else { next });
            }
        }
        due
    }

    /// The next instant something is due.
    pub fn next_due(&self) -> Option<Instant> {
        [
            self.burst_next,
            self.second_burst_at,
            self.lower_prio_again_at,
            self.refresh_at,
            self.extra_at,
        ]
        .into_iter()
        .flatten()
        .min()
    }
}

/// A router's refresh phase, per mille of its first slot, in 500..1000: derived from its VRID
/// and its first address, so that routers becoming Active together (one host taking over
/// from a crashed one) spread their refreshes over half a slot, and the first refresh of
/// every address still comes within one interval of becoming Active.
pub fn refresh_phase(vrid: u8, first_address: Option<core::net::IpAddr>) -> u16 {
    // FNV-1a over the VRID and the address bytes.
    let mut h: u32 = 0x811c_9dc5;
    let mut eat = |b: u8| {
        h ^= u32::from(b);
        h = h.wrapping_mul(0x0100_0193);
    };
    eat(vrid);
    match first_address {
        Some(core::net::IpAddr::V4(a)) => a.octets().into_iter().for_each(&mut eat),
        Some(core::net::IpAddr::V6(a)) => a.octets().into_iter().for_each(&mut eat),
        None => {}
    }
    500 + u16::try_from(h % 500).unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(ms: u64) -> Instant {
        Instant::from_micros(ms * 1000)
    }

    #[test]
    fn burst_then_second_burst_then_refresh_of_each_address_in_its_slot() {
        let cfg = AnnounceConfig {
            burst_count: 3,
            burst_spacing: Duration::from_millis(100),
            second_burst_delay: Some(Duration::from_secs(5)),
            refresh_interval: Some(Duration::from_secs(60)),
            refresh_count: 2,
            ..AnnounceConfig::default()
        };
        let mut s = AnnounceSchedule::default();
        // Two addresses: 30 s slots; phase 500 puts the first refresh 15 s in.
        assert_eq!(s.start(&cfg, at(0), 2, 500), 1);
        assert_eq!(s.next_due(), Some(at(100)));
        assert_eq!(
            s.poll_due(&cfg, at(50), 2),
            Due::default(),
            "early poll is harmless"
        );
        assert_eq!(s.poll_due(&cfg, at(100), 2).rounds, 1);
        assert_eq!(s.poll_due(&cfg, at(200), 2).rounds, 1);
        assert_eq!(s.next_due(), Some(at(5_000)));
        assert_eq!(s.poll_due(&cfg, at(5_000), 2).rounds, 1);
        assert_eq!(s.poll_due(&cfg, at(5_100), 2).rounds, 1);
        assert_eq!(s.poll_due(&cfg, at(5_200), 2).rounds, 1);
        assert_eq!(s.next_due(), Some(at(15_000)));
        let refreshes: Vec<(u64, Option<(usize, u32)>)> = [15_000, 45_000, 75_000, 105_000]
            .into_iter()
            .map(|t| (t, s.poll_due(&cfg, at(t), 2).refresh))
            .collect();
        assert_eq!(
            refreshes,
            [
                (15_000, Some((0, 2))),
                (45_000, Some((1, 2))),
                (75_000, Some((0, 2))),
                (105_000, Some((1, 2)))
            ]
        );
    }

    #[test]
    fn zero_spacing_makes_the_whole_burst_due_at_once() {
        let cfg = AnnounceConfig::default();
        let mut s = AnnounceSchedule::default();
        assert_eq!(s.start(&cfg, at(0), 1, 1000), 5);
        assert_eq!(s.next_due(), Some(at(5_000)));
    }

    #[test]
    fn by_default_every_address_is_refreshed_within_one_interval_of_becoming_active() {
        let cfg = AnnounceConfig::default();
        let interval = DEFAULT_REFRESH_INTERVAL.as_micros() / 1000;
        for n in [1usize, 2, 7, 1000] {
            for phase in [500, 777, 999] {
                let mut s = AnnounceSchedule::default();
                s.start(&cfg, at(0), n, phase);
                let mut seen = vec![false; n];
                let mut times = Vec::new();
                while let Some(t) = s.next_due().filter(|t| t.as_micros() / 1000 <= interval) {
                    if let Some((i, _)) = s.poll_due(&cfg, t, n).refresh {
                        seen[i] = true;
                        times.push(t);
                    }
                }
                assert!(seen.iter().all(|s| *s), "n {n} phase {phase}: {seen:?}");
                let spread = times.windows(2).map(|w| w[1].saturating_since(w[0]));
                assert!(
                    spread.into_iter().all(|d| d > Duration::ZERO),
                    "no two at once"
                );
            }
        }
    }

    #[test]
    fn no_refresh_when_switched_off() {
        let cfg = AnnounceConfig {
            refresh_interval: None,
            second_burst_delay: None,
            ..AnnounceConfig::default()
        };
        let mut s = AnnounceSchedule::default();
        s.start(&cfg, at(0), 3, 600);
        assert_eq!(s.next_due(), None);
    }

    #[test]
    fn lower_priority_reannouncement_is_rate_limited_and_repeated_after_its_delay() {
        let cfg = AnnounceConfig {
            refresh_interval: None,
            second_burst_delay: None,
            ..AnnounceConfig::default()
        };
        let mut s = AnnounceSchedule::default();
        s.start(&cfg, at(0), 1, 500);
        assert_eq!(
            s.lower_priority_seen(&cfg, at(10)),
            0,
            "just announced on becoming Active"
        );
        assert_eq!(s.lower_priority_seen(&cfg, at(1_010)), 5);
        assert_eq!(s.next_due(), Some(at(6_010)), "the second burst");
        assert_eq!(s.lower_priority_seen(&cfg, at(1_500)), 0);
        assert_eq!(s.poll_due(&cfg, at(6_010), 1).rounds, 5);
        assert_eq!(s.next_due(), None);
    }

    #[test]
    fn extra_interface_announcements_start_after_the_second_burst_and_repeat() {
        let cfg = AnnounceConfig {
            refresh_interval: None,
            extra_interval: Some(Duration::from_secs(2)),
            ..AnnounceConfig::default()
        };
        let mut s = AnnounceSchedule::default();
        s.start(&cfg, at(0), 2, 500);
        assert_eq!(s.poll_due(&cfg, at(5_000), 2).rounds, 5, "the second burst");
        assert_eq!(
            s.next_due(),
            Some(at(7_000)),
            "garp_master_delay + one period"
        );
        let extra: Vec<u64> = (0..3)
            .map(|_| {
                let t = s.next_due().unwrap();
                assert!(s.poll_due(&cfg, t, 2).extra);
                t.as_micros() / 1000
            })
            .collect();
        assert_eq!(extra, [7_000, 9_000, 11_000]);
        s.stop();
        assert_eq!(s.next_due(), None, "nothing after leaving Active");
    }

    #[test]
    fn phases_spread_over_half_a_slot() {
        let phases: Vec<u16> = (1..=255)
            .map(|vrid| refresh_phase(vrid, Some("192.0.2.1".parse().unwrap())))
            .collect();
        assert!(phases.iter().all(|p| (500..1000).contains(p)));
        let distinct: std::collections::BTreeSet<_> = phases.iter().collect();
        assert!(distinct.len() > 150, "{} distinct phases", distinct.len());
    }
}
