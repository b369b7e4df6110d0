//! Typed ids: a room id cannot be passed where a user id is expected. On the wire each is
//! the UUID string.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// An id that is not a UUID in its canonical form.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct InvalidId;

impl fmt::Display for InvalidId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("must be a UUID in its canonical form (8-4-4-4-12 hexadecimal digits)")
    }
}

impl std::error::Error for InvalidId {}

/// A UUID in its canonical form only (`8-4-4-4-12` hexadecimal digits, any case): the
/// other spellings the `uuid` crate reads (braces, no hyphens, `urn:uuid:`) name the same
/// id differently, and one id has one spelling here.
pub fn parse_uuid(text: &str) -> Result<Uuid, InvalidId> {
    let bytes = text.as_bytes();
    let canonical = bytes.len() == 36
        && bytes.iter().enumerate().all(|(i, byte)| match i {
            8 | 13 | 18 | 23 => *byte == b'-',
            _ => byte.is_ascii_hexdigit(),
        });
    if !canonical {
        return Err(InvalidId);
    }
    Uuid::try_parse(text).map_err(|_| InvalidId)
}

macro_rules! id {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(
            Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize,
            schemars::JsonSchema, ts_rs::TS, utoipa::ToSchema,
        )]
        #[serde(transparent)]
        #[schemars(transparent)]
        #[ts(type = "string")]
        #[schema(value_type = String, format = Uuid)]
        pub struct $name(pub Uuid);

        impl $name {
            /// A new, time-ordered id.
            pub fn new() -> Self {
                Self(Uuid::now_v7())
            }

            pub fn as_uuid(&self) -> Uuid {
                self.0
            }
        }

        impl Default for $name {
            fn default() -> Self {
                Self(Uuid::nil())
            }
        }

        impl From<Uuid> for $name {
            fn from(id: Uuid) -> Self {
                Self(id)
            }
        }

        impl From<$name> for Uuid {
            fn from(id: $name) -> Self {
                id.0
            }
        }

        impl FromStr for $name {
            type Err = InvalidId;

            fn from_str(s: &str) -> Result<Self, Self::Err> {
                parse_uuid(s).map(Self)
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                let text = std::borrow::Cow::<str>::deserialize(deserializer)?;
                text.parse().map_err(serde::de::Error::custom)
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.fmt(f)
            }
        }
    };
}

id!(
    /// A room (public, private or direct).
    RoomId
);
id!(
    /// An account.
    UserId
);
id!(
    /// A stored message.
    MessageId
);
id!(
    /// An uploaded file.
    FileId
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_uuid_strings_on_the_wire() {
        let room: RoomId = "0193a6c1-0000-7000-8000-0000000000c1".parse().unwrap();
        let json = serde_json::to_string(&room).unwrap();
        assert_eq!(json, "\"0193a6c1-0000-7000-8000-0000000000c1\"");
        assert_eq!(serde_json::from_str::<RoomId>(&json).unwrap(), room);
        assert!("nope".parse::<UserId>().is_err());
    }
}

#[cfg(test)]
mod canonical_tests {
    use super::*;

    #[test]
    fn only_the_canonical_spelling_is_an_id() {
        let id = "0193a6c1-0000-7000-8000-0000000000c1";
        assert!(id.parse::<RoomId>().is_ok());
        assert!(id.to_uppercase().parse::<RoomId>().is_ok());
        for other in [
            "{0193a6c1-0000-7000-8000-0000000000c1}",
            "0193a6c1000070008000000000000000c1",
            "urn:uuid:0193a6c1-0000-7000-8000-0000000000c1",
            "0193a6c1-0000-7000-8000-0000000000c",
            "0193a6c1+0000-7000-8000-0000000000c1",
        ] {
            assert_eq!(other.parse::<RoomId>(), Err(InvalidId), "{other}");
            assert!(serde_json::from_str::<RoomId>(&format!("\"{other}\"")).is_err());
        }
    }
}
