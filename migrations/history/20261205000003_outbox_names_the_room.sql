-- The notification outbox names each message's room, so the planner reads a message by
-- its key (room_id, id) in the room's partition instead of probing the `id` index of
-- all sixteen (100 planned messages were 1,600 index probes).

ALTER TABLE notification_outbox ADD COLUMN room_id uuid;
UPDATE notification_outbox o SET room_id = m.room_id FROM messages m WHERE m.id = o.message_id;
-- A message no longer stored is planned for nobody: its row has nothing left to do.
DELETE FROM notification_outbox WHERE room_id IS NULL;
ALTER TABLE notification_outbox ALTER COLUMN room_id SET NOT NULL;
