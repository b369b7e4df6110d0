-- Search reads one room's matches at a time (the rooms a user is in, each its own index
-- range): the GIN index holds the room too (btree_gin), and only messages not deleted.
CREATE EXTENSION IF NOT EXISTS btree_gin;

DROP INDEX messages_search_idx;
CREATE INDEX messages_search_idx ON messages USING gin (room_id, search)
    WHERE deleted_at IS NULL;

-- A word in a large share of a room's messages is found faster by walking the room's
-- newest messages and testing each than by collecting every match: the planner picks
-- between this and the GIN index by the word's frequency.
CREATE INDEX messages_room_newest_idx ON messages (room_id, id DESC) WHERE deleted_at IS NULL;
