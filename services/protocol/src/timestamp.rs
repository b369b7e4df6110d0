//! The one time format clients read and write: RFC 3339 in UTC with milliseconds
//! (`2026-11-21T06:00:00.123Z`), what a browser's `Date` holds.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

/// An instant, cut to the millisecond.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, schemars::JsonSchema, ts_rs::TS,
)]
#[schemars(with = "String", description = "RFC 3339 in UTC, with milliseconds")]
#[ts(type = "string")]
pub struct Timestamp(OffsetDateTime);

impl Timestamp {
    /// The instant cut to the millisecond, in UTC.
    pub fn new(at: OffsetDateTime) -> Self {
        let at = at.to_offset(time::UtcOffset::UTC);
        let millis = at
            .replace_nanosecond(at.millisecond() as u32 * 1_000_000)
            .unwrap_or(at);
        Self(millis)
    }

    pub fn now() -> Self {
        Self::new(OffsetDateTime::now_utc())
    }

    /// From seconds and nanoseconds since 1970 (a protobuf timestamp); `None` when out
    /// of range.
    pub fn from_unix(seconds: i64, nanos: i32) -> Option<Self> {
        let nanos = i128::from(seconds) * 1_000_000_000 + i128::from(nanos);
        OffsetDateTime::from_unix_timestamp_nanos(nanos)
            .ok()
            .map(Self::new)
    }

    pub fn as_offset_date_time(&self) -> OffsetDateTime {
        self.0
    }

    /// Seconds since 1970.
    pub fn unix_seconds(&self) -> i64 {
        self.0.unix_timestamp()
    }

    /// From milliseconds since 1970; `None` when out of range.
    pub fn from_unix_millis(millis: i64) -> Option<Self> {
        OffsetDateTime::from_unix_timestamp_nanos(i128::from(millis) * 1_000_000)
            .ok()
            .map(Self::new)
    }

    /// Milliseconds since 1970.
    pub fn unix_millis(&self) -> i64 {
        i64::try_from(self.0.unix_timestamp_nanos() / 1_000_000).unwrap_or(i64::MAX)
    }
}

impl From<OffsetDateTime> for Timestamp {
    fn from(at: OffsetDateTime) -> Self {
        Self::new(at)
    }
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Always three fractional digits, so the text sorts as the instants do.
        let at = self.0;
        write!(
            f,
            "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z",
            at.year(),
            u8::from(at.month()),
            at.day(),
            at.hour(),
            at.minute(),
            at.second(),
            at.millisecond()
        )
    }
}

impl std::str::FromStr for Timestamp {
    type Err = time::error::Parse;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        OffsetDateTime::parse(s, &Rfc3339).map(Self::new)
    }
}

impl Serialize for Timestamp {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Timestamp {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = <std::borrow::Cow<'de, str>>::deserialize(deserializer)?;
        text.parse()
            .map_err(|_| serde::de::Error::custom("must be an RFC 3339 date and time"))
    }
}

impl utoipa::PartialSchema for Timestamp {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        utoipa::openapi::ObjectBuilder::new()
            .schema_type(utoipa::openapi::schema::Type::String)
            .format(Some(utoipa::openapi::SchemaFormat::KnownFormat(
                utoipa::openapi::KnownFormat::DateTime,
            )))
            .description(Some("RFC 3339 in UTC, with milliseconds"))
            .into()
    }
}

impl utoipa::ToSchema for Timestamp {}

#[cfg(test)]
mod tests {
    use time::macros::datetime;

    use super::*;

    #[test]
    fn instants_are_written_in_utc_with_milliseconds() {
        let at = Timestamp::new(datetime!(2026-11-21 07:00:00.123456789 +01:00));
        assert_eq!(at.to_string(), "2026-11-21T06:00:00.123Z");
        assert_eq!(
            Timestamp::new(datetime!(2026-11-21 06:00:00 UTC)).to_string(),
            "2026-11-21T06:00:00.000Z"
        );
        let json = serde_json::to_string(&at).unwrap();
        assert_eq!(serde_json::from_str::<Timestamp>(&json).unwrap(), at);
        assert!(serde_json::from_str::<Timestamp>("\"yesterday\"").is_err());
        assert_eq!(
            Timestamp::from_unix(1_700_000_000, 123_456_789)
                .unwrap()
                .to_string(),
            "2023-11-14T22:13:20.123Z"
        );
        assert!(Timestamp::from_unix(i64::MAX, 0).is_none());
    }
}
