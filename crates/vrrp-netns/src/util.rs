//! Small helpers: root check, polling, running commands, unique ids.

use std::collections::hash_map::RandomState;
use std::hash::{BuildHasher, Hasher};
use std::process::{Command, Output, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant, SystemTime};

use crate::error::{Error, Result};

/// The prefix of every namespace (and root-namespace interface) this crate creates.
pub const PREFIX: &str = "vn";

/// Fails the calling test with a clear message unless running as root (euid 0) with `ip`
/// available. Never skips silently.
///
/// # Panics
/// When not root or `ip` (iproute2) cannot be run.
pub fn require_root() {
    if let Err(e) = check_root() {
        panic!(
            "this test needs root and iproute2 (network namespaces): {e}. \
             Run it as root, e.g. `sudo -E cargo test -p vrrp-netns`"
        );
    }
}

/// Like [`require_root`] but returns the error instead of panicking.
pub fn check_root() -> Result<()> {
    let euid = nix::unistd::geteuid();
    if !euid.is_root() {
        return Err(Error::NotRoot {
            euid: euid.as_raw(),
        });
    }
    require_tool("ip", &["-V"], "install iproute2")
}

/// Checks that `tool args` can be started (its exit status is ignored).
pub(crate) fn require_tool(tool: &str, args: &[&str], hint: &str) -> Result<()> {
    match Command::new(tool)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
    {
        Ok(_) => Ok(()),
        Err(e) => Err(Error::MissingTool {
            tool: tool.to_string(),
            hint: format!("{hint} ({e})"),
        }),
    }
}

/// Polls `cond` every 10 ms until it returns true or `timeout` elapses; returns whether it
/// became true. `cond` is always evaluated at least once, and once more at the deadline.
/// Use this instead of sleeps for synchronisation.
pub fn wait_until(timeout: Duration, mut cond: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + timeout;
    loop {
        if cond() {
            return true;
        }
        let now = Instant::now();
        if now >= deadline {
            return false;
        }
        std::thread::sleep(Duration::from_millis(10).min(deadline - now));
    }
}

/// Like [`wait_until`] but for a condition that produces a value: returns the first `Some`,
/// or `None` at the deadline.
pub fn wait_for<T>(timeout: Duration, mut probe: impl FnMut() -> Option<T>) -> Option<T> {
    let mut out = None;
    wait_until(timeout, || {
        out = probe();
        out.is_some()
    });
    out
}

/// Renders a command line for messages.
pub(crate) fn cmdline(program: &str, args: &[&str]) -> String {
    let mut s = program.to_string();
    for a in args {
        s.push(' ');
        if a.is_empty() || a.contains(char::is_whitespace) {
            s.push('\'');
            s.push_str(a);
            s.push('\'');
        } else {
            s.push_str(a);
        }
    }
    s
}

/// Runs a command to completion, capturing output. Errors only if it cannot start.
pub(crate) fn run_cmd(program: &str, args: &[&str]) -> Result<Output> {
    Command::new(program)
        .args(args)
        .stdin(Stdio::null())
        .output()
        .map_err(|source| Error::Spawn {
            cmd: cmdline(program, args),
            source,
        })
}

/// Turns an unsuccessful [`Output`] into [`Error::Command`].
pub(crate) fn check_output(program: &str, args: &[&str], out: Output) -> Result<String> {
    if out.status.success() {
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    } else {
        let mut stderr = String::from_utf8_lossy(&out.stderr).trim().to_string();
        if stderr.is_empty() {
            stderr = String::from_utf8_lossy(&out.stdout).trim().to_string();
        }
        Err(Error::Command {
            cmd: cmdline(program, args),
            status: out.status.to_string(),
            stderr,
        })
    }
}

/// Runs a command and requires success; returns stdout.
pub(crate) fn run_ok(program: &str, args: &[&str]) -> Result<String> {
    let out = run_cmd(program, args)?;
    check_output(program, args, out)
}

/// Runs `ip` with the given arguments, requiring success.
pub(crate) fn ip(args: &[&str]) -> Result<String> {
    run_ok("ip", args)
}

fn base36(mut n: u64) -> String {
    const DIGITS: &[u8] = b"0123456789abcdefghijklmnopqrstuvwxyz";
    if n == 0 {
        return "0".into();
    }
    let mut out = Vec::new();
    while n > 0 {
        out.push(DIGITS[(n % 36) as usize]);
        n /= 36;
    }
    out.reverse();
    String::from_utf8(out).expect("ascii")
}

/// A short id unique across labs in this process and across processes:
/// `<pid>_<counter base36><2 random base36 chars>`, e.g. `48213_0k7`. The pid lets
/// [`crate::cleanup_leftovers`] decide whether the creator is still alive.
pub(crate) fn new_id() -> String {
    static COUNTER: AtomicU32 = AtomicU32::new(0);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let mut h = RandomState::new().build_hasher();
    h.write_u32(n);
    h.write_u128(
        SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0),
    );
    let rnd = base36(h.finish() % (36 * 36));
    let rnd = format!("{rnd:0>2}");
    format!("{}_{}{}", std::process::id(), base36(n as u64), rnd)
}

/// If `name` looks like something this crate created (`vn<pid>_<tag>...`), returns the pid.
pub(crate) fn creator_pid(name: &str) -> Option<u32> {
    let rest = name.strip_prefix(PREFIX)?;
    let (pid, tail) = rest.split_once('_')?;
    if pid.is_empty() || !pid.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let tag_ok = tail
        .bytes()
        .next()
        .is_some_and(|b| b.is_ascii_alphanumeric());
    if !tag_ok {
        return None;
    }
    pid.parse().ok()
}

/// Whether a process with this pid exists (zombies count as gone).
pub(crate) fn pid_alive(pid: u32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(stat) => {
            // State is the field after the parenthesised comm.
            let state = stat
                .rsplit_once(')')
                .and_then(|(_, rest)| rest.split_whitespace().next());
            !matches!(state, Some("Z") | Some("X"))
        }
        Err(_) => false,
    }
}

/// Formats a MAC as `aa:bb:cc:dd:ee:ff`.
pub fn format_mac(mac: &[u8; 6]) -> String {
    format!(
        "{:02x}:{:02x}:{:02x}:{:02x}:{:02x}:{:02x}",
        mac[0], mac[1], mac[2], mac[3], mac[4], mac[5]
    )
}

/// Parses `aa:bb:cc:dd:ee:ff` (case-insensitive, `:` or `-` separated).
pub fn parse_mac(s: &str) -> Option<[u8; 6]> {
    let mut out = [0u8; 6];
    let mut parts = s.split([':', '-']);
    for b in out.iter_mut() {
        let p = parts.next()?;
        if p.is_empty() || p.len() > 2 {
            return None;
        }
        *b = u8::from_str_radix(p, 16).ok()?;
    }
    if parts.next().is_some() {
        return None;
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_parse_back_to_pid() {
        let id = new_id();
        let name = format!("{PREFIX}{id}-r1");
        assert_eq!(creator_pid(&name), Some(std::process::id()));
        assert_ne!(new_id(), new_id());
        assert_eq!(creator_pid("vnfoo"), None);
        assert_eq!(creator_pid("vn12_"), None);
        assert_eq!(creator_pid("vnx_1"), None);
        assert_eq!(creator_pid("vn12_ab-c"), Some(12));
    }

    #[test]
    fn mac_roundtrip() {
        let m = [0x02, 0, 0, 0, 0x01, 0xfe];
        assert_eq!(parse_mac(&format_mac(&m)), Some(m));
        assert_eq!(parse_mac("02:00:00:00:01"), None);
        assert_eq!(parse_mac("02:00:00:00:01:02:03"), None);
    }

    #[test]
    fn wait_until_times_out_and_succeeds() {
        assert!(!wait_until(Duration::from_millis(30), || false));
        let mut n = 0;
        assert!(wait_until(Duration::from_secs(1), || {
            n += 1;
            n > 3
        }));
        assert_eq!(wait_for(Duration::from_millis(20), || Some(5)), Some(5));
    }
}
