//! Getting back into an account and reviewing where one is signed in: a forgotten
//! password reset by a mailed link, an email confirmed by a mailed link, and the list of
//! the caller's sessions, each of which can be ended.

use axum::extract::State;
use axum::http::StatusCode;
use chat_proto::v1::{
    ChangeEmailRequest, ForgotPasswordRequest, ListSessionsRequest, ResetPasswordRequest,
    VerifyEmailRequest,
};
use chat_protocol::account::{
    EmailChange, EmailVerification, EmailVerified, ForgotPassword, PasswordReset, SessionList,
    SessionView,
};
use chat_protocol::{ErrorBody, ErrorCode, Me, UserId};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::auth::{end_sessions, uncached};
use super::extract::{Json, Path};
use super::notifications::with_notification_level;
use super::users::me_view;
use crate::access::AuthenticatedUser;
use crate::client_addr::ClientInfo;
use crate::client_error::ClientError;
use crate::core::render;
use crate::core::revocations::Ended;
use crate::state::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    uncached(
        OpenApiRouter::new()
            .routes(routes!(forgot_password))
            .routes(routes!(reset_password))
            .routes(routes!(verify_email))
            .routes(routes!(change_email))
            .routes(routes!(list_sessions))
            .routes(routes!(end_session)),
    )
}

/// Mails a single-use link to reset the password of the account `login` names (valid 30
/// minutes; a newer one replaces it). The answer is the same, and as quick, whether or not
/// there is such an account. Requests count against the client address's limit.
#[utoipa::path(
    post,
    path = "/api/auth/password/forgot",
    tag = "auth",
    request_body = ForgotPassword,
    responses(
        (status = 202, description = "If the account exists, a mail is on its way"),
        (status = 422, description = "`validation_failed` (an empty login)", body = ErrorBody),
        (status = 429, description = "`too_many_attempts`; see `Retry-After`", body = ErrorBody),
    )
)]
async fn forgot_password(
    State(state): State<AppState>,
    client: ClientInfo,
    Json(body): Json<ForgotPassword>,
) -> Result<StatusCode, ClientError> {
    state
        .clients
        .auth
        .clone()
        .forgot_password(ForgotPasswordRequest {
            login: body.login,
            device: Some(client.device()),
        })
        .await?;
    Ok(StatusCode::ACCEPTED)
}

/// Sets a new password with the token of a mailed link. The link then stops working, and
/// every session of the account ends (every device signs in again, with the new password).
#[utoipa::path(
    post,
    path = "/api/auth/password/reset",
    tag = "auth",
    request_body = PasswordReset,
    responses(
        (status = 204, description = "The password is changed; every session ended"),
        (status = 400, description = "`invalid_link`: unknown, expired, replaced or used", body = ErrorBody),
        (status = 422, description = "`validation_failed` (a password too short or too long)", body = ErrorBody),
        (status = 429, description = "`too_many_attempts`; see `Retry-After`", body = ErrorBody),
    )
)]
async fn reset_password(
    State(state): State<AppState>,
    client: ClientInfo,
    Json(body): Json<PasswordReset>,
) -> Result<StatusCode, ClientError> {
    let reset = state
        .clients
        .auth
        .clone()
        .reset_password(ResetPasswordRequest {
            token: body.token,
            password: body.password,
            device: Some(client.device()),
        })
        .await?
        .into_inner();
    if let Ok(user) = reset.user_id.parse::<UserId>() {
        state
            .realtime
            .revocations()
            .end(
                user,
                Ended::Every {
                    at_ms: reset.ended_at_ms,
                },
            )
            .await;
    }
    Ok(StatusCode::NO_CONTENT)
}

/// Changes the caller's email, with their current password: the new address is
/// unconfirmed (`email_verified: false`) until the link mailed to it is opened, and the
/// old address is told of the change. A wrong password counts as a failed sign-in.
#[utoipa::path(
    put,
    path = "/api/auth/me/email",
    tag = "auth",
    request_body = EmailChange,
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The account with its new address", body = Me),
        (status = 400, description = "`malformed_json`", body = ErrorBody),
        (status = 401, description = "No valid access token", body = ErrorBody),
        (status = 403, description = "`wrong_password`", body = ErrorBody),
        (status = 409, description = "`email_taken`", body = ErrorBody),
        (status = 422, description = "`validation_failed` (`email`, `password`) or `invalid_body`", body = ErrorBody),
        (status = 429, description = "`too_many_attempts`; see `Retry-After`", body = ErrorBody),
    )
)]
async fn change_email(
    State(state): State<AppState>,
    caller: AuthenticatedUser,
    client: ClientInfo,
    Json(body): Json<EmailChange>,
) -> Result<Json<Me>, ClientError> {
    let user = state
        .clients
        .auth
        .clone()
        .change_email(ChangeEmailRequest {
            user_id: caller.user_id.clone(),
            email: body.email,
            password: body.password,
            device: Some(client.device()),
        })
        .await
        .map_err(|status| {
            // The caller is signed in: a wrong password is not a failed sign-in for them.
            let error = ClientError::from(status);
            if error.code == ErrorCode::InvalidCredentials {
                ClientError::new(ErrorCode::WrongPassword, "the password is wrong")
                    .with_fields([("password", "is not your current password")])
            } else {
                error
            }
        })?
        .into_inner();
    Ok(Json(with_notification_level(&state, me_view(user)?).await))
}

/// Confirms the address a verification link was mailed to (sent at registration).
#[utoipa::path(
    post,
    path = "/api/auth/email/verify",
    tag = "auth",
    request_body = EmailVerification,
    responses(
        (status = 200, description = "Confirmed", body = EmailVerified),
        (status = 400, description = "`invalid_link`: unknown, expired, used, or the account's email changed", body = ErrorBody),
    )
)]
async fn verify_email(
    State(state): State<AppState>,
    Json(body): Json<EmailVerification>,
) -> Result<Json<EmailVerified>, ClientError> {
    let verified = state
        .clients
        .auth
        .clone()
        .verify_email(VerifyEmailRequest { token: body.token })
        .await?
        .into_inner();
    Ok(Json(EmailVerified {
        email: verified.email,
        email_verified: true,
    }))
}

/// The caller's open sessions (one per signed-in device), most recently used first.
#[utoipa::path(
    get,
    path = "/api/auth/sessions",
    tag = "auth",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The open sessions", body = SessionList),
        (status = 401, description = "No valid access token", body = ErrorBody),
    )
)]
async fn list_sessions(
    State(state): State<AppState>,
    caller: AuthenticatedUser,
) -> Result<Json<SessionList>, ClientError> {
    let open = state
        .clients
        .auth
        .clone()
        .list_sessions(ListSessionsRequest {
            user_id: caller.user_id.clone(),
        })
        .await?
        .into_inner();
    let sessions = open
        .sessions
        .into_iter()
        .map(|session| SessionView {
            current: session.id == caller.session_id,
            created_at: session.created_at.as_ref().and_then(render::timestamp),
            last_used_at: session.last_used_at.as_ref().and_then(render::timestamp),
            id: session.id,
            user_agent: session.user_agent,
            ip_address: session.ip_address,
        })
        .collect();
    Ok(Json(SessionList { sessions }))
}

/// Ends one of the caller's sessions: that device's refresh token stops working and its
/// sockets close at once. Ending one that is already over changes nothing.
#[utoipa::path(
    delete,
    path = "/api/auth/sessions/{id}",
    tag = "auth",
    params(("id" = String, Path, description = "The session")),
    security(("bearer" = [])),
    responses(
        (status = 204, description = "Ended"),
        (status = 401, description = "No valid access token", body = ErrorBody),
        (status = 422, description = "`validation_failed`: not a session id", body = ErrorBody),
    )
)]
async fn end_session(
    State(state): State<AppState>,
    caller: AuthenticatedUser,
    Path(id): Path<String>,
) -> Result<StatusCode, ClientError> {
    end_sessions(&state, &caller.user_id, &id, false).await?;
    Ok(StatusCode::NO_CONTENT)
}
