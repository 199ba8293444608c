//! Zendesk extraction end to end: the simulated Zendesk serving the seeded `small` dataset over
//! real HTTP on 127.0.0.1, the real pipeline (`deskferry_extractor::pipeline::run`) writing a
//! real bundle, then the bundle opened and verified with `BundleReader` and every record
//! compared with the dataset, attachments by SHA-256 of the stored bytes.
//!
//! Expected values are what Zendesk shows of a dataset record: ids as strings, ticket custom
//! field values keyed by field id, statuses of deleted and spam tickets as `deleted` (Zendesk
//! deletes spam), Zendesk's defaults where the dataset has nothing (locale `en-US`, time zone
//! `Etc/UTC`), HC locales in lower case, and bodies as the API serves them (inline image links
//! point at the account's `/attachments/token/…` URLs).
//!
//! The dataset's vendor-shape cases cost what they cost at a real Zendesk, and nothing more: the
//! comment whose event sends `via` as a string keeps everything but its channel; the article
//! deleted between the list and its follow-ups is kept as listed, without its other locales and
//! attachments; each is a warning in bundle.json ([`Losses`]).
//!
//! Rate limits are enforced at 60× speed (`time_scale`) and the client's budgets are raised to
//! match, so a run takes seconds instead of minutes.

use std::collections::{BTreeMap, BTreeSet};
use std::io::Read;
use std::path::{Path, PathBuf};

use deskferry_extractor::config::SourceConfig;
use deskferry_extractor::pipeline::{self, ExtractOptions, ExtractSummary};
use deskferry_extractor::platforms::zendesk::ZendeskSource;
use deskferry_extractor::progress::ProgressMode;
use deskferry_fixtures::dataset::{Dataset, Size};
use deskferry_fixtures::sim::zendesk::state::View;
use deskferry_fixtures::sim::zendesk::{self, ZdState, ZendeskConfig, ZendeskSim, wire as zwire};
use deskferry_fixtures::sim::{Desk, FaultSpec, SimOptions, Store};
use deskferry_format::model::{
    Attachment, AttachmentState, Comment, CustomField, FieldEntity, Group, KbItem, Organization,
    Ticket, TicketStatus, User,
};
use deskferry_format::{
    BundleReader, Identities, KbArticle, KbCategory, KbSection, Recipients, Record, SignerKey,
    SigningKey, VerifyOptions, keygen,
};
use serde_json::Value;
use sha2::{Digest, Sha256};

const SEED: u64 = 7;
const TIME_SCALE: f64 = 60.0;

/// Client budgets matching the simulator's scaled windows (Enterprise plan, 10/min exports).
fn rate_limits() -> String {
    let s = TIME_SCALE as u32;
    format!(
        "[rate_limits]\ndefault = {}\nincremental = {}\nhelp_center = {}\nattachments = 100000\n",
        700 * s,
        10 * s,
        700 * s
    )
}

async fn start_sim(ds: &Dataset, faults: FaultSpec) -> ZendeskSim {
    let options = SimOptions { faults, time_scale: TIME_SCALE, seed: SEED };
    let config = ZendeskConfig { options, ..ZendeskConfig::default() };
    zendesk::start(Desk::new(Store::from_dataset(ds.clone())), config)
        .await
        .expect("start the simulated Zendesk")
}

fn source_for(sim: &ZendeskSim, dir: &Path) -> ZendeskSource {
    let text = format!(
        "platform = \"zendesk\"\nurl = \"{}\"\n[credentials]\nemail = \"{}\"\ntoken = \"{}\"\n{}",
        sim.url(),
        sim.email,
        sim.token,
        rate_limits()
    );
    let cfg = SourceConfig::parse(&text, &dir.join("source.toml")).expect("source file");
    ZendeskSource::new(&cfg).expect("Zendesk source")
}

struct Keys {
    recipient: PathBuf,
    identity: PathBuf,
    sign_key: PathBuf,
    sign_pub: PathBuf,
}

fn keys(dir: &Path) -> Keys {
    let k = keygen(&dir.join("keys")).expect("keygen");
    Keys {
        recipient: k.recipient,
        identity: k.identity,
        sign_key: k.sign_key,
        sign_pub: k.sign_pub,
    }
}

async fn extract(source: &ZendeskSource, keys: &Keys, out: &Path) -> ExtractSummary {
    let recipients = Recipients::from_file(&keys.recipient).unwrap();
    let signer = SigningKey::from_file(&keys.sign_key).unwrap();
    let mut opts = ExtractOptions::new(out.to_path_buf(), recipients, signer);
    opts.progress = ProgressMode::Off;
    opts.http = Some(source.http().clone());
    pipeline::run(source, opts).await.expect("extraction")
}

fn open(keys: &Keys, bundle: &Path) -> BundleReader {
    let signer = SignerKey::from_file(&keys.sign_pub).unwrap();
    let ids = Identities::from_file(&keys.identity).unwrap();
    BundleReader::open(bundle, &signer, &ids, &VerifyOptions::default()).expect("bundle verifies")
}

fn rows<R: Record>(r: &BundleReader) -> Vec<R> {
    r.records::<R>().expect("table").map(|x| x.expect("row")).collect()
}

/// Collects differences so one run reports many at once.
#[derive(Default)]
struct Diff(Vec<String>);

impl Diff {
    fn eq<T: PartialEq + std::fmt::Debug>(&mut self, what: &str, id: &str, got: T, want: T) {
        if got != want {
            self.0.push(format!("{what} {id}: got {got:?}, want {want:?}"));
        }
    }

    fn finish(self) {
        let n = self.0.len();
        let shown: Vec<&String> = self.0.iter().take(30).collect();
        assert!(n == 0, "{n} differences between bundle and dataset:\n{shown:#?}");
    }
}

fn by_id<T>(v: Vec<T>, id: impl Fn(&T) -> &str) -> BTreeMap<String, T> {
    v.into_iter().map(|x| (id(&x).to_string(), x)).collect()
}

/// Custom field values as (key, JSON value): numbers compare by value (`12.50` = `12.5`).
fn values(v: &[deskferry_format::model::CustomFieldValue]) -> Vec<(String, Value)> {
    v.iter()
        .map(|c| (c.key.clone(), serde_json::from_str(&c.value).unwrap_or(Value::Null)))
        .collect()
}

fn zd_status(s: TicketStatus) -> &'static str {
    zwire::live_status(s)
}

/// What the dataset's vendor-shape cases cost at Zendesk (see the module docs).
struct Losses {
    /// Comments whose channel is not readable (their event's `via` is a string).
    channel: BTreeSet<String>,
    /// Articles deleted after the list: their translation rows are not extracted.
    vanished: BTreeSet<String>,
    /// Translation rows of those articles.
    rows: BTreeSet<String>,
}

impl Losses {
    fn of(ds: &Dataset) -> Losses {
        let ids = |case: &str| ds.case(case).map(|c| c.id.clone()).collect::<BTreeSet<_>>();
        let vanished = ids("vanishes_during_export");
        let rows = ds
            .kb_articles
            .iter()
            .filter(|a| a.translation_of.as_ref().is_some_and(|t| vanished.contains(t)))
            .map(|a| a.id.clone())
            .collect();
        Losses { channel: ids("unexpected_json_type"), vanished, rows }
    }

    /// An article attachment of a vanished article (any of its locale rows).
    fn lost_attachment(&self, a: &Attachment) -> bool {
        a.article_id.as_ref().is_some_and(|r| self.vanished.contains(r) || self.rows.contains(r))
    }

    /// The warnings bundle.json must hold: (entity, id, what the message names), sorted.
    fn warnings(&self) -> Vec<(String, String, &'static str)> {
        let mut w: Vec<(String, String, &'static str)> = Vec::new();
        for c in &self.channel {
            w.push(("comments".into(), c.clone(), "`via` holds a string"));
        }
        for a in &self.vanished {
            w.push(("kb_articles".into(), a.clone(), "its translations: gone"));
            w.push(("kb_articles".into(), a.clone(), "its attachments: gone"));
        }
        w.sort();
        w
    }
}

/// bundle.json's warnings are exactly those the vendor-shape cases call for.
fn check_warnings(ds: &Dataset, r: &BundleReader) {
    let want = Losses::of(ds).warnings();
    let mut got: Vec<(String, String, String)> = r
        .bundle_json()
        .warnings
        .iter()
        .map(|w| (w.entity.clone(), w.id.clone().unwrap_or_default(), w.message.clone()))
        .collect();
    got.sort();
    assert_eq!(got.len(), want.len(), "warnings: {got:#?}");
    for ((ge, gi, gm), (we, wi, wm)) in got.iter().zip(&want) {
        assert!(ge == we && gi == wi && gm.contains(wm), "warning {got:#?}\nwant {want:#?}");
    }
    assert!(!want.is_empty(), "the dataset carries the vendor-shape cases");
}

/// Compares every table of the bundle with the dataset.
fn compare(ds: &Dataset, st: &View, r: &BundleReader) {
    let mut d = Diff::default();
    let losses = Losses::of(ds);

    let users = by_id(rows::<User>(r), |u| &u.id);
    d.eq("users count", "", users.len(), ds.users.len());
    for w in &ds.users {
        let Some(g) = users.get(&w.id) else {
            d.0.push(format!("user {} missing", w.id));
            continue;
        };
        let id = &w.id;
        d.eq("user kind", id, g.kind, w.kind);
        d.eq("user role", id, &g.role_raw, &w.role_raw);
        d.eq("user name", id, &g.name, &w.name);
        d.eq("user email", id, &g.email, &w.email);
        d.eq("user other_emails", id, &g.other_emails, &w.other_emails);
        d.eq("user phone", id, &g.phone, &w.phone);
        d.eq("user organization", id, &g.organization_id, &w.organization_id);
        d.eq("user groups", id, &g.group_ids, &w.group_ids);
        d.eq("user active", id, g.active, w.active && !w.is_deleted);
        d.eq("user suspended", id, g.suspended, w.suspended);
        d.eq("user deleted", id, g.is_deleted, w.is_deleted);
        d.eq("user locale", id, g.locale.as_deref(), Some(w.locale.as_deref().unwrap_or("en-US")));
        d.eq(
            "user tz",
            id,
            g.time_zone.as_deref(),
            Some(w.time_zone.as_deref().unwrap_or("Etc/UTC")),
        );
        d.eq("user tags", id, &g.tags, &w.tags);
        d.eq("user fields", id, values(&g.custom_fields), values(&w.custom_fields));
        d.eq("user created", id, g.created_at, w.created_at);
        d.eq("user updated", id, g.updated_at, w.updated_at);
        let raw: Value = serde_json::from_str(&g.raw).unwrap_or(Value::Null);
        d.eq("user raw id", id, raw["id"].to_string(), id.clone());
    }

    let orgs = by_id(rows::<Organization>(r), |o| &o.id);
    d.eq("organizations count", "", orgs.len(), ds.organizations.len());
    for w in &ds.organizations {
        let Some(g) = orgs.get(&w.id) else {
            d.0.push(format!("organization {} missing", w.id));
            continue;
        };
        let id = &w.id;
        d.eq("org name", id, &g.name, &w.name);
        d.eq("org domains", id, &g.domains, &w.domains);
        d.eq("org notes", id, &g.notes, &w.notes);
        d.eq("org tags", id, &g.tags, &w.tags);
        d.eq("org fields", id, values(&g.custom_fields), values(&w.custom_fields));
        d.eq("org times", id, (g.created_at, g.updated_at), (w.created_at, w.updated_at));
        d.eq(
            "org raw",
            id,
            serde_json::from_str::<Value>(&g.raw).map(|v| v["id"].to_string()).ok(),
            Some(id.clone()),
        );
    }

    let groups = by_id(rows::<Group>(r), |x| &x.id);
    d.eq("groups count", "", groups.len(), ds.groups.len());
    for w in &ds.groups {
        let Some(g) = groups.get(&w.id) else {
            d.0.push(format!("group {} missing", w.id));
            continue;
        };
        d.eq(
            "group",
            &w.id,
            (&g.name, g.kind, &g.description, g.is_deleted, g.created_at),
            (&w.name, w.kind, &w.description, w.is_deleted, w.created_at),
        );
    }

    let fields = by_id(rows::<CustomField>(r), |x| &x.id);
    d.eq("custom_fields count", "", fields.len(), ds.custom_fields.len());
    let field_key = |f: &CustomField| {
        if f.entity == FieldEntity::Ticket { f.id.clone() } else { f.key.clone() }
    };
    for w in &ds.custom_fields {
        let Some(g) = fields.get(&w.id) else {
            d.0.push(format!("custom field {} missing", w.id));
            continue;
        };
        d.eq(
            "field",
            &w.id,
            (g.entity, &g.key, &g.title, &g.field_type, g.kind, &g.options, g.required, g.active),
            (
                w.entity,
                &field_key(w),
                &w.title,
                &w.field_type,
                w.kind,
                &w.options,
                w.required,
                w.active,
            ),
        );
    }
    // Ticket values are keyed by field id (Zendesk ticket fields have no key).
    let ticket_key: BTreeMap<&str, &str> = ds
        .custom_fields
        .iter()
        .filter(|f| f.entity == FieldEntity::Ticket)
        .map(|f| (f.key.as_str(), f.id.as_str()))
        .collect();

    let tickets = by_id(rows::<Ticket>(r), |x| &x.id);
    d.eq("tickets count", "", tickets.len(), ds.tickets.len());
    for w in &ds.tickets {
        let Some(g) = tickets.get(&w.id) else {
            d.0.push(format!("ticket {} missing", w.id));
            continue;
        };
        let id = &w.id;
        let deleted = w.is_deleted || w.is_spam;
        let raw_status = if deleted { "deleted" } else { zd_status(w.status) };
        d.eq("ticket number", id, &g.number, &Some(id.clone()));
        d.eq("ticket subject", id, &g.subject, &w.subject);
        d.eq(
            "ticket status",
            id,
            (g.status, g.status_raw.as_deref()),
            (w.status, Some(raw_status)),
        );
        d.eq("ticket priority", id, (g.priority, &g.priority_raw), (w.priority, &w.priority_raw));
        d.eq("ticket type", id, &g.ticket_type, &w.ticket_type);
        d.eq(
            "ticket channel",
            id,
            g.channel.as_deref(),
            Some(w.channel.as_deref().unwrap_or("web")),
        );
        d.eq("ticket requester", id, &g.requester_id, &w.requester_id);
        let submitter = w.submitter_id.clone().or(w.requester_id.clone());
        d.eq("ticket submitter", id, &g.submitter_id, &submitter);
        d.eq("ticket assignee", id, &g.assignee_id, &w.assignee_id);
        d.eq("ticket group", id, &g.group_id, &w.group_id);
        d.eq("ticket organization", id, &g.organization_id, &w.organization_id);
        d.eq("ticket ccs", id, &g.cc_ids, &w.cc_ids);
        d.eq("ticket followers", id, &g.follower_ids, &w.follower_ids);
        d.eq("ticket tags", id, &g.tags, &w.tags);
        let want: Vec<(String, Value)> = values(&w.custom_fields)
            .into_iter()
            .map(|(k, v)| (ticket_key.get(k.as_str()).map_or(k.clone(), |i| i.to_string()), v))
            .collect();
        d.eq("ticket fields", id, values(&g.custom_fields), want);
        d.eq(
            "ticket times",
            id,
            (g.created_at, g.updated_at, g.solved_at, g.due_at),
            (w.created_at, w.updated_at, w.solved_at, w.due_at),
        );
        d.eq("ticket deleted/spam", id, (g.is_deleted, g.is_spam), (deleted, false));
        let raw: Value = serde_json::from_str(&g.raw).unwrap_or(Value::Null);
        d.eq("ticket raw", id, raw["id"].to_string(), id.clone());
    }

    let comments = by_id(rows::<Comment>(r), |x| &x.id);
    d.eq("comments count", "", comments.len(), ds.comments.len());
    let index: BTreeMap<&str, usize> =
        st.store().comments.iter().enumerate().map(|(i, c)| (c.id.as_str(), i)).collect();
    for w in &ds.comments {
        let Some(g) = comments.get(&w.id) else {
            d.0.push(format!("comment {} missing", w.id));
            continue;
        };
        let id = &w.id;
        d.eq("comment ticket", id, &g.ticket_id, &w.ticket_id);
        d.eq("comment author", id, &g.author_id, &w.author_id);
        d.eq("comment public", id, g.public, w.public);
        let text = w.body_text.clone().or(w.body_html.clone()).unwrap_or_default();
        d.eq("comment text", id, g.body_text.as_deref(), Some(text.as_str()));
        // The HTML as the API serves it (inline image links on the account's host).
        let served = zwire::comment(st, index[w.id.as_str()], true);
        d.eq("comment html", id, g.body_html.as_deref(), served["html_body"].as_str());
        let channel = Some(w.channel.as_deref().unwrap_or("web"));
        let channel = if losses.channel.contains(id) { None } else { channel };
        d.eq("comment channel", id, g.channel.as_deref(), channel);
        d.eq("comment created", id, g.created_at, w.created_at);
        d.eq("comment attachments", id, &g.attachment_ids, &w.attachment_ids);
    }

    let atts = by_id(rows::<Attachment>(r), |x| &x.id);
    let want_atts: Vec<&Attachment> =
        ds.attachments.iter().filter(|a| !losses.lost_attachment(a)).collect();
    d.eq("attachments count", "", atts.len(), want_atts.len());
    let mut hashes = BTreeSet::new();
    for w in want_atts {
        let Some(g) = atts.get(&w.id) else {
            d.0.push(format!("attachment {} missing", w.id));
            continue;
        };
        let id = &w.id;
        d.eq(
            "attachment owner",
            id,
            (&g.ticket_id, &g.comment_id, &g.article_id),
            (&w.ticket_id, &w.comment_id, &w.article_id),
        );
        d.eq("attachment name", id, &g.file_name, &w.file_name);
        d.eq("attachment type", id, &g.content_type, &w.content_type);
        d.eq("attachment stored", id, (g.state, &g.error), (AttachmentState::Stored, &None));
        d.eq("attachment size", id, g.size, w.size);
        d.eq("attachment sha256", id, &g.sha256, &w.sha256);
        d.eq("attachment inline", id, g.inline, w.inline);
        hashes.extend(g.sha256.clone());
    }
    // The stored bytes themselves hash to what the dataset generated.
    for sha in &hashes {
        let mut h = Sha256::new();
        let mut blob = r.open_blob(sha).expect("blob present");
        let mut buf = vec![0u8; 1 << 16];
        loop {
            let n = blob.read(&mut buf).expect("blob readable");
            if n == 0 {
                break;
            }
            h.update(&buf[..n]);
        }
        d.eq("blob bytes", sha, hex::encode(h.finalize()), sha.clone());
    }

    let kb = |want: &[KbItem],
              got: Vec<KbItem>,
              table: &str,
              d: &mut Diff,
              html: &dyn Fn(&str) -> String| {
        let got = by_id(got, |x| &x.id);
        d.eq(&format!("{table} count"), "", got.len(), want.len());
        for w in want {
            let Some(g) = got.get(&w.id) else {
                d.0.push(format!("{table} {} missing", w.id));
                continue;
            };
            let id = &w.id;
            d.eq(
                table,
                id,
                (
                    &g.parent_id,
                    &g.translation_of,
                    &g.title,
                    g.draft,
                    g.position,
                    &g.labels,
                    &g.author_id,
                ),
                (
                    &w.parent_id,
                    &w.translation_of,
                    &w.title,
                    w.draft,
                    w.position,
                    &w.labels,
                    &w.author_id,
                ),
            );
            d.eq(
                &format!("{table} locale"),
                id,
                g.locale.clone(),
                w.locale.as_ref().map(|l| l.to_ascii_lowercase()),
            );
            d.eq(
                &format!("{table} body"),
                id,
                g.body_html.clone(),
                w.body_html.as_deref().map(html),
            );
            d.eq(
                &format!("{table} times"),
                id,
                (g.created_at, g.updated_at),
                (w.created_at, w.updated_at),
            );
        }
    };
    let same = |h: &str| h.to_string();
    let served = |h: &str| zwire::rewrite_inline(st, h);
    kb(
        &ds.kb_categories,
        rows::<KbCategory>(r).into_iter().map(|x| x.0).collect(),
        "kb_categories",
        &mut d,
        &same,
    );
    kb(
        &ds.kb_sections,
        rows::<KbSection>(r).into_iter().map(|x| x.0).collect(),
        "kb_sections",
        &mut d,
        &same,
    );
    let articles: Vec<KbItem> =
        ds.kb_articles.iter().filter(|a| !losses.rows.contains(&a.id)).cloned().collect();
    kb(
        &articles,
        rows::<KbArticle>(r).into_iter().map(|x| x.0).collect(),
        "kb_articles",
        &mut d,
        &served,
    );
    d.finish();
}

/// Extracts `ds` from a simulator with `faults`, checks the bundle record by record, and
/// returns the simulator's API request log.
async fn round_trip(
    ds: &Dataset,
    faults: &str,
    validate: bool,
) -> Vec<deskferry_fixtures::sim::LogEntry> {
    let dir = tempfile::tempdir().unwrap();
    let sim = start_sim(ds, faults.parse().unwrap()).await;
    sim.api.log.set_capture_bodies(validate);
    let keys = keys(dir.path());
    let source = source_for(&sim, dir.path());
    let out = dir.path().join("zendesk.dfb");
    let summary = extract(&source, &keys, &out).await;
    let reader = open(&keys, &out);
    check_warnings(ds, &reader);

    let st = ZdState::new(
        Desk::new(Store::from_dataset(ds.clone())),
        sim.url(),
        sim.cdn_url(),
        sim.email.clone(),
        sim.token.clone(),
    );
    compare(ds, &st.view(), &reader);

    // The CDN never saw credentials; the API saw few requests per ticket.
    let cdn = sim.cdn.log.entries();
    assert!(!cdn.is_empty() && cdn.iter().all(|e| !e.had_authorization));
    let api = sim.api.log.entries();
    let answered = api.iter().filter(|e| e.status < 400 && e.fault.is_none()).count();
    eprintln!(
        "zendesk {} ({faults:?}): {answered} API requests answered ({} attempts) for {} tickets, {} CDN attempts, {:?}",
        ds.size,
        api.len(),
        ds.tickets.len(),
        cdn.len(),
        summary.elapsed
    );
    if validate {
        validate_against_openapi(&sim, dir.path());
    }
    sim.stop().await.unwrap();
    api
}

/// Every answer the extractor read (side-loads included) against Zendesk's OpenAPI files
/// (skipped, and said so, without them).
fn validate_against_openapi(sim: &ZendeskSim, dir: &Path) {
    let Some(specs) = deskferry_tests::vendor_specs("zendesk") else { return };
    let root = deskferry_tests::repo_root();
    let log = dir.join("zendesk.jsonl");
    sim.api.log.write_jsonl(&log).unwrap();
    let out = std::process::Command::new(deskferry_tests::python())
        .arg(root.join("tests/interop/zendesk_validate.py"))
        .arg("--log")
        .arg(&log)
        .arg("--specs")
        .arg(specs)
        .output()
        .expect("run the validator");
    let report =
        format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success(), "Zendesk OpenAPI validation failed:\n{report}");
    for op in
        ["/api/v2/users/me", "/api/v2/incremental/users/cursor", "/api/v2/help_center/articles"]
    {
        assert!(report.contains(op), "{op} was not validated:\n{report}");
    }
}

async fn small_round_trip(faults: &str) {
    let ds = Dataset::generate(SEED, Size::Small);
    let api = round_trip(&ds, faults, false).await;
    // Comments come from the ticket events: no per-ticket comment calls at all.
    assert!(
        api.iter().all(|e| !e.path.ends_with("/comments") && !e.path.ends_with("/comments.json"))
    );
    let answered = api.iter().filter(|e| e.status < 400 && e.fault.is_none()).count();
    assert!(
        answered < ds.tickets.len() / 5,
        "{answered} requests for {} tickets",
        ds.tickets.len()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn small_dataset_is_extracted_completely() {
    small_round_trip("").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn small_dataset_survives_throttling_errors_and_resets() {
    small_round_trip("429=0.05,500=0.02,reset=0.01").await;
}

/// A body showing an image the comment does not list (here: another ticket's attachment) makes
/// the extractor ask that one ticket's comments endpoint, and nothing else changes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unlisted_inline_image_falls_back_to_that_tickets_comments_only() {
    let mut ds = Dataset::generate(SEED, Size::Tiny);
    let other = ds.attachments.iter().find(|a| a.comment_id.is_some()).unwrap().clone();
    let odd = Losses::of(&ds).channel;
    // A live ticket with a short conversation (one page of comments).
    let ticket = ds
        .tickets
        .iter()
        .find(|t| {
            !t.is_deleted
                && !t.is_spam
                && Some(&t.id) != other.ticket_id.as_ref()
                && (1..50).contains(&ds.comments_of(&t.id).len())
                // Not the ticket whose comment event sends an odd `via`: refetched through the
                // comments endpoint, that comment would get its channel back.
                && !ds.comments_of(&t.id).iter().any(|c| odd.contains(&c.id))
        })
        .unwrap()
        .id
        .clone();
    let c =
        ds.comments.iter_mut().find(|c| c.ticket_id == ticket && c.body_html.is_some()).unwrap();
    let link = deskferry_fixtures::dataset::attachment_url(&other.id, &other.file_name);
    c.body_html = Some(format!("{}<p><img src=\"{link}\"></p>", c.body_html.clone().unwrap()));
    // This run also checks every answer against Zendesk's OpenAPI files.
    let api = round_trip(&ds, "", true).await;
    let calls: Vec<&str> = api
        .iter()
        .filter(|e| e.path.contains("/comments"))
        .map(|e| e.path.trim_end_matches(".json"))
        .collect();
    assert_eq!(calls, [format!("/api/v2/tickets/{ticket}/comments")]);
}

/// `--since`: only what changed after the parent's cursors, a tombstone for the ticket deleted
/// since, and the status it had before.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn delta_reads_only_changes_and_tombstones_deletions() {
    let dir = tempfile::tempdir().unwrap();
    let keys = keys(dir.path());
    let ds = Dataset::generate(SEED, Size::Tiny);
    let sim = start_sim(&ds, FaultSpec::none()).await;
    let port = sim.api.addr.port();
    let parent = dir.path().join("full.dfb");
    extract(&source_for(&sim, dir.path()), &keys, &parent).await;
    sim.stop().await.unwrap();

    // Later: one ticket deleted, one answered, one user renamed.
    let mut ds2 = ds.clone();
    let later = ds.snapshot_at() + chrono::Duration::days(2);
    let live: Vec<usize> = (0..ds2.tickets.len())
        .filter(|&i| !ds2.tickets[i].is_deleted && !ds2.tickets[i].is_spam)
        .collect();
    let (gone, answered) = (live[1], live[2]);
    let gone_status = ds2.tickets[gone].status;
    ds2.tickets[gone].is_deleted = true;
    ds2.tickets[gone].updated_at = Some(later);
    ds2.tickets[answered].updated_at = Some(later + chrono::Duration::hours(1));
    let answered_id = ds2.tickets[answered].id.clone();
    let mut reply = ds2.comments_of(&answered_id)[0].clone();
    reply.id = "99999999".into();
    reply.created_at = Some(later + chrono::Duration::hours(1));
    reply.attachment_ids.clear();
    reply.body_html = Some("<p>Following up.</p>".into());
    ds2.comments.push(reply);
    let renamed = ds2.users.len() - 1;
    ds2.users[renamed].name = Some("Renamed Person".into());
    ds2.users[renamed].updated_at = Some(later);

    let config = ZendeskConfig {
        options: SimOptions { time_scale: TIME_SCALE, seed: SEED, ..SimOptions::default() },
        api_port: port,
        ..ZendeskConfig::default()
    };
    let sim = zendesk::start(Desk::new(Store::from_dataset(ds2.clone())), config).await.unwrap();
    let out = dir.path().join("delta.dfb");
    let recipients = Recipients::from_file(&keys.recipient).unwrap();
    let signer = SigningKey::from_file(&keys.sign_key).unwrap();
    let mut opts = ExtractOptions::new(out.clone(), recipients, signer);
    opts.progress = ProgressMode::Off;
    opts.since = Some(deskferry_format::envelope_path(&parent));
    pipeline::run(&source_for(&sim, dir.path()), opts).await.expect("delta extraction");
    let r = open(&keys, &out);
    assert_eq!(r.envelope().mode, deskferry_format::Mode::Delta);
    assert_eq!(r.envelope().parent_bundle_id.as_deref(), Some("full"));

    let tickets = by_id(rows::<Ticket>(&r), |t| &t.id);
    let gone_id = &ds2.tickets[gone].id;
    assert_eq!(tickets.keys().collect::<Vec<_>>(), {
        let mut v = vec![gone_id, &answered_id];
        v.sort_by(|a, b| deskferry_format::model::id_order(a, b));
        v
    });
    let t = &tickets[gone_id];
    assert!(t.is_deleted);
    assert_eq!((t.status, t.status_raw.as_deref()), (gone_status, Some("deleted")));
    let tombs = rows::<deskferry_format::model::Tombstone>(&r);
    assert_eq!(tombs.len(), 1);
    assert_eq!(
        (tombs[0].entity.as_str(), tombs[0].id.as_str(), tombs[0].deleted_at),
        ("tickets", gone_id.as_str(), Some(later))
    );
    let comments = rows::<Comment>(&r);
    assert!(
        comments.iter().any(|c| c.id == "99999999" && c.ticket_id == answered_id),
        "new reply present"
    );
    assert!(comments.len() < ds.comments.len() / 2, "{} comments in a delta", comments.len());
    let users = rows::<User>(&r);
    assert!(users.iter().any(|u| u.name.as_deref() == Some("Renamed Person")));
    assert!(users.len() < 5, "{} users in a delta", users.len());
    sim.stop().await.unwrap();
}
