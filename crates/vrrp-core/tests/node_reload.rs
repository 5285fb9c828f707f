//! `Node` reconfiguration for a daemon reload: sync groups replaced, a router reconfigured in
//! place.

mod common;

use common::{drain_node as drain, ip, v4_config, Out};
use vrrp_core::{Input, Instant, Node, Router, RouterId, State};

fn two_routers() -> Node {
    let mut node = Node::new();
    let mut b = v4_config(100);
    b.name = "VI_2".into();
    b.vrid = 2;
    node.add_router(Router::new(v4_config(100)).unwrap());
    node.add_router(Router::new(b).unwrap());
    node.handle_all(Instant::ZERO, Input::Startup);
    drain(&mut node);
    node
}

#[test]
fn leaving_a_sync_group_lifts_the_fault_it_imposed() {
    let mut node = two_routers();
    node.add_sync_group("G", vec![RouterId(0), RouterId(1)]);
    node.handle(Instant::ZERO, RouterId(0), Input::LinkDown);
    assert_eq!(node.router(RouterId(1)).state(), State::Fault, "held by G");
    node.set_sync_groups(Instant::ZERO, Vec::new());
    assert_eq!(node.router(RouterId(0)).state(), State::Fault, "own fault");
    assert_eq!(node.router(RouterId(1)).state(), State::Backup, "released");
    assert!(node.sync_groups().is_empty());
    // Joining a group with a faulty member applies the rule at once.
    node.set_sync_groups(
        Instant::ZERO,
        vec![("H".to_string(), vec![RouterId(0), RouterId(1)])],
    );
    assert_eq!(node.router(RouterId(1)).state(), State::Fault);
}

#[test]
fn reconfigure_diffs_vips_without_a_state_change() {
    let mut node = two_routers();
    let t = node.router(RouterId(0)).poll_timeout().unwrap();
    node.handle_timeout(t);
    drain(&mut node);
    assert_eq!(node.router(RouterId(0)).state(), State::Active);
    let mut cfg = v4_config(100);
    cfg.vips = vec![ip("192.0.2.1"), ip("192.0.2.2")];
    cfg.name = "VI_renamed".into();
    node.reconfigure(t, RouterId(0), cfg).unwrap();
    let actions: Vec<Out> = drain(&mut node).into_iter().map(|(_, a)| a).collect();
    assert!(
        actions.contains(&Out::AddVip(ip("192.0.2.2"))),
        "{actions:?}"
    );
    assert!(
        !actions.iter().any(|a| matches!(
            a,
            Out::StateChanged { .. } | Out::RemoveVip(_) | Out::AddVip(_)
                if *a != Out::AddVip(ip("192.0.2.2"))
        )),
        "{actions:?}"
    );
    assert_eq!(node.router(RouterId(0)).state(), State::Active);
    assert_eq!(&*node.router(RouterId(0)).config().name, "VI_renamed");
}
