//! Delay injection without `sch_netem`: a userspace relay between a host's veth and its
//! segment bridge ([`Lab::set_delay`], [`Lab::clear_delay`]).
//!
//! Wiring while a delay is set on host `H` (everything inside the segment namespace):
//!
//! ```text
//!   host ns            segment ns
//!   eth0 <==veth==> vnp-H   (detached from the bridge; relay socket A)
//!                   vnr-H   (relay socket B) <==veth==> vnq-H (bridge port)  -- vnbr
//! ```
//!
//! One thread, which entered the segment namespace with `setns`, reads frames from the two
//! `AF_PACKET` sockets (each bound to its interface), stamps them with a due time (receive
//! time + base delay + jitter) and keeps them in a binary heap; it sleeps in `ppoll` until
//! the next frame is due (or a frame arrives) and then writes it out of the other socket.
//! Frame buffers are pooled, so a steady flow does not allocate.
//!
//! Order: frames keep their order in each direction. A jittered due time earlier than that of
//! the previous frame in the same direction is raised to it (jitter never reorders; it only
//! varies the spacing). At most [`MAX_PENDING`] frames wait at once; more are dropped.
//!
//! What stays the same: the host's `eth0` (daemons keep their sockets), the bridge-side port
//! `vnp-H` (so a [`crate::Capture`] started earlier still names the host: it sees the frame
//! as it leaves the host, before the delay), [`Host::unplug`]/[`Host::plug`] (carrier loss
//! at the host), nftables loss in the host namespace, and [`Lab::partition`] (its rules name
//! both `vnp-H` and the relay port `vnq-H`).
//!
//! Limit: frames are copied as they are; a TCP or UDP packet that the host's stack left for
//! checksum offload reaches the other side with an unfinished checksum. VRRP, ARP, ND and
//! ICMP (what the harness exercises) are complete.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::fs::File;
use std::os::fd::{AsFd, AsRawFd};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc;
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use nix::poll::{PollFd, PollFlags};
use nix::sched::{setns, CloneFlags};
use nix::sys::socket::{LinkAddr, MsgFlags};
use nix::sys::time::TimeSpec;
use socket2::{Domain, Protocol, Socket, Type};

use crate::error::{Error, Result};
use crate::lab::{Host, Lab, BRIDGE, HOST_IFACE};
use crate::util::{ip, PREFIX};

/// At most this many frames wait in a relay at once; further frames are dropped.
pub const MAX_PENDING: usize = 10_000;

const PACKET_OUTGOING: u8 = 4;
/// The longest time the relay sleeps without looking at its stop flag.
const TICK: Duration = Duration::from_millis(50);

/// The current settings of a relay, shared with its thread.
#[derive(Debug)]
struct Params {
    base_us: AtomicU64,
    jitter_us: AtomicU64,
}

/// A running delay relay for one host: stops its thread and restores the original wiring
/// (the host's port back on the bridge, the relay veth deleted) on [`DelayRelay::stop`] or
/// drop.
#[derive(Debug)]
pub(crate) struct DelayRelay {
    host: String,
    seg_ns: String,
    port: String,
    relay_port: String,
    relay_end: String,
    params: Arc<Params>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<std::result::Result<(), String>>>,
    restored: bool,
}

/// Names of the relay veth pair for a host port `vnp-NAME` / `vnpN`: `(bridge port, relay end)`.
fn relay_names(host: &Host) -> (String, String) {
    if host.name.len() <= 11 {
        (
            format!("{PREFIX}q-{}", host.name),
            format!("{PREFIX}r-{}", host.name),
        )
    } else {
        (
            format!("{PREFIX}q{}", host.index),
            format!("{PREFIX}r{}", host.index),
        )
    }
}

/// The bridge port name the relay would use for `host` (also while no relay runs), so that
/// partition rules can name it in advance.
pub(crate) fn relay_port_name(host: &Host) -> String {
    relay_names(host).0
}

fn micros(d: Duration) -> u64 {
    u64::try_from(d.as_micros()).unwrap_or(u64::MAX)
}

/// SplitMix64: a tiny seeded PRNG for the jitter.
#[derive(Debug, Clone)]
struct SplitMix64(u64);

impl SplitMix64 {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// Uniform in `-j..=j` (microseconds).
    fn jitter(&mut self, j: u64) -> i64 {
        if j == 0 {
            return 0;
        }
        let span = 2 * j + 1;
        (self.next() % span) as i64 - j as i64
    }
}

/// FNV-1a of a host name: the default jitter seed, so runs are repeatable.
fn seed_of(name: &str) -> u64 {
    name.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}

/// A frame waiting in the heap: ordered by due time, then arrival sequence.
#[derive(Debug, PartialEq, Eq, PartialOrd, Ord)]
struct Pending {
    due: Instant,
    seq: u64,
    /// 0: host -> bridge (out of socket B); 1: bridge -> host (out of socket A).
    dir: u8,
    buf: usize,
}

/// Finds the `AF_PACKET` link address (with the interface index) of `ifname` in the calling
/// thread's namespace.
fn link_addr(ifname: &str) -> std::io::Result<LinkAddr> {
    let addrs = nix::ifaddrs::getifaddrs().map_err(std::io::Error::from)?;
    for a in addrs {
        if a.interface_name != ifname {
            continue;
        }
        if let Some(l) = a.address.as_ref().and_then(|s| s.as_link_addr()) {
            return Ok(*l);
        }
    }
    Err(std::io::Error::new(
        std::io::ErrorKind::NotFound,
        format!("no AF_PACKET address for {ifname}"),
    ))
}

/// An `AF_PACKET`/`ETH_P_ALL` socket bound to `ifname` (only its frames; `send` goes out of
/// it), non-blocking.
fn bound_socket(ifname: &str) -> std::io::Result<Socket> {
    let proto = i32::from((nix::libc::ETH_P_ALL as u16).to_be());
    let s = Socket::new(Domain::PACKET, Type::RAW, Some(Protocol::from(proto)))?;
    let addr = link_addr(ifname)?;
    nix::sys::socket::bind(s.as_raw_fd(), &addr).map_err(std::io::Error::from)?;
    s.set_nonblocking(true)?;
    s.set_recv_buffer_size(4 << 20)?;
    s.set_send_buffer_size(4 << 20)?;
    Ok(s)
}

struct Relay {
    socks: [Socket; 2],
    params: Arc<Params>,
    stop: Arc<AtomicBool>,
    rng: SplitMix64,
    heap: BinaryHeap<Reverse<Pending>>,
    bufs: Vec<Vec<u8>>,
    free: Vec<usize>,
    last_due: [Option<Instant>; 2],
    seq: u64,
    scratch: Vec<u8>,
}

impl Relay {
    /// Reads every frame queued on socket `i` and schedules it for the other side.
    fn read_all(&mut self, i: usize) {
        loop {
            let fd = self.socks[i].as_raw_fd();
            let (n, addr) = match nix::sys::socket::recvfrom::<LinkAddr>(fd, &mut self.scratch) {
                Ok(x) => x,
                // EAGAIN: drained; ENETDOWN etc. after an unplug: the socket recovers on up.
                Err(_) => return,
            };
            if addr.is_some_and(|a| a.pkttype() == PACKET_OUTGOING) {
                continue; // our own transmissions (and nothing else leaves these ports)
            }
            if self.heap.len() >= MAX_PENDING {
                continue;
            }
            let now = Instant::now();
            let base = self.params.base_us.load(Ordering::Relaxed) as i64;
            let jitter = self.params.jitter_us.load(Ordering::Relaxed);
            let d = (base + self.rng.jitter(jitter)).max(0) as u64;
            let mut due = now + Duration::from_micros(d);
            if let Some(prev) = self.last_due[i] {
                due = due.max(prev);
            }
            self.last_due[i] = Some(due);
            let b = match self.free.pop() {
                Some(b) => b,
                None => {
                    self.bufs.push(Vec::with_capacity(2048));
                    self.bufs.len() - 1
                }
            };
            self.bufs[b].clear();
            self.bufs[b].extend_from_slice(&self.scratch[..n.min(self.scratch.len())]);
            self.seq += 1;
            self.heap.push(Reverse(Pending {
                due,
                seq: self.seq,
                dir: i as u8,
                buf: b,
            }));
        }
    }

    /// Sends every frame that is due; returns the time until the next one.
    fn flush(&mut self) -> Option<Duration> {
        loop {
            let now = Instant::now();
            let due = self.heap.peek()?.0.due;
            if due > now {
                return Some(due - now);
            }
            let Reverse(p) = self.heap.pop().expect("peeked");
            let out = 1 - usize::from(p.dir);
            // A failed send (port down after an unplug, buffer full) drops the frame.
            let _ = nix::sys::socket::send(
                self.socks[out].as_raw_fd(),
                &self.bufs[p.buf],
                MsgFlags::empty(),
            );
            self.free.push(p.buf);
        }
    }

    fn run(mut self) -> std::result::Result<(), String> {
        while !self.stop.load(Ordering::Relaxed) {
            let wait = self.flush().unwrap_or(TICK).min(TICK);
            let mut fds = [
                PollFd::new(self.socks[0].as_fd(), PollFlags::POLLIN),
                PollFd::new(self.socks[1].as_fd(), PollFlags::POLLIN),
            ];
            match nix::poll::ppoll(&mut fds, Some(TimeSpec::from_duration(wait)), None) {
                Ok(_) | Err(nix::errno::Errno::EINTR) => {}
                Err(e) => return Err(format!("ppoll: {e}")),
            }
            let ready: Vec<bool> = fds
                .iter()
                .map(|f| f.revents().is_some_and(|r| !r.is_empty()))
                .collect();
            for (i, r) in ready.into_iter().enumerate() {
                if r {
                    self.read_all(i);
                }
            }
        }
        Ok(())
    }
}

impl DelayRelay {
    fn start(lab: &Lab, host: &Host, base: Duration, jitter: Duration, seed: u64) -> Result<Self> {
        let seg = lab.segment(&host.segment);
        let (relay_port, relay_end) = relay_names(host);
        let mut relay = DelayRelay {
            host: host.name.clone(),
            seg_ns: seg.netns.name().to_string(),
            port: host.bridge_port.clone(),
            relay_port,
            relay_end,
            params: Arc::new(Params {
                base_us: AtomicU64::new(micros(base)),
                jitter_us: AtomicU64::new(micros(jitter)),
            }),
            stop: Arc::new(AtomicBool::new(false)),
            thread: None,
            restored: false,
        };
        // From here on, drop restores whatever was changed.
        seg.netns.ip(&[
            "link",
            "add",
            &relay.relay_end,
            "type",
            "veth",
            "peer",
            "name",
            &relay.relay_port,
        ])?;
        seg.netns.ip(&["link", "set", &relay.relay_end, "up"])?;
        seg.netns
            .ip(&["link", "set", &relay.relay_port, "master", BRIDGE, "up"])?;

        let file = File::open(seg.netns.path())
            .map_err(|e| Error::io(format!("open {}", seg.netns.path().display()), e))?;
        let (tx, rx) = mpsc::channel::<std::result::Result<(), String>>();
        let (params, stop) = (relay.params.clone(), relay.stop.clone());
        let (a, b, ns) = (
            relay.port.clone(),
            relay.relay_end.clone(),
            relay.seg_ns.clone(),
        );
        let (go_tx, go_rx) = mpsc::channel::<bool>();
        let thread = std::thread::Builder::new()
            .name(format!("delay:{}", host.name))
            .spawn(move || -> std::result::Result<(), String> {
                let setup = (|| -> std::result::Result<[Socket; 2], String> {
                    setns(&file, CloneFlags::CLONE_NEWNET)
                        .map_err(|e| format!("setns into {ns}: {e}"))?;
                    drop(file);
                    let sa = bound_socket(&a).map_err(|e| format!("socket on {a}: {e}"))?;
                    let sb = bound_socket(&b).map_err(|e| format!("socket on {b}: {e}"))?;
                    Ok([sa, sb])
                })();
                let socks = match setup {
                    Ok(s) => {
                        let _ = tx.send(Ok(()));
                        s
                    }
                    Err(e) => {
                        let _ = tx.send(Err(e.clone()));
                        return Err(e);
                    }
                };
                // Wait until the host port has left the bridge, then drop what was bridged
                // anyway in between (those frames were delivered directly).
                if !go_rx.recv().unwrap_or(false) {
                    return Ok(());
                }
                let relay = Relay {
                    socks,
                    params,
                    stop,
                    rng: SplitMix64(seed),
                    heap: BinaryHeap::with_capacity(1024),
                    bufs: Vec::with_capacity(1024),
                    free: Vec::with_capacity(1024),
                    last_due: [None, None],
                    seq: 0,
                    scratch: vec![0u8; 65536],
                };
                for s in &relay.socks {
                    let mut junk = [0u8; 64];
                    while nix::sys::socket::recv(s.as_raw_fd(), &mut junk, MsgFlags::MSG_TRUNC)
                        .is_ok()
                    {}
                }
                relay.run()
            })
            .map_err(|e| Error::io("spawn delay relay thread", e))?;
        relay.thread = Some(thread);
        match rx.recv() {
            Ok(Ok(())) => {}
            Ok(Err(e)) => {
                let _ = go_tx.send(false);
                return Err(Error::Invalid(format!(
                    "delay relay for {}: {e}",
                    relay.host
                )));
            }
            Err(_) => {
                return Err(Error::Invalid(format!(
                    "delay relay thread for {} ended during setup",
                    relay.host
                )))
            }
        }
        let res = seg.netns.ip(&["link", "set", &relay.port, "nomaster"]);
        let _ = go_tx.send(res.is_ok());
        res?;
        Ok(relay)
    }

    fn set(&self, base: Duration, jitter: Duration) {
        self.params.base_us.store(micros(base), Ordering::Relaxed);
        self.params
            .jitter_us
            .store(micros(jitter), Ordering::Relaxed);
    }

    /// Stops the thread (frames still waiting are dropped), puts the host's port back on the
    /// bridge and deletes the relay veth pair.
    pub(crate) fn stop(&mut self) -> Result<()> {
        self.stop.store(true, Ordering::Relaxed);
        let mut thread_err = None;
        if let Some(t) = self.thread.take() {
            match t.join() {
                Ok(Ok(())) => {}
                Ok(Err(e)) => thread_err = Some(e),
                Err(_) => thread_err = Some("relay thread panicked".into()),
            }
        }
        if self.restored {
            return Ok(());
        }
        self.restored = true;
        let ns = self.seg_ns.as_str();
        // Back on the bridge first, then the relay pair goes (deleting one end removes both).
        let attach = ip(&["-n", ns, "link", "set", &self.port, "master", BRIDGE]);
        let del = ip(&["-n", ns, "link", "del", &self.relay_end]);
        attach?;
        del?;
        match thread_err {
            Some(e) => Err(Error::Invalid(format!(
                "delay relay for {} failed: {e}",
                self.host
            ))),
            None => Ok(()),
        }
    }
}

impl Drop for DelayRelay {
    fn drop(&mut self) {
        if let Err(e) = self.stop() {
            eprintln!("vrrp-netns: removing the delay relay of {}: {e}", self.host);
        }
    }
}

impl Lab {
    /// Delays every frame to and from `host` by `base` ± `jitter` (uniform, drawn from a PRNG
    /// seeded with the host name, so runs repeat), in both directions, with a userspace relay
    /// between the host's veth and the bridge (this kernel has no `sch_netem`; see the module
    /// documentation of `delay.rs` in the repository for the wiring). Frames keep their order
    /// per direction. A round trip through the host thus takes `2 x base` more.
    ///
    /// Calling it again changes the delay of the running relay in place. Undo with
    /// [`Lab::clear_delay`]; dropping the lab also stops the relay and restores the wiring.
    pub fn set_delay(&self, host: &str, base: Duration, jitter: Duration) -> Result<()> {
        let seed = seed_of(host);
        self.set_delay_seeded(host, base, jitter, seed)
    }

    /// Like [`Lab::set_delay`] with an explicit jitter seed (used only when the relay is
    /// created).
    pub fn set_delay_seeded(
        &self,
        host: &str,
        base: Duration,
        jitter: Duration,
        seed: u64,
    ) -> Result<()> {
        let h = self
            .try_host(host)
            .ok_or_else(|| Error::Invalid(format!("no host {host:?} in lab {}", self.id())))?;
        if jitter > base {
            return Err(Error::Invalid(format!(
                "jitter {jitter:?} larger than the base delay {base:?}"
            )));
        }
        let mut relays = self.delays.lock().expect("delay lock");
        if let Some(r) = relays.iter().find(|r| r.host == host) {
            r.set(base, jitter);
            return Ok(());
        }
        let r = DelayRelay::start(self, h, base, jitter, seed)?;
        relays.push(r);
        Ok(())
    }

    /// Removes the delay of `host`: stops the relay thread (frames still waiting are
    /// dropped), puts the host's original port back on the bridge and deletes the relay
    /// veth pair. A no-op if no delay is set.
    pub fn clear_delay(&self, host: &str) -> Result<()> {
        if self.try_host(host).is_none() {
            return Err(Error::Invalid(format!(
                "no host {host:?} in lab {}",
                self.id()
            )));
        }
        let r = {
            let mut relays = self.delays.lock().expect("delay lock");
            relays
                .iter()
                .position(|r| r.host == host)
                .map(|i| relays.remove(i))
        };
        match r {
            Some(mut r) => r.stop(),
            None => Ok(()),
        }
    }

    /// The hosts that currently have a delay relay, with `(base, jitter)`.
    pub fn delays(&self) -> Vec<(String, Duration, Duration)> {
        self.delays
            .lock()
            .expect("delay lock")
            .iter()
            .map(|r| {
                (
                    r.host.clone(),
                    Duration::from_micros(r.params.base_us.load(Ordering::Relaxed)),
                    Duration::from_micros(r.params.jitter_us.load(Ordering::Relaxed)),
                )
            })
            .collect()
    }
}

impl Host {
    /// Pings `ip` `count` times, 200 ms apart (each reply awaited up to 2 s), and returns the
    /// round-trip times `(min, avg, max)` as `ping` reports them, or `None` if nothing was
    /// answered.
    pub fn ping_rtt(
        &self,
        ip: std::net::IpAddr,
        count: u32,
    ) -> Result<Option<(Duration, Duration, Duration)>> {
        let ip_s = ip.to_string();
        let count_s = count.max(1).to_string();
        let mut args = vec!["-n", "-q", "-c", &count_s, "-i", "0.2", "-W", "2"];
        if let std::net::IpAddr::V6(v6) = ip {
            args.insert(0, "-6");
            if v6.segments()[0] & 0xffc0 == 0xfe80 {
                args.extend(["-I", HOST_IFACE]);
            }
        }
        args.push(&ip_s);
        let out = self.netns.exec("ping", &args)?;
        Ok(parse_rtt(&String::from_utf8_lossy(&out.stdout)))
    }
}

/// Parses `rtt min/avg/max/mdev = 0.041/0.052/0.066/0.009 ms`.
fn parse_rtt(text: &str) -> Option<(Duration, Duration, Duration)> {
    let line = text.lines().find(|l| l.contains("min/avg/max"))?;
    let nums = line.split('=').nth(1)?.split_whitespace().next()?;
    let v: Vec<f64> = nums.split('/').filter_map(|x| x.parse().ok()).collect();
    let d = |ms: f64| Duration::from_secs_f64(ms / 1000.0);
    Some((d(*v.first()?), d(*v.get(1)?), d(*v.get(2)?)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jitter_stays_in_range_and_repeats() {
        let mut a = SplitMix64(seed_of("r1"));
        let mut b = SplitMix64(seed_of("r1"));
        let mut seen_neg = false;
        let mut seen_pos = false;
        for _ in 0..1000 {
            let x = a.jitter(500);
            assert_eq!(x, b.jitter(500));
            assert!((-500..=500).contains(&x));
            seen_neg |= x < 0;
            seen_pos |= x > 0;
        }
        assert!(seen_neg && seen_pos);
        assert_eq!(a.jitter(0), 0);
    }

    #[test]
    fn rtt_line_parses() {
        let t = "--- 192.0.2.2 ping statistics ---\n5 packets transmitted, 5 received, 0% packet loss, time 801ms\nrtt min/avg/max/mdev = 100.041/100.052/100.066/0.009 ms\n";
        let (min, avg, max) = parse_rtt(t).unwrap();
        assert_eq!(min.as_micros(), 100_041);
        assert_eq!(avg.as_micros(), 100_052);
        assert_eq!(max.as_micros(), 100_066);
        assert!(parse_rtt("1 packets transmitted, 0 received").is_none());
    }
}
