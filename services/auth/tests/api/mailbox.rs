//! A real SMTP server for one test: `aiosmtpd` (deploy/local/install-tools.sh installs it)
//! on a port of its own, storing what it receives in a Maildir the test reads.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use uuid::Uuid;

/// How long a test waits for a mail before it fails.
const PATIENCE: Duration = Duration::from_secs(20);

pub struct Mailbox {
    pub port: u16,
    dir: PathBuf,
    _server: tokio::process::Child,
}

/// One received mail: its headers and body as text.
#[derive(Debug, Clone)]
pub struct Received {
    pub text: String,
}

impl Received {
    /// The token of the first link to the web client's `action` page.
    pub fn token(&self, action: &str) -> String {
        chat_auth::recovery::token_in_link(&self.text, action)
            .unwrap_or_else(|| panic!("no {action} link in {}", self.text))
            .to_owned()
    }
}

impl Mailbox {
    /// Starts the server and waits until it accepts connections.
    pub async fn start() -> Self {
        let dir = std::env::temp_dir().join(format!("chat-auth-mail-{}", Uuid::new_v4().simple()));
        std::fs::create_dir_all(&dir).expect("the maildir");
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|listener| listener.local_addr())
            .expect("a free port")
            .port();
        let server = tokio::process::Command::new("aiosmtpd")
            .args(["-n", "-l", &format!("127.0.0.1:{port}")])
            .args(["-c", "aiosmtpd.handlers.Mailbox"])
            .arg(dir.join("maildir"))
            .kill_on_drop(true)
            .spawn()
            .expect("aiosmtpd runs (deploy/local/install-tools.sh installs it)");
        let started = Instant::now();
        while tokio::net::TcpStream::connect(("127.0.0.1", port))
            .await
            .is_err()
        {
            assert!(started.elapsed() < PATIENCE, "aiosmtpd did not start");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        Self {
            port,
            dir,
            _server: server,
        }
    }

    /// The flags that make the auth service deliver here.
    pub fn flags(&self) -> Vec<String> {
        [
            "--smtp-host",
            "127.0.0.1",
            "--smtp-port",
            &self.port.to_string(),
            "--smtp-security",
            "none",
            "--mail-from",
            "Chat <no-reply@chat.test>",
            "--public-url",
            "https://chat.test",
        ]
        .map(str::to_owned)
        .to_vec()
    }

    /// Every mail received so far to `to`.
    pub fn received(&self, to: &str) -> Vec<Received> {
        let new = self.dir.join("maildir").join("new");
        let Ok(entries) = std::fs::read_dir(new) else {
            return Vec::new();
        };
        let mut mails: Vec<(std::time::SystemTime, Received)> = entries
            .filter_map(|entry| {
                let entry = entry.ok()?;
                let text = decoded(&std::fs::read_to_string(entry.path()).ok()?);
                let modified = entry.metadata().ok()?.modified().ok()?;
                text.lines()
                    .any(|line| line.starts_with("To:") && line.contains(to))
                    .then_some((modified, Received { text }))
            })
            .collect();
        mails.sort_by_key(|(at, _)| *at);
        mails.into_iter().map(|(_, mail)| mail).collect()
    }

    /// The next mail to `to` whose subject contains `subject`, waiting for it.
    pub async fn expect(&self, to: &str, subject: &str) -> Received {
        let started = Instant::now();
        loop {
            if let Some(mail) = self.received(to).into_iter().rev().find(|mail| {
                mail.text
                    .lines()
                    .any(|l| l.starts_with("Subject:") && l.contains(subject))
            }) {
                return mail;
            }
            assert!(started.elapsed() < PATIENCE, "no mail `{subject}` to {to}");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

impl Drop for Mailbox {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// The mail as a reader sees it: a quoted-printable body decoded (soft line breaks
/// joined, `=XX` bytes restored).
fn decoded(mail: &str) -> String {
    let Some((headers, body)) = mail.split_once("\n\n") else {
        return mail.to_owned();
    };
    if !headers.contains("Content-Transfer-Encoding: quoted-printable") {
        return mail.to_owned();
    }
    let joined = body.replace("=\r\n", "").replace("=\n", "");
    let mut bytes = Vec::with_capacity(joined.len());
    let raw = joined.as_bytes();
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
