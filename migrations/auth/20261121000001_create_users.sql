-- Accounts. Usernames and emails are unique without regard to case; the username index
-- uses the "C" collation so it also serves the prefix search (LIKE 'abc%') and its ordering.
CREATE TABLE users (
    id            uuid        PRIMARY KEY,
    username      text        NOT NULL,
    email         text        NOT NULL,
    password_hash text        NOT NULL,
    display_name  text,
    avatar_url    text,
    bio           text,
    created_at    timestamptz NOT NULL DEFAULT now(),
    updated_at    timestamptz NOT NULL DEFAULT now()
);

CREATE UNIQUE INDEX users_username_key ON users ((lower(username) COLLATE "C"));
CREATE UNIQUE INDEX users_email_key ON users (lower(email));
CREATE INDEX users_display_name_search_idx ON users ((lower(display_name) COLLATE "C"))
    WHERE display_name IS NOT NULL;
