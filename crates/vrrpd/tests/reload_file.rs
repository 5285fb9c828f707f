//! `reload_file PATH` end to end: the file an updater touches before SIGHUP is removed once
//! the daemon has read the configuration, at start and at each reload, as keepalived 2.2.7 and
//! 2.4.3 do (traced: they remove it, never create it).

mod support;

use std::time::Duration;

use support::Daemon;
use vrrp_netns::{wait_until, Signal};

#[test]
fn reload_file_is_removed_once_the_configuration_is_read() {
    let lab = support::lab(false);
    let tmp = support::tempdir();
    let dir = tmp.path();
    let reload_file = dir.join("keepalived.reload");
    let conf = format!(
        "global_defs {{
    vrrp_version 3
    reload_file {}
}}
vrrp_instance VI_1 {{
    state BACKUP
    interface eth0
    virtual_router_id 51
    priority 100
    advert_int 0.2
    virtual_ipaddress {{
        192.0.2.100/24
    }}
}}
",
        reload_file.display()
    );
    // Left by an updater before the start: removed once the file is read.
    std::fs::write(&reload_file, "updating\n").unwrap();
    let mut d = Daemon::start(lab.host("r1"), dir, &conf);
    d.expect(&["reload file removed"], Duration::from_secs(5));
    assert!(!reload_file.exists(), "removed at start");
    d.expect(&["(VI_1) Entering MASTER STATE"], Duration::from_secs(5));
    // The updater's handshake: touch, SIGHUP, wait for the removal.
    std::fs::write(&reload_file, "updating\n").unwrap();
    assert!(
        !wait_until(Duration::from_millis(500), || !reload_file.exists()),
        "removed without a reload"
    );
    let lines = d.reload(&conf, Duration::from_secs(5));
    assert!(!reload_file.exists(), "removed by the reload");
    let removed = lines.iter().position(|l| l.contains("reload file removed"));
    let finished = lines.iter().position(|l| l.contains("Reload finished"));
    assert!(
        matches!((removed, finished), (Some(r), Some(f)) if r < f),
        "removed once the files are read, before the reload is applied: {lines:?}"
    );
    d.signal(Signal::SIGTERM);
    assert!(d.wait_exit(Duration::from_secs(5)).success());
}
