//! [`LinuxPlane`]: the [`DataPlane`] of a Linux host. Raw VRRP sockets (one per interface and
//! family, read by the driver task itself: no reader task, no copy), netlink for interfaces,
//! addresses and VMACs, the link and address watcher, one send-only AF_PACKET socket for
//! announcements (paced per interface), sysctls, and the Accept_Mode nftables table. What it
//! creates it undoes at [`DataPlane::release`], and (blocking, best effort) when dropped.

use std::collections::{BTreeSet, HashMap, HashSet};
use std::net::IpAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::task::{Context, Poll};

use tokio::time::Instant as TokioInstant;
use vrrp_core::packet::{Family, RxMeta};

use super::plane::{DataPlane, PlaneInput, RxPacket, SocketKey};
use super::DriverConfig;
use crate::announce::{build_garp, build_unsolicited_na, AnnounceSocket, GarpForm, Pacer};
use crate::conflict::{build_probe, Claim, ClaimSocket};
use crate::error::{Error, Result};
use crate::netlink::{
    AddressInfo, InterfaceInfo, MacvlanMode, Netlink, VipSpec, VmacAddrGen, VmacFamily,
};
use crate::nft::AcceptModeFilter;
use crate::route::{ResolvedRoute, RuleSpec};
use crate::socket::{OpenOptions, VrrpSocket};
use crate::sysctl::{self, Setting};
use crate::watch::Watcher;

/// Most VIP additions in flight at once ([`DataPlane::add_addresses`]).
const ADDS_IN_FLIGHT: usize = 64;

/// The Linux data plane of one driver.
pub(crate) struct LinuxPlane {
    epoch: TokioInstant,
    netlink: Netlink,
    watcher: Watcher,
    watcher_closed: bool,
    /// The VRRP sockets, in a stable order (round-robin reading).
    sockets: Vec<(SocketKey, VrrpSocket)>,
    /// Where the next `try_recv` starts, so one busy socket does not starve the others.
    next_socket: usize,
    announce: Arc<AnnounceSocket>,
    garp_pacer: Pacer,
    na_pacer: Pacer,
    garp_form: GarpForm,
    nft_program: PathBuf,
    table_id: String,
    filter: Option<AcceptModeFilter>,
    /// VMACs created: ifindex and name.
    vmacs: Vec<(u32, String)>,
    /// Sysctls changed, with their previous values.
    sysctls: Vec<Setting>,
    /// Whether each interface forwards IPv6 (the NA's Router flag), and when that was read.
    ipv6_forwarding: HashMap<u32, (bool, TokioInstant)>,
    /// The address-claim watches, by interface and family.
    claim_watches: Vec<(SocketKey, ClaimSocket)>,
    /// Where the next `try_recv_claim` starts.
    next_watch: usize,
    /// Reused buffer of the claim watches.
    claim_buf: Box<[u8]>,
}

/// How long an interface's IPv6 `forwarding` setting is trusted before it is read again.
const FORWARDING_RECHECK: std::time::Duration = std::time::Duration::from_secs(10);

impl LinuxPlane {
    /// Whether interface `ifindex` forwards IPv6, as keepalived decides the unsolicited NA's
    /// Router flag: its `net.ipv6.conf.IF.forwarding`, read at most every
    /// [`FORWARDING_RECHECK`]. An interface that cannot be read counts as not forwarding.
    fn forwards_ipv6(&mut self, ifindex: u32) -> bool {
        let now = TokioInstant::now();
        if let Some((on, at)) = self.ipv6_forwarding.get(&ifindex) {
            if now.duration_since(*at) < FORWARDING_RECHECK {
                return *on;
            }
        }
        let on = ifname_of(ifindex)
            .and_then(|name| sysctl::get(sysctl::Family::Ipv6, &name, "forwarding").ok())
            .is_some_and(|v| v != "0");
        self.ipv6_forwarding.insert(ifindex, (on, now));
        on
    }

    /// Opens the netlink handle, the link watcher (subscribed before any interface is looked
    /// up, so that no change after a lookup goes unreported) and the announcement socket.
    pub(crate) async fn open(cfg: &DriverConfig, table_id: String) -> Result<Self> {
        let netlink = Netlink::new()?;
        let watcher = Watcher::new().await?;
        let announce = AnnounceSocket::open()?;
        Ok(LinuxPlane {
            epoch: TokioInstant::now(),
            netlink,
            watcher,
            watcher_closed: false,
            sockets: Vec::new(),
            next_socket: 0,
            announce: Arc::new(announce),
            garp_pacer: Pacer::new(cfg.garp_interval),
            na_pacer: Pacer::new(cfg.gna_interval),
            garp_form: cfg.garp_form,
            nft_program: cfg.nft_program.clone(),
            table_id,
            filter: None,
            vmacs: Vec::new(),
            sysctls: Vec::new(),
            ipv6_forwarding: HashMap::new(),
            claim_watches: Vec::new(),
            next_watch: 0,
            claim_buf: vec![0u8; 256].into_boxed_slice(),
        })
    }

    /// The tokio instant of a router instant (for the deadline timer).
    pub(crate) fn tokio_instant(&self, t: vrrp_core::Instant) -> TokioInstant {
        self.epoch + std::time::Duration::from_micros(t.as_micros())
    }
}

impl Drop for LinuxPlane {
    fn drop(&mut self) {
        // The filter removes its table in its own Drop.
        sysctl::restore(&std::mem::take(&mut self.sysctls));
        for (ifindex, name) in std::mem::take(&mut self.vmacs) {
            if let Err(e) = crate::netlink::delete_link_blocking(ifindex) {
                tracing::warn!(interface = %name, error = %e, "VMAC not deleted");
            }
        }
    }
}

impl DataPlane for LinuxPlane {
    fn now(&self) -> vrrp_core::Instant {
        vrrp_core::Instant::from_micros(self.epoch.elapsed().as_micros() as u64)
    }

    fn poll_input(&mut self, cx: &mut Context<'_>) -> Poll<PlaneInput> {
        let vrrp = (self.sockets.iter()).any(|(_, s)| s.poll_readable(cx).is_ready());
        if vrrp || (self.claim_watches.iter()).any(|(_, w)| w.poll_readable(cx).is_ready()) {
            return Poll::Ready(PlaneInput::Readable);
        }
        if self.watcher_closed {
            return Poll::Pending;
        }
        match self.watcher.poll_next(cx) {
            Poll::Ready(Some(ev)) => Poll::Ready(PlaneInput::Net(ev)),
            Poll::Ready(None) => {
                self.watcher_closed = true;
                Poll::Ready(PlaneInput::WatcherClosed)
            }
            Poll::Pending => Poll::Pending,
        }
    }

    fn try_recv(&mut self, buf: &mut [u8]) -> Option<RxPacket> {
        let n = self.sockets.len();
        for k in 0..n {
            let i = (self.next_socket + k) % n;
            let sock = &self.sockets[i].1;
            match sock.try_recv(buf) {
                Ok(Some(r)) => {
                    let meta = RxMeta {
                        src: r.src,
                        dst: r.dst,
                        ttl: r.ttl_or_hoplimit,
                        ifindex: r.ifindex,
                    };
                    let (ifindex, len) = (r.ifindex, r.payload.len());
                    // The payload starts after the IP header (IPv4): move it to the front.
                    let start = r.payload.as_ptr() as usize - buf.as_ptr() as usize;
                    buf.copy_within(start..start + len, 0);
                    self.next_socket = (i + 1) % n;
                    return Some(RxPacket { ifindex, meta, len });
                }
                Ok(None) => {}
                Err(e) => {
                    tracing::warn!(ifindex = sock.ifindex(), error = %e, "VRRP receive failed")
                }
            }
        }
        None
    }

    async fn interfaces(&mut self, names: &[&str]) -> Result<HashMap<String, InterfaceInfo>> {
        self.netlink.interfaces_by_name(names).await
    }

    fn open_socket(&mut self, key: SocketKey, ifname: &str, opts: OpenOptions) -> Result<()> {
        if self.sockets.iter().any(|(k, _)| *k == key) {
            return Ok(());
        }
        let (ifindex, family) = key;
        let sock = VrrpSocket::open_with(ifindex, ifname, family == Family::V6, opts)?;
        self.sockets.push((key, sock));
        Ok(())
    }

    fn join_group(&mut self, key: SocketKey, group: IpAddr) -> Result<()> {
        match self.sockets.iter().find(|(k, _)| *k == key) {
            Some((_, sock)) => sock.join_group(group),
            None => Ok(()),
        }
    }

    fn set_receive_buffer(&mut self, key: SocketKey, bytes: usize) -> Result<()> {
        match self.sockets.iter().find(|(k, _)| *k == key) {
            Some((_, sock)) => sock.set_receive_buffer(bytes),
            None => Ok(()),
        }
    }

    fn retain_sockets(&mut self, used: &HashSet<SocketKey>) {
        self.sockets.retain(|(k, _)| used.contains(k));
        self.next_socket = 0;
    }

    async fn send_advert(
        &mut self,
        key: SocketKey,
        payload: &[u8],
        src: IpAddr,
        dst: IpAddr,
        ttl: Option<u8>,
    ) -> Result<()> {
        let Some((_, sock)) = self.sockets.iter().find(|(k, _)| *k == key) else {
            return Err(Error::Invalid {
                context: format!("sending an advert on ifindex {}", key.0),
                message: "no socket is open there".into(),
            });
        };
        match ttl {
            Some(ttl) => sock.send_from_with_ttl(payload, src, dst, ttl).await,
            None => sock.send_from(payload, src, dst).await,
        }
    }

    async fn add_addresses(&mut self, adds: &[(u32, VipSpec)]) -> Vec<Result<()>> {
        let mut results = Vec::with_capacity(adds.len());
        for chunk in adds.chunks(ADDS_IN_FLIGHT) {
            let requests = chunk
                .iter()
                .map(|(ifindex, spec)| self.netlink.add_address(*ifindex, spec));
            results.extend(futures::future::join_all(requests).await);
        }
        results
    }

    async fn del_address(
        &mut self,
        ifindex: u32,
        addr: IpAddr,
        prefix_len: u8,
        peer: Option<IpAddr>,
    ) -> Result<()> {
        (self.netlink)
            .del_peer_address(ifindex, addr, prefix_len, peer)
            .await
    }

    async fn renew_address(&mut self, ifindex: u32, vip: &VipSpec) -> Result<()> {
        self.netlink.renew_address(ifindex, vip).await
    }

    async fn list_addresses(&mut self) -> Result<Vec<AddressInfo>> {
        self.netlink.list_all_addresses().await
    }

    async fn add_route(&mut self, route: &ResolvedRoute) -> Result<()> {
        self.netlink.add_route(route).await
    }

    async fn del_route(&mut self, route: &ResolvedRoute) -> Result<()> {
        self.netlink.del_route(route).await
    }

    async fn add_rule(&mut self, rule: &RuleSpec) -> Result<()> {
        self.netlink.add_rule(rule).await
    }

    async fn del_rule(&mut self, rule: &RuleSpec) -> Result<()> {
        self.netlink.del_rule(rule).await
    }

    async fn create_vmac(
        &mut self,
        parent: &InterfaceInfo,
        name: &str,
        vrid: u8,
        family: VmacFamily,
        mode: MacvlanMode,
    ) -> Result<u32> {
        let ifindex = create_vmac(&self.netlink, parent, name, vrid, family, mode).await?;
        self.vmacs.push((ifindex, name.to_string()));
        Ok(ifindex)
    }

    async fn delete_vmac(&mut self, ifindex: u32) -> Result<()> {
        self.vmacs.retain(|(x, _)| *x != ifindex);
        match self.netlink.delete_link(ifindex).await {
            Ok(()) | Err(Error::InterfaceNotFound(_)) => Ok(()),
            Err(e) => Err(e),
        }
    }

    fn apply_sysctls(&mut self, settings: &[Setting]) -> Result<()> {
        let previous = sysctl::apply(settings)?;
        self.sysctls.extend(previous);
        Ok(())
    }

    async fn announce(&mut self, ifindex: u32, mac: [u8; 6], addr: IpAddr) {
        let mut frame = [0u8; 128];
        let (built, pacer) = match addr {
            IpAddr::V4(v4) => (
                build_garp(&mut frame, mac, v4, self.garp_form),
                &mut self.garp_pacer,
            ),
            IpAddr::V6(v6) => {
                let router = self.forwards_ipv6(ifindex);
                (
                    build_unsolicited_na(&mut frame, mac, v6, router),
                    &mut self.na_pacer,
                )
            }
        };
        let len = match built {
            Ok(n) => n,
            Err(e) => return tracing::error!(%addr, error = %e, "announcement not built"),
        };
        let at = pacer.reserve(ifindex, TokioInstant::now());
        if at <= TokioInstant::now() {
            send_frame(&self.announce, ifindex, &frame[..len], addr).await;
        } else {
            let sock = self.announce.clone();
            let frame = frame[..len].to_vec();
            tokio::spawn(async move {
                tokio::time::sleep_until(at).await;
                send_frame(&sock, ifindex, &frame, addr).await;
            });
        }
    }

    fn watch_claims(&mut self, watched: &HashSet<SocketKey>) {
        self.claim_watches.retain(|(k, _)| watched.contains(k));
        for key in watched {
            if self.claim_watches.iter().any(|(k, _)| k == key) {
                continue;
            }
            match ClaimSocket::open(key.0, key.1) {
                Ok(w) => self.claim_watches.push((*key, w)),
                Err(e) => tracing::warn!(ifindex = key.0, family = ?key.1, error = %e,
                    "address conflicts not watched"),
            }
        }
        self.next_watch = 0;
    }

    fn try_recv_claim(&mut self) -> Option<(u32, Claim)> {
        let n = self.claim_watches.len();
        for k in 0..n {
            let i = (self.next_watch + k) % n;
            let (key, watch) = &self.claim_watches[i];
            match watch.try_recv(&mut self.claim_buf) {
                Ok(Some(claim)) => {
                    self.next_watch = (i + 1) % n;
                    return Some((key.0, claim));
                }
                Ok(None) => {}
                Err(e) => tracing::warn!(ifindex = key.0, error = %e, "address-claim watch failed"),
            }
        }
        None
    }

    async fn probe(&mut self, ifindex: u32, mac: [u8; 6], addr: IpAddr) {
        let mut frame = [0u8; 128];
        match build_probe(&mut frame, mac, addr) {
            Ok(len) => {
                if let Err(e) = self.announce.send(ifindex, &frame[..len]).await {
                    tracing::warn!(%addr, ifindex, error = %e, "conflict probe not sent");
                }
            }
            Err(e) => tracing::error!(%addr, error = %e, "conflict probe not built"),
        }
    }

    async fn set_filter(&mut self, vips: &BTreeSet<IpAddr>) -> Result<()> {
        let vips: Vec<IpAddr> = vips.iter().copied().collect();
        let filter = self.filter.take();
        let program = self.nft_program.clone();
        let id = self.table_id.clone();
        let job = tokio::task::spawn_blocking(move || apply_filter(filter, &program, &id, &vips));
        match job.await {
            Ok((filter, result)) => {
                self.filter = filter;
                result
            }
            Err(e) => Err(Error::Invalid {
                context: "accept-mode filter task".into(),
                message: e.to_string(),
            }),
        }
    }

    async fn release(&mut self) {
        if let Some(f) = self.filter.take() {
            let table = f.table().to_string();
            if let Err(e) = f.remove() {
                tracing::warn!(%table, error = %e, "accept-mode table not removed");
            }
        }
        sysctl::restore(&std::mem::take(&mut self.sysctls));
        for (ifindex, name) in std::mem::take(&mut self.vmacs) {
            match self.netlink.delete_link(ifindex).await {
                Ok(()) | Err(Error::InterfaceNotFound(_)) => {}
                Err(e) => tracing::warn!(interface = %name, error = %e, "VMAC not deleted"),
            }
        }
        self.sockets.clear();
        self.claim_watches.clear();
    }
}

/// Sends one announcement frame; failures are logged.
/// The name of interface `ifindex` in this namespace.
fn ifname_of(ifindex: u32) -> Option<String> {
    let all = nix::net::if_::if_nameindex().ok()?;
    let found = all.iter().find(|i| i.index() == ifindex)?;
    Some(found.name().to_string_lossy().into_owned())
}

async fn send_frame(sock: &AnnounceSocket, ifindex: u32, frame: &[u8], addr: IpAddr) {
    if let Err(e) = sock.send(ifindex, frame).await {
        tracing::warn!(%addr, ifindex, error = %e, "announcement not sent");
    }
}

/// Creates a VMAC; a macvlan of that name left behind by an earlier run (same parent, same
/// MAC) is deleted and created afresh, anything else with the name is an error.
async fn create_vmac(
    netlink: &Netlink,
    parent: &InterfaceInfo,
    name: &str,
    vrid: u8,
    family: VmacFamily,
    mode: MacvlanMode,
) -> Result<u32> {
    let create =
        || netlink.create_vmac_with(parent.index, name, vrid, family, mode, VmacAddrGen::None);
    match create().await {
        Err(Error::LinkExists { context }) => {
            let old = netlink.interface_by_name(name).await?;
            let ours = old.kind.as_deref() == Some("macvlan")
                && old.parent == Some(parent.index)
                && old.mac == Some(family.mac(vrid));
            if !ours {
                return Err(Error::LinkExists { context });
            }
            tracing::warn!(interface = %parent.name, vmac = name, vrid,
                "removing a VMAC left behind by an earlier run");
            netlink.delete_link(old.index).await?;
            create().await
        }
        other => other,
    }
}

/// Makes the table (`filter`, if it exists) hold exactly `vips`: creates, updates or deletes
/// it. Returns the table as it is now, and whether that worked.
fn apply_filter(
    mut filter: Option<AcceptModeFilter>,
    program: &std::path::Path,
    id: &str,
    vips: &[IpAddr],
) -> (Option<AcceptModeFilter>, Result<()>) {
    let r = match (&mut filter, vips.is_empty()) {
        (Some(_), true) => filter.take().map_or(Ok(()), AcceptModeFilter::remove),
        (Some(f), false) => f.update(vips),
        (None, true) => Ok(()),
        (None, false) => {
            AcceptModeFilter::install_with(program, id, vips).map(|f| filter = Some(f))
        }
    };
    (filter, r)
}
