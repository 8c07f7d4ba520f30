//! `whoami`: one Graph call (`GET {graph}/v1.0/me`) with the account's token, to show that the
//! token works end to end. A 401 `InvalidAuthenticationToken` gets one forced refresh and one
//! retry (FACTS: "refresh once and retry once"). The token goes only into the
//! `Authorization` header.

use perch_auth::Secret;
use serde::Deserialize;
use serde_json::json;

use crate::cli::AccountArg;
use crate::commands::account_of;
use crate::context::Context;
use crate::error::{CliError, ExitCode};
use crate::output::{print_json, print_table};

/// The fields of `GET /me` we show.
#[derive(Debug, Deserialize, serde::Serialize)]
#[serde(rename_all = "camelCase")]
struct Me {
    id: Option<String>,
    display_name: Option<String>,
    user_principal_name: Option<String>,
    mail: Option<String>,
}

/// Graph's error body.
#[derive(Debug, Deserialize)]
struct GraphErrorBody {
    error: GraphErrorInner,
}

#[derive(Debug, Deserialize)]
struct GraphErrorInner {
    code: String,
    #[serde(default)]
    message: String,
}

enum Answer {
    Me(Me),
    Unauthorized(CliError),
}

async fn get_me(client: &reqwest::Client, url: &str, token: &Secret) -> Result<Answer, CliError> {
    let response = client
        .get(url)
        .bearer_auth(token.expose())
        .send()
        .await
        .map_err(|e| CliError::Network(e.without_url().to_string()))?;
    let status = response.status().as_u16();
    if response.status().is_success() {
        return response
            .json::<Me>()
            .await
            .map(Answer::Me)
            .map_err(|e| CliError::Network(e.without_url().to_string()));
    }
    let (code, message) = match response.json::<GraphErrorBody>().await {
        Ok(body) => (body.error.code, body.error.message),
        Err(_) => ("unknown".to_owned(), String::new()),
    };
    let error = CliError::Graph {
        status,
        code,
        message,
    };
    if status == 401 {
        Ok(Answer::Unauthorized(error))
    } else {
        Err(error)
    }
}

/// Runs `whoami`.
pub async fn run(ctx: &Context, arg: &AccountArg, json: bool) -> Result<ExitCode, CliError> {
    let secrets = ctx.secrets(false)?;
    let manager = ctx.manager(secrets)?;
    let record = account_of(&manager, arg)?;
    let url = format!("{}/v1.0/me", record.hosts.graph);
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(std::time::Duration::from_secs(30))
        .user_agent(concat!("Perch/", env!("CARGO_PKG_VERSION")))
        .build()
        .map_err(|e| CliError::Network(e.to_string()))?;
    let token = manager.access_token(&record.id).await?;
    let me = match get_me(&client, &url, &token.secret).await? {
        Answer::Me(me) => me,
        Answer::Unauthorized(_) => {
            let token = manager.force_refresh(&record.id, &token.secret).await?;
            match get_me(&client, &url, &token.secret).await? {
                Answer::Me(me) => me,
                Answer::Unauthorized(error) => return Err(error),
            }
        }
    };
    if json {
        print_json(&json!({ "account": record.id.key(), "me": me }));
    } else {
        let or_dash = |v: &Option<String>| v.clone().unwrap_or_else(|| "-".into());
        print_table(&[
            vec!["name:".into(), or_dash(&me.display_name)],
            vec!["upn:".into(), or_dash(&me.user_principal_name)],
            vec!["mail:".into(), or_dash(&me.mail)],
            vec!["id:".into(), or_dash(&me.id)],
        ]);
    }
    Ok(ExitCode::Ok)
}
