use std::time::Duration;

use chat_auth::TokenSigner;
use chat_proto::v1::GetSigningKeysRequest;
use chat_runtime::token::TokenError;
use uuid::Uuid;

use crate::helpers::{TestEnv, spawn_app};

#[tokio::test]
async fn published_keys_verify_issued_tokens() {
    let app = spawn_app().await;
    let registered = app.register("alice").await;

    let keys = app
        .client()
        .get_signing_keys(GetSigningKeysRequest {})
        .await
        .unwrap()
        .into_inner();
    let claims = app
        .verifier()
        .await
        .verify(&registered.access_token)
        .await
        .unwrap();

    assert_eq!(
        (keys.issuer.as_str(), keys.audience.as_str()),
        ("chat-auth", "chat")
    );
    let [key] = keys.keys.as_slice() else {
        panic!("expected one key: {keys:?}");
    };
    assert_eq!(
        (key.kty.as_str(), key.crv.as_str(), key.alg.as_str()),
        ("OKP", "Ed25519", "EdDSA")
    );
    let header = jsonwebtoken::decode_header(&registered.access_token).unwrap();
    assert_eq!(header.kid.as_deref(), Some(key.kid.as_str()));
    assert_eq!(claims.sub, registered.user.unwrap().id);
    assert_eq!(
        (claims.iss.as_str(), claims.aud.as_str()),
        ("chat-auth", "chat")
    );
    assert_eq!(claims.exp - claims.iat, 900);
}

#[tokio::test]
async fn issuer_audience_and_lifetime_are_configurable() {
    let env = TestEnv::new();
    let app = env
        .start(&[
            "--issuer",
            "https://auth.example",
            "--audience",
            "chat-web",
            "--access-token-ttl",
            "2m",
        ])
        .await;

    let registered = app.register("alice").await;
    let claims = app
        .verifier()
        .await
        .verify(&registered.access_token)
        .await
        .unwrap();

    assert_eq!(claims.iss, "https://auth.example");
    assert_eq!(claims.aud, "chat-web");
    assert_eq!(registered.expires_in, 120);
    assert_eq!(claims.exp - claims.iat, 120);
}

#[tokio::test]
async fn an_expired_token_is_refused() {
    let env = TestEnv::new();
    let app = env.start(&[]).await;
    // The same key the service signs with, issuing as if an hour ago.
    let signer = TokenSigner::new(
        &env.signing_key_pem,
        "",
        "chat-auth",
        "chat",
        Duration::from_secs(900),
    )
    .unwrap();
    let an_hour_ago = time::OffsetDateTime::now_utc().unix_timestamp() - 3600;
    let expired = signer
        .issue_at(Uuid::new_v4(), Uuid::new_v4(), an_hour_ago)
        .unwrap();

    let verified = app.verifier().await.verify(&expired.token).await;

    assert_eq!(verified, Err(TokenError::Expired));
}

#[tokio::test]
async fn tokens_of_the_previous_key_still_verify_after_rotation() {
    let old = TestEnv::new();
    let before = old.start(&[]).await;
    let issued_before = before.register("alice").await;
    before.stop().await;

    let previous_keys =
        std::env::temp_dir().join(format!("chat-auth-previous-{}.pem", Uuid::new_v4()));
    std::fs::write(
        &previous_keys,
        chat_auth::public_key_pem(&old.signing_key_pem).unwrap(),
    )
    .unwrap();
    let rotated = old.with_signing_key(chat_auth::generate_signing_key_pem());
    let after = rotated
        .start(&[
            "--previous-public-keys-file",
            previous_keys.to_str().unwrap(),
        ])
        .await;
    std::fs::remove_file(&previous_keys).unwrap();

    let verifier = after.verifier().await;
    let issued_after = after
        .login("alice", crate::helpers::PASSWORD, "203.0.113.1")
        .await
        .unwrap();
    assert!(verifier.verify(&issued_before.access_token).await.is_ok());
    assert!(verifier.verify(&issued_after.access_token).await.is_ok());
    let kid_after = jsonwebtoken::decode_header(&issued_after.access_token)
        .unwrap()
        .kid;
    let kid_before = jsonwebtoken::decode_header(&issued_before.access_token)
        .unwrap()
        .kid;
    assert_ne!(kid_after, kid_before);
    // Sessions outlive the rotation.
    assert!(
        after
            .client()
            .refresh(chat_proto::v1::RefreshRequest {
                refresh_token: issued_before.refresh_token,
                device: None,
            })
            .await
            .is_ok()
    );
}
