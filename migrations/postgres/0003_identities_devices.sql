-- Sign-in identities beside the password, and the browsers an account has signed in from.
-- Keep in step with ../sqlite/0003_identities_devices.sql: same tables, columns and indexes.
-- The password stays on the user row as the primary credential.

CREATE TABLE identities (
    id             TEXT PRIMARY KEY,
    user_id        TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    -- Who vouches for the subject, e.g. an OAuthProvider's slug.
    provider       TEXT NOT NULL,
    -- The provider's stable identifier of the person (OIDC `sub`), not their email address.
    subject        TEXT NOT NULL,
    -- The address the provider reported, if any; it does not identify the user (users.email does).
    email          TEXT,
    -- 1 if the provider said it verified `email`, else 0: an integer, as SQLite has no boolean.
    email_verified BIGINT NOT NULL CHECK (email_verified IN (0, 1)),
    created_at     BIGINT NOT NULL,
    last_used_at   BIGINT NOT NULL,
    -- One subject, one account: linking it to a second account must fail, never move it.
    CONSTRAINT identities_provider_subject_key UNIQUE (provider, subject)
);

-- identities_of_user, and the cascade when a user is deleted.
CREATE INDEX identities_user_id_created_at ON identities (user_id, created_at);

CREATE TABLE devices (
    user_id       TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    -- A short hash of the User-Agent, computed by the application.
    device        TEXT NOT NULL,
    -- Start of the current run of sightings: reset when the device counts as new again.
    first_seen_at BIGINT NOT NULL,
    last_seen_at  BIGINT NOT NULL,
    PRIMARY KEY (user_id, device),
    -- note_device tells a new device from a known one by this ordering (src/store/devices.rs).
    CHECK (first_seen_at <= last_seen_at)
);

-- The periodic sweep (src/store/retention.rs) deletes by this column.
CREATE INDEX devices_last_seen_at ON devices (last_seen_at);
