-- When the account's current email was verified (a mailed link opened); NULL: not yet.
ALTER TABLE users ADD COLUMN email_verified_at timestamptz;

-- Single-use tokens mailed to an account: password resets and email verifications.
-- Only the SHA-256 of a token is stored. `email` is the address it was sent to: a
-- verification only verifies that address, and stops working if the email changes.
CREATE TABLE account_tokens (
    token_hash bytea       PRIMARY KEY,
    user_id    uuid        NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    purpose    text        NOT NULL CHECK (purpose IN ('password_reset', 'email_verification')),
    email      text        NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    expires_at timestamptz NOT NULL,
    used_at    timestamptz
);

CREATE INDEX account_tokens_user_id_idx ON account_tokens (user_id, purpose);
CREATE INDEX account_tokens_expires_at_idx ON account_tokens (expires_at);
