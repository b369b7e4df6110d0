//! One socket's framing, writes, timeouts and closing (mini-redis's `Connection`): the
//! session above it only decides what to say.
//!
//! Reads are gated: the session's loop waits on the socket, its outbox, its timer and its
//! sends' confirms in one `select!`, so every wake-up (nearly always a delivery) would
//! poll the read side again, through tungstenite's frame reader down to the TCP stream,
//! only to find nothing. The socket is therefore read with a waker of its own
//! ([`ReadGate`]), and polled again only once that waker fired or after a read that
//! found a message (more may be buffered).

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Context, Poll};
use std::time::Duration;

use axum::extract::ws::{CloseFrame, Message, Utf8Bytes, WebSocket};
use chat_protocol::server::{Reconnect, ReconnectReason};
use chat_protocol::{Disconnect, ServerFrame};
use futures::task::{ArcWake, AtomicWaker};
use futures::{FutureExt, SinkExt, StreamExt};

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
    /// Whether the read side may have something (see the module docs); the read side is
    /// polled with its waker, made on the spot (every byte kept here is kept per socket).
    reads: Arc<ReadGate>,
}

/// The read side's waker: it records that the socket may be readable, then wakes the
/// socket's task.
#[derive(Debug)]
struct ReadGate {
    woken: AtomicBool,
    task: AtomicWaker,
}

impl ArcWake for ReadGate {
    fn wake_by_ref(gate: &Arc<Self>) {
        gate.woken.store(true, Ordering::Release);
        gate.task.wake();
    }
}

impl Connection {
    pub fn new(socket: WebSocket, write_limit: Duration) -> Self {
        let reads = Arc::new(ReadGate {
            // The first read looks at once.
            woken: AtomicBool::new(true),
            task: AtomicWaker::new(),
        });
        Self {
            socket,
            write_limit,
            reads,
        }
    }

    /// The next message from the peer. Cancel-safe, like the socket's own `recv`.
    pub fn recv(&mut self) -> impl Future<Output = Option<Result<Message, axum::Error>>> + '_ {
        std::future::poll_fn(|cx| self.poll_recv(cx))
    }

    fn poll_recv(&mut self, cx: &mut Context<'_>) -> Poll<Option<Result<Message, axum::Error>>> {
        self.reads.task.register(cx.waker());
        if !self.reads.woken.swap(false, Ordering::AcqRel) {
            // Nothing came since the read side last said it had nothing: its registration
            // (with the read waker) still stands.
            return Poll::Pending;
        }
        let read_waker = futures::task::waker_ref(&self.reads);
        let message = self
            .socket
            .poll_next_unpin(&mut Context::from_waker(&read_waker));
        if message.is_ready() {
            // More frames may already be buffered, with no wake-up to come for them.
            self.reads.woken.store(true, Ordering::Release);
        }
        message
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
