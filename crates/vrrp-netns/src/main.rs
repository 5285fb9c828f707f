//! `vrrp-netns`: command-line companion of the namespace test harness.

use std::path::PathBuf;

use clap::{Parser, Subcommand};

/// Network-namespace lab tool for vrrpd tests.
#[derive(Parser)]
#[command(name = "vrrp-netns", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Remove namespaces and links left behind by test processes that are no longer alive.
    Cleanup,
    /// Run a scenario file in a fresh lab and print a pass/fail report with the timeline.
    /// Exit status 0 if every step passed, 1 if a step failed or it could not run.
    Run {
        /// The scenario (YAML), e.g. conformance/scenarios/ka_frr_v4_pseudo_header.yaml.
        file: PathBuf,
    },
    // Room for `demo` and `bench` (not implemented yet).
}

fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Cmd::Cleanup => match vrrp_netns::cleanup_leftovers() {
            Ok(removed) => {
                if removed.is_empty() {
                    println!("nothing to clean up");
                } else {
                    for name in &removed {
                        println!("removed {name}");
                    }
                }
                std::process::ExitCode::SUCCESS
            }
            Err(e) => {
                eprintln!("vrrp-netns cleanup: {e}");
                std::process::ExitCode::FAILURE
            }
        },
        Cmd::Run { file } => match vrrp_netns::scenario::run(&file) {
            Ok(report) => {
                print!("{report}");
                if report.passed {
                    std::process::ExitCode::SUCCESS
                } else {
                    std::process::ExitCode::FAILURE
                }
            }
            Err(e) => {
                eprintln!("vrrp-netns run {}: {e}", file.display());
                std::process::ExitCode::FAILURE
            }
        },
    }
}
