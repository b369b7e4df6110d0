//! Integration tests of the rooms service over gRPC, each against its own database and
//! Redis prefix.

mod direct;
mod events;
mod helpers;
mod members;
mod memberships;
mod pagination;
mod permissions;
mod rooms;
mod startup;
