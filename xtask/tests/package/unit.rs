//! An installed unit's command line, started as systemd would start it (its environment
//! files read, `$VAR` expanded, `NOTIFY_SOCKET` and `WATCHDOG_USEC` set) inside the throw-away
//! root and a lab namespace, and the notifications it sends.

use std::collections::HashMap;
use std::os::unix::net::UnixDatagram;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use vrrp_netns::{ChildGuard, Host};

use crate::root::ThrowawayRoot;

/// The `[Service]` settings the test uses.
pub struct Unit {
    /// `ExecStart=`, split into words (unexpanded).
    pub exec_start: Vec<String>,
    /// `ExecReload=`, split into words (unexpanded).
    pub exec_reload: Vec<String>,
    /// `EnvironmentFile=` paths; a leading `-` (ignore if missing) is removed.
    pub environment_files: Vec<String>,
    /// `WatchdogSec=` in seconds.
    pub watchdog_sec: u64,
}

impl Unit {
    /// Reads `/usr/lib/systemd/system/NAME` in `root` (following an alias symlink).
    pub fn load(root: &ThrowawayRoot, name: &str) -> Unit {
        let path = root.path(&format!("usr/lib/systemd/system/{name}"));
        let text = std::fs::read_to_string(&path)
            .unwrap_or_else(|e| panic!("read {}: {e}", path.display()));
        let values = |key: &str| -> Vec<String> {
            text.lines()
                .filter_map(|l| l.trim().strip_prefix(key)?.strip_prefix('='))
                .map(|v| v.trim().to_string())
                .collect()
        };
        let one = |key: &str| {
            values(key)
                .pop()
                .unwrap_or_else(|| panic!("{name} has no {key}="))
        };
        let words = |v: String| v.split_whitespace().map(String::from).collect();
        Unit {
            exec_start: words(one("ExecStart")),
            exec_reload: words(one("ExecReload")),
            environment_files: values("EnvironmentFile")
                .into_iter()
                .map(|f| f.trim_start_matches('-').to_string())
                .collect(),
            watchdog_sec: one("WatchdogSec").parse().expect("WatchdogSec in seconds"),
        }
    }

    /// The environment the unit's files give, read in order (later files win).
    pub fn environment(&self, root: &ThrowawayRoot) -> HashMap<String, String> {
        let mut env = HashMap::new();
        for file in &self.environment_files {
            let Ok(text) = std::fs::read_to_string(root.path(file)) else {
                continue;
            };
            for line in text.lines().map(str::trim) {
                if line.starts_with('#') || line.is_empty() {
                    continue;
                }
                if let Some((k, v)) = line.split_once('=') {
                    let v = v.trim().trim_matches('"').trim_matches('\'');
                    env.insert(k.trim().to_string(), v.to_string());
                }
            }
        }
        env
    }
}

/// Expands a command line as systemd does for unquoted words: `$VAR` becomes the words of its
/// value (none when empty or unset), `${VAR}` one word.
pub fn expand(words: &[String], env: &HashMap<String, String>) -> Vec<String> {
    let mut out = Vec::new();
    for w in words {
        if let Some(name) = w.strip_prefix("${").and_then(|r| r.strip_suffix('}')) {
            out.push(env.get(name).cloned().unwrap_or_default());
        } else if let Some(name) = w.strip_prefix('$') {
            out.extend(
                env.get(name)
                    .map(|v| v.split_whitespace().map(String::from).collect::<Vec<_>>())
                    .unwrap_or_default(),
            );
        } else {
            out.push(w.clone());
        }
    }
    out
}

/// The daemon started from a unit, with the socket it notifies.
pub struct Service {
    /// The daemon (`ip netns exec` and `chroot` exec into it: this is its pid).
    pub child: ChildGuard,
    notify: UnixDatagram,
    /// Every notification so far.
    pub received: Vec<String>,
}

/// Where the notification socket is, inside the root.
const NOTIFY_SOCKET: &str = "/run/vrrpd-package-test.notify";

impl Service {
    /// Starts `command` (absolute path inside the root first) in `host`'s namespace, chrooted
    /// into `root`, with `/sys` remounted for the namespace (as vrrpd reads its interfaces
    /// there), and systemd's notification variables.
    pub fn start(
        root: &ThrowawayRoot,
        host: &Host,
        command: &[String],
        watchdog_sec: u64,
    ) -> Service {
        let socket_path = root.path(NOTIFY_SOCKET);
        let _ = std::fs::remove_file(&socket_path);
        let notify = UnixDatagram::bind(&socket_path).expect("bind the notification socket");
        let watchdog_usec = (watchdog_sec * 1_000_000).to_string();
        let mut cmd = Command::new("ip");
        cmd.args(["netns", "exec", host.netns.name(), "sh", "-c"])
            .arg(r#"r=$1; shift; mount --bind /sys "$r/sys" && exec chroot "$r" "$@""#)
            .arg("sh")
            .arg(root.dir())
            .args(command)
            .env_clear()
            .env("PATH", "/usr/sbin:/usr/bin:/sbin:/bin")
            .env("NOTIFY_SOCKET", NOTIFY_SOCKET)
            .env("WATCHDOG_USEC", watchdog_usec)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        let child = cmd.spawn().expect("start the unit's command line");
        Service {
            child: ChildGuard::new(child, format!("{command:?}")),
            notify,
            received: Vec::new(),
        }
    }

    /// Waits up to `timeout` for a notification containing `line` (e.g. `READY=1`); fails the
    /// test, with everything received, if none comes.
    pub fn expect(&mut self, line: &str, timeout: Duration) {
        let deadline = Instant::now() + timeout;
        let mut buf = [0u8; 4096];
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                panic!(
                    "no {line} within {timeout:?}; received {:?}; the daemon is {}",
                    self.received,
                    if self.child.is_running() {
                        "running"
                    } else {
                        "gone"
                    }
                );
            }
            self.notify
                .set_read_timeout(Some(left.min(Duration::from_millis(200))))
                .expect("socket timeout");
            if let Ok(n) = self.notify.recv(&mut buf) {
                let msg = String::from_utf8_lossy(&buf[..n]).into_owned();
                let hit = msg.lines().any(|l| l == line);
                self.received.push(msg);
                if hit {
                    return;
                }
            }
        }
    }
}
