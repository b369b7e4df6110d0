//! `search`: a page of message search results, answered with `search.results`.

use chat_protocol::ServerFrame;
use chat_protocol::client::SearchFrame;
use chat_protocol::server::SearchAnswer;

use crate::client_error::ClientError;
use crate::ws::connection::Flow;
use crate::ws::socket::Session;

pub async fn search(session: &mut Session, frame: SearchFrame) -> Flow {
    let search = session.realtime.search().clone();
    match search.search(session.user, &frame.query).await {
        Ok(results) => {
            session
                .connection
                .send(&ServerFrame::SearchResults(SearchAnswer {
                    reference: frame.id,
                    results,
                }))
                .await
        }
        Err(err) => {
            let error = ClientError::from(err).in_frame();
            session.send_error(&error, Some(&frame.id)).await
        }
    }
}
