//! Device-code sign-in: the code is reported, the person enters it on the device-login page,
//! polling picks up the tokens; declining and cancelling are typed errors.

use std::sync::Arc;

use perch_auth::{DeviceCodeNotice, HttpClient};
use perch_emulator::EmulatorConfig;
use perch_store::Store;
use tokio_util::sync::CancellationToken;

use crate::support;

async fn enter_code(base: String, notice: DeviceCodeNotice, upn: String, action: &str) {
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    // The page the person opens.
    let page = client.get(&notice.verification_uri).send().await.unwrap();
    assert!(page.status().is_success());
    let answer = client
        .post(format!("{base}/devicelogin"))
        .form(&[
            ("user_code", notice.user_code.as_str()),
            ("user", upn.as_str()),
            ("action", action),
        ])
        .send()
        .await
        .unwrap();
    assert!(
        answer.status().is_success() || answer.status().is_redirection(),
        "{}",
        answer.status()
    );
}

#[tokio::test]
async fn device_code_sign_in() {
    let env = support::start(EmulatorConfig::default()).await;
    let manager = support::manager(Store::open_in_memory().unwrap(), support::mock_keyring());
    let base = env.emulator.base_url().to_owned();
    let upn = env.users[1].1.clone();
    let seen = Arc::new(parking_lot::Mutex::new(None));
    let seen2 = seen.clone();
    let notify = move |notice: &DeviceCodeNotice| {
        *seen2.lock() = Some(notice.clone());
        tokio::spawn(enter_code(
            base.clone(),
            notice.clone(),
            upn.clone(),
            "accept",
        ));
    };
    let account = manager
        .sign_in_with_device_code(&env.org, &notify, &CancellationToken::new())
        .await
        .expect("device-code sign-in");
    assert_eq!(account.id.user_id, env.users[1].0);
    let notice = seen.lock().clone().unwrap();
    assert!(!notice.user_code.is_empty());
    assert!(
        notice.verification_uri.ends_with("/devicelogin"),
        "{}",
        notice.verification_uri
    );
    manager.access_token(&account.id).await.unwrap();
}

#[tokio::test]
async fn device_code_declined_and_cancelled() {
    let env = support::start(EmulatorConfig::default()).await;
    let http = HttpClient::new().unwrap();
    let base = env.emulator.base_url().to_owned();
    let upn = env.users[0].1.clone();
    let notify = move |notice: &DeviceCodeNotice| {
        tokio::spawn(enter_code(
            base.clone(),
            notice.clone(),
            upn.clone(),
            "cancel",
        ));
    };
    let err = perch_auth::device_code::sign_in(&http, &env.org, &notify, &CancellationToken::new())
        .await
        .unwrap_err();
    assert_eq!(err.code(), "access_denied", "{err}");

    let cancel = CancellationToken::new();
    let trigger = cancel.clone();
    let notify = move |_: &DeviceCodeNotice| trigger.cancel();
    let err = perch_auth::device_code::sign_in(&http, &env.org, &notify, &cancel)
        .await
        .unwrap_err();
    assert_eq!(err.code(), "sign_in_cancelled");
}
