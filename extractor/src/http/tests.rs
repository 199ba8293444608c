//! Tests against tiny servers on 127.0.0.1: real sockets, real reqwest, no stand-ins.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant, SystemTime};

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::IntoResponse;
use axum::routing::{get, post};
use reqwest::Url;
use secrecy::SecretString;
use sha2::{Digest, Sha256};
use tokio::net::TcpListener;

use super::bucket::{RateInfo, TokenBucket};
use super::retry::{rate_info, retry_after};
use super::*;

pub(super) const TOKEN: &str = "s3cr3t-t0ken-value";

/// Serves `router` on a free loopback port; the task ends with the test's runtime.
pub(super) async fn serve(router: Router) -> Url {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        let _ = axum::serve(listener, router).await;
    });
    Url::parse(&format!("http://{addr}/")).unwrap()
}

pub(super) fn bearer() -> Auth {
    Auth::Bearer(SecretString::from(TOKEN))
}

pub(super) fn client(base: &Url, f: impl FnOnce(HttpConfig) -> HttpConfig) -> Http {
    let cfg = HttpConfig::new(base.clone(), bearer()).bucket("default", 6000, 100);
    Http::new(f(cfg)).unwrap()
}

/// Request counter shared with handlers.
#[derive(Clone, Default)]
pub(super) struct Hits(pub(super) Arc<AtomicUsize>);

impl Hits {
    pub(super) fn next(&self) -> usize {
        self.0.fetch_add(1, Ordering::SeqCst)
    }
    pub(super) fn get(&self) -> usize {
        self.0.load(Ordering::SeqCst)
    }
}

pub(super) fn sha_hex(b: &[u8]) -> String {
    hex::encode(Sha256::digest(b))
}

#[tokio::test]
async fn retry_after_is_honoured_and_counted() {
    let hits = Hits::default();
    let app = Router::new()
        .route(
            "/x",
            get(|State(h): State<Hits>| async move {
                if h.next() == 0 {
                    (StatusCode::TOO_MANY_REQUESTS, [(header::RETRY_AFTER, "1")], "slow down")
                        .into_response()
                } else {
                    (StatusCode::OK, r#"{"ok":true}"#).into_response()
                }
            }),
        )
        .with_state(hits.clone());
    let base = serve(app).await;
    let http = client(&base, |c| c);
    let start = Instant::now();
    let v: serde_json::Value = http.get_json("default", "/x").await.unwrap();
    assert_eq!(v["ok"], true);
    // Logically certain: the second attempt may not start before Retry-After has passed.
    assert!(start.elapsed() >= Duration::from_secs(1));
    let s = http.stats();
    assert_eq!((s.requests, s.attempts, s.retries, s.rate_limited), (1, 2, 1, 1));
    assert!(s.waited >= Duration::from_secs(1));
    assert_eq!(hits.get(), 2);
}

#[tokio::test]
async fn server_errors_are_retried_then_succeed() {
    let hits = Hits::default();
    let app = Router::new()
        .route(
            "/x",
            get(|State(h): State<Hits>| async move {
                if h.next() < 2 {
                    (StatusCode::BAD_GATEWAY, "oops").into_response()
                } else {
                    "fine".into_response()
                }
            }),
        )
        .with_state(hits.clone());
    let base = serve(app).await;
    let http = client(&base, |c| c);
    let r = http.send(Request::get("default", "x")).await.unwrap();
    assert_eq!(&r.body[..], b"fine");
    assert_eq!(hits.get(), 3);
    let s = http.stats();
    assert_eq!((s.attempts, s.retries, s.rate_limited), (3, 2, 0));
}

#[tokio::test]
async fn exhausted_retries_give_a_status_error() {
    let hits = Hits::default();
    let app = Router::new()
        .route(
            "/x",
            get(|State(h): State<Hits>| async move {
                h.next();
                (StatusCode::INTERNAL_SERVER_ERROR, "broken for good")
            }),
        )
        .with_state(hits.clone());
    let base = serve(app).await;
    let http = client(&base, |c| c.max_retries(2));
    let err = http.send(Request::get("default", "/x?page=3")).await.unwrap_err();
    assert_eq!(err.status(), Some(500));
    match &err {
        HttpError::Status { method, url, body, .. } => {
            assert_eq!(method, "GET");
            assert!(url.ends_with("/x"), "{url}");
            assert_eq!(body, "broken for good");
        }
        other => panic!("expected Status, got {other:?}"),
    }
    assert_eq!(hits.get(), 3);
}

#[tokio::test]
async fn client_errors_are_not_retried() {
    let hits = Hits::default();
    let app = Router::new()
        .route(
            "/x",
            get(|State(h): State<Hits>| async move {
                h.next();
                StatusCode::NOT_FOUND
            }),
        )
        .with_state(hits.clone());
    let base = serve(app).await;
    let http = client(&base, |c| c);
    assert_eq!(http.send(Request::get("default", "/x")).await.unwrap_err().status(), Some(404));
    assert_eq!(hits.get(), 1);
}

#[tokio::test]
async fn post_is_retried_on_5xx_only_when_marked_safe_and_body_is_rebuilt() {
    let hits = Hits::default();
    let bodies = Arc::new(std::sync::Mutex::new(Vec::<String>::new()));
    let app =
        Router::new()
            .route(
                "/create",
                post(
                    |State((h, b)): State<(Hits, Arc<std::sync::Mutex<Vec<String>>>)>,
                     body: String| async move {
                        b.lock().unwrap().push(body);
                        if h.next() % 2 == 0 {
                            StatusCode::INTERNAL_SERVER_ERROR
                        } else {
                            StatusCode::CREATED
                        }
                    },
                ),
            )
            .with_state((hits.clone(), bodies.clone()));
    let base = serve(app).await;
    let http = client(&base, |c| c);
    let body = serde_json::json!({"external_id": "t-1"});
    let err = http.send(Request::post_json("default", "/create", body.clone())).await.unwrap_err();
    assert_eq!(err.status(), Some(500));
    assert_eq!(hits.get(), 1);

    let parts = vec![Part {
        name: "file".into(),
        file: Some(("a.txt".into(), "text/plain".into())),
        bytes: "hello part".into(),
    }];
    hits.0.store(0, Ordering::SeqCst);
    let r =
        http.send(Request::multipart("default", "/create", parts).retry_unsafe()).await.unwrap();
    assert_eq!(r.status, 201);
    assert_eq!(hits.get(), 2);
    let seen = bodies.lock().unwrap().clone();
    // Both attempts carried the whole multipart body.
    assert!(seen[1].contains("hello part") && seen[2].contains("hello part"), "{seen:?}");
}

#[tokio::test]
async fn post_is_retried_on_429() {
    let hits = Hits::default();
    let app = Router::new()
        .route(
            "/create",
            post(|State(h): State<Hits>| async move {
                if h.next() == 0 {
                    (StatusCode::TOO_MANY_REQUESTS, [(header::RETRY_AFTER, "0")]).into_response()
                } else {
                    StatusCode::CREATED.into_response()
                }
            }),
        )
        .with_state(hits.clone());
    let base = serve(app).await;
    let http = client(&base, |c| c);
    let r =
        http.send(Request::post_json("default", "/create", serde_json::json!({}))).await.unwrap();
    assert_eq!(r.status, 201);
    assert_eq!(http.stats().rate_limited, 1);
}

/// State of the two-origin redirect world: (auth seen by CDN, auth seen by API).
#[derive(Clone, Default)]
struct Seen {
    cdn_with_auth: Hits,
    cdn_total: Hits,
    api_with_auth: Hits,
}

static FILE: &[u8] = b"attachment bytes \x00\x01\x02 that must arrive intact";

async fn two_origins() -> (Url, Url, Seen) {
    let seen = Seen::default();
    let cdn = Router::new()
        .route(
            "/blob",
            get(|State(s): State<Seen>, headers: HeaderMap| async move {
                s.cdn_total.next();
                if headers.contains_key(header::AUTHORIZATION) {
                    s.cdn_with_auth.next();
                    return (StatusCode::FORBIDDEN, "no credentials here").into_response();
                }
                FILE.into_response()
            }),
        )
        .with_state(seen.clone());
    let cdn_url = serve(cdn).await;
    let target = format!("{cdn_url}blob?signature=abc");
    let api = Router::new()
        .route(
            "/attachments/token/{t}",
            get(move |State(s): State<Seen>, headers: HeaderMap| {
                let target = target.clone();
                async move {
                    if headers.get(header::AUTHORIZATION).and_then(|v| v.to_str().ok())
                        == Some(&format!("Bearer {TOKEN}"))
                    {
                        s.api_with_auth.next();
                    }
                    (StatusCode::FOUND, [(header::LOCATION, target)]).into_response()
                }
            }),
        )
        .route(
            "/old",
            get(|| async { (StatusCode::MOVED_PERMANENTLY, [(header::LOCATION, "/new")]) }),
        )
        .route(
            "/new",
            get(|headers: HeaderMap| async move {
                if headers.get(header::AUTHORIZATION).and_then(|v| v.to_str().ok())
                    == Some(&format!("Bearer {TOKEN}"))
                {
                    FILE.into_response()
                } else {
                    StatusCode::UNAUTHORIZED.into_response()
                }
            }),
        )
        .with_state(seen.clone());
    let api_url = serve(api).await;
    (api_url, cdn_url, seen)
}

#[tokio::test]
async fn redirect_to_another_port_drops_authorization() {
    let (api, cdn, seen) = two_origins().await;
    assert_eq!(api.host(), cdn.host(), "same host, different port: only the port differs");
    let http = client(&api, |c| c);
    let dir = tempfile::tempdir().unwrap();
    let dest = dir.path().join("f");
    let d = http.download("default", "/attachments/token/abc", &dest).await.unwrap();
    assert_eq!(d.sha256, sha_hex(FILE));
    assert_eq!(std::fs::read(&dest).unwrap(), FILE);
    assert_eq!(seen.api_with_auth.get(), 1, "the API host got the credentials");
    assert_eq!((seen.cdn_total.get(), seen.cdn_with_auth.get()), (1, 0));
    // send() follows GET redirects by the same rule.
    let r = http.send(Request::get("default", "/attachments/token/abc")).await.unwrap();
    assert_eq!(&r.body[..], FILE);
    assert_eq!(seen.cdn_with_auth.get(), 0);
}

#[tokio::test]
async fn same_origin_redirect_keeps_authorization() {
    let (api, _cdn, _seen) = two_origins().await;
    let http = client(&api, |c| c);
    let dir = tempfile::tempdir().unwrap();
    let d = http.download("default", "/old", &dir.path().join("f")).await.unwrap();
    assert_eq!(d.sha256, sha_hex(FILE));
    let r = http.send(Request::get("default", "/old")).await.unwrap();
    assert_eq!(&r.body[..], FILE);
    assert_eq!(r.url.path(), "/new");
}

#[tokio::test]
async fn secrets_and_query_strings_stay_out_of_errors_and_debug() {
    let app = Router::new().route(
        "/echo",
        get(|headers: HeaderMap| async move {
            // A careless server echoing the credentials back.
            let auth = headers.get(header::AUTHORIZATION).unwrap().to_str().unwrap().to_string();
            (StatusCode::UNAUTHORIZED, format!("bad credentials: {auth}"))
        }),
    );
    let base = serve(app).await;
    let user_secret = "p4ssw0rd-basic";
    let basic = Auth::Basic {
        user: "agent@example.test".into(),
        password: SecretString::from(user_secret),
    };
    for auth in [
        bearer(),
        basic,
        Auth::Header {
            name: "Authorization".into(),
            value: SecretString::from(format!("token {TOKEN}")),
        },
    ] {
        // No retries: the refused connection below would otherwise back off for a minute.
        let cfg = HttpConfig::new(base.clone(), auth).max_retries(0);
        let cfg_debug = format!("{cfg:?}");
        let http = Http::new(cfg).unwrap();
        let err =
            http.send(Request::get("default", "/echo?api_token=qs-secret")).await.unwrap_err();
        assert_eq!(err.status(), Some(401));
        // Nothing listens on the discard port of loopback: a transport error naming the URL.
        let err2 = http
            .send(Request::get("default", "http://127.0.0.1:9/x?api_token=qs-secret"))
            .await
            .unwrap_err();
        let texts = [
            err.to_string(),
            format!("{err:?}"),
            err2.to_string(),
            format!("{err2:?}"),
            format!("{http:?}"),
            cfg_debug,
        ];
        for t in texts {
            for secret in [TOKEN, user_secret, "qs-secret"] {
                assert!(!t.contains(secret), "{secret} leaked in {t}");
            }
            assert!(
                !t.contains("YWdlbnRAZXhhbXBsZS50ZXN0OnA0c3N3MHJkLWJhc2lj"),
                "basic credentials leaked in {t}"
            );
        }
        assert!(err.to_string().contains("[REDACTED]"), "{err}");
        assert!(matches!(err2, HttpError::Transport { .. }), "{err2:?}");
    }
}

#[tokio::test]
async fn bucket_paces_requests() {
    let hits = Hits::default();
    let app = Router::new()
        .route(
            "/x",
            get(|State(h): State<Hits>| async move {
                h.next();
                "ok"
            }),
        )
        .with_state(hits.clone());
    let base = serve(app).await;
    let start = Instant::now();
    let http = client(&base, |c| c.bucket("slow", 60, 1));
    for _ in 0..3 {
        http.send(Request::get("slow", "/x")).await.unwrap();
    }
    // Certain: one token at start, the next two refill at 1 per second.
    assert!(start.elapsed() >= Duration::from_millis(1900));
    http.send(Request::get("no-such-bucket", "/x")).await.unwrap();
    let s = http.stats();
    assert_eq!(s.per_bucket.get("slow"), Some(&3));
    assert_eq!(s.per_bucket.get("default"), Some(&1), "unknown buckets use default");
    assert!(s.paced >= 1);
    assert_eq!(hits.get(), 4);
}

#[tokio::test]
async fn in_flight_requests_are_bounded() {
    #[derive(Clone, Default)]
    struct Conc {
        now: Hits,
        max: Hits,
    }
    let c = Conc::default();
    let app = Router::new()
        .route(
            "/x",
            get(|State(c): State<Conc>| async move {
                let n = c.now.next() + 1;
                c.max.0.fetch_max(n, Ordering::SeqCst);
                tokio::time::sleep(Duration::from_millis(100)).await;
                c.now.0.fetch_sub(1, Ordering::SeqCst);
                "ok"
            }),
        )
        .with_state(c.clone());
    let base = serve(app).await;
    let http = client(&base, |c| c.max_in_flight(2));
    let futs: Vec<_> = (0..6).map(|_| http.send(Request::get("default", "/x"))).collect();
    for r in futures_util::future::join_all(futs).await {
        r.unwrap();
    }
    assert!(c.max.get() <= 2, "max concurrency {}", c.max.get());
    assert!(c.max.get() >= 1);
}

#[test]
fn retry_after_reads_seconds_and_http_dates() {
    let mut h = reqwest::header::HeaderMap::new();
    h.insert("retry-after", "7".parse().unwrap());
    assert_eq!(retry_after(&h), Some(Duration::from_secs(7)));
    let future = SystemTime::now() + Duration::from_secs(120);
    let date = chrono::DateTime::<chrono::Utc>::from(future)
        .format("%a, %d %b %Y %H:%M:%S GMT")
        .to_string();
    h.insert("retry-after", date.parse().unwrap());
    let d = retry_after(&h).unwrap();
    assert!(d > Duration::from_secs(100) && d <= Duration::from_secs(120), "{d:?}");
    h.insert("retry-after", "Wed, 21 Oct 2015 07:28:00 GMT".parse().unwrap());
    assert_eq!(retry_after(&h), Some(Duration::ZERO));
    h.insert("retry-after", "soon".parse().unwrap());
    assert_eq!(retry_after(&h), None);
}

#[test]
fn rate_headers_of_zendesk_and_front_are_read() {
    let mut z = reqwest::header::HeaderMap::new();
    z.insert("x-rate-limit", "700".parse().unwrap());
    z.insert("x-rate-limit-remaining", "12".parse().unwrap());
    z.insert("ratelimit-reset", "30".parse().unwrap());
    assert_eq!(
        rate_info(&z),
        RateInfo {
            limit_per_minute: Some(700),
            remaining: Some(12),
            reset: Some(Duration::from_secs(30))
        }
    );
    let mut f = reqwest::header::HeaderMap::new();
    let now = SystemTime::now().duration_since(SystemTime::UNIX_EPOCH).unwrap().as_secs();
    f.insert("X-RateLimit-Limit", "100".parse().unwrap());
    f.insert("X-RateLimit-Remaining", "0".parse().unwrap());
    f.insert("X-RateLimit-Reset", (now + 40).to_string().parse().unwrap());
    let info = rate_info(&f);
    assert_eq!((info.limit_per_minute, info.remaining), (Some(100), Some(0)));
    let reset = info.reset.unwrap();
    assert!(reset > Duration::from_secs(30) && reset <= Duration::from_secs(40), "{reset:?}");
}

#[test]
fn bucket_follows_server_headers() {
    let b = TokenBucket::new(&Bucket { name: "default".into(), per_minute: 700, burst: 10 });
    assert_eq!(b.reserve(), Duration::ZERO);
    // No window holds more than the announced limit.
    b.observe(&RateInfo { limit_per_minute: Some(4), remaining: Some(5), reset: None });
    assert!((b.burst() - 4.0).abs() < 1e-9);
    // Window used up: nobody goes before the reset.
    b.observe(&RateInfo {
        limit_per_minute: None,
        remaining: Some(0),
        reset: Some(Duration::from_secs(30)),
    });
    assert!(b.reserve() > Duration::from_secs(20));
}

#[test]
fn remaining_caps_saved_tokens() {
    let b = TokenBucket::new(&Bucket { name: "default".into(), per_minute: 60, burst: 10 });
    b.observe(&RateInfo { limit_per_minute: None, remaining: Some(2), reset: None });
    assert_eq!(b.reserve(), Duration::ZERO);
    assert_eq!(b.reserve(), Duration::ZERO);
    // The third must wait for a refill (1 per second): certain to be positive.
    assert!(b.reserve() > Duration::ZERO);
}

#[tokio::test]
async fn urls_resolve_against_the_base() {
    let base = Url::parse("http://127.0.0.1:1/REST/2.0/").unwrap();
    let http = Http::new(HttpConfig::new(base, Auth::None)).unwrap();
    assert_eq!(
        http.url("tickets?page=2").unwrap().as_str(),
        "http://127.0.0.1:1/REST/2.0/tickets?page=2"
    );
    assert_eq!(http.url("/api/v2/users").unwrap().as_str(), "http://127.0.0.1:1/api/v2/users");
    assert_eq!(http.url("https://cdn.example/x").unwrap().as_str(), "https://cdn.example/x");
    assert!(matches!(http.url("ftp://x/y"), Err(HttpError::Config(_))));
    let no_default = HttpConfig {
        buckets: vec![],
        ..HttpConfig::new(Url::parse("http://a/").unwrap(), Auth::None)
    };
    assert!(matches!(Http::new(no_default), Err(HttpError::Config(_))));
}

#[tokio::test]
async fn digest_hashes_through_redirects_without_forwarding_credentials() {
    let (api, _cdn, seen) = two_origins().await;
    let http = client(&api, |c| c);
    let d = http.digest("default", "/attachments/token/abc").await.unwrap();
    assert_eq!((d.sha256, d.size), (sha_hex(FILE), FILE.len() as u64));
    assert_eq!(seen.api_with_auth.get(), 1, "the API host got the credentials");
    assert_eq!((seen.cdn_total.get(), seen.cdn_with_auth.get()), (1, 0));
}
