//! Packet capture on a segment and frame decoding helpers.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::os::fd::AsRawFd;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, SystemTime};

use etherparse::{ArpOperation, Icmpv6Type, NetSlice, SlicedPacket, TransportSlice};
use nix::sys::socket::LinkAddr;
use socket2::{Domain, Protocol, Socket, Type};

use crate::error::{Error, Result};
use crate::lab::Segment;
use crate::util::wait_until;

const PACKET_OUTGOING: u8 = 4;

/// One Ethernet frame seen on a segment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Frame {
    /// Wall-clock receive time (CLOCK_REALTIME when the harness read it).
    pub ts: SystemTime,
    /// The host whose bridge port the frame entered the bridge from (`None` if unknown).
    pub from_host: Option<String>,
    /// The whole frame, starting with the Ethernet header (no FCS).
    pub data: Vec<u8>,
}

/// A decoded ARP packet (Ethernet/IPv4).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ArpInfo {
    /// Ethernet source MAC.
    pub eth_src: [u8; 6],
    /// Ethernet destination MAC.
    pub eth_dst: [u8; 6],
    /// 1 = request, 2 = reply.
    pub operation: u16,
    /// Sender hardware address.
    pub sender_mac: [u8; 6],
    /// Sender protocol address.
    pub sender_ip: Ipv4Addr,
    /// Target hardware address.
    pub target_mac: [u8; 6],
    /// Target protocol address.
    pub target_ip: Ipv4Addr,
}

impl ArpInfo {
    /// Gratuitous ARP: sender IP equals target IP (request or reply).
    pub fn is_gratuitous(&self) -> bool {
        self.sender_ip == self.target_ip
    }
    /// Whether this is a request (opcode 1).
    pub fn is_request(&self) -> bool {
        self.operation == 1
    }
}

/// A decoded ICMPv6 Neighbor Advertisement.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NeighborAdvert {
    /// Ethernet source MAC.
    pub eth_src: [u8; 6],
    /// Ethernet destination MAC.
    pub eth_dst: [u8; 6],
    /// IPv6 source address.
    pub src: Ipv6Addr,
    /// IPv6 destination address (ff02::1 for unsolicited NAs).
    pub dst: Ipv6Addr,
    /// IPv6 hop limit (must be 255).
    pub hop_limit: u8,
    /// R flag.
    pub router: bool,
    /// S flag.
    pub solicited: bool,
    /// O flag.
    pub override_flag: bool,
    /// Target address.
    pub target: Ipv6Addr,
    /// Target link-layer address option, if present.
    pub target_mac: Option<[u8; 6]>,
}

/// An IP packet carrying protocol 112 (VRRP), not yet decoded; [`VrrpRaw::decode`] (or
/// [`Frame::vrrp_advert`]) runs it through vrrp-core's codec.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VrrpRaw {
    /// Ethernet source MAC (the virtual MAC `00:00:5e:00:01:VRID` when sent from a VMAC).
    pub eth_src: [u8; 6],
    /// Ethernet destination MAC.
    pub eth_dst: [u8; 6],
    /// IP source address.
    pub src: IpAddr,
    /// IP destination address (224.0.0.18 or ff02::12 for multicast adverts).
    pub dst: IpAddr,
    /// IPv4 TTL or IPv6 hop limit (must be 255).
    pub ttl: u8,
    /// The VRRP message (IP payload).
    pub payload: Vec<u8>,
}

/// An advertisement decoded by vrrp-core's codec ([`vrrp_core::packet::parse`]), owned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DecodedAdvert {
    /// Ethernet source MAC.
    pub eth_src: [u8; 6],
    /// IP source address.
    pub src: IpAddr,
    /// IP destination address.
    pub dst: IpAddr,
    /// TTL / hop limit.
    pub ttl: u8,
    /// Protocol version.
    pub version: vrrp_core::Version,
    /// Virtual router id.
    pub vrid: u8,
    /// Priority (0 = the Active is leaving, 255 = owner).
    pub priority: u8,
    /// Max Advertise Interval in centiseconds (v2: seconds x 100).
    pub interval_cs: u16,
    /// Which IPv4 VRRPv3 checksum form verified (`None` for IPv6 and VRRPv2).
    pub checksum_form: Option<vrrp_core::ChecksumForm>,
    /// The advertised addresses.
    pub addrs: Vec<IpAddr>,
}

impl VrrpRaw {
    /// Decodes the message with vrrp-core's codec, which accepts both IPv4 checksum forms and
    /// reports which one verified. The error says why the codec would discard the packet
    /// (bad checksum under both forms, bad version, ...). The TTL is not checked here.
    pub fn decode(&self) -> std::result::Result<DecodedAdvert, vrrp_core::RxError> {
        let meta = vrrp_core::RxMeta {
            src: self.src,
            dst: self.dst,
            ttl: self.ttl,
            ifindex: 0,
        };
        let adv = vrrp_core::packet::parse(&self.payload, meta)?;
        Ok(DecodedAdvert {
            eth_src: self.eth_src,
            src: self.src,
            dst: self.dst,
            ttl: self.ttl,
            version: adv.version,
            vrid: adv.vrid,
            priority: adv.priority,
            interval_cs: adv.interval_cs,
            checksum_form: adv.checksum_form,
            addrs: adv.addrs.iter().collect(),
        })
    }
}

fn mac_at(d: &[u8], off: usize) -> Option<[u8; 6]> {
    d.get(off..off + 6)?.try_into().ok()
}

impl Frame {
    /// Ethernet destination MAC.
    pub fn eth_dst(&self) -> Option<[u8; 6]> {
        mac_at(&self.data, 0)
    }

    /// Ethernet source MAC.
    pub fn eth_src(&self) -> Option<[u8; 6]> {
        mac_at(&self.data, 6)
    }

    /// The EtherType (after any VLAN tags).
    pub fn ether_type(&self) -> Option<u16> {
        SlicedPacket::from_ethernet(&self.data)
            .ok()?
            .payload_ether_type()
            .map(|t| t.0)
    }

    fn sliced(&self) -> Option<SlicedPacket<'_>> {
        SlicedPacket::from_ethernet(&self.data).ok()
    }

    /// Source, destination and IP protocol / next header, if this is an IP packet.
    pub fn ip(&self) -> Option<(IpAddr, IpAddr, u8)> {
        match self.sliced()?.net? {
            NetSlice::Ipv4(v4) => {
                let h = v4.header();
                Some((
                    h.source_addr().into(),
                    h.destination_addr().into(),
                    v4.payload().ip_number.0,
                ))
            }
            NetSlice::Ipv6(v6) => {
                let h = v6.header();
                Some((
                    h.source_addr().into(),
                    h.destination_addr().into(),
                    v6.payload().ip_number.0,
                ))
            }
            NetSlice::Arp(_) => None,
        }
    }

    /// Whether this is an ICMP / ICMPv6 echo request (`Some(true)`) or reply (`Some(false)`).
    pub fn icmp_echo(&self) -> Option<bool> {
        match self.sliced()?.transport? {
            TransportSlice::Icmpv4(i) => match i.type_u8() {
                8 => Some(true),
                0 => Some(false),
                _ => None,
            },
            TransportSlice::Icmpv6(i) => match i.type_u8() {
                128 => Some(true),
                129 => Some(false),
                _ => None,
            },
            _ => None,
        }
    }

    /// Decodes an Ethernet/IPv4 ARP packet.
    pub fn arp(&self) -> Option<ArpInfo> {
        let p = self.sliced()?;
        let NetSlice::Arp(arp) = p.net? else {
            return None;
        };
        let a = arp.to_packet().try_eth_ipv4().ok()?;
        let op = if a.operation == ArpOperation::REQUEST {
            1
        } else if a.operation == ArpOperation::REPLY {
            2
        } else {
            a.operation.0
        };
        Some(ArpInfo {
            eth_src: self.eth_src()?,
            eth_dst: self.eth_dst()?,
            operation: op,
            sender_mac: a.sender_mac,
            sender_ip: Ipv4Addr::from(a.sender_ipv4),
            target_mac: a.target_mac,
            target_ip: Ipv4Addr::from(a.target_ipv4),
        })
    }

    /// Decodes an ICMPv6 Neighbor Advertisement (target and target link-layer option).
    pub fn neighbor_advert(&self) -> Option<NeighborAdvert> {
        let p = self.sliced()?;
        let Some(NetSlice::Ipv6(v6)) = &p.net else {
            return None;
        };
        let h = v6.header();
        let Some(TransportSlice::Icmpv6(icmp)) = &p.transport else {
            return None;
        };
        let Icmpv6Type::NeighborAdvertisement(na) = icmp.icmp_type() else {
            return None;
        };
        // After the 8-byte ICMPv6 header: 16-byte target, then options (type, len in 8 bytes).
        let body = icmp.payload();
        let target: [u8; 16] = body.get(..16)?.try_into().ok()?;
        let mut opts = &body[16..];
        let mut target_mac = None;
        while opts.len() >= 8 {
            let (ty, len) = (opts[0], opts[1] as usize * 8);
            if len == 0 || len > opts.len() {
                break;
            }
            if ty == 2 {
                target_mac = mac_at(opts, 2);
            }
            opts = &opts[len..];
        }
        Some(NeighborAdvert {
            eth_src: self.eth_src()?,
            eth_dst: self.eth_dst()?,
            src: h.source_addr(),
            dst: h.destination_addr(),
            hop_limit: h.hop_limit(),
            router: na.router,
            solicited: na.solicited,
            override_flag: na.r#override,
            target: Ipv6Addr::from(target),
            target_mac,
        })
    }

    /// Decodes a VRRP advertisement with vrrp-core: `None` if the frame is not IP protocol
    /// 112, `Some(Err(_))` if the codec rejects it (for example a checksum that verifies under
    /// neither IPv4 form).
    pub fn vrrp_advert(&self) -> Option<std::result::Result<DecodedAdvert, vrrp_core::RxError>> {
        self.vrrp().map(|raw| raw.decode())
    }

    /// The IP payload of a protocol-112 (VRRP) packet with its addressing, undecoded.
    pub fn vrrp(&self) -> Option<VrrpRaw> {
        let p = self.sliced()?;
        let (src, dst, ttl, payload) = match p.net? {
            NetSlice::Ipv4(v4) => {
                let pl = v4.payload();
                if pl.ip_number.0 != 112 {
                    return None;
                }
                let h = v4.header();
                (
                    IpAddr::from(h.source_addr()),
                    IpAddr::from(h.destination_addr()),
                    h.ttl(),
                    pl.payload.to_vec(),
                )
            }
            NetSlice::Ipv6(v6) => {
                let pl = v6.payload();
                if pl.ip_number.0 != 112 {
                    return None;
                }
                let h = v6.header();
                (
                    IpAddr::from(h.source_addr()),
                    IpAddr::from(h.destination_addr()),
                    h.hop_limit(),
                    pl.payload.to_vec(),
                )
            }
            NetSlice::Arp(_) => return None,
        };
        Some(VrrpRaw {
            eth_src: self.eth_src()?,
            eth_dst: self.eth_dst()?,
            src,
            dst,
            ttl,
            payload,
        })
    }
}

/// A running capture of every frame that enters a segment's bridge (each frame once, as it
/// arrives from a host's port). Stops on [`Capture::stop`] or drop.
#[derive(Debug)]
pub struct Capture {
    frames: Arc<Mutex<Vec<Frame>>>,
    error: Arc<Mutex<Option<String>>>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl Segment {
    /// Starts capturing on this segment: an `AF_PACKET`/`ETH_P_ALL` socket opened inside the
    /// bridge namespace. Frames are read on a background thread and timestamped. Frames sent
    /// after this returns are captured.
    pub fn capture(&self) -> Result<Capture> {
        self.capture_with_ports(&[])
    }

    /// Like [`Segment::capture`], also taking frames that enter from `extra` bridge ports
    /// (port name, host name) that were plugged in after the lab was built.
    pub(crate) fn capture_with_ports(&self, extra: &[(String, String)]) -> Result<Capture> {
        // Map bridge-port ifindex -> host name.
        let out = self.netns.ip(&["-o", "link", "show"])?;
        let mut ports = Vec::new();
        for line in out.lines() {
            let mut it = line.splitn(3, ':');
            let (Some(idx), Some(name)) = (it.next(), it.next()) else {
                continue;
            };
            let name = name.trim();
            let name = name.split('@').next().unwrap_or(name);
            let Ok(idx) = idx.trim().parse::<usize>() else {
                continue;
            };
            let mut known = self.ports.iter().chain(extra);
            if let Some((_, host)) = known.find(|(p, _)| p == name) {
                ports.push((idx, host.clone()));
            }
        }
        let sock = self
            .netns
            .run(|| -> std::io::Result<Socket> {
                let proto = i32::from((nix::libc::ETH_P_ALL as u16).to_be());
                let s = Socket::new(Domain::PACKET, Type::RAW, Some(Protocol::from(proto)))?;
                s.set_read_timeout(Some(Duration::from_millis(50)))?;
                s.set_recv_buffer_size(4 << 20)?;
                Ok(s)
            })?
            .map_err(|e| Error::io(format!("open AF_PACKET socket in {}", self.netns.name()), e))?;
        let frames = Arc::new(Mutex::new(Vec::new()));
        let error = Arc::new(Mutex::new(None));
        let stop = Arc::new(AtomicBool::new(false));
        let (f2, e2, s2) = (frames.clone(), error.clone(), stop.clone());
        let thread = std::thread::Builder::new()
            .name(format!("capture:{}", self.name))
            .spawn(move || capture_loop(sock, ports, f2, e2, s2))
            .map_err(|e| Error::io("spawn capture thread", e))?;
        Ok(Capture {
            frames,
            error,
            stop,
            thread: Some(thread),
        })
    }
}

fn capture_loop(
    sock: Socket,
    ports: Vec<(usize, String)>,
    frames: Arc<Mutex<Vec<Frame>>>,
    error: Arc<Mutex<Option<String>>>,
    stop: Arc<AtomicBool>,
) {
    let mut buf = vec![0u8; 65536];
    while !stop.load(Ordering::Relaxed) {
        match nix::sys::socket::recvfrom::<LinkAddr>(sock.as_raw_fd(), &mut buf) {
            Ok((n, Some(addr))) => {
                if addr.pkttype() == PACKET_OUTGOING {
                    continue;
                }
                // Only frames entering the bridge from a host port: each frame exactly once.
                let Some((_, host)) = ports.iter().find(|(i, _)| *i == addr.ifindex()) else {
                    continue;
                };
                let frame = Frame {
                    ts: SystemTime::now(),
                    from_host: Some(host.clone()),
                    data: buf[..n.min(buf.len())].to_vec(),
                };
                frames.lock().expect("capture lock").push(frame);
            }
            Ok((_, None)) => {}
            Err(nix::errno::Errno::EAGAIN) | Err(nix::errno::Errno::EINTR) => {}
            Err(e) => {
                *error.lock().expect("capture lock") = Some(format!("recvfrom: {e}"));
                return;
            }
        }
    }
}

impl Capture {
    /// A snapshot of all frames captured so far, in arrival order.
    pub fn frames(&self) -> Vec<Frame> {
        self.frames.lock().expect("capture lock").clone()
    }

    /// Number of frames captured so far.
    pub fn len(&self) -> usize {
        self.frames.lock().expect("capture lock").len()
    }

    /// Whether nothing has been captured yet.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Forgets the frames captured so far.
    pub fn clear(&self) {
        self.frames.lock().expect("capture lock").clear();
    }

    /// Waits up to `timeout` for a frame matching `pred` (including frames already
    /// captured) and returns the first one.
    pub fn wait_for(&self, timeout: Duration, pred: impl Fn(&Frame) -> bool) -> Option<Frame> {
        let mut found = None;
        wait_until(timeout, || {
            found = self
                .frames
                .lock()
                .expect("capture lock")
                .iter()
                .find(|f| pred(f))
                .cloned();
            found.is_some()
        });
        found
    }

    /// Stops the background reader (idempotent); returns its error if it failed.
    pub fn stop(&mut self) -> Result<()> {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
        match self.error.lock().expect("capture lock").clone() {
            Some(e) => Err(Error::io("capture", std::io::Error::other(e))),
            None => Ok(()),
        }
    }

    /// Writes the frames captured so far as a classic pcap file (nanosecond timestamps,
    /// LINKTYPE_ETHERNET), readable by tcpdump and Wireshark.
    pub fn write_pcap(&self, path: impl AsRef<Path>) -> Result<()> {
        let path = path.as_ref();
        let what = format!("write pcap {}", path.display());
        let file = File::create(path).map_err(|e| Error::io(&what, e))?;
        let mut w = BufWriter::new(file);
        write_pcap_to(&mut w, &self.frames()).map_err(|e| Error::io(&what, e))?;
        w.flush().map_err(|e| Error::io(&what, e))
    }
}

/// Writes `frames` in classic pcap format (magic `a1b23c4d`, nanosecond resolution, Ethernet).
pub fn write_pcap_to(w: &mut impl Write, frames: &[Frame]) -> std::io::Result<()> {
    const SNAPLEN: u32 = 65535;
    w.write_all(&0xa1b2_3c4du32.to_le_bytes())?;
    w.write_all(&2u16.to_le_bytes())?;
    w.write_all(&4u16.to_le_bytes())?;
    w.write_all(&0i32.to_le_bytes())?; // thiszone
    w.write_all(&0u32.to_le_bytes())?; // sigfigs
    w.write_all(&SNAPLEN.to_le_bytes())?;
    w.write_all(&1u32.to_le_bytes())?; // LINKTYPE_ETHERNET
    for f in frames {
        let ts =
            f.ts.duration_since(SystemTime::UNIX_EPOCH)
                .unwrap_or_default();
        let len = f.data.len() as u32;
        let incl = len.min(SNAPLEN);
        w.write_all(&(ts.as_secs() as u32).to_le_bytes())?;
        w.write_all(&ts.subsec_nanos().to_le_bytes())?;
        w.write_all(&incl.to_le_bytes())?;
        w.write_all(&len.to_le_bytes())?;
        w.write_all(&f.data[..incl as usize])?;
    }
    Ok(())
}

impl Drop for Capture {
    fn drop(&mut self) {
        let _ = self.stop();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame(data: Vec<u8>) -> Frame {
        Frame {
            ts: SystemTime::UNIX_EPOCH + Duration::new(1, 5),
            from_host: None,
            data,
        }
    }

    #[test]
    fn decodes_gratuitous_arp() {
        let mut d = vec![0xff; 6];
        d.extend([2, 0, 0, 0, 1, 1, 0x08, 0x06]);
        d.extend([0, 1, 8, 0, 6, 4, 0, 1]);
        d.extend([2, 0, 0, 0, 1, 1, 192, 0, 2, 100]);
        d.extend([0xff; 6]);
        d.extend([192, 0, 2, 100]);
        let a = frame(d).arp().expect("arp");
        assert!(a.is_gratuitous() && a.is_request());
        assert_eq!(a.sender_mac, [2, 0, 0, 0, 1, 1]);
        assert_eq!(a.target_ip, Ipv4Addr::new(192, 0, 2, 100));
    }

    #[test]
    fn decodes_neighbor_advert() {
        let src = Ipv6Addr::new(0xfe80, 0, 0, 0, 0, 0, 0, 1);
        let dst: Ipv6Addr = "ff02::1".parse().unwrap();
        let target: Ipv6Addr = "2001:db8:1::64".parse().unwrap();
        let mut icmp = vec![136, 0, 0, 0, 0xa0, 0, 0, 0];
        icmp.extend(target.octets());
        icmp.extend([2, 1, 0, 0, 0x5e, 0, 2, 7]);
        let mut d = vec![0x33, 0x33, 0, 0, 0, 1, 0, 0, 0x5e, 0, 2, 7, 0x86, 0xdd];
        d.extend([0x60, 0, 0, 0]);
        d.extend((icmp.len() as u16).to_be_bytes());
        d.extend([58, 255]);
        d.extend(src.octets());
        d.extend(dst.octets());
        d.extend(icmp);
        let na = frame(d).neighbor_advert().expect("na");
        assert!(na.router && !na.solicited && na.override_flag);
        assert_eq!(na.target, target);
        assert_eq!(na.target_mac, Some([0, 0, 0x5e, 0, 2, 7]));
        assert_eq!(na.hop_limit, 255);
    }

    #[test]
    fn pcap_layout() {
        let mut out = Vec::new();
        write_pcap_to(&mut out, &[frame(vec![1, 2, 3])]).unwrap();
        assert_eq!(out.len(), 24 + 16 + 3);
        assert_eq!(&out[..4], &[0x4d, 0x3c, 0xb2, 0xa1]);
        assert_eq!(&out[24..28], &1u32.to_le_bytes());
        assert_eq!(&out[28..32], &5u32.to_le_bytes());
    }
}
