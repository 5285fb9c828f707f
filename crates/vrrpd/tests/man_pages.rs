//! The man pages in `dist/man/` must be what the sources render: `vrrpd(8)` from the clap
//! definitions (`src/cli.rs`), `vrrpd.conf(5)` from the keyword tables (`src/config/keywords.rs`,
//! the source of `docs/configuration-reference.md` too). The Debian package ships them.
//! Regenerate with `UPDATE_DOCS=1 cargo test -p vrrpd --test man_pages`.

use std::path::{Path, PathBuf};

use clap::CommandFactory;
use clap_mangen::Man;
use roff::{bold, italic, roman, Inline, Roff};
use vrrpd::config::keywords::{all_keywords, AtStart, Status};

/// The footer: source and, in the date's place, the version (a date would make the pages
/// change without their sources changing; an empty field shifts the ones after it).
const SOURCE: &str = "vrrpd";
const VERSION: &str = env!("CARGO_PKG_VERSION");
const MANUAL: &str = "System Administration";

/// The programs with a page in section 8: file name and clap command. A new program (e.g.
/// `vrrpctl`) is one more line here (plus its own sections in [`program_sections`]).
fn programs() -> Vec<(&'static str, clap::Command)> {
    vec![
        ("vrrpd.8", vrrpd::cli::Cli::command()),
        ("vrrpctl.8", vrrpd::ctl::CtlCli::command()),
    ]
}

/// Text with `code` spans in bold, the rest roman.
fn spans(text: &str) -> Vec<Inline> {
    text.split('`')
        .enumerate()
        .filter(|(_, s)| !s.is_empty())
        .map(|(i, s)| if i % 2 == 1 { bold(s) } else { roman(s) })
        .collect()
}

fn section(page: &mut Roff, title: &str) {
    page.control("SH", [title]);
}

fn paragraph(page: &mut Roff, text: &str) {
    page.control("PP", []).text(spans(text));
}

/// A tagged paragraph: `tag` in bold, then `text`.
fn item(page: &mut Roff, tag: &str, text: &str) {
    page.control("TP", []).text([bold(tag)]).text(spans(text));
}

/// The sections a program's page has after its options.
fn program_sections(name: &str) -> Roff {
    let mut page = Roff::new();
    if name == "vrrpctl.8" {
        return vrrpctl_sections(page);
    }
    if name != "vrrpd.8" {
        return page;
    }
    section(&mut page, "CONFIGURATION");
    paragraph(
        &mut page,
        "vrrpd reads keepalived's configuration file, `/etc/keepalived/keepalived.conf` unless \
         `-f` names another, and acts on its VRRP part; the keywords it reads are in \
         vrrpd.conf(5). A file named *.yaml or *.yml (or given with `--config-format yaml`) is \
         read as the YAML form that `--convert` prints.",
    );
    section(&mut page, "SIGNALS");
    for (signal, what) in [
        ("SIGHUP", "Reload the configuration: matched instances keep their state and addresses; a configuration with errors is refused and the running one kept."),
        ("SIGTERM, SIGINT", "Stop: every Active sends a priority-0 advertisement and releases its addresses, STOP notifications run, then vrrpd exits."),
        ("SIGUSR1", "Write the data dump, `/tmp/keepalived.data` ($TMPDIR if set)."),
        ("SIGUSR2", "Write the statistics, `/tmp/keepalived.stats`."),
        ("SIGRTMIN+2", "Write the JSON dump, `/tmp/keepalived.json`."),
        ("SIGRTMAX-1", "Write the statistics and clear them."),
    ] {
        item(&mut page, signal, what);
    }
    section(&mut page, "FILES");
    for (file, what) in [
        (
            "/etc/keepalived/keepalived.conf",
            "The default configuration file.",
        ),
        (
            "/etc/default/keepalived",
            "Debian's options file: the unit appends its `DAEMON_ARGS` to the command line.",
        ),
        (
            "/etc/sysconfig/keepalived",
            "The options file of Red Hat systems: the unit appends its `KEEPALIVED_OPTIONS`.",
        ),
        (
            "/run/keepalived.pid, /run/vrrp.pid",
            "The pid files (keepalived's names; `-p` and `-r` choose others).",
        ),
    ] {
        item(&mut page, file, what);
    }
    section(&mut page, "ENVIRONMENT");
    item(
        &mut page,
        "RUST_LOG",
        "Overrides the log filter (e.g. `debug`, or `vrrp_net=trace`).",
    );
    item(
        &mut page,
        "NOTIFY_SOCKET, WATCHDOG_USEC",
        "Set by systemd for `Type=notify` units: vrrpd reports READY=1 once its routers run, \
         RELOADING=1 and STOPPING=1, and pings the watchdog from its event loop.",
    );
    section(&mut page, "EXIT STATUS");
    for (code, what) in [
        ("0", "Stopped by a signal, or `-t`: the configuration is valid."),
        ("1", "An unknown option or a bad option value."),
        ("2", "The configuration has errors that stop vrrpd from starting."),
        ("4, 5, 6", "With `-t`: the configuration cannot be used; has errors; breaks script security (keepalived's classes)."),
    ] {
        item(&mut page, code, what);
    }
    section(&mut page, "SEE ALSO");
    page.text([roman(
        "vrrpd.conf(5), keepalived(8), keepalived.conf(5), systemd.service(5); \
         /usr/share/doc/vrrpd/migrating-from-keepalived.md",
    )]);
    page
}

fn man_has_subcommands(file: &str) -> bool {
    file == "vrrpctl.8"
}

/// vrrpctl(8) after its options and subcommands.
fn vrrpctl_sections(mut page: Roff) -> Roff {
    section(&mut page, "CONTROL SOCKET");
    paragraph(
        &mut page,
        "vrrpctl asks a running vrrpd for the state of its virtual routers, their recent          transitions with the reason of each, and tells it to reload, through the daemon's          control socket (one JSON request and one JSON response per line; the protocol is in          /usr/share/doc/vrrpd/control-protocol.md). `--json` prints the daemon's response          as is, for scripts.",
    );
    section(&mut page, "EXIT STATUS");
    for (code, what) in [
        ("0", "The daemon did what was asked."),
        ("1", "The daemon refused: an unknown instance, or a reload refused because the configuration has errors (they are printed; the running configuration is kept)."),
        ("2", "An unknown option or a bad option value."),
        ("3", "No answer: no daemon on the socket, permission denied, or an unreadable answer."),
    ] {
        item(&mut page, code, what);
    }
    section(&mut page, "FILES");
    item(
        &mut page,
        "/run/vrrpd/control.sock",
        "The daemon's control socket (vrrpd `--control-socket`), mode 0600.",
    );
    section(&mut page, "SEE ALSO");
    page.text([roman("vrrpd(8), vrrpd.conf(5)")]);
    page
}

fn render_program(file: &str, cmd: clap::Command) -> String {
    let man = Man::new(cmd)
        .section("8")
        .date(VERSION)
        .source(SOURCE)
        .manual(MANUAL);
    let mut out = Vec::new();
    man.render_title(&mut out).expect("render");
    man.render_name_section(&mut out).expect("render");
    man.render_synopsis_section(&mut out).expect("render");
    man.render_description_section(&mut out).expect("render");
    man.render_options_section(&mut out).expect("render");
    if man_has_subcommands(file) {
        man.render_subcommands_section(&mut out).expect("render");
    }
    let mut text = String::from_utf8(out).expect("roff is UTF-8");
    text.push_str(&program_sections(file).to_roff());
    text
}

fn status_note(status: Status) -> Option<String> {
    match status {
        Status::ActedOn(_) => None,
        Status::NotActedOn => {
            Some("Accepted, not acted on yet (a note at -t and at start).".into())
        }
        Status::NotImplemented(d) => Some(match d.at_start {
            AtStart::Warn => format!("Not implemented: {}.", d.reason),
            AtStart::Refuse => format!(
                "Not implemented, vrrpd refuses to start with it: {}.",
                d.reason
            ),
        }),
        Status::Skipped => Some("Skipped (another keepalived subsystem).".into()),
        Status::Refused => Some("Checked, then refused: not acted on yet.".into()),
    }
}

/// `vrrpd.conf(5)`: one subsection per block, one tagged paragraph per keyword.
fn render_conf() -> String {
    let mut page = Roff::new();
    page.control("TH", ["VRRPD.CONF", "5", VERSION, SOURCE, "File Formats"]);
    section(&mut page, "NAME");
    page.text([roman(
        "vrrpd.conf - the keepalived.conf keywords vrrpd reads",
    )]);
    section(&mut page, "SYNOPSIS");
    page.text([bold("/etc/keepalived/keepalived.conf")]);
    section(&mut page, "DESCRIPTION");
    paragraph(
        &mut page,
        "vrrpd reads keepalived's configuration file with keepalived's (2.2.7) syntax: blocks in \
         braces, one keyword and its arguments a line, `#` and `!` comments, `include` of \
         further files. This page lists every keyword vrrpd knows, block by block, with its \
         arguments; times are seconds unless stated. Each keyword says whether vrrpd acts on it: \
         one it accepts but does not act on yet, or deliberately does not implement, gets a \
         note with its position at `-t` and at start; keywords of keepalived's other \
         subsystems are accepted and their blocks skipped, so that a full keepalived.conf \
         loads unchanged.",
    );
    paragraph(
        &mut page,
        "`vrrpd --convert -f FILE` prints the model a configuration resolves to as YAML, and \
         `vrrpd -f FILE.yaml` reads it back. `vrrpd -t` checks a file and exits with \
         keepalived's classes (see vrrpd(8)).",
    );
    section(&mut page, "KEYWORDS");
    let mut block = "";
    for k in all_keywords() {
        if k.block != block {
            block = k.block;
            page.control("SS", [block]);
        }
        let mut tag = vec![bold(k.name)];
        if !k.args.is_empty() {
            tag.push(roman(" "));
            tag.push(italic(k.args));
        }
        page.control("TP", []).text(tag).text(spans(k.description));
        if let Some(note) = status_note(k.status) {
            page.text([roman(" "), italic(&note)]);
        }
    }
    section(&mut page, "SEE ALSO");
    page.text([roman(
        "vrrpd(8), keepalived.conf(5); /usr/share/doc/vrrpd/configuration-reference.md",
    )]);
    page.to_roff()
}

/// Every page: its path under `dist/man/` and its rendered text.
fn pages() -> Vec<(PathBuf, String)> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../dist/man");
    let mut all: Vec<(PathBuf, String)> = programs()
        .into_iter()
        .map(|(file, cmd)| (dir.join(file), render_program(file, cmd)))
        .collect();
    all.push((dir.join("vrrpd.conf.5"), render_conf()));
    all
}

#[test]
fn man_pages_are_up_to_date() {
    let update = std::env::var_os("UPDATE_DOCS").is_some();
    for (path, expected) in pages() {
        if update {
            std::fs::create_dir_all(path.parent().expect("dist/man")).expect("mkdir dist/man");
            std::fs::write(&path, &expected).expect("write the man page");
            continue;
        }
        let committed = std::fs::read_to_string(&path).unwrap_or_default();
        assert!(
            committed == expected,
            "{} differs from what the sources render; regenerate it with \
             `UPDATE_DOCS=1 cargo test -p vrrpd --test man_pages`",
            path.display()
        );
    }
}

#[test]
fn every_long_option_and_keyword_is_on_a_page() {
    let pages = pages();
    let text_of = |file: &str| {
        pages
            .iter()
            .find(|(p, _)| p.ends_with(file))
            .map(|(_, t)| t.clone())
            .expect("page rendered")
    };
    let vrrpd = text_of("vrrpd.8");
    for arg in vrrpd::cli::Cli::command().get_arguments() {
        if let Some(long) = arg.get_long() {
            // roff writes '-' as '\-'.
            let shown = format!("\\-\\-{}", long.replace('-', "\\-"));
            assert!(vrrpd.contains(&shown), "--{long} missing from vrrpd.8");
        }
    }
    let conf = text_of("vrrpd.conf.5");
    for k in all_keywords() {
        let shown = k.name.replace('-', "\\-");
        assert!(
            conf.contains(&shown),
            "{} missing from vrrpd.conf.5",
            k.name
        );
    }
}
