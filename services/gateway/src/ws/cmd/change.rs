//! `edit`, `delete`, `react` and `unreact`: a change to a message, answered with `done`
//! (the message as it now is) once durable; the room hears `message.edited`,
//! `message.deleted`, `reaction.added` or `reaction.removed`.

use chat_protocol::client::{DeleteFrame, EditFrame, ReactFrame};
use chat_protocol::server::Done;
use chat_protocol::{MessageView, ServerFrame};

use crate::client_error::ClientError;
use crate::core::message_changes::ChangeError;
use crate::core::messages::Messages;
use crate::ws::connection::Flow;
use crate::ws::socket::Session;

pub async fn edit(session: &mut Session, frame: EditFrame) -> Flow {
    let outcome = match Messages::admit(&session.limiter) {
        Ok(()) => {
            let changes = session.realtime.changes().clone();
            changes
                .edit(session.user.into(), frame.message_id.into(), frame.content)
                .await
        }
        Err(err) => Err(ChangeError::Content(err)),
    };
    answer(session, frame.id, outcome).await
}

pub async fn delete(session: &mut Session, frame: DeleteFrame) -> Flow {
    let outcome = match Messages::admit(&session.limiter) {
        Ok(()) => {
            let changes = session.realtime.changes().clone();
            changes
                .delete(session.user.into(), frame.message_id.into())
                .await
        }
        Err(err) => Err(ChangeError::Content(err)),
    };
    answer(session, frame.id, outcome).await
}

/// `react` (`added`) and `unreact`.
pub async fn react(session: &mut Session, frame: ReactFrame, added: bool) -> Flow {
    let outcome = match Messages::admit(&session.limiter) {
        Ok(()) => {
            let reactions = session.realtime.reactions().clone();
            reactions
                .set(
                    session.user.into(),
                    frame.message_id.into(),
                    &frame.emoji,
                    added,
                )
                .await
        }
        Err(err) => Err(ChangeError::Content(err)),
    };
    answer(session, frame.id, outcome).await
}

async fn answer(
    session: &mut Session,
    reference: String,
    outcome: Result<MessageView, ChangeError>,
) -> Flow {
    match outcome {
        Ok(message) => {
            session
                .connection
                .send(&ServerFrame::Done(Done { reference, message }))
                .await
        }
        Err(err) => {
            let error = ClientError::from(err).in_frame();
            session.send_error(&error, Some(&reference)).await
        }
    }
}
