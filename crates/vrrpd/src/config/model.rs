//! The typed configuration model.
//!
//! The parser fills it in; [`super::resolve`] then applies keepalived's defaults and checks, after
//! which the fields documented as "`Some` after resolution" are always set. Times are integers
//! with their unit in the field name (`_us` microseconds, `_ms` milliseconds, `_cs` centiseconds,
//! `_secs` seconds). All types derive serde so the same model can be loaded from YAML.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use serde::{Deserialize, Serialize};
use vrrp_core::auth_hmac::{AntiReplay, HmacConfig, Key, Keyring, Mode, TimeWindow};

/// A whole configuration: everything the VRRP side of keepalived reads.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Config {
    /// The `global_defs` block (all occurrences merged).
    pub global_defs: GlobalDefs,
    /// `vrrp_script` blocks, in file order.
    pub vrrp_scripts: Vec<VrrpScript>,
    /// `vrrp_instance` blocks, in file order.
    pub vrrp_instances: Vec<VrrpInstance>,
    /// `vrrp_sync_group` blocks, in file order.
    pub vrrp_sync_groups: Vec<VrrpSyncGroup>,
    /// `track_file` (or `vrrp_track_file`) blocks.
    pub track_files: Vec<TrackFile>,
    /// `vrrp_track_process` blocks.
    pub track_processes: Vec<TrackProcess>,
    /// `garp_group` blocks.
    pub garp_groups: Vec<GarpGroup>,
    /// Addresses of `static_ipaddress` blocks.
    pub static_ipaddress: Vec<VirtualIp>,
    /// Lines of `static_routes` blocks, kept as text (`ip route` syntax).
    pub static_routes: Vec<String>,
    /// Lines of `static_rules` blocks, kept as text (`ip rule` syntax).
    pub static_rules: Vec<String>,
    /// `linkbeat_interfaces` block entries.
    pub linkbeat_interfaces: Vec<String>,
    /// `interface_up_down_delays` entries.
    pub interface_up_down_delays: Vec<InterfaceUpDownDelay>,
}

/// A user and optional group a script runs as.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunAs {
    /// User name.
    pub user: String,
    /// Group name (default: the user's primary group).
    pub group: Option<String>,
}

/// A command line to run (kept as written; keepalived splits it shell-style when running it).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScriptCommand {
    /// The command with its arguments.
    pub command: String,
    /// Who runs it (default: global `script_user`).
    pub run_as: Option<RunAs>,
}

/// `reload_file`'s file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReloadFile {
    /// The bare keyword: keepalived's default path.
    Default,
    /// This path.
    Path(String),
}

/// A FIFO for state notifications.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NotifyFifo {
    /// Path of the FIFO.
    pub path: String,
    /// Owner of the FIFO.
    pub run_as: Option<RunAs>,
}

/// `dynamic_interfaces [allow_if_changes]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct DynamicInterfaces {
    /// Whether an interface may change its index.
    pub allow_if_changes: bool,
}

/// `garp_extra_if [all] SECS`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct GarpExtraIf {
    /// Send on all VIP interfaces, not only VMAC ones.
    pub all: bool,
    /// Period in seconds.
    pub interval_secs: u32,
}

/// GARP/NA timing, global defaults copied into each instance.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct GarpSettings {
    /// Seconds after becoming master before the second GARP burst (0 = none). Default 5.
    pub master_delay_secs: u32,
    /// GARPs per burst. Default 5.
    pub master_repeat: u32,
    /// Seconds between periodic refreshes while master (0 = off; unset: vrrpd's default,
    /// [`vrrp_core::DEFAULT_REFRESH_INTERVAL`], where keepalived has none).
    pub master_refresh_secs: Option<u32>,
    /// GARPs per refresh. Default 1.
    pub master_refresh_repeat: u32,
    /// Delay of the second burst after hearing a lower priority advert (default: master_delay).
    pub lower_prio_delay_secs: Option<u32>,
    /// GARPs sent after hearing a lower priority advert (default: master_repeat).
    pub lower_prio_repeat: Option<u32>,
    /// `garp_extra_if`.
    pub extra_if: Option<GarpExtraIf>,
}

impl Default for GarpSettings {
    fn default() -> Self {
        Self {
            master_delay_secs: 5,
            master_repeat: 5,
            master_refresh_secs: None,
            master_refresh_repeat: 1,
            lower_prio_delay_secs: None,
            lower_prio_repeat: None,
            extra_if: None,
        }
    }
}

/// The VRRP part of `global_defs`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct GlobalDefs {
    /// `router_id`.
    pub router_id: Option<String>,
    /// `script_user USER [GROUP]`.
    pub script_user: Option<RunAs>,
    /// `enable_script_security`.
    pub enable_script_security: bool,
    /// `vrrp_version` (2 or 3). Default 2.
    pub vrrp_version: u8,
    /// `vrrp_strict`.
    pub vrrp_strict: bool,
    /// `vrrp_skip_check_adv_addr`.
    pub vrrp_skip_check_adv_addr: bool,
    /// `vrrp_check_unicast_src`.
    pub vrrp_check_unicast_src: bool,
    /// `vrrp_accept_unlisted_unicast_src` (vrrpd): the default of every instance's
    /// `accept_unlisted_unicast_src`.
    pub vrrp_accept_unlisted_unicast_src: bool,
    /// `v3_checksum_as_v2`.
    pub v3_checksum_as_v2: bool,
    /// `vrrp_mcast_group4`. Default 224.0.0.18.
    pub vrrp_mcast_group4: Ipv4Addr,
    /// `vrrp_mcast_group6`. Default ff02::12.
    pub vrrp_mcast_group6: Ipv6Addr,
    /// `vrrp_garp_*` defaults for instances.
    pub garp: GarpSettings,
    /// `vrrp_garp_interval` in µs (0 = no pacing).
    pub vrrp_garp_interval_us: u64,
    /// `vrrp_gna_interval` in µs (0 = no pacing).
    pub vrrp_gna_interval_us: u64,
    /// `vrrp_min_garp`.
    pub vrrp_min_garp: bool,
    /// `vrrp_lower_prio_no_advert`.
    pub vrrp_lower_prio_no_advert: bool,
    /// `vrrp_higher_prio_send_advert`.
    pub vrrp_higher_prio_send_advert: bool,
    /// `vrrp_owner_ignore_adverts`.
    pub vrrp_owner_ignore_adverts: bool,
    /// `vrrp_down_timer_adverts`. Default 3.
    pub vrrp_down_timer_adverts: u32,
    /// `notify_fifo`.
    pub notify_fifo: Option<NotifyFifo>,
    /// `notify_fifo_script`.
    pub notify_fifo_script: Option<ScriptCommand>,
    /// `vrrp_notify_fifo`.
    pub vrrp_notify_fifo: Option<NotifyFifo>,
    /// `vrrp_notify_fifo_script`.
    pub vrrp_notify_fifo_script: Option<ScriptCommand>,
    /// `vrrp_notify_priority_changes`.
    pub vrrp_notify_priority_changes: bool,
    /// `fifo_write_vrrp_states_on_reload`.
    pub fifo_write_vrrp_states_on_reload: bool,
    /// `vrrp_startup_delay` in µs.
    pub vrrp_startup_delay_us: u64,
    /// `vrrp_delay_after_boot` in µs: the instances start no earlier than this long after the
    /// system booted (the longer of this and `vrrp_startup_delay` applies).
    pub vrrp_delay_after_boot_us: Option<u64>,
    /// `max_auto_priority`: the highest SCHED_RR priority the process raises itself to when
    /// its event loop runs late (`None` or 0: never; -1: never, without the startup notice).
    pub max_auto_priority: Option<i32>,
    /// `min_auto_priority_delay` in µs: how late the event loop must be before the priority is
    /// raised. Default 1 s.
    pub min_auto_priority_delay_us: u32,
    /// `vrrp_priority`: the nice value of the process's threads (0: unchanged).
    pub vrrp_process_priority: i8,
    /// `vrrp_no_swap`: lock the process's memory (`mlockall`).
    pub vrrp_no_swap: bool,
    /// `vrrp_rt_priority`: SCHED_RR priority of the process's threads (0: not realtime).
    pub vrrp_realtime_priority: u8,
    /// `vrrp_cpu_affinity`: the CPUs the process's threads may run on (empty: unchanged).
    pub vrrp_cpu_affinity: Vec<usize>,
    /// `vrrp_rlimit_rttime` in µs: RLIMIT_RTTIME's hard limit (the soft limit is half) when
    /// realtime; 0: not set. Default 10000.
    pub vrrp_rlimit_rttime_us: u32,
    /// `dynamic_interfaces`.
    pub dynamic_interfaces: Option<DynamicInterfaces>,
    /// `default_interface`.
    pub default_interface: Option<String>,
    /// `vmac_prefix`.
    pub vmac_prefix: Option<String>,
    /// `log_unknown_vrids`.
    pub log_unknown_vrids: bool,
    /// `disable_local_igmp`.
    pub disable_local_igmp: bool,
    /// `startup_script`.
    pub startup_script: Option<ScriptCommand>,
    /// `shutdown_script`.
    pub shutdown_script: Option<ScriptCommand>,
    /// `startup_script_timeout` in seconds (1..1000); keepalived's default, 10, applies when
    /// unset.
    pub startup_script_timeout_secs: Option<u32>,
    /// `shutdown_script_timeout` in seconds (1..1000); default 10.
    pub shutdown_script_timeout_secs: Option<u32>,
    /// Where `startup_script` and `shutdown_script` were written, the startup script's first
    /// (for the script security check).
    #[serde(skip)]
    pub start_stop_script_origins: Vec<Origin>,
    /// `reload_file [PATH]`.
    pub reload_file: Option<ReloadFile>,
    /// `state_dump_file`.
    pub state_dump_file: Option<String>,
    /// `stats_dump_file`.
    pub stats_dump_file: Option<String>,
    /// `json_dump_file`.
    pub json_dump_file: Option<String>,
    /// `json_version` (1 or 2). Default 1.
    pub json_version: u8,
    /// `notification_email` addresses (accepted; e-mail is not sent by this implementation).
    pub notification_email: Vec<String>,
    /// `notification_email_from`.
    pub notification_email_from: Option<String>,
    /// `smtp_server`.
    pub smtp_server: Option<String>,
}

impl Default for GlobalDefs {
    fn default() -> Self {
        Self {
            router_id: None,
            script_user: None,
            enable_script_security: false,
            vrrp_version: 2,
            vrrp_strict: false,
            vrrp_skip_check_adv_addr: false,
            vrrp_check_unicast_src: false,
            vrrp_accept_unlisted_unicast_src: false,
            v3_checksum_as_v2: false,
            vrrp_mcast_group4: Ipv4Addr::new(224, 0, 0, 18),
            vrrp_mcast_group6: Ipv6Addr::new(0xff02, 0, 0, 0, 0, 0, 0, 0x12),
            garp: GarpSettings::default(),
            vrrp_garp_interval_us: 0,
            vrrp_gna_interval_us: 0,
            vrrp_min_garp: false,
            vrrp_lower_prio_no_advert: false,
            vrrp_higher_prio_send_advert: false,
            vrrp_owner_ignore_adverts: false,
            vrrp_down_timer_adverts: 3,
            notify_fifo: None,
            notify_fifo_script: None,
            vrrp_notify_fifo: None,
            vrrp_notify_fifo_script: None,
            vrrp_notify_priority_changes: false,
            fifo_write_vrrp_states_on_reload: false,
            vrrp_startup_delay_us: 0,
            vrrp_delay_after_boot_us: None,
            max_auto_priority: None,
            min_auto_priority_delay_us: 1_000_000,
            vrrp_process_priority: 0,
            vrrp_no_swap: false,
            vrrp_realtime_priority: 0,
            vrrp_cpu_affinity: Vec::new(),
            vrrp_rlimit_rttime_us: 10_000,
            dynamic_interfaces: None,
            default_interface: None,
            vmac_prefix: None,
            log_unknown_vrids: false,
            disable_local_igmp: false,
            startup_script: None,
            shutdown_script: None,
            startup_script_timeout_secs: None,
            shutdown_script_timeout_secs: None,
            start_stop_script_origins: Vec::new(),
            reload_file: None,
            state_dump_file: None,
            stats_dump_file: None,
            json_dump_file: None,
            json_version: 1,
            notification_email: Vec::new(),
            notification_email_from: None,
            smtp_server: None,
        }
    }
}

/// Where a block was defined (for diagnostics after parsing; not serialized).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Origin(pub super::diag::Span);

/// A `vrrp_script` block.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct VrrpScript {
    /// Block name.
    pub name: String,
    /// The command line (unset: the script is removed with a warning).
    pub script: Option<String>,
    /// `interval` in ms. Default 1000.
    pub interval_ms: u64,
    /// `timeout` in ms (default: the interval).
    pub timeout_ms: Option<u64>,
    /// `weight`, -253..253. Default 0.
    pub weight: i32,
    /// `weight N reverse`.
    pub weight_reverse: bool,
    /// `rise`. Default 1.
    pub rise: u32,
    /// `fall`. Default 1.
    pub fall: u32,
    /// `user USER [GROUP]`.
    pub run_as: Option<RunAs>,
    /// `init_fail`.
    pub init_fail: bool,
    /// Where the block starts.
    #[serde(skip)]
    pub origin: Origin,
}

impl Default for VrrpScript {
    fn default() -> Self {
        Self {
            name: String::new(),
            script: None,
            interval_ms: 1000,
            timeout_ms: None,
            weight: 0,
            weight_reverse: false,
            rise: 1,
            fall: 1,
            run_as: None,
            init_fail: false,
            origin: Origin::default(),
        }
    }
}

/// `state` keyword values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum InitialState {
    /// `MASTER`.
    Master,
    /// `BACKUP`.
    Backup,
}

/// Address family of an instance.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Family {
    /// IPv4.
    Ipv4,
    /// IPv6.
    Ipv6,
}

impl Family {
    /// The family of an address.
    pub fn of(addr: &IpAddr) -> Self {
        if addr.is_ipv4() {
            Family::Ipv4
        } else {
            Family::Ipv6
        }
    }
}

/// `brd` argument of an address.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Broadcast {
    /// An explicit broadcast address.
    Address(Ipv4Addr),
    /// `+`: host bits set.
    Plus,
    /// `-`: host bits clear.
    Minus,
}

/// `preferred_lft` argument.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PreferredLifetime {
    /// `forever`.
    Forever,
    /// Seconds.
    Seconds(u32),
}

/// One line of `virtual_ipaddress`, `virtual_ipaddress_excluded` or `static_ipaddress`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VirtualIp {
    /// The address.
    pub address: IpAddr,
    /// Prefix length (default /32 or /128).
    pub prefix_len: u8,
    /// `brd`.
    pub broadcast: Option<Broadcast>,
    /// `dev` (default: the instance's interface or VMAC).
    pub dev: Option<String>,
    /// `scope` (site, link, host, nowhere, global or a number).
    pub scope: Option<String>,
    /// `label`.
    pub label: Option<String>,
    /// `peer ADDR`.
    pub peer: Option<IpAddr>,
    /// `home`.
    pub home: bool,
    /// `-nodad`.
    pub nodad: bool,
    /// `mngtmpaddr`.
    pub mngtmpaddr: bool,
    /// `noprefixroute`.
    pub noprefixroute: bool,
    /// `autojoin`.
    pub autojoin: bool,
    /// `no_track`.
    pub no_track: bool,
    /// `preferred_lft`.
    pub preferred_lft: Option<PreferredLifetime>,
    /// `use_vmac`.
    pub use_vmac: bool,
}

impl VirtualIp {
    /// An address with its default prefix length and no options.
    pub fn new(address: IpAddr) -> Self {
        Self {
            address,
            prefix_len: if address.is_ipv4() { 32 } else { 128 },
            broadcast: None,
            dev: None,
            scope: None,
            label: None,
            peer: None,
            home: false,
            nodad: false,
            mngtmpaddr: false,
            noprefixroute: false,
            autojoin: false,
            no_track: false,
            preferred_lft: None,
            use_vmac: false,
        }
    }
}

/// `unicast_peer` entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UnicastPeer {
    /// Peer address.
    pub address: IpAddr,
    /// `min_ttl`.
    pub min_ttl: Option<u8>,
    /// `max_ttl`.
    pub max_ttl: Option<u8>,
}

/// An entry of `track_interface`, `track_script`, `track_file`, `track_process` or `track_bfd`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TrackRef {
    /// Interface or tracker name.
    pub name: String,
    /// `weight N` (unset: the tracker's own weight, or 0 for interfaces).
    pub weight: Option<i32>,
    /// `reverse` (Some(false) for an explicit `noreverse`).
    pub reverse: Option<bool>,
}

/// `authentication` block.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Authentication {
    /// `auth_type`.
    pub auth_type: AuthType,
    /// `auth_pass`, truncated to 8 bytes.
    pub auth_pass: Option<String>,
}

/// `auth_hmac` block: keepalived 2.4.3's HMAC-SHA256 advert authentication
/// ([`vrrp_core::auth_hmac`]). Parsed and checked like keepalived; vrrpd refuses a
/// configuration that has one until its routers act on it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct AuthHmac {
    /// `key ID VALUE` lines, in order (ids distinct).
    pub keys: Vec<AuthHmacKey>,
    /// `active_key ID`: the key adverts are signed with (an instance without one is an error).
    pub active_key: Option<u8>,
    /// `anti_replay time|monotonic`. Default time.
    pub anti_replay: AntiReplay,
    /// `time_window` 1..300 seconds. With `anti_replay time`, `Some` after resolution: when not
    /// set, max(3 x advert_int in whole seconds, 5), at most 300.
    pub time_window_secs: Option<u16>,
    /// `mode enforce|permissive|receive-only`. Default enforce; strict mode forces enforce.
    pub mode: Mode,
    /// Where the block starts.
    #[serde(skip)]
    pub origin: Origin,
}

impl AuthHmac {
    /// The protocol engine's settings: `None` when a secret is missing (a model read from
    /// YAML, which never holds secrets), the keys do not form a keyring with the active key,
    /// or the window is unset or out of range.
    pub fn hmac_config(&self) -> Option<HmacConfig> {
        let keys = self
            .keys
            .iter()
            .map(|k| k.secret.clone())
            .collect::<Option<Vec<_>>>()?;
        Some(HmacConfig {
            keyring: Keyring::new(keys, self.active_key?).ok()?,
            mode: self.mode,
            anti_replay: self.anti_replay,
            time_window: TimeWindow::new(self.time_window_secs?)?,
        })
    }
}

/// One `key ID VALUE` of an `auth_hmac` block. The secret is never serialized: the YAML form
/// says where it came from, not what it is.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuthHmacKey {
    /// Key id, 1..255.
    pub id: u8,
    /// How the value was given.
    pub source: KeySource,
    /// The secret (32..64 bytes, wiped on drop; `None` in a model read from YAML).
    #[serde(skip)]
    pub secret: Option<Key>,
}

/// How an `auth_hmac` key value was given.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum KeySource {
    /// `hex:...` in the configuration.
    Hex,
    /// An ASCII string in the configuration.
    Ascii,
    /// `file:PATH` (the file holds `hex:...` or an ASCII string).
    File(String),
}

/// `auth_type` values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum AuthType {
    /// Simple text password.
    Pass,
    /// IPSEC AH.
    Ah,
}

/// `use_vmac [NAME] [MAC] ...`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct UseVmac {
    /// Interface name for the macvlan (default vrrp.VRID).
    pub name: Option<String>,
    /// Explicit MAC address.
    pub mac: Option<String>,
    /// `netlink_notify_msg`.
    pub netlink_notify_msg: bool,
    /// `group G`.
    pub group: Option<u32>,
}

/// The notify scripts of an instance or sync group.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct NotifyScripts {
    /// `notify_master`.
    pub master: Option<ScriptCommand>,
    /// `notify_backup`.
    pub backup: Option<ScriptCommand>,
    /// `notify_fault`.
    pub fault: Option<ScriptCommand>,
    /// `notify_stop`.
    pub stop: Option<ScriptCommand>,
    /// `notify_deleted` (instances only; the script is optional).
    pub deleted: Option<ScriptCommand>,
    /// `notify`: called with 4 extra arguments on every state change.
    pub notify: Option<ScriptCommand>,
    /// `notify_master_rx_lower_pri`.
    pub master_rx_lower_pri: Option<ScriptCommand>,
}

impl NotifyScripts {
    /// No script at all (the default).
    pub const NONE: NotifyScripts = NotifyScripts {
        master: None,
        backup: None,
        fault: None,
        stop: None,
        deleted: None,
        notify: None,
        master_rx_lower_pri: None,
    };

    /// All configured scripts.
    pub fn iter(&self) -> impl Iterator<Item = &ScriptCommand> {
        [
            &self.master,
            &self.backup,
            &self.fault,
            &self.stop,
            &self.deleted,
            &self.notify,
            &self.master_rx_lower_pri,
        ]
        .into_iter()
        .flatten()
    }
}

/// A `vrrp_instance` block.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct VrrpInstance {
    /// Block name.
    pub name: String,
    /// `state` (`Some` after resolution).
    pub state: Option<InitialState>,
    /// `interface`.
    pub interface: Option<String>,
    /// `virtual_router_id` (an instance without one is an error).
    pub virtual_router_id: Option<u8>,
    /// `priority` (`Some` after resolution).
    pub priority: Option<u8>,
    /// `advert_int` as configured, in µs. Default 1 s.
    pub advert_int_us: u64,
    /// The advertisement interval actually used, in centiseconds (`Some` after resolution;
    /// a multiple of 100 for VRRPv2).
    pub advert_int_cs: Option<u16>,
    /// `nopreempt`.
    pub nopreempt: bool,
    /// `preempt_delay` in ms.
    pub preempt_delay_ms: u64,
    /// `version` (`Some` after resolution).
    pub version: Option<u8>,
    /// Address family (`Some` after resolution).
    pub family: Option<Family>,
    /// `native_ipv6`.
    pub native_ipv6: bool,
    /// `vrf` (accepted; not supported).
    pub vrf: Option<String>,
    /// `debug` level.
    pub debug: u8,
    /// `virtual_ipaddress`.
    pub virtual_ipaddress: Vec<VirtualIp>,
    /// `virtual_ipaddress_excluded`.
    pub virtual_ipaddress_excluded: Vec<VirtualIp>,
    /// `no_virtual_ipaddress`.
    pub no_virtual_ipaddress: bool,
    /// `virtual_routes` lines, as text.
    pub virtual_routes: Vec<String>,
    /// `virtual_rules` lines, as text.
    pub virtual_rules: Vec<String>,
    /// `promote_secondaries`.
    pub promote_secondaries: bool,
    /// `track_interface`.
    pub track_interface: Vec<TrackRef>,
    /// `track_script` (weights inherited from the scripts after resolution).
    pub track_script: Vec<TrackRef>,
    /// `track_file`.
    pub track_file: Vec<TrackRef>,
    /// `track_process`.
    pub track_process: Vec<TrackRef>,
    /// `track_bfd`.
    pub track_bfd: Vec<TrackRef>,
    /// `dont_track_primary`.
    pub dont_track_primary: bool,
    /// `track_src_ip`.
    pub track_src_ip: bool,
    /// `mcast_src_ip`.
    pub mcast_src_ip: Option<IpAddr>,
    /// `unicast_src_ip`.
    pub unicast_src_ip: Option<IpAddr>,
    /// `unicast_peer`.
    pub unicast_peers: Vec<UnicastPeer>,
    /// `unicast_fault_no_peer`.
    pub unicast_fault_no_peer: bool,
    /// `unicast_ttl`.
    pub unicast_ttl: Option<u8>,
    /// `check_unicast_src` (or the global default).
    pub check_unicast_src: bool,
    /// `accept_unlisted_unicast_src` (vrrpd, or the global default): accept unicast adverts
    /// from sources that are not listed in `unicast_peer`, as keepalived does without
    /// `check_unicast_src`. Off: vrrpd drops them.
    pub accept_unlisted_unicast_src: bool,
    /// `old_unicast_checksum`: Some(true) forced, Some(false) `never`.
    pub old_unicast_checksum: Option<bool>,
    /// `v3_checksum_as_v2` (or the global default).
    pub v3_checksum_as_v2: bool,
    /// `mcast_dst_ip`.
    pub mcast_dst_ip: Option<IpAddr>,
    /// `kernel_rx_buf_size`.
    pub kernel_rx_buf_size: Option<u64>,
    /// `use_vmac`.
    pub use_vmac: Option<UseVmac>,
    /// `vmac_xmit_base`.
    pub vmac_xmit_base: bool,
    /// `use_ipvlan` arguments.
    pub use_ipvlan: Option<Vec<String>>,
    /// `accept` / `no_accept` (`None`: default; `Some` after resolution).
    pub accept: Option<bool>,
    /// `strict_mode` (or the global `vrrp_strict`).
    pub strict_mode: bool,
    /// `skip_check_adv_addr` (or the global default).
    pub skip_check_adv_addr: bool,
    /// Notify scripts.
    pub notify: NotifyScripts,
    /// `notify_priority_changes`; unset, the sync group's, else the global
    /// `vrrp_notify_priority_changes` (keepalived's rule; the resolved value is always set).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub notify_priority_changes: Option<bool>,
    /// `smtp_alert`.
    pub smtp_alert: bool,
    /// GARP settings (global defaults copied at the start of the block, then overridden).
    pub garp: GarpSettings,
    /// `down_timer_adverts` 1..100. Default 3.
    pub down_timer_adverts: u32,
    /// `timer_expired_backup [PRIO]`. In YAML: absent = not set, `null` = set without a
    /// priority, a number = set with that priority.
    #[serde(
        skip_serializing_if = "Option::is_none",
        deserialize_with = "present_option"
    )]
    pub timer_expired_backup: Option<Option<u8>>,
    /// `lower_prio_no_advert` (or the global default).
    pub lower_prio_no_advert: bool,
    /// `higher_prio_send_advert` (or the global default).
    pub higher_prio_send_advert: bool,
    /// `owner_ignore_adverts` (or the global default).
    pub owner_ignore_adverts: bool,
    /// `authentication`.
    pub authentication: Option<Authentication>,
    /// `auth_hmac` (keepalived 2.4.3).
    pub auth_hmac: Option<AuthHmac>,
    /// The sync group the instance belongs to (set during resolution).
    pub sync_group: Option<String>,
    /// Where the block starts.
    #[serde(skip)]
    pub origin: Origin,
}

impl Default for VrrpInstance {
    fn default() -> Self {
        Self {
            name: String::new(),
            state: None,
            interface: None,
            virtual_router_id: None,
            priority: None,
            advert_int_us: 1_000_000,
            advert_int_cs: None,
            nopreempt: false,
            preempt_delay_ms: 0,
            version: None,
            family: None,
            native_ipv6: false,
            vrf: None,
            debug: 0,
            virtual_ipaddress: Vec::new(),
            virtual_ipaddress_excluded: Vec::new(),
            no_virtual_ipaddress: false,
            virtual_routes: Vec::new(),
            virtual_rules: Vec::new(),
            promote_secondaries: false,
            track_interface: Vec::new(),
            track_script: Vec::new(),
            track_file: Vec::new(),
            track_process: Vec::new(),
            track_bfd: Vec::new(),
            dont_track_primary: false,
            track_src_ip: false,
            mcast_src_ip: None,
            unicast_src_ip: None,
            unicast_peers: Vec::new(),
            unicast_fault_no_peer: false,
            unicast_ttl: None,
            check_unicast_src: false,
            accept_unlisted_unicast_src: false,
            old_unicast_checksum: None,
            v3_checksum_as_v2: false,
            mcast_dst_ip: None,
            kernel_rx_buf_size: None,
            use_vmac: None,
            vmac_xmit_base: false,
            use_ipvlan: None,
            accept: None,
            strict_mode: false,
            skip_check_adv_addr: false,
            notify: NotifyScripts::default(),
            notify_priority_changes: None,
            smtp_alert: false,
            garp: GarpSettings::default(),
            down_timer_adverts: 3,
            timer_expired_backup: None,
            lower_prio_no_advert: false,
            higher_prio_send_advert: false,
            owner_ignore_adverts: false,
            authentication: None,
            auth_hmac: None,
            sync_group: None,
            origin: Origin::default(),
        }
    }
}

/// Deserializes an `Option<Option<T>>` field so that a present `null` is `Some(None)` (serde
/// reads it as `None` otherwise); with the struct's `#[serde(default)]`, an absent field is
/// `None`.
fn present_option<'de, D, T>(deserializer: D) -> Result<Option<Option<T>>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: Deserialize<'de>,
{
    Option::<T>::deserialize(deserializer).map(Some)
}

/// A `vrrp_sync_group` block.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct VrrpSyncGroup {
    /// Block name.
    pub name: String,
    /// Member instance names.
    pub group: Vec<String>,
    /// `track_interface`.
    pub track_interface: Vec<TrackRef>,
    /// `track_script`.
    pub track_script: Vec<TrackRef>,
    /// `track_file`.
    pub track_file: Vec<TrackRef>,
    /// `track_process`.
    pub track_process: Vec<TrackRef>,
    /// `track_bfd`.
    pub track_bfd: Vec<TrackRef>,
    /// Notify scripts.
    pub notify: NotifyScripts,
    /// `smtp_alert`.
    pub smtp_alert: bool,
    /// `notify_priority_changes`: the default of its members that do not set it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub notify_priority_changes: Option<bool>,
    /// `sync_group_tracking_weight`.
    pub sync_group_tracking_weight: bool,
    /// Where the block starts.
    #[serde(skip)]
    pub origin: Origin,
}

/// A `track_file` block.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct TrackFile {
    /// Block name.
    pub name: String,
    /// `file`.
    pub file: Option<String>,
    /// `weight` (default 1).
    pub weight: Option<i32>,
    /// `weight N reverse`.
    pub reverse: bool,
    /// `init_file [VALUE] [overwrite]`: (value, overwrite).
    pub init_file: Option<(i64, bool)>,
}

/// A `vrrp_track_process` block.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct TrackProcess {
    /// Block name.
    pub name: String,
    /// `process NAME [ARGS...]`.
    pub process: Vec<String>,
    /// `param_match [initial|partial]`.
    pub param_match: Option<String>,
    /// `weight`.
    pub weight: i32,
    /// `weight N reverse`.
    pub reverse: bool,
    /// `quorum` (default 1).
    pub quorum: Option<u32>,
    /// `quorum_max`.
    pub quorum_max: Option<u32>,
    /// `delay` in µs (sets both delays below, as keepalived: the last of the three written wins
    /// for each).
    pub delay_us: Option<u64>,
    /// `terminate_delay` in µs: how long the count must stay out of the quorum before Down
    /// is reported (default: `delay`, else 0).
    pub terminate_delay_us: Option<u64>,
    /// `fork_delay` in µs: how long the count must stay within the quorum before Up is
    /// reported (default: `delay`, else 0).
    pub fork_delay_us: Option<u64>,
    /// `full_command`.
    pub full_command: bool,
}

/// A `garp_group` block.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct GarpGroup {
    /// `garp_interval` in µs.
    pub garp_interval_us: u64,
    /// `gna_interval` in µs.
    pub gna_interval_us: u64,
    /// `interface` / `interfaces {}`.
    pub interfaces: Vec<String>,
}

/// `interface_up_down_delays` entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InterfaceUpDownDelay {
    /// Interface name.
    pub interface: String,
    /// Seconds to wait before believing the interface went down.
    pub down_secs: u32,
    /// Seconds to wait before believing the interface came up.
    pub up_secs: u32,
}
