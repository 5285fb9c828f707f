//! Raw VRRP sockets between two namespaces (needs root).

mod common;

use std::net::{IpAddr, Ipv4Addr};

use common::{ifindex, in_ns, rt, within};
use vrrp_net::{AnnounceSocket, VrrpSocketV4, VrrpSocketV6, VRRP_GROUP_V4, VRRP_GROUP_V6};
use vrrp_netns::{require_root, Lab};

// V1 from the conformance checklist (VRRP part, RFC 9568 checksum).
const V1_VRRP: [u8; 12] = [
    0x31, 0x01, 0x64, 0x01, 0x00, 0x64, 0xa8, 0x97, 0xc0, 0x00, 0x02, 0x01,
];

fn lab() -> Lab {
    require_root();
    Lab::builder()
        .router("r1")
        .router("r2")
        .client("c1")
        .build()
        .expect("lab")
}

#[test]
fn p5_ipv4_multicast_advert_arrives_with_ttl_255() {
    let lab = lab();
    let (r1, r2) = (lab.host("r1"), lab.host("r2"));
    let rt = rt();
    let tx = in_ns(r1, &rt, || {
        VrrpSocketV4::open(ifindex(r1), &r1.iface).unwrap()
    });
    let rx = in_ns(r2, &rt, || {
        VrrpSocketV4::open(ifindex(r2), &r2.iface).unwrap()
    });
    let r2_idx = ifindex(r2);
    rt.block_on(async {
        let mut buf = [0u8; vrrp_net::socket::RECV_BUFFER_SIZE];
        tx.send_to(&V1_VRRP, IpAddr::V4(VRRP_GROUP_V4))
            .await
            .unwrap();
        let got = within(5, "the advert on r2", rx.recv(&mut buf))
            .await
            .unwrap();
        assert_eq!(got.src, IpAddr::V4(r1.ipv4));
        assert_eq!(got.dst, IpAddr::V4(VRRP_GROUP_V4));
        assert_eq!(got.ttl_or_hoplimit, 255);
        assert_eq!(got.ifindex, r2_idx);
        assert_eq!(got.payload, &V1_VRRP[..]);
    });
}

#[test]
fn p5_ipv6_multicast_advert_arrives_with_hop_limit_255_from_link_local() {
    let lab = lab();
    let (r1, r2) = (lab.host("r1"), lab.host("r2"));
    let rt = rt();
    let tx = in_ns(r1, &rt, || {
        VrrpSocketV6::open(ifindex(r1), &r1.iface).unwrap()
    });
    let rx = in_ns(r2, &rt, || {
        VrrpSocketV6::open(ifindex(r2), &r2.iface).unwrap()
    });
    let r2_idx = ifindex(r2);
    let payload = [
        0x31, 0x01, 0x64, 0x01, 0x00, 0x64, 0, 0, 0xfe, 0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
        0, 1,
    ];
    rt.block_on(async {
        let mut buf = [0u8; 4096];
        tx.send_to(&payload, IpAddr::V6(VRRP_GROUP_V6))
            .await
            .unwrap();
        let got = within(5, "the IPv6 advert on r2", rx.recv(&mut buf))
            .await
            .unwrap();
        assert_eq!(got.src, IpAddr::V6(r1.link_local));
        assert_eq!(got.dst, IpAddr::V6(VRRP_GROUP_V6));
        assert_eq!(got.ttl_or_hoplimit, 255);
        assert_eq!(got.ifindex, r2_idx);
        assert_eq!(got.payload, &payload[..]);
        // Pinned source through IPV6_PKTINFO.
        tx.send_from(
            &payload,
            IpAddr::V6(r1.link_local),
            IpAddr::V6(VRRP_GROUP_V6),
        )
        .await
        .unwrap();
        let got = within(5, "the pinned-source advert", rx.recv(&mut buf))
            .await
            .unwrap();
        assert_eq!(got.src, IpAddr::V6(r1.link_local));
    });
}

#[test]
fn p6_unicast_send_and_send_from_both_families() {
    let lab = lab();
    let (r1, r2) = (lab.host("r1"), lab.host("r2"));
    let rt = rt();
    let (tx4, tx6) = in_ns(r1, &rt, || {
        (
            VrrpSocketV4::open(ifindex(r1), &r1.iface).unwrap(),
            VrrpSocketV6::open(ifindex(r1), &r1.iface).unwrap(),
        )
    });
    let (rx4, rx6) = in_ns(r2, &rt, || {
        (
            VrrpSocketV4::open(ifindex(r2), &r2.iface).unwrap(),
            VrrpSocketV6::open(ifindex(r2), &r2.iface).unwrap(),
        )
    });
    rt.block_on(async {
        let mut buf = [0u8; 4096];
        tx4.send_to(&V1_VRRP, IpAddr::V4(r2.ipv4)).await.unwrap();
        let got = within(5, "unicast v4", rx4.recv(&mut buf)).await.unwrap();
        assert_eq!(
            (got.src, got.dst, got.ttl_or_hoplimit),
            (IpAddr::V4(r1.ipv4), IpAddr::V4(r2.ipv4), 255)
        );
        assert_eq!(got.payload, &V1_VRRP[..]);

        tx4.send_from(&V1_VRRP, IpAddr::V4(r1.ipv4), IpAddr::V4(r2.ipv4))
            .await
            .unwrap();
        let got = within(5, "unicast v4 send_from", rx4.recv(&mut buf))
            .await
            .unwrap();
        assert_eq!(got.src, IpAddr::V4(r1.ipv4));

        tx6.send_from(&V1_VRRP, IpAddr::V6(r1.ipv6), IpAddr::V6(r2.ipv6))
            .await
            .unwrap();
        let got = within(5, "unicast v6", rx6.recv(&mut buf)).await.unwrap();
        assert_eq!(
            (got.src, got.dst, got.ttl_or_hoplimit),
            (IpAddr::V6(r1.ipv6), IpAddr::V6(r2.ipv6), 255)
        );

        // A configured source the interface does not have is used anyway, as keepalived
        // does (IP_TRANSPARENT).
        let foreign = IpAddr::V4(Ipv4Addr::new(198, 51, 100, 77));
        tx4.send_from(&V1_VRRP, foreign, IpAddr::V4(r2.ipv4))
            .await
            .unwrap();
        let got = within(5, "a non-local source", rx4.recv(&mut buf))
            .await
            .unwrap();
        assert_eq!(got.src, foreign);
        // A missing interface is named in the error.
        let err = in_ns(r1, &rt, || VrrpSocketV4::open(99, "eth7").unwrap_err());
        assert_eq!(err.to_string(), "interface eth7 not found");
        // Family mismatch is a typed error, not a panic.
        assert!(tx4.send_to(&V1_VRRP, IpAddr::V6(r2.ipv6)).await.is_err());
    });
}

/// Builds an Ethernet frame carrying `ip` (a full IPv4 packet) to 224.0.0.18,
/// padded with zeros to `pad_to` bytes.
fn frame(src_mac: [u8; 6], ip: &[u8], pad_to: usize) -> Vec<u8> {
    let mut f = vec![0x01, 0x00, 0x5e, 0x00, 0x00, 0x12];
    f.extend_from_slice(&src_mac);
    f.extend_from_slice(&[0x08, 0x00]);
    f.extend_from_slice(ip);
    f.resize(pad_to.max(f.len()), 0);
    f
}

fn hex(s: &str) -> Vec<u8> {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

#[test]
fn p11_padded_frame_payload_is_cut_to_ip_length_and_r24_ttl_is_reported() {
    let lab = lab();
    let (c1, r2) = (lab.host("c1"), lab.host("r2"));
    let rt = rt();
    let tx = in_ns(c1, &rt, || AnnounceSocket::open().unwrap());
    let rx = in_ns(r2, &rt, || {
        VrrpSocketV4::open(ifindex(r2), &r2.iface).unwrap()
    });
    let c1_idx = ifindex(c1);
    // V1 (src 192.0.2.10) and I2 (TTL 254) as full IPv4 packets.
    let v1 = hex("45c0002000000000ff701891c000020ae0000012310164010064a897c0000201");
    let i2 = hex("45c0002000000000fe701991c000020ae0000012310164010064a897c0000201");
    rt.block_on(async {
        let mut buf = [0u8; 4096];
        let f = frame(c1.mac, &v1, 60);
        assert_eq!(
            f.len(),
            60,
            "a one-VIP advert is padded to the Ethernet minimum"
        );
        tx.send(c1_idx, &f).await.unwrap();
        let got = within(5, "the padded advert", rx.recv(&mut buf))
            .await
            .unwrap();
        assert_eq!(
            got.payload,
            &V1_VRRP[..],
            "padding must not reach the payload"
        );
        assert_eq!(got.src, IpAddr::V4(Ipv4Addr::new(192, 0, 2, 10)));
        assert_eq!(got.ttl_or_hoplimit, 255);

        tx.send(c1_idx, &frame(c1.mac, &i2, 60)).await.unwrap();
        let got = within(5, "the TTL 254 advert", rx.recv(&mut buf))
            .await
            .unwrap();
        assert_eq!(
            got.ttl_or_hoplimit, 254,
            "the socket reports the TTL; vrrp-core discards (R24)"
        );
    });
}

/// keepalived's `kernel_rx_buf_size`: the receive queue grows to at least the size asked
/// for, above the `rmem_max` an unprivileged `SO_RCVBUF` is capped at, and never shrinks.
#[test]
fn the_receive_buffer_is_raised_past_rmem_max_and_never_shrunk() {
    let lab = lab();
    let r1 = lab.host("r1");
    let rt = rt();
    let rmem_max: usize = std::fs::read_to_string("/proc/sys/net/core/rmem_max")
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    let want = rmem_max * 4;
    in_ns(r1, &rt, || {
        let v4 = VrrpSocketV4::open(ifindex(r1), &r1.iface).unwrap();
        let v6 = VrrpSocketV6::open(ifindex(r1), &r1.iface).unwrap();
        v4.set_receive_buffer(want).unwrap();
        v6.set_receive_buffer(want).unwrap();
        assert!(v4.receive_buffer().unwrap() >= want);
        assert!(v6.receive_buffer().unwrap() >= want);
        v4.set_receive_buffer(1024).unwrap();
        assert!(v4.receive_buffer().unwrap() >= want, "shrunk");
    });
}
