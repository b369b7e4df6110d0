//! The gateway's REST API through real HTTP, in front of real auth and rooms services.

mod accounts;
mod bad_input;
mod direct;
mod documents;
mod helpers;
mod limits;
mod members;
mod profile;
mod recovery;
mod rooms;
mod sessions;
mod slow_clients;
mod tokens;
mod users;
