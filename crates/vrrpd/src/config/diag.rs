//! Diagnostics: what went wrong, where, and how keepalived would count it.

use std::fmt;
use std::sync::Arc;

/// A position in a configuration file (1-based line and column).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct Span {
    /// The file as it was named when opened (the main path, or an include path joined to its directory).
    pub file: Arc<str>,
    /// 1-based line number.
    pub line: u32,
    /// 1-based column (in characters) of the token's first character.
    pub column: u32,
}

impl Span {
    /// Creates a span.
    pub fn new(file: Arc<str>, line: u32, column: u32) -> Self {
        Self { file, line, column }
    }
}

impl fmt::Display for Span {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}:{}", self.file, self.line, self.column)
    }
}

/// How bad a diagnostic is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Severity {
    /// keepalived would refuse to run the affected instance (or the whole configuration).
    Error,
    /// keepalived logs the problem and goes on (value ignored or defaulted).
    Warning,
}

/// How a diagnostic counts towards the `keepalived -t` exit code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Impact {
    /// Informational only: keepalived does not report it as a configuration error
    /// (e.g. a skipped non-VRRP block, an unused script, a missing include).
    None,
    /// keepalived reports a configuration error (`-t` exits 5).
    ConfigError,
    /// A script security violation (`-t` exits 6).
    Security,
    /// The configuration cannot be used at all, e.g. the main file is unreadable (`-t` class 4).
    Fatal,
}

/// One message about the configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    /// Error (would not run) or warning (warned and defaulted).
    pub severity: Severity,
    /// How keepalived's config test would count it.
    pub impact: Impact,
    /// Where the problem is.
    pub span: Span,
    /// What is wrong and what was expected.
    pub message: String,
}

impl Diagnostic {
    /// A warning that keepalived reports as a configuration error (value ignored or defaulted).
    pub fn warning(span: &Span, message: impl Into<String>) -> Self {
        Self::new(Severity::Warning, Impact::ConfigError, span, message)
    }

    /// A warning that keepalived would not count as a configuration error.
    pub fn note(span: &Span, message: impl Into<String>) -> Self {
        Self::new(Severity::Warning, Impact::None, span, message)
    }

    /// An error: the affected instance (or configuration) cannot be used.
    pub fn error(span: &Span, message: impl Into<String>) -> Self {
        Self::new(Severity::Error, Impact::ConfigError, span, message)
    }

    /// Creates a diagnostic from all its parts.
    pub fn new(
        severity: Severity,
        impact: Impact,
        span: &Span,
        message: impl Into<String>,
    ) -> Self {
        Self {
            severity,
            impact,
            span: span.clone(),
            message: message.into(),
        }
    }

    /// The file the diagnostic points into.
    pub fn file(&self) -> &str {
        &self.span.file
    }

    /// 1-based line.
    pub fn line(&self) -> u32 {
        self.span.line
    }

    /// 1-based column.
    pub fn column(&self) -> u32 {
        self.span.column
    }
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.span, self.message)
    }
}

/// The class of a `keepalived -t` exit code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ExitClass {
    /// 0: configuration OK.
    Ok = 0,
    /// 4: fatal, the configuration cannot be used (unreadable main file).
    Fatal = 4,
    /// 5: errors were reported but keepalived would still run.
    Errors = 5,
    /// 6: script security violation.
    Security = 6,
}

impl ExitClass {
    /// The numeric process exit code.
    pub fn code(self) -> i32 {
        self as i32
    }
}

/// The `keepalived -t` exit code class for a set of diagnostics.
///
/// Precedence follows keepalived 2.2.7: fatal, then security (a security violation wins over
/// ordinary configuration errors, as `keepalived -t` shows), then configuration errors.
/// Note that keepalived 2.2.7's `-t` reports instance-level fatal errors (VRID unset, duplicate
/// VRID, missing VIPs) as class 5, so [`Severity::Error`] diagnostics map to 5 here as well.
pub fn exit_class<'a>(diagnostics: impl IntoIterator<Item = &'a Diagnostic>) -> ExitClass {
    let worst = diagnostics
        .into_iter()
        .map(|d| d.impact)
        .fold(Impact::None, |acc, impact| match (acc, impact) {
            (Impact::Fatal, _) | (_, Impact::Fatal) => Impact::Fatal,
            (Impact::Security, _) | (_, Impact::Security) => Impact::Security,
            (Impact::ConfigError, _) | (_, Impact::ConfigError) => Impact::ConfigError,
            _ => Impact::None,
        });
    match worst {
        Impact::None => ExitClass::Ok,
        Impact::ConfigError => ExitClass::Errors,
        Impact::Security => ExitClass::Security,
        Impact::Fatal => ExitClass::Fatal,
    }
}
