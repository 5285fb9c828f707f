//! The seam between the driver and the kernel: [`DataPlane`], every operation the driver asks
//! of the host, grouped by concern. [`super::linux::LinuxPlane`] implements it with raw
//! sockets, netlink, AF_PACKET, sysctls and nft; the tests' recording plane writes each call
//! down instead, so the driver's decisions (what it does, in which order) are tested without
//! root from recorded operations (`crates/vrrp-net/tests/golden/`).
//!
//! Every call is made from the driver task; none may block it for long (the Linux plane runs
//! `nft` and sysctl writes off the runtime thread or in one short syscall each).

use std::collections::{BTreeSet, HashMap, HashSet};
use std::future::Future;
use std::net::IpAddr;
use std::task::{Context, Poll};

use vrrp_core::packet::{Family, RxMeta};

use crate::conflict::Claim;
use crate::error::Result;
use crate::netlink::{AddressInfo, InterfaceInfo, MacvlanMode, VipSpec, VmacFamily};
use crate::route::{ResolvedRoute, RuleSpec};
use crate::socket::OpenOptions;
use crate::sysctl::Setting;
use crate::watch::NetEvent;

/// Which raw VRRP socket: interface index and family.
pub(crate) type SocketKey = (u32, Family);

/// A packet read from one of the plane's VRRP sockets.
#[derive(Clone, Copy, Debug)]
pub(crate) struct RxPacket {
    /// The interface it arrived on.
    pub(crate) ifindex: u32,
    /// Addresses and TTL, for the codec.
    pub(crate) meta: RxMeta,
    /// Length of the VRRP message at the start of the receive buffer.
    pub(crate) len: usize,
}

/// What the plane has for the driver task (see [`DataPlane::poll_input`]).
#[derive(Debug)]
pub(crate) enum PlaneInput {
    /// A socket may hold packets: read them with [`DataPlane::try_recv`] (and claims with
    /// [`DataPlane::try_recv_claim`]).
    Readable,
    /// A link or address change.
    Net(NetEvent),
    /// The link watcher has stopped.
    WatcherClosed,
}

/// Everything the driver asks of the host.
pub(crate) trait DataPlane {
    // --- Clock and inputs -----------------------------------------------------------------

    /// The routers' clock (time since the driver started).
    fn now(&self) -> vrrp_core::Instant;
    /// The wall clock (UTC), for `auth_hmac` sequences and freshness
    /// ([`vrrp_core::Input::WallClock`]).
    fn wall_clock(&self) -> vrrp_core::auth_hmac::WallClock {
        let since_epoch = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default();
        vrrp_core::auth_hmac::WallClock::from_unix(since_epoch)
    }

    /// Ready when a socket may hold packets or the link watcher has an event.
    fn poll_input(&mut self, cx: &mut Context<'_>) -> Poll<PlaneInput>;

    /// One queued VRRP packet, written at the start of `buf`; `None` when every socket is
    /// drained. Receive errors are logged and skipped.
    fn try_recv(&mut self, buf: &mut [u8]) -> Option<RxPacket>;

    // --- Interfaces -----------------------------------------------------------------------

    /// The interfaces with these names (missing ones are absent from the map).
    fn interfaces(
        &mut self,
        names: &[&str],
    ) -> impl Future<Output = Result<HashMap<String, InterfaceInfo>>> + Send;

    // --- Adverts --------------------------------------------------------------------------

    /// Opens the socket of `key` on `ifname` unless it is open.
    fn open_socket(&mut self, key: SocketKey, ifname: &str, opts: OpenOptions) -> Result<()>;

    /// Joins `group` on the socket of `key` (a custom multicast group).
    fn join_group(&mut self, key: SocketKey, group: IpAddr) -> Result<()>;

    /// Grows the receive queue of the socket of `key` to at least `bytes`.
    fn set_receive_buffer(&mut self, key: SocketKey, bytes: usize) -> Result<()>;

    /// Closes the sockets not in `used`.
    fn retain_sockets(&mut self, used: &HashSet<SocketKey>);

    /// Sends one advert from socket `key` with IP source `src` to `dst`, with TTL / hop
    /// limit `ttl` instead of the socket's 255 when given.
    fn send_advert(
        &mut self,
        key: SocketKey,
        payload: &[u8],
        src: IpAddr,
        dst: IpAddr,
        ttl: Option<u8>,
    ) -> impl Future<Output = Result<()>> + Send;

    // --- Addresses ------------------------------------------------------------------------

    /// Adds addresses, pipelined; one result per address, in order.
    fn add_addresses(
        &mut self,
        adds: &[(u32, VipSpec)],
    ) -> impl Future<Output = Vec<Result<()>>> + Send;

    /// Removes one address (with its point-to-point `peer`, if it has one).
    fn del_address(
        &mut self,
        ifindex: u32,
        addr: IpAddr,
        prefix_len: u8,
        peer: Option<IpAddr>,
    ) -> impl Future<Output = Result<()>> + Send;

    /// Renews the lifetime of an address installed with a lease.
    fn renew_address(
        &mut self,
        ifindex: u32,
        vip: &VipSpec,
    ) -> impl Future<Output = Result<()>> + Send;

    /// Every address of the host.
    fn list_addresses(&mut self) -> impl Future<Output = Result<Vec<AddressInfo>>> + Send;

    // --- Routes and rules ------------------------------------------------------------------

    /// Adds a route.
    fn add_route(&mut self, route: &ResolvedRoute) -> impl Future<Output = Result<()>> + Send;

    /// Removes a route.
    fn del_route(&mut self, route: &ResolvedRoute) -> impl Future<Output = Result<()>> + Send;

    /// Adds a policy rule.
    fn add_rule(&mut self, rule: &RuleSpec) -> impl Future<Output = Result<()>> + Send;

    /// Removes a policy rule.
    fn del_rule(&mut self, rule: &RuleSpec) -> impl Future<Output = Result<()>> + Send;

    // --- Virtual MACs ---------------------------------------------------------------------

    /// Creates a VMAC macvlan `name` on `parent`; returns its ifindex. The plane deletes it
    /// at [`DataPlane::release`] unless [`DataPlane::delete_vmac`] did before.
    fn create_vmac(
        &mut self,
        parent: &InterfaceInfo,
        name: &str,
        vrid: u8,
        family: VmacFamily,
        mode: MacvlanMode,
    ) -> impl Future<Output = Result<u32>> + Send;

    /// Deletes a VMAC (already gone is fine).
    fn delete_vmac(&mut self, ifindex: u32) -> impl Future<Output = Result<()>> + Send;

    /// Applies sysctls; the previous values are restored at [`DataPlane::release`]. On error
    /// nothing stays changed.
    fn apply_sysctls(&mut self, settings: &[Setting]) -> Result<()>;

    // --- Announcements --------------------------------------------------------------------

    /// Sends one gratuitous ARP or unsolicited NA for `addr` from `ifindex` with source MAC
    /// `mac`, paced per interface.
    fn announce(
        &mut self,
        ifindex: u32,
        mac: [u8; 6],
        addr: IpAddr,
    ) -> impl Future<Output = ()> + Send;

    // --- Address conflicts ------------------------------------------------------------------

    /// Watches exactly the interfaces and families in `watched` for address claims (opening
    /// and closing the watches; a watch that cannot be opened is logged and retried at the
    /// next call).
    fn watch_claims(&mut self, watched: &HashSet<SocketKey>);

    /// One queued claim from a watch, with the interface it was seen on; `None` when every
    /// watch is drained.
    fn try_recv_claim(&mut self) -> Option<(u32, Claim)>;

    /// Sends the conflict probe of `addr` (ARP probe or NS) from `ifindex` with source MAC
    /// `mac`.
    fn probe(
        &mut self,
        ifindex: u32,
        mac: [u8; 6],
        addr: IpAddr,
    ) -> impl Future<Output = ()> + Send;

    // --- Accept_Mode filter ---------------------------------------------------------------

    /// Makes the Accept_Mode filter drop traffic to exactly `vips` (empty: no filter).
    fn set_filter(&mut self, vips: &BTreeSet<IpAddr>) -> impl Future<Output = Result<()>> + Send;

    // --- Exit -----------------------------------------------------------------------------

    /// Undoes what the plane created: the filter, sysctls, VMACs.
    fn release(&mut self) -> impl Future<Output = ()> + Send;
}
