//! `vrrpctl`: see and steer a running vrrpd (see [`vrrpd::ctl`]).

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    vrrpd::ctl::run(vrrpd::ctl::CtlCli::parse())
}
