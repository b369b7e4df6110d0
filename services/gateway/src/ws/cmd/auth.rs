//! `auth` on an authenticated socket: a fresh token for the same user renews the session.

use chat_protocol::client::AuthFrame;
use chat_protocol::{ErrorCode, ServerFrame, Timestamp};

use crate::client_error::ClientError;
use crate::ws::connection::Flow;
use crate::ws::handshake;
use crate::ws::socket::{Session, expiry};

pub async fn renew(session: &mut Session, frame: AuthFrame) -> Flow {
    let Some(token) = frame.token else {
        let error = ClientError::new(ErrorCode::InvalidFrame, "a renewal needs a token")
            .with_fields([("token", "missing")]);
        return session.send_error(&error, None).await;
    };
    match session.verifier.verify(&token).await {
        Ok(claims) if claims.sub == session.user.to_string() => {
            if session.realtime.revocations().has_ended(&claims).await {
                let error = ClientError::new(ErrorCode::InvalidToken, "this token's session ended");
                return session.send_error(&error, None).await;
            }
            session.expires_at = expiry(claims.exp);
            session.session_id = claims.sid;
            let expires_at = Timestamp::from_unix(claims.exp, 0).unwrap_or_else(Timestamp::now);
            session
                .connection
                .send(&ServerFrame::AuthRenewed { expires_at })
                .await
        }
        Ok(_) => session.send_error(&handshake::other_user(), None).await,
        Err(err) => {
            let error = ClientError::new(ErrorCode::InvalidToken, err.to_string());
            session.send_error(&error, None).await
        }
    }
}
