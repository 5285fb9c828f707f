//! The VRRP advertisement codec: VRRPv3 (RFC 9568) over IPv4 and IPv6, and VRRPv2 (RFC 3768).
//!
//! [`parse`] reads the VRRP message (the IP payload, cut at the IP total length by the caller)
//! together with [`RxMeta`] (addresses and TTL from the IP header) without allocating, and
//! returns a borrowed [`Advert`] or a typed [`RxError`] that the caller counts. It checks what is
//! intrinsic to the packet: length, version, type, count, interval, family, checksum. Policy
//! checks that depend on the router's configuration (TTL for unicast, VRID, version, auth,
//! interval mismatch, an IPv6 list starting with a link-local address) live in the router.
//!
//! [`build`] writes an advertisement into a caller's buffer; [`build_with_trailer`] appends
//! keepalived 2.4.3's `auth_hmac` trailer ([`crate::auth_hmac`]). A parsed [`Advert`] exposes
//! the bytes after the message ([`Advert::trailer`]) and what its checksum covered
//! ([`Advert::checksum_coverage`]).
//!
//! IPv4 VRRPv3 checksums exist in two forms (see the checklist's P1): RFC 9568's message-only
//! sum, and the RFC 5798 reading with the classic IPv4 pseudo-header that keepalived and FRR send
//! by default. On receive both are accepted and [`Advert::checksum_form`] says which one the
//! peer used; on send the form is the router's setting. A unicast advert may also carry
//! keepalived 1.3.6's form ([`ChecksumForm::OldUnicast`]: the pseudo-header with 224.0.0.18 as
//! destination), accepted too.

use core::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use crate::auth_hmac::TRAILER_LEN;
use crate::checksum;

/// Length of the fixed VRRP header.
pub const HEADER_LEN: usize = 8;
/// Length of the VRRPv2 authentication data that follows the addresses.
pub const V2_AUTH_LEN: usize = 8;
/// The VRRP IPv4 multicast group.
pub const MCAST_V4: Ipv4Addr = Ipv4Addr::new(224, 0, 0, 18);
/// The VRRP IPv6 multicast group.
pub const MCAST_V6: Ipv6Addr = Ipv6Addr::new(0xff02, 0, 0, 0, 0, 0, 0, 0x12);
/// TTL / hop limit every VRRP packet is sent with and must arrive with (R24).
pub const VRRP_TTL: u8 = 255;
/// Largest Max Advertise Interval in centiseconds (12 bits; erratum 8301).
pub const MAX_INTERVAL_CS: u16 = 4095;
/// Longest VRRP message: the header and 255 IPv6 addresses (VRRPv2 over IPv4 is shorter:
/// 8 + 255 x 4 + 8).
pub const MAX_MESSAGE_LEN: usize = HEADER_LEN + 255 * 16;
/// Longest advert payload: [`MAX_MESSAGE_LEN`] and an `auth_hmac` trailer, 4116 bytes. A buffer
/// this long holds any advert vrrpd or keepalived 2.4.3 sends (keepalived fits 255 IPv6
/// addresses and the trailer from an MTU of 4170, see [`max_addresses`]).
pub const MAX_PAYLOAD_LEN: usize = MAX_MESSAGE_LEN + TRAILER_LEN;
/// Length of an Ethernet header, which keepalived counts against the MTU.
const ETHERNET_HEADER_LEN: usize = 14;
/// Length of a CARP header, which shares protocol 112 and the group with VRRP.
const CARP_LEN: usize = 36;

/// Protocol version of an advertisement.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub enum Version {
    /// VRRPv2 (RFC 3768): IPv4 only, whole-second interval, 8-byte authentication field.
    V2,
    /// VRRPv3 (RFC 9568): centisecond interval, IPv4 and IPv6.
    V3,
}

/// Address family of a virtual router.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub enum Family {
    /// IPv4.
    V4,
    /// IPv6.
    V6,
}

impl Family {
    /// The family of an address.
    pub fn of(addr: IpAddr) -> Family {
        match addr {
            IpAddr::V4(_) => Family::V4,
            IpAddr::V6(_) => Family::V6,
        }
    }

    /// Bytes per address in the advertisement's address list.
    pub const fn addr_len(self) -> usize {
        match self {
            Family::V4 => 4,
            Family::V6 => 16,
        }
    }

    /// The VRRP multicast group of this family.
    pub const fn multicast_group(self) -> IpAddr {
        match self {
            Family::V4 => IpAddr::V4(MCAST_V4),
            Family::V6 => IpAddr::V6(MCAST_V6),
        }
    }
}

/// Which checksum an IPv4 VRRPv3 advertisement carries.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub enum ChecksumForm {
    /// RFC 9568: the sum covers the VRRP message only (Cisco, Juniper, holo,
    /// keepalived's `v3_checksum_as_v2`).
    Rfc9568,
    /// RFC 5798 as keepalived and FRR read it: the message plus the 12-byte IPv4 pseudo-header
    /// built from the packet's real source and destination. Their default, so ours too.
    #[default]
    PseudoHeader,
    /// keepalived 1.3.6 and earlier on unicast (its `old_unicast_checksum`): the IPv4
    /// pseudo-header with the VRRP multicast group [`MCAST_V4`] in place of the unicast
    /// destination. Only told apart from [`ChecksumForm::PseudoHeader`] for a unicast
    /// destination.
    OldUnicast,
}

/// VRRPv2 authentication type (RFC 3768 §5.3.6, RFC 2338).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub enum AuthType {
    /// Type 0: no authentication.
    #[default]
    None,
    /// Type 1: simple text password, up to 8 bytes, zero padded (keepalived's `auth_type PASS`).
    Password,
    /// Type 2: IP Authentication Header (deprecated; keepalived's `auth_type AH`).
    Ah,
}

impl AuthType {
    fn from_wire(b: u8) -> Option<AuthType> {
        match b {
            0 => Some(AuthType::None),
            1 => Some(AuthType::Password),
            2 => Some(AuthType::Ah),
            _ => None,
        }
    }

    fn to_wire(self) -> u8 {
        match self {
            AuthType::None => 0,
            AuthType::Password => 1,
            AuthType::Ah => 2,
        }
    }
}

/// Where a received packet came from, read from its IP header by the data plane.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RxMeta {
    /// IP source address.
    pub src: IpAddr,
    /// IP destination address (the multicast group, or our address for unicast peers).
    pub dst: IpAddr,
    /// IPv4 TTL or IPv6 hop limit.
    pub ttl: u8,
    /// Interface index the packet arrived on.
    pub ifindex: u32,
}

/// Why a received packet was discarded by the codec. Each variant is counted by the caller.
#[derive(thiserror::Error, Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum RxError {
    /// Shorter than the fixed header, or than the header plus the announced addresses (R27).
    #[error("packet too short: {len} bytes, expected at least {expected}")]
    TooShort {
        /// Bytes received.
        len: usize,
        /// Bytes the header announced.
        expected: usize,
    },
    /// Version nibble other than 2 or 3 (R25).
    #[error("unsupported VRRP version {0}, expected 2 or 3")]
    BadVersion(u8),
    /// Type other than 1 = ADVERTISEMENT (R26).
    #[error("unknown VRRP packet type {0}, expected 1 (advertisement)")]
    BadType(u8),
    /// A CARP packet: same protocol number and group as VRRP, not ours.
    #[error("CARP packet (not VRRP), ignored")]
    Carp,
    /// IPvX Addr Count of zero (§5.2.5, erratum 8299; R31).
    #[error("address count is 0, expected at least 1")]
    ZeroCount,
    /// Max Advertise Interval of zero (erratum 8301; R32).
    #[error("advertisement interval is 0, expected 1..4095 centiseconds")]
    ZeroInterval,
    /// Checksum verifies under neither accepted form (R28).
    #[error("bad checksum")]
    Checksum,
    /// IP header family differs from the metadata's other address.
    #[error("source and destination address families differ")]
    FamilyMismatch,
    /// VRRPv2 over IPv6 (RFC 3768 is IPv4 only).
    #[error("VRRPv2 over IPv6 is not supported")]
    V2OverIpv6,
    /// VRRPv2 authentication type other than 0, 1, 2.
    #[error("unknown VRRPv2 authentication type {0}")]
    BadAuthType(u8),
}

/// What the checksum of a received advertisement covered, besides its pseudo-header.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub enum ChecksumCoverage {
    /// The VRRP message only: every advert without a trailer, and keepalived 2.4.3's IPv4 ones
    /// with a trailer.
    #[default]
    Message,
    /// The message and the bytes after it, with the whole payload's length in the IPv6
    /// pseudo-header: keepalived 2.4.3's IPv6 adverts with a trailer (the kernel's
    /// `IPV6_CHECKSUM` sums the whole payload).
    MessageAndTrailer,
}

/// The address list of a received advertisement, borrowed from the packet.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AddrList<'a> {
    family: Family,
    bytes: &'a [u8],
}

impl<'a> AddrList<'a> {
    /// Number of addresses.
    pub fn len(&self) -> usize {
        self.bytes.len() / self.family.addr_len()
    }

    /// True when the list is empty (never for a parsed advert).
    pub fn is_empty(&self) -> bool {
        self.bytes.is_empty()
    }

    /// The `i`-th address.
    pub fn get(&self, i: usize) -> Option<IpAddr> {
        let n = self.family.addr_len();
        let chunk = self.bytes.get(i * n..(i + 1) * n)?;
        Some(addr_from_bytes(self.family, chunk))
    }

    /// Iterates over the addresses.
    pub fn iter(&self) -> impl Iterator<Item = IpAddr> + 'a {
        let family = self.family;
        self.bytes
            .chunks_exact(family.addr_len())
            .map(move |c| addr_from_bytes(family, c))
    }

    /// True when the list holds exactly `addrs`, in order.
    pub fn equals(&self, addrs: &[IpAddr]) -> bool {
        self.len() == addrs.len() && self.iter().zip(addrs).all(|(a, b)| a == *b)
    }
}

fn addr_from_bytes(family: Family, c: &[u8]) -> IpAddr {
    match family {
        Family::V4 => IpAddr::V4(Ipv4Addr::new(c[0], c[1], c[2], c[3])),
        Family::V6 => {
            let mut o = [0u8; 16];
            o.copy_from_slice(c);
            IpAddr::V6(Ipv6Addr::from(o))
        }
    }
}

/// A parsed advertisement, borrowing the packet buffer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Advert<'a> {
    /// Protocol version.
    pub version: Version,
    /// Virtual router identifier, 1..255 (0 is not valid but is reported as received).
    pub vrid: u8,
    /// Sender's priority: 255 owner, 1..254 backup, 0 leaving.
    pub priority: u8,
    /// Max Advertise Interval in centiseconds (v2: the whole-second field times 100).
    pub interval_cs: u16,
    /// Which checksum form verified (IPv4 VRRPv3 only; `None` for IPv6 and VRRPv2).
    pub checksum_form: Option<ChecksumForm>,
    /// VRRPv2 authentication type (`None` for v3).
    pub auth_type: AuthType,
    /// VRRPv2 authentication data (all zero for v3).
    pub auth_data: [u8; V2_AUTH_LEN],
    /// The advertised addresses.
    pub addrs: AddrList<'a>,
    /// The packet's IP metadata.
    pub meta: RxMeta,
    /// The VRRP message: header, addresses and (VRRPv2) authentication data.
    message: &'a [u8],
    /// The bytes after the message.
    trailer: &'a [u8],
    /// What the checksum covered.
    checksum_coverage: ChecksumCoverage,
}

impl<'a> Advert<'a> {
    /// The address family of the packet.
    pub fn family(&self) -> Family {
        self.addrs.family
    }

    /// The VRRP message as received (header, addresses, VRRPv2 authentication data), without
    /// the bytes after it: what the `auth_hmac` HMAC covers.
    pub fn message(&self) -> &'a [u8] {
        self.message
    }

    /// The bytes after the VRRP message: the 28-byte `auth_hmac` trailer of a signing
    /// keepalived 2.4.3 ([`crate::auth_hmac::verify`] takes them as they are), empty when
    /// there is nothing. keepalived without `auth_hmac` drops an advert with such bytes.
    pub fn trailer(&self) -> &'a [u8] {
        self.trailer
    }

    /// What the checksum covered: the message, or the message and [`Advert::trailer`].
    pub fn checksum_coverage(&self) -> ChecksumCoverage {
        self.checksum_coverage
    }
}

/// Parses a VRRP message (the IP payload) received with `meta`.
///
/// Accepts VRRPv3 over IPv4 (either checksum form) and IPv6, and VRRPv2 over IPv4; rejects
/// CARP. `payload` may carry bytes after the message (an `auth_hmac` trailer, Ethernet padding
/// the caller did not cut): they are returned by [`Advert::trailer`], in both versions. The
/// checksum must verify over the message alone or, failing that, over the whole payload
/// (keepalived's IPv6 form with a trailer); [`Advert::checksum_coverage`] says which.
pub fn parse(payload: &[u8], meta: RxMeta) -> Result<Advert<'_>, RxError> {
    if payload.len() < HEADER_LEN {
        return Err(RxError::TooShort {
            len: payload.len(),
            expected: HEADER_LEN,
        });
    }
    let family = match (meta.src, meta.dst) {
        (IpAddr::V4(_), IpAddr::V4(_)) => Family::V4,
        (IpAddr::V6(_), IpAddr::V6(_)) => Family::V6,
        _ => return Err(RxError::FamilyMismatch),
    };
    let version = payload[0] >> 4;
    let ptype = payload[0] & 0x0f;
    match version {
        3 => parse_v3(payload, meta, family, ptype),
        2 => parse_v2(payload, meta, family, ptype),
        v => Err(RxError::BadVersion(v)),
    }
}

fn parse_v3(p: &[u8], meta: RxMeta, family: Family, ptype: u8) -> Result<Advert<'_>, RxError> {
    if ptype != 1 {
        return Err(RxError::BadType(ptype));
    }
    let count = usize::from(p[3]);
    if count == 0 {
        return Err(RxError::ZeroCount);
    }
    let msg_len = HEADER_LEN + count * family.addr_len();
    if p.len() < msg_len {
        return Err(RxError::TooShort {
            len: p.len(),
            expected: msg_len,
        });
    }
    let (msg, trailer) = p.split_at(msg_len);
    let interval_cs = u16::from_be_bytes([p[4], p[5]]) & 0x0fff;
    if interval_cs == 0 {
        return Err(RxError::ZeroInterval);
    }
    let (checksum_form, checksum_coverage) =
        verify_checksum(p, msg_len, |bytes| v3_checksum_form(bytes, meta))?;
    let addrs = AddrList {
        family,
        bytes: &msg[HEADER_LEN..],
    };
    Ok(Advert {
        version: Version::V3,
        vrid: p[1],
        priority: p[2],
        interval_cs,
        checksum_form,
        auth_type: AuthType::None,
        auth_data: [0; V2_AUTH_LEN],
        addrs,
        meta,
        message: msg,
        trailer,
        checksum_coverage,
    })
}

/// Verifies the checksum of `p` over its first `msg_len` bytes or, when bytes follow and that
/// fails, over all of it. `form` returns, for a span whose checksum verifies, the form it
/// verified in, and `None` for a span that does not verify.
fn verify_checksum<F>(
    p: &[u8],
    msg_len: usize,
    form: impl Fn(&[u8]) -> Option<F>,
) -> Result<(F, ChecksumCoverage), RxError> {
    if let Some(f) = form(&p[..msg_len]) {
        return Ok((f, ChecksumCoverage::Message));
    }
    if p.len() > msg_len {
        if let Some(f) = form(p) {
            return Ok((f, ChecksumCoverage::MessageAndTrailer));
        }
    }
    Err(RxError::Checksum)
}

/// The form in which `bytes` (sent with `meta`'s addresses) carry a valid VRRPv3 checksum
/// (`Some(None)` over IPv6, which has one form), `None` if the checksum does not verify.
fn v3_checksum_form(bytes: &[u8], meta: RxMeta) -> Option<Option<ChecksumForm>> {
    let sum = checksum::sum_words(0, bytes);
    match (meta.src, meta.dst) {
        (IpAddr::V6(src), IpAddr::V6(dst)) => {
            let ph = checksum::ipv6_pseudo_header_sum(src, dst, bytes.len() as u32);
            checksum::verifies(sum + ph).then_some(None)
        }
        (IpAddr::V4(src), IpAddr::V4(dst)) => {
            if checksum::verifies(sum) {
                return Some(Some(ChecksumForm::Rfc9568));
            }
            let ph = checksum::ipv4_pseudo_header_sum(src, dst, bytes.len() as u16);
            if checksum::verifies(sum + ph) {
                return Some(Some(ChecksumForm::PseudoHeader));
            }
            let old = checksum::ipv4_pseudo_header_sum(src, MCAST_V4, bytes.len() as u16);
            (!dst.is_multicast() && checksum::verifies(sum + old))
                .then_some(Some(ChecksumForm::OldUnicast))
        }
        _ => None,
    }
}

fn parse_v2(p: &[u8], meta: RxMeta, family: Family, ptype: u8) -> Result<Advert<'_>, RxError> {
    if looks_like_carp(p) {
        return Err(RxError::Carp);
    }
    if family == Family::V6 {
        return Err(RxError::V2OverIpv6);
    }
    if ptype != 1 {
        return Err(RxError::BadType(ptype));
    }
    let count = usize::from(p[3]);
    if count == 0 {
        return Err(RxError::ZeroCount);
    }
    let msg_len = HEADER_LEN + count * 4 + V2_AUTH_LEN;
    if p.len() < msg_len {
        return Err(RxError::TooShort {
            len: p.len(),
            expected: msg_len,
        });
    }
    let (msg, trailer) = p.split_at(msg_len);
    let auth_type = AuthType::from_wire(p[4]).ok_or(RxError::BadAuthType(p[4]))?;
    if p[5] == 0 {
        return Err(RxError::ZeroInterval);
    }
    let ((), checksum_coverage) = verify_checksum(p, msg_len, |bytes| {
        checksum::verifies(checksum::sum_words(0, bytes)).then_some(())
    })?;
    let mut auth_data = [0u8; V2_AUTH_LEN];
    auth_data.copy_from_slice(&msg[msg_len - V2_AUTH_LEN..]);
    Ok(Advert {
        version: Version::V2,
        vrid: p[1],
        priority: p[2],
        interval_cs: u16::from(p[5]) * 100,
        checksum_form: None,
        auth_type,
        auth_data,
        addrs: AddrList {
            family,
            bytes: &msg[HEADER_LEN..msg_len - V2_AUTH_LEN],
        },
        meta,
        message: msg,
        trailer,
        checksum_coverage,
    })
}

/// CARP (version 2, type 1) is 36 bytes with authlen 7 in byte 3, where VRRPv2 has the count;
/// a VRRPv2 packet with count 7 is 44 bytes long, so the two cannot be confused.
fn looks_like_carp(p: &[u8]) -> bool {
    p.len() == CARP_LEN && p[0] == 0x21 && p[3] == 7
}

/// True for fe80::/10.
pub fn is_link_local(a: Ipv6Addr) -> bool {
    (a.segments()[0] & 0xffc0) == 0xfe80
}

/// What to put in an advertisement being built.
#[derive(Clone, Copy, Debug)]
pub struct AdvertSpec<'a> {
    /// Version to send.
    pub version: Version,
    /// Virtual router identifier.
    pub vrid: u8,
    /// Priority to advertise (0 when leaving).
    pub priority: u8,
    /// Advertisement interval in centiseconds (v2 sends it rounded to whole seconds, at least 1).
    pub interval_cs: u16,
    /// The virtual addresses, all of one family (IPv6: link-local first).
    pub addrs: &'a [IpAddr],
    /// IPv4 VRRPv3 checksum form (ignored otherwise).
    pub checksum_form: ChecksumForm,
    /// VRRPv2 authentication type.
    pub auth_type: AuthType,
    /// VRRPv2 authentication data (a password, zero padded).
    pub auth_data: [u8; V2_AUTH_LEN],
}

/// Why an advertisement could not be built.
#[derive(thiserror::Error, Clone, Copy, Debug, PartialEq, Eq)]
pub enum BuildError {
    /// The buffer is smaller than the message.
    #[error("buffer of {have} bytes is too small, need {need}")]
    BufferTooSmall {
        /// Bytes needed.
        need: usize,
        /// Bytes available.
        have: usize,
    },
    /// No addresses, more than 255, or mixed families.
    #[error("address list must hold 1..255 addresses of the packet's family")]
    BadAddressList,
    /// VRRPv2 requested over IPv6.
    #[error("VRRPv2 cannot be sent over IPv6")]
    V2OverIpv6,
}

/// The length of the message [`build`] writes for `spec` in `family`.
pub fn advert_len(spec: &AdvertSpec<'_>, family: Family) -> usize {
    let auth_len = if spec.version == Version::V2 {
        V2_AUTH_LEN
    } else {
        0
    };
    HEADER_LEN + spec.addrs.len() * family.addr_len() + auth_len
}

/// Length of the message `spec` describes, sent from an address of `family`.
fn message_len(spec: &AdvertSpec<'_>, family: Family) -> Result<usize, BuildError> {
    if spec.version == Version::V2 && family == Family::V6 {
        return Err(BuildError::V2OverIpv6);
    }
    Ok(advert_len(spec, family))
}

/// Writes the advertisement into `buf` and returns its length. `src` and `dst` are the IP
/// addresses it will be sent with (they enter the checksum's pseudo-header).
pub fn build(
    spec: &AdvertSpec<'_>,
    src: IpAddr,
    dst: IpAddr,
    buf: &mut [u8],
) -> Result<usize, BuildError> {
    let family = Family::of(src);
    if spec.addrs.is_empty()
        || spec.addrs.len() > 255
        || Family::of(dst) != family
        || spec.addrs.iter().any(|a| Family::of(*a) != family)
    {
        return Err(BuildError::BadAddressList);
    }
    let len = message_len(spec, family)?;
    if buf.len() < len {
        return Err(BuildError::BufferTooSmall {
            need: len,
            have: buf.len(),
        });
    }
    let msg = &mut buf[..len];
    write_header(spec, msg);
    let mut off = HEADER_LEN;
    for a in spec.addrs {
        match a {
            IpAddr::V4(v4) => msg[off..off + 4].copy_from_slice(&v4.octets()),
            IpAddr::V6(v6) => msg[off..off + 16].copy_from_slice(&v6.octets()),
        }
        off += family.addr_len();
    }
    if spec.version == Version::V2 {
        msg[off..off + V2_AUTH_LEN].copy_from_slice(&spec.auth_data);
    }
    let sum = checksum::sum_words(0, msg) + pseudo_header_sum(spec, src, dst, len);
    msg[6..8].copy_from_slice(&checksum::finish(sum).to_be_bytes());
    Ok(len)
}

/// Writes the advertisement followed by an `auth_hmac` trailer into `buf` and returns the
/// payload length, as keepalived 2.4.3 puts it on the wire. `trailer` receives the message as
/// built and returns the trailer (e.g. [`crate::auth_hmac::Authenticator::sign`]'s; it may
/// return one made earlier: the HMAC leaves out the checksum and the destination).
///
/// The checksum: over IPv4 (both forms) and in VRRPv2 it covers the message only, with the
/// message length in the pseudo-header, as [`build`] writes it; over IPv6 it covers the whole
/// payload, trailer included, with the payload length in the pseudo-header (the kernel's
/// `IPV6_CHECKSUM` sum that keepalived sends and checks).
pub fn build_with_trailer(
    spec: &AdvertSpec<'_>,
    src: IpAddr,
    dst: IpAddr,
    trailer: impl FnOnce(&[u8]) -> [u8; TRAILER_LEN],
    buf: &mut [u8],
) -> Result<usize, BuildError> {
    let need = message_len(spec, Family::of(src))? + TRAILER_LEN;
    if buf.len() < need {
        return Err(BuildError::BufferTooSmall {
            need,
            have: buf.len(),
        });
    }
    let msg_len = build(spec, src, dst, buf)?;
    let bytes = trailer(&buf[..msg_len]);
    buf[msg_len..need].copy_from_slice(&bytes);
    if let (IpAddr::V6(s), IpAddr::V6(d)) = (src, dst) {
        let payload = &mut buf[..need];
        payload[6..8].fill(0);
        let sum =
            checksum::sum_words(0, payload) + checksum::ipv6_pseudo_header_sum(s, d, need as u32);
        payload[6..8].copy_from_slice(&checksum::finish(sum).to_be_bytes());
    }
    Ok(need)
}

/// How many addresses keepalived 2.4.3 advertises on a link of `mtu` bytes: what fits after an
/// Ethernet header (which keepalived counts against the MTU), the IP header, the VRRP header,
/// the VRRPv2 authentication data and, when the instance signs (`auth_hmac` in a mode other
/// than receive-only), the trailer; at most 255. The other addresses keepalived moves to the
/// excluded ones (announced, not advertised). An MTU too small for the headers gives 0 (where
/// keepalived's unsigned arithmetic wraps).
pub fn max_addresses(family: Family, version: Version, mtu: u32, signs: bool) -> usize {
    let ip_header = match family {
        Family::V4 => 20,
        Family::V6 => 40,
    };
    let v2_auth = if version == Version::V2 && family == Family::V4 {
        V2_AUTH_LEN
    } else {
        0
    };
    let trailer = if signs { TRAILER_LEN } else { 0 };
    let headers = ETHERNET_HEADER_LEN + ip_header + HEADER_LEN + v2_auth + trailer;
    let room = usize::try_from(mtu)
        .unwrap_or(usize::MAX)
        .saturating_sub(headers);
    (room / family.addr_len()).min(255)
}

fn write_header(spec: &AdvertSpec<'_>, msg: &mut [u8]) {
    msg[1] = spec.vrid;
    msg[2] = spec.priority;
    msg[3] = spec.addrs.len() as u8;
    msg[6] = 0;
    msg[7] = 0;
    match spec.version {
        Version::V3 => {
            msg[0] = 0x31;
            let interval = spec.interval_cs.clamp(1, MAX_INTERVAL_CS);
            msg[4..6].copy_from_slice(&interval.to_be_bytes());
        }
        Version::V2 => {
            msg[0] = 0x21;
            msg[4] = spec.auth_type.to_wire();
            msg[5] = v2_interval_secs(spec.interval_cs);
        }
    }
}

/// The whole-second VRRPv2 interval for a centisecond interval: rounded, 1..255.
pub fn v2_interval_secs(interval_cs: u16) -> u8 {
    ((u32::from(interval_cs) + 50) / 100).clamp(1, 255) as u8
}

fn pseudo_header_sum(spec: &AdvertSpec<'_>, src: IpAddr, dst: IpAddr, len: usize) -> u32 {
    match (spec.version, src, dst) {
        (Version::V3, IpAddr::V6(s), IpAddr::V6(d)) => {
            checksum::ipv6_pseudo_header_sum(s, d, len as u32)
        }
        (Version::V3, IpAddr::V4(s), IpAddr::V4(d)) => match spec.checksum_form {
            ChecksumForm::Rfc9568 => 0,
            ChecksumForm::PseudoHeader => checksum::ipv4_pseudo_header_sum(s, d, len as u16),
            ChecksumForm::OldUnicast => checksum::ipv4_pseudo_header_sum(s, MCAST_V4, len as u16),
        },
        _ => 0,
    }
}

/// Builds the 8-byte VRRPv2 password field from a configured password (truncated, zero padded),
/// as keepalived does with `auth_pass`.
pub fn password_field(password: &[u8]) -> [u8; V2_AUTH_LEN] {
    let mut out = [0u8; V2_AUTH_LEN];
    let n = password.len().min(V2_AUTH_LEN);
    out[..n].copy_from_slice(&password[..n]);
    out
}
