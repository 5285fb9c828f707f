//! Codec conformance: the checklist's test vectors V1-V4, I1-I3, E1-E5 and the receive/transmit
//! checks R24-R37 that the codec decides. Test names carry the requirement or vector id.

mod common;

use common::*;
use vrrp_core::packet::{self, AdvertSpec, AuthType, ChecksumForm, RxError, RxMeta, Version};
use vrrp_core::{PolicyError, Router};

const V1_RFC9568: &str = "45c0002000000000ff701891c000020ae0000012310164010064a897c0000201";
const V1_PSEUDO: &str = "45c0002000000000ff701891c000020ae000001231016401006405fec0000201";
const V2_RFC9568: &str = "45c0002400000000ff70d0960a000001e0000012310aff020032bbbd0a0000010a000002";
const V2_PSEUDO: &str = "45c0002400000000ff70d0960a000001e0000012310aff020032d1290a0000010a000002";
const V3_FULL: &str =
    "6c000000002870fffe80000000000000a8bbccfffeddeeffff0200000000000000000000000000123101640200\
64dc94fe80000000000000000000000000000120010db8000000000000000000000001";
const V4_FULL: &str =
    "6c000000002870fffe80000000000000a8bbccfffeddeeffff0200000000000000000000000000123101000200\
644095fe80000000000000000000000000000120010db8000000000000000000000001";

/// (vrid, priority, interval, checksum form, addresses) of a parsed vector.
type Parsed = (u8, u8, u16, Option<ChecksumForm>, Vec<std::net::IpAddr>);

fn parse_full(hexpkt: &str) -> Result<Parsed, RxError> {
    let (payload, meta) = split_ip(&hex(hexpkt));
    let adv = packet::parse(&payload, meta)?;
    Ok((
        adv.vrid,
        adv.priority,
        adv.interval_cs,
        adv.checksum_form,
        adv.addrs.iter().collect(),
    ))
}

fn build_bytes(spec: &AdvertSpec<'_>, src: &str, dst: &str) -> Vec<u8> {
    let mut buf = [0u8; 256];
    let n = packet::build(spec, ip(src), ip(dst), &mut buf).unwrap();
    buf[..n].to_vec()
}

fn spec<'a>(
    vrid: u8,
    priority: u8,
    interval_cs: u16,
    addrs: &'a [std::net::IpAddr],
    form: ChecksumForm,
) -> AdvertSpec<'a> {
    AdvertSpec {
        version: Version::V3,
        vrid,
        priority,
        interval_cs,
        addrs,
        checksum_form: form,
        auth_type: AuthType::None,
        auth_data: [0; 8],
    }
}

#[test]
fn v1_ipv4_both_checksum_forms_parse_and_report_their_form() {
    let vip = ip("192.0.2.1");
    assert_eq!(
        parse_full(V1_RFC9568).unwrap(),
        (1, 100, 100, Some(ChecksumForm::Rfc9568), vec![vip])
    );
    assert_eq!(
        parse_full(V1_PSEUDO).unwrap(),
        (1, 100, 100, Some(ChecksumForm::PseudoHeader), vec![vip])
    );
}

#[test]
fn v1_build_matches_the_vector_in_both_forms() {
    let vips = [ip("192.0.2.1")];
    let rfc = build_bytes(
        &spec(1, 100, 100, &vips, ChecksumForm::Rfc9568),
        "192.0.2.10",
        "224.0.0.18",
    );
    assert_eq!(rfc, hex("310164010064a897c0000201"));
    let ph = build_bytes(
        &spec(1, 100, 100, &vips, ChecksumForm::PseudoHeader),
        "192.0.2.10",
        "224.0.0.18",
    );
    assert_eq!(ph, hex("31016401006405fec0000201"));
}

#[test]
fn v1_backup_at_equal_priority_accepts_and_rearms_to_360_cs() {
    let mut r = started(v4_config(100), ms(0));
    let (payload, meta) = split_ip(&hex(V1_RFC9568));
    let adv = packet::parse(
        &payload,
        RxMeta {
            src: ip("192.0.2.20"),
            ..meta
        },
    );
    // The vector's source is the router's own address; use a peer source with the same bytes'
    // checksum form (RFC 9568 form is independent of addresses).
    let adv = adv.unwrap();
    r.handle_advert(ms(1000), &adv).unwrap();
    assert_eq!(
        r.poll_timeout(),
        Some(ms(1000) + cs(360) + vrrp_core::Duration::from_micros(9_375))
    );
    assert_eq!(r.active_down_interval().as_centis(), 360);
}

#[test]
fn v2_owner_vector_parses_and_builds_in_both_forms() {
    let vips = [ip("10.0.0.1"), ip("10.0.0.2")];
    assert_eq!(
        parse_full(V2_RFC9568).unwrap(),
        (10, 255, 50, Some(ChecksumForm::Rfc9568), vips.to_vec())
    );
    assert_eq!(
        parse_full(V2_PSEUDO).unwrap(),
        (10, 255, 50, Some(ChecksumForm::PseudoHeader), vips.to_vec())
    );
    let rfc = build_bytes(
        &spec(10, 255, 50, &vips, ChecksumForm::Rfc9568),
        "10.0.0.1",
        "224.0.0.18",
    );
    assert_eq!(&rfc[6..8], &[0xbb, 0xbd]);
    let ph = build_bytes(
        &spec(10, 255, 50, &vips, ChecksumForm::PseudoHeader),
        "10.0.0.1",
        "224.0.0.18",
    );
    assert_eq!(&ph[6..8], &[0xd1, 0x29]);
}

#[test]
fn v3_ipv6_vector_parses_and_builds_with_the_rfc8200_pseudo_header() {
    let addrs = [ip("fe80::1"), ip("2001:db8::1")];
    assert_eq!(
        parse_full(V3_FULL).unwrap(),
        (1, 100, 100, None, addrs.to_vec())
    );
    let bytes = build_bytes(
        &spec(1, 100, 100, &addrs, ChecksumForm::Rfc9568),
        "fe80::a8bb:ccff:fedd:eeff",
        "ff02::12",
    );
    assert_eq!(
        &bytes[6..8],
        &[0xdc, 0x94],
        "IPv6 always uses the pseudo-header, whatever the IPv4 form"
    );
    let (payload, _) = split_ip(&hex(V3_FULL));
    assert_eq!(bytes, payload);
}

#[test]
fn v4_ipv6_shutdown_vector_sets_backup_down_timer_to_skew() {
    assert_eq!(parse_full(V4_FULL).unwrap().1, 0);
    let mut cfg = v6_config(100);
    cfg.primary_addr = ip("fe80::10");
    let mut r = started(cfg, ms(0));
    let (payload, meta) = split_ip(&hex(V4_FULL));
    let adv = packet::parse(&payload, meta).unwrap();
    r.handle_advert(ms(500), &adv).unwrap();
    // Skew at local priority 100, interval 100 cs: 60.9375 cs (integer 60).
    assert_eq!((r.poll_timeout().unwrap() - ms(500)).as_centis(), 60);
}

#[test]
fn i1_r28_bad_checksum_is_rejected_under_both_forms() {
    assert_eq!(
        parse_full("45c0002000000000ff701891c000020ae0000012310164010064a896c0000201"),
        Err(RxError::Checksum)
    );
}

#[test]
fn i2_r24_ttl_254_is_discarded_by_a_multicast_router() {
    let (payload, meta) = split_ip(&hex(
        "45c0002000000000fe701991c000020ae0000012310164010064a897c0000201",
    ));
    assert_eq!(meta.ttl, 254);
    let adv = packet::parse(
        &payload,
        RxMeta {
            src: ip("192.0.2.20"),
            ..meta
        },
    )
    .unwrap();
    let mut r = started(v4_config(100), ms(0));
    let before = r.poll_timeout();
    assert_eq!(r.handle_advert(ms(10), &adv), Err(PolicyError::Ttl(254)));
    assert_eq!(r.poll_timeout(), before, "no FSM input");
    assert_eq!(r.stats().rx_ttl_errors, 1);
}

#[test]
fn i3_r25_vrrpv2_advert_is_discarded_by_a_v3_router() {
    let (payload, meta) = split_ip(&hex(
        "45c0002800000000ff701889c000020ae0000012210164010001b8fac00002010000000000000000",
    ));
    let adv = packet::parse(
        &payload,
        RxMeta {
            src: ip("192.0.2.20"),
            ..meta
        },
    )
    .unwrap();
    assert_eq!(adv.version, Version::V2);
    assert_eq!(adv.interval_cs, 100, "1 s converts to 100 cs");
    let mut r = started(v4_config(100), ms(0));
    assert_eq!(r.handle_advert(ms(10), &adv), Err(PolicyError::Version));
    assert_eq!(r.stats().rx_version_errors, 1, "counted as a version error");
}

#[test]
fn i3b_r25_version_nibble_2_with_v3_layout_is_discarded() {
    let meta = RxMeta {
        src: ip("192.0.2.10"),
        dst: ip("224.0.0.18"),
        ttl: 255,
        ifindex: 1,
    };
    // As VRRPv2 this 12-byte packet lacks the 8 auth bytes.
    let err = packet::parse(&hex("210164010064b897c0000201"), meta).unwrap_err();
    assert!(matches!(err, RxError::TooShort { .. }), "{err:?}");
}

fn rfc9568_meta() -> RxMeta {
    RxMeta {
        src: ip("192.0.2.10"),
        dst: ip("224.0.0.18"),
        ttl: 255,
        ifindex: 1,
    }
}

#[test]
fn e1_r32_interval_zero_is_discarded() {
    assert_eq!(
        packet::parse(&hex("310164010000a8fbc0000201"), rfc9568_meta()),
        Err(RxError::ZeroInterval)
    );
}

#[test]
fn e2_r31_count_zero_is_discarded() {
    assert_eq!(
        packet::parse(&hex("3101640000646a9a"), rfc9568_meta()),
        Err(RxError::ZeroCount)
    );
}

#[test]
fn e3_r36_reserve_nibble_is_ignored() {
    let bytes = hex("31016401f064b896c0000201");
    let adv = packet::parse(&bytes, rfc9568_meta()).unwrap();
    assert_eq!(adv.interval_cs, 100);
}

#[test]
fn e4_r26_type_2_is_discarded() {
    assert_eq!(
        packet::parse(&hex("320164010064a797c0000201"), rfc9568_meta()),
        Err(RxError::BadType(2))
    );
}

#[test]
fn e5_r33_ipv6_list_with_global_first_is_discarded() {
    let meta = RxMeta {
        src: ip("fe80::a8bb:ccff:fedd:eeff"),
        dst: ip("ff02::12"),
        ttl: 255,
        ifindex: 1,
    };
    let bytes =
        hex("310164020064dc9420010db8000000000000000000000001fe800000000000000000000000000001");
    let adv = packet::parse(&bytes, meta).expect("well-formed: the check is the router's");
    let mut cfg = v6_config(100);
    cfg.primary_addr = ip("fe80::10");
    let mut r = started(cfg.clone(), ms(0));
    assert_eq!(
        r.handle_advert(ms(1), &adv),
        Err(PolicyError::FirstAddressNotLinkLocal)
    );
    assert_eq!(r.stats().rx_field_errors, 1);
    // P10: a keepalived-compatible router (strict mode off) accepts such lists.
    cfg.require_link_local_first = false;
    let mut lenient = started(cfg, ms(0));
    assert_eq!(lenient.handle_advert(ms(1), &adv), Ok(()));
}

#[test]
fn r27_truncated_address_list_is_too_short() {
    let bytes = hex("310164020064a897c0000201"); // count 2, one address
    assert_eq!(
        packet::parse(&bytes, rfc9568_meta()),
        Err(RxError::TooShort {
            len: 12,
            expected: 16
        })
    );
    assert!(matches!(
        packet::parse(&bytes[..7], rfc9568_meta()),
        Err(RxError::TooShort { .. })
    ));
}

#[test]
fn p11_ethernet_padding_after_the_message_is_tolerated() {
    let mut bytes = hex("310164010064a897c0000201");
    bytes.extend_from_slice(&[0; 14]);
    assert_eq!(packet::parse(&bytes, rfc9568_meta()).unwrap().priority, 100);
}

#[test]
fn p3_interval_is_masked_to_12_bits_and_built_in_range() {
    let vips = [ip("192.0.2.1")];
    let bytes = build_bytes(
        &spec(1, 100, 5000, &vips, ChecksumForm::Rfc9568),
        "192.0.2.10",
        "224.0.0.18",
    );
    assert_eq!(
        u16::from_be_bytes([bytes[4], bytes[5]]),
        4095,
        "clamped to 12 bits, reserve 0"
    );
}

#[test]
fn r37_transmit_has_version_3_type_1_reserve_zero_and_valid_checksum() {
    let vips = [ip("192.0.2.1"), ip("192.0.2.2")];
    for form in [ChecksumForm::Rfc9568, ChecksumForm::PseudoHeader] {
        let bytes = build_bytes(&spec(7, 150, 100, &vips, form), "192.0.2.10", "224.0.0.18");
        assert_eq!(bytes[0], 0x31);
        assert_eq!(bytes[4] >> 4, 0, "reserve");
        assert_eq!(bytes.len(), 8 + 4 * 2);
        let adv = packet::parse(&bytes, rfc9568_meta()).unwrap();
        assert_eq!(adv.checksum_form, Some(form));
    }
}

#[test]
fn r37_build_refuses_mixed_families_and_v2_over_ipv6() {
    let mixed = [ip("192.0.2.1"), ip("2001:db8::1")];
    let mut buf = [0u8; 64];
    assert!(packet::build(
        &spec(1, 100, 100, &mixed, ChecksumForm::Rfc9568),
        ip("192.0.2.10"),
        ip("224.0.0.18"),
        &mut buf
    )
    .is_err());
    let v6 = [ip("fe80::1")];
    let mut s = spec(1, 100, 100, &v6, ChecksumForm::Rfc9568);
    s.version = Version::V2;
    assert!(packet::build(&s, ip("fe80::10"), ip("ff02::12"), &mut buf).is_err());
    let mut small = [0u8; 4];
    assert!(packet::build(
        &spec(1, 100, 100, &v6, ChecksumForm::Rfc9568),
        ip("fe80::10"),
        ip("ff02::12"),
        &mut small
    )
    .is_err());
}

#[test]
fn p1_legacy_checksum_uses_the_real_unicast_destination() {
    // keepalived issue #1175: unicast src 10.1.0.3 -> dst 10.1.0.1 carries 0x9c19.
    let meta = RxMeta {
        src: ip("10.1.0.3"),
        dst: ip("10.1.0.1"),
        ttl: 255,
        ifindex: 1,
    };
    let bytes = hex("3158c60100649c190ac34ce3");
    let adv = packet::parse(&bytes, meta).unwrap();
    assert_eq!(adv.checksum_form, Some(ChecksumForm::PseudoHeader));
    assert_eq!(adv.vrid, 0x58);
}

#[test]
fn vrrpv2_password_advert_round_trips_and_carp_is_told_apart() {
    let vips = [ip("192.0.2.1")];
    let spec = AdvertSpec {
        version: Version::V2,
        vrid: 51,
        priority: 40,
        interval_cs: 100,
        addrs: &vips,
        checksum_form: ChecksumForm::Rfc9568,
        auth_type: AuthType::Password,
        auth_data: packet::password_field(b"cluster_api_vip"),
    };
    let bytes = build_bytes(&spec, "192.0.2.10", "224.0.0.18");
    assert_eq!(bytes.len(), 20);
    assert_eq!(&bytes[12..], b"cluster_");
    let adv = packet::parse(&bytes, rfc9568_meta()).unwrap();
    assert_eq!(
        (adv.version, adv.auth_type, adv.interval_cs),
        (Version::V2, AuthType::Password, 100)
    );
    // A CARP advert: version 2, type 1, 36 bytes, authlen 7.
    let mut carp = vec![0x21, 1, 0, 7, 0, 1, 0, 0];
    carp.resize(36, 0);
    assert_eq!(packet::parse(&carp, rfc9568_meta()), Err(RxError::Carp));
}

#[test]
fn codec_errors_are_counted_by_kind() {
    let mut r = Router::new(v4_config(100)).unwrap();
    for e in [
        RxError::Checksum,
        RxError::Checksum,
        RxError::Carp,
        RxError::ZeroCount,
    ] {
        r.handle_rx_error(&e);
    }
    assert_eq!(r.stats().rx_checksum_errors, 2);
    assert_eq!(r.stats().rx_carp, 1);
    assert_eq!(r.stats().rx_field_errors, 1);
}

/// keepalived 1.3.6's unicast form (`old_unicast_checksum`): the pseudo-header carries the
/// multicast group 224.0.0.18 instead of the unicast destination. It is told apart only for a
/// unicast destination.
#[test]
fn old_unicast_form_is_the_pseudo_header_with_the_multicast_group() {
    let vips = [ip("192.0.2.1")];
    let old = build_bytes(
        &spec(1, 100, 100, &vips, ChecksumForm::OldUnicast),
        "192.0.2.10",
        "192.0.2.20",
    );
    let to_group = build_bytes(
        &spec(1, 100, 100, &vips, ChecksumForm::PseudoHeader),
        "192.0.2.10",
        "224.0.0.18",
    );
    assert_eq!(old, to_group, "the same sum as a multicast advert");
    let new = build_bytes(
        &spec(1, 100, 100, &vips, ChecksumForm::PseudoHeader),
        "192.0.2.10",
        "192.0.2.20",
    );
    assert_ne!(old, new);
    let meta = |dst: &str| RxMeta {
        src: ip("192.0.2.10"),
        dst: ip(dst),
        ttl: 255,
        ifindex: 1,
    };
    let form = |bytes: &[u8], dst| packet::parse(bytes, meta(dst)).map(|a| a.checksum_form);
    assert_eq!(form(&old, "192.0.2.20"), Ok(Some(ChecksumForm::OldUnicast)));
    assert_eq!(
        form(&new, "192.0.2.20"),
        Ok(Some(ChecksumForm::PseudoHeader))
    );
    assert_eq!(
        form(&old, "224.0.0.18"),
        Ok(Some(ChecksumForm::PseudoHeader)),
        "on multicast both forms are one"
    );
    let other_source = RxMeta {
        src: ip("192.0.2.11"),
        ..meta("192.0.2.20")
    };
    assert_eq!(
        packet::parse(&old, other_source).map(|a| a.checksum_form),
        Err(RxError::Checksum),
        "the source still counts"
    );
}
