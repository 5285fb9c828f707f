//! The rate limit of the warnings about discarded adverts (RFC 9568: a receiver "MUST
//! discard" a bad advert and "SHOULD log" it; logging every one would let a misconfigured peer
//! flood the log). A reason is the kind of error (a `Ttl(1)` and a `Ttl(254)` are one reason);
//! each (instance, reason) is warned about at most once per [`WARN_INTERVAL`], and the warning
//! carries the count of discards suppressed since the previous one. The same [`WarnLog`] limits
//! the address-conflict warnings ([`super::conflicts`]).

use std::collections::HashMap;
use std::mem::{discriminant, Discriminant};

use vrrp_core::{Duration, Instant, PolicyError, RxError};

/// The shortest time between two warnings about one (instance, reason).
pub(super) const WARN_INTERVAL: Duration = Duration::from_secs(60);

/// Why an advert was discarded, as far as rate limiting is concerned.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(super) enum DiscardReason {
    /// A router's policy check.
    Policy(Discriminant<PolicyError>),
    /// The codec, for a packet addressed to a router of ours.
    Codec(Discriminant<RxError>),
}

impl DiscardReason {
    /// The reason of a policy discard, or `None` for discards that are part of normal
    /// operation and only logged at TRACE: our own advert looped back, an advert while not
    /// running, and a VRRPv2 advert of a router that also sends VRRPv3 (R47, every second in
    /// v2/v3 mode).
    pub(super) fn of_policy(e: &PolicyError) -> Option<Self> {
        match e {
            PolicyError::Own | PolicyError::NotRunning | PolicyError::V2FromV3Sender => None,
            // The router raises its own rate-limited notice, in keepalived's words.
            PolicyError::AuthHmac(_) => None,
            _ => Some(DiscardReason::Policy(discriminant(e))),
        }
    }

    /// The reason of a codec error.
    pub(super) fn of_codec(e: &RxError) -> Self {
        DiscardReason::Codec(discriminant(e))
    }
}

/// When one key was last warned about, and what was suppressed since.
#[derive(Debug)]
struct WarnState {
    last_warned: Instant,
    suppressed: u64,
}

/// Warnings rate-limited per key: each key is warned about at most once per `interval`, and
/// the warning carries the count suppressed since the previous one. Keys start with the
/// instance index, so that a removed instance is forgotten.
#[derive(Debug)]
pub(super) struct WarnLog<K> {
    interval: Duration,
    seen: HashMap<(usize, K), WarnState>,
}

/// The warning state of every (instance, reason) of discarded adverts.
pub(super) type DiscardLog = WarnLog<DiscardReason>;

impl Default for DiscardLog {
    fn default() -> Self {
        WarnLog::new(WARN_INTERVAL)
    }
}

impl<K: std::hash::Hash + Eq> WarnLog<K> {
    /// A log warning about each key at most once per `interval`.
    pub(super) fn new(interval: Duration) -> Self {
        WarnLog {
            interval,
            seen: HashMap::new(),
        }
    }

    /// Records an occurrence of `key` for `instance` at `now`. Returns the number suppressed
    /// since the last warning if this one is to be warned about, `None` if it is suppressed
    /// (and counted).
    pub(super) fn record(&mut self, instance: usize, key: K, now: Instant) -> Option<u64> {
        use std::collections::hash_map::Entry;
        match self.seen.entry((instance, key)) {
            Entry::Occupied(mut seen) => {
                let state = seen.get_mut();
                if now.saturating_since(state.last_warned) < self.interval {
                    state.suppressed += 1;
                    return None;
                }
                state.last_warned = now;
                Some(std::mem::take(&mut state.suppressed))
            }
            Entry::Vacant(slot) => {
                slot.insert(WarnState {
                    last_warned: now,
                    suppressed: 0,
                });
                Some(0)
            }
        }
    }

    /// Forgets a removed instance.
    pub(super) fn forget(&mut self, instance: usize) {
        self.seen.retain(|(i, _), _| *i != instance);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ttl() -> DiscardReason {
        DiscardReason::of_policy(&PolicyError::Ttl(254)).unwrap()
    }

    #[test]
    fn normal_operation_is_not_warned_about() {
        for e in [
            PolicyError::Own,
            PolicyError::NotRunning,
            PolicyError::V2FromV3Sender,
        ] {
            assert_eq!(DiscardReason::of_policy(&e), None, "{e:?}");
        }
        for e in [
            PolicyError::Version,
            PolicyError::Auth,
            PolicyError::DestinationMismatch,
            PolicyError::UnknownUnicastSource,
        ] {
            assert!(DiscardReason::of_policy(&e).is_some(), "{e:?}");
        }
    }

    #[test]
    fn a_reason_is_the_kind_of_error_not_its_values() {
        assert_eq!(DiscardReason::of_policy(&PolicyError::Ttl(1)), Some(ttl()));
        assert_ne!(DiscardReason::of_policy(&PolicyError::Auth), Some(ttl()));
        assert_eq!(
            DiscardReason::of_codec(&RxError::BadVersion(1)),
            DiscardReason::of_codec(&RxError::BadVersion(7))
        );
        assert_ne!(
            DiscardReason::of_codec(&RxError::Checksum),
            DiscardReason::of_codec(&RxError::BadVersion(7))
        );
    }

    #[test]
    fn one_warning_per_minute_with_the_suppressed_count() {
        let t0 = Instant::from_micros(5_000_000);
        let mut log = DiscardLog::default();
        assert_eq!(log.record(0, ttl(), t0), Some(0));
        for s in 1..60 {
            assert_eq!(log.record(0, ttl(), t0 + Duration::from_secs(s)), None);
        }
        assert_eq!(log.record(0, ttl(), t0 + WARN_INTERVAL), Some(59));
        assert_eq!(log.record(0, ttl(), t0 + WARN_INTERVAL), None);
        assert_eq!(
            log.record(0, ttl(), t0 + WARN_INTERVAL.saturating_mul(2)),
            Some(1)
        );
    }

    #[test]
    fn conflict_warnings_are_limited_per_instance_and_address() {
        let t0 = Instant::from_micros(5_000_000);
        let (a, b): (std::net::IpAddr, std::net::IpAddr) =
            ("192.0.2.1".parse().unwrap(), "2001:db8::1".parse().unwrap());
        let gap = Duration::from_secs(10);
        let mut log = WarnLog::new(gap);
        assert_eq!(log.record(0, a, t0), Some(0));
        assert_eq!(log.record(0, b, t0), Some(0), "another address");
        assert_eq!(log.record(1, a, t0), Some(0), "another instance");
        for s in 1..10 {
            assert_eq!(log.record(0, a, t0 + Duration::from_secs(s)), None);
        }
        assert_eq!(log.record(0, a, t0 + gap), Some(9));
    }

    #[test]
    fn instances_and_reasons_are_limited_separately() {
        let t0 = Instant::from_micros(5_000_000);
        let auth = DiscardReason::of_policy(&PolicyError::Auth).unwrap();
        let mut log = DiscardLog::default();
        assert_eq!(log.record(0, ttl(), t0), Some(0));
        assert_eq!(log.record(0, auth, t0), Some(0));
        assert_eq!(log.record(1, ttl(), t0), Some(0));
        assert_eq!(log.record(0, ttl(), t0), None);
        log.forget(0);
        assert_eq!(log.record(0, ttl(), t0), Some(0));
        assert_eq!(log.record(1, ttl(), t0), None);
    }
}
