-- The organization a session works in (the switcher, an accepted invitation or the OpenID
-- `organization` parameter set it) and the one a grant's tokens speak for; what an organization
-- declared as a resource becomes when it is no longer declared; invitations the declarative sync
-- sent to declared members without an account (sent once).
-- Keep in step with ../sqlite/0012_active_organization.sql.
ALTER TABLE sessions ADD COLUMN organization_id TEXT REFERENCES organizations (id) ON DELETE SET NULL;
ALTER TABLE oauth_grants ADD COLUMN organization_id TEXT REFERENCES organizations (id) ON DELETE SET NULL;
ALTER TABLE organizations ADD COLUMN deletion_policy TEXT NOT NULL DEFAULT 'Retain'
    CHECK (deletion_policy IN ('Retain', 'Delete'));
ALTER TABLE invitations ADD COLUMN from_declaration BIGINT NOT NULL DEFAULT 0
    CHECK (from_declaration IN (0, 1));
