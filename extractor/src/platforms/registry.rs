//! The one list of platforms. Everything that depends on which platforms exist starts here:
//! connection-file parsing (the keys each side reads), the binaries' dispatch
//! ([`with_source`] here, the loader's `with_target`), `deskferry-sim serve` and `platforms`,
//! the conformance kit and the matrix (fixtures), and the README's platform table, which a test
//! compares with [`markdown_table`].
//!
//! Adding a platform is one entry in [`PLATFORMS`] plus its code in each layer
//! (docs/adding-a-platform.md).

use std::future::Future;

use crate::config::SourceConfig;
use crate::error::ExtractError;
use crate::http::Http;
use crate::source::Source;

/// What one side (source or target) of a platform reads from its connection file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Side {
    /// Option names (`[options]`, and a target's `[<platform>]` table).
    pub options: &'static [&'static str],
    /// Rate-limit buckets (`[rate_limits]`).
    pub buckets: &'static [&'static str],
}

/// One platform.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Platform {
    /// The name in connection files, envelopes and commands (`zendesk`).
    pub name: &'static str,
    /// What people call it.
    pub title: &'static str,
    /// As a source: what its source file reads; `None` when it cannot be one yet.
    pub source: Option<Side>,
    /// As a target: what its target file reads; `None` when it cannot be one yet.
    pub target: Option<Side>,
    /// What the suite tests it against.
    pub tested_against: &'static str,
}

impl Platform {
    /// The side for `role`.
    pub fn side(&self, role: Role) -> Option<Side> {
        match role {
            Role::Source => self.source,
            Role::Target => self.target,
        }
    }
}

/// Which end of a migration.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Role {
    /// Read by `deskferry-extract`.
    Source,
    /// Written by `deskferry-load`.
    Target,
}

impl Role {
    /// `source` or `target`.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Source => "source",
            Role::Target => "target",
        }
    }
}

/// Every platform, in the order the README lists them.
pub const PLATFORMS: &[Platform] = &[
    Platform {
        name: "zendesk",
        title: "Zendesk (Support + Guide)",
        source: Some(Side {
            options: &["max_attachment_mb"],
            buckets: &[
                super::zendesk::client::DEFAULT,
                super::zendesk::client::INCREMENTAL,
                super::zendesk::client::HELP_CENTER,
                super::zendesk::client::ATTACHMENTS,
            ],
        }),
        target: Some(Side {
            options: &[
                "permission_group_id",
                "bulk_user_import",
                "archive_immediately",
                "batch_linger_ms",
            ],
            buckets: &[super::zendesk::client::DEFAULT, super::zendesk::client::HELP_CENTER],
        }),
        tested_against: "simulator (`deskferry-sim serve --platform zendesk`) shaped after answers recorded from real accounts, answers checked against Zendesk's OpenAPI",
    },
    Platform {
        name: "front",
        title: "Front",
        source: Some(Side {
            options: &["max_attachment_mb"],
            buckets: &[super::front::client::BUCKET],
        }),
        target: Some(Side {
            options: &["inbox", "address", "import_wait_secs", "burst_per_second"],
            buckets: &[super::front::client::BUCKET],
        }),
        tested_against: "simulator checked against Front's OpenAPI (requests and answers)",
    },
    Platform {
        name: "rt",
        title: "Request Tracker 5",
        source: Some(Side {
            options: &["max_attachment_mb"],
            buckets: &[super::rt::client::BUCKET],
        }),
        target: Some(Side { options: &[], buckets: &[super::rt::client::BUCKET] }),
        tested_against: "the real server (Debian's packages)",
    },
    Platform {
        name: "freshdesk",
        title: "Freshdesk",
        source: Some(Side {
            options: &["max_attachment_mb"],
            buckets: &[
                super::freshdesk::client::DEFAULT,
                super::freshdesk::client::TICKETS_LIST,
                super::freshdesk::client::CONTACTS_LIST,
                super::freshdesk::client::ATTACHMENTS,
            ],
        }),
        target: Some(Side { options: &[], buckets: &[super::freshdesk::client::DEFAULT] }),
        tested_against: "simulator (`deskferry-sim serve --platform freshdesk --role source` or `--role target`) shaped after answers recorded by public clients (docs/platforms/freshdesk.md)",
    },
    Platform {
        name: "helpscout",
        title: "Help Scout (Mailbox + Docs)",
        source: Some(Side {
            options: &["max_attachment_mb", "docs_url", "docs_key_env", "docs_key_file"],
            buckets: &[super::helpscout::client::DEFAULT, super::helpscout::client::DOCS],
        }),
        target: Some(Side {
            options: &[
                "docs_url",
                "docs_key_env",
                "docs_key_file",
                "docs_site",
                "default_mailbox",
                "mailboxes",
            ],
            buckets: &[super::helpscout::client::DEFAULT, super::helpscout::client::DOCS],
        }),
        tested_against: "simulator (`deskferry-sim serve --platform helpscout --role source` or `--role target`) shaped after Help Scout's PHP client fixtures, its developer documentation and recorded Docs API answers",
    },
    Platform {
        name: "kayako",
        title: "Kayako (API v1)",
        source: Some(Side { options: &[], buckets: &[super::kayako::client::DEFAULT] }),
        target: Some(Side { options: &["mailbox"], buckets: &[super::kayako::client::DEFAULT] }),
        tested_against: "simulator (`deskferry-sim serve --platform kayako --role source` or `--role target`) shaped after the Kayako Java SDK's recorded answers, Zammad's Kayako importer and Kayako's developer documentation (docs/platforms/kayako.md); Kayako Classic is a separate entry",
    },
    Platform {
        name: "kayako-classic",
        title: "Kayako Classic (v4 REST API; a source only: Classic cannot be a target)",
        source: Some(Side {
            options: &["max_attachment_mb", "page_size"],
            buckets: &[super::kayako_classic::client::DEFAULT],
        }),
        target: None,
        tested_against: "simulator (`deskferry-sim serve --platform kayako-classic --role source`) shaped after Classic's own API controllers and public clients' recorded XML (docs/platforms/kayako-classic.md)",
    },
    Platform {
        name: "intercom",
        title: "Intercom",
        source: Some(Side {
            options: &["max_attachment_mb"],
            buckets: &[super::intercom::client::DEFAULT, super::intercom::client::FILES],
        }),
        target: Some(Side {
            options: &["default_admin", "attachments_per_part", "agent_requester"],
            buckets: &[super::intercom::client::DEFAULT],
        }),
        tested_against: "simulator (`deskferry-sim serve --platform intercom --role source` or `--role target`) checked against Intercom's OpenAPI 2.14 (requests and answers; against 2.16 too, up to three known version differences), shaped after recorded answers (docs/platforms/intercom.md)",
    },
    Platform {
        name: "groove",
        title: "Groove",
        source: Some(Side {
            options: &["max_attachment_mb", "uploader_url"],
            buckets: &[super::groove::client::DEFAULT],
        }),
        target: Some(Side {
            options: &["uploader_url", "knowledge_base"],
            buckets: &[super::groove::client::DEFAULT],
        }),
        tested_against: "simulator (`deskferry-sim serve --platform groove --role source` or `--role target`) shaped after Groove's published API documentation and GraphQL reference and public clients (docs/platforms/groove.md)",
    },
];

/// The platform of this name.
pub fn get(name: &str) -> Option<&'static Platform> {
    PLATFORMS.iter().find(|p| p.name == name)
}

/// The platforms that can play `role`.
pub fn with_role(role: Role) -> impl Iterator<Item = &'static Platform> {
    PLATFORMS.iter().filter(move |p| p.side(role).is_some())
}

/// `"zendesk or rt"`: the names that can play `role`, for messages.
pub fn names(role: Role) -> String {
    let v: Vec<&str> = with_role(role).map(|p| p.name).collect();
    match v.split_last() {
        Some((last, rest)) if !rest.is_empty() => format!("{} or {last}", rest.join(", ")),
        Some((last, _)) => last.to_string(),
        None => String::new(),
    }
}

/// The side `name` plays in `role`, or why it cannot.
pub fn side(name: &str, role: Role) -> Result<Side, String> {
    match get(name) {
        Some(p) => p.side(role).ok_or_else(|| {
            format!("{} cannot be a {} yet (one of: {})", p.title, role.as_str(), names(role))
        }),
        None => Err(format!("platform {name:?} is unknown: expected {}", names(role))),
    }
}

/// The README's platform table (a test keeps the README equal to it).
pub fn markdown_table() -> String {
    let mut s = String::from("| platform | extract | load | tested against |\n|---|---|---|---|\n");
    for p in PLATFORMS {
        let yes = |b: bool| if b { "yes" } else { "not yet" };
        s.push_str(&format!(
            "| {} (`{}`) | {} | {} | {} |\n",
            p.title,
            p.name,
            yes(p.source.is_some()),
            yes(p.target.is_some()),
            p.tested_against
        ));
    }
    s
}

/// Something to do with a source, whatever its platform (the extractor's dispatch).
pub trait UseSource {
    /// What it gives.
    type Output;
    /// Does it with `source`, whose HTTP client is `http`.
    fn with<S: Source + 'static>(self, source: S, http: Http)
    -> impl Future<Output = Self::Output>;
}

/// Opens the source a connection file names and hands it to `u`; the one place that turns a
/// platform name into a `Source`.
pub async fn with_source<U: UseSource>(
    cfg: &SourceConfig,
    u: U,
) -> Result<U::Output, ExtractError> {
    match cfg.platform.as_str() {
        "zendesk" => {
            let s = super::zendesk::ZendeskSource::new(cfg)?;
            let http = s.http().clone();
            Ok(u.with(s, http).await)
        }
        "front" => {
            let s = super::front::FrontSource::new(cfg)?;
            let http = s.http().clone();
            Ok(u.with(s, http).await)
        }
        "freshdesk" => {
            let s = super::freshdesk::FreshdeskSource::new(cfg)?;
            let http = s.http().clone();
            Ok(u.with(s, http).await)
        }
        "rt" => {
            let s = super::rt::RtSource::new(cfg)?;
            let http = s.http().clone();
            Ok(u.with(s, http).await)
        }
        "helpscout" => {
            let s = super::helpscout::HelpScoutSource::new(cfg)?;
            let http = s.http().clone();
            Ok(u.with(s, http).await)
        }
        "kayako-classic" => {
            let s = super::kayako_classic::KayakoClassicSource::new(cfg)?;
            let http = s.http().clone();
            Ok(u.with(s, http).await)
        }
        "kayako" => {
            let s = super::kayako::KayakoSource::new(cfg)?;
            let http = s.http().clone();
            Ok(u.with(s, http).await)
        }
        "intercom" => {
            let s = super::intercom::IntercomSource::new(cfg)?;
            let http = s.http().clone();
            Ok(u.with(s, http).await)
        }
        "groove" => {
            let s = super::groove::GrooveSource::new(cfg)?;
            let http = s.http().clone();
            Ok(u.with(s, http).await)
        }
        other => Err(ExtractError::Config {
            path: cfg.path.clone(),
            message: side(other, Role::Source).err().unwrap_or_else(|| {
                format!("platform {other:?} is listed as a source but this build cannot open it")
            }),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_platform_is_listed_once_and_says_what_it_can() {
        let mut names: Vec<&str> = PLATFORMS.iter().map(|p| p.name).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), PLATFORMS.len(), "a name listed twice");
        assert_eq!(
            self::names(Role::Source),
            "zendesk, front, rt, freshdesk, helpscout, kayako, kayako-classic, intercom or groove"
        );
        assert_eq!(
            self::names(Role::Target),
            "zendesk, front, rt, freshdesk, helpscout, kayako, intercom or groove"
        );
        assert!(side("kayako-classic", Role::Target).unwrap_err().contains("cannot be a target"));
        assert!(side("desk.com", Role::Target).unwrap_err().contains("unknown"));
        assert!(markdown_table().contains("| Request Tracker 5 (`rt`) | yes | yes |"));
    }
}
