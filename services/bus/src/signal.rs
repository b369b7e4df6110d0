//! Ephemeral signals on the channels (someone is writing in a room; a user's sessions
//! ended): no position, never stored, never replayed. They share the room and user
//! channels with what those carry already (envelopes, room events) so a gateway needs no
//! second subscription, and are told apart by their first byte: 0x00, which no protobuf
//! message starts with (a field key of field number 0 does not exist). A room channel's
//! signals are `RoomSignal`s, a user channel's `UserSignal`s.

use prost::Message;

/// The first byte of a signal on a channel.
pub const SIGNAL_MARKER: u8 = 0;

/// The channel payload of `signal`.
pub fn encode_signal<M: Message>(signal: &M) -> Vec<u8> {
    let mut payload = Vec::with_capacity(1 + signal.encoded_len());
    payload.push(SIGNAL_MARKER);
    signal.encode(&mut payload).expect("a Vec grows as needed");
    payload
}

/// The signal in a channel payload; `None` when the payload is not a signal (an envelope
/// or a room event), `Some(Err)` when it is one that cannot be read.
pub fn decode_signal<M: Message + Default>(
    payload: &[u8],
) -> Option<Result<M, prost::DecodeError>> {
    let rest = payload.strip_prefix(&[SIGNAL_MARKER])?;
    Some(M::decode(rest))
}

#[cfg(test)]
mod tests {
    use chat_proto::v1::{RoomEnvelope, RoomEvent, RoomSignal, UserSignal};

    use super::*;

    #[test]
    fn signals_read_back_and_envelopes_and_events_are_not_signals() {
        let signal = RoomSignal {
            user_id: "0193a6c1-0000-7000-8000-000000000077".into(),
            typing: true,
            receipts: Vec::new(),
        };
        let payload = encode_signal(&signal);
        assert_eq!(decode_signal::<RoomSignal>(&payload), Some(Ok(signal)));
        let ended = UserSignal {
            read: None,
            session_id: String::new(),
        };
        assert_eq!(
            decode_signal::<UserSignal>(&encode_signal(&ended)),
            Some(Ok(ended))
        );

        let envelope = RoomEnvelope {
            room_id: "r".into(),
            epoch: 1,
            seq: 2,
            ..RoomEnvelope::default()
        };
        assert_eq!(decode_signal::<RoomSignal>(&envelope.encode_to_vec()), None);
        let event = RoomEvent {
            room_id: "r".into(),
            ..RoomEvent::default()
        };
        assert_eq!(decode_signal::<UserSignal>(&event.encode_to_vec()), None);
        assert!(decode_signal::<RoomSignal>(&[]).is_none());
    }
}
