//! Integration tests of chat-bus against the real Redis and RabbitMQ, each test on its own
//! key prefix and its own queue names.

mod helpers;
mod persist;
mod room_events;
mod sequencer;
