//! `docs/configuration-reference.md` must be what the keyword tables render.
//! Regenerate with `UPDATE_DOCS=1 cargo test -p vrrpd --test docs`.

use std::path::Path;

const INTRO: &str = "<!-- Generated from crates/vrrpd/src/config/keywords.rs by \
`UPDATE_DOCS=1 cargo test -p vrrpd --test docs`; do not edit by hand. -->

This is every keyword vrrpd reads from a keepalived.conf, block by block, with its arguments,
what vrrpd does with it and what it does. Times are seconds unless stated; the syntax is
keepalived's (2.2.7). The status column:

- **acted on**: vrrpd implements it; the keyword table names the tests that show its effect.
- **accepted, not acted on yet**: read and checked like keepalived, but without effect; `-t`
  and the start say so at its line (keepalived's `-t` exit class is kept).
- **not implemented**: deliberately, for the reason given; noted at `-t` and at start, and
  where ignoring it would be unsafe vrrpd refuses to start with it.
- **checked, then refused**: a security setting vrrpd does not act on yet; the configuration
  is refused.
- **skipped**: belongs to another keepalived subsystem (LVS checkers, BFD).

A configuration can also be written as YAML: `vrrpd --convert -f FILE` prints the model a
keepalived.conf resolves to, and `vrrpd -f FILE.yaml` reads it back (a YAML configuration gets
no notes about keywords).

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
