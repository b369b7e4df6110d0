//! Message search for a user: the query checked here, the rooms it covers (one the user
//! is a member of, or every room they are in now), and the search itself in history.
//! A room the user left is never searched: its rooms are read at every search.

use chat_proto::v1::SearchMessagesRequest;
use chat_protocol::search::{
    MAX_QUERY_CHARS, MAX_RESULTS, SearchHit, SearchQuery, SearchResults, SnippetPart,
};
use chat_protocol::{RoomId, UserId};
use uuid::Uuid;

use crate::core::clients::HistoryClient;
use crate::core::messages::{MessageError, Messages};
use crate::core::render::stored_message;
use crate::core::rooms::Rooms;

/// The most rooms one search covers (history's limit); a user in more has the first
/// thousand the rooms service lists searched.
const MAX_ROOMS: usize = 1000;

/// Searches messages. Cheap to clone.
#[derive(Clone)]
pub struct MessageSearch {
    history: HistoryClient,
    rooms: Rooms,
    messages: Messages,
}

impl MessageSearch {
    pub fn new(history: HistoryClient, rooms: Rooms, messages: Messages) -> Self {
        Self {
            history,
            rooms,
            messages,
        }
    }

    /// A page of what `user` finds with `query`, newest first.
    #[tracing::instrument(name = "search.messages", skip(self, query), fields(room = ?query.room))]
    pub async fn search(
        &self,
        user: UserId,
        query: &SearchQuery,
    ) -> Result<SearchResults, MessageError> {
        let text = checked_text(&query.q)?;
        let limit = match query.limit {
            None => 0,
            Some(limit @ 1..=MAX_RESULTS) => limit,
            Some(_) => {
                return Err(invalid(
                    "limit",
                    format!("must be between 1 and {MAX_RESULTS}"),
                ));
            }
        };
        let older_than = query
            .cursor
            .as_deref()
            .map(|cursor| {
                Uuid::parse_str(cursor)
                    .map_err(|_| invalid("cursor", "must be a next_cursor of this search".into()))
            })
            .transpose()?;
        let rooms = self.rooms_of(user, query.room).await?;
        let timestamp = |at: chat_protocol::timestamp::Timestamp| {
            chat_runtime::time::to_proto(at.as_offset_date_time())
        };
        let answer = self
            .history
            .clone()
            .search_messages(SearchMessagesRequest {
                query: text.to_owned(),
                room_ids: rooms.iter().map(ToString::to_string).collect(),
                sender_id: query.sender.map(|sender| sender.to_string()),
                before: query.before.map(timestamp),
                after: query.after.map(timestamp),
                older_than: older_than.map(|id| id.to_string()),
                limit,
                viewer_id: user.to_string(),
            })
            .await
            .map_err(|status| {
                tracing::warn!(code = ?status.code(), message = %status.message(), "search failed");
                MessageError::Unavailable
            })?
            .into_inner();
        let results: Vec<SearchHit> = answer
            .hits
            .into_iter()
            .filter_map(|hit| {
                Some(SearchHit {
                    message: stored_message(hit.message?)?,
                    snippet: hit
                        .snippet
                        .into_iter()
                        .map(|part| SnippetPart {
                            text: part.text,
                            matched: part.matched,
                        })
                        .collect(),
                })
            })
            .collect();
        let next_cursor = answer
            .more
            .then(|| results.last().map(|hit| hit.message.id.to_string()))
            .flatten();
        Ok(SearchResults {
            results,
            next_cursor,
        })
    }

    /// The rooms a search covers: `room` when the user is a member of it, else all of
    /// theirs.
    async fn rooms_of(
        &self,
        user: UserId,
        room: Option<RoomId>,
    ) -> Result<Vec<Uuid>, MessageError> {
        if let Some(room) = room {
            self.messages
                .require_member(room.as_uuid(), user.as_uuid())
                .await?;
            return Ok(vec![room.as_uuid()]);
        }
        let mut rooms: Vec<Uuid> = self
            .rooms
            .memberships_of(user)
            .await
            .map_err(|status| {
                tracing::warn!(code = ?status.code(), message = %status.message(), "memberships unknown");
                MessageError::Unavailable
            })?
            .rooms
            .into_iter()
            .map(|room: RoomId| room.as_uuid())
            .collect();
        rooms.truncate(MAX_ROOMS);
        Ok(rooms)
    }
}

/// The query text, trimmed, when it is one a search takes.
fn checked_text(q: &str) -> Result<&str, MessageError> {
    let text = q.trim();
    if text.is_empty() {
        return Err(invalid("q", "must not be empty".into()));
    }
    if text.chars().count() > MAX_QUERY_CHARS {
        return Err(invalid(
            "q",
            format!("must be at most {MAX_QUERY_CHARS} characters"),
        ));
    }
    if text.chars().any(|c| c == '\0') {
        return Err(invalid("q", "must not contain NUL".into()));
    }
    Ok(text)
}

fn invalid(field: &'static str, message: String) -> MessageError {
    MessageError::InvalidField { field, message }
}
