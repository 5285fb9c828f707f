//! The `vrrpd` binary: keepalived's flags, `-t` exit codes compared with `keepalived -t` on the
//! same files, `--signum` compared with `keepalived --signum`, `--convert` and `-d`.
//!
//! The comparisons need Debian's keepalived (2.2.7) installed; without it they fail and say
//! what to install (`cargo xtask setup` installs it).

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

fn vrrpd(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_vrrpd"))
        .args(args)
        .output()
        .expect("run vrrpd")
}

/// Runs Debian's keepalived; fails the test, naming the package, when it is not installed.
fn keepalived(args: &[&str]) -> Output {
    Command::new(vrrp_netns::keepalived::KEEPALIVED_BIN)
        .args(args)
        .output()
        .unwrap_or_else(|e| {
            panic!(
                "this test compares with Debian's keepalived: {} cannot be run ({e}); \
                 install it with `apt-get install -y keepalived` (or `cargo xtask setup`)",
                vrrp_netns::keepalived::KEEPALIVED_BIN
            )
        })
}

fn data(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data")
        .join(name)
}

fn code(o: &Output) -> i32 {
    o.status.code().unwrap_or(-1)
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

#[test]
fn signum_matches_keepalived() {
    for name in ["STOP", "RELOAD", "DATA", "STATS", "STATS_CLEAR", "JSON"] {
        let flag = format!("--signum={name}");
        let ours = vrrpd(&[&flag]);
        assert_eq!(code(&ours), 0, "{name}");
        let ours = String::from_utf8_lossy(&ours.stdout).trim().to_string();
        let theirs = keepalived(&[&flag]);
        assert_eq!(code(&theirs), 0);
        assert_eq!(
            ours,
            String::from_utf8_lossy(&theirs.stdout).trim(),
            "{name}"
        );
    }
    assert_eq!(vrrpd(&["--signum=JSON"]).stdout, b"36\n");
    // keepalived: "Unknown sigfunc FOO", exit 1.
    assert_eq!(code(&vrrpd(&["--signum=FOO"])), 1);
}

#[test]
fn version_help_and_unknown_flags() {
    let v = vrrpd(&["-v"]);
    assert_eq!(code(&v), 0);
    assert!(stderr(&v).starts_with("vrrpd v"), "{}", stderr(&v));
    let h = vrrpd(&["--help"]);
    assert_eq!(code(&h), 0);
    assert!(String::from_utf8_lossy(&h.stdout).contains("--use-file"));
    for bad in [&["--foo"][..], &["-Z"], &["-S", "local9"]] {
        let o = vrrpd(bad);
        assert_eq!(code(&o), 1, "{bad:?}: keepalived exits 1 on a bad option");
        assert!(stderr(&o).contains("error"), "{bad:?}: {}", stderr(&o));
    }
}

/// Writes a configuration into a temporary directory.
fn temp_conf(dir: &Path, name: &str, text: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path
}

/// `-t` classes on the same files as `keepalived -t`.
/// A non-loopback interface of this host (keepalived refuses `lo`; our parser does not yet:
/// see the `lo` comparison below).
fn host_interface() -> Option<String> {
    std::fs::read_dir("/sys/class/net")
        .ok()?
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n != "lo")
        .min()
}

#[test]
fn config_test_exit_codes_match_keepalived() {
    let ifname = host_interface().expect(
        "this test needs a non-loopback interface on the host (keepalived -t refuses `lo`)",
    );
    let dir = tempfile::tempdir().unwrap();
    let lo_ok = temp_conf(
        dir.path(),
        "ok.conf",
        &"vrrp_instance A {\n interface IF\n virtual_router_id 1\n virtual_ipaddress {\n  192.0.2.1\n }\n}\n"
            .replace("IF", &ifname),
    );
    let bad_if = temp_conf(
        dir.path(),
        "bad_if.conf",
        "vrrp_instance A {\n interface nosuchif0\n virtual_router_id 1\n virtual_ipaddress {\n  192.0.2.1\n }\n}\n",
    );
    let bad_value = temp_conf(
        dir.path(),
        "bad_value.conf",
        &"vrrp_instance A {\n interface IF\n virtual_router_id 1\n priority 300\n virtual_ipaddress {\n  192.0.2.1\n }\n}\n"
            .replace("IF", &ifname),
    );
    let mut files = vec![lo_ok, bad_if, bad_value];
    for broken in [
        "script_security",
        "vrid_missing",
        "bad_values",
        "no_vip_v3_and_duplicate_vrid",
    ] {
        files.push(data(&format!("broken/{broken}.conf")));
    }
    let mut compared = 0;
    for file in &files {
        let f = file.to_str().unwrap();
        let ours = vrrpd(&["-t", "-f", f]);
        let theirs = keepalived(&["-t", "-f", f]);
        assert_eq!(
            code(&ours),
            code(&theirs),
            "{f}: vrrpd -t vs keepalived -t\nvrrpd: {}\nkeepalived: {}",
            stderr(&ours),
            stderr(&theirs)
        );
        compared += 1;
    }
    assert_eq!(compared, files.len());
}

#[test]
fn config_test_prints_positions_and_writes_the_log_file() {
    let dir = tempfile::tempdir().unwrap();
    let conf = temp_conf(
        dir.path(),
        "k.conf",
        "vrrp_instance A {\n interface lo\n virtual_router_id 1\n priority 300\n virtual_ipaddress {\n  192.0.2.1\n }\n}\n",
    );
    let f = conf.to_str().unwrap();
    let o = vrrpd(&["-t", "-f", f]);
    assert_eq!(code(&o), 5);
    let err = stderr(&o);
    assert!(err.contains(&format!("{f}:4:")), "{err}");
    let log = dir.path().join("t.log");
    let o = vrrpd(&[&format!("--config-test={}", log.display()), "-f", f]);
    assert_eq!(code(&o), 5);
    assert!(std::fs::read_to_string(&log)
        .unwrap()
        .contains(&format!("{f}:4:")));
    // Unreadable main file: fatal class 4 (keepalived 2.2.7 prints "Config files missing" and
    // exits 0 here; we keep the documented class).
    let o = vrrpd(&["-t", "-f", "/nonexistent/k.conf"]);
    assert_eq!(code(&o), 4);
}

#[test]
fn convert_prints_yaml_that_loads_back() {
    let conf = data("openshift-master.conf");
    let o = vrrpd(&["--convert", "-f", conf.to_str().unwrap()]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let yaml = String::from_utf8(o.stdout).unwrap();
    assert!(yaml.contains("ocp_API_0"));
    let dir = tempfile::tempdir().unwrap();
    let yaml_path = temp_conf(dir.path(), "k.yaml", &yaml);
    // A YAML configuration tests clean and converts to the same text.
    let o = vrrpd(&["-t", "-f", yaml_path.to_str().unwrap()]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let again = vrrpd(&["--convert", "-f", yaml_path.to_str().unwrap()]);
    assert_eq!(String::from_utf8(again.stdout).unwrap(), yaml);
    // --config-format overrides the extension.
    let as_conf = temp_conf(dir.path(), "k.conf", &yaml);
    let o = vrrpd(&[
        "--convert",
        "--config-format=yaml",
        "-f",
        as_conf.to_str().unwrap(),
    ]);
    assert_eq!(String::from_utf8(o.stdout).unwrap(), yaml);
    // Bad YAML: fatal class.
    let bad = temp_conf(dir.path(), "bad.yaml", "vrrp_instances: [ {name: 3");
    let o = vrrpd(&["-t", "-f", bad.to_str().unwrap()]);
    assert_eq!(code(&o), 4, "{}", stderr(&o));
}

/// Paths that stop before the daemon starts (these tests never start the daemon).
#[test]
fn dump_check_flag_and_refusals_before_the_daemon() {
    let conf = data("openshift-master.conf");
    let f = conf.to_str().unwrap();
    // -d with -t dumps the resolved model as YAML and exits with the -t class.
    let o = vrrpd(&["-t", "-d", "-C", "-f", f]);
    assert!(
        String::from_utf8_lossy(&o.stdout).contains("ocp_INGRESS_0"),
        "-d dumps the config"
    );
    // -C is accepted with a warning.
    assert!(stderr(&o).contains("-C/--check ignored"), "{}", stderr(&o));
    // A configuration with errors does not start: keepalived's config exit code 2.
    let o = vrrpd(&["-f", data("broken/vrid_missing.conf").to_str().unwrap()]);
    assert_eq!(code(&o), 2);
    assert!(stderr(&o).contains("virtual_router_id is not set"));
    // -e: configuration errors that keepalived would run with are fatal.
    let o = vrrpd(&["-e", "-f", data("broken/bad_values.conf").to_str().unwrap()]);
    assert_eq!(code(&o), 2, "{}", stderr(&o));
}

/// One instance on `ifname` with `extra` lines.
fn one_instance(ifname: &str, extra: &str) -> String {
    format!(
        "vrrp_instance A {{\n interface {ifname}\n virtual_router_id 1\n{extra}\n virtual_ipaddress {{\n  192.0.2.1\n }}\n}}\n"
    )
}

/// keepalived's checks and corrections at `-t`, each on a file of its own, compared with
/// `keepalived -t` on the same file: the same exit class, and vrrpd names the problem.
#[test]
fn config_test_corrections_match_keepalived() {
    let ifname = host_interface().expect(
        "this test needs a non-loopback interface on the host (keepalived -t refuses `lo`)",
    );
    let dir = tempfile::tempdir().unwrap();
    let peer = " unicast_peer {\n  192.0.2.11\n }";
    let two = "vrrp_instance A {\n interface IF\n virtual_router_id 1\n virtual_ipaddress {\n  192.0.2.1\n }\n}\n\
               vrrp_instance B {\n interface IF\n virtual_router_id 2\n virtual_ipaddress {\n  192.0.2.2\n }\n}\n"
        .replace("IF", &ifname);
    let group =
        |extra: &str| format!("{two}vrrp_sync_group G {{\n group {{\n  A\n  B\n }}\n{extra}\n}}\n");
    let on_if = |extra: &str| one_instance(&ifname, extra);
    // (file, text, keepalived's class, what vrrpd's message says)
    let cases: Vec<(&str, String, i32, &str)> = vec![
        ("vmac_unicast", on_if(&format!(" use_vmac\n unicast_src_ip 192.0.2.10\n{peer}")), 5, "unicast with use_vmac requires vmac_xmit_base"),
        ("vmac_unicast_xmit_base", on_if(&format!(" use_vmac\n vmac_xmit_base\n{peer}")), 0, ""),
        ("vmac_unicast_no_interface", "vrrp_instance A {\n virtual_router_id 1\n use_vmac\n unicast_src_ip 192.0.2.10\n unicast_peer {\n  192.0.2.11\n }\n virtual_ipaddress {\n  192.0.2.1\n }\n}\n".into(), 5, "with unicast needs an interface"),
        ("unicast_src_ip_without_peers", on_if(" unicast_src_ip 192.0.2.10"), 5, "without any unicast peer"),
        ("check_unicast_src_without_peers", on_if(" check_unicast_src"), 5, "without any unicast peer"),
        ("old_unicast_checksum_without_peers", on_if(" old_unicast_checksum"), 5, "without any unicast peer"),
        ("unicast_fault_no_peer", on_if(" unicast_fault_no_peer"), 0, ""),
        ("unicast_ttl_without_peers", on_if(" unicast_ttl 10"), 5, "unicast_ttl needs unicast peers"),
        ("vmac_xmit_base_without_vmac", on_if(" vmac_xmit_base"), 5, "vmac_xmit_base only applies with use_vmac"),
        ("mcast_dst_ip_with_unicast", on_if(&format!(" mcast_dst_ip 224.0.0.19\n{peer}")), 5, "mcast_dst_ip does not apply to a unicast instance"),
        ("nopreempt_owner", on_if(" priority 255\n nopreempt"), 5, "nopreempt does not work with priority 255"),
        ("auth_type_ah", on_if(" authentication {\n  auth_type AH\n  auth_pass secret\n }"), 0, "auth_type AH is not implemented by vrrpd"),
        ("auth_type_ah_without_password", on_if(" authentication {\n  auth_type AH\n }"), 5, "authentication AH without auth_pass"),
        ("track_bfd_undefined", on_if(" track_bfd {\n  b1\n }"), 5, "track_bfd b1 is not a defined bfd_instance"),
        ("track_bfd_defined", format!("bfd_instance b1 {{\n neighbor_ip 192.0.2.50\n}}\n{}", on_if(" track_bfd {\n  b1\n }")), 0, "track_bfd is not implemented by vrrpd"),
        ("group_track_bfd_undefined", group(" track_bfd {\n  nob\n }"), 5, "track_bfd nob is not a defined bfd_instance"),
        ("global_tracking", group(" global_tracking"), 5, "global_tracking is deprecated"),
        // Script security: the program of a quoted command is its first word after quoting.
        ("quoted_program", on_if(" notify_master \"'/bin/true' keepalived setstate master\""), 6, "SECURITY VIOLATION"),
        ("single_quoted_program", on_if(" notify_master '/bin/true'"), 6, "SECURITY VIOLATION"),
        ("quoted_missing_program", on_if(" notify_master \"'/nonexistent/k0s' keepalived setstate master\""), 0, ""),
    ];
    for (name, text, class, says) in &cases {
        let file = temp_conf(dir.path(), &format!("{name}.conf"), text);
        let f = file.to_str().unwrap();
        let ours = vrrpd(&["-t", "-f", f]);
        let theirs = keepalived(&["-t", "-f", f]);
        let context = format!(
            "{name}:\n{text}\nvrrpd: {}\nkeepalived: {}{}",
            stderr(&ours),
            stderr(&theirs),
            String::from_utf8_lossy(&theirs.stdout)
        );
        assert_eq!(
            code(&theirs),
            *class,
            "keepalived's class changed? {context}"
        );
        assert_eq!(code(&ours), code(&theirs), "{context}");
        assert!(stderr(&ours).contains(says), "{context}");
    }
}

/// vrrpd finds the interfaces of the namespace it runs in through netlink, also when it was
/// moved there with a bare `setns` (`/sys/class/net` still shows the host's interfaces): as
/// keepalived does, compared on the same files.
#[test]
fn config_test_sees_the_interfaces_of_its_own_namespace() {
    vrrp_netns::require_root();
    let ns = vrrp_netns::Netns::create("kwif").expect("network namespace");
    ns.ip(&[
        "link", "add", "kwif0", "type", "veth", "peer", "name", "kwif1",
    ])
    .expect("veth in the namespace");
    let host_only = host_interface().expect("a non-loopback interface on the host");
    let dir = tempfile::tempdir().unwrap();
    for (name, ifname, class) in [("own", "kwif0", 0), ("host_only", host_only.as_str(), 5)] {
        let file = temp_conf(
            dir.path(),
            &format!("{name}.conf"),
            &one_instance(ifname, ""),
        );
        let f = file.to_str().unwrap().to_string();
        let run = |program: &str| {
            let mut cmd = Command::new(program);
            cmd.args(["-t", "-f", &f])
                .stdout(Stdio::piped())
                .stderr(Stdio::piped());
            ns.spawn(cmd)
                .unwrap_or_else(|e| panic!("{program} in the namespace: {e}"))
                .wait_output(std::time::Duration::from_secs(10))
                .unwrap_or_else(|e| panic!("{program} -t: {e}"))
        };
        let ours = run(env!("CARGO_BIN_EXE_vrrpd"));
        let theirs = run(vrrp_netns::keepalived::KEEPALIVED_BIN);
        let context = format!(
            "{ifname}: vrrpd: {}\nkeepalived: {}",
            stderr(&ours),
            stderr(&theirs)
        );
        assert_eq!(code(&theirs), class, "{context}");
        assert_eq!(code(&ours), class, "{context}");
    }
}

/// Keywords vrrpd does not implement and must not ignore (`auth_type AH`, `net_namespace`)
/// pass `-t` with keepalived's class and a note, and stop the daemon at start (exit 2) with
/// the reason, before it touches the network.
#[test]
fn daemon_refuses_to_start_with_unsafe_unimplemented_keywords() {
    vrrp_netns::require_root();
    let ns = vrrp_netns::Netns::create("kwref").expect("network namespace");
    let dir = tempfile::tempdir().unwrap();
    for (name, text, keyword) in [
        (
            "ah",
            one_instance(
                "lo",
                " authentication {\n  auth_type AH\n  auth_pass secret\n }",
            ),
            "auth_type AH",
        ),
        (
            "netns",
            format!("net_namespace blue\n{}", one_instance("lo", "")),
            "net_namespace",
        ),
    ] {
        let conf = temp_conf(dir.path(), &format!("{name}.conf"), &text);
        let t = vrrpd(&["-t", "-f", conf.to_str().unwrap()]);
        assert_eq!(
            code(&t),
            0,
            "keepalived -t accepts {keyword}: {}",
            stderr(&t)
        );
        assert!(stderr(&t).contains(&format!("{keyword} is not implemented by vrrpd")));
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_vrrpd"));
        cmd.arg("-f")
            .arg(&conf)
            .args(["-n", "-l", "-P", "-p"])
            .arg(dir.path().join("k.pid"))
            .arg("-r")
            .arg(dir.path().join("v.pid"))
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let out = ns
            .spawn(cmd)
            .expect("spawn vrrpd")
            .wait_output(std::time::Duration::from_secs(10))
            .expect("vrrpd exits");
        let log = format!("{}{}", stderr(&out), String::from_utf8_lossy(&out.stdout));
        assert_eq!(code(&out), 2, "{keyword}: {log}");
        assert!(
            log.lines().any(|l| l.contains("ERROR")
                && l.contains(&format!("{keyword} is not implemented by vrrpd"))
                && l.contains("will not start")),
            "{keyword}: the refusal is logged as an error: {log}"
        );
    }
}

/// The binary under keepalived's name, as the vrrpd-keepalived package installs it
/// (`/usr/sbin/keepalived -> vrrpd`); the link lives in `dir`.
fn keepalived_link(dir: &Path) -> PathBuf {
    let link = dir.join("keepalived");
    std::os::unix::fs::symlink(env!("CARGO_BIN_EXE_vrrpd"), &link).unwrap();
    link
}

/// The version as mehdy/keepalived-exporter reads it from `keepalived -v`: standard error,
/// at least two lines, the first line's second word without its leading `v`.
fn exporter_version(stderr: &str) -> Option<String> {
    let (first, _rest) = stderr.split_once('\n')?;
    let word = first.split(' ').nth(1)?;
    Some(word.get(1..)?.to_string())
}

#[test]
fn under_keepalived_name_version_parses_as_keepalived() {
    let dir = tempfile::tempdir().unwrap();
    let link = keepalived_link(dir.path());
    let ours = Command::new(&link).arg("-v").output().unwrap();
    assert_eq!(code(&ours), 0);
    assert!(ours.stdout.is_empty(), "keepalived prints -v on stderr");
    let theirs = keepalived(&["-v"]);
    let (ours, theirs) = (stderr(&ours), stderr(&theirs));
    // Both first lines are `Keepalived vX.Y.Z (...)` with a version the exporters parse.
    assert!(ours.starts_with("Keepalived v2.2.7 (vrrpd "), "{ours}");
    assert!(theirs.starts_with("Keepalived v"), "{theirs}");
    let version = exporter_version(&ours).expect("a version the exporter parses");
    assert_eq!(version, "2.2.7");
    let parts: Vec<u32> = version.split('.').map(|p| p.parse().unwrap()).collect();
    assert!(
        parts >= vec![1, 4, 0],
        "exporters need >= 1.3.8 for --signum, 1.4.0 for scripts"
    );
    assert!(exporter_version(&theirs).is_some());
    // The exporter's JSON check: `keepalived --version` output contains `--enable-json`.
    let long = Command::new(&link).arg("--version").output().unwrap();
    assert!(stderr(&long).contains("--enable-json"));
    assert!(stderr(&keepalived(&["--version"])).contains("--enable-json"));
    // Under its own name the first line says vrrpd.
    assert!(stderr(&vrrpd(&["-v"])).starts_with("vrrpd v"));
}

/// Every option `keepalived --help` lists is accepted (with a warning where vrrpd does not do
/// what it does), never a usage error; `-T` (genhash, not a daemon) says why it cannot run.
#[test]
fn every_keepalived_option_is_accepted() {
    let help = stderr(&keepalived(&["--help"]));
    let conf = data("openshift-master.conf");
    let conf = conf.to_str().unwrap();
    let mut seen = 0;
    for line in help.lines().map(str::trim_start) {
        // `-f, --use-file=FILE   ...`, `    --all   ...`, `-t, --config-test[=LOG_FILE] ...`
        let Some(spec) = line.split("  ").next().filter(|s| s.starts_with('-')) else {
            continue;
        };
        let long = spec.split(", ").last().unwrap();
        let (name, arg) = match long.split_once('=') {
            Some((n, a)) => (n, Some(a)),
            None => (long.split(' ').next().unwrap(), None),
        };
        let mut args: Vec<String> = match arg {
            Some(a) if a.starts_with('[') => vec![name.to_string()],
            Some(_) if name == "--signum" => vec![format!("{name}=JSON")],
            Some(_) if name == "--log-facility" => vec![format!("{name}=local1")],
            Some(_) if name == "--umask" => vec![format!("{name}=022")],
            Some(_) => vec![format!("{name}=/tmp/x")],
            None if name == "--config-id" => vec![name.into(), "lb1".into()],
            None => vec![name.to_string()],
        };
        args.extend(["-t".into(), "-f".into(), conf.into()]);
        let o = vrrpd(&args.iter().map(String::as_str).collect::<Vec<_>>());
        let err = stderr(&o);
        if name == "--genhash" {
            assert_eq!(code(&o), 1);
            assert!(err.contains("genhash"), "{err}");
        } else {
            assert!(
                !err.contains("error: unexpected") && !err.contains("error: invalid"),
                "{name}: {err}"
            );
        }
        seen += 1;
    }
    assert!(seen >= 30, "keepalived --help lists {seen} options");
    // Positional arguments: keepalived reports them and starts anyway.
    let o = vrrpd(&["-t", "-f", conf, "stray"]);
    assert!(stderr(&o).contains("Unexpected argument(s): stray"));
}
