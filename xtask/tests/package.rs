//! The Debian packages, installed with dpkg into a throw-away copy of this machine (an overlay
//! of `/`, see `package/root.rs`): the unit's command line runs in a lab namespace and is
//! Active, notifies systemd, reloads and stops; `man vrrpd` and `man vrrpd.conf` work;
//! `systemd-analyze` verifies the unit and scores its sandbox; purging leaves nothing behind.
//!
//! Run by `cargo xtask package`, which builds the packages first (`$VRRPD_DEB`,
//! `$VRRPD_KEEPALIVED_DEB`); alone: `cargo test -p xtask --features package-test --test
//! package`, after `cargo xtask deb`. Needs root. A harness of its own (`harness = false`):
//! it must enter a private mount namespace while it is still single-threaded.

#[path = "package/root.rs"]
mod root;
#[path = "package/unit.rs"]
mod unit;

use std::net::Ipv4Addr;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use vrrp_netns::{require_root, wait_until, Lab, Signal};

use crate::root::ThrowawayRoot;
use crate::unit::{expand, Service, Unit};

/// `systemd-analyze security` exposure of vrrpd.service (docs/decisions/0004-unit-hardening.md):
/// a change that loosens the sandbox fails here.
const MAX_EXPOSURE: f64 = 5.5;

/// The two packages, from the environment or `target/debian`.
struct Debs {
    dir: PathBuf,
    vrrpd: String,
    keepalived: String,
}

fn find_debs() -> Debs {
    let target = Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/debian");
    let pick = |var: &str, prefix: &str| -> PathBuf {
        if let Some(p) = std::env::var_os(var) {
            return PathBuf::from(p);
        }
        let mut found: Vec<PathBuf> = std::fs::read_dir(&target)
            .into_iter()
            .flatten()
            .flatten()
            .map(|e| e.path())
            .filter(|p| {
                p.file_name()
                    .and_then(|n| n.to_str())
                    .is_some_and(|n| n.starts_with(prefix) && n.ends_with(".deb"))
            })
            .collect();
        found.sort();
        found.pop().unwrap_or_else(|| {
            panic!(
                "no {prefix}*.deb in {} and {var} unset: build the packages with `cargo \
                 xtask deb` (or run `cargo xtask package`)",
                target.display()
            )
        })
    };
    let vrrpd = pick("VRRPD_DEB", "vrrpd_");
    let keepalived = pick("VRRPD_KEEPALIVED_DEB", "vrrpd-keepalived_");
    let dir = vrrpd.parent().expect("a .deb in a directory").to_path_buf();
    assert_eq!(
        keepalived.parent(),
        Some(dir.as_path()),
        "both packages must be in one directory"
    );
    let name = |p: &Path| p.file_name().unwrap().to_string_lossy().into_owned();
    Debs {
        vrrpd: format!("/mnt/{}", name(&vrrpd)),
        keepalived: format!("/mnt/{}", name(&keepalived)),
        dir,
    }
}

/// A keepalived.conf with one instance on the lab host's eth0 (VRRPv3, 0.1 s adverts).
fn keepalived_conf(vip: Ipv4Addr) -> String {
    format!(
        "global_defs {{\n    vrrp_version 3\n}}\n\
         vrrp_instance VI_1 {{\n    state BACKUP\n    interface eth0\n    virtual_router_id 51\n    \
         priority 150\n    advert_int 0.1\n    virtual_ipaddress {{\n        {vip}/24\n    }}\n}}\n"
    )
}

/// The VIP of the test instance on `host`'s segment (`.100`).
fn vip_for(host: &vrrp_netns::Host) -> Ipv4Addr {
    let o = host.ipv4.octets();
    Ipv4Addr::new(o[0], o[1], o[2], 100)
}

/// Starts unit `name`'s command line in a fresh lab router, checks it becomes Active and
/// notifies READY, WATCHDOG, and on ExecReload RELOADING then READY, then stops it as
/// `KillMode=mixed` does (SIGTERM) and checks STOPPING, exit 0 and the VIP released.
/// `while_running` runs while it is Active.
fn run_unit(root: &ThrowawayRoot, name: &str, while_running: impl FnOnce()) {
    let lab = Lab::builder().router("r1").build().expect("lab");
    let host = lab.host("r1");
    let vip = vip_for(host);
    root.write(
        "/etc/keepalived/keepalived.conf",
        &keepalived_conf(vip),
        0o644,
    );
    let unit = Unit::load(root, name);
    let command = expand(&unit.exec_start, &unit.environment(root));
    assert_eq!(command[0], "/usr/sbin/vrrpd", "{name}: {command:?}");
    let mut service = Service::start(root, host, &command, unit.watchdog_sec);
    service.expect("READY=1", Duration::from_secs(10));
    assert!(
        wait_until(Duration::from_secs(5), || host
            .has_address(vip.into())
            .unwrap_or(false)),
        "{name}: {vip} not on eth0 of the only router"
    );
    service.expect("WATCHDOG=1", Duration::from_secs(unit.watchdog_sec));

    let pid = service.child.pid().to_string();
    let mut env = unit.environment(root);
    env.insert("MAINPID".into(), pid);
    let reload = expand(&unit.exec_reload, &env);
    let reload: Vec<&str> = reload.iter().map(String::as_str).collect();
    root.run_ok(reload[0], &reload[1..]);
    service.expect("RELOADING=1", Duration::from_secs(5));
    service.expect("READY=1", Duration::from_secs(5));
    while_running();

    service.child.signal(Signal::SIGTERM).expect("SIGTERM");
    service.expect("STOPPING=1", Duration::from_secs(5));
    let status = service
        .child
        .wait_timeout(Duration::from_secs(10))
        .expect("wait")
        .expect("stopped within TimeoutStopSec");
    assert!(status.success(), "{name}: exit status {status}");
    assert!(
        !host.has_address(vip.into()).expect("ip addr"),
        "{name}: {vip} left on eth0 after stop"
    );
    std::fs::remove_file(root.path("/etc/keepalived/keepalived.conf")).expect("rm conf");
    let _ = std::fs::remove_file(root.path("/run/vrrpd-package-test.notify"));
}

/// `man -P cat PAGE` in the root prints a page containing `text`; `man -w` finds `file`.
fn assert_man(root: &ThrowawayRoot, page: &str, file: &str, text: &str) {
    let found = root.run_ok("man", &["-w", page]);
    assert_eq!(found.trim(), file, "man -w {page}");
    let shown = root.run_ok("man", &["-P", "cat", page]);
    // man justifies lines: compare with runs of blanks as one space.
    let flat = shown.split_whitespace().collect::<Vec<_>>().join(" ");
    assert!(flat.contains(text), "man {page} lacks {text:?}:\n{shown}");
}

/// `systemd-analyze verify` passes (it also runs `man` for each Documentation= page) and the
/// exposure score is at most [`MAX_EXPOSURE`].
fn assert_unit_checks(root: &ThrowawayRoot, unit: &str) {
    let path = format!("/usr/lib/systemd/system/{unit}");
    let out = root.run("systemd-analyze", &["verify", &path]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success() && stderr.trim().is_empty(),
        "systemd-analyze verify {unit}: {}\n{stderr}",
        out.status
    );
    let out = root.run("systemd-analyze", &["security", "--offline=yes", &path]);
    let text = String::from_utf8_lossy(&out.stdout);
    let score: f64 = text
        .lines()
        .find_map(|l| {
            l.split_once("Overall exposure level for ")?
                .1
                .split_once(": ")?
                .1
                .split(' ')
                .next()?
                .parse()
                .ok()
        })
        .unwrap_or_else(|| panic!("no exposure level in:\n{text}"));
    assert!(
        score <= MAX_EXPOSURE,
        "{unit}: exposure {score} > {MAX_EXPOSURE}:\n{text}"
    );
}

/// dpkg knows nothing of `package` any more (purged).
fn assert_purged(root: &ThrowawayRoot, package: &str) {
    let out = root.run("dpkg-query", &["-W", "-f=${db:Status-Status}", package]);
    let status = String::from_utf8_lossy(&out.stdout);
    assert!(
        !out.status.success() || status.trim() == "not-installed",
        "{package} still known to dpkg: {status}"
    );
}

/// `dpkg --purge packages`: dpkg forgets both packages and the root holds no change that was
/// not there `before` they were installed.
fn purge_leaves_nothing(root: &ThrowawayRoot, packages: &[&str], before: &[String]) {
    let mut args = vec!["--purge"];
    args.extend_from_slice(packages);
    root.run_ok("dpkg", &args);
    assert_purged(root, "vrrpd");
    assert_purged(root, "vrrpd-keepalived");
    let left: Vec<String> = root
        .changes()
        .into_iter()
        .filter(|c| !before.contains(c))
        // Written by the test's own `systemd-analyze verify` (its manager marks that units
        // were loaded), not by the packages; present already when the host ran it before.
        .filter(|c| c != "added run/systemd/systemd-units-load")
        .collect();
    assert!(left.is_empty(), "left behind after purge: {left:#?}");
}

/// `systemctl --root ROOT enable unit`, as the admin would; returns the links it added.
fn enable(root: &ThrowawayRoot, unit: &str) -> Vec<String> {
    let before = enable_links(root);
    let dir = root.dir().display().to_string();
    host_cmd("systemctl", &["--root", &dir, "enable", unit]);
    enable_links(root)
        .into_iter()
        .filter(|l| !before.contains(l))
        .collect()
}

/// The `systemctl enable` links in the root's /etc/systemd/system (as the admin makes them).
fn enable_links(root: &ThrowawayRoot) -> Vec<String> {
    let mut links = Vec::new();
    let base = root.path("/etc/systemd/system");
    for entry in walkdir(&base) {
        if entry.is_symlink() {
            links.push(entry.strip_prefix(&base).unwrap().display().to_string());
        }
    }
    links.sort();
    links
}

fn walkdir(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let p = e.path();
        if p.is_dir() && !p.is_symlink() {
            out.extend(walkdir(&p));
        } else {
            out.push(p);
        }
    }
    out
}

/// vrrpd installs beside Debian's keepalived (no file of keepalived's is touched), runs, has
/// its man pages, and purges without a trace, also after the admin enabled it.
fn vrrpd_installs_beside_keepalived_runs_and_purges_cleanly(debs: &Debs) {
    let root = ThrowawayRoot::new(&debs.dir);
    let before = root.changes();
    root.run_ok("dpkg", &["-i", &debs.vrrpd]);
    let installed = root.changes();
    for file in [
        "usr/sbin/vrrpd",
        "usr/bin/vrrpctl",
        "usr/lib/systemd/system/vrrpd.service",
    ] {
        assert!(
            installed.contains(&format!("added {file}")),
            "the change list misses {file}: {installed:#?}"
        );
    }
    assert_unit_checks(&root, "vrrpd.service");
    assert_man(
        &root,
        "vrrpd",
        "/usr/share/man/man8/vrrpd.8.gz",
        "keepalived-compatible VRRP daemon",
    );
    assert_man(
        &root,
        "vrrpd.conf",
        "/usr/share/man/man5/vrrpd.conf.5.gz",
        "vrrp_instance",
    );
    assert_man(
        &root,
        "vrrpctl",
        "/usr/share/man/man8/vrrpctl.8.gz",
        "control socket",
    );
    let version = root.run("vrrpd", &["-v"]);
    assert!(String::from_utf8_lossy(&version.stderr).starts_with("vrrpd v"));

    let added = enable(&root, "vrrpd.service");
    assert_eq!(
        added,
        ["multi-user.target.wants/vrrpd.service"],
        "systemctl enable vrrpd"
    );

    run_unit(&root, "vrrpd.service", || {
        assert!(
            root.path("/run/keepalived.pid").is_file(),
            "no /run/keepalived.pid"
        );
        let status = root.run("vrrpctl", &["status"]);
        let table = String::from_utf8_lossy(&status.stdout);
        assert!(
            status.status.success() && table.contains("MASTER"),
            "vrrpctl status through the unit's default socket: {table} {}",
            String::from_utf8_lossy(&status.stderr)
        );
    });
    assert!(
        !root.path("/run/keepalived.pid").exists(),
        "pid file left after stop"
    );

    purge_leaves_nothing(&root, &["vrrpd"], &before);
}

/// With keepalived removed (not purged, as apt leaves it when a conflicting package comes),
/// vrrpd-keepalived takes its names: `keepalived` runs vrrpd, keepalived.service is an alias
/// (unmasked: older debhelper masked a removed package's unit) that reads /etc/default/keepalived and /etc/sysconfig/keepalived, `man
/// keepalived` shows vrrpd(8); purging both packages leaves nothing behind.
fn vrrpd_keepalived_takes_keepalived_names_and_purges_cleanly(debs: &Debs) {
    let root = ThrowawayRoot::new(&debs.dir);
    root.run_ok("dpkg", &["-r", "keepalived"]);
    // Debian 12's keepalived (debhelper 13.10) leaves its unit unmasked on removal; older
    // debhelper masked it, which would hide the alias: make that mask as they did.
    let masked = root.path("/etc/systemd/system/keepalived.service");
    if std::fs::symlink_metadata(&masked).is_err() {
        root.run_ok(
            "env",
            &[
                "DPKG_MAINTSCRIPT_PACKAGE=keepalived",
                "deb-systemd-helper",
                "mask",
                "keepalived.service",
            ],
        );
    }
    assert_eq!(
        std::fs::read_link(&masked).ok(),
        Some(PathBuf::from("/dev/null")),
        "deb-systemd-helper mask keepalived.service"
    );
    let default_file = root.path("/etc/default/keepalived");
    let default_before = std::fs::read_to_string(&default_file).ok();
    let before = root.changes();

    root.run_ok("dpkg", &["-i", &debs.vrrpd, &debs.keepalived]);
    assert!(
        std::fs::symlink_metadata(&masked).is_err(),
        "keepalived.service still masked"
    );
    assert_eq!(
        std::fs::read_link(root.path("/usr/sbin/keepalived")).ok(),
        Some(PathBuf::from("vrrpd"))
    );
    assert_eq!(
        std::fs::read_link(root.path("/usr/lib/systemd/system/keepalived.service")).ok(),
        Some(PathBuf::from("vrrpd.service"))
    );
    // Under keepalived's name, the version line the exporters parse (docs/dump-files.md).
    let version = root.run("keepalived", &["-v"]);
    assert!(String::from_utf8_lossy(&version.stderr).starts_with("Keepalived v2.2.7 (vrrpd "));
    assert_unit_checks(&root, "keepalived.service");
    // man -w resolves the links to the pages they name.
    assert_man(
        &root,
        "keepalived",
        "/usr/share/man/man8/vrrpd.8.gz",
        "keepalived-compatible VRRP daemon",
    );
    assert_man(
        &root,
        "keepalived.conf",
        "/usr/share/man/man5/vrrpd.conf.5.gz",
        "vrrp_instance",
    );

    let added = enable(&root, "keepalived.service");
    assert!(
        added
            .iter()
            .any(|l| l.starts_with("multi-user.target.wants/")),
        "systemctl enable keepalived.service made {added:?}"
    );

    root.write(
        "/etc/default/keepalived",
        "DAEMON_ARGS=\"--vrrp_pid=/run/from-default.pid\"\n",
        0o644,
    );
    root.write(
        "/etc/sysconfig/keepalived",
        "KEEPALIVED_OPTIONS=\"-D --pid=/run/from-sysconfig.pid\"\n",
        0o644,
    );
    run_unit(&root, "keepalived.service", || {
        for pid in ["/run/from-default.pid", "/run/from-sysconfig.pid"] {
            assert!(
                root.path(pid).is_file(),
                "{pid}: the options file was not read"
            );
        }
    });
    std::fs::remove_dir_all(root.path("/etc/sysconfig")).expect("rm /etc/sysconfig");
    match default_before {
        Some(text) => root.write("/etc/default/keepalived", &text, 0o644),
        None => std::fs::remove_file(&default_file).expect("rm /etc/default/keepalived"),
    }

    purge_leaves_nothing(&root, &["vrrpd-keepalived", "vrrpd"], &before);
}

/// Installing vrrpd-keepalived where keepalived is installed replaces it (`Conflicts` with
/// `Replaces`: dpkg removes keepalived, as apt would): the opt-in is installing the package.
fn vrrpd_keepalived_replaces_an_installed_keepalived(debs: &Debs) {
    let root = ThrowawayRoot::new(&debs.dir);
    root.run_ok("dpkg", &["-i", &debs.vrrpd, &debs.keepalived]);
    let status = root.run_ok(
        "dpkg-query",
        &["-W", "-f=${db:Status-Status}", "keepalived"],
    );
    assert_eq!(
        status.trim(),
        "config-files",
        "keepalived after installing the replacement"
    );
    assert_eq!(
        std::fs::read_link(root.path("/usr/sbin/keepalived")).ok(),
        Some(PathBuf::from("vrrpd"))
    );
    root.run_ok("dpkg", &["--purge", "vrrpd-keepalived", "vrrpd"]);
    assert_purged(&root, "vrrpd-keepalived");
    assert!(
        std::fs::symlink_metadata(root.path("/usr/sbin/keepalived")).is_err(),
        "/usr/sbin/keepalived left after purge"
    );
}

/// Runs a host command (outside the root) that must succeed.
fn host_cmd(program: &str, args: &[&str]) {
    let out = std::process::Command::new(program)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("{program}: {e}"));
    assert!(
        out.status.success(),
        "{program} {args:?}: {}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A test of the packages.
type Test = fn(&Debs);

fn main() -> ExitCode {
    // First, while single-threaded: unshare(CLONE_NEWNS) refuses a multi-threaded process.
    require_root();
    root::enter_private_mount_namespace();
    let debs = find_debs();
    let tests: [(&str, Test); 3] = [
        (
            "vrrpd_installs_beside_keepalived_runs_and_purges_cleanly",
            vrrpd_installs_beside_keepalived_runs_and_purges_cleanly,
        ),
        (
            "vrrpd_keepalived_takes_keepalived_names_and_purges_cleanly",
            vrrpd_keepalived_takes_keepalived_names_and_purges_cleanly,
        ),
        (
            "vrrpd_keepalived_replaces_an_installed_keepalived",
            vrrpd_keepalived_replaces_an_installed_keepalived,
        ),
    ];
    println!("\nrunning {} tests", tests.len());
    let mut failed = Vec::new();
    for (name, test) in tests {
        let ok = catch_unwind(AssertUnwindSafe(|| test(&debs))).is_ok();
        println!("test {name} ... {}", if ok { "ok" } else { "FAILED" });
        if !ok {
            failed.push(name);
        }
    }
    let passed = tests.len() - failed.len();
    let verdict = if failed.is_empty() { "ok" } else { "FAILED" };
    println!(
        "\ntest result: {verdict}. {passed} passed; {} failed; 0 ignored; 0 measured; 0 filtered out",
        failed.len()
    );
    if failed.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}
