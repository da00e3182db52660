-- The periodic sweep (src/store/retention.rs) deletes by these columns.
CREATE INDEX throttle_counters_window_started_at ON throttle_counters (window_started_at);
CREATE INDEX sessions_expires_at ON sessions (expires_at);
CREATE INDEX single_use_tokens_expires_at ON single_use_tokens (expires_at);
