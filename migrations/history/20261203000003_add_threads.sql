-- Threads: a reply in a thread names the thread's root message (always a message of the
-- same room that is not itself in a thread). A thread is paged by position like a room.
ALTER TABLE messages ADD COLUMN thread_root uuid;

CREATE INDEX messages_thread_idx ON messages (thread_root, epoch, seq) WHERE thread_root IS NOT NULL;
