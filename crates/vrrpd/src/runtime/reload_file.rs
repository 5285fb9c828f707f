//! `reload_file [PATH]`: the file a configuration updater touches before it sends SIGHUP and
//! whose removal tells it that the configuration files have been read, so that it may change
//! them again.
//!
//! What keepalived (2.2.7 and 2.4.3, traced) does, and vrrpd with it: the file is removed once
//! the configuration has been read, at start and at each reload (before the reload is
//! applied, also when the new configuration is refused). keepalived's man page says it also
//! creates or truncates the file before reading; neither version does (the parent creates it
//! with the new configuration's settings before they are read, so with none), and neither does
//! vrrpd. With the bare keyword, keepalived removes its default file at start only (at a reload
//! it passes an unset path); vrrpd removes it at reloads too. The default path is
//! `/run/keepalived.reload`, `/run/keepalived/keepalived.reload` with `use_pid_dir`, and
//! `/run/keepalived/keepalived_NAME.reload` with `instance NAME`.

use std::io;
use std::path::{Path, PathBuf};

use crate::cli::Cli;
use crate::config::model::{GlobalDefs, ReloadFile};
use crate::pidfile::{PidSettings, PID_DIR, RUN_DIR};

/// The reload file of a configuration, if it names one.
pub fn path(global: &GlobalDefs, settings: &PidSettings) -> Option<PathBuf> {
    match global.reload_file.as_ref()? {
        ReloadFile::Path(path) => Some(PathBuf::from(path)),
        ReloadFile::Default => Some(match &settings.instance {
            Some(name) => Path::new(PID_DIR).join(format!("keepalived_{name}.reload")),
            None if settings.use_pid_dir => Path::new(PID_DIR).join("keepalived.reload"),
            None => Path::new(RUN_DIR).join("keepalived.reload"),
        }),
    }
}

/// Removes the reload file of the configuration just read from `cli`'s file, if it names one.
pub fn remove(global: &GlobalDefs, cli: &Cli) {
    let text = std::fs::read_to_string(&cli.use_file).unwrap_or_default();
    let Some(path) = path(global, &PidSettings::scan(&text)) else {
        return;
    };
    match std::fs::remove_file(&path) {
        Ok(()) => tracing::info!(path = %path.display(), "configuration read: reload file removed"),
        Err(e) if e.kind() == io::ErrorKind::NotFound => {}
        Err(e) => {
            tracing::warn!(path = %path.display(), error = %e, "cannot remove the reload file")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_paths_follow_keepalived() {
        let mut g = GlobalDefs::default();
        let plain = PidSettings::default();
        assert_eq!(path(&g, &plain), None);
        g.reload_file = Some(ReloadFile::Path("/tmp/x.reload".into()));
        assert_eq!(path(&g, &plain), Some(PathBuf::from("/tmp/x.reload")));
        g.reload_file = Some(ReloadFile::Default);
        assert_eq!(
            path(&g, &plain),
            Some(PathBuf::from("/run/keepalived.reload"))
        );
        let dir = PidSettings {
            use_pid_dir: true,
            instance: None,
        };
        assert_eq!(
            path(&g, &dir),
            Some(PathBuf::from("/run/keepalived/keepalived.reload"))
        );
        let named = PidSettings {
            use_pid_dir: false,
            instance: Some("lb1".into()),
        };
        assert_eq!(
            path(&g, &named),
            Some(PathBuf::from("/run/keepalived/keepalived_lb1.reload"))
        );
    }
}
