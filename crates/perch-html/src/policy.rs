//! The allow-list: one `ammonia::Builder`, built once, that decides which elements and
//! attributes of a message body survive. Everything not listed here is removed; the elements
//! in [`DROP_WITH_CONTENT`] are removed together with everything inside them.
//!
//! The builder also keeps three Teams elements that [`crate::render`] rewrites afterwards and
//! that never reach the output as such: `at` (with a numeric `id`, becomes a mention span),
//! `emoji` and `customemoji` (with `alt`, become their alt text). Images keep `src` only when
//! it is an absolute http(s) URL; whether it is a Graph hosted content is decided in
//! [`crate::hosted`], with the caller's [`crate::MediaRewrite`].
//!
//! Links: `href` only with http, https or mailto (relative and protocol-relative URLs are
//! dropped, and so is anything `url` cannot parse), `rel="noopener noreferrer"` and
//! `target="_blank"` on every `<a>`. `_blank` is the documented choice so that a click never
//! navigates the app's own window, even if the shell forgot to intercept it; the shell opens
//! such links in the system browser.

use std::borrow::Cow;
use std::collections::{HashMap, HashSet};
use std::sync::LazyLock;

use ammonia::{Builder, UrlRelative};

/// Elements kept in the output (their attributes are limited by [`TAG_ATTRIBUTES`]).
pub const OUTPUT_TAGS: &[&str] = &[
    "p",
    "br",
    "div",
    "span",
    "b",
    "strong",
    "i",
    "em",
    "u",
    "s",
    "strike",
    "del",
    "code",
    "pre",
    "blockquote",
    "ul",
    "ol",
    "li",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "hr",
    "a",
    "img",
    "table",
    "thead",
    "tbody",
    "tr",
    "th",
    "td",
    "sub",
    "sup",
];

/// Teams elements the cleaner keeps for [`crate::render`] to rewrite; never in the output.
pub const TEAMS_TAGS: &[&str] = &["at", "emoji", "customemoji"];

/// Elements removed with all their content: scripts and styles, embedded documents and
/// plug-ins, raw-text elements whose content is markup-looking text, foreign content (SVG,
/// MathML), form controls with option lists, and Teams' `<attachment>` placeholders (the
/// attachments themselves come from the message's `attachments` list).
pub const DROP_WITH_CONTENT: &[&str] = &[
    "script",
    "style",
    "template",
    "iframe",
    "frame",
    "frameset",
    "object",
    "embed",
    "applet",
    "noscript",
    "noembed",
    "noframes",
    "xmp",
    "plaintext",
    "svg",
    "math",
    "title",
    "textarea",
    "select",
    "head",
    "attachment",
];

/// The attributes each kept element may carry. Values are checked further by the
/// builder's attribute filter (digits only for `id`, `colspan`, `rowspan`, `width`, `height`;
/// [`is_http_src`] for `src`).
pub const TAG_ATTRIBUTES: &[(&str, &[&str])] = &[
    ("a", &["href"]),
    ("img", &["src", "alt", "width", "height"]),
    ("td", &["colspan", "rowspan"]),
    ("th", &["colspan", "rowspan"]),
    ("at", &["id"]),
    ("emoji", &["alt"]),
    ("customemoji", &["alt"]),
];

/// URL schemes allowed in `href` and `src`.
pub const URL_SCHEMES: &[&str] = &["http", "https", "mailto"];

static BUILDER: LazyLock<Builder<'static>> = LazyLock::new(build);

fn build() -> Builder<'static> {
    let mut b = Builder::empty();
    let tags: HashSet<&'static str> = OUTPUT_TAGS.iter().chain(TEAMS_TAGS).copied().collect();
    let attributes: HashMap<&'static str, HashSet<&'static str>> = TAG_ATTRIBUTES
        .iter()
        .map(|(tag, attrs)| (*tag, attrs.iter().copied().collect()))
        .collect();
    let mut set_values = HashMap::new();
    set_values.insert("a", HashMap::from([("target", "_blank")]));
    b.tags(tags)
        .clean_content_tags(DROP_WITH_CONTENT.iter().copied().collect())
        .tag_attributes(attributes)
        .tag_attribute_values(HashMap::new())
        .set_tag_attribute_values(set_values)
        .generic_attributes(HashSet::new())
        .generic_attribute_prefixes(HashSet::new())
        .allowed_classes(HashMap::new())
        .url_schemes(URL_SCHEMES.iter().copied().collect())
        .url_relative(UrlRelative::Deny)
        .link_rel(Some("noopener noreferrer"))
        .strip_comments(true)
        .id_prefix(None)
        .attribute_filter(filter);
    b
}

/// Value checks the tag/attribute lists cannot express. `None` removes the attribute.
fn filter<'u>(element: &str, attribute: &str, value: &'u str) -> Option<Cow<'u, str>> {
    let keep = match (element, attribute) {
        // Mention ids index the message's `mentions` list.
        ("at", "id") => is_mention_id(value),
        ("td" | "th", "colspan" | "rowspan") => is_span(value),
        ("img", "width" | "height") => is_dimension(value),
        ("img", "src") => is_http_src(value),
        _ => true,
    };
    keep.then_some(Cow::Borrowed(value))
}

/// A mention id: 1–9 ASCII digits (an index into the message's `mentions`).
pub fn is_mention_id(value: &str) -> bool {
    is_digits(value, 9)
}

/// A `colspan` / `rowspan`: 1–3 ASCII digits.
pub fn is_span(value: &str) -> bool {
    is_digits(value, 3)
}

/// An image `width` / `height`: 1–4 ASCII digits.
pub fn is_dimension(value: &str) -> bool {
    is_digits(value, 4)
}

/// An image source that may be a hosted content: starts with `http://` or `https://` (any
/// case) after leading whitespace. `data:`, `mailto:` and everything else never is.
pub fn is_http_src(value: &str) -> bool {
    let v = value.trim_start();
    v.get(..7)
        .is_some_and(|s| s.eq_ignore_ascii_case("http://"))
        || v.get(..8)
            .is_some_and(|s| s.eq_ignore_ascii_case("https://"))
}

fn is_digits(value: &str, max_len: usize) -> bool {
    !value.is_empty() && value.len() <= max_len && value.bytes().all(|b| b.is_ascii_digit())
}

/// Cleans an HTML body against the allow-list and serialises it. The result is canonical
/// html5ever output: `<` and `>` appear only as tag delimiters, attribute values are double
/// quoted with `&`, `"`, `<`, `>` escaped, and there are no comments.
pub fn clean(html: &str) -> String {
    BUILDER.clean(html).to_string()
}
