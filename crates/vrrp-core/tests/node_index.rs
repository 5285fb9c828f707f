//! `Node` keeps a heap of deadlines and a queue of routers with actions instead of scanning
//! every router on each event. These properties check it against plain routers driven with
//! the same inputs: the same actions per router, in order, and the earliest deadline.

mod common;

use common::{drain, drain_node as drain_all, v4_config, Adv, Out};
use proptest::prelude::*;
use vrrp_core::packet;
use vrrp_core::{Input, Instant, Node, Router, RouterId};

const ROUTERS: usize = 6;

#[derive(Clone, Debug)]
enum Op {
    /// Advance the clock by this many milliseconds and serve timers.
    Wait(u64),
    /// Serve timers at the current time again (a spurious call).
    Spurious,
    Input(usize, u8),
    /// An advert from a peer with this priority.
    Advert(usize, u8),
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        (1u64..4000).prop_map(Op::Wait),
        Just(Op::Spurious),
        (0..ROUTERS, 0u8..4).prop_map(|(r, i)| Op::Input(r, i)),
        (0..ROUTERS, 0u8..=254).prop_map(|(r, p)| Op::Advert(r, p)),
    ]
}

fn input(code: u8) -> Input {
    match code {
        0 => Input::Startup,
        1 => Input::Shutdown,
        2 => Input::LinkDown,
        _ => Input::LinkUp,
    }
}

fn config(i: usize) -> vrrp_core::RouterConfig {
    let mut cfg = v4_config(50 + 30 * i as u8);
    cfg.name = format!("VI_{i}").into();
    cfg.vrid = 1 + i as u8;
    cfg
}

/// A peer's advert with `priority` for router `i`'s VRID.
fn advert(i: usize, priority: u8) -> (Vec<u8>, vrrp_core::RxMeta) {
    let adv = Adv {
        vrid: 1 + i as u8,
        ..Adv::v4("192.0.2.77", priority)
    };
    (adv.bytes(), adv.meta())
}

fn drain_node(node: &mut Node) -> Vec<Vec<Out>> {
    let mut per_router = vec![Vec::new(); ROUTERS];
    for (id, a) in drain_all(node) {
        per_router[id.0].push(a);
    }
    per_router
}

fn drain_plain(routers: &mut [Router]) -> Vec<Vec<Out>> {
    routers.iter_mut().map(drain).collect()
}

proptest! {
    /// Without sync groups a node is its routers side by side: after every input it yields
    /// exactly the actions each router yields alone, and its deadline is their earliest.
    #[test]
    fn node_matches_its_routers_driven_alone(ops in proptest::collection::vec(op(), 1..120)) {
        let mut node = Node::new();
        let mut plain = Vec::new();
        for i in 0..ROUTERS {
            node.add_router(Router::new(config(i)).unwrap());
            plain.push(Router::new(config(i)).unwrap());
        }
        let mut now = Instant::ZERO;
        node.handle_all(now, Input::Startup);
        for r in plain.iter_mut() {
            r.handle(now, Input::Startup);
        }
        for op in ops {
            match op {
                Op::Wait(ms) => {
                    now = Instant::from_micros(now.as_micros() + ms * 1000);
                    node.handle_timeout(now);
                    for r in plain.iter_mut() {
                        r.handle_timeout(now);
                    }
                }
                Op::Spurious => {
                    node.handle_timeout(now);
                    for r in plain.iter_mut() {
                        r.handle_timeout(now);
                    }
                }
                Op::Input(i, code) => {
                    node.handle(now, RouterId(i), input(code));
                    plain[i].handle(now, input(code));
                }
                Op::Advert(i, priority) => {
                    let (bytes, meta) = advert(i, priority);
                    let parsed = packet::parse(&bytes, meta).unwrap();
                    let a = node.handle_advert_for(now, RouterId(i), &parsed);
                    let b = plain[i].handle_advert(now, &parsed);
                    prop_assert_eq!(a, b);
                }
            }
            prop_assert_eq!(drain_node(&mut node), drain_plain(&mut plain));
            let earliest = plain.iter().filter_map(Router::poll_timeout).min();
            prop_assert_eq!(node.poll_timeout(), earliest);
            if let Some(t) = node.poll_timeout() {
                prop_assert!(t > now, "a due deadline was left unserved");
            }
        }
    }

    /// With a sync group the node still files every router's deadline: its deadline is the
    /// earliest of its routers', and serving timers leaves none due.
    #[test]
    fn node_deadline_is_the_earliest_with_sync_groups(ops in proptest::collection::vec(op(), 1..120)) {
        let mut node = Node::new();
        for i in 0..ROUTERS {
            node.add_router(Router::new(config(i)).unwrap());
        }
        node.add_sync_group("G", vec![RouterId(1), RouterId(2), RouterId(4)]);
        let mut now = Instant::ZERO;
        node.handle_all(now, Input::Startup);
        for op in ops {
            match op {
                Op::Wait(ms) => {
                    now = Instant::from_micros(now.as_micros() + ms * 1000);
                    node.handle_timeout(now);
                }
                Op::Spurious => node.handle_timeout(now),
                Op::Input(i, code) => node.handle(now, RouterId(i), input(code)),
                Op::Advert(i, priority) => {
                    let (bytes, meta) = advert(i, priority);
                    let parsed = packet::parse(&bytes, meta).unwrap();
                    let _ = node.handle_advert_for(now, RouterId(i), &parsed);
                }
            }
            drain_all(&mut node);
            let earliest = node.routers().filter_map(|(_, r)| r.poll_timeout()).min();
            prop_assert_eq!(node.poll_timeout(), earliest);
            if let Some(t) = node.poll_timeout() {
                prop_assert!(t > now, "a due deadline was left unserved");
            }
        }
    }
}
