//! Compact JWS (HS256) signing and checking for the emulator's access and ID tokens. It owns
//! the token format only: which claims go in is decided by the callers in `entra`, and it never
//! touches shared state.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use hmac::{Hmac, Mac};
use serde_json::{json, Value};
use sha2::Sha256;

type HmacSha256 = Hmac<Sha256>;

/// Why a compact JWS was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum JwtError {
    /// Not three dot-separated parts.
    #[error("IDX14100: JWT is not well formed, there are no dots (.). The token needs to be in JWS or JWE Compact Serialization Format. (JWS): 'EncodedHeader.EndcodedPayload.EncodedSignature'. (JWE): 'EncodedProtectedHeader.EncodedEncryptedKey.EncodedInitializationVector.EncodedCiphertext.EncodedAuthenticationTag'.")]
    NoDots,
    /// A part is not base64url, or header/payload is not a JSON object.
    #[error("IDX14102: Unable to decode the header or payload '[PII of type 'System.String' is hidden]' as Base64Url encoded string.")]
    Undecodable,
    /// The header names an algorithm other than HS256.
    #[error("IDX10511: Signature validation failed. The token's algorithm is not supported.")]
    Algorithm,
    /// The signature does not verify with the emulator's key.
    #[error("IDX10511: Signature validation failed. Keys tried: '[PII of type 'System.String' is hidden]'.")]
    Signature,
}

/// Signs `claims` as a compact JWS with header `{"typ":"JWT","alg":"HS256","kid":kid}`.
pub fn sign(key: &[u8], kid: &str, claims: &Value) -> String {
    let header = json!({"typ": "JWT", "alg": "HS256", "kid": kid});
    let signing_input = format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(header.to_string()),
        URL_SAFE_NO_PAD.encode(claims.to_string())
    );
    let signature = URL_SAFE_NO_PAD.encode(mac(key, signing_input.as_bytes()));
    format!("{signing_input}.{signature}")
}

/// Checks the format and the signature and returns the claims (lifetime and audience are the
/// caller's business).
pub fn verify(key: &[u8], token: &str) -> Result<Value, JwtError> {
    let mut parts = token.split('.');
    let (Some(header), Some(payload), Some(signature), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(JwtError::NoDots);
    };
    let header = decode_object(header)?;
    let claims = decode_object(payload)?;
    let signature = URL_SAFE_NO_PAD
        .decode(signature)
        .map_err(|_| JwtError::Undecodable)?;
    if header.get("alg").and_then(Value::as_str) != Some("HS256") {
        return Err(JwtError::Algorithm);
    }
    let signing_input_len = token.len() - token.rsplit('.').next().map_or(0, str::len) - 1;
    let mut verifier = keyed(key);
    verifier.update(&token.as_bytes()[..signing_input_len]);
    verifier
        .verify_slice(&signature)
        .map_err(|_| JwtError::Signature)?;
    Ok(claims)
}

/// Decodes the payload without checking anything (for tests and diagnostics).
pub fn peek_claims(token: &str) -> Option<Value> {
    let payload = token.split('.').nth(1)?;
    decode_object(payload).ok()
}

fn decode_object(part: &str) -> Result<Value, JwtError> {
    let bytes = URL_SAFE_NO_PAD
        .decode(part)
        .map_err(|_| JwtError::Undecodable)?;
    let value: Value = serde_json::from_slice(&bytes).map_err(|_| JwtError::Undecodable)?;
    if value.is_object() {
        Ok(value)
    } else {
        Err(JwtError::Undecodable)
    }
}

fn keyed(key: &[u8]) -> HmacSha256 {
    // The key is the emulator's own, never client input, and HMAC takes keys of any length.
    #[allow(clippy::expect_used)]
    HmacSha256::new_from_slice(key).expect("HMAC-SHA256 accepts keys of every length")
}

fn mac(key: &[u8], data: &[u8]) -> Vec<u8> {
    let mut mac = keyed(key);
    mac.update(data);
    mac.finalize().into_bytes().to_vec()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signed_tokens_verify_and_tampered_ones_do_not() {
        let key = [7u8; 32];
        let token = sign(&key, "k1", &json!({"oid": "x"}));
        assert_eq!(verify(&key, &token), Ok(json!({"oid": "x"})));
        assert_eq!(verify(&[8u8; 32], &token), Err(JwtError::Signature));
        assert_eq!(verify(&key, "garbage"), Err(JwtError::NoDots));
        assert_eq!(verify(&key, "a.b.c"), Err(JwtError::Undecodable));
    }
}
