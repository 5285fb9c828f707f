//! The driver end to end on real interfaces: two routers elect, the VIP lives only on the
//! Active, a client's ARP / neighbour entry follows the VIP on failover (IPv4 and IPv6).

use std::net::IpAddr;
use std::sync::mpsc;
use std::thread::Scope;
use std::time::Duration;

use vrrp_core::{Reason, RouterConfig, State};
use vrrp_net::driver::{self, DriverConfig, Event, InstanceSpec};
use vrrp_net::VipSpec;
use vrrp_netns::{require_root, wait_until, Host, Lab};

/// A driver running in a host's namespace on its own thread and runtime.
struct Running {
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    events: mpsc::Receiver<Event>,
}

impl Running {
    /// Waits for a state change to `to`, returning its reason.
    fn wait_state(&self, to: State, within: Duration) -> Reason {
        let deadline = std::time::Instant::now() + within;
        loop {
            let left = deadline.saturating_duration_since(std::time::Instant::now());
            match self.events.recv_timeout(left) {
                Ok(Event::StateChanged { to: t, reason, .. }) if t == to => return reason,
                Ok(_) => {}
                Err(e) => panic!("no transition to {to} within {within:?}: {e}"),
            }
        }
    }

    /// Graceful stop: priority-0 advert, VIPs removed.
    fn stop(&mut self) {
        if let Some(tx) = self.stop.take() {
            let _ = tx.send(());
        }
    }
}

fn run<'s>(scope: &'s Scope<'s, '_>, host: &'s Host, cfg: DriverConfig) -> Running {
    let (ev_tx, ev_rx) = mpsc::channel();
    let (stop_tx, mut stop_rx) = tokio::sync::oneshot::channel::<()>();
    scope.spawn(move || {
        host.run(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            rt.block_on(async move {
                let handle = driver::start(cfg).await.expect("driver starts");
                let mut sub = handle.subscribe();
                loop {
                    tokio::select! {
                        ev = sub.recv() => match ev {
                            Ok(ev) => { let _ = ev_tx.send(ev); }
                            Err(_) => break,
                        },
                        _ = &mut stop_rx => break,
                    }
                }
                handle.shutdown().await.expect("clean shutdown");
            })
        })
        .expect("run in namespace")
    });
    Running {
        stop: Some(stop_tx),
        events: ev_rx,
    }
}

fn config(name: &str, priority: u8, vips: &[(IpAddr, u8)]) -> DriverConfig {
    let unspecified: IpAddr = if vips[0].0.is_ipv4() {
        "0.0.0.0".parse().unwrap()
    } else {
        "::".parse().unwrap()
    };
    let mut router = RouterConfig::new(name, 51, unspecified, vips.iter().map(|v| v.0).collect());
    router.priority = priority;
    router.advert_interval_cs = 20;
    router.announce.second_burst_delay = None;
    let specs = vips.iter().map(|(a, l)| VipSpec::new(*a, *l)).collect();
    DriverConfig::new(vec![InstanceSpec {
        router,
        interface: "eth0".into(),
        vips: specs,
        trackers: vec![],
    }])
}

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
            wait_until(Duration::from_secs(2), || !r1.has_address(probe).unwrap()),
            "VIP removed from the stopped router"
        );
        assert!(c1.ping(probe).unwrap(), "client reaches the VIP on r2");
        b.stop();
    });
    assert!(!r2.has_address(probe).unwrap(), "VIP removed on shutdown");
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
