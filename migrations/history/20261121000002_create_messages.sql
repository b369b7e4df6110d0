-- Messages as readers see them: edits applied, deletions marked (content erased).
--
-- Pages are read by position, newest or around a cursor: UNIQUE (room_id, epoch, seq) is
-- that index. (room_id, sender_id, client_msg_id) identifies one send, so a retried send
-- can never become a second row. Like room_entries, this table can later be partitioned
-- by hash of room_id without changing a query.
CREATE TABLE messages (
    id            uuid        PRIMARY KEY,
    room_id       uuid        NOT NULL,
    epoch         bigint      NOT NULL,
    seq           bigint      NOT NULL,
    sender_id     uuid        NOT NULL,
    client_msg_id text        NOT NULL,
    content       text        NOT NULL,
    reply_to      uuid,
    -- chat.v1.MessageKind: 1 text, 2 file, 3 image.
    kind          smallint    NOT NULL CHECK (kind IN (1, 2, 3)),
    sent_at       timestamptz NOT NULL,
    edited_at     timestamptz,
    -- Position of the edit applied last: a later edit wins whatever order edits arrive in.
    edit_epoch    bigint,
    edit_seq      bigint,
    deleted_at    timestamptz,
    -- For full-text search. The 'simple' configuration does not stem, so it treats every
    -- language alike (chat rooms mix languages).
    search        tsvector    GENERATED ALWAYS AS (to_tsvector('simple'::regconfig, content)) STORED,
    UNIQUE (room_id, epoch, seq),
    UNIQUE (room_id, sender_id, client_msg_id)
);

CREATE INDEX messages_search_idx ON messages USING gin (search);
