//! Message search: only the caller's rooms (and not one they left), deleted messages
//! gone, edits found by their new text, the query syntax, filters, pages that stay put
//! while new messages arrive, the socket frame, and bad input answered.

use std::time::Duration;

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::stack::{self, Stack, User};

async fn search(stack: &Stack, user: &User, query: &str) -> (StatusCode, Value) {
    stack
        .api(
            0,
            user,
            Method::GET,
            &format!("search/messages?{query}"),
            None,
        )
        .await
}

/// The contents found, newest first.
fn contents(page: &Value) -> Vec<String> {
    page["results"]
        .as_array()
        .unwrap_or_else(|| panic!("results in {page}"))
        .iter()
        .map(|hit| hit["message"]["content"].as_str().unwrap().to_owned())
        .collect()
}

/// Searches until the contents found are `expected` (history stores asynchronously).
async fn finds(stack: &Stack, user: &User, query: &str, expected: &[&str]) -> Value {
    let deadline = tokio::time::Instant::now() + stack::PATIENCE;
    loop {
        let (status, page) = search(stack, user, query).await;
        assert_eq!(status, StatusCode::OK, "{page}");
        if contents(&page) == expected {
            return page;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "{query}: expected {expected:?}, found {:?}",
            contents(&page)
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn q(text: &str) -> String {
    format!("q={}", urlencoding(text))
}

fn urlencoding(text: &str) -> String {
    url::form_urlencoded::byte_serialize(text.as_bytes()).collect()
}

#[tokio::test]
async fn only_the_callers_rooms_are_searched_with_deletes_gone_and_edits_found() {
    let stack = stack::spawn().await;
    let (ada, bob, eve) = (stack.user(), stack.user(), stack.user());
    let shared = stack.room(&ada, &[&bob]).await;
    let private = stack.room(&eve, &[]).await;
    let (mut ada_socket, _) = stack.connect(0, &ada).await;
    let (mut eve_socket, _) = stack.connect(1, &eve).await;
    let (mut bob_socket, _) = stack.connect(1, &bob).await;
    let room = shared.to_string();
    ada_socket
        .send_message(&room, "a1", "Meet at the lighthouse at nine!")
        .await;
    let typo = ada_socket
        .send_message(&room, "a2", "Bring the lighthuose map")
        .await;
    let gone = ada_socket
        .send_message(&room, "a3", "The lighthouse gate code is 4711")
        .await;
    bob_socket
        .send_message(&room, "b1", "Lighthouse? Fog is forecast")
        .await;
    eve_socket
        .send_message(&private.to_string(), "e1", "Eve's secret lighthouse plan")
        .await;

    // Bob finds the shared room's messages, newest first, never Eve's, with the word marked.
    let page = finds(
        &stack,
        &bob,
        &q("lighthouse"),
        &[
            "Lighthouse? Fog is forecast",
            "The lighthouse gate code is 4711",
            "Meet at the lighthouse at nine!",
        ],
    )
    .await;
    let snippet = &page["results"][2]["snippet"];
    // A short message comes whole, its punctuation and all.
    let whole: String = snippet
        .as_array()
        .unwrap()
        .iter()
        .map(|part| part["text"].as_str().unwrap())
        .collect();
    assert_eq!(whole, "Meet at the lighthouse at nine!");
    assert!(
        snippet
            .as_array()
            .unwrap()
            .iter()
            .any(|part| part["text"] == "lighthouse" && part["matched"] == true),
        "{snippet}"
    );
    assert_eq!(page["next_cursor"], Value::Null);

    // A deleted message is gone; an edited one is found by its text now, not its old one.
    let (status, _) = stack
        .api(
            0,
            &ada,
            Method::DELETE,
            &format!("messages/{}", gone["id"].as_str().unwrap()),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let (status, _) = stack
        .api(
            0,
            &ada,
            Method::PUT,
            &format!("messages/{}", typo["id"].as_str().unwrap()),
            Some(json!({"content": "Bring the lighthouse map"})),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    finds(&stack, &bob, &q("4711"), &[]).await;
    finds(&stack, &bob, &q("lighthuose"), &[]).await;
    finds(&stack, &bob, &q("map"), &["Bring the lighthouse map"]).await;

    // The syntax: a phrase, an exclusion, alternatives; filters by sender and room.
    finds(
        &stack,
        &bob,
        &q("\"at the lighthouse\""),
        &["Meet at the lighthouse at nine!"],
    )
    .await;
    finds(
        &stack,
        &bob,
        &q("lighthouse -fog"),
        &[
            "Bring the lighthouse map",
            "Meet at the lighthouse at nine!",
        ],
    )
    .await;
    finds(
        &stack,
        &bob,
        &q("nine or fog"),
        &[
            "Lighthouse? Fog is forecast",
            "Meet at the lighthouse at nine!",
        ],
    )
    .await;
    finds(
        &stack,
        &bob,
        &format!("{}&sender={}", q("lighthouse"), bob.id),
        &["Lighthouse? Fog is forecast"],
    )
    .await;
    finds(
        &stack,
        &eve,
        &format!("{}&room={private}", q("lighthouse")),
        &["Eve's secret lighthouse plan"],
    )
    .await;

    // The socket asks the same.
    bob_socket
        .send(json!({"type": "search", "id": "s1", "q": "fog"}))
        .await;
    let (_, answer) = bob_socket.until("search.results").await;
    assert_eq!(answer["ref"], "s1");
    assert_eq!(contents(&answer), ["Lighthouse? Fog is forecast"]);

    // Once Bob has left the room, it is no longer his to search.
    let (status, body) = stack
        .api(
            1,
            &bob,
            Method::DELETE,
            &format!("rooms/{shared}/leave"),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
    finds(&stack, &bob, &q("lighthouse"), &[]).await;
    let (status, body) = search(&stack, &bob, &format!("{}&room={shared}", q("lighthouse"))).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    assert_eq!(body["error"]["code"], "not_a_member");
    let (status, body) = search(&stack, &bob, &format!("{}&room={private}", q("lighthouse"))).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
}

#[tokio::test]
async fn pages_stay_put_while_new_messages_arrive() {
    let stack = stack::spawn().await;
    let ada = stack.user();
    let room = stack.room(&ada, &[]).await;
    let (mut socket, _) = stack.connect(0, &ada).await;
    let mut last = Value::Null;
    for n in 1..=5 {
        last = socket
            .send_message(
                &room.to_string(),
                &format!("m{n}"),
                &format!("walk number {n}"),
            )
            .await;
    }
    stack
        .stored_through(room, last["position"].as_u64().unwrap())
        .await;
    let first = finds(
        &stack,
        &ada,
        &format!("{}&limit=2", q("walk")),
        &["walk number 5", "walk number 4"],
    )
    .await;
    let cursor = first["next_cursor"]
        .as_str()
        .expect("a next page")
        .to_owned();

    // Newer messages do not shift the older pages.
    socket
        .send_message(&room.to_string(), "m6", "walk number 6")
        .await;
    let (_, second) = search(
        &stack,
        &ada,
        &format!("{}&limit=2&cursor={cursor}", q("walk")),
    )
    .await;
    assert_eq!(contents(&second), ["walk number 3", "walk number 2"]);
    let cursor = second["next_cursor"].as_str().expect("a last page");
    let (_, third) = search(
        &stack,
        &ada,
        &format!("{}&limit=2&cursor={cursor}", q("walk")),
    )
    .await;
    assert_eq!(contents(&third), ["walk number 1"]);
    assert_eq!(third["next_cursor"], Value::Null);
}

#[tokio::test]
async fn bad_searches_are_refused_with_the_field_named() {
    let stack = stack::spawn().await;
    let ada = stack.user();
    stack.room(&ada, &[]).await;
    let too_long = "w".repeat(201);
    for (query, field) in [
        ("q=".to_owned(), "q"),
        ("q=%20%20".to_owned(), "q"),
        (q(&too_long), "q"),
        ("q=a%00b".to_owned(), "q"),
        (format!("{}&limit=0", q("walk")), "limit"),
        (format!("{}&limit=51", q("walk")), "limit"),
        (format!("{}&cursor=yesterday", q("walk")), "cursor"),
    ] {
        let (status, body) = search(&stack, &ada, &query).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{query}: {body}");
        assert_eq!(
            body["error"]["code"], "validation_failed",
            "{query}: {body}"
        );
        assert!(
            body["error"]["fields"].get(field).is_some(),
            "{query}: {body}"
        );
    }
    let (status, body) = search(
        &stack,
        &ada,
        &format!("{}&room={}", q("walk"), Uuid::now_v7()),
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
    let (status, body) = search(&stack, &ada, &format!("{}&colour=red", q("walk"))).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(body["error"]["code"], "invalid_query");
    // Syntax a web search would shrug at finds nothing rather than failing.
    finds(&stack, &ada, &q("\"unclosed -- or or"), &[]).await;
}
