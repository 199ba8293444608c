//! report.html: one self-contained page (inline CSS and SVG, no scripts, no external assets).
//! Every string that may come from the bundle or the target is escaped: bundle content is
//! untrusted HTML.

use std::fmt::Write as _;

use crate::reconcile::Verdict;

use super::group::Group;
use super::{ReportData, SummaryRow};

/// Escapes text for HTML element content and double- or single-quoted attributes.
pub fn esc(s: &str) -> String {
    let mut o = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        match c {
            '&' => o.push_str("&amp;"),
            '<' => o.push_str("&lt;"),
            '>' => o.push_str("&gt;"),
            '"' => o.push_str("&quot;"),
            '\'' => o.push_str("&#39;"),
            c if c.is_control() && c != '\n' && c != '\t' => o.push('\u{FFFD}'),
            c => o.push(c),
        }
    }
    o
}

const STYLE: &str = "body{font-family:system-ui,sans-serif;margin:2em;color:#222}table{border-collapse:collapse;margin:1em 0}\
td,th{border:1px solid #ccc;padding:.25em .6em;text-align:left;font-size:.9em}th{background:#f3f3f3}\
.failed{color:#b00}.skipped{color:#a60}.migrated{color:#070}.difference{color:#b00}.limit{color:#a60}\
code{font-size:.85em}";

/// Stacked horizontal bars: migrated / skipped / failed per entity.
fn summary_chart(rows: &[SummaryRow]) -> String {
    let rows: Vec<&SummaryRow> =
        rows.iter().filter(|r| r.available + r.migrated + r.skipped + r.failed > 0).collect();
    let max = rows
        .iter()
        .map(|r| r.available.max(r.migrated + r.skipped + r.failed))
        .max()
        .unwrap_or(1)
        .max(1) as f64;
    let (w, bar, gap, label) = (420.0, 18.0, 8.0, 120.0);
    let h = rows.len() as f64 * (bar + gap) + gap;
    let mut s = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{}\" height=\"{h}\" role=\"img\" aria-label=\"records per entity\">",
        w + label + 80.0
    );
    for (i, r) in rows.iter().enumerate() {
        let y = gap + i as f64 * (bar + gap);
        let _ = write!(
            s,
            "<text x=\"0\" y=\"{}\" font-size=\"12\">{}</text>",
            y + 13.0,
            esc(&r.entity)
        );
        let mut x = label;
        for (n, color) in [(r.migrated, "#3a3"), (r.skipped, "#e90"), (r.failed, "#c33")] {
            let width = n as f64 / max * w;
            if width > 0.0 {
                let _ = write!(
                    s,
                    "<rect x=\"{x:.1}\" y=\"{y}\" width=\"{width:.1}\" height=\"{bar}\" fill=\"{color}\"/>"
                );
            }
            x += width;
        }
        let _ = write!(
            s,
            "<text x=\"{:.1}\" y=\"{}\" font-size=\"11\">{}/{}</text>",
            x + 4.0,
            y + 13.0,
            r.migrated,
            r.available
        );
    }
    s.push_str("</svg>");
    s
}

/// Bars of reconciliation verdicts.
/// The users and organizations part of the reconciliation line, where the target holds them.
fn people(t: &crate::reconcile::Totals) -> String {
    let mut s = String::new();
    if let Some(n) = t.users {
        s.push_str(&format!(", users {} of {n}", t.users_ok));
    }
    if let Some(n) = t.organizations {
        s.push_str(&format!(", organizations {} of {n}", t.organizations_ok));
    }
    if t.groups > 0 {
        s.push_str(&format!(", groups {} of {}", t.groups_ok, t.groups));
    }
    s
}

fn verdict_chart(counts: &[(&str, u64, &str)]) -> String {
    let max = counts.iter().map(|c| c.1).max().unwrap_or(1).max(1) as f64;
    let mut s = String::from(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"420\" height=\"120\" role=\"img\" aria-label=\"reconciliation\">",
    );
    for (i, (name, n, color)) in counts.iter().enumerate() {
        let y = 8.0 + i as f64 * 26.0;
        let width = *n as f64 / max * 280.0;
        let _ = write!(
            s,
            "<text x=\"0\" y=\"{}\" font-size=\"12\">{}</text><rect x=\"90\" y=\"{y}\" width=\"{width:.1}\" height=\"18\" fill=\"{color}\"/><text x=\"{:.1}\" y=\"{}\" font-size=\"11\">{n}</text>",
            y + 13.0,
            esc(name),
            94.0 + width,
            y + 13.0
        );
    }
    s.push_str("</svg>");
    s
}

/// Most rows listed one by one in a section of the page (the CSV files have them all).
pub const MAX_ROWS: usize = 500;
/// Most groups shown in a section.
const MAX_GROUPS: usize = 200;
/// Most ledger runs shown (the latest).
const MAX_RUNS: usize = 50;

/// A table of groups (at most [`MAX_GROUPS`]; the rest counted).
fn group_table(h: &mut String, heads: [&str; 2], groups: &[Group], csv: &str) {
    let _ = write!(
        h,
        "<table><tr><th>{}</th><th>{}</th><th>rows</th><th>for example</th></tr>",
        heads[0], heads[1]
    );
    for g in groups.iter().take(MAX_GROUPS) {
        let _ = write!(
            h,
            "<tr class=\"limit\"><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            esc(&g.kind),
            esc(&g.words),
            g.count,
            esc(&g.examples.join(", "))
        );
    }
    if groups.len() > MAX_GROUPS {
        let rest: u64 = groups[MAX_GROUPS..].iter().map(|g| g.count).sum();
        let _ = write!(
            h,
            "<tr><td colspan=\"4\">… {} more kinds ({rest} rows) in <code>{csv}</code></td></tr>",
            groups.len() - MAX_GROUPS
        );
    }
    h.push_str("</table>");
}

/// The page: what needs attention first (failures, differences, read errors, one by one up to
/// [`MAX_ROWS`]), then the summary, then what the target's limits cost, grouped by kind with
/// counts and a few examples, so the page stays small at any size; every row is in the CSVs.
pub fn render(d: &ReportData) -> String {
    let mut h = String::new();
    let _ = write!(
        h,
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'; img-src data:\">\
<title>deskferry {} report — {}</title><style>{STYLE}</style></head><body>",
        esc(&d.command),
        esc(&d.bundle_id)
    );
    let _ = write!(
        h,
        "<h1>deskferry-load {}</h1><p>Bundle <code>{}</code>, content id <code>{}</code>, target <b>{}</b>, written {}.</p>",
        esc(&d.command),
        esc(&d.bundle_id),
        esc(&d.content_id),
        esc(&d.platform),
        esc(&d.generated_at)
    );
    if let Some(c) = &d.counts {
        let _ = write!(
            h,
            "<p>This run: {} migrated, {} unchanged (no request), {} skipped, {} failed.</p>",
            c.migrated, c.unchanged, c.skipped, c.failed
        );
    }
    attention(&mut h, d);
    h.push_str("<h2>Summary</h2>");
    h.push_str(&summary_chart(&d.summary));
    h.push_str("<table><tr><th>entity</th><th>available</th><th>migrated</th><th>failed</th><th>skipped</th><th>reconciled</th></tr>");
    for r in &d.summary {
        let _ = write!(
            h,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td class=\"failed\">{}</td><td class=\"skipped\">{}</td><td>{}</td></tr>",
            esc(&r.entity),
            r.available,
            r.migrated,
            r.failed,
            r.skipped,
            r.reconciled.map(|n| n.to_string()).unwrap_or_default()
        );
    }
    h.push_str("</table>");
    for (title, lines) in [
        ("Documented target limits", &d.limits),
        ("What the target sends or triggers during a load", &d.side_effects),
        ("Notes", &d.notes),
    ] {
        if !lines.is_empty() {
            let _ = write!(h, "<h2>{title}</h2><ul>");
            for l in lines {
                let _ = write!(h, "<li>{}</li>", esc(l));
            }
            h.push_str("</ul>");
        }
    }
    if let Some(r) = &d.reconcile {
        let counts = [
            ("ok", r.count(Verdict::Ok), "#3a3"),
            ("limit", r.count(Verdict::Limit), "#e90"),
            ("difference", r.count(Verdict::Difference), "#c33"),
            ("error", r.count(Verdict::Error), "#800"),
        ];
        let t = &r.totals;
        let _ = write!(
            h,
            "<h2>Reconciliation</h2><p>{} tickets read back. Matched: tickets {} of {}, comments {} of {}, attachments {} of {} (SHA-256 of the bytes){}.</p>",
            r.tickets,
            t.tickets_ok,
            t.tickets,
            t.comments_ok,
            t.comments,
            t.attachments_ok,
            t.attachments,
            people(t)
        );
        h.push_str(&verdict_chart(&counts));
        let limited = r.checks.limit_groups();
        if !limited.is_empty() {
            h.push_str("<h3>Explained by the target's documented limits</h3>");
            group_table(&mut h, ["check", "limit"], &limited, "reconcile.csv");
        }
    }
    let skipped = &d.records.skipped;
    if !skipped.is_empty() {
        h.push_str("<h2>Records skipped</h2>");
        group_table(&mut h, ["entity", "reason"], skipped, "records.csv");
    }
    if !d.runs.is_empty() {
        h.push_str("<h2>Runs (ledger)</h2><table><tr><th>#</th><th>command</th><th>bundle</th><th>started</th><th>ended</th><th>migrated</th><th>unchanged</th><th>skipped</th><th>failed</th></tr>");
        let from = d.runs.len().saturating_sub(MAX_RUNS);
        if from > 0 {
            let _ = write!(h, "<tr><td colspan=\"9\">{from} earlier runs in the ledger</td></tr>");
        }
        for r in &d.runs[from..] {
            let c = r.counts.clone().unwrap_or_default();
            let _ = write!(
                h,
                "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                r.id,
                esc(&r.command),
                esc(&r.bundle_id),
                esc(&r.started_at),
                esc(r.ended_at.as_deref().unwrap_or("interrupted")),
                c.migrated,
                c.unchanged,
                c.skipped,
                c.failed
            );
        }
        h.push_str("</table>");
    }
    h.push_str("<p>Every record with its source and target id is in <code>records.csv</code>, every reconciliation row in <code>reconcile.csv</code>.</p></body></html>\n");
    h
}

/// Failed and pending records, then reconciliation differences and read errors, one by one.
fn attention(h: &mut String, d: &ReportData) {
    let checks = d.reconcile.as_ref().map(|r| r.checks.attention()).unwrap_or_default();
    let nd = d
        .reconcile
        .as_ref()
        .map_or(0, |r| (r.count(Verdict::Difference) + r.count(Verdict::Error)) as usize);
    let nf = d.records.failed_count as usize;
    if nf + nd == 0 {
        h.push_str("<p class=\"migrated\">Nothing failed");
        if d.reconcile.is_some() {
            h.push_str(" and the reconciliation found no difference");
        }
        h.push_str(".</p>");
        return;
    }
    let _ = write!(
        h,
        "<h2>Needs attention</h2><p>{nf} records failed or pending, {nd} reconciliation differences or read errors.</p>"
    );
    if nf > 0 {
        h.push_str("<table><tr><th>entity</th><th>source id</th><th>target id</th><th>outcome</th><th>reason</th></tr>");
        for e in &d.records.failed {
            let _ = write!(
                h,
                "<tr class=\"{}\"><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                e.outcome.as_str(),
                esc(&e.entity),
                esc(&e.source_id),
                esc(e.target_id.as_deref().unwrap_or("")),
                e.outcome.as_str(),
                esc(e.reason.as_deref().unwrap_or(""))
            );
        }
        if nf > MAX_ROWS {
            let _ = write!(
                h,
                "<tr><td colspan=\"5\">… {} more in records.csv</td></tr>",
                nf - MAX_ROWS
            );
        }
        h.push_str("</table>");
    }
    if nd > 0 {
        h.push_str("<table><tr><th>record</th><th>target id</th><th>comment</th><th>check</th><th>verdict</th><th>expected</th><th>actual</th><th>note</th></tr>");
        for c in &checks {
            let _ = write!(
                h,
                "<tr class=\"{}\"><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                c.verdict.as_str(),
                esc(&format!("{} {}", c.entity, c.record)),
                esc(&c.target_id),
                esc(c.comment.as_deref().unwrap_or("")),
                esc(&c.check),
                c.verdict.as_str(),
                esc(&c.expected),
                esc(&c.actual),
                esc(&c.note)
            );
        }
        if nd > MAX_ROWS {
            let _ = write!(
                h,
                "<tr><td colspan=\"8\">… {} more in reconcile.csv</td></tr>",
                nd - MAX_ROWS
            );
        }
        h.push_str("</table>");
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::check_log::CheckLog;
    use crate::ledger::{Entry, Outcome};
    use crate::reconcile::{Check, Reconciliation};

    #[test]
    fn hostile_strings_are_escaped_everywhere() {
        let evil = "<script>alert(1)</script>\"'><img src=x onerror=alert(2)>";
        let d = ReportData {
            command: "run".into(),
            platform: "front".into(),
            bundle_id: evil.into(),
            content_id: "c".into(),
            generated_at: "t".into(),
            summary: vec![SummaryRow {
                entity: evil.into(),
                available: 3,
                migrated: 1,
                failed: 1,
                skipped: 1,
                reconciled: Some(1),
            }],
            records: super::super::RecordDigest::of([Entry::new(
                evil,
                evil,
                Outcome::Failed,
                "b",
                "h",
            )
            .reason(evil, true)]),
            counts: None,
            reconcile: Some(Reconciliation {
                tickets: 1,
                checks: CheckLog::of([Check {
                    entity: "tickets".into(),
                    record: evil.into(),
                    target_id: evil.into(),
                    comment: Some(evil.into()),
                    check: evil.into(),
                    verdict: Verdict::Difference,
                    expected: evil.into(),
                    actual: evil.into(),
                    note: evil.into(),
                }])
                .unwrap(),
                limits: vec![],
                ..Default::default()
            }),
            limits: vec![evil.into()],
            side_effects: vec![evil.into()],
            notes: vec![evil.into()],
            runs: vec![crate::ledger::RunRow {
                id: 1,
                command: evil.into(),
                bundle_id: evil.into(),
                content_id: evil.into(),
                started_at: evil.into(),
                ended_at: None,
                counts: None,
            }],
        };
        let page = render(&d);
        assert!(!page.contains("<script"), "unescaped script tag");
        assert!(!page.contains("<img"), "unescaped img tag");
        assert!(!page.contains("onerror=alert(2)>"));
        assert!(page.contains("&lt;script&gt;"));
        // Self-contained: no external resource of any kind.
        assert!(!page.contains("<link") && !page.contains("src=\"http") && !page.contains("url("));
        assert_eq!(
            page.matches("http://").count(),
            page.matches("http://www.w3.org/2000/svg").count()
        );
        assert!(page.contains("<svg"));
    }

    fn check(record: &str, verdict: Verdict, note: &str) -> Check {
        Check {
            entity: "tickets".into(),
            record: record.into(),
            target_id: format!("t-{record}"),
            comment: Some(format!("c-{record}")),
            check: if verdict == Verdict::Limit { "order".into() } else { "author".into() },
            verdict,
            expected: "a".into(),
            actual: "b".into(),
            note: note.into(),
        }
    }

    #[test]
    fn a_large_report_puts_failures_first_and_groups_the_limits() {
        let n = 200_000;
        let mut checks: Vec<Check> = (0..n)
            .map(|i| {
                let note = if i % 2 == 0 {
                    "Front gives a private note the time it was imported".to_string()
                } else {
                    format!("a file of {} MB is over the target's 25 MB", 26 + i % 7)
                };
                check(&format!("r{i}"), Verdict::Limit, &note)
            })
            .collect();
        checks.push(check("wrong-author", Verdict::Difference, ""));
        checks.push(check("unreadable", Verdict::Error, "HTTP 500"));
        let mut records: Vec<Entry> = (0..50_000)
            .map(|i| {
                Entry::new("comments", &format!("s{i}"), Outcome::Skipped, "b", "h")
                    .reason("the target keeps no empty comment", true)
            })
            .collect();
        records.push(
            Entry::new("tickets", "failed-ticket", Outcome::Failed, "b", "h")
                .reason("HTTP 422", true),
        );
        let d = ReportData {
            command: "reconcile".into(),
            platform: "front".into(),
            reconcile: Some(Reconciliation {
                tickets: n,
                checks: CheckLog::of(checks).unwrap(),
                ..Default::default()
            }),
            records: super::super::RecordDigest::of(records),
            ..Default::default()
        };
        let page = render(&d);
        assert!(page.len() < 64 * 1024, "{} bytes", page.len());
        let summary = page.find("<h2>Summary").unwrap();
        for first in ["failed-ticket", "wrong-author", "unreadable", "Needs attention"] {
            assert!(page.find(first).unwrap() < summary, "{first} comes before the summary");
        }
        // One row per kind of limit, with its count and examples.
        assert!(page.contains("<td>100000</td>"), "the note limit's count");
        assert!(page.contains("<td>50000</td>"), "the skipped comments' count");
        assert_eq!(page.matches("a file of").count(), 1, "file-size limits are one kind");
        assert!(page.contains("tickets r0 comment c-r0, tickets r2 comment c-r2, tickets r4"));
    }

    #[test]
    fn a_clean_report_says_so() {
        let d = ReportData {
            command: "reconcile".into(),
            reconcile: Some(Reconciliation::default()),
            ..Default::default()
        };
        assert!(render(&d).contains("Nothing failed and the reconciliation found no difference"));
    }
}
