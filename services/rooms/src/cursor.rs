//! Opaque keyset cursors: the sort key `(timestamp, id)` of the last row of a page.
//!
//! The next page starts strictly after that key, so rows added or removed between pages
//! never shift the rows that follow: no row that existed at the first page is skipped or
//! repeated. The encoding is a version byte, the timestamp in microseconds (PostgreSQL's
//! precision, so the round trip is exact) and the 16 id bytes, in URL-safe base64.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use time::OffsetDateTime;
use time::macros::datetime;
use uuid::Uuid;

const VERSION: u8 = 1;
const ENCODED_LEN: usize = 1 + 8 + 16;

/// A position between two rows of a listing sorted by `(at, id)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cursor {
    pub at: OffsetDateTime,
    pub id: Uuid,
}

impl Cursor {
    /// Before every row, for listings in ascending order.
    pub const FIRST: Self = Self {
        at: datetime!(0001-01-01 0:00 UTC),
        id: Uuid::nil(),
    };

    /// After every row, for listings in descending order.
    pub const LAST: Self = Self {
        at: datetime!(9999-12-31 23:59:59 UTC),
        id: Uuid::max(),
    };

    pub fn new(at: OffsetDateTime, id: Uuid) -> Self {
        Self { at, id }
    }

    pub fn encode(&self) -> String {
        let micros = (self.at.unix_timestamp_nanos() / 1_000) as i64;
        let mut bytes = Vec::with_capacity(ENCODED_LEN);
        bytes.push(VERSION);
        bytes.extend_from_slice(&micros.to_be_bytes());
        bytes.extend_from_slice(self.id.as_bytes());
        URL_SAFE_NO_PAD.encode(bytes)
    }

    pub fn decode(value: &str) -> Result<Self, String> {
        const WHY: &str = "is not a cursor returned by this listing";
        let bytes = URL_SAFE_NO_PAD
            .decode(value.trim())
            .map_err(|_| WHY.to_owned())?;
        if bytes.len() != ENCODED_LEN || bytes[0] != VERSION {
            return Err(WHY.into());
        }
        let micros = i64::from_be_bytes(bytes[1..9].try_into().map_err(|_| WHY.to_owned())?);
        let at = OffsetDateTime::from_unix_timestamp_nanos(i128::from(micros) * 1_000)
            .map_err(|_| WHY.to_owned())?;
        let id = Uuid::from_slice(&bytes[9..]).map_err(|_| WHY.to_owned())?;
        Ok(Self { at, id })
    }

    /// Reads an optional cursor, starting at `start` without one.
    pub fn decode_or(value: Option<&str>, start: Self) -> Result<Self, String> {
        match value {
            Some(value) if !value.trim().is_empty() => Self::decode(value),
            _ => Ok(start),
        }
    }
}

/// One page out of `limit + 1` fetched rows: the extra row only tells that more follow.
/// Returns the rows to send and the cursor after the last of them, if more follow.
pub fn page<T>(
    mut rows: Vec<T>,
    limit: u32,
    key: impl Fn(&T) -> Cursor,
) -> (Vec<T>, Option<String>) {
    let limit = limit as usize;
    if rows.len() <= limit {
        return (rows, None);
    }
    rows.truncate(limit);
    let next = rows.last().map(|row| key(row).encode());
    (rows, next)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cursor_round_trips_to_the_microsecond() {
        let at = OffsetDateTime::from_unix_timestamp_nanos(1_763_700_000_123_456_000).unwrap();
        let cursor = Cursor::new(at, Uuid::now_v7());
        assert_eq!(Cursor::decode(&cursor.encode()), Ok(cursor));
    }

    #[test]
    fn the_bounds_round_trip() {
        for cursor in [Cursor::FIRST, Cursor::LAST] {
            assert_eq!(Cursor::decode(&cursor.encode()), Ok(cursor));
        }
    }

    #[test]
    fn garbage_is_refused() {
        assert!(Cursor::decode("").is_err());
        assert!(Cursor::decode("!!!").is_err());
        assert!(Cursor::decode(&URL_SAFE_NO_PAD.encode([1u8; 10])).is_err());
        let mut wrong_version = vec![2u8];
        wrong_version.extend_from_slice(&[0; 24]);
        assert!(Cursor::decode(&URL_SAFE_NO_PAD.encode(wrong_version)).is_err());
    }

    #[test]
    fn an_absent_cursor_starts_at_the_given_end() {
        assert_eq!(Cursor::decode_or(None, Cursor::LAST), Ok(Cursor::LAST));
        assert_eq!(
            Cursor::decode_or(Some(""), Cursor::FIRST),
            Ok(Cursor::FIRST)
        );
    }

    #[test]
    fn a_page_has_a_next_cursor_only_when_more_rows_follow() {
        let key = |n: &i64| {
            Cursor::new(
                OffsetDateTime::from_unix_timestamp(*n).unwrap(),
                Uuid::nil(),
            )
        };
        let (rows, next) = page(vec![1, 2, 3], 3, key);
        assert_eq!((rows, next), (vec![1, 2, 3], None));

        let (rows, next) = page(vec![1, 2, 3, 4], 3, key);
        assert_eq!(rows, vec![1, 2, 3]);
        assert_eq!(Cursor::decode(&next.unwrap()), Ok(key(&3)));
    }
}
