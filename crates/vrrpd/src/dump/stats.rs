//! `keepalived.stats` (`SIGUSR2`, and `SIGRTMAX-1` before the counters are cleared).

use std::fmt::Write as _;

use super::model::{DumpInput, KeepalivedCounters};

/// The `SIGUSR2` stats file (`keepalived.stats`): one `VRRP Instance: NAME` block per instance
/// with keepalived's 14 counters (see [`KeepalivedCounters`]).
pub fn render_stats(input: &DumpInput) -> String {
    let mut o = String::new();
    for i in &input.instances {
        let c = KeepalivedCounters::from(&i.stats);
        let _ = write!(
            o,
            "VRRP Instance: {}\n  Advertisements:\n    Received: {}\n    Sent: {}\n  \
             Became master: {}\n  Released master: {}\n  Packet Errors:\n    Length: {}\n    \
             TTL: {}\n    Invalid Type: {}\n    Advertisement Interval: {}\n    \
             Address List: {}\n  Authentication Errors:\n    Invalid Type: {}\n    \
             Type Mismatch: {}\n    Failure: {}\n  Priority Zero:\n    Received: {}\n    \
             Sent: {}\n",
            i.name,
            c.advert_rcvd,
            c.advert_sent,
            c.become_master,
            c.release_master,
            c.packet_len_err,
            c.ip_ttl_err,
            c.invalid_type_rcvd,
            c.advert_interval_err,
            c.addr_list_err,
            c.invalid_authtype,
            c.authtype_mismatch,
            c.auth_failure,
            c.pri_zero_rcvd,
            c.pri_zero_sent,
        );
    }
    o
}
