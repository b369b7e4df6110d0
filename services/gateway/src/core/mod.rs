//! The real-time core, shared by the WebSocket sessions and the REST routes: the fan-out
//! hub and the sockets' outboxes, the send path, catch-up, memberships and the rooms
//! facade, and what turns the services' protobuf into what clients read.
//!
//! Core imports `settings` and the service crates; never `http/` or `ws/`.

pub mod attachments;
pub mod catchup;
pub mod clients;
pub mod fanout;
pub mod files;
pub mod memberships;
pub mod mentions;
pub mod message_changes;
pub mod messages;
pub mod outbox;
pub mod presence;
pub mod reactions;
pub mod read_state;
pub mod realtime;
pub mod receipts;
pub mod render;
pub mod revocations;
pub mod room_sizes;
pub mod rooms;
pub mod search;
pub mod send_lookup;
pub mod sockets;
pub mod stored_messages;
pub mod typing;
pub mod user_limit;
