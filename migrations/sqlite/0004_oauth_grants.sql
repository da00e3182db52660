-- The OpenID Provider's grant state: one grant per authorization (the code and the refresh
-- token family it starts), the codes and refresh tokens (hashes only), and remembered consent.
-- Keep in step with ../postgres/0004_oauth_grants.sql: same tables, columns and indexes.

CREATE TABLE oauth_grants (
    id             TEXT PRIMARY KEY NOT NULL,
    user_id        TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    client_id      TEXT NOT NULL,
    -- The Vestibule session the user authorized in: revoking it ends the grant's refresh tokens,
    -- and the grant is deleted with it (the sweep removes sessions past expiry plus retention).
    session_id     TEXT REFERENCES sessions (id) ON DELETE CASCADE,
    -- Space-separated granted scopes.
    scopes         TEXT NOT NULL,
    -- When the user last authenticated (ID token auth_time), and how (comma-joined factors).
    auth_time      INTEGER NOT NULL,
    factors        TEXT NOT NULL,
    nonce          TEXT,
    created_at     INTEGER NOT NULL,
    -- Absolute end of the refresh token family.
    expires_at     INTEGER NOT NULL,
    revoked_at     INTEGER,
    -- Why: 'code_reuse', 'refresh_replay', 'revoked', 'consent_revoked'.
    revoked_reason TEXT
) STRICT;

-- Revoking a client's grants for a user (consent revoked), and listing them.
CREATE INDEX oauth_grants_user_client ON oauth_grants (user_id, client_id);
-- The sweep deletes ended grants by this column.
CREATE INDEX oauth_grants_expires_at ON oauth_grants (expires_at);

CREATE TABLE oauth_codes (
    -- SHA-256 of the code; the code itself is never stored.
    code_hash      TEXT PRIMARY KEY NOT NULL,
    grant_id       TEXT NOT NULL REFERENCES oauth_grants (id) ON DELETE CASCADE,
    redirect_uri   TEXT NOT NULL,
    -- PKCE S256 challenge, when the client sent one.
    code_challenge TEXT,
    expires_at     INTEGER NOT NULL,
    -- Set on the first redemption; a second one revokes the grant.
    used_at        INTEGER
) STRICT;

CREATE INDEX oauth_codes_grant_id ON oauth_codes (grant_id);

CREATE TABLE oauth_refresh_tokens (
    -- SHA-256 of the token.
    token_hash     TEXT PRIMARY KEY NOT NULL,
    grant_id       TEXT NOT NULL REFERENCES oauth_grants (id) ON DELETE CASCADE,
    created_at     INTEGER NOT NULL,
    -- Set when the token is rotated; presenting it again revokes the grant.
    used_at        INTEGER
) STRICT;

CREATE INDEX oauth_refresh_tokens_grant_id ON oauth_refresh_tokens (grant_id);

CREATE TABLE oauth_consents (
    user_id        TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    client_id      TEXT NOT NULL,
    -- Space-separated scopes the user agreed to.
    scopes         TEXT NOT NULL,
    created_at     INTEGER NOT NULL,
    PRIMARY KEY (user_id, client_id)
) STRICT;
