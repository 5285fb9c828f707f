//! Interfaces, virtual IP addresses and VMAC macvlans over rtnetlink.
//!
//! Built on `rtnetlink` 0.24 / `netlink-packet-route` 0.34 (re-exported by
//! rtnetlink; the minor version is pinned in Cargo.toml because rust-netlink
//! breaks its API on every minor release).
//!
//! # Which addresses are ours
//!
//! Every address added by [`Netlink::add_address`] carries the address
//! protocol attribute `IFA_PROTO` = [`VRRPD_ADDR_PROTO`] (112, the VRRP
//! protocol number; Linux ≥ 5.18 stores and reports it, `ip addr` shows
//! `proto 112`). [`Netlink::find_leftover_vips`] recognises an address as a
//! leftover of an earlier run when it carries that marker, or (for IPv4, and
//! for kernels older than 5.18 which drop the attribute) when its label starts
//! with the caller's label prefix. A finite lifetime alone is *not* a marker:
//! SLAAC and DHCP addresses have finite lifetimes too.
//!
//! # VIP leases
//!
//! A VIP added with `lifetime: Some((valid, preferred))` expires on its own:
//! the kernel deletes it when `valid` seconds pass without a renewal. The
//! driver renews it with [`Netlink::renew_address`] (`NLM_F_REPLACE`, which
//! only refreshes the lifetimes of an existing address). If the daemon dies
//! uncleanly, its VIPs disappear by themselves at the end of the lease instead
//! of lingering as a split-brain hazard.

use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use futures::stream::{StreamExt, TryStreamExt};
use rtnetlink::packet_core::{
    NetlinkMessage, NetlinkPayload, NLM_F_ACK, NLM_F_CREATE, NLM_F_EXCL, NLM_F_REPLACE,
    NLM_F_REQUEST,
};
use rtnetlink::packet_route::address::{
    AddressAttribute, AddressFlags, AddressHeaderFlags, AddressMessage, AddressProtocol,
    AddressScope, CacheInfo,
};
use rtnetlink::packet_route::link::{
    AfSpecInet6, AfSpecUnspec, In6AddrGenMode, InfoKind, LinkAttribute, LinkFlags, LinkInfo,
    LinkMessage, MacVlanMode, State,
};
use rtnetlink::packet_route::{AddressFamily, RouteNetlinkMessage};
use rtnetlink::{Handle, LinkMacVlan, LinkUnspec};
use tokio::task::JoinHandle;

use crate::error::{Error, Result};

/// Value of `IFA_PROTO` on every address this crate adds (see the module docs).
pub const VRRPD_ADDR_PROTO: u8 = 112;

/// Lifetime value meaning "forever" in `IFA_CACHEINFO`.
pub const INFINITY_LIFE_TIME: u32 = u32::MAX;

/// Operational state of a link (RFC 2863 `ifOperStatus`, `IFLA_OPERSTATE`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OperState {
    /// Up and able to pass packets.
    Up,
    /// Down.
    Down,
    /// Down because the lower device is down.
    LowerLayerDown,
    /// Waiting for an external event.
    Dormant,
    /// Driver does not report a state (common for virtual devices that are up).
    Unknown,
    /// Other states (not present, testing, ...).
    Other,
}

impl From<&State> for OperState {
    fn from(s: &State) -> Self {
        match s {
            State::Up => OperState::Up,
            State::Down => OperState::Down,
            State::LowerLayerDown => OperState::LowerLayerDown,
            State::Dormant => OperState::Dormant,
            State::Unknown => OperState::Unknown,
            _ => OperState::Other,
        }
    }
}

/// What [`Netlink::interface_by_name`] reports about an interface.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InterfaceInfo {
    /// Interface index.
    pub index: u32,
    /// Interface name.
    pub name: String,
    /// Hardware address, when it is a 6-byte MAC.
    pub mac: Option<[u8; 6]>,
    /// `IFF_UP`: administratively up.
    pub up: bool,
    /// `IFF_LOWER_UP`: carrier present.
    pub lower_up: bool,
    /// `IFF_RUNNING`.
    pub running: bool,
    /// `IFF_NOARP`: no ARP on this link (GARP must be skipped).
    pub noarp: bool,
    /// Operational state.
    pub oper_state: OperState,
    /// MTU.
    pub mtu: Option<u32>,
    /// `IFLA_LINK`: the parent interface (macvlan, vlan, ...).
    pub parent: Option<u32>,
    /// Link kind (`"macvlan"`, `"veth"`, ...), if any.
    pub kind: Option<String>,
    /// The primary IPv4 address and its prefix length: the first IPv4 address
    /// that is not secondary and not a VIP of ours (the VRRP source address, RFC 9568
    /// §5.1.1.1).
    pub primary_ipv4: Option<(Ipv4Addr, u8)>,
    /// An IPv6 link-local address (non-tentative preferred, never a VIP of ours), the VRRP
    /// source address for IPv6 (§5.1.2.1).
    pub ipv6_link_local: Option<Ipv6Addr>,
    /// Every address of the interface that is not a VIP of ours.
    pub addresses: Vec<IpAddr>,
}

impl InterfaceInfo {
    /// True when the link can carry VRRP: administratively up with carrier.
    pub fn is_usable(&self) -> bool {
        self.up && self.lower_up
    }
}

/// Address scope (`ip addr ... scope`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum AddrScope {
    /// `global` / universe.
    #[default]
    Global,
    /// `site`.
    Site,
    /// `link`.
    Link,
    /// `host`.
    Host,
    /// `nowhere`.
    Nowhere,
}

impl From<AddrScope> for AddressScope {
    fn from(s: AddrScope) -> Self {
        match s {
            AddrScope::Global => AddressScope::Universe,
            AddrScope::Site => AddressScope::Site,
            AddrScope::Link => AddressScope::Link,
            AddrScope::Host => AddressScope::Host,
            AddrScope::Nowhere => AddressScope::Nowhere,
        }
    }
}

impl From<AddressScope> for AddrScope {
    fn from(s: AddressScope) -> Self {
        match s {
            AddressScope::Site => AddrScope::Site,
            AddressScope::Link => AddrScope::Link,
            AddressScope::Host => AddrScope::Host,
            AddressScope::Nowhere => AddrScope::Nowhere,
            _ => AddrScope::Global,
        }
    }
}

/// A virtual IP address to install (keepalived `virtual_ipaddress` line:
/// `ADDR[/len] [brd A] [scope S] [label L] [-nodad] [noprefixroute]
/// [preferred_lft N]`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VipSpec {
    /// The address.
    pub addr: IpAddr,
    /// Prefix length.
    pub prefix_len: u8,
    /// IPv4 label (`eth0:vip`, at most 15 bytes). Linux ignores labels on
    /// IPv6 addresses; this crate does not send one for IPv6.
    pub label: Option<String>,
    /// Scope.
    pub scope: AddrScope,
    /// IPv4 broadcast address (`brd`); `None` = no broadcast attribute.
    pub broadcast: Option<Ipv4Addr>,
    /// IPv6: skip duplicate address detection (`nodad`). Default true for
    /// IPv6 VIPs: every router of the group may have owned the address, and
    /// a VIP stuck in "tentative" cannot be used as a source.
    pub nodad: bool,
    /// Do not install the prefix route (`noprefixroute`).
    pub noprefixroute: bool,
    /// `(valid_lft, preferred_lft)` in seconds: a VIP lease. `None` = forever.
    pub lifetime: Option<(u32, u32)>,
    /// The other end of a point-to-point address (`peer`): sent as `IFA_ADDRESS`, and the
    /// prefix length is the peer's.
    pub peer: Option<IpAddr>,
    /// `IFA_F_HOMEADDRESS` (`home`, Mobile IPv6).
    pub home: bool,
    /// `IFA_F_MANAGETEMPADDR` (`mngtmpaddr`).
    pub manage_temp_addr: bool,
    /// `IFA_F_MCAUTOJOIN` (`autojoin`): the kernel joins the address's multicast group.
    pub autojoin: bool,
    /// `no_track`: a driver does not act when someone else removes the address (keepalived's
    /// VIP `no_track`).
    pub no_track: bool,
}

impl VipSpec {
    /// A VIP with defaults: no label, global scope, no broadcast,
    /// `nodad` for IPv6, prefix route, permanent.
    pub fn new(addr: IpAddr, prefix_len: u8) -> Self {
        Self {
            addr,
            prefix_len,
            label: None,
            scope: AddrScope::Global,
            broadcast: None,
            nodad: addr.is_ipv6(),
            noprefixroute: false,
            lifetime: None,
            peer: None,
            home: false,
            manage_temp_addr: false,
            autojoin: false,
            no_track: false,
        }
    }

    /// Sets the label.
    pub fn with_label(mut self, label: impl Into<String>) -> Self {
        self.label = Some(label.into());
        self
    }

    /// Sets a lease: the kernel deletes the address after `valid` seconds
    /// unless renewed; it is deprecated after `preferred` seconds.
    pub fn with_lifetime(mut self, valid: u32, preferred: u32) -> Self {
        self.lifetime = Some((valid, preferred));
        self
    }

    /// Sets the broadcast address to the all-ones host part (`brd +`), for
    /// IPv4 prefixes shorter than /31.
    pub fn with_auto_broadcast(mut self) -> Self {
        if let IpAddr::V4(a) = self.addr {
            if self.prefix_len < 31 {
                let host = u32::MAX
                    .checked_shr(u32::from(self.prefix_len))
                    .unwrap_or(0);
                self.broadcast = Some(Ipv4Addr::from(u32::from(a) | host));
            }
        }
        self
    }

    fn describe(&self) -> String {
        format!("{}/{}", self.addr, self.prefix_len)
    }

    fn to_message(&self, ifindex: u32) -> AddressMessage {
        let mut msg = AddressMessage::default();
        msg.header.family = if self.addr.is_ipv4() {
            AddressFamily::Inet
        } else {
            AddressFamily::Inet6
        };
        msg.header.prefix_len = self.prefix_len;
        msg.header.index = ifindex;
        msg.header.scope = self.scope.into();
        let mut flags = AddressFlags::empty();
        if self.nodad && self.addr.is_ipv6() {
            flags |= AddressFlags::Nodad;
            msg.header.flags |= AddressHeaderFlags::Nodad;
        }
        if self.noprefixroute {
            flags |= AddressFlags::Noprefixroute;
        }
        if self.home {
            flags |= AddressFlags::Homeaddress;
        }
        if self.manage_temp_addr {
            flags |= AddressFlags::Managetempaddr;
        }
        if self.autojoin {
            flags |= AddressFlags::Mcautojoin;
        }
        msg.attributes.push(AddressAttribute::Local(self.addr));
        msg.attributes
            .push(AddressAttribute::Address(self.peer.unwrap_or(self.addr)));
        if self.addr.is_ipv4() {
            if let Some(label) = &self.label {
                msg.attributes.push(AddressAttribute::Label(label.clone()));
            }
            if let Some(brd) = self.broadcast {
                msg.attributes.push(AddressAttribute::Broadcast(brd));
            }
        }
        if !flags.is_empty() {
            msg.attributes.push(AddressAttribute::Flags(flags));
        }
        if let Some((valid, preferred)) = self.lifetime {
            let mut ci = CacheInfo::default();
            ci.ifa_preferred = preferred.min(valid);
            ci.ifa_valid = valid;
            msg.attributes.push(AddressAttribute::CacheInfo(ci));
        }
        msg.attributes
            .push(AddressAttribute::Protocol(AddressProtocol::Other(
                VRRPD_ADDR_PROTO,
            )));
        msg
    }
}

/// An address as the kernel reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AddressInfo {
    /// Interface index.
    pub ifindex: u32,
    /// The (local) address.
    pub addr: IpAddr,
    /// Prefix length.
    pub prefix_len: u8,
    /// IPv4 label.
    pub label: Option<String>,
    /// Scope.
    pub scope: AddrScope,
    /// `IFA_F_*` flags (secondary, nodad, tentative, permanent, ...).
    pub flags: u32,
    /// Remaining valid lifetime in seconds; `None` = forever.
    pub valid_lft: Option<u32>,
    /// Remaining preferred lifetime in seconds; `None` = forever.
    pub preferred_lft: Option<u32>,
    /// `IFA_PROTO` (the origin of the address), if reported.
    pub proto: Option<u8>,
    /// The peer of a point-to-point address (`IFA_ADDRESS` other than `IFA_LOCAL`).
    pub peer: Option<IpAddr>,
}

impl AddressInfo {
    /// `IFA_F_SECONDARY`.
    pub fn is_secondary(&self) -> bool {
        self.flags & AddressFlags::Secondary.bits() != 0
    }

    /// `IFA_F_TENTATIVE` (DAD not finished) or `IFA_F_DADFAILED`.
    pub fn is_tentative(&self) -> bool {
        self.flags & (AddressFlags::Tentative.bits() | AddressFlags::Dadfailed.bits()) != 0
    }

    /// True when the address carries this crate's `IFA_PROTO` marker.
    pub fn is_vrrpd(&self) -> bool {
        self.proto == Some(VRRPD_ADDR_PROTO)
    }

    pub(crate) fn from_message_pub(msg: &AddressMessage) -> Option<Self> {
        Self::from_message(msg)
    }

    fn from_message(msg: &AddressMessage) -> Option<Self> {
        let mut local = None;
        let mut address = None;
        let mut label = None;
        let mut flags = u32::from(msg.header.flags.bits());
        let (mut valid, mut preferred) = (None, None);
        let mut proto = None;
        for attr in &msg.attributes {
            match attr {
                AddressAttribute::Local(a) => local = Some(*a),
                AddressAttribute::Address(a) => address = Some(*a),
                AddressAttribute::Label(l) => label = Some(l.clone()),
                AddressAttribute::Flags(f) => flags = f.bits(),
                AddressAttribute::CacheInfo(ci) => {
                    valid = (ci.ifa_valid != INFINITY_LIFE_TIME).then_some(ci.ifa_valid);
                    preferred =
                        (ci.ifa_preferred != INFINITY_LIFE_TIME).then_some(ci.ifa_preferred);
                }
                AddressAttribute::Protocol(p) => proto = Some(u8::from(*p)),
                _ => {}
            }
        }
        Some(AddressInfo {
            ifindex: msg.header.index,
            addr: local.or(address)?,
            peer: address.filter(|a| local.is_some_and(|l| l != *a)),
            prefix_len: msg.header.prefix_len,
            label,
            scope: msg.header.scope.into(),
            flags,
            valid_lft: valid,
            preferred_lft: preferred,
            proto,
        })
    }
}

/// Which VRRP family a VMAC is for; decides the MAC (RFC 9568 §7.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VmacFamily {
    /// 00-00-5E-00-01-{VRID}.
    V4,
    /// 00-00-5E-00-02-{VRID}.
    V6,
}

impl VmacFamily {
    /// The virtual router MAC address for `vrid`.
    pub fn mac(self, vrid: u8) -> [u8; 6] {
        let f = match self {
            VmacFamily::V4 => 1,
            VmacFamily::V6 => 2,
        };
        [0x00, 0x00, 0x5e, 0x00, f, vrid]
    }
}

/// Macvlan mode for a VMAC device.
///
/// keepalived uses `Private`; FRR and holo use `Bridge` (which lets the VMAC
/// device hear the adverts of the other routers through the parent).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum MacvlanMode {
    /// No traffic between macvlans of one parent (keepalived's choice).
    #[default]
    Private,
    /// Traffic hairpinned by the external switch.
    Vepa,
    /// Macvlans of one parent talk to each other directly (FRR, holo).
    Bridge,
}

impl From<MacvlanMode> for MacVlanMode {
    fn from(m: MacvlanMode) -> Self {
        match m {
            MacvlanMode::Private => MacVlanMode::Private,
            MacvlanMode::Vepa => MacVlanMode::Vepa,
            MacvlanMode::Bridge => MacVlanMode::Bridge,
        }
    }
}

/// IPv6 address generation mode of a VMAC macvlan (`ip link set X addrgenmode M`).
/// Either way no interface identifier is derived from the VMAC (RFC 9568 §7.4, R39, P5).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum VmacAddrGen {
    /// A random (RFC 7217 with a random secret) link-local address.
    #[default]
    Random,
    /// No automatic IPv6 address at all.
    None,
}

/// Deletes a link with a blocking netlink request, outside any async runtime (for `Drop`
/// implementations that must not leave a VMAC behind). `ENODEV` counts as success.
pub fn delete_link_blocking(ifindex: u32) -> Result<()> {
    use rtnetlink::sys::{protocols::NETLINK_ROUTE, Socket, SocketAddr};
    let ctx = || format!("deleting link {ifindex}");
    let io = |e: std::io::Error| Error::io(ctx(), &format!("ifindex {ifindex}"), e);
    let mut sock = Socket::new(NETLINK_ROUTE).map_err(io)?;
    sock.bind_auto().map_err(io)?;
    sock.connect(&SocketAddr::new(0, 0)).map_err(io)?;
    let mut link = LinkMessage::default();
    link.header.index = ifindex;
    let mut req = NetlinkMessage::from(RouteNetlinkMessage::DelLink(link));
    req.header.flags = NLM_F_REQUEST | NLM_F_ACK;
    req.header.sequence_number = 1;
    req.finalize();
    let mut buf = vec![0u8; req.buffer_len()];
    req.serialize(&mut buf);
    sock.send(&buf, 0).map_err(io)?;
    let mut rx: Vec<u8> = Vec::with_capacity(8192);
    sock.recv(&mut rx, 0).map_err(io)?;
    let msg =
        NetlinkMessage::<RouteNetlinkMessage>::deserialize(&rx).map_err(|e| Error::Invalid {
            context: ctx(),
            message: e.to_string(),
        })?;
    match msg.payload {
        NetlinkPayload::Error(e) => match e.code {
            None => Ok(()),
            Some(code) if -code.get() == libc::ENODEV => Ok(()),
            Some(code) => {
                let errno = -code.get();
                Err(Error::Netlink {
                    context: ctx(),
                    errno,
                    source: std::io::Error::from_raw_os_error(errno),
                })
            }
        },
        _ => Ok(()),
    }
}

/// What kind of object an operation was on, to map `EEXIST`.
#[derive(Clone, Copy)]
enum Obj {
    Address,
    Link,
    Route,
    Other,
}

/// A route-netlink connection. Create it inside the tokio runtime (and the
/// network namespace) that will use it; the connection task is aborted when
/// this value is dropped.
#[derive(Debug)]
pub struct Netlink {
    handle: Handle,
    task: JoinHandle<()>,
}

impl Drop for Netlink {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl Netlink {
    /// Opens a route-netlink socket and spawns its connection task on the
    /// current tokio runtime.
    pub fn new() -> Result<Self> {
        let (conn, handle, _) = rtnetlink::new_connection()
            .map_err(|e| Error::io("opening a route netlink socket", "-", e))?;
        let task = tokio::spawn(conn);
        Ok(Self { handle, task })
    }

    /// The underlying rtnetlink handle, for requests this type does not wrap.
    pub fn handle(&self) -> &Handle {
        &self.handle
    }

    fn map_err(&self, context: String, iface: &str, obj: Obj, e: rtnetlink::Error) -> Error {
        match e {
            rtnetlink::Error::NetlinkError(msg) => {
                let errno = -msg.raw_code();
                match errno {
                    libc::EEXIST => match obj {
                        Obj::Address => Error::AddressExists { context },
                        Obj::Link => Error::LinkExists { context },
                        Obj::Route => Error::RouteExists { context },
                        Obj::Other => Error::Netlink {
                            context,
                            errno,
                            source: std::io::Error::from_raw_os_error(errno),
                        },
                    },
                    libc::EADDRNOTAVAIL => Error::AddressNotFound { context },
                    libc::ESRCH | libc::ENOENT if matches!(obj, Obj::Route) => {
                        Error::RouteNotFound { context }
                    }
                    libc::ENODEV => Error::InterfaceNotFound(iface.to_string()),
                    libc::EPERM | libc::EACCES => Error::PermissionDenied { context },
                    _ => Error::Netlink {
                        context,
                        errno,
                        source: std::io::Error::from_raw_os_error(errno),
                    },
                }
            }
            other => Error::Invalid {
                context,
                message: other.to_string(),
            },
        }
    }

    /// Name of `ifindex` for messages: the interface name, or `ifindex N`.
    pub async fn describe(&self, ifindex: u32) -> String {
        match self.link_message_by_index(ifindex).await {
            Ok(Some(m)) => link_name(&m).unwrap_or_else(|| format!("ifindex {ifindex}")),
            _ => format!("ifindex {ifindex}"),
        }
    }

    async fn link_message_by_index(
        &self,
        ifindex: u32,
    ) -> Result<Option<LinkMessage>, rtnetlink::Error> {
        let mut s = self.handle.link().get().match_index(ifindex).execute();
        match s.try_next().await {
            Ok(m) => Ok(m),
            Err(rtnetlink::Error::NetlinkError(e)) if -e.raw_code() == libc::ENODEV => Ok(None),
            Err(e) => Err(e),
        }
    }

    async fn send_ack(&self, msg: RouteNetlinkMessage, flags: u16) -> Result<(), rtnetlink::Error> {
        let mut req = NetlinkMessage::from(msg);
        req.header.flags = NLM_F_REQUEST | NLM_F_ACK | flags;
        let mut handle = self.handle.clone();
        let mut resp = handle.request(req)?;
        while let Some(m) = resp.next().await {
            if let NetlinkPayload::Error(e) = m.payload {
                if e.code.is_some() {
                    return Err(rtnetlink::Error::NetlinkError(e));
                }
            }
        }
        Ok(())
    }

    /// Looks an interface up by name: index, MAC, flags, operational state,
    /// primary IPv4 and IPv6 link-local address.
    pub async fn interface_by_name(&self, name: &str) -> Result<InterfaceInfo> {
        match self.link_message_by_name(name).await? {
            Some(msg) => self.interface_from_message(&msg).await,
            None => Err(Error::InterfaceNotFound(name.to_string())),
        }
    }

    /// Looks several interfaces up by name, as [`Netlink::interface_by_name`] does, with the
    /// link requests in flight together and a single address dump for all of them (instead
    /// of one dump per interface: the kernel has no per-interface address dump without strict
    /// checking, each one lists every address of the host). Names that do not exist are left
    /// out of the map.
    pub async fn interfaces_by_name(
        &self,
        names: &[&str],
    ) -> Result<HashMap<String, InterfaceInfo>> {
        let lookups = names.iter().map(|name| self.link_message_by_name(name));
        let (links, addrs) = tokio::join!(
            futures::future::join_all(lookups),
            self.list_all_addresses()
        );
        let addrs = addrs?;
        let mut found = HashMap::new();
        for (name, msg) in names.iter().zip(links) {
            if let Some(msg) = msg? {
                let mut info = link_info_from_message(&msg);
                let index = info.index;
                set_source_addresses(&mut info, addrs.iter().filter(|a| a.ifindex == index));
                found.insert((*name).to_string(), info);
            }
        }
        Ok(found)
    }

    /// The link message of interface `name`; `None` if there is no such interface.
    async fn link_message_by_name(&self, name: &str) -> Result<Option<LinkMessage>> {
        let mut s = self
            .handle
            .link()
            .get()
            .match_name(name.to_string())
            .execute();
        match s.try_next().await {
            Ok(m) => Ok(m),
            Err(rtnetlink::Error::NetlinkError(e)) if -e.raw_code() == libc::ENODEV => Ok(None),
            Err(e) => {
                Err(self.map_err(format!("looking up interface {name}"), name, Obj::Other, e))
            }
        }
    }

    /// Looks an interface up by index.
    pub async fn interface_by_index(&self, ifindex: u32) -> Result<InterfaceInfo> {
        match self.link_message_by_index(ifindex).await {
            Ok(Some(m)) => self.interface_from_message(&m).await,
            Ok(None) => Err(Error::InterfaceNotFound(format!("ifindex {ifindex}"))),
            Err(e) => Err(self.map_err(
                format!("looking up interface {ifindex}"),
                &format!("ifindex {ifindex}"),
                Obj::Other,
                e,
            )),
        }
    }

    async fn interface_from_message(&self, msg: &LinkMessage) -> Result<InterfaceInfo> {
        let mut info = link_info_from_message(msg);
        let addrs = self.list_addresses(info.index).await?;
        set_source_addresses(&mut info, addrs.iter());
        Ok(info)
    }

    /// Lists the addresses on `ifindex` (both families).
    pub async fn list_addresses(&self, ifindex: u32) -> Result<Vec<AddressInfo>> {
        let s = self
            .handle
            .address()
            .get()
            .set_link_index_filter(ifindex)
            .execute();
        let msgs: Vec<AddressMessage> = match s.try_collect().await {
            Ok(v) => v,
            Err(e) => {
                let name = self.describe(ifindex).await;
                return Err(self.map_err(
                    format!("listing addresses of {name}"),
                    &name,
                    Obj::Other,
                    e,
                ));
            }
        };
        Ok(msgs.iter().filter_map(AddressInfo::from_message).collect())
    }

    /// Lists every address of every interface (both families) in one dump.
    pub async fn list_all_addresses(&self) -> Result<Vec<AddressInfo>> {
        let s = self.handle.address().get().execute();
        match s.try_collect::<Vec<AddressMessage>>().await {
            Ok(msgs) => Ok(msgs.iter().filter_map(AddressInfo::from_message).collect()),
            Err(e) => Err(self.map_err("listing addresses".into(), "-", Obj::Other, e)),
        }
    }

    /// Adds a VIP. Fails with [`Error::AddressExists`] if it is already there.
    pub async fn add_address(&self, ifindex: u32, vip: &VipSpec) -> Result<()> {
        let r = self
            .send_ack(
                RouteNetlinkMessage::NewAddress(vip.to_message(ifindex)),
                NLM_F_CREATE | NLM_F_EXCL,
            )
            .await;
        match r {
            Ok(()) => {
                tracing::debug!(ifindex, addr = %vip.addr, prefix_len = vip.prefix_len, "VIP added");
                Ok(())
            }
            Err(e) => {
                let name = self.describe(ifindex).await;
                Err(self.map_err(
                    format!("adding {} to {name}", vip.describe()),
                    &name,
                    Obj::Address,
                    e,
                ))
            }
        }
    }

    /// Adds a VIP or, if present, replaces its attributes (`NLM_F_REPLACE`):
    /// this is how a lease is renewed.
    pub async fn renew_address(&self, ifindex: u32, vip: &VipSpec) -> Result<()> {
        let r = self
            .send_ack(
                RouteNetlinkMessage::NewAddress(vip.to_message(ifindex)),
                NLM_F_CREATE | NLM_F_REPLACE,
            )
            .await;
        if let Err(e) = r {
            let name = self.describe(ifindex).await;
            return Err(self.map_err(
                format!("renewing {} on {name}", vip.describe()),
                &name,
                Obj::Address,
                e,
            ));
        }
        Ok(())
    }

    /// Removes an address. Fails with [`Error::AddressNotFound`] if absent.
    pub async fn del_address(&self, ifindex: u32, addr: IpAddr, prefix_len: u8) -> Result<()> {
        self.del_peer_address(ifindex, addr, prefix_len, None).await
    }

    /// Removes an address with its point-to-point `peer`, if it has one (the kernel matches
    /// an IPv4 address by its peer, not its local address). Fails with
    /// [`Error::AddressNotFound`] if absent.
    pub async fn del_peer_address(
        &self,
        ifindex: u32,
        addr: IpAddr,
        prefix_len: u8,
        peer: Option<IpAddr>,
    ) -> Result<()> {
        let mut msg = AddressMessage::default();
        msg.header.family = if addr.is_ipv4() {
            AddressFamily::Inet
        } else {
            AddressFamily::Inet6
        };
        msg.header.prefix_len = prefix_len;
        msg.header.index = ifindex;
        msg.attributes.push(AddressAttribute::Local(addr));
        msg.attributes
            .push(AddressAttribute::Address(peer.unwrap_or(addr)));
        match self.send_ack(RouteNetlinkMessage::DelAddress(msg), 0).await {
            Ok(()) => {
                tracing::debug!(ifindex, %addr, prefix_len, "address removed");
                Ok(())
            }
            Err(e) => {
                let name = self.describe(ifindex).await;
                Err(self.map_err(
                    format!("removing {addr}/{prefix_len} from {name}"),
                    &name,
                    Obj::Address,
                    e,
                ))
            }
        }
    }

    /// Adds a route. Fails with [`Error::RouteExists`] if an identical one is there.
    pub async fn add_route(&self, route: &crate::route::ResolvedRoute) -> Result<()> {
        let msg = RouteNetlinkMessage::NewRoute(route.to_message());
        let what = || format!("adding route {}", route.spec);
        self.send_ack(msg, NLM_F_CREATE | NLM_F_EXCL)
            .await
            .map_err(|e| self.map_err(what(), "-", Obj::Route, e))
    }

    /// Removes a route. Fails with [`Error::RouteNotFound`] if absent.
    pub async fn del_route(&self, route: &crate::route::ResolvedRoute) -> Result<()> {
        let msg = RouteNetlinkMessage::DelRoute(route.to_message());
        let what = || format!("removing route {}", route.spec);
        self.send_ack(msg, 0)
            .await
            .map_err(|e| self.map_err(what(), "-", Obj::Route, e))
    }

    /// Adds a policy rule. Fails with [`Error::RouteExists`] if an identical one is there.
    pub async fn add_rule(&self, rule: &crate::route::RuleSpec) -> Result<()> {
        let msg = RouteNetlinkMessage::NewRule(rule.to_message());
        self.send_ack(msg, NLM_F_CREATE | NLM_F_EXCL)
            .await
            .map_err(|e| self.map_err(format!("adding rule {rule}"), "-", Obj::Route, e))
    }

    /// Removes a policy rule. Fails with [`Error::RouteNotFound`] if absent.
    pub async fn del_rule(&self, rule: &crate::route::RuleSpec) -> Result<()> {
        let msg = RouteNetlinkMessage::DelRule(rule.to_message());
        self.send_ack(msg, 0)
            .await
            .map_err(|e| self.map_err(format!("removing rule {rule}"), "-", Obj::Route, e))
    }

    /// Finds addresses on `ifindex` that an earlier run of this daemon left
    /// behind: those with the `IFA_PROTO` marker, plus IPv4 addresses whose
    /// label starts with `label_prefix` (ignored when empty).
    pub async fn find_leftover_vips(
        &self,
        ifindex: u32,
        label_prefix: &str,
    ) -> Result<Vec<AddressInfo>> {
        Ok(self
            .list_addresses(ifindex)
            .await?
            .into_iter()
            .filter(|a| {
                a.is_vrrpd()
                    || (!label_prefix.is_empty()
                        && a.label
                            .as_deref()
                            .is_some_and(|l| l.starts_with(label_prefix)))
            })
            .collect())
    }

    /// Creates a VMAC macvlan `name` on `parent_ifindex` with MAC
    /// 00:00:5e:00:0{1,2}:VRID, sets IPv6 `addrgenmode random` before the
    /// link comes up (RFC 9568 §7.4: no interface identifier from the VMAC,
    /// pitfall P5), then brings it up. Returns the new ifindex. On failure
    /// after creation the link is deleted again.
    pub async fn create_vmac(
        &self,
        parent_ifindex: u32,
        name: &str,
        vrid: u8,
        family: VmacFamily,
        mode: MacvlanMode,
    ) -> Result<u32> {
        self.create_vmac_with(
            parent_ifindex,
            name,
            vrid,
            family,
            mode,
            VmacAddrGen::Random,
        )
        .await
    }

    /// Like [`Netlink::create_vmac`] with a choice of IPv6 address generation mode.
    /// [`VmacAddrGen::None`] (what the driver uses) gives the VMAC no IPv6 address of its
    /// own: it stays silent while Backup (no DAD, MLD or router solicitation sent with the
    /// shared virtual MAC) and only carries the VIPs while Active.
    pub async fn create_vmac_with(
        &self,
        parent_ifindex: u32,
        name: &str,
        vrid: u8,
        family: VmacFamily,
        mode: MacvlanMode,
        addr_gen: VmacAddrGen,
    ) -> Result<u32> {
        let mac = family.mac(vrid);
        let ctx = format!(
            "creating VMAC {name} ({}) on {}",
            fmt_mac(&mac),
            self.describe(parent_ifindex).await
        );
        let msg = LinkMacVlan::new(name, parent_ifindex, mode.into())
            .address(mac.to_vec())
            .build();
        if let Err(e) = self.handle.link().add(msg).execute().await {
            return Err(self.map_err(ctx, name, Obj::Link, e));
        }
        let info = self.interface_by_name(name).await?;
        let idx = info.index;
        let result = async {
            let gen = LinkUnspec::new_with_index(idx)
                .append_extra_attribute(LinkAttribute::AfSpecUnspec(vec![AfSpecUnspec::Inet6(vec![
                    AfSpecInet6::AddrGenMode(match addr_gen {
                        VmacAddrGen::Random => In6AddrGenMode::Random,
                        VmacAddrGen::None => In6AddrGenMode::None,
                    }),
                ])]))
                .build();
            if let Err(e) = self.handle.link().set(gen).execute().await {
                if family == VmacFamily::V6 {
                    return Err(self.map_err(format!("{ctx}: setting addrgenmode {addr_gen:?}"), name, Obj::Other, e));
                }
                tracing::warn!(interface = name, error = %e, "could not set the IPv6 addrgenmode (IPv6 disabled?)");
            }
            self.set_link_up(idx, true).await
        }
        .await;
        if let Err(e) = result {
            let _ = self.handle.link().del(idx).execute().await;
            return Err(e);
        }
        tracing::info!(interface = name, ifindex = idx, parent = parent_ifindex, mac = %fmt_mac(&mac), "VMAC created");
        Ok(idx)
    }

    /// Sets a link administratively up or down.
    pub async fn set_link_up(&self, ifindex: u32, up: bool) -> Result<()> {
        let b = LinkUnspec::new_with_index(ifindex);
        let msg = if up { b.up() } else { b.down() }.build();
        if let Err(e) = self.handle.link().set(msg).execute().await {
            let name = self.describe(ifindex).await;
            let what = if up { "up" } else { "down" };
            return Err(self.map_err(format!("setting {name} {what}"), &name, Obj::Other, e));
        }
        Ok(())
    }

    /// Sets or clears `protodown` on a link (the FRR way of silencing a
    /// Backup's VMAC; needs driver support, macvlan has it since Linux 5.1).
    pub async fn set_protodown(&self, ifindex: u32, on: bool) -> Result<()> {
        let msg = LinkUnspec::new_with_index(ifindex).protodown(on).build();
        if let Err(e) = self.handle.link().set(msg).execute().await {
            let name = self.describe(ifindex).await;
            return Err(self.map_err(
                format!("setting protodown {on} on {name}"),
                &name,
                Obj::Other,
                e,
            ));
        }
        Ok(())
    }

    /// Deletes a link (a VMAC this daemon created).
    pub async fn delete_link(&self, ifindex: u32) -> Result<()> {
        let name = self.describe(ifindex).await;
        if let Err(e) = self.handle.link().del(ifindex).execute().await {
            return Err(self.map_err(format!("deleting link {name}"), &name, Obj::Other, e));
        }
        tracing::info!(interface = %name, ifindex, "link deleted");
        Ok(())
    }

    /// Reads the IPv6 address generation mode of a link, if reported.
    pub async fn addr_gen_mode(&self, ifindex: u32) -> Result<Option<u8>> {
        let m = match self.link_message_by_index(ifindex).await {
            Ok(Some(m)) => m,
            Ok(None) => return Err(Error::InterfaceNotFound(format!("ifindex {ifindex}"))),
            Err(e) => {
                let name = format!("ifindex {ifindex}");
                return Err(self.map_err(format!("reading {name}"), &name, Obj::Other, e));
            }
        };
        for attr in &m.attributes {
            if let LinkAttribute::AfSpecUnspec(specs) = attr {
                for s in specs {
                    if let AfSpecUnspec::Inet6(v6) = s {
                        for a in v6 {
                            if let AfSpecInet6::AddrGenMode(mode) = a {
                                return Ok(Some(u8::from(mode)));
                            }
                        }
                    }
                }
            }
        }
        Ok(None)
    }
}

fn is_link_local(a: &Ipv6Addr) -> bool {
    (a.segments()[0] & 0xffc0) == 0xfe80
}

/// Formats a MAC as `00:00:5e:00:01:01`.
pub fn fmt_mac(mac: &[u8; 6]) -> String {
    format!(
        "{:02x}:{:02x}:{:02x}:{:02x}:{:02x}:{:02x}",
        mac[0], mac[1], mac[2], mac[3], mac[4], mac[5]
    )
}

pub(crate) fn link_name(msg: &LinkMessage) -> Option<String> {
    msg.attributes.iter().find_map(|a| match a {
        LinkAttribute::IfName(n) => Some(n.clone()),
        _ => None,
    })
}

/// Sets the VRRP source addresses of `info` from `addrs`, the addresses of that interface:
/// the primary IPv4 address and the IPv6 link-local. Addresses this daemon installed (VIPs,
/// possibly left by an earlier run) are never the interface's own source address.
fn set_source_addresses<'a>(
    info: &mut InterfaceInfo,
    addrs: impl Iterator<Item = &'a AddressInfo>,
) {
    let addrs: Vec<&AddressInfo> = addrs.filter(|a| !a.is_vrrpd()).collect();
    info.addresses = addrs.iter().map(|a| a.addr).collect();
    info.primary_ipv4 = addrs.iter().find_map(|a| match a.addr {
        IpAddr::V4(v4) if !a.is_secondary() => Some((v4, a.prefix_len)),
        _ => None,
    });
    let lls: Vec<&&AddressInfo> = addrs
        .iter()
        .filter(|a| matches!(a.addr, IpAddr::V6(v6) if is_link_local(&v6)))
        .collect();
    info.ipv6_link_local = lls
        .iter()
        .find(|a| !a.is_tentative())
        .or(lls.first())
        .and_then(|a| match a.addr {
            IpAddr::V6(v6) => Some(v6),
            IpAddr::V4(_) => None,
        });
}

/// Builds the link part of [`InterfaceInfo`] (no addresses) from a link message.
pub(crate) fn link_info_from_message(msg: &LinkMessage) -> InterfaceInfo {
    let flags = msg.header.flags;
    let mut info = InterfaceInfo {
        index: msg.header.index,
        name: String::new(),
        mac: None,
        up: flags.contains(LinkFlags::Up),
        lower_up: flags.contains(LinkFlags::LowerUp),
        running: flags.contains(LinkFlags::Running),
        noarp: flags.contains(LinkFlags::Noarp),
        oper_state: OperState::Unknown,
        mtu: None,
        parent: None,
        kind: None,
        primary_ipv4: None,
        ipv6_link_local: None,
        addresses: Vec::new(),
    };
    for attr in &msg.attributes {
        match attr {
            LinkAttribute::IfName(n) => info.name = n.clone(),
            LinkAttribute::Address(a) if a.len() == 6 => {
                let mut m = [0u8; 6];
                m.copy_from_slice(a);
                info.mac = Some(m);
            }
            LinkAttribute::OperState(s) => info.oper_state = s.into(),
            LinkAttribute::Mtu(m) => info.mtu = Some(*m),
            LinkAttribute::Link(p) => info.parent = Some(*p),
            LinkAttribute::LinkInfo(infos) => {
                for i in infos {
                    if let LinkInfo::Kind(k) = i {
                        info.kind = Some(kind_name(k));
                    }
                }
            }
            _ => {}
        }
    }
    info
}

fn kind_name(k: &InfoKind) -> String {
    match k {
        InfoKind::MacVlan => "macvlan".into(),
        InfoKind::Veth => "veth".into(),
        InfoKind::Bridge => "bridge".into(),
        InfoKind::Dummy => "dummy".into(),
        InfoKind::Vlan => "vlan".into(),
        other => format!("{other:?}").to_lowercase(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vmac_addresses_follow_rfc9568_7_3() {
        assert_eq!(VmacFamily::V4.mac(1), [0, 0, 0x5e, 0, 1, 1]);
        assert_eq!(VmacFamily::V6.mac(255), [0, 0, 0x5e, 0, 2, 255]);
        assert_eq!(fmt_mac(&VmacFamily::V4.mac(51)), "00:00:5e:00:01:33");
    }

    #[test]
    fn vip_message_carries_marker_label_lifetime_and_nodad() {
        let v4 = VipSpec::new("192.0.2.10".parse().unwrap(), 24)
            .with_label("eth0:vip")
            .with_lifetime(30, 20)
            .with_auto_broadcast();
        assert_eq!(v4.broadcast, Some(Ipv4Addr::new(192, 0, 2, 255)));
        let m = v4.to_message(7);
        assert_eq!(m.header.index, 7);
        assert_eq!(m.header.prefix_len, 24);
        assert!(m
            .attributes
            .contains(&AddressAttribute::Label("eth0:vip".into())));
        assert!(m
            .attributes
            .contains(&AddressAttribute::Protocol(AddressProtocol::Other(112))));
        assert!(m.attributes.iter().any(|a| matches!(a,
            AddressAttribute::CacheInfo(c) if c.ifa_valid == 30 && c.ifa_preferred == 20)));

        let v6 = VipSpec::new("2001:db8::10".parse().unwrap(), 64).with_label("ignored");
        assert!(v6.nodad);
        let m = v6.to_message(7);
        assert!(!m
            .attributes
            .iter()
            .any(|a| matches!(a, AddressAttribute::Label(_))));
        assert!(m
            .attributes
            .contains(&AddressAttribute::Flags(AddressFlags::Nodad)));
    }
}
