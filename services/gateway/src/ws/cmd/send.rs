//! `send`: a chat message, answered with its `ack` once durable.

use chat_protocol::ServerFrame;
use chat_protocol::client::SendFrame;

use crate::client_error::ClientError;
use crate::core::messages::{Messages, SendRequest};
use crate::ws::connection::Flow;
use crate::ws::socket::Session;

pub async fn send(session: &mut Session, frame: SendFrame) -> Flow {
    let reference = frame.client_msg_id.clone();
    session
        .realtime
        .typing()
        .message_sent(session.user, frame.room);
    let request = SendRequest {
        room: frame.room.into(),
        client_msg_id: frame.client_msg_id,
        content: frame.content,
        reply_to: frame.reply_to.map(Into::into),
        thread_root: frame.thread_root.map(Into::into),
        attachments: frame.attachments.into_iter().map(Into::into).collect(),
    };
    let outcome = match Messages::admit(&session.limiter) {
        Ok(()) => {
            let messages = session.realtime.messages().clone();
            messages.send(session.user.into(), request).await
        }
        Err(err) => Err(err),
    };
    match outcome {
        Ok(ack) => session.connection.send(&ServerFrame::Ack(ack)).await,
        Err(err) => {
            let error = ClientError::from(err).in_frame();
            session.send_error(&error, Some(&reference)).await
        }
    }
}
