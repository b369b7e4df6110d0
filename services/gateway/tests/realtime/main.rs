//! The real-time path end to end: real auth, rooms and history services, two gateways,
//! Redis and RabbitMQ, and WebSocket clients that speak the protocol as apps do.

mod abuse;
mod changes;
mod delivery;
mod edge_cases;
mod failover;
mod failures;
mod files;
mod footprint;
mod limits;
mod notifications;
mod presence;
mod reactions;
mod read_state;
mod receipts;
mod removal;
mod replies;
mod rest;
mod resume;
mod search;
mod sessions_ended;
mod stack;
mod threads;
mod typing;
mod unreadable;
