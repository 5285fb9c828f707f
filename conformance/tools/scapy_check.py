#!/usr/bin/python3
"""Independent VRRP decoder: reads a pcap and decodes every VRRP packet with scapy.

Usage: scapy_check.py CAPTURE.pcap   (Debian: apt-get install -y python3-scapy; run it with
the system /usr/bin/python3, which is where Debian's package installs scapy)

Prints one JSON object per VRRP packet (IPv4 protocol 112 or IPv6 next header 112), in
capture order:

  frame        1-based frame number in the pcap (as tshark counts them)
  family       4 or 6
  src, dst     IP source and destination
  layer        the scapy layer that decoded it: "VRRP" (v2) or "VRRPv3"
  version      VRRP version field
  vrid         virtual router id
  priority     priority (0: the sender is leaving)
  chksum       the checksum in the packet
  scapy_chksum the checksum scapy computes when it rebuilds the packet (chksum=None)
  valid        scapy_chksum == chksum
  message_only the plain Internet checksum of the VRRP message alone (scapy's checksum()),
               i.e. the RFC 9568 IPv4 form; null for IPv6, where no such form exists

What scapy computes (checklist P1): for VRRPv2 (layer VRRP) the checksum of the message only
(RFC 3768); for VRRPv3 over IPv6 the RFC 8200 pseudo-header form (in6_chksum); for VRRPv3
over IPv4 *always* the IPv4 pseudo-header form (in4_chksum, RFC 5798 as keepalived and FRR
read it). So scapy calls an RFC 9568 checksum (message only) a mismatch, although it is the
correct one per RFC 9568 §5.2.8; `message_only` shows that it matches that form.

The last line is a summary object {"summary": {...}} with the packet counts.
Exit status: 0 on success (whatever the checksums say), 2 if scapy is missing or the pcap
cannot be read.
"""

import json
import sys

try:
    from scapy.compat import raw
    from scapy.layers.inet import IP, checksum
    from scapy.layers.inet6 import IPv6
    from scapy.layers.vrrp import VRRP, VRRPv3
    from scapy.utils import rdpcap
except ImportError as e:  # pragma: no cover - depends on the machine
    print(f"scapy_check: scapy not importable ({e}): apt-get install -y python3-scapy "
          "and run with /usr/bin/python3", file=sys.stderr)
    sys.exit(2)


def recomputed(pkt, layer):
    """The checksum scapy puts in when it rebuilds the packet with chksum=None."""
    p = pkt.copy()
    p[layer].chksum = None
    rebuilt = p.__class__(raw(p))
    return rebuilt[layer].chksum


def message_bytes(pkt, layer):
    """The VRRP message as scapy delimits it (without Ethernet padding)."""
    return raw(pkt[layer])[: len(pkt[layer]) - len(pkt[layer].payload)]


def decode(n, pkt):
    if IP in pkt and pkt[IP].proto == 112:
        ip, family = pkt[IP], 4
    elif IPv6 in pkt and pkt[IPv6].nh == 112:
        ip, family = pkt[IPv6], 6
    else:
        return None
    layer = VRRPv3 if VRRPv3 in pkt else VRRP if VRRP in pkt else None
    out = {"frame": n, "family": family, "src": ip.src, "dst": ip.dst}
    if layer is None:
        out.update({"layer": None, "error": "scapy did not decode a VRRP layer"})
        return out
    v = pkt[layer]
    mine = recomputed(pkt, layer)
    out.update({
        "layer": layer.__name__,
        "version": int(v.version),
        "vrid": int(v.vrid),
        "priority": int(v.priority),
        "chksum": f"0x{v.chksum:04x}",
        "scapy_chksum": f"0x{mine:04x}",
        "valid": mine == v.chksum,
        "message_only": None,
    })
    if family == 4:
        msg = bytearray(message_bytes(pkt, layer))
        msg[6:8] = b"\x00\x00"
        out["message_only"] = f"0x{checksum(bytes(msg)):04x}"
    return out


def main(argv):
    if len(argv) != 2:
        print(__doc__.strip().splitlines()[2], file=sys.stderr)
        return 2
    try:
        packets = rdpcap(argv[1])
    except (OSError, EOFError, ValueError) as e:
        print(f"scapy_check: cannot read {argv[1]}: {e}", file=sys.stderr)
        return 2
    counts = {"packets": len(packets), "vrrp": 0, "valid": 0, "mismatch": 0, "undecoded": 0}
    for n, pkt in enumerate(packets, start=1):
        d = decode(n, pkt)
        if d is None:
            continue
        counts["vrrp"] += 1
        if d.get("layer") is None:
            counts["undecoded"] += 1
        elif d["valid"]:
            counts["valid"] += 1
        else:
            counts["mismatch"] += 1
        print(json.dumps(d, sort_keys=True))
    print(json.dumps({"summary": counts}, sort_keys=True))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
