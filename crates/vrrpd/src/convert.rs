//! The keepalived model mapped onto the protocol engine: one [`InstancePlan`] per
//! `vrrp_instance`, holding the [`vrrp_core::RouterConfig`] and everything the runtime needs
//! around it (interface, per-VIP data-plane options, trackers with their sources, notify
//! scripts, sync group).
//!
//! The model is already resolved by [`crate::config::resolve`] (defaults, version per family,
//! advert_int rounding, script weight inheritance, owner and strict rules, sync-group tracker
//! weights for the instances' own trackers); this module does not apply those rules again.
//! What it adds: the primary address from [`HostFacts`], the sync group's *own* trackers on
//! each member (with the same inheritance and sync-group rules), the GARP pacing of the
//! interface (`garp_group` or the global `vrrp_garp_interval` / `vrrp_gna_interval`), and the
//! VIPs' default `dev`.

use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use vrrp_core::auth_hmac::TimeWindow;
use vrrp_core::{AnnounceConfig, Auth, ChecksumForm, Duration, RouterConfig, Tracker, VersionMode};

use crate::config::model::{
    AuthType, Broadcast, Config, Family, GarpExtraIf, InitialState, NotifyScripts,
    PreferredLifetime, TrackRef, UseVmac, VirtualIp, VrrpInstance, VrrpSyncGroup,
};

/// Addresses of the host's interfaces, filled by the runtime from netlink (tests fill it by
/// hand).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HostFacts {
    interfaces: BTreeMap<String, InterfaceFacts>,
}

/// The addresses of one interface that VRRP uses.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct InterfaceFacts {
    /// The primary IPv4 address (the first one, not secondary).
    pub primary_ipv4: Option<Ipv4Addr>,
    /// The IPv6 link-local address.
    pub ipv6_link_local: Option<Ipv6Addr>,
}

impl HostFacts {
    /// No interfaces.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds or replaces an interface.
    pub fn insert(&mut self, name: &str, facts: InterfaceFacts) {
        self.interfaces.insert(name.to_string(), facts);
    }

    /// Builder form of [`HostFacts::insert`].
    pub fn with(mut self, name: &str, facts: InterfaceFacts) -> Self {
        self.insert(name, facts);
        self
    }

    /// The facts of an interface.
    pub fn interface(&self, name: &str) -> Option<&InterfaceFacts> {
        self.interfaces.get(name)
    }

    /// The address a VRRP instance of `family` sends from on `interface`.
    pub fn primary_addr(&self, interface: &str, family: Family) -> Option<IpAddr> {
        let facts = self.interface(interface)?;
        match family {
            Family::Ipv4 => facts.primary_ipv4.map(IpAddr::V4),
            Family::Ipv6 => facts.ipv6_link_local.map(IpAddr::V6),
        }
    }
}

/// Why the model could not be mapped.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MapError {
    /// A field that resolution always sets is missing: the model did not come from a
    /// successful load.
    #[error("({instance}) {field} is not set; the configuration was not loaded successfully")]
    Unresolved {
        /// Instance name.
        instance: String,
        /// The missing field.
        field: &'static str,
    },
    /// No source address: no `unicast_src_ip` / `mcast_src_ip` and the interface has no address
    /// of the family (keepalived would hold the instance in FAULT).
    #[error("({instance}) interface {interface} has no {family} address to send from, expected an address or unicast_src_ip")]
    NoAddress {
        /// Instance name.
        instance: String,
        /// The interface.
        interface: String,
        /// "IPv4" or "IPv6 link-local".
        family: &'static str,
    },
    /// A configured feature this implementation cannot run.
    #[error("({instance}) {feature} is not supported")]
    Unsupported {
        /// Instance name.
        instance: String,
        /// What.
        feature: &'static str,
    },
    /// vrrp-core refuses the resulting router configuration.
    #[error("({instance}) {source}")]
    Invalid {
        /// Instance name.
        instance: String,
        /// vrrp-core's reason.
        source: vrrp_core::ConfigError,
    },
}

/// Everything the runtime needs to run one `vrrp_instance`.
#[derive(Debug, Clone, PartialEq)]
pub struct InstancePlan {
    /// The protocol engine's configuration (validated).
    pub router: RouterConfig,
    /// `interface` (`None` for an interface-less unicast instance).
    pub interface: Option<String>,
    /// `state` as resolved (a non-owner `MASTER` only means "no preempt delay games": it still
    /// waits the master-down time).
    pub initial_state: InitialState,
    /// `virtual_ipaddress`, in order, with the data-plane options.
    pub vips: Vec<VipPlan>,
    /// `virtual_ipaddress_excluded` (added and announced, not advertised).
    pub excluded_vips: Vec<VipPlan>,
    /// `virtual_routes` lines (`ip route` syntax).
    pub virtual_routes: Vec<String>,
    /// `virtual_rules` lines (`ip rule` syntax).
    pub virtual_rules: Vec<String>,
    /// `use_vmac`.
    pub use_vmac: Option<UseVmac>,
    /// `vmac_xmit_base`.
    pub vmac_xmit_base: bool,
    /// Pacing of gratuitous ARPs on the interface (`garp_group` or `vrrp_garp_interval`;
    /// zero = no pacing). A data-plane setting, hence a `std` duration.
    pub garp_interval: std::time::Duration,
    /// Pacing of unsolicited NAs on the interface (`garp_group` or `vrrp_gna_interval`).
    pub gna_interval: std::time::Duration,
    /// `garp_lower_prio_delay`: delay of the second burst after a lower-priority advert
    /// (vrrp-core's [`AnnounceConfig`] has no such burst; the runtime schedules it).
    pub garp_lower_prio_delay: std::time::Duration,
    /// `garp_extra_if`.
    pub garp_extra_if: Option<GarpExtraIf>,
    /// The trackers, in vrrp-core order (the index is the `vrrp_core::TrackerId`): the
    /// instance's own, then its sync group's.
    pub trackers: Vec<TrackerPlan>,
    /// Notify scripts, `notify_priority_changes` and `smtp_alert`.
    pub notify: NotifyPlan,
    /// The sync group the instance belongs to.
    pub sync_group: Option<String>,
    /// Transport details the data plane applies.
    pub transport: TransportPlan,
    /// `strict_mode` (or global `vrrp_strict`).
    pub strict_mode: bool,
    /// `dont_track_primary`: the interface going down does not mean FAULT.
    pub dont_track_primary: bool,
    /// `track_src_ip`: the source address disappearing means FAULT.
    pub track_src_ip: bool,
    /// `owner_ignore_adverts`.
    pub owner_ignore_adverts: bool,
    /// `skip_check_adv_addr`.
    pub skip_check_adv_addr: bool,
    /// `promote_secondaries`.
    pub promote_secondaries: bool,
    /// `timer_expired_backup [PRIO]`.
    pub timer_expired_backup: Option<Option<u8>>,
}

/// Data-plane transport options of an instance.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TransportPlan {
    /// `unicast_ttl`.
    pub unicast_ttl: Option<u8>,
    /// `unicast_fault_no_peer`.
    pub unicast_fault_no_peer: bool,
    /// `mcast_dst_ip`, or the global `vrrp_mcast_group4` / `vrrp_mcast_group6`.
    pub mcast_group: IpAddr,
    /// `old_unicast_checksum`: `Some(true)` forced, `Some(false)` never (no auto-detection).
    pub old_unicast_checksum: Option<bool>,
    /// `kernel_rx_buf_size`.
    pub kernel_rx_buf_size: Option<u64>,
}

/// One virtual address with the options the data plane applies.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VipPlan {
    /// The address.
    pub address: IpAddr,
    /// Prefix length.
    pub prefix_len: u8,
    /// The interface to add it to: `dev`, else the instance's interface (or its VMAC, which the
    /// runtime substitutes when `use_vmac` is set).
    pub dev: Option<String>,
    /// `label` (IPv4 only).
    pub label: Option<String>,
    /// `scope`.
    pub scope: Option<String>,
    /// `brd`.
    pub broadcast: Option<Broadcast>,
    /// `peer`.
    pub peer: Option<IpAddr>,
    /// `-nodad`.
    pub nodad: bool,
    /// `preferred_lft`; an IPv6 /128 without one gets 0, as keepalived does.
    pub preferred_lft: Option<PreferredLifetime>,
    /// `home`.
    pub home: bool,
    /// `mngtmpaddr`.
    pub mngtmpaddr: bool,
    /// `noprefixroute`.
    pub noprefixroute: bool,
    /// `autojoin`.
    pub autojoin: bool,
    /// `no_track`: the address disappearing does not cause FAULT.
    pub no_track: bool,
    /// `use_vmac` on the address.
    pub use_vmac: bool,
}

impl VipPlan {
    /// A `static_ipaddress` line: its `dev`, else `default_interface` (keepalived: eth0).
    pub fn from_static(vip: &VirtualIp, default_interface: Option<&str>) -> Self {
        Self::from_model(vip, Some(default_interface.unwrap_or("eth0")))
    }

    fn from_model(vip: &VirtualIp, interface: Option<&str>) -> Self {
        let preferred_lft = vip.preferred_lft.or_else(|| {
            (vip.address.is_ipv6() && vip.prefix_len == 128)
                .then_some(PreferredLifetime::Seconds(0))
        });
        VipPlan {
            address: vip.address,
            prefix_len: vip.prefix_len,
            dev: vip.dev.clone().or_else(|| interface.map(str::to_string)),
            label: vip.label.clone(),
            scope: vip.scope.clone(),
            broadcast: vip.broadcast,
            peer: vip.peer,
            nodad: vip.nodad,
            preferred_lft,
            home: vip.home,
            mngtmpaddr: vip.mngtmpaddr,
            noprefixroute: vip.noprefixroute,
            autojoin: vip.autojoin,
            no_track: vip.no_track,
            use_vmac: vip.use_vmac,
        }
    }
}

/// A tracker and what feeds it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrackerPlan {
    /// The tracker as vrrp-core sees it (weight and reverse resolved).
    pub tracker: Tracker,
    /// What the runtime watches to report its state.
    pub source: TrackSource,
    /// True when it comes from the sync group rather than the instance.
    pub from_sync_group: bool,
}

/// What reports a tracker's state. The names match the `TrackerUpdate` names of
/// [`crate::track`].
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum TrackSource {
    /// A `vrrp_script` (by block name).
    Script(String),
    /// An interface (`track_interface`).
    Interface(String),
    /// A `track_file` block (by name) and its file.
    File {
        /// Block name.
        name: String,
        /// The watched file.
        path: Option<String>,
    },
    /// A `vrrp_track_process` block (by name).
    Process(String),
    /// A `track_bfd` entry (no BFD support: never reported).
    Bfd(String),
}

impl TrackSource {
    /// The name reported for this source.
    pub fn name(&self) -> &str {
        match self {
            TrackSource::Script(n)
            | TrackSource::Interface(n)
            | TrackSource::Process(n)
            | TrackSource::Bfd(n) => n,
            TrackSource::File { name, .. } => name,
        }
    }
}

/// The notify settings of an instance or a sync group.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NotifyPlan {
    /// The scripts, boxed and only if any is configured: most instances have none, and the
    /// runtime keeps every plan (inline, the seven optional commands are half of one).
    scripts: Option<Box<NotifyScripts>>,
    /// `notify_priority_changes`.
    pub priority_changes: bool,
    /// `smtp_alert` (accepted; no mail is sent).
    pub smtp_alert: bool,
}

impl NotifyPlan {
    /// The settings with these scripts.
    pub fn new(scripts: NotifyScripts, priority_changes: bool, smtp_alert: bool) -> Self {
        NotifyPlan {
            scripts: (scripts != NotifyScripts::default()).then(|| Box::new(scripts)),
            priority_changes,
            smtp_alert,
        }
    }

    /// The scripts (none configured: all `None`).
    pub fn scripts(&self) -> &NotifyScripts {
        static NONE: NotifyScripts = NotifyScripts::NONE;
        self.scripts.as_deref().unwrap_or(&NONE)
    }
}

/// A `vrrp_sync_group` for the runtime.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyncGroupPlan {
    /// Group name.
    pub name: String,
    /// Indices of the members in the plans [`router_configs`] returned.
    pub members: Vec<usize>,
    /// The group's notify settings.
    pub notify: NotifyPlan,
}

/// Maps every `vrrp_instance` of a loaded configuration, in file order.
///
/// Fails on the first instance that cannot be mapped (see [`MapError`]).
pub fn router_configs(cfg: &Config, host: &HostFacts) -> Result<Vec<InstancePlan>, MapError> {
    cfg.vrrp_instances
        .iter()
        .map(|inst| instance_plan(cfg, inst, host))
        .collect()
}

/// The sync groups, with members as indices into [`router_configs`]' result (same order as
/// `cfg.vrrp_instances`). Members that are not instances are skipped.
pub fn sync_group_plans(cfg: &Config) -> Vec<SyncGroupPlan> {
    cfg.vrrp_sync_groups
        .iter()
        .map(|g| SyncGroupPlan {
            name: g.name.clone(),
            members: g
                .group
                .iter()
                .filter_map(|m| cfg.vrrp_instances.iter().position(|i| &i.name == m))
                .collect(),
            notify: NotifyPlan::new(
                g.notify.clone(),
                g.notify_priority_changes.unwrap_or(false),
                g.smtp_alert,
            ),
        })
        .collect()
}

/// Maps one instance.
pub fn instance_plan(
    cfg: &Config,
    inst: &VrrpInstance,
    host: &HostFacts,
) -> Result<InstancePlan, MapError> {
    let name = inst.name.as_str();
    let unresolved = |field| MapError::Unresolved {
        instance: name.to_string(),
        field,
    };
    let vrid = inst
        .virtual_router_id
        .ok_or_else(|| unresolved("virtual_router_id"))?;
    let family = inst.family.ok_or_else(|| unresolved("family"))?;
    let priority = inst.priority.ok_or_else(|| unresolved("priority"))?;
    let advert_interval_cs = inst.advert_int_cs.ok_or_else(|| unresolved("advert_int"))?;
    let version = match inst.version.ok_or_else(|| unresolved("version"))? {
        2 => VersionMode::V2,
        _ => VersionMode::V3,
    };
    let initial_state = inst.state.ok_or_else(|| unresolved("state"))?;

    let primary_addr = primary_addr(inst, family, host)?;
    let auth_hmac = inst
        .auth_hmac
        .as_ref()
        .map(|block| {
            let mut block = block.clone();
            // `anti_replay monotonic` leaves the window unset: it is not used then.
            let interval = Duration::from_micros(inst.advert_int_us);
            (block.time_window_secs)
                .get_or_insert(TimeWindow::for_advert_interval(interval).secs());
            block.hmac_config().ok_or_else(|| MapError::Unsupported {
                instance: name.to_string(),
                feature: "auth_hmac without its keys (a YAML model holds no secrets)",
            })
        })
        .transpose()?;
    let auth = match &inst.authentication {
        None => Auth::None,
        Some(a) if a.auth_type == AuthType::Pass => {
            Auth::password(a.auth_pass.as_deref().unwrap_or_default())
        }
        Some(_) => {
            return Err(MapError::Unsupported {
                instance: name.to_string(),
                feature: "auth_type AH",
            })
        }
    };
    let garp = &inst.garp;
    let secs = |s: u32| Duration::from_secs(u64::from(s));
    let (extra_interval, extra_announce) = extra_announce(inst);
    let announce = AnnounceConfig {
        burst_count: garp.master_repeat,
        burst_spacing: Duration::ZERO,
        second_burst_delay: (garp.master_delay_secs != 0).then(|| secs(garp.master_delay_secs)),
        refresh_interval: match garp.master_refresh_secs {
            None => Some(vrrp_core::DEFAULT_REFRESH_INTERVAL),
            Some(0) => None,
            Some(s) => Some(secs(s)),
        },
        refresh_count: garp.master_refresh_repeat,
        lower_prio_count: garp.lower_prio_repeat.unwrap_or(garp.master_repeat),
        lower_prio_delay: match garp.lower_prio_delay_secs.unwrap_or(garp.master_delay_secs) {
            0 => None,
            s => Some(secs(s)),
        },
        extra_interval,
        ..AnnounceConfig::default()
    };
    let router = RouterConfig {
        name: name.into(),
        vrid,
        family: match family {
            Family::Ipv4 => vrrp_core::Family::V4,
            Family::Ipv6 => vrrp_core::Family::V6,
        },
        version,
        priority,
        advert_interval_cs,
        preempt: !inst.nopreempt,
        preempt_delay: Duration::from_millis(inst.preempt_delay_ms),
        accept_mode: inst.accept.unwrap_or(!inst.strict_mode),
        vips: inst.virtual_ipaddress.iter().map(|v| v.address).collect(),
        excluded_vips: (inst.virtual_ipaddress_excluded.iter())
            .map(|v| v.address)
            .collect(),
        // Set by the driver from the instance's routes and rules.
        state_routes: false,
        owner_ignore_adverts: inst.owner_ignore_adverts,
        fault_without_peers: inst.unicast_fault_no_peer && inst.unicast_peers.is_empty(),
        timer_expired_backup: inst.timer_expired_backup.map(|p| p.unwrap_or(254)),
        primary_addr,
        auth_hmac,
        unicast_peers: inst
            .unicast_peers
            .iter()
            .map(|p| vrrp_core::UnicastPeer {
                addr: p.address,
                min_ttl: p.min_ttl,
                max_ttl: p.max_ttl,
            })
            .collect(),
        mcast_group: mcast_group(cfg, inst, family),
        // vrrpd's default is stricter than keepalived's: listed peers only, unless opted out.
        check_unicast_src: inst.check_unicast_src || !inst.accept_unlisted_unicast_src,
        checksum_form: if inst.v3_checksum_as_v2 {
            ChecksumForm::Rfc9568
        } else if inst.old_unicast_checksum == Some(true) && !inst.unicast_peers.is_empty() {
            ChecksumForm::OldUnicast
        } else {
            ChecksumForm::PseudoHeader
        },
        // An explicit `v3_checksum_as_v2` or `old_unicast_checksum` is kept; keepalived's
        // default form follows a peer that uses the RFC 9568 form (pitfall P1) or, on unicast,
        // keepalived 1.3.6's form (as keepalived does).
        checksum_follow_peer: !inst.v3_checksum_as_v2 && inst.old_unicast_checksum != Some(true),
        refuse_old_unicast_checksum: inst.old_unicast_checksum == Some(false),
        skip_check_adv_addr: inst.skip_check_adv_addr || cfg.global_defs.vrrp_skip_check_adv_addr,
        auth,
        down_timer_adverts: u8::try_from(inst.down_timer_adverts).unwrap_or(u8::MAX),
        lower_prio_no_advert: inst.lower_prio_no_advert,
        // On unless strict mode, unlike keepalived: the loser of a dual-Active then always
        // makes the winner re-announce (docs/migrating-from-keepalived.md).
        higher_prio_send_advert: inst.higher_prio_send_advert || !inst.strict_mode,
        announce,
        extra_announce,
        // keepalived only warns outside strict mode (pitfall P10).
        require_link_local_first: inst.strict_mode,
    };
    router.validate().map_err(|source| MapError::Invalid {
        instance: name.to_string(),
        source,
    })?;

    let interface = inst.interface.as_deref();
    let (garp_interval, gna_interval) = garp_pacing(cfg, interface);
    let group = inst
        .sync_group
        .as_ref()
        .and_then(|g| cfg.vrrp_sync_groups.iter().find(|s| &s.name == g));
    Ok(InstancePlan {
        router,
        interface: inst.interface.clone(),
        initial_state,
        vips: inst
            .virtual_ipaddress
            .iter()
            .map(|v| VipPlan::from_model(v, interface))
            .collect(),
        excluded_vips: inst
            .virtual_ipaddress_excluded
            .iter()
            .map(|v| VipPlan::from_model(v, interface))
            .collect(),
        virtual_routes: inst.virtual_routes.clone(),
        virtual_rules: inst.virtual_rules.clone(),
        use_vmac: inst.use_vmac.clone(),
        vmac_xmit_base: inst.vmac_xmit_base,
        garp_interval,
        gna_interval,
        garp_lower_prio_delay: std::time::Duration::from_secs(u64::from(
            garp.lower_prio_delay_secs.unwrap_or(garp.master_delay_secs),
        )),
        garp_extra_if: garp.extra_if,
        trackers: trackers(cfg, inst, group),
        notify: NotifyPlan::new(
            inst.notify.clone(),
            inst.notify_priority_changes.unwrap_or(false),
            inst.smtp_alert,
        ),
        sync_group: inst.sync_group.clone(),
        transport: TransportPlan {
            unicast_ttl: inst.unicast_ttl,
            unicast_fault_no_peer: inst.unicast_fault_no_peer,
            mcast_group: inst.mcast_dst_ip.unwrap_or(match family {
                Family::Ipv4 => IpAddr::V4(cfg.global_defs.vrrp_mcast_group4),
                Family::Ipv6 => IpAddr::V6(cfg.global_defs.vrrp_mcast_group6),
            }),
            old_unicast_checksum: inst.old_unicast_checksum,
            kernel_rx_buf_size: inst.kernel_rx_buf_size,
        },
        strict_mode: inst.strict_mode,
        dont_track_primary: inst.dont_track_primary,
        track_src_ip: inst.track_src_ip,
        owner_ignore_adverts: inst.owner_ignore_adverts,
        // keepalived sets the instance flag from the global one.
        skip_check_adv_addr: inst.skip_check_adv_addr || cfg.global_defs.vrrp_skip_check_adv_addr,
        promote_secondaries: inst.promote_secondaries,
        timer_expired_backup: inst.timer_expired_backup,
    })
}

/// `mcast_dst_ip`, or the global `vrrp_mcast_group4` / `vrrp_mcast_group6`, when it is not
/// the family's VRRP group.
fn mcast_group(cfg: &Config, inst: &VrrpInstance, family: Family) -> Option<IpAddr> {
    let standard = match family {
        Family::Ipv4 => IpAddr::V4(vrrp_core::packet::MCAST_V4),
        Family::Ipv6 => IpAddr::V6(vrrp_core::packet::MCAST_V6),
    };
    let group = inst.mcast_dst_ip.unwrap_or(match family {
        Family::Ipv4 => IpAddr::V4(cfg.global_defs.vrrp_mcast_group4),
        Family::Ipv6 => IpAddr::V6(cfg.global_defs.vrrp_mcast_group6),
    });
    (group != standard).then_some(group)
}

/// `unicast_src_ip` / `mcast_src_ip`, else the interface's primary address of the family.
fn primary_addr(inst: &VrrpInstance, family: Family, host: &HostFacts) -> Result<IpAddr, MapError> {
    if let Some(addr) = inst.unicast_src_ip.or(inst.mcast_src_ip) {
        return Ok(addr);
    }
    let interface = inst.interface.as_deref().unwrap_or_default();
    host.primary_addr(interface, family)
        .ok_or_else(|| MapError::NoAddress {
            instance: inst.name.clone(),
            interface: interface.to_string(),
            family: match family {
                Family::Ipv4 => "IPv4",
                Family::Ipv6 => "IPv6 link-local",
            },
        })
}

/// The interface's `garp_group` pacing, else the global `vrrp_garp_interval` /
/// `vrrp_gna_interval`.
fn garp_pacing(
    cfg: &Config,
    interface: Option<&str>,
) -> (std::time::Duration, std::time::Duration) {
    use std::time::Duration;
    let g = &cfg.global_defs;
    let group = interface.and_then(|i| {
        cfg.garp_groups
            .iter()
            .find(|gg| gg.interfaces.iter().any(|x| x == i))
    });
    match group {
        Some(gg) => (
            Duration::from_micros(gg.garp_interval_us),
            Duration::from_micros(gg.gna_interval_us),
        ),
        None => (
            Duration::from_micros(g.vrrp_garp_interval_us),
            Duration::from_micros(g.vrrp_gna_interval_us),
        ),
    }
}

/// keepalived's `garp_extra_if [all] SECS`: every SECS while Active, one announcement per
/// interface that holds some of the instance's addresses but sends no adverts. vrrpd creates
/// no VMAC for an address on another interface, so those interfaces count only with `all`
/// (keepalived's "not ours" interfaces), and then, with `vmac_xmit_base`, the instance's own
/// VMAC (adverts leave from its parent) as well. The period and one address per interface,
/// or `None` and nothing when keepalived would not send any.
fn extra_announce(inst: &VrrpInstance) -> (Option<Duration>, Vec<IpAddr>) {
    let Some(extra) = inst.garp.extra_if.filter(|e| e.all && e.interval_secs > 0) else {
        return (None, Vec::new());
    };
    let own = inst.interface.as_deref();
    let all = inst
        .virtual_ipaddress
        .iter()
        .chain(&inst.virtual_ipaddress_excluded);
    let mut devs: Vec<&str> = Vec::new();
    let mut addresses = Vec::new();
    for v in all.clone() {
        if let Some(dev) = v.dev.as_deref().filter(|d| Some(*d) != own) {
            if !devs.contains(&dev) {
                devs.push(dev);
                addresses.push(v.address);
            }
        }
    }
    if addresses.is_empty() {
        return (None, Vec::new());
    }
    if inst.use_vmac.is_some() && inst.vmac_xmit_base {
        let on_vmac = all
            .into_iter()
            .find(|v| v.dev.is_none() || v.dev.as_deref() == own);
        addresses.extend(on_vmac.map(|v| v.address));
    }
    let period = Duration::from_secs(u64::from(extra.interval_secs));
    (Some(period), addresses)
}

/// The instance's trackers (already resolved) followed by its sync group's own trackers
/// (resolved here with the rules [`crate::config::resolve`] applies to the instance's own:
/// script weight inheritance; without `sync_group_tracking_weight`, weighted scripts,
/// processes and BFD dropped, weighted interfaces made fault trackers, unweighted files given
/// weight 0; weighted trackers dropped for the address owner). An object tracked by both the
/// instance and the group is kept once, with the instance's settings.
fn trackers(cfg: &Config, inst: &VrrpInstance, group: Option<&VrrpSyncGroup>) -> Vec<TrackerPlan> {
    let mut out = tracker_list(cfg, &Lists::of_instance(inst), false);
    if let Some(group) = group {
        let lists = Lists::of_group(cfg, inst, group);
        for plan in tracker_list(cfg, &lists, true) {
            if !out.iter().any(|p| p.source == plan.source) {
                out.push(plan);
            }
        }
    }
    for dev in tracked_route_interfaces(inst) {
        let source = TrackSource::Interface(dev.to_string());
        if !out.iter().any(|p| p.source == source) {
            out.push(TrackerPlan {
                tracker: Tracker::binary(dev, 0, false),
                source,
                from_sync_group: false,
            });
        }
    }
    out
}

/// The interfaces keepalived tracks for an instance's routes and rules: the `dev` of each
/// `virtual_routes` line and the `iif`/`dev` of each `virtual_rules` line without
/// `no_track`. One going down puts the instance in FAULT, as a `track_interface` would.
fn tracked_route_interfaces(inst: &VrrpInstance) -> Vec<&str> {
    fn dev_of<'l>(line: &'l str, keys: &[&str]) -> Option<&'l str> {
        let words: Vec<&'l str> = line.split_whitespace().collect();
        if words.contains(&"no_track") {
            return None;
        }
        // A route's own `dev`, not a nexthop's.
        let end = (words.iter().position(|w| *w == "nexthop")).unwrap_or(words.len());
        (words[..end].windows(2))
            .find(|w| keys.contains(&w[0]))
            .map(|w| w[1])
    }
    let routes = (inst.virtual_routes.iter()).filter_map(|l| dev_of(l, &["dev", "oif"]));
    let rules = (inst.virtual_rules.iter()).filter_map(|l| dev_of(l, &["dev", "iif"]));
    let mut devs: Vec<&str> = Vec::new();
    for dev in routes.chain(rules) {
        if !devs.contains(&dev) {
            devs.push(dev);
        }
    }
    devs
}

/// The five tracker lists of an instance or group.
struct Lists {
    scripts: Vec<TrackRef>,
    interfaces: Vec<TrackRef>,
    files: Vec<TrackRef>,
    processes: Vec<TrackRef>,
    bfds: Vec<TrackRef>,
}

impl Lists {
    fn of_instance(inst: &VrrpInstance) -> Self {
        Lists {
            scripts: inst.track_script.clone(),
            interfaces: inst.track_interface.clone(),
            files: inst.track_file.clone(),
            processes: inst.track_process.clone(),
            bfds: inst.track_bfd.clone(),
        }
    }

    fn of_group(cfg: &Config, inst: &VrrpInstance, group: &VrrpSyncGroup) -> Self {
        let weighted = |t: &TrackRef| t.weight.is_some_and(|w| w != 0);
        let mut lists = Lists {
            scripts: group
                .track_script
                .iter()
                .filter_map(|t| {
                    let script = cfg.vrrp_scripts.iter().find(|s| s.name == t.name)?;
                    let mut t = t.clone();
                    if t.weight.is_none() {
                        t.weight = Some(script.weight);
                        t.reverse = Some(t.reverse.unwrap_or(script.weight_reverse));
                    }
                    Some(t)
                })
                .collect(),
            interfaces: group.track_interface.clone(),
            files: group.track_file.clone(),
            processes: group.track_process.clone(),
            bfds: group.track_bfd.clone(),
        };
        if !group.sync_group_tracking_weight {
            lists.scripts.retain(|t| !weighted(t));
            lists.processes.retain(|t| !weighted(t));
            lists.bfds.retain(|t| !weighted(t));
            for t in lists.interfaces.iter_mut().filter(|t| weighted(t)) {
                t.weight = Some(0);
            }
            for t in lists.files.iter_mut().filter(|t| t.weight.is_none()) {
                t.weight = Some(0);
            }
        }
        if inst.priority == Some(vrrp_core::OWNER_PRIORITY) {
            for list in [
                &mut lists.scripts,
                &mut lists.interfaces,
                &mut lists.files,
                &mut lists.processes,
                &mut lists.bfds,
            ] {
                list.retain(|t| !weighted(t));
            }
        }
        lists
    }
}

fn tracker_list(cfg: &Config, lists: &Lists, from_sync_group: bool) -> Vec<TrackerPlan> {
    let mut out = Vec::new();
    let plan = |tracker, source| TrackerPlan {
        tracker,
        source,
        from_sync_group,
    };
    for t in &lists.scripts {
        let script = cfg.vrrp_scripts.iter().find(|s| s.name == t.name);
        let Some(script) = script else { continue };
        let weight = t.weight.unwrap_or(script.weight);
        let reverse = match t.weight {
            Some(_) => t.reverse.unwrap_or(false),
            None => t.reverse.unwrap_or(script.weight_reverse),
        };
        out.push(plan(
            Tracker::binary(&t.name, weight, reverse),
            TrackSource::Script(t.name.clone()),
        ));
    }
    for t in &lists.interfaces {
        out.push(plan(
            Tracker::binary(&t.name, t.weight.unwrap_or(0), t.reverse.unwrap_or(false)),
            TrackSource::Interface(t.name.clone()),
        ));
    }
    for t in &lists.files {
        let file = cfg.track_files.iter().find(|f| f.name == t.name);
        let weight = t
            .weight
            .unwrap_or_else(|| file.and_then(|f| f.weight).unwrap_or(1));
        let reverse = t
            .reverse
            .unwrap_or_else(|| t.weight.is_none() && file.is_some_and(|f| f.reverse));
        out.push(plan(
            Tracker::value(&t.name, weight, reverse),
            TrackSource::File {
                name: t.name.clone(),
                path: file.and_then(|f| f.file.clone()),
            },
        ));
    }
    for t in &lists.processes {
        let process = cfg.track_processes.iter().find(|p| p.name == t.name);
        let weight = t.weight.or(process.map(|p| p.weight)).unwrap_or(0);
        let reverse = t
            .reverse
            .unwrap_or_else(|| t.weight.is_none() && process.is_some_and(|p| p.reverse));
        out.push(plan(
            Tracker::binary(&t.name, weight, reverse),
            TrackSource::Process(t.name.clone()),
        ));
    }
    for t in &lists.bfds {
        out.push(plan(
            Tracker::binary(&t.name, t.weight.unwrap_or(0), t.reverse.unwrap_or(false)),
            TrackSource::Bfd(t.name.clone()),
        ));
    }
    out
}
