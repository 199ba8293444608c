//! Writing one ticket: imports in order, wait until Front shows them, notes, then the update
//! imports cannot carry.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use deskferry_extractor::platforms::front::wire::{Message, Tag};

use super::load::{FrontTarget, http, http_into, other};
use super::map::{self, Ctx};
use crate::error::WriteError;
use crate::target::{
    MappedComment, MappedTicket, Posted, Written, after_failed, post_unless_found,
};

/// Spaces the writes into one conversation (Front's burst tier), with a quarter's margin for
/// the server's window boundaries.
struct Pace {
    interval: Duration,
    next: std::sync::Mutex<Option<Instant>>,
}

impl Pace {
    fn new(per_second: f64) -> Pace {
        let interval = if per_second > 0.0 {
            Duration::from_secs_f64(1.25 / per_second)
        } else {
            Duration::ZERO
        };
        Pace { interval, next: std::sync::Mutex::new(None) }
    }

    async fn tick(&self) {
        let next = *self.next.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(at) = next {
            tokio::time::sleep_until(at.into()).await;
        }
        *self.next.lock().unwrap_or_else(|e| e.into_inner()) = Some(Instant::now() + self.interval);
    }
}

impl FrontTarget {
    /// Makes sure every tag exists (Front may or may not create unknown names on import), once
    /// per name per run; returns their ids.
    async fn ensure_tags(&self, names: &[String], ticket: &str) -> Result<Vec<String>, WriteError> {
        let mut guard = self.tags.lock().await;
        if guard.is_none() {
            let all = self.client.tags().await.map_err(http("tickets", ticket))?;
            *guard = Some(all.into_iter().map(|t| (t.name, t.id)).collect());
        }
        let mut ids = Vec::new();
        for name in names {
            let known = guard.as_ref().and_then(|m| m.get(name).cloned());
            let id = match known {
                Some(id) => id,
                None => match self.client.create_tag(name).await {
                    Ok(Tag { id, name }) => {
                        guard.get_or_insert_with(HashMap::new).insert(name, id.clone());
                        id
                    }
                    Err(e) if e.status() == Some(409) => {
                        let all = self.client.tags().await.map_err(http("tickets", ticket))?;
                        let map: HashMap<String, String> =
                            all.into_iter().map(|t| (t.name, t.id)).collect();
                        let id = map.get(name).cloned();
                        *guard = Some(map);
                        match id {
                            Some(id) => id,
                            None => continue,
                        }
                    }
                    // A name Front refuses as a tag still goes by name on the import; reconcile
                    // shows whether it arrived.
                    Err(e) if e.status() == Some(400) => continue,
                    Err(e) => return Err(http("tickets", ticket)(e)),
                },
            };
            ids.push(id);
        }
        Ok(ids)
    }

    /// Polls an import's uid until Front shows the message (bounded by `import_wait`).
    async fn wait_for(&self, uid: &str, ticket: &str) -> Result<Message, WriteError> {
        let deadline = Instant::now() + self.opts.import_wait;
        let mut pause = Duration::from_millis(50);
        loop {
            let alias = format!("alt:uid:{uid}");
            if let Some(m) = self.client.message(&alias).await.map_err(http("tickets", ticket))? {
                return Ok(m);
            }
            if Instant::now() + pause > deadline {
                return Err(other(
                    "tickets",
                    ticket,
                    format!(
                        "Front accepted the import but did not show it within {} s (imports are asynchronous); a re-run resumes it",
                        self.opts.import_wait.as_secs()
                    ),
                ));
            }
            tokio::time::sleep(pause).await;
            pause = (pause * 2).min(Duration::from_secs(2));
        }
    }

    async fn existing_markers(
        &self,
        conversation: &str,
        ticket: &str,
    ) -> Result<HashMap<String, String>, WriteError> {
        let comments = self
            .client
            .conversation_comments(conversation)
            .await
            .map_err(http("tickets", ticket))?;
        Ok(comments
            .into_iter()
            .filter_map(|c| map::parse_marker(&c.body).map(|m| (m, c.id)))
            .collect())
    }

    /// Posts one note; one whose post ended in doubt is looked for by its marker before it is
    /// posted again ([`post_unless_found`]).
    async fn write_note(
        &self,
        conversation: &str,
        ticket: &str,
        c: &MappedComment,
        pace: &Pace,
    ) -> Result<Written, WriteError> {
        let (files, refused) =
            map::split_attachments(&c.attachments, self.opts.max_attachment_bytes);
        let body = map::note(c, &refused);
        let posted = post_unless_found(
            || async {
                pace.tick().await;
                self.client.create_comment(conversation, &body, &map::uploads(&files)).await
            },
            || async {
                Ok(self.existing_markers(conversation, ticket).await?.remove(&c.external_id))
            },
            http("comments", &c.comment.id),
        )
        .await?;
        Ok(Written::Migrated(match posted {
            Posted::Answered(cm) => cm.id,
            Posted::Found(id) => id,
        }))
    }

    /// A customer an earlier bundle loaded and this one only names (a delta carries only the
    /// people who changed) comes with its contact id and no address; Front addresses messages
    /// by handle, so the contact's own email handle is read (`GET /contacts/{id}`). `None`
    /// when every customer named has an address.
    async fn addressed(
        &self,
        ticket: &MappedTicket,
        comments: &[MappedComment],
    ) -> Result<(Option<MappedTicket>, Option<Vec<MappedComment>>), WriteError> {
        let needs = |a: &crate::target::Author| {
            !a.is_agent
                && a.email.is_none()
                && a.target_id.as_deref().is_some_and(|t| t.starts_with("crd_"))
        };
        if !needs(&ticket.requester) && !comments.iter().any(|c| needs(&c.author)) {
            return Ok((None, None));
        }
        let mut found: HashMap<String, Option<String>> = HashMap::new();
        let mut fill = async |a: &mut crate::target::Author| -> Result<(), WriteError> {
            if !needs(a) {
                return Ok(());
            }
            let id = a.target_id.clone().unwrap_or_default();
            if !found.contains_key(&id) {
                let c = self.client.contact(&id).await.map_err(http("users", &id))?;
                let email = c.and_then(|c| {
                    c.handles.into_iter().find(|h| h.source == "email").map(|h| h.handle)
                });
                found.insert(id.clone(), email);
            }
            a.email = found[&id].clone();
            Ok(())
        };
        let mut t = ticket.clone();
        fill(&mut t.requester).await?;
        let mut cs = comments.to_vec();
        for c in &mut cs {
            fill(&mut c.author).await?;
        }
        Ok((Some(t), Some(cs)))
    }

    /// [`crate::target::Target::write_ticket`].
    pub(super) async fn write_conversation(
        &self,
        ticket: &MappedTicket,
        prior: Option<&str>,
        new_comments: &[MappedComment],
    ) -> Result<(Written, Vec<Result<Written, WriteError>>), WriteError> {
        let (ticket_owned, comments_owned) = self.addressed(ticket, new_comments).await?;
        let ticket = ticket_owned.as_ref().unwrap_or(ticket);
        let new_comments = comments_owned.as_deref().unwrap_or(new_comments);
        let tid = ticket.ticket.id.as_str();
        let inbox = self.inbox_id().await?.to_string();
        let meta = self.meta().await?;
        let ctx = Ctx {
            address: &self.opts.address,
            teammates: &meta.teammates,
            max_attachment_bytes: self.opts.max_attachment_bytes,
        };
        if !ticket.tags.is_empty() {
            self.ensure_tags(&ticket.tags, tid).await?;
        }

        let pace = Pace::new(self.opts.burst_per_second);
        let mut outcomes: Vec<Option<Result<Written, WriteError>>> =
            (0..new_comments.len()).map(|_| None).collect();
        let mut last_uid: Option<String> = None;
        let mut first = prior.is_none();
        // A conversation exists only once a message is imported into it.
        if prior.is_none() && !new_comments.iter().any(|c| c.public) {
            let stub = map::stub_message(ticket, &ctx);
            pace.tick().await;
            let acc = self
                .client
                .import_message(&inbox, &stub, &[])
                .await
                .map_err(http_into("tickets", tid))?;
            last_uid = Some(acc.message_uid);
            first = false;
        }
        for (i, c) in new_comments.iter().enumerate().filter(|(_, c)| c.public) {
            let (files, refused) =
                map::split_attachments(&c.attachments, self.opts.max_attachment_bytes);
            let body = map::import_message(
                ticket,
                c,
                first || (prior.is_some() && last_uid.is_none()),
                &refused,
                &ctx,
            );
            pace.tick().await;
            match self.client.import_message(&inbox, &body, &map::uploads(&files)).await {
                Ok(acc) => {
                    outcomes[i] =
                        Some(Ok(Written::Migrated(format!("alt:uid:{}", acc.message_uid))));
                    last_uid = Some(acc.message_uid);
                    first = false;
                }
                Err(e) => {
                    let e = http_into("comments", &c.comment.id)(e);
                    // Every later import would fail the same way: the ticket fails with it and
                    // the run stops (imports already made are found again by external id).
                    if e.is_fatal() {
                        return Err(e);
                    }
                    outcomes[i] = Some(Err(e));
                }
            }
        }

        let conversation = match &last_uid {
            Some(uid) => {
                let m = self.wait_for(uid, tid).await?;
                m.conversation_id()
                    .ok_or_else(|| other("tickets", tid, "Front's message names no conversation"))?
            }
            None => match prior {
                Some(p) => p.to_string(),
                None => {
                    return Err(other(
                        "tickets",
                        tid,
                        "no message of this ticket could be imported, so Front has no conversation for it",
                    ));
                }
            },
        };

        let notes: Vec<usize> =
            (0..new_comments.len()).filter(|&i| !new_comments[i].public).collect();
        // Built every time: after a crash the ticket may come back through `find_ticket` (so
        // `prior` is set) without its fields note; the marker check below keeps it single.
        let fields_note = map::fields_note(ticket);
        // Comments have no key Front dedupes on, and the conversation may hold this ticket's
        // notes already whatever the ledger says (a lost ledger, a second operator: the imports
        // threaded into the existing conversation and Front dropped the repeated messages).
        // So its comments are listed before any note is posted; those with a marker are matched.
        let existing = if !notes.is_empty() || fields_note.is_some() {
            self.existing_markers(&conversation, tid).await?
        } else {
            HashMap::new()
        };
        if let Some(n) = fields_note
            && !existing.contains_key(&map::fields_note_external_id(ticket))
        {
            pace.tick().await;
            self.client
                .create_comment(&conversation, &n, &[])
                .await
                .map_err(http("tickets", tid))?;
        }
        // Front lists notes in the order they were posted: once one fails, the ticket's later
        // notes wait for the next run, which posts them all in order.
        let mut failed: Option<&str> = None;
        for i in notes {
            let c = &new_comments[i];
            if let Some(id) = existing.get(&c.external_id) {
                outcomes[i] = Some(Ok(Written::Matched(id.clone())));
                continue;
            }
            if let Some(first) = failed {
                outcomes[i] = Some(Err(after_failed(&c.comment.id, first, "note", "Front")));
                continue;
            }
            let r = self.write_note(&conversation, tid, c, &pace).await;
            if r.is_err() {
                failed = Some(c.comment.id.as_str());
            }
            outcomes[i] = Some(r);
        }

        let update = map::conversation_update(ticket, &meta.conversation_fields, prior.is_some());
        if !update.is_empty() {
            self.client
                .update_conversation(&conversation, &update)
                .await
                .map_err(http("tickets", tid))?;
        }
        if prior.is_some() && last_uid.is_none() && !ticket.tags.is_empty() {
            // No import carried the tags this time.
            let ids = self.ensure_tags(&ticket.tags, tid).await?;
            self.client
                .add_conversation_tags(&conversation, &ids)
                .await
                .map_err(http("tickets", tid))?;
        }
        let outcomes = outcomes
            .into_iter()
            .map(|o| o.unwrap_or_else(|| Err(other("comments", "?", "not written"))))
            .collect();
        Ok((Written::Migrated(conversation), outcomes))
    }
}
