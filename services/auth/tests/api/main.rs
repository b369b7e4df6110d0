//! The auth service over gRPC, started for real against PostgreSQL and Redis.

mod helpers;
mod login;
mod login_limit;
mod mailbox;
mod operations;
mod recovery;
mod refresh;
mod register;
mod signing_keys;
mod users;
