//! The stateless chat gateway: REST (and WebSocket) for clients, gRPC to auth, rooms and
//! history. It owns nothing durable; any number of replicas run behind a load balancer.

pub mod catchup;
pub mod client_addr;
pub mod clients;
pub mod config;
pub mod fanout;
pub mod http;
pub mod memberships;
pub mod messages;
pub mod realtime;
pub mod send_lookup;
pub mod startup;
pub mod state;
pub mod ws;

pub use config::Config;
pub use startup::App;
