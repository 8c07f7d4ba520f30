//! The HTML the identity platform shows a person: the sign-in and consent page, the MFA step,
//! the device-login page, admin consent, results and error pages. One stylesheet, no
//! JavaScript, and every value that comes from a request or the tenant goes through [`esc`].
//! The element ids and names a test program relies on are listed in the `entra` module docs.

use axum::http::{HeaderValue, StatusCode};
use axum::response::{Html, IntoResponse, Response};

use crate::model::User;

use super::errors::{EntraError, ErrorStamp};
use super::scopes;

/// Escapes text for HTML element content and attribute values.
pub fn esc(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            _ => out.push(c),
        }
    }
    out
}

const STYLE: &str = r#"
:root { color-scheme: light dark; --accent: #0067b8; --bg: #f2f2f2; --card: #fff; --fg: #1b1b1b; --muted: #605e5c; --line: #e1dfdd; }
@media (prefers-color-scheme: dark) { :root { --bg: #1b1a19; --card: #252423; --fg: #f3f2f1; --muted: #c8c6c4; --line: #3b3a39; --accent: #4f9fe8; } }
* { box-sizing: border-box; }
body { margin: 0; min-height: 100vh; display: flex; align-items: center; justify-content: center; background: var(--bg); color: var(--fg); font: 15px/1.45 "Segoe UI", system-ui, -apple-system, sans-serif; }
main { width: 100%; max-width: 440px; background: var(--card); padding: 36px 40px 32px; box-shadow: 0 2px 6px rgba(0,0,0,.2); }
.brand { display: flex; gap: 8px; align-items: center; font-weight: 600; color: var(--muted); margin-bottom: 16px; }
.brand i { display: inline-grid; grid-template-columns: 9px 9px; gap: 2px; }
.brand i b { width: 9px; height: 9px; display: block; }
h1 { font-size: 24px; font-weight: 600; margin: 0 0 12px; }
p { margin: 0 0 12px; }
.muted { color: var(--muted); font-size: 13px; }
.users { list-style: none; padding: 0; margin: 0 0 16px; border-top: 1px solid var(--line); }
.users li { border-bottom: 1px solid var(--line); }
.users label { display: flex; gap: 12px; align-items: center; padding: 10px 4px; cursor: pointer; }
.users label:hover { background: rgba(127,127,127,.08); }
.avatar { width: 36px; height: 36px; border-radius: 50%; display: grid; place-items: center; color: #fff; font-weight: 600; font-size: 14px; flex: none; }
.who b { display: block; font-weight: 600; }
.perms { padding-left: 20px; margin: 0 0 16px; }
.perms li { margin: 4px 0; }
.perms .admin { font-size: 12px; color: var(--muted); }
.error { border-left: 4px solid #d13438; padding: 8px 12px; background: rgba(209,52,56,.08); margin-bottom: 16px; word-break: break-word; }
.check { display: flex; gap: 10px; align-items: flex-start; padding: 12px; border: 1px solid var(--line); margin-bottom: 16px; }
input[type=text] { width: 100%; font: inherit; padding: 8px 10px; border: 0; border-bottom: 1px solid var(--muted); background: transparent; color: inherit; margin-bottom: 16px; letter-spacing: .1em; text-transform: uppercase; }
.buttons { display: flex; gap: 8px; justify-content: flex-end; margin-top: 20px; }
button { font: inherit; min-width: 108px; padding: 6px 12px; border: 1px solid transparent; cursor: pointer; }
button.primary { background: var(--accent); color: #fff; }
button.secondary { background: transparent; border-color: var(--muted); color: inherit; }
button:focus-visible { outline: 2px solid var(--fg); outline-offset: 2px; }
code { font-size: 13px; }
"#;

/// A full page around `body` (which must already be escaped).
pub fn page(status: StatusCode, title: &str, body: &str) -> Response {
    let html = format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>{title}</title><style>{STYLE}</style></head><body><main>\
         <div class=\"brand\"><i aria-hidden=\"true\"><b style=\"background:#f25022\"></b>\
         <b style=\"background:#7fba00\"></b><b style=\"background:#00a4ef\"></b>\
         <b style=\"background:#ffb900\"></b></i>Perch emulator · Microsoft Entra ID</div>\
         {body}</main></body></html>",
        title = esc(title),
    );
    let mut response = (status, Html(html)).into_response();
    let headers = response.headers_mut();
    headers.insert(
        axum::http::header::CACHE_CONTROL,
        HeaderValue::from_static("no-store, no-cache"),
    );
    headers.insert(
        "content-security-policy",
        HeaderValue::from_static("default-src 'none'; style-src 'unsafe-inline'; form-action 'self' http://localhost:* http://127.0.0.1:*"),
    );
    headers.insert("x-frame-options", HeaderValue::from_static("DENY"));
    response
}

/// An error page (never a redirect): for unknown tenants, clients and redirect URIs.
pub fn error_page(error: &EntraError) -> Response {
    let stamp = ErrorStamp::new(None);
    let body = format!(
        "<h1>Sorry, but we're having trouble signing you in.</h1>\
         <div class=\"error\" id=\"error\" data-code=\"{code}\">{desc}</div>\
         <p class=\"muted\" id=\"error_code\">AADSTS{code}</p>",
        code = error.kind.code(),
        desc = esc(&error.description(&stamp)),
    );
    page(StatusCode::BAD_REQUEST, "Sign in to your account", &body)
}

/// A page with a heading and a paragraph (results of device login and admin consent).
pub fn message_page(title: &str, text: &str) -> Response {
    let body = format!("<h1 id=\"result\">{}</h1><p>{}</p>", esc(title), esc(text));
    page(StatusCode::OK, title, &body)
}

/// The coloured initials of a user.
fn avatar(user: &User) -> String {
    let initials: String = user
        .display_name
        .split_whitespace()
        .filter_map(|w| w.chars().next())
        .take(2)
        .collect();
    let [r, g, b] = user.photo_rgb;
    format!(
        "<span class=\"avatar\" style=\"background:rgb({r},{g},{b})\" aria-hidden=\"true\">{}</span>",
        esc(&initials)
    )
}

/// The radio list of users, `selected` checked (by index).
pub fn user_list(users: &[User], selected: Option<usize>) -> String {
    let mut out = String::from("<ul class=\"users\" id=\"users\">");
    for (n, user) in users.iter().enumerate() {
        let checked = if Some(n) == selected { " checked" } else { "" };
        let title = user
            .job_title
            .as_deref()
            .map(|t| format!(" · {}", esc(t)))
            .unwrap_or_default();
        out.push_str(&format!(
            "<li><label for=\"user-{n}\"><input type=\"radio\" name=\"user\" id=\"user-{n}\" \
             value=\"{upn}\"{checked} required>{avatar}<span class=\"who\"><b>{name}</b>\
             <span class=\"muted\">{upn}{title}</span></span></label></li>",
            upn = esc(&user.upn),
            name = esc(&user.display_name),
            avatar = avatar(user),
        ));
    }
    out.push_str("</ul>");
    out
}

/// The list of permissions being asked for.
pub fn permission_list(granted: &[String]) -> String {
    let mut out = String::from("<ul class=\"perms\" id=\"permissions\">");
    for name in granted {
        let admin = scopes::GRAPH_SCOPES
            .iter()
            .any(|(n, _, admin)| n == name && *admin);
        out.push_str(&format!(
            "<li data-scope=\"{}\">{}{}</li>",
            esc(name),
            esc(scopes::describe(name)),
            if admin {
                " <span class=\"admin\">(admin consent)</span>"
            } else {
                ""
            }
        ));
    }
    out.push_str("</ul>");
    out
}

/// Accept and Cancel.
pub fn buttons(accept: &str) -> String {
    format!(
        "<div class=\"buttons\"><button type=\"submit\" class=\"secondary\" name=\"action\" \
         value=\"cancel\" id=\"cancel\" formnovalidate>Cancel</button><button type=\"submit\" \
         class=\"primary\" name=\"action\" value=\"accept\" id=\"accept\">{}</button></div>",
        esc(accept)
    )
}

/// The "Approve sign-in request" step for a user with `mfa_required`.
pub fn mfa_step(user: &User) -> String {
    format!(
        "<p>Approve the sign-in request for <b>{}</b> in your authenticator app.</p>\
         <label class=\"check\" for=\"mfa_approved\"><input type=\"checkbox\" id=\"mfa_approved\" \
         name=\"mfa_approved\" value=\"on\"><span><b>Approve sign-in request</b><br>\
         <span class=\"muted\">I approved the request on my phone.</span></span></label>\
         <input type=\"hidden\" name=\"user\" value=\"{}\">\
         <input type=\"hidden\" name=\"mfa_step\" value=\"1\">",
        esc(&user.display_name),
        esc(&user.upn)
    )
}
