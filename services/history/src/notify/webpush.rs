//! Sending one push message: RFC 8030 (a POST to the subscription's endpoint with `TTL`,
//! `Urgency` and `Topic`), the payload encrypted for the browser (RFC 8291, `aes128gcm`)
//! and signed by this server (RFC 8292 VAPID), by the `web-push-native` crate.

use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use secrecy::ExposeSecret;
use web_push_native::jwt_simple::algorithms::{ECDSAP256PublicKeyLike, ES256KeyPair};
use web_push_native::{Auth, WebPushBuilder};

use super::NotifyConfig;
use super::subscriptions::Subscription;

/// The largest payload one push message carries (RFC 8291: 4096 bytes of record less
/// the header, padding delimiter and tag).
pub const MAX_PAYLOAD: usize = 3993;
/// How long one push service may take to answer.
const SEND_TIMEOUT: Duration = Duration::from_secs(10);

/// How a push went.
#[derive(Debug, PartialEq, Eq)]
pub enum Outcome {
    Sent,
    /// 404 or 410: the subscription expired or was withdrawn; forget it.
    Gone,
    Failed(String),
}

/// How soon the push service should wake the device (RFC 8030 `Urgency`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Urgency {
    Normal,
    High,
}

/// Signs and sends push messages. Cheap to clone.
#[derive(Clone)]
pub struct Pusher {
    key: Arc<ES256KeyPair>,
    public_key: String,
    subject: String,
    ttl: Duration,
    allow_http: bool,
    http: reqwest::Client,
}

/// A new VAPID private key, base64url (`chat-history vapid-key`).
pub fn new_private_key() -> String {
    URL_SAFE_NO_PAD.encode(ES256KeyPair::generate().to_bytes())
}

impl Pusher {
    /// The pusher of `config`; `None` when no VAPID key is set (push is off).
    pub fn from_config(config: &NotifyConfig) -> anyhow::Result<Option<Self>> {
        let Some(private) = &config.vapid_private_key else {
            return Ok(None);
        };
        let bytes = URL_SAFE_NO_PAD
            .decode(private.expose_secret().trim().trim_end_matches('='))
            .map_err(|_| anyhow::anyhow!("VAPID_PRIVATE_KEY is not base64url"))?;
        let key = ES256KeyPair::from_bytes(&bytes)
            .map_err(|err| anyhow::anyhow!("VAPID_PRIVATE_KEY is not a P-256 key: {err}"))?;
        let public_key =
            URL_SAFE_NO_PAD.encode(key.public_key().public_key().to_bytes_uncompressed());
        Ok(Some(Self {
            key: Arc::new(key),
            public_key,
            subject: config.vapid_subject.clone(),
            ttl: config.push_ttl,
            allow_http: config.allow_http,
            http: reqwest::Client::builder()
                .timeout(SEND_TIMEOUT)
                .redirect(reqwest::redirect::Policy::none())
                .build()?,
        }))
    }

    /// The VAPID public key browsers subscribe with (uncompressed point, base64url).
    pub fn public_key(&self) -> &str {
        &self.public_key
    }

    /// Whether the server may post to `endpoint`: an `https://` URL of a public host
    /// (`http://` and loopback only with `PUSH_ALLOW_HTTP`).
    pub fn check_endpoint(&self, endpoint: &str) -> Result<(), &'static str> {
        check_endpoint(endpoint, self.allow_http)
    }

    /// Encrypts `payload` for `to` and posts it; `topic` (up to 32 base64url characters)
    /// lets a newer message replace an undelivered older one.
    pub async fn send(
        &self,
        to: &Subscription,
        payload: &[u8],
        topic: &str,
        urgency: Urgency,
    ) -> Outcome {
        if payload.len() > MAX_PAYLOAD {
            return Outcome::Failed(format!("a payload of {} bytes is too large", payload.len()));
        }
        let mut request = match self.request(to, payload) {
            Ok(request) => request,
            Err(err) => return Outcome::Failed(err),
        };
        let headers = request.headers_mut();
        headers.insert(
            "Urgency",
            reqwest::header::HeaderValue::from_static(match urgency {
                Urgency::Normal => "normal",
                Urgency::High => "high",
            }),
        );
        if let Ok(topic) = reqwest::header::HeaderValue::from_str(topic) {
            headers.insert("Topic", topic);
        }
        match self.http.execute(request).await {
            Ok(response) if response.status().is_success() => Outcome::Sent,
            Ok(response) if matches!(response.status().as_u16(), 404 | 410) => Outcome::Gone,
            Ok(response) => {
                Outcome::Failed(format!("the push service answered {}", response.status()))
            }
            Err(err) => Outcome::Failed(err.to_string()),
        }
    }

    fn request(&self, to: &Subscription, payload: &[u8]) -> Result<reqwest::Request, String> {
        let endpoint = to
            .endpoint
            .parse()
            .map_err(|_| "a bad endpoint".to_owned())?;
        let key = web_push_native::p256::PublicKey::from_sec1_bytes(&to.p256dh)
            .map_err(|_| "a bad p256dh key".to_owned())?;
        if to.auth.len() != 16 {
            return Err("a bad auth secret".to_owned());
        }
        let built = WebPushBuilder::new(endpoint, key, Auth::clone_from_slice(&to.auth))
            .with_valid_duration(self.ttl)
            .with_vapid(&self.key, &self.subject)
            .build(payload.to_vec())
            .map_err(|err| err.to_string())?;
        reqwest::Request::try_from(built).map_err(|err| err.to_string())
    }
}

fn check_endpoint(endpoint: &str, allow_http: bool) -> Result<(), &'static str> {
    let url = reqwest::Url::parse(endpoint).map_err(|_| "must be an absolute URL")?;
    match url.scheme() {
        "https" => {}
        "http" if allow_http => {}
        _ => return Err("must be an https:// URL"),
    }
    let Some(host) = url.host_str() else {
        return Err("must name a host");
    };
    if !allow_http {
        let private = match host.trim_matches(['[', ']']).parse::<IpAddr>() {
            Ok(IpAddr::V4(ip)) => {
                ip.is_loopback() || ip.is_private() || ip.is_link_local() || ip.is_unspecified()
            }
            Ok(IpAddr::V6(ip)) => ip.is_loopback() || ip.is_unspecified() || ip.is_unique_local(),
            Err(_) => host == "localhost" || host.ends_with(".localhost") || !host.contains('.'),
        };
        if private {
            return Err("must be a push service's public URL");
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_public_https_endpoints_are_posted_to() {
        assert!(check_endpoint("https://fcm.googleapis.com/fcm/send/abc", false).is_ok());
        assert!(
            check_endpoint(
                "https://updates.push.services.mozilla.com/wpush/v2/x",
                false
            )
            .is_ok()
        );
        for bad in [
            "http://push.example.com/x",
            "https://127.0.0.1/x",
            "https://10.0.0.1/x",
            "https://[::1]/x",
            "https://localhost/x",
            "https://metadata/x",
            "ftp://push.example.com/x",
            "not a url",
        ] {
            assert!(check_endpoint(bad, false).is_err(), "{bad}");
        }
        assert!(check_endpoint("http://127.0.0.1:9000/push/1", true).is_ok());
    }

    #[test]
    fn a_new_key_makes_a_pusher_whose_public_key_is_an_uncompressed_point() {
        let config = NotifyConfig {
            rooms_url: String::new(),
            auth_url: String::new(),
            delay: Duration::from_secs(30),
            interval: Duration::from_secs(1),
            vapid_private_key: Some(new_private_key().into()),
            vapid_subject: "mailto:ops@example.com".into(),
            push_ttl: Duration::from_secs(60),
            allow_http: false,
        };
        let pusher = Pusher::from_config(&config).unwrap().unwrap();
        let public = URL_SAFE_NO_PAD.decode(pusher.public_key()).unwrap();
        assert_eq!((public.len(), public[0]), (65, 4));
    }
}
