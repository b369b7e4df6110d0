//! chat-bus
