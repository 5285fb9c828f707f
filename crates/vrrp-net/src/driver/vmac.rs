//! The virtual MAC macvlan of an instance (see the module documentation of the driver, "Virtual
//! MAC"): created with keepalived's sysctls, given the send (and in private mode the receive)
//! socket of the instance's adverts, deleted when the instance goes.

use vrrp_core::packet::Family;

use super::instance::{Placed, Placement};
use super::sockets::SocketSet;
use super::{Driver, VmacSpec};
use crate::error::{Error, Result};
use crate::netlink::{InterfaceInfo, MacvlanMode, Netlink, VmacAddrGen, VmacFamily};
use crate::socket::OpenOptions;
use crate::sysctl;

/// Puts a placed instance on its VMAC: creates the macvlan on `parent`, applies its sysctls
/// and opens its socket; VIPs and announcements move to it. On error what it created is
/// undone.
pub(super) async fn attach(
    placed: &mut Placed,
    vmac: &VmacSpec,
    parent: &InterfaceInfo,
    netlink: &Netlink,
    sockets: &mut SocketSet,
) -> Result<()> {
    let cfg = placed.router.config();
    let (instance, family, vrid) = (cfg.name.clone(), cfg.family, cfg.vrid);
    let name = vmac.ifname(vrid, family);
    let vfam = vmac_family(family);
    let idx = create_vmac(netlink, parent, &name, vrid, vfam, vmac.mode).await?;
    let mut sysctls = Vec::new();
    let configured = match sysctl::apply(&sysctl::vmac_settings(&name, &parent.name)) {
        Ok(applied) => {
            sysctls = applied;
            route_adverts(&mut placed.place, sockets, idx, &name, family, vmac.mode)
        }
        Err(e) => Err(e),
    };
    if let Err(e) = configured {
        sysctl::restore(&sysctls);
        if let Err(e) = netlink.delete_link(idx).await {
            tracing::warn!(vmac = %name, error = %e, "VMAC not deleted");
        }
        return Err(e);
    }
    let place = &mut placed.place;
    place.vip_ifindex = idx;
    place.mac = vfam.mac(vrid);
    place.vmac = Some(idx);
    tracing::info!(instance = %instance, vrid, ?family, interface = %parent.name,
        vmac = %name, mode = ?vmac.mode, "VMAC ready");
    placed.vmac = Some((idx, name));
    placed.sysctls = sysctls;
    Ok(())
}

fn vmac_family(family: Family) -> VmacFamily {
    match family {
        Family::V4 => VmacFamily::V4,
        Family::V6 => VmacFamily::V6,
    }
}

/// Chooses the sockets the adverts of a VMAC instance use (see the module docs): multicast
/// adverts leave from the VMAC's socket (opened here) and, in private mode, arrive there.
fn route_adverts(
    place: &mut Placement,
    sockets: &mut SocketSet,
    vmac_ifindex: u32,
    vmac_name: &str,
    family: Family,
    mode: MacvlanMode,
) -> Result<()> {
    let rx_on_vmac = !place.unicast && matches!(mode, MacvlanMode::Private);
    if !place.unicast {
        let opts = OpenOptions {
            join_group: rx_on_vmac,
            receive: rx_on_vmac,
            nonlocal_source: true,
        };
        sockets.open(vmac_ifindex, vmac_name, family, opts)?;
        place.tx_ifindex = vmac_ifindex;
    }
    if rx_on_vmac {
        place.rx_ifindex = vmac_ifindex;
    }
    Ok(())
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

impl Driver {
    /// Deletes the VMAC of a removed instance, if it has one. Its own sysctls go with it; the
    /// parent's are restored at exit.
    pub(super) async fn delete_vmac(&mut self, i: usize) {
        let Some(idx) = self.places[i].vmac else {
            return;
        };
        match self.netlink.delete_link(idx).await {
            Ok(()) | Err(Error::InterfaceNotFound(_)) => {}
            Err(e) => tracing::warn!(ifindex = idx, error = %e, "VMAC not deleted"),
        }
        self.cleanup.forget_vmac(idx);
    }

    /// Takes routers whose VMAC `ifindex` someone else deleted down (keepalived: FAULT).
    pub(super) fn on_vmac_deleted(&mut self, now: vrrp_core::Instant, ifindex: u32, name: &str) {
        for i in 0..self.places.len() {
            if !self.places[i].removed && self.places[i].vmac == Some(ifindex) {
                let id = vrrp_core::RouterId(i);
                tracing::error!(instance = %self.node.router(id).config().name,
                    vmac = %name, "VMAC deleted by someone else");
                self.node.handle(now, id, vrrp_core::Input::LinkDown);
            }
        }
    }
}
