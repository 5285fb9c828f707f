//! Loading the configuration named on the command line, the same way at startup and on
//! reload (SIGHUP): keepalived.conf with this host's config id, interfaces and script users,
//! or the YAML form.

use crate::cli::{Cli, ConfigFormat};
use crate::config::{self, Diagnostic, ExitClass, Impact, LoadOptions, Loaded};
use crate::yaml;

/// The result of loading the configuration file.
#[derive(Debug)]
pub enum Outcome {
    /// Loaded without errors (`warnings` may hold diagnostics that did not prevent it).
    Loaded(Box<Loaded>),
    /// Not usable.
    Failed {
        /// Every diagnostic, errors and warnings, in the order found.
        diagnostics: Vec<Diagnostic>,
        /// keepalived's `-t` class of the failure.
        class: ExitClass,
    },
}

impl Outcome {
    /// Whether the daemon may run this configuration: it loaded, and with `-e`/`--all-config`
    /// not even a diagnostic of an error class was reported.
    pub fn runnable(&self, cli: &Cli) -> bool {
        match self {
            Outcome::Loaded(loaded) => !cli.all_config || loaded.exit_class() == ExitClass::Ok,
            Outcome::Failed { .. } => false,
        }
    }
}

/// Loads `cli.use_file` in the format the command line selects.
pub fn load(cli: &Cli) -> Outcome {
    match cli.format() {
        ConfigFormat::Yaml => match yaml::load_yaml(&cli.use_file) {
            Ok(config) => {
                let file = cli.use_file.display().to_string();
                let refusals = config::auth_hmac::refusals(&config, &file);
                if refusals.is_empty() {
                    Outcome::Loaded(Box::new(Loaded {
                        config,
                        warnings: Vec::new(),
                        not_acted_on: Vec::new(),
                    }))
                } else {
                    Outcome::Failed {
                        class: config::exit_class(&refusals),
                        diagnostics: refusals,
                    }
                }
            }
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

/// The load options for this host: config id (`-i`, else the short host name), the existing
/// interfaces (not checked for `--convert`, which may run elsewhere), whether the
/// `keepalived_script` user exists.
pub fn load_options(cli: &Cli) -> LoadOptions {
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

/// The interfaces of the network namespace vrrpd runs in, from a netlink link dump (glibc's
/// `if_nameindex`). Not `/sys/class/net`: that shows the namespace `/sys` was mounted in,
/// which is not this one when vrrpd was moved with a bare `setns` (`nsenter --net`, a
/// harness). `None` when the dump fails: the check is skipped rather than guessed.
pub fn host_interfaces() -> Option<Vec<String>> {
    let interfaces = nix::net::if_::if_nameindex().ok()?;
    Some(
        interfaces
            .iter()
            .map(|i| i.name().to_string_lossy().into_owned())
            .collect(),
    )
}
