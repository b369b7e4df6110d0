//! Users as clients see them, and the routes that look others up: by id, and by a
//! name prefix (for mentions and invitations).

use anyhow::Context as _;
use axum::extract::State;
use chat_proto::v1::{GetUserRequest, GetUsersRequest, SearchUsersRequest};
use chat_protocol::ids::parse_uuid;
use serde::Deserialize;
use utoipa::IntoParams;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use chat_protocol::account::{Me, User, UserList};
use chat_protocol::{ErrorBody, ErrorCode, UserId};

use super::extract::{Json, Path, Query};
use crate::access::AuthenticatedUser;
use crate::client_error::ClientError;
use crate::core::render;
use crate::state::AppState;

/// A user auth sent, as every signed-in user sees them.
pub(super) fn user_view(user: chat_proto::v1::User) -> Result<User, ClientError> {
    Ok(User {
        id: user.id.parse().context("auth sent a bad user id")?,
        username: user.username,
        display_name: user.display_name,
        avatar_url: user.avatar_url,
        bio: user.bio,
        created_at: render::required_timestamp(user.created_at)
            .context("auth sent a bad created_at")?,
        presence: None,
    })
}

/// The caller's own account as auth sent it (with the email).
pub(super) fn me_view(mut user: chat_proto::v1::User) -> Result<Me, ClientError> {
    let email = user
        .email
        .take()
        .context("auth sent the caller's own user without an email")?;
    let show_presence = user.show_presence;
    let send_read_receipts = user.send_read_receipts;
    let email_verified = user.email_verified;
    Ok(Me {
        user: user_view(user)?,
        email,
        show_presence,
        send_read_receipts,
        email_verified,
        notification_level: None,
    })
}

/// The most results one search returns.
pub const SEARCH_LIMIT_MAX: u32 = 50;
/// Results returned when the client names no limit.
pub const SEARCH_LIMIT_DEFAULT: u32 = 20;

/// Query of `GET /api/users`.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct UserSearch {
    /// Case-insensitive prefix of a username or display name. Give `search` or `ids`.
    pub search: Option<String>,
    /// Comma-separated user ids, up to 100: those users (for a timeline's senders, in
    /// one request); ids of nobody are left out.
    pub ids: Option<String>,
    /// How many users to return: 1 to 50, default 20.
    #[param(minimum = 1, maximum = 50)]
    pub limit: Option<u32>,
}

/// The user routes, documented.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(get_user))
        .routes(routes!(search_users))
}

/// A user's public profile.
#[utoipa::path(
    get,
    path = "/api/users/{id}",
    tag = "users",
    security(("bearer" = [])),
    params(("id" = String, Path, format = Uuid, description = "The user's id")),
    responses(
        (status = 200, description = "The user", body = User),
        (status = 401, description = "No valid access token", body = ErrorBody),
        (status = 404, description = "`user_not_found`", body = ErrorBody),
    )
)]
async fn get_user(
    State(state): State<AppState>,
    _caller: AuthenticatedUser,
    Path(id): Path<String>,
) -> Result<Json<User>, ClientError> {
    // An id that is not a UUID names nobody; no need to ask auth.
    if parse_uuid(&id).is_err() {
        return Err(ClientError::new(ErrorCode::UserNotFound, "no such user"));
    }
    let user = state
        .clients
        .auth
        .clone()
        .get_user(GetUserRequest {
            user_id: id,
            include_email: false,
        })
        .await?
        .into_inner();
    let mut user = user_view(user)?;
    // Best effort: a profile without presence beats no profile.
    user.presence = state
        .realtime
        .presence()
        .query(&[user.id])
        .await
        .ok()
        .and_then(|mut found| found.pop());
    Ok(Json(user))
}

/// Users whose username or display name starts with a prefix (case-insensitive), or the
/// users of a list of ids.
#[utoipa::path(
    get,
    path = "/api/users",
    tag = "users",
    security(("bearer" = [])),
    params(UserSearch),
    responses(
        (status = 200, description = "Matching users", body = UserList),
        (status = 401, description = "No valid access token", body = ErrorBody),
        (status = 422, description = "`invalid_query` or `validation_failed`", body = ErrorBody),
    )
)]
async fn search_users(
    State(state): State<AppState>,
    _caller: AuthenticatedUser,
    Query(query): Query<UserSearch>,
) -> Result<Json<UserList>, ClientError> {
    let prefix = match (query.search, query.ids) {
        (Some(_), Some(_)) => {
            return Err(ClientError::validation([(
                "ids",
                "cannot be given with `search`; give one",
            )]));
        }
        (None, Some(ids)) => return users_by_id(&state, &ids).await.map(Json),
        (None, None) => {
            return Err(ClientError::new(
                ErrorCode::InvalidQuery,
                "give `search` (a name prefix) or `ids`",
            )
            .with_fields([("search", "missing; or give `ids`")]));
        }
        (Some(prefix), None) => prefix,
    };
    let limit = query.limit.unwrap_or(SEARCH_LIMIT_DEFAULT);
    if !(1..=SEARCH_LIMIT_MAX).contains(&limit) {
        return Err(ClientError::validation([(
            "limit",
            format!("must be between 1 and {SEARCH_LIMIT_MAX}"),
        )]));
    }
    let found = state
        .clients
        .auth
        .clone()
        .search_users(SearchUsersRequest { prefix, limit })
        .await
        .map_err(|status| ClientError::from(status).rename_field("prefix", "search"))?
        .into_inner();
    let users = found
        .users
        .into_iter()
        .map(user_view)
        .collect::<Result<_, _>>()?;
    Ok(Json(UserList { users }))
}

/// The most ids one lookup takes.
pub const IDS_MAX: usize = 100;

/// The users of `ids` (comma-separated UUIDs).
async fn users_by_id(state: &AppState, ids: &str) -> Result<UserList, ClientError> {
    let ids: Vec<UserId> = ids
        .split(',')
        .map(str::trim)
        .filter(|id| !id.is_empty())
        .map(|id| {
            id.parse().map_err(|_| {
                ClientError::new(ErrorCode::InvalidQuery, format!("`{id}` is not a user id"))
                    .with_fields([("ids", "must be comma-separated user ids")])
            })
        })
        .collect::<Result<_, _>>()?;
    if ids.is_empty() || ids.len() > IDS_MAX {
        return Err(ClientError::validation([(
            "ids",
            format!("must name 1 to {IDS_MAX} users"),
        )]));
    }
    let found = state
        .clients
        .auth
        .clone()
        .get_users(GetUsersRequest {
            user_ids: ids.iter().map(ToString::to_string).collect(),
            usernames: Vec::new(),
        })
        .await?
        .into_inner();
    let users = found
        .users
        .into_iter()
        .map(user_view)
        .collect::<Result<_, _>>()?;
    Ok(UserList { users })
}
