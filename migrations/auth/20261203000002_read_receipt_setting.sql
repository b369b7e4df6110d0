-- Whether a user's read positions are shown to the other members of direct and small
-- rooms (read receipts). On by default, as in the chat apps people know.
ALTER TABLE users
    ADD COLUMN send_read_receipts boolean NOT NULL DEFAULT true;
