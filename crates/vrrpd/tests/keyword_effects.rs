//! Keywords of keepalived's VRRP instances and virtual addresses, acted on as keepalived 2.4.3
//! acts on them, shown on the kernel (`ip addr`, sysctls) and on the wire, in namespaces.

mod support;

use std::net::IpAddr;
use std::time::Duration;

use serde_json::Value;
use support::Daemon;
use vrrp_netns::{wait_until, Host};

const V3: &str = "global_defs {\n    vrrp_version 3\n    vrrp_garp_master_delay 0\n}\n";

/// A MASTER-bound instance on eth0 with these address blocks and extra lines.
fn instance(body: &str) -> String {
    format!(
        "{V3}vrrp_instance VI_1 {{
    state BACKUP
    interface eth0
    virtual_router_id 51
    priority 150
    advert_int 0.2
{body}
}}
"
    )
}

/// The `ip -j addr` entries of `dev` in `host`.
fn addresses(host: &Host, dev: &str) -> Vec<Value> {
    let text = host.netns.ip(&["-j", "addr", "show", "dev", dev]).unwrap();
    let v: Value = serde_json::from_str(&text).unwrap();
    v[0]["addr_info"].as_array().cloned().unwrap_or_default()
}

/// The entry of `local` on `dev`, waiting up to 3 s for it to appear.
fn address(host: &Host, dev: &str, local: &str) -> Value {
    let mut found = None;
    wait_until(Duration::from_secs(3), || {
        found = addresses(host, dev)
            .into_iter()
            .find(|a| a["local"] == local);
        found.is_some()
    });
    found.unwrap_or_else(|| panic!("{local} not on {dev}: {:#?}", addresses(host, dev)))
}

/// `peer`, `home`, `mngtmpaddr`, `autojoin` and `preferred_lft` of `virtual_ipaddress` lines as
/// `ip -j addr` shows them, with keepalived's rules: a peer makes the prefix /32 (/128),
/// preferred_lft is for IPv6 only and an IPv6 /128 without one is deprecated; at SIGTERM the
/// peer addresses are removed too.
#[test]
fn peer_flags_and_preferred_lifetimes_reach_the_kernel() {
    let lab = support::lab(false);
    let tmp = support::tempdir();
    let r1 = lab.host("r1");
    let body = "    virtual_ipaddress {
        192.0.2.100/24 peer 192.0.2.200
        192.0.2.101/24 preferred_lft 0
        233.252.0.1/32 autojoin
    }
    virtual_ipaddress_excluded {
        2001:db8::100 peer 2001:db8::200 home
        2001:db8:0:1::100/64 mngtmpaddr preferred_lft 300
        2001:db8::101/128
        2001:db8::102/128 preferred_lft forever
    }";
    let mut a = Daemon::start(r1, tmp.path(), &instance(body));
    a.expect(&["(VI_1) Entering MASTER STATE"], Duration::from_secs(5));

    let p4 = address(r1, "eth0", "192.0.2.100");
    assert_eq!(p4["address"], "192.0.2.200", "IPv4 peer: {p4:#}");
    assert_eq!(p4["prefixlen"], 32, "a peer address is /32: {p4:#}");
    let v4 = address(r1, "eth0", "192.0.2.101");
    assert_eq!(
        v4["preferred_life_time"],
        u64::from(u32::MAX),
        "preferred_lft is ignored for IPv4: {v4:#}"
    );
    let mc = address(r1, "eth0", "233.252.0.1");
    assert_eq!(mc["autojoin"], true, "{mc:#}");
    let maddr = r1.netns.ip(&["maddr", "show", "dev", "eth0"]).unwrap();
    assert!(
        maddr.contains("233.252.0.1"),
        "autojoin joined the group: {maddr}"
    );

    let p6 = address(r1, "eth0", "2001:db8::100");
    assert_eq!(p6["address"], "2001:db8::200", "IPv6 peer: {p6:#}");
    assert_eq!(p6["home"], true, "{p6:#}");
    assert_eq!(
        p6["deprecated"], true,
        "a /128 without preferred_lft: {p6:#}"
    );
    let tmp6 = address(r1, "eth0", "2001:db8:0:1::100");
    assert_eq!(tmp6["mngtmpaddr"], true, "{tmp6:#}");
    let left = tmp6["preferred_life_time"].as_u64().unwrap();
    assert!((290..=300).contains(&left), "preferred_lft 300: {tmp6:#}");
    assert_eq!(tmp6["valid_life_time"], u64::from(u32::MAX), "{tmp6:#}");
    let dep = address(r1, "eth0", "2001:db8::101");
    assert_eq!(dep["preferred_life_time"], 0, "{dep:#}");
    let forever = address(r1, "eth0", "2001:db8::102");
    assert_eq!(
        forever["preferred_life_time"],
        u64::from(u32::MAX),
        "{forever:#}"
    );
    assert!(forever.get("deprecated").is_none(), "{forever:#}");

    a.signal(vrrp_netns::Signal::SIGTERM);
    assert!(a.wait_exit(Duration::from_secs(3)).success());
    let vips = [
        "192.0.2.100",
        "192.0.2.101",
        "233.252.0.1",
        "2001:db8::100",
        "2001:db8:0:1::100",
        "2001:db8::101",
        "2001:db8::102",
    ];
    let left: Vec<Value> = addresses(r1, "eth0")
        .into_iter()
        .filter(|a| vips.iter().any(|v| a["local"] == *v))
        .collect();
    assert!(
        left.is_empty(),
        "every VIP removed at SIGTERM, peers too: {left:?}"
    );
}

/// `no_track`: a VIP someone else removes stays removed (keepalived ignores its removal),
/// while a tracked VIP removed the same way is put back.
#[test]
fn a_no_track_vip_removed_by_someone_else_stays_removed() {
    let lab = support::lab(false);
    let tmp = support::tempdir();
    let r1 = lab.host("r1");
    let body = "    virtual_ipaddress {
        192.0.2.100/24 no_track
        192.0.2.101/24
    }";
    let mut a = Daemon::start(r1, tmp.path(), &instance(body));
    a.expect(&["(VI_1) Entering MASTER STATE"], Duration::from_secs(5));
    let (untracked, tracked): (IpAddr, IpAddr) = (
        "192.0.2.100".parse().unwrap(),
        "192.0.2.101".parse().unwrap(),
    );
    assert!(wait_until(Duration::from_secs(3), || r1
        .has_address(untracked)
        .unwrap()
        && r1.has_address(tracked).unwrap()));

    r1.netns
        .ip(&["addr", "del", "192.0.2.100/24", "dev", "eth0"])
        .unwrap();
    a.expect(
        &["no_track VIP removed by someone else", "192.0.2.100"],
        Duration::from_secs(3),
    );
    r1.netns
        .ip(&["addr", "del", "192.0.2.101/24", "dev", "eth0"])
        .unwrap();
    a.expect(
        &["VIP removed by someone else", "192.0.2.101"],
        Duration::from_secs(3),
    );
    assert!(
        wait_until(Duration::from_secs(3), || r1.has_address(tracked).unwrap()),
        "the tracked VIP is put back"
    );
    assert!(
        !r1.has_address(untracked).unwrap(),
        "the no_track VIP stays removed (checked after the tracked one is back)"
    );
    assert!(
        !a.drain().iter().any(|l| l.contains("Entering")),
        "no state change"
    );
}

/// A unicast instance of `vrid` on eth0 from `src` to `peer` at `priority`, with `extra` lines.
fn unicast_instance(
    vrid: u8,
    priority: u8,
    src: &str,
    peer: &str,
    vip: &str,
    extra: &str,
) -> String {
    format!(
        "vrrp_instance U{vrid} {{
    state BACKUP
    interface eth0
    virtual_router_id {vrid}
    priority {priority}
    advert_int 0.2
    unicast_src_ip {src}
    unicast_peer {{
        {peer}
    }}
{extra}
    virtual_ipaddress {{
        {vip}
    }}
}}
"
    )
}

/// An IPv4 unicast instance of VRID 51 (VIP 192.0.2.100) from `me` to `other`.
fn v4_unicast(prio: u8, me: &Host, other: &Host, extra: &str) -> String {
    let (src, peer) = (me.ipv4.to_string(), other.ipv4.to_string());
    unicast_instance(51, prio, &src, &peer, "192.0.2.100/24", extra)
}

/// The TTLs of the adverts of `vrid` that `host` sent.
fn advert_ttls(cap: &vrrp_netns::Capture, host: &str, vrid: u8) -> Vec<u8> {
    cap.frames()
        .into_iter()
        .filter(|f| f.from_host.as_deref() == Some(host))
        .filter_map(|f| f.vrrp_advert()?.ok())
        .filter(|a| a.vrid == vrid && a.priority > 0)
        .map(|a| a.ttl)
        .collect()
}

/// `unicast_ttl`: the TTL (IPv4) and hop limit (IPv6) of sent unicast adverts; the Backup
/// accepts unicast adverts whatever their TTL, as keepalived (no 255 check for unicast).
#[test]
fn unicast_ttl_is_the_ttl_of_sent_unicast_adverts_and_any_ttl_is_accepted() {
    let lab = support::lab(false);
    let tmp = support::tempdir();
    let (r1, r2) = (lab.host("r1"), lab.host("r2"));
    let conf = |prio, me: &Host, other: &Host, ttl: &str| {
        let v4 = v4_unicast(prio, me, other, ttl);
        let v6 = unicast_instance(
            52,
            prio,
            &me.ipv6.to_string(),
            &other.ipv6.to_string(),
            "2001:db8:1::100/64",
            ttl,
        );
        format!("{V3}{v4}{v6}")
    };
    let cap = lab.default_segment().capture().unwrap();
    let mut a = Daemon::start(r1, tmp.path(), &conf(150, r1, r2, "    unicast_ttl 7"));
    a.expect(&["(U51) Entering MASTER STATE"], Duration::from_secs(5));
    a.expect(&["(U52) Entering MASTER STATE"], Duration::from_secs(5));
    let mut b = Daemon::start(r2, tmp.path(), &conf(100, r2, r1, ""));
    b.expect(&["(U51) Entering BACKUP STATE"], Duration::from_secs(5));
    b.expect(&["(U52) Entering BACKUP STATE"], Duration::from_secs(5));
    // r2 would take over within 3 intervals if it dropped r1's adverts: wait for 5 more.
    let before = advert_ttls(&cap, "r1", 51).len();
    assert!(wait_until(Duration::from_secs(3), || advert_ttls(
        &cap, "r1", 51
    )
    .len()
        >= before + 5));
    let (v4, v6) = (advert_ttls(&cap, "r1", 51), advert_ttls(&cap, "r1", 52));
    assert!(
        !v4.is_empty() && v4.iter().all(|t| *t == 7),
        "IPv4 TTLs: {v4:?}"
    );
    assert!(
        !v6.is_empty() && v6.iter().all(|t| *t == 7),
        "IPv6 hop limits: {v6:?}"
    );
    assert!(
        !b.drain().iter().any(|l| l.contains("Entering MASTER")),
        "r2 accepts r1's TTL-7 adverts and stays Backup"
    );
    assert!(!r2.has_address("192.0.2.100".parse().unwrap()).unwrap());
}

/// `net.ipv4.conf.eth0.promote_secondaries` in `host`.
fn promote_secondaries(host: &Host) -> String {
    let out = host
        .netns
        .exec_ok("sysctl", &["-n", "net.ipv4.conf.eth0.promote_secondaries"])
        .unwrap();
    out.trim().to_string()
}

/// `promote_secondaries`: set to 1 on the instance's interface at start and restored to 0 at
/// SIGTERM, as keepalived; an interface that already had it keeps it after exit.
#[test]
fn promote_secondaries_is_set_while_running_and_restored_at_exit() {
    let lab = support::lab(false);
    let tmp = support::tempdir();
    let r1 = lab.host("r1");
    let conf =
        instance("    promote_secondaries\n    virtual_ipaddress {\n        192.0.2.100/24\n    }");
    assert_eq!(promote_secondaries(r1), "0", "the lab's default");
    let mut a = Daemon::start(r1, tmp.path(), &conf);
    a.expect(&["(VI_1) Entering MASTER STATE"], Duration::from_secs(5));
    assert_eq!(promote_secondaries(r1), "1", "set while running");
    a.signal(vrrp_netns::Signal::SIGTERM);
    assert!(a.wait_exit(Duration::from_secs(3)).success());
    assert_eq!(promote_secondaries(r1), "0", "restored at exit");

    // Already set: left alone, also at exit.
    r1.netns
        .exec_ok(
            "sysctl",
            &["-qw", "net.ipv4.conf.eth0.promote_secondaries=1"],
        )
        .unwrap();
    let mut a = Daemon::start(r1, tmp.path(), &conf);
    a.expect(&["(VI_1) Entering MASTER STATE"], Duration::from_secs(5));
    a.signal(vrrp_netns::Signal::SIGTERM);
    assert!(a.wait_exit(Duration::from_secs(3)).success());
    assert_eq!(
        promote_secondaries(r1),
        "1",
        "a value set before start is kept"
    );
}

/// The checksum forms of the adverts of `vrid` that `host` sent after `after`.
fn advert_forms(
    cap: &vrrp_netns::Capture,
    host: &str,
    vrid: u8,
    after: std::time::SystemTime,
) -> Vec<Option<vrrp_core::ChecksumForm>> {
    cap.frames()
        .into_iter()
        .filter(|f| f.from_host.as_deref() == Some(host) && f.ts > after)
        .filter_map(|f| f.vrrp_advert()?.ok())
        .filter(|a| a.vrid == vrid && a.priority > 0)
        .map(|a| a.checksum_form)
        .collect()
}

/// `old_unicast_checksum`: r1 sends keepalived 1.3.6's unicast checksum form; r2 without the
/// keyword accepts it, switches to it and sends it once it takes over; r2 with `never`
/// discards r1's adverts as bad checksums and becomes Active beside r1, in the current form.
#[test]
fn old_unicast_checksum_is_sent_followed_or_refused_on_the_wire() {
    use vrrp_core::ChecksumForm::{OldUnicast, PseudoHeader};
    let lab = support::lab(false);
    let tmp = support::tempdir();
    let (r1, r2) = (lab.host("r1"), lab.host("r2"));
    let conf = |prio, me: &Host, other: &Host, extra: &str| {
        format!("{V3}{}", v4_unicast(prio, me, other, extra))
    };
    let cap = lab.default_segment().capture().unwrap();
    let start = std::time::SystemTime::now();
    let mut a = Daemon::start(
        r1,
        tmp.path(),
        &conf(150, r1, r2, "    old_unicast_checksum"),
    );
    a.expect(&["(U51) Entering MASTER STATE"], Duration::from_secs(5));
    let mut b = Daemon::start(r2, tmp.path(), &conf(100, r2, r1, ""));
    b.expect(&["(U51) Entering BACKUP STATE"], Duration::from_secs(5));
    assert!(wait_until(Duration::from_secs(3), || advert_forms(
        &cap, "r1", 51, start
    )
    .len()
        >= 8));
    let sent = advert_forms(&cap, "r1", 51, start);
    assert!(sent.iter().all(|f| *f == Some(OldUnicast)), "{sent:?}");
    assert!(
        !b.drain().iter().any(|l| l.contains("Entering MASTER")),
        "r2 accepts the old form"
    );

    // r1 leaves: r2 takes over and advertises in the form it detected.
    a.signal(vrrp_netns::Signal::SIGTERM);
    assert!(a.wait_exit(Duration::from_secs(3)).success());
    b.expect(&["(U51) Entering MASTER STATE"], Duration::from_secs(3));
    let took_over = std::time::SystemTime::now();
    assert!(wait_until(Duration::from_secs(3), || advert_forms(
        &cap, "r2", 51, took_over
    )
    .len()
        >= 3));
    let followed = advert_forms(&cap, "r2", 51, took_over);
    assert!(
        followed.iter().all(|f| *f == Some(OldUnicast)),
        "{followed:?}"
    );
    b.signal(vrrp_netns::Signal::SIGTERM);
    assert!(b.wait_exit(Duration::from_secs(3)).success());

    // `never`: r2 refuses r1's adverts and becomes Active too, sending the current form.
    let mut a = Daemon::start(
        r1,
        tmp.path(),
        &conf(150, r1, r2, "    old_unicast_checksum"),
    );
    a.expect(&["(U51) Entering MASTER STATE"], Duration::from_secs(5));
    let mut b = Daemon::start(
        r2,
        tmp.path(),
        &conf(100, r2, r1, "    old_unicast_checksum never"),
    );
    b.expect(&["(U51) Entering MASTER STATE"], Duration::from_secs(5));
    let dual = std::time::SystemTime::now();
    assert!(wait_until(Duration::from_secs(3), || advert_forms(
        &cap, "r2", 51, dual
    )
    .len()
        >= 2));
    let never = advert_forms(&cap, "r2", 51, dual);
    assert!(never.iter().all(|f| *f == Some(PseudoHeader)), "{never:?}");
    drop(a);
}

/// The `Address List` error count of the first instance in `daemon`'s `keepalived.stats`
/// (SIGUSR2), in the `host`-named directory of `dir`.
fn address_list_errors(daemon: &Daemon, dir: &std::path::Path, host: &str) -> u64 {
    let file = dir.join(host).join("keepalived.stats");
    let _ = std::fs::remove_file(&file);
    daemon.signal(vrrp_netns::Signal::SIGUSR2);
    assert!(
        wait_until(Duration::from_secs(3), || file.exists()),
        "keepalived.stats written"
    );
    let text = std::fs::read_to_string(&file).unwrap();
    let line = (text.lines())
        .find_map(|l| l.trim().strip_prefix("Address List: "))
        .unwrap_or_else(|| panic!("{text}"));
    line.trim().parse().unwrap()
}

/// A multicast instance of `vrid` at `priority` advertising `vip`, with `extra` lines.
fn multicast_instance(vrid: u8, priority: u8, vip: &str, extra: &str) -> String {
    format!(
        "vrrp_instance M{vrid} {{
    state BACKUP
    interface eth0
    virtual_router_id {vrid}
    priority {priority}
    advert_int 0.2
{extra}
    virtual_ipaddress {{
        {vip}
    }}
}}
"
    )
}

/// `skip_check_adv_addr` (and the global `vrrp_skip_check_adv_addr`): a Backup whose addresses
/// differ from the master's counts the mismatch (keepalived.stats `Address List`) for every
/// advert without it, and only for the first advert of the master with it.
#[test]
fn skip_check_adv_addr_checks_the_addresses_of_a_new_master_only() {
    let lab = support::lab(false);
    let tmp = support::tempdir();
    let (r1, r2) = (lab.host("r1"), lab.host("r2"));
    let cap = lab.default_segment().capture().unwrap();
    let master = format!("{V3}{}", multicast_instance(51, 150, "192.0.2.100/24", ""));
    let mut a = Daemon::start(r1, tmp.path(), &master);
    a.expect(&["(M51) Entering MASTER STATE"], Duration::from_secs(5));
    let global = "global_defs {\n    vrrp_version 3\n    vrrp_skip_check_adv_addr\n}\n";
    for (conf, skip) in [
        (
            format!("{V3}{}", multicast_instance(51, 100, "192.0.2.101/24", "")),
            false,
        ),
        (
            format!(
                "{global}{}",
                multicast_instance(51, 100, "192.0.2.101/24", "")
            ),
            true,
        ),
        (
            format!(
                "{V3}{}",
                multicast_instance(51, 100, "192.0.2.101/24", "    skip_check_adv_addr")
            ),
            true,
        ),
    ] {
        let mut b = Daemon::start(r2, tmp.path(), &conf);
        b.expect(&["(M51) Entering BACKUP STATE"], Duration::from_secs(5));
        let since = std::time::SystemTime::now();
        assert!(wait_until(Duration::from_secs(3), || advert_forms(
            &cap, "r1", 51, since
        )
        .len()
            >= 6));
        let errors = address_list_errors(&b, tmp.path(), "r2");
        if skip {
            assert_eq!(errors, 1, "only the master's first advert is checked");
        } else {
            assert!(errors >= 6, "every advert is checked: {errors}");
        }
        b.signal(vrrp_netns::Signal::SIGTERM);
        assert!(b.wait_exit(Duration::from_secs(3)).success());
    }
}

/// `log_unknown_vrids`: each advert of a VRID that no instance on the interface runs is logged
/// as keepalived logs it; without the keyword, nothing is logged.
#[test]
fn log_unknown_vrids_logs_each_advert_of_a_vrid_not_run_here() {
    let lab = support::lab(false);
    let tmp = support::tempdir();
    let (r1, r2) = (lab.host("r1"), lab.host("r2"));
    let mut a = Daemon::start(
        r1,
        tmp.path(),
        &format!("{V3}{}", multicast_instance(51, 150, "192.0.2.100/24", "")),
    );
    a.expect(&["(M51) Entering MASTER STATE"], Duration::from_secs(5));
    let other = multicast_instance(52, 100, "192.0.2.101/24", "");
    // Without: r2 hears r1's adverts for VRID 51 while it waits 3 intervals to become master.
    let mut b = Daemon::start(r2, tmp.path(), &format!("{V3}{other}"));
    b.expect(&["(M52) Entering MASTER STATE"], Duration::from_secs(5));
    let quiet = b.drain();
    assert!(
        !quiet.iter().any(|l| l.contains("Unknown VRID")),
        "{quiet:?}"
    );
    b.signal(vrrp_netns::Signal::SIGTERM);
    assert!(b.wait_exit(Duration::from_secs(3)).success());

    let global = "global_defs {\n    vrrp_version 3\n    log_unknown_vrids\n}\n";
    let mut b = Daemon::start(r2, tmp.path(), &format!("{global}{other}"));
    b.expect(
        &["Unknown VRID(51) received on interface(eth0). ignoring..."],
        Duration::from_secs(3),
    );
    b.expect(
        &["Unknown VRID(51) received on interface(eth0). ignoring..."],
        Duration::from_secs(3),
    );
}
