//! The public specifications of a driver: the instances to run ([`InstanceSpec`], with an
//! optional [`VmacSpec`]) and the settings they share ([`DriverConfig`]).

use std::net::IpAddr;
use std::path::PathBuf;
use std::time::Duration as StdDuration;

use vrrp_core::packet::Family;
use vrrp_core::{RouterConfig, Tracker};

use crate::announce::GarpForm;
use crate::netlink::{MacvlanMode, VipSpec};
use crate::route::{RouteSpec, RuleSpec};

/// Label prefix that marks IPv4 VIPs installed by the driver when no label is configured.
pub const DEFAULT_LABEL_SUFFIX: &str = "vrrp";

/// One virtual router to run.
#[derive(Clone, Debug)]
pub struct InstanceSpec {
    /// The protocol configuration. An unspecified `primary_addr` (0.0.0.0 or ::) is replaced
    /// by the interface's primary IPv4 address or IPv6 link-local at start.
    pub router: RouterConfig,
    /// Interface the router runs on.
    pub interface: String,
    /// Data-plane options of each virtual address, in the order of `router.vips`. Missing
    /// entries get a host prefix (/32, /128 for IPv6 non-link-local, /64 for link-local).
    pub vips: Vec<VipSpec>,
    /// Tracked objects, in registration order (their ids are 0, 1, ...).
    pub trackers: Vec<Tracker>,
    /// Trackers the driver feeds itself from its link watcher (keepalived's
    /// `track_interface`): a position in `trackers` and an interface name. The tracker is Up
    /// while the interface is up with carrier, Down otherwise (also while it does not exist).
    pub tracked_interfaces: Vec<(usize, String)>,
    /// Run with a virtual MAC macvlan (keepalived `use_vmac`); `None`: the interface's MAC.
    pub vmac: Option<VmacSpec>,
    /// Addresses (VIPs or excluded) that live on another interface than the instance's (or
    /// its VMAC's): keepalived's `dev` on a `virtual_ipaddress` line.
    pub vip_interfaces: Vec<(IpAddr, String)>,
    /// Routes installed while Active, after the addresses (keepalived `virtual_routes`).
    pub routes: Vec<RouteSpec>,
    /// Rules installed while Active, after the routes (keepalived `virtual_rules`).
    pub rules: Vec<RuleSpec>,
    /// Whether the interface's link state matters: down means Fault. keepalived's
    /// `dont_track_primary` turns it off.
    pub track_link: bool,
    /// Fault while the configured source address (`router.primary_addr`) is not on the
    /// interface (keepalived's `track_src_ip`).
    pub track_source: bool,
    /// The receive queue of the instance's socket, at least (keepalived's
    /// `kernel_rx_buf_size`); `None`: the driver's default (1 MiB).
    pub receive_buffer: Option<usize>,
    /// TTL / hop limit of the instance's unicast adverts (keepalived's `unicast_ttl`);
    /// `None`: 255. Multicast adverts always leave with 255.
    pub unicast_ttl: Option<u8>,
    /// Set `net.ipv4.conf.IF.promote_secondaries` to 1 on the instance's interface while the
    /// driver runs (keepalived's `promote_secondaries`); restored at exit if it was changed.
    pub promote_secondaries: bool,
}

impl InstanceSpec {
    /// Every interface name this instance refers to: its own, tracked ones, the homes of its
    /// addresses and the devices of its routes.
    pub(crate) fn interface_names(&self) -> impl Iterator<Item = &str> {
        std::iter::once(self.interface.as_str())
            .chain(self.tracked_interfaces.iter().map(|(_, n)| n.as_str()))
            .chain(self.vip_interfaces.iter().map(|(_, n)| n.as_str()))
            .chain(self.routes.iter().flat_map(RouteSpec::devices))
    }

    /// An instance on `interface` with default VIP options, no trackers and no VMAC.
    pub fn new(router: RouterConfig, interface: impl Into<String>) -> Self {
        InstanceSpec {
            router,
            interface: interface.into(),
            vips: Vec::new(),
            trackers: Vec::new(),
            tracked_interfaces: Vec::new(),
            vmac: None,
            vip_interfaces: Vec::new(),
            routes: Vec::new(),
            rules: Vec::new(),
            track_link: true,
            track_source: false,
            receive_buffer: None,
            unicast_ttl: None,
            promote_secondaries: false,
        }
    }

    /// Whether the driver must enforce Accept_Mode for this instance (drop traffic to its
    /// VIPs while Active): `accept_mode` off and not the address owner.
    pub fn needs_accept_filter(&self) -> bool {
        !self.router.accept_mode && !self.router.is_owner()
    }
}

/// The virtual MAC macvlan of one instance (keepalived `use_vmac`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct VmacSpec {
    /// Device name; `None`: keepalived's default, `PREFIX.VRID` or, when another VMAC of
    /// the driver or an existing interface has that name, `PREFIXn.VRID` for the first free
    /// n = 1, 2, ... (IPv6: 6 first). The prefix is [`DriverConfig::vmac_prefix`].
    pub name: Option<String>,
    /// Macvlan mode: [`MacvlanMode::Private`] by default, as keepalived.
    pub mode: MacvlanMode,
}

impl VmacSpec {
    /// keepalived's defaults: generated name, private mode.
    pub fn new() -> Self {
        VmacSpec::default()
    }

    /// Sets the device name (at most 15 bytes).
    pub fn named(mut self, name: impl Into<String>) -> Self {
        self.name = Some(name.into());
        self
    }

    /// Sets the macvlan mode.
    pub fn with_mode(mut self, mode: MacvlanMode) -> Self {
        self.mode = mode;
        self
    }

    /// keepalived's candidate default names for a VMAC of `vrid` and `family`, in the order
    /// they are tried (`PREFIX.VRID`, then `PREFIXn.VRID`; IPv6 tries n = 6 first), each cut
    /// to the 15 bytes of a Linux interface name by shortening the prefix.
    pub fn default_names(prefix: &str, vrid: u8, family: Family) -> Vec<String> {
        let numbers: Vec<u32> = match family {
            Family::V4 => (1..=32).collect(),
            Family::V6 => std::iter::once(6)
                .chain((1..=33).filter(|n| *n != 6))
                .collect(),
        };
        let fit = |middle: String| {
            let tail = format!("{middle}.{vrid}");
            let room = 15usize.saturating_sub(tail.len());
            let cut = (0..=prefix.len().min(room))
                .rev()
                .find(|i| prefix.is_char_boundary(*i))
                .unwrap_or(0);
            format!("{}{tail}", &prefix[..cut])
        };
        std::iter::once(fit(String::new()))
            .chain(numbers.into_iter().map(|n| fit(n.to_string())))
            .collect()
    }
}

/// Settings shared by every router of a driver.
#[derive(Clone, Debug)]
pub struct DriverConfig {
    /// The routers.
    pub instances: Vec<InstanceSpec>,
    /// Sync groups: a name and member indexes into `instances`.
    pub sync_groups: Vec<(String, Vec<usize>)>,
    /// Minimum spacing of gratuitous ARPs per interface (keepalived `garp_interval`).
    pub garp_interval: StdDuration,
    /// Minimum spacing of unsolicited NAs per interface (keepalived `gna_interval`).
    pub gna_interval: StdDuration,
    /// Gratuitous ARP form.
    pub garp_form: GarpForm,
    /// Install VIPs with this kernel lifetime, renewed while Active, so that a crashed
    /// daemon's VIPs disappear by themselves (`None`: permanent, as keepalived).
    pub vip_lease: Option<StdDuration>,
    /// Remove VIPs an earlier run left behind on the configured interfaces at start.
    pub remove_leftovers: bool,
    /// Addresses installed for the daemon's whole life, whatever the routers' states
    /// (keepalived's `static_ipaddress`): interface name and address.
    pub static_addresses: Vec<(String, VipSpec)>,
    /// Routes installed for the daemon's whole life (keepalived's `static_routes`).
    pub static_routes: Vec<RouteSpec>,
    /// Rules installed for the daemon's whole life (keepalived's `static_rules`).
    pub static_rules: Vec<RuleSpec>,
    /// How long the routers wait after the driver has started before they start
    /// (keepalived's `vrrp_startup_delay`); they stay in Initialize, silent, meanwhile.
    pub startup_delay: StdDuration,
    /// The `nft` program used for Accept_Mode enforcement (a path, or a name looked up in
    /// `PATH`; default `nft`). Only run when an instance has `accept_mode` off.
    pub nft_program: PathBuf,
    /// The prefix of default VMAC names (keepalived's `vmac_prefix`; default `vrrp`).
    pub vmac_prefix: String,
    /// Log every advert for a VRID no instance of its interface runs (keepalived's
    /// `log_unknown_vrids`); otherwise they are dropped silently.
    pub log_unknown_vrids: bool,
}

impl DriverConfig {
    /// A config for `instances` with keepalived's defaults (no pacing, no lease).
    pub fn new(instances: Vec<InstanceSpec>) -> Self {
        DriverConfig {
            instances,
            sync_groups: Vec::new(),
            garp_interval: StdDuration::ZERO,
            gna_interval: StdDuration::ZERO,
            garp_form: GarpForm::default(),
            vip_lease: None,
            remove_leftovers: true,
            static_addresses: Vec::new(),
            static_routes: Vec::new(),
            static_rules: Vec::new(),
            startup_delay: StdDuration::ZERO,
            nft_program: PathBuf::from(crate::nft::NFT),
            vmac_prefix: "vrrp".to_string(),
            log_unknown_vrids: false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_vmac_names_follow_keepalived_s_order_and_fit_15_bytes() {
        let v4 = VmacSpec::default_names("vrrp", 51, Family::V4);
        assert_eq!(&v4[..3], ["vrrp.51", "vrrp1.51", "vrrp2.51"]);
        let v6 = VmacSpec::default_names("vrrp", 51, Family::V6);
        assert_eq!(&v6[..4], ["vrrp.51", "vrrp6.51", "vrrp1.51", "vrrp2.51"]);
        assert_eq!(v6.iter().filter(|n| *n == "vrrp6.51").count(), 1);
        let long = VmacSpec::default_names("averylongprefix", 255, Family::V4);
        assert_eq!(long[0], "averylongpr.255");
        assert_eq!(long[12], "averylong12.255");
        assert!(long.iter().all(|n| n.len() <= 15));
    }
}
