//! The keyword tables the parser dispatches from, one per block kind.
//!
//! Each entry names a keyword, its argument syntax, a one-line description and whether vrrpd
//! implements it or accepts and ignores it. [`render_markdown`] turns the tables into the
//! configuration reference.

use super::auth_hmac;
use super::model::{
    AuthHmac, AuthType, Authentication, Config, DynamicInterfaces, GarpExtraIf, GarpGroup,
    GlobalDefs, InitialState, InterfaceUpDownDelay, NotifyFifo, TrackFile, TrackProcess, UseVmac,
    VrrpInstance, VrrpScript, VrrpSyncGroup,
};
use super::parse;
use super::tree::Node;
use super::values::{truncate_bytes, Ctx, MAX_TRACK_WEIGHT};

/// Whether vrrpd acts on a keyword.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    /// Parsed into the model and implemented.
    Supported,
    /// Parsed (so configurations keep working) but has no effect in vrrpd.
    Ignored,
    /// A block of another keepalived subsystem, skipped with one warning.
    Skipped,
    /// Parsed and checked, then refused with an error: a setting vrrpd does not act on yet and
    /// must not ignore (a security setting).
    Refused,
}

impl Status {
    fn label(self) -> &'static str {
        match self {
            Status::Supported => "supported",
            Status::Ignored => "accepted, ignored",
            Status::Skipped => "skipped with a warning",
            Status::Refused => "checked, then refused (not acted on yet)",
        }
    }
}

/// A keyword handler: interprets one line (and its block) into the target.
pub type Apply<T> = fn(&mut Ctx<'_>, &mut T, &Node);

/// One entry of a keyword table.
pub struct Keyword<T: 'static> {
    /// The keyword as written in the configuration (case-sensitive).
    pub name: &'static str,
    /// Argument syntax.
    pub args: &'static str,
    /// What the keyword does.
    pub description: &'static str,
    /// Whether vrrpd implements it.
    pub status: Status,
    /// The handler.
    pub apply: Apply<T>,
}

/// A keyword table entry without its handler, for documentation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KeywordInfo {
    /// The block the keyword belongs to (`top level`, `global_defs`, ...).
    pub block: &'static str,
    /// The keyword.
    pub name: &'static str,
    /// Argument syntax.
    pub args: &'static str,
    /// What it does.
    pub description: &'static str,
    /// Whether vrrpd implements it.
    pub status: Status,
}

macro_rules! kw {
    ($name:literal, $args:literal, $desc:literal, $apply:expr) => {
        Keyword {
            name: $name,
            args: $args,
            description: $desc,
            status: Status::Supported,
            apply: $apply,
        }
    };
}

macro_rules! ignored {
    ($name:literal, $args:literal, $desc:literal) => {
        Keyword {
            name: $name,
            args: $args,
            description: $desc,
            status: Status::Ignored,
            apply: |_, _, _| {},
        }
    };
}

macro_rules! refused {
    ($name:literal, $args:literal, $desc:literal, $apply:expr) => {
        Keyword {
            name: $name,
            args: $args,
            description: $desc,
            status: Status::Refused,
            apply: $apply,
        }
    };
}

macro_rules! skipped {
    ($name:literal, $args:literal, $desc:literal) => {
        Keyword {
            name: $name,
            args: $args,
            description: $desc,
            status: Status::Skipped,
            apply: parse::skip_block,
        }
    };
}

/// Top-level keywords.
pub static TOP_LEVEL: &[Keyword<Config>] = &[
    kw!(
        "global_defs",
        "{ ... }",
        "Global settings; must come before the instances it should affect.",
        |c, cfg, n| {
            parse::dispatch(
                c,
                GLOBAL_DEFS,
                "global_defs",
                &mut cfg.global_defs,
                n.children(),
            )
        }
    ),
    kw!(
        "vrrp_script",
        "NAME { ... }",
        "A health-check script that instances can track.",
        parse::vrrp_script
    ),
    kw!(
        "vrrp_instance",
        "NAME { ... }",
        "A VRRP virtual router instance.",
        parse::vrrp_instance
    ),
    kw!(
        "vrrp_sync_group",
        "NAME { ... }",
        "Instances that change state together.",
        parse::vrrp_sync_group
    ),
    kw!(
        "track_file",
        "NAME { ... }",
        "A file whose numeric content adjusts priority.",
        parse::track_file
    ),
    kw!(
        "vrrp_track_file",
        "NAME { ... }",
        "Deprecated alias of track_file.",
        parse::track_file
    ),
    kw!(
        "vrrp_track_process",
        "NAME { ... }",
        "A process whose presence is tracked.",
        parse::track_process
    ),
    kw!(
        "garp_group",
        "{ ... }",
        "Gratuitous ARP/NA pacing shared by a set of interfaces.",
        parse::garp_group
    ),
    kw!(
        "static_ipaddress",
        "{ ADDR ... }",
        "Addresses configured at startup, independent of VRRP state.",
        |c, cfg, n| {
            cfg.static_ipaddress
                .extend(n.children().iter().filter_map(|e| c.virtual_ip(e)))
        }
    ),
    kw!(
        "static_routes",
        "{ ROUTE ... }",
        "Routes configured at startup (ip route syntax, kept as text).",
        |_, cfg, n| {
            cfg.static_routes
                .extend(n.children().iter().map(parse::line_text))
        }
    ),
    kw!(
        "static_rules",
        "{ RULE ... }",
        "Policy rules configured at startup (ip rule syntax, kept as text).",
        |_, cfg, n| {
            cfg.static_rules
                .extend(n.children().iter().map(parse::line_text))
        }
    ),
    kw!(
        "linkbeat_interfaces",
        "{ IF ... }",
        "Interfaces whose link state is polled.",
        |_, cfg, n| {
            cfg.linkbeat_interfaces
                .extend(n.children().iter().map(|e| e.keyword().text.clone()))
        }
    ),
    kw!(
        "interface_up_down_delays",
        "{ IF DOWN [UP] ... }",
        "Debounce delays for interface state changes.",
        |c, cfg, n| {
            cfg.interface_up_down_delays
                .extend(n.children().iter().filter_map(|e| up_down_delay(c, e)))
        }
    ),
    ignored!(
        "track_group",
        "NAME { ... }",
        "Groups of tracked objects (not supported)."
    ),
    ignored!(
        "net_namespace",
        "NAME",
        "Run in a network namespace (use the service manager instead)."
    ),
    ignored!("net_namespace_ipvs", "NAME", "LVS namespace."),
    ignored!("namespace_with_ipsets", "", "Use ipsets in the namespace."),
    ignored!(
        "instance",
        "NAME",
        "Instance name used in pid and file names."
    ),
    ignored!("use_pid_dir", "", "Put pid files in /run/keepalived."),
    ignored!(
        "child_wait_time",
        "SECS",
        "How long the parent waits for children."
    ),
    ignored!(
        "linkbeat_use_polling",
        "",
        "Poll link state instead of netlink."
    ),
    skipped!(
        "virtual_server",
        "ADDR PORT { ... }",
        "LVS virtual server (not part of vrrpd)."
    ),
    skipped!(
        "virtual_server_group",
        "NAME { ... }",
        "LVS virtual server group (not part of vrrpd)."
    ),
    skipped!(
        "real_server",
        "ADDR PORT { ... }",
        "LVS real server (not part of vrrpd)."
    ),
    skipped!(
        "bfd_instance",
        "NAME { ... }",
        "BFD session (not part of vrrpd)."
    ),
    skipped!(
        "SSL",
        "{ ... }",
        "LVS checker TLS settings (not part of vrrpd)."
    ),
];

/// `global_defs` keywords.
pub static GLOBAL_DEFS: &[Keyword<GlobalDefs>] = &[
    kw!(
        "router_id",
        "NAME",
        "Name of this node in notifications.",
        |c, g, n| g.router_id = c.string(n, "a name")
    ),
    kw!(
        "script_user",
        "USER [GROUP]",
        "Default user (and group) that runs scripts.",
        |c, g, n| {
            if c.arg(n, "USER [GROUP]").is_some() {
                g.script_user = c.run_as(n.args());
            }
        }
    ),
    kw!(
        "enable_script_security",
        "",
        "Refuse to run scripts that a non-root user could modify.",
        |_, g, _| g.enable_script_security = true
    ),
    kw!(
        "vrrp_version",
        "2|3",
        "Default VRRP version of IPv4 instances.",
        |c, g, n| {
            if let Some(v) = c.int_in(n, 2, 3) {
                g.vrrp_version = v as u8;
            }
        }
    ),
    kw!(
        "vrrp_strict",
        "[BOOL]",
        "Strict RFC compliance for all instances.",
        |c, g, n| g.vrrp_strict = c.flag(n)
    ),
    kw!(
        "vrrp_skip_check_adv_addr",
        "[BOOL]",
        "Do not check the addresses of adverts from the current master.",
        |c, g, n| { g.vrrp_skip_check_adv_addr = c.flag(n) }
    ),
    kw!(
        "vrrp_check_unicast_src",
        "[BOOL]",
        "Accept unicast adverts only from configured peers.",
        |c, g, n| g.vrrp_check_unicast_src = c.flag(n)
    ),
    kw!(
        "v3_checksum_as_v2",
        "[BOOL]",
        "Compute VRRPv3 IPv4 checksums without the pseudo-header.",
        |_, g, _| g.v3_checksum_as_v2 = true
    ),
    kw!(
        "vrrp_mcast_group4",
        "ADDR",
        "IPv4 multicast group for adverts.",
        |c, g, n| {
            if let Some(std::net::IpAddr::V4(a)) = c.ip(n) {
                g.vrrp_mcast_group4 = a;
            }
        }
    ),
    kw!(
        "vrrp_mcast_group6",
        "ADDR",
        "IPv6 multicast group for adverts.",
        |c, g, n| {
            if let Some(std::net::IpAddr::V6(a)) = c.ip(n) {
                g.vrrp_mcast_group6 = a;
            }
        }
    ),
    kw!(
        "vrrp_garp_master_delay",
        "SECS",
        "Delay of the second GARP burst after becoming master.",
        |c, g, n| { set(&mut g.garp.master_delay_secs, c.u32_in(n, 0, 86400)) }
    ),
    kw!(
        "vrrp_garp_master_repeat",
        "N",
        "GARPs per burst when becoming master.",
        |c, g, n| set(&mut g.garp.master_repeat, c.u32_in(n, 1, 255))
    ),
    kw!(
        "vrrp_garp_master_refresh",
        "SECS",
        "Period of GARP refreshes while master (0 = off).",
        |c, g, n| { set(&mut g.garp.master_refresh_secs, c.u32_in(n, 0, 86400)) }
    ),
    kw!(
        "vrrp_garp_master_refresh_repeat",
        "N",
        "GARPs per refresh.",
        |c, g, n| set(&mut g.garp.master_refresh_repeat, c.u32_in(n, 1, 255))
    ),
    kw!(
        "vrrp_garp_lower_prio_delay",
        "SECS",
        "Delay of the second GARP burst after a lower priority advert.",
        |c, g, n| {
            g.garp.lower_prio_delay_secs = c.u32_in(n, 0, 86400).or(g.garp.lower_prio_delay_secs)
        }
    ),
    kw!(
        "vrrp_garp_lower_prio_repeat",
        "N",
        "GARPs sent when a lower priority advert is heard.",
        |c, g, n| { g.garp.lower_prio_repeat = c.u32_in(n, 0, 255).or(g.garp.lower_prio_repeat) }
    ),
    kw!(
        "vrrp_garp_interval",
        "SECS",
        "Minimum gap between GARPs on one interface.",
        |c, g, n| {
            set(
                &mut g.vrrp_garp_interval_us,
                c.seconds_us(n, 1, 4_294_967_295),
            )
        }
    ),
    kw!(
        "vrrp_gna_interval",
        "SECS",
        "Minimum gap between unsolicited NAs on one interface.",
        |c, g, n| {
            set(
                &mut g.vrrp_gna_interval_us,
                c.seconds_us(n, 1, 4_294_967_295),
            )
        }
    ),
    kw!(
        "vrrp_min_garp",
        "[BOOL]",
        "Send one GARP on becoming master, no delayed burst or refresh.",
        |c, g, n| g.vrrp_min_garp = c.flag(n)
    ),
    kw!(
        "vrrp_garp_extra_if",
        "[all] SECS",
        "Periodic GARP on VIP interfaces other than the advert one.",
        |c, g, n| { g.garp.extra_if = garp_extra_if(c, n).or(g.garp.extra_if) }
    ),
    kw!(
        "vrrp_vmac_garp_intvl",
        "[all] SECS",
        "Alias of vrrp_garp_extra_if.",
        |c, g, n| g.garp.extra_if = garp_extra_if(c, n).or(g.garp.extra_if)
    ),
    kw!(
        "vrrp_lower_prio_no_advert",
        "[BOOL]",
        "As master, do not answer a lower priority advert.",
        |c, g, n| { g.vrrp_lower_prio_no_advert = c.flag(n) }
    ),
    kw!(
        "vrrp_higher_prio_send_advert",
        "[BOOL]",
        "As master, send one advert before yielding to a higher priority.",
        |c, g, n| { g.vrrp_higher_prio_send_advert = c.flag(n) }
    ),
    kw!(
        "vrrp_owner_ignore_adverts",
        "[BOOL]",
        "Address owners ignore received adverts.",
        |c, g, n| g.vrrp_owner_ignore_adverts = c.flag(n)
    ),
    kw!(
        "vrrp_down_timer_adverts",
        "N",
        "Missed adverts before the master is declared down.",
        |c, g, n| { set(&mut g.vrrp_down_timer_adverts, c.u32_in(n, 1, 100)) }
    ),
    kw!(
        "notify_fifo",
        "FIFO [USER [GROUP]]",
        "FIFO receiving every state change line.",
        |c, g, n| g.notify_fifo = fifo(c, n)
    ),
    kw!(
        "notify_fifo_script",
        "SCRIPT [USER [GROUP]]",
        "Script started with the notify FIFO path.",
        |c, g, n| g.notify_fifo_script = c.script(n)
    ),
    kw!(
        "vrrp_notify_fifo",
        "FIFO [USER [GROUP]]",
        "FIFO receiving VRRP state change lines.",
        |c, g, n| g.vrrp_notify_fifo = fifo(c, n)
    ),
    kw!(
        "vrrp_notify_fifo_script",
        "SCRIPT [USER [GROUP]]",
        "Script started with the VRRP FIFO path.",
        |c, g, n| { g.vrrp_notify_fifo_script = c.script(n) }
    ),
    kw!(
        "vrrp_notify_priority_changes",
        "[BOOL]",
        "Also write priority changes to the FIFO.",
        |c, g, n| { g.vrrp_notify_priority_changes = c.flag(n) }
    ),
    kw!(
        "fifo_write_vrrp_states_on_reload",
        "",
        "Write all states to the FIFO after a reload.",
        |_, g, _| g.fifo_write_vrrp_states_on_reload = true
    ),
    kw!(
        "vrrp_startup_delay",
        "SECS",
        "Wait before starting VRRP after boot.",
        |c, g, n| set(
            &mut g.vrrp_startup_delay_us,
            c.seconds_us(n, 0, 3_600_000_000)
        )
    ),
    kw!(
        "max_auto_priority",
        "[-1|PRIO]",
        "Realtime scheduling priority limit (accepted; vrrpd does not change scheduling).",
        |c, g, n| {
            g.max_auto_priority = if n.args().is_empty() {
                Some(-1)
            } else {
                c.int_in(n, -1, 99).map(|v| v as i32)
            }
        }
    ),
    kw!(
        "dynamic_interfaces",
        "[allow_if_changes]",
        "Tolerate interfaces that do not exist yet.",
        |_, g, n| {
            g.dynamic_interfaces = Some(DynamicInterfaces {
                allow_if_changes: n.args().iter().any(|a| a.text == "allow_if_changes"),
            })
        }
    ),
    kw!(
        "default_interface",
        "IF",
        "Interface for instances and static addresses that name none.",
        |c, g, n| { g.default_interface = c.string(n, "an interface name") }
    ),
    kw!(
        "vmac_prefix",
        "PREFIX",
        "Name prefix of VMAC interfaces.",
        |c, g, n| g.vmac_prefix = c.string(n, "a prefix")
    ),
    kw!(
        "log_unknown_vrids",
        "",
        "Log adverts for VRIDs with no instance.",
        |_, g, _| g.log_unknown_vrids = true
    ),
    kw!(
        "disable_local_igmp",
        "",
        "Do not send IGMP reports for the advert group.",
        |_, g, _| g.disable_local_igmp = true
    ),
    kw!(
        "startup_script",
        "SCRIPT [USER [GROUP]]",
        "Script run before VRRP starts.",
        |c, g, n| g.startup_script = c.script(n)
    ),
    kw!(
        "shutdown_script",
        "SCRIPT [USER [GROUP]]",
        "Script run after VRRP stops.",
        |c, g, n| g.shutdown_script = c.script(n)
    ),
    kw!(
        "state_dump_file",
        "PATH",
        "Where the state dump (SIGUSR1) is written.",
        |c, g, n| g.state_dump_file = c.string(n, "a path")
    ),
    kw!(
        "stats_dump_file",
        "PATH",
        "Where the statistics dump (SIGUSR2) is written.",
        |c, g, n| g.stats_dump_file = c.string(n, "a path")
    ),
    kw!(
        "json_dump_file",
        "PATH",
        "Where the JSON dump is written.",
        |c, g, n| g.json_dump_file = c.string(n, "a path")
    ),
    kw!(
        "json_version",
        "1|2",
        "Layout of the JSON dump.",
        |c, g, n| set(&mut g.json_version, c.int_in(n, 1, 2).map(|v| v as u8))
    ),
    kw!(
        "notification_email",
        "{ ADDR ... }",
        "E-mail recipients (accepted; vrrpd sends no e-mail).",
        |_, g, n| {
            g.notification_email
                .extend(n.children().iter().map(|e| e.keyword().text.clone()))
        }
    ),
    kw!(
        "notification_email_from",
        "ADDR",
        "E-mail sender (accepted; vrrpd sends no e-mail).",
        |c, g, n| { g.notification_email_from = c.string(n, "an address") }
    ),
    kw!(
        "smtp_server",
        "ADDR [PORT]",
        "SMTP relay (accepted; vrrpd sends no e-mail).",
        |c, g, n| g.smtp_server = c.string(n, "an address")
    ),
    ignored!("smtp_helo_name", "NAME", "SMTP HELO name."),
    ignored!("smtp_connect_timeout", "SECS", "SMTP connect timeout."),
    ignored!("smtp_alert", "[BOOL]", "Send e-mail alerts."),
    ignored!("smtp_alert_vrrp", "[BOOL]", "Send e-mail alerts for VRRP."),
    ignored!(
        "smtp_alert_checker",
        "[BOOL]",
        "Send e-mail alerts for LVS checkers."
    ),
    ignored!("no_email_faults", "", "No e-mail for FAULT states."),
    ignored!(
        "set_supplementary_groups",
        "",
        "Give scripts the user's supplementary groups."
    ),
    ignored!(
        "use_symlink_paths",
        "",
        "Do not resolve symlinks in script paths."
    ),
    ignored!(
        "startup_script_timeout",
        "SECS",
        "Timeout of the startup script."
    ),
    ignored!(
        "shutdown_script_timeout",
        "SECS",
        "Timeout of the shutdown script."
    ),
    ignored!("process_names", "", "Name the child processes."),
    ignored!("process_name", "NAME", "Name of the parent process."),
    ignored!("vrrp_process_name", "NAME", "Name of the VRRP process."),
    ignored!(
        "checker_process_name",
        "NAME",
        "Name of the LVS checker process."
    ),
    ignored!("bfd_process_name", "NAME", "Name of the BFD process."),
    ignored!(
        "vrrp_iptables",
        "[IN [OUT]]",
        "iptables chains for no_accept."
    ),
    ignored!("vrrp_ipsets", "[NAMES]", "ipsets for no_accept."),
    ignored!("nftables", "[TABLE]", "nftables table for no_accept."),
    ignored!("nftables_priority", "N", "nftables chain priority."),
    ignored!("nftables_counters", "", "nftables rule counters."),
    ignored!(
        "nftables_ifindex",
        "",
        "nftables matches interfaces by index."
    ),
    ignored!(
        "vrrp_delay_after_boot",
        "SECS",
        "Extra startup delay right after boot."
    ),
    ignored!(
        "vmac_addr_prefix",
        "PREFIX",
        "Name prefix of use_vmac_addr interfaces."
    ),
    ignored!("vrrp_priority", "N", "Process nice value."),
    ignored!("vrrp_no_swap", "", "Lock the VRRP process in memory."),
    ignored!(
        "vrrp_rt_priority",
        "N",
        "Realtime priority of the VRRP process."
    ),
    ignored!(
        "vrrp_cpu_affinity",
        "CPUS",
        "CPU affinity of the VRRP process."
    ),
    ignored!(
        "vrrp_rlimit_rttime",
        "USECS",
        "RLIMIT_RTTIME of the VRRP process."
    ),
    ignored!("vrrp_rlimit_rtime", "USECS", "Alias of vrrp_rlimit_rttime."),
    ignored!(
        "min_auto_priority_delay",
        "USECS",
        "Delay before raising realtime priority."
    ),
    ignored!(
        "vrrp_rx_bufs_policy",
        "POLICY",
        "Receive buffer sizing policy."
    ),
    ignored!(
        "vrrp_rx_bufs_multiplier",
        "N",
        "Receive buffer size multiplier."
    ),
    ignored!(
        "vrrp_netlink_cmd_rcv_bufs",
        "BYTES",
        "Netlink command socket buffer."
    ),
    ignored!(
        "vrrp_netlink_cmd_rcv_bufs_force",
        "[BOOL]",
        "Force the netlink command buffer size."
    ),
    ignored!(
        "vrrp_netlink_monitor_rcv_bufs",
        "BYTES",
        "Netlink monitor socket buffer."
    ),
    ignored!(
        "vrrp_netlink_monitor_rcv_bufs_force",
        "[BOOL]",
        "Force the netlink monitor buffer size."
    ),
    ignored!(
        "process_monitor_rcv_bufs",
        "BYTES",
        "Process monitor socket buffer."
    ),
    ignored!(
        "process_monitor_rcv_bufs_force",
        "[BOOL]",
        "Force the process monitor buffer size."
    ),
    ignored!(
        "reload_check_config",
        "[FILE]",
        "Check the configuration before a reload."
    ),
    ignored!("reload_time_file", "PATH", "Schedule reloads from a file."),
    ignored!("reload_repeat", "", "Repeat scheduled reloads."),
    ignored!("reload_file", "PATH", "Reload trigger file."),
    ignored!(
        "include_check",
        "[CHECKS]",
        "Strictness of include file checks."
    ),
    ignored!(
        "config_save_dir",
        "DIR",
        "Where a copy of the configuration is saved."
    ),
    ignored!(
        "tmp_config_directory",
        "DIR",
        "Temporary configuration directory."
    ),
    ignored!(
        "data_use_instance",
        "",
        "Add the instance name to dump file names."
    ),
    ignored!("umask", "MASK", "File creation mask."),
    ignored!("random_seed", "N", "Seed for random numbers."),
    ignored!("snmp_socket", "SOCKET", "AgentX socket."),
    ignored!("enable_traps", "", "Send SNMP traps."),
    ignored!("enable_snmp_vrrp", "", "Keepalived VRRP MIB."),
    ignored!("enable_snmp_keepalived", "", "Alias of enable_snmp_vrrp."),
    ignored!("enable_snmp_rfc", "", "RFC VRRP MIBs."),
    ignored!("enable_snmp_rfcv2", "", "RFC 2787 VRRP MIB."),
    ignored!("enable_snmp_rfcv3", "", "RFC 6527 VRRP MIB."),
    ignored!("enable_snmp_checker", "", "LVS checker MIB."),
    ignored!("enable_dbus", "", "D-Bus interface."),
    ignored!("dbus_service_name", "NAME", "D-Bus service name."),
    ignored!(
        "dbus_no_interface_name",
        "",
        "D-Bus object paths without interface names."
    ),
    ignored!("lvs_id", "NAME", "LVS: old name of router_id."),
    ignored!("lvs_timeouts", "...", "LVS connection timeouts."),
    ignored!("lvs_flush", "", "LVS: flush tables at startup."),
    ignored!("lvs_flush_on_stop", "[VS]", "LVS: flush tables at stop."),
    ignored!(
        "lvs_sync_daemon",
        "IF INSTANCE ...",
        "LVS connection sync daemon."
    ),
    ignored!("checker_log_all_failures", "[BOOL]", "LVS checker logging."),
    ignored!("iproute_usr_dir", "DIR", "Where iproute2 tables are read."),
    ignored!("iproute_etc_dir", "DIR", "Where iproute2 tables are read."),
];

/// `vrrp_script` keywords.
pub static VRRP_SCRIPT: &[Keyword<VrrpScript>] = &[
    kw!(
        "script",
        "PATH|\"COMMAND ARGS\"",
        "The command to run; exit status 0 means success.",
        |c, s, n| s.script = parse::script_text(c, n)
    ),
    kw!("interval", "SECS", "Seconds between runs.", |c, s, n| set(
        &mut s.interval_ms,
        c.seconds_us(n, 1_000, 1_000_000_000).map(|us| us / 1000)
    )),
    kw!(
        "timeout",
        "SECS",
        "Seconds after which a run counts as a failure.",
        |c, s, n| {
            s.timeout_ms = c
                .seconds_us(n, 1_000, 1_000_000_000)
                .map(|us| us / 1000)
                .or(s.timeout_ms)
        }
    ),
    kw!(
        "weight",
        "-253..253 [reverse]",
        "Priority change while the check succeeds (>0) or fails (<0).",
        |c, s, n| {
            let entry = c.track_entry("vrrp_script", &weight_as_entry(n), MAX_TRACK_WEIGHT);
            if let Some(w) = entry.weight {
                s.weight = w;
            }
            s.weight_reverse = entry.reverse.unwrap_or(false);
        }
    ),
    kw!(
        "rise",
        "N",
        "Successes needed to count as up.",
        |c, s, n| set(&mut s.rise, c.u32_in(n, 1, u32::MAX))
    ),
    kw!(
        "fall",
        "N",
        "Failures needed to count as down.",
        |c, s, n| set(&mut s.fall, c.u32_in(n, 1, u32::MAX))
    ),
    kw!("user", "USER [GROUP]", "Who runs the script.", |c, s, n| {
        if c.arg(n, "USER [GROUP]").is_some() {
            s.run_as = c.run_as(n.args());
        }
    }),
    kw!("init_fail", "", "Start in the failed state.", |_, s, _| s
        .init_fail =
        true),
];

/// `vrrp_instance` keywords.
pub static VRRP_INSTANCE: &[Keyword<VrrpInstance>] = &[
    kw!(
        "state",
        "MASTER|BACKUP",
        "Initial state wanted (MASTER also means priority 255 if none is given).",
        parse::instance_state
    ),
    kw!(
        "interface",
        "IF",
        "Interface adverts are sent and received on.",
        |c, i, n| i.interface = c.string(n, "an interface name")
    ),
    kw!(
        "virtual_router_id",
        "1..255",
        "The VRID, shared by all routers of the group.",
        |c, i, n| { i.virtual_router_id = c.int_in(n, 1, 255).map(|v| v as u8) }
    ),
    kw!(
        "priority",
        "1..255",
        "Base priority; 255 is the address owner.",
        |c, i, n| i.priority = c.int_in(n, 1, 255).map(|v| v as u8).or(i.priority)
    ),
    kw!(
        "advert_int",
        "SECS",
        "Advertisement interval (v2: whole seconds, v3: centiseconds).",
        |c, i, n| { set(&mut i.advert_int_us, c.seconds_us(n, 1, 255_000_000)) }
    ),
    kw!(
        "nopreempt",
        "",
        "Do not take over from a lower priority master.",
        |_, i, _| i.nopreempt = true
    ),
    kw!(
        "preempt",
        "",
        "Preempt (the default; no effect).",
        |_, i, _| i.nopreempt = false
    ),
    kw!(
        "preempt_delay",
        "SECS",
        "Wait before preempting a lower priority master (0..1000 s).",
        |c, i, n| {
            set(
                &mut i.preempt_delay_ms,
                c.seconds_us(n, 0, 1_000_000_000).map(|us| us / 1000),
            )
        }
    ),
    kw!(
        "version",
        "2|3",
        "VRRP version of this instance.",
        |c, i, n| i.version = c.int_in(n, 2, 3).map(|v| v as u8).or(i.version)
    ),
    kw!("native_ipv6", "", "Deprecated: force IPv6.", |_, i, _| i
        .native_ipv6 =
        true),
    kw!(
        "vrf",
        "NAME",
        "VRF of the interface (accepted; not supported).",
        |c, i, n| i.vrf = c.string(n, "a VRF name")
    ),
    kw!(
        "debug",
        "0..4",
        "Debug level of the instance.",
        |c, i, n| set(&mut i.debug, c.int_in(n, 0, 4).map(|v| v as u8))
    ),
    kw!(
        "virtual_ipaddress",
        "{ ADDR[/LEN] [OPTIONS] ... }",
        "The virtual addresses, added while master.",
        |c, i, n| {
            i.virtual_ipaddress
                .extend(n.children().iter().filter_map(|e| c.virtual_ip(e)))
        }
    ),
    kw!(
        "virtual_ipaddress_excluded",
        "{ ADDR[/LEN] [OPTIONS] ... }",
        "Addresses added while master but not advertised.",
        |c, i, n| {
            i.virtual_ipaddress_excluded
                .extend(n.children().iter().filter_map(|e| c.virtual_ip(e)))
        }
    ),
    kw!(
        "no_virtual_ipaddress",
        "",
        "Allow an instance without addresses.",
        |_, i, _| i.no_virtual_ipaddress = true
    ),
    kw!(
        "virtual_routes",
        "{ ROUTE ... }",
        "Routes added while master (ip route syntax, kept as text).",
        |_, i, n| {
            i.virtual_routes
                .extend(n.children().iter().map(parse::line_text))
        }
    ),
    kw!(
        "virtual_rules",
        "{ RULE ... }",
        "Policy rules added while master (ip rule syntax, kept as text).",
        |_, i, n| {
            i.virtual_rules
                .extend(n.children().iter().map(parse::line_text))
        }
    ),
    kw!(
        "promote_secondaries",
        "",
        "Set promote_secondaries on the interface.",
        |_, i, _| i.promote_secondaries = true
    ),
    kw!(
        "track_interface",
        "{ IF [weight N [reverse]] ... }",
        "Interfaces whose state affects this instance.",
        |c, i, n| {
            i.track_interface
                .extend(parse::track_list(c, "track_interface", n))
        }
    ),
    kw!(
        "track_script",
        "{ NAME [weight N [reverse|noreverse]] ... }",
        "vrrp_scripts whose result affects this instance.",
        |c, i, n| {
            i.track_script
                .extend(parse::track_list(c, "track_script", n))
        }
    ),
    kw!(
        "track_file",
        "{ NAME [weight N [reverse]] ... }",
        "track_files whose value affects this instance.",
        |c, i, n| { i.track_file.extend(parse::track_list(c, "track_file", n)) }
    ),
    kw!(
        "track_process",
        "{ NAME [weight N [reverse]] ... }",
        "Tracked processes that affect this instance.",
        |c, i, n| {
            i.track_process
                .extend(parse::track_list(c, "track_process", n))
        }
    ),
    kw!(
        "track_bfd",
        "{ NAME [weight N [reverse]] ... }",
        "BFD sessions that affect this instance (accepted; no BFD in vrrpd).",
        |c, i, n| { i.track_bfd.extend(parse::track_list(c, "track_bfd", n)) }
    ),
    kw!(
        "dont_track_primary",
        "",
        "Ignore the state of the instance's own interface.",
        |_, i, _| i.dont_track_primary = true
    ),
    kw!(
        "track_src_ip",
        "",
        "Go to FAULT if the source address disappears.",
        |_, i, _| i.track_src_ip = true
    ),
    kw!(
        "mcast_src_ip",
        "ADDR",
        "Source address of multicast adverts.",
        |c, i, n| i.mcast_src_ip = c.ip(n)
    ),
    kw!(
        "unicast_src_ip",
        "ADDR",
        "Source address of unicast adverts.",
        |c, i, n| i.unicast_src_ip = c.ip(n)
    ),
    kw!(
        "unicast_peer",
        "{ ADDR [min_ttl N] [max_ttl N] ... }",
        "Send adverts by unicast to these peers.",
        |c, i, n| {
            i.unicast_peers
                .extend(n.children().iter().filter_map(|e| c.unicast_peer(e)))
        }
    ),
    kw!(
        "unicast_fault_no_peer",
        "",
        "Go to FAULT when unicast is configured with no peers.",
        |_, i, _| i.unicast_fault_no_peer = true
    ),
    kw!(
        "unicast_ttl",
        "1..255",
        "TTL of unicast adverts.",
        |c, i, n| i.unicast_ttl = c.int_in(n, 1, 255).map(|v| v as u8)
    ),
    kw!(
        "check_unicast_src",
        "",
        "Accept unicast adverts only from configured peers.",
        |_, i, _| i.check_unicast_src = true
    ),
    kw!(
        "old_unicast_checksum",
        "[never]",
        "Use (or never detect) the keepalived <= 1.3.6 unicast checksum.",
        |_, i, n| { i.old_unicast_checksum = Some(!n.args().iter().any(|a| a.text == "never")) }
    ),
    kw!(
        "v3_checksum_as_v2",
        "[BOOL]",
        "VRRPv3 IPv4 checksum without the pseudo-header.",
        |c, i, n| i.v3_checksum_as_v2 = c.flag(n)
    ),
    kw!(
        "mcast_dst_ip",
        "ADDR",
        "Multicast group of this instance.",
        |c, i, n| i.mcast_dst_ip = c.ip(n)
    ),
    kw!(
        "kernel_rx_buf_size",
        "BYTES",
        "Socket receive buffer size.",
        |c, i, n| i.kernel_rx_buf_size = c.int_in(n, 0, i64::MAX).map(|v| v as u64)
    ),
    kw!(
        "use_vmac",
        "[NAME] [MAC] [netlink_notify_msg] [group G]",
        "Use a macvlan with the virtual MAC.",
        parse::use_vmac
    ),
    kw!(
        "use_vmac_addr",
        "",
        "Use the VMAC's address as advert source (accepted; ignored).",
        |_, _, _| {}
    ),
    kw!(
        "vmac_xmit_base",
        "",
        "Send adverts from the base interface, not the VMAC.",
        |_, i, _| i.vmac_xmit_base = true
    ),
    kw!(
        "use_ipvlan",
        "[NAME] [ADDR] [bridge|private|vepa]",
        "Use an ipvlan interface (accepted; not supported).",
        |_, i, n| { i.use_ipvlan = Some(n.args().iter().map(|a| a.text.clone()).collect()) }
    ),
    kw!(
        "accept",
        "",
        "Accept packets to the virtual addresses when not owner.",
        |_, i, _| i.accept = Some(true)
    ),
    kw!(
        "no_accept",
        "",
        "Drop packets to the virtual addresses when not owner.",
        |_, i, _| i.accept = Some(false)
    ),
    kw!(
        "strict_mode",
        "[BOOL]",
        "Strict RFC compliance for this instance.",
        |c, i, n| i.strict_mode = c.flag(n)
    ),
    kw!(
        "skip_check_adv_addr",
        "[BOOL]",
        "Do not check advert addresses from the current master.",
        |c, i, n| {
            // keepalived sets the flag even for an explicit false (vrrp_parser.c quirk).
            let _ = c.flag(n);
            i.skip_check_adv_addr = true
        }
    ),
    kw!(
        "notify_master",
        "SCRIPT [USER [GROUP]]",
        "Run on becoming MASTER.",
        |c, i, n| i.notify.master = c.script(n)
    ),
    kw!(
        "notify_backup",
        "SCRIPT [USER [GROUP]]",
        "Run on becoming BACKUP.",
        |c, i, n| i.notify.backup = c.script(n)
    ),
    kw!(
        "notify_fault",
        "SCRIPT [USER [GROUP]]",
        "Run on entering FAULT.",
        |c, i, n| i.notify.fault = c.script(n)
    ),
    kw!(
        "notify_stop",
        "SCRIPT [USER [GROUP]]",
        "Run when the instance stops.",
        |c, i, n| i.notify.stop = c.script(n)
    ),
    kw!(
        "notify_deleted",
        "[SCRIPT [USER [GROUP]]]",
        "Run when the instance is removed by a reload.",
        |c, i, n| {
            i.notify.deleted = if n.args().is_empty() {
                Some(super::model::ScriptCommand {
                    command: String::new(),
                    run_as: None,
                })
            } else {
                c.script(n)
            }
        }
    ),
    kw!(
        "notify",
        "SCRIPT [USER [GROUP]]",
        "Run on every state change with TYPE NAME STATE PRIORITY appended.",
        |c, i, n| i.notify.notify = c.script(n)
    ),
    kw!(
        "notify_master_rx_lower_pri",
        "SCRIPT [USER [GROUP]]",
        "Run when master hears a lower priority advert.",
        |c, i, n| { i.notify.master_rx_lower_pri = c.script(n) }
    ),
    kw!(
        "notify_priority_changes",
        "[BOOL]",
        "Report priority changes to the FIFO.",
        |c, i, n| i.notify_priority_changes = c.flag(n)
    ),
    kw!(
        "smtp_alert",
        "[BOOL]",
        "Send e-mail on state changes (accepted; no e-mail).",
        |c, i, n| i.smtp_alert = c.flag(n)
    ),
    kw!(
        "garp_master_delay",
        "SECS",
        "Delay of the second GARP burst after becoming master.",
        |c, i, n| { set(&mut i.garp.master_delay_secs, c.u32_in(n, 0, 86400)) }
    ),
    kw!(
        "garp_master_repeat",
        "N",
        "GARPs per burst.",
        |c, i, n| set(&mut i.garp.master_repeat, c.u32_in(n, 1, 255))
    ),
    kw!(
        "garp_master_refresh",
        "SECS",
        "Period of GARP refreshes while master (0 = off).",
        |c, i, n| { set(&mut i.garp.master_refresh_secs, c.u32_in(n, 0, 86400)) }
    ),
    kw!(
        "garp_master_refresh_repeat",
        "N",
        "GARPs per refresh.",
        |c, i, n| set(&mut i.garp.master_refresh_repeat, c.u32_in(n, 1, 255))
    ),
    kw!(
        "garp_lower_prio_delay",
        "SECS",
        "Delay of the second burst after a lower priority advert.",
        |c, i, n| {
            i.garp.lower_prio_delay_secs = c.u32_in(n, 0, 86400).or(i.garp.lower_prio_delay_secs)
        }
    ),
    kw!(
        "garp_lower_prio_repeat",
        "N",
        "GARPs sent after a lower priority advert.",
        |c, i, n| { i.garp.lower_prio_repeat = c.u32_in(n, 0, 255).or(i.garp.lower_prio_repeat) }
    ),
    kw!(
        "garp_extra_if",
        "[all] SECS",
        "Periodic GARP on other VIP interfaces.",
        |c, i, n| i.garp.extra_if = garp_extra_if(c, n).or(i.garp.extra_if)
    ),
    kw!(
        "vmac_garp_intvl",
        "[all] SECS",
        "Alias of garp_extra_if.",
        |c, i, n| i.garp.extra_if = garp_extra_if(c, n).or(i.garp.extra_if)
    ),
    kw!(
        "down_timer_adverts",
        "1..100",
        "Missed adverts before the master is declared down.",
        |c, i, n| set(&mut i.down_timer_adverts, c.u32_in(n, 1, 100))
    ),
    kw!(
        "timer_expired_backup",
        "[PRIO]",
        "Stay BACKUP (optionally at PRIO) when the timer expires.",
        parse::timer_expired_backup
    ),
    kw!(
        "thread_timer_expired",
        "[PRIO]",
        "Alias of timer_expired_backup.",
        parse::timer_expired_backup
    ),
    kw!(
        "lower_prio_no_advert",
        "[BOOL]",
        "As master, do not answer a lower priority advert.",
        |c, i, n| i.lower_prio_no_advert = c.flag(n)
    ),
    kw!(
        "higher_prio_send_advert",
        "[BOOL]",
        "Send one advert before yielding to a higher priority.",
        |c, i, n| i.higher_prio_send_advert = c.flag(n)
    ),
    kw!(
        "owner_ignore_adverts",
        "[BOOL]",
        "As owner, ignore received adverts.",
        |c, i, n| i.owner_ignore_adverts = c.flag(n)
    ),
    kw!(
        "authentication",
        "{ auth_type PASS|AH; auth_pass PASS }",
        "VRRPv2 authentication (password truncated to 8 bytes).",
        |c, i, n| {
            let mut auth = AuthDraft::default();
            parse::dispatch(c, AUTHENTICATION, "authentication", &mut auth, n.children());
            i.authentication = auth.finish(c, n);
        }
    ),
    refused!(
        "auth_hmac",
        "{ ... }",
        "keepalived 2.4.3's HMAC-SHA256 advert authentication; exclusive with authentication. Checked like keepalived, then the configuration is refused: vrrpd does not sign or verify adverts yet.",
        auth_hmac::block
    ),
    ignored!(
        "lvs_sync_daemon_interface",
        "IF",
        "Deprecated LVS sync daemon setting."
    ),
    ignored!("linkbeat_use_polling", "", "Deprecated: poll link state."),
];

/// An `authentication` block being parsed.
#[derive(Debug, Default)]
pub struct AuthDraft {
    auth_type: Option<AuthType>,
    auth_pass: Option<String>,
}

impl AuthDraft {
    fn finish(self, c: &mut Ctx<'_>, node: &Node) -> Option<Authentication> {
        let auth_type = self.auth_type?;
        if auth_type == AuthType::Pass && self.auth_pass.is_none() {
            c.warn(node.span(), "authentication PASS without auth_pass, expected auth_pass PASSWORD; authentication ignored");
            return None;
        }
        Some(Authentication {
            auth_type,
            auth_pass: self.auth_pass,
        })
    }
}

/// `authentication` keywords.
pub static AUTHENTICATION: &[Keyword<AuthDraft>] = &[
    kw!(
        "auth_type",
        "PASS|AH",
        "Simple password or IPSEC AH.",
        |c, a, n| {
            a.auth_type = match c.arg(n, "PASS or AH").map(|t| t.text.as_str()) {
                Some("PASS") => Some(AuthType::Pass),
                Some("AH") => Some(AuthType::Ah),
                Some(other) => {
                    c.warn(
                        &n.args()[0].span,
                        format!("auth_type {other} is unknown, expected PASS or AH"),
                    );
                    None
                }
                None => None,
            }
        }
    ),
    kw!(
        "auth_pass",
        "PASSWORD",
        "The password (only the first 8 bytes are used).",
        |c, a, n| {
            if let Some(token) = c.arg(n, "a password") {
                if token.text.len() > 8 {
                    c.warn(
                        &token.span,
                        format!(
                            "auth_pass is {} bytes long, only the first 8 are used",
                            token.text.len()
                        ),
                    );
                }
                a.auth_pass = Some(truncate_bytes(&token.text, 8));
            }
        }
    ),
];

/// `auth_hmac` keywords (keepalived 2.4.3).
pub static AUTH_HMAC: &[Keyword<AuthHmac>] = &[
    refused!(
        "key",
        "1..255 hex:HEX|ASCII|file:PATH",
        "A 32..64-byte key by id; several allow rotation. A file holds hex:HEX or ASCII, should be mode 0600 (else a security warning); `${_ENV CREDENTIALS_DIRECTORY}` finds systemd credentials.",
        auth_hmac::key
    ),
    refused!(
        "active_key",
        "1..255",
        "The key id adverts are signed with; must name a key.",
        auth_hmac::active_key
    ),
    refused!(
        "anti_replay",
        "time|monotonic",
        "time (default): the timestamp within time_window and a growing sequence; monotonic: a growing sequence only.",
        auth_hmac::anti_replay
    ),
    refused!(
        "time_window",
        "1..300",
        "Freshness window in seconds (time mode). Default max(3 x advert_int, 5).",
        auth_hmac::time_window
    ),
    refused!(
        "mode",
        "enforce|permissive|receive-only",
        "enforce (default; forced by strict mode): sign, require a valid trailer. permissive: sign, also accept unsigned adverts. receive-only: do not sign, accept unsigned adverts, verify signed ones.",
        auth_hmac::mode
    ),
];

/// `vrrp_sync_group` keywords.
pub static VRRP_SYNC_GROUP: &[Keyword<VrrpSyncGroup>] = &[
    kw!(
        "group",
        "{ INSTANCE ... }",
        "The member instances.",
        |_, g, n| {
            g.group.extend(
                n.children()
                    .iter()
                    .flat_map(|e| e.words.iter().map(|w| w.text.clone())),
            )
        }
    ),
    kw!(
        "track_interface",
        "{ IF [weight N [reverse]] ... }",
        "Interfaces tracked by every member.",
        |c, g, n| {
            g.track_interface
                .extend(parse::track_list(c, "track_interface", n))
        }
    ),
    kw!(
        "track_script",
        "{ NAME [weight N [reverse]] ... }",
        "Scripts tracked by every member.",
        |c, g, n| {
            g.track_script
                .extend(parse::track_list(c, "track_script", n))
        }
    ),
    kw!(
        "track_file",
        "{ NAME [weight N [reverse]] ... }",
        "Files tracked by every member.",
        |c, g, n| g.track_file.extend(parse::track_list(c, "track_file", n))
    ),
    kw!(
        "track_process",
        "{ NAME [weight N [reverse]] ... }",
        "Processes tracked by every member.",
        |c, g, n| {
            g.track_process
                .extend(parse::track_list(c, "track_process", n))
        }
    ),
    kw!(
        "track_bfd",
        "{ NAME [weight N [reverse]] ... }",
        "BFD sessions tracked by every member.",
        |c, g, n| g.track_bfd.extend(parse::track_list(c, "track_bfd", n))
    ),
    kw!(
        "notify_master",
        "SCRIPT [USER [GROUP]]",
        "Run when the group becomes MASTER.",
        |c, g, n| g.notify.master = c.script(n)
    ),
    kw!(
        "notify_backup",
        "SCRIPT [USER [GROUP]]",
        "Run when the group becomes BACKUP.",
        |c, g, n| g.notify.backup = c.script(n)
    ),
    kw!(
        "notify_fault",
        "SCRIPT [USER [GROUP]]",
        "Run when the group enters FAULT.",
        |c, g, n| g.notify.fault = c.script(n)
    ),
    kw!(
        "notify_stop",
        "SCRIPT [USER [GROUP]]",
        "Run when the group stops.",
        |c, g, n| g.notify.stop = c.script(n)
    ),
    kw!(
        "notify",
        "SCRIPT [USER [GROUP]]",
        "Run on every group state change.",
        |c, g, n| g.notify.notify = c.script(n)
    ),
    kw!(
        "smtp_alert",
        "[BOOL]",
        "E-mail on group state changes (accepted; no e-mail).",
        |c, g, n| g.smtp_alert = c.flag(n)
    ),
    kw!(
        "notify_priority_changes",
        "[BOOL]",
        "Report priority changes.",
        |c, g, n| g.notify_priority_changes = c.flag(n)
    ),
    kw!(
        "sync_group_tracking_weight",
        "",
        "Keep tracker weights of members instead of making them fault trackers.",
        |_, g, _| { g.sync_group_tracking_weight = true }
    ),
    ignored!(
        "global_tracking",
        "",
        "Deprecated: same as sync_group_tracking_weight in old versions."
    ),
];

/// `track_file` keywords.
pub static TRACK_FILE: &[Keyword<TrackFile>] = &[
    kw!("file", "PATH", "The file holding a number.", |c, t, n| t
        .file =
        c.string(n, "a path")),
    kw!(
        "weight",
        "-254..254 [reverse]",
        "Multiplier of the file's value.",
        |c, t, n| {
            let entry = c.track_entry("track_file", &weight_as_entry(n), 254);
            t.weight = entry.weight.or(t.weight);
            t.reverse = entry.reverse.unwrap_or(false);
        }
    ),
    kw!(
        "init_file",
        "[VALUE] [overwrite]",
        "Create the file at startup.",
        |_, t, n| {
            let value = n
                .args()
                .first()
                .and_then(|a| a.text.parse().ok())
                .unwrap_or(0);
            t.init_file = Some((value, n.args().iter().any(|a| a.text == "overwrite")));
        }
    ),
];

/// `vrrp_track_process` keywords.
pub static TRACK_PROCESS: &[Keyword<TrackProcess>] = &[
    kw!(
        "process",
        "NAME [ARGS...]",
        "The process to look for.",
        |_, t, n| t.process = n.args().iter().map(|a| a.text.clone()).collect()
    ),
    kw!(
        "param_match",
        "[initial|partial]",
        "How ARGS are matched.",
        |_, t, n| {
            t.param_match = Some(
                n.args()
                    .first()
                    .map_or_else(|| "exact".to_string(), |a| a.text.clone()),
            )
        }
    ),
    kw!(
        "weight",
        "-254..254 [reverse]",
        "Priority change.",
        |c, t, n| {
            let entry = c.track_entry("vrrp_track_process", &weight_as_entry(n), 254);
            t.weight = entry.weight.unwrap_or(t.weight);
            t.reverse = entry.reverse.unwrap_or(false);
        }
    ),
    kw!(
        "quorum",
        "N",
        "Processes needed to count as up.",
        |c, t, n| t.quorum = c.u32_in(n, 1, 65535).or(t.quorum)
    ),
    kw!("quorum_max", "N", "Most processes allowed.", |c, t, n| t
        .quorum_max =
        c.u32_in(n, 0, 65535).or(t.quorum_max)),
    kw!(
        "delay",
        "SECS",
        "Delay before counting a change.",
        |c, t, n| t.delay_us = c.seconds_us(n, 0, 3_600_000_000)
    ),
    kw!(
        "terminate_delay",
        "SECS",
        "Delay before counting a termination.",
        |c, t, n| t.terminate_delay_us = c.seconds_us(n, 0, 3_600_000_000)
    ),
    kw!(
        "fork_delay",
        "SECS",
        "Delay before counting a fork.",
        |c, t, n| t.fork_delay_us = c.seconds_us(n, 0, 3_600_000_000)
    ),
    kw!(
        "full_command",
        "",
        "Match the whole command line.",
        |_, t, _| t.full_command = true
    ),
];

/// `garp_group` keywords.
pub static GARP_GROUP: &[Keyword<GarpGroup>] = &[
    kw!(
        "garp_interval",
        "SECS",
        "Minimum gap between GARPs.",
        |c, g, n| set(&mut g.garp_interval_us, c.seconds_us(n, 1, 4_294_967_295))
    ),
    kw!(
        "gna_interval",
        "SECS",
        "Minimum gap between unsolicited NAs.",
        |c, g, n| set(&mut g.gna_interval_us, c.seconds_us(n, 1, 4_294_967_295))
    ),
    kw!(
        "interface",
        "IF",
        "An interface of the group.",
        |c, g, n| g.interfaces.extend(c.string(n, "an interface name"))
    ),
    kw!(
        "interfaces",
        "{ IF ... }",
        "Interfaces of the group.",
        |_, g, n| g
            .interfaces
            .extend(n.children().iter().map(|e| e.keyword().text.clone()))
    ),
];

/// Every table with its block name.
pub fn all_keywords() -> Vec<KeywordInfo> {
    let mut all = Vec::new();
    collect(&mut all, "top level", TOP_LEVEL);
    collect(&mut all, "global_defs", GLOBAL_DEFS);
    collect(&mut all, "vrrp_script", VRRP_SCRIPT);
    collect(&mut all, "vrrp_instance", VRRP_INSTANCE);
    collect(&mut all, "authentication", AUTHENTICATION);
    collect(&mut all, "auth_hmac", AUTH_HMAC);
    collect(&mut all, "vrrp_sync_group", VRRP_SYNC_GROUP);
    collect(&mut all, "track_file", TRACK_FILE);
    collect(&mut all, "vrrp_track_process", TRACK_PROCESS);
    collect(&mut all, "garp_group", GARP_GROUP);
    all
}

fn collect<T>(all: &mut Vec<KeywordInfo>, block: &'static str, table: &[Keyword<T>]) {
    all.extend(table.iter().map(|k| KeywordInfo {
        block,
        name: k.name,
        args: k.args,
        description: k.description,
        status: k.status,
    }));
}

/// The keyword tables as a Markdown document, one section per block.
pub fn render_markdown() -> String {
    let mut out = String::from("# vrrpd configuration reference (keepalived.conf syntax)\n");
    let mut current = "";
    for k in all_keywords() {
        if k.block != current {
            current = k.block;
            out.push_str(&format!("\n## {current}\n\n| keyword | arguments | status | description |\n|---|---|---|---|\n"));
        }
        let args = k.args.replace('|', "\\|");
        out.push_str(&format!(
            "| `{}` | {} | {} | {} |\n",
            k.name,
            code_or_blank(&args),
            k.status.label(),
            k.description
        ));
    }
    out
}

fn code_or_blank(args: &str) -> String {
    if args.is_empty() {
        String::new()
    } else {
        format!("`{args}`")
    }
}

/// Assigns `value` if present (the default stays otherwise).
fn set<V>(slot: &mut V, value: Option<V>) {
    if let Some(v) = value {
        *slot = v;
    }
}

/// Re-reads `weight N [reverse]` as a tracker entry so the same checks apply.
fn weight_as_entry(node: &Node) -> Node {
    let mut words = vec![node.keyword().clone()];
    words.extend(node.words.iter().cloned());
    Node { words, block: None }
}

fn fifo(c: &mut Ctx<'_>, node: &Node) -> Option<NotifyFifo> {
    let path = c.string(node, "a FIFO path")?;
    Some(NotifyFifo {
        path,
        run_as: c.run_as(&node.args()[1..]),
    })
}

fn garp_extra_if(c: &mut Ctx<'_>, node: &Node) -> Option<GarpExtraIf> {
    let args = node.args();
    let all = args.first().is_some_and(|a| a.text == "all");
    let value = args.get(usize::from(all));
    let Some(token) = value else {
        c.warn(
            node.span(),
            format!("{} needs a value, expected [all] SECS", node.keyword().text),
        );
        return None;
    };
    let secs = c.int_token(&node.keyword().text, token, 0, 86400)?;
    Some(GarpExtraIf {
        all,
        interval_secs: secs as u32,
    })
}

fn up_down_delay(c: &mut Ctx<'_>, entry: &Node) -> Option<InterfaceUpDownDelay> {
    let args = entry.args();
    let Some(down) = args.first() else {
        c.warn(
            entry.span(),
            "interface_up_down_delays entry needs a delay, expected IF DOWN [UP]",
        );
        return None;
    };
    let down_secs = c.int_token("down delay", down, 0, 65535)? as u32;
    let up_secs = match args.get(1) {
        Some(up) => c.int_token("up delay", up, 0, 65535)? as u32,
        None => 0,
    };
    Some(InterfaceUpDownDelay {
        interface: entry.keyword().text.clone(),
        down_secs,
        up_secs,
    })
}

/// `state MASTER|BACKUP` value.
pub fn parse_state(text: &str) -> Option<InitialState> {
    match text {
        "MASTER" => Some(InitialState::Master),
        "BACKUP" => Some(InitialState::Backup),
        _ => None,
    }
}

/// `use_vmac` arguments into a [`UseVmac`].
pub fn parse_use_vmac(args: &[super::lexer::Token]) -> UseVmac {
    let mut vmac = UseVmac::default();
    let mut iter = args.iter();
    while let Some(arg) = iter.next() {
        match arg.text.as_str() {
            "netlink_notify_msg" => vmac.netlink_notify_msg = true,
            "group" => vmac.group = iter.next().and_then(|g| g.text.parse().ok()),
            t if t.len() == 17 && t.matches(':').count() == 5 => vmac.mac = Some(t.to_string()),
            t => vmac.name = Some(t.to_string()),
        }
    }
    vmac
}
