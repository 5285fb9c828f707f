//! The daemon end to end in network namespaces: keepalived.conf in, VIPs, notify scripts,
//! tracked scripts, SIGTERM handover, pid and dump files out.

mod support;

use std::process::Command;
use std::time::Duration;

use support::{strip_ansi, Daemon};
use vrrp_netns::{wait_until, Host, Signal};

const VIP: &str = "192.0.2.100";

fn instance(priority: u8, extra: &str) -> String {
    format!(
        "vrrp_instance VI_1 {{
    state BACKUP
    interface eth0
    virtual_router_id 51
    priority {priority}
    advert_int 0.2
    virtual_ipaddress {{
        {VIP}/24 label eth0:vip
    }}
{extra}
}}
"
    )
}

const V3: &str = "global_defs {\n    vrrp_version 3\n    vrrp_garp_master_delay 0\n}\n";

/// A script `DIR/NAME.sh` that appends its arguments as one line to `DIR/NAME.log`; returns
/// both paths.
fn logger_script(dir: &std::path::Path, name: &str) -> (std::path::PathBuf, std::path::PathBuf) {
    let log = dir.join(format!("{name}.log"));
    let script = dir.join(format!("{name}.sh"));
    std::fs::write(
        &script,
        format!("#!/bin/sh\necho \"$@\" >> {}\n", log.display()),
    )
    .unwrap();
    std::fs::set_permissions(&script, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    (script, log)
}

fn has_vip(host: &Host) -> bool {
    host.has_address(VIP.parse().unwrap()).unwrap()
}

#[test]
fn keepalived_conf_elects_writes_pid_files_and_hands_over_on_sigterm() {
    let lab = support::lab(true);
    let tmp = support::tempdir();
    let dir = tmp.path();
    let (r1, r2) = (lab.host("r1"), lab.host("r2"));
    let mut a = Daemon::start(r1, dir, &format!("{V3}{}", instance(150, "")));
    a.expect(&["(VI_1) Entering MASTER STATE"], Duration::from_secs(5));
    let mut b = Daemon::start(r2, dir, &format!("{V3}{}", instance(100, "")));
    b.expect(
        &["(VI_1) Entering BACKUP STATE", "startup"],
        Duration::from_secs(5),
    );
    assert!(has_vip(r1) && !has_vip(r2));
    let pid = std::fs::read_to_string(dir.join("r1.pid")).unwrap();
    assert_eq!(
        pid.trim(),
        a.guard.pid().to_string(),
        "keepalived's pid file"
    );
    assert!(dir.join("r1-vrrp.pid").exists(), "the VRRP pid file");

    a.signal(Signal::SIGTERM);
    let line = b.expect(&["(VI_1) Entering MASTER STATE"], Duration::from_secs(3));
    assert!(
        line.contains("left (priority 0)"),
        "priority-0 handover: {line}"
    );
    assert!(a.wait_exit(Duration::from_secs(2)).success(), "clean exit");
    assert!(!dir.join("r1.pid").exists(), "pid file removed on exit");
    assert!(!has_vip(r1), "VIP released on SIGTERM");
    assert!(wait_until(Duration::from_secs(2), || has_vip(r2)));
}

#[test]
fn notify_scripts_get_keepalived_arguments_in_order() {
    let lab = support::lab(true);
    let tmp = support::tempdir();
    let dir = tmp.path();
    let (script, log) = logger_script(dir, "notify");
    let extra = format!(
        "    notify_master \"{s} master-arg\"\n    notify_backup {s}\n    notify {s}\n",
        s = script.display()
    );
    let mut a = Daemon::start(
        lab.host("r1"),
        dir,
        &format!("{V3}{}", instance(150, &extra)),
    );
    a.expect(&["Entering MASTER STATE"], Duration::from_secs(5));
    a.signal(Signal::SIGTERM);
    a.wait_exit(Duration::from_secs(3));
    while let Ok(l) = a.lines.try_recv() {
        a.seen.push(strip_ansi(&l));
    }
    let lines: Vec<String> = std::fs::read_to_string(&log)
        .unwrap_or_else(|e| panic!("{e}: notify log missing; vrrpd log:\n{}", a.seen.join("\n")))
        .lines()
        .map(str::to_string)
        .collect();
    assert_eq!(
        lines,
        vec![
            "".to_string(),                    // notify_backup on startup: no arguments
            "INSTANCE VI_1 BACKUP 150".into(), // notify: keepalived's four arguments
            "master-arg".into(),
            "INSTANCE VI_1 MASTER 150".into(),
            // keepalived passes the configured priority to STOP notifications.
            "INSTANCE VI_1 STOP 150".into(),
        ],
        "specific script first, then notify, in state order"
    );
}

#[test]
fn track_script_weights_move_the_vip_openshift_arithmetic() {
    let lab = support::lab(true);
    let tmp = support::tempdir();
    let dir = tmp.path();
    let flag = dir.join("lb_ok");
    std::fs::write(&flag, "").unwrap();
    // The OpenShift master template: base 40, weights 20/5/3 (all up: 68), against a
    // bootstrap at 70.
    let scripts = format!(
        "vrrp_script chk_ocp_lb {{\n    script \"/bin/test -e {}\"\n    interval 1\n    weight 20\n    rise 1\n    fall 1\n}}\n\
         vrrp_script chk_ocp_both {{\n    script \"/bin/true\"\n    interval 1\n    weight 5\n}}\n\
         vrrp_script chk_mcs {{\n    script \"/bin/true\"\n    interval 1\n    weight 3\n}}\n",
        flag.display()
    );
    let track =
        "    track_script {\n        chk_ocp_lb\n        chk_ocp_both\n        chk_mcs\n    }\n";
    let master = format!("{V3}{scripts}{}", instance(40, track));
    let mut m = Daemon::start(lab.host("r1"), dir, &master);
    m.expect(
        &["Changing effective priority from 40"],
        Duration::from_secs(5),
    );
    m.expect(&["Entering MASTER STATE"], Duration::from_secs(5));
    assert!(wait_until(Duration::from_secs(5), || has_vip(
        lab.host("r1")
    )));
    // The bootstrap at 70 takes the VIP from the master at 68.
    let mut boot = Daemon::start(lab.host("r2"), dir, &format!("{V3}{}", instance(70, "")));
    let line = boot.expect(&["Entering MASTER STATE"], Duration::from_secs(5));
    assert!(line.contains("its priority 68 < ours 70"), "{line}");
    m.expect(&["Entering BACKUP STATE"], Duration::from_secs(3));
    // The bootstrap leaves; the master takes over; then its load balancer check fails and
    // its priority drops by 20, with the script named as the cause.
    boot.signal(Signal::SIGTERM);
    m.expect(&["Entering MASTER STATE"], Duration::from_secs(3));
    std::fs::remove_file(&flag).unwrap();
    let line = m.expect(
        &["Changing effective priority from 68 to 48"],
        Duration::from_secs(5),
    );
    assert!(line.contains("chk_ocp_lb"), "{line}");
}

#[test]
fn dump_files_on_sigusr1_sigusr2_and_sigrtmin_plus_2() {
    let lab = support::lab(true);
    let tmp = support::tempdir();
    let dir = tmp.path();
    let mut a = Daemon::start(lab.host("r1"), dir, &format!("{V3}{}", instance(150, "")));
    a.expect(&["Entering MASTER STATE"], Duration::from_secs(5));
    let tmp = dir.join("r1");
    for (sig, file) in [
        (Signal::SIGUSR1, "keepalived.data"),
        (Signal::SIGUSR2, "keepalived.stats"),
    ] {
        a.signal(sig);
        assert!(
            wait_until(Duration::from_secs(3), || tmp.join(file).exists()),
            "{file} written"
        );
    }
    let rtmin2 = nix::libc::SIGRTMIN() + 2;
    Command::new("kill")
        .arg(format!("-{rtmin2}"))
        .arg(a.guard.pid().to_string())
        .status()
        .unwrap();
    assert!(wait_until(Duration::from_secs(3), || tmp
        .join("keepalived.json")
        .exists()));
    let data = std::fs::read_to_string(tmp.join("keepalived.data")).unwrap();
    assert!(
        data.contains("VRRP Instance = VI_1"),
        "OpenShift's liveness grep: {data}"
    );
    assert!(data.contains("State = MASTER"));
    let stats = std::fs::read_to_string(tmp.join("keepalived.stats")).unwrap();
    assert!(stats.contains("VRRP Instance: VI_1"), "{stats}");
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(tmp.join("keepalived.json")).unwrap())
            .unwrap();
    assert_eq!(json[0]["data"]["iname"], "VI_1");
    assert_eq!(json[0]["data"]["state"], 2, "MASTER");
}

/// `track_interface`: the tracked interface going down is FAULT (and `notify_fault` runs);
/// coming back up, the instance is MASTER again.
#[test]
fn track_interface_down_puts_the_instance_in_fault() {
    let lab = support::lab(false);
    let tmp = support::tempdir();
    let dir = tmp.path();
    let r1 = lab.host("r1");
    r1.netns
        .ip(&[
            "link", "add", "trk0", "type", "veth", "peer", "name", "trk1",
        ])
        .unwrap();
    for end in ["trk0", "trk1"] {
        r1.netns.ip(&["link", "set", end, "up"]).unwrap();
    }
    let (script, log) = logger_script(dir, "fault");
    let track = format!(
        "    track_interface {{\n        trk0\n    }}\n    notify_fault \"{} fault-arg\"\n",
        script.display()
    );
    let mut a = Daemon::start(r1, dir, &format!("{V3}{}", instance(150, &track)));
    a.expect(&["(VI_1) Entering MASTER STATE"], Duration::from_secs(5));
    assert!(wait_until(Duration::from_secs(2), || has_vip(r1)));
    r1.netns.ip(&["link", "set", "trk0", "down"]).unwrap();
    a.expect(&["(VI_1) Entering FAULT STATE"], Duration::from_secs(3));
    assert!(
        wait_until(Duration::from_secs(2), || !has_vip(r1)),
        "the VIP is released in FAULT"
    );
    assert!(
        wait_until(Duration::from_secs(2), || std::fs::read_to_string(&log)
            .is_ok_and(|l| l == "fault-arg\n")),
        "notify_fault ran once with its argument"
    );
    r1.netns.ip(&["link", "set", "trk0", "up"]).unwrap();
    a.expect(&["(VI_1) Entering MASTER STATE"], Duration::from_secs(5));
    assert!(wait_until(Duration::from_secs(2), || has_vip(r1)));
}

/// `brd`, `scope` and `noprefixroute` of a `virtual_ipaddress` line, as `ip -j addr` shows them.
#[test]
fn address_options_reach_the_kernel() {
    let lab = support::lab(false);
    let tmp = support::tempdir();
    let dir = tmp.path();
    let r1 = lab.host("r1");
    let vips = "    virtual_ipaddress {\n        198.51.100.7/24 brd 198.51.100.127 scope link noprefixroute\n    }\n";
    let mut a = Daemon::start(r1, dir, &format!("{V3}{}", instance(150, vips)));
    a.expect(&["(VI_1) Entering MASTER STATE"], Duration::from_secs(5));
    let vip: std::net::IpAddr = "198.51.100.7".parse().unwrap();
    assert!(wait_until(Duration::from_secs(2), || r1
        .has_address(vip)
        .unwrap()));
    let addrs: serde_json::Value =
        serde_json::from_str(&r1.netns.ip(&["-j", "addr", "show", "dev", "eth0"]).unwrap())
            .unwrap();
    let info = addrs[0]["addr_info"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["local"] == "198.51.100.7")
        .cloned()
        .unwrap_or_else(|| panic!("{addrs:#}"));
    assert_eq!(info["broadcast"], "198.51.100.127", "{info:#}");
    assert_eq!(info["scope"], "link", "{info:#}");
    assert_eq!(info["noprefixroute"], true, "{info:#}");
    let routes = r1
        .netns
        .ip(&["route", "show", "dev", "eth0", "198.51.100.0/24"])
        .unwrap();
    assert!(routes.trim().is_empty(), "noprefixroute: {routes}");
}

/// `notify_priority_changes`: each change of the effective priority is a `MASTER_PRIORITY` /
/// `BACKUP_PRIORITY` line on the notify FIFO.
#[test]
fn notify_priority_changes_writes_priority_lines_to_the_fifo() {
    priority_lines_on_the_fifo("", "    notify_priority_changes\n");
}

/// The global `vrrp_notify_priority_changes` does the same for an instance that does not say.
#[test]
fn vrrp_notify_priority_changes_writes_priority_lines_to_the_fifo() {
    priority_lines_on_the_fifo("    vrrp_notify_priority_changes\n", "");
}

/// A tracked script raises the priority from 40 to 60 and lowers it again; the FIFO has both
/// priority lines. `global` and `own` are extra global_defs and instance lines.
fn priority_lines_on_the_fifo(global: &str, own: &str) {
    use std::io::Read;
    use std::os::unix::fs::OpenOptionsExt;
    let lab = support::lab(false);
    let tmp = support::tempdir();
    let dir = tmp.path();
    let fifo = dir.join("notify.fifo");
    let flag = dir.join("up");
    std::fs::write(&flag, "").unwrap();
    let conf = format!(
        "global_defs {{\n    vrrp_version 3\n    notify_fifo {}\n{global}}}\n\
         vrrp_script chk {{\n    script \"/bin/test -e {}\"\n    interval 1\n    weight 20\n    rise 1\n    fall 1\n}}\n{}",
        fifo.display(),
        flag.display(),
        instance(40, &format!("{own}    track_script {{\n        chk\n    }}\n"))
    );
    let mut a = Daemon::start(lab.host("r1"), dir, &conf);
    a.expect(
        &["Changing effective priority from 40 to 60"],
        Duration::from_secs(5),
    );
    a.expect(&["(VI_1) Entering MASTER STATE"], Duration::from_secs(5));
    std::fs::remove_file(&flag).unwrap();
    a.expect(
        &["Changing effective priority from 60 to 40"],
        Duration::from_secs(5),
    );
    let mut reader = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(nix::libc::O_NONBLOCK)
        .open(&fifo)
        .expect("vrrpd created the notify FIFO");
    let mut text = String::new();
    let seen = wait_until(Duration::from_secs(3), || {
        let mut buf = [0u8; 4096];
        if let Ok(n) = reader.read(&mut buf) {
            text.push_str(&String::from_utf8_lossy(&buf[..n]));
        }
        text.contains("INSTANCE \"VI_1\" MASTER_PRIORITY 40")
    });
    assert!(seen, "FIFO lines: {text}");
    assert!(text.contains("_PRIORITY 60"), "the rise to 60: {text}");
}

/// keepalived's shutdown kills its scripts first: the `notify_fifo_script` has read every line
/// up to MASTER but never the STOP line, which is still written to the FIFO for a reader of its
/// own (as keepalived 2.2.7 and 2.4.3 do: both write it after killing the FIFO script).
#[test]
fn a_fifo_script_is_stopped_before_the_stop_lines_which_stay_in_the_fifo() {
    use std::io::Read;
    use std::os::unix::fs::OpenOptionsExt;
    let lab = support::lab(false);
    let tmp = support::tempdir();
    let dir = tmp.path();
    let fifo = dir.join("notify.fifo");
    let log = dir.join("fifo-script.log");
    let script = dir.join("fifo-script.sh");
    std::fs::write(
        &script,
        format!(
            "#!/bin/sh\nwhile IFS= read -r line; do echo \"$line\" >> {}; done < \"$1\"\n",
            log.display()
        ),
    )
    .unwrap();
    std::fs::set_permissions(&script, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    let conf = format!(
        "global_defs {{\n    vrrp_version 3\n    notify_fifo {}\n    notify_fifo_script {}\n}}\n{}",
        fifo.display(),
        script.display(),
        instance(150, "")
    );
    let mut a = Daemon::start(lab.host("r1"), dir, &conf);
    a.expect(&["(VI_1) Entering MASTER STATE"], Duration::from_secs(5));
    let read_log = || std::fs::read_to_string(&log).unwrap_or_default();
    assert!(
        wait_until(Duration::from_secs(3), || read_log()
            .contains("INSTANCE \"VI_1\" MASTER 150")),
        "the FIFO script copied: {:?}",
        read_log()
    );
    let mut reader = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(nix::libc::O_NONBLOCK)
        .open(&fifo)
        .expect("vrrpd created the notify FIFO");
    a.signal(Signal::SIGTERM);
    assert!(a.wait_exit(Duration::from_secs(5)).success(), "clean exit");
    let mut left = String::new();
    let _ = reader.read_to_string(&mut left);
    assert_eq!(
        left, "INSTANCE \"VI_1\" STOP 150\n",
        "the STOP line waits in the FIFO"
    );
    assert!(
        !read_log().contains("STOP"),
        "the FIFO script read a STOP line: {:?}",
        read_log()
    );
}

/// `notify_master_rx_lower_pri`: the MASTER hearing a lower-priority advert runs the script.
/// r1's adverts are dropped on the way out, so r2 never hears it, becomes MASTER too and
/// keeps advertising at its lower priority to r1.
#[test]
fn notify_master_rx_lower_pri_runs_when_the_master_hears_a_lower_priority_advert() {
    let lab = support::lab(false);
    let tmp = support::tempdir();
    let dir = tmp.path();
    let (r1, r2) = (lab.host("r1"), lab.host("r2"));
    let (script, log) = logger_script(dir, "lower");
    let notify = format!(
        "    notify_master_rx_lower_pri \"{} heard-lower\"\n",
        script.display()
    );
    let mut a = Daemon::start(r1, dir, &format!("{V3}{}", instance(150, &notify)));
    a.expect(&["(VI_1) Entering MASTER STATE"], Duration::from_secs(5));
    assert!(
        !log.exists(),
        "no lower-priority advert heard while alone on the segment"
    );
    r1.set_loss_dir(100, vrrp_netns::Direction::Out).unwrap();
    let mut b = Daemon::start(r2, dir, &format!("{V3}{}", instance(100, "")));
    b.expect(&["(VI_1) Entering MASTER STATE"], Duration::from_secs(5));
    assert!(
        wait_until(Duration::from_secs(3), || std::fs::read_to_string(&log)
            .is_ok_and(|l| l.starts_with("heard-lower\n"))),
        "notify_master_rx_lower_pri ran with its argument"
    );
    r1.set_loss_dir(0, vrrp_netns::Direction::Out).unwrap();
}

/// `virtual_routes`: a MASTER's route with `dev` is installed with keepalived's protocol, and
/// the instance tracks that interface: it going down is FAULT, back up is MASTER with the
/// route again. `no_track` routes do not make the interface tracked.
#[test]
fn a_virtual_route_interface_going_down_faults_the_instance() {
    let lab = support::lab(false);
    let tmp = support::tempdir();
    let dir = tmp.path();
    let r1 = lab.host("r1");
    for (a, b) in [("rt0", "rt1"), ("nt0", "nt1")] {
        r1.netns
            .ip(&["link", "add", a, "type", "veth", "peer", "name", b])
            .unwrap();
        for end in [a, b] {
            r1.netns.ip(&["link", "set", end, "up"]).unwrap();
        }
    }
    let routes = "    virtual_routes {\n        203.0.113.0/26 dev rt0\n        203.0.113.64/26 dev nt0 no_track\n    }\n";
    let mut a = Daemon::start(r1, dir, &format!("{V3}{}", instance(150, routes)));
    a.expect(&["(VI_1) Entering MASTER STATE"], Duration::from_secs(5));
    let route = |dev: &str, dst: &str| {
        r1.netns
            .ip(&["route", "show", "dev", dev, "proto", "keepalived", dst])
            .unwrap()
    };
    assert!(
        wait_until(Duration::from_secs(2), || !route("rt0", "203.0.113.0/26")
            .trim()
            .is_empty()),
        "the route is installed with proto keepalived"
    );
    // An untracked route's interface going down changes nothing.
    r1.netns.ip(&["link", "set", "nt0", "down"]).unwrap();
    r1.netns.ip(&["link", "set", "rt0", "down"]).unwrap();
    let line = a.expect(&["(VI_1) Entering FAULT STATE"], Duration::from_secs(3));
    assert!(line.contains("rt0"), "the fault names rt0: {line}");
    assert!(wait_until(Duration::from_secs(2), || !has_vip(r1)));
    r1.netns.ip(&["link", "set", "rt0", "up"]).unwrap();
    a.expect(&["(VI_1) Entering MASTER STATE"], Duration::from_secs(5));
    assert!(
        wait_until(Duration::from_secs(2), || !route("rt0", "203.0.113.0/26")
            .trim()
            .is_empty()),
        "the route is back"
    );
}

/// `garp_extra_if all N`: while MASTER, one gratuitous ARP every N s on each other interface
/// holding a VIP (here gx0, whose peer gx1 counts what arrives), after the takeover burst;
/// nothing else is sent there (no second burst, no refresh, no IPv6).
#[test]
fn garp_extra_if_all_announces_on_the_other_interface_every_period() {
    let lab = support::lab(false);
    let tmp = support::tempdir();
    let dir = tmp.path();
    let r1 = lab.host("r1");
    r1.netns
        .ip(&["link", "add", "gx0", "type", "veth", "peer", "name", "gx1"])
        .unwrap();
    for end in ["gx0", "gx1"] {
        r1.exec_ok(
            "sysctl",
            &["-qw", &format!("net.ipv6.conf.{end}.disable_ipv6=1")],
        )
        .unwrap();
        r1.netns.ip(&["link", "set", end, "up"]).unwrap();
    }
    let rx = || -> u64 {
        let out = r1.netns.ip(&["-s", "-j", "link", "show", "gx1"]).unwrap();
        let v: serde_json::Value = serde_json::from_str(&out).unwrap();
        v[0]["stats64"]["rx"]["packets"].as_u64().unwrap()
    };
    let extra = "    garp_master_delay 0\n    garp_master_repeat 1\n    garp_master_refresh 0\n    garp_extra_if all 1\n    virtual_ipaddress {\n        198.51.100.30/24 dev gx0\n    }\n";
    let conf = format!(
        "{V3}{}",
        instance(150, "").replace("    }\n\n}", &format!("    }}\n{extra}}}"))
    );
    let mut a = Daemon::start(r1, dir, &conf);
    a.expect(&["(VI_1) Entering MASTER STATE"], Duration::from_secs(5));
    assert!(wait_until(Duration::from_secs(2), || r1
        .has_address("198.51.100.30".parse().unwrap())
        .unwrap()));
    let base = rx();
    assert!(
        wait_until(Duration::from_secs(5), || rx() >= base + 3),
        "three more announcements on gx0 within 5 s (got {})",
        rx() - base
    );
}
