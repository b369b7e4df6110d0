//! `/.well-known/jwks.json`: the public keys that verify access tokens (RFC 7517).

use serde::{Deserialize, Serialize};

/// A JSON Web Key Set.
#[derive(
    Debug, Clone, Serialize, Deserialize, schemars::JsonSchema, ts_rs::TS, utoipa::ToSchema,
)]
pub struct JwkSet {
    pub keys: Vec<JsonWebKey>,
}

/// One public key (Ed25519 as OKP per RFC 8037, or P-256 as EC).
#[derive(
    Debug, Clone, Serialize, Deserialize, schemars::JsonSchema, ts_rs::TS, utoipa::ToSchema,
)]
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
    #[ts(optional)]
    pub y: Option<String>,
    #[serde(rename = "use")]
    #[schema(example = "sig")]
    pub key_use: String,
}
