-- Second factors (MfaPolicy): authenticator apps, backup codes, the half-signed-in step between
-- the first factor and the second, and per-user MFA bookkeeping.
-- Keep in step with ../sqlite/0008_mfa.sql: same tables, columns and indexes.

-- One authenticator app per user. The secret is sealed (AES-256-GCM under the instance's MFA
-- key, the user id as associated data), never stored in the clear.
CREATE TABLE totp_factors (
    user_id       TEXT PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    secret_sealed TEXT NOT NULL,
    -- NULL while enrolment waits for the first code; only confirmed factors count.
    confirmed_at  BIGINT,
    -- The newest time step a code was accepted for: codes of that step or older are refused,
    -- so a code works once (SECURITY 23).
    last_step     BIGINT NOT NULL DEFAULT 0,
    created_at    BIGINT NOT NULL
);

-- Single-use recovery codes, as MACs under the MFA key (a leaked table alone cannot be
-- brute-forced); regenerating replaces the whole set.
CREATE TABLE backup_codes (
    user_id    TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    code_mac   TEXT NOT NULL,
    used_at    BIGINT,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (user_id, code_mac)
);

-- A user who showed their first factor and still owes the second (or must enrol one). Never a
-- session: it opens nothing but the challenge or enrolment page, lives minutes, and is used up
-- (deleted) when the second factor succeeds. The browser holds a random id; only its hash is here.
CREATE TABLE mfa_pending (
    id_hash     TEXT PRIMARY KEY,
    user_id     TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    -- The first factors shown, comma-joined (as sessions store them).
    factors     TEXT NOT NULL,
    -- The provider identity of a provider sign-in.
    identity_id TEXT,
    return_to   TEXT NOT NULL,
    created_at  BIGINT NOT NULL,
    expires_at  BIGINT NOT NULL
);

CREATE INDEX mfa_pending_expires_at ON mfa_pending (expires_at);

-- Per-user MFA bookkeeping.
CREATE TABLE user_mfa (
    user_id        TEXT PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    -- When a policy first required MFA of this user: the enrolment grace period counts from here.
    required_since BIGINT,
    -- Bumped whenever the user's factors change; remembered devices carry the value they were
    -- issued under, so a removed factor ends them all.
    epoch          BIGINT NOT NULL DEFAULT 0
);
