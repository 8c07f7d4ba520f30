//! Desktop notifications: which new messages deserve one, and how they are coalesced. Pure:
//! the app feeds [`Notifier::consider`] the messages a delta round inserted and hands what comes
//! out to the shell (tauri-plugin-notification). The rules:
//!
//! - never for my own messages, system events, deleted messages, or messages older than the
//!   notifier (a first sync's history is not news);
//! - never for the channel in view while the window is visible;
//! - a channel set to `off` never notifies; `mentions` (the default) notifies when the message
//!   mentions me; `all` notifies every new message of a followed channel;
//! - nothing during quiet hours;
//! - coalesced per channel: one notification per channel per batch, and at most one per channel
//!   every [`Notifier::min_gap`]; messages held back are counted into the next one;
//! - the text is plain (perch-html's text), cut short, and replaced by a neutral line when
//!   previews are off (a policy can force that).

use std::collections::HashMap;
use std::time::Duration;

use chrono::{DateTime, Utc};

use crate::dto::{MessageKeyDto, NotifyLevelDto};

/// A message a round brought in, with what the rules need.
#[derive(Debug, Clone)]
pub struct Incoming {
    /// The message.
    pub key: MessageKeyDto,
    /// Its channel's name.
    pub channel_name: String,
    /// Its team's name.
    pub team_name: String,
    /// Whether the channel is followed.
    pub followed: bool,
    /// The channel's setting.
    pub level: NotifyLevelDto,
    /// Sender's id.
    pub from_id: Option<String>,
    /// Sender's name.
    pub from_name: Option<String>,
    /// "message" or a system type.
    pub message_type: String,
    /// Posted at.
    pub created_at: DateTime<Utc>,
    /// Tombstone.
    pub deleted: bool,
    /// It mentions me.
    pub mentions_me: bool,
    /// Plain text of the body.
    pub text: String,
    /// Subject, for posts.
    pub subject: Option<String>,
}

/// What the shell shows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Notification {
    /// The first line.
    pub title: String,
    /// The text.
    pub body: String,
    /// Where activating it leads (the newest message of the batch).
    pub target: MessageKeyDto,
    /// Whether a mention is among the messages.
    pub mention: bool,
}

/// The person's context when a batch arrives.
#[derive(Debug, Clone)]
pub struct Context<'a> {
    /// My user id.
    pub me: &'a str,
    /// The channel on screen, if the window is visible.
    pub in_view: Option<&'a str>,
    /// Inside quiet hours.
    pub quiet: bool,
    /// Show message text.
    pub previews: bool,
    /// Now.
    pub now: DateTime<Utc>,
}

/// See the module docs.
#[derive(Debug)]
pub struct Notifier {
    since: DateTime<Utc>,
    /// At most one notification per channel this often.
    pub min_gap: Duration,
    last: HashMap<String, DateTime<Utc>>,
    held: HashMap<String, Held>,
}

/// Messages of a channel held back by the gap.
#[derive(Debug)]
struct Held {
    count: usize,
    mention: bool,
    newest: Incoming,
}

/// Longest preview, in characters.
pub const PREVIEW_CHARS: usize = 160;

impl Notifier {
    /// A notifier that ignores messages created before `since`.
    pub fn new(since: DateTime<Utc>) -> Notifier {
        Notifier {
            since,
            min_gap: Duration::from_secs(30),
            last: HashMap::new(),
            held: HashMap::new(),
        }
    }

    fn wanted(m: &Incoming, ctx: &Context<'_>, since: DateTime<Utc>) -> bool {
        if m.deleted
            || m.message_type != "message"
            || m.from_id.as_deref() == Some(ctx.me)
            || m.created_at < since
            || ctx.in_view == Some(m.key.channel_id.as_str())
            || ctx.quiet
        {
            return false;
        }
        match m.level {
            NotifyLevelDto::Off => false,
            NotifyLevelDto::Mentions => m.mentions_me,
            NotifyLevelDto::All => m.mentions_me || m.followed,
        }
    }

    /// The notifications for one batch of new messages (any channels, any order).
    pub fn consider(&mut self, batch: &[Incoming], ctx: &Context<'_>) -> Vec<Notification> {
        let mut by_channel: Vec<(String, Vec<&Incoming>)> = Vec::new();
        for m in batch.iter().filter(|m| Self::wanted(m, ctx, self.since)) {
            match by_channel.iter_mut().find(|(c, _)| *c == m.key.channel_id) {
                Some((_, list)) => list.push(m),
                None => by_channel.push((m.key.channel_id.clone(), vec![m])),
            }
        }
        let gap = chrono::Duration::from_std(self.min_gap).unwrap_or_default();
        let mut out = Vec::new();
        for (channel, mut list) in by_channel {
            list.sort_by_key(|m| m.created_at);
            let mention = list.iter().any(|m| m.mentions_me);
            let too_soon = self.last.get(&channel).is_some_and(|t| ctx.now - *t < gap);
            let newest = list[list.len() - 1];
            if too_soon {
                let held = self.held.entry(channel).or_insert_with(|| Held {
                    count: 0,
                    mention: false,
                    newest: newest.clone(),
                });
                held.count += list.len();
                held.mention |= mention;
                held.newest = newest.clone();
                continue;
            }
            let (held, held_mention) = self
                .held
                .remove(&channel)
                .map_or((0, false), |h| (h.count, h.mention));
            self.last.insert(channel, ctx.now);
            out.push(render(&list, held, mention || held_mention, newest, ctx));
        }
        out
    }

    /// The notifications held back by the gap whose gap has passed (call every few seconds),
    /// so that a mention that arrived just after another notification is not lost.
    pub fn flush(&mut self, ctx: &Context<'_>) -> Vec<Notification> {
        let gap = chrono::Duration::from_std(self.min_gap).unwrap_or_default();
        let due: Vec<String> = self
            .held
            .keys()
            .filter(|c| self.last.get(*c).is_none_or(|t| ctx.now - *t >= gap))
            .cloned()
            .collect();
        let mut out = Vec::new();
        for channel in due {
            if let Some(h) = self.held.remove(&channel) {
                self.last.insert(channel, ctx.now);
                out.push(render(&[], h.count, h.mention, &h.newest, ctx));
            }
        }
        out
    }

    /// Whether anything is held back.
    pub fn holding(&self) -> bool {
        !self.held.is_empty()
    }
}

fn render(
    list: &[&Incoming],
    held: usize,
    mention: bool,
    newest: &Incoming,
    ctx: &Context<'_>,
) -> Notification {
    let total = list.len() + held;
    let place = format!("{} › {}", newest.team_name, newest.channel_name);
    let who = newest.from_name.as_deref().unwrap_or("Someone");
    let title = if total == 1 && mention {
        format!("{who} mentioned you in {place}")
    } else if total == 1 {
        format!("{who} in {place}")
    } else if mention {
        format!("{total} new messages in {place}, including a mention of you")
    } else {
        format!("{total} new messages in {place}")
    };
    let body = if ctx.previews {
        let text = match &newest.subject {
            Some(s) if !s.is_empty() => format!("{s}: {}", newest.text),
            _ => newest.text.clone(),
        };
        let text = shorten(&text, PREVIEW_CHARS);
        if total == 1 {
            text
        } else {
            format!("{who}: {text}")
        }
    } else {
        "New activity in Perch".to_owned()
    };
    Notification {
        title,
        body,
        target: newest.key.clone(),
        mention,
    }
}

/// At most `max` characters of `text` on one line, with an ellipsis when cut.
pub fn shorten(text: &str, max: usize) -> String {
    let one_line: String = text.split_whitespace().collect::<Vec<_>>().join(" ");
    if one_line.chars().count() <= max {
        return one_line;
    }
    let mut out: String = one_line.chars().take(max.saturating_sub(1)).collect();
    out.push('…');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t0() -> DateTime<Utc> {
        "2026-12-04T10:00:00Z".parse().unwrap()
    }

    fn msg(channel: &str, id: &str, level: NotifyLevelDto, mention: bool) -> Incoming {
        Incoming {
            key: MessageKeyDto {
                channel_id: channel.into(),
                root_id: id.into(),
                id: id.into(),
            },
            channel_name: format!("{channel}-name"),
            team_name: "Eng".into(),
            followed: true,
            level,
            from_id: Some("ann".into()),
            from_name: Some("Ann".into()),
            message_type: "message".into(),
            created_at: t0() + chrono::Duration::seconds(id.len() as i64),
            deleted: false,
            mentions_me: mention,
            text: "  the deploy\n is   done ".into(),
            subject: None,
        }
    }

    fn ctx(now: DateTime<Utc>) -> Context<'static> {
        Context {
            me: "me",
            in_view: Some("in-view"),
            quiet: false,
            previews: true,
            now,
        }
    }

    #[test]
    fn levels_decide_and_mine_and_old_and_in_view_never_notify() {
        let mut n = Notifier::new(t0());
        let mut mine = msg("a", "1", NotifyLevelDto::All, true);
        mine.from_id = Some("me".into());
        let mut old = msg("b", "2", NotifyLevelDto::All, true);
        old.created_at = t0() - chrono::Duration::seconds(1);
        let mut system = msg("c", "3", NotifyLevelDto::All, true);
        system.message_type = "systemEventMessage".into();
        let batch = [
            mine,
            old,
            system,
            msg("in-view", "4", NotifyLevelDto::All, true),
            msg("off", "5", NotifyLevelDto::Off, true),
            msg("quiet-channel", "6", NotifyLevelDto::Mentions, false),
            msg("mentioned", "7", NotifyLevelDto::Mentions, true),
            msg("all", "8", NotifyLevelDto::All, false),
        ];
        let out = n.consider(&batch, &ctx(t0()));
        let targets: Vec<&str> = out.iter().map(|n| n.target.channel_id.as_str()).collect();
        assert_eq!(targets, vec!["mentioned", "all"]);
        assert_eq!(out[0].title, "Ann mentioned you in Eng › mentioned-name");
        assert_eq!(out[0].body, "the deploy is done");
        assert!(out[0].mention);
        assert_eq!(out[1].title, "Ann in Eng › all-name");
    }

    #[test]
    fn coalesced_per_channel_and_held_messages_count_into_the_next() {
        let mut n = Notifier::new(t0());
        let batch = [
            msg("a", "1", NotifyLevelDto::All, false),
            msg("a", "22", NotifyLevelDto::All, false),
            msg("a", "333", NotifyLevelDto::All, false),
        ];
        let out = n.consider(&batch, &ctx(t0()));
        assert_eq!(out.len(), 1);
        assert_eq!(out[0].title, "3 new messages in Eng › a-name");
        assert_eq!(out[0].target.id, "333", "activating opens the newest");
        // Within the gap: held back.
        let later = t0() + chrono::Duration::seconds(10);
        let held = [
            msg("a", "4444", NotifyLevelDto::All, false),
            msg("a", "55555", NotifyLevelDto::All, true),
        ];
        assert!(n.consider(&held, &ctx(later)).is_empty());
        // After the gap: one notification counting the held ones, remembering the mention.
        let after = t0() + chrono::Duration::seconds(40);
        let out = n.consider(
            &[msg("a", "666666", NotifyLevelDto::All, false)],
            &ctx(after),
        );
        assert_eq!(out.len(), 1);
        assert_eq!(
            out[0].title,
            "3 new messages in Eng › a-name, including a mention of you"
        );
        assert!(out[0].mention);
    }

    #[test]
    fn a_held_back_mention_is_shown_when_the_gap_has_passed() {
        let mut n = Notifier::new(t0());
        assert_eq!(
            n.consider(&[msg("a", "1", NotifyLevelDto::All, false)], &ctx(t0()))
                .len(),
            1
        );
        let soon = t0() + chrono::Duration::seconds(10);
        assert!(n
            .consider(&[msg("a", "22", NotifyLevelDto::All, true)], &ctx(soon))
            .is_empty());
        assert!(n.holding());
        assert!(n
            .flush(&ctx(t0() + chrono::Duration::seconds(20)))
            .is_empty());
        let out = n.flush(&ctx(t0() + chrono::Duration::seconds(31)));
        assert_eq!(out.len(), 1);
        assert!(out[0].mention);
        assert_eq!(out[0].title, "Ann mentioned you in Eng › a-name");
        assert_eq!(out[0].target.id, "22");
        assert!(!n.holding());
    }

    #[test]
    fn quiet_hours_and_previews_off() {
        let mut n = Notifier::new(t0());
        let mut c = ctx(t0());
        c.quiet = true;
        assert!(n
            .consider(&[msg("a", "1", NotifyLevelDto::All, true)], &c)
            .is_empty());
        c.quiet = false;
        c.previews = false;
        let out = n.consider(&[msg("a", "1", NotifyLevelDto::All, true)], &c);
        assert_eq!(out[0].body, "New activity in Perch");
        assert!(!out[0].body.contains("deploy"));
    }

    #[test]
    fn previews_are_short_single_lines() {
        let long = "word ".repeat(100);
        let s = shorten(&long, PREVIEW_CHARS);
        assert_eq!(s.chars().count(), PREVIEW_CHARS);
        assert!(s.ends_with('…'));
        assert!(!s.contains('\n'));
    }
}
