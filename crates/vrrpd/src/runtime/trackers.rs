//! Starts the tracked objects the instances use and routes their updates to vrrp-core trackers.
//!
//! Each kind (script, file, process, interface) reports on its own channel, so two objects of
//! different kinds may share a name. An update is fanned out to every (instance, tracker id)
//! that references the object.

use std::collections::{BTreeSet, HashMap};
use std::time::Duration;

use tokio::sync::mpsc;
use vrrp_core::TrackerId;

use crate::config::model::Config;
use crate::convert::{InstancePlan, TrackSource};
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
    /// `track_interface`.
    Interface,
}

/// The running tracked objects; dropping it stops them.
pub struct Trackers {
    /// Updates from every kind, tagged.
    pub updates: mpsc::Receiver<(Kind, TrackerUpdate)>,
    /// (kind, name) -> every (instance index, tracker id) it feeds.
    routes: HashMap<(Kind, String), Vec<(usize, TrackerId)>>,
    /// Interfaces to report from netlink link events.
    pub interfaces: BTreeSet<String>,
    _scripts: Vec<track::script::ScriptHandle>,
    _files: Vec<track::file::FileHandle>,
    _processes: Option<track::process::ProcessHandle>,
    _forwarders: Vec<tokio::task::JoinHandle<()>>,
    /// Sender for interface updates, fed by the runtime from link events.
    pub interface_tx: mpsc::Sender<TrackerUpdate>,
}

impl Trackers {
    /// The trackers an update feeds.
    pub fn targets(&self, kind: Kind, name: &str) -> &[(usize, TrackerId)] {
        self.routes
            .get(&(kind, name.to_string()))
            .map(Vec::as_slice)
            .unwrap_or(&[])
    }
}

fn kind_of(source: &TrackSource) -> Option<Kind> {
    match source {
        TrackSource::Script(_) => Some(Kind::Script),
        TrackSource::File { .. } => Some(Kind::File),
        TrackSource::Process(_) => Some(Kind::Process),
        TrackSource::Interface(_) => Some(Kind::Interface),
        TrackSource::Bfd(_) => None,
    }
}

/// Starts every tracked object the plans reference. Objects that cannot start (an insecure
/// script, an unreadable file) are logged and never report, as keepalived disables them.
pub fn start(cfg: &Config, plans: &[InstancePlan]) -> Trackers {
    let mut routes: HashMap<(Kind, String), Vec<(usize, TrackerId)>> = HashMap::new();
    for (i, plan) in plans.iter().enumerate() {
        for (j, t) in plan.trackers.iter().enumerate() {
            if let Some(kind) = kind_of(&t.source) {
                let key = (kind, t.source.name().to_string());
                routes
                    .entry(key)
                    .or_default()
                    .push((i, TrackerId(j as u16)));
            }
        }
    }
    let used = |kind: Kind, name: &str| routes.contains_key(&(kind, name.to_string()));
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
    let script_tx = tagged(Kind::Script);
    let file_tx = tagged(Kind::File);
    let process_tx = tagged(Kind::Process);
    let interface_tx = tagged(Kind::Interface);

    let policy = ScriptPolicy::from_global(&cfg.global_defs).unwrap_or_else(|e| {
        tracing::error!(error = %e, "script_user cannot be used; scripts run as the current user");
        ScriptPolicy::current_user()
    });
    let mut scripts = Vec::new();
    for s in cfg
        .vrrp_scripts
        .iter()
        .filter(|s| used(Kind::Script, &s.name))
    {
        let started = track::script::ScriptSpec::from_config(s)
            .map_err(|e| e.to_string())
            .and_then(|spec| {
                track::script::spawn(spec, &policy, script_tx.clone()).map_err(|e| e.to_string())
            });
        match started {
            Ok(h) => scripts.push(h),
            Err(e) => tracing::error!(script = %s.name, error = %e, "vrrp_script disabled"),
        }
    }
    let mut files = Vec::new();
    for f in cfg.track_files.iter().filter(|f| used(Kind::File, &f.name)) {
        let started = track::file::FileSpec::from_config(f)
            .and_then(|spec| track::file::spawn(spec, Duration::from_millis(200), file_tx.clone()));
        match started {
            Ok(h) => files.push(h),
            Err(e) => tracing::error!(track_file = %f.name, error = %e, "track_file disabled"),
        }
    }
    let specs: Vec<_> = cfg
        .track_processes
        .iter()
        .filter(|p| used(Kind::Process, &p.name))
        .filter_map(|p| match track::process::ProcessSpec::from_config(p) {
            Ok(spec) => Some(spec),
            Err(e) => {
                tracing::error!(track_process = %p.name, error = %e, "vrrp_track_process disabled");
                None
            }
        })
        .collect();
    let processes = (!specs.is_empty())
        .then(|| track::process::spawn(specs, Duration::from_millis(500), process_tx.clone()));
    let interfaces = routes
        .keys()
        .filter(|(k, _)| *k == Kind::Interface)
        .map(|(_, n)| n.clone())
        .collect();
    Trackers {
        updates,
        routes,
        interfaces,
        _scripts: scripts,
        _files: files,
        _processes: processes,
        _forwarders: forwarders,
        interface_tx,
    }
}
