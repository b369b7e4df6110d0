//! Every error a client can be told, REST and WebSocket alike, and their one shape.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

macro_rules! error_codes {
    ($($(#[$doc:meta])* $variant:ident = $code:literal => $status:literal,)*) => {
        /// A stable snake_case code to branch on. Codes never change meaning; each knows
        /// the HTTP status REST answers it with (the socket sends it in an `error` frame).
        #[derive(
            Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize,
            schemars::JsonSchema, ts_rs::TS, utoipa::ToSchema,
        )]
        #[serde(rename_all = "snake_case")]
        pub enum ErrorCode {
            $($(#[$doc])* $variant,)*
        }

        impl ErrorCode {
            /// Every code, for documentation and tests.
            pub const ALL: &[ErrorCode] = &[$(ErrorCode::$variant,)*];

            /// The code as clients see it.
            pub const fn as_str(self) -> &'static str {
                match self {
                    $(ErrorCode::$variant => $code,)*
                }
            }

            /// The HTTP status a REST response with this code has.
            pub const fn http_status(self) -> u16 {
                match self {
                    $(ErrorCode::$variant => $status,)*
                }
            }
        }

        impl std::str::FromStr for ErrorCode {
            type Err = UnknownCode;

            fn from_str(s: &str) -> Result<Self, Self::Err> {
                match s {
                    $($code => Ok(ErrorCode::$variant),)*
                    _ => Err(UnknownCode),
                }
            }
        }
    };
}

error_codes! {
    // Authentication
    /// No access token on a request that needs one, or a socket that did not authenticate.
    Unauthenticated = "unauthenticated" => 401,
    /// The access token was refused.
    InvalidToken = "invalid_token" => 401,
    /// The access token expired: refresh it.
    TokenExpired = "token_expired" => 401,
    /// Wrong login or password.
    InvalidCredentials = "invalid_credentials" => 401,
    /// The refresh token is unknown or expired.
    InvalidRefreshToken = "invalid_refresh_token" => 401,
    /// A refresh token was used twice: its session is revoked.
    RefreshTokenReused = "refresh_token_reused" => 401,
    /// The session was signed out.
    SessionRevoked = "session_revoked" => 401,
    /// A mailed link (password reset, email verification) that is unknown, expired,
    /// replaced by a newer one or already used: ask for a new one.
    InvalidLink = "invalid_link" => 400,
    /// A signed-in user's current password, asked again to change the email, was wrong.
    WrongPassword = "wrong_password" => 403,
    /// An `auth` frame for another user on an authenticated socket.
    AlreadyAuthenticated = "already_authenticated" => 409,

    // Input
    /// The request body is not JSON.
    MalformedJson = "malformed_json" => 400,
    /// A frame that is not a JSON object, or a binary frame.
    MalformedFrame = "malformed_frame" => 400,
    /// A frame without a `type`, or of an unknown one.
    UnknownType = "unknown_type" => 400,
    /// A frame with wrong, missing or unknown fields (`fields` says which).
    InvalidFrame = "invalid_frame" => 422,
    /// The body is JSON of the wrong shape (`fields` says which).
    InvalidBody = "invalid_body" => 422,
    /// The query string is of the wrong shape (`fields` says which).
    InvalidQuery = "invalid_query" => 422,
    /// Well-formed input that breaks a rule (`fields` says which).
    ValidationFailed = "validation_failed" => 422,
    /// Message content empty or only whitespace.
    EmptyContent = "empty_content" => 422,
    /// Message content over `max_content_chars`.
    ContentTooLong = "content_too_long" => 422,
    /// A frame over `max_frame_bytes`.
    FrameTooLarge = "frame_too_large" => 413,
    /// A body over the server's limit.
    PayloadTooLarge = "payload_too_large" => 413,
    /// A body that is not `application/json`.
    UnsupportedMediaType = "unsupported_media_type" => 415,
    /// An upload over the size limit for its kind (nothing was stored).
    FileTooLarge = "file_too_large" => 413,
    /// An image whose dimensions or pixels are over the limits (nothing was stored).
    ImageTooLarge = "image_too_large" => 422,
    /// An image that cannot be decoded.
    InvalidImage = "invalid_image" => 422,
    /// Not a PNG, JPEG, GIF or WebP image where one is needed (an avatar).
    NotAnImage = "not_an_image" => 422,
    /// A byte range outside the file (`Range`).
    RangeNotSatisfiable = "range_not_satisfiable" => 416,
    /// A push subscription on a server that sends no push notifications (no VAPID key).
    PushDisabled = "push_disabled" => 409,

    // What is not there
    /// No such route, or no such resource.
    NotFound = "not_found" => 404,
    /// The route does not accept this method.
    MethodNotAllowed = "method_not_allowed" => 405,
    /// No such room, or one the caller may not see.
    RoomNotFound = "room_not_found" => 404,
    /// No such user.
    UserNotFound = "user_not_found" => 404,
    /// The user is not a member of the room.
    MemberNotFound = "member_not_found" => 404,
    /// No such message, or one in a room the caller is not in.
    MessageNotFound = "message_not_found" => 404,
    /// No such file, or one the caller may not see.
    FileNotFound = "file_not_found" => 404,

    // Not allowed
    /// The caller is not a member of the room.
    NotAMember = "not_a_member" => 403,
    /// The caller's role does not allow this.
    Forbidden = "forbidden" => 403,
    /// Only the message's author may do this.
    NotAuthor = "not_author" => 403,
    /// The message is older than the edit window (`EDIT_WINDOW`).
    EditWindowClosed = "edit_window_closed" => 403,
    /// The caller is banned from the room.
    Banned = "banned" => 403,
    /// The user named is banned from the room.
    UserBanned = "user_banned" => 403,
    /// A browser origin not on the allow-list.
    OriginNotAllowed = "origin_not_allowed" => 403,

    // Conflicts
    /// The username is taken (whatever its case).
    UsernameTaken = "username_taken" => 409,
    /// The email is taken.
    EmailTaken = "email_taken" => 409,
    /// Not possible in a direct room.
    DirectRoom = "direct_room" => 409,
    /// The owner must make another member owner first.
    OwnerMustTransfer = "owner_must_transfer" => 409,
    /// A message has as many different reactions as it may (`MAX_REACTIONS`).
    TooManyReactions = "too_many_reactions" => 409,
    /// The message was deleted: it can no longer change.
    MessageDeleted = "message_deleted" => 409,
    /// A concurrent change interfered, or the request conflicts with the state.
    Conflict = "conflict" => 409,

    // Try later
    /// Too many requests: `retry_after_ms` (and `Retry-After`) say when to retry.
    RateLimited = "rate_limited" => 429,
    /// Too many failed sign-ins: wait before trying again.
    TooManyAttempts = "too_many_attempts" => 429,
    /// A dependency failed; nothing was changed; retry.
    Unavailable = "unavailable" => 503,
    /// A bug; logged on the server.
    Internal = "internal" => 500,
}

/// A reason a service named that clients have no code for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UnknownCode;

impl std::fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The body of every REST error response.
#[derive(
    Debug,
    Clone,
    PartialEq,
    Serialize,
    Deserialize,
    schemars::JsonSchema,
    ts_rs::TS,
    utoipa::ToSchema,
)]
pub struct ErrorBody {
    pub error: ErrorDetail,
}

/// What went wrong.
#[derive(
    Debug,
    Clone,
    PartialEq,
    Serialize,
    Deserialize,
    schemars::JsonSchema,
    ts_rs::TS,
    utoipa::ToSchema,
)]
pub struct ErrorDetail {
    pub code: ErrorCode,
    /// Human-readable explanation; may change between versions.
    pub message: String,
    /// Which input fields are wrong and why.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub fields: Option<BTreeMap<String, String>>,
    /// How long to wait before retrying (`rate_limited`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[ts(optional, type = "number")]
    pub retry_after_ms: Option<u64>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_snake_case_on_the_wire_and_parse_back() {
        for code in ErrorCode::ALL {
            let json = serde_json::to_string(code).unwrap();
            assert_eq!(json, format!("\"{}\"", code.as_str()));
            assert_eq!(code.as_str().parse::<ErrorCode>(), Ok(*code));
            assert!((400..600).contains(&code.http_status()), "{code}");
        }
        assert_eq!("made_up".parse::<ErrorCode>(), Err(UnknownCode));
        assert_eq!(ErrorCode::RateLimited.http_status(), 429);
    }
}
