//! `bench rate`: does the Active hold its advert rate? One virtual router at 10 ms adverts on
//! two nodes (Active at 200, Backup at 100); over a window (20 s, quick 3 s) the bridge
//! capture gives the Active's adverts per second and the gaps between consecutive adverts
//! (median, p99, max), side by side with keepalived. Target (issue #12): 100.0 ± 0.1
//! adverts/s and a p99 gap below 10.3 ms on an idle machine.

use std::collections::HashMap;
use std::net::IpAddr;
use std::path::Path;
use std::time::{Duration, SystemTime};

use super::multi::{self, ConfOpts, MultiLab, Seen};
use super::{
    placement_time_box, BenchOptions, BenchReport, Daemon, Estimate, Problem, Row, Runs, Summary,
    Table, KINDS,
};
use crate::error::Result;
use crate::router::{RouterKind, WorkDir};
use crate::util::wait_until;

/// The advert interval measured, in centiseconds.
const INTERVAL_CS: u16 = 1;

fn window_of(opts: &BenchOptions) -> Duration {
    opts.window.unwrap_or(if opts.quick {
        Duration::from_secs(3)
    } else {
        Duration::from_secs(20)
    })
}

/// Estimated duration: per run, start-up (~1 s), settle (1 s), the window, stop.
pub(crate) fn estimate(opts: &BenchOptions) -> Estimate {
    let reps = opts.reps_or(5, 1) as u32;
    let per_run = window_of(opts) + Duration::from_secs(4);
    let expected = per_run * reps * KINDS.len() as u32;
    Estimate {
        expected,
        at_most: expected + placement_time_box(Duration::from_millis(80)) * reps * 2,
    }
}

/// The samples of one run: adverts per second and every gap in ms.
struct Sample {
    rate: f64,
    gaps_ms: Vec<f64>,
}

/// Rate and gaps of `router`'s adverts among `seen`, over `window` from `since`.
fn measure(seen: &Seen, router: &str, since: SystemTime, window: Duration) -> Option<Sample> {
    let mut ts: Vec<SystemTime> = seen
        .adverts
        .iter()
        .filter(|a| a.router == router && a.priority != 0)
        .map(|a| a.ts)
        .filter(|t| *t >= since && t.duration_since(since).is_ok_and(|d| d <= window))
        .collect();
    ts.sort();
    if ts.len() < 2 {
        return None;
    }
    let gaps_ms: Vec<f64> = ts
        .windows(2)
        .map(|w| w[1].duration_since(w[0]).unwrap_or_default().as_secs_f64() * 1e3)
        .collect();
    let span = ts[ts.len() - 1].duration_since(ts[0]).unwrap_or_default();
    let rate = (ts.len() - 1) as f64 / span.as_secs_f64();
    Some(Sample { rate, gaps_ms })
}

/// The `q` quantile (0..1) of sorted `v`.
fn quantile(v: &[f64], q: f64) -> f64 {
    let i = ((v.len() - 1) as f64 * q).round() as usize;
    v[i.min(v.len() - 1)]
}

/// Runs the benchmark.
pub fn run(opts: &BenchOptions, vrrpd: &Path) -> Result<BenchReport> {
    let reps = opts.reps_or(5, 1);
    let window = window_of(opts);
    let mut report = BenchReport::new("rate");
    report.notes.push(format!(
        "one virtual router at {} ms adverts, Active at 200 and Backup at 100; {reps} runs of \
         {:.0} s per implementation; gaps between consecutive adverts of the Active on the \
         bridge capture",
        u64::from(INTERVAL_CS) * 10,
        window.as_secs_f64()
    ));
    let dir = WorkDir::new("bench-rate")?;
    let names = ["r1", "r2"];
    let ml = MultiLab::build(&names, 1)?;
    let vrs = multi::plan(1, 1, 1)?;
    let vips: Vec<IpAddr> = vrs.iter().flat_map(|v| v.vips.clone()).collect();
    let o = ConfOpts {
        interval_cs: INTERVAL_CS,
        prio_active: 200,
        prio_backup: 100,
        preempt: true,
    };
    let confs = [
        multi::config(0, names[0], &vrs, o),
        multi::config(1, names[1], &vrs, o),
    ];
    let mut rates: HashMap<RouterKind, Vec<f64>> = HashMap::new();
    let mut p50: HashMap<RouterKind, Vec<f64>> = HashMap::new();
    let mut p99: HashMap<RouterKind, Vec<f64>> = HashMap::new();
    let mut max: HashMap<RouterKind, Vec<f64>> = HashMap::new();
    let mut runs = Runs::default();
    for _ in 0..reps {
        for kind in KINDS {
            if !runs.go(kind) {
                continue;
            }
            opts.progress(format!("rate: {kind}"));
            let mut problems = Vec::new();
            for r in names {
                super::remove_leftover_vips(ml.host(r), &vips)?;
            }
            let mut ds = Vec::new();
            for (i, r) in names.iter().enumerate() {
                ds.push(Daemon::start(
                    kind,
                    ml.host(r),
                    &confs[i],
                    dir.path(),
                    vrrpd,
                )?);
            }
            let h1 = ml.host(names[0]);
            let placed = wait_until(placement_time_box(Duration::from_millis(80)), || {
                h1.addresses()
                    .is_ok_and(|v| vips.iter().all(|x| v.iter().any(|a| a.addr == *x)))
            });
            if !placed {
                problems.push(Problem::new("the VIP on r1", "not within the time box"));
            }
            // Settle past the start-up burst, then capture the window.
            std::thread::sleep(Duration::from_secs(1));
            let caps = ml.captures()?;
            let since = SystemTime::now();
            std::thread::sleep(window + Duration::from_millis(50));
            let seen = Seen::decode(&caps[0].frames(), since, &ml.alias);
            drop(caps);
            match measure(&seen, names[0], since, window) {
                Some(mut s) => {
                    s.gaps_ms.sort_by(f64::total_cmp);
                    rates.entry(kind).or_default().push(s.rate);
                    p50.entry(kind).or_default().push(quantile(&s.gaps_ms, 0.5));
                    p99.entry(kind)
                        .or_default()
                        .push(quantile(&s.gaps_ms, 0.99));
                    max.entry(kind).or_default().push(quantile(&s.gaps_ms, 1.0));
                }
                None => problems.push(Problem::new("adverts of r1 captured", "fewer than two")),
            }
            if seen
                .adverts
                .iter()
                .any(|a| a.router == names[1] && a.priority != 0)
            {
                problems.push(Problem::new(
                    "one Active (r1)",
                    "r2 advertised in the window",
                ));
            }
            for d in &mut ds {
                if let Err(e) = d.check_alive() {
                    problems.push(Problem::new("daemon running", format!("exited: {e}")));
                }
            }
            for mut d in ds {
                d.stop(Duration::from_secs(5));
            }
            runs.record(kind, problems);
        }
    }
    for r in names {
        super::remove_leftover_vips(ml.host(r), &vips)?;
    }
    for kind in KINDS {
        report.check(
            format!("{kind}: r1 Active over the window, r2 silent, adverts captured"),
            runs.passed(kind),
            runs.detail(kind, reps),
        );
    }
    let row = |label: &str, m: &HashMap<RouterKind, Vec<f64>>, note: &str| Row {
        label: label.to_string(),
        vrrpd: Summary::of(m.get(&RouterKind::Vrrpd).cloned().unwrap_or_default()),
        keepalived: Summary::of(m.get(&RouterKind::Keepalived).cloned().unwrap_or_default()),
        note: note.to_string(),
    };
    report.tables.push(Table {
        title: "Advert rate of the Active at 10 ms".into(),
        unit: "adverts/s".into(),
        decimals: 2,
        rows: vec![row("adverts per second", &rates, "target: 100.0 ± 0.1")],
    });
    report.tables.push(Table {
        title: "Gaps between consecutive adverts of the Active at 10 ms".into(),
        unit: "ms".into(),
        decimals: 3,
        rows: vec![
            row("median gap", &p50, "target: 10.0"),
            row("p99 gap", &p99, "target: < 10.3"),
            row("largest gap", &max, ""),
        ],
    });
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantiles_of_sorted_samples() {
        let v: Vec<f64> = (1..=100).map(f64::from).collect();
        assert_eq!(quantile(&v, 0.5), 51.0);
        assert_eq!(quantile(&v, 0.99), 99.0);
        assert_eq!(quantile(&v, 1.0), 100.0);
    }
}
