//! `tether mcp login SERVER` and `tether mcp logout SERVER`: OAuth for an HTTP
//! tool server. The daemon does the OAuth work and keeps the tokens; this side
//! does the browser part on the user's machine, so a headless daemon (or one
//! reached with `--host`) can log in too:
//!
//! 1. listen on a loopback port and ask the daemon (`mcp.login_start`) for the
//!    authorization URL that comes back to it;
//! 2. print the URL, and open it with `$BROWSER` when set, else `xdg-open` when
//!    there is a display;
//! 3. take whichever comes first: the browser's redirect to the port, or a
//!    redirect URL (or bare code) pasted on stdin (stdin at its end: keep
//!    waiting for the redirect);
//! 4. give the daemon the code (`mcp.login_finish`).

use std::time::Duration;

use anyhow::{Context, anyhow, bail};
use tether_shared::protocol::{
    LoginFinishParams, LoginStartParams, LogoutParams, ServerStatus, method,
};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

use crate::client::Target;

/// What came back: the code and, from a redirect, its state.
struct Answer {
    code: String,
    state: Option<String>,
}

/// `tether mcp login SERVER [--port N] [--no-browser] [--timeout SECS]`.
pub(super) async fn login(
    target: &Target,
    server: String,
    port: u16,
    no_browser: bool,
    timeout: Duration,
) -> anyhow::Result<u8> {
    let listener = TcpListener::bind(("127.0.0.1", port))
        .await
        .with_context(|| format!("failed to listen on 127.0.0.1:{port} for the login redirect"))?;
    let port = listener.local_addr()?.port();
    let redirect_uri = format!("http://127.0.0.1:{port}/callback");
    let started = target
        .request_once::<method::McpLoginStart>(&LoginStartParams {
            server: server.clone(),
            redirect_uri,
        })
        .await?;
    let url = &started.authorization_url;
    eprintln!("To log in to {server}, open this URL in a browser:\n\n  {url}\n");
    if let Some(scope) = &started.scope {
        eprintln!("(scope requested: {scope})");
    }
    eprintln!(
        "Waiting for the browser to come back to 127.0.0.1:{port}; or paste the URL it ends on (or the code) here."
    );
    if !no_browser {
        open_browser(url);
    }
    let answer = tokio::time::timeout(timeout, wait_for_code(&listener, &server))
        .await
        .map_err(|_| {
            anyhow!(
                "no login within {}s; run `tether mcp login {server}` again",
                timeout.as_secs()
            )
        })??;
    let done = target
        .request_once::<method::McpLoginFinish>(&LoginFinishParams {
            login_id: started.login_id,
            code: answer.code,
            state: answer.state,
        })
        .await?;
    match &done.scope {
        Some(scope) => println!("logged in to {} (scope: {scope})", done.server),
        None => println!("logged in to {}", done.server),
    }
    match (done.status, &done.error) {
        (Some(ServerStatus::Running), _) => println!("{} is running", done.server),
        (Some(_), Some(error)) => eprintln!("tether: {} still does not work: {error}", done.server),
        _ => {}
    }
    Ok(0)
}

/// `tether mcp logout SERVER`.
pub(super) async fn logout(target: &Target, server: String) -> anyhow::Result<u8> {
    let r = target
        .request_once::<method::McpLogout>(&LogoutParams { server })
        .await?;
    if r.removed {
        println!("logged out of {}", r.server);
    } else {
        println!("{} had no stored login", r.server);
    }
    Ok(0)
}

/// Opens `url` with `$BROWSER` (a `%s` in it is replaced by the URL, else the
/// URL is its last argument), else `xdg-open` when there is a display. Failing
/// to open is fine: the URL is printed.
fn open_browser(url: &str) {
    let program = match std::env::var("BROWSER") {
        Ok(b) if !b.trim().is_empty() => {
            let Some(mut words) = shlex::split(&b) else {
                eprintln!("tether: $BROWSER does not parse; open the URL yourself");
                return;
            };
            if words.iter().any(|w| w.contains("%s")) {
                for w in &mut words {
                    *w = w.replace("%s", url);
                }
            } else {
                words.push(url.to_string());
            }
            words
        }
        _ if std::env::var_os("DISPLAY").is_some()
            || std::env::var_os("WAYLAND_DISPLAY").is_some() =>
        {
            vec!["xdg-open".to_string(), url.to_string()]
        }
        _ => return,
    };
    let Some((cmd, args)) = program.split_first() else {
        return;
    };
    match tokio::process::Command::new(cmd)
        .args(args)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .kill_on_drop(false)
        .spawn()
    {
        // Reaped in the background; the login does not wait for the browser.
        Ok(mut child) => drop(tokio::spawn(async move { child.wait().await })),
        Err(e) => eprintln!("tether: could not run {cmd}: {e}; open the URL yourself"),
    }
}

/// The first code to arrive, by redirect or on stdin.
async fn wait_for_code(listener: &TcpListener, server: &str) -> anyhow::Result<Answer> {
    // A thread of its own, not tokio's stdin: a blocked read there would keep
    // the runtime from shutting down after the redirect came.
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<String>();
    std::thread::spawn(move || {
        for line in std::io::stdin().lines() {
            let Ok(line) = line else { break };
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let mut stdin = Some(&mut rx);
    loop {
        tokio::select! {
            accepted = listener.accept() => {
                let (stream, _) = accepted.context("failed to accept the login redirect")?;
                if let Some(answer) = redirect(stream, server).await? {
                    return Ok(answer);
                }
            }
            line = async {
                match stdin.as_mut() {
                    Some(rx) => rx.recv().await,
                    None => std::future::pending().await,
                }
            } => match line {
                Some(text) => {
                    if let Some(answer) = pasted(text.trim())? {
                        return Ok(answer);
                    }
                }
                // Stdin at its end (or unreadable): the redirect may still come.
                None => stdin = None,
            },
        }
    }
}

/// A pasted redirect URL (its `code` and `state`) or a bare code.
fn pasted(text: &str) -> anyhow::Result<Option<Answer>> {
    if text.is_empty() {
        return Ok(None);
    }
    if text.contains("://") || text.starts_with('/') || text.contains("code=") {
        let full = if text.contains("://") {
            text.to_string()
        } else {
            format!("http://localhost/{}", text.trim_start_matches('/'))
        };
        let url = url::Url::parse(&full).context("the pasted URL does not parse")?;
        return from_query(&url).map(Some);
    }
    Ok(Some(Answer {
        code: text.to_string(),
        state: None,
    }))
}

/// The code (or the authorization server's error) of a redirect URL.
fn from_query(url: &url::Url) -> anyhow::Result<Answer> {
    let get = |k: &str| {
        url.query_pairs()
            .find(|(n, _)| n == k)
            .map(|(_, v)| v.into_owned())
    };
    if let Some(error) = get("error") {
        let detail = get("error_description").unwrap_or_default();
        bail!("the authorization server refused: {error} {detail}");
    }
    let code = get("code").ok_or_else(|| anyhow!("the redirect carries no code"))?;
    Ok(Answer {
        code,
        state: get("state"),
    })
}

/// Reads one HTTP request on the loopback port: the redirect's code, or `None`
/// for another request (a favicon, say), which gets a 404.
async fn redirect(mut stream: TcpStream, server: &str) -> anyhow::Result<Option<Answer>> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    while !buf.windows(4).any(|w| w == b"\r\n\r\n") && buf.len() < 64 * 1024 {
        let n = match tokio::time::timeout(Duration::from_secs(10), stream.read(&mut chunk)).await {
            Ok(Ok(n)) => n,
            _ => return Ok(None),
        };
        if n == 0 {
            break;
        }
        buf.extend_from_slice(&chunk[..n]);
    }
    let head = String::from_utf8_lossy(&buf);
    let target = head
        .lines()
        .next()
        .and_then(|l| l.split_whitespace().nth(1))
        .unwrap_or("/");
    let url = url::Url::parse(&format!("http://localhost{target}"));
    let (status, body, answer) = match url {
        Ok(u) if u.path() == "/callback" => match from_query(&u) {
            Ok(a) => (
                "200 OK",
                format!("Logged in to {server}: tether has the code. You can close this tab."),
                Some(Ok(a)),
            ),
            Err(e) => (
                "400 Bad Request",
                format!("Login to {server} failed: {e}"),
                Some(Err(e)),
            ),
        },
        _ => ("404 Not Found", "not found".to_string(), None),
    };
    let page = format!(
        "HTTP/1.1 {status}\r\ncontent-type: text/plain; charset=utf-8\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
        body.len()
    );
    let _ = stream.write_all(page.as_bytes()).await;
    let _ = stream.shutdown().await;
    answer.transpose()
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn a_pasted_url_or_code_gives_the_code() {
        let a = pasted("http://127.0.0.1:5/callback?code=abc&state=xyz")
            .unwrap()
            .unwrap();
        assert_eq!((a.code.as_str(), a.state.as_deref()), ("abc", Some("xyz")));
        let a = pasted("c0de").unwrap().unwrap();
        assert_eq!((a.code.as_str(), a.state), ("c0de", None));
        assert!(pasted("").unwrap().is_none());
        assert!(pasted("http://127.0.0.1:5/callback?error=access_denied").is_err());
    }
}
