//! What serde says about bad input, as clients read it: the field at fault and a message
//! without the parser's line and column. Shared by frames and REST bodies and queries.

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
