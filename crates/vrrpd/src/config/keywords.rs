//! The keyword tables the parser dispatches from, one per block kind, and the tables of
//! address options and keyword values that have a status of their own.
//!
//! Each entry names a keyword, its argument syntax, a one-line description and its
//! [`Status`]: acted on (with the tests that show it), accepted but not acted on yet,
//! deliberately not implemented (with the reason), refused (security) or skipped (another
//! subsystem). The startup warnings and `-t` notes ([`super::usage`]), the configuration
//! reference ([`render_markdown`]) and `vrrpd.conf(5)` all come from these tables.
//!
//! Flipping a keyword to acted on is one line: its `NOT_YET` becomes
//! `acted![Test("the_behaviour_test")]` (or `Corpus("keywords/x.conf")`, `Scenario("name")`).

use super::auth_hmac;
use super::model::{
    AuthHmac, AuthType, Authentication, Config, DynamicInterfaces, GarpExtraIf, GarpGroup,
    GlobalDefs, InitialState, InterfaceUpDownDelay, NotifyFifo, ReloadFile, TrackFile,
    TrackProcess, UseVmac, VrrpInstance, VrrpScript, VrrpSyncGroup,
};
use super::parse;
pub use super::status::{
    declined, declined_refused_at_start, AtStart, Declined, Evidence, Status, NOT_YET,
};
use super::tree::Node;
use super::usage::ADDRESS_OPTIONS;
use super::values::{truncate_bytes, Ctx, MAX_TRACK_WEIGHT};
use Evidence::{Corpus, Scenario, Test};

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
    /// What vrrpd does with it.
    pub status: Status,
    /// The handler.
    pub apply: Apply<T>,
}

/// An address option, or a keyword value, with a status of its own (its keyword's handler
/// reads it and records it).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Variant {
    /// The option (`dev`) or the keyword and value (`auth_type AH`).
    pub name: &'static str,
    /// Argument syntax.
    pub args: &'static str,
    /// What it does.
    pub description: &'static str,
    /// What vrrpd does with it.
    pub status: Status,
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
    /// What vrrpd does with it.
    pub status: Status,
}

/// `acted![Test("fn_name"), Corpus("samples/x.conf"), Scenario("name")]`: acted on, shown by
/// these tests.
macro_rules! acted {
    ($($evidence:expr),+ $(,)?) => {
        Status::ActedOn(&[$($evidence),+])
    };
}

/// A keyword with a handler.
macro_rules! kw {
    ($name:literal, $args:literal, $desc:literal, $status:expr, $apply:expr) => {
        Keyword {
            name: $name,
            args: $args,
            description: $desc,
            status: $status,
            apply: $apply,
        }
    };
}

/// A keyword vrrpd reads nothing from (never acted on).
macro_rules! accepted {
    ($name:literal, $args:literal, $desc:literal, $status:expr) => {
        Keyword {
            name: $name,
            args: $args,
            description: $desc,
            status: $status,
            apply: |_, _, _| {},
        }
    };
}

/// A block of another keepalived subsystem: skipped with one note.
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

/// A keyword of another keepalived subsystem inside a VRRP block (e.g. `lvs_id` in
/// `global_defs`): accepted silently.
macro_rules! other_subsystem {
    ($name:literal, $args:literal, $desc:literal) => {
        Keyword {
            name: $name,
            args: $args,
            description: $desc,
            status: Status::Skipped,
            apply: |_, _, _| {},
        }
    };
}

/// A variant (address option or keyword value).
macro_rules! variant {
    ($name:literal, $args:literal, $desc:literal, $status:expr) => {
        Variant {
            name: $name,
            args: $args,
            description: $desc,
            status: $status,
        }
    };
}

/// Tests named by several entries.
/// keepalived.conf options mapped to the router, the data-plane plan and the trackers.
const EVERY_OPTION: Evidence = Test("multicast_ipv4_instance_with_every_option");
/// keepalived's VRRP sample under both daemons.
const SAMPLE_VRRP: Evidence = Corpus("samples/vrrp.conf");
/// Two daemons elect, hold the VIP and hand over on SIGTERM.
const ELECTS: Evidence = Test("keepalived_conf_elects_writes_pid_files_and_hands_over_on_sigterm");
/// A tracked process with quorum and delay.
const TRACK_PROCESS_TEST: Evidence = Test("track_process_quorum_and_delay");
/// `terminate_delay` / `fork_delay` of a tracked process.
const TRACK_PROCESS_DELAYS: Evidence = Test("track_process_terminate_and_fork_delays");
/// Instance keywords in the router configuration.
const INSTANCE_SETTINGS: Evidence = Test("instance_settings_reach_the_router");
/// Tracked scripts move the VIP by their weights.
const SCRIPT_WEIGHTS: Evidence = Test("track_script_weights_move_the_vip_openshift_arithmetic");
/// A tracked file's value.
const TRACK_FILE_TEST: Evidence = Test("track_file_reports_values_and_missing_means_zero");
/// The second GARP burst and the refreshes.
const GARP_BURSTS: Evidence = Test("second_burst_and_refresh_follow_garp_master_delay_and_refresh");
/// Notify scripts of instances and groups, in order.
const NOTIFY_ORDER: Evidence = Test("notify_arguments_and_order");
/// `global_defs` defaults in every instance's router configuration.
const GLOBAL_SETTINGS: Evidence = Test("global_defs_settings_reach_every_instance");
/// A script's rise and fall.
const RISE_FALL: Evidence = Test("rise_and_fall_follow_a_flag_file");
/// GARP pacing on the wire.
const GARP_PACING: Evidence = Test("garp_interval_paces_announcements_on_the_interface");
/// `garp_group` pacing in the plan.
const GARP_GROUP_TEST: Evidence = Test("garp_group_sets_the_interface_pacing");
/// Notify FIFO lines and the FIFO script.
const FIFO_LINES: Evidence = Test("fifo_lines_in_keepalived_format_without_blocking");
/// `startup_script`: the instances start once it has ended.
const STARTUP_SCRIPT_TEST: Evidence = Test("startup_script_runs_before_the_instances_start");
/// `shutdown_script`: run once the addresses are released, the daemon waits for it.
const SHUTDOWN_SCRIPT_TEST: Evidence =
    Test("shutdown_script_runs_after_the_addresses_are_released");
/// `startup_script_timeout`: SIGTERM at the timeout, then the instances start.
const STARTUP_TIMEOUT_TEST: Evidence =
    Test("startup_script_timeout_terminates_the_script_and_starts_vrrp");
/// `shutdown_script_timeout`: SIGTERM at the timeout, then the daemon exits.
const SHUTDOWN_TIMEOUT_TEST: Evidence =
    Test("shutdown_script_timeout_terminates_the_script_and_exits");
/// keepalived's sync group sample under both daemons.
const SAMPLE_SYNC: Evidence = Corpus("samples/vrrp-sync.conf");
/// A sync group's trackers on its members.
const SYNC_TRACKERS: Evidence = Test("sync_group_members_lose_weighted_trackers");
/// Accept mode off in the kernel.
const ACCEPT_MODE_OFF: Evidence =
    Test("r18_accept_mode_off_resolves_the_vip_but_drops_traffic_to_it");
/// VRRPv2 with a password against keepalived.
const PASS_INTEROP: Evidence = Scenario("vrrpd_ka_v2_pass_vrrpd_active");
/// VIP label and broadcast through netlink.
const VIP_NETLINK: Evidence = Test("vip_add_list_remove_with_label_and_typed_errors");
/// `vrrp_priority` on every thread of the daemon.
const PROCESS_NICE: Evidence = Test("vrrp_priority_sets_the_nice_value_of_every_thread");
/// `vrrp_no_swap` in the daemon's memory.
const PROCESS_NO_SWAP: Evidence = Test("vrrp_no_swap_locks_the_daemon_in_memory");
/// `vrrp_rt_priority` and `vrrp_rlimit_rttime` on every thread and in the limits.
const PROCESS_REALTIME: Evidence =
    Test("vrrp_rt_priority_runs_every_thread_sched_rr_with_the_rttime_limit");
/// `max_auto_priority` and `min_auto_priority_delay` after a stall.
const AUTO_PRIORITY: Evidence = Test("max_auto_priority_makes_a_late_daemon_realtime");
/// `vrrp_cpu_affinity` on every thread.
const PROCESS_AFFINITY: Evidence = Test("vrrp_cpu_affinity_binds_every_thread");
/// The GARP burst count on the wire.
const GARP_BURST_COUNT: Evidence =
    Test("r8_garp_burst_count_and_spacing_follow_the_announce_config");
/// The daemon runs notify scripts with keepalived's arguments.
const NOTIFY_ARGS: Evidence = Test("notify_scripts_get_keepalived_arguments_in_order");
/// Address options as `ip addr` shows them.
const ADDRESS_OPTIONS_TEST: Evidence = Test("address_options_reach_the_kernel");
/// peer, flags and preferred lifetimes of virtual addresses as `ip addr` shows them.
const VIP_FLAGS_TEST: Evidence = Test("peer_flags_and_preferred_lifetimes_reach_the_kernel");
/// A flaky tracked script against keepalived.
const FLAKY_CHECK: Evidence = Scenario("vrrpd_ka_flaky_check");

/// vrrpd sends no e-mail.
const NO_EMAIL: Status = declined("vrrpd sends no e-mail; a notify script or FIFO can");
/// No SNMP agent.
const NO_SNMP: Status = declined("vrrpd has no SNMP agent");
/// No D-Bus interface.
const NO_DBUS: Status = declined("vrrpd has no D-Bus interface");
/// One process.
const ONE_PROCESS: Status = declined("vrrpd is one process, named vrrpd, with no child processes");
/// No BFD.
const NO_BFD: Status = declined(
    "vrrpd has no BFD: bfd_instance blocks are skipped and a track_bfd entry never changes the priority or the state",
);
/// vrrpd decides `higher_prio_send_advert` itself.
const HIGHER_PRIO_ALWAYS: Status = declined(
    "vrrpd always sends that advert outside strict mode, so that the loser of a dual Active makes the winner re-announce, and never in strict mode (docs/migrating-from-keepalived.md)",
);
/// Link state comes from netlink.
const NETLINK_LINK_STATE: Status =
    declined("vrrpd follows link state through netlink events, it does not poll");

/// Top-level keywords.
pub static TOP_LEVEL: &[Keyword<Config>] = &[
    kw!(
        "global_defs",
        "{ ... }",
        "Global settings; must come before the instances it should affect.",
        acted![ELECTS],
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
        acted![SCRIPT_WEIGHTS, FLAKY_CHECK],
        parse::vrrp_script
    ),
    kw!(
        "vrrp_instance",
        "NAME { ... }",
        "A VRRP virtual router instance.",
        acted![ELECTS, SAMPLE_VRRP],
        parse::vrrp_instance
    ),
    kw!(
        "vrrp_sync_group",
        "NAME { ... }",
        "Instances that change state together.",
        acted![SAMPLE_SYNC, Test("sync_groups_of_two_hosts_fail_over_together_when_the_active_host_crashes")],
        parse::vrrp_sync_group
    ),
    kw!(
        "track_file",
        "NAME { ... }",
        "A file whose numeric content adjusts priority.",
        acted![TRACK_FILE_TEST],
        parse::track_file
    ),
    kw!(
        "vrrp_track_file",
        "NAME { ... }",
        "Deprecated alias of track_file.",
        acted![TRACK_FILE_TEST, Test("aliases_read_like_the_keywords_they_stand_for")],
        parse::track_file
    ),
    kw!(
        "vrrp_track_process",
        "NAME { ... }",
        "A process whose presence is tracked.",
        acted![TRACK_PROCESS_TEST],
        parse::track_process
    ),
    kw!(
        "garp_group",
        "{ ... }",
        "Gratuitous ARP/NA pacing of a set of interfaces (vrrpd paces every interface with the largest interval configured).",
        acted![GARP_GROUP_TEST, GARP_PACING],
        parse::garp_group
    ),
    kw!(
        "static_ipaddress",
        "{ ADDR ... }",
        "Addresses configured at startup, independent of VRRP state.",
        acted![Corpus("keywords/static_ipaddress.conf"), Corpus("samples/vrrp-static-ipaddress.conf")],
        |c, cfg, n| {
            cfg.static_ipaddress
                .extend(n.children().iter().filter_map(|e| c.virtual_ip(e)))
        }
    ),
    kw!(
        "static_routes",
        "{ ROUTE ... }",
        "Routes configured at startup (ip route syntax, kept as text).",
        acted![Corpus("keywords/static_routes.conf"), Corpus("samples/vrrp-routes.conf")],
        |c, cfg, n| {
            cfg.static_routes
                .extend(n.children().iter().filter_map(|e| c.route_line(e)))
        }
    ),
    kw!(
        "static_rules",
        "{ RULE ... }",
        "Policy rules configured at startup (ip rule syntax, kept as text).",
        acted![Corpus("keywords/static_rules.conf"), Corpus("samples/vrrp-rules.conf")],
        |c, cfg, n| {
            cfg.static_rules
                .extend(n.children().iter().filter_map(|e| c.rule_line(e)))
        }
    ),
    kw!(
        "linkbeat_interfaces",
        "{ IF ... }",
        "Interfaces whose link state is polled.",
        NOT_YET,
        |_, cfg, n| {
            cfg.linkbeat_interfaces
                .extend(n.children().iter().map(|e| e.keyword().text.clone()))
        }
    ),
    kw!(
        "interface_up_down_delays",
        "{ IF DOWN [UP] ... }",
        "Debounce delays for interface state changes.",
        NOT_YET,
        |c, cfg, n| {
            cfg.interface_up_down_delays
                .extend(n.children().iter().filter_map(|e| up_down_delay(c, e)))
        }
    ),
    accepted!(
        "track_group",
        "NAME { ... }",
        "Groups of tracked objects.",
        NOT_YET),
    accepted!(
        "net_namespace",
        "NAME",
        "Run in a network namespace (use the service manager instead).",
        declined_refused_at_start("vrrpd acts in the network namespace it is started in: start it in that namespace with `ip netns exec` or systemd's NetworkNamespacePath=")),
    other_subsystem!(
        "net_namespace_ipvs",
        "NAME",
        "LVS namespace."),
    accepted!(
        "namespace_with_ipsets",
        "",
        "Use ipsets in the namespace.",
        declined("vrrpd uses no ipsets")),
    accepted!(
        "instance",
        "NAME",
        "Instance name used in pid and file names.",
        acted![Test("default_paths_are_keepalived_s"), Test("settings_are_scanned_from_the_top_level_only")]),
    accepted!(
        "use_pid_dir",
        "",
        "Put pid files in /run/keepalived.",
        acted![Test("default_paths_are_keepalived_s"), Test("settings_are_scanned_from_the_top_level_only")]),
    accepted!(
        "child_wait_time",
        "SECS",
        "How long the parent waits for children.",
        ONE_PROCESS),
    accepted!(
        "linkbeat_use_polling",
        "",
        "Poll link state instead of netlink.",
        NETLINK_LINK_STATE),
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
        acted![Test("basic_data_is_identical")],
        |c, g, n| g.router_id = c.string(n, "a name")
    ),
    kw!(
        "script_user",
        "USER [GROUP]",
        "Default user (and group) that runs scripts.",
        acted![Test("scripts_run_as_the_configured_user")],
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
        acted![Test("script_security_names_the_bad_component")],
        |_, g, _| g.enable_script_security = true
    ),
    kw!(
        "vrrp_version",
        "2|3",
        "Default VRRP version of IPv4 instances.",
        acted![Scenario("vrrpd_ka_v4_version_mismatch"), ELECTS],
        |c, g, n| {
            if let Some(v) = c.int_in(n, 2, 3) {
                g.vrrp_version = v as u8;
            }
        }
    ),
    kw!(
        "vrrp_strict",
        "[BOOL]",
        "Strict RFC compliance for all instances (the owner_ignore_adverts it implies for an owner is not acted on yet).",
        acted![GLOBAL_SETTINGS, ACCEPT_MODE_OFF],
        |c, g, n| g.vrrp_strict = c.flag(n)
    ),
    kw!(
        "vrrp_skip_check_adv_addr",
        "[BOOL]",
        "Default of skip_check_adv_addr for every instance.",
        acted![
            Corpus("keywords/vrrp_skip_check_adv_addr.conf"),
            Test("skip_check_adv_addr_checks_the_addresses_of_a_new_master_only")
        ],
        |c, g, n| { g.vrrp_skip_check_adv_addr = c.flag(n) }
    ),
    kw!(
        "vrrp_check_unicast_src",
        "[BOOL]",
        "Accept unicast adverts only from configured peers.",
        acted![GLOBAL_SETTINGS, Test("unicast_router_checks_source_ttl_window_and_destination_kind")],
        |c, g, n| g.vrrp_check_unicast_src = c.flag(n)
    ),
    kw!(
        "vrrp_accept_unlisted_unicast_src",
        "[BOOL]",
        "vrrpd: every instance accepts unicast adverts from sources not in unicast_peer, as keepalived without vrrp_check_unicast_src.",
        acted![Test("the_opt_out_accepts_a_non_peer_advert_as_keepalived")],
        |c, g, n| g.vrrp_accept_unlisted_unicast_src = c.flag(n)
    ),
    kw!(
        "v3_checksum_as_v2",
        "[BOOL]",
        "Compute VRRPv3 IPv4 checksums without the pseudo-header.",
        acted![GLOBAL_SETTINGS, Test("p1_an_explicit_checksum_form_is_kept")],
        |_, g, _| g.v3_checksum_as_v2 = true
    ),
    kw!(
        "vrrp_mcast_group4",
        "ADDR",
        "IPv4 multicast group for adverts.",
        NOT_YET,
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
        NOT_YET,
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
        acted![EVERY_OPTION, GARP_BURSTS],
        |c, g, n| { set(&mut g.garp.master_delay_secs, c.u32_in(n, 0, 86400)) }
    ),
    kw!(
        "vrrp_garp_master_repeat",
        "N",
        "GARPs per burst when becoming master.",
        acted![EVERY_OPTION, GARP_BURST_COUNT],
        |c, g, n| set(&mut g.garp.master_repeat, c.u32_in(n, 1, 255))
    ),
    kw!(
        "vrrp_garp_master_refresh",
        "SECS",
        "Period of GARP refreshes while master (0 = off).",
        acted![EVERY_OPTION, GARP_BURSTS],
        |c, g, n| { set(&mut g.garp.master_refresh_secs, c.u32_in(n, 0, 86400).map(Some)) }
    ),
    kw!(
        "vrrp_garp_master_refresh_repeat",
        "N",
        "GARPs per refresh.",
        acted![EVERY_OPTION, GARP_BURSTS],
        |c, g, n| set(&mut g.garp.master_refresh_repeat, c.u32_in(n, 1, 255))
    ),
    kw!(
        "vrrp_garp_lower_prio_delay",
        "SECS",
        "Delay of the second GARP burst after a lower priority advert.",
        acted![Test("partition_gives_two_actives_and_heal_returns_to_one_and_the_winner_reannounces"), Test("global_defs_settings_reach_every_instance")],
        |c, g, n| {
            g.garp.lower_prio_delay_secs = c.u32_in(n, 0, 86400).or(g.garp.lower_prio_delay_secs)
        }
    ),
    kw!(
        "vrrp_garp_lower_prio_repeat",
        "N",
        "GARPs sent when a lower priority advert is heard.",
        acted![EVERY_OPTION, Test("winning_over_another_active_reannounces_the_addresses")],
        |c, g, n| { g.garp.lower_prio_repeat = c.u32_in(n, 0, 255).or(g.garp.lower_prio_repeat) }
    ),
    kw!(
        "vrrp_garp_interval",
        "SECS",
        "Minimum gap between GARPs on one interface.",
        acted![EVERY_OPTION, GARP_PACING],
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
        acted![EVERY_OPTION, Test("pacer_spaces_garps_on_the_wire")],
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
        acted![GLOBAL_SETTINGS, GARP_BURST_COUNT],
        |c, g, n| g.vrrp_min_garp = c.flag(n)
    ),
    kw!(
        "vrrp_garp_extra_if",
        "[all] SECS",
        "Periodic GARP on VIP interfaces other than the advert one.",
        acted![Test("garp_extra_if_all_announces_on_the_other_interface_every_period"), Test("global_defs_settings_reach_every_instance")],
        |c, g, n| { g.garp.extra_if = garp_extra_if(c, n).or(g.garp.extra_if) }
    ),
    kw!(
        "vrrp_vmac_garp_intvl",
        "[all] SECS",
        "Alias of vrrp_garp_extra_if.",
        acted![Test("global_defs_settings_reach_every_instance")],
        |c, g, n| g.garp.extra_if = garp_extra_if(c, n).or(g.garp.extra_if)
    ),
    kw!(
        "vrrp_lower_prio_no_advert",
        "[BOOL]",
        "As master, do not answer a lower priority advert.",
        acted![GLOBAL_SETTINGS, Test("r23_lower_prio_no_advert_restores_pre_9568_behaviour")],
        |c, g, n| { g.vrrp_lower_prio_no_advert = c.flag(n) }
    ),
    kw!(
        "vrrp_higher_prio_send_advert",
        "[BOOL]",
        "As master, send one advert before yielding to a higher priority.",
        HIGHER_PRIO_ALWAYS,
        |c, g, n| { g.vrrp_higher_prio_send_advert = c.flag(n) }
    ),
    kw!(
        "vrrp_owner_ignore_adverts",
        "[BOOL]",
        "Address owners ignore received adverts.",
        NOT_YET,
        |c, g, n| g.vrrp_owner_ignore_adverts = c.flag(n)
    ),
    kw!(
        "vrrp_down_timer_adverts",
        "N",
        "Missed adverts before the master is declared down.",
        acted![GLOBAL_SETTINGS, Test("r3_skew_and_down_interval_match_the_checklist_table")],
        |c, g, n| { set(&mut g.vrrp_down_timer_adverts, c.u32_in(n, 1, 100)) }
    ),
    kw!(
        "notify_fifo",
        "FIFO [USER [GROUP]]",
        "FIFO receiving every state change line.",
        acted![FIFO_LINES],
        |c, g, n| g.notify_fifo = fifo(c, n)
    ),
    kw!(
        "notify_fifo_script",
        "SCRIPT [USER [GROUP]]",
        "Script started with the notify FIFO path.",
        acted![FIFO_LINES],
        |c, g, n| g.notify_fifo_script = c.script(n)
    ),
    kw!(
        "vrrp_notify_fifo",
        "FIFO [USER [GROUP]]",
        "FIFO receiving VRRP state change lines.",
        acted![FIFO_LINES],
        |c, g, n| g.vrrp_notify_fifo = fifo(c, n)
    ),
    kw!(
        "vrrp_notify_fifo_script",
        "SCRIPT [USER [GROUP]]",
        "Script started with the VRRP FIFO path.",
        acted![FIFO_LINES],
        |c, g, n| { g.vrrp_notify_fifo_script = c.script(n) }
    ),
    kw!(
        "vrrp_notify_priority_changes",
        "[BOOL]",
        "Also write priority changes to the FIFO (instances that do not set notify_priority_changes).",
        acted![
            Test("notify_priority_changes_defaults_from_the_sync_group_then_the_global"),
            Test("vrrp_notify_priority_changes_writes_priority_lines_to_the_fifo")
        ],
        |c, g, n| { g.vrrp_notify_priority_changes = c.flag(n) }
    ),
    kw!(
        "fifo_write_vrrp_states_on_reload",
        "",
        "After a reload, write the kept sync groups' states and the kept instances that are not MASTER to the FIFOs.",
        acted![
            Test("fifo_write_vrrp_states_on_reload_writes_kept_states_as_keepalived"),
            Corpus("keywords/fifo_write_vrrp_states_on_reload.conf")
        ],
        |_, g, _| g.fifo_write_vrrp_states_on_reload = true
    ),
    kw!(
        "vrrp_startup_delay",
        "SECS",
        "Wait before starting VRRP after boot.",
        acted![Corpus("keywords/vrrp_startup_delay.conf")],
        |c, g, n| set(
            &mut g.vrrp_startup_delay_us,
            c.seconds_us(n, 0, 3_600_000_000)
        )
    ),
    kw!(
        "max_auto_priority",
        "[-1|PRIO]",
        "Highest SCHED_RR priority the daemon raises itself to, one step at a time, when its event loop runs late (bare: 99; -1: never, without the startup notice).",
        acted![AUTO_PRIORITY],
        |c, g, n| {
            // Bare: the highest SCHED_RR priority; an invalid value is ignored.
            if n.args().is_empty() {
                g.max_auto_priority = Some(99);
            } else if let Some(v) = c.int_in(n, -1, 99) {
                g.max_auto_priority = Some(v as i32);
            }
        }
    ),
    kw!(
        "dynamic_interfaces",
        "[allow_if_changes]",
        "Tolerate interfaces that do not exist yet (-t stops reporting them; vrrpd still needs them at start).",
        NOT_YET,
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
        NOT_YET,
        |c, g, n| { g.default_interface = c.string(n, "an interface name") }
    ),
    kw!(
        "vmac_prefix",
        "PREFIX",
        "Name prefix of default VMAC interface names (default vrrp).",
        acted![Corpus("keywords/vmac_prefix.conf"), Test("default_vmac_names_skip_existing_interfaces_like_keepalived")],
        |c, g, n| g.vmac_prefix = c.string(n, "a prefix")
    ),
    kw!(
        "log_unknown_vrids",
        "",
        "Log each advert for a VRID no instance on its interface runs (applied at start).",
        acted![
            Corpus("keywords/log_unknown_vrids.conf"),
            Test("log_unknown_vrids_logs_each_advert_of_a_vrid_not_run_here")
        ],
        |_, g, _| g.log_unknown_vrids = true
    ),
    kw!(
        "disable_local_igmp",
        "",
        "Do not send IGMP reports for the advert group.",
        NOT_YET,
        |_, g, _| g.disable_local_igmp = true
    ),
    kw!(
        "startup_script",
        "SCRIPT [USER [GROUP]]",
        "Script run before the VRRP instances start; they start when it ends or times out.",
        acted![STARTUP_SCRIPT_TEST, Corpus("keywords/startup_script.conf")],
        |c, g, n| start_stop_script(c, g, n, true)
    ),
    kw!(
        "shutdown_script",
        "SCRIPT [USER [GROUP]]",
        "Script run at shutdown once the VRRP instances have stopped and released their addresses.",
        acted![SHUTDOWN_SCRIPT_TEST, Corpus("keywords/shutdown_script.conf")],
        |c, g, n| start_stop_script(c, g, n, false)
    ),
    kw!(
        "state_dump_file",
        "PATH",
        "Where the state dump (SIGUSR1) is written.",
        NOT_YET,
        |c, g, n| g.state_dump_file = c.string(n, "a path")
    ),
    kw!(
        "stats_dump_file",
        "PATH",
        "Where the statistics dump (SIGUSR2) is written.",
        NOT_YET,
        |c, g, n| g.stats_dump_file = c.string(n, "a path")
    ),
    kw!(
        "json_dump_file",
        "PATH",
        "Where the JSON dump is written.",
        NOT_YET,
        |c, g, n| g.json_dump_file = c.string(n, "a path")
    ),
    kw!(
        "json_version",
        "1|2",
        "Layout of the JSON dump.",
        NOT_YET,
        |c, g, n| set(&mut g.json_version, c.int_in(n, 1, 2).map(|v| v as u8))
    ),
    kw!(
        "notification_email",
        "{ ADDR ... }",
        "E-mail recipients.",
        NO_EMAIL,
        |_, g, n| {
            g.notification_email
                .extend(n.children().iter().map(|e| e.keyword().text.clone()))
        }
    ),
    kw!(
        "notification_email_from",
        "ADDR",
        "E-mail sender.",
        NO_EMAIL,
        |c, g, n| { g.notification_email_from = c.string(n, "an address") }
    ),
    kw!(
        "smtp_server",
        "ADDR [PORT]",
        "SMTP relay.",
        NO_EMAIL,
        |c, g, n| g.smtp_server = c.string(n, "an address")
    ),
    accepted!(
        "smtp_helo_name",
        "NAME",
        "SMTP HELO name.",
        NO_EMAIL),
    accepted!(
        "smtp_connect_timeout",
        "SECS",
        "SMTP connect timeout.",
        NO_EMAIL),
    accepted!(
        "smtp_alert",
        "[BOOL]",
        "Send e-mail alerts.",
        NO_EMAIL),
    accepted!(
        "smtp_alert_vrrp",
        "[BOOL]",
        "Send e-mail alerts for VRRP.",
        NO_EMAIL),
    other_subsystem!(
        "smtp_alert_checker",
        "[BOOL]",
        "Send e-mail alerts for LVS checkers."),
    accepted!(
        "no_email_faults",
        "",
        "No e-mail for FAULT states.",
        NO_EMAIL),
    accepted!(
        "set_supplementary_groups",
        "",
        "Give scripts the user's supplementary groups.",
        NOT_YET),
    accepted!(
        "use_symlink_paths",
        "",
        "Do not resolve symlinks in script paths.",
        NOT_YET),
    kw!(
        "startup_script_timeout",
        "SECS",
        "Timeout of the startup script (1..1000, default 10): SIGTERM to its process group, SIGKILL 2 s later.",
        acted![STARTUP_TIMEOUT_TEST],
        |c, g, n| {
            set(&mut g.startup_script_timeout_secs, c.u32_in(n, 1, 1000).map(Some))
        }
    ),
    kw!(
        "shutdown_script_timeout",
        "SECS",
        "Timeout of the shutdown script (1..1000, default 10).",
        acted![SHUTDOWN_TIMEOUT_TEST],
        |c, g, n| {
            set(&mut g.shutdown_script_timeout_secs, c.u32_in(n, 1, 1000).map(Some))
        }
    ),
    accepted!(
        "process_names",
        "",
        "Name the child processes.",
        ONE_PROCESS),
    accepted!(
        "process_name",
        "NAME",
        "Name of the parent process.",
        ONE_PROCESS),
    accepted!(
        "vrrp_process_name",
        "NAME",
        "Name of the VRRP process.",
        ONE_PROCESS),
    other_subsystem!(
        "checker_process_name",
        "NAME",
        "Name of the LVS checker process."),
    other_subsystem!(
        "bfd_process_name",
        "NAME",
        "Name of the BFD process."),
    accepted!(
        "vrrp_iptables",
        "[IN [OUT]]",
        "iptables chains for no_accept.",
        declined("vrrpd filters no_accept traffic with nftables only")),
    accepted!(
        "vrrp_ipsets",
        "[NAMES]",
        "ipsets for no_accept.",
        declined("vrrpd filters no_accept traffic with nftables only")),
    accepted!(
        "nftables",
        "[TABLE]",
        "nftables table for no_accept.",
        NOT_YET),
    accepted!(
        "nftables_priority",
        "N",
        "nftables chain priority.",
        NOT_YET),
    accepted!(
        "nftables_counters",
        "",
        "nftables rule counters.",
        NOT_YET),
    accepted!(
        "nftables_ifindex",
        "",
        "nftables matches interfaces by index.",
        NOT_YET),
    kw!(
        "vrrp_delay_after_boot",
        "SECS",
        "The instances start no earlier than SECS after the system booted (/proc/uptime); the longer of this and vrrp_startup_delay applies.",
        acted![
            Test("vrrp_delay_after_boot_delays_the_start_until_that_long_after_boot"),
            Corpus("keywords/vrrp_delay_after_boot.conf")
        ],
        |c, g, n| {
            set(
                &mut g.vrrp_delay_after_boot_us,
                c.seconds_us(n, 1_000, u64::from(u32::MAX)).map(Some),
            )
        }
    ),
    accepted!(
        "vmac_addr_prefix",
        "PREFIX",
        "Name prefix of use_vmac_addr interfaces.",
        NOT_YET),
    kw!(
        "vrrp_priority",
        "N",
        "Nice value (-20..19) of the VRRP process's threads, when not realtime.",
        acted![PROCESS_NICE, Corpus("keywords/vrrp_priority.conf")],
        process_priority
    ),
    kw!(
        "vrrp_no_swap",
        "",
        "Lock the VRRP process in memory (mlockall).",
        acted![PROCESS_NO_SWAP, Corpus("keywords/vrrp_no_swap.conf")],
        |_, g, _| g.vrrp_no_swap = true
    ),
    kw!(
        "vrrp_rt_priority",
        "N",
        "SCHED_RR priority (1..99) of the VRRP process's threads.",
        acted![PROCESS_REALTIME, Corpus("keywords/vrrp_rt_priority.conf")],
        realtime_priority
    ),
    kw!(
        "vrrp_cpu_affinity",
        "CPU...",
        "The CPUs the VRRP process's threads run on.",
        acted![PROCESS_AFFINITY, Corpus("keywords/vrrp_cpu_affinity.conf")],
        cpu_affinity
    ),
    kw!(
        "vrrp_rlimit_rttime",
        "USECS",
        "RLIMIT_RTTIME of the realtime VRRP process (hard USECS, soft half; default 10000).",
        acted![PROCESS_REALTIME, Corpus("keywords/vrrp_rlimit_rttime.conf")],
        rlimit_rttime
    ),
    kw!(
        "vrrp_rlimit_rtime",
        "USECS",
        "Deprecated alias of vrrp_rlimit_rttime.",
        acted![PROCESS_REALTIME],
        rlimit_rttime
    ),
    kw!(
        "min_auto_priority_delay",
        "USECS",
        "How late (1..10000000 µs, default 1 s) the event loop must be before max_auto_priority raises the realtime priority.",
        acted![AUTO_PRIORITY],
        |c, g, n| set(&mut g.min_auto_priority_delay_us, c.u32_in(n, 1, 10_000_000))
    ),
    accepted!(
        "vrrp_rx_bufs_policy",
        "POLICY",
        "Receive buffer sizing policy.",
        NOT_YET),
    accepted!(
        "vrrp_rx_bufs_multiplier",
        "N",
        "Receive buffer size multiplier.",
        NOT_YET),
    accepted!(
        "vrrp_netlink_cmd_rcv_bufs",
        "BYTES",
        "Netlink command socket buffer.",
        NOT_YET),
    accepted!(
        "vrrp_netlink_cmd_rcv_bufs_force",
        "[BOOL]",
        "Force the netlink command buffer size.",
        NOT_YET),
    accepted!(
        "vrrp_netlink_monitor_rcv_bufs",
        "BYTES",
        "Netlink monitor socket buffer.",
        NOT_YET),
    accepted!(
        "vrrp_netlink_monitor_rcv_bufs_force",
        "[BOOL]",
        "Force the netlink monitor buffer size.",
        NOT_YET),
    accepted!(
        "process_monitor_rcv_bufs",
        "BYTES",
        "Process monitor socket buffer.",
        NOT_YET),
    accepted!(
        "process_monitor_rcv_bufs_force",
        "[BOOL]",
        "Force the process monitor buffer size.",
        NOT_YET),
    accepted!(
        "reload_check_config",
        "[FILE]",
        "Check the configuration before a reload.",
        NOT_YET),
    accepted!(
        "reload_time_file",
        "PATH",
        "Schedule reloads from a file.",
        NOT_YET),
    accepted!(
        "reload_repeat",
        "",
        "Repeat scheduled reloads.",
        NOT_YET),
    kw!(
        "reload_file",
        "[PATH]",
        "File removed once the configuration has been read, at start and at each reload (default /run/keepalived.reload, in /run/keepalived/ with use_pid_dir or instance).",
        acted![
            Test("reload_file_is_removed_once_the_configuration_is_read"),
            Corpus("keywords/reload_file.conf")
        ],
        |_, g, n| {
            g.reload_file = Some(match n.args().first() {
                Some(a) => ReloadFile::Path(a.text.clone()),
                None => ReloadFile::Default,
            })
        }
    ),
    accepted!(
        "include_check",
        "[CHECKS]",
        "Strictness of include file checks.",
        NOT_YET),
    accepted!(
        "config_save_dir",
        "DIR",
        "Where a copy of the configuration is saved.",
        NOT_YET),
    accepted!(
        "tmp_config_directory",
        "DIR",
        "Temporary configuration directory.",
        NOT_YET),
    accepted!(
        "data_use_instance",
        "",
        "Add the instance name to dump file names.",
        NOT_YET),
    accepted!(
        "umask",
        "MASK",
        "File creation mask.",
        NOT_YET),
    accepted!(
        "random_seed",
        "N",
        "Seed for random numbers.",
        NOT_YET),
    accepted!(
        "snmp_socket",
        "SOCKET",
        "AgentX socket.",
        NO_SNMP),
    accepted!(
        "enable_traps",
        "",
        "Send SNMP traps.",
        NO_SNMP),
    accepted!(
        "enable_snmp_vrrp",
        "",
        "Keepalived VRRP MIB.",
        NO_SNMP),
    accepted!(
        "enable_snmp_keepalived",
        "",
        "Alias of enable_snmp_vrrp.",
        NO_SNMP),
    accepted!(
        "enable_snmp_rfc",
        "",
        "RFC VRRP MIBs.",
        NO_SNMP),
    accepted!(
        "enable_snmp_rfcv2",
        "",
        "RFC 2787 VRRP MIB.",
        NO_SNMP),
    accepted!(
        "enable_snmp_rfcv3",
        "",
        "RFC 6527 VRRP MIB.",
        NO_SNMP),
    other_subsystem!(
        "enable_snmp_checker",
        "",
        "LVS checker MIB."),
    accepted!(
        "enable_dbus",
        "",
        "D-Bus interface.",
        NO_DBUS),
    accepted!(
        "dbus_service_name",
        "NAME",
        "D-Bus service name.",
        NO_DBUS),
    accepted!(
        "dbus_no_interface_name",
        "",
        "D-Bus object paths without interface names.",
        NO_DBUS),
    other_subsystem!(
        "lvs_id",
        "NAME",
        "LVS: old name of router_id."),
    other_subsystem!(
        "lvs_timeouts",
        "...",
        "LVS connection timeouts."),
    other_subsystem!(
        "lvs_flush",
        "",
        "LVS: flush tables at startup."),
    other_subsystem!(
        "lvs_flush_on_stop",
        "[VS]",
        "LVS: flush tables at stop."),
    other_subsystem!(
        "lvs_sync_daemon",
        "IF INSTANCE ...",
        "LVS connection sync daemon."),
    other_subsystem!(
        "checker_log_all_failures",
        "[BOOL]",
        "LVS checker logging."),
    accepted!(
        "iproute_usr_dir",
        "DIR",
        "Where iproute2 tables are read.",
        NOT_YET),
    accepted!(
        "iproute_etc_dir",
        "DIR",
        "Where iproute2 tables are read.",
        NOT_YET),
];

/// `vrrp_script` keywords.
pub static VRRP_SCRIPT: &[Keyword<VrrpScript>] = &[
    kw!(
        "script",
        "PATH|\"COMMAND ARGS\"",
        "The command to run; exit status 0 means success.",
        acted![SCRIPT_WEIGHTS, RISE_FALL],
        |c, s, n| s.script = parse::script_text(c, n)
    ),
    kw!(
        "interval",
        "SECS",
        "Seconds between runs.",
        acted![SCRIPT_WEIGHTS, RISE_FALL],
        |c, s, n| set(
            &mut s.interval_ms,
            c.seconds_us(n, 1_000, 1_000_000_000).map(|us| us / 1000)
        )
    ),
    kw!(
        "timeout",
        "SECS",
        "Seconds after which a run counts as a failure.",
        acted![Test(
            "timeout_kills_the_whole_process_group_and_counts_as_failure"
        )],
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
        acted![SCRIPT_WEIGHTS, RISE_FALL],
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
        acted![RISE_FALL, FLAKY_CHECK],
        |c, s, n| set(&mut s.rise, c.u32_in(n, 1, u32::MAX))
    ),
    kw!(
        "fall",
        "N",
        "Failures needed to count as down.",
        acted![RISE_FALL, FLAKY_CHECK],
        |c, s, n| set(&mut s.fall, c.u32_in(n, 1, u32::MAX))
    ),
    kw!(
        "user",
        "USER [GROUP]",
        "Who runs the script.",
        acted![Test("scripts_run_as_the_configured_user")],
        |c, s, n| {
            if c.arg(n, "USER [GROUP]").is_some() {
                s.run_as = c.run_as(n.args());
            }
        }
    ),
    kw!(
        "init_fail",
        "",
        "Start in the failed state.",
        acted![Test("init_fail_reports_down_until_rise_successes")],
        |_, s, _| s.init_fail = true
    ),
];

/// `vrrp_instance` keywords.
pub static VRRP_INSTANCE: &[Keyword<VrrpInstance>] = &[
    kw!(
        "state",
        "MASTER|BACKUP",
        "Initial state wanted (MASTER also means priority 255 if none is given).",
        acted![ELECTS, SAMPLE_VRRP],
        parse::instance_state
    ),
    kw!(
        "interface",
        "IF",
        "Interface adverts are sent and received on.",
        acted![ELECTS, SAMPLE_VRRP],
        |c, i, n| i.interface = c.string(n, "an interface name")
    ),
    kw!(
        "virtual_router_id",
        "1..255",
        "The VRID, shared by all routers of the group.",
        acted![ELECTS, SAMPLE_VRRP],
        |c, i, n| { i.virtual_router_id = c.int_in(n, 1, 255).map(|v| v as u8) }
    ),
    kw!(
        "priority",
        "1..255",
        "Base priority; 255 is the address owner.",
        acted![ELECTS, SAMPLE_VRRP],
        |c, i, n| i.priority = c.int_in(n, 1, 255).map(|v| v as u8).or(i.priority)
    ),
    kw!(
        "advert_int",
        "SECS",
        "Advertisement interval (v2: whole seconds, v3: centiseconds).",
        acted![ELECTS, SAMPLE_VRRP],
        |c, i, n| { set(&mut i.advert_int_us, c.seconds_us(n, 1, 255_000_000)) }
    ),
    kw!(
        "nopreempt",
        "",
        "Do not take over from a lower priority master.",
        acted![Test("nopreempt_keeps_a_lower_active"), EVERY_OPTION],
        |_, i, _| i.nopreempt = true
    ),
    kw!(
        "preempt",
        "",
        "Preempt (the default): undoes an earlier nopreempt.",
        acted![INSTANCE_SETTINGS, Test("higher_priority_started_later_preempts_after_its_own_down_interval")],
        |_, i, _| i.nopreempt = false
    ),
    kw!(
        "preempt_delay",
        "SECS",
        "Wait before preempting a lower priority master (0..1000 s).",
        acted![Scenario("vrrpd_ka_flaky_check_preempt_delay"), EVERY_OPTION],
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
        acted![PASS_INTEROP, Scenario("vrrpd_ka_v4_vrrpd_active")],
        |c, i, n| i.version = c.int_in(n, 2, 3).map(|v| v as u8).or(i.version)
    ),
    kw!(
        "native_ipv6",
        "",
        "Deprecated: force IPv6.",
        NOT_YET, |_, i, _| i
        .native_ipv6 =
        true),
    kw!(
        "vrf",
        "NAME",
        "VRF of an interface-less unicast instance.",
        NOT_YET,
        |c, i, n| i.vrf = c.string(n, "a VRF name")
    ),
    kw!(
        "debug",
        "0..4",
        "Debug level of the instance.",
        NOT_YET,
        |c, i, n| set(&mut i.debug, c.int_in(n, 0, 4).map(|v| v as u8))
    ),
    kw!(
        "virtual_ipaddress",
        "{ ADDR[/LEN] [OPTIONS] ... }",
        "The virtual addresses, added while master.",
        acted![ELECTS, SAMPLE_VRRP],
        |c, i, n| {
            i.virtual_ipaddress
                .extend(n.children().iter().filter_map(|e| c.virtual_ip(e)))
        }
    ),
    kw!(
        "virtual_ipaddress_excluded",
        "{ ADDR[/LEN] [OPTIONS] ... }",
        "Addresses added while master but not advertised.",
        acted![Corpus("keywords/virtual_ipaddress_excluded.conf"), Test("virtual_ipaddress_excluded_is_installed_and_announced_but_not_advertised")],
        |c, i, n| {
            i.virtual_ipaddress_excluded
                .extend(n.children().iter().filter_map(|e| c.virtual_ip(e)))
        }
    ),
    kw!(
        "no_virtual_ipaddress",
        "",
        "Allow an instance without addresses.",
        NOT_YET,
        |_, i, _| i.no_virtual_ipaddress = true
    ),
    kw!(
        "virtual_routes",
        "{ ROUTE ... }",
        "Routes added while master (ip route syntax, kept as text).",
        acted![Corpus("keywords/virtual_routes.conf"), Corpus("samples/vrrp-routes.conf"), Test("a_virtual_route_interface_going_down_faults_the_instance"), Test("virtual_routes_go_in_after_the_addresses_and_out_before_them")],
        |c, i, n| {
            i.virtual_routes
                .extend(n.children().iter().filter_map(|e| c.route_line(e)))
        }
    ),
    kw!(
        "virtual_rules",
        "{ RULE ... }",
        "Policy rules added while master (ip rule syntax, kept as text).",
        acted![Corpus("keywords/virtual_rules.conf"), Corpus("samples/vrrp-rules.conf")],
        |c, i, n| {
            i.virtual_rules
                .extend(n.children().iter().filter_map(|e| c.rule_line(e)))
        }
    ),
    kw!(
        "promote_secondaries",
        "",
        "Set net.ipv4.conf.IF.promote_secondaries to 1 on the interface at start (left alone if already 1), restored at exit; ignored with a VMAC (which gets it anyway).",
        acted![
            Corpus("keywords/promote_secondaries.conf"),
            Test("promote_secondaries_is_set_while_running_and_restored_at_exit")
        ],
        |_, i, _| i.promote_secondaries = true
    ),
    kw!(
        "track_interface",
        "{ IF [weight N [reverse]] ... }",
        "Interfaces whose state affects this instance.",
        acted![Test("track_interface_down_puts_the_instance_in_fault")],
        |c, i, n| {
            i.track_interface
                .extend(parse::track_list(c, "track_interface", n))
        }
    ),
    kw!(
        "track_script",
        "{ NAME [weight N [reverse|noreverse]] ... }",
        "vrrp_scripts whose result affects this instance.",
        acted![SCRIPT_WEIGHTS],
        |c, i, n| {
            i.track_script
                .extend(parse::track_list(c, "track_script", n))
        }
    ),
    kw!(
        "track_file",
        "{ NAME [weight N [reverse]] ... }",
        "track_files whose value affects this instance.",
        acted![TRACK_FILE_TEST, EVERY_OPTION],
        |c, i, n| { i.track_file.extend(parse::track_list(c, "track_file", n)) }
    ),
    kw!(
        "track_process",
        "{ NAME [weight N [reverse]] ... }",
        "Tracked processes that affect this instance.",
        acted![TRACK_PROCESS_TEST, EVERY_OPTION],
        |c, i, n| {
            i.track_process
                .extend(parse::track_list(c, "track_process", n))
        }
    ),
    kw!(
        "track_bfd",
        "{ NAME [weight N [reverse]] ... }",
        "BFD sessions that affect this instance.",
        NO_BFD,
        |c, i, n| { i.track_bfd.extend(parse::track_list(c, "track_bfd", n)) }
    ),
    kw!(
        "dont_track_primary",
        "",
        "Ignore the state of the instance's own interface.",
        acted![Corpus("keywords/dont_track_primary.conf")],
        |_, i, _| i.dont_track_primary = true
    ),
    kw!(
        "track_src_ip",
        "",
        "Go to FAULT if the source address disappears.",
        acted![Corpus("keywords/track_src_ip.conf"), Test("track_src_ip_faults_on_removal_of_the_source_address_and_recovers_on_its_return")],
        |_, i, _| i.track_src_ip = true
    ),
    kw!(
        "mcast_src_ip",
        "ADDR",
        "Source address of multicast adverts.",
        acted![EVERY_OPTION, Test("p6_unicast_send_and_send_from_both_families")],
        |c, i, n| i.mcast_src_ip = c.ip(n)
    ),
    kw!(
        "unicast_src_ip",
        "ADDR",
        "Source address of unicast adverts.",
        acted![Scenario("vrrpd_ka_v4_unicast"), Test("p6_unicast_peers_elect_and_fail_over_without_multicast")],
        |c, i, n| i.unicast_src_ip = c.ip(n)
    ),
    kw!(
        "unicast_peer",
        "{ ADDR [min_ttl N] [max_ttl N] ... }",
        "Send adverts by unicast to these peers.",
        acted![Scenario("vrrpd_ka_v4_unicast"), Test("p6_unicast_peers_elect_and_fail_over_without_multicast")],
        |c, i, n| {
            i.unicast_peers
                .extend(n.children().iter().filter_map(|e| c.unicast_peer(e)))
        }
    ),
    kw!(
        "unicast_fault_no_peer",
        "",
        "Go to FAULT when unicast is configured with no peers.",
        acted![Corpus("keywords/unicast_fault_no_peer.conf"), Test("unicast_fault_no_peer_holds_the_router_in_fault_until_a_peer_is_configured")],
        |_, i, _| i.unicast_fault_no_peer = true
    ),
    kw!(
        "unicast_ttl",
        "1..255",
        "TTL (IPv4) or hop limit (IPv6) of sent unicast adverts (default 255); received unicast adverts are accepted whatever their TTL.",
        acted![
            Corpus("keywords/unicast_ttl.conf"),
            Corpus("keywords/unicast_ttl_without_peers.conf"),
            Test("unicast_ttl_is_the_ttl_of_sent_unicast_adverts_and_any_ttl_is_accepted")
        ],
        |c, i, n| i.unicast_ttl = c.int_in(n, 1, 255).map(|v| v as u8)
    ),
    kw!(
        "check_unicast_src",
        "",
        "Accept unicast adverts only from configured peers.",
        acted![EVERY_OPTION, Test("unicast_router_checks_source_ttl_window_and_destination_kind")],
        |_, i, _| i.check_unicast_src = true
    ),
    kw!(
        "accept_unlisted_unicast_src",
        "",
        "vrrpd: accept unicast adverts from sources not in unicast_peer, as keepalived without check_unicast_src.",
        acted![Test("the_opt_out_accepts_a_non_peer_advert_as_keepalived")],
        |_, i, _| i.accept_unlisted_unicast_src = true
    ),
    kw!(
        "old_unicast_checksum",
        "[never]",
        "Send keepalived 1.3.6's VRRPv3 IPv4 unicast checksum (the pseudo-header with 224.0.0.18 as destination); `never`: discard adverts in that form and never switch to it (by default a unicast instance switches when a peer uses it).",
        acted![
            Corpus("keywords/old_unicast_checksum.conf"),
            Test("old_unicast_checksum_is_sent_followed_or_refused_on_the_wire")
        ],
        |_, i, n| { i.old_unicast_checksum = Some(!n.args().iter().any(|a| a.text == "never")) }
    ),
    kw!(
        "v3_checksum_as_v2",
        "[BOOL]",
        "VRRPv3 IPv4 checksum without the pseudo-header.",
        acted![Scenario("vrrpd_frr_v4_rfc9568"), EVERY_OPTION],
        |c, i, n| i.v3_checksum_as_v2 = c.flag(n)
    ),
    kw!(
        "mcast_dst_ip",
        "ADDR",
        "Multicast group of this instance.",
        acted![Corpus("keywords/mcast_dst_ip.conf"), Test("a_configured_multicast_group_carries_the_election")],
        |c, i, n| i.mcast_dst_ip = c.ip(n)
    ),
    kw!(
        "kernel_rx_buf_size",
        "BYTES",
        "Socket receive buffer size.",
        acted![Test("the_receive_buffer_is_raised_past_rmem_max_and_never_shrunk")],
        |c, i, n| i.kernel_rx_buf_size = c.int_in(n, 0, i64::MAX).map(|v| v as u64)
    ),
    kw!(
        "use_vmac",
        "[NAME] [MAC] [netlink_notify_msg] [group G]",
        "Use a macvlan with the virtual MAC (vrrpd acts on NAME; MAC, netlink_notify_msg and group not yet).",
        acted![Test("ipv4_vmac_private_mode_client_keeps_the_vmac_across_failover"), EVERY_OPTION],
        parse::use_vmac
    ),
    kw!(
        "use_vmac_addr",
        "",
        "Use the VMAC's address as advert source.",
        NOT_YET,
        |_, _, _| {}
    ),
    kw!(
        "vmac_xmit_base",
        "",
        "Send adverts from the base interface, not the VMAC.",
        NOT_YET,
        |_, i, _| i.vmac_xmit_base = true
    ),
    kw!(
        "use_ipvlan",
        "[NAME] [ADDR] [bridge|private|vepa]",
        "Use an ipvlan interface.",
        NOT_YET,
        |_, i, n| { i.use_ipvlan = Some(n.args().iter().map(|a| a.text.clone()).collect()) }
    ),
    kw!(
        "accept",
        "",
        "Accept packets to the virtual addresses when not owner.",
        acted![INSTANCE_SETTINGS, ACCEPT_MODE_OFF],
        |_, i, _| i.accept = Some(true)
    ),
    kw!(
        "no_accept",
        "",
        "Drop packets to the virtual addresses when not owner.",
        acted![EVERY_OPTION, ACCEPT_MODE_OFF, Scenario("vrrpd_ka_v4_vrrpd_active")],
        |_, i, _| i.accept = Some(false)
    ),
    kw!(
        "strict_mode",
        "[BOOL]",
        "Strict RFC compliance for this instance (the owner_ignore_adverts it implies for an owner is not acted on yet).",
        acted![INSTANCE_SETTINGS, ACCEPT_MODE_OFF],
        |c, i, n| i.strict_mode = c.flag(n)
    ),
    kw!(
        "skip_check_adv_addr",
        "[BOOL]",
        "A Backup does not compare the addresses of adverts from the master it follows, only their count (the mismatch is logged and counted for a new master only).",
        acted![
            Corpus("keywords/skip_check_adv_addr.conf"),
            Test("skip_check_adv_addr_checks_the_addresses_of_a_new_master_only")
        ],
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
        acted![NOTIFY_ARGS],
        |c, i, n| i.notify.master = c.script(n)
    ),
    kw!(
        "notify_backup",
        "SCRIPT [USER [GROUP]]",
        "Run on becoming BACKUP.",
        acted![NOTIFY_ARGS],
        |c, i, n| i.notify.backup = c.script(n)
    ),
    kw!(
        "notify_fault",
        "SCRIPT [USER [GROUP]]",
        "Run on entering FAULT.",
        acted![Test("track_interface_down_puts_the_instance_in_fault")],
        |c, i, n| i.notify.fault = c.script(n)
    ),
    kw!(
        "notify_stop",
        "SCRIPT [USER [GROUP]]",
        "Run when the instance stops.",
        acted![Corpus("keywords/notify_stop_priority.conf")],
        |c, i, n| i.notify.stop = c.script(n)
    ),
    kw!(
        "notify_deleted",
        "[SCRIPT [USER [GROUP]]]",
        "Run when the instance is removed by a reload.",
        acted![Test("removed_instances_are_released_and_notified_and_new_ones_elect")],
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
        acted![NOTIFY_ARGS],
        |c, i, n| i.notify.notify = c.script(n)
    ),
    kw!(
        "notify_master_rx_lower_pri",
        "SCRIPT [USER [GROUP]]",
        "Run when master hears a lower priority advert.",
        acted![Test("notify_master_rx_lower_pri_runs_when_the_master_hears_a_lower_priority_advert")],
        |c, i, n| { i.notify.master_rx_lower_pri = c.script(n) }
    ),
    kw!(
        "notify_priority_changes",
        "[BOOL]",
        "Report priority changes to the FIFO.",
        acted![
            Test("notify_priority_changes_writes_priority_lines_to_the_fifo"),
            EVERY_OPTION
        ],
        |c, i, n| i.notify_priority_changes = Some(c.flag(n))
    ),
    kw!(
        "smtp_alert",
        "[BOOL]",
        "Send e-mail on state changes.",
        NO_EMAIL,
        |c, i, n| i.smtp_alert = c.flag(n)
    ),
    kw!(
        "garp_master_delay",
        "SECS",
        "Delay of the second GARP burst after becoming master.",
        acted![SAMPLE_VRRP, INSTANCE_SETTINGS, GARP_BURSTS],
        |c, i, n| { set(&mut i.garp.master_delay_secs, c.u32_in(n, 0, 86400)) }
    ),
    kw!(
        "garp_master_repeat",
        "N",
        "GARPs per burst.",
        acted![INSTANCE_SETTINGS, GARP_BURST_COUNT],
        |c, i, n| set(&mut i.garp.master_repeat, c.u32_in(n, 1, 255))
    ),
    kw!(
        "garp_master_refresh",
        "SECS",
        "Period of GARP refreshes while master (0 = off).",
        acted![INSTANCE_SETTINGS, GARP_BURSTS],
        |c, i, n| { set(&mut i.garp.master_refresh_secs, c.u32_in(n, 0, 86400).map(Some)) }
    ),
    kw!(
        "garp_master_refresh_repeat",
        "N",
        "GARPs per refresh.",
        acted![INSTANCE_SETTINGS, GARP_BURSTS],
        |c, i, n| set(&mut i.garp.master_refresh_repeat, c.u32_in(n, 1, 255))
    ),
    kw!(
        "garp_lower_prio_delay",
        "SECS",
        "Delay of the second burst after a lower priority advert.",
        acted![Test("partition_gives_two_actives_and_heal_returns_to_one_and_the_winner_reannounces"), Test("multicast_ipv4_instance_with_every_option")],
        |c, i, n| {
            i.garp.lower_prio_delay_secs = c.u32_in(n, 0, 86400).or(i.garp.lower_prio_delay_secs)
        }
    ),
    kw!(
        "garp_lower_prio_repeat",
        "N",
        "GARPs sent after a lower priority advert.",
        acted![INSTANCE_SETTINGS, Test("winning_over_another_active_reannounces_the_addresses")],
        |c, i, n| { i.garp.lower_prio_repeat = c.u32_in(n, 0, 255).or(i.garp.lower_prio_repeat) }
    ),
    kw!(
        "garp_extra_if",
        "[all] SECS",
        "Periodic GARP on other VIP interfaces.",
        acted![Test("garp_extra_if_all_announces_on_the_other_interface_every_period"), Corpus("keywords/garp_extra_if.conf")],
        |c, i, n| i.garp.extra_if = garp_extra_if(c, n).or(i.garp.extra_if)
    ),
    kw!(
        "vmac_garp_intvl",
        "[all] SECS",
        "Alias of garp_extra_if.",
        acted![Test("garp_extra_if_all_announces_on_the_other_interface_every_period")],
        |c, i, n| i.garp.extra_if = garp_extra_if(c, n).or(i.garp.extra_if)
    ),
    kw!(
        "down_timer_adverts",
        "1..100",
        "Missed adverts before the master is declared down.",
        acted![EVERY_OPTION, Test("r3_skew_and_down_interval_match_the_checklist_table")],
        |c, i, n| set(&mut i.down_timer_adverts, c.u32_in(n, 1, 100))
    ),
    kw!(
        "timer_expired_backup",
        "[PRIO]",
        "With nopreempt: an Active served too late to have kept its role against PRIO (254) goes BACKUP.",
        acted![Corpus("keywords/timer_expired_backup.conf"), Test("timer_expired_backup_yields_when_served_later_than_a_takeover_without_preempt")],
        parse::timer_expired_backup
    ),
    kw!(
        "thread_timer_expired",
        "[PRIO]",
        "Alias of timer_expired_backup.",
        NOT_YET,
        parse::timer_expired_backup
    ),
    kw!(
        "lower_prio_no_advert",
        "[BOOL]",
        "As master, do not answer a lower priority advert.",
        acted![EVERY_OPTION, Test("r23_lower_prio_no_advert_restores_pre_9568_behaviour")],
        |c, i, n| i.lower_prio_no_advert = c.flag(n)
    ),
    kw!(
        "higher_prio_send_advert",
        "[BOOL]",
        "Send one advert before yielding to a higher priority.",
        HIGHER_PRIO_ALWAYS,
        |c, i, n| i.higher_prio_send_advert = c.flag(n)
    ),
    kw!(
        "owner_ignore_adverts",
        "[BOOL]",
        "As owner, ignore received adverts.",
        acted![Corpus("keywords/owner_ignore_adverts.conf"), Test("owner_ignore_adverts_discards_every_advert_as_owner_only")],
        |c, i, n| i.owner_ignore_adverts = c.flag(n)
    ),
    kw!(
        "authentication",
        "{ auth_type PASS|AH; auth_pass PASS }",
        "VRRPv2 authentication (password truncated to 8 bytes).",
        acted![PASS_INTEROP, SAMPLE_VRRP],
        |c, i, n| {
            let mut auth = AuthDraft::default();
            parse::dispatch(c, AUTHENTICATION, "authentication", &mut auth, n.children());
            i.authentication = auth.finish(c, n);
        }
    ),
    kw!(
        "auth_hmac",
        "{ ... }",
        "keepalived 2.4.3's HMAC-SHA256 advert authentication (draft-cassen-vrrp-auth-hmac): a 28-byte trailer on every advert, verified on receipt, each outcome counted and logged (rate-limited) in keepalived's words; exclusive with authentication. Interoperates with keepalived 2.4.3; a YAML model, which holds no keys, is refused.",
        acted![
            Test("vrrpd_active_keepalived_243_backup_verifies_our_trailers"),
            Test("keepalived_243_active_vrrpd_backup_verifies_its_trailers"),
            Test("ipv6_vrrpd_active_keepalived_243_backup_verifies_our_trailers"),
            Test("multicast_vrrpd_active_keepalived_243_backup_verifies_our_trailers"),
            Test("a_signed_advert_round_trips_from_one_router_to_another"),
            Corpus("keywords/auth_hmac.conf")
        ],
        auth_hmac::block
    ),
    other_subsystem!(
        "lvs_sync_daemon_interface",
        "IF",
        "Deprecated LVS sync daemon setting."),
    accepted!(
        "linkbeat_use_polling",
        "",
        "Deprecated: poll link state.",
        NETLINK_LINK_STATE),
];

/// An `authentication` block being parsed.
#[derive(Debug, Default)]
pub struct AuthDraft {
    auth_type: Option<AuthType>,
    auth_pass: Option<String>,
    /// Where `AH` was given (recorded with its status once the block is complete).
    ah_at: Option<super::diag::Span>,
}

impl AuthDraft {
    fn finish(self, c: &mut Ctx<'_>, node: &Node) -> Option<Authentication> {
        let auth_type = self.auth_type?;
        if self.auth_pass.is_none() {
            let kind = if auth_type == AuthType::Pass {
                "PASS"
            } else {
                "AH"
            };
            c.warn(node.span(), format!("authentication {kind} without auth_pass, expected auth_pass PASSWORD; authentication ignored"));
            return None;
        }
        if let (AuthType::Ah, Some(span)) = (auth_type, &self.ah_at) {
            let ah = &AUTHENTICATION_VALUES[0];
            c.record("authentication", ah.name, ah.status, span);
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
        acted![PASS_INTEROP, SAMPLE_VRRP],
        |c, a, n| {
            a.auth_type = match c.arg(n, "PASS or AH").map(|t| t.text.as_str()) {
                Some("PASS") => Some(AuthType::Pass),
                Some("AH") => {
                    a.ah_at = Some(n.args()[0].span.clone());
                    Some(AuthType::Ah)
                }
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
        acted![PASS_INTEROP, Scenario("vrrpd_ka_v2_pass_mismatch")],
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
    kw!(
        "key",
        "1..255 hex:HEX|ASCII|file:PATH",
        "A 32..64-byte key by id; several allow rotation. A file holds hex:HEX or ASCII, should be mode 0600 (else a security warning); `${_ENV CREDENTIALS_DIRECTORY}` finds systemd credentials.",
        acted![Test("key_rotation_with_active_key_keeps_the_backup_following"), Test("mismatched_keys_are_rejected_and_counted_by_both")],
        auth_hmac::key
    ),
    kw!(
        "active_key",
        "1..255",
        "The key id adverts are signed with; must name a key.",
        acted![
            Test("key_rotation_with_active_key_keeps_the_backup_following"),
            Test("a_reload_rotates_keys_without_a_transition"),
            Test("key_rotation_across_vrrpd_and_keepalived_243_has_no_transition")
        ],
        auth_hmac::active_key
    ),
    kw!(
        "anti_replay",
        "time|monotonic",
        "time (default): the timestamp within time_window and a growing sequence; monotonic: a growing sequence only.",
        acted![
            Test("a_replayed_advert_is_rejected_counted_and_noticed"),
            Test("a_stale_advert_is_rejected_and_the_skew_is_reported"),
            Test("a_replayed_and_an_altered_advert_of_keepalived_243_are_rejected_by_vrrpd"),
            Test("a_replayed_and_an_altered_advert_of_vrrpd_are_rejected_by_keepalived_243")
        ],
        auth_hmac::anti_replay
    ),
    kw!(
        "time_window",
        "1..300",
        "Freshness window in seconds (time mode). Default max(3 x advert_int, 5).",
        acted![
            Test("a_stale_advert_is_rejected_and_the_skew_is_reported"),
            Test("a_replayed_and_an_altered_advert_of_keepalived_243_are_rejected_by_vrrpd")
        ],
        auth_hmac::time_window
    ),
    kw!(
        "mode",
        "enforce|permissive|receive-only",
        "enforce (default; forced by strict mode): sign, require a valid trailer. permissive: sign, also accept unsigned adverts. receive-only: do not sign, accept unsigned adverts. Every mode drops a trailer that does not verify, as keepalived.",
        acted![
            Test("mode_table"),
            Test("a_forged_unsigned_priority_255_advert_leaves_the_vip_on_vrrpd"),
            Test("three_sweep_rollout_across_vrrpd_and_keepalived_243_has_no_transition")
        ],
        auth_hmac::mode
    ),
];

/// `vrrp_sync_group` keywords.
pub static VRRP_SYNC_GROUP: &[Keyword<VrrpSyncGroup>] = &[
    kw!(
        "group",
        "{ INSTANCE ... }",
        "The member instances.",
        acted![
            SAMPLE_SYNC,
            Test("sync_groups_of_two_hosts_fail_over_together_when_the_active_host_crashes")
        ],
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
        acted![
            SYNC_TRACKERS,
            Test("track_interface_down_puts_the_instance_in_fault")
        ],
        |c, g, n| {
            g.track_interface
                .extend(parse::track_list(c, "track_interface", n))
        }
    ),
    kw!(
        "track_script",
        "{ NAME [weight N [reverse]] ... }",
        "Scripts tracked by every member.",
        acted![SYNC_TRACKERS, SCRIPT_WEIGHTS],
        |c, g, n| {
            g.track_script
                .extend(parse::track_list(c, "track_script", n))
        }
    ),
    kw!(
        "track_file",
        "{ NAME [weight N [reverse]] ... }",
        "Files tracked by every member.",
        acted![SYNC_TRACKERS, TRACK_FILE_TEST],
        |c, g, n| g.track_file.extend(parse::track_list(c, "track_file", n))
    ),
    kw!(
        "track_process",
        "{ NAME [weight N [reverse]] ... }",
        "Processes tracked by every member.",
        acted![SYNC_TRACKERS, TRACK_PROCESS_TEST],
        |c, g, n| {
            g.track_process
                .extend(parse::track_list(c, "track_process", n))
        }
    ),
    kw!(
        "track_bfd",
        "{ NAME [weight N [reverse]] ... }",
        "BFD sessions tracked by every member.",
        NO_BFD,
        |c, g, n| g.track_bfd.extend(parse::track_list(c, "track_bfd", n))
    ),
    kw!(
        "notify_master",
        "SCRIPT [USER [GROUP]]",
        "Run when the group becomes MASTER.",
        acted![SAMPLE_SYNC, NOTIFY_ORDER],
        |c, g, n| g.notify.master = c.script(n)
    ),
    kw!(
        "notify_backup",
        "SCRIPT [USER [GROUP]]",
        "Run when the group becomes BACKUP.",
        acted![SAMPLE_SYNC, NOTIFY_ORDER],
        |c, g, n| g.notify.backup = c.script(n)
    ),
    kw!(
        "notify_fault",
        "SCRIPT [USER [GROUP]]",
        "Run when the group enters FAULT.",
        acted![SAMPLE_SYNC, NOTIFY_ORDER],
        |c, g, n| g.notify.fault = c.script(n)
    ),
    kw!(
        "notify_stop",
        "SCRIPT [USER [GROUP]]",
        "Run when the group stops.",
        acted![
            NOTIFY_ORDER,
            Test("stop_scripts_are_killed_after_one_second")
        ],
        |c, g, n| g.notify.stop = c.script(n)
    ),
    kw!(
        "notify",
        "SCRIPT [USER [GROUP]]",
        "Run on every group state change.",
        acted![NOTIFY_ORDER],
        |c, g, n| g.notify.notify = c.script(n)
    ),
    kw!(
        "smtp_alert",
        "[BOOL]",
        "E-mail on group state changes.",
        NO_EMAIL,
        |c, g, n| g.smtp_alert = c.flag(n)
    ),
    kw!(
        "notify_priority_changes",
        "[BOOL]",
        "Report priority changes of the members that do not set notify_priority_changes.",
        acted![Test(
            "notify_priority_changes_defaults_from_the_sync_group_then_the_global"
        )],
        |c, g, n| g.notify_priority_changes = Some(c.flag(n))
    ),
    kw!(
        "sync_group_tracking_weight",
        "",
        "Keep tracker weights of members instead of making them fault trackers.",
        acted![Test("sync_group_tracking_weight_keeps_weights")],
        |_, g, _| { g.sync_group_tracking_weight = true }
    ),
    kw!(
        "global_tracking",
        "",
        "Deprecated by keepalived, which reports it as an error and ignores it.",
        acted![Test("config_test_corrections_match_keepalived")],
        |c, g, n| {
            c.warn(
            n.span(),
            format!(
                "vrrp_sync_group {}: global_tracking is deprecated and ignored, expected track_interface, track_script or track_file on the sync group",
                g.name
            )
        )
        }
    ),
];

/// `track_file` keywords.
pub static TRACK_FILE: &[Keyword<TrackFile>] = &[
    kw!(
        "file",
        "PATH",
        "The file holding a number.",
        acted![TRACK_FILE_TEST],
        |c, t, n| t.file = c.string(n, "a path")
    ),
    kw!(
        "weight",
        "-254..254 [reverse]",
        "Multiplier of the file's value.",
        acted![TRACK_FILE_TEST],
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
        acted![Test("init_file_creates_and_overwrites")],
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
        acted![TRACK_PROCESS_TEST],
        |_, t, n| t.process = n.args().iter().map(|a| a.text.clone()).collect()
    ),
    kw!(
        "param_match",
        "[initial|partial]",
        "How ARGS are matched.",
        acted![Test("name_and_params")],
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
        acted![TRACK_PROCESS_TEST],
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
        acted![TRACK_PROCESS_TEST],
        |c, t, n| t.quorum = c.u32_in(n, 1, 65535).or(t.quorum)
    ),
    kw!(
        "quorum_max",
        "N",
        "Most processes allowed.",
        acted![TRACK_PROCESS_TEST],
        |c, t, n| t.quorum_max = c.u32_in(n, 0, 65535).or(t.quorum_max)
    ),
    kw!(
        "delay",
        "SECS",
        "Sets terminate_delay and fork_delay.",
        acted![TRACK_PROCESS_TEST, TRACK_PROCESS_DELAYS],
        |c, t, n| {
            let delay = c.seconds_us(n, 0, 3_600_000_000);
            if delay.is_some() {
                (t.delay_us, t.terminate_delay_us, t.fork_delay_us) = (delay, delay, delay);
            }
        }
    ),
    kw!(
        "terminate_delay",
        "SECS",
        "How long the count must stay out of the quorum before the process is down (a return within it is not reported).",
        acted![TRACK_PROCESS_DELAYS],
        |c, t, n| {
            let delay = c.seconds_us(n, 0, 3_600_000_000);
            t.terminate_delay_us = delay.or(t.terminate_delay_us);
        }
    ),
    kw!(
        "fork_delay",
        "SECS",
        "How long the count must stay within the quorum before the process is up (a loss within it is not reported).",
        acted![TRACK_PROCESS_DELAYS],
        |c, t, n| {
            let delay = c.seconds_us(n, 0, 3_600_000_000);
            t.fork_delay_us = delay.or(t.fork_delay_us);
        }
    ),
    kw!(
        "full_command",
        "",
        "Match the whole command line.",
        acted![Test("name_and_params")],
        |_, t, _| t.full_command = true
    ),
];

/// `garp_group` keywords.
pub static GARP_GROUP: &[Keyword<GarpGroup>] = &[
    kw!(
        "garp_interval",
        "SECS",
        "Minimum gap between GARPs.",
        acted![GARP_GROUP_TEST, GARP_PACING],
        |c, g, n| set(&mut g.garp_interval_us, c.seconds_us(n, 1, 4_294_967_295))
    ),
    kw!(
        "gna_interval",
        "SECS",
        "Minimum gap between unsolicited NAs.",
        acted![GARP_GROUP_TEST, Test("pacer_spaces_garps_on_the_wire")],
        |c, g, n| set(&mut g.gna_interval_us, c.seconds_us(n, 1, 4_294_967_295))
    ),
    kw!(
        "interface",
        "IF",
        "An interface of the group.",
        acted![GARP_GROUP_TEST, GARP_PACING],
        |c, g, n| g.interfaces.extend(c.string(n, "an interface name"))
    ),
    kw!(
        "interfaces",
        "{ IF ... }",
        "Interfaces of the group.",
        acted![GARP_GROUP_TEST, GARP_PACING],
        |_, g, n| g
            .interfaces
            .extend(n.children().iter().map(|e| e.keyword().text.clone()))
    ),
];

/// The options of a virtual address line (`virtual_ipaddress`, `virtual_ipaddress_excluded`,
/// `static_ipaddress`), each with its own status.
pub static VIRTUAL_ADDRESS_OPTIONS: &[Variant] = &[
    variant!(
        "brd",
        "ADDR|+|-",
        "IPv4 broadcast address (`+`: computed from the prefix).",
        acted![VIP_NETLINK, ADDRESS_OPTIONS_TEST]
    ),
    variant!(
        "broadcast",
        "ADDR|+|-",
        "Alias of brd.",
        acted![VIP_NETLINK]
    ),
    variant!(
        "dev",
        "IF",
        "The interface to add the address to (default: the instance's interface, or its VMAC).",
        acted![
            Corpus("keywords/vip_dev.conf"),
            Corpus("samples/vrrp-routes.conf")
        ]
    ),
    variant!(
        "scope",
        "SCOPE",
        "Address scope (IPv4).",
        acted![ADDRESS_OPTIONS_TEST]
    ),
    variant!(
        "label",
        "LABEL",
        "Address label (IPv4).",
        acted![SAMPLE_VRRP, VIP_NETLINK]
    ),
    variant!(
        "peer",
        "ADDR",
        "Peer address of a point-to-point address (the prefix becomes /32 or /128).",
        acted![Corpus("keywords/peer.conf"), VIP_FLAGS_TEST]
    ),
    variant!(
        "home",
        "",
        "IPv6 home address flag (IFA_F_HOMEADDRESS).",
        acted![Corpus("keywords/home.conf"), VIP_FLAGS_TEST]
    ),
    variant!(
        "-nodad",
        "",
        "No duplicate address detection (vrrpd never runs DAD on IPv6 VIPs).",
        acted![Test("ipv6_vip_is_nodad_and_usable_at_once")]
    ),
    variant!(
        "mngtmpaddr",
        "",
        "IPv6 temporary address management flag (IFA_F_MANAGETEMPADDR; the kernel takes it on a /64 only).",
        acted![Corpus("keywords/mngtmpaddr.conf"), VIP_FLAGS_TEST]
    ),
    variant!(
        "noprefixroute",
        "",
        "No prefix route for the address.",
        acted![ADDRESS_OPTIONS_TEST]
    ),
    variant!(
        "autojoin",
        "",
        "Join the multicast group of the address (IFA_F_MCAUTOJOIN; the kernel refuses it on a unicast address).",
        acted![Corpus("keywords/autojoin.conf"), VIP_FLAGS_TEST]
    ),
    variant!(
        "no_track",
        "",
        "Someone else removing the address is ignored: it is not re-added.",
        acted![
            Corpus("keywords/no_track.conf"),
            Test("a_no_track_vip_removed_by_someone_else_stays_removed")
        ]
    ),
    variant!(
        "preferred_lft",
        "SECS|forever",
        "Preferred lifetime of an IPv6 address (an IPv6 /128 without one gets 0: deprecated); ignored for IPv4, as keepalived.",
        acted![Corpus("keywords/preferred_lft.conf"), VIP_FLAGS_TEST]
    ),
    variant!(
        "use_vmac",
        "",
        "Put the address on the instance's VMAC.",
        NOT_YET
    ),
];

/// Keyword values with a status of their own.
pub static AUTHENTICATION_VALUES: &[Variant] = &[variant!(
    "auth_type AH",
    "",
    "IPsec AH authentication (RFC 2338).",
    declined_refused_at_start(
        "AH was dropped from VRRP by RFC 3768; an instance running without it would not authenticate to its AH peers"
    )
)];

/// The entry of an address option (`broadcast` included), if it is one.
pub fn address_option(name: &str) -> Option<&'static Variant> {
    VIRTUAL_ADDRESS_OPTIONS.iter().find(|v| v.name == name)
}

/// Every table with its block name.
pub fn all_keywords() -> Vec<KeywordInfo> {
    let mut all = Vec::new();
    collect(&mut all, "top level", TOP_LEVEL);
    collect(&mut all, "global_defs", GLOBAL_DEFS);
    collect(&mut all, "vrrp_script", VRRP_SCRIPT);
    collect(&mut all, "vrrp_instance", VRRP_INSTANCE);
    collect_variants(&mut all, ADDRESS_OPTIONS, VIRTUAL_ADDRESS_OPTIONS);
    collect(&mut all, "authentication", AUTHENTICATION);
    collect_variants(&mut all, "authentication", AUTHENTICATION_VALUES);
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

fn collect_variants(all: &mut Vec<KeywordInfo>, block: &'static str, table: &[Variant]) {
    all.extend(table.iter().map(|v| KeywordInfo {
        block,
        name: v.name,
        args: v.args,
        description: v.description,
        status: v.status,
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
            k.status.label().replace('|', "\\|"),
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

/// `vrrp_priority N` as keepalived reads it: a missing or invalid value (outside -20..19) is a
/// configuration error and leaves the nice value unchanged (0).
fn process_priority(c: &mut Ctx<'_>, g: &mut GlobalDefs, n: &Node) {
    g.vrrp_process_priority = c.int_in(n, -20, 19).map_or(0, |v| v as i8);
}

/// `vrrp_rt_priority N` as keepalived reads it: a value below 1 or above 99 is a configuration
/// error and is clamped to that bound; a missing or non-numeric one is an error and ignored.
fn realtime_priority(c: &mut Ctx<'_>, g: &mut GlobalDefs, n: &Node) {
    let Some(token) = c.arg(n, "a realtime priority 1..99") else {
        return;
    };
    let text = &token.text;
    match text.parse::<i64>() {
        Err(_) => c.warn(
            &token.span,
            format!("vrrp_rt_priority {text} is not an integer, expected 1..99"),
        ),
        Ok(p) if p < 1 => {
            c.warn(
                &token.span,
                format!("vrrp_rt_priority {p} is less than the minimum 1: using 1"),
            );
            g.vrrp_realtime_priority = 1;
        }
        Ok(p) if p > 99 => {
            c.warn(
                &token.span,
                format!("vrrp_rt_priority {p} is greater than the maximum 99: using 99"),
            );
            g.vrrp_realtime_priority = 99;
        }
        Ok(p) => g.vrrp_realtime_priority = p as u8,
    }
}

/// `vrrp_cpu_affinity CPU...` as keepalived reads it: each CPU must be below the number of
/// online CPUs; an invalid one is a configuration error and clears the whole set.
fn cpu_affinity(c: &mut Ctx<'_>, g: &mut GlobalDefs, n: &Node) {
    if c.arg(n, "CPU numbers").is_none() {
        return;
    }
    let online = nix::unistd::sysconf(nix::unistd::SysconfVar::_NPROCESSORS_ONLN)
        .ok()
        .flatten()
        .unwrap_or(1)
        .max(1);
    let mut cpus = Vec::new();
    for token in n.args() {
        match c.int_token("vrrp_cpu_affinity CPU", token, 0, online - 1) {
            Some(cpu) => cpus.push(cpu as usize),
            None => {
                g.vrrp_cpu_affinity.clear();
                return;
            }
        }
    }
    cpus.sort_unstable();
    cpus.dedup();
    g.vrrp_cpu_affinity = cpus;
}

/// `vrrp_rlimit_rttime USECS` (and the deprecated `vrrp_rlimit_rtime`) as keepalived reads it:
/// 1 counts as 2 (the soft limit is half of it); an invalid value is a configuration error and
/// sets no limit at all.
fn rlimit_rttime(c: &mut Ctx<'_>, g: &mut GlobalDefs, n: &Node) {
    if n.keyword().text == "vrrp_rlimit_rtime" {
        c.note(
            n.span(),
            "vrrp_rlimit_rtime is deprecated: use vrrp_rlimit_rttime",
        );
    }
    g.vrrp_rlimit_rttime_us = c
        .int_in(n, 1, i64::from(u32::MAX))
        .map_or(0, |v| (v as u32).max(2));
}

/// Assigns `value` if present (the default stays otherwise).
/// `startup_script` / `shutdown_script`: as keepalived, a second one is an error and the first
/// is kept.
fn start_stop_script(c: &mut Ctx<'_>, g: &mut GlobalDefs, n: &Node, startup: bool) {
    let (slot, kind) = if startup {
        (&mut g.startup_script, "startup")
    } else {
        (&mut g.shutdown_script, "shutdown")
    };
    if slot.is_some() {
        c.warn(
            &n.keyword().span,
            format!("{kind} script already specified, the first one is kept"),
        );
        return;
    }
    *slot = c.script(n);
    if slot.is_some() {
        // The startup script's first, as [`GlobalDefs::start_stop_script_origins`] says.
        let origin = super::model::Origin(n.span().clone());
        let at = if startup {
            0
        } else {
            g.start_stop_script_origins.len()
        };
        g.start_stop_script_origins.insert(at, origin);
    }
}

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
