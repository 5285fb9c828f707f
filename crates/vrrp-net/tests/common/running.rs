//! Running a driver in a host's namespace on its own thread, and checks on what it leaves.

use std::net::IpAddr;
use std::sync::mpsc;
use std::thread::{Scope, ScopedJoinHandle};
use std::time::{Duration, Instant};

use vrrp_core::{Reason, RouterConfig, State};
use vrrp_net::driver::{self, DriverConfig, Event, InstanceSpec};
use vrrp_net::VipSpec;
use vrrp_netns::Host;

/// A driver running in a host's namespace on its own thread and runtime.
pub struct Running<'s> {
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    /// Every event, in order.
    pub events: mpsc::Receiver<Event>,
    /// The accept-mode table name of the driver.
    pub table: String,
    thread: Option<ScopedJoinHandle<'s, ()>>,
}

impl Running<'_> {
    /// Waits for an event matching `pred` and returns it.
    pub fn wait_event(&self, what: &str, within: Duration, pred: impl Fn(&Event) -> bool) -> Event {
        let deadline = Instant::now() + within;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.events.recv_timeout(left) {
                Ok(ev) if pred(&ev) => return ev,
                Ok(_) => {}
                Err(e) => panic!("no {what} within {within:?}: {e}"),
            }
        }
    }

    /// Waits for a state change to `to`, returning its reason.
    pub fn wait_state(&self, to: State, within: Duration) -> Reason {
        match self.wait_event(
            &format!("transition to {to}"),
            within,
            |ev| matches!(ev, Event::StateChanged { to: t, .. } if *t == to),
        ) {
            Event::StateChanged { reason, .. } => reason,
            _ => unreachable!(),
        }
    }

    /// Graceful stop (priority-0 advert, VIPs removed, VMACs deleted, table removed), and
    /// waits until the driver has finished.
    pub fn stop(&mut self) {
        if let Some(tx) = self.stop.take() {
            let _ = tx.send(());
        }
        if let Some(t) = self.thread.take() {
            t.join().expect("driver thread");
        }
    }
}

/// Starts `cfg` in `host`'s namespace.
pub fn run<'s>(scope: &'s Scope<'s, '_>, host: &'s Host, cfg: DriverConfig) -> Running<'s> {
    let (ev_tx, ev_rx) = mpsc::channel();
    let (table_tx, table_rx) = mpsc::channel();
    let (stop_tx, mut stop_rx) = tokio::sync::oneshot::channel::<()>();
    let thread = scope.spawn(move || {
        host.run(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            rt.block_on(async move {
                let handle = driver::start(cfg).await.expect("driver starts");
                let _ = table_tx.send(handle.accept_table().to_string());
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
    let table = table_rx
        .recv_timeout(Duration::from_secs(10))
        .expect("driver started");
    Running {
        stop: Some(stop_tx),
        events: ev_rx,
        table,
        thread: Some(thread),
    }
}

/// One IPv4 or IPv6 instance, VRID 51 on eth0, 200 ms adverts, no second GARP burst,
/// Accept_Mode on (the VIPs serve traffic).
pub fn instance(name: &str, priority: u8, vips: &[(IpAddr, u8)]) -> InstanceSpec {
    let unspecified: IpAddr = if vips[0].0.is_ipv4() {
        "0.0.0.0".parse().unwrap()
    } else {
        "::".parse().unwrap()
    };
    let mut router = RouterConfig::new(name, 51, unspecified, vips.iter().map(|v| v.0).collect());
    router.priority = priority;
    router.advert_interval_cs = 20;
    router.accept_mode = true;
    router.announce.second_burst_delay = None;
    let mut spec = InstanceSpec::new(router, "eth0");
    spec.vips = vips.iter().map(|(a, l)| VipSpec::new(*a, *l)).collect();
    spec
}

/// A driver config with one [`instance`].
pub fn config(name: &str, priority: u8, vips: &[(IpAddr, u8)]) -> DriverConfig {
    DriverConfig::new(vec![instance(name, priority, vips)])
}

/// The nftables tables in `host`'s namespace.
pub fn nft_tables(host: &Host) -> String {
    host.exec_ok("nft", &["list", "tables"]).unwrap()
}

/// The macvlan devices in `host`'s namespace.
pub fn macvlans(host: &Host) -> Vec<String> {
    let out = host
        .exec_ok("ip", &["-j", "link", "show", "type", "macvlan"])
        .unwrap();
    let v: serde_json::Value =
        serde_json::from_str(if out.trim().is_empty() { "[]" } else { &out }).unwrap();
    v.as_array()
        .unwrap()
        .iter()
        .map(|l| l["ifname"].as_str().unwrap().to_string())
        .collect()
}

/// Asserts the driver left no nftables table of its own and no macvlan in `host`.
pub fn assert_clean(host: &Host) {
    let tables = nft_tables(host);
    assert!(
        !tables.contains("vrrpd_"),
        "nft tables left on {}: {tables}",
        host.name
    );
    let m = macvlans(host);
    assert!(m.is_empty(), "macvlans left on {}: {m:?}", host.name);
}
