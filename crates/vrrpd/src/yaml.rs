//! YAML form of the configuration model ([`crate::config::Config`]), with serde-saphyr.
//!
//! `vrrpd --convert` prints a loaded keepalived.conf with [`to_yaml`]; a `*.yaml` / `*.yml`
//! configuration is read back into the same model with [`from_yaml_str`] / [`load_yaml`].
//! The YAML holds the *resolved* model (defaults applied, weights inherited), so loading it
//! gives exactly the model the keepalived.conf produced. Source positions are not kept.

use std::path::Path;

use crate::config::Config;

/// Why a YAML configuration could not be written or read.
#[derive(Debug, thiserror::Error)]
pub enum YamlError {
    /// The model could not be serialized.
    #[error("cannot write the configuration as YAML: {0}")]
    Serialize(String),
    /// The text is not valid YAML for the model.
    #[error("{file}: {message}")]
    Parse {
        /// File name (or `<string>`).
        file: String,
        /// The parser's message, with the position.
        message: String,
    },
    /// The file could not be read.
    #[error("{file}: cannot read: {source}")]
    Io {
        /// File name.
        file: String,
        /// The I/O error.
        source: std::io::Error,
    },
}

/// Writes the model as YAML.
pub fn to_yaml(config: &Config) -> Result<String, YamlError> {
    serde_saphyr::to_string(config).map_err(|e| YamlError::Serialize(e.to_string()))
}

/// Reads a model from YAML text; `name` is used in error messages.
pub fn from_yaml_str(name: &str, text: &str) -> Result<Config, YamlError> {
    serde_saphyr::from_str(text).map_err(|e| YamlError::Parse {
        file: name.to_string(),
        message: e.to_string(),
    })
}

/// Reads a model from a YAML file.
pub fn load_yaml(path: &Path) -> Result<Config, YamlError> {
    let file = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|source| YamlError::Io {
        file: file.clone(),
        source,
    })?;
    from_yaml_str(&file, &text)
}

/// True when the path names a YAML file (`.yaml` or `.yml`).
pub fn is_yaml_path(path: &Path) -> bool {
    path.extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| e.eq_ignore_ascii_case("yaml") || e.eq_ignore_ascii_case("yml"))
}
