//! Front Core API JSON shapes (Front's OpenAPI `core-api.json`, see docs/architecture.md): the
//! records we read back and
//! the bodies we send. Only the fields deskferry uses are typed; Front adds fields freely, so
//! unknown keys are ignored and most keys are optional.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// A list answer: `_results`, and `_pagination.next` on lists that page.
#[derive(Debug, Clone, Deserialize)]
pub struct List<T> {
    /// The records of this page.
    #[serde(rename = "_results", default = "Vec::new")]
    pub results: Vec<T>,
    /// Paging links, on lists that page.
    #[serde(rename = "_pagination", default)]
    pub pagination: Option<Pagination>,
}

/// `_pagination`.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct Pagination {
    /// Full URL of the next page; `None` on the last.
    #[serde(default)]
    pub next: Option<String>,
}

/// A teammate (agent); never created through the API.
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
pub struct Teammate {
    /// `tea_…`.
    pub id: String,
    /// Email (the `alt:email:` alias).
    #[serde(default)]
    pub email: String,
    /// User name.
    #[serde(default)]
    pub username: Option<String>,
    /// First name.
    #[serde(default)]
    pub first_name: Option<String>,
    /// Last name.
    #[serde(default)]
    pub last_name: Option<String>,
    /// Admin.
    #[serde(default)]
    pub is_admin: bool,
    /// Blocked (cannot be assigned or author).
    #[serde(default)]
    pub is_blocked: bool,
}

impl Teammate {
    /// "First Last", or the email when Front has no name.
    pub fn display_name(&self) -> String {
        let name = [self.first_name.as_deref(), self.last_name.as_deref()]
            .into_iter()
            .flatten()
            .filter(|s| !s.is_empty())
            .collect::<Vec<_>>()
            .join(" ");
        if name.is_empty() { self.email.clone() } else { name }
    }
}

/// An inbox.
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
pub struct Inbox {
    /// `inb_…`.
    pub id: String,
    /// Name.
    #[serde(default)]
    pub name: String,
}

/// A record named by its id only (a team's inboxes and members).
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
pub struct IdOnly {
    /// Its Front id.
    pub id: String,
}

/// A team (`GET /teams/{id}`, `TeamResponse`): the inboxes it works and its members.
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
pub struct Team {
    /// `tim_…`.
    pub id: String,
    /// Name.
    #[serde(default)]
    pub name: String,
    /// Its inboxes (whole inbox records; only their ids are used).
    #[serde(default)]
    pub inboxes: Vec<IdOnly>,
    /// Teammates with access to the team (whole teammate records).
    #[serde(default)]
    pub members: Vec<IdOnly>,
}

/// `_links.related` of a knowledge-base record: its category's parent, an article's category,
/// an article's last editor (links; null or absent when there is none).
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
pub struct KbRelated {
    /// A category's parent category.
    #[serde(default)]
    pub parent_category: Option<String>,
    /// An article's category.
    #[serde(default)]
    pub category: Option<String>,
    /// The teammate who last edited an article (in this locale).
    #[serde(default)]
    pub last_editor: Option<String>,
}

/// `_links` of a knowledge-base record.
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
pub struct KbLinks {
    /// Related records.
    #[serde(default)]
    pub related: KbRelated,
}

/// A knowledge-base category or article as lists show it (`…SlimResponse`): no text, its
/// locales.
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
pub struct KbSlim {
    /// `kbc_…` or `kba_…`.
    pub id: String,
    /// Links (parent, category).
    #[serde(rename = "_links", default)]
    pub links: KbLinks,
    /// The locales it has content in.
    #[serde(default)]
    pub locales: Vec<String>,
    /// Unix seconds.
    #[serde(default)]
    pub created_at: Option<f64>,
    /// Unix seconds.
    #[serde(default)]
    pub updated_at: Option<f64>,
}

/// A knowledge-base category or article in one locale (`…/content`, `…/locales/{l}/content`).
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
pub struct KbContent {
    /// `kbc_…` or `kba_…`.
    pub id: String,
    /// Links (last editor).
    #[serde(rename = "_links", default)]
    pub links: KbLinks,
    /// Name (a category's, an article's title).
    #[serde(default)]
    pub name: Option<String>,
    /// A category's description.
    #[serde(default)]
    pub description: Option<String>,
    /// An article's HTML.
    #[serde(default)]
    pub content: Option<String>,
    /// An article's status (`draft`, `published`).
    #[serde(default)]
    pub status: Option<String>,
    /// An article's keywords.
    #[serde(default)]
    pub keywords: Vec<String>,
    /// This content's locale.
    #[serde(default)]
    pub locale: Option<String>,
    /// Unix seconds.
    #[serde(default)]
    pub created_at: Option<f64>,
    /// Unix seconds.
    #[serde(default)]
    pub updated_at: Option<f64>,
}

/// One allowed value of an enum custom field.
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
pub struct FieldValue {
    /// Stored value.
    pub value: Value,
    /// Label shown.
    #[serde(default)]
    pub label: Option<String>,
}

/// A custom field definition (read-only through the API).
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
pub struct CustomField {
    /// `fld_…`.
    pub id: String,
    /// Name values are keyed by.
    pub name: String,
    /// `string`, `boolean`, `datetime`, `number`, `enum`, `teammate`, `inbox`.
    #[serde(rename = "type", default)]
    pub kind: String,
    /// Enum values.
    #[serde(default)]
    pub values: Vec<FieldValue>,
}

/// A tag.
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
pub struct Tag {
    /// `tag_…`.
    pub id: String,
    /// Name (unique).
    pub name: String,
}

/// A contact handle: `{handle, source}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Handle {
    /// The address, number or custom identifier.
    pub handle: String,
    /// `email`, `phone`, `twitter`, `facebook`, `intercom`, `front_chat`, `custom`.
    pub source: String,
}

/// A contact (end user).
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
pub struct Contact {
    /// `crd_…`.
    pub id: String,
    /// Name (absent when the contact has none).
    #[serde(default)]
    pub name: Option<String>,
    /// Description.
    #[serde(default)]
    pub description: Option<String>,
    /// Handles.
    #[serde(default)]
    pub handles: Vec<Handle>,
    /// Custom field values by field name.
    #[serde(default)]
    pub custom_fields: Map<String, Value>,
}

/// An account (organization).
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
pub struct Account {
    /// `acc_…`.
    pub id: String,
    /// Name.
    #[serde(default)]
    pub name: String,
    /// Description.
    #[serde(default)]
    pub description: Option<String>,
    /// Domains.
    #[serde(default)]
    pub domains: Vec<String>,
    /// External id (unique; the `alt:external_id:` alias).
    #[serde(default)]
    pub external_id: Option<String>,
    /// Custom field values by field name.
    #[serde(default)]
    pub custom_fields: Map<String, Value>,
    /// Creation (Unix seconds, fractional).
    #[serde(default)]
    pub created_at: Option<f64>,
    /// Last update (Unix seconds, fractional).
    #[serde(default)]
    pub updated_at: Option<f64>,
}

/// `_links` of a recipient: the contact it resolves to (null when none).
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
pub struct RecipientLinks {
    /// Related resources.
    #[serde(default)]
    pub related: RecipientRelated,
}

/// `_links.related` of a recipient.
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
pub struct RecipientRelated {
    /// URL of the contact (`…/contacts/crd_…`), null when the handle is no contact's.
    #[serde(default)]
    pub contact: Option<String>,
}

/// The last path segment of a Front link (`…/contacts/crd_1` → `crd_1`).
pub fn link_id(url: &str) -> Option<String> {
    let tail = url.split(['?', '#']).next()?.trim_end_matches('/').rsplit('/').next()?;
    (!tail.is_empty()).then(|| tail.to_string())
}

/// A sender or recipient of a message / the recipient of a conversation.
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
pub struct Recipient {
    /// Links (`related.contact`).
    #[serde(rename = "_links", default)]
    pub links: RecipientLinks,
    /// Name, when known.
    #[serde(default)]
    pub name: Option<String>,
    /// Handle (email address, phone number, custom id).
    #[serde(default)]
    pub handle: String,
    /// `from`, `to`, `cc`, `bcc`, `reply-to`.
    #[serde(default)]
    pub role: String,
}

/// `metadata` of an attachment.
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
pub struct AttachmentMetadata {
    /// Shown inside the body (`cid:`) rather than listed.
    #[serde(default)]
    pub is_inline: bool,
}

/// An attachment's metadata; `url` downloads the bytes (same origin, bearer auth).
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
pub struct Attachment {
    /// Inline or not.
    #[serde(default)]
    pub metadata: AttachmentMetadata,
    /// `fil_…`.
    #[serde(default)]
    pub id: Option<String>,
    /// File name.
    #[serde(default)]
    pub filename: String,
    /// Download URL.
    pub url: String,
    /// MIME type.
    #[serde(default)]
    pub content_type: Option<String>,
    /// Size in bytes.
    #[serde(default)]
    pub size: Option<u64>,
}

/// A conversation (ticket).
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
pub struct Conversation {
    /// `cnv_…`.
    pub id: String,
    /// Subject.
    #[serde(default)]
    pub subject: Option<String>,
    /// `archived`, `unassigned`, `assigned`, `deleted` (spam shows as deleted).
    #[serde(default)]
    pub status: Option<String>,
    /// Assigned teammate.
    #[serde(default)]
    pub assignee: Option<Teammate>,
    /// The contact the conversation is with.
    #[serde(default)]
    pub recipient: Option<Recipient>,
    /// Tags.
    #[serde(default)]
    pub tags: Vec<Tag>,
    /// Custom field values by field name.
    #[serde(default)]
    pub custom_fields: Map<String, Value>,
    /// Creation (Unix seconds, fractional).
    #[serde(default)]
    pub created_at: Option<f64>,
    /// Last activity (Unix seconds, fractional); the company list is ordered by it, newest
    /// first.
    #[serde(default)]
    pub updated_at: Option<f64>,
}

/// Links of a message (its conversation).
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
pub struct MessageLinks {
    /// Related resources.
    #[serde(default)]
    pub related: MessageRelated,
}

/// `_links.related` of a message.
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
pub struct MessageRelated {
    /// URL of the conversation the message is in.
    #[serde(default)]
    pub conversation: Option<String>,
}

/// A message (a public reply, inbound or outbound).
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
pub struct Message {
    /// Links (`related.conversation`).
    #[serde(rename = "_links", default)]
    pub links: MessageLinks,
    /// `msg_…`.
    pub id: String,
    /// Secondary id announced by the import's 202 (`alt:uid:` alias).
    #[serde(default)]
    pub message_uid: Option<String>,
    /// `email`, `custom`, …
    #[serde(rename = "type", default)]
    pub kind: Option<String>,
    /// Received (else sent by a teammate).
    #[serde(default)]
    pub is_inbound: bool,
    /// Sent/received time (Unix seconds).
    #[serde(default)]
    pub created_at: Option<f64>,
    /// Subject.
    #[serde(default)]
    pub subject: Option<String>,
    /// Teammate author of an outbound message.
    #[serde(default)]
    pub author: Option<Teammate>,
    /// Sender (`from`) and recipients.
    #[serde(default)]
    pub recipients: Vec<Recipient>,
    /// Body.
    #[serde(default)]
    pub body: Option<String>,
    /// The body as text.
    #[serde(default)]
    pub text: Option<String>,
    /// Attachments.
    #[serde(default)]
    pub attachments: Vec<Attachment>,
}

impl Message {
    /// The conversation id, from `_links.related.conversation`.
    pub fn conversation_id(&self) -> Option<String> {
        let url = self.links.related.conversation.as_deref()?;
        let tail = url.split(['?', '#']).next()?.trim_end_matches('/').rsplit('/').next()?;
        (!tail.is_empty()).then(|| tail.to_string())
    }

    /// The `from` recipient.
    pub fn sender(&self) -> Option<&Recipient> {
        self.recipients.iter().find(|r| r.role == "from")
    }
}

/// A comment (private note).
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
pub struct Comment {
    /// `com_…`.
    pub id: String,
    /// Teammate author.
    #[serde(default)]
    pub author: Option<Teammate>,
    /// Body (markdown).
    #[serde(default)]
    pub body: String,
    /// Posting time (always the time of the API call: comments cannot be back-dated).
    #[serde(default)]
    pub posted_at: Option<f64>,
    /// Attachments.
    #[serde(default)]
    pub attachments: Vec<Attachment>,
}

/// The 202 of an import.
#[derive(Debug, Clone, Deserialize, PartialEq)]
pub struct ImportAccepted {
    /// `accepted`.
    #[serde(default)]
    pub status: Option<String>,
    /// Resolve with `GET /messages/alt:uid:{uid}` once processed.
    pub message_uid: String,
}

/// `sender` of an import.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ImportSender {
    /// Handle of the sender (email address for email messages).
    pub handle: String,
    /// Display name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Teammate credited for an outbound message (ignored on inbound ones).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub author_id: Option<String>,
}

/// `metadata` of an import.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ImportMetadata {
    /// Threading key: every message of one source ticket carries the same one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub thread_ref: Option<String>,
    /// Received (else sent).
    pub is_inbound: bool,
    /// Archive after import (Front's default is true).
    pub is_archived: bool,
    /// Skip rules (Front's default is true; sent explicitly so nothing fires).
    pub should_skip_rules: bool,
}

/// Body of `POST /inboxes/{inbox_id}/imported_messages` (files go as multipart parts).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ImportMessage {
    /// Sender.
    pub sender: ImportSender,
    /// Recipient handles.
    pub to: Vec<String>,
    /// Copy recipients.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub cc: Vec<String>,
    /// Subject.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub subject: Option<String>,
    /// Body.
    pub body: String,
    /// `html` or `markdown`.
    pub body_format: String,
    /// Front will not import two messages with the same external id.
    pub external_id: String,
    /// Original time, Unix seconds.
    pub created_at: i64,
    /// `email`.
    #[serde(rename = "type")]
    pub kind: String,
    /// Teammate to assign the conversation to.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub assignee_id: Option<String>,
    /// Tag names to add to the conversation.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub tags: Vec<String>,
    /// Threading and state.
    pub metadata: ImportMetadata,
}

/// Body of `POST /conversations/{id}/comments`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CreateComment {
    /// Teammate id or alias; the token's owner when absent.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub author_id: Option<String>,
    /// Markdown body.
    pub body: String,
}

/// Body of `POST /contacts` (and, without handles, `PATCH /contacts/{id}`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ContactBody {
    /// Name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Description.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Handles (create only).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub handles: Vec<Handle>,
    /// Lists the contact belongs to (created on demand).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub list_names: Vec<String>,
    /// Values of existing custom fields, by name.
    #[serde(skip_serializing_if = "Map::is_empty")]
    pub custom_fields: Map<String, Value>,
}

/// Body of `POST /accounts` / `PATCH /accounts/{id}`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AccountBody {
    /// Name.
    pub name: String,
    /// Description.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Domains.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub domains: Vec<String>,
    /// External id (create only; unique).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub external_id: Option<String>,
    /// Values of existing custom fields, by name.
    #[serde(skip_serializing_if = "Map::is_empty")]
    pub custom_fields: Map<String, Value>,
}

/// Body of `PATCH /conversations/{id}`.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct UpdateConversation {
    /// `archived`, `open`, `deleted`, `spam`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
    /// Values of existing custom fields, by name (replaces all).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub custom_fields: Option<Map<String, Value>>,
}

impl UpdateConversation {
    /// Nothing to change.
    pub fn is_empty(&self) -> bool {
        self.status.is_none() && self.custom_fields.is_none()
    }
}

/// Flattens a JSON object into multipart form fields the way Front reads them: nested keys in
/// brackets (`sender[handle]`, `metadata[is_inbound]`), array items indexed (`to[0]`), scalars
/// as text, nulls left out.
pub fn form_fields(value: &Value) -> Vec<(String, String)> {
    fn walk(prefix: &str, v: &Value, out: &mut Vec<(String, String)>) {
        match v {
            Value::Null => {}
            Value::Bool(b) => out.push((prefix.to_string(), b.to_string())),
            Value::Number(n) => out.push((prefix.to_string(), n.to_string())),
            Value::String(s) => out.push((prefix.to_string(), s.clone())),
            Value::Array(items) => {
                for (i, item) in items.iter().enumerate() {
                    walk(&format!("{prefix}[{i}]"), item, out);
                }
            }
            Value::Object(map) => {
                for (k, item) in map {
                    let key = if prefix.is_empty() { k.clone() } else { format!("{prefix}[{k}]") };
                    walk(&key, item, out);
                }
            }
        }
    }
    let mut out = Vec::new();
    walk("", value, &mut out);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn form_fields_bracket_nested_keys_and_index_arrays() {
        let v = json!({
            "sender": {"handle": "a@b.c", "name": null},
            "to": ["x@y.z", "w@y.z"],
            "created_at": 1_500_000_000,
            "metadata": {"is_inbound": false, "thread_ref": "t-1"},
        });
        assert_eq!(
            form_fields(&v),
            vec![
                ("sender[handle]".to_string(), "a@b.c".to_string()),
                ("to[0]".into(), "x@y.z".into()),
                ("to[1]".into(), "w@y.z".into()),
                ("created_at".into(), "1500000000".into()),
                ("metadata[is_inbound]".into(), "false".into()),
                ("metadata[thread_ref]".into(), "t-1".into()),
            ]
        );
    }

    #[test]
    fn message_knows_its_conversation_and_sender() {
        let m: Message = serde_json::from_value(json!({
            "_links": {"self": "http://h/messages/msg_1",
                       "related": {"conversation": "http://h/conversations/cnv_9"}},
            "id": "msg_1", "message_uid": "abc", "type": "email", "is_inbound": true,
            "created_at": 1_500_000_000, "blurb": "x",
            "recipients": [{"_links": {"related": {"contact": null}}, "name": "C", "handle": "c@d.e", "role": "from"},
                           {"name": null, "handle": "s@d.e", "role": "to"}],
            "body": "<p>x</p>", "attachments": [], "metadata": {}
        }))
        .unwrap();
        assert_eq!(m.conversation_id().as_deref(), Some("cnv_9"));
        assert_eq!(m.sender().map(|r| r.handle.as_str()), Some("c@d.e"));
        assert_eq!(m.created_at, Some(1_500_000_000.0));
    }

    #[test]
    fn import_body_leaves_out_what_is_unset() {
        let body = ImportMessage {
            sender: ImportSender { handle: "a@b.c".into(), name: None, author_id: None },
            to: vec!["s@b.c".into()],
            cc: vec![],
            subject: None,
            body: "hi".into(),
            body_format: "html".into(),
            external_id: "e1".into(),
            created_at: 1,
            kind: "email".into(),
            assignee_id: None,
            tags: vec![],
            metadata: ImportMetadata {
                thread_ref: Some("t".into()),
                is_inbound: true,
                is_archived: true,
                should_skip_rules: true,
            },
        };
        let v = serde_json::to_value(&body).unwrap();
        assert_eq!(v["sender"], json!({"handle": "a@b.c"}));
        assert!(v.get("cc").is_none() && v.get("tags").is_none() && v.get("subject").is_none());
        assert_eq!(v["type"], "email");
    }
}
