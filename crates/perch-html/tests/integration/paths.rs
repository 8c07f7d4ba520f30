//! The fast path against ammonia: wherever [`fast::is_canonical`] accepts a body, reading it
//! directly must give exactly what reading ammonia's output gives — on every seeded body, the
//! hand-written cases and thousands of generated ones (which also all go through the safety
//! oracle).

use perch_html::{fast, policy, render, sanitize, Sanitized};

use crate::safety::{assert_safe, media};

/// Both paths on `body`; `true` when the fast path took it.
fn compare(body: &str) -> bool {
    if !fast::is_canonical(body) {
        return false;
    }
    let media = media();
    let fast_out = render::try_render(body, Some(&media))
        .unwrap_or_else(|| panic!("the scanner refused a canonical body: {body:?}"));
    let slow_out: Sanitized = render::render(&policy::clean(body), Some(&media));
    assert_eq!(fast_out, slow_out, "the paths differ on {body:?}");
    assert_eq!(
        render::try_render_text(body).as_deref(),
        Some(slow_out.text.as_str()),
        "{body:?}"
    );
    true
}

#[test]
fn the_paths_agree_on_the_seeded_tenant_and_the_fast_path_takes_most_of_it() {
    let tenant = crate::seeded::tenant();
    let bodies: Vec<&str> = crate::seeded::messages(&tenant)
        .into_iter()
        .map(|(_, _, m)| m.content.as_str())
        .filter(|b| b.contains('<'))
        .collect();
    let taken = bodies.iter().filter(|b| compare(b)).count();
    // System events (`<systemEventMessage/>`) and the odd body with a bare `&` go the slow way.
    assert!(
        taken * 100 >= bodies.len() * 90,
        "fast path took only {taken} of {}",
        bodies.len()
    );
}

#[test]
fn the_fast_path_refuses_what_it_cannot_read_as_written() {
    for body in [
        "<p><div>x</div></p>",
        "<p><p>x</p></p>",
        "<b><i>x</b></i>",
        "<ul><p>x</p></ul>",
        "<ul>text<li>x</li></ul>",
        "<li>x</li>",
        "<a href=\"https://a.example/\"><a href=\"https://b.example/\">x</a></a>",
        "<pre>\nx</pre>",
        "<p>open",
        "</p>",
        "<P>x</P>",
        "<p >x</p>",
        "<p class='x'>x</p>",
        "<p class=x>x</p>",
        "<p title=\"a&amp;b\">x</p>",
        "<br/>",
        "<img src=\"x\"/>",
        "<table><tr><td>x</td></tr></table>",
        "<script>x</script>",
        "<!-- x -->",
        "<systemEventMessage/>",
        "Q&A",
        "&quot;",
        "a\r\nb",
        "a\0b",
        "<attachment id=\"1\">x</attachment>",
        "<3",
    ] {
        assert!(!fast::is_canonical(body), "{body:?}");
    }
    for body in [
        "<p>Hello <b>world</b> &amp; <at id=\"0\">Jane</at></p>",
        "<ul>\n<li><p>a</p></li>\n</ul>",
        "<p>a > b&nbsp;c</p><hr><br>",
        "<p>Uploaded.</p><attachment id=\"1\"></attachment>",
    ] {
        assert!(fast::is_canonical(body), "{body:?}");
        assert!(compare(body));
    }
}

/// A small deterministic generator (xorshift64*), so the test needs no extra dependency.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[self.below(items.len())]
    }
}

const HOSTED: &str = "https://graph.microsoft.com/v1.0/teams/t1/channels/19:a@thread.tacv2/messages/1/hostedContents/aGk=/$value";

const OPEN: &[(&str, &str)] = &[
    ("p", "<p>"),
    ("p", "<p style=\"margin:0\" class=\"x\" id=\"y\" lang=\"en\">"),
    ("div", "<div>"),
    ("div", "<div itemprop=\"copy-paste-block\">"),
    ("b", "<b>"),
    ("strong", "<strong>"),
    ("i", "<i>"),
    ("em", "<em>"),
    ("u", "<u>"),
    ("s", "<s>"),
    ("del", "<del>"),
    ("code", "<code>"),
    ("sub", "<sub>"),
    ("span", "<span class=\"mention\" data-mention-id=\"1\">"),
    ("pre", "<pre>"),
    ("blockquote", "<blockquote>"),
    ("ul", "<ul>"),
    ("ol", "<ol>"),
    ("li", "<li>"),
    ("h1", "<h1>"),
    ("h3", "<h3>"),
    ("a", "<a href=\"https://ok.example/x?a=1\" rel=\"noreferrer noopener\" target=\"_blank\" title=\"t\">"),
    ("a", "<a href=\"javascript:alert(1)\">"),
    ("a", "<a href=\"/relative\">"),
    ("a", "<a href=\" https://ok.example/ \">"),
    ("a", "<a href=\"mailto:a@b.example\">"),
    ("a", "<a href=\"https://ok.example/\" href=\"javascript:alert(1)\">"),
    ("a", "<a>"),
    ("a", "<a href=\"https://ok.example/?a=1&amp;b=2\">"),
    ("at", "<at id=\"0\">"),
    ("at", "<at id=\"12\">"),
    ("at", "<at id=\"x\">"),
    ("at", "<at id=\"1234567890\">"),
    ("emoji", "<emoji id=\"smile\" alt=\"🙂\" title=\"Smile\">"),
    ("emoji", "<emoji id=\"x\">"),
    ("emoji", "<emoji alt=\" \">"),
    ("customemoji", "<customemoji alt=\"parrot\">"),
    ("table", "<table>"),
    ("tr", "<tr>"),
    ("td", "<td colspan=\"2\">"),
    ("P", "<P>"),
    ("font", "<font color=\"red\">"),
];

const VOID: &[&str] = &[
    "<br>",
    "<hr>",
    "<img src=\"https://graph.microsoft.com/v1.0/teams/t1/channels/19:a@thread.tacv2/messages/1/hostedContents/aGk=/$value\" alt=\"image\" width=\"320\" height=\"180\">",
    "<img src=\"https://graph.microsoft.com/v1.0/teams/t1/channels/19:a@thread.tacv2/messages/1/replies/2/hostedContents/aGk=/$value\" width=\"99999\" height=\"1x\">",
    "<img src=\" https://graph.microsoft.com/v1.0/teams/t1/channels/c/messages/1/hostedContents/h/$value\">",
    "<img src=\"\u{1}https://graph.microsoft.com/v1.0/teams/t1/channels/c/messages/1/hostedContents/h/$value\">",
    "<img src=\"https://evil.example/a.png\" alt=\"a\">",
    "<img src=\"https://evil.example/a.png\" alt=\"a &amp; b\">",
    "<img src=\"data:image/png;base64,AAAA\" alt=\"d\">",
    "<img src=\"http://127.0.0.1:4567/v1.0/teams/t/channels/c/messages/1/hostedContents/h/$value\" alt=\"emu\">",
    "<img alt=\"🙂\" src=\"https://statics.teams.cdn.office.net/x.png\" itemtype=\"http://schema.skype.com/Emoji\">",
    "<attachment id=\"5b7e0d1c\"></attachment>",
    "<br/>",
    "<img alt=\"x\"/>",
];

const TEXT: &[&str] = &[
    "hello",
    "Quick update on Falcon",
    " ",
    "  ",
    "\n",
    "\t",
    "a > b",
    "x &amp; y",
    "&lt;tag&gt;",
    "&nbsp;",
    "\u{a0}",
    "Q&A",
    "&quot;q&quot;",
    "é 🎉 Søren",
    "<3",
    "\u{1}",
    "\"quoted\" 'single'",
    "fn x() -> Option<u8>",
];

fn generate(rng: &mut Rng) -> String {
    let mut out = String::new();
    let mut stack: Vec<&str> = Vec::new();
    for _ in 0..rng.below(14) + 1 {
        match rng.below(10) {
            0..=3 => out.push_str(rng.pick(TEXT)),
            4..=6 => {
                let (name, tag) = OPEN[rng.below(OPEN.len())];
                out.push_str(tag);
                stack.push(name);
            }
            7 => out.push_str(rng.pick(VOID)),
            _ => {
                if let Some(name) = stack.pop() {
                    out.push_str("</");
                    out.push_str(name);
                    out.push('>');
                }
            }
        }
    }
    if rng.below(10) < 8 {
        while let Some(name) = stack.pop() {
            out.push_str("</");
            out.push_str(name);
            out.push('>');
        }
    }
    out
}

#[test]
fn the_paths_agree_on_generated_bodies_and_all_of_them_are_safe() {
    let media = media();
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let mut taken = 0;
    let total = 6_000;
    for _ in 0..total {
        let body = generate(&mut rng);
        if compare(&body) {
            taken += 1;
        }
        let out = sanitize(&body, "html", &media);
        assert_safe(&out.html, &body);
    }
    // Both paths are exercised.
    assert!(
        taken > total / 10 && taken < total * 9 / 10,
        "fast path took {taken}"
    );
}

#[test]
fn the_paths_agree_on_the_hand_written_cases() {
    for body in [
        "<p>Hello <b>world</b></p>",
        "<p>See <a href=\"https://learn.microsoft.com/en-us/graph/api/channel-list-messages\" rel=\"noreferrer noopener\" target=\"_blank\" title=\"x\">docs</a></p>",
        &format!("<p><img src=\"{HOSTED}\" width=\"320\" height=\"180\" alt=\"image\" itemtype=\"http://schema.skype.com/AMSImage\" style=\"vertical-align:bottom\"></p>"),
        "<p>Lunch <emoji id=\"1f389_partypopper\" alt=\"🎉\" title=\"Party popper\"></emoji></p>",
        "<p>Seeing this:</p><pre><code>fn f(h: &amp;HeaderMap) -&gt; Option&lt;u8&gt; {\n    x\n}</code></pre>",
        "<ol><li>Open</li><li>Go to <b>Settings</b> → <b>Notifications</b></li></ol>",
        "<blockquote>quote</blockquote><p>cc <at id=\"1\">Søren</at></p>",
    ] {
        assert!(compare(body), "{body:?}");
    }
}
