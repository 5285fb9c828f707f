//! `keepalived.data` (`SIGUSR1`): the configuration and state in keepalived 2.2.7's words.

use std::fmt::Write as _;
use std::net::IpAddr;
use std::time::Duration;

use chrono::{DateTime, Local, Utc};

use super::model::{
    AuthDump, ChecksumCompat, DumpInput, DumpState, GlobalsDump, InstanceDump, InterfaceDump,
    NotifyDump, ScriptDump, ScriptStatus, SyncGroupDump, TrackedDump, Zone,
};

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
        render_instance(&mut o, i, input.zone);
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
        if g.max_auto_priority == -1 {
            " Max auto priority = Disabled".to_string()
        } else {
            format!(" Max auto priority = {}", g.max_auto_priority)
        },
        format!(
            " Min auto priority delay = {} usecs",
            g.min_auto_priority_delay.as_micros()
        ),
    ];
    for l in lines {
        o.push_str(&l);
        o.push('\n');
    }
    // Process tuning: the VRRP process's settings; the checker's and BFD's are keepalived's
    // defaults (vrrpd has neither process).
    let _ = writeln!(o, " VRRP process priority = {}", g.vrrp_process_priority);
    let _ = writeln!(o, " VRRP don't swap = {}", tf(g.vrrp_no_swap));
    let _ = writeln!(o, " VRRP realtime priority = {}", g.vrrp_realtime_priority);
    if !g.vrrp_cpu_affinity.is_empty() {
        let cpus: Vec<String> = g
            .vrrp_cpu_affinity
            .iter()
            .map(|c| format!("{c} "))
            .collect();
        let _ = writeln!(o, " VRRP CPU Affinity = {}", cpus.concat());
    }
    let _ = writeln!(o, " VRRP realtime limit = {}", g.vrrp_rlimit_rttime);
    // SNMP, DBus and LVS: not configurable in vrrpd, keepalived's defaults.
    for p in ["Checker", "BFD"] {
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

fn render_instance(o: &mut String, i: &InstanceDump, zone: Zone) {
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
        format_time(i.last_transition, zone)
    );
    match i.read_timeout {
        Some(t) => {
            let _ = writeln!(o, "   Read timeout = {}", format_time(t, zone));
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

/// `SECS.USEC (Www Mmm dd hh:mm:ss.USEC yyyy)`, the date in `zone` (keepalived: `ctime` in
/// local time).
fn format_time(t: Duration, zone: Zone) -> String {
    let (secs, usec) = (t.as_secs(), t.subsec_micros());
    let utc = i64::try_from(secs)
        .ok()
        .and_then(|s| DateTime::<Utc>::from_timestamp(s, usec * 1000))
        .unwrap_or_default();
    const CTIME: &str = "%a %b %e %H:%M:%S%.6f %Y";
    let date = match zone {
        Zone::Utc => utc.format(CTIME).to_string(),
        Zone::Local => utc.with_timezone(&Local).format(CTIME).to_string(),
    };
    format!("{secs}.{usec:06} ({date})")
}
