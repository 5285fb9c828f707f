//! The host's interfaces as the data file lists them (keepalived lists every interface of its
//! network namespace, in the kernel's order), read from netlink when the signal arrives.

use std::net::{Ipv4Addr, Ipv6Addr};

use futures::TryStreamExt;
use rtnetlink::packet_route::link::{LinkAttribute, LinkFlags, LinkLayerType, LinkMessage};
use vrrp_net::Netlink;

/// One interface.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Link {
    /// Name.
    pub name: String,
    /// ifindex.
    pub index: u32,
    /// The primary IPv4 address (the advert source, never one of our VIPs).
    pub ipv4: Option<Ipv4Addr>,
    /// An IPv6 link-local address.
    pub ipv6: Option<Ipv6Addr>,
    /// Hardware address.
    pub mac: Option<[u8; 6]>,
    /// IFF_UP.
    pub up: bool,
    /// IFF_RUNNING.
    pub running: bool,
    /// IFF_BROADCAST.
    pub broadcast: bool,
    /// IFF_LOOPBACK.
    pub loopback: bool,
    /// IFF_MULTICAST.
    pub multicast: bool,
    /// MTU.
    pub mtu: u32,
    /// keepalived's name of the hardware type.
    pub hw_type: String,
}

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

/// Every interface of this network namespace, in ifindex order.
pub async fn read() -> Result<Vec<Link>, ReadError> {
    let netlink = Netlink::new()?;
    let messages: Vec<LinkMessage> = (netlink.handle().link().get().execute())
        .try_collect()
        .await?;
    let mut links: Vec<Link> = messages.iter().map(link_of).collect();
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

fn link_of(m: &LinkMessage) -> Link {
    let flags = m.header.flags;
    let mut link = Link {
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
