//! Cold start: one router, process start to first advert; and at scale: many virtual routers
//! on two routers started together.
//!
//! Single router (`coldstart`): the harness takes the time just before spawning the daemon
//! and the bridge capture the time of its first advert. The RFC value is 0 for the address
//! owner (priority 255: Active at startup) and the Active_Down_Interval for a Backup that
//! hears nobody (priority 100: 3 x interval + Skew_Time).
//!
//! At scale (`scale`): routers r1 and r2, N virtual routers spread over several interfaces
//! (`multi::plan`); even-numbered ones meant to be Active on r1 (priority 200 there,
//! 100 on r2), odd ones on r2. Both daemons are started back to back; the harness polls
//! `ip -j addr` in both namespaces until every VIP is on its intended node and on no other,
//! and counts from the captures the virtual routers for which the wrong node advertised as
//! Active (at least one advert with priority > 0). A run waits at most
//! [`super::placement_time_box`] of the target (10 x, at least 20 s) and fails validity if
//! not every VIP is placed by then; an implementation whose runs fail the same check twice in
//! a row stops ([`super::STOP_AFTER`]).

use std::collections::{HashMap, HashSet};
use std::net::IpAddr;
use std::path::Path;
use std::time::{Duration, Instant, SystemTime};

use super::failover::interval_label;
use super::multi::{self, ConfOpts, MultiLab, Seen};
use super::{
    ms_between, placement_time_box, BenchOptions, BenchReport, Daemon, Estimate, Problem, Row,
    Runs, Summary, Table, KINDS,
};
use crate::error::Result;
use crate::lab::Host;
use crate::router::{down_interval, RouterKind, VirtualRouterSpec, WorkDir};
use crate::util::wait_until;

/// (priority, interval in cs) of the cold-start cases.
fn coldstart_cases(quick: bool) -> Vec<(u8, u16)> {
    if quick {
        vec![(255, 10), (100, 10)]
    } else {
        vec![(255, 100), (100, 100), (100, 10)]
    }
}

/// The RFC value of a cold start: 0 for the owner, else the Active_Down_Interval.
fn coldstart_rfc(prio: u8, cs: u16) -> Duration {
    if prio == 255 {
        Duration::ZERO
    } else {
        down_interval(prio, cs)
    }
}

/// Estimated duration of [`run_coldstart`]: per run the RFC value, ~50 ms to the first
/// advert, the 3-interval check and the stop.
pub(crate) fn estimate_coldstart(opts: &BenchOptions) -> Estimate {
    let reps = opts.reps_or(5, 2) as u32;
    let mut t = super::EST_LAB_PER_HOST;
    for (prio, cs) in coldstart_cases(opts.quick) {
        let run = coldstart_rfc(prio, cs)
            + Duration::from_millis(50 + u64::from(cs) * 30 + 100)
            + super::est_stop(1);
        t += run * reps * 2;
    }
    Estimate {
        expected: t,
        at_most: t,
    }
}

/// Estimated duration of [`run_scale`]: per run placement at 1.5 x the target (at most the
/// time box), two intervals of steady state, the stops.
pub(crate) fn estimate_scale(opts: &BenchOptions) -> Estimate {
    let reps = opts.reps_or(5, 1) as u32;
    let target = down_interval(200, SCALE_CS) + Duration::from_millis(50);
    let mut e = Estimate::default();
    for (n, ifaces) in scale_sizes(opts.quick) {
        let lab = super::EST_LAB_PER_HOST * (2 * ifaces) as u32;
        let fixed = Duration::from_millis(u64::from(SCALE_CS) * 25) + super::est_stop(n) * 2;
        e = e + Estimate {
            expected: lab + (target.mul_f64(1.5) + fixed) * reps * 2,
            at_most: lab + (placement_time_box(target) + fixed) * reps * 2,
        };
    }
    e
}

/// Advertisement interval of the scale benchmark (cs).
const SCALE_CS: u16 = 100;

/// Runs the single-router cold-start benchmark.
pub fn run_coldstart(opts: &BenchOptions, vrrpd: &Path) -> Result<BenchReport> {
    let reps = opts.reps_or(5, 2);
    let mut report = BenchReport::new("coldstart");
    let dir = WorkDir::new("bench-coldstart")?;
    let ml = MultiLab::build(&["r1"], 1)?;
    let caps = ml.captures()?;
    let cap = &caps[0];
    let h = ml.host("r1");
    let vip: IpAddr = "192.0.2.100".parse().expect("VIP");
    let mut rows = Vec::new();
    for (prio, cs) in coldstart_cases(opts.quick) {
        let rfc = coldstart_rfc(prio, cs);
        let label = format!(
            "{}, interval {} (RFC value {:.1} ms)",
            if prio == 255 {
                "address owner (priority 255)".to_string()
            } else {
                format!("Backup alone (priority {prio})")
            },
            interval_label(cs),
            rfc.as_secs_f64() * 1e3
        );
        opts.progress(format!("coldstart: {label}"));
        let spec = VirtualRouterSpec::new(7, vec![vip])
            .priority(prio)
            .interval_cs(cs);
        let conf = crate::keepalived::config(&spec, h);
        let mut samples: HashMap<RouterKind, Vec<f64>> = HashMap::new();
        let mut ends: HashMap<RouterKind, (usize, usize, usize)> = HashMap::new();
        for _ in 0..reps {
            for kind in KINDS {
                super::remove_leftover_vips(h, &[vip])?;
                cap.clear();
                let t0 = SystemTime::now();
                let mut d = Daemon::start(kind, h, &conf, dir.path(), vrrpd)?;
                let mut first = None;
                wait_until(rfc + Duration::from_secs(5), || {
                    let seen = Seen::decode(&cap.frames(), t0, &ml.alias);
                    first = seen.adverts.iter().find(|a| a.priority > 0).map(|a| a.ts);
                    first.is_some()
                });
                // Stay a few intervals to check it keeps advertising.
                std::thread::sleep(Duration::from_millis(u64::from(cs) * 30 + 100));
                let seen = Seen::decode(&cap.frames(), t0, &ml.alias);
                let e = ends.entry(kind).or_default();
                e.0 += 1;
                let recent = SystemTime::now() - Duration::from_millis(u64::from(cs) * 25 + 60);
                if seen
                    .adverts
                    .iter()
                    .any(|a| a.ts >= recent && a.priority > 0)
                {
                    e.1 += 1;
                }
                e.2 += seen.invalid.len();
                if let Err(err) = d.check_alive() {
                    report.notes.push(format!("{kind} exited: {err}"));
                }
                if let Some(t) = first {
                    samples
                        .entry(kind)
                        .or_default()
                        .push(ms_between(t0, t) - rfc.as_secs_f64() * 1e3);
                }
                d.stop(Duration::from_secs(2));
            }
        }
        for kind in KINDS {
            let (runs, active, invalid) = ends.get(&kind).copied().unwrap_or_default();
            report.check(
                format!("{label} {kind}: Active (advertising) at the end of every run"),
                runs > 0 && active == runs,
                format!("{active} of {runs}"),
            );
            report.check(
                format!("{label} {kind}: no rejected VRRP packets"),
                invalid == 0,
                format!("{invalid} rejected"),
            );
        }
        rows.push(Row {
            label,
            vrrpd: Summary::of(samples.remove(&RouterKind::Vrrpd).unwrap_or_default()),
            keepalived: Summary::of(samples.remove(&RouterKind::Keepalived).unwrap_or_default()),
            note: "target: vrrpd under 5 ms".into(),
        });
    }
    super::remove_leftover_vips(h, &[vip])?;
    report.tables.push(Table {
        title: "Cold start: process start to first advert, minus the RFC value".into(),
        unit: "ms".into(),
        decimals: 1,
        rows,
    });
    Ok(report)
}

/// Sizes (virtual routers, interfaces) of the scale benchmark.
fn scale_sizes(quick: bool) -> Vec<(usize, usize)> {
    if quick {
        vec![(40, 2)]
    } else {
        vec![(200, 2), (1000, 4)]
    }
}

/// All VIPs of `vrs` meant for router `me`, and all the others.
fn vip_sets(vrs: &[multi::Vr], me: usize) -> (HashSet<IpAddr>, HashSet<IpAddr>) {
    let mut mine = HashSet::new();
    let mut other = HashSet::new();
    for vr in vrs {
        let set = if vr.intended == me {
            &mut mine
        } else {
            &mut other
        };
        set.extend(vr.vips.iter().copied());
    }
    (mine, other)
}

/// Whether `host` holds every address of `mine` and none of `other`.
fn placed(host: &Host, mine: &HashSet<IpAddr>, other: &HashSet<IpAddr>) -> bool {
    let Ok(addrs) = host.addresses() else {
        return false;
    };
    let have: HashSet<IpAddr> = addrs.iter().map(|a| a.addr).collect();
    // Link-local VIPs repeat across interfaces; presence per address is enough here.
    mine.iter().all(|a| have.contains(a))
        && other
            .iter()
            .filter(|a| !mine.contains(a))
            .all(|a| !have.contains(a))
}

/// Runs the scale benchmark.
pub fn run_scale(opts: &BenchOptions, vrrpd: &Path) -> Result<BenchReport> {
    let reps = opts.reps_or(5, 1);
    let mut report = BenchReport::new("scale");
    let dir = WorkDir::new("bench-scale")?;
    let cs = SCALE_CS;
    let names = ["r1", "r2"];
    let mut rows_time = Vec::new();
    let mut rows_wire = Vec::new();
    let mut rows_wrong = Vec::new();
    for (n, ifaces) in scale_sizes(opts.quick) {
        let label = format!("{n} virtual routers on {ifaces} interfaces, 2 routers, 1 s");
        opts.progress(format!("scale: {label}"));
        let ml = MultiLab::build(&names, ifaces)?;
        let caps = ml.captures()?;
        let vrs = multi::plan(n, ifaces, 2)?;
        let all_vips: Vec<IpAddr> = vrs.iter().flat_map(|v| v.vips.clone()).collect();
        let o = ConfOpts {
            interval_cs: cs,
            prio_active: 200,
            prio_backup: 100,
            preempt: true,
        };
        let confs: Vec<String> = names
            .iter()
            .enumerate()
            .map(|(i, r)| multi::config(i, r, &vrs, o))
            .collect();
        let sets: Vec<_> = (0..2).map(|i| vip_sets(&vrs, i)).collect();
        let adi = down_interval(200, cs);
        let target = adi + Duration::from_millis(50);
        let timeout = placement_time_box(target);
        let mut t_all: HashMap<RouterKind, Vec<f64>> = HashMap::new();
        let mut t_wire: HashMap<RouterKind, Vec<f64>> = HashMap::new();
        let mut wrong: HashMap<RouterKind, Vec<f64>> = HashMap::new();
        let mut runs = Runs::default();
        for _ in 0..reps {
            for kind in KINDS {
                if !runs.go(kind) {
                    continue;
                }
                for r in names {
                    super::remove_leftover_vips(ml.host(r), &all_vips)?;
                }
                for c in &caps {
                    c.clear();
                }
                let t0 = SystemTime::now();
                let i0 = Instant::now();
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
                let mut done_at = None;
                wait_until(timeout, || {
                    let ok = (0..2).all(|i| placed(ml.host(names[i]), &sets[i].0, &sets[i].1));
                    if ok {
                        done_at = Some(i0.elapsed());
                    }
                    ok
                });
                // Let the steady state show on the wire: two more intervals.
                std::thread::sleep(Duration::from_millis(u64::from(cs) * 25));
                let end = SystemTime::now();
                let seen: Vec<Seen> = caps
                    .iter()
                    .map(|c| Seen::decode(&c.frames(), t0, &ml.alias))
                    .collect();
                // Wrong node Active at any time, and the intended node's first advert.
                let mut wrong_n = 0;
                let mut last_first: Option<SystemTime> = None;
                for vr in &vrs {
                    let ads = seen[vr.iface]
                        .adverts
                        .iter()
                        .filter(|a| a.vrid == vr.vrid && a.ipv6 == vr.ipv6() && a.priority > 0);
                    let mut wrong_here = false;
                    let mut first = None;
                    for a in ads {
                        if a.router == names[vr.intended] {
                            first = first.or(Some(a.ts));
                        } else {
                            wrong_here = true;
                        }
                    }
                    wrong_n += usize::from(wrong_here);
                    if let Some(f) = first {
                        last_first = Some(last_first.map_or(f, |l: SystemTime| l.max(f)));
                    }
                }
                wrong.entry(kind).or_default().push(wrong_n as f64);
                let mut p = Vec::new();
                match done_at {
                    Some(d) => t_all.entry(kind).or_default().push(d.as_secs_f64()),
                    None => p.push(Problem::new(
                        "every VIP placed",
                        format!("not within the {:.1} s time box", timeout.as_secs_f64()),
                    )),
                }
                if let Some(l) = last_first {
                    t_wire
                        .entry(kind)
                        .or_default()
                        .push(ms_between(t0, l) / 1e3);
                }
                let recent = end - Duration::from_millis(u64::from(cs) * 25);
                let tail: Vec<Seen> = caps
                    .iter()
                    .map(|c| Seen::decode(&c.frames(), recent, &ml.alias))
                    .collect();
                p.extend(
                    multi::check_steady(&vrs, &names, &tail)
                        .into_iter()
                        .map(|d| Problem::new("one Active per VR at the end", d)),
                );
                let invalid: usize = seen.iter().map(|s| s.invalid.len()).sum();
                if invalid > 0 {
                    p.push(Problem::new(
                        "no rejected packets",
                        format!("{invalid} rejected VRRP packets during the run"),
                    ));
                }
                for d in &mut ds {
                    if let Err(e) = d.check_alive() {
                        p.push(Problem::new("daemon running", format!("exited: {e}")));
                    }
                }
                for mut d in ds {
                    d.stop(Duration::from_secs(5));
                }
                runs.record(kind, p);
            }
        }
        for r in names {
            super::remove_leftover_vips(ml.host(r), &all_vips)?;
        }
        let stops: Vec<String> = KINDS
            .iter()
            .filter_map(|&k| runs.stop_note(k, reps).map(|n| format!("{k} {n}")))
            .collect();
        for kind in KINDS {
            report.check(
                format!(
                    "{label} {kind}: every VIP placed within the {:.1} s time box, one Active \
                     per VR at the end, no rejected packets",
                    timeout.as_secs_f64()
                ),
                runs.passed(kind),
                runs.detail(kind, reps),
            );
            if let Some(n) = runs.stop_note(kind, reps) {
                report.notes.push(format!("{label} {kind}: {n}"));
            }
        }
        let mut note = format!(
            "target {:.3} s (Active_Down_Interval {:.3} s + 50 ms); time box {:.1} s",
            target.as_secs_f64(),
            adi.as_secs_f64(),
            timeout.as_secs_f64()
        );
        for s in &stops {
            note.push_str("; ");
            note.push_str(s);
        }
        rows_time.push(Row {
            label: label.clone(),
            vrrpd: Summary::of(t_all.remove(&RouterKind::Vrrpd).unwrap_or_default()),
            keepalived: Summary::of(t_all.remove(&RouterKind::Keepalived).unwrap_or_default()),
            note,
        });
        rows_wire.push(Row {
            label: label.clone(),
            vrrpd: Summary::of(t_wire.remove(&RouterKind::Vrrpd).unwrap_or_default()),
            keepalived: Summary::of(t_wire.remove(&RouterKind::Keepalived).unwrap_or_default()),
            note: format!("RFC value {:.3} s", adi.as_secs_f64()),
        });
        rows_wrong.push(Row {
            label,
            vrrpd: Summary::of(wrong.remove(&RouterKind::Vrrpd).unwrap_or_default()),
            keepalived: Summary::of(wrong.remove(&RouterKind::Keepalived).unwrap_or_default()),
            note: format!("of {n}; target 0"),
        });
    }
    report.tables.push(Table {
        title:
            "Scale: start of both daemons to every VIP on its intended node (ip -j addr polling)"
                .into(),
        unit: "s".into(),
        decimals: 3,
        rows: rows_time,
    });
    report.tables.push(Table {
        title:
            "Scale: start to the last virtual router's first advert from its intended node (wire)"
                .into(),
        unit: "s".into(),
        decimals: 3,
        rows: rows_wire,
    });
    report.tables.push(Table {
        title: "Scale: virtual routers for which the wrong node advertised as Active".into(),
        unit: "VRs".into(),
        decimals: 0,
        rows: rows_wrong,
    });
    Ok(report)
}
