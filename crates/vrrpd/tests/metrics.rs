//! Prometheus metrics (`--metrics-listen`, issue #13, docs/metrics.md) end to end in network
//! namespaces: a two-node lab fails over (SIGTERM of the Active) while `/metrics` is scraped
//! directly and by a real Prometheus server (Debian's `prometheus`), whose HTTP query API
//! shows the state change; `promtool check metrics` accepts the exposition.

mod support;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use serde_json::Value;
use support::Daemon;
use vrrp_netns::{wait_until, ChildGuard, Host, Lab, Signal};

const PORT: u16 = 9650;
const PROMETHEUS: &str = "/usr/bin/prometheus";
const PROMTOOL: &str = "/usr/bin/promtool";

/// `host`'s metrics endpoint (on its lab address).
fn endpoint(host: &Host) -> String {
    format!("{}:{PORT}", host.ipv4)
}

fn start(host: &Host, dir: &Path, priority: u8) -> Daemon {
    let listen = endpoint(host);
    Daemon::start_with_args(
        host,
        dir,
        &support::tracked_config(priority),
        &["--metrics-listen", &listen],
    )
}

/// `curl ARGS` run in `host`'s namespace: (HTTP status, body).
fn curl(host: &Host, args: &[&str]) -> (u16, String) {
    let mut full = vec!["-sS", "--max-time", "5", "-w", "\n%{http_code}"];
    full.extend_from_slice(args);
    let out = host
        .netns
        .exec("curl", &full)
        .expect("run curl (apt-get install curl)");
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let (body, code) = text.rsplit_once('\n').unwrap_or(("", &text));
    (code.trim().parse().unwrap_or(0), body.to_string())
}

/// A scrape of `target`'s `/metrics` from `from`'s namespace.
fn scrape(from: &Host, target: &Host) -> String {
    let (code, body) = curl(from, &[&format!("http://{}/metrics", endpoint(target))]);
    assert_eq!(code, 200, "GET /metrics of {}: {body}", target.name);
    body
}

/// The value of the series `series` (name and labels exactly as exposed).
fn value(text: &str, series: &str) -> Option<f64> {
    text.lines()
        .find_map(|l| l.strip_prefix(series)?.strip_prefix(' '))
        .and_then(|v| v.trim().parse().ok())
}

const L: &str = r#"vrrp_instance="VI_1",vrid="51",family="ipv4""#;

fn state(text: &str, state: &str) -> Option<f64> {
    value(
        text,
        &format!(r#"vrrpd_instance_state{{{L},state="{state}"}}"#),
    )
}

fn metric(text: &str, name: &str) -> Option<f64> {
    value(text, &format!("{name}{{{L}}}"))
}

fn by_reason(text: &str, reason: &str) -> Option<f64> {
    value(
        text,
        &format!(r#"vrrpd_transitions_by_reason_total{{{L},reason="{reason}"}}"#),
    )
}

/// `promtool check metrics` on `text`: its complaints (empty when it accepts it).
fn promtool_problems(text: &str) -> String {
    assert!(
        Path::new(PROMTOOL).exists(),
        "{PROMTOOL} is missing: cargo xtask setup (Debian package prometheus)"
    );
    let mut child = Command::new(PROMTOOL)
        .args(["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run promtool");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(text.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    let said = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    if out.status.success() {
        said
    } else {
        format!("exit {}: {said}", out.status)
    }
}

/// r1 (150 + 10) Active, r2 (100 + 10) Backup, both serving metrics with their tracker up.
fn pair(lab: &Lab, dir: &Path) -> (Daemon, Daemon) {
    let mut a = start(lab.host("r1"), dir, 150);
    a.expect(&["(VI_1) Entering MASTER STATE"], Duration::from_secs(5));
    let mut b = start(lab.host("r2"), dir, 100);
    b.expect(&["(VI_1) Entering BACKUP STATE"], Duration::from_secs(5));
    let (r1, r2) = (lab.host("r1"), lab.host("r2"));
    for (host, priority) in [(r1, 160.0), (r2, 110.0)] {
        let up = wait_until(Duration::from_secs(5), || {
            metric(&scrape(r2, host), "vrrpd_instance_priority") == Some(priority)
        });
        assert!(up, "{}'s tracker reported: {}", host.name, scrape(r2, host));
    }
    let heard = wait_until(Duration::from_secs(3), || {
        metric(&scrape(r2, r2), "vrrpd_adverts_received_total") > Some(0.0)
    });
    assert!(heard, "r2 heard r1's adverts: {}", scrape(r2, r2));
    (a, b)
}

#[test]
fn metrics_follow_a_failover_and_pass_promtool() {
    let lab = support::lab(false);
    let tmp = support::tempdir();
    let (mut a, mut b) = pair(&lab, tmp.path());
    let (r1, r2) = (lab.host("r1"), lab.host("r2"));

    let active = scrape(r2, r1);
    assert_eq!(state(&active, "master"), Some(1.0), "{active}");
    assert_eq!(state(&active, "backup"), Some(0.0), "{active}");
    assert!(
        metric(&active, "vrrpd_adverts_sent_total") > Some(0.0),
        "{active}"
    );
    assert_eq!(
        metric(&active, "vrrpd_instance_vips_installed"),
        Some(1.0),
        "{active}"
    );
    let before = scrape(r2, r2);
    for (s, v) in [
        ("master", 0.0),
        ("backup", 1.0),
        ("fault", 0.0),
        ("init", 0.0),
    ] {
        assert_eq!(state(&before, s), Some(v), "{s}: {before}");
    }
    let version = format!(
        r#"vrrpd_build_info{{version="{}"}}"#,
        env!("CARGO_PKG_VERSION")
    );
    assert_eq!(value(&before, &version), Some(1.0), "{before}");
    assert_eq!(metric(&before, "vrrpd_instance_base_priority"), Some(100.0));
    assert_eq!(metric(&before, "vrrpd_instance_maintenance"), Some(0.0));
    assert_eq!(metric(&before, "vrrpd_instance_vips_installed"), Some(0.0));
    let tracker = format!(r#"{{{L},tracker="chk"}}"#);
    assert_eq!(
        value(&before, &format!("vrrpd_tracker_up{tracker}")),
        Some(1.0)
    );
    assert_eq!(
        value(
            &before,
            &format!("vrrpd_tracker_priority_contribution{tracker}")
        ),
        Some(10.0),
        "{before}"
    );
    assert_eq!(by_reason(&before, "startup"), Some(1.0), "{before}");
    assert_eq!(by_reason(&before, "active_left"), None, "{before}");
    assert!(
        metric(&before, "vrrpd_adverts_received_total") > Some(0.0),
        "{before}"
    );
    let since_before =
        metric(&before, "vrrpd_instance_last_transition_timestamp_seconds").expect("timestamp");
    let problems = promtool_problems(&before);
    assert!(
        problems.trim().is_empty(),
        "promtool check metrics: {problems}\n{before}"
    );

    // Other paths and methods.
    let (code, _) = curl(r2, &[&format!("http://{}/", endpoint(r2))]);
    assert_eq!(code, 404);
    let (code, _) = curl(
        r2,
        &["-X", "POST", &format!("http://{}/metrics", endpoint(r2))],
    );
    assert_eq!(code, 405);
    // Prometheus asks for OpenMetrics and gets it.
    let (code, open) = curl(
        r2,
        &[
            "-H",
            "Accept: application/openmetrics-text; version=1.0.0",
            &format!("http://{}/metrics", endpoint(r2)),
        ],
    );
    assert_eq!(code, 200);
    assert!(open.ends_with("# EOF\n"), "{open}");

    // The failover.
    a.signal(Signal::SIGTERM);
    assert!(a.wait_exit(Duration::from_secs(5)).success());
    b.expect(&["(VI_1) Entering MASTER STATE"], Duration::from_secs(3));
    let after = scrape(r2, r2);
    assert_eq!(state(&after, "master"), Some(1.0), "{after}");
    assert_eq!(state(&after, "backup"), Some(0.0), "{after}");
    assert_eq!(by_reason(&after, "active_left"), Some(1.0), "{after}");
    assert_eq!(by_reason(&after, "startup"), Some(1.0), "{after}");
    assert_eq!(
        metric(&after, "vrrpd_transitions_to_active_total"),
        Some(1.0)
    );
    assert!(metric(&after, "vrrpd_priority_zero_adverts_received_total") >= Some(1.0));
    assert_eq!(metric(&after, "vrrpd_instance_vips_installed"), Some(1.0));
    let since_after =
        metric(&after, "vrrpd_instance_last_transition_timestamp_seconds").expect("timestamp");
    assert!(
        since_after > since_before,
        "{since_before} -> {since_after}"
    );
    let problems = promtool_problems(&after);
    assert!(
        problems.trim().is_empty(),
        "promtool check metrics: {problems}\n{after}"
    );
}

/// A Prometheus server in a lab namespace, listening on its loopback; killed (and its data
/// removed) when dropped.
struct Prometheus {
    _child: ChildGuard,
    log: PathBuf,
    /// Its configuration and its TSDB, removed after the process is killed.
    _dir: tempfile::TempDir,
}

impl Prometheus {
    const WEB: &'static str = "127.0.0.1:9090";

    fn start(host: &Host, targets: &[String]) -> Prometheus {
        assert!(
            Path::new(PROMETHEUS).exists(),
            "{PROMETHEUS} is missing: cargo xtask setup (Debian package prometheus)"
        );
        let dir = support::tempdir();
        let targets: Vec<String> = targets.iter().map(|t| format!("'{t}'")).collect();
        let conf = dir.path().join("prometheus.yml");
        std::fs::write(
            &conf,
            format!(
                "global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\n\
                 scrape_configs:\n  - job_name: vrrpd\n    static_configs:\n      - targets: [{}]\n",
                targets.join(", ")
            ),
        )
        .unwrap();
        let log = dir.path().join("prometheus.log");
        let file = std::fs::File::create(&log).unwrap();
        let mut cmd = Command::new(PROMETHEUS);
        cmd.arg(format!("--config.file={}", conf.display()))
            .arg(format!(
                "--storage.tsdb.path={}",
                dir.path().join("data").display()
            ))
            .arg(format!("--web.listen-address={}", Prometheus::WEB))
            .stdin(Stdio::null())
            .stdout(file.try_clone().unwrap())
            .stderr(file);
        let child = host.netns.spawn(cmd).expect("spawn prometheus");
        let p = Prometheus {
            _child: child,
            log,
            _dir: dir,
        };
        let ready = wait_until(Duration::from_secs(20), || {
            curl(host, &[&format!("http://{}/-/ready", Prometheus::WEB)]).0 == 200
        });
        assert!(ready, "prometheus ready; its log:\n{}", p.log());
        p
    }

    fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// The vector `query` evaluates to now: (labels, value) per series.
    fn query(&self, host: &Host, query: &str) -> Vec<(Value, f64)> {
        let (code, body) = curl(
            host,
            &[
                "-G",
                &format!("http://{}/api/v1/query", Prometheus::WEB),
                "--data-urlencode",
                &format!("query={query}"),
            ],
        );
        assert_eq!(code, 200, "query {query}: {body}");
        let v: Value = serde_json::from_str(&body).expect("a JSON answer");
        assert_eq!(v["status"], "success", "{v}");
        (v["data"]["result"].as_array().cloned().unwrap_or_default())
            .into_iter()
            .map(|s| {
                let value = s["value"][1].as_str().and_then(|x| x.parse().ok());
                (s["metric"].clone(), value.unwrap_or(f64::NAN))
            })
            .collect()
    }

    /// The value of `query` for the target `target`, if Prometheus has one.
    fn value_for(&self, host: &Host, query: &str, target: &str) -> Option<f64> {
        (self.query(host, query).into_iter())
            .find(|(m, _)| m["instance"] == target)
            .map(|(_, v)| v)
    }
}

#[test]
fn a_prometheus_server_reads_the_failover_back() {
    let lab = support::lab(false);
    let tmp = support::tempdir();
    let (mut a, mut b) = pair(&lab, tmp.path());
    let (r1, r2) = (lab.host("r1"), lab.host("r2"));
    let (t1, t2) = (endpoint(r1), endpoint(r2));
    let prom = Prometheus::start(r2, &[t1.clone(), t2.clone()]);
    let master = r#"vrrpd_instance_state{state="master",vrrp_instance="VI_1"}"#;

    let scraped = wait_until(Duration::from_secs(20), || {
        prom.value_for(r2, master, &t1) == Some(1.0) && prom.value_for(r2, master, &t2) == Some(0.0)
    });
    assert!(
        scraped,
        "Prometheus sees r1 Active and r2 Backup: {:?}; its log:\n{}",
        prom.query(r2, master),
        prom.log()
    );

    a.signal(Signal::SIGTERM);
    assert!(a.wait_exit(Duration::from_secs(5)).success());
    b.expect(&["(VI_1) Entering MASTER STATE"], Duration::from_secs(3));
    let seen = wait_until(Duration::from_secs(10), || {
        prom.value_for(r2, master, &t2) == Some(1.0)
    });
    assert!(
        seen,
        "Prometheus sees r2 Active: {:?}; its log:\n{}",
        prom.query(r2, master),
        prom.log()
    );
    let reason = r#"vrrpd_transitions_by_reason_total{reason="active_left"}"#;
    assert_eq!(
        prom.value_for(r2, reason, &t2),
        Some(1.0),
        "{:?}",
        prom.query(r2, reason)
    );
    // r1 is gone: its target is down.
    let down = wait_until(Duration::from_secs(5), || {
        prom.value_for(r2, r#"up{job="vrrpd"}"#, &t1) == Some(0.0)
    });
    assert!(down, "{:?}", prom.query(r2, "up"));
    drop(prom);
}
