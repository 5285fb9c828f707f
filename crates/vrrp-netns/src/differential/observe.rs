//! The outside view of one node, raw: what `ip -j` says about its namespace, what `/proc`
//! says about the daemon's VRRP process, what the notify loggers wrote, and which adverts
//! crossed its segments. [`super::normalise`] turns these into comparable lines.

use std::path::Path;
use std::time::SystemTime;

use serde_json::Value;

use super::topology::Topology;
use crate::capture::{Capture, DecodedAdvert};
use crate::error::{Error, Result};
use crate::lab::{Host, Lab, HOST_IFACE};
use crate::netns::Netns;

/// `ip -j` output of one namespace.
#[derive(Debug, Clone, Default)]
pub struct NetState {
    /// `ip -j addr show`.
    pub addrs: Value,
    /// `ip -j -d link show`.
    pub links: Value,
    /// `ip -j route show table all`.
    pub routes4: Value,
    /// `ip -j -6 route show table all`.
    pub routes6: Value,
    /// `ip -j rule show`.
    pub rules4: Value,
    /// `ip -j -6 rule show`.
    pub rules6: Value,
    /// The interface sysctls a daemon may set for an instance, as `sysctl` prints them
    /// (`net.ipv4.conf.IF.promote_secondaries = 1`, one a line).
    pub sysctls: String,
}

/// The per-interface sysctls observed: keepalived's `promote_secondaries`.
const OBSERVED_SYSCTLS: &str = r"\.promote_secondaries$";

fn ip_json(ns: &Netns, args: &[&str]) -> Result<Value> {
    let out = ns.ip(args)?;
    let text = if out.trim().is_empty() { "[]" } else { &out };
    serde_json::from_str(text).map_err(|e| Error::Parse {
        what: format!("ip {}", args.join(" ")),
        detail: e.to_string(),
    })
}

/// Reads addresses, links, routes (every table) and rules of both families.
pub fn net_state(ns: &Netns) -> Result<NetState> {
    Ok(NetState {
        addrs: ip_json(ns, &["-j", "addr", "show"])?,
        links: ip_json(ns, &["-j", "-d", "link", "show"])?,
        routes4: ip_json(ns, &["-j", "-4", "route", "show", "table", "all"])?,
        routes6: ip_json(ns, &["-j", "-6", "route", "show", "table", "all"])?,
        rules4: ip_json(ns, &["-j", "-4", "rule", "show"])?,
        rules6: ip_json(ns, &["-j", "-6", "rule", "show"])?,
        sysctls: ns.exec_ok("sysctl", &["-a", "-r", OBSERVED_SYSCTLS])?,
    })
}

/// `/proc/PID/{status,stat,limits}` of a process.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ProcState {
    /// `/proc/PID/status`.
    pub status: String,
    /// `/proc/PID/stat`.
    pub stat: String,
    /// `/proc/PID/limits`.
    pub limits: String,
}

/// Reads the process's scheduling, memory-lock, affinity and limit files.
pub fn proc_state(pid: u32) -> Result<ProcState> {
    let read = |f: &str| {
        let p = format!("/proc/{pid}/{f}");
        std::fs::read_to_string(&p).map_err(|e| Error::io(format!("read {p}"), e))
    };
    Ok(ProcState {
        status: read("status")?,
        stat: read("stat")?,
        limits: read("limits")?,
    })
}

/// The pid in a pid file, if it holds one.
pub fn read_pid(path: &Path) -> Option<u32> {
    std::fs::read_to_string(path).ok()?.trim().parse().ok()
}

/// The lines of a log file (empty if it does not exist yet).
pub fn read_lines(path: &Path) -> Vec<String> {
    std::fs::read_to_string(path)
        .map(|t| t.lines().map(str::to_string).collect())
        .unwrap_or_default()
}

/// An advert seen on one of a node's interfaces.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SeenAdvert {
    /// The interface (segment) it was sent on, as the configuration names it.
    pub iface: String,
    /// The lab host that sent it.
    pub host: String,
    /// When the harness read it.
    pub ts: SystemTime,
    /// The decoded advert.
    pub advert: DecodedAdvert,
}

/// Captures on every segment of a lab: `eth0`'s and one per extra interface.
#[derive(Debug)]
pub struct Wire {
    captures: Vec<(String, Capture)>,
}

impl Wire {
    /// Starts capturing on `lab`'s segments; the extra interfaces of `hosts` (wired by
    /// [`Topology::wire`]) are counted as their hosts' ports.
    pub fn start(lab: &Lab, topo: &Topology, hosts: &[&Host]) -> Result<Wire> {
        let mut captures = vec![(HOST_IFACE.to_string(), lab.segment("lan").capture()?)];
        for p in topo.ifaces.iter().filter(|p| p.k > 0) {
            let ports: Vec<(String, String)> = hosts
                .iter()
                .map(|h| (format!("vnx{}h{}", p.k, h.index), h.name.clone()))
                .collect();
            let seg = lab.segment(&format!("if{}", p.k));
            captures.push((p.name.clone(), seg.capture_with_ports(&ports)?));
        }
        Ok(Wire { captures })
    }

    /// Gratuitous ARPs (`IFACE: SENDER-IP`) and unsolicited neighbour advertisements
    /// (`IFACE: TARGET`) captured so far, each with its sending host.
    pub fn announcements(&self) -> Vec<(String, String, String)> {
        let mut out = Vec::new();
        for (iface, cap) in &self.captures {
            for f in cap.frames() {
                let host = f.from_host.clone().unwrap_or_default();
                if let Some(arp) = f.arp().filter(|a| a.is_gratuitous()) {
                    out.push((iface.clone(), host, arp.sender_ip.to_string()));
                } else if let Some(na) = f.neighbor_advert().filter(|n| !n.solicited) {
                    out.push((iface.clone(), host, na.target.to_string()));
                }
            }
        }
        out
    }

    /// Every decodable advert captured so far, in order per interface.
    pub fn adverts(&self) -> Vec<SeenAdvert> {
        let mut out = Vec::new();
        for (iface, cap) in &self.captures {
            for f in cap.frames() {
                if let Some(Ok(advert)) = f.vrrp_advert() {
                    out.push(SeenAdvert {
                        iface: iface.clone(),
                        host: f.from_host.clone().unwrap_or_default(),
                        ts: f.ts,
                        advert,
                    });
                }
            }
        }
        out
    }
}
