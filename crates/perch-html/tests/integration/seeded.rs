//! Every body of the emulator's seeded Demo tenant: safe output, every mention converted,
//! every inline image rewritten to the right hosted content, text and plain_text agreeing.

use chrono::{TimeZone as _, Utc};
use perch_emulator::model::{ContentType, Message, Tenant};
use perch_emulator::ops::CANONICAL_GRAPH_ROOT;
use perch_emulator::{seed, EmulatorConfig, Profile};
use perch_html::{plain_text, sanitize, HostedRef};

use crate::safety::{assert_safe, media};

pub fn tenant() -> Tenant {
    let config = EmulatorConfig {
        profile: Profile::Demo,
        seed: 42,
        ..EmulatorConfig::default()
    };
    let now = Utc
        .with_ymd_and_hms(2026, 3, 2, 9, 30, 0)
        .single()
        .expect("valid date");
    seed::generate_at(&config, now)
}

/// `(team id, channel id, message)` for every root and reply.
pub fn messages(tenant: &Tenant) -> Vec<(String, &str, &Message)> {
    let mut out = Vec::new();
    for team in &tenant.teams {
        for channel in &team.channels {
            for root in &channel.messages.roots {
                out.push((team.id.to_string(), channel.id.as_str(), root));
                for reply in &root.replies {
                    out.push((team.id.to_string(), channel.id.as_str(), reply));
                }
            }
        }
    }
    out
}

#[test]
fn every_seeded_body_sanitises_safely_and_keeps_its_content() {
    let tenant = tenant();
    let media = media();
    let all = messages(&tenant);
    assert!(
        all.len() > 1_000,
        "the Demo tenant has thousands of messages"
    );
    let (mut images, mut mentions, mut emoji, mut links, mut code) = (0, 0, 0, 0, 0);
    for (team_id, channel_id, m) in &all {
        let content_type = match m.content_type {
            ContentType::Html => "html",
            ContentType::Text => "text",
        };
        // Both hosts a client meets: Graph itself and the emulator (which serves the seeded
        // bodies with its own root in place of Graph's).
        let on_emulator = m
            .content
            .replace(CANONICAL_GRAPH_ROOT, "http://127.0.0.1:4567/v1.0");
        for body in [m.content.as_str(), on_emulator.as_str()] {
            let out = sanitize(body, content_type, &media);
            let context = format!("message {} in {channel_id}", m.id);
            assert_safe(&out.html, &context);
            assert_eq!(out.text, plain_text(body, content_type), "{context}");
            for tag in [
                "<p>",
                "<at",
                "<img",
                "<emoji",
                "<attachment",
                "<code>",
                "<b>",
                "<a ",
            ] {
                assert!(!out.text.contains(tag), "{context}: {}", out.text);
            }

            let spans = out.html.matches("<span class=\"mention\"").count();
            assert_eq!(spans, m.mentions.len(), "{context}: {}", out.html);
            for mention in &m.mentions {
                assert!(out.text.contains(&mention.mention_text), "{context}");
            }
            mentions += spans;

            let want: Vec<HostedRef> = m
                .hosted_contents
                .iter()
                .map(|h| HostedRef {
                    team_id: team_id.clone(),
                    channel_id: (*channel_id).to_owned(),
                    message_id: m.reply_to_id.clone().unwrap_or_else(|| m.id.clone()),
                    reply_id: m.reply_to_id.as_ref().map(|_| m.id.clone()),
                    hosted_content_id: h.id.clone(),
                })
                .collect();
            assert_eq!(out.hosted, want, "{context}");
            assert_eq!(out.html.matches("<img ").count(), want.len(), "{context}");
            images += want.len();

            if body.contains("<emoji") {
                assert!(!out.html.contains("emoji"), "{context}");
                emoji += 1;
            }
            links += out.html.matches("<a href=\"https://").count();
            code += usize::from(out.html.contains("<pre><code>"));
            assert!(!out.html.contains("attachment"), "{context}");
        }
    }
    // The seed covers every shape; if it stops doing so these tests stop testing them.
    assert!(images > 0 && mentions > 0 && emoji > 0 && links > 0 && code > 0);
}
