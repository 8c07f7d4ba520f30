//! The fast path: recognises bodies written in a strict, already-canonical subset of HTML, for
//! which html5ever's tree is exactly the nesting of the tags as written, so that
//! [`crate::render`] can read them directly and ammonia's parse, clean and serialise steps can
//! be skipped. Almost every body Teams itself writes is in the subset; anything outside it
//! goes through ammonia, so the subset only has to be *correctly recognised*, never complete.
//!
//! The subset (checked byte by byte, no allocation):
//! - tags are `<name>` or `<name a="v" b="w">` (lowercase names, one space before each
//!   attribute, values double-quoted without `"`, `&`, `<`, `>`, NUL or CR) and `</name>`;
//!   no comments, doctypes, processing instructions, self-closing slashes or tables;
//! - names are the allow-listed ones (tables excepted) plus Teams' `at`, `emoji`,
//!   `customemoji` and an empty `<attachment …></attachment>`;
//! - nesting follows a content model under which the HTML tree builder never closes, moves or
//!   reopens an element on its own: inline elements hold only text and inline elements; `p`,
//!   `h1`–`h6` and `pre` hold only inline content; `div`, `blockquote` and `li` hold anything;
//!   `ul`/`ol` hold only `li` and whitespace; `li` sits only in `ul`/`ol`; no `a` inside an
//!   `a`; every element is closed by its own end tag; at most [`MAX_DEPTH`] levels; no
//!   newline right after `<pre>`;
//! - text has no NUL or CR, and `&` only in `&amp;`, `&lt;`, `&gt;` and `&nbsp;`; the body does
//!   not start with a byte order mark (which the tokenizer drops).
//!
//! Attributes are not judged here: [`crate::render`] reads only the ones it rebuilds, with the
//! same checks ammonia applies (the integration tests compare both paths on every seeded body
//! and on generated ones).

/// Deepest nesting the fast path takes; deeper bodies go through ammonia.
pub const MAX_DEPTH: usize = 64;

/// What an element may contain.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Model {
    /// Block and inline content (the body itself, `div`, `blockquote`, `li`).
    Flow,
    /// Text and inline elements only.
    Phrasing,
    /// `li` elements and whitespace only.
    List,
}

/// What an element is, for the content model.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// Inline element with inline content.
    Inline,
    /// Inline void element (`br`, `img`).
    InlineVoid,
    /// `p`, `h1`–`h6`, `pre`: in flow, inline content.
    TextBlock,
    /// `div`, `blockquote`: in flow, flow content.
    Block,
    /// `ul`, `ol`.
    List,
    /// `li`.
    Item,
    /// `hr`.
    Rule,
    /// `<attachment>`: must be empty.
    Placeholder,
}

fn kind(name: &[u8]) -> Option<Kind> {
    Some(match name {
        b"b" | b"strong" | b"i" | b"em" | b"u" | b"s" | b"strike" | b"del" | b"code" | b"sub"
        | b"sup" | b"span" | b"a" | b"at" | b"emoji" | b"customemoji" => Kind::Inline,
        b"br" | b"img" => Kind::InlineVoid,
        b"p" | b"h1" | b"h2" | b"h3" | b"h4" | b"h5" | b"h6" | b"pre" => Kind::TextBlock,
        b"div" | b"blockquote" => Kind::Block,
        b"ul" | b"ol" => Kind::List,
        b"li" => Kind::Item,
        b"hr" => Kind::Rule,
        b"attachment" => Kind::Placeholder,
        _ => return None,
    })
}

/// Whether `kind` may appear where `model` applies.
fn allowed(model: Model, kind: Kind) -> bool {
    match kind {
        Kind::Inline | Kind::InlineVoid | Kind::Placeholder => model != Model::List,
        Kind::TextBlock | Kind::Block | Kind::List | Kind::Rule => model == Model::Flow,
        Kind::Item => model == Model::List,
    }
}

/// What an element of `kind` may contain.
fn content(kind: Kind) -> Model {
    match kind {
        Kind::Inline | Kind::InlineVoid | Kind::TextBlock | Kind::Rule | Kind::Placeholder => {
            Model::Phrasing
        }
        Kind::Block | Kind::Item => Model::Flow,
        Kind::List => Model::List,
    }
}

/// Whether `html` is in the subset (see the module docs).
pub fn is_canonical(html: &str) -> bool {
    // The tokenizer drops a leading byte order mark; the scanner would keep it.
    if html.starts_with('\u{feff}') {
        return false;
    }
    let bytes = html.as_bytes();
    // Open elements: (name, the model their content follows).
    let mut stack: [(&[u8], Model); MAX_DEPTH] = [(b"", Model::Flow); MAX_DEPTH];
    let mut depth = 0usize;
    let mut in_a = false;
    let mut i = 0usize;
    while i < bytes.len() {
        let model = if depth == 0 {
            Model::Flow
        } else {
            stack[depth - 1].1
        };
        match bytes[i] {
            b'<' => {
                let Some(len) = bytes[i..].iter().position(|&b| b == b'>') else {
                    return false;
                };
                let tag = &bytes[i + 1..i + len];
                i += len + 1;
                if let Some(name) = tag.strip_prefix(b"/") {
                    if depth == 0 || stack[depth - 1].0 != name {
                        return false;
                    }
                    depth -= 1;
                    if name == b"a" {
                        in_a = false;
                    }
                    continue;
                }
                let name_len = tag.iter().position(|&b| b == b' ').unwrap_or(tag.len());
                let name = &tag[..name_len];
                let Some(kind) = kind(name) else {
                    return false;
                };
                if !allowed(model, kind) || !attributes(&tag[name_len..]) {
                    return false;
                }
                match kind {
                    Kind::InlineVoid | Kind::Rule => continue,
                    Kind::Placeholder => {
                        // Only an empty placeholder: `<attachment …></attachment>`.
                        let end = b"</attachment>";
                        if !bytes[i..].starts_with(end) {
                            return false;
                        }
                        i += end.len();
                        continue;
                    }
                    _ => {}
                }
                if name == b"a" {
                    if in_a {
                        return false;
                    }
                    in_a = true;
                }
                // The tree builder drops a newline right after `<pre>`.
                if name == b"pre" && matches!(bytes.get(i), Some(b'\n' | b'\r')) {
                    return false;
                }
                if depth == MAX_DEPTH {
                    return false;
                }
                stack[depth] = (name, content(kind));
                depth += 1;
            }
            b'&' => {
                let rest = &bytes[i..];
                let Some(entity) = [&b"&amp;"[..], b"&lt;", b"&gt;", b"&nbsp;"]
                    .into_iter()
                    .find(|e| rest.starts_with(e))
                else {
                    return false;
                };
                if model == Model::List {
                    return false;
                }
                i += entity.len();
            }
            b'\0' | b'\r' => return false,
            b' ' | b'\t' | b'\n' | b'\x0C' => i += 1,
            _ => {
                if model == Model::List {
                    return false;
                }
                i += 1;
            }
        }
    }
    depth == 0
}

/// Whether the attribute part of a start tag (` a="v" b="w"`, possibly empty) is strict.
fn attributes(mut rest: &[u8]) -> bool {
    while !rest.is_empty() {
        let Some(after_space) = rest.strip_prefix(b" ") else {
            return false;
        };
        let Some(eq) = after_space.iter().position(|&b| b == b'=') else {
            return false;
        };
        let name = &after_space[..eq];
        let name_ok = name.first().is_some_and(u8::is_ascii_lowercase)
            && name
                .iter()
                .all(|&b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
        if !name_ok {
            return false;
        }
        let Some(value_and_rest) = after_space[eq + 1..].strip_prefix(b"\"") else {
            return false;
        };
        let Some(end) = value_and_rest.iter().position(|&b| b == b'"') else {
            return false;
        };
        if value_and_rest[..end]
            .iter()
            .any(|&b| matches!(b, b'&' | b'<' | b'>' | b'\0' | b'\r'))
        {
            return false;
        }
        rest = &value_and_rest[end + 1..];
    }
    true
}
