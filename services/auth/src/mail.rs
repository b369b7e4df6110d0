//! Mail to account holders: over SMTP (`lettre`) when a server is configured, else
//! written as `.eml` files to a directory (what `make run` does, under `.run/mail/`, so a
//! developer can open the links), else not sent at all (logged).
//!
//! Sending happens off the request: a caller hands the mail over and answers at once, so
//! an answer takes as long whether or not a mail went out (no account enumeration by
//! timing), and a slow mail server never holds a request.

use lettre::message::header::{ContentTransferEncoding, ContentType};
use lettre::message::{Body, Mailbox};
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Tls, TlsParameters};
use lettre::{AsyncFileTransport, AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use secrecy::ExposeSecret as _;

use crate::config::{MailConfig, SmtpSecurity};

/// Counter of mails, by `kind` and `outcome` (`sent`, `failed`, `skipped`).
pub const MAILS_METRIC: &str = "auth_mails_total";

/// One mail: to one address, plain text.
#[derive(Debug, Clone)]
pub struct Mail {
    /// What it is for (`password_reset`, `email_verification`), for metrics and logs.
    pub kind: &'static str,
    pub to: String,
    pub subject: String,
    pub body: String,
}

#[derive(Clone)]
enum Transport {
    Smtp(AsyncSmtpTransport<Tokio1Executor>),
    Directory(AsyncFileTransport<Tokio1Executor>),
    None,
}

/// Sends mails in the background. Cheap to clone.
#[derive(Clone)]
pub struct Mailer {
    transport: Transport,
    from: Mailbox,
}

impl Mailer {
    /// The transport `config` names; fails on a malformed sender or an SMTP setting that
    /// cannot work.
    pub fn new(config: &MailConfig) -> anyhow::Result<Self> {
        let from: Mailbox = config
            .from
            .parse()
            .map_err(|err| anyhow::anyhow!("invalid MAIL_FROM `{}`: {err}", config.from))?;
        let transport = match (&config.smtp_host, &config.dir) {
            (Some(host), _) => Transport::Smtp(smtp(config, host)?),
            (None, Some(dir)) => {
                std::fs::create_dir_all(dir).map_err(|err| {
                    anyhow::anyhow!("cannot create the mail directory {}: {err}", dir.display())
                })?;
                Transport::Directory(AsyncFileTransport::new(dir))
            }
            (None, None) => Transport::None,
        };
        Ok(Self { transport, from })
    }

    /// Where mails go, for the startup log.
    pub fn describe(&self) -> String {
        match &self.transport {
            Transport::Smtp(_) => "SMTP".to_owned(),
            Transport::Directory(_) => "files".to_owned(),
            Transport::None => "nowhere (no SMTP_HOST or MAIL_DIR)".to_owned(),
        }
    }

    /// Sends `mail` in the background; failures are logged and counted.
    pub fn send_later(&self, mail: Mail) {
        let mailer = self.clone();
        tokio::spawn(async move {
            let outcome = match mailer.send(&mail).await {
                Ok(true) => "sent",
                Ok(false) => "skipped",
                Err(err) => {
                    tracing::warn!(kind = mail.kind, error = %err, "a mail could not be sent");
                    "failed"
                }
            };
            metrics::counter!(MAILS_METRIC, "kind" => mail.kind, "outcome" => outcome).increment(1);
        });
    }

    /// Sends `mail` now; `false` when no transport is configured.
    pub async fn send(&self, mail: &Mail) -> anyhow::Result<bool> {
        // Plain 7-bit text when it is (links stay whole for any reader), else whatever
        // encoding the text needs.
        let text = mail.body.replace("\r\n", "\n").replace('\n', "\r\n");
        let body = Body::new_with_encoding(text, ContentTransferEncoding::SevenBit)
            .unwrap_or_else(Body::new);
        let message = Message::builder()
            .from(self.from.clone())
            .to(mail.to.parse()?)
            .subject(&mail.subject)
            .header(ContentType::TEXT_PLAIN)
            .body(body)?;
        match &self.transport {
            Transport::Smtp(smtp) => {
                smtp.send(message).await?;
            }
            Transport::Directory(files) => {
                files.send(message).await?;
            }
            Transport::None => {
                tracing::warn!(
                    kind = mail.kind,
                    "no mail transport configured: a mail was not sent"
                );
                return Ok(false);
            }
        }
        tracing::info!(kind = mail.kind, "mail sent");
        Ok(true)
    }
}

fn smtp(config: &MailConfig, host: &str) -> anyhow::Result<AsyncSmtpTransport<Tokio1Executor>> {
    let tls = || TlsParameters::new(host.to_owned());
    let builder = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(host)
        .port(config.smtp_port)
        .tls(match config.smtp_security {
            SmtpSecurity::None => Tls::None,
            SmtpSecurity::Starttls => Tls::Required(tls()?),
            SmtpSecurity::Tls => Tls::Wrapper(tls()?),
        })
        .timeout(Some(config.smtp_timeout));
    let builder = match (&config.smtp_username, &config.smtp_password) {
        (Some(user), Some(password)) => builder.credentials(Credentials::new(
            user.clone(),
            password.expose_secret().to_owned(),
        )),
        _ => builder,
    };
    Ok(builder.build())
}
