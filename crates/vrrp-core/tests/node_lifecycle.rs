//! `Node`'s router lifecycle and sync-group state: removal, ids never reused, the group's own
//! state and its change events; and the reconfiguration rules a reload relies on.

mod common;

use common::{drain, drain_node, ip, ms, v4_config, Adv, Out};
use vrrp_core::{
    ConfigError, Duration, Input, Instant, Node, PolicyError, Router, RouterConfig, RouterId, State,
};

fn named(name: &str, vrid: u8, priority: u8) -> RouterConfig {
    let mut cfg = v4_config(priority);
    cfg.name = name.into();
    cfg.vrid = vrid;
    cfg.vips = vec![ip(&format!("192.0.2.{vrid}"))];
    cfg
}

/// A node with routers VI_1 (VRID 1) and VI_2 (VRID 2), both Active.
fn two_active() -> (Node, Instant) {
    let mut node = Node::new();
    node.add_router(Router::new(named("VI_1", 1, 100)).unwrap());
    node.add_router(Router::new(named("VI_2", 2, 100)).unwrap());
    node.handle_all(Instant::ZERO, Input::Startup);
    let t = node.poll_timeout().unwrap();
    node.handle_timeout(t);
    drain_node(&mut node);
    assert!(node.routers().all(|(_, r)| r.state() == State::Active));
    (node, t)
}

#[test]
fn remove_router_sends_priority_zero_releases_its_vips_and_takes_no_more_input() {
    let (mut node, t) = two_active();
    let a = RouterId(0);
    assert!(node.remove_router(t, a));
    let out: Vec<Out> = drain_node(&mut node)
        .into_iter()
        .map(|(id, o)| {
            assert_eq!(id, a, "only the removed router acts");
            o
        })
        .collect();
    assert!(
        matches!(out[0], Out::SendAdvert { priority: 0, .. }),
        "{out:?}"
    );
    assert!(out.contains(&Out::RemoveVip(ip("192.0.2.1"))));
    assert!(matches!(
        out.last(),
        Some(Out::StateChanged {
            from: State::Active,
            to: State::Initialize,
            ..
        })
    ));
    assert!(!node.contains(a));
    assert_eq!(node.len(), 1);
    assert_eq!(
        node.routers().map(|(id, _)| id).collect::<Vec<_>>(),
        [RouterId(1)]
    );
    assert!(!node.remove_router(t, a), "removed once only");

    // No more input: an advert is discarded, an input does nothing, no deadline is kept.
    let adv_bytes = Adv::v4("192.0.2.20", 200).bytes();
    let adv = vrrp_core::packet::parse(&adv_bytes, Adv::v4("192.0.2.20", 200).meta()).unwrap();
    assert_eq!(
        node.handle_advert_for(t, a, &adv),
        Err(PolicyError::NotRunning)
    );
    node.handle(t, a, Input::Startup);
    assert!(drain_node(&mut node).is_empty());
    let other = node.router(RouterId(1)).poll_timeout();
    assert_eq!(
        node.poll_timeout(),
        other,
        "the removed router's deadlines are gone"
    );

    // Its id is never reused, and once drained its slot is freed.
    let c = node.add_router(Router::new(named("VI_3", 3, 100)).unwrap());
    assert_eq!(c, RouterId(2));
    assert!(
        node.get(a).is_none(),
        "freed after its outputs were drained"
    );
}

#[test]
fn a_removed_member_leaves_its_sync_group_and_the_fault_it_imposed_is_lifted() {
    let (mut node, t) = two_active();
    let (a, b) = (RouterId(0), RouterId(1));
    node.add_sync_group("G", vec![a, b]);
    node.handle(t, a, Input::LinkDown);
    drain_node(&mut node);
    assert_eq!(node.router(b).state(), State::Fault, "held in Fault by G");
    node.remove_router(t + Duration::from_millis(1), a);
    drain_node(&mut node);
    assert_eq!(node.sync_groups()[0].members, vec![b]);
    assert_eq!(
        node.router(b).state(),
        State::Backup,
        "released by the removal"
    );
}

#[test]
fn sync_group_state_follows_its_members_and_each_change_is_reported_once() {
    let mut node = Node::new();
    let a = node.add_router(Router::new(named("VI_1", 1, 100)).unwrap());
    let b = node.add_router(Router::new(named("VI_2", 2, 100)).unwrap());
    node.add_sync_group("G", vec![a, b]);
    assert_eq!(node.sync_group_state(0), Some(State::Initialize));
    let groups = |node: &mut Node| {
        drain_node(node);
        std::iter::from_fn(|| node.poll_group_event())
            .map(|e| (e.from, e.to))
            .collect::<Vec<_>>()
    };
    node.handle(ms(0), a, Input::Startup);
    assert_eq!(groups(&mut node), [], "members disagree: state kept");
    node.handle(ms(0), b, Input::Startup);
    assert_eq!(groups(&mut node), [(State::Initialize, State::Backup)]);
    let t = node.poll_timeout().unwrap();
    node.handle_timeout(t);
    assert_eq!(groups(&mut node), [(State::Backup, State::Active)]);
    node.handle(t, b, Input::LinkDown);
    assert_eq!(groups(&mut node), [(State::Active, State::Fault)]);
    assert_eq!(node.sync_group_state(0), Some(State::Fault));
    node.handle(t, b, Input::LinkUp);
    assert_eq!(groups(&mut node), [(State::Fault, State::Backup)]);
    // A reload that keeps the group's name keeps its state.
    node.set_sync_groups(t, vec![("G".into(), vec![a, b])]);
    assert_eq!(groups(&mut node), []);
    assert_eq!(node.sync_group_state(0), Some(State::Backup));
}

#[test]
fn reconfigure_to_a_shorter_interval_advertises_at_once_and_keeps_the_new_interval() {
    // keepalived sends the next advert at once; waiting for the old timer would leave the
    // Backups without adverts for up to the old interval (40.95 s here).
    let mut cfg = v4_config(100);
    cfg.advert_interval_cs = 4095;
    cfg.announce.second_burst_delay = None;
    let (mut r, t) = common::active(cfg.clone());
    let now = t + Duration::from_secs(2);
    cfg.advert_interval_cs = 100;
    r.reconfigure(now, cfg).unwrap();
    assert_eq!(common::adverts(&drain(&mut r)), vec![100]);
    assert_eq!(r.poll_timeout(), Some(now + Duration::from_secs(1)));
    assert_eq!(r.active_adver_interval(), Duration::from_secs(1));
}

#[test]
fn reconfigure_keeps_a_runtime_base_priority_unless_the_configured_one_changes() {
    let mut r = common::started(v4_config(100), ms(0));
    r.handle(ms(1), Input::SetPriority(120));
    drain(&mut r);
    assert_eq!(
        r.config().priority,
        100,
        "the configuration is not changed by inputs"
    );
    assert_eq!((r.base_priority(), r.effective_priority()), (120, 120));
    let mut same = r.config().clone();
    same.name = "renamed".into();
    r.reconfigure(ms(2), same).unwrap();
    assert_eq!(
        r.base_priority(),
        120,
        "same configured priority: runtime value kept"
    );
    let mut changed = r.config().clone();
    changed.priority = 90;
    r.reconfigure(ms(3), changed).unwrap();
    assert_eq!((r.base_priority(), r.effective_priority()), (90, 90));
}

#[test]
fn a_custom_multicast_group_is_where_adverts_go_and_the_only_one_accepted() {
    let mut cfg = v4_config(100);
    cfg.mcast_group = Some(ip("224.0.0.1"));
    cfg.announce.second_burst_delay = None;
    let (mut r, t) = common::active(cfg.clone());
    r.handle(t, Input::SetPriority(110));
    let out = drain(&mut r);
    assert!(
        out.iter()
            .any(|o| matches!(o, Out::SendAdvert { dst, .. } if *dst == ip("224.0.0.1"))),
        "{out:?}"
    );
    let standard = Adv::v4("192.0.2.20", 200);
    assert_eq!(
        standard.feed(&mut r, t + Duration::from_millis(1)),
        Err(PolicyError::DestinationMismatch)
    );
    let mut custom = Adv::v4("192.0.2.20", 200);
    custom.dst = ip("224.0.0.1");
    assert_eq!(custom.feed(&mut r, t + Duration::from_millis(2)), Ok(()));
    cfg.mcast_group = Some(ip("192.0.2.99"));
    assert_eq!(
        Router::new(cfg).unwrap_err(),
        ConfigError::MulticastGroup(ip("192.0.2.99"))
    );
}

#[test]
fn clear_stats_zeroes_every_counter_and_keeps_the_state() {
    let (mut node, t) = two_active();
    assert!(node.router(RouterId(0)).stats().adverts_tx > 0);
    node.clear_stats();
    for (_, r) in node.routers() {
        assert_eq!(*r.stats(), vrrp_core::Stats::default());
        assert_eq!(r.state(), State::Active);
    }
    node.handle_timeout(node.poll_timeout().unwrap());
    drain_node(&mut node);
    assert!(
        node.router(RouterId(0)).stats().adverts_tx > 0,
        "counting goes on"
    );
    let _ = t;
}
