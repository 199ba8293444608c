//! Tickets with their comments and attachments.

use std::collections::HashMap;
use std::io::Read;

use bytes::Bytes;
use deskferry_extractor::http::ErrorClass;
use deskferry_format::{Attachment, AttachmentState, Comment, Ticket};
use futures_util::StreamExt;

use crate::error::WriteError;
use crate::ledger::{Entry, Outcome, content_hash};
use crate::load_error::LoadError;
use crate::mapping::{BundleIndex, Cast};
use crate::rows::Conversations;

/// One ticket's comments (conversation order) and each comment's attachments.
pub(super) struct Convo<'a> {
    comments: &'a [Comment],
    attachments: &'a [Vec<Attachment>],
}

impl Convo<'_> {
    fn attachments_of(&self, comment_id: &str) -> &[Attachment] {
        self.comments
            .iter()
            .position(|c| c.id == comment_id)
            .map(|i| self.attachments[i].as_slice())
            .unwrap_or(&[])
    }
}
use crate::target::{AttachmentData, MappedComment, Target};

use super::{
    Ctx, Selection, Tally, comment_hash, entry_for_error, entry_for_written, is_fatal, unchanged,
};

impl<T: Target> Ctx<'_, T> {
    /// Reads one attachment's bytes, or says why it is not uploaded.
    pub(super) fn attachment(&self, a: &Attachment) -> Result<AttachmentData, (String, bool)> {
        let o = &self.l.mapping.options;
        if o.skip_attachments {
            return Err(("options.skip_attachments".into(), false));
        }
        if a.inline && !o.inline_images_as_attachments {
            return Err((
                "inline image; options.inline_images_as_attachments = false".into(),
                false,
            ));
        }
        let sha = match (a.state, &a.sha256) {
            (AttachmentState::Stored, Some(s)) => s.clone(),
            (state, _) => {
                let word = match state {
                    AttachmentState::Missing => "missing at the source",
                    AttachmentState::TooLarge => "too large to extract",
                    AttachmentState::Failed => "download failed at extraction",
                    AttachmentState::Stored => "no blob",
                };
                return Err((format!("bytes not in the bundle: {word}"), true));
            }
        };
        if let (Some(max), Some(size)) = (self.caps.max_attachment_bytes, a.size)
            && size as u64 > max
        {
            return Err((
                format!("{size} bytes is over the target's limit of {max} bytes per file"),
                true,
            ));
        }
        let mut bytes = Vec::new();
        self.l
            .reader
            .open_blob(&sha)
            .and_then(|mut r| {
                r.read_to_end(&mut bytes).map_err(|e| {
                    deskferry_format::BundleError::new(
                        deskferry_format::ErrorCode::B040,
                        e.to_string(),
                    )
                })
            })
            .map_err(|e| (format!("reading the blob: {e}"), true))?;
        Ok(AttachmentData {
            id: a.id.clone(),
            file_name: a.file_name.clone(),
            content_type: a.content_type.clone(),
            sha256: sha,
            inline: a.inline,
            bytes: Bytes::from(bytes),
        })
    }

    /// The first person the ticket's write would name (requesters, submitter, assignee, CCs,
    /// followers, the authors of the comments to write) whose own write failed in this run for
    /// a reason that passes (see `Ctx::waiting`).
    fn waits_for(&self, t: &Ticket, todo: &[(&Comment, String)]) -> Option<String> {
        let waiting = self.waiting.lock().unwrap_or_else(|e| e.into_inner());
        if waiting.is_empty() {
            return None;
        }
        crate::rows::people_named(t)
            .chain(todo.iter().filter_map(|(c, _)| c.author_id.as_ref()))
            .find(|id| waiting.contains(*id))
            .cloned()
    }

    pub(super) async fn tickets(
        &self,
        selected: &Selection,
        conv: &Conversations,
        index: &BundleIndex,
        tally: &mut Tally,
    ) -> Result<(), LoadError> {
        self.l.progress.stage("tickets", selected.count());
        let n = self.l.mapping.options.concurrency_for(&self.caps);
        let rows: Box<dyn Iterator<Item = Result<Ticket, LoadError>> + Send + '_> = match selected {
            Selection::Ids(ids) => {
                Box::new(ids.iter().filter_map(|id| conv.ticket(id).transpose()))
            }
            // The filters again, as `select` applied them: the taken ones, in id order.
            Selection::Filtered { .. } => Box::new(conv.tickets().filter_map(|t| {
                let taken =
                    t.and_then(|t| Ok(self.excluded(conv, index, &t)?.is_none().then_some(t)));
                taken.transpose()
            })),
        };
        // One ticket's conversation and cast at a time per task in flight: the rows come from
        // the spool and the ledger's entries for them by id, so memory does not grow with the
        // bundle.
        let mut results = futures_util::stream::iter(rows.map(|t| async move {
            let t = t?;
            let id = &t.id;
            let comments = conv.comments_of(id)?;
            let mut atts = Vec::with_capacity(comments.len());
            let mut prev_c = HashMap::new();
            for c in &comments {
                atts.push(conv.attachments_of(c)?);
                if let Some(e) = self.l.ledger.get("comments", &c.id)? {
                    prev_c.insert(c.id.clone(), e);
                }
            }
            let prev = self.l.ledger.get("tickets", id)?;
            let cast = conv.cast(Some(&t), &comments, Some(self.l.ledger))?;
            let convo = Convo { comments: &comments, attachments: &atts };
            self.ticket(&t, &convo, prev.as_ref(), &prev_c, &cast).await
        }))
        .buffer_unordered(n);
        // The target unreachable for this many tickets in a row (after the client's retries):
        // stop rather than fail every remaining ticket slowly.
        const UNREACHABLE_STREAK: usize = 10;
        let mut streak = 0;
        while let Some(r) = results.next().await {
            self.l.progress.inc(1);
            let (outcomes, err) = r?;
            for (o, changed) in outcomes {
                tally.add(o, changed);
            }
            let unreachable = err.as_ref().is_some_and(|e| e.class() == ErrorClass::Retryable);
            streak = if unreachable { streak + 1 } else { 0 };
            if let Some(err) = err.filter(|e| is_fatal(e) || streak >= UNREACHABLE_STREAK) {
                tally.fatal = Some(LoadError::from(err));
                break;
            }
        }
        Ok(())
    }

    /// One ticket with its comments; returns the outcomes for the tally.
    async fn ticket(
        &self,
        t: &Ticket,
        conv: &Convo<'_>,
        prev: Option<&Entry>,
        prev_c: &HashMap<String, Entry>,
        cast: &Cast,
    ) -> Result<(Vec<(Outcome, bool)>, Option<WriteError>), LoadError> {
        let b = self.bundle_id.as_str();
        let hash = content_hash(t);
        let comments = conv.comments;
        let todo: Vec<(&Comment, String)> = comments
            .iter()
            .map(|c| (c, comment_hash(c, conv.attachments_of(&c.id))))
            // Done: migrated, or skipped by the target itself. A comment skipped only because
            // its ticket was filtered out is taken with the ticket once the filter lets it in.
            .filter(|(c, _)| {
                !prev_c.get(&c.id).is_some_and(|e| {
                    e.outcome == Outcome::Migrated || (e.outcome == Outcome::Skipped && e.notable)
                })
            })
            .collect();
        // A ticket skipped earlier by a filter (not notable) is taken now: only a migrated one or
        // one the target itself skipped counts as done.
        let ticket_same = unchanged(prev, &hash)
            && prev.is_some_and(|e| e.outcome == Outcome::Migrated || e.notable);
        if ticket_same && todo.is_empty() {
            return Ok((vec![(Outcome::Migrated, false); 1 + comments.len()], None));
        }
        if let Some(who) = self.waits_for(t, &todo) {
            let why = format!(
                "waits for user {who}, whose write failed in this run for a reason that passes; the next run writes the ticket after it"
            );
            let mut entries =
                vec![Entry::new("tickets", &t.id, Outcome::Failed, b, &hash).reason(&why, true)];
            entries.extend(todo.iter().map(|(c, h)| {
                Entry::new("comments", &c.id, Outcome::Failed, b, h)
                    .reason(&why, true)
                    .parent(&t.id)
            }));
            self.put(&entries)?;
            return Ok((vec![(Outcome::Failed, true); entries.len()], None));
        }
        let mapped = self.resolver.map_ticket(t, cast, self.demo);
        let mut prior = prev.and_then(|e| e.target_id.clone());
        if prior.is_none()
            && prev.is_some_and(|e| matches!(e.outcome, Outcome::Pending | Outcome::Failed))
        {
            // The earlier attempt may have reached the target before the crash.
            match self.l.target.find_ticket(&mapped).await {
                Ok(found) => prior = found,
                Err(e) => {
                    let entry = entry_for_error("tickets", &t.id, b, &hash, &e);
                    self.put(&[entry])?;
                    return Ok((vec![(Outcome::Failed, true)], Some(e)));
                }
            }
        }
        // Attachments: read the bytes, or record why not.
        let mut att_entries = Vec::new();
        let mut mapped_comments: Vec<MappedComment> = Vec::new();
        for (c, _) in &todo {
            let mut data = Vec::new();
            for a in conv.attachments_of(&c.id) {
                let ah = content_hash(a);
                match self.attachment(a) {
                    Ok(d) => data.push(d),
                    Err((why, notable)) => att_entries.push(
                        Entry::new("attachments", &a.id, Outcome::Skipped, b, &ah)
                            .reason(&why, notable),
                    ),
                }
            }
            mapped_comments.push(self.resolver.map_comment(c, data, cast));
        }
        let mut pending = vec![Entry::new("tickets", &t.id, Outcome::Pending, b, &hash)];
        pending.extend(
            todo.iter()
                .map(|(c, h)| Entry::new("comments", &c.id, Outcome::Pending, b, h).parent(&t.id)),
        );
        self.put(&pending)?;

        let mut out = Vec::new();
        let mut entries = att_entries;
        let result = self.l.target.write_ticket(&mapped, prior.as_deref(), &mapped_comments).await;
        let fatal = match result {
            Ok((w, per_comment)) => {
                let te = entry_for_written("tickets", &t.id, b, &hash, &w);
                out.push((te.outcome, true));
                entries.push(te);
                for (i, (c, h)) in todo.iter().enumerate() {
                    let ce = match per_comment.get(i) {
                        Some(Ok(w)) => entry_for_written("comments", &c.id, b, h, w),
                        Some(Err(e)) => entry_for_error("comments", &c.id, b, h, e),
                        None => Entry::new("comments", &c.id, Outcome::Failed, b, h)
                            .reason("the target returned no outcome for it", true),
                    }
                    .parent(&t.id);
                    for a in &mapped_comments[i].attachments {
                        // Images cut out of the body (data: URIs) have no row of their own.
                        let Some(row) = conv.attachments_of(&c.id).iter().find(|x| x.id == a.id)
                        else {
                            continue;
                        };
                        let ah = content_hash(row);
                        entries.push(Entry {
                            entity: "attachments".into(),
                            source_id: a.id.clone(),
                            target_id: ce.target_id.clone(),
                            outcome: ce.outcome,
                            reason: ce.reason.clone(),
                            notable: ce.notable,
                            bundle_id: b.into(),
                            content_hash: ah,
                            parent: Some(c.id.clone()),
                        });
                    }
                    out.push((ce.outcome, true));
                    entries.push(ce);
                }
                // A comment refused for a reason that stops the run (the token revoked between
                // two posts) stops it here too, not only a refused ticket.
                per_comment.into_iter().find_map(|r| r.err().filter(WriteError::is_fatal))
            }
            Err(e) => {
                entries.push(entry_for_error("tickets", &t.id, b, &hash, &e));
                out.push((Outcome::Failed, true));
                for (c, h) in &todo {
                    entries.push(
                        Entry::new("comments", &c.id, Outcome::Failed, b, h)
                            .reason("its ticket was not written", true)
                            .parent(&t.id),
                    );
                    out.push((Outcome::Failed, true));
                }
                Some(e)
            }
        };
        self.put(&entries)?;
        Ok((out, fatal))
    }
}
