//! docs/migrating-from-keepalived.md lists every difference the differential corpus shows,
//! with its reason: the table between its markers is generated from
//! conformance/differential/expected.yaml (`UPDATE_DOCS=1` rewrites it).

use std::path::Path;

use vrrp_netns::differential::expected::Expected;

const BEGIN: &str =
    "<!-- BEGIN differences (generated from conformance/differential/expected.yaml) -->\n";
const END: &str = "<!-- END differences -->";

#[test]
fn the_migration_guide_lists_every_known_difference_with_its_reason() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let expected = Expected::load(&root.join("conformance/differential/expected.yaml")).unwrap();
    let doc_path = root.join("docs/migrating-from-keepalived.md");
    let doc = std::fs::read_to_string(&doc_path).unwrap();
    let (head, rest) = doc.split_once(BEGIN).expect("the BEGIN marker");
    let (_, tail) = rest.split_once(END).expect("the END marker");
    let want = format!("{head}{BEGIN}{}{END}{tail}", expected.reasons_table());
    if std::env::var_os("UPDATE_DOCS").is_some() {
        std::fs::write(&doc_path, &want).unwrap();
        return;
    }
    assert!(
        doc == want,
        "docs/migrating-from-keepalived.md is not current: run UPDATE_DOCS=1 cargo test -p vrrp-netns --test differences_doc"
    );
}
