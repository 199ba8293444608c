//! target.toml: the same shape as the extractor's source.toml (platform, url, credentials, rate
//! limits, options). Credentials come from an environment variable or a file, never from argv.
//!
//! ```toml
//! platform = "front"               # front | rt
//! url = "https://api2.frontapp.com"
//! [credentials]                    # token_env (variable name), token_file (path), or token (inline; file must be 0600)
//! token_env = "FRONT_API_TOKEN"
//! [rate_limits]                    # bucket name = requests per minute
//! default = 100
//! [options]                        # platform options; a `[front]` / `[rt]` table is merged in
//! inbox = "Support"
//! ```
//!
//! Every key is checked against what the target platform reads (the platform registry): a misspelt
//! bucket or option, or the table of another platform, is refused with its line.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use reqwest::Url;
use serde::Deserialize;

use crate::load_error::LoadError;
use deskferry_extractor::platforms::registry::{self, Role};

/// Credentials: the extractor's type (same `[credentials]` table as source.toml).
pub use deskferry_extractor::config::Credentials;

/// The file's keys; everything else (checked in `parse`) must be a platform's own table.
#[derive(Deserialize)]
struct Raw {
    platform: String,
    url: String,
    #[serde(default)]
    credentials: Credentials,
    #[serde(default)]
    rate_limits: BTreeMap<String, u32>,
    #[serde(default)]
    options: toml::Table,
    #[serde(flatten)]
    rest: toml::Table,
}

/// A parsed target.toml.
#[derive(Debug, Clone)]
pub struct TargetConfig {
    /// `front` or `rt`.
    pub platform: String,
    /// API base URL.
    pub url: Url,
    /// Credentials.
    pub credentials: Credentials,
    /// Rate-limit overrides: bucket name → requests per minute.
    pub rate_limits: BTreeMap<String, u32>,
    /// Platform options (`[options]` with the `[<platform>]` table merged over it).
    pub options: toml::Table,
    /// The file it was read from.
    pub path: PathBuf,
}

fn owner_only(path: &Path) -> bool {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::metadata(path).map(|m| m.permissions().mode() & 0o077 == 0).unwrap_or(false)
    }
    #[cfg(not(unix))]
    {
        let _ = path;
        true
    }
}

impl TargetConfig {
    /// Reads and checks target.toml.
    pub fn load(path: &Path) -> Result<TargetConfig, LoadError> {
        let text = std::fs::read_to_string(path).map_err(|e| LoadError::io(path, e))?;
        let cfg = TargetConfig::parse(&text, path)?;
        if cfg.credentials.has_inline_token() && !owner_only(path) {
            return Err(LoadError::config(
                path,
                "holds an inline token but is readable by others: chmod 600 it, or use token_env / token_file",
            ));
        }
        Ok(cfg)
    }

    /// Parses target.toml text (`path` names it in messages; [`TargetConfig::load`] also
    /// refuses an inline token in a file others can read).
    pub fn parse(text: &str, path: &Path) -> Result<TargetConfig, LoadError> {
        let raw: Raw = toml::from_str(text).map_err(|e| {
            let why = deskferry_extractor::config::toml_error(text, &e);
            LoadError::config(path, format!("not a valid target file: {why}"))
        })?;
        let known =
            registry::side(&raw.platform, Role::Target).map_err(|m| LoadError::config(path, m))?;
        let url = Url::parse(&raw.url)
            .map_err(|e| LoadError::config(path, format!("url {:?}: {e}", raw.url)))?;
        if !matches!(url.scheme(), "http" | "https") {
            return Err(LoadError::config(path, "url must be http or https"));
        }
        if !raw.credentials.has_inline_token()
            && raw.credentials.token_env.is_none()
            && raw.credentials.token_file.is_none()
        {
            return Err(LoadError::config(
                path,
                "[credentials] needs token_env (a variable name) or token_file",
            ));
        }
        let err = |m: String| LoadError::config(path, m);
        let mut platform_table = toml::Table::new();
        for (name, value) in raw.rest {
            let at = |key: &str| {
                deskferry_extractor::config::key_line(text, key, "")
                    .or_else(|| deskferry_extractor::config::key_line(text, "", key))
                    .map(|l| format!("line {l}: "))
                    .unwrap_or_default()
            };
            match value {
                toml::Value::Table(t) if name == raw.platform => platform_table = t,
                toml::Value::Table(_) if registry::get(&name).is_some() => {
                    return Err(err(format!(
                        "{}[{name}] is for platform {name:?}, but this file's platform is {:?}",
                        at(&name),
                        raw.platform
                    )));
                }
                _ => {
                    return Err(err(format!(
                        "{}unknown key `{name}` (expected platform, url, credentials, rate_limits, options, or a [{}] table)",
                        at(&name),
                        raw.platform
                    )));
                }
            }
        }
        let check = deskferry_extractor::config::check_keys;
        let buckets: toml::Table =
            raw.rate_limits.keys().map(|k| (k.clone(), toml::Value::Boolean(true))).collect();
        check(text, "rate_limits", &buckets, known.buckets).map_err(err)?;
        check(text, "options", &raw.options, known.options).map_err(err)?;
        let mut options = raw.options;
        check(text, &raw.platform, &platform_table, known.options).map_err(err)?;
        for (k, v) in platform_table {
            options.insert(k, v);
        }
        let mut credentials = raw.credentials;
        credentials.origin = Some(path.to_path_buf());
        Ok(TargetConfig {
            platform: raw.platform,
            url,
            credentials,
            rate_limits: raw.rate_limits,
            options,
            path: path.to_path_buf(),
        })
    }

    /// A string option (`[options]` or the platform table).
    pub fn option_str(&self, key: &str) -> Option<&str> {
        self.options.get(key).and_then(|v| v.as_str())
    }
}

#[cfg(test)]
mod tests {
    use secrecy::ExposeSecret;

    use super::*;

    #[test]
    fn front_table_merges_into_options_and_an_unset_variable_is_an_error() {
        let text = r#"
platform = "front"
url = "http://127.0.0.1:9/"
[credentials]
token_env = "DESKFERRY_TEST_CONFIG_TOKEN_1"
[rate_limits]
default = 50
[options]
inbox = "A"
[front]
inbox = "Support"
"#;
        let cfg = TargetConfig::parse(text, Path::new("t.toml")).unwrap();
        assert_eq!(cfg.option_str("inbox"), Some("Support"));
        assert_eq!(cfg.rate_limits["default"], 50);
        assert!(cfg.credentials.token().is_err(), "variable not set yet");
    }

    #[test]
    fn token_file_and_inline_rules() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("tok"), "  secret-1\n").unwrap();
        let text = "platform = \"rt\"\nurl = \"http://x/\"\n[credentials]\ntoken_file = \"tok\"\n";
        let p = dir.path().join("target.toml");
        std::fs::write(&p, text).unwrap();
        let cfg = TargetConfig::load(&p).unwrap();
        assert_eq!(cfg.credentials.token().unwrap().expose_secret(), "secret-1");

        let inline = "platform = \"rt\"\nurl = \"http://x/\"\n[credentials]\ntoken = \"s\"\n";
        std::fs::write(&p, inline).unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o644)).unwrap();
            assert!(TargetConfig::load(&p).is_err(), "inline token in a world-readable file");
            std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o600)).unwrap();
            assert_eq!(
                TargetConfig::load(&p).unwrap().credentials.token().unwrap().expose_secret(),
                "s"
            );
        }
        // Kayako Classic is a source only.
        let bad = "platform = \"kayako-classic\"\nurl = \"http://x/\"\n[credentials]\ntoken_env = \"X\"\n";
        assert!(TargetConfig::parse(bad, &p).is_err());
    }

    #[test]
    fn every_misspelt_key_is_refused_with_its_line() {
        let rt = "platform = \"rt\"\nurl = \"http://x/\"\n[credentials]\ntoken_env = \"X\"\n";
        let front = "platform = \"front\"\nurl = \"http://x/\"\n[credentials]\ntoken_env = \"X\"\n";
        let cases = [
            (rt, "[rate_limits]\ndefualt = 1\n", "line 6", "defualt"),
            (rt, "[rt]\nqueue = \"General\"\n", "line 6", "queue"),
            (rt, "[options]\ninbox = \"Support\"\n", "line 6", "inbox"),
            (rt, "[front]\ninbox = \"Support\"\n", "line 5", "[front]"),
            (front, "[front]\ninbox = \"S\"\nimport_wait = 3\n", "line 7", "import_wait"),
            (front, "colour = \"red\"\n", "line 5", "colour"),
        ];
        for (base, tail, line, what) in cases {
            let text = format!("{base}{tail}");
            let e = TargetConfig::parse(&text, Path::new("t.toml")).unwrap_err().to_string();
            assert!(e.contains(line) && e.contains(what) && e.contains("t.toml"), "{tail:?}: {e}");
        }
        let ok = format!(
            "{front}[rate_limits]\ndefault = 50\n[front]\ninbox = \"S\"\nburst_per_second = 2\n"
        );
        TargetConfig::parse(&ok, Path::new("t.toml")).unwrap();
    }
}
