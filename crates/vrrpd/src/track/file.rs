//! `track_file`: a file holding an integer, whose value (times the tracker's weight) moves the
//! priority.
//!
//! The file is read whole and trimmed; a missing, unreadable or unparsable file counts as 0, as in
//! keepalived (an unparsable file is logged). keepalived watches the file with inotify; this
//! module polls it every [`DEFAULT_POLL`] (or the interval given to [`spawn`]), which costs one
//! small read per poll and also catches changes inotify can miss (files replaced on another
//! mount, bind mounts, network file systems). Updates ([`TrackState::Value`]) are sent for the
//! first value and on every change.
//!
//! `init_file [VALUE] [overwrite]` creates the file with VALUE (default 0) if it does not
//! exist, or always with `overwrite` ([`init_file`], called by [`spawn`]).

use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::time::Duration;

use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio::time::MissedTickBehavior;
use tracing::warn;

use super::{TrackState, TrackerUpdate};
use crate::config::model::TrackFile;

/// How often files are read by default.
pub const DEFAULT_POLL: Duration = Duration::from_millis(200);

/// Why a `track_file` cannot be set up.
#[derive(Debug, thiserror::Error)]
pub enum FileError {
    /// The block has no `file` line.
    #[error("track_file {0}: no file configured")]
    NoFile(String),
    /// `init_file` failed.
    #[error("track_file {name}: cannot initialise {path:?}: {source}")]
    Init {
        /// Block name.
        name: String,
        /// The file.
        path: PathBuf,
        /// The error.
        #[source]
        source: io::Error,
    },
}

/// A `track_file` as the watcher needs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileSpec {
    /// Block name.
    pub name: String,
    /// The file.
    pub path: PathBuf,
    /// `init_file`: (value, overwrite).
    pub init_file: Option<(i64, bool)>,
}

impl FileSpec {
    /// From the parsed block.
    pub fn from_config(block: &TrackFile) -> Result<Self, FileError> {
        let path = block
            .file
            .clone()
            .filter(|f| !f.is_empty())
            .ok_or_else(|| FileError::NoFile(block.name.clone()))?;
        Ok(FileSpec {
            name: block.name.clone(),
            path: PathBuf::from(path),
            init_file: block.init_file,
        })
    }
}

/// Applies `init_file`: writes the value if the file is missing, or always with `overwrite`.
pub fn init_file(spec: &FileSpec) -> Result<(), FileError> {
    let Some((value, overwrite)) = spec.init_file else {
        return Ok(());
    };
    if !overwrite && fs::symlink_metadata(&spec.path).is_ok() {
        return Ok(());
    }
    fs::write(&spec.path, format!("{value}\n")).map_err(|source| FileError::Init {
        name: spec.name.clone(),
        path: spec.path.clone(),
        source,
    })
}

/// Reads the value: the trimmed content as a decimal integer; missing, unreadable or
/// unparsable means 0. The error, if any, is returned alongside for logging.
pub fn read_value(path: &Path) -> (i64, Option<String>) {
    match fs::read_to_string(path) {
        Ok(text) => match text.trim().parse::<i64>() {
            Ok(v) => (v, None),
            Err(_) => (
                0,
                Some(format!(
                    "{path:?} does not hold an integer: {:?}",
                    text.trim()
                )),
            ),
        },
        Err(e) if e.kind() == io::ErrorKind::NotFound => (0, None),
        Err(e) => (0, Some(format!("cannot read {path:?}: {e}"))),
    }
}

/// A running file watcher; dropping it stops it.
#[derive(Debug)]
pub struct FileHandle {
    task: JoinHandle<()>,
}

impl FileHandle {
    /// Stops the watcher.
    pub fn stop(self) {}
}

impl Drop for FileHandle {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Applies `init_file` and starts polling the file every `poll` on the current tokio runtime.
pub fn spawn(
    spec: FileSpec,
    poll: Duration,
    tx: mpsc::Sender<TrackerUpdate>,
) -> Result<FileHandle, FileError> {
    init_file(&spec)?;
    let task = tokio::spawn(async move {
        let mut last: Option<i64> = None;
        let mut last_problem: Option<String> = None;
        let mut ticker = tokio::time::interval(poll);
        ticker.set_missed_tick_behavior(MissedTickBehavior::Delay);
        loop {
            ticker.tick().await;
            let path = spec.path.clone();
            let (value, problem) = tokio::task::spawn_blocking(move || read_value(&path))
                .await
                .unwrap_or((0, Some("reader task failed".into())));
            if problem != last_problem {
                if let Some(p) = &problem {
                    warn!(track_file = %spec.name, "track_file {}: {} (using 0)", spec.name, p);
                }
                last_problem = problem.clone();
            }
            if last == Some(value) {
                continue;
            }
            last = Some(value);
            let detail = match problem {
                Some(p) => format!("{p}; value 0"),
                None if !spec.path.exists() => format!("{:?} missing; value 0", spec.path),
                None => format!("{:?} holds {value}", spec.path),
            };
            let update = TrackerUpdate {
                name: spec.name.clone(),
                state: TrackState::Value(value),
                detail,
            };
            if tx.send(update).await.is_err() {
                return;
            }
        }
    });
    Ok(FileHandle { task })
}
