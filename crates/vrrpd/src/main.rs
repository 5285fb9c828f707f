//! `vrrpd`: the keepalived-compatible VRRP daemon's command line front end.
//!
//! Implemented here: `--signum`, `-v`, `-t`, `-d`, `-u`, `--convert`, the warnings about
//! keepalived flags vrrpd accepts but does not act on, `-T` (refused: genhash is not a
//! daemon); a normal run loads the configuration and hands over to
//! [`vrrpd::daemon::run_daemon`].

use std::io::Write;
use std::path::Path;
use std::process::ExitCode;

use vrrpd::cli::{self, Cli};
use vrrpd::config::{Diagnostic, ExitClass};
use vrrpd::loader::{self, Outcome};
use vrrpd::{daemon, yaml};

/// keepalived's exit code for configuration errors at startup (`KEEPALIVED_EXIT_CONFIG`).
const EXIT_CONFIG: u8 = 2;

/// keepalived's exit code when it cannot do what it is asked (`KEEPALIVED_EXIT_FATAL`).
const EXIT_FATAL: u8 = 1;

fn main() -> ExitCode {
    let args: Vec<std::ffi::OsString> = std::env::args_os().collect();
    // keepalived's genhash mode takes the rest of the command line as its own arguments.
    if args.get(1).is_some_and(|a| a == "-T" || a == "--genhash") {
        return genhash();
    }
    if args.first().is_some_and(|a| cli::called_as_keepalived(a)) {
        // Started as keepalived (e.g. systemd's `ExecStart=@/usr/sbin/vrrpd keepalived`):
        // the process name too, which `pgrep keepalived` and `pidof keepalived` match. (Run
        // through a `keepalived` link, the kernel already named it so.)
        let _ = nix::sys::prctl::set_name(c"keepalived");
    }
    let cli = match Cli::parse_args(&args) {
        Ok(cli) => cli,
        Err(err) => {
            let _ = err.print();
            return match err.kind() {
                clap::error::ErrorKind::DisplayHelp | clap::error::ErrorKind::DisplayVersion => {
                    ExitCode::SUCCESS
                }
                // keepalived exits 1 on an unknown option or a bad value.
                _ => ExitCode::from(1),
            };
        }
    };
    if let Some(sig) = cli.signum {
        println!("{}", sig.signal_number());
        return ExitCode::SUCCESS;
    }
    if cli.version {
        // keepalived prints its version on stderr.
        let as_keepalived = args.first().is_some_and(|a| cli::called_as_keepalived(a));
        eprint!("{}", cli::version_text(as_keepalived));
        return ExitCode::SUCCESS;
    }
    if cli.genhash {
        return genhash();
    }
    for warning in cli.ignored_flags() {
        eprintln!("vrrpd: warning: {warning}");
    }
    if let Some(mask) = cli.umask {
        nix::sys::stat::umask(nix::sys::stat::Mode::from_bits_truncate(mask));
    }

    let outcome = loader::load(&cli);
    if let Some(logfile) = &cli.config_test {
        return config_test(&cli, logfile.as_deref(), &outcome);
    }
    let loaded = match outcome {
        Outcome::Loaded(loaded) => loaded,
        Outcome::Failed { diagnostics, class } => {
            print_diagnostics(&diagnostics);
            return ExitCode::from(if cli.convert {
                class.code() as u8
            } else {
                EXIT_CONFIG
            });
        }
    };
    print_diagnostics(&loaded.warnings);
    if cli.convert || cli.dump_conf {
        match yaml::to_yaml(&loaded.config) {
            Ok(text) => print!("{text}"),
            Err(err) => {
                eprintln!("vrrpd: {err}");
                return ExitCode::from(1);
            }
        }
        if cli.convert {
            return ExitCode::SUCCESS;
        }
    }
    if cli.all_config && loaded.exit_class() != ExitClass::Ok {
        eprintln!("vrrpd: configuration errors and -e/--all-config given, not starting");
        return ExitCode::from(EXIT_CONFIG);
    }
    daemon::run_daemon(&cli, *loaded)
}

/// `-T`: keepalived's genhash utility (a health-checker tool), which vrrpd does not have.
fn genhash() -> ExitCode {
    eprintln!(
        "vrrpd: -T/--genhash is keepalived's health-checker utility; vrrpd only implements \
         VRRP (use genhash from the keepalived package)"
    );
    ExitCode::from(EXIT_FATAL)
}

fn print_diagnostics(diagnostics: &[Diagnostic]) {
    for d in diagnostics {
        eprintln!("{d}");
    }
}

/// `-t[=LOGFILE]`: diagnostics to stderr (or LOGFILE), exit with keepalived's `-t` class.
fn config_test(cli: &Cli, logfile: Option<&Path>, outcome: &Outcome) -> ExitCode {
    let (diagnostics, class, config) = match outcome {
        Outcome::Loaded(loaded) => (&loaded.warnings, loaded.exit_class(), Some(&loaded.config)),
        Outcome::Failed { diagnostics, class } => (diagnostics, *class, None),
    };
    let mut text: String = diagnostics.iter().map(|d| format!("{d}\n")).collect();
    if let (true, Some(config)) = (cli.dump_conf, config) {
        match yaml::to_yaml(config) {
            Ok(yaml) => print!("{yaml}"),
            Err(err) => text.push_str(&format!("vrrpd: {err}\n")),
        }
    }
    match logfile {
        Some(path) => {
            let written = std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(path)
                .and_then(|mut f| f.write_all(text.as_bytes()));
            if let Err(err) = written {
                eprintln!("vrrpd: cannot write {}: {err}", path.display());
                eprint!("{text}");
            }
        }
        None => eprint!("{text}"),
    }
    ExitCode::from(class.code() as u8)
}
