//! Text helpers: the plain-text builder (whitespace collapsing and line breaks), HTML escaping,
//! decoding the few character references that canonical html5ever output contains, and the
//! handling of `contentType: "text"` bodies.
//!
//! The plain-text rules, shared by every path: runs of whitespace become one space, block
//! boundaries one line break, each `<br>` (or newline in `<pre>` and text bodies) a line break
//! with at most two in a row; leading and trailing whitespace is dropped; control characters
//! other than whitespace are dropped.

use std::borrow::Cow;

/// Builds plain text with collapsed whitespace and bounded line breaks.
#[derive(Debug, Default)]
pub struct TextOut {
    out: String,
    /// Whitespace seen since the last character (becomes one space).
    space: bool,
    /// Line breaks owed before the next character (0–2).
    breaks: u8,
}

impl TextOut {
    /// An empty builder with room for `capacity` bytes.
    pub fn with_capacity(capacity: usize) -> Self {
        TextOut {
            out: String::with_capacity(capacity),
            space: false,
            breaks: 0,
        }
    }

    /// Whitespace: one space before the next character, unless a line break is owed.
    pub fn space(&mut self) {
        self.space = true;
    }

    /// A `<br>`: one more line break (at most two in a row).
    pub fn line_break(&mut self) {
        self.breaks = (self.breaks + 1).min(2);
    }

    /// A block boundary: at least one line break.
    pub fn block(&mut self) {
        self.breaks = self.breaks.max(1);
    }

    /// Appends one character of content.
    pub fn push_char(&mut self, c: char) {
        if c.is_whitespace() {
            self.space = true;
            return;
        }
        if c.is_control() {
            return;
        }
        self.separate();
        self.out.push(c);
    }

    /// Writes the space or line breaks owed before new content.
    fn separate(&mut self) {
        if !self.out.is_empty() {
            if self.breaks > 0 {
                for _ in 0..self.breaks {
                    self.out.push('\n');
                }
            } else if self.space {
                self.out.push(' ');
            }
        }
        self.breaks = 0;
        self.space = false;
    }

    /// Appends text whose whitespace collapses, newlines included. Same result as
    /// [`TextOut::push_char`] for each character, with runs of printable ASCII copied at once.
    pub fn push_str(&mut self, text: &str) {
        let bytes = text.as_bytes();
        let mut i = 0;
        while i < bytes.len() {
            let b = bytes[i];
            if b.is_ascii_graphic() {
                let start = i;
                while i < bytes.len() && bytes[i].is_ascii_graphic() {
                    i += 1;
                }
                self.separate();
                self.out.push_str(&text[start..i]);
            } else if b.is_ascii() {
                // Space, tab, LF, VT, FF and CR are whitespace; other ASCII controls dropped.
                if matches!(b, b' ' | b'\t' | b'\n' | b'\x0B' | b'\x0C' | b'\r') {
                    self.space = true;
                }
                i += 1;
            } else {
                let c = text[i..].chars().next().unwrap_or_default();
                self.push_char(c);
                i += c.len_utf8();
            }
        }
    }

    /// Appends text whose newlines are line breaks (`<pre>` content, text bodies).
    pub fn push_lines(&mut self, text: &str) {
        let mut after_cr = false;
        for c in text.chars() {
            match c {
                '\n' if after_cr => {}
                '\n' | '\r' => self.line_break(),
                c => self.push_char(c),
            }
            after_cr = c == '\r';
        }
    }

    /// The text, trimmed.
    pub fn finish(self) -> String {
        self.out
    }
}

/// Collapses the whitespace of an HTML body that has no markup.
pub fn collapse(text: &str) -> String {
    let mut out = TextOut::with_capacity(text.len());
    out.push_str(text);
    out.finish()
}

/// Plain text of a `contentType: "text"` body: its lines kept, spaces collapsed.
pub fn text_body_plain(text: &str) -> String {
    let mut out = TextOut::with_capacity(text.len());
    out.push_lines(text);
    out.finish()
}

/// HTML for a `contentType: "text"` body: escaped, each line break (`\r\n`, `\n` or `\r`) a
/// `<br>`, control characters other than tab dropped.
pub fn text_body_html(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + text.len() / 8);
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\r' => {
                if chars.peek() == Some(&'\n') {
                    chars.next();
                }
                out.push_str("<br>");
            }
            '\n' => out.push_str("<br>"),
            '\t' => out.push('\t'),
            c if c.is_control() => {}
            c => push_escaped_char(&mut out, c),
        }
    }
    out
}

/// HTML for an HTML body without `<`, `&`, NUL or CR (the parser's output would be the same).
/// Only `>` needs escaping there; like the serialiser, quotes in text are left alone.
pub fn escape_simple_html(text: &str) -> String {
    if !text.contains('>') {
        return text.to_owned();
    }
    text.replace('>', "&gt;")
}

/// Appends `text` escaped for HTML text and double-quoted attribute values.
pub fn push_escaped(out: &mut String, text: &str) {
    let mut start = 0;
    for (i, b) in text.bytes().enumerate() {
        let rep = match b {
            b'&' => "&amp;",
            b'<' => "&lt;",
            b'>' => "&gt;",
            b'"' => "&quot;",
            _ => continue,
        };
        out.push_str(&text[start..i]);
        out.push_str(rep);
        start = i + 1;
    }
    out.push_str(&text[start..]);
}

fn push_escaped_char(out: &mut String, c: char) {
    match c {
        '&' => out.push_str("&amp;"),
        '<' => out.push_str("&lt;"),
        '>' => out.push_str("&gt;"),
        '"' => out.push_str("&quot;"),
        '\'' => out.push_str("&#39;"),
        c => out.push(c),
    }
}

/// Decodes the character references html5ever's serialiser writes (`&amp;`, `&lt;`, `&gt;`,
/// `&quot;`, `&nbsp;`); numeric ones are decoded too. Anything else stays as it is.
pub fn decode_entities(text: &str) -> Cow<'_, str> {
    if !text.contains('&') {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(pos) = rest.find('&') {
        out.push_str(&rest[..pos]);
        let tail = &rest[pos..];
        // `;` is ASCII, so the name between `&` and it is on character boundaries.
        let decoded = tail.as_bytes()[1..tail.len().min(12)]
            .iter()
            .position(|&b| b == b';')
            .and_then(|semi| Some((entity(&tail[1..1 + semi])?, semi + 2)));
        match decoded {
            Some((c, used)) => {
                out.push(c);
                rest = &tail[used..];
            }
            None => {
                out.push('&');
                rest = &tail[1..];
            }
        }
    }
    out.push_str(rest);
    Cow::Owned(out)
}

fn entity(name: &str) -> Option<char> {
    match name {
        "amp" => Some('&'),
        "lt" => Some('<'),
        "gt" => Some('>'),
        "quot" => Some('"'),
        "nbsp" => Some('\u{a0}'),
        "apos" => Some('\''),
        _ => {
            let num = name.strip_prefix('#')?;
            let code = match num.strip_prefix(['x', 'X']) {
                Some(hex) => u32::from_str_radix(hex, 16).ok()?,
                None => num.parse().ok()?,
            };
            char::from_u32(code)
        }
    }
}
