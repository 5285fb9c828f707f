//! One implementation's side of a single-node run: its own lab built from the
//! configuration's topology, `-t`, the daemon started, settled, observed, stopped with
//! SIGTERM and observed again.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::{Duration, Instant};

use super::conf::Node;
use super::daemon::{config_test, Daemon};
use super::normalise::{self, Observation};
use super::observe::{net_state, proc_state, read_lines, Wire};
use super::rewrite::{self, FIFO_LOG, NOTIFY_LOG};
use super::topology::Topology;
use crate::error::Result;
use crate::lab::Host;
use crate::router::{write, WorkDir};
use crate::util::{wait_for, wait_until};

/// How long the namespace must stay unchanged to count as settled.
const QUIET: Duration = Duration::from_millis(300);
/// The most time spent waiting for quiet after the instances reached their states.
const QUIET_DEADLINE: Duration = Duration::from_secs(3);

/// The parsed configuration a run works from.
#[derive(Debug, Clone)]
pub struct Subject {
    /// The file's text.
    pub text: String,
    /// Its statements.
    pub top: Vec<Node>,
    /// What it needs from the lab.
    pub topo: Topology,
}

impl Subject {
    /// Parses `text` and derives its topology.
    pub fn new(text: String) -> Result<Subject> {
        let top = super::conf::parse(&text);
        let topo = Topology::from_config(&text, &top)?;
        Ok(Subject { text, top, topo })
    }
}

/// The last state each instance (or group) reported through a `notify` line.
pub fn last_states(lines: &[String]) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    for l in lines {
        let w: Vec<&str> = l.split_whitespace().collect();
        if w.first() != Some(&"notify") {
            continue;
        }
        if let Some(i) = w.iter().position(|x| *x == "INSTANCE") {
            if let (Some(name), Some(state)) = (w.get(i + 1), w.get(i + 2)) {
                out.insert((*name).to_string(), (*state).to_string());
            }
        }
    }
    out
}

/// A run directory with the configuration (`keepalived.conf`, as given, for `-t`), the
/// rewritten one (`run.conf`) and the notify loggers.
pub struct RunDir {
    /// The directory (removed on drop).
    pub dir: WorkDir,
    /// The file as given.
    pub conf: std::path::PathBuf,
    /// The file the daemon runs.
    pub run_conf: std::path::PathBuf,
}

impl RunDir {
    /// Creates the directory for `label` and writes the files for `subject`.
    pub fn new(label: &str, subject: &Subject) -> Result<RunDir> {
        let dir = WorkDir::new(label)?;
        let conf = dir.path().join("keepalived.conf");
        write(&conf, &subject.text)?;
        rewrite::write_loggers(dir.path())?;
        let run_conf = dir.path().join("run.conf");
        write(
            &run_conf,
            &rewrite::for_run(&subject.text, &subject.top, dir.path()),
        )?;
        Ok(RunDir {
            dir,
            conf,
            run_conf,
        })
    }

    /// The directory's path as text (what normalisation replaces by `$WORK`).
    pub fn work(&self) -> String {
        self.dir.path().display().to_string()
    }

    /// The notify logger's lines so far.
    pub fn notify_lines(&self) -> Vec<String> {
        read_lines(&self.dir.path().join(NOTIFY_LOG))
    }

    /// The FIFO reader's lines so far.
    pub fn fifo_lines(&self) -> Vec<String> {
        read_lines(&self.dir.path().join(FIFO_LOG))
    }
}

/// Waits until every instance reported MASTER or FAULT (or `deadline` passed), then until
/// the namespace's addresses, routes, rules and links stay unchanged for [`QUIET`].
/// Returns how long it took.
pub fn settle(host: &Host, run: &RunDir, instances: &[String], deadline: Duration) -> Duration {
    let t0 = Instant::now();
    wait_until(deadline, || {
        let states = last_states(&run.notify_lines());
        instances
            .iter()
            .all(|i| states.get(i).is_some_and(|s| s == "MASTER" || s == "FAULT"))
    });
    wait_quiet(host);
    t0.elapsed()
}

/// Polls the host's namespace until it has not changed for [`QUIET`] (at most
/// [`QUIET_DEADLINE`]).
pub fn wait_quiet(host: &Host) {
    let mut last: Option<Observation> = None;
    let mut since = Instant::now();
    wait_until(QUIET_DEADLINE, || {
        let now = net_state(&host.netns).ok().map(|s| normalise::net(&s));
        if now != last {
            last = now;
            since = Instant::now();
        }
        since.elapsed() >= QUIET
    });
}

/// Runs `subject` under `binary` on a fresh single-host lab and returns everything observed.
pub fn run_single(binary: &Path, subject: &Subject, label: &str) -> Result<Observation> {
    let topo = &subject.topo;
    let lab = topo.build_lab(&["node"])?;
    let host = lab.host("node");
    topo.wire(&lab, host)?;
    let run = RunDir::new(label, subject)?;
    let work = run.work();
    let mut obs = Observation::default();

    let (code, text) = config_test(binary, host, &run.conf)?;
    obs.merge_prefixed(
        "",
        normalise::config_test(code, &text.replace(&work, "$WORK"), &subject.text),
    );

    let wire = Wire::start(&lab, topo, &[host])?;
    let mut daemon = Daemon::start(binary, host, run.dir.path(), &run.run_conf)?;
    let names: Vec<String> = topo.instances.iter().map(|i| i.name.clone()).collect();
    settle(host, &run, &names, topo.settle_deadline());

    obs.add(
        "run",
        if daemon.is_running() {
            "running after settling".to_string()
        } else {
            "exited before settling".to_string()
        },
    );
    obs.merge_prefixed("", normalise::net(&net_state(&host.netns)?));
    match daemon.vrrp_pid(Duration::from_secs(2)) {
        Some(pid) => match proc_state(pid) {
            Ok(p) => obs.merge_prefixed("", normalise::process(&p)),
            Err(_) => obs.add("process", "VRRP process gone"),
        },
        None => obs.add("process", "no live pid in the VRRP pid file"),
    }
    let settled_notify = run.notify_lines();
    let settled_fifo = run.fifo_lines();
    obs.merge_prefixed("", normalise::notify(&settled_notify, &work, ""));
    obs.merge_prefixed("", normalise::fifo(&settled_fifo, &work, "fifo"));

    let status = daemon.terminate()?;
    obs.add(
        "stop",
        match status.and_then(|s| s.code()) {
            Some(c) => format!("exit status {c} after SIGTERM"),
            None => "did not exit by itself after SIGTERM".to_string(),
        },
    );
    obs.merge_prefixed("stop.", normalise::net(&net_state(&host.netns)?));
    let notify = run.notify_lines();
    obs.merge_prefixed(
        "",
        normalise::notify(
            &notify[settled_notify.len().min(notify.len())..],
            &work,
            "stop.",
        ),
    );
    let fifo = run.fifo_lines();
    obs.merge_prefixed(
        "",
        normalise::fifo(
            &fifo[settled_fifo.len().min(fifo.len())..],
            &work,
            "stop.fifo",
        ),
    );
    obs.merge_prefixed("", normalise::adverts(&wire.adverts(), false));
    obs.merge_prefixed("", normalise::announcements(&wire.announcements(), false));
    if std::env::var_os("VRRP_NETNS_DIFF_LOGS").is_some() {
        eprintln!("--- {label} daemon log ---\n{}", daemon.log());
    }
    Ok(obs)
}

/// Waits until `host`'s notify log shows `instance` in `state` (deadline `timeout`).
pub fn wait_state(run: &RunDir, instance: &str, state: &str, timeout: Duration) -> bool {
    wait_for(timeout, || {
        (last_states(&run.notify_lines())
            .get(instance)
            .map(String::as_str)
            == Some(state))
        .then_some(())
    })
    .is_some()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn last_state_per_instance() {
        let lines: Vec<String> = [
            "notify INSTANCE VI_1 BACKUP 100",
            "notify_master /x.sh",
            "notify /orig.sh INSTANCE VI_2 FAULT 0",
            "notify INSTANCE VI_1 MASTER 100",
        ]
        .map(String::from)
        .to_vec();
        let s = last_states(&lines);
        assert_eq!(s["VI_1"], "MASTER");
        assert_eq!(s["VI_2"], "FAULT");
    }
}
