//! Typed ids: a room id cannot be passed where a user id is expected. On the wire each is
//! the UUID string.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use uuid::Uuid;

macro_rules! id {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(
            Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
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
            type Err = uuid::Error;

            fn from_str(s: &str) -> Result<Self, Self::Err> {
                s.parse().map(Self)
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
