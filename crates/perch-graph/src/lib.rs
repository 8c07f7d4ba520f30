//! `perch-graph`: Perch's Microsoft Graph client for Teams channels: typed endpoints (me,
//! teams, channels, members, messages, replies, delta, hosted contents, the writes), `$batch`
//! for channel lists, and politeness as a property of the type: every request takes budget
//! tokens that keep Perch below Microsoft's throttling limits, and a `Retry-After` pauses every
//! scope its request belongs to, for every clone of the client, until it has passed.
//!
//! - [`client`]: [`GraphClient`], [`ClientConfig`], [`ClientStats`] and the request loop.
//! - [`batch`]: [`GraphClient::channels_of`] over `POST /$batch`.
//! - [`budget`]: [`Budgets`], the scopes and token buckets, pauses, the throttle watch.
//! - [`retry`]: [`RetryPolicy`], classification, backoff, `Retry-After` parsing.
//! - [`dto`]: the tolerant resource types and the request/page types.
//! - [`error`]: [`GraphError`] and its codes.
//! - [`tokens`]: [`TokenSource`] and [`AccountTokens`].
//! - `urls`: URL building, the foreign-link check, request → scopes.
//!
//! Invariants: no token is ever logged, formatted or sent to a host other than the configured
//! Graph base (links from Graph are followed only if they point under it); no request of a
//! paused scope leaves before its `Retry-After`; the crate does no disk I/O and knows nothing
//! of the store or the UI.

pub mod batch;
pub mod budget;
pub mod client;
pub mod dto;
pub mod error;
pub mod retry;
pub mod tokens;
mod urls;

pub use budget::{Budgets, Scope, ScopeStats};
pub use client::{ClientConfig, ClientStats, GraphClient, USER_AGENT};
pub use dto::{
    Attachment, BodyType, Channel, ChannelIdentity, ChatMessage, DeltaNext, DeltaPage,
    DeltaRequest, HostedContentRef, Identity, IdentitySet, Importance, ItemBody, Member,
    MembershipType, Mention, MessageType, NewMessage, Page, PageRequest, Reaction, Team, User,
};
pub use error::GraphError;
pub use retry::{classify, parse_retry_after, Attempt, RetryPolicy, Verdict};
pub use tokens::{AccountTokens, TokenSource};

#[cfg(test)]
mod tests {
    use super::*;

    fn assert_send<T: Send>(_: &T) {}

    /// The engine runs these on a multi-threaded runtime: the futures must be `Send`.
    #[allow(dead_code)]
    fn futures_are_send(client: &GraphClient, m: &NewMessage, r: &HostedContentRef) {
        assert_send(&client.me());
        assert_send(&client.joined_teams());
        assert_send(&client.channels("t"));
        assert_send(&client.channels_of(&[]));
        assert_send(&client.channel_members("t", "c"));
        assert_send(&client.delta_page("t", "c", &DeltaRequest::Link(String::new())));
        assert_send(&client.messages_page("t", "c", &PageRequest::Link(String::new())));
        assert_send(&client.replies_page("t", "c", "m", &PageRequest::Link(String::new())));
        assert_send(&client.hosted_content(r));
        assert_send(&client.post_message("t", "c", m));
        assert_send(&client.post_reply("t", "c", "r", m));
        assert_send(&client.edit_message("t", "c", None, "i", m));
        assert_send(&client.soft_delete("t", "c", None, "i"));
        assert_send(&client.undo_soft_delete("t", "c", None, "i"));
        assert_send(&client.set_reaction("t", "c", None, "i", "like"));
        assert_send(&client.unset_reaction("t", "c", None, "i", "like"));
    }

    #[test]
    fn the_client_is_shareable() {
        fn assert_shareable<T: Send + Sync + Clone + 'static>() {}
        assert_shareable::<GraphClient>();
        fn assert_object_safe(_: Option<std::sync::Arc<dyn TokenSource>>) {}
        assert_object_safe(None);
    }
}
