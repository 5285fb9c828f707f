//! Raw observations to comparable lines, with what legitimately differs taken out: ifindexes
//! and statistics are dropped, finite address lifetimes are rounded up to 10 s, the run directory becomes `$WORK`, an IPv6
//! link-local address the kernel derived from a link's MAC (EUI-64) becomes
//! `fe80::eui64(DEV)`, memory-lock sizes become yes/no, and `-t` diagnostics become the set of
//! configuration lines they point at (`line 12: virtual_routes`), whatever their wording.

use std::collections::{BTreeMap, BTreeSet};
use std::net::Ipv6Addr;

use serde::Serialize;
use serde_json::Value;

use super::observe::{NetState, ProcState, SeenAdvert};
use crate::util::{format_mac, parse_mac};

/// Normalised observations: category (`address`, `route`, `stop.route`, ...) to its lines.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Observation(pub BTreeMap<String, BTreeSet<String>>);

impl Observation {
    /// Adds one line to a category.
    pub fn add(&mut self, category: &str, line: impl Into<String>) {
        self.0
            .entry(category.to_string())
            .or_default()
            .insert(line.into());
    }

    /// Makes sure the category exists, even if empty (so "nothing" compares too).
    pub fn touch(&mut self, category: &str) {
        self.0.entry(category.to_string()).or_default();
    }

    /// The lines of a category (empty if none).
    pub fn lines(&self, category: &str) -> impl Iterator<Item = &String> {
        self.0.get(category).into_iter().flatten()
    }

    /// Adds every category of `other`, each name prefixed with `prefix`.
    pub fn merge_prefixed(&mut self, prefix: &str, other: Observation) {
        for (cat, lines) in other.0 {
            let entry = self.0.entry(format!("{prefix}{cat}")).or_default();
            entry.extend(lines);
        }
    }
}

fn s<'a>(v: &'a Value, key: &str) -> Option<&'a str> {
    v.get(key).and_then(Value::as_str)
}

fn arr(v: &Value) -> &[Value] {
    v.as_array().map(Vec::as_slice).unwrap_or(&[])
}

/// The EUI-64 link-local address the kernel derives from `mac`.
fn eui64_link_local(mac: [u8; 6]) -> Ipv6Addr {
    let m = mac;
    Ipv6Addr::new(
        0xfe80,
        0,
        0,
        0,
        u16::from_be_bytes([m[0] ^ 0x02, m[1]]),
        u16::from_be_bytes([m[2], 0xff]),
        u16::from_be_bytes([0xfe, m[3]]),
        u16::from_be_bytes([m[4], m[5]]),
    )
}

/// Replaces kernel-derived link-local addresses in `text` by `fe80::eui64(DEV)`.
struct LinkLocals(Vec<(String, String)>);

impl LinkLocals {
    fn from_links(links: &Value) -> LinkLocals {
        let mut v = Vec::new();
        for l in arr(links) {
            if let (Some(name), Some(mac)) = (s(l, "ifname"), s(l, "address").and_then(parse_mac)) {
                v.push((
                    eui64_link_local(mac).to_string(),
                    format!("fe80::eui64({name})"),
                ));
            }
        }
        LinkLocals(v)
    }

    fn apply(&self, addr: &str) -> String {
        self.0
            .iter()
            .find(|(a, _)| a == addr)
            .map_or_else(|| addr.to_string(), |(_, r)| r.clone())
    }
}

/// Addresses, routes, rules and links of a namespace.
pub fn net(state: &NetState) -> Observation {
    let mut o = Observation::default();
    for cat in ["address", "route", "rule", "link", "sysctl"] {
        o.touch(cat);
    }
    for line in state.sysctls.lines().filter(|l| !l.trim().is_empty()) {
        o.add("sysctl", line.trim().to_string());
    }
    let ll = LinkLocals::from_links(&state.links);
    for link in arr(&state.addrs) {
        let dev = s(link, "ifname").unwrap_or("?");
        for a in arr(link.get("addr_info").unwrap_or(&Value::Null)) {
            let local = ll.apply(s(a, "local").unwrap_or("?"));
            let mut line = format!(
                "{dev} {local}/{}",
                a.get("prefixlen").and_then(Value::as_u64).unwrap_or(0)
            );
            if let Some(scope) = s(a, "scope") {
                line += &format!(" scope {scope}");
            }
            if let Some(label) = s(a, "label").filter(|l| *l != dev) {
                line += &format!(" label {label}");
            }
            line += &address_details(a, &ll);
            o.add("address", line);
        }
    }
    for r in arr(&state.routes4).iter().chain(arr(&state.routes6)) {
        o.add("route", route_line(r, &ll));
    }
    for (family, rules) in [("v4", &state.rules4), ("v6", &state.rules6)] {
        for r in arr(rules) {
            o.add("rule", format!("{family} {}", rule_line(r)));
        }
    }
    for l in arr(&state.links) {
        o.add("link", link_line(l));
    }
    o
}

/// The rest of an address line: its point-to-point peer, the flags a configuration can set
/// (`ip -d addr` order) and finite lifetimes, rounded up to 10 s (they count down between
/// the two daemons' observations).
fn address_details(a: &Value, ll: &LinkLocals) -> String {
    let mut out = String::new();
    if let Some(peer) = s(a, "address").filter(|p| Some(*p) != s(a, "local")) {
        out += &format!(" peer {}", ll.apply(peer));
    }
    for flag in [
        "nodad",
        "home",
        "mngtmpaddr",
        "noprefixroute",
        "autojoin",
        "deprecated",
    ] {
        if a.get(flag).and_then(Value::as_bool) == Some(true) {
            out += &format!(" {flag}");
        }
    }
    for (key, label) in [
        ("valid_life_time", "valid_lft"),
        ("preferred_life_time", "preferred_lft"),
    ] {
        match a.get(key).and_then(Value::as_u64) {
            Some(n) if n < u64::from(u32::MAX) => {
                out += &format!(" {label} {}s", n.div_ceil(10) * 10)
            }
            _ => {}
        }
    }
    out
}

fn route_line(r: &Value, ll: &LinkLocals) -> String {
    let table = s(r, "table").unwrap_or("main");
    let mut line = format!("table {table}:");
    if let Some(t) = s(r, "type").filter(|t| *t != "unicast") {
        line += &format!(" {t}");
    }
    line += &format!(" {}", ll.apply(s(r, "dst").unwrap_or("?")));
    for (key, label) in [
        ("gateway", "via"),
        ("dev", "dev"),
        ("protocol", "proto"),
        ("scope", "scope"),
        ("prefsrc", "src"),
    ] {
        if let Some(v) = s(r, key) {
            line += &format!(" {label} {}", ll.apply(v));
        }
    }
    if let Some(m) = r.get("metric").and_then(Value::as_u64) {
        line += &format!(" metric {m}");
    }
    for nh in arr(r.get("nexthops").unwrap_or(&Value::Null)) {
        line += &format!(
            " nexthop via {} dev {} weight {}",
            s(nh, "gateway").unwrap_or("-"),
            s(nh, "dev").unwrap_or("-"),
            nh.get("weight").and_then(Value::as_u64).unwrap_or(1)
        );
    }
    let flags: Vec<&str> = arr(r.get("flags").unwrap_or(&Value::Null))
        .iter()
        .filter_map(Value::as_str)
        .collect();
    if !flags.is_empty() {
        line += &format!(" flags {}", flags.join(","));
    }
    line
}

fn rule_line(r: &Value) -> String {
    let mut line = format!(
        "{}:",
        r.get("priority").and_then(Value::as_u64).unwrap_or(0)
    );
    if r.get("not").is_some() {
        line += " not";
    }
    for (key, len_key, label) in [("src", "srclen", "from"), ("dst", "dstlen", "to")] {
        if let Some(v) = s(r, key) {
            match r.get(len_key).and_then(Value::as_u64) {
                Some(len) => line += &format!(" {label} {v}/{len}"),
                None => line += &format!(" {label} {v}"),
            }
        }
    }
    for (key, label) in [
        ("iif", "iif"),
        ("oif", "oif"),
        ("fwmark", "fwmark"),
        ("tos", "tos"),
        ("table", "lookup"),
        ("action", "action"),
        ("protocol", "proto"),
    ] {
        match r.get(key) {
            Some(Value::String(v)) => line += &format!(" {label} {v}"),
            Some(Value::Number(n)) => line += &format!(" {label} {n}"),
            _ => {}
        }
    }
    line
}

fn link_line(l: &Value) -> String {
    let name = s(l, "ifname").unwrap_or("?");
    let info = l.get("linkinfo");
    let kind = info.and_then(|i| s(i, "info_kind")).unwrap_or("device");
    let mut line = format!("{name}: {kind}");
    if let Some(mode) = info
        .and_then(|i| i.get("info_data"))
        .and_then(|d| s(d, "mode"))
    {
        line += &format!(" mode {mode}");
    }
    if let Some(lower) = s(l, "link") {
        line += &format!(" link {lower}");
    }
    if let Some(mac) = s(l, "address").and_then(parse_mac) {
        line += &format!(" mac {}", format_mac(&mac));
    }
    let flags: Vec<&str> = arr(l.get("flags").unwrap_or(&Value::Null))
        .iter()
        .filter_map(Value::as_str)
        .filter(|f| *f == "UP" || *f == "NOARP")
        .collect();
    if !flags.is_empty() {
        line += &format!(" {}", flags.join(","));
    }
    if let Some(gen) = s(l, "inet6_addr_gen_mode") {
        line += &format!(" addrgenmode {gen}");
    }
    line
}

/// The VRRP process's settings that the `vrrp_*` process keywords change.
pub fn process(p: &ProcState) -> Observation {
    let mut o = Observation::default();
    let status = |key: &str| {
        p.status
            .lines()
            .find_map(|l| l.strip_prefix(key))
            .map(|v| v.trim().to_string())
    };
    let locked = status("VmLck:")
        .and_then(|v| {
            v.split_whitespace()
                .next()
                .and_then(|n| n.parse::<u64>().ok())
        })
        .unwrap_or(0);
    o.add(
        "process",
        format!("memory locked: {}", if locked > 0 { "yes" } else { "no" }),
    );
    if let Some(cpus) = status("Cpus_allowed_list:") {
        o.add("process", format!("cpu affinity: {cpus}"));
    }
    // Fields after the parenthesised comm start at field 3.
    let fields: Vec<&str> = p
        .stat
        .rsplit_once(')')
        .map(|(_, rest)| rest.split_whitespace().collect())
        .unwrap_or_default();
    let field = |n: usize| fields.get(n - 3).copied().unwrap_or("?");
    let policy = match field(41) {
        "0" => "SCHED_OTHER",
        "1" => "SCHED_FIFO",
        "2" => "SCHED_RR",
        "3" => "SCHED_BATCH",
        "5" => "SCHED_IDLE",
        other => other,
    };
    o.add(
        "process",
        format!(
            "scheduling: {policy} rt_priority {} nice {}",
            field(40),
            field(19)
        ),
    );
    if let Some(l) = p
        .limits
        .lines()
        .find(|l| l.starts_with("Max realtime timeout"))
    {
        let v: Vec<&str> = l.split_whitespace().collect();
        if v.len() >= 5 {
            o.add(
                "process",
                format!("RLIMIT_RTTIME: soft {} hard {}", v[3], v[4]),
            );
        }
    }
    o
}

/// Adverts as `IFACE: SRC > DST vrid V vN prio P int Ics [ADDRS]` (from `host` when given),
/// with ` ttl T` when the TTL / hop limit is not 255 and ` checksum old-unicast` for keepalived
/// 1.3.6's unicast checksum form, priority-0 ones in `stop.advert`, the others in `advert`.
pub fn adverts(seen: &[SeenAdvert], with_host: bool) -> Observation {
    let mut o = Observation::default();
    o.touch("advert");
    for a in seen {
        let d = &a.advert;
        let addrs: Vec<String> = d.addrs.iter().map(ToString::to_string).collect();
        let who = if with_host {
            format!("{} ", a.host)
        } else {
            String::new()
        };
        let mut ttl = match d.ttl {
            255 => String::new(),
            t => format!(" ttl {t}"),
        };
        if d.checksum_form == Some(vrrp_core::ChecksumForm::OldUnicast) {
            ttl += " checksum old-unicast";
        }
        let line = format!(
            "{who}{}: {} > {} vrid {} v{} prio {} int {}cs{ttl} [{}]",
            a.iface,
            d.src,
            d.dst,
            d.vrid,
            match d.version {
                vrrp_core::Version::V2 => 2,
                vrrp_core::Version::V3 => 3,
            },
            d.priority,
            d.interval_cs,
            addrs.join(" ")
        );
        o.add(
            if d.priority == 0 {
                "stop.advert"
            } else {
                "advert"
            },
            line,
        );
    }
    o
}

/// Gratuitous ARPs / unsolicited NAs as `[HOST ]IFACE: ADDRESS` in `garp`.
pub fn announcements(seen: &[(String, String, String)], with_host: bool) -> Observation {
    let mut o = Observation::default();
    o.touch("garp");
    for (iface, host, addr) in seen {
        let who = if with_host {
            format!("{host} ")
        } else {
            String::new()
        };
        o.add("garp", format!("{who}{iface}: {addr}"));
    }
    o
}

/// Notify logger lines: `state` (per instance or group, the sequence of states with their
/// priorities, from every `notify` line) and `notify` (every line of a configured script,
/// the added `notify` logger's own lines left out). `work` becomes `$WORK`.
pub fn notify(lines: &[String], work: &str, prefix: &str) -> Observation {
    let mut o = Observation::default();
    o.touch(&format!("{prefix}state"));
    o.touch(&format!("{prefix}notify"));
    let mut seq: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for l in lines {
        let l = l.replace(work, "$WORK");
        let words: Vec<&str> = l.split_whitespace().collect();
        if words.first() == Some(&"notify") {
            if let Some(i) = words.iter().position(|w| *w == "INSTANCE" || *w == "GROUP") {
                if let (Some(name), Some(state)) = (words.get(i + 1), words.get(i + 2)) {
                    let prio = words
                        .get(i + 3)
                        .map(|p| format!("({p})"))
                        .unwrap_or_default();
                    seq.entry(format!("{} {name}", words[i]))
                        .or_default()
                        .push(format!("{state}{prio}"));
                }
            }
            if words.len() > 1 && (words[1] == "INSTANCE" || words[1] == "GROUP") {
                continue; // the added logger: already in `state`
            }
        }
        o.add(&format!("{prefix}notify"), l);
    }
    for (who, states) in seq {
        o.add(
            &format!("{prefix}state"),
            format!("{who}: {}", states.join(" ")),
        );
    }
    o
}

/// FIFO reader lines, `work` replaced.
pub fn fifo(lines: &[String], work: &str, category: &str) -> Observation {
    let mut o = Observation::default();
    o.touch(category);
    for l in lines {
        o.add(category, l.replace(work, "$WORK"));
    }
    o
}

/// `-t`: `check` gets `exit status N`; `warning` gets, for every diagnostic line, `line N:
/// KEYWORD` (the keyword on line N of `conf_text`), or `'WORD'` for a diagnostic without a
/// line number that quotes a word; other unnumbered lines are wording and dropped.
pub fn config_test(status: Option<i32>, output: &str, conf_text: &str) -> Observation {
    let mut o = Observation::default();
    o.touch("warning");
    o.add(
        "check",
        match status {
            Some(c) => format!("exit status {c}"),
            None => "killed by a signal".to_string(),
        },
    );
    for l in output.lines() {
        if let Some(n) = diagnostic_line(l) {
            let kw = super::conf::keyword_at(conf_text, n).unwrap_or_default();
            o.add("warning", format!("line {n}: {kw}"));
        } else if let Some(q) = quoted(l) {
            o.add("warning", format!("'{q}'"));
        }
    }
    o
}

/// The line number of a diagnostic: keepalived's `(FILE: Line N)` / `(Line N)`, or
/// `FILE:N:C:` (vrrpd, compilers).
fn diagnostic_line(l: &str) -> Option<usize> {
    if let Some(i) = l.find("Line ") {
        let digits: String = l[i + 5..]
            .chars()
            .take_while(char::is_ascii_digit)
            .collect();
        if let Ok(n) = digits.parse() {
            return Some(n);
        }
    }
    let mut parts = l.splitn(4, ':');
    let (_file, line, col) = (parts.next()?, parts.next()?, parts.next()?);
    let n = line.trim().parse().ok()?;
    col.trim().parse::<usize>().ok()?;
    Some(n)
}

fn quoted(l: &str) -> Option<&str> {
    let start = l.find('\'')? + 1;
    let len = l[start..].find('\'')?;
    Some(&l[start..start + len]).filter(|q| !q.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn eui64_matches_the_kernel() {
        let mac = parse_mac("00:00:5e:00:01:33").unwrap();
        assert_eq!(eui64_link_local(mac).to_string(), "fe80::200:5eff:fe00:133");
    }

    #[test]
    fn diagnostics_become_lines_of_the_file() {
        let conf = "global_defs {\n  bogus 1\n}\nvrrp_instance V {\n  interface eth1\n}\n";
        let ka = "(Line 2) Unknown keyword 'bogus'\n(/w/k.conf: Line 5) WARNING - interface \
                  eth1 for vrrp_instance V doesn't exist\nNon-existent interface specified\n\
                  Unknown keyword 'x'\n";
        let o = config_test(Some(5), ka, conf);
        let w: Vec<_> = o.lines("warning").cloned().collect();
        assert_eq!(w, ["'x'", "line 2: bogus", "line 5: interface"]);
        let v = config_test(Some(5), "/w/k.conf:2:3: unknown keyword bogus\n", conf);
        assert_eq!(v.lines("warning").next().unwrap(), "line 2: bogus");
        assert_eq!(v.lines("check").next().unwrap(), "exit status 5");
    }

    #[test]
    fn notify_lines_give_state_sequences() {
        let lines = vec![
            "notify INSTANCE VI_1 BACKUP 150".to_string(),
            "notify_master /x.sh /w/a".to_string(),
            "notify INSTANCE VI_1 MASTER 150".to_string(),
            "notify /orig.sh GROUP G MASTER 0".to_string(),
        ];
        let o = notify(&lines, "/w", "");
        let st: Vec<_> = o.lines("state").cloned().collect();
        assert_eq!(
            st,
            [
                "GROUP G: MASTER(0)",
                "INSTANCE VI_1: BACKUP(150) MASTER(150)"
            ]
        );
        let n: Vec<_> = o.lines("notify").cloned().collect();
        assert_eq!(
            n,
            [
                "notify /orig.sh GROUP G MASTER 0",
                "notify_master /x.sh $WORK/a"
            ]
        );
    }

    #[test]
    fn routes_rules_links_and_sysctls_render_without_ifindexes() {
        let st = NetState {
            addrs: serde_json::json!([{"ifindex": 9, "ifname": "eth0", "addr_info": [
                {"family": "inet", "local": "192.0.2.100", "prefixlen": 32, "scope": "global",
                 "label": "eth0:1", "valid_life_time": 4294967295u64}]}]),
            links: serde_json::json!([{"ifindex": 12, "ifname": "vrrp.51", "link": "eth0",
                "flags": ["BROADCAST", "UP"], "address": "00:00:5e:00:01:33",
                "linkinfo": {"info_kind": "macvlan", "info_data": {"mode": "private"}}}]),
            routes4: serde_json::json!([{"dst": "198.51.100.0/24", "gateway": "192.0.2.254",
                "dev": "eth0", "protocol": "static", "flags": []}]),
            routes6: serde_json::json!([{"type": "local", "dst": "fe80::200:5eff:fe00:133",
                "dev": "vrrp.51", "table": "local", "protocol": "kernel", "metric": 0,
                "flags": []}]),
            rules4: serde_json::json!([{"priority": 100, "src": "192.0.2.100", "srclen": 32,
                "table": "1"}]),
            rules6: serde_json::json!([]),
            sysctls: "net.ipv4.conf.eth0.promote_secondaries = 1\n".into(),
        };
        let o = net(&st);
        assert_eq!(
            o.lines("address").next().unwrap(),
            "eth0 192.0.2.100/32 scope global label eth0:1"
        );
        let routes: Vec<_> = o.lines("route").cloned().collect();
        assert_eq!(
            routes,
            [
                "table local: local fe80::eui64(vrrp.51) dev vrrp.51 proto kernel metric 0",
                "table main: 198.51.100.0/24 via 192.0.2.254 dev eth0 proto static",
            ]
        );
        assert_eq!(
            o.lines("rule").next().unwrap(),
            "v4 100: from 192.0.2.100/32 lookup 1"
        );
        assert_eq!(
            o.lines("link").next().unwrap(),
            "vrrp.51: macvlan mode private link eth0 mac 00:00:5e:00:01:33 UP"
        );
        assert_eq!(
            o.lines("sysctl").next().unwrap(),
            "net.ipv4.conf.eth0.promote_secondaries = 1"
        );
    }

    #[test]
    fn process_settings() {
        let p = ProcState {
            status: "Name:\tx\nVmLck:\t  1234 kB\nCpus_allowed_list:\t0\n".into(),
            stat: format!("42 (a b) S {} 5 2", "0 ".repeat(36)),
            limits: "Max realtime timeout      10000                10000                us\n"
                .into(),
        };
        let o = process(&p);
        let l: Vec<_> = o.lines("process").cloned().collect();
        assert_eq!(
            l,
            [
                "RLIMIT_RTTIME: soft 10000 hard 10000",
                "cpu affinity: 0",
                "memory locked: yes",
                "scheduling: SCHED_RR rt_priority 5 nice 0",
            ]
        );
    }
}
