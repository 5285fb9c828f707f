//! Counters of one virtual router (the figures keepalived's stats dump and FRR's JSON show).

use crate::auth_hmac::Outcome;
use crate::packet::RxError;

/// Why the router (rather than the codec) discarded a well-formed advertisement.
#[derive(thiserror::Error, Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum PolicyError {
    /// TTL / hop limit not 255 on a multicast advert (R24), or outside a unicast peer's window.
    #[error("TTL {0} not accepted")]
    Ttl(u8),
    /// Version not configured (R25).
    #[error("VRRP version not configured on this router")]
    Version,
    /// VRID differs (R29); normally filtered by the demultiplexer.
    #[error("VRID {0} is not this router's")]
    Vrid(u8),
    /// Address family differs from the router's.
    #[error("address family differs from the router's")]
    Family,
    /// VRRPv2 authentication type or password mismatch.
    #[error("VRRPv2 authentication mismatch")]
    Auth,
    /// VRRPv2 advert with another interval (dropped, as keepalived and FRR do for v2).
    #[error("VRRPv2 advertisement interval {0} s differs from ours")]
    V2Interval(u16),
    /// Unicast advert from a source that is not a configured peer (`check_unicast_src`).
    #[error("unicast advert from an unknown source")]
    UnknownUnicastSource,
    /// Multicast advert on a unicast router or the reverse (keepalived rejects both).
    #[error("unicast/multicast destination does not match the configuration")]
    DestinationMismatch,
    /// Our own advert looped back.
    #[error("own advertisement")]
    Own,
    /// A VRRPv2 advert from a router that also sends VRRPv3 (R47: ignored in v2/v3 mode).
    #[error("VRRPv2 advert from a router that also sends VRRPv3")]
    V2FromV3Sender,
    /// IPv6 advert whose first address is not link-local (erratum 8300; R33), on a router that
    /// requires it ([`crate::RouterConfig::require_link_local_first`]).
    #[error("first IPv6 address is not link-local")]
    FirstAddressNotLinkLocal,
    /// An advert while not running (Initialize or Fault).
    #[error("advert received while not running")]
    NotRunning,
    /// The address owner ignores adverts (`owner_ignore_adverts`).
    #[error("the address owner ignores adverts")]
    OwnerIgnoresAdverts,
    /// The advert failed `auth_hmac` authentication ([`crate::auth_hmac`]).
    #[error("{0}")]
    AuthHmac(Outcome),
    /// A unicast advert in keepalived 1.3.6's checksum form on a router that refuses it
    /// (keepalived's `old_unicast_checksum never`: an invalid checksum there).
    #[error("old unicast checksum form refused")]
    OldUnicastChecksum,
}

/// Counters. All wrap on overflow (never in practice).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct Stats {
    /// Adverts accepted for processing.
    pub adverts_rx: u64,
    /// Adverts sent (each version counts once per destination set).
    pub adverts_tx: u64,
    /// Priority-0 adverts received.
    pub priority_zero_rx: u64,
    /// Priority-0 adverts sent.
    pub priority_zero_tx: u64,
    /// Transitions into Active.
    pub became_active: u64,
    /// Transitions out of Active.
    pub released_active: u64,
    /// Every state transition.
    pub transitions: u64,
    /// Announcements (GARP / NA) handed to the data plane.
    pub announcements: u64,
    /// Dual-Active episodes detected (lower-priority adverts received while Active).
    pub dual_active: u64,
    /// Address conflicts seen while Active: another MAC claimed one of the router's addresses
    /// (a gratuitous ARP, ARP reply or NA on the segment, or an answer to a probe), every one
    /// reported, including those inside the re-announcement rate limit
    /// (docs/decisions/0007-conflict-detection.md).
    pub address_conflicts: u64,
    /// IPv4 VRRPv3 adverts received with the RFC 9568 checksum form.
    pub checksum_rfc9568_rx: u64,
    /// IPv4 VRRPv3 adverts received with the pseudo-header checksum form.
    pub checksum_pseudo_header_rx: u64,
    /// IPv4 VRRPv3 unicast adverts received with keepalived 1.3.6's checksum form.
    pub checksum_old_unicast_rx: u64,
    /// Adverts whose interval differs from ours (R34).
    pub interval_mismatch: u64,
    /// Adverts whose address list differs from ours (R35).
    pub address_list_mismatch: u64,
    /// Codec errors: too short.
    pub rx_length_errors: u64,
    /// Bad version: unknown to the codec, or not configured on this router (R25).
    pub rx_version_errors: u64,
    /// Codec errors: bad type.
    pub rx_type_errors: u64,
    /// Codec errors: checksum.
    pub rx_checksum_errors: u64,
    /// Codec errors: count 0, interval 0, bad auth type, family mismatch.
    pub rx_field_errors: u64,
    /// CARP packets seen.
    pub rx_carp: u64,
    /// Policy discards: TTL.
    pub rx_ttl_errors: u64,
    /// Policy discards: authentication (VRRPv2 `authentication`, and every `auth_hmac`
    /// rejection but [`crate::auth_hmac::Outcome::NotAPeer`], also counted by kind below).
    pub rx_auth_errors: u64,
    /// Policy discards: everything else (VRID, family, destination, source, own).
    pub rx_policy_errors: u64,
    /// `auth_hmac`: adverts whose trailer verified.
    pub auth_hmac_verified: u64,
    /// `auth_hmac`: adverts without a trailer accepted by a migration mode (permissive,
    /// receive-only); keepalived counts none of these.
    pub auth_hmac_unsigned: u64,
    /// `auth_hmac`: adverts without a trailer dropped in enforce mode (keepalived's
    /// `auth_ext_missing`).
    pub auth_hmac_missing: u64,
    /// `auth_hmac`: trailers of a wrong length, scheme or reserved field (`auth_ext_malformed`).
    pub auth_hmac_malformed: u64,
    /// `auth_hmac`: trailers naming a key id not configured (`auth_ext_unknown_key`).
    pub auth_hmac_unknown_key: u64,
    /// `auth_hmac`: trailers whose HMAC did not verify: a key mismatch or a forgery
    /// (`auth_ext_invalid_hmac`).
    pub auth_hmac_invalid: u64,
    /// `auth_hmac`: trailers whose time lies outside the window (`auth_ext_stale`).
    pub auth_hmac_stale: u64,
    /// `auth_hmac`: trailers whose sequence is not after the sender's last (`auth_ext_replay`).
    pub auth_hmac_replayed: u64,
    /// `auth_hmac`: adverts sent with a trailer.
    pub auth_hmac_signed_tx: u64,
}

impl Stats {
    /// Counts a codec error.
    pub fn count_rx_error(&mut self, e: &RxError) {
        let c = match e {
            RxError::TooShort { .. } => &mut self.rx_length_errors,
            RxError::BadVersion(_) | RxError::V2OverIpv6 => &mut self.rx_version_errors,
            RxError::BadType(_) => &mut self.rx_type_errors,
            RxError::Checksum => &mut self.rx_checksum_errors,
            RxError::Carp => &mut self.rx_carp,
            RxError::ZeroCount
            | RxError::ZeroInterval
            | RxError::FamilyMismatch
            | RxError::BadAuthType(_) => &mut self.rx_field_errors,
        };
        *c = c.wrapping_add(1);
    }

    /// Counts a policy discard.
    pub fn count_policy_error(&mut self, e: &PolicyError) {
        let c = match e {
            PolicyError::Ttl(_) => &mut self.rx_ttl_errors,
            PolicyError::Auth => &mut self.rx_auth_errors,
            PolicyError::Version | PolicyError::V2FromV3Sender => &mut self.rx_version_errors,
            PolicyError::FirstAddressNotLinkLocal => &mut self.rx_field_errors,
            PolicyError::OldUnicastChecksum => &mut self.rx_checksum_errors,
            PolicyError::AuthHmac(Outcome::NotAPeer) => &mut self.rx_policy_errors,
            PolicyError::AuthHmac(outcome) => {
                let c = match outcome {
                    Outcome::Missing => &mut self.auth_hmac_missing,
                    Outcome::Malformed => &mut self.auth_hmac_malformed,
                    Outcome::UnknownKey => &mut self.auth_hmac_unknown_key,
                    Outcome::InvalidMac => &mut self.auth_hmac_invalid,
                    Outcome::Stale => &mut self.auth_hmac_stale,
                    Outcome::Replayed | Outcome::NotAPeer => &mut self.auth_hmac_replayed,
                };
                *c = c.wrapping_add(1);
                &mut self.rx_auth_errors
            }
            _ => &mut self.rx_policy_errors,
        };
        *c = c.wrapping_add(1);
    }
}
