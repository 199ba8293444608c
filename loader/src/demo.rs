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
    let mut s = Sampler::new(content_id, count);
    for id in eligible {
        s.offer(id);
    }
    let chosen = s.finish();
    eligible.iter().copied().filter(|id| chosen.iter().any(|c| c == id)).collect()
}

/// [`sample`] over ids offered one at a time: holds the `count` best ranked so far, never the
/// whole list (a large bundle's tickets are millions).
#[derive(Debug)]
pub struct Sampler {
    seed: [u8; 32],
    count: usize,
    offered: usize,
    /// (rank, offer order, id); a max-heap, so the worst kept is on top.
    kept: std::collections::BinaryHeap<([u8; 32], usize, String)>,
}

impl Sampler {
    /// A sample of `count` for the bundle of this content id.
    pub fn new(content_id: &str, count: usize) -> Sampler {
        Sampler { seed: seed(content_id), count, offered: 0, kept: Default::default() }
    }

    /// Considers one eligible id.
    pub fn offer(&mut self, id: &str) {
        let mut h = Sha256::new();
        h.update(self.seed);
        h.update(id.as_bytes());
        let rank: [u8; 32] = h.finalize().into();
        let order = self.offered;
        self.offered += 1;
        if self.kept.len() < self.count {
            self.kept.push((rank, order, id.to_string()));
        } else if self.kept.peek().is_some_and(|worst| (rank, order) < (worst.0, worst.1)) {
            self.kept.pop();
            self.kept.push((rank, order, id.to_string()));
        }
    }

    /// The chosen ids, in the order they were offered.
    pub fn finish(self) -> Vec<String> {
        let mut v: Vec<(usize, String)> =
            self.kept.into_iter().map(|(_, order, id)| (order, id)).collect();
        v.sort_unstable();
        v.into_iter().map(|(_, id)| id).collect()
    }
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
        // The sampler keeps only `count`, yet picks what ranking the whole list picks.
        let rank = |id: &str| {
            let mut h = Sha256::new();
            h.update(seed("aa"));
            h.update(id.as_bytes());
            <[u8; 32]>::from(h.finalize())
        };
        let mut whole = refs.clone();
        whole.sort_by_key(|id| rank(id));
        let mut best: Vec<&str> = whole[..20].to_vec();
        best.sort_by_key(|id| id.parse::<u32>().unwrap());
        assert_eq!(a, best);
        assert_eq!(parse_ids(" 3, 1,,3 ,x"), vec!["3", "1", "x"]);
    }
}
