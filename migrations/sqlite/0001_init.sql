-- Vestibule storage, SQLite. Keep in step with ../postgres/0001_init.sql: same tables, columns
-- and indexes. Times are Unix milliseconds; ids are 32-hex-digit random strings.
-- STRICT tables make SQLite refuse values of the wrong type; STRICT allows INTEGER (64-bit, the
-- same as PostgreSQL's BIGINT) but not the name BIGINT.

CREATE TABLE users (
    id                TEXT PRIMARY KEY NOT NULL,
    -- Normalized (lower case) by the application; unique so racing sign-ups cannot share it.
    email             TEXT NOT NULL CONSTRAINT users_email_key UNIQUE,
    email_verified_at INTEGER,
    password_hash     TEXT,
    created_at        INTEGER NOT NULL,
    updated_at        INTEGER NOT NULL
) STRICT;

CREATE TABLE sessions (
    id           TEXT PRIMARY KEY NOT NULL,
    user_id      TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    -- Hash of the cookie's token; the token itself is never stored.
    token_hash   TEXT NOT NULL CONSTRAINT sessions_token_hash_key UNIQUE,
    -- Comma-joined authentication factors, e.g. 'password' or 'password,totp'.
    factors      TEXT NOT NULL,
    ip           TEXT,
    user_agent   TEXT,
    created_at   INTEGER NOT NULL,
    last_seen_at INTEGER NOT NULL,
    expires_at   INTEGER NOT NULL,
    revoked_at   INTEGER
) STRICT;

-- list_sessions and revoking a user's sessions.
CREATE INDEX sessions_user_id_created_at ON sessions (user_id, created_at);

CREATE TABLE single_use_tokens (
    id          TEXT PRIMARY KEY NOT NULL,
    user_id     TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    -- 'verify_email' | 'reset_password' | 'change_email'
    purpose     TEXT NOT NULL,
    -- The address the token was mailed to.
    email       TEXT NOT NULL,
    code_hash   TEXT,
    link_hash   TEXT NOT NULL CONSTRAINT single_use_tokens_link_hash_key UNIQUE,
    attempts    INTEGER NOT NULL DEFAULT 0,
    created_at  INTEGER NOT NULL,
    expires_at  INTEGER NOT NULL,
    consumed_at INTEGER
) STRICT;

-- latest_token and voiding a user's older tokens.
CREATE INDEX single_use_tokens_user_purpose_created_at
    ON single_use_tokens (user_id, purpose, created_at);
-- At most one live token per user and purpose: issuing a new one voids the old one, and this
-- makes the database refuse a second live token should a code path ever forget to.
CREATE UNIQUE INDEX single_use_tokens_one_live_per_purpose
    ON single_use_tokens (user_id, purpose) WHERE consumed_at IS NULL;

CREATE TABLE throttle_counters (
    throttle_key      TEXT PRIMARY KEY NOT NULL,
    window_started_at INTEGER NOT NULL,
    hits              INTEGER NOT NULL
) STRICT;
