-- The fingerprint of the declaration a managed organization was last synced from, set only when
-- that sync left nothing pending (every declared member had an account): a reload whose
-- declaration has the same fingerprint skips the organization without reading its rows.
-- Keep in step with ../postgres/0013_declared_fingerprint.sql.
ALTER TABLE organizations ADD COLUMN declared_hash TEXT;
