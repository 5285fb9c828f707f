//! The interop matrix: every scenario in `conformance/scenarios/` run in a fresh lab, one
//! test per file, named after it. Needs root (fails clearly otherwise), keepalived, FRR
//! (`apt-get install -y frr`) and tshark. The `vrrpd_*` and `mixed_*` scenarios need the vrrpd
//! binary (`cargo build -p vrrpd` with the same `CARGO_TARGET_DIR`, or `VRRPD_BIN`) and fail
//! with that message until it exists.
//!
//! `interop_every_scenario_file_has_a_test` keeps this list and the directory in step.

use std::path::PathBuf;

use std::time::Duration;

use vrrp_netns::require_root;
use vrrp_netns::scenario::Report;
use vrrp_netns::timeline::{EndReason, SLACK};
use vrrp_netns::Scenario;

fn scenarios_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../conformance/scenarios")
}

/// Runs one scenario file and fails with the whole report (steps, timeline, tshark, logs).
fn run(name: &str) {
    require_root();
    let path = scenarios_dir().join(format!("{name}.yaml"));
    let report = vrrp_netns::scenario::run(&path)
        .unwrap_or_else(|e| panic!("scenario {name} could not run: {e}"));
    println!("{report}");
    assert!(report.passed, "scenario {name} failed:\n{report}");
}

macro_rules! scenarios {
    ($($name:ident),* $(,)?) => {
        $(
            #[test]
            fn $name() {
                run(stringify!($name));
            }
        )*
        const NAMES: &[&str] = &[$(stringify!($name)),*];
    };
}

scenarios!(
    frr_frr_v4,
    frr_frr_v6,
    frr_owner_v4,
    ka_frr_v4_checksum_mismatch,
    ka_frr_v4_pseudo_header,
    ka_frr_v4_rfc9568,
    ka_frr_v6,
    ka_ka_v4,
    ka_ka_v6,
    ka_owner_v4,
    mixed_three_v4,
    mixed_three_v4_partition_heal,
    vrrpd_frr_v2_pass,
    vrrpd_frr_v4_checksum_mismatch,
    vrrpd_frr_v4_rfc9568,
    vrrpd_frr_v4_vrrpd_active,
    vrrpd_frr_v4_vrrpd_backup,
    vrrpd_frr_v6_vrrpd_active,
    vrrpd_frr_v6_vrrpd_backup,
    vrrpd_ka_v2_pass_mismatch,
    vrrpd_ka_v2_pass_unicast,
    vrrpd_ka_v2_pass_vrrpd_active,
    vrrpd_ka_v2_pass_vrrpd_backup,
    vrrpd_ka_v4_checksum_mismatch,
    vrrpd_ka_v4_checksum_mismatch_vrrpd_active,
    vrrpd_ka_v4_link_down_ka_active,
    vrrpd_ka_v4_link_down_vrrpd_active,
    vrrpd_ka_v4_loss,
    vrrpd_ka_v4_unicast,
    vrrpd_ka_v4_unicast_mixed,
    vrrpd_ka_v4_delay,
    vrrpd_ka_v4_version_mismatch,
    vrrpd_ka_v4_vrrpd_active,
    vrrpd_ka_v4_vrrpd_backup,
    vrrpd_ka_v6_vrrpd_active,
    vrrpd_ka_v6_vrrpd_backup,
    vrrpd_owner_v4,
);

#[test]
fn interop_every_scenario_file_has_a_test() {
    let mut files: Vec<String> = std::fs::read_dir(scenarios_dir())
        .expect("conformance/scenarios exists")
        .filter_map(|e| {
            let p = e.ok()?.path();
            (p.extension()? == "yaml")
                .then(|| p.file_stem().unwrap().to_string_lossy().into_owned())
        })
        .collect();
    files.sort();
    let mut names: Vec<String> = NAMES.iter().chain(CUSTOM).map(|s| s.to_string()).collect();
    names.sort();
    assert_eq!(
        files, names,
        "tests/interop.rs and conformance/scenarios/ differ"
    );
    for f in &files {
        let s = vrrp_netns::Scenario::load(&scenarios_dir().join(format!("{f}.yaml")))
            .unwrap_or_else(|e| panic!("{f}: {e}"));
        s.validate().unwrap_or_else(|e| panic!("{f}: {e}"));
        assert_eq!(
            s.name.as_deref(),
            Some(f.as_str()),
            "{f}: name differs from the file name"
        );
    }
}

/// Scenario files with a test of their own (below) instead of a `scenarios!` entry.
const CUSTOM: &[&str] = &["vrrpd_ka_flaky_check", "vrrpd_ka_flaky_check_preempt_delay"];

/// What a flaky-track-script run showed.
struct Flaky {
    report: Report,
    /// When the script was made healthy (`flaky` p=0), on the timeline.
    healed_at: Duration,
    /// Active transitions (either router) before that.
    transitions_while_flaky: usize,
    /// From `healed_at` until the last transition after it (zero if none).
    settle: Duration,
    /// The bound for `settle`.
    bound: Duration,
}

/// Runs a flaky scenario and checks what holds with or without a preempt delay: the script
/// really failed (vrrpd advertised its base priority minus the weight), and once healthy
/// vrrpd settled as the only Active within (rise + 1) x interval (the run under way may still
/// fail) + preempt_delay + its Active_Down_Interval + the timeline's slack.
fn run_flaky(name: &str) -> Flaky {
    require_root();
    let path = scenarios_dir().join(format!("{name}.yaml"));
    let s = Scenario::load(&path).unwrap();
    let report = vrrp_netns::scenario::run_scenario(&s)
        .unwrap_or_else(|e| panic!("scenario {name} could not run: {e}"));
    println!("{report}");
    assert!(report.passed, "scenario {name} failed:\n{report}");
    let spec = s.spec("vrrpd", None).unwrap();
    let script = spec.track_script.clone().unwrap();
    let failed_prio = (i16::from(spec.priority) + script.weight) as u8;
    let tl = &report.timeline;
    assert!(
        tl.adverts_from("vrrpd").any(|a| a.priority == failed_prio),
        "{name}: vrrpd never advertised {failed_prio}: the script never failed {} times in a row",
        script.fall
    );
    let healed_at = report
        .steps
        .iter()
        .find(|st| st.step.starts_with("flaky vrrpd p=0"))
        .expect("a flaky p=0 step")
        .t;
    let transitions = tl.transitions();
    let transitions_while_flaky = transitions.iter().filter(|t| t.t < healed_at).count();
    let settle = transitions
        .iter()
        .filter(|t| t.t >= healed_at)
        .map(|t| t.t - healed_at)
        .max()
        .unwrap_or_default();
    let bound = script.recovery_time()
        + Duration::from_millis(u64::from(spec.preempt_delay_ms))
        + spec.active_down_interval()
        + SLACK;
    println!(
        "{name}: {transitions_while_flaky} transitions while flaky; settled {} ms after the \
         script was healed (bound {} ms)",
        settle.as_millis(),
        bound.as_millis()
    );
    assert!(
        settle <= bound,
        "{name}: settled only {settle:?} after the script was healed (bound {bound:?})"
    );
    assert_eq!(tl.active_now(), vec!["vrrpd".to_string()]);
    Flaky {
        report,
        healed_at,
        transitions_while_flaky,
        settle,
        bound,
    }
}

/// `(keepalived became Active, vrrpd became Active again)` for every time vrrpd took the VIP
/// back from keepalived.
fn takebacks(tl: &vrrp_netns::Timeline) -> Vec<(Duration, Duration)> {
    let mut out = Vec::new();
    for v in tl.intervals.iter().filter(|i| i.router == "vrrpd") {
        let Some(ka) = tl
            .intervals
            .iter()
            .filter(|k| k.router == "ka" && k.start < v.start && k.ended_by != EndReason::Open)
            .filter(|k| v.start <= k.end + Duration::from_secs(2))
            .max_by_key(|k| k.start)
        else {
            continue; // the first election, or vrrpd never lost the VIP
        };
        out.push((ka.start, v.start));
    }
    out
}

#[test]
fn vrrpd_ka_flaky_check() {
    let f = run_flaky("vrrpd_ka_flaky_check");
    // While flaky the VIP may move; it normally does (about every 3 s), but is not required to.
    println!(
        "VIP moves while flaky: {} transitions in {} ms",
        f.transitions_while_flaky,
        f.healed_at.as_millis()
    );
    assert!(f.settle <= f.bound);
    for (ka, v) in takebacks(&f.report.timeline) {
        println!(
            "undamped: keepalived Active at {} ms, vrrpd back at {} ms: {} ms",
            ka.as_millis(),
            v.as_millis(),
            (v - ka).as_millis()
        );
    }
}

#[test]
fn vrrpd_ka_flaky_check_preempt_delay() {
    let f = run_flaky("vrrpd_ka_flaky_check_preempt_delay");
    let s =
        Scenario::load(&scenarios_dir().join("vrrpd_ka_flaky_check_preempt_delay.yaml")).unwrap();
    let delay = Duration::from_millis(u64::from(s.spec("vrrpd", None).unwrap().preempt_delay_ms));
    let tl = &f.report.timeline;
    // Every time vrrpd takes the VIP back from keepalived, it has seen keepalived's lower
    // priority for at least preempt_delay first (keepalived's semantics: the delay starts at
    // the first lower-priority advert after vrrpd's priority recovered, and keepalived became
    // Active before that). So keepalived keeps the VIP at least preempt_delay each time, and
    // over the flaky window vrrpd takes it back at most window / preempt_delay times.
    let tolerance = Duration::from_millis(100);
    let takebacks = takebacks(tl);
    for (ka_start, v_start) in &takebacks {
        let held = *v_start - *ka_start;
        println!(
            "keepalived Active at {} ms, vrrpd took over again at {} ms: {} ms",
            ka_start.as_millis(),
            v_start.as_millis(),
            held.as_millis()
        );
        assert!(
            held + tolerance >= delay,
            "vrrpd preempted keepalived {held:?} after keepalived became Active: less than \
             its preempt_delay {delay:?} (timeline:\n{})",
            tl
        );
    }
    let max = (f.healed_at.as_millis() / delay.as_millis()) as usize + 1;
    assert!(
        takebacks.len() <= max,
        "{} take-backs in {} ms with preempt_delay {delay:?} (at most {max})",
        takebacks.len(),
        f.healed_at.as_millis()
    );
}
