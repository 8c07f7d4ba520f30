//! Benchmark and test support (not part of the supported API): a deterministic generator of
//! realistic channel messages (Zipf-distributed vocabulary of real and made-up words, ~40 words
//! per message, several authors, roots and replies), a one-call setup of an account with teams
//! and channels, and [`bare_insert`], the plain-rusqlite baseline that ingest benchmarks print
//! beside Perch's own ingest.

use chrono::{DateTime, TimeZone, Utc};
use perch_core::{AccountId, Cloud, Hosts};
use rusqlite::{params, Connection};
use uuid::Uuid;

use crate::types::{ChannelRow, MentionRow, MessageRow, ReactionRow, TeamRow};
use crate::{AccountRecord, AccountState, CacheStore, Error, Store};

/// A small, fast, deterministic PRNG (xorshift64*).
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    /// Seeded generator (any seed; 0 is remapped).
    pub fn new(seed: u64) -> Rng {
        Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }
    /// Next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    /// Uniform in `0..n` (n > 0).
    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n
    }
    /// Uniform in `[0, 1)`.
    pub fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }
}

const COMMON: &str = "the to and a of in is it you that for on we this be with have are i \
    can will not at do so just if as was but all me from or what by an they our about my \
    there one up out get would now like please thanks team meeting today tomorrow week \
    update release build test deploy review issue bug fix change new file link doc call \
    time need know think see here back work project plan customer data server client \
    version branch merge pipeline error question help sure yes no good great ok done \
    check look share send next last before after morning afternoon sprint demo design \
    spec feedback draft report budget deadline priority ticket incident outage service \
    api endpoint database query cache latency performance dashboard metrics alert monitor \
    security access permission account login password token config setting feature flag \
    rollout rollback hotfix patch upgrade migration schema backup restore cluster node \
    network storage cost invoice contract vendor partner sales marketing launch roadmap \
    quarter goal objective result hiring interview onboarding training holiday vacation \
    office remote travel lunch coffee café naïve résumé";

const SYLLABLES: &[&str] = &[
    "ka", "lo", "mi", "ra", "te", "su", "vo", "ne", "pi", "do", "ze", "fu", "gra", "bel", "tor",
    "vin", "qua", "shi", "mor", "len", "dax", "pre", "ul", "ix", "om",
];

const FIRST: &[&str] = &[
    "Ada", "Grace", "Alan", "Linus", "Margaret", "Ken", "Barbara", "Dennis", "Frances", "Edsger",
    "Radia", "Donald", "Hedy", "John", "Karen", "Leslie", "Mary", "Niklaus", "Joan", "Tim",
];
const LAST: &[&str] = &[
    "Lovelace", "Hopper", "Turing", "Torvalds", "Hamilton", "Thompson", "Liskov", "Ritchie",
    "Allen", "Dijkstra",
];

/// Generates messages. Times advance from 2023-01-01 by 1–120 s per message.
#[derive(Debug, Clone)]
pub struct Generator {
    rng: Rng,
    vocab: Vec<String>,
    cumulative: Vec<f64>,
    /// Current creation time, unix ms.
    now_ms: i64,
    next_id: u64,
    /// Recent root ids per channel, for replies.
    roots: std::collections::HashMap<String, Vec<String>>,
    /// Authors (id, name).
    pub authors: Vec<(String, String)>,
    /// Fraction of messages that are replies.
    pub reply_share: f64,
}

impl Generator {
    /// A generator with `vocab_size` distinct words (≥ the ~250 built-in real ones).
    pub fn new(seed: u64, vocab_size: usize) -> Generator {
        let mut rng = Rng::new(seed);
        let mut vocab: Vec<String> = COMMON.split_whitespace().map(str::to_owned).collect();
        let mut seen: std::collections::HashSet<String> = vocab.iter().cloned().collect();
        while vocab.len() < vocab_size {
            let n = 2 + rng.below(3) as usize;
            let w: String = (0..n)
                .map(|_| SYLLABLES[rng.below(SYLLABLES.len() as u64) as usize])
                .collect();
            if seen.insert(w.clone()) {
                vocab.push(w);
            }
        }
        // Zipf, s = 1.
        let mut acc = 0.0;
        let cumulative = (0..vocab.len())
            .map(|r| {
                acc += 1.0 / (r as f64 + 1.0);
                acc
            })
            .collect();
        let authors = (0..200u64)
            .map(|i| {
                (
                    format!("{:08x}-0000-4000-8000-{:012x}", i + 1, i * 7919 + 1),
                    format!(
                        "{} {}",
                        FIRST[(i % FIRST.len() as u64) as usize],
                        LAST[(i / FIRST.len() as u64 % LAST.len() as u64) as usize]
                    ),
                )
            })
            .collect();
        Generator {
            rng,
            vocab,
            cumulative,
            now_ms: 1_672_531_200_000,
            next_id: 0,
            roots: Default::default(),
            authors,
            reply_share: 0.3,
        }
    }

    /// The vocabulary, most frequent first.
    pub fn vocab(&self) -> &[String] {
        &self.vocab
    }

    /// The random source.
    pub fn rng(&mut self) -> &mut Rng {
        &mut self.rng
    }

    fn word(&mut self) -> usize {
        let total = *self.cumulative.last().unwrap_or(&1.0);
        let x = self.rng.unit() * total;
        self.cumulative
            .partition_point(|&c| c < x)
            .min(self.vocab.len() - 1)
    }

    /// `n` words of text.
    pub fn text(&mut self, n: usize) -> String {
        let mut s = String::with_capacity(n * 7);
        for i in 0..n {
            if i > 0 {
                s.push(' ');
            }
            let w = self.word();
            s.push_str(&self.vocab[w]);
        }
        s
    }

    /// The next message in `channel_id` (a root or, sometimes, a reply to a recent root).
    pub fn message(&mut self, team_id: &str, channel_id: &str) -> MessageRow {
        self.now_ms += 1000 + self.rng.below(119_000) as i64;
        self.next_id += 1;
        let created = ms_time(self.now_ms);
        let id = format!("{}{:04}", self.now_ms, self.next_id % 10_000);
        let roots = self.roots.entry(channel_id.to_owned()).or_default();
        let reply_to_id = if !roots.is_empty() && self.rng.unit() < self.reply_share {
            let pick = roots.len() - 1 - (self.rng.below(roots.len().min(20) as u64) as usize);
            Some(roots[pick].clone())
        } else {
            roots.push(id.clone());
            if roots.len() > 50 {
                roots.remove(0);
            }
            None
        };
        let words = 10 + self.rng.below(61) as usize;
        let body_text = self.text(words);
        let subject = (reply_to_id.is_none() && self.rng.below(4) == 0).then(|| self.text(4));
        let (from_id, from_name) =
            self.authors[self.rng.below(self.authors.len() as u64) as usize].clone();
        let mentions = if self.rng.below(10) == 0 {
            let (uid, name) =
                self.authors[self.rng.below(self.authors.len() as u64) as usize].clone();
            vec![MentionRow {
                mention_id: 0,
                text: name.clone(),
                user_id: Some(uid),
                display_name: Some(name),
            }]
        } else {
            Vec::new()
        };
        let reactions = if self.rng.below(5) == 0 {
            vec![ReactionRow {
                reaction_type: "like".into(),
                user_id: Some(self.authors[0].0.clone()),
                display_name: None,
                created_at: Some(ms_time(self.now_ms + 5000)),
            }]
        } else {
            Vec::new()
        };
        MessageRow {
            team_id: team_id.to_owned(),
            channel_id: channel_id.to_owned(),
            id,
            reply_to_id,
            message_type: "message".into(),
            created_at: created,
            last_modified_at: created,
            last_edited_at: None,
            deleted_at: None,
            subject,
            summary: None,
            importance: "normal".into(),
            from_id: Some(from_id),
            from_name: Some(from_name),
            from_kind: Some("user".into()),
            body_html: format!("<p>{body_text}</p>"),
            body_text,
            web_url: None,
            etag: Some(self.now_ms.to_string()),
            mentions_me: !mentions.is_empty() && self.rng.below(4) == 0,
            reactions,
            mentions,
            attachments: Vec::new(),
            hosted: Vec::new(),
        }
    }
}

fn ms_time(ms: i64) -> DateTime<Utc> {
    Utc.timestamp_millis_opt(ms).single().unwrap_or_default()
}

/// `n` generated messages for one channel.
pub fn bench_rows(seed: u64, team_id: &str, channel_id: &str, n: usize) -> Vec<MessageRow> {
    let mut g = Generator::new(seed, 20_000);
    (0..n).map(|_| g.message(team_id, channel_id)).collect()
}

/// Adds an account with `teams` teams of `channels_per_team` channels each (ids `team-{t}`,
/// `19:chan-{t}-{c}@thread.tacv2`); returns it and the (team, channel) pairs.
pub fn setup_account(
    store: &mut Store,
    teams: usize,
    channels_per_team: usize,
) -> Result<(AccountId, Vec<(String, String)>), Error> {
    let id = AccountId::new(Uuid::new_v4(), Uuid::new_v4());
    let now = Utc::now();
    store.upsert_account(&AccountRecord {
        id,
        display_name: "Bench User".into(),
        upn: "bench@example.invalid".into(),
        client_id: Uuid::nil(),
        cloud: Cloud::Global,
        hosts: Hosts::of_cloud(Cloud::Global),
        state: AccountState::SignedIn,
        state_reason: None,
        added_at: now,
        updated_at: now,
    })?;
    let team_rows: Vec<TeamRow> = (0..teams)
        .map(|t| TeamRow {
            id: format!("team-{t}"),
            display_name: format!("Team {t}"),
            description: None,
        })
        .collect();
    store.replace_teams(&id, &team_rows)?;
    let mut pairs = Vec::new();
    for t in 0..teams {
        let team = format!("team-{t}");
        let chans: Vec<ChannelRow> = (0..channels_per_team)
            .map(|c| ChannelRow {
                team_id: team.clone(),
                id: format!("19:chan-{t}-{c}@thread.tacv2"),
                display_name: format!("Channel {c}"),
                description: None,
                membership_type: "standard".into(),
                web_url: None,
                followed: true,
            })
            .collect();
        store.replace_channels(&id, &team, &chans)?;
        for c in chans {
            pairs.push((team.clone(), c.id));
        }
    }
    Ok((id, pairs))
}

/// The baseline: the same rows into a plain table (no indexes, no full-text index, no child
/// rows) with one prepared statement in one transaction.
pub fn bare_insert(conn: &mut Connection, rows: &[MessageRow]) -> rusqlite::Result<()> {
    conn.execute_batch(
        "CREATE TABLE IF NOT EXISTS bare_messages (
             channel_id TEXT, id TEXT, reply_to_id TEXT, message_type TEXT, created_at INTEGER,
             last_modified_at INTEGER, subject TEXT, importance TEXT, from_id TEXT,
             from_name TEXT, body_html TEXT, body_text TEXT, etag TEXT, mentions_me INTEGER)",
    )?;
    let tx = conn.transaction()?;
    {
        let mut stmt = tx.prepare(
            "INSERT INTO bare_messages VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12,
                                               ?13, ?14)",
        )?;
        for m in rows {
            stmt.execute(params![
                m.channel_id,
                m.id,
                m.reply_to_id,
                m.message_type,
                m.created_at.timestamp_micros(),
                m.last_modified_at.timestamp_micros(),
                m.subject,
                m.importance,
                m.from_id,
                m.from_name,
                m.body_html,
                m.body_text,
                m.etag,
                m.mentions_me
            ])?;
        }
    }
    tx.commit()
}
