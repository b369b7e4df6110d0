//! A logout closes the sockets of the ended session (or of every session) on every
//! gateway at once, and keeps that session's tokens from opening new ones.

use reqwest::StatusCode;
use serde_json::json;

use crate::stack::{self, Stack, User};
use chat_test_stack::socket::Socket;

async fn log_out(stack: &Stack, user: &User, path: &str) {
    let response = reqwest::Client::new()
        .post(format!("{}{path}", stack.gateways[1].url()))
        .bearer_auth(&user.token)
        .send()
        .await
        .expect("gateway answers");
    assert_eq!(response.status(), StatusCode::NO_CONTENT, "{path}");
}

/// A new socket with `user`'s token: closed with 4001 before `ready`, or `ready`.
async fn opens(stack: &Stack, user: &User) -> Result<(), Option<u16>> {
    let mut socket = Socket::open(stack.gateways[0].addr, &[]).await;
    socket
        .send(json!({"type": "auth", "token": user.token}))
        .await;
    let first = socket.first_frame_or_close().await?;
    assert_eq!(first["type"], "ready", "{first}");
    Ok(())
}

#[tokio::test]
async fn a_logout_closes_that_sessions_sockets_on_every_gateway_and_keeps_it_out() {
    let stack = stack::spawn().await;
    let laptop = stack.user();
    let phone = stack.another_session(&laptop);
    let (mut laptop_here, _) = stack.connect(0, &laptop).await;
    let (mut laptop_there, _) = stack.connect(1, &laptop).await;
    let (mut phone_socket, _) = stack.connect(0, &phone).await;

    log_out(&stack, &laptop, "/api/auth/logout").await;

    assert_eq!(laptop_here.closed().await, Some(4001));
    assert_eq!(laptop_there.closed().await, Some(4001));
    // The phone's session goes on.
    phone_socket
        .send(json!({"type": "ping", "id": "still"}))
        .await;
    assert_eq!(phone_socket.expect("pong").await["ref"], "still");
    // The ended session's token, still unexpired, opens no new socket.
    assert_eq!(opens(&stack, &laptop).await, Err(Some(4001)));
    assert_eq!(opens(&stack, &phone).await, Ok(()));
}

#[tokio::test]
async fn logging_out_everywhere_closes_every_socket_of_the_user_only() {
    let stack = stack::spawn().await;
    let ada = stack.user();
    let ada_phone = stack.another_session(&ada);
    let grace = stack.user();
    let (mut laptop, _) = stack.connect(0, &ada).await;
    let (mut phone, _) = stack.connect(1, &ada_phone).await;
    let (mut grace_socket, _) = stack.connect(1, &grace).await;

    log_out(&stack, &ada_phone, "/api/auth/logout/all").await;

    assert_eq!(laptop.closed().await, Some(4001));
    assert_eq!(phone.closed().await, Some(4001));
    assert_eq!(opens(&stack, &ada).await, Err(Some(4001)));
    grace_socket.send(json!({"type": "ping"})).await;
    grace_socket.expect("pong").await;
    // Signing in again right afterwards works: what ended is the sessions started before
    // the logout (by the time in their ids), not every token of that second.
    let again = stack.another_session(&ada);
    assert_eq!(opens(&stack, &again).await, Ok(()));
}
