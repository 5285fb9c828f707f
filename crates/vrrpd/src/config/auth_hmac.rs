//! The `auth_hmac` block of a `vrrp_instance` (keepalived 2.4.3's advert authentication,
//! [`vrrp_core::auth_hmac`]): its keyword handlers, key decoding and key files, and the checks
//! of the resolved instance.
//!
//! Keywords and bounds are keepalived's: `key ID VALUE` (id 1..255, 32..64 bytes given as
//! `hex:HEX`, an ASCII string or `file:PATH`), `active_key ID`, `anti_replay time|monotonic`,
//! `time_window 1..300`, `mode enforce|permissive|receive-only`. Where keepalived disables the
//! extension or drops a key after an error (and so may run unauthenticated), vrrpd reports an
//! error and refuses the configuration. A bad `anti_replay`, `time_window` or `mode` value is
//! a warning and keeps the default, as in keepalived (the defaults are the strict settings).
//!
//! The router signs and verifies with the resolved block ([`crate::convert`] turns it into
//! [`vrrp_core::RouterConfig::auth_hmac`]). A YAML model holds no secrets, so one with the
//! block is refused ([`refusals`]): a security setting is never run without its keys.

use std::fs::File;
use std::io::{ErrorKind, Read};
use std::os::unix::fs::PermissionsExt;

use vrrp_core::auth_hmac::{AntiReplay, Key, Mode, TimeWindow, KEY_MAX_LEN};
use zeroize::Zeroizing;

use super::diag::{Diagnostic, Impact, Severity, Span};
use super::keywords::AUTH_HMAC;
use super::lexer::Token;
use super::model::{AuthHmac, AuthHmacKey, Config, KeySource, Origin, VrrpInstance};
use super::parse;
use super::tree::Node;
use super::values::Ctx;

/// Why a YAML model with `auth_hmac` is refused (after the instance name).
pub const YAML_HOLDS_NO_KEYS: &str = "auth_hmac keys are not carried by a YAML model (it never \
holds secrets), so its adverts would go out unsigned and be accepted unverified; expected the \
keepalived.conf form of the configuration";

/// The longest key file keepalived reads: `hex:`, 64 bytes in hex and some slack for line ends,
/// less one byte (its buffer holds a terminating NUL).
const KEY_FILE_MAX_LEN: usize = 4 + KEY_MAX_LEN * 2 + 8 - 1;

/// What a key value is, for messages.
const KEY_VALUE: &str = "hex:HEX, an ASCII string or file:PATH";

/// `auth_hmac { ... }`: a second block in the same instance adds to the first, as in keepalived.
pub fn block(ctx: &mut Ctx<'_>, instance: &mut VrrpInstance, node: &Node) {
    let mut block = instance.auth_hmac.take().unwrap_or_else(|| AuthHmac {
        origin: Origin(node.span().clone()),
        ..AuthHmac::default()
    });
    parse::dispatch(ctx, AUTH_HMAC, "auth_hmac", &mut block, node.children());
    instance.auth_hmac = Some(block);
}

/// `key ID VALUE`.
pub fn key(ctx: &mut Ctx<'_>, block: &mut AuthHmac, node: &Node) {
    let (Some(id_token), Some(value)) = (node.args().first(), node.args().get(1)) else {
        ctx.error(
            node.span(),
            format!("auth_hmac key needs an id and a value, expected key ID VALUE with VALUE {KEY_VALUE}"),
        );
        return;
    };
    if let Some(extra) = node.args().get(2) {
        ctx.note(
            &extra.span,
            "auth_hmac key has words after its value, ignored; expected a quoted value if it contains spaces",
        );
    }
    let Some(id) = key_id(ctx, "auth_hmac key id", id_token) else {
        return;
    };
    let Some((source, secret)) = key_value(ctx, id, value) else {
        return;
    };
    let secret = match Key::new(id, &secret) {
        Ok(key) => key,
        Err(e) => {
            let origin = match &source {
                KeySource::File(path) => format!(" (in {path})"),
                KeySource::Hex | KeySource::Ascii => String::new(),
            };
            ctx.error(&value.span, format!("auth_hmac {e}{origin}"));
            return;
        }
    };
    if block.keys.iter().any(|k| k.id == id) {
        ctx.error(
            &id_token.span,
            format!("duplicate auth_hmac key id {id}, expected each key id once"),
        );
        return;
    }
    block.keys.push(AuthHmacKey {
        id,
        source,
        secret: Some(secret),
    });
}

/// `active_key ID`.
pub fn active_key(ctx: &mut Ctx<'_>, block: &mut AuthHmac, node: &Node) {
    let Some(token) = node.args().first() else {
        ctx.error(
            node.span(),
            "auth_hmac active_key needs an id, expected active_key 1..255",
        );
        return;
    };
    if let Some(id) = key_id(ctx, "auth_hmac active_key", token) {
        block.active_key = Some(id);
    }
}

/// `anti_replay time|monotonic`.
pub fn anti_replay(ctx: &mut Ctx<'_>, block: &mut AuthHmac, node: &Node) {
    let Some(token) = ctx.arg(node, "time or monotonic") else {
        return;
    };
    match AntiReplay::from_keyword(&token.text) {
        Some(mode) => block.anti_replay = mode,
        None => ctx.warn(
            &token.span,
            format!(
                "auth_hmac anti_replay {} is unknown, expected time or monotonic; keeping {}",
                token.text,
                block.anti_replay.keyword()
            ),
        ),
    }
}

/// `time_window SECS`.
pub fn time_window(ctx: &mut Ctx<'_>, block: &mut AuthHmac, node: &Node) {
    let (lo, hi) = (TimeWindow::MIN_SECS, TimeWindow::MAX_SECS);
    let Some(token) = ctx.arg(node, &format!("seconds {lo}..{hi}")) else {
        return;
    };
    if let Some(secs) = ctx.int_token("auth_hmac time_window", token, i64::from(lo), i64::from(hi))
    {
        block.time_window_secs = u16::try_from(secs).ok();
    }
}

/// `mode enforce|permissive|receive-only`.
pub fn mode(ctx: &mut Ctx<'_>, block: &mut AuthHmac, node: &Node) {
    let Some(token) = ctx.arg(node, "enforce, permissive or receive-only") else {
        return;
    };
    match Mode::from_keyword(&token.text) {
        Some(mode) => block.mode = mode,
        None => ctx.warn(
            &token.span,
            format!(
                "auth_hmac mode {} is unknown, expected enforce, permissive or receive-only; keeping {}",
                token.text,
                block.mode.keyword()
            ),
        ),
    }
}

/// A key id 1..255; an error otherwise.
fn key_id(ctx: &mut Ctx<'_>, what: &str, token: &Token) -> Option<u8> {
    match token.text.parse::<i64>() {
        Ok(n) if (1..=255).contains(&n) => u8::try_from(n).ok(),
        Ok(_) => {
            ctx.error(
                &token.span,
                format!(
                    "{what} {} is out of range, expected an integer 1..255",
                    token.text
                ),
            );
            None
        }
        Err(_) => {
            ctx.error(
                &token.span,
                format!(
                    "{what} {} is not an integer, expected an integer 1..255",
                    token.text
                ),
            );
            None
        }
    }
}

/// The secret a key value stands for, and how it was given.
fn key_value(ctx: &mut Ctx<'_>, id: u8, value: &Token) -> Option<(KeySource, Zeroizing<Vec<u8>>)> {
    if let Some(path) = value.text.strip_prefix("file:") {
        let contents = read_key_file(ctx, id, path, &value.span)?;
        let secret = decode_key(ctx, id, &contents, &value.span, &format!(" (in {path})"))?;
        return Some((KeySource::File(path.to_string()), secret));
    }
    let source = if value.text.starts_with("hex:") {
        KeySource::Hex
    } else {
        KeySource::Ascii
    };
    let secret = decode_key(ctx, id, value.text.as_bytes(), &value.span, "")?;
    Some((source, secret))
}

/// `hex:HEX` as bytes (keepalived's reading: blanks between bytes are skipped, a single digit
/// before a blank or the end is one byte), anything else as the bytes themselves. `origin` ends
/// the message (" (in PATH)" for a key file).
fn decode_key(
    ctx: &mut Ctx<'_>,
    id: u8,
    text: &[u8],
    span: &Span,
    origin: &str,
) -> Option<Zeroizing<Vec<u8>>> {
    let Some(hex) = text.strip_prefix(b"hex:") else {
        return Some(Zeroizing::new(text.to_vec()));
    };
    let decoded = decode_hex(hex);
    if decoded.is_none() {
        ctx.error(
            span,
            format!("auth_hmac key {id} is not valid hex{origin}, expected hex: followed by hex digit pairs"),
        );
    }
    decoded
}

fn decode_hex(hex: &[u8]) -> Option<Zeroizing<Vec<u8>>> {
    let mut out = Zeroizing::new(Vec::with_capacity(hex.len() / 2 + 1));
    let mut digits = hex.iter().copied().peekable();
    while let Some(first) = digits.next() {
        if first == b' ' || first == b'\t' {
            continue;
        }
        let high = hex_value(first)?;
        let byte = match digits.next_if(|&b| b != b' ') {
            Some(second) => (high << 4) | hex_value(second)?,
            None => high,
        };
        out.push(byte);
    }
    (!out.is_empty()).then_some(out)
}

fn hex_value(digit: u8) -> Option<u8> {
    char::from(digit)
        .to_digit(16)
        .and_then(|v| u8::try_from(v).ok())
}

/// The contents of a key file as keepalived reads them: at most [`KEY_FILE_MAX_LEN`] bytes, up
/// to a NUL byte, without trailing line ends. A file that group or others may access is a
/// security warning (keepalived's class 6), not an error.
fn read_key_file(ctx: &mut Ctx<'_>, id: u8, path: &str, span: &Span) -> Option<Zeroizing<Vec<u8>>> {
    let unreadable = |ctx: &mut Ctx<'_>, e: std::io::Error| {
        ctx.error(
            span,
            format!("auth_hmac key {id} file {path} cannot be read ({e}), expected a file holding hex:HEX or an ASCII key"),
        );
    };
    let mut file = match File::open(path) {
        Ok(file) => file,
        Err(e) => {
            unreadable(ctx, e);
            return None;
        }
    };
    if let Ok(meta) = file.metadata() {
        let mode = meta.permissions().mode();
        if mode & 0o077 != 0 {
            ctx.push(Diagnostic::new(
                Severity::Warning,
                Impact::Security,
                span,
                format!(
                    "auth_hmac key {id} file {path} is accessible by group or others (mode {:04o}), expected mode 0600 or stricter",
                    mode & 0o7777
                ),
            ));
        }
    }
    let mut buf = Zeroizing::new([0u8; KEY_FILE_MAX_LEN + 1]);
    let mut len = 0;
    while len < buf.len() {
        match file.read(&mut buf[len..]) {
            Ok(0) => break,
            Ok(n) => len += n,
            Err(e) if e.kind() == ErrorKind::Interrupted => {}
            Err(e) => {
                unreadable(ctx, e);
                return None;
            }
        }
    }
    if len > KEY_FILE_MAX_LEN {
        ctx.error(
            span,
            format!("auth_hmac key {id} file {path} is too large, expected at most {KEY_FILE_MAX_LEN} bytes (hex: and 64 bytes in hex, or 64 ASCII characters)"),
        );
        return None;
    }
    let mut contents = &buf[..len];
    if let Some(nul) = contents.iter().position(|&b| b == 0) {
        contents = &contents[..nul];
    }
    while let [rest @ .., b'\n' | b'\r'] = contents {
        contents = rest;
    }
    Some(Zeroizing::new(contents.to_vec()))
}

/// Checks an instance's resolved `auth_hmac` block and fills in the default window (from
/// `advert_int` as configured, as keepalived). Runs after
/// strict mode is known and before the legacy `authentication` block may be dropped, so that
/// the two are seen together.
pub fn resolve(ctx: &mut Ctx<'_>, instance: &mut VrrpInstance) {
    let name = instance.name.clone();
    let legacy = instance.authentication.is_some();
    let strict = instance.strict_mode;
    let advert_int = vrrp_core::Duration::from_micros(instance.advert_int_us);
    let Some(block) = instance.auth_hmac.as_mut() else {
        return;
    };
    let span = block.origin.0.clone();
    if legacy {
        ctx.error(
            &span,
            format!("({name}) auth_hmac cannot be combined with authentication, expected one of the two"),
        );
    }
    check_active_key(ctx, &name, block, &span);
    if strict && block.mode != Mode::Enforce {
        ctx.warn(
            &span,
            format!(
                "({name}) strict mode requires auth_hmac mode enforce, using enforce instead of {}",
                block.mode.keyword()
            ),
        );
        block.mode = Mode::Enforce;
    }
    if block.anti_replay == AntiReplay::Time && block.time_window_secs.is_none() {
        block.time_window_secs = Some(TimeWindow::for_advert_interval(advert_int).secs());
    }
}

fn check_active_key(ctx: &mut Ctx<'_>, name: &str, block: &AuthHmac, span: &Span) {
    let ids: Vec<String> = block.keys.iter().map(|k| k.id.to_string()).collect();
    let expected = if ids.is_empty() {
        "the id of a valid key line (the block has none)".to_string()
    } else {
        format!("one of its key ids ({})", ids.join(", "))
    };
    match block.active_key {
        None => ctx.error(
            span,
            format!(
                "({name}) auth_hmac has no active_key, expected active_key ID with ID {expected}"
            ),
        ),
        Some(id) if !block.keys.iter().any(|k| k.id == id) => ctx.error(
            span,
            format!("({name}) auth_hmac active_key {id} is not a defined key, expected {expected}"),
        ),
        Some(_) => {}
    }
}

/// The refusal of a model that did not come from a keepalived.conf (YAML, which holds no
/// secrets): one error per
/// instance with an `auth_hmac` block, located at `file`.
pub fn refusals(config: &Config, file: &str) -> Vec<Diagnostic> {
    config
        .vrrp_instances
        .iter()
        .filter(|i| i.auth_hmac.is_some())
        .map(|i| {
            Diagnostic::error(
                &Span::new(file.into(), 0, 0),
                format!("({}) {YAML_HOLDS_NO_KEYS}", i.name),
            )
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_reads_like_keepalived() {
        let bytes = |s: &str| decode_hex(s.as_bytes()).map(|v| v.to_vec());
        assert_eq!(bytes("0a1B"), Some(vec![0x0a, 0x1b]));
        assert_eq!(bytes("0a 1b\t2c"), Some(vec![0x0a, 0x1b, 0x2c]));
        assert_eq!(bytes("a b"), Some(vec![0x0a, 0x0b]));
        assert_eq!(bytes("abc"), Some(vec![0xab, 0x0c]));
        assert_eq!(bytes("0g"), None);
        assert_eq!(bytes(""), None);
        assert_eq!(bytes("  "), None);
    }
}
