//! What the runtime reads from the host before mapping the configuration.

use std::collections::BTreeSet;
use std::time::Duration;

use vrrp_net::Netlink;

use crate::config::model::Config;
use crate::convert::{HostFacts, InterfaceFacts};

/// Reads the primary IPv4 address and IPv6 link-local of every interface the configuration
/// names (one request per interface, all in flight together, and one address dump).
/// Interfaces that do not exist are left out (the mapping reports them).
pub async fn host_facts(cfg: &Config) -> Result<HostFacts, vrrp_net::Error> {
    let netlink = Netlink::new()?;
    let names: BTreeSet<&str> = cfg
        .vrrp_instances
        .iter()
        .filter_map(|i| i.interface.as_deref())
        .collect();
    let names: Vec<&str> = names.into_iter().collect();
    let mut facts = HostFacts::new();
    for (name, info) in netlink.interfaces_by_name(&names).await? {
        facts.insert(
            &name,
            InterfaceFacts {
                primary_ipv4: info.primary_ipv4.map(|(a, _)| a),
                ipv6_link_local: info.ipv6_link_local,
            },
        );
    }
    Ok(facts)
}

/// The time since the system booted, from `/proc/uptime` (in a time namespace, its boot
/// time); `None` when it cannot be read.
pub fn uptime() -> Option<Duration> {
    let text = std::fs::read_to_string("/proc/uptime").ok()?;
    parse_uptime(&text)
}

/// The first field of `/proc/uptime` (seconds with a fraction).
fn parse_uptime(text: &str) -> Option<Duration> {
    let secs: f64 = text.split_whitespace().next()?.parse().ok()?;
    Duration::try_from_secs_f64(secs).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uptime_is_the_first_field() {
        assert_eq!(
            parse_uptime("791.23 225.77\n"),
            Some(Duration::from_millis(791_230))
        );
        assert_eq!(parse_uptime(""), None);
        assert_eq!(parse_uptime("x 1"), None);
    }
}
