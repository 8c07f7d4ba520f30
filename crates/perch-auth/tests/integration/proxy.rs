//! The managed policy's proxy (`perch_auth::proxied`, which perch-auth's and perch-graph's HTTP
//! clients are built through): a request to a remote host goes to the proxy in absolute form; a
//! request to loopback (the demo tenant, the emulator) never does; socks5 URLs are accepted.

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

/// A one-shot HTTP proxy on 127.0.0.1 that answers 200 and returns the request line it got.
async fn fake_proxy() -> (String, tokio::task::JoinHandle<String>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let task = tokio::spawn(async move {
        let (mut socket, _) = listener.accept().await.unwrap();
        let mut buf = vec![0u8; 4096];
        let n = socket.read(&mut buf).await.unwrap();
        let request = String::from_utf8_lossy(&buf[..n]).into_owned();
        socket
            .write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\nconnection: close\r\n\r\nok")
            .await
            .unwrap();
        request.lines().next().unwrap_or_default().to_owned()
    });
    (url, task)
}

#[tokio::test]
async fn remote_requests_go_through_the_proxy_and_loopback_never_does() {
    let (proxy, seen) = fake_proxy().await;
    let client = perch_auth::proxied(reqwest::Client::builder(), Some(&proxy))
        .unwrap()
        .build()
        .unwrap();
    let answer = client
        .get("http://graph.example.invalid/v1.0/me")
        .send()
        .await
        .expect("answered by the proxy");
    assert_eq!(answer.text().await.unwrap(), "ok");
    assert_eq!(
        seen.await.unwrap(),
        "GET http://graph.example.invalid/v1.0/me HTTP/1.1"
    );

    // Loopback goes direct: the emulator answers, the proxy (gone now) is not asked.
    let env = crate::support::auto_env().await;
    let tenant = client
        .get(format!("{}/_emulator/tenant", env.emulator.base_url()))
        .send()
        .await
        .expect("loopback is not proxied");
    assert!(tenant.status().is_success());

    for url in [
        "socks5://127.0.0.1:1080",
        "socks5h://proxy.example.com:1080",
        "https://proxy.example.com:8443",
    ] {
        assert!(
            perch_auth::HttpClient::with_proxy(Some(url)).is_ok(),
            "{url}"
        );
    }
}
