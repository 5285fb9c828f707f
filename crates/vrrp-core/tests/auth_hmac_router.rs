//! `auth_hmac` through the router: what a router configured with it sends (a trailer on every
//! advert, priority 0 included, none in receive-only) and what it accepts, per mode, counted
//! in its stats and raised as rate-limited notices.

mod common;

use common::{drain, ip, transmits, Out};
use vrrp_core::auth_hmac::{
    AntiReplay, HmacConfig, Key, Keyring, Mode, Outcome, TimeWindow, WallClock, TRAILER_LEN,
};
use vrrp_core::packet::{self, RxMeta};
use vrrp_core::{Input, Instant, Notice, PolicyError, Router, RouterConfig, State};

/// 2026-12-04 12:00:00 UTC.
const EPOCH_SECS: u64 = 1_796_385_600;

fn key(id: u8) -> Key {
    Key::new(id, &[id.wrapping_mul(17) ^ 0x5a; 32]).unwrap()
}

fn hmac(keys: &[u8], active: u8, mode: Mode) -> HmacConfig {
    HmacConfig {
        keyring: Keyring::new(keys.iter().map(|&id| key(id)), active).unwrap(),
        mode,
        anti_replay: AntiReplay::Time,
        time_window: TimeWindow::new(5).unwrap(),
    }
}

fn config(host: &str, priority: u8, auth: Option<HmacConfig>) -> RouterConfig {
    let mut cfg = RouterConfig::new("VI_1", 51, ip(host), vec![ip("192.0.2.100")]);
    cfg.priority = priority;
    cfg.auth_hmac = auth;
    cfg
}

/// A started router whose wall clock reads `EPOCH_SECS + offset_secs` at `Instant::ZERO`.
fn router(host: &str, priority: u8, auth: Option<HmacConfig>, offset_secs: u64) -> Router {
    let mut r = Router::new(config(host, priority, auth)).unwrap();
    r.handle(
        Instant::ZERO,
        Input::WallClock(WallClock::new(EPOCH_SECS + offset_secs, 0)),
    );
    r.handle(Instant::ZERO, Input::Startup);
    drain(&mut r);
    r
}

/// The adverts queued in `r`, as bytes with their receive metadata.
fn sent(r: &mut Router) -> Vec<(Vec<u8>, RxMeta)> {
    let out = transmits(r).into_iter().map(|(b, m, _)| (b, m)).collect();
    drain(r);
    out
}

/// Makes `r` Active through its down timer; returns the adverts of the takeover.
fn take_over(r: &mut Router) -> (Instant, Vec<(Vec<u8>, RxMeta)>) {
    let t = r.poll_timeout().unwrap();
    r.handle_timeout(t);
    assert_eq!(r.state(), State::Active);
    (t, sent(r))
}

fn deliver(
    r: &mut Router,
    now: Instant,
    (bytes, meta): &(Vec<u8>, RxMeta),
) -> Result<(), PolicyError> {
    let adv = packet::parse(bytes, *meta).expect("the advert parses");
    r.handle_advert(now, &adv)
}

fn rejected(outcome: Outcome) -> Result<(), PolicyError> {
    Err(PolicyError::AuthHmac(outcome))
}

fn trailer_len(bytes: &[u8], meta: RxMeta) -> usize {
    packet::parse(bytes, meta).unwrap().trailer().len()
}

#[test]
fn a_signed_advert_round_trips_from_one_router_to_another() {
    let mut a = router("192.0.2.10", 200, Some(hmac(&[1], 1, Mode::Enforce)), 0);
    let mut b = router("192.0.2.11", 100, Some(hmac(&[1], 1, Mode::Enforce)), 0);
    let (t, adverts) = take_over(&mut a);
    assert_eq!(adverts.len(), 1);
    let (bytes, meta) = &adverts[0];
    assert_eq!(trailer_len(bytes, *meta), TRAILER_LEN);
    assert_eq!(deliver(&mut b, t, &adverts[0]), Ok(()));
    assert_eq!(b.stats().auth_hmac_verified, 1);
    assert_eq!(b.stats().adverts_rx, 1);
    assert_eq!(a.stats().auth_hmac_signed_tx, 1);
    assert_eq!(b.state(), State::Backup);
    // The sequence's seconds are the sender's wall clock at the takeover.
    let seconds = u32::from_be_bytes(
        bytes[bytes.len() - 24..bytes.len() - 20]
            .try_into()
            .unwrap(),
    );
    let expected = EPOCH_SECS + (t - Instant::ZERO).as_micros() / 1_000_000;
    assert_eq!(u64::from(seconds), expected & 0xffff_ffff);
}

#[test]
fn the_priority_zero_advert_is_signed_and_accepted() {
    let mut a = router("192.0.2.10", 200, Some(hmac(&[1], 1, Mode::Enforce)), 0);
    let mut b = router("192.0.2.11", 100, Some(hmac(&[1], 1, Mode::Enforce)), 0);
    let (t, adverts) = take_over(&mut a);
    deliver(&mut b, t, &adverts[0]).unwrap();
    let later = t + vrrp_core::Duration::from_millis(500);
    a.handle(later, Input::Shutdown);
    let leaving = sent(&mut a);
    assert_eq!(leaving.len(), 1);
    let (bytes, meta) = &leaving[0];
    assert_eq!(packet::parse(bytes, *meta).unwrap().priority, 0);
    assert_eq!(trailer_len(bytes, *meta), TRAILER_LEN);
    assert_eq!(deliver(&mut b, later, &leaving[0]), Ok(()));
    assert_eq!(b.stats().priority_zero_rx, 1);
    assert_eq!(b.stats().auth_hmac_verified, 2);
}

#[test]
fn a_replayed_advert_is_rejected_counted_and_noticed() {
    let mut a = router("192.0.2.10", 200, Some(hmac(&[1], 1, Mode::Enforce)), 0);
    let mut b = router("192.0.2.11", 100, Some(hmac(&[1], 1, Mode::Enforce)), 0);
    let (t, adverts) = take_over(&mut a);
    deliver(&mut b, t, &adverts[0]).unwrap();
    drain(&mut b);
    assert_eq!(deliver(&mut b, t, &adverts[0]), rejected(Outcome::Replayed));
    assert_eq!(b.stats().auth_hmac_replayed, 1);
    assert_eq!(b.stats().rx_auth_errors, 1);
    assert_eq!(b.stats().adverts_rx, 1, "a rejected advert is not received");
    let out = drain(&mut b);
    assert!(
        out.iter().any(|o| matches!(
            o,
            Out::Notice(Notice::AuthRejected {
                outcome: Outcome::Replayed,
                ..
            })
        )),
        "{out:?}"
    );
    // Rate-limited: a second replay at once is counted but not noticed again.
    assert_eq!(deliver(&mut b, t, &adverts[0]), rejected(Outcome::Replayed));
    assert_eq!(b.stats().auth_hmac_replayed, 2);
    assert!(!drain(&mut b).iter().any(|o| matches!(o, Out::Notice(_))));
}

#[test]
fn a_stale_advert_is_rejected_and_the_skew_is_reported() {
    let mut a = router("192.0.2.10", 200, Some(hmac(&[1], 1, Mode::Enforce)), 0);
    // The receiver's clock is 30 s ahead: outside the 5 s window.
    let mut b = router("192.0.2.11", 100, Some(hmac(&[1], 1, Mode::Enforce)), 30);
    let (t, adverts) = take_over(&mut a);
    assert_eq!(deliver(&mut b, t, &adverts[0]), rejected(Outcome::Stale));
    assert_eq!(b.stats().auth_hmac_stale, 1);
    let out = drain(&mut b);
    assert!(
        out.iter().any(|o| matches!(
            o,
            Out::Notice(Notice::AuthRejected {
                outcome: Outcome::Stale,
                skew_secs: Some(30..=31),
                ..
            })
        )),
        "{out:?}"
    );
    // 3 s ahead: inside the window but past its half, accepted with a skew notice.
    let mut c = router("192.0.2.12", 100, Some(hmac(&[1], 1, Mode::Enforce)), 3);
    assert_eq!(deliver(&mut c, t, &adverts[0]), Ok(()));
    let out = drain(&mut c);
    assert!(
        out.iter()
            .any(|o| matches!(o, Out::Notice(Notice::AuthClockSkew { window_secs: 5, .. }))),
        "{out:?}"
    );
}

/// What a receiver in each mode does with an advert that carries no trailer, a valid one, and
/// one signed with another key; and whether a sender in each mode signs. keepalived 2.4.3's
/// table: enforce drops the unsigned; the two migration modes accept it; every mode drops a
/// trailer that does not verify; receive-only sends no trailer.
#[test]
fn mode_table() {
    // (mode, unsigned, valid, wrong key, signs)
    let table = [
        (
            Mode::Enforce,
            rejected(Outcome::Missing),
            Ok(()),
            rejected(Outcome::InvalidMac),
            true,
        ),
        (
            Mode::Permissive,
            Ok(()),
            Ok(()),
            rejected(Outcome::InvalidMac),
            true,
        ),
        (
            Mode::ReceiveOnly,
            Ok(()),
            Ok(()),
            rejected(Outcome::InvalidMac),
            false,
        ),
    ];
    for (mode, unsigned, valid, wrong, signs) in table {
        let mut unsigned_sender = router("192.0.2.10", 200, None, 0);
        let mut signer = router("192.0.2.10", 200, Some(hmac(&[1], 1, Mode::Enforce)), 0);
        let other_key = HmacConfig {
            keyring: Keyring::new([Key::new(1, &[0xee; 32]).unwrap()], 1).unwrap(),
            ..hmac(&[1], 1, Mode::Enforce)
        };
        let mut forger = router("192.0.2.10", 200, Some(other_key), 0);
        let (t, plain) = take_over(&mut unsigned_sender);
        let (_, good) = take_over(&mut signer);
        let (_, bad) = take_over(&mut forger);

        let mut b = router("192.0.2.11", 100, Some(hmac(&[1], 1, mode)), 0);
        assert_eq!(deliver(&mut b, t, &plain[0]), unsigned, "{mode:?} unsigned");
        assert_eq!(deliver(&mut b, t, &good[0]), valid, "{mode:?} valid");
        assert_eq!(deliver(&mut b, t, &bad[0]), wrong, "{mode:?} wrong key");
        let stats = b.stats();
        assert_eq!(stats.auth_hmac_verified, 1, "{mode:?}");
        assert_eq!(stats.auth_hmac_invalid, 1, "{mode:?}");
        assert_eq!(
            (stats.auth_hmac_missing, stats.auth_hmac_unsigned),
            if mode == Mode::Enforce {
                (1, 0)
            } else {
                (0, 1)
            },
            "{mode:?}"
        );

        let (_, own) = take_over(&mut router("192.0.2.12", 100, Some(hmac(&[1], 1, mode)), 0));
        let (bytes, meta) = &own[0];
        let expected = if signs { TRAILER_LEN } else { 0 };
        assert_eq!(trailer_len(bytes, *meta), expected, "{mode:?} sends");
    }
}

#[test]
fn a_forged_unsigned_priority_255_advert_leaves_an_enforcing_active_active() {
    let mut a = router("192.0.2.10", 150, Some(hmac(&[1], 1, Mode::Enforce)), 0);
    let (t, _) = take_over(&mut a);
    // The owner's priority, unsigned: the owner takes over at startup.
    let mut forger = Router::new(config("192.0.2.66", 255, None)).unwrap();
    forger.handle(t, Input::Startup);
    let forged = sent(&mut forger);
    assert_eq!(
        packet::parse(&forged[0].0, forged[0].1).unwrap().priority,
        255
    );
    assert_eq!(deliver(&mut a, t, &forged[0]), rejected(Outcome::Missing));
    assert_eq!(a.state(), State::Active);
    assert_eq!(a.stats().auth_hmac_missing, 1);
}

/// Make before break: the receiver learns key 2 while the sender signs with key 1; the sender
/// moves to `active_key 2`; the receiver drops key 1. Every advert verifies, no transition,
/// and a reload keeps the replay marks (an advert from before it is still a replay).
#[test]
fn key_rotation_with_active_key_keeps_the_backup_following() {
    let mut a = router("192.0.2.10", 200, Some(hmac(&[1], 1, Mode::Enforce)), 0);
    let mut b = router("192.0.2.11", 100, Some(hmac(&[1], 1, Mode::Enforce)), 0);
    let (mut t, first) = take_over(&mut a);
    deliver(&mut b, t, &first[0]).unwrap();

    let step = |t: Instant| t + vrrp_core::Duration::from_secs(1);
    let advert = |a: &mut Router, t: Instant| {
        a.handle_timeout(t);
        let adverts = sent(a);
        assert_eq!(adverts.len(), 1, "one advert at {t:?}");
        adverts.into_iter().next().unwrap()
    };

    // 1. The receiver learns key 2.
    b.reconfigure(
        t,
        config("192.0.2.11", 100, Some(hmac(&[1, 2], 1, Mode::Enforce))),
    )
    .unwrap();
    assert_eq!(deliver(&mut b, t, &first[0]), rejected(Outcome::Replayed));
    t = step(t);
    let adv = advert(&mut a, t);
    assert_eq!(deliver(&mut b, t, &adv), Ok(()));

    // 2. The sender signs with key 2.
    a.reconfigure(
        t,
        config("192.0.2.10", 200, Some(hmac(&[1, 2], 2, Mode::Enforce))),
    )
    .unwrap();
    t = step(t);
    let adv = advert(&mut a, t);
    assert_eq!(
        adv.0[adv.0.len() - TRAILER_LEN + 1],
        2,
        "key id 2 on the wire"
    );
    assert_eq!(deliver(&mut b, t, &adv), Ok(()));

    // 3. Both drop key 1.
    b.reconfigure(
        t,
        config("192.0.2.11", 100, Some(hmac(&[2], 2, Mode::Enforce))),
    )
    .unwrap();
    a.reconfigure(
        t,
        config("192.0.2.10", 200, Some(hmac(&[2], 2, Mode::Enforce))),
    )
    .unwrap();
    t = step(t);
    let adv = advert(&mut a, t);
    assert_eq!(deliver(&mut b, t, &adv), Ok(()));

    assert_eq!(b.stats().auth_hmac_verified, 4);
    assert_eq!(b.stats().transitions, 1, "Initialize to Backup only");
    assert_eq!(
        a.stats().transitions,
        2,
        "Initialize to Backup to Active only"
    );
    assert_eq!(b.state(), State::Backup);
    assert_eq!(a.state(), State::Active);
    // A key 1 advert is now an unknown key.
    let mut old = router("192.0.2.10", 200, Some(hmac(&[1], 1, Mode::Enforce)), 0);
    let (_, stale_key) = take_over(&mut old);
    assert_eq!(
        deliver(&mut b, t, &stale_key[0]),
        rejected(Outcome::UnknownKey)
    );
    assert_eq!(b.stats().auth_hmac_unknown_key, 1);
}

#[test]
fn legacy_authentication_and_auth_hmac_are_exclusive() {
    let mut cfg = config("192.0.2.10", 100, Some(hmac(&[1], 1, Mode::Enforce)));
    cfg.version = vrrp_core::VersionMode::V2;
    cfg.auth = vrrp_core::Auth::password("secret");
    assert_eq!(
        Router::new(cfg).unwrap_err(),
        vrrp_core::ConfigError::AuthHmacWithAuth
    );
}

#[test]
fn an_unsigned_router_ignores_no_trailer_and_signs_nothing() {
    let mut a = router("192.0.2.10", 200, None, 0);
    let (_, adverts) = take_over(&mut a);
    let (bytes, meta): &(Vec<u8>, RxMeta) = &adverts[0];
    assert_eq!(trailer_len(bytes, *meta), 0);
    assert_eq!(a.stats().auth_hmac_signed_tx, 0);
}

mod property {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]

        /// For any key, priority pair and advert count: every advert the Active sends verifies
        /// at the Backup exactly once (a second delivery of any of them is a replay), and one
        /// flipped bit anywhere in message or trailer is rejected.
        #[test]
        fn every_advert_verifies_once_and_any_bit_flip_is_rejected(
            secret in proptest::collection::vec(any::<u8>(), 32..=64),
            key_id in 1u8..=255,
            priorities in (101u8..=254, 1u8..=100),
            count in 1usize..8,
            flip in any::<proptest::sample::Index>(),
        ) {
            let cfg = HmacConfig {
                keyring: Keyring::new([Key::new(key_id, &secret).unwrap()], key_id).unwrap(),
                mode: Mode::Enforce,
                anti_replay: AntiReplay::Time,
                time_window: TimeWindow::new(5).unwrap(),
            };
            let mut a = router("192.0.2.10", priorities.0, Some(cfg.clone()), 0);
            let mut b = router("192.0.2.11", priorities.1, Some(cfg), 0);
            // Each advert with the time it was sent, delivered then and replayed at once.
            let (t0, first) = take_over(&mut a);
            let mut adverts: Vec<_> = first.into_iter().map(|adv| (adv, t0)).collect();
            // Deadlines other than the advert timer's (announcements) send nothing.
            while adverts.len() < count {
                let t = a.poll_timeout().unwrap();
                a.handle_timeout(t);
                adverts.extend(sent(&mut a).into_iter().map(|adv| (adv, t)));
            }
            for (adv, t) in &adverts {
                prop_assert_eq!(deliver(&mut b, *t, adv), Ok(()));
                prop_assert_eq!(deliver(&mut b, *t, adv), rejected(Outcome::Replayed));
            }
            // Replayed later, at the time of the last: a replay, or past the window.
            let (last, t) = adverts.last().unwrap().clone();
            for (adv, _) in &adverts {
                let got = deliver(&mut b, t, adv);
                let expected = [rejected(Outcome::Replayed), rejected(Outcome::Stale)];
                prop_assert!(expected.contains(&got), "{:?}", got);
            }
            // A fresh receiver, one bit flipped in the last advert (not in the checksum,
            // which the HMAC does not cover and the codec checks first).
            let mut c = router("192.0.2.12", priorities.1, b.config().auth_hmac.clone(), 0);
            let (bytes, meta) = &last;
            let positions: Vec<usize> = (0..bytes.len()).filter(|&i| i != 6 && i != 7).collect();
            let at = positions[flip.index(positions.len())];
            let mut altered = bytes.clone();
            altered[at] ^= 1;
            match packet::parse(&altered, *meta) {
                Err(_) => {} // the codec already refuses it (checksum, fields)
                Ok(adv) => prop_assert!(c.handle_advert(t, &adv).is_err(), "flip at {}", at),
            }
            prop_assert_eq!(deliver(&mut c, t, &last), Ok(()));
        }
    }
}
