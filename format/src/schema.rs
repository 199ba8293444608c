//! The bundle's tables and one Arrow schema per table (docs/architecture.md, "The canonical
//! model"), plus the `Record` trait that
//! ties each model struct to its table.
//!
//! Changing a schema changes the bundle format: the snapshot test in this file fails and forces an
//! explicit choice (additive: update the snapshot and `format/CHANGELOG.md`; breaking: bump
//! `FORMAT_VERSION`).

use std::sync::Arc;

use arrow::datatypes::{DataType, Field, Fields, Schema, SchemaRef, TimeUnit};
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::model;

/// One table of the bundle.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Table {
    /// `users`
    Users,
    /// `organizations`
    Organizations,
    /// `groups`
    Groups,
    /// `custom_fields`
    CustomFields,
    /// `tickets`
    Tickets,
    /// `comments`
    Comments,
    /// `attachments`
    Attachments,
    /// `kb_categories`
    KbCategories,
    /// `kb_sections`
    KbSections,
    /// `kb_articles`
    KbArticles,
    /// `tombstones`
    Tombstones,
}

impl Table {
    /// Every table, in dependency (load) order.
    pub const ALL: [Table; 11] = [
        Table::Organizations,
        Table::Groups,
        Table::Users,
        Table::CustomFields,
        Table::Tickets,
        Table::Comments,
        Table::Attachments,
        Table::KbCategories,
        Table::KbSections,
        Table::KbArticles,
        Table::Tombstones,
    ];

    /// The table's name in the bundle (`data/tables/<name>/`).
    pub fn name(self) -> &'static str {
        match self {
            Table::Users => "users",
            Table::Organizations => "organizations",
            Table::Groups => "groups",
            Table::CustomFields => "custom_fields",
            Table::Tickets => "tickets",
            Table::Comments => "comments",
            Table::Attachments => "attachments",
            Table::KbCategories => "kb_categories",
            Table::KbSections => "kb_sections",
            Table::KbArticles => "kb_articles",
            Table::Tombstones => "tombstones",
        }
    }

    /// The table with this name, if it is one of ours.
    pub fn from_name(name: &str) -> Option<Table> {
        Table::ALL.into_iter().find(|t| t.name() == name)
    }

    /// The table's Arrow schema.
    pub fn schema(self) -> SchemaRef {
        Arc::new(Schema::new(self.fields()))
    }

    fn fields(self) -> Vec<Field> {
        let id = || Field::new("id", DataType::Utf8, false);
        let raw = || Field::new("raw", DataType::Utf8, false);
        match self {
            Table::Users => vec![
                id(),
                Field::new("kind", DataType::Utf8, false),
                opt_str("role_raw"),
                opt_str("name"),
                opt_str("email"),
                str_list("other_emails"),
                opt_str("phone"),
                opt_str("organization_id"),
                str_list("group_ids"),
                flag("active"),
                flag("suspended"),
                flag("is_deleted"),
                opt_str("locale"),
                opt_str("time_zone"),
                str_list("tags"),
                custom_fields(),
                ts("created_at"),
                ts("updated_at"),
                raw(),
            ],
            Table::Organizations => vec![
                id(),
                Field::new("name", DataType::Utf8, false),
                str_list("domains"),
                opt_str("notes"),
                str_list("tags"),
                custom_fields(),
                ts("created_at"),
                ts("updated_at"),
                raw(),
            ],
            Table::Groups => vec![
                id(),
                Field::new("name", DataType::Utf8, false),
                Field::new("kind", DataType::Utf8, false),
                opt_str("description"),
                flag("is_deleted"),
                ts("created_at"),
                raw(),
            ],
            Table::CustomFields => vec![
                id(),
                Field::new("entity", DataType::Utf8, false),
                Field::new("key", DataType::Utf8, false),
                Field::new("title", DataType::Utf8, false),
                Field::new("field_type", DataType::Utf8, false),
                opt_str("kind"),
                struct_list(
                    "options",
                    vec![
                        Field::new("value", DataType::Utf8, false),
                        Field::new("label", DataType::Utf8, false),
                    ],
                ),
                flag("required"),
                flag("active"),
                raw(),
                // Added after format 1 was frozen: nullable, so older parts read as null.
                Field::new("multiple", DataType::Boolean, true),
            ],
            Table::Tickets => vec![
                id(),
                opt_str("number"),
                opt_str("subject"),
                Field::new("status", DataType::Utf8, false),
                opt_str("status_raw"),
                opt_str("priority"),
                opt_str("priority_raw"),
                opt_str("ticket_type"),
                opt_str("channel"),
                opt_str("requester_id"),
                opt_str("submitter_id"),
                opt_str("assignee_id"),
                opt_str("group_id"),
                opt_str("organization_id"),
                str_list("cc_ids"),
                str_list("follower_ids"),
                str_list("tags"),
                custom_fields(),
                ts("created_at"),
                ts("updated_at"),
                ts("solved_at"),
                ts("due_at"),
                flag("is_deleted"),
                flag("is_spam"),
                raw(),
                opt_str_list("other_requester_ids"),
            ],
            Table::Comments => vec![
                id(),
                Field::new("ticket_id", DataType::Utf8, false),
                opt_str("author_id"),
                flag("public"),
                opt_str("body_html"),
                opt_str("body_text"),
                opt_str("channel"),
                ts("created_at"),
                str_list("attachment_ids"),
                raw(),
            ],
            Table::Attachments => vec![
                id(),
                opt_str("ticket_id"),
                opt_str("comment_id"),
                opt_str("article_id"),
                Field::new("file_name", DataType::Utf8, false),
                opt_str("content_type"),
                Field::new("size", DataType::Int64, true),
                opt_str("sha256"),
                flag("inline"),
                Field::new("state", DataType::Utf8, false),
                opt_str("error"),
                raw(),
            ],
            Table::KbCategories | Table::KbSections | Table::KbArticles => vec![
                id(),
                opt_str("parent_id"),
                opt_str("locale"),
                opt_str("translation_of"),
                Field::new("title", DataType::Utf8, false),
                opt_str("body_html"),
                opt_str("author_id"),
                flag("draft"),
                Field::new("position", DataType::Int64, true),
                str_list("labels"),
                ts("created_at"),
                ts("updated_at"),
                raw(),
            ],
            Table::Tombstones => {
                vec![Field::new("entity", DataType::Utf8, false), id(), ts("deleted_at")]
            }
        }
    }
}

impl std::fmt::Display for Table {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

fn opt_str(name: &str) -> Field {
    Field::new(name, DataType::Utf8, true)
}

fn flag(name: &str) -> Field {
    Field::new(name, DataType::Boolean, false)
}

fn ts(name: &str) -> Field {
    Field::new(name, DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into())), true)
}

fn str_list(name: &str) -> Field {
    Field::new(name, DataType::List(Arc::new(Field::new("item", DataType::Utf8, false))), false)
}

/// A list column added after format 1 was frozen: nullable, so older parts read as null.
fn opt_str_list(name: &str) -> Field {
    Field::new(name, DataType::List(Arc::new(Field::new("item", DataType::Utf8, false))), true)
}

fn struct_list(name: &str, fields: Vec<Field>) -> Field {
    let item = Field::new("item", DataType::Struct(Fields::from(fields)), false);
    Field::new(name, DataType::List(Arc::new(item)), false)
}

fn custom_fields() -> Field {
    struct_list(
        "custom_fields",
        vec![Field::new("key", DataType::Utf8, false), Field::new("value", DataType::Utf8, false)],
    )
}

/// A row of one bundle table: a model struct that knows its table and its key.
pub trait Record: Serialize + DeserializeOwned + Send + 'static {
    /// The table this record type is stored in.
    const TABLE: Table;
    /// The row's key; rows are stored in [`crate::model::id_order`] of this key.
    fn key(&self) -> String;
}

macro_rules! record {
    ($ty:ty, $table:expr) => {
        impl Record for $ty {
            const TABLE: Table = $table;
            fn key(&self) -> String {
                self.id.clone()
            }
        }
    };
}

record!(model::User, Table::Users);
record!(model::Organization, Table::Organizations);
record!(model::Group, Table::Groups);
record!(model::CustomField, Table::CustomFields);
record!(model::Ticket, Table::Tickets);
record!(model::Comment, Table::Comments);
record!(model::Attachment, Table::Attachments);

/// A knowledge-base category row (same shape as sections and articles).
#[derive(Debug, Clone, PartialEq, Serialize, serde::Deserialize)]
#[serde(transparent)]
pub struct KbCategory(pub model::KbItem);
/// A knowledge-base section row.
#[derive(Debug, Clone, PartialEq, Serialize, serde::Deserialize)]
#[serde(transparent)]
pub struct KbSection(pub model::KbItem);
/// A knowledge-base article row (one per locale).
#[derive(Debug, Clone, PartialEq, Serialize, serde::Deserialize)]
#[serde(transparent)]
pub struct KbArticle(pub model::KbItem);

macro_rules! kb_record {
    ($ty:ty, $table:expr) => {
        impl Record for $ty {
            const TABLE: Table = $table;
            fn key(&self) -> String {
                self.0.id.clone()
            }
        }
    };
}
kb_record!(KbCategory, Table::KbCategories);
kb_record!(KbSection, Table::KbSections);
kb_record!(KbArticle, Table::KbArticles);

impl Record for model::Tombstone {
    const TABLE: Table = Table::Tombstones;
    /// Tombstones are keyed by entity then id (ids repeat across entities).
    fn key(&self) -> String {
        format!("{}\u{0}{}", self.entity, self.id)
    }
}
