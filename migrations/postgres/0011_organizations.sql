-- Organizations: created by users at runtime or declared as resources (`managed`), their
-- members with a role, the roles an organization adds, invitations and domains.
-- Keep in step with ../sqlite/0011_organizations.sql: same tables, columns and indexes.

CREATE TABLE organizations (
    id               TEXT PRIMARY KEY,
    slug             TEXT NOT NULL CONSTRAINT organizations_slug_key UNIQUE,
    name             TEXT NOT NULL,
    logo_url         TEXT,
    -- JSON objects: public metadata goes into tokens, private stays on the server.
    public_metadata  TEXT NOT NULL,
    private_metadata TEXT NOT NULL,
    -- 1: declared as an Organization resource and kept in step with it by the server's sync.
    managed          BIGINT NOT NULL CHECK (managed IN (0, 1)),
    created_by       TEXT REFERENCES users (id) ON DELETE SET NULL,
    created_at       BIGINT NOT NULL,
    updated_at       BIGINT NOT NULL,
    -- Set when a managed organization stopped being declared (kept, unmanaged): declaring it
    -- again adopts it, where a runtime organization's slug stays a conflict.
    released_at      BIGINT
);

-- Roles an organization adds to the instance-wide ones; permissions space-separated, sorted.
CREATE TABLE organization_roles (
    organization_id TEXT NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    name            TEXT NOT NULL,
    permissions     TEXT NOT NULL,
    PRIMARY KEY (organization_id, name)
);

CREATE TABLE memberships (
    organization_id TEXT NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    user_id         TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    role            TEXT NOT NULL,
    created_at      BIGINT NOT NULL,
    updated_at      BIGINT NOT NULL,
    PRIMARY KEY (organization_id, user_id)
);

CREATE INDEX memberships_user_id ON memberships (user_id);

-- An invitation by email: only the token's hash is stored; single use (accepted_at), revocable
-- (revoked_at), expiring.
CREATE TABLE invitations (
    id              TEXT PRIMARY KEY,
    organization_id TEXT NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    email           TEXT NOT NULL,
    role            TEXT NOT NULL,
    token_hash      TEXT NOT NULL CONSTRAINT invitations_token_hash_key UNIQUE,
    invited_by      TEXT REFERENCES users (id) ON DELETE SET NULL,
    created_at      BIGINT NOT NULL,
    expires_at      BIGINT NOT NULL,
    accepted_at     BIGINT,
    revoked_at      BIGINT
);

CREATE INDEX invitations_organization_id ON invitations (organization_id);
CREATE INDEX invitations_email ON invitations (email);

-- A domain belongs to at most one organization; `enrollment` is 'autoJoin', 'suggest' or 'none'.
CREATE TABLE organization_domains (
    domain          TEXT PRIMARY KEY,
    organization_id TEXT NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    enrollment      TEXT NOT NULL CHECK (enrollment IN ('autoJoin', 'suggest', 'none')),
    verified_at     BIGINT
);

CREATE INDEX organization_domains_organization_id ON organization_domains (organization_id);
