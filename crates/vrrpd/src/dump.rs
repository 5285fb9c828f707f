//! keepalived's three dump files, rendered from what the runtime knows.
//!
//! Monitoring tools parse these files, so the text follows what Debian's keepalived 2.2.7
//! writes (recorded from the real daemon, see `tests/data/dump/` and `docs/dump-files.md`):
//!
//! | signal          | file                                | renderer        |
//! |-----------------|-------------------------------------|-----------------|
//! | `SIGUSR1`       | `$TMPDIR/keepalived.data`           | [`render_data`] |
//! | `SIGUSR2`       | `$TMPDIR/keepalived.stats`          | [`render_stats`]|
//! | `SIGRTMIN+2`    | `$TMPDIR/keepalived.json`           | [`render_json`] |
//!
//! (`$TMPDIR` unset or empty: `/tmp`; see [`DumpKind::path`].) The renderers are pure: the
//! runtime builds a [`DumpInput`] (mostly with [`InstanceDump::from_plan`] and a
//! [`vrrp_core::Status`]), renders, and writes with [`write_atomic`].

use std::fmt::Write as _;
use std::io::{self, Write as _};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::path::{Path, PathBuf};
use std::time::Duration;

use vrrp_core::{Auth, State, Stats, Status, VersionMode};

use crate::config::model::ScriptCommand;
use crate::convert::{InstancePlan, TrackSource, VipPlan};

/// Which dump file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DumpKind {
    /// `SIGUSR1`: `keepalived.data`, the configuration and state ([`render_data`]).
    Data,
    /// `SIGUSR2`: `keepalived.stats`, the counters ([`render_stats`]).
    Stats,
    /// `SIGRTMIN+2`: `keepalived.json` ([`render_json`]).
    Json,
}

impl DumpKind {
    /// The file name keepalived uses.
    pub fn file_name(self) -> &'static str {
        match self {
            DumpKind::Data => "keepalived.data",
            DumpKind::Stats => "keepalived.stats",
            DumpKind::Json => "keepalived.json",
        }
    }

    /// Where keepalived 2.2.7 writes the file: in `tmpdir` (the value of `$TMPDIR`), or in
    /// `/tmp` when it is unset or empty. 2.2.7 honours `TMPDIR` for all three files.
    pub fn path(self, tmpdir: Option<&std::ffi::OsStr>) -> PathBuf {
        let dir = match tmpdir {
            Some(d) if !d.is_empty() => Path::new(d),
            _ => Path::new("/tmp"),
        };
        dir.join(self.file_name())
    }
}

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
    /// Offset of local time from UTC, in seconds, for the human-readable times of the data
    /// file (keepalived prints local time).
    pub utc_offset_secs: i32,
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
            script_security: false,
            script_uid_gid: (0, 0),
            umask: 0o177,
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

    fn labelled(&self) -> [(&'static str, &'static str, Option<&CommandDump>); 7] {
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
            check_unicast_src: r.check_unicast_src,
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

    fn is_unicast(&self) -> bool {
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

/// keepalived's 14 per-instance counters, derived from [`vrrp_core::Stats`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
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

impl KeepalivedCounters {
    fn fields(&self) -> [(&'static str, u64); 14] {
        [
            ("advert_rcvd", self.advert_rcvd),
            ("advert_sent", self.advert_sent),
            ("become_master", self.become_master),
            ("release_master", self.release_master),
            ("packet_len_err", self.packet_len_err),
            ("advert_interval_err", self.advert_interval_err),
            ("ip_ttl_err", self.ip_ttl_err),
            ("invalid_type_rcvd", self.invalid_type_rcvd),
            ("addr_list_err", self.addr_list_err),
            ("invalid_authtype", self.invalid_authtype),
            ("authtype_mismatch", self.authtype_mismatch),
            ("auth_failure", self.auth_failure),
            ("pri_zero_rcvd", self.pri_zero_rcvd),
            ("pri_zero_sent", self.pri_zero_sent),
        ]
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

fn yes_no(b: bool) -> &'static str {
    if b {
        "yes"
    } else {
        "no"
    }
}

fn enabled(b: bool) -> &'static str {
    if b {
        "enabled"
    } else {
        "disabled"
    }
}

/// `SECS.USEC (Www Mmm dd hh:mm:ss.USEC yyyy)` in local time (`utc_offset_secs`).
fn format_time(t: Duration, utc_offset_secs: i32) -> String {
    let secs = t.as_secs();
    let usec = t.subsec_micros();
    let local = secs as i64 + i64::from(utc_offset_secs);
    let days = local.div_euclid(86_400);
    let tod = local.rem_euclid(86_400);
    let (y, m, d) = civil_from_days(days);
    const WEEKDAYS: [&str; 7] = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"];
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    format!(
        "{secs}.{usec:06} ({} {} {d:2} {:02}:{:02}:{:02}.{usec:06} {y})",
        WEEKDAYS[days.rem_euclid(7) as usize],
        MONTHS[(m - 1) as usize],
        tod / 3600,
        tod / 60 % 60,
        tod % 60,
    )
}

/// Proleptic Gregorian date of a day count since 1970-01-01 (Howard Hinnant's algorithm).
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

fn tracked_line(t: &TrackedDump) -> String {
    format!(
        "     {} weight {}{}",
        t.name,
        t.weight,
        if t.reverse { " reverse" } else { "" }
    )
}

fn tracking_line(t: &TrackedDump) -> String {
    format!(
        "     {}, weight {}{}",
        t.name,
        t.weight,
        if t.reverse { " reverse" } else { "" }
    )
}

fn notify_lines(out: &mut String, n: &NotifyDump) {
    for (label, _, cmd) in n.labelled() {
        if let Some(c) = cmd {
            let _ = writeln!(
                out,
                "   {label} state transition script = {}, uid:gid {}:{}",
                c.command, c.uid, c.gid
            );
        }
    }
}

/// The `SIGUSR1` data file (`keepalived.data`), as keepalived 2.2.7's VRRP process writes it:
/// sections `Global definitions`, `VRRP Topology` (one `VRRP Instance = NAME` block each),
/// `VRRP Sockpool`, `VRRP Sync groups` (if any), `VRRP Scripts` (if any), `Interfaces`.
pub fn render_data(input: &DumpInput) -> String {
    let mut o = String::new();
    render_globals(&mut o, &input.globals);
    o.push_str("------< VRRP Topology >------\n");
    for i in &input.instances {
        render_instance(&mut o, i, input.utc_offset_secs);
    }
    render_sockpool(&mut o, &input.instances);
    if !input.sync_groups.is_empty() {
        o.push_str("------< VRRP Sync groups >------\n");
        for g in &input.sync_groups {
            render_sync_group(&mut o, g);
        }
    }
    if !input.scripts.is_empty() {
        o.push_str("------< VRRP Scripts >------\n");
        for s in &input.scripts {
            render_script(&mut o, s);
        }
    }
    o.push_str("------< Interfaces >------\n");
    for i in &input.interfaces {
        render_interface(&mut o, i);
    }
    o
}

fn render_globals(o: &mut String, g: &GlobalsDump) {
    let tf = |b: bool| if b { "true" } else { "false" };
    o.push_str("------< Global definitions >------\n");
    let lines: Vec<String> = vec![
        " Network namespace = (default)".into(),
        " Network namespace ipvs = (main namespace)".into(),
        format!(" Router ID = {}", g.router_id),
        " Default smtp_alert = unset".into(),
        " Default smtp_alert_vrrp = unset".into(),
        " Default smtp_alert_checker = unset".into(),
        " Checkers log all failures = false".into(),
        " No test config before reload".into(),
        format!(" Dynamic interfaces = {}", tf(g.dynamic_interfaces)),
        format!(" Default interface = {}", g.default_interface),
        format!(" Disable local IGMP = {}", yes_no(g.disable_local_igmp)),
        " LVS flush = false".into(),
        " LVS flush on stop = disabled".into(),
        format!(
            " FIFO write vrrp states on reload = {}",
            tf(g.fifo_write_vrrp_states_on_reload)
        ),
        format!(
            " VRRP notify priority changes = {}",
            tf(g.notify_priority_changes)
        ),
        format!(" VRRP IPv4 mcast group = {}", g.mcast_group4),
        format!(" VRRP IPv6 mcast group = {}", g.mcast_group6),
        format!(" Gratuitous ARP delay = {}", g.garp_delay),
        format!(" Gratuitous ARP repeat = {}", g.garp_repeat),
        format!(" Gratuitous ARP refresh timer = {}", g.garp_refresh),
        format!(" Gratuitous ARP refresh repeat = {}", g.garp_refresh_repeat),
        format!(
            " Gratuitous ARP lower priority delay = {}",
            g.garp_lower_prio_delay
        ),
        format!(
            " Gratuitous ARP lower priority repeat = {}",
            g.garp_lower_prio_repeat
        ),
        format!(" Num adverts before down = {}", g.down_timer_adverts),
        format!(
            " Gratuitous ARP for each secondary VMAC = {}s",
            g.garp_extra_if
        ),
        format!(
            " Send advert after receive lower priority advert = {}",
            tf(!g.lower_prio_no_advert)
        ),
        format!(
            " Send advert after receive higher priority advert = {}",
            tf(g.higher_prio_send_advert)
        ),
        format!(
            " Gratuitous ARP interval = {:.6}",
            g.garp_interval.as_secs_f64()
        ),
        format!(
            " Gratuitous NA interval = {:.6}",
            g.gna_interval.as_secs_f64()
        ),
        format!(" VRRP default protocol version = {}", g.default_version),
        format!(
            " nftables {} counters",
            if g.nftables_counters {
                "with"
            } else {
                "without"
            }
        ),
        format!(" VRRP check unicast_src = {}", tf(g.check_unicast_src)),
        format!(
            " VRRP skip check advert addresses = {}",
            tf(g.skip_check_adv_addr)
        ),
        format!(" VRRP strict mode = {}", tf(g.strict)),
        format!(" Max auto priority = {}", g.max_auto_priority),
        format!(
            " Min auto priority delay = {} usecs",
            g.min_auto_priority_delay.as_micros()
        ),
    ];
    for l in lines {
        o.push_str(&l);
        o.push('\n');
    }
    // Process tuning, SNMP, DBus and LVS: not configurable in vrrpd, keepalived's defaults.
    for p in ["VRRP", "Checker", "BFD"] {
        let _ = writeln!(o, " {p} process priority = 0");
        let _ = writeln!(o, " {p} don't swap = false");
        let _ = writeln!(o, " {p} realtime priority = 0");
        let _ = writeln!(o, " {p} realtime limit = 10000");
    }
    for l in [
        " SNMP vrrp disabled",
        " SNMP checker disabled",
        " SNMP RFCv2 disabled",
        " SNMP RFCv3 disabled",
        " SNMP traps disabled",
        " SNMP socket = default (unix:/var/agentx/master)",
        " DBus disabled",
        " DBus service name = ",
    ] {
        o.push_str(l);
        o.push('\n');
    }
    let _ = writeln!(o, " Script security {}", enabled(g.script_security));
    let _ = writeln!(
        o,
        " Default script uid:gid {}:{}",
        g.script_uid_gid.0, g.script_uid_gid.1
    );
    for n in [
        "vrrp_netlink_cmd_rcv_bufs",
        "vrrp_netlink_cmd_rcv_bufs_force",
        "vrrp_netlink_monitor_rcv_bufs",
        "vrrp_netlink_monitor_rcv_bufs_force",
        "process_monitor_rcv_bufs",
        "process_monitor_rcv_bufs_force",
        "lvs_netlink_cmd_rcv_bufs",
        "lvs_netlink_cmd_rcv_bufs_force",
        "lvs_netlink_monitor_rcv_bufs",
        "lvs_netlink_monitor_rcv_bufs_force",
        "rs_init_notifies",
        "no_checker_emails",
    ] {
        let _ = writeln!(o, " {n} = 0");
    }
    o.push_str(" rx_bufs_multiples = 3\n");
    let _ = writeln!(o, " umask = {:04o}", g.umask);
}

fn render_instance(o: &mut String, i: &InstanceDump, utc_offset: i32) {
    let _ = writeln!(o, " VRRP Instance = {}", i.name);
    let _ = writeln!(o, "   VRRP Version = {}", i.version);
    if let Some(g) = &i.sync_group {
        let _ = writeln!(o, "   Sync group = {g}");
    }
    let _ = writeln!(o, "   State = {}", i.state.name());
    if i.state == DumpState::Backup {
        match i.master_router {
            Some(a) => {
                let _ = writeln!(o, "   Master router = {a}");
            }
            None => o.push_str("   Master router = (none)\n"),
        }
        let _ = writeln!(o, "   Master priority = {}", i.master_priority);
    }
    let any_flag = i.is_unicast()
        || !i.preempt
        || i.dont_track_primary
        || i.promote_secondaries
        || i.skip_check_adv_addr;
    if any_flag {
        o.push_str("   Flags:\n");
        if i.is_unicast() {
            o.push_str("     Using unicast\n");
        }
    } else {
        o.push_str("   Flags: none\n");
    }
    let _ = writeln!(o, "   Wantstate = {}", i.wanted_state.name());
    let _ = writeln!(o, "   Number of config faults = {}", i.config_faults);
    let _ = writeln!(
        o,
        "   Number of interface and track script faults = {}",
        i.track_faults
    );
    let _ = writeln!(o, "   Number of track scripts init = {}", i.scripts_init);
    let _ = writeln!(
        o,
        "   Last transition = {}",
        format_time(i.last_transition, utc_offset)
    );
    match i.read_timeout {
        Some(t) => {
            let _ = writeln!(o, "   Read timeout = {}", format_time(t, utc_offset));
        }
        None => o.push_str("   Read timeout = DISABLED\n"),
    }
    let _ = writeln!(
        o,
        "   Master down timer = {} usecs",
        i.master_down_interval.as_micros()
    );
    let _ = writeln!(
        o,
        "   Interface = {}",
        i.interface.as_deref().unwrap_or("(none)")
    );
    if i.dont_track_primary {
        o.push_str("   VRRP interface tracking disabled\n");
    }
    if let Some(src) = i.source {
        let _ = writeln!(
            o,
            "   Using src_ip = {src}{}",
            if i.source_from_config {
                " (from configuration)"
            } else {
                ""
            }
        );
    }
    if !i.is_unicast() {
        if let Some(g) = i.mcast_group {
            let _ = writeln!(o, "   Multicast address {g}");
        }
    }
    let _ = writeln!(o, "   Gratuitous ARP delay = {}", i.garp_delay);
    let _ = writeln!(o, "   Gratuitous ARP repeat = {}", i.garp_repeat);
    let _ = writeln!(o, "   Gratuitous ARP refresh = {}", i.garp_refresh);
    let _ = writeln!(
        o,
        "   Gratuitous ARP refresh repeat = {}",
        i.garp_refresh_repeat
    );
    let _ = writeln!(
        o,
        "   Gratuitous ARP lower priority delay = {}",
        i.garp_lower_prio_delay
    );
    let _ = writeln!(
        o,
        "   Gratuitous ARP lower priority repeat = {}",
        i.garp_lower_prio_repeat
    );
    let _ = writeln!(o, "   Down timer adverts = {}", i.down_timer_adverts);
    let _ = writeln!(
        o,
        "   Send advert after receive lower priority advert = {}",
        !i.lower_prio_no_advert
    );
    let _ = writeln!(
        o,
        "   Send advert after receive higher priority advert = {}",
        i.higher_prio_send_advert
    );
    let _ = writeln!(o, "   Virtual Router ID = {}", i.vrid);
    let _ = writeln!(o, "   Priority = {}", i.base_priority);
    let _ = writeln!(o, "   Effective priority = {}", i.effective_priority);
    let _ = writeln!(o, "   Total priority = {}", i.effective_priority);
    if i.version == 2 {
        let _ = writeln!(
            o,
            "   Advert interval = {} sec",
            i.advert_interval.as_secs()
        );
    } else {
        let _ = writeln!(
            o,
            "   Advert interval = {} milli-sec",
            i.advert_interval.as_millis()
        );
    }
    let _ = writeln!(o, "   Accept = {}", enabled(i.accept));
    let _ = writeln!(o, "   Preempt = {}", enabled(i.preempt));
    if !i.preempt_delay.is_zero() {
        let _ = writeln!(o, "   Preempt delay = {} secs", i.preempt_delay.as_secs());
    }
    let _ = writeln!(
        o,
        "   Promote_secondaries = {}",
        enabled(i.promote_secondaries)
    );
    if i.version == 2 {
        match &i.auth {
            AuthDump::None => o.push_str("   Authentication type = none\n"),
            AuthDump::Pass(p) => {
                o.push_str("   Authentication type = SIMPLE_PASSWORD\n");
                let _ = writeln!(o, "   Password = {p}");
            }
            AuthDump::Ah(_) => o.push_str("   Authentication type = IPSEC_AH\n"),
        }
    }
    if !i.vips.is_empty() {
        let _ = writeln!(o, "   Virtual IP ({}):", i.vips.len());
        for v in &i.vips {
            let _ = writeln!(o, "     {}", v.format());
        }
    }
    if !i.excluded_vips.is_empty() {
        o.push_str("   Virtual IP Excluded :\n");
        for v in &i.excluded_vips {
            let _ = writeln!(o, "     {}", v.format());
        }
    }
    if i.is_unicast() {
        let _ = writeln!(o, "   Unicast TTL = {}", i.unicast_ttl);
        let _ = writeln!(o, "   Check unicast src : {}", yes_no(i.check_unicast_src));
        o.push_str("   Unicast Peer :\n");
        for p in &i.unicast_peers {
            let _ = writeln!(
                o,
                "     {} min_ttl {} max_ttl {}",
                p.address, p.min_ttl, p.max_ttl
            );
        }
        let _ = writeln!(
            o,
            "   Unicast checksum compatibility = {}",
            match i.checksum_compat {
                ChecksumCompat::No => "no",
                ChecksumCompat::Never => "never",
                ChecksumCompat::Yes => "yes",
            }
        );
    }
    let _ = writeln!(o, "   fd_in {}, fd_out {}", i.fds.0, i.fds.1);
    if !i.virtual_routes.is_empty() {
        o.push_str("   Virtual Routes :\n");
        for r in &i.virtual_routes {
            let _ = writeln!(o, "     {r}");
        }
    }
    if !i.virtual_rules.is_empty() {
        o.push_str("   Virtual Rules :\n");
        for r in &i.virtual_rules {
            let _ = writeln!(o, "     {r}");
        }
    }
    if !i.tracked_interfaces.is_empty() {
        o.push_str("   Tracked interfaces :\n");
        for t in &i.tracked_interfaces {
            o.push_str(&tracked_line(t));
            o.push('\n');
        }
    }
    if !i.tracked_scripts.is_empty() {
        o.push_str("   Tracked scripts :\n");
        for t in &i.tracked_scripts {
            o.push_str(&tracked_line(t));
            o.push('\n');
        }
    }
    let _ = writeln!(o, "   Using smtp notification = {}", yes_no(i.smtp_alert));
    let _ = writeln!(
        o,
        "   Notify deleted = {}",
        if i.notify_deleted { "Deleted" } else { "Fault" }
    );
    notify_lines(o, &i.notify);
    let _ = writeln!(
        o,
        "   Notify priority changes = {}",
        i.notify_priority_changes
    );
}

/// keepalived shares one socket pair per interface, family, protocol and destination.
fn render_sockpool(o: &mut String, instances: &[InstanceDump]) {
    o.push_str("------< VRRP Sockpool >------\n");
    type Key<'a> = (Option<&'a str>, bool, bool, bool, Option<IpAddr>);
    let mut pools: Vec<(Key<'_>, Vec<&InstanceDump>)> = Vec::new();
    for i in instances {
        let k: Key<'_> = (
            i.interface.as_deref(),
            i.source.is_some_and(|a| a.is_ipv6()),
            matches!(i.auth, AuthDump::Ah(_)) && i.version == 2,
            i.is_unicast(),
            if i.is_unicast() { i.source } else { None },
        );
        match pools.iter_mut().find(|(pk, _)| *pk == k) {
            Some((_, v)) => v.push(i),
            None => pools.push((k, vec![i])),
        }
    }
    for ((ifname, v6, ah, unicast, addr), members) in pools {
        let first = members[0];
        let _ = writeln!(o, " fd_in {} fd_out = {}", first.fds.0, first.fds.1);
        let _ = writeln!(o, "   Interface = {}", ifname.unwrap_or("(none)"));
        let _ = writeln!(o, "   Family = {}", if v6 { "IPv6" } else { "IPv4" });
        let _ = writeln!(o, "   Protocol = {}", if ah { "AH" } else { "VRRP" });
        let _ = writeln!(
            o,
            "   Type = {}",
            if unicast { "Unicast" } else { "Multicast" }
        );
        if let Some(a) = addr {
            let _ = writeln!(o, "   Address = {a}");
        }
        let _ = writeln!(o, "   Rx buf size = {}", first.rx_buf_size);
        o.push_str("   VRRP instances\n");
        for m in members {
            let _ = writeln!(o, "     {} vrid {}", m.name, m.vrid);
        }
    }
}

fn render_sync_group(o: &mut String, g: &SyncGroupDump) {
    let _ = writeln!(o, " VRRP Sync Group = {}, {}", g.name, g.state.name());
    let _ = writeln!(
        o,
        "   Num member fault {}, num member init {}",
        g.member_faults, g.member_init
    );
    o.push_str("   VRRP member instances :\n");
    for m in &g.members {
        let _ = writeln!(o, "     {m}");
    }
    if g.tracking_weight {
        o.push_str("   sync group tracking weight set\n");
    }
    let _ = writeln!(o, "   Using smtp notification = {}", yes_no(g.smtp_alert));
    notify_lines(o, &g.notify);
}

fn render_script(o: &mut String, s: &ScriptDump) {
    let _ = writeln!(o, " VRRP Script = {}", s.name);
    let _ = writeln!(o, "   Command = {}", s.command);
    let _ = writeln!(o, "   Interval = {} sec", s.interval.as_secs());
    let _ = writeln!(
        o,
        "   Timeout = {} sec",
        s.timeout.unwrap_or(Duration::ZERO).as_secs()
    );
    let _ = writeln!(
        o,
        "   Weight = {}{}",
        s.weight,
        if s.reverse { " reverse" } else { "" }
    );
    let _ = writeln!(o, "   Rise = {}", s.rise);
    let _ = writeln!(o, "   Fall = {}", s.fall);
    let _ = writeln!(o, "   Result = {}", s.result);
    let _ = writeln!(o, "   Insecure = {}", yes_no(s.insecure));
    let (init, status) = match s.status {
        ScriptStatus::Init => ("INIT", "INIT"),
        ScriptStatus::InitFailed => ("INIT/FAILED", "INIT/FAILED"),
        ScriptStatus::Good => ("unknown", "GOOD"),
        ScriptStatus::Bad => ("unknown", "BAD"),
    };
    let _ = writeln!(o, "   Init state = {init}");
    let _ = writeln!(o, "   Status = {status}");
    let _ = writeln!(o, "   Script uid:gid = {}:{}", s.uid_gid.0, s.uid_gid.1);
    o.push_str("   VRRP instances :\n");
    o.push_str("   Tracking instances :\n");
    for t in &s.tracking {
        o.push_str(&tracking_line(t));
        o.push('\n');
    }
    let _ = writeln!(
        o,
        "   State = {}",
        if s.running { "running" } else { "idle" }
    );
}

fn render_interface(o: &mut String, i: &InterfaceDump) {
    let _ = writeln!(o, " Name = {}", i.name);
    let _ = writeln!(o, "   index = {}", i.index);
    let _ = writeln!(
        o,
        "   IPv4 address = {}",
        i.ipv4.map_or("(none)".into(), |a| a.to_string())
    );
    let _ = writeln!(
        o,
        "   IPv6 address = {}",
        i.ipv6.map_or("(none)".into(), |a| a.to_string())
    );
    if let Some(m) = i.mac {
        let mac = m
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect::<Vec<_>>()
            .join(":");
        let _ = writeln!(o, "   MAC = {mac}");
        o.push_str("   MAC broadcast = ff:ff:ff:ff:ff:ff\n");
    }
    let mut flags = vec![if i.up { "UP" } else { "DOWN" }];
    if i.running {
        flags.push("RUNNING");
    }
    if !i.broadcast {
        flags.push("no broadcast");
    }
    if i.loopback {
        flags.push("loopback");
    }
    if !i.multicast {
        flags.push("no multicast");
    }
    let _ = writeln!(o, "   State = {}", flags.join(", "));
    let _ = writeln!(o, "   Seen up = {}", u8::from(i.up));
    o.push_str("   Delayed state change running = false\n");
    o.push_str("   Up debounce timer = 0us\n");
    o.push_str("   Down debounce timer = 0us\n");
    let _ = writeln!(o, "   MTU = {}", i.mtu);
    let _ = writeln!(o, "   HW Type = {}", i.hw_type);
    o.push_str("   NIC netlink status update\n");
    o.push_str("   Reset ARP config counter 0\n");
    o.push_str("   Original arp_ignore 0\n");
    o.push_str("   Original arp_filter 0\n");
    o.push_str("   Original promote_secondaries 0\n");
    o.push_str("   Reset promote_secondaries counter 0\n");
    if !i.tracking.is_empty() {
        o.push_str("   Tracking VRRP instances :\n");
        for t in &i.tracking {
            o.push_str(&tracking_line(t));
            o.push('\n');
        }
    }
}

/// The `SIGUSR2` stats file (`keepalived.stats`): one `VRRP Instance: NAME` block per instance
/// with keepalived's 14 counters (see [`KeepalivedCounters`]).
pub fn render_stats(input: &DumpInput) -> String {
    let mut o = String::new();
    for i in &input.instances {
        let c = KeepalivedCounters::from(&i.stats);
        let _ = write!(
            o,
            "VRRP Instance: {}\n  Advertisements:\n    Received: {}\n    Sent: {}\n  \
             Became master: {}\n  Released master: {}\n  Packet Errors:\n    Length: {}\n    \
             TTL: {}\n    Invalid Type: {}\n    Advertisement Interval: {}\n    \
             Address List: {}\n  Authentication Errors:\n    Invalid Type: {}\n    \
             Type Mismatch: {}\n    Failure: {}\n  Priority Zero:\n    Received: {}\n    \
             Sent: {}\n",
            i.name,
            c.advert_rcvd,
            c.advert_sent,
            c.become_master,
            c.release_master,
            c.packet_len_err,
            c.ip_ttl_err,
            c.invalid_type_rcvd,
            c.advert_interval_err,
            c.addr_list_err,
            c.invalid_authtype,
            c.authtype_mismatch,
            c.auth_failure,
            c.pri_zero_rcvd,
            c.pri_zero_sent,
        );
    }
    o
}

/// A JSON string as keepalived's writer emits it (`/` escaped as `\/`, `'` not escaped).
fn json_str(o: &mut String, s: &str) {
    o.push('"');
    for c in s.chars() {
        match c {
            '"' => o.push_str("\\\""),
            '\\' => o.push_str("\\\\"),
            '/' => o.push_str("\\/"),
            '\n' => o.push_str("\\n"),
            '\r' => o.push_str("\\r"),
            '\t' => o.push_str("\\t"),
            '\u{8}' => o.push_str("\\b"),
            '\u{c}' => o.push_str("\\f"),
            c if (c as u32) < 0x20 => {
                let _ = write!(o, "\\u{:04x}", c as u32);
            }
            c => o.push(c),
        }
    }
    o.push('"');
}

/// A number as C's `%g` prints the values that occur here (seconds with ≤ 6 digits).
fn json_g(d: Duration) -> String {
    let v = d.as_secs_f64();
    if v.fract() == 0.0 {
        format!("{}", v as u64)
    } else {
        let s = format!("{v:.6}");
        s.trim_end_matches('0').to_string()
    }
}

struct JsonObj<'a> {
    o: &'a mut String,
    first: bool,
}

impl<'a> JsonObj<'a> {
    fn new(o: &'a mut String) -> Self {
        o.push('{');
        JsonObj { o, first: true }
    }
    fn key(&mut self, k: &str) {
        if !self.first {
            self.o.push(',');
        }
        self.first = false;
        json_str(self.o, k);
        self.o.push(':');
    }
    fn raw(&mut self, k: &str, v: impl std::fmt::Display) {
        self.key(k);
        let _ = write!(self.o, "{v}");
    }
    fn str(&mut self, k: &str, v: &str) {
        self.key(k);
        json_str(self.o, v);
    }
    fn arr(&mut self, k: &str, items: &[String]) {
        if items.is_empty() {
            return;
        }
        self.key(k);
        self.o.push('[');
        for (n, s) in items.iter().enumerate() {
            if n > 0 {
                self.o.push(',');
            }
            json_str(self.o, s);
        }
        self.o.push(']');
    }
    fn end(self) {
        self.o.push('}');
    }
}

/// The `SIGRTMIN+2` JSON file (`keepalived.json`): an array with one
/// `{"data":{…},"stats":{…}}` object per instance, keys in keepalived's order, on one line
/// ending with a newline (as 2.2.7 writes it). Empty string when there are no instances
/// (keepalived then writes no file).
pub fn render_json(input: &DumpInput) -> String {
    if input.instances.is_empty() {
        return String::new();
    }
    let mut o = String::from("[");
    for (n, i) in input.instances.iter().enumerate() {
        if n > 0 {
            o.push(',');
        }
        let mut top = JsonObj::new(&mut o);
        top.key("data");
        json_data(top.o, i, &input.scripts);
        top.key("stats");
        let mut s = JsonObj::new(top.o);
        for (k, v) in KeepalivedCounters::from(&i.stats).fields() {
            s.raw(k, v);
        }
        s.end();
        top.end();
    }
    o.push_str("]\n");
    o
}

fn json_data(o: &mut String, i: &InstanceDump, scripts: &[ScriptDump]) {
    let b = |v: bool| if v { "true" } else { "false" };
    let mut d = JsonObj::new(o);
    d.str("iname", &i.name);
    d.raw("dont_track_primary", u8::from(i.dont_track_primary));
    d.raw("skip_check_adv_addr", u8::from(i.skip_check_adv_addr));
    d.raw("strict_mode", u8::from(i.strict_mode));
    d.str("vmac_ifname", &i.vmac_ifname);
    if let Some(ifname) = &i.interface {
        d.str("ifp_ifname", ifname);
    }
    d.raw("master_priority", i.master_priority);
    d.raw(
        "last_transition",
        format_args!(
            "{}.{:06}",
            i.last_transition.as_secs(),
            i.last_transition.subsec_micros()
        ),
    );
    d.raw("garp_delay", i.garp_delay);
    d.raw("garp_refresh", i.garp_refresh);
    d.raw("garp_rep", i.garp_repeat);
    d.raw("garp_refresh_rep", i.garp_refresh_repeat);
    d.raw("garp_lower_prio_delay", i.garp_lower_prio_delay);
    d.raw("garp_lower_prio_rep", i.garp_lower_prio_repeat);
    d.raw("lower_prio_no_advert", u8::from(i.lower_prio_no_advert));
    d.raw(
        "higher_prio_send_advert",
        u8::from(i.higher_prio_send_advert),
    );
    d.raw("vrid", i.vrid);
    d.raw("base_priority", i.base_priority);
    d.raw("effective_priority", i.effective_priority);
    d.raw("vipset", b(i.vips_set));
    d.raw("promote_secondaries", b(i.promote_secondaries));
    d.raw("adver_int", json_g(i.advert_interval));
    d.raw("master_adver_int", json_g(i.master_advert_interval));
    d.raw("accept", u8::from(i.accept));
    d.raw("nopreempt", b(!i.preempt));
    d.raw("preempt_delay", i.preempt_delay.as_secs());
    d.raw("state", i.state.number());
    d.raw("wantstate", i.wanted_state.number());
    d.raw("version", i.version);
    d.raw("smtp_alert", b(i.smtp_alert));
    d.raw("notify_deleted", b(i.notify_deleted));
    for (_, key, cmd) in i.notify.labelled() {
        if let Some(c) = cmd {
            d.str(key, &c.command);
        }
    }
    let fmt = |v: &[VipDump]| v.iter().map(VipDump::format).collect::<Vec<_>>();
    d.arr("vips", &fmt(&i.vips));
    d.arr("evips", &fmt(&i.excluded_vips));
    d.arr("vroutes", &i.virtual_routes);
    d.arr("vrules", &i.virtual_rules);
    let ifps: Vec<String> = i
        .tracked_interfaces
        .iter()
        .map(|t| t.name.clone())
        .collect();
    d.arr("track_ifp", &ifps);
    // keepalived lists tracked scripts by their command, not their name.
    let cmds: Vec<String> = i
        .tracked_scripts
        .iter()
        .map(|t| {
            scripts
                .iter()
                .find(|s| s.name == t.name)
                .map_or_else(|| t.name.clone(), |s| s.command.clone())
        })
        .collect();
    d.arr("track_script", &cmds);
    match &i.auth {
        AuthDump::None => d.raw("auth_type", 0),
        AuthDump::Pass(p) => {
            d.raw("auth_type", 1);
            d.str("auth_data", p);
        }
        AuthDump::Ah(k) => {
            d.raw("auth_type", 2);
            d.str("auth_data", k);
        }
    }
    d.end();
}

/// Writes `contents` to `path` atomically: a temporary file in the same directory (mode 0600,
/// as keepalived's umask 0177 gives), flushed to disk, then renamed over `path`. Readers see
/// the old file or the new one, never a partial one.
pub fn write_atomic(path: &Path, contents: &str) -> io::Result<()> {
    use std::os::unix::fs::OpenOptionsExt;
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let name = path
        .file_name()
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "no file name"))?;
    let mut tmp_name = std::ffi::OsString::from(".");
    tmp_name.push(name);
    tmp_name.push(format!(".{}.tmp", std::process::id()));
    let tmp = dir.join(tmp_name);
    let result = (|| {
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(0o600)
            .open(&tmp)?;
        f.write_all(contents.as_bytes())?;
        f.sync_all()?;
        std::fs::rename(&tmp, path)
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}
