//! Message search: `GET /api/search/messages` and the socket's `search` frame share what
//! they ask (`SearchQuery`) and what they answer (`SearchResults`).

use serde::{Deserialize, Serialize};

use crate::ids::{RoomId, UserId};
use crate::message::MessageView;
use crate::timestamp::Timestamp;

/// The longest query, in characters.
pub const MAX_QUERY_CHARS: usize = 200;
/// The most results one page holds.
pub const MAX_RESULTS: u32 = 50;

/// What to look for: `q` in the syntax of a web search (words, `"a phrase"`, `-word`,
/// `or`), in every room the caller is a member of now or in one.
#[derive(
    Debug,
    Clone,
    PartialEq,
    Serialize,
    Deserialize,
    schemars::JsonSchema,
    ts_rs::TS,
    utoipa::IntoParams,
)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct SearchQuery {
    /// 1 to 200 characters.
    pub q: String,
    /// Only this room (the caller must be a member).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    #[param(value_type = Option<String>)]
    pub room: Option<RoomId>,
    /// Only messages of this user.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    #[param(value_type = Option<String>)]
    pub sender: Option<UserId>,
    /// Only messages sent before this time (RFC 3339).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    #[param(value_type = Option<String>)]
    pub before: Option<Timestamp>,
    /// Only messages sent after this time (RFC 3339).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    #[param(value_type = Option<String>)]
    pub after: Option<Timestamp>,
    /// `next_cursor` of the previous page.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub cursor: Option<String>,
    /// 1 to 50, default 20.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    #[param(minimum = 1, maximum = 50)]
    pub limit: Option<u32>,
}

/// A piece of a result's passage; `matched` pieces are what the query found.
#[derive(
    Debug,
    Clone,
    PartialEq,
    Eq,
    Serialize,
    Deserialize,
    schemars::JsonSchema,
    ts_rs::TS,
    utoipa::ToSchema,
)]
pub struct SnippetPart {
    pub text: String,
    pub matched: bool,
}

/// One message found, with the passage that matched.
#[derive(
    Debug,
    Clone,
    PartialEq,
    Serialize,
    Deserialize,
    schemars::JsonSchema,
    ts_rs::TS,
    utoipa::ToSchema,
)]
pub struct SearchHit {
    pub message: MessageView,
    pub snippet: Vec<SnippetPart>,
}

/// A page of results, newest first.
#[derive(
    Debug,
    Clone,
    PartialEq,
    Serialize,
    Deserialize,
    schemars::JsonSchema,
    ts_rs::TS,
    utoipa::ToSchema,
)]
pub struct SearchResults {
    pub results: Vec<SearchHit>,
    /// The cursor of the next (older) page; null on the last.
    pub next_cursor: Option<String>,
}
