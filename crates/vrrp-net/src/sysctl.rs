//! Per-interface sysctls for a VMAC setup, written under `/proc/sys/net/`.
//!
//! keepalived (`vrrp_if_config.c`, `set_interface_parameters`) sets, when it
//! creates a VMAC macvlan:
//!
//! * on the **VMAC**: `arp_ignore=1` (answer ARP only for addresses on that
//!   device), `accept_local=1` (accept packets whose source is a local address,
//!   needed because the parent and the VMAC share the subnet), `rp_filter=0`,
//!   `promote_secondaries=1`;
//! * on the **parent**: `arp_ignore=1` and `arp_filter=1`, so the parent does not
//!   answer ARP for the VIPs with the physical MAC (RFC 9568 §8.1.2); the
//!   previous values are restored when the last VMAC goes.
//!
//! This crate adds `arp_announce=2` on the parent: reply traffic from a VIP is
//! routed out of the parent (its connected route comes first), and with the
//! default `arp_announce=0` the parent's ARP request for the client would carry
//! the VIP as sender address with the *physical* MAC, so every client that
//! answers moves its entry for the VIP away from the VMAC (keepalived issue
//! #1230; RFC 9568 §8.1.2: never ARP with the physical MAC for a VIP).
//!
//! [`vmac_settings`] returns exactly that list; [`apply`] writes it and returns
//! the previous values so that [`restore`] can undo it. Note the effective
//! `rp_filter` is the maximum of `all` and the interface value, so a host with
//! `net.ipv4.conf.all.rp_filter=1` still filters; that is left to the operator,
//! as in keepalived.

use std::path::PathBuf;

use crate::error::{Error, Result};

/// Address family of a per-interface sysctl tree.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Family {
    /// `/proc/sys/net/ipv4/conf/IF/...`
    Ipv4,
    /// `/proc/sys/net/ipv6/conf/IF/...`
    Ipv6,
}

/// One per-interface sysctl value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Setting {
    /// Family tree.
    pub family: Family,
    /// Interface name.
    pub ifname: String,
    /// Key, e.g. `arp_ignore`.
    pub key: String,
    /// Value to write (or the previous value, for [`restore`]).
    pub value: String,
}

impl Setting {
    /// A setting.
    pub fn new(family: Family, ifname: &str, key: &str, value: impl ToString) -> Self {
        Self {
            family,
            ifname: ifname.into(),
            key: key.into(),
            value: value.to_string(),
        }
    }

    /// The `/proc/sys` path of this setting.
    pub fn path(&self) -> PathBuf {
        path(self.family, &self.ifname, &self.key)
    }
}

fn path(family: Family, ifname: &str, key: &str) -> PathBuf {
    let fam = match family {
        Family::Ipv4 => "ipv4",
        Family::Ipv6 => "ipv6",
    };
    PathBuf::from(format!("/proc/sys/net/{fam}/conf/{ifname}/{key}"))
}

fn check_name(ifname: &str, key: &str) -> Result<()> {
    let bad = |s: &str| s.is_empty() || s.contains('/') || s == "." || s == "..";
    if bad(ifname) || bad(key) {
        return Err(Error::Invalid {
            context: format!("sysctl {ifname}/{key}"),
            message: "invalid interface or key name".into(),
        });
    }
    Ok(())
}

/// Reads a per-interface sysctl (trimmed).
pub fn get(family: Family, ifname: &str, key: &str) -> Result<String> {
    check_name(ifname, key)?;
    let p = path(family, ifname, key);
    match std::fs::read_to_string(&p) {
        Ok(s) => Ok(s.trim().to_string()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            Err(Error::InterfaceNotFound(ifname.into()))
        }
        Err(e) => Err(Error::io(format!("reading {}", p.display()), ifname, e)),
    }
}

/// Writes a per-interface sysctl.
pub fn set(family: Family, ifname: &str, key: &str, value: &str) -> Result<()> {
    check_name(ifname, key)?;
    let p = path(family, ifname, key);
    match std::fs::write(&p, value) {
        Ok(()) => {
            tracing::debug!(interface = ifname, key, value, "sysctl set");
            Ok(())
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            Err(Error::InterfaceNotFound(ifname.into()))
        }
        Err(e) => Err(Error::io(
            format!("writing {value} to {}", p.display()),
            ifname,
            e,
        )),
    }
}

/// The settings keepalived applies for a VMAC `vmac` on `parent` (see the
/// module docs).
pub fn vmac_settings(vmac: &str, parent: &str) -> Vec<Setting> {
    vec![
        Setting::new(Family::Ipv4, vmac, "arp_ignore", 1),
        Setting::new(Family::Ipv4, vmac, "accept_local", 1),
        Setting::new(Family::Ipv4, vmac, "rp_filter", 0),
        Setting::new(Family::Ipv4, vmac, "promote_secondaries", 1),
        Setting::new(Family::Ipv4, parent, "arp_ignore", 1),
        Setting::new(Family::Ipv4, parent, "arp_filter", 1),
        Setting::new(Family::Ipv4, parent, "arp_announce", 2),
    ]
}

/// Applies settings in order and returns the previous values (only for the
/// ones that changed), to hand to [`restore`]. Stops at the first error,
/// after restoring what it had already changed.
pub fn apply(settings: &[Setting]) -> Result<Vec<Setting>> {
    let mut previous = Vec::new();
    for s in settings {
        let step = get(s.family, &s.ifname, &s.key).and_then(|old| {
            if old != s.value {
                set(s.family, &s.ifname, &s.key, &s.value)?;
                previous.push(Setting {
                    value: old,
                    ..s.clone()
                });
            }
            Ok(())
        });
        if let Err(e) = step {
            restore(&previous);
            return Err(e);
        }
    }
    Ok(previous)
}

/// Writes back previous values (in reverse order), logging failures (an
/// interface that has gone away is not an error here).
pub fn restore(previous: &[Setting]) {
    for s in previous.iter().rev() {
        if let Err(e) = set(s.family, &s.ifname, &s.key, &s.value) {
            tracing::debug!(interface = %s.ifname, key = %s.key, error = %e, "sysctl not restored");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_and_keepalived_vmac_list() {
        let s = vmac_settings("vrrp.1", "eth0");
        assert_eq!(
            s[0].path(),
            PathBuf::from("/proc/sys/net/ipv4/conf/vrrp.1/arp_ignore")
        );
        assert_eq!(s.len(), 7);
        assert!(s
            .iter()
            .any(|x| x.ifname == "eth0" && x.key == "arp_filter" && x.value == "1"));
        assert!(get(Family::Ipv4, "../x", "arp_ignore").is_err());
    }
}
