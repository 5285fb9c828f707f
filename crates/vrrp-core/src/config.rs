//! Validated configuration of one virtual router.
//!
//! A [`RouterConfig`] describes one virtual router per (interface, VRID, address family).
//! [`RouterConfig::validate`] enforces the RFC ranges (R1, R2, R7) and the combinations the
//! state machine relies on; [`crate::Router::new`] refuses an invalid config.

use core::net::IpAddr;
use std::sync::Arc;

use crate::announce::AnnounceConfig;
use crate::auth_hmac::HmacConfig;
use crate::packet::{self, AuthType, ChecksumForm, Family, Version, V2_AUTH_LEN};
use crate::time::Duration;

/// Priority of the address owner (R1).
pub const OWNER_PRIORITY: u8 = 255;
/// Default backup priority (R1).
pub const DEFAULT_PRIORITY: u8 = 100;
/// Default Advertisement_Interval in centiseconds (R2).
pub const DEFAULT_INTERVAL_CS: u16 = 100;

/// Which protocol versions a router speaks.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub enum VersionMode {
    /// VRRPv2 only (RFC 3768). keepalived's default for IPv4.
    V2,
    /// VRRPv3 only (RFC 9568).
    #[default]
    V3,
    /// RFC 5798 §8.4 migration mode: send both versions, accept both (R47).
    V2V3,
}

impl VersionMode {
    /// True when adverts of `version` are accepted.
    pub fn accepts(self, version: Version) -> bool {
        matches!(
            (self, version),
            (VersionMode::V2, Version::V2)
                | (VersionMode::V3, Version::V3)
                | (VersionMode::V2V3, _)
        )
    }
}

/// VRRPv2 authentication.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub enum Auth {
    /// No authentication (type 0).
    #[default]
    None,
    /// Simple password (type 1, keepalived `auth_type PASS`), zero padded to 8 bytes.
    Password([u8; V2_AUTH_LEN]),
}

impl Auth {
    /// A password from configuration text (truncated to 8 bytes as keepalived does).
    pub fn password(text: &str) -> Auth {
        Auth::Password(packet::password_field(text.as_bytes()))
    }

    /// The type and data to put on the wire.
    pub fn wire(self) -> (AuthType, [u8; V2_AUTH_LEN]) {
        match self {
            Auth::None => (AuthType::None, [0; V2_AUTH_LEN]),
            Auth::Password(p) => (AuthType::Password, p),
        }
    }
}

/// A unicast peer (keepalived's non-standard `unicast_peer`), with an optional TTL window.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct UnicastPeer {
    /// The peer's address.
    pub addr: IpAddr,
    /// Lowest TTL accepted from this peer (`min_ttl`); none by default.
    pub min_ttl: Option<u8>,
    /// Highest TTL accepted from this peer (`max_ttl`); none by default.
    pub max_ttl: Option<u8>,
}

impl UnicastPeer {
    /// A peer with no TTL window.
    pub fn new(addr: IpAddr) -> Self {
        UnicastPeer {
            addr,
            min_ttl: None,
            max_ttl: None,
        }
    }

    /// True when `ttl` is inside the configured window.
    pub fn ttl_ok(&self, ttl: u8) -> bool {
        self.min_ttl.is_none_or(|m| ttl >= m) && self.max_ttl.is_none_or(|m| ttl <= m)
    }
}

/// Everything one virtual router needs to decide.
#[derive(Clone, Debug, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct RouterConfig {
    /// Name used in reasons and logs (keepalived's instance name).
    pub name: Arc<str>,
    /// Virtual router identifier, 1..255, no default (R1).
    pub vrid: u8,
    /// Address family of this router.
    pub family: Family,
    /// Protocol versions spoken.
    pub version: VersionMode,
    /// Base priority: 255 for the address owner, 1..254 otherwise (R1).
    pub priority: u8,
    /// Advertisement_Interval in centiseconds, 1..4095 (R2). VRRPv2 rounds it to seconds.
    pub advert_interval_cs: u16,
    /// Preempt_Mode (R5). keepalived's `nopreempt` sets it to false.
    pub preempt: bool,
    /// keepalived's `preempt_delay`: a Backup that hears a lower-priority Active keeps
    /// accepting its adverts for this long, counted from the first such advert, before it
    /// preempts; an advert of equal or higher priority resets the count. This damps flapping:
    /// a check that recovers does not take the VIP back at once.
    pub preempt_delay: Duration,
    /// Accept_Mode (R6, R18): the data plane enforces it; the owner always accepts.
    pub accept_mode: bool,
    /// The virtual addresses. IPv6 lists start with a link-local address (R7).
    pub vips: Vec<IpAddr>,
    /// Addresses installed and announced with the VIPs but not advertised (keepalived's
    /// `virtual_ipaddress_excluded`), of either family.
    pub excluded_vips: Vec<IpAddr>,
    /// The data plane holds routes and rules that follow this router's state (keepalived's
    /// `virtual_routes`, `virtual_rules`): installed after the addresses on becoming Active
    /// ([`crate::Command::AddRoutes`]), removed before them on leaving.
    pub state_routes: bool,
    /// The address owner discards received adverts (keepalived's `owner_ignore_adverts`).
    pub owner_ignore_adverts: bool,
    /// Unicast was configured but no peer is: Fault instead of multicast (keepalived's
    /// `unicast_fault_no_peer`). Only meaningful with no [`RouterConfig::unicast_peers`].
    pub fault_without_peers: bool,
    /// keepalived's `timer_expired_backup [PRIO]`: without preemption, an Active whose advert
    /// is served so late that a router of this priority would have taken over (its
    /// Active_Down_Interval since our previous advert) goes Backup instead of advertising.
    pub timer_expired_backup: Option<u8>,
    /// The interface's primary IPv4 address or IPv6 link-local: advert source and tie-breaker.
    pub primary_addr: IpAddr,
    /// Unicast peers; empty means multicast to [`RouterConfig::multicast_group`].
    pub unicast_peers: Vec<UnicastPeer>,
    /// The multicast group adverts go to and are accepted from (keepalived's `mcast_dst_ip`,
    /// `vrrp_mcast_group4/6`); `None`: the family's VRRP group (224.0.0.18, ff02::12).
    pub mcast_group: Option<IpAddr>,
    /// Drop unicast adverts whose source is not a configured peer (keepalived's
    /// `check_unicast_src`). On by default: with peers listed, only they may steer the router
    /// (keepalived accepts any source unless `check_unicast_src` is set).
    pub check_unicast_src: bool,
    /// Checksum form sent for IPv4 VRRPv3 (both are accepted).
    pub checksum_form: ChecksumForm,
    /// Switch the sent form to the one a peer uses when it differs (pitfall P1): a peer that
    /// verifies only its own form (keepalived, FRR, Cisco) would otherwise discard our adverts
    /// and become Active too. At most one switch per minute. On by default; off when the form
    /// was chosen explicitly (keepalived's `v3_checksum_as_v2`).
    pub checksum_follow_peer: bool,
    /// Discard unicast adverts in keepalived 1.3.6's checksum form
    /// ([`ChecksumForm::OldUnicast`]) as bad checksums, and never follow it (keepalived's
    /// `old_unicast_checksum never`).
    pub refuse_old_unicast_checksum: bool,
    /// A Backup does not compare the addresses of an advert from the Active whose advert it
    /// took last, only their count (keepalived's `skip_check_adv_addr`): the mismatch notice
    /// and counter then only follow a change of Active.
    pub skip_check_adv_addr: bool,
    /// VRRPv2 authentication.
    pub auth: Auth,
    /// keepalived 2.4's `auth_hmac`: sign the adverts sent with an HMAC trailer and verify the
    /// trailers received ([`crate::auth_hmac`]). Exclusive with [`RouterConfig::auth`]. The
    /// router needs the wall clock for it ([`crate::Input::WallClock`]). Never serialised (it
    /// holds the keys).
    #[cfg_attr(feature = "serde", serde(skip))]
    pub auth_hmac: Option<HmacConfig>,
    /// Number of missed adverts before taking over (keepalived `down_timer_adverts`; RFC: 3).
    pub down_timer_adverts: u8,
    /// Do not answer a lower-priority advert with an immediate advert (disables R23; keepalived
    /// `lower_prio_no_advert`, set by `vrrp_strict`).
    pub lower_prio_no_advert: bool,
    /// Send one advert before yielding to a higher-priority Active (keepalived
    /// `higher_prio_send_advert`). On by default, unlike keepalived: when two Actives meet
    /// (a healed partition), the winner then always hears the loser and re-announces the
    /// addresses, so no ARP cache keeps pointing at the loser.
    pub higher_prio_send_advert: bool,
    /// Gratuitous ARP / unsolicited NA schedule.
    pub announce: AnnounceConfig,
    /// Addresses announced once every [`AnnounceConfig::extra_interval`] while Active, each
    /// standing for an interface that sends no adverts (keepalived's `garp_extra_if`: one
    /// address per VMAC or, with `all`, per other interface holding addresses), so that
    /// bridges keep learning the virtual MAC there. Each must be one of the installed
    /// addresses.
    pub extra_announce: Vec<IpAddr>,
    /// IPv6: the address list must start with a link-local address, in our configuration (R7)
    /// and in received adverts (R33, erratum 8300). On by default; keepalived outside strict
    /// mode only warns and sends such lists, so a keepalived-compatible setup turns it off
    /// (pitfall P10).
    pub require_link_local_first: bool,
}

impl RouterConfig {
    /// A config with RFC and keepalived defaults for the given identity.
    pub fn new(name: &str, vrid: u8, primary_addr: IpAddr, vips: Vec<IpAddr>) -> Self {
        RouterConfig {
            name: Arc::from(name),
            vrid,
            family: Family::of(primary_addr),
            version: VersionMode::V3,
            priority: DEFAULT_PRIORITY,
            advert_interval_cs: DEFAULT_INTERVAL_CS,
            preempt: true,
            preempt_delay: Duration::ZERO,
            accept_mode: false,
            vips,
            excluded_vips: Vec::new(),
            state_routes: false,
            owner_ignore_adverts: false,
            fault_without_peers: false,
            timer_expired_backup: None,
            primary_addr,
            unicast_peers: Vec::new(),
            mcast_group: None,
            check_unicast_src: true,
            checksum_form: ChecksumForm::default(),
            checksum_follow_peer: true,
            refuse_old_unicast_checksum: false,
            skip_check_adv_addr: false,
            auth: Auth::None,
            auth_hmac: None,
            down_timer_adverts: 3,
            lower_prio_no_advert: false,
            higher_prio_send_advert: true,
            announce: AnnounceConfig::default(),
            extra_announce: Vec::new(),
            require_link_local_first: true,
        }
    }

    /// True for the address owner (priority 255).
    pub fn is_owner(&self) -> bool {
        self.priority == OWNER_PRIORITY
    }

    /// Checks ranges and combinations.
    pub fn validate(&self) -> Result<(), ConfigError> {
        if self.vrid == 0 {
            return Err(ConfigError::Vrid);
        }
        if self.priority == 0 {
            return Err(ConfigError::Priority);
        }
        if !(1..=packet::MAX_INTERVAL_CS).contains(&self.advert_interval_cs) {
            return Err(ConfigError::Interval(self.advert_interval_cs));
        }
        if self.vips.is_empty() || self.vips.len() > 255 {
            return Err(ConfigError::VipCount(self.vips.len()));
        }
        self.validate_families()?;
        if self.family == Family::V6 && self.version != VersionMode::V3 {
            return Err(ConfigError::V2OverIpv6);
        }
        if self.down_timer_adverts == 0 || self.down_timer_adverts > 100 {
            return Err(ConfigError::DownTimerAdverts(self.down_timer_adverts));
        }
        let all: Vec<IpAddr> = self.installed_addresses().collect();
        let duplicate = (1..all.len()).find(|&i| all[..i].contains(&all[i]));
        if let Some(i) = duplicate {
            return Err(ConfigError::DuplicateVip(all[i]));
        }
        if let Some(group) = self.mcast_group {
            if !group.is_multicast() || Family::of(group) != self.family {
                return Err(ConfigError::MulticastGroup(group));
            }
        }
        if self.announce.refresh_interval == Some(Duration::ZERO)
            || self.announce.extra_interval == Some(Duration::ZERO)
        {
            return Err(ConfigError::ZeroRefresh);
        }
        if self.auth_hmac.is_some() && self.auth != Auth::None {
            return Err(ConfigError::AuthHmacWithAuth);
        }
        if let Some(a) =
            (self.extra_announce.iter()).find(|a| !self.installed_addresses().any(|i| i == **a))
        {
            return Err(ConfigError::ExtraAnnounce(*a));
        }
        Ok(())
    }

    fn validate_families(&self) -> Result<(), ConfigError> {
        let addrs = self
            .vips
            .iter()
            .chain(core::iter::once(&self.primary_addr))
            .chain(self.unicast_peers.iter().map(|p| &p.addr));
        for a in addrs {
            if Family::of(*a) != self.family {
                return Err(ConfigError::MixedFamily(*a));
            }
        }
        match (self.family, self.vips[0]) {
            (Family::V6, IpAddr::V6(first))
                if self.require_link_local_first && !packet::is_link_local(first) =>
            {
                Err(ConfigError::Ipv6FirstNotLinkLocal(first.into()))
            }
            _ => Ok(()),
        }
    }

    /// Every address installed while Active: the VIPs, then the excluded ones.
    pub fn installed_addresses(&self) -> impl Iterator<Item = IpAddr> + '_ {
        self.vips.iter().chain(&self.excluded_vips).copied()
    }

    /// The multicast group in use: [`RouterConfig::mcast_group`] or the family's VRRP group.
    pub fn multicast_group(&self) -> IpAddr {
        self.mcast_group
            .unwrap_or_else(|| self.family.multicast_group())
    }

    /// The `n`-th destination of this router's adverts: the multicast group, or each unicast
    /// peer in turn; `None` past the last.
    pub fn advert_destination(&self, n: usize) -> Option<IpAddr> {
        if self.unicast_peers.is_empty() {
            return (n == 0).then(|| self.multicast_group());
        }
        self.unicast_peers.get(n).map(|p| p.addr)
    }

    /// The interval this router advertises, as a [`Duration`].
    pub fn advert_interval(&self) -> Duration {
        match self.version {
            VersionMode::V2 => {
                Duration::from_secs(u64::from(packet::v2_interval_secs(self.advert_interval_cs)))
            }
            _ => Duration::from_centis(u64::from(self.advert_interval_cs)),
        }
    }
}

/// Why a [`RouterConfig`] is invalid.
#[derive(thiserror::Error, Clone, Debug, PartialEq, Eq)]
pub enum ConfigError {
    /// VRID outside 1..255 (R1).
    #[error("virtual router id must be 1..255")]
    Vrid,
    /// Priority 0 is reserved for leaving (R1).
    #[error("priority must be 1..255 (255 = address owner)")]
    Priority,
    /// Interval outside 1..4095 centiseconds (R2, erratum 8301).
    #[error("advertisement interval {0} cs is out of range, expected 1..4095")]
    Interval(u16),
    /// No virtual address, or more than 255.
    #[error("{0} virtual addresses, expected 1..255")]
    VipCount(usize),
    /// An address of the other family.
    #[error("address {0} is not of the router's family")]
    MixedFamily(IpAddr),
    /// IPv6 list not starting with a link-local address (R7).
    #[error("first IPv6 virtual address {0} must be link-local")]
    Ipv6FirstNotLinkLocal(IpAddr),
    /// VRRPv2 requested for IPv6.
    #[error("VRRPv2 is IPv4 only")]
    V2OverIpv6,
    /// The same virtual address listed twice.
    #[error("virtual address {0} is listed twice")]
    DuplicateVip(IpAddr),
    /// A refresh period of zero would announce continuously.
    #[error("announcement refresh interval must be greater than 0 (use None to disable)")]
    ZeroRefresh,
    /// A multicast group that is not a multicast address of the router's family.
    #[error("{0} is not a multicast address of the router's family")]
    MulticastGroup(IpAddr),
    /// An [`RouterConfig::extra_announce`] address that is not installed.
    #[error("{0} is announced on an extra interface but is not one of the router's addresses")]
    ExtraAnnounce(IpAddr),
    /// `auth_hmac` together with VRRPv2 `authentication` (keepalived drops the legacy one).
    #[error("auth_hmac cannot be combined with authentication")]
    AuthHmacWithAuth,
    /// `down_timer_adverts` outside 1..100.
    #[error("down_timer_adverts {0} out of range, expected 1..100")]
    DownTimerAdverts(u8),
}
