//! Accounts and sessions: register, log in, refresh, log out, and the caller's own
//! profile. Every rule (validation, uniqueness, login limits, refresh rotation) lives in
//! the auth service; these routes translate JSON to gRPC and back, adding the client's
//! address and user agent, and keeping a browser's refresh token in its cookie
//! (`refresh_cookie`).

use axum::extract::{DefaultBodyLimit, Request, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum_extra::extract::CookieJar;
use chat_proto::v1::{
    AuthResponse, GetUserRequest, LoginRequest, LogoutRequest, RefreshRequest, RegisterRequest,
    UpdateProfileRequest,
};
use http::{HeaderMap, HeaderValue, header};
use tower_http::set_header::SetResponseHeaderLayer;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use chat_protocol::account::{
    Credentials, Me, ProfileChanges, RefreshGrant, Registration, Session,
};
use chat_protocol::{ErrorBody, ErrorCode, UserId};

use super::extract::{Json, Query};
use super::files::{UPLOAD_BODY_LIMIT, UploadParams, read_upload};
use super::notifications::{set_notification_level, with_notification_level};
use super::refresh_cookie;
use super::users::me_view;
use crate::access::AuthenticatedUser;
use crate::client_addr::ClientInfo;
use crate::client_error::ClientError;
use crate::core::files::Purpose;
use crate::core::revocations::Ended;
use crate::settings::CookieSecurity;
use crate::state::AppState;

/// Where the client keeps its refresh token.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Keeper {
    /// In the answer's body (`refresh_token`).
    Body,
    /// In the `chat_refresh` cookie, out of any script's reach.
    Cookie,
}

impl Keeper {
    fn asked(cookie: bool) -> Self {
        if cookie { Self::Cookie } else { Self::Body }
    }
}

/// The session auth answered a sign-in with, as the client asked to keep it: the refresh
/// token in the body, or set as the cookie and left out of the body.
fn session(
    response: AuthResponse,
    keeper: Keeper,
    jar: CookieJar,
    security: CookieSecurity,
    headers: &HeaderMap,
) -> Result<(CookieJar, Json<Session>), ClientError> {
    let user = response
        .user
        .ok_or_else(|| anyhow::anyhow!("auth sent a session without its user"))?;
    let (jar, refresh_token) = match keeper {
        Keeper::Body => (jar, Some(response.refresh_token)),
        Keeper::Cookie => (
            refresh_cookie::set(
                jar,
                response.refresh_token,
                response.refresh_expires_in,
                security,
                headers,
            ),
            None,
        ),
    };
    let session = Session {
        user: me_view(user)?,
        access_token: response.access_token,
        refresh_token,
        token_type: "Bearer".to_owned(),
        expires_in: response.expires_in,
    };
    Ok((jar, Json(session)))
}

/// Copies the user's `show_presence` and `send_read_receipts` where the gateways read
/// them (see [`crate::core::presence`], [`crate::core::receipts`]): at every sign-in and
/// refresh, so they heal by themselves.
async fn copy_settings(state: &AppState, response: &AuthResponse) {
    if let Some(user) = &response.user {
        copy_user_settings(state, user).await;
    }
}

async fn copy_user_settings(state: &AppState, user: &chat_proto::v1::User) {
    if let Ok(id) = user.id.parse::<UserId>() {
        state
            .realtime
            .presence()
            .set_hidden(id, !user.show_presence)
            .await;
        state
            .realtime
            .receipts()
            .set_shared(id, user.send_read_receipts)
            .await;
    }
}

/// The account and session routes, documented.
pub fn router() -> OpenApiRouter<AppState> {
    let router = OpenApiRouter::new()
        .routes(routes!(put_avatar))
        .layer(DefaultBodyLimit::max(UPLOAD_BODY_LIMIT))
        .routes(routes!(register))
        .routes(routes!(login))
        .routes(routes!(refresh))
        .routes(routes!(logout))
        .routes(routes!(logout_everywhere))
        .routes(routes!(logout_all))
        .routes(routes!(me, update_me));
    uncached(router)
}

/// `router` with answers no cache may keep: they carry tokens or the account (RFC 6749
/// §5.1).
pub(super) fn uncached(router: OpenApiRouter<AppState>) -> OpenApiRouter<AppState> {
    router
        .layer(SetResponseHeaderLayer::overriding(
            header::CACHE_CONTROL,
            HeaderValue::from_static("no-store"),
        ))
        .layer(SetResponseHeaderLayer::overriding(
            header::PRAGMA,
            HeaderValue::from_static("no-cache"),
        ))
}

/// Creates an account and signs it in.
#[utoipa::path(
    post,
    path = "/api/auth/register",
    tag = "auth",
    request_body = Registration,
    responses(
        (status = 201, description = "Account created and signed in", body = Session),
        (status = 409, description = "`username_taken` or `email_taken` (case-insensitive)", body = ErrorBody),
        (status = 422, description = "`validation_failed` with `fields`, or `invalid_body`", body = ErrorBody),
        (status = 429, description = "`too_many_attempts`: too many new accounts from this address; see `Retry-After`", body = ErrorBody),
    )
)]
async fn register(
    State(state): State<AppState>,
    client: ClientInfo,
    headers: HeaderMap,
    jar: CookieJar,
    Json(body): Json<Registration>,
) -> Result<Response, ClientError> {
    let keeper = Keeper::asked(body.refresh_cookie);
    let response = state
        .clients
        .auth
        .clone()
        .register(RegisterRequest {
            username: body.username,
            email: body.email,
            password: body.password,
            display_name: body.display_name,
            device: Some(client.device()),
        })
        .await?
        .into_inner();
    copy_settings(&state, &response).await;
    let answer = session(response, keeper, jar, state.secure_cookies, &headers)?;
    Ok((StatusCode::CREATED, answer).into_response())
}

/// Signs in with a username or email and a password. Failed attempts are limited per
/// account and per client address.
#[utoipa::path(
    post,
    path = "/api/auth/login",
    tag = "auth",
    request_body = Credentials,
    responses(
        (status = 200, description = "Signed in", body = Session),
        (status = 401, description = "`invalid_credentials`", body = ErrorBody),
        (status = 429, description = "`too_many_attempts`; see `Retry-After`", body = ErrorBody,
            headers(("Retry-After" = u64, description = "Seconds to wait before trying again"))),
    )
)]
async fn login(
    State(state): State<AppState>,
    client: ClientInfo,
    headers: HeaderMap,
    jar: CookieJar,
    Json(body): Json<Credentials>,
) -> Result<(CookieJar, Json<Session>), ClientError> {
    let keeper = Keeper::asked(body.refresh_cookie);
    let response = state
        .clients
        .auth
        .clone()
        .login(LoginRequest {
            login: body.login,
            password: body.password,
            device: Some(client.device()),
        })
        .await?
        .into_inner();
    copy_settings(&state, &response).await;
    session(response, keeper, jar, state.secure_cookies, &headers)
}

/// Exchanges a refresh token for a new pair. Each refresh token works once; presenting a
/// used one revokes the whole session. A cookie session sends `{}`: the token comes from
/// the `chat_refresh` cookie and its successor goes back there.
#[utoipa::path(
    post,
    path = "/api/auth/refresh",
    tag = "auth",
    request_body = RefreshGrant,
    responses(
        (status = 200, description = "A new token pair", body = Session),
        (status = 401, description = "`invalid_refresh_token` (also when neither `refresh_token` nor the cookie was sent), `refresh_token_reused` or `session_revoked`", body = ErrorBody),
    )
)]
async fn refresh(
    State(state): State<AppState>,
    client: ClientInfo,
    headers: HeaderMap,
    jar: CookieJar,
    Json(body): Json<RefreshGrant>,
) -> Result<Response, ClientError> {
    let (token, keeper) = match (body.refresh_token, refresh_cookie::read(&jar)) {
        (Some(token), _) => (token, Keeper::Body),
        (None, Some(token)) => (token, Keeper::Cookie),
        (None, None) => {
            return Err(ClientError::new(
                ErrorCode::InvalidRefreshToken,
                "no refresh token: send `refresh_token`, or the `chat_refresh` cookie of a cookie session",
            ));
        }
    };
    let result = state
        .clients
        .auth
        .clone()
        .refresh(RefreshRequest {
            refresh_token: token,
            device: Some(client.device()),
        })
        .await;
    match result {
        Ok(response) => {
            let response = response.into_inner();
            copy_settings(&state, &response).await;
            let answer = session(response, keeper, jar, state.secure_cookies, &headers)?;
            Ok(answer.into_response())
        }
        // A cookie that no longer works is dropped, so the browser stops sending it.
        Err(status) if keeper == Keeper::Cookie => {
            let jar = refresh_cookie::clear(jar, state.secure_cookies, &headers);
            Ok((jar, ClientError::from(status)).into_response())
        }
        Err(status) => Err(status.into()),
    }
}

/// Ends the session the access token belongs to: its refresh token stops working and
/// the refresh cookie, if any, is cleared. The access token itself stays valid until it
/// expires.
#[utoipa::path(
    post,
    path = "/api/auth/logout",
    tag = "auth",
    security(("bearer" = [])),
    responses(
        (status = 204, description = "Signed out"),
        (status = 401, description = "No valid access token", body = ErrorBody),
    )
)]
async fn logout(
    State(state): State<AppState>,
    caller: AuthenticatedUser,
    headers: HeaderMap,
    jar: CookieJar,
) -> Result<(CookieJar, StatusCode), ClientError> {
    end_sessions(&state, &caller.user_id, &caller.session_id, false).await?;
    let jar = refresh_cookie::clear(jar, state.secure_cookies, &headers);
    Ok((jar, StatusCode::NO_CONTENT))
}

/// Ends every session of the caller, on every device: all their refresh tokens stop
/// working, so each device is signed out when its access token expires (within its
/// `expires_in`). This device's refresh cookie, if any, is cleared.
#[utoipa::path(
    post,
    path = "/api/auth/logout/all",
    tag = "auth",
    security(("bearer" = [])),
    responses(
        (status = 204, description = "Signed out everywhere"),
        (status = 401, description = "No valid access token", body = ErrorBody),
    )
)]
async fn logout_everywhere(
    State(state): State<AppState>,
    caller: AuthenticatedUser,
    headers: HeaderMap,
    jar: CookieJar,
) -> Result<(CookieJar, StatusCode), ClientError> {
    end_sessions(&state, &caller.user_id, &caller.session_id, true).await?;
    let jar = refresh_cookie::clear(jar, state.secure_cookies, &headers);
    Ok((jar, StatusCode::NO_CONTENT))
}

/// Ends every session of the caller, on every device: the same as
/// `POST /api/auth/logout/all`, under the name the account pages use.
#[utoipa::path(
    post,
    path = "/api/auth/logout-all",
    tag = "auth",
    security(("bearer" = [])),
    responses(
        (status = 204, description = "Signed out everywhere"),
        (status = 401, description = "No valid access token", body = ErrorBody),
    )
)]
async fn logout_all(
    state: State<AppState>,
    caller: AuthenticatedUser,
    headers: HeaderMap,
    jar: CookieJar,
) -> Result<(CookieJar, StatusCode), ClientError> {
    logout_everywhere(state, caller, headers, jar).await
}

/// Ends one session of `user_id` (or every one) in auth, then closes the sockets of it on
/// every gateway and keeps new ones out (see [`crate::core::revocations`]).
pub(super) async fn end_sessions(
    state: &AppState,
    user_id: &str,
    session_id: &str,
    all_sessions: bool,
) -> Result<(), ClientError> {
    let logout = state
        .clients
        .auth
        .clone()
        .logout(LogoutRequest {
            user_id: user_id.to_owned(),
            session_id: session_id.to_owned(),
            all_sessions,
        })
        .await?
        .into_inner();
    if let Ok(user) = user_id.parse::<UserId>() {
        let ended = if all_sessions {
            Ended::Every {
                at_ms: logout.ended_at_ms,
            }
        } else {
            Ended::Session(session_id)
        };
        state.realtime.revocations().end(user, ended).await;
    }
    Ok(())
}

/// The caller's own account, with email.
#[utoipa::path(
    get,
    path = "/api/auth/me",
    tag = "auth",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The caller", body = Me),
        (status = 401, description = "No valid access token", body = ErrorBody),
    )
)]
async fn me(
    State(state): State<AppState>,
    caller: AuthenticatedUser,
) -> Result<Json<Me>, ClientError> {
    let user = state
        .clients
        .auth
        .clone()
        .get_user(GetUserRequest {
            user_id: caller.user_id,
            include_email: true,
        })
        .await?
        .into_inner();
    Ok(Json(with_notification_level(&state, me_view(user)?).await))
}

/// Changes the caller's display name, avatar, bio, settings or notification level.
#[utoipa::path(
    patch,
    path = "/api/auth/me",
    tag = "auth",
    security(("bearer" = [])),
    request_body = ProfileChanges,
    responses(
        (status = 200, description = "The updated account", body = Me),
        (status = 401, description = "No valid access token", body = ErrorBody),
        (status = 422, description = "`validation_failed` with `fields`, or `invalid_body`", body = ErrorBody),
    )
)]
async fn update_me(
    State(state): State<AppState>,
    caller: AuthenticatedUser,
    Json(body): Json<ProfileChanges>,
) -> Result<Json<Me>, ClientError> {
    if let Some(level) = body.notification_level {
        set_notification_level(&state, &caller, level).await?;
    }
    let changes = UpdateProfileRequest {
        user_id: caller.user_id.clone(),
        display_name: body.display_name,
        avatar_url: body.avatar_url,
        bio: body.bio,
        show_presence: body.show_presence,
        send_read_receipts: body.send_read_receipts,
    };
    update_profile(&state, caller, changes).await
}

/// Sets the caller's profile picture: an image (PNG, JPEG, GIF or WebP, 5 MB by default),
/// raw with its `Content-Type` and `?name=` or as the file part of a multipart form. It is
/// stored without metadata with a centred square thumbnail, which `avatar_url` then names
/// (`/api/files/{id}/thumbnail`, readable by every signed-in user).
#[utoipa::path(
    put,
    path = "/api/auth/me/avatar",
    tag = "auth",
    params(UploadParams),
    request_body(content = Vec<u8>, description = "The image, or a multipart form with it", content_type = "image/png"),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The updated account", body = Me),
        (status = 401, description = "No valid access token", body = ErrorBody),
        (status = 413, description = "`file_too_large`: nothing stored", body = ErrorBody),
        (status = 422, description = "`not_an_image`, `invalid_image`, `image_too_large` or `validation_failed`", body = ErrorBody),
        (status = 503, description = "`unavailable`", body = ErrorBody),
    )
)]
async fn put_avatar(
    State(state): State<AppState>,
    caller: AuthenticatedUser,
    Query(params): Query<UploadParams>,
    request: Request,
) -> Result<Json<Me>, ClientError> {
    let picture = read_upload(&state, &caller, params.name, request, Purpose::Avatar).await?;
    let avatar_url = picture
        .thumbnail
        .map(|thumbnail| thumbnail.url)
        .ok_or_else(|| ClientError::new(ErrorCode::Internal, "the avatar has no thumbnail"))?;
    let changes = UpdateProfileRequest {
        user_id: caller.user_id.clone(),
        avatar_url: Some(avatar_url),
        ..UpdateProfileRequest::default()
    };
    update_profile(&state, caller, changes).await
}

/// Applies `changes` to the caller's account and answers the caller's own view of it.
async fn update_profile(
    state: &AppState,
    caller: AuthenticatedUser,
    changes: UpdateProfileRequest,
) -> Result<Json<Me>, ClientError> {
    let mut auth = state.clients.auth.clone();
    let updated = auth.update_profile(changes).await?.into_inner();
    copy_user_settings(state, &updated).await;
    if updated.email.is_some() {
        return Ok(Json(
            with_notification_level(state, me_view(updated)?).await,
        ));
    }
    // Auth answers with the public profile; the caller's own view includes the email.
    let user = auth
        .get_user(GetUserRequest {
            user_id: caller.user_id,
            include_email: true,
        })
        .await?
        .into_inner();
    Ok(Json(with_notification_level(state, me_view(user)?).await))
}
