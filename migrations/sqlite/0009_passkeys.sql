-- Passkeys (WebAuthn credentials) and the single-use challenges of their ceremonies.
-- Keep in step with ../postgres/0009_passkeys.sql: same tables, columns and indexes.

CREATE TABLE passkeys (
    id            TEXT PRIMARY KEY NOT NULL,
    user_id       TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    -- The credential id (base64url), unique across all users: a credential registers once
    -- (SECURITY 32).
    credential_id TEXT NOT NULL CONSTRAINT passkeys_credential_id_key UNIQUE,
    -- The user's name for it ("MacBook", "YubiKey").
    name          TEXT NOT NULL,
    -- webauthn-rs' credential record (public key, signature counter, flags), JSON.
    credential    TEXT NOT NULL,
    created_at    INTEGER NOT NULL,
    last_used_at  INTEGER
) STRICT;

CREATE INDEX passkeys_user_id ON passkeys (user_id);

-- A registration or authentication ceremony under way: the server's state for the challenge it
-- sent. The browser holds a random id; only its hash is here. Bound to what started it (the
-- session, the half-signed-in record or, for a sign-in with a passkey, the CSRF cookie) and used
-- up (deleted) when the answer arrives (SECURITY 29).
CREATE TABLE webauthn_challenges (
    id_hash    TEXT PRIMARY KEY NOT NULL,
    -- NULL for a sign-in with a passkey, where the user is not known yet.
    user_id    TEXT REFERENCES users (id) ON DELETE CASCADE,
    -- 'register' | 'authenticate' | 'discover'
    purpose    TEXT NOT NULL,
    -- Hash of the secret the ceremony belongs to.
    binding    TEXT NOT NULL,
    state      TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL
) STRICT;

CREATE INDEX webauthn_challenges_expires_at ON webauthn_challenges (expires_at);
