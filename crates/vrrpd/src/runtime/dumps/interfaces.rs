//! The host's interfaces as the data file lists them (keepalived lists every interface of its
//! network namespace, in the kernel's order), read from netlink when the signal arrives.

use futures::TryStreamExt;
use rtnetlink::packet_route::link::{LinkAttribute, LinkFlags, LinkLayerType, LinkMessage};
use vrrp_net::Netlink;

use crate::dump::InterfaceDump;

/// Why the interfaces could not be read.
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    /// The netlink socket or the address lookup failed.
    #[error(transparent)]
    Netlink(#[from] vrrp_net::Error),
    /// The kernel did not list the links.
    #[error("listing the interfaces: {0}")]
    Links(#[from] rtnetlink::Error),
}

/// Every interface of this network namespace, in ifindex order (without the instances
/// tracking them).
pub async fn read() -> Result<Vec<InterfaceDump>, ReadError> {
    let netlink = Netlink::new()?;
    let messages: Vec<LinkMessage> = (netlink.handle().link().get().execute())
        .try_collect()
        .await?;
    let mut links: Vec<InterfaceDump> = messages.iter().map(link_of).collect();
    links.sort_by_key(|l| l.index);
    // The addresses, picked as the advert source is (vrrp-net's rules).
    let names: Vec<&str> = links.iter().map(|l| l.name.as_str()).collect();
    let infos = netlink.interfaces_by_name(&names).await?;
    for l in &mut links {
        if let Some(info) = infos.get(&l.name) {
            l.ipv4 = info.primary_ipv4.map(|(a, _)| a);
            l.ipv6 = info.ipv6_link_local;
        }
    }
    Ok(links)
}

fn link_of(m: &LinkMessage) -> InterfaceDump {
    let flags = m.header.flags;
    let mut link = InterfaceDump {
        name: String::new(),
        index: m.header.index,
        ipv4: None,
        ipv6: None,
        mac: None,
        up: flags.contains(LinkFlags::Up),
        running: flags.contains(LinkFlags::Running),
        broadcast: flags.contains(LinkFlags::Broadcast),
        loopback: flags.contains(LinkFlags::Loopback),
        multicast: flags.contains(LinkFlags::Multicast),
        mtu: 0,
        hw_type: match m.header.link_layer_type {
            LinkLayerType::Ether => "ETHERNET".into(),
            LinkLayerType::Loopback => "LOOPBACK".into(),
            other => format!("UNKNOWN ({})", u16::from(other)),
        },
        tracking: Vec::new(),
    };
    for attr in &m.attributes {
        match attr {
            LinkAttribute::IfName(n) => link.name = n.clone(),
            LinkAttribute::Mtu(mtu) => link.mtu = *mtu,
            LinkAttribute::Address(a) if a.len() == 6 && !link.loopback => {
                let mut mac = [0u8; 6];
                mac.copy_from_slice(a);
                link.mac = Some(mac);
            }
            _ => {}
        }
    }
    link
}
