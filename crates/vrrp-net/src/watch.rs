//! Link and address change notifications (`RTNLGRP_LINK`,
//! `RTNLGRP_IPV4_IFADDR`, `RTNLGRP_IPV6_IFADDR`).
//!
//! The kernel sends a full `RTM_NEWLINK` for every attribute change; the
//! [`Watcher`] keeps the last seen (name, up, carrier) per interface (seeded
//! by a dump taken *after* subscribing, so no change is lost) and reports only
//! transitions as typed events.

use std::collections::{HashMap, VecDeque};
use std::net::IpAddr;

use futures::channel::mpsc::UnboundedReceiver;
use futures::stream::{Stream, StreamExt, TryStreamExt};
use rtnetlink::packet_core::{NetlinkMessage, NetlinkPayload};
use rtnetlink::packet_route::link::{LinkFlags, LinkMessage};
use rtnetlink::packet_route::RouteNetlinkMessage;
use rtnetlink::sys::SocketAddr;
use rtnetlink::MulticastGroup;
use tokio::task::JoinHandle;

use crate::error::{Error, Result};
use crate::netlink::{link_name, AddressInfo};

/// A link transition.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LinkEvent {
    /// A new interface appeared.
    Added {
        /// Interface index.
        ifindex: u32,
        /// Name.
        name: String,
    },
    /// The link became usable: administratively up with carrier.
    Up {
        /// Interface index.
        ifindex: u32,
        /// Name.
        name: String,
    },
    /// The link was set administratively down.
    Down {
        /// Interface index.
        ifindex: u32,
        /// Name.
        name: String,
    },
    /// The link is administratively up but lost its carrier.
    CarrierLost {
        /// Interface index.
        ifindex: u32,
        /// Name.
        name: String,
    },
    /// The link was renamed.
    Renamed {
        /// Interface index.
        ifindex: u32,
        /// Previous name.
        old: String,
        /// New name.
        new: String,
    },
    /// The link was deleted.
    Deleted {
        /// Interface index.
        ifindex: u32,
        /// Last known name.
        name: String,
    },
}

/// An address change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AddrEvent {
    /// An address was added (or its attributes changed).
    Added {
        /// Interface index.
        ifindex: u32,
        /// Address.
        addr: IpAddr,
        /// Prefix length.
        prefix_len: u8,
        /// Full details.
        info: AddressInfo,
    },
    /// An address was removed (by someone, or by the kernel at lease expiry).
    Removed {
        /// Interface index.
        ifindex: u32,
        /// Address.
        addr: IpAddr,
        /// Prefix length.
        prefix_len: u8,
    },
}

/// Any event the watcher reports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NetEvent {
    /// A link transition.
    Link(LinkEvent),
    /// An address change.
    Addr(AddrEvent),
}

#[derive(Debug, Clone)]
struct LinkState {
    name: String,
    up: bool,
    carrier: bool,
}

impl LinkState {
    fn from_msg(msg: &LinkMessage) -> Self {
        let f = msg.header.flags;
        LinkState {
            name: link_name(msg).unwrap_or_default(),
            up: f.contains(LinkFlags::Up),
            carrier: f.contains(LinkFlags::LowerUp),
        }
    }
}

/// Subscribes to link and address notifications in the current network
/// namespace. Create it inside the tokio runtime that polls it.
#[derive(Debug)]
pub struct Watcher {
    messages: UnboundedReceiver<(NetlinkMessage<RouteNetlinkMessage>, SocketAddr)>,
    links: HashMap<u32, LinkState>,
    pending: VecDeque<NetEvent>,
    task: JoinHandle<()>,
}

impl Drop for Watcher {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl Watcher {
    /// Subscribes, then dumps the current links to know their state.
    pub async fn new() -> Result<Self> {
        let (conn, handle, messages) = rtnetlink::new_multicast_connection(&[
            MulticastGroup::Link,
            MulticastGroup::Ipv4Ifaddr,
            MulticastGroup::Ipv6Ifaddr,
        ])
        .map_err(|e| Error::io("subscribing to link and address notifications", "-", e))?;
        let task = tokio::spawn(conn);
        let dump: Vec<LinkMessage> =
            handle
                .link()
                .get()
                .execute()
                .try_collect()
                .await
                .map_err(|e| Error::Invalid {
                    context: "dumping links for the watcher".into(),
                    message: e.to_string(),
                })?;
        let links = dump
            .iter()
            .map(|m| (m.header.index, LinkState::from_msg(m)))
            .collect();
        Ok(Self {
            messages,
            links,
            pending: VecDeque::new(),
            task,
        })
    }

    /// The next event; `None` when the netlink connection has closed.
    pub async fn next(&mut self) -> Option<NetEvent> {
        loop {
            if let Some(ev) = self.pending.pop_front() {
                return Some(ev);
            }
            let (msg, _) = self.messages.next().await?;
            self.handle(msg);
        }
    }

    /// Polls for the next event; `Ready(None)` when the netlink connection has closed.
    pub fn poll_next(
        &mut self,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<NetEvent>> {
        use std::task::Poll;
        loop {
            if let Some(ev) = self.pending.pop_front() {
                return Poll::Ready(Some(ev));
            }
            match self.messages.poll_next_unpin(cx) {
                Poll::Ready(Some((msg, _))) => self.handle(msg),
                Poll::Ready(None) => return Poll::Ready(None),
                Poll::Pending => return Poll::Pending,
            }
        }
    }

    /// Turns the watcher into a `Stream` of events.
    pub fn into_stream(self) -> impl Stream<Item = NetEvent> {
        futures::stream::unfold(
            self,
            |mut w| async move { w.next().await.map(|ev| (ev, w)) },
        )
    }

    fn handle(&mut self, msg: NetlinkMessage<RouteNetlinkMessage>) {
        let NetlinkPayload::InnerMessage(inner) = msg.payload else {
            return;
        };
        match inner {
            RouteNetlinkMessage::NewLink(m) => self.new_link(&m),
            RouteNetlinkMessage::DelLink(m) => {
                let ifindex = m.header.index;
                let name = self
                    .links
                    .remove(&ifindex)
                    .map(|s| s.name)
                    .or_else(|| link_name(&m))
                    .unwrap_or_default();
                tracing::debug!(interface = %name, ifindex, "link deleted");
                self.pending
                    .push_back(NetEvent::Link(LinkEvent::Deleted { ifindex, name }));
            }
            RouteNetlinkMessage::NewAddress(m) => {
                if let Some(info) = AddressInfo::from_message_pub(&m) {
                    self.pending.push_back(NetEvent::Addr(AddrEvent::Added {
                        ifindex: info.ifindex,
                        addr: info.addr,
                        prefix_len: info.prefix_len,
                        info,
                    }));
                }
            }
            RouteNetlinkMessage::DelAddress(m) => {
                if let Some(info) = AddressInfo::from_message_pub(&m) {
                    tracing::debug!(ifindex = info.ifindex, addr = %info.addr, "address removed");
                    self.pending.push_back(NetEvent::Addr(AddrEvent::Removed {
                        ifindex: info.ifindex,
                        addr: info.addr,
                        prefix_len: info.prefix_len,
                    }));
                }
            }
            _ => {}
        }
    }

    fn new_link(&mut self, m: &LinkMessage) {
        let ifindex = m.header.index;
        let mut now = LinkState::from_msg(m);
        let Some(before) = self.links.get(&ifindex).cloned() else {
            self.pending.push_back(NetEvent::Link(LinkEvent::Added {
                ifindex,
                name: now.name.clone(),
            }));
            if now.up && now.carrier {
                self.pending.push_back(NetEvent::Link(LinkEvent::Up {
                    ifindex,
                    name: now.name.clone(),
                }));
            }
            self.links.insert(ifindex, now);
            return;
        };
        if now.name.is_empty() {
            now.name = before.name.clone();
        }
        for ev in transitions(ifindex, &before, &now) {
            tracing::debug!(ifindex, event = ?ev, "link event");
            self.pending.push_back(NetEvent::Link(ev));
        }
        self.links.insert(ifindex, now);
    }
}

fn transitions(ifindex: u32, before: &LinkState, now: &LinkState) -> Vec<LinkEvent> {
    let mut out = Vec::new();
    if before.name != now.name {
        out.push(LinkEvent::Renamed {
            ifindex,
            old: before.name.clone(),
            new: now.name.clone(),
        });
    }
    let name = now.name.clone();
    let was_usable = before.up && before.carrier;
    let is_usable = now.up && now.carrier;
    if before.up && !now.up {
        out.push(LinkEvent::Down { ifindex, name });
    } else if now.up && before.carrier && !now.carrier {
        out.push(LinkEvent::CarrierLost { ifindex, name });
    } else if !was_usable && is_usable {
        out.push(LinkEvent::Up { ifindex, name });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn st(name: &str, up: bool, carrier: bool) -> LinkState {
        LinkState {
            name: name.into(),
            up,
            carrier,
        }
    }

    #[test]
    fn link_transitions() {
        let t = |a, b| transitions(3, &a, &b);
        assert_eq!(
            t(st("e", true, true), st("e", false, false)),
            vec![LinkEvent::Down {
                ifindex: 3,
                name: "e".into()
            }]
        );
        assert_eq!(
            t(st("e", true, true), st("e", true, false)),
            vec![LinkEvent::CarrierLost {
                ifindex: 3,
                name: "e".into()
            }]
        );
        assert_eq!(
            t(st("e", false, false), st("e", true, true)),
            vec![LinkEvent::Up {
                ifindex: 3,
                name: "e".into()
            }]
        );
        assert_eq!(
            t(st("e", true, false), st("e", true, true)),
            vec![LinkEvent::Up {
                ifindex: 3,
                name: "e".into()
            }]
        );
        assert_eq!(
            t(st("a", true, true), st("b", true, true)),
            vec![LinkEvent::Renamed {
                ifindex: 3,
                old: "a".into(),
                new: "b".into()
            }]
        );
        assert!(t(st("e", true, true), st("e", true, true)).is_empty());
        // Admin up without carrier yet: nothing usable changed.
        assert!(t(st("e", false, false), st("e", true, false)).is_empty());
    }
}
