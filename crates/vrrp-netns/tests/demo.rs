//! `vrrp-netns demo`, run non-interactively (stdout is a pipe, so line-by-line output) with a
//! short advertisement interval: the election, the failover after SIGKILL, the client's ARP
//! entry following, the preemption, the cleanup; and the teardown on SIGINT.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;
use vrrp_netns::{require_root, vrrpd_binary};

/// Fails (never skips) without root or without a built vrrpd.
fn preflight() {
    require_root();
    if let Err(e) = vrrpd_binary() {
        panic!("the demo needs the vrrpd binary: {e}");
    }
}

fn demo(args: &[&str]) -> Child {
    Command::new(env!("CARGO_BIN_EXE_vrrp-netns"))
        .arg("demo")
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start vrrp-netns demo")
}

/// Reads the child's stdout line by line on a thread.
fn lines_of(child: &mut Child) -> mpsc::Receiver<String> {
    let out = child.stdout.take().expect("piped stdout");
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for l in BufReader::new(out).lines().map_while(Result::ok) {
            if tx.send(l).is_err() {
                break;
            }
        }
    });
    rx
}

/// Collects output until the process exits or `limit` passes (then it is killed).
fn finish(mut child: Child, rx: &mpsc::Receiver<String>, limit: Duration) -> (i32, String) {
    let t0 = Instant::now();
    let mut text = String::new();
    let status = loop {
        while let Ok(l) = rx.try_recv() {
            text += &l;
            text.push('\n');
        }
        if let Some(st) = child.try_wait().expect("wait for the demo") {
            break st;
        }
        if t0.elapsed() > limit {
            let _ = kill(Pid::from_raw(child.id() as i32), Signal::SIGINT);
            std::thread::sleep(Duration::from_secs(5));
            let _ = child.kill();
            panic!("the demo took longer than {limit:?}:\n{text}");
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    std::thread::sleep(Duration::from_millis(100));
    while let Ok(l) = rx.try_recv() {
        text += &l;
        text.push('\n');
    }
    let mut err = String::new();
    if let Some(mut e) = child.stderr.take() {
        let _ = std::io::Read::read_to_string(&mut e, &mut err);
    }
    if !err.is_empty() {
        text += "--- stderr\n";
        text += &err;
    }
    (status.code().unwrap_or(-1), text)
}

/// No namespace of the demo process is left.
fn assert_no_leftovers(pid: u32, text: &str) {
    let list = Command::new("ip").args(["netns", "list"]).output().unwrap();
    let prefix = format!("vn{pid}_");
    let left: Vec<String> = String::from_utf8_lossy(&list.stdout)
        .lines()
        .filter_map(|l| l.split_whitespace().next())
        .filter(|n| n.starts_with(&prefix))
        .map(String::from)
        .collect();
    assert!(left.is_empty(), "namespaces left behind: {left:?}\n{text}");
}

fn line_with<'a>(text: &'a str, start: &str) -> &'a str {
    text.lines()
        .find(|l| l.trim_start().starts_with(start))
        .unwrap_or_else(|| panic!("no line starting with {start:?} in:\n{text}"))
}

#[test]
fn quick_demo_fails_over_moves_the_arp_entry_and_preempts() {
    preflight();
    let t0 = Instant::now();
    let mut child = demo(&["--quick"]);
    let pid = child.id();
    let rx = lines_of(&mut child);
    let (code, text) = finish(child, &rx, Duration::from_secs(40));
    assert_eq!(code, 0, "exit status {code}:\n{text}");
    assert!(
        t0.elapsed() < Duration::from_secs(20),
        "took {:?}",
        t0.elapsed()
    );
    // Plain output: no escape sequences when stdout is not a terminal.
    assert!(!text.contains('\x1b'), "{text}");
    let election = line_with(&text, "election:");
    assert!(election.contains("r1 (priority 150) Active"), "{election}");
    let failover = line_with(&text, "failover:");
    assert!(
        failover.contains("r1 killed, r2 took over in")
            && failover.contains("RFC Active_Down_Interval for priority 100: 0.72 s"),
        "{failover}"
    );
    let moved = line_with(&text, "client: ARP entry for 192.0.2.100 moved");
    assert!(
        moved.contains("from r1 (02:00:00:00:01:01) to r2 (02:00:00:00:01:02)")
            && moved.contains("after its gratuitous ARP"),
        "{moved}"
    );
    let preempt = line_with(&text, "preempt:");
    assert!(
        preempt.contains("r1 came back and preempted r2")
            && preempt.contains("preempted 192.0.2.2: its priority 100 < ours 150"),
        "{preempt}"
    );
    assert!(
        line_with(&text, "client: ARP entry for 192.0.2.100 back on r1").contains("01:01"),
        "{text}"
    );
    // The operator's view: vrrpctl on r1 shows it Active and why.
    let status: Vec<&str> = text
        .lines()
        .skip_while(|l| !l.contains("vrrpctl status on r1:"))
        .take(3)
        .collect();
    assert!(
        status.len() == 3 && status[2].contains("MASTER") && status[2].contains("this node"),
        "vrrpctl status on r1: {status:?}\n{text}"
    );
    let why = line_with(&text, "vrrpctl history -n 4 on r1:");
    assert!(
        text.lines()
            .skip_while(|l| !l.contains(why))
            .any(|l| l.contains("BACKUP -> MASTER") && l.contains("preempted 192.0.2.2")),
        "{text}"
    );
    assert!(line_with(&text, "cleanup:").contains("removed"), "{text}");
    assert!(text.lines().any(|l| l == "result: OK"), "{text}");
    assert_no_leftovers(pid, &text);
}

#[test]
fn sigint_tears_the_lab_down() {
    preflight();
    let mut child = demo(&["--quick"]);
    let pid = child.id();
    let rx = lines_of(&mut child);
    // Wait until the routers run, then interrupt as Ctrl-C would.
    let t0 = Instant::now();
    let mut text = String::new();
    loop {
        match rx.recv_timeout(Duration::from_millis(100)) {
            Ok(l) => {
                let started = l.contains("started r1");
                text += &l;
                text.push('\n');
                if started {
                    break;
                }
            }
            Err(mpsc::RecvTimeoutError::Timeout) => {}
            Err(mpsc::RecvTimeoutError::Disconnected) => panic!("demo ended early:\n{text}"),
        }
        assert!(t0.elapsed() < Duration::from_secs(15), "no start:\n{text}");
    }
    kill(Pid::from_raw(pid as i32), Signal::SIGINT).unwrap();
    let (code, rest) = finish(child, &rx, Duration::from_secs(20));
    text += &rest;
    assert_eq!(code, 130, "exit status {code}:\n{text}");
    assert!(
        text.contains("interrupted: the lab has been torn down"),
        "{text}"
    );
    assert!(line_with(&text, "cleanup:").contains("removed"), "{text}");
    assert_no_leftovers(pid, &text);
}
