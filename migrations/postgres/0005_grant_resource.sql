-- RFC 8707: the resource (API) an authorization was made for; its access tokens carry it as
-- `aud`. NULL: the client itself is the audience.
-- Keep in step with the other backend's 0005_grant_resource.sql.
ALTER TABLE oauth_grants ADD COLUMN resource TEXT;
