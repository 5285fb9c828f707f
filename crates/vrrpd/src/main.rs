//! `vrrpd`: the keepalived-compatible VRRP daemon's command line front end.
//!
//! Implemented here: `--signum`, `-v`, `-t`, `-d`, `--convert`; a normal run loads the
//! configuration and hands over to [`vrrpd::daemon::run_daemon`].

use std::io::Write;
use std::path::Path;
use std::process::ExitCode;

use vrrpd::cli::{Cli, ConfigFormat};
use vrrpd::config::{self, Diagnostic, ExitClass, Impact, LoadOptions, Loaded};
use vrrpd::{daemon, yaml};

/// keepalived's exit code for configuration errors at startup (`KEEPALIVED_EXIT_CONFIG`).
const EXIT_CONFIG: u8 = 2;

fn main() -> ExitCode {
    let cli = match Cli::parse_args(std::env::args_os()) {
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
        eprintln!(
            "vrrpd v{} (keepalived-compatible VRRP daemon; configuration as Keepalived v2.2.7)",
            env!("CARGO_PKG_VERSION")
        );
        return ExitCode::SUCCESS;
    }
    if cli.check {
        eprintln!("vrrpd: -C/--check ignored: vrrpd only implements the VRRP subsystem");
    }

    let outcome = load(&cli);
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

/// The result of loading the configuration file.
enum Outcome {
    /// Loaded without errors.
    Loaded(Box<Loaded>),
    /// Not usable.
    Failed {
        diagnostics: Vec<Diagnostic>,
        class: ExitClass,
    },
}

fn load(cli: &Cli) -> Outcome {
    match cli.format() {
        ConfigFormat::Yaml => match yaml::load_yaml(&cli.use_file) {
            Ok(config) => Outcome::Loaded(Box::new(Loaded {
                config,
                warnings: Vec::new(),
            })),
            Err(err) => Outcome::Failed {
                diagnostics: vec![Diagnostic::new(
                    config::Severity::Error,
                    Impact::Fatal,
                    &config::Span::new(cli.use_file.display().to_string().into(), 0, 0),
                    err.to_string(),
                )],
                class: ExitClass::Fatal,
            },
        },
        ConfigFormat::Keepalived => match config::load(&cli.use_file, &load_options(cli)) {
            Ok(loaded) => Outcome::Loaded(Box::new(loaded)),
            Err(errors) => Outcome::Failed {
                class: errors.exit_class(),
                diagnostics: errors.diagnostics,
            },
        },
    }
}

fn load_options(cli: &Cli) -> LoadOptions {
    let config_id = cli.config_id.clone().unwrap_or_else(short_hostname);
    // A conversion may run on another machine: don't check the host's interfaces then.
    let known_interfaces = if cli.convert { None } else { host_interfaces() };
    let passwd = std::fs::read_to_string("/etc/passwd").unwrap_or_default();
    LoadOptions {
        config_id,
        known_interfaces,
        keepalived_script_user_exists: passwd.lines().any(|l| l.starts_with("keepalived_script:")),
        check_script_paths: true,
    }
}

fn short_hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .unwrap_or_default()
        .trim()
        .split('.')
        .next()
        .unwrap_or_default()
        .to_string()
}

fn host_interfaces() -> Option<Vec<String>> {
    let entries = std::fs::read_dir("/sys/class/net").ok()?;
    Some(
        entries
            .filter_map(Result::ok)
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .collect(),
    )
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
