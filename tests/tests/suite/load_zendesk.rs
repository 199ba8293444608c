//! A bundle → the simulated Zendesk prepared as a target (the kit's world: the admin whose
//! token the loader uses, nothing else) through `deskferry-load run`, then `reconcile`: users,
//! agents, organizations, groups, ticket fields, tickets with every comment, attachment and
//! time through the Ticket Import API, the Help Center with its translations and article
//! attachments, all read back equal apart from Zendesk's documented limits; a second `run`
//! writes nothing; the wire validates against Zendesk's OpenAPI files. Then the account's bulk
//! user import switched off (403): the users go one by one, nothing is lost.

use std::path::Path;
use std::process::Command;

use deskferry_extractor::platforms::registry::Role;
use deskferry_fixtures::dataset::Size;
use deskferry_fixtures::kit::{World, WorldOptions, start_world};
use serde_json::Value;

use crate::load_front::{World as Bundle, world as bundle_of};
use crate::support::{assert_accounted_and_clean, failed_rows, fixed_epoch};

fn load(b: &Bundle, dir: &Path, command: &str, report: &str) -> (i32, Value, String) {
    crate::support::load_into(
        dir,
        &b.bundle,
        (&b.identity, &b.signer),
        "zendesk.ledger",
        command,
        report,
    )
}

fn target_world() -> Box<dyn World> {
    let opts = WorldOptions { record_wire: true, ..WorldOptions::default() };
    start_world("zendesk", Role::Target, &opts).expect("a Zendesk target")
}

#[test]
fn a_bundle_into_zendesk_reconciles_and_a_rerun_writes_nothing() {
    let b = bundle_of(5, Size::Tiny);
    let dir = b.dir.path().to_path_buf();
    let w = target_world();
    w.write_connection(&dir, "target").expect("connection file");

    let (code, plan, err) = load(&b, &dir, "plan", "reports/plan");
    assert!(code == 0 || code == 1, "plan ({code}): {plan}\n{err}");
    let (code, run, err) = load(&b, &dir, "run", "reports/run");
    assert!(code == 0 || code == 1, "run ({code}): {run}\n{err}");
    let failed = failed_rows(&dir, "reports/run");
    assert_eq!(run["run"]["counts"]["failed"], 0, "{failed}\n{err}");
    let (code, rec, err) = load(&b, &dir, "reconcile", "reports/run");
    assert!(code == 0 || code == 1, "reconcile ({code}): {rec}\n{err}");
    let s = assert_accounted_and_clean(&dir.join("reports/run"), "tiny → zendesk");
    let row = |e: &str| s.entities.iter().find(|x| x.entity == e).cloned();
    for e in ["tickets", "comments", "attachments", "users", "organizations", "kb_articles"] {
        let r = row(e).unwrap_or_else(|| panic!("no {e} row: {s:?}"));
        assert!(r.migrated > 0, "{e}: {r:?}");
        if e != "comments" && e != "attachments" {
            assert_eq!(r.reconciled, Some(r.migrated), "{e} read back: {r:?}");
        }
    }
    // The account holds exactly the migrated tickets, with their original times.
    let census = w.census().expect("census");
    let migrated = row("tickets").map(|r| r.migrated).unwrap_or(0);
    assert_eq!(census.counts()["tickets"] as u64, migrated);
    // Ticket, user and organization field definitions were created, with their options.
    for entity in [
        deskferry_format::FieldEntity::Ticket,
        deskferry_format::FieldEntity::User,
        deskferry_format::FieldEntity::Organization,
    ] {
        let fields: Vec<_> = census.custom_fields.iter().filter(|f| f.entity == entity).collect();
        assert!(!fields.is_empty(), "no {entity:?} field created");
        assert!(fields.iter().any(|f| !f.options.is_empty()), "no {entity:?} field with options");
    }
    // People keep their field values: the fields exist before the people are written
    // (Zendesk drops a value of a field it does not have, without a word).
    for (what, want, got) in [
        (
            "users",
            b.dataset.users.iter().filter(|u| !u.custom_fields.is_empty()).count(),
            census.users.iter().filter(|u| !u.custom_fields.is_empty()).count(),
        ),
        (
            "organizations",
            b.dataset.organizations.iter().filter(|o| !o.custom_fields.is_empty()).count(),
            census.organizations.iter().filter(|o| !o.custom_fields.is_empty()).count(),
        ),
    ] {
        assert!(want > 0, "the dataset has {what} with field values");
        assert!(got >= want, "{got} of {want} {what} kept their field values at Zendesk");
    }
    let src_times: Vec<_> = b
        .dataset
        .tickets
        .iter()
        .filter(|t| !t.is_deleted && !t.is_spam)
        .filter_map(|t| t.created_at)
        .collect();
    for t in &census.tickets {
        assert!(
            src_times.contains(&t.created_at.expect("a time")),
            "ticket {} lost its time",
            t.id
        );
    }

    let (code, again, err) = load(&b, &dir, "run", "reports/again");
    assert!(code == 0 || code == 1, "again ({code}): {again}\n{err}");
    assert_eq!(again["run"]["counts"]["migrated"], 0, "a re-run wrote: {again}");

    // Bulk endpoints carried the people and the tickets.
    let paths: Vec<String> =
        w.log().entries().iter().map(|e| format!("{} {}", e.method, e.path)).collect();
    for p in
        ["POST /api/v2/users/create_or_update_many", "POST /api/v2/imports/tickets/create_many"]
    {
        assert!(paths.iter().any(|x| x.starts_with(p)), "{p} never sent");
    }
    deskferry_tests::zendesk_openapi_check(
        w.log(),
        &[
            "POST /api/v2/users/create_or_update_many",
            "POST /api/v2/imports/tickets/create_many",
            "/api/v2/job_statuses/{job_status_id}",
            "POST /api/v2/uploads",
        ],
    );
    w.stop().expect("stop");
}

fn tool(dir: &Path, name: &str, args: &[&str]) -> (i32, String) {
    let out = Command::new(deskferry_tests::workspace_bin(name))
        .args(args)
        .current_dir(dir)
        .env("SOURCE_DATE_EPOCH", fixed_epoch())
        .output()
        .expect("run a tool");
    let text =
        format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    (out.status.code().unwrap_or(-1), text)
}

fn load_bundle(dir: &Path, command: &str, bundle: &str, report: &str) -> (i32, Value, String) {
    let b = Bundle {
        dir: tempfile::tempdir().expect("tempdir"),
        bundle: dir.join(bundle),
        identity: dir.join("keys/identity.txt"),
        signer: dir.join("keys/sign.pub"),
        dataset: deskferry_fixtures::dataset::Dataset::generate(1, Size::Tiny),
    };
    load(&b, dir, command, report)
}

/// Zendesk → Zendesk (one account consolidated into another) through the binaries, then a
/// delta: the reply the source gained is appended to the migrated ticket (dated by the update,
/// its original time heading it), or, where Zendesk closed that ticket, reported and not
/// written; the new ticket is imported; the deleted one is deleted at the target.
#[test]
fn zendesk_into_zendesk_then_a_delta_appends_or_reports() {
    // The kit's change answers the second live ticket: one seed where it is open, one where
    // it is closed.
    let answered_closed = |seed: u64| {
        let ds = deskferry_fixtures::dataset::Dataset::generate(seed, Size::Tiny);
        let live: Vec<_> = ds.tickets.iter().filter(|t| !t.is_deleted && !t.is_spam).collect();
        live[1].status == deskferry_format::TicketStatus::Closed
    };
    let open = (1..40).find(|s| !answered_closed(*s)).expect("a seed with an open ticket");
    let closed = (1..40).find(|s| answered_closed(*s)).expect("a seed with a closed ticket");
    let seen: Vec<bool> = [open, closed].into_iter().map(delta_round).collect();
    assert_eq!(seen, [false, true], "both cases: the ticket open, then closed at Zendesk");
}

/// One round; whether the answered ticket was closed at Zendesk.
fn delta_round(seed: u64) -> bool {
    let dir = tempfile::tempdir().expect("tempdir");
    let dir = dir.path();
    let opts = WorldOptions { seed, ..WorldOptions::default() };
    let src = start_world("zendesk", Role::Source, &opts).expect("source");
    let dst = target_world();
    src.write_connection(dir, "source").expect("source.toml");
    dst.write_connection(dir, "target").expect("target.toml");
    deskferry_format::keygen(&dir.join("keys")).expect("keygen");
    let extract = |out: &str, since: Option<&str>| {
        let mut args = vec![
            "--source",
            "source.toml",
            "--recipient",
            "keys/recipient.txt",
            "--sign-key",
            "keys/sign.key",
            "--out",
            out,
            "--json",
        ];
        if let Some(s) = since {
            args.extend(["--since", s]);
        }
        let (code, text) = tool(dir, "deskferry-extract", &args);
        assert_eq!(code, 0, "extract {out}: {text}");
    };
    extract("a.dfb", None);
    let (code, run, err) = load_bundle(dir, "run", "a.dfb", "reports/a");
    assert!(code == 0 || code == 1, "run ({code}): {run}\n{err}");
    assert_eq!(run["run"]["counts"]["failed"], 0, "{run}\n{err}");
    load_bundle(dir, "reconcile", "a.dfb", "reports/a");
    assert_accounted_and_clean(&dir.join("reports/a"), "zendesk → zendesk");

    let ch = src.change().expect("change the source");
    let closed = src
        .dataset()
        .tickets
        .iter()
        .find(|t| t.id == ch.answered)
        .is_some_and(|t| t.status == deskferry_format::TicketStatus::Closed);
    let before = dst.census().expect("census");
    extract("d.dfb", Some("a.dfb.json"));
    let (code, run, err) = load_bundle(dir, "run", "d.dfb", "reports/d");
    assert!(code == 0 || code == 1, "delta run ({code}): {run}\n{err}");
    assert_eq!(run["run"]["counts"]["failed"], 0, "{run}\n{err}");
    let after = dst.census().expect("census");
    let replies = |c: &deskferry_fixtures::sim::Census| {
        c.comments
            .iter()
            .filter(|x| x.body_html.as_deref().is_some_and(|b| b.contains(&ch.reply)))
            .count()
    };
    let records = std::fs::read_to_string(dir.join("reports/d/records.csv")).expect("records");
    // The new ticket opens with the same text as the reply.
    if closed {
        assert_eq!(replies(&after), replies(&before) + 1, "a closed ticket was written to");
        assert!(records.contains("closed at Zendesk"), "not reported:\n{records}");
    } else {
        assert_eq!(replies(&after), replies(&before) + 2, "the reply was not appended");
        assert!(records.contains("its original time heads the comment"), "{records}");
    }
    assert_eq!(after.tickets.len(), before.tickets.len() + 1, "the new ticket");
    assert!(after.tickets.iter().any(|t| t.is_deleted), "the deleted ticket is deleted");
    let (code, rec, err) = load_bundle(dir, "reconcile", "d.dfb", "reports/d");
    assert!(code == 0 || code == 1, "reconcile ({code}): {rec}\n{err}");
    let csv = std::fs::read_to_string(dir.join("reports/d/reconcile.csv")).unwrap_or_default();
    assert!(!csv.contains(",difference,"), "{csv}");
    src.stop().expect("stop");
    dst.stop().expect("stop");
    closed
}

/// An account whose bulk user import Zendesk support has not switched on answers 403 to
/// `users/create_or_update_many`: the loader goes on one user a request, loses no one, and a
/// 403 there does not stop the run as a refused token would.
#[test]
fn without_the_bulk_user_import_users_go_one_by_one() {
    use deskferry_fixtures::sim::zendesk::{self, ZendeskConfig};
    let b = bundle_of(3, Size::Tiny);
    let dir = b.dir.path().to_path_buf();
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build().expect("runtime");
    let config = ZendeskConfig { bulk_user_import: false, ..ZendeskConfig::default() };
    let desk = zendesk::prepared_target(&config.email);
    let sim = rt.block_on(zendesk::start(desk, config)).expect("start");
    std::fs::write(dir.join("target.token"), format!("{}\n", sim.token)).expect("token");
    crate::support::private(
        &dir.join("target.toml"),
        &format!(
            "platform = \"zendesk\"\nurl = \"{}\"\n[credentials]\nemail = \"{}\"\ntoken_file = \"target.token\"\n\
             [rate_limits]\ndefault = 100000\n[zendesk]\npermission_group_id = {}\n",
            sim.url(),
            sim.email,
            zendesk::world_permission_group()
        ),
    );
    let (code, run, err) = load(&b, &dir, "run", "reports/run");
    assert!(code == 0 || code == 1, "run ({code}): {run}\n{err}");
    assert_eq!(run["run"]["counts"]["failed"], 0, "{run}\n{err}");
    let log = sim.api.log.entries();
    let n = |p: &str| log.iter().filter(|e| e.method == "POST" && e.path.starts_with(p)).count();
    assert_eq!(n("/api/v2/users/create_or_update_many"), 1, "tried once, refused");
    let users = b.dataset.users.len();
    assert!(
        n("/api/v2/users/create_or_update.json") + n("/api/v2/users/create_or_update") > users / 2
    );
    let (code, _, err) = load(&b, &dir, "reconcile", "reports/run");
    assert!(code == 0 || code == 1, "{err}");
    assert_accounted_and_clean(&dir.join("reports/run"), "tiny → zendesk, bulk import off");
    rt.block_on(sim.stop()).expect("stop");
}

/// A knowledge base changed at the source after it was migrated (an article's title, text and
/// labels, one of its translations, a category's name), loaded again from a new bundle: each
/// changed item is updated in place at Zendesk (`PUT …/translations/{locale}`, `PUT
/// articles/{id}`), nothing is created twice, nothing is reported as not updated, and it
/// reconciles clean.
#[test]
fn a_changed_knowledge_base_is_updated_in_place() {
    let b = bundle_of(5, Size::Tiny);
    let dir = b.dir.path().to_path_buf();
    let w = target_world();
    w.write_connection(&dir, "target").expect("connection file");
    let (code, run, err) = load(&b, &dir, "run", "reports/run");
    assert!(code == 0 || code == 1, "run ({code}): {run}\n{err}");
    assert_eq!(run["run"]["counts"]["failed"], 0, "{run}\n{err}");
    let before = w.census().expect("census");

    // The same account, its knowledge base edited.
    let mut ds = b.dataset.clone();
    let art = ds.kb_articles.iter().position(|a| a.translation_of.is_none()).expect("an article");
    let art_id = ds.kb_articles[art].id.clone();
    ds.kb_articles[art].title.push_str(" (revised)");
    ds.kb_articles[art].body_html = Some("<p>Revised steps.</p>".into());
    ds.kb_articles[art].labels = vec!["revised".into()];
    let tr = ds
        .kb_articles
        .iter()
        .position(|a| a.translation_of.as_deref() == Some(art_id.as_str()))
        .expect("a translation of the first article");
    ds.kb_articles[tr].body_html = Some("<p>Étapes révisées.</p>".into());
    ds.kb_categories[0].title.push_str(" (renamed)");
    let keys = b.identity.parent().expect("keys").to_path_buf();
    let mut meta = ds.bundle_meta(ds.default_created_at());
    meta.purge_after = chrono::Utc::now() + chrono::Duration::days(30);
    let mut bw = deskferry_format::BundleWriter::create(&dir.join("work2"), meta).expect("writer");
    ds.write_bundle(&mut bw).expect("write bundle");
    let edited = dir.join("edited.dfb");
    bw.seal(
        &edited,
        &deskferry_format::Recipients::from_file(&keys.join("recipient.txt")).expect("recipient"),
        &deskferry_format::SigningKey::from_file(&keys.join("sign.key")).expect("sign key"),
    )
    .expect("seal");
    let b2 = Bundle {
        dir: tempfile::tempdir().expect("tempdir"),
        bundle: edited,
        identity: b.identity.clone(),
        signer: b.signer.clone(),
        dataset: ds,
    };
    let (code, run, err) = load(&b2, &dir, "run", "reports/edited");
    assert!(code == 0 || code == 1, "run ({code}): {run}\n{err}");
    assert_eq!(run["run"]["counts"]["failed"], 0, "{run}\n{err}");
    let records = std::fs::read_to_string(dir.join("reports/edited/records.csv")).expect("csv");
    assert!(!records.contains("not updated"), "{records}");

    let after = w.census().expect("census");
    assert_eq!(after.kb_articles.len(), before.kb_articles.len(), "nothing created twice");
    assert_eq!(after.kb_categories.len(), before.kb_categories.len());
    let revised = after.kb_articles.iter().find(|a| a.title.ends_with(" (revised)"));
    let revised = revised.expect("the article's title updated");
    assert_eq!(revised.body_html.as_deref(), Some("<p>Revised steps.</p>"));
    assert_eq!(revised.labels, ["revised"]);
    assert!(
        after.kb_articles.iter().any(|a| a.translation_of.as_deref() == Some(revised.id.as_str())
            && a.body_html.as_deref() == Some("<p>Étapes révisées.</p>")),
        "the translation's text updated"
    );
    assert!(after.kb_categories.iter().any(|c| c.title.ends_with(" (renamed)")));

    let (code, rec, err) = load(&b2, &dir, "reconcile", "reports/edited");
    assert!(code == 0 || code == 1, "reconcile ({code}): {rec}\n{err}");
    let csv = std::fs::read_to_string(dir.join("reports/edited/reconcile.csv")).unwrap_or_default();
    assert!(!csv.contains(",difference,"), "{csv}");
    deskferry_tests::zendesk_openapi_check(
        w.log(),
        &[
            "PUT /api/v2/help_center/articles/{article_id}/translations/{locale}",
            "PUT /api/v2/help_center/categories/{category_id}/translations/{locale}",
            "PUT /api/v2/help_center/articles/{article_id}",
        ],
    );
    w.stop().expect("stop");
}

/// Article bodies as a source writes them: an image naming one of the article's files, an
/// image whose file the bundle lacks, a link to an article written before it and one to an
/// article written after it. At Zendesk the image shows the uploaded file (`inline`), both
/// links point at the migrated articles, the image without a file keeps the source's URL and
/// the article's report row says so; nothing else changes and it reconciles clean.
#[test]
fn article_bodies_point_at_zendesk() {
    let mut b = bundle_of(5, Size::Tiny);
    let dir = b.dir.path().to_path_buf();
    let ds = &mut b.dataset;
    let first = ds.kb_articles.iter().find(|a| a.translation_of.is_none()).expect("an article");
    let first_id = first.id.clone();
    let last = ds.kb_articles.iter().rev().find(|a| a.translation_of.is_none()).expect("last");
    let last_id = last.id.clone();
    // A translation of the first article with an image file of its own.
    let (row, file) = ds
        .kb_articles
        .iter()
        .filter(|a| a.translation_of.as_deref() == Some(first_id.as_str()))
        .find_map(|a| {
            let f = ds.attachments.iter().find(|f| {
                f.article_id.as_deref() == Some(a.id.as_str())
                    && f.content_type.as_deref().is_some_and(|c| c.starts_with("image/"))
            })?;
            Some((a.id.clone(), f.id.clone()))
        })
        .expect("a translation with an image");
    let src = "https://help.example.com/hc";
    let body = format!(
        "<p>Logo: <img alt=\"logo\" src=\"{src}/article_attachments/{file}/logo.png\"></p>\
         <p><img src='{src}/article_attachments/99999999/gone.png'></p>\
         <p>See <a href=\"{src}/en-us/articles/{last_id}-next-steps\">next</a> and \
         <a href=\"{src}/en-us/articles/{first_id}\">the original</a>.</p>"
    );
    let at = ds.kb_articles.iter().position(|a| a.id == row).expect("row");
    ds.kb_articles[at].body_html = Some(body);
    // Sealed again with the edited body.
    let keys = b.identity.parent().expect("keys").to_path_buf();
    let mut meta = b.dataset.bundle_meta(b.dataset.default_created_at());
    meta.purge_after = chrono::Utc::now() + chrono::Duration::days(30);
    let mut bw = deskferry_format::BundleWriter::create(&dir.join("work2"), meta).expect("writer");
    b.dataset.write_bundle(&mut bw).expect("write bundle");
    let edited = dir.join("bodies.dfb");
    bw.seal(
        &edited,
        &deskferry_format::Recipients::from_file(&keys.join("recipient.txt")).expect("recipient"),
        &deskferry_format::SigningKey::from_file(&keys.join("sign.key")).expect("sign key"),
    )
    .expect("seal");
    b.bundle = edited;

    let w = target_world();
    w.write_connection(&dir, "target").expect("connection file");
    let (code, run, err) = load(&b, &dir, "run", "reports/run");
    assert!(code == 0 || code == 1, "run ({code}): {run}\n{err}");
    assert_eq!(run["run"]["counts"]["failed"], 0, "{run}\n{err}");
    let records = std::fs::read_to_string(dir.join("reports/run/records.csv")).expect("csv");
    let line = records.lines().find(|l| l.contains(&format!("kb_articles,{row},")));
    assert!(line.is_some_and(|l| l.contains("image(s)")), "{records}");

    let census = w.census().expect("census");
    let shown = census
        .kb_articles
        .iter()
        .find(|a| a.body_html.as_deref().is_some_and(|h| h.contains("Logo:")))
        .expect("the translation at Zendesk");
    let html = shown.body_html.clone().unwrap_or_default();
    assert!(!html.contains(&format!("/article_attachments/{file}/")), "{html}");
    assert!(html.contains("99999999/gone.png"), "the image without a file is kept: {html}");
    assert!(!html.contains(&format!("articles/{last_id}")), "the later article: {html}");
    assert!(!html.contains(&format!("articles/{first_id}\"")), "the earlier article: {html}");
    assert_eq!(html.matches("/articles/").count(), 2, "both links at Zendesk's articles: {html}");
    let file_at_zendesk = census
        .attachments
        .iter()
        .find(|a| a.inline && a.article_id.is_some())
        .expect("the image uploaded inline");
    assert!(html.contains(&format!("?name={}", file_at_zendesk.file_name)), "{html}");

    let (code, rec, err) = load(&b, &dir, "reconcile", "reports/run");
    assert!(code == 0 || code == 1, "reconcile ({code}): {rec}\n{err}");
    let csv = std::fs::read_to_string(dir.join("reports/run/reconcile.csv")).unwrap_or_default();
    assert!(!csv.contains(",difference,"), "{csv}");
    let (_, again, _) = load(&b, &dir, "run", "reports/again");
    assert_eq!(again["run"]["counts"]["migrated"], 0, "a re-run wrote: {again}");
    deskferry_tests::zendesk_openapi_check(
        w.log(),
        &["PUT /api/v2/help_center/articles/{article_id}/translations/{locale}"],
    );
    w.stop().expect("stop");
}
