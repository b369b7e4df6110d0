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

/// Room for the text of a [`Timestamp`] of years 0 to 9999.
const TEXT_LEN: usize = "2026-11-21T06:00:00.123Z".len();

impl Timestamp {
    /// The text, written digit by digit into `buf` (every frame carries times, and the
    /// formatting machinery costs several times this); `None` for a year outside 0-9999.
    fn text<'a>(&self, buf: &'a mut [u8; TEXT_LEN]) -> Option<&'a str> {
        let (year, month, day) = self.0.to_calendar_date();
        let (hour, minute, second, milli) = self.0.to_hms_milli();
        let year = u16::try_from(year).ok().filter(|year| *year <= 9999)?;
        let mut at = 0;
        let mut digits = |value: u16, width: u32, after: u8| {
            for place in (0..width).rev() {
                buf[at] = b'0' + u8::try_from(value / 10u16.pow(place) % 10).unwrap_or(0);
                at += 1;
            }
            buf[at] = after;
            at += 1;
        };
        digits(year, 4, b'-');
        digits(u16::from(u8::from(month)), 2, b'-');
        digits(u16::from(day), 2, b'T');
        digits(u16::from(hour), 2, b':');
        digits(u16::from(minute), 2, b':');
        digits(u16::from(second), 2, b'.');
        digits(milli, 3, b'Z');
        std::str::from_utf8(buf).ok()
    }
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Always three fractional digits, so the text sorts as the instants do.
        match self.text(&mut [0; TEXT_LEN]) {
            Some(text) => f.write_str(text),
            None => write_formatted(self.0, f),
        }
    }
}

/// The text by the formatter: any year (and what [`Timestamp::text`] is checked against).
fn write_formatted(at: OffsetDateTime, out: &mut impl fmt::Write) -> fmt::Result {
    write!(
        out,
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

impl std::str::FromStr for Timestamp {
    type Err = time::error::Parse;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        OffsetDateTime::parse(s, &Rfc3339).map(Self::new)
    }
}

impl Serialize for Timestamp {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self.text(&mut [0; TEXT_LEN]) {
            Some(text) => serializer.serialize_str(text),
            None => serializer.collect_str(self),
        }
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

    #[test]
    fn the_digits_written_are_those_the_formatter_writes() {
        let formatted = |at: OffsetDateTime| {
            let mut text = String::new();
            write_formatted(at, &mut text).unwrap();
            text
        };
        let instants = [
            datetime!(0000-01-01 00:00:00 UTC),
            datetime!(0001-02-03 04:05:06.007 UTC),
            datetime!(1970-01-01 00:00:00 UTC),
            datetime!(2024-02-29 23:59:59.999 UTC),
            datetime!(2026-12-05 09:10:11.010 UTC),
            datetime!(9999-12-31 23:59:59.999 UTC),
        ];
        // And one instant every 37 hours, 13 minutes and some milliseconds for 300 years.
        let stepped = (0..72_000).map(|step| {
            datetime!(1900-01-01 00:00:00 UTC)
                + time::Duration::milliseconds(step * (37 * 3_600_000 + 13 * 60_000 + 321))
        });
        for at in instants.into_iter().chain(stepped) {
            let at = Timestamp::new(at);
            assert_eq!(at.to_string(), formatted(at.0));
            assert_eq!(
                serde_json::to_string(&at).unwrap(),
                format!("\"{}\"", formatted(at.0))
            );
        }
    }
}
