//! What the dump files show: the values the runtime gathers, independent of the layout of
//! each file.

use std::fmt::Write as _;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::time::Duration;

use serde::Serialize;
use vrrp_core::{Auth, State, Stats, Status, VersionMode};

use crate::config::model::{GlobalDefs, ScriptCommand};
use crate::convert::{InstancePlan, TrackSource, VipPlan};

/// keepalived's VRRP states, with the numbers its JSON uses.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub enum DumpState {
    /// INIT (0).
    #[default]
    Init,
    /// BACKUP (1).
    Backup,
    /// MASTER (2).
    Master,
    /// FAULT (3).
    Fault,
}

impl DumpState {
    /// keepalived's number (`VRRP_STATE_*`), as in the JSON `state` / `wantstate` fields.
    pub fn number(self) -> u8 {
        match self {
            DumpState::Init => 0,
            DumpState::Backup => 1,
            DumpState::Master => 2,
            DumpState::Fault => 3,
        }
    }

    /// keepalived's name.
    pub fn name(self) -> &'static str {
        match self {
            DumpState::Init => "INIT",
            DumpState::Backup => "BACKUP",
            DumpState::Master => "MASTER",
            DumpState::Fault => "FAULT",
        }
    }
}

impl From<State> for DumpState {
    fn from(s: State) -> Self {
        match s {
            State::Initialize => DumpState::Init,
            State::Backup => DumpState::Backup,
            State::Active => DumpState::Master,
            State::Fault => DumpState::Fault,
        }
    }
}

/// Everything the three dumps show.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct DumpInput {
    /// `global_defs` values (the data file's first section).
    pub globals: GlobalsDump,
    /// The instances, in configuration order.
    pub instances: Vec<InstanceDump>,
    /// The sync groups, in configuration order.
    pub sync_groups: Vec<SyncGroupDump>,
    /// The `vrrp_script`s in use, in configuration order.
    pub scripts: Vec<ScriptDump>,
    /// The interfaces, in the order the runtime learnt them (keepalived: netlink order).
    pub interfaces: Vec<InterfaceDump>,
    /// The time zone of the data file's human-readable times (keepalived prints local time).
    pub zone: Zone,
    /// The layout of the JSON file (`json_version`).
    pub json_version: JsonVersion,
}

/// The time zone of the data file's human-readable times.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Zone {
    /// UTC (what the recorded fixtures use).
    #[default]
    Utc,
    /// The host's local time zone (`TZ`, else `/etc/localtime`), as keepalived prints.
    Local,
}

/// The layout of `keepalived.json` (`global_defs { json_version N }`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum JsonVersion {
    /// 1 (the default, and the only form before keepalived 2.2.8): a top-level array with one
    /// `{"data":…,"stats":…}` object per instance.
    #[default]
    V1,
    /// 2 (keepalived 2.2.8 and later): `{"vrrp":[…]}`, the same array under the key `vrrp`.
    V2,
}

impl JsonVersion {
    /// The configured `json_version` (1 or 2; anything else is 1, as the parser allows only
    /// those).
    pub fn from_config(version: u8) -> Self {
        if version == 2 {
            JsonVersion::V2
        } else {
            JsonVersion::V1
        }
    }
}

/// The `global_defs` values the data file prints. [`Default`] is keepalived's defaults.
#[derive(Debug, Clone, PartialEq)]
pub struct GlobalsDump {
    /// `router_id` (keepalived's default: the host name).
    pub router_id: String,
    /// `dynamic_interfaces`.
    pub dynamic_interfaces: bool,
    /// `default_interface`.
    pub default_interface: String,
    /// `disable_local_igmp`.
    pub disable_local_igmp: bool,
    /// `fifo_write_vrrp_states_on_reload`.
    pub fifo_write_vrrp_states_on_reload: bool,
    /// `vrrp_notify_priority_changes`.
    pub notify_priority_changes: bool,
    /// `vrrp_mcast_group4`.
    pub mcast_group4: Ipv4Addr,
    /// `vrrp_mcast_group6`.
    pub mcast_group6: Ipv6Addr,
    /// `vrrp_garp_master_delay`, seconds.
    pub garp_delay: u32,
    /// `vrrp_garp_master_repeat`.
    pub garp_repeat: u32,
    /// `vrrp_garp_master_refresh`, seconds.
    pub garp_refresh: u32,
    /// `vrrp_garp_master_refresh_repeat`.
    pub garp_refresh_repeat: u32,
    /// `vrrp_garp_lower_prio_delay`, seconds.
    pub garp_lower_prio_delay: u32,
    /// `vrrp_garp_lower_prio_repeat`.
    pub garp_lower_prio_repeat: u32,
    /// `vrrp_down_timer_adverts`.
    pub down_timer_adverts: u32,
    /// `vrrp_garp_extra_if`, seconds.
    pub garp_extra_if: u32,
    /// `vrrp_lower_prio_no_advert`.
    pub lower_prio_no_advert: bool,
    /// `vrrp_higher_prio_send_advert`.
    pub higher_prio_send_advert: bool,
    /// `vrrp_garp_interval`.
    pub garp_interval: Duration,
    /// `vrrp_gna_interval`.
    pub gna_interval: Duration,
    /// `vrrp_version`.
    pub default_version: u8,
    /// `nftables_counters`.
    pub nftables_counters: bool,
    /// `vrrp_check_unicast_src`.
    pub check_unicast_src: bool,
    /// `vrrp_skip_check_adv_addr`.
    pub skip_check_adv_addr: bool,
    /// `vrrp_strict`.
    pub strict: bool,
    /// `max_auto_priority`.
    pub max_auto_priority: i32,
    /// `min_auto_priority_delay`.
    pub min_auto_priority_delay: Duration,
    /// `vrrp_priority`.
    pub vrrp_process_priority: i8,
    /// `vrrp_no_swap`.
    pub vrrp_no_swap: bool,
    /// `vrrp_rt_priority`.
    pub vrrp_realtime_priority: u8,
    /// `vrrp_cpu_affinity`.
    pub vrrp_cpu_affinity: Vec<usize>,
    /// `vrrp_rlimit_rttime` in µs.
    pub vrrp_rlimit_rttime: u32,
    /// `enable_script_security`.
    pub script_security: bool,
    /// The default script user's uid and gid.
    pub script_uid_gid: (u32, u32),
    /// The process umask.
    pub umask: u32,
}

impl Default for GlobalsDump {
    fn default() -> Self {
        GlobalsDump {
            router_id: String::new(),
            dynamic_interfaces: false,
            default_interface: "eth0".into(),
            disable_local_igmp: false,
            fifo_write_vrrp_states_on_reload: false,
            notify_priority_changes: false,
            mcast_group4: Ipv4Addr::new(224, 0, 0, 18),
            mcast_group6: Ipv6Addr::new(0xff02, 0, 0, 0, 0, 0, 0, 0x12),
            garp_delay: 5,
            garp_repeat: 5,
            garp_refresh: 0,
            garp_refresh_repeat: 1,
            garp_lower_prio_delay: 5,
            garp_lower_prio_repeat: 5,
            down_timer_adverts: 3,
            garp_extra_if: 0,
            lower_prio_no_advert: false,
            higher_prio_send_advert: false,
            garp_interval: Duration::ZERO,
            gna_interval: Duration::ZERO,
            default_version: 2,
            nftables_counters: false,
            check_unicast_src: false,
            skip_check_adv_addr: false,
            strict: false,
            max_auto_priority: 0,
            min_auto_priority_delay: Duration::from_secs(1),
            vrrp_process_priority: 0,
            vrrp_no_swap: false,
            vrrp_realtime_priority: 0,
            vrrp_cpu_affinity: Vec::new(),
            vrrp_rlimit_rttime: 10_000,
            script_security: false,
            script_uid_gid: (0, 0),
            umask: 0o177,
        }
    }
}

impl GlobalsDump {
    /// The values of a configuration's `global_defs`. `router_id` is the configured one or,
    /// as keepalived, the host name; scripts run as `script_uid_gid` by default; `umask` is
    /// the process's.
    pub fn from_config(
        g: &GlobalDefs,
        host_name: &str,
        script_uid_gid: (u32, u32),
        umask: u32,
    ) -> Self {
        let usecs = |us: u64| Duration::from_micros(us);
        GlobalsDump {
            router_id: g.router_id.clone().unwrap_or_else(|| host_name.to_string()),
            dynamic_interfaces: g.dynamic_interfaces.is_some(),
            default_interface: g.default_interface.clone().unwrap_or_else(|| "eth0".into()),
            disable_local_igmp: g.disable_local_igmp,
            fifo_write_vrrp_states_on_reload: g.fifo_write_vrrp_states_on_reload,
            notify_priority_changes: g.vrrp_notify_priority_changes,
            mcast_group4: g.vrrp_mcast_group4,
            mcast_group6: g.vrrp_mcast_group6,
            garp_delay: g.garp.master_delay_secs,
            garp_repeat: g.garp.master_repeat,
            // The refresh in force: vrrpd's default when none is configured.
            garp_refresh: (g.garp.master_refresh_secs)
                .unwrap_or(vrrp_core::DEFAULT_REFRESH_INTERVAL.as_millis() as u32 / 1000),
            garp_refresh_repeat: g.garp.master_refresh_repeat,
            garp_lower_prio_delay: g
                .garp
                .lower_prio_delay_secs
                .unwrap_or(g.garp.master_delay_secs),
            garp_lower_prio_repeat: g.garp.lower_prio_repeat.unwrap_or(g.garp.master_repeat),
            down_timer_adverts: g.vrrp_down_timer_adverts,
            garp_extra_if: g.garp.extra_if.map_or(0, |e| e.interval_secs),
            lower_prio_no_advert: g.vrrp_lower_prio_no_advert,
            higher_prio_send_advert: g.vrrp_higher_prio_send_advert,
            garp_interval: usecs(g.vrrp_garp_interval_us),
            gna_interval: usecs(g.vrrp_gna_interval_us),
            default_version: g.vrrp_version,
            nftables_counters: false,
            check_unicast_src: g.vrrp_check_unicast_src,
            skip_check_adv_addr: g.vrrp_skip_check_adv_addr,
            strict: g.vrrp_strict,
            max_auto_priority: g.max_auto_priority.unwrap_or(0),
            min_auto_priority_delay: Duration::from_micros(u64::from(g.min_auto_priority_delay_us)),
            vrrp_process_priority: g.vrrp_process_priority,
            vrrp_no_swap: g.vrrp_no_swap,
            vrrp_realtime_priority: g.vrrp_realtime_priority,
            vrrp_cpu_affinity: g.vrrp_cpu_affinity.clone(),
            vrrp_rlimit_rttime: g.vrrp_rlimit_rttime_us,
            script_security: g.enable_script_security,
            script_uid_gid,
            umask,
        }
    }
}

/// VRRPv2 authentication of an instance.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum AuthDump {
    /// None (type 0).
    #[default]
    None,
    /// `auth_type PASS` (type 1) with the (at most 8-byte) password.
    Pass(String),
    /// `auth_type AH` (type 2) with its key.
    Ah(String),
}

/// keepalived's unicast checksum compatibility setting (`old_unicast_checksum`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum ChecksumCompat {
    /// Auto-detection, not (yet) in compatibility mode.
    #[default]
    No,
    /// `old_unicast_checksum never`.
    Never,
    /// In compatibility mode (forced or detected).
    Yes,
}

/// One virtual address as keepalived prints it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VipDump {
    /// The address.
    pub address: IpAddr,
    /// Prefix length (a host prefix is not printed).
    pub prefix_len: u8,
    /// The interface it is (to be) added to.
    pub dev: Option<String>,
    /// Scope name (`global` unless configured).
    pub scope: String,
    /// `label`.
    pub label: Option<String>,
    /// True while the address is configured on the interface (keepalived appends ` set`).
    pub set: bool,
}

impl VipDump {
    /// From the plan (not set).
    pub fn from_plan(vip: &VipPlan) -> Self {
        VipDump {
            address: vip.address,
            prefix_len: vip.prefix_len,
            dev: vip.dev.clone(),
            scope: vip.scope.clone().unwrap_or_else(|| "global".into()),
            label: vip.label.clone(),
            set: false,
        }
    }

    /// keepalived's text: `192.0.2.1/24 dev eth0 scope global[ label L][ set]`.
    pub fn format(&self) -> String {
        let host = if self.address.is_ipv4() { 32 } else { 128 };
        let mut s = self.address.to_string();
        if self.prefix_len != host {
            let _ = write!(s, "/{}", self.prefix_len);
        }
        if let Some(dev) = &self.dev {
            let _ = write!(s, " dev {dev}");
        }
        let _ = write!(s, " scope {}", self.scope);
        if let Some(label) = &self.label {
            let _ = write!(s, " label {label}");
        }
        if self.set {
            s.push_str(" set");
        }
        s
    }
}

/// A unicast peer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PeerDump {
    /// The peer's address.
    pub address: IpAddr,
    /// `min_ttl` (0 when not configured).
    pub min_ttl: u8,
    /// `max_ttl` (255 when not configured).
    pub max_ttl: u8,
}

/// A tracked object of an instance (interface or script) with the weight it has there.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrackedDump {
    /// Interface or `vrrp_script` name.
    pub name: String,
    /// Weight (0: failure means FAULT).
    pub weight: i32,
    /// `reverse`.
    pub reverse: bool,
}

/// A notify script as keepalived prints it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommandDump {
    /// The command, each argument in single quotes (see [`quote_command`]).
    pub command: String,
    /// The uid it runs as.
    pub uid: u32,
    /// The gid it runs as.
    pub gid: u32,
}

impl CommandDump {
    /// From a configured command (run as `uid_gid`).
    pub fn from_script(script: &ScriptCommand, uid_gid: (u32, u32)) -> Self {
        CommandDump {
            command: quote_command(&split_command(&script.command)),
            uid: uid_gid.0,
            gid: uid_gid.1,
        }
    }
}

/// The notify scripts of an instance or sync group.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NotifyDump {
    /// `notify_backup`.
    pub backup: Option<CommandDump>,
    /// `notify_master`.
    pub master: Option<CommandDump>,
    /// `notify_fault`.
    pub fault: Option<CommandDump>,
    /// `notify_stop`.
    pub stop: Option<CommandDump>,
    /// `notify_deleted` (its script).
    pub deleted: Option<CommandDump>,
    /// `notify`.
    pub generic: Option<CommandDump>,
    /// `notify_master_rx_lower_pri`.
    pub master_rx_lower_pri: Option<CommandDump>,
}

impl NotifyDump {
    /// From the configured scripts; all run as `uid_gid`.
    pub fn from_scripts(s: &crate::config::model::NotifyScripts, uid_gid: (u32, u32)) -> Self {
        let c = |o: &Option<ScriptCommand>| {
            o.as_ref()
                .filter(|c| !c.command.trim().is_empty())
                .map(|c| CommandDump::from_script(c, uid_gid))
        };
        NotifyDump {
            backup: c(&s.backup),
            master: c(&s.master),
            fault: c(&s.fault),
            stop: c(&s.stop),
            deleted: c(&s.deleted),
            generic: c(&s.notify),
            master_rx_lower_pri: c(&s.master_rx_lower_pri),
        }
    }

    pub(super) fn labelled(&self) -> [(&'static str, &'static str, Option<&CommandDump>); 7] {
        [
            ("Backup", "script_backup", self.backup.as_ref()),
            ("Master", "script_master", self.master.as_ref()),
            ("Fault", "script_fault", self.fault.as_ref()),
            ("Stop", "script_stop", self.stop.as_ref()),
            ("Deleted", "script_deleted", self.deleted.as_ref()),
            ("Generic", "script", self.generic.as_ref()),
            (
                "Master rx lower pri",
                "script_master_rx_lower_pri",
                self.master_rx_lower_pri.as_ref(),
            ),
        ]
    }
}

/// One `vrrp_instance`: configuration, state and counters.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct InstanceDump {
    /// Instance name.
    pub name: String,
    /// VRRP version (2 or 3).
    pub version: u8,
    /// The sync group it belongs to.
    pub sync_group: Option<String>,
    /// Current state.
    pub state: DumpState,
    /// The state it wants (differs from `state` while a sync group holds it back).
    pub wanted_state: DumpState,
    /// The master last heard (printed while BACKUP).
    pub master_router: Option<IpAddr>,
    /// The priority of the master last heard (0 if none).
    pub master_priority: u8,
    /// keepalived's "Number of config faults".
    pub config_faults: u32,
    /// Interfaces and tracked objects currently failed (weight 0 ones).
    pub track_faults: u32,
    /// Tracked scripts that have not reported yet.
    pub scripts_init: u32,
    /// Time of the last transition, since the Unix epoch.
    pub last_transition: Duration,
    /// When the current timer (advert or master-down) expires, since the Unix epoch; `None`
    /// when no timer runs (FAULT).
    pub read_timeout: Option<Duration>,
    /// Master_Down_Interval in use (1 µs for an owner wanting MASTER, as keepalived).
    pub master_down_interval: Duration,
    /// `interface`.
    pub interface: Option<String>,
    /// `dont_track_primary`.
    pub dont_track_primary: bool,
    /// The source address of the adverts.
    pub source: Option<IpAddr>,
    /// True when the source comes from `unicast_src_ip` / `mcast_src_ip`.
    pub source_from_config: bool,
    /// The multicast group (multicast instances).
    pub mcast_group: Option<IpAddr>,
    /// `garp_master_delay`, seconds.
    pub garp_delay: u32,
    /// `garp_master_repeat`.
    pub garp_repeat: u32,
    /// `garp_master_refresh`, seconds.
    pub garp_refresh: u32,
    /// `garp_master_refresh_repeat`.
    pub garp_refresh_repeat: u32,
    /// `garp_lower_prio_delay`, seconds.
    pub garp_lower_prio_delay: u32,
    /// `garp_lower_prio_repeat`.
    pub garp_lower_prio_repeat: u32,
    /// `down_timer_adverts`.
    pub down_timer_adverts: u32,
    /// `lower_prio_no_advert`.
    pub lower_prio_no_advert: bool,
    /// `higher_prio_send_advert`.
    pub higher_prio_send_advert: bool,
    /// `virtual_router_id`.
    pub vrid: u8,
    /// Configured priority.
    pub base_priority: u8,
    /// Effective priority.
    pub effective_priority: u8,
    /// `advert_int`.
    pub advert_interval: Duration,
    /// The master's advert interval in use (v3 adopts the master's).
    pub master_advert_interval: Duration,
    /// Accept mode.
    pub accept: bool,
    /// Preempt (false with `nopreempt`).
    pub preempt: bool,
    /// `preempt_delay`.
    pub preempt_delay: Duration,
    /// `promote_secondaries`.
    pub promote_secondaries: bool,
    /// `skip_check_adv_addr`.
    pub skip_check_adv_addr: bool,
    /// `strict_mode`.
    pub strict_mode: bool,
    /// VRRPv2 authentication.
    pub auth: AuthDump,
    /// `virtual_ipaddress`.
    pub vips: Vec<VipDump>,
    /// `virtual_ipaddress_excluded`.
    pub excluded_vips: Vec<VipDump>,
    /// True while the VIPs are configured (JSON `vipset`).
    pub vips_set: bool,
    /// `unicast_ttl` (255 by default).
    pub unicast_ttl: u8,
    /// `check_unicast_src`.
    pub check_unicast_src: bool,
    /// `unicast_peer` (empty: multicast).
    pub unicast_peers: Vec<PeerDump>,
    /// Unicast checksum compatibility.
    pub checksum_compat: ChecksumCompat,
    /// Receive and send socket descriptors (`-1` when not known).
    pub fds: (i32, i32),
    /// `kernel_rx_buf_size` (0: default).
    pub rx_buf_size: u64,
    /// `virtual_routes`, one route per line.
    pub virtual_routes: Vec<String>,
    /// `virtual_rules`, one rule per line.
    pub virtual_rules: Vec<String>,
    /// `track_interface`.
    pub tracked_interfaces: Vec<TrackedDump>,
    /// `track_script`.
    pub tracked_scripts: Vec<TrackedDump>,
    /// `smtp_alert`.
    pub smtp_alert: bool,
    /// `notify_deleted` is set.
    pub notify_deleted: bool,
    /// Notify scripts.
    pub notify: NotifyDump,
    /// `notify_priority_changes`.
    pub notify_priority_changes: bool,
    /// The VMAC interface name (empty without `use_vmac`).
    pub vmac_ifname: String,
    /// Counters.
    pub stats: Stats,
}

impl InstanceDump {
    /// Fills what the configuration plan and the engine's status know. The runtime then sets
    /// what only it knows: `last_transition`, `read_timeout`, `master_priority`,
    /// `source_from_config`, `vips_set` (and each VIP's `set`), `fds`, `track_faults`,
    /// `scripts_init`, `wanted_state`, `vmac_ifname`. Script users are shown as `script_uid_gid`.
    pub fn from_plan(plan: &InstancePlan, status: &Status, script_uid_gid: (u32, u32)) -> Self {
        let r = &plan.router;
        let state = DumpState::from(status.state);
        let secs = |d: vrrp_core::Duration| (d.as_micros() / 1_000_000) as u32;
        let mut tracked_interfaces = Vec::new();
        let mut tracked_scripts = Vec::new();
        for t in &plan.trackers {
            let d = TrackedDump {
                name: t.source.name().to_string(),
                weight: t.tracker.weight,
                reverse: t.tracker.reverse,
            };
            match t.source {
                TrackSource::Interface(_) => tracked_interfaces.push(d),
                TrackSource::Script(_) => tracked_scripts.push(d),
                _ => {}
            }
        }
        let unicast_peers: Vec<PeerDump> = r
            .unicast_peers
            .iter()
            .map(|p| PeerDump {
                address: p.addr,
                min_ttl: p.min_ttl.unwrap_or(0),
                max_ttl: p.max_ttl.unwrap_or(255),
            })
            .collect();
        let auth = match &r.auth {
            Auth::Password(bytes) => {
                let end = bytes.iter().position(|&b| b == 0).unwrap_or(bytes.len());
                AuthDump::Pass(String::from_utf8_lossy(&bytes[..end]).into_owned())
            }
            _ => AuthDump::None,
        };
        InstanceDump {
            name: r.name.to_string(),
            version: if r.version == VersionMode::V2 { 2 } else { 3 },
            sync_group: plan.sync_group.clone(),
            state,
            wanted_state: state,
            master_router: status.last_active,
            master_priority: 0,
            config_faults: 0,
            track_faults: 0,
            scripts_init: 0,
            last_transition: Duration::ZERO,
            read_timeout: None,
            master_down_interval: status.active_down_interval.into(),
            interface: plan.interface.clone(),
            dont_track_primary: plan.dont_track_primary,
            source: Some(r.primary_addr),
            source_from_config: false,
            mcast_group: unicast_peers
                .is_empty()
                .then_some(plan.transport.mcast_group),
            garp_delay: r.announce.second_burst_delay.map_or(0, secs),
            garp_repeat: r.announce.burst_count,
            garp_refresh: r.announce.refresh_interval.map_or(0, secs),
            garp_refresh_repeat: r.announce.refresh_count,
            garp_lower_prio_delay: plan.garp_lower_prio_delay.as_secs() as u32,
            garp_lower_prio_repeat: r.announce.lower_prio_count,
            down_timer_adverts: r.down_timer_adverts.into(),
            lower_prio_no_advert: r.lower_prio_no_advert,
            higher_prio_send_advert: r.higher_prio_send_advert,
            vrid: r.vrid,
            base_priority: r.priority,
            effective_priority: status.effective_priority,
            advert_interval: Duration::from_millis(u64::from(r.advert_interval_cs) * 10),
            master_advert_interval: status.active_adver_interval.into(),
            accept: r.accept_mode || r.is_owner(),
            preempt: r.preempt,
            preempt_delay: r.preempt_delay.into(),
            promote_secondaries: plan.promote_secondaries,
            skip_check_adv_addr: plan.skip_check_adv_addr,
            strict_mode: plan.strict_mode,
            auth,
            vips: plan.vips.iter().map(VipDump::from_plan).collect(),
            excluded_vips: plan.excluded_vips.iter().map(VipDump::from_plan).collect(),
            vips_set: false,
            unicast_ttl: plan.transport.unicast_ttl.unwrap_or(255),
            // The check in force: on by default where peers are listed (vrrpd's stricter
            // default, docs/migrating-from-keepalived.md); meaningless without peers.
            check_unicast_src: r.check_unicast_src && !r.unicast_peers.is_empty(),
            unicast_peers,
            checksum_compat: match plan.transport.old_unicast_checksum {
                Some(true) => ChecksumCompat::Yes,
                Some(false) => ChecksumCompat::Never,
                None => ChecksumCompat::No,
            },
            fds: (-1, -1),
            rx_buf_size: plan.transport.kernel_rx_buf_size.unwrap_or(0),
            virtual_routes: plan.virtual_routes.clone(),
            virtual_rules: plan.virtual_rules.clone(),
            tracked_interfaces,
            tracked_scripts,
            smtp_alert: plan.notify.smtp_alert,
            notify_deleted: plan.notify.scripts().deleted.is_some(),
            notify: NotifyDump::from_scripts(plan.notify.scripts(), script_uid_gid),
            notify_priority_changes: plan.notify.priority_changes,
            vmac_ifname: String::new(),
            stats: status.stats,
        }
    }

    pub(super) fn is_unicast(&self) -> bool {
        !self.unicast_peers.is_empty()
    }
}

/// A `vrrp_sync_group`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SyncGroupDump {
    /// Group name.
    pub name: String,
    /// The group's state.
    pub state: DumpState,
    /// Member instance names.
    pub members: Vec<String>,
    /// Members in FAULT.
    pub member_faults: u32,
    /// Members in INIT.
    pub member_init: u32,
    /// `sync_group_tracking_weight`.
    pub tracking_weight: bool,
    /// `smtp_alert`.
    pub smtp_alert: bool,
    /// Notify scripts.
    pub notify: NotifyDump,
}

/// Where a `vrrp_script` stands.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum ScriptStatus {
    /// No result yet.
    #[default]
    Init,
    /// No result yet, starting as failed (`init_fail`).
    InitFailed,
    /// Succeeding (rise/fall counter ≥ rise).
    Good,
    /// Failing.
    Bad,
}

/// A `vrrp_script`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ScriptDump {
    /// Block name.
    pub name: String,
    /// The command, each argument in single quotes (see [`quote_command`]).
    pub command: String,
    /// `interval`.
    pub interval: Duration,
    /// `timeout` as configured (`None`: printed as 0, as keepalived does).
    pub timeout: Option<Duration>,
    /// `weight`.
    pub weight: i32,
    /// `weight … reverse`.
    pub reverse: bool,
    /// `rise`.
    pub rise: u32,
    /// `fall`.
    pub fall: u32,
    /// The rise/fall counter, 0 ..= rise + fall − 1.
    pub result: u32,
    /// Disabled as insecure.
    pub insecure: bool,
    /// Status.
    pub status: ScriptStatus,
    /// The uid and gid it runs as.
    pub uid_gid: (u32, u32),
    /// The instances (and sync-group members) tracking it, with their weight there.
    pub tracking: Vec<TrackedDump>,
    /// True while a run is in progress.
    pub running: bool,
}

/// A network interface known to the runtime.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct InterfaceDump {
    /// Name.
    pub name: String,
    /// ifindex.
    pub index: u32,
    /// Primary IPv4 address.
    pub ipv4: Option<Ipv4Addr>,
    /// IPv6 link-local address.
    pub ipv6: Option<Ipv6Addr>,
    /// Hardware address (none on loopback).
    pub mac: Option<[u8; 6]>,
    /// IFF_UP.
    pub up: bool,
    /// IFF_RUNNING.
    pub running: bool,
    /// IFF_BROADCAST.
    pub broadcast: bool,
    /// IFF_LOOPBACK.
    pub loopback: bool,
    /// IFF_MULTICAST.
    pub multicast: bool,
    /// MTU.
    pub mtu: u32,
    /// keepalived's hardware type name: `ETHERNET`, `LOOPBACK`, …
    pub hw_type: String,
    /// Instances depending on it, with their weight.
    pub tracking: Vec<TrackedDump>,
}

/// keepalived's 14 per-instance counters, derived from [`vrrp_core::Stats`]. Serialized as
/// the JSON `stats` object: the fields are in keepalived's key order.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct KeepalivedCounters {
    /// `advert_rcvd`.
    pub advert_rcvd: u64,
    /// `advert_sent`.
    pub advert_sent: u64,
    /// `become_master`.
    pub become_master: u64,
    /// `release_master`.
    pub release_master: u64,
    /// `packet_len_err`.
    pub packet_len_err: u64,
    /// `advert_interval_err`.
    pub advert_interval_err: u64,
    /// `ip_ttl_err`.
    pub ip_ttl_err: u64,
    /// `invalid_type_rcvd`.
    pub invalid_type_rcvd: u64,
    /// `addr_list_err`.
    pub addr_list_err: u64,
    /// `invalid_authtype`: vrrp-core does not tell it apart (always 0).
    pub invalid_authtype: u64,
    /// `authtype_mismatch`: vrrp-core does not tell it apart (always 0).
    pub authtype_mismatch: u64,
    /// `auth_failure`: every authentication discard.
    pub auth_failure: u64,
    /// `pri_zero_rcvd`.
    pub pri_zero_rcvd: u64,
    /// `pri_zero_sent`.
    pub pri_zero_sent: u64,
}

impl From<&Stats> for KeepalivedCounters {
    fn from(s: &Stats) -> Self {
        KeepalivedCounters {
            advert_rcvd: s.adverts_rx,
            advert_sent: s.adverts_tx,
            become_master: s.became_active,
            release_master: s.released_active,
            packet_len_err: s.rx_length_errors,
            advert_interval_err: s.interval_mismatch,
            ip_ttl_err: s.rx_ttl_errors,
            invalid_type_rcvd: s.rx_type_errors,
            addr_list_err: s.address_list_mismatch,
            invalid_authtype: 0,
            authtype_mismatch: 0,
            auth_failure: s.rx_auth_errors,
            pri_zero_rcvd: s.priority_zero_rx,
            pri_zero_sent: s.priority_zero_tx,
        }
    }
}

/// Splits a configured command line into arguments: whitespace separated, `"…"` and `'…'`
/// quoting, `\` escaping the next character.
pub fn split_command(command: &str) -> Vec<String> {
    let mut args = Vec::new();
    let mut cur = String::new();
    let mut in_arg = false;
    let mut quote: Option<char> = None;
    let mut chars = command.chars();
    while let Some(c) = chars.next() {
        match (quote, c) {
            (Some(q), c) if c == q => quote = None,
            (Some(_), c) => cur.push(c),
            (None, '"' | '\'') => {
                quote = Some(c);
                in_arg = true;
            }
            (None, '\\') => {
                if let Some(n) = chars.next() {
                    cur.push(n);
                }
                in_arg = true;
            }
            (None, c) if c.is_whitespace() => {
                if in_arg {
                    args.push(std::mem::take(&mut cur));
                    in_arg = false;
                }
            }
            (None, c) => {
                cur.push(c);
                in_arg = true;
            }
        }
    }
    if in_arg {
        args.push(cur);
    }
    args
}

/// keepalived's display of a command: each argument in single quotes, separated by spaces
/// (`'/usr/bin/true' 'master'`).
pub fn quote_command<S: AsRef<str>>(args: &[S]) -> String {
    args.iter()
        .map(|a| format!("'{}'", a.as_ref()))
        .collect::<Vec<_>>()
        .join(" ")
}
