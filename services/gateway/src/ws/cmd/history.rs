//! `history`: a page of a room's messages.

use chat_protocol::ServerFrame;
use chat_protocol::client::HistoryFrame;
use chat_protocol::server::HistoryPage;

use crate::client_error::ClientError;
use crate::core::messages::PageScope;
use crate::ws::connection::Flow;
use crate::ws::socket::Session;

pub async fn history(session: &mut Session, frame: HistoryFrame) -> Flow {
    let messages = session.realtime.messages().clone();
    let outcome = messages
        .history(
            session.user.into(),
            frame.room.into(),
            PageScope::Room {
                with_thread_replies: true,
            },
            frame.before,
            frame.after,
            frame.limit,
        )
        .await;
    match outcome {
        Ok(page) => {
            session
                .connection
                .send(&ServerFrame::History(HistoryPage {
                    reference: frame.id,
                    room: frame.room,
                    messages: page.messages,
                    has_older: page.has_older,
                    has_newer: page.has_newer,
                }))
                .await
        }
        Err(err) => {
            let error = ClientError::from(err).in_frame();
            session.send_error(&error, Some(&frame.id)).await
        }
    }
}
