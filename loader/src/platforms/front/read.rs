//! Reading back: a conversation with its messages, notes and attachment hashes, and the
//! bounded search for a conversation an interrupted run left behind.

use deskferry_extractor::platforms::front::wire::{Attachment, Comment, Conversation, Message};

use super::load::{FrontTarget, http, other};
use super::map;
use crate::error::WriteError;
use crate::target::{MappedTicket, ReadComment, ReadTicket};

fn message_to_read(m: &Message) -> ReadComment {
    let author = if m.is_inbound {
        m.sender().map(|s| s.handle.clone())
    } else {
        m.author.as_ref().map(|a| a.email.clone()).or_else(|| m.sender().map(|s| s.handle.clone()))
    };
    ReadComment {
        id: m.message_uid.as_ref().map(|u| format!("alt:uid:{u}")).unwrap_or_else(|| m.id.clone()),
        external_id: m.body.as_deref().and_then(map::parse_marker),
        author,
        public: true,
        created_at: m.created_at.and_then(map::timestamp),
        attachments: Vec::new(),
    }
}

fn comment_to_read(c: &Comment) -> ReadComment {
    ReadComment {
        id: c.id.clone(),
        external_id: map::parse_marker(&c.body),
        author: c.author.as_ref().map(|a| a.email.clone()),
        public: false,
        created_at: c.posted_at.and_then(map::timestamp),
        attachments: Vec::new(),
    }
}

impl FrontTarget {
    async fn read_comment_files(
        &self,
        files: &[Attachment],
        id: &str,
    ) -> Result<Vec<(String, String, u64)>, WriteError> {
        let mut out = Vec::new();
        for a in files {
            // Hashed as it streams: the target's copy of an attachment never touches disk.
            let d = self.client.digest(&a.url).await.map_err(http("tickets", id))?;
            out.push((a.filename.clone(), d.sha256, d.size));
        }
        Ok(out)
    }

    /// [`crate::target::Target::find_ticket`].
    pub(super) async fn find_conversation(
        &self,
        ticket: &MappedTicket,
    ) -> Result<Option<String>, WriteError> {
        let tid = ticket.ticket.id.as_str();
        let inbox = self.inbox_id().await?.to_string();
        // Front has no lookup by external id or thread_ref. The conversations an interrupted
        // run left are the newest of the inbox: scan a bounded window for the subject, requester
        // and creation time. Not finding it is safe: the re-import threads by thread_ref into the
        // same conversation and Front drops the messages it already has.
        let want_time = ticket.ticket.created_at.map(|t| t.timestamp());
        let requester = map::requester_handle(ticket).to_lowercase();
        let mut hits: Vec<Conversation> = Vec::new();
        let mut page: Option<String> = None;
        for _ in 0..3 {
            let (convs, next) = self
                .client
                .inbox_conversations_page(&inbox, page.as_deref())
                .await
                .map_err(http("tickets", tid))?;
            hits.extend(convs.into_iter().filter(|c| {
                c.subject.as_deref() == Some(ticket.subject.as_str())
                    && want_time
                        .is_none_or(|w| c.created_at.is_some_and(|t| (t.floor() as i64) == w))
                    && c.recipient.as_ref().is_none_or(|r| r.handle.to_lowercase() == requester)
            }));
            match next {
                Some(n) => page = Some(n),
                None => break,
            }
        }
        Ok(if hits.len() == 1 { hits.pop().map(|c| c.id) } else { None })
    }

    /// [`crate::target::Target::read_ticket`].
    pub(super) async fn read_conversation(
        &self,
        target_id: &str,
    ) -> Result<ReadTicket, WriteError> {
        let e = || http("tickets", target_id);
        let conv = self
            .client
            .conversation(target_id)
            .await
            .map_err(e())?
            .ok_or_else(|| other("tickets", target_id, "no such conversation in Front"))?;
        let mut messages = self.client.conversation_messages(target_id).await.map_err(e())?;
        // Front lists newest first; equal times keep the later import first.
        messages.reverse();
        messages
            .sort_by(|a, b| a.created_at.unwrap_or(0.0).total_cmp(&b.created_at.unwrap_or(0.0)));
        let comments = self.client.conversation_comments(target_id).await.map_err(e())?;
        let mut out = Vec::with_capacity(messages.len() + comments.len());
        for m in &messages {
            let mut r = message_to_read(m);
            r.attachments = self.read_comment_files(&m.attachments, target_id).await?;
            out.push(r);
        }
        for c in &comments {
            let mut r = comment_to_read(c);
            r.attachments = self.read_comment_files(&c.attachments, target_id).await?;
            out.push(r);
        }
        Ok(ReadTicket {
            id: conv.id,
            subject: conv.subject,
            tags: conv.tags.into_iter().map(|t| t.name).collect(),
            status: conv.status,
            comments: out,
            ..Default::default()
        })
    }
}
