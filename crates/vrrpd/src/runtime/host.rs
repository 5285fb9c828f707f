//! What the runtime reads from the host before mapping the configuration.

use std::collections::BTreeSet;

use vrrp_net::Netlink;

use crate::config::model::Config;
use crate::convert::{HostFacts, InterfaceFacts};

/// Reads the primary IPv4 address and IPv6 link-local of every interface the configuration
/// names. Interfaces that do not exist are left out (the mapping reports them).
pub async fn host_facts(cfg: &Config) -> Result<HostFacts, vrrp_net::Error> {
    let netlink = Netlink::new()?;
    let names: BTreeSet<&str> = cfg
        .vrrp_instances
        .iter()
        .filter_map(|i| i.interface.as_deref())
        .collect();
    let mut facts = HostFacts::new();
    for name in names {
        match netlink.interface_by_name(name).await {
            Ok(info) => facts.insert(
                name,
                InterfaceFacts {
                    primary_ipv4: info.primary_ipv4.map(|(a, _)| a),
                    ipv6_link_local: info.ipv6_link_local,
                },
            ),
            Err(vrrp_net::Error::InterfaceNotFound(_)) => {}
            Err(e) => return Err(e),
        }
    }
    Ok(facts)
}
