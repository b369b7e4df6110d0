//! The rules every input field follows. Lengths count characters (Unicode scalar values)
//! after trimming surrounding whitespace, not bytes. A request is checked whole: every
//! violation is collected and reported together.

use chat_proto::v1::{Role as ProtoRole, RoomKind as ProtoRoomKind};
use time::OffsetDateTime;
use uuid::Uuid;

use crate::error::{Error, FieldViolation};
use crate::model::{Role, RoomKind};

pub const NAME_MAX: usize = 80;
pub const TEXT_MAX: usize = 500;
/// A search longer than the longest name cannot match anything.
pub const QUERY_MAX: usize = NAME_MAX;
pub const PAGE_DEFAULT: u32 = 50;
pub const PAGE_MAX: u32 = 100;

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

    /// The validation error listing everything recorded (for when a check failed).
    pub fn into_error(self) -> Error {
        Error::Validation(self.0)
    }
}

/// Checks `result` as the only field of a request.
pub fn single<T>(field: &str, result: Result<T, String>) -> Result<T, Error> {
    result.map_err(|why| Error::invalid_field(field, why))
}

/// A user or room id in any of the usual UUID spellings.
pub fn id(value: &str) -> Result<Uuid, String> {
    Uuid::parse_str(value.trim()).map_err(|_| "must be a UUID".to_owned())
}

/// A room name: 1 to 80 characters after trimming, no control characters at all.
pub fn name(value: &str) -> Result<String, String> {
    let value = value.trim();
    if value.is_empty() {
        return Err("must not be empty".into());
    }
    if value.chars().count() > NAME_MAX {
        return Err(format!("must be at most {NAME_MAX} characters long"));
    }
    if value.chars().any(char::is_control) {
        return Err("must not contain control characters".into());
    }
    Ok(value.to_owned())
}

/// A description, topic or ban reason: up to 500 characters after trimming; line breaks
/// (`\n`) are allowed, other control characters are not. Empty means none.
pub fn text(value: &str) -> Result<Option<String>, String> {
    let value = value.trim();
    if value.chars().count() > TEXT_MAX {
        return Err(format!("must be at most {TEXT_MAX} characters long"));
    }
    if value.chars().any(|c| c.is_control() && c != '\n') {
        return Err("must not contain control characters other than line breaks".into());
    }
    Ok((!value.is_empty()).then(|| value.to_owned()))
}

/// An optional [`text`]: absent stays absent.
pub fn optional_text(value: Option<&str>) -> Result<Option<String>, String> {
    Ok(value.map(text).transpose()?.flatten())
}

/// The kind of a room created by CreateRoom: direct rooms come from OpenDirect.
pub fn created_kind(value: i32) -> Result<RoomKind, String> {
    match ProtoRoomKind::try_from(value) {
        Ok(ProtoRoomKind::Public) => Ok(RoomKind::Public),
        Ok(ProtoRoomKind::Private) => Ok(RoomKind::Private),
        _ => Err("must be ROOM_KIND_PUBLIC or ROOM_KIND_PRIVATE".into()),
    }
}

/// A role to give.
pub fn role(value: i32) -> Result<Role, String> {
    match ProtoRole::try_from(value) {
        Ok(ProtoRole::Member) => Ok(Role::Member),
        Ok(ProtoRole::Admin) => Ok(Role::Admin),
        Ok(ProtoRole::Owner) => Ok(Role::Owner),
        _ => Err("must be ROLE_MEMBER, ROLE_ADMIN or ROLE_OWNER".into()),
    }
}

/// A search of public room names: trimmed, up to 80 characters; empty means all.
pub fn query(value: &str) -> Result<Option<String>, String> {
    let value = value.trim();
    if value.chars().count() > QUERY_MAX {
        return Err(format!("must be at most {QUERY_MAX} characters long"));
    }
    Ok((!value.is_empty()).then(|| value.to_owned()))
}

/// A page size: 0 means the default (50); anything above 100 is served as 100.
pub fn limit(value: u32) -> u32 {
    match value {
        0 => PAGE_DEFAULT,
        n => n.min(PAGE_MAX),
    }
}

/// A point in time given as a protobuf timestamp.
pub fn timestamp(value: &prost_types::Timestamp) -> Result<OffsetDateTime, String> {
    chat_runtime::time::from_proto(value).ok_or_else(|| "is out of range".to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_trimmed_and_counted_in_characters() {
        assert_eq!(name("  General  ").as_deref(), Ok("General"));
        assert_eq!(name(&"é".repeat(80)).map(|n| n.chars().count()), Ok(80));
        assert!(name(&"é".repeat(81)).is_err());
        assert!(name("").is_err());
        assert!(name("   ").is_err());
    }

    #[test]
    fn names_refuse_every_control_character() {
        assert!(name("a\nb").is_err());
        assert!(name("a\tb").is_err());
        assert!(name("a\u{7}b").is_err());
        assert!(name("a\u{85}b").is_err());
    }

    #[test]
    fn texts_allow_line_breaks_only() {
        assert_eq!(text("one\ntwo"), Ok(Some("one\ntwo".to_owned())));
        assert!(text("tab\there").is_err());
        assert!(
            text("cr\r\n").is_ok(),
            "trailing whitespace is trimmed first"
        );
        assert!(text("cr\rhere").is_err());
        assert_eq!(text("   "), Ok(None));
        assert!(text(&"x".repeat(500)).is_ok());
        assert!(text(&"x".repeat(501)).is_err());
    }

    #[test]
    fn only_public_and_private_rooms_are_created() {
        assert_eq!(
            created_kind(ProtoRoomKind::Public as i32),
            Ok(RoomKind::Public)
        );
        assert_eq!(
            created_kind(ProtoRoomKind::Private as i32),
            Ok(RoomKind::Private)
        );
        assert!(created_kind(ProtoRoomKind::Direct as i32).is_err());
        assert!(created_kind(ProtoRoomKind::Unspecified as i32).is_err());
        assert!(created_kind(42).is_err());
    }

    #[test]
    fn roles_must_be_named() {
        assert_eq!(role(ProtoRole::Admin as i32), Ok(Role::Admin));
        assert!(role(ProtoRole::Unspecified as i32).is_err());
        assert!(role(7).is_err());
    }

    #[test]
    fn ids_must_be_uuids() {
        let id_value = Uuid::new_v4();
        assert_eq!(id(&id_value.to_string()), Ok(id_value));
        assert!(id("").is_err());
        assert!(id("not-a-uuid").is_err());
    }

    #[test]
    fn limits_default_and_cap() {
        assert_eq!(limit(0), 50);
        assert_eq!(limit(7), 7);
        assert_eq!(limit(1000), 100);
    }

    #[test]
    fn queries_are_trimmed_and_bounded() {
        assert_eq!(query("  gen "), Ok(Some("gen".into())));
        assert_eq!(query(""), Ok(None));
        assert!(query(&"x".repeat(81)).is_err());
    }
}
