//! `vrrp-netns`: command-line companion of the namespace test harness.

use std::path::PathBuf;

use clap::{Parser, Subcommand};

mod demo;

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
    /// Watch three vrrpd routers and a client elect, fail over (SIGKILL) and preempt in a
    /// throw-away lab, with live state, timings and the client's ARP entry (needs root).
    Demo(demo::DemoArgs),
    /// Benchmarks against keepalived (failover, coldstart, scale, cost, rate, all): a markdown
    /// report on stdout; exit status 1 if a validity check failed. See docs/PERFORMANCE.md.
    Bench(BenchArgs),
    /// Run keepalived.conf files under keepalived and under vrrpd in twin namespaces and
    /// report the differences in what can be seen from outside (addresses, routes, rules,
    /// links, notify lines, adverts, process settings, `-t`). Exit status 1 on a difference
    /// the expected list does not explain, or on a listed one that no longer occurs.
    Diff(DiffArgs),
}

/// Arguments of `vrrp-netns diff`.
#[derive(clap::Args)]
struct DiffArgs {
    /// The configuration files.
    #[arg(required = true)]
    files: Vec<PathBuf>,
    /// The keepalived binary, e.g. /opt/keepalived-2.4.3/sbin/keepalived.
    #[arg(long, default_value = vrrp_netns::keepalived::KEEPALIVED_BIN)]
    keepalived: PathBuf,
    /// The vrrpd binary (default: $VRRPD_BIN or the workspace's target/debug/vrrpd).
    #[arg(long)]
    vrrpd: Option<PathBuf>,
    /// The expected-differences list (default: the expected.yaml next to the corpus/
    /// directory holding the file, if any).
    #[arg(long)]
    expected: Option<PathBuf>,
    /// Two nodes per implementation: kill the Active, compare what follows the new one.
    #[arg(long)]
    pair: bool,
    /// Pair mode: kill the Active with SIGTERM instead of SIGKILL.
    #[arg(long)]
    term: bool,
    /// Files run at once.
    #[arg(long, default_value_t = 3)]
    jobs: usize,
    /// Print the reports as JSON.
    #[arg(long)]
    json: bool,
}

fn diff(args: DiffArgs) -> std::process::ExitCode {
    use vrrp_netns::differential::{self, report, Context, DiffOptions};
    let fail = |e: vrrp_netns::Error| {
        eprintln!("vrrp-netns diff: {e}");
        std::process::ExitCode::FAILURE
    };
    let vrrpd = match args.vrrpd {
        Some(p) => p,
        None => match vrrp_netns::vrrpd_binary() {
            Ok(p) => p,
            Err(e) => return fail(e),
        },
    };
    let expected = args
        .expected
        .or_else(|| differential::find_expected(&args.files[0]));
    let opts = DiffOptions {
        keepalived: args.keepalived,
        vrrpd,
        expected,
        jobs: args.jobs,
        pair_signal: if args.term {
            vrrp_netns::Signal::SIGTERM
        } else {
            vrrp_netns::Signal::SIGKILL
        },
    };
    let ctx = match Context::new(opts) {
        Ok(c) => c,
        Err(e) => return fail(e),
    };
    let reports = ctx.run_all(&args.files, args.pair);
    if args.json {
        match serde_json::to_string_pretty(&reports) {
            Ok(j) => println!("{j}"),
            Err(e) => eprintln!("vrrp-netns diff: {e}"),
        }
    } else {
        print!("{}", report::render_all(&reports));
    }
    if reports.iter().all(|r| r.passed()) {
        std::process::ExitCode::SUCCESS
    } else {
        std::process::ExitCode::FAILURE
    }
}

/// Arguments of `vrrp-netns bench`.
#[derive(clap::Args)]
struct BenchArgs {
    /// failover, coldstart, scale, cost, rate or all.
    name: String,
    /// Repetitions per figure and implementation (default: 20 for failover, 5 otherwise).
    #[arg(long)]
    reps: Option<usize>,
    /// Smoke-test mode: few repetitions, small sizes, short windows.
    #[arg(long)]
    quick: bool,
    /// Cost window in seconds (default 60; quick 3).
    #[arg(long)]
    window: Option<u64>,
    /// Cost only: numbers of virtual routers to run, e.g. `--sizes 1,1000` (default 1, 200
    /// and 1,000; quick 20).
    #[arg(long, value_delimiter = ',')]
    sizes: Vec<usize>,
    /// Cost only: advertisement intervals in centiseconds, e.g. `--intervals 100` (default
    /// 100 and 10; quick 10).
    #[arg(long, value_delimiter = ',')]
    intervals: Vec<u16>,
    /// Also write the report to this file.
    #[arg(long)]
    out: Option<PathBuf>,
}

fn bench(args: BenchArgs) -> std::process::ExitCode {
    use vrrp_netns::bench::{self, BenchName, BenchOptions};
    let Some(name) = BenchName::parse(&args.name) else {
        eprintln!(
            "vrrp-netns bench: unknown benchmark {:?} (failover, coldstart, scale, cost, rate, all)",
            args.name
        );
        return std::process::ExitCode::from(2);
    };
    let opts = BenchOptions {
        reps: args.reps,
        quick: args.quick,
        window: args.window.map(std::time::Duration::from_secs),
        verbose: true,
        cost_sizes: args.sizes,
        cost_intervals: args.intervals,
    };
    match bench::run(name, &opts) {
        Ok(report) => {
            print!("{report}");
            if let Some(path) = &args.out {
                if let Err(e) = std::fs::write(path, report.to_string()) {
                    eprintln!("vrrp-netns bench: write {}: {e}", path.display());
                }
            }
            if report.valid() {
                std::process::ExitCode::SUCCESS
            } else {
                std::process::ExitCode::FAILURE
            }
        }
        Err(e) => {
            eprintln!("vrrp-netns bench {}: {e}", args.name);
            std::process::ExitCode::FAILURE
        }
    }
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
        Cmd::Bench(args) => bench(args),
        Cmd::Diff(args) => diff(args),
        Cmd::Demo(args) => demo::run(&args),
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
