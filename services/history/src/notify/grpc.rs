//! `chat.v1.NotificationsService`: settings, subscriptions and the VAPID key, for the
//! gateway (which authenticates the caller and checks room membership first).

use chat_proto::v1::notifications_service_server::NotificationsService;
use chat_proto::v1::{
    AddPushSubscriptionRequest, DefaultLevel, DefaultLevelRequest, GetPushConfigRequest,
    PushConfigResponse, PushSubscription, RemovePushSubscriptionRequest,
    RemovePushSubscriptionResponse, RoomNotificationSetting, RoomNotificationsRequest,
    SetDefaultLevelRequest, SetRoomNotificationsRequest,
};
use chat_protocol::notification::NotificationLevel;
use sqlx::PgPool;
use time::OffsetDateTime;
use tonic::{Request, Response, Status};
use uuid::Uuid;

use super::levels::{self, ACCOUNT_DEFAULT, RoomSetting, effective};
use super::subscriptions;
use super::webpush::Pusher;
use crate::error::Error;

/// The longest endpoint URL kept.
const MAX_ENDPOINT_CHARS: usize = 2048;

type Reply<T> = Result<Response<T>, Status>;

pub struct NotificationsApi {
    pool: PgPool,
    pusher: Option<Pusher>,
}

impl NotificationsApi {
    pub fn new(pool: PgPool, pusher: Option<Pusher>) -> Self {
        Self { pool, pusher }
    }

    async fn room_view(
        &self,
        user: Uuid,
        room: Uuid,
        direct: bool,
    ) -> Result<RoomNotificationSetting, Error> {
        let setting = levels::room_setting(&self.pool, user, room).await?;
        let account = levels::account_level(&self.pool, user).await?;
        let now = OffsetDateTime::now_utc();
        Ok(RoomNotificationSetting {
            room_id: room.to_string(),
            level: setting.level().map(|level| level.as_str().to_owned()),
            muted_until: setting.muted_until(now).map(chat_runtime::time::to_proto),
            effective: effective(&setting, account, direct, now)
                .as_str()
                .to_owned(),
        })
    }
}

fn id(field: &str, value: &str) -> Result<Uuid, Error> {
    chat_protocol::ids::parse_uuid(value).map_err(|_| Error::invalid_field(field, "must be a UUID"))
}

fn level(field: &str, value: &str) -> Result<NotificationLevel, Error> {
    NotificationLevel::parse(value)
        .ok_or_else(|| Error::invalid_field(field, "must be all, mentions or none"))
}

#[tonic::async_trait]
impl NotificationsService for NotificationsApi {
    async fn get_room_notifications(
        &self,
        request: Request<RoomNotificationsRequest>,
    ) -> Reply<RoomNotificationSetting> {
        let request = request.into_inner();
        let user = id("user_id", &request.user_id)?;
        let room = id("room_id", &request.room_id)?;
        Ok(Response::new(
            self.room_view(user, room, request.direct).await?,
        ))
    }

    async fn set_room_notifications(
        &self,
        request: Request<SetRoomNotificationsRequest>,
    ) -> Reply<RoomNotificationSetting> {
        let request = request.into_inner();
        let user = id("user_id", &request.user_id)?;
        let room = id("room_id", &request.room_id)?;
        let chosen = request
            .level
            .as_deref()
            .map(|value| level("level", value))
            .transpose()?;
        let muted_until = request
            .muted_until
            .map(|at| {
                chat_runtime::time::from_proto(&at)
                    .ok_or_else(|| Error::invalid_field("muted_until", "must be a valid time"))
            })
            .transpose()?
            .filter(|until| *until > OffsetDateTime::now_utc());
        let setting = RoomSetting {
            level: chosen.map(|level| level.as_str().to_owned()),
            muted_until,
        };
        levels::set_room_setting(&self.pool, user, room, &setting)
            .await
            .map_err(Error::from)?;
        Ok(Response::new(
            self.room_view(user, room, request.direct).await?,
        ))
    }

    async fn get_default_level(
        &self,
        request: Request<DefaultLevelRequest>,
    ) -> Reply<DefaultLevel> {
        let user = id("user_id", &request.into_inner().user_id)?;
        let level = levels::account_level(&self.pool, user)
            .await
            .map_err(Error::from)?
            .unwrap_or(ACCOUNT_DEFAULT);
        Ok(Response::new(DefaultLevel {
            level: level.as_str().to_owned(),
        }))
    }

    async fn set_default_level(
        &self,
        request: Request<SetDefaultLevelRequest>,
    ) -> Reply<DefaultLevel> {
        let request = request.into_inner();
        let user = id("user_id", &request.user_id)?;
        let chosen = level("notification_level", &request.level)?;
        levels::set_account_level(&self.pool, user, chosen)
            .await
            .map_err(Error::from)?;
        Ok(Response::new(DefaultLevel {
            level: chosen.as_str().to_owned(),
        }))
    }

    async fn add_push_subscription(
        &self,
        request: Request<AddPushSubscriptionRequest>,
    ) -> Reply<PushSubscription> {
        let request = request.into_inner();
        let user = id("user_id", &request.user_id)?;
        let Some(pusher) = &self.pusher else {
            return Err(chat_runtime::status::error(
                tonic::Code::FailedPrecondition,
                "push_disabled",
                "this server sends no push notifications (no VAPID key)",
            ));
        };
        let mut violations = Vec::new();
        if request.endpoint.chars().count() > MAX_ENDPOINT_CHARS {
            violations.push((
                "endpoint".to_owned(),
                format!("at most {MAX_ENDPOINT_CHARS} characters"),
            ));
        } else if let Err(why) = pusher.check_endpoint(&request.endpoint) {
            violations.push(("endpoint".to_owned(), why.to_owned()));
        }
        let keys = subscriptions::decode_keys(&request.p256dh, &request.auth);
        let (p256dh, auth) = match keys {
            Ok(keys) if violations.is_empty() => keys,
            Ok(_) => return Err(Error::Validation(violations).into()),
            Err(Error::Validation(more)) => {
                violations.extend(more);
                return Err(Error::Validation(violations).into());
            }
            Err(err) => return Err(err.into()),
        };
        let stored = subscriptions::add(&self.pool, user, &request.endpoint, &p256dh, &auth)
            .await
            .map_err(Error::from)?;
        Ok(Response::new(PushSubscription {
            id: stored.id.to_string(),
            endpoint: stored.endpoint,
            created_at: Some(chat_runtime::time::to_proto(stored.created_at)),
        }))
    }

    async fn remove_push_subscription(
        &self,
        request: Request<RemovePushSubscriptionRequest>,
    ) -> Reply<RemovePushSubscriptionResponse> {
        let request = request.into_inner();
        let user = id("user_id", &request.user_id)?;
        subscriptions::remove(&self.pool, user, &request.endpoint)
            .await
            .map_err(Error::from)?;
        Ok(Response::new(RemovePushSubscriptionResponse {}))
    }

    async fn get_push_config(
        &self,
        _request: Request<GetPushConfigRequest>,
    ) -> Reply<PushConfigResponse> {
        Ok(Response::new(PushConfigResponse {
            vapid_public_key: self.pusher.as_ref().map(|p| p.public_key().to_owned()),
        }))
    }
}
