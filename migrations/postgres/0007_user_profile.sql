-- The profile a user's provider shares (OIDC `name` and `picture`), released with the
-- `profile` scope. NULL: not known. Keep in step with ../sqlite/0007_user_profile.sql.
ALTER TABLE users ADD COLUMN name TEXT;
ALTER TABLE users ADD COLUMN picture TEXT;
