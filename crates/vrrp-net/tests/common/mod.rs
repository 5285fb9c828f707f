//! Shared helpers for the namespace tests.
#![allow(dead_code)]

use std::future::Future;
use std::time::Duration;

use tokio::runtime::Runtime;
use vrrp_netns::{Host, Lab};

/// A lab with a router `r1` and a client `c1` (needs root).
pub fn router_and_client() -> Lab {
    vrrp_netns::require_root();
    Lab::builder()
        .router("r1")
        .client("c1")
        .build()
        .expect("lab")
}

/// A current-thread runtime driven by the test thread.
pub fn rt() -> Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

/// Runs `f` on a thread inside `host`'s namespace with `rt` entered, so that
/// sockets and netlink connections are created in the namespace but
/// registered with the test thread's runtime (a socket keeps its namespace).
pub fn in_ns<T: Send>(host: &Host, rt: &Runtime, f: impl FnOnce() -> T + Send) -> T {
    let handle = rt.handle().clone();
    host.run(move || {
        let _guard = handle.enter();
        f()
    })
    .expect("run in namespace")
}

/// Awaits `fut` for at most `secs` seconds.
pub async fn within<T>(secs: u64, what: &str, fut: impl Future<Output = T>) -> T {
    tokio::time::timeout(Duration::from_secs(secs), fut)
        .await
        .unwrap_or_else(|_| panic!("timed out after {secs} s waiting for {what}"))
}

/// The ifindex of `eth0` in `host`'s namespace.
pub fn ifindex(host: &Host) -> u32 {
    let out = host
        .exec_ok("cat", &[&format!("/sys/class/net/{}/ifindex", host.iface)])
        .unwrap();
    out.trim().parse().unwrap()
}

/// `ip -j addr show dev IF` in `host`, parsed.
pub fn ip_addr_json(host: &Host, dev: &str) -> serde_json::Value {
    let out = host
        .exec_ok("ip", &["-j", "addr", "show", "dev", dev])
        .unwrap();
    serde_json::from_str(&out).unwrap()
}

/// The `addr_info` entry for `local` in `ip -j addr` output, if present.
pub fn addr_entry(host: &Host, dev: &str, local: &str) -> Option<serde_json::Value> {
    let v = ip_addr_json(host, dev);
    v.as_array()?
        .iter()
        .flat_map(|l| l["addr_info"].as_array().cloned().unwrap_or_default())
        .find(|a| a["local"] == local)
}

pub mod running;
