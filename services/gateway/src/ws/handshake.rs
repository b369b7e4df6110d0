//! The first frame: a socket is served only once it proved who it is. Returns the
//! authenticated user and the positions to resume, or closes the socket.

use std::collections::HashMap;

use axum::extract::ws::Message;
use chat_protocol::client::AuthFrame;
use chat_protocol::{ClientFrame, Disconnect, ErrorCode, Position, RoomId, UserId};
use chat_runtime::token::{AccessClaims, TokenVerifier};

use super::connection::Connection;
use crate::client_error::ClientError;
use crate::core::sockets::Sockets;

/// A socket whose user is known.
pub struct Authenticated {
    pub user: UserId,
    pub claims: AccessClaims,
    pub resume: HashMap<RoomId, Position>,
}

/// Waits for a valid `auth` frame (within the auth timeout). A malformed `auth` frame is
/// answered with `invalid_frame` and the fields at fault, and the socket may try again;
/// any other first frame, a refused token or no frame in time closes it with 4001.
pub async fn authenticate(
    connection: &mut Connection,
    sockets: &Sockets,
    verifier: &TokenVerifier,
    preauthenticated: Option<AccessClaims>,
) -> Option<Authenticated> {
    let settings = sockets.settings();
    let deadline = tokio::time::sleep(settings.auth_timeout);
    tokio::pin!(deadline);
    let frame: AuthFrame = loop {
        tokio::select! {
            () = &mut deadline => {
                connection.close(Disconnect::AuthTimeout).await;
                return None;
            }
            () = sockets.draining().cancelled() => {
                connection.say_reconnect().await;
                return None;
            }
            message = connection.recv() => match message {
                Some(Ok(Message::Text(text))) => {
                    if text.len() > settings.max_frame_bytes {
                        connection.close(Disconnect::AuthFirst).await;
                        return None;
                    }
                    match chat_protocol::client::parse(&text) {
                        Ok(ClientFrame::Auth(frame)) => break frame,
                        Err(err) if err.kind == Some("auth") => {
                            let reference = err.reference.clone();
                            let error = ClientError::from(err);
                            if connection.send(&error.to_counted_frame(reference.as_deref())).await.is_err() {
                                return None;
                            }
                        }
                        _ => {
                            connection.close(Disconnect::AuthFirst).await;
                            return None;
                        }
                    }
                }
                Some(Ok(Message::Ping(_) | Message::Pong(_))) => {}
                Some(Ok(Message::Binary(_))) => {
                    connection.close(Disconnect::AuthFirst).await;
                    return None;
                }
                Some(Ok(Message::Close(_))) | None => return None,
                Some(Err(err)) => {
                    connection.end_on_error(&err).await;
                    return None;
                }
            },
        }
    };
    let claims = match (frame.token.as_deref(), preauthenticated) {
        (Some(token), preauthenticated) => match verifier.verify(token).await {
            Ok(claims)
                if preauthenticated
                    .as_ref()
                    .is_none_or(|earlier| earlier.sub == claims.sub) =>
            {
                claims
            }
            Ok(_) => {
                connection.close(Disconnect::OtherUser).await;
                return None;
            }
            Err(err) => {
                connection
                    .close_with(Disconnect::TokenRefused.code(), &err.to_string())
                    .await;
                return None;
            }
        },
        (None, Some(claims)) => claims,
        (None, None) => {
            connection.close(Disconnect::TokenMissing).await;
            return None;
        }
    };
    let Ok(user) = claims.sub.parse::<UserId>() else {
        connection.close(Disconnect::NoUser).await;
        return None;
    };
    Some(Authenticated {
        user,
        claims,
        resume: frame.resume.unwrap_or_default(),
    })
}

/// The error a renewal `auth` frame gets when its token is for someone else.
pub fn other_user() -> ClientError {
    ClientError::new(
        ErrorCode::AlreadyAuthenticated,
        "this socket is authenticated as another user",
    )
}
