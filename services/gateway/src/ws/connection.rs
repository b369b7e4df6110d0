//! One socket's framing, writes, timeouts and closing (mini-redis's `Connection`): the
//! session above it only decides what to say.

use std::time::Duration;

use axum::extract::ws::{CloseFrame, Message, Utf8Bytes, WebSocket};
use chat_protocol::server::{Reconnect, ReconnectReason};
use chat_protocol::{Disconnect, ServerFrame};
use futures::{FutureExt, SinkExt};

/// How long a closing socket waits for the peer's close frame.
const CLOSE_WAIT: Duration = Duration::from_secs(1);

/// The socket ended (closed by either side, or broken).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ended;

/// What a write or a step of the session returns: go on, or the socket is gone.
pub type Flow = Result<(), Ended>;

/// An upgraded socket.
pub struct Connection {
    socket: WebSocket,
    /// A peer that takes nothing for this long is given up on.
    write_limit: Duration,
}

impl Connection {
    pub fn new(socket: WebSocket, write_limit: Duration) -> Self {
        Self {
            socket,
            write_limit,
        }
    }

    /// The next message from the peer.
    pub async fn recv(&mut self) -> Option<Result<Message, axum::Error>> {
        self.socket.recv().await
    }

    /// Queues `message`: written once the write buffer (`WS_WRITE_BUFFER_BYTES`) is full,
    /// or by the next flush. A peer that takes
    /// nothing for the whole write limit is given up on: the socket ends without a close
    /// frame, which could not be written either.
    pub async fn write(&mut self, message: Message) -> Flow {
        let mut feed = self.socket.feed(message);
        // Nearly always done at once: the timer is only set up (boxed, so that it takes no
        // room in every idle socket's future) when the write waits.
        let fed = match (&mut feed).now_or_never() {
            Some(fed) => fed,
            None => match Box::pin(tokio::time::timeout(self.write_limit, feed)).await {
                Ok(fed) => fed,
                Err(_) => {
                    tracing::info!("peer stopped reading; dropping it");
                    return Err(Ended);
                }
            },
        };
        fed.map_err(|_| Ended)
    }

    pub async fn flush(&mut self) -> Flow {
        let mut flush = self.socket.flush();
        let flushed = match (&mut flush).now_or_never() {
            Some(flushed) => flushed,
            None => Box::pin(tokio::time::timeout(self.write_limit, flush))
                .await
                .map_err(|_| Ended)?,
        };
        flushed.map_err(|_| Ended)
    }

    /// Writes an already rendered frame without flushing (deliveries flush in batches).
    pub async fn feed_text(&mut self, text: Utf8Bytes) -> Flow {
        self.write(Message::Text(text)).await
    }

    /// Writes a frame and flushes.
    pub async fn send(&mut self, frame: &ServerFrame) -> Flow {
        self.write(Message::Text(frame.to_text().into())).await?;
        self.flush().await
    }

    /// A WebSocket ping (the heartbeat).
    pub async fn ping(&mut self) -> Flow {
        self.write(Message::Ping(axum::body::Bytes::new())).await?;
        self.flush().await
    }

    /// Sends a close frame and waits briefly for the peer's, so the peer reads the code
    /// before the connection goes.
    pub async fn close(&mut self, why: Disconnect) {
        // Boxed: the wait for the peer's close frame would otherwise sit in the future
        // of every idle socket's loop.
        Box::pin(self.close_with(why.code(), why.reason())).await;
    }

    /// Closes with `why`'s code and a reason of the moment (a refused token's).
    pub async fn close_with(&mut self, code: u16, reason: &str) {
        let frame = CloseFrame {
            code,
            reason: Utf8Bytes::from(reason),
        };
        if self.socket.send(Message::Close(Some(frame))).await.is_err() {
            return;
        }
        let socket = &mut self.socket;
        let _ = tokio::time::timeout(CLOSE_WAIT, async {
            while let Some(Ok(message)) = socket.recv().await {
                if matches!(message, Message::Close(_)) {
                    break;
                }
            }
        })
        .await;
    }

    /// The gateway is going away: say where to go, then close with 1012.
    pub async fn say_reconnect(&mut self) {
        let frame = ServerFrame::Reconnect(Reconnect {
            reason: ReconnectReason::Shutdown,
            retry_after_ms: 0,
        })
        .to_text();
        if self.socket.send(Message::Text(frame.into())).await.is_ok() {
            self.close(Disconnect::Restart).await;
        }
    }

    /// A read failed: a message over the hard size limit gets 1009; anything else just
    /// ends.
    pub async fn end_on_error(&mut self, err: &axum::Error) {
        let too_big = std::error::Error::source(err)
            .and_then(|source| source.downcast_ref::<tokio_tungstenite::tungstenite::Error>())
            .is_some_and(|err| matches!(err, tokio_tungstenite::tungstenite::Error::Capacity(_)));
        if too_big {
            self.close(Disconnect::MessageTooBig).await;
        } else {
            tracing::debug!(error = %err, "socket read failed");
        }
    }
}
