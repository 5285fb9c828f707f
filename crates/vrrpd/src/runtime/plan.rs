//! From the configuration plan ([`crate::convert`]) to the data plane's driver configuration.

use std::time::Duration;

use vrrp_net::driver::{DriverConfig, InstanceSpec, VmacSpec};
use vrrp_net::netlink::AddrScope;
use vrrp_net::VipSpec;

use vrrp_net::route::{RouteSpec, RuleSpec};

use crate::config::model::{Broadcast, Config, GlobalDefs, PreferredLifetime};
use crate::convert::{InstancePlan, SyncGroupPlan, TrackSource, VipPlan};
use crate::iproute::{parse_route, parse_rule, LineError, RulePriorities};

/// Why a plan cannot run on this data plane.
#[derive(thiserror::Error, Debug, Clone, PartialEq, Eq)]
pub enum PlanError {
    /// keepalived allows unicast instances without an interface; vrrpd does not yet.
    #[error("({0}) instances without an interface are not supported yet")]
    NoInterface(String),
    /// A route or rule line vrrpd cannot install as written.
    #[error("{owner}: {keyword} `{line}`: {error}")]
    Line {
        /// The instance (`(NAME)`) or `static`.
        owner: String,
        /// The block.
        keyword: &'static str,
        /// The line.
        line: String,
        /// What is wrong.
        error: LineError,
    },
}

/// Options of the runtime that are not in keepalived's configuration.
#[derive(Debug, Clone, Default)]
pub struct RuntimeOptions {
    /// Install VIPs with a kernel lifetime renewed while Active (`--vip-lease`).
    pub vip_lease: Option<Duration>,
}

/// keepalived's delay before the instances start: the longer of `vrrp_startup_delay` and what
/// is left of `vrrp_delay_after_boot` at the current `uptime` (read only when that keyword is
/// set; unreadable: the keyword is ignored with a warning, as keepalived does).
pub fn startup_delay(global: &GlobalDefs, uptime: impl FnOnce() -> Option<Duration>) -> Duration {
    let fixed = Duration::from_micros(global.vrrp_startup_delay_us);
    let Some(after_boot) = global.vrrp_delay_after_boot_us.map(Duration::from_micros) else {
        return fixed;
    };
    let Some(uptime) = uptime() else {
        tracing::warn!("Unable to read /proc/uptime for vrrp_delay_after_boot - ignoring");
        return fixed;
    };
    let left = after_boot.saturating_sub(uptime);
    tracing::info!(?uptime, ?after_boot, ?left, "vrrp_delay_after_boot");
    fixed.max(left)
}

/// Builds the driver configuration for every instance and sync group, with the static
/// addresses, routes and rules and the global settings of `config`.
pub fn driver_config(
    config: &Config,
    plans: &[InstancePlan],
    groups: &[SyncGroupPlan],
    opts: &RuntimeOptions,
) -> Result<DriverConfig, PlanError> {
    let mut priorities = RulePriorities::default();
    let instances = plans
        .iter()
        .map(|p| instance_spec_with(p, &mut priorities))
        .collect::<Result<Vec<_>, _>>()?;
    let statics = statics_with(config, &mut priorities)?;
    let mut cfg = DriverConfig::new(instances);
    cfg.static_addresses = statics.static_addresses;
    cfg.static_routes = statics.static_routes;
    cfg.static_rules = statics.static_rules;
    cfg.startup_delay = startup_delay(&config.global_defs, super::host::uptime);
    cfg.log_unknown_vrids = config.global_defs.log_unknown_vrids;
    if let Some(prefix) = &config.global_defs.vmac_prefix {
        cfg.vmac_prefix = prefix.clone();
    }
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

/// The driver's specification of one instance (rules without a preference numbered as if the
/// instance were alone).
pub fn instance_spec(plan: &InstancePlan) -> Result<InstanceSpec, PlanError> {
    instance_spec_with(plan, &mut RulePriorities::default())
}

/// A driver configuration with only the static addresses, routes and rules of `config` (what
/// a reload hands to [`vrrp_net::driver::Handle::set_statics`]).
pub fn statics(config: &Config) -> Result<DriverConfig, PlanError> {
    statics_with(config, &mut RulePriorities::default())
}

fn statics_with(
    config: &Config,
    priorities: &mut RulePriorities,
) -> Result<DriverConfig, PlanError> {
    let mut cfg = DriverConfig::new(Vec::new());
    cfg.static_addresses = (config.static_ipaddress.iter())
        .filter_map(|v| {
            let plan = VipPlan::from_static(v, config.global_defs.default_interface.as_deref());
            Some((plan.dev.clone()?, vip_spec(&plan)))
        })
        .collect();
    cfg.static_routes = routes("static", "static_routes", &config.static_routes)?;
    cfg.static_rules = rules("static", "static_rules", &config.static_rules, priorities)?;
    Ok(cfg)
}

/// Parses route lines.
fn routes(
    owner: &str,
    keyword: &'static str,
    lines: &[String],
) -> Result<Vec<RouteSpec>, PlanError> {
    (lines.iter())
        .map(|l| {
            parse_route(l).map_err(|error| PlanError::Line {
                owner: owner.to_string(),
                keyword,
                line: l.clone(),
                error,
            })
        })
        .collect()
}

/// Parses rule lines; a rule without a preference gets keepalived's (counting down from
/// 32765), with keepalived's warning.
fn rules(
    owner: &str,
    keyword: &'static str,
    lines: &[String],
    priorities: &mut RulePriorities,
) -> Result<Vec<RuleSpec>, PlanError> {
    (lines.iter())
        .map(|l| {
            let (rule, defaulted) =
                parse_rule(l, &mut |v6| priorities.next(v6)).map_err(|error| PlanError::Line {
                    owner: owner.to_string(),
                    keyword,
                    line: l.clone(),
                    error,
                })?;
            if defaulted {
                tracing::warn!(
                    "{owner}: {keyword} `{l}` has no preference: set to {}, which is \
                    probably not what you want",
                    rule.priority
                );
            }
            Ok(rule)
        })
        .collect()
}

fn instance_spec_with(
    plan: &InstancePlan,
    priorities: &mut RulePriorities,
) -> Result<InstanceSpec, PlanError> {
    let owner = format!("({})", plan.router.name);
    let interface = plan
        .interface
        .clone()
        .ok_or_else(|| PlanError::NoInterface(plan.router.name.to_string()))?;
    Ok(InstanceSpec {
        router: plan.router.clone(),
        interface,
        vips: plan
            .vips
            .iter()
            .chain(&plan.excluded_vips)
            .map(vip_spec)
            .collect(),
        vip_interfaces: (plan.vips.iter().chain(&plan.excluded_vips))
            .filter_map(|v| Some((v.address, v.dev.clone()?)))
            .filter(|(_, dev)| Some(dev) != plan.interface.as_ref())
            .collect(),
        routes: routes(&owner, "virtual_routes", &plan.virtual_routes)?,
        rules: rules(&owner, "virtual_rules", &plan.virtual_rules, priorities)?,
        track_link: !plan.dont_track_primary,
        track_source: plan.track_src_ip,
        unicast_ttl: plan.transport.unicast_ttl,
        promote_secondaries: plan.promote_secondaries,
        receive_buffer: (plan.transport.kernel_rx_buf_size)
            .map(|b| usize::try_from(b).unwrap_or(usize::MAX)),
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
    spec.home = vip.home;
    spec.manage_temp_addr = vip.mngtmpaddr;
    spec.autojoin = vip.autojoin;
    spec.no_track = vip.no_track;
    if let Some(peer) = vip.peer {
        spec.peer = Some(peer);
        spec.prefix_len = if peer.is_ipv4() { 32 } else { 128 };
        // keepalived: no broadcast on a point-to-point address.
        spec.broadcast = None;
    }
    // keepalived applies preferred_lft to IPv6 only (valid forever): 0 is its deprecated /128.
    if let (true, Some(PreferredLifetime::Seconds(n))) = (vip.address.is_ipv6(), vip.preferred_lft)
    {
        spec.lifetime = Some((u32::MAX, n));
    }
    spec
}

#[cfg(test)]
mod tests {
    use super::*;

    fn global(startup_ms: u64, after_boot_ms: Option<u64>) -> GlobalDefs {
        GlobalDefs {
            vrrp_startup_delay_us: startup_ms * 1000,
            vrrp_delay_after_boot_us: after_boot_ms.map(|ms| ms * 1000),
            ..GlobalDefs::default()
        }
    }

    #[test]
    fn the_longer_of_the_startup_delay_and_the_rest_of_the_delay_after_boot() {
        let up = |ms| move || Some(Duration::from_millis(ms));
        let ms = Duration::from_millis;
        // 15 s after boot, at 10 s uptime: 5 s left, longer than the 2 s startup delay.
        assert_eq!(
            startup_delay(&global(2000, Some(15_000)), up(10_000)),
            ms(5000)
        );
        // 1 s left: the startup delay is longer.
        assert_eq!(
            startup_delay(&global(2000, Some(15_000)), up(14_000)),
            ms(2000)
        );
        // Booted long ago: no delay from it.
        assert_eq!(startup_delay(&global(0, Some(15_000)), up(60_000)), ms(0));
        // Uptime unreadable: ignored.
        assert_eq!(startup_delay(&global(300, Some(15_000)), || None), ms(300));
        // Not set: the uptime is not read.
        assert_eq!(
            startup_delay(&global(300, None), || panic!("uptime read")),
            ms(300)
        );
    }
}
