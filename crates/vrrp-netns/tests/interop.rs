//! The interop matrix: every scenario in `conformance/scenarios/` run in a fresh lab, one
//! test per file, named after it. Needs root (fails clearly otherwise), keepalived, FRR
//! (`apt-get install -y frr`) and tshark. The `vrrpd_*` and `mixed_*` scenarios need the vrrpd
//! binary (`cargo build -p vrrpd` with the same `CARGO_TARGET_DIR`, or `VRRPD_BIN`) and fail
//! with that message until it exists.
//!
//! `interop_every_scenario_file_has_a_test` keeps this list and the directory in step.

use std::path::PathBuf;

use vrrp_netns::require_root;

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
    vrrpd_frr_v4_checksum_mismatch,
    vrrpd_frr_v4_rfc9568,
    vrrpd_frr_v4_vrrpd_active,
    vrrpd_frr_v4_vrrpd_backup,
    vrrpd_frr_v6_vrrpd_active,
    vrrpd_frr_v6_vrrpd_backup,
    vrrpd_ka_v4_checksum_mismatch,
    vrrpd_ka_v4_checksum_mismatch_vrrpd_active,
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
    let mut names: Vec<String> = NAMES.iter().map(|s| s.to_string()).collect();
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
