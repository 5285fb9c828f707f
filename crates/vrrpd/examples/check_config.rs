//! Prints the diagnostics of a configuration file and exits with the `keepalived -t` class.
//!
//! Usage: `cargo run -p vrrpd --example check_config -- FILE [CONFIG_ID]`.

use std::path::PathBuf;

use vrrpd::config::{load, LoadOptions};

fn main() {
    let mut args = std::env::args().skip(1);
    let Some(path) = args.next().map(PathBuf::from) else {
        eprintln!("usage: check_config FILE [CONFIG_ID]");
        std::process::exit(2);
    };
    let interfaces = vrrpd::loader::host_interfaces();
    let options = LoadOptions {
        config_id: args.next().unwrap_or_default(),
        known_interfaces: interfaces,
        keepalived_script_user_exists: false,
        check_script_paths: true,
    };
    let (diagnostics, class) = match load(&path, &options) {
        Ok(loaded) => {
            let class = loaded.exit_class();
            (loaded.warnings, class)
        }
        Err(errors) => {
            let class = errors.exit_class();
            (errors.diagnostics, class)
        }
    };
    for d in &diagnostics {
        eprintln!("{:?}/{:?}: {d}", d.severity, d.impact);
    }
    std::process::exit(class.code());
}
