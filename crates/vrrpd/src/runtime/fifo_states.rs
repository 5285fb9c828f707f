//! `fifo_write_vrrp_states_on_reload`: after a reload, keepalived (2.2.7 and 2.4.3) writes the
//! current state of what the reload kept to the notify FIFOs, and runs no script:
//!
//! - first every sync group that existed before the reload, whatever its state
//!   (`GROUP "G" MASTER 0`);
//! - then, in configuration order, every kept instance that is not MASTER
//!   (`INSTANCE "VI_2" FAULT 90`, its effective priority): keepalived's reload start-up path
//!   writes the line only for instances it does not make MASTER again, so a MASTER gets none.
//!
//! New instances and groups get their usual notifications when they reach their first state.

use vrrp_core::State;
use vrrp_net::driver::DriverStatus;

use crate::notify::{NotifyState, StateLine, Subject};

/// The lines to write after a reload, from the driver's `status` once the reload is applied.
/// `groups_before`: the sync groups' names before the reload; `instances`: every instance of
/// the new configuration in order, with its driver slot if the reload kept it.
pub fn lines(
    status: &DriverStatus,
    groups_before: &[String],
    instances: &[(String, Option<usize>)],
) -> Vec<StateLine> {
    let groups = (status.sync_groups.iter())
        .filter(|g| groups_before.iter().any(|b| **b == *g.name))
        .filter_map(|g| {
            let state = notify_state(g.state)?;
            Some((Subject::Group, g.name.to_string(), state, 0))
        });
    let kept = instances.iter().filter_map(|(name, slot)| {
        let slot = (*slot)?;
        let router = &status.instances.iter().find(|i| i.index == slot)?.router;
        if router.state == State::Active {
            return None;
        }
        let state = notify_state(router.state)?;
        Some((
            Subject::Instance,
            name.clone(),
            state,
            router.effective_priority,
        ))
    });
    groups.chain(kept).collect()
}

fn notify_state(state: State) -> Option<NotifyState> {
    match state {
        State::Active => Some(NotifyState::Master),
        State::Backup => Some(NotifyState::Backup),
        State::Fault => Some(NotifyState::Fault),
        State::Initialize => None,
    }
}
