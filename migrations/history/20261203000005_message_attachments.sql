-- The files a message carries, as they were when sent (an encoded chat.v1.Attachments);
-- cleared when the message is deleted.
ALTER TABLE messages ADD COLUMN attachments bytea;
