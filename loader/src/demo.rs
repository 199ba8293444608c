//! The demo sample: `count` tickets (default 20) chosen by a seed derived from the bundle's
//! content id, so the same bundle always gives the same sample; or the ids the user names.

use sha2::{Digest, Sha256};

/// Default number of demo tickets.
pub const DEFAULT_COUNT: usize = 20;

/// The seed of a bundle's sample.
pub fn seed(content_id: &str) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update(b"deskferry demo sample v1\0");
    h.update(content_id.as_bytes());
    h.finalize().into()
}

/// Picks `count` ids from `eligible` (already filtered): those whose SHA-256(seed ‖ id) is
/// smallest. Independent of the input order and of the other ids, so adding tickets to a bundle
/// moves the sample only where a new ticket ranks in. Result in the input's order.
pub fn sample<'a>(content_id: &str, eligible: &[&'a str], count: usize) -> Vec<&'a str> {
    let s = seed(content_id);
    let mut ranked: Vec<([u8; 32], usize)> = eligible
        .iter()
        .enumerate()
        .map(|(i, id)| {
            let mut h = Sha256::new();
            h.update(s);
            h.update(id.as_bytes());
            (h.finalize().into(), i)
        })
        .collect();
    ranked.sort();
    let mut chosen: Vec<usize> = ranked.into_iter().take(count).map(|(_, i)| i).collect();
    chosen.sort_unstable();
    chosen.into_iter().map(|i| eligible[i]).collect()
}

/// Parses `--ids a,b,c` (trimmed, empty parts dropped, duplicates removed, order kept).
pub fn parse_ids(s: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for p in s.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        if !out.iter().any(|x| x == p) {
            out.push(p.to_string());
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_content_id_same_sample_other_id_other_sample() {
        let ids: Vec<String> = (1..=500).map(|i| i.to_string()).collect();
        let refs: Vec<&str> = ids.iter().map(String::as_str).collect();
        let a = sample("aa", &refs, 20);
        assert_eq!(a.len(), 20);
        assert_eq!(a, sample("aa", &refs, 20));
        let mut rev = refs.clone();
        rev.reverse();
        let mut b = sample("aa", &rev, 20);
        b.reverse();
        assert_eq!(a, b, "input order does not matter");
        assert_ne!(a, sample("bb", &refs, 20));
        assert_eq!(sample("aa", &refs[..5], 20).len(), 5);
        assert_eq!(parse_ids(" 3, 1,,3 ,x"), vec!["3", "1", "x"]);
    }
}
