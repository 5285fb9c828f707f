//! The keepalived.conf parser.
//!
//! Reading a configuration goes through these stages, one module each:
//!
//! 1. [`source`]: reads the files and handles the line-level preprocessing keepalived does:
//!    comments, `include GLOB` (relative to the including file, with brace expansion),
//!    `@ID` / `@^ID` conditional lines, `$NAME=value` definitions and `$NAME` / `${NAME}` use,
//!    and `~SEQ` / `~LST` line repetition. It lexes each line with [`lexer`].
//! 2. [`lexer`]: splits a line into [`lexer::Token`]s (quoted strings are one token, braces are
//!    tokens of their own and end the logical line). Every token keeps its file, line and column.
//! 3. [`tree`]: groups lines into keyword nodes with `{ ... }` blocks.
//! 4. [`parse`] with [`keywords`]: dispatches each keyword through static tables (one per block
//!    kind, with argument syntax, description and [`status`]) into the typed [`model`].
//!    Argument parsing helpers live in [`values`]. Every line whose keyword vrrpd does not act
//!    on is recorded ([`usage`]) and noted at its position: the `-t` output, the startup
//!    warnings and refusals, and the configuration reference all come from the statuses.
//! 5. [`resolve`]: applies keepalived 2.2.7's defaults and checks (priority/state defaults,
//!    version per family, advert_int rounding, tracker weights, sync groups, owner and strict
//!    rules, fatal errors such as a missing VRID or a duplicate VRID). [`auth_hmac`] holds the
//!    `auth_hmac` block's handlers and checks (keepalived 2.4.3; refused for now).
//!
//! Problems are reported as [`Diagnostic`]s (`file:line:column: message`); [`exit_class`] maps
//! them to the `keepalived -t` exit code classes.

pub mod auth_hmac;
pub mod diag;
pub mod keywords;
pub mod lexer;
pub mod model;
pub mod parse;
pub mod resolve;
pub mod source;
pub mod status;
pub mod tree;
pub mod usage;
pub mod values;

use std::path::Path;

pub use diag::{exit_class, Diagnostic, ExitClass, Impact, Severity, Span};
pub use model::Config;
pub use usage::KeywordUse;

/// How to load a configuration.
#[derive(Debug, Clone, Default)]
pub struct LoadOptions {
    /// keepalived's config id (`-i`), selecting `@ID` lines. keepalived defaults to the short host name.
    pub config_id: String,
    /// Interfaces that exist on the host. `None` skips the existence check (the default, so a
    /// configuration can be checked on another machine); `Some` reports missing interfaces as
    /// keepalived does (unless `dynamic_interfaces` is set).
    pub known_interfaces: Option<Vec<String>>,
    /// Whether the `keepalived_script` user exists: keepalived runs scripts as that user when no
    /// `script_user` is set, which avoids the script security violation.
    pub keepalived_script_user_exists: bool,
    /// Look up script programs on this host (absolute path, or `PATH` search) as keepalived
    /// does: a script whose program is missing is disabled and does not count towards the
    /// script security violation. When false, every script is assumed to exist.
    pub check_script_paths: bool,
}

/// A successfully loaded configuration.
#[derive(Debug, Clone)]
pub struct Loaded {
    /// The resolved model.
    pub config: Config,
    /// Warnings (nothing fatal), including a note for every line whose keyword vrrpd does
    /// not act on.
    pub warnings: Vec<Diagnostic>,
    /// The lines whose keyword vrrpd does not act on, from the keyword tables' statuses (see
    /// [`usage`]); empty for a YAML configuration.
    pub not_acted_on: Vec<KeywordUse>,
}

impl Loaded {
    /// The `keepalived -t` exit class of the warnings.
    pub fn exit_class(&self) -> ExitClass {
        exit_class(&self.warnings)
    }
}

/// A configuration that has at least one error.
#[derive(Debug, Clone, thiserror::Error)]
#[error("configuration has {} error(s); first: {}", self.error_count(), self.first_error())]
pub struct ConfigErrors {
    /// All diagnostics, errors and warnings, in the order found.
    pub diagnostics: Vec<Diagnostic>,
    /// The model as far as it could be resolved.
    pub partial: Box<Config>,
    /// The lines whose keyword vrrpd does not act on (their notes are in `diagnostics`).
    pub not_acted_on: Vec<KeywordUse>,
}

impl ConfigErrors {
    /// Number of error diagnostics.
    pub fn error_count(&self) -> usize {
        self.errors().count()
    }

    /// The error diagnostics.
    pub fn errors(&self) -> impl Iterator<Item = &Diagnostic> {
        self.diagnostics
            .iter()
            .filter(|d| d.severity == Severity::Error)
    }

    /// The `keepalived -t` exit class of all diagnostics.
    pub fn exit_class(&self) -> ExitClass {
        exit_class(&self.diagnostics)
    }

    fn first_error(&self) -> String {
        self.errors()
            .next()
            .map_or_else(String::new, ToString::to_string)
    }
}

/// Loads, parses and resolves a configuration file.
pub fn load(path: &Path, options: &LoadOptions) -> Result<Loaded, ConfigErrors> {
    let mut diagnostics = Vec::new();
    let items =
        source::SourceReader::new(&options.config_id, &mut diagnostics).read_main_file(path);
    finish(items, diagnostics, options)
}

/// Loads configuration text held in memory; `name` is used in diagnostics and includes are
/// resolved relative to `dir`.
pub fn load_str(
    name: &str,
    dir: &Path,
    text: &str,
    options: &LoadOptions,
) -> Result<Loaded, ConfigErrors> {
    let mut diagnostics = Vec::new();
    let items =
        source::SourceReader::new(&options.config_id, &mut diagnostics).read_str(name, dir, text);
    finish(items, diagnostics, options)
}

fn finish(
    items: Vec<lexer::Item>,
    mut diagnostics: Vec<Diagnostic>,
    options: &LoadOptions,
) -> Result<Loaded, ConfigErrors> {
    let nodes = tree::build(items, &mut diagnostics);
    let mut ctx = values::Ctx::new(&mut diagnostics);
    let mut config = parse::parse_config(&mut ctx, &nodes);
    resolve::resolve(&mut ctx, &mut config, options);
    let not_acted_on = ctx.take_not_acted_on();
    if diagnostics.iter().any(|d| d.severity == Severity::Error) {
        Err(ConfigErrors {
            diagnostics,
            partial: Box::new(config),
            not_acted_on,
        })
    } else {
        Ok(Loaded {
            config,
            warnings: diagnostics,
            not_acted_on,
        })
    }
}
