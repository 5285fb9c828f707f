//! Accept_Mode enforcement bookkeeping (see the driver's module documentation,
//! "Accept_Mode"): which VIPs the driver's nftables table must hold, and bringing the table in
//! line, growing it before VIPs are added and shrinking it after they are removed.

use std::collections::BTreeSet;
use std::net::IpAddr;
use std::path::{Path, PathBuf};

use super::instance::Placement;
use super::Driver;
use crate::error::{Error, Result};
use crate::nft::AcceptModeFilter;

/// The accept-mode state of a driver (the table itself lives in `Cleanup::filter`).
#[derive(Debug)]
pub(super) struct AcceptMode {
    /// Some instance needs Accept_Mode enforcement.
    pub(super) filtering: bool,
    /// The VIPs currently in the accept-mode table.
    filtered_vips: BTreeSet<IpAddr>,
    /// The `nft` program.
    nft_program: PathBuf,
    /// This driver's table id (see [`crate::nft::table_name`]).
    table_id: String,
}

impl AcceptMode {
    /// Nothing filtered yet; `filtering` if an instance of `places` needs it.
    pub(super) fn new(places: &[Placement], nft_program: PathBuf, table_id: String) -> Self {
        AcceptMode {
            filtering: places.iter().any(|p| p.filtered),
            filtered_vips: BTreeSet::new(),
            nft_program,
            table_id,
        }
    }

    /// The nftables table name (`inet <name>`).
    pub(super) fn table_name(&self) -> String {
        crate::nft::table_name(&self.table_id)
    }

    /// Checks that `nft` runs, before the first instance that needs it is added.
    pub(super) async fn probe_before_first(&self) -> Result<()> {
        if self.filtering {
            return Ok(());
        }
        probe_nft(&self.nft_program, &self.table_id).await
    }
}

/// Checks, without running it, that `program` is installed: what [`super::start`] checks
/// before the routers start, so that a missing `nft` fails the start clearly but a present one
/// costs no process spawn before the first adverts. The first table install, right after
/// them, is the full check (see [`Driver::sync_filter`] for its failure).
pub(super) fn find_nft(program: &Path, table_id: &str) -> Result<()> {
    crate::nft::find_program(program, &probe_context(table_id)).map(drop)
}

/// What the `nft` checks say they were doing.
fn probe_context(table_id: &str) -> String {
    let t = crate::nft::table_name(table_id);
    format!("checking that nftables table inet {t} can be managed (Accept_Mode off)")
}

/// Checks that `program` can manage table `table_id` (off the runtime thread).
pub(super) async fn probe_nft(program: &Path, table_id: &str) -> Result<()> {
    let program = program.to_path_buf();
    let id = table_id.to_string();
    tokio::task::spawn_blocking(move || AcceptModeFilter::probe(&program, &id))
        .await
        .map_err(|e| Error::Invalid {
            context: "checking nft".into(),
            message: e.to_string(),
        })?
}

impl Driver {
    /// The VIPs to filter: those of every (live) router without Accept_Mode, whatever its
    /// state. The rules sit in the input hook, so they only ever match while this host holds
    /// the VIP; keeping them installed in Backup means a takeover never waits for `nft`.
    fn wanted_filter(&self) -> BTreeSet<IpAddr> {
        self.node
            .routers()
            .filter(|(id, _)| self.places[id.0].filtered && !self.places[id.0].removed)
            .flat_map(|(_, r)| r.config().vips.iter().copied())
            .collect()
    }

    /// Brings the accept-mode table in line with [`Driver::wanted_filter`] (`grow_only`: add
    /// what is missing, remove nothing). An empty set deletes the table. On error the old
    /// state is kept and the next change retries.
    pub(super) async fn sync_filter(&mut self, grow_only: bool) {
        let mut want = self.wanted_filter();
        if grow_only {
            want.extend(self.accept.filtered_vips.iter().copied());
        }
        if want == self.accept.filtered_vips {
            return;
        }
        let vips: Vec<IpAddr> = want.iter().copied().collect();
        let filter = self.cleanup.filter.take();
        let program = self.accept.nft_program.clone();
        let id = self.accept.table_id.clone();
        let job = tokio::task::spawn_blocking(move || apply_filter(filter, &program, &id, &vips));
        let table = self.accept.table_name();
        match job.await {
            Ok((filter, Ok(()))) => {
                self.cleanup.filter = filter;
                tracing::info!(%table, vips = want.len(), "accept-mode filter updated");
                self.accept.filtered_vips = want;
            }
            Ok((filter, Err(e))) => {
                self.cleanup.filter = filter;
                tracing::error!(%table, error = %e,
                    "accept-mode filter not updated: traffic to the VIPs is not enforced");
            }
            Err(e) => tracing::error!(error = %e, "accept-mode filter task failed"),
        }
    }
}

/// Makes the table (`filter`, if it exists) hold exactly `vips`: creates, updates or deletes
/// it. Returns the table as it is now, and whether that worked.
fn apply_filter(
    mut filter: Option<AcceptModeFilter>,
    program: &Path,
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
