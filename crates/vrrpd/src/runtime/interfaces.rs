//! `track_interface`: the state of tracked interfaces, from netlink.

use std::collections::BTreeSet;

use tokio::sync::mpsc;
use vrrp_core::TrackState;
use vrrp_net::{LinkEvent, NetEvent, Netlink, Watcher};

use super::trackers::Trackers;
use crate::track::TrackerUpdate;

/// Reports the tracked interfaces: their state at start, then every change.
pub struct LinkTracker {
    rx: Option<mpsc::Receiver<TrackerUpdate>>,
}

impl LinkTracker {
    /// Starts watching the interfaces `trackers` needs (nothing if none).
    pub async fn start(trackers: &Trackers) -> LinkTracker {
        if trackers.interfaces.is_empty() {
            return LinkTracker { rx: None };
        }
        let names = trackers.interfaces.clone();
        let (tx, rx) = mpsc::channel(64);
        match (Netlink::new(), Watcher::new().await) {
            (Ok(netlink), Ok(watcher)) => {
                tokio::spawn(watch(netlink, watcher, names, tx));
            }
            (Err(e), _) | (_, Err(e)) => {
                tracing::error!(error = %e, "track_interface: cannot watch links");
            }
        }
        LinkTracker { rx: Some(rx) }
    }

    /// The next update; pending forever when nothing is tracked.
    pub async fn next(&mut self) -> Option<TrackerUpdate> {
        match &mut self.rx {
            Some(rx) => rx.recv().await,
            None => std::future::pending().await,
        }
    }
}

async fn watch(
    netlink: Netlink,
    mut watcher: Watcher,
    names: BTreeSet<String>,
    tx: mpsc::Sender<TrackerUpdate>,
) {
    for name in &names {
        let (state, detail) = match netlink.interface_by_name(name).await {
            Ok(info) if info.is_usable() => (TrackState::Up, "up".to_string()),
            Ok(_) => (TrackState::Down, "down".to_string()),
            Err(e) => (TrackState::Down, e.to_string()),
        };
        let update = TrackerUpdate {
            name: name.clone(),
            state,
            detail,
        };
        if tx.send(update).await.is_err() {
            return;
        }
    }
    while let Some(ev) = watcher.next().await {
        let (name, state, detail) = match ev {
            NetEvent::Link(LinkEvent::Up { name, .. }) => (name, TrackState::Up, "link up"),
            NetEvent::Link(LinkEvent::Down { name, .. }) => (name, TrackState::Down, "link down"),
            NetEvent::Link(LinkEvent::CarrierLost { name, .. }) => {
                (name, TrackState::Down, "carrier lost")
            }
            NetEvent::Link(LinkEvent::Deleted { name, .. }) => {
                (name, TrackState::Down, "interface deleted")
            }
            _ => continue,
        };
        if names.contains(&name) {
            let update = TrackerUpdate {
                name,
                state,
                detail: detail.to_string(),
            };
            if tx.send(update).await.is_err() {
                return;
            }
        }
    }
}
