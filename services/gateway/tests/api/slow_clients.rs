//! Clients that send slowly cannot hold the gateway's connections: a request head must
//! arrive within the header timeout, and a body may not stall past the body timeout.

use std::time::{Duration, Instant};

use chat_test_stack::{Stack, StackOptions};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::TcpStream;

use crate::helpers::{SUITE, gateway_flags};

async fn gateway_with(header_timeout: &str, body_timeout: &str) -> Stack {
    Stack::spawn(
        SUITE,
        StackOptions {
            history: None,
            gateway: gateway_flags()
                .set("--header-timeout", header_timeout)
                .set("--body-timeout", body_timeout),
            gateways: 1,
            ..StackOptions::default()
        },
    )
    .await
}

/// Whether the server closed `stream` (a read sees the end, or the connection resets).
async fn closed(stream: &mut TcpStream) -> bool {
    let mut buffer = [0u8; 1024];
    loop {
        match tokio::time::timeout(Duration::from_millis(100), stream.read(&mut buffer)).await {
            Ok(Ok(0) | Err(_)) => return true,
            Ok(Ok(_)) => {}
            Err(_) => return false,
        }
    }
}

#[tokio::test]
async fn a_request_head_sent_a_byte_at_a_time_is_cut_off() {
    let stack = gateway_with("1s", "30s").await;
    let mut stream = TcpStream::connect(stack.gateways[0].addr).await.unwrap();
    let head =
        b"GET /healthz HTTP/1.1\r\nHost: chat\r\nX-Slow: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";

    let started = Instant::now();
    let mut cut_off = false;
    for byte in head {
        if stream.write_all(&[*byte]).await.is_err() || closed(&mut stream).await {
            cut_off = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }

    assert!(
        cut_off,
        "the connection is still open after the whole slow head"
    );
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn a_body_that_stalls_fails_the_request() {
    let stack = gateway_with("10s", "1s").await;
    let mut stream = TcpStream::connect(stack.gateways[0].addr).await.unwrap();
    stream
        .write_all(
            b"POST /api/auth/login HTTP/1.1\r\nHost: chat\r\nContent-Type: application/json\r\n\
              Content-Length: 100\r\n\r\n{\"login\":",
        )
        .await
        .unwrap();

    // Nothing more is sent: within a few seconds the gateway gives up on the body.
    let mut answer = Vec::new();
    let read = tokio::time::timeout(Duration::from_secs(5), stream.read_to_end(&mut answer)).await;
    let answered = read.is_ok() || !answer.is_empty();
    assert!(answered, "the gateway still waits for the body");
    let text = String::from_utf8_lossy(&answer);
    assert!(
        text.is_empty() || text.starts_with("HTTP/1.1 4"),
        "a client error or a closed connection: {text}"
    );
}
