//! `typing`: the user started or stopped writing in one of their rooms. No answer; the
//! room's other members hear of it (see [`crate::core::typing`]).

use chat_protocol::ErrorCode;
use chat_protocol::client::TypingFrame;

use crate::client_error::ClientError;
use crate::ws::connection::Flow;
use crate::ws::socket::Session;

pub async fn typing(session: &mut Session, frame: TypingFrame) -> Flow {
    // The socket's rooms are exactly the user's memberships.
    if !session.cursors.contains_key(&frame.room) {
        let error = ClientError::new(ErrorCode::NotAMember, "you are not a member of this room");
        return session.send_error(&error, None).await;
    }
    let typing = session.realtime.typing().clone();
    typing.signal(session.user, frame.room, frame.state).await;
    Ok(())
}
