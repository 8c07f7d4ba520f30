//! Full-text search over the cache: turning what a person typed into a safe FTS5 query, and
//! running it against the `message_search` index (FTS5, `unicode61 remove_diacritics 2`, over
//! subject, sender name and body text).
//!
//! How a search runs (measured by `benches/search.rs`):
//! 1. Every word is quoted (so `"`, `*`, `NEAR(`, `OR`, `-`, `:` … are just text, never syntax);
//!    words with no letter or digit are dropped; the last word is a prefix unless the text ends
//!    with a space. A one-token prefix is expanded into an OR of up to 16 whole words from the
//!    `search_words` table (shortest first), which FTS5 reads lazily; FTS5's own prefix query
//!    would first merge the complete doclists of every expansion (hundreds of ms for `the*`).
//! 2. Filters are index terms too: the `scope` column holds `a{account}`, `c{channel}` and
//!    `u{sender}` tokens, so account, team (an OR of its channels), channel and sender filters
//!    are intersections inside FTS5 rather than joins; date filters are rowid ranges because a
//!    message's rowid starts with its creation millisecond.
//! 3. At most [`CANDIDATES`] matches are ranked: the newest (rowid order, which FTS5 reads
//!    straight from its doclists, stopping after that many). A search for a word found in half a
//!    million messages so costs about the same as one found in a few thousand; the price is that
//!    older matches of very common words are not ranked.
//! 4. They are ranked by BM25 (k1 = 1.2, b = 0.75, column weights subject 4, sender 2, body 1,
//!    the formula of FTS5's `bm25()`), computed here rather than by `bm25()`: FTS5's function
//!    first counts the documents of every phrase by walking its whole doclist, which for a common
//!    word (or the account filter token, present in every row) costs tens of milliseconds at a
//!    million messages. Here term frequencies come from tokenizing the candidates' text the way
//!    `unicode61 remove_diacritics 2` does (close enough for ranking); document frequencies are
//!    estimated (see [`DF_PROBE`]) and only for queries of two or more words (with one word,
//!    IDF does not change the order); the row count and average length come from FTS5's totals
//!    record.
//! 5. Each hit is checked against the exact filters, and the snippet (body text, matches marked)
//!    is computed by FTS5's `snippet()` for the returned rows only.

use perch_core::AccountId;
use rusqlite::{params, Connection, OptionalExtension};

use crate::cache::{account_token, acct, mid_floor, sender_token, time, us, MID_SEQ_BITS};
use crate::types::{MessageKey, SearchHit, SearchQuery, SnippetPart};
use crate::Error;

/// How many of the newest matches are ranked.
pub const CANDIDATES: usize = 500;

/// Tokens of context in a snippet.
const SNIPPET_TOKENS: i64 = 16;

const OPEN: char = '\u{1}';
const CLOSE: char = '\u{2}';

/// Quotes one word as an FTS5 string.
fn quote(word: &str) -> String {
    format!("\"{}\"", word.replace('"', "\"\""))
}

/// The FTS5 expression for what the person typed, restricted to the text columns, with FTS5's
/// own prefix syntax on the last word (search itself expands prefixes); None when nothing
/// searchable is left.
pub fn text_expression(text: &str) -> Option<String> {
    let words: Vec<&str> = text
        .split_whitespace()
        .filter(|w| w.chars().any(char::is_alphanumeric))
        .collect();
    let last = words.len().checked_sub(1)?;
    let prefix = !text.ends_with(char::is_whitespace);
    let phrases: Vec<String> = words
        .iter()
        .enumerate()
        .map(|(i, w)| {
            let mut p = quote(w);
            if i == last && prefix {
                p.push_str(" *");
            }
            p
        })
        .collect();
    Some(format!(
        "{{subject from_name body_text}} : ({})",
        phrases.join(" AND ")
    ))
}

/// Splits a snippet marked with [`OPEN`]/[`CLOSE`] into parts.
fn parts(marked: &str) -> Vec<SnippetPart> {
    let mut out: Vec<SnippetPart> = Vec::new();
    let mut cur = String::new();
    let mut hl = false;
    for ch in marked.chars() {
        if ch == OPEN || ch == CLOSE {
            if !cur.is_empty() {
                out.push(SnippetPart {
                    text: std::mem::take(&mut cur),
                    highlight: hl,
                });
            }
            hl = ch == OPEN;
        } else {
            cur.push(ch);
        }
    }
    if !cur.is_empty() {
        out.push(SnippetPart {
            text: cur,
            highlight: hl,
        });
    }
    out
}

/// One quoted word of the query, as index tokens.
struct Phrase {
    tokens: Vec<String>,
    /// The last token matches as a prefix.
    prefix: bool,
}

/// Lower-cases and removes common Latin diacritics, like `unicode61 remove_diacritics 2`.
fn fold(c: char) -> char {
    let c = c.to_lowercase().next().unwrap_or(c);
    match c {
        'à'..='å' | 'ā' | 'ă' | 'ą' => 'a',
        'ç' | 'ć' | 'ĉ' | 'ċ' | 'č' => 'c',
        'ď' | 'đ' => 'd',
        'è'..='ë' | 'ē' | 'ĕ' | 'ė' | 'ę' | 'ě' => 'e',
        'ĝ' | 'ğ' | 'ġ' | 'ģ' => 'g',
        'ì'..='ï' | 'ĩ' | 'ī' | 'ĭ' | 'į' | 'ı' => 'i',
        'ñ' | 'ń' | 'ņ' | 'ň' => 'n',
        'ò'..='ö' | 'ø' | 'ō' | 'ŏ' | 'ő' => 'o',
        'ś' | 'ŝ' | 'ş' | 'š' => 's',
        'ţ' | 'ť' => 't',
        'ù'..='ü' | 'ũ' | 'ū' | 'ŭ' | 'ů' | 'ű' | 'ų' => 'u',
        'ý' | 'ÿ' => 'y',
        'ź' | 'ż' | 'ž' => 'z',
        other => other,
    }
}

/// Index tokens of a text (approximately unicode61's), folded.
fn tokens(text: &str) -> Vec<String> {
    raw_tokens(text).map(folded).collect()
}

fn raw_tokens(text: &str) -> impl Iterator<Item = &str> {
    text.split(|c: char| !c.is_alphanumeric())
        .filter(|t| !t.is_empty())
}

fn folded(t: &str) -> String {
    t.chars().map(fold).collect()
}

/// Whether raw token `doc` folds to `q` (already folded), or starts with it when `prefix`.
fn token_matches(doc: &str, q: &str, prefix: bool) -> bool {
    if doc.is_ascii() && q.is_ascii() {
        if prefix {
            doc.len() >= q.len() && doc.as_bytes()[..q.len()].eq_ignore_ascii_case(q.as_bytes())
        } else {
            doc.eq_ignore_ascii_case(q)
        }
    } else {
        let mut d = doc.chars().map(fold);
        let mut qc = q.chars();
        loop {
            match (qc.next(), d.next()) {
                (None, None) => return true,
                (None, Some(_)) => return prefix,
                (Some(_), None) => return false,
                (Some(a), Some(b)) if a == b => {}
                _ => return false,
            }
        }
    }
}

/// The words already in `search_words` (loaded once, on the first ingest).
#[derive(Default)]
pub(crate) struct Words(Option<std::collections::HashSet<String>>);

impl std::fmt::Debug for Words {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Words({})", self.0.as_ref().map_or(0, |w| w.len()))
    }
}

impl Words {
    pub(crate) fn load(&mut self, conn: &Connection) -> Result<(), Error> {
        if self.0.is_none() {
            let words = conn
                .prepare("SELECT word FROM search_words")?
                .query_map([], |r| r.get(0))?
                .collect::<Result<_, _>>()?;
            self.0 = Some(words);
        }
        Ok(())
    }

    /// Adds the message's words that are not known yet to `out`.
    pub(crate) fn collect(&self, m: &crate::MessageRow, out: &mut Vec<String>) {
        let Some(known) = &self.0 else { return };
        let texts = [
            m.subject.as_deref(),
            m.from_name.as_deref(),
            Some(m.body_text.as_str()),
        ];
        for t in raw_tokens(&texts.into_iter().flatten().collect::<Vec<_>>().join(" ")) {
            let w = if t
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
            {
                if known.contains(t) {
                    continue;
                }
                t.to_owned()
            } else {
                let w = folded(t);
                if known.contains(&w) {
                    continue;
                }
                w
            };
            if !out.contains(&w) {
                out.push(w);
            }
        }
    }

    pub(crate) fn remember(&mut self, words: Vec<String>) {
        if let Some(known) = &mut self.0 {
            known.extend(words);
        }
    }
}

/// Whole words a prefix expands to, shortest first. Each costs FTS5 a reverse seek per index
/// segment, so few: 64 put a prefix search's p95 at 60 ms over a million messages.
const MAX_EXPANSIONS: i64 = 16;

/// The FTS5 expression for one phrase: quoted tokens; a one-token prefix becomes an OR of the
/// stored words it expands to (FTS5's own prefix query when none are known).
fn phrase_expression(conn: &Connection, p: &Phrase) -> Result<String, Error> {
    let mut e = p
        .tokens
        .iter()
        .map(|t| quote(t))
        .collect::<Vec<_>>()
        .join(" + ");
    if p.prefix {
        if let [only] = p.tokens.as_slice() {
            let mut hi = only.clone();
            hi.push(char::MAX);
            let words: Vec<String> = conn
                .prepare_cached(
                    "SELECT word FROM search_words WHERE word >= ?1 AND word < ?2
                     ORDER BY length(word), word LIMIT ?3",
                )?
                .query_map(params![only, hi, MAX_EXPANSIONS], |r| r.get(0))?
                .collect::<Result<_, _>>()?;
            if !words.is_empty() {
                return Ok(format!(
                    "({})",
                    words
                        .iter()
                        .map(|w| quote(w))
                        .collect::<Vec<_>>()
                        .join(" OR ")
                ));
            }
        }
        e.push_str(" *");
    }
    Ok(e)
}

fn phrases(text: &str) -> Vec<Phrase> {
    let words: Vec<&str> = text
        .split_whitespace()
        .filter(|w| w.chars().any(char::is_alphanumeric))
        .collect();
    let prefix = !text.ends_with(char::is_whitespace);
    let n = words.len();
    words
        .iter()
        .enumerate()
        .map(|(i, w)| Phrase {
            tokens: tokens(w),
            prefix: prefix && i + 1 == n,
        })
        .filter(|p| !p.tokens.is_empty())
        .collect()
}

/// Occurrences of a phrase in a (raw) token list.
fn occurrences(p: &Phrase, toks: &[&str]) -> f64 {
    let k = p.tokens.len();
    if toks.len() < k {
        return 0.0;
    }
    let mut n = 0.0;
    for start in 0..=toks.len() - k {
        let hit = p
            .tokens
            .iter()
            .enumerate()
            .all(|(j, t)| token_matches(toks[start + j], t, p.prefix && j + 1 == k));
        if hit {
            n += 1.0;
        }
    }
    n
}

/// SQLite's variable-length integer (as FTS5 stores its totals).
fn varint(b: &[u8]) -> Option<(u64, usize)> {
    let mut v: u64 = 0;
    for (i, &x) in b.iter().enumerate().take(9) {
        if i == 8 {
            return Some(((v << 8) | u64::from(x), 9));
        }
        v = (v << 7) | u64::from(x & 0x7f);
        if x & 0x80 == 0 {
            return Some((v, i + 1));
        }
    }
    None
}

/// Rows in the index and their average length in tokens (text columns), from FTS5's totals
/// record; rough defaults when it cannot be read.
fn totals(conn: &Connection) -> Result<(f64, f64), Error> {
    let block: Option<Vec<u8>> = conn
        .prepare_cached("SELECT block FROM message_search_data WHERE id = 1")?
        .query_row([], |r| r.get(0))
        .optional()?;
    let parsed = block.and_then(|b| {
        let (rows, mut at) = varint(&b)?;
        let mut tokens = 0u64;
        for _ in 0..3 {
            let (t, n) = varint(&b[at..])?;
            tokens += t;
            at += n;
        }
        Some((rows as f64, tokens as f64 / (rows.max(1)) as f64))
    });
    Ok(parsed.unwrap_or((1_000_000.0, 40.0)))
}

/// Matches looked at to estimate a phrase's document frequency.
const DF_PROBE: i64 = 256;

/// About how many documents contain a phrase. Exact below [`DF_PROBE`] matches; above, scaled
/// from the time span the newest [`DF_PROBE`] matches cover (rowids start with the creation
/// millisecond), which is cheap whatever the word. Counting exactly (`fts5vocab`) walks the whole
/// doclist: 100 ms for a stop word at a million messages.
fn doc_freq(conn: &Connection, expr: &str, span: (i64, i64), n_docs: f64) -> Result<f64, Error> {
    let rows: Vec<i64> = conn
        .prepare_cached(
            "SELECT rowid FROM message_search WHERE message_search MATCH ?1
             ORDER BY rowid DESC LIMIT ?2",
        )?
        .query_map(params![expr, DF_PROBE], |r| r.get(0))?
        .collect::<Result<_, _>>()?;
    let (Some(&newest), Some(&oldest)) = (rows.first(), rows.last()) else {
        return Ok(0.0);
    };
    if (rows.len() as i64) < DF_PROBE {
        return Ok(rows.len() as f64);
    }
    let covered = ((newest >> MID_SEQ_BITS) - (oldest >> MID_SEQ_BITS)).max(1) as f64;
    let total = ((span.1 >> MID_SEQ_BITS) - (span.0 >> MID_SEQ_BITS)).max(1) as f64;
    Ok((DF_PROBE as f64 * total / covered).min(n_docs))
}

const K1: f64 = 1.2;
const B: f64 = 0.75;
const WEIGHTS: [f64; 3] = [4.0, 2.0, 1.0];

pub(crate) fn search(
    conn: &Connection,
    account: &AccountId,
    q: &SearchQuery,
) -> Result<Vec<SearchHit>, Error> {
    let limit = match q.limit {
        0 => 20,
        n => n.min(200),
    };
    let query_phrases = phrases(&q.text);
    if query_phrases.is_empty() {
        return Ok(Vec::new());
    }
    let text = format!(
        "{{subject from_name body_text}} : ({})",
        query_phrases
            .iter()
            .map(|p| phrase_expression(conn, p))
            .collect::<Result<Vec<_>, _>>()?
            .join(" AND ")
    );
    let (tenant, user) = acct(account);
    let mut filters = Vec::new();
    // The account token is only needed when another account has channels too.
    let others: bool = conn
        .prepare_cached(
            "SELECT EXISTS (SELECT 1 FROM channels WHERE tenant_id <> ?1 OR user_id <> ?2)",
        )?
        .query_row(params![tenant, user], |r| r.get(0))?;
    if others {
        filters.push(format!("{{scope}} : {}", quote(&account_token(account))));
    }
    if let Some(ch) = &q.channel_id {
        let cid: Option<i64> = conn
            .prepare_cached(
                "SELECT cid FROM channels WHERE tenant_id = ?1 AND user_id = ?2 AND id = ?3",
            )?
            .query_row(params![tenant, user, ch], |r| r.get(0))
            .optional()?;
        let Some(cid) = cid else {
            return Ok(Vec::new());
        };
        filters.push(format!("{{scope}} : \"c{cid}\""));
    }
    if let Some(team) = &q.team_id {
        let cids: Vec<i64> = conn
            .prepare_cached(
                "SELECT cid FROM channels WHERE tenant_id = ?1 AND user_id = ?2 AND team_id = ?3",
            )?
            .query_map(params![tenant, user, team], |r| r.get(0))?
            .collect::<Result<_, _>>()?;
        if cids.is_empty() {
            return Ok(Vec::new());
        }
        let any: Vec<String> = cids.iter().map(|c| format!("\"c{c}\"")).collect();
        filters.push(format!("{{scope}} : ({})", any.join(" OR ")));
    }
    if let Some(from) = &q.from_id {
        filters.push(format!("{{scope}} : {}", quote(&sender_token(from))));
    }
    filters.push(text.clone());
    let full = filters.join(" AND ");
    let after = q.after.map(us);
    let before = q.before.map(us);
    let lo = after.map_or(i64::MIN, mid_floor);
    let hi = before.map_or(i64::MAX, |b| mid_floor(b - 1) + (1 << MID_SEQ_BITS));

    struct Candidate {
        mid: i64,
        team_id: String,
        channel_id: String,
        root_id: String,
        id: String,
        from_name: Option<String>,
        created: i64,
        subject: Option<String>,
        score: f64,
    }
    let (n_docs, avgdl) = totals(conn)?;
    let idf: Vec<f64> = if query_phrases.len() > 1 {
        let span: (i64, i64) = conn
            .prepare_cached("SELECT ifnull((SELECT min(mid) FROM messages), 0), ifnull((SELECT max(mid) FROM messages), 0)")?
            .query_row([], |r| Ok((r.get(0)?, r.get(1)?)))?;
        query_phrases
            .iter()
            .map(|p| {
                let mut e = p
                    .tokens
                    .iter()
                    .map(|t| quote(t))
                    .collect::<Vec<_>>()
                    .join(" + ");
                if p.prefix {
                    e.push_str(" *");
                }
                let df = doc_freq(
                    conn,
                    &format!("{{subject from_name body_text}} : {e}"),
                    span,
                    n_docs,
                )?;
                Ok((((n_docs - df + 0.5) / (df + 0.5)) + 1.0).ln().max(1e-6))
            })
            .collect::<Result<_, Error>>()?
    } else {
        vec![1.0; query_phrases.len()]
    };
    let mut candidates: Vec<Candidate> = Vec::new();
    {
        let mut stmt = conn.prepare_cached(
            // CROSS JOIN keeps the candidates as the outer loop (rowid lookups into messages).
            "SELECT m.mid, c.team_id, c.id, m.root_id, m.id, m.from_name, m.created_at, m.subject,
                    m.from_id, m.body_text
             FROM (SELECT rowid AS mid FROM message_search
                   WHERE message_search MATCH ?1 AND rowid >= ?2 AND rowid < ?3
                   ORDER BY rowid DESC LIMIT ?4) f
             CROSS JOIN messages m ON m.mid = f.mid
             CROSS JOIN channels c ON c.cid = m.cid
             WHERE c.tenant_id = ?5 AND c.user_id = ?6 AND m.deleted_at IS NULL
               AND m.created_at >= ?7 AND m.created_at < ?8",
        )?;
        let mut rows = stmt.query(params![
            full,
            lo,
            hi,
            CANDIDATES as i64,
            tenant,
            user,
            after.unwrap_or(i64::MIN),
            before.unwrap_or(i64::MAX)
        ])?;
        while let Some(r) = rows.next()? {
            let from_id: Option<String> = r.get(8)?;
            let channel_id: String = r.get(2)?;
            let team_id: String = r.get(1)?;
            if q.from_id
                .as_ref()
                .is_some_and(|f| from_id.as_ref() != Some(f))
                || q.channel_id.as_ref().is_some_and(|c| *c != channel_id)
                || q.team_id.as_ref().is_some_and(|t| *t != team_id)
            {
                continue;
            }
            let from_name: Option<String> = r.get(5)?;
            let subject: Option<String> = r.get(7)?;
            let body: String = r.get(9)?;
            let cols: [Vec<&str>; 3] = [
                raw_tokens(subject.as_deref().unwrap_or("")).collect(),
                raw_tokens(from_name.as_deref().unwrap_or("")).collect(),
                raw_tokens(&body).collect(),
            ];
            let len: usize = cols.iter().map(Vec::len).sum();
            let norm = K1 * (1.0 - B + B * len as f64 / avgdl.max(1.0));
            let score: f64 = query_phrases
                .iter()
                .zip(&idf)
                .map(|(p, idf)| {
                    let tf: f64 = cols
                        .iter()
                        .zip(WEIGHTS)
                        .map(|(toks, w)| w * occurrences(p, toks))
                        .sum();
                    idf * tf * (K1 + 1.0) / (tf + norm)
                })
                .sum();
            candidates.push(Candidate {
                mid: r.get(0)?,
                team_id,
                channel_id,
                root_id: r.get(3)?,
                id: r.get(4)?,
                from_name,
                created: r.get(6)?,
                subject,
                score,
            });
        }
    }
    // Best first; ties go to the newer message.
    candidates.sort_by(|a, b| b.score.total_cmp(&a.score).then(b.mid.cmp(&a.mid)));
    candidates.truncate(limit);

    let mut snippet = conn.prepare_cached(
        "SELECT snippet(message_search, 2, char(1), char(2), '…', ?3) FROM message_search
         WHERE message_search MATCH ?1 AND rowid = ?2",
    )?;
    let mut hits = Vec::with_capacity(candidates.len());
    for c in candidates {
        let marked: String = snippet
            .query_row(params![text, c.mid, SNIPPET_TOKENS], |r| r.get(0))
            .optional()?
            .unwrap_or_default();
        hits.push(SearchHit {
            key: MessageKey {
                channel_id: c.channel_id,
                root_id: c.root_id,
                id: c.id,
            },
            team_id: c.team_id,
            from_name: c.from_name,
            created_at: time(c.created, "messages.created_at")?,
            subject: c.subject,
            snippet: parts(&marked),
            rank: c.score,
        });
    }
    Ok(hits)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_text_becomes_quoted_phrases() {
        assert_eq!(
            text_expression("hello wor").unwrap(),
            "{subject from_name body_text} : (\"hello\" AND \"wor\" *)"
        );
        assert_eq!(
            text_expression("say \"NEAR(x\" ").unwrap(),
            "{subject from_name body_text} : (\"say\" AND \"\"\"NEAR(x\"\"\")"
        );
        assert_eq!(text_expression("  * - \" ( "), None);
        assert_eq!(text_expression(""), None);
    }

    #[test]
    fn snippet_parts() {
        let p = parts("a \u{1}b\u{2} c");
        assert_eq!(
            p,
            vec![
                SnippetPart {
                    text: "a ".into(),
                    highlight: false
                },
                SnippetPart {
                    text: "b".into(),
                    highlight: true
                },
                SnippetPart {
                    text: " c".into(),
                    highlight: false
                },
            ]
        );
    }
}
