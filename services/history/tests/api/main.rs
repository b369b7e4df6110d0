//! Integration tests of the history service against real PostgreSQL, RabbitMQ and Redis.

mod helpers;
mod pages;
mod partitions;
mod persist;
mod read_state;
mod sweeper;
