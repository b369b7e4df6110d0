-- Uploads and where they are shared. A row is written before its blob, with stored_at
-- null, and completed once the blob is in the object store: a process that dies in
-- between leaves a row the sweeper finds (and, with it, the blob), never an unknown blob.
CREATE TABLE files (
    id                     uuid        PRIMARY KEY,
    uploader_id            uuid        NOT NULL,
    -- Sanitised: the last path component, no control characters, at most 255 bytes.
    name                   text        NOT NULL,
    purpose                text        NOT NULL CHECK (purpose IN ('file', 'avatar')),
    created_at             timestamptz NOT NULL DEFAULT now(),
    -- Null while the upload is being written; the rest is known once it is stored.
    stored_at              timestamptz,
    size                   bigint,
    -- Detected from the bytes.
    content_type           text,
    kind                   text        CHECK (kind IN ('file', 'image')),
    width                  integer,
    height                 integer,
    thumbnail_size         bigint,
    thumbnail_content_type text,
    thumbnail_width        integer,
    thumbnail_height       integer,
    CHECK (stored_at IS NULL OR (size IS NOT NULL AND content_type IS NOT NULL AND kind IS NOT NULL))
);

-- The sweeper's question: pending or unfinished uploads, oldest first.
CREATE INDEX files_created_at_idx ON files (created_at) WHERE purpose = 'file' OR stored_at IS NULL;

-- A message that carries a file. Reading a file is open to the members of every room in
-- which a message carries it.
CREATE TABLE attachments (
    file_id     uuid        NOT NULL REFERENCES files (id) ON DELETE CASCADE,
    message_id  uuid        NOT NULL,
    room_id     uuid        NOT NULL,
    -- The send that attached it (with the uploader and the room): a retried send finds
    -- the message id its first attempt attached the files to.
    client_msg_id text      NOT NULL,
    attached_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (file_id, message_id)
);

CREATE INDEX attachments_message_id_idx ON attachments (message_id);
CREATE INDEX attachments_send_idx ON attachments (room_id, client_msg_id);

-- Blobs whose file is gone, written in the transaction that deleted the file: deleting the
-- blobs happens after the commit, and whatever a failure or a crash left here is deleted
-- by the sweeper.
CREATE TABLE blob_deletions (
    key      text        PRIMARY KEY,
    since    timestamptz NOT NULL DEFAULT now()
);
