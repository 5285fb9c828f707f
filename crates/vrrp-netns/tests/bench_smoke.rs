//! Smoke test of `vrrp-netns bench`: every benchmark in quick mode (few repetitions, small
//! sizes, short windows; well under a minute in all). Checks that each run was valid (one
//! Active at the end, no rejected packets, ...), that every figure has samples from both
//! vrrpd and keepalived, that the report states its estimated and measured duration, and
//! that the failover benchmark saw every daemon enter the Backup state (its readiness wait).
//!
//! Needs root, keepalived (`apt-get install -y keepalived`) and the vrrpd binary (`cargo
//! build -p vrrpd` with the same `CARGO_TARGET_DIR`, or `VRRPD_BIN`); fails clearly if any is
//! missing. The benchmarks are run one after the other (one test), since they measure time.

use vrrp_netns::bench::{self, BenchName, BenchOptions, BenchReport};
use vrrp_netns::require_root;

fn quick(name: BenchName) -> BenchReport {
    let opts = BenchOptions {
        quick: true,
        verbose: true,
        ..BenchOptions::default()
    };
    let report = bench::run(name, &opts)
        .unwrap_or_else(|e| panic!("bench {} could not run: {e}", name.name()));
    println!("{report}");
    report
}

fn assert_complete(report: &BenchReport) {
    assert!(
        report.valid(),
        "bench {} failed its validity checks:\n{report}",
        report.name
    );
    assert!(
        report.rows().count() > 0,
        "bench {} has no figures",
        report.name
    );
    for (table, row) in report.rows() {
        assert!(
            row.vrrpd.n() > 0 && row.keepalived.n() > 0,
            "bench {}: {} / {} lacks figures for vrrpd ({}) or keepalived ({}):\n{report}",
            report.name,
            table.title,
            row.label,
            row.vrrpd.n(),
            row.keepalived.n()
        );
    }
    let text = report.to_string();
    assert!(text.contains("keepalived median") && text.contains("vrrpd median"));
}

fn assert_states_duration(report: &BenchReport) {
    assert_eq!(report.parts.len(), 1, "bench {}: one part", report.name);
    let p = &report.parts[0];
    assert!(
        p.name == report.name
            && p.estimate.expected > std::time::Duration::ZERO
            && p.estimate.at_most >= p.estimate.expected
            && p.elapsed > std::time::Duration::ZERO,
        "bench {}: part {p:?}",
        report.name
    );
    let text = report.to_string();
    assert!(
        text.contains("| part | estimated | at most (every placement time box used) | took |"),
        "bench {}: no duration header:\n{text}",
        report.name
    );
}

#[test]
fn bench_quick_mode_is_valid_compares_both_and_states_its_duration() {
    require_root();
    if let Err(e) = bench::bench_vrrpd_binary() {
        panic!("bench smoke test needs the vrrpd binary: {e}");
    }
    let t0 = std::time::Instant::now();
    for name in [
        BenchName::Failover,
        BenchName::Coldstart,
        BenchName::Scale,
        BenchName::Cost,
        BenchName::Rate,
    ] {
        let r = quick(name);
        assert_complete(&r);
        assert_states_duration(&r);
        if name == BenchName::Failover {
            let missed: Vec<&String> = r
                .notes
                .iter()
                .filter(|n| n.contains("not seen") && n.contains("Backup state"))
                .collect();
            assert!(
                missed.is_empty(),
                "failover readiness: a daemon was not seen in the Backup state: {missed:?}"
            );
        }
    }
    let took = t0.elapsed();
    println!("quick mode took {took:?}");
    assert!(
        took < std::time::Duration::from_secs(90),
        "quick mode took {took:?}; it must stay well under a minute"
    );
}
