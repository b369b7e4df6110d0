//! The pending sweeper: an envelope fanned out whose broker confirm never came is stored.

use chat_bus::sequencer::{Sequencer, SequencerConfig};
use std::time::Duration;

use crate::helpers::{REDIS_URL, Room, TestEnv, eventually, item_of};

#[tokio::test]
async fn an_envelope_that_never_reached_the_broker_is_swept_into_history() {
    // Arrange: a gateway appended a message (fanned out, pending) and died before
    // publishing it to RabbitMQ.
    let env = TestEnv::new().await;
    let mut app = env
        .start(&["--sweep-interval", "50ms", "--sweep-age", "0s"])
        .await;
    let redis = chat_runtime::redis_connection::connect_url(REDIS_URL)
        .await
        .expect("connect to Redis");
    let sequencer = Sequencer::new(redis, env.key_prefix.clone(), SequencerConfig::default());
    let mut room = Room::new();
    let item = item_of(&room.message("seen but never confirmed"));

    // Act
    let appended = sequencer.append(&item).await.expect("append");
    env.wait_for_entries(room.id, 1).await;

    // Assert
    let page = app.messages(room.id).await;
    assert_eq!(page.messages.len(), 1);
    let stored = &page.messages[0];
    assert_eq!(stored.content, "seen but never confirmed");
    assert_eq!(
        stored.position.map(|p| (p.epoch, p.seq)),
        Some((appended.envelope.epoch, appended.envelope.seq))
    );
    eventually("the pending record cleared", || async {
        sequencer
            .pending_older_than(Duration::ZERO, 10)
            .await
            .expect("read pending")
            .is_empty()
            .then_some(())
    })
    .await;

    app.stop().await;
    env.clean_up().await;
}
