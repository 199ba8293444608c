//! Kayako Classic HTTP calls (and nothing else): every request goes to the API's one entry
//! point (`…/api/index.php`) with the controller path in `e` and the signature in the query
//! (`apikey`, a fresh random `salt`, `signature` = base64 of the salt's HMAC-SHA256 under the
//! secret key). The secret never leaves the process; a signature is good for its salt only,
//! yet sits in the query string, which the HTTP client keeps out of every message.
//!
//! Bucket: `default`. Classic documents no rate limit (the server's hardware and web front are
//! the limit); the default pace is gentle and a source file states the server's own.

use std::collections::BTreeMap;

use base64::Engine;
use rand::Rng;
use reqwest::Url;
use secrecy::{ExposeSecret, SecretString};
use sha2::{Digest, Sha256};

use crate::http::{Auth, Http, HttpConfig, HttpError, Request};

/// The one bucket.
pub const DEFAULT: &str = "default";
/// Requests a minute unless the source file says otherwise.
pub const DEFAULT_PER_MINUTE: u32 = 300;
/// Largest `count` of a ticket or article list and `maxitems` of the user filter.
pub const PAGE: usize = 1_000;

/// HMAC-SHA256 of `msg` under `key` (RFC 2104).
pub fn hmac_sha256(key: &[u8], msg: &[u8]) -> [u8; 32] {
    let mut k = [0u8; 64];
    if key.len() > 64 {
        k[..32].copy_from_slice(&Sha256::digest(key));
    } else {
        k[..key.len()].copy_from_slice(key);
    }
    let (mut ipad, mut opad) = ([0x36u8; 64], [0x5cu8; 64]);
    for i in 0..64 {
        ipad[i] ^= k[i];
        opad[i] ^= k[i];
    }
    let mut inner = Sha256::new();
    inner.update(ipad);
    inner.update(msg);
    let inner = inner.finalize();
    let mut outer = Sha256::new();
    outer.update(opad);
    outer.update(inner);
    let mut out = [0u8; 32];
    out.copy_from_slice(&outer.finalize());
    out
}

/// Classic's request signature: base64 of the salt's HMAC-SHA256 under the secret key.
pub fn signature(secret: &[u8], salt: &str) -> String {
    base64::engine::general_purpose::STANDARD.encode(hmac_sha256(secret, salt.as_bytes()))
}

/// The REST API of one Classic install.
#[derive(Debug)]
pub struct Client {
    http: Http,
    api_key: String,
    secret: SecretString,
}

impl Client {
    /// A client of the API at `url` (`https://host/api/index.php`) with this key and secret.
    pub fn new(
        url: Url,
        api_key: String,
        secret: SecretString,
        rates: &BTreeMap<String, u32>,
    ) -> Result<Client, HttpError> {
        let per_minute = rates.get(DEFAULT).copied().unwrap_or(DEFAULT_PER_MINUTE).max(1);
        let cfg = HttpConfig::new(url, Auth::None)
            .bucket(DEFAULT, per_minute, (per_minute / 60).clamp(2, 10))
            .max_in_flight(8);
        Ok(Client { http: Http::new(cfg)?, api_key, secret })
    }

    /// The HTTP client (statistics).
    pub fn http(&self) -> &Http {
        &self.http
    }

    /// The signed URL of controller path `e` (`/Tickets/Ticket/ListAll/…`).
    pub fn signed(&self, e: &str) -> Result<String, HttpError> {
        let salt: u64 = rand::thread_rng().gen_range(1_000_000_000..u64::MAX / 2);
        let salt = salt.to_string();
        let sig = signature(self.secret.expose_secret().as_bytes(), &salt);
        let mut url = self.http.base_url().clone();
        url.query_pairs_mut()
            .append_pair("e", e)
            .append_pair("apikey", &self.api_key)
            .append_pair("salt", &salt)
            .append_pair("signature", &sig);
        Ok(url.to_string())
    }

    /// `GET` of controller path `e`: the answer's text (XML, or whatever the server sent).
    pub async fn get(&self, e: &str) -> Result<String, HttpError> {
        // Every attempt is signed anew: the client rebuilds nothing, so one salt serves the
        // retries of one request (Classic does not remember salts).
        let r = self.http.send(Request::get(DEFAULT, &self.signed(e)?)).await?;
        Ok(String::from_utf8_lossy(&r.body).into_owned())
    }
}
