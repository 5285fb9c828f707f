//! Interop peers built from source: keepalived 2.4.3 (the release that introduced
//! `auth_hmac`), from the steering repository's `shared/peers/`, which lies outside this
//! repository: beside the checkout (`../shared/peers`), as on the developers' machines and CI.
//!
//! The build (about 3 minutes) happens once per PREFIX: a binary already there that reports
//! v2.4.3 is reused (checked here, and by `build-keepalived.sh` too). When the peers directory is absent, the set-up says so
//! and goes on; a test that needs the peer then fails with [`KEEPALIVED_243_BIN`] unset.

use std::path::{Path, PathBuf};

use crate::cmd;
use crate::error::Error;

/// Overrides where the peers' sources and build scripts are (default `<repo>/../shared/peers`).
pub const PEERS_DIR_ENV: &str = "VRRP_PEERS_DIR";
/// Overrides where keepalived 2.4.3 is installed (default [`KEEPALIVED_243_DEFAULT_PREFIX`]).
pub const KEEPALIVED_243_PREFIX_ENV: &str = "KEEPALIVED_2_4_3_PREFIX";
/// keepalived 2.4.3's default install prefix (the build script's default).
pub const KEEPALIVED_243_DEFAULT_PREFIX: &str = "/opt/keepalived-2.4.3";
/// Set for the tests to the keepalived 2.4.3 binary when it was built.
pub const KEEPALIVED_243_BIN: &str = "KEEPALIVED_2_4_3_BIN";

/// The peers' directory: `$VRRP_PEERS_DIR`, else `shared/peers` beside the repository root.
pub fn peers_dir(root: &Path) -> PathBuf {
    std::env::var_os(PEERS_DIR_ENV)
        .map(PathBuf::from)
        .unwrap_or_else(|| root.join("../shared/peers"))
}

/// Builds (or finds) every peer; returns the environment variables that tell the tests where
/// they are.
pub fn ensure_all(root: &Path) -> Result<Vec<(String, String)>, Error> {
    let mut env = Vec::new();
    if let Some(bin) = keepalived_243(root)? {
        env.push((KEEPALIVED_243_BIN.to_string(), bin.display().to_string()));
    }
    Ok(env)
}

/// keepalived 2.4.3 under its prefix, built by `build-keepalived.sh PREFIX` unless it is there
/// already; `None` when the peers directory has no build script.
fn keepalived_243(root: &Path) -> Result<Option<PathBuf>, Error> {
    let script = peers_dir(root).join("build-keepalived.sh");
    if !script.is_file() {
        println!(
            "setup: {} not found (set {PEERS_DIR_ENV} to the peers directory): keepalived \
             2.4.3 not built, tests that need it will fail",
            script.display()
        );
        return Ok(None);
    }
    let prefix = std::env::var(KEEPALIVED_243_PREFIX_ENV)
        .unwrap_or_else(|_| KEEPALIVED_243_DEFAULT_PREFIX.to_string());
    let bin = Path::new(&prefix).join("sbin/keepalived");
    // Checked here first: the script's own check pipes `keepalived -v` into `head -1` under
    // `pipefail`, which fails now and then (SIGPIPE) and then rebuilds, or fails after a build.
    if reports_243(&bin) {
        println!("setup: keepalived 2.4.3 peer: {}", bin.display());
        return Ok(Some(bin));
    }
    println!("setup: building keepalived 2.4.3 into {prefix} (once; about 3 minutes)");
    let script = script.display().to_string();
    let built = match cmd::stdout("bash", &[&script, &prefix]) {
        Ok(printed) => printed
            .lines()
            .last()
            .map(|l| PathBuf::from(l.trim()))
            .unwrap_or(bin),
        Err(e) if reports_243(&bin) => {
            println!(
                "setup: the build script failed ({e}), but {} reports v2.4.3",
                bin.display()
            );
            bin
        }
        Err(e) => return Err(e),
    };
    println!("setup: keepalived 2.4.3 peer: {}", built.display());
    Ok(Some(built))
}

/// Whether `bin -v` runs and its first line names v2.4.3 (keepalived prints it on stderr).
fn reports_243(bin: &Path) -> bool {
    let Ok(out) = std::process::Command::new(bin).arg("-v").output() else {
        return false;
    };
    let text = [out.stderr, out.stdout].concat();
    String::from_utf8_lossy(&text)
        .lines()
        .next()
        .is_some_and(|l| l.contains("v2.4.3"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_tests_read_the_variable_the_setup_sets() {
        assert_eq!(
            KEEPALIVED_243_BIN,
            vrrp_netns::keepalived::KEEPALIVED_243_BIN_ENV
        );
        assert_eq!(
            Path::new(KEEPALIVED_243_DEFAULT_PREFIX).join("sbin/keepalived"),
            Path::new("/opt/keepalived-2.4.3/sbin/keepalived"),
            "the default named in vrrp_netns::keepalived::keepalived_243_binary's hint"
        );
    }
}
