//! Root-only integration tests of the lab harness. They fail (never skip) without root.

use std::net::{IpAddr, Ipv6Addr};
use std::process::{Command, Stdio};
use std::time::Duration;

use vrrp_netns::{require_root, wait_until, Lab, Netns, Signal};

fn root_state() -> String {
    let ns = Command::new("ip").args(["netns", "list"]).output().unwrap();
    let link = Command::new("ip").args(["-o", "link"]).output().unwrap();
    format!(
        "{}\n{}",
        String::from_utf8_lossy(&ns.stdout),
        String::from_utf8_lossy(&link.stdout)
    )
}

fn three_hosts() -> Lab {
    Lab::builder()
        .router("r1")
        .router("r2")
        .client("c")
        .build()
        .expect("build lab")
}

#[test]
fn addressing_and_ping() {
    require_root();
    let lab = three_hosts();
    let (r1, r2, c) = (lab.host("r1"), lab.host("r2"), lab.host("c"));
    assert_eq!(r1.mac, [2, 0, 0, 0, 1, 1]);
    assert_eq!(r2.mac, [2, 0, 0, 0, 1, 2]);
    assert_eq!(c.mac, [2, 0, 0, 0, 1, 3]);
    assert_eq!(r1.ipv4.to_string(), "192.0.2.1");
    assert_eq!(c.ipv4.to_string(), "192.0.2.3");
    assert_eq!(r2.ipv6.to_string(), "2001:db8:1::2");
    assert_eq!(r2.link_local.to_string(), "fe80::2");
    assert_eq!(r1.iface, "eth0");
    assert!(r1.netns.name().starts_with(&format!("vn{}-", lab.id())));
    assert_eq!(lab.hosts().count(), 3);

    // The link-local is the only fe80 address, and nothing is tentative.
    let addrs = r2.addresses().unwrap();
    let ll: Vec<_> = addrs
        .iter()
        .filter(|a| matches!(a.addr, IpAddr::V6(v6) if v6.segments()[0] == 0xfe80))
        .collect();
    assert_eq!(ll.len(), 1, "{addrs:?}");
    assert_eq!(
        ll[0].addr,
        IpAddr::V6("fe80::2".parse::<Ipv6Addr>().unwrap())
    );
    assert!(addrs.iter().all(|a| !a.tentative), "{addrs:?}");
    assert!(r2.has_address(r2.ipv4.into()).unwrap());
    assert!(!r2.has_address(r1.ipv4.into()).unwrap());
    // MAC as the kernel sees it.
    let link = r1.exec_ok("ip", &["-o", "link", "show", "eth0"]).unwrap();
    assert!(link.contains("02:00:00:00:01:01"), "{link}");
    // lo up.
    let lo = r1.exec_ok("ip", &["-o", "link", "show", "lo"]).unwrap();
    assert!(lo.contains("UP"), "{lo}");

    for (from, to) in [(c, r1), (c, r2), (r1, r2)] {
        assert!(
            from.ping(to.ipv4.into()).unwrap(),
            "v4 {} -> {}",
            from.name,
            to.name
        );
        assert!(
            from.ping(to.ipv6.into()).unwrap(),
            "v6 {} -> {}",
            from.name,
            to.name
        );
        assert!(
            from.ping(to.link_local.into()).unwrap(),
            "ll {} -> {}",
            from.name,
            to.name
        );
    }
    // Neighbour tables now know the MACs.
    assert_eq!(c.neighbor(r1.ipv4.into()).unwrap(), Some(r1.mac));
    assert_eq!(c.neighbor(r2.ipv6.into()).unwrap(), Some(r2.mac));
    assert_eq!(c.neighbor("192.0.2.200".parse().unwrap()).unwrap(), None);
}

#[test]
fn run_enters_the_namespace_on_a_thread() {
    require_root();
    let lab = three_hosts();
    let r1 = lab.host("r1");
    let mine = std::fs::read_link("/proc/thread-self/ns/net").unwrap();
    let inside = r1
        .netns
        .run(|| std::fs::read_link("/proc/thread-self/ns/net").unwrap())
        .unwrap();
    assert_ne!(mine, inside);
    // The caller's thread did not move.
    assert_eq!(
        std::fs::read_link("/proc/thread-self/ns/net").unwrap(),
        mine
    );
    // Interfaces seen from inside: lo and eth0 only.
    let ifaces = r1
        .netns
        .run(|| {
            let dev = std::fs::read_to_string("/proc/thread-self/net/dev").unwrap();
            let mut v: Vec<String> = dev
                .lines()
                .skip(2)
                .map(|l| l.split(':').next().unwrap().trim().to_string())
                .collect();
            v.sort();
            v
        })
        .unwrap();
    assert_eq!(ifaces, vec!["eth0".to_string(), "lo".to_string()]);
    // A socket made inside stays inside: bind to the host's address works.
    let sock = r1
        .netns
        .run(|| std::net::UdpSocket::bind((r1.ipv4, 0)))
        .unwrap()
        .expect("bind in namespace");
    drop(sock);
    assert!(std::net::UdpSocket::bind((r1.ipv4, 0)).is_err());
}

#[test]
fn two_labs_at_once_and_clean_teardown() {
    require_root();
    let a = three_hosts();
    let b = Lab::builder()
        .segment("one")
        .router("r1")
        .segment("two")
        .router("r1b")
        .client("c2")
        .build()
        .unwrap();
    assert_ne!(a.id(), b.id());
    // Same addresses in both labs, no clash.
    assert!(a.host("c").ping(a.host("r1").ipv4.into()).unwrap());
    assert!(b.host("c2").ping(b.host("r1b").ipv4.into()).unwrap());
    assert_eq!(b.host("c2").ipv4.to_string(), "198.51.100.2");
    assert_eq!(b.host("c2").ipv6.to_string(), "2001:db8:2::2");
    assert_eq!(b.host("c2").mac, [2, 0, 0, 0, 2, 2]);
    // Segments are separate L2 domains.
    assert!(!b.host("r1").ping("198.51.100.1".parse().unwrap()).unwrap());
    let (ida, idb) = (a.id().to_string(), b.id().to_string());
    assert!(root_state().contains(&ida));
    drop(a);
    drop(b);
    let state = root_state();
    assert!(!state.contains(&ida), "leftover of {ida}: {state}");
    assert!(!state.contains(&idb), "leftover of {idb}: {state}");
}

#[test]
fn teardown_on_panic() {
    require_root();
    let mut id = String::new();
    let res = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        let lab = three_hosts();
        id = lab.id().to_string();
        panic!("test failure inside a lab");
    }));
    assert!(res.is_err());
    assert!(!id.is_empty());
    assert!(!root_state().contains(&id));
}

#[test]
fn child_guard_kills_on_drop_and_netns_kills_stragglers() {
    require_root();
    let ns = Netns::create("guard").unwrap();
    let mut cmd = Command::new("sleep");
    cmd.arg("300").stdout(Stdio::null());
    let mut child = ns.spawn(cmd).unwrap();
    let pid = child.pid();
    assert!(ns.pids().unwrap().contains(&pid));
    // The child is really in the namespace.
    let theirs = std::fs::read_link(format!("/proc/{pid}/ns/net")).unwrap();
    let mine = std::fs::read_link("/proc/self/ns/net").unwrap();
    assert_ne!(theirs, mine);
    let state = |pid: u32| {
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
        stat.rsplit_once(')')
            .and_then(|(_, r)| r.split_whitespace().next().map(str::to_string))
            .unwrap_or_default()
    };
    child.signal(Signal::SIGSTOP).unwrap();
    assert!(wait_until(Duration::from_secs(2), || state(pid) == "T"));
    assert!(child.is_running());
    child.signal(Signal::SIGCONT).unwrap();
    assert!(wait_until(Duration::from_secs(2), || state(pid) != "T"));
    // Drop while stopped still kills it.
    child.signal(Signal::SIGSTOP).unwrap();
    drop(child);
    assert!(!std::path::Path::new(&format!("/proc/{pid}")).exists());

    // kill -9 through signal(): the exit status says so.
    let mut cmd = Command::new("sleep");
    cmd.arg("300");
    let mut g = ns.spawn(cmd).unwrap();
    g.signal(Signal::SIGKILL).unwrap();
    let st = g
        .wait_timeout(Duration::from_secs(2))
        .unwrap()
        .expect("exited");
    assert_eq!(std::os::unix::process::ExitStatusExt::signal(&st), Some(9));

    // A process started with `ip netns exec`, not guarded, dies with the namespace.
    let stray = Command::new("ip")
        .args(["netns", "exec", ns.name(), "sleep", "300"])
        .spawn()
        .unwrap();
    let stray_pid = stray.id();
    assert!(wait_until(Duration::from_secs(2), || ns
        .pids()
        .unwrap()
        .contains(&stray_pid)));
    let name = ns.name().to_string();
    drop(ns);
    let mut stray = stray;
    let status = stray.wait().unwrap();
    assert!(!status.success());
    assert!(!root_state().contains(&name));
}

#[test]
fn child_guard_output_and_exec_errors() {
    require_root();
    let ns = Netns::create("out").unwrap();
    let mut cmd = Command::new("sh");
    cmd.args(["-c", "echo hello; exit 3"])
        .stdout(Stdio::piped());
    let g = ns.spawn(cmd).unwrap();
    let out = g.wait_output(Duration::from_secs(5)).unwrap();
    assert_eq!(out.status.code(), Some(3));
    assert_eq!(String::from_utf8_lossy(&out.stdout), "hello\n");

    let mut cmd = Command::new("sleep");
    cmd.arg("300");
    let mut g = ns.spawn(cmd).unwrap();
    assert!(g.wait_timeout(Duration::from_millis(50)).unwrap().is_none());
    let st = g.terminate(Duration::from_secs(2)).unwrap();
    assert!(!st.success());

    let err = ns
        .exec_ok("ip", &["link", "show", "nosuchdev"])
        .unwrap_err();
    let msg = err.to_string();
    assert!(
        msg.contains("nosuchdev") && msg.contains("ip netns exec"),
        "{msg}"
    );
    assert!(ns
        .exec("/nonexistent/program", &[])
        .is_ok_and(|o| !o.status.success()));
}
