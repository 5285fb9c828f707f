//! vrrpd: a keepalived-compatible VRRP daemon.
//!
//! - [`config`]: the keepalived.conf parser and the configuration model.
//! - [`yaml`]: the YAML form of the model (`--convert`, `*.yaml` configurations).
//! - [`cli`]: keepalived's command line; [`daemon`]: the runtime entry point.
//! - [`convert`]: the model mapped to `vrrp_core` router configurations.
//! - [`loader`]: loading the configuration the command line names (startup and reload).
//! - [`pidfile`]: keepalived's pid files.
//! - [`runtime`]: the daemon's event loop on the vrrp-net driver.
//! - [`track`]: tracked objects (`vrrp_script`, `track_file`, `vrrp_track_process`,
//!   `track_interface`); [`notify`]: notify scripts and FIFOs, delivered in order per instance.
//!
//! - [`tuning`]: the process settings (`vrrp_priority`, `vrrp_no_swap`, `vrrp_rt_priority`,
//!   `vrrp_cpu_affinity`, `vrrp_rlimit_rttime`, `max_auto_priority`).
//!
//! The only `unsafe` code is the two allocator calls of the private `heap` module and the
//! scheduling and memory-locking calls of the private `tuning::sys` module.
#![deny(unsafe_code)]

pub mod cli;
pub mod config;
pub mod control;
pub mod convert;
pub mod ctl;
pub mod daemon;
pub mod dump;
mod heap;
pub mod iproute;
pub mod loader;
pub mod metrics;
pub mod notify;
pub mod pidfile;
pub mod runtime;
pub mod track;
pub mod tuning;
pub mod yaml;
