-- messages and room_entries partitioned by hash of room_id (16 partitions), so a large
-- deployment's history is 16 tables of a sixteenth each: smaller indexes, vacuum per
-- partition, and a partition can be moved to its own tablespace.
--
-- Every read of a room names the room, so it touches one partition and the same indexes
-- as before. A primary or unique key of a partitioned table must hold the partition key:
-- ids stay unique per room ((room_id, id)), with a plain index on id for the lookups
-- by id alone (replies, edits, reactions, notifications), which probe each partition's.
--
-- The migration from the single tables copies the rows in this one transaction, with
-- both tables locked: history's consumers wait (their queue keeps the messages) and reads
-- fail until it commits. Measured on this project's machine: about 1 s per 100,000
-- messages. See docs/operations.md, "History partitions", for a large existing table.

CREATE TABLE messages_by_room (
    id            uuid        NOT NULL,
    room_id       uuid        NOT NULL,
    epoch         bigint      NOT NULL,
    seq           bigint      NOT NULL,
    sender_id     uuid        NOT NULL,
    client_msg_id text        NOT NULL,
    content       text        NOT NULL,
    reply_to      uuid,
    kind          smallint    NOT NULL CONSTRAINT messages_kind_check CHECK (kind IN (1, 2, 3)),
    sent_at       timestamptz NOT NULL,
    edited_at     timestamptz,
    edit_epoch    bigint,
    edit_seq      bigint,
    deleted_at    timestamptz,
    search        tsvector    GENERATED ALWAYS AS (to_tsvector('simple'::regconfig, content)) STORED,
    mentions      uuid[]      NOT NULL DEFAULT '{}',
    mentions_room boolean     NOT NULL DEFAULT false,
    thread_root   uuid,
    attachments   bytea
) PARTITION BY HASH (room_id);

CREATE TABLE room_entries_by_room (
    room_id     uuid        NOT NULL,
    epoch       bigint      NOT NULL CONSTRAINT room_entries_epoch_check CHECK (epoch > 0),
    seq         bigint      NOT NULL CONSTRAINT room_entries_seq_check CHECK (seq > 0),
    id          uuid        NOT NULL,
    kind        text        NOT NULL CONSTRAINT room_entries_kind_check
        CHECK (kind IN ('message', 'message_edited', 'message_deleted', 'room_event', 'reaction')),
    actor_id    uuid        NOT NULL,
    subject_id  uuid,
    occurred_at timestamptz NOT NULL,
    item        bytea       NOT NULL,
    stored_at   timestamptz NOT NULL DEFAULT now()
) PARTITION BY HASH (room_id);

DO $$
BEGIN
    FOR remainder IN 0..15 LOOP
        EXECUTE format(
            'CREATE TABLE messages_p%s PARTITION OF messages_by_room
                 FOR VALUES WITH (MODULUS 16, REMAINDER %s)', remainder, remainder);
        EXECUTE format(
            'CREATE TABLE room_entries_p%s PARTITION OF room_entries_by_room
                 FOR VALUES WITH (MODULUS 16, REMAINDER %s)', remainder, remainder);
    END LOOP;
END
$$;

LOCK TABLE messages, room_entries IN ACCESS EXCLUSIVE MODE;

INSERT INTO messages_by_room
    (id, room_id, epoch, seq, sender_id, client_msg_id, content, reply_to, kind, sent_at,
     edited_at, edit_epoch, edit_seq, deleted_at, mentions, mentions_room, thread_root,
     attachments)
SELECT id, room_id, epoch, seq, sender_id, client_msg_id, content, reply_to, kind, sent_at,
       edited_at, edit_epoch, edit_seq, deleted_at, mentions, mentions_room, thread_root,
       attachments
FROM messages;

INSERT INTO room_entries_by_room
    (room_id, epoch, seq, id, kind, actor_id, subject_id, occurred_at, item, stored_at)
SELECT room_id, epoch, seq, id, kind, actor_id, subject_id, occurred_at, item, stored_at
FROM room_entries;

DROP TABLE messages;
DROP TABLE room_entries;
ALTER TABLE messages_by_room RENAME TO messages;
ALTER TABLE room_entries_by_room RENAME TO room_entries;

-- The keys and indexes of before, under the same names where they are the same.
ALTER TABLE messages ADD CONSTRAINT messages_pkey PRIMARY KEY (room_id, id);
ALTER TABLE messages ADD CONSTRAINT messages_room_id_epoch_seq_key UNIQUE (room_id, epoch, seq);
ALTER TABLE messages ADD CONSTRAINT messages_room_id_sender_id_client_msg_id_key
    UNIQUE (room_id, sender_id, client_msg_id);
CREATE INDEX messages_id_idx ON messages (id);
CREATE INDEX messages_search_idx ON messages USING gin (room_id, search) WHERE deleted_at IS NULL;
CREATE INDEX messages_room_newest_idx ON messages (room_id, id DESC) WHERE deleted_at IS NULL;
CREATE INDEX messages_unread_idx ON messages (room_id, epoch, seq) INCLUDE (sender_id)
    WHERE deleted_at IS NULL;
CREATE INDEX messages_room_mentions_idx ON messages (room_id, epoch, seq) WHERE mentions_room;
CREATE INDEX messages_thread_idx ON messages (thread_root, epoch, seq) WHERE thread_root IS NOT NULL;

ALTER TABLE room_entries ADD CONSTRAINT room_entries_pkey PRIMARY KEY (room_id, epoch, seq);
ALTER TABLE room_entries ADD CONSTRAINT room_entries_room_id_id_key UNIQUE (room_id, id);
CREATE INDEX room_entries_id_idx ON room_entries (id);
CREATE INDEX room_entries_subject_idx ON room_entries (subject_id) WHERE subject_id IS NOT NULL;

ANALYZE messages;
ANALYZE room_entries;
