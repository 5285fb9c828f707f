//! `keepalived.json` (`SIGRTMIN+2`), rendered with serde_json.
//!
//! The keys come in keepalived's order (the structs below are declared in that order) and
//! the text is byte-identical to keepalived 2.2.7's: one line, strings with `/` escaped as
//! `\/` (its writer does; any JSON reader reads `/`), `last_transition` with six decimals and
//! the intervals as C's `%g` prints them.

use std::io;
use std::time::Duration;

use serde::Serialize;
use serde_json::value::RawValue;

use super::model::{
    AuthDump, CommandDump, DumpInput, InstanceDump, JsonVersion, KeepalivedCounters, ScriptDump,
    VipDump,
};

/// The `SIGRTMIN+2` JSON file (`keepalived.json`): with [`JsonVersion::V1`] an array with one
/// `{"data":{…},"stats":{…}}` object per instance, with [`JsonVersion::V2`] the same array as
/// `{"vrrp":[…]}`; on one line ending with a newline. Empty string when there are no
/// instances (keepalived then writes no file).
pub fn render_json(input: &DumpInput) -> String {
    if input.instances.is_empty() {
        return String::new();
    }
    let instances: Vec<JsonInstance<'_>> = (input.instances.iter())
        .map(|i| JsonInstance {
            data: JsonData::of(i, &input.scripts),
            stats: KeepalivedCounters::from(&i.stats),
        })
        .collect();
    let mut out = match input.json_version {
        JsonVersion::V1 => to_keepalived_json(&instances),
        JsonVersion::V2 => to_keepalived_json(&JsonV2 { vrrp: &instances }),
    };
    out.push('\n');
    out
}

/// `{"vrrp":[…]}` (json_version 2; keepalived adds `track_process` here, which vrrpd leaves
/// out, see docs/dump-files.md).
#[derive(Serialize)]
struct JsonV2<'a> {
    vrrp: &'a [JsonInstance<'a>],
}

#[derive(Serialize)]
struct JsonInstance<'a> {
    data: JsonData<'a>,
    stats: KeepalivedCounters,
}

/// keepalived's `data` object, keys in its order.
#[derive(Serialize)]
struct JsonData<'a> {
    iname: &'a str,
    dont_track_primary: u8,
    skip_check_adv_addr: u8,
    strict_mode: u8,
    vmac_ifname: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    ifp_ifname: Option<&'a str>,
    master_priority: u8,
    /// `%f`: six decimals.
    last_transition: Box<RawValue>,
    garp_delay: u32,
    garp_refresh: u32,
    garp_rep: u32,
    garp_refresh_rep: u32,
    garp_lower_prio_delay: u32,
    garp_lower_prio_rep: u32,
    lower_prio_no_advert: u8,
    higher_prio_send_advert: u8,
    vrid: u8,
    base_priority: u8,
    effective_priority: u8,
    vipset: bool,
    promote_secondaries: bool,
    /// `%g` seconds.
    adver_int: Box<RawValue>,
    master_adver_int: Box<RawValue>,
    accept: u8,
    nopreempt: bool,
    preempt_delay: u64,
    state: u8,
    wantstate: u8,
    version: u8,
    smtp_alert: bool,
    notify_deleted: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    script_backup: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    script_master: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    script_fault: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    script_stop: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    script_deleted: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    script: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    script_master_rx_lower_pri: Option<&'a str>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    vips: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    evips: Vec<String>,
    #[serde(skip_serializing_if = "<[String]>::is_empty")]
    vroutes: &'a [String],
    #[serde(skip_serializing_if = "<[String]>::is_empty")]
    vrules: &'a [String],
    #[serde(skip_serializing_if = "Vec::is_empty")]
    track_ifp: Vec<&'a str>,
    /// The tracked scripts' commands (keepalived lists commands, not names).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    track_script: Vec<&'a str>,
    auth_type: u8,
    #[serde(skip_serializing_if = "Option::is_none")]
    auth_data: Option<&'a str>,
}

impl<'a> JsonData<'a> {
    fn of(i: &'a InstanceDump, scripts: &'a [ScriptDump]) -> Self {
        let command = |c: &'a Option<CommandDump>| c.as_ref().map(|c| c.command.as_str());
        let n = &i.notify;
        let (auth_type, auth_data) = match &i.auth {
            AuthDump::None => (0, None),
            AuthDump::Pass(p) => (1, Some(p.as_str())),
            AuthDump::Ah(k) => (2, Some(k.as_str())),
        };
        let track_script = (i.tracked_scripts.iter())
            .map(|t| {
                (scripts.iter().find(|s| s.name == t.name))
                    .map_or(t.name.as_str(), |s| s.command.as_str())
            })
            .collect();
        let lt = i.last_transition;
        JsonData {
            iname: &i.name,
            dont_track_primary: u8::from(i.dont_track_primary),
            skip_check_adv_addr: u8::from(i.skip_check_adv_addr),
            strict_mode: u8::from(i.strict_mode),
            vmac_ifname: &i.vmac_ifname,
            ifp_ifname: i.interface.as_deref(),
            master_priority: i.master_priority,
            last_transition: raw(format!("{}.{:06}", lt.as_secs(), lt.subsec_micros())),
            garp_delay: i.garp_delay,
            garp_refresh: i.garp_refresh,
            garp_rep: i.garp_repeat,
            garp_refresh_rep: i.garp_refresh_repeat,
            garp_lower_prio_delay: i.garp_lower_prio_delay,
            garp_lower_prio_rep: i.garp_lower_prio_repeat,
            lower_prio_no_advert: u8::from(i.lower_prio_no_advert),
            higher_prio_send_advert: u8::from(i.higher_prio_send_advert),
            vrid: i.vrid,
            base_priority: i.base_priority,
            effective_priority: i.effective_priority,
            vipset: i.vips_set,
            promote_secondaries: i.promote_secondaries,
            adver_int: raw(c_g(i.advert_interval)),
            master_adver_int: raw(c_g(i.master_advert_interval)),
            accept: u8::from(i.accept),
            nopreempt: !i.preempt,
            preempt_delay: i.preempt_delay.as_secs(),
            state: i.state.number(),
            wantstate: i.wanted_state.number(),
            version: i.version,
            smtp_alert: i.smtp_alert,
            notify_deleted: i.notify_deleted,
            script_backup: command(&n.backup),
            script_master: command(&n.master),
            script_fault: command(&n.fault),
            script_stop: command(&n.stop),
            script_deleted: command(&n.deleted),
            script: command(&n.generic),
            script_master_rx_lower_pri: command(&n.master_rx_lower_pri),
            vips: i.vips.iter().map(VipDump::format).collect(),
            evips: i.excluded_vips.iter().map(VipDump::format).collect(),
            vroutes: &i.virtual_routes,
            vrules: &i.virtual_rules,
            track_ifp: i
                .tracked_interfaces
                .iter()
                .map(|t| t.name.as_str())
                .collect(),
            track_script,
            auth_type,
            auth_data,
        }
    }
}

/// A number written as given (`text` is always a valid JSON number here; `null` otherwise).
fn raw(text: String) -> Box<RawValue> {
    RawValue::from_string(text).unwrap_or_else(|_| RawValue::NULL.to_owned())
}

/// Seconds as C's `%g` prints the values that occur here (at most 6 significant digits).
fn c_g(d: Duration) -> String {
    let v = d.as_secs_f64();
    if v.fract() == 0.0 {
        format!("{}", v as u64)
    } else {
        format!("{v:.6}").trim_end_matches('0').to_string()
    }
}

/// `value` as compact JSON with keepalived's string escaping.
fn to_keepalived_json<T: Serialize>(value: &T) -> String {
    let mut buf = Vec::new();
    let mut ser = serde_json::Serializer::with_formatter(&mut buf, SlashEscaping);
    // Serializing these types into memory cannot fail.
    if value.serialize(&mut ser).is_err() {
        return String::new();
    }
    String::from_utf8(buf).unwrap_or_default()
}

/// serde_json's compact output, with `/` in strings escaped as `\/` (keepalived's writer).
struct SlashEscaping;

impl serde_json::ser::Formatter for SlashEscaping {
    fn write_string_fragment<W: ?Sized + io::Write>(
        &mut self,
        writer: &mut W,
        fragment: &str,
    ) -> io::Result<()> {
        let mut parts = fragment.split('/');
        if let Some(first) = parts.next() {
            writer.write_all(first.as_bytes())?;
        }
        for part in parts {
            writer.write_all(b"\\/")?;
            writer.write_all(part.as_bytes())?;
        }
        Ok(())
    }
}
