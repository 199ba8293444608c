//! Reading the verified bundle's tables into the shapes the loader works with.

use std::collections::HashMap;

use deskferry_extractor::platforms::field_kind;
use deskferry_format::model::id_order;
use deskferry_format::{
    Attachment, BundleReader, Comment, CustomField, Group, KbArticle, KbCategory, KbItem,
    KbSection, Organization, Record, Ticket, Tombstone, User,
};

use crate::load_error::LoadError;
use crate::mapping::BundleIndex;

/// Every row of one table.
pub fn all<R: Record>(reader: &BundleReader) -> Result<Vec<R>, LoadError> {
    reader
        .records::<R>()
        .map_err(|e| LoadError::Read(e.to_string()))?
        .map(|r| r.map_err(|e| LoadError::Read(e.to_string())))
        .collect()
}

/// The small tables, indexed.
pub fn index(reader: &BundleReader) -> Result<BundleIndex, LoadError> {
    let env = reader.envelope();
    Ok(BundleIndex {
        users: all::<User>(reader)?.into_iter().map(|u| (u.id.clone(), u)).collect(),
        groups: all::<Group>(reader)?.into_iter().map(|g| (g.id.clone(), g)).collect(),
        organizations: all::<Organization>(reader)?
            .into_iter()
            .map(|o| (o.id.clone(), o))
            .collect(),
        fields: all::<CustomField>(reader)?
            .into_iter()
            .map(|mut f| {
                // Bundles written before `custom_fields.kind` existed: the source platform's
                // own mapping of its type names says what the field holds.
                if f.kind.is_none() {
                    f.kind = field_kind(&env.source_platform, &f.field_type);
                }
                (f.key.clone(), f)
            })
            .collect(),
        source: format!("{}:{}", env.source_platform, env.source_account),
        statuses: statuses(reader)?,
    })
}

/// The (source status, canonical word) pairs of the bundle's tickets, read row by row.
fn statuses(
    reader: &BundleReader,
) -> Result<std::collections::BTreeSet<(String, String)>, LoadError> {
    let mut out = std::collections::BTreeSet::new();
    for t in reader.records::<Ticket>().map_err(|e| LoadError::Read(e.to_string()))? {
        let t = t.map_err(|e| LoadError::Read(e.to_string()))?;
        let word = crate::filter::status_word(t.status).to_string();
        out.insert((t.status_raw.unwrap_or_else(|| word.clone()), word));
    }
    Ok(out)
}

/// Tickets with their comments (conversation order) and each comment's attachments.
#[derive(Debug, Default)]
pub struct Conversations {
    /// Tickets in id order.
    pub tickets: Vec<Ticket>,
    /// Comments by ticket id, ordered by time then id.
    pub comments: HashMap<String, Vec<Comment>>,
    /// Attachments by comment id, in the comment's `attachment_ids` order where given.
    pub attachments: HashMap<String, Vec<Attachment>>,
}

impl Conversations {
    /// Reads tickets, comments and attachments.
    pub fn read(reader: &BundleReader) -> Result<Conversations, LoadError> {
        let tickets = all::<Ticket>(reader)?;
        let mut comments: HashMap<String, Vec<Comment>> = HashMap::new();
        for c in all::<Comment>(reader)? {
            comments.entry(c.ticket_id.clone()).or_default().push(c);
        }
        for list in comments.values_mut() {
            list.sort_by(|a, b| {
                a.created_at.cmp(&b.created_at).then_with(|| id_order(&a.id, &b.id))
            });
        }
        let mut attachments: HashMap<String, Vec<Attachment>> = HashMap::new();
        for a in all::<Attachment>(reader)? {
            if let Some(c) = a.comment_id.clone() {
                attachments.entry(c).or_default().push(a);
            }
        }
        // The comment's attachment_ids give the order; rows it does not list go last, by id.
        for list in comments.values() {
            for c in list {
                if let Some(v) = attachments.get_mut(&c.id) {
                    let pos = |id: &str| {
                        c.attachment_ids.iter().position(|x| x == id).unwrap_or(usize::MAX)
                    };
                    v.sort_by(|x, y| {
                        pos(&x.id).cmp(&pos(&y.id)).then_with(|| id_order(&x.id, &y.id))
                    });
                }
            }
        }
        Ok(Conversations { tickets, comments, attachments })
    }

    /// A ticket's comments (empty when it has none).
    pub fn comments_of(&self, ticket_id: &str) -> &[Comment] {
        self.comments.get(ticket_id).map(Vec::as_slice).unwrap_or(&[])
    }

    /// A comment's attachments.
    pub fn attachments_of(&self, comment_id: &str) -> &[Attachment] {
        self.attachments.get(comment_id).map(Vec::as_slice).unwrap_or(&[])
    }
}

/// Knowledge-base rows in load order: categories, sections, articles (source locale first).
pub fn kb_items(reader: &BundleReader) -> Result<Vec<(&'static str, KbItem)>, LoadError> {
    let mut out: Vec<(&'static str, KbItem)> = Vec::new();
    out.extend(all::<KbCategory>(reader)?.into_iter().map(|k| ("kb_categories", k.0)));
    out.extend(all::<KbSection>(reader)?.into_iter().map(|k| ("kb_sections", k.0)));
    let mut arts: Vec<KbItem> = all::<KbArticle>(reader)?.into_iter().map(|k| k.0).collect();
    arts.sort_by_key(|a| a.translation_of.is_some());
    out.extend(arts.into_iter().map(|a| ("kb_articles", a)));
    Ok(out)
}

/// Tombstones (delta bundles).
pub fn tombstones(reader: &BundleReader) -> Result<Vec<Tombstone>, LoadError> {
    all::<Tombstone>(reader)
}
