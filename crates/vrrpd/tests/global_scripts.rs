//! `global_defs` scripts of keepalived's parent process, end to end in a namespace:
//! `startup_script` before the instances start, `shutdown_script` after they released their
//! addresses, and their timeouts.

mod support;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use support::Daemon;
use vrrp_netns::{wait_until, Host, Signal};

const VIP: &str = "192.0.2.100";

fn conf(global: &str, notify: &Path) -> String {
    format!(
        "global_defs {{
    vrrp_version 3
    vrrp_garp_master_delay 0
{global}
}}
vrrp_instance VI_1 {{
    state MASTER
    interface eth0
    virtual_router_id 51
    priority 150
    advert_int 0.2
    notify {notify}
    virtual_ipaddress {{
        {VIP}/24
    }}
}}
",
        notify = notify.display()
    )
}

/// A script `DIR/NAME.sh` (mode 0755) with `body` after a `#!/bin/sh` line.
fn script(dir: &Path, name: &str, body: &str) -> PathBuf {
    let path = dir.join(format!("{name}.sh"));
    std::fs::write(&path, format!("#!/bin/sh\n{body}\n")).unwrap();
    std::fs::set_permissions(&path, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    path
}

/// The notify logger: appends its arguments to `DIR/events.log`, the file the other scripts
/// write to as well, so that the file is the order of events.
fn notify_logger(dir: &Path) -> (PathBuf, PathBuf) {
    let log = dir.join("events.log");
    let s = script(
        dir,
        "notify",
        &format!("echo \"notify $*\" >> {}", log.display()),
    );
    (s, log)
}

/// A shell fragment that appends `WHAT vip=N` to `log`, N the number of VIPs on eth0 now.
fn record_vip(what: &str, log: &Path) -> String {
    format!(
        "echo \"{what} vip=$(ip -o addr show dev eth0 | grep -c ' {VIP}/')\" >> {}",
        log.display()
    )
}

/// A script `DIR/NAME.sh` that appends `NAME` to `log` and never ends by itself; on SIGTERM
/// (which keepalived sends at the timeout) it appends `NAME-term` and exits.
fn endless_script(dir: &Path, name: &str, log: &Path) -> PathBuf {
    let body = format!(
        "trap 'echo {name}-term >> {log}; exit 0' TERM\necho {name} >> {log}\nwhile :; do sleep 0.05; done",
        log = log.display()
    );
    script(dir, name, &body)
}

fn lines(path: &Path) -> Vec<String> {
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .map(str::to_string)
        .collect()
}

fn has_vip(host: &Host) -> bool {
    host.has_address(VIP.parse().unwrap()).unwrap()
}

#[test]
fn startup_script_runs_before_the_instances_start() {
    let lab = support::lab(false);
    let tmp = support::tempdir();
    let dir = tmp.path();
    let (notify, log) = notify_logger(dir);
    let release = dir.join("release");
    // The script records that it runs and whether the VIP is there, then waits for the test.
    let body = format!(
        "{}\nwhile [ ! -e {} ]; do sleep 0.05; done\necho startup-done >> {}",
        record_vip("startup", &log),
        release.display(),
        log.display()
    );
    let startup = script(dir, "startup", &body);
    let global = format!(
        "    startup_script {}\n    startup_script_timeout 30",
        startup.display()
    );
    let r1 = lab.host("r1");
    let mut d = Daemon::start(r1, dir, &conf(&global, &notify));
    d.expect(&["Running startup script"], Duration::from_secs(5));
    assert!(
        wait_until(Duration::from_secs(5), || !lines(&log).is_empty()),
        "the startup script ran"
    );
    // While it runs, no instance has started: no state line, no VIP, no notify.
    let early = d.drain();
    assert!(
        !early.iter().any(|l| l.contains("Entering")),
        "an instance started while the startup script ran: {early:?}"
    );
    assert!(!has_vip(r1), "VIP added while the startup script ran");
    std::fs::write(&release, "").unwrap();
    d.expect(&["(VI_1) Entering MASTER STATE"], Duration::from_secs(5));
    assert!(wait_until(Duration::from_secs(2), || has_vip(r1)));
    d.signal(Signal::SIGTERM);
    assert!(d.wait_exit(Duration::from_secs(5)).success());
    let events = lines(&log);
    assert_eq!(
        events.first().map(String::as_str),
        Some("startup vip=0"),
        "{events:?}"
    );
    assert_eq!(
        events.get(1).map(String::as_str),
        Some("startup-done"),
        "the instances started after the script ended: {events:?}"
    );
    assert!(
        events
            .iter()
            .skip(2)
            .any(|l| l == "notify INSTANCE VI_1 MASTER 150"),
        "{events:?}"
    );
}

#[test]
fn startup_script_timeout_terminates_the_script_and_starts_vrrp() {
    let lab = support::lab(false);
    let tmp = support::tempdir();
    let dir = tmp.path();
    let (notify, log) = notify_logger(dir);
    let startup = endless_script(dir, "startup", &log);
    let global = format!(
        "    startup_script {}\n    startup_script_timeout 1",
        startup.display()
    );
    let started = Instant::now();
    let mut d = Daemon::start(lab.host("r1"), dir, &conf(&global, &notify));
    d.expect(&["startup script timed out"], Duration::from_secs(5));
    d.expect(&["(VI_1) Entering MASTER STATE"], Duration::from_secs(5));
    assert!(
        started.elapsed() >= Duration::from_secs(1),
        "VRRP started before the startup script's timeout"
    );
    d.signal(Signal::SIGTERM);
    assert!(d.wait_exit(Duration::from_secs(5)).success());
    let events = lines(&log);
    assert_eq!(
        events[..2],
        ["startup".to_string(), "startup-term".to_string()],
        "SIGTERM at the timeout, before any notification: {events:?}"
    );
}

#[test]
fn shutdown_script_runs_after_the_addresses_are_released() {
    let lab = support::lab(false);
    let tmp = support::tempdir();
    let dir = tmp.path();
    let (notify, log) = notify_logger(dir);
    let pid_file = dir.join("r1.pid");
    // It takes a moment, so that a daemon that does not wait for it exits first; it records
    // the VIP and whether the pid file is still there (keepalived removes it afterwards).
    let body = format!(
        "sleep 0.3\n{}\n[ -e {} ] && echo shutdown-pidfile >> {}",
        record_vip("shutdown", &log),
        pid_file.display(),
        log.display()
    );
    let shutdown = script(dir, "shutdown", &body);
    let global = format!("    shutdown_script {}", shutdown.display());
    let r1 = lab.host("r1");
    let mut d = Daemon::start(r1, dir, &conf(&global, &notify));
    d.expect(&["(VI_1) Entering MASTER STATE"], Duration::from_secs(5));
    assert!(wait_until(Duration::from_secs(2), || has_vip(r1)));
    assert!(
        !lines(&log).iter().any(|l| l.starts_with("shutdown")),
        "the shutdown script ran at startup"
    );
    d.signal(Signal::SIGTERM);
    assert!(d.wait_exit(Duration::from_secs(5)).success());
    let events = lines(&log);
    let stop = events
        .iter()
        .position(|l| l == "notify INSTANCE VI_1 STOP 150")
        .unwrap_or_else(|| panic!("no STOP notification: {events:?}"));
    let shutdown = events
        .iter()
        .position(|l| l.starts_with("shutdown vip="))
        .unwrap_or_else(|| panic!("the shutdown script did not run to its end: {events:?}"));
    assert!(
        stop < shutdown,
        "shutdown script after the STOP notification: {events:?}"
    );
    assert_eq!(events[shutdown], "shutdown vip=0", "VIP released before it");
    assert_eq!(
        events.get(shutdown + 1).map(String::as_str),
        Some("shutdown-pidfile"),
        "pid file removed after it: {events:?}"
    );
}

#[test]
fn shutdown_script_timeout_terminates_the_script_and_exits() {
    let lab = support::lab(false);
    let tmp = support::tempdir();
    let dir = tmp.path();
    let (notify, log) = notify_logger(dir);
    let shutdown = endless_script(dir, "shutdown", &log);
    let global = format!(
        "    shutdown_script {}\n    shutdown_script_timeout 1",
        shutdown.display()
    );
    let mut d = Daemon::start(lab.host("r1"), dir, &conf(&global, &notify));
    d.expect(&["(VI_1) Entering MASTER STATE"], Duration::from_secs(5));
    let stopping = Instant::now();
    d.signal(Signal::SIGTERM);
    d.expect(&["shutdown script timed out"], Duration::from_secs(5));
    assert!(d.wait_exit(Duration::from_secs(5)).success());
    assert!(
        stopping.elapsed() >= Duration::from_secs(1),
        "exited before the shutdown script's timeout"
    );
    let events = lines(&log);
    assert_eq!(
        events[events.len() - 2..],
        ["shutdown".to_string(), "shutdown-term".to_string()],
        "{events:?}"
    );
}
