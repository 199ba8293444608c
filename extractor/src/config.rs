//! The source file (`source.toml`): which platform, where, and where the credentials come from.
//!
//! ```toml
//! platform = "zendesk"            # zendesk | rt
//! url = "https://acme.zendesk.com"
//! cdn_url = "…"                    # optional, informational
//! [credentials]                    # one of token_env, token_file, token (inline; file 0600)
//! email = "agent@acme.example"
//! token_env = "ZENDESK_API_TOKEN"
//! [rate_limits]                    # optional overrides: bucket name = requests per minute
//! default = 700
//! [options]
//! max_attachment_mb = 100
//! ```
//!
//! Every key is checked: a key the platform does not read (a misspelt `[rate_limits]` bucket, an
//! unknown option, a table of another platform) is refused with its line, never ignored.
//! Files written by `deskferry-sim serve --write-config` are accepted as they are.

use std::collections::BTreeMap;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use reqwest::Url;
use secrecy::SecretString;
use serde::Deserialize;

use crate::error::ExtractError;
use crate::platforms::registry::{self, Role};

/// A parsed source file.
#[derive(Debug, Clone)]
pub struct SourceConfig {
    /// The file it was read from (for messages).
    pub path: PathBuf,
    /// `zendesk` or `rt`.
    pub platform: String,
    /// API base URL.
    pub url: Url,
    /// Where attachments are served from, when the file says (informational).
    pub cdn_url: Option<Url>,
    /// Where the token comes from.
    pub credentials: Credentials,
    /// Per-bucket overrides, requests per minute.
    pub rate_limits: BTreeMap<String, u32>,
    /// The `[options]` table, as written (see [`SourceConfig::max_attachment_bytes`]).
    pub options: toml::Table,
}

/// Refuses every key of `got` not in `known`, naming `table` and the key's line in `text`.
pub fn check_keys(
    text: &str,
    table: &str,
    got: &toml::Table,
    known: &[&str],
) -> Result<(), String> {
    for key in got.keys() {
        if known.contains(&key.as_str()) {
            continue;
        }
        let at = key_line(text, table, key).map(|l| format!("line {l}: ")).unwrap_or_default();
        let expected = if known.is_empty() {
            "this platform reads none".to_string()
        } else {
            format!("expected one of {}", known.join(", "))
        };
        return Err(format!("{at}unknown key `{key}` in [{table}] ({expected})"));
    }
    Ok(())
}

/// The 1-based line of `key` inside `[table]` of a TOML text (the table's header line when `key`
/// is empty), found by reading the lines; `None` when it is written some other way (inline
/// tables, dotted keys).
pub fn key_line(text: &str, table: &str, key: &str) -> Option<usize> {
    let mut current = String::new();
    for (i, line) in text.lines().enumerate() {
        let l = line.trim();
        if let Some(h) = l.strip_prefix('[').and_then(|h| h.split(']').next()) {
            current = h.trim().trim_matches('"').to_string();
            if key.is_empty() && current == table {
                return Some(i + 1);
            }
            continue;
        }
        if current != table || key.is_empty() {
            continue;
        }
        let name = l.split('=').next().unwrap_or("").trim().trim_matches(['"', '\'']);
        if l.contains('=') && name == key {
            return Some(i + 1);
        }
    }
    None
}

/// Where a token comes from: `token_env` (when that variable is set), else `token_file`, else
/// the inline `token`. The token itself never appears in Debug output or errors.
#[derive(Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Credentials {
    /// Zendesk: the agent's email for `email/token` basic auth.
    #[serde(default)]
    pub email: Option<String>,
    /// A user name, for platforms that take one.
    #[serde(default)]
    pub user: Option<String>,
    /// Name of the environment variable holding the token.
    #[serde(default)]
    pub token_env: Option<String>,
    /// File holding the token (first line; relative to the source file's directory).
    #[serde(default)]
    pub token_file: Option<PathBuf>,
    #[serde(default, rename = "token")]
    inline: Option<String>,
    /// The file these credentials were read from (for messages and relative `token_file`).
    #[serde(skip)]
    pub origin: Option<PathBuf>,
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Credentials")
            .field("email", &self.email)
            .field("user", &self.user)
            .field("token_env", &self.token_env)
            .field("token_file", &self.token_file)
            .field("token", &self.inline.as_ref().map(|_| "[redacted]"))
            .finish()
    }
}

impl Credentials {
    /// Credentials with only an inline token (tests, tools).
    pub fn inline(token: &str) -> Credentials {
        Credentials { inline: Some(token.to_string()), ..Credentials::default() }
    }

    /// True when the file holds the token itself.
    pub fn has_inline_token(&self) -> bool {
        self.inline.is_some()
    }

    fn cfg_err(&self, message: String) -> ExtractError {
        ExtractError::Config {
            path: self.origin.clone().unwrap_or_else(|| PathBuf::from("<credentials>")),
            message,
        }
    }

    /// The token: from `token_env` when that variable is set, else `token_file`, else the
    /// inline `token`; an error naming the file and the remedy when none is available.
    pub fn token(&self) -> Result<SecretString, ExtractError> {
        if let Some(var) = &self.token_env
            && let Some(v) = std::env::var_os(var)
        {
            let v = v.to_string_lossy().trim().to_string();
            if v.is_empty() {
                return Err(self.cfg_err(format!(
                    "environment variable {var} (credentials.token_env) is set but empty"
                )));
            }
            return Ok(SecretString::from(v));
        }
        if let Some(file) = &self.token_file {
            let path = match &self.origin {
                Some(o) if file.is_relative() => o.parent().unwrap_or(Path::new(".")).join(file),
                _ => file.clone(),
            };
            let text = std::fs::read_to_string(&path).map_err(|e| {
                self.cfg_err(format!(
                    "credentials.token_file {}: {e}; create it (mode 0600) holding the API token",
                    path.display()
                ))
            })?;
            let line = text.lines().next().unwrap_or("").trim().to_string();
            if line.is_empty() {
                return Err(self.cfg_err(format!(
                    "credentials.token_file {} is empty; put the API token on its first line",
                    path.display()
                )));
            }
            return Ok(SecretString::from(line));
        }
        if let Some(t) = self.inline.as_ref().filter(|t| !t.trim().is_empty()) {
            return Ok(SecretString::from(t.trim().to_string()));
        }
        let hint = match &self.token_env {
            Some(var) => format!("set the environment variable {var}, or "),
            None => String::new(),
        };
        Err(self.cfg_err(format!(
            "no API token: {hint}add token_env = \"VAR\" or token_file = \"PATH\" to [credentials]"
        )))
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Raw {
    platform: String,
    url: String,
    #[serde(default)]
    cdn_url: Option<String>,
    #[serde(default)]
    credentials: Option<Credentials>,
    #[serde(default)]
    rate_limits: BTreeMap<String, u32>,
    #[serde(default)]
    options: toml::Table,
}

impl SourceConfig {
    /// Reads and checks a source file.
    pub fn load(path: &Path) -> Result<SourceConfig, ExtractError> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| ExtractError::Io { path: path.to_path_buf(), source: e })?;
        let cfg = SourceConfig::parse(&text, path)?;
        if cfg.credentials.has_inline_token() {
            let mode = std::fs::metadata(path)
                .map_err(|e| ExtractError::Io { path: path.to_path_buf(), source: e })?
                .permissions()
                .mode();
            // Refused, as the loader refuses such a target file: the token has already leaked
            // to whoever can read the file, and a warning scrolls past unread.
            if mode & 0o077 != 0 {
                return Err(ExtractError::Config {
                    path: path.to_path_buf(),
                    message: format!(
                        "holds an API token and is readable by others (mode {:o}); run chmod 600 on it, or move the token to token_env/token_file",
                        mode & 0o777
                    ),
                });
            }
        }
        Ok(cfg)
    }

    /// Parses the text of a source file (`path` is used in messages and for relative paths).
    pub fn parse(text: &str, path: &Path) -> Result<SourceConfig, ExtractError> {
        let err = |message: String| ExtractError::Config { path: path.to_path_buf(), message };
        // toml's Display quotes the offending line and type errors quote the value; a token
        // may be either, so only the position and value-free messages are shown.
        let raw: Raw = toml::from_str(text)
            .map_err(|e| err(format!("not a valid source file: {}", toml_error(text, &e))))?;
        let platform = raw.platform.trim().to_ascii_lowercase();
        let known = registry::side(&platform, Role::Source).map_err(&err)?;
        let url = parse_url(&raw.url).map_err(|m| err(format!("url: {m}")))?;
        let cdn_url = match &raw.cdn_url {
            Some(u) => Some(parse_url(u).map_err(|m| err(format!("cdn_url: {m}")))?),
            None => None,
        };
        let buckets: toml::Table =
            raw.rate_limits.keys().map(|k| (k.clone(), toml::Value::Boolean(true))).collect();
        check_keys(text, "rate_limits", &buckets, known.buckets).map_err(&err)?;
        check_keys(text, "options", &raw.options, known.options).map_err(&err)?;
        for (bucket, n) in &raw.rate_limits {
            if *n == 0 {
                return Err(err(format!("rate_limits.{bucket} must be at least 1 per minute")));
            }
        }
        let mut credentials = raw.credentials.unwrap_or_default();
        credentials.origin = Some(path.to_path_buf());
        let cfg = SourceConfig {
            path: path.to_path_buf(),
            platform,
            url,
            cdn_url,
            credentials,
            rate_limits: raw.rate_limits,
            options: raw.options,
        };
        cfg.max_attachment_bytes()?;
        Ok(cfg)
    }

    /// `options.max_attachment_mb` in bytes (`None`: no limit).
    pub fn max_attachment_bytes(&self) -> Result<Option<u64>, ExtractError> {
        match self.options.get("max_attachment_mb") {
            None => Ok(None),
            Some(toml::Value::Integer(n)) if *n > 0 => Ok(Some(*n as u64 * 1024 * 1024)),
            Some(toml::Value::Float(f)) if *f > 0.0 => Ok(Some((*f * 1024.0 * 1024.0) as u64)),
            Some(_) => Err(ExtractError::Config {
                path: self.path.clone(),
                message: "options.max_attachment_mb must be a positive number".into(),
            }),
        }
    }

    /// The rate-limit override for `bucket`, if the file has one.
    pub fn rate_limit(&self, bucket: &str) -> Option<u32> {
        self.rate_limits.get(bucket).copied()
    }

    /// The account without personal data: the URL's host (and port when not the default).
    pub fn account(&self) -> String {
        let host = self.url.host_str().unwrap_or("unknown");
        match self.url.port() {
            Some(p) => format!("{host}:{p}"),
            None => host.to_string(),
        }
    }
}

fn parse_url(s: &str) -> Result<Url, String> {
    let u = Url::parse(s.trim()).map_err(|e| format!("{s:?}: {e}"))?;
    if !matches!(u.scheme(), "http" | "https") {
        return Err(format!("{s:?}: expected an http(s) URL"));
    }
    if !u.username().is_empty() || u.password().is_some() {
        return Err("credentials belong in [credentials], not in the URL".into());
    }
    if u.host_str().is_none() {
        return Err(format!("{s:?}: no host"));
    }
    Ok(u)
}

/// A TOML syntax or type error without the text around it: toml's Display quotes the offending
/// line, and its messages quote values (in backticks or double quotes), any of which may be a
/// token. Gives the line number and the message with quoted parts replaced by `…`; only
/// "unknown/missing field" messages (which quote field names) are kept whole.
pub fn toml_error(text: &str, e: &toml::de::Error) -> String {
    let line = e.span().map(|s| {
        text.as_bytes()[..s.start.min(text.len())].iter().filter(|&&b| b == b'\n').count() + 1
    });
    let raw = e.message().trim();
    let msg = if raw.starts_with("unknown field") || raw.starts_with("missing field") {
        raw.to_string()
    } else {
        let mut out = String::new();
        let mut open: Option<(char, String)> = None;
        for ch in raw.chars() {
            match &mut open {
                Some((q, inner)) if ch == *q => {
                    // One character is syntax (toml's "expected `\"`"), never a secret.
                    out.push_str(if inner.chars().count() <= 1 { inner } else { "…" });
                    out.push(ch);
                    open = None;
                }
                Some((_, inner)) => inner.push(ch),
                None if ch == '`' || ch == '"' => {
                    out.push(ch);
                    open = Some((ch, String::new()));
                }
                None => out.push(ch),
            }
        }
        if open.is_some() {
            out.push('…');
        }
        out
    };
    match line {
        Some(l) => format!("line {l}: {msg}"),
        None => msg,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use secrecy::ExposeSecret;

    const SIM: &str = "# deskferry-sim connection file\nplatform = \"zendesk\"\nurl = \"http://127.0.0.1:41234\"\ncdn_url = \"http://127.0.0.1:41235\"\n# plan: enterprise\n\n[credentials]\nemail = \"admin@deskferry-sim.test\"\ntoken = \"abc123\"\ntoken_env = \"DESKFERRY_TEST_UNSET_VAR_XYZ\"\n";

    #[test]
    fn reads_the_simulators_connection_file() {
        let c = SourceConfig::parse(SIM, Path::new("/tmp/s.toml")).unwrap();
        assert_eq!(c.platform, "zendesk");
        assert_eq!(c.account(), "127.0.0.1:41234");
        assert_eq!(c.credentials.email.as_deref(), Some("admin@deskferry-sim.test"));
        // The variable is not set: the inline token is used.
        assert_eq!(c.credentials.token().unwrap().expose_secret(), "abc123");
        assert!(!format!("{c:?}").contains("abc123"), "token never in Debug");
    }

    #[test]
    fn token_file_is_relative_to_the_source_file_and_missing_one_names_the_remedy() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("tok"), "s3cret\n").unwrap();
        let text = "platform = \"rt\"\nurl = \"https://rt.example.org\"\n[credentials]\ntoken_file = \"tok\"\n[rate_limits]\ndefault = 100\n[options]\nmax_attachment_mb = 2\n";
        let c = SourceConfig::parse(text, &dir.path().join("source.toml")).unwrap();
        assert_eq!(c.credentials.token().unwrap().expose_secret(), "s3cret");
        assert_eq!(c.rate_limit("default"), Some(100));
        assert_eq!(c.max_attachment_bytes().unwrap(), Some(2 << 20));

        let text = "platform = \"rt\"\nurl = \"https://rt.example.org\"\n[credentials]\ntoken_env = \"DESKFERRY_TEST_UNSET_VAR_XYZ\"\n";
        let c = SourceConfig::parse(text, Path::new("/etc/src.toml")).unwrap();
        let e = c.credentials.token().unwrap_err().to_string();
        assert!(e.contains("/etc/src.toml") && e.contains("DESKFERRY_TEST_UNSET_VAR_XYZ"), "{e}");
    }

    #[test]
    fn rejects_bad_files_without_echoing_the_token() {
        let bad = "platform = \"zendesk\"\nurl = \"ftp://x\"\n";
        assert!(SourceConfig::parse(bad, Path::new("s.toml")).is_err());
        let bad = "platform = \"zendesk\"\nurl = \"https://x.zendesk.com\"\n[credentials]\ntoken = 12345678\n";
        let e = SourceConfig::parse(bad, Path::new("s.toml")).unwrap_err().to_string();
        assert!(!e.contains("12345678"), "{e}");
        assert!(e.contains("line 4"), "{e}");
        // An unterminated string: toml would quote the whole line, token included.
        let bad = "platform = \"zendesk\"\nurl = \"https://x.zendesk.com\"\n[credentials]\ntoken = \"s3cr3t-t0ken\n";
        let e = SourceConfig::parse(bad, Path::new("s.toml")).unwrap_err().to_string();
        assert!(!e.contains("s3cr3t"), "{e}");
        assert!(e.contains("s.toml") && e.contains("line 4"), "{e}");
        let bad = "platform = \"zendesk\"\n";
        let e = SourceConfig::parse(bad, Path::new("s.toml")).unwrap_err().to_string();
        assert!(e.contains("`url`"), "field names stay: {e}");
    }

    #[test]
    fn every_misspelt_key_is_refused_with_its_line() {
        let base = "platform = \"rt\"\nurl = \"https://rt.example.org\"\n[credentials]\ntoken_env = \"X\"\n";
        let cases = [
            ("[rate_limits]\ndefualt = 1\n", "line 6", "defualt"),
            ("[options]\nmax_attachment_mbb = 2\n", "line 6", "max_attachment_mbb"),
            ("[rt]\nqueue = \"x\"\n", "line 5", "rt"),
            ("plan = \"gold\"\n", "line 5", "plan"),
        ];
        for (tail, line, key) in cases {
            let text = format!("{base}{tail}");
            let e = SourceConfig::parse(&text, Path::new("s.toml")).unwrap_err().to_string();
            assert!(e.contains(line) && e.contains(key) && e.contains("s.toml"), "{tail:?}: {e}");
        }
        // Zendesk's own buckets are known.
        let zd = "platform = \"zendesk\"\nurl = \"https://x.zendesk.com\"\n[rate_limits]\nincremental = 10\nhelp_center = 5\n";
        SourceConfig::parse(zd, Path::new("s.toml")).unwrap();
        assert_eq!(key_line("a = 1\n[t]\n b = 2\n", "t", "b"), Some(3));
        assert_eq!(key_line("[t]\n", "t", ""), Some(1));
    }

    #[test]
    fn refuses_an_inline_token_readable_by_others() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("s.toml");
        std::fs::write(&p, SIM).unwrap();
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o644)).unwrap();
        let e = SourceConfig::load(&p).unwrap_err().to_string();
        assert!(e.contains("s.toml") && e.contains("chmod 600"), "{e}");
        assert!(!e.contains("abc123"), "{e}");
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o600)).unwrap();
        SourceConfig::load(&p).unwrap();
    }
}
