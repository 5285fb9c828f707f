//! `docs/configuration-reference.md` must be what the keyword tables render.
//! Regenerate with `UPDATE_DOCS=1 cargo test -p vrrpd --test docs`.

use std::path::Path;

const INTRO: &str = "<!-- Generated from crates/vrrpd/src/config/keywords.rs by \
`UPDATE_DOCS=1 cargo test -p vrrpd --test docs`; do not edit by hand. -->

This is every keyword vrrpd reads from a keepalived.conf, block by block, with its arguments,
how far vrrpd supports it and what it does. Times are seconds unless stated; the syntax is
keepalived's (2.2.7). A configuration can also be written as YAML: `vrrpd --convert -f FILE`
prints the model a keepalived.conf resolves to, and `vrrpd -f FILE.yaml` reads it back.

";

fn rendered() -> String {
    let body = vrrpd::config::keywords::render_markdown();
    // Keep the generated title first, then the intro.
    match body.split_once('\n') {
        Some((title, rest)) => format!("{title}\n\n{INTRO}{}", rest.trim_start_matches('\n')),
        None => format!("{INTRO}{body}"),
    }
}

#[test]
fn configuration_reference_is_up_to_date() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/configuration-reference.md");
    let expected = rendered();
    if std::env::var_os("UPDATE_DOCS").is_some() {
        std::fs::write(&path, &expected).expect("write docs/configuration-reference.md");
        return;
    }
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        committed == expected,
        "docs/configuration-reference.md differs from what the keyword tables render; \
         regenerate it with `UPDATE_DOCS=1 cargo test -p vrrpd --test docs`"
    );
}
