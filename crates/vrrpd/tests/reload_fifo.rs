//! `fifo_write_vrrp_states_on_reload` end to end in a namespace: after a SIGHUP the FIFO gets
//! the kept sync groups' states, then the kept instances that are not MASTER, as keepalived
//! 2.2.7 and 2.4.3 write them (checked against both with the same configuration).

mod support;

use std::path::Path;
use std::time::Duration;

use support::Daemon;
use vrrp_netns::{wait_until, Signal};

/// VI_1 alone and VI_2 in G1 become MASTER; VI_3 is held in FAULT by its track_file.
fn conf(dir: &Path, on_reload: bool) -> String {
    let d = dir.display();
    let flag = if on_reload {
        "    fifo_write_vrrp_states_on_reload\n"
    } else {
        ""
    };
    format!(
        "global_defs {{
    vrrp_version 3
    vrrp_garp_master_delay 0
    vrrp_notify_fifo {d}/vrrp.fifo
    vrrp_notify_fifo_script {d}/reader.sh
{flag}}}
track_file down {{
    file {d}/down
    weight 0
}}
vrrp_sync_group G1 {{
    group {{
        VI_2
    }}
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
vrrp_instance VI_2 {{
    state BACKUP
    interface eth0
    virtual_router_id 52
    priority 90
    advert_int 0.2
    virtual_ipaddress {{
        192.0.2.102/24
    }}
}}
vrrp_instance VI_3 {{
    state BACKUP
    interface eth0
    virtual_router_id 53
    priority 80
    advert_int 0.2
    track_file {{
        down
    }}
    virtual_ipaddress {{
        192.0.2.103/24
    }}
}}
"
    )
}

/// Starts the daemon with the FIFO reader (appends every FIFO line to `DIR/fifo.log`), waits
/// for the start-up lines, reloads with the same file and returns the lines after the reload
/// once `last` was read (`None`: returns at once, nothing more is expected).
fn run(on_reload: bool, last: Option<&str>) -> Vec<String> {
    let lab = support::lab(false);
    let tmp = support::tempdir();
    let dir = tmp.path();
    let log = dir.join("fifo.log");
    std::fs::write(dir.join("down"), "1\n").unwrap();
    let reader = dir.join("reader.sh");
    std::fs::write(
        &reader,
        format!(
            "#!/bin/sh\nwhile IFS= read -r line; do printf '%s\\n' \"$line\" >> {}; done < \"$1\"\n",
            log.display()
        ),
    )
    .unwrap();
    std::fs::set_permissions(&reader, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    let lines = || -> Vec<String> {
        std::fs::read_to_string(&log)
            .unwrap_or_default()
            .lines()
            .map(str::to_string)
            .collect()
    };
    let conf = conf(dir, on_reload);
    let mut d = Daemon::start(lab.host("r1"), dir, &conf);
    let started = ["GROUP \"G1\" MASTER 0", "INSTANCE \"VI_1\" MASTER 100"];
    assert!(
        wait_until(Duration::from_secs(5), || {
            let l = lines();
            started.iter().all(|s| l.iter().any(|x| x == s))
        }),
        "start-up FIFO lines: {:?}",
        lines()
    );
    let before = lines().len();
    d.reload(&conf, Duration::from_secs(5));
    let after = |l: Vec<String>| l[before..].to_vec();
    if let Some(last) = last {
        assert!(
            wait_until(Duration::from_secs(5), || after(lines())
                .iter()
                .any(|l| l == last)),
            "no {last:?} after the reload: {:?}",
            lines()
        );
    }
    let got = after(lines());
    d.signal(Signal::SIGTERM);
    assert!(d.wait_exit(Duration::from_secs(5)).success());
    got
}

#[test]
fn fifo_write_vrrp_states_on_reload_writes_kept_states_as_keepalived() {
    // The reader has read VI_3's line, so every earlier line too (a FIFO keeps order).
    let got = run(true, Some("INSTANCE \"VI_3\" FAULT 80"));
    assert_eq!(
        got,
        ["GROUP \"G1\" MASTER 0", "INSTANCE \"VI_3\" FAULT 80"],
        "groups first, then the instances that are not MASTER"
    );
}

#[test]
fn without_fifo_write_vrrp_states_on_reload_a_reload_writes_nothing() {
    assert_eq!(run(false, None), Vec::<String>::new());
}
