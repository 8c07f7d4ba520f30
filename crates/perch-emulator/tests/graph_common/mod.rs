//! Shared set-up for the Graph tests: an emulator on port 0 with throttling off, the fixture
//! tenant from `perch_emulator::graph::fixture`, a token with every scope Perch asks for, and
//! small request helpers that return status, headers and parsed JSON.
#![allow(dead_code)]

use perch_emulator::graph::fixture::{self, Fixture, Spec, ALL_SCOPES};
use perch_emulator::{Emulator, EmulatorConfig, LimitsConfig, Profile};
use reqwest::header::HeaderMap;
use serde_json::Value;
use uuid::Uuid;

/// A running emulator with the fixture installed.
pub struct Bed {
    pub emulator: Emulator,
    pub fx: Fixture,
    pub http: reqwest::Client,
    /// users[0] with every scope.
    pub token: String,
}

pub async fn start(spec: Spec) -> Bed {
    start_with(spec, false).await
}

pub async fn start_with(spec: Spec, limits: bool) -> Bed {
    let config = EmulatorConfig {
        profile: Profile::Small,
        limits: LimitsConfig {
            enabled: limits,
            scale: 1.0,
        },
        ..EmulatorConfig::default()
    };
    let emulator = Emulator::start(config).await.expect("emulator starts");
    let fx = fixture::build(&spec, chrono::Utc::now());
    fx.install(emulator.state());
    let token = fx.token(emulator.state(), fx.users[0], ALL_SCOPES);
    Bed {
        emulator,
        fx,
        http: reqwest::Client::new(),
        token,
    }
}

pub struct Answer {
    pub status: u16,
    pub headers: HeaderMap,
    pub bytes: Vec<u8>,
    pub json: Value,
}

impl Bed {
    /// `{base}/v1.0{path}`, or `path` itself when it is absolute.
    pub fn url(&self, path: &str) -> String {
        if path.starts_with("http") {
            path.to_owned()
        } else {
            format!("{}/v1.0{path}", self.emulator.base_url())
        }
    }

    pub fn token_for(&self, user: Uuid, scopes: &[&str]) -> String {
        self.fx.token(self.emulator.state(), user, scopes)
    }

    pub fn team(&self) -> Uuid {
        self.fx.teams[0]
    }

    /// `/teams/{team0}/channels/{general}/messages`.
    pub fn general_messages(&self) -> String {
        format!(
            "/teams/{}/channels/{}/messages",
            self.team(),
            self.fx.general
        )
    }

    pub async fn get(&self, path: &str) -> Answer {
        self.request(reqwest::Method::GET, path, Some(&self.token), None)
            .await
    }

    pub async fn get_as(&self, token: &str, path: &str) -> Answer {
        self.request(reqwest::Method::GET, path, Some(token), None)
            .await
    }

    pub async fn post(&self, path: &str, body: Value) -> Answer {
        self.request(reqwest::Method::POST, path, Some(&self.token), Some(body))
            .await
    }

    pub async fn patch(&self, path: &str, body: Value) -> Answer {
        self.request(reqwest::Method::PATCH, path, Some(&self.token), Some(body))
            .await
    }

    pub async fn request(
        &self,
        method: reqwest::Method,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> Answer {
        let mut req = self.http.request(method, self.url(path));
        if let Some(token) = token {
            req = req.bearer_auth(token);
        }
        if let Some(body) = body {
            req = req.json(&body);
        }
        let resp = req.send().await.expect("request sent");
        answer(resp).await
    }
}

pub async fn answer(resp: reqwest::Response) -> Answer {
    let status = resp.status().as_u16();
    let headers = resp.headers().clone();
    let bytes = resp.bytes().await.expect("body").to_vec();
    let json = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
    Answer {
        status,
        headers,
        bytes,
        json,
    }
}

/// Asserts Graph's error shape and returns the code.
pub fn error_code(a: &Answer) -> String {
    let code = a.json["error"]["code"].as_str().unwrap_or_else(|| {
        panic!(
            "not a Graph error (status {}): {}",
            a.status,
            String::from_utf8_lossy(&a.bytes)
        )
    });
    assert!(a.json["error"]["message"].is_string());
    assert!(a.json["error"]["innerError"]["request-id"].is_string());
    code.to_owned()
}
