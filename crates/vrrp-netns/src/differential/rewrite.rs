//! The configuration as the harness runs it: every notify script replaced by a logger that
//! appends its arguments to a file, a `notify` logger added to every instance, and every
//! notify FIFO moved into the run's directory with a reader script.
//!
//! - `notify_master X args` (and `notify_backup`, `notify_fault`, `notify_stop`,
//!   `notify_deleted`, `notify_master_rx_lower_pri`, `notify`, in instances and sync groups)
//!   becomes `notify_master "DIR/notify-log.sh notify_master X args"`, so each call appends
//!   the line `notify_master X args STATE-ARGS...` to `DIR/notify.log` (the original script is
//!   not run). A trailing `username [groupname]` is kept.
//! - `startup_script X` and `shutdown_script X` (`global_defs`) are wrapped the same way: their
//!   line in `DIR/notify.log` (`startup_script X`) says that the daemon ran them.
//! - An instance without a `notify` line gets `notify "DIR/notify-log.sh notify"` on the line
//!   after its opening brace: its lines (`notify INSTANCE VI_1 MASTER 100`) are the outside
//!   view of the instance's state.
//! - `notify_fifo P` / `vrrp_notify_fifo P` become `DIR/notify_fifo.fifo` (resp. `vrrp_`),
//!   and their `*_script` (added if missing) becomes `DIR/fifo-log.sh KEY`, which appends
//!   `KEY LINE` for every line of the FIFO to `DIR/fifo.log`.
//!
//! Rewritten lines keep their line numbers; added lines shift later ones, which is why `-t`
//! is run on the file as it is, not on this one.

use std::path::Path;

use super::conf::Node;
use crate::error::Result;
use crate::router::{set_mode, write};

/// Keywords whose value is a notify script.
pub const NOTIFY_KEYWORDS: &[&str] = &[
    "notify",
    "notify_master",
    "notify_backup",
    "notify_fault",
    "notify_stop",
    "notify_deleted",
    "notify_master_rx_lower_pri",
];

/// `global_defs` scripts wrapped like notify scripts.
pub const GLOBAL_SCRIPT_KEYWORDS: &[&str] = &["startup_script", "shutdown_script"];

/// Keywords naming a notify FIFO.
pub const FIFO_KEYWORDS: &[&str] = &["notify_fifo", "vrrp_notify_fifo"];

/// The file the notify logger appends to, in the run's directory.
pub const NOTIFY_LOG: &str = "notify.log";
/// The file the FIFO reader appends to.
pub const FIFO_LOG: &str = "fifo.log";
const NOTIFY_SCRIPT: &str = "notify-log.sh";
const FIFO_SCRIPT: &str = "fifo-log.sh";

/// Writes the two logger scripts (mode 0755) into `dir`.
pub fn write_loggers(dir: &Path) -> Result<()> {
    let notify = format!(
        "#!/bin/sh\n# vrrp-netns differential: one line per call, the arguments joined by spaces\n\
         printf '%s\\n' \"$*\" >> '{}'\n",
        dir.join(NOTIFY_LOG).display()
    );
    let fifo = format!(
        "#!/bin/sh\n# vrrp-netns differential: KEY FIFO; appends KEY LINE for each FIFO line\n\
         key=$1\nfor fifo; do :; done\n\
         while IFS= read -r line; do printf '%s %s\\n' \"$key\" \"$line\" >> '{}'; done < \"$fifo\"\n",
        dir.join(FIFO_LOG).display()
    );
    for (name, text) in [(NOTIFY_SCRIPT, notify), (FIFO_SCRIPT, fifo)] {
        let p = dir.join(name);
        write(&p, &text)?;
        set_mode(&p, 0o755)?;
    }
    Ok(())
}

/// The words of a script value, without the outer quotes: `"/a.sh x" root` -> (`/a.sh x`,
/// [`root`]); unquoted: `/a.sh root` -> (`/a.sh`, [`root`]).
fn script_and_rest(words: &[String]) -> (String, Vec<String>) {
    match words.first() {
        Some(w) if w.starts_with('"') => (w.trim_matches('"').to_string(), words[1..].to_vec()),
        Some(w) => (w.clone(), words[1..].to_vec()),
        None => (String::new(), Vec::new()),
    }
}

fn indent_of(line: &str) -> &str {
    &line[..line.len() - line.trim_start().len()]
}

/// The configuration `text` (parsed as `top`) rewritten for a run in `dir`.
pub fn for_run(text: &str, top: &[Node], dir: &Path) -> String {
    let d = dir.display();
    let mut lines: Vec<String> = text.lines().map(str::to_string).collect();
    // Lines to insert after a given (0-based) line, applied at the end, bottom up.
    let mut inserts: Vec<(usize, String)> = Vec::new();
    for root in top {
        for node in root.walk() {
            let kw = node.keyword();
            let Some(line) = node.line.checked_sub(1).filter(|&l| l < lines.len()) else {
                continue;
            };
            let indent = indent_of(&lines[line]).to_string();
            if (NOTIFY_KEYWORDS.contains(&kw) || GLOBAL_SCRIPT_KEYWORDS.contains(&kw))
                && node.children.is_empty()
            {
                let (script, rest) = script_and_rest(&node.words[1..]);
                let mut new = format!("{indent}{kw} \"{d}/{NOTIFY_SCRIPT} {kw} {script}\"");
                for r in rest {
                    new.push(' ');
                    new.push_str(&r);
                }
                lines[line] = new.trim_end().to_string();
            } else if FIFO_KEYWORDS.contains(&kw) {
                lines[line] = format!("{indent}{kw} {d}/{kw}.fifo");
                let script_kw = format!("{kw}_script");
                let script_line = format!("{indent}{script_kw} \"{d}/{FIFO_SCRIPT} {kw}\"");
                let parent_has_script = top.iter().any(|r| {
                    r.walk()
                        .iter()
                        .any(|n| n.keyword() == script_kw && !n.words.is_empty())
                });
                if !parent_has_script {
                    inserts.push((line, script_line));
                }
            } else if kw.ends_with("_fifo_script")
                && FIFO_KEYWORDS.contains(&kw.trim_end_matches("_script"))
            {
                let fifo_kw = kw.trim_end_matches("_script");
                lines[line] = format!("{indent}{kw} \"{d}/{FIFO_SCRIPT} {fifo_kw}\"");
            }
        }
        if root.keyword() == "vrrp_instance" && root.child("notify").is_none() {
            if let Some(open) = opening_brace_line(&lines, root.line) {
                inserts.push((open, format!("    notify \"{d}/{NOTIFY_SCRIPT} notify\"")));
            }
        }
    }
    inserts.sort_by_key(|(l, _)| std::cmp::Reverse(*l));
    for (after, text) in inserts {
        lines.insert(after + 1, text);
    }
    let mut out = lines.join("\n");
    out.push('\n');
    out
}

/// The 0-based line holding the `{` that opens the block whose keyword is on `line`
/// (1-based): that line or a later one.
fn opening_brace_line(lines: &[String], line: usize) -> Option<usize> {
    (line.checked_sub(1)?..lines.len()).find(|&i| {
        let l = &lines[i];
        let code = l.split(['#', '!']).next().unwrap_or("");
        code.contains('{')
    })
}

#[cfg(test)]
mod tests {
    use super::super::conf::parse;
    use super::*;

    #[test]
    fn notify_scripts_are_wrapped_and_a_notify_is_added() {
        let text = "global_defs {\n  notify_fifo /run/k.fifo\n}\nvrrp_sync_group G {\n  group {\n    VI_1\n  }\n  \
                    notify_master \"/usr/bin/x.sh master G\"\n}\nvrrp_instance VI_1\n{\n  interface eth0\n  \
                    notify_stop /bin/s.sh root\n}\n";
        let out = for_run(text, &parse(text), Path::new("/w"));
        let lines: Vec<&str> = out.lines().collect();
        assert_eq!(lines[1], "  notify_fifo /w/notify_fifo.fifo");
        assert_eq!(
            lines[2],
            "  notify_fifo_script \"/w/fifo-log.sh notify_fifo\""
        );
        assert_eq!(
            lines[8],
            "  notify_master \"/w/notify-log.sh notify_master /usr/bin/x.sh master G\""
        );
        assert_eq!(lines[11], "{");
        assert_eq!(lines[12], "    notify \"/w/notify-log.sh notify\"");
        assert_eq!(
            lines[14],
            "  notify_stop \"/w/notify-log.sh notify_stop /bin/s.sh\" root"
        );
    }

    #[test]
    fn an_existing_notify_and_fifo_script_are_rewritten_in_place() {
        let text = "global_defs {\n vrrp_notify_fifo /a\n vrrp_notify_fifo_script /b.sh\n}\n\
                    vrrp_instance V {\n notify /n.sh\n}\n";
        let out = for_run(text, &parse(text), Path::new("/w"));
        assert_eq!(out.lines().count(), text.lines().count());
        assert!(out.contains(" vrrp_notify_fifo_script \"/w/fifo-log.sh vrrp_notify_fifo\"\n"));
        assert!(out.contains(" notify \"/w/notify-log.sh notify /n.sh\"\n"));
    }
}
