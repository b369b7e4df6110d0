//! Integration tests of the rooms service over gRPC, each against its own database, Redis
//! prefix and persist queue.

mod direct;
mod events;
mod helpers;
mod history;
mod members;
mod memberships;
mod outbox;
mod pagination;
mod permissions;
mod rooms;
mod startup;
