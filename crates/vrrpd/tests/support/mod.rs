//! Shared helpers of the namespace tests that run the daemon: [`Daemon`] (a vrrpd process in
//! a lab host, with its log lines).
#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use vrrp_netns::{ChildGuard, Host, Signal};

/// The VIP of [`unicast_instance`].
pub const VIP: &str = "192.0.2.100";

pub const BIN: &str = env!("CARGO_BIN_EXE_vrrpd");

/// A vrrpd process in a lab host, with its log lines.
pub struct Daemon {
    pub guard: ChildGuard,
    pub lines: mpsc::Receiver<String>,
    pub seen: Vec<String>,
    /// The configuration file.
    pub conf_path: PathBuf,
    /// Its control socket (one per daemon: the default path is shared by the whole host).
    pub control: PathBuf,
}

impl Daemon {
    pub fn start(host: &Host, dir: &Path, conf: &str) -> Daemon {
        Daemon::start_program(host, dir, conf, Path::new(BIN), None)
    }

    /// As [`Daemon::start`], with `args` added to the command line (e.g. `-D`).
    pub fn start_with_args(host: &Host, dir: &Path, conf: &str, args: &[&str]) -> Daemon {
        Daemon::spawn(host, dir, conf, Path::new(BIN), None, args)
    }

    /// As [`Daemon::start`], running `program` (e.g. a `keepalived` link to [`BIN`]) with
    /// `arg0` as its `argv[0]` if given.
    pub fn start_program(
        host: &Host,
        dir: &Path,
        conf: &str,
        program: &Path,
        arg0: Option<&str>,
    ) -> Daemon {
        Daemon::spawn(host, dir, conf, program, arg0, &[])
    }

    fn spawn(
        host: &Host,
        dir: &Path,
        conf: &str,
        program: &Path,
        arg0: Option<&str>,
        args: &[&str],
    ) -> Daemon {
        let name = &host.name;
        let conf_path = dir.join(format!("{name}.conf"));
        let control = dir.join(format!("{name}.ctl"));
        std::fs::write(&conf_path, conf).unwrap();
        let mut cmd = Command::new(program);
        if let Some(arg0) = arg0 {
            std::os::unix::process::CommandExt::arg0(&mut cmd, arg0);
        }
        cmd.arg("-f")
            .arg(&conf_path)
            .args(["-n", "-l", "-P", "-p"])
            .arg(dir.join(format!("{name}.pid")))
            .arg("-r")
            .arg(dir.join(format!("{name}-vrrp.pid")))
            .arg("--control-socket")
            .arg(&control)
            .args(args)
            .env("TMPDIR", dir.join(name.as_str()))
            .env("NO_COLOR", "1")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        std::fs::create_dir_all(dir.join(name.as_str())).unwrap();
        Daemon::run(host, cmd, conf_path, control)
    }

    /// A keepalived (`program`, e.g. 2.4.3's) in `host` with `conf`, logging to the console,
    /// every file in `dir`. Its `control` is unused.
    pub fn start_keepalived(host: &Host, dir: &Path, conf: &str, program: &Path) -> Daemon {
        let name = &host.name;
        let conf_path = dir.join(format!("{name}-keepalived.conf"));
        std::fs::write(&conf_path, conf).unwrap();
        let mut cmd = Command::new(program);
        cmd.args([
            "--vrrp",
            "--dont-fork",
            "--log-console",
            "--log-detail",
            "-f",
        ])
        .arg(&conf_path)
        .arg("-p")
        .arg(dir.join(format!("{name}-keepalived.pid")))
        .arg("-r")
        .arg(dir.join(format!("{name}-keepalived-vrrp.pid")))
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
        Daemon::run(host, cmd, conf_path, dir.join("unused.ctl"))
    }

    fn run(host: &Host, cmd: Command, conf_path: PathBuf, control: PathBuf) -> Daemon {
        let mut guard = host.netns.spawn(cmd).expect("spawn the daemon");
        let (tx, lines) = mpsc::channel();
        let child = guard.child_mut();
        let streams: [Box<dyn std::io::Read + Send>; 2] = [
            Box::new(child.stdout.take().unwrap()),
            Box::new(child.stderr.take().unwrap()),
        ];
        for stream in streams {
            let tx = tx.clone();
            std::thread::spawn(move || {
                for line in BufReader::new(stream).lines().map_while(Result::ok) {
                    let _ = tx.send(line);
                }
            });
        }
        Daemon {
            guard,
            lines,
            seen: Vec::new(),
            conf_path,
            control,
        }
    }

    /// Waits for a log line containing every needle; returns it.
    pub fn expect(&mut self, needles: &[&str], within: Duration) -> String {
        let deadline = Instant::now() + within;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(l) => {
                    let l = strip_ansi(&l);
                    self.seen.push(l.clone());
                    if needles.iter().all(|n| l.contains(n)) {
                        return l;
                    }
                }
                Err(_) => panic!(
                    "no line with {needles:?} within {within:?}; log:\n{}",
                    self.seen.join("\n")
                ),
            }
        }
    }

    /// Every line logged so far that was not read yet (without waiting).
    pub fn drain(&mut self) -> Vec<String> {
        let mut out = Vec::new();
        while let Ok(l) = self.lines.try_recv() {
            let l = strip_ansi(&l);
            self.seen.push(l.clone());
            out.push(l);
        }
        out
    }

    /// Writes a new configuration, sends SIGHUP and waits for the reload to end (finished or
    /// refused); returns the lines logged meanwhile, the last one ending the reload.
    pub fn reload(&mut self, conf: &str, within: Duration) -> Vec<String> {
        std::fs::write(&self.conf_path, conf).unwrap();
        let mut out = self.drain();
        self.signal(Signal::SIGHUP);
        let deadline = Instant::now() + within;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(l) => {
                    let l = strip_ansi(&l);
                    self.seen.push(l.clone());
                    let done = l.contains("Reload finished") || l.contains("reload refused");
                    out.push(l);
                    if done {
                        return out;
                    }
                }
                Err(_) => panic!(
                    "reload did not end within {within:?}; log:\n{}",
                    self.seen.join("\n")
                ),
            }
        }
    }

    pub fn signal(&self, sig: Signal) {
        self.guard.signal(sig).unwrap();
    }

    pub fn wait_exit(&mut self, within: Duration) -> std::process::ExitStatus {
        self.guard
            .wait_timeout(within)
            .unwrap()
            .expect("vrrpd exits in time")
    }
}

pub fn strip_ansi(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' {
            for d in chars.by_ref() {
                if d.is_ascii_alphabetic() {
                    break;
                }
            }
        } else {
            out.push(c);
        }
    }
    out
}

/// A lab with routers r1 and r2 (and a client c1 when `client`), as root.
pub fn lab(client: bool) -> vrrp_netns::Lab {
    vrrp_netns::require_root();
    let b = vrrp_netns::Lab::builder().router("r1").router("r2");
    let b = if client { b.client("c1") } else { b };
    b.build().expect("lab")
}

/// A temporary directory (removed on drop) whose path is safe in shell scripts.
pub fn tempdir() -> tempfile::TempDir {
    tempfile::Builder::new()
        .prefix("vrrpd-test-")
        .tempdir()
        .unwrap()
}

/// A unicast VRRPv3 instance VI_1 (VRID 51, advert_int 0.2, [`VIP`]) on `host`, its only
/// listed peer `peer`, with `extra` as further instance lines.
pub fn unicast_instance(host: &Host, peer: &Host, priority: u8, extra: &str) -> String {
    format!(
        "global_defs {{
    vrrp_version 3
    vrrp_garp_master_delay 0
}}
vrrp_instance VI_1 {{
    state BACKUP
    interface eth0
    virtual_router_id 51
    priority {priority}
    advert_int 0.2
    unicast_src_ip {src}
    unicast_peer {{
        {peer}
    }}
    virtual_ipaddress {{
        {VIP}/24
    }}
{extra}
}}
",
        src = host.ipv4,
        peer = peer.ipv4,
    )
}

/// Fails with the way to install scapy when `/usr/bin/python3` has none.
pub fn require_scapy() {
    let ok = Command::new("/usr/bin/python3")
        .args(["-c", "import scapy.layers.vrrp"])
        .status()
        .is_ok_and(|s| s.success());
    assert!(
        ok,
        "scapy is missing under /usr/bin/python3: apt-get install -y python3-scapy (or cargo xtask setup)"
    );
}

/// Sends `count` unsigned VRRPv3 adverts for VRID 51, priority 255, from `from`'s own address
/// to `to`, one every 200 ms, with TTL 255 (what a peer sends), forged by scapy.
pub fn forge_adverts(from: &Host, to: &Host, count: u32) {
    let script = format!(
        "from scapy.all import IP, send\n\
         from scapy.layers.vrrp import VRRPv3\n\
         p = IP(src='{src}', dst='{dst}', ttl=255) / VRRPv3(vrid=51, priority=255, adv=20, ipcount=1, addrlist=['{VIP}'])\n\
         send(p, count={count}, inter=0.2, verbose=False)\n",
        src = from.ipv4,
        dst = to.ipv4,
    );
    from.netns
        .exec_ok("/usr/bin/python3", &["-c", &script])
        .expect("scapy sends the forged adverts");
}

/// Whether `host` holds [`VIP`].
pub fn has_vip(host: &Host) -> bool {
    host.has_address(VIP.parse().unwrap()).unwrap()
}

/// The VIP of [`tracked_config`].
pub const TRACKED_VIP: &str = "192.0.2.100";

/// VI_1 (VRID 51, VRRPv3, adverts every 0.2 s, [`TRACKED_VIP`]) at `priority`, with a
/// `vrrp_script chk` that always succeeds and adds 10: the pair of the control socket's and the
/// metrics' tests.
pub fn tracked_config(priority: u8) -> String {
    format!(
        "global_defs {{
    vrrp_version 3
    vrrp_garp_master_delay 0
    enable_script_security
}}
vrrp_script chk {{
    script /usr/bin/true
    interval 1
    weight 10
}}
vrrp_instance VI_1 {{
    state BACKUP
    interface eth0
    virtual_router_id 51
    priority {priority}
    advert_int 0.2
    virtual_ipaddress {{
        {TRACKED_VIP}/24
    }}
    track_script {{
        chk
    }}
}}
"
    )
}
