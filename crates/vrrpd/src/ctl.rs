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
use crate::control::protocol::{Command, HistoryEntry, InstanceStatus, Response, StatusReply};
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
    /// Print a shell completion script.
    Completions {
        /// The shell.
        shell: clap_complete::Shell,
    },
}

/// Runs `vrrpctl` with `cli`, printing to stdout/stderr.
pub fn run(cli: CtlCli) -> ExitCode {
    let command = match cli.command {
        CtlCommand::Status { instance } => Command::Status { instance },
        CtlCommand::History { instance, limit } => Command::History { instance, limit },
        CtlCommand::Reload => Command::Reload,
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
    if response.ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(EXIT_REFUSED)
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
            i.state.clone(),
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
            format!("{} since {}", i.state, i.since.as_deref().unwrap_or("-")),
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
                _ => format!("{} -> {}", e.from, e.to),
            };
            vec![e.at.clone(), e.instance.clone(), what, e.reason.clone()]
        })
        .collect();
    table(o, &rows);
}
