//! What verification promises beyond the hashes (issue 14): permission bits as the writer's.
//! Each bundle is signed honestly, so only the named defect is there to find; the per-code
//! catalogue lives with the broken-bundle generator.

mod support;

use deskferry_format::*;
use support::*;

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
