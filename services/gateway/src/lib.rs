//! The stateless chat gateway: REST and WebSocket for clients, gRPC to auth, rooms and
//! history. It owns nothing durable; any number of replicas run behind a load balancer.
//!
//! Layers point one way (docs/architecture.md): `settings` (every clap type) ->
//! `core` (the hub, messages, catch-up, memberships, rooms) -> the edge (`access`,
//! `client_error`, `client_addr`, `state`, then `http/` and `ws/`, which never import
//! each other) -> `server` (the HTTP listener's bounds) and `startup`, which wires them.

pub mod settings;

pub mod core;

pub mod access;
pub mod client_addr;
pub mod client_error;
pub mod state;

pub mod http;
pub mod ws;

pub mod server;
pub mod startup;

pub use settings::Config;
pub use startup::App;
