//! The mail the scope's auth service wrote (it has no SMTP server in tests: mails are
//! `.eml` files in the scope's `mail` directory), read as a person's mail client would.

use std::path::PathBuf;
use std::time::Instant;

use crate::PATIENCE;

/// The scope's mail directory.
#[derive(Debug, Clone)]
pub struct MailDir(pub PathBuf);

/// One mail: its headers and its decoded body.
#[derive(Debug, Clone)]
pub struct Mail {
    pub text: String,
}

impl Mail {
    /// The token of the first link to the web client's `action` page
    /// (`<public url>/#/<action>/<token>`).
    pub fn token(&self, action: &str) -> String {
        chat_auth::recovery::token_in_link(&self.text, action)
            .unwrap_or_else(|| panic!("no {action} link in {}", self.text))
            .to_owned()
    }
}

impl MailDir {
    /// Every mail written so far to `to`, oldest first.
    pub fn received(&self, to: &str) -> Vec<Mail> {
        let Ok(entries) = std::fs::read_dir(&self.0) else {
            return Vec::new();
        };
        let mut mails: Vec<(std::time::SystemTime, Mail)> = entries
            .filter_map(|entry| {
                let entry = entry.ok()?;
                if entry.path().extension()? != "eml" {
                    return None;
                }
                let text = decoded(&std::fs::read_to_string(entry.path()).ok()?);
                let written = entry.metadata().ok()?.modified().ok()?;
                text.lines()
                    .any(|line| line.starts_with("To:") && line.contains(to))
                    .then_some((written, Mail { text }))
            })
            .collect();
        mails.sort_by_key(|(at, _)| *at);
        mails.into_iter().map(|(_, mail)| mail).collect()
    }

    /// The newest mail to `to` whose subject contains `subject`, waiting for it.
    pub async fn expect(&self, to: &str, subject: &str) -> Mail {
        let started = Instant::now();
        loop {
            let found = self.received(to).into_iter().rev().find(|mail| {
                mail.text
                    .lines()
                    .any(|line| line.starts_with("Subject:") && line.contains(subject))
            });
            if let Some(mail) = found {
                return mail;
            }
            assert!(started.elapsed() < PATIENCE, "no mail `{subject}` to {to}");
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
    }
}

/// A quoted-printable body decoded: soft line breaks joined, `=XX` bytes restored.
fn decoded(mail: &str) -> String {
    let mail = mail.replace("\r\n", "\n");
    let Some((headers, body)) = mail.split_once("\n\n") else {
        return mail;
    };
    if !headers.contains("Content-Transfer-Encoding: quoted-printable") {
        return mail.clone();
    }
    let joined = body.replace("=\n", "");
    let raw = joined.as_bytes();
    let mut bytes = Vec::with_capacity(raw.len());
    let mut i = 0;
    while i < raw.len() {
        let hex = raw
            .get(i + 1..i + 3)
            .and_then(|pair| std::str::from_utf8(pair).ok())
            .and_then(|pair| u8::from_str_radix(pair, 16).ok());
        match (raw[i], hex) {
            (b'=', Some(byte)) => {
                bytes.push(byte);
                i += 3;
            }
            (byte, _) => {
                bytes.push(byte);
                i += 1;
            }
        }
    }
    format!("{headers}\n\n{}", String::from_utf8_lossy(&bytes))
}
