//! `POST /api/presence/query`: the presence of up to 500 users at once (what a member
//! list shows before its socket follows changes).

use axum::extract::State;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use chat_protocol::ErrorBody;
use chat_protocol::ErrorCode;
use chat_protocol::presence::{MAX_PRESENCE_USERS, PresenceList, PresenceQuery};

use super::extract::Json;
use crate::access::AuthenticatedUser;
use crate::client_error::ClientError;
use crate::state::AppState;

/// The presence routes, documented.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(query))
}

/// The presence of each user named: `online`, `away` or `offline` with `last_seen`.
/// Unknown ids are `offline` with no `last_seen`.
#[utoipa::path(
    post,
    path = "/api/presence/query",
    tag = "users",
    security(("bearer" = [])),
    request_body = PresenceQuery,
    responses(
        (status = 200, description = "Their presence, in the order asked (duplicates once)", body = PresenceList),
        (status = 401, description = "No valid access token", body = ErrorBody),
        (status = 422, description = "`validation_failed` (more than 500 users) or `invalid_body`", body = ErrorBody),
        (status = 503, description = "`unavailable`: presence cannot be read right now", body = ErrorBody),
    )
)]
async fn query(
    State(state): State<AppState>,
    _caller: AuthenticatedUser,
    Json(body): Json<PresenceQuery>,
) -> Result<Json<PresenceList>, ClientError> {
    if body.user_ids.len() > MAX_PRESENCE_USERS {
        return Err(ClientError::validation([(
            "user_ids",
            format!("at most {MAX_PRESENCE_USERS} users"),
        )]));
    }
    let mut users = body.user_ids;
    let mut seen = std::collections::HashSet::new();
    users.retain(|user| seen.insert(*user));
    let users = state
        .realtime
        .presence()
        .query(&users)
        .await
        .map_err(|err| {
            tracing::warn!(error = %err, "presence not readable");
            ClientError::new(ErrorCode::Unavailable, "presence cannot be read right now")
        })?;
    Ok(Json(PresenceList { users }))
}
