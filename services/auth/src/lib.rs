//! chat-auth: accounts, credentials, rotating refresh sessions and access-token signing,
//! served as `chat.v1.AuthService` over gRPC. Only the gateway calls it; gateways verify
//! access tokens locally with the public keys published by `GetSigningKeys`.

pub mod account_tokens;
pub mod config;
pub mod error;
pub mod grpc;
pub mod login_limit;
pub mod mail;
pub mod password;
pub mod recovery;
pub mod sessions;
pub mod signing;
pub mod startup;
pub mod users;
pub mod validation;

pub use config::{Command, Config, KeygenArgs};
pub use error::Error;
pub use signing::{TokenSigner, generate_signing_key_pem, public_key_pem};
pub use startup::{App, MIGRATOR, migrate};
