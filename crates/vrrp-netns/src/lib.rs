//! Network-namespace test harness for vrrpd.
//!
//! Builds labs of hosts (routers and clients), each in its own network namespace with one veth
//! into a bridge that lives in a namespace of its own, so tests get real L2 segments without
//! touching the root namespace. Everything is torn down on drop, also when a test panics, and
//! [`cleanup_leftovers`] removes what a killed test process left behind.
//!
//! ```no_run
//! use vrrp_netns::{require_root, Lab};
//! require_root();
//! let lab = Lab::builder().router("r1").router("r2").client("c").build().unwrap();
//! let c = lab.host("c");
//! assert!(c.ping(lab.host("r1").ipv4.into()).unwrap());
//! ```
//!
//! Naming: every namespace is `vn<pid>_<tag>-<name>` (`<pid>_<tag>` is the lab id), so two labs
//! and two test processes never clash. Interfaces are only created inside those namespaces:
//! the bridge [`BRIDGE`] and ports `vnp-<host>` in the segment namespace, `eth0` in each host.
//!
//! Running a daemon under test in a host, and injecting faults:
//!
//! ```no_run
//! # use vrrp_netns::{Lab, Signal};
//! # use std::process::Command;
//! # let lab = Lab::builder().router("r1").router("r2").client("c").build().unwrap();
//! let r1 = lab.host("r1");
//! let mut cmd = Command::new("/path/to/vrrpd");
//! cmd.args(["--config", "/tmp/r1.yaml"]);
//! let daemon = r1.netns.spawn(cmd).unwrap();         // killed and reaped on drop
//! let cap = lab.default_segment().capture().unwrap(); // every frame entering the bridge
//! r1.set_loss(30).unwrap();                           // 30 % of IP proto 112 dropped
//! lab.partition(&["r1"], &["r2", "c"]).unwrap();
//! daemon.signal(Signal::SIGSTOP).unwrap();
//! ```
//!
//! Interop: [`RouterKind`] runs one neutral [`VirtualRouterSpec`] as keepalived, FRR or vrrpd
//! inside a host; [`Timeline`] decodes a capture (with vrrp-core) into who was Active when;
//! [`scenario`] runs YAML scenario files (`vrrp-netns run FILE`), see
//! `docs/testing-with-netns.md`.
//!
//! Differential runs: [`differential`] runs one keepalived.conf under keepalived and under
//! vrrpd in twin labs and compares what can be seen from outside (`vrrp-netns diff FILE`).
//!
//! Threads and namespaces: `setns` applies to one thread. [`Netns::run`] therefore runs a
//! closure on a fresh OS thread; never call `setns` inside a multi-threaded tokio runtime.
//! Daemons under test run as child processes ([`Netns::spawn`]).

#![forbid(unsafe_code)]

pub mod bench;
mod capture;
pub mod delay;
pub mod differential;
mod error;
pub mod frr;
pub mod keepalived;
mod lab;
mod netns;
pub mod router;
pub mod scenario;
pub mod timeline;
mod util;

pub use capture::{write_pcap_to, ArpInfo, Capture, DecodedAdvert, Frame, NeighborAdvert, VrrpRaw};
pub use error::{Error, Result};
pub use lab::{Direction, Host, HostKind, IfAddr, Lab, LabBuilder, Segment, BRIDGE, HOST_IFACE};
pub use netns::{ChildGuard, Netns};
pub use nix::sys::signal::Signal;
pub use router::{
    vrrpd_binary, vrrpd_binary_path, Checksum, RouterKind, RunningRouter, TrackScript,
    VirtualRouterSpec, WorkDir,
};
pub use scenario::{Report, Scenario};
pub use timeline::Timeline;
pub use util::{check_root, format_mac, parse_mac, require_root, wait_for, wait_until, PREFIX};

/// Removes namespaces (and root-namespace links) named with this crate's prefix whose creating
/// process is no longer alive; processes still inside such namespaces are killed first.
/// Returns the names removed. Objects of live processes (including this one) are left alone.
pub fn cleanup_leftovers() -> Result<Vec<String>> {
    util::check_root()?;
    let mut removed = Vec::new();
    let list = util::ip(&["netns", "list"])?;
    for line in list.lines() {
        let Some(name) = line.split_whitespace().next() else {
            continue;
        };
        if let Some(pid) = util::creator_pid(name) {
            if !util::pid_alive(pid) {
                netns::delete_ns(name)?;
                removed.push(name.to_string());
            }
        }
    }
    let links = util::ip(&["-o", "link", "show"])?;
    for line in links.lines() {
        // "12: name@peer: <...>"
        let Some(name) = line.split(':').nth(1).map(str::trim) else {
            continue;
        };
        let name = name.split('@').next().unwrap_or(name);
        if let Some(pid) = util::creator_pid(name) {
            if !util::pid_alive(pid) {
                util::ip(&["link", "del", name])?;
                removed.push(name.to_string());
            }
        }
    }
    Ok(removed)
}
