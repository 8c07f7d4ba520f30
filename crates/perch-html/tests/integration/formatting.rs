//! What must survive: Teams formatting, mentions, links, hosted images (root and reply forms,
//! both Graph hosts), emoji, placeholders, text bodies and the plain text of each.

use perch_html::{plain_text, policy, render, sanitize, HostedRef, MediaRewrite};

use crate::safety::{assert_safe, media, PREFIX};

const CHANNEL: &str = "19:2ef5a1c2b3d44f6e8a9b0c1d2e3f4a5b@thread.tacv2";
const TEAM: &str = "8b5d1f7e-3c2a-4b9d-9e8f-7a6b5c4d3e2f";
const HOSTED: &str = "aWQ9eF8wLXdldS1kMTQtYWJjLHR5cGU9MSx1cmw9aHR0cHM6Ly9ldS1hcGkuYXNtLnNreXBlLmNvbS92MS9vYmplY3RzLzAtd2V1LWQxNC1hYmMvdmlld3MvaW1nbw";

fn html(body: &str) -> String {
    let out = sanitize(body, "html", &media());
    assert_safe(&out.html, body);
    out.html
}

#[test]
fn formatting_is_kept_as_is() {
    let body = "<p><b>B</b> <strong>S</strong> <i>I</i> <em>E</em> <u>U</u> <s>s</s> \
        <strike>k</strike> <del>d</del> <code>c</code> H<sub>2</sub>O x<sup>2</sup></p>\
        <div><span>span</span></div><pre><code>fn main() {\n    x &lt; y\n}</code></pre>\
        <blockquote>quoted</blockquote><ul><li>one</li><li>two</li></ul><ol><li>first</li></ol>\
        <h1>h1</h1><h2>h2</h2><h3>h3</h3><h4>h4</h4><h5>h5</h5><h6>h6</h6><hr>\
        <table><thead><tr><th colspan=\"2\">head</th></tr></thead>\
        <tbody><tr><td rowspan=\"1\">a</td><td>b</td></tr></tbody></table>";
    assert_eq!(html(body), body);
}

#[test]
fn teams_paragraph_attributes_and_unknown_wrappers_are_dropped() {
    assert_eq!(
        html("<div itemprop=\"copy-paste-block\"><p style=\"margin:0\" class=\"x\" lang=\"en\" dir=\"ltr\" title=\"t\">hi</p><font color=\"red\">red</font></div>"),
        "<div><p>hi</p>red</div>"
    );
}

#[test]
fn mentions_become_mention_spans() {
    assert_eq!(
        html("Hello World <at id=\"0\">Jane Smith</at>"),
        "Hello World <span class=\"mention\" data-mention-id=\"0\">Jane Smith</span>"
    );
    let out = sanitize(
        "<p><at id=\"0\">Adele Vance</at> can you look?</p><p>cc <at id=\"1\">Søren Ødegård</at></p>",
        "html",
        &media(),
    );
    assert_eq!(
        out.html,
        "<p><span class=\"mention\" data-mention-id=\"0\">Adele Vance</span> can you look?</p>\
         <p>cc <span class=\"mention\" data-mention-id=\"1\">Søren Ødegård</span></p>"
    );
    assert_eq!(out.text, "Adele Vance can you look?\ncc Søren Ødegård");
}

#[test]
fn links_get_rel_and_target_and_lose_other_attributes() {
    let href = "https://learn.microsoft.com/en-us/graph/api/channel-list-messages";
    assert_eq!(
        html(&format!(
            "<p>See <a href=\"{href}\" rel=\"noreferrer noopener\" target=\"_blank\" title=\"{href}\">the docs</a></p>"
        )),
        format!("<p>See <a href=\"{href}\" rel=\"noopener noreferrer\" target=\"_blank\">the docs</a></p>")
    );
    assert_eq!(
        html("<a href=\"mailto:adele@contoso.example?subject=Hi%20there\">mail</a>"),
        "<a href=\"mailto:adele@contoso.example?subject=Hi%20there\" rel=\"noopener noreferrer\" target=\"_blank\">mail</a>"
    );
    // Query strings keep their `&`, escaped once.
    assert_eq!(
        html("<a href=\"https://ok.example/?a=1&amp;b=2\">q</a>"),
        "<a href=\"https://ok.example/?a=1&amp;b=2\" rel=\"noopener noreferrer\" target=\"_blank\">q</a>"
    );
    // Without a usable href only the text stays.
    assert_eq!(html("<a name=\"x\">anchor</a>"), "anchor");
}

fn expected_src(media: &MediaRewrite, tail: &str) -> String {
    format!("{PREFIX}{}/hosted/{tail}", media.account_key)
}

#[test]
fn a_hosted_image_in_a_root_post_is_rewritten() {
    let media = media();
    let src = format!("https://graph.microsoft.com/v1.0/teams/{TEAM}/channels/{CHANNEL}/messages/1747040712345/hostedContents/{HOSTED}/$value");
    let body = format!("<p><img src=\"{src}\" width=\"320\" height=\"180\" alt=\"image\" itemtype=\"http://schema.skype.com/AMSImage\" style=\"vertical-align:bottom\"></p>");
    let out = sanitize(&body, "html", &media);
    assert_safe(&out.html, &body);
    let channel_enc = "19%3A2ef5a1c2b3d44f6e8a9b0c1d2e3f4a5b%40thread.tacv2";
    assert_eq!(
        out.html,
        format!(
            "<p><img src=\"{}\" alt=\"image\" width=\"320\" height=\"180\"></p>",
            expected_src(
                &media,
                &format!("{TEAM}/{channel_enc}/1747040712345/-/{HOSTED}")
            )
        )
    );
    assert_eq!(
        out.hosted,
        vec![HostedRef {
            team_id: TEAM.to_owned(),
            channel_id: CHANNEL.to_owned(),
            message_id: "1747040712345".to_owned(),
            reply_id: None,
            hosted_content_id: HOSTED.to_owned(),
        }]
    );
    assert_eq!(out.text, "image");
}

#[test]
fn a_hosted_image_in_a_reply_on_the_emulator_is_rewritten() {
    let media = media();
    // The channel id percent-encoded in the source URL decodes to the same id.
    let src = format!("http://127.0.0.1:4567/v1.0/teams/{TEAM}/channels/19%3Aabc%40thread.tacv2/messages/100/replies/200/hostedContents/h%3D1/$value");
    let body = format!("<p>see</p><img src=\"{src}\"><img src=\"{src}\" alt=\"again\">");
    let out = sanitize(&body, "html", &media);
    assert_safe(&out.html, &body);
    let url = expected_src(
        &media,
        &format!("{TEAM}/19%3Aabc%40thread.tacv2/100/200/h%3D1"),
    );
    assert_eq!(
        out.html,
        format!("<p>see</p><img src=\"{url}\" alt=\"\"><img src=\"{url}\" alt=\"again\">")
    );
    assert_eq!(
        out.hosted,
        vec![HostedRef {
            team_id: TEAM.to_owned(),
            channel_id: "19:abc@thread.tacv2".to_owned(),
            message_id: "100".to_owned(),
            reply_id: Some("200".to_owned()),
            hosted_content_id: "h=1".to_owned(),
        }],
        "deduplicated"
    );
}

#[test]
fn hosted_refs_keep_document_order_and_bases_may_carry_the_version() {
    let media = MediaRewrite {
        graph_bases: vec!["https://graph.microsoft.com/v1.0/".to_owned()],
        media_prefix: "perch-media://localhost/".to_owned(),
        account_key: "a.b".to_owned(),
    };
    let img = |h: &str| {
        format!("<img src=\"https://graph.microsoft.com/v1.0/teams/t/channels/c/messages/m/hostedContents/{h}/$value\">")
    };
    let out = sanitize(
        &format!("{}{}{}", img("b"), img("a"), img("b")),
        "html",
        &media,
    );
    let ids: Vec<&str> = out
        .hosted
        .iter()
        .map(|r| r.hosted_content_id.as_str())
        .collect();
    assert_eq!(ids, ["b", "a"]);
    assert!(out
        .html
        .starts_with("<img src=\"perch-media://localhost/a.b/hosted/t/c/m/-/b\""));
    // Without a matching base nothing is rewritten.
    let none = MediaRewrite {
        graph_bases: Vec::new(),
        ..media
    };
    let out = sanitize(&img("a"), "html", &none);
    assert_eq!((out.html.as_str(), out.hosted.len()), ("", 0));
}

#[test]
fn emoji_become_their_alt_text() {
    let media = media();
    let out = sanitize(
        "<p>Lunch is on us 🎉 <emoji id=\"1f389_partypopper\" alt=\"🎉\" title=\"Party popper\"></emoji></p>",
        "html",
        &media,
    );
    assert_eq!(out.html, "<p>Lunch is on us 🎉 🎉</p>");
    assert_eq!(out.text, "Lunch is on us 🎉 🎉");
    // Teams' emoji images from its CDN.
    let out = sanitize(
        "Great<img src=\"https://statics.teams.cdn.office.net/evergreen-assets/personal-expressions/v2/assets/emoticons/smile/default/20_f.png\" alt=\"🙂\" title=\"Smile\" itemtype=\"http://schema.skype.com/Emoji\" width=\"20\" height=\"20\" style=\"width:20px;height:20px\">!",
        "html",
        &media,
    );
    assert_eq!(out.html, "Great🙂!");
    assert_eq!(out.text, "Great🙂!");
    let out = sanitize(
        "<customemoji id=\"c1\" alt=\"partyparrot\" source=\"https://x.example/p.gif\"></customemoji> ok <emoji>no alt</emoji>",
        "html",
        &media,
    );
    assert_eq!(out.html, "partyparrot ok no alt");
}

#[test]
fn placeholders_and_system_events_vanish() {
    assert_eq!(
        html("<p>Uploaded the latest version.</p><attachment id=\"5b7e0d1c-1111-2222-3333-444455556666\"></attachment>"),
        "<p>Uploaded the latest version.</p>"
    );
    assert_eq!(
        html("<attachment id=\"0123456789abcdef0123456789abcdef\"></attachment>"),
        ""
    );
    let out = sanitize("<systemEventMessage/>", "html", &media());
    assert_eq!((out.html.as_str(), out.text.as_str()), ("", ""));
}

#[test]
fn text_bodies_are_escaped_with_line_breaks() {
    let out = sanitize(
        "a < b & \"c\" 'd'\nline two\r\nline three\rfour\u{7}",
        "text",
        &media(),
    );
    assert_eq!(
        out.html,
        "a &lt; b &amp; &quot;c&quot; &#39;d&#39;<br>line two<br>line three<br>four"
    );
    assert_eq!(out.text, "a < b & \"c\" 'd'\nline two\nline three\nfour");
    assert!(out.hosted.is_empty());
    assert_eq!(
        sanitize("<b>not bold</b>", "Text", &media()).html,
        "&lt;b&gt;not bold&lt;/b&gt;"
    );
}

#[test]
fn plain_text_follows_the_rules() {
    let cases = [
        ("<p>Hello</p><p>World</p>", "Hello\nWorld"),
        ("<p>a<br>b<br><br><br>c</p>", "a\nb\n\nc"),
        ("  lots   of \n\t space  ", "lots of space"),
        (
            "<p>Agenda for Monday:</p><ul><li>Review</li><li>Sign-off</li></ul>",
            "Agenda for Monday:\nReview\nSign-off",
        ),
        (
            "Tom &amp; Jerry &lt;3 &quot;x&quot; &#x1F600; caf&eacute;&nbsp;ok",
            "Tom & Jerry <3 \"x\" 😀 café ok",
        ),
        (
            "Hello World <at id=\"0\">Jane Smith</at>",
            "Hello World Jane Smith",
        ),
        (
            "<p>Seeing this:</p><pre><code>line 1\n  line 2</code></pre><p>Any ideas?</p>",
            "Seeing this:\nline 1\nline 2\nAny ideas?",
        ),
        (
            "<table><tr><td>a</td><td>b</td></tr><tr><td>c</td></tr></table>",
            "a b\nc",
        ),
        ("<b>bold</b><i>italic</i> <code>x</code>", "bolditalic x"),
        ("<p><script>alert(1)</script>safe</p>", "safe"),
        (
            "<img src=\"https://x.example/a.png\" alt=\"a cat\"> and <img src=\"x\">",
            "a cat and",
        ),
        ("", ""),
        ("<p> </p><p></p>", ""),
    ];
    for (body, want) in cases {
        assert_eq!(plain_text(body, "html"), want, "{body}");
        assert_eq!(sanitize(body, "html", &media()).text, want, "{body}");
    }
    assert_eq!(plain_text("x\n\n\n\ny", "text"), "x\n\ny");
}

#[test]
fn the_fast_path_matches_the_parser() {
    let media = media();
    for body in [
        "plain words",
        "a > b, \"quoted\" and 'single'",
        "  spaced\n\tout  ",
        "émoji 🎉 and nbsp\u{a0}here",
        "",
    ] {
        let fast = sanitize(body, "html", &media);
        let slow = render::render(&policy::clean(body), Some(&media));
        assert_eq!(fast.text, slow.text, "{body:?}");
        assert_eq!(fast.html.replace('\u{a0}', "&nbsp;"), slow.html, "{body:?}");
    }
}

#[test]
fn hosted_refs_serialise_with_their_field_names() {
    let r = HostedRef {
        team_id: "t".to_owned(),
        channel_id: "19:c@thread.tacv2".to_owned(),
        message_id: "1".to_owned(),
        reply_id: None,
        hosted_content_id: "h".to_owned(),
    };
    let json = serde_json::to_value(&r).expect("serialises");
    assert_eq!(
        json,
        serde_json::json!({"team_id": "t", "channel_id": "19:c@thread.tacv2", "message_id": "1",
            "reply_id": null, "hosted_content_id": "h"})
    );
    assert_eq!(
        serde_json::from_value::<HostedRef>(json).expect("parses"),
        r
    );
}
