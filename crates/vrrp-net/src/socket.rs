//! Raw VRRP (IP protocol 112) sockets, one per address family per interface.
//!
//! One socket per family per interface is shared by every virtual router on
//! that interface: the driver demultiplexes received messages by VRID. The
//! sockets move raw VRRP messages plus metadata; checksums and parsing are
//! `vrrp-core`'s job (RFC 9568 P1/P2: the checksum form is decided there, so
//! `IPV6_CHECKSUM` is deliberately **not** set and bad checksums reach user
//! space where they can be counted).
//!
//! Socket setup (both families): bound to the device (`SO_BINDTODEVICE`), joined
//! to 224.0.0.18 / ff02::12 on the interface index, multicast interface set
//! (IPv6: `IPV6_MULTICAST_IF`; IPv4: through the device binding, see `open`),
//! multicast TTL / hop limit 255 and unicast TTL / hop limit 255 (RFC 9568
//! §5.1.1.3 / §5.1.2.3, pitfall P5), multicast loopback off, `IP_MULTICAST_ALL`
//! off, TOS / traffic class 0xc0 (internetwork control, as keepalived and holo).
//!
//! **Transmit**: `IP_HDRINCL` is off. The kernel builds the IP header from the
//! socket options (TOS 0xc0, TTL 255, protocol 112) and picks the source
//! address: the interface's primary IPv4 address / its IPv6 link-local address
//! for the VRRP groups. Because the VRRP checksum (IPv6 always, IPv4 in the
//! RFC 5798 form) covers the source address, a driver that needs a known
//! source should call [`VrrpSocketV4::send_from`] / [`VrrpSocketV6::send_from`],
//! which pin the source with an `IP_PKTINFO` / `IPV6_PKTINFO` control message
//! (the address must be configured on the host). Not using `IP_HDRINCL` keeps
//! the IP ID, DF and header checksum the kernel's business and lets
//! `IP_PKTINFO` source selection work the same way for both families.
//!
//! **Receive**: IPv4 raw sockets deliver the IP header; the TTL, source and
//! destination are read from it and the payload is cut to the IP total length
//! (pitfall P11: Ethernet padding; the kernel already trims it, the cut is
//! defensive). IPv6 raw sockets do not deliver the header, so
//! `IPV6_RECVHOPLIMIT` and `IPV6_RECVPKTINFO` provide the hop limit and the
//! destination. [`Received`] borrows the caller's buffer: nothing is allocated
//! per packet. The largest VRRP message is 8 + 255 × 16 = 4088 bytes; a
//! 4096-byte buffer plus 60 bytes of IPv4 header is always enough.
//!
//! **Structure**: both socket types wrap a private `SocketCore` that holds the descriptor,
//! the interface, the drop counters, the receive retry loop and the two send paths. A family
//! contributes only what really differs: its setup (`FamilySetup`: group, options), its
//! one-shot `recvmsg` (`recv_v4` parses the IP header, `recv_v6` reads control messages) and
//! the addresses and packet-info of its sends.

use std::fmt;
use std::io::{self, IoSlice, IoSliceMut};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddrV4, SocketAddrV6};
use std::os::fd::AsRawFd;
use std::sync::atomic::{AtomicU64, Ordering};

use nix::sys::socket::{
    recvmsg, sendmsg, setsockopt, sockopt, ControlMessage, ControlMessageOwned, MsgFlags,
    SockaddrIn, SockaddrIn6, SockaddrLike,
};
use socket2::{Domain, InterfaceIndexOrAddress, Protocol, SockAddr, Socket, Type};
use tokio::io::unix::AsyncFd;
use tokio::io::Interest;

use crate::error::{Error, Result};
use crate::{IPPROTO_VRRP, VRRP_GROUP_V4, VRRP_GROUP_V6};

/// TOS / traffic class used for VRRP packets (DSCP CS6, "internetwork control").
pub const VRRP_TOS: u8 = 0xc0;
/// TTL / hop limit VRRP packets are sent with and must arrive with (RFC 9568 R24).
pub const VRRP_TTL: u8 = 255;
/// A receive buffer size that always holds the largest VRRP message plus an
/// IPv4 header.
pub const RECV_BUFFER_SIZE: usize = 4096 + 60;

/// A received VRRP message and where it came from.
///
/// `payload` borrows the buffer passed to `recv`; it starts at the VRRP
/// version/type byte and ends where the IP packet ends (not where the frame
/// ends: Ethernet padding is never included).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Received<'a> {
    /// IP source address.
    pub src: IpAddr,
    /// IP destination address (224.0.0.18 / ff02::12, or a unicast address).
    pub dst: IpAddr,
    /// IPv4 TTL or IPv6 hop limit as received (0 if the kernel did not report
    /// it, which a receiver must treat as "not 255").
    pub ttl_or_hoplimit: u8,
    /// Index of the interface the packet arrived on.
    pub ifindex: u32,
    /// The VRRP message.
    pub payload: &'a [u8],
}

/// How a VRRP socket is set up ([`VrrpSocket::open_with`]). The default is the receive
/// and send socket of an interface.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OpenOptions {
    /// Join 224.0.0.18 / ff02::12 on the interface (default true).
    pub join_group: bool,
    /// Queue received packets (default true). When false a drop-all socket filter is
    /// attached: the socket only sends and never accumulates a receive queue (the send
    /// socket of a VMAC macvlan whose adverts are received elsewhere).
    pub receive: bool,
    /// Allow a source address that is not configured on this interface (`IP_FREEBIND` /
    /// `IPV6_FREEBIND`; default false). A VMAC macvlan sends IPv6 adverts from the parent's
    /// link-local address, which the kernel otherwise only accepts on the parent.
    pub nonlocal_source: bool,
}

impl Default for OpenOptions {
    fn default() -> Self {
        Self {
            join_group: true,
            receive: true,
            nonlocal_source: false,
        }
    }
}

impl OpenOptions {
    /// A send-only socket: no group membership, nothing queued on receive.
    pub fn send_only() -> Self {
        Self {
            join_group: false,
            receive: false,
            nonlocal_source: false,
        }
    }
}

/// The address family of a socket, as error messages and log lines name it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Af {
    V4,
    V6,
}

impl Af {
    /// "IPv4" / "IPv6": the family in error messages.
    fn name(self) -> &'static str {
        match self {
            Af::V4 => "IPv4",
            Af::V6 => "IPv6",
        }
    }

    /// "ipv4" / "ipv6": the `family` field of log lines.
    fn log_name(self) -> &'static str {
        match self {
            Af::V4 => "ipv4",
            Af::V6 => "ipv6",
        }
    }

    /// The socket domain.
    fn domain(self) -> Domain {
        match self {
            Af::V4 => Domain::IPV4,
            Af::V6 => Domain::IPV6,
        }
    }

    /// Whether `addr` is of this family.
    fn includes(self, addr: IpAddr) -> bool {
        match self {
            Af::V4 => addr.is_ipv4(),
            Af::V6 => addr.is_ipv6(),
        }
    }
}

/// A classic BPF program of one instruction, `ret #0`: drop every packet.
fn drop_all(sock: &Socket, ifname: &str, what: &str) -> Result<()> {
    const BPF_RET_K: u16 = 0x06;
    sock.attach_filter(&[socket2::SockFilter::new(BPF_RET_K, 0, 0, 0)])
        .map_err(|e| {
            Error::io(
                format!("attaching a drop-all filter to the {what} VRRP socket on {ifname}"),
                ifname,
                e,
            )
        })
}

/// Per-socket counters of packets dropped before they reach the caller.
#[derive(Debug, Default)]
struct Drops {
    malformed: AtomicU64,
    truncated: AtomicU64,
}

/// Control-message buffer, aligned for `cmsghdr`, on the stack.
#[repr(C, align(8))]
struct CmsgBuf([u8; 128]);

/// Metadata of one received packet: the payload is `buf[start..end]`.
struct Meta {
    src: IpAddr,
    dst: IpAddr,
    ttl: u8,
    ifindex: u32,
    start: usize,
    end: usize,
}

impl Meta {
    fn into_received(self, buf: &[u8]) -> Received<'_> {
        Received {
            src: self.src,
            dst: self.dst,
            ttl_or_hoplimit: self.ttl,
            ifindex: self.ifindex,
            payload: &buf[self.start..self.end],
        }
    }
}

/// One non-blocking `recvmsg` of one family: the packet's metadata, `Ok(None)` for a packet
/// with an inconsistent IP header, `EMSGSIZE` for one that did not fit the buffer.
type RecvOnce = fn(&Socket, &mut [u8]) -> io::Result<Option<Meta>>;

fn nix_err(e: nix::Error) -> io::Error {
    io::Error::from(e)
}

/// The error of setting socket option `opt` on the `af` socket on `ifname`.
fn sockopt_error<'a>(
    af: Af,
    ifname: &'a str,
    opt: &'a str,
) -> impl FnOnce(io::Error) -> Error + 'a {
    move |e| {
        Error::io(
            format!("setting {opt} on the {} VRRP socket on {ifname}", af.name()),
            ifname,
            e,
        )
    }
}

/// Opens a non-blocking raw protocol-112 socket of `af` bound to `ifname`, with the
/// drop-all filter when `opts` says it never receives. Family options come next.
fn open_raw(af: Af, ifname: &str, opts: OpenOptions) -> Result<Socket> {
    let what = af.name();
    let opening = |e| {
        Error::io(
            format!("opening the {what} VRRP socket on {ifname}"),
            ifname,
            e,
        )
    };
    let sock = Socket::new(
        af.domain(),
        Type::RAW,
        Some(Protocol::from(i32::from(IPPROTO_VRRP))),
    )
    .map_err(opening)?;
    sock.set_nonblocking(true).map_err(opening)?;
    sock.set_cloexec(true).map_err(opening)?;
    sock.bind_device(Some(ifname.as_bytes())).map_err(|e| {
        Error::io(
            format!("binding the {what} VRRP socket to {ifname}"),
            ifname,
            e,
        )
    })?;
    if opts.receive {
        grow_receive_queue(&sock, ifname, what);
    } else {
        drop_all(&sock, ifname, what)?;
    }
    Ok(sock)
}

/// Receive queue of a receiving VRRP socket: room for about 1,000 adverts (~100 ms of 1,000
/// virtual routers at 100 ms), so a busy moment of the daemon does not drop adverts and make
/// a Backup take over. `SO_RCVBUFFORCE` (root, above `net.core.rmem_max`), else `SO_RCVBUF`
/// (capped by the kernel); a failure only costs headroom, so it is logged, not fatal.
const RECEIVE_QUEUE_BYTES: usize = 1 << 20;

fn grow_receive_queue(sock: &Socket, ifname: &str, what: &str) {
    let forced = setsockopt(sock, sockopt::RcvBufForce, &RECEIVE_QUEUE_BYTES);
    if let Err(e) = forced
        .map_err(io::Error::from)
        .or_else(|_| sock.set_recv_buffer_size(RECEIVE_QUEUE_BYTES))
    {
        tracing::warn!(interface = ifname, family = what, error = %e,
            "could not grow the VRRP receive queue");
    }
}

/// A socket option: its name (for errors) and how to set it (given the interface index).
type SocketOption = (&'static str, fn(&Socket, u32) -> io::Result<()>);

/// How a family's socket is set up after [`open_raw`]: everything `open_with` does that
/// differs between IPv4 and IPv6.
struct FamilySetup {
    af: Af,
    /// The VRRP multicast group, for errors.
    group: IpAddr,
    /// Joins the group on an interface index ([`OpenOptions::join_group`]).
    join: fn(&Socket, u32) -> io::Result<()>,
    /// Allows a source address not configured on the interface
    /// ([`OpenOptions::nonlocal_source`]).
    nonlocal_source: SocketOption,
    /// The options every socket gets, in order, after the optional ones.
    options: &'static [SocketOption],
}

/// The public methods both families' sockets share, delegated to their [`SocketCore`]:
/// `Debug`, `open`, `open_with` (with the family's [`FamilySetup`]), `ifindex`, `ifname`,
/// `dropped` and `recv` (with the family's receive function), each with the family's
/// documentation where it differs.
macro_rules! shared_socket_api {
    (
        $socket:ident, $setup:ident, $recv_once:ident,
        open: { $(#[doc = $open_doc:literal])* },
        dropped: { $(#[doc = $dropped_doc:literal])* },
        recv: { $(#[doc = $recv_doc:literal])* }
    ) => {
        impl fmt::Debug for $socket {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.core.debug_as(stringify!($socket), f)
            }
        }

        impl $socket {
            $(#[doc = $open_doc])*
            pub fn open(ifindex: u32, ifname: &str) -> Result<Self> {
                Self::open_with(ifindex, ifname, OpenOptions::default())
            }

            /// Opens the socket with explicit [`OpenOptions`].
            pub fn open_with(ifindex: u32, ifname: &str, opts: OpenOptions) -> Result<Self> {
                let core = SocketCore::open(ifindex, ifname, opts, &$setup)?;
                Ok(Self { core })
            }

            /// The interface index this socket is bound to.
            pub fn ifindex(&self) -> u32 {
                self.core.ifindex
            }

            /// The interface name this socket is bound to.
            pub fn ifname(&self) -> &str {
                &self.core.ifname
            }

            $(#[doc = $dropped_doc])*
            pub fn dropped(&self) -> (u64, u64) {
                self.core.dropped()
            }

            $(#[doc = $recv_doc])*
            pub async fn recv<'a>(&self, buf: &'a mut [u8]) -> Result<Received<'a>> {
                self.core.recv(buf, $recv_once).await
            }

            /// Receives one packet without waiting: `Ok(None)` when none is queued. Malformed
            /// and truncated packets are counted and skipped, as [`Self::recv`] does.
            pub fn try_recv<'a>(&self, buf: &'a mut [u8]) -> Result<Option<Received<'a>>> {
                self.core.try_recv(buf, $recv_once)
            }

            /// Joins another multicast group on the bound interface (keepalived's
            /// `mcast_dst_ip`); already being a member is fine.
            pub fn join_group(&self, group: IpAddr) -> Result<()> {
                self.core.join_group(group)
            }

            /// Sets the receive queue to at least `bytes` (never shrinks it).
            pub fn set_receive_buffer(&self, bytes: usize) -> Result<()> {
                self.core.set_receive_buffer(bytes)
            }

            /// As `send_from`, with TTL / hop limit `ttl` (an `IP_TTL` / `IPV6_HOPLIMIT`
            /// control message; IPv4 takes 1..=255) instead of the socket's 255.
            pub async fn send_from_with_ttl(
                &self,
                payload: &[u8],
                src: IpAddr,
                dst: IpAddr,
                ttl: u8,
            ) -> Result<()> {
                self.send_from_ttl(payload, src, dst, Some(ttl)).await
            }

            /// The receive queue size the kernel reports (`SO_RCVBUF`: twice the value
            /// set, for its bookkeeping).
            pub fn receive_buffer(&self) -> Result<usize> {
                self.core.fd.get_ref().recv_buffer_size().map_err(|e| {
                    Error::io("reading the receive buffer", &self.core.ifname, e)
                })
            }

            /// Polls for a queued packet to read with [`Self::try_recv`]; registers the
            /// task's waker when there is none.
            pub fn poll_readable(&self, cx: &mut std::task::Context<'_>) -> std::task::Poll<()> {
                self.core.poll_readable(cx)
            }
        }
    };
}

/// What both families' sockets share: the descriptor registered with tokio, the interface it
/// is bound to, the drop counters, the receive retry loop and the two send paths.
struct SocketCore {
    fd: AsyncFd<Socket>,
    ifindex: u32,
    ifname: String,
    drops: Drops,
    af: Af,
}

impl SocketCore {
    /// Opens the socket of `setup`'s family on `ifname` (index `ifindex`), sets it up and
    /// registers it with tokio.
    fn open(ifindex: u32, ifname: &str, opts: OpenOptions, setup: &FamilySetup) -> Result<Self> {
        let af = setup.af;
        let sock = open_raw(af, ifname, opts)?;
        if opts.join_group {
            (setup.join)(&sock, ifindex).map_err(|e| {
                Error::io(format!("joining {} on {ifname}", setup.group), ifname, e)
            })?;
        }
        let optional = opts.nonlocal_source.then_some(setup.nonlocal_source);
        for (name, set) in optional.iter().chain(setup.options) {
            set(&sock, ifindex).map_err(sockopt_error(af, ifname, name))?;
        }
        Self::register(sock, af, ifindex, ifname)
    }

    /// Registers a configured socket with tokio.
    fn register(sock: Socket, af: Af, ifindex: u32, ifname: &str) -> Result<Self> {
        let fd = crate::sys::async_fd(sock).map_err(|e| {
            Error::io(
                format!(
                    "registering the {} VRRP socket on {ifname} with tokio",
                    af.name()
                ),
                ifname,
                e,
            )
        })?;
        tracing::debug!(
            interface = ifname,
            ifindex,
            family = af.log_name(),
            "VRRP socket open"
        );
        Ok(Self {
            fd,
            ifindex,
            ifname: ifname.to_string(),
            drops: Drops::default(),
            af,
        })
    }

    /// `(malformed, truncated)` drop counts.
    fn dropped(&self) -> (u64, u64) {
        (
            self.drops.malformed.load(Ordering::Relaxed),
            self.drops.truncated.load(Ordering::Relaxed),
        )
    }

    /// Waits for the next packet that `recv_once` accepts; malformed and truncated packets
    /// are counted, logged and skipped.
    async fn recv<'a>(&self, buf: &'a mut [u8], recv_once: RecvOnce) -> Result<Received<'a>> {
        let meta = loop {
            let mut guard = self.fd.readable().await.map_err(|e| self.rx_err(e))?;
            match guard.try_io(|s| recv_once(s.get_ref(), buf)) {
                Ok(Ok(Some(meta))) => break meta,
                Ok(Ok(None)) => self.count_malformed(),
                Ok(Err(e)) if e.raw_os_error() == Some(libc::EMSGSIZE) => {
                    self.count_truncated(buf.len())
                }
                Ok(Err(e)) => return Err(self.rx_err(e)),
                Err(_would_block) => continue,
            }
        };
        Ok(meta.into_received(buf))
    }

    /// One packet that `recv_once` accepts, if one is queued; malformed and truncated ones
    /// are counted and skipped.
    fn try_recv<'a>(&self, buf: &'a mut [u8], recv_once: RecvOnce) -> Result<Option<Received<'a>>> {
        let meta = loop {
            match self.fd.try_io(Interest::READABLE, |s| recv_once(s, buf)) {
                Ok(Some(meta)) => break meta,
                Ok(None) => self.count_malformed(),
                Err(e) if e.raw_os_error() == Some(libc::EMSGSIZE) => {
                    self.count_truncated(buf.len())
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(None),
                Err(e) => return Err(self.rx_err(e)),
            }
        };
        Ok(Some(meta.into_received(buf)))
    }

    /// Ready when the socket may hold a packet (the readiness tokio last saw, cleared by a
    /// `try_recv` that found nothing).
    fn poll_readable(&self, cx: &mut std::task::Context<'_>) -> std::task::Poll<()> {
        match self.fd.poll_read_ready(cx) {
            std::task::Poll::Ready(_) => std::task::Poll::Ready(()),
            std::task::Poll::Pending => std::task::Poll::Pending,
        }
    }

    fn count_malformed(&self) {
        self.drops.malformed.fetch_add(1, Ordering::Relaxed);
        tracing::debug!(interface = %self.ifname, family = self.af.log_name(), "dropped packet with inconsistent IP header");
    }

    fn count_truncated(&self, buf: usize) {
        self.drops.truncated.fetch_add(1, Ordering::Relaxed);
        tracing::warn!(interface = %self.ifname, family = self.af.log_name(), buf, "dropped packet larger than the receive buffer");
    }

    fn rx_err(&self, e: io::Error) -> Error {
        Error::io(
            format!(
                "receiving on the {} VRRP socket on {}",
                self.af.name(),
                self.ifname
            ),
            &self.ifname,
            e,
        )
    }

    /// Sends `payload` to `addr` (which is `dst`), the kernel choosing the source.
    async fn send_to(&self, payload: &[u8], addr: &SockAddr, dst: IpAddr) -> Result<()> {
        let n = self
            .fd
            .async_io(Interest::WRITABLE, |s| s.send_to(payload, addr))
            .await
            .map_err(|e| self.tx_err(dst, e))?;
        check_len(n, payload.len(), &self.ifname, dst)
    }

    /// Sends `payload` to `addr` (which is `dst`) with control messages (the family's
    /// packet-info, pinning source and interface, and maybe a TTL / hop limit).
    async fn send_with<A: SockaddrLike + Sync>(
        &self,
        payload: &[u8],
        cmsgs: &[ControlMessage<'_>],
        addr: &A,
        dst: IpAddr,
    ) -> Result<()> {
        let n = self
            .fd
            .async_io(Interest::WRITABLE, |s| {
                let iov = [IoSlice::new(payload)];
                sendmsg(s.as_raw_fd(), &iov, cmsgs, MsgFlags::empty(), Some(addr)).map_err(nix_err)
            })
            .await
            .map_err(|e| self.tx_err(dst, e))?;
        check_len(n, payload.len(), &self.ifname, dst)
    }

    fn tx_err(&self, dst: IpAddr, e: io::Error) -> Error {
        Error::io(
            format!("sending VRRP to {dst} on {}", self.ifname),
            &self.ifname,
            e,
        )
    }

    /// The error for an address of the other family.
    fn family_mismatch(&self, addr: IpAddr) -> Error {
        let family = self.af.name();
        Error::Invalid {
            context: format!("sending on the {family} VRRP socket on {}", self.ifname),
            message: format!("address {addr} is not {family}"),
        }
    }

    /// The error for a source/destination pair that is not both of this family: names the
    /// destination if the source is right, else the source.
    fn pair_mismatch(&self, src: IpAddr, dst: IpAddr) -> Error {
        self.family_mismatch(if self.af.includes(src) { dst } else { src })
    }

    /// Joins another multicast group on the bound interface (keepalived's `mcast_dst_ip`).
    fn join_group(&self, group: IpAddr) -> Result<()> {
        let sock = self.fd.get_ref();
        let r = match group {
            IpAddr::V4(g) => {
                sock.join_multicast_v4_n(&g, &InterfaceIndexOrAddress::Index(self.ifindex))
            }
            IpAddr::V6(g) => sock.join_multicast_v6(&g, self.ifindex),
        };
        match r {
            // Already a member (another instance uses the group too).
            Err(e) if e.raw_os_error() == Some(libc::EADDRINUSE) => Ok(()),
            r => r.map_err(|e| {
                Error::io(
                    format!("joining {group} on {}", self.ifname),
                    &self.ifname,
                    e,
                )
            }),
        }
    }

    /// Sets the receive queue to at least `bytes` (keepalived's `kernel_rx_buf_size`).
    fn set_receive_buffer(&self, bytes: usize) -> Result<()> {
        let sock = self.fd.get_ref();
        if sock.recv_buffer_size().is_ok_and(|have| have >= bytes) {
            return Ok(());
        }
        setsockopt(sock, sockopt::RcvBufForce, &bytes)
            .map_err(io::Error::from)
            .or_else(|_| sock.set_recv_buffer_size(bytes))
            .map_err(|e| {
                Error::io(
                    format!("setting the receive buffer on {}", self.ifname),
                    &self.ifname,
                    e,
                )
            })
    }

    /// `Debug` output of the public socket types: `name { fd, ifindex, ifname, drops }`.
    fn debug_as(&self, name: &str, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct(name)
            .field("fd", &self.fd)
            .field("ifindex", &self.ifindex)
            .field("ifname", &self.ifname)
            .field("drops", &self.drops)
            .finish()
    }
}

fn check_len(n: usize, want: usize, ifname: &str, dst: IpAddr) -> Result<()> {
    if n == want {
        Ok(())
    } else {
        Err(Error::Invalid {
            context: format!("sending VRRP to {dst} on {ifname}"),
            message: format!("short send: {n} of {want} bytes"),
        })
    }
}

/// The IPv4 socket setup.
///
/// IP_MULTICAST_IF is not set: socket2 only sets it by address, which would go stale when the
/// primary address changes. SO_BINDTODEVICE already makes the bound device the output
/// interface for multicast (raw_sendmsg: oif = sk_bound_dev_if), and send_from pins it again
/// with IP_PKTINFO.
const V4_SETUP: FamilySetup = FamilySetup {
    af: Af::V4,
    group: IpAddr::V4(VRRP_GROUP_V4),
    join: |s, ifindex| {
        s.join_multicast_v4_n(&VRRP_GROUP_V4, &InterfaceIndexOrAddress::Index(ifindex))
    },
    nonlocal_source: ("IP_FREEBIND", |s, _| s.set_freebind_v4(true)),
    options: &[
        ("IP_MULTICAST_TTL", |s, _| {
            s.set_multicast_ttl_v4(u32::from(VRRP_TTL))
        }),
        ("IP_TTL", |s, _| s.set_ttl_v4(u32::from(VRRP_TTL))),
        ("IP_MULTICAST_LOOP", |s, _| s.set_multicast_loop_v4(false)),
        ("IP_MULTICAST_ALL", |s, _| s.set_multicast_all_v4(false)),
        ("IP_TOS", |s, _| s.set_tos_v4(u32::from(VRRP_TOS))),
        ("IP_HDRINCL", |s, _| s.set_header_included_v4(false)),
        // A configured source address (`mcast_src_ip`) the interface does not have is still
        // used, as keepalived (which writes its own IP header) does: without it the route
        // lookup refuses a non-local source (ENETUNREACH).
        ("IP_TRANSPARENT", |s, _| s.set_ip_transparent_v4(true)),
        ("IP_PKTINFO", |s, _| {
            setsockopt(s, sockopt::Ipv4PacketInfo, &true).map_err(nix_err)
        }),
    ],
};

/// Raw IPv4 VRRP socket for one interface.
pub struct VrrpSocketV4 {
    core: SocketCore,
}

shared_socket_api! {
    VrrpSocketV4, V4_SETUP, recv_v4,
    open: {
        /// Opens the socket on interface `ifname` (index `ifindex`) and joins
        /// 224.0.0.18 there. Must be called inside a tokio runtime, in the network
        /// namespace the interface lives in. Needs `CAP_NET_RAW`.
    },
    dropped: {
        /// Packets dropped so far because the IP header was inconsistent or the
        /// buffer was too small: `(malformed, truncated)`.
    },
    recv: {
        /// Waits for the next VRRP packet. Packets whose IP header is inconsistent
        /// or that did not fit `buf` are skipped (logged and counted in
        /// [`dropped`](Self::dropped)); everything else, including bad TTLs, is
        /// returned for `vrrp-core` to judge.
    }
}

impl VrrpSocketV4 {
    /// Sends one VRRP message to `dst` (224.0.0.18 or a unicast peer). The
    /// kernel adds the IP header and chooses the source address (the
    /// interface's primary IPv4 address for the multicast group).
    pub async fn send_to(&self, payload: &[u8], dst: IpAddr) -> Result<()> {
        let IpAddr::V4(dst4) = dst else {
            return Err(self.core.family_mismatch(dst));
        };
        let addr = SockAddr::from(SocketAddrV4::new(dst4, 0));
        self.core.send_to(payload, &addr, dst).await
    }

    /// Sends one VRRP message from the given local source address (for example
    /// `unicast_src_ip`, or the primary address the checksum was computed with)
    /// using an `IP_PKTINFO` control message that also pins the interface.
    pub async fn send_from(&self, payload: &[u8], src: IpAddr, dst: IpAddr) -> Result<()> {
        self.send_from_ttl(payload, src, dst, None).await
    }

    async fn send_from_ttl(
        &self,
        payload: &[u8],
        src: IpAddr,
        dst: IpAddr,
        ttl: Option<u8>,
    ) -> Result<()> {
        let (IpAddr::V4(src4), IpAddr::V4(dst4)) = (src, dst) else {
            return Err(self.core.pair_mismatch(src, dst));
        };
        let pktinfo = libc::in_pktinfo {
            ipi_ifindex: self.core.ifindex as libc::c_int,
            ipi_spec_dst: libc::in_addr {
                s_addr: u32::from(src4).to_be(),
            },
            ipi_addr: libc::in_addr { s_addr: 0 },
        };
        let addr = SockaddrIn::from(SocketAddrV4::new(dst4, 0));
        let info = ControlMessage::Ipv4PacketInfo(&pktinfo);
        match ttl.map(libc::c_int::from) {
            Some(t) => {
                let cmsgs = [info, ControlMessage::Ipv4Ttl(&t)];
                self.core.send_with(payload, &cmsgs, &addr, dst).await
            }
            None => self.core.send_with(payload, &[info], &addr, dst).await,
        }
    }
}

/// One non-blocking `recvmsg` on the IPv4 socket. `Ok(None)` = malformed
/// header; `EMSGSIZE` = truncated.
fn recv_v4(sock: &Socket, buf: &mut [u8]) -> io::Result<Option<Meta>> {
    let mut cmsg = CmsgBuf([0; 128]);
    let (n, ifindex) = {
        let mut iov = [IoSliceMut::new(buf)];
        let msg = recvmsg::<SockaddrIn>(
            sock.as_raw_fd(),
            &mut iov,
            Some(&mut cmsg.0),
            MsgFlags::empty(),
        )
        .map_err(nix_err)?;
        if msg.flags.contains(MsgFlags::MSG_TRUNC) {
            return Err(io::Error::from_raw_os_error(libc::EMSGSIZE));
        }
        let mut ifindex = 0;
        if let Ok(cmsgs) = msg.cmsgs() {
            for c in cmsgs {
                if let ControlMessageOwned::Ipv4PacketInfo(info) = c {
                    ifindex = info.ipi_ifindex as u32;
                }
            }
        }
        (msg.bytes, ifindex)
    };
    Ok(parse_ipv4_header(&buf[..n]).map(|h| Meta {
        src: IpAddr::V4(h.src),
        dst: IpAddr::V4(h.dst),
        ttl: h.ttl,
        ifindex,
        start: h.header_len,
        end: h.end,
    }))
}

/// The fields of an IPv4 header that the receive path needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ipv4HeaderInfo {
    /// Header length in bytes (IHL × 4).
    pub header_len: usize,
    /// End of the IP packet in the buffer: `min(total length, bytes read)`.
    pub end: usize,
    /// Time to live.
    pub ttl: u8,
    /// Protocol number.
    pub protocol: u8,
    /// Source address.
    pub src: Ipv4Addr,
    /// Destination address.
    pub dst: Ipv4Addr,
}

/// Parses the IPv4 header at the start of `pkt` as a raw socket delivers it.
/// Returns `None` when the header is inconsistent (wrong version, IHL < 5,
/// shorter than its own header, or a total length smaller than the header or
/// larger than what was read). Trailing bytes beyond the total length
/// (Ethernet padding, pitfall P11) are excluded via `end`.
pub fn parse_ipv4_header(pkt: &[u8]) -> Option<Ipv4HeaderInfo> {
    if pkt.len() < 20 || pkt[0] >> 4 != 4 {
        return None;
    }
    let header_len = usize::from(pkt[0] & 0x0f) * 4;
    let total = usize::from(u16::from_be_bytes([pkt[2], pkt[3]]));
    if header_len < 20 || pkt.len() < header_len || total < header_len || total > pkt.len() {
        return None;
    }
    Some(Ipv4HeaderInfo {
        header_len,
        end: total,
        ttl: pkt[8],
        protocol: pkt[9],
        src: Ipv4Addr::new(pkt[12], pkt[13], pkt[14], pkt[15]),
        dst: Ipv4Addr::new(pkt[16], pkt[17], pkt[18], pkt[19]),
    })
}

/// The IPv6 socket setup. `IPV6_CHECKSUM` stays unset on purpose: vrrp-core verifies and
/// counts.
const V6_SETUP: FamilySetup = FamilySetup {
    af: Af::V6,
    group: IpAddr::V6(VRRP_GROUP_V6),
    join: |s, ifindex| s.join_multicast_v6(&VRRP_GROUP_V6, ifindex),
    nonlocal_source: ("IPV6_FREEBIND", |s, _| s.set_freebind_v6(true)),
    options: &[
        ("IPV6_MULTICAST_IF", |s, ifindex| {
            s.set_multicast_if_v6(ifindex)
        }),
        ("IPV6_MULTICAST_HOPS", |s, _| {
            s.set_multicast_hops_v6(u32::from(VRRP_TTL))
        }),
        ("IPV6_UNICAST_HOPS", |s, _| {
            s.set_unicast_hops_v6(u32::from(VRRP_TTL))
        }),
        ("IPV6_MULTICAST_LOOP", |s, _| s.set_multicast_loop_v6(false)),
        ("IPV6_MULTICAST_ALL", |s, _| s.set_multicast_all_v6(false)),
        ("IPV6_TCLASS", |s, _| s.set_tclass_v6(u32::from(VRRP_TOS))),
        // As IP_TRANSPARENT for IPv4: a configured source the interface lacks is used.
        ("IPV6_TRANSPARENT", |s, _| s.set_ip_transparent_v6(true)),
        ("IPV6_RECVHOPLIMIT", |s, _| s.set_recv_hoplimit_v6(true)),
        ("IPV6_RECVPKTINFO", |s, _| {
            setsockopt(s, sockopt::Ipv6RecvPacketInfo, &true).map_err(nix_err)
        }),
    ],
};

/// Raw IPv6 VRRP socket for one interface.
pub struct VrrpSocketV6 {
    core: SocketCore,
}

shared_socket_api! {
    VrrpSocketV6, V6_SETUP, recv_v6,
    open: {
        /// Opens the socket on interface `ifname` (index `ifindex`) and joins
        /// ff02::12 there. Must be called inside a tokio runtime, in the network
        /// namespace the interface lives in. Needs `CAP_NET_RAW`.
    },
    dropped: {
        /// Packets dropped so far because they did not fit the buffer:
        /// `(malformed, truncated)` (malformed is always 0 for IPv6).
    },
    recv: {
        /// Waits for the next VRRP packet. The hop limit and destination come from
        /// `IPV6_HOPLIMIT` / `IPV6_PKTINFO` control messages. Packets that did not
        /// fit `buf` are skipped, logged and counted.
    }
}

impl VrrpSocketV6 {
    fn sockaddr(&self, dst: Ipv6Addr) -> SocketAddrV6 {
        // Link-scoped destinations need the zone; the socket is bound to the
        // device anyway, so the interface index is always right.
        let scope = if needs_scope(&dst) {
            self.core.ifindex
        } else {
            0
        };
        SocketAddrV6::new(dst, 0, 0, scope)
    }

    /// Sends one VRRP message to `dst` (ff02::12 or a unicast peer). The
    /// kernel adds the IPv6 header and chooses the source address (the
    /// interface's link-local address for ff02::12).
    pub async fn send_to(&self, payload: &[u8], dst: IpAddr) -> Result<()> {
        let IpAddr::V6(dst6) = dst else {
            return Err(self.core.family_mismatch(dst));
        };
        let addr = SockAddr::from(self.sockaddr(dst6));
        self.core.send_to(payload, &addr, dst).await
    }

    /// Sends one VRRP message from the given local source address using an
    /// `IPV6_PKTINFO` control message (which also pins the interface). Use
    /// this with the address the checksum pseudo-header was computed with.
    pub async fn send_from(&self, payload: &[u8], src: IpAddr, dst: IpAddr) -> Result<()> {
        self.send_from_ttl(payload, src, dst, None).await
    }

    async fn send_from_ttl(
        &self,
        payload: &[u8],
        src: IpAddr,
        dst: IpAddr,
        ttl: Option<u8>,
    ) -> Result<()> {
        let (IpAddr::V6(src6), IpAddr::V6(dst6)) = (src, dst) else {
            return Err(self.core.pair_mismatch(src, dst));
        };
        let pktinfo = libc::in6_pktinfo {
            ipi6_addr: libc::in6_addr {
                s6_addr: src6.octets(),
            },
            ipi6_ifindex: self.core.ifindex,
        };
        let addr = SockaddrIn6::from(self.sockaddr(dst6));
        let info = ControlMessage::Ipv6PacketInfo(&pktinfo);
        match ttl.map(libc::c_int::from) {
            Some(t) => {
                let cmsgs = [info, ControlMessage::Ipv6HopLimit(&t)];
                self.core.send_with(payload, &cmsgs, &addr, dst).await
            }
            None => self.core.send_with(payload, &[info], &addr, dst).await,
        }
    }
}

fn needs_scope(a: &Ipv6Addr) -> bool {
    let s = a.segments()[0];
    (s & 0xffc0) == 0xfe80 || (a.is_multicast() && (s & 0x000f) <= 2)
}

/// One non-blocking `recvmsg` on the IPv6 socket (never `Ok(None)`: there is no IP header to
/// be inconsistent); `EMSGSIZE` = truncated.
fn recv_v6(sock: &Socket, buf: &mut [u8]) -> io::Result<Option<Meta>> {
    let mut cmsg = CmsgBuf([0; 128]);
    let mut iov = [IoSliceMut::new(buf)];
    let msg = recvmsg::<SockaddrIn6>(
        sock.as_raw_fd(),
        &mut iov,
        Some(&mut cmsg.0),
        MsgFlags::empty(),
    )
    .map_err(nix_err)?;
    if msg.flags.contains(MsgFlags::MSG_TRUNC) {
        return Err(io::Error::from_raw_os_error(libc::EMSGSIZE));
    }
    let src = msg.address.map(|a| a.ip()).unwrap_or(Ipv6Addr::UNSPECIFIED);
    let (mut dst, mut ifindex, mut hops) = (Ipv6Addr::UNSPECIFIED, 0u32, 0u8);
    if let Ok(cmsgs) = msg.cmsgs() {
        for c in cmsgs {
            match c {
                ControlMessageOwned::Ipv6PacketInfo(info) => {
                    dst = Ipv6Addr::from(info.ipi6_addr.s6_addr);
                    ifindex = info.ipi6_ifindex;
                }
                ControlMessageOwned::Ipv6HopLimit(h) => hops = u8::try_from(h).unwrap_or(0),
                _ => {}
            }
        }
    }
    Ok(Some(Meta {
        src: IpAddr::V6(src),
        dst: IpAddr::V6(dst),
        ttl: hops,
        ifindex,
        start: 0,
        end: msg.bytes,
    }))
}

/// Either family's socket, for drivers that want one type per interface and
/// family.
#[derive(Debug)]
pub enum VrrpSocket {
    /// An IPv4 socket.
    V4(VrrpSocketV4),
    /// An IPv6 socket.
    V6(VrrpSocketV6),
}

impl VrrpSocket {
    /// Opens an IPv6 socket when `ipv6` is true, else an IPv4 one.
    pub fn open(ifindex: u32, ifname: &str, ipv6: bool) -> Result<Self> {
        Self::open_with(ifindex, ifname, ipv6, OpenOptions::default())
    }

    /// Opens an IPv6 (`ipv6`) or IPv4 socket with explicit [`OpenOptions`].
    pub fn open_with(ifindex: u32, ifname: &str, ipv6: bool, opts: OpenOptions) -> Result<Self> {
        if ipv6 {
            VrrpSocketV6::open_with(ifindex, ifname, opts).map(Self::V6)
        } else {
            VrrpSocketV4::open_with(ifindex, ifname, opts).map(Self::V4)
        }
    }

    /// See [`VrrpSocketV4::recv`] / [`VrrpSocketV6::recv`].
    pub async fn recv<'a>(&self, buf: &'a mut [u8]) -> Result<Received<'a>> {
        match self {
            Self::V4(s) => s.recv(buf).await,
            Self::V6(s) => s.recv(buf).await,
        }
    }

    /// See [`VrrpSocketV4::try_recv`] / [`VrrpSocketV6::try_recv`].
    pub fn try_recv<'a>(&self, buf: &'a mut [u8]) -> Result<Option<Received<'a>>> {
        match self {
            Self::V4(s) => s.try_recv(buf),
            Self::V6(s) => s.try_recv(buf),
        }
    }

    /// See [`VrrpSocketV4::join_group`] / [`VrrpSocketV6::join_group`].
    pub fn join_group(&self, group: IpAddr) -> Result<()> {
        match self {
            Self::V4(s) => s.join_group(group),
            Self::V6(s) => s.join_group(group),
        }
    }

    /// See [`VrrpSocketV4::set_receive_buffer`] / [`VrrpSocketV6::set_receive_buffer`].
    pub fn set_receive_buffer(&self, bytes: usize) -> Result<()> {
        match self {
            Self::V4(s) => s.set_receive_buffer(bytes),
            Self::V6(s) => s.set_receive_buffer(bytes),
        }
    }

    /// See [`VrrpSocketV4::poll_readable`] / [`VrrpSocketV6::poll_readable`].
    pub fn poll_readable(&self, cx: &mut std::task::Context<'_>) -> std::task::Poll<()> {
        match self {
            Self::V4(s) => s.poll_readable(cx),
            Self::V6(s) => s.poll_readable(cx),
        }
    }

    /// See [`VrrpSocketV4::send_to`] / [`VrrpSocketV6::send_to`].
    pub async fn send_to(&self, payload: &[u8], dst: IpAddr) -> Result<()> {
        match self {
            Self::V4(s) => s.send_to(payload, dst).await,
            Self::V6(s) => s.send_to(payload, dst).await,
        }
    }

    /// See [`VrrpSocketV4::send_from`] / [`VrrpSocketV6::send_from`].
    pub async fn send_from(&self, payload: &[u8], src: IpAddr, dst: IpAddr) -> Result<()> {
        match self {
            Self::V4(s) => s.send_from(payload, src, dst).await,
            Self::V6(s) => s.send_from(payload, src, dst).await,
        }
    }

    /// See [`VrrpSocketV4::send_from_with_ttl`] / [`VrrpSocketV6::send_from_with_ttl`].
    pub async fn send_from_with_ttl(
        &self,
        payload: &[u8],
        src: IpAddr,
        dst: IpAddr,
        ttl: u8,
    ) -> Result<()> {
        match self {
            Self::V4(s) => s.send_from_with_ttl(payload, src, dst, ttl).await,
            Self::V6(s) => s.send_from_with_ttl(payload, src, dst, ttl).await,
        }
    }

    /// The interface index.
    pub fn ifindex(&self) -> u32 {
        match self {
            Self::V4(s) => s.ifindex(),
            Self::V6(s) => s.ifindex(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // V1 from the conformance checklist, RFC 9568 checksum.
    const V1: &str = "45c0002000000000ff701891c000020ae0000012310164010064a897c0000201";

    fn hex(s: &str) -> Vec<u8> {
        (0..s.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
            .collect()
    }

    #[test]
    fn p11_ipv4_header_cuts_ethernet_padding() {
        let mut pkt = hex(V1);
        let vrrp_len = pkt.len() - 20;
        pkt.extend_from_slice(&[0u8; 14]); // 46 -> 60 byte frame padding
        let h = parse_ipv4_header(&pkt).unwrap();
        assert_eq!(h.header_len, 20);
        assert_eq!(h.end - h.header_len, vrrp_len);
        assert_eq!(h.ttl, 255);
        assert_eq!(h.protocol, 112);
        assert_eq!(h.src, Ipv4Addr::new(192, 0, 2, 10));
        assert_eq!(h.dst, VRRP_GROUP_V4);
        assert_eq!(
            &pkt[h.header_len..h.end],
            &hex("310164010064a897c0000201")[..]
        );
    }

    #[test]
    fn inconsistent_ipv4_headers_are_rejected() {
        let pkt = hex(V1);
        assert!(parse_ipv4_header(&pkt[..19]).is_none());
        let mut bad = pkt.clone();
        bad[0] = 0x65; // version 6
        assert!(parse_ipv4_header(&bad).is_none());
        let mut bad = pkt.clone();
        bad[0] = 0x44; // IHL 4
        assert!(parse_ipv4_header(&bad).is_none());
        let mut bad = pkt.clone();
        bad[3] = 0x40; // total length 64 > 32 read
        assert!(parse_ipv4_header(&bad).is_none());
        let mut bad = pkt;
        bad[3] = 0x10; // total length 16 < header
        assert!(parse_ipv4_header(&bad).is_none());
    }

    #[test]
    fn link_scoped_destinations_get_a_zone() {
        assert!(needs_scope(&"fe80::1".parse().unwrap()));
        assert!(needs_scope(&VRRP_GROUP_V6));
        assert!(!needs_scope(&"2001:db8::1".parse().unwrap()));
        assert!(!needs_scope(&"ff05::2".parse().unwrap()));
    }
}
