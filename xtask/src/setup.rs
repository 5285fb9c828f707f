//! The system packages the suites need: each is probed, and what is missing is installed with
//! apt where there is apt (as root), or listed with what to install where there is not.

use std::path::Path;
use std::process::{Command, Stdio};

use crate::cmd;
use crate::error::Error;

/// How to tell whether a requirement is met.
#[derive(Debug, Clone, Copy)]
pub enum Probe {
    /// The program can be started with these arguments (its exit status is ignored).
    Runs(&'static str, &'static [&'static str]),
    /// The program exits 0 with these arguments.
    Succeeds(&'static str, &'static [&'static str]),
    /// The path exists.
    Exists(&'static str),
}

impl Probe {
    fn holds(self) -> bool {
        match self {
            Probe::Runs(program, args) => quiet(program, args).is_ok(),
            Probe::Succeeds(program, args) => quiet(program, args).is_ok_and(|ok| ok),
            Probe::Exists(path) => Path::new(path).exists(),
        }
    }

    /// What the probe looks for, for messages.
    fn describe(self) -> String {
        match self {
            Probe::Runs(program, args) | Probe::Succeeds(program, args) => cmd::line(program, args),
            Probe::Exists(path) => path.to_string(),
        }
    }
}

/// Runs a probe command with no output; `Ok(success)` when it could be started.
fn quiet(program: &str, args: &[&str]) -> std::io::Result<bool> {
    Command::new(program)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .map(|s| s.success())
}

/// One thing the suites need from the system.
#[derive(Debug, Clone, Copy)]
pub struct Requirement {
    /// The Debian (and Ubuntu) package that provides it.
    pub debian: &'static str,
    /// What it is used for.
    pub used_for: &'static str,
    /// How to tell that it is there.
    pub probe: Probe,
}

const fn req(debian: &'static str, used_for: &'static str, probe: Probe) -> Requirement {
    Requirement {
        debian,
        used_for,
        probe,
    }
}

/// What `cargo test --workspace` needs (README: "What the tests install").
pub const TEST_REQUIREMENTS: &[Requirement] = &[
    req(
        "iproute2",
        "network namespaces, links, addresses",
        Probe::Runs("ip", &["-V"]),
    ),
    req(
        "nftables",
        "Accept_Mode filters, partitions, loss",
        Probe::Runs("nft", &["--version"]),
    ),
    req(
        "iputils-ping",
        "reachability checks",
        Probe::Runs("ping", &["-V"]),
    ),
    req("arping", "ARP probes", Probe::Runs("arping", &["--help"])),
    req(
        "tcpdump",
        "capture cross-checks",
        Probe::Runs("tcpdump", &["--version"]),
    ),
    req(
        "tshark",
        "independent packet decoding",
        Probe::Runs("tshark", &["--version"]),
    ),
    req(
        "python3-scapy",
        "independent packet decoding",
        Probe::Succeeds("/usr/bin/python3", &["-c", "import scapy.all"]),
    ),
    req(
        "keepalived",
        "interop peer (Debian's 2.2.7), -t/--signum comparisons",
        Probe::Exists("/usr/sbin/keepalived"),
    ),
    req(
        "keepalived",
        "keepalived's sample configurations (parser and YAML round trips)",
        Probe::Exists("/usr/share/doc/keepalived/samples"),
    ),
    req(
        "frr",
        "interop peer (FRR's vrrpd)",
        Probe::Exists("/usr/lib/frr/vrrpd"),
    ),
    req(
        "prometheus",
        "a real Prometheus server scraping vrrpd's /metrics (tests/metrics.rs)",
        Probe::Exists("/usr/bin/prometheus"),
    ),
    req(
        "prometheus",
        "promtool check metrics on vrrpd's exposition",
        Probe::Exists("/usr/bin/promtool"),
    ),
    req(
        "curl",
        "Prometheus's HTTP query API from inside a lab namespace",
        Probe::Runs("curl", &["--version"]),
    ),
];

/// What `cargo xtask package` needs besides [`TEST_REQUIREMENTS`].
pub const PACKAGE_REQUIREMENTS: &[Requirement] = &[
    req(
        "dpkg-dev",
        "cargo-deb's dependency detection",
        Probe::Runs("dpkg-shlibdeps", &["--version"]),
    ),
    req(
        "binutils",
        "cargo-deb strips the binaries",
        Probe::Runs("strip", &["--version"]),
    ),
    req(
        "man-db",
        "`man vrrpd` in the package test",
        Probe::Runs("man", &["--version"]),
    ),
    req(
        "systemd",
        "systemd-analyze verify / security",
        Probe::Runs("systemd-analyze", &["--version"]),
    ),
    req(
        "init-system-helpers",
        "the packages' maintainer scripts (deb-systemd-helper)",
        Probe::Exists("/usr/bin/deb-systemd-helper"),
    ),
];

/// Daemons whose distribution packages the suites install only as test peers: when `ensure`
/// installs them on a host run by systemd, their services are stopped and disabled.
const PEER_SERVICES: &[&str] = &["keepalived", "frr", "prometheus"];

/// Fails with [`Error::NotRoot`] unless running as root.
pub fn require_root(why: &'static str) -> Result<(), Error> {
    if is_root() {
        Ok(())
    } else {
        Err(Error::NotRoot { why })
    }
}

fn is_root() -> bool {
    // `id -u` needs no unsafe code and is in coreutils everywhere.
    cmd::output("id", &["-u"]).is_ok_and(|uid| uid.trim() == "0")
}

/// Probes every requirement and installs the missing ones (apt, as root); errors name what is
/// still missing and how to install it.
pub fn ensure(reqs: &[Requirement]) -> Result<(), Error> {
    let missing: Vec<Requirement> = reqs.iter().copied().filter(|r| !r.probe.holds()).collect();
    if missing.is_empty() {
        println!(
            "setup: system packages present ({})",
            package_names(reqs).join(" ")
        );
        return Ok(());
    }
    let names = package_names(&missing);
    if !Path::new("/usr/bin/apt-get").exists() {
        return Err(Error::Missing {
            what: describe(&missing),
            how: format!(
                "no apt-get here: install the packages that provide these with your \
                 distribution's package manager (Debian names: {})",
                names.join(" ")
            ),
        });
    }
    if !is_root() {
        return Err(Error::Missing {
            what: describe(&missing),
            how: format!(
                "run as root, or: sudo apt-get install -y {}",
                names.join(" ")
            ),
        });
    }
    apt_install(&names)?;
    let still: Vec<Requirement> = missing.into_iter().filter(|r| !r.probe.holds()).collect();
    if !still.is_empty() {
        return Err(Error::Missing {
            what: describe(&still),
            how: "apt-get installed the packages but these are still missing (a dpkg \
                  path-exclude, e.g. of /usr/share/doc in minimal images, drops files)"
                .into(),
        });
    }
    Ok(())
}

/// The distinct Debian package names of `reqs`, in order.
fn package_names(reqs: &[Requirement]) -> Vec<&'static str> {
    let mut names: Vec<&'static str> = Vec::new();
    for r in reqs {
        if !names.contains(&r.debian) {
            names.push(r.debian);
        }
    }
    names
}

fn describe(reqs: &[Requirement]) -> String {
    reqs.iter()
        .map(|r| {
            format!(
                "  {} ({}; Debian package {})",
                r.probe.describe(),
                r.used_for,
                r.debian
            )
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// `apt-get update` and `apt-get install` of `names`; afterwards the peer daemons it
/// installed are stopped and disabled (the suites start their own, inside namespaces).
fn apt_install(names: &[&str]) -> Result<(), Error> {
    let env = [("DEBIAN_FRONTEND", "noninteractive")];
    cmd::run("apt-get", &["update", "-qq"], &env)?;
    let mut args = vec!["install", "-y", "-qq", "--no-install-recommends"];
    args.extend_from_slice(names);
    cmd::run("apt-get", &args, &env)?;
    if Path::new("/run/systemd/system").is_dir() {
        for service in PEER_SERVICES.iter().filter(|s| names.contains(s)) {
            // A peer that does not run (no configuration) is fine: ignore the status.
            let _ = cmd::run("systemctl", &["disable", "--now", service], &[]);
        }
    }
    Ok(())
}
