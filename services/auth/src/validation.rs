//! The rules every input field must follow. Lengths count characters (Unicode scalar
//! values), not bytes. A request is checked whole: every violation is collected and
//! reported together, so a form can mark all its wrong fields at once.

use uuid::Uuid;

use crate::error::{Error, FieldViolation};

pub const USERNAME_MIN: usize = 3;
pub const USERNAME_MAX: usize = 32;
pub const EMAIL_MAX: usize = 254;
pub const PASSWORD_MIN: usize = 8;
pub const PASSWORD_MAX: usize = 128;
pub const DISPLAY_NAME_MAX: usize = 64;
pub const AVATAR_URL_MAX: usize = 2048;
pub const BIO_MAX: usize = 500;
/// The longest login (username or email) worth looking up.
pub const LOGIN_MAX: usize = EMAIL_MAX;

/// The violations found so far in one request.
#[derive(Debug, Default)]
pub struct Violations(Vec<FieldViolation>);

impl Violations {
    pub fn new() -> Self {
        Self::default()
    }

    /// Records `result`'s error against `field`; passes its value on.
    pub fn check<T>(&mut self, field: impl Into<String>, result: Result<T, String>) -> Option<T> {
        match result {
            Ok(value) => Some(value),
            Err(why) => {
                self.0.push((field.into(), why));
                None
            }
        }
    }

    /// `Ok` when nothing was recorded, otherwise one validation error listing everything.
    pub fn finish(self) -> Result<(), Error> {
        if self.0.is_empty() {
            Ok(())
        } else {
            Err(Error::Validation(self.0))
        }
    }
}

fn char_count(value: &str) -> usize {
    value.chars().count()
}

fn has_control(value: &str) -> bool {
    value.chars().any(char::is_control)
}

/// The username `value` stands for: ASCII letters folded to lowercase, then 3 to 32
/// characters of `a-z 0-9 _ . -`. `Ada` and `ada` are one name, stored as `ada`; the
/// spelling as typed survives only as a default display name
/// ([`display_name_from_username`]). Only ASCII folds, so no other letter can pass for one
/// of these.
pub fn username(value: &str) -> Result<String, String> {
    let folded = value.to_ascii_lowercase();
    let len = char_count(&folded);
    if !(USERNAME_MIN..=USERNAME_MAX).contains(&len) {
        return Err(format!(
            "must be {USERNAME_MIN} to {USERNAME_MAX} characters long"
        ));
    }
    let allowed = |c: char| matches!(c, 'a'..='z' | '0'..='9' | '_' | '.' | '-');
    if !folded.chars().all(allowed) {
        return Err("may contain only letters a-z (any case), digits, '_', '.' and '-'".into());
    }
    Ok(folded)
}

/// The display name of a registration that names none: the username as typed when folding
/// changed it (`Ada`, stored as `ada`, is shown as `Ada`), otherwise none.
pub fn display_name_from_username(typed: &str, folded: &str) -> Option<String> {
    (typed != folded).then(|| typed.to_owned())
}

/// A deliberately plain check (one `@`, a local part, a dotted domain, no spaces or control
/// characters, at most 254 characters); only a confirmation mail could prove more.
pub fn email(value: &str) -> Result<(), String> {
    const WHY: &str = "must be an email address like name@example.com";
    if value.is_empty() {
        return Err("must not be empty".into());
    }
    if char_count(value) > EMAIL_MAX {
        return Err(format!("must be at most {EMAIL_MAX} characters long"));
    }
    if value.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err("must not contain spaces or control characters".into());
    }
    let Some((local, domain)) = value.split_once('@') else {
        return Err(WHY.into());
    };
    let domain_ok = domain.contains('.')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && !domain.contains("..")
        && !domain.contains('@');
    if local.is_empty() || !domain_ok {
        return Err(WHY.into());
    }
    Ok(())
}

/// 8 to 128 characters; anything else is the user's choice.
pub fn password(value: &str) -> Result<(), String> {
    let len = char_count(value);
    if !(PASSWORD_MIN..=PASSWORD_MAX).contains(&len) {
        return Err(format!(
            "must be {PASSWORD_MIN} to {PASSWORD_MAX} characters long"
        ));
    }
    Ok(())
}

/// A display name, trimmed: at most 64 characters, no control characters. `Ok(None)` when
/// it is blank (the caller decides whether blank is allowed).
pub fn display_name(value: &str) -> Result<Option<String>, String> {
    let value = value.trim();
    if has_control(value) {
        return Err("must not contain control characters".into());
    }
    if char_count(value) > DISPLAY_NAME_MAX {
        return Err(format!(
            "must be at most {DISPLAY_NAME_MAX} characters long"
        ));
    }
    Ok((!value.is_empty()).then(|| value.to_owned()))
}

/// An `http` or `https` URL with a host, at most 2048 characters, no spaces, or the
/// thumbnail of an uploaded avatar (`/api/files/{id}/thumbnail`). `Ok(None)` when empty
/// (clears the avatar).
pub fn avatar_url(value: &str) -> Result<Option<String>, String> {
    let value = value.trim();
    if value.is_empty() {
        return Ok(None);
    }
    if let Some(id) = value
        .strip_prefix("/api/files/")
        .and_then(|rest| rest.strip_suffix("/thumbnail"))
    {
        return uuid::Uuid::parse_str(id)
            .map(|_| Some(value.to_owned()))
            .map_err(|_| "must name an uploaded file by its id".to_owned());
    }
    if char_count(value) > AVATAR_URL_MAX {
        return Err(format!("must be at most {AVATAR_URL_MAX} characters long"));
    }
    if value.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err("must not contain spaces or control characters".into());
    }
    let lower = value.to_ascii_lowercase();
    let rest = lower
        .strip_prefix("https://")
        .or_else(|| lower.strip_prefix("http://"))
        .ok_or_else(|| "must be an http or https URL".to_owned())?;
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    let host = authority.rsplit('@').next().unwrap_or_default();
    if host.is_empty() || host.starts_with(':') {
        return Err("must name a host".into());
    }
    Ok(Some(value.to_owned()))
}

/// Free text up to 500 characters; line breaks and tabs are kept, other control
/// characters refused. `Ok(None)` when blank (clears the bio).
pub fn bio(value: &str) -> Result<Option<String>, String> {
    let value = value.trim();
    if value
        .chars()
        .any(|c| c.is_control() && c != '\n' && c != '\t')
    {
        return Err("must not contain control characters other than line breaks".into());
    }
    if char_count(value) > BIO_MAX {
        return Err(format!("must be at most {BIO_MAX} characters long"));
    }
    Ok((!value.is_empty()).then(|| value.to_owned()))
}

/// A user or session id.
pub fn uuid(value: &str) -> Result<Uuid, String> {
    Uuid::parse_str(value).map_err(|_| "must be a UUID".to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn usernames() {
        for ok in ["abc", "a_b.c-d", "user123", &"x".repeat(32)] {
            assert_eq!(username(ok).as_deref(), Ok(ok), "{ok}");
        }
        for bad in [
            "ab",
            &"x".repeat(33),
            "al ice",
            "al@ice",
            "ålice",
            "Ålice",
            "",
        ] {
            assert!(username(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn usernames_fold_ascii_case() {
        for (typed, folded) in [
            ("Ada", "ada"),
            ("ADA", "ada"),
            ("GrAcE_H.2-x", "grace_h.2-x"),
            (&"X".repeat(32), &"x".repeat(32)),
        ] {
            assert_eq!(username(typed).as_deref(), Ok(folded), "{typed}");
        }
        // Folding neither lets other characters in nor changes the length rules.
        for bad in ["AB", &"X".repeat(33), "Al Ice", "ÅDA", "Ada!"] {
            assert!(username(bad).is_err(), "{bad}");
        }
        // The Kelvin sign lowercases to 'k' under Unicode rules, but is no ASCII letter.
        assert!(username("\u{212A}elvin").is_err());
    }

    #[test]
    fn a_username_typed_in_capitals_becomes_the_display_name() {
        assert_eq!(
            display_name_from_username("Ada", "ada").as_deref(),
            Some("Ada")
        );
        assert_eq!(
            display_name_from_username("GRACE", "grace").as_deref(),
            Some("GRACE")
        );
        assert_eq!(display_name_from_username("ada", "ada"), None);
    }

    #[test]
    fn emails() {
        for ok in ["a@b.co", "First.Last+tag@example.org", "ü@exämple.de"] {
            assert_eq!(email(ok), Ok(()), "{ok}");
        }
        let long = format!("{}@example.com", "a".repeat(250));
        for bad in [
            "",
            "plain",
            "@example.com",
            "a@",
            "a@localhost",
            "a@b@c.com",
            "a b@c.com",
            "a@.com",
            "a@com.",
            "a@b..com",
            "a\u{7}@b.com",
            &long,
        ] {
            assert!(email(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn passwords_count_characters_not_bytes() {
        assert!(password("1234567").is_err());
        assert_eq!(password("12345678"), Ok(()));
        // Eight characters but 16 bytes.
        assert_eq!(password("ääääääää"), Ok(()));
        assert_eq!(password(&"ä".repeat(128)), Ok(()));
        assert!(password(&"a".repeat(129)).is_err());
    }

    #[test]
    fn display_names() {
        assert_eq!(display_name("  Alice  "), Ok(Some("Alice".into())));
        assert_eq!(display_name("   "), Ok(None));
        assert_eq!(display_name(&"é".repeat(64)), Ok(Some("é".repeat(64))));
        assert!(display_name(&"é".repeat(65)).is_err());
        assert!(display_name("Al\u{0}ice").is_err());
        assert!(display_name("Al\nice").is_err());
    }

    #[test]
    fn avatar_urls() {
        assert_eq!(
            avatar_url("https://cdn.example.com/a.png"),
            Ok(Some("https://cdn.example.com/a.png".into()))
        );
        assert!(avatar_url("HTTP://example.com").is_ok());
        assert_eq!(avatar_url(""), Ok(None));
        let uploaded = "/api/files/0193a6c1-0000-7000-8000-0000000000f1/thumbnail";
        assert_eq!(avatar_url(uploaded), Ok(Some(uploaded.to_owned())));
        assert!(avatar_url("/api/files/nope/thumbnail").is_err());
        assert!(avatar_url("/api/rooms").is_err());
        for bad in [
            "ftp://example.com/a.png",
            "javascript:alert(1)",
            "https://",
            "https:///path",
            "https://exa mple.com",
            "example.com/a.png",
        ] {
            assert!(avatar_url(bad).is_err(), "{bad}");
        }
        let long = format!("https://example.com/{}", "a".repeat(2048));
        assert!(avatar_url(&long).is_err());
    }

    #[test]
    fn bios() {
        assert_eq!(
            bio("line one\nline two"),
            Ok(Some("line one\nline two".into()))
        );
        assert_eq!(bio(""), Ok(None));
        assert!(bio(&"b".repeat(501)).is_err());
        assert!(bio("bell\u{7}").is_err());
    }

    #[test]
    fn every_violation_is_reported() {
        let mut violations = Violations::new();
        violations.check("username", username("A"));
        violations.check("email", email("nope"));
        violations.check("password", password("short"));
        let Err(Error::Validation(fields)) = violations.finish() else {
            panic!("expected a validation error");
        };
        let names: Vec<_> = fields.iter().map(|(f, _)| f.as_str()).collect();
        assert_eq!(names, ["username", "email", "password"]);
    }
}
