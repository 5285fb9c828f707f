//! The keyword tables: every keyword the parser dispatches is in the documentation table, and
//! the parser accepts every keyword in the table.

use std::path::{Path, PathBuf};

use vrrpd::config::keywords::{all_keywords, render_markdown, Evidence, Status};
use vrrpd::config::{load_str, LoadOptions};

fn wrap(block: &str, line: &str) -> String {
    match block {
        "top level" => format!("{line} {{\n}}\n"),
        "authentication" => format!("vrrp_instance I {{\n authentication {{\n {line}\n }}\n}}\n"),
        "auth_hmac" => format!("vrrp_instance I {{\n auth_hmac {{\n {line}\n }}\n}}\n"),
        "vrrp_track_process" | "vrrp_script" | "vrrp_instance" | "vrrp_sync_group"
        | "track_file" => {
            format!("{block} N {{\n {line}\n}}\n")
        }
        "virtual address options" => {
            format!("vrrp_instance N {{\n virtual_ipaddress {{\n  192.0.2.1 {line}\n }}\n}}\n")
        }
        other => format!("{other} {{\n {line}\n}}\n"),
    }
}

#[test]
fn parser_accepts_every_table_keyword() {
    for keyword in all_keywords() {
        let text = wrap(keyword.block, &format!("{} x", keyword.name));
        let diagnostics = match load_str("k.conf", Path::new("."), &text, &LoadOptions::default()) {
            Ok(loaded) => loaded.warnings,
            Err(errors) => errors.diagnostics,
        };
        assert!(
            diagnostics
                .iter()
                .all(|d| !d.message.contains("unknown keyword")),
            "{} in {}: {diagnostics:#?}",
            keyword.name,
            keyword.block
        );
    }
}

#[test]
fn unknown_keywords_are_not_in_the_table() {
    let text = wrap("global_defs", "no_such_keyword");
    let loaded =
        load_str("k.conf", Path::new("."), &text, &LoadOptions::default()).expect("warning only");
    assert!(loaded
        .warnings
        .iter()
        .any(|d| d.message.contains("unknown keyword no_such_keyword")));
}

#[test]
fn markdown_lists_every_keyword_once_per_block() {
    let markdown = render_markdown();
    let keywords = all_keywords();
    for keyword in &keywords {
        assert!(
            markdown.contains(&format!("| `{}` |", keyword.name)),
            "{} missing",
            keyword.name
        );
        assert!(
            !keyword.description.is_empty(),
            "{} has no description",
            keyword.name
        );
    }
    for (i, a) in keywords.iter().enumerate() {
        assert!(
            !keywords[i + 1..]
                .iter()
                .any(|b| a.block == b.block && a.name == b.name),
            "{} listed twice in {}",
            a.name,
            a.block
        );
    }
    assert!(markdown.contains("## vrrp_instance"));
}

/// Every `.rs` file of the workspace's crates, with its text.
fn workspace_sources() -> Vec<(PathBuf, String)> {
    let mut out = Vec::new();
    let mut stack = vec![workspace().join("crates")];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display())) {
            let path = entry.expect("directory entry").path();
            if path.is_dir() {
                if !path.ends_with("target") {
                    stack.push(path);
                }
            } else if path.extension().is_some_and(|x| x == "rs") {
                let text = std::fs::read_to_string(&path).unwrap_or_default();
                out.push((path, text));
            }
        }
    }
    out
}

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// Whether `text` defines a test function `name`: a line `[async] fn name(` right below
/// attribute or comment lines, one of them `#[test]` or `#[tokio::test...]`.
fn defines_test(text: &str, name: &str) -> bool {
    let lines: Vec<&str> = text.lines().map(str::trim).collect();
    let signature = |l: &str| {
        let l = l.strip_prefix("pub ").unwrap_or(l);
        let l = l.strip_prefix("async ").unwrap_or(l);
        l.strip_prefix("fn ")
            .and_then(|rest| rest.strip_prefix(name))
            .is_some_and(|rest| rest.starts_with('(') || rest.starts_with('<'))
    };
    lines.iter().enumerate().any(|(at, line)| {
        signature(line)
            && lines[..at]
                .iter()
                .rev()
                .take_while(|l| l.starts_with("#[") || l.starts_with("//"))
                .any(|l| l.starts_with("#[test]") || l.starts_with("#[tokio::test"))
    })
}

fn uses_word(text: &str, word: &str) -> bool {
    text.match_indices(word).any(|(at, _)| {
        let before = text[..at].chars().next_back();
        let after = text[at + word.len()..].chars().next();
        let part = |c: Option<char>| c.is_some_and(|c| c.is_alphanumeric() || c == '_');
        !part(before) && !part(after)
    })
}

/// The keyword table is the single source of truth for what vrrpd acts on: an acted-on
/// keyword must name the behaviour tests that show its effect, and each must exist.
#[test]
fn acted_on_keywords_name_behaviour_tests_that_exist() {
    let sources = workspace_sources();
    let interop = std::fs::read_to_string(workspace().join("crates/vrrp-netns/tests/interop.rs"))
        .expect("crates/vrrp-netns/tests/interop.rs");
    let mut problems = Vec::new();
    let mut acted_on = 0;
    for k in all_keywords() {
        let what = format!("{} `{}`", k.block, k.name);
        let Status::ActedOn(evidence) = k.status else {
            if let Status::NotImplemented(d) = k.status {
                if d.reason.is_empty() {
                    problems.push(format!("{what}: not implemented without a reason"));
                }
            }
            continue;
        };
        acted_on += 1;
        if evidence.is_empty() {
            problems.push(format!("{what}: acted on, but names no behaviour test"));
        }
        for e in evidence {
            let found = match e {
                Evidence::Test(name) => sources.iter().any(|(_, text)| defines_test(text, name)),
                Evidence::Corpus(path) => {
                    let file = workspace()
                        .join("conformance/differential/corpus")
                        .join(path);
                    let text = std::fs::read_to_string(&file).unwrap_or_default();
                    let keyword = k.name.split_whitespace().next().unwrap_or(k.name);
                    if !text.is_empty() && !uses_word(&text, keyword) {
                        problems.push(format!("{what}: {e} does not use {keyword}"));
                    }
                    !text.is_empty()
                }
                Evidence::Scenario(name) => {
                    workspace()
                        .join(format!("conformance/scenarios/{name}.yaml"))
                        .is_file()
                        && uses_word(&interop, name)
                }
            };
            if !found {
                problems.push(format!("{what}: {e} does not exist"));
            }
        }
    }
    assert!(acted_on > 50, "only {acted_on} keywords acted on");
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

/// The checker itself: a test function is found, a helper or a missing name is not.
#[test]
fn the_evidence_check_tells_tests_from_other_functions() {
    let text = "#[test]\nfn real_one() {}\n\n#[tokio::test]\nasync fn real_async() {}\n\nfn helper() {}\n\n#[test]\n#[ignore]\nfn with_two_attributes() {}\n";
    assert!(defines_test(text, "real_one"));
    assert!(defines_test(text, "real_async"));
    assert!(defines_test(text, "with_two_attributes"));
    assert!(!defines_test(text, "helper"));
    assert!(!defines_test(text, "missing"));
    assert!(uses_word("a use_vmac\n", "use_vmac"));
    assert!(!uses_word("a use_vmac_addr\n", "use_vmac"));
}

fn diagnostics_of(
    text: &str,
) -> (
    Vec<vrrpd::config::Diagnostic>,
    Vec<vrrpd::config::KeywordUse>,
) {
    match load_str("k.conf", Path::new("."), text, &LoadOptions::default()) {
        Ok(loaded) => (loaded.warnings, loaded.not_acted_on),
        Err(errors) => (errors.diagnostics, errors.not_acted_on),
    }
}

/// `-t` and the startup print say, at its line, which keywords of the file vrrpd does not act
/// on; acted-on keywords get no note, and the notes do not change keepalived's exit class.
#[test]
fn keywords_not_acted_on_are_noted_at_their_line() {
    let text = "global_defs {\n    reload_repeat\n    notification_email {\n        a@example.org\n    }\n    lvs_id x\n}\n\
                vrrp_instance A {\n    interface eth0\n    virtual_router_id 1\n    priority 100\n\
                virtual_ipaddress {\n        192.0.2.1/24 dev eth0 label eth0:a\n    }\n    native_ipv6\n    virtual_routes {\n        192.0.2.0/24 dev eth0\n    }\n}\n";
    let (diagnostics, uses) = diagnostics_of(text);
    let notes: Vec<String> = diagnostics
        .iter()
        .filter(|d| d.message.contains("by vrrpd"))
        .map(|d| format!("{}:{} {}", d.line(), d.column(), d.message))
        .collect();
    assert_eq!(
        notes,
        [
            "2:5 reload_repeat is not acted on by vrrpd yet: accepted and ignored",
            "3:5 notification_email is not implemented by vrrpd (vrrpd sends no e-mail; a notify script or FIFO can): ignored",
            "15:5 native_ipv6 is not acted on by vrrpd yet: accepted and ignored",
        ]
    );
    assert!(
        diagnostics
            .iter()
            .filter(|d| d.message.contains("by vrrpd"))
            .all(|d| d.impact == vrrpd::config::Impact::None),
        "notes keep keepalived's -t class"
    );
    let names: Vec<&str> = uses.iter().map(|u| u.name).collect();
    // lvs_id belongs to another subsystem: recorded, without a note.
    assert_eq!(
        names,
        [
            "reload_repeat",
            "notification_email",
            "lvs_id",
            "native_ipv6"
        ]
    );
    assert!(vrrpd::config::usage::start_refusals(&uses).is_empty());
}

/// `auth_type AH` and `net_namespace` are noted at `-t` (keepalived's class is kept) and
/// refuse the start.
#[test]
fn unsafe_unimplemented_keywords_refuse_the_start() {
    let text = "net_namespace blue\nvrrp_instance A {\n    interface eth0\n    virtual_router_id 1\n    authentication {\n        auth_type AH\n        auth_pass secret\n    }\n    virtual_ipaddress {\n        192.0.2.1\n    }\n}\n";
    let (diagnostics, uses) = diagnostics_of(text);
    let refusals = vrrpd::config::usage::start_refusals(&uses);
    let lines: Vec<u32> = refusals.iter().map(|d| d.line()).collect();
    assert_eq!(lines, [1, 6], "{refusals:#?}");
    assert!(refusals
        .iter()
        .all(|d| d.message.contains("will not start")));
    assert!(
        refusals[1].message.contains("auth_type AH"),
        "{}",
        refusals[1]
    );
    assert!(
        diagnostics
            .iter()
            .all(|d| d.impact == vrrpd::config::Impact::None),
        "keepalived -t accepts both: {diagnostics:#?}"
    );
}

/// The aliases keepalived accepts give the same model as the keywords they stand for.
#[test]
fn aliases_read_like_the_keywords_they_stand_for() {
    let model = |text: &str| {
        load_str("k.conf", Path::new("."), text, &LoadOptions::default())
            .unwrap_or_else(|e| panic!("{e:#?}"))
            .config
    };
    let instance = |line: &str| {
        format!(
            "vrrp_instance A {{\n interface eth0\n virtual_router_id 1\n nopreempt\n {line}\n virtual_ipaddress {{\n  192.0.2.1 LINE\n }}\n}}\n"
        )
    };
    for (alias, keyword) in [
        (
            "vrrp_track_file F {\n file /run/f\n weight 2\n}\n",
            "track_file F {\n file /run/f\n weight 2\n}\n",
        ),
        (
            "global_defs {\n vrrp_vmac_garp_intvl all 30\n}\n",
            "global_defs {\n vrrp_garp_extra_if all 30\n}\n",
        ),
    ] {
        assert_eq!(model(alias), model(keyword), "{alias}");
    }
    for (alias, keyword) in [
        ("vmac_garp_intvl 10", "garp_extra_if 10"),
        ("thread_timer_expired 50", "timer_expired_backup 50"),
    ] {
        let a = model(&instance(alias).replace(" LINE", ""));
        let k = model(&instance(keyword).replace(" LINE", ""));
        assert_eq!(without_origins(a), without_origins(k), "{alias}");
    }
    let a = model(&instance("").replace("LINE", "broadcast 192.0.2.255"));
    let k = model(&instance("").replace("LINE", "brd 192.0.2.255"));
    assert_eq!(a, k, "broadcast");
}

fn without_origins(mut config: vrrpd::config::Config) -> vrrpd::config::Config {
    for i in &mut config.vrrp_instances {
        i.origin = Default::default();
    }
    config
}
