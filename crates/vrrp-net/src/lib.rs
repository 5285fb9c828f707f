//! Linux data-plane building blocks for vrrpd.
//!
//! This crate moves bytes and configures the kernel; it knows nothing about the
//! VRRP state machine or the VRRP packet format (both live in `vrrp-core`), except
//! [`driver`], which runs vrrp-core routers on top of them.
//!
//! | Module | What it does |
//! |---|---|
//! | [`socket`] | Raw IP protocol-112 sockets, one per family per interface ([`VrrpSocketV4`], [`VrrpSocketV6`]). |
//! | [`netlink`] | Interface lookup, VIP add/remove/list/lease, stale-VIP finder, VMAC macvlans ([`Netlink`]). |
//! | [`watch`] | Link and address change notifications ([`Watcher`], [`LinkEvent`], [`AddrEvent`]). |
//! | [`sysctl`] | The per-interface sysctls a VMAC setup needs. |
//! | [`announce`] | Gratuitous ARP and unsolicited NA frame builders, the AF_PACKET send socket and a pacer. |
//! | [`conflict`] | Address-conflict detection: claims read from ARP and NA frames, ARP / NS probes, the filtered receive socket ([`ClaimSocket`]). |
//! | [`driver`] | The tokio driver running vrrp-core routers on these pieces; the embedding API ([`driver::start`]). |
//! | [`nft`] | Accept_Mode enforcement with an nftables table owned by this crate. |
//! | [`route`] | Routes and policy rules as keepalived installs them (protocol 18). |
//!
//! Everything that touches the kernel needs `CAP_NET_RAW` (sockets) and/or
//! `CAP_NET_ADMIN` (netlink, sysctl, nftables). Async pieces require a tokio
//! runtime (current-thread is fine).
#![deny(unsafe_code)]

pub mod announce;
pub mod conflict;
pub mod driver;
pub mod error;
pub mod history;
pub mod netlink;
pub mod nft;
pub mod route;
pub mod socket;
mod sys;
pub mod sysctl;
pub mod watch;

pub use announce::{AnnounceSocket, GarpForm, Pacer};
pub use conflict::{Claim, ClaimSocket};
pub use error::{Error, Result};
pub use netlink::{
    AddressInfo, InterfaceInfo, MacvlanMode, Netlink, VipSpec, VmacAddrGen, VmacFamily,
};
pub use nft::AcceptModeFilter;
pub use socket::{OpenOptions, Received, VrrpSocket, VrrpSocketV4, VrrpSocketV6};
pub use watch::{AddrEvent, LinkEvent, NetEvent, Watcher};

/// IP protocol number of VRRP (RFC 9568 §5.1.1.4 / §5.1.2.4).
pub const IPPROTO_VRRP: u8 = 112;
/// The IPv4 VRRP multicast group 224.0.0.18.
pub const VRRP_GROUP_V4: std::net::Ipv4Addr = std::net::Ipv4Addr::new(224, 0, 0, 18);
/// The IPv6 VRRP multicast group ff02::12.
pub const VRRP_GROUP_V6: std::net::Ipv6Addr =
    std::net::Ipv6Addr::new(0xff02, 0, 0, 0, 0, 0, 0, 0x12);
