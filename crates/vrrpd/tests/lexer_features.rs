//! Lexer and preprocessor features, end to end through `load`.

use std::path::Path;

use vrrpd::config::model::InitialState;
use vrrpd::config::{load, LoadOptions};

fn load_as(config_id: &str) -> Result<vrrpd::config::Loaded, vrrpd::config::ConfigErrors> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/lexer/main.conf");
    load(
        &path,
        &LoadOptions {
            config_id: config_id.into(),
            ..LoadOptions::default()
        },
    )
}

#[test]
fn features_as_node1() {
    // VI_3 (from sub/b.inc via a nested brace-expanded include) has no VRID: a located error.
    let errors = load_as("node1").expect_err("VI_3 lacks a VRID");
    let messages: Vec<String> = errors.errors().map(ToString::to_string).collect();
    assert_eq!(messages.len(), 1, "{messages:#?}");
    assert!(
        messages[0].contains("conf.d/sub/b.inc:1:1: (VI_3) virtual_router_id is not set"),
        "{messages:#?}"
    );
    let config = errors.partial;

    assert_eq!(config.global_defs.router_id.as_deref(), Some("node #1"));
    assert_eq!(config.global_defs.garp.master_refresh_secs, Some(30));

    let names: Vec<&str> = config
        .vrrp_instances
        .iter()
        .map(|i| i.name.as_str())
        .collect();
    assert_eq!(
        names,
        ["VI_2", "VI_3", "VI_1"],
        "included files are read where the include is"
    );
    let vi1 = &config.vrrp_instances[2];
    assert_eq!(vi1.state, Some(InitialState::Master), "@node1 line kept");
    assert!(
        vi1.nopreempt || vi1.state == Some(InitialState::Master),
        "nopreempt cleared for MASTER"
    );
    assert_eq!(vi1.interface.as_deref(), Some("eth0"));
    assert_eq!(vi1.priority, Some(150));
    let vips: Vec<String> = vi1
        .virtual_ipaddress
        .iter()
        .map(|v| v.address.to_string())
        .collect();
    assert_eq!(
        vips,
        [
            "192.0.2.100",
            "192.0.2.101",
            "198.51.100.1",
            "198.51.100.2",
            "198.51.100.3",
            "203.0.113.7",
            "203.0.113.9"
        ]
    );
    assert_eq!(
        vi1.virtual_ipaddress[0].label.as_deref(),
        Some("v0"),
        "multi-line definition keeps options"
    );
    assert_eq!(vi1.virtual_ipaddress[2].dev.as_deref(), Some("eth0"));
    assert_eq!(
        vi1.authentication
            .as_ref()
            .and_then(|a| a.auth_pass.as_deref()),
        Some("se#cret")
    );
    assert_eq!(
        vi1.notify.master.as_ref().map(|s| s.command.as_str()),
        Some("/bin/echo $UNDEFINED ${ALSO_UNDEFINED}"),
        "undefined variables stay literal"
    );
    assert_eq!(vi1.garp.master_refresh_secs, Some(30));

    let script = &config.vrrp_scripts[0];
    assert_eq!(script.script.as_deref(), Some("/bin/true # not a comment"));
    assert_eq!(script.weight, -2);

    let vi2 = &config.vrrp_instances[0];
    assert_eq!(
        vi2.track_script[0].weight,
        Some(-2),
        "weight inherited from the script"
    );
    assert_eq!(vi2.version, Some(3), "IPv6 instances use VRRPv3");
    assert_eq!(config.vrrp_instances.len(), 3);
}

#[test]
fn negated_id_lines() {
    let errors = load_as("node2").expect_err("VI_3 lacks a VRID");
    let vi1 = &errors.partial.vrrp_instances[2];
    assert_eq!(vi1.state, Some(InitialState::Backup), "@^node1 line kept");
    assert!(!vi1.nopreempt, "@node1 line dropped");
}

#[test]
fn include_loop_is_stopped() {
    let dir = std::env::temp_dir().join(format!("vrrpd-include-loop-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    std::fs::write(dir.join("loop.conf"), "include loop.conf\n").expect("write");
    let errors = load(&dir.join("loop.conf"), &LoadOptions::default()).expect_err("loop detected");
    assert!(errors
        .errors()
        .any(|d| d.message.contains("nested more than")));
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn garbage_does_not_panic() {
    let inputs = [
        "}}}{{{",
        "\"unterminated",
        "vrrp_instance",
        "vrrp_instance X { virtual_ipaddress { / } unicast_peer { x min_ttl } }",
        "$A=$A$A\n$A",
        "~SEQ(i,1,0,5) x\n~SEQ(i,1,1,99999999999) x\n~LST(",
        "@",
        "global_defs { vrrp_garp_interval 99999999999999999999.1 }",
        "vrrp_instance X { authentication { auth_pass ééééééééé } track_script { s weight } }",
    ];
    for input in inputs {
        let _ =
            vrrpd::config::load_str("fuzz.conf", Path::new("."), input, &LoadOptions::default());
    }
}
