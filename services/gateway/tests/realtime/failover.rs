//! A Redis Cluster failover while a user sends: the master serving the room dies, its
//! replica takes over, and nothing acknowledged is lost, nothing is stored or delivered
//! twice. `make test` runs it alone on the local cluster (deploy/local/redis-cluster.sh):
//! it kills one of the cluster's masters, which the script recreates on its next start.

use std::collections::HashMap;
use std::time::Duration;

use chat_runtime::redis_connection::{RedisConnection, key_slot};
use chat_test_stack::socket::Socket;
use serde_json::Value;
use tokio::time::{Instant, timeout};

use crate::stack::{self, messages};

/// Messages sent; the master dies after the first [`KILL_AFTER`].
const SENT: usize = 40;
const KILL_AFTER: usize = 10;
/// How long the failover may keep a send from being acknowledged.
const FAILOVER_PATIENCE: Duration = Duration::from_secs(40);

/// The `host:port` of the master serving `slot`, from `CLUSTER SLOTS`.
async fn master_of(redis: &RedisConnection, slot: u16) -> String {
    let ranges: Vec<Vec<redis::Value>> = redis::cmd("CLUSTER")
        .arg("SLOTS")
        .query_async(&mut redis.clone())
        .await
        .expect("CLUSTER SLOTS");
    for range in ranges {
        let first: u16 = redis::from_redis_value(&range[0]).expect("first slot");
        let last: u16 = redis::from_redis_value(&range[1]).expect("last slot");
        if (first..=last).contains(&slot) {
            let (host, port): (String, u16) = match &range[2] {
                redis::Value::Array(node) => (
                    redis::from_redis_value(&node[0]).expect("host"),
                    redis::from_redis_value(&node[1]).expect("port"),
                ),
                other => panic!("not a node: {other:?}"),
            };
            return format!("{host}:{port}");
        }
    }
    panic!("no master serves slot {slot}");
}

/// Sends like a client: the same client message id until it is acknowledged, through
/// errors and a reconnection. Returns the ack.
async fn send_until_acknowledged(
    stack: &stack::Stack,
    socket: &mut Socket,
    user: &stack::User,
    room: &str,
    id: &str,
) -> Value {
    let deadline = Instant::now() + FAILOVER_PATIENCE;
    loop {
        assert!(Instant::now() < deadline, "{id} never acknowledged");
        match timeout(Duration::from_secs(5), socket.send_message(room, id, id)).await {
            Ok(answer) if answer["type"] == "ack" => return answer,
            Ok(_error) => tokio::time::sleep(Duration::from_millis(200)).await,
            Err(_) => *socket = stack.connect_as_a_client(1, user).await,
        }
    }
}

#[tokio::test]
#[ignore = "kills a master of the local Redis Cluster: make test runs it alone, on the cluster"]
async fn a_master_failover_loses_nothing_acknowledged_and_delivers_nothing_twice() {
    assert!(
        chat_test_stack::scope::redis_cluster().is_some(),
        "runs on a Redis Cluster (CHAT_TEST_REDIS_CLUSTER)"
    );
    let stack = stack::spawn().await;
    let (alice, bob) = (stack.user(), stack.user());
    let room = stack.room(&alice, &[&bob]).await;
    let (mut bob_socket, _) = stack.connect(0, &bob).await;
    let mut alice_socket = stack.connect_as_a_client(1, &alice).await;
    let slot = key_slot(&stack.sequencer.room_keys(&room.to_string()).seq());
    let master = master_of(&stack.redis, slot).await;

    // Act: the room's master dies (no save, no goodbye) while Alice sends.
    let mut acks = Vec::new();
    for n in 0..SENT {
        if n == KILL_AFTER {
            let client = redis::Client::open(format!("redis://{master}")).expect("url");
            let mut connection = client.get_multiplexed_async_connection().await.unwrap();
            let _ = redis::cmd("SHUTDOWN")
                .arg("NOSAVE")
                .query_async::<()>(&mut connection)
                .await;
        }
        let id = format!("m{n}");
        let ack =
            send_until_acknowledged(&stack, &mut alice_socket, &alice, &room.to_string(), &id)
                .await;
        acks.push(ack);
    }
    let promoted = master_of(&stack.redis, slot).await;

    // Assert: a replica took over; history holds every acknowledged message once, in
    // order, where its ack said.
    assert_ne!(promoted, master, "the replica took the slot over");
    let last = acks.last().expect("acks");
    let last_position = last["position"].as_u64().expect("position");
    let stored = stack.stored_through(room, last_position).await;
    let stored_messages = messages(&stored);
    let mut times: HashMap<&str, usize> = HashMap::new();
    for message in &stored_messages {
        *times.entry(message.client_msg_id.as_str()).or_default() += 1;
    }
    for n in 0..SENT {
        let id = format!("m{n}");
        assert_eq!(times.get(id.as_str()), Some(&1), "{id} stored once");
    }
    let positions: Vec<(u64, u64)> = stored
        .iter()
        .map(|entry| {
            let position = entry.position.expect("position");
            (position.epoch, position.seq)
        })
        .collect();
    assert!(
        positions.windows(2).all(|pair| pair[0] < pair[1]),
        "history in position order: {positions:?}"
    );
    for ack in &acks {
        let at = (
            ack["epoch"].as_u64().expect("epoch"),
            ack["position"].as_u64().expect("position"),
        );
        let entry = stored
            .iter()
            .find(|entry| {
                let position = entry.position.expect("position");
                (position.epoch, position.seq) == at
            })
            .unwrap_or_else(|| panic!("nothing stored at the acknowledged {at:?}"));
        assert!(
            messages(std::slice::from_ref(entry))
                .first()
                .is_some_and(|message| message.client_msg_id == ack["client_msg_id"]),
            "the message acknowledged at {at:?} is the one stored there"
        );
    }

    // And Bob, live on the other gateway through the failover, got each message once or
    // was told to resync the room.
    let mut delivered: HashMap<String, usize> = HashMap::new();
    let mut resynced = false;
    let deadline = Instant::now() + FAILOVER_PATIENCE;
    while delivered.len() < SENT && !resynced && Instant::now() < deadline {
        let Ok(frame) = timeout(Duration::from_secs(5), bob_socket.next()).await else {
            continue;
        };
        match frame["type"].as_str() {
            Some("message.created") => {
                let id = frame["message"]["client_msg_id"]
                    .as_str()
                    .expect("client_msg_id")
                    .to_owned();
                *delivered.entry(id).or_default() += 1;
            }
            Some("resync") => resynced = true,
            _ => {}
        }
    }
    let epochs: std::collections::BTreeSet<u64> =
        positions.iter().map(|(epoch, _)| *epoch).collect();
    eprintln!(
        "failover: {master} -> {promoted}; epochs {epochs:?}; Bob got {} messages{}",
        delivered.len(),
        if resynced { " and a resync" } else { "" }
    );
    assert!(
        delivered.values().all(|times| *times == 1),
        "nothing delivered twice: {delivered:?}"
    );
    assert!(
        resynced || delivered.len() == SENT,
        "Bob got {} of {SENT} messages and no resync",
        delivered.len()
    );
}
