//! Instants between the services: protobuf timestamps to and from `OffsetDateTime`, in
//! one place. What clients read is `chat_protocol::Timestamp` (milliseconds, UTC).

use prost_types::Timestamp;
use time::OffsetDateTime;

/// An instant as a protobuf timestamp.
pub fn to_proto(at: OffsetDateTime) -> Timestamp {
    Timestamp {
        seconds: at.unix_timestamp(),
        nanos: i32::try_from(at.nanosecond()).unwrap_or_default(),
    }
}

/// A protobuf timestamp as an instant; `None` outside the years 1 to 9999 (the range
/// protobuf allows, which PostgreSQL also holds).
pub fn from_proto(at: &Timestamp) -> Option<OffsetDateTime> {
    let nanos = i128::from(at.seconds) * 1_000_000_000 + i128::from(at.nanos);
    OffsetDateTime::from_unix_timestamp_nanos(nanos)
        .ok()
        .filter(|at| at.year() >= 1)
}

#[cfg(test)]
mod tests {
    use time::macros::datetime;

    use super::*;

    #[test]
    fn instants_survive_the_round_trip() {
        for at in [
            datetime!(2026-11-21 10:15:30.123456789 UTC),
            datetime!(1969-12-31 23:59:59.5 UTC),
        ] {
            assert_eq!(from_proto(&to_proto(at)), Some(at));
        }
        assert_eq!(
            from_proto(&Timestamp {
                seconds: i64::MAX,
                nanos: 0
            }),
            None
        );
    }
}
