//! The floor `make bench` measures the gateway against: a WebSocket broadcaster with no
//! logic at all, the least any server pays for the same deliveries. A socket sends
//! `join <room>` once, then `<room>|...` messages; each message is written, as it came
//! and rendered once, to every socket of the room (the sender too). Each socket's frames
//! are fed and flushed together (one write for whatever waits). No authentication,
//! storage, ordering, Redis or limits.
//!
//!   chat-floor [ADDR]   (default 127.0.0.1:28190)

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use futures::{SinkExt, StreamExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;

type Rooms = Arc<Mutex<HashMap<String, Vec<mpsc::UnboundedSender<Message>>>>>;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let addr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:28190".to_owned());
    let _ = rlimit::increase_nofile_limit(u64::MAX);
    let listener = TcpListener::bind(&addr).await?;
    eprintln!("floor on {addr}");
    let rooms = Rooms::default();
    loop {
        let (stream, _) = listener.accept().await?;
        let _ = stream.set_nodelay(true);
        tokio::spawn(serve(stream, Arc::clone(&rooms)));
    }
}

async fn serve(stream: TcpStream, rooms: Rooms) {
    // The gateway's read buffer (WS_READ_BUFFER_BYTES's default), no write buffer beyond
    // the frames being written, so idle memory compares like with like.
    let config = WebSocketConfig::default()
        .read_buffer_size(256)
        .write_buffer_size(0);
    let Ok(socket) = tokio_tungstenite::accept_async_with_config(stream, Some(config)).await else {
        return;
    };
    let (mut sink, mut source) = socket.split();
    let (tx, mut rx) = mpsc::unbounded_channel::<Message>();
    let writer = tokio::spawn(async move {
        while let Some(first) = rx.recv().await {
            if sink.feed(first).await.is_err() {
                return;
            }
            while let Ok(next) = rx.try_recv() {
                if sink.feed(next).await.is_err() {
                    return;
                }
            }
            if sink.flush().await.is_err() {
                return;
            }
        }
    });
    while let Some(Ok(message)) = source.next().await {
        let Message::Text(text) = message else {
            continue;
        };
        if let Some(room) = text.strip_prefix("join ") {
            rooms
                .lock()
                .expect("rooms")
                .entry(room.to_owned())
                .or_default()
                .push(tx.clone());
            continue;
        }
        let Some((room, _)) = text.split_once('|') else {
            continue;
        };
        let frame = Message::Text(text.clone());
        if let Some(members) = rooms.lock().expect("rooms").get_mut(room) {
            members.retain(|member| member.send(frame.clone()).is_ok());
        }
    }
    writer.abort();
}
