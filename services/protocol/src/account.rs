//! Accounts and sessions as clients see them (`/api/auth/*`, `/api/users*`): the
//! requests that create and sign in to an account, the session that answers them, and
//! users as others see them.

use serde::{Deserialize, Serialize};

use crate::ids::UserId;
use crate::notification::NotificationLevel;
use crate::presence::PresenceView;
use crate::timestamp::Timestamp;

/// A new account.
#[derive(
    Debug, Clone, Serialize, Deserialize, schemars::JsonSchema, ts_rs::TS, utoipa::ToSchema,
)]
#[serde(deny_unknown_fields)]
pub struct Registration {
    /// 3 to 32 characters of `a-z 0-9 _ . -`; uppercase `A-Z` is folded to lowercase
    /// (`Alice` registers as `alice`, taken if `alice` is). Without a `display_name`, a
    /// username typed with capitals becomes the display name as typed.
    #[schema(example = "alice")]
    pub username: String,
    #[schema(example = "alice@example.com")]
    pub email: String,
    /// 8 to 128 characters.
    #[schema(format = Password, example = "correct horse battery staple")]
    pub password: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    #[schema(example = "Alice")]
    pub display_name: Option<String>,
    /// Keep the refresh token in a cookie instead of the body: see `Credentials`.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    #[ts(as = "Option<bool>", optional)]
    pub refresh_cookie: bool,
}

/// Credentials.
#[derive(
    Debug, Clone, Serialize, Deserialize, schemars::JsonSchema, ts_rs::TS, utoipa::ToSchema,
)]
#[serde(deny_unknown_fields)]
pub struct Credentials {
    /// Username or email.
    #[schema(example = "alice")]
    pub login: String,
    #[schema(format = Password)]
    pub password: String,
    /// For browsers: the refresh token is set as an `HttpOnly`, `SameSite=Strict` cookie
    /// (`chat_refresh`, path `/api/auth`) instead of being returned in the body, so no
    /// script can read it. `POST /api/auth/refresh` then reads it from the cookie.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    #[ts(as = "Option<bool>", optional)]
    pub refresh_cookie: bool,
}

/// A refresh token to exchange for a new pair.
#[derive(
    Debug, Clone, Serialize, Deserialize, schemars::JsonSchema, ts_rs::TS, utoipa::ToSchema,
)]
#[serde(deny_unknown_fields)]
pub struct RefreshGrant {
    /// Absent for a cookie session: the `chat_refresh` cookie is used instead (`{}`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub refresh_token: Option<String>,
}

/// Changes to the caller's profile. An absent (or null) field is left as it is; an empty
/// string clears it.
#[derive(
    Debug, Clone, Default, Serialize, Deserialize, schemars::JsonSchema, ts_rs::TS, utoipa::ToSchema,
)]
#[serde(deny_unknown_fields)]
pub struct ProfileChanges {
    #[serde(skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub display_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub avatar_url: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub bio: Option<String>,
    /// `false` hides the user's presence from everyone.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub show_presence: Option<bool>,
    /// `false` stops showing the user's read positions to others (read receipts).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub send_read_receipts: Option<bool>,
    /// The account's notification level: what rooms without their own level tell the
    /// user while away (`mentions` at first). Direct rooms notify every message unless
    /// this is `none`.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub notification_level: Option<NotificationLevel>,
}

/// A signed-in session: who, and the tokens to act as them.
#[derive(
    Debug, Clone, Serialize, Deserialize, schemars::JsonSchema, ts_rs::TS, utoipa::ToSchema,
)]
pub struct Session {
    pub user: Me,
    /// Short-lived JWT for `Authorization: Bearer`.
    pub access_token: String,
    /// Single-use token for `POST /api/auth/refresh`; keep it secret. Absent for a cookie
    /// session (`refresh_cookie`), where it travels as the `chat_refresh` cookie.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub refresh_token: Option<String>,
    #[schema(example = "Bearer")]
    pub token_type: String,
    /// Seconds until the access token expires.
    #[schema(example = 900)]
    #[ts(type = "number")]
    pub expires_in: i64,
}

/// A user as every signed-in user sees them.
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
pub struct User {
    #[schema(example = "0193a7e4-7c1e-7b3c-9d2a-2f4b5c6d7e8f")]
    pub id: UserId,
    #[schema(example = "alice")]
    pub username: String,
    pub display_name: Option<String>,
    pub avatar_url: Option<String>,
    pub bio: Option<String>,
    pub created_at: Timestamp,
    /// `GET /api/users/{id}` only: where the user is now.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub presence: Option<PresenceView>,
}

/// The caller's own account: their public profile plus what only they may see.
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
pub struct Me {
    #[serde(flatten)]
    pub user: User,
    #[schema(example = "alice@example.com")]
    pub email: String,
    /// Whether others see the user's presence; hidden, they look offline with no
    /// last-seen time.
    pub show_presence: bool,
    /// Whether the other members of direct and small rooms see how far the user has read.
    pub send_read_receipts: bool,
    /// Whether `email` was confirmed by a mailed link (`POST /api/auth/email/verify`).
    #[serde(default)]
    pub email_verified: bool,
    /// The account's notification level (`PATCH /api/auth/me`); absent where not asked
    /// (sign-in answers) or when the notifier cannot be reached.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub notification_level: Option<NotificationLevel>,
}

/// Matches of a user search.
#[derive(
    Debug, Clone, Serialize, Deserialize, schemars::JsonSchema, ts_rs::TS, utoipa::ToSchema,
)]
pub struct UserList {
    pub users: Vec<User>,
}

/// `POST /api/auth/password/forgot`: mail a reset link to this account.
#[derive(
    Debug, Clone, Serialize, Deserialize, schemars::JsonSchema, ts_rs::TS, utoipa::ToSchema,
)]
#[serde(deny_unknown_fields)]
pub struct ForgotPassword {
    /// Username or email.
    #[schema(example = "alice")]
    pub login: String,
}

/// `POST /api/auth/password/reset`: a new password, with the mailed token.
#[derive(
    Debug, Clone, Serialize, Deserialize, schemars::JsonSchema, ts_rs::TS, utoipa::ToSchema,
)]
#[serde(deny_unknown_fields)]
pub struct PasswordReset {
    /// From the link in the mail (`#/reset-password/<token>`).
    pub token: String,
    /// 8 to 128 characters.
    #[schema(format = Password)]
    pub password: String,
}

/// `PUT /api/auth/me/email`: a new address for the account, with the current password.
#[derive(
    Debug, Clone, Serialize, Deserialize, schemars::JsonSchema, ts_rs::TS, utoipa::ToSchema,
)]
#[serde(deny_unknown_fields)]
pub struct EmailChange {
    #[schema(example = "alice@example.org")]
    pub email: String,
    #[schema(format = Password)]
    pub password: String,
}

/// `POST /api/auth/email/verify`: the mailed token.
#[derive(
    Debug, Clone, Serialize, Deserialize, schemars::JsonSchema, ts_rs::TS, utoipa::ToSchema,
)]
#[serde(deny_unknown_fields)]
pub struct EmailVerification {
    /// From the link in the mail (`#/verify-email/<token>`).
    pub token: String,
}

/// An address confirmed.
#[derive(
    Debug, Clone, Serialize, Deserialize, schemars::JsonSchema, ts_rs::TS, utoipa::ToSchema,
)]
pub struct EmailVerified {
    #[schema(example = "alice@example.com")]
    pub email: String,
    pub email_verified: bool,
}

/// One signed-in device of the user.
#[derive(
    Debug, Clone, Serialize, Deserialize, schemars::JsonSchema, ts_rs::TS, utoipa::ToSchema,
)]
pub struct SessionView {
    pub id: String,
    /// The browser or client that signed in, as it named itself.
    pub user_agent: String,
    /// The address it signed in from.
    pub ip_address: String,
    pub created_at: Option<Timestamp>,
    pub last_used_at: Option<Timestamp>,
    /// This is the session of the request.
    pub current: bool,
}

/// `GET /api/auth/sessions`: the user's open sessions, most recently used first.
#[derive(
    Debug, Clone, Serialize, Deserialize, schemars::JsonSchema, ts_rs::TS, utoipa::ToSchema,
)]
pub struct SessionList {
    pub sessions: Vec<SessionView>,
}
