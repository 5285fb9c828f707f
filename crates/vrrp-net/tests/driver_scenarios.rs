//! Driver scenarios in namespaces, each synchronised on events or captured frames: unicast
//! peers, interface faults, GARP burst and pacing, a VIP removed behind the driver's back,
//! and a router started on a down interface.

mod common;

use std::net::{IpAddr, Ipv4Addr};
use std::time::Duration;

use common::running::{assert_clean, config, run};
use vrrp_core::{Reason, State, UnicastPeer};
use vrrp_netns::{require_root, wait_until, Capture, Frame, Host, Lab};

fn lab() -> Lab {
    require_root();
    Lab::builder()
        .router("r1")
        .router("r2")
        .client("c1")
        .build()
        .expect("lab")
}

fn v4(s: &str) -> IpAddr {
    s.parse().unwrap()
}

fn from<'a>(host: &'a str) -> impl Fn(&Frame) -> bool + 'a {
    move |f: &Frame| f.from_host.as_deref() == Some(host)
}

/// Gratuitous ARPs for `vip` from `host` captured so far, in order.
fn garps(cap: &Capture, host: &str, vip: Ipv4Addr) -> Vec<Frame> {
    cap.frames()
        .into_iter()
        .filter(|f| {
            from(host)(f)
                && f.arp()
                    .is_some_and(|a| a.is_gratuitous() && a.target_ip == vip)
        })
        .collect()
}

/// Waits until `n` more adverts from `host` than now have been captured: lets time pass in
/// units of the protocol instead of a sleep.
fn wait_adverts(cap: &Capture, host: &str, n: usize) {
    let count = || {
        cap.frames()
            .iter()
            .filter(|f| from(host)(f) && f.vrrp().is_some())
            .count()
    };
    let target = count() + n;
    assert!(
        wait_until(Duration::from_secs(5), || count() >= target),
        "{host} keeps advertising"
    );
}

fn min_gap(frames: &[Frame]) -> Duration {
    frames
        .windows(2)
        .map(|w| w[1].ts.duration_since(w[0].ts).unwrap_or_default())
        .min()
        .unwrap_or(Duration::MAX)
}

#[test]
fn p6_unicast_peers_elect_and_fail_over_without_multicast() {
    let lab = lab();
    let (r1, r2, c1) = (lab.host("r1"), lab.host("r2"), lab.host("c1"));
    let vip = v4("192.0.2.120");
    let cap = lab.default_segment().capture().expect("capture");
    std::thread::scope(|s| {
        let unicast = |name: &str, prio: u8, peer: &Host| {
            let mut cfg = config(name, prio, &[(vip, 24)]);
            cfg.instances[0].router.unicast_peers = vec![UnicastPeer::new(peer.ipv4.into())];
            cfg
        };
        let mut a = run(s, r1, unicast("r1", 200, r2));
        let mut b = run(s, r2, unicast("r2", 100, r1));
        a.wait_state(State::Active, Duration::from_secs(5));
        b.wait_state(State::Backup, Duration::from_secs(5));
        wait_adverts(&cap, "r1", 3);
        let adverts: Vec<_> = cap.frames().iter().filter_map(Frame::vrrp).collect();
        assert!(
            adverts
                .iter()
                .all(|v| v.dst == IpAddr::V4(r2.ipv4) || v.dst == IpAddr::V4(r1.ipv4)),
            "only unicast destinations: {:?}",
            adverts.iter().map(|v| v.dst).collect::<Vec<_>>()
        );
        assert!(adverts
            .iter()
            .any(|v| v.dst == IpAddr::V4(r2.ipv4) && v.ttl == 255));
        assert!(c1.ping(vip).unwrap());

        a.stop();
        let reason = b.wait_state(State::Active, Duration::from_secs(5));
        assert!(matches!(reason, Reason::ActiveLeft { .. }), "{reason:?}");
        assert!(
            wait_until(Duration::from_secs(5), || c1.neighbor(vip).unwrap()
                == Some(r2.mac)),
            "the client follows to r2"
        );
        b.stop();
    });
    assert_clean(r1);
    assert_clean(r2);
}

/// The Active loses its interface (`down`: admin down, else carrier loss): Fault with
/// reason InterfaceDown, the Backup takes over; back up, the higher-priority router returns
/// as Backup and, with Preempt_Mode on, preempts (RFC 9568 §6.4.2: the Backup discards the
/// lower-priority adverts, its Active_Down_Timer fires).
fn interface_loss(admin_down: bool) {
    let lab = lab();
    let (r1, r2, c1) = (lab.host("r1"), lab.host("r2"), lab.host("c1"));
    let vip = v4("192.0.2.121");
    std::thread::scope(|s| {
        let mut a = run(s, r1, config("r1", 200, &[(vip, 24)]));
        let mut b = run(s, r2, config("r2", 100, &[(vip, 24)]));
        a.wait_state(State::Active, Duration::from_secs(5));
        b.wait_state(State::Backup, Duration::from_secs(5));

        if admin_down {
            r1.link_down().unwrap();
        } else {
            r1.unplug().unwrap();
        }
        let reason = a.wait_state(State::Fault, Duration::from_secs(5));
        assert_eq!(reason, Reason::InterfaceDown);
        assert!(!r1.has_address(vip).unwrap(), "VIP released in Fault");
        let reason = b.wait_state(State::Active, Duration::from_secs(5));
        assert!(matches!(reason, Reason::ActiveSilent { .. }), "{reason:?}");
        assert!(c1.ping(vip).unwrap(), "the VIP answers on r2");

        if admin_down {
            r1.link_up().unwrap();
        } else {
            r1.plug().unwrap();
        }
        let reason = a.wait_state(State::Backup, Duration::from_secs(5));
        assert!(matches!(reason, Reason::Recovered { .. }), "{reason:?}");
        let reason = a.wait_state(State::Active, Duration::from_secs(5));
        assert!(
            matches!(
                reason,
                Reason::Preempted {
                    their_priority: 100,
                    our_priority: 200,
                    ..
                }
            ),
            "{reason:?}"
        );
        let reason = b.wait_state(State::Backup, Duration::from_secs(5));
        assert!(
            matches!(reason, Reason::HigherPriority { .. }),
            "{reason:?}"
        );
        assert!(
            wait_until(Duration::from_secs(5), || c1.neighbor(vip).unwrap()
                == Some(r1.mac)),
            "the client is back on r1"
        );
        a.stop();
        b.stop();
    });
    assert_clean(r1);
    assert_clean(r2);
}

#[test]
fn link_down_on_the_active_faults_it_and_it_preempts_back_when_up() {
    interface_loss(true);
}

#[test]
fn carrier_loss_on_the_active_faults_it_and_it_preempts_back_when_plugged() {
    interface_loss(false);
}

#[test]
fn r8_garp_burst_count_and_spacing_follow_the_announce_config() {
    let lab = lab();
    let r1 = lab.host("r1");
    let vip = Ipv4Addr::new(192, 0, 2, 122);
    let cap = lab.default_segment().capture().expect("capture");
    std::thread::scope(|s| {
        let mut cfg = config("r1", 100, &[(vip.into(), 24)]);
        let ann = &mut cfg.instances[0].router.announce;
        ann.burst_count = 3;
        ann.burst_spacing = vrrp_core::Duration::from_millis(200);
        let mut a = run(s, r1, cfg);
        a.wait_state(State::Active, Duration::from_secs(5));
        assert!(
            wait_until(Duration::from_secs(3), || garps(&cap, "r1", vip).len() >= 3),
            "three GARPs"
        );
        wait_adverts(&cap, "r1", 5);
        let g = garps(&cap, "r1", vip);
        assert_eq!(g.len(), 3, "burst_count 3 and nothing more");
        assert!(g.iter().all(|f| f.eth_src() == Some(r1.mac)));
        let gap = min_gap(&g);
        assert!(
            gap >= Duration::from_millis(180),
            "spacing {gap:?} < 200 ms"
        );
        // The first GARP follows the new Active's first advert, before its second.
        let frames = cap.frames();
        let adverts: Vec<usize> = (0..frames.len())
            .filter(|&i| from("r1")(&frames[i]) && frames[i].vrrp().is_some())
            .collect();
        let first_garp = frames.iter().position(|f| *f == g[0]).unwrap();
        assert!(
            adverts[0] < first_garp && first_garp < adverts[1],
            "advert {} < first GARP {first_garp} < advert {}",
            adverts[0],
            adverts[1]
        );
        a.stop();
    });
    assert_clean(r1);
}

#[test]
fn garp_interval_paces_announcements_on_the_interface() {
    let lab = lab();
    let r1 = lab.host("r1");
    let vips = [Ipv4Addr::new(192, 0, 2, 123), Ipv4Addr::new(192, 0, 2, 124)];
    let cap = lab.default_segment().capture().expect("capture");
    std::thread::scope(|s| {
        let mut cfg = config("r1", 100, &[(vips[0].into(), 24), (vips[1].into(), 24)]);
        cfg.instances[0].router.announce.burst_count = 3; // all due at once (spacing 0)
        cfg.garp_interval = Duration::from_millis(150);
        let mut a = run(s, r1, cfg);
        a.wait_state(State::Active, Duration::from_secs(5));
        let all = || {
            let mut g: Vec<Frame> = cap
                .frames()
                .into_iter()
                .filter(|f| from("r1")(f) && f.arp().is_some_and(|a| a.is_gratuitous()))
                .collect();
            g.sort_by_key(|f| f.ts);
            g
        };
        assert!(
            wait_until(Duration::from_secs(3), || all().len() >= 6),
            "3 rounds x 2 VIPs"
        );
        wait_adverts(&cap, "r1", 5);
        let g = all();
        assert_eq!(g.len(), 6);
        for vip in vips {
            assert_eq!(garps(&cap, "r1", vip).len(), 3, "{vip}");
        }
        let gap = min_gap(&g);
        assert!(
            gap >= Duration::from_millis(130),
            "garp_interval 150 ms, min gap {gap:?}"
        );
        a.stop();
    });
    assert_clean(r1);
}

#[test]
fn a_vip_removed_by_someone_else_is_re_added_and_announced() {
    let lab = lab();
    let (r1, c1) = (lab.host("r1"), lab.host("c1"));
    let vip = Ipv4Addr::new(192, 0, 2, 125);
    let cap = lab.default_segment().capture().expect("capture");
    std::thread::scope(|s| {
        let mut a = run(s, r1, config("r1", 100, &[(vip.into(), 24)]));
        a.wait_state(State::Active, Duration::from_secs(5));
        assert!(wait_until(Duration::from_secs(3), || garps(
            &cap, "r1", vip
        )
        .len()
            >= 5));
        wait_adverts(&cap, "r1", 1);
        cap.clear();
        r1.exec_ok("ip", &["addr", "del", "192.0.2.125/24", "dev", "eth0"])
            .unwrap();
        assert!(
            cap.wait_for(Duration::from_secs(3), |f| from("r1")(f)
                && f.arp()
                    .is_some_and(|a| a.is_gratuitous() && a.target_ip == vip))
                .is_some(),
            "re-announced"
        );
        assert!(
            wait_until(Duration::from_secs(2), || r1
                .has_address(vip.into())
                .unwrap()),
            "re-added"
        );
        assert!(c1.ping(vip.into()).unwrap());
        a.stop();
    });
    assert!(!r1.has_address(vip.into()).unwrap());
    assert_clean(r1);
}

#[test]
fn a_router_started_on_a_down_interface_is_in_fault_until_it_comes_up() {
    let lab = lab();
    let r1 = lab.host("r1");
    let vip = v4("192.0.2.126");
    r1.link_down().unwrap();
    std::thread::scope(|s| {
        let mut a = run(s, r1, config("r1", 100, &[(vip, 24)]));
        let reason = a.wait_state(State::Fault, Duration::from_secs(5));
        assert_eq!(reason, Reason::InterfaceDown);
        assert!(!r1.has_address(vip).unwrap());
        r1.link_up().unwrap();
        let reason = a.wait_state(State::Backup, Duration::from_secs(5));
        assert!(matches!(reason, Reason::Recovered { .. }), "{reason:?}");
        a.wait_state(State::Active, Duration::from_secs(5));
        assert!(r1.has_address(vip).unwrap());
        a.stop();
    });
    assert_clean(r1);
}

/// Gratuitous ARPs and unsolicited NAs from `host`, as the address each one announces.
fn announced(cap: &Capture, host: &str) -> std::collections::HashSet<IpAddr> {
    cap.frames()
        .into_iter()
        .filter(|f| from(host)(f))
        .filter_map(|f| {
            if let Some(a) = f.arp().filter(|a| a.is_gratuitous()) {
                return Some(IpAddr::V4(a.target_ip));
            }
            f.neighbor_advert().map(|na| IpAddr::V6(na.target))
        })
        .collect()
}

#[test]
fn vips_of_many_routers_taking_over_together_are_all_added_before_any_state_event() {
    let lab = lab();
    let (r1, c1) = (lab.host("r1"), lab.host("c1"));
    let cap = lab.default_segment().capture().expect("capture");
    // 150 IPv4 routers and 2 IPv6 routers with two VIPs each (link-local first), alone on the
    // segment with the same priority and interval: their Active_Down_Timers expire together,
    // so one batch adds 154 VIPs (pipelined, ahead of the batch's other actions). Added one at
    // a time in the batch's order, as before, most were still missing at the first state
    // event (this check failed in 3 of 3 runs).
    let mut instances = Vec::new();
    let mut vips: Vec<IpAddr> = Vec::new();
    for vrid in 1..=150u8 {
        let vip = IpAddr::V4(Ipv4Addr::new(192, 0, 2, 100 + vrid));
        let mut spec = common::running::instance(&format!("v4_{vrid}"), 100, &[(vip, 24)]);
        spec.router.vrid = vrid;
        instances.push(spec);
        vips.push(vip);
    }
    for vrid in 151..=152u8 {
        let pair: [IpAddr; 2] = [
            format!("fe80::1:{vrid}").parse().unwrap(),
            format!("2001:db8::1:{vrid}").parse().unwrap(),
        ];
        let mut spec =
            common::running::instance(&format!("v6_{vrid}"), 100, &[(pair[0], 64), (pair[1], 64)]);
        spec.router.vrid = vrid;
        instances.push(spec);
        vips.extend(pair);
    }
    let missing = |vips: &[IpAddr]| -> Vec<IpAddr> {
        let on = r1.addresses().expect("ip addr");
        vips.iter()
            .filter(|v| !on.iter().any(|a| a.addr == **v))
            .copied()
            .collect()
    };
    std::thread::scope(|s| {
        let mut a = run(s, r1, vrrp_net::driver::DriverConfig::new(instances));
        a.wait_state(State::Active, Duration::from_secs(5));
        // The first Active event of the batch is sent after every add of the batch.
        let late = missing(&vips);
        assert!(late.is_empty(), "not on r1 at the first event: {late:?}");
        for _ in 1..152 {
            a.wait_state(State::Active, Duration::from_secs(5));
        }
        // Every address is announced, and serves (accept_mode on).
        assert!(
            wait_until(Duration::from_secs(3), || {
                let seen = announced(&cap, "r1");
                vips.iter().all(|v| seen.contains(v))
            }),
            "every VIP announced"
        );
        assert!(c1.ping(vips[0]).unwrap());
        assert!(c1.ping(vips[149]).unwrap());
        a.stop();
    });
    assert_eq!(missing(&vips).len(), vips.len(), "VIPs left on r1");
    assert_clean(r1);
}

/// keepalived's `mcast_dst_ip`: both routers advertise to 233.252.0.18 (MCAST-TEST-NET) and
/// join it, so the lower-priority one hears the Active and stays Backup. Without the join the
/// kernel drops adverts to a group the interface is not a member of, and both become Active.
#[test]
fn a_configured_multicast_group_carries_the_election() {
    let lab = lab();
    let (r1, r2) = (lab.host("r1"), lab.host("r2"));
    let group = v4("233.252.0.18");
    let vip = v4("192.0.2.122");
    let cap = lab.default_segment().capture().expect("capture");
    std::thread::scope(|s| {
        let grouped = |name: &str, prio: u8| {
            let mut cfg = config(name, prio, &[(vip, 24)]);
            cfg.instances[0].router.mcast_group = Some(group);
            cfg
        };
        let mut a = run(s, r1, grouped("r1", 200));
        a.wait_state(State::Active, Duration::from_secs(5));
        let mut b = run(s, r2, grouped("r2", 100));
        b.wait_state(State::Backup, Duration::from_secs(5));
        // Three Active_Down_Intervals pass: r2 hears r1 and stays Backup.
        wait_adverts(&cap, "r1", 12);
        assert!(
            b.events.try_iter().all(|ev| !matches!(
                ev,
                vrrp_net::driver::Event::StateChanged {
                    to: State::Active,
                    ..
                }
            )),
            "r2 took over although r1 advertises to the group"
        );
        let dsts: Vec<IpAddr> = cap
            .frames()
            .iter()
            .filter_map(Frame::vrrp)
            .map(|v| v.dst)
            .collect();
        assert!(
            !dsts.is_empty() && dsts.iter().all(|d| *d == group),
            "{dsts:?}"
        );
        a.stop();
        let reason = b.wait_state(State::Active, Duration::from_secs(5));
        assert!(matches!(reason, Reason::ActiveLeft { .. }), "{reason:?}");
        b.stop();
    });
    assert_clean(r1);
    assert_clean(r2);
}

/// keepalived's `track_src_ip`: the source address (`mcast_src_ip`) being removed from the
/// interface faults the router, its return ends the fault. A source address already missing
/// at start does not fault it (keepalived acts on address removals only).
#[test]
fn track_src_ip_faults_on_removal_of_the_source_address_and_recovers_on_its_return() {
    let lab = lab();
    let r1 = lab.host("r1");
    let src = "192.0.2.77";
    let vip = v4("192.0.2.124");
    r1.exec_ok("ip", &["addr", "add", &format!("{src}/24"), "dev", "eth0"])
        .unwrap();
    std::thread::scope(|s| {
        let mut cfg = config("r1", 100, &[(vip, 24)]);
        cfg.instances[0].router.primary_addr = v4(src);
        cfg.instances[0].track_source = true;
        let mut a = run(s, r1, cfg);
        a.wait_state(State::Active, Duration::from_secs(5));
        r1.exec_ok("ip", &["addr", "del", &format!("{src}/24"), "dev", "eth0"])
            .unwrap();
        let reason = a.wait_state(State::Fault, Duration::from_secs(5));
        assert_eq!(reason, Reason::NoSourceAddress);
        assert!(
            wait_until(Duration::from_secs(5), || !r1.has_address(vip).unwrap()),
            "the VIP leaves with the fault"
        );
        r1.exec_ok("ip", &["addr", "add", &format!("{src}/24"), "dev", "eth0"])
            .unwrap();
        a.wait_state(State::Active, Duration::from_secs(5));
        a.stop();

        // Missing from the start: the router runs, it is not faulted.
        let mut cfg = config("r1", 100, &[(vip, 24)]);
        cfg.instances[0].router.primary_addr = v4("192.0.2.78");
        cfg.instances[0].track_source = true;
        let mut b = run(s, r1, cfg);
        b.wait_state(State::Active, Duration::from_secs(5));
        b.stop();
    });
    assert_clean(r1);
}

/// The unsolicited NA's Router flag follows the interface's IPv6 forwarding, as keepalived
/// sets it: r1 forwards and announces with R, r2 does not and announces without.
#[test]
fn the_na_router_flag_is_set_only_where_ipv6_forwarding_is_on() {
    let lab = lab();
    let (r1, r2) = (lab.host("r1"), lab.host("r2"));
    r1.exec_ok("sysctl", &["-qw", "net.ipv6.conf.eth0.forwarding=1"])
        .unwrap();
    let cap = lab.default_segment().capture().expect("capture");
    let vip = |n: u8| -> IpAddr { format!("2001:db8::12:{n}").parse().unwrap() };
    std::thread::scope(|s| {
        let alone = |name: &str, vrid: u8| {
            let mut cfg = config(
                name,
                100,
                &[("fe80::12:1".parse().unwrap(), 64), (vip(vrid), 64)],
            );
            cfg.instances[0].router.vrid = vrid;
            cfg
        };
        let mut a = run(s, r1, alone("r1", 61));
        let mut b = run(s, r2, alone("r2", 62));
        a.wait_state(State::Active, Duration::from_secs(5));
        b.wait_state(State::Active, Duration::from_secs(5));
        let flags = |host: &str, target: IpAddr| -> Vec<bool> {
            cap.frames()
                .iter()
                .filter(|f| from(host)(f))
                .filter_map(Frame::neighbor_advert)
                .filter(|na| IpAddr::V6(na.target) == target)
                .map(|na| na.router)
                .collect()
        };
        assert!(
            wait_until(Duration::from_secs(3), || !flags("r1", vip(61)).is_empty()
                && !flags("r2", vip(62)).is_empty()),
            "both announce"
        );
        assert!(
            flags("r1", vip(61)).iter().all(|r| *r),
            "r1 forwards: R set"
        );
        assert!(
            flags("r2", vip(62)).iter().all(|r| !*r),
            "r2 does not: R clear"
        );
        a.stop();
        b.stop();
    });
    assert_clean(r1);
    assert_clean(r2);
}
