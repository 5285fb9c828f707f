//! Two observations to a list of differences, and that list against the expected one.

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};

use super::expected::Entry;
use super::normalise::Observation;

/// Which implementation showed a line the other did not.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Side {
    /// Seen under keepalived only.
    Keepalived,
    /// Seen under vrrpd only.
    Vrrpd,
}

impl Side {
    /// `keepalived` or `vrrpd`.
    pub fn name(self) -> &'static str {
        match self {
            Side::Keepalived => "keepalived",
            Side::Vrrpd => "vrrpd",
        }
    }
}

/// One line present in one implementation's observation and absent from the other's.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct Difference {
    /// The category (`address`, `stop.route`, `warning`, ...).
    pub category: String,
    /// Where it was seen.
    pub only: Side,
    /// The normalised line.
    pub line: String,
}

/// Every difference between the two observations, by category then side then line.
pub fn differences(keepalived: &Observation, vrrpd: &Observation) -> Vec<Difference> {
    let cats: BTreeSet<&String> = keepalived.0.keys().chain(vrrpd.0.keys()).collect();
    let mut out = Vec::new();
    let empty = BTreeSet::new();
    for cat in cats {
        let k = keepalived.0.get(cat).unwrap_or(&empty);
        let v = vrrpd.0.get(cat).unwrap_or(&empty);
        for (side, this, other) in [(Side::Keepalived, k, v), (Side::Vrrpd, v, k)] {
            for line in this.difference(other) {
                out.push(Difference {
                    category: cat.clone(),
                    only: side,
                    line: line.clone(),
                });
            }
        }
    }
    out.sort();
    out
}

/// A difference and the expected entry that explains it, if any.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Classified {
    /// The difference.
    #[serde(flatten)]
    pub diff: Difference,
    /// The reason from the expected list; `None` = unexpected.
    pub expected: Option<String>,
}

/// Differences classified against `entries` (already filtered to this file and keepalived
/// version), plus the entries that matched nothing (stale).
pub fn classify(diffs: Vec<Difference>, entries: &[Entry]) -> (Vec<Classified>, Vec<Entry>) {
    let mut used = vec![false; entries.len()];
    let classified = diffs
        .into_iter()
        .map(|d| {
            let hit = entries.iter().position(|e| e.matches(&d));
            if let Some(i) = hit {
                used[i] = true;
                // Every other entry matching it counts as used too (no spurious staleness).
                for (j, e) in entries.iter().enumerate() {
                    if e.matches(&d) {
                        used[j] = true;
                    }
                }
            }
            Classified {
                expected: hit.map(|i| entries[i].reason.clone()),
                diff: d,
            }
        })
        .collect();
    let stale = entries
        .iter()
        .zip(used)
        .filter(|(e, u)| !u && !e.intermittent)
        .map(|(e, _)| e.clone())
        .collect();
    (classified, stale)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn obs(lines: &[(&str, &str)]) -> Observation {
        let mut o = Observation::default();
        for (c, l) in lines {
            o.add(c, *l);
        }
        o
    }

    #[test]
    fn differences_both_ways() {
        let k = obs(&[("route", "a"), ("route", "b"), ("link", "x")]);
        let v = obs(&[("route", "b"), ("route", "c")]);
        let d = differences(&k, &v);
        let got: Vec<_> = d
            .iter()
            .map(|d| (d.category.as_str(), d.only, d.line.as_str()))
            .collect();
        assert_eq!(
            got,
            [
                ("link", Side::Keepalived, "x"),
                ("route", Side::Keepalived, "a"),
                ("route", Side::Vrrpd, "c"),
            ]
        );
    }

    #[test]
    fn unexpected_and_stale() {
        let d = differences(
            &obs(&[("route", "table main: a b")]),
            &obs(&[("link", "y")]),
        );
        let entries = vec![
            Entry::new(
                "route",
                Side::Keepalived,
                "table main: *",
                "not implemented",
            ),
            Entry::new("rule", Side::Keepalived, "*", "gone"),
        ];
        let (c, stale) = classify(d, &entries);
        assert_eq!(c[0].diff.line, "y");
        assert_eq!(c[0].expected, None);
        assert_eq!(c[1].expected.as_deref(), Some("not implemented"));
        assert_eq!(stale, vec![entries[1].clone()]);
        let mut sometimes = entries[1].clone();
        sometimes.intermittent = true;
        let (_, stale) = classify(Vec::new(), &[sometimes]);
        assert!(stale.is_empty(), "an intermittent entry is never stale");
    }
}
