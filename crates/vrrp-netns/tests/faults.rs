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
