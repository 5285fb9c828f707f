//! The `float-address` example as real processes in network namespaces: failover after
//! `kill -9`, VIP leases that expire on their own, and leftover VIPs removed at startup.

use std::io::{BufRead, BufReader};
use std::net::IpAddr;
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use vrrp_netns::{require_root, wait_until, ChildGuard, Host, Lab, Signal};

const BIN: &str = env!("CARGO_BIN_EXE_float-address");
const VIP: &str = "192.0.2.100";

/// A running `float-address` with its stdout and stderr lines.
struct Proc {
    guard: ChildGuard,
    lines: mpsc::Receiver<String>,
}

impl Proc {
    fn start(host: &Host, priority: u8, extra: &[&str]) -> Proc {
        let mut cmd = Command::new(BIN);
        cmd.args([
            "--interface",
            "eth0",
            "--vip",
            &format!("{VIP}/24"),
            "--priority",
        ])
        .arg(priority.to_string())
        .args(["--interval-cs", "50"])
        .args(extra)
        .env("RUST_LOG", "info")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
        let mut guard = host.netns.spawn(cmd).expect("spawn float-address");
        let (tx, lines) = mpsc::channel();
        let child = guard.child_mut();
        let out = child.stdout.take().unwrap();
        let err = child.stderr.take().unwrap();
        for stream in [
            Box::new(out) as Box<dyn std::io::Read + Send>,
            Box::new(err),
        ] {
            let tx = tx.clone();
            std::thread::spawn(move || {
                for line in BufReader::new(stream).lines().map_while(Result::ok) {
                    let _ = tx.send(line);
                }
            });
        }
        Proc { guard, lines }
    }

    /// Waits for a line containing `needle`.
    fn expect_line(&self, needle: &str, within: Duration) -> String {
        let deadline = Instant::now() + within;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(l) if l.contains(needle) => return l,
                Ok(_) => {}
                Err(_) => panic!("no line containing {needle:?} within {within:?}"),
            }
        }
    }
}

fn vip() -> IpAddr {
    VIP.parse().unwrap()
}

fn lab() -> Lab {
    require_root();
    Lab::builder()
        .router("r1")
        .router("r2")
        .client("c1")
        .build()
        .expect("lab")
}

#[test]
fn two_processes_float_the_address_and_kill_9_hands_it_over() {
    let lab = lab();
    let (r1, r2, c1) = (lab.host("r1"), lab.host("r2"), lab.host("c1"));
    let capture = lab.default_segment().capture().expect("capture");
    let a = Proc::start(r1, 200, &[]);
    a.expect_line("STATE Backup Active", Duration::from_secs(5));
    let b = Proc::start(r2, 100, &[]);
    b.expect_line("READY", Duration::from_secs(5));
    assert!(c1.ping(vip()).unwrap());
    assert_eq!(c1.neighbor(vip()).unwrap(), Some(r1.mac));
    // r2 must have heard r1 before r1 dies: wait for an advert from r1 after r2 started.
    capture.clear();
    let from_r1 =
        |f: &vrrp_netns::Frame| f.vrrp().is_some() && f.from_host.as_deref() == Some("r1");
    assert!(
        capture.wait_for(Duration::from_secs(3), from_r1).is_some(),
        "r1 advertises"
    );
    a.guard.signal(Signal::SIGKILL).unwrap();
    let line = b.expect_line("STATE Backup Active", Duration::from_secs(5));
    assert!(line.contains("no advertisement from active"), "{line}");
    assert!(
        wait_until(Duration::from_secs(5), || c1.neighbor(vip()).unwrap()
            == Some(r2.mac)),
        "client's ARP entry follows the VIP to r2"
    );
}

#[test]
fn vip_lease_expires_after_sigkill_of_the_active() {
    let lab = lab();
    let r1 = lab.host("r1");
    let a = Proc::start(r1, 200, &["--lease-secs", "3"]);
    a.expect_line("STATE Backup Active", Duration::from_secs(5));
    assert!(r1.has_address(vip()).unwrap());
    a.guard.signal(Signal::SIGKILL).unwrap();
    let killed = Instant::now();
    assert!(
        wait_until(Duration::from_secs(6), || !r1.has_address(vip()).unwrap()),
        "the kernel removes the leased VIP of a killed daemon"
    );
    assert!(
        killed.elapsed() <= Duration::from_secs(5),
        "within the 3 s lease plus renewal slack"
    );
}

#[test]
fn stale_vips_of_an_earlier_life_are_removed_at_startup() {
    let lab = lab();
    let r1 = lab.host("r1");
    let a = Proc::start(r1, 200, &[]);
    a.expect_line("STATE Backup Active", Duration::from_secs(5));
    a.guard.signal(Signal::SIGKILL).unwrap();
    drop(a);
    assert!(
        r1.has_address(vip()).unwrap(),
        "without a lease the VIP outlives kill -9, as with keepalived"
    );
    // Restart as a low-priority router next to a higher one, so it stays Backup.
    let _high = Proc::start(lab.host("r2"), 250, &[]);
    let b = Proc::start(r1, 50, &[]);
    let line = b.expect_line("left behind by an earlier run", Duration::from_secs(5));
    assert!(line.contains(VIP), "{line}");
    assert!(!r1.has_address(vip()).unwrap(), "the stale VIP is gone");
}
