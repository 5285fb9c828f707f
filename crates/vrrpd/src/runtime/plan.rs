//! From the configuration plan ([`crate::convert`]) to the data plane's driver configuration.

use std::time::Duration;

use vrrp_net::driver::{DriverConfig, InstanceSpec, VmacSpec};
use vrrp_net::netlink::AddrScope;
use vrrp_net::VipSpec;

use crate::config::model::{Broadcast, PreferredLifetime};
use crate::convert::{InstancePlan, SyncGroupPlan, TrackSource, VipPlan};

/// Why a plan cannot run on this data plane.
#[derive(thiserror::Error, Debug, Clone, PartialEq, Eq)]
pub enum PlanError {
    /// keepalived allows unicast instances without an interface; vrrpd does not yet.
    #[error("({0}) instances without an interface are not supported yet")]
    NoInterface(String),
}

/// Options of the runtime that are not in keepalived's configuration.
#[derive(Debug, Clone, Default)]
pub struct RuntimeOptions {
    /// Install VIPs with a kernel lifetime renewed while Active (`--vip-lease`).
    pub vip_lease: Option<Duration>,
}

/// Builds the driver configuration for every instance and sync group.
pub fn driver_config(
    plans: &[InstancePlan],
    groups: &[SyncGroupPlan],
    opts: &RuntimeOptions,
) -> Result<DriverConfig, PlanError> {
    let instances = plans
        .iter()
        .map(instance_spec)
        .collect::<Result<Vec<_>, _>>()?;
    let mut cfg = DriverConfig::new(instances);
    cfg.sync_groups = groups
        .iter()
        .map(|g| (g.name.clone(), g.members.clone()))
        .collect();
    cfg.garp_interval = plans
        .iter()
        .map(|p| p.garp_interval)
        .max()
        .unwrap_or_default();
    cfg.gna_interval = plans
        .iter()
        .map(|p| p.gna_interval)
        .max()
        .unwrap_or_default();
    cfg.vip_lease = opts.vip_lease;
    Ok(cfg)
}

/// The driver's specification of one instance.
pub fn instance_spec(plan: &InstancePlan) -> Result<InstanceSpec, PlanError> {
    let interface = plan
        .interface
        .clone()
        .ok_or_else(|| PlanError::NoInterface(plan.router.name.to_string()))?;
    Ok(InstanceSpec {
        router: plan.router.clone(),
        interface,
        vips: plan.vips.iter().map(vip_spec).collect(),
        trackers: plan.trackers.iter().map(|t| t.tracker.clone()).collect(),
        tracked_interfaces: (plan.trackers.iter().enumerate())
            .filter_map(|(i, t)| match &t.source {
                TrackSource::Interface(name) => Some((i, name.clone())),
                _ => None,
            })
            .collect(),
        vmac: plan.use_vmac.as_ref().map(|v| match &v.name {
            Some(name) => VmacSpec::new().named(name.clone()),
            None => VmacSpec::new(),
        }),
    })
}

/// The netlink form of a `virtual_ipaddress` line.
pub fn vip_spec(vip: &VipPlan) -> VipSpec {
    let mut spec = VipSpec::new(vip.address, vip.prefix_len);
    spec.label = vip.label.clone();
    spec.scope = match vip.scope.as_deref() {
        Some("site") => AddrScope::Site,
        Some("link") => AddrScope::Link,
        Some("host") => AddrScope::Host,
        Some("nowhere") => AddrScope::Nowhere,
        _ => AddrScope::Global,
    };
    spec = match vip.broadcast {
        Some(Broadcast::Address(a)) => VipSpec {
            broadcast: Some(a),
            ..spec
        },
        Some(Broadcast::Plus) => spec.with_auto_broadcast(),
        Some(Broadcast::Minus) | None => spec,
    };
    spec.nodad = vip.address.is_ipv6() || vip.nodad;
    spec.noprefixroute = vip.noprefixroute;
    if let Some(PreferredLifetime::Seconds(0)) = vip.preferred_lft {
        // keepalived's deprecated /128: valid forever, preferred 0.
        spec.lifetime = Some((u32::MAX, 0));
    }
    spec
}
