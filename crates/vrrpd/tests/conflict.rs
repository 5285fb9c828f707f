//! Conflict-driven re-announcement end to end in namespaces (issue #19 item 3,
//! docs/decisions/0007-conflict-detection.md): the Active notices another MAC claiming its
//! VIP, logs and counts it, and re-announces the VIP at once, so that a client's neighbour
//! entry that went to the wrong MAC comes back within a second.

mod support;

use std::net::IpAddr;
use std::time::{Duration, Instant};

use support::Daemon;
use vrrp_netns::{format_mac, wait_until, Frame, Host, Signal};

const VIP: &str = "192.0.2.100";
/// The IPv6 VIP, in the lab's 2001:db8:1::/64.
const VIP6: &str = "2001:db8:1::100";

/// An instance for `vip` with VRID 51: its refresh phase puts the first conflict probe 0.59 s
/// (IPv4) or 0.44 s (IPv6) after takeover, and the first refresh a full second (half a 2 s
/// slot) after that.
fn instance_for(vip: &str, priority: u8, refresh: u32) -> String {
    format!(
        "global_defs {{
    vrrp_version 3
    vrrp_garp_master_delay 0
}}
vrrp_instance VI_1 {{
    state BACKUP
    interface eth0
    virtual_router_id 51
    priority {priority}
    advert_int 0.2
    garp_master_refresh {refresh}
    virtual_ipaddress {{
        {vip}
    }}
}}
"
    )
}

fn instance(priority: u8, refresh: u32) -> String {
    instance_for(VIP, priority, refresh)
}

fn vip() -> IpAddr {
    VIP.parse().unwrap()
}

fn mac_text(mac: [u8; 6]) -> String {
    format_mac(&mac)
}

/// The MAC `host`'s neighbour table holds for `vip`.
fn neighbour(host: &Host, vip: IpAddr) -> Option<[u8; 6]> {
    host.neighbor(vip).expect("ip neigh")
}

/// Polls `host`'s neighbour entry of `vip` until it is `want`; how long that took, or `None`
/// after `within`.
fn time_until_neighbour(
    host: &Host,
    vip: IpAddr,
    want: [u8; 6],
    within: Duration,
) -> Option<Duration> {
    let start = Instant::now();
    wait_until(within, || neighbour(host, vip) == Some(want)).then(|| start.elapsed())
}

/// Sets `host`'s neighbour entry of `vip` to `mac`, as a client that missed the takeover's
/// gratuitous ARPs or NAs (or was answered by the old node's kernel) has it.
fn set_neighbour(host: &Host, vip: IpAddr, mac: [u8; 6]) {
    let (ip, mac) = (vip.to_string(), mac_text(mac));
    let args = [
        "neigh", "replace", &ip, "lladdr", &mac, "dev", "eth0", "nud", "stale",
    ];
    host.netns.ip(&args).expect("ip neigh replace");
    assert_eq!(
        neighbour(host, vip).map(mac_text),
        Some(mac),
        "entry planted"
    );
}

/// kill -9 of the Active's daemon leaves its VIP installed and its kernel answering ARP and
/// ND. The Backup takes over, and its probe for the VIP (an RFC 5227 ARP probe from 0.0.0.0,
/// or an NS from `::` to the solicited-node group) draws the old node's answer: the conflict
/// is logged and counted within one probe interval. A client whose entry is on the old node's
/// MAC then (the takeover's announcements missed; for IPv6 the old kernel's answer, an NA to
/// all nodes, even moves it there) is back on the new Active's within a second of the
/// detection, and before the periodic refresh, a second after the probe, could have done it.
fn after_kill_9_the_new_active_detects_the_old_kernel(vip_text: &str, family: &str) {
    let vip: IpAddr = vip_text.parse().unwrap();
    let lab = support::lab(true);
    let tmp = support::tempdir();
    let dir = tmp.path();
    let (r1, r2, c1) = (lab.host("r1"), lab.host("r2"), lab.host("c1"));
    let mut a = Daemon::start(r1, dir, &instance_for(vip_text, 150, 2));
    a.expect(&["(VI_1) Entering MASTER STATE"], Duration::from_secs(5));
    let mut b = Daemon::start(r2, dir, &instance_for(vip_text, 100, 2));
    b.expect(&["(VI_1) Entering BACKUP STATE"], Duration::from_secs(5));
    let cap = lab.default_segment().capture().unwrap();
    assert!(c1.ping(vip).unwrap(), "the client reaches the VIP");
    assert_eq!(neighbour(c1, vip), Some(r1.mac), "the client is on r1");

    a.signal(Signal::SIGKILL);
    a.wait_exit(Duration::from_secs(2));
    assert!(r1.has_address(vip).unwrap(), "kill -9 leaves the VIP on r1");
    b.expect(&["(VI_1) Entering MASTER STATE"], Duration::from_secs(3));
    let takeover = Instant::now();
    let takeover_wall = std::time::SystemTime::now();
    // The takeover's announcements reached the client; make it miss them.
    set_neighbour(c1, vip, r1.mac);

    let r1_mac = mac_text(r1.mac);
    let line = b.expect(
        &["address conflict", &r1_mac, vip_text, "conflicts=1"],
        Duration::from_secs(3),
    );
    let detected = Instant::now();
    assert!(
        detected - takeover < Duration::from_secs(2) + Duration::from_millis(200),
        "within one probe interval (garp_master_refresh 2) of the takeover: {:?}",
        detected - takeover
    );
    let address = format!("address={vip_text}");
    let family = format!("family={family}");
    for field in ["WARN", "instance=VI_1", "vrid=51", &family, &address] {
        assert!(line.contains(field), "{field} in {line}");
    }
    let took = time_until_neighbour(c1, vip, r2.mac, Duration::from_secs(1));
    let took = took.unwrap_or_else(|| {
        panic!(
            "the client is still on {:?} a second after the detection",
            neighbour(c1, vip).map(mac_text)
        )
    });
    assert!(
        took < Duration::from_millis(500),
        "the conflict's re-announcement moved the client, not the refresh a second after the \
         probe: {took:?}"
    );
    // The old kernel answers every probe, and each answer is re-announced at once (a second
    // apart at least, two probe intervals here; the log says so only every 10 s).
    let answer = |f: &Frame| {
        f.from_host.as_deref() == Some("r1")
            && f.ts >= takeover_wall
            && match vip {
                IpAddr::V4(v4) => f
                    .arp()
                    .is_some_and(|a| !a.is_request() && a.sender_ip == v4),
                IpAddr::V6(v6) => f.neighbor_advert().is_some_and(|n| n.target == v6),
            }
    };
    let first = cap
        .wait_for(Duration::from_secs(1), answer)
        .expect("r1's answer");
    let next = cap
        .wait_for(Duration::from_secs(3), |f| {
            answer(f) && f.ts >= first.ts + Duration::from_secs(1)
        })
        .expect("r1 answers the next probe too");
    let reannounced = cap.wait_for(Duration::from_secs(1), |f| {
        f.from_host.as_deref() == Some("r2")
            && f.ts >= next.ts
            && f.ts <= next.ts + Duration::from_millis(200)
            && match vip {
                IpAddr::V4(v4) => f
                    .arp()
                    .is_some_and(|a| a.is_gratuitous() && a.sender_ip == v4),
                IpAddr::V6(v6) => f
                    .neighbor_advert()
                    .is_some_and(|n| !n.solicited && n.target == v6),
            }
    });
    assert!(
        reannounced.is_some(),
        "r2 re-announces after the second answer too"
    );
    let repeated = b
        .drain()
        .into_iter()
        .find(|l| l.contains("address conflict"));
    assert_eq!(
        repeated, None,
        "the second conflict within 10 s is not logged"
    );
}

#[test]
fn after_kill_9_the_new_active_detects_the_old_kernel_and_the_client_follows() {
    after_kill_9_the_new_active_detects_the_old_kernel(VIP, "V4");
}

#[test]
fn after_kill_9_the_new_active_detects_the_old_kernel_and_the_client_follows_ipv6() {
    after_kill_9_the_new_active_detects_the_old_kernel(VIP6, "V6");
}

/// A gratuitous ARP for the VIP from another host's MAC (a misconfigured host) moves a
/// neighbour's entry away; the Active notices it on the segment without any probe
/// (`garp_master_refresh 0`: no probes, no refresh), logs it with that MAC and re-announces,
/// and the neighbour is back on the Active within a second.
#[test]
fn a_gratuitous_arp_from_a_foreign_mac_is_detected_and_answered() {
    let lab = support::lab(true);
    let tmp = support::tempdir();
    let dir = tmp.path();
    let (r1, r2, c1) = (lab.host("r1"), lab.host("r2"), lab.host("c1"));
    let mut a = Daemon::start(r1, dir, &instance(150, 0));
    a.expect(&["(VI_1) Entering MASTER STATE"], Duration::from_secs(5));
    // r2 runs no daemon here: it is a neighbour with an entry for the VIP.
    assert!(r2.ping(vip()).unwrap());
    assert_eq!(neighbour(r2, vip()), Some(r1.mac));
    a.drain();

    let out = c1
        .netns
        .exec(
            "arping",
            &["-q", "-U", "-c", "1", "-S", VIP, "-i", "eth0", VIP],
        )
        .expect("arping (Habets) is installed");
    // Habets arping exits 1 when nothing answers, as nothing does an unsolicited ARP.
    assert!(
        matches!(out.status.code(), Some(0 | 1)) && out.stderr.is_empty(),
        "arping -U: {out:?}"
    );
    let line = a.expect(
        &["address conflict", &mac_text(c1.mac), VIP, "conflicts=1"],
        Duration::from_secs(2),
    );
    assert!(line.contains("WARN"), "{line}");
    let took = time_until_neighbour(r2, vip(), r1.mac, Duration::from_secs(1));
    assert!(
        took.is_some(),
        "the neighbour is on {:?}, not on the Active, a second after the conflict",
        neighbour(r2, vip()).map(mac_text)
    );
}

/// A preemption is a handover, not a conflict: the preempted Active releases the VIP as the
/// new Active's first advert arrives (it serves adverts before the claims queued with them,
/// so the new Active's gratuitous ARPs find it Backup), and the new Active's first probe,
/// never earlier than 250 ms after takeover, draws no answer. Neither logs a conflict.
#[test]
fn a_preemption_is_no_conflict_for_either_router() {
    let lab = support::lab(false);
    let tmp = support::tempdir();
    let dir = tmp.path();
    let (r1, r2) = (lab.host("r1"), lab.host("r2"));
    let cap = lab.default_segment().capture().unwrap();
    let mut b = Daemon::start(r2, dir, &instance(100, 2));
    b.expect(&["(VI_1) Entering MASTER STATE"], Duration::from_secs(5));
    let mut a = Daemon::start(r1, dir, &instance(150, 2));
    a.expect(&["(VI_1) Entering MASTER STATE"], Duration::from_secs(5));
    b.expect(&["(VI_1) Entering BACKUP STATE"], Duration::from_secs(2));

    let vip4: std::net::Ipv4Addr = VIP.parse().unwrap();
    let probe = cap
        .wait_for(Duration::from_secs(3), |f| {
            f.from_host.as_deref() == Some("r1")
                && f.arp().is_some_and(|a| {
                    a.sender_ip.is_unspecified() && a.target_ip == vip4 && a.is_request()
                })
        })
        .expect("r1's ARP probe for the VIP on the wire");
    // An answer would come within milliseconds; two advert intervals later it would be logged.
    let later = probe.ts + Duration::from_millis(400);
    let advert = cap.wait_for(Duration::from_secs(2), |f| {
        f.from_host.as_deref() == Some("r1") && f.ts >= later && f.vrrp_advert().is_some()
    });
    assert!(advert.is_some(), "r1 advertises after its probe");
    let answers = cap.frames().into_iter().filter(|f| {
        f.ts >= probe.ts
            && f.arp()
                .is_some_and(|a| !a.is_request() && a.sender_ip == vip4)
    });
    assert_eq!(answers.count(), 0, "nobody answered the probe");
    for (name, d) in [("r1", &mut a), ("r2", &mut b)] {
        d.drain();
        let conflict = d.seen.iter().find(|l| l.contains("address conflict"));
        assert!(conflict.is_none(), "{name} logged {conflict:?}");
    }
}
