//! `vrrpctl`: the command-line client of the daemon's control socket.
//!
//! Exit status: 0 success; 1 the daemon refused (unknown instance, a reload refused because
//! of configuration errors, ...); 2 usage errors (clap's); 3 no answer (no daemon on the
//! socket, permission denied, an unreadable answer).

use std::fmt::Write as _;
use std::io::Write as _;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{CommandFactory, Parser, Subcommand};

use crate::control::client;
use crate::control::protocol::{
    Command, HistoryEntry, InstanceStatus, Response, StatusReply, StreamLine,
};
use crate::control::DEFAULT_SOCKET;

/// The daemon refused the request.
const EXIT_REFUSED: u8 = 1;
/// No answer from the daemon.
const EXIT_UNREACHABLE: u8 = 3;

/// See and steer a running vrrpd.
#[derive(Debug, Parser)]
#[command(
    name = "vrrpctl",
    version,
    about = "See and steer a running vrrpd through its control socket"
)]
pub struct CtlCli {
    /// The daemon's control socket.
    #[arg(long, short = 's', value_name = "PATH", env = "VRRPCTL_SOCKET", default_value = DEFAULT_SOCKET, global = true)]
    pub socket: PathBuf,
    /// Print the daemon's answer as JSON (the protocol's response object).
    #[arg(long, global = true)]
    pub json: bool,
    /// What to do.
    #[command(subcommand)]
    pub command: CtlCommand,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum CtlCommand {
    /// State, priorities, trackers, Active, VIPs and counters of every virtual router (or one).
    Status {
        /// Only this instance (with its trackers and counters).
        instance: Option<String>,
    },
    /// The last state transitions and priority changes, with their reasons.
    History {
        /// Only this instance (or sync group).
        instance: Option<String>,
        /// At most this many entries (the newest).
        #[arg(long, short = 'n', value_name = "N")]
        limit: Option<usize>,
    },
    /// Re-read the configuration and apply it (as SIGHUP); a configuration with errors is
    /// refused, the running one kept, and the errors printed.
    Reload,
    /// Drain one virtual router on this node (on) or return it to service (off). On: an
    /// Active leaves with a priority-0 advert, so a Backup takes over within its Skew_Time,
    /// and the instance stays Backup, never Active, until off; reloads keep it.
    Maintenance {
        /// `INSTANCE on|off`, or `on|off` with --all.
        #[arg(value_name = "INSTANCE] [on|off", num_args = 1..=2, required = true)]
        target: Vec<String>,
        /// Every instance.
        #[arg(long)]
        all: bool,
        /// With `on`: return once another router is Active for each instance (at most 10 s).
        #[arg(long)]
        wait: bool,
    },
    /// Re-announce the addresses of an Active instance now (gratuitous ARP / unsolicited NA,
    /// a burst as at takeover); exit 1 if it is not Active here.
    Garp {
        /// The instance (or --all).
        #[arg(required_unless_present = "all")]
        instance: Option<String>,
        /// Every Active instance.
        #[arg(long, conflicts_with = "instance")]
        all: bool,
    },
    /// Follow the daemon: one line per state change, priority change, maintenance switch,
    /// tracker result and notice, until interrupted (`--json`: one JSON object per line).
    Events,
    /// Print a shell completion script.
    Completions {
        /// The shell.
        shell: clap_complete::Shell,
    },
}

/// Runs `vrrpctl` with `cli`, printing to stdout/stderr.
pub fn run(cli: CtlCli) -> ExitCode {
    let mut wait_for = None;
    let command = match cli.command {
        CtlCommand::Status { instance } => Command::Status { instance },
        CtlCommand::Maintenance { target, all, wait } => {
            let (instance, mode) = match (&target[..], all) {
                ([mode], true) => (None, mode.as_str()),
                ([instance, mode], false) => (Some(instance.clone()), mode.as_str()),
                _ => return usage_error("maintenance takes INSTANCE on|off, or --all on|off"),
            };
            let on = match mode {
                "on" => true,
                "off" => false,
                other => return usage_error(&format!("maintenance {other:?}: expected on or off")),
            };
            if wait && on {
                wait_for = Some(instance.clone());
            }
            Command::Maintenance { instance, all, on }
        }
        CtlCommand::History { instance, limit } => Command::History { instance, limit },
        CtlCommand::Reload => Command::Reload,
        CtlCommand::Garp { instance, all } => Command::Garp { instance, all },
        CtlCommand::Events => return follow_events(&cli.socket, cli.json),
        CtlCommand::Completions { shell } => {
            let mut cmd = CtlCli::command();
            clap_complete::generate(shell, &mut cmd, "vrrpctl", &mut std::io::stdout());
            return ExitCode::SUCCESS;
        }
    };
    let detailed = matches!(&command, Command::Status { instance: Some(_) });
    let response = match client::request(&cli.socket, command) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("vrrpctl: {e}");
            return ExitCode::from(EXIT_UNREACHABLE);
        }
    };
    let text = if cli.json {
        let mut text = serde_json::to_string_pretty(&response).expect("a response serialises");
        text.push('\n');
        text
    } else {
        render(&response, detailed)
    };
    let _ = std::io::stdout().write_all(text.as_bytes());
    if let (false, Some(error)) = (cli.json, &response.error) {
        eprintln!("vrrpctl: {}", error.message);
    }
    if !response.ok {
        return ExitCode::from(EXIT_REFUSED);
    }
    if let Some(instance) = wait_for {
        return wait_for_another_active(&cli.socket, instance);
    }
    ExitCode::SUCCESS
}

/// `vrrpctl events`: prints the stream until the daemon closes it or stdout goes away.
fn follow_events(socket: &std::path::Path, json: bool) -> ExitCode {
    let mut out = std::io::stdout();
    let started = || eprintln!("vrrpctl: following the events of {}", socket.display());
    let result = client::events(socket, started, |line| {
        let text = if json {
            serde_json::to_string(&line).expect("a stream line serialises") + "\n"
        } else {
            match &line {
                StreamLine::Event(e) => {
                    let mut o = String::new();
                    render_history(&mut o, std::slice::from_ref(e));
                    o
                }
                StreamLine::Lagged(n) => {
                    format!("({n} events dropped: this client was too slow)\n")
                }
            }
        };
        out.write_all(text.as_bytes())
            .and_then(|()| out.flush())
            .is_ok()
    });
    match result {
        Ok(r) if r.ok => ExitCode::SUCCESS,
        Ok(r) => {
            if let Some(e) = r.error {
                eprintln!("vrrpctl: {}", e.message);
            }
            ExitCode::from(EXIT_REFUSED)
        }
        Err(e) => {
            eprintln!("vrrpctl: {e}");
            ExitCode::from(EXIT_UNREACHABLE)
        }
    }
}

/// A usage error, as clap reports its own (exit status 2).
fn usage_error(message: &str) -> ExitCode {
    CtlCli::command()
        .error(clap::error::ErrorKind::ValueValidation, message)
        .exit()
}

/// How long `maintenance on --wait` waits for another router to be Active.
const MAINTENANCE_WAIT: std::time::Duration = std::time::Duration::from_secs(10);

/// Polls the status until every instance (or `instance`) is out of MASTER and has heard
/// another Active.
fn wait_for_another_active(socket: &std::path::Path, instance: Option<String>) -> ExitCode {
    let deadline = std::time::Instant::now() + MAINTENANCE_WAIT;
    loop {
        let status = client::request(
            socket,
            Command::Status {
                instance: instance.clone(),
            },
        );
        let done = status
            .as_ref()
            .ok()
            .and_then(|r| r.status.as_ref())
            .is_some_and(|s| {
                s.instances
                    .iter()
                    .all(|i| i.state != "MASTER" && i.active.as_ref().is_some_and(|a| !a.this_node))
            });
        if done {
            return ExitCode::SUCCESS;
        }
        if std::time::Instant::now() >= deadline {
            eprintln!(
                "vrrpctl: no other router became Active within {} s",
                MAINTENANCE_WAIT.as_secs()
            );
            return ExitCode::from(EXIT_REFUSED);
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
}

/// The human form of a response.
pub fn render(response: &Response, detailed: bool) -> String {
    let mut o = String::new();
    if let Some(status) = &response.status {
        if detailed {
            for i in &status.instances {
                render_instance(&mut o, i);
            }
        } else {
            render_status_table(&mut o, status);
        }
    }
    if let Some(history) = &response.history {
        render_history(&mut o, history);
    }
    if let Some(names) = &response.maintenance {
        let _ = writeln!(o, "maintenance: {}", names.join(", "));
    }
    if let Some(names) = &response.announced {
        let _ = writeln!(o, "announced: {}", names.join(", "));
    }
    if let Some(reload) = &response.reload {
        if reload.applied {
            let _ = writeln!(
                o,
                "reloaded: {} kept, {} added, {} removed",
                reload.kept, reload.added, reload.removed
            );
        } else {
            let _ = writeln!(o, "reload refused, running configuration kept:");
            for e in &reload.errors {
                let _ = writeln!(o, "  {e}");
            }
        }
    }
    o
}

/// Left-aligned columns, two spaces apart.
fn table(o: &mut String, rows: &[Vec<String>]) {
    let columns = rows.iter().map(Vec::len).max().unwrap_or(0);
    let widths: Vec<usize> = (0..columns)
        .map(|c| {
            (rows.iter())
                .filter_map(|r| r.get(c))
                .map(|s| s.chars().count())
                .max()
                .unwrap_or(0)
        })
        .collect();
    for row in rows {
        let mut line = String::new();
        for (c, cell) in row.iter().enumerate() {
            if c + 1 == row.len() {
                line.push_str(cell);
            } else {
                let _ = write!(line, "{cell:<w$}  ", w = widths[c]);
            }
        }
        let _ = writeln!(o, "{}", line.trim_end());
    }
}

fn active_text(i: &InstanceStatus) -> String {
    match &i.active {
        Some(a) if a.this_node => "this node".into(),
        Some(a) => format!("{} ({})", a.address, a.priority),
        None => "-".into(),
    }
}

fn render_status_table(o: &mut String, status: &StatusReply) {
    let mut rows = vec![[
        "INSTANCE",
        "VRID",
        "FAMILY",
        "INTERFACE",
        "STATE",
        "SINCE",
        "PRIORITY",
        "ACTIVE",
        "VIPS",
    ]
    .map(String::from)
    .to_vec()];
    for i in &status.instances {
        let vips: Vec<String> = i
            .vips
            .iter()
            .map(|v| {
                let mark = if i.installed_vips.contains(v) {
                    "*"
                } else {
                    ""
                };
                format!("{v}{mark}")
            })
            .collect();
        rows.push(vec![
            i.name.clone(),
            i.vrid.to_string(),
            i.family.clone(),
            i.interface.clone(),
            if i.maintenance {
                format!("{} (maintenance)", i.state)
            } else {
                i.state.clone()
            },
            i.since.clone().unwrap_or_else(|| "-".into()),
            format!("{} (base {})", i.effective_priority, i.base_priority),
            active_text(i),
            vips.join(" "),
        ]);
    }
    table(o, &rows);
    if status
        .instances
        .iter()
        .any(|i| !i.installed_vips.is_empty())
    {
        let _ = writeln!(o, "(* installed on this node)");
    }
    for g in &status.sync_groups {
        let _ = writeln!(
            o,
            "sync group {}: {} ({})",
            g.name,
            g.state,
            g.members.join(", ")
        );
    }
}

fn render_instance(o: &mut String, i: &InstanceStatus) {
    let c = &i.counters;
    let join = |v: &[std::net::IpAddr]| {
        let s: Vec<String> = v.iter().map(ToString::to_string).collect();
        if s.is_empty() {
            "-".into()
        } else {
            s.join(" ")
        }
    };
    let mut rows: Vec<Vec<String>> = vec![
        vec![
            "instance".into(),
            format!("{} (VRID {}, {})", i.name, i.vrid, i.family),
        ],
        vec![
            "interface".into(),
            if i.vip_interface == i.interface {
                i.interface.clone()
            } else {
                format!("{} (VIPs on {})", i.interface, i.vip_interface)
            },
        ],
        vec![
            "state".into(),
            format!(
                "{}{} since {}",
                i.state,
                if i.maintenance { " (maintenance)" } else { "" },
                i.since.as_deref().unwrap_or("-")
            ),
        ],
        vec![
            "priority".into(),
            format!("{} (base {})", i.effective_priority, i.base_priority),
        ],
    ];
    for t in &i.trackers {
        let effect = if t.fault {
            "FAULT".to_string()
        } else {
            format!("{:+}", t.contribution)
        };
        rows.push(vec![
            "  tracker".into(),
            format!("{}: {} (weight {}) {effect}", t.name, t.state, t.weight),
        ]);
    }
    rows.extend([
        vec!["address".into(), i.address.to_string()],
        vec!["active".into(), active_text(i)],
        vec![
            "timers".into(),
            format!(
                "advert {} ms, skew {:.3} ms, down {:.3} ms",
                i.advert_interval_ms, i.skew_ms, i.down_interval_ms
            ),
        ],
        vec!["vips".into(), join(&i.vips)],
        vec!["installed".into(), join(&i.installed_vips)],
        vec!["checksum".into(), i.checksum_form.clone()],
        vec![
            "adverts".into(),
            format!(
                "{} received, {} sent; priority 0: {} received, {} sent",
                c.adverts_rx, c.adverts_tx, c.priority_zero_rx, c.priority_zero_tx
            ),
        ],
        vec![
            "transitions".into(),
            format!(
                "{} ({} to Active, {} from Active)",
                c.transitions, c.became_active, c.released_active
            ),
        ],
        vec!["announcements".into(), c.announcements.to_string()],
        vec![
            "errors".into(),
            format!(
                "length {}, version {}, type {}, checksum {}, fields {}, ttl {}, auth {}, policy {}",
                c.rx_length_errors,
                c.rx_version_errors,
                c.rx_type_errors,
                c.rx_checksum_errors,
                c.rx_field_errors,
                c.rx_ttl_errors,
                c.rx_auth_errors,
                c.rx_policy_errors
            ),
        ],
    ]);
    let auth = [
        c.auth_hmac_verified,
        c.auth_hmac_unsigned,
        c.auth_hmac_missing,
        c.auth_hmac_malformed,
        c.auth_hmac_unknown_key,
        c.auth_hmac_invalid,
        c.auth_hmac_stale,
        c.auth_hmac_replayed,
        c.auth_hmac_signed_tx,
    ];
    if auth.iter().any(|&n| n > 0) {
        rows.push(vec![
            "auth_hmac".into(),
            format!(
                "{} verified, {} unsigned accepted, {} signed sent; rejected: missing {}, malformed {}, unknown key {}, invalid {}, stale {}, replayed {}",
                c.auth_hmac_verified,
                c.auth_hmac_unsigned,
                c.auth_hmac_signed_tx,
                c.auth_hmac_missing,
                c.auth_hmac_malformed,
                c.auth_hmac_unknown_key,
                c.auth_hmac_invalid,
                c.auth_hmac_stale,
                c.auth_hmac_replayed
            ),
        ]);
    }
    if let Some(g) = &i.sync_group {
        rows.push(vec!["sync group".into(), g.clone()]);
    }
    table(o, &rows);
    o.push('\n');
}

fn render_history(o: &mut String, history: &[HistoryEntry]) {
    let rows: Vec<Vec<String>> = history
        .iter()
        .map(|e| {
            let what = match e.kind.as_str() {
                "priority" => format!("priority {} -> {}", e.from, e.to),
                "group" => format!("group {} -> {}", e.from, e.to),
                "maintenance" => format!("maintenance {}", e.to),
                "tracker" => format!("tracker {}", e.to),
                "notice" => "notice".to_string(),
                _ => format!("{} -> {}", e.from, e.to),
            };
            vec![e.at.clone(), e.instance.clone(), what, e.reason.clone()]
        })
        .collect();
    table(o, &rows);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_command_line_is_consistent() {
        CtlCli::command().debug_assert();
    }

    #[test]
    fn maintenance_takes_an_instance_or_all() {
        let cli =
            CtlCli::try_parse_from(["vrrpctl", "maintenance", "VI_1", "on", "--wait"]).unwrap();
        assert!(
            matches!(cli.command, CtlCommand::Maintenance { ref target, all: false, wait: true } if target == &["VI_1", "on"])
        );
        let cli = CtlCli::try_parse_from(["vrrpctl", "garp", "--all"]).unwrap();
        assert!(matches!(
            cli.command,
            CtlCommand::Garp {
                instance: None,
                all: true
            }
        ));
        let cli = CtlCli::try_parse_from(["vrrpctl", "maintenance", "--all", "off"]).unwrap();
        assert!(
            matches!(cli.command, CtlCommand::Maintenance { ref target, all: true, .. } if target == &["off"])
        );
    }
}
