//! Writer → sealed bundle → reader, with real keys, the stock `age` and `minisign` tools, and a
//! few tampered bundles (the full per-code suite lives with the broken-bundle generator).

mod support;

use std::fs;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::Command;

use age::secrecy::SecretString;
use deskferry_format::*;
use sha2::{Digest, Sha256};
use support::*;

fn decrypt_all(bundle: &Path, identity: &Path) -> Vec<u8> {
    let ids = age::IdentityFile::from_file(identity.display().to_string())
        .unwrap()
        .into_identities()
        .unwrap();
    let d = age::Decryptor::new(fs::File::open(bundle).unwrap()).unwrap();
    let mut r = d.decrypt(ids.iter().map(|i| i.as_ref() as &dyn age::Identity)).unwrap();
    let mut out = Vec::new();
    r.read_to_end(&mut out).unwrap();
    out
}

fn sorted_ids(mut ids: Vec<String>) -> Vec<String> {
    ids.sort_by(|a, b| id_order(a, b));
    ids
}

#[test]
fn sealed_bundle_verifies_and_reads_back_every_row_and_blob() {
    let k = keys();
    let dir = tempfile::tempdir().unwrap();
    let sealed = seal_sample(dir.path(), &k, "b-1", "one");
    assert!(!dir.path().join("work-one").exists(), "work directory removed");
    assert!(sealed.signature.exists() && sealed.envelope_path.exists());
    assert_eq!(sealed.envelope.row_counts.get("users"), Some(&20));

    let r = BundleReader::open(&sealed.bundle, &k.signer, &k.identities, &VerifyOptions::default())
        .unwrap();
    assert_eq!(r.content_id(), sealed.content_id);
    let users: Vec<User> = r.records::<User>().unwrap().collect::<Result<_, _>>().unwrap();
    let want: Vec<User> = {
        let mut v: Vec<User> = (0..20).map(user).collect();
        v.sort_by(|a, b| id_order(&a.id, &b.id));
        v
    };
    assert_eq!(users, want);
    let tickets: Vec<Ticket> = r.records::<Ticket>().unwrap().collect::<Result<_, _>>().unwrap();
    assert_eq!(
        tickets.iter().map(|t| t.id.clone()).collect::<Vec<_>>(),
        ["1", "2", "3", "4", "5", "10", "100"]
    );
    assert_eq!(tickets[0], ticket(1));
    let kb_rows: Vec<KbArticle> =
        r.records::<KbArticle>().unwrap().collect::<Result<_, _>>().unwrap();
    assert_eq!(kb_rows, (0..3).map(|i| KbArticle(kb(i))).collect::<Vec<_>>());
    let tomb: Vec<Tombstone> = r.records::<Tombstone>().unwrap().collect::<Result<_, _>>().unwrap();
    assert_eq!(tomb, (0..3).map(tombstone).collect::<Vec<_>>());
    assert_eq!(r.row_count(Table::Attachments), 5);
    assert_eq!(r.bundle_json().attachment_blobs, 3);
    for i in [1u32, 2, 3] {
        let bytes = blob_bytes(i);
        let sha = hex::encode(Sha256::digest(&bytes));
        let mut got = Vec::new();
        r.open_blob(&sha).unwrap().read_to_end(&mut got).unwrap();
        assert_eq!(got, bytes);
    }
    let blob_entries = r.entries().iter().filter(|e| e.path.starts_with("data/blobs/")).count();
    assert_eq!(blob_entries, 3, "the blob added twice is stored once");
    let paths: Vec<&str> = r.entries().iter().map(|e| e.path.as_str()).collect();
    assert_eq!(paths[..2], ["bagit.txt", "bundle.json"]);
    assert_eq!(
        paths[paths.len() - 3..],
        ["bag-info.txt", "manifest-sha256.txt", "tagmanifest-sha256.txt"]
    );
    let batches: Vec<_> = r.batches(Table::Comments).unwrap().collect::<Result<_, _>>().unwrap();
    assert_eq!(batches.iter().map(|b| b.num_rows()).sum::<usize>(), 7);
    assert_eq!(batches[0].schema().fields(), Table::Comments.schema().fields());
}

#[test]
fn verification_reports_how_far_it_is_in_each_stage_up_to_the_whole() {
    use deskferry_format::{Progress, Stage};
    use std::sync::{Arc, Mutex};
    let k = keys();
    let dir = tempfile::tempdir().unwrap();
    let sealed = seal_sample(dir.path(), &k, "b-1", "one");
    let seen: Arc<Mutex<Vec<(Stage, u64, u64)>>> = Arc::default();
    let log = seen.clone();
    let opts = VerifyOptions {
        progress: Progress::to(move |s, done, total| log.lock().unwrap().push((s, done, total))),
        ..VerifyOptions::default()
    };
    BundleReader::open(&sealed.bundle, &k.signer, &k.identities, &opts).unwrap();
    let seen = seen.lock().unwrap();
    let file = fs::metadata(&sealed.bundle).unwrap().len();
    let rows: u64 = sealed.envelope.row_counts.values().sum();
    for (stage, whole) in [
        (Stage::Signature, file),
        (Stage::Decrypt, sealed.envelope.plaintext_size),
        (Stage::Rows, rows),
    ] {
        let of: Vec<_> = seen.iter().filter(|e| e.0 == stage).collect();
        assert!(!of.is_empty(), "{stage:?} reported");
        assert!(of.iter().all(|e| e.2 == whole && e.1 <= whole), "{stage:?}: {of:?}");
        assert!(of.windows(2).all(|w| w[0].1 <= w[1].1), "{stage:?} only grows: {of:?}");
        assert_eq!(of.last().unwrap().1, whole, "{stage:?} ends at the whole");
    }
    // In order: the signature, then decryption, then the rows.
    let order: Vec<Stage> = seen.iter().map(|e| e.0).fold(Vec::new(), |mut v, s| {
        if v.last() != Some(&s) {
            v.push(s);
        }
        v
    });
    assert_eq!(order, [Stage::Signature, Stage::Decrypt, Stage::Rows]);
}

#[test]
fn same_input_twice_gives_same_plaintext_and_content_id() {
    let k = keys();
    let dir = tempfile::tempdir().unwrap();
    let a = seal_sample(dir.path(), &k, "same", "a");
    let b = seal_sample(dir.path(), &k, "same", "b");
    assert_eq!(a.content_id, b.content_id);
    assert_ne!(fs::read(&a.bundle).unwrap(), fs::read(&b.bundle).unwrap(), "ciphertext differs");
    let pa = decrypt_all(&a.bundle, &k.paths.identity);
    let pb = decrypt_all(&b.bundle, &k.paths.identity);
    assert_eq!(pa.len() as u64, a.envelope.plaintext_size);
    assert!(pa == pb, "plaintext tar differs");
}

#[test]
fn stock_age_tar_sha256sum_and_minisign_accept_the_bundle() {
    let k = keys();
    let dir = tempfile::tempdir().unwrap();
    let s = seal_sample(dir.path(), &k, "stock-1", "stock");
    let out = dir.path().join("x");
    fs::create_dir(&out).unwrap();
    let cmd = format!(
        "age -d -i '{}' '{}' | tar -x -C '{}' && cd '{}/stock-1' && sha256sum --quiet -c manifest-sha256.txt && sha256sum --quiet -c tagmanifest-sha256.txt",
        k.paths.identity.display(),
        s.bundle.display(),
        out.display(),
        out.display()
    );
    let st = Command::new("sh").arg("-c").arg(&cmd).status().unwrap();
    assert!(st.success(), "{cmd}");
    let tm = fs::read(out.join("stock-1/tagmanifest-sha256.txt")).unwrap();
    assert_eq!(hex::encode(Sha256::digest(&tm)), s.content_id);
    let bagit = fs::read_to_string(out.join("stock-1/bagit.txt")).unwrap();
    assert_eq!(bagit, "BagIt-Version: 1.0\nTag-File-Character-Encoding: UTF-8\n");
    let o = Command::new("minisign")
        .arg("-Vm")
        .arg(&s.bundle)
        .arg("-P")
        .arg(k.signer.to_base64())
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let text = String::from_utf8_lossy(&o.stdout).to_string() + &String::from_utf8_lossy(&o.stderr);
    assert!(text.contains(&s.content_id), "trusted comment names the content id: {text}");
    // minisign with another key refuses.
    let other = keys();
    let o = Command::new("minisign")
        .arg("-Vm")
        .arg(&s.bundle)
        .arg("-P")
        .arg(other.signer.to_base64())
        .output()
        .unwrap();
    assert!(!o.status.success());
}

#[test]
fn external_sort_with_tiny_budget_and_duplicates() {
    let k = keys();
    let dir = tempfile::tempdir().unwrap();
    let mut w = BundleWriter::create(&dir.path().join("w"), meta("sort"))
        .unwrap()
        .with_memory_budget(8 * 1024);
    // 1500 ids appended in a scrambled order, every tenth id appended again later with a new name.
    let n = 1500u32;
    for j in 0..n {
        let i = (j * 7919) % n;
        w.append(&user(i)).unwrap();
    }
    for i in (0..n).step_by(10) {
        let mut u = user(i);
        u.name = Some(format!("second {i}"));
        w.append(&u).unwrap();
    }
    let runs = fs::read_dir(dir.path().join("w/runs/users")).unwrap().count();
    assert!(runs > 40, "expected many spilled runs, got {runs}");
    let s = w.seal(&dir.path().join("s.dfb"), &k.recipients, &k.signing).unwrap();
    let r =
        BundleReader::open(&s.bundle, &k.signer, &k.identities, &VerifyOptions::default()).unwrap();
    let users: Vec<User> = r.records::<User>().unwrap().collect::<Result<_, _>>().unwrap();
    let ids: Vec<String> = users.iter().map(|u| u.id.clone()).collect();
    assert_eq!(ids, sorted_ids((0..n).map(|i| i.to_string()).collect()));
    for u in &users {
        let i: u32 = u.id.parse().unwrap();
        let want = if i.is_multiple_of(10) { format!("second {i}") } else { user(i).name.unwrap() };
        assert_eq!(u.name.as_deref(), Some(want.as_str()));
    }
}

const PASSPHRASE: &str = "correct horse";

/// A one-row bundle encrypted to [`PASSPHRASE`] (scrypt), sealed in `dir`.
fn passphrase_bundle(dir: &Path, k: &Keys, id: &str) -> SealedBundle {
    let mut w = BundleWriter::create(&dir.join("w"), meta(id)).unwrap();
    w.append(&group(1)).unwrap();
    let rec = Recipients::passphrase(SecretString::from(PASSPHRASE.to_string()));
    w.seal(&dir.join("p.dfb"), &rec, &k.signing).unwrap()
}

#[test]
fn passphrase_bundle_round_trips() {
    let k = keys();
    let dir = tempfile::tempdir().unwrap();
    let s = passphrase_bundle(dir.path(), &k, "pass");
    let ids = Identities::passphrase(SecretString::from(PASSPHRASE.to_string()));
    let r = BundleReader::open(&s.bundle, &k.signer, &ids, &VerifyOptions::default()).unwrap();
    assert_eq!(r.records::<Group>().unwrap().next().unwrap().unwrap(), group(1));
    let wrong = Identities::passphrase(SecretString::from("wrong".to_string()));
    let e =
        BundleReader::open(&s.bundle, &k.signer, &wrong, &VerifyOptions::default()).err().unwrap();
    assert_eq!(e.code, ErrorCode::B020);
}

/// A hostile header asking for an enormous scrypt work factor is refused before any scrypt work
/// is done (B034), even when the bundle is otherwise correctly signed.
#[test]
fn excessive_scrypt_work_factor_is_refused() {
    let k = keys();
    let dir = tempfile::tempdir().unwrap();
    let s = passphrase_bundle(dir.path(), &k, "scrypt");
    // The stanza line is `-> scrypt <salt> <log2 N>`; claim 2^40 instead.
    let mut c = std::fs::read(&s.bundle).unwrap();
    let line = c.windows(10).position(|x| x == b"-> scrypt ").unwrap();
    let end = line + c[line..].iter().position(|&b| b == b'\n').unwrap();
    let space = line + c[line..end].iter().rposition(|&b| b == b' ').unwrap();
    c.splice(space + 1..end, b"40".iter().copied());
    std::fs::write(&s.bundle, &c).unwrap();
    deskferry_format::writer::resign(&s.bundle, s.envelope.clone(), &k.signing).unwrap();
    let ids = Identities::passphrase(SecretString::from(PASSPHRASE.to_string()));
    // Were the limit missing, this would run scrypt at 2^40 (hours) instead of failing at once.
    let e =
        BundleReader::open(&s.bundle, &k.signer, &ids, &VerifyOptions::default()).err().unwrap();
    assert_eq!(e.code, ErrorCode::B034, "{e}");
}

#[test]
fn ssh_and_several_recipients_round_trip() {
    let k = keys();
    let dir = tempfile::tempdir().unwrap();
    let key = dir.path().join("id_ed25519");
    let rsa = dir.path().join("id_rsa");
    for (path, kind, bits) in [(&key, "ed25519", "256"), (&rsa, "rsa", "2048")] {
        let st = Command::new("ssh-keygen")
            .args(["-q", "-t", kind, "-b", bits, "-N", "", "-f"])
            .arg(path)
            .status()
            .unwrap();
        assert!(st.success());
    }
    let rec = Recipients::from_files(&[
        k.paths.recipient.clone(),
        PathBuf::from(format!("{}.pub", key.display())),
        PathBuf::from(format!("{}.pub", rsa.display())),
    ])
    .unwrap();
    assert_eq!(rec.len(), 3);
    let mut w = BundleWriter::create(&dir.path().join("w"), meta("ssh")).unwrap();
    w.append(&group(1)).unwrap();
    let s = w.seal(&dir.path().join("s.dfb"), &rec, &k.signing).unwrap();
    for private in [&key, &rsa] {
        let ssh_ids = Identities::from_file(private).unwrap();
        BundleReader::open(&s.bundle, &k.signer, &ssh_ids, &VerifyOptions::default()).unwrap();
    }
    BundleReader::open(&s.bundle, &k.signer, &k.identities, &VerifyOptions::default()).unwrap();
}

#[test]
fn refuses_to_overwrite_and_keys_are_private() {
    use std::os::unix::fs::PermissionsExt;
    let k = keys();
    for p in [&k.paths.identity, &k.paths.sign_key] {
        assert_eq!(fs::metadata(p).unwrap().permissions().mode() & 0o777, 0o600);
    }
    let id = fs::read_to_string(&k.paths.identity).unwrap();
    let rec = fs::read_to_string(&k.paths.recipient).unwrap();
    assert!(id.contains(&format!("# public key: {}", rec.trim())));
    assert!(keygen(k.paths.identity.parent().unwrap()).is_err());
    let dir = tempfile::tempdir().unwrap();
    let s = seal_sample(dir.path(), &k, "ow", "ow");
    let w = BundleWriter::create(&dir.path().join("w2"), meta("ow")).unwrap();
    assert!(matches!(w.seal(&s.bundle, &k.recipients, &k.signing), Err(FormatError::Exists(_))));
}

#[test]
fn tampered_bundles_get_their_codes() {
    let k = keys();
    let dir = tempfile::tempdir().unwrap();
    let s = seal_sample(dir.path(), &k, "t-1", "t");
    let opts = VerifyOptions::default();
    let copy = |name: &str| -> PathBuf {
        let p = dir.path().join(format!("{name}.dfb"));
        fs::copy(&s.bundle, &p).unwrap();
        fs::copy(&s.signature, signature_path(&p)).unwrap();
        fs::copy(&s.envelope_path, envelope_path(&p)).unwrap();
        p
    };
    // B001: no signature.
    let p = copy("nosig");
    fs::remove_file(signature_path(&p)).unwrap();
    assert_eq!(code_of(&p, &k, &opts), ErrorCode::B001);
    // B002: ciphertext byte flipped.
    let p = copy("flip");
    let mut b = fs::read(&p).unwrap();
    let mid = b.len() / 2;
    b[mid] ^= 1;
    fs::write(&p, &b).unwrap();
    assert_eq!(code_of(&p, &k, &opts), ErrorCode::B002);
    // B003: signed by another key.
    let other = keys();
    assert_eq!(
        BundleReader::open(&s.bundle, &other.signer, &k.identities, &opts).err().unwrap().code,
        ErrorCode::B003
    );
    // B006: envelope edited.
    let p = copy("env");
    let text =
        fs::read_to_string(envelope_path(&p)).unwrap().replace("acme.example", "evil.example");
    fs::write(envelope_path(&p), text).unwrap();
    assert_eq!(code_of(&p, &k, &opts), ErrorCode::B006);
    // B009: expired, unless allowed.
    let late =
        VerifyOptions { now: ts(4_100_000_000, 0), allow_expired: false, ..Default::default() };
    assert_eq!(code_of(&s.bundle, &k, &late), ErrorCode::B009);
    BundleReader::open(
        &s.bundle,
        &k.signer,
        &k.identities,
        &VerifyOptions { allow_expired: true, ..late.clone() },
    )
    .unwrap();
    // B020: wrong key.
    assert_eq!(
        BundleReader::open(&s.bundle, &k.signer, &other.identities, &opts).err().unwrap().code,
        ErrorCode::B020
    );
    // Re-signed after damage: the code names the damage, not the signature.
    let resigned = |name: &str, edit: &dyn Fn(&mut Vec<u8>)| -> PathBuf {
        let p = copy(name);
        let mut b = fs::read(&p).unwrap();
        edit(&mut b);
        fs::write(&p, &b).unwrap();
        resign(&p, s.envelope.clone(), &k.signing).unwrap();
        p
    };
    let len = fs::metadata(&s.bundle).unwrap().len() as usize;
    assert_eq!(code_of(&resigned("trunc", &|b| b.truncate(len - 100)), &k, &opts), ErrorCode::B023);
    assert_eq!(
        code_of(&resigned("trail", &|b| b.extend_from_slice(b"garbage")), &k, &opts),
        ErrorCode::B024
    );
    assert_eq!(
        code_of(&resigned("last", &|b| *b.last_mut().unwrap() ^= 0x80), &k, &opts),
        ErrorCode::B022
    );
    assert_eq!(code_of(&resigned("first", &|b| b[len - 2000] ^= 0x01), &k, &opts), ErrorCode::B022);
    assert_eq!(code_of(&resigned("hdr", &|b| b[3] ^= 0x01), &k, &opts), ErrorCode::B021);
    assert_eq!(
        code_of(
            &resigned("mac", &|b| {
                let at = b.windows(5).position(|w| w == b"\n--- ").unwrap() + 8;
                b[at] = if b[at] == b'A' { b'B' } else { b'A' };
            }),
            &k,
            &opts
        ),
        ErrorCode::B021
    );
    // B042: the envelope's content id differs from the bag's.
    let p = copy("cid");
    let mut env = s.envelope.clone();
    env.content_id = "0".repeat(64);
    resign(&p, env, &k.signing).unwrap();
    assert_eq!(code_of(&p, &k, &opts), ErrorCode::B042);
    // B044: envelope row counts differ from bundle.json.
    let p = copy("rows");
    let mut env = s.envelope.clone();
    env.row_counts.insert("users".into(), 21);
    resign(&p, env, &k.signing).unwrap();
    assert_eq!(code_of(&p, &k, &opts), ErrorCode::B044);
    // B048: bundle.json differs from the envelope.
    let p = copy("inner");
    let mut env = s.envelope.clone();
    env.source_account = "other.example".into();
    resign(&p, env, &k.signing).unwrap();
    assert_eq!(code_of(&p, &k, &opts), ErrorCode::B048);
}

#[test]
fn structurally_broken_bundles_get_their_codes() {
    use testing::RawEntry;
    let k = keys();
    let dir = tempfile::tempdir().unwrap();
    let s = seal_sample(dir.path(), &k, "s-1", "s");
    let other = seal_sample(dir.path(), &k, "s-2", "s2");
    let opts = VerifyOptions::default();
    let d = dir.path();
    let code = |p: PathBuf| code_of(&p, &k, &opts);

    // Rebuilding without changes verifies (the helpers are faithful).
    BundleReader::open(&rebuilt(d, &k, &s, "same", true, &|_| {}), &k.signer, &k.identities, &opts)
        .unwrap();

    let mut sym = RawEntry::file("s-1/data/link", Vec::new());
    sym.kind = b'2';
    sym.link = b"/etc/passwd".to_vec();
    assert_eq!(
        code(rebuilt(d, &k, &s, "sym", false, &|e| e.insert(2, sym.clone()))),
        ErrorCode::B026
    );
    assert_eq!(
        code(rebuilt(d, &k, &s, "dots", false, &|e| e
            .insert(2, RawEntry::file("s-1/data/../../x", "x")))),
        ErrorCode::B027
    );
    assert_eq!(
        code(rebuilt(d, &k, &s, "abs", false, &|e| e.insert(2, RawEntry::file("/etc/x", "x")))),
        ErrorCode::B028
    );
    assert_eq!(
        code(rebuilt(d, &k, &s, "dup", false, &|e| {
            let x = e[2].clone();
            e.insert(3, x)
        })),
        ErrorCode::B029
    );
    assert_eq!(
        code(rebuilt(d, &k, &s, "missing", false, &|e| {
            e.remove(find(e, "part-00000.parquet"));
        })),
        ErrorCode::B030
    );
    assert_eq!(
        code(rebuilt(d, &k, &s, "extra", false, &|e| e
            .insert(2, RawEntry::file("s-1/data/extra.txt", "x")))),
        ErrorCode::B031
    );
    assert_eq!(
        code(rebuilt(d, &k, &s, "bagit", false, &|e| e[0].data =
            b"BagIt-Version: 0.97\nTag-File-Character-Encoding: UTF-8\n".to_vec())),
        ErrorCode::B032
    );
    assert_eq!(code(rebuilt(d, &k, &s, "order", false, &|e| e.swap(1, 2))), ErrorCode::B037);
    assert_eq!(
        code(rebuilt(d, &k, &s, "oxum", false, &|e| {
            let i = find(e, "bag-info.txt");
            let t = String::from_utf8(e[i].data.clone())
                .unwrap()
                .replace("Payload-Oxum: ", "Payload-Oxum: 1");
            e[i].data = t.into_bytes();
        })),
        ErrorCode::B033
    );
    // Corrupted before encryption, manifests left alone.
    assert_eq!(
        code(rebuilt(d, &k, &s, "rot", false, &|e| {
            let i = find(e, "users/part-00000.parquet");
            e[i].data[100] ^= 1;
        })),
        ErrorCode::B040
    );
    assert_eq!(
        code(rebuilt(d, &k, &s, "tag", false, &|e| {
            let i = find(e, "bag-info.txt");
            e[i].data.extend_from_slice(b"X: y\n");
        })),
        ErrorCode::B041
    );
    // Consistent manifests, wrong content.
    assert_eq!(
        code(rebuilt(d, &k, &s, "pq", true, &|e| {
            let i = find(e, "users/part-00000.parquet");
            e[i].data = b"not parquet at all".to_vec();
        })),
        ErrorCode::B043
    );
    assert_eq!(
        code(rebuilt(d, &k, &s, "blobname", true, &|e| {
            let i = e.iter().position(|x| x.name_str().contains("/data/blobs/")).unwrap();
            e[i].data.push(0);
        })),
        ErrorCode::B045
    );
    assert_eq!(
        code(rebuilt(d, &k, &s, "noblob", true, &|e| {
            let i = e.iter().position(|x| x.name_str().contains("/data/blobs/")).unwrap();
            e.remove(i);
        })),
        ErrorCode::B046
    );
    let other_plain =
        testing::parse_tar(&testing::decrypt_to_vec(&other.bundle, &k.identities).unwrap());
    let foreign = other_plain[find(&other_plain, "users/part-00000.parquet")].data.clone();
    assert_eq!(
        code(rebuilt(d, &k, &s, "swap", true, &|e| {
            let i = find(e, "users/part-00000.parquet");
            e[i].data = foreign.clone();
        })),
        ErrorCode::B047
    );
    assert_eq!(
        code(rebuilt_raw(d, &k, &s, "cksum", false, &|_| {}, &|t| t[0] ^= 0x20)),
        ErrorCode::B025
    );
    assert_eq!(
        code(rebuilt_raw(d, &k, &s, "garbage", false, &|_| {}, &|t| t
            .extend_from_slice(&[1u8; 512]))),
        ErrorCode::B025
    );
    assert_eq!(
        code(rebuilt(d, &k, &s, "bj", false, &|e| e[1].data = b"{".to_vec())),
        ErrorCode::B036
    );
    assert_eq!(
        code(rebuilt(d, &k, &s, "v2", false, &|e| {
            let t = String::from_utf8(e[1].data.clone()).unwrap().replacen(
                "\"format_version\": 1",
                "\"format_version\": 2",
                1,
            );
            e[1].data = t.into_bytes();
        })),
        ErrorCode::B010
    );
    assert_eq!(
        code(rebuilt(d, &k, &s, "mf", false, &|e| {
            let i = find(e, "/manifest-sha256.txt");
            e[i].data.splice(0..1, []);
        })),
        ErrorCode::B035
    );
    assert_eq!(
        code(rebuilt(d, &k, &s, "unknown", true, &|e| e
            .insert(2, RawEntry::file("s-1/data/tables/secrets/part-00000.parquet", "x")))),
        ErrorCode::B049
    );
}

#[test]
fn stored_attachment_without_blob_is_refused_at_seal() {
    let k = keys();
    let dir = tempfile::tempdir().unwrap();
    let mut w = BundleWriter::create(&dir.path().join("w"), meta("noblob")).unwrap();
    w.append(&attachment(1, Some("cd".repeat(32)), AttachmentState::Stored)).unwrap();
    let e = w.seal(&dir.path().join("n.dfb"), &k.recipients, &k.signing).err().unwrap();
    assert!(matches!(e, FormatError::Record { ref id, .. } if id == "a1"), "{e}");
    assert!(!dir.path().join("n.dfb").exists());
}

#[test]
fn empty_bundle_and_longest_id_round_trip() {
    let k = keys();
    let dir = tempfile::tempdir().unwrap();
    let w = BundleWriter::create(&dir.path().join("w"), meta("empty")).unwrap();
    let s = w.seal(&dir.path().join("e.dfb"), &k.recipients, &k.signing).unwrap();
    let r =
        BundleReader::open(&s.bundle, &k.signer, &k.identities, &VerifyOptions::default()).unwrap();
    assert_eq!(r.row_count(Table::Tickets), 0);
    assert_eq!(r.records::<Ticket>().unwrap().count(), 0);
    assert!(r.envelope().row_counts.is_empty());

    let long = "L".repeat(100);
    let mut w = BundleWriter::create(&dir.path().join("w2"), meta(&long)).unwrap();
    fill(&mut w);
    let s = w.seal(&dir.path().join("long.dfb"), &k.recipients, &k.signing).unwrap();
    let r =
        BundleReader::open(&s.bundle, &k.signer, &k.identities, &VerifyOptions::default()).unwrap();
    assert_eq!(r.records::<KbCategory>().unwrap().count(), 3);
    assert!(BundleWriter::create(&dir.path().join("w3"), meta("../x")).is_err());
}

#[test]
fn passphrase_protected_identity_file_decrypts() {
    use std::io::Write;
    let k = keys();
    let dir = tempfile::tempdir().unwrap();
    let mut r = age::scrypt::Recipient::new(SecretString::from("idpass".to_string()));
    r.set_work_factor(12);
    let enc = age::Encryptor::with_recipients(std::iter::once(&r as &dyn age::Recipient)).unwrap();
    let protected = dir.path().join("identity.age");
    let mut w = enc.wrap_output(fs::File::create(&protected).unwrap()).unwrap();
    w.write_all(&fs::read(&k.paths.identity).unwrap()).unwrap();
    w.finish().unwrap();
    assert!(Identities::needs_passphrase(&protected).unwrap());
    assert!(!Identities::needs_passphrase(&k.paths.identity).unwrap());
    let s = seal_sample(dir.path(), &k, "prot", "prot");
    let ids =
        Identities::from_file_with_passphrase(&protected, SecretString::from("idpass".to_string()))
            .unwrap();
    BundleReader::open(&s.bundle, &k.signer, &ids, &VerifyOptions::default()).unwrap();
    assert!(
        Identities::from_file_with_passphrase(&protected, SecretString::from("nope".to_string()))
            .is_err()
    );
}

/// Leaves a sample bundle and its keys in DESKFERRY_KEEP_SAMPLE (manual interop checks).
#[test]
#[ignore]
fn keep_sample_bundle() {
    let Some(dir) = std::env::var_os("DESKFERRY_KEEP_SAMPLE") else { return };
    let dir = PathBuf::from(dir);
    fs::create_dir_all(&dir).unwrap();
    let paths = keygen(&dir.join("keys")).unwrap();
    let k = Keys {
        recipients: Recipients::from_file(&paths.recipient).unwrap(),
        identities: Identities::from_file(&paths.identity).unwrap(),
        signing: SigningKey::from_file(&paths.sign_key).unwrap(),
        signer: SignerKey::from_file(&paths.sign_pub).unwrap(),
        paths,
        _dir: tempfile::tempdir().unwrap(),
    };
    seal_sample(&dir, &k, "sample-1", "sample");
}

#[test]
fn large_table_splits_into_parts_read_back_in_order() {
    let k = keys();
    let dir = tempfile::tempdir().unwrap();
    let mut w = BundleWriter::create(&dir.path().join("w"), meta("parts"))
        .unwrap()
        .with_part_max_rows(1000);
    for i in (0..2500).rev() {
        w.append(&comment(i)).unwrap();
    }
    let s = w.seal(&dir.path().join("p.dfb"), &k.recipients, &k.signing).unwrap();
    let r =
        BundleReader::open(&s.bundle, &k.signer, &k.identities, &VerifyOptions::default()).unwrap();
    let parts = &r.bundle_json().tables.iter().find(|t| t.table == "comments").unwrap().parts;
    assert_eq!(parts.len(), 3, "{parts:?}");
    let ids: Vec<String> = r.records::<Comment>().unwrap().map(|c| c.unwrap().id).collect();
    assert_eq!(ids, sorted_ids((0..2500).map(|i| i.to_string()).collect()));
}
