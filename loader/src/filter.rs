//! Which tickets a run takes (mapping `[filters]`): created between, tags, assignee, group,
//! organization, status, deleted/spam. A ticket left out is recorded as skipped with the reason.

use deskferry_format::{Ticket, TicketStatus, Timestamp};
use serde::Deserialize;

/// `[filters]` of mapping.toml. Lists are "any of"; an empty list does not filter.
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct Filters {
    /// Only tickets created at or after this time (RFC 3339).
    pub created_after: Option<Timestamp>,
    /// Only tickets created before this time (RFC 3339).
    pub created_before: Option<Timestamp>,
    /// Only tickets with at least one of these tags.
    pub tags: Vec<String>,
    /// Leave out tickets with any of these tags.
    pub exclude_tags: Vec<String>,
    /// Only tickets assigned to one of these (source user id or email, case-insensitive).
    pub assignees: Vec<String>,
    /// Only tickets of one of these groups (source group id or name).
    pub groups: Vec<String>,
    /// Only tickets of one of these organizations (source organization id or name).
    pub organizations: Vec<String>,
    /// Only tickets in one of these canonical statuses (`new`, `open`, `pending`, `on_hold`,
    /// `solved`, `closed`).
    pub statuses: Vec<String>,
    /// Also load tickets deleted at the source (default: leave them out).
    pub include_deleted: bool,
    /// Leave out tickets marked as spam (default: load them; the target marks them spam).
    pub exclude_spam: bool,
}

/// Names the filter needs for a ticket (resolved from the bundle by the caller).
#[derive(Debug, Clone, Default)]
pub struct TicketNames<'a> {
    /// Assignee's email.
    pub assignee_email: Option<&'a str>,
    /// Group name.
    pub group_name: Option<&'a str>,
    /// Organization name.
    pub organization_name: Option<&'a str>,
}

/// The canonical word of a status (as in the bundle's schema).
pub fn status_word(s: TicketStatus) -> &'static str {
    match s {
        TicketStatus::New => "new",
        TicketStatus::Open => "open",
        TicketStatus::Pending => "pending",
        TicketStatus::OnHold => "on_hold",
        TicketStatus::Solved => "solved",
        TicketStatus::Closed => "closed",
    }
}

fn any_eq(list: &[String], id: Option<&str>, name: Option<&str>) -> bool {
    list.iter().any(|want| {
        id.is_some_and(|i| i == want) || name.is_some_and(|n| n.eq_ignore_ascii_case(want))
    })
}

impl Filters {
    /// Whether a ticket's assignee or organization must be looked up to filter it.
    pub fn needs_names(&self) -> bool {
        !self.assignees.is_empty() || !self.organizations.is_empty()
    }

    /// Problems with the filter values (unknown status words).
    pub fn check(&self) -> Result<(), String> {
        const WORDS: [&str; 6] = ["new", "open", "pending", "on_hold", "solved", "closed"];
        for s in &self.statuses {
            if !WORDS.contains(&s.as_str()) {
                return Err(format!("filters.statuses: {s:?} is not one of {}", WORDS.join(", ")));
            }
        }
        if let (Some(a), Some(b)) = (self.created_after, self.created_before)
            && a >= b
        {
            return Err("filters: created_after must be before created_before".into());
        }
        Ok(())
    }

    /// `None` when the ticket is taken, else why it is left out (no personal data).
    pub fn exclude(&self, t: &Ticket, names: &TicketNames<'_>) -> Option<String> {
        if t.is_deleted && !self.include_deleted {
            return Some("deleted at the source (filters.include_deleted = false)".into());
        }
        if t.is_spam && self.exclude_spam {
            return Some("spam (filters.exclude_spam = true)".into());
        }
        if let Some(after) = self.created_after
            && t.created_at.is_none_or(|c| c < after)
        {
            return Some(format!("created before filters.created_after ({after})"));
        }
        if let Some(before) = self.created_before
            && t.created_at.is_none_or(|c| c >= before)
        {
            return Some(format!("created at or after filters.created_before ({before})"));
        }
        if !self.tags.is_empty() && !t.tags.iter().any(|x| self.tags.contains(x)) {
            return Some("has none of filters.tags".into());
        }
        if t.tags.iter().any(|x| self.exclude_tags.contains(x)) {
            return Some("has a tag in filters.exclude_tags".into());
        }
        if !self.assignees.is_empty()
            && !any_eq(&self.assignees, t.assignee_id.as_deref(), names.assignee_email)
        {
            return Some("assignee not in filters.assignees".into());
        }
        if !self.groups.is_empty() && !any_eq(&self.groups, t.group_id.as_deref(), names.group_name)
        {
            return Some("group not in filters.groups".into());
        }
        if !self.organizations.is_empty()
            && !any_eq(&self.organizations, t.organization_id.as_deref(), names.organization_name)
        {
            return Some("organization not in filters.organizations".into());
        }
        if !self.statuses.is_empty() && !self.statuses.iter().any(|s| s == status_word(t.status)) {
            return Some(format!("status {} not in filters.statuses", status_word(t.status)));
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use chrono::{TimeZone, Utc};

    use super::*;

    fn ticket() -> Ticket {
        Ticket {
            subject: Some("s".into()),
            assignee_id: Some("42".into()),
            group_id: Some("7".into()),
            tags: vec!["vip".into(), "two words".into()],
            created_at: Some(Utc.with_ymd_and_hms(2024, 5, 1, 0, 0, 0).unwrap()),
            raw: "{}".into(),
            ..Ticket::blank("5")
        }
    }

    #[test]
    fn each_filter_excludes_and_includes() {
        let t = ticket();
        let names = TicketNames {
            assignee_email: Some("Ann@X.example"),
            group_name: Some("Billing"),
            organization_name: None,
        };
        assert_eq!(Filters::default().exclude(&t, &names), None);
        let f = |f: Filters| f.exclude(&t, &names);
        let day = |m| Some(Utc.with_ymd_and_hms(2024, m, 1, 0, 0, 0).unwrap());
        assert!(f(Filters { created_after: day(6), ..Default::default() }).is_some());
        assert!(
            f(Filters { created_after: day(5), created_before: day(6), ..Default::default() })
                .is_none()
        );
        assert!(f(Filters { created_before: day(5), ..Default::default() }).is_some());
        assert!(f(Filters { tags: vec!["two words".into()], ..Default::default() }).is_none());
        assert!(f(Filters { tags: vec!["two".into()], ..Default::default() }).is_some());
        assert!(f(Filters { exclude_tags: vec!["vip".into()], ..Default::default() }).is_some());
        assert!(
            f(Filters { assignees: vec!["ann@x.example".into()], ..Default::default() }).is_none()
        );
        assert!(f(Filters { assignees: vec!["42".into()], ..Default::default() }).is_none());
        assert!(f(Filters { assignees: vec!["43".into()], ..Default::default() }).is_some());
        assert!(f(Filters { groups: vec!["billing".into()], ..Default::default() }).is_none());
        assert!(f(Filters { organizations: vec!["1".into()], ..Default::default() }).is_some());
        assert!(f(Filters { statuses: vec!["open".into()], ..Default::default() }).is_none());
        assert!(f(Filters { statuses: vec!["solved".into()], ..Default::default() }).is_some());
        let deleted = Ticket { is_deleted: true, ..ticket() };
        assert!(Filters::default().exclude(&deleted, &names).is_some());
        assert!(
            Filters { include_deleted: true, ..Default::default() }
                .exclude(&deleted, &names)
                .is_none()
        );
        assert!(Filters { statuses: vec!["bogus".into()], ..Default::default() }.check().is_err());
    }
}
