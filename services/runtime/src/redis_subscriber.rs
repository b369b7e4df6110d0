//! Listening to sharded pub/sub (`SSUBSCRIBE`, Redis 7) over one RESP3 connection per
//! shard, one node or a Redis Cluster alike: the gateway's fan-out hub hears every live
//! event through it.
//!
//! A single Redis is one shard holding every slot. In a cluster, the slot map
//! (`CLUSTER SLOTS`) says which master serves each slot, and each channel is subscribed on
//! the master of its slot (a channel carries its owner's hash tag). What every connection
//! hears arrives, in order per shard, on one queue ([`Subscriber::connect`]), read with
//! [`Subscriber::read`].
//!
//! The subscription is lost as a whole, and its owner makes it again (the hub's sockets
//! then look for what they missed), when any shard's connection drops (a master died or failed
//! over), when a command fails (a `MOVED` after the slots moved, or a timeout), or when a
//! shard takes a subscription back by itself: Redis sends `sunsubscribe` for a channel
//! whose slot left that master. The shard's own answers to this hub's `SUNSUBSCRIBE` are
//! told apart by counting them.

use std::collections::HashMap;
use std::net::SocketAddr;

use futures::{Stream, StreamExt as _};
use redis::aio::MultiplexedConnection;
use redis::{
    AsyncConnectionConfig, ConnectionAddr, ConnectionInfo, ProtocolVersion, PushInfo, PushKind,
    RedisResult, Value,
};
use tokio::sync::mpsc;

use crate::redis_connection::{CONNECT_TIMEOUT, RedisTarget, SLOTS, TIMEOUT, key_slot};

/// What one message on the queue means to its reader.
pub enum Heard {
    /// A message on a subscribed channel.
    Message(redis::Msg),
    /// The subscription is no longer whole: subscribe everything again.
    Lost,
    /// Nothing to act on (a shard's answer to a subscription change).
    Nothing,
}

/// The connections of one generation (replaced as a whole when lost).
pub struct Subscriber {
    shards: Vec<MultiplexedConnection>,
    /// For each slot, the index of the shard serving it.
    owners: Vec<u16>,
    /// Answers to this hub's own `SUNSUBSCRIBE` still to come, by channel.
    leaving: HashMap<Vec<u8>, u32>,
    /// Each shard's node (`host:port`) and the local address of the connection to it
    /// (plain TCP only): what the node shows as its `addr` in `CLIENT LIST`.
    links: Vec<(String, SocketAddr)>,
}

impl Subscriber {
    /// Connects to every shard of `target`; what they hear arrives on the receiver.
    pub async fn connect(
        target: &RedisTarget,
    ) -> RedisResult<(Self, mpsc::UnboundedReceiver<PushInfo>)> {
        let (pushes, heard) = mpsc::unbounded_channel();
        let subscriber = match target {
            RedisTarget::Node(info) => {
                let (connection, link) = connect_node(info, pushes).await?;
                Self {
                    shards: vec![connection],
                    owners: vec![0; usize::from(SLOTS)],
                    leaving: HashMap::new(),
                    links: link.into_iter().collect(),
                }
            }
            RedisTarget::Cluster(seeds) => Self::connect_cluster(seeds, pushes).await?,
        };
        Ok((subscriber, heard))
    }

    async fn connect_cluster(
        seeds: &[ConnectionInfo],
        pushes: mpsc::UnboundedSender<PushInfo>,
    ) -> RedisResult<Self> {
        let (ranges, seed) = slot_ranges(seeds).await?;
        let mut masters: Vec<ConnectionInfo> = Vec::new();
        let mut owners = vec![u16::MAX; usize::from(SLOTS)];
        for (first, last, (host, port)) in ranges {
            let info = ConnectionInfo {
                addr: ConnectionAddr::Tcp(host, port),
                redis: seed.redis.clone(),
            };
            let index = match masters.iter().position(|known| known.addr == info.addr) {
                Some(index) => index,
                None => {
                    masters.push(info);
                    masters.len() - 1
                }
            };
            for slot in first..=last.min(SLOTS - 1) {
                owners[usize::from(slot)] = index as u16;
            }
        }
        if owners.contains(&u16::MAX) {
            return Err(redis_error("the cluster does not serve every slot"));
        }
        let mut shards = Vec::with_capacity(masters.len());
        let mut links = Vec::new();
        for master in &masters {
            let (connection, link) = connect_node(master, pushes.clone()).await?;
            shards.push(connection);
            links.extend(link);
        }
        Ok(Self {
            shards,
            owners,
            leaving: HashMap::new(),
            links,
        })
    }

    /// Subscribes `channels` and returns what they hear from now on, until the
    /// subscription is lost: for a reader that needs no more (tests, tools).
    pub async fn listen(
        target: &RedisTarget,
        channels: &[String],
    ) -> RedisResult<impl Stream<Item = redis::Msg> + Send + use<>> {
        let (subscriber, heard) = Self::connect(target).await?;
        let subscribing: Vec<_> = channels
            .iter()
            .map(|channel| subscriber.subscribe(channel.clone()))
            .collect();
        futures::future::try_join_all(subscribing).await?;
        let heard = tokio_stream::wrappers::UnboundedReceiverStream::new(heard);
        Ok(heard
            .scan(subscriber, |subscriber, push| {
                std::future::ready(match subscriber.read(push) {
                    Heard::Message(message) => Some(Some(message)),
                    Heard::Nothing => Some(None),
                    Heard::Lost => None,
                })
            })
            .filter_map(std::future::ready))
    }

    /// Each shard's node (`host:port`) and the local address of this subscriber's
    /// connection to it, as the node shows it in `CLIENT LIST` (plain TCP only).
    pub fn links(&self) -> &[(String, SocketAddr)] {
        &self.links
    }

    fn shard_of(&self, channel: &str) -> MultiplexedConnection {
        let owner = self.owners[usize::from(key_slot(channel))];
        self.shards[usize::from(owner)].clone()
    }

    /// Subscribes `channel` on the shard of its slot.
    pub fn subscribe(
        &self,
        channel: String,
    ) -> impl Future<Output = RedisResult<()>> + Send + use<> {
        let mut shard = self.shard_of(&channel);
        async move {
            redis::cmd("SSUBSCRIBE")
                .arg(channel)
                .exec_async(&mut shard)
                .await
        }
    }

    /// Unsubscribes `channel`; its answer is then told apart from a shard's own.
    pub fn unsubscribe(
        &mut self,
        channel: String,
    ) -> impl Future<Output = RedisResult<()>> + Send + use<> {
        *self
            .leaving
            .entry(channel.clone().into_bytes())
            .or_default() += 1;
        let mut shard = self.shard_of(&channel);
        async move {
            redis::cmd("SUNSUBSCRIBE")
                .arg(channel)
                .exec_async(&mut shard)
                .await
        }
    }

    /// What `push`, taken off the queue, means.
    pub fn read(&mut self, push: PushInfo) -> Heard {
        match push.kind {
            PushKind::SMessage | PushKind::Message => {
                redis::Msg::from_push_info(push).map_or(Heard::Nothing, Heard::Message)
            }
            PushKind::Disconnection => Heard::Lost,
            PushKind::SUnsubscribe => {
                let Some(Value::BulkString(channel)) = push.data.first() else {
                    return Heard::Nothing;
                };
                match self.leaving.get_mut(channel) {
                    Some(count) => {
                        *count -= 1;
                        if *count == 0 {
                            self.leaving.remove(channel);
                        }
                        Heard::Nothing
                    }
                    // Taken back by the shard: its slot moved to another master.
                    None => Heard::Lost,
                }
            }
            PushKind::SSubscribe | PushKind::Subscribe => Heard::Nothing,
            kind => {
                tracing::warn!(?kind, data = ?push.data, "unexpected push from Redis");
                Heard::Nothing
            }
        }
    }
}

/// One RESP3 connection whose pushes go to `pushes`, over plain TCP by hand (to know its
/// node and local address) when it can, with the client's own transport otherwise (TLS,
/// sockets).
async fn connect_node(
    info: &ConnectionInfo,
    pushes: mpsc::UnboundedSender<PushInfo>,
) -> RedisResult<(MultiplexedConnection, Option<(String, SocketAddr)>)> {
    let mut info = info.clone();
    info.redis.protocol = ProtocolVersion::RESP3;
    let config = AsyncConnectionConfig::new()
        .set_push_sender(pushes)
        .set_response_timeout(TIMEOUT);
    let ConnectionAddr::Tcp(host, port) = &info.addr else {
        let client = redis::Client::open(info)?;
        let connection = client
            .get_multiplexed_async_connection_with_config(&config)
            .await?;
        return Ok((connection, None));
    };
    let stream = tokio::net::TcpStream::connect((host.as_str(), *port)).await?;
    stream.set_nodelay(true)?;
    let link = stream
        .local_addr()
        .ok()
        .map(|local| (format!("{host}:{port}"), local));
    let (connection, driver) =
        MultiplexedConnection::new_with_config(&info.redis, stream, config).await?;
    tokio::spawn(driver);
    Ok((connection, link))
}

/// Slots `first..=last` and the host and port of the master serving them.
type SlotRange = (u16, u16, (String, u16));

/// The slot ranges of the cluster and their masters' addresses, asked of the first seed
/// that answers (which is returned too: its credentials are every node's).
async fn slot_ranges(seeds: &[ConnectionInfo]) -> RedisResult<(Vec<SlotRange>, ConnectionInfo)> {
    let mut last_error = redis_error("no Redis Cluster seed node given");
    for seed in seeds {
        let asked = async {
            let client = redis::Client::open(seed.clone())?;
            let config = AsyncConnectionConfig::new()
                .set_connection_timeout(CONNECT_TIMEOUT)
                .set_response_timeout(TIMEOUT);
            let mut connection = client
                .get_multiplexed_async_connection_with_config(&config)
                .await?;
            redis::cmd("CLUSTER")
                .arg("SLOTS")
                .query_async::<Value>(&mut connection)
                .await
        };
        match asked.await {
            Ok(value) => return Ok((parse_slots(&value, seed)?, seed.clone())),
            Err(err) => last_error = err,
        }
    }
    Err(last_error)
}

/// Reads `CLUSTER SLOTS`: `[[first, last, [host, port, id, ...], replicas...], ...]`. An
/// empty host means the node that answered.
fn parse_slots(value: &Value, asked: &ConnectionInfo) -> RedisResult<Vec<SlotRange>> {
    let Value::Array(ranges) = value else {
        return Err(redis_error("CLUSTER SLOTS did not answer an array"));
    };
    let asked_host = match &asked.addr {
        ConnectionAddr::Tcp(host, _) | ConnectionAddr::TcpTls { host, .. } => host.clone(),
        ConnectionAddr::Unix(_) => String::new(),
    };
    ranges
        .iter()
        .map(|range| {
            let Value::Array(fields) = range else {
                return Err(redis_error("a CLUSTER SLOTS range is not an array"));
            };
            let (Some(first), Some(last), Some(Value::Array(master))) =
                (fields.first(), fields.get(1), fields.get(2))
            else {
                return Err(redis_error("a CLUSTER SLOTS range lacks its master"));
            };
            let host: String = master
                .first()
                .map(redis::from_redis_value)
                .transpose()?
                .filter(|host: &String| !host.is_empty() && host != "?")
                .unwrap_or_else(|| asked_host.clone());
            let port: u16 = master
                .get(1)
                .map(redis::from_redis_value)
                .transpose()?
                .ok_or_else(|| redis_error("a CLUSTER SLOTS master lacks its port"))?;
            Ok((
                redis::from_redis_value(first)?,
                redis::from_redis_value(last)?,
                (host, port),
            ))
        })
        .collect()
}

fn redis_error(message: &'static str) -> redis::RedisError {
    redis::RedisError::from((redis::ErrorKind::ClientError, message))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bulk(text: &str) -> Value {
        Value::BulkString(text.as_bytes().to_vec())
    }

    #[test]
    fn cluster_slots_read_with_the_asked_host_for_an_empty_one() {
        let answer = Value::Array(vec![
            Value::Array(vec![
                Value::Int(0),
                Value::Int(5460),
                Value::Array(vec![bulk("10.0.0.1"), Value::Int(7001), bulk("id1")]),
                Value::Array(vec![bulk("10.0.0.4"), Value::Int(7004), bulk("id4")]),
            ]),
            Value::Array(vec![
                Value::Int(5461),
                Value::Int(16383),
                Value::Array(vec![bulk(""), Value::Int(7002), bulk("id2")]),
            ]),
        ]);
        let asked: ConnectionInfo = "redis://seed:7000".parse().unwrap();
        let ranges = parse_slots(&answer, &asked).unwrap();
        assert_eq!(
            ranges,
            vec![
                (0, 5460, ("10.0.0.1".to_owned(), 7001)),
                (5461, 16383, ("seed".to_owned(), 7002)),
            ]
        );
        assert!(parse_slots(&Value::Int(1), &asked).is_err());
    }

    #[test]
    fn a_shards_own_unsubscribe_is_not_a_loss() {
        let mut subscriber = Subscriber {
            shards: Vec::new(),
            owners: Vec::new(),
            leaving: HashMap::from([(b"c1".to_vec(), 1)]),
            links: Vec::new(),
        };
        let sunsubscribe = |channel: &str| PushInfo {
            kind: PushKind::SUnsubscribe,
            data: vec![bulk(channel), Value::Int(0)],
        };
        assert!(matches!(
            subscriber.read(sunsubscribe("c1")),
            Heard::Nothing
        ));
        assert!(matches!(subscriber.read(sunsubscribe("c1")), Heard::Lost));
        assert!(matches!(
            subscriber.read(PushInfo {
                kind: PushKind::Disconnection,
                data: Vec::new()
            }),
            Heard::Lost
        ));
        let message = subscriber.read(PushInfo {
            kind: PushKind::SMessage,
            data: vec![bulk("c1"), bulk("payload")],
        });
        let Heard::Message(message) = message else {
            panic!("a message")
        };
        assert_eq!(message.get_channel_name(), "c1");
        assert_eq!(message.get_payload_bytes(), b"payload");
    }
}
