-- Room events written in the transaction of the change they announce, so a committed
-- change is always announced, whatever dies after the commit. The relay (`outbox` module)
-- appends them to their rooms' sequences in id order: changes of one room serialize on
-- the room's row, so a room's events are numbered in the order their changes committed.
-- A relayed event keeps its row for an hour (`relayed_at`), then is pruned.
CREATE TABLE room_event_outbox (
    id         bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    room_id    uuid        NOT NULL,
    -- The event's id: its entry's id in the room's sequence and in history.
    event_id   uuid        NOT NULL UNIQUE,
    -- The encoded chat.v1.RoomEvent (its event_id is the entry's id in the sequence).
    event      bytea       NOT NULL,
    -- Users told on their own channel besides those the event names (a deleted room's
    -- former members).
    also_to    uuid[]      NOT NULL DEFAULT '{}',
    created_at timestamptz NOT NULL DEFAULT now(),
    relayed_at timestamptz
);

-- What the relay reads: the events still waiting, in order.
CREATE INDEX room_event_outbox_waiting_idx ON room_event_outbox (id) WHERE relayed_at IS NULL;
CREATE INDEX room_event_outbox_relayed_idx ON room_event_outbox (relayed_at) WHERE relayed_at IS NOT NULL;
