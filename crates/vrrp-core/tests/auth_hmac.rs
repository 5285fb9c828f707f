//! `auth_hmac` (keepalived 2.4.3's advert authentication): the draft's appendix vectors, one
//! flipped byte per field, the freshness window, replay, clock steps, key rotation, the modes,
//! the replay slots, the codec's trailer handling, and properties over random adverts.
//!
//! The vectors and the flipped-field table are those of keepalived 2.4.3's
//! `test/auth_hmac_test.c` (the draft appendix images): key 00..1f, key id 1, VRID 51,
//! priority 200, interval 1 s, sequence 0x6800000080000000.

use std::net::IpAddr;

use proptest::prelude::*;
use vrrp_core::auth_hmac::{
    self, sign, verify, verify_mac, Accepted, AntiReplay, Authenticator, Binding, ClockSkew,
    HmacConfig, Key, KeyError, Keyring, KeyringError, Mode, Rejected, ReplayGuard, SendSequence,
    Sequence, TimeWindow, Trailer, WallClock, MULTICAST_SENDER_SLOTS, TRAILER_LEN,
};
use vrrp_core::packet::{
    self, AdvertSpec, AuthType, ChecksumCoverage, ChecksumForm, Family, RxMeta, Version,
};

const IPV4_VECTOR: &str = "3133c80100644402c0000264\
                           010100006800000080000000\
                           1b84bc4e8e43892dc6d98448f8ee2265";
const IPV6_VECTOR: &str = "3133c8010064a2e9\
                           fe800000000000000000000000000100\
                           010100006800000080000000\
                           c8c56146ebfd66ee10ec4d8186461b78";
const VECTOR_SEQUENCE: Sequence = Sequence::from_raw(0x6800_0000_8000_0000);
const IPV4_MESSAGE_LEN: usize = 12;
const IPV6_MESSAGE_LEN: usize = 24;

fn hex(s: &str) -> Vec<u8> {
    let digits: Vec<u8> = s.bytes().filter(|b| !b.is_ascii_whitespace()).collect();
    digits
        .chunks(2)
        .map(|p| u8::from_str_radix(std::str::from_utf8(p).unwrap(), 16).unwrap())
        .collect()
}

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

fn vector_secret() -> Vec<u8> {
    (0u8..32).collect()
}

/// Key `id` with a secret of its own.
fn key(id: u8) -> Key {
    Key::new(id, &[id; 32]).unwrap()
}

fn vector_key() -> Key {
    Key::new(1, &vector_secret()).unwrap()
}

fn config(keys: Vec<Key>, active: u8, anti_replay: AntiReplay, window: u16) -> HmacConfig {
    HmacConfig {
        keyring: Keyring::new(keys, active).unwrap(),
        mode: Mode::Enforce,
        anti_replay,
        time_window: TimeWindow::new(window).unwrap(),
    }
}

/// The vectors' receiver: key 1 only, monotonic (their timestamps lie outside any live
/// window, as keepalived's test says).
fn vector_config() -> HmacConfig {
    config(vec![vector_key()], 1, AntiReplay::Monotonic, 5)
}

fn ipv4_binding() -> Binding {
    Binding::new(Version::V3, 51, ip("198.51.100.10"))
}

fn ipv6_binding() -> Binding {
    Binding::new(Version::V3, 51, ip("fe80::10"))
}

/// Verifies `image` (message of `message_len` bytes, then the trailer) with a fresh receiver.
fn verify_image(
    config: &HmacConfig,
    binding: &Binding,
    image: &[u8],
    message_len: usize,
) -> Result<Accepted, Rejected> {
    let (message, trailer) = image.split_at(message_len);
    verify(
        config,
        &mut ReplayGuard::multicast(),
        WallClock::new(0, 0),
        binding,
        message,
        trailer,
    )
}

fn assert_verified(outcome: Result<Accepted, Rejected>) {
    assert!(
        matches!(outcome, Ok(Accepted::Verified { key_id: 1, .. })),
        "{outcome:?}"
    );
}

// ---------------------------------------------------------------------------------------------
// The appendix vectors
// ---------------------------------------------------------------------------------------------

#[test]
fn draft_appendix_ipv4_vector_verifies() {
    let image = hex(IPV4_VECTOR);
    assert_verified(verify_image(
        &vector_config(),
        &ipv4_binding(),
        &image,
        IPV4_MESSAGE_LEN,
    ));
}

#[test]
fn draft_appendix_ipv6_vector_verifies() {
    let image = hex(IPV6_VECTOR);
    assert_verified(verify_image(
        &vector_config(),
        &ipv6_binding(),
        &image,
        IPV6_MESSAGE_LEN,
    ));
}

#[test]
fn draft_appendix_vectors_are_what_sign_computes() {
    for (vector, binding, len) in [
        (IPV4_VECTOR, ipv4_binding(), IPV4_MESSAGE_LEN),
        (IPV6_VECTOR, ipv6_binding(), IPV6_MESSAGE_LEN),
    ] {
        let image = hex(vector);
        let trailer = sign(&vector_key(), &binding, &image[..len], VECTOR_SEQUENCE);
        assert_eq!(&trailer.to_bytes()[..], &image[len..], "{vector}");
        assert_eq!(Trailer::parse(&image[len..]).unwrap(), trailer);
    }
}

/// The IPv4 image: RFC 9568 message-only checksum, the trailer outside it.
#[test]
fn draft_appendix_ipv4_vector_is_what_build_with_trailer_sends() {
    let vip = [ip("192.0.2.100")];
    let spec = vector_spec(&vip, ChecksumForm::Rfc9568);
    let mut buf = [0u8; packet::MAX_PAYLOAD_LEN];
    let len = packet::build_with_trailer(
        &spec,
        ip("198.51.100.10"),
        ip("224.0.0.18"),
        |msg| sign(&vector_key(), &ipv4_binding(), msg, VECTOR_SEQUENCE).to_bytes(),
        &mut buf,
    )
    .unwrap();
    assert_eq!(&buf[..len], &hex(IPV4_VECTOR)[..]);
}

/// The IPv6 image: the checksum for destination fe80::20 covers the trailer, with the whole
/// payload's length in the pseudo-header.
#[test]
fn draft_appendix_ipv6_vector_is_what_build_with_trailer_sends() {
    let vip = [ip("fe80::100")];
    let spec = vector_spec(&vip, ChecksumForm::default());
    let mut buf = [0u8; packet::MAX_PAYLOAD_LEN];
    let len = packet::build_with_trailer(
        &spec,
        ip("fe80::10"),
        ip("fe80::20"),
        |msg| sign(&vector_key(), &ipv6_binding(), msg, VECTOR_SEQUENCE).to_bytes(),
        &mut buf,
    )
    .unwrap();
    assert_eq!(&buf[..len], &hex(IPV6_VECTOR)[..]);
}

#[test]
fn draft_appendix_vectors_parse_with_their_trailer_and_checksum_coverage() {
    let v4 = hex(IPV4_VECTOR);
    let adv = packet::parse(&v4, meta("198.51.100.10", "224.0.0.18")).unwrap();
    assert_eq!(adv.checksum_form, Some(ChecksumForm::Rfc9568));
    assert_eq!(adv.checksum_coverage(), ChecksumCoverage::Message);
    assert_eq!(adv.message(), &v4[..IPV4_MESSAGE_LEN]);
    assert_eq!(adv.trailer(), &v4[IPV4_MESSAGE_LEN..]);

    let v6 = hex(IPV6_VECTOR);
    let adv = packet::parse(&v6, meta("fe80::10", "fe80::20")).unwrap();
    assert_eq!(adv.checksum_coverage(), ChecksumCoverage::MessageAndTrailer);
    assert_eq!(adv.message(), &v6[..IPV6_MESSAGE_LEN]);
    assert_eq!(adv.trailer(), &v6[IPV6_MESSAGE_LEN..]);
    assert_eq!((adv.vrid, adv.priority, adv.interval_cs), (51, 200, 100));
    // The checksum covers the trailer: a changed trailer fails it.
    let mut tampered = v6.clone();
    tampered[IPV6_MESSAGE_LEN + 20] ^= 1;
    assert_eq!(
        packet::parse(&tampered, meta("fe80::10", "fe80::20")),
        Err(packet::RxError::Checksum)
    );
}

fn vector_spec(addrs: &[IpAddr], checksum_form: ChecksumForm) -> AdvertSpec<'_> {
    AdvertSpec {
        version: Version::V3,
        vrid: 51,
        priority: 200,
        interval_cs: 100,
        addrs,
        checksum_form,
        auth_type: AuthType::None,
        auth_data: [0; 8],
    }
}

fn meta(src: &str, dst: &str) -> RxMeta {
    RxMeta {
        src: ip(src),
        dst: ip(dst),
        ttl: 255,
        ifindex: 1,
    }
}

// ---------------------------------------------------------------------------------------------
// One flipped byte per field
// ---------------------------------------------------------------------------------------------

#[derive(Debug, PartialEq)]
enum Expect {
    Ok,
    BadScheme,
    UnknownKey,
    InvalidMac,
}

fn outcome_kind(outcome: &Result<Accepted, Rejected>) -> Expect {
    match outcome {
        Ok(Accepted::Verified { .. }) => Expect::Ok,
        Err(Rejected::BadScheme { .. }) => Expect::BadScheme,
        Err(Rejected::UnknownKey { .. }) => Expect::UnknownKey,
        Err(Rejected::InvalidMac) => Expect::InvalidMac,
        other => panic!("unexpected outcome {other:?}"),
    }
}

#[test]
fn one_flipped_byte_per_field_is_rejected_with_its_outcome() {
    // (field, offset in the message or, past it, in the trailer, outcome); the offsets of the
    // trailer are relative to its start.
    let message_fields = [
        ("version and type", 0, Expect::InvalidMac),
        ("vrid", 1, Expect::InvalidMac),
        ("priority", 2, Expect::InvalidMac),
        ("address count", 3, Expect::InvalidMac),
        ("advert interval", 5, Expect::InvalidMac),
        ("checksum (read as zero)", 6, Expect::Ok),
        ("checksum low byte (read as zero)", 7, Expect::Ok),
        ("last byte of the address", usize::MAX, Expect::InvalidMac),
    ];
    let trailer_fields = [
        ("scheme", 0, Expect::BadScheme),
        ("key id", 1, Expect::UnknownKey),
        ("reserved", 2, Expect::BadScheme),
        ("reserved low byte", 3, Expect::BadScheme),
        ("seconds", 4, Expect::InvalidMac),
        ("seconds low byte", 7, Expect::InvalidMac),
        ("fraction", 8, Expect::InvalidMac),
        ("counter", 10, Expect::InvalidMac),
        ("counter low byte", 11, Expect::InvalidMac),
        ("hmac first byte", 12, Expect::InvalidMac),
        ("hmac last byte", 27, Expect::InvalidMac),
    ];
    for (vector, binding, len) in [
        (IPV4_VECTOR, ipv4_binding(), IPV4_MESSAGE_LEN),
        (IPV6_VECTOR, ipv6_binding(), IPV6_MESSAGE_LEN),
    ] {
        let image = hex(vector);
        let offsets = message_fields
            .iter()
            .map(|(f, o, e)| (*f, if *o == usize::MAX { len - 1 } else { *o }, e))
            .chain(trailer_fields.iter().map(|(f, o, e)| (*f, len + o, e)));
        for (field, offset, expected) in offsets {
            let mut flipped = image.clone();
            flipped[offset] ^= 0x01;
            let outcome = verify_image(&vector_config(), &binding, &flipped, len);
            assert_eq!(&outcome_kind(&outcome), expected, "{vector}: {field}");
        }
    }
}

#[test]
fn pseudo_header_binds_source_address_vrid_and_version() {
    let image = hex(IPV6_VECTOR);
    let config = vector_config();
    for binding in [
        Binding::new(Version::V3, 51, ip("fe80::20")),
        Binding::new(Version::V3, 52, ip("fe80::10")),
        Binding::new(Version::V2, 51, ip("fe80::10")),
    ] {
        assert_eq!(
            verify_image(&config, &binding, &image, IPV6_MESSAGE_LEN),
            Err(Rejected::InvalidMac),
            "{binding:?}"
        );
    }
    let v4 = hex(IPV4_VECTOR);
    assert_eq!(
        verify_image(
            &config,
            &Binding::new(Version::V3, 51, ip("198.51.100.11")),
            &v4,
            IPV4_MESSAGE_LEN
        ),
        Err(Rejected::InvalidMac)
    );
}

#[test]
fn pseudo_header_layout_is_family_version_vrid_zero_address() {
    let v4 = ipv4_binding().pseudo_header();
    assert_eq!(
        &v4[..],
        &hex("04033300c633640a000000000000000000000000")[..]
    );
    let v6 = ipv6_binding().pseudo_header();
    assert_eq!(
        &v6[..],
        &hex("06033300fe800000000000000000000000000010")[..]
    );
}

// ---------------------------------------------------------------------------------------------
// Trailer layout, sequence construction
// ---------------------------------------------------------------------------------------------

#[test]
fn trailer_round_trips_field_by_field() {
    let trailer = Trailer {
        scheme: 1,
        key_id: 9,
        reserved: 0,
        sequence: Sequence::from_parts(0x0102_0304, 0x0506, 0x0708),
        mac: [0xaa; 16],
    };
    let bytes = trailer.to_bytes();
    assert_eq!(&bytes[..12], &hex("010900000102030405060708")[..]);
    assert_eq!(&bytes[12..], &[0xaa; 16][..]);
    assert_eq!(Trailer::parse(&bytes), Ok(trailer));
    assert_eq!(
        Trailer::parse(&bytes[..27]),
        Err(Rejected::BadTrailerLength { len: 27 })
    );
}

#[test]
fn sequence_is_utc_seconds_binary_fraction_and_counter_like_keepalived() {
    let window = TimeWindow::new(5).unwrap();
    let mut seq = SendSequence::new();
    // 0.75 s = 0xc000 / 65536.
    let now = WallClock::new(1_700_000_000, 750_000_000);
    let first = seq.next(now, AntiReplay::Time, window);
    assert_eq!(
        (first.secs(), first.fraction(), first.counter()),
        (1_700_000_000, 0xc000, 0)
    );
    // Same fraction: the counter orders the adverts.
    let second = seq.next(now, AntiReplay::Time, window);
    assert_eq!((second.fraction(), second.counter()), (0xc000, 1));
    let within_fraction = WallClock::new(1_700_000_000, 750_010_000);
    let third = seq.next(within_fraction, AntiReplay::Time, window);
    assert_eq!((third.fraction(), third.counter()), (0xc000, 2));
    // The next fraction restarts the counter from the clock.
    let later = seq.next(WallClock::new(1_700_000_001, 0), AntiReplay::Time, window);
    assert_eq!(later, Sequence::from_parts(1_700_000_001, 0, 0));
    assert!(later.is_after(third) && third.is_after(second) && second.is_after(first));
}

#[test]
fn sequence_counter_carries_into_the_fraction() {
    let window = TimeWindow::new(5).unwrap();
    let mut seq = SendSequence::resuming_after(Sequence::from_parts(100, 7, 0xffff));
    let next = seq.next(WallClock::new(100, 0), AntiReplay::Monotonic, window);
    assert_eq!(next, Sequence::from_parts(100, 8, 0));
}

#[test]
fn serial_order_survives_the_wrap_of_the_seconds() {
    let before = Sequence::from_parts(u32::MAX, 0xffff, 0xffff);
    let after = Sequence::from_parts(0, 0, 0);
    assert!(after.is_after(before));
    assert!(!before.is_after(after));
    assert!(!before.is_after(before));
}

// ---------------------------------------------------------------------------------------------
// Window, clock steps, replay (table tests)
// ---------------------------------------------------------------------------------------------

const NOW: u64 = 1_800_000_000;

fn now_plus(secs: i64) -> WallClock {
    WallClock::new(NOW.checked_add_signed(secs).unwrap(), 0)
}

fn signed_at(sequence: Sequence) -> ([u8; 12], [u8; TRAILER_LEN]) {
    let message = hex("3133c80100644402c0000264");
    let mut m = [0u8; 12];
    m.copy_from_slice(&message);
    let trailer = sign(&vector_key(), &ipv4_binding(), &m, sequence).to_bytes();
    (m, trailer)
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Seen {
    Accepted,
    Stale,
    Replayed,
}

fn seen(outcome: Result<Accepted, Rejected>) -> Seen {
    match outcome {
        Ok(Accepted::Verified { .. }) => Seen::Accepted,
        Err(Rejected::Stale { .. }) => Seen::Stale,
        Err(Rejected::Replayed { .. }) => Seen::Replayed,
        other => panic!("unexpected {other:?}"),
    }
}

/// Each row: a sequence of (advert stamped at NOW + offset [with counter], received at NOW +
/// offset) and what the receiver says, with a window of 5 s.
#[test]
fn window_and_replay_table() {
    use AntiReplay::{Monotonic, Time};
    use Seen::*;
    type Step = (i64, u16, i64, Seen);
    let rows: &[(&str, AntiReplay, &[Step])] = &[
        ("fresh advert", Time, &[(0, 0, 0, Accepted)]),
        (
            "same sequence again inside the window",
            Time,
            &[(0, 0, 0, Accepted), (0, 0, 1, Replayed)],
        ),
        (
            "older sequence after a newer one",
            Time,
            &[(1, 0, 1, Accepted), (0, 5, 1, Replayed)],
        ),
        (
            "growing counter",
            Time,
            &[
                (0, 0, 0, Accepted),
                (0, 1, 0, Accepted),
                (0, 2, 0, Accepted),
            ],
        ),
        (
            "stamp at the window's edge, past",
            Time,
            &[(-5, 0, 0, Accepted)],
        ),
        (
            "stamp one second past the window",
            Time,
            &[(-6, 0, 0, Stale)],
        ),
        (
            "stamp at the window's edge, future",
            Time,
            &[(5, 0, 0, Accepted)],
        ),
        (
            "stamp one second beyond the window, future",
            Time,
            &[(6, 0, 0, Stale)],
        ),
        (
            "replay of an accepted advert once it left the window",
            Time,
            &[(0, 0, 0, Accepted), (0, 0, 6, Stale)],
        ),
        (
            "monotonic ignores the clock, past",
            Monotonic,
            &[(-3600, 0, 0, Accepted)],
        ),
        (
            "monotonic ignores the clock, future",
            Monotonic,
            &[(3600, 0, 0, Accepted)],
        ),
        (
            "monotonic rejects the same sequence",
            Monotonic,
            &[(0, 0, 0, Accepted), (0, 0, 0, Replayed)],
        ),
        (
            "monotonic rejects an older sequence",
            Monotonic,
            &[(10, 0, 0, Accepted), (9, 0, 0, Replayed)],
        ),
        (
            "monotonic keeps an old mark forever",
            Monotonic,
            &[(0, 0, 0, Accepted), (0, 0, 86_400, Replayed)],
        ),
    ];
    for (name, anti_replay, steps) in rows {
        let config = config(vec![vector_key()], 1, *anti_replay, 5);
        let mut replay = ReplayGuard::multicast();
        for (i, &(stamp, counter, received, expected)) in steps.iter().enumerate() {
            let stamp = now_plus(stamp);
            let seq = Sequence::from_parts(stamp.secs() as u32, 0, counter);
            let (message, trailer) = signed_at(seq);
            let outcome = verify(
                &config,
                &mut replay,
                now_plus(received),
                &ipv4_binding(),
                &message,
                &trailer,
            );
            assert_eq!(seen(outcome), expected, "{name}, step {i}");
        }
    }
}

/// A sender and a receiver: each row steps the sender's clock, the receiver's, or both, and
/// says whether the next advert is accepted.
#[test]
fn clock_step_table() {
    use AntiReplay::{Monotonic, Time};
    use Seen::*;
    // (name, mode, [(sender clock offset, receiver clock offset, expected)]) with one advert
    // per step; the window is 5 s.
    type Step = (i64, i64, Seen);
    let rows: &[(&str, AntiReplay, &[Step])] = &[
        (
            "both clocks step back 100 s: time mode drops the stranded mark and hears the sender",
            Time,
            &[(0, 0, Accepted), (1, 1, Accepted), (-99, -99, Accepted), (-98, -98, Accepted)],
        ),
        (
            "sender's clock steps forward past the window: stale until it is corrected",
            Time,
            &[(0, 0, Accepted), (100, 1, Stale), (2, 2, Accepted)],
        ),
        (
            "sender's clock steps forward within the window: accepted",
            Time,
            &[(0, 0, Accepted), (4, 1, Accepted), (2, 2, Accepted)],
        ),
        (
            "sender's clock corrected back after a forward step: its sequence restarts from the clock",
            Time,
            &[(100, 100, Accepted), (1, 1, Accepted), (2, 2, Accepted)],
        ),
        (
            "sender's clock steps back 3 s within the window: the sequence keeps growing",
            Time,
            &[(10, 10, Accepted), (7, 11, Accepted), (8, 12, Accepted)],
        ),
        (
            "monotonic: sender's clock steps back: the sequence keeps growing from its last value",
            Monotonic,
            &[(0, 0, Accepted), (-3600, 1, Accepted), (-3599, 2, Accepted)],
        ),
        (
            "monotonic: sender's clock steps forward: accepted (no freshness bound)",
            Monotonic,
            &[(0, 0, Accepted), (3600, 1, Accepted), (3601, 2, Accepted)],
        ),
    ];
    for (name, anti_replay, steps) in rows {
        let cfg = config(vec![vector_key()], 1, *anti_replay, 5);
        let mut sender = Authenticator::new(cfg.clone(), ReplayGuard::multicast());
        let mut receiver = Authenticator::new(cfg, ReplayGuard::multicast());
        let message = hex("3133c80100644402c0000264");
        for (i, &(sender_clock, receiver_clock, expected)) in steps.iter().enumerate() {
            let trailer = sender
                .sign(now_plus(sender_clock), &ipv4_binding(), &message)
                .unwrap();
            let outcome = receiver.verify(
                now_plus(receiver_clock),
                &ipv4_binding(),
                &message,
                &trailer,
            );
            assert_eq!(seen(outcome), expected, "{name}, step {i}");
        }
    }
}

#[test]
fn time_mode_sender_far_ahead_of_its_clock_restarts_from_the_clock() {
    let window = TimeWindow::new(5).unwrap();
    let stranded = Sequence::from_parts((NOW + 3600) as u32, 0, 0);
    let mut seq = SendSequence::resuming_after(stranded);
    let next = seq.next(now_plus(0), AntiReplay::Time, window);
    assert_eq!(next, Sequence::at(now_plus(0)));
    // Monotonic mode keeps growing instead.
    let mut seq = SendSequence::resuming_after(stranded);
    let next = seq.next(now_plus(0), AntiReplay::Monotonic, window);
    assert_eq!(next, Sequence::from_parts((NOW + 3600) as u32, 0, 1));
}

#[test]
fn monotonic_receiver_rejects_a_restarted_sender_until_its_sequence_catches_up() {
    let cfg = config(vec![vector_key()], 1, AntiReplay::Monotonic, 5);
    let mut receiver = Authenticator::new(cfg.clone(), ReplayGuard::multicast());
    let message = hex("3133c80100644402c0000264");
    let mut before = Authenticator::new(cfg.clone(), ReplayGuard::multicast());
    let t = before
        .sign(now_plus(100), &ipv4_binding(), &message)
        .unwrap();
    assert!(receiver
        .verify(now_plus(100), &ipv4_binding(), &message, &t)
        .is_ok());
    // Restarted with a clock 50 s behind: rejected until the clock passes the old mark.
    let mut restarted = Authenticator::new(cfg, ReplayGuard::multicast());
    let t = restarted
        .sign(now_plus(50), &ipv4_binding(), &message)
        .unwrap();
    assert!(matches!(
        receiver.verify(now_plus(101), &ipv4_binding(), &message, &t),
        Err(Rejected::Replayed { .. })
    ));
    let t = restarted
        .sign(now_plus(101), &ipv4_binding(), &message)
        .unwrap();
    assert!(receiver
        .verify(now_plus(101), &ipv4_binding(), &message, &t)
        .is_ok());
}

#[test]
fn stale_is_decided_before_the_key_and_the_hmac() {
    // An old capture with an unknown key id and a garbage HMAC is reported stale, not
    // unknown-key: the window sheds it before any digest.
    let cfg = config(vec![vector_key()], 1, AntiReplay::Time, 5);
    let mut trailer = [0u8; TRAILER_LEN];
    trailer[0] = 1;
    trailer[1] = 200;
    trailer[4..8].copy_from_slice(&((NOW - 100) as u32).to_be_bytes());
    let outcome = verify(
        &cfg,
        &mut ReplayGuard::multicast(),
        now_plus(0),
        &ipv4_binding(),
        &hex("3133c80100644402c0000264"),
        &trailer,
    );
    assert_eq!(
        outcome,
        Err(Rejected::Stale {
            skew: ClockSkew(100),
            window: TimeWindow::new(5).unwrap()
        })
    );
}

#[test]
fn accepted_advert_reports_its_clock_skew_and_warns_past_half_the_window() {
    let cfg = config(vec![vector_key()], 1, AntiReplay::Time, 5);
    let window = cfg.time_window;
    let mut receiver = Authenticator::new(cfg, ReplayGuard::multicast());
    let (message, trailer) = signed_at(Sequence::at(now_plus(-3)));
    let outcome = receiver.verify(now_plus(0), &ipv4_binding(), &message, &trailer);
    let Ok(Accepted::Verified {
        skew: Some(skew), ..
    }) = outcome
    else {
        panic!("{outcome:?}");
    };
    assert_eq!(skew, ClockSkew(3));
    assert!(skew.approaching(window), "3 s is past half of 5 s");
    assert!(!ClockSkew(2).approaching(window));
    assert!(ClockSkew(-3).approaching(window));
    let state = receiver.replay().sender(ip("198.51.100.10")).unwrap();
    assert_eq!(state.last_skew(), Some(ClockSkew(3)));
    assert_eq!(state.mark(), Some(Sequence::at(now_plus(-3))));
}

// ---------------------------------------------------------------------------------------------
// Keys and rotation
// ---------------------------------------------------------------------------------------------

#[test]
fn receiver_with_keys_1_and_2_accepts_adverts_signed_with_either() {
    let receiver_cfg = config(vec![key(1), key(2)], 1, AntiReplay::Monotonic, 5);
    let message = hex("3133c80100644402c0000264");
    for (id, at) in [(1u8, 10i64), (2, 11)] {
        let trailer = sign(
            &key(id),
            &ipv4_binding(),
            &message,
            Sequence::at(now_plus(at)),
        );
        let outcome = verify_image(
            &receiver_cfg,
            &ipv4_binding(),
            &[&message[..], &trailer.to_bytes()[..]].concat(),
            message.len(),
        );
        assert!(
            matches!(outcome, Ok(Accepted::Verified { key_id, .. }) if key_id == id),
            "key {id}: {outcome:?}"
        );
    }
}

#[test]
fn unknown_key_id_is_rejected_as_unknown_key() {
    let receiver_cfg = config(vec![key(1), key(2)], 1, AntiReplay::Monotonic, 5);
    let message = hex("3133c80100644402c0000264");
    let trailer = sign(&key(3), &ipv4_binding(), &message, Sequence::from_raw(1));
    assert_eq!(
        verify_mac(&receiver_cfg.keyring, &ipv4_binding(), &message, &trailer),
        Err(Rejected::UnknownKey { key_id: 3 })
    );
}

#[test]
fn same_id_with_another_secret_is_an_invalid_mac() {
    let receiver_cfg = config(vec![key(1)], 1, AntiReplay::Monotonic, 5);
    let message = hex("3133c80100644402c0000264");
    let other = Key::new(1, &[0x55; 32]).unwrap();
    let trailer = sign(&other, &ipv4_binding(), &message, Sequence::from_raw(1));
    assert_eq!(
        verify_mac(&receiver_cfg.keyring, &ipv4_binding(), &message, &trailer),
        Err(Rejected::InvalidMac)
    );
}

#[test]
fn rotation_make_before_break_never_drops_an_advert() {
    let message = hex("3133c80100644402c0000264");
    let mut sender = Authenticator::new(
        config(vec![key(1)], 1, AntiReplay::Time, 5),
        ReplayGuard::multicast(),
    );
    let mut receiver = Authenticator::new(
        config(vec![key(1)], 1, AntiReplay::Time, 5),
        ReplayGuard::multicast(),
    );
    let mut t = 0;
    let mut exchange = |sender: &mut Authenticator, receiver: &mut Authenticator| {
        t += 1;
        let trailer = sender.sign(now_plus(t), &ipv4_binding(), &message).unwrap();
        receiver.verify(now_plus(t), &ipv4_binding(), &message, &trailer)
    };
    let with = |ring: Keyring| config_with_ring(ring);
    // 1. Key 2 added everywhere, key 1 still active.
    let mut ring = Keyring::new([key(1), key(2)], 1).unwrap();
    receiver.reconfigure(with(ring.clone()));
    assert!(exchange(&mut sender, &mut receiver).is_ok());
    sender.reconfigure(with(ring.clone()));
    assert!(matches!(
        exchange(&mut sender, &mut receiver),
        Ok(Accepted::Verified { key_id: 1, .. })
    ));
    // 2. Key 2 made active on the sender first: the receiver already accepts it.
    ring.set_active(2).unwrap();
    sender.reconfigure(with(ring.clone()));
    assert!(matches!(
        exchange(&mut sender, &mut receiver),
        Ok(Accepted::Verified { key_id: 2, .. })
    ));
    receiver.reconfigure(with(ring.clone()));
    // 3. Key 1 retired.
    ring.remove(1).unwrap();
    receiver.reconfigure(with(ring.clone()));
    sender.reconfigure(with(ring));
    assert!(matches!(
        exchange(&mut sender, &mut receiver),
        Ok(Accepted::Verified { key_id: 2, .. })
    ));
}

fn config_with_ring(keyring: Keyring) -> HmacConfig {
    HmacConfig {
        keyring,
        mode: Mode::Enforce,
        anti_replay: AntiReplay::Time,
        time_window: TimeWindow::new(5).unwrap(),
    }
}

#[test]
fn keyring_refuses_duplicates_a_missing_active_key_and_removing_the_active_key() {
    assert_eq!(
        Keyring::new([key(1), key(1)], 1),
        Err(KeyringError::DuplicateId(1))
    );
    assert_eq!(
        Keyring::new([key(1)], 2),
        Err(KeyringError::ActiveMissing(2))
    );
    let mut ring = Keyring::new([key(1), key(2)], 1).unwrap();
    assert_eq!(ring.remove(1), Err(KeyringError::RemovingActive(1)));
    assert_eq!(ring.set_active(3), Err(KeyringError::NoSuchKey(3)));
    assert_eq!(ring.ids().collect::<Vec<_>>(), [1, 2]);
}

#[test]
fn key_secrets_must_be_32_to_64_bytes_and_ids_1_to_255() {
    assert_eq!(
        Key::new(1, &[0; 5]),
        Err(KeyError::Length { id: 1, len: 5 })
    );
    assert_eq!(
        Key::new(1, &[0; 31]),
        Err(KeyError::Length { id: 1, len: 31 })
    );
    assert_eq!(
        Key::new(1, &[0; 65]),
        Err(KeyError::Length { id: 1, len: 65 })
    );
    assert_eq!(Key::new(0, &[0; 32]), Err(KeyError::ZeroId));
    assert_eq!(Key::new(255, &[0; 64]).unwrap().secret_len(), 64);
    assert_eq!(
        KeyError::Length { id: 1, len: 5 }.to_string(),
        "key 1 is 5 bytes long, expected 32..64 bytes"
    );
}

#[test]
fn key_debug_shows_id_and_length_never_the_secret() {
    let secret = *b"correct horse battery staple 0123456789";
    let key = Key::new(4, &secret).unwrap();
    let shown = format!("{key:?} {:?}", Keyring::new([key.clone()], 4).unwrap());
    assert!(
        shown.contains("id: 4") && shown.contains("secret_len: 39"),
        "{shown}"
    );
    assert!(
        !shown.contains("horse") && !shown.contains("99, 111"),
        "{shown}"
    );
}

// ---------------------------------------------------------------------------------------------
// Modes
// ---------------------------------------------------------------------------------------------

#[test]
fn modes_table_on_send_and_receive() {
    let message = hex("3133c80100644402c0000264");
    let (_, good) = signed_at(Sequence::from_raw(7));
    let mut bad = good;
    bad[TRAILER_LEN - 1] ^= 1;
    // (mode, signs, without trailer, with a bad trailer, with a good trailer)
    type Row = (
        Mode,
        bool,
        Result<Accepted, Rejected>,
        Result<Accepted, Rejected>,
    );
    let rows: [Row; 3] = [
        (
            Mode::Enforce,
            true,
            Err(Rejected::MissingTrailer),
            Err(Rejected::InvalidMac),
        ),
        (
            Mode::Permissive,
            true,
            Ok(Accepted::Unsigned),
            Err(Rejected::InvalidMac),
        ),
        (
            Mode::ReceiveOnly,
            false,
            Ok(Accepted::Unsigned),
            Err(Rejected::InvalidMac),
        ),
    ];
    for (mode, signs, unsigned, tampered) in rows {
        let cfg = HmacConfig {
            mode,
            ..config(vec![vector_key()], 1, AntiReplay::Monotonic, 5)
        };
        assert_eq!(
            cfg.trailer_len(),
            if signs { TRAILER_LEN } else { 0 },
            "{mode:?}"
        );
        let mut auth = Authenticator::new(cfg.clone(), ReplayGuard::multicast());
        assert_eq!(
            auth.sign(now_plus(0), &ipv4_binding(), &message).is_some(),
            signs,
            "{mode:?}"
        );
        let check = |trailer: &[u8]| {
            verify(
                &cfg,
                &mut ReplayGuard::multicast(),
                now_plus(0),
                &ipv4_binding(),
                &message,
                trailer,
            )
        };
        assert_eq!(check(&[]), unsigned, "{mode:?} without trailer");
        assert_eq!(check(&bad), tampered, "{mode:?} bad trailer");
        assert!(
            matches!(check(&good), Ok(Accepted::Verified { .. })),
            "{mode:?} good trailer"
        );
        assert_eq!(
            check(&good[..20]),
            Err(Rejected::BadTrailerLength { len: 20 }),
            "{mode:?} short trailer"
        );
    }
    assert_eq!(Mode::default(), Mode::Enforce);
    assert_eq!(AntiReplay::default(), AntiReplay::Time);
    for mode in [Mode::Enforce, Mode::Permissive, Mode::ReceiveOnly] {
        assert_eq!(Mode::from_keyword(mode.keyword()), Some(mode));
    }
}

// ---------------------------------------------------------------------------------------------
// Replay slots
// ---------------------------------------------------------------------------------------------

fn v4_sender(i: u8) -> Binding {
    Binding::new(Version::V3, 51, IpAddr::from([192, 0, 2, 10 + i]))
}

#[test]
fn multicast_keeps_four_senders_and_reuses_the_least_recently_used_slot() {
    let cfg = config(vec![vector_key()], 1, AntiReplay::Monotonic, 5);
    let mut receiver = Authenticator::new(cfg, ReplayGuard::multicast());
    let message = hex("3133c80100644402c0000264");
    let advert = |i: u8, seq: u64| {
        sign(
            &vector_key(),
            &v4_sender(i),
            &message,
            Sequence::from_raw(seq),
        )
        .to_bytes()
    };
    // Senders 0..4 fill the slots; sender 0 is heard again, so sender 1 is the oldest.
    for i in 0..MULTICAST_SENDER_SLOTS as u8 {
        assert!(receiver
            .verify(now_plus(0), &v4_sender(i), &message, &advert(i, 10))
            .is_ok());
    }
    assert!(receiver
        .verify(now_plus(0), &v4_sender(0), &message, &advert(0, 11))
        .is_ok());
    assert!(receiver
        .verify(now_plus(0), &v4_sender(4), &message, &advert(4, 10))
        .is_ok());
    let held: Vec<IpAddr> = receiver.replay().senders().map(|(a, _)| a).collect();
    assert_eq!(held.len(), MULTICAST_SENDER_SLOTS);
    assert!(!held.contains(&v4_sender(1).source), "{held:?}");
    // The kept senders still reject replays; the evicted one's mark is forgotten.
    assert!(matches!(
        receiver.verify(now_plus(0), &v4_sender(0), &message, &advert(0, 11)),
        Err(Rejected::Replayed { .. })
    ));
    assert!(receiver
        .verify(now_plus(0), &v4_sender(1), &message, &advert(1, 10))
        .is_ok());
}

#[test]
fn multicast_slot_is_taken_only_after_the_hmac_verified() {
    let cfg = config(vec![vector_key()], 1, AntiReplay::Monotonic, 5);
    let mut receiver = Authenticator::new(cfg, ReplayGuard::multicast());
    let message = hex("3133c80100644402c0000264");
    let forger = Key::new(1, &[0x66; 32]).unwrap();
    for i in 0..10 {
        let t = sign(&forger, &v4_sender(i), &message, Sequence::from_raw(1)).to_bytes();
        assert_eq!(
            receiver.verify(now_plus(0), &v4_sender(i), &message, &t),
            Err(Rejected::InvalidMac)
        );
    }
    assert_eq!(receiver.replay().senders().count(), 0);
}

#[test]
fn unicast_keeps_one_mark_per_peer_and_rejects_other_sources() {
    let cfg = config(vec![vector_key()], 1, AntiReplay::Monotonic, 5);
    let peers = [v4_sender(0).source, v4_sender(1).source];
    let mut receiver = Authenticator::new(cfg, ReplayGuard::unicast(peers));
    assert!(receiver.replay().is_unicast());
    let message = hex("3133c80100644402c0000264");
    let advert = |i: u8, seq: u64| {
        sign(
            &vector_key(),
            &v4_sender(i),
            &message,
            Sequence::from_raw(seq),
        )
        .to_bytes()
    };
    assert!(receiver
        .verify(now_plus(0), &v4_sender(0), &message, &advert(0, 50))
        .is_ok());
    // Peer 1's mark is its own: a lower sequence than peer 0's is fine.
    assert!(receiver
        .verify(now_plus(0), &v4_sender(1), &message, &advert(1, 20))
        .is_ok());
    assert!(matches!(
        receiver.verify(now_plus(0), &v4_sender(1), &message, &advert(1, 20)),
        Err(Rejected::Replayed { .. })
    ));
    assert_eq!(
        receiver.verify(now_plus(0), &v4_sender(2), &message, &advert(2, 1)),
        Err(Rejected::NotAPeer {
            sender: v4_sender(2).source
        })
    );
    assert_eq!(
        receiver
            .replay()
            .sender(v4_sender(0).source)
            .unwrap()
            .mark(),
        Some(Sequence::from_raw(50))
    );
}

#[test]
fn one_signed_advert_is_accepted_by_every_peer() {
    // A sender signs once and sends the same trailer to each unicast peer (the IPv4 checksum
    // differs per destination; the HMAC reads it as zero).
    let cfg = config(vec![vector_key()], 1, AntiReplay::Time, 5);
    let mut sender = Authenticator::new(cfg.clone(), ReplayGuard::multicast());
    let vip = [ip("192.0.2.100")];
    let spec = vector_spec(&vip, ChecksumForm::PseudoHeader);
    let src = ip("198.51.100.10");
    let mut buf = [0u8; 64];
    let n = packet::build(&spec, src, ip("192.0.2.10"), &mut buf).unwrap();
    let trailer = sender
        .sign(now_plus(0), &ipv4_binding(), &buf[..n])
        .unwrap();
    for peer in ["192.0.2.10", "192.0.2.11"] {
        let len = packet::build_with_trailer(&spec, src, ip(peer), |_| trailer, &mut buf).unwrap();
        let adv = packet::parse(&buf[..len], meta("198.51.100.10", peer)).unwrap();
        assert_eq!(adv.checksum_coverage(), ChecksumCoverage::Message);
        let mut receiver = Authenticator::new(cfg.clone(), ReplayGuard::unicast([src]));
        let outcome = receiver.verify(now_plus(0), &ipv4_binding(), adv.message(), adv.trailer());
        assert!(
            matches!(outcome, Ok(Accepted::Verified { .. })),
            "{peer}: {outcome:?}"
        );
    }
}

// ---------------------------------------------------------------------------------------------
// Codec: where the trailer goes
// ---------------------------------------------------------------------------------------------

#[test]
fn vrrpv2_trailer_follows_the_authentication_data() {
    let vip = [ip("192.0.2.100")];
    let spec = AdvertSpec {
        version: Version::V2,
        auth_type: AuthType::Password,
        auth_data: packet::password_field(b"secret"),
        ..vector_spec(&vip, ChecksumForm::default())
    };
    let binding = Binding::new(Version::V2, 51, ip("198.51.100.10"));
    let mut buf = [0u8; 64];
    let len = packet::build_with_trailer(
        &spec,
        binding.source,
        ip("224.0.0.18"),
        |msg| sign(&vector_key(), &binding, msg, Sequence::from_raw(9)).to_bytes(),
        &mut buf,
    )
    .unwrap();
    assert_eq!(len, 8 + 4 + 8 + TRAILER_LEN);
    let adv = packet::parse(&buf[..len], meta("198.51.100.10", "224.0.0.18")).unwrap();
    assert_eq!(adv.message().len(), 20);
    assert_eq!(&adv.message()[12..20], b"secret\0\0");
    assert_eq!(adv.auth_data, packet::password_field(b"secret"));
    assert_eq!(adv.checksum_coverage(), ChecksumCoverage::Message);
    assert!(matches!(
        verify_image(&vector_config(), &binding, &buf[..len], 20),
        Ok(Accepted::Verified { .. })
    ));
}

#[test]
fn advert_without_trailer_parses_with_an_empty_trailer() {
    let vip = [ip("fe80::100")];
    let spec = vector_spec(&vip, ChecksumForm::default());
    let mut buf = [0u8; 64];
    let len = packet::build(&spec, ip("fe80::10"), ip("ff02::12"), &mut buf).unwrap();
    let adv = packet::parse(&buf[..len], meta("fe80::10", "ff02::12")).unwrap();
    assert!(adv.trailer().is_empty());
    assert_eq!(adv.message(), &buf[..len]);
    assert_eq!(adv.checksum_coverage(), ChecksumCoverage::Message);
}

#[test]
fn advert_with_255_ipv6_addresses_and_a_trailer_fits_max_payload_len() {
    let addrs: Vec<IpAddr> = (0..255u16)
        .map(|i| IpAddr::from([0xfe80, 0, 0, 0, 0, 0, 0, i + 1]))
        .collect();
    let spec = vector_spec(&addrs, ChecksumForm::default());
    let binding = Binding::new(Version::V3, 51, ip("fe80::10"));
    let mut buf = [0u8; packet::MAX_PAYLOAD_LEN];
    let len = packet::build_with_trailer(
        &spec,
        binding.source,
        ip("ff02::12"),
        |msg| sign(&vector_key(), &binding, msg, Sequence::from_raw(3)).to_bytes(),
        &mut buf,
    )
    .unwrap();
    assert_eq!(len, packet::MAX_PAYLOAD_LEN);
    assert_eq!(len, 8 + 255 * 16 + 28);
    let adv = packet::parse(&buf[..len], meta("fe80::10", "ff02::12")).unwrap();
    assert_eq!(adv.addrs.len(), 255);
    assert_eq!(adv.trailer().len(), TRAILER_LEN);
    assert!(verify_image(&vector_config(), &binding, &buf[..len], len - TRAILER_LEN).is_ok());
    // One byte short: refused, nothing written past the buffer.
    assert_eq!(
        packet::build_with_trailer(
            &spec,
            binding.source,
            ip("ff02::12"),
            |_| [0; 28],
            &mut buf[..len - 1]
        ),
        Err(packet::BuildError::BufferTooSmall {
            need: len,
            have: len - 1
        })
    );
}

#[test]
fn max_addresses_reserves_the_trailer_like_keepalived() {
    use Family::{V4, V6};
    // keepalived: (MTU - Ethernet 14 - IP header - VRRP 8 [- v2 auth 8] [- trailer 28]) / size.
    let rows = [
        (V6, Version::V3, 1500, false, 89),
        (V6, Version::V3, 1500, true, 88),
        (V6, Version::V3, 4170, true, 255),
        (V6, Version::V3, 4169, true, 254),
        (V6, Version::V3, 4142, false, 255),
        (V4, Version::V3, 1500, true, 255),
        (V4, Version::V3, 100, false, 14),
        (V4, Version::V3, 100, true, 7),
        (V4, Version::V2, 100, true, 5),
        (V4, Version::V3, 10, true, 0),
    ];
    for (family, version, mtu, signs, expected) in rows {
        assert_eq!(
            packet::max_addresses(family, version, mtu, signs),
            expected,
            "{family:?} {version:?} MTU {mtu} trailer {signs}"
        );
    }
}

#[test]
fn rejections_name_what_was_expected() {
    assert_eq!(
        Rejected::BadTrailerLength { len: 3 }.to_string(),
        "3 bytes after the VRRP message, expected none or a 28-byte authentication trailer"
    );
    assert_eq!(
        Rejected::Stale {
            skew: ClockSkew(-9),
            window: TimeWindow::new(5).unwrap()
        }
        .to_string(),
        "stale authentication trailer, clock skew -9 s exceeds the 5 s window"
    );
    assert_eq!(
        Rejected::Replayed {
            sequence: Sequence::from_parts(5, 0x8000, 1),
            last: Sequence::from_parts(5, 0x8000, 2)
        }
        .to_string(),
        "replayed authentication trailer, sequence 5.8000#1 not after 5.8000#2"
    );
}

// ---------------------------------------------------------------------------------------------
// Properties
// ---------------------------------------------------------------------------------------------

prop_compose! {
    fn any_binding()(v6 in any::<bool>(), v2 in any::<bool>(), vrid in any::<u8>(),
                     a4 in any::<[u8; 4]>(), a6 in any::<[u8; 16]>()) -> Binding {
        let source = if v6 { IpAddr::from(a6) } else { IpAddr::from(a4) };
        let version = if v2 && !v6 { Version::V2 } else { Version::V3 };
        Binding::new(version, vrid, source)
    }
}

prop_compose! {
    fn any_key()(id in 1u8..=255, secret in prop::collection::vec(any::<u8>(), 32..=64)) -> Key {
        Key::new(id, &secret).unwrap()
    }
}

fn receiver_for(key: &Key) -> HmacConfig {
    config(vec![key.clone()], key.id(), AntiReplay::Monotonic, 5)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn sign_then_verify_always_accepts(
        key in any_key(),
        binding in any_binding(),
        message in prop::collection::vec(any::<u8>(), 8..300),
        seq in any::<u64>(),
    ) {
        let trailer = sign(&key, &binding, &message, Sequence::from_raw(seq)).to_bytes();
        let outcome = verify(
            &receiver_for(&key), &mut ReplayGuard::multicast(), WallClock::new(0, 0),
            &binding, &message, &trailer,
        );
        prop_assert_eq!(
            outcome,
            Ok(Accepted::Verified { key_id: key.id(), sequence: Sequence::from_raw(seq), skew: None })
        );
    }

    #[test]
    fn sign_then_verify_accepts_in_time_mode_with_the_senders_clock(
        key in any_key(),
        binding in any_binding(),
        message in prop::collection::vec(any::<u8>(), 8..64),
        secs in any::<u32>(),
        nanos in 0u32..1_000_000_000,
    ) {
        let now = WallClock::new(u64::from(secs), nanos);
        let cfg = HmacConfig { anti_replay: AntiReplay::Time, ..receiver_for(&key) };
        let mut sender = Authenticator::new(cfg.clone(), ReplayGuard::multicast());
        let trailer = sender.sign(now, &binding, &message).unwrap();
        let outcome = verify(&cfg, &mut ReplayGuard::multicast(), now, &binding, &message, &trailer);
        let verified = matches!(outcome, Ok(Accepted::Verified { skew: Some(ClockSkew(0)), .. }));
        prop_assert!(verified, "{:?}", outcome);
    }

    #[test]
    fn any_single_bit_change_in_message_or_trailer_is_rejected(
        key in any_key(),
        binding in any_binding(),
        message in prop::collection::vec(any::<u8>(), 8..120),
        seq in any::<u64>(),
        bit in any::<prop::sample::Index>(),
    ) {
        let trailer = sign(&key, &binding, &message, Sequence::from_raw(seq)).to_bytes();
        let mut image = [&message[..], &trailer[..]].concat();
        let bit = bit.index(image.len() * 8);
        prop_assume!(!(6..8).contains(&(bit / 8)), "the checksum is read as zero");
        image[bit / 8] ^= 1 << (bit % 8);
        let (m, t) = image.split_at(message.len());
        let outcome = verify(
            &receiver_for(&key), &mut ReplayGuard::multicast(), WallClock::new(0, 0), &binding, m, t,
        );
        prop_assert!(outcome.is_err(), "bit {} flipped: {:?}", bit, outcome);
    }

    #[test]
    fn checksum_bits_are_not_authenticated(
        key in any_key(),
        binding in any_binding(),
        message in prop::collection::vec(any::<u8>(), 8..64),
        checksum in any::<u16>(),
    ) {
        let trailer = sign(&key, &binding, &message, Sequence::from_raw(1)).to_bytes();
        let mut changed = message.clone();
        changed[6..8].copy_from_slice(&checksum.to_be_bytes());
        prop_assert!(verify_mac(&receiver_for(&key).keyring, &binding, &changed, &Trailer::parse(&trailer).unwrap()).is_ok());
    }

    #[test]
    fn another_binding_is_rejected(
        key in any_key(),
        binding in any_binding(),
        other in any_binding(),
        message in prop::collection::vec(any::<u8>(), 8..64),
    ) {
        prop_assume!(binding.pseudo_header() != other.pseudo_header());
        let trailer = sign(&key, &binding, &message, Sequence::from_raw(1));
        prop_assert_eq!(
            verify_mac(&receiver_for(&key).keyring, &other, &message, &trailer),
            Err(Rejected::InvalidMac)
        );
    }
}

#[test]
fn verify_never_panics_on_short_messages() {
    let cfg = vector_config();
    for len in 0..8 {
        let message = vec![0x31; len];
        let trailer = sign(
            &vector_key(),
            &ipv4_binding(),
            &message,
            Sequence::from_raw(1),
        )
        .to_bytes();
        let outcome = verify(
            &cfg,
            &mut ReplayGuard::multicast(),
            WallClock::new(0, 0),
            &ipv4_binding(),
            &message,
            &trailer,
        );
        assert!(outcome.is_ok(), "{len}: {outcome:?}");
    }
    assert_eq!(auth_hmac::PSEUDO_HEADER_LEN, 20);
}
