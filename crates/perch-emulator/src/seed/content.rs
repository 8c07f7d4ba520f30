//! Message bodies: Teams-style HTML built from templates, with the pieces a client must render
//! (formatting, lists, code, quotes, links, emoji, mentions, inline images, file references and
//! adaptive cards). Shared by the seed and by the live colleagues so that both write the same
//! kind of content.
//!
//! Templates use one-letter slots filled in a single pass (no regex, few allocations): `{p}` a
//! project, `{d}` a day, `{f}` a document, `{n}` a number, `{u}` a colleague's first name and
//! `{t}` a time of day. The text is trusted, pre-escaped HTML; only names are inserted.

use std::fmt::Write as _;

use rand::seq::SliceRandom as _;
use rand::Rng;
use uuid::Uuid;

use crate::model::{Attachment, Mention, MentionTarget};

use super::names::Topic;

const PROJECTS: &[&str] = &[
    "Falcon",
    "the Northwind migration",
    "Project Aurora",
    "the Q3 launch",
    "Mobile 4.2",
    "the billing revamp",
    "Contoso Mail",
    "the onboarding flow",
    "the Tailspin integration",
    "the partner portal",
    "Atlas",
    "the search rewrite",
];

const DAYS: &[&str] = &[
    "Monday",
    "Tuesday",
    "Wednesday",
    "Thursday",
    "Friday",
    "tomorrow",
    "next week",
    "end of month",
    "the 14th",
];

const TIMES: &[&str] = &["9:30", "10:00", "11:15", "13:00", "14:30", "16:00"];

/// Document names used for file references (`Report.docx`-like).
pub const DOCUMENTS: &[&str] = &[
    "Q3 Roadmap.docx",
    "Launch Plan.pptx",
    "Budget FY26.xlsx",
    "Customer Interviews.docx",
    "Architecture Overview.pdf",
    "Brand Guidelines.pdf",
    "Release Notes 4.2.docx",
    "Pipeline Forecast.xlsx",
    "Retro Notes.docx",
    "Incident Report.docx",
];

const WORK_LINES: &[&str] = &[
    "Quick update on {p}: we're on track for {d}.",
    "Has anyone seen the latest numbers for {p}? Conversion is up {n}% week over week.",
    "I've put the draft of {f} in the channel files, comments welcome before {d}.",
    "Reminder: the {p} sync moves to {t} on {d}.",
    "We hit a snag with {p}; the vendor needs another {n} days.",
    "Great work everyone on {p}, the customer feedback has been fantastic.",
    "Can someone own the follow-ups from yesterday's review of {p}?",
    "Who's around on {d} to help with the {p} demo?",
    "FYI: the staging environment will be down {d} from {t} for maintenance.",
    "Does anyone have the contact at Fabrikam for {p}?",
    "The retro notes for {p} are up, thanks {u} for facilitating.",
    "Heads up: budget requests for next quarter are due {d}.",
    "We're seeing {n} new sign-ups a day since {p} went live.",
    "I'll be out {d}; {u} is covering for me.",
    "Kudos to {u} for jumping on the {p} escalation last night 🙌",
    "Trying a new format for the weekly update; let me know what you think.",
    "Did we ever decide on the naming for {p}?",
    "Any objections to moving {p} to {d}?",
    "Customer call with Northwind at {t}, notes to follow.",
    "Survey results are in: {n}% of respondents prefer the new layout.",
    "Welcome {u} to the team! 👋",
    "Can we get a volunteer to present {p} at the all-hands on {d}?",
];

const ENGINEERING_LINES: &[&str] = &[
    "Build on main is red again, looks like a flaky test in {p}.",
    "The PR for {p} retry logic is up and could use a second reviewer.",
    "p95 latency for {p} went from {n} ms to half that after the cache change.",
    "Rolling out {p} to {n}% of tenants today.",
    "The postmortem for Tuesday's incident is drafted; please add your timeline entries.",
    "We're moving to the new TLS library next sprint, so expect a dependency bump.",
    "Who knows why the integration tests for {p} take {n} minutes now?",
    "Feature flag for {p} is on in staging, please poke at it.",
    "Heads up: the database failover drill is {d} at {t}.",
    "Merged the fix for the memory leak {u} found. Thanks!",
];

const SOCIAL_LINES: &[&str] = &[
    "Anyone up for a run along the river {d}? 🏃",
    "Book club pick for next month: <i>The Left Hand of Darkness</i>. Thoughts?",
    "My dog discovered snow this morning ❄️🐕",
    "The coffee machine on the 3rd floor is fixed ☕",
    "Lunch is on us {d} to celebrate {p} 🎉",
    "Who wants to join the pub quiz team on {d}?",
    "Happy birthday {u}! 🎂🎈",
    "Found a great ramen place near the office 🍜",
];

const REPLY_LINES: &[&str] = &[
    "Thanks!",
    "Thanks {u}, that's really helpful.",
    "+1",
    "Looks good to me 👍",
    "I'll take a look after lunch.",
    "Can we discuss this in the {d} sync?",
    "Agreed.",
    "Nice work! 🎉",
    "I have a few comments, will add them to {f}.",
    "Same here.",
    "On it.",
    "Done ✅",
    "Not sure that works for {p}, let's chat.",
    "Sounds good, count me in.",
    "Could you share the link again?",
    "That's great news 😀",
    "I think {u} knows more about this.",
    "Let's go with option B.",
    "Fixed in the latest build.",
    "Hmm, I can't reproduce it on my machine.",
    "Can you add me to the invite?",
    "Happy to help with this.",
    "Makes sense.",
    "Approved from my side.",
    "Love it ❤️",
    "Haha 😂",
    "Good catch.",
    "We should write this down somewhere.",
    "Following.",
    "Will do, expect an update by {d}.",
];

const LIST_INTROS: &[&str] = &[
    "Agenda for {d}:",
    "Open questions on {p}:",
    "Action items from today:",
    "What shipped this week:",
];

const LIST_ITEMS: &[&str] = &[
    "Review the {p} timeline",
    "Sign-off from legal",
    "Update {f}",
    "Demo by {u}",
    "Budget check-in",
    "Customer quotes for the launch post",
    "Accessibility pass",
    "Fix the onboarding email typo",
    "Decide on the pricing tiers",
    "Load test at {n}k requests/s",
];

const STEPS: &[&str] = &[
    "Open the app and sign in",
    "Go to <b>Settings</b> → <b>Notifications</b>",
    "Turn off <i>Desktop alerts</i>",
    "Restart the app",
    "Post a message in General",
];

/// Code snippets, HTML-escaped, for `<pre><code>` blocks.
const SNIPPETS: &[&str] = &[
    "thread 'main' panicked at src/sync.rs:212:9:\ncalled `Result::unwrap()` on an `Err` value: Timeout",
    "fn retry_after(h: &amp;HeaderMap) -&gt; Option&lt;Duration&gt; {\n    let secs: f64 = h.get(\"retry-after\")?.to_str().ok()?.parse().ok()?;\n    Some(Duration::from_secs_f64(secs))\n}",
    "SELECT team, count(*) AS posts\nFROM messages\nWHERE created &gt; now() - interval '7 days'\nGROUP BY team\nORDER BY posts DESC;",
    "$ kubectl get pods -n falcon\nNAME                      READY   STATUS             RESTARTS\napi-7d9f8b6c5-x2k4q       1/1     Running            0\nworker-5c6d7e8f9-p8m2n    0/1     CrashLoopBackOff   12",
    "{\n  \"error\": {\n    \"code\": \"TooManyRequests\",\n    \"message\": \"Too many requests\"\n  }\n}",
    "const res = await fetch(url, { headers: { Authorization: `Bearer ${token}` } });\nif (res.status === 429) await sleep(Number(res.headers.get('Retry-After')) * 1000);",
];

const INLINE_CODE: &[&str] = &[
    "cargo test --workspace",
    "npm run lint",
    "git rebase -i main",
    "kubectl rollout restart deploy/api",
    "--feature-flag=falcon",
];

const LINKS: &[(&str, &str)] = &[
    (
        "https://learn.microsoft.com/en-us/graph/api/channel-list-messages",
        "List channel messages",
    ),
    (
        "https://learn.microsoft.com/en-us/graph/throttling-limits",
        "Graph throttling limits",
    ),
    (
        "https://contoso.sharepoint.com/sites/Product/SitePages/Roadmap.aspx",
        "the roadmap page",
    ),
    (
        "https://www.example.com/blog/hybrid-work",
        "this article on hybrid work",
    ),
    (
        "https://status.contoso.example/incidents/4711",
        "the status page",
    ),
];

/// Reaction types: Teams' named reactions and Unicode emoji.
pub const REACTIONS: &[&str] = &[
    "like",
    "like",
    "like",
    "heart",
    "heart",
    "laugh",
    "surprised",
    "sad",
    "angry",
    "👍",
    "🎉",
    "🙏",
    "🔥",
    "👀",
    "✅",
];

const EMOJI_ELEMENTS: &[(&str, &str, &str)] = &[
    ("1f389_partypopper", "🎉", "Party popper"),
    ("smile", "🙂", "Smile"),
    ("1f44d_thumbsup", "👍", "Thumbs up"),
    ("heart", "❤️", "Heart"),
];

/// Where a line comes from.
fn pool(topic: Topic) -> &'static [&'static str] {
    match topic {
        Topic::Work => WORK_LINES,
        Topic::Engineering => ENGINEERING_LINES,
        Topic::Social => SOCIAL_LINES,
    }
}

/// Appends `template` to `out` with its slots filled. `colleagues` are first names for `{u}`.
pub fn fill<R: Rng>(out: &mut String, template: &str, rng: &mut R, colleagues: &[&str]) {
    let mut rest = template;
    while let Some(pos) = rest.find('{') {
        out.push_str(&rest[..pos]);
        let tail = &rest[pos..];
        let slot = tail.as_bytes().get(1).copied();
        if tail.as_bytes().get(2) != Some(&b'}') {
            out.push('{');
            rest = &tail[1..];
            continue;
        }
        match slot {
            Some(b'p') => out.push_str(pick(rng, PROJECTS)),
            Some(b'd') => out.push_str(pick(rng, DAYS)),
            Some(b'f') => out.push_str(pick(rng, DOCUMENTS)),
            Some(b't') => out.push_str(pick(rng, TIMES)),
            Some(b'n') => {
                let n: u32 = rng.gen_range(2..60);
                let _ = write!(out, "{n}");
            }
            Some(b'u') => out.push_str(colleagues.choose(rng).copied().unwrap_or("Adele")),
            _ => out.push_str(&tail[..3]),
        }
        rest = &tail[3..];
    }
    out.push_str(rest);
}

fn pick<'a, R: Rng>(rng: &mut R, items: &[&'a str]) -> &'a str {
    items[rng.gen_range(0..items.len())]
}

/// A root post's HTML body for a team about `topic`, in one of many shapes: a paragraph, bold
/// or italic lead-ins, bulleted and numbered lists, inline code and code blocks, a quote, a
/// link, emoji elements or several paragraphs.
pub fn root_html<R: Rng>(rng: &mut R, topic: Topic, colleagues: &[&str]) -> String {
    let mut out = String::with_capacity(192);
    let lines = pool(topic);
    let code_weight = if topic == Topic::Engineering { 10 } else { 2 };
    let roll = rng.gen_range(0..100 + code_weight * 2);
    match roll {
        0..=39 => {
            out.push_str("<p>");
            fill(&mut out, pick(rng, lines), rng, colleagues);
            out.push_str("</p>");
        }
        40..=47 => {
            out.push_str("<p><b>");
            out.push_str(pick(rng, &["Heads up:", "Update:", "Decision:", "FYI:"]));
            out.push_str("</b> ");
            fill(&mut out, pick(rng, lines), rng, colleagues);
            out.push_str("</p>");
        }
        48..=52 => {
            out.push_str("<p><strong>Important:</strong> ");
            fill(&mut out, pick(rng, lines), rng, colleagues);
            out.push_str(" <i>(details in the doc)</i></p>");
        }
        53..=61 => {
            out.push_str("<p>");
            fill(&mut out, pick(rng, LIST_INTROS), rng, colleagues);
            out.push_str("</p><ul>");
            for _ in 0..rng.gen_range(2..5) {
                out.push_str("<li>");
                fill(&mut out, pick(rng, LIST_ITEMS), rng, colleagues);
                out.push_str("</li>");
            }
            out.push_str("</ul>");
        }
        62..=66 => {
            out.push_str("<p>Steps to reproduce:</p><ol>");
            let n = rng.gen_range(3..=STEPS.len());
            for step in &STEPS[..n] {
                out.push_str("<li>");
                out.push_str(step);
                out.push_str("</li>");
            }
            out.push_str("</ol><p>Expected: no banner. Actual: the banner comes back.</p>");
        }
        67..=71 => {
            out.push_str("<blockquote>");
            fill(&mut out, pick(rng, lines), rng, colleagues);
            out.push_str("</blockquote><p>");
            out.push_str(pick(
                rng,
                &[
                    "Who can pick this up?",
                    "This came up again in the customer call.",
                    "Quoting from last week, is this still true?",
                ],
            ));
            out.push_str("</p>");
        }
        72..=77 => {
            let (href, text) = LINKS[rng.gen_range(0..LINKS.len())];
            out.push_str("<p>");
            out.push_str(pick(
                rng,
                &["Worth a read:", "Docs are here:", "More details in", "See"],
            ));
            out.push_str(" <a href=\"");
            out.push_str(href);
            out.push_str("\" rel=\"noreferrer noopener\" target=\"_blank\" title=\"");
            out.push_str(href);
            out.push_str("\">");
            out.push_str(text);
            out.push_str("</a></p>");
        }
        78..=83 => {
            let (id, alt, title) = EMOJI_ELEMENTS[rng.gen_range(0..EMOJI_ELEMENTS.len())];
            out.push_str("<p>");
            fill(&mut out, pick(rng, lines), rng, colleagues);
            out.push_str(" <emoji id=\"");
            out.push_str(id);
            out.push_str("\" alt=\"");
            out.push_str(alt);
            out.push_str("\" title=\"");
            out.push_str(title);
            out.push_str("\"></emoji></p>");
        }
        84..=91 => {
            out.push_str("<p>");
            fill(&mut out, pick(rng, lines), rng, colleagues);
            out.push_str("</p><p>");
            fill(&mut out, pick(rng, lines), rng, colleagues);
            out.push_str("</p>");
        }
        92..=99 => {
            out.push_str("<p>");
            out.push_str(pick(rng, &["🎉🎉🎉", "👀", "🚀 Shipped!", "☕?"]));
            out.push_str("</p>");
        }
        r if r < 100 + code_weight => {
            out.push_str("<p>Please run <code>");
            out.push_str(pick(rng, INLINE_CODE));
            out.push_str("</code> before pushing, ");
            fill(
                &mut out,
                "it caught three issues in {p} this week.",
                rng,
                colleagues,
            );
            out.push_str("</p>");
        }
        _ => {
            out.push_str("<p>Seeing this since the last deploy:</p><pre><code>");
            out.push_str(pick(rng, SNIPPETS));
            out.push_str("</code></pre><p>Any ideas?</p>");
        }
    }
    out
}

/// A reply's HTML body: mostly short, sometimes with code or a link.
pub fn reply_html<R: Rng>(rng: &mut R, colleagues: &[&str]) -> String {
    let mut out = String::with_capacity(64);
    match rng.gen_range(0..100) {
        0..=87 => {
            out.push_str("<p>");
            fill(&mut out, pick(rng, REPLY_LINES), rng, colleagues);
            out.push_str("</p>");
        }
        88..=92 => {
            out.push_str("<p>Try <code>");
            out.push_str(pick(rng, INLINE_CODE));
            out.push_str("</code>, that fixed it for me.</p>");
        }
        93..=96 => {
            let (href, text) = LINKS[rng.gen_range(0..LINKS.len())];
            out.push_str("<p>Here: <a href=\"");
            out.push_str(href);
            out.push_str("\">");
            out.push_str(text);
            out.push_str("</a></p>");
        }
        _ => {
            out.push_str("<pre><code>");
            out.push_str(pick(rng, SNIPPETS));
            out.push_str("</code></pre>");
        }
    }
    out
}

/// A subject line for a root post.
pub fn subject<R: Rng>(rng: &mut R, colleagues: &[&str]) -> String {
    let mut out = String::new();
    fill(
        &mut out,
        pick(
            rng,
            &[
                "{p}: status update",
                "Decision needed on {p}",
                "Planning for {d}",
                "Action required: {f}",
                "Outage postmortem",
                "Welcome {u}!",
            ],
        ),
        rng,
        colleagues,
    );
    out
}

/// `<at id="{n}">{name}</at>`.
pub fn at(out: &mut String, n: i32, name: &str) {
    let _ = write!(out, "<at id=\"{n}\">");
    out.push_str(name);
    out.push_str("</at>");
}

/// A user mention entry.
pub fn user_mention(n: i32, id: Uuid, display_name: &str) -> Mention {
    Mention {
        id: n,
        mention_text: display_name.to_owned(),
        mentioned: MentionTarget::User {
            id,
            display_name: display_name.to_owned(),
        },
    }
}

/// A channel mention entry.
pub fn channel_mention(n: i32, channel_id: &str, channel_name: &str) -> Mention {
    Mention {
        id: n,
        mention_text: channel_name.to_owned(),
        mentioned: MentionTarget::Conversation {
            id: channel_id.to_owned(),
            display_name: channel_name.to_owned(),
            kind: "channel".to_owned(),
        },
    }
}

/// A paragraph that mentions someone: `<p><at id="0">Adele Vance</at> can you …</p>`.
pub fn mention_paragraph<R: Rng>(rng: &mut R, n: i32, name: &str, colleagues: &[&str]) -> String {
    let mut out = String::with_capacity(128);
    out.push_str("<p>");
    at(&mut out, n, name);
    out.push(' ');
    fill(
        &mut out,
        pick(
            rng,
            &[
                "can you take a look at this?",
                "could you review {f} before {d}?",
                "what do you think?",
                "FYI, this affects {p}.",
                "thanks for the help with {p}!",
                "are you joining at {t}?",
            ],
        ),
        rng,
        colleagues,
    );
    out.push_str("</p>");
    out
}

/// A paragraph that mentions the whole channel.
pub fn channel_paragraph<R: Rng>(
    rng: &mut R,
    n: i32,
    channel_name: &str,
    colleagues: &[&str],
) -> String {
    let mut out = String::with_capacity(128);
    out.push_str("<p>");
    at(&mut out, n, channel_name);
    out.push(' ');
    fill(
        &mut out,
        pick(
            rng,
            &[
                "reminder: timesheets are due {d}.",
                "the {p} review moves to {t}.",
                "please read {f} before the all-hands.",
            ],
        ),
        rng,
        colleagues,
    );
    out.push_str("</p>");
    out
}

/// The `<img>` element of an inline image whose bytes are served at `src`.
pub fn image_html(src: &str, alt: &str) -> String {
    format!(
        "<p><img src=\"{src}\" width=\"320\" height=\"180\" alt=\"{alt}\" itemtype=\"http://schema.skype.com/AMSImage\" style=\"vertical-align:bottom\"></p>"
    )
}

/// A SharePoint file reference: the attachment and the HTML that refers to it.
pub fn file_attachment<R: Rng>(rng: &mut R, site: &str, channel: &str) -> (Attachment, String) {
    let id = Uuid::from_bytes(rng.gen()).to_string();
    let name = pick(rng, DOCUMENTS);
    let url = format!(
        "https://contoso.sharepoint.com/sites/{site}/Shared%20Documents/{}/{}",
        url_path(channel),
        url_path(name)
    );
    let html = format!(
        "<p>{}</p><attachment id=\"{id}\"></attachment>",
        pick(
            rng,
            &[
                "Uploaded the latest version.",
                "Here's the file we talked about.",
                "Please review by Friday.",
                "Final version attached.",
            ],
        )
    );
    let attachment = Attachment {
        id,
        content_type: "reference".to_owned(),
        content_url: Some(url),
        content: None,
        name: Some(name.to_owned()),
        thumbnail_url: None,
    };
    (attachment, html)
}

/// An adaptive card as a bot would post it: the attachment and the HTML that refers to it.
pub fn card_attachment<R: Rng>(rng: &mut R, bot: &str) -> (Attachment, String) {
    let id = format!("{:032x}", rng.gen::<u128>());
    let build: u32 = rng.gen_range(1000..9999);
    let (title, detail, colour) = match bot {
        "Azure DevOps" => (
            format!("Build #{build} succeeded"),
            "Pipeline main · all tests passed".to_owned(),
            "good",
        ),
        "Jira Cloud" => (
            format!("CON-{build} moved to In Review"),
            "Assignee changed, priority High".to_owned(),
            "attention",
        ),
        "Polly" => (
            "Where should we go for the team lunch?".to_owned(),
            "Vote by Thursday noon".to_owned(),
            "accent",
        ),
        _ => (
            format!("Deployment {build} finished"),
            "Production, region West Europe".to_owned(),
            "default",
        ),
    };
    let card = serde_json::json!({
        "type": "AdaptiveCard",
        "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
        "version": "1.4",
        "body": [
            {"type": "TextBlock", "text": title, "weight": "bolder", "size": "medium", "color": colour},
            {"type": "TextBlock", "text": detail, "wrap": true, "isSubtle": true},
            {"type": "FactSet", "facts": [
                {"title": "Requested by", "value": bot},
                {"title": "Duration", "value": format!("{}m {}s", rng.gen_range(1..20), rng.gen_range(0..60))}
            ]}
        ],
        "actions": [
            {"type": "Action.OpenUrl", "title": "Open", "url": format!("https://dev.contoso.example/{build}")}
        ]
    });
    let attachment = Attachment {
        id: id.clone(),
        content_type: "application/vnd.microsoft.card.adaptive".to_owned(),
        content_url: None,
        content: Some(card.to_string()),
        name: None,
        thumbnail_url: None,
    };
    (attachment, format!("<attachment id=\"{id}\"></attachment>"))
}

/// Percent-encodes spaces and the few characters that occur in names, for SharePoint URLs.
pub fn url_path(text: &str) -> String {
    percent_encoding::utf8_percent_encode(text, percent_encoding::NON_ALPHANUMERIC)
        .to_string()
        .replace("%2E", ".")
        .replace("%2D", "-")
}
