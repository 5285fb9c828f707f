//! Named network namespaces and guarded child processes.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Output};
use std::time::Duration;

use nix::sched::{setns, CloneFlags};
use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;

use crate::error::{Error, Result};
use crate::util::{check_output, cmdline, ip, new_id, run_cmd, wait_until, PREFIX};
use std::io::Write;
use std::process::Stdio;

/// A named network namespace that this process created (`/run/netns/NAME`). It is deleted on
/// drop, after every process still inside it has been killed (SIGKILL).
///
/// The actual name carries the crate prefix and a unique id (`vn<pid>_<tag>-<given name>`), so
/// concurrent tests never clash and [`crate::cleanup_leftovers`] can find orphans. Use
/// [`Netns::name`] for the real name.
#[derive(Debug)]
pub struct Netns {
    name: String,
    path: PathBuf,
}

pub(crate) fn validate_name(kind: &str, name: &str) -> Result<()> {
    let ok = !name.is_empty()
        && name.len() <= 32
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_' || b == b'.');
    if ok {
        Ok(())
    } else {
        Err(Error::Invalid(format!(
            "{kind} name {name:?} must be 1..=32 characters of [A-Za-z0-9._-]"
        )))
    }
}

impl Netns {
    /// Creates a new namespace named `vn<pid>_<tag>-<name>` with `lo` up.
    pub fn create(name: &str) -> Result<Netns> {
        validate_name("namespace", name)?;
        Netns::create_exact(format!("{PREFIX}{}-{name}", new_id()))
    }

    /// Creates a namespace with exactly this name (used by [`crate::Lab`]); brings `lo` up.
    pub(crate) fn create_exact(full: String) -> Result<Netns> {
        ip(&["netns", "add", &full])?;
        let ns = Netns {
            path: Path::new("/run/netns").join(&full),
            name: full,
        };
        // From here on, drop deletes it again if anything fails.
        ip(&["-n", &ns.name, "link", "set", "lo", "up"])?;
        Ok(ns)
    }

    /// The full namespace name, as `ip netns` knows it.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The bind-mounted namespace file, `/run/netns/NAME`.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Runs `f` on a fresh OS thread that has entered this namespace (`setns`), and returns its
    /// result. Sockets created there stay in the namespace after the thread ends. The calling
    /// thread is never moved. A panic in `f` is propagated to the caller.
    ///
    /// Do not start a multi-threaded async runtime inside `f` expecting its workers to be in
    /// the namespace: `setns` applies to this one thread only.
    pub fn run<F, R>(&self, f: F) -> Result<R>
    where
        F: FnOnce() -> R + Send,
        R: Send,
    {
        let file = File::open(&self.path)
            .map_err(|e| Error::io(format!("open {}", self.path.display()), e))?;
        let name = &self.name;
        std::thread::scope(|s| {
            let handle = std::thread::Builder::new()
                .name(format!("netns:{name}"))
                .spawn_scoped(s, move || -> Result<R> {
                    setns(&file, CloneFlags::CLONE_NEWNET)
                        .map_err(|e| Error::sys(format!("setns into {name}"), e))?;
                    drop(file);
                    Ok(f())
                })
                .map_err(|e| Error::io("spawn namespace thread", e))?;
            match handle.join() {
                Ok(r) => r,
                Err(panic) => std::panic::resume_unwind(panic),
            }
        })
    }

    /// Runs `ip netns exec NAME program args...`, waits, and returns its [`Output`] whatever the
    /// exit status. Errors only if the command cannot be started.
    pub fn exec(&self, program: &str, args: &[&str]) -> Result<Output> {
        let mut full: Vec<&str> = vec!["netns", "exec", &self.name, program];
        full.extend_from_slice(args);
        run_cmd("ip", &full)
    }

    /// Like [`Netns::exec`], but a non-zero exit status is an error carrying the command line
    /// and its stderr. Returns stdout.
    pub fn exec_ok(&self, program: &str, args: &[&str]) -> Result<String> {
        let out = self.exec(program, args)?;
        let mut full: Vec<&str> = vec!["netns", "exec", &self.name, program];
        full.extend_from_slice(args);
        check_output("ip", &full, out)
    }

    /// Like [`Netns::exec_ok`], feeding `input` to the command's stdin (e.g. `nft -f -`).
    pub fn exec_with_input(&self, program: &str, args: &[&str], input: &[u8]) -> Result<String> {
        let mut full: Vec<&str> = vec!["netns", "exec", &self.name, program];
        full.extend_from_slice(args);
        let line = cmdline("ip", &full);
        let mut child = Command::new("ip")
            .args(&full)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|source| Error::Spawn {
                cmd: line.clone(),
                source,
            })?;
        let mut stdin = child.stdin.take().expect("piped stdin");
        let write_res = stdin.write_all(input);
        drop(stdin);
        let out = child
            .wait_with_output()
            .map_err(|e| Error::io(format!("wait for {line}"), e))?;
        let stdout = check_output("ip", &full, out)?;
        write_res.map_err(|e| Error::io(format!("write stdin of {line}"), e))?;
        Ok(stdout)
    }

    /// Runs `ip -n NAME args...` (requires success, returns stdout).
    pub fn ip(&self, args: &[&str]) -> Result<String> {
        let mut full: Vec<&str> = vec!["-n", &self.name];
        full.extend_from_slice(args);
        ip(&full)
    }

    /// Writes a sysctl inside the namespace, e.g. `sysctl("net/ipv6/conf/all/forwarding", "0")`
    /// (dots are accepted too).
    pub fn sysctl(&self, key: &str, value: &str) -> Result<()> {
        let path = format!("/proc/sys/{}", key.replace('.', "/"));
        self.run(|| std::fs::write(&path, value))?
            .map_err(|e| Error::io(format!("write {value} to {path} in {}", self.name), e))
    }

    /// Starts a long-running process inside the namespace. The command is spawned from a thread
    /// that entered the namespace, so all of `cmd`'s settings (stdio, env, cwd) are kept. Unlike
    /// `ip netns exec`, `/sys` is not remounted and `/etc/netns` is not applied; netlink,
    /// sockets and `/proc/sys/net` all see the namespace. The guard kills (SIGKILL) and reaps the
    /// process on drop.
    pub fn spawn(&self, mut cmd: Command) -> Result<ChildGuard> {
        let label = format!("{:?} in {}", cmd, self.name);
        let child = self
            .run(move || cmd.spawn())?
            .map_err(|source| Error::Spawn {
                cmd: label.clone(),
                source,
            })?;
        Ok(ChildGuard::new(child, label))
    }

    /// Pids of all processes inside the namespace (`ip netns pids`).
    pub fn pids(&self) -> Result<Vec<u32>> {
        pids_in(&self.name)
    }

    /// Kills (SIGKILL) every process in the namespace and waits up to 2 s for them to go.
    pub fn kill_all(&self) -> Result<()> {
        kill_all_in(&self.name)
    }
}

pub(crate) fn pids_in(name: &str) -> Result<Vec<u32>> {
    let out = ip(&["netns", "pids", name])?;
    let me = std::process::id();
    Ok(out
        .split_whitespace()
        .filter_map(|p| p.parse().ok())
        .filter(|&p| p != me)
        .collect())
}

pub(crate) fn kill_all_in(name: &str) -> Result<()> {
    let pids = pids_in(name)?;
    if pids.is_empty() {
        return Ok(());
    }
    for &pid in &pids {
        let _ = kill(Pid::from_raw(pid as i32), Signal::SIGKILL);
    }
    if wait_until(Duration::from_secs(2), || {
        pids_in(name).map(|p| p.is_empty()).unwrap_or(true)
    }) {
        Ok(())
    } else {
        Err(Error::Timeout(format!(
            "processes {pids:?} in namespace {name} did not die after SIGKILL"
        )))
    }
}

pub(crate) fn delete_ns(name: &str) -> Result<()> {
    let kill_res = kill_all_in(name);
    ip(&["netns", "del", name])?;
    kill_res
}

impl Drop for Netns {
    fn drop(&mut self) {
        if let Err(e) = delete_ns(&self.name) {
            eprintln!("vrrp-netns: cleaning up namespace {}: {e}", self.name);
        }
    }
}

/// A child process that is killed (SIGKILL) and reaped when the guard is dropped, also when a
/// test panics.
#[derive(Debug)]
pub struct ChildGuard {
    child: Option<Child>,
    label: String,
}

impl ChildGuard {
    /// Guards an already spawned child.
    pub fn new(child: Child, label: impl Into<String>) -> ChildGuard {
        ChildGuard {
            child: Some(child),
            label: label.into(),
        }
    }

    fn child(&mut self) -> &mut Child {
        self.child.as_mut().expect("child present until drop")
    }

    /// The process id.
    pub fn pid(&self) -> u32 {
        self.child.as_ref().expect("child present until drop").id()
    }

    /// A description (command and namespace) for messages.
    pub fn label(&self) -> &str {
        &self.label
    }

    /// The underlying [`Child`], e.g. to take its stdout pipe.
    pub fn child_mut(&mut self) -> &mut Child {
        self.child()
    }

    /// Sends a signal (e.g. `SIGKILL`, `SIGSTOP`, `SIGCONT`, `SIGTERM`). The process is not
    /// reaped until waited for, so the pid cannot be reused in between.
    pub fn signal(&self, sig: Signal) -> Result<()> {
        let pid = self.pid();
        kill(Pid::from_raw(pid as i32), sig)
            .map_err(|e| Error::sys(format!("kill -{sig} {pid} ({})", self.label), e))
    }

    /// Returns the exit status if it has exited (non-blocking).
    pub fn try_wait(&mut self) -> Result<Option<ExitStatus>> {
        let label = self.label.clone();
        self.child()
            .try_wait()
            .map_err(|e| Error::io(format!("wait for {label}"), e))
    }

    /// Whether the process is still running (a stopped process counts as running).
    pub fn is_running(&mut self) -> bool {
        matches!(self.try_wait(), Ok(None))
    }

    /// Waits up to `timeout` for the process to exit; `Ok(None)` if it is still running.
    pub fn wait_timeout(&mut self, timeout: Duration) -> Result<Option<ExitStatus>> {
        let mut status = None;
        let mut err = None;
        wait_until(timeout, || match self.try_wait() {
            Ok(Some(s)) => {
                status = Some(s);
                true
            }
            Ok(None) => false,
            Err(e) => {
                err = Some(e);
                true
            }
        });
        match err {
            Some(e) => Err(e),
            None => Ok(status),
        }
    }

    /// Kills with SIGKILL (if still running) and reaps; returns the exit status.
    pub fn kill(&mut self) -> Result<ExitStatus> {
        if let Some(s) = self.try_wait()? {
            return Ok(s);
        }
        let label = self.label.clone();
        let _ = self.signal(Signal::SIGKILL);
        self.child()
            .wait()
            .map_err(|e| Error::io(format!("wait for {label}"), e))
    }

    /// Sends SIGTERM, waits up to `grace` for exit, then SIGKILLs. Returns the exit status.
    pub fn terminate(&mut self, grace: Duration) -> Result<ExitStatus> {
        if let Some(s) = self.try_wait()? {
            return Ok(s);
        }
        self.signal(Signal::SIGTERM)?;
        match self.wait_timeout(grace)? {
            Some(s) => Ok(s),
            None => self.kill(),
        }
    }

    /// Kills the process with SIGKILL if it is still running, then collects its output (only
    /// the streams that were set to [`std::process::Stdio::piped`]).
    pub fn into_output(mut self) -> Result<Output> {
        if self.try_wait()?.is_none() {
            let _ = self.signal(Signal::SIGKILL);
        }
        self.collect()
    }

    /// Waits up to `timeout` for the process to exit by itself, SIGKILLs it otherwise, then
    /// collects its output.
    pub fn wait_output(mut self, timeout: Duration) -> Result<Output> {
        if self.wait_timeout(timeout)?.is_none() {
            let _ = self.signal(Signal::SIGKILL);
        }
        self.collect()
    }

    fn collect(mut self) -> Result<Output> {
        let child = self.child.take().expect("child present until drop");
        child
            .wait_with_output()
            .map_err(|e| Error::io(format!("collect output of {}", self.label), e))
    }
}

impl Drop for ChildGuard {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            if let Ok(None) = child.try_wait() {
                let _ = kill(Pid::from_raw(child.id() as i32), Signal::SIGKILL);
            }
            let _ = child.wait();
        }
    }
}
