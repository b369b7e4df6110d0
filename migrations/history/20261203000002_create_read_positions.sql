-- Read state: how far each member has read each room (only ever moving forward), and the
-- mentions of each user, so unread and mention counts are a bounded index range per room.
CREATE TABLE read_positions (
    user_id    uuid        NOT NULL,
    room_id    uuid        NOT NULL,
    epoch      bigint      NOT NULL,
    seq        bigint      NOT NULL,
    updated_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (user_id, room_id)
);

ALTER TABLE messages
    ADD COLUMN mentions      uuid[]  NOT NULL DEFAULT '{}',
    ADD COLUMN mentions_room boolean NOT NULL DEFAULT false;

-- One row per (mentioned user, message) while the message mentions them.
CREATE TABLE mentions (
    user_id    uuid   NOT NULL,
    message_id uuid   NOT NULL,
    room_id    uuid   NOT NULL,
    epoch      bigint NOT NULL,
    seq        bigint NOT NULL,
    PRIMARY KEY (user_id, message_id)
);

CREATE INDEX mentions_unread_idx ON mentions (user_id, room_id, epoch, seq);
CREATE INDEX mentions_message_idx ON mentions (message_id);
CREATE INDEX messages_room_mentions_idx ON messages (room_id, epoch, seq) WHERE mentions_room;

-- Unread counts read (room, position) ranges of messages not deleted, by sender: the
-- index answers them alone (an index-only scan once vacuumed), without the table.
CREATE INDEX messages_unread_idx ON messages (room_id, epoch, seq) INCLUDE (sender_id)
    WHERE deleted_at IS NULL;
