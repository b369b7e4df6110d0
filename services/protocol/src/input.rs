//! What serde says about bad input, as clients read it: the field at fault and a message
//! without the parser's line and column; and the NUL character, which no text field
//! takes (PostgreSQL cannot store it). Shared by frames and REST bodies and queries.

use serde::de::{Deserialize, Deserializer, Error as _, MapAccess, SeqAccess, Visitor};

/// Why text with a NUL character is refused, wherever it is.
pub const NUL_MESSAGE: &str = "must not contain the NUL character (U+0000)";

/// serde_json appends ` at line L column C`; the field name says more to an API client.
pub fn without_position(message: &str) -> String {
    match message.rfind(" at line ") {
        Some(at) => message[..at].to_owned(),
        None => message.to_owned(),
    }
}

/// The field an error is about: the path where it happened, or the field a
/// "missing field `x`" / "unknown field `x`" message names inside that path.
pub fn field_of(path: &str, message: &str) -> Option<String> {
    let parent = (path != ".").then_some(path);
    let named = ["missing field `", "unknown field `"]
        .iter()
        .find_map(|prefix| message.strip_prefix(prefix))
        .and_then(|rest| rest.split_once('`'))
        .map(|(name, _)| name);
    match (parent, named) {
        (Some(parent), Some(name)) if parent == name || parent.ends_with(&format!(".{name}")) => {
            Some(parent.to_owned())
        }
        (Some(parent), Some(name)) => Some(format!("{parent}.{name}")),
        (None, Some(name)) => Some(name.to_owned()),
        (Some(parent), None) => Some(parent.to_owned()),
        (None, None) => None,
    }
}

/// Where a JSON document holds a NUL character in a string or a key: the path of the
/// field (`"."` for the document itself). `None` when it holds none, or is not JSON at
/// all (the caller's own parse says so).
pub fn nul_in(json: &[u8]) -> Option<String> {
    let mut deserializer = serde_json::Deserializer::from_slice(json);
    match serde_path_to_error::deserialize::<_, WithoutNul>(&mut deserializer) {
        Err(err) if err.inner().is_data() => Some(err.path().to_string()),
        _ => None,
    }
}

/// Any JSON value, refused (a data error) when a string or key in it holds a NUL.
struct WithoutNul;

impl<'de> Deserialize<'de> for WithoutNul {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(WithoutNulVisitor)
    }
}

struct WithoutNulVisitor;

impl<'de> Visitor<'de> for WithoutNulVisitor {
    type Value = WithoutNul;

    fn expecting(&self, formatter: &mut std::fmt::Formatter) -> std::fmt::Result {
        formatter.write_str("any JSON value")
    }

    fn visit_bool<E>(self, _: bool) -> Result<WithoutNul, E> {
        Ok(WithoutNul)
    }

    fn visit_i64<E>(self, _: i64) -> Result<WithoutNul, E> {
        Ok(WithoutNul)
    }

    fn visit_u64<E>(self, _: u64) -> Result<WithoutNul, E> {
        Ok(WithoutNul)
    }

    fn visit_f64<E>(self, _: f64) -> Result<WithoutNul, E> {
        Ok(WithoutNul)
    }

    fn visit_unit<E>(self) -> Result<WithoutNul, E> {
        Ok(WithoutNul)
    }

    fn visit_str<E: serde::de::Error>(self, text: &str) -> Result<WithoutNul, E> {
        if text.contains('\0') {
            Err(E::custom(NUL_MESSAGE))
        } else {
            Ok(WithoutNul)
        }
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut items: A) -> Result<WithoutNul, A::Error> {
        while items.next_element::<WithoutNul>()?.is_some() {}
        Ok(WithoutNul)
    }

    fn visit_map<A: MapAccess<'de>>(self, mut entries: A) -> Result<WithoutNul, A::Error> {
        while let Some(key) = entries.next_key::<String>()? {
            if key.contains('\0') {
                return Err(A::Error::custom(NUL_MESSAGE));
            }
            entries.next_value::<WithoutNul>()?;
        }
        Ok(WithoutNul)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_nul_anywhere_is_found_with_its_path() {
        assert_eq!(
            nul_in(br#"{"login": "a\u0000b"}"#).as_deref(),
            Some("login")
        );
        assert_eq!(
            nul_in(br#"{"a": [1, {"b": "x\u0000"}]}"#).as_deref(),
            Some("a[1].b")
        );
        assert_eq!(nul_in(br#""\u0000""#).as_deref(), Some("."));
        assert!(nul_in(br#"{"\u0000": 1}"#).is_some());
        assert_eq!(
            nul_in(br#"{"text": "a\\u0000b", "n": null}"#),
            None,
            "an escaped backslash"
        );
        assert_eq!(nul_in(b"{not json"), None);
    }
}
