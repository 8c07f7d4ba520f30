//! `perch-test-browser`: a TEST TOOL, not part of Perch. It stands in for a web browser in
//! `$BROWSER` when the CLI is tested against `perch-emulator`, and does what a person would:
//!
//! 1. GETs the authorize URL (its last argument) without following redirects;
//! 2. if the emulator shows its sign-in page (`<form id="signin">`, see
//!    `crates/perch-emulator/src/entra/mod.rs`), posts the form with the pre-selected user (or
//!    `PERCH_TEST_BROWSER_USER`) and `action=accept` (or `PERCH_TEST_BROWSER_ACTION`), and
//!    ticks the MFA step's `mfa_approved` when it appears; with `auto_approve` the emulator
//!    answers the GET with the redirect straight away;
//! 3. GETs the redirect's `Location` on the loopback listener, as the browser would.
//!
//! With `PERCH_TEST_BROWSER_LOG=path` it appends each URL it was given to that file, so tests
//! can check the authorize parameters (`prompt`, `login_hint`).

use anyhow::{anyhow, bail, Context, Result};

fn location(response: &reqwest::Response) -> Option<String> {
    if !response.status().is_redirection() {
        return None;
    }
    response
        .headers()
        .get("location")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
}

fn unescape(s: &str) -> String {
    s.replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&")
}

fn attr(tag: &str, name: &str) -> Option<String> {
    let at = tag.find(&format!("{name}=\""))? + name.len() + 2;
    let rest = &tag[at..];
    Some(unescape(&rest[..rest.find('"')?]))
}

/// The `<input …>` tags of a page.
fn inputs(page: &str) -> Vec<&str> {
    page.split('<')
        .filter(|t| t.starts_with("input"))
        .map(|t| &t[..t.find('>').unwrap_or(t.len())])
        .collect()
}

fn input_value(page: &str, name: &str) -> Option<String> {
    inputs(page)
        .into_iter()
        .find(|t| attr(t, "name").as_deref() == Some(name))
        .and_then(|t| attr(t, "value"))
}

/// The user to sign in as: the checked radio (or hidden field), else the first.
fn chosen_user(page: &str) -> Option<String> {
    let users: Vec<&str> = inputs(page)
        .into_iter()
        .filter(|t| attr(t, "name").as_deref() == Some("user"))
        .collect();
    users
        .iter()
        .find(|t| t.contains("checked") || t.contains("type=\"hidden\""))
        .or(users.first())
        .and_then(|t| attr(t, "value"))
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<()> {
    let url = std::env::args()
        .skip(1)
        .next_back()
        .context("usage: perch-test-browser URL")?;
    if let Ok(log) = std::env::var("PERCH_TEST_BROWSER_LOG") {
        use std::io::Write as _;
        let mut file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(log)?;
        writeln!(file, "{url}")?;
    }
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()?;
    let response = client.get(&url).send().await?;
    let redirect = match location(&response) {
        Some(location) => location,
        None => {
            let status = response.status();
            let mut page = response.text().await?;
            if !page.contains("id=\"signin\"") {
                bail!("unexpected authorize answer {status}: {page}");
            }
            let parsed = url::Url::parse(&url)?;
            let mut post_url = parsed.clone();
            post_url.set_query(None);
            let user = std::env::var("PERCH_TEST_BROWSER_USER").ok();
            let action =
                std::env::var("PERCH_TEST_BROWSER_ACTION").unwrap_or_else(|_| "accept".into());
            let mut mfa = false;
            loop {
                let request = input_value(&page, "request").context("no request field")?;
                let mut form = vec![("request".to_owned(), request)];
                if let Some(u) = user.clone().or_else(|| chosen_user(&page)) {
                    form.push(("user".into(), u));
                }
                if mfa {
                    form.push(("mfa_approved".into(), "on".into()));
                }
                form.push(("action".into(), action.clone()));
                let response = client.post(post_url.as_str()).form(&form).send().await?;
                if let Some(location) = location(&response) {
                    break location;
                }
                let status = response.status();
                page = response.text().await?;
                if mfa || !page.contains("name=\"mfa_approved\"") {
                    return Err(anyhow!("no redirect after the form ({status}): {page}"));
                }
                mfa = true;
            }
        }
    };
    // Deliver the redirect to the app's loopback listener.
    let response = client.get(&redirect).send().await?;
    if !response.status().is_success() {
        bail!("the loopback listener answered {}", response.status());
    }
    Ok(())
}
