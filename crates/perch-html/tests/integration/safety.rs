//! The safety oracle: re-parses sanitised HTML the way the web view will (an HTML fragment
//! in a `<div>`, scripting enabled) and checks every node against the output allow-list.

use html5ever::tendril::TendrilSink as _;
use html5ever::{local_name, ns, parse_fragment, ParseOpts, QualName};
use markup5ever_rcdom::{Handle, NodeData, RcDom};
use perch_html::policy::OUTPUT_TAGS;
use perch_html::MediaRewrite;

/// The media prefix every test uses.
pub const PREFIX: &str = "perch-media://localhost/";

/// A rewrite for the real Graph host and an emulator on port 4567.
pub fn media() -> MediaRewrite {
    MediaRewrite {
        graph_bases: vec![
            "https://graph.microsoft.com".to_owned(),
            "http://127.0.0.1:4567".to_owned(),
        ],
        media_prefix: PREFIX.to_owned(),
        account_key: "11111111-2222-3333-4444-555555555555.66666666-7777-8888-9999-000000000000"
            .to_owned(),
    }
}

/// Element names that must never appear, whatever the allow-list says.
const FORBIDDEN: &[&str] = &[
    "script",
    "style",
    "iframe",
    "object",
    "embed",
    "form",
    "input",
    "button",
    "svg",
    "math",
    "meta",
    "base",
    "link",
    "template",
    "noscript",
    "textarea",
    "select",
    "frame",
    "frameset",
    "applet",
    "at",
    "emoji",
    "customemoji",
    "attachment",
];

/// Panics with `context` and the HTML when `html` is not safe.
pub fn assert_safe(html: &str, context: &str) {
    if let Err(why) = check(html) {
        panic!("unsafe output for {context}: {why}\n  html: {html}");
    }
}

fn check(html: &str) -> Result<(), String> {
    // Text is always escaped, so these can only be markup.
    let lower = html.to_ascii_lowercase();
    for needle in ["<!--", "<script", "<style", "<svg", "<math", "<iframe"] {
        if lower.contains(needle) {
            return Err(format!("contains {needle:?}"));
        }
    }
    let dom = parse_fragment(
        RcDom::default(),
        ParseOpts::default(),
        QualName::new(None, ns!(html), local_name!("div")),
        vec![],
        true,
    )
    .one(html);
    let mut stack: Vec<Handle> = dom.document.children.borrow().clone();
    while let Some(node) = stack.pop() {
        match &node.data {
            NodeData::Element { name, attrs, .. } => {
                let tag = &*name.local;
                if name.ns != ns!(html) && tag != "html" {
                    return Err(format!("<{tag}> in a foreign namespace"));
                }
                if FORBIDDEN.contains(&tag) {
                    return Err(format!("forbidden element <{tag}>"));
                }
                // The fragment parser wraps everything in an <html> root.
                if tag != "html" && !OUTPUT_TAGS.contains(&tag) {
                    return Err(format!("element <{tag}> is not on the allow-list"));
                }
                check_attrs(tag, &attrs.borrow())?;
            }
            NodeData::Comment { .. } => return Err("a comment".to_owned()),
            NodeData::ProcessingInstruction { .. } | NodeData::Doctype { .. } => {
                return Err("a doctype or processing instruction".to_owned())
            }
            NodeData::Text { .. } | NodeData::Document => {}
        }
        stack.extend(node.children.borrow().iter().cloned());
    }
    Ok(())
}

fn check_attrs(tag: &str, attrs: &[html5ever::Attribute]) -> Result<(), String> {
    let get = |key: &str| {
        attrs
            .iter()
            .find(|a| &*a.name.local == key)
            .map(|a| a.value.to_string())
    };
    for a in attrs {
        let key = &*a.name.local;
        let value = &*a.value;
        if key.starts_with("on") {
            return Err(format!("event handler {key} on <{tag}>"));
        }
        let value_lower = value.to_ascii_lowercase();
        for scheme in ["javascript:", "vbscript:", "data:"] {
            if value_lower.contains(scheme) {
                return Err(format!("{scheme} in {key}={value:?} on <{tag}>"));
            }
        }
        let allowed = match (tag, key) {
            ("a", "href" | "rel" | "target") => true,
            ("img", "src" | "alt" | "width" | "height") => true,
            ("td" | "th", "colspan" | "rowspan") => value.bytes().all(|b| b.is_ascii_digit()),
            ("span", "class") => value == "mention",
            ("span", "data-mention-id") => {
                !value.is_empty() && value.bytes().all(|b| b.is_ascii_digit())
            }
            _ => false,
        };
        if !allowed {
            return Err(format!("attribute {key}={value:?} on <{tag}>"));
        }
    }
    match tag {
        "a" => {
            let href = get("href").ok_or("<a> without href")?;
            let href_lower = href.to_ascii_lowercase();
            if !(href_lower.starts_with("http://")
                || href_lower.starts_with("https://")
                || href_lower.starts_with("mailto:"))
            {
                return Err(format!("href {href:?}"));
            }
            if get("rel").as_deref() != Some("noopener noreferrer") {
                return Err(format!("<a href={href:?}> without rel=noopener noreferrer"));
            }
            if get("target").as_deref() != Some("_blank") {
                return Err(format!("<a href={href:?}> without target=_blank"));
            }
        }
        "img" => {
            let src = get("src").ok_or("<img> without src")?;
            if !src.starts_with(PREFIX) {
                return Err(format!("img src {src:?}"));
            }
            let rest = &src[PREFIX.len()..];
            let parts: Vec<&str> = rest.split('/').collect();
            if parts.len() != 7 || parts[1] != "hosted" {
                return Err(format!("img src {src:?} is not a media URL"));
            }
            let unreserved = |s: &str| {
                s.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"-._~%".contains(&b))
            };
            if parts
                .iter()
                .any(|p| p.is_empty() || *p == ".." || *p == "." || !unreserved(p))
            {
                return Err(format!("img src {src:?} has an unsafe part"));
            }
        }
        "span" if get("class").is_some() != get("data-mention-id").is_some() => {
            return Err("span with only one of class / data-mention-id".to_owned());
        }
        _ => {}
    }
    Ok(())
}

/// Sanity check of the oracle itself: it must reject what it is there to catch.
#[test]
fn the_oracle_rejects_unsafe_markup() {
    for bad in [
        "<script>alert(1)</script>",
        "<img src=x onerror=alert(1)>",
        "<a href=\"javascript:alert(1)\">x</a>",
        "<a href=\"https://ok.example\">no rel</a>",
        "<img src=\"https://evil.example/x.png\">",
        "<p style=\"color:red\">x</p>",
        "<p id=\"x\">x</p>",
        "<span class=\"evil\">x</span>",
        "<svg><circle/></svg>",
        "<!-- c -->",
        "<form><input></form>",
        "<p title=\"x\">x</p>",
    ] {
        assert!(check(bad).is_err(), "the oracle accepted {bad}");
    }
    assert!(check("<p>fine <b>bold</b></p>").is_ok());
}
