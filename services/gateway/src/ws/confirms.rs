//! A socket's sends awaiting their broker confirms: at most [`MAX_CONFIRMING`] at a
//! time, answered in the order they were sent (`cmd::send` fills it, the session loop
//! answers what completes).

use std::future::Future;
use std::pin::Pin;

use chat_protocol::Ack;
use futures::stream::FuturesOrdered;

use crate::core::messages::MessageError;

/// Sends of one socket awaiting their confirm at once; one more waits for the oldest.
pub const MAX_CONFIRMING: usize = 16;

/// A send awaiting its confirm: its `client_msg_id` and what to answer.
pub type Confirming = Pin<Box<dyn Future<Output = (String, Result<Ack, MessageError>)> + Send>>;

/// The sends of a socket awaiting their confirms, answered in order.
pub type Confirms = FuturesOrdered<Confirming>;
