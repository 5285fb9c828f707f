//! Accept_Mode enforcement bookkeeping (see the driver's module documentation,
//! "Accept_Mode"): which VIPs the driver's nftables table must hold, and bringing the table in
//! line, growing it before VIPs are added and shrinking it after they are removed.

use std::collections::BTreeSet;
use std::net::IpAddr;
use std::path::{Path, PathBuf};

use super::plane::DataPlane;
use super::Driver;
use crate::error::{Error, Result};
use crate::nft::AcceptModeFilter;

/// The accept-mode state of a driver (the table itself belongs to the data plane).
#[derive(Debug)]
pub(super) struct AcceptMode {
    /// Some instance needs Accept_Mode enforcement.
    pub(super) filtering: bool,
    /// The instances changed since the table was last brought in line.
    pub(super) dirty: bool,
    /// The VIPs currently in the accept-mode table.
    filtered_vips: BTreeSet<IpAddr>,
    /// The `nft` program.
    nft_program: PathBuf,
    /// This driver's table id (see [`crate::nft::table_name`]).
    table_id: String,
}

impl AcceptMode {
    /// Nothing filtered yet.
    pub(super) fn new(nft_program: PathBuf, table_id: String) -> Self {
        AcceptMode {
            filtering: false,
            dirty: false,
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
async fn probe_nft(program: &Path, table_id: &str) -> Result<()> {
    let program = program.to_path_buf();
    let id = table_id.to_string();
    tokio::task::spawn_blocking(move || AcceptModeFilter::probe(&program, &id))
        .await
        .map_err(|e| Error::Invalid {
            context: "checking nft".into(),
            message: e.to_string(),
        })?
}

impl<D: DataPlane> Driver<D> {
    /// The VIPs to filter: those of every live router without Accept_Mode, whatever its
    /// state. The rules sit in the input hook, so they only ever match while this host holds
    /// the VIP; keeping them installed in Backup means a takeover never waits for `nft`.
    fn wanted_filter(&self) -> BTreeSet<IpAddr> {
        self.node
            .routers()
            .filter(|(id, _)| self.place(*id).is_some_and(|p| p.filtered))
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
        let table = self.accept.table_name();
        match self.plane.set_filter(&want).await {
            Ok(()) => {
                tracing::info!(%table, vips = want.len(), "accept-mode filter updated");
                self.accept.filtered_vips = want;
            }
            Err(e) => tracing::error!(%table, error = %e,
                "accept-mode filter not updated: traffic to the VIPs is not enforced"),
        }
    }
}
