//! Live events between chat processes over Redis.
//!
//! Today this carries room events: the rooms service publishes every committed change of
//! a room or of its membership ([`RoomEvents`]), and gateways subscribe to the channels
//! of the rooms and users their sockets need ([`room_channel`], [`user_channel`],
//! [`Channel::parse`]).

pub mod error;
pub mod room_events;

pub use error::BusError;
pub use room_events::{
    Channel, PUBLISH_FAILURES_METRIC, RoomEvents, concerned_users, room_channel, user_channel,
};
