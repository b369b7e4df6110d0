//! Which bytes of a blob a download serves: one HTTP byte range (RFC 9110, section 14.1.2)
//! resolved against the blob's length.

use std::ops::Range;

use chat_proto::v1::ByteRange as ProtoRange;

/// One byte range as an HTTP `Range` header names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ByteRange {
    /// `bytes=first-last` (inclusive), or `bytes=first-` without `last`.
    From { first: u64, last: Option<u64> },
    /// `bytes=-length`: the last `length` bytes.
    Suffix(u64),
}

/// A range that cannot be served (HTTP 416).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Unsatisfiable;

impl ByteRange {
    /// The range a request names; `Unsatisfiable` for a combination HTTP cannot write.
    pub fn from_proto(range: &ProtoRange) -> Result<Self, Unsatisfiable> {
        match (range.first, range.last, range.suffix) {
            (Some(first), last, None) => Ok(Self::From { first, last }),
            (None, None, Some(length)) => Ok(Self::Suffix(length)),
            _ => Err(Unsatisfiable),
        }
    }

    /// The bytes served of a blob of `size` bytes, end exclusive.
    pub fn resolve(self, size: u64) -> Result<Range<u64>, Unsatisfiable> {
        match self {
            Self::From { first, .. } if first >= size => Err(Unsatisfiable),
            Self::From {
                first,
                last: Some(last),
            } if last < first => Err(Unsatisfiable),
            Self::From { first, last } => {
                let end = last.map_or(size, |last| last.saturating_add(1).min(size));
                Ok(first..end)
            }
            Self::Suffix(0) => Err(Unsatisfiable),
            Self::Suffix(_) if size == 0 => Err(Unsatisfiable),
            Self::Suffix(length) => Ok(size.saturating_sub(length)..size),
        }
    }
}

/// What a download serves: all of a blob without a range.
pub fn served(range: Option<&ProtoRange>, size: u64) -> Result<Range<u64>, Unsatisfiable> {
    match range {
        None => Ok(0..size),
        Some(range) => ByteRange::from_proto(range)?.resolve(size),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn proto(first: Option<u64>, last: Option<u64>, suffix: Option<u64>) -> ProtoRange {
        ProtoRange {
            first,
            last,
            suffix,
        }
    }

    #[test]
    fn ranges_resolve_as_http_says() {
        for (range, size, expected) in [
            (None, 100, Ok(0..100)),
            (None, 0, Ok(0..0)),
            (Some(proto(Some(0), Some(0), None)), 100, Ok(0..1)),
            (Some(proto(Some(10), Some(19), None)), 100, Ok(10..20)),
            (Some(proto(Some(10), None, None)), 100, Ok(10..100)),
            (Some(proto(Some(90), Some(500), None)), 100, Ok(90..100)),
            (
                Some(proto(Some(99), Some(u64::MAX), None)),
                100,
                Ok(99..100),
            ),
            (Some(proto(Some(100), None, None)), 100, Err(Unsatisfiable)),
            (Some(proto(Some(0), None, None)), 0, Err(Unsatisfiable)),
            (
                Some(proto(Some(20), Some(10), None)),
                100,
                Err(Unsatisfiable),
            ),
            (Some(proto(None, None, Some(10))), 100, Ok(90..100)),
            (Some(proto(None, None, Some(500))), 100, Ok(0..100)),
            (Some(proto(None, None, Some(0))), 100, Err(Unsatisfiable)),
            (Some(proto(None, None, Some(5))), 0, Err(Unsatisfiable)),
            (Some(proto(None, Some(5), None)), 100, Err(Unsatisfiable)),
            (Some(proto(Some(1), None, Some(5))), 100, Err(Unsatisfiable)),
            (Some(proto(None, None, None)), 100, Err(Unsatisfiable)),
        ] {
            assert_eq!(
                served(range.as_ref(), size),
                expected,
                "{range:?} of {size}"
            );
        }
    }
}
