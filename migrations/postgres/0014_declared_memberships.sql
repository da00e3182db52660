-- 1: the membership is one an Organization resource declares (the sync made or confirmed it),
-- so taking the member out of the resource takes it away; runtime memberships stay 0.
-- Keep in step with ../sqlite/0014_declared_memberships.sql.
ALTER TABLE memberships ADD COLUMN from_declaration BIGINT NOT NULL DEFAULT 0
    CHECK (from_declaration IN (0, 1));
