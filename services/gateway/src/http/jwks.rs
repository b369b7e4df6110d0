//! `/.well-known/jwks.json`: the public keys that verify access tokens (RFC 7517), so
//! other parties can verify them too. Served from the gateway's key cache, which refetches
//! from auth when a token names a key it has not seen.

use axum::extract::State;
use axum::response::IntoResponse;
use chat_proto::v1::Jwk;
use http::header;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use chat_protocol::ErrorBody;

use super::extract::Json;
use crate::client_error::ClientError;
use crate::state::AppState;

/// A JSON Web Key Set.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct JwkSet {
    pub keys: Vec<JsonWebKey>,
}

/// One public key (Ed25519 as OKP per RFC 8037, or P-256 as EC).
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct JsonWebKey {
    /// The `kid` header of the tokens this key verifies.
    pub kid: String,
    #[schema(example = "OKP")]
    pub kty: String,
    #[schema(example = "EdDSA")]
    pub alg: String,
    #[schema(example = "Ed25519")]
    pub crv: String,
    /// Base64url public key (the x coordinate for EC keys).
    pub x: String,
    /// EC keys only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub y: Option<String>,
    #[serde(rename = "use")]
    #[schema(example = "sig")]
    pub key_use: String,
}

impl From<Jwk> for JsonWebKey {
    fn from(jwk: Jwk) -> Self {
        Self {
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
    let keys = published.keys.into_iter().map(JsonWebKey::from).collect();
    Ok((
        [(header::CACHE_CONTROL, CACHE_CONTROL)],
        Json(JwkSet { keys }),
    ))
}
