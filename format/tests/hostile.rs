//! What verification promises beyond the hashes (issue 14): every row decoded and counted, page
//! and dictionary sizes capped, bundle.json's attachment totals and every blob accounted for,
//! permission bits as the writer's. Each bundle is signed honestly, so only the named defect is
//! there to find; the per-code catalogue lives with the broken-bundle generator.

mod support;

use std::path::PathBuf;

use deskferry_format::testing::{self, RawEntry, parts};
use deskferry_format::*;
use support::*;

fn find_part(e: &[RawEntry], table: &str) -> usize {
    find(e, &format!("data/tables/{table}/part-00000.parquet"))
}

/// Edits bundle.json as JSON.
fn edit_bundle_json(e: &mut [RawEntry], f: impl Fn(&mut serde_json::Value)) {
    let i = find(e, "/bundle.json");
    let mut v: serde_json::Value = serde_json::from_slice(&e[i].data).unwrap();
    f(&mut v);
    e[i].data = (serde_json::to_string_pretty(&v).unwrap() + "\n").into_bytes();
}

#[test]
fn every_row_is_decoded_and_counted_at_verification() {
    let k = keys();
    let dir = tempfile::tempdir().unwrap();
    let s = seal_sample(dir.path(), &k, "h-1", "h");
    let r =
        BundleReader::open(&s.bundle, &k.signer, &k.identities, &VerifyOptions::default()).unwrap();
    let all: u64 = Table::ALL.iter().map(|t| r.row_count(*t)).sum();
    assert_eq!(r.verify_stats().rows_decoded, all);
    assert!(r.verify_stats().decoded_bytes > 0);
}

#[test]
fn a_damaged_data_page_behind_an_intact_footer_is_b043() {
    let k = keys();
    let dir = tempfile::tempdir().unwrap();
    let s = seal_sample(dir.path(), &k, "h-1", "h");
    let p = rebuilt(dir.path(), &k, &s, "page", true, &|e| {
        let i = find_part(e, "kb_articles");
        parts::damage_data_page(&mut e[i].data, "body_html").unwrap();
    });
    let err = BundleReader::open(&p, &k.signer, &k.identities, &VerifyOptions::default())
        .err()
        .expect("refused");
    assert_eq!(err.code, ErrorCode::B043, "{err}");
    assert!(err.detail.contains("kb_articles") && err.detail.contains("body_html"), "{err}");
}

#[test]
fn a_row_hidden_from_the_footer_is_counted_when_decoded_b044() {
    let k = keys();
    let dir = tempfile::tempdir().unwrap();
    let s = seal_sample(dir.path(), &k, "h-1", "h");
    // The same bundle with one ticket more: its tickets part, footer edited to the old count.
    let mut w = BundleWriter::create(&dir.path().join("work-more"), meta("h-1")).unwrap();
    fill(&mut w);
    w.append(&ticket(11)).unwrap();
    let more = w.seal(&dir.path().join("more.dfb"), &k.recipients, &k.signing).unwrap();
    let plain = testing::parse_tar(&testing::decrypt_to_vec(&more.bundle, &k.identities).unwrap());
    let mut part = plain[find_part(&plain, "tickets")].data.clone();
    let rows = s.envelope.row_counts["tickets"] as i64;
    parts::set_footer_num_rows(&mut part, rows).unwrap();
    let p = rebuilt(dir.path(), &k, &s, "extra", true, &|e| {
        let i = find_part(e, "tickets");
        e[i].data = part.clone();
    });
    let err = BundleReader::open(&p, &k.signer, &k.identities, &VerifyOptions::default())
        .err()
        .expect("refused");
    assert_eq!(err.code, ErrorCode::B044, "{err}");
    assert!(err.detail.contains(&format!("{} rows decoded", rows + 1)), "{err}");
}

#[test]
fn a_dictionary_page_claiming_gigabytes_is_refused_before_decoding_b034() {
    let k = keys();
    let dir = tempfile::tempdir().unwrap();
    let s = seal_sample(dir.path(), &k, "h-1", "h");
    let tombs: Vec<Tombstone> = (0..3).map(tombstone).collect();
    let part =
        parts::tombstones_with_giant_dictionary("h-1", &tombs, b'a', 0x6161_6161 + 4).unwrap();
    assert!(part.len() < 64 << 10, "a small file: {} bytes", part.len());
    let p = rebuilt(dir.path(), &k, &s, "dict", true, &|e| {
        let i = find_part(e, "tombstones");
        e[i].data = part.clone();
    });
    let err = BundleReader::open(&p, &k.signer, &k.identities, &VerifyOptions::default())
        .err()
        .expect("refused");
    assert_eq!(err.code, ErrorCode::B034, "{err}");
    assert!(err.detail.contains("dictionary page decodes to 1633771877 bytes"), "{err}");
}

#[test]
fn attachment_totals_and_unreferenced_blobs_are_checked_b050_b051() {
    let k = keys();
    let dir = tempfile::tempdir().unwrap();
    let s = seal_sample(dir.path(), &k, "h-1", "h");
    let code = |p: PathBuf| code_of(&p, &k, &VerifyOptions::default());
    let bytes_off = rebuilt(dir.path(), &k, &s, "bytes", true, &|e| {
        edit_bundle_json(e, |v| {
            v["attachment_bytes"] = (v["attachment_bytes"].as_u64().unwrap() + 1).into()
        })
    });
    assert_eq!(code(bytes_off), ErrorCode::B050);
    let count_off = rebuilt(dir.path(), &k, &s, "count", true, &|e| {
        edit_bundle_json(e, |v| {
            v["attachment_blobs"] = (v["attachment_blobs"].as_u64().unwrap() - 1).into()
        })
    });
    assert_eq!(code(count_off), ErrorCode::B050);
    // A blob nobody refers to, with manifests and totals as an honest writer would have them.
    let extra = b"smuggled, referenced by no attachment row".to_vec();
    let sha = hex::encode(<sha2::Sha256 as sha2::Digest>::digest(&extra));
    let name = format!("h-1/data/blobs/sha256/{}/{sha}", &sha[..2]);
    let orphan = |fix_totals: bool| {
        let (extra, name) = (extra.clone(), name.clone());
        move |e: &mut Vec<RawEntry>| {
            let at = find(e, "/bag-info.txt");
            e.insert(at, RawEntry::file(name.clone(), extra.clone()));
            if fix_totals {
                edit_bundle_json(e, |v| {
                    v["attachment_blobs"] = (v["attachment_blobs"].as_u64().unwrap() + 1).into();
                    v["attachment_bytes"] =
                        (v["attachment_bytes"].as_u64().unwrap() + extra.len() as u64).into();
                });
            }
        }
    };
    assert_eq!(code(rebuilt(dir.path(), &k, &s, "orphan", true, &orphan(true))), ErrorCode::B051);
    assert_eq!(code(rebuilt(dir.path(), &k, &s, "orphan2", true, &orphan(false))), ErrorCode::B050);
}

#[test]
fn the_writer_leaves_out_blobs_no_row_refers_to() {
    let k = keys();
    let dir = tempfile::tempdir().unwrap();
    let mut w = BundleWriter::create(&dir.path().join("work"), meta("h-2")).unwrap();
    fill(&mut w);
    let stray = w.add_blob(&mut &b"downloaded, then its row was dropped"[..]).unwrap();
    let s = w.seal(&dir.path().join("h.dfb"), &k.recipients, &k.signing).unwrap();
    let r =
        BundleReader::open(&s.bundle, &k.signer, &k.identities, &VerifyOptions::default()).unwrap();
    assert!(!r.entries().iter().any(|e| e.path.ends_with(&stray.sha256)));
    assert_eq!(r.bundle_json().attachment_blobs, 3, "the three referenced blobs only");
}

#[test]
fn an_entry_with_other_permission_bits_than_the_writer_is_b038() {
    let k = keys();
    let dir = tempfile::tempdir().unwrap();
    let s = seal_sample(dir.path(), &k, "h-1", "h");
    let setuid = rebuilt(dir.path(), &k, &s, "setuid", false, &|e| {
        let i = e.iter().position(|x| x.name_str().contains("/data/blobs/")).unwrap();
        e[i].mode = 0o4755;
    });
    let err = BundleReader::open(&setuid, &k.signer, &k.identities, &VerifyOptions::default())
        .err()
        .expect("refused");
    assert_eq!(err.code, ErrorCode::B038, "{err}");
    assert!(err.detail.contains("4755"), "{err}");
    let exec = rebuilt(dir.path(), &k, &s, "exec", false, &|e| e[0].mode = 0o755);
    assert_eq!(code_of(&exec, &k, &VerifyOptions::default()), ErrorCode::B038);
    // Rebuilding with the writer's bits verifies: the helper itself is faithful.
    let same = rebuilt(dir.path(), &k, &s, "same", false, &|_| {});
    BundleReader::open(&same, &k.signer, &k.identities, &VerifyOptions::default()).unwrap();
}
