//! Root-only tests of segment capture and frame decoding.

use std::net::{IpAddr, SocketAddr};
use std::process::Command;
use std::time::Duration;

use socket2::{Domain, Protocol, Socket, Type};
use vrrp_netns::{require_root, Lab};

#[test]
fn capture_sees_ping_arp_na_and_vrrp_and_writes_pcap() {
    require_root();
    let lab = Lab::builder()
        .router("r1")
        .client("c")
        .build()
        .expect("build lab");
    let (r1, c) = (lab.host("r1"), lab.host("c"));
    let mut cap = lab.default_segment().capture().unwrap();

    // IPv4 ping: ARP request/reply and ICMP echo request/reply.
    assert!(c.ping(r1.ipv4.into()).unwrap());
    let req = cap
        .wait_for(Duration::from_secs(2), |f| {
            f.icmp_echo() == Some(true) && f.ip().map(|ip| ip.1) == Some(IpAddr::from(r1.ipv4))
        })
        .expect("echo request captured");
    assert_eq!(req.from_host.as_deref(), Some("c"));
    assert_eq!(req.eth_src(), Some(c.mac));
    assert_eq!(req.eth_dst(), Some(r1.mac));
    let rep = cap
        .wait_for(Duration::from_secs(2), |f| f.icmp_echo() == Some(false))
        .expect("echo reply captured");
    assert_eq!(rep.from_host.as_deref(), Some("r1"));
    let arp = cap
        .wait_for(Duration::from_secs(2), |f| {
            f.arp().is_some_and(|a| a.is_request())
        })
        .and_then(|f| f.arp())
        .expect("ARP request captured");
    assert_eq!(arp.sender_mac, c.mac);
    assert_eq!(arp.target_ip, r1.ipv4);
    assert!(!arp.is_gratuitous());

    // IPv6 ping: the solicited NA from r1 decodes.
    assert!(c.ping(r1.ipv6.into()).unwrap());
    let na = cap
        .wait_for(Duration::from_secs(2), |f| {
            f.neighbor_advert().is_some_and(|n| n.target == r1.ipv6)
        })
        .and_then(|f| f.neighbor_advert())
        .expect("NA captured");
    assert!(na.solicited);
    assert_eq!(na.hop_limit, 255);
    assert_eq!(na.target_mac, Some(r1.mac));
    assert_eq!(na.eth_src, r1.mac);

    // Gratuitous ARP from r1 (arping -U; it exits 1 as nobody answers).
    r1.netns
        .exec(
            "arping",
            &[
                "-U",
                "-i",
                "eth0",
                "-S",
                "192.0.2.1",
                "-c",
                "1",
                "-W",
                "0.1",
                "192.0.2.1",
            ],
        )
        .unwrap();
    let garp = cap
        .wait_for(Duration::from_secs(2), |f| {
            f.arp()
                .is_some_and(|a| a.is_gratuitous() && a.sender_mac == r1.mac)
        })
        .and_then(|f| f.arp())
        .expect("gratuitous ARP captured");
    assert_eq!(garp.sender_ip, r1.ipv4);

    // A raw protocol-112 packet, multicast to 224.0.0.18 with TTL 255.
    r1.run(|| {
        let s = Socket::new(Domain::IPV4, Type::RAW, Some(Protocol::from(112))).unwrap();
        s.set_multicast_if_v4(&r1.ipv4).unwrap();
        s.set_multicast_ttl_v4(255).unwrap();
        let dst: SocketAddr = "224.0.0.18:0".parse().unwrap();
        s.send_to(
            &[0x31, 7, 100, 1, 0, 100, 0, 0, 192, 0, 2, 254],
            &dst.into(),
        )
        .unwrap();
    })
    .unwrap();
    let v = cap
        .wait_for(Duration::from_secs(2), |f| f.vrrp().is_some())
        .and_then(|f| f.vrrp())
        .expect("VRRP frame captured");
    assert_eq!(v.ttl, 255);
    assert_eq!(v.src, IpAddr::from(r1.ipv4));
    assert_eq!(v.dst.to_string(), "224.0.0.18");
    assert_eq!(v.eth_dst, [0x01, 0, 0x5e, 0, 0, 0x12]);
    assert_eq!(v.payload[1], 7);

    // Timestamps are monotone enough to be sensible, and each frame is captured once.
    let frames = cap.frames();
    let echo_requests = frames
        .iter()
        .filter(|f| f.icmp_echo() == Some(true))
        .count();
    assert_eq!(echo_requests, 2, "one v4 and one v6 echo request");

    cap.stop().unwrap();
    let n = cap.len();
    let path = std::env::temp_dir().join(format!("vrrp-netns-{}.pcap", lab.id()));
    cap.write_pcap(&path).unwrap();
    let out = Command::new("tcpdump")
        .args(["-nn", "-r"])
        .arg(&path)
        .output()
        .expect("tcpdump is needed to read the pcap: apt-get install -y tcpdump (or `cargo xtask setup`)");
    let _ = std::fs::remove_file(&path);
    assert!(out.status.success(), "{out:?}");
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(text.lines().count(), n, "{text}");
    assert!(text.contains("ICMP echo request"), "{text}");
    assert!(
        text.contains("VRRP") || text.contains("ip-proto-112"),
        "{text}"
    );
}

#[test]
fn multicast_snooping_option_is_applied() {
    require_root();
    for on in [false, true] {
        let lab = Lab::builder()
            .multicast_snooping(on)
            .router("r1")
            .build()
            .unwrap();
        let seg = lab.default_segment();
        let out = seg
            .netns
            .exec_ok("cat", &["/sys/class/net/vnbr/bridge/multicast_snooping"])
            .unwrap();
        assert_eq!(out.trim(), if on { "1" } else { "0" });
    }
}
