//! Steady-state cost: CPU seconds and memory of the daemon as Active and as Backup.
//!
//! Routers r1 (priority 200 for every virtual router: Active) and r2 (priority 100: Backup)
//! run N virtual routers over several interfaces. Once every VIP is on r1, the harness reads
//! utime + stime of every process in each router's namespace (the daemon's whole process
//! tree: keepalived's parent and VRRP child) from `/proc/PID/stat`, sleeps for the window,
//! reads them again, and sums `Rss:` and `Pss:` of `/proc/PID/smaps_rollup`. CPU is reported
//! per 60 s. Afterwards a short capture checks that r1 alone advertised every virtual router
//! and nothing was rejected. Nothing else of the harness runs during the window.
//!
//! Placement waits at most [`super::placement_time_box`] (10 x r1's Active_Down_Interval +
//! 50 ms, at least 20 s); a run that misses it fails validity (and is still measured). An
//! implementation whose runs fail the same check twice in a row stops
//! ([`super::STOP_AFTER`]).

use std::collections::{HashMap, HashSet};
use std::fmt::Write as _;
use std::net::IpAddr;
use std::path::Path;
use std::time::{Duration, SystemTime};

use super::failover::interval_label;
use super::multi::{self, ConfOpts, MultiLab, Seen};
use super::{
    cpu_secs, placement_time_box, rss_pss_kib, BenchOptions, BenchReport, Daemon, Estimate,
    Problem, Row, Runs, Summary, Table, KINDS,
};
use crate::error::Result;
use crate::router::{down_interval, RouterKind, WorkDir};
use crate::util::wait_until;

/// (virtual routers, interfaces) and intervals (cs) measured: the default matrix, or the
/// sizes and intervals given in `opts`.
fn matrix(opts: &BenchOptions) -> (Vec<(usize, usize)>, Vec<u16>) {
    let (mut sizes, mut intervals) = if opts.quick {
        (vec![(20, 2)], vec![10])
    } else {
        (vec![(1, 1), (200, 2), (1000, 4)], vec![100, 10])
    };
    if !opts.cost_sizes.is_empty() {
        sizes = opts
            .cost_sizes
            .iter()
            .map(|&n| (n, interfaces_for(n)))
            .collect();
    }
    if !opts.cost_intervals.is_empty() {
        intervals = opts.cost_intervals.clone();
    }
    (sizes, intervals)
}

/// Interfaces for `n` virtual routers as in the default matrix: 1 for one, 2 up to 200, 4
/// up to 1,000, then as many as 250 VRIDs per interface need.
fn interfaces_for(n: usize) -> usize {
    match n {
        0..=1 => 1,
        2..=200 => 2,
        201..=1000 => 4,
        _ => n.div_ceil(250),
    }
}

#[derive(Default)]
struct Acc {
    cpu: [Vec<f64>; 2],
    rss: [Vec<f64>; 2],
    pss: [Vec<f64>; 2],
}

/// The measurement window.
fn window_of(opts: &BenchOptions) -> Duration {
    opts.window.unwrap_or(if opts.quick {
        Duration::from_secs(3)
    } else {
        Duration::from_secs(60)
    })
}

/// Settling time after placement (keepalived repeats its GARPs 5 s after becoming Active:
/// `vrrp_garp_master_delay`).
fn settle_of(opts: &BenchOptions) -> Duration {
    Duration::from_millis(if opts.quick { 1000 } else { 5500 })
}

/// The placement target of a case: r1's Active_Down_Interval + 50 ms.
fn target_of(cs: u16) -> Duration {
    down_interval(200, cs) + Duration::from_millis(50)
}

/// Estimated duration of [`run`]: per run placement at 1.5 x the target (at most the time
/// box), the settling time, the window, the capture check and the stops.
pub(crate) fn estimate(opts: &BenchOptions) -> Estimate {
    let reps = opts.reps_or(5, 1) as u32;
    let (sizes, intervals) = matrix(opts);
    let mut e = Estimate::default();
    for (n, ifaces) in sizes {
        let lab = super::EST_LAB_PER_HOST * (2 * ifaces) as u32;
        e = e + Estimate {
            expected: lab,
            at_most: lab,
        };
        for &cs in &intervals {
            let fixed = settle_of(opts)
                + window_of(opts)
                + Duration::from_millis(u64::from(cs) * 25 + 200)
                + super::est_stop(n) * 2;
            let target = target_of(cs);
            e = e + Estimate {
                expected: (target.mul_f64(1.5) + fixed) * reps * 2,
                at_most: (placement_time_box(target) + fixed) * reps * 2,
            };
        }
    }
    e
}

/// Runs the cost benchmark.
pub fn run(opts: &BenchOptions, vrrpd: &Path) -> Result<BenchReport> {
    let reps = opts.reps_or(5, 1);
    let window = window_of(opts);
    let mut report = BenchReport::new("cost");
    report.notes.push(format!(
        "window {:.0} s per run, {reps} runs per implementation and case; every VIP must be on \
         r1 within a time box of 10 x (Active_Down_Interval + 50 ms), at least 20 s",
        window.as_secs_f64()
    ));
    let dir = WorkDir::new("bench-cost")?;
    let names = ["r1", "r2"];
    let (sizes, intervals) = matrix(opts);
    let mut cpu_rows = [Vec::new(), Vec::new()];
    let mut rss_rows = [Vec::new(), Vec::new()];
    let mut pss_rows = [Vec::new(), Vec::new()];
    for (n, ifaces) in sizes {
        let ml = MultiLab::build(&names, ifaces)?;
        let vrs = multi::plan(n, ifaces, 1)?;
        let all_vips: Vec<IpAddr> = vrs.iter().flat_map(|v| v.vips.clone()).collect();
        let mine: HashSet<IpAddr> = all_vips.iter().copied().collect();
        for &cs in &intervals {
            let label = format!(
                "{n} VR{}, {}",
                if n == 1 { "" } else { "s" },
                interval_label(cs)
            );
            opts.progress(format!("cost: {label}"));
            let o = ConfOpts {
                interval_cs: cs,
                prio_active: 200,
                prio_backup: 100,
                preempt: true,
            };
            let confs = [
                multi::config(0, names[0], &vrs, o),
                multi::config(1, names[1], &vrs, o),
            ];
            let time_box = placement_time_box(target_of(cs));
            let mut acc: HashMap<RouterKind, Acc> = HashMap::new();
            let mut runs = Runs::default();
            for _ in 0..reps {
                for kind in KINDS {
                    if !runs.go(kind) {
                        continue;
                    }
                    let a = acc.entry(kind).or_default();
                    let mut problems = Vec::new();
                    for r in names {
                        super::remove_leftover_vips(ml.host(r), &all_vips)?;
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
                    let ok = wait_until(time_box, || {
                        h1.addresses().is_ok_and(|v| {
                            let have: HashSet<IpAddr> = v.iter().map(|x| x.addr).collect();
                            mine.iter().all(|x| have.contains(x))
                        })
                    });
                    if !ok {
                        problems.push(Problem::new(
                            "every VIP on the Active",
                            format!("not within the {:.1} s time box", time_box.as_secs_f64()),
                        ));
                    }
                    // Settle: let start-up work pass (keepalived repeats its GARPs 5 s after
                    // becoming Active: vrrp_garp_master_delay).
                    std::thread::sleep(settle_of(opts));
                    let pids: Vec<Vec<u32>> = ds.iter().map(Daemon::pids).collect();
                    let c0: Vec<f64> = pids.iter().map(|p| cpu_secs(p)).collect();
                    let t0 = std::time::Instant::now();
                    std::thread::sleep(window);
                    let el = t0.elapsed().as_secs_f64();
                    for (role, p) in pids.iter().enumerate() {
                        let now = ds[role].pids();
                        if now != *p {
                            problems.push(Problem::new(
                                "same processes over the window",
                                format!("{} process set changed during the window", names[role]),
                            ));
                        }
                        let c = cpu_secs(p) - c0[role];
                        a.cpu[role].push(c * 60.0 / el);
                        let (rss, pss) = rss_pss_kib(p);
                        a.rss[role].push(rss as f64 / 1024.0);
                        a.pss[role].push(pss as f64 / 1024.0);
                    }
                    // Validity: r1 alone advertises every VR; nothing rejected.
                    let caps = ml.captures()?;
                    let t_cap = SystemTime::now();
                    std::thread::sleep(Duration::from_millis(u64::from(cs) * 25 + 100));
                    let seen: Vec<Seen> = caps
                        .iter()
                        .map(|c| Seen::decode(&c.frames(), t_cap, &ml.alias))
                        .collect();
                    drop(caps);
                    problems.extend(
                        multi::check_steady(&vrs, &names[..1], &seen)
                            .into_iter()
                            .map(|d| Problem::new("one Active (r1) per VR", d)),
                    );
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
                super::remove_leftover_vips(ml.host(r), &all_vips)?;
            }
            let mut stops = String::new();
            for kind in KINDS {
                report.check(
                    format!(
                        "{label} {kind}: every VIP on r1 within the {:.1} s time box, one Active \
                         (r1) per VR at the end, no rejected packets",
                        time_box.as_secs_f64()
                    ),
                    runs.passed(kind),
                    runs.detail(kind, reps),
                );
                if let Some(n) = runs.stop_note(kind, reps) {
                    report.notes.push(format!("{label} {kind}: {n}"));
                    let _ = write!(stops, "; {kind} {n}");
                }
            }
            for role in 0..2 {
                let row = |f: &dyn Fn(&Acc) -> &Vec<f64>, note: &str| Row {
                    label: label.clone(),
                    vrrpd: Summary::of(f(&acc[&RouterKind::Vrrpd]).clone()),
                    keepalived: Summary::of(f(&acc[&RouterKind::Keepalived]).clone()),
                    note: format!("{note}{stops}"),
                };
                cpu_rows[role].push(row(&|a| &a.cpu[role], "target: ratio <= 0.33"));
                rss_rows[role].push(row(&|a| &a.rss[role], "target: ratio < 1"));
                pss_rows[role].push(row(&|a| &a.pss[role], "target: ratio < 1"));
            }
        }
    }
    for (role, name) in ["Active", "Backup"].iter().enumerate() {
        report.tables.push(Table {
            title: format!(
                "Steady-state CPU as {name} (utime+stime of the process tree, per 60 s)"
            ),
            unit: "CPU s / 60 s".into(),
            decimals: 3,
            rows: std::mem::take(&mut cpu_rows[role]),
        });
        report.tables.push(Table {
            title: format!("RSS as {name} (sum over the process tree)"),
            unit: "MiB".into(),
            decimals: 2,
            rows: std::mem::take(&mut rss_rows[role]),
        });
        report.tables.push(Table {
            title: format!("PSS as {name} (sum over the process tree)"),
            unit: "MiB".into(),
            decimals: 2,
            rows: std::mem::take(&mut pss_rows[role]),
        });
    }
    Ok(report)
}
