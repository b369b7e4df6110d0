//! The stateless chat gateway: REST (and WebSocket) for clients, gRPC to auth, rooms and
//! history. It owns nothing durable; any number of replicas run behind a load balancer.

pub mod client_addr;
pub mod clients;
pub mod config;
pub mod http;
pub mod startup;
pub mod state;

pub use config::Config;
pub use startup::App;
