//! Tracked objects and notifications with real processes (no network needed).

use std::fs;
use std::os::unix::fs::{FileTypeExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use tokio::sync::mpsc;
use vrrpd::config::model::{NotifyFifo, NotifyScripts, RunAs, ScriptCommand};
use vrrpd::notify::{Notifier, NotifierConfig, NotifyState, Subject};
use vrrpd::track::exec::{self, ExecError, KillPolicy, Outcome, ScriptPolicy};
use vrrpd::track::file::{self, FileSpec};
use vrrpd::track::process::{self, ParamMatch, ProcessSpec};
use vrrpd::track::script::{self, ScriptError, ScriptSpec};
use vrrpd::track::{TrackState, TrackerUpdate};

const WAIT: Duration = Duration::from_secs(5);

/// Fails the test unless running as root (it switches users or checks root-owned paths).
fn require_root() {
    assert!(
        nix::unistd::Uid::effective().is_root(),
        "this test needs root (it runs scripts as other users): run it as root, \
         e.g. `sudo -E cargo test -p vrrpd --test track_notify`"
    );
}

fn tempdir() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    fs::set_permissions(dir.path(), fs::Permissions::from_mode(0o755)).unwrap();
    dir
}

/// Writes an executable `#!/bin/sh` script.
fn sh(dir: &Path, name: &str, body: &str) -> PathBuf {
    let path = dir.join(name);
    fs::write(&path, format!("#!/bin/sh\n{body}\n")).unwrap();
    fs::set_permissions(&path, fs::Permissions::from_mode(0o755)).unwrap();
    path
}

fn spec(name: &str, command: String, interval_ms: u64) -> ScriptSpec {
    ScriptSpec {
        name: name.into(),
        command,
        run_as: None,
        interval: Duration::from_millis(interval_ms),
        timeout: Duration::from_millis(interval_ms),
        rise: 1,
        fall: 1,
        init_fail: false,
    }
}

async fn next(rx: &mut mpsc::Receiver<TrackerUpdate>) -> TrackerUpdate {
    tokio::time::timeout(WAIT, rx.recv())
        .await
        .expect("no update in time")
        .expect("channel closed")
}

async fn wait_for(what: &str, mut cond: impl FnMut() -> bool) {
    let deadline = Instant::now() + WAIT;
    while !cond() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

fn read(path: &Path) -> String {
    fs::read_to_string(path).unwrap_or_default()
}

fn lines(path: &Path) -> Vec<String> {
    read(path).lines().map(str::to_owned).collect()
}

/// A process is alive if /proc has it and it is not a zombie.
fn alive(pid: &str) -> bool {
    match fs::read_to_string(format!("/proc/{}/stat", pid.trim())) {
        Ok(stat) => {
            let state = stat.rsplit_once(") ").map(|(_, rest)| &rest[..1]);
            state != Some("Z")
        }
        Err(_) => false,
    }
}

// ---- vrrp_script ----------------------------------------------------------------------------

#[tokio::test]
async fn rise_and_fall_follow_a_flag_file() {
    let dir = tempdir();
    let flag = dir.path().join("ok");
    let runs = dir.path().join("runs");
    let s = sh(
        dir.path(),
        "chk",
        &format!("echo run >> {}; [ -e {} ]", runs.display(), flag.display()),
    );
    let mut sp = spec("chk", s.display().to_string(), 50);
    sp.rise = 3;
    sp.fall = 2;
    let (tx, mut rx) = mpsc::channel(8);
    let h = script::spawn(sp, &ScriptPolicy::current_user(), tx).unwrap();

    // The first result decides, even with rise 3.
    let u = next(&mut rx).await;
    assert_eq!((u.name.as_str(), u.state), ("chk", TrackState::Down));
    assert_eq!(u.detail, "exited with status 1 (fall 2)");

    let before = lines(&runs).len();
    fs::write(&flag, "").unwrap();
    let u = next(&mut rx).await;
    assert_eq!(u.state, TrackState::Up);
    // At least `rise` runs happened since the flag appeared (one may have raced with it).
    assert!(lines(&runs).len() - before >= 3, "rise 3 needs 3 successes");

    let before = lines(&runs).len();
    fs::remove_file(&flag).unwrap();
    let u = next(&mut rx).await;
    assert_eq!(u.state, TrackState::Down);
    assert!(lines(&runs).len() - before >= 2, "fall 2 needs 2 failures");
    h.stop().await;
}

#[tokio::test]
async fn init_fail_reports_down_until_rise_successes() {
    let dir = tempdir();
    let runs = dir.path().join("runs");
    let s = sh(
        dir.path(),
        "chk",
        &format!("echo run >> {}", runs.display()),
    );
    let mut sp = spec("chk", s.display().to_string(), 50);
    sp.rise = 2;
    sp.init_fail = true;
    let (tx, mut rx) = mpsc::channel(8);
    let _h = script::spawn(sp, &ScriptPolicy::current_user(), tx).unwrap();
    let u = next(&mut rx).await;
    assert_eq!(u.state, TrackState::Down);
    assert!(u.detail.starts_with("init_fail"), "{}", u.detail);
    let u = next(&mut rx).await;
    assert_eq!(u.state, TrackState::Up);
    assert!(lines(&runs).len() >= 2);
}

#[tokio::test]
async fn timeout_kills_the_whole_process_group_and_counts_as_failure() {
    let dir = tempdir();
    let leader = dir.path().join("leader");
    let child = dir.path().join("child");
    let stubborn = dir.path().join("stubborn");
    // A child sleeping, and one that ignores SIGTERM (so it needs the group SIGKILL).
    let s = sh(
        dir.path(),
        "hang",
        &format!(
            "sleep 30 & echo $! > {child}\n\
             sh -c 'trap \"\" TERM; exec sleep 31' & echo $! > {stubborn}\n\
             echo $$ > {leader}\nwait",
            child = child.display(),
            stubborn = stubborn.display(),
            leader = leader.display()
        ),
    );
    let mut sp = spec("hang", s.display().to_string(), 10_000);
    sp.timeout = Duration::from_millis(300);
    let (tx, mut rx) = mpsc::channel(8);
    let started = Instant::now();
    let _h = script::spawn(sp, &ScriptPolicy::current_user(), tx).unwrap();
    let u = next(&mut rx).await;
    assert_eq!(u.state, TrackState::Down);
    assert!(u.detail.contains("timed out after 300ms"), "{}", u.detail);
    assert!(started.elapsed() >= Duration::from_millis(300));
    let pids = [read(&leader), read(&child), read(&stubborn)];
    assert!(pids.iter().all(|p| !p.trim().is_empty()), "{pids:?}");
    wait_for("the script's processes to die", || {
        !pids.iter().any(|p| alive(p))
    })
    .await;
}

#[tokio::test]
async fn a_running_script_is_not_started_twice() {
    let dir = tempdir();
    let log = dir.path().join("log");
    let s = sh(
        dir.path(),
        "slow",
        &format!(
            "echo start >> {log}; sleep 0.3; echo end >> {log}",
            log = log.display()
        ),
    );
    let mut sp = spec("slow", s.display().to_string(), 50);
    sp.timeout = Duration::from_secs(5);
    let (tx, mut rx) = mpsc::channel(8);
    let started = Instant::now();
    let h = script::spawn(sp, &ScriptPolicy::current_user(), tx).unwrap();
    assert_eq!(next(&mut rx).await.state, TrackState::Up);
    wait_for("three runs", || {
        lines(&log).iter().filter(|l| *l == "end").count() >= 3
    })
    .await;
    h.stop().await;
    let elapsed = started.elapsed();
    let log = lines(&log);
    // Strictly start, end, start, end...: never two runs at once.
    for (i, line) in log.iter().enumerate() {
        let want = if i % 2 == 0 { "start" } else { "end" };
        assert_eq!(line, want, "overlapping runs: {log:?}");
    }
    let starts = log.iter().filter(|l| *l == "start").count();
    let max = (elapsed.as_millis() / 300 + 1) as usize;
    assert!(starts <= max, "{starts} starts in {elapsed:?}");
}

#[tokio::test]
async fn dev_tcp_runs_through_the_shell() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let command = format!("</dev/tcp/127.0.0.1/{port}");
    let prepared = exec::prepare(&command, None, &ScriptPolicy::current_user()).unwrap();
    assert_eq!(prepared.program, exec::shell_path());
    assert_eq!(prepared.args, ["-c", command.as_str()]);

    let (tx, mut rx) = mpsc::channel(8);
    let _h = script::spawn(spec("tcp", command, 100), &ScriptPolicy::current_user(), tx).unwrap();
    assert_eq!(
        exec::shell_path(),
        Path::new("/bin/bash"),
        "/dev/tcp is a bash feature: this test needs /bin/bash (apt-get install -y bash)"
    );
    assert_eq!(next(&mut rx).await.state, TrackState::Up);
    drop(listener);
    assert_eq!(next(&mut rx).await.state, TrackState::Down);
}

#[test]
fn script_security_names_the_bad_component() {
    require_root();
    let dir = tempdir();
    let sub = dir.path().join("scripts");
    fs::create_dir(&sub).unwrap();
    fs::set_permissions(&sub, fs::Permissions::from_mode(0o775)).unwrap();
    let s = sh(&sub, "chk", "exit 0");
    let secure = ScriptPolicy {
        default_user: exec::Credentials::root(),
        security: true,
    };
    let err = exec::prepare(&s.display().to_string(), None, &secure).unwrap_err();
    assert_eq!(
        err.to_string(),
        format!(
            "script {s:?} is unsafe to run as root: directory {sub:?} is group-writable \
             (mode 0775); make every component of its path root-owned and not group- or \
             world-writable, or run it as another user"
        )
    );
    // The vrrp_script is disabled with the same reason.
    let (tx, _rx) = mpsc::channel(1);
    let e = script::spawn(spec("chk", s.display().to_string(), 1000), &secure, tx).unwrap_err();
    assert!(matches!(e, ScriptError::Exec { .. }));
    assert!(
        e.to_string()
            .starts_with("vrrp_script chk disabled: script"),
        "{e}"
    );
    assert!(
        e.to_string().contains("is group-writable (mode 0775)"),
        "{e}"
    );

    // A world-writable script file, and a file owned by someone else.
    fs::set_permissions(&sub, fs::Permissions::from_mode(0o755)).unwrap();
    fs::set_permissions(&s, fs::Permissions::from_mode(0o757)).unwrap();
    let err = exec::prepare(&s.display().to_string(), None, &secure).unwrap_err();
    assert!(
        err.to_string()
            .contains(&format!("file {s:?} is world-writable (mode 0757)")),
        "{err}"
    );
    fs::set_permissions(&s, fs::Permissions::from_mode(0o755)).unwrap();
    nix::unistd::chown(&s, Some(nix::unistd::Uid::from_raw(65534)), None).unwrap();
    let err = exec::prepare(&s.display().to_string(), None, &secure).unwrap_err();
    assert!(
        err.to_string()
            .contains(&format!("file {s:?} is owned by uid 65534, not root")),
        "{err}"
    );
    nix::unistd::chown(&s, Some(nix::unistd::Uid::from_raw(0)), None).unwrap();

    // Secure now (the temp dir's ancestors are / and the sticky /tmp) unless TMPDIR is elsewhere.
    if dir.path().starts_with("/tmp") {
        exec::prepare(&s.display().to_string(), None, &secure).unwrap();
    }
    // Without enable_script_security, anything executable goes.
    fs::set_permissions(&sub, fs::Permissions::from_mode(0o777)).unwrap();
    exec::prepare(
        &s.display().to_string(),
        None,
        &ScriptPolicy::current_user(),
    )
    .unwrap();
}

#[test]
fn missing_and_non_executable_scripts_are_refused() {
    let dir = tempdir();
    let policy = ScriptPolicy::current_user();
    let missing = dir.path().join("nope");
    assert_eq!(
        exec::prepare(&missing.display().to_string(), None, &policy).unwrap_err(),
        ExecError::Missing(missing.clone())
    );
    let s = sh(dir.path(), "noexec", "exit 0");
    fs::set_permissions(&s, fs::Permissions::from_mode(0o644)).unwrap();
    let err = exec::prepare(&s.display().to_string(), None, &policy).unwrap_err();
    assert!(
        err.to_string().contains("is not executable by user")
            && err.to_string().contains("mode 0644"),
        "{err}"
    );
    assert_eq!(
        exec::prepare("no-such-program-vrrpd", None, &policy).unwrap_err(),
        ExecError::NotInPath("no-such-program-vrrpd".into())
    );
    assert_eq!(
        exec::prepare("x 'unterminated", None, &policy)
            .unwrap_err()
            .to_string(),
        "unterminated ' quote in command \"x 'unterminated\""
    );
}

#[tokio::test]
async fn argv_is_split_with_quotes_and_bare_names_use_path() {
    let dir = tempdir();
    let out = dir.path().join("out");
    let s = sh(
        dir.path(),
        "args",
        &format!(
            "for a in \"$@\"; do printf '[%s]\\n' \"$a\"; done > {}",
            out.display()
        ),
    );
    let command = format!(
        r#"{} plain 'single quoted' "double \"q\"" back\ slash '$HOME' *"#,
        s.display()
    );
    let cmd = exec::prepare(&command, None, &ScriptPolicy::current_user()).unwrap();
    let outcome = exec::run(&cmd, KillPolicy::check(WAIT)).await;
    assert_eq!(outcome, Outcome::Exited(0));
    assert_eq!(
        read(&out),
        "[plain]\n[single quoted]\n[double \"q\"]\n[back slash]\n[$HOME]\n[*]\n"
    );
    let t = exec::prepare("true", None, &ScriptPolicy::current_user()).unwrap();
    assert!(
        t.program.is_absolute() && t.program.ends_with("true"),
        "{:?}",
        t.program
    );
    assert_eq!(
        exec::run(&t, KillPolicy::check(WAIT)).await,
        Outcome::Exited(0)
    );
    let f = exec::prepare("false", None, &ScriptPolicy::current_user()).unwrap();
    assert_eq!(
        exec::run(&f, KillPolicy::check(WAIT)).await,
        Outcome::Exited(1)
    );
}

#[tokio::test]
async fn scripts_run_as_the_configured_user() {
    require_root();
    let nobody = nix::unistd::User::from_name("nobody")
        .unwrap()
        .expect("user nobody");
    let dir = tempdir();
    let out_dir = dir.path().join("out");
    fs::create_dir(&out_dir).unwrap();
    fs::set_permissions(&out_dir, fs::Permissions::from_mode(0o777)).unwrap();
    let out = out_dir.join("id");
    let s = sh(
        dir.path(),
        "id",
        &format!("echo \"$(id -u) $(id -g) $(id -G)\" > {}", out.display()),
    );
    let run_as = RunAs {
        user: "nobody".into(),
        group: None,
    };
    let cmd = exec::prepare(
        &s.display().to_string(),
        Some(&run_as),
        &ScriptPolicy::current_user(),
    )
    .unwrap();
    assert_eq!(
        exec::run(&cmd, KillPolicy::check(WAIT)).await,
        Outcome::Exited(0)
    );
    let gid = nobody.gid.as_raw();
    assert_eq!(read(&out).trim(), format!("{} {gid} {gid}", nobody.uid));
}

// ---- track_file -----------------------------------------------------------------------------

#[tokio::test]
async fn track_file_reports_values_and_missing_means_zero() {
    let dir = tempdir();
    let path = dir.path().join("weight");
    fs::write(&path, "  42\n").unwrap();
    let fspec = FileSpec {
        name: "tf".into(),
        path: path.clone(),
        init_file: None,
    };
    let (tx, mut rx) = mpsc::channel(8);
    let _h = file::spawn(fspec, Duration::from_millis(20), tx).unwrap();
    let u = next(&mut rx).await;
    assert_eq!((u.name.as_str(), u.state), ("tf", TrackState::Value(42)));
    fs::write(&path, "-7").unwrap();
    assert_eq!(next(&mut rx).await.state, TrackState::Value(-7));
    fs::remove_file(&path).unwrap();
    assert_eq!(next(&mut rx).await.state, TrackState::Value(0));
    fs::write(&path, "junk").unwrap();
    fs::write(&path, "3").unwrap();
    assert_eq!(next(&mut rx).await.state, TrackState::Value(3));
    assert_eq!(file::read_value(&dir.path().join("junk")).0, 0);
    fs::write(dir.path().join("junk"), "12abc").unwrap();
    let (v, problem) = file::read_value(&dir.path().join("junk"));
    assert_eq!(v, 0);
    assert!(problem.unwrap().contains("does not hold an integer"));
}

#[test]
fn init_file_creates_and_overwrites() {
    let dir = tempdir();
    let path = dir.path().join("f");
    let mut fspec = FileSpec {
        name: "tf".into(),
        path: path.clone(),
        init_file: Some((5, false)),
    };
    file::init_file(&fspec).unwrap();
    assert_eq!(read(&path), "5\n");
    fs::write(&path, "9").unwrap();
    file::init_file(&fspec).unwrap();
    assert_eq!(read(&path), "9");
    fspec.init_file = Some((0, true));
    file::init_file(&fspec).unwrap();
    assert_eq!(read(&path), "0\n");
}

// ---- track_process --------------------------------------------------------------------------

#[tokio::test]
async fn track_process_quorum_and_delay() {
    // A unique argument so only our sleeps match.
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .subsec_nanos();
    let arg = format!("1000.{}{}", std::process::id(), nanos % 1000);
    let sleep = || {
        std::process::Command::new("sleep")
            .arg(&arg)
            .spawn()
            .unwrap()
    };
    let pspec = ProcessSpec {
        name: "sleepers".into(),
        process: "sleep".into(),
        params: vec![arg.clone()],
        param_match: ParamMatch::Exact,
        full_command: false,
        quorum: 2,
        quorum_max: 3,
        terminate_delay: Duration::from_millis(300),
        fork_delay: Duration::ZERO,
    };
    let mut a = sleep();
    let (tx, mut rx) = mpsc::channel(8);
    let _h = process::spawn(vec![pspec.clone()], Duration::from_millis(30), tx);
    let u = next(&mut rx).await;
    assert_eq!(u.state, TrackState::Down);
    assert_eq!(u.detail, "1 matching process (quorum 2..3)");
    let mut b = sleep();
    let u = next(&mut rx).await;
    assert_eq!(u.state, TrackState::Up);
    assert_eq!(u.detail, "2 matching processes (quorum 2..3)");
    b.kill().unwrap();
    b.wait().unwrap();
    let lost = Instant::now();
    let u = next(&mut rx).await;
    assert_eq!(u.state, TrackState::Down);
    assert!(
        lost.elapsed() >= Duration::from_millis(300),
        "delay not honoured"
    );
    let procs = process::scan_proc();
    assert_eq!(process::count(&pspec, &procs), 1);
    let mut partial = pspec.clone();
    partial.params = vec![arg[..6].to_owned()];
    partial.param_match = ParamMatch::Partial;
    assert_eq!(process::count(&partial, &procs), 1);
    a.kill().unwrap();
    a.wait().unwrap();
}

#[tokio::test]
async fn track_process_terminate_and_fork_delays() {
    let arg = format!("2000.{}", std::process::id());
    let sleep = || {
        std::process::Command::new("sleep")
            .arg(&arg)
            .spawn()
            .unwrap()
    };
    let (terminate_delay, fork_delay) = (Duration::from_millis(600), Duration::from_millis(400));
    let pspec = ProcessSpec {
        name: "sleeper".into(),
        process: "sleep".into(),
        params: vec![arg.clone()],
        param_match: ParamMatch::Exact,
        full_command: false,
        quorum: 1,
        quorum_max: u32::MAX,
        terminate_delay,
        fork_delay,
    };
    let (tx, mut rx) = mpsc::channel(8);
    let _h = process::spawn(vec![pspec], Duration::from_millis(30), tx);
    assert_eq!(
        next(&mut rx).await.state,
        TrackState::Down,
        "first count at once"
    );
    // Started: Up only after fork_delay.
    let forked = Instant::now();
    let mut a = sleep();
    assert_eq!(next(&mut rx).await.state, TrackState::Up);
    assert!(forked.elapsed() >= fork_delay, "fork_delay not honoured");
    // Restarted at once (a respawning supervisor): the short loss is never reported.
    a.kill().unwrap();
    a.wait().unwrap();
    let mut b = sleep();
    assert!(
        tokio::time::timeout(terminate_delay * 2, rx.recv())
            .await
            .is_err(),
        "a loss shorter than terminate_delay was reported"
    );
    // Gone for good: Down after terminate_delay.
    b.kill().unwrap();
    b.wait().unwrap();
    let lost = Instant::now();
    let u = next(&mut rx).await;
    assert_eq!(u.state, TrackState::Down);
    assert_eq!(u.detail, "0 matching processes (quorum 1)");
    assert!(
        lost.elapsed() >= terminate_delay,
        "terminate_delay not honoured"
    );
}

// ---- notify ---------------------------------------------------------------------------------

fn cmd(command: String) -> Option<ScriptCommand> {
    Some(ScriptCommand {
        command,
        run_as: None,
    })
}

/// A script appending `TAG|arg|arg|...` to `log`.
fn logger(dir: &Path, log: &Path) -> PathBuf {
    sh(
        dir,
        "logger",
        &format!(
            // One write per line (O_APPEND): scripts run in parallel, and a write per
            // argument interleaved their lines.
            "line=; for a in \"$@\"; do line=\"$line$a|\"; done; printf '%s\\n' \"$line\" >> {}",
            log.display()
        ),
    )
}

#[tokio::test]
async fn notify_arguments_and_order() {
    let dir = tempdir();
    let log = dir.path().join("log");
    let l = logger(dir.path(), &log).display().to_string();
    let mut cfg = NotifierConfig::new(ScriptPolicy::current_user());
    let vi = NotifyScripts {
        master: cmd(format!("{l} specific 'x y'")),
        notify: cmd(format!("{l} generic")),
        ..Default::default()
    };
    let deleted = NotifyScripts {
        deleted: cmd(String::new()),
        notify: cmd(format!("{l} del")),
        ..Default::default()
    };
    cfg.instances = vec![("VI_1".into(), vi.clone()), ("VI_2".into(), deleted)];
    cfg.groups = vec![("G".into(), vi)];
    let n = Notifier::start(cfg);
    assert!(n.problems().is_empty(), "{:?}", n.problems());
    n.notify(Subject::Instance, "VI_1", NotifyState::Master, 100);
    n.notify(Subject::Instance, "VI_1", NotifyState::Deleted, 0);
    n.notify(Subject::Group, "G", NotifyState::Backup, 77);
    n.notify(Subject::Instance, "VI_2", NotifyState::Deleted, 0);
    n.notify(Subject::Instance, "unknown", NotifyState::Master, 1);
    wait_for("5 script runs", || lines(&log).len() >= 5).await;
    n.shutdown(WAIT).await;
    let got = lines(&log);
    let vi1: Vec<_> = got
        .iter()
        .filter(|l| l.contains("VI_1") || l.starts_with("specific"))
        .collect();
    assert_eq!(
        vi1,
        [
            "specific|x y|",
            "generic|INSTANCE|VI_1|MASTER|100|",
            // No notify_deleted: DELETED is reported as FAULT.
            "generic|INSTANCE|VI_1|FAULT|0|",
        ]
    );
    assert!(
        got.contains(&"generic|GROUP|G|BACKUP|0|".to_owned()),
        "{got:?}"
    );
    assert!(
        got.contains(&"del|INSTANCE|VI_2|DELETED|0|".to_owned()),
        "{got:?}"
    );
    assert_eq!(got.len(), 5, "{got:?}");
}

#[tokio::test]
async fn fifo_lines_in_keepalived_format_without_blocking() {
    let dir = tempdir();
    let fifo = dir.path().join("fifo");
    let copy = dir.path().join("copy");
    let reader = sh(
        dir.path(),
        "reader",
        &format!("exec cat \"$1\" > {}", copy.display()),
    );
    let fifo2 = dir.path().join("fifo2");
    let mut cfg = NotifierConfig::new(ScriptPolicy::current_user());
    cfg.fifos = vec![
        vrrpd::notify::FifoSpec {
            fifo: NotifyFifo {
                path: fifo.display().to_string(),
                run_as: None,
            },
            script: cmd(reader.display().to_string()),
        },
        // No reader at all: writes must not block.
        vrrpd::notify::FifoSpec {
            fifo: NotifyFifo {
                path: fifo2.display().to_string(),
                run_as: None,
            },
            script: None,
        },
    ];
    let n = Notifier::start(cfg);
    assert!(n.problems().is_empty(), "{:?}", n.problems());
    let meta = fs::metadata(&fifo).unwrap();
    assert!(meta.file_type().is_fifo());
    assert_eq!(meta.permissions().mode() & 0o777, 0o644);
    n.notify(Subject::Instance, "VI_1", NotifyState::Master, 100);
    n.notify(Subject::Group, "G", NotifyState::Backup, 50);
    n.notify(
        Subject::Instance,
        "VI_1",
        NotifyState::MasterRxLowerPri,
        100,
    );
    n.notify(Subject::Instance, "VI_1", NotifyState::Stop, 100);
    let expected = "INSTANCE \"VI_1\" MASTER 100\nGROUP \"G\" BACKUP 0\n\
                    INSTANCE \"VI_1\" MASTER_RX_LOWER_PRI 100\nINSTANCE \"VI_1\" STOP 100\n";
    wait_for("the FIFO script to copy 4 lines", || {
        read(&copy) == expected
    })
    .await;
    // The lines wait in the reader-less FIFO.
    use std::io::Read;
    use std::os::unix::fs::OpenOptionsExt;
    let mut f = fs::OpenOptions::new()
        .read(true)
        .custom_flags(nix::fcntl::OFlag::O_NONBLOCK.bits())
        .open(&fifo2)
        .unwrap();
    let mut buf = vec![0; 4096];
    let k = f.read(&mut buf).unwrap();
    assert_eq!(String::from_utf8_lossy(&buf[..k]), expected);
    n.shutdown(WAIT).await;
}

/// `start|TAG|NANOS` and `end|TAG|NANOS` lines.
fn timed(dir: &Path, log: &Path) -> PathBuf {
    sh(
        dir,
        "timed",
        &format!(
            "echo \"start|$1|$(date +%s%N)\" >> {log}; sleep $2; echo \"end|$1|$(date +%s%N)\" >> {log}",
            log = log.display()
        ),
    )
}

fn at(log: &[String], what: &str) -> u128 {
    let line = log
        .iter()
        .find(|l| l.starts_with(what))
        .unwrap_or_else(|| panic!("no {what} in {log:?}"));
    line.rsplit('|').next().unwrap().parse().unwrap()
}

#[tokio::test]
async fn notifications_of_one_instance_are_serialised_others_run_in_parallel() {
    let dir = tempdir();
    let log = dir.path().join("log");
    let t = timed(dir.path(), &log).display().to_string();
    let mut cfg = NotifierConfig::new(ScriptPolicy::current_user());
    cfg.instances = vec![
        (
            "A".into(),
            NotifyScripts {
                master: cmd(format!("{t} a1 0.3")),
                backup: cmd(format!("{t} a2 0")),
                ..Default::default()
            },
        ),
        (
            "B".into(),
            NotifyScripts {
                master: cmd(format!("{t} b1 0.3")),
                ..Default::default()
            },
        ),
    ];
    let n = Notifier::start(cfg);
    n.notify(Subject::Instance, "A", NotifyState::Master, 100);
    n.notify(Subject::Instance, "A", NotifyState::Backup, 100);
    n.notify(Subject::Instance, "B", NotifyState::Master, 100);
    wait_for("6 lines", || lines(&log).len() >= 6).await;
    n.shutdown(WAIT).await;
    let log = lines(&log);
    assert!(
        at(&log, "start|a2") >= at(&log, "end|a1"),
        "A's scripts overlapped: {log:?}"
    );
    assert!(
        at(&log, "start|b1") < at(&log, "end|a1"),
        "B waited for A: {log:?}"
    );
}

#[tokio::test]
async fn stop_scripts_are_killed_after_one_second() {
    let dir = tempdir();
    let leader = dir.path().join("leader");
    let child = dir.path().join("child");
    let s = sh(
        dir.path(),
        "stop",
        &format!(
            "sleep 30 & echo $! > {child}; echo $$ > {leader}; wait",
            child = child.display(),
            leader = leader.display()
        ),
    );
    let mut cfg = NotifierConfig::new(ScriptPolicy::current_user());
    cfg.instances = vec![(
        "A".into(),
        NotifyScripts {
            stop: cmd(s.display().to_string()),
            ..Default::default()
        },
    )];
    let n = Notifier::start(cfg);
    let started = Instant::now();
    n.notify(Subject::Instance, "A", NotifyState::Stop, 100);
    wait_for("the stop script", || {
        !read(&leader).is_empty() && !read(&child).is_empty()
    })
    .await;
    let pids = [read(&leader), read(&child)];
    tokio::time::sleep(Duration::from_millis(500).saturating_sub(started.elapsed())).await;
    assert!(pids.iter().all(|p| alive(p)), "killed before 1 s");
    n.shutdown(WAIT).await;
    let done = started.elapsed();
    assert!(done >= Duration::from_secs(1), "{done:?}");
    assert!(done < Duration::from_secs(3), "{done:?}");
    wait_for("the stop script's group to die", || {
        !pids.iter().any(|p| alive(p))
    })
    .await;
}

#[tokio::test]
async fn a_hung_notify_script_delays_the_next_one_by_at_most_the_order_wait() {
    let dir = tempdir();
    let log = dir.path().join("log");
    let t = timed(dir.path(), &log).display().to_string();
    let mut cfg = NotifierConfig::new(ScriptPolicy::current_user());
    cfg.instances = vec![(
        "A".into(),
        NotifyScripts {
            backup: cmd(format!("{t} hung 30")),
            master: cmd(format!("{t} next 0")),
            ..Default::default()
        },
    )];
    let n = Notifier::start(cfg);
    n.notify(Subject::Instance, "A", NotifyState::Backup, 100);
    n.notify(Subject::Instance, "A", NotifyState::Master, 100);
    wait_for("the next script to end", || {
        lines(&log).iter().any(|l| l.starts_with("end|next"))
    })
    .await;
    let log = lines(&log);
    let gap = Duration::from_nanos((at(&log, "start|next") - at(&log, "start|hung")) as u64);
    assert!(
        gap >= vrrpd::notify::ORDER_WAIT - Duration::from_millis(50),
        "the next script did not wait for the running one: {gap:?} {log:?}"
    );
    assert!(
        gap < Duration::from_secs(2),
        "the hung script held the queue for {gap:?}: {log:?}"
    );
    assert!(
        !log.iter().any(|l| l.starts_with("end|hung")),
        "the hung script ended: {log:?}"
    );
    // It is still running: the shutdown bound kills it.
    n.shutdown(Duration::from_millis(100)).await;
}
