-- What a half-signed-in record lets its browser do next: 'challenge' (show a factor the user
-- has) or 'enrol' (set up the first factor a policy requires, only for a user who had none).
-- Keep in step with ../sqlite/0010_mfa_pending_purpose.sql.
ALTER TABLE mfa_pending ADD COLUMN purpose TEXT NOT NULL DEFAULT 'challenge'
    CHECK (purpose IN ('challenge', 'enrol'));
