//! The keywords of a configuration that vrrpd does not act on, where they are, and what that
//! means at `-t` and at start. Recorded by the parser as it dispatches each line through the
//! keyword tables ([`super::keywords`]), so every note comes from a table's [`Status`].

use super::diag::{Diagnostic, Severity, Span};
use super::status::{AtStart, Status};

/// One line of the configuration whose keyword vrrpd does not act on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeywordUse {
    /// The table's block (`global_defs`, `vrrp_instance`, `virtual address options`, ...).
    pub block: &'static str,
    /// The keyword (or option, or `keyword VALUE`) as in the table.
    pub name: &'static str,
    /// Its status (never [`Status::ActedOn`]).
    pub status: Status,
    /// Where it is.
    pub span: Span,
}

/// The block of the virtual address options table (options of `virtual_ipaddress`,
/// `virtual_ipaddress_excluded` and `static_ipaddress` lines).
pub const ADDRESS_OPTIONS: &str = "virtual address options";

impl KeywordUse {
    /// How the keyword is named in messages.
    pub fn subject(&self) -> String {
        if self.block == ADDRESS_OPTIONS {
            format!("address option {}", self.name)
        } else {
            self.name.to_string()
        }
    }

    /// The note `-t` and the startup print for this line; `None` for refused and skipped
    /// keywords, which report themselves (an error, or the skipped block's note).
    pub fn note(&self) -> Option<Diagnostic> {
        let subject = self.subject();
        let message = match self.status {
            Status::ActedOn(_) | Status::Refused | Status::Skipped => return None,
            Status::NotActedOn => {
                format!("{subject} is not acted on by vrrpd yet: accepted and ignored")
            }
            Status::NotImplemented(d) => match d.at_start {
                AtStart::Warn => {
                    format!(
                        "{subject} is not implemented by vrrpd ({}): ignored",
                        d.reason
                    )
                }
                AtStart::Refuse => format!(
                    "{subject} is not implemented by vrrpd ({}): vrrpd will not start with it",
                    d.reason
                ),
            },
        };
        Some(Diagnostic::note(&self.span, message))
    }

    /// Whether vrrpd refuses to start with this line.
    pub fn refuses_start(&self) -> bool {
        matches!(self.status, Status::NotImplemented(d) if d.at_start == AtStart::Refuse)
    }
}

/// The errors that stop vrrpd from starting (or a reload from being applied): one per line
/// whose keyword is deliberately not implemented and unsafe to ignore.
pub fn start_refusals(uses: &[KeywordUse]) -> Vec<Diagnostic> {
    uses.iter()
        .filter(|u| u.refuses_start())
        .filter_map(|u| {
            u.note().map(|mut d| {
                d.severity = Severity::Error;
                d
            })
        })
        .collect()
}
