//! Signals: keepalived's, and every other catchable one logged and ignored, so that a daemon
//! holding VIPs never dies of a stray signal.
//!
//! | signal | what |
//! |---|---|
//! | `SIGTERM`, `SIGINT` | stop (`SIGINT` ignored with `--ignore-sigint`) |
//! | `SIGHUP` | reload |
//! | `SIGUSR1` / `SIGUSR2` / `SIGRTMAX-1` / `SIGRTMIN+2` | data / stats / stats then cleared / JSON dump |
//! | `SIGRTMAX` | keepalived's thread dump (`TDUMP`): logged, vrrpd has no threads to dump |
//! | every other catchable signal | logged and ignored |
//!
//! Not handled: `SIGKILL` and `SIGSTOP` (they cannot be caught), the signals a fault raises
//! (`SIGSEGV`, `SIGBUS`, `SIGILL`, `SIGFPE`, `SIGTRAP`, `SIGSYS`, `SIGABRT`: returning from a
//! handler would repeat the fault), those whose default is already to ignore or to continue
//! (`SIGCHLD`, `SIGURG`, `SIGWINCH`, `SIGCONT`), `SIGPIPE` (the Rust runtime ignores it: a
//! write to a closed pipe fails with `EPIPE` instead), and glibc's two internal real-time
//! signals (32, 33).
//!
//! The handlers are signal-hook's (one self-pipe for all of them, read by the event loop);
//! tokio's own signal driver has no slot for `SIGRTMAX`.

use std::io;

use futures::StreamExt;
use nix::sys::signal::Signal;

use super::dumps;

/// What a signal asks the runtime to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Request {
    /// Stop (SIGTERM, SIGINT).
    Stop,
    /// Reload the configuration (SIGHUP).
    Reload,
    /// Write a dump file.
    Dump(dumps::Kind),
}

/// keepalived's meaning of signal `signo`, if it has one (`None`: logged and ignored).
pub fn request_of(signo: i32, ignore_sigint: bool) -> Option<Request> {
    let (rtmin, rtmax) = (nix::libc::SIGRTMIN(), nix::libc::SIGRTMAX());
    match signo {
        nix::libc::SIGTERM => Some(Request::Stop),
        nix::libc::SIGINT if !ignore_sigint => Some(Request::Stop),
        nix::libc::SIGHUP => Some(Request::Reload),
        nix::libc::SIGUSR1 => Some(Request::Dump(dumps::Kind::Data)),
        nix::libc::SIGUSR2 => Some(Request::Dump(dumps::Kind::Stats)),
        s if s == rtmax - 1 => Some(Request::Dump(dumps::Kind::StatsClear)),
        s if s == rtmin + 2 => Some(Request::Dump(dumps::Kind::Json)),
        _ => None,
    }
}

/// The signals handled: every catchable one but those listed in the module documentation.
pub fn handled() -> Vec<i32> {
    use nix::libc::*;
    let skipped = [
        SIGKILL, SIGSTOP, SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGTRAP, SIGSYS, SIGABRT, SIGCHLD,
        SIGURG, SIGWINCH, SIGCONT, SIGPIPE,
    ];
    (1..SIGRTMIN())
        .filter(|s| *s < 32 && !skipped.contains(s))
        .chain(SIGRTMIN()..=SIGRTMAX())
        .collect()
}

/// A signal's name: `SIGUSR1`, `SIGRTMIN+2`, `SIGRTMAX-1`.
pub fn name(signo: i32) -> String {
    let (rtmin, rtmax) = (nix::libc::SIGRTMIN(), nix::libc::SIGRTMAX());
    match Signal::try_from(signo) {
        Ok(s) => s.as_str().to_string(),
        Err(_) if signo == rtmax => "SIGRTMAX".to_string(),
        Err(_) if signo >= rtmin && signo - rtmin <= rtmax - signo => {
            format!("SIGRTMIN+{}", signo - rtmin)
        }
        Err(_) if signo > rtmin && signo <= rtmax => format!("SIGRTMAX-{}", rtmax - signo),
        Err(_) => format!("signal {signo}"),
    }
}

/// The installed handlers.
pub struct Signals {
    stream: signal_hook_tokio::Signals,
    ignore_sigint: bool,
}

impl Signals {
    /// Installs a handler for every signal of [`handled`]. From here on, no signal but
    /// SIGKILL and the fault signals ends the process.
    pub fn install(ignore_sigint: bool) -> io::Result<Self> {
        Ok(Signals {
            stream: signal_hook_tokio::Signals::new(handled())?,
            ignore_sigint,
        })
    }

    /// The next signal that asks for something; every other one is logged and ignored.
    /// Cancel-safe: a signal is not lost when the future is dropped.
    pub async fn recv(&mut self) -> Request {
        loop {
            let Some(signo) = self.stream.next().await else {
                // The stream never ends while `Signals` lives.
                return std::future::pending().await;
            };
            match request_of(signo, self.ignore_sigint) {
                Some(request) => return request,
                // RLIMIT_RTTIME's soft limit (vrrp_rlimit_rttime) reached: keepalived's words.
                None if signo == nix::libc::SIGXCPU => tracing::info!(
                    signal = %name(signo),
                    "VRRP process has used too much CPU time, vrrp_rlimit_rttime may need to be increased"
                ),
                None if signo == nix::libc::SIGRTMAX() => tracing::info!(
                    signal = %name(signo),
                    "{} (keepalived's thread dump) received: vrrpd has no threads to dump; ignored",
                    name(signo)
                ),
                None => {
                    tracing::warn!(signal = %name(signo), "{} received and ignored", name(signo))
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keepalived_signals_and_names() {
        use nix::libc::*;
        assert_eq!(request_of(SIGTERM, false), Some(Request::Stop));
        assert_eq!(request_of(SIGINT, false), Some(Request::Stop));
        assert_eq!(request_of(SIGINT, true), None);
        assert_eq!(request_of(SIGHUP, false), Some(Request::Reload));
        assert_eq!(
            request_of(63, false),
            Some(Request::Dump(dumps::Kind::StatsClear))
        );
        assert_eq!(
            request_of(36, false),
            Some(Request::Dump(dumps::Kind::Json))
        );
        assert_eq!(request_of(SIGALRM, false), None);
        assert_eq!(request_of(64, false), None);
        assert_eq!(name(SIGUSR1), "SIGUSR1");
        assert_eq!(name(36), "SIGRTMIN+2");
        assert_eq!(name(63), "SIGRTMAX-1");
        assert_eq!(name(64), "SIGRTMAX");
        assert_eq!(name(49), "SIGRTMIN+15");
        assert_eq!(name(50), "SIGRTMAX-14");
    }

    #[test]
    fn every_catchable_signal_is_handled_but_faults_and_default_ignored_ones() {
        use nix::libc::*;
        let h = handled();
        for s in [
            SIGHUP, SIGINT, SIGQUIT, SIGUSR1, SIGUSR2, SIGALRM, SIGTERM, SIGTSTP, 34, 63, 64,
        ] {
            assert!(h.contains(&s), "{}", name(s));
        }
        for s in [SIGKILL, SIGSTOP, SIGSEGV, SIGBUS, SIGCHLD, SIGPIPE, 32, 33] {
            assert!(!h.contains(&s), "{}", name(s));
        }
    }
}
