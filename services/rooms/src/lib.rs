//! The rooms service: rooms (public, private, direct), members and their roles, bans and
//! direct-message pairs, served as `chat.v1.RoomsService` over gRPC. Every committed
//! change is announced as a `chat.v1.RoomEvent` that takes its room's next position, like
//! a message: on the room's channel and stream, on the channels of the users it concerns,
//! and through RabbitMQ into history (see `chat_bus::RoomEvents`). The events are written
//! with the change and relayed from there (`outbox`), so none is lost after a commit.
//!
//! It trusts the `caller_id` of each request: only the gateway calls it, after
//! authenticating the user. It does not know users beyond their ids and does not check
//! that an id belongs to an account (auth owns users); the gateway checks that before
//! inviting someone or opening a direct room.
//!
//! # The rules it keeps
//!
//! - Public rooms are listed and anyone may join; private and direct rooms do not exist
//!   for non-members (`room_not_found` for every call about them).
//! - The owner may do everything; admins edit the room, invite, kick, ban and unban
//!   (never the owner or another admin); members read, write and leave. A member of the
//!   room who lacks the role gets `forbidden`; so does a non-member acting on a public
//!   room. Only members list a room's members.
//! - An invitation makes the user a member at once: there are no pending invitations to
//!   accept, so who may read a private room is exactly its member list.
//! - Ownership moves with `SetRole(user, OWNER)` by the owner; the former owner becomes
//!   an admin. The owner leaves only after that (`owner_must_transfer`), unless they are
//!   the last member: then leaving deletes the room.
//! - A ban removes the user and keeps them out (`banned` on join, `user_banned` on
//!   invite) until unbanned or until its end passed.
//! - Direct rooms have exactly their two users, found or created by OpenDirect, and no
//!   roles, invitations, moderation, edits, deletion or leaving (`direct_room`).
//! - Repeating a change that already holds (joining as a member, inviting a member,
//!   leaving a public room one is not in, unbanning someone not banned) succeeds and
//!   announces nothing.

pub mod config;
pub mod cursor;
pub mod direct;
pub mod error;
pub mod events;
pub mod grpc;
pub mod members;
pub mod model;
pub mod outbox;
pub mod rooms;
pub mod startup;
pub mod validation;

pub use config::{Command, Config};
pub use error::Error;
pub use startup::{App, MIGRATOR, migrate};
