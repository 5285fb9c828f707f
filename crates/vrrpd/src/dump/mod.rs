//! keepalived's three dump files, rendered from what the runtime knows.
//!
//! Monitoring tools parse these files, so the text follows what Debian's keepalived 2.2.7
//! writes (recorded from the real daemon, see `tests/data/dump/` and `docs/dump-files.md`):
//!
//! | signal          | file                                | renderer        |
//! |-----------------|-------------------------------------|-----------------|
//! | `SIGUSR1`       | `$TMPDIR/keepalived.data`           | [`render_data`] |
//! | `SIGUSR2`       | `$TMPDIR/keepalived.stats`          | [`render_stats`]|
//! | `SIGRTMAX-1`    | `$TMPDIR/keepalived.stats`, then the counters are cleared | [`render_stats`] |
//! | `SIGRTMIN+2`    | `$TMPDIR/keepalived.json`           | [`render_json`] |
//!
//! (`$TMPDIR` unset or empty: `/tmp`; `state_dump_file`, `stats_dump_file` and
//! `json_dump_file` move them, see [`DumpKind::path`].) The renderers are pure: the runtime
//! builds a [`DumpInput`] (mostly with [`InstanceDump::from_plan`] and a
//! [`vrrp_core::Status`]), renders, and writes with [`write_atomic`].
//!
//! | module  | what |
//! |---|---|
//! | `model` | [`DumpInput`] and its parts: what the files show |
//! | `data`  | `keepalived.data` |
//! | `stats` | `keepalived.stats` |
//! | `json`  | `keepalived.json` (serde_json) |

mod data;
mod json;
mod model;
mod stats;

use std::ffi::OsStr;
use std::io::{self, Write as _};
use std::path::{Path, PathBuf};

pub use data::render_data;
pub use json::render_json;
pub use model::*;
pub use stats::render_stats;

/// Which dump file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DumpKind {
    /// `SIGUSR1`: `keepalived.data`, the configuration and state ([`render_data`]).
    Data,
    /// `SIGUSR2` and `SIGRTMAX-1`: `keepalived.stats`, the counters ([`render_stats`]).
    Stats,
    /// `SIGRTMIN+2`: `keepalived.json` ([`render_json`]).
    Json,
}

impl DumpKind {
    /// The file name keepalived uses.
    pub fn file_name(self) -> &'static str {
        match self {
            DumpKind::Data => "keepalived.data",
            DumpKind::Stats => "keepalived.stats",
            DumpKind::Json => "keepalived.json",
        }
    }

    /// Where the file goes: `configured` (the `state_dump_file` / `stats_dump_file` /
    /// `json_dump_file` of this kind) if set, else [`DumpKind::file_name`], in `tmpdir` (the
    /// value of `$TMPDIR`, or `/tmp` when it is unset or empty). A configured absolute path is
    /// used as it is, a relative one is taken in the temporary directory, and one ending with
    /// `/` names the directory of the default file name.
    pub fn path(self, tmpdir: Option<&OsStr>, configured: Option<&str>) -> PathBuf {
        let tmp = match tmpdir {
            Some(d) if !d.is_empty() => Path::new(d),
            _ => Path::new("/tmp"),
        };
        match configured.filter(|c| !c.is_empty()) {
            Some(c) if c.ends_with('/') => tmp.join(c).join(self.file_name()),
            Some(c) => tmp.join(c),
            None => tmp.join(self.file_name()),
        }
    }
}

/// Writes `contents` to `path` atomically: a temporary file in the same directory (mode 0600,
/// as keepalived's umask 0177 gives), then renamed over `path`. Readers see the old file or
/// the new one, never a partial one. (No `fsync`: the files describe the running daemon and
/// are worthless after a crash, and exporters read them within 100 ms of the signal.)
pub fn write_atomic(path: &Path, contents: &str) -> io::Result<()> {
    use std::os::unix::fs::OpenOptionsExt;
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let name = path
        .file_name()
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "no file name"))?;
    let mut tmp_name = std::ffi::OsString::from(".");
    tmp_name.push(name);
    tmp_name.push(format!(".{}.tmp", std::process::id()));
    let tmp = dir.join(tmp_name);
    let result = (|| {
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(0o600)
            .open(&tmp)?;
        f.write_all(contents.as_bytes())?;
        std::fs::rename(&tmp, path)
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}
