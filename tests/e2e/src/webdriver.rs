//! A small W3C WebDriver client over blocking HTTP: exactly the commands the scenarios use
//! (new session, find elements, the focused element, click, send keys, key actions,
//! attributes, text, title, screenshot, execute scripts, delete session). It knows the protocol, not Perch; it never starts processes.
//!
//! Spec: <https://www.w3.org/TR/webdriver2/>. Every answer is `{"value": …}`; errors are
//! `{"value": {"error", "message", "stacktrace"}}` with a 4xx/5xx status.

use std::path::Path;
use std::time::Duration;

use base64::Engine as _;
use reqwest::blocking::Client;
use reqwest::Method;
use serde_json::{json, Value};

use crate::wait::{poll, Attempt};
use crate::Error;

/// The key under which W3C WebDriver returns an element reference.
const ELEMENT_KEY: &str = "element-6066-11e4-a52e-4f735466cecf";

/// How long a screenshot may take; it answers in well under a second when it works at all.
pub const SCREENSHOT_TIMEOUT: Duration = Duration::from_secs(15);

/// An open WebDriver session on one app window. Dropping it ends the session, which closes
/// the app.
#[derive(Debug)]
pub struct Session {
    client: Client,
    /// `http://127.0.0.1:<port>/session/<id>`.
    base: String,
    /// The capabilities the driver answered with, kept for diagnostics.
    capabilities: Value,
    /// False once the session was deleted, so drop does not delete it twice.
    open: bool,
}

/// A reference to an element in the current page.
#[derive(Debug, Clone)]
pub struct Element {
    id: String,
    /// The selector it was found by, for error messages.
    selector: String,
}

impl Element {
    /// The element as a script argument (WebDriver's element reference).
    pub fn to_json(&self) -> Value {
        json!({ ELEMENT_KEY: self.id })
    }
}

impl Session {
    /// Creates a session that launches `application` through `tauri-driver`, and checks that
    /// it really is a Tauri window: a `tauri:options` the driver does not understand is
    /// silently ignored and yields a blank MiniBrowser, whose `browserName` is not `wry`.
    pub fn launch(client: &Client, driver_url: &str, application: &Path) -> Result<Self, Error> {
        let step = "create a WebDriver session (launches the app)";
        let body = json!({
            "capabilities": {
                "alwaysMatch": {
                    "tauri:options": { "application": application }
                }
            }
        });
        let value = send(
            client,
            step,
            Method::POST,
            &format!("{driver_url}/session"),
            Some(body),
        )?;
        let id = value["sessionId"]
            .as_str()
            .ok_or_else(|| Error::Protocol {
                step: step.to_owned(),
                detail: format!("no sessionId in {value}"),
            })?
            .to_owned();
        let session = Session {
            client: client.clone(),
            base: format!("{driver_url}/session/{id}"),
            capabilities: value["capabilities"].clone(),
            open: true,
        };
        let browser = session.capabilities["browserName"].as_str().unwrap_or("");
        if browser != "wry" {
            // `session` drops here and deletes the session.
            return Err(Error::check(
                "check the session drives the app",
                format!(
                    "browserName is `{browser}`, not `wry`: tauri-driver did not pass \
                     tauri:options on, so this is not the Perch window (capabilities: {})",
                    session.capabilities
                ),
            ));
        }
        Ok(session)
    }

    /// What the driver reported when the session started.
    pub fn capabilities(&self) -> &Value {
        &self.capabilities
    }

    fn command(
        &self,
        step: &str,
        method: Method,
        path: &str,
        body: Option<Value>,
    ) -> Result<Value, Error> {
        send(
            &self.client,
            step,
            method,
            &format!("{}{path}", self.base),
            body,
        )
    }

    /// The first element matching a CSS selector, right now.
    pub fn find(&self, selector: &str) -> Result<Element, Error> {
        let step = format!("find `{selector}`");
        let value = self.command(
            &step,
            Method::POST,
            "/element",
            Some(json!({ "using": "css selector", "value": selector })),
        )?;
        element(&step, &value, selector)
    }

    /// The rendered text of an element.
    pub fn text(&self, element: &Element) -> Result<String, Error> {
        let step = format!("read the text of `{}`", element.selector);
        let value = self.command(
            &step,
            Method::GET,
            &format!("/element/{}/text", element.id),
            None,
        )?;
        string(step, value)
    }

    /// Waits until the element matching `selector` exists and its text is `expected`. On
    /// timeout the error carries the last text seen (or why there was none).
    pub fn wait_for_text(
        &self,
        selector: &str,
        expected: &str,
        timeout: Duration,
    ) -> Result<(), Error> {
        let step = format!("wait for `{selector}` to read {expected:?}");
        poll(&step, timeout, || {
            let element = match self.find(selector) {
                Ok(element) => element,
                Err(Error::WebDriver { error, .. }) if error == "no such element" => {
                    return Ok(Attempt::NotYet("the element is not in the page".to_owned()))
                }
                Err(other) => return Err(other),
            };
            match self.text(&element) {
                Ok(text) if text.trim() == expected => Ok(Attempt::Done(())),
                Ok(text) => Ok(Attempt::NotYet(format!("it reads {text:?}"))),
                // Svelte may replace the node between find and read.
                Err(Error::WebDriver { error, .. }) if error == "stale element reference" => {
                    Ok(Attempt::NotYet("the element was replaced".to_owned()))
                }
                Err(other) => Err(other),
            }
        })
    }

    /// Waits until at least `min` elements match `selector`; returns how many did.
    pub fn wait_for_count(
        &self,
        selector: &str,
        min: usize,
        timeout: Duration,
    ) -> Result<usize, Error> {
        let step = format!("wait for {min} or more `{selector}`");
        poll(&step, timeout, || {
            let n = self.execute_async(
                "const [sel, done] = arguments; done(document.querySelectorAll(sel).length);",
                vec![selector.into()],
            )?;
            let n = n.as_u64().unwrap_or(0) as usize;
            if n >= min {
                Ok(Attempt::Done(n))
            } else {
                Ok(Attempt::NotYet(format!("{n} in the page")))
            }
        })
    }

    /// Every element matching a CSS selector, right now.
    pub fn find_all(&self, selector: &str) -> Result<Vec<Element>, Error> {
        let step = format!("find every `{selector}`");
        let value = self.command(
            &step,
            Method::POST,
            "/elements",
            Some(json!({ "using": "css selector", "value": selector })),
        )?;
        let items = value.as_array().cloned().unwrap_or_default();
        items.iter().map(|v| element(&step, v, selector)).collect()
    }

    /// The element that has the keyboard focus.
    pub fn active(&self) -> Result<Element, Error> {
        let step = "find the focused element".to_owned();
        let value = self.command(&step, Method::GET, "/element/active", None)?;
        element(&step, &value, ":focus")
    }

    /// Clicks an element the way a pointer would (scrolled into view, at its centre).
    pub fn click(&self, element: &Element) -> Result<(), Error> {
        let step = format!("click `{}`", element.selector);
        self.command(
            &step,
            Method::POST,
            &format!("/element/{}/click", element.id),
            Some(json!({})),
        )
        .map(drop)
    }

    /// Moves the pointer over the centre of an element (what shows hover-only toolbars).
    pub fn hover(&self, element: &Element) -> Result<(), Error> {
        let step = format!("hover over `{}`", element.selector);
        let origin = json!({ ELEMENT_KEY: element.id });
        self.command(
            &step,
            Method::POST,
            "/actions",
            Some(json!({"actions": [{
                "type": "pointer",
                "id": "mouse",
                "parameters": {"pointerType": "mouse"},
                "actions": [{"type": "pointerMove", "duration": 0, "origin": origin, "x": 0, "y": 0}]
            }]})),
        )
        .map(drop)
    }

    /// Waits for an element and clicks it.
    pub fn click_when_ready(&self, selector: &str, timeout: Duration) -> Result<(), Error> {
        let element = self.wait_for(selector, timeout)?;
        self.click(&element)
    }

    /// Types into an element as a keyboard would (focusing it first). WebDriver's special keys
    /// are in [`keys`].
    pub fn send_keys(&self, element: &Element, text: &str) -> Result<(), Error> {
        let step = format!("type into `{}`", element.selector);
        self.command(
            &step,
            Method::POST,
            &format!("/element/{}/value", element.id),
            Some(json!({ "text": text })),
        )
        .map(drop)
    }

    /// Presses keys with nothing but the keyboard: key down and up for each character of
    /// `text` (WebDriver's special keys from [`keys`] included), holding `modifier` if given,
    /// sent to whatever has the focus.
    pub fn press(&self, modifier: Option<&str>, text: &str) -> Result<(), Error> {
        let step = format!("press {:?}{:?}", modifier.unwrap_or(""), text);
        let mut actions = Vec::new();
        if let Some(m) = modifier {
            actions.push(json!({"type": "keyDown", "value": m}));
        }
        for c in text.chars() {
            actions.push(json!({"type": "keyDown", "value": c.to_string()}));
            actions.push(json!({"type": "keyUp", "value": c.to_string()}));
        }
        if let Some(m) = modifier {
            actions.push(json!({"type": "keyUp", "value": m}));
        }
        self.command(
            &step,
            Method::POST,
            "/actions",
            Some(json!({"actions": [{"type": "key", "id": "keyboard", "actions": actions}]})),
        )?;
        self.command(&step, Method::DELETE, "/actions", None)
            .map(drop)
    }

    /// An attribute of an element (`None` when it has none).
    pub fn attribute(&self, element: &Element, name: &str) -> Result<Option<String>, Error> {
        let step = format!("read `{name}` of `{}`", element.selector);
        let value = self.command(
            &step,
            Method::GET,
            &format!("/element/{}/attribute/{name}", element.id),
            None,
        )?;
        Ok(value.as_str().map(str::to_owned))
    }

    /// Runs a synchronous script and answers what it returns.
    pub fn execute(&self, script: &str, args: Vec<Value>) -> Result<Value, Error> {
        let step = "execute a script".to_owned();
        self.command(
            &step,
            Method::POST,
            "/execute/sync",
            Some(json!({ "script": script, "args": args })),
        )
    }

    /// Waits until a selector matches, and answers the first match.
    pub fn wait_for(&self, selector: &str, timeout: Duration) -> Result<Element, Error> {
        let step = format!("wait for `{selector}`");
        poll(&step, timeout, || {
            match self.find_all(selector)?.into_iter().next() {
                Some(element) => Ok(Attempt::Done(element)),
                None => Ok(Attempt::NotYet("not in the page".to_owned())),
            }
        })
    }

    /// Waits until `script` (a synchronous script's body, `arguments` holding `args`) returns
    /// something other than `null`, `false`, `0` or `""`, and answers it. `what` names the
    /// wait in errors; the last value seen is reported when it runs out.
    pub fn wait_until(
        &self,
        what: &str,
        script: &str,
        args: Vec<Value>,
        timeout: Duration,
    ) -> Result<Value, Error> {
        poll(what, timeout, || {
            let value = self.execute(script, args.clone())?;
            let truthy = match &value {
                Value::Null => false,
                Value::Bool(b) => *b,
                Value::Number(n) => n.as_f64() != Some(0.0),
                Value::String(s) => !s.is_empty(),
                _ => true,
            };
            if truthy {
                Ok(Attempt::Done(value))
            } else {
                Ok(Attempt::NotYet(value.to_string()))
            }
        })
    }

    /// Waits until the page has painted what it shows now (two animation frames), so a
    /// screenshot right after a DOM change does not show the frame before it.
    pub fn settle(&self) -> Result<(), Error> {
        self.execute_async(
            "const done = arguments[0]; \
             requestAnimationFrame(() => requestAnimationFrame(() => done(true)));",
            Vec::new(),
        )
        .map(drop)
    }

    /// The document title.
    pub fn title(&self) -> Result<String, Error> {
        let step = "read the document title".to_owned();
        let value = self.command(&step, Method::GET, "/title", None)?;
        string(step, value)
    }

    /// A PNG screenshot of the window's viewport.
    ///
    /// Bounded by [`SCREENSHOT_TIMEOUT`]: WebKitGTK 2.50 never answers it when
    /// `WEBKIT_DISABLE_COMPOSITING_MODE` or `WEBKIT_DISABLE_DMABUF_RENDERER` is set.
    pub fn screenshot(&self) -> Result<Vec<u8>, Error> {
        let step = "take a screenshot (hangs if WEBKIT_DISABLE_COMPOSITING_MODE or \
                    WEBKIT_DISABLE_DMABUF_RENDERER is set)"
            .to_owned();
        let value = send_with_timeout(
            &self.client,
            &step,
            Method::GET,
            &format!("{}/screenshot", self.base),
            None,
            Some(SCREENSHOT_TIMEOUT),
        )?;
        let encoded = string(step.clone(), value)?;
        base64::engine::general_purpose::STANDARD
            .decode(encoded.as_bytes())
            .map_err(|error| Error::Protocol {
                step,
                detail: format!("screenshot is not base64: {error}"),
            })
    }

    /// Runs `script` as an async script: its last argument is the callback to call with the
    /// result (WebDriver's "execute async script").
    pub fn execute_async(&self, script: &str, args: Vec<Value>) -> Result<Value, Error> {
        let step = "execute an async script".to_owned();
        self.command(
            &step,
            Method::POST,
            "/execute/async",
            Some(json!({ "script": script, "args": args })),
        )
    }

    /// Ends the session, which closes the app window. Safe to call twice.
    pub fn delete(&mut self) -> Result<(), Error> {
        if !self.open {
            return Ok(());
        }
        self.open = false;
        self.command(
            "delete the WebDriver session (closes the app)",
            Method::DELETE,
            "",
            None,
        )
        .map(drop)
    }
}

impl Drop for Session {
    fn drop(&mut self) {
        if let Err(error) = self.delete() {
            eprintln!("e2e: {error}");
        }
    }
}

/// Sends one WebDriver command and unwraps `value`, turning W3C errors into [`Error::WebDriver`].
fn send(
    client: &Client,
    step: &str,
    method: Method,
    url: &str,
    body: Option<Value>,
) -> Result<Value, Error> {
    send_with_timeout(client, step, method, url, body, None)
}

/// [`send`] with a timeout other than the client's.
fn send_with_timeout(
    client: &Client,
    step: &str,
    method: Method,
    url: &str,
    body: Option<Value>,
    timeout: Option<Duration>,
) -> Result<Value, Error> {
    let http = |source| Error::Http {
        step: step.to_owned(),
        source,
    };
    let mut request = client.request(method, url);
    if let Some(timeout) = timeout {
        request = request.timeout(timeout);
    }
    if let Some(body) = body {
        request = request.json(&body);
    }
    let response = request.send().map_err(http)?;
    let status = response.status();
    let body: Value = response.json().map_err(http)?;
    let value = body.get("value").cloned().unwrap_or(Value::Null);
    if status.is_success() {
        return Ok(value);
    }
    Err(Error::WebDriver {
        step: step.to_owned(),
        status: status.as_u16(),
        error: value["error"]
            .as_str()
            .unwrap_or("unknown error")
            .to_owned(),
        message: value["message"].as_str().unwrap_or("").to_owned(),
    })
}

/// Unwraps an element reference.
fn element(step: &str, value: &Value, selector: &str) -> Result<Element, Error> {
    value[ELEMENT_KEY]
        .as_str()
        .map(|id| Element {
            id: id.to_owned(),
            selector: selector.to_owned(),
        })
        .ok_or_else(|| Error::Protocol {
            step: step.to_owned(),
            detail: format!("no element reference in {value}"),
        })
}

/// WebDriver's special keys, for [`Session::send_keys`] and [`Session::press`].
pub mod keys {
    /// Enter.
    pub const ENTER: &str = "\u{E007}";
    /// Tab.
    pub const TAB: &str = "\u{E004}";
    /// Escape.
    pub const ESCAPE: &str = "\u{E00C}";
    /// Shift.
    pub const SHIFT: &str = "\u{E008}";
    /// Control.
    pub const CONTROL: &str = "\u{E009}";
    /// Arrow up.
    pub const UP: &str = "\u{E013}";
    /// Arrow down.
    pub const DOWN: &str = "\u{E015}";
    /// Arrow right.
    pub const RIGHT: &str = "\u{E014}";
}

fn string(step: String, value: Value) -> Result<String, Error> {
    match value {
        Value::String(text) => Ok(text),
        other => Err(Error::Protocol {
            step,
            detail: format!("expected a string, got {other}"),
        }),
    }
}
