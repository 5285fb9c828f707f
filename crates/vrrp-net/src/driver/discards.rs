//! The rate limit of the warnings about discarded adverts (RFC 9568: a receiver "MUST
//! discard" a bad advert and "SHOULD log" it; logging every one would let a misconfigured peer
//! flood the log). A reason is the kind of error (a `Ttl(1)` and a `Ttl(254)` are one reason);
//! each (instance, reason) is warned about at most once per [`WARN_INTERVAL`], and the warning
//! carries the count of discards suppressed since the previous one.

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
            _ => Some(DiscardReason::Policy(discriminant(e))),
        }
    }

    /// The reason of a codec error.
    pub(super) fn of_codec(e: &RxError) -> Self {
        DiscardReason::Codec(discriminant(e))
    }
}

/// When one (instance, reason) was last warned about, and what was suppressed since.
#[derive(Debug)]
struct WarnState {
    last_warned: Instant,
    suppressed: u64,
}

/// The warning state of every (instance, reason) seen.
#[derive(Debug, Default)]
pub(super) struct DiscardLog {
    seen: HashMap<(usize, DiscardReason), WarnState>,
}

impl DiscardLog {
    /// Records a discard by `instance` for `reason` at `now`. Returns the number of discards
    /// suppressed since the last warning if this one is to be warned about, `None` if it is
    /// suppressed (and counted).
    pub(super) fn record(
        &mut self,
        instance: usize,
        reason: DiscardReason,
        now: Instant,
    ) -> Option<u64> {
        match self.seen.get_mut(&(instance, reason)) {
            Some(state) if now.saturating_since(state.last_warned) < WARN_INTERVAL => {
                state.suppressed += 1;
                None
            }
            Some(state) => {
                let suppressed = std::mem::take(&mut state.suppressed);
                state.last_warned = now;
                Some(suppressed)
            }
            None => {
                let fresh = WarnState {
                    last_warned: now,
                    suppressed: 0,
                };
                self.seen.insert((instance, reason), fresh);
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
