//! The address-claim watch on a real kernel (needs root): what another host's frames make of
//! it, what its BPF filter keeps in the kernel, and that the host's own frames never reach it.

mod common;

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::time::Duration;

use common::{ifindex, in_ns, rt};
use vrrp_core::packet::Family;
use vrrp_net::announce::{build_garp, build_unsolicited_na};
use vrrp_net::conflict::{build_arp_probe, build_ns_probe};
use vrrp_net::{AnnounceSocket, Claim, ClaimSocket, GarpForm};

const FOREIGN: [u8; 6] = [0x02, 0, 0, 0, 0, 0x99];
const MARKER: [u8; 6] = [0x02, 0, 0, 0, 0, 0x98];

/// Reads `watch` until a claim from [`MARKER`] arrives (sent last); every claim read.
async fn claims_until_marker(watch: &ClaimSocket) -> Vec<Claim> {
    let mut buf = [0u8; 256];
    let mut got = Vec::new();
    let wait = async {
        while !got.iter().any(|c: &Claim| c.mac == MARKER) {
            std::future::poll_fn(|cx| watch.poll_readable(cx)).await;
            while let Some(c) = watch.try_recv(&mut buf).expect("receive") {
                got.push(c);
            }
        }
    };
    let arrived = tokio::time::timeout(Duration::from_secs(3), wait).await;
    assert!(
        arrived.is_ok(),
        "the marker claim never arrived; got {got:?}"
    );
    got
}

#[test]
fn the_watch_sees_other_hosts_claims_and_nothing_else_reaches_user_space() {
    let lab = common::router_and_client();
    let (r1, c1) = (lab.host("r1"), lab.host("c1"));
    let rt = rt();
    let (idx_r1, idx_c1) = (ifindex(r1), ifindex(c1));
    let (v4, v6) = in_ns(r1, &rt, || {
        (
            ClaimSocket::open(idx_r1, Family::V4).unwrap(),
            ClaimSocket::open(idx_r1, Family::V6).unwrap(),
        )
    });
    let from_c1 = in_ns(c1, &rt, || AnnounceSocket::open().unwrap());
    let from_r1 = in_ns(r1, &rt, || AnnounceSocket::open().unwrap());
    let vip4 = Ipv4Addr::new(192, 0, 2, 250);
    let vip6: Ipv6Addr = "2001:db8:1::250".parse().unwrap();
    let mut buf = [0u8; 128];
    rt.block_on(async {
        // Kept in the kernel: probes (sender 0.0.0.0 / an NS).
        let n = build_arp_probe(&mut buf, FOREIGN, vip4).unwrap();
        from_c1.send(idx_c1, &buf[..n]).await.unwrap();
        let n = build_ns_probe(&mut buf, FOREIGN, vip6).unwrap();
        from_c1.send(idx_c1, &buf[..n]).await.unwrap();
        // Never delivered: r1's own announcements.
        let n = build_garp(&mut buf, r1.mac, vip4, GarpForm::Request).unwrap();
        from_r1.send(idx_r1, &buf[..n]).await.unwrap();
        let n = build_unsolicited_na(&mut buf, r1.mac, vip6, false).unwrap();
        from_r1.send(idx_r1, &buf[..n]).await.unwrap();
        // Claims.
        let n = build_garp(&mut buf, FOREIGN, vip4, GarpForm::Reply).unwrap();
        from_c1.send(idx_c1, &buf[..n]).await.unwrap();
        let n = build_unsolicited_na(&mut buf, FOREIGN, vip6, false).unwrap();
        from_c1.send(idx_c1, &buf[..n]).await.unwrap();
    });
    // Other IPv6 traffic (echo requests and replies, and the ND they need) stays in the kernel.
    assert!(c1.ping(IpAddr::V6(r1.ipv6)).unwrap());
    rt.block_on(async {
        let n = build_garp(&mut buf, MARKER, vip4, GarpForm::Request).unwrap();
        from_c1.send(idx_c1, &buf[..n]).await.unwrap();
        let n = build_unsolicited_na(&mut buf, MARKER, vip6, false).unwrap();
        from_c1.send(idx_c1, &buf[..n]).await.unwrap();
    });

    let got4 = rt.block_on(claims_until_marker(&v4));
    let want4 = [(vip4, FOREIGN), (vip4, MARKER)].map(|(a, mac)| Claim {
        addr: a.into(),
        mac,
    });
    assert_eq!(got4, want4);
    assert_eq!(v4.frames_received(), 2, "the probe stayed in the kernel");

    let got6 = rt.block_on(claims_until_marker(&v6));
    let ours: Vec<Claim> = got6
        .iter()
        .filter(|c| c.addr == IpAddr::V6(vip6))
        .copied()
        .collect();
    let want6 = [FOREIGN, MARKER].map(|mac| Claim {
        addr: vip6.into(),
        mac,
    });
    assert_eq!(ours, want6);
    assert_eq!(
        v6.frames_received(),
        got6.len() as u64,
        "only NAs reached user space (the NS probe, the pings and their NSs did not): {got6:?}"
    );
}
