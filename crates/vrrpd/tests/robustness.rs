//! Hostile input and bad days, end to end in network namespaces (issue #17): adverts from
//! addresses that are not listed peers, a flood of truncated adverts under `-D`, a notify
//! script that never exits.
//!
//! Needs root and scapy under `/usr/bin/python3` (`apt-get install -y python3-scapy`; `cargo
//! xtask setup` installs it), which forges the adverts: an encoder that shares no code with
//! vrrp-core.

mod support;

use std::path::Path;
use std::time::{Duration, Instant};

use support::{forge_adverts, has_vip, require_scapy, unicast_instance, Daemon};
use vrrp_netns::{Host, Lab};

fn lab() -> Lab {
    require_scapy();
    support::lab(true)
}

#[test]
fn a_priority_255_advert_from_a_non_peer_leaves_the_vip_on_the_active() {
    let lab = lab();
    let tmp = support::tempdir();
    let (r1, r2, c1) = (lab.host("r1"), lab.host("r2"), lab.host("c1"));
    let mut a = Daemon::start(r1, tmp.path(), &unicast_instance(r1, r2, 150, ""));
    a.expect(&["(VI_1) Entering MASTER STATE"], Duration::from_secs(5));
    let active_from = a.seen.len();
    forge_adverts(c1, r1, 5);
    let line = a.expect(&["adverts discarded"], Duration::from_secs(3));
    assert!(
        line.contains(&c1.ipv4.to_string()),
        "the warning names the source: {line}"
    );
    assert!(has_vip(r1), "the forged advert took the VIP off the Active");
    a.drain();
    let since = &a.seen[active_from..];
    assert!(
        !since.iter().any(|l| l.contains("Entering BACKUP STATE")),
        "the Active yielded to a non-peer: {since:?}"
    );
}

#[test]
fn the_opt_out_accepts_a_non_peer_advert_as_keepalived() {
    let lab = lab();
    let tmp = support::tempdir();
    let (r1, r2, c1) = (lab.host("r1"), lab.host("r2"), lab.host("c1"));
    let conf = unicast_instance(r1, r2, 150, "    accept_unlisted_unicast_src");
    let mut a = Daemon::start(r1, tmp.path(), &conf);
    a.expect(&["(VI_1) Entering MASTER STATE"], Duration::from_secs(5));
    forge_adverts(c1, r1, 1);
    a.expect(&["(VI_1) Entering BACKUP STATE"], Duration::from_secs(3));
}

/// A script `DIR/NAME.sh` that appends `NAME SECONDS.NANOS` to `DIR/notify.log`, then runs
/// `then` (e.g. `sleep 1000`).
fn stamp_script(dir: &Path, name: &str, then: &str) -> String {
    let script = dir.join(format!("{name}.sh"));
    std::fs::write(
        &script,
        format!(
            "#!/bin/sh\necho \"{name} $(date +%s.%N)\" >> {}\n{then}\n",
            dir.join("notify.log").display()
        ),
    )
    .unwrap();
    std::fs::set_permissions(&script, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    script.display().to_string()
}

#[test]
fn a_hung_notify_backup_does_not_delay_notify_master() {
    let lab = support::lab(false);
    let tmp = support::tempdir();
    let dir = tmp.path();
    let (r1, r2) = (lab.host("r1"), lab.host("r2"));
    let extra = format!(
        "    notify_backup {}\n    notify_master {}\n",
        stamp_script(dir, "backup", "sleep 1000"),
        stamp_script(dir, "master", ""),
    );
    // r1 starts BACKUP (its notify_backup hangs), then takes over when r2, the Active, stops.
    let mut b = Daemon::start(r2, dir, &unicast_instance(r2, r1, 200, ""));
    b.expect(&["(VI_1) Entering MASTER STATE"], Duration::from_secs(5));
    let mut a = Daemon::start(r1, dir, &unicast_instance(r1, r2, 100, &extra));
    a.expect(&["(VI_1) Entering BACKUP STATE"], Duration::from_secs(5));
    b.signal(vrrp_netns::Signal::SIGTERM);
    a.expect(&["(VI_1) Entering MASTER STATE"], Duration::from_secs(3));
    let became_active = Instant::now();
    let log = dir.join("notify.log");
    let ran = vrrp_netns::wait_until(Duration::from_secs(5), || {
        std::fs::read_to_string(&log).is_ok_and(|s| s.contains("master "))
    });
    assert!(
        ran,
        "notify_master did not run within 5 s of MASTER: {:?}",
        std::fs::read_to_string(&log)
    );
    let waited = became_active.elapsed();
    assert!(
        waited < Duration::from_secs(1),
        "notify_master ran {waited:?} after the takeover"
    );
}

/// The drops of `host`'s raw sockets for IP protocol 112 (`/proc/net/raw`, last column).
fn raw_vrrp_socket_drops(host: &Host) -> u64 {
    let table = host
        .netns
        .exec_ok("cat", &["/proc/net/raw"])
        .expect("/proc/net/raw");
    table
        .lines()
        .skip(1)
        .map(|l| l.split_whitespace().collect::<Vec<_>>())
        .filter(|f| f.get(1).is_some_and(|local| local.ends_with(":0070")))
        .map(|f| f.last().and_then(|d| d.parse::<u64>().ok()).unwrap_or(0))
        .sum()
}

/// The `Length:` packet errors of `instance` in a `keepalived.stats` file.
fn length_errors(stats: &str, instance: &str) -> Option<u64> {
    let block = stats
        .split("VRRP Instance: ")
        .find(|b| b.starts_with(instance))?;
    let line = block
        .lines()
        .find(|l| l.trim_start().starts_with("Length:"))?;
    line.split(':').nth(1)?.trim().parse().ok()
}

#[test]
fn a_flood_of_truncated_adverts_under_debug_logs_little_and_counts_every_packet() {
    const SENT: u64 = 20_000;
    let lab = lab();
    let tmp = support::tempdir();
    let dir = tmp.path();
    let (r1, r2) = (lab.host("r1"), lab.host("r2"));
    let conf = unicast_instance(r1, r2, 150, "");
    let mut a = Daemon::start_with_args(r1, dir, &conf, &["-D"]);
    a.expect(&["(VI_1) Entering MASTER STATE"], Duration::from_secs(5));
    a.drain();
    let before = a.seen.len();
    // VRRPv3 advert, VRID 51, cut after 4 of its 12 bytes.
    let script = format!(
        "from scapy.all import IP, Raw, send\n\
         p = IP(src='{src}', dst='{dst}', ttl=255, proto=112) / Raw(b'\\x31\\x33\\x96\\x01')\n\
         send(p, count={SENT}, verbose=False)\n",
        src = r2.ipv4,
        dst = r1.ipv4,
    );
    r2.netns
        .exec_ok("/usr/bin/python3", &["-c", &script])
        .expect("scapy sends the flood");
    let stats_file = dir.join("r1").join("keepalived.stats");
    let _ = std::fs::remove_file(&stats_file);
    a.signal(vrrp_netns::Signal::SIGUSR2);
    let mut stats = String::new();
    let written = vrrp_netns::wait_until(Duration::from_secs(3), || {
        stats = std::fs::read_to_string(&stats_file).unwrap_or_default();
        length_errors(&stats, "VI_1").is_some()
    });
    assert!(written, "keepalived.stats written: {stats:?}");
    let counted = length_errors(&stats, "VI_1").unwrap();
    let dropped = raw_vrrp_socket_drops(r1);
    eprintln!("{counted} counted, {dropped} dropped by the kernel");
    assert!(
        counted > 0,
        "no truncated advert reached the router: {stats}"
    );
    assert_eq!(
        counted + dropped,
        SENT,
        "every truncated advert is counted (Length) or dropped by the kernel: {counted} + {dropped}"
    );
    a.drain();
    let logged = a.seen.len() - before;
    assert!(
        logged <= 500,
        "{logged} log lines for {SENT} truncated adverts under -D: {:?}",
        &a.seen[before..(before + 20).min(a.seen.len())]
    );
    assert!(has_vip(r1), "the flood took the VIP off the Active");
}
