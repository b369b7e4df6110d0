//! Integration tests of the history service against real PostgreSQL, RabbitMQ and Redis.

mod helpers;
mod pages;
mod persist;
mod read_state;
mod sweeper;
