//! # vrrp-core
//!
//! The VRRP protocol as a sans-IO library: VRRPv3 (RFC 9568, with its errata) and VRRPv2
//! (RFC 3768), over IPv4 and IPv6. It holds every decision and no I/O: no sockets, no clock,
//! no threads. Every input carries `now`; outputs are drained with
//! [`Router::poll_action`]; the next deadline comes from [`Router::poll_timeout`], and
//! [`Router::handle_timeout`] is harmless when called early, late or twice.
//!
//! - [`packet`]: zero-allocation parse and build of adverts, both IPv4 checksum forms.
//! - [`router`]: the state machine of one virtual router (Initialize, Backup, Active, Fault).
//! - [`track`]: effective priority from tracked objects, with keepalived's arithmetic.
//! - [`announce`]: when gratuitous ARPs / unsolicited NAs are due.
//! - [`sync`]: sync groups and [`Node`], many routers driven together.
//! - `sim` (feature `sim`): a deterministic simulated LAN for tests.
//!
//! ## Driving one router by hand
//!
//! ```
//! use vrrp_core::{Action, Input, Instant, Duration, Router, RouterConfig, State};
//! use vrrp_core::packet::{self, RxMeta};
//!
//! let vip = "192.0.2.1".parse().unwrap();
//! let cfg = RouterConfig::new("VI_1", 1, "192.0.2.10".parse().unwrap(), vec![vip]);
//! let mut router = Router::new(cfg).unwrap();
//! let t0 = Instant::ZERO;
//! router.handle(t0, Input::Startup);                 // non-owner: Backup (R9)
//! assert_eq!(router.state(), State::Backup);
//!
//! // Nobody advertises: at Active_Down_Interval (3 x 1 s + skew) we take over (R13).
//! let deadline = router.poll_timeout().unwrap();
//! assert_eq!(deadline - t0, Duration::from_micros(3_609_375));
//! router.handle_timeout(deadline);
//! let mut buf = [0u8; 64];
//! while let Some(action) = router.poll_action() {
//!     if let Action::SendAdvert { version, priority } = action {
//!         let dst = router.advert_destinations().next().unwrap();
//!         let len = router.encode_advert(version, priority, dst, &mut buf).unwrap();
//!         let meta = RxMeta { src: "192.0.2.10".parse().unwrap(), dst, ttl: 255, ifindex: 1 };
//!         assert_eq!(packet::parse(&buf[..len], meta).unwrap().priority, 100);
//!     }
//! }
//! assert_eq!(router.state(), State::Active);
//! ```

#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod action;
pub mod announce;
pub mod auth_hmac;
pub mod checksum;
pub mod config;
mod deadlines;
pub mod packet;
pub mod router;
#[cfg(feature = "sim")]
pub mod sim;
pub mod stats;
pub mod sync;
pub mod time;
pub mod timer;
pub mod track;

pub use action::{Action, Cause, Notice, Reason, State};
pub use announce::AnnounceConfig;
pub use config::{Auth, ConfigError, RouterConfig, UnicastPeer, VersionMode};
pub use packet::{Advert, ChecksumForm, Family, RxError, RxMeta, Version};
pub use router::{Input, Router, Status, SyncCommand};
pub use stats::{PolicyError, Stats};
pub use sync::{Node, RouterId};
pub use time::{Duration, Instant};
pub use track::{TrackState, Tracker, TrackerId};
