//! One neutral virtual-router description ([`VirtualRouterSpec`]) and three implementations
//! that can run it inside a lab host ([`RouterKind`]): keepalived, FRR's vrrpd, and our vrrpd.
//!
//! ```no_run
//! use vrrp_netns::{Lab, RouterKind, VirtualRouterSpec, WorkDir};
//! let lab = Lab::builder().router("r1").router("r2").client("c").build().unwrap();
//! let dir = WorkDir::new("demo").unwrap();
//! let spec = VirtualRouterSpec::new(5, vec!["192.0.2.100".parse().unwrap()]).priority(200);
//! let r1 = RouterKind::Keepalived.start(&lab, "r1", &spec, dir.path()).unwrap();
//! let r2 = RouterKind::Frr.start(&lab, "r2", &spec.clone().priority(100), dir.path()).unwrap();
//! // ... capture, fault injection; both are stopped (SIGKILL) when dropped.
//! # drop((r1, r2));
//! ```
//!
//! Every process runs inside the host's namespace ([`crate::Netns::spawn`]); every file
//! (configuration, pid files, sockets, logs) lives under the directory given to `start`.

use std::fmt;
use std::fs::File;
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::lab::{Host, Lab};
use crate::netns::ChildGuard;
use crate::util::{new_id, wait_until};

/// Which IPv4 VRRPv3 checksum a router sends (checklist P1).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Checksum {
    /// RFC 9568: the VRRP message only (keepalived `v3_checksum_as_v2`, FRR
    /// `no vrrp N checksum-with-ipv4-pseudoheader`).
    Rfc9568,
    /// RFC 5798 as keepalived and FRR read it: with the IPv4 pseudo-header (their default).
    #[default]
    PseudoHeader,
    /// keepalived 1.3.6's unicast form: the pseudo-header with 224.0.0.18 as destination
    /// (keepalived `old_unicast_checksum`).
    OldUnicast,
}

impl Checksum {
    /// The vrrp-core equivalent.
    pub fn to_core(self) -> vrrp_core::ChecksumForm {
        match self {
            Checksum::Rfc9568 => vrrp_core::ChecksumForm::Rfc9568,
            Checksum::PseudoHeader => vrrp_core::ChecksumForm::PseudoHeader,
            Checksum::OldUnicast => vrrp_core::ChecksumForm::OldUnicast,
        }
    }

    /// From the vrrp-core equivalent.
    pub fn from_core(f: vrrp_core::ChecksumForm) -> Checksum {
        match f {
            vrrp_core::ChecksumForm::Rfc9568 => Checksum::Rfc9568,
            vrrp_core::ChecksumForm::PseudoHeader => Checksum::PseudoHeader,
            vrrp_core::ChecksumForm::OldUnicast => Checksum::OldUnicast,
        }
    }

    /// The name used in scenario files: `rfc9568`, `pseudo-header` or `old-unicast`.
    pub fn name(self) -> &'static str {
        match self {
            Checksum::Rfc9568 => "rfc9568",
            Checksum::PseudoHeader => "pseudo-header",
            Checksum::OldUnicast => "old-unicast",
        }
    }
}

impl fmt::Display for Checksum {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

fn default_priority() -> u8 {
    100
}
fn default_interval() -> u16 {
    100
}
fn yes() -> bool {
    true
}
fn three() -> u8 {
    3
}

/// A virtual router, described independently of the implementation that runs it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VirtualRouterSpec {
    /// Virtual router id, 1..=255.
    pub vrid: u8,
    /// Priority: 1..=254, or 255 for the address owner. Default 100.
    #[serde(default = "default_priority")]
    pub priority: u8,
    /// Advertisement interval in centiseconds, 1..=4095 (v2: a multiple of 100). Default 100.
    #[serde(default = "default_interval")]
    pub interval_cs: u16,
    /// Virtual addresses, all of one family; an IPv6 list starts with a link-local address.
    pub vips: Vec<IpAddr>,
    /// Preempt mode (default true).
    #[serde(default = "yes")]
    pub preempt: bool,
    /// VRRP version, 2 or 3 (default 3).
    #[serde(default = "three")]
    pub version: u8,
    /// IPv4 VRRPv3 checksum form sent (default `pseudo-header`, as keepalived and FRR).
    #[serde(default)]
    pub checksum_form: Checksum,
    /// Accept mode (default false, as in the RFC).
    #[serde(default)]
    pub accept: bool,
    /// Unicast peers instead of multicast (keepalived's `unicast_peer`; not standard VRRP).
    #[serde(default)]
    pub unicast_peers: Option<Vec<IpAddr>>,
    /// VRRPv2 simple-password authentication (keepalived's `authentication { auth_type PASS
    /// auth_pass ... }`, RFC 2338 type 1): the password, at most 8 bytes. VRRPv2 only (RFC
    /// 3768 deprecated it, VRRPv3 removed the field). FRR has no VRRPv2 authentication.
    #[serde(default)]
    pub auth_pass: Option<String>,
    /// keepalived's `preempt_delay` in milliseconds (0, the default, renders nothing):
    /// how long a Backup waits before preempting a lower-priority Active.
    #[serde(default)]
    pub preempt_delay_ms: u32,
    /// A generated, flaky `vrrp_script` tracked by the instance (vrrpd and keepalived only).
    #[serde(default)]
    pub track_script: Option<TrackScript>,
}

fn default_script_interval() -> u32 {
    1000
}
fn one() -> u8 {
    1
}

/// A `vrrp_script` that fails at random: a generated `#!/bin/sh` script (in the router's
/// directory) that exits 1 with probability `fail_probability` on each run, reading the
/// probability from a file next to it, so [`RunningRouter::set_fail_probability`] (the
/// scenario step `flaky`) changes it while the daemon runs. Rendered as
///
/// ```text
/// vrrp_script flaky_check { script "DIR/flaky_check.sh"  interval I  weight W  rise R  fall F }
/// vrrp_instance ... { track_script { flaky_check } }
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TrackScript {
    /// Priority change while the script is failed (keepalived: -253..=253; 0 makes a failure
    /// put the instance in Fault).
    pub weight: i16,
    /// Probability (0.0..=1.0) that one run fails.
    pub fail_probability: f64,
    /// Time between runs in milliseconds (default 1000; keepalived's `interval`).
    #[serde(default = "default_script_interval")]
    pub interval_ms: u32,
    /// Consecutive successes that make a failed script OK again (default 1).
    #[serde(default = "one")]
    pub rise: u8,
    /// Consecutive failures that make an OK script failed (default 1).
    #[serde(default = "one")]
    pub fall: u8,
}

// `fail_probability` is validated finite (never NaN), so equality is an equivalence.
impl Eq for TrackScript {}

impl TrackScript {
    /// A script with this weight and failure probability, run every second, rise 1, fall 1.
    pub fn new(weight: i16, fail_probability: f64) -> TrackScript {
        TrackScript {
            weight,
            fail_probability,
            interval_ms: default_script_interval(),
            rise: 1,
            fall: 1,
        }
    }

    /// Checks the ranges.
    pub fn validate(&self) -> Result<()> {
        let bad = |m: String| Err(Error::Invalid(format!("track_script: {m}")));
        if !(0.0..=1.0).contains(&self.fail_probability) {
            return bad(format!(
                "fail_probability {} not in 0..=1",
                self.fail_probability
            ));
        }
        if !(-253..=253).contains(&self.weight) {
            return bad(format!("weight {} not in -253..=253", self.weight));
        }
        if self.interval_ms < 10 {
            return bad(format!("interval_ms {} < 10", self.interval_ms));
        }
        if self.rise == 0 || self.fall == 0 {
            return bad("rise and fall must be at least 1".into());
        }
        Ok(())
    }

    /// How long, at most, after the probability drops to 0 until the script is OK again:
    /// `rise` runs, plus one run already under way with the old probability.
    pub fn recovery_time(&self) -> Duration {
        Duration::from_millis(u64::from(self.interval_ms) * (u64::from(self.rise) + 1))
    }
}

impl VirtualRouterSpec {
    /// A spec with the defaults: priority 100, interval 100 cs, preempt, v3, pseudo-header
    /// checksum, accept off, multicast.
    pub fn new(vrid: u8, vips: Vec<IpAddr>) -> VirtualRouterSpec {
        VirtualRouterSpec {
            vrid,
            priority: default_priority(),
            interval_cs: default_interval(),
            vips,
            preempt: true,
            version: 3,
            checksum_form: Checksum::default(),
            accept: false,
            unicast_peers: None,
            auth_pass: None,
            preempt_delay_ms: 0,
            track_script: None,
        }
    }

    /// Sets keepalived's `preempt_delay` (milliseconds; see
    /// [`VirtualRouterSpec::preempt_delay_ms`]).
    #[must_use]
    pub fn preempt_delay_ms(mut self, ms: u32) -> Self {
        self.preempt_delay_ms = ms;
        self
    }

    /// Tracks a flaky script (see [`TrackScript`]).
    #[must_use]
    pub fn track_script(mut self, t: TrackScript) -> Self {
        self.track_script = Some(t);
        self
    }

    /// Sets the VRRPv2 `auth_type PASS` password (see [`VirtualRouterSpec::auth_pass`]).
    #[must_use]
    pub fn auth_pass(mut self, pass: impl Into<String>) -> Self {
        self.auth_pass = Some(pass.into());
        self
    }

    /// Sets the VRRP version (2 or 3).
    #[must_use]
    pub fn version(mut self, v: u8) -> Self {
        self.version = v;
        self
    }

    /// Sets the priority.
    #[must_use]
    pub fn priority(mut self, p: u8) -> Self {
        self.priority = p;
        self
    }

    /// Sets the advertisement interval (centiseconds).
    #[must_use]
    pub fn interval_cs(mut self, cs: u16) -> Self {
        self.interval_cs = cs;
        self
    }

    /// Sets the checksum form.
    #[must_use]
    pub fn checksum_form(mut self, c: Checksum) -> Self {
        self.checksum_form = c;
        self
    }

    /// Sets preempt mode.
    #[must_use]
    pub fn preempt(mut self, on: bool) -> Self {
        self.preempt = on;
        self
    }

    /// Whether the virtual addresses are IPv6.
    pub fn is_ipv6(&self) -> bool {
        self.vips.first().is_some_and(IpAddr::is_ipv6)
    }

    /// Whether this router is the address owner (priority 255).
    pub fn is_owner(&self) -> bool {
        self.priority == 255
    }

    /// The Active_Down_Interval this router's own adverts imply (3 x interval + skew).
    pub fn active_down_interval(&self) -> Duration {
        down_interval(self.priority, self.interval_cs)
    }

    /// Checks the description itself (not what an implementation supports).
    pub fn validate(&self) -> Result<()> {
        let bad = |m: String| Err(Error::Invalid(format!("VRID {}: {m}", self.vrid)));
        if self.vrid == 0 {
            return bad("vrid must be 1..=255".into());
        }
        if self.priority == 0 {
            return bad("priority must be 1..=255".into());
        }
        if !(1..=4095).contains(&self.interval_cs) {
            return bad(format!("interval_cs {} not in 1..=4095", self.interval_cs));
        }
        let Some(first) = self.vips.first() else {
            return bad("at least one VIP is needed".into());
        };
        if self.vips.iter().any(|v| v.is_ipv6() != first.is_ipv6()) {
            return bad("VIPs mix IPv4 and IPv6".into());
        }
        if let IpAddr::V6(v6) = first {
            if !vrrp_core::packet::is_link_local(*v6) {
                return bad(format!("the first IPv6 VIP {v6} must be link-local"));
            }
        }
        match self.version {
            3 => {}
            2 if first.is_ipv6() => return bad("VRRPv2 is IPv4 only".into()),
            2 if !self.interval_cs.is_multiple_of(100) => {
                return bad("VRRPv2 needs a whole-second interval".into())
            }
            2 => {}
            v => return bad(format!("version {v} is not 2 or 3")),
        }
        if let Some(t) = &self.track_script {
            if let Err(Error::Invalid(m)) = t.validate() {
                return bad(m);
            }
        }
        if self.preempt_delay_ms > 1_000_000 {
            return bad(format!(
                "preempt_delay_ms {} > 1000000 (1000 s)",
                self.preempt_delay_ms
            ));
        }
        if let Some(p) = &self.auth_pass {
            if self.version != 2 {
                return bad("auth_pass is VRRPv2 only (VRRPv3 has no authentication)".into());
            }
            if p.is_empty() || p.len() > 8 || !p.bytes().all(|b| b.is_ascii_graphic()) {
                return bad(format!(
                    "auth_pass {p:?} must be 1 to 8 printable ASCII characters without spaces"
                ));
            }
        }
        Ok(())
    }
}

/// Active_Down_Interval for a priority and interval (3 x interval + skew, RFC 9568 §6.1).
pub fn down_interval(priority: u8, interval_cs: u16) -> Duration {
    let i = u64::from(interval_cs) * 10_000; // µs
    let skew = (256 - u64::from(priority)) * i / 256;
    Duration::from_micros(3 * i + skew)
}

/// The three implementations a lab can run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RouterKind {
    /// This project's daemon: a drop-in for keepalived, fed the same keepalived.conf.
    Vrrpd,
    /// keepalived (`keepalived --vrrp`).
    Keepalived,
    /// FRR's vrrpd with its own zebra, both per namespace.
    Frr,
}

impl RouterKind {
    /// `vrrpd`, `keepalived` or `frr`.
    pub fn name(self) -> &'static str {
        match self {
            RouterKind::Vrrpd => "vrrpd",
            RouterKind::Keepalived => "keepalived",
            RouterKind::Frr => "frr",
        }
    }

    /// Checks, without starting anything, that this implementation is installed and can run
    /// `spec`. Errors are [`Error::MissingTool`] (with how to get it) or
    /// [`Error::Unsupported`].
    pub fn check(self, spec: &VirtualRouterSpec) -> Result<()> {
        spec.validate()?;
        if self == RouterKind::Frr && (spec.track_script.is_some() || spec.preempt_delay_ms > 0) {
            return Err(Error::Unsupported {
                kind: "frr".into(),
                what: "vrrp_script tracking and preempt_delay (FRR's vrrpd has neither)".into(),
            });
        }
        match self {
            RouterKind::Keepalived => crate::keepalived::check(spec),
            RouterKind::Frr => crate::frr::check(spec),
            RouterKind::Vrrpd => vrrpd_binary().map(drop),
        }
    }

    /// Starts this implementation on lab host `host` running `spec`. Files go to a fresh
    /// subdirectory of `dir`. The processes are killed when the returned router is dropped.
    pub fn start(
        self,
        lab: &Lab,
        host: &str,
        spec: &VirtualRouterSpec,
        dir: &Path,
    ) -> Result<RunningRouter> {
        let h = lab
            .try_host(host)
            .ok_or_else(|| Error::Invalid(format!("no host {host:?} in lab {}", lab.id())))?;
        self.start_on(h, spec, dir)
    }

    /// Like [`RouterKind::start`] with the host itself.
    pub fn start_on(
        self,
        host: &Host,
        spec: &VirtualRouterSpec,
        dir: &Path,
    ) -> Result<RunningRouter> {
        self.start_on_with_env(host, spec, dir, &[])
    }

    /// Like [`RouterKind::start_on`], with extra environment variables for the daemon
    /// process of vrrpd or keepalived (e.g. `RUST_LOG` for vrrpd, to log its per-packet
    /// discard reasons); FRR's daemons do not get them.
    pub fn start_on_with_env(
        self,
        host: &Host,
        spec: &VirtualRouterSpec,
        dir: &Path,
        env: &[(String, String)],
    ) -> Result<RunningRouter> {
        self.check(spec)?;
        let sub = dir.join(format!("{}-{}-{}", host.name, self.name(), new_id()));
        std::fs::create_dir_all(&sub)
            .map_err(|e| Error::io(format!("create {}", sub.display()), e))?;
        let mut r = RunningRouter {
            kind: self,
            host: host.name.clone(),
            netns: host.netns.name().to_string(),
            spec: spec.clone(),
            dir: sub,
            procs: Vec::new(),
            logs: Vec::new(),
            links: Vec::new(),
        };
        match self {
            RouterKind::Keepalived | RouterKind::Vrrpd => {
                let conf = match &spec.track_script {
                    Some(t) => {
                        crate::keepalived::write_flaky_script(&r.dir, t.fail_probability)?;
                        crate::keepalived::config_in(spec, host, &r.dir)
                    }
                    None => crate::keepalived::config(spec, host),
                };
                let path = r.dir.join("keepalived.conf");
                write(&path, &conf)?;
                let program = match self {
                    RouterKind::Keepalived => PathBuf::from(crate::keepalived::KEEPALIVED_BIN),
                    _ => vrrpd_binary()?,
                };
                let pid = r.dir.join("main.pid");
                let vrrp_pid = r.dir.join("vrrp.pid");
                let mut args: Vec<String> = Vec::new();
                if self == RouterKind::Keepalived {
                    args.extend(
                        ["--vrrp", "--dont-fork", "--log-console", "--log-detail"]
                            .map(String::from),
                    );
                } else {
                    args.extend(["-n", "-l", "-D", "-P"].map(String::from));
                    // Its own control socket: the default path is shared by the whole host.
                    args.extend([
                        "--control-socket".into(),
                        r.dir.join("control.sock").display().to_string(),
                    ]);
                }
                args.extend([
                    "-f".into(),
                    path.display().to_string(),
                    "-p".into(),
                    pid.display().to_string(),
                    "-r".into(),
                    vrrp_pid.display().to_string(),
                ]);
                let mut cmd = Command::new(&program);
                cmd.args(&args);
                cmd.envs(env.iter().map(|(k, v)| (k, v)));
                r.spawn(host, cmd, self.name())?;
                // A configuration error makes either exit at once: report it with its log.
                std::thread::sleep(Duration::from_millis(150));
                r.check_alive()?;
            }
            RouterKind::Frr => crate::frr::start(&mut r, host)?,
        }
        Ok(r)
    }
}

impl fmt::Display for RouterKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Where the vrrpd binary is expected: `$VRRPD_BIN`, else `$CARGO_TARGET_DIR/debug/vrrpd`,
/// else `<workspace>/target/debug/vrrpd`.
pub fn vrrpd_binary_path() -> PathBuf {
    if let Some(p) = std::env::var_os("VRRPD_BIN") {
        return PathBuf::from(p);
    }
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target"));
    target.join("debug").join("vrrpd")
}

/// [`vrrpd_binary_path`] if it exists, else a [`Error::MissingTool`] saying how to build it.
pub fn vrrpd_binary() -> Result<PathBuf> {
    let p = vrrpd_binary_path();
    if p.is_file() {
        Ok(p)
    } else {
        Err(Error::MissingTool {
            tool: "vrrpd".into(),
            hint: format!(
                "vrrpd binary not found at {}; build it with cargo build -p vrrpd \
                 (same CARGO_TARGET_DIR) or set VRRPD_BIN",
                p.display()
            ),
        })
    }
}

pub(crate) fn write(path: &Path, text: &str) -> Result<()> {
    std::fs::write(path, text).map_err(|e| Error::io(format!("write {}", path.display()), e))
}

/// A router implementation running in a lab host. Dropping it kills (SIGKILL) every process
/// it started and removes the interfaces it created.
#[derive(Debug)]
pub struct RunningRouter {
    /// Which implementation.
    pub kind: RouterKind,
    /// The lab host it runs on.
    pub host: String,
    /// The description it runs.
    pub spec: VirtualRouterSpec,
    netns: String,
    dir: PathBuf,
    /// Main processes in stop order (FRR: vrrpd, then zebra).
    procs: Vec<(String, ChildGuard)>,
    logs: Vec<PathBuf>,
    /// Interfaces created in the host namespace (FRR's macvlans), removed on drop.
    pub(crate) links: Vec<String>,
}

impl RunningRouter {
    /// The directory with this router's configuration, pid files, sockets and logs.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// vrrpd's control socket (`vrrpctl --socket`); `None` for keepalived and FRR.
    pub fn control_socket(&self) -> Option<PathBuf> {
        (self.kind == RouterKind::Vrrpd).then(|| self.dir.join("control.sock"))
    }

    /// The namespace name of the host.
    pub fn netns_name(&self) -> &str {
        &self.netns
    }

    /// Changes the failure probability of the router's flaky track script (see
    /// [`TrackScript`]) from the next run on. An error if the spec has no track script.
    pub fn set_fail_probability(&self, p: f64) -> Result<()> {
        if self.spec.track_script.is_none() {
            return Err(Error::Invalid(format!(
                "{} on {} has no track script",
                self.kind, self.host
            )));
        }
        if !(0.0..=1.0).contains(&p) {
            return Err(Error::Invalid(format!("probability {p} not in 0..=1")));
        }
        crate::keepalived::write_fail_probability(&self.dir, p)
    }

    pub(crate) fn spawn(&mut self, host: &Host, mut cmd: Command, label: &str) -> Result<()> {
        let log = self.dir.join(format!("{label}.log"));
        let f =
            File::create(&log).map_err(|e| Error::io(format!("create {}", log.display()), e))?;
        let f2 = f
            .try_clone()
            .map_err(|e| Error::io(format!("dup {}", log.display()), e))?;
        cmd.stdin(Stdio::null()).stdout(f).stderr(f2);
        let guard = host.netns.spawn(cmd)?;
        self.procs.push((label.to_string(), guard));
        self.logs.push(log);
        Ok(())
    }

    pub(crate) fn procs_reverse(&mut self) {
        self.procs.reverse();
    }

    /// Fails with the log tail if a main process has already exited.
    pub fn check_alive(&mut self) -> Result<()> {
        let mut dead = Vec::new();
        for (label, g) in &mut self.procs {
            if let Ok(Some(status)) = g.try_wait() {
                dead.push(format!("{label} exited ({status})"));
            }
        }
        if dead.is_empty() {
            Ok(())
        } else {
            Err(Error::Command {
                cmd: format!("{} on {}", self.kind, self.host),
                status: dead.join(", "),
                stderr: self.log_tail(25),
            })
        }
    }

    /// Whether every main process is still running.
    pub fn is_running(&mut self) -> bool {
        !self.procs.is_empty() && self.procs.iter_mut().all(|(_, g)| g.is_running())
    }

    /// Sends a signal. SIGTERM, SIGINT and SIGHUP go to the main processes (keepalived's
    /// parent, which forwards them; FRR's vrrpd only, so that it can send its priority-0
    /// advert, zebra is stopped by [`RunningRouter::stop`]). Every other signal (SIGKILL,
    /// SIGSTOP, SIGCONT, ...) goes to every process in the host's namespace, so that
    /// keepalived's VRRP child is hit too.
    pub fn signal(&self, sig: Signal) -> Result<()> {
        match sig {
            Signal::SIGTERM | Signal::SIGINT | Signal::SIGHUP => {
                let target = match self.kind {
                    RouterKind::Frr => self.procs.iter().take(1).collect::<Vec<_>>(),
                    _ => self.procs.iter().collect(),
                };
                for (_, g) in target {
                    g.signal(sig)?;
                }
                Ok(())
            }
            _ => {
                for pid in crate::netns::pids_in(&self.netns)? {
                    let _ = kill(Pid::from_raw(pid as i32), sig);
                }
                Ok(())
            }
        }
    }

    /// Waits up to `timeout` for the processes a terminating `sig` sent with
    /// [`RunningRouter::signal`] reaches to exit (for FRR and SIGTERM: vrrpd; otherwise every
    /// process in the host namespace). True if they did.
    pub fn wait_exit(&mut self, sig: Signal, timeout: Duration) -> bool {
        let netns = self.netns.clone();
        let only_first = self.kind == RouterKind::Frr
            && matches!(sig, Signal::SIGTERM | Signal::SIGINT | Signal::SIGHUP);
        let procs = &mut self.procs;
        wait_until(timeout, || {
            if only_first {
                return procs.first_mut().is_none_or(|(_, g)| !g.is_running());
            }
            procs.iter_mut().all(|(_, g)| !g.is_running())
                && crate::netns::pids_in(&netns)
                    .map(|p| p.is_empty())
                    .unwrap_or(true)
        })
    }

    /// Stops gracefully: SIGTERM to the main processes in order, each given `grace` to exit,
    /// then SIGKILL for whatever is left in the namespace.
    pub fn stop(&mut self, grace: Duration) -> Result<()> {
        for (_, g) in &mut self.procs {
            let _ = g.terminate(grace);
        }
        self.kill_rest();
        Ok(())
    }

    fn kill_rest(&mut self) {
        for (_, g) in &mut self.procs {
            let _ = g.kill();
        }
        let _ = crate::netns::kill_all_in(&self.netns);
    }

    /// The last `lines` lines of each log file, labelled.
    pub fn log_tail(&self, lines: usize) -> String {
        let mut out = String::new();
        for log in &self.logs {
            let text = std::fs::read_to_string(log).unwrap_or_default();
            let all: Vec<&str> = text.lines().collect();
            let from = all.len().saturating_sub(lines);
            out += &format!("--- {} ({} lines)\n", log.display(), all.len());
            for l in &all[from..] {
                out += l;
                out.push('\n');
            }
        }
        out
    }

    /// The full text of the log files, concatenated.
    pub fn logs(&self) -> String {
        self.log_tail(usize::MAX)
    }
}

impl Drop for RunningRouter {
    fn drop(&mut self) {
        self.kill_rest();
        for link in &self.links {
            let _ = crate::util::ip(&["-n", &self.netns, "link", "del", link]);
        }
    }
}

/// A temporary directory removed (recursively) on drop, unless `VRRP_NETNS_KEEP=1` is set,
/// in which case its path is printed instead.
#[derive(Debug)]
pub struct WorkDir {
    path: PathBuf,
}

impl WorkDir {
    /// Creates `$TMPDIR/vrrp-netns-<id>-<label>` (mode 0755, so that FRR's unprivileged
    /// user can reach its subdirectories).
    pub fn new(label: &str) -> Result<WorkDir> {
        crate::netns::validate_name("work dir label", label)?;
        let path = std::env::temp_dir().join(format!("vrrp-netns-{}-{label}", new_id()));
        std::fs::create_dir_all(&path)
            .map_err(|e| Error::io(format!("create {}", path.display()), e))?;
        set_mode(&path, 0o755)?;
        Ok(WorkDir { path })
    }

    /// The directory.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

pub(crate) fn set_mode(path: &Path, mode: u32) -> Result<()> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))
        .map_err(|e| Error::io(format!("chmod {mode:o} {}", path.display()), e))
}

impl Drop for WorkDir {
    fn drop(&mut self) {
        if std::env::var("VRRP_NETNS_KEEP").as_deref() == Ok("1") {
            eprintln!("vrrp-netns: keeping {}", self.path.display());
            return;
        }
        let _ = std::fs::remove_dir_all(&self.path);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn down_interval_matches_the_checklist() {
        assert_eq!(down_interval(100, 100), Duration::from_micros(3_609_375));
        assert_eq!(down_interval(254, 100).as_millis(), 3_007);
    }

    #[test]
    fn spec_validation() {
        let v4 = VirtualRouterSpec::new(1, vec!["192.0.2.100".parse().unwrap()]);
        assert!(v4.validate().is_ok());
        let v6 = VirtualRouterSpec::new(1, vec!["2001:db8::1".parse().unwrap()]);
        assert!(v6.validate().is_err());
        let v6 = VirtualRouterSpec::new(
            1,
            vec!["fe80::100".parse().unwrap(), "2001:db8::1".parse().unwrap()],
        );
        assert!(v6.validate().is_ok());
        assert!(v4.clone().interval_cs(0).validate().is_err());
    }

    #[test]
    fn auth_pass_is_vrrpv2_only_and_at_most_8_characters() {
        let v2 = VirtualRouterSpec::new(1, vec!["192.0.2.100".parse().unwrap()]).version(2);
        assert!(v2.clone().auth_pass("s3cret").validate().is_ok());
        assert!(v2.clone().auth_pass("12345678").validate().is_ok());
        assert!(v2.clone().auth_pass("123456789").validate().is_err());
        assert!(v2.clone().auth_pass("").validate().is_err());
        assert!(v2.clone().auth_pass("a b").validate().is_err());
        assert!(v2.version(3).auth_pass("s3cret").validate().is_err());
    }
}
