//! The differential corpus: every file of conformance/differential/corpus under keepalived
//! and under vrrpd (single node each, in twin labs), compared against
//! conformance/differential/expected.yaml; and the two-node mode on a subset.
//!
//! Needs root, keepalived (`apt-get install -y keepalived`) and a built vrrpd
//! (`cargo build -p vrrpd`, or `VRRPD_BIN`). Run with
//! `cargo test -p vrrp-netns --test differential`.

use std::path::{Path, PathBuf};

use vrrp_netns::differential::{report, Context, DiffOptions, Expected};
use vrrp_netns::require_root;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../conformance/differential")
}

fn corpus_files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap_or_else(|e| panic!("read {}: {e}", d.display())) {
            let p = e.expect("dir entry").path();
            if p.is_dir() {
                stack.push(p);
            } else if p.extension().is_some_and(|x| x == "conf") {
                out.push(p);
            }
        }
    }
    out.sort();
    out
}

/// Root, keepalived and vrrpd, or a failure saying what to install.
fn context(expected: Option<PathBuf>) -> Context {
    require_root();
    let mut opts = DiffOptions::new().unwrap_or_else(|e| {
        panic!("the differential test needs the vrrpd binary: {e}");
    });
    opts.expected = expected;
    opts.jobs = 4;
    Context::new(opts).unwrap_or_else(|e| {
        panic!(
            "the differential test needs keepalived and vrrpd: {e} \
             (apt-get install -y keepalived; cargo build -p vrrpd)"
        )
    })
}

fn check(reports: &[vrrp_netns::differential::FileReport]) {
    let text = report::render_all(reports);
    assert!(
        reports.iter().all(|r| r.passed()),
        "differences not in conformance/differential/expected.yaml, or listed ones that no \
         longer occur:\n{text}"
    );
}

#[test]
fn corpus_differences_are_exactly_the_expected_ones() {
    let expected = root().join("expected.yaml");
    let ctx = context(Some(expected.clone()));
    let files = corpus_files(&root().join("corpus"));
    assert!(files.len() >= 30, "corpus has only {} files", files.len());
    // Every key of the list names a corpus file (a renamed file leaves no orphan entries).
    let list = Expected::load(&expected).expect("expected.yaml");
    for key in list.files.keys() {
        let path = root().join("corpus").join(key.trim_start_matches("pair:"));
        assert!(
            path.is_file(),
            "expected.yaml lists {key}, which is not in the corpus"
        );
    }
    let reports = ctx.run_all(&files, false);
    assert_eq!(reports.len(), files.len());
    check(&reports);
}

#[test]
fn pair_runs_follow_the_new_active_as_expected() {
    let ctx = context(Some(root().join("expected.yaml")));
    let files: Vec<PathBuf> = [
        "generators/octavia-amphora.conf",
        "generators/neutron-l3-ha.conf",
    ]
    .iter()
    .map(|f| root().join("corpus").join(f))
    .collect();
    let reports = ctx.run_all(&files, true);
    check(&reports);
}

#[test]
fn keepalived_against_itself_shows_no_difference_and_a_stale_entry_fails() {
    // The normalisation must take out everything that differs between two runs of one
    // implementation (pids, timings, directories, ifindexes); and a listed difference that
    // does not occur must fail the file.
    let mut ctx = context(None);
    ctx.opts.vrrpd = ctx.opts.keepalived.clone();
    let file = root().join("corpus/generators/neutron-l3-ha.conf");
    let key = vrrp_netns::differential::file_key(&file, None);
    ctx.expected = Expected::parse(
        &format!(
            "files:\n  {key:?}:\n    - {{ category: route, only: vrrpd, line: \"*\", \
             reason: a difference that cannot occur }}\n"
        ),
        "inline",
    )
    .expect("inline list");
    let r = ctx.run_file(&file);
    assert!(r.error.is_none(), "{r}");
    assert!(
        r.differences.is_empty(),
        "keepalived differs from itself:\n{r}"
    );
    assert_eq!(r.stale.len(), 1, "{r}");
    assert!(!r.passed(), "a stale entry did not fail the file:\n{r}");
}
