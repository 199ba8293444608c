//! Failures below HTTP, from a raw socket server on 127.0.0.1: truncated bodies, connections
//! closed without an answer, answers that never come.

use std::sync::Arc;
use std::time::Duration;

use reqwest::Url;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

use super::tests::{Hits, client, sha_hex};
use super::*;

/// What the raw server does with connection number n.
#[derive(Clone, Copy)]
enum Act {
    /// A complete 200 with this body.
    Full(&'static [u8]),
    /// A 200 announcing the whole body but sending half of it, then closing.
    Half(&'static [u8]),
    /// Read the request, close without a byte of answer.
    Close,
    /// Read the request, say nothing for this long, then close.
    Hang(Duration),
}

/// One connection per request (`Connection: close`), so connection n is attempt n.
async fn raw_server(act: impl Fn(usize) -> Act + Send + Sync + 'static) -> (Url, Hits) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = Url::parse(&format!("http://{}/", listener.local_addr().unwrap())).unwrap();
    let hits = Hits::default();
    let h = hits.clone();
    let act = Arc::new(act);
    tokio::spawn(async move {
        loop {
            let Ok((mut sock, _)) = listener.accept().await else { return };
            let what = act(h.next());
            tokio::spawn(async move {
                let mut buf = vec![0u8; 8192];
                let mut got = Vec::new();
                while !got.windows(4).any(|w| w == b"\r\n\r\n") {
                    match sock.read(&mut buf).await {
                        Ok(0) | Err(_) => return,
                        Ok(k) => got.extend_from_slice(&buf[..k]),
                    }
                }
                let (body, send) = match what {
                    Act::Full(b) => (b, b),
                    Act::Half(b) => (b, &b[..b.len() / 2]),
                    Act::Close => return,
                    Act::Hang(d) => {
                        tokio::time::sleep(d).await;
                        return;
                    }
                };
                let head = format!(
                    "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n\
                     Content-Type: application/octet-stream\r\n\r\n",
                    body.len()
                );
                let _ = sock.write_all(head.as_bytes()).await;
                let _ = sock.write_all(send).await;
                let _ = sock.shutdown().await;
            });
        }
    });
    (url, hits)
}

static BODY: &[u8] = b"0123456789abcdefghijklmnopqrstuvwxyz0123456789abcdefghijklmnopqrstuvwxyz";

#[tokio::test]
async fn truncated_body_is_retried() {
    let (base, hits) = raw_server(|n| if n < 1 { Act::Half(BODY) } else { Act::Full(BODY) }).await;
    let http = client(&base, |c| c);
    let r = http.send(Request::get("default", "/blob")).await.unwrap();
    assert_eq!(&r.body[..], BODY);
    assert_eq!(hits.get(), 2);

    let (base, hits) = raw_server(|n| if n < 2 { Act::Half(BODY) } else { Act::Full(BODY) }).await;
    let http = client(&base, |c| c);
    let dir = tempfile::tempdir().unwrap();
    let dest = dir.path().join("blob");
    let d = http.download("default", "/blob", &dest).await.unwrap();
    assert_eq!(d.size, BODY.len() as u64);
    assert_eq!(d.sha256, sha_hex(BODY));
    assert_eq!(std::fs::read(&dest).unwrap(), BODY, "file rewritten from scratch");
    assert_eq!(hits.get(), 3);
    assert_eq!(http.stats().retries, 2);
}

#[tokio::test]
async fn truncation_exhausting_retries_is_a_transport_error() {
    let (base, hits) = raw_server(|_| Act::Half(BODY)).await;
    let http = client(&base, |c| c.max_retries(1));
    let err = http.send(Request::get("default", "/blob")).await.unwrap_err();
    assert!(matches!(err, HttpError::Transport { .. }), "{err:?}");
    assert_eq!(hits.get(), 2);
}

#[tokio::test]
async fn reset_connections_are_retried_for_get() {
    let (base, hits) = raw_server(|n| if n < 2 { Act::Close } else { Act::Full(BODY) }).await;
    let http = client(&base, |c| c);
    let r = http.send(Request::get("default", "/x")).await.unwrap();
    assert_eq!(&r.body[..], BODY);
    assert_eq!(hits.get(), 3);
}

#[tokio::test]
async fn reset_post_is_retried_only_when_marked_safe() {
    let (base, hits) = raw_server(|n| if n < 2 { Act::Close } else { Act::Full(b"{}") }).await;
    let http = client(&base, |c| c);
    // The server may have acted on it: not repeated.
    let err = http
        .send(Request::post_json("default", "/x", serde_json::json!({"a": 1})))
        .await
        .unwrap_err();
    assert!(matches!(err, HttpError::Transport { .. }), "{err:?}");
    assert_eq!(hits.get(), 1);
    let r = http
        .send(Request::post_json("default", "/x", serde_json::json!({"a": 1})).retry_unsafe())
        .await;
    assert_eq!(r.unwrap().status, 200);
    assert_eq!(hits.get(), 3);
}

#[tokio::test]
async fn timeouts_are_retried() {
    let hang = Duration::from_secs(5);
    let (base, hits) =
        raw_server(move |n| if n < 1 { Act::Hang(hang) } else { Act::Full(BODY) }).await;
    let http = client(&base, |c| c.timeout(Duration::from_millis(300)));
    let r = http.send(Request::get("default", "/x")).await.unwrap();
    assert_eq!(&r.body[..], BODY);
    assert_eq!(hits.get(), 2);

    let (base, hits) =
        raw_server(move |n| if n < 1 { Act::Hang(hang) } else { Act::Full(BODY) }).await;
    let http = client(&base, |c| c.timeout(Duration::from_millis(300)));
    let dir = tempfile::tempdir().unwrap();
    let d = http.download("default", "/x", &dir.path().join("f")).await.unwrap();
    assert_eq!(d.sha256, sha_hex(BODY));
    assert_eq!(hits.get(), 2);
}

#[tokio::test]
async fn digest_retries_a_truncated_body_and_hashes_only_the_complete_one() {
    let (base, hits) = raw_server(|n| if n < 1 { Act::Half(BODY) } else { Act::Full(BODY) }).await;
    let http = client(&base, |c| c);
    let d = http.digest("default", "/blob").await.unwrap();
    assert_eq!((d.sha256, d.size), (sha_hex(BODY), BODY.len() as u64));
    assert_eq!(hits.get(), 2);
}
