//! Opaque paging and delta tokens: a list of numbers and a kind tag, base64url-encoded with a
//! keyed checksum so that a garbled or forged token is refused (and a token from another
//! emulator run too). The numbers are cursors and sync-state ids; their meaning belongs to the
//! endpoint that issues them.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use sha2::{Digest, Sha256};

/// Encodes and checks tokens with a per-run key.
#[derive(Debug)]
pub(crate) struct Codec {
    key: [u8; 16],
}

impl Codec {
    /// A codec with a fresh random key.
    pub(crate) fn random() -> Self {
        Self {
            key: rand::random(),
        }
    }

    fn mac(&self, payload: &str) -> String {
        let mut hasher = Sha256::new();
        hasher.update(self.key);
        hasher.update(payload.as_bytes());
        let digest = hasher.finalize();
        URL_SAFE_NO_PAD.encode(&digest[..9])
    }

    /// A token of `kind` carrying `fields`.
    pub(crate) fn encode(&self, kind: &str, fields: &[u64]) -> String {
        let mut payload = String::with_capacity(16 + fields.len() * 8);
        payload.push_str(kind);
        for f in fields {
            payload.push('.');
            payload.push_str(&f.to_string());
        }
        let mac = self.mac(&payload);
        payload.push('~');
        payload.push_str(&mac);
        URL_SAFE_NO_PAD.encode(payload)
    }

    /// The fields of a token of `kind` with exactly `n` fields, if it is one of ours.
    pub(crate) fn decode(&self, kind: &str, n: usize, token: &str) -> Option<Vec<u64>> {
        let raw = URL_SAFE_NO_PAD
            .decode(token.trim().trim_end_matches('='))
            .ok()?;
        let text = std::str::from_utf8(&raw).ok()?;
        let (payload, mac) = text.rsplit_once('~')?;
        if self.mac(payload) != mac {
            return None;
        }
        let mut parts = payload.split('.');
        if parts.next()? != kind {
            return None;
        }
        let fields: Vec<u64> = parts.map(|p| p.parse().ok()).collect::<Option<_>>()?;
        (fields.len() == n).then_some(fields)
    }
}

/// A stable 64-bit hash of a team and channel (or any strings), for binding tokens to them.
pub(crate) fn bind(parts: &[&str]) -> u64 {
    let mut hasher = Sha256::new();
    for p in parts {
        hasher.update(p.as_bytes());
        hasher.update([0u8]);
    }
    let digest = hasher.finalize();
    let mut first = [0u8; 8];
    first.copy_from_slice(&digest[..8]);
    // Keep it within JavaScript's safe integers; nothing depends on the top bits.
    u64::from_le_bytes(first) >> 12
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_refuses_tampering() {
        let codec = Codec::random();
        let t = codec.encode("m", &[1, 2, 3]);
        assert_eq!(codec.decode("m", 3, &t), Some(vec![1, 2, 3]));
        assert_eq!(codec.decode("d", 3, &t), None);
        assert_eq!(codec.decode("m", 2, &t), None);
        let mut bad = t.clone();
        bad.push('A');
        assert_eq!(codec.decode("m", 3, &bad), None);
        assert_eq!(codec.decode("m", 3, "garbage!!"), None);
        assert_eq!(Codec::random().decode("m", 3, &t), None);
    }
}
