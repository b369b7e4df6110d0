-- Changes (edits, deletions, reactions) stored before the message they are about: the
-- message swept from Redis late, or redelivered after its change. A message being stored
-- looks here for what is waiting for it, a small table that is nearly always empty,
-- instead of probing every partition of room_entries for each message it stores.
--
-- A change is written here when, as its batch sees the tables, its message is not
-- stored; the message's batch takes it (DELETE ... RETURNING) and applies it. Both
-- batches look again once committed, so two writers storing a message and its change at
-- the same moment still meet (see `history::store`).
CREATE TABLE changes_before_message (
    -- The message the change is about.
    subject_id uuid   NOT NULL,
    -- The change's entry in room_entries (its room is the message's room).
    room_id    uuid   NOT NULL,
    epoch      bigint NOT NULL,
    seq        bigint NOT NULL,
    -- The encoded chat.v1.RoomItem, as in room_entries.
    item       bytea  NOT NULL,
    PRIMARY KEY (subject_id, room_id, epoch, seq)
);

-- The changes already waiting when this migration runs.
INSERT INTO changes_before_message (subject_id, room_id, epoch, seq, item)
SELECT e.subject_id, e.room_id, e.epoch, e.seq, e.item
FROM room_entries e
WHERE e.subject_id IS NOT NULL
  AND NOT EXISTS (SELECT 1 FROM messages m WHERE m.room_id = e.room_id AND m.id = e.subject_id);
