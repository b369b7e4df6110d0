//! The client protocol of the chat gateway (`docs/protocol.md`): every WebSocket frame
//! and REST view, the error codes, the close codes, positions, ids and the one time
//! format. The gateway, the load tool, the test stack and (through the generated JSON
//! Schema and TypeScript in `generated/`) the web client all use these definitions;
//! nothing declares a frame twice.
//!
//! A leaf crate: it depends on no service crate, and knows nothing of gRPC.

pub mod account;
pub mod client;
pub mod disconnect;
pub mod error;
pub mod file;
pub mod generated;
pub mod ids;
pub mod input;
pub mod keys;
pub mod message;
pub mod notification;
pub mod position;
pub mod presence;
pub mod room;
pub mod search;
pub mod server;
pub mod timestamp;

pub use account::{Me, Session, User};
pub use client::{ClientFrame, FrameError, HistoryCursor};
pub use disconnect::Disconnect;
pub use error::{ErrorBody, ErrorCode, ErrorDetail};
pub use ids::{FileId, MessageId, RoomId, UserId};
pub use message::{Ack, MessageKind, MessageView};
pub use position::Position;
pub use room::{Member, Role, Room, RoomKind};
pub use server::ServerFrame;
pub use timestamp::Timestamp;
