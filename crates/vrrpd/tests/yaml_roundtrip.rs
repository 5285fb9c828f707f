//! keepalived.conf → YAML → model equals the model loaded directly, for every configuration in
//! `tests/data/` (not `broken/`), and for keepalived's shipped samples (Debian's keepalived
//! package; the test fails and says so when they are missing).

use std::path::{Path, PathBuf};

use vrrpd::config::model::Origin;
use vrrpd::config::{load, Config, LoadOptions};
use vrrpd::yaml::{from_yaml_str, to_yaml};

fn data_configs() -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data");
    let mut files = Vec::new();
    let mut stack = vec![dir.clone()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).expect("data dir").flatten() {
            let p = entry.path();
            if p.is_dir() {
                if p.file_name()
                    .is_some_and(|n| n != "broken" && n != "conf.d")
                {
                    stack.push(p);
                }
            } else if p.extension().is_some_and(|e| e == "conf") {
                files.push(p);
            }
        }
    }
    files.sort();
    files
}

/// Source positions are not part of the YAML form.
fn without_origins(mut c: Config) -> Config {
    for s in &mut c.vrrp_scripts {
        s.origin = Origin::default();
    }
    for i in &mut c.vrrp_instances {
        i.origin = Origin::default();
    }
    for g in &mut c.vrrp_sync_groups {
        g.origin = Origin::default();
    }
    c
}

fn round_trip(path: &Path) {
    // Configurations with errors (the lexer corpus has a deliberate one) still give a model.
    let config = match load(path, &LoadOptions::default()) {
        Ok(loaded) => loaded.config,
        Err(errors) => *errors.partial,
    };
    let direct = without_origins(config);
    let text = to_yaml(&direct).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let back = from_yaml_str("converted", &text)
        .unwrap_or_else(|e| panic!("{}: {e}\n{text}", path.display()));
    assert_eq!(back, direct, "{}: YAML was\n{text}", path.display());
}

#[test]
fn data_configs_round_trip_through_yaml() {
    let files = data_configs();
    assert!(
        files.len() >= 2,
        "expected test configurations, got {files:?}"
    );
    for path in &files {
        round_trip(path);
    }
}

#[test]
fn keepalived_samples_round_trip_through_yaml() {
    let dir = Path::new("/usr/share/doc/keepalived/samples");
    let entries = std::fs::read_dir(dir).unwrap_or_else(|e| {
        panic!(
            "{} cannot be read ({e}): keepalived's samples come with Debian's keepalived \
             package: `apt-get install -y keepalived` (or `cargo xtask setup`; a dpkg \
             path-exclude of /usr/share/doc, as in minimal images, drops them)",
            dir.display()
        )
    });
    let mut files: Vec<PathBuf> = entries
        .flatten()
        .map(|e| e.path())
        .filter(|p| {
            p.file_name()
                .is_some_and(|n| n.to_string_lossy().starts_with("keepalived.conf"))
        })
        .collect();
    files.sort();
    assert!(
        files.len() >= 10,
        "expected keepalived's samples in {}, found {files:?}",
        dir.display()
    );
    for path in &files {
        round_trip(path);
    }
}

#[test]
fn every_model_field_survives_yaml() {
    // A hand-written configuration touching the less common shapes: enums with data, nested
    // options, tuples, `Option<Option<_>>`.
    let text = r#"
global_defs {
    router_id lb1
    script_user nobody nogroup
    enable_script_security
    vrrp_garp_interval 0.001
    vrrp_gna_interval 0.002
    notify_fifo /run/k.fifo root root
    dynamic_interfaces allow_if_changes
}
vrrp_script chk {
    script "/bin/true"
    weight -10 reverse
    user nobody
}
track_file tf {
    file "/run/tf"
    weight 3 reverse
    init_file 5 overwrite
}
vrrp_track_process tp {
    process sshd -D
    weight 4
    quorum 2
    delay 1.5
}
garp_group {
    garp_interval 0.01
    interfaces {
        eth1
    }
}
vrrp_instance A {
    interface eth1
    virtual_router_id 7
    priority 120
    advert_int 0.5
    version 3
    nopreempt
    timer_expired_backup
    preempt_delay 2.5
    use_vmac vrrp7 netlink_notify_msg
    virtual_ipaddress {
        192.0.2.10/24 brd + dev eth1 scope global label eth1:vip
        192.0.2.11 brd 192.0.2.255 preferred_lft forever -nodad no_track
    }
    virtual_ipaddress_excluded { 2001:db8::5/64 preferred_lft 30 }
    unicast_peer { 198.51.100.2 min_ttl 2 max_ttl 64 }
    unicast_src_ip 198.51.100.1
    track_script { chk }
    track_file { tf weight 2 }
    track_process { tp }
    track_interface { eth2 weight -5 reverse }
    notify "/bin/notify.sh arg" nobody
    garp_extra_if all 30
}
vrrp_instance B {
    interface eth1
    virtual_router_id 8
    nopreempt
    timer_expired_backup 50
    virtual_ipaddress { 192.0.2.20 }
}
vrrp_sync_group G {
    group {
        A
        B
    }
    notify_master /bin/m.sh
    sync_group_tracking_weight
}
"#;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("all.conf");
    std::fs::write(&path, text).unwrap();
    let loaded = load(&path, &LoadOptions::default()).unwrap_or_else(|e| panic!("{e:#?}"));
    let inst = &loaded.config.vrrp_instances[0];
    assert_eq!(inst.timer_expired_backup, Some(None));
    assert_eq!(loaded.config.track_files[0].init_file, Some((5, true)));
    assert_eq!(loaded.config.track_processes[0].quorum, Some(2));
    assert_eq!(loaded.config.garp_groups[0].interfaces, ["eth1"]);
    assert!(loaded.config.vrrp_sync_groups[0].sync_group_tracking_weight);
    round_trip(&path);
}
