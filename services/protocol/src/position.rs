//! Where an entry stands in its room's sequence.

use std::fmt;

use serde::{Deserialize, Serialize};

/// A position in a room: the epoch (which changes only when the server lost its counters)
/// and the sequence number within it, dense from 1. On the wire: `{"epoch", "position"}`.
///
/// Positions of one epoch compare by `seq`; across epochs the order is the epoch's, which
/// is what a client holding two positions wants, though a new epoch is not always a
/// higher one (see docs/protocol.md).
#[derive(
    Debug,
    Clone,
    Copy,
    Default,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Serialize,
    Deserialize,
    schemars::JsonSchema,
    ts_rs::TS,
)]
#[serde(deny_unknown_fields)]
pub struct Position {
    /// When the room's sequence began (milliseconds since 1970); 0 for a room without
    /// any entry yet.
    #[ts(type = "number")]
    pub epoch: u64,
    /// The entry's number within its epoch, from 1; 0 before the first entry.
    #[serde(rename = "position")]
    #[ts(type = "number")]
    pub seq: u64,
}

// Written by hand: the derived schema would forbid other properties, which every view
// that flattens a position in (a message, a read receipt) has.
impl utoipa::PartialSchema for Position {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        use utoipa::openapi::schema::{KnownFormat, ObjectBuilder, SchemaFormat, Type};
        let number = |description: &str| {
            ObjectBuilder::new()
                .schema_type(Type::Integer)
                .format(Some(SchemaFormat::KnownFormat(KnownFormat::Int64)))
                .minimum(Some(0))
                .description(Some(description))
        };
        ObjectBuilder::new()
            .description(Some(
                "A position in a room: the epoch (which changes only when the server lost \
                 its counters) and the sequence number within it, dense from 1.",
            ))
            .property(
                "epoch",
                number(
                    "When the room's sequence began (milliseconds since 1970); 0 for a room \
                     without any entry yet.",
                ),
            )
            .required("epoch")
            .property(
                "position",
                number("The entry's number within its epoch, from 1; 0 before the first entry."),
            )
            .required("position")
            .into()
    }
}

impl utoipa::ToSchema for Position {}

impl Position {
    /// Nothing seen yet: what a room without entries reports, and what a client that
    /// wants everything of the room's current epoch resumes from.
    pub const NOTHING: Self = Self { epoch: 0, seq: 0 };

    pub const fn new(epoch: u64, seq: u64) -> Self {
        Self { epoch, seq }
    }

    /// The position right after this one, in the same epoch.
    #[must_use]
    pub const fn next(self) -> Self {
        Self {
            epoch: self.epoch,
            seq: self.seq + 1,
        }
    }

    /// The position right before this one (itself at the start of an epoch).
    #[must_use]
    pub const fn previous(self) -> Self {
        Self {
            epoch: self.epoch,
            seq: self.seq.saturating_sub(1),
        }
    }

    pub const fn is_nothing(self) -> bool {
        self.epoch == 0 && self.seq == 0
    }
}

impl fmt::Display for Position {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.epoch, self.seq)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn positions_order_by_epoch_then_seq() {
        let a = Position::new(5, 9);
        assert!(a < a.next());
        assert!(a < Position::new(6, 1));
        assert_eq!(a.next().previous(), a);
        assert_eq!(Position::new(5, 0).previous(), Position::new(5, 0));
        assert_eq!(a.to_string(), "5:9");
    }

    #[test]
    fn on_the_wire_a_position_is_epoch_and_position() {
        let json = serde_json::to_value(Position::new(3, 7)).unwrap();
        assert_eq!(json, serde_json::json!({"epoch": 3, "position": 7}));
        assert!(serde_json::from_value::<Position>(serde_json::json!({"epoch": 1})).is_err());
    }
}
