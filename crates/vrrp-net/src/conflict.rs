//! Address-conflict detection on the wire: the frames that claim an address (gratuitous ARPs,
//! ARP replies and requests, Neighbor Advertisements), the probes that make a holder answer
//! (an RFC 5227 ARP probe, a DAD-style Neighbor Solicitation), and [`ClaimSocket`], the
//! receive-only AF_PACKET socket that watches one interface for claims.
//!
//! vrrp-core decides what a claim means ([`vrrp_core::Input::AddressConflict`]: only an
//! Active router's own addresses count, re-announced at most once per second) and when a
//! probe is due ([`vrrp_core::Command::Probe`]); this module moves the bytes.
//!
//! # Cost on a busy segment
//!
//! A watch is two sockets per interface where a router is Active, one per family, bound to
//! the interface with a protocol (ETH_P_ARP, ETH_P_IPV6), never ETH_P_ALL: the kernel hands
//! them only frames of that EtherType received on that interface (not the host's own
//! transmissions), and a classic BPF filter attached before the socket is bound keeps in the
//! kernel everything that cannot be a claim: ARP frames whose sender IP is 0.0.0.0 (probes)
//! and every IPv6 packet that is not an ICMPv6 Neighbor Advertisement (next header 58 right
//! after the fixed header, type 136). What reaches user space is ARP traffic with a sender
//! and NAs, a few frames per second on most segments, each parsed in a few dozen
//! instructions ([`parse_claim`]) and looked up in one hash map by the driver.
//!
//! See docs/decisions/0007-conflict-detection.md.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::os::fd::AsRawFd;
use std::sync::atomic::{AtomicU64, Ordering};

use nix::sys::socket::{recvfrom, LinkAddr};
use socket2::{Domain, Protocol, SockFilter, Socket, Type};
use tokio::io::unix::AsyncFd;
use tokio::io::Interest;
use vrrp_core::packet::Family;

use crate::announce::{icmpv6_checksum, need, write_arp, ETH_P_ARP, ETH_P_IPV6};
use crate::error::{Error, Result};

/// Length of an ARP probe frame (Ethernet 14 + ARP 28).
pub const ARP_PROBE_LEN: usize = 42;
/// Length of a DAD-style Neighbor Solicitation frame (Ethernet 14 + IPv6 40 + NS 24).
pub const NS_PROBE_LEN: usize = 78;
/// The kernel's `PACKET_OUTGOING` packet type (a frame this host sent).
const PACKET_OUTGOING: u8 = 4;
/// Bytes of a frame kept by the filters: enough for an NA with its options.
const SNAP_LEN: u32 = 128;

/// Another host's claim of an address, read from one frame.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Claim {
    /// The claimed address: the ARP sender IP, or the NA's target.
    pub addr: IpAddr,
    /// The claimant's MAC: the ARP sender MAC, or the NA's Target Link-Layer Address option
    /// (the Ethernet source when it has none).
    pub mac: [u8; 6],
}

/// Writes an RFC 5227 ARP probe for `vip` from `src_mac` into `buf` and returns its length
/// ([`ARP_PROBE_LEN`]): Ethernet broadcast, ARP request, sender MAC `src_mac`, sender IP
/// 0.0.0.0 (so no receiver updates its cache), target MAC zero, target IP `vip`. A host that
/// holds `vip` answers with an ARP reply from its MAC.
pub fn build_arp_probe(buf: &mut [u8], src_mac: [u8; 6], vip: Ipv4Addr) -> Result<usize> {
    need(buf, ARP_PROBE_LEN, "an ARP probe")?;
    let f = &mut buf[..ARP_PROBE_LEN];
    write_arp(f, src_mac, 1, [0; 4], [0; 6], vip.octets());
    Ok(ARP_PROBE_LEN)
}

/// The solicited-node multicast group of `addr` (RFC 4291 §2.7.1).
pub fn solicited_node(addr: Ipv6Addr) -> Ipv6Addr {
    let o = addr.octets();
    Ipv6Addr::new(
        0xff02,
        0,
        0,
        0,
        0,
        1,
        0xff00 | u16::from(o[13]),
        u16::from_be_bytes([o[14], o[15]]),
    )
}

/// Writes a Neighbor Solicitation for `vip` as Duplicate Address Detection sends it (RFC 4862
/// §5.4.2) into `buf` and returns its length ([`NS_PROBE_LEN`]): from `::` (so no receiver
/// updates its cache, and no Source Link-Layer Address option) to `vip`'s solicited-node
/// group, hop limit 255, Ethernet source `src_mac`. A host that holds `vip` answers with an
/// NA to all nodes (RFC 4861 §7.2.4).
pub fn build_ns_probe(buf: &mut [u8], src_mac: [u8; 6], vip: Ipv6Addr) -> Result<usize> {
    need(buf, NS_PROBE_LEN, "a neighbor solicitation probe")?;
    let group = solicited_node(vip);
    let g = group.octets();
    let f = &mut buf[..NS_PROBE_LEN];
    f[0..6].copy_from_slice(&[0x33, 0x33, g[12], g[13], g[14], g[15]]);
    f[6..12].copy_from_slice(&src_mac);
    f[12..14].copy_from_slice(&ETH_P_IPV6.to_be_bytes());
    let ip = &mut f[14..54];
    ip[0..4].copy_from_slice(&[0x60, 0, 0, 0]);
    ip[4..6].copy_from_slice(&24u16.to_be_bytes());
    ip[6] = 58;
    ip[7] = 255;
    ip[8..24].copy_from_slice(&Ipv6Addr::UNSPECIFIED.octets());
    ip[24..40].copy_from_slice(&g);
    let icmp = &mut f[54..78];
    icmp[0] = 135;
    icmp[1] = 0;
    icmp[2..8].copy_from_slice(&[0; 6]);
    icmp[8..24].copy_from_slice(&vip.octets());
    let sum = icmpv6_checksum(&Ipv6Addr::UNSPECIFIED, &group, icmp);
    icmp[2..4].copy_from_slice(&sum.to_be_bytes());
    Ok(NS_PROBE_LEN)
}

/// Writes the probe of `addr` (ARP or NS, by family) and returns its length.
pub fn build_probe(buf: &mut [u8], src_mac: [u8; 6], addr: IpAddr) -> Result<usize> {
    match addr {
        IpAddr::V4(v4) => build_arp_probe(buf, src_mac, v4),
        IpAddr::V6(v6) => build_ns_probe(buf, src_mac, v6),
    }
}

/// The claim a received Ethernet frame makes, if any: an Ethernet/IPv4 ARP request or reply
/// with a sender IP other than 0.0.0.0 (gratuitous ARPs, replies, and requests, which also
/// say "this MAC has this address"), or an ICMPv6 Neighbor Advertisement with hop limit 255
/// (RFC 4861 §7.1.2), solicited or not. Anything else, or a truncated frame, is `None`.
pub fn parse_claim(frame: &[u8]) -> Option<Claim> {
    let ethertype = u16::from_be_bytes([*frame.get(12)?, *frame.get(13)?]);
    match ethertype {
        ETH_P_ARP => {
            let arp = frame.get(14..42)?;
            let well_formed = arp[0..2] == [0, 1] && arp[2..4] == [8, 0] && arp[4..6] == [6, 4];
            let op = u16::from_be_bytes([arp[6], arp[7]]);
            if !well_formed || !(op == 1 || op == 2) {
                return None;
            }
            let sender: [u8; 4] = arp[14..18].try_into().ok()?;
            let addr = Ipv4Addr::from(sender);
            if addr.is_unspecified() {
                return None;
            }
            Some(Claim {
                addr: IpAddr::V4(addr),
                mac: arp[8..14].try_into().ok()?,
            })
        }
        ETH_P_IPV6 => {
            let ip = frame.get(14..54)?;
            if ip[0] >> 4 != 6 || ip[6] != 58 || ip[7] != 255 {
                return None;
            }
            let payload = usize::from(u16::from_be_bytes([ip[4], ip[5]]));
            let icmp = frame.get(54..54 + payload)?;
            if icmp.len() < 24 || icmp[0] != 136 || icmp[1] != 0 {
                return None;
            }
            let target: [u8; 16] = icmp[8..24].try_into().ok()?;
            let mut mac: [u8; 6] = frame[6..12].try_into().ok()?;
            let mut options = &icmp[24..];
            while options.len() >= 8 {
                let len = usize::from(options[1]) * 8;
                if len == 0 || len > options.len() {
                    break;
                }
                if options[0] == 2 {
                    mac.copy_from_slice(&options[2..8]);
                    break;
                }
                options = &options[len..];
            }
            Some(Claim {
                addr: IpAddr::V6(Ipv6Addr::from(target)),
                mac,
            })
        }
        _ => None,
    }
}

// Classic BPF opcodes (linux/bpf_common.h).
const BPF_LD_B_ABS: u16 = 0x30;
const BPF_LD_W_ABS: u16 = 0x20;
const BPF_JEQ_K: u16 = 0x15;
const BPF_RET_K: u16 = 0x06;

/// One classic BPF instruction: opcode, jump if true, jump if false, constant.
type Insn = (u16, u8, u8, u32);

/// The in-kernel filter program of a family's watch socket (see the module documentation).
fn program(family: Family) -> &'static [Insn] {
    match family {
        // ARP: drop a sender IP of 0.0.0.0 (probes: no claim).
        Family::V4 => &[
            (BPF_LD_W_ABS, 0, 0, 28),
            (BPF_JEQ_K, 0, 1, 0),
            (BPF_RET_K, 0, 0, 0),
            (BPF_RET_K, 0, 0, SNAP_LEN),
        ],
        // IPv6: keep ICMPv6 (next header 58) type 136 only.
        Family::V6 => &[
            (BPF_LD_B_ABS, 0, 0, 20),
            (BPF_JEQ_K, 0, 3, 58),
            (BPF_LD_B_ABS, 0, 0, 54),
            (BPF_JEQ_K, 0, 1, 136),
            (BPF_RET_K, 0, 0, SNAP_LEN),
            (BPF_RET_K, 0, 0, 0),
        ],
    }
}

/// [`program`] as socket2 takes it.
fn filter(family: Family) -> Vec<SockFilter> {
    (program(family).iter())
        .map(|&(code, jt, jf, k)| SockFilter::new(code, jt, jf, k))
        .collect()
}

/// A receive-only AF_PACKET socket watching one interface for the claims of one family
/// (ARP for IPv4, Neighbor Advertisements for IPv6), filtered in the kernel.
#[derive(Debug)]
pub struct ClaimSocket {
    fd: AsyncFd<Socket>,
    ifindex: u32,
    family: Family,
    /// Frames that reached user space (passed the filter), claims or not.
    frames: AtomicU64,
}

impl ClaimSocket {
    /// Opens the watch of `family` on `ifindex` (needs `CAP_NET_RAW`) inside a tokio runtime.
    /// The socket is created with protocol 0 (it receives nothing), given its filter, and only
    /// then bound to the interface and EtherType, so no unfiltered frame is ever queued.
    pub fn open(ifindex: u32, family: Family) -> Result<Self> {
        let ctx = format!("opening the {family:?} address-claim watch on ifindex {ifindex}");
        let name = ifindex.to_string();
        let io = |e: std::io::Error| Error::io(ctx.clone(), &name, e);
        let sock = Socket::new(Domain::PACKET, Type::RAW, Some(Protocol::from(0))).map_err(io)?;
        sock.attach_filter(&filter(family)).map_err(io)?;
        sock.set_nonblocking(true).map_err(io)?;
        let proto = match family {
            Family::V4 => ETH_P_ARP,
            Family::V6 => ETH_P_IPV6,
        };
        let addr = crate::sys::link_addr(ifindex, proto, [0; 6]);
        nix::sys::socket::bind(sock.as_raw_fd(), &addr).map_err(|e| io(e.into()))?;
        let fd = crate::sys::async_fd(sock).map_err(io)?;
        tracing::debug!(ifindex, ?family, "address-claim watch open");
        Ok(ClaimSocket {
            fd,
            ifindex,
            family,
            frames: AtomicU64::new(0),
        })
    }

    /// The interface watched.
    pub fn ifindex(&self) -> u32 {
        self.ifindex
    }

    /// The family watched.
    pub fn family(&self) -> Family {
        self.family
    }

    /// How many frames passed the kernel filter and were read, claims or not (what the watch
    /// costs in user space).
    pub fn frames_received(&self) -> u64 {
        self.frames.load(Ordering::Relaxed)
    }

    /// The next queued claim, if any, without waiting; frames that make none are skipped.
    pub fn try_recv(&self, buf: &mut [u8]) -> Result<Option<Claim>> {
        loop {
            let read = self.fd.try_io(Interest::READABLE, |s| {
                recvfrom::<LinkAddr>(s.as_raw_fd(), buf).map_err(std::io::Error::from)
            });
            match read {
                Ok((n, from)) => {
                    self.frames.fetch_add(1, Ordering::Relaxed);
                    if from.is_some_and(|a| a.pkttype() == PACKET_OUTGOING) {
                        continue;
                    }
                    if let Some(claim) = parse_claim(&buf[..n.min(buf.len())]) {
                        return Ok(Some(claim));
                    }
                }
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => return Ok(None),
                Err(e) => {
                    let ctx = format!("receiving on the address-claim watch of ifindex {}", {
                        self.ifindex
                    });
                    return Err(Error::io(ctx, &self.ifindex.to_string(), e));
                }
            }
        }
    }

    /// Ready when the socket may hold a frame (cleared by a `try_recv` that found nothing).
    pub fn poll_readable(&self, cx: &mut std::task::Context<'_>) -> std::task::Poll<()> {
        self.fd.poll_read_ready(cx).map(|_| ())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::announce::{build_garp, build_unsolicited_na, GarpForm};

    const MAC: [u8; 6] = [0x02, 0, 0, 0, 0, 0x01];

    /// A gratuitous ARP for 192.0.2.1 from [`MAC`] and its length.
    fn garp() -> ([u8; 64], usize) {
        let mut buf = [0u8; 64];
        let vip = Ipv4Addr::new(192, 0, 2, 1);
        let n = build_garp(&mut buf, MAC, vip, GarpForm::Request).unwrap();
        (buf, n)
    }

    #[test]
    fn arp_probe_parses_as_a_probe_with_etherparse_and_makes_no_claim() {
        let mut buf = [0u8; 64];
        let vip = Ipv4Addr::new(192, 0, 2, 1);
        let n = build_arp_probe(&mut buf, MAC, vip).unwrap();
        let p = etherparse::SlicedPacket::from_ethernet(&buf[..n]).unwrap();
        let Some(etherparse::NetSlice::Arp(arp)) = p.net else {
            panic!("not ARP")
        };
        assert_eq!(arp.operation(), etherparse::ArpOperation::REQUEST);
        assert_eq!(arp.sender_hw_addr(), &MAC);
        assert_eq!(arp.sender_protocol_addr(), &[0, 0, 0, 0]);
        assert_eq!(arp.target_protocol_addr(), &vip.octets());
        assert_eq!(
            parse_claim(&buf[..n]),
            None,
            "sender 0.0.0.0 claims nothing"
        );
    }

    #[test]
    fn ns_probe_is_dad_shaped_and_its_checksum_verifies() {
        let mut buf = [0u8; 128];
        let vip: Ipv6Addr = "2001:db8::12:3456".parse().unwrap();
        let n = build_ns_probe(&mut buf, MAC, vip).unwrap();
        assert_eq!(n, NS_PROBE_LEN);
        assert_eq!(&buf[..6], &[0x33, 0x33, 0xff, 0x12, 0x34, 0x56]);
        let p = etherparse::SlicedPacket::from_ethernet(&buf[..n]).unwrap();
        let Some(etherparse::NetSlice::Ipv6(ip)) = &p.net else {
            panic!("not IPv6")
        };
        assert_eq!(ip.header().source_addr(), Ipv6Addr::UNSPECIFIED);
        assert_eq!(
            ip.header().destination_addr(),
            "ff02::1:ff12:3456".parse::<Ipv6Addr>().unwrap()
        );
        assert_eq!(ip.header().hop_limit(), 255);
        let Some(etherparse::TransportSlice::Icmpv6(icmp)) = &p.transport else {
            panic!("not ICMPv6")
        };
        assert_eq!(icmp.type_u8(), 135);
        assert_eq!(&icmp.payload()[..16], &vip.octets(), "target");
        assert_eq!(
            icmpv6_checksum(&Ipv6Addr::UNSPECIFIED, &solicited_node(vip), &buf[54..n]),
            0
        );
        assert_eq!(parse_claim(&buf[..n]), None, "an NS is no claim");
    }

    #[test]
    fn gratuitous_arps_replies_and_nas_are_claims_with_their_sender_mac() {
        let vip = Ipv4Addr::new(192, 0, 2, 1);
        for form in [
            GarpForm::Request,
            GarpForm::RequestBroadcastTarget,
            GarpForm::Reply,
        ] {
            let mut buf = [0u8; 64];
            let n = build_garp(&mut buf, MAC, vip, form).unwrap();
            assert_eq!(
                parse_claim(&buf[..n]),
                Some(Claim {
                    addr: vip.into(),
                    mac: MAC
                }),
                "{form:?}"
            );
        }
        // An ARP reply to a probe: sender = the holder, target IP 0.0.0.0.
        let mut reply = [0u8; 60];
        build_arp_probe(&mut reply, [0x02, 0, 0, 0, 0, 0x42], vip).unwrap();
        reply[21] = 2;
        reply[22..28].copy_from_slice(&MAC);
        reply[28..32].copy_from_slice(&vip.octets());
        reply[38..42].copy_from_slice(&[0; 4]);
        let want = Some(Claim {
            addr: vip.into(),
            mac: MAC,
        });
        assert_eq!(parse_claim(&reply), want, "padded to 60 bytes");
        // NA: the TLLA option's MAC, not the Ethernet source.
        let v6: Ipv6Addr = "2001:db8::1".parse().unwrap();
        let mut na = [0u8; 128];
        let n = build_unsolicited_na(&mut na, MAC, v6, false).unwrap();
        na[6..12].copy_from_slice(&[0x02, 0, 0, 0, 0, 0x77]);
        let claim = parse_claim(&na[..n]).unwrap();
        assert_eq!((claim.addr, claim.mac), (IpAddr::V6(v6), MAC));
        // Without the option: the Ethernet source.
        let mut bare = na;
        bare[18..20].copy_from_slice(&24u16.to_be_bytes());
        let claim = parse_claim(&bare[..n - 8]).unwrap();
        assert_eq!(claim.mac, [0x02, 0, 0, 0, 0, 0x77]);
        // Hop limit other than 255: not a valid NA.
        na[21] = 64;
        assert_eq!(parse_claim(&na[..n]), None);
    }

    #[test]
    fn truncated_and_foreign_frames_are_no_claims() {
        let (mut buf, n) = garp();
        for len in 0..n {
            assert_eq!(parse_claim(&buf[..len]), None, "{len} bytes");
        }
        buf[12..14].copy_from_slice(&0x0800u16.to_be_bytes());
        assert_eq!(parse_claim(&buf[..n]), None, "IPv4 is not ARP");
        let mut na = [0u8; 128];
        let n = build_unsolicited_na(&mut na, MAC, "2001:db8::1".parse().unwrap(), true).unwrap();
        for len in 0..n - 8 {
            assert_eq!(parse_claim(&na[..len]), None, "{len} bytes");
        }
    }

    /// The filters keep what the module documentation says, run on real frames by a small
    /// interpreter of the opcodes they use.
    #[test]
    fn the_kernel_filters_keep_exactly_the_frames_that_can_be_claims() {
        fn run_raw(prog: &[Insn], frame: &[u8]) -> u32 {
            let (mut pc, mut a) = (0usize, 0u32);
            loop {
                let (code, jt, jf, k) = prog[pc];
                match code {
                    BPF_LD_B_ABS => a = u32::from(frame.get(k as usize).copied().unwrap_or(0)),
                    BPF_LD_W_ABS => {
                        let k = k as usize;
                        a = frame
                            .get(k..k + 4)
                            .map_or(0, |w| u32::from_be_bytes(w.try_into().unwrap()))
                    }
                    BPF_JEQ_K => {
                        pc += usize::from(if a == k { jt } else { jf });
                    }
                    BPF_RET_K => return k,
                    _ => panic!("opcode {code:#x}"),
                }
                pc += 1;
            }
        }
        let raw = program;
        assert_eq!(run_raw(raw(Family::V4), &garp().0), SNAP_LEN);
        let mut probe = [0u8; 64];
        build_arp_probe(&mut probe, MAC, Ipv4Addr::new(192, 0, 2, 1)).unwrap();
        assert_eq!(
            run_raw(raw(Family::V4), &probe),
            0,
            "probes stay in the kernel"
        );
        let mut na = [0u8; 128];
        build_unsolicited_na(&mut na, MAC, "2001:db8::1".parse().unwrap(), false).unwrap();
        assert_eq!(run_raw(raw(Family::V6), &na), SNAP_LEN);
        let mut ns = [0u8; 128];
        build_ns_probe(&mut ns, MAC, "2001:db8::1".parse().unwrap()).unwrap();
        assert_eq!(
            run_raw(raw(Family::V6), &ns),
            0,
            "an NS stays in the kernel"
        );
        let mut udp = na;
        udp[20] = 17;
        assert_eq!(
            run_raw(raw(Family::V6), &udp),
            0,
            "other IPv6 stays in the kernel"
        );
    }
}
