//! Who is calling: the access token of a request (`Authorization: Bearer`) or of a
//! socket's upgrade, verified locally with auth's published keys. Shared by both edges.

use axum::extract::{FromRef, FromRequestParts};
use chat_runtime::token::{AccessClaims, TokenVerifier};
use http::request::Parts;
use http::{HeaderMap, header};

use crate::client_error::ClientError;

/// The caller, proven by a valid access token in `Authorization: Bearer`. Verified
/// locally against auth's published keys; auth is not called per request.
#[derive(Debug, Clone)]
pub struct AuthenticatedUser {
    /// The user id (`sub`).
    pub user_id: String,
    /// The refresh session the token belongs to (`sid`); logout revokes it.
    pub session_id: String,
    pub claims: AccessClaims,
}

impl AuthenticatedUser {
    /// Verifies a token from anywhere (header here; later a WebSocket `auth` frame).
    pub async fn from_token(verifier: &TokenVerifier, token: &str) -> Result<Self, ClientError> {
        let claims = verifier.verify(token).await?;
        tracing::Span::current().record("enduser.id", claims.sub.as_str());
        Ok(Self {
            user_id: claims.sub.clone(),
            session_id: claims.sid.clone(),
            claims,
        })
    }
}

impl<S> FromRequestParts<S> for AuthenticatedUser
where
    TokenVerifier: FromRef<S>,
    S: Send + Sync,
{
    type Rejection = ClientError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        // Already verified on the way in (the API's rate limit did it).
        if let Some(caller) = parts.extensions.get::<AuthenticatedUser>() {
            return Ok(caller.clone());
        }
        let token = bearer_token(&parts.headers).ok_or(ClientError::missing_token())?;
        Self::from_token(&TokenVerifier::from_ref(state), token).await
    }
}

/// The token of `Authorization: Bearer <token>` (the scheme is case-insensitive).
pub fn bearer_token(headers: &HeaderMap) -> Option<&str> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.trim().split_once(' ')?;
    let token = token.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty()).then_some(token)
}

impl AuthenticatedUser {
    /// The caller's id; a token whose subject is not a user id is an invalid token.
    pub fn id(&self) -> Result<chat_protocol::UserId, ClientError> {
        self.user_id
            .parse()
            .map_err(|_| ClientError::from(chat_runtime::token::TokenError::Invalid))
    }
}
