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
}
