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
//! 4. restarts (or re-plugs) the old Active and checks it stays Backup.
//!
//! Runs come in blocks of up to 5 repetitions with fresh daemons, alternating vrrpd and
//! keepalived. Anomalies (the wrong router took over, a router advertised that should not
//! have, no takeover at all) are counted and reported, not measured.

use std::collections::HashMap;
use std::path::Path;
use std::time::{Duration, SystemTime};

use super::multi::Seen;
use super::{ms_between, BenchOptions, BenchReport, Daemon, Row, Summary, Table, KINDS};
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
const VIP: &str = "192.0.2.100";

/// Samples of one case and implementation.
#[derive(Debug, Default)]
struct Samples {
    failover_ms: Vec<f64>,
    garp_ms: Vec<f64>,
    anomalies: Vec<String>,
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
        let block = reps.min(5);
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
    let none = HashMap::new();
    let vips = [VIP.parse().expect("VIP")];
    let start = |i: usize| -> Result<Daemon> {
        let h = lab.host(&names[i]);
        let conf = crate::keepalived::config(&spec_for(i, case), h);
        super::remove_leftover_vips(h, &vips)?;
        Daemon::start(kind, h, &conf, dir, vrrpd)
    };
    cap.clear();
    let block_start = SystemTime::now();
    s.blocks += 1;
    let mut daemons: Vec<Option<Daemon>> = Vec::new();
    for i in 0..case.routers {
        daemons.push(Some(start(i)?));
    }
    let settle = down_interval(PRIOS[case.routers - 1], case.interval_cs) * 2;
    for _ in 0..reps {
        let Some(active) = single_active(cap, window, settle + Duration::from_secs(5)) else {
            s.anomalies
                .push("no single Active before the fault: skipped".to_string());
            continue;
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
                daemons[a] = Some(start(a)?);
            }
            Fault::LinkDown => lab.plug(&active)?,
        }
        std::thread::sleep(Duration::from_millis(300) + iv + iv / 5);
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
