//! `leave`: leaves a room; its `member.left` entry, `room.removed`, then `left`.

use chat_protocol::ServerFrame;
use chat_protocol::client::RoomRequest;
use chat_protocol::server::Answer;

use crate::client_error::ClientError;
use crate::ws::connection::Flow;
use crate::ws::socket::Session;

pub async fn leave(session: &mut Session, request: RoomRequest) -> Flow {
    match session
        .realtime
        .rooms()
        .leave(session.user, request.room)
        .await
    {
        Ok(()) => {
            session.await_removal(request.room).await?;
            session
                .connection
                .send(&ServerFrame::Left(Answer {
                    reference: request.id,
                    room: request.room,
                }))
                .await
        }
        Err(status) => {
            let error = ClientError::from(status);
            session.send_error(&error, Some(&request.id)).await
        }
    }
}
