//! How often one user may call the API: reads (`GET`) and writes (everything else) each
//! have a rate per user, shared by every gateway through Redis (sends have their own, on
//! top). A call over it is answered 429 `rate_limited` with `Retry-After` before its
//! handler runs. Calls without a valid token pass: their handler refuses them, and the
//! account routes that take no token are limited per address by auth.
//!
//! The verified caller is left in the request for [`AuthenticatedUser`]'s extractor, so
//! a token is verified once per request.

use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse as _, Response};
use chat_protocol::ErrorCode;
use http::Method;

use crate::access::{AuthenticatedUser, bearer_token};
use crate::client_error::ClientError;
use crate::state::AppState;

pub async fn limit(State(state): State<AppState>, mut request: Request, next: Next) -> Response {
    let caller = match bearer_token(request.headers()) {
        Some(token) => AuthenticatedUser::from_token(&state.verifier, token)
            .await
            .ok(),
        None => None,
    };
    if let Some(caller) = caller {
        if let Ok(user) = caller.id() {
            let limit = if matches!(*request.method(), Method::GET | Method::HEAD) {
                &state.rest_limits.reads
            } else {
                &state.rest_limits.writes
            };
            if let Err(retry_after) = limit.check(user).await {
                return ClientError::new(ErrorCode::RateLimited, "too many requests; slow down")
                    .with_retry_after(retry_after)
                    .into_response();
            }
        }
        request.extensions_mut().insert(caller);
    }
    next.run(request).await
}
