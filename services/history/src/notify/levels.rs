//! Who is told of what: a person's level for a room (`all`, `mentions`, `none`), from the
//! room's own setting, a mute, the account's default and the kind of room.

use chat_protocol::notification::NotificationLevel;
use sqlx::{PgExecutor, PgPool};
use time::OffsetDateTime;
use uuid::Uuid;

/// The level of an account that never chose one.
pub const ACCOUNT_DEFAULT: NotificationLevel = NotificationLevel::Mentions;

/// A member's own setting for one room.
#[derive(Debug, Clone, Default, PartialEq, Eq, sqlx::FromRow)]
pub struct RoomSetting {
    pub level: Option<String>,
    pub muted_until: Option<OffsetDateTime>,
}

impl RoomSetting {
    pub fn level(&self) -> Option<NotificationLevel> {
        self.level.as_deref().and_then(NotificationLevel::parse)
    }

    /// The mute, while it lasts.
    pub fn muted_until(&self, now: OffsetDateTime) -> Option<OffsetDateTime> {
        self.muted_until.filter(|until| *until > now)
    }
}

/// The level that applies: nothing while muted; the room's own level; else the account's,
/// except that a direct room tells every message unless the account says `none`.
pub fn effective(
    room: &RoomSetting,
    account: Option<NotificationLevel>,
    direct: bool,
    now: OffsetDateTime,
) -> NotificationLevel {
    if room.muted_until(now).is_some() {
        return NotificationLevel::None;
    }
    if let Some(level) = room.level() {
        return level;
    }
    match (account.unwrap_or(ACCOUNT_DEFAULT), direct) {
        (NotificationLevel::None, _) => NotificationLevel::None,
        (_, true) => NotificationLevel::All,
        (level, false) => level,
    }
}

/// Whether a message is told at `level`.
pub fn tells(level: NotificationLevel, mentioned: bool) -> bool {
    match level {
        NotificationLevel::All => true,
        NotificationLevel::Mentions => mentioned,
        NotificationLevel::None => false,
    }
}

/// The settings of `users` for `room` (users without one are absent).
pub async fn room_settings(
    executor: impl PgExecutor<'_>,
    room: Uuid,
    users: &[Uuid],
) -> Result<Vec<(Uuid, RoomSetting)>, sqlx::Error> {
    let rows: Vec<(Uuid, Option<String>, Option<OffsetDateTime>)> = sqlx::query_as(
        "SELECT user_id, level, muted_until FROM room_notification_settings
         WHERE room_id = $1 AND user_id = ANY($2)",
    )
    .bind(room)
    .bind(users)
    .fetch_all(executor)
    .await?;
    Ok(rows
        .into_iter()
        .map(|(user, level, muted_until)| (user, RoomSetting { level, muted_until }))
        .collect())
}

/// The account levels of `users` that chose one.
pub async fn account_levels(
    executor: impl PgExecutor<'_>,
    users: &[Uuid],
) -> Result<Vec<(Uuid, NotificationLevel)>, sqlx::Error> {
    let rows: Vec<(Uuid, String)> =
        sqlx::query_as("SELECT user_id, level FROM notification_defaults WHERE user_id = ANY($1)")
            .bind(users)
            .fetch_all(executor)
            .await?;
    Ok(rows
        .into_iter()
        .filter_map(|(user, level)| NotificationLevel::parse(&level).map(|level| (user, level)))
        .collect())
}

/// The account level of `user`, when chosen.
pub async fn account_level(
    executor: impl PgExecutor<'_>,
    user: Uuid,
) -> Result<Option<NotificationLevel>, sqlx::Error> {
    let level: Option<String> =
        sqlx::query_scalar("SELECT level FROM notification_defaults WHERE user_id = $1")
            .bind(user)
            .fetch_optional(executor)
            .await?;
    Ok(level.as_deref().and_then(NotificationLevel::parse))
}

pub async fn set_account_level(
    pool: &PgPool,
    user: Uuid,
    level: NotificationLevel,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO notification_defaults (user_id, level) VALUES ($1, $2)
         ON CONFLICT (user_id) DO UPDATE SET level = EXCLUDED.level",
    )
    .bind(user)
    .bind(level.as_str())
    .execute(pool)
    .await?;
    Ok(())
}

/// The setting of `user` for `room` (the default when never set).
pub async fn room_setting(
    pool: &PgPool,
    user: Uuid,
    room: Uuid,
) -> Result<RoomSetting, sqlx::Error> {
    Ok(room_settings(pool, room, &[user])
        .await?
        .pop()
        .map(|(_, setting)| setting)
        .unwrap_or_default())
}

/// Replaces the setting of `user` for `room`; setting nothing at all removes the row.
pub async fn set_room_setting(
    pool: &PgPool,
    user: Uuid,
    room: Uuid,
    setting: &RoomSetting,
) -> Result<(), sqlx::Error> {
    if setting.level.is_none() && setting.muted_until.is_none() {
        sqlx::query("DELETE FROM room_notification_settings WHERE room_id = $1 AND user_id = $2")
            .bind(room)
            .bind(user)
            .execute(pool)
            .await?;
        return Ok(());
    }
    sqlx::query(
        "INSERT INTO room_notification_settings (user_id, room_id, level, muted_until)
         VALUES ($1, $2, $3, $4)
         ON CONFLICT (room_id, user_id)
         DO UPDATE SET level = EXCLUDED.level, muted_until = EXCLUDED.muted_until",
    )
    .bind(user)
    .bind(room)
    .bind(&setting.level)
    .bind(setting.muted_until)
    .execute(pool)
    .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use NotificationLevel::{All, Mentions, None};

    fn room(level: Option<NotificationLevel>, muted_for: Option<i64>) -> RoomSetting {
        RoomSetting {
            level: level.map(|level| level.as_str().to_owned()),
            muted_until: muted_for.map(|secs| now() + time::Duration::seconds(secs)),
        }
    }

    fn now() -> OffsetDateTime {
        OffsetDateTime::from_unix_timestamp(1_800_000_000).unwrap()
    }

    #[test]
    fn the_defaults_are_all_in_direct_rooms_and_mentions_elsewhere() {
        assert_eq!(
            effective(&room(Option::None, Option::None), Option::None, true, now()),
            All
        );
        assert_eq!(
            effective(
                &room(Option::None, Option::None),
                Option::None,
                false,
                now()
            ),
            Mentions
        );
    }

    #[test]
    fn the_account_level_applies_where_the_room_has_none() {
        let unset = room(Option::None, Option::None);
        assert_eq!(effective(&unset, Some(All), false, now()), All);
        assert_eq!(effective(&unset, Some(None), false, now()), None);
        // Direct rooms tell every message unless the account says nothing at all.
        assert_eq!(effective(&unset, Some(Mentions), true, now()), All);
        assert_eq!(effective(&unset, Some(None), true, now()), None);
    }

    #[test]
    fn the_rooms_own_level_wins_and_a_mute_silences_until_it_ends() {
        assert_eq!(
            effective(&room(Some(All), Option::None), Some(None), false, now()),
            All
        );
        assert_eq!(
            effective(&room(Some(None), Option::None), Option::None, true, now()),
            None
        );
        assert_eq!(
            effective(&room(Some(All), Some(60)), Option::None, false, now()),
            None
        );
        assert_eq!(
            effective(&room(Some(All), Some(-60)), Option::None, false, now()),
            All
        );
    }

    #[test]
    fn mentions_are_told_at_mentions_and_all_only() {
        assert!(tells(All, false) && tells(All, true));
        assert!(!tells(Mentions, false) && tells(Mentions, true));
        assert!(!tells(None, true));
    }
}
