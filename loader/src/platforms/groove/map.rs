//! Mapped records → Groove request bodies (pure, unit-tested in `tests.rs`).
//!
//! Groove keeps a message's author and original time (`author`, `sent_at`), so messages carry
//! nothing of ours, except what Groove cannot hold: a line naming an author it has no address
//! for, and a reference line (`ref …`, the comment's external id) on messages added after their
//! ticket, which finds them after a lost answer and pairs them in reconciliation. A ticket
//! carries a marker tag (`dfx-…`) that finds it after a crash; reading back leaves it out.

use deskferry_format::Timestamp;
use deskferry_format::model::TicketStatus;
use serde_json::{Value, json};

use crate::target::{Author, MappedComment, MappedTicket};

/// Groove's ticket states.
pub const STATES: [&str; 5] = ["unread", "opened", "pending", "closed", "spam"];

/// `sent_at` as Groove prefers it (RFC 822).
pub fn sent_at(t: &Timestamp) -> String {
    t.to_rfc2822()
}

/// The state for the mapping's word, else for the canonical status (spam is spam).
pub fn state(word: Option<&str>, canonical: TicketStatus, spam: bool) -> &'static str {
    if spam {
        return "spam";
    }
    if let Some(w) = word {
        match w.to_ascii_lowercase().as_str() {
            "unread" | "new" => return "unread",
            "opened" | "open" => return "opened",
            "pending" | "on_hold" | "on-hold" | "hold" => return "pending",
            "closed" | "solved" | "resolved" => return "closed",
            "spam" => return "spam",
            _ => {}
        }
    }
    match canonical {
        TicketStatus::New => "unread",
        TicketStatus::Open => "opened",
        TicketStatus::Pending | TicketStatus::OnHold => "pending",
        TicketStatus::Solved | TicketStatus::Closed => "closed",
    }
}

/// The tag that finds a ticket by its external id.
pub fn marker_tag(external_id: &str) -> String {
    let s: String = external_id
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c.to_ascii_lowercase() } else { '-' })
        .collect();
    format!("dfx-{s}")
}

/// Whether a tag is one of the loader's markers (left out when read back).
pub fn is_marker(tag: &str) -> bool {
    tag.starts_with("dfx-")
}

/// The reference line a message added after its ticket ends with.
pub fn reference_line(external_id: &str) -> String {
    format!("<p class=\"deskferry\">Migrated by deskferry · ref {external_id}</p>")
}

/// The reference a body's reference line holds.
pub fn reference(body: &str) -> Option<String> {
    let at = body.rfind(" · ref ")? + " · ref ".len();
    let rest = &body[at..];
    let end = rest.find(['<', ' ', '"']).unwrap_or(rest.len());
    Some(rest[..end].to_string()).filter(|r| !r.is_empty())
}

fn esc(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;")
}

/// Who a message is written as: an address Groove holds (an agent's, or a customer's), and
/// the line naming the real author when Groove cannot hold them (reported with the message).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct As {
    /// The `author` (or ticket `from`) address.
    pub email: String,
    /// Whether that address is an agent's.
    pub agent: bool,
    /// A line naming the real author, when `email` is not theirs.
    pub named: Option<String>,
}

/// The address a message is written as: the author's own where Groove holds it (a matched
/// agent, an end user with an address); an unmatched agent's messages by the default agent, an
/// end user without an address's by the ticket's customer, each with a line naming the real
/// author. `default_agent` is the default agent's address, `customer` the ticket's.
pub fn author_as(a: &Author, default_agent: Option<&str>, customer: &str) -> Option<As> {
    let who =
        a.name.clone().or_else(|| a.email.clone()).unwrap_or_else(|| "an unknown author".into());
    if a.is_agent {
        if !a.defaulted
            && let Some(e) = &a.target_id
        {
            return Some(As { email: e.clone(), agent: true, named: None });
        }
        let d = a.target_id.as_deref().or(default_agent)?;
        return Some(As {
            email: d.to_string(),
            agent: true,
            named: Some(format!("Written by {} (an agent Groove does not have)", esc(&who))),
        });
    }
    match &a.email {
        Some(e) => Some(As { email: e.clone(), agent: false, named: None }),
        None => Some(As {
            email: customer.to_string(),
            agent: false,
            named: Some(format!("Written by {} (no address at the source)", esc(&who))),
        }),
    }
}

/// How a ticket's `from` or `to` names a customer. Groove applies a customer hash's fields to
/// the contact holding its address, so a person the load already made a contact of (or matched
/// to one) is named by address alone: a hash would rename that contact to whichever ticket of
/// two people sharing an address (up to case) came last. Anyone else goes as a hash with their
/// name, so the contact Groove creates for them has it.
pub fn party(a: &Author) -> Value {
    match (&a.target_id, &a.email) {
        (Some(_), Some(e)) => json!(e),
        _ => json!({ "email": a.email, "name": a.name }),
    }
}

/// A message's body: the line naming its real author first, the reference line last.
pub fn body(c: &MappedComment, named: Option<&str>, reference: bool) -> String {
    let mut b = String::new();
    if let Some(n) = named {
        b.push_str(&format!("<p><em>{n}</em></p>"));
    }
    b.push_str(if c.body_html.trim().is_empty() { "<p>(no text)</p>" } else { &c.body_html });
    if reference {
        b.push_str(&reference_line(&c.external_id));
    }
    b
}

/// The private note holding what Groove's tickets cannot: fields and CC addresses.
pub fn extras_note(t: &MappedTicket, cc: &[String]) -> Option<String> {
    if t.note_fields.is_empty() && cc.is_empty() {
        return None;
    }
    let mut b = String::new();
    if !t.note_fields.is_empty() {
        let items: Vec<String> =
            t.note_fields.iter().map(|(k, v)| format!("<li>{}: {}</li>", esc(k), esc(v))).collect();
        b.push_str(&format!("<p>Fields from the source:</p><ul>{}</ul>", items.join("")));
    }
    if !cc.is_empty() {
        b.push_str(&format!("<p>CC: {}</p>", esc(&cc.join(", "))));
    }
    b.push_str(&reference_line(&format!("{}-extras", t.external_id)));
    Some(b)
}

/// The stand-in customer address of a ticket without one (never deliverable: `.invalid` is
/// reserved, RFC 2606).
pub fn stand_in(source_id: &str) -> String {
    let s: String = source_id
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c.to_ascii_lowercase() } else { '-' })
        .collect();
    format!("no-address-{s}@deskferry.invalid")
}

/// A file name a multipart header can carry: control characters become spaces, an empty name
/// `file`.
pub fn clean_name(name: &str) -> String {
    let n: String = name.chars().map(|c| if c.is_control() { ' ' } else { c }).collect();
    if n.trim().is_empty() { "file".into() } else { n }
}
