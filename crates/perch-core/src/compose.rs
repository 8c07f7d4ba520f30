//! Composing a message: the structure a composer produces (a [`Draft`] of blocks and inlines,
//! from the rich-text editor or from [`parse_text`] on the command line's plain-text syntax) and
//! the one place that turns it into the HTML body sent to Microsoft Graph, with its `mentions[]`
//! and plain text ([`compose`]). Subjects are checked here too ([`check_subject`]).
//!
//! Bodies are built, never pasted: every piece of text is escaped, C0 control characters
//! (except newline and tab) are dropped and line endings are normalised, links must be absolute
//! http, https or mailto URLs, and the only tags in the output are the ones written here:
//! `p br pre code ul ol li blockquote strong em s a at img`. An `img` is only ever an inline
//! image the message being edited already has (Graph's hosted content): its `src` comes from
//! the caller's resolver ([`compose_with`]), never from the draft.

use serde::{Deserialize, Serialize};
use url::Url;

/// Teams' limit on a message body, about 28 KB of HTML (bytes of the HTML we send).
pub const MAX_BODY_BYTES: usize = 28 * 1024;
/// Longest subject (Teams' UI limit).
pub const MAX_SUBJECT_CHARS: usize = 255;

/// A message as the composer structured it: a list of blocks.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(rename = "DraftDto"))]
pub struct Draft {
    /// The blocks, in order.
    pub blocks: Vec<Block>,
}

/// One block of a message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(rename = "BlockDto"))]
pub enum Block {
    /// A paragraph of inline content.
    Paragraph {
        /// The paragraph's content.
        inlines: Vec<Inline>,
    },
    /// A code block: text kept verbatim (newlines kept).
    Code {
        /// The code, verbatim.
        text: String,
    },
    /// A bulleted list.
    Bullets {
        /// The items, each a run of inline content.
        items: Vec<Vec<Inline>>,
    },
    /// A numbered list.
    Numbered {
        /// The items, each a run of inline content.
        items: Vec<Vec<Inline>>,
    },
    /// A quotation.
    Quote {
        /// The quotation's content.
        inlines: Vec<Inline>,
    },
}

/// Inline content: text with marks, links, mentions and line breaks.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(rename = "InlineDto"))]
pub enum Inline {
    /// A run of text with the same marks. A newline inside the text is a line break.
    Text {
        /// The text.
        text: String,
        /// Bold (`<strong>`).
        #[serde(default)]
        bold: bool,
        /// Italic (`<em>`).
        #[serde(default)]
        italic: bool,
        /// Struck through (`<s>`).
        #[serde(default)]
        strike: bool,
        /// Inline code (`<code>`).
        #[serde(default)]
        code: bool,
    },
    /// A link. Its target must be an absolute http, https or mailto URL.
    Link {
        /// The link's target.
        href: String,
        /// The text shown; when empty, the target is shown.
        text: String,
    },
    /// A mention of a person (`<at>` in the body, an entry in `mentions[]`).
    Mention {
        /// The person's Entra object id.
        user_id: String,
        /// The name shown in the body.
        name: String,
    },
    /// A line break inside a paragraph (Shift+Enter).
    Break,
    /// An inline image the message already has (a Graph hosted content), kept when the
    /// message is edited. Only its id travels: the address written into the body is the
    /// resolver's ([`compose_with`]), so a draft cannot point an image anywhere.
    Image {
        /// The hosted content's id.
        hosted_id: String,
        /// The image's alternative text.
        #[serde(default)]
        alt: String,
    },
}

/// One entry of the message's `mentions[]`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ComposedMention {
    /// The N of `<at id="N">` in the body.
    pub id: i64,
    /// The person's Entra object id.
    pub user_id: String,
    /// The name in the body (Graph's `mentionText`).
    pub name: String,
}

/// A built message body.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Composed {
    /// The HTML body to send.
    pub html: String,
    /// Mentions in body order; `id` is the N of `<at id="N">`, 0, 1, 2, … in order of first
    /// appearance, one per mention occurrence (Teams numbers each occurrence).
    pub mentions: Vec<ComposedMention>,
    /// Plain text of the body (what search and notifications use): blocks separated by "\n",
    /// list items by "\n", mentions as their name, links as their text.
    pub text: String,
}

/// Why a message or subject cannot be sent as written.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ComposeError {
    /// Nothing but whitespace.
    #[error("the message is empty")]
    Empty,
    /// Over MAX_BODY_BYTES once built.
    #[error("the message is too long: {bytes} bytes of HTML, Teams allows about {limit}")]
    TooLarge {
        /// Bytes of HTML the message built to.
        bytes: usize,
        /// The limit, [`MAX_BODY_BYTES`].
        limit: usize,
    },
    /// A link whose scheme is not http, https or mailto, or that does not parse as a URL.
    #[error("link {href:?} is not an http, https or mailto address")]
    BadLink {
        /// The link's target as given.
        href: String,
    },
    /// A mention with an empty user id or name.
    #[error("a mention needs a person and a name")]
    BadMention,
    /// The subject is over MAX_SUBJECT_CHARS characters or contains a line break.
    #[error("the subject is too long or has a line break")]
    BadSubject,
    /// An image that is not one of the edited message's own inline images (a new message, or
    /// an image from another message).
    #[error("images can only be kept when editing the message they are in; adding images is not supported")]
    ForeignImage {
        /// The hosted content id the draft named.
        hosted_id: String,
    },
    /// `@[Name]` in text that no channel member matches (from `parse_text`).
    #[error("nobody called {name:?} is a member of this channel")]
    UnknownMention {
        /// The name between the brackets.
        name: String,
    },
}

/// A person a mention can resolve to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MentionTarget {
    /// The person's Entra object id.
    pub user_id: String,
    /// Their display name, as the mention shows it.
    pub name: String,
}

// ---------------------------------------------------------------------------------------------
// Building the body.
// ---------------------------------------------------------------------------------------------

/// Builds the body. Empty paragraphs/items are dropped; a draft with no visible text and no
/// mention is Empty.
///
/// Line breaks (and whitespace-only text) at the start or end of a paragraph, item or quote
/// are dropped too. Every link and mention is checked, and the finished HTML must fit in
/// [`MAX_BODY_BYTES`].
pub fn compose(draft: &Draft) -> Result<Composed, ComposeError> {
    compose_with(draft, &|_| None)
}

/// [`compose`] for an edit: `image` gives the address of each of the edited message's own
/// inline images by hosted content id (the Graph URL its body already uses); an image it does
/// not know is [`ComposeError::ForeignImage`].
pub fn compose_with(
    draft: &Draft,
    image: &dyn Fn(&str) -> Option<String>,
) -> Result<Composed, ComposeError> {
    let mut writer = Writer {
        image,
        html: String::new(),
        text: String::new(),
        mentions: Vec::new(),
        blocks: 0,
    };
    for block in &draft.blocks {
        writer.block(block)?;
    }
    if writer.blocks == 0 {
        return Err(ComposeError::Empty);
    }
    let bytes = writer.html.len();
    if bytes > MAX_BODY_BYTES {
        return Err(ComposeError::TooLarge {
            bytes,
            limit: MAX_BODY_BYTES,
        });
    }
    Ok(Composed {
        html: writer.html,
        mentions: writer.mentions,
        text: writer.text,
    })
}

/// Validates a subject: trims it; None/empty → Ok(None); too long or containing \r or \n →
/// BadSubject.
pub fn check_subject(subject: Option<&str>) -> Result<Option<String>, ComposeError> {
    let subject = subject.map(str::trim).unwrap_or_default();
    if subject.is_empty() {
        return Ok(None);
    }
    if subject.chars().count() > MAX_SUBJECT_CHARS || subject.contains(['\r', '\n']) {
        return Err(ComposeError::BadSubject);
    }
    Ok(Some(subject.to_owned()))
}

/// The body being built: HTML, plain text and mentions side by side.
struct Writer<'a> {
    /// Addresses of the edited message's own images, by hosted content id.
    image: &'a dyn Fn(&str) -> Option<String>,
    html: String,
    text: String,
    mentions: Vec<ComposedMention>,
    /// Blocks written so far.
    blocks: usize,
}

impl Writer<'_> {
    /// Writes one block, unless it has nothing visible in it.
    fn block(&mut self, block: &Block) -> Result<(), ComposeError> {
        match block {
            Block::Paragraph { inlines } => self.wrapped("p", inlines),
            Block::Quote { inlines } => self.wrapped("blockquote", inlines),
            Block::Code { text } => {
                let code = clean(text);
                if code.trim().is_empty() {
                    return Ok(());
                }
                self.start_block();
                self.html.push_str("<pre><code>");
                escape_into(&mut self.html, &code);
                self.html.push_str("</code></pre>");
                self.text.push_str(&code);
                Ok(())
            }
            Block::Bullets { items } => self.list("ul", items),
            Block::Numbered { items } => self.list("ol", items),
        }
    }

    /// A paragraph or quote: inline content inside one element.
    fn wrapped(&mut self, tag: &str, inlines: &[Inline]) -> Result<(), ComposeError> {
        let inlines = trim_blank(inlines);
        if inlines.is_empty() {
            return Ok(());
        }
        self.start_block();
        self.html.push_str(&format!("<{tag}>"));
        self.inlines(inlines)?;
        self.html.push_str(&format!("</{tag}>"));
        Ok(())
    }

    fn list(&mut self, tag: &str, items: &[Vec<Inline>]) -> Result<(), ComposeError> {
        let items: Vec<&[Inline]> = items
            .iter()
            .map(|item| trim_blank(item))
            .filter(|item| !item.is_empty())
            .collect();
        if items.is_empty() {
            return Ok(());
        }
        self.start_block();
        self.html.push_str(&format!("<{tag}>"));
        for (n, item) in items.into_iter().enumerate() {
            if n > 0 {
                self.text.push('\n');
            }
            self.html.push_str("<li>");
            self.inlines(item)?;
            self.html.push_str("</li>");
        }
        self.html.push_str(&format!("</{tag}>"));
        Ok(())
    }

    /// Counts a block and separates it from the previous one in the plain text.
    fn start_block(&mut self) {
        if self.blocks > 0 {
            self.text.push('\n');
        }
        self.blocks += 1;
    }

    fn inlines(&mut self, inlines: &[Inline]) -> Result<(), ComposeError> {
        inlines.iter().try_for_each(|inline| self.inline(inline))
    }

    fn inline(&mut self, inline: &Inline) -> Result<(), ComposeError> {
        match inline {
            Inline::Text {
                text,
                bold,
                italic,
                strike,
                code,
            } => {
                let text = clean(text);
                if text.is_empty() {
                    return Ok(());
                }
                let tags: Vec<&str> = [
                    (*bold, "strong"),
                    (*italic, "em"),
                    (*strike, "s"),
                    (*code, "code"),
                ]
                .into_iter()
                .filter_map(|(on, tag)| on.then_some(tag))
                .collect();
                for tag in &tags {
                    self.html.push_str(&format!("<{tag}>"));
                }
                push_text(&mut self.html, &text);
                for tag in tags.iter().rev() {
                    self.html.push_str(&format!("</{tag}>"));
                }
                self.text.push_str(&text);
            }
            Inline::Link { href, text } => {
                let target =
                    safe_href(href).ok_or_else(|| ComposeError::BadLink { href: href.clone() })?;
                let text = clean(text);
                let shown = if text.trim().is_empty() {
                    clean(href).trim().to_owned()
                } else {
                    text
                };
                self.html.push_str("<a href=\"");
                escape_into(&mut self.html, target.as_str());
                self.html.push_str("\">");
                push_text(&mut self.html, &shown);
                self.html.push_str("</a>");
                self.text.push_str(&shown);
            }
            Inline::Mention { user_id, name } => {
                let user_id = clean(user_id).trim().to_owned();
                let name = clean(name).trim().to_owned();
                if user_id.is_empty() || name.is_empty() {
                    return Err(ComposeError::BadMention);
                }
                let id = self.mentions.len();
                self.html.push_str(&format!("<at id=\"{id}\">"));
                escape_into(&mut self.html, &name);
                self.html.push_str("</at>");
                self.text.push_str(&name);
                self.mentions.push(ComposedMention {
                    id: id as i64,
                    user_id,
                    name,
                });
            }
            Inline::Break => {
                self.html.push_str("<br>");
                self.text.push('\n');
            }
            Inline::Image { hosted_id, alt } => {
                let src = (self.image)(hosted_id).ok_or_else(|| ComposeError::ForeignImage {
                    hosted_id: hosted_id.clone(),
                })?;
                self.html.push_str("<img src=\"");
                escape_into(&mut self.html, &src);
                self.html.push_str("\" alt=\"");
                escape_into(&mut self.html, clean(alt).trim());
                self.html.push_str("\">");
            }
        }
        Ok(())
    }
}

/// Nothing visible: a line break, or text that is only whitespace once cleaned.
fn is_blank(inline: &Inline) -> bool {
    match inline {
        Inline::Break => true,
        Inline::Text { text, .. } => clean(text).trim().is_empty(),
        Inline::Link { .. } | Inline::Mention { .. } | Inline::Image { .. } => false,
    }
}

/// The inlines without blank ones at either end (empty if nothing is visible).
fn trim_blank(inlines: &[Inline]) -> &[Inline] {
    let Some(start) = inlines.iter().position(|i| !is_blank(i)) else {
        return &[];
    };
    let end = inlines.iter().rposition(|i| !is_blank(i)).unwrap_or(start);
    &inlines[start..=end]
}

/// An absolute http, https or mailto URL, parsed (and so re-serialised with its special
/// characters percent-encoded).
fn safe_href(href: &str) -> Option<Url> {
    let url = Url::parse(&clean(href)).ok()?;
    matches!(url.scheme(), "http" | "https" | "mailto").then_some(url)
}

/// Text as it may appear in a body: `\r\n` and `\r` become `\n`, and C0 control characters
/// other than `\n` and `\t` are dropped.
fn clean(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\r' => {
                chars.next_if_eq(&'\n');
                out.push('\n');
            }
            '\n' | '\t' => out.push(c),
            c if c < ' ' => {}
            c => out.push(c),
        }
    }
    out
}

/// Escapes text for an element's content or an attribute's value.
fn escape_into(out: &mut String, s: &str) {
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
}

/// Escaped inline text, with each newline written as `<br>`.
fn push_text(out: &mut String, s: &str) {
    for (n, line) in s.split('\n').enumerate() {
        if n > 0 {
            out.push_str("<br>");
        }
        escape_into(out, line);
    }
}

// ---------------------------------------------------------------------------------------------
// The command line's plain-text syntax.
// ---------------------------------------------------------------------------------------------

/// Parses the command line's plain-text syntax into a Draft:
/// - blank lines separate paragraphs; a single newline inside a paragraph is a Break;
/// - lines starting with "- " or "* " form a bullet list; "1. ", "2. " … a numbered list;
///   "> " a quote;
/// - a fenced block between lines of ``` is a Code block (verbatim);
/// - inline: **bold**, *italic* or _italic_, ~~strike~~, `code`, [text](url), and bare
///   http(s):// URLs become links;
/// - mentions: `@[Full Name]` → resolve("Full Name") must give Some (else UnknownMention);
///   `@word` (letters, digits, '.', '_', '-') → resolve("word"); if None it stays plain text
///   "@word".
///
/// Unmatched markers are plain text (e.g. a lone `*`). No HTML in the input is ever
/// interpreted: "<b>" stays the text "<b>".
///
/// Each line is one kind (text, bullet, numbered, quote or blank) and consecutive lines of the
/// same kind make one block, so a plain line after a list or quote starts a paragraph. Marks
/// nest as in CommonMark (`**bold *both***`) but do not span lines; link text is taken
/// literally; a mention or link inside marks is not marked. A `@word` ends at its last letter
/// or digit (so "@ana." asks for "ana"), and an `@` right after a letter or digit (an email
/// address) is not a mention. A fence with no closing line is plain text.
pub fn parse_text(
    text: &str,
    resolve: &dyn Fn(&str) -> Option<MentionTarget>,
) -> Result<Draft, ComposeError> {
    let text = text.replace("\r\n", "\n").replace('\r', "\n");
    let lines: Vec<&str> = text.split('\n').collect();
    let mut blocks = Blocks::default();
    let mut i = 0;
    while i < lines.len() {
        if let Some(close) = fence_close(&lines, i) {
            blocks.close();
            blocks.done.push(Block::Code {
                text: lines[i + 1..close].join("\n"),
            });
            i = close + 1;
            continue;
        }
        let (kind, content) = classify(lines[i]);
        if kind == LineKind::Blank {
            blocks.close();
        } else {
            blocks.add(kind, parse_inlines(content, resolve)?);
        }
        i += 1;
    }
    blocks.close();
    Ok(Draft {
        blocks: blocks.done,
    })
}

/// What a line of plain text is, by its first characters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum LineKind {
    Blank,
    Text,
    Bullet,
    Numbered,
    Quote,
}

/// A line's kind and its content without the marker, trimmed.
fn classify(line: &str) -> (LineKind, &str) {
    let line = line.trim();
    if line.is_empty() {
        return (LineKind::Blank, "");
    }
    if let Some(rest) = line.strip_prefix("- ").or_else(|| line.strip_prefix("* ")) {
        return (LineKind::Bullet, rest.trim_start());
    }
    let digits = line.bytes().take_while(u8::is_ascii_digit).count();
    if (1..=9).contains(&digits) {
        if let Some(rest) = line[digits..].strip_prefix(". ") {
            return (LineKind::Numbered, rest.trim_start());
        }
    }
    if line == ">" {
        return (LineKind::Quote, "");
    }
    if let Some(rest) = line.strip_prefix("> ") {
        return (LineKind::Quote, rest.trim_start());
    }
    (LineKind::Text, line)
}

/// If line `open` opens a code fence (```, optionally followed by a language name) and a
/// later line closes it, the index of the closing line.
fn fence_close(lines: &[&str], open: usize) -> Option<usize> {
    let opening = lines[open].trim_start().strip_prefix("```")?;
    if opening.trim_start_matches('`').contains('`') {
        return None;
    }
    let is_close = |line: &&str| {
        let line = line.trim();
        line.len() >= 3 && line.bytes().all(|b| b == b'`')
    };
    lines[open + 1..]
        .iter()
        .position(is_close)
        .map(|n| open + 1 + n)
}

/// The blocks parsed so far, and the one still open to more lines.
#[derive(Default)]
struct Blocks {
    done: Vec<Block>,
    open: Option<Block>,
}

impl Blocks {
    /// Adds a line's content: to the open block if it is of the line's kind, else to a new one.
    fn add(&mut self, kind: LineKind, inlines: Vec<Inline>) {
        match (&mut self.open, kind) {
            (Some(Block::Paragraph { inlines: open }), LineKind::Text)
            | (Some(Block::Quote { inlines: open }), LineKind::Quote) => {
                open.push(Inline::Break);
                open.extend(inlines);
            }
            (Some(Block::Bullets { items }), LineKind::Bullet)
            | (Some(Block::Numbered { items }), LineKind::Numbered) => items.push(inlines),
            _ => {
                self.close();
                self.open = Some(match kind {
                    LineKind::Bullet => Block::Bullets {
                        items: vec![inlines],
                    },
                    LineKind::Numbered => Block::Numbered {
                        items: vec![inlines],
                    },
                    LineKind::Quote => Block::Quote { inlines },
                    LineKind::Text | LineKind::Blank => Block::Paragraph { inlines },
                });
            }
        }
    }

    fn close(&mut self) {
        self.done.extend(self.open.take());
    }
}

/// Marks on a run of text.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct Marks {
    bold: bool,
    italic: bool,
    strike: bool,
    code: bool,
}

/// A piece of a line, before marks are matched.
#[derive(Debug)]
enum Piece {
    Text(String),
    Code(String),
    Link { href: String, text: String },
    Mention(MentionTarget),
    Delim(Delim),
}

/// A run of `*`, `_` or `~~` that may open or close marks (CommonMark's delimiter run).
#[derive(Debug)]
struct Delim {
    ch: char,
    /// Characters of the run not yet used by a match.
    left: usize,
    /// The run's length as written.
    len: usize,
    can_open: bool,
    can_close: bool,
}

/// A piece and the marks that cover it.
#[derive(Debug)]
struct Node {
    piece: Piece,
    marks: Marks,
}

/// One line's inline content.
fn parse_inlines(
    line: &str,
    resolve: &dyn Fn(&str) -> Option<MentionTarget>,
) -> Result<Vec<Inline>, ComposeError> {
    let mut nodes = tokenize(line, resolve)?;
    match_marks(&mut nodes);
    Ok(to_inlines(nodes))
}

/// Splits a line into text, code spans, links, mentions and delimiter runs.
fn tokenize(
    line: &str,
    resolve: &dyn Fn(&str) -> Option<MentionTarget>,
) -> Result<Vec<Node>, ComposeError> {
    let chars: Vec<char> = line.chars().collect();
    let mut nodes = Vec::new();
    let mut text = String::new();
    let mut i = 0;
    while i < chars.len() {
        let prev = i.checked_sub(1).map(|p| chars[p]);
        let after_word = prev.is_some_and(char::is_alphanumeric);
        let found = match chars[i] {
            '`' => code_span(&chars, i),
            '[' => link(&chars, i),
            '@' if !after_word => mention(&chars, i, resolve)?,
            'h' | 'H' if !after_word => bare_url(&chars, i),
            '*' | '_' | '~' => delim_run(&chars, i),
            _ => None,
        };
        match found {
            Some((piece, next)) => {
                if !text.is_empty() {
                    nodes.push(Node::new(Piece::Text(std::mem::take(&mut text))));
                }
                nodes.push(Node::new(piece));
                i = next;
            }
            None => {
                text.push(chars[i]);
                i += 1;
            }
        }
    }
    if !text.is_empty() {
        nodes.push(Node::new(Piece::Text(text)));
    }
    Ok(nodes)
}

impl Node {
    fn new(piece: Piece) -> Node {
        Node {
            piece,
            marks: Marks::default(),
        }
    }

    fn delim(&self) -> Option<&Delim> {
        match &self.piece {
            Piece::Delim(d) => Some(d),
            _ => None,
        }
    }
}

fn collect(chars: &[char]) -> String {
    chars.iter().collect()
}

/// `` `code` `` at `i`: the code (not empty) and the index after the closing backtick.
fn code_span(chars: &[char], i: usize) -> Option<(Piece, usize)> {
    let len = chars[i + 1..].iter().position(|&c| c == '`')?;
    (len > 0).then(|| {
        (
            Piece::Code(collect(&chars[i + 1..i + 1 + len])),
            i + len + 2,
        )
    })
}

/// `[text](url)` at `i`, with a target that is not empty and has no whitespace.
fn link(chars: &[char], i: usize) -> Option<(Piece, usize)> {
    let close = i + 1 + chars[i + 1..].iter().position(|&c| c == ']')?;
    if chars.get(close + 1) != Some(&'(') {
        return None;
    }
    let start = close + 2;
    let end = start + chars[start..].iter().position(|&c| c == ')')?;
    let href = &chars[start..end];
    if href.is_empty() || href.iter().any(|c| c.is_whitespace()) {
        return None;
    }
    let piece = Piece::Link {
        href: collect(href),
        text: collect(&chars[i + 1..close]),
    };
    Some((piece, end + 1))
}

/// `@[Full Name]` or `@word` at `i`. An unknown `@[Full Name]` is an error; an unknown
/// `@word` is literal text (taken whole, so its `_` never become marks).
fn mention(
    chars: &[char],
    i: usize,
    resolve: &dyn Fn(&str) -> Option<MentionTarget>,
) -> Result<Option<(Piece, usize)>, ComposeError> {
    if chars.get(i + 1) == Some(&'[') {
        let Some(len) = chars[i + 2..].iter().position(|&c| c == ']') else {
            return Ok(None);
        };
        let name = collect(&chars[i + 2..i + 2 + len]);
        let name = name.trim();
        if name.is_empty() {
            return Ok(None);
        }
        let target = resolve(name).ok_or_else(|| ComposeError::UnknownMention {
            name: name.to_owned(),
        })?;
        return Ok(Some((Piece::Mention(target), i + 3 + len)));
    }
    let is_word = |c: &char| c.is_alphanumeric() || matches!(c, '.' | '_' | '-');
    let run = chars[i + 1..].iter().take_while(|c| is_word(c)).count();
    let len = chars[i + 1..i + 1 + run]
        .iter()
        .rposition(|c| c.is_alphanumeric())
        .map_or(0, |last| last + 1);
    if len == 0 {
        return Ok(None);
    }
    let word = collect(&chars[i + 1..i + 1 + len]);
    let piece = match resolve(&word) {
        Some(target) => Piece::Mention(target),
        None => Piece::Text(format!("@{word}")),
    };
    Ok(Some((piece, i + 1 + len)))
}

/// A bare `http://` or `https://` URL at `i`, up to whitespace, without trailing punctuation,
/// if it parses.
fn bare_url(chars: &[char], i: usize) -> Option<(Piece, usize)> {
    let starts_with = |prefix: &str| {
        let n = prefix.chars().count();
        chars.len() >= i + n
            && chars[i..i + n]
                .iter()
                .zip(prefix.chars())
                .all(|(a, b)| a.eq_ignore_ascii_case(&b))
    };
    let scheme = ["https://", "http://"]
        .into_iter()
        .find(|p| starts_with(p))?
        .len();
    let mut end = i + chars[i..]
        .iter()
        .position(|c| c.is_whitespace())
        .unwrap_or(chars.len() - i);
    while end > i + scheme {
        let url = &chars[i..end];
        let last = chars[end - 1];
        let unbalanced = |open: char, close: char| {
            last == close
                && url.iter().filter(|&&c| c == close).count()
                    > url.iter().filter(|&&c| c == open).count()
        };
        let trailing = matches!(
            last,
            '.' | ',' | ';' | ':' | '!' | '?' | '\'' | '"' | '*' | '_' | '~' | '<' | '>'
        );
        if trailing || unbalanced('(', ')') || unbalanced('[', ']') {
            end -= 1;
        } else {
            break;
        }
    }
    if end == i + scheme {
        return None;
    }
    let href = collect(&chars[i..end]);
    let url = Url::parse(&href).ok()?;
    matches!(url.scheme(), "http" | "https").then(|| {
        let piece = Piece::Link {
            text: href.clone(),
            href,
        };
        (piece, end)
    })
}

/// A run of `*` or `_`, or exactly `~~`, at `i`, with whether it can open or close marks
/// (CommonMark's flanking rules).
fn delim_run(chars: &[char], i: usize) -> Option<(Piece, usize)> {
    let ch = chars[i];
    let len = chars[i..].iter().take_while(|&&c| c == ch).count();
    if ch == '~' && len != 2 {
        // Literal, and taken whole so that `~~~` never ends in a `~~`.
        return Some((Piece::Text(collect(&chars[i..i + len])), i + len));
    }
    let before = i.checked_sub(1).map(|p| chars[p]);
    let after = chars.get(i + len).copied();
    let space = |c: Option<char>| c.is_none_or(char::is_whitespace);
    let punct = |c: Option<char>| c.is_some_and(|c| !c.is_alphanumeric() && !c.is_whitespace());
    let left = !space(after) && (!punct(after) || space(before) || punct(before));
    let right = !space(before) && (!punct(before) || space(after) || punct(after));
    let (can_open, can_close) = if ch == '_' {
        (
            left && (!right || punct(before)),
            right && (!left || punct(after)),
        )
    } else {
        (left, right)
    };
    let delim = Delim {
        ch,
        left: len,
        len,
        can_open,
        can_close,
    };
    Some((Piece::Delim(delim), i + len))
}

/// Matches closing delimiter runs with the nearest opening ones (CommonMark's "process
/// emphasis", flattened): everything between a matched pair gets the pair's mark, and runs
/// between them can no longer match.
fn match_marks(nodes: &mut [Node]) {
    for closer in 0..nodes.len() {
        while let Some((opener, ch)) = find_opener(nodes, closer) {
            let left = |i: usize| nodes[i].delim().map_or(0, |d| d.left);
            let used = if ch == '~' || (left(opener) >= 2 && left(closer) >= 2) {
                2
            } else {
                1
            };
            for node in &mut nodes[opener + 1..closer] {
                match (ch, used) {
                    ('~', _) => node.marks.strike = true,
                    (_, 2) => node.marks.bold = true,
                    _ => node.marks.italic = true,
                }
                if let Piece::Delim(inner) = &mut node.piece {
                    inner.can_open = false;
                    inner.can_close = false;
                }
            }
            for end in [opener, closer] {
                if let Piece::Delim(d) = &mut nodes[end].piece {
                    d.left -= used;
                }
            }
        }
    }
}

/// If `closer` is a run that can still close, the nearest run before it that can pair with
/// it, and their character.
fn find_opener(nodes: &[Node], closer: usize) -> Option<(usize, char)> {
    let close = nodes[closer]
        .delim()
        .filter(|d| d.can_close && d.left > 0)?;
    let pairs = |open: &Delim| {
        // CommonMark's rule of three, which keeps `*a**b*` from pairing the wrong runs.
        let either_both = open.can_close || close.can_open;
        let sum = open.len + close.len;
        let rule_of_three = close.ch != '~'
            && either_both
            && sum.is_multiple_of(3)
            && !(open.len.is_multiple_of(3) && close.len.is_multiple_of(3));
        open.ch == close.ch && open.can_open && open.left > 0 && !rule_of_three
    };
    (0..closer)
        .rev()
        .find(|&o| nodes[o].delim().is_some_and(pairs))
        .map(|o| (o, close.ch))
}

/// The matched pieces as inlines, adjacent text with the same marks joined.
fn to_inlines(nodes: Vec<Node>) -> Vec<Inline> {
    let mut out: Vec<Inline> = Vec::new();
    for Node { piece, marks } in nodes {
        let (text, marks) = match piece {
            Piece::Text(text) => (text, marks),
            Piece::Code(text) => (
                text,
                Marks {
                    code: true,
                    ..marks
                },
            ),
            Piece::Delim(d) => (d.ch.to_string().repeat(d.left), marks),
            Piece::Link { href, text } => {
                out.push(Inline::Link { href, text });
                continue;
            }
            Piece::Mention(MentionTarget { user_id, name }) => {
                out.push(Inline::Mention { user_id, name });
                continue;
            }
        };
        if text.is_empty() {
            continue;
        }
        if let Some(Inline::Text {
            text: last,
            bold,
            italic,
            strike,
            code,
        }) = out.last_mut()
        {
            let same = Marks {
                bold: *bold,
                italic: *italic,
                strike: *strike,
                code: *code,
            } == marks;
            if same {
                last.push_str(&text);
                continue;
            }
        }
        out.push(Inline::Text {
            text,
            bold: marks.bold,
            italic: marks.italic,
            strike: marks.strike,
            code: marks.code,
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    // --- Helpers -----------------------------------------------------------------------------

    fn t(text: &str) -> Inline {
        marked(text, "")
    }

    /// Text with marks spelled as letters: b(old), i(talic), s(trike), c(ode).
    fn marked(text: &str, marks: &str) -> Inline {
        Inline::Text {
            text: text.into(),
            bold: marks.contains('b'),
            italic: marks.contains('i'),
            strike: marks.contains('s'),
            code: marks.contains('c'),
        }
    }

    fn link(href: &str, text: &str) -> Inline {
        Inline::Link {
            href: href.into(),
            text: text.into(),
        }
    }

    fn mention(user_id: &str, name: &str) -> Inline {
        Inline::Mention {
            user_id: user_id.into(),
            name: name.into(),
        }
    }

    fn p(inlines: Vec<Inline>) -> Block {
        Block::Paragraph { inlines }
    }

    fn draft(blocks: Vec<Block>) -> Draft {
        Draft { blocks }
    }

    fn compose_blocks(blocks: Vec<Block>) -> Result<Composed, ComposeError> {
        compose(&draft(blocks))
    }

    /// The HTML of a one-paragraph message.
    fn paragraph_html(inlines: Vec<Inline>) -> String {
        compose_blocks(vec![p(inlines)]).unwrap().html
    }

    fn people(name: &str) -> Option<MentionTarget> {
        let target = |user_id: &str, name: &str| MentionTarget {
            user_id: user_id.into(),
            name: name.into(),
        };
        match name {
            "ana" | "Ana Lima" => Some(target("u-ana", "Ana Lima")),
            "bo.k" => Some(target("u-bo", "Bo K")),
            "<img>" => Some(target("u-img", "<img src=x onerror=alert(1)>")),
            _ => None,
        }
    }

    fn parse(text: &str) -> Draft {
        parse_text(text, &people).unwrap()
    }

    fn parse_html(text: &str) -> String {
        compose(&parse(text)).unwrap().html
    }

    /// Tags (or the start of a tag with its one attribute) that may appear in a body.
    const TAGS: &[&str] = &[
        "p",
        "br",
        "pre",
        "code",
        "ul",
        "ol",
        "li",
        "blockquote",
        "strong",
        "em",
        "s",
        "a",
        "at",
    ];

    /// Asserts that the HTML is only the allowed tags around escaped text: every `<` starts an
    /// allowed tag, attribute values are closed by the only `"` in them, and no `>`, `"` or `'`
    /// appears outside a tag.
    fn assert_safe_html(html: &str) {
        let mut rest = html;
        while let Some(c) = rest.chars().next() {
            match c {
                '<' => {
                    let end = rest
                        .find('>')
                        .unwrap_or_else(|| panic!("unclosed tag in {html:?}"));
                    let tag = &rest[1..end];
                    let ok = match tag.strip_prefix('/') {
                        Some(name) => TAGS.contains(&name),
                        None => {
                            TAGS.contains(&tag)
                                && tag != "a"
                                && tag != "at"
                                && tag.bytes().all(|b| b.is_ascii_lowercase())
                                || tag.strip_prefix("a href=\"").is_some_and(|v| {
                                    v.ends_with('"') && !v[..v.len() - 1].contains(['"', '<'])
                                })
                                || tag.strip_prefix("at id=\"").is_some_and(|v| {
                                    v.strip_suffix('"').is_some_and(|n| {
                                        !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit())
                                    })
                                })
                        }
                    };
                    assert!(ok, "tag <{tag}> is not allowed in {html:?}");
                    rest = &rest[end + 1..];
                }
                '>' | '"' | '\'' => panic!("unescaped {c:?} in {html:?}"),
                c => rest = &rest[c.len_utf8()..],
            }
        }
    }

    #[test]
    fn the_html_checker_refuses_what_it_should() {
        for good in [
            "<p>a &lt;b&gt; &quot;c&quot; &#39;d&#39;</p>",
            "<a href=\"https://x/?a=1&amp;b=2\">x</a><at id=\"12\">N</at><br>",
        ] {
            assert_safe_html(good);
        }
        for bad in [
            "<img src=x>",
            "<p onclick=\"x\">",
            "<a href=\"x\" onclick=\"y\">",
            "<at id=\"x\">",
            "<P>",
            "<p>\"</p>",
            "<p>a > b</p>",
            "<p",
        ] {
            let result = std::panic::catch_unwind(|| assert_safe_html(bad));
            assert!(result.is_err(), "{bad:?} passed");
        }
    }

    // --- Blocks ------------------------------------------------------------------------------

    #[test]
    fn blocks() {
        let cases: Vec<(Block, &str, &str)> = vec![
            (p(vec![t("hello")]), "<p>hello</p>", "hello"),
            (
                p(vec![t("one"), Inline::Break, t("two")]),
                "<p>one<br>two</p>",
                "one\ntwo",
            ),
            (
                Block::Code {
                    text: "fn main() {\n    let x = a < b && \"y\";\n}".into(),
                },
                "<pre><code>fn main() {\n    let x = a &lt; b &amp;&amp; &quot;y&quot;;\n}</code></pre>",
                "fn main() {\n    let x = a < b && \"y\";\n}",
            ),
            (
                Block::Bullets {
                    items: vec![vec![t("a")], vec![t("b")]],
                },
                "<ul><li>a</li><li>b</li></ul>",
                "a\nb",
            ),
            (
                Block::Numbered {
                    items: vec![vec![t("first")], vec![t("second"), Inline::Break, t("more")]],
                },
                "<ol><li>first</li><li>second<br>more</li></ol>",
                "first\nsecond\nmore",
            ),
            (
                Block::Quote {
                    inlines: vec![t("said "), marked("this", "i")],
                },
                "<blockquote>said <em>this</em></blockquote>",
                "said this",
            ),
        ];
        for (block, html, text) in cases {
            let composed = compose_blocks(vec![block.clone()]).unwrap();
            assert_eq!(composed.html, html, "{block:?}");
            assert_eq!(composed.text, text, "{block:?}");
            assert!(composed.mentions.is_empty());
            assert_safe_html(&composed.html);
        }
    }

    #[test]
    fn blocks_in_sequence_and_their_plain_text() {
        let composed = compose_blocks(vec![
            p(vec![t("Intro")]),
            Block::Bullets {
                items: vec![vec![t("a")], vec![t("b")]],
            },
            Block::Code {
                text: "x\ny".into(),
            },
            Block::Quote {
                inlines: vec![t("q")],
            },
        ])
        .unwrap();
        assert_eq!(
            composed.html,
            "<p>Intro</p><ul><li>a</li><li>b</li></ul><pre><code>x\ny</code></pre>\
             <blockquote>q</blockquote>"
        );
        assert_eq!(composed.text, "Intro\na\nb\nx\ny\nq");
    }

    #[test]
    fn empty_blocks_items_and_edge_breaks_are_dropped() {
        let composed = compose_blocks(vec![
            p(vec![]),
            p(vec![t("  "), Inline::Break]),
            p(vec![
                Inline::Break,
                t(" "),
                t("kept"),
                Inline::Break,
                t("\t"),
            ]),
            Block::Bullets {
                items: vec![vec![], vec![t("a")], vec![Inline::Break], vec![t(" ")]],
            },
            Block::Numbered { items: vec![] },
            Block::Code {
                text: " \n ".into(),
            },
            Block::Quote { inlines: vec![] },
        ])
        .unwrap();
        assert_eq!(composed.html, "<p>kept</p><ul><li>a</li></ul>");
        assert_eq!(composed.text, "kept\na");
    }

    #[test]
    fn empty() {
        let drafts = vec![
            vec![],
            vec![p(vec![])],
            vec![p(vec![t("   \t "), Inline::Break, t("\n")])],
            vec![p(vec![t("\u{0}\u{7}\r\n")])],
            vec![p(vec![marked("  ", "bisc")])],
            vec![Block::Bullets { items: vec![] }],
            vec![Block::Bullets {
                items: vec![vec![], vec![t(" ")], vec![Inline::Break]],
            }],
            vec![Block::Numbered {
                items: vec![vec![]],
            }],
            vec![Block::Code {
                text: "\n  \n".into(),
            }],
            vec![Block::Quote {
                inlines: vec![t(" ")],
            }],
        ];
        for blocks in drafts {
            assert_eq!(
                compose_blocks(blocks.clone()),
                Err(ComposeError::Empty),
                "{blocks:?}"
            );
        }
        // A mention alone, or a link alone, is something.
        assert!(compose_blocks(vec![p(vec![mention("u1", "Ana")])]).is_ok());
        assert!(compose_blocks(vec![p(vec![link("https://example.com", "")])]).is_ok());
    }

    // --- Inlines -----------------------------------------------------------------------------

    #[test]
    fn inlines() {
        let cases: Vec<(Vec<Inline>, &str)> = vec![
            (vec![marked("b", "b")], "<strong>b</strong>"),
            (vec![marked("i", "i")], "<em>i</em>"),
            (vec![marked("s", "s")], "<s>s</s>"),
            (vec![marked("c", "c")], "<code>c</code>"),
            (
                vec![marked("all", "csib")],
                "<strong><em><s><code>all</code></s></em></strong>",
            ),
            (vec![marked("x", "bc")], "<strong><code>x</code></strong>"),
            (vec![marked("x", "is")], "<em><s>x</s></em>"),
            (
                vec![marked("a", "b"), marked("b", "b")],
                "<strong>a</strong><strong>b</strong>",
            ),
            (vec![t("a"), t(""), t("b")], "ab"),
            (vec![t("line\nnext")], "line<br>next"),
            (vec![t("a"), Inline::Break, t("b")], "a<br>b"),
            (
                vec![link("https://example.com/a", "site")],
                "<a href=\"https://example.com/a\">site</a>",
            ),
            (
                vec![link("https://example.com/?a=1&b=2", "q")],
                "<a href=\"https://example.com/?a=1&amp;b=2\">q</a>",
            ),
            (
                vec![link("https://example.com", "")],
                "<a href=\"https://example.com/\">https://example.com</a>",
            ),
            (
                vec![link("mailto:ana@example.com", "mail Ana")],
                "<a href=\"mailto:ana@example.com\">mail Ana</a>",
            ),
            (
                vec![link("HTTP://Example.COM/x", "x")],
                "<a href=\"http://example.com/x\">x</a>",
            ),
            (
                vec![mention("u-ana", "Ana Lima")],
                "<at id=\"0\">Ana Lima</at>",
            ),
            (vec![t("tab\there")], "tab\there"),
        ];
        for (inlines, html) in cases {
            let got = paragraph_html(inlines.clone());
            assert_eq!(got, format!("<p>{html}</p>"), "{inlines:?}");
            assert_safe_html(&got);
        }
    }

    #[test]
    fn plain_text_of_inlines() {
        let composed = compose_blocks(vec![p(vec![
            marked("Hi", "b"),
            t(" "),
            mention("u-ana", "Ana"),
            t(", see "),
            link("https://example.com", "this"),
            t(" or "),
            link("https://example.org", ""),
            Inline::Break,
            marked("<code>", "c"),
        ])])
        .unwrap();
        assert_eq!(
            composed.text,
            "Hi Ana, see this or https://example.org\n<code>"
        );
    }

    // --- Escaping ----------------------------------------------------------------------------

    #[test]
    fn hostile_text_is_escaped_everywhere() {
        let hostile = "<script>alert('x')</script>\"><img src=x onerror=alert(1)>&amp;";
        let escaped = "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;&quot;&gt;&lt;img src=x \
                       onerror=alert(1)&gt;&amp;amp;";
        let composed = compose_blocks(vec![
            p(vec![t(hostile)]),
            p(vec![marked(hostile, "bisc")]),
            p(vec![link("https://example.com/", hostile)]),
            p(vec![mention("u1", hostile)]),
            Block::Code {
                text: hostile.into(),
            },
            Block::Bullets {
                items: vec![vec![t(hostile)]],
            },
            Block::Quote {
                inlines: vec![t(hostile)],
            },
        ])
        .unwrap();
        assert_eq!(
            composed.html.matches(escaped).count(),
            7,
            "{}",
            composed.html
        );
        assert!(!composed.html.contains("<script"));
        assert!(!composed.html.contains("<img"));
        assert_safe_html(&composed.html);
        // The plain text and the mention keep the text as written.
        assert_eq!(composed.mentions[0].name, hostile);
        assert!(composed.text.contains(hostile));
    }

    #[test]
    fn hostile_hrefs_are_escaped_or_encoded() {
        for href in [
            "https://example.com/\"><img src=x onerror=alert(1)>",
            "https://example.com/?q=\"><script>x</script>",
            "https://example.com/#'onmouseover='alert(1)",
            "https://example.com/a b<c>",
        ] {
            let html = paragraph_html(vec![link(href, "x")]);
            assert_safe_html(&html);
            assert!(
                !html.contains("<img") && !html.contains("<script"),
                "{html}"
            );
        }
    }

    #[test]
    fn control_characters_are_stripped_and_line_endings_normalised() {
        let composed =
            compose_blocks(vec![p(vec![t("a\u{0}b\u{1b}[31mc\td\r\ne\rf\u{8}")])]).unwrap();
        assert_eq!(composed.html, "<p>ab[31mc\td<br>e<br>f</p>");
        assert_eq!(composed.text, "ab[31mc\td\ne\nf");
        let composed = compose_blocks(vec![Block::Code {
            text: "x\r\ny\rz\u{7}".into(),
        }])
        .unwrap();
        assert_eq!(composed.html, "<pre><code>x\ny\nz</code></pre>");
        let composed = compose_blocks(vec![p(vec![mention("u\u{0}1", "An\u{1}a")])]).unwrap();
        assert_eq!(composed.html, "<p><at id=\"0\">Ana</at></p>");
        assert_eq!(composed.mentions[0].user_id, "u1");
    }

    // --- Links -------------------------------------------------------------------------------

    #[test]
    fn links_outside_the_allow_list_are_refused() {
        for href in [
            "javascript:alert(1)",
            "JavaScript:alert(document.cookie)",
            "  javascript:alert(1)",
            "java\tscript:alert(1)",
            "java\u{0}script:alert(1)",
            "data:text/html,<script>alert(1)</script>",
            "data:image/png;base64,AAAA",
            "vbscript:msgbox(1)",
            "file:///etc/passwd",
            "ftp://example.com/x",
            "/relative/path",
            "//example.com/protocol-relative",
            "example.com",
            "http://",
            "",
        ] {
            assert_eq!(
                compose_blocks(vec![p(vec![t("see "), link(href, "here")])]),
                Err(ComposeError::BadLink { href: href.into() }),
                "{href:?}"
            );
        }
    }

    // --- Mentions ----------------------------------------------------------------------------

    #[test]
    fn mentions_are_numbered_per_occurrence() {
        let composed = compose_blocks(vec![
            p(vec![
                mention("u-ana", "Ana"),
                t(" and "),
                mention("u-ana", "Ana"),
            ]),
            Block::Bullets {
                items: vec![vec![mention("u-bo", "Bo")]],
            },
        ])
        .unwrap();
        assert_eq!(
            composed.html,
            "<p><at id=\"0\">Ana</at> and <at id=\"1\">Ana</at></p>\
             <ul><li><at id=\"2\">Bo</at></li></ul>"
        );
        let mention = |id, user_id: &str, name: &str| ComposedMention {
            id,
            user_id: user_id.into(),
            name: name.into(),
        };
        assert_eq!(
            composed.mentions,
            vec![
                mention(0, "u-ana", "Ana"),
                mention(1, "u-ana", "Ana"),
                mention(2, "u-bo", "Bo")
            ]
        );
        assert_eq!(composed.text, "Ana and Ana\nBo");
    }

    #[test]
    fn mentions_need_a_person_and_a_name() {
        for (user_id, name) in [
            ("", "Ana"),
            ("u1", ""),
            ("  ", "Ana"),
            ("u1", " \t "),
            ("u1", "\u{0}"),
        ] {
            assert_eq!(
                compose_blocks(vec![p(vec![t("hi "), mention(user_id, name)])]),
                Err(ComposeError::BadMention),
                "{user_id:?} {name:?}"
            );
        }
        // Trimmed for the body and for mentions[].
        let composed = compose_blocks(vec![p(vec![mention(" u1 ", " Ana ")])]).unwrap();
        assert_eq!(composed.html, "<p><at id=\"0\">Ana</at></p>");
        assert_eq!(composed.mentions[0].user_id, "u1");
    }

    // --- Images ------------------------------------------------------------------------------

    fn image(hosted_id: &str, alt: &str) -> Inline {
        Inline::Image {
            hosted_id: hosted_id.into(),
            alt: alt.into(),
        }
    }

    #[test]
    fn an_edited_message_keeps_its_own_images_at_the_resolvers_address() {
        let own = |id: &str| {
            (id == "h1").then(|| {
                "https://graph.microsoft.com/v1.0/teams/t/channels/c/messages/1/hostedContents/h1/$value"
                    .to_owned()
            })
        };
        let draft = Draft {
            blocks: vec![p(vec![
                t("see "),
                image("h1", "a \"chart\" <b>"),
                t(" here"),
            ])],
        };
        let composed = compose_with(&draft, &own).unwrap();
        assert_eq!(
            composed.html,
            "<p>see <img src=\"https://graph.microsoft.com/v1.0/teams/t/channels/c/messages/1/hostedContents/h1/$value\" alt=\"a &quot;chart&quot; &lt;b&gt;\"> here</p>"
        );
        assert_eq!(composed.text, "see  here");
        // An image alone is a message.
        let alone = Draft {
            blocks: vec![p(vec![image("h1", "")])],
        };
        assert!(compose_with(&alone, &own)
            .unwrap()
            .html
            .contains("<img src="));
        // Another message's image, or any image in a new message, is refused.
        let foreign = Draft {
            blocks: vec![p(vec![image("h2", "x")])],
        };
        assert_eq!(
            compose_with(&foreign, &own),
            Err(ComposeError::ForeignImage {
                hosted_id: "h2".into()
            })
        );
        assert_eq!(
            compose(&alone),
            Err(ComposeError::ForeignImage {
                hosted_id: "h1".into()
            })
        );
        // The draft's JSON carries the id and the alt text only.
        let json: Draft = serde_json::from_str(
            r#"{"blocks":[{"type":"paragraph","inlines":[{"type":"image","hosted_id":"h1"}]}]}"#,
        )
        .unwrap();
        assert_eq!(json.blocks, vec![p(vec![image("h1", "")])]);
    }

    // --- Size --------------------------------------------------------------------------------

    #[test]
    fn size_limit_is_on_the_html_bytes() {
        let overhead = "<p></p>".len();
        let fits =
            compose_blocks(vec![p(vec![t(&"a".repeat(MAX_BODY_BYTES - overhead))])]).unwrap();
        assert_eq!(fits.html.len(), MAX_BODY_BYTES);
        assert_eq!(
            compose_blocks(vec![p(vec![t(&"a".repeat(MAX_BODY_BYTES - overhead + 1))])]),
            Err(ComposeError::TooLarge {
                bytes: MAX_BODY_BYTES + 1,
                limit: MAX_BODY_BYTES
            })
        );
        // Escaping counts: 8,000 "<" are 8,000 characters but 32,000 bytes of HTML.
        assert_eq!(
            compose_blocks(vec![p(vec![t(&"<".repeat(8000))])]),
            Err(ComposeError::TooLarge {
                bytes: overhead + 8000 * "&lt;".len(),
                limit: MAX_BODY_BYTES
            })
        );
        // So do multi-byte characters.
        let room = MAX_BODY_BYTES - overhead;
        let text = format!("{}{}", "é".repeat(room / 2), "a".repeat(room % 2));
        let fits = compose_blocks(vec![p(vec![t(&text)])]);
        assert_eq!(fits.unwrap().html.len(), MAX_BODY_BYTES);
        let message = ComposeError::TooLarge {
            bytes: 30000,
            limit: MAX_BODY_BYTES,
        }
        .to_string();
        assert_eq!(
            message,
            "the message is too long: 30000 bytes of HTML, Teams allows about 28672"
        );
    }

    // --- Subjects ----------------------------------------------------------------------------

    #[test]
    fn subjects() {
        let long = "é".repeat(MAX_SUBJECT_CHARS);
        type Case<'a> = (Option<&'a str>, Result<Option<String>, ComposeError>);
        let cases: Vec<Case> = vec![
            (None, Ok(None)),
            (Some(""), Ok(None)),
            (Some(" \t\n "), Ok(None)),
            (Some("  Release notes  "), Ok(Some("Release notes".into()))),
            (
                Some("Trailing newline\n"),
                Ok(Some("Trailing newline".into())),
            ),
            (
                Some("<b>kept as text</b>"),
                Ok(Some("<b>kept as text</b>".into())),
            ),
            (Some(&long), Ok(Some(long.clone()))),
            (Some("two\nlines"), Err(ComposeError::BadSubject)),
            (Some("two\rlines"), Err(ComposeError::BadSubject)),
            (Some("two\r\nlines"), Err(ComposeError::BadSubject)),
        ];
        for (subject, expected) in cases {
            assert_eq!(check_subject(subject), expected, "{subject:?}");
        }
        let too_long = format!("{long}x");
        assert_eq!(
            check_subject(Some(&too_long)),
            Err(ComposeError::BadSubject)
        );
        let padded = format!("  {long}  ");
        assert_eq!(check_subject(Some(&padded)), Ok(Some(long)));
    }

    // --- Serde -------------------------------------------------------------------------------

    #[test]
    fn drafts_read_from_the_composers_json() {
        let json = r#"{"blocks":[
            {"type":"paragraph","inlines":[
                {"type":"text","text":"Hi "},
                {"type":"text","text":"there","bold":true},
                {"type":"break"},
                {"type":"mention","user_id":"u1","name":"Ana"},
                {"type":"link","href":"https://example.com","text":"x"}
            ]},
            {"type":"code","text":"a\nb"},
            {"type":"bullets","items":[[{"type":"text","text":"a"}]]},
            {"type":"numbered","items":[]},
            {"type":"quote","inlines":[]}
        ]}"#;
        let parsed: Draft = serde_json::from_str(json).unwrap();
        let expected = draft(vec![
            p(vec![
                t("Hi "),
                marked("there", "b"),
                Inline::Break,
                mention("u1", "Ana"),
                link("https://example.com", "x"),
            ]),
            Block::Code {
                text: "a\nb".into(),
            },
            Block::Bullets {
                items: vec![vec![t("a")]],
            },
            Block::Numbered { items: vec![] },
            Block::Quote { inlines: vec![] },
        ]);
        assert_eq!(parsed, expected);
        let round_trip: Draft =
            serde_json::from_str(&serde_json::to_string(&expected).unwrap()).unwrap();
        assert_eq!(round_trip, expected);
        assert_eq!(
            serde_json::to_value(Inline::Break).unwrap(),
            serde_json::json!({"type": "break"})
        );
    }

    // --- parse_text --------------------------------------------------------------------------

    #[test]
    fn parse_blocks() {
        let cases: Vec<(&str, Vec<Block>)> = vec![
            ("hello", vec![p(vec![t("hello")])]),
            ("one\ntwo", vec![p(vec![t("one"), Inline::Break, t("two")])]),
            (
                "one\r\ntwo",
                vec![p(vec![t("one"), Inline::Break, t("two")])],
            ),
            ("one\n\n\ntwo", vec![p(vec![t("one")]), p(vec![t("two")])]),
            ("one\n  \t\ntwo", vec![p(vec![t("one")]), p(vec![t("two")])]),
            (
                "- a\n* b\n  - c",
                vec![Block::Bullets {
                    items: vec![vec![t("a")], vec![t("b")], vec![t("c")]],
                }],
            ),
            (
                "1. a\n2. b\n10. c",
                vec![Block::Numbered {
                    items: vec![vec![t("a")], vec![t("b")], vec![t("c")]],
                }],
            ),
            (
                "> a\n>\n> b",
                vec![Block::Quote {
                    inlines: vec![t("a"), Inline::Break, Inline::Break, t("b")],
                }],
            ),
            (
                "Intro:\n- a\n- b\n1. c\n> d\nThanks",
                vec![
                    p(vec![t("Intro:")]),
                    Block::Bullets {
                        items: vec![vec![t("a")], vec![t("b")]],
                    },
                    Block::Numbered {
                        items: vec![vec![t("c")]],
                    },
                    Block::Quote {
                        inlines: vec![t("d")],
                    },
                    p(vec![t("Thanks")]),
                ],
            ),
            (
                "- a\n\n- b",
                vec![
                    Block::Bullets {
                        items: vec![vec![t("a")]],
                    },
                    Block::Bullets {
                        items: vec![vec![t("b")]],
                    },
                ],
            ),
            (
                "Look:\n```rust\nfn main() {\n    **not bold** <b>\n\n}\n```\nafter",
                vec![
                    p(vec![t("Look:")]),
                    Block::Code {
                        text: "fn main() {\n    **not bold** <b>\n\n}".into(),
                    },
                    p(vec![t("after")]),
                ],
            ),
            (
                "```\n```",
                vec![Block::Code {
                    text: String::new(),
                }],
            ),
            (
                "```\nnever closed",
                vec![p(vec![t("```"), Inline::Break, t("never closed")])],
            ),
            ("-not a list", vec![p(vec![t("-not a list")])]),
            ("1.5 is a number", vec![p(vec![t("1.5 is a number")])]),
            (">not a quote", vec![p(vec![t(">not a quote")])]),
            ("  \n\t\n", vec![]),
        ];
        for (text, blocks) in cases {
            assert_eq!(parse(text), draft(blocks), "{text:?}");
        }
    }

    #[test]
    fn parse_inline_marks() {
        let cases: Vec<(&str, Vec<Inline>)> = vec![
            ("**bold**", vec![marked("bold", "b")]),
            ("*italic*", vec![marked("italic", "i")]),
            ("_italic_", vec![marked("italic", "i")]),
            ("~~strike~~", vec![marked("strike", "s")]),
            ("`code`", vec![marked("code", "c")]),
            ("`**raw** <b>`", vec![marked("**raw** <b>", "c")]),
            ("a **b** c", vec![t("a "), marked("b", "b"), t(" c")]),
            (
                "**bold *italic***",
                vec![marked("bold ", "b"), marked("italic", "bi")],
            ),
            ("***both***", vec![marked("both", "bi")]),
            (
                "*a **b** c*",
                vec![marked("a ", "i"), marked("b", "bi"), marked(" c", "i")],
            ),
            ("**`x` y**", vec![marked("x", "bc"), marked(" y", "b")]),
            ("~~**x**~~", vec![marked("x", "bs")]),
            // Unmatched or not flanking: literal.
            ("a * b", vec![t("a * b")]),
            ("2 * 3 * 4", vec![t("2 * 3 * 4")]),
            ("**open", vec![t("**open")]),
            ("close**", vec![t("close**")]),
            ("*", vec![t("*")]),
            ("snake_case_name", vec![t("snake_case_name")]),
            ("~one~", vec![t("~one~")]),
            ("~~~x~~~", vec![t("~~~x~~~")]),
            ("``", vec![t("``")]),
            ("a ` b", vec![t("a ` b")]),
            ("***a**", vec![t("*"), marked("a", "b")]),
            ("**a*", vec![t("*"), marked("a", "i")]),
        ];
        for (text, inlines) in cases {
            assert_eq!(parse(text), draft(vec![p(inlines)]), "{text:?}");
        }
    }

    #[test]
    fn parse_links() {
        let cases: Vec<(&str, Vec<Inline>)> = vec![
            (
                "[the docs](https://example.com/docs)",
                vec![link("https://example.com/docs", "the docs")],
            ),
            (
                "[**raw**](https://example.com)",
                vec![link("https://example.com", "**raw**")],
            ),
            (
                "[](mailto:a@example.com)",
                vec![link("mailto:a@example.com", "")],
            ),
            (
                "see https://example.com/a_b*c.",
                vec![
                    t("see "),
                    link("https://example.com/a_b*c", "https://example.com/a_b*c"),
                    t("."),
                ],
            ),
            (
                "(http://example.com/x)",
                vec![
                    t("("),
                    link("http://example.com/x", "http://example.com/x"),
                    t(")"),
                ],
            ),
            (
                "https://en.wikipedia.org/wiki/Rust_(language), yes",
                vec![
                    link(
                        "https://en.wikipedia.org/wiki/Rust_(language)",
                        "https://en.wikipedia.org/wiki/Rust_(language)",
                    ),
                    t(", yes"),
                ],
            ),
            (
                // Marks around a link pair up but cannot mark it.
                "**https://example.com**",
                vec![link("https://example.com", "https://example.com")],
            ),
            ("https:// alone", vec![t("https:// alone")]),
            ("xhttps://example.com", vec![t("xhttps://example.com")]),
            ("ftp://example.com", vec![t("ftp://example.com")]),
            ("[text] (not a link)", vec![t("[text] (not a link)")]),
            ("[text](has space)", vec![t("[text](has space)")]),
            ("[text]()", vec![t("[text]()")]),
        ];
        for (text, inlines) in cases {
            assert_eq!(parse(text), draft(vec![p(inlines)]), "{text:?}");
        }
        // A link with a refused scheme parses, and compose refuses it.
        let parsed = parse("[click](javascript:alert(1))");
        assert_eq!(
            compose(&parsed),
            Err(ComposeError::BadLink {
                href: "javascript:alert(1".into()
            })
        );
        assert!(matches!(
            compose(&parse("[x](data:text/html,hi)")),
            Err(ComposeError::BadLink { .. })
        ));
    }

    #[test]
    fn parse_mentions() {
        let ana = || mention("u-ana", "Ana Lima");
        let cases: Vec<(&str, Vec<Inline>)> = vec![
            ("@[Ana Lima] hi", vec![ana(), t(" hi")]),
            ("@[ Ana Lima ]", vec![ana()]),
            ("hi @ana.", vec![t("hi "), ana(), t(".")]),
            ("@bo.k, @ana", vec![mention("u-bo", "Bo K"), t(", "), ana()]),
            ("(@ana)", vec![t("("), ana(), t(")")]),
            ("**@ana**", vec![ana()]),
            ("@nobody here", vec![t("@nobody here")]),
            ("@some_body_", vec![t("@some_body_")]),
            ("ana@example.com", vec![t("ana@example.com")]),
            ("@ alone", vec![t("@ alone")]),
            ("@[]", vec![t("@[]")]),
            ("@[Ana Lima", vec![t("@[Ana Lima")]),
        ];
        for (text, inlines) in cases {
            assert_eq!(parse(text), draft(vec![p(inlines)]), "{text:?}");
        }
        assert_eq!(
            parse_text("hi @[Nobody Here]!", &people),
            Err(ComposeError::UnknownMention {
                name: "Nobody Here".into()
            })
        );
        let composed = compose(&parse("@[Ana Lima] and @ana")).unwrap();
        assert_eq!(
            composed.html,
            "<p><at id=\"0\">Ana Lima</at> and <at id=\"1\">Ana Lima</at></p>"
        );
        assert_eq!(composed.mentions.len(), 2);
        // A resolved name is escaped like any other text.
        assert_eq!(
            parse_html("@[<img>]"),
            "<p><at id=\"0\">&lt;img src=x onerror=alert(1)&gt;</at></p>"
        );
    }

    #[test]
    fn parse_never_interprets_html() {
        assert_eq!(parse("<b>hi</b>"), draft(vec![p(vec![t("<b>hi</b>")])]));
        assert_eq!(parse_html("<b>hi</b>"), "<p>&lt;b&gt;hi&lt;/b&gt;</p>");
        assert_eq!(
            parse_html("**<script>x</script>** `<i>`"),
            "<p><strong>&lt;script&gt;x&lt;/script&gt;</strong> <code>&lt;i&gt;</code></p>"
        );
        assert_eq!(
            parse_html("- <li>\n> </blockquote>"),
            "<ul><li>&lt;li&gt;</li></ul><blockquote>&lt;/blockquote&gt;</blockquote>"
        );
        assert_eq!(
            parse_html("```\n</code></pre><script>\n```"),
            "<pre><code>&lt;/code&gt;&lt;/pre&gt;&lt;script&gt;</code></pre>"
        );
        assert_eq!(
            parse_html("**bold *italic***"),
            "<p><strong>bold </strong><strong><em>italic</em></strong></p>"
        );
    }

    #[test]
    fn parse_then_compose_a_whole_message() {
        let text = "Hi @ana, the **release** is _out_.\n\
                    Notes: https://example.com/notes\n\
                    \n\
                    - fixed ~~crash~~\n\
                    - `perch send` works\n\
                    \n\
                    ```\nperch send --to general\n```";
        let composed = compose(&parse(text)).unwrap();
        assert_eq!(
            composed.html,
            "<p>Hi <at id=\"0\">Ana Lima</at>, the <strong>release</strong> is <em>out</em>.<br>\
             Notes: <a href=\"https://example.com/notes\">https://example.com/notes</a></p>\
             <ul><li>fixed <s>crash</s></li><li><code>perch send</code> works</li></ul>\
             <pre><code>perch send --to general</code></pre>"
        );
        assert_eq!(
            composed.text,
            "Hi Ana Lima, the release is out.\nNotes: https://example.com/notes\n\
             fixed crash\nperch send works\nperch send --to general"
        );
        assert_eq!(compose(&parse("  \n \n")), Err(ComposeError::Empty));
    }

    // --- Property-style ----------------------------------------------------------------------

    /// SplitMix64: a small, fixed-seed generator for reproducible pseudo-random drafts.
    struct Rng(u64);

    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
            let mut z = self.0;
            z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
            z ^ (z >> 31)
        }

        fn below(&mut self, n: usize) -> usize {
            (self.next() % n as u64) as usize
        }

        fn coin(&mut self) -> bool {
            self.next() & 1 == 1
        }

        fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
            items[self.below(items.len())]
        }

        fn string(&mut self, pieces: &[&str], max: usize) -> String {
            (0..self.below(max + 1))
                .map(|_| self.pick(pieces))
                .collect()
        }
    }

    const HOSTILE: &[&str] = &[
        "<",
        ">",
        "&",
        "\"",
        "'",
        "/",
        "=",
        "<script>",
        "</p>",
        "<at id=\"0\">",
        "</at>",
        "<a href=\"javascript:x\">",
        "\"><img src=x onerror=alert(1)>",
        "<!--",
        "]]>",
        "&amp;",
        "&#60;",
        "\u{0}",
        "\u{1b}",
        "\u{7}",
        "\r",
        "\n",
        "\r\n",
        "\t",
        "\u{7f}",
        "\u{200b}",
        "\u{feff}",
        "é",
        "😀",
        "a",
        "word",
        " ",
        "  ",
        "*",
        "**",
        "_",
        "~~",
        "`",
        "[",
        "]",
        "(",
        ")",
        "@",
        "@ana",
        "@[Ana Lima]",
        "https://",
        "https://example.com/x",
        "- ",
        "> ",
        "1. ",
        "```",
    ];

    const HREFS: &[&str] = &[
        "https://example.com/",
        "http://example.com/?a=<b>&c=\"d\"&e='f'",
        "https://example.com/\"><script>alert(1)</script>",
        "https://example.com/#'onmouseover='x",
        "mailto:ana@example.com?subject=<hi>",
        "javascript:alert(1)",
        "data:text/html,<script>",
        "//example.com",
        "",
    ];

    fn random_inline(rng: &mut Rng) -> Inline {
        match rng.below(6) {
            0 => Inline::Break,
            1 => Inline::Link {
                href: if rng.coin() {
                    rng.pick(HREFS).to_owned()
                } else {
                    format!("https://example.com/{}", rng.string(HOSTILE, 3))
                },
                text: rng.string(HOSTILE, 4),
            },
            // One mention in sixteen has no person or no visible name.
            2 if rng.below(16) == 0 => Inline::Mention {
                user_id: rng.pick(&["", " "]).to_owned(),
                name: rng.string(HOSTILE, 3),
            },
            2 => Inline::Mention {
                user_id: format!("u{}", rng.string(&["1", "<u>", "\"", "\u{0}"], 2)),
                name: format!(
                    "{}{}",
                    rng.pick(&["Ana", "<b>", "\"", "é"]),
                    rng.string(HOSTILE, 3)
                ),
            },
            _ => Inline::Text {
                text: rng.string(HOSTILE, 6),
                bold: rng.coin(),
                italic: rng.coin(),
                strike: rng.coin(),
                code: rng.coin(),
            },
        }
    }

    fn random_inlines(rng: &mut Rng) -> Vec<Inline> {
        (0..rng.below(6)).map(|_| random_inline(rng)).collect()
    }

    fn random_block(rng: &mut Rng) -> Block {
        let items = |rng: &mut Rng| (0..rng.below(4)).map(|_| random_inlines(rng)).collect();
        match rng.below(5) {
            0 => Block::Paragraph {
                inlines: random_inlines(rng),
            },
            1 => Block::Code {
                text: rng.string(HOSTILE, 8),
            },
            2 => Block::Bullets { items: items(rng) },
            3 => Block::Numbered { items: items(rng) },
            _ => Block::Quote {
                inlines: random_inlines(rng),
            },
        }
    }

    /// Everything a successful compose promises, whatever went in.
    fn assert_composed_well(composed: &Composed) {
        assert_safe_html(&composed.html);
        assert!(composed.html.len() <= MAX_BODY_BYTES);
        assert_eq!(
            composed.html.matches("<at id=\"").count(),
            composed.mentions.len()
        );
        for (n, m) in composed.mentions.iter().enumerate() {
            assert_eq!(m.id, n as i64);
            assert!(composed.html.contains(&format!("<at id=\"{n}\">")));
        }
        let controls = |s: &str| s.chars().any(|c| c < ' ' && c != '\n' && c != '\t');
        assert!(!controls(&composed.html), "{:?}", composed.html);
        assert!(!controls(&composed.text), "{:?}", composed.text);
    }

    #[test]
    fn random_drafts_build_only_allowed_tags() {
        let mut rng = Rng(0x5EED_F00D);
        let mut built = 0;
        for _ in 0..5000 {
            let draft = Draft {
                blocks: (0..rng.below(5)).map(|_| random_block(&mut rng)).collect(),
            };
            match compose(&draft) {
                Ok(composed) => {
                    assert_composed_well(&composed);
                    built += 1;
                }
                Err(
                    ComposeError::Empty | ComposeError::BadLink { .. } | ComposeError::BadMention,
                ) => {}
                Err(e) => panic!("unexpected {e:?} for {draft:?}"),
            }
        }
        assert!(built > 2000, "only {built} drafts built");
    }

    #[test]
    fn random_text_parses_and_builds_only_allowed_tags() {
        let mut rng = Rng(0xC0FF_EE00);
        let mut built = 0;
        for _ in 0..4000 {
            let text = rng.string(HOSTILE, 24);
            let draft = match parse_text(&text, &people) {
                Ok(draft) => draft,
                Err(ComposeError::UnknownMention { .. }) => continue,
                Err(e) => panic!("unexpected {e:?} for {text:?}"),
            };
            match compose(&draft) {
                Ok(composed) => {
                    assert_composed_well(&composed);
                    built += 1;
                }
                Err(ComposeError::Empty | ComposeError::BadLink { .. }) => {}
                Err(e) => panic!("unexpected {e:?} for {text:?}"),
            }
        }
        assert!(built > 3000, "only {built} messages built");
    }
}
