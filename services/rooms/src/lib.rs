//! chat-rooms
