//! Link impairments and faults the simulator applies.

use super::SimId;
use crate::router::Input;
use crate::time::Duration;

/// netem-style impairments of one directed link.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct LinkParams {
    /// Probability that a packet is lost, 0..1.
    pub loss: f64,
    /// Fixed one-way delay.
    pub delay: Duration,
    /// Extra delay drawn uniformly from `0..=jitter` per packet; reorders packets.
    pub jitter: Duration,
    /// Probability that a packet is delivered twice (each copy with its own delay), 0..1.
    pub duplicate: f64,
}

impl LinkParams {
    /// The largest delay a packet can get on this link.
    pub fn max_delay(&self) -> Duration {
        self.delay + self.jitter
    }
}

/// Something that happens to the segment or a router, now or at a scheduled time.
#[derive(Clone, Debug, PartialEq)]
pub enum Fault {
    /// The router's host vanishes (`kill -9` of its daemon), with every router on it: no
    /// priority 0, timers stop, queued outputs are discarded, and every packet in flight from
    /// or to the host is dropped. Inputs are ignored until a [`Fault::Restart`].
    Crash(SimId),
    /// The router's host starts afresh: a new node built from its routers' configurations,
    /// trackers and sync groups, then [`Input::Startup`] for each. A running host is crashed
    /// first.
    Restart(SimId),
    /// Graceful shutdown: [`Input::Shutdown`] (an Active sends priority 0).
    Shutdown(SimId),
    /// Any other input to one router (startup, priority or tracker change, ...).
    Input(SimId, Input),
    /// The hosts of the first set of routers cannot hear those of the second, in both
    /// directions.
    /// Cumulative with earlier partitions.
    Partition(Vec<SimId>, Vec<SimId>),
    /// One-way cut: hosts of the first set cannot reach those of the second, while the
    /// reverse direction still works (a unidirectional link failure). Cumulative.
    Block(Vec<SimId>, Vec<SimId>),
    /// Removes every partition and one-way cut.
    Heal,
    /// Sets the loss probability of every link, overridden ones included.
    SetLoss(f64),
    /// Sets the base delay and jitter of every link, overridden ones included.
    SetDelay(Duration, Duration),
    /// Sets the duplication probability of every link, overridden ones included.
    SetDuplicate(f64),
    /// Overrides (or with `None` restores) the impairments of one directed link between the
    /// two routers' hosts.
    SetLink(SimId, SimId, Option<LinkParams>),
}

/// Why a packet was not delivered.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DropReason {
    /// The link's loss probability struck.
    Loss,
    /// A partition separated sender and receiver (at send or at delivery time).
    Partition,
}
