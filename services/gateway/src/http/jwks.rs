//! `/.well-known/jwks.json`: the public keys that verify access tokens (RFC 7517), so
//! other parties can verify them too. Served from the gateway's key cache, which refetches
//! from auth when a token names a key it has not seen.

use axum::extract::State;
use axum::response::IntoResponse;
use chat_proto::v1::Jwk;
use http::header;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use chat_protocol::ErrorBody;
use chat_protocol::keys::{JsonWebKey, JwkSet};

use super::extract::Json;
use crate::client_error::ClientError;
use crate::state::AppState;

/// A key auth published, as RFC 7517 writes it.
fn json_web_key(jwk: Jwk) -> JsonWebKey {
    JsonWebKey {
        kid: jwk.kid,
        kty: jwk.kty,
        alg: jwk.alg,
        crv: jwk.crv,
        x: jwk.x,
        y: (!jwk.y.is_empty()).then_some(jwk.y),
        key_use: if jwk.r#use.is_empty() {
            "sig".to_owned()
        } else {
            jwk.r#use
        },
    }
}

/// How long clients and caches may keep the document.
const CACHE_CONTROL: &str = "public, max-age=300";

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(jwks))
}

/// The public keys that verify access tokens.
#[utoipa::path(
    get,
    path = "/.well-known/jwks.json",
    tag = "keys",
    responses(
        (status = 200, description = "The key set", body = JwkSet),
        (status = 503, description = "`unavailable`: keys cannot be fetched", body = ErrorBody),
    )
)]
async fn jwks(State(state): State<AppState>) -> Result<impl IntoResponse, ClientError> {
    let published = state.verifier.published_keys().await?;
    let keys = published.keys.into_iter().map(json_web_key).collect();
    Ok((
        [(header::CACHE_CONTROL, CACHE_CONTROL)],
        Json(JwkSet { keys }),
    ))
}
