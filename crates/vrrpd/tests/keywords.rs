//! The keyword tables: every keyword the parser dispatches is in the documentation table, and
//! the parser accepts every keyword in the table.

use std::path::Path;

use vrrpd::config::keywords::{all_keywords, render_markdown};
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
