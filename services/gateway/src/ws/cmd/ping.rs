//! `ping`: answered with `pong`.

use chat_protocol::ServerFrame;
use chat_protocol::client::PingFrame;

use crate::ws::connection::Flow;
use crate::ws::socket::Session;

pub async fn ping(session: &mut Session, ping: PingFrame) -> Flow {
    session
        .connection
        .send(&ServerFrame::Pong { reference: ping.id })
        .await
}
