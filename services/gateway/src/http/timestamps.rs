//! Protobuf timestamps as the RFC 3339 instants clients read and write.

use anyhow::Context as _;
use prost_types::Timestamp;
use time::OffsetDateTime;

/// The instant a service sent; absent or out of range is the service's bug.
pub fn from_proto(at: Option<Timestamp>) -> anyhow::Result<OffsetDateTime> {
    let at = at.context("the timestamp is missing")?;
    let nanos = i128::from(at.seconds) * 1_000_000_000 + i128::from(at.nanos);
    OffsetDateTime::from_unix_timestamp_nanos(nanos).context("the timestamp is out of range")
}

/// The instant a client sent, for a service.
pub fn to_proto(at: OffsetDateTime) -> Timestamp {
    Timestamp {
        seconds: at.unix_timestamp(),
        nanos: i32::try_from(at.nanosecond()).unwrap_or_default(),
    }
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
            assert_eq!(from_proto(Some(to_proto(at))).unwrap(), at);
        }
        assert!(from_proto(None).is_err());
        assert!(
            from_proto(Some(Timestamp {
                seconds: i64::MAX,
                nanos: 0
            }))
            .is_err()
        );
    }
}
