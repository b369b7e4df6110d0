//! Access tokens are verified locally, and only genuine, current ones are accepted.
//!
//! Tokens are crafted from a real one: same claims and `kid`, changed one way at a time,
//! and signed with auth's own key unless the test is about the signature.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::{Session, TestApp, TestUser, assert_error, json_body, spawn_app};

fn claims_of(token: &str) -> Value {
    let payload = token.split('.').nth(1).expect("a JWT has a payload");
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).unwrap()).unwrap()
}

fn kid_of(token: &str) -> String {
    jsonwebtoken::decode_header(token)
        .unwrap()
        .kid
        .expect("tokens name their key")
}

/// Signs `claims` as auth would (EdDSA, with `kid`), with the PEM key given.
fn sign_eddsa(pem: &str, kid: &str, claims: &Value) -> String {
    let mut header = Header::new(Algorithm::EdDSA);
    header.kid = Some(kid.to_owned());
    jsonwebtoken::encode(
        &header,
        claims,
        &EncodingKey::from_ed_pem(pem.as_bytes()).unwrap(),
    )
    .unwrap()
}

fn now() -> i64 {
    time::OffsetDateTime::now_utc().unix_timestamp()
}

/// A signed-up user whose token the tests take apart.
async fn signed_up(app: &TestApp) -> Session {
    app.signed_up(&TestUser::generate()).await
}

async fn assert_refused(app: &TestApp, token: &str, code: &str) {
    let response = app.get_as(token, "/api/auth/me").await;
    assert_eq!(response.headers()["www-authenticate"], "Bearer");
    assert_error(response, StatusCode::UNAUTHORIZED, code).await;
}

#[tokio::test]
async fn a_token_signed_with_auths_key_is_accepted() {
    let app = spawn_app().await;
    let session = signed_up(&app).await;
    let token = &session.access_token;

    let resigned = sign_eddsa(&app.signing_key_pem, &kid_of(token), &claims_of(token));

    let me = json_body(app.get_as(&resigned, "/api/auth/me").await, StatusCode::OK).await;
    assert_eq!(me["id"], session.user_id());
}

#[tokio::test]
async fn an_expired_token_is_refused_as_expired() {
    let app = spawn_app().await;
    let session = signed_up(&app).await;
    let token = &session.access_token;
    let mut claims = claims_of(token);
    claims["iat"] = json!(now() - 7200);
    claims["exp"] = json!(now() - 3600);

    let expired = sign_eddsa(&app.signing_key_pem, &kid_of(token), &claims);

    assert_refused(&app, &expired, "token_expired").await;
}

#[tokio::test]
async fn a_tampered_token_is_refused() {
    let app = spawn_app().await;
    let session = signed_up(&app).await;
    let other = signed_up(&app).await;
    let token = &session.access_token;
    let parts: Vec<&str> = token.split('.').collect();

    // Claims changed to another user's, signature kept.
    let mut claims = claims_of(token);
    claims["sub"] = json!(other.user_id());
    let forged_payload = URL_SAFE_NO_PAD.encode(serde_json::to_vec(&claims).unwrap());
    let forged = format!("{}.{forged_payload}.{}", parts[0], parts[2]);
    assert_refused(&app, &forged, "invalid_token").await;

    // One signature byte changed.
    let mut signature = URL_SAFE_NO_PAD.decode(parts[2]).unwrap();
    signature[10] ^= 0x01;
    let tampered = format!(
        "{}.{}.{}",
        parts[0],
        parts[1],
        URL_SAFE_NO_PAD.encode(signature)
    );
    assert_refused(&app, &tampered, "invalid_token").await;
}

#[tokio::test]
async fn tokens_with_another_algorithm_are_refused() {
    let app = spawn_app().await;
    let session = signed_up(&app).await;
    let token = &session.access_token;
    let kid = kid_of(token);
    let claims = claims_of(token);

    // HMAC keyed with the published public key: the classic algorithm confusion.
    let jwks = json_body(app.get("/.well-known/jwks.json").await, StatusCode::OK).await;
    let public_key = jwks["keys"][0]["x"].as_str().unwrap();
    let mut header = Header::new(Algorithm::HS256);
    header.kid = Some(kid.clone());
    let hmac = jsonwebtoken::encode(
        &header,
        &claims,
        &EncodingKey::from_secret(public_key.as_bytes()),
    )
    .unwrap();
    assert_refused(&app, &hmac, "invalid_token").await;

    // No signature at all.
    let unsigned_header = json!({"alg": "none", "typ": "JWT", "kid": kid});
    let unsigned = format!(
        "{}.{}.",
        URL_SAFE_NO_PAD.encode(serde_json::to_vec(&unsigned_header).unwrap()),
        URL_SAFE_NO_PAD.encode(serde_json::to_vec(&claims).unwrap()),
    );
    assert_refused(&app, &unsigned, "invalid_token").await;
}

#[tokio::test]
async fn tokens_from_another_key_or_audience_are_refused() {
    let app = spawn_app().await;
    let session = signed_up(&app).await;
    let token = &session.access_token;
    let claims = claims_of(token);

    let stranger_key = chat_auth::generate_signing_key_pem();
    let unknown_kid = sign_eddsa(&stranger_key, "someone-elses-key", &claims);
    assert_refused(&app, &unknown_kid, "invalid_token").await;
    let known_kid = sign_eddsa(&stranger_key, &kid_of(token), &claims);
    assert_refused(&app, &known_kid, "invalid_token").await;

    let mut other_audience = claims.clone();
    other_audience["aud"] = json!("some-other-service");
    let misdirected = sign_eddsa(&app.signing_key_pem, &kid_of(token), &other_audience);
    assert_refused(&app, &misdirected, "invalid_token").await;

    assert_refused(&app, "not-a-jwt", "invalid_token").await;
}
