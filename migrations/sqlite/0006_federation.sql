-- Sign-in through upstream identity providers (OAuthProvider resources).
-- Keep in step with ../postgres/0006_federation.sql: same tables, columns and indexes.

-- A browser's trip to a provider and back: created at /oauth/{slug}/start, used up (deleted) at
-- the callback. The browser holds a random flow id in a short-lived cookie; only its hash is
-- stored, and state, nonce and the PKCE verifier are derived from the id, so nothing here lets
-- anyone finish a flow.
CREATE TABLE federation_flows (
    id_hash    TEXT PRIMARY KEY NOT NULL,
    -- The OAuthProvider's slug the flow was started for.
    provider   TEXT NOT NULL,
    -- Where the browser goes afterwards (an allowed return address, or empty).
    return_to  TEXT NOT NULL,
    -- Set when a signed-in user links another provider from /account: the account to link to.
    link_user_id TEXT REFERENCES users (id) ON DELETE CASCADE,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL
) STRICT;

-- The periodic sweep deletes by this column.
CREATE INDEX federation_flows_expires_at ON federation_flows (expires_at);

-- A provider identity waiting for its user to prove they own the existing account with the same
-- email address (the provider's word for the address was not enough to link it).
CREATE TABLE pending_links (
    id_hash        TEXT PRIMARY KEY NOT NULL,
    user_id        TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    provider       TEXT NOT NULL,
    subject        TEXT NOT NULL,
    email          TEXT,
    email_verified INTEGER NOT NULL CHECK (email_verified IN (0, 1)),
    return_to      TEXT NOT NULL,
    created_at     INTEGER NOT NULL,
    expires_at     INTEGER NOT NULL
) STRICT;

CREATE INDEX pending_links_expires_at ON pending_links (expires_at);

-- Which identity signed a session in (NULL: not a provider sign-in). No foreign key: unlinking
-- an identity later must not rewrite session history.
ALTER TABLE sessions ADD COLUMN identity_id TEXT;
