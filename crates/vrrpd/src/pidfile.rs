//! Pid files where keepalived writes them.
//!
//! keepalived (2.2.7, `core/main.c`) writes the parent's pid to `/run/keepalived.pid` and the
//! VRRP child's to `/run/vrrp.pid`. The configuration's top-level `use_pid_dir` moves both to
//! `/run/keepalived/`, and `instance NAME` names them `keepalived_NAME.pid` / `vrrp_NAME.pid`
//! in that directory. `-p` / `-r` override the paths.
//!
//! A [`PidFile`] is created exclusively (`O_EXCL`): if the file exists and names a live process
//! (`/proc/PID` exists) we refuse to start; a stale file (dead pid, garbage) is replaced. The
//! file is removed when the [`PidFile`] is dropped.

use std::fs::OpenOptions;
use std::io::{ErrorKind, Write};
use std::path::{Path, PathBuf};

/// keepalived's run-state directory.
pub const RUN_DIR: &str = "/run";
/// The directory used with `use_pid_dir` or `instance`.
pub const PID_DIR: &str = "/run/keepalived";

/// Why a pid file could not be created.
#[derive(Debug, thiserror::Error)]
pub enum PidFileError {
    /// Another live process holds the pid file.
    #[error("{path}: daemon already running with pid {pid}")]
    AlreadyRunning {
        /// The pid file.
        path: PathBuf,
        /// The live process named in it.
        pid: u32,
    },
    /// The file system refused.
    #[error("{path}: {source}")]
    Io {
        /// The pid file.
        path: PathBuf,
        /// The error.
        source: std::io::Error,
    },
}

/// The pid-file settings read from the configuration's top level.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PidSettings {
    /// `use_pid_dir`.
    pub use_pid_dir: bool,
    /// `instance NAME`.
    pub instance: Option<String>,
}

impl PidSettings {
    /// Reads `use_pid_dir` and `instance NAME` from the top level of a configuration text
    /// (keepalived reads them before the rest of the configuration; the model does not keep
    /// them). Only lines outside blocks count; includes are not followed.
    pub fn scan(text: &str) -> Self {
        let mut settings = PidSettings::default();
        let mut depth: usize = 0;
        for line in text.lines() {
            let code = line.split(['#', '!']).next().unwrap_or_default().trim();
            let mut words = code.split_whitespace();
            if depth == 0 {
                match words.next() {
                    Some("use_pid_dir") => settings.use_pid_dir = true,
                    Some("instance") => settings.instance = words.next().map(str::to_string),
                    _ => {}
                }
            }
            for c in code.chars() {
                match c {
                    '{' => depth += 1,
                    '}' => depth = depth.saturating_sub(1),
                    _ => {}
                }
            }
        }
        settings
    }
}

/// The two pid file paths of a keepalived-style daemon.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PidPaths {
    /// The parent process's pid file (`-p`).
    pub main: PathBuf,
    /// The VRRP process's pid file (`-r`).
    pub vrrp: PathBuf,
}

impl PidPaths {
    /// keepalived's paths for the settings, with `-p` / `-r` overrides.
    pub fn resolve(
        settings: &PidSettings,
        main_override: Option<&Path>,
        vrrp_override: Option<&Path>,
    ) -> Self {
        Self::resolve_in(Path::new(RUN_DIR), settings, main_override, vrrp_override)
    }

    /// As [`PidPaths::resolve`], with `run_dir` in place of `/run` (for tests).
    pub fn resolve_in(
        run_dir: &Path,
        settings: &PidSettings,
        main_override: Option<&Path>,
        vrrp_override: Option<&Path>,
    ) -> Self {
        let (dir, suffix) = match &settings.instance {
            Some(name) => (run_dir.join("keepalived"), format!("_{name}")),
            None if settings.use_pid_dir => (run_dir.join("keepalived"), String::new()),
            None => (run_dir.to_path_buf(), String::new()),
        };
        PidPaths {
            main: main_override
                .map(Path::to_path_buf)
                .unwrap_or_else(|| dir.join(format!("keepalived{suffix}.pid"))),
            vrrp: vrrp_override
                .map(Path::to_path_buf)
                .unwrap_or_else(|| dir.join(format!("vrrp{suffix}.pid"))),
        }
    }
}

/// A pid file held by this process; removed on drop.
#[derive(Debug)]
pub struct PidFile {
    path: PathBuf,
    pid: u32,
}

impl PidFile {
    /// Creates `path` holding this process's pid.
    pub fn create(path: &Path) -> Result<PidFile, PidFileError> {
        Self::create_for(path, std::process::id())
    }

    /// Creates `path` holding `pid`. The parent directory is created if missing (for
    /// `/run/keepalived`). Fails if the file names another live process; replaces a stale one.
    pub fn create_for(path: &Path, pid: u32) -> Result<PidFile, PidFileError> {
        let io = |source| PidFileError::Io {
            path: path.to_path_buf(),
            source,
        };
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(io)?;
        }
        // Two attempts: the second after removing a stale file.
        for _ in 0..2 {
            match OpenOptions::new().write(true).create_new(true).open(path) {
                Ok(mut file) => {
                    // No fsync (keepalived does none either): a pid file only means something
                    // while this process lives, and normally sits in /run (tmpfs); on a busy
                    // disk the sync cost up to 100 ms before the first advert.
                    let written = file.write_all(format!("{pid}\n").as_bytes());
                    if let Err(err) = written {
                        let _ = std::fs::remove_file(path);
                        return Err(io(err));
                    }
                    return Ok(PidFile {
                        path: path.to_path_buf(),
                        pid,
                    });
                }
                Err(err) if err.kind() == ErrorKind::AlreadyExists => {
                    if let Some(holder) = read_pid(path).filter(|p| *p != pid && is_alive(*p)) {
                        return Err(PidFileError::AlreadyRunning {
                            path: path.to_path_buf(),
                            pid: holder,
                        });
                    }
                    match std::fs::remove_file(path) {
                        Ok(()) => {}
                        Err(e) if e.kind() == ErrorKind::NotFound => {}
                        Err(e) => return Err(io(e)),
                    }
                }
                Err(err) => return Err(io(err)),
            }
        }
        Err(io(std::io::Error::new(
            ErrorKind::AlreadyExists,
            "pid file keeps reappearing",
        )))
    }

    /// The file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The pid written in it.
    pub fn pid(&self) -> u32 {
        self.pid
    }
}

impl Drop for PidFile {
    fn drop(&mut self) {
        // Only remove the file if it is still ours.
        if read_pid(&self.path) == Some(self.pid) {
            let _ = std::fs::remove_file(&self.path);
        }
    }
}

/// The pid in a pid file, if it holds one.
pub fn read_pid(path: &Path) -> Option<u32> {
    std::fs::read_to_string(path)
        .ok()?
        .trim()
        .parse::<u32>()
        .ok()
        .filter(|p| *p > 0)
}

/// Whether a process with this pid exists (`/proc/PID`).
pub fn is_alive(pid: u32) -> bool {
    pid > 0 && Path::new(&format!("/proc/{pid}")).exists()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_paths_are_keepalived_s() {
        let p = PidPaths::resolve(&PidSettings::default(), None, None);
        assert_eq!(p.main, Path::new("/run/keepalived.pid"));
        assert_eq!(p.vrrp, Path::new("/run/vrrp.pid"));
        let dir = PidSettings {
            use_pid_dir: true,
            instance: None,
        };
        let p = PidPaths::resolve(&dir, None, None);
        assert_eq!(p.main, Path::new("/run/keepalived/keepalived.pid"));
        assert_eq!(p.vrrp, Path::new("/run/keepalived/vrrp.pid"));
        let inst = PidSettings {
            use_pid_dir: false,
            instance: Some("lb1".into()),
        };
        let p = PidPaths::resolve(&inst, None, None);
        assert_eq!(p.main, Path::new("/run/keepalived/keepalived_lb1.pid"));
        assert_eq!(p.vrrp, Path::new("/run/keepalived/vrrp_lb1.pid"));
        let p = PidPaths::resolve(
            &inst,
            Some(Path::new("/tmp/k.pid")),
            Some(Path::new("/tmp/v.pid")),
        );
        assert_eq!(p.main, Path::new("/tmp/k.pid"));
        assert_eq!(p.vrrp, Path::new("/tmp/v.pid"));
    }

    #[test]
    fn settings_are_scanned_from_the_top_level_only() {
        let text = "use_pid_dir # comment\ninstance lb1\nglobal_defs {\n  instance nope\n}\n";
        assert_eq!(
            PidSettings::scan(text),
            PidSettings {
                use_pid_dir: true,
                instance: Some("lb1".into())
            }
        );
        assert_eq!(
            PidSettings::scan("vrrp_instance X {\n instance y\n}\n"),
            PidSettings::default()
        );
    }

    #[test]
    fn create_writes_pid_and_drop_removes() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sub/vrrp.pid");
        let pf = PidFile::create(&path).unwrap();
        assert_eq!(
            std::fs::read_to_string(&path).unwrap(),
            format!("{}\n", std::process::id())
        );
        assert_eq!(pf.path(), path);
        drop(pf);
        assert!(!path.exists());
    }

    #[test]
    fn live_holder_refuses() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("keepalived.pid");
        // Our own parent (or pid 1) is alive and is not us.
        let live = std::os::unix::process::parent_id();
        std::fs::write(&path, format!("{live}\n")).unwrap();
        match PidFile::create(&path) {
            Err(PidFileError::AlreadyRunning { pid, .. }) => assert_eq!(pid, live),
            other => panic!("expected AlreadyRunning, got {other:?}"),
        }
        assert_eq!(
            read_pid(&path),
            Some(live),
            "the holder's file is left alone"
        );
    }

    #[test]
    fn stale_or_garbage_files_are_replaced() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("vrrp.pid");
        // pid_max is at most 2^22, so this pid cannot exist.
        for stale in ["99999999\n", "garbage", ""] {
            std::fs::write(&path, stale).unwrap();
            let pf = PidFile::create_for(&path, 4242).unwrap();
            assert_eq!(read_pid(&path), Some(4242));
            drop(pf);
            assert!(!path.exists());
        }
    }

    #[test]
    fn our_own_pid_in_the_file_is_replaced() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("vrrp.pid");
        std::fs::write(&path, format!("{}\n", std::process::id())).unwrap();
        let _pf = PidFile::create(&path).unwrap();
        assert_eq!(read_pid(&path), Some(std::process::id()));
    }

    #[test]
    fn drop_leaves_a_file_someone_else_rewrote() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("vrrp.pid");
        let pf = PidFile::create_for(&path, 4242).unwrap();
        std::fs::write(&path, "4343\n").unwrap();
        drop(pf);
        assert_eq!(read_pid(&path), Some(4343));
    }

    #[test]
    fn unwritable_location_is_an_io_error() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("plain");
        std::fs::write(&file, "x").unwrap();
        // A path below a regular file cannot be created.
        let err = PidFile::create(&file.join("vrrp.pid")).unwrap_err();
        assert!(matches!(err, PidFileError::Io { .. }), "{err:?}");
    }
}
