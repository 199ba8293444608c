//! Rows alike but for their record, grouped with counts and a few examples: how the report
//! shows thousands of like rows (a target's limit costing every note the same thing) in a line.

use std::collections::HashMap;

/// Examples kept for each group of like rows.
pub const EXAMPLES: usize = 3;

/// Rows alike but for their record: same kind, same words once numbers are set aside
/// ("a file of 31 MB" and "a file of 27 MB" are one kind of limit).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Group {
    /// What the rows are (an entity, a check).
    pub kind: String,
    /// The first row's words, shown as they are.
    pub words: String,
    /// Rows in the group.
    pub count: u64,
    /// The first few rows' records.
    pub examples: Vec<String>,
}

/// The words of a row with every run of digits replaced, for grouping.
pub fn shape(words: &str) -> String {
    let mut o = String::with_capacity(words.len());
    let mut digits = false;
    for c in words.chars() {
        if c.is_ascii_digit() {
            if !digits {
                o.push('#');
            }
            digits = true;
        } else {
            digits = false;
            o.push(c);
        }
    }
    o
}

/// Groups rows as they come, holding one entry per kind of row, never the rows.
#[derive(Debug, Default)]
pub struct Grouper {
    by: HashMap<(String, String), Group>,
}

impl Grouper {
    /// Counts one row (kind, words, the record it is about).
    pub fn add(&mut self, kind: String, words: &str, example: impl FnOnce() -> String) {
        let g = self.by.entry((kind.clone(), shape(words))).or_insert_with(|| Group {
            kind,
            words: words.to_string(),
            count: 0,
            examples: Vec::new(),
        });
        g.count += 1;
        if g.examples.len() < EXAMPLES {
            g.examples.push(example());
        }
    }

    /// The groups, largest first.
    pub fn finish(self) -> Vec<Group> {
        sorted(self.by.into_values().collect())
    }

    /// The groups so far, largest first.
    pub fn snapshot(&self) -> Vec<Group> {
        sorted(self.by.values().cloned().collect())
    }
}

fn sorted(mut v: Vec<Group>) -> Vec<Group> {
    v.sort_by(|a, b| {
        b.count.cmp(&a.count).then_with(|| a.kind.cmp(&b.kind)).then(a.words.cmp(&b.words))
    });
    v
}

/// Groups `rows` (kind, words, example), largest first.
pub fn groups<'a>(rows: impl Iterator<Item = (String, &'a str, String)>) -> Vec<Group> {
    let mut g = Grouper::default();
    for (kind, words, example) in rows {
        g.add(kind, words, || example);
    }
    g.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_differing_only_in_numbers_are_one_group_with_a_few_examples() {
        let rows = (0..10).map(|i| {
            (
                "comments".to_string(),
                if i % 2 == 0 { "a file of 31 MB" } else { "a file of 7 MB" },
                format!("c{i}"),
            )
        });
        let g = groups(rows.chain([("comments".to_string(), "no author", "c99".to_string())]));
        assert_eq!(g.len(), 2);
        assert_eq!((g[0].count, g[0].words.as_str()), (10, "a file of 31 MB"));
        assert_eq!(g[0].examples, ["c0", "c1", "c2"]);
        assert_eq!((g[1].count, g[1].examples.len()), (1, 1));
    }
}
