//! Client assertions for `private_key_jwt` (RFC 7523 §2.2): a JWT signed with
//! ES256 by the client's own P-256 key, read from a PKCS#8 PEM file.

use std::path::Path;

use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use ring::rand::SystemRandom;
use ring::signature::{ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair};

/// A signed assertion: `iss` and `sub` the client id, `aud` the authorization
/// server, valid for 5 minutes, with a random `jti`.
pub fn client_assertion(
    key_file: &Path,
    client_id: &str,
    audience: &str,
) -> Result<String, String> {
    let pem = std::fs::read_to_string(key_file)
        .map_err(|e| format!("cannot read private_key_file {}: {e}", key_file.display()))?;
    let der =
        pem_body(&pem).ok_or_else(|| format!("{} is not a PEM private key", key_file.display()))?;
    let rng = SystemRandom::new();
    let key =
        EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &der, &rng).map_err(|e| {
            format!(
                "{} is not a PKCS#8 P-256 (ES256) key: {e}",
                key_file.display()
            )
        })?;
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    let mut jti = [0u8; 16];
    getrandom::fill(&mut jti).map_err(|e| format!("no randomness: {e}"))?;
    let header = serde_json::json!({"alg": "ES256", "typ": "JWT"});
    let claims = serde_json::json!({
        "iss": client_id, "sub": client_id, "aud": audience,
        "iat": now, "exp": now + 300, "jti": URL_SAFE_NO_PAD.encode(jti),
    });
    let enc = |v: &serde_json::Value| URL_SAFE_NO_PAD.encode(v.to_string());
    let signing_input = format!("{}.{}", enc(&header), enc(&claims));
    let sig = key
        .sign(&rng, signing_input.as_bytes())
        .map_err(|e| format!("signing the client assertion failed: {e}"))?;
    Ok(format!(
        "{signing_input}.{}",
        URL_SAFE_NO_PAD.encode(sig.as_ref())
    ))
}

/// The DER inside a `-----BEGIN PRIVATE KEY-----` block.
fn pem_body(pem: &str) -> Option<Vec<u8>> {
    let b64: String = pem
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with("-----"))
        .collect();
    STANDARD.decode(b64).ok()
}
