//! The REST calls the tool makes to set a run up: accounts and sessions, rooms,
//! memberships and direct rooms. Errors keep the API's stable `code`, so callers decide
//! by code (`username_taken`, `invalid_credentials`, ...), never by message.
//!
//! On loopback the calls, too, come from several local addresses, so per-address limits
//! of the stack (login attempts) see a spread of clients rather than one.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use chat_protocol::{RoomId, UserId};
use reqwest::{Method, StatusCode, Url};
use serde::Deserialize;
use serde::de::DeserializeOwned;

use crate::connection::{Target, source_address};

/// A failed call: the HTTP status (when one came) and the API's error code.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{method} {path}: {} {code}: {message}", status.map_or_else(|| "no answer".to_owned(), |s| s.to_string()))]
pub struct ApiError {
    pub method: String,
    pub path: String,
    /// `None` when no response came (connection refused, timeout).
    pub status: Option<u16>,
    pub code: String,
    pub message: String,
    pub retry_after: Option<Duration>,
}

impl ApiError {
    pub fn is(&self, code: &str) -> bool {
        self.code == code
    }

    /// Worth retrying: no answer, overload, or a limit that lifts soon.
    fn is_transient(&self) -> bool {
        match self.status {
            None => true,
            Some(status) => {
                status == 502
                    || status == 503
                    || status == 504
                    || (status == 429 && self.retry_after.is_none_or(|d| d <= MAX_RETRY_WAIT))
            }
        }
    }
}

/// Longest `Retry-After` the client waits out by itself.
const MAX_RETRY_WAIT: Duration = Duration::from_secs(10);
const ATTEMPTS: u32 = 5;

/// A signed-in session (`/api/auth/register`, `/login`, `/refresh`).
#[derive(Debug, Clone, Deserialize)]
pub struct Session {
    pub user: SessionUser,
    pub access_token: String,
    pub refresh_token: String,
    /// Seconds until the access token expires.
    pub expires_in: i64,
}

#[derive(Debug, Clone, Deserialize)]
pub struct SessionUser {
    pub id: UserId,
}

#[derive(Deserialize)]
struct Created {
    id: RoomId,
}

#[derive(Deserialize)]
struct ErrorEnvelope {
    error: ErrorDetail,
}

#[derive(Deserialize)]
struct ErrorDetail {
    code: String,
    #[serde(default)]
    message: String,
}

/// REST client of the stack under test.
#[derive(Debug)]
pub struct Api {
    base: Url,
    /// One client per local source address.
    clients: Vec<reqwest::Client>,
    next: AtomicUsize,
}

impl Api {
    pub fn new(target: &Target) -> anyhow::Result<Self> {
        let count = usize::from(target.sources);
        let clients = (0..count)
            .map(|n| {
                let mut builder = reqwest::Client::builder()
                    .timeout(Duration::from_secs(30))
                    .connect_timeout(Duration::from_secs(10))
                    .pool_max_idle_per_host(8);
                if count > 1 {
                    builder = builder.local_address(source_address(n, target.sources));
                }
                builder.build()
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Self {
            base: target.api.clone(),
            clients,
            next: AtomicUsize::new(0),
        })
    }

    fn client(&self) -> &reqwest::Client {
        let n = self.next.fetch_add(1, Ordering::Relaxed);
        &self.clients[n % self.clients.len()]
    }

    /// One call, retried while the failure is transient.
    async fn call<T: DeserializeOwned>(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<&serde_json::Value>,
    ) -> Result<T, ApiError> {
        let mut attempt = 0;
        loop {
            match self.call_once(method.clone(), path, token, body).await {
                Err(err) if err.is_transient() && attempt + 1 < ATTEMPTS => {
                    let wait = err
                        .retry_after
                        .unwrap_or(Duration::from_millis(200 << attempt));
                    tokio::time::sleep(wait).await;
                    attempt += 1;
                }
                other => return other,
            }
        }
    }

    async fn call_once<T: DeserializeOwned>(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<&serde_json::Value>,
    ) -> Result<T, ApiError> {
        let failure = |status: Option<u16>, code: &str, message: String| ApiError {
            method: method.to_string(),
            path: path.to_owned(),
            status,
            code: code.to_owned(),
            message,
            retry_after: None,
        };
        let url = self
            .base
            .join(path.trim_start_matches('/'))
            .map_err(|err| failure(None, "bad_url", err.to_string()))?;
        let mut request = self.client().request(method.clone(), url);
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        if let Some(body) = body {
            request = request.json(body);
        }
        let response = request
            .send()
            .await
            .map_err(|err| failure(None, "unreachable", err.to_string()))?;
        let status = response.status();
        let retry_after = response
            .headers()
            .get(reqwest::header::RETRY_AFTER)
            .and_then(|value| value.to_str().ok())
            .and_then(|value| value.parse::<u64>().ok())
            .map(Duration::from_secs);
        let bytes = response
            .bytes()
            .await
            .map_err(|err| failure(Some(status.as_u16()), "unreadable", err.to_string()))?;
        if status.is_success() {
            let bytes: &[u8] = if bytes.is_empty() { b"null" } else { &bytes };
            return serde_json::from_slice(bytes)
                .map_err(|err| failure(Some(status.as_u16()), "unexpected_body", err.to_string()));
        }
        let (code, message) = match serde_json::from_slice::<ErrorEnvelope>(&bytes) {
            Ok(envelope) => (envelope.error.code, envelope.error.message),
            Err(_) => (
                status_code_name(status),
                String::from_utf8_lossy(&bytes).chars().take(200).collect(),
            ),
        };
        Err(ApiError {
            retry_after,
            ..failure(Some(status.as_u16()), &code, message)
        })
    }

    pub async fn register(
        &self,
        username: &str,
        email: &str,
        password: &str,
    ) -> Result<Session, ApiError> {
        let body = serde_json::json!({"username": username, "email": email, "password": password});
        self.call(Method::POST, "/api/auth/register", None, Some(&body))
            .await
    }

    pub async fn login(&self, login: &str, password: &str) -> Result<Session, ApiError> {
        let body = serde_json::json!({"login": login, "password": password});
        self.call(Method::POST, "/api/auth/login", None, Some(&body))
            .await
    }

    pub async fn refresh(&self, refresh_token: &str) -> Result<Session, ApiError> {
        let body = serde_json::json!({"refresh_token": refresh_token});
        self.call(Method::POST, "/api/auth/refresh", None, Some(&body))
            .await
    }

    /// The caller's account (checks that a cached token's user still exists).
    pub async fn me(&self, token: &str) -> Result<UserId, ApiError> {
        let me: SessionUser = self
            .call(Method::GET, "/api/auth/me", Some(token), None)
            .await?;
        Ok(me.id)
    }

    /// A new room owned by the caller.
    pub async fn create_room(
        &self,
        token: &str,
        name: &str,
        kind: &str,
    ) -> Result<RoomId, ApiError> {
        let body = serde_json::json!({"name": name, "kind": kind});
        let room: Created = self
            .call(Method::POST, "/api/rooms", Some(token), Some(&body))
            .await?;
        Ok(room.id)
    }

    /// Joins a public room (joining again succeeds).
    pub async fn join_room(&self, token: &str, room: RoomId) -> Result<(), ApiError> {
        let _: serde::de::IgnoredAny = self
            .call(
                Method::POST,
                &format!("/api/rooms/{room}/join"),
                Some(token),
                None,
            )
            .await?;
        Ok(())
    }

    /// Makes `user` a member of the caller's room.
    pub async fn invite(&self, token: &str, room: RoomId, user: UserId) -> Result<(), ApiError> {
        let body = serde_json::json!({"user_id": user});
        let _: serde::de::IgnoredAny = self
            .call(
                Method::POST,
                &format!("/api/rooms/{room}/invites"),
                Some(token),
                Some(&body),
            )
            .await?;
        Ok(())
    }

    /// The direct room of the caller and `user` (found or created).
    pub async fn open_direct(&self, token: &str, user: UserId) -> Result<RoomId, ApiError> {
        let body = serde_json::json!({"user_id": user});
        let room: Created = self
            .call(Method::POST, "/api/dms", Some(token), Some(&body))
            .await?;
        Ok(room.id)
    }

    pub async fn delete_room(&self, token: &str, room: RoomId) -> Result<(), ApiError> {
        let _: serde::de::IgnoredAny = self
            .call(
                Method::DELETE,
                &format!("/api/rooms/{room}"),
                Some(token),
                None,
            )
            .await?;
        Ok(())
    }
}

fn status_code_name(status: StatusCode) -> String {
    status
        .canonical_reason()
        .unwrap_or("error")
        .to_lowercase()
        .replace(' ', "_")
}
