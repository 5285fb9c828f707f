//! GARP / unsolicited NA on the wire and in a client's neighbour table (needs root).

mod common;

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::time::Duration;

use common::{ifindex, in_ns, rt};
use etherparse::{ArpOperation, NetSlice, SlicedPacket, TransportSlice};
use vrrp_net::announce::{build_garp, build_unsolicited_na, GARP_LEN, NA_LEN};
use vrrp_net::{AnnounceSocket, GarpForm, Pacer};
use vrrp_netns::wait_until;

const VMAC4: [u8; 6] = [0x00, 0x00, 0x5e, 0x00, 0x01, 0x07];
const VMAC6: [u8; 6] = [0x00, 0x00, 0x5e, 0x00, 0x02, 0x07];

#[test]
fn r8_garp_and_na_update_the_clients_neighbour_table() {
    let lab = common::router_and_client();
    let (r1, c1) = (lab.host("r1"), lab.host("c1"));
    let vip4 = Ipv4Addr::new(192, 0, 2, 250);
    let vip6: Ipv6Addr = "2001:db8:1::250".parse().unwrap();
    // The client knows the VIPs at a stale MAC (as after a failover).
    c1.exec_ok(
        "ip",
        &[
            "neigh",
            "add",
            "192.0.2.250",
            "lladdr",
            "02:00:00:00:00:99",
            "dev",
            "eth0",
            "nud",
            "stale",
        ],
    )
    .unwrap();
    c1.exec_ok(
        "ip",
        &[
            "-6",
            "neigh",
            "add",
            "2001:db8:1::250",
            "lladdr",
            "02:00:00:00:00:99",
            "dev",
            "eth0",
            "nud",
            "stale",
        ],
    )
    .unwrap();
    let cap = lab.default_segment().capture().unwrap();
    let rt = rt();
    let sock = in_ns(r1, &rt, || AnnounceSocket::open().unwrap());
    let idx = ifindex(r1);
    let mut buf = [0u8; 128];
    rt.block_on(async {
        let n = build_garp(&mut buf, VMAC4, vip4, GarpForm::Request).unwrap();
        sock.send(idx, &buf[..n]).await.unwrap();
        let n = build_unsolicited_na(&mut buf, VMAC6, vip6, true).unwrap();
        sock.send(idx, &buf[..n]).await.unwrap();
    });

    let garp = cap
        .wait_for(Duration::from_secs(5), |f| {
            f.data.len() >= GARP_LEN && f.data[12..14] == [0x08, 0x06]
        })
        .expect("GARP on the wire");
    let p = SlicedPacket::from_ethernet(&garp.data).unwrap();
    let Some(NetSlice::Arp(arp)) = p.net else {
        panic!("not ARP")
    };
    assert_eq!(arp.operation(), ArpOperation::REQUEST);
    assert_eq!(arp.sender_hw_addr(), &VMAC4);
    assert_eq!(arp.sender_protocol_addr(), &vip4.octets());
    assert_eq!(arp.target_protocol_addr(), &vip4.octets());
    assert_eq!(&garp.data[..6], &[0xff; 6]);

    let na = cap
        .wait_for(Duration::from_secs(5), |f| {
            f.data.len() >= NA_LEN && f.data[12..14] == [0x86, 0xdd] && f.data[54] == 136
        })
        .expect("NA on the wire");
    let p = SlicedPacket::from_ethernet(&na.data).unwrap();
    let Some(NetSlice::Ipv6(ip)) = &p.net else {
        panic!("not IPv6")
    };
    assert_eq!(ip.header().hop_limit(), 255);
    assert_eq!(ip.header().source_addr(), vip6);
    let Some(TransportSlice::Icmpv6(icmp)) = &p.transport else {
        panic!("not ICMPv6")
    };
    let h = icmp.header();
    let ih = ip.header().to_header();
    assert_eq!(
        h.checksum,
        h.icmp_type
            .calc_checksum(ih.source, ih.destination, icmp.payload())
            .unwrap()
    );
    assert_eq!(&na.data[..6], &[0x33, 0x33, 0, 0, 0, 1]);

    assert!(
        wait_until(Duration::from_secs(5), || c1
            .neighbor(IpAddr::V4(vip4))
            .unwrap()
            == Some(VMAC4)),
        "client's ARP entry moved to the VMAC: {:?}",
        c1.neighbor(IpAddr::V4(vip4))
    );
    assert!(
        wait_until(Duration::from_secs(5), || c1
            .neighbor(IpAddr::V6(vip6))
            .unwrap()
            == Some(VMAC6)),
        "client's ND entry moved to the VMAC: {:?}",
        c1.neighbor(IpAddr::V6(vip6))
    );
}

#[test]
fn pacer_spaces_garps_on_the_wire() {
    let lab = common::router_and_client();
    let r1 = lab.host("r1");
    let cap = lab.default_segment().capture().unwrap();
    let rt = rt();
    let sock = in_ns(r1, &rt, || AnnounceSocket::open().unwrap());
    let idx = ifindex(r1);
    let interval = Duration::from_millis(150);
    let mut pacer = Pacer::new(interval);
    let mut buf = [0u8; GARP_LEN];
    let start = std::time::Instant::now();
    rt.block_on(async {
        for i in 0..3u8 {
            let n = build_garp(
                &mut buf,
                VMAC4,
                Ipv4Addr::new(192, 0, 2, 240 + i),
                GarpForm::Request,
            )
            .unwrap();
            pacer.wait(idx).await;
            sock.send(idx, &buf[..n]).await.unwrap();
        }
    });
    assert!(
        start.elapsed() >= interval * 2,
        "three paced packets take at least two intervals"
    );
    assert!(wait_until(Duration::from_secs(5), || {
        cap.frames()
            .iter()
            .filter(|f| f.data.get(12..14) == Some(&[0x08, 0x06][..]) && f.data[6..12] == VMAC4)
            .count()
            == 3
    }));
    let ts: Vec<_> = cap
        .frames()
        .into_iter()
        .filter(|f| f.data.get(12..14) == Some(&[0x08, 0x06][..]) && f.data[6..12] == VMAC4)
        .map(|f| f.ts)
        .collect();
    for w in ts.windows(2) {
        let gap = w[1].duration_since(w[0]).unwrap();
        // Capture timestamps are taken in user space: allow 30 ms of jitter.
        assert!(
            gap + Duration::from_millis(30) >= interval,
            "gap {gap:?} < {interval:?}"
        );
    }
}
