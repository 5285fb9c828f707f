//! Reading configuration text: includes, `@id` conditionals, `$NAME` definitions and
//! `~SEQ`/`~LST` line repetition, producing a flat stream of lexed [`Item`]s.
//!
//! Per physical line, in this order: strip the comment; handle an `@ID` / `@^ID` prefix;
//! record a `$NAME=value` definition (continued over following lines while they end in `\`);
//! expand a `~SEQ(...)`/`~SEQx(...)`/`~LST(...)` prefix into several lines; substitute
//! `$NAME` / `${NAME}` (recursively, undefined names stay literal; the built-ins `${_PWD}`,
//! `${_INSTANCE}`, `${_BANG}`, `${_HASH}` and keepalived 2.4's `${_ENV NAME}`); lex; and finally
//! replace an `include GLOB` line by the lines of the matching files.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::diag::{Diagnostic, Impact, Severity, Span};
use super::lexer::{strip_comment, tokenize, Item};

/// Deepest include nesting accepted (protects against include loops).
const MAX_INCLUDE_DEPTH: usize = 32;
/// Deepest `$NAME` expansion accepted (protects against self-referencing definitions).
const MAX_SUBSTITUTION_DEPTH: usize = 16;
/// Most lines a single `~SEQ` / `~LST` may produce.
const MAX_REPEAT_LINES: usize = 10_000;

/// Reads configuration files into lexed items, collecting diagnostics.
pub struct SourceReader<'a> {
    config_id: &'a str,
    definitions: HashMap<String, String>,
    diagnostics: &'a mut Vec<Diagnostic>,
    items: Vec<Item>,
    include_depth: usize,
}

/// Where the line being processed comes from.
#[derive(Clone)]
struct LineOrigin {
    file: Arc<str>,
    dir: PathBuf,
    line: u32,
}

impl LineOrigin {
    fn span(&self, column: u32) -> Span {
        Span::new(self.file.clone(), self.line, column)
    }
}

impl<'a> SourceReader<'a> {
    /// Creates a reader; `config_id` selects `@ID` lines (keepalived's `-i`, default the short hostname).
    pub fn new(config_id: &'a str, diagnostics: &'a mut Vec<Diagnostic>) -> Self {
        Self {
            config_id,
            definitions: HashMap::new(),
            diagnostics,
            items: Vec::new(),
            include_depth: 0,
        }
    }

    /// Reads the main configuration file. An unreadable file is a fatal diagnostic.
    pub fn read_main_file(mut self, path: &Path) -> Vec<Item> {
        let name: Arc<str> = Arc::from(path.display().to_string());
        match std::fs::read(path) {
            Ok(bytes) => {
                let text = String::from_utf8_lossy(&bytes);
                self.read_text(&name, &parent_dir(path), &text);
            }
            Err(err) => self.diagnostics.push(Diagnostic::new(
                Severity::Error,
                Impact::Fatal,
                &Span::new(name, 0, 0),
                format!("cannot read configuration file: {err}"),
            )),
        }
        self.items
    }

    /// Reads configuration text held in memory; includes are resolved relative to `dir`.
    pub fn read_str(mut self, name: &str, dir: &Path, text: &str) -> Vec<Item> {
        self.read_text(&Arc::from(name), dir, text);
        self.items
    }

    fn read_text(&mut self, file: &Arc<str>, dir: &Path, text: &str) {
        let lines: Vec<&str> = text.lines().collect();
        let mut index = 0;
        while index < lines.len() {
            let origin = LineOrigin {
                file: file.clone(),
                dir: dir.to_path_buf(),
                line: u32::try_from(index + 1).unwrap_or(u32::MAX),
            };
            let stripped = strip_comment(lines[index]);
            index += 1;
            let (column, body) = skip_blank(&stripped, 1);
            let Some((column, body)) = self.apply_conditional(column, body) else {
                continue;
            };
            if body.is_empty() {
                continue;
            }
            if let Some((name, value)) = parse_definition(body) {
                let value = continue_definition(value, &lines, &mut index);
                self.definitions.insert(name.to_string(), value);
                continue;
            }
            self.process_line(&origin, column, body, 0);
        }
    }

    /// Handles an `@ID` / `@^ID` prefix: returns the rest of the line if it is kept.
    fn apply_conditional<'t>(&self, column: u32, body: &'t str) -> Option<(u32, &'t str)> {
        let Some(rest) = body.strip_prefix('@') else {
            return Some((column, body));
        };
        let (negated, rest) = match rest.strip_prefix('^') {
            Some(r) => (true, r),
            None => (false, rest),
        };
        let id_len = rest.find(char::is_whitespace).unwrap_or(rest.len());
        let matches = &rest[..id_len] == self.config_id;
        if matches == negated {
            return None;
        }
        let consumed = body.len() - rest.len() + id_len;
        let after_id = &body[consumed..];
        Some(skip_blank(after_id, column + char_count(&body[..consumed])))
    }

    /// Expands repetition and variables of one logical line, then lexes it.
    fn process_line(&mut self, origin: &LineOrigin, column: u32, body: &str, depth: usize) {
        if let Some(repeat) = parse_repeat(body) {
            self.process_repeat(origin, column, body, repeat, depth);
            return;
        }
        let text = self.substitute(body, &origin.dir, 0);
        for piece in text.split('\n') {
            let (piece_column, piece) = skip_blank(piece, column);
            if !piece.is_empty() {
                self.lex_line(origin, piece_column, piece);
            }
        }
    }

    fn process_repeat(
        &mut self,
        origin: &LineOrigin,
        column: u32,
        body: &str,
        repeat: Repeat,
        depth: usize,
    ) {
        let span = origin.span(column);
        if depth > 4 {
            self.diagnostics.push(Diagnostic::warning(
                &span,
                "~SEQ/~LST nested too deeply, line ignored",
            ));
            return;
        }
        let values = match repeat.values() {
            Ok(values) => values,
            Err(message) => {
                self.diagnostics.push(Diagnostic::warning(&span, message));
                return;
            }
        };
        let rest = &body[repeat.header_len..];
        let (rest_column, rest) = skip_blank(rest, column + char_count(&body[..repeat.header_len]));
        let saved: Vec<(String, Option<String>)> = repeat
            .variables
            .iter()
            .map(|v| (v.clone(), self.definitions.get(v).cloned()))
            .collect();
        for row in values {
            for (variable, value) in repeat.variables.iter().zip(row) {
                self.definitions.insert(variable.clone(), value);
            }
            self.process_line(origin, rest_column, rest, depth + 1);
        }
        for (variable, previous) in saved {
            match previous {
                Some(value) => self.definitions.insert(variable, value),
                None => self.definitions.remove(&variable),
            };
        }
    }

    fn lex_line(&mut self, origin: &LineOrigin, column: u32, text: &str) {
        // `include` is recognised before lexing so that brace expansion in its pattern survives.
        if let Some(pattern) = include_pattern(text) {
            self.include(origin, &pattern, &origin.span(column));
            return;
        }
        self.items
            .extend(tokenize(text, &origin.file, origin.line, column));
    }

    /// Replaces `$NAME` and `${NAME}` by their definitions.
    fn substitute(&self, text: &str, dir: &Path, depth: usize) -> String {
        if depth >= MAX_SUBSTITUTION_DEPTH || !text.contains('$') {
            return text.to_string();
        }
        let mut out = String::with_capacity(text.len());
        let mut rest = text;
        while let Some(pos) = rest.find('$') {
            out.push_str(&rest[..pos]);
            let after = &rest[pos + 1..];
            match self.lookup_reference(after, dir) {
                Some((value, used)) => {
                    out.push_str(&self.substitute(&value, dir, depth + 1));
                    rest = &after[used..];
                }
                None => {
                    out.push('$');
                    rest = after;
                }
            }
        }
        out.push_str(rest);
        out
    }

    /// Resolves the reference at the start of `after` (the text following a `$`).
    /// Returns the value and how many bytes of `after` the reference used.
    fn lookup_reference(&self, after: &str, dir: &Path) -> Option<(String, usize)> {
        if let Some(inner) = after.strip_prefix('{') {
            let close = inner.find('}')?;
            let name = &inner[..close];
            let value = self
                .builtin(name, dir)
                .or_else(|| self.definitions.get(name).cloned())?;
            return Some((value, close + 2));
        }
        let len = after
            .char_indices()
            .find(|(_, c)| !(c.is_ascii_alphanumeric() || *c == '_'))
            .map_or(after.len(), |(i, _)| i);
        let name = &after[..len];
        let value = self.definitions.get(name)?;
        Some((value.clone(), len))
    }

    fn builtin(&self, name: &str, dir: &Path) -> Option<String> {
        if let Some(variable) = env_parameter(name) {
            return Some(
                std::env::var_os(variable)
                    .map(|v| v.to_string_lossy().into_owned())
                    .unwrap_or_default(),
            );
        }
        match name {
            "_PWD" => Some(dir.display().to_string()),
            "_INSTANCE" => Some(self.config_id.to_string()),
            "_BANG" => Some("!".to_string()),
            "_HASH" => Some("#".to_string()),
            _ => None,
        }
    }

    fn include(&mut self, origin: &LineOrigin, pattern: &str, span: &Span) {
        if self.include_depth >= MAX_INCLUDE_DEPTH {
            self.diagnostics.push(Diagnostic::error(
                span,
                format!("include {pattern} nested more than {MAX_INCLUDE_DEPTH} deep (include loop?), ignored"),
            ));
            return;
        }
        let files = expand_include(&origin.dir, pattern);
        if files.is_empty() {
            self.diagnostics.push(Diagnostic::note(
                span,
                format!("include {pattern} matches no file, nothing included"),
            ));
        }
        for path in files {
            let name: Arc<str> = Arc::from(path.display().to_string());
            match std::fs::read(&path) {
                Ok(bytes) => {
                    let text = String::from_utf8_lossy(&bytes).into_owned();
                    self.include_depth += 1;
                    self.read_text(&name, &parent_dir(&path), &text);
                    self.include_depth -= 1;
                }
                Err(err) => self.diagnostics.push(Diagnostic::warning(
                    span,
                    format!("cannot read included file {name}: {err}"),
                )),
            }
        }
    }
}

/// The directory holding `path` (".", if none).
/// The variable of `${_ENV NAME}` (keepalived 2.4): one parameter of letters, digits and
/// underscores after blanks. An unset variable expands to nothing, as in keepalived.
fn env_parameter(reference: &str) -> Option<&str> {
    let rest = reference.strip_prefix("_ENV")?;
    if !rest.starts_with([' ', '\t']) {
        return None;
    }
    // keepalived does not match a reference that ends in a blank.
    let variable = rest.trim_start_matches([' ', '\t']);
    let valid = !variable.is_empty()
        && variable
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_');
    valid.then_some(variable)
}

fn parent_dir(path: &Path) -> PathBuf {
    match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir.to_path_buf(),
        _ => PathBuf::from("."),
    }
}

fn char_count(text: &str) -> u32 {
    u32::try_from(text.chars().count()).unwrap_or(u32::MAX)
}

/// Skips leading whitespace, advancing the column.
fn skip_blank(text: &str, column: u32) -> (u32, &str) {
    let trimmed = text.trim_start();
    let skipped = &text[..text.len() - trimmed.len()];
    (
        column.saturating_add(char_count(skipped)),
        trimmed.trim_end(),
    )
}

/// Recognises `$NAME=value`.
fn parse_definition(body: &str) -> Option<(&str, &str)> {
    let rest = body.strip_prefix('$')?;
    let eq = rest.find('=')?;
    let name = rest[..eq].trim_end();
    let valid = !name.is_empty() && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
    valid.then(|| (name, rest[eq + 1..].trim()))
}

/// Joins continuation lines of a definition whose value ends with `\` (lines joined by newlines).
fn continue_definition(first: &str, lines: &[&str], index: &mut usize) -> String {
    let mut value = first.to_string();
    while value.ends_with('\\') {
        value.pop();
        let Some(next) = lines.get(*index) else { break };
        *index += 1;
        let trimmed = value.trim_end().len();
        value.truncate(trimmed);
        value.push('\n');
        value.push_str(strip_comment(next).trim());
    }
    value.trim_start_matches('\n').to_string()
}

/// If the line is an `include GLOB` line, the pattern (quotes removed).
fn include_pattern(text: &str) -> Option<String> {
    let (keyword, rest) = text.split_once(char::is_whitespace).unwrap_or((text, ""));
    if !matches!(
        keyword,
        "include" | "includer" | "includem" | "includew" | "includeb" | "includea"
    ) {
        return None;
    }
    let pattern = rest.split_whitespace().next().unwrap_or_default();
    Some(pattern.trim_matches('"').to_string())
}

/// The files an include pattern names, sorted, after brace expansion and globbing.
fn expand_include(dir: &Path, pattern: &str) -> Vec<PathBuf> {
    let mut files = Vec::new();
    if pattern.is_empty() {
        return files;
    }
    for expanded in expand_braces(pattern) {
        let full = if Path::new(&expanded).is_absolute() {
            PathBuf::from(&expanded)
        } else {
            dir.join(&expanded)
        };
        let Ok(paths) = glob::glob(&full.to_string_lossy()) else {
            continue;
        };
        let mut matched: Vec<PathBuf> = paths
            .filter_map(Result::ok)
            .filter(|p| p.is_file())
            .collect();
        matched.sort();
        files.extend(matched);
    }
    files
}

/// Shell-style brace expansion: `a{b,c}d` → `abd`, `acd` (nested braces supported).
pub fn expand_braces(pattern: &str) -> Vec<String> {
    expand_braces_limited(pattern, 0)
}

fn expand_braces_limited(pattern: &str, depth: usize) -> Vec<String> {
    let Some((open, close)) = find_brace_group(pattern).filter(|_| depth < 8) else {
        return vec![pattern.to_string()];
    };
    let prefix = &pattern[..open];
    let suffix = &pattern[close + 1..];
    let mut out = Vec::new();
    for alternative in split_top_level(&pattern[open + 1..close]) {
        let combined = format!("{prefix}{alternative}{suffix}");
        out.extend(expand_braces_limited(&combined, depth + 1));
        if out.len() > 1000 {
            break;
        }
    }
    out
}

/// The first `{...}` group containing a top-level comma.
fn find_brace_group(pattern: &str) -> Option<(usize, usize)> {
    let bytes = pattern.as_bytes();
    for (open, _) in pattern.match_indices('{') {
        let mut depth = 0usize;
        let mut has_comma = false;
        for (offset, &b) in bytes[open..].iter().enumerate() {
            match b {
                b'{' => depth += 1,
                b'}' => {
                    depth -= 1;
                    if depth == 0 {
                        if has_comma {
                            return Some((open, open + offset));
                        }
                        break;
                    }
                }
                b',' if depth == 1 => has_comma = true,
                _ => {}
            }
        }
    }
    None
}

fn split_top_level(inner: &str) -> Vec<&str> {
    let mut parts = Vec::new();
    let mut depth = 0usize;
    let mut start = 0;
    for (i, b) in inner.bytes().enumerate() {
        match b {
            b'{' => depth += 1,
            b'}' => depth = depth.saturating_sub(1),
            b',' if depth == 0 => {
                parts.push(&inner[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    parts.push(&inner[start..]);
    parts
}

/// A parsed `~SEQ(...)` / `~SEQx(...)` / `~LST(...)` prefix.
#[derive(Debug)]
struct Repeat {
    variables: Vec<String>,
    kind: RepeatKind,
    /// Bytes of the line taken by the header, up to and including `)`.
    header_len: usize,
}

#[derive(Debug)]
enum RepeatKind {
    Sequence { hex: bool, args: Vec<String> },
    List(Vec<Vec<String>>),
}

fn parse_repeat(body: &str) -> Option<Repeat> {
    let (hex, list, rest) = if let Some(r) = body.strip_prefix("~SEQx(") {
        (true, false, r)
    } else if let Some(r) = body.strip_prefix("~SEQ(") {
        (false, false, r)
    } else if let Some(r) = body.strip_prefix("~LST(") {
        (false, true, r)
    } else {
        return None;
    };
    let close = matching_paren(rest)?;
    let header_len = body.len() - rest.len() + close + 1;
    let parts: Vec<&str> = split_top_level(&rest[..close])
        .into_iter()
        .map(str::trim)
        .collect();
    let (first, others) = parts.split_first()?;
    let variables: Vec<String> = unbrace(first)
        .into_iter()
        .map(|v| v.trim().to_string())
        .collect();
    let kind = if list {
        RepeatKind::List(
            others
                .iter()
                .map(|p| {
                    unbrace(p)
                        .into_iter()
                        .map(|v| v.trim().to_string())
                        .collect()
                })
                .collect(),
        )
    } else {
        RepeatKind::Sequence {
            hex,
            args: others.iter().map(|s| s.to_string()).collect(),
        }
    };
    Some(Repeat {
        variables,
        kind,
        header_len,
    })
}

fn matching_paren(text: &str) -> Option<usize> {
    let mut depth = 1usize;
    for (i, b) in text.bytes().enumerate() {
        match b {
            b'(' => depth += 1,
            b')' => {
                depth -= 1;
                if depth == 0 {
                    return Some(i);
                }
            }
            _ => {}
        }
    }
    None
}

/// `{a,b}` → [a, b]; `a` → [a].
fn unbrace(text: &str) -> Vec<&str> {
    match text.strip_prefix('{').and_then(|t| t.strip_suffix('}')) {
        Some(inner) => split_top_level(inner),
        None => vec![text],
    }
}

impl Repeat {
    /// The values of the variables for each repeated line.
    fn values(&self) -> Result<Vec<Vec<String>>, String> {
        match &self.kind {
            RepeatKind::List(rows) => Ok(rows.clone()),
            RepeatKind::Sequence { hex, args } => sequence_values(*hex, args),
        }
    }
}

/// `~SEQ(var, end)`, `~SEQ(var, start, end)`, `~SEQ(var, start, step, end)`.
fn sequence_values(hex: bool, args: &[String]) -> Result<Vec<Vec<String>>, String> {
    let numbers: Vec<i64> = args
        .iter()
        .map(|a| a.trim().parse::<i64>())
        .collect::<Result<_, _>>()
        .map_err(|_| {
            format!(
                "~SEQ arguments {} are not integers, expected ~SEQ(var,start,step,end)",
                args.join(",")
            )
        })?;
    let (start, step, end) = match numbers.as_slice() {
        [end] => (1, 1, *end),
        [start, end] => (*start, 1, *end),
        [start, step, end] => (*start, *step, *end),
        _ => {
            return Err("~SEQ needs 1 to 3 numbers, expected ~SEQ(var,start,step,end)".to_string())
        }
    };
    if step == 0 {
        return Err("~SEQ step 0 would never end, expected a non-zero step".to_string());
    }
    let mut values = Vec::new();
    let mut value = start;
    while (step > 0 && value <= end) || (step < 0 && value >= end) {
        if values.len() >= MAX_REPEAT_LINES {
            return Err(format!("~SEQ produces more than {MAX_REPEAT_LINES} lines"));
        }
        values.push(vec![if hex {
            format!("{value:x}")
        } else {
            value.to_string()
        }]);
        value = value.checked_add(step).ok_or("~SEQ overflows")?;
    }
    Ok(values)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn brace_expansion() {
        assert_eq!(expand_braces("a{b,c}d"), vec!["abd", "acd"]);
        assert_eq!(expand_braces("x{1,{2,3}}"), vec!["x1", "x2", "x3"]);
        assert_eq!(expand_braces("plain{x}"), vec!["plain{x}"]);
    }

    #[test]
    fn sequences() {
        assert_eq!(
            sequence_values(false, &["1".into(), "2".into(), "5".into()])
                .unwrap()
                .len(),
            3
        );
        assert_eq!(
            sequence_values(true, &["10".into(), "11".into()]).unwrap(),
            vec![vec!["a"], vec!["b"]]
        );
        assert!(sequence_values(false, &["1".into(), "0".into(), "5".into()]).is_err());
    }

    #[test]
    fn definitions() {
        assert_eq!(parse_definition("$A=b c"), Some(("A", "b c")));
        assert_eq!(parse_definition("$A b"), None);
    }

    #[test]
    fn env_references_take_one_name_parameter() {
        assert_eq!(
            env_parameter("_ENV CREDENTIALS_DIRECTORY"),
            Some("CREDENTIALS_DIRECTORY")
        );
        assert_eq!(env_parameter("_ENV\t X1"), Some("X1"));
        assert_eq!(env_parameter("_ENV X1 "), None);
        assert_eq!(env_parameter("_ENV"), None);
        assert_eq!(env_parameter("_ENVX"), None);
        assert_eq!(env_parameter("_ENV A B"), None);
        assert_eq!(env_parameter("_ENV A-B"), None);
    }
}
