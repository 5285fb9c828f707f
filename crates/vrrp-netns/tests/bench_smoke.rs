//! Smoke test of `vrrp-netns bench`: every benchmark in quick mode (few repetitions, small
//! sizes, short windows; well under a minute in all). Checks that each run was valid (one
//! Active at the end, no rejected packets, ...) and that every figure has samples from both
//! vrrpd and keepalived.
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

#[test]
fn bench_quick_mode_is_valid_and_compares_both() {
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
    ] {
        let r = quick(name);
        assert_complete(&r);
    }
    let took = t0.elapsed();
    println!("quick mode took {took:?}");
    assert!(
        took < std::time::Duration::from_secs(90),
        "quick mode took {took:?}; it must stay well under a minute"
    );
}
