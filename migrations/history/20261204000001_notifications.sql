-- Notifications (the `notify` module of history): who is told of a stored message, and
-- through which browsers.

-- Messages stored but not yet planned: written in the transaction that stores the
-- message, only when it is new, so a redelivered message is never planned twice.
CREATE TABLE notification_outbox (
    message_id uuid        PRIMARY KEY,
    stored_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX notification_outbox_stored_idx ON notification_outbox (stored_at);

-- The account's level for rooms without their own.
CREATE TABLE notification_defaults (
    user_id uuid PRIMARY KEY,
    level   text NOT NULL CHECK (level IN ('all', 'mentions', 'none'))
);

-- A member's setting for one room: its own level (NULL: the default) and a mute.
CREATE TABLE room_notification_settings (
    user_id     uuid        NOT NULL,
    room_id     uuid        NOT NULL,
    level       text        CHECK (level IN ('all', 'mentions', 'none')),
    muted_until timestamptz,
    PRIMARY KEY (room_id, user_id)
);

-- Browsers to push to (RFC 8030 subscriptions with their RFC 8291 keys).
CREATE TABLE push_subscriptions (
    id         uuid        PRIMARY KEY,
    user_id    uuid        NOT NULL,
    endpoint   text        NOT NULL UNIQUE,
    p256dh     bytea       NOT NULL,
    auth       bytea       NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX push_subscriptions_user_idx ON push_subscriptions (user_id);

-- One notification waiting for its delay per (user, room): the messages of a room that
-- arrive meanwhile join it (count, newest message, whether one mentions the user).
CREATE TABLE pending_notifications (
    user_id    uuid        NOT NULL,
    room_id    uuid        NOT NULL,
    due_at     timestamptz NOT NULL,
    count      integer     NOT NULL,
    mention    boolean     NOT NULL,
    direct     boolean     NOT NULL,
    message_id uuid        NOT NULL,
    sender_id  uuid        NOT NULL,
    excerpt    text        NOT NULL,
    sent_at    timestamptz NOT NULL,
    epoch      bigint      NOT NULL,
    seq        bigint      NOT NULL,
    PRIMARY KEY (user_id, room_id)
);
CREATE INDEX pending_notifications_due_idx ON pending_notifications (due_at);
