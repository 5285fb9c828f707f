//! keepalived's defaults and consistency checks, applied after parsing: 2.2.7's, and 2.4.3's where
//! it adds one (`timer_expired_backup` without `nopreempt`).

use std::collections::{HashMap, HashSet};

use super::diag::{Diagnostic, Impact, Severity, Span};
use super::model::{AuthType, Config, Family, InitialState, TrackRef, VrrpInstance, VrrpScript};
use super::values::Ctx;
use super::LoadOptions;

/// Priority of the address owner.
const OWNER_PRIORITY: u8 = 255;
/// Default priority of a non-owner.
const DEFAULT_PRIORITY: u8 = 100;

/// Applies defaults and checks to a parsed configuration.
///
/// As in keepalived 2.2.7, a missing interface stops the checks before the script security
/// check, so a configuration with both reports only the interface problem.
pub fn resolve(ctx: &mut Ctx<'_>, config: &mut Config, options: &LoadOptions) {
    let interface_problems = ctx.count_matching(|d| d.message.contains(MISSING_INTERFACE));
    let security_checked_config = config.clone();
    drop_scriptless(ctx, config);
    let global = config.global_defs.clone();
    let scripts = config.vrrp_scripts.clone();
    for instance in &mut config.vrrp_instances {
        resolve_instance(ctx, instance, &global, &scripts, options);
    }
    check_static_interfaces(ctx, config, options);
    resolve_sync_groups(ctx, config);
    resolve_notify_priority_changes(config);
    check_duplicate_vrids(ctx, &config.vrrp_instances);
    drop_unused_scripts(ctx, config);
    if ctx.count_matching(|d| d.message.contains(MISSING_INTERFACE)) == interface_problems {
        check_script_security(ctx, &security_checked_config, options);
    }
}

/// Marker text of missing-interface diagnostics.
const MISSING_INTERFACE: &str = "does not exist on this host";

fn span_of(instance: &VrrpInstance) -> Span {
    instance.origin.0.clone()
}

/// Scripts run as root without `enable_script_security` are a security violation.
fn check_script_security(ctx: &mut Ctx<'_>, config: &Config, options: &LoadOptions) {
    let g = &config.global_defs;
    if g.enable_script_security {
        return;
    }
    let runs_as_root = match &g.script_user {
        Some(user) => user.user == "root",
        None => !options.keepalived_script_user_exists,
    };
    let runnable = |command: &str| !options.check_script_paths || program_exists(command);
    let first_script = config
        .vrrp_scripts
        .iter()
        .filter(|s| s.script.as_deref().is_some_and(runnable))
        .map(|s| s.origin.0.clone())
        .chain(
            config
                .vrrp_instances
                .iter()
                .filter(|i| i.notify.iter().any(|n| runnable(&n.command)))
                .map(span_of),
        )
        .chain(
            config
                .vrrp_sync_groups
                .iter()
                .filter(|s| s.notify.iter().any(|n| runnable(&n.command)))
                .map(|s| s.origin.0.clone()),
        )
        .next();
    // keepalived checks `startup_script` and `shutdown_script` on their own: any such script
    // that can run is a violation without `enable_script_security`, whoever runs it.
    let start_stop = [&g.startup_script, &g.shutdown_script]
        .into_iter()
        .flatten()
        .zip(&g.start_stop_script_origins)
        .find(|(s, _)| runnable(&s.command))
        .map(|(_, origin)| origin.0.clone());
    if let Some(span) = start_stop {
        ctx.push(Diagnostic::new(
            Severity::Warning,
            Impact::Security,
            &span,
            "SECURITY VIOLATION: start/shutdown scripts are run but script security is not enabled, expected enable_script_security in global_defs",
        ));
    }
    if let (true, Some(span)) = (runs_as_root, first_script) {
        ctx.push(Diagnostic::new(
            Severity::Warning,
            Impact::Security,
            &span,
            "SECURITY VIOLATION: scripts run as root but script security is not enabled, expected enable_script_security (or script_user USER) in global_defs",
        ));
    }
}

/// Whether the program of a command line exists (scripts run through the shell, such as
/// `</dev/tcp/...`, are not checked and count as missing programs, as keepalived does not flag them).
fn program_exists(command: &str) -> bool {
    // The program is the first word after keepalived's quoting rules: a path written in
    // quotes (`'/usr/local/bin/k0s' keepalived ...`) is checked like a bare one.
    let Some(program) = crate::track::exec::split_command(command)
        .ok()
        .and_then(|words| words.into_iter().next())
    else {
        return false;
    };
    let program = program.as_str();
    if program.starts_with('<') {
        return false;
    }
    if program.contains('/') {
        return std::path::Path::new(program).is_file();
    }
    std::env::var_os("PATH")
        .map(|paths| std::env::split_paths(&paths).any(|dir| dir.join(program).is_file()))
        .unwrap_or(false)
}

fn drop_scriptless(ctx: &mut Ctx<'_>, config: &mut Config) {
    config.vrrp_scripts.retain(|s| {
        if s.script.is_none() {
            ctx.warn(
                &s.origin.0,
                format!(
                    "vrrp_script {} has no script, expected script PATH; removed",
                    s.name
                ),
            );
        }
        s.script.is_some()
    });
}

fn drop_unused_scripts(ctx: &mut Ctx<'_>, config: &mut Config) {
    let used: HashSet<&str> = config
        .vrrp_instances
        .iter()
        .flat_map(|i| i.track_script.iter())
        .chain(
            config
                .vrrp_sync_groups
                .iter()
                .flat_map(|g| g.track_script.iter()),
        )
        .map(|t| t.name.as_str())
        .collect();
    let (kept, unused): (Vec<VrrpScript>, Vec<VrrpScript>) =
        std::mem::take(&mut config.vrrp_scripts)
            .into_iter()
            .partition(|s| used.contains(s.name.as_str()));
    for script in unused {
        ctx.note(
            &script.origin.0,
            format!(
                "vrrp_script {} is not used by any instance or sync group, removed",
                script.name
            ),
        );
    }
    config.vrrp_scripts = kept;
}

fn resolve_instance(
    ctx: &mut Ctx<'_>,
    inst: &mut VrrpInstance,
    global: &super::model::GlobalDefs,
    scripts: &[VrrpScript],
    options: &LoadOptions,
) {
    let span = span_of(inst);
    let name = inst.name.clone();
    // Before the global `vrrp_check_unicast_src` is merged in: only the instance's own
    // keywords make it a unicast instance for keepalived.
    check_unicast_keywords(ctx, inst);
    inst.strict_mode |= global.vrrp_strict;
    inst.check_unicast_src |= global.vrrp_check_unicast_src;
    inst.accept_unlisted_unicast_src |= global.vrrp_accept_unlisted_unicast_src;
    if inst.check_unicast_src && inst.accept_unlisted_unicast_src {
        ctx.warn(
            &span,
            format!("({name}) check_unicast_src and accept_unlisted_unicast_src are both set: unicast adverts are accepted only from unicast_peer sources"),
        );
        inst.accept_unlisted_unicast_src = false;
    }
    inst.lower_prio_no_advert |= global.vrrp_lower_prio_no_advert;
    inst.higher_prio_send_advert |= global.vrrp_higher_prio_send_advert;
    inst.owner_ignore_adverts |= global.vrrp_owner_ignore_adverts;
    if inst.virtual_router_id.is_none() {
        ctx.error(
            &span,
            format!("({name}) virtual_router_id is not set, expected virtual_router_id 1..255"),
        );
    }
    resolve_family(ctx, inst);
    resolve_version(inst, global);
    resolve_priority_and_state(ctx, inst);
    resolve_advert_int(ctx, inst);
    super::auth_hmac::resolve(ctx, inst);
    resolve_authentication(ctx, inst);
    resolve_track_scripts(ctx, inst, scripts);
    drop_own_interface_tracking(ctx, inst);
    resolve_owner(ctx, inst);
    check_timer_expired_backup(ctx, inst);
    check_transport(ctx, inst);
    check_vmac_and_multicast(ctx, inst);
    check_track_bfd(ctx, inst);
    apply_strict(ctx, inst);
    resolve_garp(inst);
    check_interfaces(ctx, inst, global, options);
}

fn resolve_family(ctx: &mut Ctx<'_>, inst: &mut VrrpInstance) {
    let family = inst
        .virtual_ipaddress
        .first()
        .map(|v| Family::of(&v.address))
        .or_else(|| inst.unicast_src_ip.as_ref().map(Family::of))
        .or_else(|| inst.mcast_src_ip.as_ref().map(Family::of))
        .or_else(|| inst.unicast_peers.first().map(|p| Family::of(&p.address)))
        .unwrap_or(if inst.native_ipv6 {
            Family::Ipv6
        } else {
            Family::Ipv4
        });
    let name = inst.name.clone();
    let span = span_of(inst);
    inst.virtual_ipaddress.retain(|v| {
        let same = Family::of(&v.address) == family;
        if !same {
            ctx.warn(&span, format!("({name}) virtual address {} has a different family than the instance's first address, ignored", v.address));
        }
        same
    });
    inst.family = Some(family);
}

fn resolve_version(inst: &mut VrrpInstance, global: &super::model::GlobalDefs) {
    let version = match (inst.version, inst.family) {
        (Some(v), Some(Family::Ipv6)) if !inst.strict_mode => v,
        (_, Some(Family::Ipv6)) => 3,
        (Some(v), _) => v,
        (None, _) => global.vrrp_version,
    };
    inst.version = Some(version);
}

fn resolve_priority_and_state(ctx: &mut Ctx<'_>, inst: &mut VrrpInstance) {
    let span = span_of(inst);
    let name = inst.name.clone();
    if inst.state == Some(InitialState::Master)
        && matches!(
            inst.authentication.as_ref().map(|a| a.auth_type),
            Some(AuthType::Ah)
        )
    {
        ctx.warn(&span, format!("({name}) initial state MASTER is incompatible with AH authentication, state cleared"));
        inst.state = None;
    }
    let priority = inst
        .priority
        .unwrap_or(if inst.state == Some(InitialState::Master) {
            OWNER_PRIORITY
        } else {
            DEFAULT_PRIORITY
        });
    inst.priority = Some(priority);
    if inst.strict_mode || inst.state.is_none() {
        inst.state = Some(if priority == OWNER_PRIORITY {
            InitialState::Master
        } else {
            InitialState::Backup
        });
    }
    if inst.state == Some(InitialState::Master) && priority != OWNER_PRIORITY {
        if inst.nopreempt {
            ctx.warn(
                &span,
                format!("({name}) nopreempt does not work with initial state MASTER, cleared"),
            );
            inst.nopreempt = false;
        }
        if inst.preempt_delay_ms != 0 {
            ctx.warn(
                &span,
                format!("({name}) preempt_delay does not work with initial state MASTER, cleared"),
            );
            inst.preempt_delay_ms = 0;
        }
    }
}

fn resolve_advert_int(ctx: &mut Ctx<'_>, inst: &mut VrrpInstance) {
    let span = span_of(inst);
    let name = inst.name.clone();
    let us = inst.advert_int_us;
    let shown = super::values::format_us(us);
    let cs = if inst.version == Some(2) {
        let secs = ((us + 500_000) / 1_000_000).clamp(1, 255);
        if secs * 1_000_000 != us {
            ctx.warn(&span, format!("({name}) VRRPv2 advert_int {shown} is not a whole number of seconds, using {secs}"));
        }
        secs * 100
    } else {
        let cs = ((us + 5_000) / 10_000).max(1);
        if cs > 4095 {
            ctx.warn(&span, format!("({name}) VRRPv3 advert_int {shown} is out of range, expected less than 40.96 seconds; using 40.95"));
            4095
        } else {
            cs
        }
    };
    inst.advert_int_cs = u16::try_from(cs).ok();
}

fn resolve_authentication(ctx: &mut Ctx<'_>, inst: &mut VrrpInstance) {
    if inst.authentication.is_none() {
        return;
    }
    let span = span_of(inst);
    let name = inst.name.clone();
    if inst.strict_mode {
        ctx.warn(
            &span,
            format!("({name}) strict mode does not support authentication, ignored"),
        );
        inst.authentication = None;
    } else if inst.version == Some(3) {
        ctx.warn(
            &span,
            format!("({name}) VRRP version 3 does not support authentication, ignored"),
        );
        inst.authentication = None;
    }
}

fn resolve_track_scripts(ctx: &mut Ctx<'_>, inst: &mut VrrpInstance, scripts: &[VrrpScript]) {
    let span = span_of(inst);
    let name = inst.name.clone();
    inst.track_script.retain_mut(
        |track| match scripts.iter().find(|s| s.name == track.name) {
            Some(script) => {
                inherit_weight(track, script);
                true
            }
            None => {
                ctx.warn(
                    &span,
                    format!(
                        "({name}) track_script {} is not a defined vrrp_script, ignored",
                        track.name
                    ),
                );
                false
            }
        },
    );
}

fn inherit_weight(track: &mut TrackRef, script: &VrrpScript) {
    if track.weight.is_none() {
        track.weight = Some(script.weight);
        track.reverse = Some(track.reverse.unwrap_or(script.weight_reverse));
    }
    track.reverse.get_or_insert(false);
}

fn drop_own_interface_tracking(ctx: &mut Ctx<'_>, inst: &mut VrrpInstance) {
    let Some(own) = inst.interface.clone() else {
        return;
    };
    let span = span_of(inst);
    let name = inst.name.clone();
    inst.track_interface.retain(|t| {
        if t.name == own {
            ctx.warn(
                &span,
                format!("({name}) track_interface {own} is the instance's own interface, ignored"),
            );
        }
        t.name != own
    });
}

/// Rules for the address owner (priority 255).
fn resolve_owner(ctx: &mut Ctx<'_>, inst: &mut VrrpInstance) {
    let is_owner = inst.priority == Some(OWNER_PRIORITY);
    if !is_owner {
        inst.accept.get_or_insert(!inst.strict_mode);
        return;
    }
    let span = span_of(inst);
    let name = inst.name.clone();
    for (list, trackers) in [
        ("track_interface", &mut inst.track_interface),
        ("track_script", &mut inst.track_script),
        ("track_file", &mut inst.track_file),
        ("track_process", &mut inst.track_process),
        ("track_bfd", &mut inst.track_bfd),
    ] {
        trackers.retain(|t| {
            let weighted = t.weight.is_some_and(|w| w != 0);
            if weighted {
                ctx.warn(&span, format!("({name}) {list} {} has a weight but priority 255 cannot change, tracker ignored", t.name));
            }
            !weighted
        });
    }
    if inst.nopreempt {
        ctx.warn(
            &span,
            format!("({name}) nopreempt does not work with priority 255 (the address owner always preempts), cleared"),
        );
    }
    inst.nopreempt = false;
    inst.accept = Some(true);
}

/// keepalived 2.4.3: `timer_expired_backup` only acts together with `nopreempt` (also when
/// nopreempt was cleared above, for state MASTER or the owner); without it the keyword is
/// reset, a configuration error (`-t` exits 5).
fn check_timer_expired_backup(ctx: &mut Ctx<'_>, inst: &mut VrrpInstance) {
    if inst.nopreempt || inst.timer_expired_backup.is_none() {
        return;
    }
    let span = span_of(inst);
    ctx.warn(
        &span,
        format!(
            "({}) timer_expired_backup requires nopreempt, ignored",
            inst.name
        ),
    );
    inst.timer_expired_backup = None;
}

fn check_transport(ctx: &mut Ctx<'_>, inst: &VrrpInstance) {
    let span = span_of(inst);
    let name = &inst.name;
    let unicast = !inst.unicast_peers.is_empty();
    if inst.interface.is_none() && (!unicast || inst.unicast_src_ip.is_none()) {
        ctx.error(&span, format!("({name}) has no interface, expected interface IF (or unicast_src_ip with unicast_peer)"));
    }
    let needs_vips = inst.version == Some(3) || inst.strict_mode;
    if needs_vips && inst.virtual_ipaddress.is_empty() && !inst.no_virtual_ipaddress {
        ctx.error(&span, format!("({name}) has no virtual_ipaddress, expected at least one with VRRPv3 or strict mode"));
    }
    if inst.strict_mode && unicast {
        ctx.error(
            &span,
            format!("({name}) unicast_peer is not allowed in strict mode"),
        );
    }
}

/// keepalived's checks of the unicast keywords at the end of the `vrrp_instance` block and
/// when the instance is completed. Any of `unicast_peer`, `unicast_src_ip`,
/// `unicast_fault_no_peer`, `check_unicast_src` and `old_unicast_checksum` makes the
/// instance "unicast configured" (an empty `unicast_peer { }` block does too in keepalived;
/// the model cannot tell it from no block).
fn check_unicast_keywords(ctx: &mut Ctx<'_>, inst: &mut VrrpInstance) {
    let span = span_of(inst);
    let name = inst.name.clone();
    let no_peers = inst.unicast_peers.is_empty();
    let configured = !no_peers
        || inst.unicast_src_ip.is_some()
        || inst.unicast_fault_no_peer
        || inst.check_unicast_src
        || inst.old_unicast_checksum.is_some();
    let virtual_interface = inst.use_vmac.is_some() || inst.use_ipvlan.is_some();
    if configured && virtual_interface {
        if inst.interface.is_none() {
            ctx.warn(&span, format!("({name}) use_vmac (or use_ipvlan) with unicast needs an interface, expected interface IF; use_vmac cleared"));
            inst.use_vmac = None;
            inst.use_ipvlan = None;
        } else if !inst.vmac_xmit_base {
            ctx.warn(&span, format!("({name}) unicast with use_vmac requires vmac_xmit_base (adverts sent from the base interface), set"));
            inst.vmac_xmit_base = true;
        }
    }
    if inst.promote_secondaries && virtual_interface {
        ctx.warn(
            &span,
            format!("({name}) promote_secondaries is automatically set for vmacs, ignored"),
        );
        inst.promote_secondaries = false;
    }
    if no_peers && inst.unicast_ttl.is_some() {
        ctx.warn(
            &span,
            format!(
                "({name}) unicast_ttl needs unicast peers, expected a unicast_peer block; reset"
            ),
        );
        inst.unicast_ttl = None;
    }
    if configured && no_peers && !inst.unicast_fault_no_peer {
        ctx.warn(&span, format!("({name}) a unicast keyword is given without any unicast peer, so multicast is used (deprecated by keepalived), expected a unicast_peer block or no unicast keyword"));
    }
}

/// `vmac_xmit_base` without a VMAC, and a multicast group with unicast peers: keepalived
/// reports and drops the setting.
fn check_vmac_and_multicast(ctx: &mut Ctx<'_>, inst: &mut VrrpInstance) {
    let span = span_of(inst);
    let name = inst.name.clone();
    if inst.vmac_xmit_base && inst.use_vmac.is_none() {
        ctx.warn(
            &span,
            format!("({name}) vmac_xmit_base only applies with use_vmac, cleared"),
        );
        inst.vmac_xmit_base = false;
    }
    if !inst.unicast_peers.is_empty() && inst.mcast_dst_ip.is_some() {
        ctx.warn(
            &span,
            format!("({name}) mcast_dst_ip does not apply to a unicast instance, ignored"),
        );
        inst.mcast_dst_ip = None;
    }
}

/// `track_bfd` entries must name a `bfd_instance` (a skipped block, vrrpd has no BFD), as
/// keepalived requires; others are dropped.
fn check_track_bfd(ctx: &mut Ctx<'_>, inst: &mut VrrpInstance) {
    let span = span_of(inst);
    let who = format!("({})", inst.name);
    drop_unknown_bfd(ctx, &span, &who, &mut inst.track_bfd);
}

fn drop_unknown_bfd(ctx: &mut Ctx<'_>, span: &Span, who: &str, track_bfd: &mut Vec<TrackRef>) {
    let known = ctx.bfd_instances().to_vec();
    track_bfd.retain(|t| {
        let found = known.contains(&t.name);
        if !found {
            ctx.warn(
                span,
                format!(
                    "{who} track_bfd {} is not a defined bfd_instance, ignored",
                    t.name
                ),
            );
        }
        found
    });
}

fn apply_strict(ctx: &mut Ctx<'_>, inst: &mut VrrpInstance) {
    if !inst.strict_mode {
        return;
    }
    let span = span_of(inst);
    let name = inst.name.clone();
    if inst.preempt_delay_ms != 0 {
        ctx.warn(
            &span,
            format!("({name}) strict mode does not support preempt_delay, cleared"),
        );
        inst.preempt_delay_ms = 0;
    }
    if inst.down_timer_adverts != 3 {
        ctx.warn(
            &span,
            format!("({name}) strict mode requires down_timer_adverts 3, reset"),
        );
        inst.down_timer_adverts = 3;
    }
    inst.garp.lower_prio_delay_secs = Some(0);
    inst.garp.lower_prio_repeat = Some(0);
    inst.higher_prio_send_advert = false;
    inst.vmac_xmit_base = false;
    inst.lower_prio_no_advert = true;
    if inst.priority == Some(OWNER_PRIORITY) {
        inst.owner_ignore_adverts = true;
    }
}

fn resolve_garp(inst: &mut VrrpInstance) {
    let garp = &mut inst.garp;
    garp.lower_prio_delay_secs
        .get_or_insert(garp.master_delay_secs);
    garp.lower_prio_repeat.get_or_insert(garp.master_repeat);
}

fn check_interfaces(
    ctx: &mut Ctx<'_>,
    inst: &VrrpInstance,
    global: &super::model::GlobalDefs,
    options: &LoadOptions,
) {
    let Some(known) = &options.known_interfaces else {
        return;
    };
    if global.dynamic_interfaces.is_some() {
        return;
    }
    let span = span_of(inst);
    let name = &inst.name;
    let mut missing = inst
        .interface
        .iter()
        .map(|i| (i.as_str(), "interface"))
        .collect::<Vec<_>>();
    missing.extend(
        inst.track_interface
            .iter()
            .map(|t| (t.name.as_str(), "track_interface")),
    );
    missing.extend(
        inst.virtual_ipaddress
            .iter()
            .filter_map(|v| v.dev.as_deref())
            .map(|d| (d, "virtual_ipaddress dev")),
    );
    for (interface, role) in missing
        .into_iter()
        .filter(|(i, _)| !known.iter().any(|k| k == i))
    {
        ctx.warn(&span, format!("({name}) {role} {interface} does not exist on this host, expected an existing interface or dynamic_interfaces"));
    }
}

/// keepalived's rule for `notify_priority_changes`: the instance's own, else its sync group's,
/// else the global `vrrp_notify_priority_changes`.
fn resolve_notify_priority_changes(config: &mut Config) {
    let global = config.global_defs.vrrp_notify_priority_changes;
    let groups = &config.vrrp_sync_groups;
    for inst in &mut config.vrrp_instances {
        if inst.notify_priority_changes.is_none() {
            let group = (inst.sync_group.as_ref())
                .and_then(|name| groups.iter().find(|g| &g.name == name))
                .and_then(|g| g.notify_priority_changes);
            inst.notify_priority_changes = Some(group.unwrap_or(global));
        }
    }
}

fn resolve_sync_groups(ctx: &mut Ctx<'_>, config: &mut Config) {
    let mut owner_of: HashMap<String, String> = HashMap::new();
    for group in &mut config.vrrp_sync_groups {
        let span = group.origin.0.clone();
        let who = format!("vrrp_sync_group {}:", group.name);
        drop_unknown_bfd(ctx, &span, &who, &mut group.track_bfd);
        let instances = &config.vrrp_instances;
        let gname = group.name.clone();
        group.group.retain(|member| {
            let exists = instances.iter().any(|i| &i.name == member);
            if !exists {
                ctx.warn(&span, format!("vrrp_sync_group {gname}: instance {member} does not exist, ignored"));
            } else if let Some(other) = owner_of.get(member) {
                ctx.warn(&span, format!("vrrp_sync_group {gname}: instance {member} is already in group {other}, ignored"));
                return false;
            }
            exists
        });
        for member in &group.group {
            owner_of.insert(member.clone(), gname.clone());
        }
        if group.group.len() < 2 {
            ctx.warn(
                &span,
                format!(
                    "vrrp_sync_group {gname} has {} instance(s), expected at least 2",
                    group.group.len()
                ),
            );
        }
    }
    for group in &config.vrrp_sync_groups {
        for inst in config
            .vrrp_instances
            .iter_mut()
            .filter(|i| group.group.contains(&i.name))
        {
            inst.sync_group = Some(group.name.clone());
            if !group.sync_group_tracking_weight {
                apply_sync_group_tracking(ctx, inst);
            }
        }
    }
}

/// Without `sync_group_tracking_weight`, members cannot use weighted trackers: weighted
/// scripts, files, processes and BFD are removed and weighted interfaces become fault trackers.
fn apply_sync_group_tracking(ctx: &mut Ctx<'_>, inst: &mut VrrpInstance) {
    let span = span_of(inst);
    let name = inst.name.clone();
    for track in &mut inst.track_interface {
        if track.weight.is_some_and(|w| w != 0) {
            ctx.note(&span, format!("({name}) track_interface {} weight ignored in a sync group, it is a fault tracker", track.name));
            track.weight = Some(0);
        }
    }
    for (list, trackers) in [
        ("track_script", &mut inst.track_script),
        ("track_process", &mut inst.track_process),
        ("track_bfd", &mut inst.track_bfd),
    ] {
        trackers.retain(|t| {
            let weighted = t.weight.is_some_and(|w| w != 0);
            if weighted {
                ctx.note(&span, format!("({name}) {list} {} has a weight, which a sync group member cannot use; ignored", t.name));
            }
            !weighted
        });
    }
    for track in &mut inst.track_file {
        if track.weight.is_none() {
            track.weight = Some(0);
        }
    }
}

fn check_duplicate_vrids(ctx: &mut Ctx<'_>, instances: &[VrrpInstance]) {
    let mut seen: HashMap<(u8, Option<Family>, String, bool), &str> = HashMap::new();
    for inst in instances {
        let Some(vrid) = inst.virtual_router_id else {
            continue;
        };
        let unicast = !inst.unicast_peers.is_empty();
        let key = (
            vrid,
            inst.family,
            inst.interface.clone().unwrap_or_default(),
            unicast,
        );
        if let Some(first) = seen.get(&key) {
            if !unicast || peers_overlap(instances, first, inst) {
                let family = if inst.family == Some(Family::Ipv6) {
                    "IPv6"
                } else {
                    "IPv4"
                };
                ctx.error(
                    &span_of(inst),
                    format!("({}) VRID {vrid} with {family} on interface {} is already used by {first}, expected a unique VRID", inst.name, key.2),
                );
            }
            continue;
        }
        seen.insert(key, &inst.name);
    }
}

fn peers_overlap(instances: &[VrrpInstance], first: &str, second: &VrrpInstance) -> bool {
    let Some(first) = instances.iter().find(|i| i.name == first) else {
        return false;
    };
    first
        .unicast_peers
        .iter()
        .any(|p| second.unicast_peers.iter().any(|q| q.address == p.address))
}

/// The interface named by `dev IF` (or `oif`/`iif`) in a route or rule line.
fn route_dev(line: &str) -> Option<&str> {
    let words: Vec<&str> = line.split_whitespace().collect();
    words
        .windows(2)
        .find(|w| matches!(w[0], "dev" | "oif" | "iif"))
        .map(|w| w[1])
}

fn check_static_interfaces(ctx: &mut Ctx<'_>, config: &Config, options: &LoadOptions) {
    let Some(known) = &options.known_interfaces else {
        return;
    };
    if config.global_defs.dynamic_interfaces.is_some() {
        return;
    }
    let devs = config
        .static_ipaddress
        .iter()
        .filter_map(|v| v.dev.as_deref())
        .chain(
            config
                .static_routes
                .iter()
                .chain(&config.static_rules)
                .filter_map(|r| route_dev(r)),
        );
    let first = config
        .vrrp_instances
        .first()
        .map(span_of)
        .unwrap_or_default();
    for dev in devs.filter(|d| !known.iter().any(|k| k == d)) {
        ctx.warn(&first, format!("static address or route interface {dev} does not exist on this host, expected an existing interface or dynamic_interfaces"));
    }
}
