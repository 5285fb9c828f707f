//! The Internet checksum (RFC 1071) and the pseudo-headers VRRP uses.
//!
//! Sums are accumulated in a `u32` of 16-bit big-endian words and folded at the end, so a
//! caller can add a pseudo-header to a message sum without re-reading the message.

use core::net::{Ipv4Addr, Ipv6Addr};

/// IP protocol number of VRRP (and CARP).
pub const IPPROTO_VRRP: u8 = 112;

/// Adds `bytes` as big-endian 16-bit words to `acc` (an odd trailing byte is padded with zero).
pub fn sum_words(mut acc: u32, bytes: &[u8]) -> u32 {
    let mut chunks = bytes.chunks_exact(2);
    for pair in &mut chunks {
        acc += u32::from(u16::from_be_bytes([pair[0], pair[1]]));
    }
    if let [last] = chunks.remainder() {
        acc += u32::from(*last) << 8;
    }
    fold_carries(acc)
}

/// Folds the carries of a running sum back into 16 bits (without complementing).
pub fn fold_carries(mut acc: u32) -> u32 {
    while acc > 0xffff {
        acc = (acc & 0xffff) + (acc >> 16);
    }
    acc
}

/// The checksum value to write: the one's complement of the folded sum.
pub fn finish(acc: u32) -> u16 {
    !(fold_carries(acc) as u16)
}

/// True when a sum that includes the transmitted checksum verifies (folds to 0xffff).
pub fn verifies(acc: u32) -> bool {
    fold_carries(acc) == 0xffff
}

/// Sum of the classic 12-byte IPv4 pseudo-header (src, dst, zero, protocol 112, 16-bit length),
/// the form RFC 5798 implementations (keepalived, FRR) use for VRRPv3 over IPv4.
pub fn ipv4_pseudo_header_sum(src: Ipv4Addr, dst: Ipv4Addr, len: u16) -> u32 {
    let mut acc = sum_words(0, &src.octets());
    acc = sum_words(acc, &dst.octets());
    fold_carries(acc + u32::from(IPPROTO_VRRP) + u32::from(len))
}

/// Sum of the RFC 8200 §8.1 IPv6 pseudo-header (src, dst, 32-bit length, next header 112).
pub fn ipv6_pseudo_header_sum(src: Ipv6Addr, dst: Ipv6Addr, len: u32) -> u32 {
    ipv6_pseudo_header_sum_for(src, dst, len, IPPROTO_VRRP)
}

/// Sum of the RFC 8200 §8.1 IPv6 pseudo-header for any upper-layer protocol (58 for ICMPv6).
pub fn ipv6_pseudo_header_sum_for(src: Ipv6Addr, dst: Ipv6Addr, len: u32, next_header: u8) -> u32 {
    let mut acc = sum_words(0, &src.octets());
    acc = sum_words(acc, &dst.octets());
    acc += len >> 16;
    acc += len & 0xffff;
    fold_carries(acc + u32::from(next_header))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc1071_example_sums_to_ddf2() {
        // RFC 1071 §3 example: 00 01 f2 03 f4 f5 f6 f7 -> sum 0xddf2.
        let acc = sum_words(0, &[0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7]);
        assert_eq!(fold_carries(acc), 0xddf2);
        assert_eq!(finish(acc), !0xddf2);
    }

    #[test]
    fn odd_length_pads_with_zero() {
        assert_eq!(sum_words(0, &[0x12]), 0x1200);
    }
}
