//! `track_interface`: link state to [`TrackState`].
//!
//! The runtime watches links with netlink (vrrp-net) and feeds each event to the
//! [`InterfaceTracker`] of every tracked interface; it returns an update only when the state
//! changes. A link is Up when it is administratively up and has carrier (`IFF_UP` and
//! `IFF_RUNNING`, as keepalived); a missing interface is Down.

use super::{TrackState, TrackerUpdate};

/// What the runtime knows about a link.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LinkEvent {
    /// The link exists with these flags.
    Flags {
        /// `IFF_UP`.
        admin_up: bool,
        /// `IFF_RUNNING` (carrier).
        running: bool,
    },
    /// The link was deleted or does not exist.
    Missing,
}

/// The tracker state a link event means.
pub fn link_state(event: LinkEvent) -> TrackState {
    match event {
        LinkEvent::Flags {
            admin_up: true,
            running: true,
        } => TrackState::Up,
        _ => TrackState::Down,
    }
}

/// One tracked interface.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InterfaceTracker {
    name: String,
    state: TrackState,
}

impl InterfaceTracker {
    /// A tracker for interface `name`, in state [`TrackState::Unknown`].
    pub fn new(name: impl Into<String>) -> Self {
        InterfaceTracker {
            name: name.into(),
            state: TrackState::Unknown,
        }
    }

    /// The interface name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The last state.
    pub fn state(&self) -> TrackState {
        self.state
    }

    /// Applies an event; returns an update if the state changed (or is the first one).
    pub fn on_event(&mut self, event: LinkEvent) -> Option<TrackerUpdate> {
        let state = link_state(event);
        if state == self.state {
            return None;
        }
        self.state = state;
        let detail = match event {
            LinkEvent::Missing => format!("interface {} does not exist", self.name),
            LinkEvent::Flags {
                admin_up: false, ..
            } => {
                format!("interface {} is administratively down", self.name)
            }
            LinkEvent::Flags { running: false, .. } => {
                format!("interface {} has no carrier", self.name)
            }
            LinkEvent::Flags { .. } => format!("interface {} is up", self.name),
        };
        Some(TrackerUpdate {
            name: self.name.clone(),
            state,
            detail,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reports_changes_only() {
        let mut t = InterfaceTracker::new("eth1");
        let up = LinkEvent::Flags {
            admin_up: true,
            running: true,
        };
        let no_carrier = LinkEvent::Flags {
            admin_up: true,
            running: false,
        };
        assert_eq!(t.on_event(up).unwrap().state, TrackState::Up);
        assert_eq!(t.on_event(up), None);
        let down = t.on_event(no_carrier).unwrap();
        assert_eq!(down.state, TrackState::Down);
        assert_eq!(down.detail, "interface eth1 has no carrier");
        assert_eq!(t.on_event(LinkEvent::Missing), None);
        assert_eq!(t.state(), TrackState::Down);
    }
}
