//! Two vrrp-core routers driven by hand on virtual time, with no network and no clock.
//!
//! Router A (priority 100) and router B (priority 200) start together. B wins the election,
//! then B shuts down (priority-0 advert) and A takes over within Skew_Time. Every advert is
//! really encoded and parsed, so this is the loop a data plane runs, minus the sockets.
//!
//! Run with `cargo run -p vrrp-examples --example drive_by_hand`.

use std::net::IpAddr;

use vrrp_core::packet::{self, RxMeta};
use vrrp_core::{Command, Event, Input, Instant, Router, RouterConfig};

fn main() {
    let vip: IpAddr = "192.0.2.1".parse().unwrap();
    let mut routers = [
        router("A", "192.0.2.10", 100, vip),
        router("B", "192.0.2.11", 200, vip),
    ];
    let mut now = Instant::ZERO;
    for r in routers.iter_mut() {
        r.handle(now, Input::Startup);
    }
    let b_leaves_at = Instant::from_micros(10_000_000);
    let mut b_left = false;
    while now < Instant::from_micros(15_000_000) {
        deliver(&mut routers, now);
        let next = routers.iter().filter_map(Router::poll_timeout).min();
        let next = if b_left {
            next
        } else {
            next.map(|t| t.min(b_leaves_at))
        };
        let Some(next) = next else { break };
        now = next;
        if !b_left && now >= b_leaves_at {
            b_left = true;
            println!("{now}  B shuts down");
            routers[1].handle(now, Input::Shutdown);
            continue;
        }
        for r in routers.iter_mut() {
            r.handle_timeout(now);
        }
    }
}

fn router(name: &str, primary: &str, priority: u8, vip: IpAddr) -> Router {
    let mut cfg = RouterConfig::new(name, 51, primary.parse().unwrap(), vec![vip]);
    cfg.priority = priority;
    Router::new(cfg).expect("valid config")
}

/// Drains every router's outputs in vrrp-core's order (adverts, kernel commands, events);
/// adverts are written, parsed and handed to the other router.
fn deliver(routers: &mut [Router; 2], now: Instant) {
    let mut buf = Vec::new();
    loop {
        let mut progressed = false;
        for i in 0..routers.len() {
            let name = routers[i].config().name.clone();
            while let Some(tx) = routers[i].poll_transmit(&mut buf) {
                progressed = true;
                let meta = RxMeta {
                    src: tx.src,
                    dst: tx.dst,
                    ttl: 255,
                    ifindex: 1,
                };
                let advert = packet::parse(&buf[..tx.len], meta).expect("valid advert");
                let _ = routers[1 - i].handle_advert(now, &advert);
            }
            while let Some(command) = routers[i].poll_command() {
                progressed = true;
                match command {
                    Command::AddVip(ip) => println!("{now}  {name}: add {ip}"),
                    Command::RemoveVip(ip) => println!("{now}  {name}: remove {ip}"),
                    Command::Announce(_)
                    | Command::Probe(_)
                    | Command::AddRoutes
                    | Command::RemoveRoutes => {}
                }
            }
            while let Some(event) = routers[i].poll_event() {
                progressed = true;
                if let Event::StateChanged { from, to, reason } = event {
                    println!("{now}  {name}: {from} -> {to} ({reason})");
                }
            }
        }
        if !progressed {
            return;
        }
    }
}
