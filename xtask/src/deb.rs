//! The Debian packages, built with cargo-deb from `[package.metadata.deb]` in
//! `crates/vrrpd/Cargo.toml`:
//!
//! - `vrrpd`: `/usr/sbin/vrrpd`, `vrrpd.service`, `vrrpd(8)`, `vrrpd.conf(5)`, the docs;
//!   installs beside Debian's keepalived and enables nothing.
//! - `vrrpd-keepalived` (the `keepalived` variant): the opt-in replacement, `Conflicts`,
//!   `Replaces` and `Provides: keepalived`, with `keepalived` names for the binary, the unit
//!   (an alias of `vrrpd.service`) and the man pages.
//!
//! They need a release build (a few minutes with the release profile's fat LTO), so they are
//! built by `cargo xtask deb` / `cargo xtask package` (a CI step of its own), not by
//! `cargo test`.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use crate::cmd;
use crate::error::Error;
use crate::setup;

/// The variant of `[package.metadata.deb]` that makes `vrrpd-keepalived`.
const KEEPALIVED_VARIANT: &str = "keepalived";
/// cargo-deb's major version the metadata is written for.
const CARGO_DEB_VERSION: &str = "^3.8";
/// Environment variables that hand the package test the .deb files.
pub const DEB_ENV: &str = "VRRPD_DEB";
/// See [`DEB_ENV`].
pub const KEEPALIVED_DEB_ENV: &str = "VRRPD_KEEPALIVED_DEB";

/// The built packages.
#[derive(Debug, Clone)]
pub struct Debs {
    /// `vrrpd_*.deb`.
    pub vrrpd: PathBuf,
    /// `vrrpd-keepalived_*.deb`.
    pub keepalived: PathBuf,
}

/// Installs what packaging needs (system packages, cargo-deb) and builds both packages into
/// `target/debian`.
pub fn build(root: &Path) -> Result<Debs, Error> {
    setup::ensure(setup::PACKAGE_REQUIREMENTS)?;
    ensure_cargo_deb()?;
    let vrrpd = cargo_deb(root, &["deb", "-p", "vrrpd", "--locked"])?;
    let keepalived = cargo_deb(
        root,
        &[
            "deb",
            "-p",
            "vrrpd",
            "--locked",
            "--no-build",
            "--variant",
            KEEPALIVED_VARIANT,
        ],
    )?;
    println!("deb: {}\ndeb: {}", vrrpd.display(), keepalived.display());
    Ok(Debs { vrrpd, keepalived })
}

/// Runs the package test (`xtask/tests/package.rs`) on `debs`.
pub fn test(root: &Path, debs: &Debs) -> Result<ExitCode, Error> {
    let args = [
        "test",
        "-p",
        "xtask",
        "--features",
        "package-test",
        "--test",
        "package",
    ]
    .map(String::from);
    let env = [
        (DEB_ENV.to_string(), debs.vrrpd.display().to_string()),
        (
            KEEPALIVED_DEB_ENV.to_string(),
            debs.keepalived.display().to_string(),
        ),
    ];
    cmd::cargo_status(root, &args, &env)
}

/// `cargo install cargo-deb --locked` unless `cargo deb` runs.
fn ensure_cargo_deb() -> Result<(), Error> {
    if cmd::output("cargo", &["deb", "--version"]).is_ok() {
        return Ok(());
    }
    cmd::run(
        "cargo",
        &[
            "install",
            "cargo-deb",
            "--locked",
            "--version",
            CARGO_DEB_VERSION,
        ],
        &[],
    )
}

/// Runs cargo-deb in `root` and returns the .deb it wrote (the last line it prints).
fn cargo_deb(root: &Path, args: &[&str]) -> Result<PathBuf, Error> {
    let printed = cmd::stdout("cargo", args)?;
    let path = printed
        .lines()
        .rev()
        .map(str::trim)
        .find(|l| l.ends_with(".deb"));
    match path {
        Some(p) => Ok(root.join(p)),
        None => Err(Error::Missing {
            what: format!("the .deb path in the output of cargo {}", args.join(" ")),
            how: format!("cargo-deb printed:\n{printed}"),
        }),
    }
}
