//! Interpreting the block tree through the keyword tables into the [`Config`] model.

use super::diag::Span;
use super::keywords::{self, parse_state, parse_use_vmac, Keyword, Status};
use super::model::{
    Config, GarpGroup, Origin, TrackFile, TrackProcess, TrackRef, VrrpInstance, VrrpScript,
    VrrpSyncGroup,
};
use super::tree::Node;
use super::values::{Ctx, MAX_TRACK_WEIGHT};

/// Interprets the top-level nodes.
pub fn parse_config(ctx: &mut Ctx<'_>, nodes: &[Node]) -> Config {
    let mut config = Config::default();
    dispatch(ctx, keywords::TOP_LEVEL, TOP_LEVEL, &mut config, nodes);
    config
}

/// The block name of the top-level table (as in [`keywords::all_keywords`]).
pub const TOP_LEVEL: &str = "top level";

/// Runs the handler of each node's keyword and records its status ([`Ctx::record`]); unknown
/// keywords are warned about and ignored. `block` is the table's block name as in
/// [`keywords::all_keywords`].
pub fn dispatch<T>(
    ctx: &mut Ctx<'_>,
    table: &[Keyword<T>],
    block: &'static str,
    target: &mut T,
    nodes: &[Node],
) {
    for node in nodes {
        let keyword = &node.keyword().text;
        match table.iter().find(|k| k.name == keyword.as_str()) {
            Some(entry) => {
                ctx.record(block, entry.name, entry.status, node.span());
                (entry.apply)(ctx, target, node)
            }
            None => ctx.warn(
                node.span(),
                format!(
                    "unknown keyword {keyword} in {}, ignored{}",
                    if block == TOP_LEVEL {
                        "the top level"
                    } else {
                        block
                    },
                    if node.block.is_some() {
                        " with its block"
                    } else {
                        ""
                    }
                ),
            ),
        }
    }
}

/// Handler of other subsystems' blocks: one warning for the whole block.
pub fn skip_block<T>(ctx: &mut Ctx<'_>, _target: &mut T, node: &Node) {
    let keyword = &node.keyword().text;
    let status = keywords::TOP_LEVEL
        .iter()
        .find(|k| k.name == keyword.as_str())
        .map(|k| k.status);
    debug_assert!(matches!(status, Some(Status::Skipped) | None));
    if keyword == "bfd_instance" {
        if let Some(name) = node.args().first() {
            ctx.add_bfd_instance(name.text.clone());
        }
    }
    ctx.note(
        node.span(),
        format!("{keyword} block skipped: it belongs to another keepalived subsystem, not VRRP"),
    );
}

/// A line of a text-kept block (routes, rules), words joined by single spaces.
pub fn line_text(node: &Node) -> String {
    node.words
        .iter()
        .map(|w| w.text.as_str())
        .collect::<Vec<_>>()
        .join(" ")
}

/// The block name of `vrrp_instance NAME`, etc.; warns if missing.
fn block_name(ctx: &mut Ctx<'_>, node: &Node) -> Option<String> {
    let name = node.args().first().map(|t| t.text.clone());
    if name.is_none() {
        let kw = &node.keyword().text;
        ctx.warn(
            node.span(),
            format!("{kw} needs a name, expected {kw} NAME {{ ... }}; block ignored"),
        );
    }
    if node.block.is_none() && name.is_some() {
        let kw = &node.keyword().text;
        ctx.warn(
            node.span(),
            format!("{kw} has no block, expected {kw} NAME {{ ... }}"),
        );
    }
    name
}

/// `vrrp_script NAME { ... }`.
pub fn vrrp_script(ctx: &mut Ctx<'_>, config: &mut Config, node: &Node) {
    let Some(name) = block_name(ctx, node) else {
        return;
    };
    let mut script = VrrpScript {
        name,
        origin: Origin(node.span().clone()),
        ..VrrpScript::default()
    };
    dispatch(
        ctx,
        keywords::VRRP_SCRIPT,
        "vrrp_script",
        &mut script,
        node.children(),
    );
    config.vrrp_scripts.push(script);
}

/// The command of `script`: a quoted string, or the unquoted words joined.
pub fn script_text(ctx: &mut Ctx<'_>, node: &Node) -> Option<String> {
    let first = ctx.arg(node, "a script path or a quoted command line")?;
    if first.quoted {
        return Some(first.text.clone());
    }
    Some(line_text(&Node {
        words: node.args().to_vec(),
        block: None,
    }))
}

/// `vrrp_instance NAME { ... }`: starts from the global defaults read so far (keepalived copies
/// them when the block starts, so `global_defs` must come first).
pub fn vrrp_instance(ctx: &mut Ctx<'_>, config: &mut Config, node: &Node) {
    let Some(name) = block_name(ctx, node) else {
        return;
    };
    let global = &config.global_defs;
    let mut instance = VrrpInstance {
        name,
        origin: Origin(node.span().clone()),
        garp: global.garp,
        v3_checksum_as_v2: global.v3_checksum_as_v2,
        skip_check_adv_addr: global.vrrp_skip_check_adv_addr,
        down_timer_adverts: global.vrrp_down_timer_adverts,
        ..VrrpInstance::default()
    };
    if global.vrrp_min_garp {
        apply_min_garp(&mut instance);
    }
    dispatch(
        ctx,
        keywords::VRRP_INSTANCE,
        "vrrp_instance",
        &mut instance,
        node.children(),
    );
    config.vrrp_instances.push(instance);
}

/// `vrrp_min_garp`: one GARP, no delayed burst and no refresh, unless set explicitly.
fn apply_min_garp(instance: &mut VrrpInstance) {
    let defaults = super::model::GarpSettings::default();
    if instance.garp.master_repeat == defaults.master_repeat {
        instance.garp.master_repeat = 1;
    }
    if instance.garp.master_delay_secs == defaults.master_delay_secs {
        instance.garp.master_delay_secs = 0;
    }
}

/// `state MASTER|BACKUP`.
pub fn instance_state(ctx: &mut Ctx<'_>, instance: &mut VrrpInstance, node: &Node) {
    let Some(token) = ctx.arg(node, "MASTER or BACKUP") else {
        return;
    };
    match parse_state(&token.text) {
        Some(state) => instance.state = Some(state),
        None => ctx.warn(
            &token.span,
            format!("state {} is unknown, expected MASTER or BACKUP", token.text),
        ),
    }
}

/// `use_vmac [...]`.
pub fn use_vmac(_ctx: &mut Ctx<'_>, instance: &mut VrrpInstance, node: &Node) {
    instance.use_vmac = Some(parse_use_vmac(node.args()));
}

/// `timer_expired_backup [PRIO]`. A bad PRIO leaves the keyword unset (keepalived 2.4.3).
pub fn timer_expired_backup(ctx: &mut Ctx<'_>, instance: &mut VrrpInstance, node: &Node) {
    let priority = match node.args().first() {
        Some(token) => match ctx.int_token(&node.keyword().text, token, 1, 254) {
            Some(p) => Some(p as u8),
            None => return,
        },
        None => None,
    };
    instance.timer_expired_backup = Some(priority);
}

/// The entries of a `track_*` block.
pub fn track_list(ctx: &mut Ctx<'_>, list: &str, node: &Node) -> Vec<TrackRef> {
    let max = if matches!(list, "track_file" | "track_process") {
        254
    } else {
        MAX_TRACK_WEIGHT
    };
    node.children()
        .iter()
        .map(|entry| ctx.track_entry(list, entry, max))
        .collect()
}

/// `vrrp_sync_group NAME { ... }`.
pub fn vrrp_sync_group(ctx: &mut Ctx<'_>, config: &mut Config, node: &Node) {
    let Some(name) = block_name(ctx, node) else {
        return;
    };
    let mut group = VrrpSyncGroup {
        name,
        origin: Origin(node.span().clone()),
        ..VrrpSyncGroup::default()
    };
    dispatch(
        ctx,
        keywords::VRRP_SYNC_GROUP,
        "vrrp_sync_group",
        &mut group,
        node.children(),
    );
    config.vrrp_sync_groups.push(group);
}

/// `track_file NAME { ... }`.
pub fn track_file(ctx: &mut Ctx<'_>, config: &mut Config, node: &Node) {
    let Some(name) = block_name(ctx, node) else {
        return;
    };
    let mut track = TrackFile {
        name,
        ..TrackFile::default()
    };
    dispatch(
        ctx,
        keywords::TRACK_FILE,
        "track_file",
        &mut track,
        node.children(),
    );
    if track.file.is_none() {
        ctx.warn(
            node.span(),
            format!(
                "track_file {} has no file, expected file PATH; ignored",
                track.name
            ),
        );
        return;
    }
    config.track_files.push(track);
}

/// `vrrp_track_process NAME { ... }`.
pub fn track_process(ctx: &mut Ctx<'_>, config: &mut Config, node: &Node) {
    let Some(name) = block_name(ctx, node) else {
        return;
    };
    let mut track = TrackProcess {
        name,
        ..TrackProcess::default()
    };
    dispatch(
        ctx,
        keywords::TRACK_PROCESS,
        "vrrp_track_process",
        &mut track,
        node.children(),
    );
    if track.process.is_empty() {
        ctx.warn(
            node.span(),
            format!(
                "vrrp_track_process {} has no process, expected process NAME; ignored",
                track.name
            ),
        );
        return;
    }
    config.track_processes.push(track);
}

/// `garp_group { ... }`.
pub fn garp_group(ctx: &mut Ctx<'_>, config: &mut Config, node: &Node) {
    let mut group = GarpGroup::default();
    dispatch(
        ctx,
        keywords::GARP_GROUP,
        "garp_group",
        &mut group,
        node.children(),
    );
    config.garp_groups.push(group);
}

/// The span to report a whole block at.
pub fn origin_span(origin: &Origin) -> &Span {
    &origin.0
}
