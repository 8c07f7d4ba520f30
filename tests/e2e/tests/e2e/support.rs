//! What the organisation scenarios do over and over, in a person's terms: sign in, open a
//! channel, find a message by its text, type into a composer and press Enter, hover a message
//! for its toolbar. Elements are found by the `data-testid`s in `ui/src/lib/testids.ts` and by
//! the text a person reads, never by layout.

use std::time::Duration;

use perch_e2e::emulator::{self, TestEmulator};
use perch_e2e::wait::{poll, Attempt};
use perch_e2e::webdriver::keys;
use perch_e2e::{App, Element, Error};
use perch_emulator::model::Message;
use serde_json::{json, Value};

/// How long the UI gets to react to a click or a key (a local echo, a dialog).
pub const UI: Duration = Duration::from_secs(10);
/// How long a round trip through the emulator may take (a sync round, a sent write).
pub const SYNC: Duration = Duration::from_secs(60);

/// The run's emulator.
pub fn emulator() -> Result<&'static TestEmulator, Error> {
    emulator::shared()
}

/// A CSS attribute selector value, quoted.
pub fn quoted(value: &str) -> String {
    format!("\"{}\"", value.replace('\\', "\\\\").replace('"', "\\\""))
}

/// On the welcome screen: "Sign in with Microsoft", through the system browser (`$BROWSER`
/// is the test browser), until the sidebar lists channels.
pub fn sign_in(app: &App) -> Result<(), Error> {
    let session = app.session();
    session.wait_for_count(r#"[data-testid="app-frame"]"#, 1, UI * 2)?;
    watch_errors(app)?;
    session.click_when_ready(r#"[data-testid="sign-in"]"#, UI * 2)?;
    session.wait_for_count(r#"[data-testid="channel"]"#, 2, SYNC)?;
    Ok(())
}

/// The sidebar id of a channel, by team and channel display names; waits until it is listed.
pub fn channel_id(app: &App, team: &str, channel: &str) -> Result<String, Error> {
    let value = app.session().wait_until(
        &format!("wait for {team} › {channel} in the sidebar"),
        r#"const [team, channel] = arguments;
        for (const t of document.querySelectorAll('[data-testid="team"]')) {
          if (t.querySelector('.team-name')?.textContent.trim() !== team) continue;
          for (const c of t.querySelectorAll('[data-testid="channel"]')) {
            if (c.querySelector('.name')?.textContent.trim() === channel) return c.dataset.channelId;
          }
        }
        return null;"#,
        vec![team.into(), channel.into()],
        SYNC,
    )?;
    Ok(value.as_str().unwrap_or_default().to_owned())
}

/// The sidebar entry of a channel.
pub fn channel_selector(id: &str) -> String {
    format!(r#"[data-testid="channel"][data-channel-id={}]"#, quoted(id))
}

/// Clicks a channel in the sidebar and waits for its timeline.
pub fn open_channel(app: &App, team: &str, channel: &str) -> Result<String, Error> {
    let id = channel_id(app, team, channel)?;
    let row = format!("{} .channel-row", channel_selector(&id));
    app.session().click_when_ready(&row, UI)?;
    app.session().wait_until(
        "wait for the channel's timeline to load",
        r#"const [id] = arguments;
        const selected = document.querySelector('[data-testid="channel"][aria-selected="true"]');
        const feed = document.querySelector('[data-testid="timeline"]');
        return selected?.dataset.channelId === id && !!feed
          && (feed.getAttribute('aria-busy') !== 'true' || !!feed.querySelector('[data-testid="message"]'));"#,
        vec![id.clone().into()],
        SYNC,
    )?;
    // No pause before typing: typing straight away must work. (It once did not: a sidebar
    // update of the channel in view, such as its unread count after opening it, reset the
    // composer mid-word. The writes scenario's image edit, which types while the channel's
    // first sync lands, caught it every time.)
    Ok(id)
}

/// Where to look for messages.
#[derive(Debug, Clone, Copy)]
pub enum Pane {
    /// The channel's timeline.
    Timeline,
    /// The thread pane.
    Thread,
}

impl Pane {
    fn selector(self) -> &'static str {
        match self {
            Pane::Timeline => r#"[data-testid="timeline"]"#,
            Pane::Thread => r#"[data-testid="thread-pane"]"#,
        }
    }
}

/// Waits for a message whose body contains `text` in `pane`; answers its id.
pub fn wait_message(app: &App, pane: Pane, text: &str, timeout: Duration) -> Result<String, Error> {
    let value = app.session().wait_until(
        &format!("wait for a message saying {text:?}"),
        r#"const [pane, text] = arguments;
        const root = document.querySelector(pane);
        if (!root) return null;
        for (const m of root.querySelectorAll('[data-testid="message"]')) {
          const body = m.querySelector('[data-testid="message-body"]');
          if (body && body.textContent.includes(text)) return m.dataset.messageId;
        }
        return null;"#,
        vec![pane.selector().into(), text.into()],
        timeout,
    )?;
    Ok(value.as_str().unwrap_or_default().to_owned())
}

/// The message element with this id in `pane`.
pub fn message_selector(pane: Pane, id: &str) -> String {
    format!(
        r#"{} [data-testid="message"][data-message-id={}]"#,
        pane.selector(),
        quoted(id)
    )
}

/// Reads attributes and facts of a message in `pane` (by the text of its body): its id,
/// whether it is a local echo, its pending state, its reactions (`reaction` → count, and
/// whether mine).
pub fn message_facts(app: &App, pane: Pane, text: &str) -> Result<Value, Error> {
    app.session().execute(
        r#"const [pane, text] = arguments;
        const root = document.querySelector(pane);
        if (!root) return null;
        for (const m of root.querySelectorAll('[data-testid="message"]')) {
          const body = m.querySelector('[data-testid="message-body"]');
          if (!body || !body.textContent.includes(text)) continue;
          const reactions = {};
          for (const r of m.querySelectorAll('[data-testid="reaction"]')) {
            reactions[r.dataset.reaction] = {
              count: parseInt(r.textContent.replace(/\D+/g, ''), 10) || 0,
              mine: r.getAttribute('aria-pressed') === 'true',
            };
          }
          return {
            id: m.dataset.messageId,
            local: m.dataset.local === 'true',
            pending: m.dataset.pendingState ?? null,
            reactions,
            html: body.innerHTML,
          };
        }
        return null;"#,
        vec![pane.selector().into(), text.into()],
    )
}

/// The composer input of a scope (`channel` or `thread`).
pub fn composer_input(scope: &str) -> String {
    format!(
        r#"[data-testid="composer"][data-scope={}] [data-testid="composer-input"]"#,
        quoted(scope)
    )
}

/// Types `text` into a composer as a keyboard would, and sends it with Enter.
pub fn send(app: &App, scope: &str, text: &str) -> Result<(), Error> {
    let input = app.session().wait_for(&composer_input(scope), UI)?;
    app.session().click(&input)?;
    app.session().send_keys(&input, text)?;
    // What a person sees before pressing Enter: exactly what they typed.
    let typed = app
        .session()
        .execute("return arguments[0].innerText;", vec![input_ref(&input)])?;
    if typed.as_str().map(str::trim) != Some(text) {
        return Err(Error::check(
            format!("type {text:?} into the {scope} composer"),
            format!("the composer shows {typed}"),
        ));
    }
    app.session().send_keys(&input, keys::ENTER)?;
    Ok(())
}

/// Hovers a message so that its toolbar shows, and answers the toolbar button `testid`.
pub fn message_action(app: &App, pane: Pane, id: &str, testid: &str) -> Result<Element, Error> {
    let message = message_selector(pane, id);
    let element = app.session().wait_for(&message, UI)?;
    app.session().hover(&element)?;
    app.session().wait_for(
        &format!(
            r#"{message} [data-testid="message-actions"] [data-testid={}]"#,
            quoted(testid)
        ),
        UI,
    )
}

/// Waits until the emulator holds exactly `n` root posts in a channel whose body contains
/// `text` (not deleted), and answers them.
pub fn server_posts(
    team: &str,
    channel: &str,
    text: &str,
    n: usize,
) -> Result<Vec<Message>, Error> {
    let emulator = emulator()?;
    poll(
        &format!("wait for {n} post(s) saying {text:?} in the emulator"),
        SYNC,
        || {
            let found: Vec<_> = emulator
                .posts(team, channel)?
                .into_iter()
                .filter(|m| m.deleted.is_none() && m.content.contains(text))
                .collect();
            if found.len() == n {
                Ok(Attempt::Done(found))
            } else {
                Ok(Attempt::NotYet(format!("{} found", found.len())))
            }
        },
    )
}

/// A JSON body for `POST /_emulator/act` as the second user of the tenant (a colleague).
pub fn colleague_post(
    team: &str,
    channel: &str,
    body: &str,
    mentions: &[&str],
) -> Result<Value, Error> {
    let emulator = emulator()?;
    Ok(json!({
        "as": emulator.users()[1].upn,
        "kind": "post",
        "team": team,
        "channel": channel,
        "body": body,
        "mentions": mentions,
    }))
}

/// Opens Settings from the top bar, lets `change` work on the open dialog, and saves.
pub fn change_settings(
    app: &App,
    change: impl FnOnce(&App) -> Result<(), Error>,
) -> Result<(), Error> {
    let session = app.session();
    session.click_when_ready(r#"header.topbar button[aria-label="Settings"]"#, UI)?;
    session.wait_for(r#"[data-testid="settings-dialog"]"#, UI)?;
    change(app)?;
    session.click_when_ready(
        r#"[data-testid="settings-dialog"] button[type="submit"][form="settings-form"]"#,
        UI,
    )?;
    session.wait_until(
        "wait for Settings to close after saving",
        r#"return !document.querySelector('[data-testid="settings-dialog"]');"#,
        Vec::new(),
        UI,
    )?;
    // "Settings saved" has been read; close it as a person would (it is not an error).
    session.execute(
        "document.querySelectorAll('.notices .notice:not(.error) button').forEach(b => b.click()); return true;",
        Vec::new(),
    )?;
    Ok(())
}

/// In Settings: picks a theme.
pub fn pick_theme(app: &App, theme: &str) -> Result<(), Error> {
    app.session().click_when_ready(
        &format!(
            r#"[data-testid="settings-dialog"] input[name="theme"][value={}]"#,
            quoted(theme)
        ),
        UI,
    )
}

/// In Settings: sets the followed channels' polling interval, typing it like a person.
pub fn set_followed_interval(app: &App, secs: u32) -> Result<(), Error> {
    let session = app.session();
    let inputs = session.find_all(r#"[data-testid="settings-dialog"] label.num input"#)?;
    let input = inputs.get(1).ok_or_else(|| {
        Error::check(
            "find the followed interval",
            "fewer than two interval fields",
        )
    })?;
    session.click(input)?;
    session.press(Some(keys::CONTROL), "a")?;
    session.send_keys(input, &secs.to_string())?;
    Ok(())
}

/// Records every error notice the page shows from now on (they fade after a few seconds), so
/// that [`no_error_notices`] can fail a scenario a person would have seen an error in.
pub fn watch_errors(app: &App) -> Result<(), Error> {
    app.session()
        .execute(
            r#"if (window.__errorWatch) return true;
            window.__errors = [];
            const seen = new WeakSet();
            const scan = () => {
              for (const n of document.querySelectorAll('.notices .notice.error')) {
                if (!seen.has(n)) { seen.add(n); window.__errors.push(n.textContent.trim()); }
              }
            };
            window.__errorWatch = new MutationObserver(scan);
            window.__errorWatch.observe(document.body, { childList: true, subtree: true });
            scan();
            return true;"#,
            Vec::new(),
        )
        .map(drop)
}

/// Fails when the page showed an error notice since [`watch_errors`].
pub fn no_error_notices(app: &App) -> Result<(), Error> {
    let errors = app
        .session()
        .execute("return window.__errors ?? null;", Vec::new())?;
    match errors.as_array() {
        Some(list) if list.is_empty() => Ok(()),
        Some(_) => Err(Error::check("check no error was shown", errors.to_string())),
        None => Err(Error::check(
            "check no error was shown",
            "the error watch was not installed",
        )),
    }
}

/// An element as a script argument.
fn input_ref(element: &Element) -> Value {
    element.to_json()
}
