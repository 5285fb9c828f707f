//! Scenarios as data: a YAML file naming routers (implementation + [`VirtualRouterSpec`]),
//! clients and steps, run in a fresh lab with [`run`], giving a [`Report`].
//!
//! ```yaml
//! name: keepalived-frr-ipv4
//! description: keepalived (200) and FRR (100), same checksum form; SIGTERM hands over.
//! routers:
//!   - { name: ka, kind: keepalived, vrid: 7, priority: 200, interval_cs: 30, vips: [192.0.2.100] }
//!   - { name: frr, kind: frr, vrid: 7, priority: 100, interval_cs: 30, vips: [192.0.2.100] }
//! clients: [c1]
//! steps:
//!   - wait_active: { router: ka, within_ms: 3000 }
//!   - expect: { exactly_one_active_within_ms: 0, active: ka, vip_holder: ka }
//!   - kill: { router: ka, signal: TERM }
//!   - wait_active: { router: frr, within_ms: 1000 }
//!   - expect: { exactly_one_active_within_ms: 1000, active: frr, vip_holder: frr }
//! ```
//!
//! Times in steps are measured from the last *action* (the initial start, or the latest
//! `start`, `kill`, `link_down`, `link_up`, `loss`, `partition`, `heal`, `delay`,
//! `clear_delay`, `flaky` step).
//!
//! Delay and flaky checks:
//!
//! ```yaml
//! routers:
//!   - name: vrrpd
//!     kind: vrrpd
//!     vrid: 7
//!     priority: 150
//!     vips: [192.0.2.100]
//!     track_script: { weight: -60, fail_probability: 0.5, interval_ms: 200, rise: 3, fall: 3 }
//! steps:
//!   - delay: { router: ka, base_ms: 90, jitter_ms: 10 }  # userspace relay, both directions
//!   - clear_delay: { router: ka }
//!   - flaky: { router: vrrpd, probability: 0 }           # rewrites the file the script reads
//! ```

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::time::{Duration, Instant, SystemTime};

use serde::Deserialize;

use crate::capture::Capture;
use crate::error::{Error, Result};
use crate::lab::{Direction, Lab};
use crate::router::{Checksum, RouterKind, RunningRouter, TrackScript, VirtualRouterSpec, WorkDir};
use crate::timeline::{ms, summarize_tshark, tshark_verdicts, vip_answerers, Timeline};

fn default_true() -> bool {
    true
}

/// A scenario file.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Scenario {
    /// Short name (defaults to the file stem).
    #[serde(default)]
    pub name: Option<String>,
    /// What it shows, for the report.
    #[serde(default)]
    pub description: Option<String>,
    /// Routers, in order (host `N` on the segment is the `N`th router).
    pub routers: Vec<RouterDecl>,
    /// Client hosts (default: one client `c1`). `vip_holder` asks from the first one.
    #[serde(default)]
    pub clients: Vec<String>,
    /// What to do and check, in order.
    pub steps: Vec<Step>,
}

/// One router of a scenario: a host of the same name running `kind` with this spec.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RouterDecl {
    /// Router (and host) name.
    pub name: String,
    /// Which implementation.
    pub kind: RouterKind,
    /// Start it with the lab (default true); otherwise a `start` step starts it.
    #[serde(default = "default_true")]
    pub start: bool,
    /// VRID.
    pub vrid: u8,
    /// Priority (default 100).
    #[serde(default)]
    pub priority: Option<u8>,
    /// Advertisement interval in centiseconds (default 100).
    #[serde(default)]
    pub interval_cs: Option<u16>,
    /// Virtual addresses.
    pub vips: Vec<IpAddr>,
    /// Preempt (default true).
    #[serde(default)]
    pub preempt: Option<bool>,
    /// VRRP version (default 3).
    #[serde(default)]
    pub version: Option<u8>,
    /// Checksum form sent (default pseudo-header).
    #[serde(default)]
    pub checksum_form: Option<Checksum>,
    /// Accept mode (default false).
    #[serde(default)]
    pub accept: Option<bool>,
    /// Unicast peers: router names or addresses.
    #[serde(default)]
    pub unicast_peers: Option<Vec<String>>,
    /// VRRPv2 `auth_type PASS` password (1-8 characters; version 2 only; not with FRR).
    #[serde(default)]
    pub auth_pass: Option<String>,
    /// vrrpd only: a `RUST_LOG` filter for the daemon, e.g. `debug,vrrp_net=trace` to log
    /// every discarded advert with its reason (for `log_contains`).
    #[serde(default)]
    pub log_filter: Option<String>,
    /// keepalived's `preempt_delay` in milliseconds (vrrpd, keepalived; default 0).
    #[serde(default)]
    pub preempt_delay_ms: Option<u32>,
    /// A flaky `vrrp_script` (vrrpd, keepalived), e.g. `{ weight: -60, fail_probability: 0.5,
    /// interval_ms: 200, rise: 3, fall: 3 }`; the `flaky` step changes the probability.
    #[serde(default)]
    pub track_script: Option<TrackScript>,
}

/// A step. Written as a one-key map, e.g. `- kill: { router: r1, signal: TERM }`.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum Step {
    /// Wait until `router` is Active on the wire, at most `within_ms` after the last action.
    WaitActive {
        /// The router.
        router: String,
        /// Deadline, from the last action.
        within_ms: u64,
    },
    /// Send a signal (`TERM` default, `KILL`, `STOP`, `CONT`, `INT`, `HUP`); waits for a
    /// terminating signal to take effect (not counted in the timing).
    Kill {
        /// The router.
        router: String,
        /// Signal name, with or without `SIG`.
        #[serde(default)]
        signal: Option<String>,
    },
    /// Start a router (again).
    Start {
        /// The router.
        router: String,
    },
    /// Starting the router must fail with this error kind: `unsupported` (the implementation
    /// cannot run the spec) or `missing` (not installed).
    StartFails {
        /// The router.
        router: String,
        /// `unsupported` or `missing`.
        error: String,
    },
    /// Administratively down the router host's `eth0`.
    LinkDown {
        /// The router (or client).
        router: String,
    },
    /// Up again.
    LinkUp {
        /// The router (or client).
        router: String,
    },
    /// Drop a percentage of VRRP packets at a host (0 removes the rule).
    Loss {
        /// The router.
        router: String,
        /// 0..=100.
        percent: u8,
        /// `in`, `out` or `both` (default).
        #[serde(default)]
        direction: Option<String>,
    },
    /// Cut L2 between two groups of hosts.
    Partition {
        /// One side.
        a: Vec<String>,
        /// The other side.
        b: Vec<String>,
    },
    /// Remove every partition.
    Heal {},
    /// Delay every frame to and from a host by `base_ms` ± `jitter_ms` (a userspace relay
    /// between its veth and the bridge, both directions; see [`Lab::set_delay`]). Again on
    /// the same host: changes the delay.
    Delay {
        /// The router (or client).
        router: String,
        /// Base delay, each direction.
        base_ms: u64,
        /// Uniform jitter around the base (default 0; at most `base_ms`).
        #[serde(default)]
        jitter_ms: Option<u64>,
    },
    /// Remove the delay of a host and restore its wiring.
    ClearDelay {
        /// The router (or client).
        router: String,
    },
    /// Change the failure probability of a router's flaky track script (kept across a later
    /// `start`).
    Flaky {
        /// The router; it must declare a `track_script`.
        router: String,
        /// 0.0..=1.0.
        probability: f64,
    },
    /// Just wait.
    Sleep {
        /// Milliseconds.
        ms: u64,
    },
    /// Check the state of the segment.
    Expect(Expect),
}

/// Checks of an `expect` step; every field is optional.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Expect {
    /// From this many ms after the last action until now, exactly one router was Active at
    /// every moment (waits until the window holds at least 3 advert intervals).
    #[serde(default)]
    pub exactly_one_active_within_ms: Option<u64>,
    /// This router is the only one Active now.
    #[serde(default)]
    pub active: Option<String>,
    /// These routers are all Active now (documents split brain, e.g. a checksum mismatch).
    #[serde(default)]
    pub dual_active: Option<Vec<String>>,
    /// Exactly this host answers ARP / ND for the router's first VIP (not link-local).
    #[serde(default)]
    pub vip_holder: Option<String>,
    /// Every advert of each router listed verified under this checksum form.
    #[serde(default)]
    pub checksum_forms: Option<BTreeMap<String, Checksum>>,
    /// No protocol-112 packet was rejected by the codec.
    #[serde(default)]
    pub no_invalid: Option<bool>,
    /// The router's adverts seen so far include a priority-0 advert.
    #[serde(default)]
    pub priority_zero_from: Option<String>,
    /// The router sent a gratuitous ARP / unsolicited NA within this time after the last
    /// action (e.g. the winner re-announcing after a `heal`).
    #[serde(default)]
    pub garp_from: Option<GarpCheck>,
    /// Each router's log (its current run) contains this text (e.g. a discard reason).
    #[serde(default)]
    pub log_contains: Option<BTreeMap<String, String>>,
}

/// The `garp_from` check of an `expect` step.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GarpCheck {
    /// The router expected to announce.
    pub router: String,
    /// Deadline from the last action.
    pub within_ms: u64,
}

impl Scenario {
    /// Parses YAML text.
    pub fn from_yaml(text: &str) -> Result<Scenario> {
        serde_saphyr::from_str(text).map_err(|e| Error::Parse {
            what: "scenario YAML".into(),
            detail: e.to_string(),
        })
    }

    /// Reads and parses a file; the name defaults to the file stem.
    pub fn load(path: &Path) -> Result<Scenario> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| Error::io(format!("read {}", path.display()), e))?;
        let mut s = Scenario::from_yaml(&text).map_err(|e| match e {
            Error::Parse { detail, .. } => Error::Parse {
                what: path.display().to_string(),
                detail,
            },
            e => e,
        })?;
        if s.name.is_none() {
            s.name = path.file_stem().map(|n| n.to_string_lossy().into_owned());
        }
        Ok(s)
    }

    fn clients(&self) -> Vec<String> {
        if self.clients.is_empty() {
            vec!["c1".into()]
        } else {
            self.clients.clone()
        }
    }

    fn decl(&self, name: &str) -> Result<&RouterDecl> {
        self.routers
            .iter()
            .find(|r| r.name == name)
            .ok_or_else(|| Error::Invalid(format!("no router {name:?} in the scenario")))
    }

    /// The neutral spec of router `name`, resolving unicast peers against the lab.
    pub fn spec(&self, name: &str, lab: Option<&Lab>) -> Result<VirtualRouterSpec> {
        let d = self.decl(name)?;
        let mut s = VirtualRouterSpec::new(d.vrid, d.vips.clone());
        if let Some(p) = d.priority {
            s.priority = p;
        }
        if let Some(i) = d.interval_cs {
            s.interval_cs = i;
        }
        if let Some(p) = d.preempt {
            s.preempt = p;
        }
        if let Some(v) = d.version {
            s.version = v;
        }
        if let Some(c) = d.checksum_form {
            s.checksum_form = c;
        }
        if let Some(a) = d.accept {
            s.accept = a;
        }
        if let Some(p) = &d.auth_pass {
            s.auth_pass = Some(p.clone());
        }
        if let Some(p) = d.preempt_delay_ms {
            s.preempt_delay_ms = p;
        }
        if let Some(t) = &d.track_script {
            s.track_script = Some(t.clone());
        }
        if let Some(peers) = &d.unicast_peers {
            let mut v = Vec::new();
            for p in peers {
                if let Ok(ip) = p.parse::<IpAddr>() {
                    v.push(ip);
                } else if let Some(h) = lab.and_then(|l| l.try_host(p)) {
                    v.push(if s.is_ipv6() {
                        h.ipv6.into()
                    } else {
                        h.ipv4.into()
                    });
                } else if lab.is_some() {
                    return Err(Error::Invalid(format!(
                        "unicast peer {p:?} is neither an address nor a host"
                    )));
                }
            }
            s.unicast_peers = Some(v);
        }
        Ok(s)
    }

    /// Checks names and references (no root needed).
    pub fn validate(&self) -> Result<()> {
        if self.routers.is_empty() {
            return Err(Error::Invalid(
                "a scenario needs at least one router".into(),
            ));
        }
        let mut hosts: Vec<&str> = self.routers.iter().map(|r| r.name.as_str()).collect();
        let clients = self.clients();
        hosts.extend(clients.iter().map(String::as_str));
        for (i, h) in hosts.iter().enumerate() {
            if hosts[..i].contains(h) {
                return Err(Error::Invalid(format!("duplicate host name {h:?}")));
            }
        }
        for r in &self.routers {
            self.spec(&r.name, None)?.validate()?;
            if r.log_filter.is_some() && r.kind != RouterKind::Vrrpd {
                return Err(Error::Invalid(format!(
                    "router {}: log_filter is for kind vrrpd only",
                    r.name
                )));
            }
        }
        let router = |n: &str| self.decl(n).map(drop);
        let host = |n: &str| {
            if hosts.contains(&n) {
                Ok(())
            } else {
                Err(Error::Invalid(format!("no host {n:?} in the scenario")))
            }
        };
        for st in &self.steps {
            match st {
                Step::WaitActive { router: r, .. }
                | Step::Start { router: r }
                | Step::StartFails { router: r, .. } => router(r)?,
                Step::Kill { router: r, signal } => {
                    router(r)?;
                    parse_signal(signal.as_deref())?;
                }
                Step::LinkDown { router: r } | Step::LinkUp { router: r } => host(r)?,
                Step::Loss {
                    router: r,
                    direction,
                    ..
                } => {
                    host(r)?;
                    parse_direction(direction.as_deref())?;
                }
                Step::Partition { a, b } => {
                    for n in a.iter().chain(b) {
                        host(n)?;
                    }
                }
                Step::Heal {} | Step::Sleep { .. } => {}
                Step::Delay {
                    router: r,
                    base_ms,
                    jitter_ms,
                } => {
                    host(r)?;
                    if jitter_ms.unwrap_or(0) > *base_ms {
                        return Err(Error::Invalid(format!(
                            "delay {r}: jitter_ms larger than base_ms"
                        )));
                    }
                }
                Step::ClearDelay { router: r } => host(r)?,
                Step::Flaky {
                    router: r,
                    probability,
                } => {
                    if self.decl(r)?.track_script.is_none() {
                        return Err(Error::Invalid(format!(
                            "flaky {r}: the router has no track_script"
                        )));
                    }
                    if !(0.0..=1.0).contains(probability) {
                        return Err(Error::Invalid(format!(
                            "flaky {r}: probability {probability} not in 0..=1"
                        )));
                    }
                }
                Step::Expect(e) => {
                    for r in e
                        .active
                        .iter()
                        .chain(&e.vip_holder)
                        .chain(&e.priority_zero_from)
                    {
                        router(r)?;
                    }
                    for r in e.dual_active.iter().flatten() {
                        router(r)?;
                    }
                    for r in e
                        .checksum_forms
                        .iter()
                        .flat_map(|m| m.keys())
                        .chain(e.log_contains.iter().flat_map(|m| m.keys()))
                        .chain(e.garp_from.iter().map(|g| &g.router))
                    {
                        router(r)?;
                    }
                }
            }
        }
        Ok(())
    }
}

fn parse_signal(s: Option<&str>) -> Result<nix::sys::signal::Signal> {
    let s = s.unwrap_or("TERM").to_ascii_uppercase();
    let full = if s.starts_with("SIG") {
        s
    } else {
        format!("SIG{s}")
    };
    nix::sys::signal::Signal::from_str(&full)
        .map_err(|_| Error::Invalid(format!("unknown signal {full}")))
}

fn parse_direction(s: Option<&str>) -> Result<Direction> {
    match s.unwrap_or("both") {
        "both" => Ok(Direction::Both),
        "in" => Ok(Direction::In),
        "out" => Ok(Direction::Out),
        d => Err(Error::Invalid(format!(
            "direction {d:?}: use in, out or both"
        ))),
    }
}

/// The outcome of one step.
#[derive(Debug, Clone)]
pub struct StepReport {
    /// When it started, relative to the capture start.
    pub t: Duration,
    /// The step, as text.
    pub step: String,
    /// `Some(true)` passed, `Some(false)` failed, `None` not run (an earlier step failed).
    pub ok: Option<bool>,
    /// What was observed.
    pub detail: String,
}

/// The result of [`run`].
#[derive(Debug, Clone)]
pub struct Report {
    /// Scenario name.
    pub name: String,
    /// Its description.
    pub description: String,
    /// Every step passed.
    pub passed: bool,
    /// Per step.
    pub steps: Vec<StepReport>,
    /// What the capture shows.
    pub timeline: Timeline,
    /// tshark's checksum verdicts, summarised (or why tshark could not run).
    pub tshark: Vec<String>,
    /// Log tails of the routers (filled when the scenario failed).
    pub logs: BTreeMap<String, String>,
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "scenario {}: {}",
            self.name,
            if self.passed { "PASSED" } else { "FAILED" }
        )?;
        if !self.description.is_empty() {
            for l in self.description.trim().lines() {
                writeln!(f, "  | {l}")?;
            }
        }
        writeln!(f, "steps:")?;
        for s in &self.steps {
            let mark = match s.ok {
                Some(true) => "ok  ",
                Some(false) => "FAIL",
                None => "skip",
            };
            writeln!(f, "  [{mark}] {:>9} {}", ms(s.t), s.step)?;
            if !s.detail.is_empty() {
                for l in s.detail.lines() {
                    writeln!(f, "                   {l}")?;
                }
            }
        }
        write!(f, "{}", self.timeline)?;
        if !self.tshark.is_empty() {
            writeln!(f, "tshark:")?;
            for l in &self.tshark {
                writeln!(f, "  {l}")?;
            }
        }
        for (r, log) in &self.logs {
            writeln!(f, "log of {r}:")?;
            for l in log.lines() {
                writeln!(f, "  {l}")?;
            }
        }
        Ok(())
    }
}

/// Loads `path` and runs it ([`run_scenario`]).
pub fn run(path: impl AsRef<Path>) -> Result<Report> {
    let s = Scenario::load(path.as_ref())?;
    run_scenario(&s)
}

/// Runs a scenario: checks that every implementation it names is installed (an error
/// otherwise, e.g. vrrpd not built), builds a lab (routers then clients on one segment),
/// starts capturing, starts the routers, runs the steps (stopping at the first failure), and
/// tears everything down. Errors are for setup problems; a failed check is `passed: false`.
pub fn run_scenario(s: &Scenario) -> Result<Report> {
    s.validate()?;
    crate::util::check_root()?;
    // Preflight: every implementation present (an expected `start_fails` is the exception).
    for r in &s.routers {
        let spec = s.spec(&r.name, None)?;
        match r.kind.check(&spec) {
            Ok(()) => {}
            Err(e @ Error::MissingTool { .. }) => return Err(e),
            Err(e) => {
                let expected = s
                    .steps
                    .iter()
                    .any(|st| matches!(st, Step::StartFails { router, .. } if *router == r.name));
                if !expected {
                    return Err(e);
                }
            }
        }
    }
    let name = s.name.clone().unwrap_or_else(|| "scenario".into());
    let mut b = Lab::builder();
    for r in &s.routers {
        b = b.router(&r.name);
    }
    for c in s.clients() {
        b = b.client(&c);
    }
    let lab = b.build()?;
    let work = WorkDir::new("scenario")?;
    let cap = lab.default_segment().capture()?;
    let origin = SystemTime::now();
    let mut run = Runner {
        s,
        lab: &lab,
        cap: &cap,
        dir: work.path().to_path_buf(),
        origin,
        last_action: Instant::now(),
        routers: HashMap::new(),
        names: s
            .routers
            .iter()
            .map(|r| (r.name.clone(), r.name.clone()))
            .collect(),
        flaky: HashMap::new(),
    };
    let mut steps = Vec::new();
    let mut failed = false;
    // Initial start.
    {
        let t = run.now();
        let t0 = Instant::now();
        let mut started = Vec::new();
        let mut res = Ok(());
        for r in s.routers.iter().filter(|r| r.start) {
            if s.steps
                .iter()
                .any(|st| matches!(st, Step::StartFails { router, .. } if *router == r.name))
            {
                continue;
            }
            match run.start(&r.name) {
                Ok(()) => started.push(format!("{} ({})", r.name, r.kind)),
                Err(e) => {
                    res = Err(format!("{} ({}): {e}", r.name, r.kind));
                    break;
                }
            }
        }
        run.last_action = t0;
        let ok = res.is_ok();
        failed |= !ok;
        steps.push(StepReport {
            t,
            step: if started.is_empty() {
                "start (no router starts with the lab)".into()
            } else {
                format!("start {}", started.join(", "))
            },
            ok: Some(ok),
            detail: res.err().unwrap_or_default(),
        });
    }
    for st in &s.steps {
        let t = run.now();
        let text = describe(st);
        if failed {
            steps.push(StepReport {
                t,
                step: text,
                ok: None,
                detail: String::new(),
            });
            continue;
        }
        let (ok, detail) = match run.step(st) {
            Ok(d) => (true, d),
            Err(d) => (false, d),
        };
        failed |= !ok;
        steps.push(StepReport {
            t,
            step: text,
            ok: Some(ok),
            detail,
        });
    }
    let timeline = run.timeline();
    let pcap = work.path().join("capture.pcap");
    let tshark = match tshark_verdicts(&cap.frames(), &run.names, &pcap) {
        Ok(v) => summarize_tshark(&v),
        Err(e) => vec![format!("tshark not run: {e}")],
    };
    let mut logs = BTreeMap::new();
    if failed {
        for (n, r) in &run.routers {
            logs.insert(n.clone(), r.log_tail(30));
        }
    }
    // Graceful stop is not needed: dropping kills the daemons, then the lab goes.
    run.routers.clear();
    Ok(Report {
        name,
        description: s.description.clone().unwrap_or_default(),
        passed: !failed,
        steps,
        timeline,
        tshark,
        logs,
    })
}

fn describe(st: &Step) -> String {
    match st {
        Step::WaitActive { router, within_ms } => {
            format!("wait_active {router} within {within_ms} ms")
        }
        Step::Kill { router, signal } => {
            format!(
                "kill {router} SIG{}",
                signal
                    .as_deref()
                    .unwrap_or("TERM")
                    .trim_start_matches("SIG")
            )
        }
        Step::Start { router } => format!("start {router}"),
        Step::StartFails { router, error } => format!("start_fails {router} ({error})"),
        Step::LinkDown { router } => format!("link_down {router}"),
        Step::LinkUp { router } => format!("link_up {router}"),
        Step::Loss {
            router,
            percent,
            direction,
        } => format!(
            "loss {router} {percent}% {}",
            direction.as_deref().unwrap_or("both")
        ),
        Step::Partition { a, b } => format!("partition [{}] | [{}]", a.join(", "), b.join(", ")),
        Step::Heal {} => "heal".into(),
        Step::Delay {
            router,
            base_ms,
            jitter_ms,
        } => format!(
            "delay {router} {base_ms} ms +- {} ms",
            jitter_ms.unwrap_or(0)
        ),
        Step::ClearDelay { router } => format!("clear_delay {router}"),
        Step::Flaky {
            router,
            probability,
        } => format!("flaky {router} p={probability}"),
        Step::Sleep { ms } => format!("sleep {ms} ms"),
        Step::Expect(e) => {
            let mut parts = Vec::new();
            if let Some(w) = e.exactly_one_active_within_ms {
                parts.push(format!("exactly one Active within {w} ms"));
            }
            if let Some(a) = &e.active {
                parts.push(format!("active {a}"));
            }
            if let Some(d) = &e.dual_active {
                parts.push(format!("dual_active [{}]", d.join(", ")));
            }
            if let Some(v) = &e.vip_holder {
                parts.push(format!("vip_holder {v}"));
            }
            if let Some(m) = &e.checksum_forms {
                let f: Vec<String> = m.iter().map(|(r, c)| format!("{r}={c}")).collect();
                parts.push(format!("checksum_forms {}", f.join(",")));
            }
            if e.no_invalid == Some(true) {
                parts.push("no_invalid".into());
            }
            if let Some(r) = &e.priority_zero_from {
                parts.push(format!("priority_zero_from {r}"));
            }
            if let Some(g) = &e.garp_from {
                parts.push(format!("garp_from {} within {} ms", g.router, g.within_ms));
            }
            if let Some(m) = &e.log_contains {
                let f: Vec<String> = m.iter().map(|(r, t)| format!("{r}: {t:?}")).collect();
                parts.push(format!("log_contains {}", f.join(", ")));
            }
            format!("expect {}", parts.join("; "))
        }
    }
}

struct Runner<'a> {
    s: &'a Scenario,
    lab: &'a Lab,
    cap: &'a Capture,
    dir: PathBuf,
    origin: SystemTime,
    last_action: Instant,
    routers: HashMap<String, RunningRouter>,
    names: HashMap<String, String>,
    /// Failure probabilities set by `flaky` steps, applied on every later start.
    flaky: HashMap<String, f64>,
}

type StepResult = std::result::Result<String, String>;

impl Runner<'_> {
    fn now(&self) -> Duration {
        SystemTime::now()
            .duration_since(self.origin)
            .unwrap_or_default()
    }

    fn timeline(&self) -> Timeline {
        Timeline::build(
            &self.cap.frames(),
            self.origin,
            SystemTime::now(),
            &self.names,
        )
    }

    /// The last action as a timeline offset.
    fn action_t(&self) -> Duration {
        self.now().saturating_sub(self.last_action.elapsed())
    }

    fn max_interval(&self) -> Duration {
        let cs = self
            .s
            .routers
            .iter()
            .map(|r| r.interval_cs.unwrap_or(100))
            .max()
            .unwrap_or(100);
        Duration::from_millis(u64::from(cs) * 10)
    }

    fn start(&mut self, name: &str) -> Result<()> {
        if let Some(mut old) = self.routers.remove(name) {
            old.stop(Duration::from_secs(3))?;
        }
        let d = self.s.decl(name)?;
        let mut spec = self.s.spec(name, Some(self.lab))?;
        if let (Some(p), Some(t)) = (self.flaky.get(name), spec.track_script.as_mut()) {
            t.fail_probability = *p;
        }
        let env: Vec<(String, String)> = d
            .log_filter
            .iter()
            .map(|f| ("RUST_LOG".to_string(), f.clone()))
            .collect();
        let host = self
            .lab
            .try_host(name)
            .ok_or_else(|| Error::Invalid(format!("no host {name:?} in the lab")))?;
        let r = d.kind.start_on_with_env(host, &spec, &self.dir, &env)?;
        self.routers.insert(name.to_string(), r);
        Ok(())
    }

    fn step(&mut self, st: &Step) -> StepResult {
        let e = |x: Error| x.to_string();
        match st {
            Step::WaitActive { router, within_ms } => {
                let deadline = self.last_action + Duration::from_millis(*within_ms);
                let act = self.action_t();
                loop {
                    let tl = self.timeline();
                    if tl.active_now().contains(router) {
                        let since = tl.active_since(router).unwrap_or_default();
                        return Ok(if since >= act {
                            format!(
                                "Active {} ms after the last action",
                                (since - act).as_millis()
                            )
                        } else {
                            format!("Active since {} (before the last action)", ms(since))
                        });
                    }
                    if Instant::now() >= deadline {
                        if let Some(r) = self.routers.get_mut(router) {
                            if let Err(err) = r.check_alive() {
                                return Err(format!("{router} not Active: {err}"));
                            }
                        }
                        return Err(format!(
                            "{router} not Active within {within_ms} ms; Active now: [{}]",
                            tl.active_now().join(", ")
                        ));
                    }
                    std::thread::sleep(Duration::from_millis(40));
                }
            }
            Step::Kill { router, signal } => {
                let sig = parse_signal(signal.as_deref()).map_err(e)?;
                let r = self
                    .routers
                    .get_mut(router)
                    .ok_or_else(|| format!("{router} is not running"))?;
                r.signal(sig).map_err(e)?;
                self.last_action = Instant::now();
                use nix::sys::signal::Signal as S;
                if matches!(sig, S::SIGTERM | S::SIGINT | S::SIGKILL) {
                    let exited = r.wait_exit(sig, Duration::from_secs(3));
                    // FRR: vrrpd is gone (priority 0 sent), now zebra.
                    r.stop(Duration::from_secs(2)).map_err(e)?;
                    return Ok(if exited {
                        "exited".into()
                    } else {
                        "did not exit within 3 s; killed".into()
                    });
                }
                Ok(String::new())
            }
            Step::Start { router } => {
                let t0 = Instant::now();
                self.start(router).map_err(e)?;
                self.last_action = t0;
                Ok(String::new())
            }
            Step::StartFails { router, error } => {
                let d = self.s.decl(router).map_err(e)?;
                let spec = self.s.spec(router, Some(self.lab)).map_err(e)?;
                match d.kind.start(self.lab, router, &spec, &self.dir) {
                    Ok(r) => {
                        self.routers.insert(router.clone(), r);
                        Err(format!("{router} started, expected a {error} error"))
                    }
                    Err(err) => {
                        let kind = match err {
                            Error::Unsupported { .. } => "unsupported",
                            Error::MissingTool { .. } => "missing",
                            _ => "other",
                        };
                        if kind == error {
                            Ok(err.to_string())
                        } else {
                            Err(format!("expected a {error} error, got: {err}"))
                        }
                    }
                }
            }
            Step::LinkDown { router } => {
                self.lab.host(router).link_down().map_err(e)?;
                self.last_action = Instant::now();
                Ok(String::new())
            }
            Step::LinkUp { router } => {
                self.lab.host(router).link_up().map_err(e)?;
                self.last_action = Instant::now();
                Ok(String::new())
            }
            Step::Loss {
                router,
                percent,
                direction,
            } => {
                let d = parse_direction(direction.as_deref()).map_err(e)?;
                self.lab.host(router).set_loss_dir(*percent, d).map_err(e)?;
                self.last_action = Instant::now();
                Ok(String::new())
            }
            Step::Partition { a, b } => {
                let a: Vec<&str> = a.iter().map(String::as_str).collect();
                let b: Vec<&str> = b.iter().map(String::as_str).collect();
                self.lab.partition(&a, &b).map_err(e)?;
                self.last_action = Instant::now();
                Ok(String::new())
            }
            Step::Heal {} => {
                self.lab.heal().map_err(e)?;
                self.last_action = Instant::now();
                Ok(String::new())
            }
            Step::Sleep { ms } => {
                std::thread::sleep(Duration::from_millis(*ms));
                Ok(String::new())
            }
            Step::Delay {
                router,
                base_ms,
                jitter_ms,
            } => {
                self.lab
                    .set_delay(
                        router,
                        Duration::from_millis(*base_ms),
                        Duration::from_millis(jitter_ms.unwrap_or(0)),
                    )
                    .map_err(e)?;
                self.last_action = Instant::now();
                Ok(String::new())
            }
            Step::ClearDelay { router } => {
                self.lab.clear_delay(router).map_err(e)?;
                self.last_action = Instant::now();
                Ok(String::new())
            }
            Step::Flaky {
                router,
                probability,
            } => {
                self.flaky.insert(router.clone(), *probability);
                if let Some(r) = self.routers.get(router) {
                    r.set_fail_probability(*probability).map_err(e)?;
                }
                self.last_action = Instant::now();
                Ok(String::new())
            }
            Step::Expect(x) => self.expect(x),
        }
    }

    fn expect(&mut self, x: &Expect) -> StepResult {
        let mut notes = Vec::new();
        let settle = (self.max_interval() * 3).max(Duration::from_millis(300));
        if let Some(w) = x.exactly_one_active_within_ms {
            let from = self.last_action + Duration::from_millis(w);
            let until = from + settle;
            let now = Instant::now();
            if until > now {
                std::thread::sleep(until - now);
            }
            let tl = self.timeline();
            let from_t = self.action_t() + Duration::from_millis(w);
            match tl.exactly_one_active_between(from_t, tl.end) {
                Ok(who) => notes.push(format!(
                    "exactly one Active from {} to {}: {}",
                    ms(from_t),
                    ms(tl.end),
                    who.join(", ")
                )),
                Err(why) => return Err(why),
            }
        }
        let tl = self.timeline();
        let now = tl.active_now();
        if let Some(a) = &x.active {
            if now != [a.clone()] {
                return Err(format!(
                    "expected {a} to be the only Active, Active now: [{}]",
                    now.join(", ")
                ));
            }
            notes.push(format!("Active now: {a}"));
        }
        if let Some(d) = &x.dual_active {
            let mut want = d.clone();
            want.sort();
            if now != want {
                return Err(format!(
                    "expected [{}] all Active, Active now: [{}]",
                    want.join(", "),
                    now.join(", ")
                ));
            }
            notes.push(format!("Active together: {}", now.join(", ")));
        }
        if let Some(m) = &x.checksum_forms {
            let forms = tl.checksum_forms();
            for (r, want) in m {
                let got = forms.get(r).cloned().unwrap_or_default();
                if got.is_empty() {
                    return Err(format!("no adverts from {r} to check the checksum form"));
                }
                if got.keys().any(|k| k != want.name()) {
                    return Err(format!("{r}: expected only {want} checksums, saw {got:?}"));
                }
                notes.push(format!("{r} sends {want} ({} adverts)", got[want.name()]));
            }
        }
        if x.no_invalid == Some(true) && !tl.invalid.is_empty() {
            return Err(format!("invalid packets: {:?}", tl.invalid_by_sender()));
        }
        if let Some(r) = &x.priority_zero_from {
            match tl.adverts_from(r).find(|a| a.priority == 0) {
                Some(a) => notes.push(format!("{r} sent priority 0 at {}", ms(a.t))),
                None => return Err(format!("no priority-0 advert from {r}")),
            }
        }
        if let Some(g) = &x.garp_from {
            let act = self.action_t();
            let deadline = self.last_action + Duration::from_millis(g.within_ms);
            let found = loop {
                let tl = self.timeline();
                if let Some(a) = tl.first_garp_after(act, Some(&g.router)) {
                    break Some((a.t.saturating_sub(act), a.ip));
                }
                if Instant::now() >= deadline {
                    break None;
                }
                std::thread::sleep(Duration::from_millis(40));
            };
            match found {
                Some((d, ip)) if d <= Duration::from_millis(g.within_ms) => notes.push(format!(
                    "{} announced {ip} {} ms after the last action",
                    g.router,
                    d.as_millis()
                )),
                Some((d, ip)) => {
                    return Err(format!(
                        "{} announced {ip} only {} ms after the last action (limit {} ms)",
                        g.router,
                        d.as_millis(),
                        g.within_ms
                    ))
                }
                None => {
                    return Err(format!(
                        "no gratuitous ARP / unsolicited NA from {} within {} ms of the last \
                         action",
                        g.router, g.within_ms
                    ))
                }
            }
        }
        if let Some(m) = &x.log_contains {
            for (r, text) in m {
                let run = self
                    .routers
                    .get(r)
                    .ok_or_else(|| format!("{r} is not running: no log to search"))?;
                let log = run.logs();
                match log.lines().find(|l| l.contains(text.as_str())) {
                    Some(line) => notes.push(format!("{r} logged: {}", line.trim())),
                    None => return Err(format!("{r}'s log does not contain {text:?}")),
                }
            }
        }
        if let Some(h) = &x.vip_holder {
            let decl = self.s.decl(h).map_err(|e| e.to_string())?;
            let vip = decl
                .vips
                .iter()
                .copied()
                .find(|v| match v {
                    IpAddr::V6(a) => !vrrp_core::packet::is_link_local(*a),
                    IpAddr::V4(_) => true,
                })
                .ok_or_else(|| format!("{h} has no VIP a client can ask for"))?;
            let client = self.s.clients()[0].clone();
            let who = vip_answerers(self.lab, self.cap, &client, vip).map_err(|e| e.to_string())?;
            if who != [h.clone()] {
                return Err(format!(
                    "{vip} is answered by [{}], expected {h} only",
                    who.join(", ")
                ));
            }
            notes.push(format!("{vip} answered by {h} only"));
        }
        Ok(notes.join("\n"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TWO: &str = r#"
routers:
  - { name: a, kind: vrrpd, vrid: 7, version: 2, interval_cs: 100, auth_pass: s3cret, vips: [192.0.2.100], log_filter: "debug,vrrp_net=trace" }
  - { name: b, kind: keepalived, vrid: 7, version: 2, interval_cs: 100, auth_pass: s3cret, vips: [192.0.2.100] }
steps:
  - expect: { garp_from: { router: a, within_ms: 500 }, log_contains: { b: "text" } }
"#;

    #[test]
    fn auth_log_filter_garp_and_log_checks_parse_and_validate() {
        let s = Scenario::from_yaml(TWO).unwrap();
        s.validate().unwrap();
        assert_eq!(
            s.spec("a", None).unwrap().auth_pass.as_deref(),
            Some("s3cret")
        );
        let Step::Expect(e) = &s.steps[0] else {
            panic!("not an expect step")
        };
        assert_eq!(e.garp_from.as_ref().unwrap().within_ms, 500);
        assert_eq!(e.log_contains.as_ref().unwrap()["b"], "text");
        // log_filter is vrrpd's RUST_LOG: refused on other kinds.
        let bad = TWO.replace(
            "auth_pass: s3cret, vips: [192.0.2.100] }",
            "auth_pass: s3cret, vips: [192.0.2.100], log_filter: trace }",
        );
        assert!(Scenario::from_yaml(&bad).unwrap().validate().is_err());
        // Unknown routers in the new checks are refused.
        let bad = TWO.replace("router: a, within_ms", "router: zz, within_ms");
        assert!(Scenario::from_yaml(&bad).unwrap().validate().is_err());
    }

    const FLAKY: &str = r#"
routers:
  - name: a
    kind: vrrpd
    vrid: 7
    preempt_delay_ms: 2000
    vips: [192.0.2.100]
    track_script: { weight: -60, fail_probability: 0.5, interval_ms: 200, rise: 3, fall: 3 }
  - { name: b, kind: keepalived, vrid: 7, vips: [192.0.2.100] }
steps:
  - delay: { router: b, base_ms: 30, jitter_ms: 5 }
  - flaky: { router: a, probability: 0 }
  - clear_delay: { router: b }
"#;

    #[test]
    fn delay_and_flaky_steps_parse_and_validate() {
        let s = Scenario::from_yaml(FLAKY).unwrap();
        s.validate().unwrap();
        let spec = s.spec("a", None).unwrap();
        assert_eq!(spec.preempt_delay_ms, 2000);
        let t = spec.track_script.unwrap();
        assert_eq!((t.weight, t.rise, t.fall, t.interval_ms), (-60, 3, 3, 200));
        assert_eq!(t.recovery_time(), Duration::from_millis(800));
        assert!(matches!(s.steps[0], Step::Delay { base_ms: 30, .. }));
        // flaky needs a track script; jitter at most the base; probability in 0..=1.
        let bad = FLAKY.replace("flaky: { router: a", "flaky: { router: b");
        assert!(Scenario::from_yaml(&bad).unwrap().validate().is_err());
        let bad = FLAKY.replace("jitter_ms: 5", "jitter_ms: 50");
        assert!(Scenario::from_yaml(&bad).unwrap().validate().is_err());
        let bad = FLAKY.replace("probability: 0 }", "probability: 1.5 }");
        assert!(Scenario::from_yaml(&bad).unwrap().validate().is_err());
        let bad = FLAKY.replace("fail_probability: 0.5", "fail_probability: 2");
        assert!(Scenario::from_yaml(&bad).unwrap().validate().is_err());
        // keepalived takes whole-second script intervals; FRR has no vrrp_script.
        let ka = s.spec("a", None).unwrap();
        assert!(matches!(
            RouterKind::Frr.check(&ka),
            Err(Error::Unsupported { .. })
        ));
        if std::path::Path::new(crate::keepalived::KEEPALIVED_BIN).is_file() {
            assert!(matches!(
                RouterKind::Keepalived.check(&ka),
                Err(Error::Unsupported { .. })
            ));
        }
    }
}
