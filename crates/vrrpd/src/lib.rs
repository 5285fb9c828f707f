//! vrrpd: a keepalived-compatible VRRP daemon.
//!
//! This crate currently provides the keepalived.conf parser ([`config`]).
#![forbid(unsafe_code)]

pub mod config;
