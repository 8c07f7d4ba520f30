//! Shared pieces: the emulator, the organisation pointing at it, a scripted browser, and a
//! token manager over a temporary database.

use std::sync::Arc;

use anyhow::{anyhow, bail, Context, Result};
use perch_auth::{
    BrowserOpener, HttpClient, KeyringStore, ManagerOptions, SecretStore, TokenManager,
};
use perch_core::{Cloud, Hosts, Organisation, Scopes, Tenant};
use perch_emulator::{Emulator, EmulatorConfig};
use perch_store::Store;

/// A running emulator and the organisation that points at it.
pub struct Env {
    pub emulator: Emulator,
    pub org: Organisation,
    /// (object id, UPN) of the demo users, in order.
    pub users: Vec<(uuid::Uuid, String)>,
}

pub async fn start(config: EmulatorConfig) -> Env {
    let emulator = Emulator::start(EmulatorConfig {
        profile: perch_emulator::Profile::Small,
        ..config
    })
    .await
    .expect("emulator starts");
    let base = emulator.base_url().to_owned();
    let (tenant_id, client_id, users) = {
        let tenant = emulator.state().tenant.read();
        (
            tenant.id,
            tenant.apps[0].client_id,
            tenant
                .users
                .iter()
                .map(|u| (u.id, u.upn.clone()))
                .collect::<Vec<_>>(),
        )
    };
    let org = Organisation {
        tenant: Tenant::Id(tenant_id),
        client_id,
        cloud: Cloud::Global,
        hosts: Hosts {
            login: base.clone(),
            graph: base,
        },
        scopes: Scopes::default(),
    };
    Env {
        emulator,
        org,
        users,
    }
}

pub async fn auto_env() -> Env {
    start(EmulatorConfig {
        auto_approve: true,
        ..Default::default()
    })
    .await
}

/// What the scripted person does on the sign-in page.
#[derive(Debug, Clone)]
pub enum Choice {
    /// Accept as this user (UPN), or as whoever the page pre-selects.
    Accept(Option<String>),
    /// Press cancel.
    Cancel,
}

/// A browser: follows the authorize URL, fills the emulator's form, and delivers the redirect
/// to the loopback listener. Returns the listener's status and page.
#[derive(Clone)]
pub struct Browser {
    client: reqwest::Client,
}

impl Default for Browser {
    fn default() -> Self {
        Browser {
            client: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .unwrap(),
        }
    }
}

impl Browser {
    /// Goes through the sign-in and returns the redirect's Location (not yet delivered).
    pub async fn authorize(&self, url: &str, choice: &Choice) -> Result<String> {
        let response = self.client.get(url).send().await?;
        if let Some(location) = location(&response) {
            return Ok(location);
        }
        let status = response.status();
        let page = response.text().await?;
        if !status.is_success() || !page.contains("id=\"signin\"") {
            bail!("unexpected authorize answer {status}: {page}");
        }
        let request = input_value(&page, "request").context("no request field")?;
        let post_url = {
            let u = url::Url::parse(url)?;
            format!(
                "{}://{}{}",
                u.scheme(),
                u.host_str().unwrap_or("127.0.0.1"),
                u.port().map(|p| format!(":{p}")).unwrap_or_default()
            ) + u.path()
        };
        let mut form = vec![("request".to_owned(), request)];
        match choice {
            Choice::Accept(user) => {
                if let Some(user) = user {
                    form.push(("user".into(), user.clone()));
                } else if let Some(checked) = checked_user(&page) {
                    form.push(("user".into(), checked));
                }
                form.push(("action".into(), "accept".into()));
            }
            Choice::Cancel => form.push(("action".into(), "cancel".into())),
        }
        let response = self.client.post(&post_url).form(&form).send().await?;
        location(&response)
            .ok_or_else(|| anyhow!("no redirect after the form (status {})", response.status()))
    }

    /// Delivers a redirect to the listener.
    pub async fn deliver(&self, location: &str) -> Result<(u16, String)> {
        let response = self.client.get(location).send().await?;
        Ok((response.status().as_u16(), response.text().await?))
    }

    /// Both steps.
    pub async fn complete(&self, url: &str, choice: &Choice) -> Result<(u16, String)> {
        let location = self.authorize(url, choice).await?;
        self.deliver(&location).await
    }
}

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

/// The `value` of the `<input … name="{name}" …>` tag.
pub fn input_value(page: &str, name: &str) -> Option<String> {
    let at = page.find(&format!("name=\"{name}\""))?;
    let start = page[..at].rfind('<')?;
    let end = at + page[at..].find('>')?;
    let tag = &page[start..end];
    let v = tag.find("value=\"")? + 7;
    let rest = &tag[v..];
    Some(html_unescape(&rest[..rest.find('"')?]))
}

fn checked_user(page: &str) -> Option<String> {
    page.split('<')
        .find(|tag| tag.contains("name=\"user\"") && tag.contains("checked"))
        .and_then(|tag| {
            let v = tag.find("value=\"")? + 7;
            let rest = &tag[v..];
            Some(html_unescape(&rest[..rest.find('"')?]))
        })
}

fn html_unescape(s: &str) -> String {
    s.replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&")
}

/// An opener that plays the browser in the background with `choice`, and remembers the URLs.
pub struct ScriptedOpener {
    pub browser: Browser,
    pub choice: Choice,
    pub urls: Arc<parking_lot::Mutex<Vec<String>>>,
}

impl ScriptedOpener {
    pub fn new(choice: Choice) -> ScriptedOpener {
        ScriptedOpener {
            browser: Browser::default(),
            choice,
            urls: Arc::default(),
        }
    }
}

impl BrowserOpener for ScriptedOpener {
    fn open(&self, url: &str) -> Result<(), String> {
        self.urls.lock().push(url.to_owned());
        let browser = self.browser.clone();
        let choice = self.choice.clone();
        let url = url.to_owned();
        tokio::spawn(async move {
            if let Err(e) = browser.complete(&url, &choice).await {
                eprintln!("scripted browser failed: {e:#}");
            }
        });
        Ok(())
    }
}

/// A keyring-core mock store, as the real keyring code path sees it.
pub fn mock_keyring() -> Arc<dyn SecretStore> {
    let store: Arc<keyring_core::CredentialStore> = keyring_core::mock::Store::new().unwrap();
    Arc::new(KeyringStore::with_store(store))
}

pub fn manager(store: Store, secrets: Arc<dyn SecretStore>) -> TokenManager {
    TokenManager::new(
        HttpClient::new().unwrap(),
        store,
        secrets,
        ManagerOptions {
            retry: perch_auth::RetryPolicy {
                attempts: 3,
                base_delay: std::time::Duration::from_millis(20),
                max_delay: std::time::Duration::from_millis(100),
            },
            ..Default::default()
        },
    )
}
