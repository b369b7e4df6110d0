//! Ephemeral signals on a room's channel (someone is writing): no position, never stored,
//! never replayed. They share the channel with the sequenced envelopes so a gateway needs
//! no second subscription per room, and are told apart by their first byte: 0x00, which
//! no protobuf message starts with (a field key of field number 0 does not exist).

use chat_proto::v1::RoomSignal;
use prost::Message;

/// The first byte of a signal on a room channel.
pub const SIGNAL_MARKER: u8 = 0;

/// The channel payload of `signal`.
pub fn encode_signal(signal: &RoomSignal) -> Vec<u8> {
    let mut payload = Vec::with_capacity(1 + signal.encoded_len());
    payload.push(SIGNAL_MARKER);
    signal.encode(&mut payload).expect("a Vec grows as needed");
    payload
}

/// The signal in a room-channel payload; `None` when the payload is not a signal (an
/// envelope), `Some(Err)` when it is one that cannot be read.
pub fn decode_signal(payload: &[u8]) -> Option<Result<RoomSignal, prost::DecodeError>> {
    let rest = payload.strip_prefix(&[SIGNAL_MARKER])?;
    Some(RoomSignal::decode(rest))
}

#[cfg(test)]
mod tests {
    use chat_proto::v1::{RoomEnvelope, RoomEvent};

    use super::*;

    #[test]
    fn a_signal_reads_back_and_envelopes_are_not_signals() {
        let signal = RoomSignal {
            user_id: "0193a6c1-0000-7000-8000-000000000077".into(),
            typing: true,
        };
        let payload = encode_signal(&signal);
        assert_eq!(decode_signal(&payload), Some(Ok(signal)));

        let envelope = RoomEnvelope {
            room_id: "r".into(),
            epoch: 1,
            seq: 2,
            ..RoomEnvelope::default()
        };
        assert_eq!(decode_signal(&envelope.encode_to_vec()), None);
        let event = RoomEvent {
            room_id: "r".into(),
            ..RoomEvent::default()
        };
        assert_eq!(decode_signal(&event.encode_to_vec()), None);
        assert!(decode_signal(&[]).is_none());
    }
}
