//! `join`: joins a public room; `room.added` at the position of the event that added the
//! user, the room's entries after it, then `joined`.

use chat_protocol::ServerFrame;
use chat_protocol::client::RoomRequest;
use chat_protocol::server::Answer;

use crate::client_error::ClientError;
use crate::ws::connection::Flow;
use crate::ws::socket::Session;

pub async fn join(session: &mut Session, request: RoomRequest) -> Flow {
    match session
        .realtime
        .rooms()
        .join(session.user, request.room)
        .await
    {
        Ok(room) => {
            session.await_addition(request.room, room.kind()).await?;
            session
                .connection
                .send(&ServerFrame::Joined(Answer {
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
