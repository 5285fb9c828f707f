//! Running scripts the way keepalived does: shared by `vrrp_script` ([`super::script`]) and the
//! notifier ([`crate::notify`]).
//!
//! * **Splitting.** A command line is split into argv with shell-like quoting ([`split_command`]):
//!   words are separated by blanks; `'...'` is literal; inside `"..."` a backslash escapes
//!   `"`, `\`, `$` and `` ` ``; outside quotes a backslash escapes any character. No other shell
//!   expansion happens: there is no shell.
//! * **No shell**, the program is run with execve (a bare name is searched in `PATH`), except:
//!   - a command starting with `</` (keepalived's idiom `"</dev/tcp/127.0.0.1/80"`) runs as
//!     `SHELL -c COMMAND`, where SHELL is `/bin/bash` if it exists, else `/bin/sh`
//!     ([`shell_path`]). keepalived uses `system()`, i.e. `/bin/sh`, on which `/dev/tcp` only
//!     works where `/bin/sh` is bash; bash is what such configurations are written for.
//!   - a script file that has neither a `#!` line nor an ELF header is run by `/bin/sh`, as
//!     keepalived does when built with libmagic (and as `execvp` does on `ENOEXEC`).
//! * **Child setup.** Own process group (`setpgid(0, 0)`), stdin/stdout/stderr on `/dev/null`,
//!   `IFS`, `LD_PRELOAD` and `LD_LIBRARY_PATH` removed from the otherwise inherited environment,
//!   gid and uid switched when they differ from ours. The supplementary groups are then cleared
//!   by the standard library (`setgroups(0)`); keepalived sets them to the single primary group,
//!   which grants the same access. keepalived also sets `PR_SET_PDEATHSIG`; that needs
//!   `pre_exec` (unsafe), so instead every child is owned by a [`GroupChild`] that kills the
//!   whole process group when dropped (task aborted, runtime shut down).
//! * **Timeouts** ([`run`]): SIGTERM to the process group, SIGKILL to the group after a grace
//!   period (keepalived: 2 s for checks; STOP notify scripts get SIGKILL at once after 1 s).
//!   Unlike keepalived, the SIGKILL is sent to the group even when the leader exited on SIGTERM,
//!   so a timed-out script leaves nothing behind.
//! * **Security** ([`prepare`]): missing or non-executable scripts are refused; with
//!   `enable_script_security`, a script run as root (or setuid root) must have every path
//!   component owned by root and not group- or world-writable (sticky directories allowed),
//!   and the error names the offending component and what is wrong with it.

use std::fmt;
use std::fs::{self, File};
use std::io::{self, Read};
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::os::unix::process::ExitStatusExt;
use std::path::{Component, Path, PathBuf};
use std::process::{ExitStatus, Stdio};
use std::time::Duration;

use nix::sys::signal::{killpg, Signal};
use nix::unistd::{Gid, Group, Pid, Uid, User};
use tracing::warn;

use crate::config::model::{GlobalDefs, RunAs};

/// The prefix that makes keepalived run a command through the shell.
pub const SHELL_PREFIX: &str = "</";

/// The user keepalived falls back to when `script_user` is not set, if it exists.
pub const DEFAULT_SCRIPT_USER: &str = "keepalived_script";

/// Environment variables removed from every script's environment (as keepalived does).
pub const REMOVED_ENV: [&str; 3] = ["IFS", "LD_PRELOAD", "LD_LIBRARY_PATH"];

/// Why a command cannot be run. The messages are meant to be logged as they are.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ExecError {
    /// The command line is empty.
    #[error("empty command")]
    Empty,
    /// A quote is not closed.
    #[error("unterminated {quote} quote in command {command:?}")]
    UnterminatedQuote {
        /// `'` or `"`.
        quote: char,
        /// The command line.
        command: String,
    },
    /// The user does not exist.
    #[error("unknown user {0:?}")]
    UnknownUser(String),
    /// The group does not exist.
    #[error("unknown group {0:?}")]
    UnknownGroup(String),
    /// The user or group database could not be read.
    #[error("cannot look up {name:?}: {error}")]
    Lookup {
        /// User or group name.
        name: String,
        /// The system error.
        error: String,
    },
    /// A bare program name was not found in `PATH`.
    #[error("{0:?} not found in PATH")]
    NotInPath(String),
    /// The script does not exist.
    #[error("script {0:?} does not exist")]
    Missing(PathBuf),
    /// The script is not a regular file.
    #[error("script {0:?} is not a regular file")]
    NotAFile(PathBuf),
    /// The script cannot be executed by the user it runs as.
    #[error(
        "script {path:?} is not executable by user {user} (mode {mode:04o}, owner uid {owner})"
    )]
    NotExecutable {
        /// The script.
        path: PathBuf,
        /// The user it would run as.
        user: String,
        /// Its permission bits.
        mode: u32,
        /// Its owner.
        owner: u32,
    },
    /// `enable_script_security` refuses the script.
    #[error(
        "script {path:?} is unsafe to run as root: {reason}; make every component of its path \
         root-owned and not group- or world-writable, or run it as another user"
    )]
    Insecure {
        /// The script.
        path: PathBuf,
        /// Which path component is wrong and why.
        reason: String,
    },
    /// A file could not be examined.
    #[error("cannot check {path:?}: {error}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The system error.
        error: String,
    },
}

/// Splits a command line into words with keepalived's (shell-like) quoting rules; see the
/// module documentation.
pub fn split_command(command: &str) -> Result<Vec<String>, ExecError> {
    let unterminated = |quote| ExecError::UnterminatedQuote {
        quote,
        command: command.to_owned(),
    };
    let mut words = Vec::new();
    let mut word = String::new();
    let mut in_word = false;
    let mut chars = command.chars();
    while let Some(c) = chars.next() {
        match c {
            c if c.is_whitespace() => {
                if in_word {
                    words.push(std::mem::take(&mut word));
                    in_word = false;
                }
            }
            '\'' => {
                in_word = true;
                loop {
                    match chars.next() {
                        Some('\'') => break,
                        Some(c) => word.push(c),
                        None => return Err(unterminated('\'')),
                    }
                }
            }
            '"' => {
                in_word = true;
                loop {
                    match chars.next() {
                        Some('"') => break,
                        Some('\\') => match chars.next() {
                            Some(c @ ('"' | '\\' | '$' | '`')) => word.push(c),
                            Some(c) => {
                                word.push('\\');
                                word.push(c);
                            }
                            None => return Err(unterminated('"')),
                        },
                        Some(c) => word.push(c),
                        None => return Err(unterminated('"')),
                    }
                }
            }
            '\\' => {
                in_word = true;
                word.push(chars.next().unwrap_or('\\'));
            }
            c => {
                in_word = true;
                word.push(c);
            }
        }
    }
    if in_word {
        words.push(word);
    }
    if words.is_empty() {
        return Err(ExecError::Empty);
    }
    Ok(words)
}

/// A resolved user and group a script runs as.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Credentials {
    /// User name (for messages).
    pub user: String,
    /// User id.
    pub uid: u32,
    /// Group id.
    pub gid: u32,
}

impl Credentials {
    /// root:root.
    pub fn root() -> Self {
        Credentials {
            user: "root".into(),
            uid: 0,
            gid: 0,
        }
    }

    /// The user and group this process runs as.
    pub fn current() -> Self {
        let uid = Uid::effective();
        let user = User::from_uid(uid)
            .ok()
            .flatten()
            .map(|u| u.name)
            .unwrap_or_else(|| uid.to_string());
        Credentials {
            user,
            uid: uid.as_raw(),
            gid: Gid::effective().as_raw(),
        }
    }

    /// Looks up `user [group]` (default group: the user's primary group).
    pub fn resolve(run_as: &RunAs) -> Result<Self, ExecError> {
        let user = lookup_user(&run_as.user)?
            .ok_or_else(|| ExecError::UnknownUser(run_as.user.clone()))?;
        let gid = match &run_as.group {
            None => user.gid,
            Some(name) => {
                if let Ok(n) = name.parse::<u32>() {
                    Gid::from_raw(n)
                } else {
                    Group::from_name(name)
                        .map_err(|e| ExecError::Lookup {
                            name: name.clone(),
                            error: e.to_string(),
                        })?
                        .ok_or_else(|| ExecError::UnknownGroup(name.clone()))?
                        .gid
                }
            }
        };
        Ok(Credentials {
            user: user.name,
            uid: user.uid.as_raw(),
            gid: gid.as_raw(),
        })
    }

    /// Whether this is uid 0.
    pub fn is_root(&self) -> bool {
        self.uid == 0
    }
}

fn lookup_user(name: &str) -> Result<Option<User>, ExecError> {
    let found = if let Ok(n) = name.parse::<u32>() {
        User::from_uid(Uid::from_raw(n))
    } else {
        User::from_name(name)
    };
    found.map_err(|e| ExecError::Lookup {
        name: name.to_owned(),
        error: e.to_string(),
    })
}

/// Global script settings: the default user and `enable_script_security`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScriptPolicy {
    /// Who runs scripts without their own `user`.
    pub default_user: Credentials,
    /// `enable_script_security`.
    pub security: bool,
}

impl ScriptPolicy {
    /// keepalived's rules: `script_user` if set (it must exist), else `keepalived_script` if it
    /// exists, else root.
    pub fn from_global(global: &GlobalDefs) -> Result<Self, ExecError> {
        let default_user = match &global.script_user {
            Some(run_as) => Credentials::resolve(run_as)?,
            None => match lookup_user(DEFAULT_SCRIPT_USER)? {
                Some(_) => Credentials::resolve(&RunAs {
                    user: DEFAULT_SCRIPT_USER.into(),
                    group: None,
                })?,
                None => Credentials::root(),
            },
        };
        Ok(ScriptPolicy {
            default_user,
            security: global.enable_script_security,
        })
    }

    /// Run as the current user, no security checks (tests, unprivileged use).
    pub fn current_user() -> Self {
        ScriptPolicy {
            default_user: Credentials::current(),
            security: false,
        }
    }

    /// The credentials for a script with an optional per-script `user [group]`.
    pub fn credentials_for(&self, run_as: Option<&RunAs>) -> Result<Credentials, ExecError> {
        match run_as {
            Some(r) => Credentials::resolve(r),
            None => Ok(self.default_user.clone()),
        }
    }
}

/// The shell used for `</...` commands: `/bin/bash` if present, else `/bin/sh`.
pub fn shell_path() -> &'static Path {
    if Path::new("/bin/bash").is_file() {
        Path::new("/bin/bash")
    } else {
        Path::new("/bin/sh")
    }
}

/// A checked command, ready to be run any number of times.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PreparedCommand {
    /// The file executed.
    pub program: PathBuf,
    /// Arguments after argv\[0\].
    pub args: Vec<String>,
    /// argv\[0\].
    pub argv0: String,
    /// Who runs it.
    pub creds: Credentials,
    /// The command line as configured (for messages).
    pub display: String,
}

impl PreparedCommand {
    /// A copy with `extra` appended to the arguments (e.g. `notify`'s four arguments).
    pub fn with_args<I: IntoIterator<Item = String>>(&self, extra: I) -> PreparedCommand {
        let mut cmd = self.clone();
        cmd.args.extend(extra);
        cmd
    }

    /// The process to spawn: own process group, `/dev/null` stdio, cleaned environment, user
    /// switched.
    pub fn command(&self) -> tokio::process::Command {
        let mut cmd = tokio::process::Command::new(&self.program);
        cmd.arg0(&self.argv0)
            .args(&self.args)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .process_group(0);
        for var in REMOVED_ENV {
            cmd.env_remove(var);
        }
        if self.creds.gid != Gid::effective().as_raw() {
            cmd.gid(self.creds.gid);
        }
        if self.creds.uid != Uid::effective().as_raw() {
            cmd.uid(self.creds.uid);
        }
        cmd
    }
}

/// Checks a command line and resolves what it runs: quoting, user, program lookup, existence,
/// executability and (with `policy.security`) path security. Errors say what is wrong.
pub fn prepare(
    command: &str,
    run_as: Option<&RunAs>,
    policy: &ScriptPolicy,
) -> Result<PreparedCommand, ExecError> {
    let creds = policy.credentials_for(run_as)?;
    let trimmed = command.trim_start();
    if trimmed.starts_with(SHELL_PREFIX) {
        let shell = shell_path();
        if policy.security {
            check_secure(shell, &creds)?;
        }
        return Ok(PreparedCommand {
            program: shell.to_owned(),
            args: vec!["-c".into(), trimmed.to_owned()],
            argv0: shell.to_string_lossy().into_owned(),
            creds,
            display: command.to_owned(),
        });
    }
    let mut words = split_command(command)?;
    let argv0 = words.remove(0);
    let path = locate(&argv0)?;
    let meta = fs::metadata(&path).map_err(|e| match e.kind() {
        io::ErrorKind::NotFound => ExecError::Missing(path.clone()),
        _ => io_error(&path, e),
    })?;
    if !meta.is_file() {
        return Err(ExecError::NotAFile(path));
    }
    if !executable_by(&meta, &creds) {
        return Err(ExecError::NotExecutable {
            path,
            user: creds.user.clone(),
            mode: meta.mode() & 0o7777,
            owner: meta.uid(),
        });
    }
    if policy.security {
        check_secure(&path, &creds)?;
    }
    if needs_shell(&path) {
        let mut args = vec![path.to_string_lossy().into_owned()];
        args.extend(words);
        return Ok(PreparedCommand {
            program: PathBuf::from("/bin/sh"),
            args,
            argv0: "sh".into(),
            creds,
            display: command.to_owned(),
        });
    }
    Ok(PreparedCommand {
        program: path,
        args: words,
        argv0,
        creds,
        display: command.to_owned(),
    })
}

fn io_error(path: &Path, e: io::Error) -> ExecError {
    ExecError::Io {
        path: path.to_owned(),
        error: e.to_string(),
    }
}

/// Finds a program: a name containing `/` is used as is (made absolute), a bare name is searched
/// in `PATH` (default `/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin`).
pub fn locate(program: &str) -> Result<PathBuf, ExecError> {
    if program.contains('/') {
        let p = PathBuf::from(program);
        if p.is_absolute() {
            return Ok(p);
        }
        return std::env::current_dir()
            .map(|d| d.join(p))
            .map_err(|e| io_error(Path::new(program), e));
    }
    let path = std::env::var_os("PATH")
        .unwrap_or_else(|| "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin".into());
    std::env::split_paths(&path)
        .map(|dir| dir.join(program))
        .find(|p| {
            fs::metadata(p)
                .map(|m| m.is_file() && m.mode() & 0o111 != 0)
                .unwrap_or(false)
        })
        .ok_or_else(|| ExecError::NotInPath(program.to_owned()))
}

fn executable_by(meta: &fs::Metadata, creds: &Credentials) -> bool {
    let mode = meta.mode();
    if creds.uid == 0 {
        mode & 0o111 != 0
    } else if meta.uid() == creds.uid {
        mode & 0o100 != 0
    } else if meta.gid() == creds.gid {
        mode & 0o010 != 0
    } else {
        mode & 0o001 != 0
    }
}

/// Whether a script file has neither `#!` nor an ELF header (so execve would fail with ENOEXEC).
fn needs_shell(path: &Path) -> bool {
    let mut head = [0u8; 4];
    let n = File::open(path)
        .and_then(|mut f| f.read(&mut head))
        .unwrap_or(0);
    !(head[..n].starts_with(b"#!") || head[..n].starts_with(b"\x7fELF")) && n > 0
}

/// `enable_script_security`'s check: when the script runs as root (or is setuid root), every
/// component of its path, as written and after resolving symlinks, must be owned by root and
/// not group- or world-writable (directories with the sticky bit may be writable).
pub fn check_secure(path: &Path, creds: &Credentials) -> Result<(), ExecError> {
    let meta = fs::metadata(path).map_err(|e| io_error(path, e))?;
    let setuid_root = meta.mode() & 0o4000 != 0 && meta.uid() == 0;
    if !creds.is_root() && !setuid_root {
        return Ok(());
    }
    let insecure = |reason: String| ExecError::Insecure {
        path: path.to_owned(),
        reason,
    };
    let mut paths = vec![path.to_owned()];
    if let Ok(real) = fs::canonicalize(path) {
        if real != path {
            paths.push(real);
        }
    }
    for p in &paths {
        let mut prefix = PathBuf::new();
        for comp in p.components() {
            if matches!(comp, Component::CurDir) {
                continue;
            }
            prefix.push(comp);
            let m = fs::metadata(&prefix).map_err(|e| io_error(&prefix, e))?;
            let kind = if m.is_dir() { "directory" } else { "file" };
            let mode = m.permissions().mode() & 0o7777;
            let sticky_dir = m.is_dir() && mode & 0o1000 != 0;
            if m.uid() != 0 {
                return Err(insecure(format!(
                    "{kind} {prefix:?} is owned by uid {}, not root",
                    m.uid()
                )));
            }
            if mode & 0o020 != 0 && !sticky_dir {
                return Err(insecure(format!(
                    "{kind} {prefix:?} is group-writable (mode {mode:04o})"
                )));
            }
            if mode & 0o002 != 0 && !sticky_dir {
                return Err(insecure(format!(
                    "{kind} {prefix:?} is world-writable (mode {mode:04o})"
                )));
            }
        }
    }
    Ok(())
}

/// How a run ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Exited with this status.
    Exited(i32),
    /// Killed by this signal (not by us).
    Signaled(i32),
    /// Did not finish within the timeout and was killed.
    TimedOut(Duration),
    /// Could not be started.
    SpawnFailed(String),
}

impl Outcome {
    /// Exit status 0.
    pub fn success(&self) -> bool {
        *self == Outcome::Exited(0)
    }

    /// From a wait status.
    pub fn from_status(status: ExitStatus) -> Self {
        match (status.code(), status.signal()) {
            (Some(code), _) => Outcome::Exited(code),
            (None, Some(sig)) => Outcome::Signaled(sig),
            _ => Outcome::SpawnFailed(format!("unexpected status {status}")),
        }
    }
}

impl fmt::Display for Outcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Outcome::Exited(0) => write!(f, "succeeded"),
            Outcome::Exited(code) => write!(f, "exited with status {code}"),
            Outcome::Signaled(sig) => match Signal::try_from(*sig) {
                Ok(s) => write!(f, "killed by signal {}", s.as_str()),
                Err(_) => write!(f, "killed by signal {sig}"),
            },
            Outcome::TimedOut(t) => write!(f, "timed out after {t:?}"),
            Outcome::SpawnFailed(e) => write!(f, "could not be started: {e}"),
        }
    }
}

/// What to do with a command that runs too long.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KillPolicy {
    /// How long it may run.
    pub timeout: Duration,
    /// `Some(grace)`: SIGTERM to the process group, SIGKILL after `grace`. `None`: SIGKILL at
    /// once.
    pub term_grace: Option<Duration>,
}

impl KillPolicy {
    /// keepalived's rule for check scripts: SIGTERM, then SIGKILL 2 s later.
    pub fn check(timeout: Duration) -> Self {
        KillPolicy {
            timeout,
            term_grace: Some(Duration::from_secs(2)),
        }
    }
}

/// A child that leads its own process group. Dropping it before the child was reaped SIGKILLs
/// the whole group.
#[derive(Debug)]
pub struct GroupChild {
    child: tokio::process::Child,
    pgid: Option<Pid>,
}

impl GroupChild {
    /// Spawns `cmd` (see [`PreparedCommand::command`]).
    pub fn spawn(cmd: &PreparedCommand) -> io::Result<Self> {
        let child = cmd.command().spawn()?;
        let pgid = child.id().map(|id| Pid::from_raw(id as i32));
        Ok(GroupChild { child, pgid })
    }

    /// The process (and group) id, while the child is not reaped.
    pub fn id(&self) -> Option<u32> {
        self.pgid.map(|p| p.as_raw() as u32)
    }

    /// Waits for the group leader to exit. Cancel safe.
    pub async fn wait(&mut self) -> io::Result<ExitStatus> {
        let status = self.child.wait().await?;
        self.pgid = None;
        Ok(status)
    }

    /// Sends `signal` to the whole process group.
    pub fn signal_group(&self, signal: Signal) {
        if let Some(pgid) = self.pgid {
            let _ = killpg(pgid, signal);
        }
    }

    /// Stops the group: SIGTERM and SIGKILL after `term_grace` (or SIGKILL at once), then reaps
    /// the leader. The SIGKILL goes to the group even if the leader already exited.
    pub async fn terminate(&mut self, term_grace: Option<Duration>) {
        let Some(pgid) = self.pgid else {
            return;
        };
        if let Some(grace) = term_grace {
            let _ = killpg(pgid, Signal::SIGTERM);
            let _ = tokio::time::timeout(grace, self.child.wait()).await;
        }
        let _ = killpg(pgid, Signal::SIGKILL);
        if tokio::time::timeout(Duration::from_secs(5), self.child.wait())
            .await
            .is_err()
        {
            warn!(pid = pgid.as_raw(), "process did not exit after SIGKILL");
        }
        self.pgid = None;
    }
}

impl Drop for GroupChild {
    fn drop(&mut self) {
        if let Some(pgid) = self.pgid.take() {
            let _ = killpg(pgid, Signal::SIGKILL);
        }
    }
}

/// Runs `cmd` to completion or until `policy.timeout`, then kills its process group.
pub async fn run(cmd: &PreparedCommand, policy: KillPolicy) -> Outcome {
    let mut child = match GroupChild::spawn(cmd) {
        Ok(c) => c,
        Err(e) => return Outcome::SpawnFailed(e.to_string()),
    };
    match tokio::time::timeout(policy.timeout, child.wait()).await {
        Ok(Ok(status)) => Outcome::from_status(status),
        Ok(Err(e)) => Outcome::SpawnFailed(format!("wait failed: {e}")),
        Err(_) => {
            child.terminate(policy.term_grace).await;
            Outcome::TimedOut(policy.timeout)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn split_handles_quotes_and_escapes() {
        let w = split_command(r#"/bin/x a 'b c' "d \"e\" \n" f\ g "" '' h"i"j"#).unwrap();
        assert_eq!(
            w,
            ["/bin/x", "a", "b c", r#"d "e" \n"#, "f g", "", "", "hij"]
        );
        assert_eq!(split_command("  ").unwrap_err(), ExecError::Empty);
        assert!(matches!(
            split_command("a 'b"),
            Err(ExecError::UnterminatedQuote { quote: '\'', .. })
        ));
        assert!(matches!(
            split_command("a \"b"),
            Err(ExecError::UnterminatedQuote { quote: '"', .. })
        ));
    }

    #[test]
    fn outcome_display() {
        assert_eq!(Outcome::Exited(1).to_string(), "exited with status 1");
        assert_eq!(Outcome::Signaled(9).to_string(), "killed by signal SIGKILL");
        assert_eq!(
            Outcome::TimedOut(Duration::from_millis(200)).to_string(),
            "timed out after 200ms"
        );
    }
}
