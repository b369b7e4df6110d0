//! Access tokens: EdDSA (Ed25519) JWTs carrying [`AccessClaims`], signed with one private
//! key and verified by gateways with the public keys this service publishes.
//!
//! A key's id (`kid`) is the first 16 hex characters of the SHA-256 of its raw 32-byte
//! public key, so every replica given the same key derives the same id. Rotation: deploy
//! the new private key and list the old public key (`openssl pkey -in old.pem -pubout`)
//! in the previous-keys file until the last token it signed has expired (the access-token
//! lifetime); verifiers fetch the new key set when they meet an unknown `kid`.

use std::fmt::Write as _;
use std::time::Duration;

use anyhow::Context as _;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chat_proto::v1::{Jwk, SigningKeys};
use chat_runtime::token::{ALGORITHM, AccessClaims};
use ed25519_dalek::pkcs8::spki::der::pem::LineEnding;
use ed25519_dalek::pkcs8::{DecodePrivateKey, DecodePublicKey, EncodePrivateKey, EncodePublicKey};
use ed25519_dalek::{SigningKey, VerifyingKey};
use jsonwebtoken::{EncodingKey, Header};
use secrecy::ExposeSecret;
use sha2::{Digest, Sha256};
use uuid::Uuid;

use crate::config::SigningConfig;
use crate::error::Error;

/// A signed access token and what it says.
#[derive(Debug, Clone)]
pub struct AccessToken {
    pub token: String,
    pub claims: AccessClaims,
    /// Seconds from issue to expiry.
    pub expires_in: i64,
}

/// Signs access tokens and knows the public keys that verify them.
#[derive(Clone)]
pub struct TokenSigner {
    encoding_key: EncodingKey,
    kid: String,
    issuer: String,
    audience: String,
    ttl_secs: i64,
    published: SigningKeys,
}

impl std::fmt::Debug for TokenSigner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenSigner")
            .field("kid", &self.kid)
            .field("issuer", &self.issuer)
            .field("audience", &self.audience)
            .field("ttl_secs", &self.ttl_secs)
            .finish_non_exhaustive()
    }
}

impl TokenSigner {
    /// Loads the signing key (and previous public keys) named by the configuration.
    pub fn from_config(config: &SigningConfig, access_ttl: Duration) -> anyhow::Result<Self> {
        let private_pem = match (&config.signing_key_file, &config.signing_key) {
            (Some(path), _) => std::fs::read_to_string(path)
                .with_context(|| format!("reading the signing key {}", path.display()))?
                .into(),
            (None, Some(pem)) => pem.clone(),
            (None, None) => anyhow::bail!(
                "no signing key: set --signing-key-file (AUTH_SIGNING_KEY_FILE) or --signing-key \
                 (AUTH_SIGNING_KEY); `chat-auth keygen` makes one"
            ),
        };
        let previous = match &config.previous_public_keys_file {
            Some(path) => std::fs::read_to_string(path)
                .with_context(|| format!("reading previous public keys {}", path.display()))?,
            None => String::new(),
        };
        Self::new(
            private_pem.expose_secret(),
            &previous,
            &config.issuer,
            &config.audience,
            access_ttl,
        )
    }

    /// `private_pem`: the PKCS#8 PEM Ed25519 signing key. `previous_public_pem`: zero or
    /// more SPKI PEM public keys still published for verification.
    pub fn new(
        private_pem: &str,
        previous_public_pem: &str,
        issuer: &str,
        audience: &str,
        access_ttl: Duration,
    ) -> anyhow::Result<Self> {
        let signing_key = SigningKey::from_pkcs8_pem(private_pem.trim()).map_err(|err| {
            anyhow::anyhow!("the signing key is not a PKCS#8 PEM Ed25519 key: {err}")
        })?;
        // Re-encoded from the parsed key, so what signs is exactly what is published.
        let der = signing_key
            .to_pkcs8_der()
            .map_err(|err| anyhow::anyhow!("encoding the signing key: {err}"))?;
        let encoding_key = EncodingKey::from_ed_der(der.as_bytes());
        let current = signing_key.verifying_key();
        let kid = key_id(&current);

        let mut keys = vec![jwk(&current)];
        for previous in parse_public_keys(previous_public_pem)? {
            let previous = jwk(&previous);
            if keys.iter().all(|key| key.kid != previous.kid) {
                keys.push(previous);
            }
        }
        let ttl_secs = i64::try_from(access_ttl.as_secs())
            .context("access-token lifetime is too long")?
            .max(1);
        Ok(Self {
            encoding_key,
            kid,
            issuer: issuer.to_owned(),
            audience: audience.to_owned(),
            ttl_secs,
            published: SigningKeys {
                keys,
                issuer: issuer.to_owned(),
                audience: audience.to_owned(),
            },
        })
    }

    /// The id of the key that signs new tokens.
    pub fn kid(&self) -> &str {
        &self.kid
    }

    /// The public keys and claims verifiers must check (served by `GetSigningKeys`).
    pub fn signing_keys(&self) -> SigningKeys {
        self.published.clone()
    }

    /// A token for `user_id` in session `session_id`, valid from now.
    pub fn issue(&self, user_id: Uuid, session_id: Uuid) -> Result<AccessToken, Error> {
        let now = time::OffsetDateTime::now_utc().unix_timestamp();
        self.issue_at(user_id, session_id, now)
    }

    /// A token as if issued at `issued_at` (Unix seconds); tests use a past time to get an
    /// expired token.
    pub fn issue_at(
        &self,
        user_id: Uuid,
        session_id: Uuid,
        issued_at: i64,
    ) -> Result<AccessToken, Error> {
        let claims = AccessClaims {
            iss: self.issuer.clone(),
            aud: self.audience.clone(),
            sub: user_id.to_string(),
            sid: session_id.to_string(),
            jti: Uuid::new_v4().to_string(),
            iat: issued_at,
            exp: issued_at + self.ttl_secs,
        };
        let mut header = Header::new(ALGORITHM);
        header.kid = Some(self.kid.clone());
        let token = jsonwebtoken::encode(&header, &claims, &self.encoding_key)
            .map_err(|err| Error::Internal(anyhow::anyhow!("signing an access token: {err}")))?;
        Ok(AccessToken {
            token,
            claims,
            expires_in: self.ttl_secs,
        })
    }
}

/// A new random Ed25519 signing key as PKCS#8 PEM.
pub fn generate_signing_key_pem() -> String {
    let key = SigningKey::generate(&mut rand::rngs::OsRng);
    key.to_pkcs8_pem(LineEnding::LF)
        .expect("an Ed25519 key always encodes as PKCS#8")
        .to_string()
}

/// The SPKI PEM public key of a PKCS#8 PEM signing key, for the previous-keys file.
pub fn public_key_pem(private_pem: &str) -> anyhow::Result<String> {
    let key = SigningKey::from_pkcs8_pem(private_pem.trim())
        .map_err(|err| anyhow::anyhow!("not a PKCS#8 PEM Ed25519 key: {err}"))?;
    key.verifying_key()
        .to_public_key_pem(LineEnding::LF)
        .map_err(|err| anyhow::anyhow!("encoding a public key: {err}"))
}

/// The `kid` of a public key: the first 16 hex characters of SHA-256 of its raw bytes.
pub fn key_id(key: &VerifyingKey) -> String {
    let digest = Sha256::digest(key.as_bytes());
    digest[..8]
        .iter()
        .fold(String::with_capacity(16), |mut out, byte| {
            let _ = write!(out, "{byte:02x}");
            out
        })
}

/// The JWK (RFC 8037, OKP/Ed25519) of a public key.
pub fn jwk(key: &VerifyingKey) -> Jwk {
    Jwk {
        kid: key_id(key),
        kty: "OKP".into(),
        alg: "EdDSA".into(),
        crv: "Ed25519".into(),
        x: URL_SAFE_NO_PAD.encode(key.as_bytes()),
        y: String::new(),
        r#use: "sig".into(),
    }
}

/// Every `PUBLIC KEY` block of a PEM file; blank input holds none.
fn parse_public_keys(pem: &str) -> anyhow::Result<Vec<VerifyingKey>> {
    const END: &str = "-----END PUBLIC KEY-----";
    pem.split_inclusive(END)
        .map(str::trim)
        .filter(|block| !block.is_empty())
        .map(|block| {
            VerifyingKey::from_public_key_pem(block).map_err(|err| {
                anyhow::anyhow!("a previous public key is not an Ed25519 SPKI PEM key: {err}")
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use chat_runtime::token::{KeySource, TokenError, TokenVerifier};
    use futures::future::BoxFuture;

    use super::*;

    const TTL: Duration = Duration::from_secs(900);

    fn signer(private_pem: &str, previous: &str) -> TokenSigner {
        TokenSigner::new(private_pem, previous, "chat-auth", "chat", TTL).unwrap()
    }

    struct Published(SigningKeys);

    impl KeySource for Published {
        fn fetch(&self) -> BoxFuture<'_, anyhow::Result<SigningKeys>> {
            let keys = self.0.clone();
            Box::pin(async move { Ok(keys) })
        }
    }

    fn verifier(signer: &TokenSigner) -> TokenVerifier {
        TokenVerifier::new(Published(signer.signing_keys()), Duration::ZERO)
    }

    #[test]
    fn claims_say_who_which_session_and_until_when() {
        let signer = signer(&generate_signing_key_pem(), "");
        let (user, session) = (Uuid::new_v4(), Uuid::new_v4());
        let issued = signer.issue_at(user, session, 1_700_000_000).unwrap();

        assert_eq!(issued.claims.iss, "chat-auth");
        assert_eq!(issued.claims.aud, "chat");
        assert_eq!(issued.claims.sub, user.to_string());
        assert_eq!(issued.claims.sid, session.to_string());
        assert_eq!(issued.claims.iat, 1_700_000_000);
        assert_eq!(issued.claims.exp, 1_700_000_900);
        assert_eq!(issued.expires_in, 900);
        assert!(Uuid::parse_str(&issued.claims.jti).is_ok());

        let header = jsonwebtoken::decode_header(&issued.token).unwrap();
        assert_eq!(header.alg, ALGORITHM);
        assert_eq!(header.kid.as_deref(), Some(signer.kid()));
    }

    #[test]
    fn every_token_has_its_own_id() {
        let signer = signer(&generate_signing_key_pem(), "");
        let (user, session) = (Uuid::new_v4(), Uuid::new_v4());
        let first = signer.issue(user, session).unwrap();
        let second = signer.issue(user, session).unwrap();
        assert_ne!(first.claims.jti, second.claims.jti);
    }

    #[test]
    fn the_key_id_is_derived_from_the_public_key() {
        let pem = generate_signing_key_pem();
        let key = SigningKey::from_pkcs8_pem(&pem).unwrap().verifying_key();
        let expected: String = Sha256::digest(key.as_bytes())
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect::<String>()[..16]
            .to_owned();
        assert_eq!(key_id(&key), expected);
        assert_eq!(signer(&pem, "").kid(), expected);
        // Another replica with the same key agrees.
        assert_eq!(signer(&pem, "").kid(), signer(&pem, "").kid());
    }

    #[test]
    fn published_keys_are_ed25519_jwks() {
        let pem = generate_signing_key_pem();
        let key = SigningKey::from_pkcs8_pem(&pem).unwrap().verifying_key();
        let published = signer(&pem, "").signing_keys();
        assert_eq!(published.issuer, "chat-auth");
        assert_eq!(published.audience, "chat");
        let [jwk] = published.keys.as_slice() else {
            panic!("expected one key");
        };
        assert_eq!(
            (
                jwk.kty.as_str(),
                jwk.crv.as_str(),
                jwk.alg.as_str(),
                jwk.r#use.as_str()
            ),
            ("OKP", "Ed25519", "EdDSA", "sig")
        );
        assert_eq!(URL_SAFE_NO_PAD.decode(&jwk.x).unwrap(), key.as_bytes());
    }

    #[tokio::test]
    async fn the_verifier_accepts_an_issued_token() {
        let signer = signer(&generate_signing_key_pem(), "");
        let issued = signer.issue(Uuid::new_v4(), Uuid::new_v4()).unwrap();
        let claims = verifier(&signer).verify(&issued.token).await.unwrap();
        assert_eq!(claims, issued.claims);
    }

    #[tokio::test]
    async fn the_verifier_refuses_an_expired_token() {
        let signer = signer(&generate_signing_key_pem(), "");
        let an_hour_ago = time::OffsetDateTime::now_utc().unix_timestamp() - 3600;
        let issued = signer
            .issue_at(Uuid::new_v4(), Uuid::new_v4(), an_hour_ago)
            .unwrap();
        let refused = verifier(&signer).verify(&issued.token).await;
        assert_eq!(refused, Err(TokenError::Expired));
    }

    #[tokio::test]
    async fn the_verifier_refuses_a_token_of_an_unpublished_key() {
        let published = signer(&generate_signing_key_pem(), "");
        let stranger = signer(&generate_signing_key_pem(), "");
        let issued = stranger.issue(Uuid::new_v4(), Uuid::new_v4()).unwrap();
        let refused = verifier(&published).verify(&issued.token).await;
        assert_eq!(refused, Err(TokenError::Invalid));
    }

    #[tokio::test]
    async fn tokens_of_a_previous_key_verify_after_rotation() {
        let old_pem = generate_signing_key_pem();
        let old = signer(&old_pem, "");
        let issued_before = old.issue(Uuid::new_v4(), Uuid::new_v4()).unwrap();

        let previous = format!(
            "{}\n{}",
            public_key_pem(&old_pem).unwrap(),
            public_key_pem(&generate_signing_key_pem()).unwrap()
        );
        let new = signer(&generate_signing_key_pem(), &previous);
        assert_eq!(new.signing_keys().keys.len(), 3);
        assert_eq!(new.signing_keys().keys[0].kid, new.kid());

        let verifier = verifier(&new);
        assert!(verifier.verify(&issued_before.token).await.is_ok());
        let issued_after = new.issue(Uuid::new_v4(), Uuid::new_v4()).unwrap();
        assert!(verifier.verify(&issued_after.token).await.is_ok());
    }

    #[test]
    fn a_malformed_key_is_refused() {
        let err = TokenSigner::new("not a key", "", "i", "a", TTL).unwrap_err();
        assert!(err.to_string().contains("PKCS#8"));
        let err = TokenSigner::new(&generate_signing_key_pem(), "garbage", "i", "a", TTL);
        assert!(err.is_err());
    }
}
