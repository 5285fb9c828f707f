//! Accept_Mode enforcement (RFC 9568 §6.1, R11/R18, pitfall P7): when a
//! non-owner runs with Accept_Mode off, packets addressed to the VIPs are
//! dropped by an nftables table owned by this crate, `inet vrrpd_<id>`.
//!
//! IPv6 Neighbor Solicitations and Advertisements to the VIPs are always
//! accepted (R6: "Even when False, IPv6 NS/NA MUST NOT be dropped").
//!
//! The table is written with `nft -f -` in one transaction that creates,
//! flushes and refills it, so updates are atomic. It is deleted by
//! [`AcceptModeFilter::remove`] or, best effort, on drop. The calls are
//! blocking (they run `nft`); from async code use `spawn_blocking` if that
//! matters.

use std::io::Write;
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use crate::error::{Error, Result};

/// The nft binary (looked up in `PATH`).
pub const NFT: &str = "nft";

/// An installed accept-mode filter table.
#[derive(Debug)]
pub struct AcceptModeFilter {
    program: PathBuf,
    table: String,
    vips: Vec<IpAddr>,
    installed: bool,
}

/// The table name for instance id `id`: `vrrpd_` + the id with every
/// character outside `[A-Za-z0-9_]` replaced by `_`.
pub fn table_name(id: &str) -> String {
    let clean: String = id
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect();
    format!("vrrpd_{clean}")
}

/// The nft script that (re)creates `table` dropping traffic to `vips`.
pub fn ruleset(table: &str, vips: &[IpAddr]) -> String {
    let v4: Vec<String> = vips
        .iter()
        .filter(|a| a.is_ipv4())
        .map(|a| a.to_string())
        .collect();
    let v6: Vec<String> = vips
        .iter()
        .filter(|a| a.is_ipv6())
        .map(|a| a.to_string())
        .collect();
    let mut s =
        format!("add table inet {table}\ndelete table inet {table}\ntable inet {table} {{\n");
    s.push_str("  chain input {\n    type filter hook input priority filter; policy accept;\n");
    if !v4.is_empty() {
        s.push_str(&format!(
            "    ip daddr {{ {} }} counter drop\n",
            v4.join(", ")
        ));
    }
    if !v6.is_empty() {
        let set = v6.join(", ");
        s.push_str(&format!(
            "    ip6 daddr {{ {set} }} icmpv6 type {{ nd-neighbor-solicit, nd-neighbor-advert }} accept\n"
        ));
        s.push_str(&format!("    ip6 daddr {{ {set} }} counter drop\n"));
    }
    s.push_str("  }\n}\n");
    s
}

fn run_nft(program: &Path, context: &str, script: &str) -> Result<()> {
    let shown = program.display();
    let mut child = Command::new(program)
        .args(["-f", "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| {
            if e.kind() == std::io::ErrorKind::NotFound {
                Error::MissingProgram {
                    context: context.to_string(),
                    program: shown.to_string(),
                }
            } else {
                Error::io(format!("{context}: running {shown}"), "-", e)
            }
        })?;
    if let Some(mut stdin) = child.stdin.take() {
        stdin
            .write_all(script.as_bytes())
            .map_err(|e| Error::io(format!("{context}: writing to {shown}"), "-", e))?;
    }
    let out = child
        .wait_with_output()
        .map_err(|e| Error::io(format!("{context}: waiting for {shown}"), "-", e))?;
    if out.status.success() {
        return Ok(());
    }
    let stderr = String::from_utf8_lossy(&out.stderr).trim().to_string();
    if stderr.contains("Operation not permitted") {
        return Err(Error::PermissionDenied {
            context: context.to_string(),
        });
    }
    Err(Error::Nft {
        context: context.to_string(),
        stderr,
    })
}

/// Where `program` would be run from, without running it: a name without `/` is looked up
/// in `PATH` (as `Command` does; `/bin:/usr/bin` when `PATH` is unset), a path is taken as it
/// is. Fails with [`Error::MissingProgram`] (`context` saying what it is needed for) when no
/// executable file is there. A file system lookup only: it does not prove that `program`
/// works (permission, kernel support), which only running it shows.
pub fn find_program(program: &Path, context: &str) -> Result<PathBuf> {
    use std::os::unix::fs::PermissionsExt;
    let executable = |p: &Path| {
        std::fs::metadata(p).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
    };
    let found = if program.as_os_str().as_encoded_bytes().contains(&b'/') {
        executable(program).then(|| program.to_path_buf())
    } else {
        let path = std::env::var_os("PATH").unwrap_or_else(|| "/bin:/usr/bin".into());
        std::env::split_paths(&path)
            .map(|dir| dir.join(program))
            .find(|p| executable(p))
    };
    found.ok_or_else(|| Error::MissingProgram {
        context: context.to_string(),
        program: program.display().to_string(),
    })
}

impl AcceptModeFilter {
    /// Installs (or atomically replaces) table `inet vrrpd_<id>` dropping
    /// packets to `vips`. Needs `CAP_NET_ADMIN` and the `nft` binary.
    pub fn install(id: &str, vips: &[IpAddr]) -> Result<Self> {
        Self::install_with(Path::new(NFT), id, vips)
    }

    /// Like [`AcceptModeFilter::install`] with an explicit `nft` program (a path, or a name
    /// looked up in `PATH`).
    pub fn install_with(program: &Path, id: &str, vips: &[IpAddr]) -> Result<Self> {
        let mut f = Self {
            program: program.to_path_buf(),
            table: table_name(id),
            vips: Vec::new(),
            installed: false,
        };
        f.update(vips)?;
        Ok(f)
    }

    /// Checks that `program` runs and may manage table `inet vrrpd_<id>`, by creating and
    /// deleting that (empty) table in one transaction. Fails with
    /// [`Error::MissingProgram`] when `nft` is not installed, [`Error::PermissionDenied`]
    /// without `CAP_NET_ADMIN`, [`Error::Nft`] when the kernel lacks nf_tables.
    pub fn probe(program: &Path, id: &str) -> Result<()> {
        let t = table_name(id);
        run_nft(
            program,
            &format!("checking that nftables table inet {t} can be managed (Accept_Mode off)"),
            &format!("add table inet {t}\ndelete table inet {t}\n"),
        )
    }

    /// Replaces the VIP list atomically.
    pub fn update(&mut self, vips: &[IpAddr]) -> Result<()> {
        run_nft(
            &self.program,
            &format!("installing nftables table inet {}", self.table),
            &ruleset(&self.table, vips),
        )?;
        self.installed = true;
        self.vips = vips.to_vec();
        tracing::debug!(table = %self.table, vips = ?self.vips, "accept-mode filter installed");
        Ok(())
    }

    /// The table name.
    pub fn table(&self) -> &str {
        &self.table
    }

    /// The VIPs currently filtered.
    pub fn vips(&self) -> &[IpAddr] {
        &self.vips
    }

    /// Deletes the table.
    pub fn remove(mut self) -> Result<()> {
        self.delete()
    }

    fn delete(&mut self) -> Result<()> {
        if !self.installed {
            return Ok(());
        }
        self.installed = false;
        let t = &self.table;
        // "add" first makes the delete succeed even if someone removed it.
        run_nft(
            &self.program,
            &format!("removing nftables table inet {t}"),
            &format!("add table inet {t}\ndelete table inet {t}\n"),
        )
    }
}

impl Drop for AcceptModeFilter {
    fn drop(&mut self) {
        if let Err(e) = self.delete() {
            tracing::warn!(table = %self.table, error = %e, "could not remove nftables table");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn r6_ruleset_drops_vips_but_keeps_nd() {
        let vips: Vec<IpAddr> = vec![
            "192.0.2.10".parse().unwrap(),
            "2001:db8::10".parse().unwrap(),
        ];
        let r = ruleset("vrrpd_eth0_1", &vips);
        assert!(r.starts_with("add table inet vrrpd_eth0_1\ndelete table inet vrrpd_eth0_1\n"));
        assert!(r.contains("ip daddr { 192.0.2.10 } counter drop"));
        let accept = r.find("nd-neighbor-advert } accept").unwrap();
        let drop6 = r.find("ip6 daddr { 2001:db8::10 } counter drop").unwrap();
        assert!(accept < drop6, "NS/NA accept must come before the drop");
        assert_eq!(table_name("eth0/VI-1"), "vrrpd_eth0_VI_1");
    }

    #[test]
    fn find_program_looks_in_path_without_running() {
        let err = find_program(Path::new("/nonexistent/nft"), "Accept_Mode").unwrap_err();
        assert!(matches!(err, Error::MissingProgram { .. }), "{err:?}");
        let err = find_program(Path::new("no-such-program-vrrpd"), "x").unwrap_err();
        assert!(matches!(err, Error::MissingProgram { .. }), "{err:?}");
        // A directory is not a program.
        assert!(find_program(Path::new("/"), "x").is_err());
        let sh = find_program(Path::new("sh"), "x").expect("sh in PATH");
        assert!(sh.ends_with("sh"), "{sh:?}");
    }

    #[test]
    fn a_missing_nft_is_a_clear_error() {
        let err = AcceptModeFilter::probe(Path::new("/nonexistent/nft"), "x").unwrap_err();
        assert!(matches!(err, Error::MissingProgram { .. }), "{err:?}");
        let msg = err.to_string();
        assert!(
            msg.contains("`/nonexistent/nft` was not found") && msg.contains("Accept_Mode"),
            "{msg}"
        );
    }
}
