//! The tenant's data as the emulator holds it: users, the app registration, teams, channels and
//! their messages. Plain data with the few invariants that every writer must keep (unique ids
//! per channel, a per-channel change sequence that only grows). It knows nothing of HTTP or of
//! Graph's JSON shapes; `graph::json` renders these types, `seed` creates them.

use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// The whole directory and content of the one tenant an emulator serves.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Tenant {
    /// Directory (tenant) id, as in `tid` claims and `/{tenant}/oauth2/...` paths.
    pub id: Uuid,
    /// The verified domain, also accepted in place of the id in Entra paths.
    pub domain: String,
    /// Organisation display name.
    pub display_name: String,
    /// The app registrations clients may use. The first is the demo registration (public client).
    pub apps: Vec<AppRegistration>,
    /// Every user of the directory.
    pub users: Vec<User>,
    /// Every team with its channels and messages.
    pub teams: Vec<Team>,
}

/// An Entra ID app registration.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct AppRegistration {
    /// Application (client) id.
    pub client_id: Uuid,
    /// Display name shown on the consent page.
    pub display_name: String,
    /// Public client ("Mobile and desktop applications", `http://localhost`). A confidential
    /// registration answers AADSTS7000218 to a request without a secret.
    pub public_client: bool,
}

/// A directory user.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct User {
    /// Object id (`oid`).
    pub id: Uuid,
    /// `userPrincipalName`, e.g. `adele@contoso.example`.
    pub upn: String,
    /// Display name.
    pub display_name: String,
    /// Mail address (usually the UPN).
    pub mail: String,
    /// Job title, for `/me` and the sign-in page.
    pub job_title: Option<String>,
    /// The colour of the generated profile photo.
    pub photo_rgb: [u8; 3],
    /// Sign-in switches the admin API can flip.
    pub auth: UserAuthSwitches,
}

/// Per-user switches that make the token endpoint fail the way Entra does.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct UserAuthSwitches {
    /// Token requests answer `interaction_required` / AADSTS50076 until cleared.
    pub mfa_required: bool,
    /// Token requests answer `consent_required` / AADSTS65001 (admin consent missing).
    pub consent_missing: bool,
    /// Conditional Access blocks the user: AADSTS53003.
    pub ca_blocked: bool,
}

/// A team.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Team {
    /// Team (group) id.
    pub id: Uuid,
    /// Display name.
    pub display_name: String,
    /// Description.
    pub description: Option<String>,
    /// Users who are members of the team (see `/me/joinedTeams`).
    pub members: Vec<Uuid>,
    /// The team's channels, the General channel first.
    pub channels: Vec<Channel>,
    /// When the team was created.
    pub created: DateTime<Utc>,
}

/// `membershipType` of a channel.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub enum MembershipType {
    /// Every team member sees it.
    Standard,
    /// Only its own members see it.
    Private,
    /// Shared with people outside the team; only its own members see it.
    Shared,
}

/// A member of a channel, as `/channels/{c}/members` lists them.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ChannelMember {
    /// The user's object id.
    pub user_id: Uuid,
    /// `owner` or empty for plain members.
    pub roles: Vec<String>,
}

/// A channel and its message log.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Channel {
    /// `19:…@thread.tacv2`, used verbatim in paths.
    pub id: String,
    /// Display name.
    pub display_name: String,
    /// Description.
    pub description: Option<String>,
    /// Standard, private or shared.
    pub membership_type: MembershipType,
    /// Members. For standard channels these are the team's members.
    pub members: Vec<ChannelMember>,
    /// When the channel was created.
    pub created: DateTime<Utc>,
    /// The channel's posts with their replies.
    pub messages: MessageLog,
}

/// A channel's posts (root messages) with their reply chains, plus the change sequence that
/// delta queries read.
///
/// Invariants: `roots` is ordered by creation time (oldest first); message ids are unique
/// within the channel; `by_seq` maps each root's `chain_seq` to its index in `roots`, and
/// `seq` is the largest `chain_seq` handed out. Every change to a root or to any of its replies
/// must go through [`MessageLog::touch`] so that delta sees it.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct MessageLog {
    /// Root posts, oldest first.
    pub roots: Vec<Message>,
    /// Root id → index in `roots`.
    #[serde(skip)]
    pub index: HashMap<String, usize>,
    /// Change sequence → index in `roots` (one entry per root: its latest change).
    #[serde(skip)]
    pub by_seq: BTreeMap<u64, usize>,
    /// The latest change sequence number handed out in this channel.
    pub seq: u64,
}

impl MessageLog {
    /// Rebuilds the lookup maps from `roots` (after deserialising, or after bulk seeding).
    pub fn reindex(&mut self) {
        self.index = self
            .roots
            .iter()
            .enumerate()
            .map(|(i, m)| (m.id.clone(), i))
            .collect();
        self.by_seq = self
            .roots
            .iter()
            .enumerate()
            .map(|(i, m)| (m.chain_seq, i))
            .collect();
        self.seq = self
            .by_seq
            .keys()
            .next_back()
            .copied()
            .unwrap_or(0)
            .max(self.seq);
    }

    /// Appends a new root post, giving it the next change sequence. Returns its index.
    pub fn push_root(&mut self, mut message: Message) -> usize {
        self.seq += 1;
        message.chain_seq = self.seq;
        let idx = self.roots.len();
        self.index.insert(message.id.clone(), idx);
        self.by_seq.insert(self.seq, idx);
        self.roots.push(message);
        idx
    }

    /// Records that the root at `idx` (or one of its replies) changed: it moves to the end of
    /// the change order so the next delta round returns its whole chain.
    pub fn touch(&mut self, idx: usize) {
        let old = self.roots[idx].chain_seq;
        self.by_seq.remove(&old);
        self.seq += 1;
        self.roots[idx].chain_seq = self.seq;
        self.by_seq.insert(self.seq, idx);
    }

    /// The index of a root post by id.
    pub fn root_index(&self, id: &str) -> Option<usize> {
        self.index.get(id).copied()
    }

    /// Every message id in use in this channel (roots and replies).
    pub fn contains_id(&self, id: &str) -> bool {
        self.index.contains_key(id)
            || self
                .roots
                .iter()
                .any(|r| r.replies.iter().any(|reply| reply.id == id))
    }
}

/// `messageType`.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub enum MessageType {
    /// A person's (or app's) message.
    Message,
    /// A system event ("X added Y"), with `eventDetail` and no `from`.
    SystemEventMessage,
    /// A chat event.
    ChatEvent,
}

/// `importance`.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq, Default)]
#[serde(rename_all = "camelCase")]
pub enum Importance {
    /// The default.
    #[default]
    Normal,
    /// Marked important.
    High,
    /// Urgent.
    Urgent,
}

/// `body.contentType`.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub enum ContentType {
    /// Plain text.
    Text,
    /// HTML (what Teams sends for nearly everything).
    Html,
}

/// Who sent a message or reacted: a user or an application (bot, connector).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub enum Sender {
    /// A directory user.
    User {
        /// Object id.
        id: Uuid,
        /// Display name at the time.
        display_name: String,
    },
    /// An application (bot, webhook, connector).
    Application {
        /// App id.
        id: Uuid,
        /// Display name.
        display_name: String,
    },
}

/// A `mentions[]` entry.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Mention {
    /// The `<at id="N">` number in the body.
    pub id: i32,
    /// The text inside the `<at>` element.
    pub mention_text: String,
    /// Who is mentioned.
    pub mentioned: MentionTarget,
}

/// What a mention points at.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub enum MentionTarget {
    /// A user.
    User {
        /// Object id.
        id: Uuid,
        /// Display name.
        display_name: String,
    },
    /// The whole channel (`@General`) or team.
    Conversation {
        /// Channel or team id.
        id: String,
        /// Display name.
        display_name: String,
        /// `channel` or `team`.
        kind: String,
    },
}

/// A `reactions[]` entry.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Reaction {
    /// `like`, `heart`, … or a Unicode emoji.
    pub reaction_type: String,
    /// When the user reacted.
    pub created: DateTime<Utc>,
    /// Who reacted.
    pub user_id: Uuid,
}

/// An `attachments[]` entry.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Attachment {
    /// Attachment id (a GUID for files, referenced by `<attachment id="…">` in the body).
    pub id: String,
    /// `reference` for SharePoint files, `application/vnd.microsoft.card.adaptive` for cards, …
    pub content_type: String,
    /// For files: the SharePoint URL.
    pub content_url: Option<String>,
    /// Card JSON as a string, for cards.
    pub content: Option<String>,
    /// File name.
    pub name: Option<String>,
    /// Thumbnail, if any.
    pub thumbnail_url: Option<String>,
}

/// An inline image (`hostedContents`), served by `…/hostedContents/{id}/$value`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct HostedContent {
    /// The hosted content id used in the body's `<img src=…/hostedContents/{id}/$value>`.
    pub id: String,
    /// `image/png`.
    pub content_type: String,
    /// The image bytes.
    #[serde(with = "bytes_b64")]
    pub bytes: Vec<u8>,
}

/// A channel message: a root post or a reply.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Message {
    /// Unique within its channel (Teams uses the creation time in ms as a string).
    pub id: String,
    /// The root id, for replies.
    pub reply_to_id: Option<String>,
    /// `messageType`.
    pub message_type: MessageType,
    /// Created.
    pub created: DateTime<Utc>,
    /// Last modified: bumped by edits, deletes, undeletes and reactions.
    pub last_modified: DateTime<Utc>,
    /// Last edited (body changes only).
    pub last_edited: Option<DateTime<Utc>>,
    /// Soft-deleted at.
    pub deleted: Option<DateTime<Utc>>,
    /// Subject line (root posts only).
    pub subject: Option<String>,
    /// Importance.
    pub importance: Importance,
    /// Locale, `en-us`.
    pub locale: String,
    /// Sender; `None` for system events.
    pub from: Option<Sender>,
    /// Body content type.
    pub content_type: ContentType,
    /// Body content (HTML for nearly everything).
    pub content: String,
    /// Attachments.
    pub attachments: Vec<Attachment>,
    /// Mentions.
    pub mentions: Vec<Mention>,
    /// Reactions.
    pub reactions: Vec<Reaction>,
    /// Inline images.
    pub hosted_contents: Vec<HostedContent>,
    /// `eventDetail` JSON for system events (already in Graph's shape, with `@odata.type`).
    pub event_detail: Option<serde_json::Value>,
    /// Replies, oldest first (root posts only).
    pub replies: Vec<Message>,
    /// For roots: the change sequence of the whole chain (see [`MessageLog`]). 0 for replies.
    pub chain_seq: u64,
}

impl Message {
    /// The chain's latest `lastModifiedDateTime`: the root's or any reply's, whichever is newer.
    pub fn chain_last_modified(&self) -> DateTime<Utc> {
        self.replies
            .iter()
            .map(|r| r.last_modified)
            .fold(self.last_modified, DateTime::max)
    }

    /// A reply by id.
    pub fn reply(&self, id: &str) -> Option<&Message> {
        self.replies.iter().find(|r| r.id == id)
    }

    /// A reply by id, mutably.
    pub fn reply_mut(&mut self, id: &str) -> Option<&mut Message> {
        self.replies.iter_mut().find(|r| r.id == id)
    }
}

impl Tenant {
    /// A user by object id.
    pub fn user(&self, id: Uuid) -> Option<&User> {
        self.users.iter().find(|u| u.id == id)
    }

    /// A user by UPN (case-insensitive) or object id string.
    pub fn user_by_hint(&self, hint: &str) -> Option<&User> {
        self.users.iter().find(|u| {
            u.upn.eq_ignore_ascii_case(hint)
                || u.mail.eq_ignore_ascii_case(hint)
                || u.id.to_string() == hint
        })
    }

    /// A team by id.
    pub fn team(&self, id: Uuid) -> Option<&Team> {
        self.teams.iter().find(|t| t.id == id)
    }

    /// A team by id, mutably.
    pub fn team_mut(&mut self, id: Uuid) -> Option<&mut Team> {
        self.teams.iter_mut().find(|t| t.id == id)
    }

    /// An app registration by client id.
    pub fn app(&self, client_id: Uuid) -> Option<&AppRegistration> {
        self.apps.iter().find(|a| a.client_id == client_id)
    }

    /// Whether `tenant` (from an Entra path) names this tenant: its id, its domain, or one of
    /// the multi-tenant aliases `organizations` and `common`.
    pub fn matches_authority(&self, tenant: &str) -> bool {
        tenant.eq_ignore_ascii_case("organizations")
            || tenant.eq_ignore_ascii_case("common")
            || tenant.eq_ignore_ascii_case(&self.domain)
            || tenant.eq_ignore_ascii_case(&self.id.to_string())
    }

    /// Rebuilds every channel's lookup maps (after loading from a state file).
    pub fn reindex(&mut self) {
        for team in &mut self.teams {
            for channel in &mut team.channels {
                channel.messages.reindex();
            }
        }
    }
}

impl Team {
    /// A channel by id.
    pub fn channel(&self, id: &str) -> Option<&Channel> {
        self.channels.iter().find(|c| c.id == id)
    }

    /// A channel by id, mutably.
    pub fn channel_mut(&mut self, id: &str) -> Option<&mut Channel> {
        self.channels.iter_mut().find(|c| c.id == id)
    }
}

impl Channel {
    /// Whether `user` may see this channel: team members see standard channels; private and
    /// shared channels only their own members.
    pub fn visible_to(&self, team: &Team, user: Uuid) -> bool {
        match self.membership_type {
            MembershipType::Standard => team.members.contains(&user),
            MembershipType::Private | MembershipType::Shared => {
                self.members.iter().any(|m| m.user_id == user)
            }
        }
    }
}

mod bytes_b64 {
    use base64::Engine as _;
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(bytes: &[u8], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&base64::engine::general_purpose::STANDARD.encode(bytes))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<u8>, D::Error> {
        let text = String::deserialize(d)?;
        base64::engine::general_purpose::STANDARD
            .decode(text)
            .map_err(serde::de::Error::custom)
    }
}
