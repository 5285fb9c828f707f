//! Failover precision, measured on the bridge capture.
//!
//! Routers `r1..rN` (priorities 200, 150, 100; N = 2 or 3) run one IPv4 virtual router
//! (VRID 1, VIP 192.0.2.100) with `nopreempt`, so that a restarted router comes back as a
//! Backup and the next fault hits whoever is Active then. Each repetition:
//!
//! 1. finds the Active (the only router that advertised lately) and injects the fault:
//!    `kill -9` of its whole process tree, link down (the bridge-side end of its veth goes
//!    down: carrier loss), or SIGTERM (graceful: priority-0 advert);
//! 2. waits for the first advert of another router and the first gratuitous ARP after it;
//! 3. figure: kill / link down: (new Active's first advert - old Active's last advert) -
//!    Active_Down_Interval of the new Active (3 x interval + Skew_Time); SIGTERM: (first
//!    advert - priority-0 advert) - Skew_Time. GARP: first GARP - first advert;
//! 4. restarts (or re-plugs) the old Active and waits until it is demonstrably a ready Backup
//!    (checking it stays Backup): seen in the Backup state (its daemon logged "Entering BACKUP
//!    STATE" and is in the VRRP multicast group, or, re-plugged, logged it again with its
//!    `eth0` up), then a full Active_Down_Interval of its own, then an advert of the current
//!    Active in the capture, and none of its own since the recovery.
//!
//! Before every fault (also the first of a block, after the initial election) every router
//! but the Active must be shown ready the same way, so that no start-up Active_Down_Timer can
//! expire right after the fault and pass for a takeover.
//!
//! Runs come in blocks of up to 5 repetitions with fresh daemons, alternating vrrpd and
//! keepalived. Anomalies (the wrong router took over, a router advertised that should not
//! have, no takeover at all) are counted and reported, not measured.

use std::collections::HashMap;
use std::path::Path;
use std::time::{Duration, SystemTime};

use super::multi::Seen;
use super::{ms_between, BenchOptions, BenchReport, Daemon, Estimate, Row, Summary, Table, KINDS};
use crate::capture::Capture;
use crate::error::Result;
use crate::lab::Lab;
use crate::router::{down_interval, RouterKind, VirtualRouterSpec, WorkDir};
use crate::util::wait_until;

/// The fault injected into the Active.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// SIGKILL of every process of the daemon.
    Kill9,
    /// Carrier loss: the bridge-side end of the Active's veth goes down.
    LinkDown,
    /// SIGTERM: the Active leaves with a priority-0 advert.
    Sigterm,
}

impl Fault {
    fn label(self) -> &'static str {
        match self {
            Fault::Kill9 => "kill -9",
            Fault::LinkDown => "link down",
            Fault::Sigterm => "SIGTERM",
        }
    }
}

/// One failover case.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Case {
    /// The fault.
    pub fault: Fault,
    /// Number of routers (2 or 3).
    pub routers: usize,
    /// Advertisement interval in centiseconds.
    pub interval_cs: u16,
}

impl Case {
    fn label(&self) -> String {
        format!(
            "{}, {} routers, {}",
            self.fault.label(),
            self.routers,
            interval_label(self.interval_cs)
        )
    }
}

pub(crate) fn interval_label(cs: u16) -> String {
    if cs.is_multiple_of(100) {
        format!("{} s", cs / 100)
    } else {
        format!("{} ms", u32::from(cs) * 10)
    }
}

/// The cases run (`quick`: two cases at 100 ms). At 1 s only kill -9 and SIGTERM with two
/// routers (each repetition waits a 3.6 s Active_Down_Interval); the router count and link
/// down are covered at 100 ms and 10 ms, where the protocol timers are the same but shorter.
pub fn cases(quick: bool) -> Vec<Case> {
    let c = |fault, routers, interval_cs| Case {
        fault,
        routers,
        interval_cs,
    };
    if quick {
        return vec![c(Fault::Kill9, 2, 10), c(Fault::Sigterm, 2, 10)];
    }
    vec![
        c(Fault::Kill9, 2, 100),
        c(Fault::Sigterm, 2, 100),
        c(Fault::Kill9, 2, 10),
        c(Fault::Kill9, 3, 10),
        c(Fault::LinkDown, 2, 10),
        c(Fault::Sigterm, 2, 10),
        c(Fault::Kill9, 2, 1),
        c(Fault::Kill9, 3, 1),
        c(Fault::LinkDown, 2, 1),
        c(Fault::Sigterm, 2, 1),
    ]
}

const PRIOS: [u8; 3] = [200, 150, 100];

/// Repetitions per block of fresh daemons.
const BLOCK: usize = 5;

/// Estimated duration of [`run`]. Per block: start, the initial election and the readiness of
/// the Backups (the lowest priority's Active_Down_Interval and an interval), the stops. Per
/// repetition: the takeover (Active_Down_Interval or Skew_Time of the new Active), the
/// recovered router's readiness (its Active_Down_Interval and half an interval on average),
/// ~150 ms of restarts and capture analysis (SIGTERM: +0.5 s for the old daemon to exit).
pub(crate) fn estimate(opts: &BenchOptions) -> Estimate {
    let reps = opts.reps_or(20, 2);
    let mut t = Duration::ZERO;
    let mut labs = std::collections::BTreeSet::new();
    for case in cases(opts.quick) {
        if labs.insert(case.routers) {
            t += super::EST_LAB_PER_HOST * case.routers as u32;
        }
        let iv = Duration::from_millis(u64::from(case.interval_cs) * 10);
        let adi = |p: u8| down_interval(p, case.interval_cs);
        // The Active alternates between r1 and r2 (nopreempt); take r1's figures.
        let takeover = match case.fault {
            Fault::Sigterm => adi(PRIOS[1]) - iv * 3 + Duration::from_millis(500),
            _ => adi(PRIOS[1]),
        };
        let rep = takeover + adi(PRIOS[0]) + iv / 2 + Duration::from_millis(150);
        let block = adi(PRIOS[case.routers - 1])
            + iv
            + Duration::from_millis(300)
            + super::est_stop(1) * case.routers as u32;
        let blocks = reps.div_ceil(BLOCK) as u32 * 2;
        t += rep * (reps as u32 * 2) + block * blocks;
    }
    Estimate {
        expected: t,
        at_most: t,
    }
}
const VIP: &str = "192.0.2.100";

/// Samples of one case and implementation.
#[derive(Debug, Default)]
struct Samples {
    failover_ms: Vec<f64>,
    garp_ms: Vec<f64>,
    anomalies: Vec<String>,
    /// Readiness not shown (reported as notes; not anomalies, the figure is not affected).
    not_ready: Vec<String>,
    end_ok: usize,
    blocks: usize,
    invalid: usize,
}

/// Runs the failover benchmark.
pub fn run(opts: &BenchOptions, vrrpd: &Path) -> Result<BenchReport> {
    let reps = opts.reps_or(20, 2);
    let mut report = BenchReport::new("failover");
    let dir = WorkDir::new("bench-failover")?;
    let mut fo_rows = Vec::new();
    let mut garp_rows = Vec::new();
    let mut labs: HashMap<usize, (Lab, Capture)> = HashMap::new();
    for case in cases(opts.quick) {
        if let std::collections::hash_map::Entry::Vacant(e) = labs.entry(case.routers) {
            let mut b = Lab::builder();
            for i in 1..=case.routers {
                b = b.router(&format!("r{i}"));
            }
            let lab = b.build()?;
            let cap = lab.default_segment().capture()?;
            e.insert((lab, cap));
        }
        let (lab, cap) = &labs[&case.routers];
        opts.progress(format!("failover: {}", case.label()));
        let mut per_kind: HashMap<RouterKind, Samples> = HashMap::new();
        let block = reps.min(BLOCK);
        let mut done: HashMap<RouterKind, usize> = HashMap::new();
        while KINDS
            .iter()
            .any(|k| done.get(k).copied().unwrap_or(0) < reps)
        {
            for kind in KINDS {
                let d = done.entry(kind).or_default();
                let n = block.min(reps - *d);
                if n == 0 {
                    continue;
                }
                *d += n;
                let s = per_kind.entry(kind).or_default();
                run_block(lab, cap, case, kind, n, dir.path(), vrrpd, s)?;
            }
        }
        let rfc = match case.fault {
            Fault::Sigterm => "Skew_Time",
            _ => "Active_Down_Interval",
        };
        let note = |k: RouterKind| {
            let s = &per_kind[&k];
            if s.anomalies.is_empty() {
                String::new()
            } else {
                format!(
                    "{}: {} anomalies ({})",
                    k,
                    s.anomalies.len(),
                    summarize(&s.anomalies)
                )
            }
        };
        let notes: Vec<String> = KINDS
            .iter()
            .map(|k| note(*k))
            .filter(|n| !n.is_empty())
            .collect();
        fo_rows.push(Row {
            label: format!("{} (minus {rfc})", case.label()),
            vrrpd: Summary::of(per_kind[&RouterKind::Vrrpd].failover_ms.clone()),
            keepalived: Summary::of(per_kind[&RouterKind::Keepalived].failover_ms.clone()),
            note: notes.join("; "),
        });
        garp_rows.push(Row {
            label: case.label(),
            vrrpd: Summary::of(per_kind[&RouterKind::Vrrpd].garp_ms.clone()),
            keepalived: Summary::of(per_kind[&RouterKind::Keepalived].garp_ms.clone()),
            note: String::new(),
        });
        for kind in KINDS {
            let s = &per_kind[&kind];
            report.check(
                format!(
                    "{} {kind}: one Active at the end of every run",
                    case.label()
                ),
                s.end_ok == s.blocks,
                format!("{} of {} runs", s.end_ok, s.blocks),
            );
            report.check(
                format!("{} {kind}: no rejected VRRP packets", case.label()),
                s.invalid == 0,
                format!("{} rejected", s.invalid),
            );
            report.check(
                format!("{} {kind}: figures measured", case.label()),
                !s.failover_ms.is_empty(),
                format!("{} of {} repetitions", s.failover_ms.len(), reps),
            );
            for a in &s.anomalies {
                report.notes.push(format!("{} {kind}: {a}", case.label()));
            }
            for a in &s.not_ready {
                report
                    .notes
                    .push(format!("{} {kind}: readiness: {a}", case.label()));
            }
        }
    }
    report.tables.push(Table {
        title: "Failover: new Active's first advert minus the RFC value (bridge capture)".into(),
        unit: "ms".into(),
        decimals: 2,
        rows: fo_rows,
    });
    report.tables.push(Table {
        title: "New Active: first advert to first gratuitous ARP".into(),
        unit: "ms".into(),
        decimals: 3,
        rows: garp_rows,
    });
    Ok(report)
}

fn summarize(a: &[String]) -> String {
    let mut m: std::collections::BTreeMap<String, usize> = std::collections::BTreeMap::new();
    for x in a {
        let key = x.split(':').next().unwrap_or(x).to_string();
        *m.entry(key).or_default() += 1;
    }
    m.into_iter()
        .map(|(k, n)| format!("{k} x{n}"))
        .collect::<Vec<_>>()
        .join(", ")
}

fn spec_for(i: usize, case: Case) -> VirtualRouterSpec {
    VirtualRouterSpec::new(1, vec![VIP.parse().expect("VIP")])
        .priority(PRIOS[i])
        .interval_cs(case.interval_cs)
        .preempt(false)
}

/// The only router with adverts (priority > 0) in the last `window`, waiting up to `timeout`.
fn single_active(cap: &Capture, window: Duration, timeout: Duration) -> Option<String> {
    let none = HashMap::new();
    let mut who = None;
    wait_until(timeout, || {
        let since = SystemTime::now() - window;
        let seen = Seen::decode(&cap.frames(), since, &none);
        let a = seen.advertisers();
        who = (a.len() == 1).then(|| a.keys().next().cloned()).flatten();
        who.is_some()
    });
    who
}

/// The log line both daemons print when an instance enters the Backup state (keepalived's
/// wording, which vrrpd keeps), with `--log-console` / `-l`.
const BACKUP_LINE: &str = "Entering BACKUP STATE";

/// How long a (re)started or re-plugged router may take to be seen in the Backup state before
/// the harness gives up and counts from then (with a note).
const RECEIVING_TIMEOUT: Duration = Duration::from_secs(10);

/// The instant the harness first saw `in_backup()` hold, polled every 10 ms: the router is in
/// the Backup state and can hear adverts (its daemon logged [`BACKUP_LINE`] and is in the VRRP
/// multicast group, or, after a re-plug, logged it again with its `eth0` up). Its
/// Active_Down_Timer started at or before that instant. `Err` with the instant the harness
/// gave up, after [`RECEIVING_TIMEOUT`].
fn backup_since(
    mut in_backup: impl FnMut() -> bool,
) -> std::result::Result<SystemTime, SystemTime> {
    crate::util::wait_for(RECEIVING_TIMEOUT, || in_backup().then(SystemTime::now))
        .ok_or_else(SystemTime::now)
}

/// A router that must be shown to be a ready Backup.
#[derive(Debug, Clone, Copy)]
struct Standby {
    /// Index into the router names.
    idx: usize,
    /// From when it was seen in the Backup state, able to hear adverts ([`backup_since`]).
    since: SystemTime,
    /// Its Active_Down_Interval (3 x interval + Skew_Time of its priority).
    adi: Duration,
}

/// Outcome of [`wait_ready`].
#[derive(Debug, Clone, PartialEq, Eq)]
enum Readiness {
    /// Every standby router is a ready Backup.
    Ready,
    /// A standby router advertised (strict mode): it did not stay Backup.
    Advertised(String),
    /// Not shown within the timeout.
    Timeout,
}

/// Waits, on the capture, until every router of `standby` is demonstrably a ready Backup:
///
/// - a full Active_Down_Interval of its own has passed since `since` (so an Active_Down_Timer
///   started then that heard nothing would have expired),
/// - and the capture holds an advert of `active` (`None`: of any other router) at or after
///   that instant and after the standby router's own last advert, while that router has not
///   advertised within the last `quiet`.
///
/// A Backup that is still silent once its Active_Down_Interval has run out, while the Active
/// keeps advertising, hears the Active. With `strict_from` (a recovered router, `nopreempt`:
/// it must stay Backup) any advert of a standby router from that instant on ends the wait at
/// once.
fn wait_ready(
    cap: &Capture,
    names: &[String],
    active: Option<&str>,
    standby: &[Standby],
    strict_from: Option<SystemTime>,
    quiet: Duration,
    timeout: Duration,
) -> Readiness {
    let Some(from) = standby.iter().map(|b| b.since).min() else {
        return Readiness::Ready;
    };
    let none = HashMap::new();
    let mut out = Readiness::Timeout;
    wait_until(timeout, || {
        let seen = Seen::decode(&cap.frames(), from, &none);
        match readiness(
            &seen,
            SystemTime::now(),
            names,
            active,
            standby,
            strict_from,
            quiet,
        ) {
            Some(r) => {
                out = r;
                true
            }
            None => false,
        }
    });
    out
}

/// The condition of [`wait_ready`] on the adverts seen up to `now`: `None` while not decided.
fn readiness(
    seen: &Seen,
    now: SystemTime,
    names: &[String],
    active: Option<&str>,
    standby: &[Standby],
    strict_from: Option<SystemTime>,
    quiet: Duration,
) -> Option<Readiness> {
    let mut all = true;
    for b in standby {
        let me = names[b.idx].as_str();
        let mine = |from: SystemTime| {
            seen.adverts
                .iter()
                .filter(move |x| x.router == me && x.priority > 0 && x.ts >= from)
                .map(|x| x.ts)
        };
        if let Some(from) = strict_from {
            if let Some(t) = mine(from).next() {
                return Some(Readiness::Advertised(format!(
                    "{me} advertised {:.1} ms after its recovery",
                    ms_between(from, t)
                )));
            }
        }
        let last = mine(b.since).max();
        let due = b.since + b.adi;
        if now < due || last.is_some_and(|t| t + quiet > now) {
            all = false;
            continue;
        }
        let after = last.map_or(due, |t| t.max(due));
        let heard = seen.adverts.iter().any(|x| {
            x.priority > 0
                && x.ts >= after
                && x.router != me
                && active.is_none_or(|a| x.router == a)
        });
        all &= heard;
    }
    all.then_some(Readiness::Ready)
}

/// The Active before a fault: the only router that advertised in the last `window`, once every
/// other router is a ready Backup ([`wait_ready`]). `Err`: the anomaly.
fn ready_active(
    cap: &Capture,
    names: &[String],
    since: &[SystemTime],
    adis: &[Duration],
    window: Duration,
    timeout: Duration,
) -> std::result::Result<String, String> {
    let deadline = std::time::Instant::now() + timeout;
    let left = || deadline.saturating_duration_since(std::time::Instant::now());
    // One attempt covers the longest Active_Down_Interval and a few adverts; then the Active
    // is looked for again (it may have changed).
    let attempt = adis.iter().max().copied().unwrap_or_default() + window * 2;
    loop {
        let Some(active) = single_active(cap, window, left()) else {
            return Err("no single Active before the fault: skipped".to_string());
        };
        let standby: Vec<Standby> = (0..names.len())
            .filter(|&i| names[i] != active)
            .map(|i| Standby {
                idx: i,
                since: since[i],
                adi: adis[i],
            })
            .collect();
        let r = wait_ready(
            cap,
            names,
            Some(&active),
            &standby,
            None,
            window,
            attempt.min(left()),
        );
        if r == Readiness::Ready {
            return Ok(active);
        }
        if left().is_zero() {
            return Err(format!(
                "Backups not shown ready before the fault within {timeout:?}: skipped"
            ));
        }
    }
}

#[allow(clippy::too_many_arguments)]
fn run_block(
    lab: &Lab,
    cap: &Capture,
    case: Case,
    kind: RouterKind,
    reps: usize,
    dir: &Path,
    vrrpd: &Path,
    s: &mut Samples,
) -> Result<()> {
    let iv = Duration::from_millis(u64::from(case.interval_cs) * 10);
    let window = iv * 2 + Duration::from_millis(60);
    let names: Vec<String> = (1..=case.routers).map(|i| format!("r{i}")).collect();
    let adis: Vec<Duration> = (0..case.routers)
        .map(|i| down_interval(PRIOS[i], case.interval_cs))
        .collect();
    let none = HashMap::new();
    let vips = [VIP.parse().expect("VIP")];
    let start = |i: usize| -> Result<Daemon> {
        let h = lab.host(&names[i]);
        let conf = crate::keepalived::config(&spec_for(i, case), h);
        super::remove_leftover_vips(h, &vips)?;
        Daemon::start(kind, h, &conf, dir, vrrpd)
    };
    // From when a started daemon is a Backup that hears adverts.
    let joined = |d: &Daemon, s: &mut Samples| {
        backup_since(|| d.log_count(BACKUP_LINE) > 0 && d.in_vrrp_group_v4()).unwrap_or_else(
            |gave_up| {
                s.not_ready.push(format!(
                    "{}: not seen in the Backup state (\"{BACKUP_LINE}\" logged, VRRP group \
                     joined) within {RECEIVING_TIMEOUT:?}; its Active_Down_Interval counted \
                     from then",
                    d.host
                ));
                gave_up
            },
        )
    };
    cap.clear();
    let block_start = SystemTime::now();
    s.blocks += 1;
    let mut daemons: Vec<Option<Daemon>> = Vec::new();
    for i in 0..case.routers {
        daemons.push(Some(start(i)?));
    }
    let mut since: Vec<SystemTime> = Vec::new();
    for d in daemons.iter().flatten() {
        since.push(joined(d, s));
    }
    let settle = adis[case.routers - 1] * 2;
    for _ in 0..reps {
        let active = match ready_active(
            cap,
            &names,
            &since,
            &adis,
            window,
            settle + Duration::from_secs(5),
        ) {
            Ok(a) => a,
            Err(anomaly) => {
                s.anomalies.push(anomaly);
                continue;
            }
        };
        let a = names
            .iter()
            .position(|n| *n == active)
            .expect("known router");
        let expected = (0..case.routers)
            .filter(|&i| i != a)
            .min_by_key(|&i| std::cmp::Reverse(PRIOS[i]))
            .expect("another router");
        let t_fault = SystemTime::now();
        match case.fault {
            Fault::Kill9 => {
                if let Some(d) = daemons[a].as_mut() {
                    d.kill9();
                }
            }
            Fault::LinkDown => lab.unplug(&active)?,
            Fault::Sigterm => {
                if let Some(d) = daemons[a].as_ref() {
                    d.sigterm()?;
                }
            }
        }
        let lowest = down_interval(PRIOS[case.routers - 1], case.interval_cs);
        let mut first_new = None;
        wait_until(lowest + Duration::from_secs(2), || {
            let seen = Seen::decode(&cap.frames(), t_fault, &none);
            first_new = seen
                .adverts
                .iter()
                .find(|x| x.router != active && x.priority > 0)
                .cloned();
            first_new.is_some()
        });
        // Recover the old Active at once; it must come back as a Backup.
        let recover_at = SystemTime::now();
        match case.fault {
            Fault::Kill9 | Fault::Sigterm => {
                if let Some(mut d) = daemons[a].take() {
                    if case.fault == Fault::Sigterm {
                        d.stop(Duration::from_secs(2));
                    }
                }
                let d = start(a)?;
                since[a] = joined(&d, s);
                daemons[a] = Some(d);
            }
            Fault::LinkDown => {
                let d = daemons[a].as_ref().expect("link down keeps the daemon");
                let entered = d.log_count(BACKUP_LINE);
                lab.plug(&active)?;
                let host = lab.host(&active);
                since[a] = backup_since(|| {
                    d.log_count(BACKUP_LINE) > entered && host.is_up().unwrap_or(false)
                })
                .unwrap_or_else(|gave_up| {
                    s.not_ready.push(format!(
                        "{active}: not seen back in the Backup state (\"{BACKUP_LINE}\" \
                         logged, eth0 up) within {RECEIVING_TIMEOUT:?} of the re-plug; its \
                         Active_Down_Interval counted from then"
                    ));
                    gave_up
                });
            }
        }
        // Until the recovered router is demonstrably a ready Backup: a full Active_Down_Interval
        // of its own after it was seen in the Backup state, then the current Active's advert,
        // and no advert of its own since the recovery (nopreempt: it must stay Backup). An
        // advert of its own ends the wait; it is counted below (another router advertised
        // after the takeover).
        let current = first_new.as_ref().map(|n| n.router.clone());
        let recovered = Standby {
            idx: a,
            since: since[a],
            adi: adis[a],
        };
        let ready_timeout = adis[a] + iv * 2 + Duration::from_secs(2);
        let readiness = wait_ready(
            cap,
            &names,
            current.as_deref(),
            &[recovered],
            Some(recover_at),
            window,
            ready_timeout,
        );
        if readiness == Readiness::Timeout {
            s.not_ready.push(format!(
                "{active} not shown a ready Backup within {ready_timeout:?} of entering the \
                 Backup state (no advert of {} seen after its Active_Down_Interval)",
                current.as_deref().unwrap_or("another router")
            ));
        }
        let Some(new) = first_new else {
            s.anomalies.push(format!(
                "no takeover: nobody advertised within {:?} of the fault",
                lowest + Duration::from_secs(2)
            ));
            continue;
        };
        let frames = cap.frames();
        let seen = Seen::decode(&frames, block_start, &none);
        let old_last = match case.fault {
            Fault::Sigterm => seen
                .adverts
                .iter()
                .find(|x| x.router == active && x.priority == 0 && x.ts >= t_fault)
                .map(|x| x.ts),
            _ => seen
                .adverts
                .iter()
                .rev()
                .find(|x| x.router == active && x.ts < new.ts && x.ts <= recover_at)
                .map(|x| x.ts),
        };
        let Some(old_last) = old_last else {
            s.anomalies.push(match case.fault {
                Fault::Sigterm => "no priority-0 advert: not measured".to_string(),
                _ => "old Active's last advert not captured: not measured".to_string(),
            });
            continue;
        };
        // A kill -9 or a link down leaves the Active silent; a priority-0 advert means it left
        // gracefully (a harness fault: the figure would be Skew_Time, not the
        // Active_Down_Interval).
        if case.fault != Fault::Sigterm
            && seen
                .adverts
                .iter()
                .any(|x| x.router == active && x.priority == 0 && x.ts >= t_fault && x.ts <= new.ts)
        {
            s.anomalies.push(format!(
                "old Active sent a priority-0 advert after the {}: not measured",
                case.fault.label()
            ));
            continue;
        }
        if new.router != names[expected] {
            s.anomalies.push(format!(
                "wrong router took over: {} instead of {}",
                new.router, names[expected]
            ));
            continue;
        }
        // Nobody but the new Active may advertise from the takeover on.
        let intruders: Vec<String> = seen
            .adverts
            .iter()
            .filter(|x| x.ts >= new.ts && x.priority > 0 && x.router != new.router)
            .map(|x| x.router.clone())
            .collect();
        if !intruders.is_empty() {
            s.anomalies.push(format!(
                "another router advertised after the takeover: {} adverts from {}",
                intruders.len(),
                intruders[0]
            ));
        }
        let rfc = match case.fault {
            Fault::Sigterm => down_interval(PRIOS[expected], case.interval_cs) - iv * 3,
            _ => down_interval(PRIOS[expected], case.interval_cs),
        };
        s.failover_ms
            .push(ms_between(old_last, new.ts) - rfc.as_secs_f64() * 1e3);
        let garp_from = new.ts - Duration::from_millis(50);
        if let Some((t, _)) = seen
            .garps
            .iter()
            .find(|(t, r)| *t >= garp_from && *r == new.router)
        {
            s.garp_ms.push(ms_between(new.ts, *t));
        } else {
            s.anomalies
                .push("no gratuitous ARP from the new Active within the wait".to_string());
        }
    }
    let end_ok = single_active(cap, window, settle + Duration::from_secs(3)).is_some();
    if end_ok {
        s.end_ok += 1;
    }
    let seen = Seen::decode(&cap.frames(), block_start, &none);
    s.invalid += seen.invalid.len();
    for d in daemons.iter_mut().flatten() {
        d.stop(Duration::from_secs(2));
    }
    drop(daemons);
    for n in &names {
        super::remove_leftover_vips(lab.host(n), &vips)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::super::multi::Adv;
    use super::*;

    const T0: Duration = Duration::from_secs(1_000_000);

    fn at(ms: u64) -> SystemTime {
        SystemTime::UNIX_EPOCH + T0 + Duration::from_millis(ms)
    }

    fn adv(router: &str, ms: u64) -> Adv {
        Adv {
            ts: at(ms),
            router: router.to_string(),
            vrid: 1,
            ipv6: false,
            priority: 150,
        }
    }

    fn seen(adverts: Vec<Adv>) -> Seen {
        Seen {
            adverts,
            ..Seen::default()
        }
    }

    fn names() -> Vec<String> {
        vec!["r1".into(), "r2".into(), "r3".into()]
    }

    /// r1 restarted, able to hear adverts at 0 ms, Active_Down_Interval 340 ms.
    fn r1() -> [Standby; 1] {
        [Standby {
            idx: 0,
            since: at(0),
            adi: Duration::from_millis(340),
        }]
    }

    const QUIET: Duration = Duration::from_millis(260);

    #[test]
    fn restarted_router_is_ready_only_after_its_down_interval_and_an_active_advert() {
        let n = names();
        let ads = seen((0..5).map(|i| adv("r2", 50 + 100 * i)).collect());
        // Before its Active_Down_Interval has run out: not yet, whatever was heard.
        let r = readiness(&ads, at(339), &n, Some("r2"), &r1(), Some(at(0)), QUIET);
        assert_eq!(r, None);
        // Run out, but the Active's last advert (250 ms) is from before that.
        let early = seen((0..3).map(|i| adv("r2", 50 + 100 * i)).collect());
        let r = readiness(&early, at(345), &n, Some("r2"), &r1(), Some(at(0)), QUIET);
        assert_eq!(r, None);
        // The Active advertised at 350 ms, after the 340 ms: ready.
        let r = readiness(&ads, at(360), &n, Some("r2"), &r1(), Some(at(0)), QUIET);
        assert_eq!(r, Some(Readiness::Ready));
    }

    #[test]
    fn only_the_current_active_counts() {
        let n = names();
        let ads = seen(vec![adv("r3", 350), adv("r3", 450)]);
        let r = readiness(&ads, at(500), &n, Some("r2"), &r1(), Some(at(0)), QUIET);
        assert_eq!(r, None, "r3 is not the Active");
        // Without a known Active (no takeover), any other router's advert counts.
        let r = readiness(&ads, at(500), &n, None, &r1(), Some(at(0)), QUIET);
        assert_eq!(r, Some(Readiness::Ready));
    }

    #[test]
    fn strict_ends_at_an_advert_of_the_restarted_router() {
        let n = names();
        let ads = seen(vec![adv("r2", 50), adv("r1", 120), adv("r2", 150)]);
        let r = readiness(&ads, at(130), &n, Some("r2"), &r1(), Some(at(0)), QUIET);
        assert!(
            matches!(&r, Some(Readiness::Advertised(m)) if m.starts_with("r1 advertised 120.0 ms after")),
            "{r:?}"
        );
        // Also an advert from before it was seen in the Backup state, after the recovery.
        let late = [Standby {
            since: at(200),
            ..r1()[0]
        }];
        let r = readiness(&ads, at(130), &n, Some("r2"), &late, Some(at(0)), QUIET);
        assert!(matches!(r, Some(Readiness::Advertised(_))), "{r:?}");
        // Without strictness an advert from before `since` does not count.
        let ads = seen(vec![adv("r2", 50), adv("r1", 120), adv("r2", 560)]);
        let r = readiness(&ads, at(600), &n, Some("r2"), &late, None, QUIET);
        assert_eq!(r, Some(Readiness::Ready));
        let r = readiness(&ads, at(600), &n, Some("r2"), &late, Some(at(0)), QUIET);
        assert!(matches!(r, Some(Readiness::Advertised(_))), "{r:?}");
    }

    #[test]
    fn election_advert_needs_quiet_and_a_later_active_advert() {
        // Not strict (before a fault): r1 advertised during the initial election at 360 ms.
        let n = names();
        let ads = seen(vec![adv("r1", 360), adv("r2", 400), adv("r2", 500)]);
        // Quiet for less than 260 ms: not yet, although r2 advertised after it.
        let r = readiness(&ads, at(550), &n, Some("r2"), &r1(), None, QUIET);
        assert_eq!(r, None);
        // Quiet long enough and r2 advertised after r1's last advert: ready.
        let r = readiness(&ads, at(650), &n, Some("r2"), &r1(), None, QUIET);
        assert_eq!(r, Some(Readiness::Ready));
        // r2's adverts all before r1's: not ready.
        let ads = seen(vec![adv("r2", 340), adv("r1", 360)]);
        let r = readiness(&ads, at(700), &n, Some("r2"), &r1(), None, QUIET);
        assert_eq!(r, None);
    }

    #[test]
    fn every_standby_router_must_be_ready() {
        let n = names();
        let both = [
            r1()[0],
            Standby {
                idx: 2,
                since: at(100),
                adi: Duration::from_millis(360),
            },
        ];
        let ads = seen(vec![adv("r2", 350), adv("r2", 450)]);
        // r1 is ready at 350 ms; r3 only once r2 advertised at or after 460 ms.
        let r = readiness(&ads, at(470), &n, Some("r2"), &both, None, QUIET);
        assert_eq!(r, None);
        let ads = seen(vec![adv("r2", 350), adv("r2", 460)]);
        let r = readiness(&ads, at(470), &n, Some("r2"), &both, None, QUIET);
        assert_eq!(r, Some(Readiness::Ready));
    }
}
