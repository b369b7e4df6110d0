//! What the room and member routes share: the caller and path ids as the rooms service
//! expects them, page queries and their bounds, and the rooms service's refusals as
//! clients read them.

use chat_proto::v1 as proto;
use chat_protocol::ids::parse_uuid;
use serde::Deserialize;
use utoipa::IntoParams;

use chat_protocol::UserId;

use crate::access::AuthenticatedUser;
use crate::client_error::ClientError;
use crate::state::AppState;

/// Page size when the client names none.
pub const PAGE_LIMIT_DEFAULT: u32 = 50;
/// The largest page a client may ask for.
pub const PAGE_LIMIT_MAX: u32 = 100;

/// A page of a listing: `GET /api/rooms/mine`, `GET /api/rooms/{id}/members`.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct PageQuery {
    /// `next_cursor` of the previous page.
    pub cursor: Option<String>,
    /// 1 to 100, default 50.
    #[param(minimum = 1, maximum = 100)]
    pub limit: Option<u32>,
}

/// The caller's id as the services expect it. Tokens carry UUIDs; one that does not is
/// not a token this system issued.
pub(super) fn caller(user: &AuthenticatedUser) -> Result<String, ClientError> {
    parse_uuid(&user.user_id)
        .map(|id| id.to_string())
        .map_err(|_| ClientError::from(chat_runtime::token::TokenError::Invalid))
}

/// A room id from the path; one that cannot be a UUID names no room.
pub(super) fn room_id(id: &str) -> Result<String, ClientError> {
    parse_uuid(id)
        .map(|id| id.to_string())
        .map_err(|_| ClientError::room_not_found())
}

/// A room id from the path, typed; one that cannot be a UUID names no room.
pub(super) fn path_room(id: &str) -> Result<chat_protocol::RoomId, ClientError> {
    id.parse().map_err(|_| ClientError::room_not_found())
}

/// A page size: default 50, at most 100.
pub(super) fn page_limit(limit: Option<u32>) -> Result<u32, ClientError> {
    let limit = limit.unwrap_or(PAGE_LIMIT_DEFAULT);
    if (1..=PAGE_LIMIT_MAX).contains(&limit) {
        Ok(limit)
    } else {
        Err(ClientError::validation([(
            "limit",
            format!("must be between 1 and {PAGE_LIMIT_MAX}"),
        )]))
    }
}

/// A refusal of the rooms service, its fields named as the client spells them.
pub(super) fn rooms_error(status: tonic::Status) -> ClientError {
    ClientError::from(status).rename_field("query", "search")
}

/// Fails with 404 `user_not_found` unless auth knows the user. The rooms service knows
/// users only by id, so the gateway asks before making anyone a member of anything.
pub(super) async fn ensure_user_exists(
    state: &AppState,
    user_id: UserId,
) -> Result<(), ClientError> {
    state
        .clients
        .auth
        .clone()
        .get_user(proto::GetUserRequest {
            user_id: user_id.to_string(),
            include_email: false,
        })
        .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn page_sizes_are_bounded() {
        assert_eq!(page_limit(None).unwrap(), PAGE_LIMIT_DEFAULT);
        assert_eq!(page_limit(Some(1)).unwrap(), 1);
        assert_eq!(page_limit(Some(100)).unwrap(), 100);
        assert!(page_limit(Some(0)).is_err());
        assert!(page_limit(Some(101)).is_err());
    }
}
