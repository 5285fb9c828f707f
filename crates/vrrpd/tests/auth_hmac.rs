//! The `auth_hmac` block (keepalived 2.4.3): its grammar, bounds and diagnostics, key files and
//! `${_ENV ...}`, the parsed keyring in the model, the refusal of a YAML model (it holds no
//! secrets), and a key rotation by reload between two daemons with no transition. The wire
//! against keepalived 2.4.3 is in `auth_hmac_interop.rs`.
//!
//! The `-t` classes asserted here (5 for a bad key, 6 for a key file that group or others can
//! access) are those of `keepalived -t` 2.4.3 on the same blocks (checked when the tests were
//! written; keepalived 2.4.3 is not installed by the CI).

mod support;

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::Duration;

use vrrp_core::auth_hmac::{AntiReplay, Key, Mode};
use vrrpd::config::model::{AuthHmac, AuthHmacKey, Config, KeySource};
use vrrpd::config::{load_str, Diagnostic, LoadOptions, Severity};

const HEX_KEY: &str = "hex:000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";
const YAML_HOLDS_NO_KEYS: &str = "auth_hmac keys are not carried by a YAML model";

/// A configuration whose instance holds `block` as its `auth_hmac` body (the block starts on
/// line 7, its first line is line 8) and `extra` as further instance lines (line 6).
fn conf(extra: &str, block: &str) -> String {
    format!(
        "vrrp_instance VI_1 {{
    state BACKUP
    interface eth0
    virtual_router_id 51
    priority 100
    {extra}
    auth_hmac {{
{block}
    }}
    virtual_ipaddress {{
        192.0.2.100/32
    }}
}}
"
    )
}

/// Every diagnostic of loading `text`, and whether it loaded, and the (partial) model.
fn load(text: &str) -> (Vec<Diagnostic>, Config) {
    match load_str("k.conf", Path::new("."), text, &LoadOptions::default()) {
        Ok(loaded) => (loaded.warnings, loaded.config),
        Err(errors) => (errors.diagnostics, *errors.partial),
    }
}

/// The diagnostics as `error|warning LINE: MESSAGE`.
fn rendered(diagnostics: &[Diagnostic]) -> Vec<String> {
    diagnostics
        .iter()
        .map(|d| {
            let severity = if d.severity == Severity::Error {
                "error"
            } else {
                "warning"
            };
            format!("{severity} {}: {}", d.line(), d.message)
        })
        .collect()
}

fn vrrpd(args: &[&str], env: &[(&str, &Path)]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_vrrpd"));
    cmd.args(args);
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.output().expect("run vrrpd")
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn write(dir: &Path, name: &str, contents: &[u8], mode: u32) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, contents).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode)).unwrap();
    path
}

// ---------------------------------------------------------------------------------------------
// `vrrpd -t`
// ---------------------------------------------------------------------------------------------

#[test]
fn short_key_fails_config_test_with_file_line_and_keepalived_class_5() {
    let dir = support::tempdir();
    let path = write(
        dir.path(),
        "k.conf",
        conf("", "        key 1 hex:0001020304\n        active_key 1").as_bytes(),
        0o600,
    );
    let o = vrrpd(&["-t", "-f", path.to_str().unwrap()], &[]);
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(5), "{err}");
    let f = path.display();
    assert!(
        err.contains(&format!(
            "{f}:8:15: auth_hmac key 1 is 5 bytes long, expected 32..64 bytes"
        )),
        "{err}"
    );
    assert!(
        err.contains(&format!(
            "{f}:7:5: (VI_1) auth_hmac active_key 1 is not a defined key"
        )),
        "{err}"
    );
}

#[test]
fn valid_block_passes_config_test() {
    let dir = support::tempdir();
    let block = format!("        key 1 {HEX_KEY}\n        active_key 1");
    let path = write(dir.path(), "k.conf", conf("", &block).as_bytes(), 0o600);
    let o = vrrpd(&["-t", "-f", path.to_str().unwrap()], &[]);
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(0), "{err}");
    assert_eq!(err.trim(), "");
    // The same configuration without the block passes.
    let plain = write(
        dir.path(),
        "plain.conf",
        conf("", "").replace("auth_hmac {\n\n    }", "").as_bytes(),
        0o600,
    );
    let o = vrrpd(&["-t", "-f", plain.to_str().unwrap()], &[]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
}

#[test]
fn key_file_in_the_credentials_directory_is_found_through_env_expansion() {
    let dir = support::tempdir();
    let creds = dir.path().join("creds");
    std::fs::create_dir(&creds).unwrap();
    write(&creds, "vrrp51", format!("{HEX_KEY}\n").as_bytes(), 0o400);
    let block = "        key 1 file:${_ENV CREDENTIALS_DIRECTORY}/vrrp51\n        active_key 1";
    let path = write(dir.path(), "k.conf", conf("", block).as_bytes(), 0o600);
    let o = vrrpd(
        &["-t", "-f", path.to_str().unwrap()],
        &[("CREDENTIALS_DIRECTORY", &creds)],
    );
    let err = stderr(&o);
    // Nothing to say: the key was read and is valid.
    assert_eq!(err.lines().count(), 0, "{err}");
    assert!(o.status.success(), "{err}");
    // Without the variable the path is /vrrp51, which does not exist.
    let o = vrrpd(&["-t", "-f", path.to_str().unwrap()], &[]);
    assert!(
        stderr(&o).contains("auth_hmac key 1 file /vrrp51 cannot be read"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn key_file_accessible_by_group_or_others_is_a_security_warning_class_6() {
    let dir = support::tempdir();
    let key = write(dir.path(), "key", HEX_KEY.as_bytes(), 0o640);
    let block = format!("        key 1 file:{}\n        active_key 1", key.display());
    let path = write(dir.path(), "k.conf", conf("", &block).as_bytes(), 0o600);
    let o = vrrpd(&["-t", "-f", path.to_str().unwrap()], &[]);
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(6), "{err}");
    assert!(
        err.contains(&format!(
            "{}:8:15: auth_hmac key 1 file {} is accessible by group or others (mode 0640), expected mode 0600 or stricter",
            path.display(),
            key.display()
        )),
        "{err}"
    );
}

// ---------------------------------------------------------------------------------------------
// Grammar
// ---------------------------------------------------------------------------------------------

#[test]
fn grammar_table_reports_each_mistake_at_its_line() {
    let k = |id: u32| format!("        key {id} {HEX_KEY}");
    let rows: Vec<(String, Vec<&str>)> = vec![
        (
            "        key 1 hex:0001020304\n        active_key 1".into(),
            vec![
                "error 8: auth_hmac key 1 is 5 bytes long, expected 32..64 bytes",
                "error 7: (VI_1) auth_hmac active_key 1 is not a defined key, expected the id of a valid key line (the block has none)",
            ],
        ),
        (
            format!("        key 1 \"{}\"\n        active_key 1", "x".repeat(65)),
            vec![
                "error 8: auth_hmac key 1 is 65 bytes long, expected 32..64 bytes",
                "error 7: (VI_1) auth_hmac active_key 1 is not a defined key, expected the id of a valid key line (the block has none)",
            ],
        ),
        (
            format!("        key 0 {HEX_KEY}\n        key 256 {HEX_KEY}\n        key one {HEX_KEY}\n{}\n        active_key 1", k(1)),
            vec![
                "error 8: auth_hmac key id 0 is out of range, expected an integer 1..255",
                "error 9: auth_hmac key id 256 is out of range, expected an integer 1..255",
                "error 10: auth_hmac key id one is not an integer, expected an integer 1..255",
            ],
        ),
        (
            format!("        key 1\n{}\n        active_key 2", k(2)),
            vec!["error 8: auth_hmac key needs an id and a value, expected key ID VALUE with VALUE hex:HEX, an ASCII string or file:PATH"],
        ),
        (
            format!("        key 1 hex:00zz{}\n{}\n        active_key 2", "00".repeat(31), k(2)),
            vec!["error 8: auth_hmac key 1 is not valid hex, expected hex: followed by hex digit pairs"],
        ),
        (
            format!("{}\n{}\n        active_key 1", k(1), k(1)),
            vec!["error 9: duplicate auth_hmac key id 1, expected each key id once"],
        ),
        (
            format!("{}\n        active_key 0", k(1)),
            vec![
                "error 9: auth_hmac active_key 0 is out of range, expected an integer 1..255",
                "error 7: (VI_1) auth_hmac has no active_key, expected active_key ID with ID one of its key ids (1)",
            ],
        ),
        (
            format!("{}\n{}\n        active_key 3", k(1), k(2)),
            vec!["error 7: (VI_1) auth_hmac active_key 3 is not a defined key, expected one of its key ids (1, 2)"],
        ),
        (
            format!("{}\n        active_key 1\n        anti_replay sometimes\n        time_window 0\n        time_window 301\n        mode strict", k(1)),
            vec![
                "warning 10: auth_hmac anti_replay sometimes is unknown, expected time or monotonic; keeping time",
                "warning 11: auth_hmac time_window 0 is out of range, expected an integer 1..300",
                "warning 12: auth_hmac time_window 301 is out of range, expected an integer 1..300",
                "warning 13: auth_hmac mode strict is unknown, expected enforce, permissive or receive-only; keeping enforce",
            ],
        ),
        (
            format!("{}\n        active_key 1\n        unknown_thing 1", k(1)),
            vec!["warning 10: unknown keyword unknown_thing in auth_hmac, ignored"],
        ),
        (
            format!(
                "        key 1 \"{}\"\n        key 2 \"hex:{}\"\n        active_key 2\n        anti_replay monotonic\n        time_window 300\n        mode receive-only",
                "a passphrase of thirty-two bytes",
                "00 01 02 03 04 05 06 07 08 09 0a 0b 0c 0d 0e 0f 10 11 12 13 14 15 16 17 18 19 1a 1b 1c 1d 1e 1f"
            ),
            vec![],
        ),
    ];
    for (block, expected) in rows {
        let (diagnostics, _) = load(&conf("", &block));
        assert_eq!(rendered(&diagnostics), expected, "block:\n{block}");
    }
}

#[test]
fn key_files_are_read_like_keepalived() {
    let dir = support::tempdir();
    let d = dir.path();
    let ascii = "an ascii key file of 32 bytes ok";
    let files = [
        write(d, "hex_newline", format!("{HEX_KEY}\n").as_bytes(), 0o600),
        write(d, "ascii_crlf", format!("{ascii}\r\n").as_bytes(), 0o600),
        write(d, "too_large", &[b'a'; 140], 0o600),
        write(
            d,
            "just_fits",
            format!("{ascii}{}", "\n".repeat(107)).as_bytes(),
            0o600,
        ),
    ];
    let block = format!(
        "        key 1 file:{}\n        key 2 file:{}\n        key 3 file:{}\n        key 4 file:{}\n        key 5 file:{}/missing\n        active_key 1",
        files[0].display(),
        files[1].display(),
        files[2].display(),
        files[3].display(),
        d.display()
    );
    let (diagnostics, config) = load(&conf("", &block));
    assert_eq!(
        rendered(&diagnostics),
        [
            format!("error 10: auth_hmac key 3 file {} is too large, expected at most 139 bytes (hex: and 64 bytes in hex, or 64 ASCII characters)", files[2].display()),
            format!("error 12: auth_hmac key 5 file {}/missing cannot be read (No such file or directory (os error 2)), expected a file holding hex:HEX or an ASCII key", d.display()),
        ]
    );
    let block = config.vrrp_instances[0].auth_hmac.as_ref().unwrap();
    let keys: Vec<(u8, &KeySource)> = block.keys.iter().map(|k| (k.id, &k.source)).collect();
    assert_eq!(
        keys,
        [
            (1, &KeySource::File(files[0].display().to_string())),
            (2, &KeySource::File(files[1].display().to_string())),
            (4, &KeySource::File(files[3].display().to_string())),
        ]
    );
    let secret = |id| {
        block
            .keys
            .iter()
            .find(|k| k.id == id)
            .unwrap()
            .secret
            .clone()
    };
    assert_eq!(
        secret(1),
        Some(Key::new(1, &(0u8..32).collect::<Vec<_>>()).unwrap())
    );
    assert_eq!(secret(2), Some(Key::new(2, ascii.as_bytes()).unwrap()));
    assert_eq!(secret(4), Some(Key::new(4, ascii.as_bytes()).unwrap()));
}

#[test]
fn model_carries_the_keyring_and_resolved_settings() {
    let block = format!(
        "        key 1 {HEX_KEY}\n        key 2 \"a passphrase of thirty-two bytes\"\n        active_key 2\n        mode permissive"
    );
    let (_, config) = load(&conf("advert_int 2.5", &block));
    let ah = config.vrrp_instances[0].auth_hmac.as_ref().unwrap();
    assert_eq!(ah.active_key, Some(2));
    assert_eq!(ah.mode, Mode::Permissive);
    assert_eq!(ah.anti_replay, AntiReplay::Time);
    // 3 x the 2 whole seconds of advert_int 2.5 as written (VRRPv2 then rounds it to 3 s).
    assert_eq!(ah.time_window_secs, Some(6));
    let hmac = ah.hmac_config().expect("a complete keyring");
    assert_eq!(hmac.keyring.active_id(), 2);
    assert_eq!(hmac.keyring.ids().collect::<Vec<_>>(), [1, 2]);
    assert_eq!(hmac.time_window.secs(), 6);
    assert_eq!(
        hmac.keyring.get(2),
        Some(&Key::new(2, b"a passphrase of thirty-two bytes").unwrap())
    );
    // Neither Debug nor YAML shows a secret.
    let shown = format!("{config:?}");
    assert!(
        !shown.contains("passphrase") && !shown.contains("thirty"),
        "{shown}"
    );
    let yaml = vrrpd::yaml::to_yaml(&config).unwrap();
    assert!(
        !yaml.contains("passphrase") && !yaml.contains("0001020304"),
        "{yaml}"
    );
}

#[test]
fn default_window_is_three_advert_intervals_at_least_five_and_unset_in_monotonic_mode() {
    let block = |extra: &str| format!("        key 1 {HEX_KEY}\n        active_key 1\n{extra}");
    for (advert_int, extra, window) in [
        ("advert_int 1", "", Some(5)),
        ("advert_int 0.5", "", Some(5)),
        ("advert_int 4", "", Some(12)),
        ("advert_int 255", "", Some(300)),
        ("advert_int 4", "        time_window 2", Some(2)),
        ("advert_int 4", "        anti_replay monotonic", None),
    ] {
        let (_, config) = load(&conf(advert_int, &block(extra)));
        let ah = config.vrrp_instances[0].auth_hmac.as_ref().unwrap();
        assert_eq!(ah.time_window_secs, window, "{advert_int} {extra}");
    }
}

#[test]
fn auth_hmac_with_legacy_authentication_is_an_error() {
    let extra =
        "version 2\n    authentication {\n        auth_type PASS\n        auth_pass secret\n    }";
    let (diagnostics, _) = load(&conf(
        extra,
        &format!("        key 1 {HEX_KEY}\n        active_key 1"),
    ));
    assert_eq!(
        rendered(&diagnostics),
        ["error 11: (VI_1) auth_hmac cannot be combined with authentication, expected one of the two"]
    );
}

#[test]
fn strict_mode_forces_mode_enforce_with_a_warning() {
    let (diagnostics, config) = load(&conf(
        "strict_mode",
        &format!("        key 1 {HEX_KEY}\n        active_key 1\n        mode receive-only"),
    ));
    assert_eq!(
        rendered(&diagnostics),
        ["warning 7: (VI_1) strict mode requires auth_hmac mode enforce, using enforce instead of receive-only"]
    );
    assert_eq!(
        config.vrrp_instances[0].auth_hmac.as_ref().unwrap().mode,
        Mode::Enforce
    );
}

#[test]
fn a_second_block_adds_to_the_first_like_keepalived() {
    let text = conf(
        "auth_hmac {\n        key 2 \"a passphrase of thirty-two bytes\"\n    }",
        &format!("        key 1 {HEX_KEY}\n        active_key 2"),
    );
    let (diagnostics, config) = load(&text);
    assert_eq!(rendered(&diagnostics), Vec::<String>::new());
    let ids: Vec<u8> = config.vrrp_instances[0]
        .auth_hmac
        .as_ref()
        .unwrap()
        .keys
        .iter()
        .map(|k| k.id)
        .collect();
    assert_eq!(ids, [2, 1]);
}

// ---------------------------------------------------------------------------------------------
// YAML, start, reload
// ---------------------------------------------------------------------------------------------

#[test]
fn yaml_model_with_auth_hmac_holds_no_secret_and_is_refused() {
    let dir = support::tempdir();
    let (diagnostics, mut config) = load(&conf("", "").replace("auth_hmac {\n\n    }", ""));
    assert!(diagnostics.is_empty(), "{diagnostics:?}");
    config.vrrp_instances[0].auth_hmac = Some(AuthHmac {
        keys: vec![AuthHmacKey {
            id: 1,
            source: KeySource::Ascii,
            secret: Some(Key::new(1, b"a passphrase of thirty-two bytes").unwrap()),
        }],
        active_key: Some(1),
        time_window_secs: Some(5),
        ..AuthHmac::default()
    });
    let yaml = vrrpd::yaml::to_yaml(&config).unwrap();
    assert!(!yaml.contains("passphrase"), "{yaml}");
    let back = vrrpd::yaml::from_yaml_str("k.yaml", &yaml).unwrap();
    let ah = back.vrrp_instances[0].auth_hmac.as_ref().unwrap();
    assert_eq!((ah.keys[0].id, &ah.keys[0].source), (1, &KeySource::Ascii));
    assert_eq!(ah.keys[0].secret, None);
    assert!(ah.hmac_config().is_none(), "no keyring without secrets");

    let path = write(dir.path(), "k.yaml", yaml.as_bytes(), 0o600);
    let o = vrrpd(&["-t", "-f", path.to_str().unwrap()], &[]);
    assert_eq!(o.status.code(), Some(5), "{}", stderr(&o));
    assert!(
        stderr(&o).contains(&format!("(VI_1) {YAML_HOLDS_NO_KEYS}")),
        "{}",
        stderr(&o)
    );
}

/// Make before break over three reloads (keepalived's article): the Backup learns key 2, the
/// Active signs with it, both drop key 1. The Backup verifies every advert (it never takes
/// over) and neither changes state.
#[test]
fn a_reload_rotates_keys_without_a_transition() {
    let lab = support::lab(false);
    let tmp = support::tempdir();
    let (r1, r2) = (lab.host("r1"), lab.host("r2"));
    let key2 = "\"a second key of thirty-two bytes\"";
    let instance = |host: &vrrp_netns::Host, peer: &vrrp_netns::Host, priority: u8, keys: &str| {
        support::unicast_instance(
            host,
            peer,
            priority,
            &format!("    auth_hmac {{\n{keys}\n    }}"),
        )
    };
    let key1_only = format!("        key 1 {HEX_KEY}\n        active_key 1");
    let both_1 = format!("        key 1 {HEX_KEY}\n        key 2 {key2}\n        active_key 1");
    let both_2 = format!("        key 1 {HEX_KEY}\n        key 2 {key2}\n        active_key 2");
    let key2_only = format!("        key 2 {key2}\n        active_key 2");

    let mut active = support::Daemon::start(r1, tmp.path(), &instance(r1, r2, 150, &key1_only));
    active.expect(&["(VI_1) Entering MASTER STATE"], Duration::from_secs(10));
    let mut backup = support::Daemon::start(r2, tmp.path(), &instance(r2, r1, 100, &key1_only));
    backup.expect(&["(VI_1) Entering BACKUP STATE"], Duration::from_secs(10));
    let (active_from, backup_from) = (active.seen.len(), backup.seen.len());

    let steps = [
        (true, instance(r2, r1, 100, &both_1)),
        (false, instance(r1, r2, 150, &both_2)),
        (true, instance(r2, r1, 100, &key2_only)),
        (false, instance(r1, r2, 150, &key2_only)),
    ];
    for (on_backup, conf) in steps {
        let daemon = if on_backup { &mut backup } else { &mut active };
        let lines = daemon.reload(&conf, Duration::from_secs(10)).join("\n");
        assert!(lines.contains("Reload finished"), "{lines}");
        // Two seconds of adverts (10), well past the Backup's down interval (about 0.8 s):
        // a Backup that rejected them would take over meanwhile.
        let until = std::time::Instant::now() + Duration::from_secs(2);
        while let Some(left) = until.checked_duration_since(std::time::Instant::now()) {
            if let Ok(line) = daemon.lines.recv_timeout(left) {
                daemon.seen.push(support::strip_ansi(&line));
            }
        }
    }
    active.drain();
    backup.drain();
    for (who, daemon, from) in [
        ("active", &active, active_from),
        ("backup", &backup, backup_from),
    ] {
        let since = &daemon.seen[from..];
        let bad: Vec<&String> = since
            .iter()
            .filter(|l| l.contains("Entering") || l.contains("authentication"))
            .collect();
        assert!(bad.is_empty(), "{who}: {bad:?}");
    }
}
