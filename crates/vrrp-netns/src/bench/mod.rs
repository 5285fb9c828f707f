//! The benchmark suite of issue #6: vrrpd against keepalived, in the same run, on the same
//! machine, in the same lab, with the same keepalived.conf.
//!
//! `vrrp-netns bench NAME` with NAME one of [`BenchName`]:
//!
//! - `failover`: kill -9 / link down / SIGTERM of the Active with 2 and 3 routers, measured on
//!   the bridge capture (last advert of the old Active to first advert of the new one, minus
//!   the RFC Active_Down_Interval or Skew_Time), and the new Active's first gratuitous ARP
//!   after its first advert ([`failover`]);
//! - `coldstart`: process start to first advert, minus the RFC value ([`coldstart`]);
//! - `scale`: 200 and 1,000 virtual routers over several interfaces on two routers started
//!   together: time until every VIP is on its intended node, and how many VRIDs the wrong node
//!   advertised as Active ([`coldstart`]);
//! - `cost`: CPU seconds and RSS/PSS of the whole daemon process tree over a window, as Active
//!   and as Backup ([`cost`]);
//! - `rate`: the Active's advert rate and gaps at 10 ms adverts ([`rate`]);
//! - `all`: the five in turn.
//!
//! Runs alternate between implementations (vrrpd, keepalived, vrrpd, ...) and every figure is
//! reported as median, min and max of each implementation with the ratio of the medians. A
//! benchmark whose validity checks fail (not exactly one Active at the end, packets with bad
//! checksums, ...) reports them and [`BenchReport::valid`] is false.

use std::collections::{BTreeMap, HashMap};
use std::fmt::{self, Write as _};
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, SystemTime};

use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;

use crate::error::{Error, Result};
use crate::lab::Host;
use crate::netns::ChildGuard;
use crate::router::RouterKind;
use crate::util::{new_id, wait_until};

pub mod coldstart;
pub mod cost;
pub mod failover;
pub mod multi;
pub mod rate;

/// The benchmarks `vrrp-netns bench` knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BenchName {
    /// Failover precision (kill -9, link down, SIGTERM) and first GARP.
    Failover,
    /// Process start to first advert, one router.
    Coldstart,
    /// Many virtual routers on two nodes started together.
    Scale,
    /// Steady-state CPU and memory.
    Cost,
    /// The Active's advert rate and gaps at 10 ms adverts.
    Rate,
    /// All of the above.
    All,
}

impl BenchName {
    /// Parses `failover`, `coldstart`, `scale`, `cost`, `rate` or `all`.
    pub fn parse(s: &str) -> Option<BenchName> {
        Some(match s {
            "failover" => BenchName::Failover,
            "coldstart" => BenchName::Coldstart,
            "scale" => BenchName::Scale,
            "cost" => BenchName::Cost,
            "rate" => BenchName::Rate,
            "all" => BenchName::All,
            _ => return None,
        })
    }

    /// The name as on the command line.
    pub fn name(self) -> &'static str {
        match self {
            BenchName::Failover => "failover",
            BenchName::Coldstart => "coldstart",
            BenchName::Scale => "scale",
            BenchName::Cost => "cost",
            BenchName::Rate => "rate",
            BenchName::All => "all",
        }
    }
}

/// Options shared by every benchmark.
#[derive(Debug, Clone, Default)]
pub struct BenchOptions {
    /// Repetitions per figure and implementation; `None`: the benchmark's default (20 for
    /// failover, 5 otherwise; 2 and 1 in quick mode).
    pub reps: Option<usize>,
    /// Few repetitions, small sizes and short windows: a smoke test that runs in seconds.
    pub quick: bool,
    /// Measurement window of the cost benchmark; `None`: 60 s (quick: 3 s).
    pub window: Option<Duration>,
    /// Print progress lines to stderr.
    pub verbose: bool,
    /// Cost benchmark only: the numbers of virtual routers to run (each on
    /// `ceil(n / 250)` interfaces, at most 4 as in the full matrix); empty: the default matrix.
    pub cost_sizes: Vec<usize>,
    /// Cost benchmark only: the advertisement intervals (centiseconds); empty: the default.
    pub cost_intervals: Vec<u16>,
}

impl BenchOptions {
    /// Repetitions: the explicit value, else `full` (or `quick` in quick mode).
    pub fn reps_or(&self, full: usize, quick: usize) -> usize {
        self.reps
            .unwrap_or(if self.quick { quick } else { full })
            .max(1)
    }

    pub(crate) fn progress(&self, msg: impl AsRef<str>) {
        if self.verbose {
            eprintln!("[bench {}] {}", hms_now(), msg.as_ref());
        }
    }
}

/// The two implementations compared, in the order runs alternate.
pub const KINDS: [RouterKind; 2] = [RouterKind::Vrrpd, RouterKind::Keepalived];

/// How long a run may wait for every VIP to reach its intended node before it is reported as
/// failing validity: ten times the target (one Active_Down_Interval of the intended Active +
/// 50 ms), at least 20 s. Proportionate to the protocol, so that an implementation that never
/// places every VIP costs tens of seconds per run, not minutes.
pub fn placement_time_box(target: Duration) -> Duration {
    (target * 10).max(Duration::from_secs(20))
}

/// Runs of one implementation in one case stop once this many consecutive runs failed the
/// same validity check (the report gives n and the check): a broken case does not cost a
/// time box per repetition.
pub const STOP_AFTER: usize = 2;

/// A validity problem of one run: which check failed, and how.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Problem {
    /// The check (short, stable: consecutive failures are matched on it).
    pub check: &'static str,
    /// Details.
    pub detail: String,
}

impl Problem {
    pub fn new(check: &'static str, detail: impl Into<String>) -> Problem {
        Problem {
            check,
            detail: detail.into(),
        }
    }
}

/// Per implementation, the problems of its runs in one case and the [`STOP_AFTER`] rule.
#[derive(Debug, Default)]
pub(crate) struct Runs {
    runs: HashMap<RouterKind, usize>,
    problems: HashMap<RouterKind, Vec<Problem>>,
    /// Consecutive failed runs per check, up to the last run.
    streak: HashMap<RouterKind, BTreeMap<&'static str, usize>>,
    stopped: HashMap<RouterKind, &'static str>,
}

impl Runs {
    /// Whether `kind` still runs (has not been stopped by [`STOP_AFTER`]).
    pub fn go(&self, kind: RouterKind) -> bool {
        !self.stopped.contains_key(&kind)
    }

    /// Records one finished run of `kind` with its problems (empty: it passed every check).
    pub fn record(&mut self, kind: RouterKind, problems: Vec<Problem>) {
        *self.runs.entry(kind).or_default() += 1;
        let streak = self.streak.entry(kind).or_default();
        streak.retain(|c, _| problems.iter().any(|p| p.check == *c));
        let mut checks: Vec<&'static str> = problems.iter().map(|p| p.check).collect();
        checks.sort_unstable();
        checks.dedup();
        for c in checks {
            let n = streak.entry(c).or_default();
            *n += 1;
            if *n >= STOP_AFTER {
                self.stopped.entry(kind).or_insert(c);
            }
        }
        self.problems.entry(kind).or_default().extend(problems);
    }

    /// Runs of `kind` so far.
    pub fn runs(&self, kind: RouterKind) -> usize {
        self.runs.get(&kind).copied().unwrap_or(0)
    }

    /// Whether every run of `kind` passed (and there was one).
    pub fn passed(&self, kind: RouterKind) -> bool {
        self.runs(kind) > 0 && self.problems.get(&kind).is_none_or(Vec::is_empty)
    }

    /// Why `kind` was stopped early, if it was: `stopped after n of reps runs: ...`.
    pub fn stop_note(&self, kind: RouterKind, reps: usize) -> Option<String> {
        self.stopped.get(&kind).map(|c| {
            format!(
                "stopped after {} of {reps} runs: {STOP_AFTER} consecutive runs failed \"{c}\"",
                self.runs(kind)
            )
        })
    }

    /// The detail of the validity check of `kind`: the run count, the stop note, the problems.
    pub fn detail(&self, kind: RouterKind, reps: usize) -> String {
        let mut parts = vec![format!("{} of {reps} runs", self.runs(kind))];
        parts.extend(self.stop_note(kind, reps));
        for p in self.problems.get(&kind).into_iter().flatten() {
            parts.push(format!("{}: {}", p.check, p.detail));
        }
        parts.join("; ")
    }
}

/// Estimated duration of a benchmark.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Estimate {
    /// From the protocol timers and the harness's fixed waits, with placement (scale, cost)
    /// at 1.5 x its target on average, on an idle machine.
    pub expected: Duration,
    /// With every placement time box used in full (scale, cost); else the same.
    pub at_most: Duration,
}

impl std::ops::Add for Estimate {
    type Output = Estimate;
    fn add(self, o: Estimate) -> Estimate {
        Estimate {
            expected: self.expected + o.expected,
            at_most: self.at_most + o.at_most,
        }
    }
}

/// One benchmark of a report: its estimate and how long it took.
#[derive(Debug, Clone, PartialEq)]
pub struct Part {
    /// Benchmark name.
    pub name: String,
    /// Estimated before the run.
    pub estimate: Estimate,
    /// Measured.
    pub elapsed: Duration,
}

/// The options a benchmark runs with: inside `all` (not quick), the cost benchmark is
/// shortened to 3 runs of 5 s unless given explicitly.
fn part_opts(name: BenchName, in_all: bool, opts: &BenchOptions) -> BenchOptions {
    if name == BenchName::Cost && in_all && !opts.quick {
        BenchOptions {
            reps: opts.reps.or(Some(3)),
            window: opts.window.or(Some(Duration::from_secs(5))),
            ..opts.clone()
        }
    } else {
        opts.clone()
    }
}

/// The benchmarks `name` runs, with their options.
fn parts_of(name: BenchName, opts: &BenchOptions) -> Vec<(BenchName, BenchOptions)> {
    let names = match name {
        BenchName::All => vec![
            BenchName::Failover,
            BenchName::Coldstart,
            BenchName::Scale,
            BenchName::Cost,
            BenchName::Rate,
        ],
        n => vec![n],
    };
    names
        .into_iter()
        .map(|n| (n, part_opts(n, name == BenchName::All, opts)))
        .collect()
}

/// The estimated duration of each benchmark `name` runs (one for `all`'s every part).
pub fn estimate(name: BenchName, opts: &BenchOptions) -> Vec<(BenchName, Estimate)> {
    parts_of(name, opts)
        .into_iter()
        .map(|(n, o)| {
            let e = match n {
                BenchName::Failover => failover::estimate(&o),
                BenchName::Coldstart => coldstart::estimate_coldstart(&o),
                BenchName::Scale => coldstart::estimate_scale(&o),
                BenchName::Cost => cost::estimate(&o),
                BenchName::Rate => rate::estimate(&o),
                BenchName::All => unreachable!("expanded"),
            };
            (n, e)
        })
        .collect()
}

/// Estimation constants (idle machine): building a lab, per host (namespace, veth,
/// addresses: a dozen `ip` runs).
pub(crate) const EST_LAB_PER_HOST: Duration = Duration::from_millis(500);

/// Estimation: stopping one daemon with `n` virtual routers (SIGTERM until every process is
/// gone; keepalived takes about 1 s, vrrpd much less) and removing leftover VIPs.
pub(crate) fn est_stop(n: usize) -> Duration {
    Duration::from_millis(600) + Duration::from_millis(n as u64)
}

fn minutes(d: Duration) -> String {
    let s = d.as_secs_f64();
    if s < 120.0 {
        format!("{s:.0} s")
    } else {
        format!("{:.1} min", s / 60.0)
    }
}

/// Median, minimum and maximum of a set of samples.
#[derive(Debug, Clone, PartialEq)]
pub struct Summary {
    /// The samples, in measurement order.
    pub samples: Vec<f64>,
}

impl Summary {
    /// A summary of `samples` (may be empty).
    pub fn of(samples: Vec<f64>) -> Summary {
        Summary { samples }
    }

    /// Number of samples.
    pub fn n(&self) -> usize {
        self.samples.len()
    }

    fn sorted(&self) -> Vec<f64> {
        let mut v = self.samples.clone();
        v.sort_by(f64::total_cmp);
        v
    }

    /// The median (mean of the two middle samples for an even count).
    pub fn median(&self) -> Option<f64> {
        let v = self.sorted();
        match v.len() {
            0 => None,
            n if n % 2 == 1 => Some(v[n / 2]),
            n => Some((v[n / 2 - 1] + v[n / 2]) / 2.0),
        }
    }

    /// The smallest sample.
    pub fn min(&self) -> Option<f64> {
        self.sorted().first().copied()
    }

    /// The largest sample.
    pub fn max(&self) -> Option<f64> {
        self.sorted().last().copied()
    }

    /// The largest absolute value.
    pub fn max_abs(&self) -> Option<f64> {
        self.samples.iter().map(|x| x.abs()).reduce(f64::max)
    }

    fn cell(&self, decimals: usize) -> String {
        match (self.median(), self.min(), self.max()) {
            (Some(m), Some(lo), Some(hi)) => format!(
                "{m:.d$} ({lo:.d$} .. {hi:.d$}) n={}",
                self.n(),
                d = decimals
            ),
            _ => "n/a".into(),
        }
    }
}

/// One row of a result table: a figure for both implementations.
#[derive(Debug, Clone, PartialEq)]
pub struct Row {
    /// What was measured (the case).
    pub label: String,
    /// vrrpd's samples.
    pub vrrpd: Summary,
    /// keepalived's samples.
    pub keepalived: Summary,
    /// Free text: the target, anomalies.
    pub note: String,
}

impl Row {
    /// |median vrrpd| / |median keepalived|, if both exist and keepalived's is not 0.
    pub fn ratio(&self) -> Option<f64> {
        let (v, k) = (self.vrrpd.median()?, self.keepalived.median()?);
        (k.abs() > f64::EPSILON).then(|| v.abs() / k.abs())
    }

    /// The summary of one implementation.
    pub fn of(&self, kind: RouterKind) -> &Summary {
        match kind {
            RouterKind::Keepalived => &self.keepalived,
            _ => &self.vrrpd,
        }
    }
}

/// A table of rows with one unit.
#[derive(Debug, Clone, PartialEq)]
pub struct Table {
    /// Heading.
    pub title: String,
    /// Unit of every figure in the table (`ms`, `s`, `MiB`, ...).
    pub unit: String,
    /// Decimals shown.
    pub decimals: usize,
    /// The rows.
    pub rows: Vec<Row>,
}

/// A validity check of a run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Check {
    /// What was checked.
    pub name: String,
    /// Whether it held.
    pub passed: bool,
    /// Details (counts, who).
    pub detail: String,
}

/// The result of one benchmark (or of `all`: several).
#[derive(Debug, Clone, PartialEq)]
pub struct BenchReport {
    /// Benchmark name.
    pub name: String,
    /// Wall-clock start (UTC, RFC 3339-ish).
    pub started: String,
    /// How long it took.
    pub elapsed: Duration,
    /// Result tables.
    pub tables: Vec<Table>,
    /// Validity checks; the run is valid when all passed.
    pub checks: Vec<Check>,
    /// Remarks: binaries used, machine load, anomalies.
    pub notes: Vec<String>,
    /// The benchmarks run, with their estimated and measured durations.
    pub parts: Vec<Part>,
}

impl BenchReport {
    fn new(name: &str) -> BenchReport {
        BenchReport {
            name: name.to_string(),
            started: utc_now(),
            elapsed: Duration::ZERO,
            tables: Vec::new(),
            checks: Vec::new(),
            notes: Vec::new(),
            parts: Vec::new(),
        }
    }

    /// Whether every validity check passed (and there was at least one).
    pub fn valid(&self) -> bool {
        !self.checks.is_empty() && self.checks.iter().all(|c| c.passed)
    }

    /// Records a check.
    pub fn check(&mut self, name: impl Into<String>, passed: bool, detail: impl Into<String>) {
        self.checks.push(Check {
            name: name.into(),
            passed,
            detail: detail.into(),
        });
    }

    /// Every row of every table, with its table.
    pub fn rows(&self) -> impl Iterator<Item = (&Table, &Row)> {
        self.tables
            .iter()
            .flat_map(|t| t.rows.iter().map(move |r| (t, r)))
    }

    fn merge(&mut self, other: BenchReport) {
        self.tables.extend(other.tables);
        self.checks.extend(other.checks.into_iter().map(|mut c| {
            c.name = format!("{}: {}", other.name, c.name);
            c
        }));
        self.notes.extend(
            other
                .notes
                .into_iter()
                .map(|n| format!("{}: {n}", other.name)),
        );
    }
}

impl fmt::Display for BenchReport {
    /// Markdown: one table per benchmark figure, then the checks and notes.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "## bench {} (started {}, took {:.0} s)\n",
            self.name,
            self.started,
            self.elapsed.as_secs_f64()
        )?;
        if !self.parts.is_empty() {
            writeln!(
                f,
                "| part | estimated | at most (every placement time box used) | took |"
            )?;
            writeln!(f, "|---|---|---|---|")?;
            let mut total = Estimate::default();
            for p in &self.parts {
                total = total + p.estimate;
                writeln!(
                    f,
                    "| {} | {} | {} | {} |",
                    p.name,
                    minutes(p.estimate.expected),
                    minutes(p.estimate.at_most),
                    minutes(p.elapsed)
                )?;
            }
            if self.parts.len() > 1 {
                writeln!(
                    f,
                    "| total | {} | {} | {} |",
                    minutes(total.expected),
                    minutes(total.at_most),
                    minutes(self.elapsed)
                )?;
            }
            writeln!(
                f,
                "\nEstimates: protocol timers and the harness's fixed waits, placement at 1.5 x \
                 its target on average, idle machine; load stretches every part.\n"
            )?;
        }
        for t in &self.tables {
            writeln!(f, "### {} [{}]\n", t.title, t.unit)?;
            writeln!(
                f,
                "| case | vrrpd median (min .. max) | keepalived median (min .. max) | ratio | notes |"
            )?;
            writeln!(f, "|---|---|---|---|---|")?;
            for r in &t.rows {
                let ratio = r.ratio().map_or("n/a".into(), |x| format!("{x:.2}"));
                writeln!(
                    f,
                    "| {} | {} | {} | {ratio} | {} |",
                    r.label,
                    r.vrrpd.cell(t.decimals),
                    r.keepalived.cell(t.decimals),
                    r.note
                )?;
            }
            writeln!(f)?;
        }
        writeln!(
            f,
            "### validity: {}\n",
            if self.valid() { "VALID" } else { "INVALID" }
        )?;
        for c in &self.checks {
            writeln!(
                f,
                "- [{}] {}: {}",
                if c.passed { "x" } else { " " },
                c.name,
                c.detail
            )?;
        }
        if !self.notes.is_empty() {
            writeln!(f, "\nnotes:")?;
            for n in &self.notes {
                writeln!(f, "- {n}")?;
            }
        }
        Ok(())
    }
}

/// Runs a benchmark (or all of them) and returns its report. Errors only when the lab cannot
/// be built or a daemon cannot be started at all; measurement anomalies end up in the report.
pub fn run(name: BenchName, opts: &BenchOptions) -> Result<BenchReport> {
    crate::util::check_root()?;
    let vrrpd = bench_vrrpd_binary()?;
    crate::keepalived::check(&crate::router::VirtualRouterSpec::new(
        1,
        vec!["192.0.2.100".parse().expect("address")],
    ))?;
    let t0 = std::time::Instant::now();
    let mut report = BenchReport::new(name.name());
    report.notes.push(format!(
        "vrrpd binary {} ({}); {}",
        vrrpd.display(),
        if vrrpd.components().any(|c| c.as_os_str() == "release") {
            "release build"
        } else {
            "NOT a release build: figures understate vrrpd"
        },
        crate::keepalived::version().unwrap_or_else(|| "keepalived (version unknown)".into())
    ));
    report.notes.push(format!(
        "machine: {}; load at start: {}",
        machine(),
        loadavg()
    ));
    let parts = parts_of(name, opts);
    let estimates = estimate(name, opts);
    opts.progress(format!(
        "estimated: {}",
        estimates
            .iter()
            .map(|(n, e)| format!(
                "{} ~{} (at most {})",
                n.name(),
                minutes(e.expected),
                minutes(e.at_most)
            ))
            .collect::<Vec<_>>()
            .join(", ")
    ));
    for ((n, o), (_, est)) in parts.into_iter().zip(estimates) {
        opts.progress(format!("starting {} (load {})", n.name(), loadavg()));
        let t_part = std::time::Instant::now();
        let mut r = match n {
            BenchName::Failover => failover::run(&o, &vrrpd)?,
            BenchName::Coldstart => coldstart::run_coldstart(&o, &vrrpd)?,
            BenchName::Scale => coldstart::run_scale(&o, &vrrpd)?,
            BenchName::Cost => cost::run(&o, &vrrpd)?,
            BenchName::Rate => rate::run(&o, &vrrpd)?,
            BenchName::All => unreachable!("expanded above"),
        };
        r.elapsed = t_part.elapsed();
        report.parts.push(Part {
            name: n.name().to_string(),
            estimate: est,
            elapsed: r.elapsed,
        });
        if name == BenchName::All {
            // A long run keeps what it measured so far even if it is interrupted later.
            opts.progress(format!("{} done:\n{r}", n.name()));
            report.merge(r);
        } else {
            report.tables = r.tables;
            report.checks = r.checks;
            report.notes.extend(r.notes);
        }
    }
    report.notes.push(format!("load at end: {}", loadavg()));
    report.elapsed = t0.elapsed();
    Ok(report)
}

/// The vrrpd binary the benchmarks run: `$VRRPD_BIN`, else a release build
/// (`$CARGO_TARGET_DIR/release/vrrpd`, or next to this executable), else the harness's
/// default ([`crate::vrrpd_binary`], a debug build).
pub fn bench_vrrpd_binary() -> Result<PathBuf> {
    if std::env::var_os("VRRPD_BIN").is_some() {
        return crate::router::vrrpd_binary();
    }
    let mut candidates = Vec::new();
    if let Some(t) = std::env::var_os("CARGO_TARGET_DIR") {
        candidates.push(PathBuf::from(t).join("release").join("vrrpd"));
    }
    if let Ok(exe) = std::env::current_exe() {
        for dir in exe.ancestors().skip(1).take(2) {
            if dir.file_name().is_some_and(|n| n == "release") {
                candidates.push(dir.join("vrrpd"));
            }
        }
    }
    candidates.push(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../target")
            .join("release")
            .join("vrrpd"),
    );
    match candidates.into_iter().find(|p| p.is_file()) {
        Some(p) => Ok(p),
        None => crate::router::vrrpd_binary(),
    }
}

/// A daemon (vrrpd or keepalived) started by the benchmarks from a keepalived.conf text,
/// alone in its host's namespace. Dropping it kills every process in that namespace.
#[derive(Debug)]
pub(crate) struct Daemon {
    pub kind: RouterKind,
    pub host: String,
    netns: String,
    guard: Option<ChildGuard>,
    dir: PathBuf,
}

impl Daemon {
    /// Writes `conf` under `dir` and starts `kind` on `host` with the harness's command line
    /// (`keepalived --vrrp --dont-fork --log-console --log-detail`, vrrpd `-n -l -D -P`).
    /// Does not wait: the caller measures from just before this call.
    pub fn start(
        kind: RouterKind,
        host: &Host,
        conf: &str,
        dir: &Path,
        vrrpd: &Path,
    ) -> Result<Daemon> {
        let sub = dir.join(format!("{}-{}-{}", host.name, kind.name(), new_id()));
        std::fs::create_dir_all(&sub)
            .map_err(|e| Error::io(format!("create {}", sub.display()), e))?;
        let path = sub.join("keepalived.conf");
        crate::router::write(&path, conf)?;
        let program = match kind {
            RouterKind::Keepalived => PathBuf::from(crate::keepalived::KEEPALIVED_BIN),
            _ => vrrpd.to_path_buf(),
        };
        let mut cmd = Command::new(program);
        if kind == RouterKind::Keepalived {
            cmd.args(["--vrrp", "--dont-fork", "--log-console", "--log-detail"]);
        } else {
            cmd.args(["-n", "-l", "-D", "-P", "--control-socket"])
                .arg(sub.join("control.sock"));
        }
        cmd.arg("-f")
            .arg(&path)
            .arg("-p")
            .arg(sub.join("main.pid"))
            .arg("-r")
            .arg(sub.join("vrrp.pid"));
        let log = sub.join("daemon.log");
        let f = std::fs::File::create(&log)
            .map_err(|e| Error::io(format!("create {}", log.display()), e))?;
        let f2 = f.try_clone().map_err(|e| Error::io("dup log", e))?;
        cmd.stdin(Stdio::null()).stdout(f).stderr(f2);
        let guard = host.netns.spawn(cmd)?;
        Ok(Daemon {
            kind,
            host: host.name.clone(),
            netns: host.netns.name().to_string(),
            guard: Some(guard),
            dir: sub,
        })
    }

    /// Whether the daemon's namespace is in the IPv4 VRRP multicast group 224.0.0.18 on some
    /// interface (`/proc/PID/net/igmp` of its main process): it has opened its receive
    /// socket and can hear adverts. Both daemons join the group with `IP_ADD_MEMBERSHIP`; the
    /// membership goes with the socket, so it is gone once a killed daemon has been reaped.
    pub fn in_vrrp_group_v4(&self) -> bool {
        let Some(g) = &self.guard else {
            return false;
        };
        let Ok(text) = std::fs::read_to_string(format!("/proc/{}/net/igmp", g.pid())) else {
            return false;
        };
        // The kernel prints the group as the raw (network order) u32 in hex, host endianness.
        let group = format!("{:08X}", u32::from_ne_bytes([224, 0, 0, 18]));
        igmp_has_group(&text, &group)
    }

    /// Every process in the daemon's namespace (keepalived: parent and VRRP child).
    pub fn pids(&self) -> Vec<u32> {
        crate::netns::pids_in(&self.netns).unwrap_or_default()
    }

    /// Fails with the log tail if the main process has exited.
    pub fn check_alive(&mut self) -> Result<()> {
        if let Some(g) = &mut self.guard {
            if let Ok(Some(st)) = g.try_wait() {
                return Err(Error::Command {
                    cmd: format!("{} on {}", self.kind, self.host),
                    status: format!("exited ({st})"),
                    stderr: self.log_tail(20),
                });
            }
        }
        Ok(())
    }

    /// How many lines of the daemon's log contain `needle`.
    pub fn log_count(&self, needle: &str) -> usize {
        std::fs::read_to_string(self.dir.join("daemon.log"))
            .map(|t| t.lines().filter(|l| l.contains(needle)).count())
            .unwrap_or(0)
    }

    /// The last lines of the daemon's log.
    pub fn log_tail(&self, lines: usize) -> String {
        let text = std::fs::read_to_string(self.dir.join("daemon.log")).unwrap_or_default();
        let all: Vec<&str> = text.lines().collect();
        all[all.len().saturating_sub(lines)..].join("\n")
    }

    /// SIGKILL to every process of the daemon, then reaps the main process.
    ///
    /// Every process is stopped (SIGSTOP) before any is killed: keepalived's VRRP child has
    /// its parent-death signal set to SIGTERM, so killing the parent first could let the child
    /// shut down gracefully, with a priority-0 advert, before its own SIGKILL arrives; a kill
    /// -9 must leave the Active silent.
    pub fn kill9(&mut self) {
        let pids = self.pids();
        for &pid in &pids {
            let _ = kill(Pid::from_raw(pid as i32), Signal::SIGSTOP);
        }
        for &pid in &pids {
            let _ = kill(Pid::from_raw(pid as i32), Signal::SIGKILL);
        }
        if let Some(mut g) = self.guard.take() {
            let _ = g.kill();
        }
        let _ = crate::netns::kill_all_in(&self.netns);
    }

    /// SIGTERM to the main process (keepalived's parent forwards it to its child).
    pub fn sigterm(&self) -> Result<()> {
        match &self.guard {
            Some(g) => g.signal(Signal::SIGTERM),
            None => Ok(()),
        }
    }

    /// SIGTERM, up to `grace` for every process to exit, then SIGKILL for the rest.
    pub fn stop(&mut self, grace: Duration) {
        let _ = self.sigterm();
        let netns = self.netns.clone();
        if let Some(g) = &mut self.guard {
            let _ = g.wait_timeout(grace);
        }
        wait_until(grace, || {
            crate::netns::pids_in(&netns)
                .map(|p| p.is_empty())
                .unwrap_or(true)
        });
        self.kill9();
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        self.kill9();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// Whether a `/proc/net/igmp` text lists `group` (8 hex digits as the kernel prints them)
/// under any device, with at least one user.
fn igmp_has_group(text: &str, group: &str) -> bool {
    text.lines()
        .filter(|l| l.starts_with('\t') || l.starts_with(' '))
        .filter_map(|l| {
            let mut it = l.split_whitespace();
            Some((it.next()?, it.next()?.parse::<u32>().ok()?))
        })
        .any(|(g, users)| g.eq_ignore_ascii_case(group) && users > 0)
}

/// CPU time (utime + stime, all threads) of a set of processes, in seconds.
pub(crate) fn cpu_secs(pids: &[u32]) -> f64 {
    let tck = clk_tck();
    pids.iter()
        .filter_map(|p| std::fs::read_to_string(format!("/proc/{p}/stat")).ok())
        .filter_map(|stat| {
            let rest = &stat[stat.rfind(')')? + 2..];
            let f: Vec<&str> = rest.split_whitespace().collect();
            Some(f.get(11)?.parse::<u64>().ok()? + f.get(12)?.parse::<u64>().ok()?)
        })
        .sum::<u64>() as f64
        / tck
}

fn clk_tck() -> f64 {
    static TCK: std::sync::OnceLock<f64> = std::sync::OnceLock::new();
    *TCK.get_or_init(|| {
        Command::new("getconf")
            .arg("CLK_TCK")
            .output()
            .ok()
            .and_then(|o| String::from_utf8_lossy(&o.stdout).trim().parse().ok())
            .unwrap_or(100.0)
    })
}

/// Summed `Rss:` and `Pss:` of `/proc/PID/smaps_rollup` over a set of processes, in KiB.
pub(crate) fn rss_pss_kib(pids: &[u32]) -> (u64, u64) {
    let mut rss = 0;
    let mut pss = 0;
    for p in pids {
        let Ok(text) = std::fs::read_to_string(format!("/proc/{p}/smaps_rollup")) else {
            continue;
        };
        for l in text.lines() {
            let mut it = l.split_whitespace();
            let (Some(k), Some(v)) = (it.next(), it.next()) else {
                continue;
            };
            let v: u64 = v.parse().unwrap_or(0);
            match k {
                "Rss:" => rss += v,
                "Pss:" => pss += v,
                _ => {}
            }
        }
    }
    (rss, pss)
}

/// Signed milliseconds from `a` to `b` (negative if `b` is earlier).
pub(crate) fn ms_between(a: SystemTime, b: SystemTime) -> f64 {
    match b.duration_since(a) {
        Ok(d) => d.as_secs_f64() * 1e3,
        Err(e) => -e.duration().as_secs_f64() * 1e3,
    }
}

/// The 1/5/15-minute load averages as text.
pub fn loadavg() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|_| "?".into())
}

/// The 1-minute load average.
pub fn load1() -> f64 {
    loadavg()
        .split_whitespace()
        .next()
        .and_then(|s| s.parse().ok())
        .unwrap_or(0.0)
}

fn machine() -> String {
    let cpus = std::thread::available_parallelism().map_or(0, |n| n.get());
    let model = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split_once(':'))
                .map(|(_, v)| v.trim().to_string())
        })
        .unwrap_or_else(|| "unknown CPU".into());
    let kernel = std::fs::read_to_string("/proc/sys/kernel/osrelease")
        .map(|s| s.trim().to_string())
        .unwrap_or_default();
    format!("{cpus} CPUs ({model}), Linux {kernel}")
}

fn utc_now() -> String {
    let secs = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let (days, rem) = (secs / 86_400, secs % 86_400);
    // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
    let z = days as i64 + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}-{m:02}-{d:02} {:02}:{:02}:{:02} UTC",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

fn hms_now() -> String {
    utc_now().split(' ').nth(1).unwrap_or("").to_string()
}

/// Deletes every address of `vips` still present in `host`'s namespace (left behind by a
/// killed daemon), in one `ip -batch`.
pub(crate) fn remove_leftover_vips(host: &Host, vips: &[IpAddr]) -> Result<()> {
    let present = host.addresses()?;
    let mut batch = String::new();
    for a in present.iter().filter(|a| vips.contains(&a.addr)) {
        let _ = writeln!(batch, "addr del {}/{} dev {}", a.addr, a.prefix, a.ifname);
    }
    if !batch.is_empty() {
        host.netns
            .exec_with_input("ip", &["-batch", "-"], batch.as_bytes())?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn summary_median_min_max() {
        let s = Summary::of(vec![3.0, 1.0, 2.0, 10.0]);
        assert_eq!(s.median(), Some(2.5));
        assert_eq!(s.min(), Some(1.0));
        assert_eq!(s.max(), Some(10.0));
        assert_eq!(Summary::of(vec![]).median(), None);
        let r = Row {
            label: "x".into(),
            vrrpd: Summary::of(vec![1.0]),
            keepalived: Summary::of(vec![-4.0]),
            note: String::new(),
        };
        assert_eq!(r.ratio(), Some(0.25));
    }

    #[test]
    fn runs_stop_after_two_consecutive_failures_of_the_same_check() {
        let k = RouterKind::Keepalived;
        let mut r = Runs::default();
        r.record(k, vec![Problem::new("placed", "not within 20 s")]);
        assert!(r.go(k), "one failure does not stop");
        r.record(k, vec![Problem::new("steady", "2 VRs wrong")]);
        assert!(r.go(k), "two failures of different checks do not stop");
        r.record(k, vec![]);
        r.record(k, vec![Problem::new("steady", "1 VR wrong")]);
        assert!(r.go(k), "a passing run breaks the streak");
        r.record(
            k,
            vec![
                Problem::new("placed", "not within 20 s"),
                Problem::new("steady", "3 VRs wrong"),
            ],
        );
        assert!(!r.go(k), "steady failed twice in a row");
        assert_eq!(r.runs(k), 5);
        assert!(!r.passed(k));
        let d = r.detail(k, 7);
        assert!(
            d.starts_with(
                "5 of 7 runs; stopped after 5 of 7 runs: 2 consecutive runs failed \"steady\""
            ),
            "{d}"
        );
        assert!(d.contains("placed: not within 20 s"), "{d}");
        // The other implementation is unaffected.
        assert!(r.go(RouterKind::Vrrpd));
        assert!(!r.passed(RouterKind::Vrrpd), "no runs: not passed");
        r.record(RouterKind::Vrrpd, vec![]);
        assert!(r.passed(RouterKind::Vrrpd));
    }

    #[test]
    fn placement_time_box_is_ten_targets_at_least_20_s() {
        assert_eq!(
            placement_time_box(Duration::from_millis(3269)),
            Duration::from_millis(32690)
        );
        assert_eq!(
            placement_time_box(Duration::from_millis(372)),
            Duration::from_secs(20)
        );
    }

    #[test]
    fn full_all_estimate_fits_35_minutes() {
        let e = estimate(BenchName::All, &BenchOptions::default());
        let names: Vec<&str> = e.iter().map(|(n, _)| n.name()).collect();
        assert_eq!(names, ["failover", "coldstart", "scale", "cost", "rate"]);
        let total = e.iter().fold(Estimate::default(), |a, (_, b)| a + *b);
        assert!(
            total.expected > Duration::from_secs(15 * 60)
                && total.expected < Duration::from_secs(35 * 60),
            "{e:?}"
        );
        for (n, p) in &e {
            assert!(p.at_most >= p.expected, "{n:?}: {p:?}");
        }
        // Inside `all` the cost benchmark is the shortened one.
        let alone = estimate(BenchName::Cost, &BenchOptions::default());
        assert!(
            alone[0].1.expected > e[3].1.expected * 5,
            "{alone:?} vs {e:?}"
        );
    }

    #[test]
    fn igmp_group_lines() {
        let text = "Idx\tDevice    : Count Querier\tGroup    Users Timer\tReporter\n\
                    1\tlo        :     1      V3\n\
                    \t\t\t\t010000E0     1 0:00000000\t\t0\n\
                    2\teth0      :     2      V3\n\
                    \t\t\t\t120000E0     1 0:00000000\t\t0\n\
                    \t\t\t\t010000E0     1 0:00000000\t\t0\n";
        assert!(igmp_has_group(text, "120000E0"));
        assert!(!igmp_has_group(text, "130000E0"));
        // The device lines ("2 eth0 : 2 V3") are not groups.
        assert!(!igmp_has_group(text, "2"));
    }

    #[test]
    fn names_round_trip() {
        for n in ["failover", "coldstart", "scale", "cost", "all"] {
            assert_eq!(BenchName::parse(n).unwrap().name(), n);
        }
        assert!(BenchName::parse("x").is_none());
        assert!(utc_now().ends_with("UTC"));
    }
}
