//! The process settings of `global_defs` (`vrrp_priority`, `vrrp_no_swap`,
//! `vrrp_rt_priority`, `vrrp_rlimit_rttime`, `vrrp_cpu_affinity`) on a running daemon: read
//! from `/proc/PID/status`, `/proc/PID/limits` and every thread's `/proc/PID/task/TID/stat`,
//! once a tracked file has made the runtime start a thread of its blocking pool after the
//! settings were applied (scheduling, nice value and CPU affinity belong to a thread on
//! Linux); and how the values are read.

mod support;

use std::path::Path;
use std::time::Duration;

use support::Daemon;
use vrrp_netns::wait_until;
use vrrpd::config::{load_str, LoadOptions};

/// A configuration with `globals` in `global_defs` and one Backup instance, which tracks a
/// file in `dir` (read on a thread of the runtime's blocking pool).
fn conf(dir: &Path, globals: &str) -> String {
    let weight = dir.join("weight");
    std::fs::write(&weight, "0\n").unwrap();
    let weight = weight.display();
    format!(
        "global_defs {{
    router_id proc
{globals}
}}
vrrp_track_file tf {{
    file {weight}
}}
vrrp_instance VI_1 {{
    state BACKUP
    interface eth0
    virtual_router_id 51
    priority 100
    advert_int 1
    virtual_ipaddress {{
        192.0.2.100/24
    }}
    track_file {{
        tf weight 0
    }}
}}
"
    )
}

/// The scheduling of one thread, from `/proc/PID/task/TID/stat`.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Sched {
    tid: u32,
    nice: i32,
    rt_priority: u32,
    /// 0 SCHED_OTHER, 1 SCHED_FIFO, 2 SCHED_RR.
    policy: u32,
    /// `Cpus_allowed_list` of the thread's status.
    cpus: String,
}

/// Every thread of `pid`.
fn threads(pid: u32) -> Vec<Sched> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(format!("/proc/{pid}/task")).expect("the daemon's tasks") {
        let tid: u32 = entry
            .unwrap()
            .file_name()
            .to_str()
            .unwrap()
            .parse()
            .unwrap();
        let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/task/{tid}/stat")) else {
            continue;
        };
        let Ok(status) = std::fs::read_to_string(format!("/proc/{pid}/task/{tid}/status")) else {
            continue;
        };
        // The fields after the parenthesised name start at field 3.
        let rest: Vec<&str> = stat
            .rsplit_once(')')
            .unwrap()
            .1
            .split_whitespace()
            .collect();
        let field = |n: usize| rest[n - 3];
        let cpus = status
            .lines()
            .find_map(|l| l.strip_prefix("Cpus_allowed_list:"))
            .unwrap()
            .trim()
            .to_string();
        out.push(Sched {
            tid,
            nice: field(19).parse().unwrap(),
            rt_priority: field(40).parse().unwrap(),
            policy: field(41).parse().unwrap(),
            cpus,
        });
    }
    out
}

/// Writes a script `text` at `path`, executable.
fn executable(path: &Path, text: &str) {
    std::fs::write(path, text).unwrap();
    std::fs::set_permissions(path, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
}

/// RLIMIT_RTTIME's soft and hard limits from `/proc/PID/limits`.
fn rttime(pid: u32) -> (String, String) {
    let line = proc_line(pid, "limits", "Max realtime timeout");
    let v: Vec<&str> = line.split_whitespace().collect();
    (v[3].to_string(), v[4].to_string())
}

/// A line of `/proc/PID/status` or `/proc/PID/limits` starting with `prefix`.
fn proc_line(pid: u32, file: &str, prefix: &str) -> String {
    std::fs::read_to_string(format!("/proc/{pid}/{file}"))
        .unwrap()
        .lines()
        .find(|l| l.starts_with(prefix))
        .unwrap_or_else(|| panic!("no {prefix} in /proc/{pid}/{file}"))
        .to_string()
}

/// Starts vrrpd with `globals`, waits for Backup and for the blocking-pool thread that reads
/// the tracked file, and returns the daemon and its threads (at least two).
fn started(dir: &Path, host: &vrrp_netns::Host, globals: &str) -> (Daemon, Vec<Sched>) {
    let mut d = Daemon::start(host, dir, &conf(dir, globals));
    d.expect(&["(VI_1) Entering BACKUP STATE"], Duration::from_secs(10));
    let pid = d.guard.pid();
    assert!(
        wait_until(Duration::from_secs(5), || threads(pid).len() >= 2),
        "the tracked file is read on a second thread: {:?}",
        threads(pid)
    );
    (d, threads(pid))
}

#[test]
fn vrrp_priority_sets_the_nice_value_of_every_thread() {
    let lab = support::lab(false);
    let tmp = support::tempdir();
    let (d, t) = started(tmp.path(), lab.host("r1"), "    vrrp_priority -5");
    assert!(
        t.iter().all(|s| s.nice == -5 && s.policy == 0),
        "every thread SCHED_OTHER at nice -5: {t:?}"
    );
    drop(d);
}

#[test]
fn vrrp_no_swap_locks_the_daemon_in_memory() {
    let lab = support::lab(false);
    let tmp = support::tempdir();
    let (d, _) = started(tmp.path(), lab.host("r1"), "    vrrp_no_swap");
    let pid = d.guard.pid();
    let line = proc_line(pid, "status", "VmLck:");
    let kb: u64 = line.split_whitespace().nth(1).unwrap().parse().unwrap();
    assert!(kb > 0, "memory locked: {line}");
    // MCL_FUTURE: the mappings made after the lock (the blocking-pool thread's stack among
    // them) are locked too.
    let smaps = std::fs::read_to_string(format!("/proc/{pid}/smaps")).unwrap();
    let mut mapping = "";
    let mut unlocked = Vec::new();
    for line in smaps.lines() {
        if line.starts_with(|c: char| c.is_ascii_hexdigit()) && line.contains('-') {
            mapping = line;
        } else if let Some(flags) = line.strip_prefix("VmFlags:") {
            let flags: Vec<&str> = flags.split_whitespace().collect();
            // The kernel's own mappings (vdso, vvar, vsyscall) cannot be locked.
            let special = ["[vdso]", "[vvar]", "[vvar_vclock]", "[vsyscall]"]
                .iter()
                .any(|n| mapping.ends_with(n));
            if !special && !flags.iter().any(|f| *f == "lo" || *f == "lf") {
                unlocked.push(mapping);
            }
        }
    }
    assert!(unlocked.is_empty(), "every mapping is locked: {unlocked:?}");
    drop(d);
}

#[test]
fn vrrp_rt_priority_runs_every_thread_sched_rr_with_the_rttime_limit() {
    let lab = support::lab(false);
    let tmp = support::tempdir();
    let (d, t) = started(
        tmp.path(),
        lab.host("r1"),
        "    vrrp_rt_priority 10\n    vrrp_rlimit_rttime 500000\n    vrrp_priority -5",
    );
    assert!(
        t.iter().all(|s| s.policy == 2 && s.rt_priority == 10),
        "every thread SCHED_RR at 10: {t:?}"
    );
    // As keepalived: with realtime scheduling, vrrp_priority is not applied.
    assert!(t.iter().all(|s| s.nice == 0), "nice unchanged: {t:?}");
    assert_eq!(
        rttime(d.guard.pid()),
        ("250000".into(), "500000".into()),
        "RLIMIT_RTTIME"
    );
    // A reload keeps them (the same settings on every thread).
    let mut d = d;
    let text = std::fs::read_to_string(&d.conf_path).unwrap();
    d.reload(&text, Duration::from_secs(10));
    let t = threads(d.guard.pid());
    assert!(
        t.iter().all(|s| s.policy == 2 && s.rt_priority == 10),
        "after a reload: {t:?}"
    );
    drop(d);

    // keepalived's default limit, 10 ms (soft 5 ms), once realtime.
    let lab = support::lab(false);
    let text = conf(
        tmp.path(),
        "    vrrp_rt_priority 5\n    vrrp_rlimit_rtime 20000",
    );
    let mut d = Daemon::start(lab.host("r1"), tmp.path(), &text);
    d.expect(&["(VI_1) Entering BACKUP STATE"], Duration::from_secs(10));
    assert_eq!(
        rttime(d.guard.pid()),
        ("10000".into(), "20000".into()),
        "the alias"
    );
    drop(d);
}

#[test]
fn vrrp_cpu_affinity_binds_every_thread() {
    let online = std::thread::available_parallelism().map_or(1, |n| n.get());
    assert!(
        online >= 2,
        "this test needs two CPUs to see an affinity change, the machine has {online}"
    );
    let lab = support::lab(false);
    let tmp = support::tempdir();
    let (d, t) = started(tmp.path(), lab.host("r1"), "    vrrp_cpu_affinity 1");
    assert!(
        t.iter().all(|s| s.cpus == "1"),
        "every thread on CPU 1: {t:?}"
    );
    drop(d);
}

/// The values as keepalived reads them: out-of-range realtime priorities clamped, an invalid
/// nice value or CPU ignored (with a configuration error), an rttime of 1 read as 2, the old
/// keyword noted as deprecated, and no note that they are not acted on.
#[test]
fn process_settings_are_read_as_keepalived_reads_them() {
    let dir = support::tempdir();
    let g = |globals: &str| {
        let loaded = load_str(
            "p.conf",
            Path::new("."),
            &conf(dir.path(), globals),
            &LoadOptions::default(),
        )
        .expect("loads");
        let messages: Vec<String> = loaded.warnings.iter().map(|d| d.message.clone()).collect();
        (loaded.config.global_defs, messages)
    };
    let (d, w) = g("");
    assert_eq!(
        (
            d.vrrp_process_priority,
            d.vrrp_no_swap,
            d.vrrp_realtime_priority
        ),
        (0, false, 0)
    );
    assert_eq!(
        (d.vrrp_rlimit_rttime_us, d.min_auto_priority_delay_us),
        (10_000, 1_000_000)
    );
    assert!(d.vrrp_cpu_affinity.is_empty());
    assert!(w.is_empty(), "{w:?}");

    let (d, w) = g("    vrrp_priority -20\n    vrrp_rt_priority 99\n    vrrp_no_swap\n    vrrp_cpu_affinity 1 0 1\n    vrrp_rlimit_rttime 1");
    assert_eq!(
        (
            d.vrrp_process_priority,
            d.vrrp_realtime_priority,
            d.vrrp_no_swap
        ),
        (-20, 99, true)
    );
    assert_eq!(d.vrrp_cpu_affinity, [0, 1]);
    assert_eq!(d.vrrp_rlimit_rttime_us, 2);
    assert!(w.is_empty(), "acted on, nothing noted: {w:?}");

    let (d, w) = g("    vrrp_priority 20\n    vrrp_rt_priority 0\n    vrrp_cpu_affinity 0 100000\n    vrrp_rlimit_rtime x");
    assert_eq!((d.vrrp_process_priority, d.vrrp_realtime_priority), (0, 1));
    assert!(
        d.vrrp_cpu_affinity.is_empty(),
        "an invalid CPU clears the set"
    );
    assert_eq!(d.vrrp_rlimit_rttime_us, 0, "an invalid limit sets none");
    for needle in [
        "vrrp_priority 20 is out of range",
        "vrrp_rt_priority 0 is less than the minimum 1",
        "vrrp_cpu_affinity CPU 100000 is out of range",
        "vrrp_rlimit_rtime is deprecated",
        "vrrp_rlimit_rtime x is not an integer",
    ] {
        assert!(w.iter().any(|m| m.contains(needle)), "{needle} in {w:?}");
    }
    let (d, _) = g("    vrrp_rt_priority 150");
    assert_eq!(d.vrrp_realtime_priority, 99);
}

/// `max_auto_priority`: an event loop that runs later than `min_auto_priority_delay` (here the
/// daemon is stopped for half a second) makes the daemon realtime at the lowest SCHED_RR
/// priority, on every thread, with keepalived's default RLIMIT_RTTIME; as keepalived, it
/// logs how late the timer was.
#[test]
fn max_auto_priority_makes_a_late_daemon_realtime() {
    let lab = support::lab(false);
    let tmp = support::tempdir();
    let (mut d, t) = started(
        tmp.path(),
        lab.host("r1"),
        "    max_auto_priority 5\n    min_auto_priority_delay 100000",
    );
    assert!(t.iter().all(|s| s.policy == 0), "not realtime yet: {t:?}");
    d.signal(vrrp_netns::Signal::SIGSTOP);
    // The stall itself: the daemon cannot run while stopped.
    std::thread::sleep(Duration::from_millis(500));
    d.signal(vrrp_netns::Signal::SIGCONT);
    d.expect(&["A thread timer expired 0."], Duration::from_secs(5));
    d.expect(&["Set realtime priority 1"], Duration::from_secs(5));
    let pid = d.guard.pid();
    let t = threads(pid);
    assert!(
        t.iter().all(|s| s.policy == 2 && s.rt_priority == 1),
        "every thread SCHED_RR at 1: {t:?}"
    );
    assert_eq!(
        rttime(pid),
        ("5000".into(), "10000".into()),
        "RLIMIT_RTTIME"
    );
    drop(d);
}

/// As keepalived's (2.2.7's; 2.4.3 has the defect of resetting the daemon instead), scripts
/// do not inherit a realtime policy nor a raised priority: a notify script started by a
/// SCHED_RR daemon, and one started by a daemon at nice -5, run SCHED_OTHER at nice 0, and
/// the daemon keeps its settings.
#[test]
fn scripts_start_sched_other_at_nice_zero() {
    let lab = support::lab(false);
    let tmp = support::tempdir();
    let dir = tmp.path();
    for (globals, daemon_policy, daemon_nice) in [
        (
            "    vrrp_rt_priority 10\n    vrrp_rlimit_rttime 500000",
            2,
            0,
        ),
        ("    vrrp_priority -5", 0, -5),
    ] {
        let out = dir.join("script.out");
        let _ = std::fs::remove_file(&out);
        let script = dir.join("notify.sh");
        executable(
            &script,
            &format!(
                "#!/bin/sh\ncut -d' ' -f19,41 /proc/$$/stat > {0}.tmp && mv {0}.tmp {0}\n",
                out.display()
            ),
        );
        let text = conf(dir, globals).replace(
            "    track_file {",
            &format!("    notify_backup {}\n    track_file {{", script.display()),
        );
        let mut d = Daemon::start(lab.host("r1"), dir, &text);
        d.expect(&["(VI_1) Entering BACKUP STATE"], Duration::from_secs(10));
        assert!(
            wait_until(Duration::from_secs(5), || out.exists()),
            "the notify script ran; log:\n{}",
            d.seen.join("\n")
        );
        let got = std::fs::read_to_string(&out).unwrap();
        assert_eq!(
            got.trim(),
            "0 0",
            "the script's nice and policy ({globals})"
        );
        let t = threads(d.guard.pid());
        assert!(
            t.iter()
                .all(|s| s.policy == daemon_policy && s.nice == daemon_nice),
            "the daemon keeps its settings ({globals}): {t:?}"
        );
        drop(d);
    }
}

/// As keepalived: a setting the kernel refuses is logged and the daemon runs without it. Here
/// vrrpd runs without CAP_SYS_NICE and CAP_IPC_LOCK (dropped from the bounding set by
/// util-linux's `setpriv`), so SCHED_RR, a negative nice value and locking more memory than
/// RLIMIT_MEMLOCK are refused.
#[test]
fn refused_settings_are_logged_and_the_daemon_runs_without_them() {
    let setpriv = Path::new("/usr/bin/setpriv");
    assert!(
        setpriv.exists(),
        "this test needs util-linux's setpriv at {}",
        setpriv.display()
    );
    let lab = support::lab(false);
    let tmp = support::tempdir();
    let dir = tmp.path();
    let wrapper = dir.join("unprivileged.sh");
    executable(
        &wrapper,
        &format!(
            "#!/bin/sh\nulimit -l 64\nexec {} --bounding-set -sys_nice,-ipc_lock {} \"$@\"\n",
            setpriv.display(),
            support::BIN
        ),
    );
    for (globals, logged) in [
        (
            "    vrrp_rt_priority 10\n    vrrp_no_swap",
            &["cannot raise priority", "Unable to lock process in memory"][..],
        ),
        (
            "    vrrp_priority -5",
            &["Unable to set process priority"][..],
        ),
    ] {
        let mut d = Daemon::start_program(lab.host("r1"), dir, &conf(dir, globals), &wrapper, None);
        for needle in logged {
            d.expect(&[needle], Duration::from_secs(10));
        }
        d.expect(&["(VI_1) Entering BACKUP STATE"], Duration::from_secs(10));
        let pid = d.guard.pid();
        let t = threads(pid);
        assert!(
            t.iter().all(|s| s.policy == 0 && s.nice == 0),
            "unchanged ({globals}): {t:?}"
        );
        let locked = proc_line(pid, "status", "VmLck:");
        assert!(locked.contains(" 0 kB"), "{locked}");
        drop(d);
    }
}

/// A reload applies the new settings to every thread as keepalived's `restore_priority` does:
/// a nice value changes; realtime scheduling starts (the nice value left as it was); once
/// realtime, the priority only rises, and the daemon stays realtime without
/// `vrrp_rt_priority` unless `max_auto_priority -1` says never; memory is locked and
/// unlocked.
#[test]
fn reload_applies_the_new_settings_as_keepalived() {
    let lab = support::lab(false);
    let tmp = support::tempdir();
    let dir = tmp.path();
    let (mut d, _) = started(dir, lab.host("r1"), "    vrrp_priority -5");
    let pid = d.guard.pid();
    let locked = || {
        let line = proc_line(pid, "status", "VmLck:");
        !line.contains(" 0 kB")
    };
    // (globals, policy, rt_priority, nice, memory locked)
    let steps: [(&str, u32, u32, i32, bool); 5] = [
        ("    vrrp_priority -3", 0, 0, -3, false),
        ("    vrrp_rt_priority 10\n    vrrp_no_swap", 2, 10, -3, true),
        ("    vrrp_rt_priority 5", 2, 10, -3, false),
        ("", 2, 10, -3, false),
        ("    max_auto_priority -1", 0, 0, -3, false),
    ];
    for (globals, policy, rt_priority, nice, memory_locked) in steps {
        // A generous RLIMIT_RTTIME: a debug build parses slowly.
        let globals = format!("    vrrp_rlimit_rttime 500000\n{globals}");
        let out = d.reload(&conf(dir, &globals), Duration::from_secs(10));
        assert!(
            out.last().is_some_and(|l| l.contains("Reload finished")),
            "{out:?}"
        );
        let t = threads(pid);
        assert!(
            t.iter()
                .all(|s| (s.policy, s.rt_priority, s.nice) == (policy, rt_priority, nice)),
            "after reloading with {globals:?}: {t:?}"
        );
        assert_eq!(locked(), memory_locked, "memory locked after {globals:?}");
    }
    drop(d);
}
