//! Starting, checking and stopping one daemon (keepalived or vrrpd) on a lab host, with every
//! file in the run's directory.
//!
//! Both are started at nice 0 with `ip netns exec NS` (so /sys is the namespace's, as on a real
//! host) and get the same command line: `-P -n -l -D -f CONF -p DIR/main.pid -r DIR/vrrp.pid`
//! (VRRP only, no daemonising, log to the console with detail; pid files in the directory,
//! so neither touches `/run`). keepalived forks its VRRP child, whose pid lands in
//! `vrrp.pid`; vrrpd writes the same files.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus, Stdio};
use std::time::Duration;

use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;

use super::observe::read_pid;
use crate::error::{Error, Result};
use crate::lab::Host;
use crate::netns::{kill_all_in, pids_in, ChildGuard};
use crate::util::{wait_for, wait_until};

/// How long a daemon may take to exit after SIGTERM (keepalived sends its priority-0 adverts
/// and removes what it added first).
pub const STOP_TIMEOUT: Duration = Duration::from_secs(10);

/// A daemon running in a host's namespace. Dropping it kills every process in the namespace.
#[derive(Debug)]
pub struct Daemon {
    guard: ChildGuard,
    netns: String,
    dir: PathBuf,
    log: PathBuf,
}

impl Daemon {
    /// Starts `binary` with configuration `conf`, pid files and its log (`daemon.log`) in
    /// `dir`.
    pub fn start(binary: &Path, host: &Host, dir: &Path, conf: &Path) -> Result<Daemon> {
        let log = dir.join("daemon.log");
        let f =
            File::create(&log).map_err(|e| Error::io(format!("create {}", log.display()), e))?;
        let f2 = f
            .try_clone()
            .map_err(|e| Error::io(format!("dup {}", log.display()), e))?;
        // `ip netns exec` (which execs the daemon, so the pid is the daemon's) also mounts
        // the namespace's own /sys, as on a real host; a bare setns would leave /sys/class/net
        // showing the root namespace's interfaces.
        // Under `nice` (as cargo is run here) the daemon would inherit the nice value that
        // `vrrp_priority` is about: start it at nice 0, as a service manager would.
        let mut cmd = Command::new("nice");
        cmd.args(["-n", &(-own_nice()).to_string(), "ip", "netns", "exec"])
            .arg(host.netns.name())
            .arg(binary)
            .args(["-P", "-n", "-l", "-D", "-f"])
            .arg(conf)
            .arg("-p")
            .arg(dir.join("main.pid"))
            .arg("-r")
            .arg(dir.join("vrrp.pid"))
            .args(control_socket_args(binary, dir))
            .stdin(Stdio::null())
            .stdout(f)
            .stderr(f2);
        let label = format!("{} in {}", binary.display(), host.netns.name());
        let child = cmd.spawn().map_err(|source| Error::Spawn {
            cmd: label.clone(),
            source,
        })?;
        let guard = ChildGuard::new(child, label);
        Ok(Daemon {
            guard,
            netns: host.netns.name().to_string(),
            dir: dir.to_path_buf(),
            log,
        })
    }

    /// The main process's pid.
    pub fn pid(&self) -> u32 {
        self.guard.pid()
    }

    /// The pid of the VRRP process (keepalived's child), once its pid file names a live
    /// process; waits up to `timeout`.
    pub fn vrrp_pid(&self, timeout: Duration) -> Option<u32> {
        let path = self.dir.join("vrrp.pid");
        wait_for(timeout, || {
            read_pid(&path).filter(|&p| crate::util::pid_alive(p) && p != 0)
        })
    }

    /// Whether the main process is still running.
    pub fn is_running(&mut self) -> bool {
        self.guard.is_running()
    }

    /// The daemon's log so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// SIGTERM to the main process, then waits (up to [`STOP_TIMEOUT`]) for it and for every
    /// other process of the namespace (its VRRP child, notify scripts) to exit; whatever is
    /// still there 2 s after the main process exited is killed. Returns the exit status,
    /// `None` if it had to be killed.
    pub fn terminate(&mut self) -> Result<Option<ExitStatus>> {
        if let Some(s) = self.guard.try_wait()? {
            return Ok(Some(s));
        }
        self.guard.signal(Signal::SIGTERM)?;
        let status = self.guard.wait_timeout(STOP_TIMEOUT)?;
        let netns = self.netns.clone();
        wait_until(Duration::from_secs(2), || {
            pids_in(&netns).map(|p| p.is_empty()).unwrap_or(true)
        });
        kill_all_in(&self.netns)?;
        if status.is_none() {
            self.guard.kill()?;
        }
        Ok(status)
    }

    /// A crash of the whole node: SIGSTOP to every process in the namespace (the daemon, its
    /// child, its scripts), then SIGKILL, and waits for them to go. Stopping first keeps
    /// keepalived's VRRP child from cleaning up on the SIGTERM it gets when its parent dies
    /// (`PR_SET_PDEATHSIG`), which would race with its own SIGKILL.
    pub fn kill_all(&mut self) -> Result<()> {
        let pids = pids_in(&self.netns)?;
        for sig in [Signal::SIGSTOP, Signal::SIGKILL] {
            for &p in &pids {
                let _ = kill(Pid::from_raw(p as i32), sig);
            }
        }
        self.guard.kill()?;
        kill_all_in(&self.netns)
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = kill_all_in(&self.netns);
    }
}

/// This process's nice value (field 19 of /proc/self/stat; 0 if unreadable).
fn own_nice() -> i32 {
    std::fs::read_to_string("/proc/self/stat")
        .ok()
        .and_then(|s| {
            let (_, rest) = s.rsplit_once(')')?;
            rest.split_whitespace().nth(16)?.parse().ok()
        })
        .unwrap_or(0)
}

/// Runs `binary -t -f conf` inside the host's namespace (so interface checks see the lab's
/// interfaces); returns its exit code (`None` if killed) and its stdout and stderr.
pub fn config_test(binary: &Path, host: &Host, conf: &Path) -> Result<(Option<i32>, String)> {
    let bin = binary.display().to_string();
    let conf = conf.display().to_string();
    let out = host.netns.exec(&bin, &["-t", "-f", &conf])?;
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    Ok((out.status.code(), text))
}

/// The version a keepalived binary reports (`2.2.7` from `Keepalived v2.2.7 (01/16,2022)`),
/// or an error saying how to get it.
pub fn keepalived_version(binary: &Path) -> Result<String> {
    let out = Command::new(binary)
        .arg("--version")
        .output()
        .map_err(|e| Error::MissingTool {
            tool: binary.display().to_string(),
            hint: format!(
                "keepalived not found ({e}): apt-get install -y keepalived, or build 2.4.3 with \
                 `cargo xtask setup` and pass --keepalived /opt/keepalived-2.4.3/sbin/keepalived"
            ),
        })?;
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    text.split_whitespace()
        .find_map(|w| {
            w.strip_prefix('v')
                .filter(|v| v.starts_with(|c: char| c.is_ascii_digit()))
        })
        .map(str::to_string)
        .ok_or_else(|| Error::Parse {
            what: format!("{} --version", binary.display()),
            detail: format!("no version in {text:?}"),
        })
}

/// vrrpd's own control socket in `dir` (the default path is shared by the whole host);
/// nothing for keepalived, which has no such option.
fn control_socket_args(binary: &Path, dir: &Path) -> Vec<std::ffi::OsString> {
    let keepalived = binary
        .file_name()
        .is_some_and(|n| n.to_string_lossy().starts_with("keepalived"));
    if keepalived {
        Vec::new()
    } else {
        vec!["--control-socket".into(), dir.join("control.sock").into()]
    }
}
