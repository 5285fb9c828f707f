//! What the runtime reads from the host before mapping the configuration.

use std::collections::BTreeSet;

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
