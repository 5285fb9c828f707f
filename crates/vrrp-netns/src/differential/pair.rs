//! Two-node runs: node `a` runs the file, node `b` runs it with the file's peer
//! substitutions applied, both with the same implementation on one lab. Once `a` is Active
//! and `b` Backup for every instance, both namespaces are read (`before.a.*`,
//! `before.b.*`), `a` is killed (SIGKILL by default: every process of its namespace; or
//! SIGTERM), and once `b` is Active for every instance both are read again (`after.a.*`,
//! `after.b.*`). Notify lines (`a.state`, `b.notify`, ...) and adverts (with the sender)
//! are compared too.
//!
//! Peer substitutions are comment lines in the file, applied in order to every other line:
//!
//! ```text
//! # diff-peer: unicast_src_ip 192.0.2.1 => unicast_src_ip 192.0.2.2
//! # diff-peer: priority 150 => priority 100
//! ```

use std::path::Path;
use std::time::Duration;

use nix::sys::signal::Signal;

use super::daemon::Daemon;
use super::normalise::{self, Observation};
use super::observe::{net_state, Wire};
use super::twin::{last_states, wait_quiet, RunDir, Subject};
use crate::error::{Error, Result};
use crate::util::wait_until;

/// The directive that introduces a peer substitution.
pub const PEER_DIRECTIVE: &str = "# diff-peer:";

/// The text node `b` runs: every `# diff-peer: OLD => NEW` applied (in order) to every line
/// that is not itself a directive.
pub fn peer_text(text: &str) -> Result<String> {
    let mut subs = Vec::new();
    for (i, l) in text.lines().enumerate() {
        if let Some(rest) = l.trim_start().strip_prefix(PEER_DIRECTIVE) {
            let (old, new) = rest.split_once("=>").ok_or_else(|| {
                Error::Invalid(format!(
                    "line {}: {PEER_DIRECTIVE} needs `OLD => NEW`, got {rest:?}",
                    i + 1
                ))
            })?;
            subs.push((old.trim().to_string(), new.trim().to_string()));
        }
    }
    let mut out = String::new();
    for l in text.lines() {
        let mut l = l.to_string();
        if !l.trim_start().starts_with(PEER_DIRECTIVE) {
            for (old, new) in &subs {
                l = l.replace(old.as_str(), new);
            }
        }
        out += &l;
        out.push('\n');
    }
    Ok(out)
}

fn all_in(run: &RunDir, names: &[String], state: &str) -> bool {
    let s = last_states(&run.notify_lines());
    names
        .iter()
        .all(|n| s.get(n).map(String::as_str) == Some(state))
}

/// Runs the pair under `binary`; see the module documentation.
pub fn run_pair(
    binary: &Path,
    subject: &Subject,
    kill: Signal,
    label: &str,
) -> Result<Observation> {
    let peer = Subject::new(peer_text(&subject.text)?)?;
    let names_a: Vec<&str> = subject
        .topo
        .ifaces
        .iter()
        .map(|p| p.name.as_str())
        .collect();
    let names_b: Vec<&str> = peer.topo.ifaces.iter().map(|p| p.name.as_str()).collect();
    if names_a != names_b {
        return Err(Error::Invalid(format!(
            "the peer substitutions change the interfaces ({names_a:?} vs {names_b:?})"
        )));
    }
    let lab = subject.topo.build_lab(&["a", "b"])?;
    let (a, b) = (lab.host("a"), lab.host("b"));
    subject.topo.wire(&lab, a)?;
    peer.topo.wire(&lab, b)?;
    let run_a = RunDir::new(&format!("{label}-a"), subject)?;
    let run_b = RunDir::new(&format!("{label}-b"), &peer)?;
    let wire = Wire::start(&lab, &subject.topo, &[a, b])?;
    let names: Vec<String> = subject
        .topo
        .instances
        .iter()
        .map(|i| i.name.clone())
        .collect();
    let deadline = subject.topo.settle_deadline() + Duration::from_secs(2);
    // `a` is Active before `b` starts: started together, the lower-priority `b` would win the
    // first election whenever it starts more than the skew difference (tens of ms) earlier,
    // and the notify history would depend on the machine's load.
    let mut da = Daemon::start(binary, a, run_a.dir.path(), &run_a.run_conf)?;
    wait_until(deadline, || all_in(&run_a, &names, "MASTER"));
    let mut db = Daemon::start(binary, b, run_b.dir.path(), &run_b.run_conf)?;

    let mut obs = Observation::default();
    let elected = wait_until(deadline, || {
        all_in(&run_a, &names, "MASTER") && all_in(&run_b, &names, "BACKUP")
    });
    obs.add(
        "pair",
        if elected {
            "a Active, b Backup before the kill"
        } else {
            "a was not Active with b Backup before the kill"
        },
    );
    wait_quiet(a);
    wait_quiet(b);
    obs.merge_prefixed("before.a.", normalise::net(&net_state(&a.netns)?));
    obs.merge_prefixed("before.b.", normalise::net(&net_state(&b.netns)?));

    match kill {
        Signal::SIGTERM => {
            da.terminate()?;
        }
        _ => da.kill_all()?,
    }
    let took_over = wait_until(deadline, || all_in(&run_b, &names, "MASTER"));
    obs.add(
        "pair",
        if took_over {
            "b Active after the kill"
        } else {
            "b not Active after the kill"
        },
    );
    wait_quiet(b);
    obs.merge_prefixed("after.a.", normalise::net(&net_state(&a.netns)?));
    obs.merge_prefixed("after.b.", normalise::net(&net_state(&b.netns)?));
    db.terminate()?;
    obs.merge_prefixed(
        "a.",
        normalise::notify(&run_a.notify_lines(), &run_a.work(), ""),
    );
    obs.merge_prefixed(
        "b.",
        normalise::notify(&run_b.notify_lines(), &run_b.work(), ""),
    );
    obs.merge_prefixed("", normalise::adverts(&wire.adverts(), true));
    obs.merge_prefixed("", normalise::announcements(&wire.announcements(), true));
    Ok(obs)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn peer_substitutions_apply_to_other_lines() {
        let t = "# diff-peer: priority 150 => priority 100\nvrrp_instance V {\n priority 150\n}\n";
        let p = peer_text(t).unwrap();
        assert_eq!(
            p,
            "# diff-peer: priority 150 => priority 100\nvrrp_instance V {\n priority 100\n}\n"
        );
        assert!(peer_text("# diff-peer: nothing\n").is_err());
    }
}
