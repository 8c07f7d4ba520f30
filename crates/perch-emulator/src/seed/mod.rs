//! The deterministic demo tenant: directory, app registrations, teams, channels and months of
//! channel history, generated from `config.seed` for `config.profile`.
//!
//! Determinism is the contract: the same seed and the same `now` give the same tenant, byte
//! for byte once serialised. The only input besides the config is `now`, the instant history
//! ends at ([`generate`] uses the current minute; tests call [`generate_at`]). Every team is
//! generated from its own generator (seeded from the tenant's), so teams can be built on
//! several threads without changing the result.
//!
//! The content covers what a Teams client must handle: formatted HTML, emoji, code, links,
//! user and channel mentions (the demo user regularly), reactions, edits, soft deletions,
//! system events, inline images (hosted contents with real PNG bytes), SharePoint file
//! references, adaptive cards from bots, subjects and importance, long threads (more than 50
//! replies, and one of more than 1,000 in Demo and Large) and, in Demo, history older than
//! delta's eight-month window. It does no I/O and never reads the clock except in
//! [`generate`].

pub(crate) mod content;
pub(crate) mod names;

use std::collections::HashSet;

use base64::Engine as _;
use chrono::{DateTime, Duration, DurationRound as _, Utc};
use rand::seq::SliceRandom as _;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde_json::{json, Value};
use uuid::Uuid;

use crate::config::{EmulatorConfig, Profile};
use crate::images;
use crate::model::{
    AppRegistration, Channel, ChannelMember, ContentType, HostedContent, Importance,
    MembershipType, Message, MessageLog, MessageType, Reaction, Sender, Team, Tenant, User,
    UserAuthSwitches,
};
use crate::ops::CANONICAL_GRAPH_ROOT;

use self::content as body;
use self::names::{ChannelSpec, Topic};

/// The tenant's verified domain.
pub const DOMAIN: &str = "contoso.example";

/// Distinct inline pictures per tenant; messages share them so that even the Large profile
/// carries only a few image payloads.
const DISTINCT_PICTURES: usize = 6;

/// Generates the tenant for `config.profile` from `config.seed`, with history ending at the
/// current minute.
pub fn generate(config: &EmulatorConfig) -> Tenant {
    let now = Utc::now();
    let now = now.duration_trunc(Duration::minutes(1)).unwrap_or(now);
    generate_at(config, now)
}

/// Generates the tenant for `config.profile` from `config.seed`, with history ending at `now`
/// (truncated to the millisecond). Same seed, profile and `now` → the same tenant.
pub fn generate_at(config: &EmulatorConfig, now: DateTime<Utc>) -> Tenant {
    let plan = Plan::for_profile(&config.profile);
    let now_ms = now.timestamp_millis();
    let mut rng = ChaCha8Rng::seed_from_u64(config.seed);

    let tenant_id = derived_id(config.seed, "tenant");
    let users = make_users(&mut rng, plan.users);
    let apps = vec![
        AppRegistration {
            client_id: demo_client_id(config.seed),
            display_name: "Perch".to_owned(),
            public_client: true,
        },
        AppRegistration {
            client_id: derived_id(config.seed, "app:reporting"),
            display_name: "Contoso Reporting Service".to_owned(),
            public_client: false,
        },
    ];
    let bots: Vec<(Uuid, &'static str)> = names::BOTS
        .iter()
        .map(|name| (derived_id(config.seed, name), *name))
        .collect();
    let pictures: Vec<Vec<u8>> = (0..DISTINCT_PICTURES)
        .map(|_| images::picture_png(rng.gen(), 320, 180))
        .collect();
    let team_seeds: Vec<u64> = plan.teams.iter().map(|_| rng.gen()).collect();

    let world = World {
        plan: &plan,
        tenant_id,
        users: &users,
        firsts: users
            .iter()
            .map(|u| u.display_name.split(' ').next().unwrap_or_default())
            .collect(),
        bots: &bots,
        pictures: &pictures,
        now_ms,
    };
    let teams = build_teams(&world, &team_seeds);

    let mut tenant = Tenant {
        id: tenant_id,
        domain: DOMAIN.to_owned(),
        display_name: "Contoso".to_owned(),
        apps,
        users,
        teams,
    };
    tenant.reindex();
    tenant
}

/// The demo's signed-in user: the first user of the directory, a member of every team.
///
/// # Panics
/// If the tenant has no users; seeded tenants always have one and loaded state files are
/// checked for it.
pub fn demo_user(tenant: &Tenant) -> &User {
    &tenant.users[0]
}

/// The client id of the demo's public-client registration (`apps[0]`) for a seed.
pub fn demo_client_id(seed: u64) -> Uuid {
    derived_id(seed, "app:perch")
}

/// A name-based (v5) id that depends only on the seed and a label.
fn derived_id(seed: u64, label: &str) -> Uuid {
    Uuid::new_v5(
        &Uuid::NAMESPACE_OID,
        format!("perch-emulator:{seed}:{label}").as_bytes(),
    )
}

fn random_id<R: Rng>(rng: &mut R) -> Uuid {
    uuid::Builder::from_random_bytes(rng.gen()).into_uuid()
}

// ---------------------------------------------------------------------------------------------
// Plans: how big each profile is.

/// What to generate, decided from the profile before any randomness.
#[derive(Debug)]
struct Plan {
    users: usize,
    teams: Vec<TeamPlan>,
    history_days: i64,
    replies_per_post: usize,
    /// Share of root posts with an inline image (replies get a fifth of it).
    image_share: f64,
    /// Vary posts per channel (General busier) instead of exact counts.
    vary: bool,
}

#[derive(Debug)]
struct TeamPlan {
    name: String,
    description: String,
    topic: Topic,
    channels: Vec<ChannelPlan>,
    /// Every user is a member (Small, and the social team).
    everyone: bool,
}

#[derive(Debug)]
struct ChannelPlan {
    name: String,
    description: String,
    kind: MembershipType,
    without_demo_user: bool,
    posts: usize,
    /// Reply counts of threads that are longer than usual.
    long_threads: Vec<usize>,
}

impl ChannelPlan {
    fn general(posts: usize) -> Self {
        Self {
            name: "General".to_owned(),
            description: String::new(),
            kind: MembershipType::Standard,
            without_demo_user: false,
            posts,
            long_threads: Vec::new(),
        }
    }

    fn from_spec(spec: &ChannelSpec, posts: usize) -> Self {
        Self {
            name: spec.name.to_owned(),
            description: spec.description.to_owned(),
            kind: spec.kind,
            without_demo_user: spec.without_demo_user,
            posts,
            long_threads: Vec::new(),
        }
    }
}

impl Plan {
    fn for_profile(profile: &Profile) -> Self {
        match profile {
            Profile::Small => Self::small(),
            Profile::Demo => Self::demo(),
            Profile::Large => Self::large(),
            Profile::Custom(size) => Self::generated(
                size.users.max(1),
                size.teams,
                size.channels_per_team.max(1),
                size.posts_per_channel,
                size.replies_per_post,
                i64::from(size.history_days.max(1)),
                false,
            ),
        }
    }

    fn small() -> Self {
        let specs = names::DEMO_TEAMS;
        let pick = [(0usize, [0usize, 2]), (1, [0, 1])];
        let teams = pick
            .iter()
            .map(|&(t, channels)| {
                let spec = &specs[t];
                let mut list = vec![ChannelPlan::general(6)];
                list.extend(
                    channels
                        .iter()
                        .map(|&c| ChannelPlan::from_spec(&spec.channels[c], 6)),
                );
                TeamPlan {
                    name: spec.name.to_owned(),
                    description: spec.description.to_owned(),
                    topic: spec.topic,
                    channels: list,
                    everyone: true,
                }
            })
            .collect();
        Self {
            users: 8,
            teams,
            history_days: 30,
            replies_per_post: 2,
            image_share: 0.08,
            vary: false,
        }
    }

    fn demo() -> Self {
        let mut teams: Vec<TeamPlan> = names::DEMO_TEAMS
            .iter()
            .map(|spec| {
                let mut list = vec![ChannelPlan::general(60)];
                list.extend(spec.channels.iter().map(|c| ChannelPlan::from_spec(c, 60)));
                TeamPlan {
                    name: spec.name.to_owned(),
                    description: spec.description.to_owned(),
                    topic: spec.topic,
                    everyone: spec.topic == Topic::Social,
                    channels: list,
                }
            })
            .collect();
        // Contoso Product › Release Train: the go/no-go thread with more than 1,000 replies.
        teams[0].channels[2].long_threads.push(1_200);
        teams[0].channels[0].long_threads.push(75);
        teams[1].channels[3].long_threads.push(140);
        teams[2].channels[1].long_threads.push(58);
        teams[4].channels[1].long_threads.push(64);
        Self {
            users: 30,
            teams,
            history_days: 300,
            replies_per_post: 2,
            image_share: 0.03,
            vary: true,
        }
    }

    fn large() -> Self {
        let mut plan = Self::generated(names::PEOPLE.len(), 20, 6, 450, 3, 365, true);
        plan.teams[0].channels[2].long_threads.push(1_200);
        for (n, team) in plan.teams.iter_mut().enumerate().skip(1).step_by(2) {
            team.channels[n % 6].long_threads.push(60 + n * 3);
        }
        plan.image_share = 0.003;
        plan
    }

    /// Teams from the demo specs, then the extra names, then numbered ones, each with General
    /// plus `channels - 1` channels (its own specs first, then the pool).
    fn generated(
        users: usize,
        teams: usize,
        channels: usize,
        posts: usize,
        replies: usize,
        history_days: i64,
        vary: bool,
    ) -> Self {
        let mut out = Vec::with_capacity(teams);
        for t in 0..teams {
            let (name, description, topic, own): (String, String, Topic, &[ChannelSpec]) =
                if let Some(spec) = names::DEMO_TEAMS.get(t) {
                    (
                        spec.name.to_owned(),
                        spec.description.to_owned(),
                        spec.topic,
                        spec.channels,
                    )
                } else if let Some((name, description, topic)) =
                    names::MORE_TEAMS.get(t - names::DEMO_TEAMS.len())
                {
                    ((*name).to_owned(), (*description).to_owned(), *topic, &[])
                } else {
                    (
                        format!("Project Team {}", t + 1),
                        format!("Working group number {}.", t + 1),
                        Topic::Work,
                        &[],
                    )
                };
            let mut list = vec![ChannelPlan::general(posts)];
            let mut pool = names::CHANNEL_POOL.iter().cycle().skip(t * 7);
            let mut used: HashSet<String> = HashSet::new();
            used.insert("General".to_owned());
            for c in 1..channels {
                let mut plan = if let Some(spec) = own.get(c - 1) {
                    ChannelPlan::from_spec(spec, posts)
                } else {
                    let mut next = pool.next().copied().unwrap_or(("Channel", ""));
                    while used.contains(next.0) {
                        next = pool.next().copied().unwrap_or(("Channel", ""));
                        if used.len() >= names::CHANNEL_POOL.len() {
                            break;
                        }
                    }
                    ChannelPlan {
                        name: next.0.to_owned(),
                        description: next.1.to_owned(),
                        kind: MembershipType::Standard,
                        without_demo_user: false,
                        posts,
                        long_threads: Vec::new(),
                    }
                };
                if used.contains(&plan.name) {
                    plan.name = format!("{} {}", plan.name, c + 1);
                }
                // Some generated channels are private or shared, so every size has them.
                if c + 1 == channels && own.len() < c && channels > 2 {
                    plan.kind = match t % 4 {
                        1 => MembershipType::Private,
                        3 => MembershipType::Shared,
                        _ => MembershipType::Standard,
                    };
                }
                used.insert(plan.name.clone());
                list.push(plan);
            }
            out.push(TeamPlan {
                name,
                description,
                topic,
                channels: list,
                everyone: false,
            });
        }
        Self {
            users,
            teams: out,
            history_days,
            replies_per_post: replies,
            image_share: 0.02,
            vary,
        }
    }
}

// ---------------------------------------------------------------------------------------------
// The directory.

fn make_users<R: Rng>(rng: &mut R, count: usize) -> Vec<User> {
    let people = names::PEOPLE;
    let mut upns: HashSet<String> = HashSet::with_capacity(count);
    let mut users = Vec::with_capacity(count);
    for i in 0..count {
        let (first, last) = if i < people.len() {
            people[i]
        } else {
            // Beyond the list, recombine first and last names.
            let first = people[i % people.len()].0;
            let last = people[(i / people.len() * 7 + i) % people.len()].1;
            (first, last)
        };
        let base = format!("{}.{}", names::fold(first), names::fold(last));
        let mut upn = format!("{base}@{DOMAIN}");
        let mut n = 2;
        while !upns.insert(upn.clone()) {
            upn = format!("{base}{n}@{DOMAIN}");
            n += 1;
        }
        let job_title = if i == 0 {
            names::JOB_TITLES[0]
        } else {
            names::JOB_TITLES[rng.gen_range(1..names::JOB_TITLES.len())]
        };
        users.push(User {
            id: random_id(rng),
            mail: upn.clone(),
            upn,
            display_name: format!("{first} {last}"),
            job_title: Some(job_title.to_owned()),
            photo_rgb: names::PHOTO_COLOURS[rng.gen_range(0..names::PHOTO_COLOURS.len())],
            auth: UserAuthSwitches::default(),
        });
    }
    users
}

// ---------------------------------------------------------------------------------------------
// Teams, channels and messages.

/// Read-only inputs shared by the team builders.
struct World<'a> {
    plan: &'a Plan,
    tenant_id: Uuid,
    users: &'a [User],
    /// First names, by user index (for `{u}` slots).
    firsts: Vec<&'a str>,
    bots: &'a [(Uuid, &'static str)],
    pictures: &'a [Vec<u8>],
    now_ms: i64,
}

const MINUTE_MS: i64 = 60_000;
const HOUR_MS: i64 = 60 * MINUTE_MS;
const DAY_MS: i64 = 24 * HOUR_MS;

fn build_teams(world: &World<'_>, seeds: &[u64]) -> Vec<Team> {
    let count = seeds.len();
    let workers = std::thread::available_parallelism()
        .map_or(1, usize::from)
        .min(count)
        .max(1);
    if workers == 1 {
        return (0..count).map(|t| build_team(world, t, seeds[t])).collect();
    }
    let mut slots: Vec<Option<Team>> = (0..count).map(|_| None).collect();
    std::thread::scope(|scope| {
        let handles: Vec<_> = (0..workers)
            .map(|w| {
                scope.spawn(move || {
                    (w..count)
                        .step_by(workers)
                        .map(|t| (t, build_team(world, t, seeds[t])))
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        for handle in handles {
            match handle.join() {
                Ok(built) => {
                    for (t, team) in built {
                        slots[t] = Some(team);
                    }
                }
                Err(panic) => std::panic::resume_unwind(panic),
            }
        }
    });
    slots.into_iter().flatten().collect()
}

fn build_team(world: &World<'_>, index: usize, seed: u64) -> Team {
    let plan = &world.plan.teams[index];
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let users = world.users;
    let demo = users[0].id;

    // Members: the demo user, then a share of everyone else.
    let mut members = vec![0usize];
    let share = if plan.everyone {
        1.0
    } else {
        rng.gen_range(0.45..0.85)
    };
    for u in 1..users.len() {
        if rng.gen_bool(share) {
            members.push(u);
        }
    }
    let mut extra = 1;
    while members.len() < 5.min(users.len()) {
        if !members.contains(&extra) {
            members.push(extra);
        }
        extra += 1;
    }
    members.sort_unstable();
    // Owners: the demo user owns every other team (so it can moderate there), plus one more.
    let mut owners = vec![members[rng.gen_range(0..members.len())]];
    if index.is_multiple_of(2) && !owners.contains(&0) {
        owners.push(0);
    }

    let history_start = world.now_ms - world.plan.history_days * DAY_MS;
    let team_created = history_start - rng.gen_range(DAY_MS..30 * DAY_MS);
    let team_id = random_id(&mut rng);
    let site: String = plan
        .name
        .chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .collect();

    let mut channels = Vec::with_capacity(plan.channels.len());
    for (c, channel_plan) in plan.channels.iter().enumerate() {
        let created = if c == 0 {
            team_created
        } else {
            team_created
                + rng.gen_range(HOUR_MS..(world.plan.history_days * DAY_MS / 3).max(2 * HOUR_MS))
        };
        let id = format!("19:{:032x}@thread.tacv2", rng.gen::<u128>());
        let channel_members: Vec<(usize, bool)> = match channel_plan.kind {
            MembershipType::Standard => members.iter().map(|&m| (m, owners.contains(&m))).collect(),
            MembershipType::Private | MembershipType::Shared => {
                let mut pool: Vec<usize> = members.clone();
                if channel_plan.without_demo_user {
                    pool.retain(|&m| m != 0);
                }
                pool.shuffle(&mut rng);
                let take = rng.gen_range(3..=8).min(pool.len());
                let mut chosen: Vec<usize> = pool[..take].to_vec();
                if !channel_plan.without_demo_user && !chosen.contains(&0) {
                    chosen.push(0);
                }
                if channel_plan.kind == MembershipType::Shared {
                    // Shared with people outside the team.
                    let outsiders: Vec<usize> =
                        (1..users.len()).filter(|u| !members.contains(u)).collect();
                    for &o in outsiders.iter().take(2) {
                        chosen.push(o);
                    }
                }
                if chosen.is_empty() {
                    // A one-person directory: the channel still needs a member.
                    chosen.push(0);
                }
                chosen.sort_unstable();
                chosen.dedup();
                let owner = if channel_plan.without_demo_user || rng.gen_bool(0.5) {
                    chosen
                        .iter()
                        .copied()
                        .find(|&m| m != 0)
                        .unwrap_or(chosen[0])
                } else {
                    0
                };
                chosen.into_iter().map(|m| (m, m == owner)).collect()
            }
        };
        let general = c == 0;
        let posts = if world.plan.vary {
            let factor = if general {
                1.3
            } else {
                rng.gen_range(0.8..1.2)
            };
            (channel_plan.posts as f64 * factor).round() as usize
        } else {
            channel_plan.posts
        };
        let mut builder = ChannelBuilder {
            world,
            rng: &mut rng,
            team_id,
            team_name: &plan.name,
            team_description: &plan.description,
            site: &site,
            topic: plan.topic,
            channel_id: &id,
            channel_name: &channel_plan.name,
            authors: channel_members.iter().map(|&(m, _)| m).collect(),
            demo_sees: channel_members.iter().any(|&(m, _)| m == 0),
            creator: owners[0],
            used: HashSet::with_capacity(posts * (world.plan.replies_per_post + 1) + 64),
        };
        let messages = builder.build(
            created,
            general,
            posts,
            &channel_plan.long_threads,
            &members,
        );
        channels.push(Channel {
            id,
            display_name: channel_plan.name.clone(),
            description: if channel_plan.description.is_empty() {
                None
            } else {
                Some(channel_plan.description.clone())
            },
            membership_type: channel_plan.kind,
            members: channel_members
                .iter()
                .map(|&(m, owner)| ChannelMember {
                    user_id: users[m].id,
                    roles: if owner {
                        vec!["owner".to_owned()]
                    } else {
                        Vec::new()
                    },
                })
                .collect(),
            created: at_ms(created),
            messages,
        });
    }
    debug_assert!(members.contains(&0) && users[0].id == demo);
    Team {
        id: team_id,
        display_name: plan.name.clone(),
        description: Some(plan.description.clone()),
        members: members.iter().map(|&m| users[m].id).collect(),
        channels,
        created: at_ms(team_created),
    }
}

fn at_ms(ms: i64) -> DateTime<Utc> {
    DateTime::from_timestamp_millis(ms).unwrap_or_default()
}

/// Builds one channel's message log.
struct ChannelBuilder<'w, 'r> {
    world: &'w World<'w>,
    rng: &'r mut ChaCha8Rng,
    team_id: Uuid,
    team_name: &'w str,
    team_description: &'w str,
    site: &'w str,
    topic: Topic,
    channel_id: &'w str,
    channel_name: &'w str,
    /// User indexes who may post here.
    authors: Vec<usize>,
    /// Whether the demo user is a member (only then is it mentioned).
    demo_sees: bool,
    /// Who created the team and its channels.
    creator: usize,
    /// Millisecond ids in use in this channel.
    used: HashSet<i64>,
}

impl<'w> ChannelBuilder<'w, '_> {
    fn build(
        &mut self,
        created: i64,
        general: bool,
        posts: usize,
        long_threads: &[usize],
        team_members: &[usize],
    ) -> MessageLog {
        let now = self.world.now_ms;
        let mut roots: Vec<Message> = Vec::with_capacity(posts + 4);

        // The channel's first messages are system events.
        let first = self.claim(created + 1_000);
        if general {
            roots.push(self.system_event(first, self.team_created_detail()));
            let added = self.claim(first + 2_000);
            roots.push(self.system_event(added, self.members_added_detail(team_members)));
        } else {
            roots.push(self.system_event(first, self.channel_added_detail()));
        }

        // Root times, oldest first, strictly increasing and unique.
        let start = created + MINUTE_MS;
        let end = (now - 5 * MINUTE_MS).max(start + 1);
        let mut times: Vec<i64> = (0..posts).map(|_| self.rng.gen_range(start..end)).collect();
        times.sort_unstable();
        let mut previous = roots.last().map_or(start, |m| m.created.timestamp_millis());
        for t in &mut times {
            *t = self.claim((*t).max(previous + 1));
            previous = *t;
        }

        // Long threads go to roots at least a month old where possible.
        let mut long_at: Vec<(usize, usize)> = Vec::new();
        for (k, &replies) in long_threads.iter().enumerate() {
            if times.is_empty() {
                break;
            }
            let cutoff = times.partition_point(|&t| t < now - 35 * DAY_MS);
            let idx = cutoff.saturating_sub(1 + k * 3).min(times.len() - 1);
            long_at.push((idx, replies));
        }

        for (i, &t) in times.iter().enumerate() {
            let long = long_at.iter().find(|(idx, _)| *idx == i).map(|&(_, n)| n);
            let mut root = if long.is_none() && self.rng.gen_bool(0.03) {
                self.bot_post(t)
            } else if long.is_none() && general && self.rng.gen_bool(0.015) {
                let joined = self.authors[self.rng.gen_range(0..self.authors.len())];
                self.system_event(t, self.members_added_detail(&[joined]))
            } else {
                self.user_post(t, long.is_some())
            };
            if root.message_type == MessageType::Message && root.deleted.is_none() {
                let count = match long {
                    Some(n) => n,
                    None => {
                        // 30 % of posts get no reply; the rest 1..=k, so the mean is `avg`.
                        let avg = self.world.plan.replies_per_post;
                        let k = ((2.0 * avg as f64 / 0.7) - 1.0).round().max(1.0) as usize;
                        if avg == 0 || self.rng.gen_bool(0.3) {
                            0
                        } else {
                            self.rng.gen_range(1..=k)
                        }
                    }
                };
                self.add_replies(&mut root, count, long.is_some());
            }
            roots.push(root);
        }

        let mut log = MessageLog::default();
        for root in roots {
            log.push_root(root);
        }
        // Delta reads chains in change order: replay the changes in the order they happened.
        let mut order: Vec<(DateTime<Utc>, usize)> = log
            .roots
            .iter()
            .enumerate()
            .map(|(i, m)| (m.chain_last_modified(), i))
            .collect();
        order.sort_unstable();
        for (_, i) in order {
            log.touch(i);
        }
        log.reindex();
        log
    }

    /// Reserves a unique millisecond id at or after `ms`.
    fn claim(&mut self, ms: i64) -> i64 {
        let mut ms = ms;
        while !self.used.insert(ms) {
            ms += 1;
        }
        ms
    }

    fn user(&self, index: usize) -> &'w User {
        &self.world.users[index]
    }

    fn sender(&self, index: usize) -> Sender {
        let user = self.user(index);
        Sender::User {
            id: user.id,
            display_name: user.display_name.clone(),
        }
    }

    fn pick_author(&mut self) -> usize {
        if self.demo_sees && self.rng.gen_bool(0.08) {
            return 0;
        }
        self.authors[self.rng.gen_range(0..self.authors.len())]
    }

    fn blank(
        &self,
        ms: i64,
        reply_to: Option<&str>,
        from: Option<Sender>,
        content: String,
    ) -> Message {
        let created = at_ms(ms);
        Message {
            id: ms.to_string(),
            reply_to_id: reply_to.map(str::to_owned),
            message_type: MessageType::Message,
            created,
            last_modified: created,
            last_edited: None,
            deleted: None,
            subject: None,
            importance: Importance::Normal,
            locale: "en-us".to_owned(),
            from,
            content_type: ContentType::Html,
            content,
            attachments: Vec::new(),
            mentions: Vec::new(),
            reactions: Vec::new(),
            hosted_contents: Vec::new(),
            event_detail: None,
            replies: Vec::new(),
            chain_seq: 0,
        }
    }

    fn user_post(&mut self, ms: i64, long: bool) -> Message {
        let author = self.pick_author();
        let world = self.world;
        let firsts = &world.firsts;
        let mut html = String::with_capacity(256);
        let mut mentions = Vec::new();
        let roll: f64 = self.rng.gen();
        if self.demo_sees && author != 0 && roll < 0.07 {
            let demo = self.user(0);
            html.push_str(&body::mention_paragraph(
                self.rng,
                0,
                &demo.display_name,
                firsts,
            ));
            mentions.push(body::user_mention(0, demo.id, &demo.display_name));
        } else if roll < 0.12 {
            let other = self.authors[self.rng.gen_range(0..self.authors.len())];
            let user = self.user(other);
            html.push_str(&body::mention_paragraph(
                self.rng,
                0,
                &user.display_name,
                firsts,
            ));
            mentions.push(body::user_mention(0, user.id, &user.display_name));
        } else if roll < 0.135 {
            html.push_str(&body::channel_paragraph(
                self.rng,
                0,
                self.channel_name,
                firsts,
            ));
            mentions.push(body::channel_mention(0, self.channel_id, self.channel_name));
        }
        if long {
            html.push_str(
                "<p><b>Go/no-go thread.</b> Post your area's status as a reply: \
                 <i>green</i>, <i>amber</i> or <i>red</i>, with a link to anything blocking.</p>",
            );
        } else {
            html.push_str(&body::root_html(self.rng, self.topic, firsts));
        }
        // A second mention ("cc") now and then, so clients meet several in one body.
        if !mentions.is_empty() && self.rng.gen_bool(0.2) {
            let other = self.authors[self.rng.gen_range(0..self.authors.len())];
            let user = self.user(other);
            html.push_str("<p>cc ");
            body::at(&mut html, 1, &user.display_name);
            html.push_str("</p>");
            mentions.push(body::user_mention(1, user.id, &user.display_name));
        }
        let mut message = self.blank(ms, None, Some(self.sender(author)), String::new());
        if self.rng.gen_bool(self.world.plan.image_share) {
            self.add_image(&mut message, &mut html, None);
        }
        if self.rng.gen_bool(0.03) {
            let (attachment, part) = body::file_attachment(self.rng, self.site, self.channel_name);
            html.push_str(&part);
            message.attachments.push(attachment);
        }
        message.content = html;
        message.mentions = mentions;
        if long {
            message.subject = Some("Release 4.2 go/no-go".to_owned());
            message.importance = Importance::High;
        } else {
            if self.rng.gen_bool(0.08) {
                message.subject = Some(body::subject(self.rng, firsts));
            }
            let importance: f64 = self.rng.gen();
            message.importance = if importance < 0.008 {
                Importance::Urgent
            } else if importance < 0.04 {
                Importance::High
            } else {
                Importance::Normal
            };
        }
        self.finish(&mut message, 0.3, !long);
        message
    }

    fn bot_post(&mut self, ms: i64) -> Message {
        let (bot_id, bot_name) = self.world.bots[self.rng.gen_range(0..self.world.bots.len())];
        let (attachment, html) = body::card_attachment(self.rng, bot_name);
        let mut message = self.blank(
            ms,
            None,
            Some(Sender::Application {
                id: bot_id,
                display_name: bot_name.to_owned(),
            }),
            html,
        );
        message.attachments.push(attachment);
        self.finish(&mut message, 0.1, false);
        message
    }

    fn add_replies(&mut self, root: &mut Message, count: usize, long: bool) {
        if count == 0 {
            return;
        }
        let now = self.world.now_ms;
        let root_ms = root.created.timestamp_millis();
        let room = (now - MINUTE_MS - root_ms).max(count as i64 + 1);
        let window = if long {
            room.min(28 * DAY_MS)
        } else {
            room.min(self.rng.gen_range(20 * MINUTE_MS..3 * DAY_MS))
        };
        let mut offsets: Vec<i64> = (0..count).map(|_| self.rng.gen_range(1..=window)).collect();
        offsets.sort_unstable();
        let root_author = match &root.from {
            Some(Sender::User { id, .. }) => self.world.users.iter().position(|u| u.id == *id),
            _ => None,
        };
        let world = self.world;
        let firsts = &world.firsts;
        let mut previous = root_ms;
        root.replies.reserve_exact(count);
        for offset in offsets {
            let ms = self.claim((root_ms + offset).max(previous + 1));
            previous = ms;
            let author = match root_author {
                Some(a) if self.rng.gen_bool(0.25) => a,
                _ => self.pick_author(),
            };
            let mut html = String::with_capacity(96);
            let mut mentions = Vec::new();
            let roll: f64 = self.rng.gen();
            if self.demo_sees && author != 0 && roll < 0.05 {
                let demo = self.user(0);
                html.push_str(&body::mention_paragraph(
                    self.rng,
                    0,
                    &demo.display_name,
                    firsts,
                ));
                mentions.push(body::user_mention(0, demo.id, &demo.display_name));
            } else if roll < 0.1 {
                if let Some(a) = root_author.filter(|&a| a != author) {
                    let user = self.user(a);
                    html.push_str("<p>");
                    body::at(&mut html, 0, &user.display_name);
                    html.push_str("</p>");
                    mentions.push(body::user_mention(0, user.id, &user.display_name));
                }
            }
            html.push_str(&body::reply_html(self.rng, firsts));
            let mut reply =
                self.blank(ms, Some(&root.id), Some(self.sender(author)), String::new());
            if self.rng.gen_bool(self.world.plan.image_share / 5.0) {
                self.add_image(&mut reply, &mut html, Some(&root.id));
            }
            reply.content = html;
            reply.mentions = mentions;
            self.finish(&mut reply, 0.12, true);
            root.replies.push(reply);
        }
    }

    /// Edits, deletion and reactions, each after creation and before `now`.
    fn finish(&mut self, message: &mut Message, reaction_share: f64, may_delete: bool) {
        let now = self.world.now_ms - 1_000;
        let created = message.created.timestamp_millis();
        let mut last = created;
        if self.rng.gen_bool(0.06) {
            let edited = (created + self.rng.gen_range(MINUTE_MS..2 * HOUR_MS))
                .min(now)
                .max(created);
            message.last_edited = Some(at_ms(edited));
            last = last.max(edited);
        }
        if may_delete && self.rng.gen_bool(0.015) {
            let deleted = (created + self.rng.gen_range(2 * MINUTE_MS..DAY_MS))
                .min(now)
                .max(last);
            message.deleted = Some(at_ms(deleted));
            last = deleted;
        } else if self.rng.gen_bool(reaction_share) {
            let count = self.rng.gen_range(1..=4usize);
            for _ in 0..count {
                let user = self.authors[self.rng.gen_range(0..self.authors.len())];
                let kind = body::REACTIONS[self.rng.gen_range(0..body::REACTIONS.len())];
                let user_id = self.world.users[user].id;
                if message
                    .reactions
                    .iter()
                    .any(|r| r.user_id == user_id && r.reaction_type == kind)
                {
                    continue;
                }
                let when = (created + self.rng.gen_range(10_000..6 * HOUR_MS))
                    .min(now)
                    .max(created);
                message.reactions.push(Reaction {
                    reaction_type: kind.to_owned(),
                    created: at_ms(when),
                    user_id,
                });
                last = last.max(when);
            }
        }
        message.last_modified = at_ms(last);
    }

    /// Adds an inline image: a hosted content with shared PNG bytes and the `<img>` in the body.
    fn add_image(&mut self, message: &mut Message, html: &mut String, root_id: Option<&str>) {
        let picture = self.rng.gen_range(0..self.world.pictures.len());
        let object = format!(
            "0-weu-d{}-{:032x}",
            self.rng.gen_range(1..20),
            self.rng.gen::<u128>()
        );
        let hosted_id = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(format!(
            "id=x_{object},type=1,url=https://eu-api.asm.skype.com/v1/objects/{object}/views/imgo"
        ));
        let path = match root_id {
            Some(root) => format!("messages/{root}/replies/{}", message.id),
            None => format!("messages/{}", message.id),
        };
        let src = format!(
            "{CANONICAL_GRAPH_ROOT}/teams/{}/channels/{}/{path}/hostedContents/{hosted_id}/$value",
            self.team_id, self.channel_id
        );
        html.push_str(&body::image_html(&src, "image"));
        message.hosted_contents.push(HostedContent {
            id: hosted_id,
            content_type: "image/png".to_owned(),
            bytes: self.world.pictures[picture].clone(),
        });
    }

    fn system_event(&self, ms: i64, detail: Value) -> Message {
        let mut message = self.blank(ms, None, None, "<systemEventMessage/>".to_owned());
        message.message_type = MessageType::SystemEventMessage;
        message.event_detail = Some(detail);
        message
    }

    fn identity(&self, user: usize) -> Value {
        json!({
            "application": null,
            "device": null,
            "user": {
                "@odata.type": "#microsoft.graph.teamworkUserIdentity",
                "id": self.user(user).id,
                "displayName": null,
                "userIdentityType": "aadUser",
                "tenantId": self.world.tenant_id,
            }
        })
    }

    fn team_created_detail(&self) -> Value {
        json!({
            "@odata.type": "#microsoft.graph.teamCreatedEventMessageDetail",
            "teamId": self.team_id,
            "teamDisplayName": self.team_name,
            "teamDescription": self.team_description,
            "initiator": self.identity(self.creator),
        })
    }

    fn channel_added_detail(&self) -> Value {
        json!({
            "@odata.type": "#microsoft.graph.channelAddedEventMessageDetail",
            "channelId": self.channel_id,
            "channelDisplayName": self.channel_name,
            "initiator": self.identity(self.creator),
        })
    }

    fn members_added_detail(&self, members: &[usize]) -> Value {
        let list: Vec<Value> = members
            .iter()
            .map(|&m| {
                json!({
                    "id": self.user(m).id,
                    "displayName": null,
                    "userIdentityType": "aadUser",
                    "tenantId": self.world.tenant_id,
                })
            })
            .collect();
        json!({
            "@odata.type": "#microsoft.graph.membersAddedEventMessageDetail",
            "visibleHistoryStartDateTime": "0001-01-01T00:00:00Z",
            "members": list,
            "initiator": self.identity(self.creator),
        })
    }
}
