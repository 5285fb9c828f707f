//! The kernel state a driver created and must undo when it ends: VMAC macvlans, the sysctls
//! changed for them, and the Accept_Mode nftables table.

use crate::error::Error;
use crate::netlink::Netlink;
use crate::nft::AcceptModeFilter;
use crate::sysctl;

/// Kernel state the driver created and must undo: VMACs, sysctls, the nftables table.
/// Released explicitly ([`Cleanup::release`]) on shutdown and start errors; `Drop` is the
/// blocking fallback (panic, runtime dropped without shutdown).
#[derive(Debug, Default)]
pub(super) struct Cleanup {
    /// VMACs created: ifindex and name.
    pub(super) vmacs: Vec<(u32, String)>,
    /// Sysctls changed, with their previous values.
    pub(super) sysctls: Vec<sysctl::Setting>,
    /// The accept-mode table, while it exists.
    pub(super) filter: Option<AcceptModeFilter>,
}

impl Cleanup {
    /// Takes over what one instance created: its VMAC and the sysctls set for it.
    pub(super) fn adopt(&mut self, vmac: Option<(u32, String)>, sysctls: Vec<sysctl::Setting>) {
        self.vmacs.extend(vmac);
        self.sysctls.extend(sysctls);
    }

    /// Forgets a VMAC deleted already.
    pub(super) fn forget_vmac(&mut self, ifindex: u32) {
        self.vmacs.retain(|(x, _)| *x != ifindex);
    }

    /// Removes the table, restores the sysctls and deletes the VMACs.
    pub(super) async fn release(&mut self, netlink: &Netlink) {
        if let Some(f) = self.filter.take() {
            let table = f.table().to_string();
            if let Err(e) = f.remove() {
                tracing::warn!(%table, error = %e, "accept-mode table not removed");
            }
        }
        sysctl::restore(&std::mem::take(&mut self.sysctls));
        for (ifindex, name) in std::mem::take(&mut self.vmacs) {
            match netlink.delete_link(ifindex).await {
                Ok(()) | Err(Error::InterfaceNotFound(_)) => {}
                Err(e) => tracing::warn!(interface = %name, error = %e, "VMAC not deleted"),
            }
        }
    }
}

impl Drop for Cleanup {
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
