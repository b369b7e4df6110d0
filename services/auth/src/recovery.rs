//! Getting back into an account, and proving an address: a password reset by a mailed
//! single-use link (which ends every session of the account), and the verification of an
//! account's email by a mailed link, also when the email changes (with the password).
//!
//! Asking for a reset answers the same, at once, whether or not the login names an
//! account: the lookup, the token and the mail all happen after the answer, so neither the
//! answer nor its timing tells who has an account here. Asking and resetting count against
//! the address's attempts, like logins.

use secrecy::{ExposeSecret, SecretString};
use sqlx::PgPool;
use uuid::Uuid;

use crate::account_tokens::{self, Purpose};
use crate::config::RecoveryConfig;
use crate::error::Error;
use crate::login_limit::{Account, LoginLimits};
use crate::mail::{Mail, Mailer};
use crate::password::{Passwords, Verification};
use crate::sessions::{self, Device};
use crate::users::{self, User};
use crate::validation::{self, Violations};

/// Password resets and email verification. Cheap to clone.
#[derive(Clone)]
pub struct Recovery {
    pool: PgPool,
    passwords: Passwords,
    limits: LoginLimits,
    mailer: Mailer,
    config: RecoveryConfig,
}

impl Recovery {
    pub fn new(
        pool: PgPool,
        passwords: Passwords,
        limits: LoginLimits,
        mailer: Mailer,
        config: RecoveryConfig,
    ) -> Self {
        Self {
            pool,
            passwords,
            limits,
            mailer,
            config,
        }
    }

    /// Mails a reset link to the account `login` names, if any, after answering.
    #[tracing::instrument(skip_all)]
    pub async fn forgot(&self, login: &str, device: &Device) -> Result<(), Error> {
        let login = login.trim().to_lowercase();
        if login.is_empty() || login.chars().count() > validation::LOGIN_MAX {
            return Err(Error::invalid_field(
                "login",
                format!("must be 1 to {} characters long", validation::LOGIN_MAX),
            ));
        }
        self.limits.check_address(&device.ip_address).await?;
        let recovery = self.clone();
        tokio::spawn(async move {
            if let Err(err) = recovery.mail_reset_link(&login).await {
                tracing::warn!(error = %err, "cannot prepare a password reset");
            }
        });
        Ok(())
    }

    async fn mail_reset_link(&self, login: &str) -> Result<(), Error> {
        let Some(account) = users::find_credentials(&self.pool, login).await? else {
            tracing::info!("a password reset for no account");
            return Ok(());
        };
        let user = account.user;
        let mut tx = self.pool.begin().await?;
        let token = account_tokens::issue(
            &mut tx,
            user.id,
            &user.email,
            Purpose::PasswordReset,
            self.config.reset_ttl,
        )
        .await?;
        tx.commit().await?;
        let minutes = self.config.reset_ttl.as_secs().div_ceil(60);
        self.mailer.send_later(Mail {
            kind: "password_reset",
            to: user.email.clone(),
            subject: "Reset your password".to_owned(),
            body: format!(
                "Hello {name},\n\n\
                 Someone, hopefully you, asked to reset the password of your chat account \
                 ({username}).\n\n\
                 Open this link within {minutes} minutes to choose a new one:\n\n\
                 {link}\n\n\
                 The link works once. Choosing a new password signs you out everywhere.\n\
                 If you did not ask, ignore this mail: your password stays as it is.\n",
                name = user.display_name.as_deref().unwrap_or(&user.username),
                username = user.username,
                link = self.link("reset-password", &token),
            ),
        });
        Ok(())
    }

    /// Sets the password of the account a reset token names, uses the token, and revokes
    /// every session of the account; answers whose account it is.
    #[tracing::instrument(skip_all)]
    pub async fn reset(
        &self,
        token: &str,
        password: String,
        device: &Device,
    ) -> Result<Uuid, Error> {
        let mut violations = Violations::new();
        if token.is_empty() {
            violations.check::<()>("token", Err("must not be empty".to_owned()));
        }
        violations.check("password", validation::password(&password));
        violations.finish()?;
        self.limits.check_address(&device.ip_address).await?;
        let password_hash = self.passwords.hash(SecretString::from(password)).await?;
        let mut tx = self.pool.begin().await?;
        let claimed = account_tokens::claim(&mut tx, token, Purpose::PasswordReset).await?;
        // The link came by mail: whoever opened it holds the address it went to.
        sqlx::query(
            "UPDATE users SET password_hash = $2, updated_at = now(),
                    email_verified_at = CASE WHEN lower(email) = lower($3)
                                             THEN coalesce(email_verified_at, now())
                                             ELSE email_verified_at END
              WHERE id = $1",
        )
        .bind(claimed.user_id)
        .bind(&password_hash)
        .bind(&claimed.email)
        .execute(&mut *tx)
        .await?;
        sessions::revoke_all(&mut tx, claimed.user_id, "password_reset").await?;
        tx.commit().await?;
        metrics::counter!("auth_password_resets_total").increment(1);
        tracing::info!(user_id = %claimed.user_id, "password reset; every session revoked");
        Ok(claimed.user_id)
    }

    /// Marks the address a verification token was mailed to verified, if it is still the
    /// account's.
    #[tracing::instrument(skip_all)]
    pub async fn verify_email(&self, token: &str) -> Result<(Uuid, String), Error> {
        let mut tx = self.pool.begin().await?;
        let claimed = account_tokens::claim(&mut tx, token, Purpose::EmailVerification).await?;
        let verified = sqlx::query(
            "UPDATE users SET email_verified_at = coalesce(email_verified_at, now())
              WHERE id = $1 AND lower(email) = lower($2)",
        )
        .bind(claimed.user_id)
        .bind(&claimed.email)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if verified == 0 {
            // The account's email changed since: this link verifies nothing now.
            return Err(Error::InvalidAccountToken);
        }
        tx.commit().await?;
        Ok((claimed.user_id, claimed.email))
    }

    /// Changes the email of `user_id` after checking `password` (a wrong one counts as a
    /// failed sign-in of the account from `device`): the new address must be confirmed by
    /// the link mailed to it, and the old one is told, so a stolen session cannot quietly
    /// take the account's recovery address. The same address again changes nothing.
    #[tracing::instrument(skip_all, fields(%user_id))]
    pub async fn change_email(
        &self,
        user_id: Uuid,
        email: &str,
        password: SecretString,
        device: &Device,
    ) -> Result<User, Error> {
        let mut violations = Violations::new();
        violations.check("email", validation::email(email));
        if password.expose_secret().is_empty()
            || password.expose_secret().chars().count() > validation::PASSWORD_MAX
        {
            violations.check::<()>("password", Err("must be your current password".to_owned()));
        }
        violations.finish()?;
        let account = Account::User(user_id);
        self.limits
            .check_account(account, &device.ip_address)
            .await?;
        let current = users::credentials_of(&self.pool, user_id).await?;
        let verification = self
            .passwords
            .verify(password, Some(current.password_hash))
            .await?;
        if !matches!(verification, Verification::Match { .. }) {
            return Err(Error::InvalidCredentials);
        }
        self.limits
            .clear_account(account, &device.ip_address)
            .await?;
        let old = current.user;
        if old.email.eq_ignore_ascii_case(email) {
            return Ok(old);
        }
        let user = users::set_email(&self.pool, user_id, email).await?;
        tracing::info!("email changed");
        self.send_verification(&user);
        self.mailer.send_later(Mail {
            kind: "email_changed",
            to: old.email.clone(),
            subject: "Your email address was changed".to_owned(),
            body: format!(
                "Hello {name},\n\n\
                 The email address of your chat account ({username}) was changed from \
                 {old} to {new}.\n\n\
                 If you did not do this, reset your password now from the sign-in page \
                 ({public}) and sign out everywhere.\n",
                name = user.display_name.as_deref().unwrap_or(&user.username),
                username = user.username,
                old = old.email,
                new = user.email,
                public = self.config.public_url.trim_end_matches('/'),
            ),
        });
        Ok(user)
    }

    /// Mails `user` a link that verifies their email, after answering.
    pub fn send_verification(&self, user: &User) {
        let recovery = self.clone();
        let user = user.clone();
        tokio::spawn(async move {
            if let Err(err) = recovery.mail_verification_link(&user).await {
                tracing::warn!(error = %err, "cannot prepare an email verification");
            }
        });
    }

    async fn mail_verification_link(&self, user: &User) -> Result<(), Error> {
        let mut tx = self.pool.begin().await?;
        let token = account_tokens::issue(
            &mut tx,
            user.id,
            &user.email,
            Purpose::EmailVerification,
            self.config.verification_ttl,
        )
        .await?;
        tx.commit().await?;
        self.mailer.send_later(Mail {
            kind: "email_verification",
            to: user.email.clone(),
            subject: "Confirm your email address".to_owned(),
            body: format!(
                "Hello {name},\n\n\
                 Open this link to confirm that {email} is the address of your chat \
                 account ({username}):\n\n\
                 {link}\n\n\
                 It is how you get back into your account if you forget your password.\n\
                 If you did not create this account, ignore this mail.\n",
                name = user.display_name.as_deref().unwrap_or(&user.username),
                email = user.email,
                username = user.username,
                link = self.link("verify-email", &token),
            ),
        });
        Ok(())
    }

    /// The web client's page for `action` with `token`.
    fn link(&self, action: &str, token: &str) -> String {
        format!(
            "{}/#/{action}/{token}",
            self.config.public_url.trim_end_matches('/')
        )
    }
}

/// The token of the first link to the web client's `action` page in `text` (a mail):
/// what a person's click on the link hands the web client.
pub fn token_in_link<'a>(text: &'a str, action: &str) -> Option<&'a str> {
    let marker = format!("/#/{action}/");
    let rest = &text[text.find(&marker)? + marker.len()..];
    let end = rest
        .find(|c: char| !(c.is_ascii_alphanumeric() || c == '-' || c == '_'))
        .unwrap_or(rest.len());
    Some(&rest[..end])
}
