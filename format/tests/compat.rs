//! The frozen v1 sample bundle (format/tests/assets/v1) still opens with today's reader: all three
//! verification tiers pass and every row of every table decodes into today's model.

use std::path::PathBuf;

use deskferry_format::{
    Attachment, BundleReader, Comment, CustomField, Group, Identities, KbArticle, KbCategory,
    KbSection, Organization, Record, SignerKey, Table, Ticket, Tombstone, User, VerifyOptions,
};

fn asset(p: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/assets/v1").join(p)
}

/// Decodes every row of one table (a decoding error fails the test) and counts them.
fn count<R: Record>(r: &BundleReader) -> u64 {
    let mut n = 0;
    for row in r.records::<R>().unwrap() {
        row.unwrap_or_else(|e| panic!("{}: {e}", R::TABLE));
        n += 1;
    }
    n
}

#[test]
fn frozen_v1_sample_opens_and_decodes_every_row() {
    let signer = SignerKey::from_file(&asset("keys/sign.pub")).unwrap();
    let ids = Identities::from_file(&asset("keys/identity.txt")).unwrap();
    let r = BundleReader::open(&asset("sample.dfb"), &signer, &ids, &VerifyOptions::default())
        .unwrap_or_else(|e| panic!("the v1 sample no longer opens: {e}"));
    // The content id is the SHA-256 of the bag's tag manifest: fixed forever for this file.
    assert_eq!(r.content_id(), "883169421aec1331cac5637ff07a4125ae664eabdc59e4dd70925662ad7ea8e6");
    assert_eq!(r.envelope().format_version, 1);
    let decoded = [
        (Table::Users, count::<User>(&r)),
        (Table::Organizations, count::<Organization>(&r)),
        (Table::Groups, count::<Group>(&r)),
        (Table::CustomFields, count::<CustomField>(&r)),
        (Table::Tickets, count::<Ticket>(&r)),
        (Table::Comments, count::<Comment>(&r)),
        (Table::Attachments, count::<Attachment>(&r)),
        (Table::KbCategories, count::<KbCategory>(&r)),
        (Table::KbSections, count::<KbSection>(&r)),
        (Table::KbArticles, count::<KbArticle>(&r)),
        (Table::Tombstones, count::<Tombstone>(&r)),
    ];
    for (table, rows) in decoded {
        assert!(rows > 0, "{table}: the sample has rows of every table");
        assert_eq!(rows, r.row_count(table), "{table}");
        assert_eq!(Some(&rows), r.envelope().row_counts.get(table.name()), "{table}");
    }
    // Written before `custom_fields.kind` existed: the part has no such column, and every row
    // reads with the kind empty (the loader derives it from the source platform's types).
    for f in r.records::<CustomField>().unwrap().map(Result::unwrap) {
        assert_eq!(f.kind, None, "{}", f.id);
    }
    for a in r.records::<Attachment>().unwrap().map(Result::unwrap) {
        if let Some(sha) = a.sha256.filter(|_| a.state == deskferry_format::AttachmentState::Stored)
        {
            // open_blob re-hashes while reading: a mismatch is an error at the end.
            let mut bytes = Vec::new();
            std::io::Read::read_to_end(&mut r.open_blob(&sha).unwrap(), &mut bytes)
                .unwrap_or_else(|e| panic!("attachment {}: {e}", a.id));
        }
    }
}
