-- Every entry of every room's sequence (messages, edits, deletions, room events), kept
-- exactly as sequenced, so a reconnecting client can replay what it missed.
--
-- The primary key is the position: idempotent inserts (a redelivered envelope conflicts
-- and is skipped) and the index behind "entries after (epoch, seq)" and "latest
-- position". A later step for very large deployments is declarative partitioning by
-- hash of room_id (the key stays the same); not needed at this size.
CREATE TABLE room_entries (
    room_id     uuid        NOT NULL,
    epoch       bigint      NOT NULL CHECK (epoch > 0),
    seq         bigint      NOT NULL CHECK (seq > 0),
    -- Unique id of the entry (the message id for a new message).
    id          uuid        NOT NULL UNIQUE,
    kind        text        NOT NULL
        CHECK (kind IN ('message', 'message_edited', 'message_deleted', 'room_event')),
    actor_id    uuid        NOT NULL,
    -- The message an edit or a deletion is about: lets a message stored late (the pending
    -- sweeper, a redelivery) pick up changes that were stored before it.
    subject_id  uuid,
    occurred_at timestamptz NOT NULL,
    -- The encoded chat.v1.RoomItem as sequenced.
    item        bytea       NOT NULL,
    stored_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (room_id, epoch, seq)
);

CREATE INDEX room_entries_subject_idx ON room_entries (subject_id) WHERE subject_id IS NOT NULL;
