//! What vrrp-core, tshark and keepalived/FRR make of each IPv4 VRRPv3 checksum form
//! (checklist P1), on the checklist's vector V1 written as a pcap. No namespaces needed except
//! for root-free tshark runs; asserts what is true for the installed tools.

use std::collections::HashMap;
use std::time::{Duration, SystemTime};

use vrrp_netns::timeline::tshark_verdicts;
use vrrp_netns::{Checksum, Frame};

fn hex(s: &str) -> Vec<u8> {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

fn frame(host: &str, ip_and_vrrp: &str, ms: u64) -> Frame {
    let mut d = hex("01005e00001200005e0001010800");
    d.extend(hex(ip_and_vrrp));
    Frame {
        ts: SystemTime::UNIX_EPOCH + Duration::from_millis(ms),
        from_host: Some(host.into()),
        data: d,
    }
}

#[test]
fn p1_v1_in_both_forms_decoded_by_vrrp_core_and_judged_by_tshark() {
    // V1: RFC 9568 form (0xa897), RFC 5798 pseudo-header form (0x05fe), I1 (bad, 0xa896).
    let frames = vec![
        frame(
            "rfc",
            "45c0002000000000ff701891c000020ae0000012310164010064a897c0000201",
            0,
        ),
        frame(
            "pseudo",
            "45c0002000000000ff701891c000020ae000001231016401006405fec0000201",
            1,
        ),
        frame(
            "bad",
            "45c0002000000000ff701891c000020ae0000012310164010064a896c0000201",
            2,
        ),
    ];
    let forms: Vec<_> = frames
        .iter()
        .map(|f| f.vrrp_advert().unwrap().ok().and_then(|a| a.checksum_form))
        .collect();
    assert_eq!(
        forms,
        vec![
            Some(Checksum::Rfc9568.to_core()),
            Some(Checksum::PseudoHeader.to_core()),
            None
        ]
    );
    let dir = vrrp_netns::WorkDir::new("tshark").unwrap();
    let v = tshark_verdicts(&frames, &HashMap::new(), &dir.path().join("v1.pcap"))
        .expect("tshark runs (apt-get install -y tshark)");
    let status: HashMap<&str, &str> = v
        .iter()
        .map(|x| (x.router.as_str(), x.status.as_str()))
        .collect();
    println!("tshark verdicts: {status:?}");
    // tshark 4.0 (Debian 12) knows only the RFC 5798 pseudo-header reading for IPv4 v3: it
    // calls the RFC 9568 form bad, exactly like a bad checksum.
    assert_eq!(status["pseudo"], "good");
    assert_eq!(status["rfc"], "bad");
    assert_eq!(status["bad"], "bad");
}
