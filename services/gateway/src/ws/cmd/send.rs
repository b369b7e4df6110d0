//! `send`: a chat message, answered with its `ack` once durable.
//!
//! A send is sequenced at once (its position taken, fanned out); the broker's confirm is
//! then awaited beside the socket's deliveries and its next sends, up to
//! `MAX_CONFIRMING` at a time, and the answers (acks and errors) go out in the order
//! of the sends.

use chat_protocol::client::SendFrame;
use chat_protocol::{Ack, ServerFrame};
use futures::StreamExt;
use futures::stream::FuturesOrdered;
use tracing::Instrument;

use crate::client_error::ClientError;
use crate::core::messages::{MessageError, Messages, SendRequest, send_span};
use crate::ws::confirms::{Confirming, MAX_CONFIRMING};
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
    if let Err(err) = Messages::admit(&session.limiter) {
        return refuse(session, reference, err).await;
    }
    let messages = session.realtime.messages().clone();
    let span = send_span(&request);
    let sequenced = match messages
        .sequence(session.user.into(), request)
        .instrument(span.clone())
        .await
    {
        Ok(sequenced) => sequenced,
        Err(err) => return refuse(session, reference, err).await,
    };
    if session.confirms.as_deref().map_or(0, FuturesOrdered::len) >= MAX_CONFIRMING {
        answer_next(session).await?;
    }
    let confirming: Confirming = Box::pin(
        async move { (reference, messages.make_sent_durable(sequenced).await) }.instrument(span),
    );
    session
        .confirms
        .get_or_insert_with(Box::default)
        .push_back(confirming);
    Ok(())
}

/// Answers a send refused before it was sequenced: at once, or after the sends still
/// awaiting their confirm, so that answers keep the order of the sends.
async fn refuse(session: &mut Session, reference: String, err: MessageError) -> Flow {
    if session.confirms.as_deref().map_or(0, FuturesOrdered::len) >= MAX_CONFIRMING {
        answer_next(session).await?;
    }
    match session.confirms.as_mut() {
        Some(confirms) if !confirms.is_empty() => {
            confirms.push_back(Box::pin(std::future::ready((reference, Err(err)))));
            Ok(())
        }
        _ => answer(session, reference, Err(err)).await,
    }
}

/// Waits for the oldest send's confirm and answers it.
pub async fn answer_next(session: &mut Session) -> Flow {
    let Some(confirms) = session.confirms.as_mut() else {
        return Ok(());
    };
    let next = confirms.next().await;
    if confirms.is_empty() {
        // An idle socket holds no queue.
        session.confirms = None;
    }
    match next {
        Some((reference, outcome)) => answer(session, reference, outcome).await,
        None => Ok(()),
    }
}

/// Waits for every send's confirm and answers them (the socket is about to go).
pub async fn answer_all(session: &mut Session) -> Flow {
    while session.confirms.is_some() {
        answer_next(session).await?;
    }
    Ok(())
}

/// The `ack` of a send, or its error.
pub async fn answer(
    session: &mut Session,
    reference: String,
    outcome: Result<Ack, MessageError>,
) -> Flow {
    match outcome {
        Ok(ack) => {
            tracing::debug!(
                socket = session.outbox.id(),
                room = %ack.room,
                position = ?ack.position,
                duplicate = ack.duplicate,
                "acknowledged"
            );
            session.connection.send(&ServerFrame::Ack(ack)).await
        }
        Err(err) => {
            let error = ClientError::from(err).in_frame();
            session.send_error(&error, Some(&reference)).await
        }
    }
}
