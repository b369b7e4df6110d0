//! Notifications over REST: how much of a room reaches the caller while away
//! (`/api/rooms/{id}/notifications`), the account's level (`PATCH /api/auth/me`), and the
//! browsers to push to (`/api/push/*`). History keeps them and sends the pushes
//! (`chat.v1.NotificationsService`); the gateway checks who asks.

use axum::extract::State;
use axum::http::StatusCode;
use chat_proto::v1::{
    AddPushSubscriptionRequest, DefaultLevelRequest, GetPushConfigRequest,
    RemovePushSubscriptionRequest, RoomKind, RoomNotificationSetting, RoomNotificationsRequest,
    SetDefaultLevelRequest, SetRoomNotificationsRequest,
};
use chat_protocol::ids::parse_uuid;
use chat_protocol::notification::{
    NewPushSubscription, NotificationLevel, PushConfig, PushEndpoint, PushSubscriptionView,
    RoomNotifications, RoomNotificationsUpdate,
};
use chat_protocol::{ErrorBody, ErrorCode, Me, RoomId, Timestamp};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::extract::{Json, Path};
use crate::access::AuthenticatedUser;
use crate::client_error::ClientError;
use crate::state::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(room_notifications, set_room_notifications))
        .routes(routes!(push_config))
        .routes(routes!(add_push_subscription, remove_push_subscription))
}

/// The caller's notification setting for a room they are in, and the level that applies
/// now (`effective`: the room's own level, else the account's; `all` in direct rooms
/// unless the account's is `none`; `none` while muted).
#[utoipa::path(
    get,
    path = "/api/rooms/{id}/notifications",
    tag = "notifications",
    params(("id" = Uuid, Path, description = "The room")),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The setting", body = RoomNotifications),
        (status = 401, description = "`unauthenticated`, `invalid_token` or `token_expired`", body = ErrorBody),
        (status = 403, description = "`not_a_member` of this public room", body = ErrorBody),
        (status = 404, description = "`room_not_found`", body = ErrorBody),
        (status = 503, description = "`unavailable`", body = ErrorBody),
    )
)]
async fn room_notifications(
    State(state): State<AppState>,
    user: AuthenticatedUser,
    Path(id): Path<String>,
) -> Result<Json<RoomNotifications>, ClientError> {
    let (room, direct) = member_room(&state, &user, &id).await?;
    let setting = state
        .clients
        .notifications
        .clone()
        .get_room_notifications(RoomNotificationsRequest {
            user_id: user.user_id.clone(),
            room_id: room.to_string(),
            direct,
        })
        .await?
        .into_inner();
    Ok(Json(room_view(setting)?))
}

/// Replaces the caller's notification setting for a room: its own `level` (absent or
/// `null`: the default) and a mute until a time (absent, `null` or past: not muted).
#[utoipa::path(
    put,
    path = "/api/rooms/{id}/notifications",
    tag = "notifications",
    params(("id" = Uuid, Path, description = "The room")),
    request_body = RoomNotificationsUpdate,
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The setting now", body = RoomNotifications),
        (status = 400, description = "`malformed_json`", body = ErrorBody),
        (status = 401, description = "`unauthenticated`, `invalid_token` or `token_expired`", body = ErrorBody),
        (status = 403, description = "`not_a_member` of this public room", body = ErrorBody),
        (status = 404, description = "`room_not_found`", body = ErrorBody),
        (status = 422, description = "`invalid_body` (an unknown level, a bad time)", body = ErrorBody),
        (status = 503, description = "`unavailable`", body = ErrorBody),
    )
)]
async fn set_room_notifications(
    State(state): State<AppState>,
    user: AuthenticatedUser,
    Path(id): Path<String>,
    Json(body): Json<RoomNotificationsUpdate>,
) -> Result<Json<RoomNotifications>, ClientError> {
    let (room, direct) = member_room(&state, &user, &id).await?;
    let setting = state
        .clients
        .notifications
        .clone()
        .set_room_notifications(SetRoomNotificationsRequest {
            user_id: user.user_id.clone(),
            room_id: room.to_string(),
            direct,
            level: body.level.map(|level| level.as_str().to_owned()),
            muted_until: body
                .muted_until
                .map(|at| chat_runtime::time::to_proto(at.as_offset_date_time())),
        })
        .await?
        .into_inner();
    Ok(Json(room_view(setting)?))
}

/// What a browser needs to subscribe to push notifications: whether this server sends
/// them, and its VAPID public key (`applicationServerKey`).
#[utoipa::path(
    get,
    path = "/api/push/config",
    tag = "notifications",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The push settings", body = PushConfig),
        (status = 401, description = "`unauthenticated`, `invalid_token` or `token_expired`", body = ErrorBody),
        (status = 503, description = "`unavailable`", body = ErrorBody),
    )
)]
async fn push_config(
    State(state): State<AppState>,
    _user: AuthenticatedUser,
) -> Result<Json<PushConfig>, ClientError> {
    let config = state
        .clients
        .notifications
        .clone()
        .get_push_config(GetPushConfigRequest {})
        .await?
        .into_inner();
    Ok(Json(PushConfig {
        enabled: config.vapid_public_key.is_some(),
        vapid_public_key: config.vapid_public_key,
    }))
}

/// Stores this browser's push subscription (`PushSubscription.toJSON()`) for the caller:
/// the same endpoint again takes the new keys (and the caller, when another user had it).
/// The endpoint must be a push service's `https://` URL.
#[utoipa::path(
    post,
    path = "/api/push/subscriptions",
    tag = "notifications",
    request_body = NewPushSubscription,
    security(("bearer" = [])),
    responses(
        (status = 201, description = "Stored", body = PushSubscriptionView),
        (status = 400, description = "`malformed_json`", body = ErrorBody),
        (status = 401, description = "`unauthenticated`, `invalid_token` or `token_expired`", body = ErrorBody),
        (status = 409, description = "`push_disabled`: this server sends no push notifications", body = ErrorBody),
        (status = 422, description = "`invalid_body`, or `validation_failed` (`endpoint`, `keys.p256dh`, `keys.auth`)", body = ErrorBody),
        (status = 503, description = "`unavailable`", body = ErrorBody),
    )
)]
async fn add_push_subscription(
    State(state): State<AppState>,
    user: AuthenticatedUser,
    Json(body): Json<NewPushSubscription>,
) -> Result<(StatusCode, Json<PushSubscriptionView>), ClientError> {
    let stored = state
        .clients
        .notifications
        .clone()
        .add_push_subscription(AddPushSubscriptionRequest {
            user_id: user.user_id.clone(),
            endpoint: body.endpoint,
            p256dh: body.keys.p256dh,
            auth: body.keys.auth,
        })
        .await?
        .into_inner();
    let created_at = stored
        .created_at
        .as_ref()
        .and_then(chat_runtime::time::from_proto)
        .map(Timestamp::from)
        .ok_or_else(|| ClientError::new(ErrorCode::Internal, "a subscription without a time"))?;
    Ok((
        StatusCode::CREATED,
        Json(PushSubscriptionView {
            id: stored.id,
            endpoint: stored.endpoint,
            created_at,
        }),
    ))
}

/// Forgets the caller's push subscription with this endpoint (when the person turns
/// notifications off in this browser). Forgetting one that is not there is no error.
#[utoipa::path(
    delete,
    path = "/api/push/subscriptions",
    tag = "notifications",
    request_body = PushEndpoint,
    security(("bearer" = [])),
    responses(
        (status = 204, description = "Forgotten"),
        (status = 400, description = "`malformed_json`", body = ErrorBody),
        (status = 401, description = "`unauthenticated`, `invalid_token` or `token_expired`", body = ErrorBody),
        (status = 422, description = "`invalid_body`", body = ErrorBody),
        (status = 503, description = "`unavailable`", body = ErrorBody),
    )
)]
async fn remove_push_subscription(
    State(state): State<AppState>,
    user: AuthenticatedUser,
    Json(body): Json<PushEndpoint>,
) -> Result<StatusCode, ClientError> {
    state
        .clients
        .notifications
        .clone()
        .remove_push_subscription(RemovePushSubscriptionRequest {
            user_id: user.user_id.clone(),
            endpoint: body.endpoint,
        })
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Sets the caller's account level (`PATCH /api/auth/me`).
pub(super) async fn set_notification_level(
    state: &AppState,
    user: &AuthenticatedUser,
    level: NotificationLevel,
) -> Result<(), ClientError> {
    state
        .clients
        .notifications
        .clone()
        .set_default_level(SetDefaultLevelRequest {
            user_id: user.user_id.clone(),
            level: level.as_str().to_owned(),
        })
        .await?;
    Ok(())
}

/// `me` with the account's notification level; without it when history cannot be asked
/// (the rest of the account still answers).
pub(super) async fn with_notification_level(state: &AppState, mut me: Me) -> Me {
    let asked = state
        .clients
        .notifications
        .clone()
        .get_default_level(DefaultLevelRequest {
            user_id: me.user.id.to_string(),
        })
        .await;
    match asked {
        Ok(level) => me.notification_level = NotificationLevel::parse(&level.into_inner().level),
        Err(status) => {
            tracing::warn!(code = ?status.code(), "notification level not read");
        }
    }
    me
}

/// The room `id` names, when the caller is in it, and whether it is a direct room.
async fn member_room(
    state: &AppState,
    user: &AuthenticatedUser,
    id: &str,
) -> Result<(RoomId, bool), ClientError> {
    let room = parse_uuid(id).map_err(|_| ClientError::room_not_found())?;
    let kind = state
        .realtime
        .messages()
        .member_of(room, user.id()?.as_uuid())
        .await?;
    Ok((RoomId::from(room), kind == RoomKind::Direct))
}

fn room_view(setting: RoomNotificationSetting) -> Result<RoomNotifications, ClientError> {
    let level = |text: &str| {
        NotificationLevel::parse(text)
            .ok_or_else(|| ClientError::new(ErrorCode::Internal, "an unknown notification level"))
    };
    Ok(RoomNotifications {
        room_id: parse_uuid(&setting.room_id)
            .map(RoomId::from)
            .map_err(|_| ClientError::new(ErrorCode::Internal, "a bad room id"))?,
        level: setting.level.as_deref().map(level).transpose()?,
        muted_until: setting
            .muted_until
            .as_ref()
            .and_then(chat_runtime::time::from_proto)
            .map(Timestamp::from),
        effective: level(&setting.effective)?,
    })
}
