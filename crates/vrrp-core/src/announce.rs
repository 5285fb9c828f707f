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
//! - Conflict probes: at the refresh interval, staggered as the refresh but half a slot before
//!   it (so the first is due within half a slot of becoming Active), never within
//!   [`PROBE_SETTLE`] of becoming Active; one [`crate::Command::Probe`] per address (an RFC
//!   5227 ARP probe or a DAD-style NS) whose answers, like the gratuitous ARPs and NAs of other hosts, the data plane reports as
//!   [`crate::Input::AddressConflict`]. A conflict re-announces the address at once
//!   (`lower_prio_count` times, at least once), at most once per address per
//!   `lower_prio_min_gap` (docs/decisions/0007-conflict-detection.md).

use core::net::IpAddr;

use crate::time::{Duration, Instant};

/// The refresh interval when none is configured: every address of an Active router is
/// re-announced at least this often (docs/decisions/0006-periodic-reannouncement.md).
pub const DEFAULT_REFRESH_INTERVAL: Duration = Duration::from_secs(20);

/// The earliest a conflict probe comes after becoming Active: an Active that was preempted
/// (or told to go by its sync group) releases the addresses within milliseconds of our first
/// advert, and its kernel's answer meanwhile is a handover, not a conflict worth a warning.
pub const PROBE_SETTLE: Duration = Duration::from_millis(250);

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
    /// A conflict probe: the index of the address (in installation order).
    pub probe: Option<usize>,
}

/// Where an Active router is in its announcement schedule.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
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
    /// The next conflict probe slot, and the address it is for.
    probe_at: Option<Instant>,
    probe_cursor: usize,
    /// The last conflict re-announcement of each address (within `lower_prio_min_gap`).
    conflicts: Vec<(IpAddr, Instant)>,
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
        // Half a slot before each refresh (the phase is at least half a slot, so the first
        // probe is due within half a slot of becoming Active: a crashed Active whose kernel
        // still answers is found at once), so its answer does not meet the refresh of the same
        // round on the wire; but not before PROBE_SETTLE.
        self.probe_at = (cfg.refresh_interval.zip(self.refresh_at)).map(|(interval, first)| {
            let half = slot(interval, addresses).as_micros() / 2;
            let offset = first.saturating_since(now).as_micros().saturating_sub(half);
            now + Duration::from_micros(offset.max(PROBE_SETTLE.as_micros()))
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

    /// Called when another MAC claims `addr` (an address of this Active router): how many
    /// times to re-announce it now, 0 inside the rate limit (one re-announcement per address
    /// per `lower_prio_min_gap`).
    pub fn conflict_seen(&mut self, cfg: &AnnounceConfig, now: Instant, addr: IpAddr) -> u32 {
        let gap = cfg.lower_prio_min_gap;
        self.conflicts
            .retain(|(_, t)| now.saturating_since(*t) < gap);
        if self.conflicts.iter().any(|(a, _)| *a == addr) {
            return 0;
        }
        self.conflicts.push((addr, now));
        cfg.lower_prio_count.max(1)
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
        if let (Some(t), Some(interval)) = (self.probe_at, cfg.refresh_interval) {
            if t <= now {
                if addresses > 0 {
                    let index = self.probe_cursor % addresses;
                    due.probe = Some(index);
                    self.probe_cursor = (index + 1) % addresses;
                }
                let slot = slot(interval, addresses);
                let next = t + slot;
                self.probe_at = Some(if next <= now { now + slot } else { next });
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
            self.probe_at,
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
        // Phase 500: the first conflict probe, half a slot before the refresh, would be due at
        // once; it waits for PROBE_SETTLE.
        assert_eq!(s.next_due(), Some(at(100)));
        assert_eq!(
            s.poll_due(&cfg, at(50), 2),
            Due::default(),
            "early poll is harmless"
        );
        assert_eq!(s.poll_due(&cfg, at(100), 2).rounds, 1);
        assert_eq!(s.poll_due(&cfg, at(200), 2).rounds, 1);
        assert_eq!(s.next_due(), Some(at(250)));
        assert_eq!(s.poll_due(&cfg, at(250), 2).probe, Some(0));
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
    fn every_address_is_probed_once_per_interval_half_a_slot_before_its_refresh_after_settling() {
        let cfg = AnnounceConfig {
            refresh_interval: Some(Duration::from_secs(2)),
            second_burst_delay: None,
            ..AnnounceConfig::default()
        };
        for n in [1usize, 3, 100] {
            for phase in [500, 750, 999] {
                let mut s = AnnounceSchedule::default();
                s.start(&cfg, at(0), n, phase);
                let slot = 2_000_000 / n as u64;
                let mut probes: Vec<(u64, usize)> = Vec::new();
                let mut refreshes: Vec<(u64, usize)> = Vec::new();
                while let Some(t) = s.next_due().filter(|t| t.as_micros() < 4_300_000) {
                    let due = s.poll_due(&cfg, t, n);
                    due.probe
                        .into_iter()
                        .for_each(|i| probes.push((t.as_micros(), i)));
                    (due.refresh.into_iter()).for_each(|(i, _)| refreshes.push((t.as_micros(), i)));
                }
                let first = probes.first().map(|p| p.0).unwrap();
                let settle = PROBE_SETTLE.as_micros();
                assert!(
                    first >= settle && first <= (slot / 2).max(settle),
                    "n {n} phase {phase}: first probe at {first}"
                );
                let unshifted = slot * u64::from(phase) / 1000 - slot / 2 >= settle;
                for i in 0..n {
                    let p: Vec<u64> = (probes.iter().filter(|p| p.1 == i)).map(|p| p.0).collect();
                    let r: Vec<u64> = (refreshes.iter().filter(|r| r.1 == i))
                        .map(|r| r.0)
                        .collect();
                    assert!(
                        p.len() >= 2,
                        "n {n} phase {phase}: address {i} probed {p:?}"
                    );
                    assert_eq!(p[1] - p[0], 2_000_000 / slot * slot, "once per interval");
                    if unshifted {
                        assert_eq!(r[0] - p[0], slot / 2, "half a slot before the refresh");
                    }
                }
            }
        }
    }

    #[test]
    fn no_probes_without_refresh() {
        let cfg = AnnounceConfig {
            refresh_interval: None,
            ..AnnounceConfig::default()
        };
        let mut s = AnnounceSchedule::default();
        s.start(&cfg, at(0), 2, 600);
        while let Some(t) = s.next_due() {
            assert_eq!(s.poll_due(&cfg, t, 2).probe, None);
        }
    }

    #[test]
    fn conflicts_are_re_announced_once_per_address_per_gap() {
        let cfg = AnnounceConfig::default();
        let (a, b): (IpAddr, IpAddr) = ("192.0.2.1".parse().unwrap(), "192.0.2.2".parse().unwrap());
        let mut s = AnnounceSchedule::default();
        s.start(&cfg, at(0), 2, 600);
        assert_eq!(
            s.conflict_seen(&cfg, at(10), a),
            5,
            "garp_lower_prio_repeat times"
        );
        assert_eq!(s.conflict_seen(&cfg, at(500), a), 0, "inside the second");
        assert_eq!(s.conflict_seen(&cfg, at(500), b), 5, "per address");
        assert_eq!(s.conflict_seen(&cfg, at(1_009), a), 0);
        assert_eq!(s.conflict_seen(&cfg, at(1_010), a), 5, "a second later");
        let once = AnnounceConfig {
            lower_prio_count: 0,
            ..cfg
        };
        assert_eq!(s.conflict_seen(&once, at(5_000), a), 1, "at least once");
        s.stop();
        assert_eq!(
            s.conflict_seen(&cfg, at(5_001), a),
            5,
            "forgotten on leaving Active"
        );
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
