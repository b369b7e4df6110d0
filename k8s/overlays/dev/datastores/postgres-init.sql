-- Runs once, when the dev PostgreSQL volume is first initialised: one
-- database per service, there before any service starts. (A service also creates its
-- database when missing, if its user may; a production user should not need to.)
CREATE DATABASE chat_auth;
CREATE DATABASE chat_rooms;
CREATE DATABASE chat_history;
CREATE DATABASE chat_files;
