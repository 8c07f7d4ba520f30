//! The hostile corpus: classic XSS, mXSS and clobbering payloads, each sanitised and checked
//! by the safety oracle, plus targeted assertions for the ones with a specific expected shape.

use perch_html::{plain_text, sanitize};

use crate::safety::{assert_safe, media};

const G: &str = "https://graph.microsoft.com/v1.0/teams/t1/channels/c1/messages/1";

/// `(name, body)`. Every body's only `alert` is in a place that would execute it, so none may
/// survive into the output; the cases in [`INERT`] keep it as visible, escaped text.
fn corpus() -> Vec<(&'static str, String)> {
    let mut cases: Vec<(&'static str, String)> = vec![
        ("script", "<script>alert(1)</script>x".into()),
        ("script upper", "<SCRIPT>alert(1)</SCRIPT>".into()),
        ("script mixed", "<ScRiPt>alert(1)</sCrIpT>".into()),
        ("script src", "<script src=\"https://evil.example/alert.js\"></script>".into()),
        ("script in p", "<p>hi<script type=\"text/javascript\">alert(1)</script></p>".into()),
        ("script unclosed", "<p>hi</p><script>alert(1)".into()),
        ("img onerror", "<img src=x onerror=alert(1)>".into()),
        ("img onerror quoted", "<img src=\"x\" onerror=\"alert(1)\" alt=\"a\">".into()),
        ("img javascript src", "<IMG SRC=\"javascript:alert(1)\">".into()),
        ("img hosted with onerror", format!("<img src=\"{G}/hostedContents/h1/$value\" onerror=\"alert(1)\" onload=\"alert(2)\">")),
        ("a javascript", "<a href=\"javascript:alert(1)\">x</a>".into()),
        ("a javascript mixed case", "<a href=\"JaVaScRiPt:alert(1)\">x</a>".into()),
        ("a javascript decimal entity", "<a href=\"&#106;avascript:alert(1)\">x</a>".into()),
        ("a javascript hex entities", "<a href=\"&#x6A;&#x61;&#x76;&#x61;script&#x3A;alert(1)\">x</a>".into()),
        ("a javascript padded entities", "<a href=\"&#0000106&#0000097vascript:alert(1)\">x</a>".into()),
        ("a javascript tab entity", "<a href=\"java&#x09;script:alert(1)\">x</a>".into()),
        ("a javascript newline entity", "<a href=\"java&#10;script:alert(1)\">x</a>".into()),
        ("a javascript raw tab", "<a href=\"java\tscript:alert(1)\">x</a>".into()),
        ("a javascript raw newline", "<a href=\"java\nscript:alert(1)\">x</a>".into()),
        ("a javascript leading space", "<a href=\"  javascript:alert(1)\">x</a>".into()),
        ("a javascript leading control", "<a href=\"\u{1}javascript:alert(1)\">x</a>".into()),
        ("a javascript colon entity", "<a href=\"javascript&colon;alert(1)\">x</a>".into()),
        ("a vbscript", "<a href=\"vbscript:msgbox(alert)\">x</a>".into()),
        ("a data", "<a href=\"data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==\">x</a>".into()),
        ("a protocol relative", "<a href=\"//evil.example/alert\">x</a>".into()),
        ("a backslash relative", "<a href=\"\\\\evil.example\\alert\">x</a>".into()),
        ("a relative", "<a href=\"/alert\">x</a><a href=\"alert.html\">y</a>".into()),
        ("a onclick and own rel", "<a href=\"https://ok.example/\" onclick=\"alert(1)\" rel=\"opener\" target=\"_self\" ping=\"https://evil.example/\">ok</a>".into()),
        ("a nested", "<a href=\"https://ok.example/\">x<a href=\"javascript:alert(1)\">y</a></a>".into()),
        ("svg script", "<svg><script>alert(1)</script></svg>".into()),
        ("svg onload", "<svg onload=alert(1)><circle r=1 /></svg>".into()),
        ("svg xlink", "<svg><a xlink:href=\"javascript:alert(1)\"><text>x</text></a></svg>".into()),
        ("svg animate", "<svg><a><animate attributeName=href values=\"javascript:alert(1)\"/><text>x</text></a></svg>".into()),
        ("svg breakout style", "<svg><p><style><img src=x onerror=alert(1)></style></p></svg>".into()),
        ("math mglyph", "<math><mtext><table><mglyph><style><img src=x onerror=alert(1)>".into()),
        ("math href", "<math href=\"javascript:alert(1)\">x</math>".into()),
        ("math annotation", "<math><annotation-xml encoding=\"text/html\"><img src=x onerror=alert(1)></annotation-xml></math>".into()),
        ("style element", "<style>body{background:url(javascript:alert(1))}</style>".into()),
        ("style import", "<style>@import 'https://evil.example/alert.css';</style>".into()),
        ("style attr url", "<p style=\"background:url(javascript:alert(1))\">x</p>".into()),
        ("style attr expression", "<div style=\"width: expression(alert(1))\">x</div>".into()),
        ("iframe src", "<iframe src=\"javascript:alert(1)\"></iframe>".into()),
        ("iframe srcdoc", "<iframe srcdoc=\"&lt;script&gt;alert(1)&lt;/script&gt;\"></iframe>".into()),
        ("form action", "<form action=\"javascript:alert(1)\"><input type=submit value=alert><button formaction=\"javascript:alert(1)\">go</button></form>".into()),
        ("input autofocus", "<input autofocus onfocus=alert(1)>".into()),
        ("meta refresh", "<meta http-equiv=\"refresh\" content=\"0;url=javascript:alert(1)\">".into()),
        ("base href", "<base href=\"javascript:alert(1)//\"><a href=\"x\">x</a>".into()),
        ("link stylesheet", "<link rel=\"stylesheet\" href=\"javascript:alert(1)\">".into()),
        ("object", "<object data=\"javascript:alert(1)\"><param name=x value=alert></object>".into()),
        ("embed", "<embed src=\"javascript:alert(1)\">".into()),
        ("img data svg", "<img src=\"data:image/svg+xml;base64,PHN2ZyBvbmxvYWQ9YWxlcnQoMSk+\" alt=\"d\">".into()),
        ("img data png", "<img src=\"data:image/png;base64,iVBORw0KGgo=\">".into()),
        ("comment script", "<!-- <script>alert(1)</script> -->after".into()),
        ("comment abrupt", "<!--><img src=x onerror=alert(1)>-->".into()),
        ("comment conditional", "<!--[if IE]><script>alert(1)</script><![endif]-->".into()),
        ("comment bogus", "<! alert(1) --><?php alert(1) ?>".into()),
        ("template", "<template><script>alert(1)</script><img src=x onerror=alert(1)></template>".into()),
        ("noscript mxss", "<noscript><p title=\"</noscript><img src=x onerror=alert(1)>\">".into()),
        ("noembed mxss", "<noembed><img title=\"</noembed><img src=x onerror=alert(1)>\"></noembed>".into()),
        ("xmp", "<xmp><script>alert(1)</script></xmp>".into()),
        ("textarea", "<textarea><script>alert(1)</script></textarea>".into()),
        ("title", "<title><script>alert(1)</script></title>".into()),
        ("select option", "<select><option><script>alert(1)</script></option></select>".into()),
        ("details ontoggle", "<details open ontoggle=alert(1)><summary>s</summary></details>".into()),
        ("video source", "<video><source onerror=alert(1)></video><audio src=x onerror=alert(1)>".into()),
        ("body onload", "<body onload=alert(1)>x</body>".into()),
        ("html head", "<html><head><script>alert(1)</script></head><body>x</body></html>".into()),
        ("at id injection", "<at id=\"x onmouseover=alert(1)\">Name</at>".into()),
        ("at with handler", "<at id=\"1\" onmouseover=\"alert(1)\" style=\"x\">Name</at>".into()),
        ("at id quote", "<at id=\"0&quot; onmouseover=&quot;alert(1)\">Name</at>".into()),
        ("fake mention span", "<span class=\"mention\" data-mention-id=\"5\" onclick=\"alert(1)\">fake</span><div class=\"x\">y</div>".into()),
        ("id and name clobbering", "<p id=\"location\" name=\"cookie\">a</p><form name=\"body\"><img name=\"getElementById\" id=\"alert\"></form><a id=\"defaultView\" name=\"alert\" href=\"https://ok.example/\">b</a>".into()),
        ("img foreign host hosted path", "<img src=\"https://evil.example/v1.0/teams/t1/channels/c1/messages/1/hostedContents/h1/$value\" alt=\"evil\">".into()),
        ("img look-alike host", "<img src=\"https://graph.microsoft.com.evil.example/v1.0/teams/t1/channels/c1/messages/1/hostedContents/h1/$value\">".into()),
        ("img userinfo host", "<img src=\"https://graph.microsoft.com@evil.example/v1.0/teams/t1/channels/c1/messages/1/hostedContents/h1/$value\">".into()),
        ("img graph in path", "<img src=\"https://evil.example/https://graph.microsoft.com/v1.0/teams/t1/channels/c1/messages/1/hostedContents/h1/$value\">".into()),
        ("img http graph", "<img src=\"http://graph.microsoft.com/v1.0/teams/t1/channels/c1/messages/1/hostedContents/h1/$value\">".into()),
        ("img wrong port", "<img src=\"http://127.0.0.1:4568/v1.0/teams/t1/channels/c1/messages/1/hostedContents/h1/$value\">".into()),
        ("img encoded slash", format!("<img src=\"{G}/hostedContents/..%2F..%2F..%2Fme/$value\">")),
        ("img encoded dots", format!("<img src=\"{G}/hostedContents/%2e%2e/$value\">")),
        ("img dot segments", "<img src=\"https://graph.microsoft.com/v1.0/teams/t1/channels/c1/messages/1/hostedContents/../../../../me/photo/x/y/$value\">".into()),
        ("img encoded backslash", format!("<img src=\"{G}/hostedContents/a%5C..%5Cb/$value\">")),
        ("img encoded percent", format!("<img src=\"{G}/hostedContents/a%252Fb/$value\">")),
        ("img query", format!("<img src=\"{G}/hostedContents/h1/$value?alert=1\">")),
        ("img fragment", format!("<img src=\"{G}/hostedContents/h1/$value#alert\">")),
        ("img extra segment", format!("<img src=\"{G}/hostedContents/h1/$value/alert\">")),
        ("img beta", "<img src=\"https://graph.microsoft.com/beta/teams/t1/channels/c1/messages/1/hostedContents/h1/$value\">".into()),
        ("img dash reply", format!("<img src=\"{G}/replies/-/hostedContents/h1/$value\">")),
        ("img backslash path", "<img src=\"https://graph.microsoft.com\\v1.0\\teams\\t1\\channels\\c1\\messages\\1\\hostedContents\\h1\\$value\">".into()),
        ("img tab in path", "<img src=\"https://graph.microsoft.com/v1.0/teams/t1/chan\tnels/c1/messages/1/hostedContents/h\t1/$value\">".into()),
        ("img space in id", format!("<img src=\"{G}/hostedContents/h%201/$value\">")),
        ("img srcset", "<img srcset=\"https://evil.example/a.png 1x\" src=\"https://evil.example/a.png\">".into()),
        ("unclosed everything", "<b><i>unclosed <u>tags <a href=\"https://ok.example/\">link".into()),
        ("misnested", "<p><div><p>nested</div></p></b></i></table></td>".into()),
        ("table injection", "<table><tr><td colspan=\"2 onclick=alert(1)\" onclick=\"alert(1)\">c</td></tr><caption>x</caption></table>".into()),
        ("marquee", "<marquee onstart=alert(1)>m</marquee><blink>b</blink>".into()),
        ("button", "<button onclick=alert(1)>press</button>".into()),
        ("entity smuggled tag", "&lt;script&gt;&lt;/script&gt; <p>ok</p>".into()),
        ("null in tag", "<img\0src=x onerror=alert(1)><a\0href=\"javascript:alert(1)\">x</a>".into()),
        ("attachment with content", "<attachment id=\"1\"><img src=x onerror=alert(1)>inside</attachment>".into()),
        ("emoji with handler", "<emoji id=\"smile\" alt=\"🙂\" onload=\"alert(1)\"></emoji>".into()),
    ];
    cases.push((
        "deep nesting",
        "<div>".repeat(3000) + "deep" + &"</div>".repeat(3000),
    ));
    cases.push((
        "many attributes",
        format!("<p {}>x</p>", "onclick=alert(1) ".repeat(500)),
    ));
    cases
}

/// Cases whose `alert` legitimately survives as inert, escaped text or inside a URL.
const INERT: &[(&str, &str)] = &[
    ("script escaped alt", "<emoji alt=\"&lt;script&gt;alert(1)&lt;/script&gt;\"></emoji>"),
    ("img escaped alt", "<img alt=\"&quot;&gt;&lt;script&gt;alert(1)&lt;/script&gt;\" src=\"https://evil.example/x.png\">"),
    ("tag split", "<scr<script>ipt>alert(1)</script>"),
    ("null in tag name", "<scr\0ipt>alert(1)</script>"),
    ("quote in href", "<a href=\"https://ok.example/&quot;onmouseover=&quot;alert(1)\">x</a>"),
    ("text that looks like markup", "&lt;img src=x onerror=alert(1)&gt;"),
];

#[test]
fn the_corpus_has_at_least_forty_cases() {
    assert!(corpus().len() + INERT.len() >= 40);
}

#[test]
fn no_hostile_body_produces_unsafe_html_or_markup_in_text() {
    let media = media();
    for (name, body) in corpus() {
        let out = sanitize(&body, "html", &media);
        assert_safe(&out.html, name);
        assert!(
            !out.html.to_ascii_lowercase().contains("alert"),
            "{name}: alert survived in {:?}",
            out.html
        );
        assert!(
            !out.text.contains("alert"),
            "{name}: alert in text {:?}",
            out.text
        );
        assert_eq!(out.text, plain_text(&body, "html"), "{name}");
        assert!(!out.text.contains('<') || body.contains("&lt;"), "{name}");
    }
    for (name, body) in INERT {
        let out = sanitize(body, "html", &media);
        assert_safe(&out.html, name);
        assert_eq!(out.text, plain_text(body, "html"), "{name}");
    }
}

#[test]
fn hostile_bodies_are_also_safe_as_text_bodies() {
    let media = media();
    for (name, body) in corpus() {
        let out = sanitize(&body, "text", &media);
        assert_safe(&out.html, name);
        assert!(
            !out.html.replace("<br>", "").contains('<'),
            "{name}: {}",
            out.html
        );
    }
}

#[test]
fn dangerous_links_lose_their_href_but_keep_their_text() {
    let media = media();
    for (name, body) in corpus() {
        if !name.starts_with("a ") {
            continue;
        }
        let out = sanitize(&body, "html", &media);
        assert!(
            out.text.contains('x') || out.text.contains("ok"),
            "{name}: {:?}",
            out.text
        );
    }
    let out = sanitize("<a href=\"javascript:alert(1)\">click</a>", "html", &media);
    assert_eq!(out.html, "click");
}

#[test]
fn own_rel_and_target_are_replaced() {
    let out = sanitize(
        "<a href=\"https://ok.example/\" onclick=\"alert(1)\" rel=\"opener\" target=\"_self\">ok</a>",
        "html",
        &media(),
    );
    assert_eq!(
        out.html,
        "<a href=\"https://ok.example/\" rel=\"noopener noreferrer\" target=\"_blank\">ok</a>"
    );
}

#[test]
fn injected_mention_ids_never_become_mentions() {
    let media = media();
    for body in [
        "<at id=\"x onmouseover=alert(1)\">Name</at>",
        "<at id=\"0&quot; onmouseover=&quot;alert(1)\">Name</at>",
        "<at id=\"-1\">Name</at>",
        "<at id=\"1e3\">Name</at>",
        "<at>Name</at>",
    ] {
        let out = sanitize(body, "html", &media);
        assert_eq!(out.html, "Name", "{body}");
        assert_eq!(out.text, "Name");
    }
    let out = sanitize(
        "<at id=\"1\" onmouseover=\"alert(1)\" style=\"x\">Name</at>",
        "html",
        &media,
    );
    assert_eq!(
        out.html,
        "<span class=\"mention\" data-mention-id=\"1\">Name</span>"
    );
}

#[test]
fn clobbering_attributes_and_source_classes_are_removed() {
    let media = media();
    let out = sanitize(
        "<p id=\"location\" name=\"cookie\">a</p><span class=\"mention\" data-mention-id=\"5\">fake</span>",
        "html",
        &media,
    );
    assert_eq!(out.html, "<p>a</p><span>fake</span>");
}

#[test]
fn images_that_are_not_hosted_contents_become_their_alt_text() {
    let media = media();
    for (name, body) in corpus() {
        if !name.starts_with("img") || name == "img hosted with onerror" {
            continue;
        }
        let out = sanitize(&body, "html", &media);
        assert!(!out.html.contains("<img"), "{name}: {}", out.html);
        assert!(out.hosted.is_empty(), "{name}");
    }
    let out = sanitize(
        "<img src=\"https://evil.example/v1.0/teams/t1/channels/c1/messages/1/hostedContents/h1/$value\" alt=\"evil &amp; co\">",
        "html",
        &media,
    );
    assert_eq!(out.html, "evil &amp; co");
    assert_eq!(out.text, "evil & co");
}

#[test]
fn a_hosted_image_keeps_only_its_safe_attributes() {
    let out = sanitize(
        &format!("<img src=\"{G}/hostedContents/h1/$value\" onerror=\"alert(1)\" style=\"x\" width=\"320\" height=\"1e9\" alt=\"a\">"),
        "html",
        &media(),
    );
    assert_eq!(
        out.html,
        format!(
            "<img src=\"{}{}/hosted/t1/c1/1/-/h1\" alt=\"a\" width=\"320\">",
            crate::safety::PREFIX,
            media().account_key
        )
    );
}
