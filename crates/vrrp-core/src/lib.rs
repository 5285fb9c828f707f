//! # vrrp-core
//!
//! The VRRP protocol as a sans-IO library: VRRPv3 (RFC 9568, with its errata) and VRRPv2
//! (RFC 3768), over IPv4 and IPv6. It holds every decision and no I/O: no sockets, no clock,
//! no threads. Every input carries `now`; the next deadline comes from `poll_timeout()`, and
//! `handle_timeout(now)` is harmless when called early, late or twice. Outputs come in three
//! kinds, drained in this order after every input ([`output`]):
//!
//! 1. `poll_transmit(&mut buf)`: adverts, written into the caller's buffer ([`Transmit`]);
//! 2. `poll_command()`: kernel work, address changes then announcements ([`Command`]);
//! 3. `poll_event()`: what happened, with why ([`Event`], [`Reason`], [`Cause`]).
//!
//! The API:
//!
//! | | |
//! |---|---|
//! | [`Router`] | one virtual router: the state machine, its [`Input`]s, [`Status`], [`Stats`] |
//! | [`Node`] | every router of a host, with sync groups: O(log n) per event |
//! | [`RouterConfig`] | the validated configuration ([`AnnounceConfig`], [`Auth`], [`UnicastPeer`]) |
//! | [`Tracker`] | a tracked object and its weight ([`TrackState`]) |
//! | [`packet`] | zero-allocation parse and build of adverts, both IPv4 checksum forms |
//! | [`Instant`], [`Duration`] | the crate's microsecond time |
//! | `sim` (feature `sim`) | a deterministic simulated LAN of [`Node`]s for tests |
//!
//! ## Driving one router by hand
//!
//! ```
//! use vrrp_core::{Duration, Event, Input, Instant, Router, RouterConfig, State};
//! use vrrp_core::packet::{self, RxMeta};
//!
//! let vip = "192.0.2.1".parse().unwrap();
//! let cfg = RouterConfig::new("VI_1", 1, "192.0.2.10".parse().unwrap(), vec![vip]);
//! let mut router = Router::new(cfg).unwrap();
//! let t0 = Instant::ZERO;
//! router.handle(t0, Input::Startup);                 // non-owner: Backup (R9)
//! assert!(matches!(router.poll_event(), Some(Event::StateChanged { to: State::Backup, .. })));
//!
//! // Nobody advertises: at Active_Down_Interval (3 x 1 s + skew) we take over (R13).
//! let deadline = router.poll_timeout().unwrap();
//! assert_eq!(deadline - t0, Duration::from_micros(3_609_375));
//! router.handle_timeout(deadline);
//! let mut buf = Vec::new();
//! let tx = router.poll_transmit(&mut buf).unwrap();  // the advert, before anything else
//! let meta = RxMeta { src: tx.src, dst: tx.dst, ttl: 255, ifindex: 1 };
//! assert_eq!(packet::parse(&buf[..tx.len], meta).unwrap().priority, 100);
//! assert_eq!(router.poll_command(), Some(vrrp_core::Command::AddVip(vip)));
//! while router.poll_command().is_some() {}          // the announcements
//! assert!(matches!(router.poll_event(), Some(Event::StateChanged { to: State::Active, .. })));
//! ```

#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod announce;
pub mod auth_hmac;
pub mod checksum;
mod config;
mod deadlines;
mod node;
pub mod output;
pub mod packet;
mod router;
#[cfg(feature = "sim")]
pub mod sim;
mod stats;
mod time;
mod timer;
mod track;

pub use announce::{AnnounceConfig, DEFAULT_REFRESH_INTERVAL, PROBE_SETTLE};
pub use config::{
    Auth, ConfigError, RouterConfig, UnicastPeer, VersionMode, DEFAULT_INTERVAL_CS,
    DEFAULT_PRIORITY, OWNER_PRIORITY,
};
pub use node::{GroupEvent, Node, RouterId, SyncGroup};
pub use output::{Cause, Command, Event, Notice, Reason, State, Transmit};
pub use packet::{Advert, ChecksumForm, Family, RxError, RxMeta, Version};
pub use router::{skew_time, Input, Router, Status, SyncCommand, TrackerStatus, ADVERT_SLACK};
pub use stats::{PolicyError, Stats};
pub use time::{Duration, Instant};
pub use track::{effective_priority, Effect, Effective, TrackKind, TrackState, Tracker, TrackerId};
