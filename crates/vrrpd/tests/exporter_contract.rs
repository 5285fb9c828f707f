//! Contract tests for the tools that monitor keepalived, against a live vrrpd running under
//! keepalived's name in a two-node lab, after a real failover.
//!
//! What the tools read (from their parsers; docs/dump-files.md lists it):
//! - mehdy/keepalived-exporter: `keepalived -v` (stderr, first line's second word without
//!   `v`), `keepalived --signum=DATA|STATS|JSON`, the pid file, then `keepalived.data`
//!   (` VRRP Instance = NAME` blocks: `State`, `Wantstate`, `Interface`, `Gratuitous ARP
//!   delay` and `Virtual Router ID` as integers, the `Virtual IP (N):` list split on spaces,
//!   ` VRRP Script = NAME` blocks: `Status` GOOD/BAD, `State` idle/running/...),
//!   `keepalived.stats` (`VRRP Instance: NAME`, sections and integer counters) or
//!   `keepalived.json` (an array of `{"data","stats"}` with integer fields);
//! - gen2brain/keepalived_exporter: the process whose argv[0] base name is `keepalived`,
//!   signal 36, `keepalived.json` (`last_transition` as a number);
//! - checkmk's keepalived_vrrp plugin: `kill -s $(keepalived --signum=JSON) $(<pidfile)`, the
//!   JSON on one line (`sep(0)`), `iname`, `state`, `vips`, the `stats` object.
//!
//! The files are read from the daemon's `$TMPDIR` (the tools read `/tmp`, the default).

mod support;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, SystemTime};

use support::Daemon;
use vrrp_netns::{wait_until, Host, Signal};

const VIP: &str = "192.0.2.100";

fn config(priority: u8, script_flag: Option<&Path>) -> String {
    let (script, track) = match script_flag {
        Some(flag) => (
            format!(
                "vrrp_script chk_flag {{\n    script \"/bin/test -e {}\"\n    interval 1\n    \
                 weight -10\n    rise 1\n    fall 1\n}}\n",
                flag.display()
            ),
            "    track_script {\n        chk_flag\n    }\n",
        ),
        None => (String::new(), ""),
    };
    format!(
        "global_defs {{\n    vrrp_version 3\n    vrrp_garp_master_delay 0\n}}\n{script}\
         vrrp_instance VI_1 {{\n    state BACKUP\n    interface eth0\n    virtual_router_id 51\n    \
         priority {priority}\n    advert_int 0.2\n    virtual_ipaddress {{\n        {VIP}/24\n    }}\n{track}}}\n"
    )
}

fn has_vip(host: &Host) -> bool {
    host.has_address(VIP.parse().unwrap()).unwrap()
}

/// The vrrpd binary as the vrrpd-keepalived package installs it: a link named `keepalived`.
fn keepalived_link(dir: &Path) -> PathBuf {
    let link = dir.join("keepalived");
    std::os::unix::fs::symlink(support::BIN, &link).unwrap();
    link
}

/// What a monitoring tool does: asks `keepalived --signum=FUNC` for the number, sends it to
/// the pid in the pid file, and waits for the file (removed first) to appear.
struct Monitor {
    keepalived: PathBuf,
    pid_file: PathBuf,
    tmpdir: PathBuf,
}

impl Monitor {
    fn signum(&self, func: &str) -> i32 {
        let o = Command::new(&self.keepalived)
            .arg(format!("--signum={func}"))
            .output()
            .unwrap();
        assert!(o.status.success(), "--signum={func}");
        String::from_utf8_lossy(&o.stdout).trim().parse().unwrap()
    }

    fn kill(&self, signo: i32) {
        let pid = std::fs::read_to_string(&self.pid_file).unwrap();
        let ok = Command::new("kill")
            .args(["-s", &signo.to_string(), pid.trim()])
            .status()
            .unwrap()
            .success();
        assert!(ok, "kill -s {signo} {}", pid.trim());
    }

    /// Sends `func`'s signal and returns `file` once written.
    fn dump(&self, func: &str, file: &str) -> String {
        let path = self.tmpdir.join(file);
        let _ = std::fs::remove_file(&path);
        self.kill(self.signum(func));
        assert!(
            wait_until(Duration::from_secs(3), || path.exists()),
            "{file} written after --signum={func}"
        );
        std::fs::read_to_string(&path).unwrap()
    }

    fn json(&self) -> serde_json::Value {
        let text = self.dump("JSON", "keepalived.json");
        // checkmk reads the file with sep(0): the whole document on the first line.
        assert_eq!(text.lines().count(), 1, "one line: {text}");
        serde_json::from_str(text.lines().next().unwrap()).expect("valid JSON")
    }
}

/// One ` VRRP Instance = NAME` block as mehdy's parser reads it: `key = value` lines (3
/// spaces), and the 5-space lines under a `key:` line as that key's list.
#[derive(Debug, Default)]
struct DataInstance {
    values: HashMap<String, String>,
    lists: HashMap<String, Vec<String>>,
}

impl DataInstance {
    fn get(&self, key: &str) -> &str {
        self.values
            .get(key)
            .unwrap_or_else(|| panic!("no `{key}` in {self:?}"))
    }

    fn int(&self, key: &str) -> i64 {
        self.get(key)
            .parse()
            .unwrap_or_else(|_| panic!("`{key}` is not an integer: {}", self.get(key)))
    }

    /// The `Virtual IP (N):` list.
    fn vips(&self) -> &[String] {
        self.lists
            .iter()
            .find(|(k, _)| k.starts_with("Virtual IP ("))
            .map_or(&[][..], |(_, v)| v.as_slice())
    }
}

fn parse_data(text: &str) -> HashMap<String, DataInstance> {
    let mut out: HashMap<String, DataInstance> = HashMap::new();
    let (mut current, mut key) = (None::<String>, String::new());
    for line in text.lines() {
        if let Some(name) = line.strip_prefix(" VRRP Instance = ") {
            current = Some(name.trim().to_string());
            out.insert(name.trim().to_string(), DataInstance::default());
        } else if let (true, Some(name)) = (line.starts_with("   "), &current) {
            let inst = out.get_mut(name).unwrap();
            if line.starts_with("     ") {
                inst.lists
                    .entry(key.clone())
                    .or_default()
                    .push(line.trim().to_string());
            } else if let Some((k, v)) = line.split_once('=') {
                key = k.trim().to_string();
                inst.values.insert(key.clone(), v.trim().to_string());
            } else if let Some((k, _)) = line.split_once(':') {
                key = k.trim().to_string();
            }
        } else {
            current = None;
        }
    }
    out
}

/// ` VRRP Script = NAME` blocks: `Status` and `State`.
fn parse_scripts(text: &str) -> HashMap<String, (String, String)> {
    let mut out = HashMap::new();
    let mut current = None::<String>;
    for line in text.lines() {
        if let Some(name) = line.strip_prefix(" VRRP Script = ") {
            current = Some(name.trim().to_string());
            out.insert(name.trim().to_string(), (String::new(), String::new()));
        } else if let (true, Some(name)) = (line.starts_with("   "), &current) {
            let entry: &mut (String, String) = out.get_mut(name).unwrap();
            match line.split_once('=').map(|(k, v)| (k.trim(), v.trim())) {
                Some(("Status", v)) => entry.0 = v.to_string(),
                Some(("State", v)) => entry.1 = v.to_string(),
                _ => {}
            }
        } else if !line.starts_with("    ") {
            current = None;
        }
    }
    out
}

/// `keepalived.stats`: (instance, section, key) -> integer; `Became master` and `Released
/// master` have no section.
fn parse_stats(text: &str) -> HashMap<(String, String, String), i64> {
    let mut out = HashMap::new();
    let (mut inst, mut section) = (String::new(), String::new());
    for line in text.lines() {
        if let Some(name) = line.strip_prefix("VRRP Instance: ") {
            inst = name.trim().to_string();
        } else if line.starts_with("    ") {
            let (k, v) = line.trim().split_once(':').expect("key: value");
            let v = v.trim().parse().expect("an integer counter");
            out.insert((inst.clone(), section.clone(), k.to_string()), v);
        } else if line.starts_with("  ") && line.ends_with(':') {
            section = line.trim().trim_end_matches(':').to_string();
        } else if line.starts_with("  ") {
            let (k, v) = line.trim().split_once(':').expect("key: value");
            let v = v.trim().parse().expect("an integer counter");
            section.clear();
            out.insert((inst.clone(), String::new(), k.to_string()), v);
        }
    }
    out
}

const STATS_KEYS: [&str; 14] = [
    "advert_rcvd",
    "advert_sent",
    "become_master",
    "release_master",
    "packet_len_err",
    "advert_interval_err",
    "ip_ttl_err",
    "invalid_type_rcvd",
    "addr_list_err",
    "invalid_authtype",
    "authtype_mismatch",
    "auth_failure",
    "pri_zero_rcvd",
    "pri_zero_sent",
];

/// The JSON fields the exporters decode, with the types they decode them as.
fn check_json_contract(json: &serde_json::Value) -> &serde_json::Value {
    let list = json.as_array().expect("json_version 1: an array");
    assert_eq!(list.len(), 1);
    let inst = &list[0];
    let data = &inst["data"];
    assert_eq!(data["iname"], "VI_1");
    assert_eq!(data["ifp_ifname"], "eth0");
    for int in [
        "state",
        "wantstate",
        "vrid",
        "garp_delay",
        "master_priority",
    ] {
        assert!(data[int].is_u64(), "{int} decodes as an integer: {data}");
    }
    assert!(data["last_transition"].is_f64(), "{data}");
    let stats = inst["stats"].as_object().expect("stats object");
    for key in STATS_KEYS {
        assert!(stats[key].is_u64(), "stats.{key}: {stats:?}");
    }
    assert_eq!(stats.len(), STATS_KEYS.len(), "{stats:?}");
    data
}

/// Seconds since the epoch of the data file's `Last transition = SECS.USEC (date)`.
fn transition_secs(value: &str) -> f64 {
    value.split(' ').next().unwrap().parse().unwrap()
}

fn secs(t: SystemTime) -> f64 {
    t.duration_since(SystemTime::UNIX_EPOCH)
        .unwrap()
        .as_secs_f64()
}

/// The process `pid` as the tools find it: `/proc/PID/comm` (pgrep) and argv[0] (ps args).
fn process_names(pid: u32) -> (String, String) {
    let comm = std::fs::read_to_string(format!("/proc/{pid}/comm")).unwrap();
    let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap();
    let argv0 = String::from_utf8_lossy(cmdline.split(|b| *b == 0).next().unwrap()).into_owned();
    (comm.trim().to_string(), argv0)
}

#[test]
fn exporters_read_a_failover_script_flips_and_stats_clear() {
    let lab = support::lab(false);
    let tmp = support::tempdir();
    let dir = tmp.path();
    let keepalived = keepalived_link(dir);
    let (r1, r2) = (lab.host("r1"), lab.host("r2"));
    let flag = dir.join("check_ok");
    std::fs::write(&flag, "").unwrap();

    let mut a = Daemon::start_program(r1, dir, &config(150, None), &keepalived, None);
    a.expect(&["(VI_1) Entering MASTER STATE"], Duration::from_secs(5));
    let mut b = Daemon::start_program(r2, dir, &config(100, Some(&flag)), &keepalived, None);
    b.expect(&["(VI_1) Entering BACKUP STATE"], Duration::from_secs(5));
    b.expect(&["VRRP_Script(chk_flag) succeeded"], Duration::from_secs(5));
    let mon = Monitor {
        keepalived: keepalived.clone(),
        pid_file: dir.join("r2.pid"),
        tmpdir: dir.join("r2"),
    };

    // The process as gen2brain (argv[0] base name) and pgrep/checkmk (comm) find it.
    let pid = b.guard.pid();
    let (comm, argv0) = process_names(pid);
    assert_eq!(comm, "keepalived");
    assert_eq!(Path::new(&argv0).file_name().unwrap(), "keepalived");
    let pgrep = Command::new("pgrep")
        .args(["-x", "keepalived"])
        .output()
        .unwrap();
    assert!(
        String::from_utf8_lossy(&pgrep.stdout)
            .lines()
            .any(|l| l.trim() == pid.to_string()),
        "pgrep -x keepalived finds {pid}"
    );

    // Backup: the master heard (once its first advert arrived), its priority, no VIPs set.
    let heard = |m: &Monitor| m.json()[0]["data"]["master_priority"] == 150;
    assert!(wait_until(Duration::from_secs(3), || heard(&mon)));
    let data = parse_data(&mon.dump("DATA", "keepalived.data"));
    let vi = &data["VI_1"];
    assert_eq!(vi.get("State"), "BACKUP");
    assert_eq!(vi.get("Wantstate"), "BACKUP");
    assert_eq!(vi.get("Master router"), r1.ipv4.to_string());
    assert_eq!(vi.int("Master priority"), 150);
    assert!(vi.vips().iter().all(|v| !v.ends_with(" set")), "{vi:?}");
    let json = mon.json();
    let d = check_json_contract(&json);
    assert_eq!(
        (d["state"].as_u64(), d["vipset"].as_bool()),
        (Some(1), Some(false))
    );
    assert_eq!(d["master_priority"], 150);

    // A real failover: the master leaves.
    let before_failover = SystemTime::now();
    a.signal(Signal::SIGTERM);
    b.expect(&["(VI_1) Entering MASTER STATE"], Duration::from_secs(3));
    assert!(wait_until(Duration::from_secs(3), || has_vip(r2)));
    a.wait_exit(Duration::from_secs(3));

    // The text files, as mehdy's exporter parses them.
    let data_text = mon.dump("DATA", "keepalived.data");
    let data = parse_data(&data_text);
    let vi = &data["VI_1"];
    assert_eq!(vi.get("State"), "MASTER");
    assert_eq!(vi.get("Wantstate"), "MASTER");
    assert_eq!(vi.get("Interface"), "eth0");
    assert_eq!(vi.int("Virtual Router ID"), 51);
    assert_eq!(vi.int("Gratuitous ARP delay"), 0);
    let transition = transition_secs(vi.get("Last transition"));
    assert!(
        transition >= secs(before_failover) && transition <= secs(SystemTime::now()),
        "last transition {transition} is the failover's"
    );
    let vips = vi.vips();
    assert_eq!(vips.len(), 1, "{vi:?}");
    let words: Vec<&str> = vips[0].split(' ').collect();
    assert_eq!((words[0], words[2]), ("192.0.2.100/24", "eth0"), "ParseVIP");
    assert!(vips[0].ends_with(" set"), "{}", vips[0]);
    // The configured globals and the host's interfaces, read from the kernel.
    assert!(
        data_text.contains(" VRRP default protocol version = 3\n"),
        "{data_text}"
    );
    assert!(data_text.contains(" Gratuitous ARP delay = 0\n"));
    let eth0 = data_text
        .split("\n Name = ")
        .find(|b| b.starts_with("eth0\n"))
        .expect("eth0 in the Interfaces section");
    assert!(
        eth0.contains(&format!("   IPv4 address = {}\n", r2.ipv4)),
        "{eth0}"
    );
    assert!(eth0.contains("   State = UP, RUNNING\n"), "{eth0}");
    assert!(
        eth0.contains("   Tracking VRRP instances :\n     VI_1, weight 0"),
        "{eth0}"
    );
    assert_eq!(vi.int("Number of interface and track script faults"), 0);
    let scripts = parse_scripts(&data_text);
    let (status, state) = &scripts["chk_flag"];
    assert_eq!(status, "GOOD");
    assert!(["idle", "running"].contains(&state.as_str()), "{state}");

    let stats = parse_stats(&mon.dump("STATS", "keepalived.stats"));
    let stat = |section: &str, key: &str| {
        stats[&("VI_1".to_string(), section.to_string(), key.to_string())]
    };
    assert_eq!(stat("", "Became master"), 1);
    assert!(stat("Advertisements", "Received") > 0);
    assert!(stat("Advertisements", "Sent") > 0);
    assert_eq!(stat("Priority Zero", "Received"), 1, "the leaving master's");
    for (section, key) in [
        ("Packet Errors", "Length"),
        ("Packet Errors", "TTL"),
        ("Packet Errors", "Invalid Type"),
        ("Packet Errors", "Advertisement Interval"),
        ("Packet Errors", "Address List"),
        ("Authentication Errors", "Invalid Type"),
        ("Authentication Errors", "Type Mismatch"),
        ("Authentication Errors", "Failure"),
        ("Priority Zero", "Sent"),
        ("", "Released master"),
    ] {
        assert_eq!(stat(section, key), 0, "{section}/{key}");
    }

    // The JSON, as gen2brain's and mehdy's exporters and checkmk decode it; the counters move.
    let json = mon.json();
    let d = check_json_contract(&json);
    assert_eq!(
        (d["state"].as_u64(), d["wantstate"].as_u64()),
        (Some(2), Some(2))
    );
    assert_eq!(d["vipset"], true);
    assert_eq!(d["vips"][0], "192.0.2.100/24 dev eth0 scope global set");
    let lt = d["last_transition"].as_f64().unwrap();
    assert_eq!(lt, transition, "the same transition time in both files");
    assert_eq!(json[0]["stats"]["become_master"], 1);
    let sent = |j: &serde_json::Value| j[0]["stats"]["advert_sent"].as_u64().unwrap();
    let first = sent(&json);
    assert!(wait_until(Duration::from_secs(3), || sent(&mon.json()) > first));
    // A tool that alerts on a changed last_transition sees the same value on every scrape.
    assert_eq!(mon.json()[0]["data"]["last_transition"].as_f64(), Some(lt));

    // The tracked script fails, then recovers: BAD, then GOOD, in the data file.
    std::fs::remove_file(&flag).unwrap();
    b.expect(&["VRRP_Script(chk_flag) failed"], Duration::from_secs(5));
    let data_text = mon.dump("DATA", "keepalived.data");
    assert_eq!(parse_scripts(&data_text)["chk_flag"].0, "BAD");
    assert_eq!(parse_data(&data_text)["VI_1"].int("Effective priority"), 90);
    std::fs::write(&flag, "").unwrap();
    b.expect(&["VRRP_Script(chk_flag) succeeded"], Duration::from_secs(5));
    let data_text = mon.dump("DATA", "keepalived.data");
    assert_eq!(parse_scripts(&data_text)["chk_flag"].0, "GOOD");
    assert_eq!(
        parse_data(&data_text)["VI_1"].int("Effective priority"),
        100
    );

    // STATS_CLEAR: the stats file has the counters as they were, then they restart at zero;
    // the daemon keeps running with its VIP.
    assert!(wait_until(Duration::from_secs(5), || sent(&mon.json()) >= 20));
    let cleared = parse_stats(&mon.dump("STATS_CLEAR", "keepalived.stats"));
    let key = |k: &str| ("VI_1".to_string(), String::new(), k.to_string());
    assert_eq!(cleared[&key("Became master")], 1, "written before clearing");
    let sent_at_clear =
        cleared[&("VI_1".to_string(), "Advertisements".into(), "Sent".into())] as u64;
    let after = mon.json();
    assert_eq!(after[0]["stats"]["become_master"], 0, "cleared");
    assert_eq!(after[0]["stats"]["pri_zero_rcvd"], 0, "cleared");
    assert!(sent(&after) < sent_at_clear, "advert_sent restarted from 0");
    assert!(b.guard.try_wait().unwrap().is_none(), "still running");
    assert!(has_vip(r2));
    assert_eq!(after[0]["data"]["state"], 2, "still MASTER");
}

/// keepalived's documented signals and every stray signal leave the daemon running with its
/// VIP and state.
#[test]
fn documented_and_stray_signals_leave_the_daemon_running_with_its_vip() {
    use nix::libc;
    let lab = support::lab(false);
    let tmp = support::tempdir();
    let dir = tmp.path();
    let keepalived = keepalived_link(dir);
    let r1 = lab.host("r1");
    // Started as systemd's `ExecStart=@/usr/sbin/vrrpd keepalived` does: argv[0] only.
    let bin = Path::new(support::BIN);
    let mut a = Daemon::start_program(r1, dir, &config(150, None), bin, Some("keepalived"));
    a.expect(&["(VI_1) Entering MASTER STATE"], Duration::from_secs(5));
    assert_eq!(
        process_names(a.guard.pid()),
        ("keepalived".to_string(), "keepalived".to_string()),
        "the process names itself keepalived (comm) as argv[0] says"
    );
    assert!(wait_until(Duration::from_secs(3), || has_vip(r1)));
    let mon = Monitor {
        keepalived,
        pid_file: dir.join("r1.pid"),
        tmpdir: dir.join("r1"),
    };
    let pid = a.guard.pid();
    let alive = |a: &mut Daemon| {
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
        let state = stat.rsplit(") ").next().unwrap().chars().next().unwrap();
        a.guard.try_wait().unwrap().is_none() && state != 'T' && has_vip(r1)
    };

    // The documented ones: each does its job.
    for (func, file) in [
        ("DATA", "keepalived.data"),
        ("STATS", "keepalived.stats"),
        ("STATS_CLEAR", "keepalived.stats"),
        ("JSON", "keepalived.json"),
    ] {
        mon.dump(func, file);
        assert!(alive(&mut a), "after {func}");
    }
    mon.kill(mon.signum("RELOAD"));
    a.expect(&["Reload finished"], Duration::from_secs(5));
    assert!(alive(&mut a), "after RELOAD");
    mon.kill(libc::SIGRTMAX());
    a.expect(
        &["SIGRTMAX", "thread dump", "ignored"],
        Duration::from_secs(3),
    );
    assert!(alive(&mut a), "after SIGRTMAX (TDUMP)");

    // Every other catchable signal: logged and ignored.
    let mut strays = vec![
        libc::SIGQUIT,
        libc::SIGALRM,
        libc::SIGSTKFLT,
        libc::SIGTSTP,
        libc::SIGTTIN,
        libc::SIGTTOU,
        libc::SIGXCPU,
        libc::SIGXFSZ,
        libc::SIGVTALRM,
        libc::SIGPROF,
        libc::SIGIO,
        libc::SIGPWR,
    ];
    strays.extend((libc::SIGRTMIN()..libc::SIGRTMAX() - 1).filter(|s| *s != libc::SIGRTMIN() + 2));
    for signo in strays {
        mon.kill(signo);
        // SIGXCPU (RLIMIT_RTTIME's soft limit) with keepalived's words.
        let logged = if signo == libc::SIGXCPU {
            "vrrp_rlimit_rttime may need to be increased"
        } else {
            "received and ignored"
        };
        a.expect(&[logged], Duration::from_secs(3));
        assert!(alive(&mut a), "after signal {signo}");
    }
    // Those whose default is to be ignored (or, SIGPIPE, that Rust ignores): not logged; a
    // dump requested after them is served, so they were delivered first.
    for signo in [
        libc::SIGPIPE,
        libc::SIGURG,
        libc::SIGWINCH,
        libc::SIGCHLD,
        libc::SIGCONT,
    ] {
        mon.kill(signo);
        mon.dump("STATS", "keepalived.stats");
        assert!(alive(&mut a), "after signal {signo}");
    }
    let changes: Vec<&String> = (a.seen.iter())
        .skip_while(|l| !l.contains("Entering MASTER STATE"))
        .skip(1)
        .filter(|l| l.contains("Entering"))
        .collect();
    assert!(changes.is_empty(), "no state change: {changes:?}");
    assert_eq!(mon.json()[0]["data"]["state"], 2, "still MASTER");

    // SIGTERM still stops it, releasing the VIP.
    a.signal(Signal::SIGTERM);
    assert!(a.wait_exit(Duration::from_secs(3)).success());
    assert!(!has_vip(r1));
}
