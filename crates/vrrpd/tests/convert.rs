//! The keepalived model mapped to vrrp-core router configurations (`vrrpd::convert`).

use std::net::IpAddr;
use std::path::Path;

use vrrp_core::{
    AnnounceConfig, Auth, ChecksumForm, Duration, Family, Tracker, UnicastPeer, VersionMode,
};
use vrrpd::config::model::{Broadcast, InitialState, PreferredLifetime};
use vrrpd::config::{load, load_str, Config, LoadOptions};
use vrrpd::convert::{
    router_configs, sync_group_plans, HostFacts, InterfaceFacts, MapError, TrackSource,
};

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

fn config(text: &str) -> Config {
    match load_str(
        "test.conf",
        Path::new("/nonexistent"),
        text,
        &LoadOptions::default(),
    ) {
        Ok(loaded) => loaded.config,
        Err(e) => panic!("{e:#?}"),
    }
}

fn host() -> HostFacts {
    HostFacts::new()
        .with(
            "eth0",
            InterfaceFacts {
                primary_ipv4: Some("192.0.2.100".parse().unwrap()),
                ipv6_link_local: Some("fe80::100".parse().unwrap()),
            },
        )
        .with(
            "eth1",
            InterfaceFacts {
                primary_ipv4: Some("198.51.100.100".parse().unwrap()),
                ipv6_link_local: None,
            },
        )
}

fn scripts(plan: &vrrpd::convert::InstancePlan) -> Vec<(String, i32, bool)> {
    plan.trackers
        .iter()
        .map(|t| {
            (
                t.tracker.name.to_string(),
                t.tracker.weight,
                t.tracker.reverse,
            )
        })
        .collect()
}

#[test]
fn openshift_master_maps_every_field() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/openshift-master.conf");
    let cfg = load(&path, &LoadOptions::default()).unwrap().config;
    let plans = router_configs(&cfg, &host()).unwrap();
    assert_eq!(plans.len(), 2);

    let api = &plans[0];
    let r = &api.router;
    assert_eq!(&*r.name, "ocp_API_0");
    assert_eq!(r.vrid, 51);
    assert_eq!(r.family, Family::V4);
    assert_eq!(
        r.version,
        VersionMode::V2,
        "IPv4 defaults to VRRPv2 as in keepalived"
    );
    assert_eq!(r.priority, 40);
    assert_eq!(r.advert_interval_cs, 100);
    assert!(r.preempt);
    assert_eq!(r.preempt_delay, Duration::ZERO);
    assert!(r.accept_mode);
    assert_eq!(r.vips, vec![ip("192.0.2.5")]);
    assert_eq!(
        r.primary_addr,
        ip("192.0.2.11"),
        "unicast_src_ip wins over eth0's address"
    );
    assert_eq!(
        r.unicast_peers,
        vec![
            UnicastPeer::new(ip("192.0.2.12")),
            UnicastPeer::new(ip("192.0.2.13"))
        ]
    );
    assert!(
        r.check_unicast_src,
        "vrrpd drops unicast adverts from unlisted sources unless accept_unlisted_unicast_src"
    );
    assert_eq!(r.checksum_form, ChecksumForm::PseudoHeader);
    assert_eq!(
        r.auth,
        Auth::password("ocp_api_"),
        "PASS is truncated to 8 bytes"
    );
    assert_eq!(r.auth, Auth::password("ocp_api_vip"));
    assert_eq!(r.down_timer_adverts, 3);
    assert!(!r.lower_prio_no_advert);
    assert!(
        r.higher_prio_send_advert,
        "on outside strict mode: the dual-Active winner always re-announces"
    );
    assert!(
        !r.require_link_local_first,
        "keepalived only warns outside strict mode"
    );
    assert_eq!(
        r.announce,
        AnnounceConfig {
            burst_count: 5,
            second_burst_delay: Some(Duration::from_secs(5)),
            refresh_interval: Some(Duration::from_secs(60)),
            refresh_count: 1,
            lower_prio_count: 5,
            ..AnnounceConfig::default()
        }
    );
    assert_eq!(api.interface.as_deref(), Some("eth0"));
    assert_eq!(api.initial_state, InitialState::Backup);
    assert_eq!(api.vips.len(), 1);
    assert_eq!(api.vips[0].prefix_len, 24);
    assert_eq!(api.vips[0].label.as_deref(), Some("vip"));
    assert_eq!(api.vips[0].dev.as_deref(), Some("eth0"));
    assert_eq!(api.transport.mcast_group, ip("224.0.0.18"));
    assert_eq!(api.garp_interval, std::time::Duration::ZERO);
    assert_eq!(api.sync_group, None);
    assert_eq!(
        scripts(api),
        [
            ("chk_ocp_lb".to_string(), 20, false),
            ("chk_ocp_both".to_string(), 5, false),
            ("chk_mcs".to_string(), 3, false)
        ]
    );
    assert!(api
        .trackers
        .iter()
        .all(|t| matches!(&t.source, TrackSource::Script(n) if *n == *t.tracker.name)));

    let ingress = &plans[1];
    assert_eq!(ingress.router.vrid, 52);
    assert_eq!(ingress.router.priority, 20);
    assert_eq!(ingress.router.auth, Auth::password("ocp_ingr"));
    assert_eq!(
        scripts(ingress),
        [
            // chk_ingress has no weight: a fault tracker (weight 0).
            ("chk_ingress".to_string(), 0, false),
            ("chk_ingress_ready".to_string(), 10, false),
            ("chk_default_ingress".to_string(), 50, false)
        ]
    );
}

#[test]
fn multicast_ipv4_instance_with_every_option() {
    let cfg = config(
        r#"
global_defs {
    vrrp_garp_interval 0.001
    vrrp_gna_interval 0.002
    vrrp_garp_master_delay 3
    vrrp_garp_master_repeat 2
    vrrp_garp_master_refresh 30
    vrrp_garp_master_refresh_repeat 4
    vrrp_garp_lower_prio_repeat 7
    vrrp_garp_lower_prio_delay 9
}
track_file tf {
    file "/run/tf"
    weight 3 reverse
}
vrrp_track_process tp {
    process sshd
    weight -4
}
vrrp_script chk {
    script "/bin/true"
    weight -10 reverse
}
vrrp_instance V4 {
    state BACKUP
    interface eth1
    virtual_router_id 9
    priority 150
    advert_int 3
    nopreempt
    preempt_delay 2.5
    no_accept
    mcast_src_ip 198.51.100.7
    v3_checksum_as_v2
    check_unicast_src
    down_timer_adverts 5
    lower_prio_no_advert
    higher_prio_send_advert
    use_vmac vrrp9
    vmac_xmit_base
    garp_extra_if all 30
    dont_track_primary
    authentication {
        auth_type PASS
        auth_pass secret
    }
    virtual_ipaddress {
        198.51.100.10/24 brd + dev eth0 scope global label eth0:v
        198.51.100.11 preferred_lft forever -nodad no_track
    }
    virtual_ipaddress_excluded {
        2001:db8::5/128
    }
    virtual_routes {
        192.0.2.0/24 via 198.51.100.1
    }
    track_interface {
        eth0 weight -5 reverse
    }
    track_script {
        chk
    }
    track_file {
        tf
    }
    track_process {
        tp weight 6
    }
    notify_master "/bin/m.sh a b"
    notify "/bin/n.sh"
    notify_priority_changes
}
"#,
    );
    let plans = router_configs(&cfg, &host()).unwrap();
    let p = &plans[0];
    let r = &p.router;
    assert_eq!(r.version, VersionMode::V2);
    assert_eq!(r.advert_interval_cs, 300);
    assert!(!r.preempt);
    assert_eq!(r.preempt_delay, Duration::from_millis(2500));
    assert!(!r.accept_mode);
    assert_eq!(
        r.primary_addr,
        ip("198.51.100.7"),
        "mcast_src_ip overrides eth1's address"
    );
    assert!(r.unicast_peers.is_empty());
    assert!(r.check_unicast_src);
    assert_eq!(r.checksum_form, ChecksumForm::Rfc9568);
    assert_eq!(r.auth, Auth::password("secret"));
    assert_eq!(r.down_timer_adverts, 5);
    assert!(r.lower_prio_no_advert && r.higher_prio_send_advert);
    assert_eq!(
        r.announce,
        AnnounceConfig {
            burst_count: 2,
            second_burst_delay: Some(Duration::from_secs(3)),
            refresh_interval: Some(Duration::from_secs(30)),
            refresh_count: 4,
            lower_prio_count: 7,
            lower_prio_delay: Some(Duration::from_secs(9)),
            extra_interval: Some(Duration::from_secs(30)),
            ..AnnounceConfig::default()
        }
    );
    assert_eq!(p.garp_lower_prio_delay, std::time::Duration::from_secs(9));
    assert_eq!(p.garp_interval, std::time::Duration::from_micros(1000));
    assert_eq!(p.gna_interval, std::time::Duration::from_micros(2000));
    assert_eq!(
        p.garp_extra_if.map(|g| (g.all, g.interval_secs)),
        Some((true, 30))
    );
    assert_eq!(
        p.use_vmac.as_ref().and_then(|v| v.name.as_deref()),
        Some("vrrp9")
    );
    assert!(p.vmac_xmit_base && p.dont_track_primary);
    assert_eq!(p.virtual_routes, ["192.0.2.0/24 via 198.51.100.1"]);

    let v0 = &p.vips[0];
    assert_eq!(v0.address, ip("198.51.100.10"));
    assert_eq!(v0.prefix_len, 24);
    assert_eq!(v0.broadcast, Some(Broadcast::Plus));
    assert_eq!(v0.dev.as_deref(), Some("eth0"));
    assert_eq!(v0.scope.as_deref(), Some("global"));
    assert_eq!(v0.label.as_deref(), Some("eth0:v"));
    let v1 = &p.vips[1];
    assert_eq!(
        v1.dev.as_deref(),
        Some("eth1"),
        "no dev: the instance's interface"
    );
    assert_eq!(v1.preferred_lft, Some(PreferredLifetime::Forever));
    assert!(v1.nodad && v1.no_track);
    assert_eq!(
        p.excluded_vips[0].preferred_lft,
        Some(PreferredLifetime::Seconds(0))
    );

    let trackers: Vec<(Tracker, TrackSource)> = p
        .trackers
        .iter()
        .map(|t| (t.tracker.clone(), t.source.clone()))
        .collect();
    assert_eq!(
        trackers,
        [
            (
                Tracker::binary("chk", -10, true),
                TrackSource::Script("chk".into())
            ),
            (
                Tracker::binary("eth0", -5, true),
                TrackSource::Interface("eth0".into())
            ),
            (
                Tracker::value("tf", 3, true),
                TrackSource::File {
                    name: "tf".into(),
                    path: Some("/run/tf".into())
                }
            ),
            (
                Tracker::binary("tp", 6, false),
                TrackSource::Process("tp".into())
            ),
        ]
    );
    assert_eq!(
        p.notify
            .scripts()
            .master
            .as_ref()
            .map(|s| s.command.as_str()),
        Some("/bin/m.sh a b")
    );
    assert_eq!(
        p.notify
            .scripts()
            .notify
            .as_ref()
            .map(|s| s.command.as_str()),
        Some("/bin/n.sh")
    );
    assert!(p.notify.priority_changes);
}

#[test]
fn ipv6_instance_uses_the_link_local_and_v3() {
    let cfg = config(
        r#"
vrrp_instance V6 {
    interface eth0
    virtual_router_id 10
    priority 255
    advert_int 0.5
    virtual_ipaddress {
        fe80::1/64
        2001:db8::1/128
    }
}
"#,
    );
    let plans = router_configs(&cfg, &host()).unwrap();
    let p = &plans[0];
    assert_eq!(p.router.family, Family::V6);
    assert_eq!(p.router.version, VersionMode::V3);
    assert_eq!(p.router.priority, 255);
    assert_eq!(
        p.initial_state,
        InitialState::Master,
        "owner starts as master"
    );
    assert!(p.router.accept_mode, "owner accepts");
    assert_eq!(p.router.advert_interval_cs, 50);
    assert_eq!(p.router.primary_addr, ip("fe80::100"));
    assert_eq!(p.transport.mcast_group, ip("ff02::12"));
    assert_eq!(p.vips[1].preferred_lft, Some(PreferredLifetime::Seconds(0)));
    assert_eq!(p.vips[0].preferred_lft, None);
}

const SYNC: &str = r#"
vrrp_script weighted {
    script "/bin/true"
    weight 20
}
vrrp_script plain {
    script "/bin/true"
}
vrrp_instance A {
    interface eth0
    virtual_router_id 1
    priority 100
    virtual_ipaddress {
        192.0.2.1
    }
    track_script {
        weighted
        plain
    }
    track_interface {
        eth1 weight 10
    }
}
vrrp_instance B {
    interface eth0
    virtual_router_id 2
    priority 100
    virtual_ipaddress {
        192.0.2.2
    }
}
vrrp_sync_group G {
    group {
        A
        B
    }
    track_script {
        weighted
        plain
    }
    track_interface {
        eth1 weight 10
    }
    notify_master "/bin/g.sh"
    TRACKING_WEIGHT
}
"#;

#[test]
fn sync_group_members_lose_weighted_trackers() {
    let cfg = config(&SYNC.replace("TRACKING_WEIGHT", ""));
    let plans = router_configs(&cfg, &host()).unwrap();
    assert_eq!(plans[0].sync_group.as_deref(), Some("G"));
    // A: own weighted script dropped, own interface made a fault tracker (by the resolver);
    // the group's duplicates are not added twice.
    assert_eq!(
        scripts(&plans[0]),
        [
            ("plain".to_string(), 0, false),
            ("eth1".to_string(), 0, false)
        ]
    );
    assert!(plans[0].trackers.iter().all(|t| !t.from_sync_group));
    // B: only the group's trackers, with the same rules.
    assert_eq!(
        scripts(&plans[1]),
        [
            ("plain".to_string(), 0, false),
            ("eth1".to_string(), 0, false)
        ]
    );
    assert!(plans[1].trackers.iter().all(|t| t.from_sync_group));

    let groups = sync_group_plans(&cfg);
    assert_eq!(groups.len(), 1);
    assert_eq!(groups[0].members, [0, 1]);
    assert_eq!(
        groups[0]
            .notify
            .scripts()
            .master
            .as_ref()
            .map(|s| s.command.as_str()),
        Some("/bin/g.sh")
    );
}

#[test]
fn sync_group_tracking_weight_keeps_weights() {
    let cfg = config(&SYNC.replace("TRACKING_WEIGHT", "sync_group_tracking_weight"));
    let plans = router_configs(&cfg, &host()).unwrap();
    let expected = [
        ("weighted".to_string(), 20, false),
        ("plain".to_string(), 0, false),
        ("eth1".to_string(), 10, false),
    ];
    assert_eq!(scripts(&plans[0]), expected);
    assert_eq!(scripts(&plans[1]), expected);
}

#[test]
fn mapping_errors() {
    let base = |body: &str| {
        config(&format!(
            "vrrp_instance X {{\n interface IF\n virtual_router_id 3\n{body}\n}}\n"
        ))
    };
    // eth1 has no IPv6 link-local.
    let cfg = base("virtual_ipaddress {\n fe80::1\n }").clone();
    let cfg = Config {
        vrrp_instances: cfg
            .vrrp_instances
            .into_iter()
            .map(|mut i| {
                i.interface = Some("eth1".into());
                i
            })
            .collect(),
        ..cfg
    };
    assert!(matches!(
        router_configs(&cfg, &host()),
        Err(MapError::NoAddress { ref interface, family: "IPv6 link-local", .. }) if interface == "eth1"
    ));
    // An unknown interface has no address either.
    let cfg = base("virtual_ipaddress {\n 192.0.2.1\n }");
    assert!(matches!(
        router_configs(&cfg, &host()),
        Err(MapError::NoAddress { .. })
    ));
    // AH is not supported.
    let cfg = config(
        "vrrp_instance X {\n interface eth0\n virtual_router_id 3\n authentication {\n auth_type AH\n auth_pass x\n }\n virtual_ipaddress {\n 192.0.2.1\n }\n}\n",
    );
    assert!(matches!(
        router_configs(&cfg, &host()),
        Err(MapError::Unsupported {
            feature: "auth_type AH",
            ..
        })
    ));
    // VRRPv2 without addresses is valid keepalived but vrrp-core needs at least one.
    let cfg = config(
        "vrrp_instance X {\n interface eth0\n virtual_router_id 3\n no_virtual_ipaddress\n}\n",
    );
    let err = router_configs(&cfg, &host()).unwrap_err();
    assert!(matches!(err, MapError::Invalid { .. }), "{err}");
    assert!(err.to_string().starts_with("(X) "), "{err}");
    // A model that did not come from a successful load.
    let mut cfg = config(
        "vrrp_instance X {\n interface eth0\n virtual_router_id 3\n virtual_ipaddress {\n 192.0.2.1\n }\n}\n",
    );
    cfg.vrrp_instances[0].priority = None;
    assert!(matches!(
        router_configs(&cfg, &host()),
        Err(MapError::Unresolved {
            field: "priority",
            ..
        })
    ));
}

#[test]
fn garp_group_sets_the_interface_pacing() {
    let cfg = config(
        r#"
global_defs {
    vrrp_garp_interval 0.5
}
garp_group {
    garp_interval 0.01
    gna_interval 0.02
    interface eth0
}
vrrp_instance A {
    interface eth0
    virtual_router_id 1
    virtual_ipaddress {
        192.0.2.1
    }
}
vrrp_instance B {
    interface eth1
    virtual_router_id 1
    virtual_ipaddress {
        198.51.100.1
    }
}
"#,
    );
    let plans = router_configs(&cfg, &host()).unwrap();
    assert_eq!(plans[0].garp_interval, std::time::Duration::from_millis(10));
    assert_eq!(plans[0].gna_interval, std::time::Duration::from_millis(20));
    assert_eq!(
        plans[1].garp_interval,
        std::time::Duration::from_millis(500)
    );
    assert_eq!(plans[1].router.primary_addr, ip("198.51.100.100"));
}

/// `global_defs` defaults that every instance defined after them takes, down to the router
/// configuration the engine runs.
#[test]
fn global_defs_settings_reach_every_instance() {
    let instance = "vrrp_instance A {\n    interface eth0\n    virtual_router_id 1\n    virtual_ipaddress {\n        192.0.2.1\n    }\n}\n";
    let cfg = config(&format!(
        "global_defs {{\n    vrrp_version 3\n    vrrp_check_unicast_src\n    v3_checksum_as_v2\n    \
         vrrp_lower_prio_no_advert\n    vrrp_down_timer_adverts 7\n    vrrp_min_garp\n}}\n{instance}"
    ));
    let r = &router_configs(&cfg, &host()).unwrap()[0].router;
    assert_eq!(r.version, VersionMode::V3);
    assert!(r.check_unicast_src);
    assert_eq!(r.checksum_form, ChecksumForm::Rfc9568);
    assert!(!r.checksum_follow_peer, "an explicit form is kept");
    assert!(r.lower_prio_no_advert);
    assert_eq!(r.down_timer_adverts, 7);
    assert_eq!(
        (r.announce.burst_count, r.announce.second_burst_delay),
        (1, None),
        "vrrp_min_garp: one GARP, no second burst"
    );
    assert!(r.accept_mode && !r.require_link_local_first);

    // vrrp_garp_extra_if (and its old name) reach an instance with an address elsewhere;
    // garp_extra_if without `all` does nothing where vrrpd creates no extra VMAC.
    let elsewhere = "vrrp_instance A {\n    interface eth0\n    virtual_router_id 1\n    virtual_ipaddress {\n        192.0.2.1\n        198.51.100.1 dev eth1\n    }\n}\n";
    for kw in ["vrrp_garp_extra_if", "vrrp_vmac_garp_intvl"] {
        let cfg = config(&format!("global_defs {{\n    {kw} all 7\n}}\n{elsewhere}"));
        let r = &router_configs(&cfg, &host()).unwrap()[0].router;
        assert_eq!(
            r.announce.extra_interval,
            Some(Duration::from_secs(7)),
            "{kw}"
        );
        assert_eq!(r.extra_announce, vec![ip("198.51.100.1")], "{kw}");
    }
    let cfg = config(&format!(
        "global_defs {{\n    vrrp_garp_extra_if 7\n}}\n{elsewhere}"
    ));
    let r = &router_configs(&cfg, &host()).unwrap()[0].router;
    assert_eq!(
        (r.announce.extra_interval, r.extra_announce.len()),
        (None, 0)
    );
    let cfg = config(&format!(
        "global_defs {{\n    vrrp_garp_lower_prio_delay 8\n    vrrp_garp_master_refresh 0\n}}\n{instance}"
    ));
    let r = &router_configs(&cfg, &host()).unwrap()[0].router;
    assert_eq!(r.announce.lower_prio_delay, Some(Duration::from_secs(8)));
    assert_eq!(
        r.announce.refresh_interval, None,
        "an explicit 0 turns the refresh off"
    );
    let r = &router_configs(&config(instance), &host()).unwrap()[0].router;
    assert_eq!(
        r.announce.refresh_interval,
        Some(vrrp_core::DEFAULT_REFRESH_INTERVAL)
    );

    let strict = config(&format!("global_defs {{\n    vrrp_strict\n}}\n{instance}"));
    let r = &router_configs(&strict, &host()).unwrap()[0].router;
    assert!(!r.accept_mode, "vrrp_strict: no accept mode");
    assert!(r.require_link_local_first);
    assert!(r.lower_prio_no_advert && !r.higher_prio_send_advert);
}

/// Instance keywords that only the router configuration shows (the others are in
/// `multicast_ipv4_instance_with_every_option`).
#[test]
fn instance_settings_reach_the_router() {
    let cfg = config(
        r#"
vrrp_instance STRICT {
    interface eth0
    virtual_router_id 1
    version 3
    strict_mode
    nopreempt
    preempt
    accept
    virtual_ipaddress {
        192.0.2.1
    }
}
vrrp_instance GARP {
    interface eth0
    virtual_router_id 2
    garp_master_delay 4
    garp_master_repeat 3
    garp_master_refresh 20
    garp_master_refresh_repeat 2
    garp_lower_prio_repeat 6
    virtual_ipaddress {
        192.0.2.2
    }
}
vrrp_instance PLAIN {
    interface eth0
    virtual_router_id 3
    strict_mode
    virtual_ipaddress {
        192.0.2.3
    }
}
"#,
    );
    let plans = router_configs(&cfg, &host()).unwrap();
    let strict = &plans[0].router;
    assert!(strict.preempt, "preempt undoes nopreempt");
    assert!(strict.accept_mode, "accept wins over strict mode's default");
    assert!(strict.require_link_local_first, "strict_mode");
    assert_eq!(
        plans[1].router.announce,
        AnnounceConfig {
            burst_count: 3,
            second_burst_delay: Some(Duration::from_secs(4)),
            refresh_interval: Some(Duration::from_secs(20)),
            refresh_count: 2,
            lower_prio_count: 6,
            lower_prio_delay: Some(Duration::from_secs(4)),
            ..AnnounceConfig::default()
        }
    );
    assert!(!plans[2].router.accept_mode, "strict_mode: no accept mode");
}

/// keepalived's rule: an instance's own `notify_priority_changes`, else its sync group's, else
/// the global `vrrp_notify_priority_changes`.
#[test]
fn notify_priority_changes_defaults_from_the_sync_group_then_the_global() {
    let instance = |name: &str, vrid: u8, own: &str| {
        format!(
            "vrrp_instance {name} {{\n    interface eth0\n    virtual_router_id {vrid}\n    \
             priority 100\n    virtual_ipaddress {{\n        192.0.2.{vrid}/24\n    }}\n{own}}}\n"
        )
    };
    let text = [
        "global_defs {\n    vrrp_notify_priority_changes\n}\n".to_string(),
        "vrrp_sync_group G {\n    group {\n        A\n        B\n    }\n    notify_priority_changes false\n}\n".into(),
        instance("A", 1, ""),
        instance("B", 2, "    notify_priority_changes\n"),
        instance("C", 3, ""),
        instance("D", 4, "    notify_priority_changes false\n"),
    ]
    .concat();
    let plans = router_configs(&config(&text), &host()).unwrap();
    let on: Vec<(&str, bool)> = plans
        .iter()
        .map(|p| (&*p.router.name, p.notify.priority_changes))
        .collect();
    assert_eq!(
        on,
        [("A", false), ("B", true), ("C", true), ("D", false)],
        "A: its group's; B: its own; C: the global; D: its own"
    );
}
