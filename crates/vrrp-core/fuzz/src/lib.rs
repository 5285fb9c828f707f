//! Bodies of the vrrp-core fuzz targets, shared with the stable replay test.
//!
//! The fuzz targets in `fuzz_targets/` call [`decode`], [`authenticate`] and [`router_sequence`] with inputs
//! built by `arbitrary`; `crates/vrrp-core/tests/fuzz_replay.rs` includes this file as a module
//! and feeds the same bodies from a deterministic generator, so `cargo test` on stable runs
//! them too. This file must therefore depend only on `vrrp_core`, `arbitrary` and `std`.

use core::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::sync::Arc;

use arbitrary::Arbitrary;
use vrrp_core::auth_hmac::{
    self, verify, Accepted, AntiReplay, Authenticator, Binding, HmacConfig, Key, Keyring, Mode,
    Rejected, ReplayGuard, TimeWindow, WallClock,
};
use vrrp_core::checksum;
use vrrp_core::packet::{
    self, Advert, AdvertSpec, AuthType, ChecksumCoverage, ChecksumForm, RxMeta, Version,
};
use vrrp_core::{
    AnnounceConfig, Auth, Command, Duration, Event as Output, Input, Instant, PolicyError, Router,
    RouterConfig, State, Stats, SyncCommand, TrackState, Tracker, TrackerId, UnicastPeer,
    VersionMode,
};

// ---------------------------------------------------------------------------------------------
// decode
// ---------------------------------------------------------------------------------------------

/// IP metadata of a fuzzed packet.
#[derive(Arbitrary, Clone, Debug)]
pub enum MetaInput {
    /// IPv4 source and destination.
    V4 {
        /// Source address.
        src: [u8; 4],
        /// Destination address.
        dst: [u8; 4],
        /// TTL.
        ttl: u8,
    },
    /// IPv6 source and destination.
    V6 {
        /// Source address.
        src: [u8; 16],
        /// Destination address.
        dst: [u8; 16],
        /// Hop limit.
        ttl: u8,
    },
    /// One address of each family (always a codec error).
    Mixed {
        /// The IPv4 address.
        v4: [u8; 4],
        /// The IPv6 address.
        v6: [u8; 16],
        /// Whether the IPv4 address is the source.
        v4_is_src: bool,
    },
}

impl MetaInput {
    /// The [`RxMeta`] these fields describe.
    pub fn meta(&self) -> RxMeta {
        let (src, dst, ttl) = match *self {
            MetaInput::V4 { src, dst, ttl } => (
                IpAddr::from(Ipv4Addr::from(src)),
                IpAddr::from(Ipv4Addr::from(dst)),
                ttl,
            ),
            MetaInput::V6 { src, dst, ttl } => (
                IpAddr::from(Ipv6Addr::from(src)),
                IpAddr::from(Ipv6Addr::from(dst)),
                ttl,
            ),
            MetaInput::Mixed { v4, v6, v4_is_src } => {
                let (a, b) = (
                    IpAddr::from(Ipv4Addr::from(v4)),
                    IpAddr::from(Ipv6Addr::from(v6)),
                );
                if v4_is_src {
                    (a, b, 255)
                } else {
                    (b, a, 255)
                }
            }
        };
        RxMeta {
            src,
            dst,
            ttl,
            ifindex: 1,
        }
    }
}

/// Which checksum to patch into the payload before parsing, so that the fuzzer gets past the
/// checksum check without having to solve it.
#[derive(Arbitrary, Clone, Copy, Debug, PartialEq, Eq)]
pub enum ChecksumFix {
    /// Sum over the message only (RFC 9568 IPv4, VRRPv2).
    MessageOnly,
    /// Sum over the message plus the IPv4 or IPv6 pseudo-header.
    PseudoHeader,
}

/// Input of the `decode` target.
#[derive(Arbitrary, Clone, Debug)]
pub struct DecodeInput {
    /// Addresses and TTL of the packet.
    pub meta: MetaInput,
    /// Optional checksum patch applied to `payload` before parsing.
    pub fix: Option<ChecksumFix>,
    /// The VRRP message (IP payload), possibly with trailing bytes.
    pub payload: Vec<u8>,
}

/// Writes a checksum of the given form into `payload` (when its header announces a message
/// that fits). Uses the header's version and count the way the parser does.
pub fn fix_checksum(payload: &mut [u8], meta: RxMeta, fix: ChecksumFix) {
    if payload.len() < packet::HEADER_LEN {
        return;
    }
    let addr_len = match meta.src {
        IpAddr::V4(_) => 4,
        IpAddr::V6(_) => 16,
    };
    let auth_len = if payload[0] >> 4 == 2 {
        packet::V2_AUTH_LEN
    } else {
        0
    };
    let len = packet::HEADER_LEN + usize::from(payload[3]) * addr_len + auth_len;
    if len > payload.len() {
        return;
    }
    let msg = &mut payload[..len];
    msg[6] = 0;
    msg[7] = 0;
    let mut sum = checksum::sum_words(0, msg);
    if fix == ChecksumFix::PseudoHeader {
        sum += match (meta.src, meta.dst) {
            (IpAddr::V4(s), IpAddr::V4(d)) => checksum::ipv4_pseudo_header_sum(s, d, len as u16),
            (IpAddr::V6(s), IpAddr::V6(d)) => checksum::ipv6_pseudo_header_sum(s, d, len as u32),
            _ => 0,
        };
    }
    msg[6..8].copy_from_slice(&checksum::finish(sum).to_be_bytes());
}

/// The `decode` body: `packet::parse` must not panic, and an advert that parses must be rebuilt
/// by `packet::build` from its fields, followed by the same trailing bytes, into a payload that
/// parses to the same advert (same fields, trailer and checksum coverage) and differs from the
/// original only in the checksum and the reserved bits. Returns whether the payload parsed.
pub fn decode(input: &DecodeInput) -> bool {
    let meta = input.meta.meta();
    let mut payload = input.payload.clone();
    if let Some(fix) = input.fix {
        fix_checksum(&mut payload, meta, fix);
    }
    match packet::parse(&payload, meta) {
        Ok(adv) => {
            round_trip(&payload, &adv);
            true
        }
        Err(e) => {
            // Display and counting must not panic either.
            let _ = e.to_string();
            Stats::default().count_rx_error(&e);
            false
        }
    }
}

fn round_trip(original: &[u8], adv: &Advert<'_>) {
    let addrs: Vec<IpAddr> = adv.addrs.iter().collect();
    assert!(!adv.addrs.is_empty());
    assert_eq!(addrs.len(), adv.addrs.len());
    for (i, a) in addrs.iter().enumerate() {
        assert_eq!(adv.addrs.get(i), Some(*a));
    }
    assert_eq!(adv.addrs.get(addrs.len()), None);
    assert!(adv.addrs.equals(&addrs));
    assert!(addrs.iter().all(|a| packet::Family::of(*a) == adv.family()));
    assert_eq!(
        adv.checksum_form.is_some(),
        adv.version == Version::V3 && adv.family() == packet::Family::V4
    );

    let spec = spec_of(adv, &addrs);
    let trailer = adv.trailer();
    let message = adv.message();
    assert_eq!(original.len(), message.len() + trailer.len());
    assert_eq!(&original[..message.len()], message);
    assert_eq!(&original[message.len()..], trailer);
    let mut buf = vec![0u8; packet::MAX_MESSAGE_LEN + packet::V2_AUTH_LEN + trailer.len()];
    let len = packet::build(&spec, adv.meta.src, adv.meta.dst, &mut buf)
        .expect("a parsed advert must rebuild");
    assert_eq!(len, message.len());
    buf[len..len + trailer.len()].copy_from_slice(trailer);
    let total = len + trailer.len();
    if adv.checksum_coverage() == ChecksumCoverage::MessageAndTrailer {
        checksum_whole_payload(&mut buf[..total], adv);
    }
    let again = packet::parse(&buf[..total], adv.meta).expect("a rebuilt advert must parse");
    assert_eq!(fields(&again), fields(adv), "round trip changed the advert");
    assert_eq!(again.trailer(), trailer);
    assert_eq!(again.checksum_coverage(), adv.checksum_coverage());

    // Byte for byte, the rebuilt message equals the original but for the checksum and, in
    // VRRPv3, the 4 reserved bits in front of the interval.
    assert!(original.len() >= len);
    for (i, (&a, &b)) in original[..len].iter().zip(&buf[..len]).enumerate() {
        match i {
            6 | 7 => {}
            4 if adv.version == Version::V3 => assert_eq!(a & 0x0f, b, "byte {i}"),
            _ => assert_eq!(a, b, "byte {i}"),
        }
    }
}

/// The spec that rebuilds `adv` (with `addrs`, its addresses).
fn spec_of<'a>(adv: &Advert<'_>, addrs: &'a [IpAddr]) -> AdvertSpec<'a> {
    AdvertSpec {
        version: adv.version,
        vrid: adv.vrid,
        priority: adv.priority,
        interval_cs: adv.interval_cs,
        addrs,
        checksum_form: adv.checksum_form.unwrap_or_default(),
        auth_type: adv.auth_type,
        auth_data: adv.auth_data,
    }
}

/// What a parsed advert says, without its raw bytes (which keep the checksum and reserved bits
/// a rebuild does not reproduce).
type Fields = (
    Version,
    u8,
    u8,
    u16,
    Option<ChecksumForm>,
    AuthType,
    [u8; packet::V2_AUTH_LEN],
    Vec<IpAddr>,
    RxMeta,
);

fn fields(adv: &Advert<'_>) -> Fields {
    (
        adv.version,
        adv.vrid,
        adv.priority,
        adv.interval_cs,
        adv.checksum_form,
        adv.auth_type,
        adv.auth_data,
        adv.addrs.iter().collect(),
        adv.meta,
    )
}

/// Rewrites the checksum of `payload` to cover all of it, in the form `adv` verified in.
fn checksum_whole_payload(payload: &mut [u8], adv: &Advert<'_>) {
    payload[6..8].fill(0);
    let len = payload.len();
    let mut sum = checksum::sum_words(0, payload);
    sum += match (adv.meta.src, adv.meta.dst, adv.checksum_form) {
        (IpAddr::V6(s), IpAddr::V6(d), _) => checksum::ipv6_pseudo_header_sum(s, d, len as u32),
        (IpAddr::V4(s), IpAddr::V4(d), Some(ChecksumForm::PseudoHeader)) => {
            checksum::ipv4_pseudo_header_sum(s, d, len as u16)
        }
        _ => 0,
    };
    payload[6..8].copy_from_slice(&checksum::finish(sum).to_be_bytes());
}

// ---------------------------------------------------------------------------------------------
// authenticate
// ---------------------------------------------------------------------------------------------

/// Input of the `authenticate` target.
#[derive(Arbitrary, Clone, Debug)]
pub struct AuthInput {
    /// The packet, parsed as in `decode`.
    pub packet: DecodeInput,
    /// The receiver's key secret.
    pub secret: [u8; 32],
    /// The receiver's key id (0 becomes 1).
    pub key_id: u8,
    /// The receiver's mode (mod 3: enforce, permissive, receive-only).
    pub mode: u8,
    /// `anti_replay time` rather than `monotonic`.
    pub time: bool,
    /// `time_window`, mod 300, plus 1.
    pub window: u16,
    /// The wall clock, seconds since the epoch.
    pub now_secs: u32,
    /// The wall clock, nanoseconds (any value; the excess carries).
    pub now_nanos: u32,
    /// The bit of message ++ trailer to flip in the signed copy.
    pub flip_bit: u16,
}

impl AuthInput {
    /// The receiver's settings.
    pub fn config(&self) -> HmacConfig {
        let key = Key::new(self.key_id.max(1), &self.secret).expect("32-byte key");
        HmacConfig {
            keyring: Keyring::new([key], self.key_id.max(1)).expect("one key"),
            mode: [Mode::Enforce, Mode::Permissive, Mode::ReceiveOnly][usize::from(self.mode % 3)],
            anti_replay: if self.time {
                AntiReplay::Time
            } else {
                AntiReplay::Monotonic
            },
            time_window: TimeWindow::new(self.window % 300 + 1).expect("1..=300"),
        }
    }
}

/// The `authenticate` body. The packet is parsed; if it parses:
///
/// - its own bytes after the message go through `auth_hmac::verify` without a panic, and are
///   accepted as verified only when they are the true signature of the message;
/// - the advert is rebuilt and signed with `build_with_trailer` by an enforcing sender with the
///   receiver's key and clock; that payload parses back with its trailer, verifies in every
///   mode, and is then rejected as a replay;
/// - the same signed copy with one bit flipped anywhere in message or trailer is rejected by a
///   fresh receiver, unless the bit is in the checksum (which the HMAC reads as zero).
///
/// Returns whether the packet parsed.
pub fn authenticate(input: &AuthInput) -> bool {
    let meta = input.packet.meta.meta();
    let mut payload = input.packet.payload.clone();
    if let Some(fix) = input.packet.fix {
        fix_checksum(&mut payload, meta, fix);
    }
    let Ok(adv) = packet::parse(&payload, meta) else {
        return false;
    };
    let config = input.config();
    let now = WallClock::new(u64::from(input.now_secs), input.now_nanos);
    let binding = Binding::new(adv.version, adv.vrid, meta.src);
    check_received_trailer(&config, now, &binding, &adv);

    let signer_config = HmacConfig {
        mode: Mode::Enforce,
        ..config.clone()
    };
    let mut signer = Authenticator::new(signer_config, ReplayGuard::multicast());
    let addrs: Vec<IpAddr> = adv.addrs.iter().collect();
    let spec = spec_of(&adv, &addrs);
    let mut buf = vec![0u8; packet::MAX_PAYLOAD_LEN];
    let len = packet::build_with_trailer(
        &spec,
        meta.src,
        meta.dst,
        |msg| signer.sign(now, &binding, msg).expect("enforce signs"),
        &mut buf,
    )
    .expect("a parsed advert must rebuild with a trailer");
    let signed = packet::parse(&buf[..len], meta).expect("a signed advert must parse");
    assert_eq!(signed.trailer().len(), auth_hmac::TRAILER_LEN);
    let mut receiver = Authenticator::new(config.clone(), ReplayGuard::multicast());
    let first = receiver.verify(now, &binding, signed.message(), signed.trailer());
    assert!(
        matches!(first, Ok(Accepted::Verified { .. })),
        "a signed advert must verify: {first:?}"
    );
    let again = receiver.verify(now, &binding, signed.message(), signed.trailer());
    assert!(
        matches!(again, Err(Rejected::Replayed { .. })),
        "a second copy must be a replay: {again:?}"
    );

    let mut flipped = buf[..len].to_vec();
    let bit = usize::from(input.flip_bit) % (len * 8);
    flipped[bit / 8] ^= 1 << (bit % 8);
    let msg_len = signed.message().len();
    let (message, trailer) = flipped.split_at(msg_len);
    let outcome = verify(
        &config,
        &mut ReplayGuard::multicast(),
        now,
        &binding,
        message,
        trailer,
    );
    if (6..8).contains(&(bit / 8)) {
        assert!(
            outcome.is_ok(),
            "a checksum bit is not authenticated: {outcome:?}"
        );
    } else {
        assert!(outcome.is_err(), "flipped bit {bit} was accepted");
    }
    true
}

/// Whatever follows a received message goes through `verify` without a panic; it is accepted
/// only as the true signature, or as nothing at all in a migration mode.
fn check_received_trailer(
    config: &HmacConfig,
    now: WallClock,
    binding: &Binding,
    adv: &Advert<'_>,
) {
    let mut replay = ReplayGuard::multicast();
    match verify(
        config,
        &mut replay,
        now,
        binding,
        adv.message(),
        adv.trailer(),
    ) {
        Ok(Accepted::Verified { sequence, .. }) => {
            let genuine =
                auth_hmac::sign(config.keyring.active(), binding, adv.message(), sequence);
            assert_eq!(
                &genuine.to_bytes()[..],
                adv.trailer(),
                "a forged trailer verified"
            );
        }
        Ok(Accepted::Unsigned) => {
            assert!(adv.trailer().is_empty() && config.mode.accepts_unsigned());
        }
        Err(e) => {
            let _ = e.to_string();
        }
    }
}

// ---------------------------------------------------------------------------------------------
// router_sequence
// ---------------------------------------------------------------------------------------------

/// An IPv4 address of the small universe the sequences draw from (192.0.2.1..8).
pub fn v4_addr(i: u8) -> IpAddr {
    IpAddr::V4(Ipv4Addr::new(192, 0, 2, 1 + i % 8))
}

/// An IPv6 address of the universe: fe80::1..4 (link-local) or 2001:db8::5..8.
pub fn v6_addr(i: u8) -> IpAddr {
    let k = u16::from(i % 8);
    if k < 4 {
        IpAddr::V6(Ipv6Addr::new(0xfe80, 0, 0, 0, 0, 0, 0, k + 1))
    } else {
        IpAddr::V6(Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, k + 1))
    }
}

fn addr(ipv6: bool, i: u8) -> IpAddr {
    if ipv6 {
        v6_addr(i)
    } else {
        v4_addr(i)
    }
}

/// Protocol versions of the fuzzed router.
#[derive(Arbitrary, Clone, Copy, Debug)]
pub enum ModeInput {
    /// VRRPv2.
    V2,
    /// VRRPv3.
    V3,
    /// Both.
    V2V3,
}

/// A unicast peer of the fuzzed router.
#[derive(Arbitrary, Clone, Copy, Debug)]
pub struct PeerInput {
    /// Index in the address universe.
    pub addr: u8,
    /// Lowest TTL accepted.
    pub min_ttl: Option<u8>,
    /// Highest TTL accepted.
    pub max_ttl: Option<u8>,
}

/// Announcement schedule of the fuzzed router.
#[derive(Arbitrary, Clone, Copy, Debug)]
pub struct AnnounceInput {
    /// Burst rounds (mod 8).
    pub burst_count: u8,
    /// Burst spacing in ms (mod 2000).
    pub burst_spacing_ms: u16,
    /// Second burst delay in ms.
    pub second_burst_delay_ms: Option<u16>,
    /// Refresh interval in ms (at least 1 ms: a zero period is a known issue, see README).
    pub refresh_interval_ms: Option<u16>,
    /// Rounds per refresh (mod 4).
    pub refresh_count: u8,
    /// Rounds on a dual-Active (mod 8).
    pub lower_prio_count: u8,
    /// Gap between dual-Active re-announcements in ms.
    pub lower_prio_min_gap_ms: u16,
    /// Delay of the second dual-Active re-announcement in ms.
    pub lower_prio_delay_ms: Option<u16>,
    /// Period of the extra-interface announcements (of the first address) in ms.
    pub extra_interval_ms: Option<u16>,
}

/// A tracked object of the fuzzed router.
#[derive(Arbitrary, Clone, Copy, Debug)]
pub struct TrackerInput {
    /// Weight (an `i16`: the documented range is -254..254, see README about `i32::MIN`).
    pub weight: i16,
    /// keepalived's `reverse`.
    pub reverse: bool,
    /// A value tracker rather than a binary one.
    pub value: bool,
}

/// Configuration fields of the fuzzed router; [`ConfigInput::config`] maps them to a mostly
/// valid [`RouterConfig`].
#[derive(Arbitrary, Clone, Debug)]
pub struct ConfigInput {
    /// VRID (0 is invalid).
    pub vrid: u8,
    /// IPv6 rather than IPv4.
    pub ipv6: bool,
    /// Versions spoken (v2 over IPv6 is invalid).
    pub mode: ModeInput,
    /// Base priority (0 is invalid, 255 is the owner).
    pub priority: u8,
    /// Interval in cs, taken mod 4200 (0 and above 4095 are invalid).
    pub interval_cs: u16,
    /// Preempt_Mode.
    pub preempt: bool,
    /// Preempt delay in ms.
    pub preempt_delay_ms: u16,
    /// Start the preempt delay on a priority rise.
    /// Accept_Mode.
    pub accept_mode: bool,
    /// Primary address (universe index).
    pub primary: u8,
    /// VIPs (universe indices, at most 4; IPv6: the first is made link-local).
    pub vips: Vec<u8>,
    /// Unicast peers (at most 3).
    pub peers: Vec<PeerInput>,
    /// `check_unicast_src`.
    pub check_unicast_src: bool,
    /// Send the RFC 9568 checksum form rather than the pseudo-header one.
    pub rfc9568_checksum: bool,
    /// VRRPv2 password.
    pub password: Option<[u8; 8]>,
    /// `down_timer_adverts`, mod 12 (0 is invalid).
    pub down_timer_adverts: u8,
    /// `lower_prio_no_advert`.
    pub lower_prio_no_advert: bool,
    /// `higher_prio_send_advert`.
    pub higher_prio_send_advert: bool,
    /// Announcement schedule.
    pub announce: AnnounceInput,
    /// Trackers (at most 4).
    pub trackers: Vec<TrackerInput>,
    /// keepalived extras, one bit each: state routes (0), owner_ignore_adverts (1),
    /// unicast_fault_no_peer (2, with 6 and 7), timer_expired_backup at 254 (3), one excluded
    /// address (4).
    pub extras: u8,
}

impl ConfigInput {
    /// The router configuration (possibly invalid) and its trackers.
    pub fn config(&self) -> (RouterConfig, Vec<Tracker>) {
        let v6 = self.ipv6;
        let mut vips: Vec<IpAddr> = self.vips.iter().take(4).map(|&i| addr(v6, i)).collect();
        if vips.is_empty() {
            vips.push(addr(v6, 0));
        }
        if v6 {
            vips[0] = v6_addr(self.vips.first().copied().unwrap_or(0) % 4);
        }
        let mut cfg = RouterConfig::new("fuzz", self.vrid, addr(v6, self.primary), vips);
        cfg.version = match self.mode {
            ModeInput::V2 => VersionMode::V2,
            ModeInput::V3 => VersionMode::V3,
            ModeInput::V2V3 => VersionMode::V2V3,
        };
        cfg.priority = self.priority;
        cfg.advert_interval_cs = self.interval_cs % 4200;
        cfg.preempt = self.preempt;
        cfg.preempt_delay = Duration::from_millis(u64::from(self.preempt_delay_ms));
        cfg.accept_mode = self.accept_mode;
        cfg.unicast_peers = (self.peers.iter().take(3))
            .map(|p| UnicastPeer {
                addr: addr(v6, p.addr),
                min_ttl: p.min_ttl,
                max_ttl: p.max_ttl,
            })
            .collect();
        cfg.check_unicast_src = self.check_unicast_src;
        cfg.checksum_form = if self.rfc9568_checksum {
            ChecksumForm::Rfc9568
        } else {
            ChecksumForm::PseudoHeader
        };
        cfg.auth = self.password.map_or(Auth::None, Auth::Password);
        cfg.down_timer_adverts = self.down_timer_adverts % 12;
        cfg.lower_prio_no_advert = self.lower_prio_no_advert;
        cfg.higher_prio_send_advert = self.higher_prio_send_advert;
        let bit = |b: u8| self.extras & (1 << b) != 0;
        cfg.state_routes = bit(0);
        cfg.owner_ignore_adverts = bit(1);
        // Rarely (bits 2, 6 and 7): it holds the router in Fault for the whole sequence.
        cfg.fault_without_peers = self.extras & 0b1100_0100 == 0b1100_0100;
        cfg.timer_expired_backup = bit(3).then_some(254);
        if bit(4) {
            cfg.excluded_vips = vec![addr(!v6, 200)];
        }
        let a = self.announce;
        let ms = |v: u16| Duration::from_millis(u64::from(v));
        cfg.announce = AnnounceConfig {
            burst_count: u32::from(a.burst_count % 8),
            burst_spacing: ms(a.burst_spacing_ms % 2000),
            second_burst_delay: a.second_burst_delay_ms.map(ms),
            // A zero refresh period makes every handle_timeout re-arm at `now` (see README).
            refresh_interval: a.refresh_interval_ms.map(|v| ms(v.max(1))),
            refresh_count: u32::from(a.refresh_count % 4),
            lower_prio_count: u32::from(a.lower_prio_count % 8),
            lower_prio_min_gap: ms(a.lower_prio_min_gap_ms),
            lower_prio_delay: a.lower_prio_delay_ms.map(ms),
            extra_interval: a.extra_interval_ms.map(|v| ms(v.max(1))),
        };
        if a.extra_interval_ms.is_some() {
            cfg.extra_announce = cfg.vips.first().copied().into_iter().collect();
        }
        let trackers = (self.trackers.iter().take(4))
            .enumerate()
            .map(|(i, t)| {
                let name = format!("t{i}");
                if t.value {
                    Tracker::value(&name, i32::from(t.weight), t.reverse)
                } else {
                    Tracker::binary(&name, i32::from(t.weight), t.reverse)
                }
            })
            .collect();
        (cfg, trackers)
    }
}

/// A tracker report.
#[derive(Arbitrary, Clone, Copy, Debug)]
pub enum TrackStateInput {
    /// Unknown.
    Unknown,
    /// Up.
    Up,
    /// Down.
    Down,
    /// A value.
    Value(i64),
}

impl From<TrackStateInput> for TrackState {
    fn from(s: TrackStateInput) -> Self {
        match s {
            TrackStateInput::Unknown => TrackState::Unknown,
            TrackStateInput::Up => TrackState::Up,
            TrackStateInput::Down => TrackState::Down,
            TrackStateInput::Value(v) => TrackState::Value(v),
        }
    }
}

/// A sync-group command.
#[derive(Arbitrary, Clone, Copy, Debug)]
pub enum SyncInput {
    /// Become Active with the group.
    BecomeActive,
    /// Become Backup with the group.
    BecomeBackup,
    /// Set (`true`) or clear the group-imposed Fault.
    Fault(bool),
}

/// A received advert, built from these fields with `packet::build` and parsed back.
#[derive(Arbitrary, Clone, Debug)]
pub struct AdvertInput {
    /// VRRPv2 rather than VRRPv3.
    pub v2: bool,
    /// VRID (`None`: the router's).
    pub vrid: Option<u8>,
    /// Advertised priority.
    pub priority: u8,
    /// Interval in cs (`None`: the router's).
    pub interval_cs: Option<u16>,
    /// Source (universe index; may be the router's own address).
    pub src: u8,
    /// Use the other address family than the router's.
    pub other_family: bool,
    /// Unicast destination (universe index), or `None` for the multicast group.
    pub unicast_dst: Option<u8>,
    /// TTL (`None`: 255).
    pub ttl: Option<u8>,
    /// Address list (universe indices), or `None` for the router's VIPs.
    pub addrs: Option<Vec<u8>>,
    /// Send the RFC 9568 checksum form.
    pub rfc9568_checksum: bool,
    /// VRRPv2 authentication (type, data), or `None` for the router's.
    pub auth: Option<(u8, [u8; 8])>,
}

/// One step of a sequence.
#[derive(Arbitrary, Clone, Debug)]
pub enum Event {
    /// `Input::Startup`.
    Startup,
    /// `Input::Shutdown`.
    Shutdown,
    /// `Input::LinkUp`.
    LinkUp,
    /// `Input::LinkDown`.
    LinkDown,
    /// A tracker report (the id may be out of range).
    Tracker {
        /// Tracker index.
        id: u8,
        /// New state.
        state: TrackStateInput,
    },
    /// `Input::SetPriority`.
    SetPriority(u8),
    /// `Input::PrimaryAddress` (universe index; `true`: other family).
    PrimaryAddress(u8, bool),
    /// `Input::VipLost` (universe index).
    VipLost(u8),
    /// `Input::SourceAddress`.
    SourceAddress(bool),
    /// `Input::Sync`.
    Sync(SyncInput),
    /// A received advert.
    Advert(AdvertInput),
    /// Time passes without any call.
    Advance {
        /// Microseconds.
        micros: u32,
    },
    /// Time passes, then `handle_timeout`.
    Timeout {
        /// Microseconds.
        micros: u32,
    },
    /// Jump to the next deadline (if later than now) and serve it.
    ExpireNext,
    /// `handle_timeout` again at the current time (early or repeated).
    Spurious,
    /// `Input::AddressConflict` (universe index, claimant's MAC).
    AddressConflict(u8, [u8; 6]),
}

/// Input of the `router_sequence` target.
#[derive(Arbitrary, Clone, Debug)]
pub struct SequenceInput {
    /// The router's configuration.
    pub config: ConfigInput,
    /// Start time in microseconds.
    pub start: u32,
    /// The steps (at most 512 are run).
    pub events: Vec<Event>,
}

/// What a sequence did, for the replay test's sanity checks.
#[derive(Clone, Copy, Debug, Default)]
pub struct SequenceOutcome {
    /// The configuration was valid and the sequence ran.
    pub ran: bool,
    /// Adverts the router accepted.
    pub adverts_accepted: u64,
    /// Transitions into Active.
    pub became_active: u64,
    /// Transitions out of Active.
    pub released_active: u64,
}

/// A model of what the actions so far imply, checked against the router after every step.
struct Model {
    state: State,
    effective: u8,
    installed: Vec<IpAddr>,
    last_send: Option<Instant>,
    adverts_tx: u64,
    priority_zero_tx: u64,
    announcements: u64,
    transitions: u64,
    became_active: u64,
    released_active: u64,
    adverts_rx: u64,
    address_conflicts: u64,
}

impl Model {
    fn new(router: &Router) -> Self {
        Model {
            state: router.state(),
            effective: router.effective_priority(),
            installed: Vec::new(),
            last_send: None,
            adverts_tx: 0,
            priority_zero_tx: 0,
            announcements: 0,
            transitions: 0,
            became_active: 0,
            released_active: 0,
            adverts_rx: 0,
            address_conflicts: 0,
        }
    }

    /// Drains the router's outputs and checks them and the router against the model. The
    /// events come last (`vrrp_core::output`), so the state changes of the input are read
    /// first and the transmissions and commands checked against them.
    fn drain(&mut self, router: &mut Router, now: Instant) -> usize {
        let mut buf = Vec::new();
        let mut transmits = Vec::new();
        while let Some(tx) = router.poll_transmit(&mut buf) {
            let meta = RxMeta {
                src: tx.src,
                dst: tx.dst,
                ttl: packet::VRRP_TTL,
                ifindex: 1,
            };
            let adv = packet::parse(&buf[..tx.len], meta).expect("own advert parses");
            assert_eq!((adv.version, adv.priority), (tx.version, tx.priority));
            transmits.push(tx);
        }
        let commands: Vec<Command> = core::iter::from_fn(|| router.poll_command()).collect();
        let events: Vec<Output> = core::iter::from_fn(|| router.poll_event()).collect();
        let cfg = router.config().clone();
        let changes: Vec<(State, State)> = events
            .iter()
            .filter_map(|e| match e {
                Output::StateChanged { from, to, .. } => Some((*from, *to)),
                _ => None,
            })
            .collect();
        let was_active = self.state == State::Active;
        let entering = changes.iter().any(|&(_, to)| to == State::Active);
        let leaving = was_active && changes.iter().any(|&(from, _)| from == State::Active);
        let active_or_entering = was_active || entering;
        // keepalived: a unicast router leaving Fault, or coming up once every weight-0
        // tracker has reported, announces its own source address.
        let left_fault = changes
            .iter()
            .any(|&(from, to)| from == State::Fault && to != State::Initialize);
        let initialised =
            (router.trackers()).all(|(t, s)| t.weight != 0 || s != vrrp_core::TrackState::Unknown);
        let up = matches!(router.state(), State::Backup | State::Active);
        let source_announce_ok = left_fault || (initialised && up);
        let effective_after = events
            .iter()
            .rev()
            .find_map(|e| match e {
                Output::PriorityChanged { to, .. } => Some(*to),
                _ => None,
            })
            .unwrap_or(self.effective);
        let destinations = (0..)
            .take_while(|&i| cfg.advert_destination(i).is_some())
            .count();
        assert_eq!(
            transmits.len() % destinations,
            0,
            "an advert missed a destination"
        );
        for tx in transmits.iter().step_by(destinations) {
            assert!(
                cfg.version.accepts(tx.version),
                "{:?} in {:?}",
                tx.version,
                cfg.version
            );
            if tx.priority == 0 {
                assert!(leaving, "priority-0 advert while not leaving Active");
                self.priority_zero_tx += 1;
            } else {
                assert!(active_or_entering, "advert while {:?}", self.state);
                assert_eq!(tx.priority, effective_after, "advert with a stale priority");
                self.last_send = Some(now);
            }
            self.adverts_tx += 1;
        }
        for command in &commands {
            match command {
                Command::AddVip(v) => {
                    assert!(active_or_entering, "AddVip({v}) while {:?}", self.state);
                    assert!(
                        cfg.installed_addresses().any(|a| a == *v),
                        "AddVip({v}) of a foreign address"
                    );
                    if !self.installed.contains(v) {
                        self.installed.push(*v);
                    }
                }
                Command::RemoveVip(v) => {
                    assert!(leaving, "RemoveVip({v}) while not leaving Active");
                    // A VIP configured twice (not rejected by validate) is removed twice.
                    let twice = cfg.installed_addresses().filter(|a| a == v).count() > 1;
                    assert!(
                        self.installed.contains(v) || twice,
                        "RemoveVip({v}) not installed"
                    );
                    self.installed.retain(|a| a != v);
                }
                Command::Announce(v)
                    if *v == cfg.primary_addr
                        && !cfg.unicast_peers.is_empty()
                        && source_announce_ok =>
                {
                    self.announcements += 1;
                }
                Command::Announce(v) => {
                    assert!(active_or_entering, "Announce({v}) while {:?}", self.state);
                    assert!(
                        cfg.installed_addresses().any(|a| a == *v),
                        "Announce({v}) of a foreign address"
                    );
                    assert!(
                        self.installed.contains(v),
                        "Announce({v}) before its AddVip"
                    );
                    self.announcements += 1;
                }
                Command::Probe(v) => {
                    assert!(active_or_entering, "Probe({v}) while {:?}", self.state);
                    assert!(
                        self.installed.contains(v),
                        "Probe({v}) of an address not installed"
                    );
                }
                Command::AddRoutes | Command::RemoveRoutes => {
                    assert!(cfg.state_routes, "{command:?} without state routes");
                }
            }
        }
        for event in &events {
            match event {
                Output::StateChanged { from, to, reason } => {
                    assert_eq!(
                        *from, self.state,
                        "StateChanged from a state we were not in"
                    );
                    assert_ne!(from, to, "StateChanged to the same state ({reason})");
                    self.transitions += 1;
                    if *to == State::Active {
                        self.became_active += 1;
                    }
                    if *from == State::Active {
                        self.released_active += 1;
                    }
                    self.state = *to;
                }
                Output::PriorityChanged { from, to, .. } => {
                    assert_eq!(
                        *from, self.effective,
                        "PriorityChanged from a stale priority"
                    );
                    assert_ne!(from, to);
                    self.effective = *to;
                }
                Output::Notice(_) => {}
                Output::AddressConflict { addr, .. } => {
                    assert!(
                        self.state == State::Active,
                        "conflict while {:?}",
                        self.state
                    );
                    assert!(
                        self.installed.contains(addr),
                        "conflict of a foreign address"
                    );
                }
                Output::LowerPriorityAdvert { priority, .. } => {
                    assert!(
                        self.state == State::Active,
                        "lower-priority advert while {:?}",
                        self.state
                    );
                    assert!(
                        *priority <= self.effective,
                        "a lower (or equal, lower address) priority"
                    );
                }
            }
        }
        self.check(router, now);
        transmits.len() + commands.len() + events.len()
    }

    fn check(&self, router: &Router, now: Instant) {
        let _ = now;
        assert_eq!(self.state, router.state(), "actions disagree with state()");
        assert_eq!(self.effective, router.effective_priority());
        let stats = router.stats();
        assert_eq!(stats.adverts_tx, self.adverts_tx);
        assert_eq!(stats.priority_zero_tx, self.priority_zero_tx);
        assert_eq!(stats.announcements, self.announcements);
        assert_eq!(stats.address_conflicts, self.address_conflicts);
        assert_eq!(stats.transitions, self.transitions);
        assert_eq!(stats.became_active, self.became_active);
        assert_eq!(stats.released_active, self.released_active);
        assert_eq!(stats.adverts_rx, self.adverts_rx);
        let vips: Vec<IpAddr> = router.config().installed_addresses().collect();
        let deadline = router.poll_timeout();
        match router.state() {
            State::Active => {
                assert!(
                    vips.iter().all(|v| self.installed.contains(v))
                        && self.installed.len() <= vips.len(),
                    "Active without its addresses installed"
                );
                // The Adver timer is armed: the next deadline is no later than one interval
                // after the last advert sent.
                let last = self
                    .last_send
                    .expect("Active without having sent an advert");
                let due = last + router.config().advert_interval();
                assert!(
                    deadline.is_some_and(|t| t <= due),
                    "Active with deadline {deadline:?}, advert due at {due}"
                );
            }
            State::Backup => {
                assert!(self.installed.is_empty(), "Backup with addresses installed");
                assert!(deadline.is_some(), "Backup without the Active_Down_Timer");
            }
            State::Initialize | State::Fault => {
                assert!(
                    self.installed.is_empty(),
                    "{:?} with addresses",
                    router.state()
                );
                assert_eq!(deadline, None, "{:?} with a timer armed", router.state());
            }
        }
    }
}

fn build_advert(a: &AdvertInput, router: &Router, buf: &mut [u8]) -> Option<(usize, RxMeta)> {
    let cfg = router.config();
    let v6 = (cfg.family == packet::Family::V6) != a.other_family;
    let src = addr(v6, a.src);
    let dst = match a.unicast_dst {
        Some(i) => addr(v6, i),
        None => {
            if v6 {
                IpAddr::V6(packet::MCAST_V6)
            } else {
                IpAddr::V4(packet::MCAST_V4)
            }
        }
    };
    let addrs: Vec<IpAddr> = match &a.addrs {
        Some(list) if !list.is_empty() || a.other_family => {
            list.iter().take(4).map(|&i| addr(v6, i)).collect()
        }
        _ => cfg.vips.clone(),
    };
    let (auth_type, auth_data) = match a.auth {
        None => cfg.auth.wire(),
        Some((t, data)) => (
            match t % 3 {
                0 => AuthType::None,
                1 => AuthType::Password,
                _ => AuthType::Ah,
            },
            data,
        ),
    };
    let spec = AdvertSpec {
        version: if a.v2 { Version::V2 } else { Version::V3 },
        vrid: a.vrid.unwrap_or(cfg.vrid),
        priority: a.priority,
        interval_cs: a.interval_cs.unwrap_or(cfg.advert_interval_cs),
        addrs: &addrs,
        checksum_form: if a.rfc9568_checksum {
            ChecksumForm::Rfc9568
        } else {
            ChecksumForm::PseudoHeader
        },
        auth_type,
        auth_data,
    };
    let len = packet::build(&spec, src, dst, buf).ok()?;
    let meta = RxMeta {
        src,
        dst,
        ttl: a.ttl.unwrap_or(packet::VRRP_TTL),
        ifindex: 1,
    };
    Some((len, meta))
}

/// The `router_sequence` body: runs the events against one router, draining and checking its
/// actions after each, and asserts the timer contract:
/// - after `handle_timeout(now)`, nothing is due at `now` any more;
/// - `handle_timeout(now)` with nothing due changes nothing;
/// - no input schedules a deadline in the past;
/// - a Backup has a deadline (Active_Down_Timer), an Active's deadline is at most one interval
///   after its last advert (Adver_Timer), Initialize and Fault have none.
pub fn router_sequence(input: &SequenceInput) -> SequenceOutcome {
    let (cfg, trackers) = input.config.config();
    let Ok(mut router) = Router::new(cfg) else {
        return SequenceOutcome::default();
    };
    for t in trackers {
        router.add_tracker(t);
    }
    let mut model = Model::new(&router);
    let mut now = Instant::from_micros(u64::from(input.start));
    let family_v6 = router.config().family == packet::Family::V6;
    let mut buf = [0u8; 256];
    let group: Arc<str> = Arc::from("group");
    let member: Arc<str> = Arc::from("member");
    model.check(&router, now);

    for event in input.events.iter().take(512) {
        let before = router.poll_timeout();
        let mut timeout_call = false;
        match event {
            Event::Startup => router.handle(now, Input::Startup),
            Event::Shutdown => router.handle(now, Input::Shutdown),
            Event::LinkUp => router.handle(now, Input::LinkUp),
            Event::LinkDown => router.handle(now, Input::LinkDown),
            Event::Tracker { id, state } => {
                let id = TrackerId(u16::from(*id % 6));
                router.handle(now, Input::Tracker(id, (*state).into()));
            }
            Event::SetPriority(p) => router.handle(now, Input::SetPriority(*p)),
            Event::PrimaryAddress(i, other) => {
                router.handle(now, Input::PrimaryAddress(addr(family_v6 != *other, *i)));
            }
            Event::VipLost(i) => {
                let vip = addr(family_v6, *i);
                model.installed.retain(|a| *a != vip);
                router.handle(now, Input::VipLost(vip));
            }
            Event::SourceAddress(present) => router.handle(now, Input::SourceAddress(*present)),
            Event::AddressConflict(i, mac) => {
                let addr = addr(family_v6, *i);
                // Counted by an Active router holding the address, whatever the rate limit.
                if router.state() == State::Active && model.installed.contains(&addr) {
                    model.address_conflicts += 1;
                }
                router.handle(now, Input::AddressConflict { addr, mac: *mac });
            }
            Event::Sync(s) => {
                let cmd = match s {
                    SyncInput::BecomeActive => SyncCommand::BecomeActive {
                        group: group.clone(),
                        member: member.clone(),
                    },
                    SyncInput::BecomeBackup => SyncCommand::BecomeBackup {
                        group: group.clone(),
                        member: member.clone(),
                    },
                    SyncInput::Fault(set) => SyncCommand::Fault {
                        group: group.clone(),
                        member: set.then(|| member.clone()),
                    },
                };
                router.handle(now, Input::Sync(cmd));
            }
            Event::Advert(a) => {
                let Some((len, meta)) = build_advert(a, &router, &mut buf) else {
                    continue;
                };
                match packet::parse(&buf[..len], meta) {
                    Ok(adv) => {
                        let state = router.state();
                        let result = router.handle_advert(now, &adv);
                        let not_running = matches!(state, State::Initialize | State::Fault);
                        assert_eq!(result == Err(PolicyError::NotRunning), not_running);
                        if result.is_ok() {
                            model.adverts_rx += 1;
                        }
                    }
                    Err(e) => router.handle_rx_error(&e),
                }
            }
            Event::Advance { micros } => {
                now += Duration::from_micros(u64::from(*micros));
                continue;
            }
            Event::Timeout { micros } => {
                now += Duration::from_micros(u64::from(*micros));
                timeout_call = true;
            }
            Event::ExpireNext => {
                if let Some(t) = before {
                    now = now.max(t);
                }
                timeout_call = true;
            }
            Event::Spurious => timeout_call = true,
        }
        if timeout_call {
            let idle = router.poll_timeout().is_none_or(|t| t > now);
            let (state, stats) = (router.state(), *router.stats());
            router.handle_timeout(now);
            let n = model.drain(&mut router, now);
            if idle {
                assert_eq!(n, 0, "handle_timeout with nothing due produced actions");
                assert_eq!((state, stats), (router.state(), *router.stats()));
            }
            let after = router.poll_timeout();
            assert!(
                after.is_none_or(|t| t > now),
                "after handle_timeout({now}) the next deadline is {after:?}"
            );
        } else {
            model.drain(&mut router, now);
            if before.is_none_or(|t| t >= now) {
                let after = router.poll_timeout();
                assert!(
                    after.is_none_or(|t| t >= now),
                    "{event:?} at {now} scheduled a past deadline {after:?}"
                );
            }
        }
    }
    let stats = router.stats();
    SequenceOutcome {
        ran: true,
        adverts_accepted: stats.adverts_rx,
        became_active: stats.became_active,
        released_active: stats.released_active,
    }
}
