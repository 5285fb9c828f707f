//! The differential corpus: every file of conformance/differential/corpus under keepalived
//! and under vrrpd (single node each, in twin labs), compared against
//! conformance/differential/expected.yaml; and the two-node mode on a subset. Each runs against
//! both keepalived versions the project compares with: Debian's 2.2.7 and 2.4.3, the newest
//! release and the reference where the two differ (entries that hold for one of them only say
//! so with `versions:`).
//!
//! Needs root, keepalived 2.2.7 (`apt-get install -y keepalived`), keepalived 2.4.3 (built by
//! `cargo xtask setup` into /opt/keepalived-2.4.3; its path in `KEEPALIVED_2_4_3_BIN`, which
//! `cargo xtask test` sets) and a built vrrpd (`cargo build -p vrrpd`, or `VRRPD_BIN`). Run with
//! `KEEPALIVED_2_4_3_BIN=/opt/keepalived-2.4.3/sbin/keepalived cargo test -p vrrp-netns --test
//! differential`. A missing peer fails its tests with what to install.

use std::path::{Path, PathBuf};

use vrrp_netns::differential::{report, Context, DiffOptions, Expected, FileReport};
use vrrp_netns::keepalived::{keepalived_243_binary, KEEPALIVED_BIN};
use vrrp_netns::require_root;

/// A keepalived the corpus runs against.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Peer {
    /// Debian 12's keepalived 2.2.7 at [`KEEPALIVED_BIN`].
    Debian,
    /// keepalived 2.4.3 built from source (`KEEPALIVED_2_4_3_BIN`).
    Release243,
}

/// Every peer, in the order the reports name them.
const PEERS: [Peer; 2] = [Peer::Debian, Peer::Release243];

impl Peer {
    /// The version `keepalived --version` must report.
    fn version(self) -> &'static str {
        match self {
            Peer::Debian => "2.2.7",
            Peer::Release243 => "2.4.3",
        }
    }

    /// The binary, or a failure saying how to get it.
    fn binary(self) -> PathBuf {
        match self {
            Peer::Debian => PathBuf::from(KEEPALIVED_BIN),
            Peer::Release243 => keepalived_243_binary().unwrap_or_else(|e| {
                panic!("the differential run against keepalived 2.4.3 needs it: {e}")
            }),
        }
    }
}

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

/// Root, `peer` and vrrpd, or a failure saying what to install; checks that the binary is the
/// version the expected list's `versions:` mean.
fn context(peer: Peer, expected: Option<PathBuf>) -> Context {
    require_root();
    let mut opts = DiffOptions::new().unwrap_or_else(|e| {
        panic!("the differential test needs the vrrpd binary: {e}");
    });
    opts.keepalived = peer.binary();
    opts.expected = expected;
    opts.jobs = 4;
    let ctx = Context::new(opts).unwrap_or_else(|e| {
        panic!(
            "the differential test needs keepalived {} and vrrpd: {e} \
             (apt-get install -y keepalived; cargo xtask setup; cargo build -p vrrpd)",
            peer.version()
        )
    });
    assert_eq!(
        ctx.keepalived_version,
        peer.version(),
        "{} is not keepalived {}",
        ctx.opts.keepalived.display(),
        peer.version()
    );
    ctx
}

fn check(peer: Peer, reports: &[FileReport]) {
    let text = report::render_all(reports);
    assert!(
        reports.iter().all(|r| r.passed()),
        "against keepalived {}: differences not in conformance/differential/expected.yaml, or \
         listed ones that no longer occur:\n{text}",
        peer.version()
    );
}

/// The whole corpus, single node.
fn corpus_run(peer: Peer) {
    let ctx = context(peer, Some(root().join("expected.yaml")));
    let files = corpus_files(&root().join("corpus"));
    assert!(files.len() >= 30, "corpus has only {} files", files.len());
    let reports = ctx.run_all(&files, false);
    assert_eq!(reports.len(), files.len());
    assert!(reports
        .iter()
        .all(|r| r.keepalived_version == peer.version()));
    check(peer, &reports);
}

/// The two-node subset: kill the Active, compare what follows the new one.
fn pair_run(peer: Peer) {
    let ctx = context(peer, Some(root().join("expected.yaml")));
    let files: Vec<PathBuf> = [
        "generators/octavia-amphora.conf",
        "generators/neutron-l3-ha.conf",
        "keywords/unicast_ttl.conf",
        "keywords/old_unicast_checksum.conf",
    ]
    .iter()
    .map(|f| root().join("corpus").join(f))
    .collect();
    let reports = ctx.run_all(&files, true);
    assert_eq!(reports.len(), files.len());
    check(peer, &reports);
}

/// keepalived against itself: the normalisation must take out everything that differs between
/// two runs of one implementation (pids, timings, directories, ifindexes); and a listed
/// difference that does not occur must fail the file.
fn self_run(peer: Peer) {
    let mut ctx = context(peer, None);
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
        "keepalived {} differs from itself:\n{r}",
        peer.version()
    );
    assert_eq!(r.stale.len(), 1, "{r}");
    assert!(!r.passed(), "a stale entry did not fail the file:\n{r}");
}

#[test]
fn corpus_differences_are_exactly_the_expected_ones_with_keepalived_2_2_7() {
    corpus_run(Peer::Debian);
}

#[test]
fn corpus_differences_are_exactly_the_expected_ones_with_keepalived_2_4_3() {
    corpus_run(Peer::Release243);
}

#[test]
fn pair_runs_follow_the_new_active_as_expected_with_keepalived_2_2_7() {
    pair_run(Peer::Debian);
}

#[test]
fn pair_runs_follow_the_new_active_as_expected_with_keepalived_2_4_3() {
    pair_run(Peer::Release243);
}

#[test]
fn keepalived_2_2_7_against_itself_shows_no_difference_and_a_stale_entry_fails() {
    self_run(Peer::Debian);
}

#[test]
fn keepalived_2_4_3_against_itself_shows_no_difference_and_a_stale_entry_fails() {
    self_run(Peer::Release243);
}

/// Every key of the list names a corpus file (a renamed file leaves no orphan entries), and
/// every `versions:` names a version the corpus runs against (a typo would make an entry apply
/// nowhere, so never reported stale).
#[test]
fn expected_entries_name_corpus_files_and_versions_that_are_run() {
    let list = Expected::load(&root().join("expected.yaml")).expect("expected.yaml");
    let known: Vec<&str> = PEERS.iter().map(|p| p.version()).collect();
    for (key, entries) in &list.files {
        let path = root().join("corpus").join(key.trim_start_matches("pair:"));
        assert!(
            path.is_file(),
            "expected.yaml lists {key}, which is not in the corpus"
        );
        for e in entries {
            for v in &e.versions {
                assert!(
                    known.contains(&v.as_str()),
                    "expected.yaml: {key}: {:?} applies to keepalived {v}, which is not run \
                     (versions: {known:?})",
                    e.line
                );
            }
            assert!(
                e.versions.len() < known.len(),
                "expected.yaml: {key}: {:?} lists every version; leave `versions` out instead",
                e.line
            );
        }
    }
}
