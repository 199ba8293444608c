//! Kayako's JSON (API v1, `_case=snake`) as typed views: only ids are required, every other
//! field has a default, and a field of an unexpected type is left out by
//! [`crate::tolerant::Notes::read`] (the record kept, its raw JSON verbatim). Where each shape
//! was learned: `docs/platforms/kayako.md`.

// The fields are Kayako's own, named as its JSON names them (docs/platforms/kayako.md).
#![allow(missing_docs)]

use serde::{Deserialize, Deserializer};
use serde_json::Value;

/// An id: Kayako writes numbers; a string is taken as it is.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Id(pub String);

impl<'de> Deserialize<'de> for Id {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Id, D::Error> {
        match Value::deserialize(d)? {
            Value::Number(n) => Ok(Id(n.to_string())),
            Value::String(s) if !s.is_empty() => Ok(Id(s)),
            other => Err(serde::de::Error::custom(format!("an id, not {other}"))),
        }
    }
}

/// A compact reference `{id, resource_type}` (or a whole record: only the id is read). A bare
/// id where Kayako documents the object is read as the reference, with `bare` set so the
/// mapping notes the shape (the record keeps it in `raw`).
#[derive(Debug, Clone)]
pub struct Ref {
    /// Its id.
    pub id: Id,
    /// Sent as a bare id, not as `{id, resource_type}`.
    pub bare: bool,
}

impl<'de> Deserialize<'de> for Ref {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Ref, D::Error> {
        #[derive(Deserialize)]
        struct Object {
            id: Id,
        }
        match Value::deserialize(d)? {
            v @ (Value::Number(_) | Value::String(_)) => {
                let id = Id::deserialize(v).map_err(serde::de::Error::custom)?;
                Ok(Ref { id, bare: true })
            }
            v => {
                let o = Object::deserialize(v).map_err(serde::de::Error::custom)?;
                Ok(Ref { id: o.id, bare: false })
            }
        }
    }
}

/// A role.
#[derive(Debug, Clone, Deserialize, Default)]
pub struct Role {
    /// OWNER, ADMIN, AGENT, COLLABORATOR, CUSTOMER.
    #[serde(rename = "type", default)]
    pub kind: Option<String>,
}

/// An email identity.
#[derive(Debug, Clone, Deserialize)]
pub struct Email {
    /// The address.
    #[serde(default)]
    pub email: Option<String>,
    /// The person's main address.
    #[serde(default)]
    pub is_primary: Option<bool>,
}

/// A phone identity.
#[derive(Debug, Clone, Deserialize)]
pub struct Phone {
    /// The number.
    #[serde(default)]
    pub number: Option<String>,
}

/// A value of a custom field.
#[derive(Debug, Clone, Deserialize)]
pub struct FieldValue {
    /// The field.
    pub field: Ref,
    /// Its value as text.
    #[serde(default)]
    pub value: Option<String>,
}

/// A person (staff or customer).
#[derive(Debug, Clone, Deserialize)]
pub struct User {
    pub id: Id,
    #[serde(default)]
    pub full_name: Option<String>,
    #[serde(default)]
    pub role: Option<Role>,
    #[serde(default)]
    pub teams: Vec<Ref>,
    #[serde(default)]
    pub emails: Vec<Email>,
    #[serde(default)]
    pub phones: Vec<Phone>,
    #[serde(default)]
    pub organization: Option<Ref>,
    #[serde(default)]
    pub custom_fields: Vec<FieldValue>,
    #[serde(default)]
    pub is_enabled: Option<bool>,
    #[serde(default)]
    pub locale: Option<String>,
    #[serde(default)]
    pub time_zone: Option<String>,
    #[serde(default)]
    pub created_at: Option<String>,
    #[serde(default)]
    pub updated_at: Option<String>,
}

/// A domain of an organization.
#[derive(Debug, Clone, Deserialize)]
pub struct Domain {
    #[serde(default)]
    pub domain: Option<String>,
}

/// A tag.
#[derive(Debug, Clone, Deserialize)]
pub struct Tag {
    #[serde(default)]
    pub name: Option<String>,
}

/// An organization.
#[derive(Debug, Clone, Deserialize)]
pub struct Organization {
    pub id: Id,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub domains: Vec<Domain>,
    #[serde(default)]
    pub tags: Vec<Tag>,
    #[serde(default)]
    pub custom_fields: Vec<FieldValue>,
    #[serde(default)]
    pub created_at: Option<String>,
    #[serde(default)]
    pub updated_at: Option<String>,
}

/// A team.
#[derive(Debug, Clone, Deserialize)]
pub struct Team {
    pub id: Id,
    #[serde(default)]
    pub title: Option<String>,
    #[serde(default)]
    pub created_at: Option<String>,
}

/// A locale field (one locale's text of a Help Center item, or of a field option).
#[derive(Debug, Clone, Deserialize)]
pub struct LocaleField {
    #[serde(default)]
    pub id: Option<Id>,
    #[serde(default)]
    pub locale: Option<String>,
    #[serde(default)]
    pub translation: Option<String>,
    #[serde(default)]
    pub created_at: Option<String>,
    #[serde(default)]
    pub updated_at: Option<String>,
}

/// An option of a field.
#[derive(Debug, Clone, Deserialize)]
pub struct FieldOption {
    #[serde(default)]
    pub tag: Option<String>,
    #[serde(default)]
    pub values: Vec<LocaleField>,
}

/// A field definition.
#[derive(Debug, Clone, Deserialize)]
pub struct Field {
    pub id: Id,
    #[serde(default)]
    pub title: Option<String>,
    #[serde(rename = "type", default)]
    pub kind: Option<String>,
    #[serde(default)]
    pub key: Option<String>,
    #[serde(default)]
    pub is_required_for_agents: Option<bool>,
    #[serde(default)]
    pub is_enabled: Option<bool>,
    #[serde(default)]
    pub options: Vec<FieldOption>,
}

/// A status, priority or type of a case.
#[derive(Debug, Clone, Deserialize, Default)]
pub struct Label {
    #[serde(default)]
    pub label: Option<String>,
    #[serde(rename = "type", default)]
    pub kind: Option<String>,
}

/// A case.
#[derive(Debug, Clone, Deserialize)]
pub struct Case {
    pub id: Id,
    #[serde(default)]
    pub subject: Option<String>,
    #[serde(default)]
    pub requester: Option<Ref>,
    #[serde(default)]
    pub creator: Option<Ref>,
    #[serde(default)]
    pub assigned_agent: Option<Ref>,
    #[serde(default)]
    pub assigned_team: Option<Ref>,
    #[serde(default)]
    pub status: Option<Label>,
    #[serde(default)]
    pub priority: Option<Label>,
    #[serde(rename = "type", default)]
    pub case_type: Option<Label>,
    #[serde(default)]
    pub state: Option<String>,
    #[serde(default)]
    pub custom_fields: Vec<FieldValue>,
    #[serde(default)]
    pub tags: Vec<Tag>,
    #[serde(default)]
    pub created_at: Option<String>,
    #[serde(default)]
    pub updated_at: Option<String>,
}

/// A channel.
#[derive(Debug, Clone, Deserialize, Default)]
pub struct Channel {
    #[serde(rename = "type", default)]
    pub kind: Option<String>,
}

/// An attachment.
#[derive(Debug, Clone, Deserialize)]
pub struct Attachment {
    pub id: Id,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub size: Option<i64>,
    #[serde(rename = "type", default)]
    pub content_type: Option<String>,
    #[serde(default)]
    pub content_id: Option<String>,
    #[serde(default)]
    pub url: Option<String>,
    #[serde(default)]
    pub url_download: Option<String>,
}

/// The message or note a post is (side-loaded with `include=case_message,note`).
#[derive(Debug, Clone, Deserialize, Default)]
pub struct Original {
    #[serde(default)]
    pub body_text: Option<String>,
    #[serde(default)]
    pub body_html: Option<String>,
    #[serde(default)]
    pub resource_type: Option<String>,
}

/// A post of a case.
#[derive(Debug, Clone, Deserialize)]
pub struct Post {
    pub id: Id,
    #[serde(default)]
    pub contents: Option<String>,
    #[serde(default)]
    pub creator: Option<Ref>,
    #[serde(default)]
    pub source_channel: Option<Channel>,
    #[serde(default)]
    pub original: Option<Original>,
    #[serde(default)]
    pub attachments: Vec<Value>,
    #[serde(default)]
    pub created_at: Option<String>,
}

/// A Help Center category, section or article.
#[derive(Debug, Clone, Deserialize)]
pub struct HelpItem {
    pub id: Id,
    #[serde(default)]
    pub titles: Vec<LocaleField>,
    #[serde(default)]
    pub descriptions: Vec<LocaleField>,
    #[serde(default)]
    pub contents: Vec<LocaleField>,
    #[serde(default)]
    pub category: Option<Ref>,
    #[serde(default)]
    pub section: Option<Ref>,
    #[serde(default)]
    pub author: Option<Ref>,
    #[serde(default)]
    pub status: Option<String>,
    #[serde(default)]
    pub tags: Vec<Tag>,
    #[serde(default)]
    pub display_order: Option<i64>,
    #[serde(default)]
    pub attachments: Vec<Value>,
    #[serde(default)]
    pub created_at: Option<String>,
    #[serde(default)]
    pub updated_at: Option<String>,
}
