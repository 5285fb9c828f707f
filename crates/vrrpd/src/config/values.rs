//! Parsing keyword arguments: numbers, decimals, booleans, addresses, scripts, tracker entries
//! and virtual address lines. Every helper reports its own diagnostic and returns `None` on
//! bad input, so callers simply keep their default.

use std::net::IpAddr;

use super::diag::{Diagnostic, Span};
use super::keywords;
use super::lexer::Token;
use super::model::{
    Broadcast, PreferredLifetime, RunAs, ScriptCommand, TrackRef, UnicastPeer, VirtualIp,
};
use super::parse;
use super::status::Status;
use super::tree::Node;
use super::usage::{KeywordUse, ADDRESS_OPTIONS};
use crate::iproute::{self, RulePriorities};

/// Largest tracker weight keepalived accepts in absolute value.
pub const MAX_TRACK_WEIGHT: i32 = 253;

/// Collects diagnostics, and the keywords vrrpd does not act on, while interpreting the tree.
pub struct Ctx<'d> {
    diagnostics: &'d mut Vec<Diagnostic>,
    not_acted_on: Vec<KeywordUse>,
    bfd_instances: Vec<String>,
    /// keepalived's preferences for rules without one, counted down in file order.
    rule_priorities: RulePriorities,
}

impl<'d> Ctx<'d> {
    /// Wraps a diagnostic list.
    pub fn new(diagnostics: &'d mut Vec<Diagnostic>) -> Self {
        Self {
            diagnostics,
            not_acted_on: Vec::new(),
            bfd_instances: Vec::new(),
            rule_priorities: RulePriorities::default(),
        }
    }

    /// Records a keyword (or option, or value) found at `span` with its table status: a
    /// keyword vrrpd does not act on gets its note and is kept for [`Ctx::take_not_acted_on`].
    pub fn record(&mut self, block: &'static str, name: &'static str, status: Status, span: &Span) {
        if status.is_acted_on() {
            return;
        }
        let used = KeywordUse {
            block,
            name,
            status,
            span: span.clone(),
        };
        if let Some(note) = used.note() {
            self.push(note);
        }
        self.not_acted_on.push(used);
    }

    /// The lines recorded so far whose keyword vrrpd does not act on.
    pub fn take_not_acted_on(&mut self) -> Vec<KeywordUse> {
        std::mem::take(&mut self.not_acted_on)
    }

    /// Remembers the name of a skipped `bfd_instance` block (for the `track_bfd` check).
    pub fn add_bfd_instance(&mut self, name: String) {
        self.bfd_instances.push(name);
    }

    /// The names of the skipped `bfd_instance` blocks.
    pub fn bfd_instances(&self) -> &[String] {
        &self.bfd_instances
    }

    /// Adds any diagnostic.
    pub fn push(&mut self, diagnostic: Diagnostic) {
        self.diagnostics.push(diagnostic);
    }

    /// How many diagnostics so far satisfy `predicate`.
    pub fn count_matching(&self, predicate: impl Fn(&Diagnostic) -> bool) -> usize {
        self.diagnostics.iter().filter(|d| predicate(d)).count()
    }

    /// A warning that keepalived counts as a config error.
    pub fn warn(&mut self, span: &Span, message: impl Into<String>) {
        self.push(Diagnostic::warning(span, message));
    }

    /// An informational warning.
    pub fn note(&mut self, span: &Span, message: impl Into<String>) {
        self.push(Diagnostic::note(span, message));
    }

    /// An error.
    pub fn error(&mut self, span: &Span, message: impl Into<String>) {
        self.push(Diagnostic::error(span, message));
    }

    /// The first argument, or a warning naming what was expected.
    pub fn arg<'n>(&mut self, node: &'n Node, expected: &str) -> Option<&'n Token> {
        let first = node.args().first();
        if first.is_none() {
            let kw = &node.keyword().text;
            self.warn(
                node.span(),
                format!("{kw} needs an argument, expected {expected}"),
            );
        }
        first
    }

    /// The first argument as a string.
    pub fn string(&mut self, node: &Node, expected: &str) -> Option<String> {
        self.arg(node, expected).map(|t| t.text.clone())
    }

    /// The first argument as an integer in `lo..=hi`.
    pub fn int_in(&mut self, node: &Node, lo: i64, hi: i64) -> Option<i64> {
        let token = self.arg(node, &format!("an integer {lo}..{hi}"))?;
        self.int_token(&node.keyword().text, token, lo, hi)
    }

    /// Parses a token as an integer in `lo..=hi`, naming `what` in messages.
    pub fn int_token(&mut self, what: &str, token: &Token, lo: i64, hi: i64) -> Option<i64> {
        let value = &token.text;
        match value.parse::<i64>() {
            Ok(n) if (lo..=hi).contains(&n) => Some(n),
            Ok(_) => {
                self.warn(
                    &token.span,
                    format!("{what} {value} is out of range, expected an integer {lo}..{hi}"),
                );
                None
            }
            Err(_) => {
                self.warn(
                    &token.span,
                    format!("{what} {value} is not an integer, expected an integer {lo}..{hi}"),
                );
                None
            }
        }
    }

    /// The first argument as an unsigned integer in `lo..=hi` (u32 result).
    pub fn u32_in(&mut self, node: &Node, lo: u32, hi: u32) -> Option<u32> {
        self.int_in(node, i64::from(lo), i64::from(hi))
            .and_then(|n| u32::try_from(n).ok())
    }

    /// The first argument as decimal seconds (≤ 6 decimals) in µs, within `lo_us..=hi_us`.
    pub fn seconds_us(&mut self, node: &Node, lo_us: u64, hi_us: u64) -> Option<u64> {
        let expected = format!("seconds {}..{}", format_us(lo_us), format_us(hi_us));
        let token = self.arg(node, &expected)?;
        let kw = &node.keyword().text;
        match parse_decimal_us(&token.text) {
            Some(us) if (lo_us..=hi_us).contains(&us) => Some(us),
            Some(_) => {
                self.warn(
                    &token.span,
                    format!("{kw} {} is out of range, expected {expected}", token.text),
                );
                None
            }
            None => {
                self.warn(
                    &token.span,
                    format!("{kw} {} is not a number, expected {expected}", token.text),
                );
                None
            }
        }
    }

    /// A boolean flag: bare keyword = true, else on|off|true|false|yes|no.
    pub fn flag(&mut self, node: &Node) -> bool {
        let Some(token) = node.args().first() else {
            return true;
        };
        match token.text.to_ascii_lowercase().as_str() {
            "on" | "true" | "yes" => true,
            "off" | "false" | "no" => false,
            _ => {
                let kw = &node.keyword().text;
                self.warn(
                    &token.span,
                    format!(
                        "{kw} {} is not a boolean, expected on|off|true|false|yes|no",
                        token.text
                    ),
                );
                true
            }
        }
    }

    /// The first argument as an IP address.
    pub fn ip(&mut self, node: &Node) -> Option<IpAddr> {
        let token = self.arg(node, "an IP address")?;
        self.ip_token(&node.keyword().text, token)
    }

    /// Parses a token as an IP address.
    pub fn ip_token(&mut self, what: &str, token: &Token) -> Option<IpAddr> {
        let parsed = token.text.parse::<IpAddr>().ok();
        if parsed.is_none() {
            self.warn(
                &token.span,
                format!(
                    "{what} {} is not a valid IP address, expected an IPv4 or IPv6 address",
                    token.text
                ),
            );
        }
        parsed
    }

    /// `USER [GROUP]` from the arguments starting at `from`.
    pub fn run_as(&self, args: &[Token]) -> Option<RunAs> {
        let user = args.first()?;
        Some(RunAs {
            user: user.text.clone(),
            group: args.get(1).map(|g| g.text.clone()),
        })
    }

    /// `SCRIPT|"SCRIPT ARGS" [USER [GROUP]]`.
    pub fn script(&mut self, node: &Node) -> Option<ScriptCommand> {
        let command = self.arg(node, "a script path or a quoted command line")?;
        Some(ScriptCommand {
            command: command.text.clone(),
            run_as: self.run_as(&node.args()[1..]),
        })
    }

    /// A tracker entry `NAME [weight N [reverse|noreverse]]`; `allow_noreverse` for scripts.
    pub fn track_entry(&mut self, list: &str, entry: &Node, max_weight: i32) -> TrackRef {
        let mut track = TrackRef {
            name: entry.keyword().text.clone(),
            weight: None,
            reverse: None,
        };
        let mut args = entry.args().iter();
        while let Some(option) = args.next() {
            match option.text.as_str() {
                "weight" => track.weight = self.track_weight(list, option, args.next(), max_weight),
                "reverse" => track.reverse = Some(true),
                "noreverse" => track.reverse = Some(false),
                other => self.warn(
                    &option.span,
                    format!("unknown {list} option {other} for {}, expected weight N [reverse|noreverse]", track.name),
                ),
            }
        }
        track
    }

    fn track_weight(
        &mut self,
        list: &str,
        keyword: &Token,
        value: Option<&Token>,
        max: i32,
    ) -> Option<i32> {
        let Some(value) = value else {
            self.warn(
                &keyword.span,
                format!("{list} weight needs a value, expected an integer -{max}..{max}"),
            );
            return None;
        };
        let Ok(weight) = value.text.parse::<i64>() else {
            self.warn(
                &value.span,
                format!(
                    "{list} weight {} is not an integer, expected an integer -{max}..{max}",
                    value.text
                ),
            );
            return None;
        };
        let clamped = weight.clamp(-i64::from(max), i64::from(max));
        if clamped != weight {
            self.warn(&value.span, format!("{list} weight {weight} is out of range, expected -{max}..{max}; using {clamped}"));
        }
        i32::try_from(clamped).ok()
    }

    /// A `unicast_peer` entry `ADDR [min_ttl N] [max_ttl N]`.
    pub fn unicast_peer(&mut self, entry: &Node) -> Option<UnicastPeer> {
        let address = self.ip_token("unicast_peer", entry.keyword())?;
        let mut peer = UnicastPeer {
            address,
            min_ttl: None,
            max_ttl: None,
        };
        let mut args = entry.args().iter();
        while let Some(option) = args.next() {
            let slot = match option.text.as_str() {
                "min_ttl" => &mut peer.min_ttl,
                "max_ttl" => &mut peer.max_ttl,
                other => {
                    self.warn(
                        &option.span,
                        format!(
                            "unknown unicast_peer option {other}, expected min_ttl N or max_ttl N"
                        ),
                    );
                    continue;
                }
            };
            *slot = match args.next() {
                Some(v) => self
                    .int_token(&option.text, v, 0, 255)
                    .and_then(|n| u8::try_from(n).ok()),
                None => {
                    self.warn(
                        &option.span,
                        format!("{} needs a value, expected an integer 0..255", option.text),
                    );
                    None
                }
            };
        }
        Some(peer)
    }

    /// A `virtual_routes` / `static_routes` line, checked with the route parser: an invalid
    /// one is skipped with a warning at its position (keepalived skips it too), a valid one
    /// gets keepalived's warnings for deprecated words.
    pub fn route_line(&mut self, entry: &Node) -> Option<String> {
        let text = parse::line_text(entry);
        match iproute::parse_route(&text) {
            Ok(_) => {
                for warning in iproute::route_warnings(&text) {
                    self.warn(entry.span(), format!("route `{text}`: {warning}"));
                }
                Some(text)
            }
            Err(e) => {
                self.warn(
                    entry.span(),
                    format!(
                        "invalid route `{text}`: {e}, expected `ip route` syntax; route skipped"
                    ),
                );
                None
            }
        }
    }

    /// A `virtual_rules` / `static_rules` line, checked with the rule parser: an invalid one
    /// is skipped with a warning; one without a preference gets keepalived's (counting down
    /// from 16384 per family in file order), written into the kept line, with its warning.
    pub fn rule_line(&mut self, entry: &Node) -> Option<String> {
        let text = parse::line_text(entry);
        let priorities = &mut self.rule_priorities;
        match iproute::parse_rule(&text, &mut |v6| priorities.next(v6)) {
            Ok((_, false)) => Some(text),
            Ok((rule, true)) => {
                self.warn(
                    entry.span(),
                    format!(
                        "rule `{text}` has no preference, set to {}; this is probably not what \
                        you want, expected preference N",
                        rule.priority
                    ),
                );
                Some(format!("{text} preference {}", rule.priority))
            }
            Err(e) => {
                self.warn(
                    entry.span(),
                    format!("invalid rule `{text}`: {e}, expected `ip rule` syntax; rule skipped"),
                );
                None
            }
        }
    }

    /// A virtual address line; `None` (with a warning) if the address is invalid.
    pub fn virtual_ip(&mut self, entry: &Node) -> Option<VirtualIp> {
        let first = entry.keyword();
        let Some((address, prefix_len)) = parse_prefix(&first.text) else {
            self.warn(
                &first.span,
                format!(
                    "invalid IP address {}, expected ADDR[/PREFIXLEN], address skipped",
                    first.text
                ),
            );
            return None;
        };
        let mut vip = VirtualIp::new(address);
        if let Some(len) = prefix_len {
            vip.prefix_len = len;
        }
        let mut args = entry.args().iter();
        while let Some(option) = args.next() {
            self.vip_option(&mut vip, option, &mut args);
        }
        if vip.peer.is_some() && vip.broadcast.take().is_some() {
            self.warn(
                &first.span,
                "cannot specify broadcast and peer addresses, broadcast ignored",
            );
        }
        Some(vip)
    }

    /// `peer ADDR` (keepalived: a plain address of the same family; the address's prefix
    /// becomes the host prefix).
    fn vip_peer(&mut self, vip: &mut VirtualIp, value: &Token) {
        if vip.peer.is_some() {
            let msg = format!(
                "peer {} - another peer has already been specified",
                value.text
            );
            self.warn(&value.span, msg);
            return;
        }
        let Ok(peer) = value.text.parse::<IpAddr>() else {
            let msg = format!(
                "invalid peer address {}, expected an address without prefix",
                value.text
            );
            self.warn(&value.span, msg);
            return;
        };
        if peer.is_ipv4() != vip.address.is_ipv4() {
            let msg = format!("peer address {peer} does not match the address family");
            self.warn(&value.span, msg);
            return;
        }
        let host = if peer.is_ipv4() { 32 } else { 128 };
        if vip.prefix_len != host {
            self.warn(
                &value.span,
                "cannot specify address prefix when specifying peer address, prefix ignored",
            );
            vip.prefix_len = host;
        }
        vip.peer = Some(peer);
    }

    fn vip_option<'t>(
        &mut self,
        vip: &mut VirtualIp,
        option: &Token,
        args: &mut impl Iterator<Item = &'t Token>,
    ) {
        let is_v6 = vip.address.is_ipv6();
        if let Some(known) = keywords::address_option(&option.text) {
            self.record(ADDRESS_OPTIONS, known.name, known.status, &option.span);
        }
        match option.text.as_str() {
            "home" => vip.home = true,
            "-nodad" => vip.nodad = true,
            "mngtmpaddr" => vip.mngtmpaddr = true,
            "noprefixroute" => vip.noprefixroute = true,
            "autojoin" => vip.autojoin = true,
            "no_track" => vip.no_track = true,
            "use_vmac" => vip.use_vmac = true,
            "brd" | "broadcast" | "dev" | "scope" | "label" | "peer" | "preferred_lft" => {
                let Some(value) = args.next() else {
                    self.warn(&option.span, format!("address option {} needs a value", option.text));
                    return;
                };
                self.vip_valued_option(vip, option, value, is_v6);
            }
            other => self.warn(
                &option.span,
                format!("unknown address option {other}, expected brd, dev, scope, label, peer, home, -nodad, mngtmpaddr, noprefixroute, autojoin, no_track, preferred_lft or use_vmac"),
            ),
        }
    }

    fn vip_valued_option(
        &mut self,
        vip: &mut VirtualIp,
        option: &Token,
        value: &Token,
        is_v6: bool,
    ) {
        let text = value.text.clone();
        match option.text.as_str() {
            "dev" => vip.dev = Some(text),
            "peer" => self.vip_peer(vip, value),
            "scope" | "label" if is_v6 => {
                self.warn(
                    &option.span,
                    format!(
                        "{} is not supported for IPv6 addresses, ignored",
                        option.text
                    ),
                );
            }
            "scope" => vip.scope = Some(text),
            "label" => vip.label = Some(text),
            "brd" | "broadcast" => {
                vip.broadcast = match text.as_str() {
                    "+" => Some(Broadcast::Plus),
                    "-" => Some(Broadcast::Minus),
                    t => match t.parse() {
                        Ok(addr) if !is_v6 => Some(Broadcast::Address(addr)),
                        _ => {
                            self.warn(
                                &value.span,
                                format!("invalid broadcast {t}, expected an IPv4 address, + or -"),
                            );
                            None
                        }
                    },
                }
            }
            _ => {
                vip.preferred_lft = match text.as_str() {
                    "forever" => Some(PreferredLifetime::Forever),
                    t => match t.parse::<u32>() {
                        Ok(n) => Some(PreferredLifetime::Seconds(n)),
                        Err(_) => {
                            self.warn(
                                &value.span,
                                format!("invalid preferred_lft {t}, expected seconds or forever"),
                            );
                            None
                        }
                    },
                }
            }
        }
    }
}

/// `ADDR` or `ADDR/LEN` with LEN valid for the family.
pub fn parse_prefix(text: &str) -> Option<(IpAddr, Option<u8>)> {
    let (addr_text, len_text) = match text.split_once('/') {
        Some((a, l)) => (a, Some(l)),
        None => (text, None),
    };
    let address: IpAddr = addr_text.parse().ok()?;
    let max = if address.is_ipv4() { 32 } else { 128 };
    let len = match len_text {
        Some(l) => Some(l.parse::<u8>().ok().filter(|n| *n <= max)?),
        None => None,
    };
    Some((address, len))
}

/// Decimal seconds with at most 6 decimals, as µs (no floating point).
pub fn parse_decimal_us(text: &str) -> Option<u64> {
    let (whole, frac) = match text.split_once('.') {
        Some((w, f)) => (w, f),
        None => (text, ""),
    };
    if (whole.is_empty() && frac.is_empty()) || frac.len() > 6 {
        return None;
    }
    let digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    if !digits(whole) || !digits(frac) {
        return None;
    }
    let whole_us = if whole.is_empty() {
        0
    } else {
        whole.parse::<u64>().ok()?.checked_mul(1_000_000)?
    };
    let frac_us = if frac.is_empty() {
        0
    } else {
        format!("{frac:0<6}").parse::<u64>().ok()?
    };
    whole_us.checked_add(frac_us)
}

/// µs as decimal seconds without trailing zeros.
pub fn format_us(us: u64) -> String {
    let whole = us / 1_000_000;
    let frac = us % 1_000_000;
    if frac == 0 {
        whole.to_string()
    } else {
        format!("{whole}.{}", format!("{frac:06}").trim_end_matches('0'))
    }
}

/// Truncates to at most `max` bytes on a char boundary.
pub fn truncate_bytes(text: &str, max: usize) -> String {
    let mut end = text.len().min(max);
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    text[..end].to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decimals() {
        assert_eq!(parse_decimal_us("1"), Some(1_000_000));
        assert_eq!(parse_decimal_us("0.5"), Some(500_000));
        assert_eq!(parse_decimal_us(".000001"), Some(1));
        assert_eq!(parse_decimal_us("1.2345678"), None);
        assert_eq!(parse_decimal_us("-1"), None);
        assert_eq!(parse_decimal_us("."), None);
        assert_eq!(format_us(1_500_000), "1.5");
        assert_eq!(format_us(1), "0.000001");
    }

    #[test]
    fn prefixes() {
        assert!(parse_prefix("192.0.2.1/24").is_some());
        assert!(parse_prefix("192.0.2.1/33").is_none());
        assert!(parse_prefix("192.168.100./24").is_none());
        assert_eq!(parse_prefix("2001:db8::1").map(|p| p.1), Some(None));
    }

    #[test]
    fn truncation() {
        assert_eq!(truncate_bytes("abcdefghij", 8), "abcdefgh");
        assert_eq!(truncate_bytes("ééééé", 8), "éééé");
    }
}
