//! The OpenShift on-prem master template (field evidence §1c), rendered with concrete values.

use std::net::IpAddr;
use std::path::Path;

use vrrpd::config::model::{AuthType, Family, InitialState, VrrpInstance};
use vrrpd::config::{load, LoadOptions, Severity};

fn loaded() -> vrrpd::config::Loaded {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/openshift-master.conf");
    load(&path, &LoadOptions::default()).expect("OpenShift template loads")
}

fn instance<'a>(instances: &'a [VrrpInstance], name: &str) -> &'a VrrpInstance {
    instances
        .iter()
        .find(|i| i.name == name)
        .expect("instance exists")
}

#[test]
fn loads_with_only_password_truncation_warnings() {
    // keepalived 2.2.7 `-t` on this file: "Truncating auth_pass to 8 characters" twice, exit 5.
    let loaded = loaded();
    assert!(loaded
        .warnings
        .iter()
        .all(|d| d.severity != Severity::Error));
    // No notes: every keyword of the file is acted on (max_auto_priority -1 included); notes
    // would not count towards the class.
    let (notes, warnings): (Vec<_>, Vec<_>) = loaded
        .warnings
        .iter()
        .partition(|d| d.impact == vrrpd::config::Impact::None);
    let notes: Vec<String> = notes.iter().map(|d| d.to_string()).collect();
    assert!(notes.is_empty(), "{notes:#?}");
    let messages: Vec<String> = warnings.iter().map(|d| d.to_string()).collect();
    assert_eq!(messages.len(), 2, "{messages:#?}");
    assert!(
        messages[0].ends_with(
            "openshift-master.conf:70:19: auth_pass is 11 bytes long, only the first 8 are used"
        ),
        "{messages:#?}"
    );
    assert_eq!(loaded.exit_class().code(), 5);
}

#[test]
fn globals() {
    let g = loaded().config.global_defs;
    assert!(g.enable_script_security);
    assert_eq!(
        g.script_user.as_ref().map(|u| u.user.as_str()),
        Some("root")
    );
    assert_eq!(g.max_auto_priority, Some(-1));
    assert_eq!(g.garp.master_refresh_secs, Some(60));
}

#[test]
fn api_instance() {
    let config = loaded().config;
    let api = instance(&config.vrrp_instances, "ocp_API_0");
    assert_eq!(api.state, Some(InitialState::Backup));
    assert_eq!(api.interface.as_deref(), Some("eth0"));
    assert_eq!(api.virtual_router_id, Some(51));
    assert_eq!(api.priority, Some(40));
    assert_eq!(api.version, Some(2));
    assert_eq!(api.family, Some(Family::Ipv4));
    assert_eq!(api.advert_int_cs, Some(100));
    assert_eq!(
        api.unicast_src_ip,
        Some("192.0.2.11".parse::<IpAddr>().unwrap())
    );
    let peers: Vec<String> = api
        .unicast_peers
        .iter()
        .map(|p| p.address.to_string())
        .collect();
    assert_eq!(peers, ["192.0.2.12", "192.0.2.13"]);
    let auth = api.authentication.as_ref().expect("authentication");
    assert_eq!(auth.auth_type, AuthType::Pass);
    assert_eq!(
        auth.auth_pass.as_deref(),
        Some("ocp_api_"),
        "PASS is truncated to 8 bytes"
    );
    assert_eq!(api.virtual_ipaddress.len(), 1);
    let vip = &api.virtual_ipaddress[0];
    assert_eq!(vip.address.to_string(), "192.0.2.5");
    assert_eq!(vip.prefix_len, 24);
    assert_eq!(vip.label.as_deref(), Some("vip"));
    let weights: Vec<(&str, Option<i32>)> = api
        .track_script
        .iter()
        .map(|t| (t.name.as_str(), t.weight))
        .collect();
    assert_eq!(
        weights,
        [
            ("chk_ocp_lb", Some(20)),
            ("chk_ocp_both", Some(5)),
            ("chk_mcs", Some(3))
        ]
    );
    assert_eq!(
        api.garp.master_refresh_secs,
        Some(60),
        "global garp refresh copied into the instance"
    );
    assert_eq!(api.garp.master_repeat, 5);
    assert_eq!(api.accept, Some(true));
    assert!(!api.nopreempt);
}

#[test]
fn ingress_instance_and_scripts() {
    let config = loaded().config;
    let ingress = instance(&config.vrrp_instances, "ocp_INGRESS_0");
    assert_eq!(ingress.virtual_router_id, Some(52));
    assert_eq!(ingress.priority, Some(20));
    let weights: Vec<Option<i32>> = ingress.track_script.iter().map(|t| t.weight).collect();
    assert_eq!(
        weights,
        [Some(0), Some(10), Some(50)],
        "chk_ingress has no weight: a fault tracker"
    );
    let lb = config
        .vrrp_scripts
        .iter()
        .find(|s| s.name == "chk_ocp_lb")
        .expect("script");
    assert_eq!(lb.interval_ms, 2000);
    assert_eq!((lb.rise, lb.fall, lb.weight), (3, 3, 20));
    assert_eq!(
        lb.script.as_deref(),
        Some("/usr/bin/timeout 1.9 /etc/keepalived/chk_ocp_script.sh")
    );
    assert_eq!(config.vrrp_scripts.len(), 6, "all scripts are used");
}

#[test]
fn model_round_trips_through_serde() {
    let config = loaded().config;
    let json = serde_json::to_string(&config).expect("serialize");
    let back: vrrpd::config::Config = serde_json::from_str(&json).expect("deserialize");
    assert_eq!(back.vrrp_instances.len(), 2);
    assert_eq!(back.vrrp_instances[0].priority, Some(40));
    assert_eq!(back.global_defs, config.global_defs);
}
