//! The dump renderers against files written by Debian's keepalived 2.2.7 (`tests/data/dump/`,
//! recorded in a network namespace from the `keepalived.conf` next to them; see
//! docs/dump-files.md). The inputs below carry the values keepalived had at dump time, so the
//! output must be identical (bar documented differences); a second check renders with other
//! volatile values (times, counters, descriptors) and compares only the line structure.

use std::net::{IpAddr, Ipv4Addr};
use std::path::Path;
use std::time::Duration;

use vrrp_core::Stats;
use vrrpd::dump::*;

fn fixture(dir: &str, file: &str) -> String {
    let p = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data/dump")
        .join(dir)
        .join(file);
    std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

/// `SECS.USEC` as a duration since the epoch.
fn t(s: &str) -> Duration {
    let (a, b) = s.split_once('.').unwrap();
    Duration::new(a.parse().unwrap(), b.parse::<u32>().unwrap() * 1000)
}

fn vip(addr: &str, len: u8, dev: &str, set: bool) -> VipDump {
    VipDump {
        address: ip(addr),
        prefix_len: len,
        dev: Some(dev.into()),
        scope: "global".into(),
        label: None,
        set,
    }
}

fn tracked(name: &str, weight: i32, reverse: bool) -> TrackedDump {
    TrackedDump {
        name: name.into(),
        weight,
        reverse,
    }
}

fn cmd(c: &str) -> CommandDump {
    CommandDump {
        command: c.into(),
        uid: 0,
        gid: 0,
    }
}

fn stats(rx: u64, tx: u64, became: u64) -> Stats {
    Stats {
        adverts_rx: rx,
        adverts_tx: tx,
        became_active: became,
        ..Stats::default()
    }
}

/// keepalived's defaults for an IPv4 instance on `a` (192.0.2.10), BACKUP, multicast, v2.
fn instance(name: &str, vrid: u8, prio: u8) -> InstanceDump {
    InstanceDump {
        name: name.into(),
        version: 2,
        state: DumpState::Backup,
        wanted_state: DumpState::Backup,
        interface: Some("a".into()),
        source: Some(ip("192.0.2.10")),
        mcast_group: Some(ip("224.0.0.18")),
        garp_delay: 5,
        garp_repeat: 5,
        garp_refresh: 0,
        garp_refresh_repeat: 1,
        garp_lower_prio_delay: 5,
        garp_lower_prio_repeat: 5,
        down_timer_adverts: 3,
        vrid,
        base_priority: prio,
        effective_priority: prio,
        advert_interval: Duration::from_secs(1),
        master_advert_interval: Duration::from_secs(1),
        accept: true,
        preempt: true,
        unicast_ttl: 255,
        ..InstanceDump::default()
    }
}

fn globals(router_id: &str) -> GlobalsDump {
    GlobalsDump {
        router_id: router_id.into(),
        script_security: true,
        ..GlobalsDump::default()
    }
}

fn iface(name: &str, index: u32, v6: &str, mac: [u8; 6], tracking: &[&str]) -> InterfaceDump {
    InterfaceDump {
        name: name.into(),
        index,
        ipv4: (name == "a").then(|| Ipv4Addr::new(192, 0, 2, 10)),
        ipv6: Some(v6.parse().unwrap()),
        mac: Some(mac),
        up: true,
        running: true,
        broadcast: true,
        loopback: false,
        multicast: true,
        mtu: 1500,
        hw_type: "ETHERNET".into(),
        tracking: tracking.iter().map(|n| tracked(n, 0, false)).collect(),
    }
}

fn lo() -> InterfaceDump {
    InterfaceDump {
        name: "lo".into(),
        index: 1,
        ipv4: Some(Ipv4Addr::LOCALHOST),
        ipv6: None,
        mac: None,
        up: true,
        running: true,
        broadcast: false,
        loopback: true,
        multicast: false,
        mtu: 65536,
        hw_type: "LOOPBACK".into(),
        tracking: vec![],
    }
}

/// tests/data/dump/basic: VI_V2 (v2, PASS, track_script, track_interface) and VI_V3 (v3
/// unicast, nopreempt), both MASTER.
fn basic() -> DumpInput {
    let mut v2 = instance("VI_V2", 51, 150);
    v2.state = DumpState::Master;
    v2.wanted_state = DumpState::Master;
    v2.last_transition = t("1795363911.859902");
    v2.read_timeout = Some(t("1795363916.862063"));
    v2.master_down_interval = Duration::from_micros(3_414_062);
    v2.auth = AuthDump::Pass("secret12".into());
    v2.vips = vec![
        vip("192.0.2.100", 24, "a", true),
        vip("192.0.2.101", 32, "b", true),
    ];
    v2.vips_set = true;
    v2.fds = (13, 14);
    v2.tracked_interfaces = vec![tracked("b", 10, false)];
    v2.tracked_scripts = vec![tracked("chk_ok", -20, false)];
    v2.stats = stats(0, 5, 1);

    let mut v3 = instance("VI_V3", 52, 100);
    v3.version = 3;
    v3.state = DumpState::Master;
    v3.wanted_state = DumpState::Master;
    v3.last_transition = t("1795363910.258965");
    v3.read_timeout = Some(t("1795363916.260594"));
    v3.master_down_interval = Duration::from_micros(1_804_687);
    v3.source_from_config = true;
    v3.mcast_group = None;
    v3.advert_interval = Duration::from_millis(500);
    v3.master_advert_interval = Duration::from_millis(500);
    v3.preempt = false;
    v3.vips = vec![vip("192.0.2.200", 24, "a", true)];
    v3.vips_set = true;
    v3.unicast_peers = ["192.0.2.11", "192.0.2.12"]
        .iter()
        .map(|a| PeerDump {
            address: ip(a),
            min_ttl: 0,
            max_ttl: 255,
        })
        .collect();
    v3.fds = (15, 16);
    v3.stats = stats(0, 12, 1);

    DumpInput {
        globals: globals("dumptest"),
        instances: vec![v2, v3],
        sync_groups: vec![],
        scripts: vec![ScriptDump {
            name: "chk_ok".into(),
            command: "'/usr/bin/true'".into(),
            interval: Duration::from_secs(1),
            timeout: None,
            weight: -20,
            reverse: false,
            rise: 2,
            fall: 3,
            result: 4,
            insecure: false,
            status: ScriptStatus::Good,
            uid_gid: (0, 0),
            tracking: vec![tracked("VI_V2", -20, false)],
            running: false,
        }],
        interfaces: vec![
            lo(),
            iface(
                "b",
                2,
                "fe80::fc69:8fff:fe68:383a",
                [0xfe, 0x69, 0x8f, 0x68, 0x38, 0x3a],
                &["VI_V2"],
            ),
            iface(
                "a",
                3,
                "fe80::307f:6aff:fe83:898d",
                [0x32, 0x7f, 0x6a, 0x83, 0x89, 0x8d],
                &["VI_V2", "VI_V3"],
            ),
        ],
        zone: Zone::Utc,
        json_version: JsonVersion::V1,
    }
}

/// tests/data/dump/sync: sync group G1 (VI_A, VI_B) in FAULT because VI_B's weight-0 script
/// fails; VI_C BACKUP behind a peer at priority 250.
fn sync() -> DumpInput {
    let mut a = instance("VI_A", 61, 100);
    a.sync_group = Some("G1".into());
    a.state = DumpState::Fault;
    a.last_transition = t("1795363946.125779");
    a.master_down_interval = Duration::from_micros(3_609_375);
    a.preempt_delay = Duration::from_secs(3);
    a.vips = vec![vip("192.0.2.110", 24, "a", false)];
    a.excluded_vips = vec![vip("192.0.2.111", 32, "a", false)];
    a.fds = (13, 14);
    a.notify.master = Some(cmd("'/usr/bin/true' 'master'"));

    let mut b = instance("VI_B", 62, 90);
    b.sync_group = Some("G1".into());
    b.state = DumpState::Fault;
    b.wanted_state = DumpState::Fault;
    b.track_faults = 1;
    b.last_transition = t("1795363946.135069");
    b.master_down_interval = Duration::from_micros(3_648_437);
    b.vips = vec![vip("192.0.2.120", 24, "a", false)];
    b.fds = (13, 14);
    b.tracked_scripts = vec![tracked("chk_fail", 0, false)];

    let mut c = instance("VI_C", 63, 50);
    c.master_router = Some(ip("192.0.2.11"));
    c.master_priority = 250;
    c.last_transition = t("1795363946.126100");
    c.read_timeout = Some(t("1795363956.918625"));
    c.master_down_interval = Duration::from_micros(3_804_687);
    c.vips = vec![vip("192.0.2.130", 24, "a", false)];
    c.fds = (13, 14);
    c.stats = stats(5, 0, 0);

    DumpInput {
        globals: globals("dumptest2"),
        instances: vec![a, b, c],
        sync_groups: vec![SyncGroupDump {
            name: "G1".into(),
            state: DumpState::Fault,
            members: vec!["VI_A".into(), "VI_B".into()],
            member_faults: 1,
            member_init: 0,
            tracking_weight: false,
            smtp_alert: false,
            notify: NotifyDump {
                generic: Some(cmd("'/usr/bin/true'")),
                ..NotifyDump::default()
            },
        }],
        scripts: vec![ScriptDump {
            name: "chk_fail".into(),
            command: "'/usr/bin/false'".into(),
            interval: Duration::from_secs(2),
            timeout: Some(Duration::from_secs(1)),
            weight: 0,
            rise: 1,
            fall: 1,
            result: 0,
            status: ScriptStatus::Bad,
            tracking: vec![tracked("VI_B", 0, false)],
            ..ScriptDump::default()
        }],
        interfaces: vec![
            lo(),
            iface(
                "a",
                2,
                "fe80::e0f4:93ff:fe68:4061",
                [0xe2, 0xf4, 0x93, 0x68, 0x40, 0x61],
                &["VI_A", "VI_B", "VI_C"],
            ),
        ],
        zone: Zone::Utc,
        json_version: JsonVersion::V1,
    }
}

/// tests/data/dump/options: VI_X (AH, routes, rules, reverse trackers, every notify script,
/// dont_track_primary, promote_secondaries, garp refresh) BACKUP, VI_O an owner (v3).
fn options() -> DumpInput {
    let mut x = instance("VI_X", 71, 100);
    // keepalived 2.2.7 prints this when it has heard no master (its IPv6 group, priority 0).
    x.master_router = Some(ip("ff02::12"));
    x.effective_priority = 95;
    x.last_transition = t("1795363999.708440");
    x.read_timeout = Some(t("1795364006.343646"));
    x.master_down_interval = Duration::from_micros(6_628_906);
    x.dont_track_primary = true;
    x.garp_refresh = 60;
    x.lower_prio_no_advert = true;
    x.higher_prio_send_advert = true;
    x.advert_interval = Duration::from_secs(2);
    x.master_advert_interval = Duration::from_secs(2);
    x.promote_secondaries = true;
    x.auth = AuthDump::Ah("abc".into());
    let mut v = vip("192.0.2.140", 24, "a", false);
    v.label = Some("a:vip".into());
    x.vips = vec![v];
    x.fds = (13, 14);
    x.virtual_routes = vec!["prepend 192.0.2.128/25 via inet 192.0.2.1 dev a proto 18".into()];
    x.virtual_rules = vec!["from 192.0.2.140 priority 16384 tos 0x0 protocol 18 lookup 100".into()];
    x.tracked_interfaces = vec![tracked("b", -10, true)];
    x.tracked_scripts = vec![tracked("chk_rev", 5, true)];
    x.notify_deleted = true;
    x.notify = NotifyDump {
        backup: Some(cmd("'/usr/bin/true' 'backup'")),
        master: None,
        fault: Some(cmd("'/usr/bin/true'")),
        stop: Some(cmd("'/usr/bin/true'")),
        deleted: Some(cmd("'/usr/bin/true'")),
        generic: Some(cmd("'/usr/bin/true'")),
        master_rx_lower_pri: Some(cmd("'/usr/bin/true'")),
    };

    let mut o = instance("VI_O", 72, 255);
    o.version = 3;
    o.state = DumpState::Master;
    o.wanted_state = DumpState::Master;
    o.last_transition = t("1795363999.722525");
    o.read_timeout = Some(t("1795364004.723858"));
    o.master_down_interval = Duration::from_micros(1);
    o.vips = vec![vip("192.0.2.150", 24, "a", true)];
    o.vips_set = true;
    o.fds = (15, 16);
    o.stats = stats(0, 5, 1);

    DumpInput {
        globals: GlobalsDump {
            garp_interval: Duration::from_millis(1),
            ..globals("dumptest3")
        },
        instances: vec![x, o],
        sync_groups: vec![],
        scripts: vec![ScriptDump {
            name: "chk_rev".into(),
            command: "'/usr/bin/true'".into(),
            interval: Duration::from_secs(3),
            weight: 10,
            reverse: true,
            rise: 1,
            fall: 1,
            result: 1,
            status: ScriptStatus::Good,
            tracking: vec![tracked("VI_X", 5, true)],
            ..ScriptDump::default()
        }],
        interfaces: vec![],
        zone: Zone::Utc,
        json_version: JsonVersion::V1,
    }
}

/// Lines of a section, from its header to the next header.
fn section(text: &str, header: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut inside = false;
    for l in text.lines() {
        if l.starts_with("------<") {
            inside = l == format!("------< {header} >------");
        }
        if inside {
            out.push(l.to_string());
        }
    }
    out
}

/// What a line looks like without its value: indentation and key (text before ` = `, `: ` or
/// ` :`), each run of digits masked as one `#`.
fn shape(line: &str) -> String {
    let key_end = [" = ", ": ", " :"]
        .iter()
        .filter_map(|sep| line.find(sep))
        .min()
        .unwrap_or(line.len());
    let mut out = String::new();
    for c in line[..key_end].chars() {
        if !c.is_ascii_digit() {
            out.push(c);
        } else if !out.ends_with('#') {
            out.push('#');
        }
    }
    out
}

fn assert_lines_eq(got: &str, want: &str) {
    let (g, w): (Vec<_>, Vec<_>) = (got.lines().collect(), want.lines().collect());
    for (n, (a, b)) in g.iter().zip(&w).enumerate() {
        assert_eq!(a, b, "line {}", n + 1);
    }
    assert_eq!(g.len(), w.len(), "line count\n{got}");
}

/// keepalived prints the libnftnl version it was built with; vrrpd has none.
fn without_libnftnl(text: &str) -> String {
    text.lines()
        .filter(|l| !l.starts_with(" libnftnl version"))
        .map(|l| format!("{l}\n"))
        .collect()
}

#[test]
fn basic_data_is_identical() {
    let want = without_libnftnl(&fixture("basic", "keepalived.data"));
    assert_lines_eq(&render_data(&basic()), &want);
}

#[test]
fn sync_data_is_identical() {
    let want = without_libnftnl(&fixture("sync", "keepalived.data"));
    assert_lines_eq(&render_data(&sync()), &want);
}

#[test]
fn options_instances_and_scripts_are_identical() {
    // The rest of this fixture has sections vrrpd does not print (GARP delay groups) and
    // interface lines for promote_secondaries / rp_filter / garp pacing.
    let want = fixture("options", "keepalived.data");
    let got = render_data(&options());
    for s in ["VRRP Topology", "VRRP Sockpool", "VRRP Scripts"] {
        assert_eq!(section(&got, s), section(&want, s), "section {s}");
    }
}

#[test]
fn stats_are_identical() {
    assert_eq!(render_stats(&basic()), fixture("basic", "keepalived.stats"));
    assert_eq!(render_stats(&sync()), fixture("sync", "keepalived.stats"));
    assert_eq!(
        render_stats(&options()),
        fixture("options", "keepalived.stats")
    );
}

#[test]
fn json_is_identical() {
    for (dir, input) in [("basic", basic()), ("sync", sync()), ("options", options())] {
        let got = render_json(&input);
        assert_eq!(got, fixture(dir, "keepalived.json"), "{dir}");
        let v: serde_json::Value = serde_json::from_str(&got).expect("valid JSON");
        assert_eq!(v.as_array().unwrap().len(), input.instances.len());
    }
}

#[test]
fn volatile_values_keep_the_line_structure() {
    for (dir, mut input) in [("basic", basic()), ("sync", sync())] {
        for (n, i) in input.instances.iter_mut().enumerate() {
            i.last_transition = Duration::new(1_700_000_000 + n as u64, 1_000);
            i.read_timeout = i
                .read_timeout
                .map(|_| Duration::new(1_800_000_000, 999_000));
            i.master_down_interval = Duration::from_micros(12);
            i.fds = (100 + n as i32, 200);
            i.stats = stats(123_456, 7, 99);
        }
        for s in &mut input.scripts {
            s.result = 17;
        }
        for (file, got) in [
            ("keepalived.data", render_data(&input)),
            ("keepalived.stats", render_stats(&input)),
        ] {
            let want = without_libnftnl(&fixture(dir, file));
            let g: Vec<String> = got.lines().map(shape).collect();
            let w: Vec<String> = want.lines().map(shape).collect();
            assert_eq!(g, w, "{dir}/{file}");
        }
        // JSON: same keys in the same order.
        let keys = |s: &str| -> Vec<String> {
            let v: serde_json::Value = serde_json::from_str(s).unwrap();
            let mut out = Vec::new();
            for inst in v.as_array().unwrap() {
                for part in ["data", "stats"] {
                    out.extend(inst[part].as_object().unwrap().keys().cloned());
                }
            }
            out
        };
        // serde_json without preserve_order sorts keys: compare the raw order instead.
        let raw_keys = |s: &str| -> Vec<String> {
            s.split('"')
                .collect::<Vec<_>>()
                .windows(2)
                .filter(|w| w[1].starts_with(':'))
                .map(|w| w[0].to_string())
                .collect()
        };
        let (got, want) = (render_json(&input), fixture(dir, "keepalived.json"));
        assert_eq!(keys(&got), keys(&want), "{dir}");
        assert_eq!(raw_keys(&got), raw_keys(&want), "{dir}");
    }
}

#[test]
fn states_use_keepalived_numbers() {
    use vrrp_core::State;
    let n = |s: State| DumpState::from(s).number();
    assert_eq!(
        [
            n(State::Initialize),
            n(State::Backup),
            n(State::Active),
            n(State::Fault)
        ],
        [0, 1, 2, 3]
    );
}

#[test]
fn from_plan_matches_keepalived_for_the_basic_config() {
    use vrrpd::config::{load, LoadOptions};
    use vrrpd::convert::{router_configs, HostFacts, InterfaceFacts};
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/dump/basic/keepalived.conf");
    let loaded = load(&path, &LoadOptions::default()).expect("fixture config loads");
    let host = HostFacts::new().with(
        "a",
        InterfaceFacts {
            primary_ipv4: Some(Ipv4Addr::new(192, 0, 2, 10)),
            ipv6_link_local: None,
        },
    );
    let plans = router_configs(&loaded.config, &host).expect("maps");
    let want = basic();
    for (plan, want) in plans.iter().zip(&want.instances) {
        let router = vrrp_core::Router::new(plan.router.clone()).unwrap();
        let mut got = InstanceDump::from_plan(plan, &router.status(), (0, 0));
        // What only the runtime knows.
        got.state = want.state;
        got.wanted_state = want.wanted_state;
        got.last_transition = want.last_transition;
        got.read_timeout = want.read_timeout;
        got.master_down_interval = want.master_down_interval;
        got.master_advert_interval = want.master_advert_interval;
        got.source_from_config = want.source_from_config;
        got.vips_set = true;
        for v in &mut got.vips {
            v.set = true;
        }
        got.fds = want.fds;
        got.stats = want.stats;
        // A deliberate difference (docs/migrating-from-keepalived.md): vrrpd sends one advert
        // before yielding unless strict mode is on, so it reports the option as on.
        assert_eq!(got.higher_prio_send_advert, !got.strict_mode);
        got.higher_prio_send_advert = want.higher_prio_send_advert;
        // Another: vrrpd re-announces every 20 s unless garp_master_refresh says otherwise
        // (docs/decisions/0006-periodic-reannouncement.md); the dump shows the refresh in force.
        if want.garp_refresh == 0 {
            assert_eq!(got.garp_refresh, 20, "{}", want.name);
            got.garp_refresh = 0;
        }
        // And: where unicast peers are listed, vrrpd accepts adverts only from them unless
        // accept_unlisted_unicast_src; the dump shows the check in force.
        if !want.unicast_peers.is_empty() && !want.check_unicast_src {
            assert!(got.check_unicast_src, "{}", want.name);
            got.check_unicast_src = false;
        }
        assert_eq!(&got, want, "{}", want.name);
    }
}

#[test]
fn quoting_and_paths() {
    assert_eq!(
        quote_command(&split_command("/bin/true \"a b\" c")),
        "'/bin/true' 'a b' 'c'"
    );
    fn tmp(d: &str) -> Option<&std::ffi::OsStr> {
        Some(std::ffi::OsStr::new(d))
    }
    assert_eq!(
        DumpKind::Data.path(None, None),
        Path::new("/tmp/keepalived.data")
    );
    assert_eq!(
        DumpKind::Json.path(tmp("/run/x"), None),
        Path::new("/run/x/keepalived.json")
    );
    assert_eq!(
        DumpKind::Stats.path(tmp(""), None),
        Path::new("/tmp/keepalived.stats")
    );
    // state_dump_file / stats_dump_file / json_dump_file: absolute as given, relative in the
    // temporary directory, a trailing `/` names a directory.
    assert_eq!(
        DumpKind::Data.path(None, Some("/var/lib/k/state.txt")),
        Path::new("/var/lib/k/state.txt")
    );
    assert_eq!(
        DumpKind::Stats.path(tmp("/run/x"), Some("s.txt")),
        Path::new("/run/x/s.txt")
    );
    assert_eq!(
        DumpKind::Json.path(None, Some("/srv/")),
        Path::new("/srv/keepalived.json")
    );
}

#[test]
fn write_atomic_replaces_the_file() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("keepalived.json");
    write_atomic(&p, "[1]").unwrap();
    write_atomic(&p, "[2]").unwrap();
    assert_eq!(std::fs::read_to_string(&p).unwrap(), "[2]");
    assert_eq!(
        std::fs::metadata(&p).unwrap().permissions().mode() & 0o777,
        0o600
    );
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
}

#[test]
fn no_instances_no_json() {
    assert_eq!(render_json(&DumpInput::default()), "");
}

#[test]
fn json_version_2_wraps_the_array_in_vrrp() {
    // keepalived 2.2.8+ with `json_version 2`: `{"vrrp":[…]}`, the same instances.
    let v1 = render_json(&basic());
    let v2 = render_json(&DumpInput {
        json_version: JsonVersion::V2,
        ..basic()
    });
    assert_eq!(v2, format!("{{\"vrrp\":{}}}\n", v1.trim_end()));
    assert_eq!(JsonVersion::from_config(2), JsonVersion::V2);
    assert_eq!(JsonVersion::from_config(1), JsonVersion::V1);
}

#[test]
fn globals_from_a_default_configuration_are_keepalived_defaults() {
    let g = vrrpd::config::model::GlobalDefs::default();
    assert_eq!(
        GlobalsDump::from_config(&g, "host1", (0, 0), 0o177),
        GlobalsDump {
            router_id: "host1".into(),
            // vrrpd's default refresh, where keepalived has none (decision 0006).
            garp_refresh: 20,
            ..GlobalsDump::default()
        }
    );
    let g = vrrpd::config::model::GlobalDefs {
        router_id: Some("lb1".into()),
        vrrp_strict: true,
        vrrp_version: 3,
        vrrp_garp_interval_us: 1000,
        enable_script_security: true,
        ..Default::default()
    };
    let d = GlobalsDump::from_config(&g, "host1", (7, 8), 0o22);
    assert_eq!(d.router_id, "lb1");
    assert!(d.strict && d.script_security);
    assert_eq!(d.default_version, 3);
    assert_eq!(d.garp_interval, Duration::from_millis(1));
    assert_eq!((d.script_uid_gid, d.umask), ((7, 8), 0o22));
}
