//! `auth_hmac` on the wire against keepalived 2.4.3 (issue #18), in network namespaces: vrrpd
//! and keepalived with the same `auth_hmac` block (enforce; IPv4 and IPv6, unicast and
//! multicast, VRRPv3 and v2) elect one Active and keep it in both roles, which each can only
//! do by verifying the other's trailers; with mismatched keys each rejects the other's adverts
//! and says so; a replayed, an altered and an aged (stale) advert are rejected by either side;
//! a key rotation and the three-sweep rollout across the two cause no transition; a forged
//! unsigned priority-255 advert leaves the VIP on vrrpd.
//!
//! Needs root, keepalived 2.4.3 (`KEEPALIVED_2_4_3_BIN`, see
//! [`vrrp_netns::keepalived::keepalived_243_binary`]) and, for the forged, replayed and altered
//! adverts, scapy under `/usr/bin/python3`. Each fails with a clear message when missing.

mod support;

use std::process::Command;
use std::time::Duration;

use support::{forge_adverts, has_vip, unicast_instance, Daemon};
use vrrp_netns::{Host, Signal};

const KEY: &str = "vrrpd-and-keepalived-share-this!";
const OTHER_KEY: &str = "hex:000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";

/// [`support::unicast_instance`] with an `auth_hmac` block (enforce) signing with `key`.
fn instance(host: &Host, peer: &Host, priority: u8, key: &str) -> String {
    with_keys(
        host,
        peer,
        priority,
        &format!("key 1 \"{key}\"\n        active_key 1"),
    )
}

/// [`support::unicast_instance`] with an `auth_hmac` block (enforce) holding `keys` (its
/// `key` and `active_key` lines).
fn with_keys(host: &Host, peer: &Host, priority: u8, keys: &str) -> String {
    let block = format!("    auth_hmac {{\n        {keys}\n        mode enforce\n    }}");
    unicast_instance(host, peer, priority, &block)
}

/// [`instance`] over multicast (224.0.0.18): no unicast source or peers.
fn instance_multicast(host: &Host, peer: &Host, priority: u8, key: &str) -> String {
    let conf = instance(host, peer, priority, key)
        .replace(&format!("    unicast_src_ip {}\n", host.ipv4), "")
        .replace(
            &format!("    unicast_peer {{\n        {}\n    }}\n", peer.ipv4),
            "",
        );
    assert!(!conf.contains("unicast"), "unicast left: {conf}");
    conf
}

/// [`instance`] in VRRPv2 (whole-second interval).
fn instance_v2(host: &Host, peer: &Host, priority: u8, key: &str) -> String {
    let conf = instance(host, peer, priority, key)
        .replace("vrrp_version 3", "vrrp_version 2")
        .replace("advert_int 0.2", "advert_int 1");
    assert!(
        conf.contains("vrrp_version 2") && conf.contains("advert_int 1\n"),
        "{conf}"
    );
    conf
}

/// [`instance6`] over multicast (ff02::12).
fn instance_multicast6(host: &Host, peer: &Host, priority: u8, key: &str) -> String {
    let conf = instance6(host, peer, priority, key)
        .replace(&format!("    unicast_src_ip {}\n", host.ipv6), "")
        .replace(
            &format!("    unicast_peer {{\n        {}\n    }}\n", peer.ipv6),
            "",
        );
    assert!(!conf.contains("unicast"), "unicast left: {conf}");
    conf
}

/// The IPv6 VIP, in the lab's 2001:db8:1::/64.
const VIP6: &str = "2001:db8:1::100";

/// [`instance`] over IPv6: the hosts' global addresses, [`VIP6`] (not link-local: keepalived
/// outside strict mode accepts that and so does vrrpd's conversion).
fn instance6(host: &Host, peer: &Host, priority: u8, key: &str) -> String {
    let conf = instance(host, peer, priority, key)
        .replace(
            &format!("unicast_src_ip {}", host.ipv4),
            &format!("unicast_src_ip {}", host.ipv6),
        )
        .replace(
            &format!("        {}\n", peer.ipv4),
            &format!("        {}\n", peer.ipv6),
        )
        .replace(&format!("{}/24", support::VIP), &format!("{VIP6}/64"));
    assert!(!conf.contains("192.0.2."), "an IPv4 address left: {conf}");
    conf
}

fn keepalived_243() -> std::path::PathBuf {
    vrrp_netns::keepalived::keepalived_243_binary().unwrap_or_else(|e| panic!("{e}"))
}

/// Lines of `daemon` logged since `from` that contain `needle`.
fn lines_with<'a>(daemon: &'a Daemon, from: usize, needle: &str) -> Vec<&'a String> {
    daemon.seen[from..]
        .iter()
        .filter(|l| l.contains(needle))
        .collect()
}

/// Stops keepalived (SIGTERM: it releases its addresses) and waits for it.
fn stop(mut daemon: Daemon) {
    daemon.signal(Signal::SIGTERM);
    daemon.wait_exit(Duration::from_secs(10));
}

/// Lets `within` pass while collecting the lines of both daemons: the observation window in
/// which a daemon that rejects its peer's adverts would take over (4 advert intervals and
/// more). No event marks "nothing happened", so this waits for the window to close.
fn observe(a: &mut Daemon, b: &mut Daemon, within: Duration) {
    let deadline = std::time::Instant::now() + within;
    while std::time::Instant::now() < deadline {
        if let Ok(l) = a.lines.recv_timeout(Duration::from_millis(50)) {
            a.seen.push(support::strip_ansi(&l));
        }
        b.drain();
    }
    a.drain();
}

const AUTH_FAILURES: [&str; 6] = [
    "missing authentication trailer",
    "invalid authentication HMAC",
    "stale authentication trailer",
    "replayed authentication trailer",
    "unknown authentication key id",
    "malformed authentication trailer",
];

fn assert_no_auth_failures(who: &str, daemon: &Daemon, from: usize) {
    for needle in AUTH_FAILURES {
        let found = lines_with(daemon, from, needle);
        assert!(found.is_empty(), "{who} logged {needle}: {found:?}");
    }
}

/// Where the adverts go.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Net {
    /// IPv4 unicast.
    V4,
    /// IPv6 unicast.
    V6,
    /// IPv4 multicast.
    Multicast,
    /// IPv6 multicast (ff02::12, link-local sources).
    Multicast6,
    /// VRRPv2 over IPv4 unicast (the trailer after the authentication data), advert_int 1.
    V2,
}

/// vrrpd on r1 at 150 when `vrrpd_active` (else 100), keepalived 2.4.3 on r2 at the other, over
/// `net`, the Active started first: the Backup never takes over, so it verified every trailer, and
/// neither logs an authentication failure.
fn one_active_with_keepalived_243(vrrpd_active: bool, net: Net) {
    let bin = keepalived_243();
    let lab = support::lab(false);
    let tmp = support::tempdir();
    let (r1, r2) = (lab.host("r1"), lab.host("r2"));
    let (ours_priority, theirs_priority) = if vrrpd_active { (150, 100) } else { (100, 150) };
    let conf = match net {
        Net::V4 => instance,
        Net::V6 => instance6,
        Net::Multicast => instance_multicast,
        Net::Multicast6 => instance_multicast6,
        Net::V2 => instance_v2,
    };
    let ours_conf = conf(r1, r2, ours_priority, KEY);
    let start_ours = || Daemon::start(r1, tmp.path(), &ours_conf);
    let theirs_conf = conf(r2, r1, theirs_priority, KEY);
    let start_theirs = || Daemon::start_keepalived(r2, tmp.path(), &theirs_conf, &bin);
    let (mut active, mut backup) = if vrrpd_active {
        let mut ours = start_ours();
        ours.expect(&["(VI_1) Entering MASTER STATE"], Duration::from_secs(10));
        (ours, start_theirs())
    } else {
        let mut theirs = start_theirs();
        theirs.expect(&["(VI_1) Entering MASTER STATE"], Duration::from_secs(10));
        (theirs, start_ours())
    };
    backup.expect(&["(VI_1) Entering BACKUP STATE"], Duration::from_secs(10));
    let (active_from, backup_from) = (active.seen.len(), backup.seen.len());
    // The Backup's down interval at priority 100 is about 0.7 s at 0.2 s, 3.6 s at 1 s (v2).
    let window = if net == Net::V2 { 8 } else { 4 };
    observe(&mut backup, &mut active, Duration::from_secs(window));
    assert!(
        lines_with(&backup, backup_from, "Entering MASTER STATE").is_empty(),
        "the Backup took over: it did not accept the Active's trailers; log:\n{}",
        backup.seen.join("\n")
    );
    assert!(lines_with(&active, active_from, "Entering BACKUP STATE").is_empty());
    assert_no_auth_failures("the Active", &active, 0);
    assert_no_auth_failures("the Backup", &backup, 0);
    let (active_host, backup_host) = if vrrpd_active { (r1, r2) } else { (r2, r1) };
    let holds = |host: &Host| {
        if matches!(net, Net::V6 | Net::Multicast6) {
            host.has_address(VIP6.parse().unwrap()).unwrap()
        } else {
            has_vip(host)
        }
    };
    assert!(holds(active_host), "the VIP left the Active");
    assert!(!holds(backup_host), "the Backup holds the VIP too");
    let theirs = if vrrpd_active { backup } else { active };
    stop(theirs);
}

#[test]
fn vrrpd_active_keepalived_243_backup_verifies_our_trailers() {
    one_active_with_keepalived_243(true, Net::V4);
}

/// Over IPv6 the checksum covers the trailer (keepalived lets the kernel compute it with
/// `IPV6_CHECKSUM` over the whole payload; vrrp-core writes the same sum).
#[test]
fn ipv6_vrrpd_active_keepalived_243_backup_verifies_our_trailers() {
    one_active_with_keepalived_243(true, Net::V6);
}

#[test]
fn ipv6_keepalived_243_active_vrrpd_backup_verifies_its_trailers() {
    one_active_with_keepalived_243(false, Net::V6)
}

/// Multicast: the replay state is per sender slot rather than per peer.
#[test]
fn multicast_vrrpd_active_keepalived_243_backup_verifies_our_trailers() {
    one_active_with_keepalived_243(true, Net::Multicast);
}

#[test]
fn ipv6_multicast_vrrpd_active_keepalived_243_backup_verifies_our_trailers() {
    one_active_with_keepalived_243(true, Net::Multicast6);
}

#[test]
fn ipv6_multicast_keepalived_243_active_vrrpd_backup_verifies_its_trailers() {
    one_active_with_keepalived_243(false, Net::Multicast6);
}

#[test]
fn v2_vrrpd_active_keepalived_243_backup_verifies_our_trailers() {
    one_active_with_keepalived_243(true, Net::V2);
}

#[test]
fn v2_keepalived_243_active_vrrpd_backup_verifies_its_trailers() {
    one_active_with_keepalived_243(false, Net::V2);
}

#[test]
fn multicast_keepalived_243_active_vrrpd_backup_verifies_its_trailers() {
    one_active_with_keepalived_243(false, Net::Multicast);
}

#[test]
fn keepalived_243_active_vrrpd_backup_verifies_its_trailers() {
    one_active_with_keepalived_243(false, Net::V4);
}

#[test]
fn mismatched_keys_are_rejected_and_counted_by_both() {
    let bin = keepalived_243();
    let lab = support::lab(false);
    let tmp = support::tempdir();
    let (r1, r2) = (lab.host("r1"), lab.host("r2"));
    let mut ours = Daemon::start(r1, tmp.path(), &instance(r1, r2, 150, KEY));
    ours.expect(&["(VI_1) Entering MASTER STATE"], Duration::from_secs(10));
    let active_from = ours.seen.len();
    // A keepalived Active re-arms its advert timer on every advert it receives, even one it
    // rejects: at vrrpd's own 0.2 s it would nearly fall silent, so it advertises every 0.1 s.
    let theirs_conf = instance(r2, r1, 100, OTHER_KEY).replace("advert_int 0.2", "advert_int 0.1");
    let mut theirs = Daemon::start_keepalived(r2, tmp.path(), &theirs_conf, &bin);
    let rejected_ours = format!("invalid authentication HMAC from {}", r1.ipv4);
    theirs.expect(&["(VI_1)", &rejected_ours], Duration::from_secs(10));
    // Hearing no valid advert, keepalived takes over: both hold the VIP.
    theirs.expect(&["(VI_1) Entering MASTER STATE"], Duration::from_secs(10));
    let rejected_theirs = format!("invalid authentication HMAC from {}", r2.ipv4);
    ours.expect(&["(VI_1)", &rejected_theirs], Duration::from_secs(10));
    assert!(
        lines_with(&ours, active_from, "Entering BACKUP STATE").is_empty(),
        "vrrpd yielded to adverts it could not verify"
    );
    assert!(
        has_vip(r1) && has_vip(r2),
        "each rejects the other: both Active"
    );
    // Every rejection is counted (at least the one logged). How many keepalived sends varies:
    // as an Active it re-arms its advert timer on each advert it receives, even a rejected
    // one, so vrrpd's adverts hold most of its own back.
    let counted = vrrp_netns::wait_until(Duration::from_secs(5), || {
        counter(&ours, "auth_hmac_invalid") >= 1
    });
    ours.drain();
    assert!(
        counted,
        "vrrpd counts the rejected adverts: {}; vrrpd:\n{}",
        status_json(&ours),
        ours.seen.join("\n"),
    );
    assert_eq!(
        counter(&ours, "adverts_rx"),
        0,
        "no advert of keepalived accepted"
    );
    let logged = lines_with(&ours, active_from, &rejected_theirs).len();
    assert_eq!(logged, 1, "the rejections are logged once per 10 s");
    // The human status of the instance shows the counters too.
    let out = Command::new(env!("CARGO_BIN_EXE_vrrpctl"))
        .arg("-s")
        .arg(&ours.control)
        .args(["status", "VI_1"])
        .output()
        .expect("run vrrpctl");
    let text = String::from_utf8_lossy(&out.stdout);
    let row = text
        .lines()
        .find(|l| l.trim_start().starts_with("auth_hmac"));
    assert!(
        row.is_some_and(|r| r.contains("0 verified") && !r.contains("invalid 0")),
        "{text}"
    );
    stop(theirs);
}

/// `vrrpctl --json status` of `daemon`.
fn status_json(daemon: &Daemon) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_vrrpctl"))
        .arg("-s")
        .arg(&daemon.control)
        .args(["--json", "status"])
        .output()
        .expect("run vrrpctl");
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(out.status.success(), "vrrpctl status failed: {text}");
    text
}

/// Counter `name` of the only instance of `daemon`, from `vrrpctl --json status`.
fn counter(daemon: &Daemon, name: &str) -> u64 {
    let text = status_json(daemon);
    let key = format!("\"{name}\":");
    let at = text
        .find(&key)
        .unwrap_or_else(|| panic!("no {name} in the status: {text}"));
    let digits: String = text[at + key.len()..]
        .chars()
        .skip_while(|c| c.is_whitespace())
        .take_while(char::is_ascii_digit)
        .collect();
    digits.parse().expect("a number")
}

#[test]
fn a_forged_unsigned_priority_255_advert_leaves_the_vip_on_vrrpd() {
    support::require_scapy();
    let lab = support::lab(false);
    let tmp = support::tempdir();
    let (r1, r2) = (lab.host("r1"), lab.host("r2"));
    let mut ours = Daemon::start(r1, tmp.path(), &instance(r1, r2, 150, KEY));
    ours.expect(&["(VI_1) Entering MASTER STATE"], Duration::from_secs(10));
    let from = ours.seen.len();
    forge_adverts(r2, r1, 5);
    let missing = format!("missing authentication trailer from {}", r2.ipv4);
    ours.expect(&["(VI_1)", &missing], Duration::from_secs(5));
    ours.drain();
    assert!(
        lines_with(&ours, from, "Entering BACKUP STATE").is_empty(),
        "the forged advert took the VIP: {:?}",
        &ours.seen[from..]
    );
    assert!(has_vip(r1), "the VIP left vrrpd");
    assert!(counter(&ours, "auth_hmac_missing") >= 1);
}

/// Writes `conf` for keepalived, sends SIGHUP and waits for it to start reloading.
fn reload_keepalived(theirs: &mut Daemon, conf: &str) {
    std::fs::write(&theirs.conf_path, conf).unwrap();
    theirs.signal(Signal::SIGHUP);
    theirs.expect(&["Reloading"], Duration::from_secs(10));
}

/// Neither daemon changed state nor logged an authentication failure since the marks.
fn assert_steady(ours: &Daemon, ours_from: usize, theirs: &Daemon, theirs_from: usize) {
    for (who, daemon, from) in [
        ("vrrpd", ours, ours_from),
        ("keepalived", theirs, theirs_from),
    ] {
        let changes = lines_with(daemon, from, "Entering");
        assert!(changes.is_empty(), "{who} changed state: {changes:?}");
        assert_no_auth_failures(who, daemon, from);
    }
}

/// Observes both daemons for 2 s (10 adverts, past the Backup's down interval of about 0.7 s).
fn settle(a: &mut Daemon, b: &mut Daemon) {
    observe(a, b, Duration::from_secs(2));
}

/// Make before break across vrrpd (Active) and keepalived 2.4.3 (Backup), keepalived's
/// article's three reloads: the Backup learns key 2, the Active signs with it, both drop key 1.
/// Neither changes state nor logs an authentication failure; then vrrpd signing with the
/// dropped key 1 again is refused by keepalived, so its reloads took effect.
#[test]
fn key_rotation_across_vrrpd_and_keepalived_243_has_no_transition() {
    let bin = keepalived_243();
    let lab = support::lab(false);
    let tmp = support::tempdir();
    let (r1, r2) = (lab.host("r1"), lab.host("r2"));
    let key1 = format!("key 1 \"{KEY}\"");
    let key2 = format!("key 2 {OTHER_KEY}");
    let only_1 = format!("{key1}\n        active_key 1");
    let both_1 = format!("{key1}\n        {key2}\n        active_key 1");
    let both_2 = format!("{key1}\n        {key2}\n        active_key 2");
    let only_2 = format!("{key2}\n        active_key 2");

    let mut ours = Daemon::start(r1, tmp.path(), &with_keys(r1, r2, 150, &only_1));
    ours.expect(&["(VI_1) Entering MASTER STATE"], Duration::from_secs(10));
    let mut theirs =
        Daemon::start_keepalived(r2, tmp.path(), &with_keys(r2, r1, 100, &only_1), &bin);
    theirs.expect(&["(VI_1) Entering BACKUP STATE"], Duration::from_secs(10));
    settle(&mut ours, &mut theirs);
    let (ours_from, theirs_from) = (ours.seen.len(), theirs.seen.len());

    let reload_theirs =
        |theirs: &mut Daemon, keys: &str| reload_keepalived(theirs, &with_keys(r2, r1, 100, keys));
    let reload_ours = |ours: &mut Daemon, keys: &str| {
        let lines = ours.reload(&with_keys(r1, r2, 150, keys), Duration::from_secs(10));
        assert!(lines.join("\n").contains("Reload finished"), "{lines:?}");
    };
    reload_theirs(&mut theirs, &both_1);
    settle(&mut ours, &mut theirs);
    reload_ours(&mut ours, &both_2);
    settle(&mut ours, &mut theirs);
    reload_theirs(&mut theirs, &only_2);
    settle(&mut ours, &mut theirs);
    reload_ours(&mut ours, &only_2);
    settle(&mut ours, &mut theirs);

    assert_steady(&ours, ours_from, &theirs, theirs_from);
    assert!(has_vip(r1) && !has_vip(r2));

    // keepalived dropped key 1: vrrpd signing with it again is refused.
    reload_ours(&mut ours, &only_1);
    let unknown = format!("unknown authentication key id 1 from {}", r1.ipv4);
    theirs.expect(&["(VI_1)", &unknown], Duration::from_secs(10));
    stop(theirs);
}

/// keepalived's three-sweep rollout across vrrpd (Active) and keepalived 2.4.3 (Backup), from
/// no `auth_hmac` at all: `receive-only` everywhere, then `permissive`, then `enforce`, each
/// node reloaded in turn. No state changes and no authentication failure on either; at the
/// end vrrpd has sent signed adverts and accepted none unsigned since enforcing.
#[test]
fn three_sweep_rollout_across_vrrpd_and_keepalived_243_has_no_transition() {
    let bin = keepalived_243();
    let lab = support::lab(false);
    let tmp = support::tempdir();
    let (r1, r2) = (lab.host("r1"), lab.host("r2"));
    let in_mode = |host: &Host, peer: &Host, priority: u8, mode: Option<&str>| match mode {
        None => unicast_instance(host, peer, priority, ""),
        Some(mode) => with_keys(
            host,
            peer,
            priority,
            &format!("key 1 \"{KEY}\"\n        active_key 1"),
        )
        .replace("mode enforce", &format!("mode {mode}")),
    };
    let mut ours = Daemon::start(r1, tmp.path(), &in_mode(r1, r2, 150, None));
    ours.expect(&["(VI_1) Entering MASTER STATE"], Duration::from_secs(10));
    let mut theirs = Daemon::start_keepalived(r2, tmp.path(), &in_mode(r2, r1, 100, None), &bin);
    theirs.expect(&["(VI_1) Entering BACKUP STATE"], Duration::from_secs(10));
    settle(&mut ours, &mut theirs);
    let (ours_from, theirs_from) = (ours.seen.len(), theirs.seen.len());

    for mode in ["receive-only", "permissive", "enforce"] {
        reload_keepalived(&mut theirs, &in_mode(r2, r1, 100, Some(mode)));
        settle(&mut ours, &mut theirs);
        let lines = ours.reload(&in_mode(r1, r2, 150, Some(mode)), Duration::from_secs(10));
        assert!(
            lines.join("\n").contains("Reload finished"),
            "{mode}: {lines:?}"
        );
        settle(&mut ours, &mut theirs);
    }
    assert_steady(&ours, ours_from, &theirs, theirs_from);
    assert!(has_vip(r1) && !has_vip(r2));
    assert!(
        counter(&ours, "auth_hmac_signed_tx") > 0,
        "vrrpd signs in the end"
    );
    stop(theirs);
}

/// Captures the next advert from `from` on `on`'s eth0 into `file` (the IP packet), by scapy.
fn capture_advert(on: &Host, from: &Host, file: &std::path::Path) {
    let script = format!(
        "from scapy.all import sniff, IP\n\
         p = sniff(iface='eth0', filter='ip proto 112 and src {src}', count=1, timeout=10)\n\
         assert p, 'no advert captured'\n\
         open('{file}', 'wb').write(bytes(p[0][IP]))\n",
        src = from.ipv4,
        file = file.display(),
    );
    on.netns
        .exec_ok("/usr/bin/python3", &["-c", &script])
        .expect("scapy captures an advert");
}

/// Sends the IP packet in `file` from `via` as it is, or with its priority set to 255 and the
/// VRRP checksum updated to match (RFC 1624): an altered advert that passes the checksum.
fn resend_advert(via: &Host, file: &std::path::Path, alter: bool) {
    let alter = if alter {
        "ihl = (b[0] & 15) * 4\n\
         old = (b[ihl + 2] << 8) | b[ihl + 3]\n\
         b[ihl + 2] = 255\n\
         new = (b[ihl + 2] << 8) | b[ihl + 3]\n\
         hc = (b[ihl + 6] << 8) | b[ihl + 7]\n\
         s = (~hc & 0xffff) + (~old & 0xffff) + new\n\
         s = (s & 0xffff) + (s >> 16)\n\
         s = (s & 0xffff) + (s >> 16)\n\
         hc = ~s & 0xffff\n\
         b[ihl + 6] = hc >> 8\n\
         b[ihl + 7] = hc & 0xff\n"
    } else {
        ""
    };
    let script = format!(
        "from scapy.all import IP, send\n\
         b = bytearray(open('{file}', 'rb').read())\n\
         {alter}\
         send(IP(bytes(b)), verbose=False)\n",
        file = file.display(),
    );
    via.netns
        .exec_ok("/usr/bin/python3", &["-c", &script])
        .expect("scapy resends the advert");
}

/// One daemon Active on its host, the other Backup: one of the Active's adverts captured at the
/// Backup and sent again from another host is a replay to the Backup; the same advert with its
/// priority raised (and a valid checksum) fails the HMAC; sent again once older than the window,
/// it is stale. All are dropped (and vrrpd counts them), the Backup stays Backup.
fn replayed_and_altered_rejected(vrrpd_active: bool) {
    support::require_scapy();
    let bin = keepalived_243();
    let lab = support::lab(true);
    let tmp = support::tempdir();
    let (r1, r2, c1) = (lab.host("r1"), lab.host("r2"), lab.host("c1"));
    let (ours_priority, theirs_priority) = if vrrpd_active { (150, 100) } else { (100, 150) };
    let ours_conf = instance(r1, r2, ours_priority, KEY);
    let theirs_conf = instance(r2, r1, theirs_priority, KEY);
    let (mut active, mut backup) = if vrrpd_active {
        let mut ours = Daemon::start(r1, tmp.path(), &ours_conf);
        ours.expect(&["(VI_1) Entering MASTER STATE"], Duration::from_secs(10));
        (
            ours,
            Daemon::start_keepalived(r2, tmp.path(), &theirs_conf, &bin),
        )
    } else {
        let mut theirs = Daemon::start_keepalived(r2, tmp.path(), &theirs_conf, &bin);
        theirs.expect(&["(VI_1) Entering MASTER STATE"], Duration::from_secs(10));
        (theirs, Daemon::start(r1, tmp.path(), &ours_conf))
    };
    backup.expect(&["(VI_1) Entering BACKUP STATE"], Duration::from_secs(10));
    let (active_host, backup_host) = if vrrpd_active { (r1, r2) } else { (r2, r1) };
    let from = backup.seen.len();
    let file = tmp.path().join("advert.bin");
    capture_advert(backup_host, active_host, &file);

    resend_advert(c1, &file, false);
    let replayed = format!("replayed authentication trailer from {}", active_host.ipv4);
    backup.expect(&["(VI_1)", &replayed], Duration::from_secs(5));
    resend_advert(c1, &file, true);
    let invalid = format!("invalid authentication HMAC from {}", active_host.ipv4);
    backup.expect(&["(VI_1)", &invalid], Duration::from_secs(5));
    // Past the default 5 s window the capture is stale (checked before the replay mark). The
    // wait is the behaviour under test: the capture has to age.
    let captured = std::fs::metadata(&file).unwrap().modified().unwrap();
    let aged = captured + Duration::from_secs(6);
    if let Ok(left) = aged.duration_since(std::time::SystemTime::now()) {
        observe(&mut backup, &mut active, left);
    }
    resend_advert(c1, &file, false);
    let stale = format!("stale authentication trailer from {}", active_host.ipv4);
    backup.expect(&["(VI_1)", &stale], Duration::from_secs(5));
    if !vrrpd_active {
        assert!(counter(&backup, "auth_hmac_replayed") >= 1);
        assert!(counter(&backup, "auth_hmac_invalid") >= 1);
        assert!(counter(&backup, "auth_hmac_stale") >= 1);
    }
    observe(&mut backup, &mut active, Duration::from_secs(1));
    assert!(
        lines_with(&backup, from, "Entering").is_empty(),
        "the Backup changed state: {:?}",
        &backup.seen[from..]
    );
    assert!(has_vip(active_host) && !has_vip(backup_host));
    stop(if vrrpd_active { backup } else { active });
}

#[test]
fn a_replayed_and_an_altered_advert_of_keepalived_243_are_rejected_by_vrrpd() {
    replayed_and_altered_rejected(false);
}

#[test]
fn a_replayed_and_an_altered_advert_of_vrrpd_are_rejected_by_keepalived_243() {
    replayed_and_altered_rejected(true);
}
