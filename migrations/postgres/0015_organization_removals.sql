-- Members an admin removed: joining by email domain (autoJoin, suggest) skips them, so a
-- removal sticks; an invitation accepted later lifts it.
-- Keep in step with ../sqlite/0015_organization_removals.sql.
CREATE TABLE organization_removals (
    organization_id TEXT NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    user_id         TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    removed_at      BIGINT NOT NULL,
    PRIMARY KEY (organization_id, user_id)
);
