//! Where the daemon is: the local socket, or another machine through ssh
//! (`tether --host`). Every command and the TUI connect through a [`Target`],
//! so none of them cares which; both give the same [`DaemonClient`].

use std::io::ErrorKind;
use std::path::PathBuf;

use anyhow::anyhow;
use tether_shared::protocol::Method;

use super::error::ClientError;
use super::remote::Remote;
use super::{DaemonClient, local, ssh};

/// The daemon a command talks to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// The daemon on this machine's socket.
    Local(PathBuf),
    /// A daemon on another machine, through `ssh HOST tether bridge`.
    Remote(Remote),
}

impl Target {
    /// Connects, starting the daemon when none runs (on the remote host, the
    /// bridge starts it there; never one here).
    pub async fn connect_or_start(&self) -> anyhow::Result<DaemonClient> {
        match self {
            Target::Local(socket) => local::connect_or_start(socket).await,
            Target::Remote(r) => ssh::connect(r, true).await,
        }
    }

    /// Connects without starting a daemon: `None` when none runs.
    pub async fn connect(&self) -> anyhow::Result<Option<DaemonClient>> {
        match self {
            Target::Local(socket) => match local::connect(socket).await {
                Ok(c) => Ok(Some(c)),
                Err(ClientError::Io(e))
                    if matches!(e.kind(), ErrorKind::NotFound | ErrorKind::ConnectionRefused) =>
                {
                    Ok(None)
                }
                Err(e) => Err(anyhow!(e)),
            },
            Target::Remote(r) => match ssh::connect(r, false).await {
                Ok(c) => Ok(Some(c)),
                Err(e) if e.downcast_ref::<ssh::NotRunning>().is_some() => Ok(None),
                Err(e) => Err(e),
            },
        }
    }

    /// Connects (starting the daemon when none runs) and calls `M` once.
    pub async fn request_once<M: Method>(&self, params: &M::Params) -> anyhow::Result<M::Result> {
        let mut c = self.connect_or_start().await?;
        match (c.call::<M>(params).await, self) {
            (Ok(r), _) => Ok(r),
            // Through ssh, a lost connection is the link (ssh, the network).
            (Err(ClientError::Io(e)), Target::Remote(r)) => {
                Err(anyhow!(e).context(format!("the link to {} dropped", r.name)))
            }
            (Err(e), _) => Err(e.into()),
        }
    }

    /// [`Target::request_once`] with the result read as `T` ([`Client::call_as`]).
    pub async fn request_once_as<M: Method, T: serde::de::DeserializeOwned>(
        &self,
        params: &M::Params,
    ) -> anyhow::Result<T> {
        let mut c = self.connect_or_start().await?;
        match (c.call_as::<M, T>(params).await, self) {
            (Ok(r), _) => Ok(r),
            (Err(ClientError::Io(e)), Target::Remote(r)) => {
                Err(anyhow!(e).context(format!("the link to {} dropped", r.name)))
            }
            (Err(e), _) => Err(e.into()),
        }
    }

    /// [`Target::request_once_as`] through [`Client::call_read`]: the result
    /// read borrowed from the reply's bytes and made `O` by `read`.
    pub async fn request_once_read<M: Method, O>(
        &self,
        params: &M::Params,
        read: impl FnMut(&[u8], u64) -> serde_json::Result<super::Answer<O>>,
    ) -> anyhow::Result<O> {
        let mut c = self.connect_or_start().await?;
        match (c.call_read::<M, O>(params, read).await, self) {
            (Ok(r), _) => Ok(r),
            (Err(ClientError::Io(e)), Target::Remote(r)) => {
                Err(anyhow!(e).context(format!("the link to {} dropped", r.name)))
            }
            (Err(e), _) => Err(e.into()),
        }
    }

    /// Where the daemon is, for messages: the socket's path or the host's name.
    pub fn describe(&self) -> String {
        match self {
            Target::Local(socket) => socket.display().to_string(),
            Target::Remote(r) => r.name.clone(),
        }
    }

    /// The remote host, if the daemon is on one.
    pub fn remote(&self) -> Option<&Remote> {
        match self {
            Target::Local(_) => None,
            Target::Remote(r) => Some(r),
        }
    }

    /// The same target for a connection no one can watch being made (the TUI
    /// reconnecting while it owns the terminal): ssh may not ask for anything.
    pub fn unattended(&self) -> Target {
        match self {
            Target::Local(s) => Target::Local(s.clone()),
            Target::Remote(r) => Target::Remote(Remote {
                unattended: true,
                ..r.clone()
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use tether_shared::protocol::method;

    use super::*;

    /// A remote whose "ssh" is `sh -c SCRIPT`: the script is the other end.
    fn scripted(script: &str) -> Target {
        let mut r = super::super::remote::resolve("box", None, None).unwrap();
        r.ssh = vec!["sh".into(), "-c".into(), script.into(), "fake-ssh".into()];
        Target::Remote(r)
    }

    const HELLO: &str = r#"{"jsonrpc":"2.0","id":1,"result":{"protocol_version":1,"daemon_version":"0.1.0","pid":1,"home":"/home/ana"}}"#;

    #[tokio::test]
    async fn a_link_that_drops_under_a_request_says_so() {
        // Answers the hello, reads the request, and is gone.
        let t = scripted(&format!("read l; echo '{HELLO}'; read l; exit 0"));
        let e = t
            .request_once::<method::SessionList>(&Default::default())
            .await
            .unwrap_err();
        let text = crate::errors::one_line(&e);
        assert!(text.starts_with("the link to box dropped"), "{text}");
    }

    #[tokio::test]
    async fn the_remote_home_comes_with_the_hello_and_no_daemon_is_none() {
        let t = scripted(&format!("read l; echo '{HELLO}'; read l"));
        let c = t.connect_or_start().await.unwrap();
        assert_eq!(c.hello().home.as_deref(), Some("/home/ana"));
        // `bridge --no-start` exits 3 when no daemon runs there.
        let none = scripted("echo 'tether: no tether daemon is running on /run/x' >&2; exit 3");
        assert!(none.connect().await.unwrap().is_none());
        // With a start allowed, exit 3 is not "none runs": it is an error.
        let Err(e) = none.connect_or_start().await else {
            panic!("connected to nothing");
        };
        assert!(
            crate::errors::one_line(&e).contains("on box: no tether daemon"),
            "{e}"
        );
    }
}
