//! The refresh token of a browser session, kept in a cookie no script can read.
//!
//! `chat_refresh` is `HttpOnly` (invisible to JavaScript, so an injected script cannot
//! steal the long-lived token), `SameSite=Strict` (never sent on a request another site
//! starts, so no other page can spend it) and scoped to `Path=/api/auth` (sent only to
//! the routes that need it). It lives as long as the refresh token and is replaced on
//! every rotation; logging out clears it.

use axum_extra::extract::CookieJar;
use axum_extra::extract::cookie::{Cookie, SameSite};
use http::HeaderMap;

use crate::settings::CookieSecurity;

/// The cookie's name.
pub const NAME: &str = "chat_refresh";
/// The only path the browser sends it to.
pub const PATH: &str = "/api/auth";

/// Sets the cookie to `token`, valid for `max_age_secs`.
pub fn set(
    jar: CookieJar,
    token: String,
    max_age_secs: i64,
    security: CookieSecurity,
    headers: &HeaderMap,
) -> CookieJar {
    let cookie = Cookie::build((NAME, token))
        .http_only(true)
        .same_site(SameSite::Strict)
        .path(PATH)
        .secure(is_secure(security, headers))
        .max_age(time::Duration::seconds(max_age_secs.max(0)));
    jar.add(cookie)
}

/// Tells the browser to drop the cookie (whether or not this request carried it).
pub fn clear(jar: CookieJar, security: CookieSecurity, headers: &HeaderMap) -> CookieJar {
    let mut cookie = Cookie::build((NAME, ""))
        .http_only(true)
        .same_site(SameSite::Strict)
        .path(PATH)
        .secure(is_secure(security, headers))
        .build();
    cookie.make_removal();
    jar.add(cookie)
}

/// The refresh token the browser sent, if any.
pub fn read(jar: &CookieJar) -> Option<String> {
    jar.get(NAME)
        .map(|cookie| cookie.value().to_owned())
        .filter(|value| !value.is_empty())
}

/// `Secure` when configured so, or (`auto`) when the client reached the proxy over HTTPS.
fn is_secure(security: CookieSecurity, headers: &HeaderMap) -> bool {
    match security {
        CookieSecurity::Always => true,
        CookieSecurity::Never => false,
        CookieSecurity::Auto => headers
            .get("x-forwarded-proto")
            .and_then(|value| value.to_str().ok())
            .is_some_and(|proto| proto.eq_ignore_ascii_case("https")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(proto: Option<&str>) -> HeaderMap {
        let mut headers = HeaderMap::new();
        if let Some(proto) = proto {
            headers.insert("x-forwarded-proto", proto.parse().unwrap());
        }
        headers
    }

    fn set_cookie(jar: CookieJar) -> String {
        use axum::response::IntoResponse;
        let response = jar.into_response();
        let headers = response.headers().get_all(http::header::SET_COOKIE);
        let values: Vec<&str> = headers.iter().map(|v| v.to_str().unwrap()).collect();
        assert_eq!(values.len(), 1, "{values:?}");
        values[0].to_owned()
    }

    #[test]
    fn the_cookie_is_http_only_strict_and_scoped_to_auth() {
        let jar = set(
            CookieJar::new(),
            "token".into(),
            60,
            CookieSecurity::Auto,
            &headers(None),
        );
        let header = set_cookie(jar);
        assert!(header.starts_with("chat_refresh=token"), "{header}");
        for attribute in [
            "HttpOnly",
            "SameSite=Strict",
            "Path=/api/auth",
            "Max-Age=60",
        ] {
            assert!(
                header.contains(attribute),
                "{attribute} missing in {header}"
            );
        }
        assert!(!header.contains("Secure"), "{header}");
    }

    #[test]
    fn secure_follows_the_setting_and_the_proxy_scheme() {
        let cases = [
            (CookieSecurity::Auto, Some("https"), true),
            (CookieSecurity::Auto, Some("HTTPS"), true),
            (CookieSecurity::Auto, Some("http"), false),
            (CookieSecurity::Auto, None, false),
            (CookieSecurity::Always, None, true),
            (CookieSecurity::Never, Some("https"), false),
        ];
        for (security, proto, secure) in cases {
            assert_eq!(
                is_secure(security, &headers(proto)),
                secure,
                "{security:?} {proto:?}"
            );
        }
    }

    #[test]
    fn clearing_expires_the_cookie_on_the_same_path() {
        let jar = clear(CookieJar::new(), CookieSecurity::Never, &headers(None));
        let header = set_cookie(jar);
        assert!(header.contains("Max-Age=0"), "{header}");
        assert!(header.contains("Path=/api/auth"), "{header}");
    }

    #[test]
    fn an_empty_cookie_is_no_token() {
        let jar = CookieJar::new().add(Cookie::new(NAME, ""));
        assert_eq!(read(&jar), None);
        let jar = CookieJar::new().add(Cookie::new(NAME, "abc"));
        assert_eq!(read(&jar).as_deref(), Some("abc"));
    }
}
