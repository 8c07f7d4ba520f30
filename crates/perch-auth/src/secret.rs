//! [`Secret`]: the one type every token travels in. Its `Debug` prints `Secret([REDACTED])`,
//! it has no `Display`, and serialising it fails, so a token cannot end up in a log line, an
//! error message, a debug dump or a JSON file by accident. Reading it takes an explicit
//! [`Secret::expose`], which is greppable.

use std::fmt;

use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A token or other secret string.
#[derive(Clone)]
pub struct Secret(SecretString);

impl Secret {
    /// Wraps a secret.
    pub fn new(value: impl Into<String>) -> Secret {
        Secret(SecretString::from(value.into()))
    }

    /// The secret's text. Call only where the secret is sent or stored on purpose.
    pub fn expose(&self) -> &str {
        self.0.expose_secret()
    }

    /// Compares in time that depends only on the lengths, not on where the texts differ.
    pub fn same_as(&self, other: &Secret) -> bool {
        let (a, b) = (self.expose().as_bytes(), other.expose().as_bytes());
        a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret([REDACTED])")
    }
}

impl Serialize for Secret {
    fn serialize<S: Serializer>(&self, _serializer: S) -> Result<S::Ok, S::Error> {
        Err(serde::ser::Error::custom("secrets are never serialized"))
    }
}

impl<'de> Deserialize<'de> for Secret {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        String::deserialize(deserializer).map(Secret::new)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redacts_and_refuses_to_serialize() {
        let s = Secret::new("hunter2-token");
        assert_eq!(format!("{s:?}"), "Secret([REDACTED])");
        assert!(!format!("{:?}", Some(&s)).contains("hunter2"));
        assert!(serde_json::to_string(&s).is_err());
        let back: Secret = serde_json::from_str("\"abc\"").unwrap();
        assert_eq!(back.expose(), "abc");
        assert!(s.same_as(&Secret::new("hunter2-token")));
        assert!(!s.same_as(&Secret::new("hunter3-token")));
    }
}
