-- Reactions: one row per (message, user, emoji) ever reacted, with whether it is there now
-- and the position of the change applied last, so adds and removes replayed in any order
-- leave the latest (like edits). A deleted message loses its reactions.
ALTER TABLE room_entries DROP CONSTRAINT room_entries_kind_check;
ALTER TABLE room_entries ADD CONSTRAINT room_entries_kind_check
    CHECK (kind IN ('message', 'message_edited', 'message_deleted', 'room_event', 'reaction'));

CREATE TABLE reactions (
    message_id uuid    NOT NULL,
    user_id    uuid    NOT NULL,
    -- A fully-qualified Unicode emoji sequence.
    emoji      text    NOT NULL,
    room_id    uuid    NOT NULL,
    present    boolean NOT NULL,
    epoch      bigint  NOT NULL,
    seq        bigint  NOT NULL,
    PRIMARY KEY (message_id, user_id, emoji)
);

-- Counting a page's reactions reads only the ones that are there.
CREATE INDEX reactions_present_idx ON reactions (message_id, emoji) WHERE present;
