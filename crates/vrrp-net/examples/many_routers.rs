//! Benchmark for issues #3/#6: one process holding N virtual routers, all Active (no peer),
//! advertising every `--interval-cs` centiseconds for `--duration-secs`, then printing the
//! CPU time used in that window (`/proc/self/stat` utime + stime), the RSS (`VmRSS`,
//! `/proc/self/status`) and the PSS (`/proc/self/smaps_rollup`).
//!
//! A VRID is unique per interface and family, so the routers are spread round-robin over
//! the given interfaces (router `i` gets interface `i % n` and VRID `i / n + 1`). Run it as
//! root inside a network namespace of its own, for example:
//!
//! ```text
//! ip netns add vrrpbench
//! for i in 0 1 2 3; do
//!   ip -n vrrpbench link add b$i type veth peer name p$i
//!   ip -n vrrpbench addr add 192.0.2.$((i+1))/32 dev b$i
//!   ip -n vrrpbench link set b$i up; ip -n vrrpbench link set p$i up
//! done
//! ip netns exec vrrpbench target/release/examples/many_routers \
//!     --interfaces b0,b1,b2,b3 --routers 200 --interval-cs 10 --duration-secs 60
//! ip netns del vrrpbench
//! ```
//!
//! VIPs are 198.51.100.1.. then 203.0.113.1.. (/32, at most 508 routers), Accept_Mode on.
//! With `--vmac`, every router gets a private-mode VMAC macvlan named `vb<i>`.

use std::net::{IpAddr, Ipv4Addr};
use std::time::{Duration, Instant};

use vrrp_core::{RouterConfig, State};
use vrrp_net::driver::{self, DriverConfig, Event, InstanceSpec, VmacSpec};
use vrrp_net::VipSpec;

struct Args {
    interfaces: Vec<String>,
    routers: usize,
    interval_cs: u16,
    duration: Duration,
    vmac: bool,
}

fn parse_args() -> Result<Args, String> {
    let mut a = Args {
        interfaces: Vec::new(),
        routers: 200,
        interval_cs: 10,
        duration: Duration::from_secs(30),
        vmac: false,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        if flag == "--vmac" {
            a.vmac = true;
            continue;
        }
        let v = it.next().ok_or_else(|| format!("{flag} needs a value"))?;
        let bad = |what: &str| format!("{flag} {v}: expected {what}");
        match flag.as_str() {
            "--interfaces" => a.interfaces = v.split(',').map(str::to_string).collect(),
            "--routers" => a.routers = v.parse().map_err(|_| bad("a count"))?,
            "--interval-cs" => a.interval_cs = v.parse().map_err(|_| bad("1..4095"))?,
            "--duration-secs" => {
                a.duration = Duration::from_secs(v.parse().map_err(|_| bad("seconds"))?)
            }
            _ => return Err(format!("unknown flag {flag}")),
        }
    }
    if a.interfaces.is_empty() {
        return Err("--interfaces IF[,IF...] is required".into());
    }
    if a.routers > 508 {
        return Err("at most 508 routers (documentation VIP ranges)".into());
    }
    if a.routers.div_ceil(a.interfaces.len()) > 255 {
        return Err("more than 255 routers per interface: add interfaces".into());
    }
    Ok(a)
}

fn vip(i: usize) -> Ipv4Addr {
    if i < 254 {
        Ipv4Addr::new(198, 51, 100, i as u8 + 1)
    } else {
        Ipv4Addr::new(203, 0, 113, (i - 254) as u8 + 1)
    }
}

/// utime + stime of this process, in seconds.
fn cpu_secs() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").expect("/proc/self/stat");
    // Fields after the parenthesised command name; utime and stime are fields 14 and 15.
    let rest = &stat[stat.rfind(')').expect("comm") + 2..];
    let f: Vec<&str> = rest.split_whitespace().collect();
    let ticks: u64 = f[11].parse::<u64>().unwrap() + f[12].parse::<u64>().unwrap();
    ticks as f64 / clk_tck()
}

fn clk_tck() -> f64 {
    std::process::Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|o| String::from_utf8_lossy(&o.stdout).trim().parse().ok())
        .unwrap_or(100.0)
}

/// A `Key:   N kB` line of a /proc file, in kB.
fn kb(path: &str, key: &str) -> Option<u64> {
    std::fs::read_to_string(path)
        .ok()?
        .lines()
        .find(|l| l.starts_with(key))?
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), String> {
    let args = parse_args()?;
    let n_if = args.interfaces.len();
    let instances = (0..args.routers)
        .map(|i| {
            let addr = IpAddr::V4(vip(i));
            let vrid = (i / n_if + 1) as u8;
            let mut r =
                RouterConfig::new(&format!("VI_{i}"), vrid, [0, 0, 0, 0].into(), vec![addr]);
            r.priority = 200;
            r.advert_interval_cs = args.interval_cs;
            r.accept_mode = true;
            let mut spec = InstanceSpec::new(r, args.interfaces[i % n_if].clone());
            spec.vips = vec![VipSpec::new(addr, 32)];
            if args.vmac {
                spec.vmac = Some(VmacSpec::new().named(format!("vb{i}")));
            }
            spec
        })
        .collect();
    let started = Instant::now();
    let handle = driver::start(DriverConfig::new(instances))
        .await
        .map_err(|e| e.to_string())?;
    let mut events = handle.subscribe();
    let mut active = 0;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    while active < args.routers {
        match tokio::time::timeout_at(deadline, events.recv()).await {
            Ok(Ok(Event::StateChanged {
                to: State::Active, ..
            })) => active += 1,
            Ok(Ok(_)) => {}
            Ok(Err(e)) => return Err(format!("events: {e}")),
            Err(_) => return Err(format!("only {active} of {} routers Active", args.routers)),
        }
    }
    let settle = started.elapsed();
    let cpu0 = cpu_secs();
    let t0 = Instant::now();
    tokio::time::sleep(args.duration).await;
    let cpu = cpu_secs() - cpu0;
    let window = t0.elapsed().as_secs_f64();
    let status = handle.status().await.map_err(|e| e.to_string())?;
    let adverts: u64 = status
        .instances
        .iter()
        .map(|s| s.router.stats.adverts_tx)
        .sum();
    let rss = kb("/proc/self/status", "VmRSS:");
    let pss = kb("/proc/self/smaps_rollup", "Pss:");
    println!(
        "routers={} interfaces={} interval_cs={} vmac={} all_active_after={:.2}s",
        args.routers,
        n_if,
        args.interval_cs,
        args.vmac,
        settle.as_secs_f64()
    );
    println!(
        "window={window:.1}s cpu={cpu:.3}s cpu_pct={:.2}% total_cpu={:.3}s adverts_tx={adverts}",
        100.0 * cpu / window,
        cpu_secs()
    );
    println!(
        "VmRSS={} kB Pss={} kB",
        rss.map_or("?".into(), |v| v.to_string()),
        pss.map_or("?".into(), |v| v.to_string())
    );
    handle.shutdown().await.map_err(|e| e.to_string())
}
