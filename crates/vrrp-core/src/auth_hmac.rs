//! Advert authentication compatible with keepalived 2.4.3's `auth_hmac`
//! (draft-cassen-vrrp-auth-hmac): an HMAC-SHA256 trailer after the VRRP message, with a
//! time-based sequence number against replay.
//!
//! Sans-IO like the rest of the crate: the wall-clock time comes in as a [`WallClock`] value,
//! and the state (the send sequence, the replay marks of the senders) lives in values the
//! caller owns ([`SendSequence`], [`ReplayGuard`], or both together in [`Authenticator`]).
//! Nothing here reads a clock, a file or a socket.
//!
//! # The trailer
//!
//! 28 bytes appended after the VRRP message: after the address list, and in VRRPv2 after the
//! 8 bytes of authentication data. All fields are in network byte order.
//!
//! ```text
//!  0                   1                   2                   3
//!  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |  Scheme (1)   |    Key ID     |         Reserved (0)          |  0
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |            Seconds (UTC, since the Unix epoch, mod 2^32)      |  4
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |   Fraction (1/65536 second)   |            Counter            |  8
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |                                                               | 12
//! +                                                               +
//! |          HMAC-SHA256 truncated to its first 16 bytes          |
//! +                                                               +
//! |                                                               |
//! +                                                               +
//! |                                                               |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! ```
//!
//! Seconds, fraction and counter together are one 64-bit [`Sequence`], ordered with RFC 1982
//! serial arithmetic so that it survives the wrap of the seconds field.
//!
//! On the wire (see [`crate::packet::build_with_trailer`]): over IPv4 the trailer counts in
//! the IP total length but the VRRP checksum covers the message only, exactly as without a
//! trailer. Over IPv6 keepalived lets the kernel compute the checksum (`IPV6_CHECKSUM`), which
//! covers the whole IP payload, trailer included, with the payload length in the
//! pseudo-header. A keepalived without an `auth_hmac` block drops an advert with a trailer:
//! its receive path checks the exact length.
//!
//! # What the HMAC covers
//!
//! The HMAC-SHA256 (RFC 2104) keyed with the [`Key`] named by the key id runs over, in order:
//!
//! ```text
//! +--------+---------+------+------+-------------------------------------------+
//! | family | version | VRID |  0   | source address (IPv4: 4 bytes, 12 zeros)  |  20-byte
//! | 4 or 6 |  2 or 3 |      |      |                                           |  pseudo-header
//! +--------+---------+------+------+-------------------------------------------+
//! | the VRRP message, its checksum field (bytes 6 and 7) read as zero          |
//! +----------------------------------------------------------------------------+
//! | trailer bytes 0..12 (scheme, key id, reserved, sequence)                   |
//! +----------------------------------------------------------------------------+
//! | 16 zero bytes in place of the HMAC field                                   |
//! +----------------------------------------------------------------------------+
//! ```
//!
//! The pseudo-header binds the advert to its instance and its claimed sender; the IP header
//! and the destination are left out, so one signed advert can be copied to every unicast peer,
//! and the checksum is left out because over IPv6 the kernel writes it after signing.
//!
//! # Receiving
//!
//! [`verify`] checks, in keepalived's order, and stops at the first failure:
//!
//! 1. the trailer is absent: accepted as [`Accepted::Unsigned`] in the migration modes,
//!    [`Rejected::MissingTrailer`] in [`Mode::Enforce`]; a trailer of another length than
//!    28 bytes is [`Rejected::BadTrailerLength`] in every mode;
//! 2. a unicast instance only hears its configured peers ([`Rejected::NotAPeer`]);
//! 3. scheme 1 and a zero reserved field ([`Rejected::BadScheme`]);
//! 4. with [`AntiReplay::Time`], the seconds lie within the [`TimeWindow`] of the receiver's
//!    clock ([`Rejected::Stale`]); this runs before the HMAC so that a flood of old captures
//!    costs no digest, and it only ever rejects;
//! 5. the key id names a configured key ([`Rejected::UnknownKey`]);
//! 6. the HMAC, compared in constant time ([`Rejected::InvalidMac`]);
//! 7. the sequence is after the last one accepted from that sender ([`Rejected::Replayed`]);
//!    only now, on authenticated data, does the sender's mark move.
//!
//! # Replay state
//!
//! A unicast instance keeps one [`SenderState`] per configured peer. A multicast instance has
//! no peer list, so it keeps [`MULTICAST_SENDER_SLOTS`] (4, as keepalived) slots bound to
//! source addresses and reuses the least recently used one for a new sender. Several
//! legitimate senders on one VRID only exist during an election, so 4 slots cover real
//! contention; a slot is only taken after the HMAC verified, so a forger without the key
//! cannot churn the table. Evicting a sender forgets its mark: with [`AntiReplay::Time`] a
//! replay of its adverts is still bounded by the window.
//!
//! With [`AntiReplay::Time`] a mark older or newer than the window is dropped before the
//! comparison: it only orders packets the window already rejects, and dropping it lets a
//! sender whose clock stepped back be heard again.

use core::fmt;
use core::net::IpAddr;

use hmac::{Hmac, Mac};
use sha2::Sha256;
use subtle::ConstantTimeEq;
use zeroize::Zeroizing;

use crate::packet::{Family, Version};
use crate::time::Duration;

type HmacSha256 = Hmac<Sha256>;

/// Length of the trailer on the wire.
pub const TRAILER_LEN: usize = 28;
/// Length of the truncated HMAC at the end of the trailer.
pub const MAC_LEN: usize = 16;
/// Length of the trailer before the HMAC (scheme, key id, reserved, sequence).
const SIGNED_LEN: usize = TRAILER_LEN - MAC_LEN;
/// Length of the pseudo-header that opens the HMAC input.
pub const PSEUDO_HEADER_LEN: usize = 20;
/// Scheme id of HMAC-SHA256 truncated to 128 bits, the only scheme defined.
pub const SCHEME_HMAC_SHA256_128: u8 = 1;
/// Shortest key: 32 bytes keep a 128-bit margin against a quantum search.
pub const KEY_MIN_LEN: usize = 32;
/// Longest key (one SHA-256 block).
pub const KEY_MAX_LEN: usize = 64;
/// Replay slots of a multicast instance (see the module documentation).
pub const MULTICAST_SENDER_SLOTS: usize = 4;
/// Offset of the checksum in the VRRP header.
const CHECKSUM_OFFSET: usize = 6;

/// A reading of the wall clock (UTC), handed in by the caller.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct WallClock {
    secs: u64,
    nanos: u32,
}

impl WallClock {
    /// `secs` seconds and `nanos` nanoseconds since the Unix epoch (excess nanoseconds carry
    /// into the seconds, saturating).
    pub const fn new(secs: u64, nanos: u32) -> WallClock {
        WallClock {
            secs: secs.saturating_add((nanos / 1_000_000_000) as u64),
            nanos: nanos % 1_000_000_000,
        }
    }

    /// From the time since the Unix epoch, e.g.
    /// `SystemTime::now().duration_since(UNIX_EPOCH)`.
    pub const fn from_unix(since_epoch: core::time::Duration) -> WallClock {
        WallClock::new(since_epoch.as_secs(), since_epoch.subsec_nanos())
    }

    /// Whole seconds since the Unix epoch.
    pub const fn secs(self) -> u64 {
        self.secs
    }

    /// Nanoseconds within the second.
    pub const fn nanos(self) -> u32 {
        self.nanos
    }

    /// The seconds as the trailer carries them (modulo 2^32).
    const fn seconds_field(self) -> u32 {
        self.secs as u32
    }

    /// The reading `elapsed` later (saturating).
    pub const fn plus(self, elapsed: Duration) -> WallClock {
        let micros = elapsed.as_micros();
        let nanos = self.nanos as u64 + (micros % 1_000_000) * 1_000;
        WallClock {
            secs: self
                .secs
                .saturating_add(micros / 1_000_000)
                .saturating_add(nanos / 1_000_000_000),
            nanos: (nanos % 1_000_000_000) as u32,
        }
    }

    /// The binary fraction of the second, in units of 1/65536 s.
    const fn fraction(self) -> u16 {
        (((self.nanos as u64) << 16) / 1_000_000_000) as u16
    }
}

/// The 64-bit sequence of a trailer: seconds (high 32 bits), binary fraction (next 16) and a
/// counter that orders adverts sent within one fraction (low 16).
///
/// Ordered with RFC 1982 serial arithmetic ([`Sequence::is_after`]), so it has no `Ord`.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Sequence(u64);

impl Sequence {
    /// From the 64-bit value.
    pub const fn from_raw(raw: u64) -> Sequence {
        Sequence(raw)
    }

    /// From its three fields.
    pub const fn from_parts(secs: u32, fraction: u16, counter: u16) -> Sequence {
        Sequence(((secs as u64) << 32) | ((fraction as u64) << 16) | counter as u64)
    }

    /// The clock reading `now` as a sequence, counter zero.
    pub const fn at(now: WallClock) -> Sequence {
        Sequence::from_parts(now.seconds_field(), now.fraction(), 0)
    }

    /// The 64-bit value.
    pub const fn raw(self) -> u64 {
        self.0
    }

    /// UTC seconds since the Unix epoch, modulo 2^32.
    pub const fn secs(self) -> u32 {
        (self.0 >> 32) as u32
    }

    /// Binary fraction of the second (1/65536 s).
    pub const fn fraction(self) -> u16 {
        (self.0 >> 16) as u16
    }

    /// Counter within one fraction.
    pub const fn counter(self) -> u16 {
        self.0 as u16
    }

    /// True when `self` comes strictly after `other` in serial arithmetic (the difference,
    /// read as signed, is positive).
    pub const fn is_after(self, other: Sequence) -> bool {
        (self.0.wrapping_sub(other.0) as i64) > 0
    }
}

impl fmt::Debug for Sequence {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Sequence({self})")
    }
}

impl fmt::Display for Sequence {
    /// `SECS.FRACTION#COUNTER`, the fraction in hex.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}.{:04x}#{}",
            self.secs(),
            self.fraction(),
            self.counter()
        )
    }
}

/// The freshness window of [`AntiReplay::Time`]: how far, in whole seconds, a trailer's
/// timestamp may be from the receiver's clock, either way. 1..=300 seconds.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct TimeWindow(u16);

impl TimeWindow {
    /// Smallest window.
    pub const MIN_SECS: u16 = 1;
    /// Largest window.
    pub const MAX_SECS: u16 = 300;
    /// Smallest window derived from the advert interval.
    pub const FLOOR_SECS: u16 = 5;

    /// A window of `secs` seconds, `None` outside 1..=300.
    pub const fn new(secs: u16) -> Option<TimeWindow> {
        if secs >= Self::MIN_SECS && secs <= Self::MAX_SECS {
            Some(TimeWindow(secs))
        } else {
            None
        }
    }

    /// keepalived's default: 3 x the configured advert interval in whole seconds (truncated),
    /// at least 5 and at most 300. keepalived derives it from `advert_int` as written, before
    /// rounding it for VRRPv2 or clamping it for VRRPv3.
    pub const fn for_advert_interval(advert_interval: Duration) -> TimeWindow {
        let secs = (advert_interval.as_micros() / 1_000_000).saturating_mul(3);
        if secs < Self::FLOOR_SECS as u64 {
            TimeWindow(Self::FLOOR_SECS)
        } else if secs > Self::MAX_SECS as u64 {
            TimeWindow(Self::MAX_SECS)
        } else {
            TimeWindow(secs as u16)
        }
    }

    /// The window in seconds.
    pub const fn secs(self) -> u16 {
        self.0
    }

    const fn contains(self, delta_secs: i32) -> bool {
        let w = self.0 as i32;
        delta_secs >= -w && delta_secs <= w
    }
}

/// The receiver's clock minus the sender's timestamp, in seconds (positive: the advert is
/// older than the receiver's clock says). Reported per sender so that drift shows before
/// adverts start failing.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct ClockSkew(pub i32);

impl ClockSkew {
    /// The skew of a trailer stamped `sequence`, received at `now` (modulo 2^32 seconds, as
    /// the field).
    pub const fn between(now: WallClock, sequence: Sequence) -> ClockSkew {
        ClockSkew(now.seconds_field().wrapping_sub(sequence.secs()) as i32)
    }

    /// The skew in seconds.
    pub const fn secs(self) -> i32 {
        self.0
    }

    /// True past half the window (keepalived's clock skew warning on an accepted advert:
    /// fix NTP before adverts fail).
    pub const fn approaching(self, window: TimeWindow) -> bool {
        let half = (window.0 / 2) as i32;
        self.0 > half || self.0 < -half
    }
}

/// `anti_replay`: how a receiver judges a sequence fresh.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
#[cfg_attr(
    feature = "serde",
    derive(serde::Serialize, serde::Deserialize),
    serde(rename_all = "kebab-case")
)]
pub enum AntiReplay {
    /// `time` (the default): the timestamp lies within the [`TimeWindow`] of the receiver's
    /// clock, and each sender's sequence grows. Needs clocks agreeing within the window.
    #[default]
    Time,
    /// `monotonic`: each sender's sequence grows; no shared clock needed, no freshness bound.
    /// A sender restarted with its clock behind is rejected until its sequence catches up.
    Monotonic,
}

impl AntiReplay {
    /// The configuration keyword.
    pub const fn keyword(self) -> &'static str {
        match self {
            AntiReplay::Time => "time",
            AntiReplay::Monotonic => "monotonic",
        }
    }

    /// Parses the configuration keyword.
    pub fn from_keyword(word: &str) -> Option<AntiReplay> {
        match word {
            "time" => Some(AntiReplay::Time),
            "monotonic" => Some(AntiReplay::Monotonic),
            _ => None,
        }
    }
}

/// `mode`: what an instance does on send and on receive. The two migration modes let a group
/// move to signed adverts without dropping any (receive-only everywhere, then permissive, then
/// enforce).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
#[cfg_attr(
    feature = "serde",
    derive(serde::Serialize, serde::Deserialize),
    serde(rename_all = "kebab-case")
)]
pub enum Mode {
    /// `enforce` (the default, and the only mode strict mode allows). Send: every advert
    /// carries a trailer. Receive: an advert without a trailer is rejected
    /// ([`Rejected::MissingTrailer`]); one with a trailer must verify.
    #[default]
    Enforce,
    /// `permissive`. Send: every advert carries a trailer. Receive: an advert without a trailer
    /// is accepted ([`Accepted::Unsigned`]); one with a trailer must verify, and its failures
    /// are rejected as in enforce.
    Permissive,
    /// `receive-only`. Send: no trailer (the advert is what it would be without `auth_hmac`).
    /// Receive: as permissive, an advert without a trailer is accepted and one with a trailer
    /// must verify (and moves its sender's replay mark).
    ReceiveOnly,
}

impl Mode {
    /// True when adverts are sent with a trailer.
    pub const fn signs(self) -> bool {
        !matches!(self, Mode::ReceiveOnly)
    }

    /// True when an advert without a trailer is accepted.
    pub const fn accepts_unsigned(self) -> bool {
        !matches!(self, Mode::Enforce)
    }

    /// The configuration keyword.
    pub const fn keyword(self) -> &'static str {
        match self {
            Mode::Enforce => "enforce",
            Mode::Permissive => "permissive",
            Mode::ReceiveOnly => "receive-only",
        }
    }

    /// Parses the configuration keyword.
    pub fn from_keyword(word: &str) -> Option<Mode> {
        match word {
            "enforce" => Some(Mode::Enforce),
            "permissive" => Some(Mode::Permissive),
            "receive-only" => Some(Mode::ReceiveOnly),
            _ => None,
        }
    }
}

/// Why a key could not be made.
#[derive(thiserror::Error, Clone, Copy, Debug, PartialEq, Eq)]
pub enum KeyError {
    /// Key id 0.
    #[error("key id 0 is not valid, expected 1..255")]
    ZeroId,
    /// A secret shorter than 32 or longer than 64 bytes.
    #[error("key {id} is {len} bytes long, expected {min}..{max} bytes", min = KEY_MIN_LEN, max = KEY_MAX_LEN)]
    Length {
        /// The key id.
        id: u8,
        /// The secret's length.
        len: usize,
    },
}

/// A shared key: id 1..=255 and a 32..=64-byte secret, wiped from memory on drop. `Debug`
/// shows the id and the length, never the secret; equality compares secrets in constant time.
#[derive(Clone)]
pub struct Key {
    id: u8,
    len: u8,
    secret: Zeroizing<[u8; KEY_MAX_LEN]>,
}

impl Key {
    /// A key with id `id` and secret `secret` (copied).
    pub fn new(id: u8, secret: &[u8]) -> Result<Key, KeyError> {
        if id == 0 {
            return Err(KeyError::ZeroId);
        }
        if !(KEY_MIN_LEN..=KEY_MAX_LEN).contains(&secret.len()) {
            return Err(KeyError::Length {
                id,
                len: secret.len(),
            });
        }
        let mut stored = Zeroizing::new([0u8; KEY_MAX_LEN]);
        stored[..secret.len()].copy_from_slice(secret);
        Ok(Key {
            id,
            len: secret.len() as u8,
            secret: stored,
        })
    }

    /// The key id carried in trailers.
    pub const fn id(&self) -> u8 {
        self.id
    }

    /// Length of the secret in bytes.
    pub const fn secret_len(&self) -> usize {
        self.len as usize
    }

    fn secret(&self) -> &[u8] {
        &self.secret[..self.secret_len()]
    }
}

impl fmt::Debug for Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Key")
            .field("id", &self.id)
            .field("secret_len", &self.len)
            .finish_non_exhaustive()
    }
}

impl PartialEq for Key {
    fn eq(&self, other: &Key) -> bool {
        self.id == other.id && bool::from(self.secret().ct_eq(other.secret()))
    }
}

impl Eq for Key {}

/// Why a keyring change was refused.
#[derive(thiserror::Error, Clone, Copy, Debug, PartialEq, Eq)]
pub enum KeyringError {
    /// Two keys with one id.
    #[error("duplicate key id {0}")]
    DuplicateId(u8),
    /// The active key id names no key.
    #[error("active key {0} is not defined")]
    ActiveMissing(u8),
    /// The active key cannot be removed (activate another one first).
    #[error("key {0} is the active key and cannot be removed")]
    RemovingActive(u8),
    /// No key with that id.
    #[error("no key with id {0}")]
    NoSuchKey(u8),
}

/// The keys of an instance: the active one signs, every one verifies. Rotation is make before
/// break: add the new key everywhere, move the active id everywhere, then remove the old key.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Keyring {
    keys: Vec<Key>,
    active: u8,
}

impl Keyring {
    /// A keyring of `keys` that signs with key `active`.
    pub fn new(keys: impl IntoIterator<Item = Key>, active: u8) -> Result<Keyring, KeyringError> {
        let mut ring = Keyring {
            keys: Vec::new(),
            active,
        };
        for key in keys {
            ring.insert(key)?;
        }
        if ring.get(active).is_none() {
            return Err(KeyringError::ActiveMissing(active));
        }
        Ok(ring)
    }

    /// The key adverts are signed with.
    pub fn active(&self) -> &Key {
        self.get(self.active)
            .expect("the active key is always in the keyring")
    }

    /// The id of the key adverts are signed with.
    pub const fn active_id(&self) -> u8 {
        self.active
    }

    /// The key with id `id`.
    pub fn get(&self, id: u8) -> Option<&Key> {
        self.keys.iter().find(|k| k.id == id)
    }

    /// The ids of the keys, in insertion order.
    pub fn ids(&self) -> impl Iterator<Item = u8> + '_ {
        self.keys.iter().map(Key::id)
    }

    /// Number of keys (at least 1).
    pub fn key_count(&self) -> usize {
        self.keys.len()
    }

    /// Adds a key that receivers accept (it signs once made active).
    pub fn insert(&mut self, key: Key) -> Result<(), KeyringError> {
        if self.get(key.id).is_some() {
            return Err(KeyringError::DuplicateId(key.id));
        }
        self.keys.push(key);
        Ok(())
    }

    /// Signs with key `id` from now on.
    pub fn set_active(&mut self, id: u8) -> Result<(), KeyringError> {
        if self.get(id).is_none() {
            return Err(KeyringError::NoSuchKey(id));
        }
        self.active = id;
        Ok(())
    }

    /// Removes (and returns) a key that is not the active one.
    pub fn remove(&mut self, id: u8) -> Result<Key, KeyringError> {
        if id == self.active {
            return Err(KeyringError::RemovingActive(id));
        }
        let at = self
            .keys
            .iter()
            .position(|k| k.id == id)
            .ok_or(KeyringError::NoSuchKey(id))?;
        Ok(self.keys.remove(at))
    }
}

/// What binds an advert to its instance and sender: the pseudo-header fields. The family is
/// the source address's.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Binding {
    /// VRRP version of the advert.
    pub version: Version,
    /// Virtual router id.
    pub vrid: u8,
    /// IP source address of the advert (the sender's claimed address).
    pub source: IpAddr,
}

impl Binding {
    /// The binding of an advert of `version` for `vrid` sent from `source`.
    pub const fn new(version: Version, vrid: u8, source: IpAddr) -> Binding {
        Binding {
            version,
            vrid,
            source,
        }
    }

    /// The address family (the source's).
    pub fn family(&self) -> Family {
        Family::of(self.source)
    }

    /// The 20-byte pseudo-header: family (4 or 6), version, VRID, zero, source address
    /// (IPv4: 4 bytes followed by 12 zeros).
    pub fn pseudo_header(&self) -> [u8; PSEUDO_HEADER_LEN] {
        let mut out = [0u8; PSEUDO_HEADER_LEN];
        out[1] = match self.version {
            Version::V2 => 2,
            Version::V3 => 3,
        };
        out[2] = self.vrid;
        match self.source {
            IpAddr::V4(a) => {
                out[0] = 4;
                out[4..8].copy_from_slice(&a.octets());
            }
            IpAddr::V6(a) => {
                out[0] = 6;
                out[4..20].copy_from_slice(&a.octets());
            }
        }
        out
    }
}

/// The trailer, field by field.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Trailer {
    /// Scheme id ([`SCHEME_HMAC_SHA256_128`]).
    pub scheme: u8,
    /// Id of the key that signed.
    pub key_id: u8,
    /// Reserved, zero on send; a receiver rejects anything else.
    pub reserved: u16,
    /// The sequence (timestamp and counter).
    pub sequence: Sequence,
    /// The truncated HMAC.
    pub mac: [u8; MAC_LEN],
}

impl Trailer {
    /// Reads a trailer; `bytes` must be exactly [`TRAILER_LEN`] long.
    pub fn parse(bytes: &[u8]) -> Result<Trailer, Rejected> {
        let bytes: &[u8; TRAILER_LEN] = bytes
            .try_into()
            .map_err(|_| Rejected::BadTrailerLength { len: bytes.len() })?;
        let mut mac = [0u8; MAC_LEN];
        mac.copy_from_slice(&bytes[SIGNED_LEN..]);
        let word = |at: usize| u16::from_be_bytes([bytes[at], bytes[at + 1]]);
        Ok(Trailer {
            scheme: bytes[0],
            key_id: bytes[1],
            reserved: word(2),
            sequence: Sequence::from_parts(
                u32::from_be_bytes([bytes[4], bytes[5], bytes[6], bytes[7]]),
                word(8),
                word(10),
            ),
            mac,
        })
    }

    /// The wire form.
    pub fn to_bytes(&self) -> [u8; TRAILER_LEN] {
        let mut out = [0u8; TRAILER_LEN];
        out[..SIGNED_LEN].copy_from_slice(&self.signed_part());
        out[SIGNED_LEN..].copy_from_slice(&self.mac);
        out
    }

    /// Scheme 1 with a zero reserved field, else [`Rejected::BadScheme`].
    pub fn check_scheme(&self) -> Result<(), Rejected> {
        if self.scheme == SCHEME_HMAC_SHA256_128 && self.reserved == 0 {
            Ok(())
        } else {
            Err(Rejected::BadScheme {
                scheme: self.scheme,
                reserved: self.reserved,
            })
        }
    }

    /// The 12 bytes before the HMAC.
    fn signed_part(&self) -> [u8; SIGNED_LEN] {
        let mut out = [0u8; SIGNED_LEN];
        out[0] = self.scheme;
        out[1] = self.key_id;
        out[2..4].copy_from_slice(&self.reserved.to_be_bytes());
        out[4..12].copy_from_slice(&self.sequence.raw().to_be_bytes());
        out
    }
}

/// The HMAC state after the whole input (see the module documentation).
fn hmac_over(
    key: &Key,
    binding: &Binding,
    message: &[u8],
    signed: &[u8; SIGNED_LEN],
) -> HmacSha256 {
    let mut mac = HmacSha256::new_from_slice(key.secret()).expect("HMAC takes keys of any length");
    mac.update(&binding.pseudo_header());
    // The checksum field reads as zero (a message shorter than the header is hashed as far as
    // it goes, so that no input panics).
    let csum_start = CHECKSUM_OFFSET.min(message.len());
    let csum_end = (CHECKSUM_OFFSET + 2).min(message.len());
    mac.update(&message[..csum_start]);
    mac.update(&[0u8; 2][..csum_end - csum_start]);
    mac.update(&message[csum_end..]);
    mac.update(signed);
    mac.update(&[0u8; MAC_LEN]);
    mac
}

/// Signs `message` (the VRRP message as sent; its checksum does not matter) with `key`,
/// stamped `sequence`.
pub fn sign(key: &Key, binding: &Binding, message: &[u8], sequence: Sequence) -> Trailer {
    let mut trailer = Trailer {
        scheme: SCHEME_HMAC_SHA256_128,
        key_id: key.id,
        reserved: 0,
        sequence,
        mac: [0; MAC_LEN],
    };
    let digest = hmac_over(key, binding, message, &trailer.signed_part()).finalize();
    trailer.mac.copy_from_slice(&digest.into_bytes()[..MAC_LEN]);
    trailer
}

/// Checks the key id and the HMAC of `trailer` for `message` (nothing about time or replay).
pub fn verify_mac(
    keyring: &Keyring,
    binding: &Binding,
    message: &[u8],
    trailer: &Trailer,
) -> Result<(), Rejected> {
    let key = keyring.get(trailer.key_id).ok_or(Rejected::UnknownKey {
        key_id: trailer.key_id,
    })?;
    hmac_over(key, binding, message, &trailer.signed_part())
        .verify_truncated_left(&trailer.mac)
        .map_err(|_| Rejected::InvalidMac)
}

/// The sequence an instance sends next: the larger of the clock and the last sequence plus
/// one, so that it grows even when the clock does not. Not persisted: a restarted sender stays
/// monotonic as long as its clock moved forward across the restart.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SendSequence {
    last: Option<Sequence>,
}

impl SendSequence {
    /// A sender that has sent nothing yet: its first sequence is the clock's.
    pub const fn new() -> SendSequence {
        SendSequence { last: None }
    }

    /// A sender whose last sequence was `last` (e.g. kept across a reload).
    pub const fn resuming_after(last: Sequence) -> SendSequence {
        SendSequence { last: Some(last) }
    }

    /// The last sequence handed out.
    pub const fn last(&self) -> Option<Sequence> {
        self.last
    }

    /// The sequence of the next advert sent at `now`.
    ///
    /// When the clock is not after the last sequence (the clock stepped back, or several
    /// adverts in one 1/65536 s), the last sequence plus one is used, except that with
    /// [`AntiReplay::Time`] a last sequence more than `window` seconds ahead of the clock is
    /// abandoned for the clock: receivers would reject it as stale anyway. (keepalived starts
    /// from a last sequence of zero instead of none, which differs only if its first advert
    /// goes out in the second 2^31 after the epoch, in 2038.)
    pub fn next(
        &mut self,
        now: WallClock,
        anti_replay: AntiReplay,
        window: TimeWindow,
    ) -> Sequence {
        let clock = Sequence::at(now);
        let next = match self.last {
            None => clock,
            Some(last) if clock.is_after(last) => clock,
            Some(last) => {
                let ahead_secs = last.secs().wrapping_sub(clock.secs()) as i32;
                if anti_replay == AntiReplay::Time && ahead_secs > i32::from(window.secs()) {
                    clock
                } else {
                    Sequence(last.0.wrapping_add(1))
                }
            }
        };
        self.last = Some(next);
        next
    }
}

/// The replay mark of one sender and the clock skew of its last accepted advert.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SenderState {
    mark: Option<Sequence>,
    skew: Option<ClockSkew>,
}

impl SenderState {
    /// The last sequence accepted from the sender.
    pub const fn mark(&self) -> Option<Sequence> {
        self.mark
    }

    /// The clock skew of the last accepted advert ([`AntiReplay::Time`] only).
    pub const fn last_skew(&self) -> Option<ClockSkew> {
        self.skew
    }

    /// Accepts `sequence` if it is after the mark, and makes it the mark. With
    /// [`AntiReplay::Time`] a mark further than `window` from `now` is dropped first.
    /// Call only on authenticated sequences.
    pub fn admit(
        &mut self,
        sequence: Sequence,
        now: WallClock,
        anti_replay: AntiReplay,
        window: TimeWindow,
    ) -> Result<(), Rejected> {
        if let (Some(mark), AntiReplay::Time) = (self.mark, anti_replay) {
            if !window.contains(ClockSkew::between(now, mark).0) {
                self.mark = None;
            }
        }
        match self.mark {
            Some(last) if !sequence.is_after(last) => Err(Rejected::Replayed { sequence, last }),
            _ => {
                self.mark = Some(sequence);
                Ok(())
            }
        }
    }
}

/// A multicast replay slot.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
struct Slot {
    sender: Option<IpAddr>,
    state: SenderState,
    last_used: u64,
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum Senders {
    Unicast(Vec<(IpAddr, SenderState)>),
    /// Always [`MULTICAST_SENDER_SLOTS`] slots (allocated once).
    Multicast {
        slots: Vec<Slot>,
        clock: u64,
    },
}

/// The replay state of an instance's senders: one per unicast peer, or
/// [`MULTICAST_SENDER_SLOTS`] least-recently-used slots for multicast.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReplayGuard {
    senders: Senders,
}

impl ReplayGuard {
    /// For a multicast instance.
    pub fn multicast() -> ReplayGuard {
        ReplayGuard {
            senders: Senders::Multicast {
                slots: vec![Slot::default(); MULTICAST_SENDER_SLOTS],
                clock: 0,
            },
        }
    }

    /// For a unicast instance with these peers (duplicates count once).
    pub fn unicast(peers: impl IntoIterator<Item = IpAddr>) -> ReplayGuard {
        let mut states: Vec<(IpAddr, SenderState)> = Vec::new();
        for peer in peers {
            if !states.iter().any(|(a, _)| *a == peer) {
                states.push((peer, SenderState::default()));
            }
        }
        ReplayGuard {
            senders: Senders::Unicast(states),
        }
    }

    /// True for a unicast instance.
    pub fn is_unicast(&self) -> bool {
        matches!(self.senders, Senders::Unicast(_))
    }

    /// The state of `sender`: a unicast peer, or a multicast sender that holds a slot.
    pub fn sender(&self, sender: IpAddr) -> Option<&SenderState> {
        self.senders().find(|(a, _)| *a == sender).map(|(_, s)| s)
    }

    /// Every tracked sender with its state.
    pub fn senders(&self) -> impl Iterator<Item = (IpAddr, &SenderState)> {
        let (unicast, slots): (&[(IpAddr, SenderState)], &[Slot]) = match &self.senders {
            Senders::Unicast(peers) => (peers, &[]),
            Senders::Multicast { slots, .. } => (&[], slots),
        };
        unicast.iter().map(|(a, s)| (*a, s)).chain(
            slots
                .iter()
                .filter_map(|slot| slot.sender.map(|a| (a, &slot.state))),
        )
    }

    /// False only for a unicast instance and a source that is not one of its peers.
    fn admits_source(&self, sender: IpAddr) -> bool {
        match &self.senders {
            Senders::Unicast(peers) => peers.iter().any(|(a, _)| *a == sender),
            Senders::Multicast { .. } => true,
        }
    }

    /// The state to update for `sender`; a new multicast sender takes the least recently used
    /// slot, forgetting its previous holder.
    fn state_for(&mut self, sender: IpAddr) -> Option<&mut SenderState> {
        match &mut self.senders {
            Senders::Unicast(peers) => peers.iter_mut().find(|(a, _)| *a == sender).map(|(_, s)| s),
            Senders::Multicast { slots, clock } => {
                *clock += 1;
                let at = slots
                    .iter()
                    .position(|s| s.sender == Some(sender))
                    .unwrap_or_else(|| {
                        let (victim, _) = slots
                            .iter()
                            .enumerate()
                            .min_by_key(|(_, s)| s.last_used)
                            .expect("there are slots");
                        slots[victim] = Slot {
                            sender: Some(sender),
                            ..Slot::default()
                        };
                        victim
                    });
                slots[at].last_used = *clock;
                Some(&mut slots[at].state)
            }
        }
    }
}

/// An instance's `auth_hmac` settings.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HmacConfig {
    /// The keys; the active one signs.
    pub keyring: Keyring,
    /// What is signed and what is accepted.
    pub mode: Mode,
    /// How freshness is judged.
    pub anti_replay: AntiReplay,
    /// The freshness window (used by [`AntiReplay::Time`] only).
    pub time_window: TimeWindow,
}

impl HmacConfig {
    /// Bytes the trailer adds to each advert sent: 28, or 0 in [`Mode::ReceiveOnly`].
    pub const fn trailer_len(&self) -> usize {
        if self.mode.signs() {
            TRAILER_LEN
        } else {
            0
        }
    }
}

/// The kind of a failed authentication, for counters and notices (keepalived's
/// `auth_ext_*` counters and its rate-limited log lines, one per kind).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(
    feature = "serde",
    derive(serde::Serialize, serde::Deserialize),
    serde(rename_all = "kebab-case")
)]
pub enum Outcome {
    /// No trailer in enforce mode ([`Rejected::MissingTrailer`]).
    Missing,
    /// A trailer of the wrong length, scheme or reserved field ([`Rejected::BadTrailerLength`],
    /// [`Rejected::BadScheme`]).
    Malformed,
    /// A unicast source that is not a peer ([`Rejected::NotAPeer`]).
    NotAPeer,
    /// A key id not configured ([`Rejected::UnknownKey`]).
    UnknownKey,
    /// A wrong HMAC ([`Rejected::InvalidMac`]).
    InvalidMac,
    /// A timestamp outside the window ([`Rejected::Stale`]).
    Stale,
    /// A sequence not after the sender's mark ([`Rejected::Replayed`]).
    Replayed,
}

impl Outcome {
    /// Every kind, in the order of [`Outcome::index`].
    pub const ALL: [Outcome; 7] = [
        Outcome::Missing,
        Outcome::Malformed,
        Outcome::NotAPeer,
        Outcome::UnknownKey,
        Outcome::InvalidMac,
        Outcome::Stale,
        Outcome::Replayed,
    ];

    /// The position in [`Outcome::ALL`].
    pub const fn index(self) -> usize {
        self as usize
    }

    /// The words keepalived 2.4.3 logs for the kind.
    pub const fn describe(self) -> &'static str {
        match self {
            Outcome::Missing => "missing authentication trailer",
            Outcome::Malformed => "malformed authentication trailer",
            Outcome::NotAPeer => "unicast source address not a unicast peer",
            Outcome::UnknownKey => "unknown authentication key id",
            Outcome::InvalidMac => "invalid authentication HMAC",
            Outcome::Stale => "stale authentication trailer",
            Outcome::Replayed => "replayed authentication trailer",
        }
    }
}

impl fmt::Display for Outcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.describe())
    }
}

impl Rejected {
    /// The kind of the failure.
    pub const fn outcome(&self) -> Outcome {
        match self {
            Rejected::MissingTrailer => Outcome::Missing,
            Rejected::BadTrailerLength { .. } | Rejected::BadScheme { .. } => Outcome::Malformed,
            Rejected::NotAPeer { .. } => Outcome::NotAPeer,
            Rejected::UnknownKey { .. } => Outcome::UnknownKey,
            Rejected::InvalidMac => Outcome::InvalidMac,
            Rejected::Stale { .. } => Outcome::Stale,
            Rejected::Replayed { .. } => Outcome::Replayed,
        }
    }
}

/// An advert that passed authentication.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Accepted {
    /// The trailer verified.
    Verified {
        /// The key that signed.
        key_id: u8,
        /// The advert's sequence (now the sender's mark).
        sequence: Sequence,
        /// The clock skew ([`AntiReplay::Time`] only); report it when
        /// [`ClockSkew::approaching`] the window.
        skew: Option<ClockSkew>,
    },
    /// No trailer, accepted by [`Mode::Permissive`] or [`Mode::ReceiveOnly`].
    Unsigned,
}

/// Why an advert failed authentication. keepalived counts each kind apart (`auth_ext_*`).
#[derive(thiserror::Error, Clone, Copy, Debug, PartialEq, Eq)]
pub enum Rejected {
    /// No trailer, and the mode is enforce.
    #[error("missing authentication trailer")]
    MissingTrailer,
    /// Bytes after the message, but not a trailer's 28.
    #[error("{len} bytes after the VRRP message, expected none or a {TRAILER_LEN}-byte authentication trailer")]
    BadTrailerLength {
        /// Bytes after the message.
        len: usize,
    },
    /// A unicast instance heard a source that is not one of its peers.
    #[error("source {sender} is not a unicast peer")]
    NotAPeer {
        /// The source address.
        sender: IpAddr,
    },
    /// Unknown scheme, or a non-zero reserved field (keepalived's "malformed").
    #[error("malformed authentication trailer: scheme {scheme}, reserved {reserved:#06x}; expected scheme 1 and reserved 0")]
    BadScheme {
        /// The scheme id received.
        scheme: u8,
        /// The reserved field received.
        reserved: u16,
    },
    /// The key id names no configured key.
    #[error("unknown authentication key id {key_id}")]
    UnknownKey {
        /// The key id received.
        key_id: u8,
    },
    /// The HMAC does not match (key mismatch or forgery).
    #[error("invalid authentication HMAC")]
    InvalidMac,
    /// The timestamp lies outside the window ([`AntiReplay::Time`]): clock drift, or an old
    /// capture.
    #[error("stale authentication trailer, clock skew {} s exceeds the {} s window", .skew.secs(), .window.secs())]
    Stale {
        /// The receiver's clock minus the timestamp.
        skew: ClockSkew,
        /// The window.
        window: TimeWindow,
    },
    /// The sequence is not after the sender's last accepted one.
    #[error("replayed authentication trailer, sequence {sequence} not after {last}")]
    Replayed {
        /// The sequence received.
        sequence: Sequence,
        /// The sender's mark.
        last: Sequence,
    },
}

/// Authenticates a received advert: `message` is the VRRP message
/// ([`crate::packet::Advert::message`]), `trailer` the bytes after it
/// ([`crate::packet::Advert::trailer`], empty when there are none), `binding` its version,
/// VRID and IP source. See the module documentation for the order of the checks.
pub fn verify(
    config: &HmacConfig,
    replay: &mut ReplayGuard,
    now: WallClock,
    binding: &Binding,
    message: &[u8],
    trailer: &[u8],
) -> Result<Accepted, Rejected> {
    if trailer.is_empty() {
        return if config.mode.accepts_unsigned() {
            Ok(Accepted::Unsigned)
        } else {
            Err(Rejected::MissingTrailer)
        };
    }
    let trailer = Trailer::parse(trailer)?;
    if !replay.admits_source(binding.source) {
        return Err(Rejected::NotAPeer {
            sender: binding.source,
        });
    }
    trailer.check_scheme()?;
    let skew = match config.anti_replay {
        AntiReplay::Time => {
            let skew = ClockSkew::between(now, trailer.sequence);
            if !config.time_window.contains(skew.0) {
                return Err(Rejected::Stale {
                    skew,
                    window: config.time_window,
                });
            }
            Some(skew)
        }
        AntiReplay::Monotonic => None,
    };
    verify_mac(&config.keyring, binding, message, &trailer)?;
    let state = replay.state_for(binding.source).ok_or(Rejected::NotAPeer {
        sender: binding.source,
    })?;
    state.admit(
        trailer.sequence,
        now,
        config.anti_replay,
        config.time_window,
    )?;
    state.skew = skew;
    Ok(Accepted::Verified {
        key_id: trailer.key_id,
        sequence: trailer.sequence,
        skew,
    })
}

/// One instance's authentication: its settings, its send sequence and its senders' replay
/// state. What a router holds; every call takes the wall-clock time.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Authenticator {
    config: HmacConfig,
    sequence: SendSequence,
    replay: ReplayGuard,
}

impl Authenticator {
    /// Starts with no sequence sent and no sender known.
    pub fn new(config: HmacConfig, replay: ReplayGuard) -> Authenticator {
        Authenticator {
            config,
            sequence: SendSequence::new(),
            replay,
        }
    }

    /// The settings.
    pub fn config(&self) -> &HmacConfig {
        &self.config
    }

    /// New settings (a reload, a key rotation step); the send sequence and the replay marks are
    /// kept.
    pub fn reconfigure(&mut self, config: HmacConfig) {
        self.config = config;
    }

    /// Replaces the senders' replay state (the unicast peers changed); the send sequence is
    /// kept.
    pub fn replace_replay(&mut self, replay: ReplayGuard) {
        self.replay = replay;
    }

    /// The senders' replay state and clock skews.
    pub fn replay(&self) -> &ReplayGuard {
        &self.replay
    }

    /// The send sequence.
    pub fn send_sequence(&self) -> SendSequence {
        self.sequence
    }

    /// Bytes the trailer adds to each advert sent (see [`HmacConfig::trailer_len`]).
    pub fn trailer_len(&self) -> usize {
        self.config.trailer_len()
    }

    /// The trailer for `message`, sent at `now`, or `None` in [`Mode::ReceiveOnly`]. Sign once
    /// per advertisement: the copies sent to each unicast peer carry the same trailer (the
    /// HMAC leaves out the destination and the checksum).
    pub fn sign(
        &mut self,
        now: WallClock,
        binding: &Binding,
        message: &[u8],
    ) -> Option<[u8; TRAILER_LEN]> {
        if !self.config.mode.signs() {
            return None;
        }
        let sequence = self
            .sequence
            .next(now, self.config.anti_replay, self.config.time_window);
        Some(sign(self.config.keyring.active(), binding, message, sequence).to_bytes())
    }

    /// Authenticates a received advert (see [`verify`]).
    pub fn verify(
        &mut self,
        now: WallClock,
        binding: &Binding,
        message: &[u8],
        trailer: &[u8],
    ) -> Result<Accepted, Rejected> {
        verify(
            &self.config,
            &mut self.replay,
            now,
            binding,
            message,
            trailer,
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_debug_never_shows_the_secret() {
        let key = Key::new(7, &[0xab; 32]).unwrap();
        let shown = format!("{key:?}");
        assert_eq!(shown, "Key { id: 7, secret_len: 32, .. }");
        assert!(!shown.to_ascii_lowercase().contains("ab, "));
    }

    #[test]
    fn fraction_is_nanoseconds_in_units_of_2_pow_minus_16() {
        assert_eq!(WallClock::new(0, 500_000_000).fraction(), 0x8000);
        assert_eq!(WallClock::new(0, 999_999_999).fraction(), 0xffff);
        assert_eq!(
            WallClock::new(1, 1_500_000_000),
            WallClock::new(2, 500_000_000)
        );
    }

    #[test]
    fn default_window_is_three_intervals_at_least_five_at_most_300() {
        for (ms, secs) in [
            (1_000, 5),
            (500, 5),
            (1_500, 5),
            (2_000, 6),
            (2_500, 6),
            (40_950, 120),
            (255_000, 300),
        ] {
            let window = TimeWindow::for_advert_interval(Duration::from_millis(ms));
            assert_eq!(window.secs(), secs, "{ms} ms");
        }
        assert_eq!(TimeWindow::new(0), None);
        assert_eq!(TimeWindow::new(301), None);
    }
}
