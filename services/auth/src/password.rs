//! Password hashing with Argon2id at the OWASP parameters (19 MiB, 2 passes, 1 lane).
//!
//! Hashing takes tens of milliseconds of CPU and 19 MiB of memory, so it runs on the
//! blocking thread pool, never on the async workers, and at most `concurrency` at once:
//! a login storm queues instead of exhausting memory. Logins for unknown accounts are
//! verified against a dummy hash made at startup, so they cost the same time as real ones
//! and do not reveal which accounts exist.

use std::sync::Arc;

use anyhow::Context as _;
use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use secrecy::{ExposeSecret, SecretString};
use tokio::sync::Semaphore;

use crate::error::Error;

/// Memory cost in KiB (OWASP: 19 MiB).
pub const MEMORY_KIB: u32 = 19 * 1024;
/// Number of passes (OWASP: 2).
pub const ITERATIONS: u32 = 2;
/// Degree of parallelism (OWASP: 1).
pub const PARALLELISM: u32 = 1;

/// What checking a password found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verification {
    Mismatch,
    /// The password is right; `needs_rehash` when the stored hash used other parameters
    /// than today's, so the caller should store a fresh hash.
    Match {
        needs_rehash: bool,
    },
}

/// Hashes and verifies passwords off the async threads.
#[derive(Clone)]
pub struct Passwords {
    argon2: Argon2<'static>,
    permits: Arc<Semaphore>,
    dummy_hash: Arc<str>,
}

impl Passwords {
    /// Sets up the hasher and computes the dummy hash used for unknown accounts.
    /// `concurrency` 0 means one hash per CPU core.
    pub async fn new(concurrency: usize) -> anyhow::Result<Self> {
        let concurrency = if concurrency == 0 {
            std::thread::available_parallelism().map_or(2, usize::from)
        } else {
            concurrency
        };
        let params = Params::new(MEMORY_KIB, ITERATIONS, PARALLELISM, None)
            .map_err(|err| anyhow::anyhow!("argon2 parameters: {err}"))?;
        let mut passwords = Self {
            argon2: Argon2::new(Algorithm::Argon2id, Version::V0x13, params),
            permits: Arc::new(Semaphore::new(concurrency)),
            dummy_hash: Arc::from(""),
        };
        let dummy_password = SecretString::from(uuid::Uuid::new_v4().to_string());
        passwords.dummy_hash = passwords
            .hash(dummy_password)
            .await
            .context("computing the dummy password hash")?
            .into();
        Ok(passwords)
    }

    /// A PHC string (`$argon2id$v=19$m=19456,t=2,p=1$salt$hash`) with a fresh random salt.
    pub async fn hash(&self, password: SecretString) -> Result<String, Error> {
        let argon2 = self.argon2.clone();
        self.run(move || {
            let salt = SaltString::generate(&mut OsRng);
            argon2
                .hash_password(password.expose_secret().as_bytes(), &salt)
                .map(|hash| hash.to_string())
                .map_err(|err| Error::Internal(anyhow::anyhow!("hashing a password: {err}")))
        })
        .await
    }

    /// Checks `password` against `stored`, or against the dummy hash when there is no
    /// account (then the answer is always a mismatch, after the same work).
    pub async fn verify(
        &self,
        password: SecretString,
        stored: Option<String>,
    ) -> Result<Verification, Error> {
        let known = stored.is_some();
        let stored = stored.unwrap_or_else(|| self.dummy_hash.to_string());
        let argon2 = self.argon2.clone();
        let verification = self
            .run(move || {
                let parsed = PasswordHash::new(&stored).map_err(|err| {
                    Error::Internal(anyhow::anyhow!("stored password hash is malformed: {err}"))
                })?;
                match argon2.verify_password(password.expose_secret().as_bytes(), &parsed) {
                    Ok(()) => Ok(Verification::Match {
                        needs_rehash: !uses_current_parameters(&parsed),
                    }),
                    Err(argon2::password_hash::Error::Password) => Ok(Verification::Mismatch),
                    Err(err) => Err(Error::Internal(anyhow::anyhow!(
                        "verifying a password: {err}"
                    ))),
                }
            })
            .await?;
        Ok(if known {
            verification
        } else {
            Verification::Mismatch
        })
    }

    async fn run<T, F>(&self, work: F) -> Result<T, Error>
    where
        T: Send + 'static,
        F: FnOnce() -> Result<T, Error> + Send + 'static,
    {
        let _permit = self
            .permits
            .acquire()
            .await
            .map_err(|err| Error::Internal(err.into()))?;
        tokio::task::spawn_blocking(work)
            .await
            .map_err(|err| Error::Internal(anyhow::anyhow!("password hashing task: {err}")))?
    }
}

fn uses_current_parameters(hash: &PasswordHash<'_>) -> bool {
    let Ok(params) = Params::try_from(hash) else {
        return false;
    };
    hash.algorithm == Algorithm::Argon2id.ident()
        && hash.version == Some(Version::V0x13.into())
        && params.m_cost() == MEMORY_KIB
        && params.t_cost() == ITERATIONS
        && params.p_cost() == PARALLELISM
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secret(value: &str) -> SecretString {
        SecretString::from(value.to_owned())
    }

    #[tokio::test]
    async fn a_hash_verifies_only_its_password() {
        let passwords = Passwords::new(1).await.unwrap();
        let hash = passwords.hash(secret("correct horse")).await.unwrap();
        assert!(hash.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"));

        let right = passwords
            .verify(secret("correct horse"), Some(hash.clone()))
            .await
            .unwrap();
        assert_eq!(
            right,
            Verification::Match {
                needs_rehash: false
            }
        );
        let wrong = passwords
            .verify(secret("battery staple"), Some(hash))
            .await
            .unwrap();
        assert_eq!(wrong, Verification::Mismatch);
    }

    #[tokio::test]
    async fn unknown_accounts_never_match() {
        let passwords = Passwords::new(1).await.unwrap();
        let outcome = passwords.verify(secret("anything"), None).await.unwrap();
        assert_eq!(outcome, Verification::Mismatch);
    }

    #[tokio::test]
    async fn weaker_hashes_ask_for_a_rehash() {
        let passwords = Passwords::new(1).await.unwrap();
        let weak = Argon2::new(
            Algorithm::Argon2id,
            Version::V0x13,
            Params::new(8 * 1024, 1, 1, None).unwrap(),
        )
        .hash_password(b"correct horse", &SaltString::generate(&mut OsRng))
        .unwrap()
        .to_string();
        let outcome = passwords
            .verify(secret("correct horse"), Some(weak))
            .await
            .unwrap();
        assert_eq!(outcome, Verification::Match { needs_rehash: true });
    }
}
