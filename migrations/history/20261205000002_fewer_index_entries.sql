-- Fewer index entries per stored message, and replies found by index when the message
-- they quote is deleted.
--
-- Every message and entry stored writes one entry into each index of its partition. Two
-- indexes only repeated a key's work:
-- - `messages_room_newest_idx` (room_id, id DESC) WHERE deleted_at IS NULL: search walks
--   a room's messages newest first on the primary key (room_id, id) read backward, with
--   the deleted ones filtered (they are few).
-- - `room_entries_id_idx` (id): every lookup of entries by id names the room (the message's
--   own entry, its edits and the replies quoting it), so the key (room_id, id) answers it
--   in one partition.
--
-- Deleting a message erases its excerpt from the replies that quote it: those were found
-- by `reply_to` with no index, a scan of every message. Replies are in the message's room.
--
-- Building the index locks writes to `messages` while it runs (history's consumers wait,
-- their queue keeps the messages). On a large table, build it beforehand without locking
-- (docs/operations.md, "History partitions"): this migration then finds it in place.

DROP INDEX IF EXISTS messages_room_newest_idx;
DROP INDEX IF EXISTS room_entries_id_idx;
CREATE INDEX IF NOT EXISTS messages_reply_to_idx ON messages (room_id, reply_to) WHERE reply_to IS NOT NULL;
