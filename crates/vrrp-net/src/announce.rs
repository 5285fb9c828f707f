//! Gratuitous ARP and unsolicited Neighbor Advertisement: frame builders, the
//! AF_PACKET send socket and a per-interface pacer.
//!
//! The builders are pure functions writing a complete Ethernet frame into a
//! caller's buffer (no padding to 60 bytes: the NIC/driver pads short frames).
//! Send the frame on the interface whose MAC is the frame's source: the VMAC
//! macvlan when a VMAC is used (RFC 9568 §7.2, pitfall P12), else the parent.
//!
//! * GARP (RFC 9568 §6.4.1/§6.4.2, errata 7947/7949; RFC 5227 announcement):
//!   Ethernet broadcast, ARP request, sender MAC = source MAC, sender IP =
//!   target IP = VIP, target MAC 00:00:00:00:00:00 ([`GarpForm::Request`]).
//!   keepalived puts ff:ff:ff:ff:ff:ff in the target MAC
//!   ([`GarpForm::RequestBroadcastTarget`]); RFC 5944 §4.6's reply form
//!   ([`GarpForm::Reply`], target MAC = sender MAC) is what kube-vip alternates
//!   with. Linux receivers update an existing neighbour entry with any of them.
//! * Unsolicited NA (RFC 9568 §6.4.1 R8, RFC 4861 §7.2.6): Ethernet to
//!   33:33:00:00:00:01, IPv6 source = the VIP, destination ff02::1, hop limit
//!   255, ICMPv6 136 with R (when the router forwards) / S=0 / O=1, target =
//!   VIP, Target Link-Layer Address option = source MAC, checksum computed.

use std::collections::HashMap;
use std::net::{Ipv4Addr, Ipv6Addr};
use std::os::fd::AsRawFd;
use std::time::Duration;

use nix::sys::socket::{sendto, MsgFlags};
use socket2::{Domain, Protocol, Socket, Type};
use tokio::io::unix::AsyncFd;
use tokio::io::Interest;
use tokio::time::Instant;

use crate::error::{Error, Result};

/// Ethernet broadcast address.
pub const BROADCAST_MAC: [u8; 6] = [0xff; 6];
/// Ethernet destination of an NA to ff02::1.
pub const ALL_NODES_MAC: [u8; 6] = [0x33, 0x33, 0, 0, 0, 1];
/// ff02::1.
pub const ALL_NODES: Ipv6Addr = Ipv6Addr::new(0xff02, 0, 0, 0, 0, 0, 0, 1);
/// Length of a GARP frame (Ethernet 14 + ARP 28).
pub const GARP_LEN: usize = 42;
/// Length of an unsolicited NA frame (Ethernet 14 + IPv6 40 + NA 24 + TLLA 8).
pub const NA_LEN: usize = 86;
/// EtherType ARP.
pub const ETH_P_ARP: u16 = 0x0806;
/// EtherType IPv6.
pub const ETH_P_IPV6: u16 = 0x86dd;

/// Which gratuitous ARP variant to build.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum GarpForm {
    /// ARP request, target MAC all zeros (RFC 5227 announcement; default).
    #[default]
    Request,
    /// ARP request, target MAC ff:ff:ff:ff:ff:ff (keepalived's form).
    RequestBroadcastTarget,
    /// ARP reply, target MAC = sender MAC (RFC 5944 §4.6).
    Reply,
}

/// Fails unless `buf` holds at least `n` bytes for building `what`.
pub(crate) fn need(buf: &[u8], n: usize, what: &str) -> Result<()> {
    if buf.len() < n {
        return Err(Error::Invalid {
            context: format!("building {what}"),
            message: format!("buffer of {} bytes, need {n}", buf.len()),
        });
    }
    Ok(())
}

/// Writes a gratuitous ARP frame for `vip` from `src_mac` into `buf` and
/// returns its length ([`GARP_LEN`]).
pub fn build_garp(
    buf: &mut [u8],
    src_mac: [u8; 6],
    vip: Ipv4Addr,
    form: GarpForm,
) -> Result<usize> {
    need(buf, GARP_LEN, "a gratuitous ARP")?;
    let (op, target_mac) = match form {
        GarpForm::Request => (1u16, [0u8; 6]),
        GarpForm::RequestBroadcastTarget => (1, BROADCAST_MAC),
        GarpForm::Reply => (2, src_mac),
    };
    let ip = vip.octets();
    write_arp(&mut buf[..GARP_LEN], src_mac, op, ip, target_mac, ip);
    Ok(GARP_LEN)
}

/// Writes a broadcast Ethernet/IPv4 ARP frame of `f.len()` ([`GARP_LEN`]) bytes: opcode
/// `op`, sender `src_mac` / `sender_ip`, target `target_mac` / `target_ip`.
pub(crate) fn write_arp(
    f: &mut [u8],
    src_mac: [u8; 6],
    op: u16,
    sender_ip: [u8; 4],
    target_mac: [u8; 6],
    target_ip: [u8; 4],
) {
    f[0..6].copy_from_slice(&BROADCAST_MAC);
    f[6..12].copy_from_slice(&src_mac);
    f[12..14].copy_from_slice(&ETH_P_ARP.to_be_bytes());
    // ARP: htype 1 (Ethernet), ptype IPv4, hlen 6, plen 4, opcode.
    f[14..16].copy_from_slice(&1u16.to_be_bytes());
    f[16..18].copy_from_slice(&0x0800u16.to_be_bytes());
    f[18] = 6;
    f[19] = 4;
    f[20..22].copy_from_slice(&op.to_be_bytes());
    f[22..28].copy_from_slice(&src_mac);
    f[28..32].copy_from_slice(&sender_ip);
    f[32..38].copy_from_slice(&target_mac);
    f[38..42].copy_from_slice(&target_ip);
}

/// Writes an unsolicited Neighbor Advertisement for `vip` from `src_mac` into
/// `buf` and returns its length ([`NA_LEN`]). `router` sets the R flag (set it
/// when the router forwards IPv6 on that interface, as keepalived does).
pub fn build_unsolicited_na(
    buf: &mut [u8],
    src_mac: [u8; 6],
    vip: Ipv6Addr,
    router: bool,
) -> Result<usize> {
    need(buf, NA_LEN, "an unsolicited neighbor advertisement")?;
    let f = &mut buf[..NA_LEN];
    f[0..6].copy_from_slice(&ALL_NODES_MAC);
    f[6..12].copy_from_slice(&src_mac);
    f[12..14].copy_from_slice(&ETH_P_IPV6.to_be_bytes());
    // IPv6 header.
    let ip = &mut f[14..54];
    ip[0..4].copy_from_slice(&[0x60, 0, 0, 0]);
    ip[4..6].copy_from_slice(&32u16.to_be_bytes());
    ip[6] = 58; // ICMPv6
    ip[7] = 255; // hop limit (RFC 4861 §7.1.2 requires 255)
    ip[8..24].copy_from_slice(&vip.octets());
    ip[24..40].copy_from_slice(&ALL_NODES.octets());
    // ICMPv6 NA + Target Link-Layer Address option.
    let icmp = &mut f[54..86];
    icmp[0] = 136;
    icmp[1] = 0;
    icmp[2..4].copy_from_slice(&[0, 0]);
    icmp[4] = if router { 0x80 } else { 0 } | 0x20; // R, S=0, O=1
    icmp[5..8].copy_from_slice(&[0, 0, 0]);
    icmp[8..24].copy_from_slice(&vip.octets());
    icmp[24] = 2; // Target Link-Layer Address
    icmp[25] = 1; // length in units of 8 bytes
    icmp[26..32].copy_from_slice(&src_mac);
    let sum = icmpv6_checksum(&vip, &ALL_NODES, icmp);
    icmp[2..4].copy_from_slice(&sum.to_be_bytes());
    Ok(NA_LEN)
}

/// RFC 1071 checksum of an ICMPv6 message with the RFC 8200 §8.1
/// pseudo-header (the checksum field must be zero in `msg`).
pub fn icmpv6_checksum(src: &Ipv6Addr, dst: &Ipv6Addr, msg: &[u8]) -> u16 {
    use vrrp_core::checksum;
    let pseudo = checksum::ipv6_pseudo_header_sum_for(*src, *dst, msg.len() as u32, 58);
    checksum::finish(checksum::sum_words(pseudo, msg))
}

/// A send-only AF_PACKET socket for GARP/NA frames.
///
/// Opened with protocol 0, so the kernel delivers no received frames to it.
/// One socket serves every interface: the interface is chosen per frame.
#[derive(Debug)]
pub struct AnnounceSocket {
    fd: AsyncFd<Socket>,
}

impl AnnounceSocket {
    /// Opens the socket (needs `CAP_NET_RAW`) inside a tokio runtime.
    pub fn open() -> Result<Self> {
        let ctx = "opening the AF_PACKET announcement socket";
        let sock = Socket::new(Domain::PACKET, Type::RAW, Some(Protocol::from(0)))
            .map_err(|e| Error::io(ctx, "-", e))?;
        sock.set_nonblocking(true)
            .map_err(|e| Error::io(ctx, "-", e))?;
        let fd = crate::sys::async_fd(sock).map_err(|e| Error::io(ctx, "-", e))?;
        Ok(Self { fd })
    }

    /// Sends a complete Ethernet frame (as built by [`build_garp`] or
    /// [`build_unsolicited_na`]) on `ifindex`.
    pub async fn send(&self, ifindex: u32, frame: &[u8]) -> Result<()> {
        if frame.len() < 14 {
            return Err(Error::Invalid {
                context: format!("sending a frame on ifindex {ifindex}"),
                message: "shorter than an Ethernet header".into(),
            });
        }
        let mut dst = [0u8; 6];
        dst.copy_from_slice(&frame[..6]);
        let proto = u16::from_be_bytes([frame[12], frame[13]]);
        let addr = crate::sys::link_addr(ifindex, proto, dst);
        let n = self
            .fd
            .async_io(Interest::WRITABLE, |s| {
                sendto(s.as_raw_fd(), frame, &addr, MsgFlags::empty()).map_err(std::io::Error::from)
            })
            .await
            .map_err(|e| {
                let name = ifindex.to_string();
                Error::io(
                    format!("sending a {}-byte frame on ifindex {ifindex}", frame.len()),
                    &name,
                    e,
                )
            })?;
        tracing::trace!(ifindex, len = n, ethertype = proto, "announcement sent");
        Ok(())
    }
}

/// Minimum spacing between announcements on one interface (keepalived
/// `garp_interval` / `gna_interval`): the first packet on an interface goes
/// out immediately, each later one no earlier than `interval` after the
/// previous one. Use one pacer for GARP and one for NA.
#[derive(Debug, Clone)]
pub struct Pacer {
    interval: Duration,
    next: HashMap<u32, Instant>,
}

impl Pacer {
    /// A pacer with the given spacing (zero = no pacing).
    pub fn new(interval: Duration) -> Self {
        Self {
            interval,
            next: HashMap::new(),
        }
    }

    /// The configured spacing.
    pub fn interval(&self) -> Duration {
        self.interval
    }

    /// Reserves the next slot on `ifindex` and returns when the packet may be
    /// sent (`now` or later). Pure bookkeeping: no clock is read.
    pub fn reserve(&mut self, ifindex: u32, now: Instant) -> Instant {
        let at = match self.next.get(&ifindex) {
            Some(&n) if n > now => n,
            _ => now,
        };
        self.next.insert(ifindex, at + self.interval);
        at
    }

    /// Waits until the next slot on `ifindex` is due.
    pub async fn wait(&mut self, ifindex: u32) {
        let at = self.reserve(ifindex, Instant::now());
        tokio::time::sleep_until(at).await;
    }

    /// Forgets an interface (for example when it is deleted).
    pub fn forget(&mut self, ifindex: u32) {
        self.next.remove(&ifindex);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MAC: [u8; 6] = [0x00, 0x00, 0x5e, 0x00, 0x01, 0x01];

    fn hex(s: &str) -> Vec<u8> {
        let s: String = s.split_whitespace().collect();
        (0..s.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
            .collect()
    }

    #[test]
    fn r8_garp_request_byte_for_byte() {
        let mut buf = [0u8; 64];
        let n = build_garp(
            &mut buf,
            MAC,
            Ipv4Addr::new(192, 0, 2, 1),
            GarpForm::Request,
        )
        .unwrap();
        let want = hex("ffffffffffff 00005e000101 0806
             0001 0800 06 04 0001 00005e000101 c0000201 000000000000 c0000201");
        assert_eq!(&buf[..n], &want[..]);
    }

    #[test]
    fn garp_forms_differ_only_in_opcode_and_target_mac() {
        let vip = Ipv4Addr::new(192, 0, 2, 1);
        let mut a = [0u8; GARP_LEN];
        let mut b = [0u8; GARP_LEN];
        build_garp(&mut a, MAC, vip, GarpForm::RequestBroadcastTarget).unwrap();
        build_garp(&mut b, MAC, vip, GarpForm::Reply).unwrap();
        assert_eq!(&a[20..22], &[0, 1]);
        assert_eq!(&a[32..38], &BROADCAST_MAC);
        assert_eq!(&b[20..22], &[0, 2]);
        assert_eq!(&b[32..38], &MAC);
        assert_eq!(&a[..20], &b[..20]);
    }

    #[test]
    fn garp_parses_with_etherparse() {
        let mut buf = [0u8; GARP_LEN];
        build_garp(
            &mut buf,
            MAC,
            Ipv4Addr::new(192, 0, 2, 1),
            GarpForm::Request,
        )
        .unwrap();
        let p = etherparse::SlicedPacket::from_ethernet(&buf).unwrap();
        match p.net {
            Some(etherparse::NetSlice::Arp(arp)) => {
                assert_eq!(arp.operation(), etherparse::ArpOperation::REQUEST);
                assert_eq!(arp.sender_hw_addr(), &MAC);
                assert_eq!(arp.sender_protocol_addr(), &[192, 0, 2, 1]);
                assert_eq!(arp.target_protocol_addr(), &[192, 0, 2, 1]);
                assert_eq!(arp.target_hw_addr(), &[0u8; 6]);
            }
            other => panic!("not ARP: {other:?}"),
        }
    }

    #[test]
    fn r8_unsolicited_na_byte_for_byte() {
        let mut buf = [0u8; 128];
        let vip: Ipv6Addr = "2001:db8::1".parse().unwrap();
        let mac6 = [0x00, 0x00, 0x5e, 0x00, 0x02, 0x01];
        let n = build_unsolicited_na(&mut buf, mac6, vip, true).unwrap();
        assert_eq!(n, NA_LEN);
        let head = hex("333300000001 00005e000201 86dd
             60000000 0020 3a ff
             20010db8000000000000000000000001
             ff020000000000000000000000000001");
        assert_eq!(&buf[..54], &head[..]);
        let mut icmp = hex("88 00 0000 a0000000 20010db8000000000000000000000001
             02 01 00005e000201");
        assert_eq!(&buf[54..56], &icmp[..2]);
        assert_eq!(&buf[58..86], &icmp[4..]);
        // Checksum: the one's complement sum over pseudo-header + message is 0xffff.
        let c = u16::from_be_bytes([buf[56], buf[57]]);
        icmp[2..4].copy_from_slice(&c.to_be_bytes());
        assert_eq!(icmpv6_checksum(&vip, &ALL_NODES, &icmp), 0);
        // Without the R flag only byte 4 and the checksum change.
        let mut b2 = [0u8; NA_LEN];
        build_unsolicited_na(&mut b2, mac6, vip, false).unwrap();
        assert_eq!(b2[58], 0x20);
    }

    #[test]
    fn na_parses_with_etherparse_and_checksum_verifies() {
        let mut buf = [0u8; NA_LEN];
        let vip: Ipv6Addr = "2001:db8::10".parse().unwrap();
        build_unsolicited_na(&mut buf, MAC, vip, false).unwrap();
        let p = etherparse::SlicedPacket::from_ethernet(&buf).unwrap();
        let Some(etherparse::NetSlice::Ipv6(ip)) = &p.net else {
            panic!("not IPv6")
        };
        assert_eq!(ip.header().hop_limit(), 255);
        assert_eq!(ip.header().source_addr(), vip);
        assert_eq!(ip.header().destination_addr(), ALL_NODES);
        let Some(etherparse::TransportSlice::Icmpv6(icmp)) = &p.transport else {
            panic!("not ICMPv6")
        };
        assert_eq!(icmp.type_u8(), 136);
        let hdr = icmp.header();
        let ip_hdr = ip.header().to_header();
        let want = hdr
            .icmp_type
            .calc_checksum(ip_hdr.source, ip_hdr.destination, icmp.payload())
            .unwrap();
        assert_eq!(hdr.checksum, want);
    }

    #[test]
    fn small_buffers_are_refused() {
        let mut small = [0u8; 10];
        assert!(build_garp(&mut small, MAC, Ipv4Addr::LOCALHOST, GarpForm::Request).is_err());
        assert!(build_unsolicited_na(&mut small, MAC, Ipv6Addr::LOCALHOST, false).is_err());
    }

    #[test]
    fn pacer_spaces_packets_per_interface() {
        let mut p = Pacer::new(Duration::from_millis(100));
        let t0 = Instant::now();
        assert_eq!(p.reserve(1, t0), t0, "first packet goes out immediately");
        assert_eq!(p.reserve(1, t0), t0 + Duration::from_millis(100));
        assert_eq!(p.reserve(1, t0), t0 + Duration::from_millis(200));
        assert_eq!(p.reserve(2, t0), t0, "interfaces are independent");
        let later = t0 + Duration::from_secs(5);
        assert_eq!(
            p.reserve(1, later),
            later,
            "an idle interface is not delayed"
        );
        let mut z = Pacer::new(Duration::ZERO);
        assert_eq!(z.reserve(1, t0), t0);
        assert_eq!(z.reserve(1, t0), t0);
    }
}
