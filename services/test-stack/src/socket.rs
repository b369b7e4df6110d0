//! A WebSocket client that speaks the chat protocol as a test needs: the frames it sends
//! are `chat-protocol`'s [`ClientFrame`]s (or, for tests of refusals, any JSON or text);
//! the frames it reads come as JSON, so tests assert on the wire, or typed
//! ([`Socket::next_frame`]). Every wait is bounded by [`PATIENCE`].

use std::collections::VecDeque;
use std::net::SocketAddr;

use chat_protocol::client::SendFrame;
use chat_protocol::{ClientFrame, RoomId, ServerFrame};
use futures::{SinkExt, StreamExt};
use serde_json::Value;
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::{Message, Utf8Bytes};
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

use crate::PATIENCE;

pub struct Socket {
    stream: WebSocketStream<MaybeTlsStream<TcpStream>>,
    /// Frames read while waiting for a send's answer, handed out before the stream's.
    held: VecDeque<Utf8Bytes>,
}

/// How the server answered an upgrade it refused.
#[derive(Debug)]
pub struct Refused {
    pub status: u16,
    pub body: Value,
}

impl Socket {
    /// Opens `/ws` with extra request headers; panics if the upgrade is refused.
    pub async fn open(addr: SocketAddr, headers: &[(&str, &str)]) -> Self {
        Self::try_open(addr, headers)
            .await
            .unwrap_or_else(|refused| panic!("upgrade refused: {refused:?}"))
    }

    /// Opens `/ws` with extra request headers.
    pub async fn try_open(addr: SocketAddr, headers: &[(&str, &str)]) -> Result<Self, Refused> {
        let mut request = format!("ws://{addr}/ws")
            .into_client_request()
            .expect("request");
        for (name, value) in headers {
            request.headers_mut().insert(
                http::HeaderName::from_bytes(name.as_bytes()).expect("name"),
                value.parse().expect("value"),
            );
        }
        match tokio_tungstenite::connect_async(request).await {
            Ok((stream, _)) => Ok(Self {
                stream,
                held: VecDeque::new(),
            }),
            Err(tokio_tungstenite::tungstenite::Error::Http(response)) => {
                let status = response.status().as_u16();
                let body = response
                    .body()
                    .as_ref()
                    .and_then(|body| serde_json::from_slice(body).ok())
                    .unwrap_or(Value::Null);
                Err(Refused { status, body })
            }
            Err(err) => panic!("cannot connect: {err}"),
        }
    }

    /// Opens `/ws` over a connection with a tiny receive buffer, so a client that stops
    /// reading makes the server's writes block soon.
    pub async fn open_with_small_buffers(addr: SocketAddr) -> Self {
        let socket = tokio::net::TcpSocket::new_v4().expect("socket");
        socket.set_recv_buffer_size(4096).expect("buffer size");
        let tcp = socket.connect(addr).await.expect("connect");
        let request = format!("ws://{addr}/ws")
            .into_client_request()
            .expect("request");
        let (stream, _) = tokio_tungstenite::client_async(request, MaybeTlsStream::Plain(tcp))
            .await
            .expect("upgrade");
        Self {
            stream,
            held: VecDeque::new(),
        }
    }

    /// Sends a frame of the protocol.
    pub async fn send_frame(&mut self, frame: &ClientFrame) {
        self.send_text(frame.to_text()).await;
    }

    /// Sends any JSON, for frames the protocol refuses; [`Socket::send_frame`] for the
    /// frames it declares.
    pub async fn send(&mut self, frame: Value) {
        self.send_text(frame.to_string()).await;
    }

    pub async fn send_text(&mut self, text: String) {
        self.stream
            .send(Message::Text(text.into()))
            .await
            .expect("frame sent");
    }

    pub async fn send_raw(&mut self, message: Message) {
        self.stream.send(message).await.expect("frame sent");
    }

    /// The next JSON frame (pings and pongs skipped); panics on close or timeout.
    pub async fn next(&mut self) -> Value {
        json(&self.next_text().await)
    }

    /// The next frame, typed; panics on close, timeout, or a frame the protocol does not
    /// declare.
    pub async fn next_frame(&mut self) -> ServerFrame {
        let text = self.next_text().await;
        serde_json::from_str(&text)
            .unwrap_or_else(|err| panic!("not a frame of the protocol ({err}): {text}"))
    }

    async fn next_text(&mut self) -> Utf8Bytes {
        match self.next_event().await {
            Event::Frame(text) => text,
            Event::Closed(close) => panic!("socket closed: {close:?}"),
        }
    }

    /// The next frame of `kind`, failing on any other frame in between.
    pub async fn expect(&mut self, kind: &str) -> Value {
        let frame = self.next().await;
        assert_eq!(
            frame["type"], kind,
            "expected a `{kind}` frame, got {frame}"
        );
        frame
    }

    /// The next `message.created`, skipping the room's other events (membership and
    /// room changes, which take positions too).
    pub async fn next_message(&mut self) -> Value {
        loop {
            let frame = self.next().await;
            let kind = frame["type"].as_str().unwrap_or_default().to_owned();
            if kind == "message.created" {
                return frame;
            }
            assert!(
                kind.starts_with("member.") || kind.starts_with("room."),
                "expected a message, got {frame}"
            );
        }
    }

    /// Reads frames until one of type `kind`; returns the ones before it and it.
    pub async fn until(&mut self, kind: &str) -> (Vec<Value>, Value) {
        let mut before = Vec::new();
        loop {
            let frame = self.next().await;
            if frame["type"] == kind {
                return (before, frame);
            }
            before.push(frame);
        }
    }

    /// The close code the server ends with (frames before it are skipped).
    pub async fn closed(&mut self) -> Option<u16> {
        loop {
            if let Event::Closed(close) = self.next_event().await {
                return close.map(|frame| frame.code.into());
            }
        }
    }

    /// Nothing is waiting on the socket: a `ping` is answered by the very next frame.
    pub async fn assert_nothing_pending(&mut self) {
        self.send(serde_json::json!({"type": "ping", "id": "quiet"}))
            .await;
        let next = self.next().await;
        assert_eq!(
            next["type"], "pong",
            "expected nothing before the pong, got {next}"
        );
    }

    /// The first frame, or the close code when the socket is closed before any.
    pub async fn first_frame_or_close(&mut self) -> Result<Value, Option<u16>> {
        match self.next_event().await {
            Event::Frame(text) => Ok(json(&text)),
            Event::Closed(close) => Err(close.map(|frame| frame.code.into())),
        }
    }

    /// The frames until the close, and its code.
    pub async fn frames_until_closed(&mut self) -> (Vec<Value>, Option<u16>) {
        let mut frames = Vec::new();
        loop {
            match self.next_event().await {
                Event::Frame(text) => frames.push(json(&text)),
                Event::Closed(close) => return (frames, close.map(|frame| frame.code.into())),
            }
        }
    }

    async fn next_event(&mut self) -> Event {
        if let Some(text) = self.held.pop_front() {
            return Event::Frame(text);
        }
        loop {
            let message = tokio::time::timeout(PATIENCE, self.stream.next())
                .await
                .expect("a frame in time");
            match message {
                Some(Ok(Message::Text(text))) => return Event::Frame(text),
                Some(Ok(Message::Close(close))) => return Event::Closed(close),
                Some(Ok(_)) => {}
                Some(Err(_)) | None => return Event::Closed(None),
            }
        }
    }

    /// Sends a `send` frame to `room` (a room id) and returns its answer: the `ack`, or
    /// the `error` for it. Frames that come before the answer (the message's own
    /// `message.created` may) stay for the next reads.
    pub async fn send_message(&mut self, room: &str, client_msg_id: &str, content: &str) -> Value {
        let room: RoomId = room
            .parse()
            .unwrap_or_else(|err| panic!("not a room id ({err}): {room}"));
        self.send_frame(&ClientFrame::Send(SendFrame::new(
            room,
            client_msg_id,
            content,
        )))
        .await;
        let mut before = VecDeque::new();
        loop {
            let text = self.next_text().await;
            let frame = json(&text);
            let answers = frame["client_msg_id"] == client_msg_id || frame["ref"] == client_msg_id;
            if (frame["type"] == "ack" || frame["type"] == "error") && answers {
                before.append(&mut self.held);
                self.held = before;
                return frame;
            }
            before.push_back(text);
        }
    }

    pub async fn close(mut self) {
        let _ = self.stream.close(None).await;
    }

    /// The raw stream, for tests that must not read (slow consumers).
    pub fn into_inner(self) -> WebSocketStream<MaybeTlsStream<TcpStream>> {
        self.stream
    }
}

enum Event {
    /// A text frame.
    Frame(Utf8Bytes),
    Closed(Option<CloseFrame>),
}

fn json(text: &str) -> Value {
    serde_json::from_str(text).unwrap_or_else(|err| panic!("not a JSON frame ({err}): {text}"))
}
