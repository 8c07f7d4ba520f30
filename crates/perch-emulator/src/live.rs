//! Simulated colleagues: a background task that posts, replies, reacts, edits and now and then
//! deletes, at `config.live.actions_per_minute`, so a client watching the demo sees a living
//! tenant and delta rounds have something to return.
//!
//! Colleagues act only through [`crate::ops`], so their changes keep every invariant a Graph
//! client's own writes keep (ids, change sequences, `lastModifiedDateTime`). They never act as
//! the signed-in demo user, prefer the channels that user can see, are busier in each team's
//! General channel (the ones a client follows first), and mention the demo user in a
//! `mention_share` of their new messages. Waits are exponential (a Poisson process) and slept
//! with `tokio::time::sleep`, so tests can use paused time; choices come from a generator
//! seeded with `config.seed`. The tenant's write lock is held for one action at a time, never
//! across an await.

use std::time::Duration;

use chrono::{DateTime, Utc};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use crate::config::LiveConfig;
use crate::model::{HostedContent, Importance, Message, MessageType, Sender, Tenant};
use crate::ops::{self, MessagePatch, NewMessage};
use crate::seed::content as body;
use crate::seed::names::{self, Topic};
use crate::state::AppState;

/// How many of a channel's newest posts colleagues look at when replying, reacting, editing.
const RECENT_ROOTS: usize = 20;

/// Runs the simulated colleagues until `shutdown` is cancelled. Does nothing (but wait) when
/// `actions_per_minute` is not positive.
pub async fn run(state: AppState, shutdown: CancellationToken) {
    let live = state.config.live.clone();
    if !live.actions_per_minute.is_finite() || live.actions_per_minute <= 0.0 {
        shutdown.cancelled().await;
        return;
    }
    let mut colleagues = Colleagues::new(state.config.seed, &live);
    loop {
        let wait = colleagues.next_wait();
        tokio::select! {
            () = shutdown.cancelled() => return,
            () = tokio::time::sleep(wait) => {}
        }
        let now = Utc::now();
        let action = {
            let mut tenant = state.tenant.write();
            colleagues.step(&mut tenant, now)
        };
        if let Some(action) = action {
            tracing::debug!(?action, "simulated colleague");
        }
    }
}

/// One thing a simulated colleague did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// A new root post.
    Posted {
        /// Team id.
        team: Uuid,
        /// Channel id.
        channel: String,
        /// The new message's id.
        message_id: String,
        /// Who posted.
        by: Uuid,
        /// Whether it mentions the signed-in demo user.
        mentions_demo_user: bool,
    },
    /// A reply to a root post.
    Replied {
        /// Team id.
        team: Uuid,
        /// Channel id.
        channel: String,
        /// The root post.
        root_id: String,
        /// The new reply's id.
        reply_id: String,
        /// Who replied.
        by: Uuid,
        /// Whether it mentions the signed-in demo user.
        mentions_demo_user: bool,
    },
    /// A reaction on a post or reply.
    Reacted {
        /// Team id.
        team: Uuid,
        /// Channel id.
        channel: String,
        /// The root post.
        message_id: String,
        /// The reply, when the reaction is on a reply.
        reply_id: Option<String>,
        /// Who reacted.
        by: Uuid,
        /// `like`, `heart`, an emoji, …
        reaction: String,
    },
    /// An edit of the colleague's own post or reply.
    Edited {
        /// Team id.
        team: Uuid,
        /// Channel id.
        channel: String,
        /// The root post.
        message_id: String,
        /// The reply, when a reply was edited.
        reply_id: Option<String>,
        /// Who edited.
        by: Uuid,
    },
    /// A soft delete of the colleague's own post or reply.
    Deleted {
        /// Team id.
        team: Uuid,
        /// Channel id.
        channel: String,
        /// The root post.
        message_id: String,
        /// The reply, when a reply was deleted.
        reply_id: Option<String>,
        /// Who deleted.
        by: Uuid,
    },
}

/// The colleagues' decisions: a seeded generator and the configured rate and mention share.
/// [`run`] drives it; tests can call [`Colleagues::step`] directly.
#[derive(Debug)]
pub struct Colleagues {
    rng: ChaCha8Rng,
    /// Mean wait between actions.
    mean_wait: Duration,
    mention_share: f64,
}

/// A channel colleagues may act in.
struct Target {
    team: usize,
    channel: usize,
    weight: u32,
}

/// A message colleagues may act on: root index and reply index within a channel.
type Pick = (usize, Option<usize>);

impl Colleagues {
    /// Colleagues seeded from `seed` acting at `live.actions_per_minute`.
    pub fn new(seed: u64, live: &LiveConfig) -> Self {
        let per_minute = if live.actions_per_minute.is_finite() && live.actions_per_minute > 0.0 {
            live.actions_per_minute
        } else {
            1.0
        };
        Self {
            rng: ChaCha8Rng::seed_from_u64(seed ^ 0x00C0_11EA_6E55),
            mean_wait: Duration::from_secs_f64(60.0 / per_minute),
            mention_share: live.mention_share.clamp(0.0, 1.0),
        }
    }

    /// The wait before the next action: exponentially distributed around the configured mean
    /// (capped at ten means so a long gap never looks like a hang).
    pub fn next_wait(&mut self) -> Duration {
        let u: f64 = self.rng.gen_range(f64::EPSILON..1.0);
        let factor = (-u.ln()).min(10.0);
        self.mean_wait.mul_f64(factor)
    }

    /// Performs one action on `tenant` at `now`. Returns what happened, or `None` when nothing
    /// could be done (no channel with a colleague in it).
    pub fn step(&mut self, tenant: &mut Tenant, now: DateTime<Utc>) -> Option<Action> {
        let demo = tenant.users.first()?.id;
        let target = self.pick_channel(tenant, demo)?;
        let team = &tenant.teams[target.team];
        let channel = &team.channels[target.channel];
        let colleagues: Vec<Uuid> = channel_people(team, target.channel)
            .into_iter()
            .filter(|&u| u != demo && tenant.user(u).is_some())
            .collect();
        if colleagues.is_empty() {
            return None;
        }
        let actor = colleagues[self.rng.gen_range(0..colleagues.len())];
        let team_id = team.id;
        let channel_id = channel.id.clone();
        let demo_sees = channel.visible_to(team, demo);
        let topic = topic_of(&team.display_name);

        let roll = self.rng.gen_range(0..100);
        let action = match roll {
            0..=29 => None,
            30..=64 => self.reply(tenant, &target, team_id, &channel_id, actor, demo_sees, now),
            65..=89 => self.react(tenant, &target, team_id, &channel_id, actor, now),
            90..=95 => self.edit(tenant, &target, team_id, &channel_id, actor, now),
            _ => self.delete(tenant, &target, team_id, &channel_id, actor, now),
        };
        // Posting is the fallback when there is nothing to reply to, react to, edit or delete.
        action.or_else(|| self.post(tenant, team_id, &channel_id, topic, actor, demo_sees, now))
    }

    fn pick_channel(&mut self, tenant: &Tenant, demo: Uuid) -> Option<Target> {
        let prefer_visible = self.rng.gen_bool(0.9);
        let mut targets = Vec::new();
        for (t, team) in tenant.teams.iter().enumerate() {
            for (c, channel) in team.channels.iter().enumerate() {
                if prefer_visible && !channel.visible_to(team, demo) {
                    continue;
                }
                let weight = if c == 0 { 4 } else { 1 };
                targets.push(Target {
                    team: t,
                    channel: c,
                    weight,
                });
            }
        }
        let total: u32 = targets.iter().map(|t| t.weight).sum();
        if total == 0 {
            return None;
        }
        let mut at = self.rng.gen_range(0..total);
        for target in targets {
            if at < target.weight {
                return Some(target);
            }
            at -= target.weight;
        }
        None
    }

    /// A new message body, mentioning the demo user with probability `mention_share`.
    fn compose(
        &mut self,
        tenant: &Tenant,
        root: Option<Topic>,
        demo_sees: bool,
        actor: Uuid,
    ) -> (NewMessage, bool) {
        let firsts: Vec<&str> = tenant
            .users
            .iter()
            .filter(|u| u.id != actor)
            .take(12)
            .map(|u| u.display_name.split(' ').next().unwrap_or_default())
            .collect();
        let mut html = String::new();
        let mut mentions = Vec::new();
        let mention = demo_sees && self.rng.gen_bool(self.mention_share);
        if mention {
            if let Some(demo) = tenant.users.first() {
                html.push_str(&body::mention_paragraph(
                    &mut self.rng,
                    0,
                    &demo.display_name,
                    &firsts,
                ));
                mentions.push(body::user_mention(0, demo.id, &demo.display_name));
            }
        }
        match root {
            Some(topic) => html.push_str(&body::root_html(&mut self.rng, topic, &firsts)),
            None => html.push_str(&body::reply_html(&mut self.rng, &firsts)),
        }
        let mut new = NewMessage::html(html);
        new.mentions = mentions;
        if root.is_some() {
            if self.rng.gen_bool(0.05) {
                new.importance = Importance::High;
            }
            if self.rng.gen_bool(0.04) {
                let seed = self.rng.gen();
                new.content
                    .push_str(&body::image_html("../hostedContents/1/$value", "image"));
                new.hosted_contents.push(HostedContent {
                    id: "1".to_owned(),
                    content_type: "image/png".to_owned(),
                    bytes: crate::images::picture_png(seed, 320, 180),
                });
            }
        }
        (new, mention)
    }

    #[allow(clippy::too_many_arguments)]
    fn post(
        &mut self,
        tenant: &mut Tenant,
        team: Uuid,
        channel: &str,
        topic: Topic,
        actor: Uuid,
        demo_sees: bool,
        now: DateTime<Utc>,
    ) -> Option<Action> {
        let (new, mentions_demo_user) = self.compose(tenant, Some(topic), demo_sees, actor);
        let message = ops::post_message(tenant, team, channel, actor, new, now).ok()?;
        Some(Action::Posted {
            team,
            channel: channel.to_owned(),
            message_id: message.id,
            by: actor,
            mentions_demo_user,
        })
    }

    #[allow(clippy::too_many_arguments)]
    fn reply(
        &mut self,
        tenant: &mut Tenant,
        target: &Target,
        team: Uuid,
        channel: &str,
        actor: Uuid,
        demo_sees: bool,
        now: DateTime<Utc>,
    ) -> Option<Action> {
        let roots = &tenant.teams[target.team].channels[target.channel]
            .messages
            .roots;
        let candidates: Vec<usize> = recent(roots)
            .filter(|&i| {
                roots[i].message_type == MessageType::Message && roots[i].deleted.is_none()
            })
            .collect();
        if candidates.is_empty() {
            return None;
        }
        let root_id = roots[candidates[self.rng.gen_range(0..candidates.len())]]
            .id
            .clone();
        let (new, mentions_demo_user) = self.compose(tenant, None, demo_sees, actor);
        let reply = ops::post_reply(tenant, team, channel, &root_id, actor, new, now).ok()?;
        Some(Action::Replied {
            team,
            channel: channel.to_owned(),
            root_id,
            reply_id: reply.id,
            by: actor,
            mentions_demo_user,
        })
    }

    fn react(
        &mut self,
        tenant: &mut Tenant,
        target: &Target,
        team: Uuid,
        channel: &str,
        actor: Uuid,
        now: DateTime<Utc>,
    ) -> Option<Action> {
        let roots = &tenant.teams[target.team].channels[target.channel]
            .messages
            .roots;
        let picks = messages_where(roots, |m| {
            m.message_type == MessageType::Message && m.deleted.is_none()
        });
        let (root, reply) = *pick(&mut self.rng, &picks)?;
        let (message_id, reply_id) = ids(roots, root, reply);
        let reaction = body::REACTIONS[self.rng.gen_range(0..body::REACTIONS.len())];
        ops::set_reaction(
            tenant,
            team,
            channel,
            &message_id,
            reply_id.as_deref(),
            actor,
            reaction,
            now,
        )
        .ok()?;
        Some(Action::Reacted {
            team,
            channel: channel.to_owned(),
            message_id,
            reply_id,
            by: actor,
            reaction: reaction.to_owned(),
        })
    }

    fn edit(
        &mut self,
        tenant: &mut Tenant,
        target: &Target,
        team: Uuid,
        channel: &str,
        actor: Uuid,
        now: DateTime<Utc>,
    ) -> Option<Action> {
        let roots = &tenant.teams[target.team].channels[target.channel]
            .messages
            .roots;
        let picks = messages_where(roots, |m| sent_by(m, actor) && m.deleted.is_none());
        let (root, reply) = *pick(&mut self.rng, &picks)?;
        let (message_id, reply_id) = ids(roots, root, reply);
        let old = match reply {
            Some(r) => &roots[root].replies[r],
            None => &roots[root],
        };
        let mut content = old.content.clone();
        content.push_str(
            [
                "<p><i>Edit:</i> fixed the link.</p>",
                "<p>Update: this is done now ✅</p>",
                "<p><i>(corrected the date)</i></p>",
            ][self.rng.gen_range(0..3)],
        );
        let patch = MessagePatch {
            content: Some(content),
            ..MessagePatch::default()
        };
        ops::edit(
            tenant,
            team,
            channel,
            &message_id,
            reply_id.as_deref(),
            actor,
            patch,
            now,
        )
        .ok()?;
        Some(Action::Edited {
            team,
            channel: channel.to_owned(),
            message_id,
            reply_id,
            by: actor,
        })
    }

    fn delete(
        &mut self,
        tenant: &mut Tenant,
        target: &Target,
        team: Uuid,
        channel: &str,
        actor: Uuid,
        now: DateTime<Utc>,
    ) -> Option<Action> {
        let roots = &tenant.teams[target.team].channels[target.channel]
            .messages
            .roots;
        let picks = messages_where(roots, |m| sent_by(m, actor) && m.deleted.is_none());
        let (root, reply) = *pick(&mut self.rng, &picks)?;
        let (message_id, reply_id) = ids(roots, root, reply);
        ops::soft_delete(
            tenant,
            team,
            channel,
            &message_id,
            reply_id.as_deref(),
            actor,
            now,
        )
        .ok()?;
        Some(Action::Deleted {
            team,
            channel: channel.to_owned(),
            message_id,
            reply_id,
            by: actor,
        })
    }
}

/// Indexes of a channel's newest root posts.
fn recent(roots: &[Message]) -> impl Iterator<Item = usize> {
    roots.len().saturating_sub(RECENT_ROOTS)..roots.len()
}

/// Recent roots and their replies that satisfy `keep`.
fn messages_where(roots: &[Message], keep: impl Fn(&Message) -> bool) -> Vec<Pick> {
    let mut out = Vec::new();
    for i in recent(roots) {
        let root = &roots[i];
        if keep(root) {
            out.push((i, None));
        }
        // Replies only of live roots: Teams hides the replies of a deleted post.
        if root.deleted.is_none() {
            let start = root.replies.len().saturating_sub(10);
            for (r, reply) in root.replies.iter().enumerate().skip(start) {
                if keep(reply) {
                    out.push((i, Some(r)));
                }
            }
        }
    }
    out
}

fn pick<'a, T>(rng: &mut ChaCha8Rng, items: &'a [T]) -> Option<&'a T> {
    if items.is_empty() {
        None
    } else {
        items.get(rng.gen_range(0..items.len()))
    }
}

fn ids(roots: &[Message], root: usize, reply: Option<usize>) -> (String, Option<String>) {
    (
        roots[root].id.clone(),
        reply.map(|r| roots[root].replies[r].id.clone()),
    )
}

fn sent_by(message: &Message, user: Uuid) -> bool {
    matches!(&message.from, Some(Sender::User { id, .. }) if *id == user)
}

/// Who is in a channel: its members, or the team's for a standard channel without a list.
fn channel_people(team: &crate::model::Team, channel: usize) -> Vec<Uuid> {
    let channel = &team.channels[channel];
    if channel.members.is_empty() {
        team.members.clone()
    } else {
        channel.members.iter().map(|m| m.user_id).collect()
    }
}

/// What a team talks about, by its name (the demo teams and the generated ones).
fn topic_of(team_name: &str) -> Topic {
    names::DEMO_TEAMS
        .iter()
        .find(|t| t.name == team_name)
        .map(|t| t.topic)
        .or_else(|| {
            names::MORE_TEAMS
                .iter()
                .find(|(name, _, _)| *name == team_name)
                .map(|(_, _, topic)| *topic)
        })
        .unwrap_or(Topic::Work)
}
