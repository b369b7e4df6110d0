//! Live events between chat processes over Redis.
//!
//! It carries the room sequence: [`Sequencer`] gives every message and room event its
//! position in the room, keeps the short recovery stream and publishes the envelope on
//! the room channel, in one atomic Redis step; [`PersistPublisher`] hands the same
//! envelope to RabbitMQ with a publisher confirm, on its way to history.
//!
//! The rooms service announces every committed change of a room or of its membership
//! with [`RoomEvents`]: the event takes its room's next position like a message, and is
//! then published with that position on the channels of the users it concerns. Gateways
//! subscribe to the channels of the rooms and users their sockets need ([`room_channel`],
//! [`user_channel`], [`Channel::parse`]): a room channel carries envelopes and ephemeral
//! [`signal`]s (typing), a user channel only bare room events.

pub mod change_marks;
pub mod error;
pub mod keys;
pub mod persist;
pub mod room_events;
pub mod sequencer;
pub mod signal;

pub use change_marks::ChangeMarks;
pub use error::BusError;
pub use persist::{
    PersistConfig, PersistPublisher, QueueNames, declare_topology, extract_trace_context,
};
pub use room_events::{
    Channel, PUBLISH_FAILURES_METRIC, RoomEvents, concerned_users, event_item, presence_channel,
    room_channel, user_channel,
};
pub use sequencer::{
    AppendOutcome, Appended, CatchUp, DurableAck, Sequencer, SequencerConfig, StreamConfig,
    StreamRead, decode_envelope, decode_item,
};
pub use signal::{SIGNAL_MARKER, decode_signal, encode_signal};
