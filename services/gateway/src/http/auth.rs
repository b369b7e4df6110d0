//! Accounts and sessions: register, log in, refresh, log out, and the caller's own
//! profile. Every rule (validation, uniqueness, login limits, refresh rotation) lives in
//! the auth service; these routes translate JSON to gRPC and back, adding the client's
//! address and user agent.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use chat_proto::v1::{
    AuthResponse, GetUserRequest, LoginRequest, LogoutRequest, RefreshRequest, RegisterRequest,
    UpdateProfileRequest,
};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use chat_protocol::ErrorBody;
use chat_protocol::account::{
    Credentials, Me, ProfileChanges, RefreshGrant, Registration, Session,
};

use super::extract::Json;
use super::users::me_view;
use crate::access::AuthenticatedUser;
use crate::client_addr::ClientInfo;
use crate::client_error::ClientError;
use crate::state::AppState;

/// The session auth answered a sign-in with.
fn session(response: AuthResponse) -> Result<Session, ClientError> {
    let user = response
        .user
        .ok_or_else(|| anyhow::anyhow!("auth sent a session without its user"))?;
    Ok(Session {
        user: me_view(user)?,
        access_token: response.access_token,
        refresh_token: response.refresh_token,
        token_type: "Bearer".to_owned(),
        expires_in: response.expires_in,
    })
}

/// The account and session routes, documented.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(register))
        .routes(routes!(login))
        .routes(routes!(refresh))
        .routes(routes!(logout))
        .routes(routes!(me, update_me))
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
    )
)]
async fn register(
    State(state): State<AppState>,
    client: ClientInfo,
    Json(body): Json<Registration>,
) -> Result<Response, ClientError> {
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
    Ok((StatusCode::CREATED, Json(session(response)?)).into_response())
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
    Json(body): Json<Credentials>,
) -> Result<Json<Session>, ClientError> {
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
    Ok(Json(session(response)?))
}

/// Exchanges a refresh token for a new pair. Each refresh token works once; presenting a
/// used one revokes the whole session.
#[utoipa::path(
    post,
    path = "/api/auth/refresh",
    tag = "auth",
    request_body = RefreshGrant,
    responses(
        (status = 200, description = "A new token pair", body = Session),
        (status = 401, description = "`invalid_refresh_token`, `refresh_token_reused` or `session_revoked`", body = ErrorBody),
    )
)]
async fn refresh(
    State(state): State<AppState>,
    client: ClientInfo,
    Json(body): Json<RefreshGrant>,
) -> Result<Json<Session>, ClientError> {
    let response = state
        .clients
        .auth
        .clone()
        .refresh(RefreshRequest {
            refresh_token: body.refresh_token,
            device: Some(client.device()),
        })
        .await?
        .into_inner();
    Ok(Json(session(response)?))
}

/// Ends the session the access token belongs to: its refresh token stops working. The
/// access token itself stays valid until it expires.
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
) -> Result<StatusCode, ClientError> {
    state
        .clients
        .auth
        .clone()
        .logout(LogoutRequest {
            user_id: caller.user_id,
            session_id: caller.session_id,
        })
        .await?;
    Ok(StatusCode::NO_CONTENT)
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
    Ok(Json(me_view(user)?))
}

/// Changes the caller's display name, avatar or bio.
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
    let mut auth = state.clients.auth.clone();
    let updated = auth
        .update_profile(UpdateProfileRequest {
            user_id: caller.user_id.clone(),
            display_name: body.display_name,
            avatar_url: body.avatar_url,
            bio: body.bio,
        })
        .await?
        .into_inner();
    if updated.email.is_some() {
        return Ok(Json(me_view(updated)?));
    }
    // Auth answers with the public profile; the caller's own view includes the email.
    let user = auth
        .get_user(GetUserRequest {
            user_id: caller.user_id,
            include_email: true,
        })
        .await?
        .into_inner();
    Ok(Json(me_view(user)?))
}
