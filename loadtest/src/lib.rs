//! Load tool for the chat backend, built for its WebSocket protocol.
//!
//! A run creates or reuses accounts, places the users in a mix of rooms, then drives one
//! WebSocket per user through k6-style stages: sending at a set pace, reading every
//! event, reconnecting and resuming when told to (or when killed on purpose). It
//! measures at the clients (connect, ack and end-to-end latency; throughput) and checks,
//! for every recipient, the deliveries it should have had against those it got: lost,
//! duplicated, out of order. Reports go to the terminal, JSON and a self-contained HTML
//! page; thresholds make the run fail.
//!
//! Past one process's open-file limit the users are spread over worker processes
//! (`--processes`) or over machines (`--setup-only`, `--shard i/n`, `--merge`).

pub mod accounting;
pub mod accounts;
pub mod api;
pub mod cli;
pub mod connection;
pub mod faults;
pub mod metrics;
pub mod progress;
pub mod prometheus;
pub mod protocol;
pub mod report;
pub mod rooms;
pub mod scenario;
pub mod shard;
pub mod user;
pub mod workers;

pub use cli::{Cli, Outcome, execute};
pub use report::Report;
pub use scenario::Scenario;
