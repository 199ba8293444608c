//! Rough throughput check against the stock tools (ignored by default; not a timed assertion).
//! `cargo test -p deskferry-format --test perf_smoke -- --ignored --nocapture`

use std::process::Command;
use std::time::Instant;

use deskferry_format::*;

#[test]
#[ignore]
fn seal_and_verify_against_stock_tools() {
    let mb: usize =
        std::env::var("DESKFERRY_PERF_MB").ok().and_then(|v| v.parse().ok()).unwrap_or(512);
    let dir = tempfile::tempdir().unwrap();
    let keys = keygen(&dir.path().join("k")).unwrap();
    let rec = Recipients::from_file(&keys.recipient).unwrap();
    let sk = SigningKey::from_file(&keys.sign_key).unwrap();
    let meta = BundleMeta::new("perf", "dataset", "perf.example", chrono::Utc::now());
    let mut w = BundleWriter::create(&dir.path().join("w"), meta).unwrap();
    let chunk: Vec<u8> =
        (0..(16 << 20)).map(|i: usize| (i.wrapping_mul(2654435761) >> 13) as u8).collect();
    for i in 0..mb / 16 {
        let mut c = chunk.clone();
        c[0] = i as u8;
        c[1] = (i >> 8) as u8;
        let blob = w.add_blob(&mut c.as_slice()).unwrap();
        // Only blobs an attachment row names go into the bag.
        w.append(&Attachment {
            id: i.to_string(),
            ticket_id: Some("1".into()),
            comment_id: None,
            article_id: None,
            file_name: format!("chunk-{i}.bin"),
            content_type: None,
            size: Some(blob.size as i64),
            sha256: Some(blob.sha256),
            inline: false,
            state: AttachmentState::Stored,
            error: None,
            raw: "{}".into(),
        })
        .unwrap();
    }
    let staged = dir.path().join("w");
    // Staged blobs are flushed first so neither side pays for the other's write-back.
    assert!(Command::new("sync").status().unwrap().success());
    let t = Instant::now();
    let baseline = Command::new("sh")
        .arg("-c")
        .arg(format!("tar cf - -C '{}' blobs | age -r \"$(cat '{}')\" > '{d}/base.age' && sync '{d}/base.age'", staged.display(), keys.recipient.display(), d = dir.path().display()))
        .status()
        .unwrap();
    assert!(baseline.success());
    let base_seal = t.elapsed();
    std::fs::remove_file(dir.path().join("base.age")).unwrap();
    assert!(Command::new("sync").status().unwrap().success());
    let t = Instant::now();
    let s = w.seal(&dir.path().join("perf.dfb"), &rec, &sk).unwrap();
    let seal = t.elapsed();
    let t = Instant::now();
    let st = Command::new("sh")
        .arg("-c")
        .arg(format!(
            "age -d -i '{}' '{}' | sha256sum > /dev/null",
            keys.identity.display(),
            s.bundle.display()
        ))
        .status()
        .unwrap();
    assert!(st.success());
    let base_verify = t.elapsed();
    let signer = SignerKey::from_file(&keys.sign_pub).unwrap();
    let ids = Identities::from_file(&keys.identity).unwrap();
    let t = Instant::now();
    verify_quick(&s.bundle, &signer, &VerifyOptions::default()).unwrap();
    let quick = t.elapsed();
    let t = Instant::now();
    BundleReader::open(&s.bundle, &signer, &ids, &VerifyOptions::default()).unwrap();
    let full = t.elapsed();
    println!(
        "{mb} MiB: seal {seal:?} vs tar|age>f;sync f {base_seal:?} (ratio {:.2}); tier1 {quick:?}; open (tiers 1-3) {full:?} vs age -d|sha256sum {base_verify:?} (ratio {:.2}, tiers 2-3 only {:.2})",
        seal.as_secs_f64() / base_seal.as_secs_f64(),
        full.as_secs_f64() / base_verify.as_secs_f64(),
        (full - quick).as_secs_f64() / base_verify.as_secs_f64()
    );
}
