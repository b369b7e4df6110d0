//! The gateway's REST API through real HTTP, in front of a real auth service.

mod accounts;
mod bad_input;
mod documents;
mod helpers;
mod limits;
mod profile;
mod sessions;
mod tokens;
mod users;
