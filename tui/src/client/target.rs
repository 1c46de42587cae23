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
        Ok(self.connect_or_start().await?.call::<M>(params).await?)
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
