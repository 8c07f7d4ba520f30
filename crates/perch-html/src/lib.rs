//! Message HTML for Perch: turns an untrusted Graph `chatMessage` body into safe HTML for the
//! web view, plain text for search and notifications, and the list of hosted-content images
//! it references.
//!
//! This crate owns the allow-list (see [`policy`]) and the rules for Teams' own markup:
//! `<at id="N">` mentions, `<emoji>` elements, `<attachment>` placeholders and inline images
//! stored as hosted contents on Graph. It does no I/O: it never fetches an image, it only
//! rewrites the `src` of the ones it recognises to the local media URL that the shell serves.
//!
//! Pipeline for an HTML body: ammonia parses and cleans once against the allow-list; the
//! serialised result is canonical (every `<` and `>` is markup, every attribute is quoted),
//! so [`render`] walks it with a small scanner to rename mentions, rewrite or drop images and
//! build the plain text in the same pass. Two shortcuts skip ammonia: a body without `<` or
//! `&`, and a body already written in the strict, canonical subset that [`fast`] recognises
//! (most of what Teams writes), which the scanner can read as it is.
//!
//! What comes out (`Sanitized::html`) has only the elements `p br div span b strong i em u s
//! strike del code pre blockquote ul ol li h1–h6 hr a img table thead tbody tr th td sub sup`;
//! attributes only `href` (http, https, mailto; always with `rel="noopener noreferrer"` and
//! `target="_blank"`), `src`/`alt`/`width`/`height` on rewritten images, `colspan`/`rowspan`
//! on cells and `class="mention" data-mention-id="N"` on mention spans. No `id`, `class`,
//! `style` or event handler from the source ever survives.

pub mod fast;
pub mod hosted;
pub mod policy;
pub mod render;
pub mod text;

use serde::{Deserialize, Serialize};

/// Where a hosted-content image lives on Graph (parsed from an <img src> pointing at
/// {graph}/v1.0/teams/{t}/channels/{c}/messages/{m}[/replies/{r}]/hostedContents/{h}/$value).
///
/// The ids are percent-decoded and checked (see [`hosted`]): each is non-empty, not `.`,
/// `..` or `-`, at most 512 bytes, and made only of ASCII letters, digits and `-._~:@=+!$,;`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HostedRef {
    /// The team's id (a GUID).
    pub team_id: String,
    /// The channel's id (`19:…@thread.tacv2`).
    pub channel_id: String,
    /// The root post's id.
    pub message_id: String,
    /// The reply's id when the image is in a reply.
    pub reply_id: Option<String>,
    /// The hosted content's id.
    pub hosted_content_id: String,
}

/// How to rewrite hosted-content images.
#[derive(Debug, Clone)]
pub struct MediaRewrite {
    /// Graph hosts whose hostedContents URLs are rewritten (e.g. `"https://graph.microsoft.com"`,
    /// or the emulator's `"http://127.0.0.1:PORT"`). Other `<img>` sources are dropped (alt text kept).
    ///
    /// An image's `src` must start with a base as written here (scheme, host and port, ASCII
    /// case-insensitively), then `/v1.0/teams/…/$value`; a trailing `/` or `/v1.0` on a base
    /// is ignored.
    pub graph_bases: Vec<String>,
    /// Prefix of the local media URL, e.g. `"perch-media://localhost/"`. The rewritten src is
    /// `{prefix}{account_key}/hosted/{urlenc team}/{urlenc channel}/{urlenc message}/{urlenc reply or "-"}/{urlenc hosted}`.
    ///
    /// `urlenc` keeps only RFC 3986's unreserved characters (`A–Z a–z 0–9 - . _ ~`) and
    /// percent-encodes every other byte; the account key is encoded the same way.
    pub media_prefix: String,
    /// AccountId::key() of the account the message belongs to.
    pub account_key: String,
}

/// The result of [`sanitize`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sanitized {
    /// Safe HTML for the web view (allow-list; see issue 4's list). Mentions `<at id="N">x</at>`
    /// become `<span class="mention" data-mention-id="N">x</span>`.
    pub html: String,
    /// Plain text for search and notifications (block elements → line breaks, whitespace
    /// collapsed, entities decoded, mention names kept, images → their alt text or nothing).
    pub text: String,
    /// Hosted-content images referenced (in order, deduplicated).
    pub hosted: Vec<HostedRef>,
}

/// Sanitises a chatMessage body. `content_type` is Graph's body.contentType ("html" or "text";
/// text is escaped and line breaks become <br>).
///
/// Any content type other than `text` (compared ASCII case-insensitively) is treated as HTML,
/// the safe choice for a value Graph may add later.
pub fn sanitize(content: &str, content_type: &str, media: &MediaRewrite) -> Sanitized {
    if is_text(content_type) {
        return Sanitized {
            html: text::text_body_html(content),
            text: text::text_body_plain(content),
            hosted: Vec::new(),
        };
    }
    if !needs_parser(content) {
        return Sanitized {
            html: text::escape_simple_html(content),
            text: text::collapse(content),
            hosted: Vec::new(),
        };
    }
    if fast::is_canonical(content) {
        if let Some(out) = render::try_render(content, Some(media)) {
            return out;
        }
    }
    let clean = policy::clean(content);
    render::render(&clean, Some(media))
}

/// Plain text only (cheaper; same rules as Sanitized::text).
pub fn plain_text(content: &str, content_type: &str) -> String {
    if is_text(content_type) {
        return text::text_body_plain(content);
    }
    if !needs_parser(content) {
        return text::collapse(content);
    }
    if fast::is_canonical(content) {
        if let Some(text) = render::try_render_text(content) {
            return text;
        }
    }
    let clean = policy::clean(content);
    render::render_text(&clean)
}

fn is_text(content_type: &str) -> bool {
    content_type.eq_ignore_ascii_case("text")
}

/// Whether an HTML body needs the real parser. Without `<` there is no markup and without
/// `&` no character reference; NUL and CR are left to the parser, which normalises them, and
/// so is a leading byte order mark, which it drops.
fn needs_parser(content: &str) -> bool {
    content.starts_with('\u{feff}')
        || content
            .bytes()
            .any(|b| matches!(b, b'<' | b'&' | b'\0' | b'\r'))
}
