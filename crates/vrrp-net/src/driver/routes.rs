//! Routes and rules: those that follow a router's state (keepalived's `virtual_routes`,
//! `virtual_rules`: added after its addresses when it becomes Active, removed before them when
//! it leaves, diffed on reconfiguration), and the static ones (`static_ipaddress`,
//! `static_routes`, `static_rules`), installed at start for the daemon's life and removed at
//! stop. Routes go before rules on the way in and after them on the way out, as keepalived
//! does.

use std::collections::HashMap;

use vrrp_core::RouterId;

use super::plane::DataPlane;
use super::{Driver, DriverConfig};
use crate::error::{Error, Result};
use crate::netlink::{InterfaceInfo, VipSpec};
use crate::route::{ResolvedRoute, RouteSpec, RuleSpec};

/// The static objects installed at start, to remove at stop.
#[derive(Debug, Default)]
pub(super) struct Statics {
    addresses: Vec<(u32, VipSpec)>,
    routes: Vec<ResolvedRoute>,
    rules: Vec<RuleSpec>,
}

impl Statics {
    /// Whether `addr` on `ifindex` is one of the static addresses.
    pub(super) fn has_address(&self, ifindex: u32, addr: std::net::IpAddr) -> bool {
        (self.addresses.iter()).any(|(i, spec)| *i == ifindex && spec.addr == addr)
    }
}

impl<D: DataPlane> Driver<D> {
    /// A router's `AddRoutes`: its routes, then its rules.
    pub(super) async fn add_routes(&mut self, id: RouterId) {
        let Some(place) = self.places.get_mut(id.0).and_then(Option::as_mut) else {
            return;
        };
        place.routes_installed = true;
        let (routes, rules, span) = (
            place.routes.clone(),
            place.rules.clone(),
            place.span.clone(),
        );
        install(&mut self.plane, &routes, &rules, &span).await;
    }

    /// A router's `RemoveRoutes`: its rules, then its routes.
    pub(super) async fn remove_routes(&mut self, id: RouterId) {
        let Some(place) = self.places.get_mut(id.0).and_then(Option::as_mut) else {
            return;
        };
        place.routes_installed = false;
        let (routes, rules, span) = (
            place.routes.clone(),
            place.rules.clone(),
            place.span.clone(),
        );
        uninstall(&mut self.plane, &routes, &rules, &span).await;
    }

    /// A reconfiguration of router `id` to `routes` and `rules`: while they are installed,
    /// the dropped ones go and the new ones come; the unchanged ones are not touched.
    pub(super) async fn reconfigure_routes(
        &mut self,
        id: RouterId,
        routes: Vec<ResolvedRoute>,
        rules: Vec<RuleSpec>,
    ) {
        let Some(place) = self.places.get_mut(id.0).and_then(Option::as_mut) else {
            return;
        };
        let old_routes = std::mem::replace(&mut place.routes, routes.clone());
        let old_rules = std::mem::replace(&mut place.rules, rules.clone());
        if !place.routes_installed {
            return;
        }
        let span = place.span.clone();
        let gone_routes: Vec<_> = old_routes
            .iter()
            .filter(|r| !routes.contains(r))
            .cloned()
            .collect();
        let gone_rules: Vec<_> = old_rules
            .iter()
            .filter(|r| !rules.contains(r))
            .cloned()
            .collect();
        uninstall(&mut self.plane, &gone_routes, &gone_rules, &span).await;
        let new_routes: Vec<_> = routes
            .iter()
            .filter(|r| !old_routes.contains(r))
            .cloned()
            .collect();
        let new_rules: Vec<_> = rules
            .iter()
            .filter(|r| !old_rules.contains(r))
            .cloned()
            .collect();
        install(&mut self.plane, &new_routes, &new_rules, &span).await;
    }

    /// Installs the static addresses, routes and rules of `cfg` (interfaces looked up in
    /// `infos`). A missing interface is an error; a failed install is logged.
    pub(super) async fn install_statics(
        &mut self,
        cfg: &DriverConfig,
        infos: &HashMap<String, InterfaceInfo>,
    ) -> Result<()> {
        let statics = resolve_statics(cfg, infos)?;
        self.apply_statics(statics).await;
        Ok(())
    }

    /// A reload's static addresses, routes and rules (the `static_*` fields of `cfg`): the
    /// dropped ones are removed (rules, routes, then addresses), the new ones installed
    /// (addresses, routes, then rules); the unchanged ones are not touched. Fails, changing
    /// nothing, if an interface they name is missing.
    pub(super) async fn reconfigure_statics(&mut self, cfg: &DriverConfig) -> Result<()> {
        let names: Vec<&str> = (cfg.static_addresses.iter().map(|(n, _)| n.as_str()))
            .chain(cfg.static_routes.iter().flat_map(RouteSpec::devices))
            .collect();
        let infos = self.plane.interfaces(&names).await?;
        let new = resolve_statics(cfg, &infos)?;
        let old = std::mem::take(&mut self.statics);
        let dropped = Statics {
            addresses: old
                .addresses
                .iter()
                .filter(|a| !new.addresses.contains(a))
                .cloned()
                .collect(),
            routes: old
                .routes
                .iter()
                .filter(|r| !new.routes.contains(r))
                .cloned()
                .collect(),
            rules: old
                .rules
                .iter()
                .filter(|r| !new.rules.contains(r))
                .cloned()
                .collect(),
        };
        self.statics = dropped;
        self.remove_statics().await;
        let added = Statics {
            addresses: new
                .addresses
                .iter()
                .filter(|a| !old.addresses.contains(a))
                .cloned()
                .collect(),
            routes: new
                .routes
                .iter()
                .filter(|r| !old.routes.contains(r))
                .cloned()
                .collect(),
            rules: new
                .rules
                .iter()
                .filter(|r| !old.rules.contains(r))
                .cloned()
                .collect(),
        };
        self.apply_statics(added).await;
        self.statics = new;
        Ok(())
    }

    /// Installs `statics` (addresses, routes, then rules) and records them; an existing one
    /// is fine, a failure logged.
    async fn apply_statics(&mut self, statics: Statics) {
        let results = if statics.addresses.is_empty() {
            Vec::new()
        } else {
            self.plane.add_addresses(&statics.addresses).await
        };
        for ((ifindex, spec), r) in statics.addresses.iter().zip(results) {
            match r {
                Ok(()) | Err(Error::AddressExists { .. }) => {}
                Err(e) => tracing::error!(ifindex, addr = %spec.addr, error = %e,
                    "static address not added"),
            }
        }
        let span = tracing::info_span!("static");
        install(&mut self.plane, &statics.routes, &statics.rules, &span).await;
        self.statics = statics;
    }

    /// Removes the static rules, routes and addresses.
    pub(super) async fn remove_statics(&mut self) {
        let statics = std::mem::take(&mut self.statics);
        let span = tracing::info_span!("static");
        uninstall(&mut self.plane, &statics.routes, &statics.rules, &span).await;
        for (ifindex, spec) in statics.addresses {
            if let Err(e) = self
                .plane
                .del_address(ifindex, spec.addr, spec.prefix_len, spec.peer)
                .await
            {
                tracing::warn!(ifindex, addr = %spec.addr, error = %e, "static address not removed");
            }
        }
    }
}

/// The static objects of `cfg` with their interfaces resolved in `infos`.
fn resolve_statics(cfg: &DriverConfig, infos: &HashMap<String, InterfaceInfo>) -> Result<Statics> {
    let index = |name: &str| {
        (infos.get(name))
            .map(|i| i.index)
            .ok_or_else(|| Error::InterfaceNotFound(name.to_string()))
    };
    let addresses = (cfg.static_addresses.iter())
        .map(|(dev, spec)| Ok((index(dev)?, spec.clone())))
        .collect::<Result<_>>()?;
    let routes = (cfg.static_routes.iter())
        .map(|r| r.resolve(index))
        .collect::<Result<_>>()?;
    Ok(Statics {
        addresses,
        routes,
        rules: cfg.static_rules.clone(),
    })
}

/// Adds `routes`, then `rules`; an existing one is left as it is, a failure logged.
async fn install<D: DataPlane>(
    plane: &mut D,
    routes: &[ResolvedRoute],
    rules: &[RuleSpec],
    span: &tracing::Span,
) {
    for route in routes {
        match plane.add_route(route).await {
            Ok(()) | Err(Error::RouteExists { .. }) => {}
            Err(e) => {
                tracing::error!(parent: span, route = %route.spec, error = %e, "route not added")
            }
        }
    }
    for rule in rules {
        match plane.add_rule(rule).await {
            Ok(()) | Err(Error::RouteExists { .. }) => {}
            Err(e) => tracing::error!(parent: span, %rule, error = %e, "rule not added"),
        }
    }
}

/// Removes `rules`, then `routes`; an absent one is fine, a failure logged.
async fn uninstall<D: DataPlane>(
    plane: &mut D,
    routes: &[ResolvedRoute],
    rules: &[RuleSpec],
    span: &tracing::Span,
) {
    for rule in rules {
        match plane.del_rule(rule).await {
            Ok(()) | Err(Error::RouteNotFound { .. }) => {}
            Err(e) => tracing::warn!(parent: span, %rule, error = %e, "rule not removed"),
        }
    }
    for route in routes {
        match plane.del_route(route).await {
            Ok(()) | Err(Error::RouteNotFound { .. }) | Err(Error::InterfaceNotFound(_)) => {}
            Err(e) => {
                tracing::warn!(parent: span, route = %route.spec, error = %e, "route not removed")
            }
        }
    }
}
