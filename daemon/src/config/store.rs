//! `[store]` (issue 16): where the daemon keeps its sessions. Without `url`, the
//! SQLite store in the state directory (`tether.db`), as always; with
//! `url = "postgres://USER:PASSWORD@HOST:PORT/DB"`, a PostgreSQL database that
//! several daemons may share. `TETHER_STORE_URL` wins over the file. Read once,
//! when the daemon starts: a change applies at its next start.

use serde::Deserialize;

use super::error::ConfigError;
use super::limits::ErrAt;

/// The environment variable that names the store, over `[store] url`.
pub const STORE_URL_ENV: &str = "TETHER_STORE_URL";

/// `[store]`.
#[derive(Clone, Default, PartialEq)]
pub struct StoreSettings {
    /// The PostgreSQL URL; `None`: the SQLite store.
    pub url: Option<String>,
}

/// Never shows the password.
impl std::fmt::Debug for StoreSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let url = self.url.as_deref().map(crate::store::redact_url);
        f.debug_struct("StoreSettings").field("url", &url).finish()
    }
}

/// `[store]` as written.
#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(super) struct RawStore {
    url: Option<toml::Spanned<String>>,
}

/// Whether `url` names a PostgreSQL database the way `[store] url` may.
pub fn is_postgres_url(url: &str) -> bool {
    url.starts_with("postgres://") || url.starts_with("postgresql://")
}

/// Reads `[store]`.
pub(super) fn store(raw: RawStore, err_at: ErrAt) -> Result<StoreSettings, ConfigError> {
    let Some(url) = raw.url else {
        return Ok(StoreSettings::default());
    };
    let span = url.span();
    let url = url.into_inner();
    if url.trim().is_empty() {
        return Ok(StoreSettings::default());
    }
    if !is_postgres_url(&url) {
        return Err(err_at(
            Some(span),
            "[store] url must be a PostgreSQL URL (postgres://USER:PASSWORD@HOST:PORT/DB)".into(),
        ));
    }
    if url.parse::<tokio_postgres::Config>().is_err() {
        return Err(err_at(
            Some(span),
            "[store] url does not parse as a PostgreSQL URL".into(),
        ));
    }
    Ok(StoreSettings { url: Some(url) })
}

/// The store URL the daemon opens: `TETHER_STORE_URL` when set (and not
/// empty), else `[store] url` of `config.toml`'s text. The file is read for
/// this table alone, so a config.toml with an error elsewhere still names its
/// store; one that is not TOML at all and has a `[store]` table is an error
/// (the daemon must not fall back to a local store by mistake).
pub fn store_url(env: Option<String>, config_text: Option<&str>) -> Result<Option<String>, String> {
    if let Some(url) = env.filter(|u| !u.trim().is_empty()) {
        if !is_postgres_url(&url) || url.parse::<tokio_postgres::Config>().is_err() {
            return Err(format!(
                "{STORE_URL_ENV} is not a PostgreSQL URL (postgres://USER:PASSWORD@HOST:PORT/DB)"
            ));
        }
        return Ok(Some(url));
    }
    let Some(text) = config_text else {
        return Ok(None);
    };
    let table = match text.parse::<toml::Table>() {
        Ok(t) => t,
        Err(_) if text.contains("[store]") => {
            return Err(
                "config.toml does not parse, and it has a [store] table: fix it so the daemon \
                 opens the store it names"
                    .into(),
            );
        }
        Err(_) => return Ok(None),
    };
    let Some(store) = table.get("store") else {
        return Ok(None);
    };
    match store.get("url") {
        None => Ok(None),
        Some(toml::Value::String(u)) if u.trim().is_empty() => Ok(None),
        Some(toml::Value::String(u))
            if is_postgres_url(u) && u.parse::<tokio_postgres::Config>().is_ok() =>
        {
            Ok(Some(u.clone()))
        }
        Some(_) => Err(
            "config.toml: [store] url must be a PostgreSQL URL (postgres://USER:PASSWORD@HOST:PORT/DB)"
                .into(),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_environment_wins_and_a_broken_file_never_falls_back_silently() {
        let file = "[store]\nurl = \"postgres://a:pw@h/db\"\n";
        assert_eq!(
            store_url(None, Some(file)).unwrap_or_default().as_deref(),
            Some("postgres://a:pw@h/db")
        );
        assert_eq!(
            store_url(Some("postgres://b@h2/x".into()), Some(file))
                .unwrap_or_default()
                .as_deref(),
            Some("postgres://b@h2/x")
        );
        assert_eq!(store_url(Some(String::new()), None), Ok(None));
        assert_eq!(store_url(None, Some("default_model = \"a/b\"")), Ok(None));
        assert!(store_url(None, Some("[store]\nurl = ")).is_err());
        assert!(store_url(None, Some("[store]\nurl = \"mysql://x\"")).is_err());
        assert!(store_url(Some("sqlite:x".into()), None).is_err());
        let s = StoreSettings {
            url: Some("postgres://a:s3cret@h/db".into()),
        };
        assert!(!format!("{s:?}").contains("s3cret"));
    }
}
