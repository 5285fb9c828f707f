//! The driver end to end on real interfaces: two routers elect, the VIP lives only on the
//! Active, a client's ARP / neighbour entry follows the VIP on failover (IPv4 and IPv6), and
//! Accept_Mode off is enforced with the driver's nftables table.

mod common;

use std::net::IpAddr;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use common::running::{assert_clean, config, nft_tables, run};
use vrrp_core::{Reason, State};
use vrrp_net::driver;
use vrrp_net::Error;
use vrrp_netns::{require_root, wait_until, Lab, WorkDir};

fn lab() -> Lab {
    require_root();
    Lab::builder()
        .router("r1")
        .router("r2")
        .client("c1")
        .build()
        .expect("lab")
}

fn failover(vips: &[(IpAddr, u8)], probe: IpAddr) {
    let lab = lab();
    let (r1, r2, c1) = (lab.host("r1"), lab.host("r2"), lab.host("c1"));
    std::thread::scope(|s| {
        let mut a = run(s, r1, config("r1", 200, vips));
        let mut b = run(s, r2, config("r2", 100, vips));
        a.wait_state(State::Active, Duration::from_secs(5));
        b.wait_state(State::Backup, Duration::from_secs(5));
        assert!(r1.has_address(probe).unwrap(), "VIP on the Active");
        assert!(!r2.has_address(probe).unwrap(), "VIP absent on the Backup");
        assert!(c1.ping(probe).unwrap(), "client reaches the VIP");
        assert_eq!(
            c1.neighbor(probe).unwrap(),
            Some(r1.mac),
            "client resolves the VIP to r1"
        );
        assert!(
            !nft_tables(r1).contains(&a.table),
            "Accept_Mode on: no filter table"
        );

        a.stop();
        let reason = b.wait_state(State::Active, Duration::from_secs(5));
        assert!(
            matches!(reason, Reason::ActiveLeft { .. }),
            "priority-0 handover, got {reason:?}"
        );
        assert!(
            wait_until(Duration::from_secs(5), || c1.neighbor(probe).unwrap()
                == Some(r2.mac)),
            "client's neighbour entry moves to r2 after its announcements"
        );
        assert!(r2.has_address(probe).unwrap());
        assert!(
            !r1.has_address(probe).unwrap(),
            "VIP removed from the stopped router"
        );
        assert!(c1.ping(probe).unwrap(), "client reaches the VIP on r2");
        b.stop();
    });
    assert!(!r2.has_address(probe).unwrap(), "VIP removed on shutdown");
    assert_clean(r1);
    assert_clean(r2);
}

#[test]
fn ipv4_two_routers_elect_and_fail_over_and_the_client_follows() {
    let vip: IpAddr = "192.0.2.100".parse().unwrap();
    failover(&[(vip, 24)], vip);
}

#[test]
fn ipv6_two_routers_elect_and_fail_over_and_the_client_follows() {
    let ll: IpAddr = "fe80::100".parse().unwrap();
    let vip: IpAddr = "2001:db8:1::100".parse().unwrap();
    failover(&[(ll, 64), (vip, 64)], vip);
}

#[test]
fn r18_accept_mode_off_resolves_the_vip_but_drops_traffic_to_it() {
    let lab = lab();
    let (r1, c1) = (lab.host("r1"), lab.host("c1"));
    let vip: IpAddr = "192.0.2.101".parse().unwrap();
    std::thread::scope(|s| {
        let mut cfg = config("r1", 200, &[(vip, 24)]);
        cfg.instances[0].router.accept_mode = false;
        let mut a = run(s, r1, cfg);
        a.wait_state(State::Active, Duration::from_secs(5));
        assert!(a.table.starts_with("vrrpd_drv"), "{}", a.table);
        let tables = nft_tables(r1);
        assert!(tables.contains(&format!("inet {}", a.table)), "{tables}");
        assert!(r1.has_address(vip).unwrap(), "the VIP is installed");
        assert!(
            !c1.ping(vip).unwrap(),
            "Accept_Mode off: the VIP does not answer"
        );
        assert_eq!(
            c1.neighbor(vip).unwrap(),
            Some(r1.mac),
            "but ARP for it is answered by the Active (R17/R18)"
        );
        assert!(
            c1.ping(IpAddr::V4(r1.ipv4)).unwrap(),
            "the router's own address still answers"
        );
        a.stop();
        assert!(
            !nft_tables(r1).contains(&a.table),
            "table removed on shutdown"
        );
    });
    assert_clean(r1);
}

/// An `nft` that takes `secs` seconds before doing anything: `nft` on a loaded host.
fn slow_nft(dir: &WorkDir, secs: u32) -> PathBuf {
    use std::os::unix::fs::PermissionsExt;
    let path = dir.path().join("slow-nft");
    std::fs::write(&path, format!("#!/bin/sh\nsleep {secs}\nexec nft \"$@\"\n")).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    path
}

#[test]
fn a_slow_nft_delays_neither_the_start_nor_a_backup_and_causes_no_takeover() {
    let lab = lab();
    let (r1, r2) = (lab.host("r1"), lab.host("r2"));
    let vip: IpAddr = "192.0.2.102".parse().unwrap();
    let dir = WorkDir::new("slow-nft").unwrap();
    std::thread::scope(|s| {
        // 10 ms adverts: r2's Active_Down_Interval (36 ms) is far shorter than its `nft`.
        let mut cfg1 = config("r1", 200, &[(vip, 24)]);
        cfg1.instances[0].router.advert_interval_cs = 1;
        let mut a = run(s, r1, cfg1);
        a.wait_state(State::Active, Duration::from_secs(5));
        let mut cfg2 = config("r2", 100, &[(vip, 24)]);
        cfg2.instances[0].router.advert_interval_cs = 1;
        cfg2.instances[0].router.accept_mode = false;
        cfg2.nft_program = slow_nft(&dir, 2);
        let t0 = Instant::now();
        let mut b = run(s, r2, cfg2);
        assert!(
            t0.elapsed() < Duration::from_secs(2),
            "start waited for nft: {:?}",
            t0.elapsed()
        );
        b.wait_state(State::Backup, Duration::from_secs(5));
        assert!(
            wait_until(Duration::from_secs(10), || nft_tables(r2)
                .contains(&format!("inet {}", b.table))),
            "accept-mode table installed"
        );
        // The adverts r1 sent while r2's `nft` ran (about 200) are served before r2's
        // expired Active_Down_Timer: r2 stays Backup.
        let end = Instant::now() + Duration::from_millis(500);
        while let Ok(ev) = b
            .events
            .recv_timeout(end.saturating_duration_since(Instant::now()))
        {
            assert!(
                !matches!(
                    ev,
                    driver::Event::StateChanged {
                        to: State::Active,
                        ..
                    }
                ),
                "r2 took over from a live Active: {ev:?}"
            );
        }
        assert!(!r2.has_address(vip).unwrap(), "no VIP on the Backup");
        b.stop();
        a.stop();
    });
    assert_clean(r1);
    assert_clean(r2);
}

#[test]
fn accept_mode_off_without_nft_fails_clearly_at_start() {
    let lab = lab();
    let mut cfg = config("r1", 100, &[("192.0.2.100".parse().unwrap(), 24)]);
    cfg.instances[0].router.accept_mode = false;
    cfg.nft_program = PathBuf::from("/nonexistent/nft");
    let err = lab
        .host("r1")
        .run(|| {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            rt.block_on(driver::start(cfg)).expect_err("start fails")
        })
        .unwrap();
    assert!(matches!(err, Error::MissingProgram { .. }), "{err:?}");
    let msg = err.to_string();
    assert!(
        msg.contains("Accept_Mode") && msg.contains("`/nonexistent/nft` was not found"),
        "{msg}"
    );
}

#[test]
fn missing_interface_is_a_clear_error() {
    let lab = lab();
    let mut cfg = config("r1", 100, &[("192.0.2.100".parse().unwrap(), 24)]);
    cfg.instances[0].interface = "eth9".into();
    let err = lab
        .host("r1")
        .run(|| {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            rt.block_on(driver::start(cfg)).expect_err("start fails")
        })
        .unwrap();
    assert_eq!(err.to_string(), "interface eth9 not found");
}
