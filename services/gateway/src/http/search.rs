//! Message search over REST (the same as the socket's `search`).

use axum::extract::State;
use chat_protocol::ErrorBody;
use chat_protocol::search::{SearchQuery, SearchResults};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::extract::{Json, Query};
use crate::access::AuthenticatedUser;
use crate::client_error::ClientError;
use crate::core::realtime::Realtime;
use crate::state::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(search_messages))
}

/// Full-text search over the messages of the rooms the caller is a member of now (or of
/// one of them), newest first. `q` takes the syntax of a web search: words (all must
/// match), `"a phrase"`, `-word` to exclude, `or` between alternatives; words match
/// whole, in any case, in any language. Deleted messages never match; edited ones match
/// by their text now. Each result carries the passage that matched, the matched words
/// marked. Pages follow with `cursor` (stable while new messages arrive).
#[utoipa::path(
    get,
    path = "/api/search/messages",
    tag = "messages",
    params(SearchQuery),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "A page of results, newest first", body = SearchResults),
        (status = 401, description = "`unauthenticated`, `invalid_token` or `token_expired`", body = ErrorBody),
        (status = 403, description = "`not_a_member` of this public room", body = ErrorBody),
        (status = 404, description = "`room_not_found` (or a private room the caller is not in)", body = ErrorBody),
        (status = 422, description = "`invalid_query` (an unknown or malformed parameter), or `validation_failed`: `q` empty or too long, `limit` out of range, `cursor` not one of this search", body = ErrorBody),
        (status = 503, description = "`unavailable`", body = ErrorBody),
    )
)]
async fn search_messages(
    State(realtime): State<Realtime>,
    user: AuthenticatedUser,
    Query(query): Query<SearchQuery>,
) -> Result<Json<SearchResults>, ClientError> {
    let user_id = user.id()?;
    Ok(Json(realtime.search().search(user_id, &query).await?))
}
