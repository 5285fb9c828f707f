//! The command line: keepalived's flags with keepalived's meaning, plus vrrpd's own
//! `--convert` and `--config-format`.
//!
//! Parsing never exits the process: [`Cli::parse_args`] returns a [`clap::Error`] for `--help`
//! and bad flags, and `main` prints it and picks the exit code (keepalived exits 1 on an
//! unknown option; help exits 0).

use std::ffi::OsString;
use std::path::{Path, PathBuf};

use clap::{ArgAction, Parser, ValueEnum};

/// keepalived's default configuration file.
pub const DEFAULT_CONFIG_FILE: &str = "/etc/keepalived/keepalived.conf";

/// `vrrpd` command line options (keepalived's flags; see `keepalived(8)`).
#[derive(Debug, Clone, PartialEq, Eq, Parser)]
#[command(
    name = "vrrpd",
    about = "keepalived-compatible VRRP daemon (runs the VRRP side of `keepalived --vrrp`)",
    disable_version_flag = true,
    max_term_width = 100
)]
pub struct Cli {
    /// Use the specified configuration file.
    #[arg(short = 'f', long = "use-file", value_name = "FILE", default_value = DEFAULT_CONFIG_FILE)]
    pub use_file: PathBuf,

    /// Only run with VRRP subsystem (always the case for vrrpd).
    #[arg(short = 'P', long = "vrrp")]
    pub vrrp: bool,

    /// Only run with Health-checker subsystem (not implemented: vrrpd only does VRRP; warns).
    #[arg(short = 'C', long = "check")]
    pub check: bool,

    /// Don't run BFD subsystem (vrrpd has none; accepted).
    #[arg(short = 'B', long = "no_bfd")]
    pub no_bfd: bool,

    /// Force all child processes to run, even if they have no configuration.
    #[arg(long = "all")]
    pub all: bool,

    /// Skip any configuration lines beginning '@' that don't match ID (default: short host name).
    #[arg(short = 'i', long = "config-id", value_name = "ID")]
    pub config_id: Option<String>,

    /// Don't load if any configuration error (treat errors as fatal).
    #[arg(short = 'e', long = "all-config")]
    pub all_config: bool,

    /// Check the configuration for obvious errors; output to stderr (or LOGFILE) and exit.
    #[arg(
        short = 't',
        long = "config-test",
        value_name = "LOGFILE",
        num_args = 0..=1,
        require_equals = true
    )]
    pub config_test: Option<Option<PathBuf>>,

    /// Dump the configuration data (as YAML, on standard output).
    #[arg(short = 'd', long = "dump-conf")]
    pub dump_conf: bool,

    /// Log messages to the local console.
    #[arg(short = 'l', long = "log-console")]
    pub log_console: bool,

    /// Detailed log messages (twice: extra detail).
    #[arg(short = 'D', long = "log-detail", action = ArgAction::Count)]
    pub log_detail: u8,

    /// Set syslog facility to LOG_LOCAL[0-7], or user / daemon (default daemon).
    #[arg(short = 'S', long = "log-facility", value_name = "FACILITY", value_parser = parse_facility)]
    pub log_facility: Option<LogFacility>,

    /// Log to FILE (default /tmp/keepalived.log).
    #[arg(
        short = 'g',
        long = "log-file",
        value_name = "FILE",
        num_args = 0..=1,
        require_equals = true
    )]
    pub log_file: Option<Option<PathBuf>>,

    /// Flush the log file on each write.
    #[arg(long = "flush-log-file")]
    pub flush_log_file: bool,

    /// Don't log via syslog.
    #[arg(short = 'G', long = "no-syslog")]
    pub no_syslog: bool,

    /// Don't fork the daemon process.
    #[arg(short = 'n', long = "dont-fork")]
    pub dont_fork: bool,

    /// Don't respawn child processes.
    #[arg(short = 'R', long = "dont-respawn")]
    pub dont_respawn: bool,

    /// Drop VIPs on transition from signal.
    #[arg(short = 'X', long = "release-vips")]
    pub release_vips: bool,

    /// Don't remove VRRP VIPs and VROUTEs on daemon stop.
    #[arg(short = 'V', long = "dont-release-vrrp")]
    pub dont_release_vrrp: bool,

    /// Run in network namespace NAME (overrides config).
    #[arg(short = 's', long = "namespace", value_name = "NAME")]
    pub namespace: Option<String>,

    /// umask for file creation (in numeric form: octal with a leading 0, hex with 0x).
    #[arg(short = 'u', long = "umask", value_name = "NUMBER", value_parser = parse_umask)]
    pub umask: Option<u32>,

    /// Produce core dump if terminate abnormally.
    #[arg(short = 'm', long = "core-dump")]
    pub core_dump: bool,

    /// Also update /proc/sys/kernel/core_pattern to PATTERN (default 'core').
    #[arg(
        short = 'M',
        long = "core-dump-pattern",
        value_name = "PATTERN",
        num_args = 0..=1,
        require_equals = true
    )]
    pub core_dump_pattern: Option<Option<String>>,

    /// Use specified pidfile for parent process.
    #[arg(short = 'p', long = "pid", value_name = "FILE")]
    pub pid: Option<PathBuf>,

    /// Use specified pidfile for VRRP child process.
    #[arg(short = 'r', long = "vrrp_pid", value_name = "FILE")]
    pub vrrp_pid: Option<PathBuf>,

    /// Print the signal number of the signal and exit.
    #[arg(long = "signum", value_name = "SIGFUNC", value_enum)]
    pub signum: Option<SigFunc>,

    /// Ignore SIGINT (for running under a debugger).
    #[arg(long = "ignore-sigint")]
    pub ignore_sigint: bool,

    /// Display the version number and exit.
    #[arg(short = 'v', long = "version")]
    pub version: bool,

    /// Don't remove IPVS topology on daemon stop (vrrpd has no IPVS; accepted).
    #[arg(short = 'I', long = "dont-release-ipvs")]
    pub dont_release_ipvs: bool,

    /// Enter keepalived's genhash utility mode (not implemented: vrrpd only does VRRP).
    #[arg(short = 'T', long = "genhash")]
    pub genhash: bool,

    /// Use specified pidfile for checkers child process (vrrpd has none; warns).
    #[arg(short = 'c', long = "checkers_pid", value_name = "FILE")]
    pub checkers_pid: Option<PathBuf>,

    /// Report all address additions/deletions notified via netlink (not implemented; warns).
    #[arg(short = 'a', long = "address-monitoring")]
    pub address_monitoring: bool,

    /// Use specified pidfile for BFD child process (vrrpd has no BFD; warns).
    #[arg(short = 'b', long = "bfd_pid", value_name = "FILE")]
    pub bfd_pid: Option<PathBuf>,

    /// Enable SNMP subsystem (not implemented; warns).
    #[arg(short = 'x', long = "snmp")]
    pub snmp: bool,

    /// Use the specified socket for master agent (no SNMP; warns).
    #[arg(short = 'A', long = "snmp-agent-socket", value_name = "FILE")]
    pub snmp_agent_socket: Option<String>,

    /// keepalived's internal hand-over of the configuration to its children (accepted; warns).
    #[arg(long = "config-fd", value_name = "FD")]
    pub config_fd: Option<String>,

    /// keepalived's perf profiling (debugging builds of keepalived only; accepted, warns).
    #[arg(long = "perf", value_name = "WHEN", num_args = 0..=1, require_equals = true)]
    pub perf: Option<Option<String>>,

    /// keepalived's debug options (debugging builds of keepalived only; accepted, warns).
    #[arg(long = "debug", value_name = "OPTIONS", num_args = 0..=1, require_equals = true)]
    pub debug: Option<Option<String>>,

    /// Disable keepalived's malloc checks (debugging builds only; accepted, warns).
    #[arg(long = "no-mem-check")]
    pub no_mem_check: bool,

    /// Log keepalived's malloc checks (debugging builds only; accepted, warns).
    #[arg(short = 'L', long = "mem-check-log")]
    pub mem_check_log: bool,

    /// Check OpenSSL's allocations (debugging builds of keepalived only; accepted, warns).
    #[arg(short = 'O', long = "openssl-mem-check")]
    pub openssl_mem_check: bool,

    /// Arguments keepalived would report as unexpected (it starts anyway; so does vrrpd).
    #[arg(value_name = "ARG", hide = true)]
    pub unexpected: Vec<String>,

    /// Print the loaded configuration as YAML on standard output and exit (vrrpd only).
    #[arg(long = "convert")]
    pub convert: bool,

    /// Format of the configuration file (default: yaml for *.yaml / *.yml, else keepalived).
    #[arg(long = "config-format", value_name = "FORMAT", value_enum)]
    pub config_format: Option<ConfigFormat>,

    /// Install VIPs with a kernel lifetime of SECS seconds, renewed while Active, so that the
    /// VIPs of a crashed or hung daemon disappear by themselves (vrrpd only; default: off,
    /// permanent VIPs as keepalived).
    #[arg(long = "vip-lease", value_name = "SECS", value_parser = clap::value_parser!(u32).range(3..))]
    pub vip_lease: Option<u32>,
    /// The control socket `vrrpctl` talks to (vrrpd only; mode 0600, see
    /// docs/control-protocol.md).
    #[arg(long = "control-socket", value_name = "PATH", default_value = crate::control::DEFAULT_SOCKET)]
    pub control_socket: std::path::PathBuf,
    /// Run without a control socket (vrrpd only).
    #[arg(long = "no-control-socket")]
    pub no_control_socket: bool,
    /// A group whose members may use the control socket read-only (status, history,
    /// events; vrrpd only): the socket becomes mode 0660 with this group.
    #[arg(long = "control-group", value_name = "GROUP")]
    pub control_group: Option<String>,
    /// Serve Prometheus metrics over HTTP on ADDR:PORT, `GET /metrics` (vrrpd only; default:
    /// off; docs/metrics.md lists them).
    #[arg(long = "metrics-listen", value_name = "ADDR:PORT")]
    pub metrics_listen: Option<std::net::SocketAddr>,
}

impl Cli {
    /// Parses a full argument list (the first item is the program name).
    pub fn parse_args<I, T>(args: I) -> Result<Cli, clap::Error>
    where
        I: IntoIterator<Item = T>,
        T: Into<OsString> + Clone,
    {
        Cli::try_parse_from(args)
    }

    /// The configuration format to use for [`Cli::use_file`].
    pub fn format(&self) -> ConfigFormat {
        self.config_format
            .unwrap_or_else(|| ConfigFormat::for_path(&self.use_file))
    }

    /// Whether `-t` / `--config-test` was given.
    pub fn is_config_test(&self) -> bool {
        self.config_test.is_some()
    }

    /// One sentence for each keepalived flag given that vrrpd accepts without doing what
    /// keepalived does with it (keepalived's flags never stop vrrpd from starting).
    pub fn ignored_flags(&self) -> Vec<String> {
        let mut out = Vec::new();
        let mut note = |given: bool, text: &str| {
            if given {
                out.push(text.to_string());
            }
        };
        note(
            self.check,
            "-C/--check ignored: vrrpd only implements the VRRP subsystem",
        );
        note(
            self.snmp || self.snmp_agent_socket.is_some(),
            "-x/--snmp, -A/--snmp-agent-socket ignored: vrrpd has no SNMP agent",
        );
        note(
            self.checkers_pid.is_some(),
            "-c/--checkers_pid ignored: vrrpd has no checker process",
        );
        note(
            self.bfd_pid.is_some(),
            "-b/--bfd_pid ignored: vrrpd has no BFD process",
        );
        note(
            self.address_monitoring,
            "-a/--address-monitoring ignored: address changes are not logged",
        );
        note(
            self.release_vips,
            "-X/--release-vips ignored: not implemented",
        );
        note(
            self.dont_release_vrrp,
            "-V/--dont-release-vrrp ignored: VIPs are always released on stop",
        );
        note(
            self.namespace.is_some(),
            "-s/--namespace ignored: start vrrpd inside the namespace (ip netns exec)",
        );
        note(
            self.core_dump || self.core_dump_pattern.is_some(),
            "-m/-M ignored: core dumps follow the system's settings",
        );
        note(
            self.log_facility.is_some() || self.log_file.is_some() || self.flush_log_file,
            "-S/--log-facility, -g/--log-file, --flush-log-file ignored: logs go to the journal \
             or standard error",
        );
        note(
            self.config_fd.is_some(),
            "--config-fd ignored: keepalived's internal option",
        );
        note(
            self.perf.is_some()
                || self.debug.is_some()
                || self.no_mem_check
                || self.mem_check_log
                || self.openssl_mem_check,
            "--perf, --debug, --no-mem-check, -L, -O ignored: keepalived debugging builds only",
        );
        if !self.unexpected.is_empty() {
            out.push(format!(
                "Unexpected argument(s): {} (ignored, as keepalived does)",
                self.unexpected.join(" ")
            ));
        }
        out
    }
}

/// Whether the program runs under keepalived's name (`argv[0]` is `keepalived`, e.g. through
/// the `/usr/sbin/keepalived -> vrrpd` link of the vrrpd-keepalived package).
pub fn called_as_keepalived(argv0: &std::ffi::OsStr) -> bool {
    Path::new(argv0).file_name() == Some(std::ffi::OsStr::new("keepalived"))
}

/// keepalived's version the dump files, signals and flags follow (`-v` under keepalived's
/// name reports it, for the tools that parse it).
pub const KEEPALIVED_VERSION: &str = "2.2.7";

/// The `-v` / `--version` text (keepalived prints it on standard error). Its first line is
/// `Keepalived vX.Y.Z (...)` under keepalived's name, as monitoring tools parse it (the
/// second word, without its `v`, is the version); the `configure options` line names
/// `--enable-json`, which exporters look for before they use the JSON dump.
pub fn version_text(as_keepalived: bool) -> String {
    let ours = env!("CARGO_PKG_VERSION");
    let first = if as_keepalived {
        format!("Keepalived v{KEEPALIVED_VERSION} (vrrpd {ours})")
    } else {
        format!("vrrpd v{ours} (keepalived-compatible: Keepalived v{KEEPALIVED_VERSION})")
    };
    let uname = nix::sys::utsname::uname().ok();
    let running = uname.map_or_else(String::new, |u| {
        format!(
            "Running on {} {} {}\n",
            u.sysname().to_string_lossy(),
            u.release().to_string_lossy(),
            u.version().to_string_lossy()
        )
    });
    format!(
        "{first}\n\n\
         vrrpd {ours}: the VRRP subsystem of keepalived (configuration, flags, signals, notify \
         scripts and dump files as Keepalived v{KEEPALIVED_VERSION}); MIT OR Apache-2.0\n\n\
         {running}\n\
         configure options: --enable-json --enable-vrrp-auth --enable-vrrp-vmac \
         (keepalived's names for what vrrpd implements)\n\n\
         Config options:  VRRP VRRP_AUTH VRRP_VMAC JSON SYSTEMD_NOTIFY\n\n\
         System options:  \n"
    )
}

/// The signal functions of `--signum` (keepalived's names, upper case).
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
#[value(rename_all = "UPPER")]
pub enum SigFunc {
    /// Stop: SIGTERM.
    Stop,
    /// Reload: SIGHUP.
    Reload,
    /// Write /tmp/keepalived.data: SIGUSR1.
    Data,
    /// Write /tmp/keepalived.stats: SIGUSR2.
    Stats,
    /// Write the stats and clear them: SIGRTMAX-1.
    #[value(name = "STATS_CLEAR")]
    StatsClear,
    /// Write /tmp/keepalived.json: SIGRTMIN+2.
    Json,
}

impl SigFunc {
    /// The signal number on Linux with glibc (SIGRTMIN = 34, SIGRTMAX = 64), as
    /// `keepalived --signum` prints it.
    pub fn signal_number(self) -> i32 {
        match self {
            SigFunc::Stop => 15,
            SigFunc::Reload => 1,
            SigFunc::Data => 10,
            SigFunc::Stats => 12,
            SigFunc::StatsClear => 64 - 1,
            SigFunc::Json => 34 + 2,
        }
    }
}

/// Configuration file formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ConfigFormat {
    /// keepalived.conf syntax.
    Keepalived,
    /// The YAML form of the model (as printed by `--convert`).
    Yaml,
}

impl ConfigFormat {
    /// The format implied by a file name: YAML for `.yaml` / `.yml`, keepalived otherwise.
    pub fn for_path(path: &Path) -> Self {
        if crate::yaml::is_yaml_path(path) {
            ConfigFormat::Yaml
        } else {
            ConfigFormat::Keepalived
        }
    }
}

/// A syslog facility for `-S`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFacility {
    /// `daemon` (the default).
    Daemon,
    /// `user`.
    User,
    /// `local0` .. `local7` (also given as `0` .. `7`).
    Local(u8),
}

fn parse_facility(text: &str) -> Result<LogFacility, String> {
    let local = text.strip_prefix("local").unwrap_or(text);
    match text {
        "daemon" => Ok(LogFacility::Daemon),
        "user" => Ok(LogFacility::User),
        _ => match local.parse::<u8>() {
            Ok(n) if n <= 7 => Ok(LogFacility::Local(n)),
            _ => Err("expected 0-7, local0-local7, user or daemon".to_string()),
        },
    }
}

/// Parses a number as C's `strtoul(text, NULL, 0)` does: `0x` hex, leading `0` octal, else decimal.
fn parse_umask(text: &str) -> Result<u32, String> {
    let parsed = if let Some(hex) = text.strip_prefix("0x").or_else(|| text.strip_prefix("0X")) {
        u32::from_str_radix(hex, 16)
    } else if text.len() > 1 && text.starts_with('0') {
        u32::from_str_radix(&text[1..], 8)
    } else {
        text.parse::<u32>()
    };
    match parsed {
        Ok(v) if v <= 0o777 => Ok(v),
        _ => Err("expected a umask such as 022 (octal with a leading 0) in 0..0777".to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> Result<Cli, clap::Error> {
        Cli::parse_args(std::iter::once("vrrpd").chain(args.iter().copied()))
    }

    #[test]
    fn defaults() {
        let cli = parse(&[]).unwrap();
        assert_eq!(cli.use_file, Path::new(DEFAULT_CONFIG_FILE));
        assert_eq!(cli.format(), ConfigFormat::Keepalived);
        assert!(!cli.is_config_test());
        assert_eq!(cli.log_detail, 0);
    }

    #[test]
    fn keepalived_short_and_long_forms() {
        let cli = parse(&[
            "-f",
            "/tmp/k.conf",
            "-P",
            "-C",
            "-B",
            "--all",
            "-i",
            "lb1",
            "-e",
            "-d",
            "-l",
            "-DD",
            "-S",
            "local3",
            "-G",
            "-n",
            "-R",
            "-X",
            "-V",
            "-s",
            "ns1",
            "-u",
            "022",
            "-m",
            "-p",
            "/tmp/a.pid",
            "-r",
            "/tmp/b.pid",
            "--ignore-sigint",
            "--flush-log-file",
        ])
        .unwrap();
        assert_eq!(cli.use_file, Path::new("/tmp/k.conf"));
        assert!(cli.vrrp && cli.check && cli.no_bfd && cli.all && cli.all_config);
        assert_eq!(cli.config_id.as_deref(), Some("lb1"));
        assert!(cli.dump_conf && cli.log_console && cli.no_syslog);
        assert_eq!(cli.log_detail, 2);
        assert_eq!(cli.log_facility, Some(LogFacility::Local(3)));
        assert!(cli.dont_fork && cli.dont_respawn && cli.release_vips && cli.dont_release_vrrp);
        assert_eq!(cli.namespace.as_deref(), Some("ns1"));
        assert_eq!(cli.umask, Some(0o22));
        assert!(cli.core_dump && cli.ignore_sigint && cli.flush_log_file);
        assert_eq!(cli.pid.as_deref(), Some(Path::new("/tmp/a.pid")));
        assert_eq!(cli.vrrp_pid.as_deref(), Some(Path::new("/tmp/b.pid")));

        let long = parse(&[
            "--use-file=/tmp/k.conf",
            "--vrrp",
            "--check",
            "--no_bfd",
            "--config-id=lb1",
            "--all-config",
            "--dump-conf",
            "--log-console",
            "--log-detail",
            "--log-facility=user",
            "--no-syslog",
            "--dont-fork",
            "--dont-respawn",
            "--release-vips",
            "--dont-release-vrrp",
            "--namespace=ns1",
            "--umask=0x12",
            "--core-dump",
            "--pid=/tmp/a.pid",
            "--vrrp_pid=/tmp/b.pid",
        ])
        .unwrap();
        assert_eq!(long.use_file, cli.use_file);
        assert_eq!(long.log_facility, Some(LogFacility::User));
        assert_eq!(long.umask, Some(0x12));
        assert_eq!(long.log_detail, 1);
    }

    #[test]
    fn optional_values_need_equals() {
        assert_eq!(parse(&["-t"]).unwrap().config_test, Some(None));
        assert_eq!(
            parse(&["--config-test=/tmp/t.log"]).unwrap().config_test,
            Some(Some(PathBuf::from("/tmp/t.log")))
        );
        assert_eq!(
            parse(&["-t=/tmp/t.log"]).unwrap().config_test,
            Some(Some(PathBuf::from("/tmp/t.log")))
        );
        assert_eq!(parse(&["-g"]).unwrap().log_file, Some(None));
        assert_eq!(
            parse(&["--log-file=/tmp/k.log"]).unwrap().log_file,
            Some(Some(PathBuf::from("/tmp/k.log")))
        );
        assert_eq!(parse(&["-M"]).unwrap().core_dump_pattern, Some(None));
        assert_eq!(
            parse(&["--core-dump-pattern=core.%p"])
                .unwrap()
                .core_dump_pattern,
            Some(Some("core.%p".to_string()))
        );
        // Without '=', the next word is not the optional value (getopt's `t::` behaviour).
        let cli = parse(&["-t", "-f", "/x.conf"]).unwrap();
        assert_eq!(cli.config_test, Some(None));
        assert_eq!(cli.use_file, Path::new("/x.conf"));
    }

    #[test]
    fn signum_names_and_numbers() {
        for (name, number) in [
            ("STOP", 15),
            ("RELOAD", 1),
            ("DATA", 10),
            ("STATS", 12),
            ("STATS_CLEAR", 63),
            ("JSON", 36),
        ] {
            let cli = parse(&[&format!("--signum={name}")]).unwrap();
            assert_eq!(
                cli.signum.map(SigFunc::signal_number),
                Some(number),
                "{name}"
            );
        }
        assert!(
            parse(&["--signum=stop"]).is_err(),
            "keepalived's names are case-sensitive"
        );
        assert!(parse(&["--signum=FOO"]).is_err());
    }

    #[test]
    fn config_format_by_extension_or_flag() {
        assert_eq!(
            parse(&["-f", "a.yaml"]).unwrap().format(),
            ConfigFormat::Yaml
        );
        assert_eq!(
            parse(&["-f", "a.YML"]).unwrap().format(),
            ConfigFormat::Yaml
        );
        assert_eq!(
            parse(&["-f", "a.conf"]).unwrap().format(),
            ConfigFormat::Keepalived
        );
        assert_eq!(
            parse(&["-f", "a.conf", "--config-format", "yaml"])
                .unwrap()
                .format(),
            ConfigFormat::Yaml
        );
        assert_eq!(
            parse(&["-f", "a.yml", "--config-format=keepalived"])
                .unwrap()
                .format(),
            ConfigFormat::Keepalived
        );
    }

    #[test]
    fn bad_flags_are_errors() {
        assert!(parse(&["--foo"]).is_err());
        assert!(parse(&["-Z"]).is_err());
        assert!(parse(&["-S", "local9"]).is_err());
        assert!(parse(&["-u", "0999"]).is_err());
        assert!(parse(&["--config-format", "json"]).is_err());
        let help = parse(&["--help"]).unwrap_err();
        assert_eq!(help.kind(), clap::error::ErrorKind::DisplayHelp);
        let version = parse(&["-v"]).unwrap();
        assert!(version.version);
    }

    #[test]
    fn keepalived_only_flags_are_accepted_with_a_warning() {
        let cli = parse(&[
            "-x",
            "-A",
            "/s",
            "-I",
            "-c",
            "/c.pid",
            "-b",
            "/b.pid",
            "-a",
            "--config-fd=4",
            "--perf",
            "--debug=TpM",
            "-L",
            "-O",
            "--no-mem-check",
            "-T",
            "stray",
        ])
        .unwrap();
        assert!(cli.snmp && cli.dont_release_ipvs && cli.address_monitoring && cli.genhash);
        let warnings = cli.ignored_flags().join("\n");
        for what in [
            "-x/--snmp",
            "-c/--checkers_pid",
            "-b/--bfd_pid",
            "-a/--address-monitoring",
            "--config-fd",
            "--perf",
            "Unexpected argument(s): stray",
        ] {
            assert!(warnings.contains(what), "{what}: {warnings}");
        }
        // -I does nothing in keepalived either without IPVS: no warning.
        assert!(parse(&["-I", "-R", "-n"])
            .unwrap()
            .ignored_flags()
            .is_empty());
    }

    #[test]
    fn keepalived_name_and_version_line() {
        assert!(called_as_keepalived(std::ffi::OsStr::new(
            "/usr/sbin/keepalived"
        )));
        assert!(called_as_keepalived(std::ffi::OsStr::new("keepalived")));
        assert!(!called_as_keepalived(std::ffi::OsStr::new(
            "/usr/sbin/vrrpd"
        )));
        let text = version_text(true);
        assert!(text.starts_with("Keepalived v2.2.7 (vrrpd "), "{text}");
        assert!(text.contains("--enable-json"));
        assert!(version_text(false).starts_with("vrrpd v"));
    }
}
