//! Redaction: what is taken out of every log line and every file of a diagnostics bundle.
//!
//! Two levels, both applied to text (a formatted log line, a log file read back, a finding):
//! - **Secrets, always**: JWTs (`eyJ…`), `Bearer …`, and the values of `access_token`,
//!   `refresh_token`, `id_token`, `code`, `code_verifier`, `client_secret` (and a few more
//!   credentials) in query strings, form bodies, JSON and `key=value` log fields.
//! - **Content, unless allowed**: e-mail addresses, and message bodies as they reach a log: a
//!   log field or JSON key named like a body (`body`, `text`, `html`, `content`, `preview`,
//!   `subject`, `summary`). A managed policy's `log_message_content = true` keeps these in
//!   logs; a bundle always removes them.
//!
//! Log fields are also redacted by name before they are formatted (see
//! [`crate::logging`]), so a body logged with `%` (unquoted, with spaces) never reaches the
//! line; the patterns here are the second net and the only one for files read back.
//!
//! `code` is redacted in query strings and form bodies always, but in JSON only when its value
//! does not look like an error code (Graph's `"code": "itemNotFound"` is what IT needs to see;
//! an authorization code is a long opaque string and never a plain word). Teams' own ids that
//! look like addresses (`19:…@thread.tacv2`, `…@unq.gbl.spaces`) are not e-mail addresses and
//! are kept.

use std::borrow::Cow;
use std::sync::LazyLock;

use regex::{Captures, Regex};

/// What replaces a secret.
pub const SECRET: &str = "[redacted]";
/// What replaces an e-mail address.
pub const EMAIL: &str = "[email]";
/// What replaces a message body.
pub const CONTENT: &str = "[content]";

/// Keys whose values are credentials (query strings, forms, JSON, log fields).
pub const SECRET_KEYS: &[&str] = &[
    "access_token",
    "refresh_token",
    "id_token",
    "code_verifier",
    "client_secret",
    "client_assertion",
    "device_code",
    "assertion",
    "password",
    "token",
    "secret",
    "authorization",
];

/// Log field and JSON key names that carry message content.
pub const CONTENT_KEYS: &[&str] = &[
    "body", "text", "html", "content", "preview", "subject", "summary",
];

/// Whether a log field named `name` holds a secret (always redacted).
pub fn is_secret_field(name: &str) -> bool {
    let lower = name.to_ascii_lowercase();
    SECRET_KEYS.contains(&lower.as_str()) || lower.ends_with("_token")
}

/// Whether a log field named `name` holds message content.
pub fn is_content_field(name: &str) -> bool {
    let lower = name.to_ascii_lowercase();
    CONTENT_KEYS.contains(&lower.as_str()) || lower.starts_with("body_")
}

static JWT: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"eyJ[A-Za-z0-9_\-]{4,}(?:\.[A-Za-z0-9_\-]{2,}){1,2}|eyJ[A-Za-z0-9_\-]{16,}")
        .expect("static regex")
});

static BEARER: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)(bearer)(\s+|%20|\+)[A-Za-z0-9\-._~+/]+=*").expect("static regex")
});

/// `key=value` in a query string or form body, or a log field (`key=value`, `key="value"`).
static KEY_VALUE: LazyLock<Regex> = LazyLock::new(|| {
    let keys = SECRET_KEYS.join("|");
    Regex::new(&format!(
        r#"(?i)\b((?:{keys}|[a-z_]*_token))(=)("(?:[^"\\]|\\.)*"|[^&\s"',;}}\]]+)"#
    ))
    .expect("static regex")
});

/// `code=…` where it follows `?`, `&` or starts a form body (not a `code=` log field, which
/// holds Perch's error codes).
static QUERY_CODE: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r#"(?i)(^|[?&#])(code)=([^&\s"']+)"#).expect("static regex"));

/// A JSON member `"key": "value"` (the value a JSON string, escapes inside kept).
static JSON_MEMBER: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r#""([A-Za-z_]+)"\s*:\s*"((?:[^"\\]|\\.)*)""#).expect("static regex")
});

/// The same inside a JSON string that was itself quoted into a log (`\"key\":\"value\"`).
static JSON_MEMBER_ESCAPED: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r#"\\"([A-Za-z_]+)\\"\s*:\s*\\"((?:\\\\\\"|[^\\]|\\[^"])*?)\\""#)
        .expect("static regex")
});

/// A content log field: `body="…"` (Debug-quoted) or `body=word`.
static CONTENT_FIELD: LazyLock<Regex> = LazyLock::new(|| {
    let keys = CONTENT_KEYS.join("|");
    Regex::new(&format!(
        r#"(?i)\b((?:{keys}|body_[a-z_]+))=("(?:[^"\\]|\\.)*"|\S+)"#
    ))
    .expect("static regex")
});

static EMAIL_ADDRESS: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"[A-Za-z0-9._%+\-]+@([A-Za-z0-9\-]+(?:\.[A-Za-z0-9\-]+)*\.[A-Za-z]{2,})\b")
        .expect("static regex")
});

/// A JSON `code` value that is an error code, kept (see the module docs).
static ERROR_CODE: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^[A-Za-z_]{1,48}$").expect("static regex"));

/// Redacts text; see the module docs for the rules.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Redactor {
    /// Keep e-mail addresses and message bodies (a policy's `log_message_content`); secrets
    /// are removed whatever this says.
    pub keep_content: bool,
}

impl Redactor {
    /// Removes secrets, e-mail addresses and message bodies: what a bundle uses.
    pub const STRICT: Redactor = Redactor {
        keep_content: false,
    };

    /// A redactor for logs under a policy's `log_message_content`.
    pub fn for_logs(log_message_content: Option<bool>) -> Redactor {
        Redactor {
            keep_content: log_message_content == Some(true),
        }
    }

    /// The text with what must not be there replaced.
    pub fn redact<'a>(&self, text: &'a str) -> Cow<'a, str> {
        let mut out: Cow<'a, str> = Cow::Borrowed(text);
        let mut apply = |re: &Regex, f: &dyn Fn(&Captures<'_>) -> String| {
            if re.is_match(&out) {
                out = Cow::Owned(re.replace_all(&out, |c: &Captures<'_>| f(c)).into_owned());
            }
        };
        let json = |c: &Captures<'_>| {
            let key = &c[1];
            let value = &c[2];
            let secret = is_secret_field(key)
                || (key.eq_ignore_ascii_case("code") && !ERROR_CODE.is_match(value));
            let content = !self.keep_content && is_content_field(key) && !value.is_empty();
            let whole = c.get(0).expect("match");
            let inner = c.get(2).expect("group");
            let with = if secret {
                SECRET
            } else if content {
                CONTENT
            } else {
                return whole.as_str().to_owned();
            };
            let (start, end) = (inner.start() - whole.start(), inner.end() - whole.start());
            format!(
                "{}{with}{}",
                &whole.as_str()[..start],
                &whole.as_str()[end..]
            )
        };
        apply(&JSON_MEMBER, &json);
        apply(&JSON_MEMBER_ESCAPED, &json);
        apply(&JWT, &|_| SECRET.to_owned());
        apply(&BEARER, &|c| format!("{}{}{SECRET}", &c[1], &c[2]));
        apply(&KEY_VALUE, &|c| {
            if c[3].contains(SECRET) {
                c[0].to_owned()
            } else {
                format!("{}{}{SECRET}", &c[1], &c[2])
            }
        });
        apply(&QUERY_CODE, &|c| format!("{}{}={SECRET}", &c[1], &c[2]));
        if !self.keep_content {
            apply(&CONTENT_FIELD, &|c| format!("{}={CONTENT}", &c[1]));
            apply(&EMAIL_ADDRESS, &|c| {
                let domain = c[1].to_ascii_lowercase();
                if domain.starts_with("thread.") || domain.starts_with("unq.gbl.spaces") {
                    c[0].to_owned()
                } else {
                    EMAIL.to_owned()
                }
            });
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const JWT_TOKEN: &str = "eyJ0eXAiOiJKV1QiLCJhbGciOiJSUzI1NiJ9.eyJzY3AiOiJVc2VyLlJlYWQiLCJ1cG4iOiJhQGIuYyJ9.c2lnbmF0dXJlLWJ5dGVzLWhlcmU";
    const REFRESH: &str = "0.AXYAabcdefghijklmnopqrstuvwxyz0123456789-_ABCDEFGH";

    fn strict(s: &str) -> String {
        Redactor::STRICT.redact(s).into_owned()
    }

    fn open(s: &str) -> String {
        Redactor { keep_content: true }.redact(s).into_owned()
    }

    #[test]
    fn jwts_are_removed_anywhere() {
        for line in [
            format!("token {JWT_TOKEN} end"),
            format!("x={JWT_TOKEN}"),
            format!("\"{JWT_TOKEN}\""),
        ] {
            for out in [strict(&line), open(&line)] {
                assert!(!out.contains("eyJ"), "{out}");
                assert!(out.contains(SECRET), "{out}");
            }
        }
    }

    #[test]
    fn bearer_headers_are_removed() {
        for line in [
            "authorization: Bearer abc.def-ghi_jkl~mno+pq/rs==".to_owned(),
            "header=\"bearer Zm9vYmFyYmF6\"".to_owned(),
            "Authorization%3A%20Bearer%20Zm9vYmFyYmF6".to_owned(),
        ] {
            for out in [strict(&line), open(&line)] {
                assert!(!out.contains("abc.def"), "{out}");
                assert!(!out.contains("Zm9vYmFyYmF6"), "{out}");
            }
        }
    }

    #[test]
    fn credentials_in_query_strings_and_forms_are_removed() {
        let query =
            "GET http://127.0.0.1/cb?code=M.R3_BAY.abcdef0123456789&state=xyz&session_state=1"
                .to_owned();
        let form =
            format!("grant_type=refresh_token&refresh_token={REFRESH}&client_id=c&scope=User.Read");
        let form2 = "code=OAQABAAIAAAAm&code_verifier=verifier-string-0123456789&client_secret=s3cr3t&grant_type=authorization_code".to_owned();
        let frag =
            "http://localhost/#access_token=abcdef&id_token=ghijkl&token_type=Bearer".to_owned();
        for line in [query, form, form2, frag] {
            for out in [strict(&line), open(&line)] {
                for secret in [
                    "M.R3_BAY",
                    REFRESH,
                    "OAQABAAIAAAAm",
                    "verifier-string",
                    "s3cr3t",
                    "abcdef",
                    "ghijkl",
                ] {
                    assert!(!out.contains(secret), "{secret} in {out}");
                }
            }
        }
        // What is not a credential stays.
        let out = strict("grant_type=refresh_token&client_id=c&state=xyz");
        assert!(
            out.contains("client_id=c") && out.contains("state=xyz"),
            "{out}"
        );
    }

    #[test]
    fn credentials_in_json_are_removed() {
        let json = format!(
            r#"{{"token_type":"Bearer","access_token":"opaque-access","refresh_token":"{REFRESH}","id_token":"opaque-id","expires_in":3599,"code":"0.AXYA-long-auth-code-value"}}"#
        );
        let escaped = json.replace('"', "\\\"");
        for line in [json, escaped] {
            for out in [strict(&line), open(&line)] {
                for secret in ["opaque-access", REFRESH, "opaque-id", "long-auth-code"] {
                    assert!(!out.contains(secret), "{secret} in {out}");
                }
                assert!(out.contains("3599"), "{out}");
            }
        }
        // Graph's and Entra's error codes are kept: they are what IT needs.
        let error = r#"{"error":{"code":"InvalidAuthenticationToken","message":"Access token has expired."}}"#;
        assert_eq!(strict(error), error);
    }

    #[test]
    fn secret_log_fields_are_removed_but_error_codes_kept() {
        let line = "WARN perch_auth: refreshed access_token=\"abc def\" code=keyring_locked refresh_token=xyz";
        for out in [strict(line), open(line)] {
            assert!(!out.contains("abc def") && !out.contains("xyz"), "{out}");
            assert!(out.contains("code=keyring_locked"), "{out}");
        }
    }

    #[test]
    fn emails_are_removed_unless_allowed() {
        let line = "signed in upn=megan.bowen@contoso.onmicrosoft.com as Megan";
        assert_eq!(strict(line), "signed in upn=[email] as Megan");
        assert_eq!(open(line), line);
        // Teams ids that look like addresses are not e-mail.
        let channel =
            "channel=19:abc123def@thread.tacv2 chat=19:x_y@unq.gbl.spaces old=19:q@thread.skype";
        assert_eq!(strict(channel), channel);
    }

    #[test]
    fn bodies_are_removed_unless_allowed() {
        let field = "DEBUG perch_engine: posting body=\"The Q3 numbers are in\" channel=c";
        assert_eq!(
            strict(field),
            "DEBUG perch_engine: posting body=[content] channel=c"
        );
        assert_eq!(open(field), field);
        let graph = r#"{"id":"1","body":{"contentType":"html","content":"<p>The Q3 numbers</p>"},"subject":"Results","summary":null}"#;
        let out = strict(graph);
        assert!(!out.contains("Q3") && !out.contains("Results"), "{out}");
        assert!(out.contains(r#""contentType":"html""#), "{out}");
        assert_eq!(open(graph), graph);
        let escaped = graph.replace('"', "\\\"");
        assert!(!strict(&escaped).contains("Q3"));
    }

    #[test]
    fn policy_content_never_keeps_tokens() {
        let line =
            format!("text=\"hello megan@contoso.com\" access_token={JWT_TOKEN} Bearer {REFRESH}");
        let out = Redactor::for_logs(Some(true)).redact(&line).into_owned();
        assert!(out.contains("hello megan@contoso.com"), "{out}");
        assert!(!out.contains("eyJ") && !out.contains(REFRESH), "{out}");
        let out = Redactor::for_logs(None).redact(&line).into_owned();
        assert!(!out.contains("hello") && !out.contains("megan@"), "{out}");
    }

    #[test]
    fn clean_text_is_borrowed_unchanged() {
        let line = "INFO perch_engine: round finished channel=19:a@thread.tacv2 pages=3";
        assert!(matches!(Redactor::STRICT.redact(line), Cow::Borrowed(_)));
    }

    #[test]
    fn field_names() {
        assert!(is_secret_field("refresh_token") && is_secret_field("Access_Token"));
        // `code` fields are Perch's error codes; auth codes are caught by the patterns.
        assert!(!is_secret_field("code"));
        assert!(is_content_field("body") && is_content_field("body_text"));
        assert!(!is_content_field("channel") && !is_secret_field("account"));
    }
}
