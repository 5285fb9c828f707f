//! Root-only tests of fault injection, observers and cleanup.

use std::mem::MaybeUninit;
use std::net::{IpAddr, SocketAddr};
use std::process::Command;
use std::time::Duration;

use socket2::{Domain, Protocol, Socket, Type};
use vrrp_netns::{cleanup_leftovers, require_root, wait_until, Direction, Host, Lab};

const VRRP: i32 = 112;

/// Polls until `from` can ping `to` (neighbour entries may need a retransmission after a fault
/// is removed).
fn eventually_reachable(from: &Host, to: IpAddr) -> bool {
    wait_until(Duration::from_secs(10), || from.ping(to).unwrap())
}

fn lab() -> Lab {
    Lab::builder()
        .router("r1")
        .router("r2")
        .client("c")
        .build()
        .expect("build lab")
}

/// A raw protocol-112 socket created inside `host`'s namespace.
fn raw_socket(host: &Host, v6: bool) -> Socket {
    host.run(|| {
        let domain = if v6 { Domain::IPV6 } else { Domain::IPV4 };
        let s = Socket::new(domain, Type::RAW, Some(Protocol::from(VRRP))).unwrap();
        s.set_nonblocking(true).unwrap();
        s
    })
    .unwrap()
}

/// Sends `n` packets; returns how many the kernel accepted (an nftables drop in the output
/// hook makes `sendto` fail with EPERM).
fn send_to(sock: &Socket, dst: IpAddr, n: usize) -> usize {
    let addr: SocketAddr = (dst, 0).into();
    // A VRRPv3-looking payload; content is irrelevant to the filter.
    let msg = [0x31, 1, 100, 1, 0, 100, 0, 0, 192, 0, 2, 254];
    (0..n)
        .filter(|_| sock.send_to(&msg, &addr.into()).is_ok())
        .count()
}

/// Drains the socket; returns how many packets were queued.
fn drain(sock: &Socket) -> usize {
    let mut n = 0;
    let mut buf = [MaybeUninit::<u8>::uninit(); 2048];
    while sock.recv(&mut buf).is_ok() {
        n += 1;
    }
    n
}

fn received_within(sock: &Socket, timeout: Duration) -> bool {
    let mut got = 0;
    wait_until(timeout, || {
        got += drain(sock);
        got > 0
    })
}

#[test]
fn loss_drops_vrrp_both_families() {
    require_root();
    let lab = lab();
    let (r1, r2) = (lab.host("r1"), lab.host("r2"));
    for v6 in [false, true] {
        let dst: IpAddr = if v6 { r2.ipv6.into() } else { r2.ipv4.into() };
        let tx = raw_socket(r1, v6);
        let rx = raw_socket(r2, v6);
        assert_eq!(send_to(&tx, dst, 1), 1);
        assert!(
            received_within(&rx, Duration::from_secs(3)),
            "baseline v6={v6}"
        );

        r2.set_loss(100).unwrap();
        let before = r2.loss_drops().unwrap();
        assert_eq!(send_to(&tx, dst, 5), 5);
        assert!(
            wait_until(Duration::from_secs(3), || r2.loss_drops().unwrap()
                >= before + 5),
            "drop counter did not reach 5 (v6={v6}): {}",
            r2.loss_drops().unwrap()
        );
        assert_eq!(drain(&rx), 0, "a packet got through 100% loss (v6={v6})");
        // Other traffic is unaffected.
        assert!(lab.host("c").ping(dst).unwrap());

        r2.clear_loss().unwrap();
        assert_eq!(r2.loss_drops().unwrap(), 0);
        assert_eq!(send_to(&tx, dst, 1), 1);
        assert!(
            received_within(&rx, Duration::from_secs(3)),
            "after clear v6={v6}"
        );
    }
    // Egress loss on the sender.
    let tx = raw_socket(r1, false);
    let rx = raw_socket(r2, false);
    r1.set_loss_dir(100, Direction::Out).unwrap();
    assert_eq!(send_to(&tx, r2.ipv4.into(), 3), 0);
    assert!(wait_until(Duration::from_secs(3), || r1
        .loss_drops()
        .unwrap()
        >= 3));
    assert_eq!(drain(&rx), 0);
    assert!(r1.set_loss(101).is_err());
}

#[test]
fn partition_and_heal() {
    require_root();
    let lab = lab();
    let (r1, r2, c) = (lab.host("r1"), lab.host("r2"), lab.host("c"));
    assert!(r1.ping(r2.ipv4.into()).unwrap());
    lab.partition(&["r1"], &["r2", "c"]).unwrap();
    assert!(!r1.ping(r2.ipv4.into()).unwrap());
    assert!(!c.ping(r1.ipv6.into()).unwrap());
    assert!(c.ping(r2.ipv4.into()).unwrap());
    assert!(lab.partition(&["nope"], &["r1"]).is_err());
    lab.heal().unwrap();
    assert!(eventually_reachable(r1, r2.ipv4.into()));
    assert!(eventually_reachable(c, r1.ipv6.into()));
}

#[test]
fn link_down_up_and_unplug_keep_addresses() {
    require_root();
    let lab = lab();
    let (r1, c) = (lab.host("r1"), lab.host("c"));
    r1.link_down().unwrap();
    assert!(!r1.is_up().unwrap());
    assert!(!c.ping(r1.ipv4.into()).unwrap());
    assert!(r1.has_address(r1.ipv6.into()).unwrap());
    r1.link_up().unwrap();
    assert!(r1.has_address(r1.link_local.into()).unwrap());
    assert!(wait_until(Duration::from_secs(5), || r1.is_up().unwrap()));
    assert!(eventually_reachable(c, r1.ipv4.into()));
    assert!(eventually_reachable(c, r1.ipv6.into()));

    lab.unplug("r1").unwrap();
    assert!(wait_until(Duration::from_secs(5), || !r1.is_up().unwrap()));
    assert!(!c.ping(r1.ipv4.into()).unwrap());
    assert!(r1.has_address(r1.link_local.into()).unwrap());
    lab.plug("r1").unwrap();
    assert!(wait_until(Duration::from_secs(5), || r1.is_up().unwrap()));
    assert!(eventually_reachable(c, r1.ipv4.into()));
    assert!(eventually_reachable(c, r1.link_local.into()));
}

#[test]
fn arping_reports_answering_macs() {
    require_root();
    let lab = lab();
    let r1 = lab.host("r1");
    assert_eq!(lab.arping("c", r1.ipv4).unwrap(), vec![r1.mac]);
    assert!(lab
        .arping("c", "192.0.2.77".parse().unwrap())
        .unwrap()
        .is_empty());
    // The same address on two hosts (a VRRP split brain): both answer.
    let r2 = lab.host("r2");
    for h in [r1, r2] {
        h.exec_ok("ip", &["addr", "add", "192.0.2.254/24", "dev", "eth0"])
            .unwrap();
    }
    let mut macs = lab
        .host("c")
        .arping("192.0.2.254".parse().unwrap(), 3)
        .unwrap();
    macs.sort();
    assert_eq!(macs, vec![r1.mac, r2.mac]);
}

#[test]
fn cleanup_removes_namespaces_of_dead_pids_only() {
    require_root();
    let lab = lab();
    // A shell creates a namespace named after its own pid, leaves a process in it, and exits.
    let out = Command::new("sh")
        .args([
            "-c",
            "n=vn$$_zz-leftover; ip netns add $n && (ip netns exec $n sleep 300 >/dev/null 2>&1 &) && echo $n",
        ])
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    let name = String::from_utf8(out.stdout).unwrap().trim().to_string();
    let listed = |n: &str| {
        let l = Command::new("ip").args(["netns", "list"]).output().unwrap();
        String::from_utf8_lossy(&l.stdout)
            .lines()
            .any(|line| line.split_whitespace().next() == Some(n))
    };
    assert!(listed(&name));
    let removed = cleanup_leftovers().unwrap();
    // (A concurrent cleanup in another test process may have beaten us to it.)
    assert!(removed.contains(&name) || !listed(&name), "{removed:?}");
    assert!(!listed(&name));
    // Our own lab (live pid) is untouched.
    assert!(removed.iter().all(|r| !r.contains(lab.id())));
    assert!(listed(lab.host("r1").netns.name()));
    assert!(lab.host("c").ping(lab.host("r1").ipv4.into()).unwrap());
}

/// The interfaces of a namespace as `(ifindex, name, master)`, sorted.
fn links(ns: &vrrp_netns::Netns) -> Vec<(u32, String, Option<String>)> {
    let out = ns.ip(&["-j", "link", "show"]).unwrap();
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    let mut l: Vec<_> = v
        .as_array()
        .unwrap()
        .iter()
        .map(|l| {
            (
                l["ifindex"].as_u64().unwrap() as u32,
                l["ifname"].as_str().unwrap().to_string(),
                l["master"].as_str().map(String::from),
            )
        })
        .collect();
    l.sort();
    l
}

/// Serialises the delay tests: they count this process's relay threads.
static DELAY_TESTS: std::sync::Mutex<()> = std::sync::Mutex::new(());

/// Threads of this process whose name starts with `delay:`.
fn delay_threads() -> usize {
    std::fs::read_dir("/proc/self/task")
        .unwrap()
        .filter_map(|e| std::fs::read_to_string(e.ok()?.path().join("comm")).ok())
        .filter(|c| c.starts_with("delay:"))
        .count()
}

fn rtt(from: &Host, to: IpAddr) -> (Duration, Duration, Duration) {
    from.ping_rtt(to, 5)
        .unwrap()
        .unwrap_or_else(|| panic!("no ping answer from {to}"))
}

#[test]
fn delay_relay_adds_latency_and_restores_the_wiring() {
    require_root();
    let _serial = DELAY_TESTS.lock().unwrap_or_else(|e| e.into_inner());
    let lab = lab();
    let (r1, r2) = (lab.host("r1"), lab.host("r2"));
    let seg = lab.default_segment();
    let wiring = links(&seg.netns);
    let (_, before, _) = rtt(r1, r2.ipv4.into());
    assert!(
        before < Duration::from_millis(20),
        "baseline RTT {before:?}"
    );

    let base = Duration::from_millis(40);
    lab.set_delay("r2", base, Duration::ZERO).unwrap();
    assert_eq!(delay_threads(), 1);
    assert_eq!(lab.delays(), vec![("r2".to_string(), base, Duration::ZERO)]);
    // Each ping crosses the relay twice (request in, reply out).
    let (min, avg, max) = rtt(r1, r2.ipv4.into());
    assert!(min >= 2 * base, "min RTT {min:?} < 2 x {base:?}");
    assert!(
        max < 2 * base + Duration::from_millis(60),
        "max RTT {max:?}"
    );
    println!("delay 40 ms: RTT min {min:?} avg {avg:?} max {max:?} (baseline {before:?})");
    // IPv6 (ND through the relay too).
    let (min6, _, _) = rtt(r1, r2.ipv6.into());
    assert!(min6 >= 2 * base, "IPv6 min RTT {min6:?}");
    // Traffic not involving r2 is not delayed.
    let (_, other, _) = rtt(r1, lab.host("c").ipv4.into());
    assert!(other < Duration::from_millis(20), "r1 <-> c RTT {other:?}");

    // VRRP-like raw packets pass, delayed once (one direction).
    let tx = raw_socket(r1, false);
    let rx = raw_socket(r2, false);
    let t0 = std::time::Instant::now();
    assert_eq!(send_to(&tx, r2.ipv4.into(), 3), 3);
    assert!(
        received_within(&rx, Duration::from_secs(3)),
        "VRRP via relay"
    );
    let one_way = t0.elapsed();
    assert!(
        one_way >= base,
        "raw packet arrived after {one_way:?} < {base:?}"
    );
    // Multicast to 224.0.0.18 from the delayed host reaches the others.
    let tx2 = raw_socket(r2, false);
    tx2.set_multicast_if_v4(&r2.ipv4).unwrap();
    let rx1 = raw_socket(r1, false);
    rx1.join_multicast_v4(&"224.0.0.18".parse().unwrap(), &r1.ipv4)
        .unwrap();
    assert_eq!(send_to(&tx2, "224.0.0.18".parse().unwrap(), 2), 2);
    assert!(
        received_within(&rx1, Duration::from_secs(3)),
        "multicast via relay"
    );

    // Jitter: base 30 +- 10 ms each way; order kept.
    lab.set_delay("r2", Duration::from_millis(30), Duration::from_millis(10))
        .unwrap();
    assert_eq!(delay_threads(), 1, "set_delay again reuses the relay");
    let (min, _, max) = r1.ping_rtt(r2.ipv4.into(), 10).unwrap().unwrap();
    assert!(
        min >= Duration::from_millis(40),
        "min RTT with jitter {min:?}"
    );
    assert!(
        max < Duration::from_millis(80 + 60),
        "max RTT with jitter {max:?}"
    );

    // Partitions still cut the delayed host off (rules name the relay port too).
    lab.partition(&["r2"], &["r1", "c"]).unwrap();
    assert!(!r1.ping(r2.ipv4.into()).unwrap());
    lab.heal().unwrap();
    assert!(eventually_reachable(r1, r2.ipv4.into()));

    lab.clear_delay("r2").unwrap();
    assert_eq!(delay_threads(), 0, "relay thread left behind");
    assert_eq!(links(&seg.netns), wiring, "bridge wiring not restored");
    assert!(lab.delays().is_empty());
    assert!(eventually_reachable(r1, r2.ipv4.into()));
    let (_, after, max) = rtt(r1, r2.ipv4.into());
    assert!(
        after < Duration::from_millis(20),
        "RTT after clear {after:?}"
    );
    assert!(
        max < Duration::from_millis(30),
        "max RTT after clear {max:?}"
    );
    lab.clear_delay("r2").unwrap(); // idempotent
    assert!(lab.set_delay("nope", base, Duration::ZERO).is_err());
    assert!(lab
        .set_delay("r2", Duration::from_millis(1), Duration::from_millis(2))
        .is_err());
}

#[test]
fn delay_relay_is_removed_with_the_lab() {
    require_root();
    let _serial = DELAY_TESTS.lock().unwrap_or_else(|e| e.into_inner());
    let lab = lab();
    let names: Vec<String> = lab.hosts().map(|h| h.netns.name().to_string()).collect();
    lab.set_delay("r1", Duration::from_millis(5), Duration::from_millis(1))
        .unwrap();
    lab.set_delay("c", Duration::from_millis(5), Duration::ZERO)
        .unwrap();
    assert!(eventually_reachable(
        lab.host("c"),
        lab.host("r1").ipv4.into()
    ));
    drop(lab);
    assert_eq!(delay_threads(), 0, "relay threads left behind");
    let l = Command::new("ip").args(["netns", "list"]).output().unwrap();
    let list = String::from_utf8_lossy(&l.stdout);
    for n in names {
        assert!(!list.contains(&n), "namespace {n} left behind");
    }
}
