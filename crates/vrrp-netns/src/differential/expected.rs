//! The list of known differences (conformance/differential/expected.yaml):
//!
//! ```yaml
//! files:
//!   keyword/virtual_routes.conf:            # path below corpus/ (pair runs: pair:PATH)
//!     - category: route                     # as in the report
//!       only: keepalived                    # the side that has the line
//!       line: "table main: 198.51.100.0/24 via 192.0.2.254 dev eth0 *"   # `*` = any text
//!       reason: not implemented yet (issue #11)
//!       versions: ["2.2.7"]                 # optional: keepalived versions it applies to
//!       intermittent: true                  # optional: keepalived shows it in some runs only
//! ```
//!
//! A difference without a matching entry is unexpected; an entry (for a file that was run,
//! applying to the keepalived version used) that matches no difference is stale, unless it is
//! `intermittent` (a race in keepalived itself, which its reason must name). Both fail.

use std::collections::BTreeMap;
use std::path::Path;

use serde::{Deserialize, Serialize};

use super::compare::{Difference, Side};
use crate::error::{Error, Result};

/// One known difference.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Entry {
    /// The category, exactly.
    pub category: String,
    /// The side that has the line.
    pub only: Side,
    /// The line; `*` matches any run of characters.
    pub line: String,
    /// Why it differs (required: "not implemented yet (issue #11)", a known keepalived bug, ...).
    pub reason: String,
    /// keepalived versions (`2.2.7`, `2.4.3`) the entry applies to; empty = all.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub versions: Vec<String>,
    /// The difference occurs in some runs only, because of a race in keepalived (the reason
    /// says which): not stale when absent. Still unexpected lines fail as always.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub intermittent: bool,
}

impl Entry {
    /// An entry for every version.
    pub fn new(category: &str, only: Side, line: &str, reason: &str) -> Entry {
        Entry {
            category: category.into(),
            only,
            line: line.into(),
            reason: reason.into(),
            versions: Vec::new(),
            intermittent: false,
        }
    }

    /// Whether the entry explains `d`.
    pub fn matches(&self, d: &Difference) -> bool {
        self.category == d.category && self.only == d.only && glob(&self.line, &d.line)
    }

    /// Whether the entry applies to this keepalived version.
    pub fn applies_to(&self, version: &str) -> bool {
        self.versions.is_empty() || self.versions.iter().any(|v| v == version)
    }
}

/// The whole file.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Expected {
    /// Entries by corpus file (path below `corpus/`; `pair:PATH` for the two-node mode).
    #[serde(default)]
    pub files: BTreeMap<String, Vec<Entry>>,
}

impl Expected {
    /// Reads and checks the file (every entry needs a reason).
    pub fn load(path: &Path) -> Result<Expected> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| Error::io(format!("read {}", path.display()), e))?;
        Expected::parse(&text, &path.display().to_string())
    }

    /// Parses the text of the file named `what`.
    pub fn parse(text: &str, what: &str) -> Result<Expected> {
        let e: Expected = serde_saphyr::from_str(text).map_err(|e| Error::Parse {
            what: what.to_string(),
            detail: e.to_string(),
        })?;
        for (file, entries) in &e.files {
            if let Some(bad) = entries.iter().find(|x| x.reason.trim().is_empty()) {
                return Err(Error::Parse {
                    what: what.to_string(),
                    detail: format!("{file}: entry {:?} has no reason", bad.line),
                });
            }
        }
        Ok(e)
    }

    /// The differences as a Markdown table for docs/migrating-from-keepalived.md: one row
    /// per reason (in the order reasons first appear), with the corpus files it covers and
    /// the keepalived versions it is limited to.
    pub fn reasons_table(&self) -> String {
        let mut rows: Vec<(&str, Vec<String>, Vec<&str>)> = Vec::new();
        for (file, entries) in &self.files {
            for e in entries {
                let i = match rows.iter().position(|r| r.0 == e.reason) {
                    Some(i) => i,
                    None => {
                        rows.push((&e.reason, Vec::new(), Vec::new()));
                        rows.len() - 1
                    }
                };
                let row = &mut rows[i];
                let f = format!("`{file}`");
                if !row.1.contains(&f) {
                    row.1.push(f);
                }
                for v in &e.versions {
                    if !row.2.contains(&v.as_str()) {
                        row.2.push(v);
                    }
                }
            }
        }
        let mut out = String::from("| difference | corpus files | keepalived |\n|---|---|---|\n");
        for (reason, files, versions) in rows {
            let versions = if versions.is_empty() {
                "all".to_string()
            } else {
                versions.join(", ")
            };
            let reason = reason.replace('|', "\\|");
            out.push_str(&format!(
                "| {reason} | {} | {versions} |\n",
                files.join(", ")
            ));
        }
        out
    }

    /// The entries for `key` that apply to keepalived `version`.
    pub fn for_file(&self, key: &str, version: &str) -> Vec<Entry> {
        self.files
            .get(key)
            .map(|v| {
                v.iter()
                    .filter(|e| e.applies_to(version))
                    .cloned()
                    .collect()
            })
            .unwrap_or_default()
    }
}

/// `*`-only glob match of the whole text.
pub fn glob(pattern: &str, text: &str) -> bool {
    let parts: Vec<&str> = pattern.split('*').collect();
    if parts.len() == 1 {
        return pattern == text;
    }
    let (first, last) = (parts[0], parts[parts.len() - 1]);
    if !text.starts_with(first) || text.len() < first.len() + last.len() || !text.ends_with(last) {
        return false;
    }
    let mut rest = &text[first.len()..text.len() - last.len()];
    for mid in &parts[1..parts.len() - 1] {
        match rest.find(mid) {
            Some(i) => rest = &rest[i + mid.len()..],
            None => return false,
        }
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn globs() {
        assert!(glob("a*c", "abc"));
        assert!(glob("a*c", "ac"));
        assert!(!glob("a*c", "ab"));
        assert!(glob("*", ""));
        assert!(glob("x*y*z", "x1y2z"));
        assert!(!glob("x*y*z", "x1z"));
        assert!(!glob("abc", "abcd"));
        assert!(!glob("ab*ba", "aba"));
    }

    #[test]
    fn parses_and_filters_by_version() {
        let e = Expected::parse(
            "files:\n  k/a.conf:\n    - category: route\n      only: keepalived\n      line: \"x *\"\n      \
             reason: not implemented yet (issue #11)\n    - {category: warning, only: vrrpd, \
             line: \"line 3: y\", reason: r, versions: [\"2.4.3\"]}\n",
            "t",
        )
        .unwrap();
        assert_eq!(e.for_file("k/a.conf", "2.2.7").len(), 1);
        assert_eq!(e.for_file("k/a.conf", "2.4.3").len(), 2);
        assert!(e.for_file("other", "2.2.7").is_empty());
        let bad = Expected::parse(
            "files:\n  a:\n    - {category: c, only: vrrpd, line: l, reason: \"\"}\n",
            "t",
        );
        assert!(bad.is_err());
    }
}
