//! Starts the tracked objects the instances use and routes their updates to vrrp-core trackers.
//!
//! Each kind (script, file, process) reports on its own channel, so two objects of different
//! kinds may share a name. `track_interface` is not here: the data plane's driver feeds those
//! trackers from its own link watcher. An update is fanned out to every (instance, tracker id)
//! that references the object; the instance is the driver's index ("slot") and the tracker id
//! the position in the instance's plan.
//!
//! On reload ([`Trackers::reload`]) the running objects are kept where they still apply, so
//! their state survives:
//! - a `vrrp_script` whose command line and user are unchanged keeps its runner and its
//!   rise/fall counter, also under a new name (its updates are renamed); if only its timing
//!   (interval, timeout, rise, fall, init_fail) changed, it is restarted but its last state is
//!   kept until the new runner's first verdict;
//! - a `track_file` with the same name and settings keeps its watcher;
//! - the `vrrp_track_process` scanner is kept if the set of processes is unchanged;
//! - removed scripts are stopped (SIGTERM to a running check, SIGKILL 2 s later).
//!
//! The routing table is rebuilt for the new plans, and the last known state of every object
//! is returned to be sent to the new (instance, tracker id) pairs at once.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use vrrp_core::{TrackState, TrackerId};

use crate::config::model::Config;
use crate::convert::{InstancePlan, TrackSource};
use crate::track::process::ProcessSpec;
use crate::track::script::ScriptSpec;
use crate::track::{self, exec::ScriptPolicy, TrackerUpdate};

/// Which kind of object an update comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Kind {
    /// `vrrp_script`.
    Script,
    /// `track_file`.
    File,
    /// `vrrp_track_process`.
    Process,
}

/// Routing key: (kind, object name).
type Key = (Kind, String);

/// A running `vrrp_script` runner.
struct Script {
    /// The configuration it runs (its `name` is the current configured name).
    spec: ScriptSpec,
    /// The name its updates are reported under (changed when the script is renamed).
    name: Arc<Mutex<String>>,
    handle: track::script::ScriptHandle,
    forwarder: JoinHandle<()>,
}

/// The running tracked objects; dropping it stops them.
pub struct Trackers {
    /// Updates from every kind, tagged.
    pub updates: mpsc::Receiver<(Kind, TrackerUpdate)>,
    /// (kind, name) -> every (instance slot, tracker id) it feeds.
    routes: HashMap<Key, Vec<(usize, TrackerId)>>,
    /// The last state reported by each object.
    known: HashMap<Key, TrackState>,
    policy: Option<ScriptPolicy>,
    scripts: Vec<Script>,
    files: Vec<(track::file::FileSpec, track::file::FileHandle)>,
    processes: Option<(Vec<ProcessSpec>, track::process::ProcessHandle)>,
    tx: mpsc::Sender<(Kind, TrackerUpdate)>,
    file_tx: mpsc::Sender<TrackerUpdate>,
    process_tx: mpsc::Sender<TrackerUpdate>,
    forwarders: Vec<JoinHandle<()>>,
}

impl Drop for Trackers {
    fn drop(&mut self) {
        for f in &self.forwarders {
            f.abort();
        }
        for s in &self.scripts {
            s.forwarder.abort();
        }
    }
}

impl Trackers {
    /// The trackers an update feeds.
    pub fn targets(&self, kind: Kind, name: &str) -> &[(usize, TrackerId)] {
        self.routes
            .get(&(kind, name.to_string()))
            .map(Vec::as_slice)
            .unwrap_or(&[])
    }

    /// The `vrrp_script`s running now: configured name, counter and run state, and the last
    /// state each reported (`None`: no verdict yet).
    pub fn scripts(
        &self,
    ) -> impl Iterator<Item = (&str, track::script::Progress, Option<TrackState>)> + '_ {
        self.scripts.iter().map(|s| {
            let name = s.spec.name.as_str();
            let known = self.known.get(&(Kind::Script, name.to_string())).copied();
            (name, s.handle.progress(), known)
        })
    }

    /// Records an update's state (for [`Trackers::reload`]) and returns the trackers it feeds.
    pub fn record(&mut self, kind: Kind, update: &TrackerUpdate) -> &[(usize, TrackerId)] {
        let key = (kind, update.name.clone());
        if self.routes.contains_key(&key) {
            self.known.insert(key, update.state);
        }
        self.targets(kind, &update.name)
    }

    /// Applies a new configuration and plans (see the module documentation). `slots[i]` is
    /// the driver index of `plans[i]` (`None`: not running). Returns the last known state of
    /// every object for each (slot, tracker id) it now feeds.
    pub fn reload(
        &mut self,
        cfg: &Config,
        plans: &[InstancePlan],
        slots: &[Option<usize>],
    ) -> Vec<(usize, TrackerId, TrackState)> {
        self.apply(cfg, plans, slots);
        let mut out = Vec::new();
        for (key, state) in &self.known {
            for &(slot, id) in self.routes.get(key).map(Vec::as_slice).unwrap_or(&[]) {
                out.push((slot, id, *state));
            }
        }
        out.sort_by_key(|&(slot, id, _)| (slot, id));
        out
    }

    fn apply(&mut self, cfg: &Config, plans: &[InstancePlan], slots: &[Option<usize>]) {
        self.routes = routes(plans, slots);
        let used = |routes: &HashMap<Key, _>, kind: Kind, name: &str| {
            routes.contains_key(&(kind, name.to_string()))
        };
        let policy = ScriptPolicy::from_global(&cfg.global_defs).unwrap_or_else(|e| {
            tracing::error!(error = %e, "script_user cannot be used; scripts run as the current user");
            ScriptPolicy::current_user()
        });
        let same_policy = self.policy.as_ref() == Some(&policy);

        // Scripts.
        let mut old: Vec<Script> = std::mem::take(&mut self.scripts);
        for s in cfg
            .vrrp_scripts
            .iter()
            .filter(|s| used(&self.routes, Kind::Script, &s.name))
        {
            let spec = match track::script::ScriptSpec::from_config(s) {
                Ok(spec) => spec,
                Err(e) => {
                    tracing::error!(script = %s.name, error = %e, "vrrp_script disabled");
                    continue;
                }
            };
            let same_check = |o: &Script| {
                same_policy
                    && track::exec::split_command(&o.spec.command).ok()
                        == track::exec::split_command(&spec.command).ok()
                    && o.spec.run_as == spec.run_as
            };
            let found = old.iter().position(same_check).map(|k| old.remove(k));
            match found {
                Some(mut running) if same_timing(&running.spec, &spec) => {
                    let before = running.spec.name.clone();
                    if before != spec.name {
                        tracing::info!(script = %spec.name, was = %before,
                            "vrrp_script renamed; its state is kept");
                        if let Some(state) = self.known.remove(&(Kind::Script, before)) {
                            self.known.insert((Kind::Script, spec.name.clone()), state);
                        }
                        *running.name.lock().unwrap_or_else(|e| e.into_inner()) = spec.name.clone();
                    }
                    running.spec = spec;
                    self.scripts.push(running);
                }
                found => {
                    if let Some(running) = found {
                        tracing::info!(script = %spec.name,
                            "vrrp_script timing changed: restarted, last state kept");
                        if let Some(state) = self
                            .known
                            .remove(&(Kind::Script, running.spec.name.clone()))
                        {
                            self.known.insert((Kind::Script, spec.name.clone()), state);
                        }
                        stop_script(running);
                    } else {
                        // A new check: whatever an older script of that name reported no
                        // longer applies.
                        self.known.remove(&(Kind::Script, spec.name.clone()));
                    }
                    if let Some(running) = spawn_script(spec, &policy, &self.tx) {
                        self.scripts.push(running);
                    }
                }
            }
        }
        for running in old {
            tracing::info!(script = %running.spec.name, "vrrp_script no longer used: stopped");
            stop_script(running);
        }
        self.policy = Some(policy);

        // Files.
        let mut old_files = std::mem::take(&mut self.files);
        for f in cfg
            .track_files
            .iter()
            .filter(|f| used(&self.routes, Kind::File, &f.name))
        {
            let spec = match track::file::FileSpec::from_config(f) {
                Ok(spec) => spec,
                Err(e) => {
                    tracing::error!(track_file = %f.name, error = %e, "track_file disabled");
                    continue;
                }
            };
            if let Some(k) = old_files.iter().position(|(s, _)| *s == spec) {
                self.files.push(old_files.remove(k));
                continue;
            }
            self.known.remove(&(Kind::File, spec.name.clone()));
            let started = track::file::spawn(
                spec.clone(),
                Duration::from_millis(200),
                self.file_tx.clone(),
            );
            match started {
                Ok(h) => self.files.push((spec, h)),
                Err(e) => tracing::error!(track_file = %f.name, error = %e, "track_file disabled"),
            }
        }
        drop(old_files);

        // Processes.
        let specs: Vec<ProcessSpec> = cfg
            .track_processes
            .iter()
            .filter(|p| used(&self.routes, Kind::Process, &p.name))
            .filter_map(|p| match ProcessSpec::from_config(p) {
                Ok(spec) => Some(spec),
                Err(e) => {
                    tracing::error!(track_process = %p.name, error = %e, "vrrp_track_process disabled");
                    None
                }
            })
            .collect();
        let unchanged = self.processes.as_ref().is_some_and(|(s, _)| *s == specs);
        if !unchanged {
            self.processes = None;
            self.known.retain(|(k, _), _| *k != Kind::Process);
            if !specs.is_empty() {
                let handle = track::process::spawn(
                    specs.clone(),
                    Duration::from_millis(500),
                    self.process_tx.clone(),
                );
                self.processes = Some((specs, handle));
            }
        }

        let routes = &self.routes;
        self.known.retain(|key, _| routes.contains_key(key));
    }
}

/// Whether two scripts differ in nothing but their name, command spelling and user.
fn same_timing(a: &ScriptSpec, b: &ScriptSpec) -> bool {
    (a.interval, a.timeout, a.rise, a.fall, a.init_fail)
        == (b.interval, b.timeout, b.rise, b.fall, b.init_fail)
}

/// Starts a runner whose updates are reported under a renamable name.
fn spawn_script(
    spec: ScriptSpec,
    policy: &ScriptPolicy,
    tx: &mpsc::Sender<(Kind, TrackerUpdate)>,
) -> Option<Script> {
    let (rtx, mut rrx) = mpsc::channel::<TrackerUpdate>(16);
    let handle = match track::script::spawn(spec.clone(), policy, rtx) {
        Ok(h) => h,
        Err(e) => {
            tracing::error!(script = %spec.name, error = %e, "vrrp_script disabled");
            return None;
        }
    };
    let name = Arc::new(Mutex::new(spec.name.clone()));
    let current = name.clone();
    let tx = tx.clone();
    let forwarder = tokio::spawn(async move {
        while let Some(mut u) = rrx.recv().await {
            u.name = current.lock().unwrap_or_else(|e| e.into_inner()).clone();
            if tx.send((Kind::Script, u)).await.is_err() {
                return;
            }
        }
    });
    Some(Script {
        spec,
        name,
        handle,
        forwarder,
    })
}

/// Stops a runner in the background (a running check gets SIGTERM, SIGKILL 2 s later).
fn stop_script(script: Script) {
    let Script {
        handle, forwarder, ..
    } = script;
    forwarder.abort();
    tokio::spawn(handle.stop());
}

fn kind_of(source: &TrackSource) -> Option<Kind> {
    match source {
        TrackSource::Script(_) => Some(Kind::Script),
        TrackSource::File { .. } => Some(Kind::File),
        TrackSource::Process(_) => Some(Kind::Process),
        // Fed by the driver ([`vrrp_net::driver::InstanceSpec::tracked_interfaces`]).
        TrackSource::Interface(_) => None,
        TrackSource::Bfd(_) => None,
    }
}

/// (kind, name) -> (slot, tracker id) for every tracker of every running plan.
fn routes(
    plans: &[InstancePlan],
    slots: &[Option<usize>],
) -> HashMap<Key, Vec<(usize, TrackerId)>> {
    let mut routes: HashMap<Key, Vec<(usize, TrackerId)>> = HashMap::new();
    for (plan, slot) in plans.iter().zip(slots) {
        let Some(slot) = *slot else { continue };
        for (j, t) in plan.trackers.iter().enumerate() {
            if let Some(kind) = kind_of(&t.source) {
                let key = (kind, t.source.name().to_string());
                routes
                    .entry(key)
                    .or_default()
                    .push((slot, TrackerId(j as u16)));
            }
        }
    }
    routes
}

/// Starts every tracked object the plans reference. Objects that cannot start (an insecure
/// script, an unreadable file) are logged and never report, as keepalived disables them.
/// `slots[i]` is the driver index of `plans[i]`.
pub fn start(cfg: &Config, plans: &[InstancePlan], slots: &[Option<usize>]) -> Trackers {
    let (tx, updates) = mpsc::channel(256);
    let mut forwarders = Vec::new();
    let mut tagged = |kind: Kind| {
        let (ktx, mut krx) = mpsc::channel::<TrackerUpdate>(64);
        let tx = tx.clone();
        forwarders.push(tokio::spawn(async move {
            while let Some(u) = krx.recv().await {
                if tx.send((kind, u)).await.is_err() {
                    return;
                }
            }
        }));
        ktx
    };
    let file_tx = tagged(Kind::File);
    let process_tx = tagged(Kind::Process);
    let mut trackers = Trackers {
        updates,
        routes: HashMap::new(),
        known: HashMap::new(),
        policy: None,
        scripts: Vec::new(),
        files: Vec::new(),
        processes: None,
        tx,
        file_tx,
        process_tx,
        forwarders,
    };
    trackers.apply(cfg, plans, slots);
    trackers
}
