//! Accept_Mode enforcement with nftables (needs root and nft).

mod common;

use std::net::{IpAddr, Ipv4Addr};
use std::time::Duration;

use vrrp_net::nft::AcceptModeFilter;
use vrrp_netns::wait_until;

#[test]
fn r18_accept_mode_off_drops_traffic_to_vips_until_removed() {
    let lab = common::router_and_client();
    let (r1, c1) = (lab.host("r1"), lab.host("c1"));
    r1.exec_ok("ip", &["addr", "add", "192.0.2.230/24", "dev", "eth0"])
        .unwrap();
    let vip = IpAddr::V4(Ipv4Addr::new(192, 0, 2, 230));
    assert!(wait_until(Duration::from_secs(5), || c1.ping(vip).unwrap()));

    let filter = r1
        .run(|| AcceptModeFilter::install("eth0_7", &[vip, "2001:db8:1::230".parse().unwrap()]))
        .unwrap()
        .unwrap();
    assert_eq!(filter.table(), "vrrpd_eth0_7");
    let tables = r1.exec_ok("nft", &["list", "tables"]).unwrap();
    assert!(tables.contains("inet vrrpd_eth0_7"), "{tables}");
    assert!(!c1.ping(vip).unwrap(), "VIP traffic is dropped");
    assert!(
        c1.ping(IpAddr::V4(r1.ipv4)).unwrap(),
        "the router's own address still answers"
    );

    r1.run(move || filter.remove()).unwrap().unwrap();
    assert!(!r1
        .exec_ok("nft", &["list", "tables"])
        .unwrap()
        .contains("vrrpd_eth0_7"));
    assert!(wait_until(Duration::from_secs(5), || c1.ping(vip).unwrap()));
}
