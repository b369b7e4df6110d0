//! The rooms service: rooms (public, private, direct), members and their roles, bans and
//! direct-message pairs, served as `chat.v1.RoomsService` over gRPC. Every committed
//! change is announced as a `chat.v1.RoomEvent` on Redis pub/sub (see `chat-bus`).
//!
//! It trusts the `caller_id` of each request: only the gateway calls it, after
//! authenticating the user. It does not know users beyond their ids and does not check
//! that an id belongs to an account (auth owns users); the gateway checks that before
//! inviting someone or opening a direct room.

pub mod config;
pub mod cursor;
pub mod direct;
pub mod error;
pub mod events;
pub mod grpc;
pub mod members;
pub mod model;
pub mod rooms;
pub mod startup;
pub mod validation;

pub use config::{Command, Config};
pub use error::Error;
pub use startup::{App, MIGRATOR, migrate};
