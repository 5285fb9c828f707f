//! SIGHUP reload end to end in network namespaces: the running state is kept (no state
//! change, no VIP removal, no priority-0 advert), VIP lists are diffed, a configuration with
//! errors is refused, removed instances are released and notified, new ones start, renamed
//! ones keep their state.

mod support;

use std::net::IpAddr;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, SystemTime};

use support::Daemon;
use vrrp_netns::{wait_until, Capture, DecodedAdvert, Host, Lab, Signal};

const GLOBAL: &str = "global_defs {\n    vrrp_version 3\n    vrrp_garp_master_delay 0\n}\n";

/// An instance on eth0 with advert_int 0.2.
fn instance(name: &str, vrid: u8, priority: u8, vips: &[&str], extra: &str) -> String {
    let vips: String = vips.iter().map(|v| format!("        {v}/24\n")).collect();
    format!(
        "vrrp_instance {name} {{
    state BACKUP
    interface eth0
    virtual_router_id {vrid}
    priority {priority}
    advert_int 0.2
    virtual_ipaddress {{
{vips}    }}
{extra}}}
"
    )
}

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

fn has(host: &Host, addr: &str) -> bool {
    host.has_address(ip(addr)).unwrap()
}

/// Adverts `host` sent, decoded, with their capture time.
fn adverts(cap: &Capture, host: &str) -> Vec<(SystemTime, DecodedAdvert)> {
    cap.frames()
        .into_iter()
        .filter(|f| f.from_host.as_deref() == Some(host))
        .filter_map(|f| Some((f.ts, f.vrrp_advert()?.ok()?)))
        .collect()
}

/// Waits for an advert of `vrid` from `host` with `priority` captured after `after`.
fn advert_after(cap: &Capture, host: &str, vrid: u8, after: SystemTime) -> bool {
    cap.wait_for(Duration::from_secs(3), |f| {
        f.ts > after
            && f.from_host.as_deref() == Some(host)
            && f.vrrp_advert()
                .and_then(Result::ok)
                .is_some_and(|a| a.vrid == vrid && a.priority > 0)
    })
    .is_some()
}

/// Gratuitous ARP for `addr` captured from `host`.
fn garp(cap: &Capture, host: &str, addr: &str) -> bool {
    let addr: std::net::Ipv4Addr = addr.parse().unwrap();
    cap.wait_for(Duration::from_secs(3), |f| {
        f.from_host.as_deref() == Some(host)
            && f.arp()
                .is_some_and(|a| a.is_gratuitous() && a.sender_ip == addr)
    })
    .is_some()
}

/// Runs `during` while another thread polls `host` for `vips` (`ip -j addr`) every few
/// milliseconds; returns `during`'s result, the number of polls and every address found
/// missing.
fn watching_vips<R>(
    host: &Host,
    vips: &[&str],
    during: impl FnOnce() -> R,
) -> (R, usize, Vec<String>) {
    let stop = AtomicBool::new(false);
    std::thread::scope(|s| {
        let poller = s.spawn(|| {
            let (mut polls, mut missing) = (0, Vec::new());
            while !stop.load(Ordering::Relaxed) {
                let present = host.addresses().unwrap();
                for v in vips {
                    if !present.iter().any(|a| a.addr == ip(v)) {
                        missing.push(v.to_string());
                    }
                }
                polls += 1;
                std::thread::sleep(Duration::from_millis(5));
            }
            (polls, missing)
        });
        let r = during();
        // A few more polls after the reload's end.
        std::thread::sleep(Duration::from_millis(300));
        stop.store(true, Ordering::Relaxed);
        let (polls, missing) = poller.join().unwrap();
        (r, polls, missing)
    })
}

fn assert_no_line(lines: &[String], needle: &str, what: &str) {
    if let Some(l) = lines.iter().find(|l| l.contains(needle)) {
        panic!("{what}: unexpected line {l:?}; log:\n{}", lines.join("\n"));
    }
}

/// r1 (150) MASTER and r2 (100) BACKUP with `conf(priority)`.
fn pair(lab: &Lab, dir: &Path, conf: impl Fn(u8) -> String) -> (Daemon, Daemon) {
    let mut a = Daemon::start(lab.host("r1"), dir, &conf(150));
    a.expect(&["Entering MASTER STATE"], Duration::from_secs(5));
    let mut b = Daemon::start(lab.host("r2"), dir, &conf(100));
    b.expect(&["Entering BACKUP STATE"], Duration::from_secs(5));
    (a, b)
}

#[test]
fn unchanged_config_reload_on_the_active_changes_nothing() {
    let lab = support::lab(false);
    let tmp = support::tempdir();
    let conf = |p| format!("{GLOBAL}{}", instance("VI_1", 51, p, &["192.0.2.100"], ""));
    let (mut a, mut b) = pair(&lab, tmp.path(), conf);
    let r1 = lab.host("r1");
    assert!(wait_until(Duration::from_secs(2), || has(
        r1,
        "192.0.2.100"
    )));
    let cap = lab.default_segment().capture().unwrap();
    let (logs, polls, missing) = watching_vips(r1, &["192.0.2.100"], || {
        let mut logs = Vec::new();
        for _ in 0..3 {
            logs.extend(a.reload(&conf(150), Duration::from_secs(5)));
        }
        logs
    });
    let after = SystemTime::now();
    assert!(advert_after(&cap, "r1", 51, after), "r1 still advertises");
    logs.iter()
        .find(|l| l.contains("Reload finished") && l.contains("kept=1"))
        .unwrap_or_else(|| panic!("reload applied: {logs:?}"));
    assert!(
        polls > 10,
        "the VIP was polled during the reloads ({polls} polls)"
    );
    assert!(
        missing.is_empty(),
        "the VIP was missing {} time(s)",
        missing.len()
    );
    let logs = [logs, a.drain()].concat();
    assert_no_line(&logs, "Entering", "r1 changes no state");
    assert_no_line(&logs, "removed by reload", "nothing removed");
    let zero: Vec<_> = adverts(&cap, "r1")
        .into_iter()
        .filter(|(_, adv)| adv.priority == 0)
        .collect();
    assert!(zero.is_empty(), "no priority-0 advert: {zero:?}");
    assert_no_line(
        &b.drain(),
        "Entering MASTER",
        "the Backup never becomes Active",
    );
    assert!(!has(lab.host("r2"), "192.0.2.100"));
}

#[test]
fn changed_vip_list_on_the_active_adds_announces_and_removes_only_the_difference() {
    let lab = support::lab(false);
    let tmp = support::tempdir();
    let before = |p| {
        format!(
            "{GLOBAL}{}",
            instance("VI_1", 51, p, &["192.0.2.100", "192.0.2.101"], "")
        )
    };
    let after_conf = format!(
        "{GLOBAL}{}",
        instance("VI_1", 51, 150, &["192.0.2.100", "192.0.2.102"], "")
    );
    let (mut a, mut b) = pair(&lab, tmp.path(), before);
    let r1 = lab.host("r1");
    assert!(wait_until(Duration::from_secs(2), || has(
        r1,
        "192.0.2.101"
    )));
    let cap = lab.default_segment().capture().unwrap();
    let (logs, _, missing) = watching_vips(r1, &["192.0.2.100"], || {
        a.reload(&after_conf, Duration::from_secs(5))
    });
    assert!(missing.is_empty(), "the unchanged VIP stayed: {missing:?}");
    assert!(logs.last().unwrap().contains("Reload finished"), "{logs:?}");
    assert!(
        wait_until(Duration::from_secs(2), || has(r1, "192.0.2.102")),
        "added VIP"
    );
    assert!(garp(&cap, "r1", "192.0.2.102"), "added VIP announced");
    assert!(
        wait_until(Duration::from_secs(2), || !has(r1, "192.0.2.101")),
        "removed VIP"
    );
    let t = SystemTime::now();
    assert!(
        cap.wait_for(Duration::from_secs(3), |f| f.ts > t
            && f.from_host.as_deref() == Some("r1")
            && f.vrrp_advert().and_then(Result::ok).is_some_and(
                |a| a.addrs == vec![ip("192.0.2.100"), ip("192.0.2.102")]
            ))
        .is_some(),
        "adverts carry the new list"
    );
    assert!(
        !cap.frames()
            .iter()
            .any(|f| f.from_host.as_deref() == Some("r1")
                && f.arp().is_some_and(|a| a.is_gratuitous()
                    && a.sender_ip == "192.0.2.100".parse::<std::net::Ipv4Addr>().unwrap())),
        "the unchanged VIP is not announced again"
    );
    let logs = [logs, a.drain()].concat();
    assert_no_line(&logs, "Entering", "state unchanged");
    assert_no_line(
        &b.drain(),
        "Entering MASTER",
        "the Backup never becomes Active",
    );
}

#[test]
fn config_with_an_error_is_refused_and_everything_keeps_running() {
    let lab = support::lab(false);
    let tmp = support::tempdir();
    let conf = |p| format!("{GLOBAL}{}", instance("VI_1", 51, p, &["192.0.2.100"], ""));
    let (mut a, _b) = pair(&lab, tmp.path(), conf);
    let bad = conf(150).replace("virtual_router_id 51", "virtual_router_id 300");
    let line_no = bad
        .lines()
        .position(|l| l.contains("virtual_router_id 300"))
        .unwrap()
        + 1;
    let cap = lab.default_segment().capture().unwrap();
    let logs = a.reload(&bad, Duration::from_secs(5));
    let last = logs.last().unwrap();
    assert!(
        last.contains("reload refused, running configuration kept"),
        "{logs:?}"
    );
    let location = format!("{}:{line_no}:", a.conf_path.display());
    assert!(
        logs.iter()
            .any(|l| l.contains(&location) && l.contains("300")),
        "diagnostic at {location}: {logs:?}"
    );
    let t = SystemTime::now();
    assert!(advert_after(&cap, "r1", 51, t), "adverts still sent");
    assert!(has(lab.host("r1"), "192.0.2.100"), "VIP still there");
    assert_no_line(&[logs, a.drain()].concat(), "Entering", "nothing changed");
    // The running configuration still reloads once fixed.
    let logs = a.reload(&conf(150), Duration::from_secs(5));
    assert!(logs.last().unwrap().contains("Reload finished"), "{logs:?}");
}

#[test]
fn removed_instances_are_released_and_notified_and_new_ones_elect() {
    let lab = support::lab(false);
    let tmp = support::tempdir();
    let dir = tmp.path();
    let log = dir.join("notify.log");
    let script = dir.join("notify.sh");
    std::fs::write(
        &script,
        format!("#!/bin/sh\necho \"$@\" >> {}\n", log.display()),
    )
    .unwrap();
    std::fs::set_permissions(&script, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    let notify = format!("    notify {}\n", script.display());
    let deleted = format!(
        "    notify {s}\n    notify_deleted \"{s} deleted-arg\"\n",
        s = script.display()
    );
    let vi1 = instance("VI_1", 51, 150, &["192.0.2.100"], "");
    let before = format!(
        "{GLOBAL}{vi1}{}{}",
        instance("VI_2", 52, 150, &["192.0.2.110"], &notify),
        instance("VI_4", 54, 150, &["192.0.2.140"], &deleted),
    );
    let after = format!(
        "{GLOBAL}{vi1}{}",
        instance("VI_3", 53, 150, &["192.0.2.120"], &notify)
    );
    let r1 = lab.host("r1");
    let mut a = Daemon::start(r1, dir, &before);
    for _ in 0..3 {
        a.expect(&[") Entering MASTER STATE"], Duration::from_secs(5));
    }
    // r2 backs up VI_1 and VI_3.
    let r2_conf = format!(
        "{GLOBAL}{}{}",
        instance("VI_1", 51, 100, &["192.0.2.100"], ""),
        instance("VI_3", 53, 100, &["192.0.2.120"], "")
    );
    let mut b = Daemon::start(lab.host("r2"), dir, &r2_conf);
    b.expect(&["(VI_1) Entering BACKUP STATE"], Duration::from_secs(5));
    b.expect(&["(VI_3) Entering MASTER STATE"], Duration::from_secs(5));
    assert!(wait_until(Duration::from_secs(2), || has(
        r1,
        "192.0.2.110"
    ) && has(
        r1,
        "192.0.2.140"
    )));
    let cap = lab.default_segment().capture().unwrap();
    let logs = a.reload(&after, Duration::from_secs(5));
    assert!(
        logs.last().unwrap().contains("Reload finished")
            && logs.last().unwrap().contains("removed=2"),
        "{logs:?}"
    );
    assert!(
        wait_until(Duration::from_secs(2), || !has(r1, "192.0.2.110")
            && !has(r1, "192.0.2.140")),
        "removed instances' VIPs released"
    );
    for vrid in [52, 54] {
        assert!(
            adverts(&cap, "r1")
                .iter()
                .any(|(_, adv)| adv.vrid == vrid && adv.priority == 0),
            "priority-0 advert for VRID {vrid}"
        );
    }
    // The new instance (150) preempts r2 (100).
    a.expect(&["(VI_3) Entering MASTER STATE"], Duration::from_secs(5));
    b.expect(&["(VI_3) Entering BACKUP STATE"], Duration::from_secs(5));
    assert!(wait_until(Duration::from_secs(2), || has(
        r1,
        "192.0.2.120"
    )));
    assert!(has(r1, "192.0.2.100"), "VI_1 untouched");
    let logs = [logs, a.drain()].concat();
    assert_no_line(&logs, "(VI_1) Entering", "VI_1 keeps its state");
    a.signal(Signal::SIGTERM);
    a.wait_exit(Duration::from_secs(5));
    let notified = std::fs::read_to_string(&log).unwrap_or_default();
    let lines: Vec<&str> = notified.lines().collect();
    let expected = [
        "INSTANCE VI_2 MASTER 150",
        "INSTANCE VI_2 FAULT 0", // no notify_deleted: keepalived reports FAULT
        "deleted-arg",           // notify_deleted's own script
        "INSTANCE VI_4 DELETED 0",
        "INSTANCE VI_3 BACKUP 150",
        "INSTANCE VI_3 MASTER 150",
        "INSTANCE VI_3 STOP 150", // keepalived: the configured priority
    ];
    for e in expected {
        assert!(lines.contains(&e), "{e:?} notified: {lines:?}");
    }
    let pos = |e: &str| lines.iter().position(|l| *l == e).unwrap();
    assert!(pos("INSTANCE VI_2 MASTER 150") < pos("INSTANCE VI_2 FAULT 0"));
    assert!(pos("deleted-arg") < pos("INSTANCE VI_4 DELETED 0"));
    assert!(!lines
        .iter()
        .any(|l| l.contains("VI_2 STOP") || l.contains("VI_4 STOP")));
}

#[test]
fn renamed_instance_keeps_its_state() {
    let lab = support::lab(false);
    let tmp = support::tempdir();
    let conf = |name: &str, p| format!("{GLOBAL}{}", instance(name, 51, p, &["192.0.2.100"], ""));
    let (mut a, mut b) = pair(&lab, tmp.path(), |p| conf("VI_1", p));
    let r1 = lab.host("r1");
    let (logs, _, missing) = watching_vips(r1, &["192.0.2.100"], || {
        a.reload(&conf("VI_renamed", 150), Duration::from_secs(5))
    });
    assert!(missing.is_empty(), "VIP stayed: {missing:?}");
    assert!(
        logs.iter()
            .any(|l| l.contains("(VI_1) renamed to (VI_renamed)")),
        "{logs:?}"
    );
    assert!(logs.last().unwrap().contains("kept=1"), "{logs:?}");
    // The new name is used from now on: in the dump and in state changes.
    a.signal(Signal::SIGUSR1);
    let data = tmp.path().join("r1").join("keepalived.data");
    assert!(wait_until(Duration::from_secs(3), || {
        std::fs::read_to_string(&data).is_ok_and(|d| d.contains("VRRP Instance = VI_renamed"))
    }));
    let text = std::fs::read_to_string(&data).unwrap();
    assert!(text.contains("State = MASTER"), "{text}");
    assert!(!text.contains("VRRP Instance = VI_1"), "{text}");
    assert_no_line(&[logs, a.drain()].concat(), "Entering", "state kept");
    assert_no_line(
        &b.drain(),
        "Entering MASTER",
        "the Backup never becomes Active",
    );
    // Handing over still works, under the new name.
    a.signal(Signal::SIGTERM);
    b.expect(&["(VI_1) Entering MASTER STATE"], Duration::from_secs(3));
    a.wait_exit(Duration::from_secs(3));
}

/// keepalived's static_ipaddress / static_routes / static_rules on reload: the dropped ones
/// are removed, the new ones added, and the unchanged ones stay (never removed meanwhile).
#[test]
fn reload_diffs_static_addresses_routes_and_rules() {
    let lab = support::lab(false);
    let tmp = support::tempdir();
    let r1 = lab.host("r1");
    let statics = |addr: &str, route: &str, rule: &str| {
        format!(
            "static_ipaddress {{\n    198.51.100.7/24 dev eth0\n    {addr} dev eth0\n}}\n\
             static_routes {{\n    203.0.113.0/26 dev eth0\n    {route}\n}}\n\
             static_rules {{\n    from 198.51.100.7 table 7 preference 100\n    {rule}\n}}\n"
        )
    };
    let conf = |s: String| {
        format!(
            "{GLOBAL}{s}{}",
            instance("VI_1", 51, 150, &["192.0.2.100"], "")
        )
    };
    let first = statics(
        "198.51.100.8/24",
        "203.0.113.64/26 dev eth0",
        "from 198.51.100.8 table 8 preference 101",
    );
    let mut a = Daemon::start(r1, tmp.path(), &conf(first));
    a.expect(&["(VI_1) Entering MASTER STATE"], Duration::from_secs(5));
    let route = |dst: &str| {
        !r1.netns
            .ip(&["route", "show", dst])
            .unwrap()
            .trim()
            .is_empty()
    };
    let rule = |pref: &str| {
        (r1.netns.ip(&["rule", "show"]).unwrap().lines())
            .any(|l| l.starts_with(&format!("{pref}:")))
    };
    assert!(wait_until(Duration::from_secs(2), || has(
        r1,
        "198.51.100.8"
    )));
    assert!(route("203.0.113.64/26") && rule("101"));
    let second = statics(
        "198.51.100.9/24",
        "203.0.113.128/26 dev eth0",
        "from 198.51.100.9 table 9 preference 102",
    );
    let (logs, _, missing) = watching_vips(r1, &["198.51.100.7"], || {
        a.reload(&conf(second), Duration::from_secs(5))
    });
    assert!(
        missing.is_empty(),
        "the kept static address never went away"
    );
    logs.iter()
        .find(|l| l.contains("Reload finished"))
        .unwrap_or_else(|| panic!("reload applied: {logs:?}"));
    assert!(wait_until(Duration::from_secs(2), || has(
        r1,
        "198.51.100.9"
    )));
    assert!(!has(r1, "198.51.100.8"), "the dropped address is removed");
    assert!(has(r1, "198.51.100.7"));
    assert!(route("203.0.113.0/26") && route("203.0.113.128/26"));
    assert!(!route("203.0.113.64/26"), "the dropped route is removed");
    assert!(rule("100") && rule("102") && !rule("101"));
    a.signal(Signal::SIGTERM);
    assert!(a.wait_exit(Duration::from_secs(3)).success());
    assert!(!has(r1, "198.51.100.7") && !has(r1, "198.51.100.9"));
    assert!(!route("203.0.113.0/26") && !rule("100") && !rule("102"));
}

/// issue #17: `advert_int 40` then back to `1` by a reload: the Active advertises at the new
/// interval from the reload on, not when the old 40 s timer fires (a Backup at 1 s would take
/// over after about 3 s of silence).
#[test]
fn a_reload_that_lowers_advert_int_applies_it_at_once() {
    let lab = support::lab(false);
    let tmp = support::tempdir();
    let conf = |interval: &str| {
        format!(
            "{GLOBAL}{}",
            instance("VI_1", 51, 150, &["192.0.2.100"], "")
        )
        .replace("advert_int 0.2", &format!("advert_int {interval}"))
    };
    let r1 = lab.host("r1");
    let cap = lab.default_segment().capture().unwrap();
    let mut a = Daemon::start(r1, tmp.path(), &conf("1"));
    a.expect(&["Entering MASTER STATE"], Duration::from_secs(5));
    a.reload(&conf("40"), Duration::from_secs(5));
    assert!(
        cap.wait_for(Duration::from_secs(3), |f| f
            .vrrp_advert()
            .and_then(Result::ok)
            .is_some_and(|adv| adv.interval_cs == 4000))
            .is_some(),
        "the Active advertises at 40 s"
    );
    // From the SIGHUP on: the new interval applies at once, with an advert sent during the
    // reload itself.
    let reloaded = SystemTime::now();
    let logs = a.reload(&conf("1"), Duration::from_secs(5));
    logs.iter()
        .find(|l| l.contains("Reload finished"))
        .unwrap_or_else(|| panic!("reload applied: {logs:?}"));
    // Two adverts at the new interval within 2 s of the SIGHUP: the schedule changed.
    let at_new_interval = || {
        adverts(&cap, "r1")
            .into_iter()
            .filter(|(ts, adv)| *ts > reloaded && adv.interval_cs == 100 && adv.priority > 0)
            .count()
    };
    assert!(
        wait_until(Duration::from_secs(2), || at_new_interval() >= 2),
        "adverts at 1 s within 2 s of the reload: {:?}",
        adverts(&cap, "r1")
    );
    assert_no_line(&a.drain(), "Entering", "r1 changes no state");
}
