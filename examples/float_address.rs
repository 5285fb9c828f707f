//! Float one address between processes with vrrp-net: the smallest useful embedding.
//!
//! Start it on two hosts (or two network namespaces on one segment) with different
//! priorities; the higher one holds the address, the other takes over when it stops or dies.
//!
//! ```text
//! float-address --interface eth0 --vip 192.0.2.100/24 --priority 150 [--vrid 51]
//!               [--interval-cs 100] [--lease-secs 10]
//! ```
//!
//! State changes are printed as one line each (`STATE <from> <to> <reason>`). SIGTERM or
//! Ctrl-C stops it cleanly: priority-0 advert, address removed. With `--lease-secs`, the kernel
//! removes the address by itself if the process is killed with SIGKILL.

use std::net::IpAddr;
use std::process::ExitCode;
use std::time::Duration;

use tokio::signal::unix::{signal, SignalKind};
use vrrp_core::RouterConfig;
use vrrp_net::driver::{self, DriverConfig, Event, InstanceSpec};
use vrrp_net::VipSpec;

struct Args {
    interface: String,
    vip: IpAddr,
    prefix: u8,
    priority: u8,
    vrid: u8,
    interval_cs: u16,
    lease: Option<Duration>,
}

fn parse_args() -> Result<Args, String> {
    let mut args = Args {
        interface: String::new(),
        vip: IpAddr::from([0, 0, 0, 0]),
        prefix: 32,
        priority: 100,
        vrid: 51,
        interval_cs: 100,
        lease: None,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let value = it.next().ok_or_else(|| format!("{flag} needs a value"))?;
        let bad = |what: &str| format!("{flag} {value}: expected {what}");
        match flag.as_str() {
            "--interface" => args.interface = value,
            "--vip" => {
                let (addr, len) = value.split_once('/').unwrap_or((&value, ""));
                args.vip = addr.parse().map_err(|_| bad("an address[/prefix]"))?;
                args.prefix = match len {
                    "" if args.vip.is_ipv4() => 32,
                    "" => 128,
                    l => l.parse().map_err(|_| bad("a prefix length"))?,
                };
            }
            "--priority" => args.priority = value.parse().map_err(|_| bad("1..255"))?,
            "--vrid" => args.vrid = value.parse().map_err(|_| bad("1..255"))?,
            "--interval-cs" => args.interval_cs = value.parse().map_err(|_| bad("1..4095"))?,
            "--lease-secs" => {
                args.lease = Some(Duration::from_secs(
                    value.parse().map_err(|_| bad("seconds"))?,
                ))
            }
            _ => return Err(format!("unknown flag {flag}")),
        }
    }
    if args.interface.is_empty() || args.vip.is_unspecified() {
        return Err("--interface and --vip are required".into());
    }
    Ok(args)
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .init();
    let args = match parse_args() {
        Ok(a) => a,
        Err(e) => {
            eprintln!("float_address: {e}");
            return ExitCode::from(2);
        }
    };
    let any: IpAddr = if args.vip.is_ipv4() {
        [0, 0, 0, 0].into()
    } else {
        [0u16; 8].into()
    };
    let mut router = RouterConfig::new("float", args.vrid, any, vec![args.vip]);
    router.priority = args.priority;
    router.advert_interval_cs = args.interval_cs;
    // The floated address serves traffic: accept packets addressed to it (RFC 9568
    // Accept_Mode; with it off the driver would drop them with an nftables table).
    router.accept_mode = true;
    let mut instance = InstanceSpec::new(router, args.interface.clone());
    instance.vips = vec![VipSpec::new(args.vip, args.prefix)];
    let mut cfg = DriverConfig::new(vec![instance]);
    cfg.vip_lease = args.lease;
    let handle = match driver::start(cfg).await {
        Ok(h) => h,
        Err(e) => {
            eprintln!("float_address: {e}");
            return ExitCode::FAILURE;
        }
    };
    let mut events = handle.subscribe();
    let mut term = signal(SignalKind::terminate()).expect("signal handler");
    println!("READY");
    loop {
        tokio::select! {
            ev = events.recv() => {
                if let Ok(Event::StateChanged { from, to, reason, .. }) = ev {
                    println!("STATE {from} {to} {reason}");
                }
            }
            _ = term.recv() => break,
            _ = tokio::signal::ctrl_c() => break,
        }
    }
    match handle.shutdown().await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("float_address: {e}");
            ExitCode::FAILURE
        }
    }
}
