//! `vrrp-netns demo`: three routers and a client on one lab segment. Watch them elect an
//! Active, kill the Active with SIGKILL, watch the failover (measured on the wire, next to the
//! RFC 9568 Active_Down_Interval) and the client's ARP entry move, bring the router back and
//! watch it preempt, then tear everything down.
//!
//! Everything it reads comes from the lab: the state and the reasons from each daemon's log,
//! the adverts and gratuitous ARPs / unsolicited NAs from a capture on the segment (decoded
//! into a [`Timeline`]), the VIP holders from `ip addr` in each router and the client's
//! neighbour entry from `ip neigh` in the client.
//!
//! On a terminal the table refreshes in place (plain ANSI cursor movement); otherwise (a pipe,
//! a file, a test) the events are printed line by line with a table after every phase.
//! SIGINT and SIGTERM stop the demo and tear the lab down.
//!
//! Prerequisites: root, iproute2 and ping (iputils-ping), checked first. The routers run with
//! Accept_Mode on, so vrrpd needs no nftables (with it off, vrrpd installs an nft filter).

use std::io::{IsTerminal, Write};
use std::net::IpAddr;
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use nix::sys::signal::{SigSet, Signal};
use vrrp_netns::router::down_interval;
use vrrp_netns::timeline::ms;
use vrrp_netns::{
    check_root, format_mac, vrrpd_binary, vrrpd_binary_path, Error, Lab, RouterKind, RunningRouter,
    Timeline, VirtualRouterSpec, WorkDir,
};

/// Options of `vrrp-netns demo`.
#[derive(Debug, Clone, clap::Args)]
pub struct DemoArgs {
    /// Run the middle router (priority 100) as Debian's keepalived instead of vrrpd.
    #[arg(long)]
    pub keepalived: bool,
    /// Use an IPv6 virtual address (fe80::100 and 2001:db8:1::100) instead of 192.0.2.100.
    #[arg(long)]
    pub ipv6: bool,
    /// Advertisement interval in centiseconds (default 100, i.e. 1 s; 20 with --quick).
    #[arg(long, value_name = "CS", value_parser = clap::value_parser!(u16).range(1..=4095))]
    pub interval_cs: Option<u16>,
    /// Short interval (20 cs) and no pauses for reading: the whole demo in a few seconds.
    #[arg(long)]
    pub quick: bool,
}

/// The virtual router id used by the demo.
const VRID: u8 = 51;
/// Router names (lab hosts), priorities, and the client's name.
const ROUTERS: [(&str, u8); 3] = [("r1", 150), ("r2", 100), ("r3", 50)];
const CLIENT: &str = "client";

/// Why the demo stopped early.
enum Stop {
    /// SIGINT or SIGTERM.
    Interrupted,
    /// A harness error (setup, a command that failed).
    Failed(String),
}

impl From<Error> for Stop {
    fn from(e: Error) -> Stop {
        Stop::Failed(e.to_string())
    }
}

/// Runs the demo; the exit status is 0 when every phase went as expected, 1 when one did
/// not (or the lab could not be set up), 130 when interrupted.
pub fn run(args: &DemoArgs) -> ExitCode {
    if let Err(e) = check_root() {
        eprintln!("vrrp-netns demo: {e}");
        eprintln!(
            "The demo builds network namespaces, so it needs root. Run it with sudo, e.g.\n    \
             cargo build -p vrrpd -p vrrp-netns && sudo target/debug/vrrp-netns demo"
        );
        return ExitCode::from(2);
    }
    if let Err(missing) = check_prerequisites() {
        eprintln!("vrrp-netns demo: {missing}");
        return ExitCode::from(2);
    }
    locate_vrrpd();
    if let Err(e) = vrrpd_binary() {
        eprintln!("vrrp-netns demo: {e}");
        eprintln!(
            "The demo runs the vrrpd binary and does not build it. Build it first:\n    \
             cargo build -p vrrpd\n\
             (with the same CARGO_TARGET_DIR; under sudo, which drops CARGO_TARGET_DIR, set \
             VRRPD_BIN=/path/to/vrrpd instead)"
        );
        return ExitCode::from(2);
    }
    let interval_cs = args
        .interval_cs
        .unwrap_or(if args.quick { 20 } else { 100 });
    let vips: Vec<IpAddr> = if args.ipv6 {
        vec![
            "fe80::100".parse().expect("literal"),
            "2001:db8:1::100".parse().expect("literal"),
        ]
    } else {
        vec!["192.0.2.100".parse().expect("literal")]
    };
    let mut spec = VirtualRouterSpec::new(VRID, vips).interval_cs(interval_cs);
    // Accept_Mode on: the Active answers for its VIP and no nft filter is needed.
    spec.accept = true;
    let kinds = [
        RouterKind::Vrrpd,
        if args.keepalived {
            RouterKind::Keepalived
        } else {
            RouterKind::Vrrpd
        },
        RouterKind::Vrrpd,
    ];
    for (i, kind) in kinds.iter().enumerate() {
        if let Err(e) = kind.check(&spec.clone().priority(ROUTERS[i].1)) {
            eprintln!("vrrp-netns demo: {e}");
            return ExitCode::from(2);
        }
    }
    let stop = watch_signals();
    let mut out = Screen::new(std::io::stdout().is_terminal());
    let res = Demo::run(&spec, &kinds, args.quick, &stop, &mut out);
    out.finish();
    match res {
        Ok(summary) => {
            out.line("");
            for l in &summary.lines {
                out.line(l);
            }
            if summary.ok {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            }
        }
        Err((Stop::Interrupted, cleanup)) => {
            out.line("");
            out.line("interrupted: the lab has been torn down");
            out.line(&cleanup);
            ExitCode::from(130)
        }
        Err((Stop::Failed(why), cleanup)) => {
            out.line("");
            out.line(&format!("demo FAILED: {why}"));
            out.line(&cleanup);
            ExitCode::FAILURE
        }
    }
}

/// The tools the demo runs besides `ip` (checked with the root check): `ping`, for the
/// client's neighbour entry. The error says what to install.
fn check_prerequisites() -> Result<(), String> {
    let ping = std::process::Command::new("ping")
        .arg("-V")
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status();
    match ping {
        Ok(_) => Ok(()),
        Err(e) => Err(format!(
            "the demo needs ping ({e}): apt-get install -y iputils-ping"
        )),
    }
}

/// When the harness does not find vrrpd (`VRRPD_BIN`, `CARGO_TARGET_DIR`, `target/debug`)
/// but there is one next to this binary (both built into the same target directory, and
/// `sudo` dropped `CARGO_TARGET_DIR`), points `VRRPD_BIN` at it.
fn locate_vrrpd() {
    if vrrpd_binary_path().is_file() || std::env::var_os("VRRPD_BIN").is_some() {
        return;
    }
    let sibling = std::env::current_exe()
        .ok()
        .and_then(|p| p.parent().map(|d| d.join("vrrpd")));
    if let Some(p) = sibling.filter(|p| p.is_file()) {
        // Still single-threaded here: nothing else reads the environment concurrently.
        std::env::set_var("VRRPD_BIN", p);
    }
}

/// Blocks SIGINT and SIGTERM in this thread (and so in every thread spawned later; child
/// processes get a clean mask from std) and waits for them on a thread of their own, which
/// raises the returned flag.
fn watch_signals() -> Arc<AtomicBool> {
    let flag = Arc::new(AtomicBool::new(false));
    let mut set = SigSet::empty();
    set.add(Signal::SIGINT);
    set.add(Signal::SIGTERM);
    if set.thread_block().is_err() {
        return flag;
    }
    let f = flag.clone();
    let _ = std::thread::Builder::new()
        .name("demo-signals".into())
        .spawn(move || loop {
            if set.wait().is_ok() {
                f.store(true, Ordering::SeqCst);
            }
        });
    flag
}

/// The terminal (or pipe): event lines scroll, the table below them is redrawn in place on
/// a terminal, printed after each phase otherwise.
struct Screen {
    tty: bool,
    /// Lines of the live table currently on screen (terminal only).
    drawn: usize,
    table: Vec<String>,
    progress: String,
}

/// Table lines are cut to this width so that none wraps on an 80-column terminal (a wrapped
/// line would throw off the in-place redraw).
const WIDTH: usize = 79;

impl Screen {
    fn new(tty: bool) -> Screen {
        Screen {
            tty,
            drawn: 0,
            table: Vec::new(),
            progress: String::new(),
        }
    }

    fn write(&self, s: &str) {
        let mut o = std::io::stdout().lock();
        let _ = o.write_all(s.as_bytes());
        let _ = o.flush();
    }

    fn erase(&mut self) {
        if self.tty && self.drawn > 0 {
            // Up to the first table line, then clear to the end of the screen.
            self.write(&format!("\x1b[{}A\r\x1b[J", self.drawn));
            self.drawn = 0;
        }
    }

    fn draw(&mut self) {
        if self.tty {
            let mut lines: Vec<&str> = self.table.iter().map(String::as_str).collect();
            if !self.progress.is_empty() {
                lines.push(&self.progress);
            }
            let text: String = lines
                .iter()
                .map(|l| format!("{}\n", l.chars().take(WIDTH).collect::<String>()))
                .collect();
            self.write(&text);
            self.drawn = lines.len();
        }
    }

    /// A line that stays (an event, a header).
    fn line(&mut self, l: &str) {
        self.erase();
        self.write(&format!("{l}\n"));
        self.draw();
    }

    /// Replaces the live table and its progress line (drawn on a terminal only).
    fn table(&mut self, lines: Vec<String>, progress: String) {
        self.erase();
        self.table = lines;
        self.progress = progress;
        self.draw();
    }

    /// Prints the current table as plain lines (the non-terminal view of a phase's end).
    fn snapshot(&mut self) {
        if !self.tty {
            let text: String = self.table.iter().map(|l| format!("{l}\n")).collect();
            self.write(&text);
        }
    }

    /// Leaves the last table on screen, without its progress line, and stops redrawing.
    fn finish(&mut self) {
        self.progress.clear();
        let t = std::mem::take(&mut self.table);
        self.table(t, String::new());
        self.drawn = 0;
        self.table.clear();
    }
}

/// One router of the demo.
struct Slot {
    name: &'static str,
    kind: RouterKind,
    spec: VirtualRouterSpec,
    mac: [u8; 6],
    running: Option<RunningRouter>,
}

/// What one router looks like at one moment.
#[derive(Debug, Clone, PartialEq, Eq)]
struct RouterSnap {
    running: bool,
    /// From the log: Active, Backup, Fault, ... ("-" before the first state line).
    state: String,
    /// The reason logged with the last state change, if any.
    reason: Option<String>,
    /// The last advert on the wire: (time, priority).
    last_advert: Option<(Duration, u8)>,
    /// Sent an advert within two intervals.
    advertising: bool,
    holds_vip: bool,
}

struct Snap {
    t: Duration,
    routers: Vec<RouterSnap>,
    client_mac: Option<[u8; 6]>,
    tl: Timeline,
}

/// The demo's outcome.
struct Summary {
    ok: bool,
    lines: Vec<String>,
}

struct Demo<'a> {
    lab: &'a Lab,
    cap: &'a vrrp_netns::Capture,
    dir: std::path::PathBuf,
    slots: Vec<Slot>,
    vip: IpAddr,
    interval: Duration,
    origin: SystemTime,
    stop: &'a AtomicBool,
    out: &'a mut Screen,
    prev: Option<(Vec<RouterSnap>, Option<[u8; 6]>)>,
    quick: bool,
}

type Phase<T> = std::result::Result<T, Stop>;

impl Demo<'_> {
    /// Builds the lab, runs the phases, tears down; returns the summary, or why it stopped
    /// together with the cleanup line.
    fn run(
        spec: &VirtualRouterSpec,
        kinds: &[RouterKind; 3],
        quick: bool,
        stop: &AtomicBool,
        out: &mut Screen,
    ) -> std::result::Result<Summary, (Stop, String)> {
        let vip = spec
            .vips
            .iter()
            .copied()
            .find(|v| match v {
                IpAddr::V6(a) => !vrrp_core::packet::is_link_local(*a),
                IpAddr::V4(_) => true,
            })
            .expect("the demo's VIP list has a global address");
        let vips: Vec<String> = spec.vips.iter().map(ToString::to_string).collect();
        out.line(&format!(
            "vrrp-netns demo: 3 routers and a client on one lab segment; VRID {VRID}, VIP {}, \
             advert interval {:.2} s",
            vips.join(" + "),
            f64::from(spec.interval_cs) / 100.0
        ));
        let lab = ROUTERS
            .iter()
            .fold(Lab::builder(), |b, (n, _)| b.router(n))
            .client(CLIENT)
            .build()
            .map_err(|e| (Stop::from(e), String::new()))?;
        let lab_id = lab.id().to_string();
        out.line(&format!(
            "lab {lab_id}: namespaces vn{lab_id}-*, nothing outside them is touched; all of it \
             is removed at the end (also on Ctrl-C)"
        ));
        let work = WorkDir::new("demo").map_err(|e| (Stop::from(e), String::new()))?;
        let res = (|| -> Phase<Summary> {
            let cap = lab.default_segment().capture()?;
            let slots = ROUTERS
                .iter()
                .zip(kinds)
                .map(|(&(name, prio), &kind)| Slot {
                    name,
                    kind,
                    spec: spec.clone().priority(prio),
                    mac: lab.host(name).mac,
                    running: None,
                })
                .collect();
            let mut d = Demo {
                lab: &lab,
                cap: &cap,
                dir: work.path().to_path_buf(),
                slots,
                vip,
                interval: Duration::from_millis(u64::from(spec.interval_cs) * 10),
                origin: SystemTime::now(),
                stop,
                out,
                prev: None,
                quick,
            };
            let r = d.phases();
            // Daemons first (SIGKILL, as on drop), so that the summary can say so.
            for s in &mut d.slots {
                s.running = None;
            }
            r
        })();
        drop(work);
        drop(lab);
        let cleanup = cleanup_report(&lab_id);
        match res {
            Ok(mut s) => {
                s.lines.push(cleanup.clone());
                if cleanup.contains("LEFT BEHIND") {
                    s.ok = false;
                }
                s.lines
                    .push(if s.ok { "result: OK" } else { "result: FAILED" }.into());
                Ok(s)
            }
            Err(stop) => Err((stop, cleanup)),
        }
    }

    fn now(&self) -> Duration {
        SystemTime::now()
            .duration_since(self.origin)
            .unwrap_or_default()
    }

    fn event(&mut self, t: Duration, text: &str) {
        self.out.line(&format!("[{:>8}] {text}", ms(t)));
    }

    fn owner_of(&self, mac: [u8; 6]) -> String {
        match self.slots.iter().find(|s| s.mac == mac) {
            Some(s) => s.name.to_string(),
            None if mac[..5] == [0, 0, 0x5e, 0, 1] || mac[..5] == [0, 0, 0x5e, 0, 2] => {
                "a virtual MAC".into()
            }
            None => "unknown".into(),
        }
    }

    fn neigh_word(&self) -> &'static str {
        if self.vip.is_ipv6() {
            "neighbour entry"
        } else {
            "ARP entry"
        }
    }

    fn announce_word(&self) -> &'static str {
        if self.vip.is_ipv6() {
            "unsolicited NA"
        } else {
            "gratuitous ARP"
        }
    }

    fn start(&mut self, i: usize) -> Phase<()> {
        let slot = &mut self.slots[i];
        slot.running = None; // kills whatever is left of an earlier run
        let r = slot
            .kind
            .start(self.lab, slot.name, &slot.spec, &self.dir)?;
        slot.running = Some(r);
        Ok(())
    }

    /// Reads the lab: VIP holders and the client's neighbour entry first, then the logs,
    /// then the capture, so that the cause of a change (a state line, a gratuitous ARP) is
    /// in the same snapshot as the change.
    fn snapshot(&mut self) -> Phase<Snap> {
        let mut holds = Vec::new();
        for s in &self.slots {
            holds.push(self.lab.host(s.name).has_address(self.vip)?);
        }
        let client_mac = self.lab.host(CLIENT).neighbor(self.vip)?;
        let mut states = Vec::new();
        for s in &mut self.slots {
            let st = match &mut s.running {
                Some(r) => {
                    if r.is_running() {
                        let (state, reason) = last_state(&r.logs());
                        (true, state, reason)
                    } else {
                        (false, "killed".to_string(), None)
                    }
                }
                None => (false, "stopped".to_string(), None),
            };
            states.push(st);
        }
        let tl = Timeline::build(
            &self.cap.frames(),
            self.origin,
            SystemTime::now(),
            &Default::default(),
        );
        let now = tl.end;
        let recent = self.interval * 2 + Duration::from_millis(150);
        let routers = self
            .slots
            .iter()
            .zip(holds.into_iter().zip(states))
            .map(|(s, (holds_vip, (running, state, reason)))| {
                let last_advert = tl.adverts_from(s.name).last().map(|a| (a.t, a.priority));
                RouterSnap {
                    running,
                    state,
                    reason,
                    last_advert,
                    advertising: last_advert
                        .is_some_and(|(t, p)| p > 0 && now.saturating_sub(t) <= recent),
                    holds_vip,
                }
            })
            .collect();
        Ok(Snap {
            t: now,
            routers,
            client_mac,
            tl,
        })
    }

    /// Prints what changed since the last snapshot.
    fn events(&mut self, snap: &Snap) {
        let Some((prev, prev_mac)) = self.prev.take() else {
            self.prev = Some((snap.routers.clone(), snap.client_mac));
            return;
        };
        for (i, (old, new)) in prev.iter().zip(&snap.routers).enumerate() {
            let name = self.slots[i].name;
            // Everything that changed for one router in one refresh goes on one line.
            let mut parts = Vec::new();
            if old.state != new.state {
                let why = new
                    .reason
                    .as_deref()
                    .map(|r| format!(" ({r})"))
                    .unwrap_or_default();
                parts.push(format!("{} -> {}{why}", old.state, new.state));
            }
            if !old.advertising && new.advertising {
                let (at, p) = new.last_advert.unwrap_or_default();
                let first = snap
                    .tl
                    .adverts_from(name)
                    .filter(|a| a.t + self.interval * 3 >= at)
                    .map(|a| a.t)
                    .next()
                    .unwrap_or(at);
                parts.push(format!("advertising with priority {p} since {}", ms(first)));
            }
            if old.advertising && !new.advertising {
                let at = new.last_advert.map(|a| ms(a.0)).unwrap_or_default();
                parts.push(format!("silent since its last advert at {at}"));
            }
            if old.holds_vip != new.holds_vip {
                parts.push(format!(
                    "{} {} eth0",
                    self.vip,
                    if new.holds_vip {
                        "added to"
                    } else {
                        "removed from"
                    }
                ));
            }
            if !parts.is_empty() {
                self.event(snap.t, &format!("{name}: {}", parts.join("; ")));
            }
        }
        if prev_mac != snap.client_mac {
            let text = match (prev_mac, snap.client_mac) {
                (_, Some(m)) => {
                    let owner = self.owner_of(m);
                    // An existing entry is updated by the new Active's announcement (a new
                    // one is only made by resolving: the client's ping).
                    let cause = match prev_mac {
                        None => " (resolved by the ping)".to_string(),
                        Some(_) => snap
                            .tl
                            .announcements
                            .iter()
                            .rev()
                            .find(|a| a.router == owner && a.ip == self.vip && a.mac == m)
                            .map(|a| {
                                format!(" after {owner}'s {} at {}", self.announce_word(), ms(a.t))
                            })
                            .unwrap_or_default(),
                    };
                    format!(
                        "{CLIENT}'s {} for {}: {} = {owner}{cause}",
                        self.neigh_word(),
                        self.vip,
                        format_mac(&m)
                    )
                }
                (_, None) => format!("{CLIENT} has no {} for {}", self.neigh_word(), self.vip),
            };
            self.event(snap.t, &text);
        }
        self.prev = Some((snap.routers.clone(), snap.client_mac));
    }

    fn table(&self, snap: &Snap) -> Vec<String> {
        let mut v = vec![format!(
            "  {:<7} {:<10} {:>4}  {:<8} {:<25} {}",
            "router", "daemon", "prio", "state", "last advert on the wire", "holds VIP"
        )];
        for (s, r) in self.slots.iter().zip(&snap.routers) {
            let wire = match r.last_advert {
                Some((t, p)) => format!("prio {p}, {:.1} s ago", (snap.t - t).as_secs_f64()),
                None => "-".into(),
            };
            let vip = match (r.holds_vip, r.running) {
                (true, true) => "yes".to_string(),
                (true, false) => "yes (left behind)".to_string(),
                (false, _) => "-".into(),
            };
            v.push(format!(
                "  {:<7} {:<10} {:>4}  {:<8} {:<25} {}",
                s.name,
                s.kind.name(),
                s.spec.priority,
                r.state,
                wire,
                vip
            ));
        }
        let client = match snap.client_mac {
            Some(m) => format!("{} ({})", format_mac(&m), self.owner_of(m)),
            None => "none".into(),
        };
        v.push(format!(
            "  {CLIENT}: {} for {} -> {client}",
            self.neigh_word(),
            self.vip
        ));
        v
    }

    /// Refreshes until `done` holds (true), the timeout passes (false) or a signal arrives.
    fn wait(
        &mut self,
        timeout: Duration,
        progress: &dyn Fn(Duration) -> String,
        done: &mut dyn FnMut(&Self, &Snap) -> bool,
    ) -> Phase<(bool, Snap)> {
        let t0 = Instant::now();
        let tick = (self.interval / 2).clamp(Duration::from_millis(50), Duration::from_millis(200));
        loop {
            if self.stop.load(Ordering::SeqCst) {
                return Err(Stop::Interrupted);
            }
            let snap = self.snapshot()?;
            self.events(&snap);
            let p = format!("  {}", progress(t0.elapsed()));
            let table = self.table(&snap);
            self.out.table(table, p);
            if done(self, &snap) {
                return Ok((true, snap));
            }
            if t0.elapsed() >= timeout {
                return Ok((false, snap));
            }
            std::thread::sleep(tick);
        }
    }

    /// A pause so that a human can read the table (short with --quick).
    fn hold(&mut self, what: &str, d: Duration) -> Phase<()> {
        let d = if self.quick { self.interval * 2 } else { d };
        let what = what.to_string();
        self.wait(
            d,
            &|e| format!("{what} in {:.1} s", d.saturating_sub(e).as_secs_f64()),
            &mut |_, _| false,
        )?;
        Ok(())
    }

    fn timeout_for(&self, prio: u8) -> Duration {
        down_interval(prio, self.spec0().interval_cs) + self.interval * 4 + Duration::from_secs(3)
    }

    fn spec0(&self) -> &VirtualRouterSpec {
        &self.slots[0].spec
    }

    fn fail_lines(&self, lines: &mut Vec<String>, what: &str) {
        lines.push(format!("  FAILED: {what}"));
        for s in &self.slots {
            if let Some(r) = &s.running {
                lines.push(format!("  last log lines of {} ({}):", s.name, s.kind));
                for l in r.log_tail(8).lines().filter(|l| !l.starts_with("---")) {
                    lines.push(format!("    {l}"));
                }
            }
        }
    }

    fn phases(&mut self) -> Phase<Summary> {
        let mut lines = vec!["summary:".to_string()];
        let ivl = self.spec0().interval_cs;
        let (first, second) = (0usize, 1usize);
        let (n1, n2) = (self.slots[first].name, self.slots[second].name);
        let (p1, p2) = (
            self.slots[first].spec.priority,
            self.slots[second].spec.priority,
        );
        let adi1 = down_interval(p1, ivl);
        let adi2 = down_interval(p2, ivl);
        let secs = |d: Duration| format!("{:.2} s", d.as_secs_f64());

        // 1. Election.
        self.out.line("");
        self.out.line(&format!(
            "1. election: all start as Backup; the highest priority, {n1} ({p1}), is the first \
             to time out ({} Active_Down_Interval = 3 x interval + skew)",
            secs(adi1)
        ));
        let t_start = self.now();
        for i in 0..self.slots.len() {
            self.start(i)?;
        }
        let started: Vec<String> = self
            .slots
            .iter()
            .map(|s| format!("{} ({}, priority {})", s.name, s.kind, s.spec.priority))
            .collect();
        self.event(t_start, &format!("started {}", started.join(", ")));
        let (ok, snap) = self.wait(
            self.timeout_for(p1),
            &|e| {
                format!(
                    "waiting for the election ({} Active_Down_Interval) ... {:.1} s",
                    secs(adi1),
                    e.as_secs_f64()
                )
            },
            &mut |_, s| {
                let r = &s.routers;
                r[first].state == "Active"
                    && r[first].advertising
                    && r[first].holds_vip
                    && r.iter().enumerate().all(|(i, x)| {
                        i == first || (!x.advertising && !x.holds_vip && x.state == "Backup")
                    })
            },
        )?;
        if !ok {
            self.fail_lines(&mut lines, &format!("{n1} did not become the only Active"));
            self.out.snapshot();
            return Ok(Summary { ok: false, lines });
        }
        let elected = snap
            .tl
            .first_advert_after(Duration::ZERO, Some(n1))
            .map(|a| a.t)
            .unwrap_or_default();
        lines.push(format!(
            "  election: {n1} (priority {p1}) Active {} after the start \
             (RFC Active_Down_Interval for priority {p1}: {})",
            secs(elected.saturating_sub(t_start)),
            secs(adi1)
        ));
        // The client learns the VIP's MAC (one ping: ARP / Neighbor Solicitation).
        self.client_ping();
        let mac1 = self.slots[first].mac;
        let resolving = format!("waiting for {CLIENT} to resolve {}", self.vip);
        let (ok, _) = self.wait(
            Duration::from_secs(3),
            &|_| resolving.clone(),
            &mut |_, s| s.client_mac == Some(mac1),
        )?;
        if !ok {
            self.fail_lines(
                &mut lines,
                &format!("{CLIENT} did not resolve {} to {n1}", self.vip),
            );
            return Ok(Summary { ok: false, lines });
        }
        self.out.snapshot();
        self.hold(&format!("next: SIGKILL to {n1}"), Duration::from_secs(3))?;

        // 2. Failover.
        self.out.line("");
        self.out.line(&format!(
            "2. failover: SIGKILL leaves {n1} no chance to send priority 0; {n2} ({p2}) takes \
             over after {} of silence (its Active_Down_Interval)",
            secs(adi2)
        ));
        let t_kill = self.now();
        if let Some(r) = &mut self.slots[first].running {
            r.signal(Signal::SIGKILL)?;
            r.wait_exit(Signal::SIGKILL, Duration::from_secs(3));
        }
        self.event(
            t_kill,
            &format!(
                "SIGKILL to every process of {n1} ({}); its eth0 keeps {} (nothing removes it, \
                 vrrpd does at its next start)",
                self.slots[first].kind, self.vip
            ),
        );
        let mut new_active: Option<usize> = None;
        let (ok, snap) = self.wait(
            self.timeout_for(p2),
            &|e| {
                format!(
                    "waiting for {n2} to notice ({} Active_Down_Interval) ... {:.1} s",
                    secs(adi2),
                    e.as_secs_f64()
                )
            },
            &mut |d, s| {
                let Some(i) = (0..s.routers.len())
                    .find(|&i| i != first && s.routers[i].advertising && s.routers[i].holds_vip)
                else {
                    return false;
                };
                new_active = Some(i);
                s.client_mac == Some(d.slots[i].mac)
            },
        )?;
        let Some(na) = new_active.filter(|_| ok) else {
            self.fail_lines(
                &mut lines,
                &format!(
                    "no Backup took over from {n1} (with {CLIENT}'s {} following)",
                    self.neigh_word()
                ),
            );
            return Ok(Summary { ok: false, lines });
        };
        let nname = self.slots[na].name;
        let nprio = self.slots[na].spec.priority;
        let last_old = snap
            .tl
            .adverts_from(n1)
            .filter(|a| a.t <= t_kill)
            .last()
            .map(|a| a.t);
        let first_new = last_old.and_then(|t| snap.tl.first_advert_after(t, Some(nname)));
        let announce = first_new.and_then(|f| {
            snap.tl
                .announcements
                .iter()
                .find(|a| a.t >= f.t && a.router == nname && a.ip == self.vip)
                .map(|a| a.t)
        });
        match (last_old, first_new) {
            (Some(lo), Some(fnw)) => {
                let measured = fnw.t.saturating_sub(lo);
                lines.push(format!(
                    "  failover: {n1} killed, {nname} took over in {} ({n1}'s last advert at {} \
                     -> {nname}'s first at {}); RFC Active_Down_Interval for priority {nprio}: {}",
                    secs(measured),
                    ms(lo),
                    ms(fnw.t),
                    secs(down_interval(nprio, ivl))
                ));
            }
            _ => lines.push(format!(
                "  failover: {n1} killed, {nname} took over (no advert timing in the capture)"
            )),
        }
        lines.push(format!(
            "  client: {} for {} moved from {n1} ({}) to {nname} ({}){}",
            self.neigh_word(),
            self.vip,
            format_mac(&mac1),
            format_mac(&self.slots[na].mac),
            announce
                .map(|t| format!(" after its {} at {}", self.announce_word(), ms(t)))
                .unwrap_or_default()
        ));
        let mut ok_all = nname == n2;
        if !ok_all {
            lines.push(format!(
                "  FAILED: expected {n2} (the highest remaining priority) to take over, not {nname}"
            ));
        }
        self.out.snapshot();
        self.hold(&format!("next: restart of {n1}"), Duration::from_secs(3))?;

        // 3. Preemption.
        self.out.line("");
        self.out.line(&format!(
            "3. preemption: {n1} restarts as Backup, ignores {nname}'s lower-priority adverts \
             (preempt is on) and takes over after its {} Active_Down_Interval",
            secs(adi1)
        ));
        let t_restart = self.now();
        self.start(first)?;
        self.event(
            t_restart,
            &format!("{n1} ({}) started again", self.slots[first].kind),
        );
        let (ok, snap) = self.wait(
            self.timeout_for(p1),
            &|e| {
                format!(
                    "waiting for {n1} to preempt ({} Active_Down_Interval) ... {:.1} s",
                    secs(adi1),
                    e.as_secs_f64()
                )
            },
            &mut |_, s| {
                let r = &s.routers;
                r[first].state == "Active"
                    && r[first].advertising
                    && r[first].holds_vip
                    && !r[na].advertising
                    && !r[na].holds_vip
                    && s.client_mac == Some(mac1)
            },
        )?;
        if !ok {
            self.fail_lines(
                &mut lines,
                &format!("{n1} did not preempt {nname} (with {CLIENT} following)"),
            );
            return Ok(Summary { ok: false, lines });
        }
        let reason = snap.routers[first].reason.clone().unwrap_or_default();
        let back = snap
            .tl
            .first_advert_after(t_restart, Some(n1))
            .map(|a| a.t.saturating_sub(t_restart));
        ok_all &= reason.contains("preempted");
        lines.push(format!(
            "  preempt: {n1} came back and preempted {nname} {} after its restart; its log: \"{}\"",
            back.map(secs).unwrap_or_else(|| "?".into()),
            if reason.is_empty() { "-" } else { &reason }
        ));
        lines.push(format!(
            "  client: {} for {} back on {n1} ({})",
            self.neigh_word(),
            self.vip,
            format_mac(&mac1)
        ));
        let never: Vec<&str> = self
            .slots
            .iter()
            .filter(|s| s.name != n1 && s.name != nname)
            .filter(|s| snap.tl.adverts_from(s.name).next().is_none())
            .map(|s| s.name)
            .collect();
        if !never.is_empty() {
            lines.push(format!(
                "  {} never advertised: a Backup stays silent",
                never.join(", ")
            ));
        }
        // Adverts come from the router's own address (RFC 9568 5.1.1.1: the interface's primary
        // IPv4 address; 5.1.2.1: its IPv6 link-local), not from a virtual address.
        for sl in &self.slots {
            let h = self.lab.host(sl.name);
            let own: IpAddr = if self.vip.is_ipv6() {
                h.link_local.into()
            } else {
                h.ipv4.into()
            };
            let mut other: Vec<String> = snap
                .tl
                .adverts_from(sl.name)
                .filter(|a| a.src != own)
                .map(|a| a.src.to_string())
                .collect();
            other.dedup();
            if !other.is_empty() {
                lines.push(format!(
                    "  warning: {} sent adverts from {}, not from its own address {own}",
                    sl.name,
                    other.join(", ")
                ));
            }
        }
        self.vrrpctl_lines(first, &mut lines);
        self.out.snapshot();
        self.hold("next: cleanup", Duration::from_secs(2))?;
        Ok(Summary { ok: ok_all, lines })
    }

    /// What `vrrpctl status` and `vrrpctl history` say on router `i` (vrrpd only), for the
    /// summary: the operator's view of the same run.
    fn vrrpctl_lines(&self, i: usize, lines: &mut Vec<String>) {
        let slot = &self.slots[i];
        let Some(socket) = slot.running.as_ref().and_then(|r| r.control_socket()) else {
            return;
        };
        let vrrpctl = vrrp_netns::vrrpd_binary_path().with_file_name("vrrpctl");
        for args in [&["status"][..], &["history", "-n", "4"][..]] {
            lines.push(format!("  vrrpctl {} on {}:", args.join(" "), slot.name));
            let out = std::process::Command::new(&vrrpctl)
                .arg("--socket")
                .arg(&socket)
                .args(args)
                .output();
            match out {
                Ok(o) if o.status.success() => {
                    let text = String::from_utf8_lossy(&o.stdout);
                    lines.extend(text.lines().map(|l| format!("    {l}")));
                }
                Ok(o) => lines.push(format!(
                    "    (failed: {})",
                    String::from_utf8_lossy(&o.stderr).trim()
                )),
                Err(e) => lines.push(format!(
                    "    ({} not run: {e}; cargo build -p vrrpd builds it)",
                    vrrpctl.display()
                )),
            }
        }
    }

    /// One ping from the client to the VIP, so that it has a neighbour entry for it (the
    /// Active answers it: accept mode is on).
    fn client_ping(&self) {
        let vip = self.vip.to_string();
        let mut args = vec!["-c1", "-W", "0.3", "-n", "-q"];
        if self.vip.is_ipv6() {
            args.insert(0, "-6");
        }
        args.push(&vip);
        let _ = self.lab.host(CLIENT).netns.exec("ping", &args);
    }
}

/// The last state the daemon's log reports (`Entering MASTER STATE (reason)`, written by both
/// keepalived and vrrpd) and the reason given with it. For keepalived, which gives none, the
/// line before it (e.g. `Receive advertisement timeout`).
/// The text inside the balanced parentheses `text` starts with (`"(a (b) c) rest"`: `a (b) c`).
fn parenthesised(text: &str) -> Option<&str> {
    let inner = text.strip_prefix('(')?;
    let mut depth = 1usize;
    for (i, c) in inner.char_indices() {
        match c {
            '(' => depth += 1,
            ')' => {
                depth -= 1;
                if depth == 0 {
                    return Some(&inner[..i]);
                }
            }
            _ => {}
        }
    }
    None
}

fn last_state(log: &str) -> (String, Option<String>) {
    let lines: Vec<&str> = log.lines().collect();
    for (i, l) in lines.iter().enumerate().rev() {
        let Some(pos) = l.find("Entering ") else {
            continue;
        };
        let rest = &l[pos + "Entering ".len()..];
        let Some((word, tail)) = rest.split_once(" STATE") else {
            continue;
        };
        let state = match word {
            "MASTER" => "Active",
            "BACKUP" => "Backup",
            "FAULT" => "Fault",
            "INIT" => "Init",
            other => other,
        }
        .to_string();
        let tail = tail.trim();
        let reason = if let Some(r) = parenthesised(tail) {
            // vrrpd: "(VI_51) Entering MASTER STATE (reason) instance=VI_51 ...".
            Some(r.to_string()).filter(|r| r != "init")
        } else if i > 0 {
            // keepalived: "Sun Nov 22 16:32:44 2026: (VI_51) Receive advertisement timeout".
            let prev = lines[i - 1];
            let msg = prev.split_once(": ").map_or(prev, |(_, m)| m);
            let msg = match msg.strip_prefix('(') {
                Some(m) => m.split_once(") ").map_or(msg, |(_, m)| m),
                None => msg,
            };
            Some(msg.trim().to_string())
        } else {
            None
        };
        return (state, reason);
    }
    ("-".into(), None)
}

/// Checks that no namespace of the lab is left and says so.
fn cleanup_report(lab_id: &str) -> String {
    let prefix = format!("{}{lab_id}-", vrrp_netns::PREFIX);
    let out = std::process::Command::new("ip")
        .args(["netns", "list"])
        .output();
    let left: Vec<String> = match out {
        Ok(o) => String::from_utf8_lossy(&o.stdout)
            .lines()
            .filter_map(|l| l.split_whitespace().next())
            .filter(|n| n.starts_with(&prefix))
            .map(String::from)
            .collect(),
        Err(e) => return format!("  cleanup: cannot run `ip netns list`: {e}"),
    };
    if left.is_empty() {
        format!(
            "  cleanup: daemons killed, namespaces {prefix}* (3 routers, {CLIENT}, bridge) and \
             work directory removed"
        )
    } else {
        format!(
            "  cleanup: LEFT BEHIND {}; run `vrrp-netns cleanup`",
            left.join(", ")
        )
    }
}

#[cfg(test)]
mod tests {
    use super::last_state;

    #[test]
    fn states_from_both_logs() {
        let vrrpd = "2026-11-22T16:32:45.263178Z  INFO (VI_51) Entering BACKUP STATE (startup)\n\
                     2026-11-22T16:32:45.263178Z  INFO (VI_51) Entering MASTER STATE \
                     (preempted 192.0.2.2: its priority 100 < ours 150) instance=VI_51 \
                     from=Backup to=Active reason=preempted 192.0.2.2: its priority 100 < ours 150\n\
                     2026-11-22T16:32:45.263261Z DEBUG INSTANCE VI_51 MASTER 150: 0 script(s) queued";
        assert_eq!(
            last_state(vrrpd),
            (
                "Active".into(),
                Some("preempted 192.0.2.2: its priority 100 < ours 150".into())
            )
        );
        let ka = "Sun Nov 22 16:32:43 2026: (VI_51) Entering BACKUP STATE (init)\n\
                  Sun Nov 22 16:32:45 2026: (VI_51) Master received advert from 192.0.2.1 with \
                  higher priority 150, ours 100\n\
                  Sun Nov 22 16:32:45 2026: (VI_51) Entering BACKUP STATE\n\
                  Sun Nov 22 16:32:45 2026: (VI_51) removing VIPs.";
        assert_eq!(
            last_state(ka),
            (
                "Backup".into(),
                Some(
                    "Master received advert from 192.0.2.1 with higher priority 150, ours 100"
                        .into()
                )
            )
        );
        assert_eq!(last_state("nothing yet"), ("-".into(), None));
        let (s, r) = last_state("x: (VI_51) Entering BACKUP STATE (init)");
        assert_eq!((s.as_str(), r), ("Backup", None));
    }
}
