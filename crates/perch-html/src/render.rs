//! The second half of the pipeline: one pass over ammonia's canonical output that builds the
//! final HTML, the plain text and the hosted-content list together.
//!
//! The input is what [`crate::policy::clean`] returns, or a body [`crate::fast`] found to be
//! in its canonical subset, so it is well formed: `<` and `>` only
//! delimit tags, every attribute is `name="value"` with `"`, `<`, `>` and `&` escaped, void
//! elements have no end tag and every other element has one. The scanner still builds every
//! tag it emits itself, from a fixed list of names and the attributes it checks, and copies
//! only text runs (already escaped) verbatim — so even a misreading could drop content but
//! not add markup. If the structure is not what it expects (an unknown tag, a mismatched end
//! tag) it falls back to the escaped text alone.
//!
//! What it rewrites: `<at id="N">` → `<span class="mention" data-mention-id="N">`; `<emoji>`
//! and `<customemoji>` with an `alt` → the alt text; `<img>` → the rewritten hosted image, or
//! its alt text when the source is not a hosted content on a configured Graph base; `<a>`
//! without a valid `href` → its content only; `href` values are re-serialised by `url`.

use url::Url;

use crate::hosted::{media_url, parse_hosted_url};
use crate::policy::{is_dimension, is_http_src, is_mention_id, is_span, OUTPUT_TAGS};
use crate::text::{decode_entities, push_escaped, TextOut};
use crate::{HostedRef, MediaRewrite, Sanitized};

/// HTML, text and hosted refs from a cleaned body, rewriting images with `media`.
pub fn render(clean: &str, media: Option<&MediaRewrite>) -> Sanitized {
    try_render(clean, media).unwrap_or_else(|| fallback(clean))
}

/// Like [`render`], but `None` instead of the fallback when `clean` is not as expected.
pub fn try_render(clean: &str, media: Option<&MediaRewrite>) -> Option<Sanitized> {
    let mut scan = Scanner::new(clean.len(), media, true);
    scan.run(clean).ok()?;
    Some(Sanitized {
        html: scan.html,
        text: scan.text.finish(),
        hosted: scan.hosted,
    })
}

/// Only the plain text of a cleaned body (no HTML is built, no image is resolved).
pub fn render_text(clean: &str) -> String {
    try_render_text(clean).unwrap_or_else(|| fallback(clean).text)
}

/// Like [`render_text`], but `None` instead of the fallback when `clean` is not as expected.
pub fn try_render_text(clean: &str) -> Option<String> {
    let mut scan = Scanner::new(clean.len(), None, false);
    scan.run(clean).ok()?;
    Some(scan.text.finish())
}

/// The cleaned body did not have the expected structure.
struct Malformed;

/// Escaped text only: every tag removed, the text between tags kept.
fn fallback(clean: &str) -> Sanitized {
    let mut text = TextOut::with_capacity(clean.len());
    for (i, part) in clean.split('<').enumerate() {
        let part = if i == 0 {
            part
        } else {
            part.split_once('>').map_or("", |(_, after)| after)
        };
        text.space();
        text.push_str(&decode_entities(part));
    }
    let text = text.finish();
    let mut html = String::with_capacity(text.len());
    push_escaped(&mut html, &text);
    Sanitized {
        html,
        text,
        hosted: Vec::new(),
    }
}

/// How an element's end tag is written.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Close {
    /// `</name>`.
    Same,
    /// `</span>` (a mention).
    Span,
    /// Nothing: the element's start tag was not written either.
    Nothing,
}

struct Frame<'c> {
    tag: &'c str,
    close: Close,
}

struct Scanner<'c, 'm> {
    media: Option<&'m MediaRewrite>,
    want_html: bool,
    html: String,
    text: TextOut,
    hosted: Vec<HostedRef>,
    stack: Vec<Frame<'c>>,
    /// Open elements inside an emoji whose alt text replaced its content, or inside a
    /// placeholder (0 = not skipping).
    skip_depth: usize,
    /// Open `<pre>` elements: their newlines are line breaks in the text.
    pre_depth: usize,
}

impl<'c, 'm> Scanner<'c, 'm> {
    fn new(len: usize, media: Option<&'m MediaRewrite>, want_html: bool) -> Self {
        Scanner {
            media,
            want_html,
            html: String::with_capacity(if want_html { len + 32 } else { 0 }),
            text: TextOut::with_capacity(len / 2),
            hosted: Vec::new(),
            stack: Vec::with_capacity(8),
            skip_depth: 0,
            pre_depth: 0,
        }
    }

    fn run(&mut self, clean: &'c str) -> Result<(), Malformed> {
        let mut rest = clean;
        while let Some(lt) = rest.find('<') {
            self.text_run(&rest[..lt]);
            let tail = &rest[lt + 1..];
            let gt = tail.find('>').ok_or(Malformed)?;
            let tag = &tail[..gt];
            rest = &tail[gt + 1..];
            match tag.strip_prefix('/') {
                Some(name) => self.end_tag(name)?,
                None => self.start_tag(tag)?,
            }
        }
        self.text_run(rest);
        if self.stack.is_empty() && self.skip_depth == 0 {
            Ok(())
        } else {
            Err(Malformed)
        }
    }

    fn text_run(&mut self, run: &str) {
        if run.is_empty() || self.skip_depth > 0 {
            return;
        }
        if self.want_html {
            push_text_run(&mut self.html, run);
        }
        let decoded = decode_entities(run);
        if self.pre_depth > 0 {
            self.text.push_lines(&decoded);
        } else {
            self.text.push_str(&decoded);
        }
    }

    fn start_tag(&mut self, tag: &'c str) -> Result<(), Malformed> {
        let (name, attrs) = tag.split_once(' ').unwrap_or((tag, ""));
        let void = is_void(name);
        if self.skip_depth > 0 {
            if !void {
                self.skip_depth += 1;
            }
            return Ok(());
        }
        match name {
            "br" => {
                self.html_push("<br>");
                self.text.line_break();
            }
            "hr" => {
                self.html_push("<hr>");
                self.text.block();
            }
            "img" => self.image(attrs),
            "at" => {
                let close = match attr(attrs, "id").filter(|id| is_mention_id(id)) {
                    Some(id) => {
                        if self.want_html {
                            self.html
                                .push_str("<span class=\"mention\" data-mention-id=\"");
                            self.html.push_str(id);
                            self.html.push_str("\">");
                        }
                        Close::Span
                    }
                    None => Close::Nothing,
                };
                self.stack.push(Frame { tag: name, close });
            }
            // Only the fast path lets an (empty) placeholder through; it leaves nothing.
            "attachment" => {
                self.skip_depth = 1;
                self.stack.push(Frame {
                    tag: name,
                    close: Close::Nothing,
                });
            }
            "emoji" | "customemoji" => {
                let alt = attr(attrs, "alt").map(decode_entities);
                if let Some(alt) = alt.filter(|a| !a.trim().is_empty()) {
                    if self.want_html {
                        push_escaped(&mut self.html, &alt);
                    }
                    self.text.push_str(&alt);
                    self.skip_depth = 1;
                }
                self.stack.push(Frame {
                    tag: name,
                    close: Close::Nothing,
                });
            }
            "a" => {
                let href = attr(attrs, "href").and_then(|h| safe_href(&decode_entities(h)));
                let close = match href {
                    Some(href) => {
                        if self.want_html {
                            self.html.push_str("<a href=\"");
                            push_escaped(&mut self.html, &href);
                            self.html
                                .push_str("\" rel=\"noopener noreferrer\" target=\"_blank\">");
                        }
                        Close::Same
                    }
                    None => Close::Nothing,
                };
                self.stack.push(Frame { tag: name, close });
            }
            _ => {
                if void || !OUTPUT_TAGS.contains(&name) {
                    return Err(Malformed);
                }
                if is_block(name) {
                    self.text.block();
                } else if matches!(name, "td" | "th") {
                    self.text.space();
                }
                if name == "pre" {
                    self.pre_depth += 1;
                }
                if self.want_html {
                    self.html.push('<');
                    self.html.push_str(name);
                    if matches!(name, "td" | "th") {
                        for key in ["colspan", "rowspan"] {
                            if let Some(v) = attr(attrs, key).filter(|v| is_span(v)) {
                                self.html.push(' ');
                                self.html.push_str(key);
                                self.html.push_str("=\"");
                                self.html.push_str(v);
                                self.html.push('"');
                            }
                        }
                    }
                    self.html.push('>');
                }
                self.stack.push(Frame {
                    tag: name,
                    close: Close::Same,
                });
            }
        }
        Ok(())
    }

    fn end_tag(&mut self, name: &str) -> Result<(), Malformed> {
        if self.skip_depth > 1 {
            self.skip_depth -= 1;
            return Ok(());
        }
        let frame = self.stack.pop().ok_or(Malformed)?;
        if frame.tag != name {
            return Err(Malformed);
        }
        self.skip_depth = 0;
        match frame.close {
            Close::Same => {
                if self.want_html {
                    self.html.push_str("</");
                    self.html.push_str(name);
                    self.html.push('>');
                }
            }
            Close::Span => self.html_push("</span>"),
            Close::Nothing => {}
        }
        if name == "pre" {
            self.pre_depth = self.pre_depth.saturating_sub(1);
        }
        if is_block(name) {
            self.text.block();
        }
        Ok(())
    }

    fn image(&mut self, attrs: &str) {
        let alt = attr(attrs, "alt").map(decode_entities).unwrap_or_default();
        let hosted = match (self.media, attr(attrs, "src")) {
            (Some(media), Some(src)) => {
                let src = decode_entities(src);
                if is_http_src(&src) {
                    parse_hosted_url(&src, &media.graph_bases).map(|r| (media, r))
                } else {
                    None
                }
            }
            _ => None,
        };
        if self.want_html {
            match hosted {
                Some((media, r)) => {
                    self.html.push_str("<img src=\"");
                    push_escaped(&mut self.html, &media_url(media, &r));
                    self.html.push_str("\" alt=\"");
                    push_escaped(&mut self.html, &alt);
                    self.html.push('"');
                    for key in ["width", "height"] {
                        if let Some(v) = attr(attrs, key).filter(|v| is_dimension(v)) {
                            self.html.push(' ');
                            self.html.push_str(key);
                            self.html.push_str("=\"");
                            self.html.push_str(v);
                            self.html.push('"');
                        }
                    }
                    self.html.push('>');
                    if !self.hosted.contains(&r) {
                        self.hosted.push(r);
                    }
                }
                None => push_escaped(&mut self.html, &alt),
            }
        }
        self.text.push_str(&alt);
    }

    fn html_push(&mut self, s: &str) {
        if self.want_html {
            self.html.push_str(s);
        }
    }
}

/// Appends a text run that is already escaped, except that the fast path's input may hold
/// a raw `>` or no-break space where the serialiser writes `&gt;` and `&nbsp;`.
fn push_text_run(out: &mut String, run: &str) {
    if !run.bytes().any(|b| b == b'>' || b == 0xC2) {
        out.push_str(run);
        return;
    }
    let mut start = 0;
    for (i, c) in run.char_indices() {
        let rep = match c {
            '>' => "&gt;",
            '\u{a0}' => "&nbsp;",
            _ => continue,
        };
        out.push_str(&run[start..i]);
        out.push_str(rep);
        start = i + c.len_utf8();
    }
    out.push_str(&run[start..]);
}

/// The raw (still escaped) value of attribute `key` in `attrs` (` a="x" b="y"`).
fn attr<'a>(attrs: &'a str, key: &str) -> Option<&'a str> {
    let mut rest = attrs;
    loop {
        rest = rest.trim_start_matches(' ');
        let eq = rest.find("=\"")?;
        let name = &rest[..eq];
        let value_and_rest = &rest[eq + 2..];
        let end = value_and_rest.find('"')?;
        if name == key {
            return Some(&value_and_rest[..end]);
        }
        rest = &value_and_rest[end + 1..];
    }
}

/// A link target that is an absolute http, https or mailto URL, re-serialised.
fn safe_href(href: &str) -> Option<String> {
    let url = Url::parse(href).ok()?;
    matches!(url.scheme(), "http" | "https" | "mailto").then(|| url.into())
}

fn is_void(name: &str) -> bool {
    matches!(name, "br" | "hr" | "img")
}

/// Elements whose start and end are line breaks in the plain text.
fn is_block(name: &str) -> bool {
    matches!(
        name,
        "p" | "div"
            | "li"
            | "ul"
            | "ol"
            | "blockquote"
            | "pre"
            | "h1"
            | "h2"
            | "h3"
            | "h4"
            | "h5"
            | "h6"
            | "table"
            | "thead"
            | "tbody"
            | "tr"
    )
}
