//! `cargo xtask`: the project's automation, so that a fresh machine needs only Rust.
//!
//! - `setup`: installs the system packages the test suites need (apt on Debian/Ubuntu; a
//!   list of what to install elsewhere) and builds the interop peers ([`peers`]).
//! - `test [ARGS]`: `setup`, then `cargo test --workspace ARGS` (the README's test command).
//! - `deb`: the Debian packages `vrrpd` and `vrrpd-keepalived` with cargo-deb ([`deb`]).
//! - `package`: `deb`, then the package test (`xtask/tests/package.rs`).

mod cmd;
mod deb;
mod error;
mod peers;
mod setup;

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Parser, Subcommand};

use crate::error::Error;

/// Project automation for vrrpd.
#[derive(Debug, Parser)]
#[command(name = "cargo xtask", bin_name = "cargo xtask", max_term_width = 100)]
struct Cli {
    #[command(subcommand)]
    task: Task,
}

#[derive(Debug, Subcommand)]
enum Task {
    /// Install what the test suites need: system packages and the interop peers.
    Setup(SetupArgs),
    /// `setup`, then `cargo test --workspace` with the remaining arguments.
    Test {
        #[command(flatten)]
        setup: SetupArgs,
        /// Passed on to `cargo test --workspace` (e.g. `-- --test-threads 1`).
        #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
        cargo_args: Vec<String>,
    },
    /// Build the Debian packages (release build) into target/debian.
    Deb,
    /// `deb`, then install the packages into a throw-away root and test them.
    Package,
}

/// Options of `setup` (and of `test`).
#[derive(Debug, Clone, clap::Args)]
struct SetupArgs {
    /// Do not build the interop peers (keepalived 2.4.3); the tests that need them then fail.
    #[arg(long)]
    no_peers: bool,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli.task) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("cargo xtask: {e}");
            ExitCode::FAILURE
        }
    }
}

fn run(task: Task) -> Result<ExitCode, Error> {
    let root = workspace_root();
    std::env::set_current_dir(&root).map_err(|source| Error::Io {
        what: format!("cd {}", root.display()),
        source,
    })?;
    match task {
        Task::Setup(args) => {
            setup_for_tests(&root, &args)?;
            Ok(ExitCode::SUCCESS)
        }
        Task::Test { setup, cargo_args } => {
            setup::require_root("the network test suites build namespaces")?;
            let env = setup_for_tests(&root, &setup)?;
            let mut args = vec!["test".to_string(), "--workspace".to_string()];
            args.extend(cargo_args);
            cmd::cargo_status(&root, &args, &env)
        }
        Task::Deb => {
            deb::build(&root)?;
            Ok(ExitCode::SUCCESS)
        }
        Task::Package => {
            setup::require_root("the package test installs into a throw-away root")?;
            let debs = deb::build(&root)?;
            deb::test(&root, &debs)
        }
    }
}

/// Installs the suites' system packages and, unless told not to, builds the peers; returns
/// the environment the tests get (where the peers are).
fn setup_for_tests(root: &Path, args: &SetupArgs) -> Result<Vec<(String, String)>, Error> {
    setup::ensure(setup::TEST_REQUIREMENTS)?;
    if args.no_peers {
        println!("setup: interop peers not built (--no-peers)");
        return Ok(Vec::new());
    }
    peers::ensure_all(root)
}

/// The workspace root: the parent of this crate's directory.
fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("xtask lives in the workspace root")
        .to_path_buf()
}
