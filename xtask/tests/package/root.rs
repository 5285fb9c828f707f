//! A throw-away copy of this machine: an overlay whose lower layer is `/` and whose upper
//! layer is a tmpfs, so dpkg inside it (`chroot`) sees the real system and its package
//! database, and everything it writes lands in the tmpfs. The mounts live in this process's
//! private mount namespace ([`enter_private_mount_namespace`]) and vanish with it.

use std::fs;
use std::os::unix::fs::{FileTypeExt, MetadataExt};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use nix::mount::{mount, umount2, MntFlags, MsFlags};

/// Paths (relative to the root) whose changes are package-manager bookkeeping, not files a
/// package left behind: dpkg's database and logs, debconf's and man-db's caches.
const BOOKKEEPING: &[&str] = &[
    "var/lib/dpkg/",
    "var/log/",
    "var/cache/debconf/",
    "var/cache/man/",
    "var/cache/ldconfig/",
    "etc/ld.so.cache",
];

/// Moves this (still single-threaded) process into a mount namespace of its own with private
/// propagation: nothing mounted afterwards is seen by, or outlives, this process.
pub fn enter_private_mount_namespace() {
    nix::sched::unshare(nix::sched::CloneFlags::CLONE_NEWNS)
        .expect("unshare(CLONE_NEWNS): the package test needs root");
    mount(
        None::<&str>,
        "/",
        None::<&str>,
        MsFlags::MS_REC | MsFlags::MS_PRIVATE,
        None::<&str>,
    )
    .expect("make / private");
}

/// The overlay root and its layers.
pub struct ThrowawayRoot {
    /// Holds the mount points; removed on drop.
    dir: tempfile::TempDir,
    root: PathBuf,
    upper: PathBuf,
}

impl ThrowawayRoot {
    /// Mounts the overlay and binds `/proc`, `/dev` and `/sys` into it; `debs` (a directory)
    /// is bound read-only at `/mnt`. Service actions of maintainer scripts are refused with a
    /// `policy-rc.d`, as in any chroot.
    pub fn new(debs: &Path) -> ThrowawayRoot {
        let dir = tempfile::tempdir().expect("temp dir");
        let layer = dir.path().join("layer");
        let root = dir.path().join("root");
        for d in [&layer, &root] {
            fs::create_dir(d).expect("mkdir");
        }
        mount(
            Some("tmpfs"),
            &layer,
            Some("tmpfs"),
            MsFlags::empty(),
            Some("mode=0755"),
        )
        .expect("mount the tmpfs of the upper layer");
        let upper = layer.join("upper");
        let work = layer.join("work");
        for d in [&upper, &work] {
            fs::create_dir(d).expect("mkdir");
        }
        let options = format!(
            "lowerdir=/,upperdir={},workdir={}",
            upper.display(),
            work.display()
        );
        mount(
            Some("overlay"),
            &root,
            Some("overlay"),
            MsFlags::empty(),
            Some(options.as_str()),
        )
        .expect("mount the overlay of /");
        for system in ["proc", "dev", "sys"] {
            bind(
                Path::new("/").join(system).as_path(),
                &root.join(system),
                false,
            );
        }
        bind(debs, &root.join("mnt"), true);
        let r = ThrowawayRoot { dir, root, upper };
        r.write("usr/sbin/policy-rc.d", "#!/bin/sh\nexit 101\n", 0o755);
        r
    }

    /// The root's directory (as seen from outside).
    pub fn dir(&self) -> &Path {
        &self.root
    }

    /// `path` (absolute inside the root, or relative) as seen from outside.
    pub fn path(&self, path: &str) -> PathBuf {
        self.root.join(path.trim_start_matches('/'))
    }

    /// Writes a file inside the root with `mode`.
    pub fn write(&self, path: &str, text: &str, mode: u32) {
        let p = self.path(path);
        fs::create_dir_all(p.parent().expect("a file in a directory")).expect("mkdir -p");
        fs::write(&p, text).unwrap_or_else(|e| panic!("write {}: {e}", p.display()));
        let mut perm = fs::metadata(&p).expect("stat").permissions();
        std::os::unix::fs::PermissionsExt::set_mode(&mut perm, mode);
        fs::set_permissions(&p, perm).expect("chmod");
    }

    /// Runs `program args` chrooted into the root with a clean environment.
    pub fn run(&self, program: &str, args: &[&str]) -> Output {
        Command::new("chroot")
            .arg(&self.root)
            .arg(program)
            .args(args)
            .env_clear()
            .env("PATH", "/usr/sbin:/usr/bin:/sbin:/bin")
            .env("LANG", "C.UTF-8")
            .env("DEBIAN_FRONTEND", "noninteractive")
            .stdin(Stdio::null())
            .output()
            .unwrap_or_else(|e| panic!("chroot {program}: {e}"))
    }

    /// Like [`ThrowawayRoot::run`]; a failure fails the test with the output. Returns stdout.
    pub fn run_ok(&self, program: &str, args: &[&str]) -> String {
        let out = self.run(program, args);
        assert!(
            out.status.success(),
            "chroot {program} {args:?}: {}\nstdout:\n{}\nstderr:\n{}",
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// Everything the upper layer holds that makes the root differ from `/`, one line each
    /// (`added`, `changed`, `deleted`, `added dir`), without package-manager bookkeeping.
    pub fn changes(&self) -> Vec<String> {
        let mut out = Vec::new();
        walk(&self.upper, Path::new(""), &mut out);
        out.retain(|line| {
            let path = line.split_once(' ').map_or("", |(_, p)| p);
            let path = path.strip_prefix("dir ").unwrap_or(path);
            !BOOKKEEPING.iter().any(|b| path.starts_with(b))
        });
        out.sort();
        out
    }
}

impl Drop for ThrowawayRoot {
    fn drop(&mut self) {
        // The mounts die with the mount namespace anyway; unmounting here frees the tmpfs
        // between the tests.
        let _ = umount2(&self.root, MntFlags::MNT_DETACH);
        let _ = umount2(&self.dir.path().join("layer"), MntFlags::MNT_DETACH);
    }
}

fn bind(from: &Path, to: &Path, read_only: bool) {
    mount(
        Some(from),
        to,
        None::<&str>,
        MsFlags::MS_BIND | MsFlags::MS_REC,
        None::<&str>,
    )
    .unwrap_or_else(|e| panic!("bind {} to {}: {e}", from.display(), to.display()));
    if read_only {
        mount(
            None::<&str>,
            to,
            None::<&str>,
            MsFlags::MS_BIND | MsFlags::MS_REMOUNT | MsFlags::MS_RDONLY,
            None::<&str>,
        )
        .unwrap_or_else(|e| panic!("remount {} read-only: {e}", to.display()));
    }
}

/// Lists what `upper/rel` changes relative to `/rel`, recursively.
fn walk(upper: &Path, rel: &Path, out: &mut Vec<String>) {
    let Ok(entries) = fs::read_dir(upper.join(rel)) else {
        return;
    };
    for entry in entries.flatten() {
        let rel = rel.join(entry.file_name());
        let shown = rel.display().to_string();
        let lower = Path::new("/").join(&rel);
        let meta = entry.metadata().expect("lstat in the upper layer");
        let kind = meta.file_type();
        if kind.is_char_device() && meta.rdev() == 0 {
            out.push(format!("deleted {shown}"));
        } else if kind.is_dir() {
            if !lower.is_dir() {
                out.push(format!("added dir {shown}"));
            }
            walk(upper, &rel, out);
        } else if fs::symlink_metadata(&lower).is_err() {
            out.push(format!("added {shown}"));
        } else if !same_content(&upper.join(&rel), &lower, kind.is_symlink()) {
            out.push(format!("changed {shown}"));
        }
    }
}

fn same_content(a: &Path, b: &Path, symlink: bool) -> bool {
    if symlink {
        fs::read_link(a).ok() == fs::read_link(b).ok()
    } else {
        fs::read(a).ok() == fs::read(b).ok()
    }
}
