//! The control socket and `vrrpctl`, end to end in network namespaces (issue #13): status of
//! both routers of a pair, the history with the reason of a takeover, a reload refused with its
//! errors reported to the caller, and bad clients.

mod support;

use std::io::{BufRead, BufReader, Read, Write};
use std::os::unix::fs::{FileTypeExt, PermissionsExt};
use std::os::unix::net::UnixStream;
use std::path::Path;
use std::process::{Command, Output};
use std::time::Duration;

use serde_json::Value;
use support::Daemon;
use vrrp_netns::{wait_until, Lab, Signal};

const VRRPCTL: &str = env!("CARGO_BIN_EXE_vrrpctl");
const VIP: &str = support::TRACKED_VIP;

fn config(priority: u8) -> String {
    support::tracked_config(priority)
}

fn vrrpctl(socket: &Path, args: &[&str]) -> Output {
    Command::new(VRRPCTL)
        .arg("--socket")
        .arg(socket)
        .args(args)
        .output()
        .expect("run vrrpctl")
}

/// `vrrpctl --json ARGS`: the response object.
fn vrrpctl_json(socket: &Path, args: &[&str]) -> Value {
    let out = vrrpctl(socket, &[&["--json"], args].concat());
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "vrrpctl {args:?}: {e}; stdout {:?} stderr {:?}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    })
}

fn instance(status: &Value) -> &Value {
    &status["status"]["instances"][0]
}

/// r1 (150 + 10) Active, r2 (100 + 10) Backup, both with their tracker reported.
fn pair(lab: &Lab, dir: &Path) -> (Daemon, Daemon) {
    pair_with(lab, dir, config)
}

/// As [`pair`], with `conf(priority)` as the configuration.
fn pair_with(lab: &Lab, dir: &Path, conf: impl Fn(u8) -> String) -> (Daemon, Daemon) {
    let mut a = Daemon::start(lab.host("r1"), dir, &conf(150));
    a.expect(&["(VI_1) Entering MASTER STATE"], Duration::from_secs(5));
    let mut b = Daemon::start(lab.host("r2"), dir, &conf(100));
    b.expect(&["(VI_1) Entering BACKUP STATE"], Duration::from_secs(5));
    for d in [&a, &b] {
        let reported = wait_until(Duration::from_secs(5), || {
            instance(&vrrpctl_json(&d.control, &["status"]))["trackers"][0]["state"] == "up"
        });
        assert!(reported, "the tracker of {:?} reported", d.control);
    }
    let heard = wait_until(Duration::from_secs(3), || {
        instance(&vrrpctl_json(&b.control, &["status"]))["active"]["priority"] == 160
    });
    assert!(heard, "r2 heard r1's advert at 160");
    (a, b)
}

#[test]
fn vrrpctl_status_shows_both_routers_the_active_and_each_trackers_contribution() {
    let lab = support::lab(false);
    let tmp = support::tempdir();
    let (a, b) = pair(&lab, tmp.path());
    let r1_addr = lab.host("r1").ipv4.to_string();

    let s = vrrpctl_json(&a.control, &["status"]);
    assert_eq!(s["ok"], true, "{s}");
    assert_eq!(s["status"]["daemon"]["pid"], a.guard.pid(), "{s}");
    let i = instance(&s);
    assert_eq!(i["name"], "VI_1");
    assert_eq!(i["vrid"], 51);
    assert_eq!(i["family"], "ipv4");
    assert_eq!(i["state"], "MASTER", "{i}");
    assert_eq!(i["base_priority"], 150);
    assert_eq!(i["effective_priority"], 160, "{i}");
    assert_eq!(i["trackers"][0]["name"], "chk", "{i}");
    assert_eq!(i["trackers"][0]["contribution"], 10, "{i}");
    assert_eq!(i["active"]["this_node"], true, "{i}");
    assert_eq!(i["installed_vips"], serde_json::json!([VIP]), "{i}");
    assert_eq!(i["advert_interval_ms"], 200.0, "{i}");
    assert!(i["since"].as_str().is_some_and(|t| t.ends_with('Z')), "{i}");
    assert!(i["counters"]["adverts_tx"].as_u64() > Some(0), "{i}");

    let s = vrrpctl_json(&b.control, &["status", "VI_1"]);
    let i = instance(&s);
    assert_eq!(i["state"], "BACKUP", "{i}");
    assert_eq!(i["active"]["address"], r1_addr.as_str(), "{i}");
    assert_eq!(i["active"]["priority"], 160, "{i}");
    assert_eq!(i["active"]["this_node"], false, "{i}");
    assert_eq!(i["installed_vips"], serde_json::json!([]), "{i}");

    // The human forms.
    let table = vrrpctl(&a.control, &["status"]);
    assert!(table.status.success());
    let table = String::from_utf8_lossy(&table.stdout);
    let row = table
        .lines()
        .find(|l| l.starts_with("VI_1"))
        .unwrap_or_else(|| panic!("no VI_1 row: {table}"));
    for cell in [
        "51",
        "ipv4",
        "eth0",
        "MASTER",
        "160 (base 150)",
        "this node",
        "192.0.2.100*",
    ] {
        assert!(row.contains(cell), "{cell:?} missing: {table}");
    }
    let detail = vrrpctl(&b.control, &["status", "VI_1"]);
    let detail = String::from_utf8_lossy(&detail.stdout);
    assert!(
        detail.contains("chk: up (weight 10) +10"),
        "tracker line: {detail}"
    );
    assert!(detail.contains(&format!("{r1_addr} (160)")), "{detail}");
}

#[test]
fn vrrpctl_history_names_the_reason_of_a_takeover() {
    let lab = support::lab(false);
    let tmp = support::tempdir();
    let (mut a, mut b) = pair(&lab, tmp.path());
    a.signal(Signal::SIGTERM);
    b.expect(&["(VI_1) Entering MASTER STATE"], Duration::from_secs(3));
    a.wait_exit(Duration::from_secs(3));
    assert!(!a.control.exists(), "the control socket is removed at exit");

    let h = vrrpctl_json(&b.control, &["history", "VI_1"]);
    let entries = h["history"].as_array().expect("history").clone();
    let last = entries.last().expect("an entry");
    assert_eq!(last["kind"], "state", "{h}");
    assert_eq!(last["from"], "BACKUP", "{h}");
    assert_eq!(last["to"], "MASTER", "{h}");
    assert!(
        last["reason"]
            .as_str()
            .is_some_and(|r| r.contains("priority 0")),
        "the reason names the priority-0 advert: {h}"
    );
    assert!(
        entries
            .iter()
            .any(|e| e["kind"] == "priority" && e["from"] == "100" && e["to"] == "110"),
        "the tracker's priority change is in the history: {h}"
    );
    let limited = vrrpctl_json(&b.control, &["history", "-n", "1"]);
    assert_eq!(limited["history"].as_array().map(Vec::len), Some(1));
    assert_eq!(&limited["history"][0], last);

    let text = vrrpctl(&b.control, &["history"]);
    let text = String::from_utf8_lossy(&text.stdout);
    assert!(
        text.lines()
            .last()
            .is_some_and(|l| l.contains("VI_1") && l.contains("BACKUP -> MASTER")),
        "{text}"
    );
}

#[test]
fn vrrpctl_reload_reports_a_refused_configuration_and_keeps_the_running_one() {
    let lab = support::lab(false);
    let tmp = support::tempdir();
    let mut a = Daemon::start(lab.host("r1"), tmp.path(), &config(150));
    a.expect(&["(VI_1) Entering MASTER STATE"], Duration::from_secs(5));

    std::fs::write(
        &a.conf_path,
        config(150).replace("virtual_router_id 51", "virtual_router_id 256"),
    )
    .unwrap();
    let out = vrrpctl(&a.control, &["reload"]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "refused: {stdout}");
    assert!(stdout.contains("reload refused"), "{stdout}");
    let conf_line = format!("{}:14:", a.conf_path.display());
    assert!(
        stdout.contains(&conf_line) && stdout.contains("virtual_router_id"),
        "the error names {conf_line}: {stdout}"
    );
    let s = vrrpctl_json(&a.control, &["status"]);
    assert_eq!(instance(&s)["state"], "MASTER", "still running: {s}");

    std::fs::write(&a.conf_path, config(150)).unwrap();
    let out = vrrpctl(&a.control, &["reload"]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}");
    assert!(
        stdout.contains("reloaded: 1 kept, 0 added, 0 removed"),
        "{stdout}"
    );
}

/// One request line on a raw connection; the response object.
fn raw_request(stream: &mut UnixStream, line: &[u8]) -> Value {
    stream.write_all(line).unwrap();
    let mut answer = String::new();
    BufReader::new(&*stream).read_line(&mut answer).unwrap();
    serde_json::from_str(&answer).unwrap_or_else(|e| panic!("{e}: {answer:?}"))
}

#[test]
fn the_control_socket_is_private_and_answers_bad_clients_with_clear_errors() {
    let lab = support::lab(false);
    let tmp = support::tempdir();
    let mut a = Daemon::start(lab.host("r1"), tmp.path(), &config(150));
    a.expect(&["(VI_1) Entering MASTER STATE"], Duration::from_secs(5));
    let meta = std::fs::metadata(&a.control).expect("the control socket exists");
    assert!(meta.file_type().is_socket());
    assert_eq!(meta.permissions().mode() & 0o777, 0o600, "owner only");

    let mut s = UnixStream::connect(&a.control).unwrap();
    let r = raw_request(&mut s, b"hello\n");
    assert_eq!(r["error"]["kind"], "bad_request", "{r}");
    let r = raw_request(&mut s, b"{\"version\":7,\"command\":\"status\"}\n");
    assert_eq!(r["error"]["kind"], "unsupported_version", "{r}");
    let r = raw_request(
        &mut s,
        b"{\"version\":1,\"command\":\"status\",\"instance\":\"VI_9\"}\n",
    );
    assert_eq!(r["error"]["kind"], "unknown_instance", "{r}");
    // The same connection still serves good requests.
    let r = raw_request(&mut s, b"{\"version\":1,\"command\":\"status\"}\n");
    assert_eq!(r["ok"], true, "{r}");
    let mut long = vec![b' '; 70 * 1024];
    long.push(b'\n');
    let r = raw_request(&mut s, &long);
    assert_eq!(r["error"]["kind"], "request_too_long", "{r}");
    let mut rest = Vec::new();
    s.set_read_timeout(Some(Duration::from_secs(3))).unwrap();
    assert_eq!(s.read_to_end(&mut rest).unwrap_or(0), 0, "then closed");

    let out = vrrpctl(&a.control, &["status", "VI_9"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("VI_9"));

    // Idle clients take at most MAX_CLIENTS slots; the next one is told so, and the slots
    // come back when they leave.
    let idle: Vec<UnixStream> = (0..64)
        .map(|_| UnixStream::connect(&a.control).unwrap())
        .collect();
    let turned_away = wait_until(Duration::from_secs(3), || {
        let extra = UnixStream::connect(&a.control).unwrap();
        extra
            .set_read_timeout(Some(Duration::from_secs(2)))
            .unwrap();
        let mut answer = String::new();
        let _ = BufReader::new(&extra).read_line(&mut answer);
        answer.contains("\"busy\"")
    });
    assert!(turned_away, "the 65th client is told the daemon is busy");
    drop(idle);
    assert!(
        wait_until(Duration::from_secs(3), || vrrpctl(&a.control, &["status"])
            .status
            .success()),
        "served again once the idle clients left"
    );
    let out = vrrpctl(Path::new("/nonexistent/vrrpd.sock"), &["status"]);
    assert_eq!(out.status.code(), Some(3), "no daemon: exit 3");
    assert!(String::from_utf8_lossy(&out.stderr).contains("cannot connect"));
}

#[test]
fn vrrpctl_maintenance_moves_the_vip_to_the_peer_holds_it_there_across_a_reload_and_returns() {
    let lab = support::lab(false);
    let tmp = support::tempdir();
    let (mut a, mut b) = pair(&lab, tmp.path());
    let (r1, r2) = (lab.host("r1"), lab.host("r2"));
    let vip: std::net::IpAddr = VIP.parse().unwrap();

    let out = vrrpctl(&a.control, &["maintenance", "VI_1", "on", "--wait"]);
    assert!(
        out.status.success(),
        "maintenance on --wait: {} {}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let line = b.expect(&["(VI_1) Entering MASTER STATE"], Duration::from_secs(2));
    assert!(
        line.contains("left (priority 0)"),
        "a graceful handover: {line}"
    );
    assert!(wait_until(Duration::from_secs(2), || r2
        .has_address(vip)
        .unwrap()));
    assert!(!r1.has_address(vip).unwrap(), "the VIP left r1");
    let s = vrrpctl_json(&a.control, &["status", "VI_1"]);
    let i = instance(&s);
    assert_eq!(
        (i["state"].as_str(), i["maintenance"].as_bool()),
        (Some("BACKUP"), Some(true)),
        "{i}"
    );
    a.expect(
        &["(VI_1) Entering BACKUP STATE", "maintenance"],
        Duration::from_secs(1),
    );

    // A reload keeps it; the peer leaving does not bring r1 back.
    let logs = a.reload(&config(150), Duration::from_secs(5));
    assert!(
        logs.iter().any(|l| l.contains("Reload finished")),
        "{logs:?}"
    );
    assert_eq!(
        instance(&vrrpctl_json(&a.control, &["status"]))["maintenance"],
        true
    );
    b.signal(Signal::SIGTERM);
    b.wait_exit(Duration::from_secs(3));
    // r1 would take over within Skew_Time (about 0.1 s) of the priority-0 advert; give it
    // three of its down intervals (0.7 s each).
    std::thread::sleep(Duration::from_millis(2100));
    assert!(
        !a.drain().iter().any(|l| l.contains("Entering MASTER")),
        "an instance in maintenance became Active"
    );
    assert!(!r1.has_address(vip).unwrap());

    // Off: as configured again; no Active left, so it takes over after its down interval.
    let out = vrrpctl(&a.control, &["maintenance", "VI_1", "off"]);
    assert!(out.status.success());
    a.expect(&["(VI_1) Entering MASTER STATE"], Duration::from_secs(2));
    assert!(wait_until(Duration::from_secs(2), || r1
        .has_address(vip)
        .unwrap()));
    let h = vrrpctl_json(&a.control, &["history", "VI_1"]);
    let kinds: Vec<String> = h["history"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["kind"] == "maintenance")
        .map(|e| e["to"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(kinds, ["on", "off"], "{h}");

    let out = vrrpctl(&a.control, &["maintenance", "VI_9", "on"]);
    assert_eq!(out.status.code(), Some(1), "unknown instance");
}

#[test]
fn vrrpctl_events_streams_each_change_as_it_happens() {
    let lab = support::lab(false);
    let tmp = support::tempdir();
    let (a, b) = pair(&lab, tmp.path());

    // The protocol: the answer, then one line per event.
    let mut raw = UnixStream::connect(&b.control).unwrap();
    let ack = raw_request(&mut raw, b"{\"version\":1,\"command\":\"events\"}\n");
    assert_eq!(ack["events"], "streaming", "{ack}");

    // vrrpctl: it says on stderr when it follows, then prints each event on stdout.
    let follower = Command::new(VRRPCTL)
        .args(["--json", "events", "--socket"])
        .arg(&b.control)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut guard = vrrp_netns::ChildGuard::new(follower, "vrrpctl events");
    let stderr = guard.child_mut().stderr.take().unwrap();
    let mut started = String::new();
    BufReader::new(stderr).read_line(&mut started).unwrap();
    assert!(started.contains("following the events"), "{started}");
    let stdout = guard.child_mut().stdout.take().unwrap();

    a.signal(Signal::SIGTERM);
    let takeover = |line: &Value| {
        line["event"]["kind"] == "state"
            && line["event"]["instance"] == "VI_1"
            && line["event"]["to"] == "MASTER"
    };
    raw.set_read_timeout(Some(Duration::from_secs(3))).unwrap();
    let mut reader = BufReader::new(&raw);
    let found = (0..10).any(|_| {
        let mut l = String::new();
        reader.read_line(&mut l).is_ok_and(|n| n > 0)
            && serde_json::from_str::<Value>(&l).is_ok_and(|v| takeover(&v))
    });
    assert!(found, "the raw stream carries r2's takeover");
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });
    let seen = (0..10).any(|_| {
        rx.recv_timeout(Duration::from_secs(3))
            .ok()
            .and_then(|l| serde_json::from_str::<Value>(&l).ok())
            .is_some_and(|v| takeover(&v))
    });
    assert!(seen, "vrrpctl events prints r2's takeover");
}

/// `vrrpctl ARGS` as uid 65534 (nobody) with primary group `gid` and no other group.
fn vrrpctl_as_nobody(gid: u32, socket: &Path, args: &[&str]) -> Output {
    Command::new("setpriv")
        .args([
            "--reuid=65534",
            &format!("--regid={gid}"),
            "--clear-groups",
            VRRPCTL,
        ])
        .arg("--socket")
        .arg(socket)
        .args(args)
        .output()
        .expect("setpriv (util-linux) runs vrrpctl")
}

#[test]
fn control_group_members_may_read_but_not_change_anything() {
    let lab = support::lab(false);
    let tmp = support::tempdir();
    // nobody must reach the socket in the test's directory.
    std::fs::set_permissions(tmp.path(), std::fs::Permissions::from_mode(0o711)).unwrap();
    let mut a = Daemon::start_with_args(
        lab.host("r1"),
        tmp.path(),
        &support::tracked_config(150),
        &["--control-group", "nogroup"],
    );
    a.expect(&["(VI_1) Entering MASTER STATE"], Duration::from_secs(5));
    let meta = std::fs::metadata(&a.control).unwrap();
    assert_eq!(meta.permissions().mode() & 0o777, 0o660);
    assert_eq!(
        std::os::unix::fs::MetadataExt::gid(&meta),
        65534,
        "group nogroup"
    );

    let out = vrrpctl_as_nobody(65534, &a.control, &["status"]);
    assert!(
        out.status.success() && String::from_utf8_lossy(&out.stdout).contains("MASTER"),
        "a group member reads: {out:?}"
    );
    let out = vrrpctl_as_nobody(65534, &a.control, &["maintenance", "VI_1", "on"]);
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("may only read"),
        "{out:?}"
    );
    let out = vrrpctl_as_nobody(65534, &a.control, &["reload"]);
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    assert_eq!(
        instance(&vrrpctl_json(&a.control, &["status"]))["maintenance"],
        false,
        "nothing changed"
    );
    // Not in the group: no access at all.
    let out = vrrpctl_as_nobody(1, &a.control, &["status"]);
    assert_eq!(out.status.code(), Some(3), "{out:?}");
}

#[test]
fn vrrpctl_garp_re_announces_the_vips_of_the_active_only() {
    let lab = support::lab(false);
    let tmp = support::tempdir();
    // No periodic re-announcement: every gratuitous ARP after the takeover is vrrpctl's.
    let quiet = |p| {
        config(p).replace(
            "advert_int 0.2",
            "advert_int 0.2\n    garp_master_refresh 0",
        )
    };
    let (a, b) = pair_with(&lab, tmp.path(), quiet);
    let cap = lab.default_segment().capture().unwrap();
    let vip: std::net::Ipv4Addr = VIP.parse().unwrap();
    let garp_from_r1 = |f: &vrrp_netns::Frame| {
        f.from_host.as_deref() == Some("r1")
            && f.arp()
                .is_some_and(|a| a.is_gratuitous() && a.sender_ip == vip)
    };
    // The takeover's burst is over (no second burst: vrrp_garp_master_delay 0).
    assert!(
        cap.wait_for(Duration::from_millis(500), garp_from_r1)
            .is_none(),
        "r1 still announces on its own"
    );
    cap.clear();
    let out = vrrpctl(&a.control, &["garp", "VI_1"]);
    assert!(out.status.success(), "{out:?}");
    assert!(String::from_utf8_lossy(&out.stdout).contains("announced: VI_1"));
    assert!(
        cap.wait_for(Duration::from_secs(1), garp_from_r1).is_some(),
        "a gratuitous ARP for {VIP} from r1 after vrrpctl garp"
    );
    let out = vrrpctl(&b.control, &["garp", "VI_1"]);
    assert_eq!(out.status.code(), Some(1), "r2 is not Active: {out:?}");
    assert!(String::from_utf8_lossy(&out.stderr).contains("not Active"));
}
