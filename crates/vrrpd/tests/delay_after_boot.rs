//! `vrrp_delay_after_boot`: the instances start no earlier than that long after the system
//! booted, combined with `vrrp_startup_delay` (the longer applies). "Just booted" is a daemon
//! run in a time namespace whose boot time is one second ago (`unshare --time --boottime`).

mod support;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use support::{Daemon, BIN};
use vrrp_netns::Signal;

const CONF: &str = "global_defs {
    vrrp_version 3
    vrrp_garp_master_delay 0
    vrrp_startup_delay 1
    vrrp_delay_after_boot 3
}
vrrp_instance VI_1 {
    state MASTER
    interface eth0
    virtual_router_id 51
    priority 150
    advert_int 0.2
    virtual_ipaddress {
        192.0.2.100/24
    }
}
";

fn uptime() -> Duration {
    let text = std::fs::read_to_string("/proc/uptime").expect("/proc/uptime");
    let secs: f64 = text.split_whitespace().next().unwrap().parse().unwrap();
    Duration::from_secs_f64(secs)
}

/// A program that runs vrrpd with its arguments in a new time namespace whose boot time is
/// `boot_ago` ago (same pid: `exec` all the way).
fn just_booted_vrrpd(dir: &Path, boot_ago: Duration) -> PathBuf {
    assert!(
        std::process::Command::new("unshare")
            .arg("--version")
            .output()
            .is_ok_and(|o| o.status.success()),
        "this test needs unshare(1) from util-linux (time namespaces)"
    );
    let offset = boot_ago.as_secs() as i64 - uptime().as_secs() as i64;
    let path = dir.join("just-booted-vrrpd");
    std::fs::write(
        &path,
        format!("#!/bin/sh\nexec unshare --time --boottime {offset} {BIN} \"$@\"\n"),
    )
    .unwrap();
    std::fs::set_permissions(&path, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    path
}

/// The `left` field (a Debug-printed duration) of the `vrrp_delay_after_boot` line.
fn left(line: &str) -> Duration {
    let text = line
        .split_whitespace()
        .find_map(|w| w.strip_prefix("left="))
        .unwrap_or_else(|| panic!("no left= in {line}"));
    let (number, scale) = [("ns", 1e-9), ("µs", 1e-6), ("ms", 1e-3), ("s", 1.0)]
        .into_iter()
        .find_map(|(unit, scale)| text.strip_suffix(unit).map(|n| (n, scale)))
        .unwrap_or_else(|| panic!("not a duration: {text}"));
    Duration::from_secs_f64(number.parse::<f64>().unwrap() * scale)
}

#[test]
fn vrrp_delay_after_boot_delays_the_start_until_that_long_after_boot() {
    let lab = support::lab(false);
    let tmp = support::tempdir();
    let dir = tmp.path();

    // Booted 1 s ago: the instances wait for the 2 s left of the 3, not for the 1 s startup
    // delay.
    let program = just_booted_vrrpd(dir, Duration::from_secs(1));
    let started = Instant::now();
    let mut d = Daemon::start_program(lab.host("r1"), dir, CONF, &program, None);
    let line = d.expect(&["vrrp_delay_after_boot"], Duration::from_secs(5));
    // Uptime 1..2 s in the namespace: 1..2 s left, longer than vrrp_startup_delay.
    let rest = left(&line);
    assert!(
        rest > Duration::from_secs(1) && rest <= Duration::from_secs(2),
        "{line}"
    );
    d.expect(
        &["routers start later", &format!("{rest:?}")],
        Duration::from_secs(1),
    );
    d.expect(&["(VI_1) Entering MASTER STATE"], Duration::from_secs(6));
    assert!(
        started.elapsed() >= Duration::from_millis(1500),
        "started after {:?}, before the delay after boot",
        started.elapsed()
    );
    d.signal(Signal::SIGTERM);
    assert!(d.wait_exit(Duration::from_secs(5)).success());

    // Booted long ago (this host): nothing left, the startup delay applies alone.
    let started = Instant::now();
    let mut d = Daemon::start(lab.host("r2"), dir, CONF);
    let line = d.expect(&["vrrp_delay_after_boot"], Duration::from_secs(5));
    assert_eq!(left(&line), Duration::ZERO, "{line}");
    d.expect(&["(VI_1) Entering MASTER STATE"], Duration::from_secs(5));
    assert!(
        started.elapsed() >= Duration::from_secs(1),
        "vrrp_startup_delay still applies"
    );
    d.signal(Signal::SIGTERM);
    assert!(d.wait_exit(Duration::from_secs(5)).success());
}
