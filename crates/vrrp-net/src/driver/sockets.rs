//! The raw VRRP sockets of a driver: one per (interface, family), shared by every router that
//! sends or receives there, each receiving one with a reader task that forwards packets to
//! the driver task.

use std::collections::hash_map::Entry;
use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::Duration as StdDuration;

use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use vrrp_core::packet::{Family, RxMeta};

use crate::error::Result;
use crate::socket::{OpenOptions, VrrpSocket};

/// Largest advert a reader forwards (longer payloads are cut).
const PACKET_CAPACITY: usize = 1500;

/// Capacity of the queue from the reader tasks to the driver task, in packets.
pub(super) const PACKET_QUEUE: usize = 1024;

/// Which socket: interface index and family.
pub(super) type SocketKey = (u32, Family);

/// One received advert, as a reader task hands it to the driver task.
pub(super) struct Packet {
    /// The interface it arrived on.
    pub(super) ifindex: u32,
    /// Addresses and TTL, for the codec.
    pub(super) meta: RxMeta,
    /// The VRRP message, allocated at its own size (an advert is tens of bytes): when a
    /// burst of adverts waits in the channel (every virtual router of a peer advertises at
    /// the same moment), full-size buffers would take ~1.5 MB per 1,000 adverts of heap
    /// that stays resident afterwards.
    payload: Box<[u8]>,
}

impl Packet {
    /// The VRRP message.
    pub(super) fn payload(&self) -> &[u8] {
        &self.payload
    }
}

/// The sockets of a driver and their reader tasks, keyed by (ifindex, family).
pub(super) struct SocketSet {
    sockets: HashMap<SocketKey, Arc<VrrpSocket>>,
    readers: HashMap<SocketKey, JoinHandle<()>>,
    /// Where the reader tasks send packets.
    pkt_tx: mpsc::Sender<Box<Packet>>,
}

impl SocketSet {
    /// No sockets yet; readers will send to `pkt_tx`.
    pub(super) fn new(pkt_tx: mpsc::Sender<Box<Packet>>) -> Self {
        SocketSet {
            sockets: HashMap::new(),
            readers: HashMap::new(),
            pkt_tx,
        }
    }

    /// Opens the socket of (ifindex, family) unless it is open, with a reader if it receives.
    pub(super) fn open(
        &mut self,
        ifindex: u32,
        ifname: &str,
        family: Family,
        opts: OpenOptions,
    ) -> Result<()> {
        if let Entry::Vacant(e) = self.sockets.entry((ifindex, family)) {
            let sock = Arc::new(VrrpSocket::open_with(
                ifindex,
                ifname,
                family == Family::V6,
                opts,
            )?);
            if opts.receive {
                self.readers.insert(
                    (ifindex, family),
                    tokio::spawn(read_loop(sock.clone(), self.pkt_tx.clone())),
                );
            }
            e.insert(sock);
        }
        Ok(())
    }

    /// The socket of (ifindex, family), if open.
    pub(super) fn get(&self, ifindex: u32, family: Family) -> Option<&Arc<VrrpSocket>> {
        self.sockets.get(&(ifindex, family))
    }

    /// Closes the sockets (and stops the readers) not in `used`.
    pub(super) fn retain(&mut self, used: &HashSet<SocketKey>) {
        self.sockets.retain(|k, _| used.contains(k));
        self.readers.retain(|k, r| {
            let keep = used.contains(k);
            if !keep {
                r.abort();
            }
            keep
        });
    }

    /// Stops every reader task (the sockets stay open).
    pub(super) fn abort_readers(&self) {
        for r in self.readers.values() {
            r.abort();
        }
    }

    /// Stops every reader and closes every socket.
    pub(super) fn close_all(&mut self) {
        for (_, r) in self.readers.drain() {
            r.abort();
        }
        self.sockets.clear();
    }
}

/// A reader task: forwards every packet of `sock` to the driver task until it is gone.
async fn read_loop(sock: Arc<VrrpSocket>, tx: mpsc::Sender<Box<Packet>>) {
    let mut buf = [0u8; PACKET_CAPACITY];
    loop {
        let received = match sock.recv(&mut buf).await {
            Ok(r) => r,
            Err(e) => {
                tracing::warn!(ifindex = sock.ifindex(), error = %e, "VRRP receive failed");
                tokio::time::sleep(StdDuration::from_millis(100)).await;
                continue;
            }
        };
        let len = received.payload.len().min(PACKET_CAPACITY);
        let pkt = Box::new(Packet {
            ifindex: received.ifindex,
            meta: RxMeta {
                src: received.src,
                dst: received.dst,
                ttl: received.ttl_or_hoplimit,
                ifindex: received.ifindex,
            },
            payload: received.payload[..len].into(),
        });
        if tx.send(pkt).await.is_err() {
            return;
        }
    }
}
