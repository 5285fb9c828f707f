//! Differential runs: the same keepalived.conf under keepalived and under vrrpd, each in its
//! own twin lab, compared on what can be seen from outside.
//!
//! For each file ([`run_file`]): the interfaces it names are created ([`topology`]), both
//! daemons' `-t` is run, then each daemon runs the file (notify scripts rewritten to a
//! logger, [`rewrite`]) until every instance reported MASTER or FAULT (or the settle deadline
//! passed) and the namespace stayed unchanged for 300 ms; then addresses, routes (every
//! table), rules, links, the VRRP process's settings, notify and FIFO lines are read
//! ([`observe`]), SIGTERM is sent and the namespace is read again. Adverts are captured on
//! every segment throughout. Both sides are normalised ([`normalise`]) and compared
//! ([`compare`]); differences are checked against the expected list ([`expected`]) and
//! reported ([`report`]). [`pair`] runs two nodes and kills the Active.
//!
//! See `docs/testing-with-netns.md` (Differential runs) for the corpus and the list.

pub mod compare;
pub mod conf;
pub mod daemon;
pub mod expected;
pub mod normalise;
pub mod observe;
pub mod pair;
pub mod report;
pub mod rewrite;
pub mod topology;
pub mod twin;

use std::path::{Path, PathBuf};
use std::sync::Mutex;

use nix::sys::signal::Signal;

pub use compare::{Classified, Difference, Side};
pub use expected::{Entry, Expected};
pub use report::FileReport;

use crate::error::{Error, Result};
use crate::keepalived::KEEPALIVED_BIN;

/// What to run and against what.
#[derive(Debug, Clone)]
pub struct DiffOptions {
    /// The keepalived binary (default Debian's `/usr/sbin/keepalived`; 2.4.3, built by
    /// `cargo xtask setup`, is [`crate::keepalived::keepalived_243_binary`]).
    pub keepalived: PathBuf,
    /// The vrrpd binary (default [`crate::vrrpd_binary`]).
    pub vrrpd: PathBuf,
    /// The expected-differences file; `None` = every difference is unexpected.
    pub expected: Option<PathBuf>,
    /// How many files to run at once (each runs two daemons at once).
    pub jobs: usize,
    /// Pair mode: how the Active is killed (SIGKILL or SIGTERM).
    pub pair_signal: Signal,
}

impl DiffOptions {
    /// keepalived at [`KEEPALIVED_BIN`], the workspace's vrrpd, no expected list, 3 jobs,
    /// SIGKILL in pair mode.
    pub fn new() -> Result<DiffOptions> {
        Ok(DiffOptions {
            keepalived: PathBuf::from(KEEPALIVED_BIN),
            vrrpd: crate::vrrpd_binary()?,
            expected: None,
            jobs: 3,
            pair_signal: Signal::SIGKILL,
        })
    }
}

/// The expected list's file next to a corpus: walks up from `file` to a directory holding
/// `expected.yaml` and `corpus/`.
pub fn find_expected(file: &Path) -> Option<PathBuf> {
    let abs = std::fs::canonicalize(file).ok()?;
    abs.ancestors()
        .map(|d| d.join("expected.yaml"))
        .find(|p| p.is_file() && p.with_file_name("corpus").is_dir())
}

/// The key of `file` in the expected list: its path below the `corpus/` directory next to
/// `expected`, else the path as given.
pub fn file_key(file: &Path, expected: Option<&Path>) -> String {
    let rel = expected.and_then(|e| {
        let corpus = std::fs::canonicalize(e.with_file_name("corpus")).ok()?;
        let abs = std::fs::canonicalize(file).ok()?;
        abs.strip_prefix(&corpus)
            .ok()
            .map(|p| p.display().to_string())
    });
    rel.unwrap_or_else(|| file.display().to_string())
}

fn read_subject(file: &Path) -> Result<twin::Subject> {
    let text = std::fs::read_to_string(file)
        .map_err(|e| Error::io(format!("read {}", file.display()), e))?;
    twin::Subject::new(text)
}

/// Everything a run needs besides the file: binaries, keepalived's version, the list.
#[derive(Debug, Clone)]
pub struct Context {
    /// The options.
    pub opts: DiffOptions,
    /// keepalived's version (`2.2.7`).
    pub keepalived_version: String,
    /// The expected list (empty if none).
    pub expected: Expected,
}

impl Context {
    /// Checks root and both binaries, reads keepalived's version and the expected list.
    pub fn new(opts: DiffOptions) -> Result<Context> {
        crate::util::check_root()?;
        if !opts.vrrpd.is_file() {
            return Err(Error::MissingTool {
                tool: "vrrpd".into(),
                hint: format!(
                    "{} not found: build it with `cargo build -p vrrpd` or set VRRPD_BIN",
                    opts.vrrpd.display()
                ),
            });
        }
        let keepalived_version = daemon::keepalived_version(&opts.keepalived)?;
        let expected = match &opts.expected {
            Some(p) => Expected::load(p)?,
            None => Expected::default(),
        };
        Ok(Context {
            opts,
            keepalived_version,
            expected,
        })
    }

    fn finish(&self, key: String, pair: bool, result: Result<Vec<Difference>>) -> FileReport {
        let version = self.keepalived_version.clone();
        match result {
            Ok(diffs) => {
                let entries = self.expected.for_file(&key, &version);
                let (differences, stale) = compare::classify(diffs, &entries);
                FileReport {
                    key,
                    pair,
                    keepalived_version: version,
                    differences,
                    stale,
                    error: None,
                }
            }
            Err(e) => FileReport {
                key,
                pair,
                keepalived_version: version,
                differences: Vec::new(),
                stale: Vec::new(),
                error: Some(e.to_string()),
            },
        }
    }

    /// Runs one file on a single node under both implementations (at once) and compares.
    pub fn run_file(&self, file: &Path) -> FileReport {
        let key = file_key(file, self.opts.expected.as_deref());
        let result = read_subject(file).and_then(|subject| {
            let (k, v) = std::thread::scope(|s| {
                let k = s.spawn(|| twin::run_single(&self.opts.keepalived, &subject, "diff-ka"));
                let v = s.spawn(|| twin::run_single(&self.opts.vrrpd, &subject, "diff-vrrpd"));
                (join(k), join(v))
            });
            Ok(compare::differences(&k?, &v?))
        });
        self.finish(key, false, result)
    }

    /// Runs one file on two nodes under both implementations (at once), kills the Active
    /// and compares (see [`pair`]).
    pub fn run_pair(&self, file: &Path) -> FileReport {
        let key = format!("pair:{}", file_key(file, self.opts.expected.as_deref()));
        let result = read_subject(file).and_then(|subject| {
            let sig = self.opts.pair_signal;
            let (k, v) = std::thread::scope(|s| {
                let k = s.spawn(|| pair::run_pair(&self.opts.keepalived, &subject, sig, "pair-ka"));
                let v = s.spawn(|| pair::run_pair(&self.opts.vrrpd, &subject, sig, "pair-vrrpd"));
                (join(k), join(v))
            });
            Ok(compare::differences(&k?, &v?))
        });
        self.finish(key, true, result)
    }

    /// Runs every file ([`Context::run_file`], or [`Context::run_pair`] when `pair`),
    /// `opts.jobs` at a time; reports in the order of `files`.
    pub fn run_all(&self, files: &[PathBuf], pair: bool) -> Vec<FileReport> {
        let next = Mutex::new(0usize);
        let results: Mutex<Vec<Option<FileReport>>> = Mutex::new(vec![None; files.len()]);
        std::thread::scope(|s| {
            for _ in 0..self.opts.jobs.max(1).min(files.len().max(1)) {
                s.spawn(|| loop {
                    let i = {
                        let mut n = next.lock().expect("queue lock");
                        let i = *n;
                        *n += 1;
                        i
                    };
                    let Some(file) = files.get(i) else { break };
                    let r = if pair {
                        self.run_pair(file)
                    } else {
                        self.run_file(file)
                    };
                    results.lock().expect("results lock")[i] = Some(r);
                });
            }
        });
        results
            .into_inner()
            .expect("results lock")
            .into_iter()
            .flatten()
            .collect()
    }
}

fn join<T>(h: std::thread::ScopedJoinHandle<'_, Result<T>>) -> Result<T> {
    h.join()
        .unwrap_or_else(|_| Err(Error::Invalid("a differential run panicked".into())))
}
