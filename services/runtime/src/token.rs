//! Access tokens: the claims auth signs, and the verifier every gateway runs locally with
//! auth's published public keys, never calling auth per request. Only the configured
//! algorithm (EdDSA) is accepted: `alg: none`, HMAC and every other algorithm are refused
//! before any key is looked at.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use chat_proto::v1::auth_service_client::AuthServiceClient;
use chat_proto::v1::{GetSigningKeysRequest, Jwk, SigningKeys};
use futures::future::BoxFuture;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde::{Deserialize, Serialize};
use tokio::sync::{Mutex, RwLock};

use crate::grpc_trace::TracedChannel;

/// The one algorithm access tokens are signed and verified with.
pub const ALGORITHM: Algorithm = Algorithm::EdDSA;

/// Claims of an access token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccessClaims {
    pub iss: String,
    pub aud: String,
    /// The user id.
    pub sub: String,
    /// The refresh session this token was issued for; logout revokes it.
    pub sid: String,
    /// Unique token id.
    pub jti: String,
    pub iat: i64,
    pub exp: i64,
}

/// Why a token was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    #[error("the access token has expired")]
    Expired,
    #[error("the access token is invalid")]
    Invalid,
    #[error("the signing keys cannot be fetched")]
    KeysUnavailable,
}

/// Where the verifier gets the current public keys.
pub trait KeySource: Send + Sync + 'static {
    fn fetch(&self) -> BoxFuture<'_, anyhow::Result<SigningKeys>>;
}

/// Fetches keys from the auth service over gRPC.
#[derive(Clone)]
pub struct AuthKeySource(pub AuthServiceClient<TracedChannel>);

impl KeySource for AuthKeySource {
    fn fetch(&self) -> BoxFuture<'_, anyhow::Result<SigningKeys>> {
        let mut client = self.0.clone();
        Box::pin(async move {
            Ok(client
                .get_signing_keys(GetSigningKeysRequest {})
                .await?
                .into_inner())
        })
    }
}

struct KeySet {
    keys: HashMap<String, DecodingKey>,
    published: SigningKeys,
    validation: Validation,
}

/// Verifies access tokens against cached public keys; an unknown `kid` triggers one
/// refetch (at most once per `min_refresh_interval`), so key rotation needs no restart.
#[derive(Clone)]
pub struct TokenVerifier {
    inner: Arc<Inner>,
}

struct Inner {
    source: Box<dyn KeySource>,
    keys: RwLock<Option<KeySet>>,
    last_fetch: Mutex<Option<Instant>>,
    min_refresh_interval: Duration,
}

impl TokenVerifier {
    pub fn new(source: impl KeySource, min_refresh_interval: Duration) -> Self {
        Self {
            inner: Arc::new(Inner {
                source: Box::new(source),
                keys: RwLock::new(None),
                last_fetch: Mutex::new(None),
                min_refresh_interval,
            }),
        }
    }

    /// Checks signature, algorithm, `iss`, `aud` and `exp`; returns the claims.
    pub async fn verify(&self, token: &str) -> Result<AccessClaims, TokenError> {
        let header = jsonwebtoken::decode_header(token).map_err(|_| TokenError::Invalid)?;
        if header.alg != ALGORITHM {
            return Err(TokenError::Invalid);
        }
        let kid = header.kid.ok_or(TokenError::Invalid)?;
        if let Some(result) = self.verify_with_cached(token, &kid).await {
            return result;
        }
        self.refresh().await?;
        self.verify_with_cached(token, &kid)
            .await
            .unwrap_or(Err(TokenError::Invalid))
    }

    /// The public keys as last fetched (fetching them first if needed), for serving
    /// `/.well-known/jwks.json`.
    pub async fn published_keys(&self) -> Result<SigningKeys, TokenError> {
        if let Some(set) = self.inner.keys.read().await.as_ref() {
            return Ok(set.published.clone());
        }
        self.refresh().await?;
        self.inner
            .keys
            .read()
            .await
            .as_ref()
            .map(|set| set.published.clone())
            .ok_or(TokenError::KeysUnavailable)
    }

    async fn verify_with_cached(
        &self,
        token: &str,
        kid: &str,
    ) -> Option<Result<AccessClaims, TokenError>> {
        let guard = self.inner.keys.read().await;
        let set = guard.as_ref()?;
        let key = set.keys.get(kid)?;
        Some(
            jsonwebtoken::decode::<AccessClaims>(token, key, &set.validation)
                .map(|data| data.claims)
                .map_err(|err| match err.kind() {
                    jsonwebtoken::errors::ErrorKind::ExpiredSignature => TokenError::Expired,
                    _ => TokenError::Invalid,
                }),
        )
    }

    async fn refresh(&self) -> Result<(), TokenError> {
        let mut last = self.inner.last_fetch.lock().await;
        let have_keys = self.inner.keys.read().await.is_some();
        if have_keys && last.is_some_and(|at| at.elapsed() < self.inner.min_refresh_interval) {
            return Ok(());
        }
        let published = self.inner.source.fetch().await.map_err(|err| {
            tracing::warn!(%err, "cannot fetch signing keys");
            TokenError::KeysUnavailable
        })?;
        *last = Some(Instant::now());
        let set = key_set(published);
        *self.inner.keys.write().await = Some(set);
        Ok(())
    }
}

fn key_set(published: SigningKeys) -> KeySet {
    let keys = published
        .keys
        .iter()
        .filter_map(|jwk| decoding_key(jwk).map(|key| (jwk.kid.clone(), key)))
        .collect();
    let mut validation = Validation::new(ALGORITHM);
    validation.set_issuer(&[published.issuer.as_str()]);
    validation.set_audience(&[published.audience.as_str()]);
    validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
    validation.leeway = 5;
    KeySet {
        keys,
        published,
        validation,
    }
}

fn decoding_key(jwk: &Jwk) -> Option<DecodingKey> {
    match (jwk.kty.as_str(), jwk.crv.as_str(), jwk.alg.as_str()) {
        ("OKP", "Ed25519", "EdDSA") => DecodingKey::from_ed_components(&jwk.x).ok(),
        _ => {
            tracing::warn!(kid = %jwk.kid, kty = %jwk.kty, "ignoring a signing key of another algorithm");
            None
        }
    }
}
