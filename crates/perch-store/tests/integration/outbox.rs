//! The shared outbox suite: every scenario runs against a file database and an in-memory one
//! (`backends!`), through `&mut dyn OutboxStore`; then an in-doubt item across a simulated
//! crash of a file database.

use chrono::{DateTime, Duration, Utc};
use perch_core::AccountId;
use perch_store::{
    NewOutboxItem, OutboxCounts, OutboxItem, OutboxKind, OutboxState, OutboxStore, Store,
};
use serde_json::json;

use crate::support::*;

/// A write of `kind` in channel `ch` (of the standard layout).
fn write(
    kind: OutboxKind,
    ch: &str,
    thread_root: Option<&str>,
    target_id: Option<&str>,
    depends_on: Option<i64>,
) -> NewOutboxItem {
    NewOutboxItem {
        team_id: if ch == "c3" { "t2".into() } else { "t1".into() },
        channel_id: ch.into(),
        thread_root: thread_root.map(str::to_owned),
        target_id: target_id.map(str::to_owned),
        depends_on,
        kind,
        payload: json!({ "html": format!("<p>{} in {ch}</p>", kind.as_str()) }),
    }
}

fn post(ch: &str) -> NewOutboxItem {
    write(OutboxKind::Post, ch, None, None, None)
}

fn ids(items: &[OutboxItem]) -> Vec<i64> {
    items.iter().map(|i| i.id).collect()
}

fn state(s: &dyn OutboxStore, a: &AccountId, id: i64) -> OutboxState {
    s.outbox_item(a, id)
        .unwrap()
        .expect("the item exists")
        .state
}

/// Enough for two `Utc::now()` readings to differ in microseconds.
fn tick() {
    std::thread::sleep(std::time::Duration::from_millis(2));
}

pub fn enqueue_and_read_back(mut ctx: Ctx) {
    let a = ctx.account;
    let b = add_account(&mut ctx.store);
    standard_layout(&mut ctx.store, &a);
    standard_layout(&mut ctx.store, &b);
    let s: &mut dyn OutboxStore = &mut ctx.store;

    let before = Utc::now() - Duration::milliseconds(1);
    let mut new = post("c1");
    new.payload = json!({
        "html": "<p>Grüße 👋 <at id=\"0\">Ada</at></p>",
        "subject": "Plan",
        "importance": "high",
        "mentions": [{ "id": 0, "user_id": "u-ada", "text": "Ada" }],
    });
    let p = s.enqueue(&a, &new).unwrap();
    assert_eq!(p.state, OutboxState::Queued);
    assert_eq!(p.kind, OutboxKind::Post);
    assert_eq!(p.payload, new.payload, "the payload round-trips");
    assert_eq!((p.team_id.as_str(), p.channel_id.as_str()), ("t1", "c1"));
    assert_eq!((p.thread_root.clone(), p.target_id.clone()), (None, None));
    assert_eq!(p.depends_on, None);
    assert_eq!(p.attempts, 0);
    assert!(p.enqueued_at >= before && p.enqueued_at <= Utc::now());
    assert_eq!(p.updated_at, p.enqueued_at);
    assert_eq!(
        (
            p.attempt_started_at,
            p.next_attempt_at,
            p.last_error_code.clone(),
            p.last_error_message.clone(),
            p.server_id.clone()
        ),
        (None, None, None, None, None)
    );
    assert_eq!(s.outbox_item(&a, p.id).unwrap().as_ref(), Some(&p));

    let r = s
        .enqueue(
            &a,
            &write(OutboxKind::Reply, "c3", Some("root-1"), None, None),
        )
        .unwrap();
    let e = s
        .enqueue(&a, &write(OutboxKind::React, "c1", None, Some("m-9"), None))
        .unwrap();
    assert!(p.id < r.id && r.id < e.id, "ids are queue order");
    assert_eq!(r.thread_root.as_deref(), Some("root-1"));
    assert_eq!(e.target_id.as_deref(), Some("m-9"));
    assert_eq!(ids(&s.outbox(&a, None, false).unwrap()), [p.id, r.id, e.id]);
    assert_eq!(ids(&s.outbox(&a, Some("c1"), false).unwrap()), [p.id, e.id]);
    assert_eq!(
        ids(&s.outbox(&a, Some("c2"), true).unwrap()),
        Vec::<i64>::new()
    );

    // Refused before anything is stored.
    let err = s.enqueue(&a, &post("nope")).unwrap_err();
    assert_eq!(err.code(), "store_unknown_channel");
    let err = s
        .enqueue(&a, &write(OutboxKind::Edit, "c1", None, None, Some(9_999)))
        .unwrap_err();
    assert_eq!(err.code(), "store_unknown_outbox_item");
    assert_eq!(s.outbox(&a, None, true).unwrap().len(), 3);

    // Accounts do not see each other's items.
    assert!(s.outbox(&b, None, true).unwrap().is_empty());
    assert_eq!(s.outbox_item(&b, p.id).unwrap(), None);
    let err = s
        .enqueue(&b, &write(OutboxKind::Edit, "c1", None, None, Some(p.id)))
        .unwrap_err();
    assert_eq!(err.code(), "store_unknown_outbox_item");
    let err = s.begin_attempt(&b, p.id, Utc::now()).unwrap_err();
    assert_eq!(err.code(), "store_unknown_outbox_item");
    assert!(!s.cancel(&b, p.id).unwrap());
    assert!(!s.rewrite_payload(&b, p.id, &json!({})).unwrap());
    let q = s.enqueue(&b, &post("c1")).unwrap();
    assert_eq!(ids(&s.next_sendable(&b, Utc::now()).unwrap()), [q.id]);
    assert_eq!(
        ids(&s.next_sendable(&a, Utc::now()).unwrap()),
        [p.id, r.id],
        "c1's head and c3's head"
    );
}

pub fn lifecycle_of_one_write(mut ctx: Ctx) {
    let a = ctx.account;
    standard_layout(&mut ctx.store, &a);
    let s: &mut dyn OutboxStore = &mut ctx.store;
    let now = Utc::now();
    let p = s.enqueue(&a, &post("c1")).unwrap();

    let err = s.fail(&a, p.id, "x", "y", now).unwrap_err();
    assert_eq!(err.code(), "store_outbox_transition", "no attempt to fail");

    let sending = s.begin_attempt(&a, p.id, now).unwrap();
    assert_eq!(sending.state, OutboxState::Sending);
    assert_eq!(sending.attempts, 1);
    assert_eq!(sending.attempt_started_at, Some(trunc(now)));
    assert_eq!(s.outbox_item(&a, p.id).unwrap().as_ref(), Some(&sending));
    assert_eq!(ids(&s.in_doubt(&a).unwrap()), [p.id]);

    let retry_at = now + Duration::seconds(30);
    s.fail(&a, p.id, "graph_unavailable", "503 from Graph", retry_at)
        .unwrap();
    let failed = s.outbox_item(&a, p.id).unwrap().unwrap();
    assert_eq!(failed.state, OutboxState::Failed);
    assert_eq!(failed.last_error_code.as_deref(), Some("graph_unavailable"));
    assert_eq!(failed.last_error_message.as_deref(), Some("503 from Graph"));
    assert_eq!(failed.next_attempt_at, Some(trunc(retry_at)));
    assert_eq!(failed.attempts, 1);
    assert!(s.in_doubt(&a).unwrap().is_empty());

    let later = now + Duration::seconds(31);
    let again = s.begin_attempt(&a, p.id, later).unwrap();
    assert_eq!(again.attempts, 2);
    assert_eq!(again.attempt_started_at, Some(trunc(later)));
    assert_eq!(again.next_attempt_at, None);

    s.complete(&a, p.id, Some("srv-1")).unwrap();
    let sent = s.outbox_item(&a, p.id).unwrap().unwrap();
    assert_eq!(sent.state, OutboxState::Sent);
    assert_eq!(sent.server_id.as_deref(), Some("srv-1"));
    assert_eq!(sent.attempts, 2);
    assert_eq!(
        sent.last_error_code.as_deref(),
        Some("graph_unavailable"),
        "the last error stays as history"
    );
    assert!(sent.updated_at >= again.updated_at);
    assert!(s.outbox(&a, None, false).unwrap().is_empty(), "finished");
    assert_eq!(ids(&s.outbox(&a, None, true).unwrap()), [p.id]);
    assert_eq!(s.outbox_counts(&a).unwrap(), OutboxCounts::default());

    // A finished item accepts nothing more.
    for err in [
        s.begin_attempt(&a, p.id, later).unwrap_err(),
        s.complete(&a, p.id, Some("srv-2")).unwrap_err(),
        s.fail(&a, p.id, "x", "y", later).unwrap_err(),
        s.wedge(&a, p.id, "x", "y").unwrap_err(),
    ] {
        assert_eq!(err.code(), "store_outbox_transition", "{err}");
    }
    assert!(!s.cancel(&a, p.id).unwrap());
    assert!(!s.resend(&a, p.id).unwrap());
    assert!(!s.rewrite_payload(&a, p.id, &json!({})).unwrap());
    assert_eq!(
        s.outbox_item(&a, p.id)
            .unwrap()
            .unwrap()
            .server_id
            .as_deref(),
        Some("srv-1")
    );
    for err in [
        s.begin_attempt(&a, 9_999, later).unwrap_err(),
        s.complete(&a, 9_999, None).unwrap_err(),
        s.fail(&a, 9_999, "x", "y", later).unwrap_err(),
        s.wedge(&a, 9_999, "x", "y").unwrap_err(),
    ] {
        assert_eq!(err.code(), "store_unknown_outbox_item", "{err}");
    }

    // Wedging: from Queued (found out before sending) or Sending, with the reason.
    let q = s.enqueue(&a, &post("c2")).unwrap();
    s.begin_attempt(&a, q.id, now).unwrap();
    s.wedge(&a, q.id, "graph_forbidden", "403: not a member")
        .unwrap();
    let w = s.outbox_item(&a, q.id).unwrap().unwrap();
    assert_eq!(w.state, OutboxState::Wedged);
    assert_eq!(w.last_error_code.as_deref(), Some("graph_forbidden"));
    let err = s.begin_attempt(&a, q.id, now).unwrap_err();
    assert_eq!(err.code(), "store_outbox_transition", "a wedged item waits");
    let r = s.enqueue(&a, &post("c3")).unwrap();
    s.wedge(&a, r.id, "body_rejected", "too long").unwrap();
    assert_eq!(state(s, &a, r.id), OutboxState::Wedged);
}

/// Times as the store keeps them (microseconds).
fn trunc(t: DateTime<Utc>) -> DateTime<Utc> {
    DateTime::from_timestamp_micros(t.timestamp_micros()).unwrap()
}

pub fn per_channel_order(mut ctx: Ctx) {
    let a = ctx.account;
    standard_layout(&mut ctx.store, &a);
    let s: &mut dyn OutboxStore = &mut ctx.store;
    let now = Utc::now();
    let c1a = s.enqueue(&a, &post("c1")).unwrap().id;
    let c2a = s.enqueue(&a, &post("c2")).unwrap().id;
    let c1b = s.enqueue(&a, &post("c1")).unwrap().id;
    let c3a = s.enqueue(&a, &post("c3")).unwrap().id;
    let c2b = s.enqueue(&a, &post("c2")).unwrap().id;
    let c1c = s.enqueue(&a, &post("c1")).unwrap().id;
    assert_eq!(
        ids(&s.next_sendable(&a, now).unwrap()),
        [c1a, c2a, c3a],
        "each channel's head, oldest first"
    );
    assert_eq!(
        s.outbox_counts(&a).unwrap(),
        OutboxCounts {
            queued: 6,
            ..OutboxCounts::default()
        }
    );

    // A head being sent holds its channel; the others go on.
    s.begin_attempt(&a, c1a, now).unwrap();
    s.begin_attempt(&a, c2a, now).unwrap();
    assert_eq!(ids(&s.next_sendable(&a, now).unwrap()), [c3a]);
    s.complete(&a, c2a, Some("s-c2a")).unwrap();
    assert_eq!(ids(&s.next_sendable(&a, now).unwrap()), [c3a, c2b]);

    // A failed head holds its channel until its next attempt is due.
    let retry = now + Duration::seconds(10);
    s.fail(&a, c1a, "network", "connection reset", retry)
        .unwrap();
    assert_eq!(ids(&s.next_sendable(&a, now).unwrap()), [c3a, c2b]);
    assert_eq!(
        ids(&s
            .next_sendable(&a, retry - Duration::microseconds(1))
            .unwrap()),
        [c3a, c2b]
    );
    assert_eq!(ids(&s.next_sendable(&a, retry).unwrap()), [c1a, c3a, c2b]);

    // A wedged or expired head holds its channel until the person acts.
    s.wedge(&a, c3a, "graph_forbidden", "403").unwrap();
    let c3b = s.enqueue(&a, &post("c3")).unwrap().id;
    assert_eq!(ids(&s.next_sendable(&a, retry).unwrap()), [c1a, c2b]);
    s.begin_attempt(&a, c2b, now).unwrap();
    s.complete(&a, c2b, Some("s-c2b")).unwrap();
    let c2c = s.enqueue(&a, &post("c2")).unwrap().id;
    tick();
    let expired = s.expire_older_than(&a, Utc::now()).unwrap();
    // c1a is Failed (expires), c1b, c1c and c2c are Queued (expire), c3b too; c3a is Wedged.
    assert_eq!(expired, [c1a, c1b, c1c, c3b, c2c]);
    assert!(s.next_sendable(&a, retry).unwrap().is_empty());
    assert!(s.resend(&a, c2c).unwrap());
    assert_eq!(ids(&s.next_sendable(&a, retry).unwrap()), [c2c]);
    // Resending a later item does not jump the queue: c1b waits behind c1a.
    assert!(s.resend(&a, c1b).unwrap());
    assert_eq!(ids(&s.next_sendable(&a, retry).unwrap()), [c2c]);
    assert!(s.resend(&a, c1a).unwrap());
    assert_eq!(ids(&s.next_sendable(&a, retry).unwrap()), [c1a, c2c]);
    // Cancelling a blocking head frees its channel.
    assert!(s.cancel(&a, c3a).unwrap());
    assert!(s.resend(&a, c3b).unwrap());
    assert_eq!(ids(&s.next_sendable(&a, retry).unwrap()), [c1a, c3b, c2c]);
    assert_eq!(
        s.outbox_counts(&a).unwrap(),
        OutboxCounts {
            queued: 4,
            expired: 1,
            ..OutboxCounts::default()
        },
        "c1a, c1b, c2c, c3b queued; c1c expired"
    );
}

pub fn dependency_placeholders(mut ctx: Ctx) {
    let a = ctx.account;
    standard_layout(&mut ctx.store, &a);
    let s: &mut dyn OutboxStore = &mut ctx.store;
    let now = Utc::now();
    use OutboxKind::*;
    // A post, then (before it is sent) a reply to it, an edit of it, a reaction to the reply,
    // a delete of the post with its target already known (kept), and, in another channel, a
    // write that must wait for the post.
    let p = s.enqueue(&a, &post("c1")).unwrap().id;
    let r = s
        .enqueue(&a, &write(Reply, "c1", None, None, Some(p)))
        .unwrap()
        .id;
    let e = s
        .enqueue(&a, &write(Edit, "c1", None, None, Some(p)))
        .unwrap()
        .id;
    let x = s
        .enqueue(&a, &write(React, "c1", None, None, Some(r)))
        .unwrap()
        .id;
    let d = s
        .enqueue(&a, &write(Delete, "c1", None, Some("given"), Some(p)))
        .unwrap()
        .id;
    let other = s
        .enqueue(&a, &write(Unreact, "c2", None, None, Some(p)))
        .unwrap()
        .id;
    let free = s.enqueue(&a, &post("c3")).unwrap().id;
    assert_eq!(
        ids(&s.next_sendable(&a, now).unwrap()),
        [p, free],
        "c2's head waits for a write in c1"
    );

    s.begin_attempt(&a, p, now).unwrap();
    s.complete(&a, p, Some("srv-P")).unwrap();
    let get = |s: &dyn OutboxStore, id| s.outbox_item(&a, id).unwrap().unwrap();
    let fields = |i: OutboxItem| (i.thread_root, i.target_id);
    let some = |v: &str| Some(v.to_owned());
    assert_eq!(
        fields(get(s, r)),
        (some("srv-P"), None),
        "reply: its thread"
    );
    assert_eq!(fields(get(s, e)), (None, some("srv-P")), "edit: its target");
    assert_eq!(fields(get(s, x)), (None, None), "waits for the reply");
    assert_eq!(
        fields(get(s, d)),
        (None, some("given")),
        "set values are kept"
    );
    assert_eq!(fields(get(s, other)), (None, some("srv-P")));
    assert_eq!(ids(&s.next_sendable(&a, now).unwrap()), [r, other, free]);

    s.begin_attempt(&a, r, now).unwrap();
    s.complete(&a, r, Some("srv-R")).unwrap();
    assert_eq!(
        fields(get(s, x)),
        (some("srv-P"), some("srv-R")),
        "a reaction to a reply: the reply, in its thread"
    );
    assert_eq!(ids(&s.next_sendable(&a, now).unwrap()), [e, other, free]);

    // Depending on an item already sent fills the placeholders at once.
    let late = s
        .enqueue(&a, &write(Undelete, "c1", None, None, Some(r)))
        .unwrap();
    assert_eq!(fields(late), (some("srv-P"), some("srv-R")));
    let late_reply = s
        .enqueue(&a, &write(Reply, "c2", None, None, Some(p)))
        .unwrap();
    assert_eq!(fields(late_reply), (some("srv-P"), None));

    // Completing an edit (no server id) fills nothing.
    let e2 = s
        .enqueue(&a, &write(Edit, "c3", None, None, Some(e)))
        .unwrap()
        .id;
    s.begin_attempt(&a, e, now).unwrap();
    s.complete(&a, e, None).unwrap();
    assert_eq!(get(s, e).server_id, None);
    assert_eq!(fields(get(s, e2)), (None, None));

    // A cancelled item cannot be depended on.
    let gone = s.enqueue(&a, &post("c3")).unwrap().id;
    assert!(s.cancel(&a, gone).unwrap());
    let err = s
        .enqueue(&a, &write(Edit, "c3", None, None, Some(gone)))
        .unwrap_err();
    assert_eq!(err.code(), "store_outbox_transition");
}

pub fn cancel_cascades(mut ctx: Ctx) {
    let a = ctx.account;
    standard_layout(&mut ctx.store, &a);
    let s: &mut dyn OutboxStore = &mut ctx.store;
    let now = Utc::now();
    use OutboxKind::*;
    let p = s.enqueue(&a, &post("c1")).unwrap().id;
    let r = s
        .enqueue(&a, &write(Reply, "c1", None, None, Some(p)))
        .unwrap()
        .id;
    let x = s
        .enqueue(&a, &write(React, "c1", None, None, Some(r)))
        .unwrap()
        .id;
    let e = s
        .enqueue(&a, &write(Edit, "c2", None, None, Some(p)))
        .unwrap()
        .id;
    let u = s.enqueue(&a, &post("c1")).unwrap().id;
    let v = s.enqueue(&a, &post("c2")).unwrap().id;

    // Cancelling a dependent leaves what it depends on.
    assert!(s.cancel(&a, x).unwrap());
    assert_eq!(state(s, &a, x), OutboxState::Cancelled);
    assert_eq!(state(s, &a, r), OutboxState::Queued);
    assert!(!s.cancel(&a, x).unwrap(), "already cancelled");

    // Cancelling the post takes the reply and the edit (in another channel) with it.
    let y = s
        .enqueue(&a, &write(React, "c1", None, None, Some(r)))
        .unwrap()
        .id;
    assert!(s.cancel(&a, p).unwrap());
    for id in [p, r, y, e] {
        assert_eq!(state(s, &a, id), OutboxState::Cancelled, "{id}");
    }
    for id in [u, v] {
        assert_eq!(state(s, &a, id), OutboxState::Queued, "{id}");
    }
    assert_eq!(ids(&s.next_sendable(&a, now).unwrap()), [u, v]);
    assert_eq!(ids(&s.outbox(&a, None, false).unwrap()), [u, v]);
    assert_eq!(
        ids(&s.outbox(&a, Some("c1"), true).unwrap()),
        [p, r, x, u, y]
    );

    // Not while being sent, nor once sent; Failed, Wedged and Expired items can be.
    s.begin_attempt(&a, u, now).unwrap();
    assert!(!s.cancel(&a, u).unwrap(), "in flight");
    assert_eq!(state(s, &a, u), OutboxState::Sending);
    s.fail(&a, u, "network", "reset", now).unwrap();
    assert!(s.cancel(&a, u).unwrap(), "failed");
    s.begin_attempt(&a, v, now).unwrap();
    s.complete(&a, v, Some("srv-V")).unwrap();
    assert!(!s.cancel(&a, v).unwrap(), "sent");
    let w = s.enqueue(&a, &post("c3")).unwrap().id;
    s.wedge(&a, w, "body_rejected", "no").unwrap();
    assert!(s.cancel(&a, w).unwrap(), "wedged");
    let old = s.enqueue(&a, &post("c3")).unwrap().id;
    tick();
    assert_eq!(s.expire_older_than(&a, Utc::now()).unwrap(), [old]);
    assert!(s.cancel(&a, old).unwrap(), "expired");
    assert!(!s.cancel(&a, 9_999).unwrap(), "unknown");
    assert_eq!(s.outbox_counts(&a).unwrap(), OutboxCounts::default());
}

pub fn rewrite_unsent_payloads(mut ctx: Ctx) {
    let a = ctx.account;
    standard_layout(&mut ctx.store, &a);
    let s: &mut dyn OutboxStore = &mut ctx.store;
    let now = Utc::now();
    let body = json!({ "html": "<p>fixed typo</p>" });
    let p = s.enqueue(&a, &post("c1")).unwrap();
    assert!(s.rewrite_payload(&a, p.id, &body).unwrap());
    let after = s.outbox_item(&a, p.id).unwrap().unwrap();
    assert_eq!(after.payload, body);
    assert_eq!(after.state, OutboxState::Queued);
    assert!(after.updated_at >= p.updated_at);

    s.begin_attempt(&a, p.id, now).unwrap();
    assert!(
        !s.rewrite_payload(&a, p.id, &json!({})).unwrap(),
        "in flight"
    );
    s.fail(&a, p.id, "network", "reset", now).unwrap();
    let body2 = json!({ "html": "<p>second fix</p>" });
    assert!(
        s.rewrite_payload(&a, p.id, &body2).unwrap(),
        "failed: not sent"
    );
    s.wedge(&a, p.id, "graph_forbidden", "403").unwrap();
    assert!(!s.rewrite_payload(&a, p.id, &json!({})).unwrap(), "wedged");
    assert_eq!(s.outbox_item(&a, p.id).unwrap().unwrap().payload, body2);
    assert!(!s.rewrite_payload(&a, 9_999, &json!({})).unwrap());
}

pub fn expiry_and_resend(mut ctx: Ctx) {
    let a = ctx.account;
    standard_layout(&mut ctx.store, &a);
    let s: &mut dyn OutboxStore = &mut ctx.store;
    let now = Utc::now();
    let queued = s.enqueue(&a, &post("c1")).unwrap();
    let failed = s.enqueue(&a, &post("c2")).unwrap().id;
    s.begin_attempt(&a, failed, now).unwrap();
    s.fail(&a, failed, "throttled", "429", now + Duration::hours(1))
        .unwrap();
    let sending = s.enqueue(&a, &post("c3")).unwrap().id;
    s.begin_attempt(&a, sending, now).unwrap();
    let wedged = s.enqueue(&a, &post("c1")).unwrap().id;
    s.wedge(&a, wedged, "graph_forbidden", "403").unwrap();
    let sent = s.enqueue(&a, &post("c2")).unwrap().id;
    s.complete(&a, sent, Some("srv")).unwrap();
    tick();
    let cutoff = Utc::now();
    tick();
    let young = s.enqueue(&a, &post("c2")).unwrap().id;
    assert_eq!(
        s.outbox_counts(&a).unwrap(),
        OutboxCounts {
            queued: 2,
            sending: 1,
            failed: 1,
            wedged: 1,
            expired: 0
        }
    );

    let at_cutoff = s
        .expire_older_than(
            &a,
            s.outbox_item(&a, queued.id).unwrap().unwrap().enqueued_at,
        )
        .unwrap();
    assert!(at_cutoff.is_empty(), "strictly before the cutoff");
    assert_eq!(
        s.expire_older_than(&a, cutoff).unwrap(),
        [queued.id, failed],
        "Queued and Failed only: not in flight, wedged, sent, or younger"
    );
    assert_eq!(s.expire_older_than(&a, cutoff).unwrap(), Vec::<i64>::new());
    for (id, st) in [
        (queued.id, OutboxState::Expired),
        (failed, OutboxState::Expired),
        (sending, OutboxState::Sending),
        (wedged, OutboxState::Wedged),
        (sent, OutboxState::Sent),
        (young, OutboxState::Queued),
    ] {
        assert_eq!(state(s, &a, id), st, "{id}");
    }
    let f = s.outbox_item(&a, failed).unwrap().unwrap();
    assert_eq!(
        f.next_attempt_at, None,
        "an expired item has no next attempt"
    );
    assert_eq!(
        f.last_error_code.as_deref(),
        Some("throttled"),
        "the why is kept"
    );
    assert_eq!(
        s.outbox_counts(&a).unwrap(),
        OutboxCounts {
            queued: 1,
            sending: 1,
            failed: 0,
            wedged: 1,
            expired: 2
        }
    );
    assert_eq!(
        ids(&s.next_sendable(&a, now + Duration::days(2)).unwrap()),
        Vec::<i64>::new(),
        "c1 and c2 held by their expired heads, c3 by its item in flight"
    );

    // Resend: queued again now, attempts kept, the error cleared.
    assert!(s.resend(&a, failed).unwrap());
    let r = s.outbox_item(&a, failed).unwrap().unwrap();
    assert_eq!(r.state, OutboxState::Queued);
    assert!(r.enqueued_at > cutoff, "counted from the resend");
    assert_eq!(r.attempts, 1);
    assert_eq!(
        (r.last_error_code, r.last_error_message, r.next_attempt_at),
        (None, None, None)
    );
    assert_eq!(
        s.expire_older_than(&a, cutoff).unwrap(),
        Vec::<i64>::new(),
        "a resent item starts its time again"
    );
    assert!(s.resend(&a, wedged).unwrap());
    assert_eq!(state(s, &a, wedged), OutboxState::Queued);
    assert_eq!(
        s.outbox_item(&a, wedged).unwrap().unwrap().last_error_code,
        None
    );
    for id in [failed, sending, sent, young, 9_999] {
        assert!(!s.resend(&a, id).unwrap(), "{id}: not expired or wedged");
    }
    assert_eq!(ids(&s.next_sendable(&a, now).unwrap()), [failed]);
}

pub fn in_doubt_items(mut ctx: Ctx) {
    let a = ctx.account;
    standard_layout(&mut ctx.store, &a);
    let s: &mut dyn OutboxStore = &mut ctx.store;
    let now = Utc::now();
    assert!(s.in_doubt(&a).unwrap().is_empty());
    let p = s.enqueue(&a, &post("c1")).unwrap().id;
    let q = s.enqueue(&a, &post("c2")).unwrap().id;
    let r = s.enqueue(&a, &post("c3")).unwrap().id;
    s.begin_attempt(&a, q, now).unwrap();
    s.begin_attempt(&a, p, now).unwrap();
    s.begin_attempt(&a, r, now).unwrap();
    s.complete(&a, r, Some("srv-r")).unwrap();
    assert_eq!(ids(&s.in_doubt(&a).unwrap()), [p, q]);
    // Reconciled: p was found on the server, q was not and is sent again.
    s.complete(&a, p, Some("srv-p")).unwrap();
    let again = s.begin_attempt(&a, q, now + Duration::seconds(1)).unwrap();
    assert_eq!(again.attempts, 2);
    assert_eq!(ids(&s.in_doubt(&a).unwrap()), [q]);
}

pub fn retry_now_and_adopted_ids(mut ctx: Ctx) {
    let a = ctx.account;
    standard_layout(&mut ctx.store, &a);
    let s: &mut dyn OutboxStore = &mut ctx.store;
    let now = Utc::now();
    let p = s.enqueue(&a, &post("c1")).unwrap().id;
    assert!(!s.retry_now(&a, p).unwrap(), "only a Failed item");
    s.begin_attempt(&a, p, now).unwrap();
    let later = now + Duration::minutes(5);
    s.fail(&a, p, "server_error", "503", later).unwrap();
    assert!(s.next_sendable(&a, now).unwrap().is_empty());
    assert!(s.retry_now(&a, p).unwrap());
    let item = s.outbox_item(&a, p).unwrap().unwrap();
    assert_eq!(
        item.state,
        OutboxState::Failed,
        "still failed, with its reason"
    );
    assert_eq!(item.last_error_code.as_deref(), Some("server_error"));
    assert_eq!(ids(&s.next_sendable(&a, now).unwrap()), [p], "sendable now");
    assert!(!s.retry_now(&a, 999).unwrap());

    assert_eq!(s.outbox_by_server_id(&a, "c1", "srv-p").unwrap(), None);
    s.begin_attempt(&a, p, now).unwrap();
    s.complete(&a, p, Some("srv-p")).unwrap();
    assert_eq!(
        s.outbox_by_server_id(&a, "c1", "srv-p")
            .unwrap()
            .map(|i| i.id),
        Some(p)
    );
    assert_eq!(
        s.outbox_by_server_id(&a, "c2", "srv-p").unwrap(),
        None,
        "message ids are per channel (Graph's are timestamps)"
    );
}

pub fn deleting_the_account_deletes_its_outbox(mut ctx: Ctx) {
    let a = ctx.account;
    let b = add_account(&mut ctx.store);
    for acc in [&a, &b] {
        standard_layout(&mut ctx.store, acc);
        let s: &mut dyn OutboxStore = &mut ctx.store;
        let p = s.enqueue(acc, &post("c1")).unwrap().id;
        s.enqueue(acc, &write(OutboxKind::Reply, "c1", None, None, Some(p)))
            .unwrap();
    }
    assert!(ctx.store.delete_account(&a).unwrap());
    let s: &dyn OutboxStore = &ctx.store;
    assert!(s.outbox(&a, None, true).unwrap().is_empty());
    assert_eq!(s.outbox(&b, None, true).unwrap().len(), 2);
    let n: i64 = ctx
        .store
        .connection()
        .query_row("SELECT count(*) FROM outbox", [], |r| r.get(0))
        .unwrap();
    assert_eq!(n, 2);
}

backends!(
    enqueue_and_read_back,
    lifecycle_of_one_write,
    per_channel_order,
    dependency_placeholders,
    cancel_cascades,
    rewrite_unsent_payloads,
    expiry_and_resend,
    in_doubt_items,
    retry_now_and_adopted_ids,
    deleting_the_account_deletes_its_outbox,
);

/// An attempt is committed before its request leaves: when Perch dies right after (here: the
/// connection is leaked, never closed or checkpointed, and the file opened again), the item is
/// in doubt and holds its channel until the engine reconciles it.
#[test]
fn in_doubt_after_a_crash() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("perch.sqlite3");
    let mut store = Store::open(&path).unwrap();
    let a = add_account(&mut store);
    standard_layout(&mut store, &a);
    let started = Utc::now();
    let (p, q, r) = {
        let s: &mut dyn OutboxStore = &mut store;
        let p = s.enqueue(&a, &post("c1")).unwrap().id;
        let q = s.enqueue(&a, &post("c1")).unwrap().id;
        let r = s.enqueue(&a, &post("c2")).unwrap().id;
        (p, q, r)
    };
    let sending = store.begin_attempt(&a, p, started).unwrap();
    std::mem::forget(store);

    let mut store = Store::open(&path).unwrap();
    let s: &mut dyn OutboxStore = &mut store;
    assert_eq!(s.in_doubt(&a).unwrap(), std::slice::from_ref(&sending));
    assert_eq!(sending.attempt_started_at, Some(trunc(started)));
    assert_eq!(
        ids(&s.next_sendable(&a, Utc::now()).unwrap()),
        [r],
        "c1 waits for its in-doubt head"
    );
    assert_eq!(s.outbox_counts(&a).unwrap().sending, 1);
    // Reconciliation found it on the server: adopted, and c1 goes on.
    s.complete(&a, p, Some("srv-p")).unwrap();
    assert!(s.in_doubt(&a).unwrap().is_empty());
    assert_eq!(ids(&s.next_sendable(&a, Utc::now()).unwrap()), [q, r]);
}
