//! Accounts in the `users` table: creation, lookup by id or login, profile changes and
//! the prefix search. Uniqueness of usernames and emails (without regard to case) is
//! enforced by unique indexes, so two concurrent registrations cannot both win.

use sqlx::{PgConnection, PgPool};
use time::OffsetDateTime;
use uuid::Uuid;

use crate::error::{Error, unique_violation};

/// Largest number of ids one `GetUsers` call may ask for.
pub const MAX_BATCH: usize = 200;
/// Results of a search when the caller names no limit.
pub const DEFAULT_SEARCH_LIMIT: u32 = 20;
/// Most results one search returns.
pub const MAX_SEARCH_LIMIT: u32 = 50;

/// A user as others may see it (plus the email, sent only to the user themself).
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct User {
    pub id: Uuid,
    pub username: String,
    pub email: String,
    pub display_name: Option<String>,
    pub avatar_url: Option<String>,
    pub bio: Option<String>,
    pub created_at: OffsetDateTime,
    pub show_presence: bool,
    pub last_seen_at: Option<OffsetDateTime>,
    pub send_read_receipts: bool,
    pub email_verified_at: Option<OffsetDateTime>,
}

impl User {
    /// The wire form; `include_email` only for the user themself.
    pub fn into_proto(self, include_email: bool) -> chat_proto::v1::User {
        chat_proto::v1::User {
            id: self.id.to_string(),
            username: self.username,
            display_name: self.display_name,
            avatar_url: self.avatar_url,
            bio: self.bio,
            created_at: Some(chat_runtime::time::to_proto(self.created_at)),
            email: include_email.then_some(self.email),
            show_presence: self.show_presence,
            last_seen_at: self.last_seen_at.map(chat_runtime::time::to_proto),
            send_read_receipts: self.send_read_receipts,
            email_verified: include_email && self.email_verified_at.is_some(),
        }
    }
}

/// A user with the stored password hash, for logins only.
#[derive(Debug, sqlx::FromRow)]
pub struct Credentials {
    #[sqlx(flatten)]
    pub user: User,
    pub password_hash: String,
}

/// A validated registration; the username is already folded to lowercase.
#[derive(Debug)]
pub struct NewUser {
    pub username: String,
    pub email: String,
    pub password_hash: String,
    pub display_name: Option<String>,
}

/// Which profile fields to change: `None` leaves a field, `Some(None)` clears it.
#[derive(Debug, Default)]
pub struct ProfileChanges {
    pub display_name: Option<Option<String>>,
    pub avatar_url: Option<Option<String>>,
    pub bio: Option<Option<String>>,
    pub show_presence: Option<bool>,
    pub send_read_receipts: Option<bool>,
}

const USER_COLUMNS: &str = "id, username, email, display_name, avatar_url, bio, created_at, show_presence, last_seen_at, \
     send_read_receipts, email_verified_at";

/// Stores a new account; a taken username or email (in any case) is a domain error.
#[tracing::instrument(skip(conn, new), fields(username = %new.username))]
pub async fn insert(conn: &mut PgConnection, new: NewUser) -> Result<User, Error> {
    let result = sqlx::query_as::<_, User>(&format!(
        "INSERT INTO users (id, username, email, password_hash, display_name)
         VALUES ($1, $2, $3, $4, $5)
         RETURNING {USER_COLUMNS}"
    ))
    .bind(Uuid::now_v7())
    .bind(&new.username)
    .bind(&new.email)
    .bind(&new.password_hash)
    .bind(&new.display_name)
    .fetch_one(conn)
    .await;
    result.map_err(|err| match unique_violation(&err) {
        Some("users_username_key") => Error::UsernameTaken,
        Some("users_email_key") => Error::EmailTaken,
        _ => err.into(),
    })
}

/// The account `id` with its password hash.
pub async fn credentials_of(pool: &PgPool, id: Uuid) -> Result<Credentials, Error> {
    sqlx::query_as::<_, Credentials>(&format!(
        "SELECT {USER_COLUMNS}, password_hash FROM users WHERE id = $1"
    ))
    .bind(id)
    .fetch_optional(pool)
    .await?
    .ok_or(Error::UserNotFound)
}

/// Gives the account a new email, not yet verified.
pub async fn set_email(pool: &PgPool, id: Uuid, email: &str) -> Result<User, Error> {
    let result = sqlx::query_as::<_, User>(&format!(
        "UPDATE users SET email = $2, email_verified_at = NULL, updated_at = now()
         WHERE id = $1
         RETURNING {USER_COLUMNS}"
    ))
    .bind(id)
    .bind(email)
    .fetch_optional(pool)
    .await;
    match result {
        Ok(Some(user)) => Ok(user),
        Ok(None) => Err(Error::UserNotFound),
        Err(err) => Err(match unique_violation(&err) {
            Some("users_email_key") => Error::EmailTaken,
            _ => err.into(),
        }),
    }
}

/// The account whose username or email is `login` (compared without regard to case, so
/// `ADA` finds the username `ada`, stored folded). Usernames cannot contain `@`, so a
/// login with one is an email.
#[tracing::instrument(skip(pool))]
pub async fn find_credentials(pool: &PgPool, login: &str) -> Result<Option<Credentials>, Error> {
    let condition = if login.contains('@') {
        "lower(email) = lower($1)"
    } else {
        r#"lower(username) COLLATE "C" = lower($1)"#
    };
    let credentials = sqlx::query_as::<_, Credentials>(&format!(
        "SELECT {USER_COLUMNS}, password_hash FROM users WHERE {condition}"
    ))
    .bind(login)
    .fetch_optional(pool)
    .await?;
    Ok(credentials)
}

/// Replaces a password hash (after a login found it made with older parameters).
#[tracing::instrument(skip(pool, password_hash))]
pub async fn set_password_hash(pool: &PgPool, id: Uuid, password_hash: &str) -> Result<(), Error> {
    sqlx::query("UPDATE users SET password_hash = $2, updated_at = now() WHERE id = $1")
        .bind(id)
        .bind(password_hash)
        .execute(pool)
        .await?;
    Ok(())
}

#[tracing::instrument(skip(conn))]
pub async fn find(conn: &mut PgConnection, id: Uuid) -> Result<Option<User>, Error> {
    let user =
        sqlx::query_as::<_, User>(&format!("SELECT {USER_COLUMNS} FROM users WHERE id = $1"))
            .bind(id)
            .fetch_optional(conn)
            .await?;
    Ok(user)
}

/// The users among `ids` that exist, in the order first asked for.
#[tracing::instrument(skip(pool, ids), fields(count = ids.len()))]
pub async fn find_many(pool: &PgPool, ids: &[Uuid]) -> Result<Vec<User>, Error> {
    let mut found = sqlx::query_as::<_, User>(&format!(
        "SELECT {USER_COLUMNS} FROM users WHERE id = ANY($1)"
    ))
    .bind(ids)
    .fetch_all(pool)
    .await?;
    found.sort_by_key(|user| ids.iter().position(|id| *id == user.id));
    Ok(found)
}

/// The users with these usernames, whatever their case.
#[tracing::instrument(skip(pool, usernames), fields(usernames = usernames.len()))]
pub async fn find_by_usernames(pool: &PgPool, usernames: &[String]) -> Result<Vec<User>, Error> {
    let lowered: Vec<String> = usernames.iter().map(|name| name.to_lowercase()).collect();
    Ok(sqlx::query_as::<_, User>(&format!(
        r#"SELECT {USER_COLUMNS} FROM users WHERE lower(username) COLLATE "C" = ANY($1)"#
    ))
    .bind(&lowered)
    .fetch_all(pool)
    .await?)
}

/// Applies `changes`; the user as it now is.
#[tracing::instrument(skip(pool, changes))]
pub async fn update_profile(
    pool: &PgPool,
    id: Uuid,
    changes: ProfileChanges,
) -> Result<User, Error> {
    let (set_display_name, display_name) = split(changes.display_name);
    let (set_avatar_url, avatar_url) = split(changes.avatar_url);
    let (set_bio, bio) = split(changes.bio);
    sqlx::query_as::<_, User>(&format!(
        "UPDATE users SET
             display_name = CASE WHEN $2 THEN $3 ELSE display_name END,
             avatar_url = CASE WHEN $4 THEN $5 ELSE avatar_url END,
             bio = CASE WHEN $6 THEN $7 ELSE bio END,
             show_presence = COALESCE($8, show_presence),
             send_read_receipts = COALESCE($9, send_read_receipts),
             updated_at = now()
         WHERE id = $1
         RETURNING {USER_COLUMNS}"
    ))
    .bind(id)
    .bind(set_display_name)
    .bind(display_name)
    .bind(set_avatar_url)
    .bind(avatar_url)
    .bind(set_bio)
    .bind(bio)
    .bind(changes.show_presence)
    .bind(changes.send_read_receipts)
    .fetch_optional(pool)
    .await?
    .ok_or(Error::UserNotFound)
}

/// Records when each user was last online; an earlier time never replaces a later one.
#[tracing::instrument(skip_all, fields(users = seen.len()))]
pub async fn record_last_seen(pool: &PgPool, seen: &[(Uuid, OffsetDateTime)]) -> Result<(), Error> {
    let (ids, times): (Vec<Uuid>, Vec<OffsetDateTime>) = seen.iter().copied().unzip();
    sqlx::query(
        "UPDATE users SET last_seen_at = GREATEST(users.last_seen_at, seen.at)
           FROM UNNEST($1::uuid[], $2::timestamptz[]) AS seen(id, at)
          WHERE users.id = seen.id",
    )
    .bind(ids)
    .bind(times)
    .execute(pool)
    .await?;
    Ok(())
}

fn split(change: Option<Option<String>>) -> (bool, Option<String>) {
    match change {
        Some(value) => (true, value),
        None => (false, None),
    }
}

/// Users whose username or display name starts with `prefix` (without regard to case):
/// username matches first, then display-name matches, each alphabetical. A prefix is a
/// range of the "C"-collated lowercase indexes (`[prefix, next)`), which holds in generic
/// prepared plans too; each half reads in index order and stops at `limit` rows, so a
/// short prefix over many users stays cheap.
#[tracing::instrument(skip(pool))]
pub async fn search(pool: &PgPool, prefix: &str, limit: u32) -> Result<Vec<User>, Error> {
    let low = prefix.to_lowercase();
    let Some(high) = prefix_upper_bound(&low) else {
        return Ok(Vec::new());
    };
    let users = sqlx::query_as::<_, User>(&format!(
        r#"SELECT {USER_COLUMNS} FROM (
             (SELECT {USER_COLUMNS}, 0 AS rank, lower(username) COLLATE "C" AS sort_key
                FROM users
               WHERE lower(username) COLLATE "C" >= $1 AND lower(username) COLLATE "C" < $2
               ORDER BY lower(username) COLLATE "C"
               LIMIT $3)
             UNION ALL
             (SELECT {USER_COLUMNS}, 1 AS rank, lower(display_name) COLLATE "C" AS sort_key
                FROM users
               WHERE display_name IS NOT NULL
                 AND lower(display_name) COLLATE "C" >= $1 AND lower(display_name) COLLATE "C" < $2
                 AND NOT (lower(username) COLLATE "C" >= $1 AND lower(username) COLLATE "C" < $2)
               ORDER BY lower(display_name) COLLATE "C"
               LIMIT $3)
           ) AS matches
           ORDER BY rank, sort_key, id
           LIMIT $3"#
    ))
    .bind(&low)
    .bind(&high)
    .bind(i64::from(limit))
    .fetch_all(pool)
    .await?;
    Ok(users)
}

/// The smallest string greater than every string starting with `prefix`, in code-point
/// order (which is the "C" collation's byte order of UTF-8). `None` when there is none.
fn prefix_upper_bound(prefix: &str) -> Option<String> {
    let mut chars: Vec<char> = prefix.chars().collect();
    while let Some(last) = chars.pop() {
        let next = match last {
            '\u{D7FF}' => Some('\u{E000}'),
            c => char::from_u32(u32::from(c) + 1),
        };
        if let Some(next) = next {
            chars.push(next);
            return Some(chars.into_iter().collect());
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_prefix_covers_exactly_the_strings_starting_with_it() {
        assert_eq!(prefix_upper_bound("al").as_deref(), Some("am"));
        assert_eq!(prefix_upper_bound("a_").as_deref(), Some("a`"));
        assert_eq!(prefix_upper_bound("\u{D7FF}").as_deref(), Some("\u{E000}"));
        assert_eq!(prefix_upper_bound("a\u{10FFFF}").as_deref(), Some("b"));
        assert_eq!(prefix_upper_bound("\u{10FFFF}"), None);
        assert_eq!(prefix_upper_bound(""), None);
        let bound = prefix_upper_bound("äl").unwrap();
        for inside in ["äl", "älva", "äl\u{10FFFF}"] {
            assert!(inside >= "äl" && inside < bound.as_str(), "{inside}");
        }
        assert!("äm" >= bound.as_str());
    }
}
