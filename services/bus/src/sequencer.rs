//! The room sequence in Redis: positions, the recovery stream, dedup and pending records.
//!
//! Every message and room event of a room goes through [`Sequencer::append`] (or, for a
//! chat message sent by a client, [`Sequencer::append_once`]), which runs one Lua script.
//! Redis runs a script alone, so its steps happen together or not at all:
//!
//! 1. With [`Sequencer::append_once`], the record of that send `(room, sender,
//!    client_msg_id)` is looked up; when present, the send was seen before, and nothing
//!    else happens: no position is taken, nothing is published. The record says whether
//!    the first attempt is durable yet ([`AppendOutcome`]).
//! 2. The room's next position is taken from the hash `{prefix}room:{<room_id>}:seq`.
//!    When the hash is missing (a new room, or Redis lost its data: it keeps nothing on
//!    disk), a new epoch is made from the Redis clock in milliseconds, also greater than
//!    any epoch still in the room's stream, and seq starts at 1. Otherwise seq is
//!    incremented. So within an epoch positions are dense (1, 2, 3, ...), and an epoch
//!    changes only when the counter was lost.
//! 3. The [`RoomEnvelope`] is built in the protobuf wire format (by the script itself:
//!    `src/lua/envelope.lua`), so the bytes stored, published and later persisted are
//!    the same bytes.
//! 4. The envelope is added to the room's stream `{prefix}room:{<room_id>}:stream` under
//!    the id `<epoch>-<seq>`, trimmed to about [`SequencerConfig::stream_max_len`]
//!    entries: the short recovery buffer of [`Sequencer::read_after`], nothing more.
//! 5. The envelope is PUBLISHed on the room's channel ([`room_channel`]). Because the
//!    position is taken and the PUBLISH issued in the same atomic step, and Redis
//!    delivers a connection's messages in order, every subscriber hears a room's
//!    envelopes in position order.
//! 6. A pending record says "fanned out, not yet confirmed by the broker": the member
//!    `<room_id>|<epoch>|<seq>` in the sorted set `{prefix}pending`, scored by the time in
//!    ms, and the envelope under the same member in the hash `{prefix}pending:data`. The
//!    caller removes both with [`Sequencer::confirm`] once RabbitMQ confirmed the
//!    envelope; the history service sweeps what stays behind
//!    ([`Sequencer::pending_older_than`]), so an envelope someone saw is persisted even
//!    when its sender died before the broker confirmed it, however busy its room was
//!    meanwhile (the stream may have dropped it long ago; the pending data keeps it).
//! 7. With [`Sequencer::append_once`], the envelope becomes the record of that send, with
//!    a TTL ([`SequencerConfig::dedup_ttl`]).
//!
//! # The dedup record
//!
//! A retry must not be acknowledged before its message is durable, so until the broker's
//! confirm is recorded the dedup record holds the whole envelope: a retry gets it back
//! ([`AppendOutcome::Pending`]) and publishes it to the broker again before acknowledging
//! (the history consumer is idempotent). [`Sequencer::confirm`] then replaces the record,
//! in the same script that clears the pending record and keeping the record's remaining
//! TTL, with the compact ack ([`DurableAck`]: item id, epoch, seq, sent time; under a
//! hundred bytes instead of up to the whole message): a later retry gets that
//! ([`AppendOutcome::Confirmed`]) and is acknowledged at once. So Redis holds a day of
//! sends as a day of small records, not a day of messages.
//!
//! # Catch-up
//!
//! A reconnecting reader subscribes to the room channel first (buffering what arrives),
//! then calls [`Sequencer::read_after`] with its last position, follows
//! [`StreamRead::plan`], and drops buffered envelopes at or below the last position it
//! delivered. See [`CatchUp`] for the cases.
//!
//! # Redis Cluster
//!
//! A room's keys share the hash tag `{<room_id>}` and so one slot (see [`crate::keys`]),
//! and so does its channel: the append script publishes with `SPUBLISH` from the room's
//! slot. On one node the pending set and its data are one pair for every room; in a
//! cluster they are one pair per slot, in the room's slot, and
//! [`Sequencer::pending_older_than`] visits every slot's.

use chat_protocol::{Position, RoomId};
use std::sync::LazyLock;
use std::time::Duration;

use bytes::Bytes;
use chat_proto::v1::room_item::Body;
use chat_proto::v1::{RoomEnvelope, RoomItem};
use chat_runtime::redis_connection::RedisConnection;
use futures::{StreamExt as _, TryStreamExt as _};
use prost::Message;
use redis::streams::StreamRangeReply;

use crate::keys::{
    RoomKeys, SLOTS, born_key, key_slot, parse_stream_id, pending_data_key, pending_key,
    pending_member, slot_pending_keys, stream_id,
};
use crate::{BusError, room_channel};

/// Counter of appends, by `outcome`: `appended`, or for a retried send `duplicate_pending`
/// (its broker confirm not yet recorded) or `duplicate_confirmed`.
pub const APPENDS_METRIC: &str = "chat_bus_appends_total";

/// The stream field that holds the envelope bytes.
const ENVELOPE_FIELD: &str = "e";

/// The protobuf encoder the scripts start with, alone for its tests.
#[cfg(test)]
const ENVELOPE_LUA: &str = include_str!("lua/envelope.lua");

static APPEND: LazyLock<redis::Script> = LazyLock::new(|| {
    redis::Script::new(concat!(
        include_str!("lua/envelope.lua"),
        include_str!("lua/append.lua")
    ))
});

static CONFIRM: LazyLock<redis::Script> =
    LazyLock::new(|| redis::Script::new(include_str!("lua/confirm.lua")));

/// Sets the born marker to the server's time unless it exists; returns it.
static BORN: LazyLock<redis::Script> = LazyLock::new(|| {
    redis::Script::new(
        "local t = redis.call('TIME') \
         redis.call('SET', KEYS[1], t[1] * 1000 + math.floor(t[2] / 1000), 'NX') \
         return redis.call('GET', KEYS[1])",
    )
});

static PENDING: LazyLock<redis::Script> =
    LazyLock::new(|| redis::Script::new(include_str!("lua/pending.lua")));

/// How many slots' pending sets a cluster sweep looks for at once.
const SLOT_SWEEP_CONCURRENCY: usize = 512;

/// Tuning of the sequence.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SequencerConfig {
    /// About how many of a room's latest envelopes its stream keeps (at least 1). A
    /// reader whose gap is longer reads the older part from history.
    pub stream_max_len: usize,
    /// How long a retried send is recognised as the same one.
    pub dedup_ttl: Duration,
}

impl Default for SequencerConfig {
    fn default() -> Self {
        Self {
            stream_max_len: 10_000,
            dedup_ttl: Duration::from_secs(24 * 60 * 60),
        }
    }
}

/// How much of each room its Redis stream keeps (`--stream-max-len`), to
/// `#[command(flatten)]` into the configuration of every process that appends to the
/// sequence.
#[derive(clap::Args, Debug, Clone)]
pub struct StreamConfig {
    /// About how many recent entries of a room its Redis stream keeps for short catch-ups;
    /// must match the other processes of the deployment.
    #[arg(
        long = "stream-max-len",
        env = "STREAM_MAX_LEN",
        default_value_t = 10_000
    )]
    pub stream_max_len: usize,
}

impl StreamConfig {
    /// The sequence's tuning with this stream length, the rest as by default.
    pub fn sequencer_config(&self) -> SequencerConfig {
        SequencerConfig {
            stream_max_len: self.stream_max_len,
            ..SequencerConfig::default()
        }
    }
}

/// A new entry of a room's sequence.
#[derive(Debug, Clone, PartialEq)]
pub struct Appended {
    /// The envelope at its position.
    pub envelope: RoomEnvelope,
    /// The encoded envelope, exactly as stored, published and to be persisted.
    pub bytes: Bytes,
    /// What its sender's ack says; `None` when its item cannot be read.
    ack: Option<DurableAck>,
    /// Its dedup record's key, if it has one.
    dedup: Option<String>,
}

impl Appended {
    /// Reads what the append script returned. `known` is the item the envelope carries
    /// when the caller encoded it itself (a new entry): it is not decoded again.
    fn new(bytes: Vec<u8>, known: Option<&RoomItem>, keys: &RoomKeys) -> Result<Self, BusError> {
        let envelope = decode_envelope(&bytes)?;
        let decoded = match known {
            Some(_) => None,
            None => decode_item(&envelope).ok(),
        };
        let item = known.or(decoded.as_ref());
        Ok(Self {
            ack: item.map(|item| DurableAck::of_item(&envelope, item)),
            dedup: item.and_then(|item| dedup_key(keys, item)),
            envelope,
            bytes: Bytes::from(bytes),
        })
    }

    /// What the sender's ack of this entry says.
    pub fn ack(&self) -> Result<DurableAck, BusError> {
        self.ack
            .clone()
            .ok_or_else(|| BusError::Invalid("the appended item cannot be read".into()))
    }
}

/// The outcome of [`Sequencer::append_once`]: a new send, or a retry of one in either of
/// the two states its first attempt can be in.
#[derive(Debug, Clone, PartialEq)]
pub enum AppendOutcome {
    /// The first attempt of this send: appended, published and pending, like
    /// [`Sequencer::append`] does. Publish it to the broker, then acknowledge and
    /// [`confirm`](Sequencer::confirm).
    New(Appended),
    /// A retry of a send whose broker confirm is not recorded: its first attempt may have
    /// died before the confirm. Nothing was stored or published again. Publish this
    /// original envelope to the broker again before acknowledging (then confirm it), so
    /// that this ack too means durable.
    Pending(Appended),
    /// A retry of a send already durable (the broker confirmed it, or history's sweeper
    /// stored it): acknowledge at once with the original ack; nothing to publish.
    Confirmed(DurableAck),
}

impl AppendOutcome {
    /// Whether this send had been appended before (a retry).
    pub fn is_duplicate(&self) -> bool {
        !matches!(self, Self::New(_))
    }
}

/// What the sender's ack of a durable entry says, kept as the dedup record of a send
/// once the broker confirmed it, in place of its envelope.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DurableAck {
    /// The message's id (for an entry that is not a chat message, the item's id).
    pub id: String,
    /// The entry's position in its room: `(epoch, seq)`.
    pub epoch: u64,
    pub seq: u64,
    /// When it was sent: the message's `sent_at` (else the item's `occurred_at`).
    pub sent_at: Option<prost_types::Timestamp>,
}

/// Starts a dedup record holding a [`DurableAck`]; a record holding an envelope starts
/// with the tag of the envelope's field 1 (byte 0x08: the epoch is never 0) instead.
const ACK_RECORD_TAG: &str = "ack:";

impl DurableAck {
    /// The ack of the entry `envelope` carries.
    pub fn of(envelope: &RoomEnvelope) -> Result<Self, BusError> {
        Ok(Self::of_item(envelope, &decode_item(envelope)?))
    }

    fn of_item(envelope: &RoomEnvelope, item: &RoomItem) -> Self {
        let (id, sent_at) = match &item.body {
            Some(Body::Message(message)) => (message.id.clone(), message.sent_at),
            _ => (item.id.clone(), item.occurred_at),
        };
        Self {
            id,
            epoch: envelope.epoch,
            seq: envelope.seq,
            sent_at,
        }
    }

    /// The dedup record: `ack:<epoch>:<seq>:<seconds>:<nanos>:<id>`, the time fields empty
    /// when there is no time. A fixed text rather than a protobuf: it never leaves Redis
    /// and this crate, and a reader of Redis can tell what it says.
    fn record(&self) -> String {
        let mut numbers: [itoa::Buffer; 4] = Default::default();
        let [epoch, seq, seconds, nanos] = &mut numbers;
        let (seconds, nanos) = self.sent_at.map_or(("", ""), |at| {
            (seconds.format(at.seconds), nanos.format(at.nanos))
        });
        [
            ACK_RECORD_TAG,
            epoch.format(self.epoch),
            ":",
            seq.format(self.seq),
            ":",
            seconds,
            ":",
            nanos,
            ":",
            &self.id,
        ]
        .concat()
    }

    /// Reads a record written by [`record`](Self::record); `None` for anything else.
    fn parse_record(record: &[u8]) -> Option<Self> {
        let text = std::str::from_utf8(record)
            .ok()?
            .strip_prefix(ACK_RECORD_TAG)?;
        let mut fields = text.splitn(5, ':');
        let epoch = fields.next()?.parse().ok()?;
        let seq = fields.next()?.parse().ok()?;
        let sent_at = match (fields.next()?, fields.next()?) {
            ("", "") => None,
            (seconds, nanos) => Some(prost_types::Timestamp {
                seconds: seconds.parse().ok()?,
                nanos: nanos.parse().ok()?,
            }),
        };
        let id = fields.next()?.to_owned();
        Some(Self {
            id,
            epoch,
            seq,
            sent_at,
        })
    }
}

/// The key of the record that makes [`Sequencer::append_once`] append `item` at most
/// once, so the record it writes is the one [`Sequencer::confirm`] finds: for a chat
/// message, its send `(sender_id, client_msg_id)`; for a room event, its event id (the
/// rooms service's relay may append an event again after a crash). `None` for anything
/// else.
fn dedup_key(keys: &RoomKeys, item: &RoomItem) -> Option<String> {
    match &item.body {
        Some(Body::Message(message))
            if !message.sender_id.is_empty() && !message.client_msg_id.is_empty() =>
        {
            Some(keys.dedup(&message.sender_id, &message.client_msg_id))
        }
        Some(Body::RoomEvent(event)) if !event.event_id.is_empty() => {
            Some(keys.dedup_event(&event.event_id))
        }
        _ => None,
    }
}

/// What a room's stream holds after a reader's position (see [`Sequencer::read_after`]).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct StreamRead {
    /// The envelopes of the asked epoch with seq above the asked one, in position order,
    /// at most the asked limit.
    pub envelopes: Vec<RoomEnvelope>,
    /// The lowest seq of the asked epoch still in the stream (`None`: the stream holds
    /// nothing of that epoch).
    pub covers_from: Option<u64>,
    /// The room's current position `(epoch, seq)` (`None`: Redis has no counter for the
    /// room: it never had an entry, or Redis lost its data).
    pub current: Option<(u64, u64)>,
}

/// How a reader at `(epoch, after_seq)` gets exactly what it missed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CatchUp {
    /// Nothing was missed.
    UpToDate,
    /// The stream holds everything missed: deliver [`StreamRead::envelopes`]; when the
    /// last one is still below the current seq, read again after it.
    Stream,
    /// The stream starts too late: read history after the position up to and including
    /// seq `history_through` of the same epoch, then the stream after that seq.
    HistoryThenStream { history_through: u64 },
    /// The reader's epoch is not the room's current one (Redis lost the counter, or the
    /// position is not one this room ever had): the reader must resync from history;
    /// the stream cannot say what lies between.
    Resync,
}

impl StreamRead {
    /// How a reader whose last position is `(epoch, after_seq)` catches up, given this
    /// read (made with the same position).
    pub fn plan(&self, epoch: u64, after_seq: u64) -> CatchUp {
        let Some((current_epoch, current_seq)) = self.current else {
            return CatchUp::Resync;
        };
        if current_epoch != epoch || after_seq > current_seq {
            return CatchUp::Resync;
        }
        if after_seq == current_seq {
            return CatchUp::UpToDate;
        }
        match self.covers_from {
            Some(first) if first <= after_seq + 1 => CatchUp::Stream,
            Some(first) => CatchUp::HistoryThenStream {
                history_through: first - 1,
            },
            None => CatchUp::HistoryThenStream {
                history_through: current_seq,
            },
        }
    }
}

/// Assigns positions in rooms and keeps the recovery stream, dedup and pending records.
///
/// Cheap to clone: clones share one multiplexed Redis connection that reconnects by
/// itself. A command interrupted by a lost connection fails rather than being resent
/// (an append is not idempotent without its dedup key).
#[derive(Clone)]
pub struct Sequencer {
    connection: RedisConnection,
    prefix: String,
    config: SequencerConfig,
}

impl std::fmt::Debug for Sequencer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sequencer")
            .field("prefix", &self.prefix)
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

impl Sequencer {
    /// A sequence on `conn` whose keys and channels start with `key_prefix` (which must
    /// not contain `{` or `}`: the room id is the keys' hash tag).
    pub fn new(
        conn: RedisConnection,
        key_prefix: impl Into<String>,
        config: SequencerConfig,
    ) -> Self {
        let config = SequencerConfig {
            stream_max_len: config.stream_max_len.max(1),
            ..config
        };
        Self {
            connection: conn,
            prefix: key_prefix.into(),
            config,
        }
    }

    /// The prefix of every key and channel.
    pub fn key_prefix(&self) -> &str {
        &self.prefix
    }

    /// The shared Redis connection, for publications beside the sequence.
    pub(crate) fn connection(&self) -> RedisConnection {
        self.connection.clone()
    }

    /// The pending set and its envelopes' hash that hold `room_id`'s pending entries:
    /// the deployment's one pair on a single node, the pair of the room's slot in a
    /// cluster.
    pub fn pending_keys(&self, room_id: &str) -> (String, String) {
        if self.connection.is_cluster() {
            slot_pending_keys(&self.prefix, key_slot(&self.room_keys(room_id).seq()))
        } else {
            (pending_key(&self.prefix), pending_data_key(&self.prefix))
        }
    }

    /// The keys of one room.
    pub fn room_keys(&self, room_id: &str) -> RoomKeys {
        RoomKeys::new(&self.prefix, room_id)
    }

    /// Gives `item` the next position of its room, stores it in the room's stream,
    /// publishes it on the room's channel and records it as pending, all at once (see the
    /// module docs). Every call appends: for a client's send, which may be retried, use
    /// [`append_once`](Self::append_once).
    #[tracing::instrument(name = "sequencer.append", skip_all, fields(room_id = %item.room_id))]
    pub async fn append(&self, item: &RoomItem) -> Result<Appended, BusError> {
        match self.run_append(item, None).await? {
            Recorded::Envelope(bytes, false) => {
                Appended::new(bytes, Some(item), &self.room_keys(&item.room_id))
            }
            _ => Err(BusError::Invalid(
                "the sequencer reported a duplicate without a dedup record".into(),
            )),
        }
    }

    /// Like [`append`](Self::append), at most once within [`SequencerConfig::dedup_ttl`]
    /// per chat message a client sent (its `(room, sender_id, client_msg_id)`) or per room
    /// event (its `(room, event_id)`): a retry takes no position and publishes nothing,
    /// and says what the caller owes it ([`AppendOutcome`]). Any other item (a message
    /// without a sender or client message id, an event without an id) is refused.
    #[tracing::instrument(name = "sequencer.append_once", skip_all, fields(room_id = %item.room_id))]
    pub async fn append_once(&self, item: &RoomItem) -> Result<AppendOutcome, BusError> {
        let Some(dedup) = dedup_key(&self.room_keys(&item.room_id), item) else {
            return Err(BusError::Invalid(
                "only a chat message with a sender and a client message id, or a room event \
                 with an id, is appended once"
                    .into(),
            ));
        };
        match self.run_append(item, Some(dedup)).await? {
            Recorded::Envelope(bytes, false) => {
                Appended::new(bytes, Some(item), &self.room_keys(&item.room_id))
                    .map(AppendOutcome::New)
            }
            // The first attempt's envelope, whose item may differ from this one's.
            Recorded::Envelope(bytes, true) => {
                Appended::new(bytes, None, &self.room_keys(&item.room_id))
                    .map(AppendOutcome::Pending)
            }
            Recorded::Ack(ack) => Ok(AppendOutcome::Confirmed(ack)),
        }
    }

    /// Runs the append script, with the dedup record under `dedup` when given.
    async fn run_append(
        &self,
        item: &RoomItem,
        dedup: Option<String>,
    ) -> Result<Recorded, BusError> {
        if item.room_id.is_empty() {
            return Err(BusError::Invalid("a room item needs a room id".into()));
        }
        let keys = self.room_keys(&item.room_id);
        let once = dedup.is_some();
        // Without dedup the script never touches KEYS[3]; any key of the room's slot will do.
        let dedup_key = dedup.unwrap_or_else(|| keys.seq());
        let dedup_ttl_ms = u64::try_from(self.config.dedup_ttl.as_millis())
            .unwrap_or(u64::MAX)
            .max(1);
        let (pending, pending_data) = self.pending_keys(&item.room_id);
        let (duplicate, bytes): (i64, Vec<u8>) = APPEND
            .key(keys.seq())
            .key(keys.stream())
            .key(dedup_key)
            .key(pending)
            .key(pending_data)
            .arg(item.encode_to_vec())
            .arg(&item.room_id)
            .arg(room_channel(&self.prefix, &item.room_id))
            .arg(self.config.stream_max_len)
            .arg(dedup_ttl_ms)
            .arg(if once { "1" } else { "0" })
            .arg(if self.connection.is_cluster() {
                "1"
            } else {
                "0"
            })
            .invoke_async(&mut self.connection.clone())
            .await?;
        let recorded = if duplicate != 1 {
            Recorded::Envelope(bytes, false)
        } else if bytes.starts_with(ACK_RECORD_TAG.as_bytes()) {
            Recorded::Ack(
                DurableAck::parse_record(&bytes)
                    .ok_or_else(|| BusError::Invalid("unreadable dedup record".into()))?,
            )
        } else {
            Recorded::Envelope(bytes, true)
        };
        let outcome = match recorded {
            Recorded::Envelope(_, false) => "appended",
            Recorded::Envelope(_, true) => "duplicate_pending",
            Recorded::Ack(_) => "duplicate_confirmed",
        };
        metrics::counter!(APPENDS_METRIC, "outcome" => outcome).increment(1);
        Ok(recorded)
    }

    /// When this Redis began holding the deployment's keys (Redis time, Unix
    /// milliseconds; set by the first caller). A send acknowledged before it may have a
    /// dedup record that was lost with an earlier Redis: see
    /// [`SequencerConfig::dedup_ttl`] for how long that matters.
    pub async fn born(&self) -> Result<u64, BusError> {
        let born: String = BORN
            .key(born_key(&self.prefix))
            .invoke_async(&mut self.connection.clone())
            .await?;
        born.parse()
            .map_err(|_| BusError::Invalid(format!("unreadable born marker {born:?}")))
    }

    /// How long a retried send is recognised as the same one.
    pub fn dedup_ttl(&self) -> Duration {
        self.config.dedup_ttl
    }

    /// The room's current position `(epoch, seq)`, if Redis has a counter for it.
    pub async fn current_position(&self, room: RoomId) -> Result<Option<Position>, BusError> {
        let position: (Option<u64>, Option<u64>) = redis::cmd("HMGET")
            .arg(self.room_keys(&room.to_string()).seq())
            .arg("epoch")
            .arg("seq")
            .query_async(&mut self.connection.clone())
            .await?;
        Ok(both(position).map(|(epoch, seq)| Position::new(epoch, seq)))
    }

    /// The room's envelopes of `epoch` with seq above `after_seq`, in order, at most
    /// `limit` (at least 1), with what the caller needs to know whether they are all it
    /// missed: the lowest seq of that epoch the stream still holds and the room's current
    /// position, read in the same instant. [`StreamRead::plan`] turns this into steps.
    #[tracing::instrument(name = "sequencer.read_after", skip(self))]
    pub async fn read_after(
        &self,
        room_id: &str,
        epoch: u64,
        after_seq: u64,
        limit: usize,
    ) -> Result<StreamRead, BusError> {
        let keys = self.room_keys(room_id);
        let stream = keys.stream();
        let (after, first, position): (
            StreamRangeReply,
            StreamRangeReply,
            (Option<u64>, Option<u64>),
        ) = redis::pipe()
            .atomic()
            .cmd("XRANGE")
            .arg(&stream)
            .arg(format!("({}", stream_id(epoch, after_seq)))
            .arg(epoch)
            .arg("COUNT")
            .arg(limit.max(1))
            .cmd("XRANGE")
            .arg(&stream)
            .arg(stream_id(epoch, 0))
            .arg(epoch)
            .arg("COUNT")
            .arg(1)
            .cmd("HMGET")
            .arg(keys.seq())
            .arg("epoch")
            .arg("seq")
            .query_async(&mut self.connection.clone())
            .await?;
        let envelopes = after
            .ids
            .iter()
            .map(|entry| stream_envelope(&entry.map))
            .collect::<Result<Vec<_>, _>>()?;
        let covers_from = first
            .ids
            .first()
            .and_then(|entry| parse_stream_id(&entry.id))
            .map(|(_, seq)| seq);
        Ok(StreamRead {
            envelopes,
            covers_from,
            current: both(position),
        })
    }

    /// Marks `envelope` as confirmed by the broker (or stored by history): it no longer
    /// needs sweeping, so its pending record and envelope go, and the dedup record of its
    /// send, if any, shrinks to the compact ack (see the module docs), all at once.
    /// Confirming twice does no harm.
    #[tracing::instrument(name = "sequencer.confirm", skip_all, fields(room_id = %envelope.room_id))]
    pub async fn confirm(&self, envelope: &RoomEnvelope) -> Result<(), BusError> {
        let keys = self.room_keys(&envelope.room_id);
        // An item this crate cannot read has no dedup record to rewrite; its pending
        // record must still go, or the sweeper would meet it forever.
        let item = decode_item(envelope).ok();
        let dedup = item.as_ref().and_then(|item| {
            dedup_key(&keys, item).map(|key| (key, DurableAck::of_item(envelope, item).record()))
        });
        self.run_confirm(envelope, &keys, dedup).await
    }

    /// [`confirm`](Self::confirm) of an entry just appended, with what its append read.
    #[tracing::instrument(name = "sequencer.confirm", skip_all, fields(room_id = %appended.envelope.room_id))]
    pub async fn confirm_appended(&self, appended: &Appended) -> Result<(), BusError> {
        let keys = self.room_keys(&appended.envelope.room_id);
        let dedup = appended
            .dedup
            .clone()
            .zip(appended.ack.as_ref().map(DurableAck::record));
        self.run_confirm(&appended.envelope, &keys, dedup).await
    }

    /// Runs the confirm script; `dedup` is the entry's dedup record key and its compact
    /// ack, when it has one.
    async fn run_confirm(
        &self,
        envelope: &RoomEnvelope,
        keys: &RoomKeys,
        dedup: Option<(String, String)>,
    ) -> Result<(), BusError> {
        let once = dedup.is_some();
        // Without a record the script never touches KEYS[3]; any key of the room's slot will do.
        let (dedup_key, ack) = dedup.unwrap_or_else(|| (keys.seq(), String::new()));
        let (pending, pending_data) = self.pending_keys(&envelope.room_id);
        let _: i64 = CONFIRM
            .key(pending)
            .key(pending_data)
            .key(dedup_key)
            .arg(pending_member(
                &envelope.room_id,
                envelope.epoch,
                envelope.seq,
            ))
            .arg(ack)
            .arg(if once { "1" } else { "0" })
            .invoke_async(&mut self.connection.clone())
            .await?;
        Ok(())
    }

    /// Envelopes fanned out at least `age` ago and still not confirmed, oldest first (in
    /// a cluster, within each slot), at most `limit`: what the history service's sweeper persists (then [`confirm`]s).
    /// They come from the pending records themselves, not from the rooms' streams, so
    /// none is missing however far its stream moved on. A pending member without a
    /// readable envelope (never written by this crate's append) is logged and dropped.
    ///
    /// [`confirm`]: Self::confirm
    #[tracing::instrument(name = "sequencer.pending_older_than", skip(self))]
    pub async fn pending_older_than(
        &self,
        age: Duration,
        limit: usize,
    ) -> Result<Vec<RoomEnvelope>, BusError> {
        if !self.connection.is_cluster() {
            let keys = (pending_key(&self.prefix), pending_data_key(&self.prefix));
            return self.pending_in(&keys, age, limit).await;
        }
        // A cluster keeps one pair per slot: find the slots that hold any (one cheap
        // EXISTS each, sent together), then read those.
        let connection = self.connection.clone();
        let held: Vec<u16> = futures::stream::iter((0..SLOTS).map(move |slot| {
            let mut connection = connection.clone();
            let (set, _) = slot_pending_keys(&self.prefix, slot);
            async move {
                let held: bool = redis::cmd("EXISTS")
                    .arg(set)
                    .query_async(&mut connection)
                    .await?;
                Ok::<_, redis::RedisError>(held.then_some(slot))
            }
        }))
        .buffered(SLOT_SWEEP_CONCURRENCY)
        .try_filter_map(|slot| std::future::ready(Ok(slot)))
        .try_collect()
        .await?;
        let mut envelopes = Vec::new();
        for slot in held {
            if envelopes.len() >= limit {
                break;
            }
            let keys = slot_pending_keys(&self.prefix, slot);
            let found = self.pending_in(&keys, age, limit - envelopes.len()).await?;
            envelopes.extend(found);
        }
        Ok(envelopes)
    }

    /// [`pending_older_than`](Self::pending_older_than) in one pending set and its data.
    async fn pending_in(
        &self,
        (pending, data): &(String, String),
        age: Duration,
        limit: usize,
    ) -> Result<Vec<RoomEnvelope>, BusError> {
        let age_ms = u64::try_from(age.as_millis()).unwrap_or(u64::MAX / 2);
        let (members, data_of_members): (Vec<String>, Vec<Option<Vec<u8>>>) = PENDING
            .key(pending)
            .key(data)
            .arg(age_ms)
            .arg(limit)
            .invoke_async(&mut self.connection.clone())
            .await?;

        let mut envelopes = Vec::with_capacity(members.len());
        let mut unreadable = Vec::new();
        for (member, bytes) in members.iter().zip(data_of_members) {
            match bytes.as_deref().map(decode_envelope) {
                Some(Ok(envelope)) => envelopes.push(envelope),
                _ => {
                    tracing::error!(member = %member, "pending record without a readable envelope; dropped");
                    unreadable.push(member.as_str());
                }
            }
        }
        if !unreadable.is_empty() {
            let _: () = redis::pipe()
                .cmd("ZREM")
                .arg(pending)
                .arg(&unreadable)
                .ignore()
                .cmd("HDEL")
                .arg(data)
                .arg(&unreadable)
                .ignore()
                .query_async(&mut self.connection.clone())
                .await?;
        }
        Ok(envelopes)
    }
}

/// What the append script recorded: an envelope (new, or `true`: the unconfirmed
/// original of a retried send), or the compact ack of a retried send already durable.
enum Recorded {
    Envelope(Vec<u8>, bool),
    Ack(DurableAck),
}

/// Reads an envelope as published on a room channel, stored in a stream or carried by
/// the persistence queue.
pub fn decode_envelope(bytes: &[u8]) -> Result<RoomEnvelope, BusError> {
    Ok(RoomEnvelope::decode(bytes)?)
}

/// Reads the item an envelope carries.
pub fn decode_item(envelope: &RoomEnvelope) -> Result<RoomItem, BusError> {
    Ok(RoomItem::decode(envelope.item.as_slice())?)
}

fn both((epoch, seq): (Option<u64>, Option<u64>)) -> Option<(u64, u64)> {
    epoch.zip(seq)
}

fn stream_envelope(
    fields: &std::collections::HashMap<String, redis::Value>,
) -> Result<RoomEnvelope, BusError> {
    let value = fields
        .get(ENVELOPE_FIELD)
        .ok_or_else(|| BusError::Invalid("stream entry without an envelope".into()))?;
    let bytes: Vec<u8> = redis::from_redis_value(value)?;
    decode_envelope(&bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(covers_from: Option<u64>, current: Option<(u64, u64)>) -> StreamRead {
        StreamRead {
            envelopes: Vec::new(),
            covers_from,
            current,
        }
    }

    #[test]
    fn plans_cover_every_case() {
        assert_eq!(read(Some(1), Some((7, 5))).plan(7, 5), CatchUp::UpToDate);
        assert_eq!(read(Some(1), Some((7, 5))).plan(7, 2), CatchUp::Stream);
        assert_eq!(read(Some(3), Some((7, 5))).plan(7, 2), CatchUp::Stream);
        assert_eq!(
            read(Some(4), Some((7, 5))).plan(7, 2),
            CatchUp::HistoryThenStream { history_through: 3 }
        );
        assert_eq!(
            read(None, Some((7, 5))).plan(7, 2),
            CatchUp::HistoryThenStream { history_through: 5 }
        );
        assert_eq!(read(Some(1), Some((8, 1))).plan(7, 2), CatchUp::Resync);
        assert_eq!(read(None, None).plan(7, 2), CatchUp::Resync);
        assert_eq!(read(Some(1), Some((7, 5))).plan(7, 9), CatchUp::Resync);
    }

    use redis::aio::ConnectionManager;

    /// Runs the script's encoder on real Redis and compares with prost.
    async fn lua_envelope(connection: &mut ConnectionManager, envelope: &RoomEnvelope) -> Vec<u8> {
        let script = redis::Script::new(&format!(
            "{ENVELOPE_LUA}\nreturn room_envelope(tonumber(ARGV[1]), tonumber(ARGV[2]), ARGV[3], ARGV[4])"
        ));
        script
            .arg(envelope.epoch)
            .arg(envelope.seq)
            .arg(&envelope.item)
            .arg(&envelope.room_id)
            .invoke_async(connection)
            .await
            .expect("run encoder")
    }

    #[tokio::test]
    async fn the_lua_encoder_writes_what_prost_writes() {
        let client = redis::Client::open("redis://127.0.0.1:6379").expect("redis url");
        let mut connection = ConnectionManager::new(client).await.expect("redis");
        let cases = [
            RoomEnvelope::default(),
            RoomEnvelope {
                epoch: 1,
                seq: 1,
                item: vec![1],
                room_id: "r".into(),
            },
            RoomEnvelope {
                epoch: 127,
                seq: 128,
                item: vec![0; 127],
                room_id: "ü".repeat(64),
            },
            RoomEnvelope {
                epoch: 1_763_700_000_123,
                seq: 16_384,
                item: (0..=255).cycle().take(70_000).collect(),
                room_id: "0192a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b".into(),
            },
            RoomEnvelope {
                epoch: 1 << 53,
                seq: (1 << 53) - 1,
                item: Vec::new(),
                room_id: String::new(),
            },
        ];
        for envelope in cases {
            let bytes = lua_envelope(&mut connection, &envelope).await;
            assert_eq!(bytes, envelope.encode_to_vec(), "{envelope:?}");
            assert_eq!(decode_envelope(&bytes).expect("decode"), envelope);
        }
    }

    #[test]
    fn the_compact_ack_reads_back_as_written() {
        let acks = [
            DurableAck {
                id: "0192a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b".into(),
                epoch: 1_763_700_000_123,
                seq: 42,
                sent_at: Some(prost_types::Timestamp {
                    seconds: 1_763_700_000,
                    nanos: 123_456_789,
                }),
            },
            DurableAck {
                id: "an:id|with:colons".into(),
                epoch: 1,
                seq: 1,
                sent_at: Some(prost_types::Timestamp {
                    seconds: -5,
                    nanos: 0,
                }),
            },
            DurableAck {
                id: String::new(),
                epoch: 7,
                seq: 8,
                sent_at: None,
            },
        ];
        for ack in acks {
            let record = ack.record();
            assert!(record.len() < 100, "{record}");
            assert_eq!(DurableAck::parse_record(record.as_bytes()), Some(ack));
        }
        let envelope = RoomEnvelope {
            epoch: 1,
            seq: 1,
            item: vec![1],
            room_id: "r".into(),
        };
        assert_eq!(DurableAck::parse_record(&envelope.encode_to_vec()), None);
        assert_eq!(DurableAck::parse_record(b"ack:1:2"), None);
    }

    #[test]
    fn garbage_is_a_decode_error() {
        assert!(matches!(
            decode_envelope(&[0xff, 0xff, 0xff]),
            Err(BusError::Decode(_))
        ));
    }
}
