//! Tests of a server's OAuth state against a scripted token endpoint: refresh
//! before expiry and on a 401, a failed refresh needing a login, and the
//! step-up limit.

use std::sync::{Arc, Mutex};

use tokio::io::{AsyncReadExt, AsyncWriteExt};

use super::tokens::{self, AuthMethod, ClientCreds, StoredTokens};
use super::{MAX_STEP_UPS, OAuthConfig, ServerAuth};

/// A token endpoint answering every request with `status` and `body`; the
/// request bodies it got.
async fn token_endpoint(
    status: &'static str,
    body: &'static str,
) -> (String, Arc<Mutex<Vec<String>>>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/token", listener.local_addr().unwrap());
    let seen = Arc::new(Mutex::new(Vec::new()));
    let log = seen.clone();
    tokio::spawn(async move {
        while let Ok((mut s, _)) = listener.accept().await {
            let mut buf = vec![0u8; 16384];
            let mut n = 0;
            // Headers, then the body its content-length names.
            loop {
                let r = s.read(&mut buf[n..]).await.unwrap();
                n += r;
                let text = String::from_utf8_lossy(&buf[..n]).to_string();
                if let Some(end) = text.find("\r\n\r\n") {
                    let len = text
                        .lines()
                        .find_map(|l| {
                            l.to_ascii_lowercase()
                                .strip_prefix("content-length:")
                                .map(|v| v.trim().parse::<usize>().unwrap())
                        })
                        .unwrap_or(0);
                    if n >= end + 4 + len || r == 0 {
                        log.lock().unwrap().push(text[end + 4..].to_string());
                        break;
                    }
                }
            }
            let reply = format!(
                "HTTP/1.1 {status}\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                body.len()
            );
            s.write_all(reply.as_bytes()).await.unwrap();
        }
    });
    (url, seen)
}

fn stored(token_endpoint: &str, expires_at: Option<u64>) -> StoredTokens {
    StoredTokens {
        url: "http://127.0.0.1:9/mcp".into(),
        access_token: "old".into(),
        refresh_token: Some("r1".into()),
        expires_at,
        scope: Some("read".into()),
        token_endpoint: token_endpoint.into(),
        resource: "http://127.0.0.1:9/mcp".into(),
        client: ClientCreds {
            client_id: "c".into(),
            client_secret: None,
            auth_method: AuthMethod::None,
        },
    }
}

fn auth_with(dir: &std::path::Path, t: &StoredTokens) -> ServerAuth {
    tokens::save(&tokens::path_for(dir, "srv"), t).unwrap();
    ServerAuth::new(
        "srv",
        &t.url,
        OAuthConfig::default(),
        Some(dir.to_path_buf()),
    )
}

#[tokio::test]
async fn an_expiring_token_is_refreshed_before_use_and_stored() {
    let (url, seen) = token_endpoint(
        "200 OK",
        r#"{"access_token":"new","token_type":"Bearer","expires_in":3600,"refresh_token":"r2"}"#,
    )
    .await;
    let dir = tempfile::tempdir().unwrap();
    let auth = auth_with(dir.path(), &stored(&url, Some(1)));
    assert_eq!(auth.bearer().await.as_deref(), Some("new"));
    let body = seen.lock().unwrap().join("\n");
    assert!(body.contains("grant_type=refresh_token"), "{body}");
    assert!(body.contains("refresh_token=r1"), "{body}");
    assert!(
        body.contains("resource=http%3A%2F%2F127.0.0.1%3A9%2Fmcp"),
        "{body}"
    );
    let on_disk = tokens::load(&tokens::path_for(dir.path(), "srv")).unwrap();
    assert_eq!(on_disk.access_token, "new");
    assert_eq!(on_disk.refresh_token.as_deref(), Some("r2"));
    // A token that is not about to expire is used as it is.
    assert_eq!(auth.bearer().await.as_deref(), Some("new"));
    assert_eq!(seen.lock().unwrap().len(), 1);
}

#[tokio::test]
async fn a_401_refreshes_once_and_a_failed_refresh_needs_a_login() {
    let (url, _) = token_endpoint("200 OK", r#"{"access_token":"new","expires_in":3600}"#).await;
    let dir = tempfile::tempdir().unwrap();
    let auth = auth_with(dir.path(), &stored(&url, None));
    assert!(
        auth.unauthorized("Bearer error=\"invalid_token\"", Some("old"))
            .await
    );
    assert_eq!(auth.bearer().await.as_deref(), Some("new"));
    assert!(auth.needs_login().is_none());

    let (url, _) = token_endpoint("400 Bad Request", r#"{"error":"invalid_grant"}"#).await;
    let dir = tempfile::tempdir().unwrap();
    let auth = auth_with(dir.path(), &stored(&url, None));
    assert!(
        !auth
            .unauthorized("Bearer scope=\"read\"", Some("old"))
            .await
    );
    let login = auth.needs_login().unwrap();
    assert_eq!(login.command, "tether mcp login srv");
    assert_eq!(login.scope.as_deref(), Some("read"));
    assert!(
        login.reason.contains("refreshing it failed"),
        "{}",
        login.reason
    );
}

#[tokio::test]
async fn insufficient_scope_asks_for_the_union_then_gives_up_after_the_limit() {
    let dir = tempfile::tempdir().unwrap();
    let auth = auth_with(dir.path(), &stored("http://127.0.0.1:9/token", None));
    let challenge = r#"Bearer error="insufficient_scope", scope="read write""#;
    auth.insufficient_scope(challenge);
    let login = auth.needs_login().unwrap();
    assert_eq!(login.scope.as_deref(), Some("read write"));
    for _ in 1..MAX_STEP_UPS {
        auth.insufficient_scope(challenge);
    }
    assert!(auth.needs_login().is_none());
    assert!(auth.gave_up().unwrap().contains("after 3 logins"));
    assert!(auth.logout());
    assert!(auth.gave_up().is_none() && auth.bearer().await.is_none());
}
