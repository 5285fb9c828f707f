//! Replays the fuzz targets' bodies on a deterministic corpus, so that the stable `cargo test`
//! exercises them. The bodies are those of `fuzz/src/lib.rs`, included here as a module; the
//! inputs come from a seeded pseudo-random generator, half as raw bytes decoded with
//! `arbitrary` (as libFuzzer feeds them), half built field by field to reach deeper paths.

#[path = "../fuzz/src/lib.rs"]
mod bodies;

use core::net::IpAddr;

use arbitrary::{Arbitrary, Unstructured};
use bodies::*;
use vrrp_core::auth_hmac::{self, Binding, SendSequence, WallClock};
use vrrp_core::packet::{self, AdvertSpec, AuthType, ChecksumForm, Version};

/// SplitMix64: small, fast, deterministic.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }

    fn u8(&mut self) -> u8 {
        self.next() as u8
    }

    fn u16(&mut self) -> u16 {
        self.next() as u16
    }

    fn u32(&mut self) -> u32 {
        self.next() as u32
    }

    fn chance(&mut self, one_in: u64) -> bool {
        self.below(one_in) == 0
    }

    fn bool(&mut self) -> bool {
        self.chance(2)
    }

    fn bytes(&mut self, len: usize) -> Vec<u8> {
        (0..len).map(|_| self.u8()).collect()
    }

    fn array<const N: usize>(&mut self) -> [u8; N] {
        core::array::from_fn(|_| self.u8())
    }

    fn opt<T>(&mut self, f: impl FnOnce(&mut Self) -> T) -> Option<T> {
        self.bool().then(|| f(self))
    }
}

/// A valid advert built from random fields, then perhaps damaged and checksum-patched.
fn structured_decode_input(rng: &mut Rng) -> DecodeInput {
    let v6 = rng.bool();
    let version = if !v6 && rng.chance(3) {
        Version::V2
    } else {
        Version::V3
    };
    let count = if rng.chance(50) {
        255
    } else {
        1 + rng.below(6) as usize
    };
    let addrs: Vec<IpAddr> = (0..count)
        .map(|i| {
            if v6 {
                let mut a: [u8; 16] = rng.array();
                if i == 0 && !rng.chance(10) {
                    a[0] = 0xfe;
                    a[1] = 0x80;
                }
                IpAddr::from(a)
            } else {
                IpAddr::from(rng.array::<4>())
            }
        })
        .collect();
    let meta = if v6 {
        MetaInput::V6 {
            src: rng.array(),
            dst: rng.array(),
            ttl: rng.u8(),
        }
    } else {
        MetaInput::V4 {
            src: rng.array(),
            dst: rng.array(),
            ttl: rng.u8(),
        }
    };
    let m = meta.meta();
    let spec = AdvertSpec {
        version,
        vrid: rng.u8(),
        priority: rng.u8(),
        interval_cs: rng.u16(),
        addrs: &addrs,
        checksum_form: if rng.bool() {
            ChecksumForm::Rfc9568
        } else {
            ChecksumForm::PseudoHeader
        },
        auth_type: [AuthType::None, AuthType::Password, AuthType::Ah][rng.below(3) as usize],
        auth_data: rng.array(),
    };
    let mut buf = vec![0u8; 8 + 255 * 16 + 8];
    let len = packet::build(&spec, m.src, m.dst, &mut buf).expect("valid spec");
    buf.truncate(len);
    let trailing = rng.below(5) as usize;
    buf.extend(rng.bytes(trailing));
    if rng.chance(8) {
        buf.truncate(rng.below(buf.len() as u64 + 1) as usize);
    }
    if !buf.is_empty() && rng.bool() {
        for _ in 0..1 + rng.below(3) {
            let i = rng.below(buf.len() as u64) as usize;
            buf[i] = rng.u8();
        }
    }
    let fix = match rng.below(4) {
        0 => Some(ChecksumFix::MessageOnly),
        1 => Some(ChecksumFix::PseudoHeader),
        _ => None,
    };
    DecodeInput {
        meta,
        fix,
        payload: buf,
    }
}

#[test]
fn decode_replay() {
    let mut rng = Rng(0x5eed_0001);
    let mut parsed = 0;
    for _ in 0..2_000 {
        let len = rng.below(600) as usize;
        let data = rng.bytes(len);
        let mut u = Unstructured::new(&data);
        if let Ok(input) = DecodeInput::arbitrary(&mut u) {
            parsed += usize::from(decode(&input));
        }
    }
    for _ in 0..3_000 {
        let input = structured_decode_input(&mut rng);
        parsed += usize::from(decode(&input));
    }
    // Most structured inputs are intact or repaired: the round trip must have run often.
    assert!(parsed > 1_000, "only {parsed} inputs parsed");
}

/// An `authenticate` input around a structured packet: as `decode`'s, or with 28 random bytes
/// after the message, or signed by the receiver's own key (so the verified path runs too).
fn structured_auth_input(rng: &mut Rng) -> AuthInput {
    let mut input = AuthInput {
        packet: structured_decode_input(rng),
        secret: rng.array(),
        key_id: rng.u8(),
        mode: rng.u8(),
        time: rng.bool(),
        window: rng.u16(),
        now_secs: rng.u32(),
        now_nanos: rng.u32(),
        flip_bit: rng.u16(),
    };
    let meta = input.packet.meta.meta();
    let config = input.config();
    let now = WallClock::new(u64::from(input.now_secs), input.now_nanos);
    let packet = &mut input.packet;
    let message_len = packet::parse(&packet.payload, meta)
        .map(|adv| adv.message().len())
        .ok();
    match (rng.below(3), message_len) {
        (0, Some(len)) => {
            packet.payload.truncate(len);
            packet.payload.extend(rng.bytes(auth_hmac::TRAILER_LEN));
        }
        (1, Some(len)) => {
            let adv = packet::parse(&packet.payload[..len], meta).expect("parsed above");
            let binding = Binding::new(adv.version, adv.vrid, meta.src);
            let sequence = SendSequence::new().next(now, config.anti_replay, config.time_window);
            let trailer =
                auth_hmac::sign(config.keyring.active(), &binding, adv.message(), sequence);
            let mut signed = adv.message().to_vec();
            signed.extend(trailer.to_bytes());
            packet.payload = signed;
        }
        _ => {}
    }
    input
}

#[test]
fn authenticate_replay() {
    let mut rng = Rng(0x5eed_0003);
    let mut parsed = 0;
    for _ in 0..1_000 {
        let len = rng.below(700) as usize;
        let data = rng.bytes(len);
        let mut u = Unstructured::new(&data);
        if let Ok(input) = AuthInput::arbitrary(&mut u) {
            parsed += usize::from(authenticate(&input));
        }
    }
    for _ in 0..2_000 {
        let input = structured_auth_input(&mut rng);
        parsed += usize::from(authenticate(&input));
    }
    assert!(parsed > 800, "only {parsed} inputs parsed");
}

fn structured_config(rng: &mut Rng) -> ConfigInput {
    let ipv6 = rng.chance(3);
    ConfigInput {
        vrid: 1 + rng.below(3) as u8,
        ipv6,
        mode: if ipv6 {
            ModeInput::V3
        } else {
            [ModeInput::V2, ModeInput::V3, ModeInput::V2V3][rng.below(3) as usize]
        },
        priority: [1, 50, 100, 100, 150, 254, 255][rng.below(7) as usize],
        interval_cs: [1, 5, 100, 100, 300, 4095][rng.below(6) as usize],
        preempt: !rng.chance(4),
        preempt_delay_ms: if rng.chance(3) { rng.u16() % 10_000 } else { 0 },
        accept_mode: rng.bool(),
        primary: rng.u8(),
        vips: (0..1 + rng.below(3)).map(|_| rng.u8()).collect(),
        peers: if rng.chance(4) {
            (0..1 + rng.below(2))
                .map(|_| PeerInput {
                    addr: rng.u8(),
                    min_ttl: rng.opt(Rng::u8),
                    max_ttl: rng.opt(Rng::u8),
                })
                .collect()
        } else {
            Vec::new()
        },
        check_unicast_src: rng.bool(),
        rfc9568_checksum: rng.bool(),
        password: if rng.chance(4) {
            Some(rng.array())
        } else {
            None
        },
        down_timer_adverts: 1 + rng.below(4) as u8,
        lower_prio_no_advert: rng.chance(4),
        higher_prio_send_advert: rng.chance(4),
        announce: AnnounceInput {
            burst_count: rng.u8(),
            burst_spacing_ms: if rng.bool() { 0 } else { rng.u16() % 500 },
            second_burst_delay_ms: rng.opt(|r| r.u16() % 6_000),
            refresh_interval_ms: rng.opt(|r| r.u16() % 20_000),
            refresh_count: rng.u8(),
            lower_prio_count: rng.u8(),
            lower_prio_min_gap_ms: rng.u16() % 2_000,
            lower_prio_delay_ms: rng.opt(|r| r.u16() % 6_000),
            extra_interval_ms: rng.opt(|r| r.u16() % 3_000),
        },
        trackers: (0..rng.below(3))
            .map(|_| TrackerInput {
                weight: [0, 10, -10, 50, -50, 200, -254][rng.below(7) as usize],
                reverse: rng.chance(4),
                value: rng.chance(4),
            })
            .collect(),
        extras: if rng.chance(3) { rng.u8() } else { 0 },
    }
}

fn structured_event(rng: &mut Rng) -> Event {
    // Weighted so that the router spends most of its time running and hearing adverts.
    match rng.below(40) {
        0 => Event::Startup,
        1 => Event::Shutdown,
        2 | 3 => Event::LinkUp,
        4 => Event::LinkDown,
        5 | 6 => Event::Tracker {
            id: rng.u8() % 3,
            state: match rng.below(6) {
                0 => TrackStateInput::Unknown,
                1 => TrackStateInput::Down,
                2 => TrackStateInput::Value(rng.below(7) as i64 - 3),
                _ => TrackStateInput::Up,
            },
        },
        7 => Event::SetPriority(rng.u8()),
        8 => Event::PrimaryAddress(rng.u8(), rng.chance(5)),
        9 => Event::VipLost(rng.u8()),
        39 if rng.chance(4) => Event::SourceAddress(!rng.chance(3)),
        38 if rng.chance(3) => Event::AddressConflict(rng.u8(), rng.array()),
        10 => Event::Sync(match rng.below(4) {
            0 => SyncInput::BecomeActive,
            1 => SyncInput::BecomeBackup,
            2 => SyncInput::Fault(rng.chance(4)),
            _ => SyncInput::Fault(false),
        }),
        11..=26 => Event::Advert(AdvertInput {
            v2: rng.chance(6),
            vrid: if rng.chance(8) { Some(rng.u8()) } else { None },
            priority: [0, 1, 100, 100, 150, 254, 255][rng.below(7) as usize],
            interval_cs: if rng.chance(4) {
                Some(rng.u16() % 500)
            } else {
                None
            },
            src: rng.u8(),
            other_family: rng.chance(10),
            unicast_dst: if rng.chance(4) { Some(rng.u8()) } else { None },
            ttl: if rng.chance(8) { Some(rng.u8()) } else { None },
            addrs: if rng.chance(4) {
                Some((0..rng.below(4)).map(|_| rng.u8()).collect())
            } else {
                None
            },
            rfc9568_checksum: rng.bool(),
            auth: if rng.chance(8) {
                Some((rng.u8(), rng.array()))
            } else {
                None
            },
        }),
        27..=29 => Event::Advance {
            micros: rng.u32() % 5_000_000,
        },
        30..=33 => Event::Timeout {
            micros: rng.u32() % 3_000_000,
        },
        34..=36 => Event::ExpireNext,
        _ => Event::Spurious,
    }
}

#[test]
fn router_sequence_replay() {
    let mut rng = Rng(0x5eed_0002);
    let (mut ran, mut accepted, mut active, mut released) = (0u64, 0, 0, 0);
    let mut tally = |o: SequenceOutcome| {
        ran += u64::from(o.ran);
        accepted += o.adverts_accepted;
        active += o.became_active;
        released += o.released_active;
    };
    for _ in 0..2_000 {
        let len = 64 + rng.below(4_000) as usize;
        let data = rng.bytes(len);
        let mut u = Unstructured::new(&data);
        if let Ok(input) = SequenceInput::arbitrary(&mut u) {
            tally(router_sequence(&input));
        }
    }
    for _ in 0..2_000 {
        let input = SequenceInput {
            config: structured_config(&mut rng),
            start: rng.u32(),
            events: core::iter::once(Event::Startup)
                .chain((0..rng.below(250)).map(|_| structured_event(&mut rng)))
                .collect(),
        };
        tally(router_sequence(&input));
    }
    eprintln!("{ran} ran, {accepted} adverts accepted, {active} Active, {released} released");
    assert!(ran > 1_000, "only {ran} sequences had a valid config");
    assert!(accepted > 5_000, "only {accepted} adverts accepted");
    assert!(
        active > 500 && released > 200,
        "{active} became Active, {released} released"
    );
}
