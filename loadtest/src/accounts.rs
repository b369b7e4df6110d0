//! The simulated users' accounts: `<prefix>_<n>` with one fixed password, created once
//! and reused by every later run.
//!
//! Each registration or login costs the auth service an Argon2 hash, and logins are
//! limited per client address, so sessions are cached in a file under the output folder
//! and reused while they last: a cached access token still valid for the whole run is
//! used as it is (after a cheap `/api/auth/me` check that its user still exists), an
//! expired one is refreshed, and only when that fails does the user log in again. A user
//! the cache does not know registers first and logs in only when the name is taken, so
//! a first run costs one hash per user and no login attempts.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::Duration;

use anyhow::Context;
use chat_protocol::UserId;
use futures::StreamExt;
use indicatif::ProgressBar;
use serde::{Deserialize, Serialize};
use tokio::sync::Semaphore;

use crate::api::{Api, ApiError, Session};
use crate::connection::Target;

/// A simulated user's account and session.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Account {
    /// The user's number in the run (0-based).
    pub index: u32,
    pub username: String,
    pub user_id: UserId,
    pub access_token: String,
    pub refresh_token: String,
    /// When the access token expires (unix seconds).
    pub expires_at: i64,
}

impl Account {
    fn from_session(index: u32, username: &str, session: Session) -> Self {
        Self {
            index,
            username: username.to_owned(),
            user_id: session.user.id,
            access_token: session.access_token,
            refresh_token: session.refresh_token,
            expires_at: unix_seconds() + session.expires_in,
        }
    }

    /// Takes a refreshed session.
    pub fn renew(&mut self, session: Session) {
        self.access_token = session.access_token;
        self.refresh_token = session.refresh_token;
        self.expires_at = unix_seconds() + session.expires_in;
    }
}

/// The username of user `n`.
pub fn username(prefix: &str, n: usize) -> String {
    format!("{prefix}_{n}")
}

fn email(username: &str) -> String {
    format!("{username}@loadtest.example.com")
}

fn unix_seconds() -> i64 {
    crate::metrics::unix_nanos() / 1_000_000_000
}

/// How an account was made ready.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Readiness {
    Reused,
    Refreshed,
    LoggedIn,
    Registered,
}

/// Sessions kept between runs, one file per stack (`<out>/accounts/<host>_<port>.json`).
#[derive(Debug)]
pub struct TokenCache {
    path: PathBuf,
    accounts: Mutex<BTreeMap<String, Account>>,
}

impl TokenCache {
    pub fn path_for(out: &Path, target: &Target) -> PathBuf {
        let host = target
            .api
            .host_str()
            .unwrap_or("stack")
            .replace([':', '[', ']'], "_");
        let port = target.api.port_or_known_default().unwrap_or(0);
        out.join("accounts").join(format!("{host}_{port}.json"))
    }

    /// The cache at `path` (empty when missing or unreadable).
    pub fn load(path: PathBuf) -> Self {
        let accounts = std::fs::read(&path)
            .ok()
            .and_then(|bytes| serde_json::from_slice(&bytes).ok())
            .unwrap_or_default();
        Self {
            path,
            accounts: Mutex::new(accounts),
        }
    }

    fn get(&self, username: &str) -> Option<Account> {
        self.accounts
            .lock()
            .expect("cache lock")
            .get(username)
            .cloned()
    }

    pub fn put(&self, account: Account) {
        self.accounts
            .lock()
            .expect("cache lock")
            .insert(account.username.clone(), account);
    }

    pub fn save(&self) -> anyhow::Result<()> {
        if let Some(dir) = self.path.parent() {
            std::fs::create_dir_all(dir)?;
        }
        let accounts = self.accounts.lock().expect("cache lock").clone();
        let temporary = self.path.with_extension("json.tmp");
        std::fs::write(&temporary, serde_json::to_vec(&accounts)?)?;
        std::fs::rename(&temporary, &self.path)
            .with_context(|| format!("writing {}", self.path.display()))
    }
}

/// Which accounts a run needs.
#[derive(Debug, Clone)]
pub struct Wanted<'a> {
    pub prefix: &'a str,
    pub password: &'a str,
    pub count: usize,
    /// Registrations and logins (Argon2 work) at once.
    pub concurrency: usize,
    /// Each access token must stay valid at least this long.
    pub valid_for: Duration,
}

/// Makes accounts `0..count` ready; returns them by index and how each was readied.
pub async fn ensure(
    api: &Api,
    cache: &TokenCache,
    wanted: &Wanted<'_>,
    progress: &ProgressBar,
) -> anyhow::Result<(Vec<Account>, BTreeMap<Readiness, usize>)> {
    let Wanted {
        prefix,
        password,
        count,
        concurrency,
        valid_for,
    } = *wanted;
    let hashing = Semaphore::new(concurrency.max(1));
    let valid_until = unix_seconds() + valid_for.as_secs() as i64;
    let mut results = futures::stream::iter(0..count)
        .map(|n| {
            let hashing = &hashing;
            async move {
                let name = username(prefix, n);
                let ready = prepare(api, cache, hashing, n as u32, &name, password, valid_until)
                    .await
                    .with_context(|| format!("account {name}"));
                progress.inc(1);
                ready
            }
        })
        .buffer_unordered(concurrency.max(1) * 8);
    let mut accounts = Vec::with_capacity(count);
    let mut how = BTreeMap::new();
    let mut failure = None;
    while let Some(result) = results.next().await {
        match result {
            Ok((account, readiness)) => {
                cache.put(account.clone());
                *how.entry(readiness).or_insert(0) += 1;
                accounts.push(account);
            }
            Err(err) => {
                failure.get_or_insert(err);
            }
        }
    }
    cache.save()?;
    if let Some(err) = failure {
        return Err(err);
    }
    accounts.sort_by_key(|account| account.index);
    Ok((accounts, how))
}

async fn prepare(
    api: &Api,
    cache: &TokenCache,
    hashing: &Semaphore,
    index: u32,
    name: &str,
    password: &str,
    valid_until: i64,
) -> anyhow::Result<(Account, Readiness)> {
    if let Some(mut cached) = cache.get(name) {
        cached.index = index;
        if cached.expires_at > valid_until {
            if let Ok(id) = api.me(&cached.access_token).await
                && id == cached.user_id
            {
                return Ok((cached, Readiness::Reused));
            }
        } else if let Ok(session) = api.refresh(&cached.refresh_token).await
            && session.user.id == cached.user_id
        {
            cached.renew(session);
            return Ok((cached, Readiness::Refreshed));
        }
        let _permit = hashing.acquire().await?;
        return match api.login(name, password).await {
            Ok(session) => Ok((
                Account::from_session(index, name, session),
                Readiness::LoggedIn,
            )),
            Err(err) if err.is("invalid_credentials") => register(api, index, name, password).await,
            Err(err) => Err(login_failed(err)),
        };
    }
    let _permit = hashing.acquire().await?;
    register(api, index, name, password).await
}

/// Registers, or logs in when the account exists already.
async fn register(
    api: &Api,
    index: u32,
    name: &str,
    password: &str,
) -> anyhow::Result<(Account, Readiness)> {
    match api.register(name, &email(name), password).await {
        Ok(session) => Ok((
            Account::from_session(index, name, session),
            Readiness::Registered,
        )),
        Err(err) if err.is("username_taken") || err.is("email_taken") => {
            let session = api.login(name, password).await.map_err(login_failed)?;
            Ok((
                Account::from_session(index, name, session),
                Readiness::LoggedIn,
            ))
        }
        Err(err) if err.is("too_many_attempts") => Err(anyhow::anyhow!(
            "{err}: the stack limits new accounts per address; raise \
             AUTH_REGISTER_MAX_PER_ADDRESS (make run's stack allows a million)"
        )),
        Err(err) => Err(err.into()),
    }
}

fn login_failed(err: ApiError) -> anyhow::Error {
    if err.is("too_many_attempts") {
        anyhow::anyhow!(
            "{err}: the stack limits login attempts per address; keep the output folder \
             (its token cache spares logins) or raise AUTH_LOGIN_MAX_ADDRESS_ATTEMPTS"
        )
    } else if err.is("invalid_credentials") {
        anyhow::anyhow!("{err}: the account exists with another password (change accounts.prefix)")
    } else {
        err.into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn usernames_are_deterministic_and_valid() {
        let name = username("lt_standard-1000", 999);
        assert_eq!(name, "lt_standard-1000_999");
        assert!(name.len() <= 32);
        assert!(
            name.chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || "_.-".contains(c))
        );
    }

    #[test]
    fn the_cache_survives_a_restart() {
        let dir = std::env::temp_dir().join(format!("lt-cache-{}", uuid::Uuid::new_v4().simple()));
        let path = dir.join("accounts").join("127.0.0.1_8080.json");
        let account = Account {
            index: 3,
            username: "lt_x_3".to_owned(),
            user_id: UserId::new(),
            access_token: "a".to_owned(),
            refresh_token: "r".to_owned(),
            expires_at: 42,
        };
        let cache = TokenCache::load(path.clone());
        cache.put(account.clone());
        cache.save().expect("saved");

        let again = TokenCache::load(path);
        assert_eq!(again.get("lt_x_3"), Some(account));
        let _ = std::fs::remove_dir_all(dir);
    }
}
