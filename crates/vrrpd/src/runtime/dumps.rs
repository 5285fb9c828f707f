//! keepalived's dump files on SIGUSR1 (data), SIGUSR2 (stats), SIGRTMAX-1 (stats, then the
//! counters cleared) and SIGRTMIN+2 (JSON), written atomically to `$TMPDIR` or /tmp (see
//! docs/dump-files.md).
//!
//! Every value comes from the running daemon: the driver's status (states, times on the wall
//! clock, priorities, the VIPs it holds, counters, sync-group states), the trackers (script
//! verdicts, counters, runs in progress), the kernel (interfaces, read when the signal
//! arrives) and the running configuration (globals, instances, scripts).

use std::net::IpAddr;
use std::time::{Duration, SystemTime};

use vrrp_core::TrackState;
use vrrp_net::driver::{DriverStatus, InstanceStatus};

use crate::convert::{InstancePlan, TrackSource};
use crate::dump::{
    self, DumpInput, DumpKind, DumpState, GlobalsDump, InstanceDump, InterfaceDump, JsonVersion,
    ScriptDump, ScriptStatus, SyncGroupDump, TrackedDump, Zone,
};
use crate::track::exec::ScriptPolicy;

use super::trackers::Trackers;
use super::Running;

mod interfaces;

/// What a signal asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// SIGUSR1: keepalived.data.
    Data,
    /// SIGUSR2: keepalived.stats.
    Stats,
    /// SIGRTMAX-1 (`STATS_CLEAR`): keepalived.stats, then every counter set to zero.
    StatsClear,
    /// SIGRTMIN+2: keepalived.json.
    Json,
}

/// Renders and writes one dump file (and clears the counters for [`Kind::StatsClear`]);
/// failures are logged, never fatal.
pub async fn write(running: &Running, trackers: &Trackers, kind: Kind) {
    let pid = std::process::id();
    match kind {
        Kind::Data => tracing::info!("Printing VRRP data for process({pid}) on signal"),
        Kind::Stats => tracing::info!("Printing VRRP stats for process({pid}) on signal"),
        Kind::StatsClear => {
            tracing::info!("Printing and clearing VRRP stats for process({pid}) on signal")
        }
        // keepalived logs nothing for the JSON signal.
        Kind::Json => tracing::debug!("JSON dump requested"),
    }
    let status = match running.handle.status().await {
        Ok(s) => s,
        Err(e) => return tracing::error!(error = %e, "dump: no status from the driver"),
    };
    let interfaces = if kind == Kind::Data {
        interfaces::read().await.unwrap_or_else(|e| {
            tracing::warn!(error = %e, "dump: interfaces not read");
            Vec::new()
        })
    } else {
        Vec::new()
    };
    let input = dump_input(running, trackers, &status, interfaces);
    let g = &running.loaded.config.global_defs;
    let (file, configured, text) = match kind {
        Kind::Data => (
            DumpKind::Data,
            &g.state_dump_file,
            dump::render_data(&input),
        ),
        Kind::Stats | Kind::StatsClear => (
            DumpKind::Stats,
            &g.stats_dump_file,
            dump::render_stats(&input),
        ),
        Kind::Json => (DumpKind::Json, &g.json_dump_file, dump::render_json(&input)),
    };
    if kind == Kind::Json && input.instances.is_empty() {
        tracing::info!("dump: no instances, no JSON file (as keepalived)");
    } else {
        let tmpdir = std::env::var_os("TMPDIR");
        let path = file.path(tmpdir.as_deref(), configured.as_deref());
        match dump::write_atomic(&path, &text) {
            Ok(()) => tracing::info!(path = %path.display(), "dump written"),
            Err(e) => tracing::error!(path = %path.display(), error = %e, "dump not written"),
        }
    }
    if kind == Kind::StatsClear {
        match running.handle.clear_stats().await {
            Ok(()) => tracing::info!("VRRP statistics cleared"),
            Err(e) => tracing::error!(error = %e, "statistics not cleared"),
        }
    }
}

fn dump_input(
    running: &Running,
    trackers: &Trackers,
    status: &DriverStatus,
    interfaces: Vec<InterfaceDump>,
) -> DumpInput {
    let cfg = &running.loaded.config;
    let policy = ScriptPolicy::from_global(&cfg.global_defs)
        .unwrap_or_else(|_| ScriptPolicy::current_user());
    let uid_gid = (policy.default_user.uid, policy.default_user.gid);
    let script_states: Vec<_> = trackers.scripts().collect();
    let known = |name: &str| {
        (script_states.iter())
            .find(|(n, ..)| *n == name)
            .and_then(|(_, _, state)| *state)
    };
    // One entry per running plan (instances a reload could not start have no status and are
    // left out, so sync-group members are looked up by plan index through `index`).
    let mut index = vec![None; running.plans.len()];
    let mut instances: Vec<InstanceDump> = Vec::new();
    for (i, (plan, slot)) in running.plans.iter().zip(&running.slots).enumerate() {
        let found = slot.and_then(|s| status.instances.iter().find(|x| x.index == s));
        if let Some(live) = found {
            index[i] = Some(instances.len());
            instances.push(instance(plan, live, uid_gid, &interfaces, &known));
        }
    }
    let sync_groups = running
        .groups
        .iter()
        .enumerate()
        .map(|(k, g)| {
            let states: Vec<DumpState> = (g.members.iter())
                .filter_map(|&m| index.get(m).copied().flatten())
                .filter_map(|m| instances.get(m))
                .map(|i| i.state)
                .collect();
            // The group's state is the driver's (vrrp-core's one rule for sync groups).
            let state =
                (status.sync_groups.get(k)).map_or(DumpState::Init, |s| DumpState::from(s.state));
            let count = |s: DumpState| states.iter().filter(|x| **x == s).count() as u32;
            SyncGroupDump {
                name: g.name.clone(),
                state,
                members: (g.members.iter())
                    .filter_map(|&m| running.plans.get(m))
                    .map(|p| p.router.name.to_string())
                    .collect(),
                member_faults: count(DumpState::Fault),
                member_init: count(DumpState::Init),
                tracking_weight: false,
                smtp_alert: g.notify.smtp_alert,
                notify: dump::NotifyDump::from_scripts(g.notify.scripts(), uid_gid),
            }
        })
        .collect();
    let scripts = (cfg.vrrp_scripts.iter())
        .map(|s| {
            let live = script_states.iter().find(|(n, ..)| *n == s.name);
            let tracking = tracking(
                &running.plans,
                |src| matches!(src, TrackSource::Script(n) if *n == s.name),
            );
            ScriptDump {
                name: s.name.clone(),
                command: dump::quote_command(&dump::split_command(
                    s.script.as_deref().unwrap_or(""),
                )),
                interval: Duration::from_millis(s.interval_ms),
                timeout: s.timeout_ms.map(Duration::from_millis),
                weight: s.weight,
                reverse: s.weight_reverse,
                rise: s.rise,
                fall: s.fall,
                result: live.map_or(0, |(_, p, _)| p.counter),
                // Used but not running: refused at start (insecure, or not runnable).
                insecure: live.is_none() && !tracking.is_empty(),
                status: match (live.and_then(|(_, _, state)| *state), s.init_fail) {
                    (Some(TrackState::Down), _) => ScriptStatus::Bad,
                    (Some(_), _) => ScriptStatus::Good,
                    (None, true) => ScriptStatus::InitFailed,
                    (None, false) => ScriptStatus::Init,
                },
                uid_gid: s.run_as.as_ref().map_or(uid_gid, |r| {
                    policy
                        .credentials_for(Some(r))
                        .map_or(uid_gid, |c| (c.uid, c.gid))
                }),
                tracking,
                running: live.is_some_and(|(_, p, _)| p.running),
            }
        })
        .collect();
    let host_name = nix::unistd::gethostname()
        .ok()
        .and_then(|h| h.into_string().ok())
        .unwrap_or_default();
    DumpInput {
        globals: GlobalsDump::from_config(&cfg.global_defs, &host_name, uid_gid, umask()),
        instances,
        sync_groups,
        scripts,
        interfaces: interfaces
            .into_iter()
            .map(|l| with_tracking(l, &running.plans))
            .collect(),
        zone: Zone::Local,
        json_version: JsonVersion::from_config(cfg.global_defs.json_version),
    }
}

/// One instance: the plan and the router's status, then what the driver and the trackers
/// know now.
fn instance(
    plan: &InstancePlan,
    live: &InstanceStatus,
    uid_gid: (u32, u32),
    links: &[InterfaceDump],
    script_state: &dyn Fn(&str) -> Option<TrackState>,
) -> InstanceDump {
    let r = &live.router;
    let mut d = InstanceDump::from_plan(plan, r, uid_gid);
    d.last_transition = live.since.map_or(Duration::ZERO, since_epoch);
    d.read_timeout = (d.state != DumpState::Fault)
        .then_some(live.next_timeout.map(since_epoch))
        .flatten();
    d.master_priority = r.last_active_priority.unwrap_or(0);
    // A Fault its sync group imposes: the instance itself would be Backup.
    d.wanted_state = match d.state {
        DumpState::Fault if !live.own_fault => DumpState::Backup,
        s => s,
    };
    let installed = |a: &IpAddr| live.installed_vips.contains(a);
    for v in d.vips.iter_mut().chain(d.excluded_vips.iter_mut()) {
        v.set = installed(&v.address);
    }
    d.vips_set =
        d.state == DumpState::Master && (d.vips.is_empty() || d.vips.iter().any(|v| v.set));
    if live.vip_interface != live.interface {
        d.vmac_ifname = live.vip_interface.to_string();
    }
    // Whether interface `name` is up (`None`: not known, the links are read for the data file
    // only).
    let link_up = |name: &str| {
        (!links.is_empty()).then(|| links.iter().any(|l| l.name == name && l.up && l.running))
    };
    let own_link = (plan.interface.as_deref()).is_some_and(|i| link_up(i) == Some(false));
    d.source_from_config = links
        .iter()
        .find(|l| Some(l.name.as_str()) == plan.interface.as_deref())
        .is_some_and(|l| {
            l.ipv4.map(IpAddr::V4) != Some(r.primary_addr) && r.primary_addr.is_ipv4()
        });
    // Weight-0 trackers whose object is failed (a reverse one: whose object is OK), plus the
    // instance's own interface: keepalived's "interface and track script faults".
    let failed = |t: &crate::convert::TrackerPlan| match &t.source {
        TrackSource::Interface(name) => link_up(name).map(|up| !up),
        TrackSource::Script(name) => script_state(name).map(|s| s == TrackState::Down),
        _ => None,
    };
    let tracker_faults = (plan.trackers.iter())
        .filter(|t| t.tracker.weight == 0)
        .filter(|t| failed(t).is_some_and(|down| down != t.tracker.reverse))
        .count();
    d.track_faults = (tracker_faults + usize::from(own_link)) as u32;
    d.scripts_init = (plan.trackers.iter())
        .filter(|t| matches!(&t.source, TrackSource::Script(n) if script_state(n).is_none()))
        .count() as u32;
    d
}

/// The instances (by name) with a tracker on a source `matches` accepts, with its weight.
fn tracking(plans: &[InstancePlan], matches: impl Fn(&TrackSource) -> bool) -> Vec<TrackedDump> {
    (plans.iter())
        .flat_map(|p| {
            (p.trackers.iter())
                .filter(|t| matches(&t.source))
                .map(|t| TrackedDump {
                    name: p.router.name.to_string(),
                    weight: t.tracker.weight,
                    reverse: t.tracker.reverse,
                })
        })
        .collect()
}

/// A host interface with the instances that run on it (weight 0) or track it.
fn with_tracking(mut l: InterfaceDump, plans: &[InstancePlan]) -> InterfaceDump {
    l.tracking = (plans.iter())
        .filter(|p| p.interface.as_deref() == Some(l.name.as_str()))
        .map(|p| TrackedDump {
            name: p.router.name.to_string(),
            weight: 0,
            reverse: false,
        })
        .collect();
    for t in tracking(
        plans,
        |s| matches!(s, TrackSource::Interface(n) if *n == l.name),
    ) {
        if !l.tracking.iter().any(|x| x.name == t.name) {
            l.tracking.push(t);
        }
    }
    l
}

fn since_epoch(t: SystemTime) -> Duration {
    t.duration_since(SystemTime::UNIX_EPOCH).unwrap_or_default()
}

/// The process's umask (from `/proc/self/status`, which reads it without changing it);
/// keepalived's 0177 if it cannot be read.
fn umask() -> u32 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("Umask:"))
                .and_then(|v| u32::from_str_radix(v.trim(), 8).ok())
        })
        .unwrap_or(0o177)
}
