//! `vrrp-netns`: command-line companion of the namespace test harness.

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
    // Room for `demo`, `run` and `bench` (not implemented yet).
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
    }
}
