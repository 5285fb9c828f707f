//! Link/address watcher (needs root).

mod common;

use std::net::{IpAddr, Ipv4Addr};

use common::{ifindex, in_ns, rt, within};
use vrrp_net::{AddrEvent, LinkEvent, NetEvent, Watcher};
use vrrp_netns::{require_root, Lab};

#[test]
fn watcher_sees_link_down_up_and_address_removal() {
    require_root();
    let lab = Lab::builder().router("r1").build().expect("lab");
    let r1 = lab.host("r1");
    let rt = rt();
    let idx = ifindex(r1);
    let mut w = in_ns(r1, &rt, || rt.block_on(Watcher::new()).unwrap());

    // Waits for the first event matching `pred`, skipping others.
    async fn expect(w: &mut Watcher, what: &str, pred: impl Fn(&NetEvent) -> bool) -> NetEvent {
        within(10, what, async {
            loop {
                let ev = w.next().await.expect("watcher closed");
                if pred(&ev) {
                    return ev;
                }
            }
        })
        .await
    }

    r1.link_down().unwrap();
    rt.block_on(expect(&mut w, "Down", |e| matches!(e, NetEvent::Link(LinkEvent::Down { ifindex, name }) if *ifindex == idx && name == "eth0")));
    r1.link_up().unwrap();
    rt.block_on(expect(
        &mut w,
        "Up",
        |e| matches!(e, NetEvent::Link(LinkEvent::Up { ifindex, .. }) if *ifindex == idx),
    ));

    r1.exec_ok("ip", &["addr", "add", "192.0.2.220/24", "dev", "eth0"])
        .unwrap();
    let vip = IpAddr::V4(Ipv4Addr::new(192, 0, 2, 220));
    rt.block_on(expect(
        &mut w,
        "Added",
        |e| matches!(e, NetEvent::Addr(AddrEvent::Added { addr, .. }) if *addr == vip),
    ));
    r1.exec_ok("ip", &["addr", "del", "192.0.2.220/24", "dev", "eth0"])
        .unwrap();
    rt.block_on(expect(&mut w, "Removed", |e| {
        matches!(e, NetEvent::Addr(AddrEvent::Removed { ifindex, addr, prefix_len: 24 }) if *addr == vip && *ifindex == idx)
    }));

    r1.exec_ok(
        "ip",
        &["link", "add", "dummy7", "link", "eth0", "type", "macvlan"],
    )
    .unwrap();
    rt.block_on(expect(
        &mut w,
        "Added link",
        |e| matches!(e, NetEvent::Link(LinkEvent::Added { name, .. }) if name == "dummy7"),
    ));
    r1.exec_ok("ip", &["link", "set", "dummy7", "name", "dummy8"])
        .unwrap();
    rt.block_on(expect(&mut w, "Renamed", |e| {
        matches!(e, NetEvent::Link(LinkEvent::Renamed { old, new, .. }) if old == "dummy7" && new == "dummy8")
    }));
    r1.exec_ok("ip", &["link", "del", "dummy8"]).unwrap();
    rt.block_on(expect(
        &mut w,
        "Deleted",
        |e| matches!(e, NetEvent::Link(LinkEvent::Deleted { name, .. }) if name == "dummy8"),
    ));
}
