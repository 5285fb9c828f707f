//! keepalived's dump files on SIGUSR1 (data), SIGUSR2 (stats) and SIGRTMIN+2 (JSON), written
//! atomically to `$TMPDIR` or /tmp (see docs/dump-files.md).

use std::time::Duration;

use crate::dump::{
    self, DumpInput, DumpKind, DumpState, GlobalsDump, InstanceDump, ScriptDump, SyncGroupDump,
};

use super::Running;

/// Which file to write.
#[derive(Debug, Clone, Copy)]
pub enum Kind {
    /// keepalived.data.
    Data,
    /// keepalived.stats.
    Stats,
    /// keepalived.json.
    Json,
}

/// Renders and writes one dump file; failures are logged.
pub async fn write(running: &Running, kind: Kind) {
    let statuses = match running.handle.status().await {
        Ok(s) => s,
        Err(e) => return tracing::error!(error = %e, "dump: no status from the driver"),
    };
    let input = dump_input(running, &statuses);
    let (file, text) = match kind {
        Kind::Data => (DumpKind::Data, dump::render_data(&input)),
        Kind::Stats => (DumpKind::Stats, dump::render_stats(&input)),
        Kind::Json => (DumpKind::Json, dump::render_json(&input)),
    };
    let path = file.path(std::env::var_os("TMPDIR").as_deref());
    match dump::write_atomic(&path, &text) {
        Ok(()) => tracing::info!(path = %path.display(), "dump written"),
        Err(e) => tracing::error!(path = %path.display(), error = %e, "dump not written"),
    }
}

fn dump_input(running: &Running, status: &vrrp_net::driver::DriverStatus) -> DumpInput {
    let cfg = &running.loaded.config;
    let uid_gid = (
        nix::unistd::getuid().as_raw(),
        nix::unistd::getgid().as_raw(),
    );
    // One entry per plan (instances that could not start have no status and are left out,
    // so sync-group members are looked up by plan index through `index`).
    let mut index = vec![None; running.plans.len()];
    let mut instances: Vec<InstanceDump> = Vec::new();
    for (i, (plan, slot)) in running.plans.iter().zip(&running.slots).enumerate() {
        let found = slot.and_then(|s| status.instances.iter().find(|x| x.index == s));
        if let Some(instance) = found {
            index[i] = Some(instances.len());
            instances.push(InstanceDump::from_plan(plan, &instance.router, uid_gid));
        }
    }
    let sync_groups = running
        .groups
        .iter()
        .enumerate()
        .map(|(k, g)| {
            let states: Vec<DumpState> = g
                .members
                .iter()
                .filter_map(|&m| index.get(m).copied().flatten())
                .filter_map(|m| instances.get(m))
                .map(|i| i.state)
                .collect();
            // The group's state is the driver's (vrrp-core's one rule for sync groups).
            let state = status
                .sync_groups
                .get(k)
                .map_or(DumpState::Init, |s| DumpState::from(s.state));
            SyncGroupDump {
                name: g.name.clone(),
                state,
                members: g
                    .members
                    .iter()
                    .filter_map(|&m| running.plans.get(m))
                    .map(|p| p.router.name.to_string())
                    .collect(),
                member_faults: states.iter().filter(|s| **s == DumpState::Fault).count() as u32,
                member_init: states.iter().filter(|s| **s == DumpState::Init).count() as u32,
                tracking_weight: false,
                smtp_alert: g.notify.smtp_alert,
                notify: dump::NotifyDump::from_scripts(g.notify.scripts(), uid_gid),
            }
        })
        .collect();
    let scripts = cfg
        .vrrp_scripts
        .iter()
        .map(|s| ScriptDump {
            name: s.name.clone(),
            command: dump::quote_command(&dump::split_command(s.script.as_deref().unwrap_or(""))),
            interval: Duration::from_millis(s.interval_ms),
            timeout: s.timeout_ms.map(Duration::from_millis),
            weight: s.weight,
            reverse: s.weight_reverse,
            rise: s.rise,
            fall: s.fall,
            uid_gid,
            ..ScriptDump::default()
        })
        .collect();
    DumpInput {
        globals: GlobalsDump {
            router_id: cfg.global_defs.router_id.clone().unwrap_or_else(hostname),
            ..GlobalsDump::default()
        },
        instances,
        sync_groups,
        scripts,
        interfaces: Vec::new(),
        utc_offset_secs: 0,
    }
}

fn hostname() -> String {
    nix::unistd::gethostname()
        .ok()
        .and_then(|h| h.into_string().ok())
        .unwrap_or_default()
}
