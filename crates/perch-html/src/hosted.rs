//! Hosted-content images: recognising a Graph `hostedContents/{id}/$value` URL in an `<img
//! src>` and building the local media URL that replaces it.
//!
//! Recognition is strict, because the ids end up in a Graph request made with the user's
//! token: the URL must start with one of the configured Graph bases (scheme, host and port
//! as written there, ASCII case-insensitively) followed by exactly
//! `/v1.0/teams/{t}/channels/{c}/messages/{m}[/replies/{r}]/hostedContents/{h}/$value`.
//! Each id is percent-decoded and must be non-empty, not `.`, `..` or `-`, at most 512 bytes,
//! and made only of ASCII letters, digits and `-._~:@=+!$,;` — so an encoded `/`, `\`, `?`,
//! `%` or `..%2F` never gets through. Anything else is not a hosted content and the image is
//! dropped by the caller.

use crate::{HostedRef, MediaRewrite};
use percent_encoding::{percent_decode_str, utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};

/// Bytes percent-encoded in media URLs: everything but RFC 3986's unreserved characters.
const COMPONENT: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// The longest id accepted, in bytes (Graph's hosted content ids are about 200).
const MAX_ID_LEN: usize = 512;

/// Parses `src` as a hosted-content URL on one of `graph_bases`.
///
/// This is a strict string match rather than a general URL parse: the ids are what Perch
/// later asks Graph for (on the configured Graph host, never on the host written in the
/// body), so anything that is not plainly `{base}/v1.0/…/$value` with checked ids is refused,
/// including explicit default ports, user info, `\`, dot segments, queries and fragments.
pub fn parse_hosted_url(src: &str, graph_bases: &[String]) -> Option<HostedRef> {
    let src = src.trim_matches(|c: char| c.is_ascii_whitespace() || c.is_ascii_control());
    let path = graph_bases.iter().find_map(|base| under_base(src, base))?;
    parse_path(path)
}

/// The path of `src` after `base` (a trailing `/` or `/v1.0` on `base` ignored), when `src`
/// starts with `base` (ASCII case-insensitively) followed by `/`.
fn under_base<'s>(src: &'s str, base: &str) -> Option<&'s str> {
    let base = base.trim_end_matches('/');
    let base = base.strip_suffix("/v1.0").unwrap_or(base);
    if base.is_empty() {
        return None;
    }
    let (head, rest) = src.split_at_checked(base.len())?;
    (head.eq_ignore_ascii_case(base) && rest.starts_with('/')).then_some(rest)
}

/// Parses `/v1.0/teams/{t}/channels/{c}/messages/{m}[/replies/{r}]/hostedContents/{h}/$value`.
fn parse_path(path: &str) -> Option<HostedRef> {
    let mut segments = [""; 12];
    let mut count = 0;
    for segment in path.strip_prefix('/')?.split('/') {
        *segments.get_mut(count)? = segment;
        count += 1;
    }
    let (reply, hosted_at) = match count {
        10 => (None, 7),
        12 => (Some(8), 9),
        _ => return None,
    };
    let fixed = |i: usize, word: &str| -> Option<()> {
        let segment = percent_decode_str(segments[i]).decode_utf8().ok()?;
        segment.eq_ignore_ascii_case(word).then_some(())
    };
    fixed(0, "v1.0")?;
    fixed(1, "teams")?;
    fixed(3, "channels")?;
    fixed(5, "messages")?;
    if reply.is_some() {
        fixed(7, "replies")?;
    }
    fixed(hosted_at, "hostedContents")?;
    fixed(hosted_at + 2, "$value")?;
    Some(HostedRef {
        team_id: id(segments[2])?,
        channel_id: id(segments[4])?,
        message_id: id(segments[6])?,
        reply_id: match reply {
            Some(i) => Some(id(segments[i])?),
            None => None,
        },
        hosted_content_id: id(segments[hosted_at + 1])?,
    })
}

/// A percent-decoded, checked id (see the module docs).
fn id(segment: &str) -> Option<String> {
    let value = percent_decode_str(segment).decode_utf8().ok()?;
    let ok = !value.is_empty()
        && value.len() <= MAX_ID_LEN
        && !matches!(&*value, "." | ".." | "-")
        && value.bytes().all(|b| {
            b.is_ascii_alphanumeric()
                || matches!(
                    b,
                    b'-' | b'.'
                        | b'_'
                        | b'~'
                        | b':'
                        | b'@'
                        | b'='
                        | b'+'
                        | b'!'
                        | b'$'
                        | b','
                        | b';'
                )
        });
    ok.then(|| value.into_owned())
}

/// The local media URL for `r`:
/// `{prefix}{account}/hosted/{team}/{channel}/{message}/{reply or "-"}/{hosted}`, each part
/// percent-encoded (see [`MediaRewrite::media_prefix`]).
pub fn media_url(media: &MediaRewrite, r: &HostedRef) -> String {
    let mut out = String::with_capacity(media.media_prefix.len() + 160);
    out.push_str(&media.media_prefix);
    push_component(&mut out, &media.account_key);
    out.push_str("/hosted/");
    push_component(&mut out, &r.team_id);
    out.push('/');
    push_component(&mut out, &r.channel_id);
    out.push('/');
    push_component(&mut out, &r.message_id);
    out.push('/');
    match &r.reply_id {
        Some(reply) => push_component(&mut out, reply),
        None => out.push('-'),
    }
    out.push('/');
    push_component(&mut out, &r.hosted_content_id);
    out
}

fn push_component(out: &mut String, value: &str) {
    out.extend(utf8_percent_encode(value, COMPONENT));
}
