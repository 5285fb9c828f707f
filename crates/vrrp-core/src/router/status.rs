//! A point-in-time view of a router, for status APIs and dumps.

use core::net::IpAddr;
use std::sync::Arc;

use super::Router;
use crate::output::State;
use crate::packet::{self, Family};
use crate::stats::Stats;
use crate::time::{Duration, Instant};
use crate::track::{Effect, TrackState, Tracker};

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
    /// When the current state was entered (`None` before the first transition).
    pub since: Option<Instant>,
    /// Base priority in use (the configured one unless changed at runtime).
    pub base_priority: u8,
    /// Effective priority.
    pub effective_priority: u8,
    /// The advert source and tie-breaker in use.
    pub primary_addr: IpAddr,
    /// Active_Adver_Interval in use.
    pub active_adver_interval: Duration,
    /// Skew_Time for our priority.
    pub skew_time: Duration,
    /// Active_Down_Interval.
    pub active_down_interval: Duration,
    /// The last Active heard (Backup), if any.
    pub last_active: Option<IpAddr>,
    /// The priority the last Active advertised, if any.
    pub last_active_priority: Option<u8>,
    /// The IPv4 VRRPv3 checksum form sent now (it may follow a peer's, see
    /// [`crate::RouterConfig::checksum_follow_peer`]).
    pub checksum_form: packet::ChecksumForm,
    /// Counters.
    pub stats: Stats,
    /// Every tracked object with its last state and what it does to the priority now.
    pub trackers: Vec<TrackerStatus>,
    /// In maintenance ([`crate::Input::Maintenance`]): never Active.
    pub maintenance: bool,
}

/// A tracked object in a [`Status`]: what it is, its last reported state and its effect.
#[derive(Clone, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct TrackerStatus {
    /// The tracker as configured (name, weight, reverse, kind).
    pub tracker: Tracker,
    /// Its last reported state.
    pub state: TrackState,
    /// What it does to the priority in that state.
    pub effect: Effect,
}

impl Router {
    /// A snapshot for status APIs.
    pub fn status(&self) -> Status {
        Status {
            name: self.cfg.name.clone(),
            vrid: self.cfg.vrid,
            family: self.cfg.family,
            state: self.state,
            since: self.since,
            base_priority: self.base_priority,
            effective_priority: self.effective,
            primary_addr: self.primary_addr,
            active_adver_interval: self.active_adver_interval,
            skew_time: self.skew_time(),
            active_down_interval: self.active_down_interval(),
            last_active: self.last_active,
            last_active_priority: self.last_active_priority,
            checksum_form: self.send_form,
            stats: self.stats,
            trackers: (self.trackers.iter())
                .map(|(tracker, state)| TrackerStatus {
                    tracker: tracker.clone(),
                    state: *state,
                    effect: tracker.effect(*state),
                })
                .collect(),
            maintenance: self.maintenance,
        }
    }
}
