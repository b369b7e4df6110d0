//! Live events between chat processes over Redis.
//!
//! Today this carries room events: the rooms service publishes every committed change of
//! a room or of its membership ([`RoomEvents`]), and gateways subscribe to the channels
//! of the rooms and users their sockets need ([`room_channel`], [`user_channel`],
//! [`Channel::parse`]).
//!
//! It also carries the room sequence: [`Sequencer`] gives every message and room event
//! its position in the room, keeps the short recovery stream and publishes the envelope
//! on the room channel, in one atomic Redis step; [`PersistPublisher`] hands the same
//! envelope to RabbitMQ with a publisher confirm, on its way to history.

pub mod error;
pub mod keys;
pub mod persist;
pub mod room_events;
pub mod sequencer;

pub use error::BusError;
pub use persist::{PersistPublisher, QueueNames, declare_topology, extract_trace_context};
pub use room_events::{
    Channel, PUBLISH_FAILURES_METRIC, RoomEvents, concerned_users, room_channel, user_channel,
};
pub use sequencer::{
    Appended, CatchUp, DedupKey, Sequencer, SequencerConfig, StreamRead, decode_envelope,
    decode_item,
};
