//! The virtual MAC macvlan of an instance (see the module documentation of the driver, "Virtual
//! MAC"): created with keepalived's sysctls, given the send (and in private mode the receive)
//! socket of the instance's adverts, deleted when the instance goes.

use std::sync::Arc;

use vrrp_core::packet::Family;
use vrrp_core::{Input, RouterConfig, RouterId};

use super::instance::Placement;
use super::plane::DataPlane;
use super::{Driver, VmacSpec};
use crate::error::{Error, Result};
use crate::netlink::{InterfaceInfo, MacvlanMode, VmacFamily};
use crate::socket::OpenOptions;
use crate::sysctl;

/// Puts an instance on its VMAC: creates the macvlan on `parent`, applies its sysctls and
/// opens its socket; VIPs and announcements move to it. On error the VMAC is deleted again
/// (its sysctls were not applied or are undone by the plane).
pub(super) async fn attach<D: DataPlane>(
    plane: &mut D,
    place: &mut Placement,
    cfg: &RouterConfig,
    vmac: &VmacSpec,
    name: String,
    parent: &InterfaceInfo,
) -> Result<()> {
    let (family, vrid) = (cfg.family, cfg.vrid);
    let vfam = vmac_family(family);
    let idx = plane
        .create_vmac(parent, &name, vrid, vfam, vmac.mode)
        .await?;
    let mut settings = sysctl::vmac_settings(&name, &parent.name);
    // keepalived: no IPv6 on an IPv4 VMAC unless it carries IPv6 addresses (excluded VIPs
    // of the other family), so that it gets no link-local address and no IPv6 routes.
    if family == Family::V4 && !cfg.installed_addresses().any(|a| a.is_ipv6()) {
        settings.push(sysctl::Setting::new(
            sysctl::Family::Ipv6,
            &name,
            "disable_ipv6",
            1,
        ));
    }
    let configured = match plane.apply_sysctls(&settings) {
        Ok(()) => route_adverts(plane, place, idx, &name, family, vmac.mode),
        Err(e) => Err(e),
    };
    if let Err(e) = configured {
        if let Err(e) = plane.delete_vmac(idx).await {
            tracing::warn!(parent: &place.span, vmac = %name, error = %e, "VMAC not deleted");
        }
        return Err(e);
    }
    place.vip_ifindex = idx;
    place.vip_ifname = name.as_str().into();
    place.mac = vfam.mac(vrid);
    place.vmac = Some(idx);
    tracing::info!(parent: &place.span, vmac = %name, mode = ?vmac.mode, "VMAC ready");
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
fn route_adverts<D: DataPlane>(
    plane: &mut D,
    place: &mut Placement,
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
        plane.open_socket((vmac_ifindex, family), vmac_name, opts)?;
        place.tx_ifindex = vmac_ifindex;
    }
    if rx_on_vmac {
        place.rx_ifindex = vmac_ifindex;
    }
    Ok(())
}

impl<D: DataPlane> Driver<D> {
    /// The name for the VMAC of a router: the configured one, else keepalived's first
    /// default name ([`VmacSpec::default_names`]) that no VMAC of this driver and no
    /// interface of the host has.
    pub(super) async fn vmac_name(
        &mut self,
        vmac: &VmacSpec,
        cfg: &RouterConfig,
    ) -> Result<String> {
        if let Some(name) = &vmac.name {
            return Ok(name.clone());
        }
        let candidates = VmacSpec::default_names(&self.vmac_prefix, cfg.vrid, cfg.family);
        let names: Vec<&str> = candidates.iter().map(String::as_str).collect();
        let existing = self.plane.interfaces(&names).await?;
        let ours: Vec<Arc<str>> = (self.live_places())
            .filter(|(_, p)| p.vmac.is_some())
            .map(|(_, p)| p.vip_ifname.clone())
            .collect();
        (candidates.iter())
            .find(|c| !existing.contains_key(*c) && !ours.iter().any(|o| &**o == c.as_str()))
            .cloned()
            .ok_or_else(|| Error::Invalid {
                context: format!("instance {}", cfg.name),
                message: format!(
                    "no free VMAC name from {} to {}",
                    names[0],
                    names[names.len() - 1]
                ),
            })
    }

    /// Deletes the VMAC of a placement, if it has one. Its own sysctls go with it; the
    /// parent's are restored at exit.
    pub(super) async fn delete_vmac(&mut self, place: &Placement) {
        let Some(idx) = place.vmac else {
            return;
        };
        if let Err(e) = self.plane.delete_vmac(idx).await {
            tracing::warn!(parent: &place.span, ifindex = idx, error = %e, "VMAC not deleted");
        }
    }

    /// Takes routers whose VMAC `ifindex` someone else deleted down (keepalived: FAULT).
    pub(super) fn on_vmac_deleted(&mut self, now: vrrp_core::Instant, ifindex: u32, name: &str) {
        let hit: Vec<RouterId> = (self.live_places())
            .filter(|(_, p)| p.vmac == Some(ifindex))
            .map(|(id, p)| {
                tracing::error!(parent: &p.span, vmac = %name, "VMAC deleted by someone else");
                id
            })
            .collect();
        for id in hit {
            self.node.handle(now, id, Input::LinkDown);
        }
    }
}
