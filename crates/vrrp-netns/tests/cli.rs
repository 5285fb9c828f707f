//! The `vrrp-netns` binary.

use std::process::Command;

use vrrp_netns::require_root;

#[test]
fn cleanup_subcommand_removes_dead_leftovers() {
    require_root();
    let out = Command::new("sh")
        .args(["-c", "n=vn$$_cli-left; ip netns add $n && echo $n"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    let name = String::from_utf8(out.stdout).unwrap().trim().to_string();
    let out = Command::new(env!("CARGO_BIN_EXE_vrrp-netns"))
        .arg("cleanup")
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    let text = String::from_utf8_lossy(&out.stdout);
    let list = Command::new("ip").args(["netns", "list"]).output().unwrap();
    let still = String::from_utf8_lossy(&list.stdout)
        .lines()
        .any(|l| l.split_whitespace().next() == Some(name.as_str()));
    assert!(!still, "{name} survived cleanup: {text}");
    // Normally this very run removed it (unless a concurrent cleanup was faster).
    assert!(
        text.contains("removed") || text.contains("nothing"),
        "{text}"
    );
}
