-- Sign-in identities beside the password, and the browsers an account has signed in from.
-- Keep in step with ../postgres/0003_identities_devices.sql: same tables, columns and indexes.
-- The password stays on the user row as the primary credential.

CREATE TABLE identities (
    id             TEXT PRIMARY KEY NOT NULL,
    user_id        TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    -- Who vouches for the subject, e.g. an OAuthProvider's slug.
    provider       TEXT NOT NULL,
    -- The provider's stable identifier of the person (OIDC `sub`), not their email address.
    subject        TEXT NOT NULL,
    -- The address the provider reported, if any; it does not identify the user (users.email does).
    email          TEXT,
    -- 1 if the provider said it verified `email`, else 0: an integer, as SQLite has no boolean.
    email_verified INTEGER NOT NULL CHECK (email_verified IN (0, 1)),
    created_at     INTEGER NOT NULL,
    last_used_at   INTEGER NOT NULL,
    -- One subject, one account: linking it to a second account must fail, never move it.
    CONSTRAINT identities_provider_subject_key UNIQUE (provider, subject)
) STRICT;

-- identities_of_user, and the cascade when a user is deleted.
CREATE INDEX identities_user_id_created_at ON identities (user_id, created_at);

CREATE TABLE devices (
    user_id       TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    -- A short hash of the User-Agent, computed by the application.
    device        TEXT NOT NULL,
    -- Start of the current run of sightings: reset when the device counts as new again.
    first_seen_at INTEGER NOT NULL,
    last_seen_at  INTEGER NOT NULL,
    PRIMARY KEY (user_id, device),
    -- note_device tells a new device from a known one by this ordering (src/store/devices.rs).
    CHECK (first_seen_at <= last_seen_at)
) STRICT;

-- The periodic sweep (src/store/retention.rs) deletes by this column.
CREATE INDEX devices_last_seen_at ON devices (last_seen_at);

-- Devices remembered before this migration were markers in throttle_counters, keyed
-- 'device:<user id>:<24 hex digits>' with the first sighting as the window start. Carry them over
-- so nobody is told again about a browser they already use, then drop the markers.
INSERT INTO devices (user_id, device, first_seen_at, last_seen_at)
SELECT u.id, substr(t.throttle_key, length(t.throttle_key) - 23), t.window_started_at, t.window_started_at
FROM throttle_counters t
JOIN users u ON t.throttle_key = 'device:' || u.id || ':' || substr(t.throttle_key, length(t.throttle_key) - 23)
WHERE t.throttle_key LIKE 'device:%'
ON CONFLICT DO NOTHING;

DELETE FROM throttle_counters WHERE throttle_key LIKE 'device:%';
