//! SIGHUP: reading the new configuration and matching its instances with the running ones.
//!
//! keepalived's rules (vrrp.c `vrrp_exist`): an instance of the new configuration continues a
//! running one when both have the same VRID, family, configured interface and the same choice
//! of unicast or multicast; the name does not count, so a renamed instance keeps its state.
//! A matched instance whose VMAC settings changed is removed and added again. Running
//! instances nothing matches are removed; new instances nothing matches are added.
//!
//! The configuration is refused as a whole, changing nothing, if keepalived would refuse it
//! at startup (any error diagnostic; with `-e` any error class at all) or if it cannot run on
//! this host (an interface without an address, an unsupported feature).

use std::net::IpAddr;

use vrrp_net::driver::{DriverConfig, InstanceSpec};

use crate::cli::Cli;
use crate::config::{Diagnostic, Loaded, Severity};
use crate::convert::{self, InstancePlan, MapError, SyncGroupPlan};
use crate::loader::{self, Outcome};

use super::host;
use super::plan::{self, PlanError};

/// Why a reload was refused (the running configuration is kept).
#[derive(Debug, thiserror::Error)]
pub enum Refused {
    /// The configuration has errors keepalived refuses at startup.
    #[error("the configuration has {} error(s)", errors(.0))]
    Config(Vec<Diagnostic>),
    /// `-e`/`--all-config` is given and the configuration has diagnostics of an error class.
    #[error("-e/--all-config is given and the configuration has errors")]
    AllConfig(Vec<Diagnostic>),
    /// The loading task failed.
    #[error("the configuration could not be loaded: {0}")]
    Load(String),
    /// The host's interfaces could not be read.
    #[error("cannot read the host's interfaces: {0}")]
    Host(#[source] vrrp_net::Error),
    /// An instance cannot be mapped onto the protocol engine.
    #[error("configuration cannot run: {0}")]
    Map(#[source] MapError),
    /// An instance cannot run on this data plane.
    #[error("configuration cannot run: {0}")]
    Plan(#[source] PlanError),
}

fn errors(d: &[Diagnostic]) -> usize {
    d.iter().filter(|d| d.severity == Severity::Error).count()
}

impl Refused {
    /// The diagnostics to log, each as `file:line:column: message`.
    pub fn diagnostics(&self) -> &[Diagnostic] {
        match self {
            Refused::Config(d) | Refused::AllConfig(d) => d,
            _ => &[],
        }
    }
}

/// A new configuration, checked and mapped, ready to apply.
#[derive(Debug)]
pub struct Next {
    /// The loaded configuration.
    pub loaded: Loaded,
    /// One plan per instance, in file order.
    pub plans: Vec<InstancePlan>,
    /// The driver specification of each plan.
    pub specs: Vec<InstanceSpec>,
    /// Sync groups (members index `plans`).
    pub groups: Vec<SyncGroupPlan>,
    /// The static addresses, routes and rules (only the `static_*` fields are set).
    pub statics: DriverConfig,
}

/// Re-reads the configuration as startup did and maps it; nothing is changed yet. The file is
/// read and parsed on a blocking thread, so the routers keep advertising meanwhile (a slow
/// reload must not let the peers take over, keepalived #2159).
pub async fn prepare(cli: &Cli) -> Result<Next, Refused> {
    let owned = cli.clone();
    let outcome = match tokio::task::spawn_blocking(move || loader::load(&owned)).await {
        Ok(outcome) => outcome,
        Err(e) => return Err(Refused::Load(e.to_string())),
    };
    // keepalived removes the reload file once the files are read, before checking them.
    if let Outcome::Loaded(loaded) = &outcome {
        super::reload_file::remove(&loaded.config.global_defs, cli);
    }
    let runnable = outcome.runnable(cli);
    let loaded = match outcome {
        Outcome::Failed { diagnostics, .. } => return Err(Refused::Config(diagnostics)),
        Outcome::Loaded(loaded) if !runnable => return Err(Refused::AllConfig(loaded.warnings)),
        Outcome::Loaded(loaded) => *loaded,
    };
    for w in &loaded.warnings {
        tracing::warn!("{w}");
    }
    let refusals = crate::config::usage::start_refusals(&loaded.not_acted_on);
    if !refusals.is_empty() {
        return Err(Refused::Config(refusals));
    }
    let facts = host::host_facts(&loaded.config)
        .await
        .map_err(Refused::Host)?;
    let plans = convert::router_configs(&loaded.config, &facts).map_err(Refused::Map)?;
    let specs = plans
        .iter()
        .map(plan::instance_spec)
        .collect::<Result<Vec<_>, _>>()
        .map_err(Refused::Plan)?;
    let groups = convert::sync_group_plans(&loaded.config);
    let statics = plan::statics(&loaded.config).map_err(Refused::Plan)?;
    Ok(Next {
        loaded,
        plans,
        specs,
        groups,
        statics,
    })
}

/// How the instances of two configurations correspond.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Diff {
    /// (running plan, new plan) pairs that continue with their state.
    pub kept: Vec<(usize, usize)>,
    /// Running plans to stop.
    pub removed: Vec<usize>,
    /// New plans to start.
    pub added: Vec<usize>,
}

/// keepalived's identity of an instance across a reload.
fn identity(p: &InstancePlan) -> (u8, vrrp_core::Family, Option<&str>, bool) {
    (
        p.router.vrid,
        p.router.family,
        p.interface.as_deref(),
        !p.router.unicast_peers.is_empty(),
    )
}

/// Matches the new plans with the running ones (see the module documentation).
pub fn diff(old: &[InstancePlan], new: &[InstancePlan]) -> Diff {
    let mut taken = vec![false; old.len()];
    let mut out = Diff::default();
    for (n, plan) in new.iter().enumerate() {
        let found = (0..old.len()).find(|&o| !taken[o] && identity(&old[o]) == identity(plan));
        match found {
            Some(o) => {
                taken[o] = true;
                if old[o].use_vmac == plan.use_vmac {
                    out.kept.push((o, n));
                } else {
                    out.removed.push(o);
                    out.added.push(n);
                }
            }
            None => out.added.push(n),
        }
    }
    out.removed.extend((0..old.len()).filter(|&o| !taken[o]));
    out.removed.sort_unstable();
    out
}

/// The first step of reconfiguring a kept instance: the new specification with only the
/// virtual addresses it keeps, so that every address any instance drops is released before
/// any instance adds one (an address moved between two instances in one reload). `None`
/// when nothing is dropped or nothing would be left.
pub fn release_step(old: &InstancePlan, spec: &InstanceSpec) -> Option<InstanceSpec> {
    let dropped = old
        .router
        .vips
        .iter()
        .any(|v| !spec.router.vips.contains(v));
    if !dropped {
        return None;
    }
    let kept: Vec<IpAddr> = spec
        .router
        .vips
        .iter()
        .copied()
        .filter(|v| old.router.vips.contains(v))
        .collect();
    if kept.is_empty() {
        return None;
    }
    let mut step = spec.clone();
    step.router.vips = kept;
    Some(step)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{self, LoadOptions};
    use crate::convert::{HostFacts, InterfaceFacts};

    fn plans(text: &str) -> Vec<InstancePlan> {
        let loaded = config::load_str(
            "test.conf",
            std::path::Path::new("/"),
            text,
            &LoadOptions::default(),
        )
        .expect("valid configuration");
        let host = HostFacts::new()
            .with(
                "eth0",
                InterfaceFacts {
                    primary_ipv4: Some("10.0.0.1".parse().unwrap()),
                    ipv6_link_local: Some("fe80::1".parse().unwrap()),
                },
            )
            .with(
                "eth1",
                InterfaceFacts {
                    primary_ipv4: Some("10.0.1.1".parse().unwrap()),
                    ipv6_link_local: None,
                },
            );
        convert::router_configs(&loaded.config, &host).expect("maps")
    }

    fn inst(name: &str, iface: &str, vrid: u8, extra: &str) -> String {
        format!(
            "vrrp_instance {name} {{\n interface {iface}\n virtual_router_id {vrid}\n priority 100\n virtual_ipaddress {{\n  192.0.2.{vrid}/24\n }}\n{extra}}}\n"
        )
    }

    #[test]
    fn matched_by_vrid_family_interface_and_unicast_not_by_name() {
        let old = plans(&format!(
            "{}{}{}",
            inst("A", "eth0", 1, ""),
            inst("B", "eth0", 2, ""),
            inst("C", "eth1", 3, "")
        ));
        let new = plans(&format!(
            "{}{}{}{}",
            inst("B2", "eth0", 2, ""), // B renamed
            inst("C", "eth0", 3, ""),  // C moved: remove + add
            inst("A", "eth0", 1, " unicast_peer {\n  10.0.0.2\n }\n"), // now unicast
            inst("D", "eth0", 4, ""),
        ));
        let d = diff(&old, &new);
        assert_eq!(d.kept, vec![(1, 0)]);
        assert_eq!(d.removed, vec![0, 2]);
        assert_eq!(d.added, vec![1, 2, 3]);
    }

    #[test]
    fn vmac_change_is_remove_and_add() {
        let old = plans(&inst("A", "eth0", 1, ""));
        let new = plans(&inst("A", "eth0", 1, " use_vmac\n"));
        let d = diff(&old, &new);
        assert_eq!((d.kept, d.removed, d.added), (vec![], vec![0], vec![0]));
        assert_eq!(diff(&new, &new).kept, vec![(0, 0)]);
    }

    #[test]
    fn release_step_keeps_only_common_addresses() {
        let old = plans(&inst("A", "eth0", 1, ""));
        let mut spec = plan::instance_spec(&old[0]).unwrap();
        assert!(release_step(&old[0], &spec).is_none(), "nothing dropped");
        spec.router.vips = vec!["192.0.2.1".parse().unwrap(), "192.0.2.9".parse().unwrap()];
        assert!(release_step(&old[0], &spec).is_none(), "nothing dropped");
        spec.router.vips = vec!["192.0.2.9".parse().unwrap()];
        assert!(release_step(&old[0], &spec).is_none(), "nothing left");
        let mut old2 = old[0].clone();
        old2.router.vips.push("192.0.2.7".parse().unwrap());
        spec.router.vips = vec!["192.0.2.1".parse().unwrap(), "192.0.2.9".parse().unwrap()];
        let step = release_step(&old2, &spec).unwrap();
        assert_eq!(
            step.router.vips,
            vec!["192.0.2.1".parse::<IpAddr>().unwrap()]
        );
    }
}
