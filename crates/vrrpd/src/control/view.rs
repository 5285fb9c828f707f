//! The control protocol's views of the library's typed status and history
//! ([`vrrp_net::driver::DriverStatus`], [`vrrp_net::history::History`]).

use std::time::{Duration, SystemTime};

use vrrp_core::{ChecksumForm, Effect, Family, State, TrackState};
use vrrp_net::driver::DriverStatus;
use vrrp_net::history::{Change, Entry, History};

use super::protocol::{
    ActiveRouter, DaemonStatus, GroupStatus, HistoryEntry, InstanceStatus, StatusReply,
    TrackerStatus,
};
use crate::convert::InstancePlan;

/// RFC 3339 in UTC with milliseconds.
pub fn rfc3339(at: SystemTime) -> String {
    chrono::DateTime::<chrono::Utc>::from(at).to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

fn millis(d: vrrp_core::Duration) -> f64 {
    Duration::from(d).as_secs_f64() * 1000.0
}

/// The protocol's (and the metrics') name of a family: `ipv4` or `ipv6`.
pub fn family(f: Family) -> &'static str {
    match f {
        Family::V4 => "ipv4",
        Family::V6 => "ipv6",
    }
}

fn checksum_form(f: ChecksumForm) -> &'static str {
    match f {
        ChecksumForm::PseudoHeader => "pseudo_header",
        ChecksumForm::Rfc9568 => "rfc9568",
        ChecksumForm::OldUnicast => "old_unicast",
    }
}

fn tracker_state(s: TrackState) -> String {
    match s {
        TrackState::Unknown => "unknown".into(),
        TrackState::Up => "up".into(),
        TrackState::Down => "down".into(),
        TrackState::Value(v) => v.to_string(),
    }
}

/// Whether `name` is an instance (or sync group) of the running configuration.
pub fn is_known(status: &DriverStatus, name: &str) -> bool {
    (status.instances.iter()).any(|i| &*i.router.name == name)
        || (status.sync_groups.iter()).any(|g| &*g.name == name)
}

/// The status of every running instance (or only `only`), with the plans of the running
/// configuration (`slots[i]`: the driver index of `plans[i]`).
pub fn status_reply(
    status: &DriverStatus,
    plans: &[InstancePlan],
    slots: &[Option<usize>],
    daemon: DaemonStatus,
    only: Option<&str>,
) -> StatusReply {
    let mut instances = Vec::new();
    for (plan, slot) in plans.iter().zip(slots) {
        let Some(live) = slot.and_then(|s| status.instances.iter().find(|i| i.index == s)) else {
            continue;
        };
        let r = &live.router;
        if only.is_some_and(|n| n != &*r.name) {
            continue;
        }
        let active = if r.state == State::Active {
            Some(ActiveRouter {
                address: r.primary_addr,
                priority: r.effective_priority,
                this_node: true,
            })
        } else {
            r.last_active.map(|address| ActiveRouter {
                address,
                priority: r.last_active_priority.unwrap_or(0),
                this_node: false,
            })
        };
        instances.push(InstanceStatus {
            name: r.name.to_string(),
            vrid: r.vrid,
            family: family(r.family).into(),
            interface: live.interface.to_string(),
            vip_interface: live.vip_interface.to_string(),
            sync_group: plan.sync_group.clone(),
            maintenance: r.maintenance,
            state: r.state.keepalived_name().into(),
            since: live.since.map(rfc3339),
            base_priority: r.base_priority,
            effective_priority: r.effective_priority,
            trackers: (r.trackers.iter())
                .map(|t| TrackerStatus {
                    name: t.tracker.name.to_string(),
                    weight: t.tracker.weight,
                    state: tracker_state(t.state),
                    contribution: match t.effect {
                        Effect::Adjust(d) => d,
                        Effect::Fault => 0,
                    },
                    fault: t.effect == Effect::Fault,
                })
                .collect(),
            address: r.primary_addr,
            active,
            advert_interval_ms: millis(r.active_adver_interval),
            skew_ms: millis(r.skew_time),
            down_interval_ms: millis(r.active_down_interval),
            vips: plan.router.vips.clone(),
            installed_vips: live.installed_vips.clone(),
            checksum_form: checksum_form(r.checksum_form).into(),
            counters: r.stats,
        });
    }
    let name_of = |index: usize| {
        (status.instances.iter())
            .find(|i| i.index == index)
            .map(|i| i.router.name.to_string())
    };
    let sync_groups = (status.sync_groups.iter())
        .filter(|g| {
            only.is_none_or(|n| {
                n == &*g.name || g.members.iter().any(|&m| name_of(m).as_deref() == Some(n))
            })
        })
        .map(|g| GroupStatus {
            name: g.name.to_string(),
            state: g.state.keepalived_name().into(),
            members: g.members.iter().filter_map(|&m| name_of(m)).collect(),
        })
        .collect();
    StatusReply {
        daemon,
        instances,
        sync_groups,
    }
}

/// The newest `limit` entries about `only` (every entry with `None`), oldest first.
pub fn history_reply(
    history: &History,
    only: Option<&str>,
    limit: Option<usize>,
) -> Vec<HistoryEntry> {
    let all: Vec<HistoryEntry> = history.entries(only).map(entry).collect();
    let skip = limit.map_or(0, |n| all.len().saturating_sub(n));
    all.into_iter().skip(skip).collect()
}

/// The protocol's form of a history entry.
pub fn entry(e: &Entry) -> HistoryEntry {
    let (kind, from, to, reason) = match &e.change {
        Change::State {
            from, to, reason, ..
        } => (
            "state",
            from.keepalived_name().to_string(),
            to.keepalived_name().to_string(),
            reason.to_string(),
        ),
        Change::Priority {
            from, to, cause, ..
        } => (
            "priority",
            from.to_string(),
            to.to_string(),
            cause.to_string(),
        ),
        Change::Group { from, to } => (
            "group",
            from.keepalived_name().to_string(),
            to.keepalived_name().to_string(),
            "sync group".to_string(),
        ),
        Change::Maintenance { on } => {
            let (from, to) = if *on { ("off", "on") } else { ("on", "off") };
            (
                "maintenance",
                from.to_string(),
                to.to_string(),
                "vrrpctl maintenance".to_string(),
            )
        }
    };
    HistoryEntry {
        at: rfc3339(e.at),
        instance: e.name.to_string(),
        kind: kind.into(),
        from,
        to,
        reason,
    }
}

/// An `events` line that is not a history entry (a tracker result, a notice).
pub fn other_event(
    at: SystemTime,
    instance: &str,
    kind: &str,
    to: &str,
    reason: String,
) -> HistoryEntry {
    HistoryEntry {
        at: rfc3339(at),
        instance: instance.into(),
        kind: kind.into(),
        from: String::new(),
        to: to.into(),
        reason,
    }
}
