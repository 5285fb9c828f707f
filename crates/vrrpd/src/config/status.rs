//! What vrrpd does with each keyword: the one source of truth behind the startup warnings,
//! the `-t` notes, `docs/configuration-reference.md` and `vrrpd.conf(5)`.
//!
//! Every entry of the keyword tables ([`super::keywords`]) carries a [`Status`]. A keyword is
//! [`Status::ActedOn`] only with the tests that show its effect on the kernel or the wire
//! ([`Evidence`]); `tests/keywords.rs` fails when an acted-on keyword names none, or names a
//! test or file that does not exist. Flipping a keyword once its feature lands is one line in
//! its table entry: `NOT_YET` becomes `acted![Test("the_behaviour_test")]`. Then regenerate
//! the reference and the man page (`UPDATE_DOCS=1 cargo test -p vrrpd --test docs --test
//! man_pages`) and drop the entries `cargo test -p vrrp-netns --test differential` reports
//! stale in `conformance/differential/expected.yaml` (vrrpd's `-t` note is gone).

use std::fmt;

/// A test that shows the effect of a keyword.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Evidence {
    /// A test function of the workspace (`#[test] fn NAME` or `#[tokio::test] async fn NAME`).
    Test(&'static str),
    /// A file of the differential corpus, `conformance/differential/corpus/PATH`, run under
    /// keepalived and under vrrpd by `cargo test -p vrrp-netns --test differential` (the file
    /// must use the keyword).
    Corpus(&'static str),
    /// An interop scenario, `conformance/scenarios/NAME.yaml`, run by
    /// `cargo test -p vrrp-netns --test interop NAME`.
    Scenario(&'static str),
}

impl fmt::Display for Evidence {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Evidence::Test(name) => write!(f, "{name}"),
            Evidence::Corpus(path) => write!(f, "differential corpus {path}"),
            Evidence::Scenario(name) => write!(f, "interop scenario {name}"),
        }
    }
}

/// What vrrpd does at start with a keyword it deliberately does not implement.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AtStart {
    /// Warn and run without it.
    Warn,
    /// Refuse to start: running without it would be unsafe (for example an authentication
    /// the peers expect, or addresses in another network namespace).
    Refuse,
}

/// Why vrrpd deliberately does not implement a keyword.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Declined {
    /// The reason, shown at `-t`, at start and in the reference.
    pub reason: &'static str,
    /// Warn, or refuse to start.
    pub at_start: AtStart,
}

/// What vrrpd does with a keyword.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    /// Acted on; the tests named show its effect.
    ActedOn(&'static [Evidence]),
    /// Read and checked like keepalived, but not acted on yet: warned about at `-t` and at
    /// start, with its position.
    NotActedOn,
    /// Deliberately not implemented, for the reason given; warned about (or refused at start)
    /// with the reason. `-t` keeps keepalived's exit class.
    NotImplemented(Declined),
    /// A security setting vrrpd does not act on yet: checked like keepalived, then the
    /// configuration is refused with an error (see [`super::auth_hmac`]).
    Refused,
    /// Belongs to another keepalived subsystem (LVS checkers, BFD): skipped (a block with a
    /// note).
    Skipped,
}

impl Status {
    /// Whether vrrpd acts on the keyword.
    pub fn is_acted_on(self) -> bool {
        matches!(self, Status::ActedOn(_))
    }

    /// The tests that show the effect (empty unless acted on).
    pub fn evidence(self) -> &'static [Evidence] {
        match self {
            Status::ActedOn(evidence) => evidence,
            _ => &[],
        }
    }

    /// A short label for the reference documents.
    pub fn label(self) -> String {
        match self {
            Status::ActedOn(_) => "acted on".to_string(),
            Status::NotActedOn => "accepted, not acted on yet".to_string(),
            Status::NotImplemented(d) => match d.at_start {
                AtStart::Warn => format!("not implemented: {}", d.reason),
                AtStart::Refuse => format!("not implemented, refused at start: {}", d.reason),
            },
            Status::Refused => "checked, then refused (not acted on yet)".to_string(),
            Status::Skipped => "skipped (another keepalived subsystem)".to_string(),
        }
    }
}

/// Accepted and checked, not acted on yet.
pub const NOT_YET: Status = Status::NotActedOn;

/// Deliberately not implemented; warned about at start.
pub const fn declined(reason: &'static str) -> Status {
    Status::NotImplemented(Declined {
        reason,
        at_start: AtStart::Warn,
    })
}

/// Deliberately not implemented; vrrpd refuses to start with it.
pub const fn declined_refused_at_start(reason: &'static str) -> Status {
    Status::NotImplemented(Declined {
        reason,
        at_start: AtStart::Refuse,
    })
}
