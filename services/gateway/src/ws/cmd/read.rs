//! `read`: the user has read a room up to a position. Nothing answers it directly: every
//! socket of the user (this one too) gets `read` with the position now, once it moved.

use chat_protocol::client::ReadFrame;

use crate::client_error::ClientError;
use crate::ws::connection::Flow;
use crate::ws::socket::Session;

pub async fn read(session: &mut Session, frame: ReadFrame) -> Flow {
    let messages = session.realtime.messages().clone();
    if let Err(err) = messages
        .require_member(frame.room.as_uuid(), session.user.as_uuid())
        .await
    {
        return session
            .send_error(&ClientError::from(err).in_frame(), None)
            .await;
    }
    let read_states = session.realtime.read_states().clone();
    match read_states
        .mark(session.user.as_uuid(), frame.room.as_uuid(), frame.position)
        .await
    {
        Ok(_) => Ok(()),
        Err(status) => {
            tracing::warn!(error = %status, "read position not stored");
            session
                .send_error(&ClientError::from(status).in_frame(), None)
                .await
        }
    }
}
