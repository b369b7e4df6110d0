//! What an idle socket costs the gateway. A measurement, not a promise checked in CI:
//! run with `cargo test -p chat-gateway --release --test realtime footprint -- --ignored
//! --nocapture`. The clients are bare TCP streams that do the upgrade by hand, so the
//! process's growth is (nearly) all the gateway's.

use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::stack::{self, Options};

const SOCKETS: usize = 2000;

fn resident_kib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").expect("procfs");
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmRSS:"))
        .and_then(|value| value.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("VmRSS")
}

/// A masked client text frame (RFC 6455 §5.2), payload under 126 bytes.
fn text_frame(payload: &[u8]) -> Vec<u8> {
    let mask = [0x12, 0x34, 0x56, 0x78];
    let mut frame = vec![0x81, 0x80 | u8::try_from(payload.len()).expect("short")];
    frame.extend_from_slice(&mask);
    frame.extend(payload.iter().enumerate().map(|(i, b)| b ^ mask[i % 4]));
    frame
}

/// Upgrades, authenticates by header and `auth` frame, and waits for some of `ready`.
async fn idle_socket(addr: std::net::SocketAddr, token: &str) -> TcpStream {
    let mut stream = TcpStream::connect(addr).await.expect("connect");
    let request = format!(
        "GET /ws HTTP/1.1\r\nHost: {addr}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\
         Authorization: Bearer {token}\r\n\r\n"
    );
    stream.write_all(request.as_bytes()).await.expect("upgrade");
    let mut response = Vec::new();
    let mut byte = [0u8; 1];
    while !response.ends_with(b"\r\n\r\n") {
        stream.read_exact(&mut byte).await.expect("response");
        response.push(byte[0]);
    }
    assert!(response.starts_with(b"HTTP/1.1 101"), "upgrade refused");
    stream
        .write_all(&text_frame(br#"{"type":"auth"}"#))
        .await
        .expect("auth");
    let mut ready = [0u8; 64];
    let _ = stream.read(&mut ready).await.expect("ready");
    stream
}

#[tokio::test]
#[ignore = "a measurement; run on demand in release mode"]
async fn idle_socket_footprint() {
    let stack = stack::spawn_with(Options {
        max_connections_per_user: SOCKETS + 1,
        ..Options::default()
    })
    .await;
    let user = stack.user();
    let addr = stack.gateways[0].addr;
    // Warm up allocators and caches with a first batch that is then dropped.
    let warm: Vec<TcpStream> =
        futures::future::join_all((0..100).map(|_| idle_socket(addr, &user.token))).await;
    drop(warm);
    tokio::time::sleep(Duration::from_secs(1)).await;

    let before = resident_kib();
    let mut sockets = Vec::with_capacity(SOCKETS);
    for _ in 0..SOCKETS / 100 {
        let batch = futures::future::join_all((0..100).map(|_| idle_socket(addr, &user.token)));
        sockets.extend(batch.await);
    }
    tokio::time::sleep(Duration::from_secs(1)).await;
    let after = resident_kib();

    let per_socket = (after.saturating_sub(before) * 1024) / SOCKETS as u64;
    println!(
        "{SOCKETS} idle sockets: resident memory {before} KiB -> {after} KiB, \
         {per_socket} bytes per socket (gateway and bare client together)"
    );
    drop(sockets);
}
