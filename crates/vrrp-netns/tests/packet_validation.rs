//! Independent packet validation: vrrpd's own adverts, captured on a lab segment, decoded by
//! two decoders that share no code with vrrp-core: tshark (Wireshark's dissector) and scapy
//! (`conformance/tools/scapy_check.py`, Debian's `python3-scapy`).
//!
//! Four vrrpd instances, one per host and VRID, each alone so that it becomes Active:
//! VRRPv2 with `auth_type PASS` (VRID 2), VRRPv3 IPv4 in the pseudo-header form (VRID 3), VRRPv3
//! IPv4 in the RFC 9568 form (VRID 4) and VRRPv3 IPv6 (VRID 6). Each is stopped with SIGTERM,
//! so the capture also holds its priority-0 advert.
//!
//! Needs root (fails clearly otherwise), tshark and python3-scapy (`apt-get install -y tshark
//! python3-scapy`; scapy runs under `/usr/bin/python3`, or `$SCAPY_PYTHON`), and the vrrpd
//! binary (`cargo build -p vrrpd`, same `CARGO_TARGET_DIR`, or `VRRPD_BIN`).

use std::collections::{BTreeMap, BTreeSet};
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use vrrp_netns::{
    require_root, wait_until, Checksum, Frame, Lab, RouterKind, RunningRouter, Signal,
    VirtualRouterSpec, WorkDir,
};

/// What vrrp-core's codec says about one captured VRRP frame.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Ours {
    version: u8,
    vrid: u8,
    priority: u8,
    ipv6: bool,
    form: Option<Checksum>,
}

/// What tshark says (`-T fields`).
#[derive(Debug, Clone, PartialEq, Eq)]
struct Tshark {
    version: u8,
    vrid: u8,
    priority: u8,
    /// `vrrp.checksum.status`: `good`, `bad` or `unverified`.
    status: String,
}

/// What scapy says (one JSON line of scapy_check.py).
#[derive(Debug, Clone, PartialEq, Eq)]
struct Scapy {
    layer: String,
    version: u8,
    vrid: u8,
    priority: u8,
    chksum: String,
    scapy_chksum: String,
    valid: bool,
    message_only: Option<String>,
}

fn scapy_script() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../conformance/tools/scapy_check.py")
}

fn scapy_python() -> String {
    std::env::var("SCAPY_PYTHON").unwrap_or_else(|_| "/usr/bin/python3".into())
}

/// Fails (never skips) when a decoder is missing.
fn require_decoders() {
    let tshark = Command::new("tshark").arg("--version").output();
    assert!(
        tshark.as_ref().is_ok_and(|o| o.status.success()),
        "tshark is needed: apt-get install -y tshark ({tshark:?})"
    );
    let py = scapy_python();
    let scapy = Command::new(&py)
        .args(["-c", "import scapy.layers.vrrp"])
        .output();
    assert!(
        scapy.as_ref().is_ok_and(|o| o.status.success()),
        "scapy is needed under {py}: apt-get install -y python3-scapy (or set SCAPY_PYTHON) \
         ({scapy:?})"
    );
}

fn u8_field(s: &str) -> u8 {
    let s = s.trim();
    s.strip_prefix("0x")
        .map(|h| u8::from_str_radix(h, 16))
        .unwrap_or_else(|| s.parse())
        .unwrap_or_else(|e| panic!("tshark field {s:?}: {e}"))
}

fn run_tshark(pcap: &Path) -> BTreeMap<usize, Tshark> {
    let p = pcap.display().to_string();
    let out = Command::new("tshark")
        .args([
            "-n",
            "-r",
            &p,
            "-Y",
            "vrrp",
            "-T",
            "fields",
            "-E",
            "separator=/t",
        ])
        .args([
            "-e",
            "frame.number",
            "-e",
            "vrrp.version",
            "-e",
            "vrrp.virt_rtr_id",
        ])
        .args(["-e", "vrrp.prio", "-e", "vrrp.checksum.status"])
        .output()
        .expect("run tshark");
    assert!(out.status.success(), "tshark failed: {out:?}");
    let mut m = BTreeMap::new();
    for line in String::from_utf8_lossy(&out.stdout).lines() {
        let f: Vec<&str> = line.split('\t').collect();
        assert_eq!(f.len(), 5, "tshark line {line:?}");
        let status = match f[4].trim() {
            "0" => "bad",
            "1" => "good",
            "2" | "" => "unverified",
            s => s,
        };
        m.insert(
            f[0].trim().parse().expect("frame number"),
            Tshark {
                version: u8_field(f[1]),
                vrid: u8_field(f[2]),
                priority: u8_field(f[3]),
                status: status.to_string(),
            },
        );
    }
    m
}

fn run_scapy(pcap: &Path) -> BTreeMap<usize, Scapy> {
    let out = Command::new(scapy_python())
        .arg(scapy_script())
        .arg(pcap)
        .output()
        .expect("run scapy_check.py");
    assert!(
        out.status.success(),
        "scapy_check.py failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mut m = BTreeMap::new();
    for line in String::from_utf8_lossy(&out.stdout).lines() {
        let v: serde_json::Value = serde_json::from_str(line).expect("JSON line");
        if v.get("summary").is_some() {
            continue;
        }
        let frame = v["frame"].as_u64().expect("frame") as usize;
        let layer = v["layer"]
            .as_str()
            .unwrap_or_else(|| panic!("scapy did not decode frame {frame}: {v}"));
        let num = |k: &str| v[k].as_u64().unwrap_or_else(|| panic!("{k} in {v}")) as u8;
        let text = |k: &str| v[k].as_str().unwrap_or_else(|| panic!("{k} in {v}")).into();
        m.insert(
            frame,
            Scapy {
                layer: layer.into(),
                version: num("version"),
                vrid: num("vrid"),
                priority: num("priority"),
                chksum: text("chksum"),
                scapy_chksum: text("scapy_chksum"),
                valid: v["valid"].as_bool().expect("valid"),
                message_only: v["message_only"].as_str().map(String::from),
            },
        );
    }
    m
}

/// vrrp-core's view of every protocol-112 frame, keyed by 1-based frame number.
fn ours(frames: &[Frame]) -> BTreeMap<usize, Ours> {
    let mut m = BTreeMap::new();
    for (i, f) in frames.iter().enumerate() {
        let Some(raw) = f.vrrp() else { continue };
        let a = raw
            .decode()
            .unwrap_or_else(|e| panic!("frame {}: vrrp-core rejects vrrpd's advert: {e}", i + 1));
        m.insert(
            i + 1,
            Ours {
                version: match a.version {
                    vrrp_core::Version::V2 => 2,
                    vrrp_core::Version::V3 => 3,
                },
                vrid: a.vrid,
                priority: a.priority,
                ipv6: matches!(a.src, IpAddr::V6(_)),
                form: a.checksum_form.map(Checksum::from_core),
            },
        );
    }
    m
}

const V2: u8 = 2;
const PSEUDO: u8 = 3;
const RFC: u8 = 4;
const V6: u8 = 6;

fn specs() -> Vec<(&'static str, VirtualRouterSpec)> {
    let v4 =
        |vrid: u8| VirtualRouterSpec::new(vrid, vec![format!("192.0.2.10{vrid}").parse().unwrap()]);
    vec![
        (
            "v2",
            v4(V2)
                .priority(254)
                .interval_cs(100)
                .version(2)
                .auth_pass("s3cret"),
        ),
        ("pseudo", v4(PSEUDO).priority(254).interval_cs(20)),
        (
            "rfc",
            v4(RFC)
                .priority(254)
                .interval_cs(20)
                .checksum_form(Checksum::Rfc9568),
        ),
        (
            "v6",
            VirtualRouterSpec::new(
                V6,
                vec![
                    "fe80::106".parse().unwrap(),
                    "2001:db8:1::106".parse().unwrap(),
                ],
            )
            .priority(254)
            .interval_cs(20),
        ),
    ]
}

#[test]
fn vrrpd_adverts_are_decoded_by_tshark_and_scapy() {
    require_root();
    require_decoders();
    let specs = specs();
    let mut b = Lab::builder();
    for (h, _) in &specs {
        b = b.router(h);
    }
    let lab = b.build().expect("build lab");
    let dir = WorkDir::new("pktval").expect("work dir");
    let mut cap = lab.default_segment().capture().expect("capture");

    let mut routers: Vec<RunningRouter> = specs
        .iter()
        .map(|(h, s)| {
            RouterKind::Vrrpd
                .start(&lab, h, s, dir.path())
                .unwrap_or_else(|e| panic!("start vrrpd on {h}: {e}"))
        })
        .collect();
    // Two adverts with priority > 0 from each VRID (VRRPv2: ~3 s to Active, then 1 per s).
    let seen = |prio_zero: bool| {
        let mut n: BTreeMap<u8, usize> = BTreeMap::new();
        for f in cap.frames() {
            if let Some(Ok(a)) = f.vrrp_advert() {
                if (a.priority == 0) == prio_zero {
                    *n.entry(a.vrid).or_default() += 1;
                }
            }
        }
        n
    };
    let all = [V2, PSEUDO, RFC, V6];
    let enough = wait_until(Duration::from_secs(8), || {
        let n = seen(false);
        all.iter().all(|v| n.get(v).copied().unwrap_or(0) >= 2)
    });
    let logs = |rs: &[RunningRouter]| rs.iter().map(|r| r.log_tail(15)).collect::<String>();
    assert!(
        enough,
        "not every VRID advertised twice: {:?}\n{}",
        seen(false),
        logs(&routers)
    );
    for r in &mut routers {
        r.signal(Signal::SIGTERM).expect("SIGTERM");
    }
    for r in &mut routers {
        assert!(
            r.wait_exit(Signal::SIGTERM, Duration::from_secs(5)),
            "vrrpd on {} did not exit on SIGTERM",
            r.host
        );
    }
    let zero = wait_until(Duration::from_secs(2), || {
        let n = seen(true);
        all.iter().all(|v| n.contains_key(v))
    });
    assert!(
        zero,
        "priority-0 adverts seen per VRID: {:?}\n{}",
        seen(true),
        logs(&routers)
    );
    drop(routers);
    cap.stop().expect("stop capture");

    let frames = cap.frames();
    let pcap = dir.path().join("vrrpd-adverts.pcap");
    cap.write_pcap(&pcap).expect("write pcap");
    let ours = ours(&frames);
    let tshark = run_tshark(&pcap);
    let scapy = run_scapy(&pcap);

    // Both decoders decode every VRRP packet, and agree with vrrp-core on the fields.
    let numbers: BTreeSet<usize> = ours.keys().copied().collect();
    assert_eq!(
        tshark.keys().copied().collect::<BTreeSet<_>>(),
        numbers,
        "tshark decoded another set of frames"
    );
    assert_eq!(
        scapy.keys().copied().collect::<BTreeSet<_>>(),
        numbers,
        "scapy decoded another set of frames"
    );
    for (n, o) in &ours {
        let (t, s) = (&tshark[n], &scapy[n]);
        assert_eq!(
            (t.version, t.vrid, t.priority),
            (o.version, o.vrid, o.priority),
            "frame {n}: tshark disagrees with vrrp-core"
        );
        assert_eq!(
            (s.version, s.vrid, s.priority),
            (o.version, o.vrid, o.priority),
            "frame {n}: scapy disagrees with vrrp-core"
        );
        let want_layer = if o.version == 2 { "VRRP" } else { "VRRPv3" };
        assert_eq!(s.layer, want_layer, "frame {n}: scapy layer");
        match o.vrid {
            // VRRPv2: checksum over the message only (RFC 3768); both tools verify it.
            V2 => {
                assert_eq!((o.version, o.ipv6, o.form), (2, false, None), "frame {n}");
                assert_eq!(t.status, "good", "frame {n}: tshark on VRRPv2");
                assert!(s.valid, "frame {n}: scapy on VRRPv2: {s:?}");
            }
            // VRRPv3 IPv4 with the pseudo-header (keepalived's and FRR's default): both
            // tools compute exactly this form, so both call it valid.
            PSEUDO => {
                assert_eq!(o.form, Some(Checksum::PseudoHeader), "frame {n}");
                assert_eq!(
                    t.status, "good",
                    "frame {n}: tshark on the pseudo-header form"
                );
                assert!(s.valid, "frame {n}: scapy on the pseudo-header form: {s:?}");
                assert_ne!(s.message_only.as_deref(), Some(s.chksum.as_str()));
            }
            // VRRPv3 IPv4 in the RFC 9568 form (message only, checklist P1). This is the
            // correct checksum per RFC 9568 §5.2.8, and vrrp-core verifies it; tshark 4.0 and
            // scapy 2.5 only know the RFC 5798 pseudo-header reading (scapy: in4_chksum), so
            // tshark says "bad" and scapy's recomputed value differs. scapy's plain
            // checksum() over the message alone does match: the sender is right, the tools
            // are behind.
            RFC => {
                assert_eq!(o.form, Some(Checksum::Rfc9568), "frame {n}");
                assert_eq!(t.status, "bad", "frame {n}: tshark on the RFC 9568 form");
                assert!(!s.valid, "frame {n}: scapy on the RFC 9568 form: {s:?}");
                assert_eq!(
                    s.message_only.as_deref(),
                    Some(s.chksum.as_str()),
                    "frame {n}: the message-only checksum is the one sent"
                );
            }
            // VRRPv3 IPv6: RFC 8200 pseudo-header, everyone agrees (P2).
            V6 => {
                assert!(o.ipv6 && o.form.is_none(), "frame {n}");
                assert_eq!(t.status, "good", "frame {n}: tshark on IPv6");
                assert!(s.valid, "frame {n}: scapy on IPv6: {s:?}");
                assert_eq!(s.message_only, None);
            }
            v => panic!("frame {n}: unexpected VRID {v}"),
        }
    }
    // Every kind of advert was checked with priority > 0 and with priority 0.
    for v in all {
        for zero in [false, true] {
            assert!(
                ours.values()
                    .any(|o| o.vrid == v && (o.priority == 0) == zero),
                "no VRID {v} advert with priority {}",
                if zero { "0" } else { "> 0" }
            );
        }
    }
    let names = BTreeMap::from([
        (V2, "VRRPv2 PASS"),
        (PSEUDO, "v3 IPv4 pseudo-header"),
        (RFC, "v3 IPv4 RFC 9568"),
        (V6, "v3 IPv6"),
    ]);
    let mut summary: BTreeMap<(&str, bool, &str, bool), usize> = BTreeMap::new();
    for (n, o) in &ours {
        *summary
            .entry((
                names[&o.vrid],
                o.priority == 0,
                tshark[n].status.as_str(),
                scapy[n].valid,
            ))
            .or_default() += 1;
    }
    for ((kind, zero, t, s), count) in summary {
        println!(
            "{kind:<22} priority {:<3} x{count}: tshark {t}, scapy {}",
            if zero { "0" } else { ">0" },
            if s { "valid" } else { "mismatch" }
        );
    }
}
