//! Prometheus metrics (`--metrics-listen ADDR:PORT`, docs/metrics.md): the same status as the
//! control socket's, exposed with the `prometheus-client` crate on `GET /metrics`.
//!
//! - [`server`]: the HTTP listener (hyper), which asks the runtime's event loop for a
//!   [`Snapshot`] on each scrape, as the control socket asks for its status: the data plane's
//!   task is never waited on by an HTTP client;
//! - [`encode`]: the exposition of a snapshot (OpenMetrics text), and [`prometheus_text`] its
//!   form in Prometheus's older text format, for clients that do not ask for OpenMetrics.

pub mod server;

use std::collections::HashSet;

use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;
use tokio::sync::oneshot;
use vrrp_core::Reason;

use crate::control::protocol::{InstanceStatus, StatusReply};

/// A request of the metrics listener for the event loop: the answer is dropped unanswered when
/// the daemon cannot give its status.
#[derive(Debug)]
pub struct MetricsQuery {
    /// Where the snapshot goes.
    pub reply: oneshot::Sender<Snapshot>,
}

/// What one scrape exposes.
#[derive(Debug, Clone)]
pub struct Snapshot {
    /// The control socket's status of every instance.
    pub status: StatusReply,
    /// Transitions counted by reason since the start (kept across reloads for kept instances).
    pub by_reason: Vec<ReasonCount>,
}

/// The transitions of one virtual router for one reason.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReasonCount {
    /// The instance name.
    pub instance: String,
    /// Its VRID.
    pub vrid: u8,
    /// `ipv4` or `ipv6`.
    pub family: String,
    /// [`reason_label`].
    pub reason: &'static str,
    /// How many.
    pub count: u64,
}

/// The `reason` label of a transition: the name of vrrp-core's [`Reason`] in snake case.
pub fn reason_label(reason: &Reason) -> &'static str {
    match reason {
        Reason::Startup => "startup",
        Reason::Shutdown => "shutdown",
        Reason::ActiveSilent { .. } => "active_silent",
        Reason::ActiveLeft { .. } => "active_left",
        Reason::Preempted { .. } => "preempted",
        Reason::HigherPriority { .. } => "higher_priority",
        Reason::TrackerFault { .. } => "tracker_fault",
        Reason::InterfaceDown => "interface_down",
        Reason::NoSourceAddress => "no_source_address",
        Reason::NoUnicastPeer => "no_unicast_peer",
        Reason::TimerExpired { .. } => "timer_expired",
        Reason::Recovered { .. } => "recovered",
        Reason::SyncGroup { .. } => "sync_group",
        Reason::Maintenance => "maintenance",
        Reason::MaintenanceOff => "maintenance_off",
    }
}

/// A label set: `vrrp_instance`, `vrid`, `family` and what a metric adds. The instance's label
/// is not `instance`: Prometheus gives every scraped series its target's `instance` label and
/// would rename ours to `exported_instance`.
type Labels = Vec<(&'static str, String)>;

fn labels(instance: &str, vrid: u8, family: &str) -> Labels {
    vec![
        ("vrrp_instance", instance.to_string()),
        ("vrid", vrid.to_string()),
        ("family", family.to_string()),
    ]
}

fn of(i: &InstanceStatus) -> Labels {
    labels(&i.name, i.vrid, &i.family)
}

fn with(mut l: Labels, key: &'static str, value: impl Into<String>) -> Labels {
    l.push((key, value.into()));
    l
}

type Gauges = Family<Labels, Gauge>;
type FloatGauges = Family<Labels, Gauge<f64, std::sync::atomic::AtomicU64>>;
type Counters = Family<Labels, Counter>;

/// Registers a family of metrics under `name` and returns it (families share their data).
fn family<M: prometheus_client::registry::Metric + Clone + Default>(
    registry: &mut Registry,
    name: &str,
    help: &str,
) -> M {
    let metric = M::default();
    registry.register(name, help, metric.clone());
    metric
}

/// The states of `vrrpd_instance_state` and the control socket's names of them.
const STATES: [(&str, &str); 4] = [
    ("master", "MASTER"),
    ("backup", "BACKUP"),
    ("fault", "FAULT"),
    ("init", "INIT"),
];

/// The exposition of `snapshot` in the OpenMetrics text format (docs/metrics.md).
pub fn encode(snapshot: &Snapshot) -> String {
    let mut reg = Registry::default();
    let build: Gauges = family(&mut reg, "vrrpd_build_info", "vrrpd's version (always 1)");
    build
        .get_or_create(&vec![("version", snapshot.status.daemon.version.clone())])
        .set(1);
    let state: Gauges = family(
        &mut reg,
        "vrrpd_instance_state",
        "1 for the state the virtual router is in (master is RFC 9568's Active), 0 for the others",
    );
    let priority: Gauges = family(
        &mut reg,
        "vrrpd_instance_priority",
        "The priority the virtual router advertises, trackers included",
    );
    let base: Gauges = family(
        &mut reg,
        "vrrpd_instance_base_priority",
        "The configured priority",
    );
    let maintenance: Gauges = family(
        &mut reg,
        "vrrpd_instance_maintenance",
        "1 while in maintenance (vrrpctl maintenance): Backup, never Active",
    );
    let since: FloatGauges = family(
        &mut reg,
        "vrrpd_instance_last_transition_timestamp_seconds",
        "When the virtual router entered its state, seconds since the Unix epoch",
    );
    let vips: Gauges = family(
        &mut reg,
        "vrrpd_instance_vips_installed",
        "Virtual addresses of the virtual router installed on this node",
    );
    let vips_configured: Gauges = family(
        &mut reg,
        "vrrpd_instance_vips_configured",
        "Virtual addresses configured for the virtual router",
    );
    let tracker_up: Gauges = family(
        &mut reg,
        "vrrpd_tracker_up",
        "1 while a tracked object is up (or a track_file value that does not hold the instance in FAULT), 0 while down; absent before its first result",
    );
    let contribution: Gauges = family(
        &mut reg,
        "vrrpd_tracker_priority_contribution",
        "What a tracked object adds to the priority now",
    );
    let counter =
        |reg: &mut Registry, name: &str, help: &str| -> Counters { family(reg, name, help) };
    let adverts_rx = counter(
        &mut reg,
        "vrrpd_adverts_received",
        "Adverts accepted for processing",
    );
    let adverts_tx = counter(&mut reg, "vrrpd_adverts_sent", "Adverts sent");
    let zero_rx = counter(
        &mut reg,
        "vrrpd_priority_zero_adverts_received",
        "Priority-0 adverts received (an Active leaving)",
    );
    let zero_tx = counter(
        &mut reg,
        "vrrpd_priority_zero_adverts_sent",
        "Priority-0 adverts sent (leaving Active)",
    );
    let transitions = counter(&mut reg, "vrrpd_transitions", "State transitions");
    let to_active = counter(
        &mut reg,
        "vrrpd_transitions_to_active",
        "Transitions into Active (MASTER)",
    );
    let from_active = counter(
        &mut reg,
        "vrrpd_transitions_from_active",
        "Transitions out of Active (MASTER)",
    );
    let by_reason = counter(
        &mut reg,
        "vrrpd_transitions_by_reason",
        "State transitions by reason, counted by the daemon since it started",
    );
    let announcements = counter(
        &mut reg,
        "vrrpd_announcements_sent",
        "Announcements (gratuitous ARP / unsolicited NA) handed to the data plane",
    );
    let dual_active = counter(
        &mut reg,
        "vrrpd_dual_active_episodes",
        "Dual-Active episodes detected (lower-priority adverts received while Active)",
    );
    let conflicts = counter(
        &mut reg,
        "vrrpd_address_conflicts",
        "Address conflicts seen while Active (another MAC claimed one of the addresses)",
    );
    let checksum = counter(
        &mut reg,
        "vrrpd_adverts_received_by_checksum_form",
        "IPv4 VRRPv3 adverts received, by checksum form",
    );
    let mismatches = counter(
        &mut reg,
        "vrrpd_advert_mismatches",
        "Adverts whose interval or address list differs from ours",
    );
    let errors = counter(
        &mut reg,
        "vrrpd_receive_errors",
        "Received packets discarded, by kind",
    );
    let auth_rx = counter(
        &mut reg,
        "vrrpd_auth_hmac_adverts_received",
        "Adverts received by an instance with auth_hmac, by the outcome of their trailer",
    );
    let auth_tx = counter(
        &mut reg,
        "vrrpd_auth_hmac_adverts_signed",
        "Adverts sent with an auth_hmac trailer",
    );

    for i in &snapshot.status.instances {
        let l = of(i);
        for (label, name) in STATES {
            state
                .get_or_create(&with(l.clone(), "state", label))
                .set(i64::from(i.state == name));
        }
        priority
            .get_or_create(&l)
            .set(i64::from(i.effective_priority));
        base.get_or_create(&l).set(i64::from(i.base_priority));
        maintenance.get_or_create(&l).set(i64::from(i.maintenance));
        if let Some(at) =
            (i.since.as_deref()).and_then(|s| chrono::DateTime::parse_from_rfc3339(s).ok())
        {
            since
                .get_or_create(&l)
                .set(at.timestamp_millis() as f64 / 1000.0);
        }
        vips.get_or_create(&l).set(i.installed_vips.len() as i64);
        vips_configured.get_or_create(&l).set(i.vips.len() as i64);
        for t in &i.trackers {
            let tl = with(l.clone(), "tracker", t.name.clone());
            let up = match t.state.as_str() {
                "up" => Some(true),
                "down" => Some(false),
                "unknown" => None,
                _ => Some(!t.fault),
            };
            if let Some(up) = up {
                tracker_up.get_or_create(&tl).set(i64::from(up));
            }
            contribution
                .get_or_create(&tl)
                .set(i64::from(t.contribution));
        }
        let c = &i.counters;
        for (metric, value) in [
            (&adverts_rx, c.adverts_rx),
            (&adverts_tx, c.adverts_tx),
            (&zero_rx, c.priority_zero_rx),
            (&zero_tx, c.priority_zero_tx),
            (&transitions, c.transitions),
            (&to_active, c.became_active),
            (&from_active, c.released_active),
            (&announcements, c.announcements),
            (&dual_active, c.dual_active),
            (&conflicts, c.address_conflicts),
        ] {
            metric.get_or_create(&l).inc_by(value);
        }
        for (form, value) in [
            ("rfc9568", c.checksum_rfc9568_rx),
            ("pseudo_header", c.checksum_pseudo_header_rx),
            ("old_unicast", c.checksum_old_unicast_rx),
        ] {
            checksum
                .get_or_create(&with(l.clone(), "form", form))
                .inc_by(value);
        }
        for (kind, value) in [
            ("interval", c.interval_mismatch),
            ("address_list", c.address_list_mismatch),
        ] {
            mismatches
                .get_or_create(&with(l.clone(), "kind", kind))
                .inc_by(value);
        }
        for (kind, value) in [
            ("length", c.rx_length_errors),
            ("version", c.rx_version_errors),
            ("type", c.rx_type_errors),
            ("checksum", c.rx_checksum_errors),
            ("field", c.rx_field_errors),
            ("carp", c.rx_carp),
            ("ttl", c.rx_ttl_errors),
            ("auth", c.rx_auth_errors),
            ("policy", c.rx_policy_errors),
        ] {
            errors
                .get_or_create(&with(l.clone(), "kind", kind))
                .inc_by(value);
        }
        // Only instances that sign or verify (every auth_hmac counter is zero elsewhere).
        let auth = [
            ("verified", c.auth_hmac_verified),
            ("unsigned", c.auth_hmac_unsigned),
            ("missing", c.auth_hmac_missing),
            ("malformed", c.auth_hmac_malformed),
            ("unknown_key", c.auth_hmac_unknown_key),
            ("invalid", c.auth_hmac_invalid),
            ("stale", c.auth_hmac_stale),
            ("replayed", c.auth_hmac_replayed),
        ];
        if c.auth_hmac_signed_tx > 0 || auth.iter().any(|(_, v)| *v > 0) {
            for (outcome, value) in auth {
                auth_rx
                    .get_or_create(&with(l.clone(), "outcome", outcome))
                    .inc_by(value);
            }
            auth_tx.get_or_create(&l).inc_by(c.auth_hmac_signed_tx);
        }
    }
    for r in &snapshot.by_reason {
        by_reason
            .get_or_create(&with(
                labels(&r.instance, r.vrid, &r.family),
                "reason",
                r.reason,
            ))
            .inc_by(r.count);
    }
    let mut text = String::new();
    // Writing to a String cannot fail.
    let _ = prometheus_client::encoding::text::encode(&mut text, &reg);
    text
}

/// `openmetrics` (from [`encode`]) in Prometheus's text format 0.0.4: a counter's `# HELP` and
/// `# TYPE` lines name its samples (`_total`), and there is no `# EOF` or `# UNIT` line.
pub fn prometheus_text(openmetrics: &str) -> String {
    let counters: HashSet<&str> = (openmetrics.lines())
        .filter_map(|l| l.strip_prefix("# TYPE ")?.strip_suffix(" counter"))
        .collect();
    let mut out = String::with_capacity(openmetrics.len() + 64);
    for line in openmetrics.lines() {
        if line == "# EOF" || line.starts_with("# UNIT ") {
            continue;
        }
        let renamed = ["# HELP ", "# TYPE "].iter().find_map(|prefix| {
            let (name, rest) = line.strip_prefix(prefix)?.split_once(' ')?;
            counters
                .contains(name)
                .then(|| format!("{prefix}{name}_total {rest}"))
        });
        out.push_str(renamed.as_deref().unwrap_or(line));
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::control::protocol::{DaemonStatus, TrackerStatus};

    fn snapshot() -> Snapshot {
        let stats = vrrp_core::Stats {
            adverts_tx: 7,
            rx_auth_errors: 2,
            auth_hmac_verified: 5,
            auth_hmac_replayed: 2,
            auth_hmac_signed_tx: 7,
            ..Default::default()
        };
        Snapshot {
            status: StatusReply {
                daemon: DaemonStatus {
                    version: "1.2.3".into(),
                    pid: 1,
                    config_file: "/etc/keepalived/keepalived.conf".into(),
                },
                instances: vec![InstanceStatus {
                    name: "VI_1".into(),
                    vrid: 51,
                    family: "ipv4".into(),
                    interface: "eth0".into(),
                    vip_interface: "eth0".into(),
                    sync_group: None,
                    maintenance: false,
                    state: "MASTER".into(),
                    since: Some("2026-12-04T18:19:49.500Z".into()),
                    base_priority: 150,
                    effective_priority: 160,
                    trackers: vec![TrackerStatus {
                        name: "chk".into(),
                        weight: 10,
                        state: "up".into(),
                        contribution: 10,
                        fault: false,
                    }],
                    address: "192.0.2.1".parse().unwrap(),
                    active: None,
                    advert_interval_ms: 1000.0,
                    skew_ms: 0.0,
                    down_interval_ms: 0.0,
                    vips: vec!["192.0.2.100".parse().unwrap()],
                    installed_vips: vec!["192.0.2.100".parse().unwrap()],
                    checksum_form: "pseudo_header".into(),
                    counters: stats,
                }],
                sync_groups: Vec::new(),
            },
            by_reason: vec![ReasonCount {
                instance: "VI_1".into(),
                vrid: 51,
                family: "ipv4".into(),
                reason: "active_left",
                count: 1,
            }],
        }
    }

    #[test]
    fn the_exposition_carries_state_priority_counters_and_reasons() {
        let text = encode(&snapshot());
        let l = r#"vrrp_instance="VI_1",vrid="51",family="ipv4""#;
        for line in [
            r#"vrrpd_build_info{version="1.2.3"} 1"#.to_string(),
            format!(r#"vrrpd_instance_state{{{l},state="master"}} 1"#),
            format!(r#"vrrpd_instance_state{{{l},state="backup"}} 0"#),
            format!("vrrpd_instance_priority{{{l}}} 160"),
            format!("vrrpd_instance_base_priority{{{l}}} 150"),
            format!("vrrpd_instance_last_transition_timestamp_seconds{{{l}}} 1796408389.5"),
            format!(r#"vrrpd_tracker_up{{{l},tracker="chk"}} 1"#),
            format!(r#"vrrpd_tracker_priority_contribution{{{l},tracker="chk"}} 10"#),
            format!("vrrpd_adverts_sent_total{{{l}}} 7"),
            format!(r#"vrrpd_receive_errors_total{{{l},kind="auth"}} 2"#),
            format!(r#"vrrpd_transitions_by_reason_total{{{l},reason="active_left"}} 1"#),
            format!("vrrpd_instance_vips_installed{{{l}}} 1"),
            format!(r#"vrrpd_auth_hmac_adverts_received_total{{{l},outcome="verified"}} 5"#),
            format!(r#"vrrpd_auth_hmac_adverts_received_total{{{l},outcome="replayed"}} 2"#),
            format!(r#"vrrpd_auth_hmac_adverts_received_total{{{l},outcome="invalid"}} 0"#),
            format!("vrrpd_auth_hmac_adverts_signed_total{{{l}}} 7"),
        ] {
            assert!(text.lines().any(|x| x == line), "no {line:?} in:\n{text}");
        }
        assert!(text.ends_with("# EOF\n"), "{text}");
    }

    #[test]
    fn the_prometheus_text_form_names_counters_by_their_samples() {
        let text = prometheus_text(&encode(&snapshot()));
        assert!(
            text.contains("# TYPE vrrpd_adverts_sent_total counter\n"),
            "{text}"
        );
        assert!(
            text.contains("# HELP vrrpd_adverts_sent_total Adverts sent"),
            "{text}"
        );
        assert!(
            text.contains("# TYPE vrrpd_instance_state gauge\n"),
            "{text}"
        );
        assert!(!text.contains("# EOF"), "{text}");
    }

    #[test]
    fn every_reason_has_a_snake_case_label() {
        let label = reason_label(&Reason::ActiveLeft {
            from: "192.0.2.1".parse().unwrap(),
        });
        assert_eq!(label, "active_left");
        assert_eq!(reason_label(&Reason::MaintenanceOff), "maintenance_off");
    }
}
