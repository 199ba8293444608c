//! Minisign signatures of a bundle from a BLAKE2b-512 prehash computed while the ciphertext was
//! written, so sealing reads the bundle once instead of twice.
//!
//! The text is exactly what `minisign -S` (prehashed, algorithm `ED`) writes: the stock
//! `minisign -Vm NAME.dfb -P KEY` and the minisign crate verify it (tests in `format/tests`).

use ed25519_dalek::Signer;

use crate::error::FormatError;
use crate::keys::SigningKey;

/// The prehash minisign signs: BLAKE2b with a 64-byte output over the whole file.
pub(crate) fn prehasher() -> blake2b_simd::State {
    blake2b_simd::Params::new().hash_length(64).to_state()
}

/// Offset of the 64-byte Ed25519 secret (seed ‖ public key) in `minisign::SecretKey::to_bytes()`:
/// sig_alg 2, kdf_alg 2, chk_alg 2, kdf_salt 32, opslimit 8, memlimit 8, keynum 8.
const SK_OFFSET: usize = 62;

/// The `.minisig` text for a file whose BLAKE2b-512 is `prehash`.
pub(crate) fn signature_text(
    prehash: &[u8],
    trusted_comment: &str,
    untrusted_comment: &str,
    signer: &SigningKey,
) -> Result<String, FormatError> {
    let sk_bytes = zeroize::Zeroizing::new(signer.sk.to_bytes());
    let secret = sk_bytes
        .get(SK_OFFSET..SK_OFFSET + 64)
        .ok_or_else(|| FormatError::Sign("unexpected minisign secret key layout".into()))?;
    let seed: [u8; 32] = secret[..32].try_into().expect("32 bytes");
    let key = ed25519_dalek::SigningKey::from_bytes(&seed);
    // The public half stored in the key file must be the one the seed derives, else the key file
    // is damaged and the signature would not verify against sign.pub.
    let pk_bytes = signer.pk.to_bytes();
    if key.verifying_key().as_bytes()[..] != secret[32..]
        || pk_bytes[pk_bytes.len() - 32..] != secret[32..]
    {
        return Err(FormatError::Sign(
            "the signing key's public half does not match its secret".into(),
        ));
    }
    if trusted_comment.contains(['\n', '\r']) || untrusted_comment.contains(['\n', '\r']) {
        return Err(FormatError::Sign("a signature comment holds a line break".into()));
    }
    let sig = key.sign(prehash).to_bytes();
    let mut sig_line = Vec::with_capacity(74);
    sig_line.extend_from_slice(b"ED");
    sig_line.extend_from_slice(signer.sk.keynum());
    sig_line.extend_from_slice(&sig);
    let mut global = Vec::with_capacity(64 + trusted_comment.len());
    global.extend_from_slice(&sig);
    global.extend_from_slice(trusted_comment.as_bytes());
    let global_sig = key.sign(&global).to_bytes();
    use base64::Engine as _;
    let b64 = base64::engine::general_purpose::STANDARD;
    Ok(format!(
        "untrusted comment: {untrusted_comment}\n{}\ntrusted comment: {trusted_comment}\n{}\n",
        b64.encode(&sig_line),
        b64.encode(global_sig)
    ))
}
