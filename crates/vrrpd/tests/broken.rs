//! Broken configurations (`tests/data/broken/*.conf`), each with the exact diagnostics expected
//! in the `.expected` file next to it: first line `exit N` (the `keepalived -t` class, checked
//! against keepalived 2.2.7 when the corpus was written), then one line per diagnostic,
//! `error|warning FILE:LINE:COLUMN: MESSAGE`, in order. Set `UPDATE_EXPECTED=1` to rewrite them.

use std::path::{Path, PathBuf};

use vrrpd::config::{load, Diagnostic, LoadOptions, Severity};

fn corpus() -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/broken");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("broken corpus directory")
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "conf"))
        .collect();
    files.sort();
    files
}

fn render(path: &Path, class: i32, diagnostics: &[Diagnostic]) -> String {
    let dir = format!(
        "{}/",
        path.parent()
            .map(|d| d.display().to_string())
            .unwrap_or_default()
    );
    let mut out = format!("exit {class}\n");
    for d in diagnostics {
        let severity = if d.severity == Severity::Error {
            "error"
        } else {
            "warning"
        };
        out.push_str(&format!(
            "{severity} {}\n",
            d.to_string().replacen(&dir, "", 1)
        ));
    }
    out
}

#[test]
fn broken_configs_report_expected_diagnostics() {
    let files = corpus();
    assert!(files.len() >= 10, "broken corpus is missing");
    let mut failures = Vec::new();
    for path in files {
        let (class, diagnostics) = match load(&path, &LoadOptions::default()) {
            Ok(loaded) => (loaded.exit_class().code(), loaded.warnings),
            Err(errors) => (errors.exit_class().code(), errors.diagnostics),
        };
        let actual = render(&path, class, &diagnostics);
        let expected_path = path.with_extension("expected");
        if std::env::var_os("UPDATE_EXPECTED").is_some() {
            std::fs::write(&expected_path, &actual).expect("write .expected");
            continue;
        }
        let expected = std::fs::read_to_string(&expected_path).unwrap_or_default();
        if expected != actual {
            failures.push(format!(
                "{}:\n--- expected\n{expected}--- actual\n{actual}",
                path.display()
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn every_broken_config_is_reported() {
    for path in corpus() {
        let class = match load(&path, &LoadOptions::default()) {
            Ok(loaded) => loaded.exit_class().code(),
            Err(errors) => errors.exit_class().code(),
        };
        assert_ne!(
            class,
            0,
            "{} was accepted without complaint",
            path.display()
        );
    }
}

#[test]
fn unreadable_main_file_is_fatal() {
    let err = load(
        Path::new("/nonexistent/keepalived.conf"),
        &LoadOptions::default(),
    )
    .expect_err("missing file");
    assert_eq!(err.exit_class().code(), 4);
    assert!(
        err.to_string().contains("cannot read configuration file"),
        "{err}"
    );
}
