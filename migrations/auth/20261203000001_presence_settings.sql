-- Presence the user controls and the trace it leaves: whether others see them online
-- (hidden users look offline, with no last-seen time), and when they were last online,
-- written when the gateway announces them offline (not on every socket event).
ALTER TABLE users
    ADD COLUMN show_presence boolean NOT NULL DEFAULT true,
    ADD COLUMN last_seen_at  timestamptz;
