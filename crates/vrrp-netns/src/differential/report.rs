//! The per-file result and its text form: every difference with its category, side and
//! line, marked expected (with the reason) or UNEXPECTED, then the stale entries, and for
//! unexpected ones a YAML snippet to paste into the expected list once they are understood.

use std::fmt;

use serde::Serialize;

use super::compare::Classified;
use super::expected::Entry;

/// The outcome of one file (single-node or pair run).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FileReport {
    /// The file's key in the expected list (`keyword/x.conf`, `pair:generators/y.conf`).
    pub key: String,
    /// Whether this was a two-node run.
    pub pair: bool,
    /// keepalived's version.
    pub keepalived_version: String,
    /// Every difference, classified.
    pub differences: Vec<Classified>,
    /// Expected entries that no longer occur.
    pub stale: Vec<Entry>,
    /// Why the run itself failed, if it did.
    pub error: Option<String>,
}

impl FileReport {
    /// Differences without an expected entry.
    pub fn unexpected(&self) -> impl Iterator<Item = &Classified> {
        self.differences.iter().filter(|d| d.expected.is_none())
    }

    /// No run error, no unexpected difference, no stale entry.
    pub fn passed(&self) -> bool {
        self.error.is_none() && self.unexpected().next().is_none() && self.stale.is_empty()
    }
}

fn yaml_quote(s: &str) -> String {
    format!("\"{}\"", s.replace('\\', "\\\\").replace('"', "\\\""))
}

impl fmt::Display for FileReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let unexpected = self.unexpected().count();
        writeln!(
            f,
            "== {} (keepalived {} vs vrrpd{}): {}",
            self.key,
            self.keepalived_version,
            if self.pair { ", two nodes" } else { "" },
            if let Some(e) = &self.error {
                format!("ERROR: {e}")
            } else {
                format!(
                    "{} difference(s), {} unexpected, {} stale: {}",
                    self.differences.len(),
                    unexpected,
                    self.stale.len(),
                    if self.passed() { "PASS" } else { "FAIL" }
                )
            }
        )?;
        let width = self
            .differences
            .iter()
            .map(|d| d.diff.category.len())
            .max()
            .unwrap_or(0);
        for d in &self.differences {
            let (mark, reason) = match &d.expected {
                Some(reason) => ("expected", format!("  ({reason})")),
                None => ("UNEXPECTED", String::new()),
            };
            writeln!(
                f,
                "  {mark:<10}  {:width$}  {:<15}  {}{reason}",
                d.diff.category,
                format!("{} only", d.diff.only.name()),
                d.diff.line,
            )?;
        }
        for e in &self.stale {
            writeln!(
                f,
                "  STALE: {} / {} only / {:?} ({}) no longer occurs: remove it from the list",
                e.category,
                e.only.name(),
                e.line,
                e.reason
            )?;
        }
        if unexpected > 0 {
            writeln!(f, "  to accept them, under `files:` in the expected list:")?;
            writeln!(f, "    {}:", self.key)?;
            for d in self.unexpected() {
                writeln!(
                    f,
                    "      - {{ category: {}, only: {}, line: {}, reason: \"TODO\" }}",
                    d.diff.category,
                    d.diff.only.name(),
                    yaml_quote(&d.diff.line)
                )?;
            }
        }
        Ok(())
    }
}

/// All reports, one after the other, and a closing `N passed, M failed` line.
pub fn render_all(reports: &[FileReport]) -> String {
    let mut out = String::new();
    for r in reports {
        out += &r.to_string();
    }
    let passed = reports.iter().filter(|r| r.passed()).count();
    out += &format!(
        "differential: {passed} passed, {} failed\n",
        reports.len() - passed
    );
    out
}

#[cfg(test)]
mod tests {
    use super::super::compare::{Difference, Side};
    use super::*;

    #[test]
    fn text_marks_unexpected_and_offers_an_entry() {
        let r = FileReport {
            key: "keyword/x.conf".into(),
            pair: false,
            keepalived_version: "2.2.7".into(),
            differences: vec![
                Classified {
                    diff: Difference {
                        category: "route".into(),
                        only: Side::Keepalived,
                        line: "table 1: a \"q\"".into(),
                    },
                    expected: None,
                },
                Classified {
                    diff: Difference {
                        category: "rule".into(),
                        only: Side::Vrrpd,
                        line: "v4 1: x".into(),
                    },
                    expected: Some("not implemented yet (issue #11)".into()),
                },
            ],
            stale: vec![],
            error: None,
        };
        assert!(!r.passed());
        let t = r.to_string();
        assert!(
            t.contains("2 difference(s), 1 unexpected, 0 stale: FAIL"),
            "{t}"
        );
        assert!(
            t.contains("  UNEXPECTED  route  keepalived only  table 1: a \"q\"\n"),
            "{t}"
        );
        assert!(t.contains("  expected    rule   vrrpd only       v4 1: x  (not implemented yet (issue #11))\n"), "{t}");
        assert!(
            t.contains(r#"- { category: route, only: keepalived, line: "table 1: a \"q\"", reason: "TODO" }"#),
            "{t}"
        );
        assert!(render_all(&[r]).ends_with("differential: 0 passed, 1 failed\n"));
    }
}
